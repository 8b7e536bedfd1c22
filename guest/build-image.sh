#!/bin/bash
# Builds hvmm's default guest image: Debian's stock kernel (vmlinuz) and a gzip'd newc initramfs
# (initrd.img) with busybox, the NIC driver modules, iperf3, ethtool, iproute2's ip, guest/init and
# the tools built from guest/tools/ (iotime, selffeed, virtiofeed). Cached: a run whose inputs (these scripts, package
# versions, module list, guest/extra/, guest/tools/) did not change only says the image is up to date.
#
# usage: guest/build-image.sh [--out DIR]   (default ${HVMM_CACHE:-$HOME/.cache/hvmm}/guest)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib/common.sh"

# pcnet32 needs mii; virtio_pci needs the legacy/modern helpers; virtio_net needs net_failover.
# guest/init loads them in this order.
MODULES=(mii pcnet32 e1000 virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
         virtio_pci failover net_failover virtio_net)
# g++ and libc6-dev (libc.a) build the static guest tools; their versions are part of the cache key.
PACKAGES=(busybox-static iperf3 libiperf0 ethtool iproute2 libc6 cpio g++ libc6-dev xz-utils)
# guest/tools/iotime: the per-access I/O cost probe (the test file is for the host, not the image).
IOTIME_SOURCES=(iotime.cc parse.cc pcnet_device.cc)
# guest/tools/selffeed: a hostile guest's self-feeding PCnet ring (issue 10), on iotime's sysfs code.
SELFFEED_SOURCES=(selffeed/selffeed.cc iotime/parse.cc iotime/pcnet_device.cc lib/pagemap.cc)
# guest/tools/virtiofeed: a hostile guest's virtio-net TX ring republished by stores alone (issue 10).
VIRTIOFEED_SOURCES=(virtiofeed/virtiofeed.cc lib/pagemap.cc)


# Everything the image is made from, as one hash.
input_key() {
    {
        echo "kernel=$KPKG"
        sha256sum "$HERE/build-image.sh" "$HERE/init" "$HERE/lib/common.sh" | cut -d' ' -f1
        package_versions "${PACKAGES[@]}"
        echo "modules=${MODULES[*]}"
        echo "extra=$(tree_digest "$HERE/extra")"
        echo "tools=$(tree_digest "$HERE/tools")"
    } | sha256sum | cut -d' ' -f1
}

# The image's own tools, static (the image has no libstdc++) and on the guest's PATH.
build_tools() {
    local root=$1 src=$HERE/tools/iotime
    mkdir -p "$root/usr/bin"
    g++ -std=c++20 -O2 -static -Wall -Wextra -o "$root/usr/bin/iotime" "${IOTIME_SOURCES[@]/#/$src/}" ||
        die "building iotime failed"
    strip "$root/usr/bin/iotime"
    g++ -std=c++20 -O2 -static -Wall -Wextra -o "$root/usr/bin/selffeed" \
        "${SELFFEED_SOURCES[@]/#/$HERE/tools/}" || die "building selffeed failed"
    strip "$root/usr/bin/selffeed"
    g++ -std=c++20 -O2 -static -Wall -Wextra -o "$root/usr/bin/virtiofeed" \
        "${VIRTIOFEED_SOURCES[@]/#/$HERE/tools/}" || die "building virtiofeed failed"
    strip "$root/usr/bin/virtiofeed"
}

build_root() {
    local root=$1 tree=$2 m
    busybox_root "$root"
    for m in "${MODULES[@]}"; do copy_module "$root" "$tree" "$m"; done
    copy_binary "$root" /usr/bin/iperf3
    copy_binary "$root" /usr/sbin/ethtool
    # iproute2's ip, at /usr/sbin/ip; guest/init makes `ip` mean it (busybox's ip lacks features).
    copy_binary "$root" "$(readlink -f /usr/sbin/ip)" /usr/sbin/ip
    build_tools "$root"
    cp "$HERE/init" "$root/init"
    chmod 755 "$root/init"
    if [[ -d $HERE/extra ]]; then cp -a "$HERE/extra/." "$root/"; fi
    echo "$(kernel_version "$tree")" >"$root/etc/hvmm-kernel-release"
}

# extract_vmlinux BZIMAGE OUT: the kernel proper, decompressed, for hvmm to load instead of the
# bzImage's payload (the guest then skips its decompressor, seconds under nested virtualization).
# The payload's place is in the setup header (payload_offset at 0x248, payload_length at 0x24C,
# from the protected-mode code, which starts after (setup_sects + 1) sectors); it is XZ with
# the uncompressed size appended as 4 bytes. Another format: no vmlinux (hvmm boots the bzImage).
extract_vmlinux() {
    local bzimage=$1 out=$2 setup_sects offset length start
    rm -f "$out"
    u32() { od -An -tu4 -j "$1" -N 4 "$bzimage" | tr -d ' '; }
    setup_sects=$(od -An -tu1 -j $((0x1F1)) -N 1 "$bzimage" | tr -d ' ')
    ((setup_sects == 0)) && setup_sects=4
    offset=$(u32 $((0x248)))
    length=$(u32 $((0x24C)))
    start=$(((setup_sects + 1) * 512 + offset))
    if [[ $(od -An -tx1 -j "$start" -N 6 "$bzimage" | tr -d ' ') != fd377a585a00 ]]; then
        log "kernel payload is not XZ: no vmlinux, the guest decompresses its kernel"
        return 0
    fi
    dd if="$bzimage" iflag=skip_bytes,count_bytes skip="$start" count=$((length - 4)) bs=1M \
        status=none | xz -dc >"$out.tmp" && mv "$out.tmp" "$out"
}

main() {
    parse_out_arg "$HVMM_CACHE/guest" "$@"
    ensure_packages "${PACKAGES[@]}"
    mkdir -p "$HVMM_CACHE/kernel" "$OUT"
    # Several users (engineers, CI, lab runs) may build at once: one builder per output at a time.
    exec 9>"$OUT/.lock"
    flock 9
    KPKG=$(kernel_package)
    local key
    key=$(input_key)
    if is_fresh "$OUT" "$key" && [[ -f $OUT/vmlinuz && -f $OUT/initrd.img ]]; then
        # Images built before vmlinux existed get it without a rebuild.
        [[ -f $OUT/vmlinux ]] || extract_vmlinux "$OUT/vmlinuz" "$OUT/vmlinux"
        [[ -n ${HVMM_BUILD_QUIET:-} ]] || log "guest image in $OUT is up to date"
        return 0
    fi
    local tree
    tree=$(kernel_tree "$KPKG")
    # Global, so that the EXIT trap still sees it once main has returned.
    ROOT_TMP=$(mktemp -d "$OUT/.root.XXXXXX")
    trap 'rm -rf "$ROOT_TMP"' EXIT
    log "building the guest image ($(kernel_version "$tree")) in $OUT"
    build_root "$ROOT_TMP" "$tree"
    pack_cpio "$ROOT_TMP" "$OUT/initrd.img" gzip
    cp "$tree"/boot/vmlinuz-* "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    extract_vmlinux "$OUT/vmlinuz" "$OUT/vmlinux"
    kernel_version "$tree" >"$OUT/kernel-release"
    echo "$key" >"$OUT/.inputs"
    log "done: $OUT/vmlinuz $OUT/initrd.img ($(du -h "$OUT/initrd.img" | cut -f1))"
}

main "$@"
