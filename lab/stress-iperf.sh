#!/bin/bash
# Lab stability probe (runs inside the lab): N boots of hvmm with the PCnet NIC on a TAP, each
# running iperf3 SECS seconds each way; prints one "boot I status S" line per boot and keeps each
# console and stderr in $HVMM_LAB_OUT. How the lab's CPU count was chosen (lab/README.md):
#
#   HVMM_LAB_CPUS=2 HVMM_LAB_LOG=/tmp/lab.log lab/run.sh --out /tmp/stress exec lab/stress-iperf.sh 10 8
#
# usage (in the lab): stress-iperf.sh [BOOTS (default 5)] [SECS (default 8)] [HVMM RUN ARG...]
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
timeout 60 iperf3 -c 10.0.2.1 -t $SECS -f m | grep -E 'sender|receiver'; echo tx-status \$?
timeout 60 iperf3 -c 10.0.2.1 -t $SECS -f m -R | grep -E 'sender|receiver'; echo rx-status \$?"
failed=0
for ((i = 1; i <= BOOTS; i++)); do
    status=0
    timeout 300 hvmm run --mem 256 -v --nic "pcnet,net=tap:$TAP" "$@" --run "$cmd" </dev/null \
        >"$OUT/boot$i.out" 2>"$OUT/boot$i.err" || status=$?
    [[ $status == 0 ]] || failed=$((failed + 1))
    echo "boot $i status $status $(grep -v 'unmapped I/O' "$OUT/boot$i.err" | tail -n 2 | tr '\n' ' ')"
done
echo "$failed of $BOOTS boots failed"
exit $((failed > 0))
