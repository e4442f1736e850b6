#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# libuvirtio as a vhost-user front-end against a real back-end, on the
# host, no VM: qemu-storage-daemon's vhost-user-blk export of a file.
#
#  - the in-VM test matrix (vm_test) with 1 and 2 queues, interrupt and
#    polling: random writes, re-read, flush, re-open, GET_ID;
#  - the CLI: info, verify, write from a file and read back, with the
#    bytes checked in the backing file from the host;
#  - the daemon killed with SIGKILL mid-I/O (interrupt and polling): the
#    command fails with "not connected" within a bound, never hangs;
#    a new daemon on the same socket is usable again at once.
#
#   tools/test-vhost-user.sh      (after make tools selftests)
#
# Prints "vhost-user-peer: N passed, M failed, K skipped"; exits non-zero
# if anything failed.  Skips (with the reason) if qemu-storage-daemon is
# missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
bin=${UVIRTIO:-$here/build/uvirtio}
vmtest=${VM_TEST:-$top/out/selftests/libuvirtio_vm_test}
qsd=$(command -v qemu-storage-daemon || true)
pass=0
fail=0
skip=0
tmp=$(mktemp -d)
qpid=

ok() { pass=$((pass + 1)); echo "ok   $1"; }
nok() { fail=$((fail + 1)); echo "FAIL $1"; }

stop_qsd() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
		qpid=
	fi
}
trap 'stop_qsd; rm -rf "$tmp"' EXIT

finish() {
	echo "vhost-user-peer: $pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit $?
}

if [ -z "$qsd" ]; then
	echo "skip all: qemu-storage-daemon not installed (package qemu-system-common)"
	skip=1
	finish
fi
for f in "$bin" "$vmtest"; do
	if [ ! -x "$f" ]; then
		nok "missing $f (run make tools selftests)"
		finish
	fi
done

sock=$tmp/vhost-user-blk.sock
disk=$tmp/disk.img

# start_qsd QUEUES: export $disk on $sock; wait for the socket.
start_qsd() {
	rm -f "$sock"
	"$qsd" --blockdev driver=file,node-name=f0,filename="$disk" \
		--blockdev driver=raw,node-name=d0,file=f0 \
		--export type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path="$sock",writable=on,num-queues="$1" \
		>>"$tmp/qsd.log" 2>&1 &
	qpid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ]
}

truncate -s 64M "$disk"

# --- the matrix, 1 and 2 queues ---------------------------------------
for nq in 1 2; do
	if ! start_qsd $nq; then
		nok "qemu-storage-daemon did not start ($(tail -n 3 "$tmp/qsd.log"))"
		finish
	fi
	mq=
	[ $nq -gt 1 ] && mq=",mq=$nq"
	# GET_ID: the daemon's id is "vhost_user_blk" plus stale bytes
	UVIRTIO_VM_TEST_TIMEOUT=120 "$vmtest" \
		"vhost-user:$sock=blk$mq,serial=vhost_user_blk" >"$tmp/ktap" 2>&1
	rc=$?
	n_ok=$(grep -c '^ok ' "$tmp/ktap")
	n_bad=$(grep -c '^not ok ' "$tmp/ktap")
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tmp/ktap")
	if [ "$rc" = 0 ] && [ "$n_bad" = 0 ] && [ "$n_ok" = "$planned" ]; then
		ok "vm_test matrix, $nq queue(s): $n_ok of $planned"
	else
		nok "vm_test matrix, $nq queue(s): rc $rc, $n_bad failed, $n_ok of $planned ok"
		sed 's/^/    /' "$tmp/ktap" | grep -v '^    ok ' | head -n 20
	fi
	stop_qsd
done

# --- the CLI, bytes checked in the backing file -----------------------
start_qsd 1 || { nok "qemu-storage-daemon restart"; finish; }
dev=vhost-user:$sock
if "$bin" blk "$dev" info >"$tmp/out" 2>&1 &&
   grep -q 'capacity: *67108864 bytes' "$tmp/out"; then
	ok "blk info: capacity from GET_CONFIG"
