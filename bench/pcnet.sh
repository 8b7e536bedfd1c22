#!/bin/bash
# PCnet NIC benchmark: hvmm's Am79C970A against QEMU 7.2's `-device pcnet`, both inside one lab
# boot (nested KVM), same guest kernel, initramfs and command, 1 vCPU, 256 MiB, a TAP to the lab.
# iperf3 guest TX then RX, SECS each; KVM exits and interrupt injections from the lab's debugfs
# and the TAP's packet counters, differenced between the guest's marker lines around each phase
# (bench/pcnet-lab.sh). Prints the table and writes bench/results/pcnet.json and pcnet.md.
# Not a test: it asserts nothing about speed.
#
# usage: bench/pcnet.sh [SECS]     (default 10, as shared/tools/anchor-lab.sh)
# env:   HVMM_BIN (default build-nic/hvmm), BENCH_VMMS (default "hvmm qemu-7.2")
# A lab that ends with 124 or 125 is run once more (bench/lab_retry.sh), recorded as lab_retry.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$REPO/bench/lab_retry.sh"
RESULTS=$REPO/bench/results

env_value() { sed -n "s/^$1 //p" "$RAW/pcnet-env.txt"; }

# mark_value VMM MARK KEY: a counter from the snapshot taken at the guest's marker.
mark_value() {
    awk -v vmm="$1" -v mark="$2" -v key="$3" '$1 == vmm && $2 == "mark" && $3 == mark {
        for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) { print kv[2]; exit } } }' \
        "$RAW/pcnet-runs.txt"
}

# delta VMM PHASE KEY: KEY at PHASE's end minus at its start (phase tx or rx), or null.
delta() {
    local a b
    a=$(mark_value "$1" "${2}0" "$3")
    b=$(mark_value "$1" "${2}1" "$3")
    if [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]]; then echo $((b - a)); else echo null; fi
}

# ratio A B: A/B to two decimals, or null.
ratio() {
    if [[ $1 == null || $2 == null || $2 == 0 ]]; then echo null; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi
}

# mbps VMM TX|RX: the receiver's rate from iperf3's summary, or null.
mbps() {
    local rate
    rate=$(awk -v vmm="$1" -v dir="$2" '$1 == vmm && $2 == dir && /receiver/' "$RAW/pcnet-runs.txt" |
        sed -n 's/.* \([0-9.]*\) Mbits\/sec.*/\1/p' | head -n1)
    echo "${rate:-null}"
}

status_of() { awk -v vmm="$1" '$1 == vmm && $2 == "status" { print $3 }' "$RAW/pcnet-runs.txt" | head -n1; }

# Per VMM, into shell variables: the figures of one row.
figures() {
    local vmm=$1
    TX_MBPS=$(mbps "$vmm" TX)
    RX_MBPS=$(mbps "$vmm" RX)
    # During TX the guest's frames are the TAP's rx; during RX the lab's frames are its tx.
    TX_PKTS=$(delta "$vmm" tx tap_rx)
    RX_PKTS=$(delta "$vmm" rx tap_tx)
    TX_EXITS=$(delta "$vmm" tx exits)
    TX_IO=$(delta "$vmm" tx io_exits)
    TX_IRQ=$(delta "$vmm" tx irq_injections)
    RX_EXITS=$(delta "$vmm" rx exits)
    RX_IO=$(delta "$vmm" rx io_exits)
    RX_IRQ=$(delta "$vmm" rx irq_injections)
}

write_json() {
    local vmm sep=""
    {
        echo "{"
        echo "  \"benchmark\": \"pcnet\","
        echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
        echo "  \"command\": \"$COMMAND\","
        echo "  \"where\": \"inside the lab (QEMU TCG, EPYC with SVM, 2 vCPUs), nested KVM; guest 1 vCPU, 256 MiB; TAP to the lab\","
        echo "  \"guest_kernel\": \"$(env_value guest_kernel)\","
        echo "  \"lab_kernel\": \"$(env_value lab_kernel)\","
        echo "  \"qemu\": \"$(env_value qemu)\","
        echo "  \"iperf3_seconds\": $(env_value secs),"
        echo "  \"host_load_before\": \"$LOAD_BEFORE\", \"host_load_after\": \"$LOAD_AFTER\","
        echo "  \"lab_retry\": $(json_string_or_null "$LAB_RETRY"),"
        echo "  \"vmms\": {"
        for vmm in hvmm qemu-7.2; do
            figures "$vmm"
            echo "$sep    \"$vmm\": {"
            echo "      \"exit_status\": \"$(status_of "$vmm")\","
            echo "      \"tx_mbit_s\": $TX_MBPS, \"rx_mbit_s\": $RX_MBPS,"
            echo "      \"tx_phase\": { \"guest_packets\": $TX_PKTS, \"kvm_exits\": $TX_EXITS, \"io_exits\": $TX_IO, \"irq_injections\": $TX_IRQ,"
            echo "                    \"exits_per_packet\": $(ratio "$TX_EXITS" "$TX_PKTS"), \"io_exits_per_packet\": $(ratio "$TX_IO" "$TX_PKTS"), \"interrupts_per_packet\": $(ratio "$TX_IRQ" "$TX_PKTS") },"
            echo "      \"rx_phase\": { \"guest_packets\": $RX_PKTS, \"kvm_exits\": $RX_EXITS, \"io_exits\": $RX_IO, \"irq_injections\": $RX_IRQ,"
            echo "                    \"exits_per_packet\": $(ratio "$RX_EXITS" "$RX_PKTS"), \"io_exits_per_packet\": $(ratio "$RX_IO" "$RX_PKTS"), \"interrupts_per_packet\": $(ratio "$RX_IRQ" "$RX_PKTS") }"
            printf "    }"
            sep=$',\n'
        done
        echo
        echo "  },"
        if [[ -s $RAW/hvmm-stats.json ]]; then
            echo "  \"hvmm_stats_json\": $(sed 's/^/  /' "$RAW/hvmm-stats.json" | sed '1s/^  //'),"
        else
            echo "  \"hvmm_stats_json\": null,"
        fi
        echo "  \"raw\": ["
        sed 's/\\/\\\\/g; s/"/\\"/g; s/^/    "/; s/$/",/' "$RAW/pcnet-runs.txt" | sed '$ s/,$//'
        echo "  ]"
        echo "}"
    } >"$RESULTS/pcnet.json"
}

