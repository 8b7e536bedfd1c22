#!/bin/bash
# Runs inside the lab (bench/vmnet.sh sends it there): hvmm's networks without root (VMnet) side by
# side with QEMU 7.2's and QEMU 10's, in ONE lab boot, the same NIC model on both sides: PCnet
# (QEMU's `-device pcnet,romfile=`), or virtio-net for a unit named with `-virtio` at its end
# (hvmm `--nic virtio`, QEMU `-device virtio-net-pci,romfile=`, userspace on both: vhost needs a
# TAP); the default guest image, 256 MiB, 1 vCPU, the same kernel command line (hvmm's default:
# `console=ttyS0 reboot=k panic=-1 quiet`). hvmm and its switch run as the unprivileged user (uid
# 65534, no capabilities), as the features are meant to be used; QEMU as root, as the lab's other
# anchors do. Units, in the order given (each also as UNIT-virtio but nat-hvmm-nosigpipe):
#
#   nat-hvmm | nat-qemu72 | nat-qemu10 | nat-hvmm-nosigpipe
#       one VM on user-mode NAT (hvmm `--nic pcnet`, QEMU `-netdev user`), its address by DHCP;
#       iperf3 from the guest to the lab's iperf3 server through the gateway 10.0.2.2 (the lab's
#       127.0.0.1), then the reverse (-R); RUNS rounds of SECS seconds each way in one VM boot.
#       nat-hvmm-nosigpipe: hvmm started with SIGPIPE ignored (inherited through exec): at a6493b9
#       hvmm's net=user dies of SIGPIPE (status 141) when iperf3 starts (libslirp writes to a TCP
#       socket its peer has closed, and hvmm neither ignores the signal nor sends with
#       MSG_NOSIGNAL; QEMU ignores it), so this row measures the path as a fix would leave it.
#   v2v-hvmm-switch | v2v-hvmm-stream | v2v-hvmm-dgram | v2v-qemu72-stream | v2v-qemu72-dgram |
#   v2v-qemu10-stream | v2v-qemu10-dgram
#       two VMs on one wire: an iperf3 server VM (192.168.77.10) and a client VM (.11); hvmm on an
#       `hvmm switch` started with --dhcp and both MACs reserved, or hvmm's own stream
#       (stream-listen/stream) and dgram sockets; QEMU's -netdev stream (server=on / server=off)
#       and -netdev dgram (Unix paths). RUNS rounds: client -> server, then server -> client (-R).
#   idle-hvmm-user | idle-qemu72-user | idle-qemu10-user | idle-hvmm-switch
#       wakeups of an idle VMM: the voluntary + involuntary context switches of every thread
#       (/proc/PID/task/*/status) over IDLE_SECS while the guest sleeps, RUNS
#       windows, after 5 s to settle. user: one VM on NAT (hvmm's process, QEMU's process).
#       switch: the `hvmm switch` daemon with two idle hvmm VMs attached (and each VM).
#
# usage (in the lab): vmnet-lab.sh SECS RUNS IDLE_SECS UNIT...
# Writes to $HVMM_LAB_OUT:
#   vmnet-runs.txt  "UNIT TX|RX ROUND MBIT_S|-" (iperf3's receiver figure), "UNIT idle ROUND PROC
#                   secs=S threads=T voluntary=V involuntary=I", "UNIT status VM STATUS",
#                   "UNIT error TEXT" (why a unit has no figures: the VMM's or guest's last words)
#   vmnet-env.txt   lab kernel, CPUs, emulator, QEMU and hvmm versions, guest commands
#   UNIT-VM.out/.err each VM's console and stderr
set -uo pipefail

