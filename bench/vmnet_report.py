#!/usr/bin/env python3
"""bench/vmnet.sh's host half: turns what bench/vmnet-lab.sh returned from the lab into
bench/results/vmnet.json and vmnet.md: per row the medians of N runs for hvmm, QEMU 7.2 and
QEMU 10 and the ratios hvmm / QEMU 7.2 and hvmm / QEMU 10. Figures the runs did not produce stay
null; a unit without them is a failed row with the reason the lab recorded. Exit status: 0 every
unit asked for measured, 1 one failed."""

import argparse
import datetime
import json
import os
import statistics

# Throughput rows: (key, label, direction, hvmm unit, QEMU 7.2 unit, QEMU 10 unit).
THROUGHPUT_ROWS = [
    ("nat-tx", "NAT, guest TX (guest -> lab's iperf3 server via 10.0.2.2)", "TX",
     "nat-hvmm", "nat-qemu72", "nat-qemu10"),
    ("nat-rx", "NAT, guest RX (iperf3 -R)", "RX", "nat-hvmm", "nat-qemu72", "nat-qemu10"),
    ("nat-tx-nosigpipe", "NAT, guest TX, hvmm started with SIGPIPE already ignored (cross-check: "
     "hvmm's net=user ignores it itself since it died of it)", "TX", "nat-hvmm-nosigpipe", "nat-qemu72",
     "nat-qemu10"),
    ("nat-rx-nosigpipe", "NAT, guest RX, hvmm started with SIGPIPE already ignored (cross-check)", "RX",
     "nat-hvmm-nosigpipe", "nat-qemu72", "nat-qemu10"),
    ("switch-vs-stream-fwd", "VM to VM: hvmm switch vs QEMU -netdev stream, client -> server", "TX",
     "v2v-hvmm-switch", "v2v-qemu72-stream", "v2v-qemu10-stream"),
    ("switch-vs-stream-rev", "VM to VM: hvmm switch vs QEMU -netdev stream, server -> client (-R)", "RX",
     "v2v-hvmm-switch", "v2v-qemu72-stream", "v2v-qemu10-stream"),
    ("switch-vs-dgram-fwd", "VM to VM: hvmm switch vs QEMU -netdev dgram, client -> server", "TX",
     "v2v-hvmm-switch", "v2v-qemu72-dgram", "v2v-qemu10-dgram"),
    ("switch-vs-dgram-rev", "VM to VM: hvmm switch vs QEMU -netdev dgram, server -> client (-R)", "RX",
     "v2v-hvmm-switch", "v2v-qemu72-dgram", "v2v-qemu10-dgram"),
    ("stream-fwd", "VM to VM, stream socket on both (hvmm net=stream-listen/stream), client -> server", "TX",
     "v2v-hvmm-stream", "v2v-qemu72-stream", "v2v-qemu10-stream"),
    ("stream-rev", "VM to VM, stream socket on both, server -> client (-R)", "RX",
     "v2v-hvmm-stream", "v2v-qemu72-stream", "v2v-qemu10-stream"),
    ("dgram-fwd", "VM to VM, dgram sockets on both (hvmm net=dgram), client -> server", "TX",
     "v2v-hvmm-dgram", "v2v-qemu72-dgram", "v2v-qemu10-dgram"),
    ("dgram-rev", "VM to VM, dgram sockets on both, server -> client (-R)", "RX",
     "v2v-hvmm-dgram", "v2v-qemu72-dgram", "v2v-qemu10-dgram"),
]
# Idle rows: (key, label, (unit, process) for hvmm, QEMU 7.2, QEMU 10; None where there is none).
IDLE_ROWS = [
    ("idle-user", "idle VM on user-mode NAT (guest asleep), the whole VMM process",
     ("idle-hvmm-user", "vmm"), ("idle-qemu72-user", "vmm"), ("idle-qemu10-user", "vmm")),
    ("idle-switch", "idle `hvmm switch` daemon, two idle hvmm VMs attached (QEMU's stream and dgram "
     "VMs have no switch process)", ("idle-hvmm-switch", "switch"), None, None),
    ("idle-switch-vm-a", "idle hvmm VM on the switch (A)", ("idle-hvmm-switch", "vm-a"), None, None),
    ("idle-switch-vm-b", "idle hvmm VM on the switch (B)", ("idle-hvmm-switch", "vm-b"), None, None),
]
# The same rows with virtio-net on every VM (units named UNIT-virtio), after the PCnet's; the
# SIGPIPE cross-check has no twin.
THROUGHPUT_ROWS += [
    ("virtio-" + key, "virtio-net: " + label, direction, *(n + "-virtio" for n in names))
    for key, label, direction, *names in THROUGHPUT_ROWS if "nosigpipe" not in key]
