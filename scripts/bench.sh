#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: performance of libuvirtio against the kernel.
#
#  1. blk: one VM boot per IOMMU regime (stock 6.1 kernel, device set
#     "bench": two identical null-co virtio-blk disks): off (no IOMMU),
#     lazy (intel-iommu, Debian's default DMA mode) and strict
#     (iommu.strict=1).  In each, the same fio job on both sides: the
#     kernel's virtio-blk on 00:07.0 (io_uring and libaio, direct=1) and
#     libuvirtio on 00:06.0 through the uvirtio ioengine (out/fio/
#     uvirtio-fio.so; rows fio-uvirtio-irq and fio-uvirtio-poll).  4 KiB
#     randread/randwrite at QD1 and QD32, every (workload, QD, driver)
#     UVIRTIO_BENCH_REPEATS times, interleaved (one fio process per
#     repeat, one stonewalled job per row); reported as the median with
#     min and max.  fio and its libraries are bundled into the
#     initramfs (scripts/bundle-dyn.sh).  Under lazy, the interrupt-path
#     options of the engine side by side at QD1 (A/B, same boot).
#  2. In the same boots: tools/bench/blkbench as a second opinion, with
#     the doorbells and interrupts per request, and syscalls per I/O in
#     polling mode (ptrace-counted, blkbench --count-syscalls).
#     In the lazy boot (UVIRTIO_BENCH_KVB_REGIMES), uvirtio.ko against
#     VFIO on a third null-co disk (00:08.0), rebound between the two in
#     every repeat: fio 4 KiB randread QD1/QD32 in interrupt and polling
#     mode, the QD1 submit-to-wake latency (blkbench, interrupt and
#     polling), the map and unmap of a 1 GiB buffer with 4 KiB and 2 MiB
#     pages (tools/bench/dmabench, the same library calls on both); then
#     the keep-alive handover on a file-backed disk (00:09.0): the
#     uvirtio_keepalive selftest's killloop, kill to the first completion
#     in the new process.
#  3. Ring micro-benchmark on the host: tools/bench/ringbench (libuvirtio
#     split and packed rings, kicked every batch or only published as
#     ringtest's guest does) against tools/virtio/ringtest (ring,
#     virtio_ring_0_9) built from the Debian linux-source tree in a
#     temporary copy, same ring size, batch and op count; repeats
#     interleaved, median.
#  4. vhost-user-blk on the host: the uvirtio CLI's bench (libuvirtio as
#     a vhost-user front-end) against qemu-storage-daemon's null-co export,
#     interrupt and polling, QD1 and QD32 (with doorbells and interrupts
#     per request).
#  5. net: a second VM (device set "net": two virtio-net-pci on one QEMU
#     hub, scripts/guest/bench-net): frames/s, 64 and 1500 bytes, kernel
#     virtio_net to kernel virtio_net (AF_PACKET, PACKET_QDISC_BYPASS),
#     kernel to uvirtio-net and uvirtio-net to kernel, with the uvirtio
#     side's doorbells and interrupts per frame.
#  6. out/bench/results.md (also on stdout), results.json, and a chart per
#     regime (results-REGIME.png) by scripts/bench-report.py;
#     scripts/bench-report.py --doc turns results.json into
#     Documentation/performance.rst.
#
# Environment:
#   UVIRTIO_BENCH_QUICK=1     smoke run: lazy only, 1 s runs, 1 repeat,
#                             no A/B, short ring and vhost-user runs
#   UVIRTIO_BENCH_SECS        each blk run (default 2; quick 1)
#   UVIRTIO_BENCH_REPEATS     repeats of every blk and ring run (default 3;
#                             the ring runs at least 9 times)
#   UVIRTIO_BENCH_REGIMES     IOMMU regimes (default "off lazy strict")
#   UVIRTIO_BENCH_AB_REGIMES  regimes with the interrupt A/B (default lazy)
#   UVIRTIO_BENCH_IRQ_OPTS    engine options of the fio-uvirtio-irq row,
#                             job-file lines separated by spaces, e.g.
#                             "uvirtio_spin_us=0" (default: none, the
#                             engine's defaults: follow, 20 us spin)
#   UVIRTIO_BENCH_RING_OPS    ring ops per run (default 1000000)
#   UVIRTIO_BENCH_VU_SECS     each vhost-user run (default 2)
#   UVIRTIO_BENCH_OUT         output directory (default out/bench)
#   UVIRTIO_BENCH_NET_FRAMES  frames per net run (default 10000; quick 2000)
#   UVIRTIO_BENCH_KVB_REGIMES regimes with the uvirtio.ko-vs-VFIO rows
#                             (default lazy; they need an IOMMU)
#   UVIRTIO_BENCH_KVB_MIB     the map/unmap buffer (default 1024; quick 128)
#   UVIRTIO_BENCH_KA_ROUNDS   keep-alive kills (default 15; quick 3)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

t0=$(date +%s)
if [ "${UVIRTIO_BENCH_QUICK:-0}" = 1 ]; then
	d_secs=1 d_reps=1 d_regimes=lazy d_ab='' d_ring=200000 d_vu=1 d_net=2000
	d_kvb_mib=128 d_ka=3
