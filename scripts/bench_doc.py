# SPDX-License-Identifier: GPL-2.0
"""Documentation/performance.rst from a results.json of `make bench`.

Used by `scripts/bench-report.py --doc RESULTS.json`.  The prose is kept
here, next to the tables it explains; every figure comes from the JSON.
"""

import textwrap

REGIME_TEXT = {
    "off": "no IOMMU (``intel_iommu=off``; uvirtio with "
           "``allow_unsafe_noiommu=1``)",
    "lazy": "intel-iommu with Debian's default DMA mode, lazy IOTLB "
            "flushing (``-i on``: default domain DMA-FQ)",
    "strict": "intel-iommu with ``iommu.strict=1``: the kernel path "
              "unmaps and flushes the IOTLB for every request",
}


def f(v, fmt="%.2f"):
    return "-" if v is None else fmt % v


def table(header, rows):
    """A reST simple table, columns as wide as their widest cell."""
    cells = [[str(c) if str(c) != "" else "-" for c in r] for r in [header] + rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(header))]
    rule = " ".join("=" * x for x in w)
    line = lambda r: " ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
    return [rule, line(cells[0]), rule] + [line(r) for r in cells[1:]] + [rule, ""]


def pick(res, **kw):
    return [r for r in res if all(r.get(k) == v for k, v in kw.items())]


def target(res, reg, name):
    for t in res["targets"]:
        if t["iommu"] == reg and t["target"] == name:
            return t
    return None


def ringval(res, name, batch):
    """A ring row's ratio to virtio_ring_0_9, with its worst repeat."""
    for r in res.get("ring", []):
        if r["ring"] == name and r["batch"] == batch and \
                r["ratio_vs_virtio_ring_0_9"] is not None:
            v = "%.2fx" % r["ratio_vs_virtio_ring_0_9"]
            if r.get("worst_repeat_ratio") is not None:
                v += " (worst repeat %.2fx)" % r["worst_repeat_ratio"]
            return v
    return "not measured"


def tval(t, fmt="%.2fx"):
    if not t or t["value"] is None:
        return "not measured"
    s = fmt % t["value"]
    if t.get("worst_repeat") is not None:
        s += " (worst repeat " + fmt % t["worst_repeat"] + ")"
    return s


def rewrap(lines):
    """Re-fill the indented bodies of a definition list."""
    out, body = [], []

    def flush():
        if body:
            out.extend(textwrap.wrap(" ".join(x.strip() for x in body), 74,
                                     initial_indent="  ", subsequent_indent="  ",
                                     break_on_hyphens=False))
            body.clear()
    for x in lines:
        if x.startswith("  "):
            body.append(x)
            continue
        flush()
        out.append(x)
    flush()
    return out