SECS=${1:?usage: vmnet-lab.sh SECS RUNS IDLE_SECS UNIT...}
RUNS_N=${2:?usage: vmnet-lab.sh SECS RUNS IDLE_SECS UNIT...}
IDLE_SECS=${3:?usage: vmnet-lab.sh SECS RUNS IDLE_SECS UNIT...}
shift 3
OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
WORK=$(mktemp -d)
chmod 1777 "$WORK"  # the unprivileged user's sockets and switch files live here
RUNS=$OUT/vmnet-runs.txt
# A VM's life: boot, the rounds both ways with iperf3's own start and end, and a margin.
LIMIT=$((240 + RUNS_N * 2 * (SECS + 15)))
IDLE_LIMIT=$((240 + RUNS_N * (IDLE_SECS + 5)))
SERVER_IP=192.168.77.10
CLIENT_IP=192.168.77.11
MAC_SERVER=52:54:00:00:77:0a
MAC_CLIENT=52:54:00:00:77:0b
MAC_NAT=52:54:00:00:78:01
SWITCH=bench0
# The unit's NIC model: hvmm's --nic name, and QEMU's -device for the same chip.
NIC=pcnet
QEMU_DEVICE=pcnet
# tests/lab/lab_checks_lib.sh (carried in with --with): start_bg, finish, wait_for, console,
# qemu_guest, hvmm_user_guest, as_user_setup.
source "$(dirname "${BASH_SOURCE[0]}")/../tests/lab/lab_checks_lib.sh"

# rounds_cmd SERVER: the guest's measured part, RUNS rounds of iperf3 to SERVER, TX then RX
# (-R), each printed as "GUEST-RUN TX|RX ROUND STATUS <iperf3 receiver line>" and, when iperf3
# failed, its last lines as GUEST-ERR.
rounds_cmd() {
    echo "r=1; while [ \$r -le $RUNS_N ]; do
for d in TX RX; do
  o=; [ \$d = RX ] && o=-R
  iperf3 -c $1 -t $SECS -f m \$o >/tmp/i.txt 2>&1; s=\$?
  echo \"GUEST-RUN \$d \$r \$s \$(grep receiver /tmp/i.txt | tail -n 1)\"
  [ \$s = 0 ] || tail -n 3 /tmp/i.txt | sed 's/^/GUEST-ERR /'
done
r=\$((r + 1)); done; echo GUEST-DONE"
}

# eth0_cmd ADDRESS DHCP: the guest's eth0 up; the address the image's /init got by DHCP (hvmm
# asks it to on NAT and on a switch with --dhcp) or, when DHCP=1 and it has none, busybox udhcpc
# (QEMU's guests); ADDRESS/24 when still none (empty: no static fallback). Prints GUEST-ADDR.
eth0_cmd() {
    local cmd="ip link set eth0 up"
    [[ $2 == 1 ]] && cmd+="
ip -4 addr show eth0 | grep -q 'inet ' || udhcpc -i eth0 -s /etc/udhcpc.script -n -q -t 5 -T 2 >/dev/null 2>&1"
    [[ -n $1 ]] && cmd+="
ip -4 addr show eth0 | grep -q 'inet ' || ip addr add $1/24 dev eth0"
    cmd+="
echo \"GUEST-ADDR \$(ip -4 addr show eth0 | sed -n 's/^ *inet \\([^ ]*\\).*/\\1/p')\""
    printf %s "$cmd"
}

# The guests' commands. The server starts iperf3 before it has an address where it can, so that
# an answered ping means a listening server; the client waits (up to 120 s) for that ping.
nat_cmd() { printf '%s\n%s' "$(eth0_cmd "" 1)" "$(rounds_cmd 10.0.2.2)"; }
server_cmd() { # server_cmd DHCP
    printf '%s\n%s\n%s' "iperf3 -s -D" "$(eth0_cmd "$SERVER_IP" "$1")" "echo GUEST-SERVER; sleep 100000"
}
client_cmd() { # client_cmd DHCP
    printf '%s\n%s\n%s' "$(eth0_cmd "$CLIENT_IP" "$1")" \
        "i=0; while [ \$i -lt 120 ] && ! ping -c 1 -W 1 $SERVER_IP >/dev/null 2>&1; do i=\$((i + 1)); done; echo GUEST-PINGED \$i; sleep 2" \
        "$(rounds_cmd "$SERVER_IP")"
}
idle_cmd() { # idle_cmd DHCP: configured like the measured guests, then asleep
    printf '%s\n%s' "$(eth0_cmd "" "$1")" "echo GUEST-IDLE; sleep 100000"
}

