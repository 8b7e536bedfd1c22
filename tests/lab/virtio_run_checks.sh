#!/bin/bash
# CTest fixture: one lab boot running tests/lab/virtio_checks.sh (virtio-net with the stock
# virtio_net over TAPs, userspace and vhost-net) with the built hvmm; results land in
# RESULTS_DIR, cleared first so that no stale verdict can pass a check.
#
# usage: tests/lab/virtio_run_checks.sh HVMM_BINARY RESULTS_DIR [--unit UNIT_TESTS] [BOOT...]
#        (--unit: the unit-test binary, whose VhostNetKernel tests need the lab's /dev/vhost-net)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local hvmm=$1 results=$2 here
    shift 2
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    local -a carry=(--with "$here/lab_checks_lib.sh")
    # The unit tests go in at their own path; virtio_checks.sh reads the same --unit argument.
    if [[ ${1:-} == --unit ]]; then carry+=(--with "$2"); fi
    rm -rf "$results"
    mkdir -p "$results"
    run_lab_fixture "$results" --timeout 1800 --hvmm "$hvmm" --out "$results" \
        "${carry[@]}" exec "$here/virtio_checks.sh" "$@"
}

main "$@"
