#!/bin/bash
# The README's main job: from a fresh Debian 12 machine (or this one, idempotently) to the default
# guest booted by hvmm and shown working. Installs what it needs, builds hvmm and the default
# guest image, then boots the guest: `uname -r`, and the PCnet NIC bound by pcnet32 and pinging
# the host across a TAP. On a host whose /dev/kvm cannot run ordinary guests at speed (PVM, no
# vmx/svm) this all happens inside the nested-SVM lab; see docs and `hvmm doctor`.
#
# usage: scripts/demo.sh          env: HVMM_BUILD_DIR (default build-demo), HVMM_CACHE
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(cmake g++ make pkg-config libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev
          libbenchmark-dev libslirp-dev libglib2.0-dev liburing-dev libseccomp-dev busybox-static
          cpio iperf3 ethtool iproute2 python3)

# The rule of src/lab/host_assessment.cc (which `hvmm doctor` reports): without a /dev/kvm,
# without vmx/svm, or with PVM's KVM, ordinary guests need the lab; HVMM_LAB=always|never
# overrides.
needs_lab() {
    case ${HVMM_LAB:-auto} in always) return 0 ;; never) return 1 ;; esac
    [[ -e /sys/module/kvm_pvm || ! -c /dev/kvm ]] || ! grep -qwE 'vmx|svm' /proc/cpuinfo
}

main() {
    local build_dir=${HVMM_BUILD_DIR:-$REPO/build-demo} hvmm
    install_packages "${PACKAGES[@]}"
    say "building hvmm in $build_dir"
    build_hvmm "$build_dir" hvmm
    hvmm="$build_dir/hvmm"
    say "building the default guest image"
    "$REPO/guest/build-image.sh"
    say "hvmm doctor"
    "$hvmm" doctor || true
    if needs_lab; then
        say "building the lab (with its emulator, Debian 12's QEMU 7.2, and QEMU 10 from bookworm-backports as an anchor)"
        "$REPO/lab/build-lab.sh"
        say "booting the guest inside the lab (this host's KVM cannot run it at speed)"
        "$hvmm" lab exec "$REPO/scripts/demo-guest.sh"
    else
        say "booting the guest"
        PATH="$build_dir:$PATH" bash "$REPO/scripts/demo-guest.sh"
    fi
}

main "$@"