IDLE_ROWS += [
    ("virtio-" + key, "virtio-net: " + label,
     *((c[0] + "-virtio", c[1]) if c else None for c in cells))
    for key, label, *cells in IDLE_ROWS]
VMMS = ("hvmm", "qemu72", "qemu10")
VMM_NAMES = {"hvmm": "hvmm", "qemu72": "QEMU 7.2", "qemu10": "QEMU 10"}


def read_env(raw):
    env = {}
    path = os.path.join(raw, "vmnet-env.txt")
    if os.path.exists(path):
        for line in open(path):
            key, _, value = line.rstrip("\n").partition(" ")
            env[key] = value
    return env


def parse(raw):
    """{unit: {"TX": [..], "RX": [..], "idle": {proc: [per-second..]}, "threads": {proc: n},
    "status": {vm: s}, "errors": [..]}} in the order the units ran, and the raw lines."""
    units = {}
    lines = open(os.path.join(raw, "vmnet-runs.txt")).read().splitlines()
    for line in lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        u = units.setdefault(parts[0], {"TX": [], "RX": [], "idle": {}, "threads": {}, "status": {},
                                        "errors": []})
        kind = parts[1]
        if kind in ("TX", "RX") and len(parts) >= 4:
            u[kind].append(None if parts[3] == "-" else float(parts[3]))
        elif kind == "idle" and len(parts) >= 4:
            proc = parts[3]
            values = dict(p.split("=", 1) for p in parts[4:] if "=" in p)
            if "secs" in values:
                secs = int(values["secs"])
                u["idle"].setdefault(proc, []).append(
                    (int(values["voluntary"]) + int(values["involuntary"])) / secs)
                u["threads"][proc] = int(values["threads"])
            else:
                u["idle"].setdefault(proc, []).append(None)
        elif kind == "status" and len(parts) >= 4:
            u["status"][parts[2]] = " ".join(parts[3:])
        elif kind == "error":
            u["errors"].append(line.split(" ", 2)[2] if len(parts) > 2 else "")
    return units, lines


