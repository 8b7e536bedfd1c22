#!/bin/bash
# Runs inside the lab (one lab boot for all of them): hvmm's virtio-net (modern virtio-pci, MSI-X)
# with the stock Debian guest's virtio_pci and virtio_net drivers, over TAPs to the lab. Each
# check writes $HVMM_LAB_OUT/NAME.result (tests/lab/check_result.sh reads it). Exits 0 once every
# check has run, so a failing check fails its own test, not the whole lab.
#
# Guest boots:
#   basic  userspace data path, MSI-X: virtio_binds, msix_vectors, offloads_shown,
#          ping_guest_to_host, ping_host_to_guest, promiscuous, mtu_9000, mtu_65520, iperf3_tx,
#          iperf3_rx, stats_per_packet
#   nomsi  the same guest with pci=nomsi (INTx and the ISR): nomsi_binds, nomsi_ping, nomsi_iperf3
#   link   the lab takes the TAP down and up: link_down_up; then the guest sets interrupt
#          moderation (ethtool -C, NOTF_COAL) and sends: notification_coalescing
#   vhost  vhost=on (the data path in the lab's kernel): vhost_binds, vhost_ping, vhost_iperf3_tx,
#          vhost_iperf3_rx, vhost_mtu_9000
#   both   a PCnet and a virtio NIC in one guest: both_nics_bind, both_nics_ping
#   kernel the unit tests that need a real /dev/vhost-net (VhostNetKernel.*), which the host
#          running the suite does not have: vhost_kernel_tests
# Every wait is bounded; a hung hvmm is killed and fails its checks.
#
# usage (in the lab): virtio_checks.sh [--unit UNIT_TESTS] [BOOT...]   (default: all, in that
#        order; kernel only with --unit)
set -uo pipefail

OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
WORK=$(mktemp -d)
# shellcheck source=tests/lab/lab_checks_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_checks_lib.sh"

TAP=virtiotap0
TAP2=virtiotap1
HOST_IP=10.0.3.1
GUEST_IP=10.0.3.2
HOST_IP2=10.0.4.1
GUEST_IP2=10.0.4.2
MAC=52:54:00:ab:cd:e1
LIMIT=${HVMM_CHECK_TIMEOUT:-400}
DEFAULT_APPEND="console=ttyS0 reboot=k panic=-1 quiet"
UNIT=""  # --unit PATH: the unit-test binary (boot "kernel")

# tap_up NAME ADDR: a persistent TAP of the lab's own with ADDR/24 on the lab side, up, with the
# largest MTU the guest may use (so a 65520-byte guest MTU is not cut on the lab side).
tap_up() {
    ip link del "$1" 2>/dev/null
    ip tuntap add dev "$1" mode tap &&
        ip addr add "$2/24" dev "$1" &&
        ip link set "$1" mtu 65520 &&
        ip link set "$1" up
}
tap_down() { ip link del "$1" 2>/dev/null; }

# hvmm_guest NAME COMMAND HVMM_ARG...: `hvmm run` as root (the TAPs are the lab's) in the
# background, console in $WORK/NAME.out.
hvmm_guest() {
    local name=$1 cmd=$2
    shift 2
    start_bg "$name" "$LIMIT" hvmm run --mem 384 --run "$cmd" "$@"
}

