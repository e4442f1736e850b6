#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tables, JSON and charts of `make bench` (scripts/bench.sh).

  scripts/bench-report.py RAW.log OUTDIR
      parse the raw log; write OUTDIR/results.md (also printed),
      OUTDIR/results.json and, with gnuplot, OUTDIR/results-REGIME.png
      (one chart per IOMMU regime) and OUTDIR/results-ring.png.

  scripts/bench-report.py --check RESULTS.json
      the smoke test of `make check` (stage bench): every row of every
      regime that ran is there with a non-zero figure (the uvirtio.ko vs
      VFIO rows and the keep-alive handover too), and polling made no
      syscall; ends with "bench-smoke: N passed, M failed".

  scripts/bench-report.py --doc RESULTS.json [RST]
      regenerate Documentation/performance.rst (or RST) from a
      results.json, with an SVG chart per regime in
      Documentation/images/ (gnuplot).

Every blk figure is the median of its repeats, with min and max.  A ratio
is the ratio of the medians; the worst-repeat ratio pairs the runs of one
repeat (they ran next to each other, interleaved) and takes the worst of
those per-repeat ratios.
"""
import json
import os
import shutil
import subprocess
import sys

REGIMES = ("off", "lazy", "strict")
OPS = ("randread", "randwrite")
QDS = (1, 32)
DRIVERS = ("kernel-io_uring", "kernel-libaio", "fio-uvirtio-irq",
           "fio-uvirtio-poll")
SECOND = ("blkbench-irq", "blkbench-poll")
REF = "kernel-io_uring"
RINGS = ("libuvirtio-split", "libuvirtio-packed", "libuvirtio-split-publish",
         "libuvirtio-packed-publish", "ringtest-virtio_ring_0_9", "ringtest-ring")
RING_REF = "ringtest-virtio_ring_0_9"
# uvirtio.ko against VFIO (one boot, one function rebound between them)
KVB_BACKENDS = ("kmod", "vfio")
KVB_MODES = ("irq", "poll")
KVB_WAKE = ("kvb-kmod-irq", "kvb-kmod-follow", "kvb-kmod-poll", "kvb-vfio-irq",
            "kvb-vfio-poll")
KVB_PAGES = ("4k", "2m")
# OpenVMM's published save time of one NVMe controller with 4 queue pairs
OPENVMM_SAVE_US = 480


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def kv_of(fields):
    return dict(x.split("=", 1) for x in fields if "=" in x)


def add_fio(d, regime, drv, rw, qd, rep, j):
    io = j["read" if rw.endswith("read") else "write"]
    if j.get("error"):
        d["failures"].append(f"{regime} {drv} {rw} QD{qd}: fio error {j['error']}")
        return
    pct = io.get("lat_ns", {}).get("percentile", {})
    d["fio"].setdefault((regime, drv, rw, int(qd)), {})[int(rep)] = {
        "iops": io["iops"],
        "p50_us": pct.get("50.000000", 0) / 1000.0,
        "p99_us": pct.get("99.000000", 0) / 1000.0,
        "cpu_sys": j.get("sys_cpu"), "cpu_usr": j.get("usr_cpu"),
        "ctx": j.get("ctx")}


def parse(raw):
    d = {"info": {}, "regime_info": {}, "fio": {}, "blkbench": {},
         "notif": {}, "sysc": {}, "ring": {}, "vhost": {}, "net": {},
         "kvbwake": {}, "kvbdma": {}, "kvbka": {}, "failures": []}
    regime = None
    for line in open(raw, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("netres "):
            # the net VM (scripts/guest/bench-net): PATH size=... tx_fps=...
            f = line.split()
            if len(f) >= 2:
                kv = kv_of(f[2:])
                d["net"][(f[1], int(kv.get("size", 0)))] = kv
            continue
        if line.startswith("regime "):
            regime = line.split()[1]
            d["regime_info"].setdefault(regime, {})
        elif line.startswith("regime-end "):
            f = line.split()
            d["regime_info"].setdefault(f[1], {})["vm_rc"] = f[2].split("=")[1]
            regime = None
        elif line.startswith("fio-jobs "):
            # one fio process per repeat: jobs named DRIVER:OP:QD
            f = line.split(" ", 2)
            if len(f) < 3:
                continue
            try:
                jobs = json.loads(f[2])["jobs"]
            except (ValueError, KeyError):
                d["failures"].append(f"{regime} repeat {f[1]}: bad fio JSON")
                continue
            for j in jobs:
                name = j.get("jobname", "").split(":")
                if len(name) != 3:
                    continue
                add_fio(d, regime, name[0], name[1], name[2], f[1], j)
        elif line.startswith("fio-json "):
            f = line.split(" ", 5)
            if len(f) < 6:
                continue
            _, drv, rw, qd, rep, js = f
            try:
                j = json.loads(js)["jobs"][0]
            except (ValueError, KeyError, IndexError):
                d["failures"].append(f"{regime} {drv} {rw} QD{qd}: bad fio JSON")
                continue
            add_fio(d, regime, drv, rw, qd, rep, j)
        elif line.startswith("kvbwake "):
            # kvbwake REPEAT LABEL OP qd=1 ... (blkbench's result line)
            f = line.split()
            kv = kv_of(f[4:])
            try:
                d["kvbwake"].setdefault((regime, f[2]), {})[int(f[1])] = {
                    "iops": float(kv["iops"]), "p50_us": float(kv["p50_us"]),
                    "p99_us": float(kv["p99_us"]),
                    "irqs_per_io": float(kv["irq_per_io"])}
            except (KeyError, ValueError, IndexError):
                continue
        elif line.startswith("kvbdma "):
            # kvbdma REPEAT LABEL map_ms=.. unmap_ms=.. mib=.. pages=..
            f = line.split()
            kv = kv_of(f[3:])
            try:
                d["kvbdma"].setdefault((regime, f[2], kv["pages"]), {})[int(f[1])] = {
                    "map_ms": float(kv["map_ms"]), "unmap_ms": float(kv["unmap_ms"]),
                    "mib": int(kv["mib"]), "iommu": kv.get("iommu")}
            except (KeyError, ValueError, IndexError):
                continue
        elif line.startswith("kvbka "):
            d["kvbka"][regime] = kv_of(line.split()[1:])
        elif line.startswith("result ") and not line.endswith(" syscount"):
            f = line.split()
            kv = kv_of(f[3:])
            try:
                key = (regime, f[1], f[2], int(kv["qd"]))
                d["blkbench"][key] = {"iops": float(kv["iops"]),
                                      "p50_us": float(kv["p50_us"]),
                                      "p99_us": float(kv["p99_us"])}
                d["notif"][key] = {"doorbells_per_io": float(kv["db_per_io"]),
                                   "irqs_per_io": float(kv["irq_per_io"]),
                                   "voluntary_ctxsw": int(kv["vcsw"])}
            except (KeyError, ValueError):
                continue
        elif line.startswith("syscalls "):
            f = line.split()
            kv = kv_of(f[3:])
            try:
                d["sysc"][(regime, f[2], int(kv["qd"]))] = {
                    "syscalls_per_io": float(kv["syscalls_per_io"]),
                    "by_nr": {k[2:]: int(v) for k, v in kv.items()
                              if k.startswith("nr")}}
            except (KeyError, ValueError):
                continue
        elif line.startswith("vhostres "):
            f = line.split()
            kv = kv_of(f[3:])
            if "qd" in kv:
                d["vhost"].setdefault((f[1], f[2], int(kv["qd"])), []).append(kv)
        elif line.startswith("ringres "):
            f = line.split()
            if len(f) == 5:
                d["ring"].setdefault((f[1], int(f[2])), {})[int(f[3])] = float(f[4])
        elif line.startswith("info "):
            dst = d["regime_info"][regime] if regime else d["info"]
            for x in line.split()[1:]:
                k, _, v = x.partition("=")
                dst[k] = v
        elif line.startswith("bench: "):
            d["failures"].append(f"{regime}: {line[7:]}")
    return d


def summarise(runs, ref_runs, higher=True):
    """Median/min/max of @runs ({repeat: value}), ratio of medians and
    worst per-repeat ratio against @ref_runs."""
    vals = list(runs.values())
    s = {"median": median(vals), "min": min(vals), "max": max(vals),
         "repeats": len(vals), "ratio": None, "worst_ratio": None}
    if ref_runs:
        rm = median(list(ref_runs.values()))
        if rm:
            s["ratio"] = s["median"] / rm
        per = [runs[r] / ref_runs[r] for r in runs if ref_runs.get(r)]
        if per:
            s["worst_ratio"] = min(per) if higher else max(per)
    return s


def build(d):
    res = {"info": dict(d["info"]), "blk": [], "blk_summary": [],
           "irq_options": [], "notifications": [], "ring": [],
           "vhost_user": [], "net": [], "targets": [],
           "failures": d["failures"]}
    res["info"]["regimes"] = d["regime_info"]
    regimes = [r for r in REGIMES if r in d["regime_info"]]
    regimes += [r for r in d["regime_info"] if r not in regimes]
    res["info"]["regime_order"] = regimes
    fio = d["fio"]
    drivers = list(DRIVERS)
    for k in fio:  # the A/B variants in the order they ran
        if k[1].startswith("ab-") and k[1] not in drivers:
            drivers.append(k[1])
    summ = {}
    for reg in regimes:
        for rw in OPS:
            for qd in QDS:
                ref = {r: v["iops"] for r, v in fio.get((reg, REF, rw, qd), {}).items()}
                for drv in drivers:
                    runs = fio.get((reg, drv, rw, qd))
                    if not runs:
                        continue
                    for rep in sorted(runs):
                        v = runs[rep]
                        res["blk"].append({
                            "iommu": reg, "op": rw, "qd": qd, "driver": drv,
                            "repeat": rep, "iops": v["iops"],
                            "p50_us": v["p50_us"], "p99_us": v["p99_us"],
                            "ratio_vs_kernel_io_uring":
                                v["iops"] / ref[rep] if ref.get(rep) else None})
                    s = summarise({r: v["iops"] for r, v in runs.items()}, ref)
                    row = {"iommu": reg, "op": rw, "qd": qd, "driver": drv,
                           "repeats": s["repeats"], "iops": s["median"],
                           "iops_min": s["min"], "iops_max": s["max"],
                           "p50_us": median([v["p50_us"] for v in runs.values()]),
                           "p99_us": median([v["p99_us"] for v in runs.values()]),
                           "ratio_vs_kernel_io_uring": s["ratio"],
                           "worst_repeat_ratio": s["worst_ratio"]}
                    summ[(reg, drv, rw, qd)] = row
                    if drv.startswith("ab-"):
                        res["irq_options"].append(row)
                    else:
                        res["blk_summary"].append(row)
                for drv in SECOND:
                    v = d["blkbench"].get((reg, drv, rw, qd))
                    if not v:
                        continue
                    rm = median(list(ref.values())) if ref else None
                    res["blk"].append({"iommu": reg, "op": rw, "qd": qd,
                                       "driver": drv, "repeat": 1, **v,
                                       "ratio_vs_kernel_io_uring":
                                           v["iops"] / rm if rm else None})
                    n = d["notif"].get((reg, drv, rw, qd))
                    sc = d["sysc"].get((reg, rw, qd)) if drv.endswith("poll") else None
                    res["notifications"].append({
                        "iommu": reg, "op": rw, "qd": qd, "driver": drv, **(n or {}),
                        "syscalls_per_io": sc["syscalls_per_io"] if sc else None,
                        "syscalls_by_nr": sc["by_nr"] if sc else None})
    ring = d["ring"]
    for b in (1, 32):
        ref = ring.get((RING_REF, b), {})
        for name in RINGS:
            runs = ring.get((name, b))
            if not runs:
                continue
            s = summarise(runs, ref, higher=False)
            res["ring"].append({"batch": b, "ring": name, "ns_per_op": s["median"],
                                "ns_min": s["min"], "ns_max": s["max"],
                                "repeats": s["repeats"],
                                "ratio_vs_virtio_ring_0_9": s["ratio"],
                                "worst_repeat_ratio": s["worst_ratio"]})
    for rw in OPS:
        for qd in QDS:
            for mode in ("uvirtio-irq", "uvirtio-poll"):
                runs = d["vhost"].get((mode, rw, qd))
                if not runs:
                    continue
                iops = [float(r["iops"]) for r in runs]
                irq = median([float(r["irq_per_io"]) for r in runs]) \
                    if all("irq_per_io" in r for r in runs) else None
                res["vhost_user"].append({
                    "op": rw, "qd": qd, "driver": "vhost-user-" + mode,
                    "iops": median(iops), "iops_min": min(iops), "iops_max": max(iops),
                    "repeats": len(runs),
                    "p50_us": median([float(r["p50_us"]) for r in runs]),
                    "doorbells_per_io": median([float(r["db_per_io"]) for r in runs]),
                    "irqs_per_io": irq})

    def target(name, reg, value, worst, goal, le=False):
        ok = None if value is None else (value <= goal if le else value >= goal)
        res["targets"].append({"target": name, "iommu": reg, "value": value,
                               "worst_repeat": worst,
                               "goal": ("<= " if le else ">= ") + str(goal), "met": ok})
    for reg in regimes:
        for mode, qd, goal in (("fio-uvirtio-poll", 1, 2.0), ("fio-uvirtio-irq", 1, 1.2),
                               ("fio-uvirtio-poll", 32, 1.5)):
            for rw in OPS:
                r = summ.get((reg, mode, rw, qd))
                target(f"{mode} {rw} QD{qd} vs kernel io_uring", reg,
                       r and r["ratio_vs_kernel_io_uring"],
                       r and r["worst_repeat_ratio"], goal)
        for qd in QDS:
            vals = [d["sysc"][(reg, rw, qd)]["syscalls_per_io"] for rw in OPS
                    if (reg, rw, qd) in d["sysc"]]
            target(f"syscalls/I/O polling QD{qd}", reg, max(vals) if vals else None,
                   None, 0, le=True)
        for rw in OPS:
            n = d["notif"].get((reg, "blkbench-irq", rw, 32))
            target(f"doorbells/req {rw} QD32 (irq)", reg,
                   n and n["doorbells_per_io"], None, 0.1, le=True)
            target(f"interrupts/req {rw} QD32 (irq)", reg,
                   n and n["irqs_per_io"], None, 0.1, le=True)
    # Batch 1 like for like with ringtest (no notification decision: the
    # -publish rows); batch 32 no worse than the kick rows were.
    for name, b, goal in (("libuvirtio-split-publish", 1, 0.8),
                          ("libuvirtio-packed-publish", 1, 0.5),
                          ("libuvirtio-split", 32, 0.25), ("libuvirtio-packed", 32, 0.43)):
        r = next((x for x in res["ring"] if x["ring"] == name and x["batch"] == b), None)
        target(f"{name[11:]} ring ns/op / virtio_ring_0_9 (batch {b})", "host",
               r and r["ratio_vs_virtio_ring_0_9"], r and r["worst_repeat_ratio"],
               goal, le=True)
    res["net"] = net_rows(d["net"])
    res["kmod_vs_vfio"] = kvb_rows(d, regimes)
    return res


def kvb_rows(d, regimes):
    """The uvirtio.ko-vs-VFIO rows: fio IOPS per (QD, mode, backend) with
    the VFIO/kmod ratio, the QD1 submit-to-wake latencies, the DMA map and
    unmap times, and the keep-alive handover."""
    out = {"fio": [], "wake": [], "dma": [], "keepalive": [],
           "openvmm_save_us": OPENVMM_SAVE_US}
    fio = d["fio"]
    for reg in regimes:
        for qd in QDS:
            for mode in KVB_MODES:
                ref = {r: v["iops"] for r, v in
                       fio.get((reg, f"kvb-kmod-{mode}", "randread", qd), {}).items()}
                for be in KVB_BACKENDS:
                    runs = fio.get((reg, f"kvb-{be}-{mode}", "randread", qd))
                    if not runs:
                        continue
                    sm = summarise({r: v["iops"] for r, v in runs.items()}, ref)
                    out["fio"].append({
                        "iommu": reg, "op": "randread", "qd": qd, "mode": mode,
                        "backend": be, "repeats": sm["repeats"], "iops": sm["median"],
                        "iops_min": sm["min"], "iops_max": sm["max"],
                        "p50_us": median([v["p50_us"] for v in runs.values()]),
                        "p99_us": median([v["p99_us"] for v in runs.values()]),
                        "ratio_vs_kmod": sm["ratio"],
                        "worst_repeat_ratio": sm["worst_ratio"],
                        "per_repeat_iops": {str(r): v["iops"] for r, v in sorted(runs.items())}})
        poll_p50 = {}
        for label in KVB_WAKE:
            runs = d["kvbwake"].get((reg, label))
            if not runs:
                continue
            p50 = [v["p50_us"] for v in runs.values()]
            row = {"iommu": reg, "label": label, "backend": label.split("-")[1],
                   "mode": label.split("-")[2], "op": "randread", "qd": 1,
                   "repeats": len(runs), "p50_us": median(p50), "p50_min_us": min(p50),
                   "p50_max_us": max(p50),
                   "p99_us": median([v["p99_us"] for v in runs.values()]),
                   "iops": median([v["iops"] for v in runs.values()]),
                   "irqs_per_io": median([v["irqs_per_io"] for v in runs.values()])}
            if row["mode"] == "poll":
                poll_p50[row["backend"]] = row["p50_us"]
            out["wake"].append(row)
        for row in out["wake"]:
            # what the interrupt path adds to a polled completion
            base = poll_p50.get(row["backend"]) if row["iommu"] == reg else None
            if row["iommu"] == reg and row["mode"] != "poll":
                row["wake_over_poll_p50_us"] = \
                    row["p50_us"] - base if base is not None else None
        for be in KVB_BACKENDS:
            for pg in KVB_PAGES:
                runs = d["kvbdma"].get((reg, be, pg))
                if not runs:
                    continue
                mp = [v["map_ms"] for v in runs.values()]
                um = [v["unmap_ms"] for v in runs.values()]
                out["dma"].append({
                    "iommu": reg, "backend": be, "pages": pg,
                    "mib": next(iter(runs.values()))["mib"],
                    "iommu_mode": next(iter(runs.values()))["iommu"],
                    "repeats": len(runs), "map_ms": median(mp), "map_min_ms": min(mp),
                    "map_max_ms": max(mp), "unmap_ms": median(um),
                    "unmap_min_ms": min(um), "unmap_max_ms": max(um)})
        ka = d["kvbka"].get(reg)
        if ka:
            def num(k):
                try:
                    return float(ka[k])
                except (KeyError, ValueError):
                    return None
            out["keepalive"].append({
                "iommu": reg, "backend": "kmod", "kills": num("kills"),
                "handovers": num("handovers"), "mean_ms": num("handover_mean_ms"),
                "p50_ms": num("handover_p50_ms"), "min_ms": num("handover_min_ms"),
                "max_ms": num("handover_max_ms"),
                "openvmm_save_us": OPENVMM_SAVE_US})
    return out


def net_rows(net):
    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    rows = []
    for path in ("kernel-kernel", "kernel-uvirtio", "uvirtio-kernel"):
        for size in (64, 1500):
            kv = net.get((path, size))
            if not kv:
                continue
            rows.append({"path": path, "size": size,
                         "tx_fps": num(kv.get("tx_fps")),
                         "rx_fps": num(kv.get("rx_fps")),
                         "delivered": num(kv.get("delivered")),
                         "sent": num(kv.get("sent")),
                         "doorbells_per_frame": num(kv.get("db_per_frame")),
                         "irqs_per_frame": num(kv.get("irq_per_frame"))})
    return rows


def x(v, fmt="%.2fx"):
    return "-" if v is None else fmt % v


def markdown(res):
    md = []
    info = res["info"]
    for reg in info["regime_order"]:
        ri = info["regimes"].get(reg, {})
        md.append(f"## blk, IOMMU {reg}: 4 KiB random I/O, null-co virtio-blk, QEMU TCG "
                  f"({info.get('secs', '?')} s per run, median of {info.get('repeats', '?')})")
        md.append("")
        md.append(f"Guest: {ri.get('kernel', '?')}, clocksource {ri.get('clocksource', '?')}, "
                  f"IOMMU {ri.get('iommu_cmdline', '') or 'none'} "
                  f"(default domain {ri.get('iommu_domain', '?')}).")
        md.append("")
        md.append("| op | QD | driver | IOPS median (min-max) | p50 us | p99 us "
                  "| vs io_uring | worst repeat |")
        md.append("|---|---:|---|---:|---:|---:|---:|---:|")
        for r in res["blk_summary"]:
            if r["iommu"] != reg:
                continue
            md.append(f"| {r['op']} | {r['qd']} | {r['driver']} | {r['iops']:.0f} "
                      f"({r['iops_min']:.0f}-{r['iops_max']:.0f}) | {r['p50_us']:.1f} | "
                      f"{r['p99_us']:.1f} | {x(r['ratio_vs_kernel_io_uring'])} | "
                      f"{x(r['worst_repeat_ratio'])} |")
        for r in res["blk"]:
            if r["iommu"] == reg and r["driver"] in SECOND:
                md.append(f"| {r['op']} | {r['qd']} | {r['driver']} (1 run) | "
                          f"{r['iops']:.0f} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | "
                          f"{x(r['ratio_vs_kernel_io_uring'])} | - |")
        md.append("")
        ab = [r for r in res["irq_options"] if r["iommu"] == reg]
        if ab:
            md.append(f"### Interrupt-path options, IOMMU {reg}, QD1 (fio engine, A/B "
                      "interleaved in one boot)")
            md.append("")
            md.append("| op | option | IOPS median (min-max) | p50 us | p99 us | "
                      "vs io_uring | worst repeat |")
            md.append("|---|---|---:|---:|---:|---:|---:|")
            for r in ab:
                md.append(f"| {r['op']} | {r['driver'][7:]} | {r['iops']:.0f} "
                          f"({r['iops_min']:.0f}-{r['iops_max']:.0f}) | {r['p50_us']:.1f} | "
                          f"{r['p99_us']:.1f} | {x(r['ratio_vs_kernel_io_uring'])} | "
                          f"{x(r['worst_repeat_ratio'])} |")
            md.append("")
        nr = [r for r in res["notifications"] if r["iommu"] == reg]
        if nr:
            md.append(f"### Notifications and syscalls, IOMMU {reg} (blkbench)")
            md.append("")
            md.append("| op | QD | mode | doorbells/req | interrupts/req | syscalls/I/O |")
            md.append("|---|---:|---|---:|---:|---:|")
            for r in nr:
                md.append(f"| {r['op']} | {r['qd']} | {r['driver'][9:]} | "
                          f"{x(r.get('doorbells_per_io'), '%.3f')} | "
                          f"{x(r.get('irqs_per_io'), '%.3f')} | "
                          f"{x(r['syscalls_per_io'], '%.3f') if r['driver'].endswith('poll') else 'not measured'} |")
            md.append("")
    md += kvb_markdown(res)
    if res["vhost_user"]:
        md.append("## vhost-user-blk: libuvirtio against qemu-storage-daemon (host, null-co, 4 KiB)")
        md.append("")
        md.append("| op | QD | mode | IOPS median (min-max) | p50 us | doorbells/req | interrupts/req |")
        md.append("|---|---:|---|---:|---:|---:|---:|")
        for r in res["vhost_user"]:
            md.append(f"| {r['op']} | {r['qd']} | {r['driver'][19:]} | {r['iops']:.0f} "
                      f"({r['iops_min']:.0f}-{r['iops_max']:.0f}) | {r['p50_us']:.1f} | "
                      f"{r['doorbells_per_io']:.3f} | {x(r['irqs_per_io'], '%.3f') if r['irqs_per_io'] is not None else 'polling'} |")
        md.append("")
    if res.get("net"):
        md.append("## net: frames/s on a QEMU hub (stock 6.1, intel-iommu strict, AF_PACKET "
                  "with PACKET_QDISC_BYPASS on the kernel side)")
        md.append("")
        md.append("| path | frame bytes | sender frames/s | delivered frames/s | delivered | "
                  "doorbells/frame | interrupts/frame |")
        md.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in res["net"]:
            md.append(f"| {r['path']} | {r['size']} | {x(r['tx_fps'], '%.0f')} | "
                      f"{x(r['rx_fps'], '%.0f')} | {x(r['delivered'], '%.0f')}/"
                      f"{x(r['sent'], '%.0f')} | {x(r['doorbells_per_frame'], '%.3f')} | "
                      f"{x(r['irqs_per_frame'], '%.3f')} |")
        md.append("")
        md.append("kernel-kernel: both functions on virtio_net, pktio to pktio; kernel-uvirtio: "
                  "pktio sends, `uvirtio net recv` receives (interrupts); uvirtio-kernel: "
                  "`uvirtio net send`, pktio receives. Doorbells and interrupts are the uvirtio "
                  "side's, per frame.")
        md.append("")
    if res["ring"]:
        md.append(f"## Ring micro-benchmark (host, 2 threads pinned to CPUs 0/1, ring 256, "
                  f"{info.get('ring_ops', '?')} ops, median of the interleaved repeats)")
        md.append("")
        md.append("| batch | ring | ns/op median (min-max) | vs virtio_ring_0_9 | worst repeat |")
        md.append("|---:|---|---:|---:|---:|")
        for r in res["ring"]:
            md.append(f"| {r['batch']} | {r['ring']} | {r['ns_per_op']:.1f} "
                      f"({r['ns_min']:.1f}-{r['ns_max']:.1f}) | "
                      f"{x(r['ratio_vs_virtio_ring_0_9'])} | {x(r['worst_repeat_ratio'])} |")
        md.append("")
    md.append("## Targets (ratio of medians; worst repeat beside it)")
    md.append("")
    md.append("| regime | target | measured | worst repeat | goal | met |")
    md.append("|---|---|---:|---:|---|---|")
    for t in res["targets"]:
        m = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        md.append(f"| {t['iommu']} | {t['target']} | {x(t['value'], '%.3f')} | "
                  f"{x(t['worst_repeat'], '%.3f')} | {t['goal']} | {m} |")
    md.append("")
    if res["failures"]:
        md.append("Failures: " + "; ".join(res["failures"]))
        md.append("")
    return "\n".join(md) + "\n"


def kvb_markdown(res):
    kv = res.get("kmod_vs_vfio") or {}
    md = []
    regs = []
    for part in ("fio", "wake", "dma", "keepalive"):
        for r in kv.get(part, []):
            if r["iommu"] not in regs:
                regs.append(r["iommu"])
    for reg in regs:
        md.append(f"## uvirtio.ko against VFIO, IOMMU {reg}: one boot, one null-co "
                  "virtio-blk (00:08.0) rebound between them every repeat")
        md.append("")
        rows = [r for r in kv["fio"] if r["iommu"] == reg]
        if rows:
            md.append("fio 4 KiB randread through the uvirtio engine "
                      "(`uvirtio_dev=BDF` / `vfio:BDF`); ratio = VFIO / uvirtio.ko.")
            md.append("")
            md.append("| QD | mode | backend | IOPS median (min-max) | p50 us | p99 us "
                      "| vfio/kmod | worst repeat |")
            md.append("|---:|---|---|---:|---:|---:|---:|---:|")
            for r in rows:
                md.append(f"| {r['qd']} | {r['mode']} | {r['backend']} | {r['iops']:.0f} "
                          f"({r['iops_min']:.0f}-{r['iops_max']:.0f}) | {r['p50_us']:.1f} | "
                          f"{r['p99_us']:.1f} | "
                          f"{x(r['ratio_vs_kmod']) if r['backend'] != 'kmod' else '-'} | "
                          f"{x(r['worst_repeat_ratio']) if r['backend'] != 'kmod' else '-'} |")
            md.append("")
        rows = [r for r in kv["wake"] if r["iommu"] == reg]
        if rows:
            md.append("QD1 submit-to-wake latency (blkbench randread: from just before "
                      "the request is queued to the reap that returns it; irq: asleep "
                      "in poll() on the queue's eventfd, woken by MSI-X -> eventfd; "
                      "follow: the same with the vector steered to the reaping CPU, "
                      "uvirtio.ko only; poll: no interrupt). irq - poll = what the "
                      "interrupt path adds, device time being the same.")
            md.append("")
            md.append("| backend | mode | p50 us median (min-max) | p99 us | irq - poll p50 us "
                      "| interrupts/req | IOPS |")
            md.append("|---|---|---:|---:|---:|---:|---:|")
            for r in rows:
                md.append(f"| {r['backend']} | {r['mode']} | {r['p50_us']:.1f} "
                          f"({r['p50_min_us']:.1f}-{r['p50_max_us']:.1f}) | {r['p99_us']:.1f} | "
                          f"{x(r.get('wake_over_poll_p50_us'), '%.1f')} | "
                          f"{x(r['irqs_per_io'] if r['irqs_per_io'] >= 0 else None, '%.3f')} | "
                          f"{r['iops']:.0f} |")
            md.append("")
        rows = [r for r in kv["dma"] if r["iommu"] == reg]
        if rows:
            md.append("DMA map + unmap of one buffer (dmabench: "
                      "uvirtio_backend_dma_map()/unmap(), touched memory, one map per "
                      "process in a fresh IOMMU domain).")
            md.append("")
            md.append("| backend | pages | MiB | map ms median (min-max) | "
                      "unmap ms median (min-max) |")
            md.append("|---|---|---:|---:|---:|")
            for r in rows:
                md.append(f"| {r['backend']} | {r['pages']} | {r['mib']} | {r['map_ms']:.1f} "
                          f"({r['map_min_ms']:.1f}-{r['map_max_ms']:.1f}) | {r['unmap_ms']:.1f} "
                          f"({r['unmap_min_ms']:.1f}-{r['unmap_max_ms']:.1f}) |")
            md.append("")
        for r in (r for r in kv["keepalive"] if r["iommu"] == reg):
            md.append("Keep-alive handover (uvirtio.ko; uvirtio_keepalive killloop on a "
                      "file-backed disk: SIGKILL of the writer to the first completed "
                      "I/O in the new process, which re-attaches, restores the queue "
                      "and reaps the requests left in flight)")
            md.append("")
            md.append("| kills | handovers | mean ms | p50 ms | min ms | max ms | "
                      "OpenVMM, published |")
            md.append("|---:|---:|---:|---:|---:|---:|---|")
            md.append(f"| {x(r['kills'], '%.0f')} | {x(r['handovers'], '%.0f')} | "
                      f"{x(r['mean_ms'], '%.2f')} | {x(r['p50_ms'], '%.2f')} | "
                      f"{x(r['min_ms'], '%.2f')} | {x(r['max_ms'], '%.2f')} | "
                      f"~{r['openvmm_save_us']} us: save of one NVMe controller, "
                      "4 queue pairs (hardware, save only) |")
            md.append("")
            md.append("Ours is under QEMU TCG and covers more than a save: the kill, "
                      "the kernel's release of the dead owner (the device held, its "
                      "user pages unpinned), a new process, re-attach, restore, and the "
                      "reap of a request the dead process left in flight.")
            md.append("")
    return md


def charts(res, outdir, terminal="pngcairo size 1000,450", ext="png"):
    """One chart per regime (IOPS medians, min-max error bars) and one of
    the ring; returns the files written."""
    if not shutil.which("gnuplot"):
        print("gnuplot not installed; no charts", file=sys.stderr)
        return []
    written = []
    for reg in res["info"]["regime_order"]:
        rows = {(r["driver"], r["op"], r["qd"]): r for r in res["blk_summary"]
                if r["iommu"] == reg}
        if not rows:
            continue
        dat = os.path.join(outdir, f"blk-{reg}.dat")
        with open(dat, "w") as f:
            f.write("# case " + " ".join(f"{d} min max" for d in DRIVERS) + "\n")
            for rw in OPS:
                for qd in QDS:
                    cells = []
                    for d in DRIVERS:
                        r = rows.get((d, rw, qd))
                        cells += (["%.0f" % r["iops"], "%.0f" % r["iops_min"],
                                   "%.0f" % r["iops_max"]] if r else ["0", "0", "0"])
                    f.write(f"{rw[4:]}-QD{qd} " + " ".join(cells) + "\n")
        img = os.path.join(outdir, f"results-{reg}.{ext}")
        plot = ", ".join(f'"{dat}" using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}:xtic(1) '
                         f'title "{d}"' for i, d in enumerate(DRIVERS))
        script = f"""set terminal {terminal} noenhanced
