#!/bin/bash
# CTest fixture: one lab boot running tests/lab/hvmm_checks.sh with the built hvmm; the results
# land in RESULTS_DIR, cleared first so that no stale verdict can pass a check.
#
# usage: tests/lab/run_checks.sh HVMM_BINARY RESULTS_DIR
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local hvmm=$1 results=$2 here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    rm -rf "$results"
    mkdir -p "$results"
    # hvmm_checks.sh calls its sibling qemu_boots_guest_image.sh: carry it in as well.
    run_lab_fixture "$results" --timeout 2000 --hvmm "$hvmm" --out "$results" --with "$here/qemu_boots_guest_image.sh" \
        exec "$here/hvmm_checks.sh"
}

main "$@"
