#!/bin/bash
# Inside the lab (tests/kvm/run_in_lab.sh sends it): the KVM test binary on the lab's nested KVM,
# its XML report written where lab/run.sh brings files back.
#
# usage: in_lab.sh TEST_BINARY
set -uo pipefail
"$1" --gtest_output="xml:${HVMM_LAB_OUT:?run me through lab/run.sh exec}/kvm-tests.xml"
