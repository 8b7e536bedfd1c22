#!/bin/bash
# The default guest image's /init, checked without the lab or hvmm: plain QEMU TCG on this host
# boots it twice. (1) pc machine, hvmm.mark=1: the marker line, the kernel release, iproute2's
# ip, ethtool and iperf3 in the image. (2) microvm (no ACPI PM block over 0x600) with QEMU's
# isa-debug-exit on port 0x602, no mark: the `exit 3` status must reach port 0x602 (QEMU then
# exits with (3 << 1) | 1 = 7), and no marker line may appear.
#
# usage: tests/lab/guest_image_on_tcg.sh [IMAGE_DIR]   (default $HVMM_CACHE/guest)
set -euo pipefail

fail() { echo "FAIL: $*"; exit 1; }

boot() { # boot MACHINE_ARGS APPEND: console output, \r removed; status in BOOT_STATUS
    local machine=$1 append=$2
    BOOT_STATUS=0
    BOOT_OUT=$(timeout 600 qemu-system-x86_64 $machine -accel tcg -m 256 -nodefaults -no-reboot \
        -display none -serial stdio -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img" \
        -append "console=ttyS0 reboot=k panic=-1 $append" </dev/null | tr -d '\r') || BOOT_STATUS=$?
}

b64() { printf %s "$1" | base64 -w0; }

main() {
    IMAGE=${1:-${HVMM_CACHE:-${HOME:-/root}/.cache/hvmm}/guest}
    local release
    release=$(cat "$IMAGE/kernel-release")

    boot "" "hvmm.mark=1 hvmm.run=$(b64 'uname -r; ip -V; ethtool --version; iperf3 --version')"
    grep -qx 'hvmm-guest: init' <<<"$BOOT_OUT" || fail "no marker line with hvmm.mark=1"
    grep -qx "$release" <<<"$BOOT_OUT" || fail "uname -r did not print $release"
    grep -q '^ip utility, iproute2' <<<"$BOOT_OUT" || fail "iproute2's ip is not what \`ip\` runs"
    grep -q '^ethtool version' <<<"$BOOT_OUT" || fail "no ethtool in the image"
    grep -q '^iperf 3' <<<"$BOOT_OUT" || fail "no iperf3 in the image"

    boot "-M microvm,acpi=off -device isa-debug-exit,iobase=0x602,iosize=1" "quiet hvmm.run=$(b64 'exit 3')"
    [[ $BOOT_STATUS == 7 ]] || { echo "$BOOT_OUT" | tail -n 20; fail "QEMU exited $BOOT_STATUS, want 7 (status 3 on port 0x602)"; }
    grep -q 'hvmm-guest: init' <<<"$BOOT_OUT" && fail "marker line printed without hvmm.mark=1"
    echo "PASS: /init ran hvmm.run, reported status 3 on port 0x602, marker only when asked; kernel $release"
}

main "$@"
