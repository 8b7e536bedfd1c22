# Sourced by the benchmarks in bench/: one lab run, retried once when the lab itself lost it.
#
# A benchmark is one long lab boot, and the lab (QEMU TCG emulating SVM on a shared host) now and
# then dies under it or hangs: lab/run.sh then ends with its own status, 124 (timed out) or 125
# (lab failed), and a "hvmm lab: <reason>" line on stderr. That costs the figures nothing but
# time, so a benchmark runs the lab once more and records that it did. The inner command's own
# statuses (a 125 from the script, with no such line) are not retried, and tests never retry: a
# lost lab there is a failure to see.

# run_lab_retrying_once NAME RAW_DIR COMMAND...: runs COMMAND (lab/run.sh ...), its stdout and
# stderr passing through as they come. If it ends with 124 or 125 and run.sh said why, NAME says
# so on stderr, RAW_DIR (the run's --out directory) is emptied of the lost run's leftovers, and
# COMMAND runs once more. Sets LAB_STATUS (the last run's status) and LAB_RETRY ("" or
# "status N: <reason>" of the lost run). Never fails itself (callers use set -e).
run_lab_retrying_once() {
    local name=$1 raw=$2 attempt reason errors
    shift 2
    LAB_RETRY=""
    errors=$(mktemp)
    for attempt in 1 2; do
        LAB_STATUS=0
        # stderr also into a file, for the reason; stdout untouched (fd 3).
        { "$@" 2>&1 1>&3 3>&- | tee "$errors" >&2 3>&-; LAB_STATUS=${PIPESTATUS[0]}; } 3>&1 || true
        reason=$(grep -a '^hvmm lab: ' "$errors" | tail -n1 | sed 's/^hvmm lab: //' || true)
        if [[ $attempt == 1 && ($LAB_STATUS == 124 || $LAB_STATUS == 125) && -n $reason ]]; then
            LAB_RETRY="status $LAB_STATUS: $reason"
            echo "$name: the lab lost this run ($LAB_RETRY); retrying once" >&2
            [[ -n $raw && -d $raw ]] && find "$raw" -mindepth 1 -delete
            continue
        fi
        break
    done
    rm -f "$errors"
    return 0
}

# json_string_or_null TEXT: TEXT as a JSON string (backslashes, quotes and control characters
# escaped), or null when it is empty; for the scripts that write their JSON by hand.
json_string_or_null() {
    if [[ -z $1 ]]; then
        echo null
        return 0
    fi
    local text=${1//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\t'/\\t}
    text=${text//$'\r'/}
    text=${text//$'\n'/\\n}
    printf '"%s"\n' "$text"
}
