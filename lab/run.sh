#!/bin/bash
# Runs one command inside the lab VM (QEMU TCG emulating an AMD CPU with SVM, so that /dev/kvm in
# it runs ordinary guests) and makes it look local: the command's stdio is this terminal (raw),
# its exit status is ours, and its output files come back.
#
# usage: lab/run.sh [OPTIONS] hvmm ARG...       run `hvmm ARG...` in the lab
#        lab/run.sh [OPTIONS] exec SCRIPT ARG... run SCRIPT in the lab (hvmm on PATH, the default
#                                                guest image, qemu, iperf3, ip, ethtool, bash)
#        lab/run.sh [OPTIONS] --describe         print the lab these options and the environment
#                                                give, as key=value lines, and boot nothing
# options: --hvmm BIN     the hvmm binary to carry in (else $HVMM_BIN; exec works without one)
#          --out DIR      host directory that receives what the script writes under $HVMM_LAB_OUT
#                         (default $HVMM_LAB_OUT on the host, else nothing comes back)
#          --with PATH    also carry PATH (file or directory) in, at the same absolute path
#          --mem MB       lab memory (default 2048, raised to fit hvmm's --mem)
#          --timeout SECS whole-run limit (default $HVMM_LAB_TIMEOUT, 3600; 0 = none)
# env:     HVMM_CACHE, HVMM_LAB_LOG=FILE (keep the lab console log), HVMM_LAB_TIMEOUT, HVMM_LAB_MEM,
#          HVMM_LAB_APPEND (lab kernel arguments instead of "quiet", for debugging),
#          HVMM_LAB_CPUS (lab CPUs, default 2 where the host has two, else 1), HVMM_LAB_QEMU (the
#          emulator that runs the lab, default lab/build-lab.sh's QEMU 11), HVMM_LAB_NO_BUILD=1 (use
#          $HVMM_CACHE/lab as it is, without checking or building it: a stand-in lab in tests)
#          HVMM_LAB_KVM_AMD (parameters for the lab's kvm-amd module, e.g. npt=0), HVMM_LAB_KVM
#          (parameters for its kvm module, e.g. tdp_mmu=N),
#          HVMM_LAB_CPU_MODEL (the lab's -cpu, default EPYC,+svm; for experiments),
#          HVMM_LAB_ACCEL (the lab's -accel, default tcg,thread=multi; for experiments),
#          HVMM_LAB_STALL (seconds without a heartbeat from the lab's init, default 90, 0 = off:
#          the lab is taken for stalled, see watch_heartbeat), HVMM_LAB_WAKE (seconds without
#          one before the watchdog records the lab's CPU state and sends it an NMI, default 30)
# status:  the inner command's; 124 the lab timed out; 125 the lab failed (panic, QEMU error,
#          stalled, no status reported); 130/143 interrupted; 2 usage.
# stderr:  when it is a terminal, one status line while the lab and the guest boot, finished
#          before the command's first output; nothing of the kind otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HVMM_CACHE=${HVMM_CACHE:-${HOME:-/root}/.cache/hvmm}
LAB_FAILED=125
LAB_TIMEOUT=124
# The lab's emulator: QEMU from Debian's trixie-backports (11.1), installed by lab/build-lab.sh in a
# root of its own under $HVMM_CACHE/lab-emulator, whose qemu-system-x86_64 runs it. Debian 12's
# QEMU 7.2 stalls with two lab CPUs and bookworm-backports' 10.0.2 lost nested guests; with one
# CPU, 10.0.2 also left the lab halted for good (lab/README.md, "Stability"). HVMM_LAB_QEMU names
# another emulator (found on PATH).
LAB_QEMU=${HVMM_LAB_QEMU:-$HVMM_CACHE/lab-emulator/qemu-system-x86_64}
# HVMM_LAB_ACCEL: another -accel for the lab, for experiments (e.g. tcg,thread=single: every lab
# CPU on one host thread, round robin, so no two of them ever run translated code at once).
LAB_ACCEL=${HVMM_LAB_ACCEL:-tcg,thread=multi}
# HVMM_LAB_CPU_MODEL: another -cpu for the lab, for experiments (e.g. without vGIF: EPYC,+svm,-vgif).
LAB_CPU_MODEL=${HVMM_LAB_CPU_MODEL:-EPYC,+svm}

