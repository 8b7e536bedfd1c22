#!/bin/bash
# Runs inside the lab (one lab boot for all of them): hvmm's PCnet (Am79C970A) with the guest's
# stock pcnet32 driver, over a TAP to the lab. Each check writes $HVMM_LAB_OUT/NAME.result, first
# line PASS or FAIL and the rest its evidence (tests/lab/check_result.sh reads it). Exits 0 once
# every check has run, so a failing check fails its own test, not the whole lab.
#
# Four guest boots: "basic" (driver_binds, mac_from_command_line, ping_guest_to_host,
# ethtool_selftest, pcap), "h2g" (no_spin_without_rx_buffers, ping_host_to_guest), "iperf"
# (iperf3_tx, iperf3_rx) and "link" (link_down_up). Every wait is bounded; a hung hvmm is killed
# and fails its checks.
#
# usage (in the lab): pcnet_checks.sh [--nic-opt LIST] [BOOT...]   (default: all four, in that
#        order, with hvmm's default optimizations; LIST is passed to hvmm run --nic-opt)
set -uo pipefail

OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
TAP=pcnettap0
HOST_IP=10.0.2.1
GUEST_IP=10.0.2.2
MAC=52:54:00:ab:cd:ef
WORK=$(mktemp -d)
BOOT_LIMIT=${HVMM_CHECK_TIMEOUT:-300}
NIC_OPT=()  # --nic-opt LIST from the command line

# What every guest command starts with: eth0 up with its address. The guest's `ip` is iproute2's
# (its /etc/profile says so).
GUEST_NET="ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0"

# record NAME VERDICT MESSAGE [LOGFILE...]
record() {
    local name=$1 verdict=$2 message=$3 f
    shift 3
    {
        echo "$verdict $message"
        for f in "$@"; do echo "--- $(basename "$f")"; tail -n 40 "$f"; done
    } >"$OUT/$name.result"
}

# A TAP of the lab's own (persistent, made here), so hvmm attaches to it and follows its admin
# state; the lab side has HOST_IP on it.
tap_up() {
    ip link del "$TAP" 2>/dev/null
    ip tuntap add dev "$TAP" mode tap &&
        ip addr add "$HOST_IP/24" dev "$TAP" &&
        ip link set "$TAP" up
}
tap_down() { ip link del "$TAP" 2>/dev/null; }

# start_hvmm NAME GUEST_CMD [NIC_EXTRA]: hvmm in the background with the NIC on TAP, console to
# $WORK/NAME.out; sets HVMM_PID. The run's status lands in $WORK/NAME.status.
start_hvmm() {
    local name=$1 cmd=$2 extra=${3:-}
    (
        status=0
        timeout "$BOOT_LIMIT" hvmm run --mem 256 --nic "pcnet,net=tap:$TAP$extra" "${NIC_OPT[@]}" --run "$cmd" \
            </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" || status=$?
        if [[ $status == 124 ]]; then echo "(hvmm killed after ${BOOT_LIMIT}s)" >>"$WORK/$name.err"; fi
        echo "$status" >"$WORK/$name.status"
    ) &
    HVMM_PID=$!
}

# wait_for NAME PATTERN SECS: true once the guest console shows PATTERN (grep -E), false after
# SECS or when hvmm has ended without it.
wait_for() {
    local name=$1 pattern=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        if [[ -f $WORK/$name.out ]] && grep -qE "$pattern" <<<"$(console "$name")"; then return 0; fi
        if [[ -f $WORK/$name.status ]]; then
            grep -qE "$pattern" <<<"$(console "$name")"
            return
        fi
        sleep 0.2
    done
    return 1
}

finish_hvmm() { wait "$HVMM_PID" 2>/dev/null; STATUS=$(cat "$WORK/$1.status" 2>/dev/null || echo '?'); }

console() { tr -d '\r' <"$WORK/$1.out"; }

