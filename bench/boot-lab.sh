#!/bin/bash
# Runs inside the lab (bench/boot.sh sends it there): boots the default guest REPS times with hvmm
# and REPS times with each QEMU (7.2 and 10, -enable-kvm), alternating, same kernel, initramfs and command
# line, and records per boot the seconds from starting the VMM to the guest /init's marker line
# and to the VMM's exit after the guest powers off. Timestamps: bash's EPOCHREALTIME, in the lab.
# Writes $HVMM_LAB_OUT/boot-runs.txt: "VMM REP STATUS T_MARKER T_EXIT" per boot.
set -uo pipefail

REPS=${1:-5}
VMMS=${2:-}  # which of "hvmm qemu-7.2 qemu-10" to boot (default all)
OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
APPEND="console=ttyS0 reboot=k panic=-1 quiet hvmm.mark=1 hvmm.run=$(printf true | base64 -w0)"

# elapsed T0 T1: seconds between two EPOCHREALTIME values, to the microsecond.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# measure NAME REP CMD...: one boot; appends its line to boot-runs.txt.
measure() {
    local name=$1 rep=$2
    shift 2
    local t0 t_mark=- t_exit status line=
    t0=$EPOCHREALTIME
    status=
    [[ $1 == qemu-* ]] && lab-place-vcpus --qemu &
    while IFS= read -r line; do
        if [[ $t_mark == - && $line == *"hvmm-guest: init"* ]]; then t_mark=$EPOCHREALTIME; fi
        if [[ $line == "exit-status "* ]]; then status=${line#exit-status }; fi
    done < <(timeout "${BOOT_TIMEOUT:-180}" "$@" </dev/null 2>&1; echo; echo "exit-status $?")
    t_exit=$EPOCHREALTIME
    [[ $t_mark == - ]] || t_mark=$(elapsed "$t0" "$t_mark")
    echo "$name $rep ${status:-?} $t_mark $(elapsed "$t0" "$t_exit")" | tee -a "$OUT/boot-runs.txt"
}

main() {
    : >"$OUT/boot-runs.txt"
    {
        echo "guest_kernel $(cat "$HVMM_CACHE/guest/kernel-release")"
        echo "lab_kernel $(uname -r)"
        echo "qemu $(qemu-7.2 --version | head -n1)"
        echo "qemu10 $(qemu-10 --version | head -n1)"
        echo "lab_cpus $(grep -c ^processor /proc/cpuinfo)"
        echo "lab_emulator ${HVMM_LAB_EMULATOR:-unknown}"
        echo "append $APPEND"
    } >"$OUT/boot-env.txt"
    local rep vmms=${VMMS:-hvmm qemu-7.2 qemu-10}
    for ((rep = 1; rep <= REPS; rep++)); do
        # The default image: the same vmlinuz and initrd.img QEMU gets, plus the image's vmlinux
        # (vmlinuz's kernel decompressed by the image builder), which hvmm loads instead of the
        # bzImage payload so the guest skips its decompressor.
        [[ " $vmms " == *" hvmm "* ]] && measure hvmm "$rep" hvmm run --mem 256 --append "$APPEND"
        # The same with the seccomp filters off: what the sandbox costs a boot.
        [[ " $vmms " == *" hvmm-nosandbox "* ]] &&
            measure hvmm-nosandbox "$rep" hvmm run --mem 256 --append "$APPEND" --sandbox off
        local qemu
        for qemu in qemu-7.2 qemu-10; do
            [[ " $vmms " == *" $qemu "* ]] && measure "$qemu" "$rep" "$qemu" -enable-kvm -m 256 -smp 1 -nodefaults -no-reboot \
                -display none -serial stdio -kernel "$HVMM_GUEST_KERNEL" -initrd "$HVMM_GUEST_INITRD" \
                -append "$APPEND"
        done
    done
}

main "$@"
