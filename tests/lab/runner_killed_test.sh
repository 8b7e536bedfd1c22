#!/bin/bash
# lab/run.sh killed outright (SIGKILL: no trap of its own runs, as when a CI job or a test's
# timeout kills it) leaves nothing running: its watchdog sees the runner gone and kills QEMU, and
# its heartbeat watcher ends, within seconds. One real lab boot holding a script that waits.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
runner= qemu=
cleanup() {
    [[ -n $runner ]] && kill -KILL "$runner" 2>/dev/null
    [[ -n $qemu ]] && kill -KILL "$qemu" 2>/dev/null
    pkill -KILL -f "$work" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

script=$work/hold-the-lab.sh
printf '#!/bin/bash\nsleep 600\n' >"$script"
chmod +x "$script"
"$repo/lab/run.sh" --with "$script" exec "$script" >"$work/out" 2>&1 &
runner=$!

# QEMU under the runner, then a few seconds for the watchers to be in their loops.
for _ in $(seq 120); do
    qemu=$(pgrep -P "$runner" -f qemu-system | head -n1)
    [[ -n $qemu ]] && break
    kill -0 "$runner" 2>/dev/null || fail "the runner ended before the lab was up: $(tail -n3 "$work/out")"
    sleep 1
done
sleep 8
[[ -n $qemu ]] || fail "no QEMU under lab/run.sh after 120 s"
helpers=$(pgrep -f "$script" | grep -vx "$runner" | tr '\n' ' ')
echo "runner $runner, QEMU $qemu, the runner's own subshells: ${helpers:-none}"

kill -KILL "$runner"
wait "$runner" 2>/dev/null
runner=
for _ in $(seq 15); do
    left=$(pgrep -f "$script" | tr '\n' ' ')
    qemu_state=$(ps -o stat= -p "$qemu" 2>/dev/null | tr -d ' ')
    if [[ -z $left && ( -z $qemu_state || $qemu_state == Z* ) ]]; then
        echo "ok: 1 s to 15 s after SIGKILL nothing is left (QEMU ${qemu_state:-gone})"
        exit 0
    fi
    sleep 1
done
fail "15 s after SIGKILL: still running: ${left:-none}; QEMU $qemu state '${qemu_state:-gone}'"
