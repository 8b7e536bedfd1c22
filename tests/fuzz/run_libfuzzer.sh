#!/bin/bash
# Runs the libFuzzer build's targets (cmake -DHVMM_LIBFUZZER=ON with clang, ASan and UBSan) each
# for a bounded time over its checked-in corpus, tests/fuzz/corpus/NAME, and prints per target
# the executions per second and the coverage libFuzzer reached (cov: edges, ft: features, from
# its final stats). New inputs go to OUT/corpus/NAME, never into the checked-in corpus. A crash,
# leak, timeout or out-of-memory fails the run; libFuzzer's input for it is kept in
# OUT/crashes/NAME/, to be added to tests/fuzz/corpus/NAME/ as a regression input (the replay
# build runs every corpus file in the regular suite) once the bug is fixed.
#
# usage: tests/fuzz/run_libfuzzer.sh [--seconds N] [--out DIR] FUZZ_BUILD_DIR [NAME...]
#        tests/fuzz/run_libfuzzer.sh --table OUT    the table of the last run of each target in OUT
# NAME is a target without its fuzz_ prefix (pcnet for fuzz_pcnet); default: every target built.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    sed -n '/^# usage:/,/^# NAME/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

print_table() {
    local stats_dir=$1/stats
    printf '%-16s %10s %12s %8s %8s %7s  %s\n' target seconds exec/s cov ft corpus result
    local file
    for file in "$stats_dir"/*.tsv; do
        [[ -e $file ]] || continue
        # shellcheck disable=SC2046
        printf '%-16s %10s %12s %8s %8s %7s  %s\n' $(cat "$file")
    done
}

# run_target NAME: fuzzes one target; writes OUT/stats/NAME.tsv; returns 1 on a finding.
run_target() {
    local name=$1 binary=$build/fuzz_$1
    local seeds=$here/corpus/$name work=$out/corpus/$name crashes=$out/crashes/$name
    local log=$out/logs/$name.log
    [[ -x $binary ]] || { echo "FAIL: $binary is not built"; return 1; }
    [[ -d $seeds ]] || { echo "FAIL: $name has no seed corpus ($seeds)"; return 1; }
    mkdir -p "$work" "$crashes" "$out/logs" "$out/stats"
    rm -f "$crashes"/*
    local status=0
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: the host's memory is shared.
    "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$crashes/" "$work" "$seeds" >"$log" 2>&1 || status=$?
    local final runs exec_per_second cov ft corpus result
    final=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$final")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$final")
    exec_per_second=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    local artifact
    artifact=$(find "$crashes" -type f | head -1)
    if [[ $status -eq 0 && -z $artifact ]]; then
        result=ok
    else
        result="FOUND(status=$status)"
    fi
    echo "$name $seconds ${exec_per_second:-?} ${cov:-?} ${ft:-?} $corpus $result" >"$out/stats/$name.tsv"
    echo "$name: ${runs:-?} runs in ${seconds} s, ${exec_per_second:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $corpus; log $log"
    if [[ $result != ok ]]; then
        echo "FAIL: fuzz_$name found a problem (libFuzzer status $status); its report:"
        grep -E 'ERROR: |SUMMARY: |runtime error|fuzz_[a-z_0-9]+: |Test unit written' "$log" | head -20 || true
        if [[ -n $artifact ]]; then
            echo "the input is kept as $artifact: reproduce with $binary $artifact; once fixed, add it"
            echo "to $seeds/ as a regression input (the replay test fuzz_$name runs it every time)"
        fi
        return 1
    fi
}

main() {
    seconds=20
    out=
    if [[ ${1:-} == --table ]]; then
        [[ $# -eq 2 ]] || usage
        print_table "$2"
        return
    fi
    while [[ $# -gt 0 ]]; do
        case $1 in
            --seconds) seconds=$2; shift 2 ;;
            --out) out=$2; shift 2 ;;
            -h|--help) usage ;;
            -*) usage ;;
            *) break ;;
        esac
    done
    [[ $# -ge 1 ]] || usage
    build=$(cd "$1" && pwd)
    shift
    out=${out:-$build/libfuzzer-runs}
    local names=("$@") name failed=0
    if [[ ${#names[@]} -eq 0 ]]; then
        for name in "$build"/fuzz_*; do
            [[ -x $name && -f $name ]] && names+=("$(basename "${name#"$build"/fuzz_}")")
        done
    fi
    [[ ${#names[@]} -gt 0 ]] || { echo "FAIL: no fuzz_* binaries in $build"; exit 1; }
    for name in "${names[@]}"; do
        name=${name#fuzz_}
        run_target "$name" || failed=1
    done
    echo
    print_table "$out"
    return $failed
}

main "$@"
