#!/bin/bash
# Runs one KVM test (gtest) where KVM is: on this host when it has a /dev/kvm to open (even PVM's
# emulator runs these tiny guest programs), else it reports the verdict that the same test got in
# the lab (tests/kvm/run_in_lab.sh, the fixture, ran the whole binary there once). CTest calls this
# for each discovered test as the binary's CROSSCOMPILING_EMULATOR; listing runs here always.
# A test with no verdict from the lab fails: a check that did not run never passes.
#
# usage: tests/kvm/host_or_lab.sh RESULTS_DIR TEST_BINARY GTEST_ARG...
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/kvm_host.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lab/lab_fixture.sh"

main() {
    local results=$1 binary=$2 arg filter=
    shift 2
    for arg in "$@"; do
        case $arg in
            --gtest_list_tests) exec "$binary" "$@" ;;
            --gtest_filter=*) filter=${arg#--gtest_filter=} ;;
        esac
    done
    if host_kvm_opens; then
        exec "$binary" "$@"
    fi
    [[ -n $filter ]] || { echo "FAIL: no --gtest_filter: which lab verdict?"; exit 1; }
    lab_verdict "$results/kvm-tests.xml" "$filter"
}

# lab_verdict XML SUITE.NAME: the test's result in gtest's XML report, its failure text printed.
lab_verdict() {
    local xml=$1 name=$2
    if [[ ! -s $xml ]]; then
        local lab
        lab=$(lab_failure_message "$(dirname "$xml")")
        echo "FAIL: this host cannot open /dev/kvm and the lab run left no report ($xml)${lab:+: $lab}"
        exit 1
    fi
    python3 - "$xml" "$name" <<'PY'
import sys, xml.etree.ElementTree as ET
xml, name = sys.argv[1], sys.argv[2]
suite, _, test = name.partition(".")
for case in ET.parse(xml).getroot().iter("testcase"):
    if case.get("classname") == suite and case.get("name") == test:
        failures = case.findall("failure")
        if case.get("result") == "skipped" or case.find("skipped") is not None:
            print(f"FAIL: {name} was skipped in the lab")
            sys.exit(1)
        if failures:
            for failure in failures:
                print(failure.get("message") or failure.text or "")
            print(f"FAIL: {name} failed in the lab")
            sys.exit(1)
        if case.get("status") != "run":
            print(f"FAIL: {name} did not run in the lab (status {case.get('status')})")
            sys.exit(1)
        print(f"PASS: {name} passed on the lab's nested KVM ({case.get('time')} s); this host has no /dev/kvm")
        sys.exit(0)
print(f"FAIL: {name} is not in the lab's report (the run stopped before it?)")
sys.exit(1)
PY
}

main "$@"