else
	nok "blk info: $(head -c 300 "$tmp/out")"
fi
if "$bin" info "$dev" --type blk >"$tmp/out" 2>&1 &&
   grep -q 'over vhost-user' "$tmp/out" && grep -q 'protocol:' "$tmp/out"; then
	ok "info --type blk: transport and protocol features"
	# everything the library implements is asked for: IN_ORDER (bit 35)
	# shows iff the daemon offers it (qemu-storage-daemon 7.2 does not)
	f=$(sed -n 's/.*features negotiated: 0x//p' "$tmp/out")
	echo "  negotiated 0x$f; IN_ORDER offered and taken: $(( (0x${f:-0} >> 35) & 1 ))"
else
	nok "info --type blk: $(head -c 300 "$tmp/out")"
fi
"$bin" info "$dev" >"$tmp/out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q 'give --type' "$tmp/out"; then
	ok "info without --type: usage error naming the fix"
else
	nok "info without --type: rc $rc, $(head -c 200 "$tmp/out")"
fi
if "$bin" blk "$dev" verify -s 4 >"$tmp/out" 2>&1 &&
   grep -q 'ok$' "$tmp/out"; then
	ok "blk verify 4 MiB"
else
	nok "blk verify: $(head -c 300 "$tmp/out")"
fi
head -c 1048576 /dev/urandom >"$tmp/pattern"
off=$((8 * 1048576))
if "$bin" blk "$dev" write $off -i "$tmp/pattern" >"$tmp/out" 2>&1 &&
   dd if="$disk" of="$tmp/pattern.disk" bs=1M skip=8 count=1 2>/dev/null &&
   cmp -s "$tmp/pattern" "$tmp/pattern.disk"; then
	ok "blk write: the bytes are in the backing file"
else
	nok "blk write: $(head -c 300 "$tmp/out"); backing file differs"
fi
if "$bin" blk "$dev" read $off 1048576 -o "$tmp/back" >"$tmp/out" 2>&1 &&
   cmp -s "$tmp/pattern" "$tmp/back"; then
	ok "blk read: reads back what the file holds"
else
	nok "blk read: $(head -c 300 "$tmp/out")"
fi

# --- the daemon dies mid-I/O ------------------------------------------
for mode in irq poll; do
	flag=
	[ $mode = poll ] && flag=--poll
	"$bin" blk "$dev" randrw -n 100000000 -s 16 $flag >"$tmp/rr.out" 2>&1 &
	rpid=$!
	sleep 2
	kill -9 "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=
	# bounded: the command must notice within 15 s
	i=0
	while kill -0 "$rpid" 2>/dev/null && [ $i -lt 150 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$rpid" 2>/dev/null; then
		kill -9 "$rpid"
		wait "$rpid" 2>/dev/null
		nok "daemon killed mid-I/O ($mode): the command hung"
	else
		wait "$rpid"
		rc=$?
		if [ $rc != 0 ] && grep -qi 'not connected' "$tmp/rr.out"; then
			ok "daemon killed mid-I/O ($mode): rc $rc after $((i / 10)).$((i % 10)) s, '$(grep -i 'not connected' "$tmp/rr.out" | head -n 1)'"
		else
			nok "daemon killed mid-I/O ($mode): rc $rc, $(tail -c 300 "$tmp/rr.out")"
		fi
	fi
	# reconnect: a new daemon on the same socket works at once
	if start_qsd 1 && "$bin" blk "$dev" verify -s 1 >"$tmp/out" 2>&1; then
		ok "reconnect after the kill ($mode)"
	else
		nok "reconnect after the kill ($mode): $(head -c 300 "$tmp/out")"
	fi
done
stop_qsd

# --- nobody listening -------------------------------------------------
"$bin" blk "vhost-user:$tmp/nobody.sock" info >"$tmp/out" 2>&1
rc=$?
if [ $rc = 4 ] && grep -q 'no vhost-user back-end listening' "$tmp/out"; then
	ok "no back-end: exit 4, says so"
else
	nok "no back-end: rc $rc, $(head -c 200 "$tmp/out")"
fi
finish