set output "{img}"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set logscale y
set title "4 KiB random I/O, IOMMU {reg} (IOPS, median with min-max; QEMU TCG, null-co)"
set ylabel "IOPS (log)"
plot {plot}
"""
        if subprocess.run(["gnuplot"], input=script, text=True).returncode == 0:
            written.append(img)
    if res["ring"]:
        dat = os.path.join(outdir, "ring.dat")
        rows = {(r["ring"], r["batch"]): r for r in res["ring"]}
        with open(dat, "w") as f:
            f.write("# case " + " ".join(f"{n} min max" for n in RINGS) + "\n")
            for b in (1, 32):
                cells = []
                for n in RINGS:
                    r = rows.get((n, b))
                    cells += (["%.1f" % r["ns_per_op"], "%.1f" % r["ns_min"],
                               "%.1f" % r["ns_max"]] if r else ["0", "0", "0"])
                f.write(f"batch{b} " + " ".join(cells) + "\n")
        img = os.path.join(outdir, f"results-ring.{ext}")
        plot = ", ".join(f'"{dat}" using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}:xtic(1) '
                         f'title "{n}"' for i, n in enumerate(RINGS))
        script = f"""set terminal {terminal} noenhanced
set output "{img}"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set title "ring micro-benchmark (ns/op, lower is better; median with min-max)"
set ylabel "ns/op"
plot {plot}
"""
        if subprocess.run(["gnuplot"], input=script, text=True).returncode == 0:
            written.append(img)
    return written


def check(res):
    """Completeness of a (quick) run; figures are not judged, except that
    polling a PCI function must make no syscall."""
    ok = bad = 0

    def expect(cond, what):
        nonlocal ok, bad
        if cond:
            ok += 1
            print(f"ok   {what}")
        else:
            bad += 1
            print(f"FAIL {what}")
    regimes = res["info"].get("regime_order", [])
    expect(regimes, "at least one IOMMU regime ran")
    for reg in regimes:
        expect(res["info"]["regimes"][reg].get("vm_rc") == "0",
               f"{reg}: the VM run passed its health check")
        for rw in OPS:
            for qd in QDS:
                for drv in DRIVERS:
                    r = pick1(res["blk_summary"], iommu=reg, op=rw, qd=qd, driver=drv)
                    expect(r and r["iops"] > 0 and r["p50_us"] > 0,
                           f"{reg}: {drv} {rw} QD{qd} measured")
                for drv in SECOND:
                    r = pick1(res["blk"], iommu=reg, op=rw, qd=qd, driver=drv)
                    expect(r and r["iops"] > 0, f"{reg}: {drv} {rw} QD{qd} measured")
                n = pick1(res["notifications"], iommu=reg, op=rw, qd=qd,
                          driver="blkbench-poll")
                expect(n and n["syscalls_per_io"] == 0,
                       f"{reg}: polling {rw} QD{qd} made no syscall "
                       f"({n and n['syscalls_by_nr']})")
    kv = res.get("kmod_vs_vfio") or {}
    for reg in [r for r in res["info"].get("kvb_regimes", "").split(",") if r]:
        if reg not in regimes:
            continue
        for qd in QDS:
            for mode in KVB_MODES:
                for be in KVB_BACKENDS:
                    r = pick1(kv.get("fio", []), iommu=reg, qd=qd, mode=mode, backend=be)
                    expect(r and r["iops"] > 0 and r["p50_us"] > 0,
                           f"{reg}: kmod-vs-vfio fio {be} {mode} randread QD{qd} measured")
        for label in KVB_WAKE:
            r = pick1(kv.get("wake", []), iommu=reg, label=label)
            expect(r and r["p50_us"] > 0 and r["p99_us"] > 0,
                   f"{reg}: kmod-vs-vfio wake-up latency {label} measured")
        for be in KVB_BACKENDS:
            for pg in KVB_PAGES:
                r = pick1(kv.get("dma", []), iommu=reg, backend=be, pages=pg)
                expect(r and r["map_ms"] > 0 and r["unmap_ms"] > 0 and
                       r["iommu_mode"] == "translated",
                       f"{reg}: kmod-vs-vfio map+unmap {be} {pg} pages measured "
                       "(translated)")
        r = pick1(kv.get("keepalive", []), iommu=reg)
        expect(r and (r["handovers"] or 0) > 0 and (r["p50_ms"] or 0) > 0,
               f"{reg}: keep-alive handover measured")
    for b in (1, 32):
        for name in RINGS:
            r = pick1(res["ring"], ring=name, batch=b)
            expect(r and r["ns_per_op"] > 0, f"ring {name} batch {b} measured")
    expect(not res.get("failures"), "no run failed: " + "; ".join(res.get("failures", [])))
    print(f"bench-smoke: {ok} passed, {bad} failed")
    return bad == 0


def pick1(rows, **kw):
    for r in rows:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(0 if check(json.load(open(sys.argv[2]))) else 1)
    if len(sys.argv) >= 3 and sys.argv[1] == "--doc":
        import bench_doc  # noqa: E402 (next to this script)
        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        rst = sys.argv[3] if len(sys.argv) > 3 else \
            os.path.join(top, "Documentation", "performance.rst")
        res = json.load(open(sys.argv[2]))
        imgdir = os.path.join(os.path.dirname(rst), "images")
        os.makedirs(imgdir, exist_ok=True)
        imgs = charts(res, imgdir, terminal="svg size 900,420 dynamic", ext="svg")
        for f in os.listdir(imgdir):
            if f.endswith(".dat"):
                os.unlink(os.path.join(imgdir, f))
        open(rst, "w").write(bench_doc.render(res, [os.path.basename(i) for i in imgs]))
        print(f"wrote {rst} and {len(imgs)} charts in {imgdir}")
        return
    if len(sys.argv) != 3:
        sys.exit("usage: bench-report.py RAW.log OUTDIR")
    raw, out = sys.argv[1], sys.argv[2]
    res = build(parse(raw))
    text = markdown(res)
    open(os.path.join(out, "results.md"), "w").write(text)
    print(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    charts(res, out)


if __name__ == "__main__":
    main()
