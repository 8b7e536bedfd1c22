#!/bin/bash
# CTest fixture for the KVM tests: on a host without a /dev/kvm to open (a container, a machine
# without virtualization) runs the whole KVM test binary once in the lab, on its nested KVM, and
# brings back gtest's XML report, from which each test's verdict is read (host_or_lab.sh). With a
# /dev/kvm here it does nothing: the tests run on this host. RESULTS_DIR is cleared first so no
# stale report can pass a test.
#
# usage: tests/kvm/run_in_lab.sh TEST_BINARY RESULTS_DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/kvm_host.sh"
source "$here/../lab/lab_fixture.sh"

main() {
    local binary=$1 results=$2 lib status=0
    rm -rf "$results"
    mkdir -p "$results"
    if host_kvm_opens; then
        echo "this host opens /dev/kvm: the KVM tests run here"
        return 0
    fi
    echo "this host cannot open /dev/kvm: running $(basename "$binary") in the lab"
    local -a carry=(--with "$binary")
    for lib in $(ldd "$binary" | awk '/=>/ && $3 ~ /^\// {print $3}'); do carry+=(--with "$lib"); done
    run_lab_fixture "$results" --timeout 900 --out "$results" "${carry[@]}" \
        exec "$here/in_lab.sh" "$binary" || status=$?
    if [[ ! -s $results/kvm-tests.xml ]]; then
        local lab
        lab=$(lab_failure_message "$results")
        echo "FAIL: the lab run (status $status) left no report${lab:+: $lab}"
        exit 1
    fi
    # Failing tests fail on their own (host_or_lab.sh); the fixture only had to produce the report.
    echo "lab run status $status; report in $results/kvm-tests.xml"
}

main "$@"
