#!/bin/bash
# `hvmm bench paper`: the paper's throughput figure (Sugerman et al., USENIX ATC 2001, the
# emulated NIC with and without its three optimizations) regenerated for hvmm's PCnet, in ONE lab
# boot: hvmm with each NIC optimization config (--nic-opt=baseline, ports, combine, notify,
# paper = the three together, all = paper plus the past-the-paper ones) and QEMU 7.2's
# `-device pcnet` and `-device e1000` as anchors, and QEMU 10's, with virtio-net (with and without
# vhost) and user-mode networking beside them for the lab's dynamic range; guest 1 vCPU, 256 MiB, a TAP to the lab,
# iperf3 guest TX then RX, SECS each (bench/paper-lab.sh does the runs). In the baseline, paper and all
# configs the guest also runs `iotime` (per-OUT cost probe) if the image has it.
# Writes bench/results/paper.json, paper.md (the table, a cost table, the raw data) and paper.svg
# (the throughput plot, drawn here on the host by bench/paper_report.py). Not a test: it asserts
# nothing about speed.
#
# usage: bench/paper.sh [SECS]          (default 10)
# env:   HVMM_BIN        hvmm binary (default build-bench/hvmm, else build/hvmm)
#        BENCH_CONFIGS   hvmm configs (default "baseline ports combine notify paper all virtio
#                        vhost": the --nic-opt configs on the PCnet, then the paper's future work,
#                        hvmm's virtio-net without and with vhost-net; a comma list such as
#                        ports,combine is one config; "" runs no hvmm). Suffixes, combinable:
#                        -preempt / -batch (--io-sched normal / batch), -nosandbox, -nogso (the
#                        guest's TSO and GSO off: every frame the NIC sees is a wire packet),
#                        -rxcoalU / -coalU (the guest's ethtool -C on its virtio NIC)
#        BENCH_ANCHORS   QEMU anchors (default: pcnet, e1000, virtio-net, virtio-net + vhost and
#                        pcnet on -netdev user, each on QEMU 7.2 and on QEMU 10; names in
#                        bench/paper-lab.sh; -nogso as for configs, e.g. qemu72-virtio-nogso)
#        BENCH_RESULTS   output directory (default bench/results)
#        BENCH_HVMM_REV  what the hvmm binary was built from, recorded in paper.md/json
#        BENCH_KEEP_RAW  a directory to keep the lab's raw output in (consoles, per-run stats)
# status: 0 all measured; 1 a config failed (its row says "failed (status N)", the rest are
#         still written); 3 none failed but some configs were not available (hvmm without
#         --nic-opt); the lab's own statuses (124, 125) when it returned nothing. A lab that
#         ends with 124 or 125 is run once more (bench/lab_retry.sh), recorded as lab_retry.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEFAULT_CONFIGS="baseline ports combine notify paper all virtio vhost"
# Both QEMUs with every NIC the lab's dynamic range and the anchors need (bench/paper-lab.sh).
DEFAULT_ANCHORS="qemu72-pcnet qemu72-e1000 qemu72-virtio qemu72-vhost qemu72-user-pcnet qemu10-pcnet qemu10-e1000 qemu10-virtio qemu10-vhost qemu10-user-pcnet"
source "$REPO/scripts/lib.sh"
source "$REPO/bench/lab_retry.sh"

main() {
    local secs=${1:-10} hvmm=${HVMM_BIN:-} status=0 report_status=0
    local configs=${BENCH_CONFIGS-$DEFAULT_CONFIGS} anchors=${BENCH_ANCHORS-$DEFAULT_ANCHORS}
    local results=${BENCH_RESULTS:-$REPO/bench/results}
    [[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || { echo "usage: bench/paper.sh [SECS]" >&2; exit 2; }
    if [[ -z $hvmm ]]; then
        hvmm=$REPO/build-bench/hvmm
        [[ -x $hvmm ]] || hvmm=$REPO/build/hvmm
    fi
    # The report draws its plot with Debian's matplotlib.
    install_packages python3 python3-matplotlib
    local -a carry=()
    if [[ -n $configs ]]; then
        [[ -x $hvmm ]] || { echo "bench/paper.sh: no hvmm binary at $hvmm (build it, or set HVMM_BIN)" >&2; exit 1; }
        carry=(--hvmm "$hvmm")
        if ! grep -q -- '--nic-opt' <<<"$("$hvmm" run --help 2>&1)"; then
            echo "bench/paper.sh: $hvmm has no --nic-opt: configs [$configs] will be recorded as not available; hvmm runs once as 'default'" >&2
        fi
    fi
    local command="bench/paper.sh $secs"
    [[ $configs != "$DEFAULT_CONFIGS" ]] && command="BENCH_CONFIGS=\"$configs\" $command"
    [[ $anchors != "$DEFAULT_ANCHORS" ]] && command="BENCH_ANCHORS=\"$anchors\" $command"
    # The exact line: the environment that changes what runs or what is recorded goes in too.
    local var
    for var in BENCH_KEEP_RAW BENCH_HVMM_REV HVMM_BIN; do
        [[ -n ${!var:-} ]] && command="$var=\"${!var}\" $command"
    done
    local head
    head=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    RAW=$(mktemp -d)
    trap 'rm -rf "$RAW"' EXIT
    local load_before load_after start end
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    start=$(date +%s)
    run_lab_retrying_once bench/paper.sh "$RAW" "$REPO/lab/run.sh" "${carry[@]}" --timeout 3000 \
        --out "$RAW" exec "$REPO/bench/paper-lab.sh" "$secs" "$configs" "$anchors"
    status=$LAB_STATUS
    end=$(date +%s)
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    if [[ ! -s $RAW/paper-runs.txt ]]; then
        echo "bench/paper.sh: the lab returned no measurements (lab status $status)" >&2
        exit $((status ? status : 1))
    fi
    if [[ -n ${BENCH_KEEP_RAW:-} ]]; then mkdir -p "$BENCH_KEEP_RAW" && cp -a "$RAW/." "$BENCH_KEEP_RAW/"; fi
    mkdir -p "$results"
    # The report draws the plot with matplotlib: use a python3 that has it (Debian's, when the
    # one first on PATH is a pyenv build without it); the tables are written either way.
    local py=python3 cand
    for cand in python3 /usr/bin/python3; do
        if command -v "$cand" >/dev/null && "$cand" -c 'import matplotlib' 2>/dev/null; then py=$cand; break; fi
    done
    "$py" "$REPO/bench/paper_report.py" --raw "$RAW" --out "$results" --command "$command" \
        --hvmm "$hvmm" --hvmm-rev "${BENCH_HVMM_REV:-}" --repo-head "$head" --load-before "$load_before" --load-after "$load_after" \
        --wall-seconds $((end - start)) --lab-status "$status" --lab-retry "$LAB_RETRY" || report_status=$?
    cat "$results/paper.md"
    if [[ $status -ne 0 ]]; then
        echo "bench/paper.sh: the lab script ended with status $status" >&2
        exit 1
    fi
    exit "$report_status"
}

main "$@"