# Guest-side helpers every guest command starts with (the command travels base64-encoded on a
# kernel command line of at most 2047 characters, so the boots' commands call these):
#   R                  what the guest has: functions virtio_pci bound, each NIC's driver,
#                      virtio's interrupt lines (MSI-X names them virtioN-input.0 and so on)
#   P TAG ADDR [SIZE]  three pings, bracketed "TAG-begin" ... "TAG-status N" (a 90 s
#                      deadline: a loaded lab has frozen the guest for 24 s mid-ping)
#   I TAG ADDR [-R]    iperf3 for 5 s, bracketed the same way
#   C PROTO FIELD      a /proc/net/snmp counter
#   M TAG MTU SIZE     eth0 at MTU, three SIZE-byte pings to the lab, the fragments IP made
GUEST_LIB='R(){ echo virtio-pci-bound: $(ls /sys/bus/pci/drivers/virtio-pci|grep -c ^0000:)
for n in /sys/class/net/eth*;do echo "driver: ${n##*/} $(basename $(readlink $n/device/driver))";done
grep -i virtio /proc/interrupts|sed "s/^/irq: /";ip link show eth0|sed "s/^/link: /";}
P(){ echo $1-begin;ping -c 3 -w 90 ${3:+-s $3} $2;echo $1-status $?;}
I(){ echo $1-begin;timeout 40 iperf3 -c $2 -t 5 -f m $3;echo $1-status $?;}
C(){ awk -v f=$2 "/^$1:/{if(!h){for(i=1;i<=NF;i++)c[\$i]=i;h=1}else print \$c[f]}" /proc/net/snmp;}
M(){ echo $1-begin;ip link set eth0 mtu $2;echo mtu-now $(cat /sys/class/net/eth0/mtu);f=$(C Ip FragCreates)
P $1-ping '"$HOST_IP"' $3;echo frag-creates: $(($(C Ip FragCreates)-f));echo $1-end;}
'

line_of() { console "$1" | grep -m1 "$2" || true; }

# judge_binds CHECK NAME: virtio_pci bound one function and eth0's driver is virtio_net.
judge_binds() {
    local check=$1 name=$2
    if [[ $(cat "$WORK/$name.status" 2>/dev/null) != 0 ]]; then
        record "$check" FAIL "hvmm exited $(cat "$WORK/$name.status" 2>/dev/null)" "$WORK/$name.out" "$WORK/$name.err"
    elif console "$name" | grep -q '^virtio-pci-bound: 1' && console "$name" | grep -q '^driver: eth0 virtio_net'; then
        record "$check" PASS "$(line_of "$name" '^virtio-pci-bound') ; $(line_of "$name" '^driver: eth0')"
    else
        record "$check" FAIL "virtio_pci/virtio_net did not bind" "$WORK/$name.out" "$WORK/$name.err"
    fi
}

# judge_ping CHECK NAME TAG: the guest's "TAG-status 0" and all three replies.
judge_ping() {
    local check=$1 name=$2 tag=$3 summary
    summary=$(console "$name" | sed -n "/^$tag-begin/,/^$tag-status/p" | grep -m1 'packets transmitted')
    if console "$name" | grep -q "^$tag-status 0" && [[ $summary == *"3 packets received"* ]]; then
        record "$check" PASS "$tag: $summary"
    else
        record "$check" FAIL "$tag: ${summary:-no summary}" "$WORK/$name.out" "$WORK/$name.err"
    fi
}

# judge_iperf CHECK NAME TAG WHAT: status 0 and a non-zero receiver rate.
judge_iperf() {
    local check=$1 name=$2 tag=$3 what=$4 section line rate
    section=$(console "$name" | sed -n "/^$tag-begin/,/^$tag-status/p")
    line=$(grep -m1 'receiver' <<<"$section" || true)
    rate=$(sed -n 's/.* \([0-9.]*\) Mbits\/sec.*/\1/p' <<<"$line")
    if ! grep -q "^$tag-status 0" <<<"$section"; then
        record "$check" FAIL "$what did not complete" "$WORK/$name.out" "$WORK/$name.err"
    elif [[ -z $rate ]] || awk -v r="$rate" 'BEGIN { exit !(r <= 0) }'; then
        record "$check" FAIL "$what: no throughput in '$line'" "$WORK/$name.out"
    else
        record "$check" PASS "$what: $rate Mbit/s ($line)"
    fi
}

