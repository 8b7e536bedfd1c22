#!/bin/bash
# hvmm's NIC against QEMU's same model, in alternating rounds in ONE lab boot: each round is an
# hvmm run, a QEMU 7.2 run and a QEMU 10 run, guest iperf3 TX then RX, SECS each. CONFIG is a
# --nic-opt list for the PCnet (against `-device pcnet`), or virtio / vhost: hvmm's virtio-net with
# vhost=off / on, against `-device virtio-net-pci` with the same vhost setting. Prints one line per run (TX/RX Mbit/s, KVM exits per TX packet, NIC interrupts per TX
# packet, the lab CPU's split over TX) and hvmm's median over each QEMU's. A benchmark, not a test.
#
# usage: bench/tx-pairs.sh [PAIRS] [SECS] [CONFIG]   (defaults 3, 10, paper)
# env:   HVMM_BIN (default build-bench/hvmm, else build/hvmm), BENCH_KEEP_RAW (a directory),
#        BENCH_QEMU_CPU (QEMU's -cpu, e.g. host: its guest then sees hvmm's guest's CPUID),
#        BENCH_QEMU_MODEL (pcnet, virtio or vhost: QEMU's NIC when it is not CONFIG's own, e.g.
#        hvmm's userspace virtio against QEMU's vhost-net),
#        HVMM_BIN_B: another hvmm build; the pairs are then HVMM_BIN against it (an A/B run of
#        two builds, same CONFIG) instead of against QEMU
# A lab that ends with 124 or 125 is run once more (bench/lab_retry.sh); the summary says so.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$REPO/bench/lab_retry.sh"

main() {
    local pairs=${1:-3} secs=${2:-10} config=${3:-paper} hvmm=${HVMM_BIN:-} i status=0
    [[ $pairs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] ||
        { echo "usage: bench/tx-pairs.sh [PAIRS] [SECS] [CONFIG]" >&2; exit 2; }
    if [[ -z $hvmm ]]; then
        hvmm=$REPO/build-bench/hvmm
        [[ -x $hvmm ]] || hvmm=$REPO/build/hvmm
    fi
    [[ -x $hvmm ]] || { echo "bench/tx-pairs.sh: no hvmm binary at $hvmm (build it, or set HVMM_BIN)" >&2; exit 1; }
    local -a specs=() carry=()
    # Against both anchors, in turn: Debian 12's QEMU 7.2 and backports' QEMU 10.
    local model=pcnet
    [[ $config == virtio || $config == vhost ]] && model=$config
    # hvmm's interrupt moderation (virtio-coalU) against QEMU's virtio-net, which has none.
    [[ $config =~ ^virtio-coal[0-9]+$ ]] && model=virtio
    model=${BENCH_QEMU_MODEL:-$model}
    [[ $model =~ ^(pcnet|virtio|vhost)$ ]] || { echo "bench/tx-pairs.sh: BENCH_QEMU_MODEL '$model': want pcnet, virtio or vhost" >&2; exit 2; }
    local cpu=${BENCH_QEMU_CPU:-}
    [[ $cpu =~ ^[A-Za-z0-9_.,+=-]*$ ]] || { echo "bench/tx-pairs.sh: BENCH_QEMU_CPU '$cpu' is not a -cpu model" >&2; exit 2; }
    local -a others=("qemu72-$model${cpu:+.${cpu%%,*}}:qemu72-$model:$cpu" "qemu10-$model${cpu:+.${cpu%%,*}}:qemu10-$model:$cpu")
    if [[ -n ${HVMM_BIN_B:-} ]]; then
        [[ -x $HVMM_BIN_B ]] || { echo "bench/tx-pairs.sh: HVMM_BIN_B $HVMM_BIN_B is not executable" >&2; exit 1; }
        local b
        b=$(cd "$(dirname "$HVMM_BIN_B")" && pwd)/$(basename "$HVMM_BIN_B")
        carry=(--with "$b")
        others=("hvmm-b-$config:hvmm:$config:$b")
        echo "A/B: $hvmm (hvmm-$config) against $b (hvmm-b-$config)"
    fi
    for ((i = 0; i < pairs; i++)); do specs+=("hvmm-$config:hvmm:$config" "${others[@]}"); done
    RAW=$(mktemp -d)
    trap 'rm -rf "$RAW"' EXIT
    echo "bench/tx-pairs.sh $pairs $secs $config (hvmm $hvmm, repo at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown); host load $(cut -d' ' -f1-3 /proc/loadavg))"
    run_lab_retrying_once bench/tx-pairs.sh "$RAW" "$REPO/lab/run.sh" --hvmm "$hvmm" "${carry[@]}" \
        --timeout 3000 --out "$RAW" exec "$REPO/bench/tx-pairs-lab.sh" "$secs" "${specs[@]}"
    status=$LAB_STATUS
    [[ -s $RAW/tx-pairs.txt ]] || { echo "bench/tx-pairs.sh: the lab returned nothing (status $status)" >&2; exit 1; }
    if [[ -n ${BENCH_KEEP_RAW:-} ]]; then mkdir -p "$BENCH_KEEP_RAW" && cp -a "$RAW/." "$BENCH_KEEP_RAW/"; fi
    if [[ -n $LAB_RETRY ]]; then
        echo "The lab lost the first run ($LAB_RETRY); these figures are from the one retry."
    fi
    python3 "$REPO/bench/tx_pairs_report.py" "$RAW/tx-pairs.txt"
    exit "$status"
}

main "$@"
