#!/bin/bash
# Runs inside the lab (bench/paper.sh sends it there): the paper's throughput matrix in one lab
# boot. For each hvmm NIC optimization config (hvmm run --nic-opt=CONFIG) and each QEMU 7.2 anchor
# NIC, one VM run with a fresh TAP and iperf3 server: guest TX then guest RX, SECS each; same
# kernel, initramfs and guest command, 1 vCPU, 256 MiB. The guest prints a marker line around each
# phase; when one shows on the console the lab snapshots KVM's debugfs totals (live VMs only, so
# while the VM runs), the count of KVM exits to userspace (tracefs hist on kvm:kvm_userspace_exit,
# when the lab kernel has it), KVM exits by hardware reason (hist on kvm:kvm_exit), the lab CPU's
# time split (/proc/stat), MSR accesses by register (hist on kvm:kvm_msr) and the TAP's packet
# and byte counters. In the baseline, paper and all configs the
# guest also runs `iotime --unbind --json` (the per-OUT cost probe: an exiting OUT to the NIC, a RAP
# write, an RDP read) after RX when the image has it.
#
# usage: paper-lab.sh SECS "CONFIGS" "ANCHORS"
#   CONFIGS  hvmm --nic-opt values, e.g. "baseline ports combine notify paper all" (a comma list
#            such as ports,combine is one config). When this hvmm has no --nic-opt, each is
#            recorded as unavailable and hvmm runs once without the option as config "default".
#            Two more are the paper's future work: virtio (hvmm's virtio-net, userspace data
#            path) and vhost (the same with vhost=on), each on the same TAP; a hvmm without
#            --nic virtio records them as unavailable; virtio-pollN and vhost-pollN add
#            poll-us=N (bounded polling of the transmit ring, vhost's busy loop). CONFIG-nosandbox (paper-nosandbox,
#            virtio-nosandbox, ...) is CONFIG with `--sandbox off`: the seccomp filters' price.
#            CONFIG-preempt (virtio-preempt, ...) is CONFIG with `--io-sched normal` and
#            CONFIG-batch (paper-batch, ...) with `--io-sched batch`: the I/O thread's policy
#            other than `auto` picks (batch with a virtio NIC, normal with the PCnet).
#            CONFIG-nogso (virtio-nogso, ...): the guest turns TSO and GSO off first, so each
#            frame its NIC sends is one wire packet (<= 1514 bytes), the unit the PCnet rows
#            count in. CONFIG-rxcoalU / CONFIG-coalU: the guest sets its virtio NIC's interrupt
#            moderation (`ethtool -C`, NOTF_COAL) to U µs or 64 frames on the receive queue /
#            on both queues. Suffixes combine (virtio-preempt-nogso, virtio-nogso-rxcoal100).
#   ANCHORS  QEMU runs named qemuVER-MODEL: VER 72 (Debian 12's QEMU 7.2, `qemu-7.2` in the lab)
#            or 10 (bookworm-backports' QEMU 10, `qemu-10`); MODEL pcnet, e1000, virtio
#            (virtio-net-pci, vhost=off), vhost (virtio-net-pci, vhost=on), all on the TAP, or
#            user-pcnet, user-virtio (-netdev user: the lab host is the slirp gateway, no TAP).
#            qemu-pcnet and qemu-e1000 are the old names of qemu72-pcnet and qemu72-e1000.
#            An anchor-nogso (qemu72-virtio-nogso) is that anchor with the guest's TSO/GSO off
#            (the coalescing suffixes too, where QEMU's device takes them).
# Writes to $HVMM_LAB_OUT:
#   paper-runs.txt   "ROW mark NAME key=value..." snapshots, "ROW TX|RX <iperf3 line>",
#                    "ROW prep ok|failed" per guest ethtool command,
#                    "ROW IOTIME <line>", "ROW noiotime", "ROW status N|unavailable", and for a
#                    failed run "ROW why <the VMM's last line of its own>"
#   paper-env.txt    kernel, QEMU version, whether --nic-opt exists, the guest command line
#   ROW.stats.json   hvmm's --stats-json for that run (hvmm rows only)
#   ROW.console      each run's console
# ROW is hvmm-CONFIG or the anchor's name.
set -uo pipefail