# judge_mtu CHECK NAME TAG MTU: the guest took the MTU and its large pings went out whole (the
# guest's IP layer created no fragments).
judge_mtu() {
    local check=$1 name=$2 tag=$3 mtu=$4 section summary frags
    section=$(console "$name" | sed -n "/^$tag-begin/,/^$tag-end/p")
    summary=$(grep -m1 'packets transmitted' <<<"$section")
    frags=$(sed -n 's/^frag-creates: //p' <<<"$section" | head -n1)
    if grep -q "^mtu-now $mtu" <<<"$section" && grep -q "^$tag-ping-status 0" <<<"$section" &&
        [[ $summary == *"3 packets received"* && $frags == 0 ]]; then
        record "$check" PASS "eth0 mtu $mtu: $summary, fragments created: 0"
    else
        record "$check" FAIL "eth0 mtu $mtu: '$(grep -m1 '^mtu-now' <<<"$section")', '${summary:-no summary}', fragments created '${frags:-?}'" \
            "$WORK/$name.out" "$WORK/$name.err"
    fi
}

# stat_of JSON NAME: one of hvmm's --stats-json counters ("virtio0.tx_frames"), empty if absent.
stat_of() { grep -oE "\"${2//./\\.}\": *[0-9]+" "$1" 2>/dev/null | grep -oE '[0-9]+$' | head -n1; }

# judge_coalescing NAME STATS: the guest's `ethtool -C` (VIRTIO_NET_F_NOTF_COAL's control
# commands) was taken, `ethtool -c` reads back what was set, iperf3 ran under it, and the device
# held notifications back on both queues (the frames sent, the ACKs back; its counters in
# --stats-json).
judge_coalescing() {
    local name=$1 stats=$2 section shown tx_held rx_held
    section=$(console "$name" | sed -n '/^coal-begin/,/^coal-tx-status/p')
    shown=$(sed -n 's/^coal: //p' <<<"$section" | tr -s ' \t' ' ' | tr '\n' ';')
    tx_held=$(stat_of "$stats" virtio0.tx_notifications_held)
    rx_held=$(stat_of "$stats" virtio0.rx_notifications_held)
    if ! grep -q '^coal-set-status 0' <<<"$section"; then
        record notification_coalescing FAIL "ethtool -C eth0 failed: $(grep -m1 -i 'cannot\|error\|not supported' <<<"$section")" "$WORK/$name.out"
    elif [[ $shown != *"rx-usecs: 200;"*"rx-frames: 32;"*"tx-usecs: 100;"*"tx-frames: 16;"* ]]; then
        record notification_coalescing FAIL "ethtool -c eth0 read back '$shown'" "$WORK/$name.out"
    elif ! grep -q '^coal-tx-status 0' <<<"$section"; then
        record notification_coalescing FAIL "iperf3 under coalescing did not complete" "$WORK/$name.out"
    elif ((${tx_held:-0} == 0 || ${rx_held:-0} == 0)); then
        record notification_coalescing FAIL "the device held no notification back (tx_notifications_held '${tx_held}', rx_notifications_held '${rx_held}')" "$stats"
    else
        record notification_coalescing PASS "ethtool -c: $shown $(grep -m1 receiver <<<"$section" | tr -s ' '); notifications held: TX $tx_held, RX $rx_held"
    fi
}

