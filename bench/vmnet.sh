#!/bin/bash
# hvmm's networks without root (issue 8's "Measure"), side by side with QEMU 7.2 and QEMU 10 in ONE
# lab boot, the same NIC on every VM of a row: PCnet (QEMU's `-device pcnet,romfile=`), and in the
# rows named ROW-virtio virtio-net (hvmm `--nic virtio`, QEMU `-device virtio-net-pci`, both in
# userspace); 256 MiB, 1 vCPU, the default image (bench/vmnet-lab.sh does the runs):
#   nat   guest TX and RX over user-mode NAT: iperf3 from the guest to the lab's iperf3 server
#         through the gateway 10.0.2.2, and -R; hvmm `--nic pcnet` against `-netdev user`
#   v2v   VM to VM, iperf3 server in one VM and client in the other, both directions: two hvmm VMs
#         on an `hvmm switch` (DHCP, reserved addresses) and on hvmm's own stream and dgram
#         sockets; two QEMU VMs on `-netdev stream` (server=on / server=off) and on `-netdev dgram`
#   idle  wakeups per second (voluntary + involuntary context switches of every thread) of an
#         idle `net=user` hvmm and an idle QEMU `-netdev user` VM (the guest asleep), and of the
#         switch daemon with two idle hvmm VMs attached, over 20 s windows
# Medians of N runs (rounds in one VM boot: iperf3 SECS s each way; idle: N windows), ratios
# hvmm / QEMU 7.2 and hvmm / QEMU 10 per row. Writes bench/results/vmnet.json and vmnet.md (with
# the command line, the date, the lab's CPUs and emulator, every run). A benchmark, not a test.
#
# usage: bench/vmnet.sh [N] [SECS] [ROW...]     (defaults 3, 5, "nat v2v idle nat-virtio v2v-virtio")
#        ROW: nat, v2v, idle, nat-virtio, v2v-virtio, idle-virtio, or single units (nat-hvmm,
#        v2v-qemu72-dgram, idle-hvmm-switch, nat-qemu10-virtio, ...; bench/vmnet-lab.sh lists them)
# env:   HVMM_BIN        hvmm binary (default build-bench/hvmm, else build/hvmm)
#        BENCH_RESULTS   output directory (default bench/results)
#        BENCH_IDLE_SECS idle window (default 20)
#        BENCH_KEEP_RAW  a directory to keep the lab's raw output in (consoles, switch status)
# status: 0 every row measured; 1 a row failed (it says why, the rest are still written); the
#         lab's own statuses (124, 125) when it returned nothing. A lab that ends with 124 or 125
#         is run once more (bench/lab_retry.sh), recorded as lab_retry.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$REPO/bench/lab_retry.sh"
# hvmm next to the anchors, alternating within each group so that the lab's drift spreads.
# nat-hvmm-nosigpipe: hvmm with SIGPIPE ignored by its parent, while net=user dies of it
# (bench/vmnet-lab.sh).
NAT_UNITS="nat-hvmm nat-qemu72 nat-qemu10 nat-hvmm-nosigpipe"
# Two QEMU 7.2 VMs talking stalled the old one-CPU lab (on Debian's QEMU 7.2) all three times
# they ran on 2026-12-02; the two-CPU lab on QEMU 11.1 is the one that holds nested guests
# (lab/README.md, "Stability"), so they are in the default rows again.
V2V_UNITS="v2v-hvmm-switch v2v-qemu72-stream v2v-qemu10-stream v2v-hvmm-stream v2v-qemu72-dgram v2v-qemu10-dgram v2v-hvmm-dgram"
IDLE_UNITS="idle-hvmm-user idle-qemu72-user idle-qemu10-user idle-hvmm-switch"
# with_suffix SUFFIX UNIT...: the units of the virtio rows (nat-hvmm-nosigpipe has no virtio twin:
# it only cross-checks the SIGPIPE fix).
with_suffix() {
    local suffix=$1 unit
    shift
    for unit in "$@"; do [[ $unit == nat-hvmm-nosigpipe ]] || echo "$unit$suffix"; done
}

