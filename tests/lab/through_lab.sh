#!/bin/bash
# `hvmm run` on this host, sent through the lab by hvmm itself (HVMM_LAB=always): the guest's
# output reaches our stdout, the --run command's exit status is hvmm's, and --stats-json's file
# comes back to the host.
#
# usage: tests/lab/through_lab.sh HVMM_BINARY
set -euo pipefail

main() {
    local hvmm=$1 status=0 release
    release=$(cat "${HVMM_CACHE:-${HOME:-/root}/.cache/hvmm}/guest/kernel-release")
    # Global: the EXIT trap runs after main's locals are gone.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # The lab's own limit (lab/run.sh): a hung run must not eat CI's time.
    HVMM_LAB_TIMEOUT=900 HVMM_LAB=always "$hvmm" run --run 'uname -r; exit 3' --stats-json "$tmp/stats.json" \
        </dev/null >"$tmp/out" 2>"$tmp/err" || status=$?
    cat "$tmp/out" "$tmp/err" | tail -n 20
    [[ $status == 3 ]] || { echo "FAIL: hvmm exited $status, want 3"; exit 1; }
    grep -qx "$release" <<<"$(tr -d '\r' <"$tmp/out")" || { echo "FAIL: uname -r did not print $release"; exit 1; }
    [[ -s $tmp/stats.json ]] || { echo "FAIL: --stats-json file did not come back from the lab"; exit 1; }
    [[ $(head -c 1 "$tmp/stats.json") == "{" ]] || { echo "FAIL: stats.json is not a JSON object"; exit 1; }
    echo "PASS: through the lab: status 3, uname -r = $release, stats JSON came back"
}

main "$@"
