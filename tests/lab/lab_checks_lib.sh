# Sourced by check scripts and benchmarks that run inside the lab: a check's verdict file, VMs
# started in the background with a bounded life (QEMU guests of the default image, hvmm as an
# unprivileged user), and waits on their consoles. Needs OUT (where verdicts go) and WORK (a
# scratch directory) set by the script.

# record NAME VERDICT MESSAGE [LOGFILE...]: $OUT/NAME.result, first line "PASS|FAIL MESSAGE", then
# the last lines of each log as evidence (tests/lab/check_result.sh reads it).
record() {
    local name=$1 verdict=$2 message=$3 f
    shift 3
    {
        echo "$verdict $message"
        for f in "$@"; do [[ -f $f ]] && { echo "--- $(basename "$f")"; tail -n 40 "$f"; }; done
    } >"$OUT/$name.result"
}

# start_bg NAME SECS COMMAND...: COMMAND in the background, killed after SECS, stdout in
# $WORK/NAME.out, stderr in $WORK/NAME.err and its status in $WORK/NAME.status once it ends.
start_bg() {
    local name=$1 secs=$2
    shift 2
    rm -f "$WORK/$name.status"
    (
        status=0
        timeout "$secs" "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" || status=$?
        if [[ $status == 124 ]]; then echo "(killed after ${secs}s)" >>"$WORK/$name.err"; fi
        echo "$status" >"$WORK/$name.status"
    ) &
}

# finish NAME: waits for a start_bg command (its own time limit bounds the wait); sets STATUS.
finish() {
    local name=$1
    while [[ ! -f $WORK/$name.status ]]; do sleep 0.2; done
    STATUS=$(cat "$WORK/$name.status")
}

console() { tr -d '\r' <"$WORK/$1.out" 2>/dev/null; }

# wait_for NAME PATTERN SECS: true once NAME's output shows PATTERN (grep -E); false after SECS or
# once it ended without it.
wait_for() {
    local name=$1 pattern=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        if grep -qE "$pattern" <<<"$(console "$name")"; then return 0; fi
        if [[ -f $WORK/$name.status ]]; then
            grep -qE "$pattern" <<<"$(console "$name")"
            return
        fi
        sleep 0.2
    done
    return 1
}

# guest_run_arg COMMAND: the default image's hvmm.run= value for a QEMU boot of it.
guest_run_arg() { printf %s "$1" | base64 -w0; }

# The unprivileged user the VMnet features run as: uid/gid 65534, no groups, no capabilities, no
# set-uid helper; util-linux's setpriv by its path (start_bg's `timeout` is busybox's in the lab,
# which runs its own applets before PATH, and its setpriv has none of these options).
# as_user_setup first: /dev/kvm open to that user, and its own home and runtime directory
# ($WORK/home, $WORK/xdg, as a login would give them); USER_ENV is that environment.
# (bench/vmnet-lab.sh uses these; tests/lab/vmnet_checks.sh still has its own copies.)
AS_USER=("$(type -P setpriv || echo setpriv)" --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
as_user_setup() {
    chmod 666 /dev/kvm
    mkdir -p "$WORK/home" "$WORK/xdg"
    chown 65534:65534 "$WORK/home" "$WORK/xdg" && chmod 700 "$WORK/xdg"
    USER_ENV=(env HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/xdg")
}

# hvmm_user_guest NAME SECS NIC COMMAND [HVMM_ARG...]: `hvmm run --mem 256 --nic NIC --run
# COMMAND` as the unprivileged user (as_user_setup first), in the background (start_bg).
hvmm_user_guest() {
    local name=$1 secs=$2 nic=$3 cmd=$4
    shift 4
    start_bg "$name" "$secs" "${AS_USER[@]}" "${USER_ENV[@]}" \
        hvmm run --mem 256 --nic "$nic" --run "$cmd" "$@"
}

# qemu_guest NAME SECS QEMU DEVICE MAC COMMAND NETDEV [APPEND...]: the default image on QEMU
# (qemu-7.2 or qemu-10 in the lab) with a NIC of model DEVICE (pcnet, virtio-net-pci) on NETDEV
# (its id n0; no option ROM is needed for a -kernel boot), running COMMAND like hvmm's --run;
# APPEND words go before hvmm.run=. In the background.
qemu_guest() {
    local name=$1 secs=$2 qemu=$3 device=$4 mac=$5 cmd=$6 netdev=$7
    shift 7
    start_bg "$name" "$secs" "$qemu" -enable-kvm -m 256 -nodefaults -no-reboot -display none \
        -serial stdio -kernel "$HVMM_GUEST_KERNEL" -initrd "$HVMM_GUEST_INITRD" \
        -append "console=ttyS0 reboot=k panic=-1${*:+ $*} hvmm.run=$(guest_run_arg "$cmd")" \
        -netdev "$netdev" -device "$device,netdev=n0,mac=$mac,romfile="
}
