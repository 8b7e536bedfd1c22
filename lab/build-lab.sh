#!/bin/bash
# Builds the lab VM: Debian's stock kernel (the guest's kernel too) and a base initramfs with
# busybox, bash, the KVM (kvm-amd), TAP/vhost and bridge modules, iproute2's ip, iperf3, ethtool,
# two QEMUs with what they need for -kernel/-initrd boots (the anchors: Debian 12's QEMU 7.2 as
# `qemu-7.2`, bookworm-backports' QEMU 10 as `qemu-10`, also `qemu-system-x86_64`), and the
# default guest image under /hvmm-cache/guest. lab/run.sh appends a small per-run cpio to it.
# Cached like the guest image. Also the emulator the lab runs on (QEMU from trixie-backports, in
# a root of its own: lab_emulator_tree), linked as $HVMM_CACHE/lab-emulator.
#
# usage: lab/build-lab.sh [--out DIR]   (default ${HVMM_CACHE:-$HOME/.cache/hvmm}/lab)
# env:   HVMM_LAB_KERNEL=PACKAGE  the lab's kernel package instead of linux-image-amd64's (experiments)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../guest/lib/common.sh"

# lab/init insmods them in this order (each after what it depends on).
MODULES=(irqbypass kvm ccp kvm-amd tun tap vhost_iotlb vhost vhost_net llc stp bridge veth dummy)
# passt: a peer that speaks QEMU's stream protocol (VMnet interop checks); util-linux: setpriv, to
# run hvmm as an unprivileged user in the lab.
PACKAGES=(busybox-static bash iperf3 libiperf0 ethtool iproute2 qemu-system-x86 qemu-system-data
          seabios ipxe-qemu libc6 cpio passt util-linux)
# Debian 12's QEMU 7.2 inside the lab: its binary and the firmware a -kernel boot loads, from the
# unpacked packages (anchor_qemu_tree), under /opt/qemu-7.2 with its own -L directory.
ANCHOR_QEMU_DATA=(usr/share/qemu/linuxboot_dma.bin usr/share/qemu/linuxboot.bin usr/share/qemu/kvmvapic.bin
                  usr/share/seabios/bios-256k.bin)
# QEMU's firmware for a -kernel boot of the pc machine, and the NIC option ROMs (so a
# `-device pcnet` works without romfile=).
# QEMU searches /usr/share/qemu, /usr/share/seabios and /usr/lib/ipxe/qemu (`qemu -L help`).
QEMU_DATA=(/usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/linuxboot.bin
           /usr/share/qemu/kvmvapic.bin /usr/lib/ipxe/qemu/efi-pcnet.rom /usr/lib/ipxe/qemu/efi-e1000.rom
           /usr/lib/ipxe/qemu/efi-virtio.rom)


input_key() {
    {
        echo "kernel=$KPKG"
        sha256sum "$HERE/build-lab.sh" "$HERE/init" "$HERE/place-vcpus.sh" "$HERE/../guest/lib/common.sh" | cut -d' ' -f1
        package_versions "${PACKAGES[@]}"
        echo "modules=${MODULES[*]}"
        echo "guest=$(cat "$GUEST/.inputs")"
        echo "anchor_qemu=$(cat "$ANCHOR_QEMU/.versions")"
    } | sha256sum | cut -d' ' -f1
}

build_root() {
    local root=$1 tree=$2 m f
    busybox_root "$root"
    for m in "${MODULES[@]}"; do copy_module "$root" "$tree" "$m"; done
    copy_binary "$root" /bin/bash
    copy_binary "$root" /usr/bin/iperf3
    copy_binary "$root" /usr/sbin/ethtool
    copy_binary "$root" /usr/bin/qemu-system-x86_64
    copy_binary "$root" /usr/bin/passt
    copy_binary "$root" /usr/bin/setpriv
    copy_anchor_qemu "$root"
    # iproute2's ip first in PATH; busybox sh would still prefer its own applet, hence the
    # function in /etc/profile (ENV) for busybox shells.
    copy_binary "$root" "$(readlink -f /usr/sbin/ip)" /usr/local/bin/ip
    echo 'ip() { /usr/local/bin/ip "$@"; }' >"$root/etc/profile"
    for f in "${QEMU_DATA[@]}"; do
        [[ -e $f ]] || die "QEMU data file $f is missing"
        mkdir -p "$root$(dirname "$f")"
        cp -L "$f" "$root$f"
    done
    mkdir -p "$root/hvmm-cache/guest"
    cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$GUEST/kernel-release" "$root/hvmm-cache/guest/"
    # The decompressed kernel, when the image builder made one (hvmm then skips the guest's
    # decompressor, several seconds of nested TCG).
    if [[ -f $GUEST/vmlinux ]]; then cp "$GUEST/vmlinux" "$root/hvmm-cache/guest/"; fi
    # hvmm is carried in by lab/run.sh for each run, to /lab/libexec/hvmm; `hvmm` is this command.
    mkdir -p "$root/lab/bin"
    vmm_command "$root/lab/bin/hvmm" /lab/libexec/hvmm
    cp "$HERE/init" "$root/init"
    cp "$HERE/place-vcpus.sh" "$root/usr/local/bin/lab-place-vcpus"
    chmod 755 "$root/usr/local/bin/lab-place-vcpus"
    chmod 755 "$root/init"
}

