#!/bin/bash
# The KVM tests of the ASan+UBSan build as one test: on this host when it opens /dev/kvm (the
# binary runs here, under the sanitizers), else the verdict of the lab run that the fixture
# (tests/kvm/run_in_lab.sh with the sanitized binary) made: every test in gtest's XML report must
# have passed, and the report must hold at least one. A skipped test fails: a check that did not
# run never passes.
#
# usage: tests/sanitize/kvm_tests.sh TEST_BINARY RESULTS_DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../kvm/kvm_host.sh"
source "$here/../lab/lab_fixture.sh"

main() {
    local binary=$1 results=$2
    if host_kvm_opens; then
        exec "$binary"
    fi
    local xml=$results/kvm-tests.xml
    if [[ ! -s $xml ]]; then
        local lab
        lab=$(lab_failure_message "$results")
        echo "FAIL: this host cannot open /dev/kvm and the lab run left no report ($xml)${lab:+: $lab}"
        exit 1
    fi
    python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
bad = []
for case in cases:
    name = f"{case.get('classname')}.{case.get('name')}"
    if case.get("result") == "skipped" or case.find("skipped") is not None:
        bad.append(f"{name}: skipped")
    for failure in case.findall("failure"):
        bad.append(f"{name}: {failure.get('message', '').splitlines()[0] if failure.get('message') else 'failed'}")
print(f"{len(cases)} KVM tests ran under ASan+UBSan in the lab, {len(bad)} did not pass")
for line in bad:
    print(f"FAIL: {line}")
sys.exit(1 if bad or not cases else 0)
PY
}

main "$@"
