#!/usr/bin/env python3
"""bench/tx-pairs.sh's summary: one line per run from the lab's tx-pairs.txt, then the median TX
per label and the ratio of hvmm's median to QEMU's. Figures a run did not produce print as '-'."""

import statistics
import sys

CPU_FIELDS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest"]


def parse(path):
    runs = {}
    for line in open(path):
        parts = line.split()
        if len(parts) < 2:
            continue
        run = runs.setdefault(parts[0], {})
        kind = parts[1]
        if kind in ("tx0", "tx1"):
            values = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
            run[kind] = {"cpu": [int(x) for x in values["cpu"].split(",")],
                         "exits": int(values["exits"]), "tap_rx": int(values["tap_rx"])}
        elif kind in ("IRQ0", "IRQ1") and len(parts) > 2 and parts[2].isdigit():
            run[kind] = int(parts[2])
        elif kind in ("TX", "RX") and "Mbits/sec" in parts:
            run[kind] = float(parts[parts.index("Mbits/sec") - 1])
        elif kind == "status":
            run["status"] = parts[2] if len(parts) > 2 else "?"
    return runs


def figures(run):
    out = {"tx": run.get("TX"), "rx": run.get("RX"), "exits": None, "irqs": None, "cpu": None}
    a, b = run.get("tx0"), run.get("tx1")
    if a and b and b["tap_rx"] > a["tap_rx"]:
        packets = b["tap_rx"] - a["tap_rx"]
        out["exits"] = (b["exits"] - a["exits"]) / packets
        if "IRQ0" in run and "IRQ1" in run:
            out["irqs"] = (run["IRQ1"] - run["IRQ0"]) / packets
        d = dict(zip(CPU_FIELDS, (y - x for x, y in zip(a["cpu"], b["cpu"]))))
        total = sum(v for k, v in d.items() if k != "guest")
        if total > 0:
            out["cpu"] = (d["guest"] / total, (d["system"] + d["irq"] + d["softirq"]) / total,
                          (d["user"] + d["nice"] - d["guest"]) / total)
    return out


def show(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def main():
    runs = parse(sys.argv[1])
    print(f"{'run':<22} {'status':>6} {'TX':>7} {'RX':>7} {'exits/pkt':>9} {'irqs/pkt':>8}  lab CPU over TX (guest/kernel/user)")
    by_label = {}
    for name, run in runs.items():
        f = figures(run)
        label = name.rsplit("-", 1)[0]
        if run.get("status") == "0" and f["tx"] is not None:
            by_label.setdefault(label, []).append(f["tx"])
        cpu = "-" if f["cpu"] is None else "/".join(f"{100 * x:.0f}%" for x in f["cpu"])
        print(f"{name:<22} {run.get('status', '?'):>6} {show(f['tx'], 2):>7} {show(f['rx'], 1):>7} "
              f"{show(f['exits'], 2):>9} {show(f['irqs'], 3):>8}  {cpu}")
    medians = {label: statistics.median(tx) for label, tx in by_label.items()}
    for label, median in medians.items():
        print(f"median TX {label}: {median:.2f} Mbit/s over {len(by_label[label])} runs")
    labels = list(medians)
    # The first label (hvmm) against each other one (QEMU 7.2, QEMU 10, or an A/B build).
    for other in labels[1:]:
        if medians[other] > 0:
            print(f"{labels[0]} / {other}, medians: {medians[labels[0]] / medians[other]:.2f}")
    failed = [name for name, run in runs.items() if run.get("status") != "0"]
    if failed:
        print("failed runs: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
