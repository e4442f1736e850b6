#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: set up what is missing, boot a QEMU VM (stock Debian 6.1
# kernel, intel-iommu), load uvirtio.ko, drive a virtio-blk disk from user
# space through /dev/uvirtio (write, flush, read back, verify, then a timed
# QD1 run), and put the figures next to the kernel's own virtio-blk driver
# on an identical disk in the same VM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

t0=$(date +%s)
uv_log "checking dependencies"
scripts/deps.sh host >/dev/null
scripts/deps.sh vm >/dev/null
scripts/deps.sh stock >/dev/null

uv_log "building libuvirtio, the uvirtio CLI, kblk and examples/blk_rw (static, for the VM)"
bin=$UV_OUT/demo/bin
mkdir -p "$bin" "$UV_OUT/vm"
# Quiet unless it fails (static libnl makes the linker chatty).
if ! { make -s -C userlib && make -s -C tools; } >"$UV_OUT/demo/build.log" 2>&1; then
	cat "$UV_OUT/demo/build.log" >&2
	uv_die "build failed"
fi
cp tools/build/uvirtio-static "$bin/uvirtio"
cp tools/build/kblk-static "$bin/kblk"
# The library's example program, as a user would build it.
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -Iuserlib/include \
	-Iuapi userlib/examples/blk_rw.c userlib/build/libuvirtio.a -static \
	-o "$bin/blk_rw"

uv_log "booting the VM (QEMU TCG, q35, intel-iommu; about a minute)"
out=$UV_OUT/vm/demo
set +e
scripts/vm-run.sh -k stock -i on -d demo -o "$out" -t 600 \
	-a "$bin:uvirtio/bin" -p scripts/guest/demo >"$out.log" 2>&1
rc=$?
set -e
grep -v '^result ' "$out.log" || true

echo
echo "## Figures (same VM, identical file-backed disks, 4 KiB, QD1, O_DIRECT for the kernel)"
python3 - "$out.log" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"result (\S+) (rand\w+) .*iops=(\d+) lat_us=([\d.]+)", line)
    if m:
        rows[(m.group(1), m.group(2))] = (int(m.group(3)), float(m.group(4)))
print(f"{'workload':<11} {'driver':<28} {'IOPS':>8} {'lat us':>8} {'vs kernel':>9}")
names = {"kernel": "kernel virtio-blk", "uvirtio": "uvirtio (interrupts)",
         "uvirtio-poll": "uvirtio (polling)"}
for w in ("randwrite", "randread"):
    k = rows.get(("kernel", w))
    for d in ("kernel", "uvirtio", "uvirtio-poll"):
        if (d, w) not in rows:
            continue
        iops, lat = rows[(d, w)]
        ratio = f"{iops / k[0]:.2f}x" if k and k[0] else "-"
        print(f"{w:<11} {names[d]:<28} {iops:>8} {lat:>8.1f} {ratio:>9}")
ok = [l for l in open(sys.argv[1]) if l.startswith("result ") and " verify " in l]
for l in ok:
    print(l.strip())
PY
echo
if [ $rc -ne 0 ]; then
	echo "demo: FAILED (logs in $out)" >&2
	exit 1
fi
echo "demo: done in $(( $(date +%s) - t0 )) s; console and results logs in $out"
