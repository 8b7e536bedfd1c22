#!/bin/bash
# Runs inside the lab: the default guest image's `iotime` on hvmm's PCnet NIC (the paper's cost of
# one OUT to the NIC). One guest boot per hvmm --nic-opt mode named on the command line ("default"
# means no --nic-opt, hvmm's own default). Each check writes $HVMM_LAB_OUT/NAME.result, first line
# PASS or FAIL and then its evidence (tests/lab/check_result.sh reads it); iotime's output is the
# evidence. Exits 0 once every check has run.
#
# Checks, per boot (suffix _MODE except for the default boot):
#   iotime_measures        iotime --unbind --kv ran (status 0), found the 1022:2000 I/O window,
#                          took a TSC rate of 100 MHz..10 GHz from the kernel, timed out,
#                          rap_write and rdp_read > 0, and the exiting OUT costs >= 1 us (a world
#                          switch; about 35 us in the lab). The rap_write/out ratio is printed,
#                          not judged (the ports optimization decides it).
#   iotime_refuses_while_up  with eth0 up and no --unbind: exit 1 and one line naming eth0
#   iotime_rebinds_driver    after --unbind, pcnet32 has the device and eth0 again
#   iotime_bad_option        an unknown option: exit 2 and one line
#
# usage (in the lab): iotime_checks.sh [MODE...]   (default: default baseline)
set -uo pipefail

OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
TAP=iotimetap0
WORK=$(mktemp -d)
BOOT_LIMIT=${HVMM_CHECK_TIMEOUT:-300}

# record NAME VERDICT MESSAGE [FILE...]: the result file, with the files' text as evidence.
record() {
    local name=$1 verdict=$2 message=$3 f
    shift 3
    {
        echo "$verdict $message"
        for f in "$@"; do echo "--- $(basename "$f")"; tail -n 60 "$f"; done
    } >"$OUT/$name.result"
}

# What the guest runs. Every section is fenced by marker lines so the console can be cut apart;
# outputs go to files first because busybox sh has no pipefail (a pipe would lose the status).
GUEST_CMD='ip link set eth0 up
iotime -n 2000 >/tmp/up.txt 2>&1; echo "up-status $?"; sed "s/^/UP /" /tmp/up.txt
iotime --bogus-option >/tmp/bad.txt 2>&1; echo "bad-status $?"; sed "s/^/BAD /" /tmp/bad.txt
iotime --unbind --kv >/tmp/kv.txt 2>&1; echo "kv-status $?"; sed "s/^/KV /" /tmp/kv.txt
echo "after-kv-bound $(ls /sys/bus/pci/drivers/pcnet32 2>/dev/null | grep -c "^0000:") eth0 $(test -e /sys/class/net/eth0 && echo yes || echo no)"
iotime --unbind >/tmp/text.txt 2>&1; echo "text-status $?"; sed "s/^/TEXT /" /tmp/text.txt'

# run_boot MODE: one guest boot; the console lands in $WORK/MODE.out.
run_boot() {
    local mode=$1 opt=()
    [[ $mode != default ]] && opt=(--nic-opt "$mode")
    ip link del "$TAP" 2>/dev/null
    if ! { ip tuntap add dev "$TAP" mode tap && ip link set "$TAP" up; }; then
        echo "cannot make TAP $TAP" >"$WORK/$mode.err"
        echo 125 >"$WORK/$mode.status"
        return
    fi
    local status=0
    timeout "$BOOT_LIMIT" hvmm run --mem 256 --nic "pcnet,net=tap:$TAP" "${opt[@]}" --run "$GUEST_CMD" \
        </dev/null >"$WORK/$mode.out" 2>"$WORK/$mode.err" || status=$?
    echo "$status" >"$WORK/$mode.status"
    ip link del "$TAP" 2>/dev/null
    tr -d '\r' <"$WORK/$mode.out" >"$WORK/$mode.console"
}

# section MODE PREFIX: the guest lines that start with PREFIX, prefix removed.
section() { sed -n "s/^$2 //p" "$WORK/$1.console"; }
# status_of MODE WORD: the number after "WORD-status".
status_of() { sed -n "s/^$2-status \([0-9]*\)$/\1/p" "$WORK/$1.console" | head -n1; }
# kv MODE KEY: a value from iotime --kv.
kv() { section "$1" KV | sed -n "s/^$2=//p" | head -n1; }