SECS=${1:-10}
CONFIGS=${2:-baseline ports combine notify paper all}
ANCHORS=${3-qemu-pcnet qemu-e1000}  # given but empty: no anchors
OUT=${HVMM_LAB_OUT:?run me through lab/run.sh exec}
RUNS=$OUT/paper-runs.txt
TAP=benchtap0
HOST_IP=10.0.0.1
GUEST_IP=10.0.0.2
RUN_LIMIT=${BENCH_RUN_TIMEOUT:-$((4 * SECS + 240))}
IOTIME_CONFIGS=${BENCH_IOTIME_CONFIGS:-baseline paper all}
# BENCH_TRACE_SECS=N: N seconds of the lab kernel's scheduler, interrupt and KVM events (ftrace),
# 3 s into each run's TX phase, kept as $OUT/ROW.trace for bench/trace_report.py: where the time
# between two transmitted frames goes (guest, KVM, the VMM, waiting to run, halted).
TRACE_SECS=${BENCH_TRACE_SECS:-0}
TRACE_EVENTS="kvm/kvm_entry kvm/kvm_exit kvm/kvm_userspace_exit kvm/kvm_inj_virq kvm/kvm_vcpu_wakeup sched/sched_switch sched/sched_wakeup sched/sched_waking irq_vectors/local_timer_entry irq_vectors/reschedule_entry irq_vectors/call_function_single_entry irq_vectors/call_function_entry net/netif_rx net/net_dev_xmit"
# Placement (a lever on the lab's scheduling): BENCH_VMM_CPUS / BENCH_PEER_CPUS pin the VMM (all
# its threads) and the iperf3 peer to those lab CPUs (taskset lists); unset, the lab places them.
VMM_PIN=() PEER_PIN=()
[[ -n ${BENCH_VMM_CPUS:-} ]] && VMM_PIN=(taskset -c "$BENCH_VMM_CPUS")
[[ -n ${BENCH_PEER_CPUS:-} ]] && PEER_PIN=(taskset -c "$BENCH_PEER_CPUS")
TRACEFS=/sys/kernel/tracing
UEXIT_TRIGGER="hist:keys=common_pid:vals=hitcount:size=256"
EXIT_REASON_TRIGGER="hist:keys=exit_reason:vals=hitcount:size=256"
# MSR accesses KVM handled, by register and direction: which of the MSR exits are x2APIC EOIs,
# timer writes (TSC deadline, TMICT) or IPIs (ICR).
MSR_TRIGGER="hist:keys=ecx,write:vals=hitcount:size=256"
# GUEST_ETHTOOL: ethtool commands the guest runs on eth0 before iperf3, set by a row's suffixes:
# -nogso turns TSO and GSO off, so every frame it hands the NIC is one wire packet of at most
# 1514 bytes, the PCnet's unit; -rxcoalU and -coalU set the NIC's interrupt moderation
# (virtio-net's NOTF_COAL): U µs or 64 frames on the receive queue, and with -coalU on the
# transmit queue too. Each prints GUEST-PREP ok or failed, recorded as "ROW prep ...".
GUEST_ETHTOOL=()

# guest_cmd IOTIME(0|1): the anchor's sequence; a ping first so ARP is done before timing starts.
guest_cmd() {
    local cmd="ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
"
    local e
    for e in "${GUEST_ETHTOOL[@]}"; do
        cmd+="ethtool $e && echo GUEST-PREP ok || echo GUEST-PREP failed
"
    done
    cmd+="ping -c 2 -w 10 $HOST_IP >/dev/null 2>&1
echo GUEST-MARK tx0; iperf3 -c $HOST_IP -t $SECS -f m >/tmp/tx.txt 2>&1; echo GUEST-MARK tx1
grep -E 'sender|receiver' /tmp/tx.txt | sed 's/^/GUEST-TX /'
echo GUEST-MARK rx0; iperf3 -c $HOST_IP -t $SECS -f m -R >/tmp/rx.txt 2>&1; echo GUEST-MARK rx1
grep -E 'sender|receiver' /tmp/rx.txt | sed 's/^/GUEST-RX /'"
    if [[ $1 == 1 ]]; then
        cmd+="
if command -v iotime >/dev/null 2>&1; then iotime --unbind --json >/tmp/iotime.txt 2>&1; s=\$?; sed 's/^/GUEST-IOTIME /' /tmp/iotime.txt; echo GUEST-IOTIME-STATUS \$s; else echo GUEST-NOIOTIME; fi"
    fi
    printf %s "$cmd"
}
append_for() { echo "console=ttyS0 reboot=k panic=-1 hvmm.run=$(guest_cmd "$1" | base64 -w0)"; }

