# Sourced by the lab test fixtures: runs one lab boot and records how the LAB itself ended, so a
# check whose verdict is missing says whether the lab failed (its own statuses: 124 timed out,
# 125 crashed / QEMU error / no status) or the run inside it did not get there. A lab boot lost
# to anything else is a failure, reported as the lab's; one kind is booted once more: a lab that
# STALLED (QEMU's TCG left its CPU halted for good and the watchdog's NMI did not wake it,
# lab/README.md "Stability"). Nothing hvmm does inside the lab can halt the lab's CPU with its
# interrupts lost, so the second boot's verdict is the check's; the retry is said on stderr and
# kept in lab-status. A lab that stopped and was WOKEN by the watchdog ran on, but every clock in
# it jumped by the time it stood still (a guest's ping deadline of 20 s ran out inside one frozen
# 28 s, CI 2026-12-02): when such a boot left a failing verdict it is booted once more too, its
# first verdicts kept in RESULTS_DIR/woken-boot/ as evidence.

LAB_TIMED_OUT=124
LAB_FAILED=125

# run_lab_fixture RESULTS_DIR LAB_RUN_ARG...: lab/run.sh with those arguments; writes
# RESULTS_DIR/lab-status ("STATUS" and lab/run.sh's last message) and returns its status.
run_lab_fixture() {
    local results=$1 status=0 here retried=""
    shift
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    # HVMM_LAB_RUNNER: another runner in lab/run.sh's place (tests/lab/lab_fixture_test.sh's stub).
    run_lab_boot "$results" "$here" "$@" || status=$?
    if [[ $status == "$LAB_FAILED" ]] && grep -q '^hvmm lab: the lab stalled' "$results/lab-stderr"; then
        retried=$(grep '^hvmm lab: the lab stalled' "$results/lab-stderr" | tail -n 1)
        echo "lab fixture: the lab stalled (QEMU's, not hvmm's); booting it once more" >&2
    elif grep -q '^hvmm lab: warning: the lab stopped' "$results/lab-stderr" && has_failing_verdict "$results"; then
        retried=$(grep '^hvmm lab: warning: the lab stopped' "$results/lab-stderr" | tail -n 1)
        echo "lab fixture: the lab stood still and was woken, and a check failed on its frozen clocks; booting it once more" >&2
        set_aside_verdicts "$results"
    fi
    if [[ -n $retried ]]; then
        status=0
        run_lab_boot "$results" "$here" "$@" || status=$?
    fi
    {
        echo "$status"
        # No such line is the usual case (the lab ended on its own terms): not an error.
        grep '^hvmm lab: ' "$results/lab-stderr" | tail -n 1 || true
        [[ -z $retried ]] || echo "retried once after: ${retried#hvmm lab: }"
    } >"$results/lab-status"
    return "$status"
}

# run_lab_boot RESULTS_DIR FIXTURE_DIR LAB_RUN_ARG...: one boot, its stderr shown and kept in
# RESULTS_DIR/lab-stderr; returns the runner's status. A pipeline, not `2> >(tee ...)`: bash's
# `wait` does not reliably wait for a process substitution, and under load the file was read
# before tee had even truncated it, so a stalled lab went unretried (lab_fixture_test, 12 of 90
# runs on a loaded host). A pipeline's members are all waited for.
run_lab_boot() {
    local results=$1 here=$2 status_file
    shift 2
    status_file=$results/.lab-runner-status
    # stdout goes straight to fd 3 (the caller's stdout); only stderr flows through tee.
    {
        { "${HVMM_LAB_RUNNER:-$here/../../lab/run.sh}" "$@" 2>&1 >&3 3>&- && echo 0 >"$status_file" \
            || echo $? >"$status_file"; } | tee "$results/lab-stderr" >&2 3>&-
    } 3>&1
    local status
    status=$(cat "$status_file")
    rm -f "$status_file"
    return "$status"
}

# has_failing_verdict RESULTS_DIR: a check recorded FAIL, or a gtest report holds a failure.
has_failing_verdict() {
    local dir=$1 f
    for f in "$dir"/*.result; do
        [[ -f $f && $(head -c 4 "$f") == FAIL ]] && return 0
    done
    grep -qs '<failure' "$dir"/*.xml
}

# set_aside_verdicts RESULTS_DIR: everything the first boot left (but its stderr, rewritten by the
# next) moves to RESULTS_DIR/woken-boot/, so no verdict of the frozen boot can stand for the next.
set_aside_verdicts() {
    local dir=$1 f
    rm -rf "$dir/woken-boot"
    mkdir -p "$dir/woken-boot"
    for f in "$dir"/* "$dir"/.[!.]*; do
        [[ -e $f && $f != "$dir/woken-boot" && $f != "$dir/lab-stderr" ]] && mv "$f" "$dir/woken-boot/"
    done
    cp "$dir/lab-stderr" "$dir/woken-boot/"
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