qemu_of() { case $1 in qemu72) echo qemu-7.2 ;; qemu10) echo qemu-10 ;; esac; }

# vm_pid MAC: the running VMM (hvmm or QEMU) whose command line names MAC.
vm_pid() {
    local p
    for p in $(pidof hvmm qemu-system-x86_64 2>/dev/null); do
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "mac=$1"; then echo "$p"; return 0; fi
    done
    return 1
}

# stop_vm NAME MAC: SIGTERM to the VM (a server or an idle guest that would sleep on), then waits
# for its start_bg to end.
stop_vm() {
    local pid
    pid=$(vm_pid "$2") && kill -TERM "$pid" 2>/dev/null
    finish "$1"
}

# collect UNIT VM...: each VM's rounds into vmnet-runs.txt, its status, and, for a VM that should
# have measured and has no figure, an error line; keeps the consoles.
collect() {
    local unit=$1 vm line d r s rest mbit
    shift
    for vm in "$@"; do
        cp "$WORK/$vm.out" "$OUT/$unit-$vm.out" 2>/dev/null
        cp "$WORK/$vm.err" "$OUT/$unit-$vm.err" 2>/dev/null
        echo "$unit status $vm $(cat "$WORK/$vm.status" 2>/dev/null || echo '?')" >>"$RUNS"
        while IFS= read -r line; do
            read -r d r s rest <<<"${line#GUEST-RUN }"
            mbit=$(awk '{ for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") { print $(i - 1); exit } }' <<<"$rest")
            [[ $s == 0 && -n $mbit ]] || mbit=-
            echo "$unit $d $r $mbit" >>"$RUNS"
        done < <(console "$vm" | grep '^GUEST-RUN ')
    done
}

# unit_error UNIT VM: why VM measured nothing: its guest's iperf3 errors, else the VMM's last
# stderr lines, else its console's last lines.
unit_error() {
    local unit=$1 vm=$2 text status how=""
    status=$(cat "$WORK/$vm.status" 2>/dev/null || echo '?')
    # 128 + N: killed by signal N (timeout passes the child's on); 124: our time limit.
    if [[ $status == 124 ]]; then how=", killed after its time limit"
    elif [[ $status =~ ^[0-9]+$ && $status -gt 128 ]]; then how=", killed by SIG$(kill -l $((status - 128)) 2>/dev/null)"; fi
    text=$(console "$vm" | grep '^GUEST-ERR ' | tail -n 3 | sed 's/^GUEST-ERR //')
    [[ -n $text ]] || text=$(grep -v '^ *$' "$WORK/$vm.err" 2>/dev/null | tail -n 3)
    [[ -n $text ]] || text="no figures; console ends: $(console "$vm" | grep -v '^ *$' | tail -n 3)"
    echo "$unit error $vm (status $status$how): $(tr '\n' ' ' <<<"$text")" >>"$RUNS"
}
measured() { grep -q "^GUEST-RUN .* 0 .*Mbits/sec" <<<"$(console "$1")"; }

# ---- NAT --------------------------------------------------------------------------------------
run_nat() { # run_nat UNIT VMM
    local unit=$1 vmm=$2 server
    iperf3 -s >/dev/null 2>&1 &
    server=$!
    if [[ $vmm == hvmm ]]; then
        hvmm_user_guest nat "$LIMIT" "$NIC,mac=$MAC_NAT" "$(nat_cmd)"
    elif [[ $vmm == hvmm-nosigpipe ]]; then
        start_bg nat "$LIMIT" "${AS_USER[@]}" "${USER_ENV[@]}" bash -c 'trap "" PIPE; exec "$@"' bash \
            hvmm run --mem 256 --nic "$NIC,mac=$MAC_NAT" --run "$(nat_cmd)"
    else
        qemu_guest nat "$LIMIT" "$(qemu_of "$vmm")" "$QEMU_DEVICE" "$MAC_NAT" "$(nat_cmd)" "user,id=n0" quiet
        lab-place-vcpus --qemu &
    fi
    finish nat
    collect "$unit" nat
    measured nat || unit_error "$unit" nat
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
}

