#!/usr/bin/env python3
"""bench/paper.sh's host half: turns what bench/paper-lab.sh returned from the lab into
bench/results/paper.json, paper.md and paper.svg (the paper's throughput figure regenerated:
grouped bars per config, TX and RX). Figures the runs did not produce stay null; nothing is
estimated. Exit status: 0 every row measured, 1 a row failed, 3 rows not available only."""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys

HVMM_LABELS = {
    "baseline": "no optimization (the paper's unoptimized hosted path)",
    "ports": "paper opt. 1 alone",
    "combine": "paper opt. 2 alone",
    "notify": "paper opt. 3 alone",
    "paper": "ports,combine,notify (the paper's three)",
    "all": "paper + past-the-paper (kick)",
    "default": "hvmm without --nic-opt (its default at this build: paper)",
    "virtio": "hvmm's virtio-net (the paper's future work), userspace data path, on the same TAP",
    "vhost": "hvmm's virtio-net with vhost=on (the data path in the lab's kernel)",
    "virtio-pollN": "virtio with poll-us=N (the I/O thread watches the emptied TX ring N us before kicks are back on)",
    "vhost-pollN": "vhost with poll-us=N (the vhost worker's busy loop, VHOST_SET_VRING_BUSYLOOP_TIMEOUT)",
    "CONFIG-nosandbox": "CONFIG with --sandbox off",
    "CONFIG-preempt": "CONFIG with --io-sched normal (the I/O thread's wakeups preempt the vCPU)",
    "CONFIG-batch": "CONFIG with --io-sched batch (they wait for the vCPU to halt or end its slice)",
    "CONFIG-nogso": "CONFIG with the guest's TSO and GSO off (`ethtool -K eth0 tso off gso off`): "
                    "every frame handed to the NIC is one wire packet of at most 1514 bytes, the PCnet's unit",
    "CONFIG-rxcoalU": "CONFIG with the guest's receive interrupt moderation at U µs or 64 frames "
                      "(`ethtool -C eth0 rx-usecs U rx-frames 64 tx-usecs 0 tx-frames 1`, virtio-net's NOTF_COAL)",
    "CONFIG-coalU": "CONFIG with U µs or 64 frames on both queues "
                    "(`ethtool -C eth0 rx-usecs U rx-frames 64 tx-usecs U tx-frames 64`)",
}
QEMU_VERSIONS = {"qemu72": "QEMU 7.2", "qemu10": "QEMU 10", "qemu": "QEMU 7.2"}
QEMU_MODELS = {
    "pcnet": "-device pcnet", "e1000": "-device e1000",
    "virtio": "-device virtio-net-pci, vhost=off", "vhost": "-device virtio-net-pci, vhost=on",
    "user-pcnet": "-device pcnet on -netdev user", "user-virtio": "-device virtio-net-pci on -netdev user",
}


# The guest-side suffixes of a row (bench/paper-lab.sh's guest_suffixes), what they did.
GUEST_SUFFIXES = [(re.compile(r"-nogso"), "the guest's TSO/GSO off"),
                  (re.compile(r"-rxcoal(\d+)"), r"RX moderation \1 µs/64 frames"),
                  (re.compile(r"-coal(\d+)"), r"moderation \1 µs/64 frames both ways")]


def without_guest_suffixes(model):
    """The model named without -nogso, -rxcoalU, -coalU, and what they said, in words."""
    said = []
    for pattern, words in GUEST_SUFFIXES:
        m = pattern.search(model)
        if m:
            said.append(m.expand(words))
            model = pattern.sub("", model, count=1)
    return model, said


def anchor_parts(row):
    """("qemu72", "pcnet") for qemu72-pcnet; the old names qemu-pcnet/qemu-e1000 are QEMU 7.2's.
    An anchor with guest-side suffixes keeps them: ("qemu72", "virtio-nogso")."""
    version, _, model = row.partition("-")
    known = without_guest_suffixes(model)[0] in QEMU_MODELS
    return (version, model) if version in QEMU_VERSIONS and known else (None, None)


def anchor_label(row):
    version, model = anchor_parts(row)
    if not version:
        return row
    base, said = without_guest_suffixes(model)
    return f"{QEMU_VERSIONS[version]} {QEMU_MODELS[base]}" + "".join(", " + s for s in said)


def anchor_tx(by, version, model):
    """TX of anchor VERSION-MODEL in this run (the old qemu- name counts as qemu72)."""
    for name in ([f"qemu72-{model}", f"qemu-{model}"] if version == "qemu72" else [f"{version}-{model}"]):
        if name in by:
            return by[name].get("tx_mbit_s")
    return None


def read_env(raw):
    env = {}
    path = os.path.join(raw, "paper-env.txt")
    if os.path.exists(path):
        for line in open(path):
            key, _, value = line.rstrip("\n").partition(" ")
            env[key] = value
    return env


