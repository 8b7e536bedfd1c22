#!/bin/bash
# The whole test suite on a fresh Debian 12 machine or an already set-up one: installs what it
# needs, builds, builds (or finds cached) the default guest image and the lab, and runs every
# test (unit, kvm, fuzz, lab) with ctest, whose summary is the last thing printed.
#
# usage: scripts/test.sh [CTEST ARG...]    e.g. scripts/test.sh -L lab
# env:   HVMM_BUILD_DIR (default build-test in the repo), HVMM_CACHE (guest image and lab cache)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(cmake g++ make pkg-config libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev
          libbenchmark-dev libslirp-dev libglib2.0-dev liburing-dev libseccomp-dev busybox-static
          cpio iperf3 ethtool iproute2 acpica-tools ca-certificates python3 tcpdump tshark)

main() {
    local build_dir=${HVMM_BUILD_DIR:-$REPO/build-test}
    # One cache for the image builders, hvmm and the tests, whether or not HOME is set (CI).
    export HVMM_CACHE=${HVMM_CACHE:-${HOME:-/root}/.cache/hvmm}
    install_packages "${PACKAGES[@]}"
    say "building in $build_dir"
    build_hvmm "$build_dir"
    say "default guest image and lab (cached)"
    # The lab's emulator (Debian 12's QEMU 7.2, unpacked) and QEMU 10 from bookworm-backports (an
    # anchor inside the lab) come with the lab's builder.
    "$REPO/lab/build-lab.sh"
    say "running the tests"
    # The image exists now: unit tests that read the real kernel must run, not skip.
    export HVMM_REQUIRE_GUEST_IMAGE=1
    cd "$build_dir"
    # The lab tests boot one QEMU each at most, and never two at once: -j1 keeps it so.
    ctest --output-on-failure -j1 "$@"
}

main "$@"