# KVM exits to userspace so far, summed over every process (the hist trigger counts from when
# it was set; deltas between marks are what count). "-" when tracefs or the event is missing.
uexits() {
    local hist=$TRACEFS/events/kvm/kvm_userspace_exit/hist
    [[ -r $hist ]] || { echo -; return; }
    awk '/^Totals:/ { t = 1 } t && /Hits:/ { print $2; found = 1; exit } END { if (!found) print "-" }' "$hist"
}

# KVM exits so far by hardware exit reason, "CODE:COUNT,..." (the kvm:kvm_exit hist trigger),
# "-" without it.
exit_reasons() {
    local hist=$TRACEFS/events/kvm/kvm_exit/hist
    [[ -r $hist ]] || { echo -; return; }
    awk '/^\{ exit_reason:/ { gsub(/[{},]/, " "); for (i = 1; i < NF; i++) { if ($i == "exit_reason:") code = $(i + 1);
                          if ($i == "hitcount:") n = $(i + 1) } out = out sep code ":" n; sep = "," }
         END { print (out == "" ? "-" : out) }' "$hist"
}

# MSR accesses so far by register, "ECX/W:COUNT,..." (W 1 a write, 0 a read; the kvm:kvm_msr
# hist trigger), "-" without it.
msr_accesses() {
    local hist=$TRACEFS/events/kvm/kvm_msr/hist
    [[ -r $hist ]] || { echo -; return; }
    awk '/^\{ ecx:/ { gsub(/[{},]/, " "); for (i = 1; i < NF; i++) { if ($i == "ecx:") ecx = $(i + 1);
                     if ($i == "write:") w = $(i + 1); if ($i == "hitcount:") n = $(i + 1) }
                     out = out sep ecx "/" w ":" n; sep = "," }
         END { print (out == "" ? "-" : out) }' "$hist"
}

# trace_tx ROW: in the background, N seconds of events from 3 s into the TX phase into ROW.trace.
trace_tx() {
    local row=$1 e
    (
        sleep 3
        echo 0 >"$TRACEFS/tracing_on"
        local rx0
        rx0=$(cat /sys/class/net/$TAP/statistics/rx_packets 2>/dev/null)
        echo 16384 >"$TRACEFS/buffer_size_kb"
        echo >"$TRACEFS/trace"
        echo >"$TRACEFS/set_event"
        for e in $TRACE_EVENTS; do echo "${e/\//:}" >>"$TRACEFS/set_event" 2>/dev/null; done
        echo 1 >"$TRACEFS/tracing_on"
        sleep "$TRACE_SECS"
        echo 0 >"$TRACEFS/tracing_on"
        {
            echo "# tap_rx_start=$rx0 tap_rx_end=$(cat /sys/class/net/$TAP/statistics/rx_packets 2>/dev/null) cpus=$(nproc) secs=$TRACE_SECS"
            cat "$TRACEFS/trace"
        } >"$OUT/$row.trace"
        echo >"$TRACEFS/set_event"
        echo >"$TRACEFS/trace"
    ) &
}

