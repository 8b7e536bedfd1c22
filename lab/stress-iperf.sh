#!/bin/bash
# Lab stability probe (runs inside the lab): BOOTS boots of hvmm with the PCnet NIC on a TAP, each
# running iperf3 SECS seconds each way against a server in the lab. A boot is clean when hvmm
# exits 0 (the guest powered off by itself), both iperf3 runs exit 0 and both report a receiver
# figure. Prints one line per boot (status, TX and RX Mbit/s, the last lines of hvmm's stderr for
# a failed one), then the lab kernel's own complaints (BUG, WARNING, Oops, stack guard, hung
# task, soft lockup) and "N of BOOTS boots clean". Each boot's console and stderr are kept in
# $HVMM_LAB_OUT. From the host, in the configuration the lab ships with:
#
#   lab/run.sh --out /tmp/stress exec lab/stress-iperf.sh 50 8
#
# usage (in the lab): stress-iperf.sh [BOOTS (default 5)] [SECS (default 8)] [HVMM RUN ARG...]
# status: 0 every boot clean and no lab kernel complaint, 1 otherwise.
set -uo pipefail

OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
BOOTS=${1:-5}
SECS=${2:-8}
shift 2 2>/dev/null || shift $#
TAP=stress0

ip link del "$TAP" 2>/dev/null
ip tuntap add dev "$TAP" mode tap && ip addr add 10.0.2.1/24 dev "$TAP" && ip link set "$TAP" up || exit 1
iperf3 -s >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; ip link del $TAP 2>/dev/null' EXIT

cmd="ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0
ping -c 1 -w 10 10.0.2.1 >/dev/null
timeout 60 iperf3 -c 10.0.2.1 -t $SECS -f m >/tmp/tx 2>&1; echo tx-status \$?; grep receiver /tmp/tx | sed 's/^/tx /'
timeout 60 iperf3 -c 10.0.2.1 -t $SECS -f m -R >/tmp/rx 2>&1; echo rx-status \$?; grep receiver /tmp/rx | sed 's/^/rx /'"
echo "stress: lab $(grep -c ^processor /proc/cpuinfo) CPUs, kernel $(uname -r), halt_poll_ns $(cat /sys/module/kvm/parameters/halt_poll_ns 2>/dev/null), kvm-amd npt $(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null), kvm tdp_mmu $(cat /sys/module/kvm/parameters/tdp_mmu 2>/dev/null), $BOOTS boots, iperf3 $SECS s each way"
clean=0
dmesg -c >/dev/null 2>&1
for ((i = 1; i <= BOOTS; i++)); do
    status=0
    start=$(cut -d' ' -f1 /proc/uptime)
    timeout 300 hvmm run --mem 256 -v --nic "pcnet,net=tap:$TAP" "$@" --run "$cmd" </dev/null \
        >"$OUT/boot$i.out" 2>"$OUT/boot$i.err" || status=$?
    end=$(cut -d' ' -f1 /proc/uptime)
    out=$(tr -d '\r' <"$OUT/boot$i.out")
    tx=$(sed -n 's/^tx .* \([0-9.]*\) Mbits\/sec.*receiver.*/\1/p' <<<"$out")
    rx=$(sed -n 's/^rx .* \([0-9.]*\) Mbits\/sec.*receiver.*/\1/p' <<<"$out")
    verdict=clean
    if [[ $status != 0 ]]; then
        verdict="FAILED (hvmm status $status$([[ $status == 124 ]] && echo ': hung, killed after 300 s'))"
    elif ! grep -qx 'tx-status 0' <<<"$out" || ! grep -qx 'rx-status 0' <<<"$out" || [[ -z $tx || -z $rx ]]; then
        verdict="FAILED (iperf3: $(grep -E '^(tx|rx)-status' <<<"$out" | tr '\n' ' '))"
    fi
    [[ $verdict == clean ]] && clean=$((clean + 1))
    printf 'boot %d %s tx %s rx %s Mbit/s, %.0f s' "$i" "$verdict" "${tx:--}" "${rx:--}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
    [[ $verdict == clean ]] || printf ' | %s' "$(grep -v 'unmapped I/O' "$OUT/boot$i.err" | tail -n 3 | tr '\n' ' ')"
    echo
done
complaints=$(dmesg 2>/dev/null | grep -E 'BUG|WARNING|Oops|stack guard|hung_task|soft lockup|general protection' || true)
dmesg >"$OUT/lab-dmesg.txt" 2>/dev/null
if [[ -n $complaints ]]; then
    echo "stress: the lab kernel complained:"
    echo "$complaints" | head -n 20
fi
echo "$clean of $BOOTS boots clean"
[[ $clean == "$BOOTS" && -z $complaints ]]