def parse_runs(raw):
    """Rows in the order they ran: {row: {marks, tx, rx, status, iotime, ...}}."""
    rows = {}
    lines = open(os.path.join(raw, "paper-runs.txt")).read().splitlines()
    for line in lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        row = rows.setdefault(parts[0], {"marks": {}, "iperf": {"TX": [], "RX": []},
                                         "status": None, "iotime": [], "iotime_status": None,
                                         "noiotime": False, "why": None, "prep": []})
        kind = parts[1]
        if kind == "mark" and len(parts) >= 3:
            values = {}
            for kv in parts[3:]:
                key, _, value = kv.partition("=")
                if key == "exit_reasons":
                    values[key] = parse_counts(value)
                elif key == "msrs":
                    values[key] = parse_msr_counts(value)
                elif key == "cpu":
                    values[key] = parse_cpu(value)
                else:
                    values[key] = int(value) if re.fullmatch(r"\d+", value) else (
                        float(value) if re.fullmatch(r"[\d.]+", value) else None)
            row["marks"][parts[2]] = values
        elif kind in ("TX", "RX"):
            row["iperf"][kind].append(line.split(None, 2)[2])
        elif kind == "status":
            row["status"] = parts[2] if len(parts) > 2 else "?"
        elif kind == "IOTIME":
            row["iotime"].append(line.split(None, 2)[2] if len(parts) > 2 else "")
        elif kind == "iotime_status":
            row["iotime_status"] = parts[2]
        elif kind == "noiotime":
            row["noiotime"] = True
        elif kind == "prep":
            row["prep"].append(parts[2] if len(parts) > 2 else "?")
        elif kind == "why":
            row["why"] = line.split(None, 2)[2] if len(parts) > 2 else None
    return rows, lines


# AMD SVM exit codes (the lab emulates an EPYC), as the kvm:kvm_exit tracepoint reports them.
SVM_EXIT_NAMES = {0x60: "INTR", 0x61: "NMI", 0x64: "VINTR", 0x72: "CPUID", 0x78: "HLT",
                  0x7B: "IOIO", 0x7C: "MSR", 0x81: "VMMCALL", 0x400: "NPF"}
# Columns of the exits-by-reason table; the rest are summed as "other".
EXIT_COLUMNS = ["IOIO", "MSR", "VINTR", "INTR", "HLT", "NPF"]
CPU_FIELDS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest"]


def parse_counts(value):
    """'CODE:COUNT,...' from the kvm_exit hist -> {code: count}; None when the lab had none."""
    pairs = [p for p in value.split(",") if re.fullmatch(r"\d+:\d+", p)]
    if not pairs:
        return None
    return {int(c): int(n) for c, n in (pair.split(":") for pair in pairs)}


# x2APIC registers as MSRs (Intel SDM vol. 3, 11.12.1.2) and the timers' MSRs: which MSR exits
# are EOIs, timer programming or IPIs. Other registers are summed as "other".
MSR_NAMES = {(0x80B, 1): "EOI", (0x6E0, 1): "TSC deadline", (0x838, 1): "TMICT",
             (0x830, 1): "ICR", (0x4B564D04, 1): "PV EOI enable"}
MSR_COLUMNS = ["EOI", "TSC deadline", "TMICT", "ICR"]


def parse_msr_counts(value):
    """'ECX/W:COUNT,...' from the kvm_msr hist -> {(ecx, write): count}; None without it."""
    pairs = [p for p in value.split(",") if re.fullmatch(r"\d+/[01]:\d+", p)]
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, _, n = pair.partition(":")
        ecx, _, w = key.partition("/")
        out[(int(ecx), int(w))] = int(n)
    return out


def msrs_by_register(row, phase, packets):
    """MSR accesses KVM handled per packet over a phase, by register name, or None."""
    return per_packet_by_name(row, phase, packets, "msrs", MSR_NAMES)


def parse_cpu(value):
    numbers = value.split(",")
    if len(numbers) != len(CPU_FIELDS) or not all(n.isdigit() for n in numbers):
        return None
    return dict(zip(CPU_FIELDS, map(int, numbers)))


def per_packet_by_name(row, phase, packets, mark_key, names):
    """A hist's counts (mark_key in the phase's two marks) per packet over the phase, keyed by
    names[key] ("other" for the rest), or None when a mark lacks the hist."""
    a = row["marks"].get(phase + "0", {}).get(mark_key)
    b = row["marks"].get(phase + "1", {}).get(mark_key)
    if a is None or b is None or not packets:
        return None
    per = {}
    for key in set(a) | set(b):
        n = b.get(key, 0) - a.get(key, 0)
        if n:
            name = names.get(key, "other")
            per[name] = per.get(name, 0) + n
    return {name: round(n / packets, 3) for name, n in sorted(per.items())}


def exits_by_reason(row, phase, packets):
    """KVM exits per packet by SVM exit reason over a phase, or None without the hist."""
    return per_packet_by_name(row, phase, packets, "exit_reasons", SVM_EXIT_NAMES)