def kvb_section(res):
    """The uvirtio.ko-against-VFIO tables and the keep-alive handover."""
    kv = res.get("kmod_vs_vfio") or {}
    L = []
    regs = []
    for part in ("fio", "wake", "dma", "keepalive"):
        for r in kv.get(part, []):
            if r["iommu"] not in regs:
                regs.append(r["iommu"])
    for reg in regs:
        title = f"uvirtio.ko against VFIO (IOMMU {reg})"
        L += [title, "-" * len(title), ""]
        rows = pick(kv.get("fio", []), iommu=reg)
        if rows:
            L += ["fio 4 KiB randread on 00:08.0 through the uvirtio engine; ratio =",
                  "VFIO IOPS / uvirtio.ko IOPS in the same mode and QD.", ""]
            L += table(["QD", "mode", "backend", "IOPS median (min-max)", "p50 us",
                        "p99 us", "vfio/kmod", "worst repeat"],
                       [[r["qd"], r["mode"], r["backend"],
                         f"{r['iops']:.0f} ({r['iops_min']:.0f}-{r['iops_max']:.0f})",
                         f"{r['p50_us']:.1f}", f"{r['p99_us']:.1f}",
                         f(r["ratio_vs_kmod"], "%.2fx") if r["backend"] != "kmod" else "-",
                         f(r["worst_repeat_ratio"], "%.2fx") if r["backend"] != "kmod"
                         else "-"] for r in rows])
        rows = pick(kv.get("wake", []), iommu=reg)
        if rows:
            L += ["QD1 submit-to-wake latency (blkbench randread; *irq - poll* is the",
                  "interrupt path's share, see above):", ""]
            L += table(["backend", "mode", "p50 us median (min-max)", "p99 us",
                        "irq - poll p50 us", "interrupts/req", "IOPS"],
                       [[r["backend"], r["mode"],
                         f"{r['p50_us']:.1f} ({r['p50_min_us']:.1f}-{r['p50_max_us']:.1f})",
                         f"{r['p99_us']:.1f}", f(r.get("wake_over_poll_p50_us"), "%.1f"),
                         f(r["irqs_per_io"] if r["irqs_per_io"] >= 0 else None, "%.3f"),
                         f"{r['iops']:.0f}"] for r in rows])
        rows = pick(kv.get("dma", []), iommu=reg)
        if rows:
            L += ["Map and unmap of one buffer (dmabench, one map per process).  On",
                  "unmap VFIO's type1 driver gives the pages back one 4 KiB frame at a",
                  "time (``put_pfn()`` in ``vfio_unpin_pages_remote()``), inside a 2 MiB",
                  "page too; the module unpins its page array with one",
                  "``unpin_user_pages_dirty_lock()``, which works per folio:", ""]
            L += table(["backend", "pages", "MiB", "map ms median (min-max)",
                        "unmap ms median (min-max)"],
                       [[r["backend"], r["pages"], r["mib"],
                         f"{r['map_ms']:.1f} ({r['map_min_ms']:.1f}-{r['map_max_ms']:.1f})",
                         f"{r['unmap_ms']:.1f} ({r['unmap_min_ms']:.1f}-"
                         f"{r['unmap_max_ms']:.1f})"] for r in rows])
        for r in pick(kv.get("keepalive", []), iommu=reg):
            L += ["Keep-alive handover (uvirtio.ko), kill to the first completed I/O",
                  "of the new process, beside OpenVMM's published figure:", ""]
            L += table(["measured by", "kills", "handovers", "mean", "p50", "min", "max"],
                       [["uvirtio, QEMU TCG", f(r["kills"], "%.0f"),
                         f(r["handovers"], "%.0f"), f(r["mean_ms"], "%.2f ms"),
                         f(r["p50_ms"], "%.2f ms"), f(r["min_ms"], "%.2f ms"),
                         f(r["max_ms"], "%.2f ms")],
                        ["OpenVMM, published", "-", "-",
                         f"~{r['openvmm_save_us']} us", "-", "-", "-"]])
            L += textwrap.wrap(
                "OpenVMM's figure is a save of one NVMe controller with 4 queue pairs "
                "on hardware.  Ours runs under QEMU TCG, where every guest instruction "
                "is emulated, and covers more: the kill, the kernel's release of the "
                "dead owner (its user pages unmapped and unpinned, the device held), "
                "a fork, the re-attach, the restore of the queue from the state the "
                "library wrote as it ran, and the reap of a request the dead process "
                "left in flight.", 76, break_on_hyphens=False) + [""]
    return L