# ---- boot: basic (userspace data path, MSI-X) ----------------------------------------------------
run_basic() {
    local name=basic
    local cmd="$GUEST_LIB R
ethtool -k eth0 | grep -E '^(tx-checksumming|rx-checksumming|tcp-segmentation-offload|scatter-gather):' | sed 's/^/offload: /'
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
P ping $HOST_IP
echo guest-net-ready
i=0; while [ \$i -lt 300 ] && [ \$(C Icmp InEchos) -lt 3 ]; do sleep 0.2; i=\$((i + 1)); done
echo guest-icmp InEchos=\$(C Icmp InEchos)
ip link set eth0 promisc on; echo promisc-flags \$(cat /sys/class/net/eth0/flags); ip link show eth0 | sed -n 's/^.*<\(.*\)>.*/promisc-link: \1/p'
P promisc-ping $HOST_IP
ip link set eth0 promisc off
I iperf-tx $HOST_IP
I iperf-rx $HOST_IP -R
M mtu9000 9000 8972
M mtu65520 65520 65000
ip link set eth0 mtu 1500"
    tap_up "$TAP" "$HOST_IP" || { record virtio_binds FAIL "cannot make TAP $TAP in the lab"; return; }
    iperf3 -s >"$WORK/iperf-server.log" 2>&1 &
    local server=$!
    hvmm_guest "$name" "$cmd" --nic "virtio,net=tap:$TAP,mac=$MAC" --stats-json "$WORK/basic-stats.json"
    local lab_ping="" lab_ping_ok=1
    if wait_for "$name" '^guest-net-ready' 300; then
        ping -c 3 -w 90 "$GUEST_IP" >"$WORK/h2g.ping" 2>&1 && lab_ping_ok=0
        lab_ping=$(grep -m1 'packets transmitted' "$WORK/h2g.ping")
    fi
    finish "$name"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    tap_down "$TAP"
    cp "$WORK/basic-stats.json" "$OUT/" 2>/dev/null

    judge_binds virtio_binds "$name"
    # msix_vectors: MSI-X lines for the queues (virtioN-input.0, -output.0) and config.
    local msix
    msix=$(console "$name" | grep '^irq: ' | grep -c -E 'PCI-MSIX?.*virtio[0-9]+-(input|output)' || true)
    if ((msix >= 2)); then
        record msix_vectors PASS "$msix MSI-X queue lines: $(console "$name" | grep '^irq: ' | tr -s ' ' | tr '\n' ';')"
    else
        record msix_vectors FAIL "no MSI-X queue lines in /proc/interrupts" "$WORK/$name.out"
    fi
    local offloads
    offloads=$(console "$name" | sed -n 's/^offload: //p' | tr '\n' ';')
    if [[ $offloads == *scatter-gather* && $offloads == *tx-checksumming* ]]; then
        record offloads_shown PASS "ethtool -k eth0: $offloads"
    else
        record offloads_shown FAIL "ethtool -k eth0 showed '${offloads:-nothing}'" "$WORK/$name.out"
    fi
    judge_ping ping_guest_to_host "$name" ping
    if [[ $lab_ping_ok == 0 && $lab_ping == *"3 packets received"* ]]; then
        record ping_host_to_guest PASS "lab ping $GUEST_IP: $lab_ping; $(line_of "$name" '^guest-icmp')"
    else
        record ping_host_to_guest FAIL "lab ping $GUEST_IP: ${lab_ping:-the guest never got its network ready}" \
            "$WORK/h2g.ping" "$WORK/$name.out"
    fi
    # promiscuous: the flag reached the device (IFF_PROMISC is 0x100) and traffic went on.
    local flags
    flags=$(console "$name" | sed -n 's/^promisc-flags //p' | head -n1)
    if [[ -n $flags ]] && (((flags & 0x100) != 0)) && console "$name" | grep -q '^promisc-link: .*PROMISC' &&
        console "$name" | grep -q '^promisc-ping-status 0'; then
        record promiscuous PASS "eth0 flags $flags, $(line_of "$name" '^promisc-link'), ping went on"
    else
        record promiscuous FAIL "eth0 flags '${flags:-?}'" "$WORK/$name.out"
    fi
    judge_iperf iperf3_tx "$name" iperf-tx "guest -> lab (iperf3 -c -t 5)"
    judge_iperf iperf3_rx "$name" iperf-rx "lab -> guest (iperf3 -c -t 5 -R)"
    judge_mtu mtu_9000 "$name" mtu9000 9000
    judge_mtu mtu_65520 "$name" mtu65520 65520
    # stats_per_packet: --stats-json carries the virtio NIC's own counters.
    if grep -qE '"virtio0\.tx_frames": *[1-9]' "$WORK/basic-stats.json" 2>/dev/null; then
        record stats_per_packet PASS "$(grep -oE '"virtio0\.[a-z_]+": *[0-9]+' "$WORK/basic-stats.json" | tr '\n' ' ')"
    else
        record stats_per_packet FAIL "no virtio0 counters in --stats-json" "$WORK/basic-stats.json"
    fi
}