def cpu_split(row, phase):
    """Where the lab's one CPU went over a phase, as fractions: the nested guest (L2), the lab's
    kernel (KVM's exit handling, the TAP and TCP/IP, system calls), the lab's user space (hvmm,
    QEMU, iperf3; guest time taken out of user), and idle."""
    a = row["marks"].get(phase + "0", {}).get("cpu")
    b = row["marks"].get(phase + "1", {}).get("cpu")
    if a is None or b is None:
        return None
    d = {k: b[k] - a[k] for k in CPU_FIELDS}
    total = sum(d[k] for k in CPU_FIELDS if k != "guest")  # guest is inside user already
    if total <= 0:
        return None
    kernel = d["system"] + d["irq"] + d["softirq"]
    return {"guest_l2": round(d["guest"] / total, 3),
            "lab_kernel": round(kernel / total, 3),
            "lab_user": round((d["user"] + d["nice"] - d["guest"]) / total, 3),
            "idle": round((d["idle"] + d["iowait"]) / total, 3)}


def mbps(lines):
    for line in lines:
        if "receiver" in line:
            m = re.search(r"([\d.]+) Mbits/sec", line)
            if m:
                return float(m.group(1))
    return None


def delta(row, phase, key):
    a = row["marks"].get(phase + "0", {}).get(key)
    b = row["marks"].get(phase + "1", {}).get(key)
    if a is None or b is None:
        return None
    return b - a


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)


def load_stats(raw, row):
    path = os.path.join(raw, row + ".stats.json")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    try:
        return json.load(open(path))
    except ValueError:
        return None


def vcpu_syscalls(stats):
    """Host syscalls hvmm counted on its vCPU threads (the exit handlers' path), run-wide:
    its "syscalls": {"vcpu_threads": N} when this build reports it, else None."""
    if not stats or not isinstance(stats.get("syscalls"), dict):
        return None
    return stats["syscalls"].get("vcpu_threads")


def pcnet_ports(stats):
    """hvmm's mean handling time for the PCnet's RDP (base+0x10) and RAP (base+0x12) accesses
    (word I/O mode, as pcnet32 uses it), from its per-port tallies."""
    if not stats:
        return {}
    ports = {int(k, 16): v for k, v in (stats.get("ports") or {}).items()}
    for base in sorted(ports):
        if base >= 0x1000 and base % 0x20 == 0 and base + 0x10 in ports and base + 0x12 in ports:
            return {"io_base": hex(base), "rdp": ports[base + 0x10], "rap": ports[base + 0x12]}
    return {}


def row_figures(name, row, raw):
    status = row["status"]
    tx_pkts = delta(row, "tx", "tap_rx")   # the guest's frames are the TAP's rx during TX
    rx_pkts = delta(row, "rx", "tap_tx")
    fig = {
        "row": name,
        "vmm": "hvmm" if name.startswith("hvmm-") else
               {"qemu10": "qemu-10"}.get(anchor_parts(name)[0], "qemu-7.2"),
        "config": name[5:] if name.startswith("hvmm-") else name,
        "exit_status": status,
        "tx_mbit_s": mbps(row["iperf"]["TX"]),
        "rx_mbit_s": mbps(row["iperf"]["RX"]),
        "iperf3": row["iperf"],
    }
    for phase, pkts in (("tx", tx_pkts), ("rx", rx_pkts)):
        d = {k: delta(row, phase, k) for k in
             ("exits", "io_exits", "mmio_exits", "irq_injections", "halt_exits", "uexits")}
        fig[phase + "_phase"] = {
            "guest_packets": pkts, "kvm_exits": d["exits"], "io_exits": d["io_exits"],
            "mmio_exits": d["mmio_exits"], "irq_injections": d["irq_injections"],
            "userspace_exits": d["uexits"],
            "seconds": ratio(delta(row, phase, "t"), 1, 2),
            "kvm_exits_per_packet": ratio(d["exits"], pkts),
            "io_exits_per_packet": ratio(d["io_exits"], pkts),
            "userspace_exits_per_packet": ratio(d["uexits"], pkts),
            "interrupts_per_packet": ratio(d["irq_injections"], pkts),
            "kvm_exits_per_packet_by_reason": exits_by_reason(row, phase, pkts),
            "msr_accesses_per_packet_by_register": msrs_by_register(row, phase, pkts),
            "lab_cpu": cpu_split(row, phase),
        }
    stats = load_stats(raw, name) if fig["vmm"] == "hvmm" else None
    counters = (stats or {}).get("counters") or {}
    sys_total = vcpu_syscalls(stats)
    fig["hvmm_stats"] = None if stats is None else {
        "run_wide": True,
        "userspace_exits": stats.get("total_exits"),
        "pcnet0.tx_frames": counters.get("pcnet0.tx_frames"),
        "pcnet0.rx_frames": counters.get("pcnet0.rx_frames"),
        "pcnet0.interrupts": counters.get("pcnet0.interrupts"),
        "vcpu_path_syscalls": sys_total,
        "io_thread_syscalls": (stats.get("syscalls") or {}).get("io_thread"),
        # hvmm's own per-frame figure when it reports one, else computed from its counts.
        "vcpu_path_syscalls_per_tx_frame": ((stats.get("packets") or {}).get("pcnet0") or {}).get(
            "vcpu_syscalls_per_tx_frame", ratio(sys_total, counters.get("pcnet0.tx_frames"))),
        "packets": (stats.get("packets") or {}).get("pcnet0"),
        "coalesced_port_writes": (stats.get("coalesced") or {}).get("count"),
        "pcnet_ports": pcnet_ports(stats),
        "pcnet_io_device": ((stats.get("devices") or {}).get("pcnet-io")),
        "io_out": ((stats.get("exits") or {}).get("io_out")),
        "full": stats,
    }
    parsed = None
    for line in row["iotime"]:
        if line.lstrip().startswith("{"):
            try:
                parsed = json.loads(line)
            except ValueError:
                pass
    fig["guest_gso"] = "off" if "-nogso" in name else "on"
    fig["guest_ethtool"] = row["prep"]
    tx_bytes = delta(row, "tx", "tap_rx_bytes")
    fig["tx_phase"]["bytes_per_packet"] = ratio(tx_bytes, tx_pkts, 0)
    fig["iotime"] = {"ran": bool(row["iotime"]), "lines": row["iotime"], "json": parsed,
                     "status": row["iotime_status"], "not_in_image": row["noiotime"]}
    if status == "unavailable":
        fig["state"] = "not available (hvmm has no --nic-opt)"
        fig["ok"] = None
    elif status == "0" and fig["tx_mbit_s"] is not None and fig["rx_mbit_s"] is not None:
        fig["state"] = "ok"
        fig["ok"] = True
    elif status == "0":
        fig["state"] = "failed (status 0, no iperf3 result)"
        fig["ok"] = False
    else:
        fig["state"] = f"failed (status {status})"
        fig["ok"] = False
    asked = len(without_guest_suffixes(name)[1])
    if fig["ok"] is True and (any(p != "ok" for p in row["prep"]) or len(row["prep"]) < asked):
        # A row whose guest could not set what its suffixes ask measured something else.
        fig["state"] = f"failed (the guest's ethtool said '{' '.join(row['prep'])}' to {asked} asked)"
        fig["ok"] = False
    if fig["ok"] is False and row.get("why"):
        fig["state"] += f": {row['why']}"
    if fig["ok"] is False:
        # A failed run's figures are not a measurement of the config.
        fig["tx_mbit_s"] = fig["rx_mbit_s"] = None
    return fig


