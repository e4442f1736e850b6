#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# libuvirtio's virtio-net driver as a vhost-user front-end against a real
# back-end, on the host, no VM: dpdk-testpmd with the vhost PMD
# (net_vhost0, one queue pair) in macswap forwarding, without hugepages
# (--no-huge: the front-end's memory is memfd-backed and shared anyway).
#
#  - info: what was negotiated (VERSION_1, MRG_RXBUF and IN_ORDER
#    expected: DPDK's vhost offers IN_ORDER, libuvirtio takes it), split
#    and packed; with --no-in-order IN_ORDER is not taken.  The feature
#    words of both sides are printed;
#  - "uvirtio net DEV pingpong": frames sent in windows of 32 must all come
#    back, MACs swapped, intact and in order: 64 and 1514 bytes, interrupt
#    and polling mode, split and packed ring, each in order (IN_ORDER
#    checked negotiated in the run's info), and split and packed once
#    with --no-in-order;
#  - the receive filter (--rx-mode, --mac-filter: the front-end's own
#    control queue, CTRL_VQ/CTRL_RX never passed to testpmd) with frames
#    still coming back, and --rx-mode nobcast refused (no CTRL_RX_EXTRA);
#  - testpmd killed with SIGKILL mid-run: the command fails within a bound
#    (never hangs) and says the back-end is gone;
#  - multiqueue (mq_tests): a second testpmd with queues=2, --rxq=2
#    --txq=2: MQ and CTRL_VQ negotiated, the control queue served by the
#    front-end (VQ_PAIRS_SET 2 -> SET_VRING_ENABLE of rings 2 and 3),
#    "pingpong --queue-pairs 2" with one thread per pair, every frame back
#    on the pair it was sent on (interrupts, polling, packed), and
#    testpmd's own per-queue counts at exit equal to what each pair sent;
#  - segmentation offload (gso_tests): "info --gso" against the first
#    testpmd (no tso=1: no HOST_TSO offered, but HOST_ECN is, which the
#    driver must drop: renegotiated without it) and "pingpong --gso"
#    refused; then a testpmd with tso=1: HOST_TSO4/6 and GUEST_TSO4/6
#    negotiated, TCP frames of up to 64000 bytes with a TSO header sent
#    and reflected whole by macswap (which drops the offload flags: they
#    come back without a GSO header), every byte checked, split and
#    packed; then testpmd's csum engine (--eth-peer set to our MAC) with
#    "tso set 1000 0": the frames come back whole, all bytes checked, as
#    GSO frames (TCPV4) with testpmd's MSS (gso_size 1000; we send 1460):
#    the vhost PMD does not segment, it hands the TSO request on.  The offered/negotiated
#    feature words of both sides are printed.
#
#   tools/test-vhost-user-net.sh      (after make tools; scripts/deps.sh net)
#
# testpmd busy-polls one core while it runs (-l 0,1): each run is short.
# Prints "vhost-user-net: N passed, M failed, K skipped"; exits non-zero
# if anything failed.  Skips (with the reason) if dpdk-testpmd or the
# vhost PMD is missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bin=${UVIRTIO:-$here/build/uvirtio}
pmd=$(command -v dpdk-testpmd || true)
pass=0
fail=0
skip=0
tmp=$(mktemp -d)
ppid_=

ok() { pass=$((pass + 1)); echo "ok   $1"; }
nok() { fail=$((fail + 1)); echo "FAIL $1"; }

stop_pmd() {
	if [ -n "$ppid_" ]; then
		kill "$ppid_" 2>/dev/null
		wait "$ppid_" 2>/dev/null
		ppid_=
	fi
}
trap 'stop_pmd; rm -rf "$tmp"' EXIT

finish() {
	echo "vhost-user-net: $pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
	exit $?
}

if [ -z "$pmd" ]; then
	echo "skip all: dpdk-testpmd not installed (scripts/deps.sh net: dpdk-dev, librte-net-vhost23)"
	skip=1
	finish