snapshot() { # snapshot ROW MARK: one line of counters
    local line="$1 mark $2 t=$(cut -d' ' -f1 /proc/uptime)" f
    for f in exits io_exits mmio_exits irq_injections halt_exits; do
        line+=" $f=$(cat /sys/kernel/debug/kvm/$f 2>/dev/null || echo -)"
    done
    line+=" uexits=$(uexits) exit_reasons=$(exit_reasons) msrs=$(msr_accesses)"
    # The lab CPU's time so far (/proc/stat "cpu": user nice system idle iowait irq softirq
    # steal guest; guest time is also counted in user), in USER_HZ ticks.
    line+=" cpu=$(awk '$1 == "cpu" { print $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 "," $9 "," $10; exit }' /proc/stat)"
    # No TAP for user-mode networking: its per-packet figures stay null.
    line+=" tap_rx=$(cat /sys/class/net/$TAP/statistics/rx_packets 2>/dev/null || echo -)"
    line+=" tap_tx=$(cat /sys/class/net/$TAP/statistics/tx_packets 2>/dev/null || echo -)"
    line+=" tap_rx_bytes=$(cat /sys/class/net/$TAP/statistics/rx_bytes 2>/dev/null || echo -)"
    echo "$line" >>"$RUNS"
}

# guest_suffixes NAME: sets GUEST_ETHTOOL from NAME's guest-side suffixes (-nogso, -rxcoalU,
# -coalU, anywhere in NAME) and NAME_LEFT to NAME without them.
guest_suffixes() {
    local name=$1 u
    GUEST_ETHTOOL=()
    if [[ $name == *-nogso* ]]; then
        GUEST_ETHTOOL+=("-K eth0 tso off gso off")
        name=${name/-nogso/}
    fi
    if [[ $name =~ -rxcoal([0-9]+) ]]; then
        u=${BASH_REMATCH[1]}
        GUEST_ETHTOOL+=("-C eth0 rx-usecs $u rx-frames 64 tx-usecs 0 tx-frames 1")
        name=${name/-rxcoal$u/}
    elif [[ $name =~ -coal([0-9]+) ]]; then
        u=${BASH_REMATCH[1]}
        GUEST_ETHTOOL+=("-C eth0 rx-usecs $u rx-frames 64 tx-usecs $u tx-frames 64")
        name=${name/-coal$u/}
    fi
    NAME_LEFT=$name
}

# measure ROW CMD...: one VM run with a fresh TAP and iperf3 server, bounded by RUN_LIMIT.
measure() {
    local row=$1 line status
    shift
    echo "paper-lab: $row" >&2
    ip link del "$TAP" 2>/dev/null
    ip tuntap add dev "$TAP" mode tap && ip addr add "$HOST_IP/24" dev "$TAP" && ip link set "$TAP" up
    ${PEER_PIN[@]+"${PEER_PIN[@]}"} iperf3 -s >/dev/null 2>&1 &
    local server=$!
    : >"$OUT/$row.console"
    # With HVMM_VCPU_CPUS set (hvmm's vCPU threads alone on a lab CPU, a lever), QEMU's vCPU
    # threads go there too, so both VMMs are measured placed alike; the shipped lab places whole
    # VMMs instead (lab/init's HVMM_LAB_VMM_CPUS), and this is a no-op.
    [[ $1 == qemu* ]] && lab-place-vcpus --qemu &
    while IFS= read -r line; do
        line=${line%$'\r'}
        echo "$line" >>"$OUT/$row.console"
        case $line in
            *GUEST-MARK*) snapshot "$row" "${line##*GUEST-MARK }"
                [[ $TRACE_SECS != 0 && $line == *"GUEST-MARK tx0"* ]] && trace_tx "$row" ;;
            GUEST-TX*|GUEST-RX*) echo "$row ${line#GUEST-}" >>"$RUNS" ;;
            GUEST-PREP*) echo "$row prep ${line##* }" >>"$RUNS" ;;
            GUEST-IOTIME-STATUS*) echo "$row iotime_status ${line##* }" >>"$RUNS" ;;
            GUEST-IOTIME*) echo "$row IOTIME ${line#GUEST-IOTIME }" >>"$RUNS" ;;
            GUEST-NOIOTIME*) echo "$row noiotime" >>"$RUNS"
                echo "paper-lab: iotime not in the image ($row)" >&2 ;;
            exit-status*) status=${line#exit-status } ;;
        esac
    done < <(timeout -k 10 "$RUN_LIMIT" ${VMM_PIN[@]+"${VMM_PIN[@]}"} "$@" </dev/null 2>&1; echo "exit-status $?")
    echo "$row status ${status:-?}" >>"$RUNS"
    echo "paper-lab: $row status ${status:-?}" >&2
    # A failed run says why in the results, not only in a console nobody kept: the VMM's last
    # line of its own (hvmm's "hvmm: ..." lines, QEMU's "qemu-system-...: ..." ones), found
    # anywhere in a line: stderr lands in the middle of a console line the guest had not ended.
    if [[ ${status:-?} != 0 ]]; then
        local why
        why=$(grep -aoE '(hvmm|qemu-[a-z0-9._-]+|qemu-system-[a-z0-9._-]+): .*' "$OUT/$row.console" | tail -n1 | tr -d '\r' | tr '|' '/')
        [[ -n $why ]] && echo "$row why $why" >>"$RUNS" && echo "paper-lab: $row: $why" >&2
    fi
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    ip link del "$TAP" 2>/dev/null
}

