#!/bin/bash
# Runs inside the lab (bench/pcnet.sh sends it there): iperf3 over a TAP to the lab, guest TX then
# guest RX (SECS each), first with hvmm's PCnet and then with QEMU 7.2's `-device pcnet`; same
# kernel, initramfs and guest command, 1 vCPU, 256 MiB. The guest prints a marker line around each
# phase; when one shows on the console the lab snapshots KVM's debugfs totals (which count live
# VMs only, hence while the VM runs) and the TAP's packet counters, as shared/tools/anchor-lab.sh
# does. Writes to $HVMM_LAB_OUT:
#   pcnet-runs.txt   per VMM: "VMM mark NAME key=value..." snapshots, "VMM TX|RX <iperf3 line>",
#                    "VMM status N"
#   hvmm-stats.json  hvmm's --stats-json for its whole run
#   pcnet-env.txt    kernel, QEMU version, the guest command line
#   *.console        each VMM's console
set -uo pipefail

SECS=${1:-10}
VMMS=${2:-hvmm qemu-7.2}
OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
TAP=benchtap0
HOST_IP=10.0.0.1
GUEST_IP=10.0.0.2
RUN_LIMIT=${BENCH_RUN_TIMEOUT:-300}

# The guest command: the anchor's sequence. A ping first so ARP is done before timing starts.
GUEST_CMD="ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
ping -c 2 -w 10 $HOST_IP >/dev/null 2>&1
echo GUEST-MARK tx0; iperf3 -c $HOST_IP -t $SECS -f m >/tmp/tx.txt 2>&1; echo GUEST-MARK tx1
grep -E 'sender|receiver' /tmp/tx.txt | sed 's/^/GUEST-TX /'
echo GUEST-MARK rx0; iperf3 -c $HOST_IP -t $SECS -f m -R >/tmp/rx.txt 2>&1; echo GUEST-MARK rx1
grep -E 'sender|receiver' /tmp/rx.txt | sed 's/^/GUEST-RX /'"
APPEND="console=ttyS0 reboot=k panic=-1 hvmm.run=$(printf %s "$GUEST_CMD" | base64 -w0)"

snapshot() { # snapshot VMM MARK: one line of counters
    local line="$1 mark $2 t=$(cut -d' ' -f1 /proc/uptime)" f
    for f in exits io_exits mmio_exits irq_injections halt_exits; do
        line+=" $f=$(cat /sys/kernel/debug/kvm/$f 2>/dev/null || echo -)"
    done
    line+=" tap_rx=$(cat /sys/class/net/$TAP/statistics/rx_packets) tap_tx=$(cat /sys/class/net/$TAP/statistics/tx_packets)"
    echo "$line" >>"$OUT/pcnet-runs.txt"
}

# measure VMM CMD...: one VM run with a fresh TAP and iperf3 server.
measure() {
    local vmm=$1 line status
    shift
    ip link del "$TAP" 2>/dev/null
    ip tuntap add dev "$TAP" mode tap && ip addr add "$HOST_IP/24" dev "$TAP" && ip link set "$TAP" up
    iperf3 -s >/dev/null 2>&1 &
    local server=$!
    : >"$OUT/$vmm.console"
    while IFS= read -r line; do
        line=${line%$'\r'}
        echo "$line" >>"$OUT/$vmm.console"
        case $line in
            *GUEST-MARK*) snapshot "$vmm" "${line##*GUEST-MARK }" ;;
            GUEST-TX*|GUEST-RX*) echo "$vmm ${line#GUEST-}" >>"$OUT/pcnet-runs.txt" ;;
            exit-status*) status=${line#exit-status } ;;
        esac
    done < <(timeout "$RUN_LIMIT" "$@" </dev/null 2>&1; echo "exit-status $?")
    echo "$vmm status ${status:-?}" >>"$OUT/pcnet-runs.txt"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    ip link del "$TAP" 2>/dev/null
}

main() {
    : >"$OUT/pcnet-runs.txt"
    {
        echo "guest_kernel $(cat "$HVMM_CACHE/guest/kernel-release")"
        echo "lab_kernel $(uname -r)"
        echo "qemu $(qemu-7.2 --version | head -n1)"
        echo "secs $SECS"
        echo "guest_cmd $(printf %s "$GUEST_CMD" | tr '\n' ';')"
    } >"$OUT/pcnet-env.txt"
    if [[ " $VMMS " == *" hvmm "* ]]; then
        measure hvmm hvmm run --kernel "$HVMM_GUEST_KERNEL" --initrd "$HVMM_GUEST_INITRD" --mem 256 \
            --cpus 1 --append "$APPEND" --nic "pcnet,net=tap:$TAP" --stats-json "$OUT/hvmm-stats.json"
    fi
    if [[ " $VMMS " == *" qemu-7.2 "* ]]; then
        measure qemu-7.2 qemu-7.2 -enable-kvm -m 256 -smp 1 -nodefaults -no-reboot \
            -display none -serial stdio -kernel "$HVMM_GUEST_KERNEL" -initrd "$HVMM_GUEST_INITRD" \
            -append "$APPEND" -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
            -device pcnet,netdev=n0,romfile=
    fi
    cat "$OUT/pcnet-runs.txt"
}

main "$@"
