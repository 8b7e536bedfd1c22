#!/bin/bash
# One lab check's verdict, as written by hvmm_checks.sh inside the lab: prints its evidence and
# passes only on PASS. A missing result is a failure (the check did not run), never a pass.
#
# usage: tests/lab/check_result.sh RESULTS_DIR NAME
set -euo pipefail

main() {
    local dir=$1 name=$2 file
    file="$dir/$name.result"
    if [[ ! -f $file ]]; then
        echo "FAIL: no result for $name in $dir (the lab run did not get to it)"
        exit 1
    fi
    cat "$file"
    [[ $(head -c 4 "$file") == PASS ]]
}

main "$@"