usage() { echo "usage: bench/vmnet.sh [N] [SECS] [nat|v2v|idle|nat-virtio|v2v-virtio|idle-virtio|UNIT]..." >&2; exit 2; }

main() {
    local runs=${1:-3} secs=${2:-5} hvmm=${HVMM_BIN:-} row report_status=0
    shift $(($# < 2 ? $# : 2))
    [[ $runs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || usage
    local -a rows=("$@") units=()
    [[ ${#rows[@]} -gt 0 ]] || rows=(nat v2v idle nat-virtio v2v-virtio)
    local all_units
    all_units=" $NAT_UNITS $V2V_UNITS $IDLE_UNITS $(with_suffix -virtio $NAT_UNITS $V2V_UNITS $IDLE_UNITS | tr '\n' ' ') "
    for row in "${rows[@]}"; do
        case $row in
            nat) units+=($NAT_UNITS) ;;
            v2v) units+=($V2V_UNITS) ;;
            idle) units+=($IDLE_UNITS) ;;
            nat-virtio) units+=($(with_suffix -virtio $NAT_UNITS)) ;;
            v2v-virtio) units+=($(with_suffix -virtio $V2V_UNITS)) ;;
            idle-virtio) units+=($(with_suffix -virtio $IDLE_UNITS)) ;;
            *) [[ $all_units == *" $row "* ]] || usage
               units+=("$row") ;;
        esac
    done
    if [[ -z $hvmm ]]; then
        hvmm=$REPO/build-bench/hvmm
        [[ -x $hvmm ]] || hvmm=$REPO/build/hvmm
    fi
    [[ -x $hvmm ]] || { echo "bench/vmnet.sh: no hvmm binary at $hvmm (build it, or set HVMM_BIN)" >&2; exit 1; }
    local results=${BENCH_RESULTS:-$REPO/bench/results}
    # The exact line: the environment that changes what runs or what is recorded goes in too.
    local command="bench/vmnet.sh $runs $secs ${rows[*]}" var
    command=${command% }
    for var in BENCH_IDLE_SECS BENCH_KEEP_RAW HVMM_BIN; do
        [[ -n ${!var:-} ]] && command="$var=\"${!var}\" $command"
    done
    RAW=$(mktemp -d)
    trap 'rm -rf "$RAW"' EXIT
    local load_before load_after start end
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    start=$(date +%s)
    run_lab_retrying_once bench/vmnet.sh "$RAW" "$REPO/lab/run.sh" --hvmm "$hvmm" --timeout 3000 \
        --with "$REPO/tests/lab/lab_checks_lib.sh" --out "$RAW" \
        exec "$REPO/bench/vmnet-lab.sh" "$secs" "$runs" "${BENCH_IDLE_SECS:-20}" "${units[@]}"
    end=$(date +%s)
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    if [[ ! -s $RAW/vmnet-runs.txt ]]; then
        echo "bench/vmnet.sh: the lab returned no measurements (lab status $LAB_STATUS)" >&2
        exit $((LAB_STATUS ? LAB_STATUS : 1))
    fi
    if [[ -n ${BENCH_KEEP_RAW:-} ]]; then mkdir -p "$BENCH_KEEP_RAW" && cp -a "$RAW/." "$BENCH_KEEP_RAW/"; fi
    mkdir -p "$results"
    python3 "$REPO/bench/vmnet_report.py" --raw "$RAW" --out "$results" --command "$command" \
        --hvmm "$hvmm" --repo-head "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --load-before "$load_before" --load-after "$load_after" --wall-seconds $((end - start)) \
        --lab-status "$LAB_STATUS" --lab-retry "$LAB_RETRY" || report_status=$?
    cat "$results/vmnet.md"
    if [[ $LAB_STATUS -ne 0 ]]; then
        echo "bench/vmnet.sh: the lab script ended with status $LAB_STATUS" >&2
        exit 1
    fi
    exit "$report_status"
}

main "$@"
