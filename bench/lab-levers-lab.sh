#!/bin/bash
# Runs inside the lab (bench/lab-levers.sh sends it there): applies one lever to the lab, then
# runs bench/paper-lab.sh's rows. LEVER is a name from bench/lab-levers.sh; the lab's own
# configuration (lab/init) is the starting point, and each lever says what it changes.
#
# usage: lab-levers-lab.sh LEVER SECS "CONFIGS" "ANCHORS"
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lever=$1
shift
cpus=$(grep -c ^processor /proc/cpuinfo)
case $lever in
    shipped) ;;  # lab/init as it is
    halt-poll-on) echo 200000 >/sys/module/kvm/parameters/halt_poll_ns ;;  # KVM's default
    unplaced)  # no placement: the lab's scheduler puts every thread where it likes
        unset HVMM_VCPU_CPUS
        taskset -p -c "0-$((cpus - 1))" $$ >/dev/null ;;
    unplaced-halt-poll-on)  # the lab before this lever study: neither placement nor halt polling off
        unset HVMM_VCPU_CPUS
        taskset -p -c "0-$((cpus - 1))" $$ >/dev/null
        echo 200000 >/sys/module/kvm/parameters/halt_poll_ns ;;
    vmm-on-0-peer-on-1)  # the whole VMM (vCPU and I/O threads) on CPU 0, the peer on CPU 1
        unset HVMM_VCPU_CPUS
        taskset -p -c "0-$((cpus - 1))" $$ >/dev/null
        export BENCH_VMM_CPUS=0 BENCH_PEER_CPUS=1 ;;
    *) echo "lab-levers-lab.sh: unknown lever $lever" >&2; exit 2 ;;
esac
# Every lever's TX phases are traced (2 s each) and hvmm's per-OUT cost measured.
export BENCH_TRACE_SECS=2 BENCH_IOTIME_CONFIGS=paper
echo "lever $lever: $cpus lab CPUs, halt_poll_ns $(cat /sys/module/kvm/parameters/halt_poll_ns), vCPU CPUs ${HVMM_VCPU_CPUS:-any}" >&2
exec bash "$here/paper-lab.sh" "$@"