die_usage() { echo "hvmm lab: $*" >&2; exit 2; }
lab_fail() { echo "hvmm lab: $*" >&2; exit "$LAB_FAILED"; }

# Two lab CPUs where the host has two or more: lab CPU 0 runs the VMMs, every thread of them
# (lab/init), and the traffic peer and the rest run on the other, which gives the lab's figures a
# dynamic range above 50x. 50 of 50 iperf3 stress boots were clean so on QEMU 11.1; with only the
# vCPU threads on CPU 0 and the VMM's I/O threads beside the peer, nested guests hung and the lab
# was corrupt after them, on every QEMU tried (lab/README.md, "Stability").
default_lab_cpus() {
    local host
    host=$(nproc 2>/dev/null || echo 1)
    if ((host >= 2)); then echo 2; else echo 1; fi
}

parse_args() {
    HVMM_BIN=${HVMM_BIN:-}
    OUT_DIR=${HVMM_LAB_OUT:-}
    WITH=()
    LAB_MEM=${HVMM_LAB_MEM:-2048}
    LAB_CPUS=${HVMM_LAB_CPUS:-$(default_lab_cpus)}
    TIMEOUT=${HVMM_LAB_TIMEOUT:-3600}
    STALL=${HVMM_LAB_STALL:-90}
    WAKE=${HVMM_LAB_WAKE:-30}
    while [[ $# -gt 0 ]]; do
        case $1 in
            --hvmm) HVMM_BIN=$2; shift 2 ;;
            --out) OUT_DIR=$2; shift 2 ;;
            --with) WITH+=("$2"); shift 2 ;;
            --mem) LAB_MEM=$2; shift 2 ;;
            --timeout) TIMEOUT=$2; shift 2 ;;
            --describe) describe_lab; exit 0 ;;
            hvmm|exec) break ;;
            *) die_usage "unknown lab option $1 (usage: lab/run.sh [options] hvmm|exec ...)" ;;
        esac
    done
    [[ $# -ge 1 ]] || die_usage "nothing to run (usage: lab/run.sh [options] hvmm|exec ...)"
    MODE=$1; shift
    ARGS=("$@")
    if [[ $MODE == exec ]]; then
        [[ ${#ARGS[@]} -ge 1 ]] || die_usage "lab exec needs a script"
        [[ -f ${ARGS[0]} ]] || die_usage "no such script: ${ARGS[0]}"
    fi
    if [[ $MODE == hvmm && -z $HVMM_BIN ]]; then die_usage "no hvmm binary (--hvmm BIN or HVMM_BIN)"; fi
    if [[ -n $HVMM_BIN && ! -x $HVMM_BIN ]]; then die_usage "hvmm binary $HVMM_BIN is not executable"; fi
    return 0
}

# The lab these options would run, one key=value a line, for `hvmm doctor` (which formats it):
# the emulator as found on PATH and the first line of its --version, what it is told to emulate,
# and whether the cached lab image exists.
describe_lab() {
    local emulator found=no version=""
    if emulator=$(command -v "$LAB_QEMU"); then
        found=yes
        version=$("$emulator" --version 2>/dev/null </dev/null | head -n1 || true)
    else
        emulator=$LAB_QEMU
    fi
    local image=not-built
    [[ -f $HVMM_CACHE/lab/base.cpio && -f $HVMM_CACHE/lab/vmlinuz ]] && image=built
    printf '%s\n' "cpus=$LAB_CPUS" "mem_mib=$LAB_MEM" "emulator=$emulator" "emulator_found=$found" \
        "emulator_version=$version" "accel=$LAB_ACCEL" "cpu=$LAB_CPU_MODEL" \
        "cache=$HVMM_CACHE/lab" "image=$image"
}

# One clear line and the lab's failure status when there is no emulator to run it with.
require_emulator() {
    command -v "$LAB_QEMU" >/dev/null ||
        lab_fail "no emulator to run the lab: $LAB_QEMU not found (HVMM_LAB_QEMU names the qemu-system-x86_64 to use)"
}

# The cached lab, built or brought up to date first unless HVMM_LAB_NO_BUILD says to take it as
# it is. The build talks on stderr only, and says nothing when the cache is up to date: the lab's
# own output must never mix with the inner command's.
ensure_lab_built() {
    [[ ${HVMM_LAB_NO_BUILD:-} == 1 ]] && return 0
    HVMM_BUILD_QUIET=1 "$HERE/build-lab.sh" >&2 || lab_fail "building the lab failed"
}

# abs PATH: PATH made absolute against the current directory, symlinks kept (the command line
# inside the lab names the same paths, so it runs unchanged).
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# carry PATH: copy a host file or directory into the per-run root at the same absolute path. A
# directory is merged into what is already there: `exec DIR/script.sh --with DIR` carries the
# script first, and a plain `cp -a DIR DEST` would then land in DEST/DIR.
carry() {
    local src dest
    src=$(abs "$1"); dest="$EXTRA$src"
    if [[ -d $src ]]; then
        mkdir -p "$dest"
        cp -a -L "$src/." "$dest/"
    else
        mkdir -p "$(dirname "$dest")"
        cp -a -L "$src" "$dest"
    fi
}

# carry_binary BIN DEST: an executable plus its shared libraries (ldd) at their host paths.
carry_binary() {
    local bin=$1 dest=$2 lib
    mkdir -p "$EXTRA$(dirname "$dest")"
    cp -L "$bin" "$EXTRA$dest"
    for lib in $(ldd "$bin" 2>/dev/null | awk '/=>/ {print $3} /ld-linux/ {print $1}' | grep '^/' || true); do
        mkdir -p "$EXTRA$(dirname "$lib")"
        cp -L "$lib" "$EXTRA$lib"
    done
}

# Scans the command line: files it names go in; files hvmm will write (--stats-json, pcap=)
# come back; --mem sizes the lab.
scan_command_line() {
    local i arg value next_is_output=0 next_is_mem=0
    OUTPUTS=()
    for ((i = 0; i < ${#ARGS[@]}; i++)); do
        arg=${ARGS[i]}
        if ((next_is_output)); then OUTPUTS+=("$(abs "$arg")"); next_is_output=0; continue; fi
        if ((next_is_mem)); then fit_memory "$arg"; next_is_mem=0; continue; fi
        case $arg in
            --stats-json|--pcap) next_is_output=1; continue ;;
            --stats-json=*|--pcap=*) OUTPUTS+=("$(abs "${arg#*=}")"); continue ;;
            --mem|-m) next_is_mem=1; continue ;;
            --mem=*) fit_memory "${arg#*=}"; continue ;;
        esac
        # A NIC spec's pcap=FILE (--nic pcnet,net=...,pcap=FILE) is written by hvmm too.
        if [[ $arg == *pcap=* ]]; then
            local part
            IFS=, read -ra parts <<<"$arg"
            for part in "${parts[@]}"; do
                [[ $part == pcap=* ]] && OUTPUTS+=("$(abs "${part#pcap=}")")
            done
        fi
        value=$arg
        [[ $arg == --*=* ]] && value=${arg#*=}
        if [[ -f $value ]]; then carry "$value"; fi
    done
}

# fit_memory SIZE: hvmm's --mem (MiB, or with an M/G suffix) plus room for the lab itself.
fit_memory() {
    local size=$1 mib
    case $size in
        *[gG]) mib=$(( ${size%[gG]} * 1024 )) ;;
        *[mM]) mib=${size%[mM]} ;;
        *) mib=$size ;;
    esac
    [[ $mib =~ ^[0-9]+$ ]] || return 0  # hvmm itself reports a malformed size
    if (( mib + 1024 > LAB_MEM )); then LAB_MEM=$(( mib + 1024 )); fi
}

# The per-run cpio: hvmm, the files the command names, the command line, its outputs' list.
pack_run() {
    EXTRA="$TMP/root"
    mkdir -p "$EXTRA/lab/bin"
    # /lab/bin/hvmm, in the lab's image, runs it where lab/init places the VMMs.
    if [[ -n $HVMM_BIN ]]; then carry_binary "$HVMM_BIN" /lab/libexec/hvmm; fi
    scan_command_line
    local p
    for p in "${WITH[@]}"; do carry "$p"; done
    echo "$MODE" >"$EXTRA/lab/mode"
    # Module parameters for the lab's kvm-amd (HVMM_LAB_KVM_AMD, e.g. "npt=0"): a lever for experiments.
    printf '%s\n' "${HVMM_LAB_KVM_AMD:-}" >"$EXTRA/lab/kvm-amd-args"
    printf '%s\n' "${HVMM_LAB_KVM:-}" >"$EXTRA/lab/kvm-args"
    # What runs the lab, for the results that come out of it (HVMM_LAB_EMULATOR inside).
    echo "$("$LAB_QEMU" --version 2>/dev/null | head -n1 | sed 's/^QEMU emulator version //'), TCG, $LAB_CPUS CPUs" >"$EXTRA/lab/emulator"
    echo "$PWD" >"$EXTRA/lab/cwd"
    : >"$EXTRA/lab/argv"
    for p in "${ARGS[@]}"; do printf %s "$p" | base64 -w0 >>"$EXTRA/lab/argv"; echo >>"$EXTRA/lab/argv"; done
    printf '%s\n' "${OUTPUTS[@]}" >"$EXTRA/lab/outputs"
    # hvmm writes its outputs where the host would: their directories must exist in the lab too.
    for p in "${OUTPUTS[@]}"; do [[ -n $p ]] && mkdir -p "$EXTRA$(dirname "$p")"; done
    # The kernel takes concatenated cpio archives: the cached base, then this run's files.
    cp "$HVMM_CACHE/lab/base.cpio" "$TMP/initrd.cpio"
    (cd "$EXTRA" && find . | cpio -o -H newc -R 0:0 --quiet) >>"$TMP/initrd.cpio"
}

# QEMU creates its serial ports' files when it opens them; made here first, so that report() can
# read them when QEMU fails before that (it stopped with "No such file" and status 1, not 125).
create_port_files() { : >"$TMP/console.log"; : >"$TMP/control"; }

# While the lab boots, a status line on stderr when stderr is a terminal (never otherwise: CI
# logs get nothing extra), redrawn in place from lab/init's LAB-PROGRESS milestones on the control
# port: booting, lab kernel up, lab up, then the guest booting (hvmm started in the lab). So that
# the line can never be drawn over the console, the console's output then goes through a FIFO to
# the process that draws the line: at its first byte the line is finished with a newline, and
# from there that process is `cat`, passing every byte on unchanged. Without a terminal on
# stderr, QEMU writes our stdout itself, as before: bash reopens /dev/stdout for the redirection,
# so it is opened to append, as QEMU's own file console opens it (">" would truncate a file).
CONSOLE_OUT=/dev/stdout

start_progress() {
    [[ -t 2 ]] || return 0
    CONSOLE_OUT=$TMP/console.fifo
    mkfifo "$CONSOLE_OUT"
    follow_progress <"$CONSOLE_OUT" &
    PROGRESS_PID=$!
}

# After QEMU exited: the follower passes on the last console bytes and ends at the FIFO's end.
finish_progress() {
    [[ -n ${PROGRESS_PID:-} ]] || return 0
    wait "$PROGRESS_PID" 2>/dev/null || true
    PROGRESS_PID=
}

# When the run is cut short: the follower stops at once, clearing its line if it still shows.
stop_progress() {
    [[ -n ${PROGRESS_PID:-} ]] || return 0
    kill -TERM "$PROGRESS_PID" 2>/dev/null || true
    wait "$PROGRESS_PID" 2>/dev/null || true
    PROGRESS_PID=
}

# follow_progress: stdin is the console FIFO.
follow_progress() {
    local start=${EPOCHREALTIME//[!0-9]/} lab_up=""
    trap 'kill "$!" 2>/dev/null; printf "\r\e[K" >&2; exit 0' TERM
    # ^C reaches the whole process group: this process ends by stop_progress's TERM instead (a
    # follower killed by SIGINT also left our `wait` for it blocked until QEMU's children ended).
    trap '' INT
    # Until the console has something to say (or has ended), redraw the line every 0.1 s.
    while ! read -r -t 0; do
        draw_progress
        sleep 0.1 &
        wait $!
    done
    if dd bs=1 count=1 of="$TMP/console.first" status=none 2>/dev/null && [[ -s $TMP/console.first ]]; then
        draw_progress
        printf '\n' >&2
        cat "$TMP/console.first"
        exec cat
    fi
    printf '\r\e[K' >&2
}

# One frame of the status line; sets lab_up (tenths of a second) when the lab is first seen up.
draw_progress() {
    local tenths phase text accel=${LAB_ACCEL%%,*} plural=s
    tenths=$(((${EPOCHREALTIME//[!0-9]/} - start) / 100000))
    [[ $LAB_CPUS == 1 ]] && plural=
    phase=$(grep -a -o 'LAB-PROGRESS [a-z-]*' "$TMP/control" 2>/dev/null | tail -n1 || true)
    if [[ -z $lab_up && ( $phase == *lab-up || $phase == *command-starting ) ]]; then lab_up=$tenths; fi
    local up="lab up in $((lab_up / 10)).$((lab_up % 10)) s"
    case $phase in
        *command-starting)
            if [[ $MODE == exec ]]; then text="$up; the script is running"
            elif [[ ${ARGS[0]:-} == run ]]; then text="$up; hvmm started, the guest is booting"
            else text="$up; hvmm is running"; fi ;;
        *lab-up) text="$up, starting $([[ $MODE == exec ]] && echo the script || echo hvmm)" ;;
        *kernel-up) text="lab kernel up, loading KVM" ;;
        *) text="booting the lab (QEMU ${accel^^}, $LAB_CPUS CPU$plural)" ;;
    esac
    printf '\r\e[Khvmm lab: %s ... %d.%d s' "$text" $((tenths / 10)) $((tenths % 10)) >&2
}

cleanup() {
    stop_progress
    if [[ -n ${QEMU_PID:-} ]]; then kill -KILL "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; fi
    if [[ -n ${HEARTBEAT_PID:-} ]]; then pkill -KILL -P "$HEARTBEAT_PID" 2>/dev/null || true; kill -KILL "$HEARTBEAT_PID" 2>/dev/null || true; wait "$HEARTBEAT_PID" 2>/dev/null || true; fi
    if [[ -n ${WATCHDOG_PID:-} ]]; then pkill -KILL -P "$WATCHDOG_PID" 2>/dev/null || true; kill -KILL "$WATCHDOG_PID" 2>/dev/null || true; wait "$WATCHDOG_PID" 2>/dev/null || true; fi
    if [[ -n ${TTY_STATE:-} ]]; then stty "$TTY_STATE" 2>/dev/null || true; fi
    if [[ -n ${HVMM_LAB_LOG:-} && -f ${TMP:-/nonexistent}/console.log ]]; then cp "$TMP/console.log" "$HVMM_LAB_LOG" || true; fi
    [[ -n ${TMP:-} ]] && rm -rf "$TMP"
}

on_signal() {
    local status=$1
    trap - INT TERM
    stop_progress
    echo "hvmm lab: interrupted" >&2
    exit "$status"
}

start_qemu() {
    local console
    # Interactive: QEMU puts the terminal in raw mode and passes keys through (^C still stops
    # it, as it stops hvmm). Otherwise (CI: stdin /dev/null or closed) output only, appended
    # so a redirected stdout file is not truncated.
    if [[ -t 0 && -t 1 ]]; then
        TTY_STATE=$(stty -g)
        console="stdio,id=con,signal=on"
    else
        console="file,id=con,path=/dev/stdout,append=on"
    fi
    local -a cmd=("$LAB_QEMU" -accel "$LAB_ACCEL" -smp "$LAB_CPUS" -cpu "$LAB_CPU_MODEL" -m "$LAB_MEM"
        -nodefaults -no-reboot -display none -vga none -monitor none
        -qmp "unix:$TMP/qmp.sock,server=on,wait=off"
        -chardev "$console" -serial chardev:con
        -serial "file:$TMP/console.log" -serial "file:$TMP/control"
        -kernel "$HVMM_CACHE/lab/vmlinuz" -initrd "$TMP/initrd.cpio"
        -append "console=ttyS1 panic=-1 ${HVMM_LAB_APPEND:-quiet}")
    if [[ -t 0 ]]; then
        # Explicitly: bash gives a background command /dev/null as stdin otherwise.
        "${cmd[@]}" 2>"$TMP/qemu.err" <&0 >>"$CONSOLE_OUT" &
    else
        "${cmd[@]}" 2>"$TMP/qemu.err" </dev/null >>"$CONSOLE_OUT" &
    fi
    QEMU_PID=$!
    # Our own watchdog rather than timeout(1): QEMU stays our direct child, so cleanup's kill
    # reaches it whatever stops us. The marker file tells report() why QEMU died. It looks every
    # second whether this script still runs: killed outright (SIGKILL runs no trap, and pkill -f
    # takes the watchdog's own shell too), the runner leaves neither a lab nor a long sleep
    # holding its inherited descriptors (a caller's lock, say) behind. TIMEOUT 0: no limit, but
    # still watching.
    local runner=$$
    (
        deadline=$((SECONDS + TIMEOUT))
        while ((TIMEOUT == 0 || SECONDS < deadline)); do
            kill -0 "$runner" 2>/dev/null || { kill -KILL "$QEMU_PID" 2>/dev/null; exit 0; }
            sleep 1
        done
        touch "$TMP/timed-out" && kill -KILL "$QEMU_PID" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 &
    WATCHDOG_PID=$!
    if [[ $STALL != 0 ]]; then
        watch_heartbeat </dev/null >/dev/null 2>&1 &
        HEARTBEAT_PID=$!
    fi
    local status=0
    # (stderr: bash would report "Killed" for a timed-out QEMU; report() says it better)
    { wait "$QEMU_PID"; } 2>/dev/null || status=$?
    QEMU_PID=
    QEMU_STATUS=$status
}

# The lab's init writes "LAB-BEAT" on the control port every 10 s while the command runs. QEMU's
# TCG has been seen to leave the lab's only CPU halted for good while the lab kernel's timer kept
# firing (lab/README.md, "Stability"): a hang that would otherwise hold a test or a benchmark for
# its whole time limit. Once the first beat is in, beats that stop for WAKE seconds make the
# watchdog record the lab CPU's state (registers, local APIC: why it was not woken) and send the
# lab an NMI, which wakes a halted CPU whatever its interrupt flags. A lab that beats again goes on;
# the run ends with a warning naming the evidence. Beats stopped for STALL seconds end the run as
# the lab's failure: the evidence kept (QEMU's threads too, when gdb is at hand), QEMU killed.
# The file transfer at the end has no beats: watching stops when it begins.
watch_heartbeat() {
    local beats seen=0 since=$SECONDS woken_at=-1 stalls=0
    while sleep 5; do
        # The runner killed outright (no trap ran): nothing left to watch for.
        kill -0 "$$" 2>/dev/null || return 0
        grep -q '^LAB-FILES-BEGIN' "$TMP/control" 2>/dev/null && return 0
        beats=$(grep -c '^LAB-BEAT' "$TMP/control" 2>/dev/null || true)
        if [[ ${beats:-0} != "$seen" ]]; then
            if ((woken_at >= 0)); then
                echo "$((woken_at - since)) $((SECONDS - woken_at))" >>"$TMP/woken"
                woken_at=-1
            fi
            seen=${beats:-0}; since=$SECONDS; continue
        fi
        ((seen > 0)) || continue
        if ((woken_at < 0 && WAKE > 0 && SECONDS - since >= WAKE && WAKE < STALL)); then
            stalls=$((stalls + 1))
            record_cpu_state "$TMP/stall-$stalls"
            # An NMI wakes the CPU whatever its IF; a key press (IRQ 1 through the IOAPIC) makes
            # QEMU's local APIC re-evaluate what it has pending, in case the timer's vector sits
            # in IRR without the CPU having been told (the state the stalls so far recorded).
            python3 "$HERE/qmp.py" "$TMP/qmp.sock" inject-nmi "hmp:sendkey shift" "hmp:info lapic" \
                >>"$TMP/stall-$stalls/cpu-state.txt" 2>&1 || true
            woken_at=$SECONDS
        fi
        if ((SECONDS - since >= STALL)); then
            record_cpu_state "$TMP/stall-final"
            if command -v gdb >/dev/null; then
                timeout 30 gdb -p "$QEMU_PID" -batch -ex 'thread apply all bt 12' >"$TMP/stall-final/qemu-threads.txt" 2>&1 || true
            fi
            touch "$TMP/stalled"
            kill -KILL "$QEMU_PID" 2>/dev/null
            return 0
        fi
    done
}

# record_cpu_state DIR: the lab CPU's registers and local APIC, from QEMU's monitor.
record_cpu_state() {
    mkdir -p "$1"
    python3 "$HERE/qmp.py" "$TMP/qmp.sock" "hmp:info registers" "hmp:info lapic" \
        "hmp:info irq" >"$1/cpu-state.txt" 2>&1 || true
}

# cpu_was_halted DIR: whether the recorded state shows the lab CPU halted (QEMU prints HLT=1).
cpu_was_halted() { grep -q 'HLT=1' "$1/cpu-state.txt" 2>/dev/null; }

# keep_stall_evidence: the console, the control port's lines and QEMU's threads of a stalled lab,
# under $HVMM_CACHE/lab/stalls/; prints the directory.
keep_stall_evidence() {
    local dir
    dir=$HVMM_CACHE/lab/stalls/$(date -u +%Y%m%dT%H%M%SZ)-$$
    mkdir -p "$dir"
    cp "$TMP/console.log" "$TMP/qemu.err" "$dir/" 2>/dev/null
    local stall
    for stall in "$TMP"/stall-*; do [[ -d $stall ]] && cp -a "$stall" "$dir/"; done
    grep -a '^LAB-' "$TMP/control" >"$dir/control.txt" 2>/dev/null
    echo "$dir"
}

# Unpacks the returned files: outputs to their own paths, $HVMM_LAB_OUT's tree to --out.
bring_back_files() {
    local ret="$TMP/returned"
    mkdir -p "$ret"
    sed -n '/^LAB-FILES-BEGIN/,/^LAB-FILES-END/p' "$TMP/control" | tr -d '\r' | sed '1d;$d' |
        base64 -d 2>/dev/null | (cd "$ret" && cpio -i -d --quiet 2>/dev/null) || true
    local p
    for p in "${OUTPUTS[@]}"; do
        if [[ -e $ret$p ]]; then mkdir -p "$(dirname "$p")"; cp -a "$ret$p" "$p"; fi
    done
    if [[ -n $OUT_DIR && -d $ret/lab/out ]]; then
        mkdir -p "$OUT_DIR"
        cp -a "$ret/lab/out/." "$OUT_DIR/"
    fi
}

# report_wakes: one warning when the watchdog's NMI woke a lab that had stopped beating. The run's
# result stands (the lab and everything in it were frozen, then went on), but its timings do not.
report_wakes() {
    [[ -f $TMP/woken ]] || return 0
    local count halted=0 stall
    count=$(wc -l <"$TMP/woken")
    for stall in "$TMP"/stall-*; do cpu_was_halted "$stall" && halted=$((halted + 1)); done
    echo "hvmm lab: warning: the lab stopped $count time(s) for $(awk '{s += $1} END {print s}' "$TMP/woken") s in all" \
        "(its CPU found halted: $halted of $count), and an NMI and a key press woke it; timings from this run" \
        "are not figures (evidence in $(keep_stall_evidence))" >&2
}

report() {
    local status
    status=$(tr -d '\r' <"$TMP/control" | sed -n 's/^LAB-STATUS \([0-9]*\)$/\1/p' | tail -n1)
    tr -d '\r' <"$TMP/control" | grep -E '^LAB-(WARN|ERROR)' | sed 's/^/hvmm lab: /' >&2 || true
    report_wakes
    if [[ -n $status ]]; then
        bring_back_files
        return "$status"
    fi
    if [[ -f $TMP/stalled ]]; then
        local how="its CPU running"
        cpu_was_halted "$TMP/stall-final" && how="its CPU left halted"
        lab_fail "the lab stalled: no heartbeat from inside it for ${STALL}s, $how, an NMI and a key press did not wake it (evidence in $(keep_stall_evidence))"
    fi
    if [[ -f $TMP/timed-out ]]; then
        echo "hvmm lab: timed out after ${TIMEOUT}s" >&2; return "$LAB_TIMEOUT"
    fi
    local panic
    panic=$(tr -d '\r' <"$TMP/console.log" | grep -m1 'Kernel panic' || true)
    if [[ -n $panic ]]; then lab_fail "the lab kernel panicked: ${panic#*] }"; fi
    if [[ $QEMU_STATUS != 0 ]]; then
        lab_fail "QEMU failed (status $QEMU_STATUS): $(grep -v 'TCG doesn.t support' "$TMP/qemu.err" | tail -n1)"
    fi
    lab_fail "the lab stopped without reporting a status${HVMM_LAB_LOG:+ (console log in $HVMM_LAB_LOG)}"
}

main() {
    parse_args "$@"
    # A named emulator is checked before anything is built; the default one comes with the build.
    [[ -n ${HVMM_LAB_QEMU:-} ]] && require_emulator
    ensure_lab_built
    require_emulator
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/hvmm-lab.XXXXXX")
    trap cleanup EXIT
    trap 'on_signal 130' INT
    trap 'on_signal 143' TERM
    pack_run
    create_port_files
    start_progress
    start_qemu
    finish_progress
    report
}

main "$@"
