#!/bin/bash
# Runs inside the lab (bench/tx-pairs.sh sends it there): guest TCP transmit and receive, one VM
# run per spec, in the order given, in ONE lab boot, so alternating specs (hvmm, QEMU, hvmm, ...)
# spread the lab's drift over both. Each run: fresh TAP and iperf3 server, iperf3 TX then RX for
# SECS; at the guest's markers the lab snapshots its /proc/stat, KVM's debugfs exit totals and
# the TAP's counters, and the guest prints its NIC's interrupt count.
#
# usage: tx-pairs-lab.sh SECS SPEC...   SPEC = LABEL:hvmm:NICOPT[:BINARY] or LABEL:qemu72-pcnet or
#        LABEL:qemu10-pcnet (Debian 12's QEMU 7.2 or backports' QEMU 10; qemu-pcnet = qemu72-pcnet)
#        (BINARY: another hvmm build carried into the lab, for A/B runs; default hvmm on PATH)
# Writes $HVMM_LAB_OUT/tx-pairs.txt (snapshots and iperf3 lines) and LABEL-N.stats.json.
set -uo pipefail

SECS=$1
shift
OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
TAP=pairtap0
HOST_IP=10.0.0.1
GUEST_IP=10.0.0.2
mount -t debugfs d /sys/kernel/debug 2>/dev/null

guest_cmd="ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
ping -c 2 -w 10 $HOST_IP >/dev/null 2>&1
echo GUEST-IRQ0 \$(grep eth0 /proc/interrupts | awk '{print \$2}')
echo GUEST-MARK tx0; iperf3 -c $HOST_IP -t $SECS -f m >/tmp/tx.txt 2>&1; echo GUEST-MARK tx1
echo GUEST-IRQ1 \$(grep eth0 /proc/interrupts | awk '{print \$2}')
grep -E 'receiver' /tmp/tx.txt | sed 's/^/GUEST-TX /'
iperf3 -c $HOST_IP -t $SECS -f m -R >/tmp/rx.txt 2>&1
grep -E 'receiver' /tmp/rx.txt | sed 's/^/GUEST-RX /'"
append="console=ttyS0 reboot=k panic=-1 quiet hvmm.run=$(printf %s "$guest_cmd" | base64 -w0)"

snapshot() { # snapshot RUN MARK
    echo "$1 $2 cpu=$(awk '$1 == "cpu" { print $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 "," $9 "," $10; exit }' /proc/stat)" \
         "exits=$(cat /sys/kernel/debug/kvm/exits) tap_rx=$(cat /sys/class/net/$TAP/statistics/rx_packets)" >>"$OUT/tx-pairs.txt"
}

vm_command() { # vm_command RUN KIND NICOPT [BINARY]: the VM's command line into CMD
    if [[ $2 == qemu*-pcnet ]]; then
        local qemu=qemu-7.2
        [[ $2 == qemu10-pcnet ]] && qemu=qemu-10
        CMD=("$qemu" -enable-kvm -m 256 -smp 1 -nodefaults -no-reboot -display none
             -serial stdio -kernel "$HVMM_GUEST_KERNEL" -initrd "$HVMM_GUEST_INITRD" -append "$append"
             -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" -device "pcnet,netdev=n0,romfile=")
    else
        CMD=("${4:-hvmm}" run --kernel "$HVMM_GUEST_KERNEL" --initrd "$HVMM_GUEST_INITRD" --mem 256 --cpus 1
             --append "$append" --nic "pcnet,net=tap:$TAP" --nic-opt="$3" --stats-json "$OUT/$1.stats.json")
    fi
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
        echo "$run status ${status:-?}" >>"$OUT/tx-pairs.txt"
        kill "$server" 2>/dev/null
        wait "$server" 2>/dev/null
    done
    ip link del $TAP 2>/dev/null
}

main "$@"
