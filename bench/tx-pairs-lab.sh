#!/bin/bash
# Runs inside the lab (bench/tx-pairs.sh sends it there): guest TCP transmit and receive, one VM
# run per spec, in the order given, in ONE lab boot, so alternating specs (hvmm, QEMU, hvmm, ...)
# spread the lab's drift over both. Each run: fresh TAP and iperf3 server, iperf3 TX then RX for
# SECS; at the guest's markers the lab snapshots its /proc/stat, KVM's debugfs exit totals and
# the TAP's counters, and the guest prints its NIC's interrupt count.
#
# usage: tx-pairs-lab.sh SECS SPEC...   SPEC = LABEL:hvmm:CONFIG[:BINARY] or LABEL:qemuV-MODEL[:CPU]
#        CONFIG: a --nic-opt list for the PCnet, or virtio / vhost (hvmm's virtio-net NIC with
#        vhost=off / on), or virtio-coalU (userspace virtio-net, the guest first setting its
#        interrupt moderation, NOTF_COAL, to U us or 64 frames both ways with ethtool -C; a run
#        whose guest could not is marked failed, status "prep");
#        V: 72 (Debian 12's QEMU 7.2) or 10 (backports' QEMU 10); MODEL: pcnet,
#        virtio (virtio-net-pci, vhost=off) or vhost (vhost=on); qemu-pcnet = qemu72-pcnet.
#        (BINARY: another hvmm build carried into the lab, for A/B runs; default hvmm on PATH)
#        CPU: QEMU's -cpu (default: QEMU's own model; `host` gives its guest the CPUID hvmm's guest
#        sees, to tell the CPU model's share of a difference from the NIC's)
# Writes $HVMM_LAB_OUT/tx-pairs.txt (snapshots and iperf3 lines) and LABEL-N.stats.json.
set -uo pipefail

SECS=$1
shift
OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
TAP=pairtap0
HOST_IP=10.0.0.1
GUEST_IP=10.0.0.2
mount -t debugfs d /sys/kernel/debug 2>/dev/null

# guest_append PREP: the guest's kernel command line, its run= command starting with PREP (a
# shell line, may be empty). The NIC's interrupts: the PCnet's line (eth0), or every virtio-net
# vector (virtio0-*).
guest_append() {
    local guest_cmd="nic_irqs() { grep -E 'eth0|virtio0-' /proc/interrupts | awk '{ n += \$2 } END { print n + 0 }'; }
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
$1
ping -c 2 -w 10 $HOST_IP >/dev/null 2>&1
echo GUEST-IRQ0 \$(nic_irqs)
echo GUEST-MARK tx0; iperf3 -c $HOST_IP -t $SECS -f m >/tmp/tx.txt 2>&1; echo GUEST-MARK tx1
echo GUEST-IRQ1 \$(nic_irqs)
grep -E 'receiver' /tmp/tx.txt | sed 's/^/GUEST-TX /'
iperf3 -c $HOST_IP -t $SECS -f m -R >/tmp/rx.txt 2>&1
grep -E 'receiver' /tmp/rx.txt | sed 's/^/GUEST-RX /'"
    printf %s "console=ttyS0 reboot=k panic=-1 quiet hvmm.run=$(printf %s "$guest_cmd" | base64 -w0)"
}

snapshot() { # snapshot RUN MARK
    echo "$1 $2 cpu=$(awk '$1 == "cpu" { print $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 "," $9 "," $10; exit }' /proc/stat)" \
         "exits=$(cat /sys/kernel/debug/kvm/exits) tap_rx=$(cat /sys/class/net/$TAP/statistics/rx_packets)" >>"$OUT/tx-pairs.txt"
}

vm_command() { # vm_command RUN KIND NICOPT [BINARY]: the VM's command line into CMD
    local tap="tap,id=n0,ifname=$TAP,script=no,downscript=no" append
    PREP=""  # the guest's first line for this run, checked by main
    if [[ $2 != qemu* && $3 =~ ^virtio-coal([0-9]+)$ ]]; then
        local u=${BASH_REMATCH[1]}
        PREP="ethtool -C eth0 rx-usecs $u rx-frames 64 tx-usecs $u tx-frames 64 && echo GUEST-PREP ok || echo GUEST-PREP failed"
    fi
    append=$(guest_append "$PREP")
    case $2 in
        qemu*)
            local qemu=qemu-7.2 device=pcnet
            [[ $2 == qemu10-* ]] && qemu=qemu-10
            case $2 in
                *-virtio) device=virtio-net-pci; tap+=",vhost=off" ;;
                *-vhost) device=virtio-net-pci; tap+=",vhost=on" ;;
            esac
            CMD=("$qemu" -enable-kvm ${3:+-cpu "$3"} -m 256 -smp 1
                 -nodefaults -no-reboot -display none -serial stdio -kernel "$HVMM_GUEST_KERNEL"
                 -initrd "$HVMM_GUEST_INITRD" -append "$append" -netdev "$tap"
                 -device "$device,netdev=n0,romfile=") ;;
        *)
            CMD=("${4:-hvmm}" run --kernel "$HVMM_GUEST_KERNEL" --initrd "$HVMM_GUEST_INITRD"
                 --mem 256 --cpus 1 --append "$append" --stats-json "$OUT/$1.stats.json")
            case $3 in
                virtio | vhost) CMD+=(--nic "virtio,net=tap:$TAP,vhost=$([[ $3 == vhost ]] && echo on || echo off)") ;;
                virtio-coal*) CMD+=(--nic "virtio,net=tap:$TAP,vhost=off") ;;
                *) CMD+=(--nic "pcnet,net=tap:$TAP" --nic-opt="$3") ;;
            esac ;;
    esac
}

main() {
    local spec label kind opt binary n=0 line server run status
    : >"$OUT/tx-pairs.txt"
    for spec in "$@"; do
        IFS=: read -r label kind opt binary <<<"$spec"
        n=$((n + 1))
        run="$label-$n"
        ip link del $TAP 2>/dev/null
        ip tuntap add dev $TAP mode tap && ip addr add $HOST_IP/24 dev $TAP && ip link set $TAP up
        iperf3 -s >/dev/null 2>&1 &
        server=$!
        status=
        vm_command "$run" "$kind" "$opt" "$binary"
        # QEMU's vCPU threads where lab/init puts hvmm's (lab-place-vcpus; no-op on one CPU).
        [[ $kind == qemu* ]] && lab-place-vcpus --qemu &
        while IFS= read -r line; do
            line=${line%$'\r'}
            case $line in
                *GUEST-MARK*) snapshot "$run" "${line##*GUEST-MARK }" ;;
                GUEST-*) echo "$run ${line#GUEST-}" >>"$OUT/tx-pairs.txt" ;;
                exit-status*) status=${line#exit-status } ;;
            esac
        done < <(timeout -k 10 $((4 * SECS + 240)) "${CMD[@]}" </dev/null 2>&1; echo "exit-status $?")
        # A run whose guest could not set what its config asks measured something else.
        [[ -n $PREP ]] && ! grep -q "^$run PREP ok" "$OUT/tx-pairs.txt" && status=prep
        echo "$run status ${status:-?}" >>"$OUT/tx-pairs.txt"
        kill "$server" 2>/dev/null
        wait "$server" 2>/dev/null
    done
    ip link del $TAP 2>/dev/null
}

main "$@"
