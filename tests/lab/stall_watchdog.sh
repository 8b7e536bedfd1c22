#!/bin/bash
# lab/run.sh's stall watchdog on a real lab: a lab whose heartbeat stops for WAKE seconds gets its
# CPU state recorded and an NMI (the lab kernel logs it), goes on when it beats again, and the run
# keeps its command's status with one warning naming the evidence; a lab that never beats again is
# ended as the lab's failure (125) at STALL seconds, not at the time limit. The silence is made
# by stopping lab/init's heartbeat loop (its PID in /lab/beat-pid) from the script run in the lab.
#
# usage: tests/lab/stall_watchdog.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failures=0
tmp=$(mktemp -d)
evidence=()
trap 'rm -rf "$tmp" "${evidence[@]}"' EXIT

check() { # check DESCRIPTION CONDITION...
    local what=$1; shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

# evidence_of FILE: the directory named by "(evidence in DIR)" in a lab/run.sh message.
evidence_of() { sed -n 's/.*(evidence in \([^)]*\)).*/\1/p' "$1" | tail -n 1; }

# The beats stop for 30 s, the watchdog acts at 10 s; the script then exits 7.
cat >"$tmp/pause.sh" <<'SCRIPT'
#!/bin/bash
kill -STOP "$(cat /lab/beat-pid)"; sleep 30; kill -CONT "$(cat /lab/beat-pid)"; sleep 12; exit 7
SCRIPT
status=0
HVMM_LAB_WAKE=10 HVMM_LAB_STALL=120 HVMM_LAB_LOG=$tmp/console.log HVMM_LAB_TIMEOUT=600 \
    "$here/../../lab/run.sh" exec "$tmp/pause.sh" </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
cat "$tmp/err"
dir=$(evidence_of "$tmp/err")
[[ -n $dir ]] && evidence+=("$dir")
check "a lab woken by the NMI keeps its command's status (7, got $status)" test "$status" = 7
check "one warning says the lab stopped once and was woken" grep -q "warning: the lab stopped 1 time(s).*an NMI and a key press woke it" "$tmp/err"
check "the evidence holds the lab CPU's registers and local APIC" \
    grep -q "^== info lapic" "${dir:-/nonexistent}/stall-1/cpu-state.txt"
check "the evidence records the NMI sent" grep -q "^== inject-nmi: done" "${dir:-/nonexistent}/stall-1/cpu-state.txt"
check "the lab kernel received the NMI" grep -q "NMI received" "$tmp/console.log"

# The beats stop for good: the run ends as the lab's failure at STALL (30 s), far from its time limit.
cat >"$tmp/silence.sh" <<'SCRIPT'
#!/bin/bash
kill -STOP "$(cat /lab/beat-pid)"; sleep 500; exit 0
SCRIPT
status=0
start=$SECONDS
HVMM_LAB_WAKE=10 HVMM_LAB_STALL=30 HVMM_LAB_TIMEOUT=400 \
    "$here/../../lab/run.sh" exec "$tmp/silence.sh" </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
took=$((SECONDS - start))
cat "$tmp/err"
dir=$(evidence_of "$tmp/err")
[[ -n $dir ]] && evidence+=("$dir")
check "a lab that never beats again is the lab's failure (125, got $status)" test "$status" = 125
check "said as a stall" grep -q "^hvmm lab: the lab stalled: no heartbeat from inside it for 30s" "$tmp/err"
check "ended at the stall limit, not the time limit (${took} s)" test "$took" -lt 300
check "its evidence kept the final CPU state" grep -q "^== info registers" "${dir:-/nonexistent}/stall-final/cpu-state.txt"

[[ $failures == 0 ]] && echo "PASS: the stall watchdog wakes a stopped lab and ends a dead one"
[[ $failures == 0 ]]