# run_hvmm ROW NICOPT(or empty) IOTIME [NIC]: NIC defaults to the PCnet on the TAP.
run_hvmm() {
    local -a opt=()
    [[ -n $2 ]] && opt=("--nic-opt=$2")
    measure "$1" hvmm run --kernel "$HVMM_GUEST_KERNEL" --initrd "$HVMM_GUEST_INITRD" --mem 256 \
        --cpus 1 --append "$(append_for "$3")" --nic "${4:-pcnet,net=tap:$TAP}" "${opt[@]}" \
        --stats-json "$OUT/$1.stats.json" "${HVMM_EXTRA[@]}"
}

# run_qemu ROW: the anchor ROW (qemuVER-MODEL, see the header) with the same guest and command.
run_qemu() {
    local row=$1 qemu model netdev device
    guest_suffixes "$row"  # GUEST_ETHTOOL for the guest, NAME_LEFT the anchor itself
    case $NAME_LEFT in
        qemu-pcnet|qemu-e1000) qemu=qemu-7.2; model=${NAME_LEFT#qemu-} ;;
        qemu72-*) qemu=qemu-7.2; model=${NAME_LEFT#qemu72-} ;;
        qemu10-*) qemu=qemu-10; model=${NAME_LEFT#qemu10-} ;;
        *) echo "$row status unknown-anchor" >>"$RUNS"; return ;;
    esac
    netdev="tap,id=n0,ifname=$TAP,script=no,downscript=no"
    case $model in
        pcnet|e1000) device=$model ;;
        virtio) device=virtio-net-pci; netdev+=",vhost=off" ;;
        vhost) device=virtio-net-pci; netdev+=",vhost=on" ;;
        user-pcnet) device=pcnet; netdev="user,id=n0,net=10.0.0.0/24,host=$HOST_IP" ;;
        user-virtio) device=virtio-net-pci; netdev="user,id=n0,net=10.0.0.0/24,host=$HOST_IP" ;;
        *) echo "$row status unknown-anchor" >>"$RUNS"; return ;;
    esac
    measure "$row" "$qemu" -enable-kvm -m 256 -smp 1 -nodefaults -no-reboot \
        -display none -serial stdio -kernel "$HVMM_GUEST_KERNEL" -initrd "$HVMM_GUEST_INITRD" \
        -append "$(append_for 0)" -netdev "$netdev" -device "$device,netdev=n0,romfile="
}