# ---- boot 1: bring-up, MAC, ping to the lab, self-test, capture ----------------------------------
run_basic() {
    local name=basic pcap=$WORK/basic.pcap
    local cmd="echo bound-devices: \$(ls /sys/bus/pci/drivers/pcnet32 2>/dev/null | grep -c '^0000:')
dmesg | grep -i pcnet | sed 's/^/dmesg: /'
ip link show eth0 | sed 's/^/link: /'
$GUEST_NET
ping -c 3 -w 20 $HOST_IP; echo ping-status \$?
ethtool -t eth0; echo ethtool-status \$?"
    tap_up || { record driver_binds FAIL "cannot make TAP $TAP in the lab"; return; }
    start_hvmm "$name" "$cmd" ",mac=$MAC,pcap=$pcap"
    finish_hvmm "$name"
    tap_down
    local log=$WORK/$name.out err=$WORK/$name.err
    [[ -f $pcap ]] && cp "$pcap" "$OUT/basic.pcap"

    # driver_binds: pcnet32 took the function and named the chip.
    local chip
    chip=$(console "$name" | grep -m1 -oE 'PCnet/PCI II 79C970A' || true)
    if [[ $STATUS != 0 ]]; then
        record driver_binds FAIL "hvmm exited $STATUS" "$log" "$err"
    elif [[ -z $chip ]] || ! grep -q '^bound-devices: 1' <<<"$(console "$name")"; then
        record driver_binds FAIL "pcnet32 did not bind or name the chip" "$log"
    else
        record driver_binds PASS "pcnet32 bound one device: $(console "$name" | grep -m1 'dmesg: .*79C970A')"
    fi

    # mac_from_command_line: mac= on --nic is what the guest reads from the address PROM.
    local ether
    ether=$(console "$name" | sed -n 's/^link: *link\/ether \([0-9a-f:]*\).*/\1/p' | head -n1)
    if [[ $ether == "$MAC" ]]; then
        record mac_from_command_line PASS "ip link show eth0: link/ether $ether"
    else
        record mac_from_command_line FAIL "eth0's address is '${ether:-none}', want $MAC" "$log"
    fi

    # ping_guest_to_host: three echo requests answered across the TAP.
    local ping
    ping=$(console "$name" | grep -m1 'packets transmitted' || true)
    if grep -q '^ping-status 0' <<<"$(console "$name")" && [[ $ping == *"3 packets received"* ]]; then
        record ping_guest_to_host PASS "guest ping $HOST_IP: $ping"
    else
        record ping_guest_to_host FAIL "guest ping $HOST_IP failed: ${ping:-no summary}" "$log"
    fi

    # ethtool_selftest: pcnet32's offline internal-loopback test.
    if grep -q '^ethtool-status 0' <<<"$(console "$name")" && grep -q 'result is PASS' <<<"$(console "$name")"; then
        record ethtool_selftest PASS "ethtool -t eth0: $(console "$name" | grep -m1 'result is') $(console "$name" | grep -m1 -i 'loopback')"
    else
        record ethtool_selftest FAIL "ethtool -t eth0 did not pass" "$log"
    fi

    check_pcap "$pcap"
}

