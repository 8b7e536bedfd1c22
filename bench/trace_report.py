#!/usr/bin/env python3
"""Where the time between transmitted frames goes, from bench/paper-lab.sh's ftrace of the lab
kernel (BENCH_TRACE_SECS): the nested guest's vCPU thread is followed through its states --
running the guest (kvm_entry..kvm_exit), in KVM after an exit, in the VMM's user space after an
exit to it, runnable but not running (waiting for a lab CPU), and blocked (the guest halted,
waiting for an interrupt) -- and what woke it each time it blocked. Each state's time is divided
by the frames the TAP received over the window. Every lab CPU's idle share is given beside it.

usage: trace_report.py ROW.trace[.xz]...   (prints a Markdown table and the wakers of blocked spells)
"""
import collections
import lzma
import re
import sys

LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$")
STATES = ("guest", "kvm", "vmm_user", "runnable", "blocked")


def parse(path):
    header, events = {}, []
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt", errors="replace") as f:
        for raw in f:
            if raw.startswith("# tap_rx_start="):
                header = dict(kv.split("=", 1) for kv in raw[2:].split())
                continue
            m = LINE.match(raw)
            if m:
                comm, pid, cpu, ts, name, rest = m.groups()
                events.append((float(ts), int(cpu), comm, int(pid), name, rest))
    return header, events


def field(rest, key):
    m = re.search(r"\b" + key + r"=(\S+)", rest)
    return m.group(1) if m else None


def analyse(path):
    header, events = parse(path)
    if not events:
        return None
    vcpus = collections.Counter(pid for _, _, _, pid, name, _ in events if name == "kvm_entry")
    if not vcpus:
        return None
    vcpu = vcpus.most_common(1)[0][0]
    t_first, t_last = events[0][0], events[-1][0]
    spent = collections.Counter()
    state, since = None, None
    wakers = collections.Counter()
    blocked_spells = []
    exits = collections.Counter()
    idle_by_cpu = collections.Counter()
    running_on = {}  # cpu -> (task pid, since)

    def move(new, ts):
        nonlocal state, since
        if state is not None and since is not None:
            spent[state] += ts - since
            if state == "blocked":
                blocked_spells.append(ts - since)
        state, since = new, ts

    for ts, cpu, comm, pid, name, rest in events:
        if name == "sched_switch":
            prev_pid, next_pid = int(field(rest, "prev_pid") or -1), int(field(rest, "next_pid") or -1)
            prev = running_on.get(cpu)
            if prev is not None and prev[0] == 0:
                idle_by_cpu[cpu] += ts - prev[1]
            running_on[cpu] = (next_pid, ts)
            if prev_pid == vcpu:
                prev_state = field(rest, "prev_state") or "?"
                move("runnable" if prev_state.startswith("R") else "blocked", ts)
            if next_pid == vcpu and state in ("runnable", "blocked", None):
                # Back on a CPU: it resumes in KVM (vcpu_block returns, or preemption ends).
                move("kvm", ts)
            continue
        if name == "sched_wakeup" and int(field(rest, "pid") or -1) == vcpu:
            if state == "blocked":
                wakers[re.sub(r"\d+$", "N", comm) if pid != 0 else "<irq on idle CPU>"] += 1
                move("runnable", ts)
            continue
        if pid != vcpu:
            continue
        if name == "kvm_entry":
            move("guest", ts)
        elif name == "kvm_exit":
            m = re.search(r"reason (\S+)", rest)
            exits[m.group(1) if m else "?"] += 1
            move("kvm", ts)
        elif name == "kvm_userspace_exit":
            move("vmm_user", ts)
    move(None, t_last)
    for cpu, (task, t0) in running_on.items():
        if task == 0:
            idle_by_cpu[cpu] += t_last - t0
    frames = None
    try:
        frames = int(header["tap_rx_end"]) - int(header["tap_rx_start"])
    except (KeyError, ValueError):
        pass
    window = t_last - t_first
    return dict(path=path, vcpu=vcpu, window=window, frames=frames, spent=spent, wakers=wakers,
                blocked=blocked_spells, exits=exits, idle=idle_by_cpu)


def main(paths):
    rows = [r for r in (analyse(p) for p in paths) if r]
    print("| run | window s | frames | per frame: guest us | KVM us | VMM user us | runnable us |"
          " blocked us | blocked spells / frame | median spell us | lab CPUs idle |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["frames"] or 0
        per = {s: (r["spent"][s] / n * 1e6 if n else float("nan")) for s in STATES}
        spells = sorted(r["blocked"])
        median = spells[len(spells) // 2] * 1e6 if spells else 0
        idle = ", ".join(f"cpu{c} {100 * t / r['window']:.0f}%" for c, t in sorted(r["idle"].items()))
        name = r["path"].rsplit("/", 1)[-1].replace(".xz", "").replace(".trace", "")
        print(f"| {name} | {r['window']:.2f} | {n} | " + " | ".join(f"{per[s]:.0f}" for s in STATES) +
              f" | {len(spells) / n if n else float('nan'):.2f} | {median:.0f} | {idle} |")
    for r in rows:
        name = r["path"].rsplit("/", 1)[-1].replace(".xz", "").replace(".trace", "")
        top = ", ".join(f"{k} {v}" for k, v in r["wakers"].most_common(5))
        ex = ", ".join(f"{k} {v}" for k, v in r["exits"].most_common(6))
        print(f"\n{name}: woken from blocked by: {top or '-'}; exits: {ex}")


if __name__ == "__main__":
    main(sys.argv[1:])