main() {
    local has_opt=no has_virtio=no config iot row
    HVMM_EXTRA=()
    : >"$RUNS"
    mount -t debugfs d /sys/kernel/debug 2>/dev/null
    grep -qs " $TRACEFS " /proc/mounts || mount -t tracefs t "$TRACEFS" 2>/dev/null
    if [[ -w $TRACEFS/events/kvm/kvm_userspace_exit/trigger ]]; then
        echo "$UEXIT_TRIGGER" >"$TRACEFS/events/kvm/kvm_userspace_exit/trigger" 2>/dev/null ||
            echo "paper-lab: no hist trigger on kvm_userspace_exit; userspace exits will be null" >&2
    else
        echo "paper-lab: no tracefs kvm_userspace_exit; userspace exits will be null" >&2
    fi
    echo "$EXIT_REASON_TRIGGER" >"$TRACEFS/events/kvm/kvm_exit/trigger" 2>/dev/null ||
        echo "paper-lab: no hist trigger on kvm_exit; exits by reason will be null" >&2
    echo "$MSR_TRIGGER" >"$TRACEFS/events/kvm/kvm_msr/trigger" 2>/dev/null ||
        echo "paper-lab: no hist trigger on kvm_msr; MSR exits by register will be null" >&2
    grep -q -- '--nic-opt' <<<"$(hvmm run --help 2>&1)" && has_opt=yes
    # A hvmm with the virtio NIC names it in --nic's unknown-model message.
    [[ $(hvmm run --nic nosuchmodel 2>&1) == *virtio* ]] && has_virtio=yes
    {
        echo "guest_kernel $(cat "$HVMM_CACHE/guest/kernel-release")"
        echo "lab_kernel $(uname -r)"
        echo "qemu $(qemu-7.2 --version | head -n1)"
        echo "qemu10 $(qemu-10 --version | head -n1)"
        echo "lab_cpus $(grep -c ^processor /proc/cpuinfo)"
        echo "placement vmm=${BENCH_VMM_CPUS:-${HVMM_LAB_VMM_CPUS:-any}} peer=${BENCH_PEER_CPUS:-any}"
        echo "vcpu_cpus ${HVMM_VCPU_CPUS:-}"
        echo "lab_emulator ${HVMM_LAB_EMULATOR:-unknown}"
        echo "lab_halt_poll_ns $(cat /sys/module/kvm/parameters/halt_poll_ns 2>/dev/null)"
        echo "secs $SECS"
        echo "nic_opt $has_opt"
        echo "configs $CONFIGS"
        echo "anchors $ANCHORS"
        echo "guest_cmd $(guest_cmd 1 | tr '\n' ';')"
    } >"$OUT/paper-env.txt"
    for config in $CONFIGS; do
        # Suffixes, any number in any order: CONFIG-nosandbox (`--sandbox off`, to price the
        # seccomp filters), -preempt / -batch (`--io-sched normal` / `batch`), -nogso, -rxcoalU,
        # -coalU (GUEST_ETHTOOL).
        HVMM_EXTRA=()
        row=$config
        guest_suffixes "$config"
        config=$NAME_LEFT
        while :; do
            case $config in
                *-nosandbox) HVMM_EXTRA+=(--sandbox off); config=${config%-nosandbox} ;;
                *-preempt) HVMM_EXTRA+=(--io-sched normal); config=${config%-preempt} ;;
                *-batch) HVMM_EXTRA+=(--io-sched batch); config=${config%-batch} ;;
                *) break ;;
            esac
        done
        [[ $row == "$config" ]] && row=
        iot=0
        [[ " $IOTIME_CONFIGS " == *" $config "* ]] && iot=1
        if [[ $config =~ ^(virtio|vhost)(-poll([0-9]+))?$ ]]; then
            local vhost=off poll=
            [[ ${BASH_REMATCH[1]} == vhost ]] && vhost=on
            [[ -n ${BASH_REMATCH[3]} ]] && poll=",poll-us=${BASH_REMATCH[3]}"
            if [[ $has_virtio == yes ]]; then
                run_hvmm "hvmm-${row:-$config}" "" 0 "virtio,net=tap:$TAP,vhost=$vhost$poll"
            else
                echo "hvmm-${row:-$config} status unavailable" >>"$RUNS"
                echo "paper-lab: hvmm-${row:-$config} unavailable (this hvmm has no --nic virtio)" >&2
            fi
        elif [[ $has_opt == yes ]]; then
            run_hvmm "hvmm-${row:-$config}" "$config" "$iot"
        else
            echo "hvmm-${row:-$config} status unavailable" >>"$RUNS"
            echo "paper-lab: hvmm-${row:-$config} unavailable (this hvmm has no --nic-opt)" >&2
        fi
    done
    if [[ $has_opt == no && -n $CONFIGS ]]; then
        run_hvmm hvmm-default "" 1
    fi
    for config in $ANCHORS; do run_qemu "$config"; done
    cat "$RUNS"
}

main "$@"