# copy_anchor_qemu ROOT: QEMU 7.2 at /opt/qemu-7.2 and the `qemu-7.2` and `qemu-10` commands
# (the same command lines run on either anchor).
copy_anchor_qemu() {
    local root=$1 f
    copy_binary "$root" "$ANCHOR_QEMU/usr/bin/qemu-system-x86_64" /opt/qemu-7.2/bin/qemu-system-x86_64
    mkdir -p "$root/opt/qemu-7.2/share" "$root/usr/local/bin"
    for f in "${ANCHOR_QEMU_DATA[@]}"; do
        [[ -e $ANCHOR_QEMU/$f ]] || die "QEMU 7.2 data file $f is missing"
        cp -L "$ANCHOR_QEMU/$f" "$root/opt/qemu-7.2/share/"
    done
    # A firmware QEMU 7.2 does not find in its -L directory falls back to its built-in path,
    # where the lab has QEMU 10's files: the anchor must not mix them, so -L names only its own.
    vmm_command "$root/usr/local/bin/qemu-7.2" /opt/qemu-7.2/bin/qemu-system-x86_64 -L /opt/qemu-7.2/share
    vmm_command "$root/usr/local/bin/qemu-10" /usr/bin/qemu-system-x86_64
}

# vmm_command PATH BINARY [ARG...]: a command that runs a VMM on the lab CPUs that lab/init gives
# the VMMs ($HVMM_LAB_VMM_CPUS, set with two lab CPUs or more): every thread of it, so that only
# that lab CPU runs the nested guest and touches its memory (lab/README.md, "Stability").
vmm_command() {
    local path=$1
    shift
    {
        echo '#!/bin/sh'
        echo "[ -n \"\${HVMM_LAB_VMM_CPUS:-}\" ] && exec taskset -c \"\$HVMM_LAB_VMM_CPUS\" $* \"\$@\""
        echo "exec $* \"\$@\""
    } >"$path"
    chmod 755 "$path"
}

main() {
    parse_out_arg "$HVMM_CACHE/lab" "$@"
    # QEMU 10 first, so a fresh machine does not install Debian 12's 7.2 only to replace it.
    ensure_backports_qemu
    ensure_packages "${PACKAGES[@]}"
    ANCHOR_QEMU=$(anchor_qemu_tree)
    # A stable path to the anchor too, for host-side tests that want Debian 12's QEMU.
    ln -sfn "$ANCHOR_QEMU" "$HVMM_CACHE/qemu-7.2"
    # The lab's own emulator (lab/run.sh runs $HVMM_CACHE/lab-emulator/qemu-system-x86_64).
    ln -sfn "$(lab_emulator_tree)" "$HVMM_CACHE/lab-emulator"
    # The lab carries the default guest image; bring it up to date first.
    GUEST="$HVMM_CACHE/guest"
    "$HERE/../guest/build-image.sh" --out "$GUEST"
    mkdir -p "$HVMM_CACHE/kernel" "$OUT"
    # Several users (engineers, CI, lab runs) may build at once: one builder per output at a time.
    exec 9>"$OUT/.lock"
    flock 9
    # HVMM_LAB_KERNEL: another kernel package for the lab itself (e.g. bookworm-backports'
    # linux-image-6.12...-amd64-unsigned), a lever for experiments; the guest keeps Debian 12's.
    KPKG=${HVMM_LAB_KERNEL:-$(kernel_package)}
    local key tree
    key=$(input_key)
    if is_fresh "$OUT" "$key" && [[ -f $OUT/vmlinuz && -f $OUT/base.cpio ]]; then
        [[ -n ${HVMM_BUILD_QUIET:-} ]] || log "lab in $OUT is up to date"
        return 0
    fi
    tree=$(kernel_tree "$KPKG")
    ROOT_TMP=$(mktemp -d "$OUT/.root.XXXXXX")
    trap 'rm -rf "$ROOT_TMP"' EXIT
    log "building the lab ($(kernel_version "$tree")) in $OUT"
    build_root "$ROOT_TMP" "$tree"
    # Uncompressed: the lab kernel unpacks it under TCG, where gunzip of ~100 MB costs seconds.
    pack_cpio "$ROOT_TMP" "$OUT/base.cpio"
    cp "$tree"/boot/vmlinuz-* "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    echo "$key" >"$OUT/.inputs"
    log "done: $OUT/vmlinuz $OUT/base.cpio ($(du -h "$OUT/base.cpio" | cut -f1))"
}

main "$@"
