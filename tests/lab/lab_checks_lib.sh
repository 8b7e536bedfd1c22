# Sourced by check scripts that run inside the lab: a check's verdict file, VMs started in the
# background with a bounded life, and waits on their consoles. Needs OUT (where verdicts go) and
# WORK (a scratch directory) set by the script.

# record NAME VERDICT MESSAGE [LOGFILE...]: $OUT/NAME.result, first line "PASS|FAIL MESSAGE", then
# the last lines of each log as evidence (tests/lab/check_result.sh reads it).
record() {
    local name=$1 verdict=$2 message=$3 f
    shift 3
    {
        echo "$verdict $message"
        for f in "$@"; do [[ -f $f ]] && { echo "--- $(basename "$f")"; tail -n 40 "$f"; }; done
    } >"$OUT/$name.result"
}

# start_bg NAME SECS COMMAND...: COMMAND in the background, killed after SECS, stdout in
# $WORK/NAME.out, stderr in $WORK/NAME.err and its status in $WORK/NAME.status once it ends.
start_bg() {
    local name=$1 secs=$2
    shift 2
    rm -f "$WORK/$name.status"
    (
        status=0
        timeout "$secs" "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" || status=$?
        if [[ $status == 124 ]]; then echo "(killed after ${secs}s)" >>"$WORK/$name.err"; fi
        echo "$status" >"$WORK/$name.status"
    ) &
}

# finish NAME: waits for a start_bg command (its own time limit bounds the wait); sets STATUS.
finish() {
    local name=$1
    while [[ ! -f $WORK/$name.status ]]; do sleep 0.2; done
    STATUS=$(cat "$WORK/$name.status")
}

console() { tr -d '\r' <"$WORK/$1.out" 2>/dev/null; }

# wait_for NAME PATTERN SECS: true once NAME's output shows PATTERN (grep -E); false after SECS or
# once it ended without it.
wait_for() {
    local name=$1 pattern=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        if grep -qE "$pattern" <<<"$(console "$name")"; then return 0; fi
        if [[ -f $WORK/$name.status ]]; then
            grep -qE "$pattern" <<<"$(console "$name")"
            return
        fi
        sleep 0.2
    done
    return 1
}

# guest_run_arg COMMAND: the default image's hvmm.run= value for a QEMU boot of it.
guest_run_arg() { printf %s "$1" | base64 -w0; }
