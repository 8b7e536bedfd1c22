#!/bin/bash
# What ties the nested guest's network to the lab: one lab boot per lever, each running the same
# rows (hvmm's PCnet, QEMU 7.2's and QEMU 10's pcnet and virtio-net; iperf3 TX then RX, SECS
# each) with a 2 s ftrace of every TX phase, so the levers compare by the lab's dynamic range
# (virtio-net TX over pcnet TX) and by where a transmitted frame's time goes on the vCPU thread
# (bench/trace_report.py). Writes bench/results/lab-levers/LEVER/ (raw) and lab-levers.md.
# A benchmark: nothing is asserted.
#
# usage: bench/lab-levers.sh [SECS] [LEVER...]   (default 10; all levers)
# levers: CPUS:NAME with CPUS the lab's CPU count and NAME one of
#   shipped             lab/init as it is (halt polling off; with 2+ CPUs, vCPU threads alone on CPU 0)
#   halt-poll-on        KVM's default halt polling (200 us) back on
#   unplaced            no placement: the lab's scheduler puts every thread anywhere
#   unplaced-halt-poll-on  neither (the lab as it was before this study)
#   vmm-on-0-peer-on-1  the whole VMM on CPU 0, the iperf3 peer on CPU 1
# env: HVMM_BIN (default build-bench/hvmm, else build/hvmm), BENCH_LEVER_ROWS (anchors)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEFAULT_LEVERS="1:shipped 2:unplaced-halt-poll-on 2:unplaced 2:vmm-on-0-peer-on-1 2:halt-poll-on 2:shipped"

main() {
    local secs=${1:-10} hvmm=${HVMM_BIN:-} lever cpus name out status
    shift || true
    local levers=${*:-$DEFAULT_LEVERS}
    local anchors=${BENCH_LEVER_ROWS:-qemu72-pcnet qemu72-virtio qemu10-pcnet qemu10-virtio}
    if [[ -z $hvmm ]]; then
        hvmm=$REPO/build-bench/hvmm
        [[ -x $hvmm ]] || hvmm=$REPO/build/hvmm
    fi
    [[ -x $hvmm ]] || { echo "bench/lab-levers.sh: no hvmm binary at $hvmm" >&2; exit 1; }
    local results=$REPO/bench/results/lab-levers
    mkdir -p "$results"
    for lever in $levers; do
        cpus=${lever%%:*} name=${lever#*:}
        out=$results/$cpus-cpu-$name
        [[ -n ${BENCH_LEVER_SUFFIX:-} ]] && out+="-$BENCH_LEVER_SUFFIX"
        rm -rf "$out" && mkdir -p "$out"
        echo "== lever: $cpus lab CPUs, $name (host load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        status=0
        HVMM_LAB_CPUS=$cpus "$REPO/lab/run.sh" --hvmm "$hvmm" --timeout 2400 --out "$out" --with "$REPO/bench" \
            exec "$REPO/bench/lab-levers-lab.sh" "$name" "$secs" paper "$anchors" 2>"$out/stderr.txt" || status=$?
        echo "lab status $status" >>"$out/stderr.txt"
    done
    python3 "$REPO/bench/lab_levers_report.py" "$results" "bench/lab-levers.sh $secs${*:+ $*}" >"$REPO/bench/results/lab-levers.md"
    # Megabytes each as text: kept compressed (trace_report.py reads them either way).
    xz -9f "$results"/*/*.trace 2>/dev/null || true
    cat "$REPO/bench/results/lab-levers.md"
}

main "$@"
