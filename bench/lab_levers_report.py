#!/usr/bin/env python3
"""bench/lab-levers.sh's table: per lever (one lab boot each), TX Mbit/s of every row, the lab's
dynamic range (virtio-net TX over pcnet TX, per QEMU), hvmm against each QEMU's pcnet, hvmm's
exiting OUT (iotime), and where a transmitted frame's time went on the vCPU thread (from each
row's ftrace, bench/trace_report.py).

usage: lab_levers_report.py RESULTS_DIR COMMAND   (RESULTS_DIR/CPUS-cpu-LEVER/ per lever)"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_report  # noqa: E402
import trace_report  # noqa: E402

ROWS = ["hvmm-paper", "qemu72-pcnet", "qemu10-pcnet", "qemu72-virtio", "qemu10-virtio"]


def lever_figures(directory):
    runs_path = os.path.join(directory, "paper-runs.txt")
    if not os.path.exists(runs_path):
        return None
    rows, _ = paper_report.parse_runs(directory)
    tx = {name: paper_report.mbps(row["iperf"]["TX"]) for name, row in rows.items()}
    iot = None
    for line in open(runs_path):
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0] == "hvmm-paper" and parts[1] == "IOTIME" and parts[2].startswith("{"):
            try:
                doc = json.loads(parts[2])
                iot = doc.get("out", {}).get("ns")  # iotime's median over batches
            except (ValueError, AttributeError):
                pass
    frames = {}
    for trace in glob.glob(os.path.join(directory, "*.trace")) + glob.glob(os.path.join(directory, "*.trace.xz")):
        result = trace_report.analyse(trace)
        if result and result["frames"]:
            n = result["frames"]
            frames[os.path.basename(trace).split(".trace")[0]] = {s: result["spent"][s] / n * 1e6 for s in trace_report.STATES}
    env = paper_report.read_env(directory)
    return {"tx": tx, "iotime_out_ns": iot, "frames": frames, "env": env}


def ratio(a, b):
    return a / b if a and b else None


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def main(results, command):
    levers = sorted(d for d in os.listdir(results) if os.path.isdir(os.path.join(results, d)))
    notes = []
    out = ["# Lab levers: what ties the nested guest's network to the lab\n",
           f"Command: `{command}`. One lab boot per lever; guest 1 vCPU, 256 MiB, default image, TAP to "
           "the lab, iperf3 TX then RX; TX Mbit/s (iperf3 receiver). Range = virtio-net TX over pcnet TX "
           "of the same QEMU in the same boot. Per frame: the vCPU thread's time over a 2 s ftrace of the "
           "TX phase divided by the frames the TAP received (guest = running the nested guest, KVM = in "
           "the lab kernel after an exit, user = in the VMM's user space, runnable = waiting for a lab "
           "CPU, blocked = halted).\n",
           "| lever | hvmm PCnet | QEMU 7.2 pcnet | QEMU 10 pcnet | QEMU 7.2 virtio | QEMU 10 virtio | "
           "range 7.2 / 10 | hvmm / QEMU 7.2, 10 pcnet | hvmm OUT us | hvmm frame us: guest/KVM/user/runnable/blocked | "
           "QEMU 7.2 pcnet frame us |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for lever in levers:
        f = lever_figures(os.path.join(results, lever))
        if f is None:
            out.append(f"| {lever} | no result (see {lever}/stderr.txt) |")
            continue
        tx = f["tx"]
        provenance = os.path.join(results, lever, "provenance.txt")
        if os.path.exists(provenance):
            notes.append(f"- {lever}: " + open(provenance).read().strip())
        split = lambda row: "/".join(f"{f['frames'][row][s]:.0f}" for s in trace_report.STATES) if row in f["frames"] else "-"
        out.append(
            f"| {lever} | " + " | ".join(fmt(tx.get(r), 2 if (tx.get(r) or 0) < 10 else 1) for r in ROWS) + " | "
            f"{fmt(ratio(tx.get('qemu72-virtio'), tx.get('qemu72-pcnet')), 0)}x / "
            f"{fmt(ratio(tx.get('qemu10-virtio'), tx.get('qemu10-pcnet')), 0)}x | "
            f"{fmt(ratio(tx.get('hvmm-paper'), tx.get('qemu72-pcnet')), 2)}, "
            f"{fmt(ratio(tx.get('hvmm-paper'), tx.get('qemu10-pcnet')), 2)} | "
            f"{fmt(f['iotime_out_ns'] / 1000 if f['iotime_out_ns'] else None, 0)} | "
            f"{split('hvmm-paper')} | {split('qemu72-pcnet')} |")
    if notes:
        out.append("\nHow each lever's boot was run, where not by this command:\n")
        out.extend(notes)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
