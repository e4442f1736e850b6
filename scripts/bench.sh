#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: performance of libuvirtio against the kernel.
#
#  1. blk: one VM boot (stock 6.1 kernel, intel-iommu in strict mode, device set "bench":
#     two identical null-co virtio-blk disks).  The kernel's virtio-blk on
#     00:07.0 through fio (io_uring and libaio, direct=1; fio and its
#     shared libraries are copied into the initramfs and started through
#     the dynamic loader), libuvirtio on 00:06.0 through tools/bench/blkbench
#     (interrupt and polling mode).  4 KiB randread/randwrite, QD1 and QD32.
#  2. Notification counts from the same blkbench runs (doorbells and
#     interrupts per request), and syscalls per I/O in polling mode
#     (ptrace-counted in separate short runs).
#  3. Ring micro-benchmark on the host: tools/bench/ringbench (libuvirtio
#     split and packed rings) against tools/virtio/ringtest (ring,
#     virtio_ring_0_9) built from the Debian linux-source tree in a
#     temporary copy, same ring size, batch and op count; median of 5.
#  4. vhost-user-blk on the host: the uvirtio CLI's bench (libuvirtio as
#     a vhost-user front-end) against qemu-storage-daemon's null-co export,
#     interrupt and polling, QD1 and QD32, median of 3 (with doorbells and
#     interrupts per request).
#  5. net: a second VM (device set "net": two virtio-net-pci on one QEMU
#     hub, scripts/guest/bench-net): frames/s, 64 and 1500 bytes, kernel
#     virtio_net to kernel virtio_net (AF_PACKET, PACKET_QDISC_BYPASS),
#     kernel to uvirtio-net and uvirtio-net to kernel, with the uvirtio
#     side's doorbells and interrupts per frame.
#  6. out/bench/results.md (also on stdout), results.json, results.png.
#
# Environment: UVIRTIO_BENCH_SECS (each blk run, default 4),
# UVIRTIO_BENCH_RING_OPS (ring ops per run, default 1000000),
# UVIRTIO_BENCH_NET_FRAMES (frames per net run, default 10000).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

t0=$(date +%s)
secs=${UVIRTIO_BENCH_SECS:-4}
ring_ops=${UVIRTIO_BENCH_RING_OPS:-1000000}
out=$UV_OUT/bench
mkdir -p "$out"
out=$(cd "$out" && pwd)
raw=$out/raw.log
: >"$raw"

uv_log "checking dependencies"
scripts/deps.sh host >/dev/null
scripts/deps.sh vm >/dev/null
scripts/deps.sh stock >/dev/null
scripts/deps.sh bench >/dev/null

uv_log "building libuvirtio, the CLI and the benchmarks"
make -s -C userlib >/dev/null
make -s -C tools >/dev/null
make -s -C tools/bench OUTDIR="$out/build" >/dev/null

# Static binaries and fio (dynamic: its libraries and the loader go along).
bin=$out/vm/bin fiodir=$out/vm/fio
rm -rf "$out/vm"
mkdir -p "$bin" "$fiodir/lib"
cp tools/build/uvirtio-static "$bin/uvirtio"
cp "$out/build/blkbench" "$bin/blkbench"
fio=$(command -v fio) || uv_die "fio is not installed"
cp "$fio" "$fiodir/fio"
ldd "$fio" | awk '/=>/ && $3 ~ /^\// { print $3 }' | while read -r lib; do
	cp -L "$lib" "$fiodir/lib/"