def median(values):
    good = [v for v in values if v is not None]
    return statistics.median(good) if good else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=None):
    if x is None:
        return "—"
    if digits is not None:
        return f"{x:.{digits}f}"
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def unit_state(units, name):
    """'ok', 'not run' or 'failed: <reason>' for one unit."""
    u = units.get(name)
    if u is None:
        return "not run"
    has = any(v is not None for v in u["TX"] + u["RX"]) or any(
        v is not None for vals in u["idle"].values() for v in vals)
    if u["errors"] or not has:
        return "failed: " + ("; ".join(u["errors"]) or "no figures (statuses " +
                             ", ".join(f"{k} {v}" for k, v in u["status"].items()) + ")")
    return "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--hvmm", default="")
    ap.add_argument("--repo-head", default="")
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--wall-seconds", type=int, default=None)
    ap.add_argument("--lab-status", type=int, default=None)
    ap.add_argument("--lab-retry", default="")
    args = ap.parse_args()

    env = read_env(args.raw)
    units, raw_lines = parse(args.raw)
    asked = env.get("units", "").split() or list(units)
    states = {name: unit_state(units, name) for name in asked}
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    throughput = []
    for key, label, direction, *names in THROUGHPUT_ROWS:
        if not any(n in asked for n in names):
            continue
        row = {"row": key, "label": label, "direction": direction}
        for vmm, name in zip(VMMS, names):
            runs = units.get(name, {}).get(direction, [])
            row[vmm] = {"unit": name, "state": states.get(name, "not run"), "runs_mbit_s": runs,
                        "median_mbit_s": median(runs)}
        row["hvmm_over_qemu72"] = ratio(row["hvmm"]["median_mbit_s"], row["qemu72"]["median_mbit_s"])
        row["hvmm_over_qemu10"] = ratio(row["hvmm"]["median_mbit_s"], row["qemu10"]["median_mbit_s"])
        throughput.append(row)

    idle = []
    for key, label, *cells in IDLE_ROWS:
        if not any(c and c[0] in asked for c in cells):
            continue
        row = {"row": key, "label": label}
        for vmm, cell in zip(VMMS, cells):
            if cell is None:
                row[vmm] = None
                continue
            name, proc = cell
            u = units.get(name, {})
            runs = u.get("idle", {}).get(proc, [])
            row[vmm] = {"unit": name, "process": proc, "state": states.get(name, "not run"),
                        "runs_wakeups_per_s": runs, "median_wakeups_per_s": median(runs),
                        "threads": u.get("threads", {}).get(proc)}
        med = {v: (row[v] or {}).get("median_wakeups_per_s") for v in VMMS}
        row["hvmm_over_qemu72"] = ratio(med["hvmm"], med["qemu72"])
        row["hvmm_over_qemu10"] = ratio(med["hvmm"], med["qemu10"])
        idle.append(row)

    failed = {n: s for n, s in states.items() if s != "ok"}
    lab = (f"{env.get('lab_cpus', '?')} lab CPU(s), emulator {env.get('lab_emulator') or 'not recorded'}, "
           f"lab KVM halt_poll_ns {env.get('lab_halt_poll_ns', '?')}")
    doc = {
        "benchmark": "vmnet",
        "date": date,
        "command": args.command,
        "repo_head": args.repo_head or None,
        "hvmm_binary": args.hvmm or None,
        "hvmm_version": env.get("hvmm"),
        "where": "inside one lab boot (QEMU TCG, EPYC with SVM), nested KVM; every VM: the default "
                 "image, 256 MiB, 1 vCPU; the NIC PCnet (QEMU: -device pcnet,romfile=), or in the "
                 "virtio-net rows virtio-net in userspace (hvmm --nic virtio; QEMU -device "
                 "virtio-net-pci,romfile=)",
        "lab_cpus": env.get("lab_cpus"), "lab_emulator": env.get("lab_emulator"),
        "lab_halt_poll_ns": env.get("lab_halt_poll_ns"), "lab_kernel": env.get("lab_kernel"),
        "guest_kernel": env.get("guest_kernel"), "qemu72": env.get("qemu72"), "qemu10": env.get("qemu10"),
        "iperf3": env.get("iperf3"),
        "runs": int(env["runs"]) if env.get("runs", "").isdigit() else None,
        "iperf3_seconds": int(env["secs"]) if env.get("secs", "").isdigit() else None,
        "idle_window_seconds": int(env["idle_secs"]) if env.get("idle_secs", "").isdigit() else None,
        "units_requested": asked,
        "unit_states": states,
        "host_load_before": args.load_before, "host_load_after": args.load_after,
        "wall_seconds": args.wall_seconds, "lab_status": args.lab_status,
        "lab_retry": args.lab_retry or None,
        "definitions": {
            "mbit_s": "iperf3's receiver figure of one run; TX = the iperf3 client sends (the guest on "
                      "NAT, the client VM VM to VM), RX = iperf3 -R",
            "wakeups_per_s": "(voluntary + involuntary context switches summed over every thread of "
                             "the process, /proc/PID/task/*/status) over one idle window / its seconds",
            "median": "over the N runs of the unit (rounds in one VM boot); failed runs left out",
        },
        "guest_commands": {k: env.get(k) for k in ("nat_cmd", "server_cmd", "client_cmd")},
        "throughput": throughput,
        "idle": idle,
        "raw": raw_lines,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "vmnet.json"), "w") as out:
        json.dump(doc, out, indent=1)
        out.write("\n")

    md = ["# hvmm's networks without root (VMnet) against QEMU 7.2 and QEMU 10\n"]
    md.append(f"One lab boot (QEMU TCG with SVM, nested KVM), {date[:10]}: {lab}; lab kernel "
              f"{env.get('lab_kernel')}. Every VM: the default image (kernel {env.get('guest_kernel')}), "
              "256 MiB, 1 vCPU, `console=ttyS0 reboot=k panic=-1 quiet`; the NIC PCnet (QEMU's "
              "`-device pcnet,romfile=`), and in the rows marked virtio-net virtio-net in userspace "
              "on both sides (hvmm `--nic virtio`, QEMU `-device virtio-net-pci,romfile=`). hvmm and its switch ran as an unprivileged user (uid 65534, no "
              f"capabilities), QEMU as root. hvmm: {env.get('hvmm')}; anchors {env.get('qemu72')} and "
              f"{env.get('qemu10')}; {env.get('iperf3')}.\n")
    md.append(f"Command: `{args.command}` (repo at {args.repo_head or '?'}; hvmm binary {args.hvmm or '?'})\n")
    md.append(f"Medians of {env.get('runs')} runs: throughput rounds of iperf3 {env.get('secs')} s each "
              "way in one VM boot (Mbit/s, iperf3's receiver figure); idle windows of "
              f"{env.get('idle_secs')} s (wakeups/s = voluntary + involuntary context switches of "
              "every thread of the process, per second), after 5 s to settle.\n")
    md.append(f"Host load average (1/5/15 min) before and after: {args.load_before} / {args.load_after} "
              f"(2 cores); wall time {args.wall_seconds} s; lab status {args.lab_status}.\n")
    if args.lab_retry:
        md.append(f"The lab lost the first run ({args.lab_retry}); these figures are from the one retry.\n")
    if env.get("lab_cpus") == "1":
        md.append("These figures come from a one-CPU lab, whose dynamic range is limited: the nested "
                  "guests, the VMMs, the switch and iperf3 take turns on one emulated CPU, so a ratio "
                  "here measures the lab's scheduler as much as the VMMs (lab/README.md, \"What the "
                  "lab's figures measure\"; README.md, \"Benchmarks\").\n")
    if failed:
        md.append("**Failed or not run:** " + "; ".join(f"`{n}` {s}" for n, s in failed.items()) + "\n")

    if throughput:
        md.append("## Throughput (Mbit/s)\n")
        md.append("| row | hvmm | QEMU 7.2 | QEMU 10 | hvmm / QEMU 7.2 | hvmm / QEMU 10 | runs hvmm; 7.2; 10 |")
        md.append("|---|---|---|---|---|---|---|")
        for r in throughput:
            cells = []
            for vmm in VMMS:
                c = r[vmm]
                cells.append(fmt(c["median_mbit_s"]) if c["state"] == "ok" or c["median_mbit_s"] is not None
                             else ("not run" if c["state"] == "not run" else "failed"))
            runs = "; ".join(" ".join(fmt(v) for v in r[vmm]["runs_mbit_s"]) or "—" for vmm in VMMS)
            md.append(f"| {r['label']} | " + " | ".join(cells) +
                      f" | {fmt(r['hvmm_over_qemu72'], 2)} | {fmt(r['hvmm_over_qemu10'], 2)} | {runs} |")
        md.append("")
    if idle:
        md.append(f"## Idle cost (wakeups per second, {env.get('idle_secs')} s windows)\n")
        md.append("| process | hvmm | QEMU 7.2 | QEMU 10 | hvmm / QEMU 7.2 | hvmm / QEMU 10 | threads hvmm; 7.2; 10 | runs hvmm; 7.2; 10 |")
        md.append("|---|---|---|---|---|---|---|---|")
        for r in idle:
            cells, threads, runs = [], [], []
            for vmm in VMMS:
                c = r[vmm]
                if c is None:
                    cells.append("n/a"); threads.append("—"); runs.append("—")
                    continue
                m = c["median_wakeups_per_s"]
                cells.append(fmt(m, 1) if m is not None else
                             ("not run" if c["state"] == "not run" else "failed"))
                threads.append(str(c["threads"]) if c["threads"] is not None else "—")
                runs.append(" ".join(fmt(v, 1) for v in c["runs_wakeups_per_s"]) or "—")
            md.append(f"| {r['label']} | " + " | ".join(cells) +
                      f" | {fmt(r['hvmm_over_qemu72'], 2)} | {fmt(r['hvmm_over_qemu10'], 2)} | "
                      + "; ".join(threads) + " | " + "; ".join(runs) + " |")
        md.append("")
    md.append("Units: `nat-*` one VM on user-mode NAT (hvmm `--nic pcnet`, its address by DHCP from "
              "hvmm's image; QEMU `-netdev user,id=n0`, the guest runs `udhcpc` first), iperf3 to the "
              "lab's server at 10.0.2.2 (the lab's 127.0.0.1); `v2v-*` an iperf3 server VM "
              "(192.168.77.10) and a client VM (.11): hvmm on `hvmm switch start bench0 --dhcp "
              "--reserve ...`, on `net=stream-listen:`/`net=stream:` and on `net=dgram:`; QEMU on "
              "`-netdev stream` (server=on / server=off, Unix socket) and `-netdev dgram` (Unix "
              "paths); `idle-*` the guest asleep after configuring eth0; `*-virtio` the same with "
              "virtio-net on every VM. Guest commands are in vmnet.json.\n")
    md.append("## Raw\n")
    md.append("```")
    md.extend(raw_lines)
    md.append("```")
    with open(os.path.join(args.out, "vmnet.md"), "w") as out:
        out.write("\n".join(md) + "\n")
    for name, state in states.items():
        print(f"bench/vmnet.sh: {name}: {state}", file=os.sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