write_md() {
    local vmm
    {
        echo "# PCnet (Am79C970A): hvmm vs QEMU 7.2"
        echo
        echo "Inside one lab boot (QEMU TCG with SVM, nested KVM), $(date -u +%Y-%m-%d). Guest: the default image,"
        echo "kernel $(env_value guest_kernel), stock pcnet32, 1 vCPU, 256 MiB; a TAP to the lab, iperf3 server in the"
        echo "lab; guest TX then RX, $(env_value secs) s each (Mbit/s: iperf3's receiver figure). Exits and interrupt"
        echo "injections: the lab's KVM debugfs totals, differenced between the guest's marker lines around the"
        echo "TX phase, per frame the guest sent (the TAP's rx_packets over the same interval)."
        echo
        echo "Command: \`$COMMAND\`"
        echo
        echo "Host load average (1/5/15 min) before and after: $LOAD_BEFORE / $LOAD_AFTER (2 cores; figures"
        echo "drop when other labs share them)."
        if [[ -n $LAB_RETRY ]]; then
            echo
            echo "The lab lost the first run ($LAB_RETRY); these figures are from the one retry."
        fi
        echo
        echo "| VMM | TX Mbit/s | RX Mbit/s | exits per TX packet | interrupts per TX packet |"
        echo "|---|---|---|---|---|"
        for vmm in hvmm qemu-7.2; do
            figures "$vmm"
            echo "| $vmm | $TX_MBPS | $RX_MBPS | $(ratio "$TX_EXITS" "$TX_PKTS") | $(ratio "$TX_IRQ" "$TX_PKTS") |"
        done
        echo
        echo "More per phase (io exits, RX-side ratios) and hvmm's --stats-json are in pcnet.json."
        echo "Anchor for comparison (shared/LAB.md, QEMU 7.2 pcnet, another lab boot): TX 17-18, RX 77-80 Mbit/s,"
        echo "3.6 exits per TX packet. Runs vary by some percent; compare only figures from one lab boot."
        echo
        echo "Raw (counter snapshots at the guest's markers, iperf3 summaries, exit statuses):"
        echo
        echo '```'
        cat "$RAW/pcnet-runs.txt"
        echo '```'
    } >"$RESULTS/pcnet.md"
}

main() {
    local secs=${1:-10} hvmm=${HVMM_BIN:-$REPO/build-nic/hvmm} vmms=${BENCH_VMMS:-hvmm qemu-7.2}
    local -a carry=()
    if [[ " $vmms " == *" hvmm "* ]]; then
        [[ -x $hvmm ]] || { echo "bench/pcnet.sh: no hvmm binary at $hvmm (build it, or set HVMM_BIN)" >&2; exit 1; }
        carry=(--hvmm "$hvmm")
    fi
    COMMAND="bench/pcnet.sh $secs"
    RAW=$(mktemp -d)
    trap 'rm -rf "$RAW"' EXIT
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    run_lab_retrying_once bench/pcnet.sh "$RAW" "$REPO/lab/run.sh" "${carry[@]}" --timeout 1500 \
        --out "$RAW" exec "$REPO/bench/pcnet-lab.sh" "$secs" "$vmms"
    [[ $LAB_STATUS == 0 ]] || exit "$LAB_STATUS"
    LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
    [[ -s $RAW/pcnet-runs.txt ]] || { echo "bench/pcnet.sh: the lab returned no measurements" >&2; exit 1; }
    mkdir -p "$RESULTS"
    write_json
    write_md
    cat "$RESULTS/pcnet.md"
}

main "$@"