fi
if ! ls /usr/lib/*/dpdk/pmds-*/librte_net_vhost.so* >/dev/null 2>&1 &&
   ! ls /usr/lib/*/librte_net_vhost.so* >/dev/null 2>&1; then
	echo "skip all: the DPDK vhost PMD is not installed (librte-net-vhost23)"
	skip=1
	finish
fi
if [ ! -x "$bin" ]; then
	nok "missing $bin (run make tools)"
	finish
fi

sock=$tmp/vhost-net.sock
dev=vhost-user:$sock

# start_pmd: testpmd in macswap mode on $sock, stdin held open (it stops
# at end of input); wait for the socket.
start_pmd() {
	rm -f "$sock"
	mkfifo "$tmp/stdin" 2>/dev/null
	"$pmd" -l 0,1 --no-pci --no-huge -m 256 --file-prefix="uvnet$$" \
		--vdev "net_vhost0,iface=$sock,queues=1" -- \
		--forward-mode=macswap --port-topology=loop --auto-start \
		--total-num-mbufs=8192 <"$tmp/stdin" >>"$tmp/pmd.log" 2>&1 &
	ppid_=$!
	exec 9>"$tmp/stdin"	# the writer end keeps testpmd's stdin open
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ]
}

if ! start_pmd; then
	nok "dpdk-testpmd did not come up: $(tail -n 5 "$tmp/pmd.log")"
	finish
fi

# in_order_of FILE: the IN_ORDER bit of the "features:" line of FILE
in_order_of() {
	f=$(sed -n 's/^features: 0x//p' "$1")
	[ -n "$f" ] && echo $(( (0x$f >> 35) & 1 ))
}

# 1. info, split and packed, with and without IN_ORDER
for v in "" "--packed" "--no-in-order" "--packed --no-in-order"; do
	want=1
	case "$v" in *no-in-order*) want=0 ;; esac
	# shellcheck disable=SC2086
	if timeout 30 "$bin" net "$dev" info $v >"$tmp/info" 2>&1; then
		sed 's/^/  /' "$tmp/info"
		feat=$(sed -n 's/^features: 0x//p' "$tmp/info")
		echo "  testpmd negotiated: $(grep 'negotiated Virtio features' "$tmp/pmd.log" | tail -n 1 | sed 's/.*: //')"
		if [ $(( (0x$feat >> 32) & 1 )) = 1 ] &&
		   [ $(( (0x$feat >> 15) & 1 )) = 1 ] &&
		   [ "$(in_order_of "$tmp/info")" = $want ] &&
		   grep -q "^in order: $([ $want = 1 ] && echo yes || echo no)" "$tmp/info"; then
			ok "info ${v:-(split)}: features 0x$feat (VERSION_1, MRG_RXBUF, IN_ORDER $want)"
		else
			nok "info ${v:-(split)}: features 0x$feat: VERSION_1, MRG_RXBUF or IN_ORDER=$want missing"
		fi
	else
		nok "info $v: $(cat "$tmp/info")"
	fi
done

# 2. pingpong: sizes x modes; in order unless --no-in-order
for v in "64 1000" "1514 300" "64 1000 --poll" "1514 300 --poll" \
	 "64 1000 --packed" "1514 300 --packed --poll" \
	 "1514 300 --no-in-order" "64 1000 --packed --no-in-order"; do
	set -- $v
	s=$1 n=$2
	shift 2
	want=1
	case "$*" in *no-in-order*) want=0 ;; esac
	# -v prints the run's own "features:" line
	if timeout 60 "$bin" net "$dev" pingpong -n "$n" -s "$s" -t 50 -v "$@" \
		>"$tmp/pp" 2>&1 &&
	   grep -q "^pingpong: $n sent, $n back, bad 0, out of order 0" "$tmp/pp" &&
	   [ "$(in_order_of "$tmp/pp")" = $want ]; then
		ok "pingpong $s bytes x $n ${*:-(interrupts, split)}, IN_ORDER $want, $(grep '^features' "$tmp/pp")"
		sed -n 's/^stats: /  stats: /p' "$tmp/pp"
		if [ -z "$*" ] && ! grep -q 'rx_interrupts=[1-9]' "$tmp/pp"; then
			nok "pingpong in interrupt mode saw no RX interrupt"
		fi
	else
		nok "pingpong $s x $n $*: IN_ORDER wanted $want, $(grep '^features' "$tmp/pp"); $(tail -n 3 "$tmp/pp")"
	fi
done
if timeout 30 "$bin" net "$dev" info --packed 2>&1 | grep -q '^packed ring: yes'; then
	ok "packed ring negotiated with --packed"
else
	nok "packed ring not negotiated with --packed"
fi

# 2b. the receive filter with one pair: CTRL_VQ and CTRL_RX are the
# front-end's (testpmd never sees them), RX mode and MAC table are
# acknowledged, the frames still come back (the back-end does not filter)
if timeout 60 "$bin" net "$dev" pingpong -n 300 -s 64 -t 50 -v \
	--rx-mode allmulti --mac-filter 02:00:00:00:aa:01,01:00:5e:00:00:01 \
	>"$tmp/pp" 2>&1 &&
   grep -q "^pingpong: 300 sent, 300 back, bad 0, out of order 0" "$tmp/pp" &&
   timeout 30 "$bin" net "$dev" info --ctrl-rx >"$tmp/cinfo" 2>&1 &&
   grep -q '^rx filter: rx mode, mac table$' "$tmp/cinfo" &&
   grep -q '^mac address set: no$' "$tmp/cinfo"; then
	nf=$(grep 'negotiated Virtio features' "$tmp/pmd.log" | tail -n 1 | sed 's/.*: //')
	# CTRL_VQ is bit 17, CTRL_RX bit 18: never in testpmd's word
	if [ -n "$nf" ] && [ $(( ($nf >> 17) & 3 )) = 0 ]; then
		ok "receive filter: --rx-mode allmulti --mac-filter acknowledged, 300 frames back, testpmd negotiated $nf (no CTRL_VQ/CTRL_RX)"
	else
		nok "receive filter: testpmd negotiated '$nf' (CTRL_VQ or CTRL_RX passed on?)"
	fi
	# what the front-end does not serve is refused
	if timeout 30 "$bin" net "$dev" info --rx-mode nobcast >"$tmp/cinfo" 2>&1; then
		nok "receive filter: --rx-mode nobcast accepted without CTRL_RX_EXTRA"
	elif grep -q 'not supported by the device' "$tmp/cinfo"; then
		ok "receive filter: --rx-mode nobcast refused (no CTRL_RX_EXTRA)"
	else
		nok "receive filter: --rx-mode nobcast: $(cat "$tmp/cinfo")"
	fi
else
	nok "receive filter: $(tail -n 3 "$tmp/pp"); $(grep -E '^(rx filter|mac address)' "$tmp/cinfo" 2>/dev/null)"
fi

# 4. multiqueue against a testpmd of its own (queues=2), run after 3
mq_tests() {
	mq_sock=$tmp/vhost-net-mq.sock
	mq_dev=vhost-user:$mq_sock
	mq_log=$tmp/pmd-mq.log
	rm -f "$mq_sock" "$tmp/mq-stdin"
	mkfifo "$tmp/mq-stdin"
	"$pmd" -l 0,1 --no-pci --no-huge -m 256 --file-prefix="uvnetmq$$" \
		--vdev "net_vhost0,iface=$mq_sock,queues=2" -- \
		--forward-mode=macswap --port-topology=loop --auto-start \
		--rxq=2 --txq=2 --total-num-mbufs=8192 \
		<"$tmp/mq-stdin" >"$mq_log" 2>&1 &
	ppid_=$!
	exec 8>"$tmp/mq-stdin"	# a line on it makes testpmd print and exit
	i=0
	while [ ! -S "$mq_sock" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -S "$mq_sock" ]; then
		nok "mq: dpdk-testpmd (queues=2) did not come up: $(tail -n 5 "$mq_log")"
		stop_pmd
		return
	fi
	# info: 2 pairs, MQ (22) and CTRL_VQ (17) negotiated
	if timeout 30 "$bin" net "$mq_dev" info --queue-pairs 2 \
		>"$tmp/mq-info" 2>&1 &&
	   grep -q '^queue pairs: 2 of [0-9]* (control queue)' "$tmp/mq-info"; then
		feat=$(sed -n 's/^features: 0x//p' "$tmp/mq-info")
		if [ $(( (0x$feat >> 22) & 1 )) = 1 ] &&
		   [ $(( (0x$feat >> 17) & 1 )) = 1 ]; then
			ok "mq info: $(grep '^queue pairs' "$tmp/mq-info"), features 0x$feat (MQ, CTRL_VQ)"
		else
			nok "mq info: features 0x$feat lack MQ or CTRL_VQ"
		fi
		echo "  testpmd negotiated: $(grep 'negotiated Virtio features' "$mq_log" | tail -n 1 | sed 's/.*: //') (CTRL_VQ is the front-end's: not passed on)"
	else
		nok "mq info: $(tail -n 3 "$tmp/mq-info")"
	fi
	# VQ_PAIRS_SET turned the second pair's rings on
	if grep -q 'set queue enable: 1 to qp idx: 2' "$mq_log" &&
	   grep -q 'set queue enable: 1 to qp idx: 3' "$mq_log"; then
		ok "mq: VQ_PAIRS_SET 2 enabled rings 2 and 3 (SET_VRING_ENABLE)"
	else
		nok "mq: rings 2 and 3 were never enabled"
	fi
	q0=0 q1=0
	for v in "64 1000" "64 1000 --poll" "1514 300 --packed"; do
		set -- $v
		s=$1 n=$2
		shift 2
		if timeout 60 "$bin" net "$mq_dev" pingpong --queue-pairs 2 \
			-n "$n" -s "$s" -t 50 -v "$@" >"$tmp/mq-pp" 2>&1 &&
		   grep -q "^pair 0: $n sent, $n back, bad 0, out of order 0, wrong pair 0" "$tmp/mq-pp" &&
		   grep -q "^pair 1: $n sent, $n back, bad 0, out of order 0, wrong pair 0" "$tmp/mq-pp"; then
			ok "mq pingpong 2 pairs x $n x $s bytes ${*:-(interrupts, split)}"
			sed -n 's/^\(pair [01]\) stats: /  \1: /p' "$tmp/mq-pp"
			q0=$((q0 + n))
			q1=$((q1 + n))
		else
			nok "mq pingpong 2 pairs x $n x $s $*: $(tail -n 4 "$tmp/mq-pp")"
		fi
	done
	# testpmd's own count per queue: a line on stdin stops it
	echo >&8
	exec 8>&-
	i=0
	while kill -0 "$ppid_" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	stop_pmd
	for q in 0 1; do
		want=$q0
		[ $q = 1 ] && want=$q1
		got=$(grep -A1 "RX Port= 0/Queue= $q -> TX Port= 0/Queue= $q" "$mq_log" |
		      sed -n 's/.*RX-packets: *\([0-9]*\) *TX-packets: *\([0-9]*\).*/\1 \2/p')
		if [ "$got" = "$want $want" ]; then
			ok "mq: testpmd queue $q reflected $want of $want frames"
		else
			nok "mq: testpmd queue $q: RX/TX '${got:-none}', expected $want"
		fi
	done
}

