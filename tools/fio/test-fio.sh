#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The fio ioengine (out/fio/uvirtio-fio.so) under Debian's own fio, on the
# host, against qemu-storage-daemon's vhost-user-blk export of a file:
#  - random writes verified with crc32c, interrupt and polling, queue 0
#    and queue 1 of a two-queue export, with trims;
#  - a verify pass over data corrupted behind the engine's back must fail;
#  - a job without uvirtio_dev fails with a message naming it.
#
#   tools/fio/test-fio.sh         (after make -C tools/fio)
#
# Prints "fio-engine: N passed, M failed, K skipped"; exits non-zero if
# anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
engine=${ENGINE:-${UVIRTIO_OUT:-$top/out}/fio/uvirtio-fio.so}
pass=0
fail=0
skip=0
tmp=$(mktemp -d)
qpid=

ok() { pass=$((pass + 1)); echo "ok   $1"; }
nok() { fail=$((fail + 1)); echo "FAIL $1"; }
finish() {
	echo "fio-engine: $pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit $?
}
stop_qsd() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	qpid=
}
trap 'stop_qsd; rm -rf "$tmp"' EXIT

for t in fio qemu-storage-daemon; do
	if ! command -v $t >/dev/null; then
		echo "skip all: $t not installed"
		skip=1
		finish
	fi
done
[ -f "$engine" ] || { nok "no engine at $engine (make -C tools/fio)"; finish; }

cd "$tmp"	# fio leaves its verify state files in the current directory
sock=$tmp/blk.sock
disk=$tmp/disk.img
truncate -s 64M "$disk"
qemu-storage-daemon --blockdev driver=file,node-name=f0,filename="$disk" \
	--blockdev driver=raw,node-name=d0,file=f0 \
	--export type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path="$sock",writable=on,num-queues=2 \
	>"$tmp/qsd.log" 2>&1 &
qpid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { nok "qemu-storage-daemon: $(tail -n 3 "$tmp/qsd.log")"; finish; }

# run_fio NAME WANT_RC FIO-ARGS...: fio with the engine on the export
run_fio() {
	name=$1 want=$2
	shift 2
	fio --ioengine=external:"$engine" --name=job --output-format=normal \
		"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then
		return 0
	fi
	nok "$name: rc $got, want $want: $(grep -E 'uvirtio|error|verify' "$tmp/out" | head -n 5)"
	return 1
}

dev="--uvirtio_dev=vhost-user:$sock"
common="--bs=4k --size=16M --iodepth=16 --rw=randwrite --verify=crc32c --do_verify=1"
for mode in 0 1; do
	for q in 0 1; do
		# shellcheck disable=SC2086
		if run_fio "verify poll=$mode queue=$q" 0 $dev $common \
			--uvirtio_poll=$mode --uvirtio_queue=$q --offset=$((q * 16))M; then
			if grep -q 'err= 0' "$tmp/out" &&
			   grep -Eq 'READ: bw=.*io=16\.0MiB' "$tmp/out"; then
				ok "randwrite + crc32c verify, poll=$mode, queue $q: $(grep -o 'IOPS=[^,]*' "$tmp/out" | tr '\n' ' ')"
			else
				nok "verify poll=$mode queue=$q: $(grep -E 'err=|READ:' "$tmp/out" | head -n 3)"
			fi
		fi
	done
done

# trims (discard) and flushes (fsync=) go through too
# shellcheck disable=SC2086
if run_fio "randtrim" 0 $dev --rw=randtrim --bs=64k --size=4M --iodepth=4 &&
   grep -q 'err= 0' "$tmp/out"; then
	ok "randtrim (discard)"
fi
# shellcheck disable=SC2086
if run_fio "fsync" 0 $dev --rw=write --bs=64k --size=4M --fsync=4 &&
   grep -q 'err= 0' "$tmp/out"; then
	ok "sequential write with fsync=4 (flush)"
fi

# corrupt one block behind the engine's back: the verify pass must fail
# shellcheck disable=SC2086
run_fio "write for the corruption test" 0 $dev --rw=write --bs=4k --size=1M \
	--offset=40M --verify=crc32c --do_verify=0 --verify_state_save=0 &&
printf 'corrupted-by-the-test' | dd of="$disk" bs=1 seek=$((40 * 1048576 + 8192 + 100)) conv=notrunc 2>/dev/null &&
# shellcheck disable=SC2086
if run_fio "verify of corrupted data" 1 $dev --rw=read --bs=4k --size=1M \
	--offset=40M --verify=crc32c --verify_only=1 --verify_state_load=0; then
	if grep -qi 'verify.*bad\|bad.*crc32c\|crc32c: verify failed' "$tmp/out"; then
		ok "corrupted block: verify fails ($(grep -i -m1 'verify' "$tmp/out" | cut -c1-100))"
	else
		nok "corrupted block: rc 1 but no verify message: $(head -c 300 "$tmp/out")"
	fi
fi

# no device: a clear message, no crash
if run_fio "no uvirtio_dev" 1 --rw=read --bs=4k --size=1M; then
	if grep -q 'uvirtio_dev=DEVICE is required' "$tmp/out"; then
		ok "missing uvirtio_dev: named in the error"
	else
		nok "missing uvirtio_dev: $(head -c 300 "$tmp/out")"
	fi
fi
# a queue the device does not have
# shellcheck disable=SC2086
if run_fio "queue 5 of 2" 1 $dev --rw=read --bs=4k --size=1M --uvirtio_queue=5; then
	if grep -q 'no queue 5' "$tmp/out"; then
		ok "queue beyond the device's: named in the error"
	else
		nok "queue beyond: $(head -c 300 "$tmp/out")"
	fi
fi
stop_qsd
finish