else
	d_secs=2 d_reps=3 d_regimes="off lazy strict" d_ab=lazy d_ring=1000000 d_vu=2
	d_net=10000 d_kvb_mib=1024 d_ka=15
fi
kvb_regimes=${UVIRTIO_BENCH_KVB_REGIMES-lazy}
kvb_mib=${UVIRTIO_BENCH_KVB_MIB:-$d_kvb_mib}
ka_rounds=${UVIRTIO_BENCH_KA_ROUNDS:-$d_ka}
secs=${UVIRTIO_BENCH_SECS:-$d_secs}
reps=${UVIRTIO_BENCH_REPEATS:-$d_reps}
regimes=${UVIRTIO_BENCH_REGIMES:-$d_regimes}
ab_regimes=${UVIRTIO_BENCH_AB_REGIMES-$d_ab}
irq_opts=${UVIRTIO_BENCH_IRQ_OPTS-}
ring_ops=${UVIRTIO_BENCH_RING_OPS:-$d_ring}
vusecs=${UVIRTIO_BENCH_VU_SECS:-$d_vu}
out=${UVIRTIO_BENCH_OUT:-$UV_OUT/bench}
mkdir -p "$out"
out=$(cd "$out" && pwd)
raw=$out/raw.log
: >"$raw"
echo "info secs=$secs repeats=$reps regimes=${regimes// /,} ring_ops=$ring_ops kvb_regimes=${kvb_regimes// /,} kvb_mib=$kvb_mib ka_rounds=$ka_rounds" >>"$raw"
# how busy the host was: the figures depend on it
echo "info host_cpus=$(nproc) host_load_start=$(cut -d' ' -f1 /proc/loadavg)" >>"$raw"

uv_log "checking dependencies"
scripts/deps.sh host >/dev/null
scripts/deps.sh vm >/dev/null
scripts/deps.sh stock >/dev/null
scripts/deps.sh bench >/dev/null

uv_log "building libuvirtio, the CLI, the fio engine and the benchmarks"
make -s -C userlib >/dev/null
make -s -C tools >/dev/null
make -s fio >/dev/null
make -s -C tools/bench OUTDIR="$out/build" >/dev/null
# the keep-alive handover is the selftest's killloop
make -s -C selftests/uvirtio KSRC="$(scripts/build-kernel.sh --src)" \
	OUTPUT="$UV_OUT/selftests" "$UV_OUT/selftests/uvirtio_keepalive" \
	>"$out/build/keepalive.log" 2>&1 ||
	{ cat "$out/build/keepalive.log" >&2; uv_die "uvirtio_keepalive does not build"; }

# Static binaries; fio is dynamic: its libraries and the loader go along.
bin=$out/vm/bin
rm -rf "$out/vm"
mkdir -p "$bin"
cp tools/build/uvirtio-static "$bin/uvirtio"
cp "$out/build/blkbench" "$bin/blkbench"
cp "$out/build/dmabench" "$bin/dmabench"
cp "$UV_OUT/selftests/uvirtio_keepalive" "$bin/uvirtio_keepalive"
scripts/bundle-dyn.sh "$out/vm/fio" fio

vmrc=0
for regime in $regimes; do
	vmargs=()
	case $regime in
	off)	vmargs=(-i off -M allow_unsafe_noiommu=1 -T 64) ;;
	lazy)	vmargs=(-i on) ;;
	strict)	vmargs=(-i strict) ;;
	*)	uv_die "unknown IOMMU regime '$regime' (off, lazy, strict)" ;;
	esac
	ab=0
	case " $ab_regimes " in *" $regime "*) ab=1 ;; esac
	kvb=0
	case " $kvb_regimes " in *" $regime "*) kvb=1 ;; esac
	# kmod vs VFIO: vfio-pci, and room for a 1 GiB buffer and 1 GiB of
	# 2 MiB pages
	[ $kvb = 1 ] && vmargs+=(-l "vfio_pci vfio_iommu_type1" -m 3G)
	uv_log "regime $regime: booting the VM (QEMU TCG, q35; ${secs}s x $reps repeats per run)"
	vmout=$out/vm-$regime
	set +e
	scripts/vm-run.sh -k stock "${vmargs[@]}" -d bench -o "$vmout" -t 1800 \
		-a "$bin:uvirtio/bin" -a "$out/vm/fio:uvirtio/fio" \
		-a "$UV_OUT/fio/uvirtio-fio.so:uvirtio/uvirtio-fio.so" \
		-e "UVIRTIO_BENCH_SECS=$secs" -e "UVIRTIO_BENCH_REPEATS=$reps" \
		-e "UVIRTIO_BENCH_AB=$ab" -e "UVIRTIO_BENCH_IRQ_OPTS=$irq_opts" \
		-e "UVIRTIO_BENCH_KVB=$kvb" -e "UVIRTIO_BENCH_KVB_MIB=$kvb_mib" \
		-e "UVIRTIO_BENCH_KA_ROUNDS=$ka_rounds" \
		-p scripts/guest/bench >"$vmout.log" 2>&1
	rc=$?
	set -e
	echo "regime $regime" >>"$raw"
	cat "$vmout.log" >>"$raw"
	echo "regime-end $regime rc=$rc" >>"$raw"
	grep -E '^(info|syscalls|kvbwake|kvbdma|kvbka) |^vm-run|^bench:' "$vmout.log" |
		cut -c1-200 || true
	grep -c '^fio-jobs ' "$vmout.log" | sed "s/^/fio processes: /" || true
	if [ $rc -ne 0 ]; then
		uv_log "regime $regime: VM run FAILED (rc $rc, logs in $vmout); tables will have gaps"
		vmrc=$rc
	fi
