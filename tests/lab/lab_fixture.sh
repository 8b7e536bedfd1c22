# Sourced by the lab test fixtures: runs one lab boot and records how the LAB itself ended, so a
# check whose verdict is missing says whether the lab failed (its own statuses: 124 timed out,
# 125 crashed / QEMU error / no status) or the run inside it did not get there. A lab boot lost
# to anything else is a failure, reported as the lab's; one kind is booted once more: a lab that
# STALLED (QEMU's TCG left its CPU halted for good and the watchdog's NMI did not wake it,
# lab/README.md "Stability"). Nothing hvmm does inside the lab can halt the lab's CPU with its
# interrupts lost, so the second boot's verdict is the check's; the retry is said on stderr and
# kept in lab-status.

LAB_TIMED_OUT=124
LAB_FAILED=125

# run_lab_fixture RESULTS_DIR LAB_RUN_ARG...: lab/run.sh with those arguments; writes
# RESULTS_DIR/lab-status ("STATUS" and lab/run.sh's last message) and returns its status.
run_lab_fixture() {
    local results=$1 status=0 here retried=""
    shift
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    # HVMM_LAB_RUNNER: another runner in lab/run.sh's place (tests/lab/lab_fixture_test.sh's stub).
    "${HVMM_LAB_RUNNER:-$here/../../lab/run.sh}" "$@" 2> >(tee "$results/lab-stderr" >&2) || status=$?
    wait  # tee's output is complete before it is read
    if [[ $status == "$LAB_FAILED" ]] && grep -q '^hvmm lab: the lab stalled' "$results/lab-stderr"; then
        retried=$(grep '^hvmm lab: the lab stalled' "$results/lab-stderr" | tail -n 1)
        echo "lab fixture: the lab stalled (QEMU's, not hvmm's); booting it once more" >&2
        status=0
        "${HVMM_LAB_RUNNER:-$here/../../lab/run.sh}" "$@" 2> >(tee "$results/lab-stderr" >&2) || status=$?
        wait
    fi
    {
        echo "$status"
        # No such line is the usual case (the lab ended on its own terms): not an error.
        grep '^hvmm lab: ' "$results/lab-stderr" | tail -n 1 || true
        [[ -z $retried ]] || echo "retried once after: ${retried#hvmm lab: }"
    } >"$results/lab-status"
    return "$status"
}

# lab_failure_message RESULTS_DIR: one line naming the lab's own failure, empty when the lab ended
# on its own terms (whatever the command inside it returned).
lab_failure_message() {
    local file=$1/lab-status status detail
    [[ -f $file ]] || { echo "the lab fixture did not run (no $file)"; return; }
    status=$(head -n 1 "$file")
    detail=$(sed -n 2p "$file")
    case $status in
        "$LAB_TIMED_OUT") echo "the LAB timed out (status 124${detail:+: $detail}), not an hvmm result" ;;
        "$LAB_FAILED") echo "the LAB failed (status 125${detail:+: $detail}), not an hvmm result" ;;
    esac
}
