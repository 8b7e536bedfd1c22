#!/bin/bash
# Runs inside the lab (one lab boot for the scenarios given; ctest runs two): hvmm's networks without root (VMnet): the
# user (NAT) network, the stream and dgram sockets against their real peers (QEMU 7.2, passt),
# and `hvmm switch` with two hvmm VMs and a QEMU 7.2 VM on it. hvmm and the switch run as an
# unprivileged user (uid/gid 65534, no capabilities) wherever the feature says "without root";
# QEMU and passt are the peers. Each check writes $HVMM_LAB_OUT/NAME.result (PASS|FAIL first);
# every wait is bounded. Exits 0 once every check has run.
#
# usage (in the lab): vmnet_checks.sh [--flood FRAME_FLOOD] [SCENARIO...]   (default: user nowarn qemu_stream
#        qemu_dgram passt switch)
set -uo pipefail

OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
WORK=$(mktemp -d)
chmod 1777 "$WORK"  # the unprivileged user writes its pcap, stats and switch files here
LIMIT=${HVMM_CHECK_TIMEOUT:-300}
source "$(dirname "${BASH_SOURCE[0]}")/lab_checks_lib.sh"

# The unprivileged user: no root, no capability, no set-uid helper. (util-linux's setpriv: the
# lab's busybox has an applet of that name without these options.)
AS_USER=(/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
# A QEMU 7.2 VM, run by the same unprivileged user as hvmm (so its socket files are that user's,
# as on a desktop). Its pcnet needs no option ROM for a -kernel boot.
qemu72_guest() { # qemu72_guest NAME MAC COMMAND NETDEV...
    local name=$1 mac=$2 cmd=$3
    shift 3
    start_bg "$name" "$LIMIT" "${AS_USER[@]}" qemu-7.2 -enable-kvm -m 256 -nodefaults -no-reboot -display none \
        -serial stdio -kernel "$HVMM_GUEST_KERNEL" -initrd "$HVMM_GUEST_INITRD" \
        -append "console=ttyS0 reboot=k panic=-1 hvmm.run=$(guest_run_arg "$cmd")" \
        -netdev "$*" -device "pcnet,netdev=n0,mac=$mac,romfile="
}
hvmm_guest() { # hvmm_guest NAME NIC COMMAND [HVMM_ARG...]: as the unprivileged user (LIMIT s)
    local name=$1 nic=$2 cmd=$3
    shift 3
    start_bg "$name" "$LIMIT" "${AS_USER[@]}" env HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/xdg" \
        hvmm run --mem 256 --nic "$nic" --run "$cmd" "$@"
}

# ---- user: NAT through libslirp, as an unprivileged user ---------------------------------------
run_user() {
    local token=lab-token-$RANDOM$RANDOM port=18080
    mkdir -p "$WORK/www" && echo "$token" >"$WORK/www/token.txt"
    busybox httpd -p 127.0.0.1:8081 -h "$WORK/www"
    sysctl -qw net.ipv4.ping_group_range="0 2147483647"
    local cmd="ip -4 addr show eth0 | sed -n 's/^ *inet /inet: /p'
sed -n 's/^nameserver /dns: /p' /etc/resolv.conf
ip route | sed -n 's/^default via /gw: /p'
echo \"fetched: \$(wget -qO- http://10.0.2.2:8081/token.txt)\"
ping -c 2 -w 15 10.0.2.2 >/dev/null; echo ping-status \$?
mkdir -p /tmp/www && echo guest-$token >/tmp/www/index.html && httpd -p 80 -h /tmp/www
echo guest-httpd-ready
i=0; while [ ! -e /tmp/www/served ] && [ \$i -lt 100 ]; do sleep 0.3; i=\$((i + 1)); done"
    hvmm_guest user "pcnet,hostfwd=tcp:127.0.0.1:$port-:80,pcap=$WORK/user.pcap" "$cmd" \
        --stats-json "$WORK/user-stats.json"
    local fwd=""
    if wait_for user '^guest-httpd-ready' "$LIMIT"; then
        fwd=$(wget -qO- "http://127.0.0.1:$port/" 2>&1)
    fi
    finish user
    pkill -f "httpd -p 127.0.0.1:8081" 2>/dev/null
    local log=$WORK/user.out err=$WORK/user.err
    cp "$WORK/user.pcap" "$OUT/user.pcap" 2>/dev/null

    if [[ $STATUS == 0 ]] && ! grep -qi 'warning.*ping' "$err"; then
        record user_unprivileged PASS "hvmm ran as uid 65534 with no capabilities and exited 0" "$err"
    else
        record user_unprivileged FAIL "hvmm as uid 65534 exited $STATUS" "$log" "$err"
    fi
    if grep -q '^inet: 10.0.2.15/24' <<<"$(console user)" && grep -q '^dns: 10.0.2.3' <<<"$(console user)" &&
        grep -q '^gw: 10.0.2.2' <<<"$(console user)"; then
        record user_dhcp PASS "DHCP: $(console user | grep -E '^(inet|dns|gw):' | tr '\n' ' ')"
    else
        record user_dhcp FAIL "want 10.0.2.15/24, DNS 10.0.2.3, gateway 10.0.2.2 from DHCP" "$log" "$err"
    fi
    if grep -q "^fetched: $token\$" <<<"$(console user)"; then
        record user_tcp_to_host PASS "wget http://10.0.2.2:8081/ reached the lab's own 127.0.0.1:8081: $token"
    else
        record user_tcp_to_host FAIL "the guest did not fetch $token from the lab through NAT" "$log" "$err"
    fi
    if grep -q '^ping-status 0' <<<"$(console user)"; then
        record user_ping PASS "ping 10.0.2.2 answered (unprivileged ICMP sockets allowed)"
    else
        record user_ping FAIL "ping 10.0.2.2 from the guest failed" "$log" "$err"
    fi
    if [[ $fwd == "guest-$token" ]]; then
        record user_hostfwd PASS "hostfwd=tcp:127.0.0.1:$port-:80: the lab fetched the guest's page"
    else
        record user_hostfwd FAIL "wget 127.0.0.1:$port got '${fwd:0:200}'" "$log" "$err"
    fi
    if [[ -s $WORK/user-stats.json ]] && grep -q 'rx_frames' "$WORK/user-stats.json"; then
        cp "$WORK/user-stats.json" "$OUT/user-stats.json"
        record user_stats PASS "--stats-json has the backend's counters" "$WORK/user-stats.json"
    else
        record user_stats FAIL "no backend counters in --stats-json" "$WORK/user-stats.json" "$err"
    fi
}

# ---- nowarn: unprivileged ICMP refused by the host: one clear warning at start ----------------
run_ping_warning() {
    sysctl -qw net.ipv4.ping_group_range="1 0"
    hvmm_guest nowarn "pcnet,net=user" "true"
    finish nowarn
    sysctl -qw net.ipv4.ping_group_range="0 2147483647"
    local n
    n=$(grep -ci 'ping_group_range' "$WORK/nowarn.err")
    if [[ $STATUS == 0 && $n == 1 ]]; then
        record user_ping_warning PASS "one warning: $(grep -i -m1 'ping_group_range' "$WORK/nowarn.err")"
    else
        record user_ping_warning FAIL "hvmm exited $STATUS with $n warnings naming ping_group_range" "$WORK/nowarn.err"
    fi
}

# ping_peer NAME: "ping-status N" from a guest's console ("?" when it never said).
ping_status() { console "$1" | sed -n 's/^ping-status //p' | tail -n 1; }

# guest_pings ADDRESS: a guest command that configures eth0 as ITS/24 and pings ADDRESS until it
# answers (up to 60 s, so that the peer's boot time does not matter), then stays up 15 s more for
# the peer's own pings.
guest_pings() { # guest_pings OWN PEER
    echo "ip link set eth0 up && ip addr add $1/24 dev eth0
i=0; ok=1; while [ \$i -lt 60 ]; do ping -c 1 -W 1 $2 >/dev/null && { ok=0; break; }; i=\$((i + 1)); done
ping -c 3 -W 3 $2; echo ping-status \$?; sleep 15"
}

# ---- qemu_stream: hvmm connects to a QEMU 7.2 VM's -netdev stream server ----------------------
run_qemu_stream() {
    qemu72_guest q72s 52:54:00:72:00:01 "$(guest_pings 10.0.3.2 10.0.3.1)" \
        "stream,id=n0,server=on,addr.type=unix,addr.path=$WORK/q72.sock"
    local i
    for ((i = 0; i < 150; i++)); do [[ -S $WORK/q72.sock ]] && break; sleep 0.2; done
    hvmm_guest hs "pcnet,net=stream:$WORK/q72.sock,reconnect=1" "$(guest_pings 10.0.3.1 10.0.3.2)"
    finish hs
    finish q72s
    if [[ $(ping_status hs) == 0 && $(ping_status q72s) == 0 ]]; then
        record stream_qemu72 PASS "hvmm (net=stream:) and a QEMU 7.2 VM (-netdev stream server) pinged each other"
    else
        record stream_qemu72 FAIL "ping hvmm->QEMU $(ping_status hs), QEMU->hvmm $(ping_status q72s) (hvmm $STATUS)" \
            "$WORK/hs.out" "$WORK/hs.err" "$WORK/q72s.out" "$WORK/q72s.err"
    fi
}

# ---- qemu_dgram: hvmm and a QEMU 7.2 VM over -netdev dgram (Unix datagrams) --------------------
run_qemu_dgram() {
    local h=$WORK/hvmm-dgram.sock q=$WORK/qemu-dgram.sock
    qemu72_guest q72d 52:54:00:72:00:02 "$(guest_pings 10.0.4.2 10.0.4.1)" \
        "dgram,id=n0,local.type=unix,local.path=$q,remote.type=unix,remote.path=$h"
    hvmm_guest hd "pcnet,net=dgram:$h,$q" "$(guest_pings 10.0.4.1 10.0.4.2)"
    finish hd
    finish q72d
    if [[ $(ping_status hd) == 0 && $(ping_status q72d) == 0 ]]; then
        record dgram_qemu72 PASS "hvmm (net=dgram:) and a QEMU 7.2 VM (-netdev dgram) pinged each other"
    else
        record dgram_qemu72 FAIL "ping hvmm->QEMU $(ping_status hd), QEMU->hvmm $(ping_status q72d) (hvmm $STATUS)" \
            "$WORK/hd.out" "$WORK/hd.err" "$WORK/q72d.out" "$WORK/q72d.err"
    fi
}

# ---- passt: hvmm on Debian's passt (its Unix socket speaks QEMU's stream framing) --------------
# ON_A_MOVABLE_ROOT COMMAND...: COMMAND in a mount namespace of its own whose / is a bind mount of
# the lab's root moved over it. passt's sandbox pivot_root()s into an empty tmpfs, which the
# kernel refuses while the caller's root is the initramfs itself (rootfs has no parent mount:
# EINVAL, passt's "Failed to sandbox process"). A bind mount moved onto / and chroot'ed into is
# what container runtimes do on a ramdisk; to the kernel it is no chroot (current_chrooted()
# follows the mounts stacked on the namespace's root), so passt may still make its unprivileged
# user namespace. Everything stays at its path: the socket passt makes is the lab's.
# (An array, not a function: start_bg's `timeout` runs programs.)
ON_A_MOVABLE_ROOT=(unshare -m sh -c 'mkdir -p /run/movable-root && mount --rbind / /run/movable-root &&
    cd /run/movable-root && mount --move . / && exec chroot . "$@"' sh)
# passt needs a host interface with a default route to copy: a dummy one; it maps the guest's
# traffic to that gateway onto the lab's own loopback, where busybox httpd serves a token.
run_passt() {
    local token=passt-token-$RANDOM$RANDOM
    ip link add hvmmdummy0 type dummy 2>/dev/null
    ip addr add 192.0.2.1/24 dev hvmmdummy0 2>/dev/null
    ip link set hvmmdummy0 up
    ip route add default via 192.0.2.254 2>/dev/null
    mkdir -p "$WORK/pwww" && echo "$token" >"$WORK/pwww/token.txt"
    busybox httpd -p 8082 -h "$WORK/pwww"
    start_bg passt "$LIMIT" "${ON_A_MOVABLE_ROOT[@]}" "${AS_USER[@]}" passt -f -1 -s "$WORK/passt.sock"
    local i
    for ((i = 0; i < 150; i++)); do [[ -S $WORK/passt.sock ]] && break; sleep 0.2; done
    local cmd="ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script >/dev/null 2>&1
ip -4 addr show eth0 | sed -n 's/^ *inet /inet: /p'
echo \"fetched: \$(wget -qO- http://192.0.2.254:8082/token.txt)\""
    hvmm_guest hp "pcnet,net=stream:$WORK/passt.sock" "$cmd"
    finish hp
    pkill -f "httpd -p 8082" 2>/dev/null
    pkill -x passt 2>/dev/null
    if grep -q "^fetched: $token\$" <<<"$(console hp)"; then
        record stream_passt PASS "via passt: DHCP $(console hp | sed -n 's/^inet: //p' | head -n1), fetched $token from the lab"
    else
        record stream_passt FAIL "the guest did not fetch $token through passt (hvmm $STATUS)" \
            "$WORK/hp.out" "$WORK/hp.err" "$WORK/passt.out" "$WORK/passt.err"
    fi
    ip route del default via 192.0.2.254 2>/dev/null
    ip link del hvmmdummy0 2>/dev/null
}

# ---- switch: two hvmm VMs and a QEMU 7.2 VM on `hvmm switch` with DHCP --------------------------
# A and B (hvmm, unprivileged) get reserved addresses by DHCP, ping each other and run iperf3
# while a hostile peer floods the switch with random source MACs; the QEMU 7.2 VM takes a pool
# address and pings A. Then the switch is SIGKILLed and started again: A and B see their carrier
# go down and come back, and ping each other again. The daemon runs SCHED_BATCH (`--io-sched
# batch`, not its default), so every check below also holds with a batching switch.
SWITCH_ARGS=(lab0 --subnet 192.168.77.0/24 --dhcp --reserve 52:54:00:00:77:0a=192.168.77.10
             --reserve 52:54:00:00:77:0b=192.168.77.11 --io-sched batch)
# The scenario "switch_nat" (ctest's) adds --nat and checks it; "switch" runs without it.
SWITCH_NAT=""
# With --nat, VMs reach the lab host by its own addresses (libslirp's .2 is the gateway and DNS,
# not the host's loopback): a dummy interface gives the lab one, with a web server on it.
NAT_HOST=198.51.100.1

# switch_guest PEER ROLE: A serves iperf3, B runs the client; both then follow their carrier
# through the switch's restart and ping the peer again. The carrier waits are long (300 s): the
# restart comes only after the slower QEMU guest is done too, which a loaded lab stretches (a
# 90 s wait once ran out before the switch was killed).
switch_guest() {
    local peer=$1 role=$2 iperf
    if [[ $role == server ]]; then iperf="iperf3 -s -1 -D"; else iperf="echo iperf-starting; iperf3 -c $peer -t 6 2>&1 | grep -E 'sender|receiver|error' | sed 's/^/iperf: /'"; fi
    cat <<GUEST
ip -4 addr show eth0 | sed -n 's/^ *inet /inet: /p'
$([[ $role == server ]] && echo "$iperf")
$([[ $role == server ]] && echo "echo \"nat-fetched: \$(wget -qO- http://$NAT_HOST:8083/token.txt)\"")
i=0; while [ \$i -lt 90 ]; do ping -c 1 -W 1 $peer >/dev/null && break; i=\$((i + 1)); done
ping -c 3 -W 3 $peer; echo ping-status \$?
$([[ $role == client ]] && echo "sleep 2; $iperf; echo flood-now; ping -c 15 -W 2 $peer | grep 'packets transmitted' | sed 's/^/flood-ping: /'")
echo phase1-done
c() { cat /sys/class/net/eth0/carrier 2>/dev/null || echo x; }
i=0; while [ \$i -lt 1000 ] && [ "\$(c)" = 1 ]; do sleep 0.3; i=\$((i + 1)); done; echo carrier-now \$(c)
i=0; while [ \$i -lt 1000 ] && [ "\$(c)" != 1 ]; do sleep 0.3; i=\$((i + 1)); done; echo carrier-now \$(c)
i=0; while [ \$i -lt 60 ]; do ping -c 1 -W 1 $peer >/dev/null && break; i=\$((i + 1)); done
ping -c 3 -W 3 $peer; echo ping2-status \$?
sleep 8
GUEST
}

run_switch() {
    local sw=(env HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/xdg" hvmm switch)
    local sock=$WORK/xdg/hvmm/lab0.sock token=nat-token-$RANDOM$RANDOM
    ip link add hvmmnat0 type dummy 2>/dev/null
    ip addr add "$NAT_HOST/24" dev hvmmnat0 2>/dev/null
    ip link set hvmmnat0 up
    mkdir -p "$WORK/nwww" && echo "$token" >"$WORK/nwww/token.txt"
    busybox httpd -p "$NAT_HOST:8083" -h "$WORK/nwww"
    [[ -n $SWITCH_NAT ]] && SWITCH_ARGS+=(--nat)
    if ! "${AS_USER[@]}" "${sw[@]}" start "${SWITCH_ARGS[@]}" --pcap "$WORK/switch.pcap" \
        >"$WORK/switch-start.out" 2>&1; then
        record switch_dhcp FAIL "hvmm switch start failed" "$WORK/switch-start.out"
        return
    fi
    # The daemon started by an unprivileged user with `--io-sched batch` (SWITCH_ARGS) is
    # SCHED_BATCH: policy 3, /proc/PID/stat field 41.
    local switch_pid policy
    switch_pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$WORK/switch-start.out")
    policy=$(sed 's/.*) //' "/proc/${switch_pid:-0}/stat" 2>/dev/null | awk '{print $39}')
    if [[ $policy == 3 ]]; then
        record switch_io_sched_batch PASS "the switch daemon (pid $switch_pid, uid $(stat -c %u "/proc/$switch_pid")) runs SCHED_BATCH"
    else
        record switch_io_sched_batch FAIL "the switch daemon (pid '${switch_pid}') has policy '${policy}', want 3" "$WORK/switch-start.out"
    fi
    LIMIT=480 hvmm_guest swa "pcnet,net=switch:lab0,mac=52:54:00:00:77:0a" "$(switch_guest 192.168.77.11 server)"
    LIMIT=480 hvmm_guest swb "pcnet,net=switch:lab0,mac=52:54:00:00:77:0b" "$(switch_guest 192.168.77.10 client)"
    # The QEMU VM's pings may meet the MAC flood: 20000 broadcasts queued ahead of A's replies
    # in QEMU's receive path lost a whole ping -c 3 once. It tries again until one round is
    # answered (the check is that it joins, not that it rides out the flood).
    qemu72_guest swq 52:54:00:00:77:0c "ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script >/dev/null 2>&1
ip -4 addr show eth0 | sed -n 's/^ *inet /inet: /p'
i=0; while [ \$i -lt 90 ]; do ping -c 1 -W 1 192.168.77.10 >/dev/null && break; i=\$((i + 1)); done
i=0; while [ \$i -lt 12 ]; do ping -c 3 -w 10 192.168.77.10; s=\$?; [ \$s = 0 ] && break; i=\$((i + 1)); done
echo ping-status \$s; echo guest-done; sleep 5" \
        "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"

    # The MAC flood, while B pings A (after its iperf3 run); the table is read while the flooding
    # port is still connected (a port's entries go with it).
    local flooded="no flood tool" flood_status=1
    if wait_for swb '^flood-now' 400 && [[ -n $FLOOD ]]; then
        # The flooder holds its port until released (a fixed hold once ran out before a busy
        # lab's switch answered the status request, and the port's entries went with it).
        start_bg flood 200 "${AS_USER[@]}" "$FLOOD" "$sock" 20000 180
        if wait_for flood '^frame_flood: sent' 100; then
            "${AS_USER[@]}" "${sw[@]}" status lab0 --json >"$WORK/switch-flooded.json" 2>&1
        fi
        pkill -TERM -x "$(basename "$FLOOD")" 2>/dev/null
        finish flood
        flood_status=$STATUS
        flooded=$(console flood; cat "$WORK/flood.err")
    fi
    wait_for swa '^phase1-done' 200
    wait_for swb '^phase1-done' 200
    wait_for swq '^guest-done' 400
    "${AS_USER[@]}" "${sw[@]}" status lab0 --json >"$WORK/switch-status.json" 2>&1
    "${AS_USER[@]}" "${sw[@]}" list >"$WORK/switch-list.out" 2>&1

    # SIGKILL, then the same start again: the VMs' links go down and come back.
    local pid restarted=1
    pid=$(cat "$WORK/xdg/hvmm/lab0.pid" 2>/dev/null)
    [[ -n $pid ]] && kill -KILL "$pid"
    sleep 3
    "${AS_USER[@]}" "${sw[@]}" start "${SWITCH_ARGS[@]}" >"$WORK/switch-restart.out" 2>&1 && restarted=0
    finish swa
    finish swb
    finish swq
    "${AS_USER[@]}" "${sw[@]}" stop lab0 >"$WORK/switch-stop.out" 2>&1
    local stop_status=$?
    pkill -f "httpd -p $NAT_HOST:8083" 2>/dev/null
    ip link del hvmmnat0 2>/dev/null
    cp "$WORK/switch-status.json" "$WORK/switch-flooded.json" "$WORK/switch.pcap" "$OUT/" 2>/dev/null

    local a b q
    a=$(console swa | sed -n 's/^inet: //p' | head -n1)
    b=$(console swb | sed -n 's/^inet: //p' | head -n1)
    q=$(console swq | sed -n 's/^inet: //p' | head -n1)
    local q_host=${q#192.168.77.}
    q_host=${q_host%%/*}
    if [[ $a == 192.168.77.10/24* && $b == 192.168.77.11/24* && $q == 192.168.77.* ]] &&
        ((q_host >= 128 && q_host <= 253)); then
        record switch_dhcp PASS "leases: hvmm A $a, hvmm B $b (reserved), QEMU 7.2 $q (pool)"
    else
        record switch_dhcp FAIL "leases: A '$a' B '$b' QEMU '$q'" "$WORK/swa.out" "$WORK/swb.out" "$WORK/swq.out"
    fi
    if [[ $(ping_status swa) == 0 && $(ping_status swb) == 0 ]]; then
        record switch_ping_between_vms PASS "two hvmm VMs on switch lab0 pinged each other"
    else
        record switch_ping_between_vms FAIL "A->B $(ping_status swa), B->A $(ping_status swb)" \
            "$WORK/swa.out" "$WORK/swa.err" "$WORK/swb.out" "$WORK/swb.err"
    fi
    local rate
    rate=$(console swb | grep -m1 '^iperf: .*receiver' | grep -oE '[0-9.]+ [KMG]bits/sec' || true)
    [[ $rate == 0.00* ]] && rate=""
    if [[ -n $rate ]]; then
        record switch_iperf3 PASS "iperf3 B -> A across the switch: $rate" "$WORK/swb.out"
    else
        record switch_iperf3 FAIL "no iperf3 result from B" "$WORK/swb.out" "$WORK/swb.err" "$WORK/swa.out"
    fi
    local size during
    size=$(grep -oE '"size": ?[0-9]+' "$WORK/switch-flooded.json" 2>/dev/null | head -n1 | grep -oE '[0-9]+$')
    during=$(console swb | sed -n 's/^flood-ping: //p' | head -n1)
    # 20000 source MACs from one port: the table stops at the per-port cap (1024) plus the VMs,
    # and B's pings to A during the flood are answered.
    if [[ $flood_status == 0 && -n $size && $during == *" 0 packets received"* ]]; then during="$during (none answered)"; fi
    if [[ $flood_status == 0 && -n $size && -n $during && $during != *"(none answered)" ]] &&
        ((size >= 1000 && size <= 1024 + 8)); then
        record switch_mac_flood_bounded PASS "$flooded; during it the MAC table held $size entries (per-port cap 1024, total 4096) and B's pings to A went on: $during" "$WORK/switch-flooded.json"
    else
        record switch_mac_flood_bounded FAIL "flood: $flooded (status $flood_status); table size during it '${size:-?}'; B's pings during it: '${during:-none}'" "$WORK/switch-flooded.json" "$WORK/swb.out"
    fi
    if [[ $restarted == 0 ]] && console swa | grep -q '^carrier-now 0' && console swa | grep -q '^carrier-now 1' &&
        [[ $(console swa | sed -n 's/^ping2-status //p') == 0 && $(console swb | sed -n 's/^ping2-status //p') == 0 ]]; then
        record switch_restart_relinks PASS "after SIGKILL and a new start: carrier down, up, and A and B ping again"
    else
        record switch_restart_relinks FAIL "restart status $restarted; A: $(console swa | grep -E '^(carrier-now|ping2-status)' | tr '\n' ' ') B: $(console swb | grep -E '^(carrier-now|ping2-status)' | tr '\n' ' ')" \
            "$WORK/switch-restart.out" "$WORK/swa.out" "$WORK/swb.out"
    fi
    if [[ -z $SWITCH_NAT ]]; then
        :  # not asked for (scenario "switch" rather than "switch_nat")
    elif grep -q "^nat-fetched: $token\$" <<<"$(console swa)"; then
        record switch_nat PASS "VM A on the switch's NAT (--nat, gateway .2 by DHCP) fetched $token from the lab's $NAT_HOST"
    else
        record switch_nat FAIL "VM A did not fetch $token through the switch's NAT" "$WORK/swa.out" "$WORK/switch-status.json"
    fi
    if [[ $(ping_status swq) == 0 ]]; then
        record switch_qemu72_joins PASS "a QEMU 7.2 VM (-netdev stream client) on lab0 pinged hvmm A"
    else
        record switch_qemu72_joins FAIL "QEMU->A $(ping_status swq)" "$WORK/swq.out" "$WORK/swq.err"
    fi
    if grep -q '52:54:00:00:77:0a' "$WORK/switch-status.json" && grep -q '52:54:00:00:77:0c' "$WORK/switch-status.json"; then
        record switch_status_json PASS "status --json lists the VMs' MACs" "$WORK/switch-status.json"
    else
        record switch_status_json FAIL "status --json lacks the VMs' MACs" "$WORK/switch-status.json"
    fi
    if [[ $stop_status == 0 && -z $(find "$WORK/xdg" -type s 2>/dev/null) ]] && ! grep -q lab0 <<<"$("${AS_USER[@]}" "${sw[@]}" list 2>&1)"; then
        record switch_stop PASS "stop removed the sockets; list no longer shows lab0"
    else
        record switch_stop FAIL "stop exited $stop_status; left: $(find "$WORK/xdg" 2>/dev/null | tr '\n' ' ')" "$WORK/switch-stop.out"
    fi
}

FLOOD=""  # --flood PATH: tests/lab/tools/frame_flood, the switch check's hostile peer

main() {
    command -v hvmm >/dev/null || { echo "no hvmm in the lab" >&2; exit 1; }
    if [[ ${1:-} == --flood ]]; then FLOOD=$2; shift 2; fi
    chmod 666 /dev/kvm
    # The unprivileged user's own home and runtime directory, as a login would give them.
    mkdir -p "$WORK/home" "$WORK/xdg"
    chown 65534:65534 "$WORK/home" "$WORK/xdg" && chmod 700 "$WORK/xdg"
    local scenario
    for scenario in ${*:-user nowarn qemu_stream qemu_dgram passt switch}; do
        case $scenario in
            user) run_user ;;
            nowarn) run_ping_warning ;;
            qemu_stream) run_qemu_stream ;;
            qemu_dgram) run_qemu_dgram ;;
            passt) run_passt ;;
            switch) run_switch ;;
            switch_nat) SWITCH_NAT=1 run_switch ;;
            *) echo "vmnet_checks.sh: no scenario '$scenario'" >&2 ;;
        esac
    done
    cp "$WORK"/*.out "$WORK"/*.err "$OUT/" 2>/dev/null
    rm -rf "$WORK"
    ls "$OUT"
}

main "$@"
