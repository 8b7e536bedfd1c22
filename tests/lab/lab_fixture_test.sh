#!/bin/bash
# Host-side test of tests/lab/lab_fixture.sh with a stub in lab/run.sh's place: a check whose
# fixture lost the lab says it was the LAB (124 timed out, 125 failed) and fails; one whose lab
# ended normally but left no verdict says the run did not get there; a recorded PASS passes; a
# stalled lab, and only that failure, is booted once more; so is a lab the watchdog woke that left
# a failing verdict (its first verdicts set aside), and only then.
# (The real runner is exercised by every lab fixture.)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lab_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() { # expect DESCRIPTION PATTERN OUTPUT
    if grep -q -- "$2" <<<"$3"; then echo "ok: $1"; else echo "FAIL: $1: expected /$2/ in: $3"; failures=$((failures + 1)); fi
}

# stub STATUS MESSAGE: a runner that says MESSAGE on stderr as lab/run.sh does and exits STATUS.
stub() {
    printf '#!/bin/bash\necho "hvmm lab: %s" >&2\nexit %s\n' "$2" "$1" >"$work/runner"
    chmod +x "$work/runner"
}

# A lab that ends well says nothing on stderr: the fixture passes, under the callers' own
# `set -euo pipefail`, and records status 0.
printf '#!/bin/bash\necho "console output"\nexit 0\n' >"$work/quiet-runner"
chmod +x "$work/quiet-runner"
mkdir -p "$work/quiet"
# (A process of its own: inside an `if`, bash would ignore `set -e` in the function.)
if HVMM_LAB_RUNNER=$work/quiet-runner bash -c 'set -euo pipefail; source "$1"; run_lab_fixture "$2" exec nothing' \
    _ "$here/lab_fixture.sh" "$work/quiet" >/dev/null; then
    expect "a quiet lab that ends with 0 passes the fixture" "^0\$" "$(head -n 1 "$work/quiet/lab-status")"
    expect "and is no lab failure" "^\$" "$(lab_failure_message "$work/quiet")"
else
    echo "FAIL: a quiet lab that ended with 0 failed the fixture"; failures=$((failures + 1))
fi

for case in "124:timed out after 900s:the LAB timed out (status 124" \
            "125:the lab kernel panicked (stack guard page):the LAB failed (status 125" \
            "0:done:the run in the lab did not get to it"; do
    IFS=: read -r status message want <<<"$case"
    rm -rf "$work/results" && mkdir -p "$work/results"
    stub "$status" "$message"
    got=0
    HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/results" exec nothing 2>/dev/null || got=$?
    expect "runner status $status comes back" "^$status\$" "$got"
    out=$("$here/check_result.sh" "$work/results" some_check || true)
    expect "status $status: the check names the cause" "$want" "$out"
    if "$here/check_result.sh" "$work/results" some_check >/dev/null; then
        echo "FAIL: a missing verdict passed (status $status)"; failures=$((failures + 1))
    fi
done
expect "the lab's own message is kept" "stack guard page" "$(HVMM_LAB_RUNNER=$work/runner; stub 125 'the lab kernel panicked: stack guard page'; rm -rf "$work/r2"; mkdir -p "$work/r2"; HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/r2" x 2>/dev/null; lab_failure_message "$work/r2")"
# counting_stub FIRST_STATUS FIRST_MESSAGE THEN_STATUS THEN_MESSAGE: a runner whose first boot ends
# one way and every later one the other; it counts its boots in $work/boots.
counting_stub() {
    cat >"$work/runner" <<STUB
#!/bin/bash
n=\$(( \$(cat "$work/boots" 2>/dev/null || echo 0) + 1 )); echo \$n >"$work/boots"
if [[ \$n == 1 ]]; then echo "hvmm lab: $2" >&2; exit $1; fi
echo "hvmm lab: $4" >&2; exit $3
STUB
    chmod +x "$work/runner"
    rm -f "$work/boots"; rm -rf "$work/r3"; mkdir -p "$work/r3"
}
stalled="the lab stalled: no heartbeat from inside it for 150s, its CPU left halted"
counting_stub 125 "$stalled" 0 "warning: nothing"
got=0; HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/r3" exec nothing 2>/dev/null || got=$?
expect "a stalled lab is booted once more" "^2\$" "$(cat "$work/boots")"
expect "and the second boot's status is the fixture's" "^0\$" "$got"
expect "the retry is kept in lab-status" "retried once after: the lab stalled" "$(cat "$work/r3/lab-status")"
counting_stub 125 "$stalled" 125 "$stalled"
got=0; HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/r3" exec nothing 2>/dev/null || got=$?
expect "a lab that stalls twice is booted twice, no more" "^2\$" "$(cat "$work/boots")"
expect "and fails as the lab's failure" "the LAB failed (status 125: hvmm lab: the lab stalled" "$(lab_failure_message "$work/r3")"
counting_stub 125 "the lab kernel panicked: stack guard page" 0 "fine"
got=0; HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/r3" exec nothing 2>/dev/null || got=$?
expect "a lab that failed otherwise is not booted again" "^1\$" "$(cat "$work/boots")"
expect "and its failure stands" "^125\$" "$got"
# verdict_stub FIRST_VERDICT: a runner that, like a lab the watchdog woke, warns that it stopped and
# records FIRST_VERDICT for check "ping" in its first boot, PASS in every later one.
verdict_stub() {
    cat >"$work/runner" <<STUB
#!/bin/bash
n=\$(( \$(cat "$work/boots" 2>/dev/null || echo 0) + 1 )); echo \$n >"$work/boots"
if [[ \$n == 1 ]]; then
    echo "$1 first boot" >"$work/r3/ping.result"; echo evidence >"$work/r3/basic.pcap"
    echo "hvmm lab: warning: the lab stopped 1 time(s) for 31 s in all (its CPU found halted: 1 of 1)" >&2
else
    echo "PASS second boot" >"$work/r3/ping.result"
fi
exit 0
STUB
    chmod +x "$work/runner"
    rm -f "$work/boots"; rm -rf "$work/r3"; mkdir -p "$work/r3"
}
verdict_stub FAIL
got=0; HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/r3" exec nothing 2>/dev/null || got=$?
expect "a woken lab that left a failing verdict is booted once more" "^2\$" "$(cat "$work/boots")"
expect "and the second boot's verdict is the check's" "^PASS second boot" "$(cat "$work/r3/ping.result")"
expect "the frozen boot's verdict is kept apart as evidence" "^FAIL first boot" "$(cat "$work/r3/woken-boot/ping.result" 2>&1)"
expect "with its other outputs" "evidence" "$(cat "$work/r3/woken-boot/basic.pcap" 2>&1)"
expect "which are no longer among the results" "^gone\$" "$([[ -e $work/r3/basic.pcap ]] || echo gone)"
expect "the retry is kept in lab-status" "retried once after: warning: the lab stopped" "$(cat "$work/r3/lab-status")"
verdict_stub PASS
got=0; HVMM_LAB_RUNNER=$work/runner run_lab_fixture "$work/r3" exec nothing 2>/dev/null || got=$?
expect "a woken lab whose checks all passed is not booted again" "^1\$" "$(cat "$work/boots")"
expect "and its verdicts stand" "^PASS first boot" "$(cat "$work/r3/ping.result")"
echo "PASS recorded" >"$work/results/good.result"
sed -i '1s/^/PASS /' "$work/results/good.result"
if "$here/check_result.sh" "$work/results" good >/dev/null; then echo "ok: a PASS verdict passes"; else echo "FAIL: a PASS verdict failed"; failures=$((failures + 1)); fi
[[ $failures == 0 ]]