done
loader=$(ldd "$fio" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
[ -n "$loader" ] || uv_die "cannot find fio's dynamic loader"
cp -L "$loader" "$fiodir/ld-linux-x86-64.so.2"

uv_log "booting the VM (QEMU TCG, q35, intel-iommu strict; ${secs}s per run, ~5 minutes)"
vmout=$UV_OUT/vm/bench
mkdir -p "$UV_OUT/vm"
set +e
scripts/vm-run.sh -k stock -i strict -d bench -o "$vmout" -t 900 \
	-a "$bin:uvirtio/bin" -a "$fiodir:uvirtio/fio" \
	-e "UVIRTIO_BENCH_SECS=$secs" -p scripts/guest/bench >"$vmout.log" 2>&1
vmrc=$?
set -e
cat "$vmout.log" >>"$raw"
grep -E '^(info|result|syscalls) |^vm-run|^bench:' "$vmout.log" | cut -c1-300 || true
[ $vmrc -eq 0 ] || uv_log "VM run FAILED (rc $vmrc, logs in $vmout); tables will have gaps"

uv_log "net: uvirtio-net vs the kernel's virtio_net on a QEMU hub (second VM, ~1 minute)"
netbin=$out/vm/netbin
mkdir -p "$netbin"
cp tools/build/uvirtio-static "$netbin/uvirtio"
cp tools/build/pktio-static "$netbin/pktio"
netout=$UV_OUT/vm/bench-net
set +e
scripts/vm-run.sh -k stock -i strict -d net -o "$netout" -t 600 \
	-a "$netbin:uvirtio/bin" \
	-e "UVIRTIO_BENCH_NET_FRAMES=${UVIRTIO_BENCH_NET_FRAMES:-10000}" \
	-p scripts/guest/bench-net >"$netout.log" 2>&1
netrc=$?
set -e
cat "$netout.log" >>"$raw"
grep -E '^netres |^vm-run' "$netout.log" | cut -c1-300 || true
[ $netrc -eq 0 ] || uv_log "net VM run FAILED (rc $netrc, logs in $netout); the net table will have gaps"

uv_log "ring micro-benchmark on the host (${ring_ops} ops, median of 5)"
ksrc=$("$UV_TOP/scripts/build-kernel.sh" --src 2>/dev/null || true)
rt=
if [ -n "$ksrc" ] && [ -d "$ksrc/tools/virtio/ringtest" ]; then
	rt=$(mktemp -d)
	trap 'rm -rf "$rt"' EXIT
	# Build a copy: ringtest's Makefile writes into its own directory.
	cp -a "$ksrc/tools/virtio/ringtest" "$rt/"
	if ! make -s -C "$rt/ringtest" ring virtio_ring_0_9 >"$rt/build.log" 2>&1; then
		uv_log "ringtest does not build (see below); compared numbers will be missing"
		tail -n 20 "$rt/build.log" >&2
		rt=
	fi
else
	uv_log "no linux source tree (scripts/deps.sh kernel); ringtest skipped"
fi
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for batch in 1 32; do
	for kind in split packed; do
		flag=
		[ $kind = packed ] && flag=--packed
		for _ in 1 2 3 4 5; do
			"$out/build/ringbench" $flag --ring-size 256 --batch $batch \
				--run-cycles "$ring_ops" --driver-cpu 1 --device-cpu 0 |
				tee -a "$raw" | sed -n 's/.*ns_per_op=\([0-9.]*\).*/\1/p'
		done | median | sed "s/^/ringres libuvirtio-$kind $batch /" >>"$raw"
	done
	if [ -n "$rt" ]; then
		for p in virtio_ring_0_9 ring; do
			for _ in 1 2 3 4 5; do
				s=$(date +%s%N)
				"$rt/ringtest/$p" --ring-size 256 --batch $batch \
					--run-cycles "$ring_ops" --host-affinity 0 \
					--guest-affinity 1 >/dev/null
				e=$(date +%s%N)
				awk -v d=$((e - s)) -v n="$ring_ops" 'BEGIN { printf "%.2f\n", d / n }'
			done | median | sed "s/^/ringres ringtest-$p $batch /" >>"$raw"
		done
	fi
done

uv_log "vhost-user-blk on the host: libuvirtio vs qemu-storage-daemon null-co (median of 3)"
vu=$(mktemp -d)
qsd_pid=
if command -v qemu-storage-daemon >/dev/null; then
	qemu-storage-daemon --blockdev driver=null-co,node-name=n0,size=1073741824 \
		--export type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path="$vu/sock",writable=on,num-queues=1 \
		>"$vu/qsd.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 50); do [ -S "$vu/sock" ] && break; sleep 0.1; done
fi
vusecs=${UVIRTIO_BENCH_VU_SECS:-2}
if [ -S "$vu/sock" ]; then
	for mode in irq poll; do
		flag=
		[ $mode = poll ] && flag=--poll
		for rw in randread randwrite; do
			for qd in 1 32; do
				for _ in 1 2 3; do
					tools/build/uvirtio bench "vhost-user:$vu/sock" \
						--rw $rw --qd $qd -t "$vusecs" $flag 2>&1 |
						sed -n "s/^result uvirtio bench /vhostres uvirtio-$mode /p"
				done
			done
		done
	done | tee -a "$raw" | cut -c1-160
else
	uv_log "qemu-storage-daemon did not start: vhost-user rows missing"
fi
[ -n "$qsd_pid" ] && kill "$qsd_pid" 2>/dev/null
rm -rf "$vu"

uv_log "writing $out/results.{md,json,png}"
python3 - "$raw" "$out" "$secs" "$ring_ops" <<'PY'
import json, re, sys
raw, out, secs, ring_ops = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
blk, notif, sysc, ring, info = {}, {}, {}, {}, {}
vhost = {}
net = {}
for line in open(raw, errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("netres "):
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
        net[(f[1], int(kv.get("size", 0)))] = kv
        continue
    if line.startswith("fio-json "):
        _, name, rw, qd, js = line.split(" ", 4)
        try:
            j = json.loads(js)["jobs"][0]
        except Exception:
            continue
        d = j["read" if rw == "randread" else "write"]
        pct = d.get("lat_ns", {}).get("percentile", {})
        p50 = pct.get("50.000000", 0) / 1000.0
        p99 = pct.get("99.000000", 0) / 1000.0
        blk[(name, rw, int(qd))] = {"iops": d["iops"], "p50_us": p50, "p99_us": p99}
    elif line.startswith("result ") and not line.endswith(" syscount"):
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
        key = (f[1], f[2], int(kv["qd"]))
        blk[key] = {"iops": float(kv["iops"]), "p50_us": float(kv["p50_us"]),
                    "p99_us": float(kv["p99_us"])}
        notif[key] = {"doorbells_per_io": float(kv["db_per_io"]),
                      "irqs_per_io": float(kv["irq_per_io"]),
                      "voluntary_ctxsw": int(kv["vcsw"])}
    elif line.startswith("syscalls "):
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
        sysc[(f[1], f[2], int(kv["qd"]))] = {
            "syscalls_per_io": float(kv["syscalls_per_io"]),
            "by_nr": {k[2:]: int(v) for k, v in kv.items() if k.startswith("nr")}}
    elif line.startswith("vhostres "):
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
        vhost.setdefault((f[1], f[2], int(kv["qd"])), []).append(kv)
    elif line.startswith("ringres "):
        _, name, batch, ns = line.split()
        ring[(name, int(batch))] = float(ns)
    elif line.startswith("info "):
        for x in line.split()[1:]:
            k, _, v = x.partition("=")
            info[k] = v

drivers = ["kernel-io_uring", "kernel-libaio", "uvirtio-irq", "uvirtio-poll"]
md = []
md.append("## blk: 4 KiB random I/O, null-co virtio-blk, QEMU TCG (%s s per run)" % secs)
md.append("")
md.append("| op | QD | driver | IOPS | p50 us | p99 us | vs kernel io_uring |")
md.append("|---|---:|---|---:|---:|---:|---:|")
rows = []
for rw in ("randread", "randwrite"):
    for qd in (1, 32):
        k = blk.get(("kernel-io_uring", rw, qd))
        for d in drivers:
            r = blk.get((d, rw, qd))
            if not r:
                md.append(f"| {rw} | {qd} | {d} | - | - | - | - |")
                continue
            ratio = r["iops"] / k["iops"] if k and k["iops"] else None
            md.append(f"| {rw} | {qd} | {d} | {r['iops']:.0f} | {r['p50_us']:.1f} | "
                      f"{r['p99_us']:.1f} | {'%.2fx' % ratio if ratio else '-'} |")
            rows.append({"op": rw, "qd": qd, "driver": d, **r,
                         "ratio_vs_kernel_io_uring": ratio})
md.append("")
md.append("## Notifications (libuvirtio, counted in the same runs)")
md.append("")
md.append("| op | QD | mode | doorbells/req | interrupts/req | syscalls/I/O |")
md.append("|---|---:|---|---:|---:|---:|")
nrows = []
for d in ("uvirtio-irq", "uvirtio-poll"):
    for rw in ("randread", "randwrite"):
        for qd in (1, 32):
            n = notif.get((d, rw, qd))
            if not n:
                continue
            s = sysc.get((d, rw, qd))
            sv = "%.3f" % s["syscalls_per_io"] if s else "not measured"
            md.append(f"| {rw} | {qd} | {d[8:]} | {n['doorbells_per_io']:.3f} | "
                      f"{n['irqs_per_io']:.3f} | {sv} |")
            nrows.append({"op": rw, "qd": qd, "driver": d, **n,
                          "syscalls_per_io": s["syscalls_per_io"] if s else None,
                          "syscalls_by_nr": s["by_nr"] if s else None})
md.append("")
md.append("## vhost-user-blk: libuvirtio against qemu-storage-daemon (host, null-co, "
          "4 KiB, median of 3 with min-max)")
md.append("")
md.append("| op | QD | mode | IOPS (min-max) | p50 us | doorbells/req | interrupts/req |")
md.append("|---|---:|---|---:|---:|---:|---:|")
vrows = []
def med(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2]
for rw in ("randread", "randwrite"):
    for qd in (1, 32):
        for d in ("uvirtio-irq", "uvirtio-poll"):
            runs = vhost.get((d, rw, qd))
            if not runs:
                continue
            iops = [float(r["iops"]) for r in runs]
            p50 = med([float(r["p50_us"]) for r in runs])
            db = med([float(r["db_per_io"]) for r in runs])
            irq = med([float(r["irq_per_io"]) for r in runs]) \
                if all("irq_per_io" in r for r in runs) else None
            md.append(f"| {rw} | {qd} | {d[8:]} | {med(iops):.0f} ({min(iops):.0f}-{max(iops):.0f}) | "
                      f"{p50:.1f} | {db:.3f} | {'%.3f' % irq if irq is not None else 'polling'} |")
            vrows.append({"op": rw, "qd": qd, "driver": "vhost-user-" + d, "iops": med(iops),
                          "iops_min": min(iops), "iops_max": max(iops), "repeats": len(runs),
                          "p50_us": p50, "doorbells_per_io": db, "irqs_per_io": irq})
md.append("")
md.append("## net: frames/s on a QEMU hub (stock 6.1, intel-iommu strict, AF_PACKET "
          "with PACKET_QDISC_BYPASS on the kernel side)")
md.append("")
md.append("| path | frame bytes | sender frames/s | delivered frames/s | delivered | "
          "doorbells/frame | interrupts/frame |")
md.append("|---|---:|---:|---:|---:|---:|---:|")
netrows = []
def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
for path in ("kernel-kernel", "kernel-uvirtio", "uvirtio-kernel"):
    for size in (64, 1500):
        kv = net.get((path, size))
        if not kv:
            md.append(f"| {path} | {size} | - | - | - | - | - |")
            continue
        r = {"path": path, "size": size, "tx_fps": num(kv.get("tx_fps")),
             "rx_fps": num(kv.get("rx_fps")), "delivered": num(kv.get("delivered")),
             "sent": num(kv.get("sent")), "doorbells_per_frame": num(kv.get("db_per_frame")),
             "irqs_per_frame": num(kv.get("irq_per_frame"))}
        netrows.append(r)
        f = lambda x, p="%.0f": "-" if x is None else p % x
        md.append(f"| {path} | {size} | {f(r['tx_fps'])} | {f(r['rx_fps'])} | "
                  f"{f(r['delivered'])}/{f(r['sent'])} | {f(r['doorbells_per_frame'], '%.3f')} | "
                  f"{f(r['irqs_per_frame'], '%.3f')} |")
md.append("")
md.append("kernel-kernel: both functions on virtio_net, pktio to pktio; kernel-uvirtio: pktio "
          "sends, `uvirtio net recv` receives (interrupts); uvirtio-kernel: `uvirtio net send`, "
          "pktio receives. Doorbells and interrupts are the uvirtio side's, per frame.")
md.append("")
md.append(f"## Ring micro-benchmark (host, 2 threads pinned to CPUs 0/1, ring 256, "
          f"{ring_ops} ops, median of 5)")
md.append("")
md.append("| batch | ring | ns/op | vs ringtest virtio_ring_0_9 |")
md.append("|---:|---|---:|---:|")
rrows = []
for batch in (1, 32):
    ref = ring.get(("ringtest-virtio_ring_0_9", batch))
    for name in ("libuvirtio-split", "libuvirtio-packed",
                 "ringtest-virtio_ring_0_9", "ringtest-ring"):
        v = ring.get((name, batch))
        if v is None:
            continue
        ratio = v / ref if ref else None
        md.append(f"| {batch} | {name} | {v:.1f} | {'%.2fx' % ratio if ratio else '-'} |")
        rrows.append({"batch": batch, "ring": name, "ns_per_op": v,
                      "ratio_vs_virtio_ring_0_9": ratio})
md.append("")

def get(d, rw, qd, field="iops"):
    r = blk.get((d, rw, qd))
    return r[field] if r else None

targets = []
def target(name, value, goal, le=False):
    ok = None if value is None else (value <= goal if le else value >= goal)
    targets.append({"target": name, "value": value, "goal": ("<= " if le else ">= ") + str(goal),
                    "met": ok})
for rw in ("randread", "randwrite"):
    for qd, goal, mode in ((1, 2.0, "uvirtio-poll"), (32, 1.5, "uvirtio-poll"),
                           (1, 1.2, "uvirtio-irq")):
        u, k = get(mode, rw, qd), get("kernel-io_uring", rw, qd)
        target(f"{mode} {rw} QD{qd} IOPS vs kernel", u / k if u and k else None, goal)
for b in (1, 32):
    s, r = ring.get(("libuvirtio-split", b)), ring.get(("ringtest-virtio_ring_0_9", b))
    target(f"split ring ns/op / virtio_ring_0_9 (batch {b})", s / r if s and r else None, 1.0, le=True)
for rw in ("randread", "randwrite"):
    n = notif.get(("uvirtio-irq", rw, 32))
    target(f"doorbells/req {rw} QD32 (irq mode)", n["doorbells_per_io"] if n else None, 0.1, le=True)
    target(f"interrupts/req {rw} QD32 (irq mode)", n["irqs_per_io"] if n else None, 0.1, le=True)
for qd in (1, 32):
    s = sysc.get(("uvirtio-poll", "randread", qd))
    target(f"syscalls/I/O polling randread QD{qd}", s["syscalls_per_io"] if s else None, 0, le=True)
md.append("## Targets")
md.append("")
md.append("| target | measured | goal | met |")
md.append("|---|---:|---|---|")
for t in targets:
    v = "-" if t["value"] is None else "%.3f" % t["value"]
    m = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
    md.append(f"| {t['target']} | {v} | {t['goal']} | {m} |")
md.append("")
md.append("Machine: 2 CPUs, QEMU TCG (no KVM), guest clocksource %s." %
          info.get("clocksource", "?"))
text = "\n".join(md) + "\n"
open(f"{out}/results.md", "w").write(text)
print(text)
json.dump({"info": info, "blk": rows, "notifications": nrows, "ring": rrows,
           "vhost_user": vrows, "net": netrows, "targets": targets},
          open(f"{out}/results.json", "w"), indent=1)
# Data for gnuplot: one row per op/QD, one column per driver.
with open(f"{out}/blk.dat", "w") as f:
    f.write("case " + " ".join(drivers) + "\n")
    for rw in ("randread", "randwrite"):
        for qd in (1, 32):
            f.write(f"{rw[4:]}-QD{qd} " + " ".join(
                "%.0f" % blk[(d, rw, qd)]["iops"] if (d, rw, qd) in blk else "0"
                for d in drivers) + "\n")
with open(f"{out}/ring.dat", "w") as f:
    names = ["libuvirtio-split", "libuvirtio-packed", "ringtest-virtio_ring_0_9", "ringtest-ring"]
    f.write("case " + " ".join(names) + "\n")
    for b in (1, 32):
        f.write(f"batch{b} " + " ".join("%.1f" % ring.get((n, b), 0) for n in names) + "\n")
PY

if command -v gnuplot >/dev/null; then
	gnuplot <<EOF || uv_log "gnuplot failed; no chart"
set terminal pngcairo size 1200,500 noenhanced
set output "$out/results.png"
set multiplot layout 1,2
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left autotitle columnheader
set grid ytics
set title "4 KiB random I/O (IOPS, QEMU TCG, null-co)"
set ylabel "IOPS"
set xtics rotate by -20
plot for [i=2:5] "$out/blk.dat" using i:xtic(1)
set title "ring micro-benchmark (ns/op, lower is better)"
set ylabel "ns/op"
plot for [i=2:5] "$out/ring.dat" using i:xtic(1)
unset multiplot
EOF
else
	uv_log "gnuplot not installed; no chart"
fi

uv_log "done in $(( $(date +%s) - t0 )) s (raw log $raw, VM logs in $vmout)"
[ $vmrc -eq 0 ] && [ $netrc -eq 0 ] || exit 1