# ---- boot: nomsi (INTx) -------------------------------------------------------------------------
run_nomsi() {
    local name=nomsi
    local cmd="$GUEST_LIB R
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
P ping $HOST_IP
I iperf-tx $HOST_IP"
    tap_up "$TAP" "$HOST_IP" || { record nomsi_binds FAIL "cannot make TAP $TAP in the lab"; return; }
    iperf3 -s >"$WORK/iperf-server.log" 2>&1 &
    local server=$!
    hvmm_guest "$name" "$cmd" --nic "virtio,net=tap:$TAP" --append "$DEFAULT_APPEND pci=nomsi"
    finish "$name"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    tap_down "$TAP"
    judge_binds nomsi_binds "$name"
    if console "$name" | grep '^irq: ' | grep -q -E 'PCI-MSI'; then
        record nomsi_binds FAIL "pci=nomsi, yet MSI lines: $(console "$name" | grep '^irq: ' | tr '\n' ';')" "$WORK/$name.out"
    fi
    judge_ping nomsi_ping "$name" ping
    judge_iperf nomsi_iperf3 "$name" iperf-tx "guest -> lab over INTx (iperf3 -c -t 5)"
}

# ---- boot: link --------------------------------------------------------------------------------
run_link() {
    local name=link
    local cmd="$GUEST_LIB ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
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
P ping-after $HOST_IP
echo coal-begin;ethtool -C eth0 rx-usecs 200 rx-frames 32 tx-usecs 100 tx-frames 16;echo coal-set-status \$?
ethtool -c eth0|grep -E '^[rt]x-(usecs|frames):'|sed 's/^/coal: /'
I coal-tx $HOST_IP"
    tap_up "$TAP" "$HOST_IP" || { record link_down_up FAIL "cannot make TAP $TAP in the lab"; return; }
    iperf3 -s >"$WORK/iperf-server-link.log" 2>&1 &
    local server=$!
    hvmm_guest "$name" "$cmd" --nic "virtio,net=tap:$TAP" --stats-json "$WORK/link-stats.json"
    local stage="the guest never reported its network ready"
    if wait_for "$name" '^guest-link-ready' 300; then
        stage="carrier did not go to 0 within 20 s of 'ip link set $TAP down'"
        ip link set "$TAP" down
        if wait_for "$name" '^carrier-now 0' 20; then
            stage="carrier did not come back to 1 within 20 s of 'ip link set $TAP up'"
            ip link set "$TAP" up
            if wait_for "$name" '^ping-after-begin' 20; then stage=ok; fi
        fi
    fi
    ip link set "$TAP" up 2>/dev/null
    finish "$name"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    tap_down "$TAP"
    local changes
    changes=$(console "$name" | grep -E '^carrier-now' | tr '\n' ';')
    if [[ $stage == ok ]] && console "$name" | grep -q '^ping-after-status 0'; then
        record link_down_up PASS "guest saw the TAP go down and up ($changes) and pinged again"
    else
        record link_down_up FAIL "$stage: $changes" "$WORK/$name.out" "$WORK/$name.err"
    fi
    judge_coalescing "$name" "$WORK/link-stats.json"
}