def fmt(value, digits=None):
    if value is None:
        return "—"
    if digits is not None:
        return f"{value:.{digits}f}"
    return str(value)


def plot(figs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [f for f in figs if f["ok"]]
    labels = [f["row"].replace("hvmm-", "hvmm\n").replace("qemu72-", "QEMU 7.2\n").replace("qemu10-", "QEMU 10\n").replace("qemu-", "QEMU\n") for f in shown]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(shown) + 2), 4.2))
    width = 0.38
    xs = range(len(shown))
    tx = [f["tx_mbit_s"] for f in shown]
    rx = [f["rx_mbit_s"] for f in shown]
    b1 = ax.bar([x - width / 2 for x in xs], tx, width, label="guest TX", color="#3b6ea5")
    b2 = ax.bar([x + width / 2 for x in xs], rx, width, label="guest RX", color="#e3a33b")
    for bars in (b1, b2):
        for bar in bars:
            ax.annotate(f"{bar.get_height():.3g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("iperf3 Mbit/s (receiver)")
    missing = [f["row"] for f in figs if not f["ok"]]
    title = "PCnet throughput by NIC optimization config (one lab boot)"
    ax.set_title(title, fontsize=10)
    if missing:
        ax.text(0.99, 0.97, "not measured: " + ", ".join(missing), transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="#a33")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def git_head(repo):
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        return head
    except (OSError, subprocess.CalledProcessError):
        return None


def msr_lines(figs):
    """The TX phase's MSR accesses per packet by register, and the mean frame the NIC was handed
    (bytes per TAP packet: ~1514 with GSO off, tens of KB with it on). Markdown lines."""
    lines = []
    for f in figs:
        tp = f["tx_phase"]
        by_reg = tp.get("msr_accesses_per_packet_by_register")
        if f.get("ok") is not True or by_reg is None:
            continue
        cells = [fmt(by_reg.get(c, 0.0), 3) for c in MSR_COLUMNS]
        cells.append(fmt(sum(v for k, v in by_reg.items() if k not in MSR_COLUMNS), 3))
        lines.append(f"| {f['row']} | {fmt(tp.get('bytes_per_packet'), 0)} | {f['guest_gso']} | "
                     + " | ".join(cells) + " |")
    if not lines:
        return []
    return (["## MSR exits of the TX phase by register\n",
             "Per transmitted packet (the lab's `kvm:kvm_msr` tracepoint, a hist trigger keyed on "
             "the register): x2APIC EOI writes (0x80B), TSC-deadline writes (0x6E0), APIC timer "
             "initial count (0x838), ICR (0x830, IPIs). Bytes per packet: the TAP's rx_bytes over "
             "its rx_packets in the phase, so the size of the frames the guest handed its NIC.\n",
             "| row | bytes per TX packet | guest TSO/GSO | " + " | ".join(MSR_COLUMNS) + " | other |",
             "|---" * (len(MSR_COLUMNS) + 4) + "|"] + lines + [""])


def virtio_queue_lines(figs):
    """The virtio rows' transmit queue, run-wide from hvmm's own counters (the stats JSON kept
    whole in each row's hvmm_stats.full): frames per kick and per drain, and what bounded
    polling (poll-us=) watched and found. Markdown lines, none when no row has a virtio NIC."""
    lines = []
    for f in figs:
        if f.get("ok") is not True:
            continue  # a failed run's counters are not a measurement of the config
        full = (f.get("hvmm_stats") or {}).get("full") or {}
        c = full.get("counters") or {}
        frames = c.get("virtio0.tx_frames")
        if not frames:
            continue
        io = (full.get("syscalls") or {}).get("io_thread")
        moved = frames + (c.get("virtio0.rx_frames") or 0)
        lines.append(f"| {f['row']} | {frames} | {fmt(ratio(frames, c.get('virtio0.tx_kicks')), 2)} | "
                     f"{fmt(ratio(frames, c.get('virtio0.tx_batches')), 2)} | "
                     f"{c.get('virtio0.tx_poll_hits', 0)} of {c.get('virtio0.tx_poll_windows', 0)} | "
                     f"{fmt(ratio(c.get('virtio0.tx_poll_ns', 0), 1e6), 1)} | "
                     f"{fmt(ratio(io, moved), 2)} | "
                     f"{c.get('virtio0.tx_notifications', '—')} ({c.get('virtio0.tx_notifications_held', '—')}) / "
                     f"{c.get('virtio0.rx_notifications', '—')} ({c.get('virtio0.rx_notifications_held', '—')}) |")
    if not lines:
        return []
    return (["## The virtio transmit queue (run-wide, hvmm's counters)\n",
             "| row | TX frames | frames per kick | frames per drain | polls that found a frame "
             "| ms spent polling | I/O-thread system calls per frame moved (TX+RX) "
             "| notifications TX (held) / RX (held) |",
             "|---|---|---|---|---|---|---|---|"] + lines + [""])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--hvmm", default="")
    ap.add_argument("--hvmm-rev", default="")
    ap.add_argument("--repo-head", default="")
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--wall-seconds", type=int, default=None)
    ap.add_argument("--lab-status", default="0")
    ap.add_argument("--lab-retry", default="",
                    help="'status N: reason' when the lab lost the first run and this is the second")
    args = ap.parse_args()

    env = read_env(args.raw)
    rows, raw_lines = parse_runs(args.raw)
    figs = [row_figures(name, row, args.raw) for name, row in rows.items()]
    by = {f["row"]: f for f in figs}
    base_tx = by.get("hvmm-baseline", {}).get("tx_mbit_s")
    qp_tx = anchor_tx(by, "qemu72", "pcnet")
    qp10_tx = anchor_tx(by, "qemu10", "pcnet")
    qe_tx = anchor_tx(by, "qemu72", "e1000")
    for f in figs:
        f["tx_vs_baseline"] = ratio(f["tx_mbit_s"], base_tx) if f["vmm"] == "hvmm" else None
        f["tx_vs_qemu_pcnet"] = ratio(f["tx_mbit_s"], qp_tx)
        f["tx_vs_qemu10_pcnet"] = ratio(f["tx_mbit_s"], qp10_tx)
        f["tx_vs_qemu_e1000"] = ratio(f["tx_mbit_s"], qe_tx)
    all_tx = by.get("hvmm-all", {}).get("tx_mbit_s")
    paper_tx = by.get("hvmm-paper", {}).get("tx_mbit_s")
    summary = {"hvmm_paper_tx_vs_qemu_pcnet_tx": ratio(paper_tx, qp_tx),
               "hvmm_paper_tx_vs_qemu_e1000_tx": ratio(paper_tx, qe_tx),
               "hvmm_paper_tx_vs_baseline_tx": ratio(paper_tx, base_tx),
               "hvmm_all_tx_vs_qemu_pcnet_tx": ratio(all_tx, qp_tx),
               "hvmm_all_tx_vs_qemu_e1000_tx": ratio(all_tx, qe_tx),
               "hvmm_all_tx_vs_baseline_tx": ratio(all_tx, base_tx),
               "hvmm_paper_tx_vs_qemu10_pcnet_tx": ratio(paper_tx, qp10_tx),
               # The lab's dynamic range: what a paravirtual NIC moves over the emulated one in
               # the same boot. A lab that squeezes it measures itself more than the VMMs.
               "dynamic_range_qemu72_virtio_over_pcnet_tx": ratio(anchor_tx(by, "qemu72", "virtio"), qp_tx),
               "dynamic_range_qemu10_virtio_over_pcnet_tx": ratio(anchor_tx(by, "qemu10", "virtio"), qp10_tx),
               "dynamic_range_qemu72_vhost_over_pcnet_tx": ratio(anchor_tx(by, "qemu72", "vhost"), qp_tx),
               "dynamic_range_qemu10_vhost_over_pcnet_tx": ratio(anchor_tx(by, "qemu10", "vhost"), qp10_tx)}
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    measured = [f["row"] for f in figs if f["ok"]]
    failed = [f["row"] for f in figs if f["ok"] is False]
    unavailable = [f["row"] for f in figs if f["ok"] is None]
    iotime_rows = [f for f in figs if f["iotime"]["ran"]]
    iotime_missing = any(f["iotime"]["not_in_image"] for f in figs)

    doc = {
        "benchmark": "paper",
        "date": date,
        "command": args.command,
        "repo_head": args.repo_head or git_head(repo),
        "hvmm_binary": args.hvmm or None,
        "hvmm_built_from": args.hvmm_rev or None,
        "where": "inside one lab boot (QEMU TCG, EPYC with SVM), nested KVM; guest 1 vCPU, 256 MiB; TAP to the lab",
        "guest_kernel": env.get("guest_kernel"), "lab_kernel": env.get("lab_kernel"),
        "qemu": env.get("qemu"), "qemu10": env.get("qemu10"),
        "lab_cpus": env.get("lab_cpus"), "lab_halt_poll_ns": env.get("lab_halt_poll_ns"),
        "placement": env.get("placement"), "lab_emulator": env.get("lab_emulator"),
        "iperf3_seconds": int(env["secs"]) if env.get("secs", "").isdigit() else None,
        "hvmm_has_nic_opt": env.get("nic_opt") == "yes",
        "configs_requested": env.get("configs", "").split(),
        "anchors_requested": env.get("anchors", "").split(),
        "host_load_before": args.load_before, "host_load_after": args.load_after,
        "wall_seconds": args.wall_seconds, "lab_status": args.lab_status,
        "lab_retry": args.lab_retry or None,
        "measured": measured, "failed": failed, "not_available": unavailable,
        "summary": summary,
        "definitions": {
            "tx_mbit_s": "iperf3 receiver figure, guest -> lab",
            "kvm_exits_per_packet": "debugfs kvm/exits delta over the TX phase / TAP rx_packets delta",
            "userspace_exits_per_packet": "kvm:kvm_userspace_exit tracepoint hits (hist trigger) over the TX phase / TAP rx_packets delta",
            "interrupts_per_packet": "debugfs kvm/irq_injections delta over the TX phase / TAP rx_packets delta",
            "kvm_exits_per_packet_by_reason": "kvm:kvm_exit hist trigger keyed on the SVM exit code, delta over the phase / guest packets; IOIO port I/O, MSR (x2APIC EOI, timer), VINTR interrupt window, INTR a lab interrupt while the guest ran, NPF nested page fault",
            "lab_cpu": "the lab CPU's /proc/stat delta over the phase: guest_l2 the nested guest, lab_kernel system+irq+softirq, lab_user user+nice less guest, idle idle+iowait",
            "vcpu_path_syscalls_per_tx_frame": "hvmm --stats-json packets.pcnet0.vcpu_syscalls_per_tx_frame (syscalls.vcpu_threads / pcnet0.tx_frames), whole run (boot and RX included); null when this build does not report syscalls",
        },
        "guest_cmd": env.get("guest_cmd"),
        "rows": figs,
        "raw": raw_lines,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "paper.json"), "w") as out:
        json.dump(doc, out, indent=1)
        out.write("\n")

    svg = os.path.join(args.out, "paper.svg")
    plot_note = ""
    try:
        plot(figs, svg)
    except Exception as e:  # the table matters more than the picture
        plot_note = f"(plot not drawn: {e})"
        print(f"bench/paper.sh: {plot_note}", file=sys.stderr)

    md = []
    md.append("# The paper's NIC optimizations on hvmm's PCnet (Am79C970A), with QEMU 7.2 and QEMU 10 anchors\n")
    md.append(f"One lab boot (QEMU TCG with SVM, nested KVM), {date[:10]}. Guest: the default image, kernel "
              f"{env.get('guest_kernel')}, stock pcnet32 (e1000 for the e1000 anchor), 1 vCPU, 256 MiB; a TAP "
              f"to the lab, iperf3 server in the lab; guest TX then RX, {env.get('secs')} s each (Mbit/s: "
              "iperf3's receiver figure). Per TX packet = counter delta between the guest's marker lines "
              "around the TX phase / frames the guest sent (the TAP's rx_packets over the same interval). "
              "KVM exits and interrupts: the lab's KVM debugfs `exits` and `irq_injections`; userspace "
              "exits: hits of the `kvm:kvm_userspace_exit` tracepoint (a tracefs hist trigger, every "
              "KVM_RUN return); vCPU-path syscalls: hvmm's own --stats-json count, run-wide (boot and "
              "RX included) per transmitted frame, where hvmm reports it.\n")
    md.append(f"Lab: {env.get('lab_cpus', '?')} CPUs, emulator {env.get('lab_emulator') or 'not recorded'}, "
              f"lab KVM halt_poll_ns {env.get('lab_halt_poll_ns', '?')}, placement {env.get('placement', '?')} "
              f"(vCPU threads on lab CPUs {env.get('vcpu_cpus') or 'any'}); anchors {env.get('qemu')} and "
              f"{env.get('qemu10')}.\n")
    md.append(f"Command: `{args.command}` (repo at {doc['repo_head']}; hvmm built from "
              f"{args.hvmm_rev or 'an unrecorded tree'}; it "
              f"{'has' if doc['hvmm_has_nic_opt'] else 'has NO'} `--nic-opt`)\n")
    md.append(f"Host load average (1/5/15 min) before and after: {args.load_before} / {args.load_after} "
              f"(2 cores); wall time {args.wall_seconds} s.\n")
    if args.lab_retry:
        md.append(f"The lab lost the first run ({args.lab_retry}); these figures are from the one "
                  "retry (wall time includes both).\n")
    md.append(f"Measured: {', '.join(measured) or 'none'}. Failed: {', '.join(failed) or 'none'}. "
              f"Not available: {', '.join(unavailable) or 'none'}.\n")
    md.append("| config | status | TX Mbit/s | RX Mbit/s | userspace exits / TX pkt | KVM exits / TX pkt "
              "| interrupts / TX pkt | vCPU-path syscalls / TX frame | TX vs baseline | TX vs QEMU 7.2 pcnet "
              "| TX vs QEMU 10 pcnet | TX vs QEMU 7.2 e1000 |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in figs:
        tp = f["tx_phase"]
        hs = f["hvmm_stats"] or {}
        good = f["ok"] is True
        g = (lambda v, d=None: fmt(v, d) if good else "—")
        md.append(f"| {f['row']} | {f['state']} | {g(f['tx_mbit_s'])} | {g(f['rx_mbit_s'])} | "
                  f"{g(tp['userspace_exits_per_packet'], 2)} | {g(tp['kvm_exits_per_packet'], 2)} | "
                  f"{g(tp['interrupts_per_packet'], 2)} | {g(hs.get('vcpu_path_syscalls_per_tx_frame'), 2)} | "
                  f"{g(f['tx_vs_baseline'], 2)} | {g(f['tx_vs_qemu_pcnet'], 2)} | "
                  f"{g(f['tx_vs_qemu10_pcnet'], 2)} | {g(f['tx_vs_qemu_e1000'], 2)} |")
    md.append("")
    md.append("Configs: " + "; ".join(f"`{k}` {v}" for k, v in HVMM_LABELS.items()) + ". Anchors: "
              + "; ".join(f"`{f['row']}` {anchor_label(f['row'])}" for f in figs if f["vmm"] != "hvmm")
              + ".\n")
    md.append("Lab dynamic range (virtio-net TX over pcnet TX, this boot): QEMU 7.2 "
              f"{fmt(summary['dynamic_range_qemu72_virtio_over_pcnet_tx'])}x (vhost "
              f"{fmt(summary['dynamic_range_qemu72_vhost_over_pcnet_tx'])}x), QEMU 10 "
              f"{fmt(summary['dynamic_range_qemu10_virtio_over_pcnet_tx'])}x (vhost "
              f"{fmt(summary['dynamic_range_qemu10_vhost_over_pcnet_tx'])}x). hvmm paper vs QEMU 10 pcnet TX: "
              f"{fmt(summary['hvmm_paper_tx_vs_qemu10_pcnet_tx'])}.\n")
    md.append(f"hvmm paper (its default) vs QEMU pcnet TX: {fmt(summary['hvmm_paper_tx_vs_qemu_pcnet_tx'])}; "
              f"vs QEMU e1000 TX: {fmt(summary['hvmm_paper_tx_vs_qemu_e1000_tx'])}; "
              f"vs hvmm baseline TX: {fmt(summary['hvmm_paper_tx_vs_baseline_tx'])}. "
              f"hvmm all vs QEMU pcnet TX: {fmt(summary['hvmm_all_tx_vs_qemu_pcnet_tx'])}; "
              f"vs QEMU e1000 TX: {fmt(summary['hvmm_all_tx_vs_qemu_e1000_tx'])}; "
              f"vs hvmm baseline TX: {fmt(summary['hvmm_all_tx_vs_baseline_tx'])}"
              + (" (— = a row was not measured)" if None in summary.values() else "") + ".\n")
    md.append(f"Plot: `paper.svg` (grouped bars, TX and RX per config) {plot_note}\n")

    md.append("## Where the TX phase went\n")
    md.append("KVM exits per transmitted packet by the exit's hardware reason (the lab's `kvm:kvm_exit` "
              "tracepoint; IOIO = port I/O, MSR = x2APIC EOI and timer writes, VINTR = interrupt "
              "window, INTR = a lab interrupt while the guest ran, NPF = nested page fault), and the "
              "lab CPU's time over the same phase: the nested guest (L2), the lab's kernel (KVM's exit "
              "handling, the TAP, TCP/IP, system calls), the lab's user space (hvmm or QEMU, the "
              "iperf3 server) and idle.\n")
    md.append("| config | " + " | ".join(EXIT_COLUMNS) + " | other | CPU: guest L2 | lab kernel "
              "| lab user | idle |")
    md.append("|---" * (len(EXIT_COLUMNS) + 6) + "|")
    for f in figs:
        tp = f["tx_phase"]
        by_reason = tp.get("kvm_exits_per_packet_by_reason")
        cpu = tp.get("lab_cpu")
        if f["ok"] is not True or (by_reason is None and cpu is None):
            continue
        cells = []
        if by_reason is None:
            cells = ["—"] * (len(EXIT_COLUMNS) + 1)
        else:
            cells = [fmt(by_reason.get(c, 0.0), 2) for c in EXIT_COLUMNS]
            cells.append(fmt(sum(v for k, v in by_reason.items() if k not in EXIT_COLUMNS), 2))
        if cpu is None:
            cells += ["—"] * 4
        else:
            cells += [f"{100 * cpu[k]:.0f}%" for k in ("guest_l2", "lab_kernel", "lab_user", "idle")]
        md.append(f"| {f['row']} | " + " | ".join(cells) + " |")
    md.append("")

    md.extend(msr_lines(figs))
    md.extend(virtio_queue_lines(figs))

    md.append("## Cost table (per OUT)\n")
    md.append("The paper's per-OUT cost table, from measurements of this run only. `iotime` (a guest "
              "tool timing one exiting OUT to the NIC, a RAP write and an RDP read) runs after RX in "
              "the baseline, paper and all configs when the image has it; hvmm's handler time per access comes "
              "from its --stats-json (mean time from the exit to the handler's return, whole run).\n")
    if iotime_rows:
        md.append("Guest-side, `iotime --unbind --json` (median over batches of the per-access mean; "
                  "mean over all and fastest batch in brackets), µs per access:\n")
        head = "| access | " + " | ".join(f"{f['row']}" for f in iotime_rows) + \
            " | the paper (VMware Workstation, 733 MHz PIII) |"
        md.append(head)
        md.append("|---" * (len(iotime_rows) + 2) + "|")
        paper = {"out": "31.63 (30.65 of it world switch)", "rap_write": "—", "rdp_read": "—"}
        for key in ("out", "rap_write", "rdp_read"):
            cells = []
            what = key
            for f in iotime_rows:
                j = f["iotime"]["json"] or {}
                x = j.get(key)
                mhz = j.get("tsc_mhz")
                if isinstance(x, dict) and x.get("ns") is not None:
                    what = f"`{key}` ({x.get('what', '')})"
                    extra = f"mean {x['mean_ns'] / 1000:.2f}" if x.get("mean_ns") is not None else ""
                    if mhz and x.get("min_cycles") is not None:
                        extra += f", min {x['min_cycles'] / mhz:.2f}"
                    cells.append(f"{x['ns'] / 1000:.2f} ({extra})")
                else:
                    cells.append("—")
            md.append(f"| {what} | " + " | ".join(cells) + f" | {paper[key]} |")
        md.append("")
        for f in iotime_rows:
            j = f["iotime"]["json"]
            if j is None or f["iotime"]["status"] != "0":
                md.append(f"`iotime` in {f['row']} exited {f['iotime']['status']}; its output:\n")
                md.append("```")
                md.extend(f["iotime"]["lines"])
                md.append("```\n")
            else:
                md.append(f"{f['row']}: TSC {j.get('tsc_mhz')} MHz ({j.get('tsc_source')}), "
                          f"{j.get('io_mode')} at {j.get('device')}, {j.get('driver_note')}.")
        md.append("")
    elif iotime_missing:
        md.append("**iotime not in the image**: the guest had no `iotime` when this ran, so the "
                  "guest-side per-OUT times are not measured here.\n")
    else:
        md.append("iotime did not run (no baseline or all row was measured).\n")
    hrows = [f for f in figs if f["hvmm_stats"]]
    if hrows:
        md.append("hvmm-side, from each run's --stats-json (whole run, boot included): mean time from "
                  "the exit to the handler's return per access, and how many accesses exited (a RAP "
                  "count near 1 means KVM coalesced the writes instead of exiting: `ports`).\n")
        md.append("| config | hvmm RAP write mean µs (count) | hvmm RDP access mean µs (count) "
                  "| all io_out exits mean µs | pcnet-io device mean µs |")
        md.append("|---|---|---|---|---|")
        for f in hrows:
            hs = f["hvmm_stats"]
            pp = hs.get("pcnet_ports") or {}
            def t(x):
                return f"{x['mean_us']:.1f} ({x['count']})" if x else "—"
            md.append(f"| {f['row']} | {t(pp.get('rap'))} | {t(pp.get('rdp'))} | {t(hs.get('io_out'))} "
                      f"| {t(hs.get('pcnet_io_device'))} |")
        md.append("")
    md.append("## Raw\n")
    md.append("Counter snapshots at the guest's markers, iperf3 summaries, exit statuses (hvmm's "
              "--stats-json per run is in paper.json):\n")
    md.append("```")
    md.extend(raw_lines)
    md.append("```")
    with open(os.path.join(args.out, "paper.md"), "w") as out:
        out.write("\n".join(md) + "\n")

    for f in figs:
        print(f"bench/paper.sh: {f['row']}: {f['state']}", file=sys.stderr)
    if iotime_missing:
        print("bench/paper.sh: iotime not in the image (cost table has no guest-side times)", file=sys.stderr)
    if failed:
        return 1
    if unavailable:
        return 3
    return 0


if __name__ == "__main__":
    # `paper_report.py --virtio-table paper.json`: that section again from a kept result.
    if len(sys.argv) == 3 and sys.argv[1] == "--virtio-table":
        print("\n".join(virtio_queue_lines(json.load(open(sys.argv[2]))["rows"])))
        sys.exit(0)
    sys.exit(main())
