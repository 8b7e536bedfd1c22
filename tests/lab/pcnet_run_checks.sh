#!/bin/bash
# CTest fixture: one lab boot running tests/lab/pcnet_checks.sh (the PCnet NIC with the stock
# pcnet32 over a TAP) with the built hvmm; results land in RESULTS_DIR, cleared first so that no
# stale verdict can pass a check.
#
# usage: tests/lab/pcnet_run_checks.sh HVMM_BINARY RESULTS_DIR [--nic-opt LIST] [BOOT...]
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local hvmm=$1 results=$2 here
    shift 2
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    rm -rf "$results"
    mkdir -p "$results"
    run_lab_fixture "$results" --timeout 1500 --hvmm "$hvmm" --out "$results" exec "$here/pcnet_checks.sh" "$@"
}

main "$@"