# 5. segmentation offload: testpmd without tso=1 (the one running), then
# its own testpmd with tso=1, macswap and csum engines
# bit B of hex word W
bit() { echo $(( (0x$1 >> $2) & 1 )); }

gso_pmd() {	# gso_pmd LOGNAME DEVARGS ENGINE-ARGS...: testpmd on $gso_sock
	gso_log=$tmp/$1
	gso_args=$2
	shift 2
	rm -f "$gso_sock" "$tmp/gso-stdin"
	mkfifo "$tmp/gso-stdin"
	"$pmd" -l 0,1 --no-pci --no-huge -m 256 --file-prefix="uvnetgso$$" \
		--vdev "net_vhost0,iface=$gso_sock,queues=1$gso_args" -- \
		--port-topology=loop --auto-start --total-num-mbufs=16384 "$@" \
		<"$tmp/gso-stdin" >"$gso_log" 2>&1 &
	ppid_=$!
	exec 7>"$tmp/gso-stdin"
	i=0
	while [ ! -S "$gso_sock" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$gso_sock" ]
}

gso_pp() {	# gso_pp LABEL WANT-GSO-BACK ARGS...: pingpong --gso, checked
	label=$1
	want_gso=$2
	shift 2
	if timeout 60 "$bin" net "$gso_dev" pingpong --gso -t 30 -v "$@" \
		>"$tmp/gso-pp" 2>&1; then
		n=$(sed -n 's/^pingpong: \([0-9]*\) sent, \1 back, bad 0, out of order 0$/\1/p' "$tmp/gso-pp")
		g=$(sed -n 's/^gso back: \([0-9]*\) of .*/\1/p' "$tmp/gso-pp")
		good=0
		if [ "$want_gso" = all ]; then
			[ -n "$n" ] && [ "$g" = "$n" ] &&
			grep -q 'gso_type 1 gso_size 1000)$' "$tmp/gso-pp" && good=1
		else
			[ -n "$n" ] && [ "$g" = 0 ] && good=1
		fi
		if [ $good = 1 ]; then
			ok "gso pingpong $label: $n sent, $n back whole, every byte checked, $(sed -n 's/^gso back: //p' "$tmp/gso-pp")"
			sed -n 's/^stats: /  stats: /p' "$tmp/gso-pp"
			return
		fi
	fi
	nok "gso pingpong $label: $(grep -v '^features' "$tmp/gso-pp" | tail -n 4)"
}

gso_tests() {
	gso_sock=$sock
	gso_dev=$dev
	# the first testpmd (macswap, no tso=1) is still running
	if timeout 30 "$bin" net "$dev" info --gso >"$tmp/gso-info" 2>&1; then
		feat=$(sed -n 's/^features: 0x//p' "$tmp/gso-info")
		echo "  without tso=1: $(grep '^segmentation' "$tmp/gso-info"), features 0x$feat"
		echo "  testpmd negotiated (first and second try): $(grep 'negotiated Virtio features' "$tmp/pmd.log" | tail -n 2 | sed 's/.*: //' | tr '\n' ' ')"
		if [ "$(bit "$feat" 11)$(bit "$feat" 12)$(bit "$feat" 13)" = 000 ] &&
		   [ "$(bit "$feat" 7)" = 1 ]; then
			ok "gso info without tso=1: no HOST_TSO4/6, HOST_ECN dropped (its TSO not offered), GUEST_TSO4 taken"
		else
			nok "gso info without tso=1: features 0x$feat"
		fi
	else
		nok "gso info without tso=1: $(tail -n 2 "$tmp/gso-info")"
	fi
	if timeout 30 "$bin" net "$dev" pingpong --gso -n 4 -s 64000 \
		>"$tmp/gso-pp" 2>&1; then
		nok "gso pingpong without HOST_TSO was not refused"
	elif grep -q 'neither HOST_TSO4 nor HOST_TSO6' "$tmp/gso-pp"; then
		ok "gso pingpong without HOST_TSO refused: $(grep uvirtio: "$tmp/gso-pp")"
	else
		nok "gso pingpong without HOST_TSO: $(tail -n 2 "$tmp/gso-pp")"
	fi
	stop_pmd
	gso_sock=$tmp/vhost-net-gso.sock
	gso_dev=vhost-user:$gso_sock
	if ! gso_pmd pmd-gso.log ",tso=1" --forward-mode=macswap; then
		nok "gso: dpdk-testpmd (tso=1) did not come up: $(tail -n 5 "$gso_log")"
		stop_pmd
		return
	fi
	if timeout 30 "$bin" net "$gso_dev" info --gso >"$tmp/gso-info" 2>&1; then
		feat=$(sed -n 's/^features: 0x//p' "$tmp/gso-info")
		echo "  with tso=1: $(grep '^segmentation' "$tmp/gso-info"), features 0x$feat"
		echo "  testpmd negotiated: $(grep 'negotiated Virtio features' "$gso_log" | tail -n 1 | sed 's/.*: //')"
		if [ "$(bit "$feat" 11)$(bit "$feat" 12)$(bit "$feat" 13)$(bit "$feat" 7)$(bit "$feat" 8)" = 11111 ]; then
			ok "gso info with tso=1: HOST_TSO4, HOST_TSO6, HOST_ECN, GUEST_TSO4, GUEST_TSO6 negotiated"
		else
			nok "gso info with tso=1: features 0x$feat"
		fi
	else
		nok "gso info with tso=1: $(tail -n 2 "$tmp/gso-info")"
	fi
	if timeout 30 "$bin" net "$gso_dev" info >"$tmp/gso-info" 2>&1 &&
	   grep -q '^segmentation offload: tx no, rx no' "$tmp/gso-info"; then
		ok "gso with tso=1 but without --gso: nothing negotiated"
	else
		nok "gso without --gso: $(grep '^segm' "$tmp/gso-info")"
	fi
	gso_pp "64000 bytes x 200 (macswap, interrupts, split)" 0 -n 200 -s 64000
	gso_pp "64000 bytes x 200 (macswap, polling, packed)" 0 -n 200 -s 64000 --packed --poll
	gso_pp "9000 bytes x 300 (macswap)" 0 -n 300 -s 9000
	gso_pp "200 bytes x 300 (macswap)" 0 -n 300 -s 200
	stop_pmd
	# csum engine: rewrites the MACs (to --eth-peer and its own, the
	# vhost PMD's 56:48:4f:53:54:00) and keeps the mbuf's TSO request
	printf 'port stop 0\ntso set 1000 0\nport start 0\n' >"$tmp/gso-cmds"
	if ! gso_pmd pmd-gso-csum.log ",tso=1" --forward-mode=csum \
		--eth-peer=0,02:00:00:00:00:01 --cmdline-file="$tmp/gso-cmds"; then
		nok "gso: dpdk-testpmd (csum) did not come up: $(tail -n 5 "$gso_log")"
		stop_pmd
		return
	fi
	gso_pp "64000 bytes x 100 (csum engine, tso set 1000)" all -n 100 \
		-s 64000 --src 02:00:00:00:00:01 --dst 56:48:4f:53:54:00
	gso_pp "64000 bytes x 100 (csum engine, tso set 1000, packed)" all \
		-n 100 -s 64000 --packed --src 02:00:00:00:00:01 \
		--dst 56:48:4f:53:54:00
	stop_pmd
}

# 3. the back-end killed mid-run (after gso_tests' first part, which
# uses this testpmd and restarts it)
gso_tests
if ! start_pmd; then
	nok "dpdk-testpmd did not come back up: $(tail -n 5 "$tmp/pmd.log")"
	finish
fi
timeout 60 "$bin" net "$dev" pingpong -n 100000000 -s 64 -t 50 \
	>"$tmp/kill.out" 2>&1 &
cpid=$!
sleep 2
kill -9 "$ppid_"
wait "$ppid_" 2>/dev/null
ppid_=
t0=$(date +%s)
wait "$cpid"
rc=$?
dt=$(( $(date +%s) - t0 ))
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$dt" -le 15 ] &&
   grep -qi "not connected\|no such device\|I/O error\|gone" "$tmp/kill.out"; then
	ok "testpmd killed: failed in ${dt}s, exit $rc: $(grep uvirtio: "$tmp/kill.out" | head -n 1)"
else
	nok "testpmd killed: exit $rc after ${dt}s: $(tail -n 3 "$tmp/kill.out")"
fi
mq_tests
finish
