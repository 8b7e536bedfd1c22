#!/bin/sh
# Inside the lab (/usr/local/bin/lab-place-vcpus): moves every VMM's vCPU threads onto the lab
# CPUs named by $HVMM_VCPU_CPUS, as lab/init arranges for hvmm (which places its own: vcpuN
# threads). For QEMU, whose vCPU threads are named "CPU N/KVM" and which has no such option:
# started in the background beside a QEMU, it waits up to LIMIT seconds (default 30) for them to
# appear and places each once. A no-op when HVMM_VCPU_CPUS is unset (a one-CPU lab).
#
# usage: lab-place-vcpus PID|--qemu [LIMIT]    (--qemu: whichever QEMU is running or starts)
pid=$1 limit=${2:-30}
[ -n "${HVMM_VCPU_CPUS:-}" ] || exit 0
tries=$((limit * 5))
while [ "$tries" -gt 0 ]; do
    if [ "$pid" = --qemu ]; then
        pids=$(pidof qemu-system-x86_64 2>/dev/null)
    else
        [ -d "/proc/$pid" ] || exit 0
        pids=$pid
    fi
    placed=0
    for task in $(for p in $pids; do echo /proc/"$p"/task/*; done); do
        case $(cat "$task/comm" 2>/dev/null) in
            "CPU "*"/KVM") taskset -p -c "$HVMM_VCPU_CPUS" "${task##*/}" >/dev/null 2>&1 && placed=1 ;;
        esac
    done
    [ "$placed" = 1 ] && exit 0
    sleep 0.2
    tries=$((tries - 1))
done
exit 0
