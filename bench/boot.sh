#!/bin/bash
# Boot-time benchmark: hvmm (with its sandbox, and with --sandbox off to price it) against QEMU 7.2
# and QEMU 10 (-enable-kvm), inside one lab boot, same kernel,
# initramfs and command line; REPS boots each, medians. Prints the figures and writes
# bench/results/boot.json and bench/results/boot.md. Not a test: it asserts nothing about speed.
#
# usage: bench/boot.sh [REPS]     (default 5)
# env:   HVMM_BIN (default build-lab/hvmm), BENCH_VMMS (default "hvmm hvmm-nosandbox qemu-7.2 qemu-10"),
#        BENCH_RESULTS (default bench/results)
# A lab that ends with 124 or 125 is run once more (bench/lab_retry.sh), recorded as lab_retry.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$REPO/bench/lab_retry.sh"
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ALL_VMMS="hvmm hvmm-nosandbox qemu-7.2 qemu-10"

# median_of VMM FIELD: the median of column FIELD over the successful boots of VMM (status 0).
median_of() {
    awk -v vmm="$1" -v f="$2" '$1 == vmm && $3 == 0 && $f != "-" { print $f }' "$RAW/boot-runs.txt" |
        sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2];
                                            else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

runs_of() { # runs_of VMM FIELD: JSON array of that column (null where missing or failed)
    awk -v vmm="$1" -v f="$2" '$1 == vmm { printf "%s%s", sep, ($3 == 0 && $f != "-") ? $f : "null"; sep = ", " }' \
        "$RAW/boot-runs.txt"
}

ok_count() { awk -v vmm="$1" '$1 == vmm && $3 == 0' "$RAW/boot-runs.txt" | wc -l; }

env_value() { sed -n "s/^$1 //p" "$RAW/boot-env.txt"; }

write_results() {
    local reps=$1 vmm
    {
        echo "{"
        echo "  \"benchmark\": \"boot\","
        echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
        echo "  \"where\": \"inside the lab (QEMU TCG, EPYC with SVM, $(env_value lab_cpus) CPUs, $(env_value lab_emulator)), nested KVM; timestamps taken in the lab\","
        echo "  \"guest_kernel\": \"$(env_value guest_kernel)\","
        echo "  \"lab_kernel\": \"$(env_value lab_kernel)\","
        echo "  \"qemu\": \"$(env_value qemu)\","
        echo "  \"qemu10\": \"$(env_value qemu10)\","
        echo "  \"append\": \"$(env_value append)\","
        echo "  \"reps\": $reps,"
        echo "  \"host_loadavg_before\": \"$LOAD_BEFORE\","
        echo "  \"lab_retry\": $(json_string_or_null "$LAB_RETRY"),"
        echo "  \"vmms\": {"
        for vmm in $ALL_VMMS; do
            echo "    \"$vmm\": {"
            echo "      \"measured\": $([[ " $VMMS " == *" $vmm "* ]] && echo true || echo false),"
            echo "      \"successful_boots\": $(ok_count "$vmm"),"
            echo "      \"to_init_marker_s\": { \"median\": $(median_of "$vmm" 4), \"runs\": [$(runs_of "$vmm" 4)] },"
            echo "      \"to_exit_s\": { \"median\": $(median_of "$vmm" 5), \"runs\": [$(runs_of "$vmm" 5)] }"
            [[ $vmm == "${ALL_VMMS##* }" ]] && echo "    }" || echo "    },"
        done
        echo "  }"
        echo "}"
    } >"$RESULTS/boot.json"
    {
        echo "# Boot time: hvmm vs QEMU 7.2 and QEMU 10"
        echo
        echo "Inside one lab boot (QEMU TCG with SVM, $(env_value lab_cpus) lab CPUs, $(env_value lab_emulator), nested KVM), $(date -u +%Y-%m-%d), $reps boots each,"
        echo "medians over successful boots. Guest: the default image, kernel $(env_value guest_kernel), 256 MiB, 1 vCPU,"
        echo "append \`$(env_value append)\`. From starting the VMM to the guest /init's marker line, and to the"
        echo "VMM's exit after the guest powers off. QEMU's figure includes SeaBIOS; hvmm boots the kernel directly."
        echo "Host load average before the run: $LOAD_BEFORE (the lab is TCG: other work on the 2 cores slows every figure)."
        if [[ -n $LAB_RETRY ]]; then
            echo "The lab lost the first run ($LAB_RETRY); these figures are from the one retry."
        fi
        echo
        echo "| VMM | boots ok | to /init marker (s) | to exit (s) |"
        echo "|---|---|---|---|"
        for vmm in $ALL_VMMS; do
            echo "| $vmm | $(ok_count "$vmm")/$reps | $(median_of "$vmm" 4) | $(median_of "$vmm" 5) |"
        done
        echo
        echo "Raw (VMM, rep, exit status, to marker, to exit):"
        echo
        echo '```'
        cat "$RAW/boot-runs.txt"
        echo '```'
    } >"$RESULTS/boot.md"
}

main() {
    local reps=${1:-5} hvmm=${HVMM_BIN:-$REPO/build-lab/hvmm} vmms=${BENCH_VMMS:-$ALL_VMMS}
    local -a carry=()
    # hvmm-nosandbox is the same binary run with --sandbox off: it needs it carried in too.
    if [[ " $vmms " == *" hvmm "* || " $vmms " == *" hvmm-nosandbox "* ]]; then
        [[ -x $hvmm ]] || { echo "bench/boot.sh: no hvmm binary at $hvmm (build it, or set HVMM_BIN)" >&2; exit 1; }
        carry=(--hvmm "$hvmm")
    fi
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    RAW=$(mktemp -d)
    trap 'rm -rf "$RAW"' EXIT
    run_lab_retrying_once bench/boot.sh "$RAW" "$REPO/lab/run.sh" "${carry[@]}" --out "$RAW" \
        exec "$REPO/bench/boot-lab.sh" "$reps" "$vmms"
    [[ $LAB_STATUS == 0 ]] || exit "$LAB_STATUS"
    [[ -s $RAW/boot-runs.txt ]] || { echo "bench/boot.sh: the lab returned no measurements" >&2; exit 1; }
    mkdir -p "$RESULTS"
    VMMS=$vmms
    write_results "$reps"
    cat "$RESULTS/boot.md"
}

main "$@"