# check_pcap FILE: a classic little-endian pcap (Ethernet link type) holding the guest's echo
# requests (from MAC, ICMP type 8) and the lab's replies (to MAC, ICMP type 0).
check_pcap() {
    local file=$1
    if [[ ! -s $file ]]; then
        record pcap FAIL "no capture file $file"
        return
    fi
    local -a b
    read -ra b <<<"$(od -An -v -tx1 "$file" | tr -s ' \n' ' ')"
    local n=${#b[@]} magic="${b[0]}${b[1]}${b[2]}${b[3]}" linktype=$((16#${b[20]}))
    if [[ $magic != d4c3b2a1 || $linktype != 1 ]]; then
        record pcap FAIL "not a little-endian Ethernet pcap (magic $magic, link type $linktype)"
        return
    fi
    local mac_hex=${MAC//:/} at=24 records=0 requests=0 replies=0 len frame src dst
    while ((at + 16 <= n)); do
        len=$((16#${b[at + 11]}${b[at + 10]}${b[at + 9]}${b[at + 8]}))
        frame=$((at + 16))
        ((frame + len <= n)) || break
        records=$((records + 1))
        if ((len >= 42)); then
            dst=$(printf %s "${b[@]:frame:6}")
            src=$(printf %s "${b[@]:frame+6:6}")
            # IPv4 (0800), protocol ICMP (1) at IP offset 9, ICMP type after a 20-byte header.
            if [[ ${b[frame + 12]}${b[frame + 13]} == 0800 && ${b[frame + 23]} == 01 ]]; then
                [[ $src == "$mac_hex" && ${b[frame + 34]} == 08 ]] && requests=$((requests + 1))
                [[ $dst == "$mac_hex" && ${b[frame + 34]} == 00 ]] && replies=$((replies + 1))
            fi
        fi
        at=$((frame + len))
    done
    local summary="$records records in $n bytes; echo requests from $MAC: $requests, replies to it: $replies"
    if ((at != n)); then
        record pcap FAIL "truncated capture at byte $at of $n; $summary"
    elif ((requests >= 3 && replies >= 3)); then
        record pcap PASS "$summary"
    else
        record pcap FAIL "want at least 3 requests and 3 replies; $summary"
    fi
}

# ---- boot 2: no receive buffers, then the lab pings the guest --------------------------------------
# First eth0 stays down for 8 s (the chip stopped, no receive buffer) while the lab sends frames
# into the TAP: hvmm must leave them queued without spinning on the readable TAP. Then the guest
# configures eth0 and waits (at most 90 s) until three echo requests have arrived, then prints
# its ICMP counters and powers off.
run_host_to_guest() {
    local name=h2g
    local cmd="echo guest-eth-down; sleep 8
$GUEST_NET
echo guest-net-ready
icmp() { awk -v f=\$1 '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) c[\$i] = i; h = 1 } else print \$c[f] }' /proc/net/snmp; }
i=0; while [ \$i -lt 450 ] && [ \$(icmp InEchos) -lt 3 ]; do sleep 0.2; i=\$((i + 1)); done
echo guest-icmp InEchos=\$(icmp InEchos) OutEchoReps=\$(icmp OutEchoReps)"
    tap_up || { record ping_host_to_guest FAIL "cannot make TAP $TAP in the lab"; return; }
    start_hvmm "$name" "$cmd"
    check_no_spin "$name"
    local ping="" ok=1
    if wait_for "$name" '^guest-net-ready' 200; then
        ping -c 3 -w 20 "$GUEST_IP" >"$WORK/h2g.ping" 2>&1 && ok=0
        ping=$(grep -m1 'packets transmitted' "$WORK/h2g.ping")
    fi
    finish_hvmm "$name"
    tap_down
    if [[ -z $ping ]]; then
        record ping_host_to_guest FAIL "the guest never reported its network ready (hvmm status $STATUS)" \
            "$WORK/$name.out" "$WORK/$name.err"
    elif [[ $ok == 0 && $ping == *"3 packets received"* ]]; then
        record ping_host_to_guest PASS "lab ping $GUEST_IP: $ping; $(console "$name" | grep -m1 guest-icmp)"
    else
        record ping_host_to_guest FAIL "lab ping $GUEST_IP: ${ping}" "$WORK/h2g.ping" "$WORK/$name.out"
    fi
}

# check_no_spin NAME: while the guest's eth0 is down, frames wait in the TAP; hvmm's CPU use over
# 4 s must stay well below one CPU (a level-triggered watch on the readable TAP fd would spin).
check_no_spin() {
    local name=$1 pid t0 t1 used
    if ! wait_for "$name" '^guest-eth-down' 200; then
        record no_spin_without_rx_buffers FAIL "the guest never reported eth0 down" "$WORK/$name.out" "$WORK/$name.err"
        return
    fi
    pid=$(pid_of_hvmm)
    ping -c 8 -i 0.5 "$GUEST_IP" >/dev/null 2>&1 &
    local pinger=$!
    sleep 1
    t0=$(cpu_ticks "$pid")
    sleep 4
    t1=$(cpu_ticks "$pid")
    wait "$pinger" 2>/dev/null
    if [[ -z $t0 || -z $t1 ]]; then
        record no_spin_without_rx_buffers FAIL "no hvmm process to measure (pid '$pid')"
        return
    fi
    # /proc's ticks are USER_HZ, 100 a second on Linux.
    used=$(((t1 - t0) * 100 / (4 * 100)))
    local what="hvmm used ${used}% of a CPU over 4 s with eth0 down while the lab sent ARP requests into the TAP"
    if ((used < 50)); then
        record no_spin_without_rx_buffers PASS "$what"
    else
        record no_spin_without_rx_buffers FAIL "$what (the I/O thread spins on the readable TAP)"
    fi
}

# pid_of_hvmm: the running hvmm's pid (the lab has no pgrep).
pid_of_hvmm() {
    local d
    for d in /proc/[0-9]*; do
        if [[ $(cat "$d/comm" 2>/dev/null) == hvmm ]]; then echo "${d#/proc/}"; return; fi
    done
}

# cpu_ticks PID: user + system clock ticks of the process (all threads) so far.
cpu_ticks() { [[ -n $1 && -r /proc/$1/stat ]] && awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# ---- boot 3: iperf3 both ways -------------------------------------------------------------------
run_iperf() {
    local name=iperf
    local cmd="$GUEST_NET
ping -c 1 -w 10 $HOST_IP >/dev/null
echo iperf-tx-begin; timeout 40 iperf3 -c $HOST_IP -t 5 -f m; echo iperf-tx-status \$?
echo iperf-rx-begin; timeout 40 iperf3 -c $HOST_IP -t 5 -f m -R; echo iperf-rx-status \$?"
    tap_up || { record iperf3_tx FAIL "cannot make TAP $TAP in the lab"; return; }
    iperf3 -s >"$WORK/iperf-server.log" 2>&1 &
    local server=$!
    start_hvmm "$name" "$cmd"
    finish_hvmm "$name"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    tap_down
    console "$name" | sed -n '/^iperf-tx-begin/,/^iperf-tx-status/p' >"$WORK/iperf_tx.txt"
    console "$name" | sed -n '/^iperf-rx-begin/,/^iperf-rx-status/p' >"$WORK/iperf_rx.txt"
    judge_iperf iperf3_tx "$WORK/iperf_tx.txt" "guest -> lab (iperf3 -c -t 5)"
    judge_iperf iperf3_rx "$WORK/iperf_rx.txt" "lab -> guest (iperf3 -c -t 5 -R)"
}

# judge_iperf NAME SECTION WHAT: status 0 and a non-zero receiver rate.
judge_iperf() {
    local name=$1 section=$2 what=$3 line rate
    line=$(grep -m1 'receiver' "$section" || true)
    rate=$(sed -n 's/.* \([0-9.]*\) Mbits\/sec.*/\1/p' <<<"$line")
    if ! grep -q 'status 0$' "$section"; then
        record "$name" FAIL "$what did not complete" "$section" "$WORK/iperf.err"
    elif [[ -z $rate ]] || awk -v r="$rate" 'BEGIN { exit !(r <= 0) }'; then
        record "$name" FAIL "$what: no throughput in '$line'" "$section"
    else
        record "$name" PASS "$what: $rate Mbit/s ($line)"
    fi
}

# ---- boot 4: the lab takes the TAP down and up; the guest's carrier follows -----------------------
# pcnet32 polls the link every 2 s (BCR4's link LED on the 79C970A); the guest prints each carrier
# change and stops after it has seen 0 then 1, or after 90 s.
run_link() {
    local name=link
    local cmd="$GUEST_NET
c() { cat /sys/class/net/eth0/carrier 2>/dev/null || echo x; }
last=\$(c); echo carrier-now \$last; echo guest-link-ready
seen_down=0; i=0
while [ \$i -lt 450 ]; do
  now=\$(c)
  if [ \"\$now\" != \"\$last\" ]; then echo carrier-now \$now; last=\$now; fi
  [ \"\$now\" = 0 ] && seen_down=1
  [ \$seen_down = 1 ] && [ \"\$now\" = 1 ] && break
  sleep 0.2; i=\$((i + 1))
done
dmesg | grep -E 'eth0: link (up|down)' | sed 's/^/dmesg: /'"
    tap_up || { record link_down_up FAIL "cannot make TAP $TAP in the lab"; return; }
    start_hvmm "$name" "$cmd"
    local stage="the guest never reported its network ready"
    if wait_for "$name" '^guest-link-ready' 200; then
        stage="carrier did not go to 0 within 20 s of 'ip link set $TAP down'"
        ip link set "$TAP" down
        if wait_for "$name" '^carrier-now 0' 20; then
            stage="carrier did not come back to 1 within 20 s of 'ip link set $TAP up'"
            ip link set "$TAP" up
            if console_after_down_has_up "$name" 20; then stage=ok; fi
        fi
    fi
    ip link set "$TAP" up 2>/dev/null
    finish_hvmm "$name"
    tap_down
    local changes
    changes=$(console "$name" | grep -E '^carrier-now|^dmesg: ' | tr '\n' ';')
    if [[ $stage == ok ]]; then
        record link_down_up PASS "guest saw the TAP go down and up: $changes"
    else
        record link_down_up FAIL "$stage (hvmm status $STATUS): $changes" "$WORK/$name.out" "$WORK/$name.err"
    fi
}

# console_after_down_has_up NAME SECS: a "carrier-now 1" after the first "carrier-now 0".
console_after_down_has_up() {
    local name=$1 secs=$2 i
    for ((i = 0; i < secs * 5; i++)); do
        if grep -q '^carrier-now 1' <<<"$(console "$name" | sed -n '/^carrier-now 0/,$p')"; then return 0; fi
        [[ -f $WORK/$name.status ]] && break
        sleep 0.2
    done
    grep -q '^carrier-now 1' <<<"$(console "$name" | sed -n '/^carrier-now 0/,$p')"
}

main() {
    command -v hvmm >/dev/null || { echo "no hvmm in the lab" >&2; exit 1; }
    local boot
    if [[ ${1:-} == --nic-opt ]]; then
        NIC_OPT=(--nic-opt "$2")
        shift 2
    fi
    for boot in ${*:-basic h2g iperf link}; do
        case $boot in
            basic) run_basic ;;
            h2g) run_host_to_guest ;;
            iperf) run_iperf ;;
            link) run_link ;;
            *) echo "pcnet_checks.sh: no boot '$boot'" >&2 ;;
        esac
    done
    # Full consoles, for a failing check's reader.
    cp "$WORK"/*.out "$WORK"/*.err "$OUT/" 2>/dev/null
    rm -rf "$WORK"
    ls "$OUT"
}

main "$@"
