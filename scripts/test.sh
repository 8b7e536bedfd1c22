#!/bin/bash
# The whole test suite on a fresh Debian 12 machine or an already set-up one: installs what it
# needs, builds, builds (or finds cached) the default guest image and the lab, and runs every
# test (unit, kvm, fuzz, lab) with ctest; then, in the same ctest run, the unit and KVM tests
# again under ASan+UBSan, the threaded unit tests under TSan, and each libFuzzer target for a
# while (labels sanitize and fuzz), from three more build directories made first beside the
# regular one (BUILD-asan, BUILD-tsan, BUILD-fuzz). ctest's summary follows, then the fuzzers'
# table of executions per second and coverage.
#
# usage: scripts/test.sh [CTEST ARG...]    e.g. scripts/test.sh -L lab, scripts/test.sh -LE 'sanitize|fuzz'
# env:   HVMM_BUILD_DIR (default build-test in the repo), HVMM_CACHE (guest image and lab cache),
#        HVMM_CHECK_BUILDS=0 to skip the sanitizer and libFuzzer builds (and their tests),
#        HVMM_FUZZ_SECONDS (default 15) how long each libFuzzer target runs
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(cmake g++ make pkg-config libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev
          libbenchmark-dev libslirp-dev libglib2.0-dev liburing-dev libseccomp-dev busybox-static
          cpio iperf3 ethtool iproute2 acpica-tools ca-certificates python3 tcpdump tshark
          clang libclang-rt-14-dev)

main() {
    local build_dir=${HVMM_BUILD_DIR:-$REPO/build-test}
    # One cache for the image builders, hvmm and the tests, whether or not HOME is set (CI).
    export HVMM_CACHE=${HVMM_CACHE:-${HOME:-/root}/.cache/hvmm}
    install_packages "${PACKAGES[@]}"
    say "building in $build_dir"
    build_hvmm "$build_dir"
    build_checks "$build_dir"
    say "default guest image and lab (cached)"
    # The lab's emulator (Debian 12's QEMU 7.2, unpacked) and QEMU 10 from bookworm-backports (an
    # anchor inside the lab) come with the lab's builder.
    "$REPO/lab/build-lab.sh"
    say "running the tests"
    # The image exists now: unit tests that read the real kernel must run, not skip.
    export HVMM_REQUIRE_GUEST_IMAGE=1
    cd "$build_dir"
    # The lab tests boot one QEMU each at most, and never two at once: -j1 keeps it so (and runs
    # the tests in the order they are defined: the sanitizer and libFuzzer runs last).
    local status=0
    ctest --output-on-failure -j1 "$@" || status=$?
    if compgen -G "$build_dir/libfuzzer/stats/*.tsv" >/dev/null; then
        say "libFuzzer: executions per second and coverage per target (tests/fuzz/run_libfuzzer.sh)"
        "$REPO/tests/fuzz/run_libfuzzer.sh" --table "$build_dir/libfuzzer"
    fi
    return $status
}

# The sanitizer and libFuzzer builds (cmake/sanitizers.cmake), each of only the targets its tests
# run, then the regular build told where they are so that its ctest runs them
# (cmake/sanitizer_tests.cmake). -O1 and line tables only: the sanitized code builds and runs
# faster, and reports still name files and lines.
build_checks() {
    local build_dir=$1
    local asan= tsan= fuzz=
    if [[ ${HVMM_CHECK_BUILDS:-1} != 0 ]]; then
        asan=$build_dir-asan tsan=$build_dir-tsan fuzz=$build_dir-fuzz
        local flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
        say "building the ASan+UBSan unit and KVM tests in $asan"
        cmake -S "$REPO" -B "$asan" "${flags[@]}" -DHVMM_SANITIZE=address,undefined >/dev/null
        cmake --build "$asan" -j"$(nproc)" --target hvmm hvmm_unit_tests hvmm_kvm_tests
        say "building the TSan unit tests in $tsan"
        cmake -S "$REPO" -B "$tsan" "${flags[@]}" -DHVMM_SANITIZE=thread >/dev/null
        cmake --build "$tsan" -j"$(nproc)" --target hvmm hvmm_threaded_unit_tests
        say "building the libFuzzer targets (clang, ASan+UBSan) in $fuzz"
        cmake -S "$REPO" -B "$fuzz" "${flags[@]}" -DCMAKE_CXX_COMPILER=clang++ -DHVMM_LIBFUZZER=ON \
            >/dev/null
        cmake --build "$fuzz" -j"$(nproc)" --target hvmm_fuzz_targets
    fi
    cmake -S "$REPO" -B "$build_dir" -DHVMM_ASAN_BUILD_DIR="$asan" -DHVMM_TSAN_BUILD_DIR="$tsan" \
        -DHVMM_FUZZ_BUILD_DIR="$fuzz" -DHVMM_FUZZ_SECONDS="${HVMM_FUZZ_SECONDS:-15}" >/dev/null
}

main "$@"