def render(res, images):
    info = res["info"]
    regimes = info.get("regime_order", [])
    reps = int(info.get("repeats", "0") or 0)
    L = []
    L += [".. SPDX-License-Identifier: GPL-2.0", "",
          "===========", "Performance", "===========", "",
          ".. This file is generated: scripts/bench-report.py --doc "
          "out/bench/results.json", "   (edit the prose in scripts/bench_doc.py).", ""]
    L += ["``make bench`` measures libuvirtio against the kernel's own virtio-blk",
          "driver with the same fio job on both sides, in three IOMMU regimes,",
          "its kernel-module backend against its VFIO backend on one device (with",
          "the keep-alive handover), and compares its rings with the kernel's",
          "``tools/virtio/ringtest``.  With the defaults (2 s per run, 3 repeats,",
          "a VM boot per regime and one for net) it takes about 15 to 20 minutes",
          "from warm caches.  ``UVIRTIO_BENCH_QUICK=1`` is a smoke run (lazy only,",
          "1 s, 1 repeat, a 128 MiB map, 3 kills: about 2 minutes).  The results go to",
          "``out/bench/``: ``results.md`` (also printed), ``results.json``,",
          "``results-REGIME.png`` and ``raw.log``.  This page is regenerated from",
          "``results.json`` by ``scripts/bench-report.py --doc out/bench/results.json``.",
          ""]
    L += ["What is measured", "================", "",
          "blk, one VM boot per IOMMU regime",
          "  The stock Debian 6.1 kernel under QEMU TCG (q35, 2 vCPUs), device set",
          "  ``bench``: identical virtio-blk-pci disks on QEMU's ``null-co``",
          "  driver (00:08.0 and a file-backed 00:09.0 serve the uvirtio.ko-vs-VFIO",
          "  rows below).  00:07.0 stays with the kernel's virtio-blk (``/dev/vdb``, I/O",
          "  scheduler ``none``); 00:06.0 is bound to uvirtio.  Both are driven by",
          "  the same fio job (Debian's fio 3.33, bundled into the initramfs with",
          "  its libraries by ``scripts/bundle-dyn.sh``): 4 KiB ``randread`` and",
          "  ``randwrite`` at QD1 and QD32, ``--time_based`` with a 500 ms ramp,",
          "  total-latency percentiles.  The kernel rows use ``ioengine=io_uring``",
          "  and ``ioengine=libaio`` with ``direct=1``; the libuvirtio rows use the",
          "  uvirtio ioengine (``ioengine=external:uvirtio-fio.so``):",
          "  ``fio-uvirtio-irq`` (interrupts with the engine's defaults: a 20 us spin, then sleep) and",
          "  ``fio-uvirtio-poll`` (``uvirtio_poll=1``).  The regimes:", ""]
    for reg in ("off", "lazy", "strict"):
        L += textwrap.wrap(f"* ``{reg}``: {REGIME_TEXT[reg]}" +
                           ("." if reg == "strict" else ";"), 74,
                           initial_indent="  ", subsequent_indent="    ",
                           break_on_hyphens=False)
    L += ["",
          "  Each repeat runs every (workload, QD, driver) once (one fio process",
          "  per repeat, one stonewalled job per row), so the repeats are",
          "  interleaved and a busy moment of the host hits every driver alike.  A",
          "  figure is the median of the repeats, with min and max; a ratio is the",
          "  ratio of the medians, and the *worst repeat* is the worst of the",
          "  per-repeat ratios (the two runs of one repeat ran a few seconds apart).",
          "",
          "Interrupt-path options, in the lazy boot",
          "  The engine's interrupt mode at QD1, one option at a time, interleaved",
          "  in the same boot (each variant sets every option, the engine's",
          "  defaults are ``follow+spin20``): ``plain`` (poll() on the queue's eventfd, the",
          "  interrupt where the kernel put it), ``follow`` (``uvirtio_irq_follow=1``:",
          "  before sleeping the library steers the vector to the reaping thread's",
          "  CPU, ``UVIRTIO_BLK_WAIT_FOLLOW_CPU``), ``spin20`` (``uvirtio_spin_us=20``:",
          "  poll the ring for 20 us before sleeping), both together, and",
          "  ``follow+epoll`` (``uvirtio_irq_epoll=1``: one ``epoll_wait()`` per",
          "  wake-up, the queue eventfd edge-triggered, instead of ``poll()`` and",
          "  ``read()``).",
          "",
          "blkbench, notifications and syscalls, in the same boots",
          "  ``tools/bench/blkbench`` (the library's own loop: fill every free slot,",
          "  one kick, one reap) runs once per regime as a second opinion.  It counts",
          "  doorbells (``-Wl,--wrap=uvirtq_kick``) and interrupts (the per-vector",
          "  counters of ``/sys/kernel/debug/uvirtio/<bdf>/stats``).  Syscalls per",
          "  I/O in polling mode: ``blkbench --count-syscalls=2000`` runs in a child",
          "  traced with ``PTRACE_SYSCALL``; two ``getppid()`` markers bracket the",
          "  window and the run takes no timestamps of its own, so every syscall",
          "  counted comes from the library.",
          "",
          "Ring micro-benchmark, on the host",
          "  ``ringbench`` drives libuvirtio's split or packed ring through the",
          "  public API (``uvirtq_add``, ``uvirtq_kick``, ``uvirtq_get_used``) from",
          "  the driver thread; a second thread plays a minimal polling device that",
          "  returns every buffer.  The device offers ``VIRTIO_RING_F_EVENT_IDX`` as",
          "  QEMU's devices and ringtest's ``virtio_ring_0_9`` do; notifications are",
          "  suppressed both ways, as in ringtest without ``--sleep``.  The",
          "  ``libuvirtio-split`` and ``-packed`` rows call ``uvirtq_kick()`` every",
          "  batch, which decides on a notification (a full fence, then a load of",
          "  the device's event index); the ``-publish`` rows call",
          "  ``uvirtq_publish()`` instead, which makes the requests visible and",
          "  decides on a notification only once per ring's worth (256 requests):",
          "  that is what ringtest's guest does without ``--sleep`` (it publishes",
          "  each add and never kicks), so those rows are the like-for-like",
          "  comparison and carry the batch-1 targets.  ringtest's",
          "  ``virtio_ring_0_9`` and ``ring`` are built in a temporary copy of the",
          "  Debian linux-source tree.  Ring size 256, batch 1 and 32, the two",
          "  threads pinned to CPUs 0 and 1, at least 9 repeats interleaved.",
          "",
          "uvirtio.ko against VFIO, in the lazy boot",
          "  The same libuvirtio code on the two PCI backends, one VM boot, one",
          "  device: a third ``null-co`` virtio-blk (00:08.0) is bound to uvirtio,",
          "  measured, rebound to vfio-pci (``uvirtio bind BDF --driver vfio-pci``),",
          "  measured the same way and given back, in every repeat (the repeats are",
          "  interleaved, as above; the guest has 3 GiB and loads ``vfio_pci``):",
          "",
          "  * fio, 4 KiB ``randread`` at QD1 and QD32 through the uvirtio engine,",
          "    ``uvirtio_dev=0000:00:08.0`` against ``vfio:0000:00:08.0``, in",
          "    interrupt mode (``uvirtio_poll=0`` with the engine's defaults, so",
          "    ``uvirtio_irq_follow=1``; VFIO gives user space no interrupt",
          "    affinity, and its backend takes the CPU it is asked for and ignores",
          "    it, so there following changes nothing) and polling mode;",
          "  * the QD1 submit-to-wake latency: blkbench ``randread`` at QD1, each",
          "    request timed from just before it is queued to the reap that",
          "    returns it.  ``irq``: the thread sleeps in ``poll()`` on the queue's",
          "    eventfd; the device's MSI-X message reaches uvirtio.ko's handler or",
          "    vfio-pci's, which signals the eventfd, and the scheduler wakes the",
          "    thread, which ``read()``\ s the eventfd and reaps.  The vector stays",
          "    where the kernel put it, the same path for both backends.",
          "    ``follow``: uvirtio.ko only, the vector steered to the reaping",
          "    thread's CPU.  ``poll``: no interrupt, the ring is polled.  The",
          "    device's time (QEMU's ``null-co``, same disk) is the same in every",
          "    row, so *irq - poll* (of the medians of p50) is what the",
          "    interrupt path adds to a completion: MSI-X delivery, the handler,",
          "    the eventfd, the wake-up and the two syscalls.  Nothing in the guest",
          "    timestamps the interrupt's arrival, so that difference is the",
          "    closest honest figure for MSI-X-to-wake-up;",
          "  * map and unmap: ``tools/bench/dmabench`` maps one 1 GiB buffer,",
          "    touched beforehand (4 KiB pages with ``MADV_NOHUGEPAGE``, or",
          "    ``MAP_HUGETLB`` 2 MiB pages from ``vm.nr_hugepages``, reserved right",
          "    after boot) with ``uvirtio_backend_dma_map()`` and unmaps it with",
          "    ``uvirtio_backend_dma_unmap()``, the same library calls on both:",
          "    ``UVIRTIO_DMA_MAP``/``UNMAP`` on the device fd against",
          "    ``VFIO_IOMMU_MAP_DMA``/``UNMAP_DMA`` on a type1 container, that is",
          "    pinning, the IOMMU page tables and, on unmap, the IOTLB flush and",
          "    unpinning.  One map per process, in a fresh IOMMU domain, once per",
          "    repeat;",
          "  * the keep-alive handover, after the repeats, on a fourth virtio-blk",
          "    backed by a file (00:09.0, since its verifier reads back what was",
          "    written): the ``uvirtio_keepalive`` selftest's ``killloop``",
          "    (``UVIRTIO_BENCH_KA_ROUNDS`` kills, default 15).  A writer keeps 8",
          "    writes in flight and is killed with ``SIGKILL`` at a random point;",
          "    the time counted runs from the kill to the first completion the",
          "    new process reaps: the kernel's release of the dead owner (the",
          "    device held, not reset), a fork, the re-attach with the token,",
          "    ``uvirtio_blk_restore()`` and the reap of the first request the dead",
          "    process left in flight (the device may have completed it in the",
          "    meantime).  VFIO has no keep-alive, so this row is uvirtio.ko's",
          "    alone.  OpenVMM publishes about 480 us for saving one NVMe",
          "    controller with 4 queue pairs (hardware; a save, not a handover).",
          "",
          "net, in a second VM boot",
          "  Device set ``net`` (two virtio-net-pci functions on one QEMU hub,",
          "  stock 6.1, intel-iommu strict), ``scripts/guest/bench-net``.  Each run",
          "  sends ``UVIRTIO_BENCH_NET_FRAMES`` (default 10000) frames of 64 or 1500",
          "  bytes and reports the sender's rate (frames the device took per second)",
          "  and the receiver's (first frame to last), and how many arrived:",
          "",
          "  * kernel-kernel: both functions on the kernel's virtio_net, the",
          "    AF_PACKET helper ``pktio`` (``tools/tests/pktio.c``) sending with",
          "    ``PACKET_QDISC_BYPASS`` (a full TX ring is waited out, so nothing is",
          "    dropped) and receiving on the other interface;",
          "  * kernel-uvirtio: pktio sends, ``uvirtio net recv`` receives",
          "    (interrupt mode);",
          "  * uvirtio-kernel: ``uvirtio net send``, pktio receives.",
          "",
          "  For the uvirtio side the table adds doorbells and interrupts per frame",
          "  (RX refill doorbells when receiving, TX doorbells and interrupts when",
          "  sending; ``uvirtio net send`` ends with ``uvirtio_net_qp_flush()``, so",
          "  its rate counts until QEMU took the last frame).  The QEMU hub queues",
          "  what a kernel receiver has no buffers for yet, so a sender's rate can",
          "  exceed what is delivered.  Load on the host moves these figures by 2x",
          "  between runs: compare within one run.",
          "",
          "vhost-user-blk, on the host",
          "  The CLI's ``uvirtio bench`` as a vhost-user front-end against",
          "  ``qemu-storage-daemon`` exporting a ``null-co`` node: the transport's",
          "  own cost and notification counts; there is no kernel driver to compare.",
          "",
          "The fio ioengine",
          "  ``make fio`` builds ``out/fio/uvirtio-fio.so`` against the source of",
          "  Debian's fio (``scripts/deps.sh fio-src``), libuvirtio linked in.",
          "  Options: ``uvirtio_dev`` (any device string), ``uvirtio_poll``,",
          "  ``uvirtio_queue``, and for interrupt mode ``uvirtio_irq_follow``",
          "  (default 1) and ``uvirtio_spin_us`` (default 20; 0: sleep at once).",
          "  The ``fio-uvirtio-irq`` rows use these defaults: the interrupt",
          "  path with a 20 us spin first, the option that moved QD1 most",
          "  (see the option table).  fio's buffers are",
          "  the device's registered memory, so requests are zero-copy.  Example",
          "  job: ``tools/fio/uvirtio.fio``.", ""]
    L += ["Machine and caveats", "===================", ""]
    ri0 = info.get("regimes", {}).get(regimes[0], {}) if regimes else {}
    L += [f"The figures below come from one ``make bench`` run: {info.get('secs', '?')} s per",
          f"run, {info.get('repeats', '?')} repeat(s), regimes {', '.join(regimes) or 'none'};",
          f"guest {ri0.get('kernel', '?')} with {ri0.get('cpus', '?')} vCPUs, clocksource",
          f"``{ri0.get('clocksource', '?')}``."]
    if "host_load_start" in info:
        end = (f" and {info['host_load_end']} at the end"
               if "host_load_end" in info else "")
        took = (f"; the run took {info['total_secs']} s"
                if "total_secs" in info else "")
        L += [f"Host: {info.get('host_cpus', '?')} CPUs, load average "
              f"{info['host_load_start']} at the start{end}{took}."]
    L += [""]
    try:
        busy = float(info.get("host_load_start", 0)) > float(info.get("host_cpus", 1) or 1)
    except ValueError:
        busy = False
    if busy and reps >= 3:
        L += [".. warning::", "",
              "   The host was busy (load above its CPU count): single figures",
              "   swing, and the worst-repeat ratios show by how much.", ""]
    if reps < 3:
        L += [".. warning::", "",
              "   This is a smoke run (fewer than 3 repeats, on a host shared with",
              "   other builds and VMs): it shows that the machinery works, not how",
              "   fast anything is.  Rerun ``make bench`` on a quiet host and",
              "   regenerate this page.", ""]
    L += ["* **TCG is not hardware.**  Every guest instruction is emulated and the",
          "  disks are ``null-co``: the figures measure CPU cost per I/O.  Trapped",
          "  MMIO, emulated MSI-X and the emulated IOMMU cost far more than on KVM.",
          "* **A shared 2-core host.**  Single runs swing by 2-3x with load; trust",
          "  ratios within one repeat more than absolute numbers.",
          "* **Polling and TCG.**  A polling vCPU keeps a host CPU busy, which QEMU's",
          "  own threads (the ones completing ``null-co`` requests) then lack on a",
          "  2-core host, and a vCPU thread that never halts is, to the host's",
          "  scheduler, a CPU hog: on a loaded host its time slices come late (p99",
          "  latencies of milliseconds), while a vCPU that halts between interrupts",
          "  is woken promptly.  Compare the p50 columns: polling has the lowest.",
          "  On hardware the device does not need the host's CPU.",
          "* **The IOMMU regime matters.**  The kernel maps and unmaps every request",
          "  through the IOMMU (a TCG-emulated one here); libuvirtio maps its buffers",
          "  once.  Compare the off and lazy tables before crediting the library.",
          ""]
    L += ["Results", "=======", ""]
    best = {}
    for reg in regimes:
        ab = pick(res["irq_options"], iommu=reg)
        for op in ("randread", "randwrite"):
            base = next((r for r in ab if r["op"] == op and r["driver"] == "ab-irq-plain"), None)
            for r in ab:
                if r["op"] == op and base and base["iops"]:
                    best.setdefault(reg, []).append(
                        f"{op} {r['driver'][7:]} {r['iops'] / base['iops']:.2f}x")
    for reg, lst in best.items():
        L += textwrap.wrap(
            f"Interrupt-path options against ``plain`` (IOMMU {reg}, QD1, medians): "
            + ", ".join(x for x in lst if " plain " not in x) + ".", 76,
            break_on_hyphens=False) + [""]
    for reg in regimes:
        ri = info.get("regimes", {}).get(reg, {})
        title = f"IOMMU {reg}"
        cmdline = ri.get("iommu_cmdline", "").strip(",").replace(",", " ")
        L += [title, "-" * len(title), ""]
        L += textwrap.wrap(
            f"{REGIME_TEXT.get(reg, reg)}; guest command line "
            f"``{cmdline or 'none'}``, default domain "
            f"``{ri.get('iommu_domain', '?')}``.  4 KiB random I/O; ratio = IOPS / kernel "
            "fio io_uring at the same op and QD.", 76, break_on_hyphens=False) + [""]
        rows = []
        for r in pick(res["blk_summary"], iommu=reg):
            rows.append([r["op"], r["qd"], r["driver"],
                         f"{r['iops']:.0f} ({r['iops_min']:.0f}-{r['iops_max']:.0f})",
                         f"{r['p50_us']:.1f}", f"{r['p99_us']:.1f}",
                         f(r["ratio_vs_kernel_io_uring"], "%.2fx"),
                         f(r["worst_repeat_ratio"], "%.2fx")])
        for r in res["blk"]:
            if r["iommu"] == reg and r["driver"].startswith("blkbench-"):
                rows.append([r["op"], r["qd"], r["driver"] + " (1 run)",
                             f"{r['iops']:.0f}", f"{r['p50_us']:.1f}", f"{r['p99_us']:.1f}",
                             f(r["ratio_vs_kernel_io_uring"], "%.2fx"), "-"])
        L += table(["op", "QD", "driver", "IOPS median (min-max)", "p50 us", "p99 us",
                    "ratio", "worst repeat"], rows)
        if f"results-{reg}.svg" in images:
            L += [f".. image:: images/results-{reg}.svg", f"   :alt: IOPS per driver, IOMMU {reg}", ""]
        ab = pick(res["irq_options"], iommu=reg)
        if ab:
            L += ["Interrupt-path options at QD1 (fio engine, interleaved):", ""]
            L += table(["op", "option", "IOPS median (min-max)", "p50 us", "p99 us",
                        "ratio", "worst repeat"],
                       [[r["op"], r["driver"][7:],
                         f"{r['iops']:.0f} ({r['iops_min']:.0f}-{r['iops_max']:.0f})",
                         f"{r['p50_us']:.1f}", f"{r['p99_us']:.1f}",
                         f(r["ratio_vs_kernel_io_uring"], "%.2fx"),
                         f(r["worst_repeat_ratio"], "%.2fx")] for r in ab])
        nr = pick(res["notifications"], iommu=reg)
        if nr:
            L += ["Notifications (blkbench) and syscalls per I/O:", ""]
            L += table(["op", "QD", "mode", "doorbells/req", "interrupts/req", "syscalls/I/O"],
                       [[r["op"], r["qd"], r["driver"][9:],
                         f(r.get("doorbells_per_io"), "%.3f"), f(r.get("irqs_per_io"), "%.3f"),
                         f(r["syscalls_per_io"], "%.4f") if r["driver"].endswith("poll")
                         else "not measured"] for r in nr])
    L += kvb_section(res)
    if res.get("net"):
        L += ["net", "---", "",
              "Frames/s on a QEMU hub (stock 6.1, intel-iommu strict); doorbells",
              "and interrupts are the uvirtio side's, per frame.", ""]
        L += table(["path", "frame bytes", "sender frames/s", "delivered frames/s",
                    "delivered", "doorbells/frame", "interrupts/frame"],
                   [[r["path"], r["size"], f(r["tx_fps"], "%.0f"), f(r["rx_fps"], "%.0f"),
                     f"{f(r['delivered'], '%.0f')}/{f(r['sent'], '%.0f')}",
                     f(r["doorbells_per_frame"], "%.3f"), f(r["irqs_per_frame"], "%.3f")]
                    for r in res["net"]])
    if res["ring"]:
        L += ["Ring micro-benchmark", "--------------------", "",
              f"Host, ring size 256, {info.get('ring_ops', '?')} operations per run; ratio =",
              "ns/op / ringtest ``virtio_ring_0_9`` ns/op at the same batch.", ""]
        L += table(["batch", "ring", "ns/op median (min-max)", "ratio", "worst repeat"],
                   [[r["batch"], r["ring"],
                     f"{r['ns_per_op']:.1f} ({r['ns_min']:.1f}-{r['ns_max']:.1f})",
                     f(r["ratio_vs_virtio_ring_0_9"], "%.2fx"),
                     f(r["worst_repeat_ratio"], "%.2fx")] for r in res["ring"]])
        if "results-ring.svg" in images:
            L += [".. image:: images/results-ring.svg", "   :alt: ring ns/op", ""]
    if res["vhost_user"]:
        L += ["vhost-user-blk", "--------------", ""]
        L += table(["op", "QD", "mode", "IOPS median (min-max)", "p50 us", "doorbells/req",
                    "interrupts/req"],
                   [[r["op"], r["qd"], r["driver"][19:],
                     f"{r['iops']:.0f} ({r['iops_min']:.0f}-{r['iops_max']:.0f})",
                     f"{r['p50_us']:.1f}", f"{r['doorbells_per_io']:.3f}",
                     f(r["irqs_per_io"], "%.3f") if r["irqs_per_io"] is not None
                     else "polling"] for r in res["vhost_user"]])
    L += ["Targets", "=======", "",
          "Met when the ratio of medians meets the goal; the acceptance regime is",
          "lazy, Debian's default.", ""]
    rows = []
    for t in res["targets"]:
        m = "n/a" if t["met"] is None else ("met" if t["met"] else "**missed**")
        rows.append([t["iommu"], t["target"], f(t["value"], "%.3f"),
                     f(t["worst_repeat"], "%.3f"), t["goal"], m])
    L += table(["regime", "target", "measured", "worst repeat", "goal", "status"], rows)
    lz = "lazy" if "lazy" in regimes else (regimes[0] if regimes else "lazy")
    L += ["What limits them", "----------------", ""]
    limits_at = len(L)
    L += ["Polling at QD1 (goal 2.0x)",
          f"  {lz}: randread {tval(target(res, lz, 'fio-uvirtio-poll randread QD1 vs kernel io_uring'))},",
          f"  randwrite {tval(target(res, lz, 'fio-uvirtio-poll randwrite QD1 vs kernel io_uring'))}.",
          "  A polled request costs one doorbell (a trapped MMIO write) and the",
          "  loads of the used ring; no interrupt, no syscall.  The kernel path adds",
          "  the syscall, the block layer, the IOMMU map/unmap and the interrupt.",
          "  What is left is fio's own per-I/O work (several clock reads: with the",
          "  ``hpet`` clocksource each is a trapped MMIO read under TCG) and, on a",
          "  loaded 2-core host, the spinning vCPU competing with QEMU's threads",
          "  and being scheduled late (see the caveats): the p50 latency of polling",
          "  is the lowest of all rows, the mean (hence IOPS at QD1) is not.",
          "",
          "Interrupt mode at QD1 (goal 1.2x)",
          f"  {lz}: randread {tval(target(res, lz, 'fio-uvirtio-irq randread QD1 vs kernel io_uring'))},",
          f"  randwrite {tval(target(res, lz, 'fio-uvirtio-irq randwrite QD1 vs kernel io_uring'))}.",
          "  A completion that comes after the spin is MSI-X -> the module's",
          "  handler -> eventfd -> the library's ``poll()`` wake-up -> ``read()``.",
          "  The kernel's blk-mq completes on the submitting CPU (one queue per",
          "  vCPU, managed affinity); without ``uvirtio_irq_follow`` the uvirtio",
          "  vector fires on whatever CPU the kernel chose and the wake-up needs a",
          "  cross-CPU IPI, which TCG emulates slowly.  Following the reaping",
          "  thread's CPU removes that IPI.  The spin (NVMe's hybrid polling: poll",
          "  the ring for 20 us, then sleep) moves the figure most: whenever the",
          "  device answers within it, the vCPU neither halts nor needs waking",
          "  (slow under TCG), and no syscall is made; it costs up to 20 us of",
          "  CPU per wait where the device is slower (``uvirtio_spin_us=0`` turns",
          "  it off).  The option table gives each option's share.  A blocking",
          "  ``read()`` instead of ``poll()``+``read()`` would",
          "  save one syscall per wake-up but would not wake on removal (the module",
          "  signals only the remove eventfd); ``uvirtio_irq_epoll`` saves the same",
          "  syscall and still wakes on removal (the option table shows what it",
          "  gives; it stays off unless the figures say otherwise).",
          "",
          "Polling at QD32 (goal 1.5x)",
          f"  {lz}: randread {tval(target(res, lz, 'fio-uvirtio-poll randread QD32 vs kernel io_uring'))},",
          f"  randwrite {tval(target(res, lz, 'fio-uvirtio-poll randwrite QD32 vs kernel io_uring'))}.",
          "  fio submits one request per ``commit`` (``iodepth_batch_submit=1``), so",
          "  both sides ring about one doorbell per request; blkbench, which fills",
          "  the ring and kicks once, shows what batching gives (1/32 doorbell per",
          "  request).  Under TCG each doorbell is a trapped MMIO write that takes",
          "  QEMU's global lock, and the polling vCPU keeps a host CPU from QEMU's",
          "  completion thread, so polling can trail interrupt mode here.  On the",
          "  kernel side at QD32 the IOMMU regime decides most of the gap.",
          "",
          "Syscalls per I/O when polling (goal 0)",
          f"  {lz}: QD1 {tval(target(res, lz, 'syscalls/I/O polling QD1'), '%.4f')}, QD32",
          f"  {tval(target(res, lz, 'syscalls/I/O polling QD32'), '%.4f')}.  A polling reap checks the",
          "  device every 16K empty polls for removal and ``DEVICE_NEEDS_RESET``; on",
          "  the kernel-module backend both are loads of the mapped ``device_status``",
          "  byte (a removed device's BAR pages are revoked to all-ones, so ``0xff``",
          "  means gone), and the poller yields only where the device may need this",
          "  machine's CPUs (the fake, vhost-user), never for a PCI function.",
          "",
          "Ring, batch 1 (split <= 0.8x, packed <= 0.5x virtio_ring_0_9)",
          f"  split {tval(target(res, 'host', 'split-publish ring ns/op / virtio_ring_0_9 (batch 1)'))},",
          f"  packed {tval(target(res, 'host', 'packed-publish ring ns/op / virtio_ring_0_9 (batch 1)'))},",
          "  with ``uvirtq_publish()`` as ringtest's guest publishes.  With",
          f"  ``uvirtq_kick()`` every request: split {ringval(res, 'libuvirtio-split', 1)},",
          f"  packed {ringval(res, 'libuvirtio-packed', 1)}.  The difference is the",
          "  kick's full fence: it waits until the store of the avail index (split)",
          "  or of the head's flags (packed) owns its cache line, which the",
          "  device's CPU holds while it polls; on this virtualised host a",
          "  cross-CPU line transfer costs about 100 to 300 ns, and its cost",
          "  changes between runs as the host places the two vCPUs.  A driver of",
          "  a device that may want notifications pays it once per kick; batching",
          "  amortises it (below).  The packed ring shares one line per four",
          "  descriptors between the two sides where the split ring uses",
          "  separate descriptor, avail and used lines: it is the faster format.",
          "",
          "Ring, batch 32 (no worse than before: split 0.25x, packed 0.43x)",
          f"  split {tval(target(res, 'host', 'split ring ns/op / virtio_ring_0_9 (batch 32)'))},",
          f"  packed {tval(target(res, 'host', 'packed ring ns/op / virtio_ring_0_9 (batch 32)'))}.",
          "  The kick and its fence are paid once per 32 requests, and the",
          "  ``-publish`` rows measure about the same.  These figures are",
          "  bimodal on this host: a run goes at about 20 ns/op (ringbench) and",
          "  80 ns/op (ringtest), or at 3 to 4 times that, by how the host",
          "  places the two vCPUs, and a ratio of medians moves with how the",
          "  slow runs fall among the repeats (see the min-max column).",
          "",
          "QD32 notifications (goal <= 0.1 per request)",
          "  blkbench refills the whole ring and kicks once; EVENT_IDX asks for one",
          "  interrupt per reap: 1/32 each.  A workload that submits one request at",
          "  a time (fio's default) rings more.", ""]
    L[limits_at:] = rewrap(L[limits_at:])
    if res.get("failures"):
        L += ["Failures in this run", "--------------------", ""]
        L += ["* " + x.replace("*", "\\*") for x in res["failures"]] + [""]
    return "\n".join(L)