# ---- VM to VM ---------------------------------------------------------------------------------
# start_pair VMM KIND: the server VM "srv" then the client VM "cli" on KIND (switch, stream,
# dgram). Sets DHCP (whether the guests ask for an address) for the commands.
start_pair() {
    local vmm=$1 kind=$2 dhcp=0 i
    local -a srv=() cli=()
    if [[ $vmm == hvmm ]]; then
        case $kind in
            switch) dhcp=1
                srv=("$NIC,net=switch:$SWITCH,mac=$MAC_SERVER") cli=("$NIC,net=switch:$SWITCH,mac=$MAC_CLIENT") ;;
            stream) srv=("$NIC,net=stream-listen:$WORK/wire.sock,mac=$MAC_SERVER")
                cli=("$NIC,net=stream:$WORK/wire.sock,reconnect=1,mac=$MAC_CLIENT") ;;
            dgram) srv=("$NIC,net=dgram:$WORK/a.sock,$WORK/b.sock,mac=$MAC_SERVER")
                cli=("$NIC,net=dgram:$WORK/b.sock,$WORK/a.sock,mac=$MAC_CLIENT") ;;
        esac
        hvmm_user_guest srv "$LIMIT" "${srv[0]}" "$(server_cmd $dhcp)"
        [[ $kind == stream ]] && wait_socket "$WORK/wire.sock"
        hvmm_user_guest cli "$LIMIT" "${cli[0]}" "$(client_cmd $dhcp)"
    else
        local qemu
        qemu=$(qemu_of "$vmm")
        case $kind in
            stream) srv="stream,id=n0,server=on,addr.type=unix,addr.path=$WORK/wire.sock"
                cli="stream,id=n0,server=off,addr.type=unix,addr.path=$WORK/wire.sock" ;;
            dgram) srv="dgram,id=n0,local.type=unix,local.path=$WORK/a.sock,remote.type=unix,remote.path=$WORK/b.sock"
                cli="dgram,id=n0,local.type=unix,local.path=$WORK/b.sock,remote.type=unix,remote.path=$WORK/a.sock" ;;
        esac
        qemu_guest srv "$LIMIT" "$qemu" "$QEMU_DEVICE" "$MAC_SERVER" "$(server_cmd 0)" "${srv[0]}" quiet
        # QEMU's stream client does not retry: the server's socket first.
        [[ $kind == stream ]] && wait_socket "$WORK/wire.sock"
        qemu_guest cli "$LIMIT" "$qemu" "$QEMU_DEVICE" "$MAC_CLIENT" "$(client_cmd 0)" "${cli[0]}" quiet
        lab-place-vcpus --qemu &
    fi
}

wait_socket() { # wait_socket PATH: up to 30 s for a listening socket at PATH
    local i=0
    while [[ ! -S $1 && $i -lt 150 ]]; do sleep 0.2; i=$((i + 1)); done
}

switch_start() { # switch_start: the unprivileged user's switch with DHCP, both MACs reserved
    "${AS_USER[@]}" "${USER_ENV[@]}" hvmm switch start "$SWITCH" --subnet 192.168.77.0/24 --dhcp \
        --reserve "$MAC_SERVER=$SERVER_IP" --reserve "$MAC_CLIENT=$CLIENT_IP" >"$WORK/switch.out" 2>&1
}
switch_stop() {
    "${AS_USER[@]}" "${USER_ENV[@]}" hvmm switch status "$SWITCH" --json >"$OUT/$1-switch-status.json" 2>&1
    "${AS_USER[@]}" "${USER_ENV[@]}" hvmm switch stop "$SWITCH" >>"$WORK/switch.out" 2>&1
    cp "$WORK/switch.out" "$OUT/$1-switch.out"
}