# ---- boot: vhost -------------------------------------------------------------------------------
run_vhost() {
    local name=vhost
    local cmd="$GUEST_LIB R
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
P ping $HOST_IP
I iperf-tx $HOST_IP
I iperf-rx $HOST_IP -R
M mtu9000 9000 8972"
    tap_up "$TAP" "$HOST_IP" || { record vhost_binds FAIL "cannot make TAP $TAP in the lab"; return; }
    if [[ ! -c /dev/vhost-net ]]; then
        record vhost_binds FAIL "the lab has no /dev/vhost-net (vhost_net module not loaded)"
    fi
    iperf3 -s >"$WORK/iperf-server.log" 2>&1 &
    local server=$!
    # poll-us=20: vhost's worker busy-polls each ring 20 us (VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
    # issued at DRIVER_OK by the sandboxed vCPU thread: this run proves the filter allows it).
    hvmm_guest "$name" "$cmd" --nic "virtio,net=tap:$TAP,vhost=on,poll-us=20" --stats-json "$WORK/vhost-stats.json"
    finish "$name"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    tap_down "$TAP"
    cp "$WORK/vhost-stats.json" "$OUT/" 2>/dev/null
    judge_binds vhost_binds "$name"
    judge_ping vhost_ping "$name" ping
    judge_iperf vhost_iperf3_tx "$name" iperf-tx "guest -> lab with vhost-net (iperf3 -c -t 5)"
    judge_iperf vhost_iperf3_rx "$name" iperf-rx "lab -> guest with vhost-net (iperf3 -c -t 5 -R)"
    judge_mtu vhost_mtu_9000 "$name" mtu9000 9000
}

