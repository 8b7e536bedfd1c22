#!/bin/bash
# CTest fixture: one lab boot running tests/lab/vmnet_checks.sh (the user network, QEMU 7.2 and
# passt over sockets, hvmm switch) with the built hvmm; results land in RESULTS_DIR, cleared first
# so that no stale verdict can pass a check.
#
# usage: tests/lab/vmnet_run_checks.sh HVMM_BINARY RESULTS_DIR [--flood FRAME_FLOOD] [SCENARIO...]
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local hvmm=$1 results=$2 here
    shift 2
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    local -a carry=(--with "$here/lab_checks_lib.sh")
    # The flood tool goes in at its own path; vmnet_checks.sh reads the same --flood argument.
    if [[ ${1:-} == --flood ]]; then carry+=(--with "$2"); fi
    rm -rf "$results"
    mkdir -p "$results"
    run_lab_fixture "$results" --timeout 1800 --hvmm "$hvmm" --out "$results" \
        "${carry[@]}" exec "$here/vmnet_checks.sh" "$@"
}

main "$@"
