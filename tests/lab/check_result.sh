#!/bin/bash
# One lab check's verdict, as written by hvmm_checks.sh inside the lab: prints its evidence and
# passes only on PASS. A missing result is a failure (the check did not run), never a pass.
#
# usage: tests/lab/check_result.sh RESULTS_DIR NAME
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab_fixture.sh"

main() {
    local dir=$1 name=$2 file
    file="$dir/$name.result"
    if [[ ! -f $file ]]; then
        local lab
        lab=$(lab_failure_message "$dir")
        echo "FAIL: no result for $name in $dir (${lab:-the run in the lab did not get to it})"
        exit 1
    fi
    cat "$file"
    [[ $(head -c 4 "$file") == PASS ]]
}

main "$@"