run_v2v() { # run_v2v UNIT VMM KIND
    local unit=$1 vmm=$2 kind=$3
    rm -f "$WORK"/*.sock
    if [[ $kind == switch ]] && ! switch_start; then
        echo "$unit status switch $(tail -n 1 "$WORK/switch.out")" >>"$RUNS"
        echo "$unit error switch: hvmm switch start failed: $(tail -n 3 "$WORK/switch.out" | tr '\n' ' ')" >>"$RUNS"
        return
    fi
    start_pair "$vmm" "$kind"
    finish cli
    stop_vm srv "$MAC_SERVER"
    [[ $kind == switch ]] && switch_stop "$unit"
    collect "$unit" cli srv
    measured cli || { unit_error "$unit" cli; unit_error "$unit" srv; }
}

# ---- idle -------------------------------------------------------------------------------------
# ctxt PID: "THREADS VOLUNTARY INVOLUNTARY", summed over the process's threads now.
ctxt() {
    awk 'FNR == 1 { t++ } /^voluntary_ctxt_switches:/ { v += $2 } /^nonvoluntary_ctxt_switches:/ { n += $2 }
         END { print t + 0, v + 0, n + 0 }' /proc/"$1"/task/*/status 2>/dev/null
}

# idle_windows UNIT NAME=PID...: RUNS windows of IDLE_SECS, each process's context switches over
# each, into vmnet-runs.txt.
idle_windows() {
    local unit=$1 r p name pid t0 v0 n0 t1 v1 n1
    shift
    local -A before=()
    sleep 5
    for ((r = 1; r <= RUNS_N; r++)); do
        for p in "$@"; do before[$p]=$(ctxt "${p#*=}"); done
        sleep "$IDLE_SECS"
        for p in "$@"; do
            name=${p%%=*} pid=${p#*=}
            read -r t0 v0 n0 <<<"${before[$p]}"
            read -r t1 v1 n1 <<<"$(ctxt "$pid")"
            if [[ -d /proc/$pid && -n $v1 ]]; then
                echo "$unit idle $r $name secs=$IDLE_SECS threads=$t1 voluntary=$((v1 - v0)) involuntary=$((n1 - n0))" >>"$RUNS"
            else
                echo "$unit idle $r $name gone" >>"$RUNS"
            fi
        done
    done
}

run_idle_user() { # run_idle_user UNIT VMM
    local unit=$1 vmm=$2 pid
    if [[ $vmm == hvmm ]]; then
        hvmm_user_guest idle "$IDLE_LIMIT" "$NIC,mac=$MAC_NAT" "$(idle_cmd 0)"
    else
        qemu_guest idle "$IDLE_LIMIT" "$(qemu_of "$vmm")" "$QEMU_DEVICE" "$MAC_NAT" "$(idle_cmd 1)" "user,id=n0" quiet
    fi
    if wait_for idle '^GUEST-IDLE' 240 && pid=$(vm_pid "$MAC_NAT"); then
        idle_windows "$unit" "vmm=$pid"
    else
        echo "$unit error idle: the guest never went idle" >>"$RUNS"
    fi
    stop_vm idle "$MAC_NAT"
    collect "$unit" idle
    grep -q "^$unit error" "$RUNS" && unit_error "$unit" idle
}

run_idle_switch() { # run_idle_switch UNIT: the switch and two idle hvmm VMs on it
    local unit=$1 sw a b
    if ! switch_start; then
        echo "$unit error switch: hvmm switch start failed: $(tail -n 3 "$WORK/switch.out" | tr '\n' ' ')" >>"$RUNS"
        return
    fi
    hvmm_user_guest idla "$IDLE_LIMIT" "$NIC,net=switch:$SWITCH,mac=$MAC_SERVER" "$(idle_cmd 0)"
    hvmm_user_guest idlb "$IDLE_LIMIT" "$NIC,net=switch:$SWITCH,mac=$MAC_CLIENT" "$(idle_cmd 0)"
    sw=$(cat "$WORK/xdg/hvmm/$SWITCH.pid" 2>/dev/null)
    if wait_for idla '^GUEST-IDLE' 240 && wait_for idlb '^GUEST-IDLE' 240 && [[ -n $sw && -d /proc/$sw ]] &&
        a=$(vm_pid "$MAC_SERVER") && b=$(vm_pid "$MAC_CLIENT"); then
        idle_windows "$unit" "switch=$sw" "vm-a=$a" "vm-b=$b"
    else
        echo "$unit error idle: the VMs never went idle on the switch (switch pid '${sw}')" >>"$RUNS"
    fi
    stop_vm idla "$MAC_SERVER"
    stop_vm idlb "$MAC_CLIENT"
    switch_stop "$unit"
    collect "$unit" idla idlb
    grep -q "^$unit error" "$RUNS" && { unit_error "$unit" idla; unit_error "$unit" idlb; }
}

main() {
    local unit
    : >"$RUNS"
    command -v hvmm >/dev/null || { echo "vmnet-lab.sh: no hvmm in the lab" >&2; exit 1; }
    as_user_setup
    # ICMP from a NAT guest (the switch-less ping) without hvmm's warning.
    sysctl -qw net.ipv4.ping_group_range="0 2147483647"
    {
        echo "guest_kernel $(cat "$HVMM_CACHE/guest/kernel-release" 2>/dev/null)"
        echo "lab_kernel $(uname -r)"
        echo "lab_cpus $(grep -c ^processor /proc/cpuinfo)"
        echo "lab_emulator ${HVMM_LAB_EMULATOR:-unknown}"
        echo "lab_halt_poll_ns $(cat /sys/module/kvm/parameters/halt_poll_ns 2>/dev/null)"
        echo "qemu72 $(qemu-7.2 --version | head -n1)"
        echo "qemu10 $(qemu-10 --version | head -n1)"
        echo "hvmm $(hvmm --version 2>&1 | head -n1)"
        echo "iperf3 $(iperf3 --version 2>&1 | head -n1)"
        echo "secs $SECS"
        echo "runs $RUNS_N"
        echo "idle_secs $IDLE_SECS"
        echo "units $*"
        echo "nat_cmd $(nat_cmd | tr '\n' ';')"
        echo "server_cmd $(server_cmd 1 | tr '\n' ';')"
        echo "client_cmd $(client_cmd 1 | tr '\n' ';')"
    } >"$OUT/vmnet-env.txt"
    local base
    for unit in "$@"; do
        echo "vmnet-lab: $unit ($(cut -d' ' -f1 /proc/uptime) s)" >&2
        base=${unit%-virtio}
        if [[ $base != "$unit" ]]; then NIC=virtio QEMU_DEVICE=virtio-net-pci; else NIC=pcnet QEMU_DEVICE=pcnet; fi
        case $base in
            nat-hvmm|nat-qemu72|nat-qemu10|nat-hvmm-nosigpipe) run_nat "$unit" "${base#nat-}" ;;
            v2v-hvmm-switch|v2v-hvmm-stream|v2v-hvmm-dgram|v2v-qemu72-stream|v2v-qemu72-dgram|v2v-qemu10-stream|v2v-qemu10-dgram)
                local rest=${base#v2v-}
                run_v2v "$unit" "${rest%-*}" "${rest##*-}" ;;
            idle-hvmm-user|idle-qemu72-user|idle-qemu10-user)
                local rest=${base#idle-}
                run_idle_user "$unit" "${rest%-user}" ;;
            idle-hvmm-switch) run_idle_switch "$unit" ;;
            *) echo "$unit error unknown unit" >>"$RUNS" ;;
        esac
    done
    echo "vmnet-lab: done ($(cut -d' ' -f1 /proc/uptime) s)" >&2
    rm -rf "$WORK"
    cat "$RUNS"
}

main "$@"
