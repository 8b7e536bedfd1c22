#!/bin/bash
# CTest fixture: one lab boot running tests/lab/iotime_checks.sh (the guest's iotime on hvmm's
# PCnet NIC) with the built hvmm; results land in RESULTS_DIR, cleared first so that no stale
# verdict can pass a check.
#
# usage: tests/lab/iotime_run_checks.sh HVMM_BINARY RESULTS_DIR [MODE...]
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local hvmm=$1 results=$2 here
    shift 2
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    rm -rf "$results"
    mkdir -p "$results"
    run_lab_fixture "$results" --timeout 900 --hvmm "$hvmm" --out "$results" exec "$here/iotime_checks.sh" "$@"
}

main "$@"