judge_boot() {
    local mode=$1 suffix=""
    [[ $mode != default ]] && suffix="_$mode"
    local hvmm_status
    hvmm_status=$(cat "$WORK/$mode.status")
    section "$mode" KV >"$WORK/iotime-kv-$mode.txt"
    section "$mode" TEXT >"$WORK/iotime-$mode.txt"
    local evidence=("$WORK/iotime-$mode.txt" "$WORK/iotime-kv-$mode.txt")

    # iotime_measures
    local kv_status tsc io_base out_ns rap_ns rdp_ns out_cyc rap_cyc rdp_cyc why=""
    kv_status=$(status_of "$mode" kv)
    tsc=$(kv "$mode" tsc_mhz)
    io_base=$(kv "$mode" io_base)
    out_ns=$(kv "$mode" out_ns) rap_ns=$(kv "$mode" rap_write_ns) rdp_ns=$(kv "$mode" rdp_read_ns)
    out_cyc=$(kv "$mode" out_median_cycles) rap_cyc=$(kv "$mode" rap_write_median_cycles)
    rdp_cyc=$(kv "$mode" rdp_read_median_cycles)
    if [[ $kv_status != 0 ]]; then
        why="iotime --unbind --kv exited '${kv_status:-never ran}' (hvmm status $hvmm_status)"
    elif [[ ! $io_base =~ ^0x[0-9a-f]+$ || $(kv "$mode" chip_id_low) != 0x?003 ]]; then
        why="no PCnet I/O window or chip ID in iotime's output (io_base '$io_base')"
    elif ! awk -v t="$tsc" 'BEGIN { exit !(t >= 100 && t <= 10000) }'; then
        why="TSC rate '$tsc' MHz is not 100 MHz..10 GHz"
    elif ! awk -v a="$out_cyc" -v b="$rap_cyc" -v c="$rdp_cyc" 'BEGIN { exit !(a > 0 && b > 0 && c > 0) }'; then
        why="a cost is not positive: out $out_cyc, rap_write $rap_cyc, rdp_read $rdp_cyc cycles"
    elif ! awk -v n="$out_ns" 'BEGIN { exit !(n >= 1000) }'; then
        why="an exiting OUT took ${out_ns} ns, under 1 us: it cannot have been a world switch"
    fi
    local ratio
    ratio=$(awk -v a="$out_cyc" -v b="$rap_cyc" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "?" }')
    local summary="mode $mode: TSC $tsc MHz ($(kv "$mode" tsc_source)); per access: out $(us "$out_ns") us, rap_write $(us "$rap_ns") us, rdp_read $(us "$rdp_ns") us; rap_write/out $ratio (not judged)"
    if [[ -z $why ]]; then
        record "iotime_measures$suffix" PASS "$summary" "${evidence[@]}"
    else
        record "iotime_measures$suffix" FAIL "$why; $summary" "${evidence[@]}" "$WORK/$mode.console" "$WORK/$mode.err"
    fi

    # iotime_refuses_while_up
    section "$mode" UP >"$WORK/up-$mode.txt"
    local up_status
    up_status=$(status_of "$mode" up)
    if [[ $up_status == 1 && $(wc -l <"$WORK/up-$mode.txt") == 1 ]] && grep -q 'eth0.*is up' "$WORK/up-$mode.txt"; then
        record "iotime_refuses_while_up$suffix" PASS "with eth0 up, iotime exited 1: $(cat "$WORK/up-$mode.txt")"
    else
        record "iotime_refuses_while_up$suffix" FAIL "with eth0 up, want exit 1 and one line naming eth0; got status '${up_status}'" "$WORK/up-$mode.txt"
    fi

    # iotime_rebinds_driver
    local after
    after=$(grep -m1 '^after-kv-bound' "$WORK/$mode.console")
    if [[ $after == "after-kv-bound 1 eth0 yes" ]] && grep -q '^driver_note=pcnet32 unbound for the run' "$WORK/iotime-kv-$mode.txt"; then
        record "iotime_rebinds_driver$suffix" PASS "after iotime --unbind: $after; $(grep '^driver_note=' "$WORK/iotime-kv-$mode.txt")"
    else
        record "iotime_rebinds_driver$suffix" FAIL "after iotime --unbind: '${after}'" "$WORK/iotime-kv-$mode.txt"
    fi

    # iotime_bad_option
    section "$mode" BAD >"$WORK/bad-$mode.txt"
    if [[ $(status_of "$mode" bad) == 2 && $(wc -l <"$WORK/bad-$mode.txt") == 1 ]]; then
        record "iotime_bad_option$suffix" PASS "iotime --bogus-option exited 2: $(cat "$WORK/bad-$mode.txt")"
    else
        record "iotime_bad_option$suffix" FAIL "want exit 2 and one line; got status '$(status_of "$mode" bad)'" "$WORK/bad-$mode.txt"
    fi
}

us() { awk -v n="$1" 'BEGIN { if (n == "") print "?"; else printf "%.2f", n / 1000 }'; }

main() {
    command -v hvmm >/dev/null || { echo "no hvmm in the lab" >&2; exit 1; }
    local mode
    for mode in ${*:-default baseline}; do
        run_boot "$mode"
        judge_boot "$mode"
        cp "$WORK/$mode.console" "$OUT/iotime-$mode.console" 2>/dev/null
        cp "$WORK/$mode.err" "$OUT/iotime-$mode.err" 2>/dev/null
    done
    rm -rf "$WORK"
    ls "$OUT"
}

main "$@"