# ---- boot: both (a PCnet and a virtio NIC at once) -----------------------------------------------
run_both() {
    local name=both vmac=52:54:00:ab:cd:e2 pmac=52:54:00:ab:cd:e3
    # Each NIC is found by its MAC (which driver probes first decides eth0), and the lab counts
    # the echo requests each TAP carried: an answer must not come through the other NIC.
    local cmd="$GUEST_LIB R
N(){ for n in /sys/class/net/eth*;do [ \$(cat \$n/address) = \$1 ]&&echo \${n##*/};done;}
v=\$(N $vmac);p=\$(N $pmac);echo nics: virtio=\$v pcnet=\$p
ip link set \$v up&&ip addr add $GUEST_IP/24 dev \$v;ip link set \$p up&&ip addr add $GUEST_IP2/24 dev \$p
P ping0 $HOST_IP
P ping1 $HOST_IP2"
    tap_up "$TAP" "$HOST_IP" && tap_up "$TAP2" "$HOST_IP2" ||
        { record both_nics_bind FAIL "cannot make TAPs in the lab"; return; }
    # The virtio NIC polls its transmit ring (poll-us=200) on the I/O thread the PCnet shares.
    hvmm_guest "$name" "$cmd" --nic "virtio,net=tap:$TAP,mac=$vmac,poll-us=200" \
        --nic "pcnet,net=tap:$TAP2,mac=$pmac" --stats-json "$WORK/both-stats.json"
    finish "$name"
    cp "$WORK/both-stats.json" "$OUT/" 2>/dev/null
    local rx0 rx1
    rx0=$(cat "/sys/class/net/$TAP/statistics/rx_packets" 2>/dev/null)
    rx1=$(cat "/sys/class/net/$TAP2/statistics/rx_packets" 2>/dev/null)
    tap_down "$TAP"
    tap_down "$TAP2"
    local v p
    v=$(console "$name" | sed -n 's/^nics: virtio=\([a-z0-9]*\) .*/\1/p')
    p=$(console "$name" | sed -n 's/^nics: .*pcnet=\([a-z0-9]*\)$/\1/p')
    if [[ -n $v && -n $p ]] && console "$name" | grep -q "^driver: $v virtio_net" &&
        console "$name" | grep -q "^driver: $p pcnet32"; then
        record both_nics_bind PASS "$(console "$name" | grep '^driver: ' | tr '\n' ';')"
    else
        record both_nics_bind FAIL "want one virtio_net and one pcnet32 NIC by their MACs (virtio '$v', pcnet '$p')" \
            "$WORK/$name.out" "$WORK/$name.err"
    fi
    if console "$name" | grep -q '^ping0-status 0' && console "$name" | grep -q '^ping1-status 0' &&
        ((${rx0:-0} >= 3 && ${rx1:-0} >= 3)); then
        record both_nics_ping PASS "virtio $v -> $HOST_IP over $TAP ($rx0 frames) and PCnet $p -> $HOST_IP2 over $TAP2 ($rx1 frames) both answered"
    else
        record both_nics_ping FAIL "ping0 $(line_of "$name" '^ping0-status') ping1 $(line_of "$name" '^ping1-status'); frames from the guest: $TAP ${rx0:-?}, $TAP2 ${rx1:-?}" \
            "$WORK/$name.out" "$WORK/$name.err"
    fi
    # both_virtio_poll: each transmit drain that emptied the ring was followed by a watch of it
    # (counted with its time), and the PCnet on the same I/O thread still answered (above).
    local windows ns frames
    windows=$(sed -n 's/.*"virtio0\.tx_poll_windows": *\([0-9]*\).*/\1/p' "$WORK/both-stats.json" 2>/dev/null)
    ns=$(sed -n 's/.*"virtio0\.tx_poll_ns": *\([0-9]*\).*/\1/p' "$WORK/both-stats.json" 2>/dev/null)
    frames=$(sed -n 's/.*"virtio0\.tx_frames": *\([0-9]*\).*/\1/p' "$WORK/both-stats.json" 2>/dev/null)
    if ((${windows:-0} > 0 && ${ns:-0} > 0 && ${frames:-0} >= 3)) &&
        console "$name" | grep -q '^ping1-status 0'; then
        record both_virtio_poll PASS "poll-us=200: $frames frames sent, $windows windows watched for $((ns / 1000)) us in all; the PCnet beside it answered"
    else
        record both_virtio_poll FAIL "poll-us=200: tx_poll_windows '${windows:-?}', tx_poll_ns '${ns:-?}', tx_frames '${frames:-?}'; PCnet $(line_of "$name" '^ping1-status')" \
            "$WORK/both-stats.json" "$WORK/$name.err"
    fi
}

# ---- the vhost-net unit tests against the lab kernel's /dev/vhost-net -------------------------------
run_kernel_tests() {
    if [[ -z $UNIT ]]; then
        record vhost_kernel_tests FAIL "no unit-test binary given (--unit)"
        return
    fi
    "$UNIT" --gtest_filter='VhostNetKernel.*' >"$WORK/kernel.out" 2>&1
    local status=$? passed skipped
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$WORK/kernel.out")
    skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$WORK/kernel.out")
    if [[ $status == 0 && ${passed:-0} -ge 3 && -z $skipped ]]; then
        record vhost_kernel_tests PASS "$passed VhostNetKernel tests passed against the lab's /dev/vhost-net, none skipped"
    else
        record vhost_kernel_tests FAIL "status $status, passed '${passed:-0}', skipped '${skipped:-0}'" "$WORK/kernel.out"
    fi
}

main() {
    command -v hvmm >/dev/null || { echo "no hvmm in the lab" >&2; exit 1; }
    local boot default="basic nomsi link vhost both"
    if [[ ${1:-} == --unit ]]; then
        UNIT=$2
        default+=" kernel"
        shift 2
    fi
    for boot in ${*:-$default}; do
        case $boot in
            basic) run_basic ;;
            nomsi) run_nomsi ;;
            link) run_link ;;
            vhost) run_vhost ;;
            both) run_both ;;
            kernel) run_kernel_tests ;;
            *) echo "virtio_checks.sh: no boot '$boot'" >&2 ;;
        esac
    done
    cp "$WORK"/*.out "$WORK"/*.err "$OUT/" 2>/dev/null
    rm -rf "$WORK"
    ls "$OUT"
}

main "$@"