done

uv_log "net: uvirtio-net vs the kernel's virtio_net on a QEMU hub (second VM, ~1 minute)"
netbin=$out/vm/netbin
mkdir -p "$netbin"
cp tools/build/uvirtio-static "$netbin/uvirtio"
cp tools/build/pktio-static "$netbin/pktio"
netout=$UV_OUT/vm/bench-net
mkdir -p "$UV_OUT/vm"
set +e
scripts/vm-run.sh -k stock -i strict -d net -o "$netout" -t 600 \
	-a "$netbin:uvirtio/bin" \
	-e "UVIRTIO_BENCH_NET_FRAMES=${UVIRTIO_BENCH_NET_FRAMES:-$d_net}" \
	-p scripts/guest/bench-net >"$netout.log" 2>&1
netrc=$?
set -e
cat "$netout.log" >>"$raw"
grep -E '^netres |^vm-run' "$netout.log" | cut -c1-300 || true
[ $netrc -eq 0 ] || uv_log "net VM run FAILED (rc $netrc, logs in $netout); the net table will have gaps"

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
# At least 9 repeats for the ring: its figures swing most (the host moves
# the two vCPUs between placements that differ 3x in line-transfer cost,
# so a run is fast or slow), and a run costs well under a second.
ring_reps=$reps
[ "${UVIRTIO_BENCH_QUICK:-0}" = 1 ] || [ "$ring_reps" -ge 9 ] || ring_reps=9
uv_log "ring micro-benchmark on the host (${ring_ops} ops, $ring_reps repeats interleaved)"
for rep in $(seq "$ring_reps"); do
	for batch in 1 32; do
		# kick: uvirtq_kick() every batch (store, full fence, load of
		# the event index); publish: uvirtq_publish(), a notification
		# decision once per ring's worth only: like ringtest without
		# --sleep, whose guest never kicks.
		for kind in split packed split-publish packed-publish; do
			flag=
			case $kind in packed*) flag=--packed ;; esac
			case $kind in *-publish) flag="$flag --publish" ;; esac
			"$out/build/ringbench" $flag --ring-size 256 --batch $batch \
				--run-cycles "$ring_ops" --driver-cpu 1 --device-cpu 0 |
				tee -a "$raw" | sed -n 's/.*ns_per_op=\([0-9.]*\).*/\1/p' |
				sed "s/^/ringres libuvirtio-$kind $batch $rep /" >>"$raw"
		done
		[ -n "$rt" ] || continue
		for p in virtio_ring_0_9 ring; do
			s=$(date +%s%N)
			"$rt/ringtest/$p" --ring-size 256 --batch $batch \
				--run-cycles "$ring_ops" --host-affinity 0 \
				--guest-affinity 1 >/dev/null
			e=$(date +%s%N)
			awk -v d=$((e - s)) -v n="$ring_ops" -v p=$p -v b=$batch -v r=$rep \
				'BEGIN { printf "ringres ringtest-%s %s %s %.2f\n", p, b, r, d / n }' >>"$raw"
		done
	done
done

uv_log "vhost-user-blk on the host: libuvirtio vs qemu-storage-daemon null-co ($reps repeats)"
vu=$(mktemp -d)
qsd_pid=
if command -v qemu-storage-daemon >/dev/null; then
	qemu-storage-daemon --blockdev driver=null-co,node-name=n0,size=1073741824 \
		--export type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path="$vu/sock",writable=on,num-queues=1 \
		>"$vu/qsd.log" 2>&1 &
	qsd_pid=$!
	for _ in $(seq 50); do [ -S "$vu/sock" ] && break; sleep 0.1; done
fi
if [ -S "$vu/sock" ]; then
	for _ in $(seq "$reps"); do
		for mode in irq poll; do
			flag=
			[ $mode = poll ] && flag=--poll
			for rw in randread randwrite; do
				for qd in 1 32; do
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

echo "info host_load_end=$(cut -d' ' -f1 /proc/loadavg) total_secs=$(( $(date +%s) - t0 ))" >>"$raw"
uv_log "writing $out/results.{md,json} and the charts"
python3 scripts/bench-report.py "$raw" "$out"
uv_log "done in $(( $(date +%s) - t0 )) s (raw log $raw; scripts/bench-report.py --doc $out/results.json regenerates Documentation/performance.rst)"
[ $vmrc -eq 0 ] && [ $netrc -eq 0 ] || exit 1
