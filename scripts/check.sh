#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test uvirtio has, ending in one line
# "N passed, N failed, N skipped"; exits non-zero on any failure.
#
# Stages (UVIRTIO_STAGES picks a subset, e.g. "host lint vm-stock"):
#   deps       install missing Debian packages
#   host       libuvirtio unit tests under ASan/UBSan (the net driver's
#              against a lying vhost-user net back-end too, and net
#              multiqueue with the front-end's control queue against a
#              DPDK-shaped one, and the RX mode and MAC filter calls on
#              that control queue; every allocation of a device's open
#              failing in turn; the kmod backend against a fake
#              /dev/uvirtio, the VFIO backend against a fake kernel), the
#              net driver against dpdk-testpmd over vhost-user (one and
#              two queue pairs), examples, tools,
#              CLI and install tests, bounded libFuzzer runs; prints
#              "userlib line coverage: N%" (make -C userlib coverage)
#   lint       module builds with W=1 and sparse (C=2) against Debian's 6.1
#              and 6.12 headers, checkpatch --strict, kernel-doc, the
#              library's symbol map (make -C userlib check-map), make docs
#   kernel     build (or reuse) the debug test kernel
#   vm-debug   KUnit + selftests on the debug kernel, with and without
#              intel-iommu (in the kernel's default lazy IOTLB mode), with
#              the full health check; and libuvirtio's vhost-vdpa transport
#              on vdpa_sim_blk (uvirtio_vdpa, about a minute); the first
#              two with a gcov-built uvirtio.ko (vm-run.sh -G); the end of
#              the run prints "kmod line coverage: N%" over every such VM
#   vm-stock   selftests on Debian's stock 6.1 kernel, with and without
#              intel-iommu (lazy, Debian's default); the intel-iommu run
#              with gcov builds of libuvirtio_vm_test, uvirtio_keepalive
#              and the CLI (make
#              vm-test-cov, vm-run.sh -U), counted in the library's line
#              coverage
#   vm-vduse   libuvirtio's vhost-vdpa transport on a VDUSE device
#              (qemu-storage-daemon's vduse-blk export) in Debian's stock
#              6.12 kernel: uvirtio_vdpa with UVIRTIO_VDPA_BACKEND=vduse,
#              no uvirtio.ko (fetches the image: scripts/deps.sh stock612)
#   vm-contain the DMA-containment selftest (uvirtio_containment) on the
#              contain device set, one stock 6.1 VM per IOMMU setup: lazy,
#              iommu.strict=1, iommu=pt, no interrupt remapping (taints:
#              allow_unsafe_interrupts), no IOMMU (taints:
#              allow_unsafe_noiommu), and lazy under kernel lockdown; plus
#              a lazy run on the debug kernel when it is built
#   vm-mmio    virtio-mmio on QEMU microvm (scripts/guest/mmio-tests):
#              version 2 and legacy version 1, on the debug kernel (with a
#              gcov-built module, counted in the coverage) and on stock
#              6.1; taints: allow_unsafe_noiommu
#   vm-irq     interrupts the way the device offers them: INTx only
#              (vectors=0, modern and legacy ISR) and shared MSI-X vectors
#              (num-queues=4, vectors=2) through vm_test and the CLI, and
#              the virtio-console driver against host-side sockets
#              (scripts/guest/irq-tests, scripts/console-host.py): a
#              stock 6.1 VM without an IOMMU (transitional devices, legacy
#              ISR too; taints: allow_unsafe_noiommu) and one with
#              intel-iommu, where the INTx device also runs through VFIO;
#              plus one on the debug kernel when it is built (lockdep,
#              KASAN; and MSI-X made to fail: the fallback to INTx); the
#              run without an IOMMU with gcov builds of vm_test and the CLI,
#              counted in the library's line coverage
#   vm-vfio    libuvirtio's VFIO backend (vfio:BDF) without uvirtio.ko:
#              vm_test, the CLI, busy and non-viable groups, a device
#              without ACCESS_PLATFORM (scripts/guest/vfio-tests), on the
#              contain device set with intel-iommu: one stock 6.1 VM, and
#              one debug 6.12 VM when that kernel is built; plus a debug VM
#              without IOMMU where VFIO's no-IOMMU group must be refused;
#              the stock and debug runs with gcov builds of the in-VM
#              programs (as vm-stock's), counted in the library's line
#              coverage (the debug one: the VFIO cdev and iommufd paths)
#   vm-net     libuvirtio's virtio-net driver against the kernel's
#              virtio_net, two functions on one QEMU hub
#              (scripts/guest/net-tests): frames both ways, counted and
#              checked, macswap (interrupts and polling), RX starvation,
#              the receive filter (RX mode, MAC table, MAC address: what
#              QEMU delivers under each); on
#              stock 6.1 and stock 6.12, both with intel-iommu (the debug
#              kernel has no AF_PACKET for the kernel side); and the driver
#              over vhost-vdpa on vdpa_sim_net in the debug kernel
#              (scripts/guest/vdpa-net-tests); net-stock-on with the
#              gcov-built CLI, counted in the library's line coverage
#   docs       every command Documentation/testing.rst shows, run as
#              written (scripts/test-docs.py; about ten minutes)
#   bench      `make bench` as a smoke run (UVIRTIO_BENCH_QUICK=1: lazy
#              only, 1 s per run, about 3 minutes): every fio, blkbench and
#              ring row is measured, the uvirtio.ko-vs-VFIO rows (fio,
#              wake-up latency, a 128 MiB map and unmap) and the keep-alive
#              handover too, and polling makes no syscall
#              (scripts/bench-report.py --check); figures are not judged
#   harness    the harness checks itself: a canary module WARNs, leaks a
#              page pin, and fails a KUnit case; each must turn a run red
#
# The end of the run prints "userlib line coverage: N%": the host unit
# tests (make -C userlib coverage) merged with the gcov-built in-VM
# programs' runs of vm-stock, vm-irq, vm-vfio and vm-net, naming each run
# it counted.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

stages=${UVIRTIO_STAGES:-deps host deb lint kernel vm-debug vm-stock vm-vduse vm-contain vm-mmio vm-irq vm-vfio vm-net docs bench harness}
log_dir=$UV_OUT/check
mkdir -p "$log_dir"
pass=0 fail=0 skip=0
failed=() timings=() vm_outs=() gcov_runs=() ugcov_runs=()

want() { case " $stages " in *" $1 "*) return 0 ;; esac; return 1; }

# result NAME pass|fail|skip [why]
result() {
	case $2 in
	pass) pass=$((pass + 1)); echo "  ok    $1" ;;
	skip) skip=$((skip + 1)); echo "  skip  $1: ${3:-}" ;;
	*) fail=$((fail + 1)); failed+=("$1${3:+: $3}"); echo "  FAIL  $1${3:+: $3}" ;;
	esac
}

# uv_join: stdin's lines on one line, " | " between them.
uv_join() { awk 'NR > 1 { printf " | " } { printf "%s", $0 }'; }

# add_counts NAME PASSED FAILED SKIPPED [WHAT]: WHAT names the failed
# cases in the summary, so that the last lines of a run say which.
add_counts() {
	pass=$((pass + $2)) fail=$((fail + $3)) skip=$((skip + $4))
	[ "$3" = 0 ] || failed+=("$1 ($3)${5:+: $5}")
}

stage_start() {
	stage_name=$1
	stage_t0=$(date +%s)
	echo
	echo "=== $1 ($(date +%H:%M:%S))"
}
stage_end() {
	local t=$(( $(date +%s) - stage_t0 ))
	timings+=("$(printf '%-10s %5d s' "$stage_name" "$t")")
	echo "=== $stage_name done in ${t}s"
}

# run_logged NAME CMD...: run a command, keep its output in a log file,
# print the tail on failure.
run_logged() {
	local name=$1 log=$log_dir/$1.log
	shift
	if "$@" >"$log" 2>&1; then
		return 0
	fi
	echo "  --- last lines of $log:"
	tail -n 40 "$log" | sed 's/^/  | /'
	return 1
}

# count_line NAME LOGNAME CMD...: a test program that ends with
# "<NAME>: N passed, M failed[, K skipped]".
count_line() {
	local name=$1 logname=$2 line
	shift 2
	run_logged "$logname" "$@"
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log_dir/$logname.log" | tail -n 1)
	if [ -z "$line" ]; then
		result "$logname" fail "no result line"
		return
	fi
	set -- $(echo "$line" | sed -E 's/^[^:]*: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
	echo "  $name: $1 passed, $2 failed, ${3:-0} skipped"
	add_counts "$name" "$1" "$2" "${3:-0}" \
		"$(sed -n 's/^FAIL \(.\{1,160\}\).*/\1/p' "$log_dir/$logname.log" | head -n 4 | uv_join)"
}

# coverage_report NAME CMD...: run a coverage report (scripts/coverage.py)
# and print its per-file table and its "... line coverage: N%" line.  A
# coverage figure is not a test: only a report that cannot be made counts
# (as a failure).
coverage_report() {
	local name=$1 log=$log_dir/$1.log
	shift
	"$@" >"$log" 2>&1
	if grep -q ' line coverage: ' "$log"; then
		grep '^run: ' "$log" | sed "s|$UV_TOP/||; s/^/  /"
		grep -E '^  [^ ]+ +[0-9]+/ *[0-9]+ ' "$log"
		grep ' line coverage: ' "$log" | tail -n 1 | sed 's/^/  /'
	else
		result "$name" fail "no coverage report (see $log)"
		tail -n 20 "$log" | sed 's/^/  | /'
	fi
}

t_all=$(date +%s)

if want deps; then
	stage_start deps
	if run_logged deps scripts/deps.sh all; then
		result deps pass
	else
		result deps fail "package installation failed"
	fi
	stage_end
fi

if want host; then
	stage_start host
	if run_logged build-examples make -C userlib examples; then
		result build-examples pass
	else
		result build-examples fail
	fi
	if run_logged build-tools make tools; then
		result build-tools pass
	else
		result build-tools fail
	fi
	count_line userlib userlib-test make --no-print-directory -C userlib test-main
	count_line vhost-user vhost-user-unit make --no-print-directory -C userlib \
		test-vhost-user
	count_line vhost-vdpa vhost-vdpa-unit make --no-print-directory -C userlib \
		test-vhost-vdpa
	count_line mmio mmio-unit make --no-print-directory -C userlib \
		test-mmio
	count_line vfio vfio-unit make --no-print-directory -C userlib test-vfio
	count_line console console-unit make --no-print-directory -C userlib \
		test-console
	count_line console-errors console-errors-unit make --no-print-directory \
		-C userlib test-console-errors
	count_line net net-unit make --no-print-directory -C userlib test-net
	count_line net-mq net-mq-unit make --no-print-directory -C userlib \
		test-net-mq
	count_line net-gso net-gso-unit make --no-print-directory -C userlib \
		test-net-gso
	count_line net-ctrl net-ctrl-unit make --no-print-directory -C userlib \
		test-net-ctrl
	count_line net-errors net-errors-unit make --no-print-directory -C userlib \
		test-net-errors
	count_line alloc alloc-unit make --no-print-directory -C userlib test-alloc
	count_line kmod kmod-unit make --no-print-directory -C userlib test-kmod
	count_line vfio-kernel vfio-kernel-unit make --no-print-directory \
		-C userlib test-vfio-kernel
	# the same host tests with gcov instead of the sanitizers (the host
	# share; the figure merged with the VM runs is printed at the end)
	coverage_report userlib-coverage-host make --no-print-directory -C userlib \
		coverage COV_NAME='userlib (host unit tests only)'
	count_line cli cli-test tools/test-cli.sh
	# the fio ioengine under Debian's fio, against qemu-storage-daemon
	if run_logged build-fio-engine make fio; then
		count_line fio-engine fio-engine tools/fio/test-fio.sh
	else
		result build-fio-engine fail
	fi
	# vhost-user against qemu-storage-daemon, on the host
	if run_logged build-vm-test make vm-test; then
		count_line vhost-user-peer vhost-user-peer tools/test-vhost-user.sh
	else
		result build-vm-test fail
	fi
	# virtio-net over vhost-user against dpdk-testpmd (macswap), on the host
	count_line vhost-user-net vhost-user-net tools/test-vhost-user-net.sh
	count_line install-test install-test scripts/test-install.sh
	# The malicious-device fuzzers, bounded (UVIRTIO_SOAK=1: 1e7
	# executions each, about an hour per target on this kind of machine).
	if [ "${UVIRTIO_SOAK:-0}" = 1 ]; then
		count_line fuzz fuzz-check make --no-print-directory -C userlib \
			fuzz-check FUZZ_TIME=0 FUZZ_RUNS=10000000
	else
		# A fixed seed and run count: the bounded run is the same
		# sequence of inputs every time; make soak explores new ones.
		count_line fuzz fuzz-check make --no-print-directory -C userlib \
			fuzz-check FUZZ_SEED=1 FUZZ_TIME=0 FUZZ_RUNS=60000
	fi
	stage_end
fi

if want deb; then
	stage_start deb
	# make deb from a clean copy; lintian, install, DKMS for both
	# kernels, a program against the -dev package, purge (test-deb.sh);
	# then the module DKMS built for 6.1 in a stock VM.
	if run_logged deb-build scripts/deb.sh; then
		result make-deb pass
		count_line deb-test deb-test scripts/test-deb.sh
		ko=$UV_OUT/deb/uvirtio-dkms-$(uv_stock_kver).ko
		if [ -f "$ko" ]; then
			if run_logged vm-dkms scripts/vm-run.sh -k stock -i on -d demo \
				-K "$ko" -t 400 -o "$UV_OUT/vm/dkms" \
				-a "$UV_TOP/tools/build/uvirtio-static:uvirtio/bin/uvirtio" \
				-c 'set -e; export PATH=/uvirtio/bin:$PATH
				    [ "$(cat /sys/module/uvirtio/version)" = '"$(cat VERSION)"' ]
				    uvirtio bind 00:06.0; uvirtio list
				    uvirtio blk 00:06.0 verify -s 4; uvirtio unbind 00:06.0'; then
				result "DKMS-built module in a stock VM: list, blk verify" pass
			else
				result "DKMS-built module in a stock VM: list, blk verify" fail
			fi
		else
			result "DKMS-built module in a stock VM" fail "no $ko"
		fi
	else
		result make-deb fail "dpkg-buildpackage failed"
	fi
	stage_end
fi

if want lint; then
	stage_start lint
	ksrc=$(scripts/build-kernel.sh --src)
	for kver in "$(uv_stock_kver)" "$(uv_src612_kver)"; do
		kd=/usr/src/linux-headers-$kver
		if [ ! -f "$kd/Makefile" ]; then
			result "module-build-$kver" fail "no headers at $kd"
			continue
		fi
		if UVIRTIO_WERROR=1 run_logged "module-w1-$kver" \
			scripts/build-module.sh "$kd" "$UV_OUT/lint/w1-$kver" W=1; then
			result "module W=1 $kver" pass
		else
			result "module W=1 $kver" fail "warnings or errors"
		fi
		if UVIRTIO_WERROR=1 run_logged "module-sparse-$kver" \
			scripts/build-module.sh "$kd" "$UV_OUT/lint/sparse-$kver" C=2; then
			result "module sparse (C=2) $kver" pass
		else
			result "module sparse (C=2) $kver" fail "sparse warnings"
		fi
	done
	ksrcs=$(ls kmod/*.[ch] uapi/linux/*.h 2>/dev/null)
	# checkpatch skips BIT_MACRO for include/uapi/ only; BIT() does not
	# exist for user space, so the UAPI header is checked without it.
	cp_args=(--no-tree --strict --terse --show-types)
	if run_logged checkpatch sh -c '
		perl "$0/scripts/checkpatch.pl" "$@" -f kmod/*.[ch] scripts/canary/*.c &&
		perl "$0/scripts/checkpatch.pl" "$@" --ignore BIT_MACRO -f uapi/linux/*.h' \
		"$ksrc" "${cp_args[@]}"; then
		result "checkpatch --strict" pass
	else
		result "checkpatch --strict" fail "$(grep -c ': [A-Z]*:' "$log_dir/checkpatch.log") findings"
	fi
	if run_logged kernel-doc perl "$ksrc/scripts/kernel-doc" -none -Wall \
		-Werror $ksrcs; then
		result kernel-doc pass
	else
		result kernel-doc fail "kernel-doc warnings"
	fi
	# The library's public headers (and the test device's) follow the
	# same kernel-doc rules.
	if run_logged kernel-doc-userlib perl "$ksrc/scripts/kernel-doc" -none \
		-Wall -Werror userlib/include/uvirtio/*.h \
		userlib/testing/include/uvirtio/*.h; then
		result "kernel-doc (libuvirtio headers)" pass
	else
		result "kernel-doc (libuvirtio headers)" fail "kernel-doc warnings"
	fi
	# libuvirtio.so exports what libuvirtio.map lists: every UV_EXPORT
	# function, no test device symbol.
	if run_logged check-map make --no-print-directory -C userlib check-map; then
		result "libuvirtio.map = UV_EXPORT = nm -D libuvirtio.so" pass
	else
		result "libuvirtio.map = UV_EXPORT = nm -D libuvirtio.so" fail \
			"$(tail -n 1 "$log_dir/check-map.log")"
	fi
	# Documentation/ renders (Sphinx -W), the UAPI pulled from its header.
	if run_logged docs scripts/docs.sh; then
		result "make docs (Sphinx, kernel-doc of the UAPI)" pass
	else
		result "make docs (Sphinx, kernel-doc of the UAPI)" fail "see $log_dir/docs.log"
	fi
	stage_end
fi

if want kernel; then
	stage_start kernel
	if run_logged kernel sh -c 'scripts/deps.sh kernel && scripts/build-kernel.sh'; then
		result debug-kernel-build pass
		grep -E 'cached|built in' "$log_dir/kernel.log" | sed 's/^/  /'
	else
		result debug-kernel-build fail
	fi
	stage_end
fi

# vm_report NAME OUT VMRC: count a VM run's KTAP results (kunit.py via
# ktap-report.py) and judge its health from vm-run's exit code.
vm_report() {
	local name=$1 out=$2 vmrc=$3 r
	cat "$log_dir/$name.log" >>"$out.results"
	r=$(python3 scripts/ktap-report.py "$(scripts/build-kernel.sh --src)/tools/testing/kunit/kunit.py" \
		"$name" "$out/results.log")
	echo "$r" | grep -v '^TOTAL'
	local what
	what=$(echo "$r" | sed -n 's/^FAILED //p' | head -n 6 | uv_join)
	set -- $(echo "$r" | sed -n 's/^TOTAL //p')
	add_counts "$name" "${1:-0}" "${2:-0}" "${3:-0}" "$what"
	if [ "$vmrc" -eq 0 ]; then
		result "$name vm health" pass
	else
		result "$name vm health" fail "see $log_dir/$name.log"
		grep -A40 '^vm-run: FAIL' "$log_dir/$name.log" | head -n 50 | sed 's/^/  | /'
	fi
}

# vm_suite NAME KERNEL IOMMU [vm-run options...]
vm_suite() {
	local name=$1 kernel=$2 iommu=$3
	shift 3
	local out=$UV_OUT/vm/$name
	vm_outs+=("$out/results.log" "$out/hotplug.log")
	mkdir -p "$UV_OUT/vm"
	# Build the selftests once per make check.
	if [ -z "${selftests_built:-}" ]; then
		if run_logged selftests-build make selftests; then
			selftests_built=ok
		else
			selftests_built=failed
			result selftests-build fail "the selftests do not build"
		fi
	fi
	if [ "$selftests_built" != ok ]; then
		result "$name" fail "selftests do not build"
		return
	fi
	# A VM's whole run, and each selftest binary in it, are bounded.
	local soak=(-t 1800 -e UVIRTIO_TEST_TIMEOUT=1200)
	if [ "${UVIRTIO_SOAK:-0}" = 1 ]; then
		soak=(-t 14400 -e UVIRTIO_KILL_ITERS=1000 -e UVIRTIO_KILL_SECS=3000
		      -e UVIRTIO_FUZZ_CALLS=1000000 -e UVIRTIO_FUZZ_SECS=3000
		      -e UVIRTIO_HOTPLUG_CYCLES=200 -e UVIRTIO_TEST_TIMEOUT=7200)
	fi
	# The CLI too, when built: uvirtio_keepalive checks its view.
	local cli=()
	[ -x "$UV_TOP/tools/build/uvirtio-static" ] &&
		cli=(-a "$UV_TOP/tools/build/uvirtio-static:uvirtio/bin/uvirtio")
	run_logged "$name" scripts/vm-run.sh -k "$kernel" -i "$iommu" -o "$out" \
		-a "$UV_OUT/selftests:uvirtio/tests" "${cli[@]}" \
		-p scripts/guest/run-tests "${soak[@]}" "$@" >"$out.results" 2>&1
	vm_report "$name" "$out" $?
}

# ucov_args: vm-run options for a run that counts in the library's line
# coverage: -U and the gcov builds of the in-VM programs (make
# vm-test-cov) over the normal ones; empty if they do not build.
ucov_args() {
	ucov=()
	if [ -z "${ucov_built:-}" ]; then
		if run_logged vm-test-cov make vm-test-cov; then
			ucov_built=ok
		else
			ucov_built=failed
			result vm-test-cov fail "the gcov builds of the in-VM programs do not build"
		fi
	fi
	[ "$ucov_built" = ok ] || return 0
	local u=$UV_OUT/ucov
	ucov=(-U -a "$u/tools/uvirtio-static:uvirtio/bin/uvirtio"
	      -a "$u/libuvirtio_vm_test:uvirtio/tests/libuvirtio_vm_test"
	      -a "$u/uvirtio_keepalive:uvirtio/tests/uvirtio_keepalive"
	      -a "$u/libuvirtio_vfio_vm_test:uvirtio/bin/libuvirtio_vfio_vm_test")
}

if want vm-debug; then
	stage_start vm-debug
	if scripts/build-kernel.sh --path >/dev/null 2>&1; then
		# -H: 20 hot-unplug cycles under I/O (QMP, host side)
		# -G: uvirtio.ko with gcov; the two runs' counters make the
		# module's line coverage (KUnit and every selftest)
		vm_suite debug-iommu-on debug on -H -G
		# The 100-kill / 1e5-call defaults run in the other three VMs;
		# a shorter pass here keeps a fresh-machine run under an hour.
		short=(-e UVIRTIO_KILL_ITERS=25 -e UVIRTIO_FUZZ_CALLS=25000)
		[ "${UVIRTIO_SOAK:-0}" = 1 ] && short=()
		vm_suite debug-iommu-off debug off -T 64 -G "${short[@]}"
		gcov_runs+=("$UV_OUT/vm/debug-iommu-on/gcov" "$UV_OUT/vm/debug-iommu-off/gcov")
		# vhost-vdpa on vdpa_sim_blk: no PCI devices, no uvirtio.ko;
		# the modules are loaded by the test, the device is made with
		# the CLI (`uvirtio vdpa add`)
		if run_logged tools-build make tools; then
			vm_suite debug-vdpa debug off -d none -n -t 600 \
				-x "vhost_vdpa vdpa_sim_blk" \
				-a "$UV_TOP/tools/build/uvirtio-static:uvirtio/bin/uvirtio" \
				-e UVIRTIO_TESTS=uvirtio_vdpa
		else
			result debug-vdpa fail "the CLI does not build"
		fi
	else
		result vm-debug fail "the debug kernel is not built"
	fi
	stage_end
fi

if want vm-stock; then
	stage_start vm-stock
	vm_suite stock-iommu-off stock off -T 64 -H
	# gcov builds of vm_test and the CLI: the kmod backend's share of
	# the library's line coverage
	ucov_args
	vm_suite stock-iommu-on stock on "${ucov[@]}"
	[ ${#ucov[@]} = 0 ] || ugcov_runs+=("$UV_OUT/vm/stock-iommu-on/ugcov")
	# the fio ioengine over the kernel-module backend (Debian's fio,
	# bundled with its libraries): a crc32c-verified job, irq and poll
	if run_logged fio-bundle sh -c "make fio && scripts/bundle-dyn.sh '$UV_OUT/vm/fio' fio &&
		make tools"; then
		if run_logged vm-fio-kmod scripts/vm-run.sh -k stock -i on -d demo -t 400 \
			-o "$UV_OUT/vm/fio-kmod" -a "$UV_OUT/vm/fio:uvirtio/fio" \
			-a "$UV_OUT/fio/uvirtio-fio.so:uvirtio/uvirtio-fio.so" \
			-a "$UV_TOP/tools/build/uvirtio-static:uvirtio/bin/uvirtio" \
			-p scripts/guest/fio-kmod; then
			result "fio engine over the kmod backend (verify, irq and poll)" pass
			grep '^fio verify' "$log_dir/vm-fio-kmod.log" | sed 's/^/  /'
		else
			result "fio engine over the kmod backend" fail "see $log_dir/vm-fio-kmod.log"
		fi
	else
		result "fio engine over the kmod backend" fail "engine or fio bundle did not build"
	fi
	stage_end
fi

if want vm-vduse; then
	stage_start vm-vduse
	# No PCI devices, no uvirtio.ko: the test loads vduse and vhost_vdpa,
	# starts qemu-storage-daemon (bundled with its libraries) and makes
	# the vdpa device with `uvirtio vdpa add vduse0 vduse`.
	qsd=$UV_OUT/vm/qsd
	if ! run_logged stock612-fetch scripts/deps.sh stock612; then
		result stock612-vduse fail "no stock 6.12 kernel (scripts/deps.sh stock612)"
	elif ! run_logged tools-build make tools; then
		result stock612-vduse fail "the CLI does not build"
	elif ! run_logged qsd-bundle scripts/bundle-dyn.sh "$qsd" qemu-storage-daemon; then
		result stock612-vduse fail "cannot bundle qemu-storage-daemon"
	else
		vm_suite stock612-vduse stock612 off -d none -n -t 600 \
			-x "vduse vhost_vdpa" -a "$qsd:uvirtio/qsd" \
			-a "$UV_TOP/tools/build/uvirtio-static:uvirtio/bin/uvirtio" \
			-e UVIRTIO_TESTS=uvirtio_vdpa -e UVIRTIO_VDPA_BACKEND=vduse
	fi
	stage_end
fi

if want vm-contain; then
	stage_start vm-contain
	# Only uvirtio_containment; 3G for its 1 GiB DMA_MAP figure.
	ct=(-d contain -m 3G -e UVIRTIO_TESTS=uvirtio_containment)
	vm_suite contain-stock-on stock on -t 300 "${ct[@]}"
	vm_suite contain-stock-strict stock strict -t 300 "${ct[@]}"
	vm_suite contain-stock-pt stock pt -t 300 "${ct[@]}"
	vm_suite contain-stock-nointremap stock nointremap -t 300 -T 64 "${ct[@]}"
	vm_suite contain-stock-off stock off -t 300 -T 64 "${ct[@]}"
	vm_suite contain-stock-lockdown stock on -t 300 -L "${ct[@]}"
	if scripts/build-kernel.sh --path >/dev/null 2>&1; then
		vm_suite contain-debug-on debug on -t 900 "${ct[@]}"
	else
		result contain-debug-on skip "the debug kernel is not built"
	fi
	stage_end
fi

# vm_mmio_suite NAME KERNEL MACHINE [vm-run options...]: the virtio-mmio
# guest test on microvm (a few seconds of boot: no selftests, only the CLI
# and the payload).
vm_mmio_suite() {
	local name=$1 kernel=$2 machine=$3 out=$UV_OUT/vm/$1
	shift 3
	mkdir -p "$out"
	if [ -z "${tools_built:-}" ]; then
		if run_logged tools-build sh -c 'make tools && make selftests'; then
			tools_built=ok
		else
			tools_built=failed
		fi
	fi
	if [ "$tools_built" != ok ]; then
		result "$name" fail "the CLI or the in-VM tests do not build"
		return
	fi
	run_logged "$name" scripts/vm-run.sh -k "$kernel" -X "$machine" -i off \
		-m 1G -t 600 -T 64 -o "$out" \
		-a tools/build/uvirtio-static:uvirtio/uvirtio \
		-a "$UV_OUT/selftests/libuvirtio_vm_test:uvirtio/vm_test" \
		-a "$UV_OUT/selftests/uvirtio_mmio:uvirtio/uvirtio_mmio" \
		-a "$UV_OUT/mmio/libuvirtio_mmio_irq:uvirtio/mmio_irq" \
		-p scripts/guest/mmio-tests "$@" >"$out.results" 2>&1
	vm_report "$name" "$out" $?
}

if want vm-mmio; then
	stage_start vm-mmio
	if scripts/build-kernel.sh --path >/dev/null 2>&1; then
		# -G: kmod/mmio.c's share of the module's line coverage
		vm_mmio_suite mmio-debug-v2 debug microvm -G
		vm_mmio_suite mmio-debug-v1 debug microvm-legacy -G
		gcov_runs+=("$UV_OUT/vm/mmio-debug-v2/gcov" "$UV_OUT/vm/mmio-debug-v1/gcov")
	else
		result vm-mmio-debug fail "the debug kernel is not built"
	fi
	vm_mmio_suite mmio-stock-v2 stock microvm
	vm_mmio_suite mmio-stock-v1 stock microvm-legacy
	stage_end
fi

# vm-irq: INTx and shared MSI-X vectors, and virtio-console, on the irq
# device set (scripts/guest/irq-tests), one stock 6.1 VM without an IOMMU
# (so the INTx device is transitional and its legacy ISR is driven too).
if want vm-irq; then
	stage_start vm-irq
	if run_logged irq-build sh -c 'make tools && make vm-test'; then
		# off: transitional INTx device (modern and legacy ISR), taints
		# with allow_unsafe_noiommu; on: intel-iommu, and the INTx
		# device through VFIO as well
		for io in off on; do
			out=$UV_OUT/vm/irq-stock-$io
			mkdir -p "$out"
			# off: gcov builds of vm_test and the CLI, the
			# interrupt paths' share of the library's coverage
			ucov=()
			if [ $io = off ]; then
				ucov_args
				[ ${#ucov[@]} = 0 ] || ucov=(-U
					-a "$UV_OUT/ucov/tools/uvirtio-static:uvirtio/bin/uvirtio"
					-a "$UV_OUT/ucov/libuvirtio_vm_test:uvirtio/vm_test")
			fi
			run_logged irq-stock-$io scripts/vm-run.sh -k stock -i $io -d irq \
				-t 600 -T 64 -o "$out" -l "vfio_pci vfio_iommu_type1" \
				-a tools/build/uvirtio-static:uvirtio/bin/uvirtio \
				-a "$UV_OUT/selftests/libuvirtio_vm_test:uvirtio/vm_test" \
				"${ucov[@]}" -p scripts/guest/irq-tests >"$out.results" 2>&1
			vm_report irq-stock-$io "$out" $?
			[ ${#ucov[@]} = 0 ] || ugcov_runs+=("$out/ugcov")
		done
		# lockdep, KASAN, kmemleak on the INTx path, and the fallback
		# from MSI-X vectors that cannot be had (fail_function)
		if scripts/build-kernel.sh --path >/dev/null 2>&1; then
			out=$UV_OUT/vm/irq-debug-off
			mkdir -p "$out"
			run_logged irq-debug-off scripts/vm-run.sh -k debug -i off -d irq \
				-t 1200 -T 64 -o "$out" \
				-a tools/build/uvirtio-static:uvirtio/bin/uvirtio \
				-a "$UV_OUT/selftests/libuvirtio_vm_test:uvirtio/vm_test" \
				-p scripts/guest/irq-tests >"$out.results" 2>&1
			vm_report irq-debug-off "$out" $?
		else
			result irq-debug-off skip "the debug kernel is not built"
		fi
	else
		result vm-irq fail "the CLI or vm_test does not build"
	fi
	stage_end
fi

if want vm-vfio; then
	stage_start vm-vfio
	if run_logged vfio-tools make tools vfio-vm-test; then
		vf=(-n -d contain -l "vfio_pci vfio_iommu_type1"
		    -a "tools/build/uvirtio-static:uvirtio/bin/uvirtio"
		    -a "$UV_OUT/vfio/libuvirtio_vfio_vm_test:uvirtio/bin/libuvirtio_vfio_vm_test"
		    -a "scripts/guest/vfio-tests:uvirtio/tests/uvirtio_vfio"
		    -e UVIRTIO_TESTS=uvirtio_vfio)
		# gcov builds: the VFIO backend's share of the library's coverage
		ucov_args
		vm_suite vfio-stock-on stock on -t 300 "${vf[@]}" "${ucov[@]}"
		[ ${#ucov[@]} = 0 ] || ugcov_runs+=("$UV_OUT/vm/vfio-stock-on/ugcov")
		if scripts/build-kernel.sh --path >/dev/null 2>&1; then
			# gcov builds here too: the VFIO cdev and iommufd
			# paths (6.12), which stock 6.1 lacks
			vm_suite vfio-debug-on debug on -t 900 "${vf[@]}" "${ucov[@]}"
			[ ${#ucov[@]} = 0 ] || ugcov_runs+=("$UV_OUT/vm/vfio-debug-on/ugcov")
			# no IOMMU: the no-IOMMU group is refused (-T 64: the
			# kernel taints when vfio-pci creates that group)
			vm_suite vfio-debug-noiommu debug off -t 600 -T 64 "${vf[@]}"
		else
			result vfio-debug-on skip "the debug kernel is not built"
		fi
	else
		result vfio-tools-build fail "the CLI does not build"
	fi
	stage_end
fi

# vm_net_suite NAME KERNEL IOMMU [vm-run options]: the virtio-net hub test
# (scripts/guest/net-tests: uvirtio on one function, virtio_net on the other).
vm_net_suite() {
	local name=$1 kernel=$2 iommu=$3 out=$UV_OUT/vm/$1
	shift 3
	mkdir -p "$out"
	run_logged "$name" scripts/vm-run.sh -k "$kernel" -i "$iommu" -d net \
		-t 600 -o "$out" \
		-a tools/build/uvirtio-static:uvirtio/uvirtio \
		-a tools/build/pktio-static:uvirtio/pktio \
		"$@" -p scripts/guest/net-tests >"$out.results" 2>&1
	vm_report "$name" "$out" $?
	grep -E '^# (64|1514) bytes|^# (interrupts|--poll):|^# flood:' \
		"$out/results.log" 2>/dev/null | tr -d '\r' | sed 's/^# /  /'
}

if want vm-net; then
	stage_start vm-net
	if run_logged net-tools make tools; then
		# the gcov-built CLI: the net driver's share of the library's
		# line coverage
		ucov_args
		[ ${#ucov[@]} = 0 ] ||
			ucov=(-U -a "$UV_OUT/ucov/tools/uvirtio-static:uvirtio/uvirtio")
		vm_net_suite net-stock-on stock on "${ucov[@]}"
		[ ${#ucov[@]} = 0 ] || ugcov_runs+=("$UV_OUT/vm/net-stock-on/ugcov")
		# Debian's 6.12 as the kernel peer: the debug kernel has no
		# CONFIG_PACKET, which the kernel side (pktio) needs
		if run_logged stock612-fetch scripts/deps.sh stock612; then
			vm_net_suite net-stock612-on stock612 on
		else
			result net-stock612-on fail "no stock 6.12 kernel (scripts/deps.sh stock612)"
		fi
		# vhost-vdpa on vdpa_sim_net (TX looped to RX), debug kernel
		if scripts/build-kernel.sh --path >/dev/null 2>&1; then
			out=$UV_OUT/vm/net-vdpa-debug
			mkdir -p "$out"
			run_logged net-vdpa-debug scripts/vm-run.sh -k debug -i off \
				-d none -n -t 600 -o "$out" \
				-x "vhost_vdpa vdpa_sim_net" \
				-a tools/build/uvirtio-static:uvirtio/bin/uvirtio \
				-p scripts/guest/vdpa-net-tests >"$out.results" 2>&1
			vm_report net-vdpa-debug "$out" $?
		else
			result net-vdpa-debug skip "the debug kernel is not built"
		fi
	else
		result vm-net fail "the CLI or pktio does not build"
	fi
	stage_end
fi

if want docs; then
	stage_start docs
	count_line docs-examples docs-examples python3 scripts/test-docs.py
	stage_end
fi

# canary_build KDIR OUT: build the harness canary modules against KDIR.
canary_build() {
	mkdir -p "$2"
	cp scripts/canary/Kbuild scripts/canary/*.c "$2"/
	make -C "$1" M="$2" modules >"$2/build.log" 2>&1
}

# expect_red NAME PATTERN vm-run-args...: the run must fail, for PATTERN.
expect_red() {
	local name=$1 pattern=$2
	shift 2
	if scripts/vm-run.sh -n -o "$UV_OUT/vm/$name" "$@" >"$log_dir/$name.log" 2>&1; then
		result "$name" fail "the health check passed a run that should fail"
	elif grep -q -- "$pattern" "$log_dir/$name.log"; then
		result "$name" pass
	else
		result "$name" fail "the run failed, but not with '$pattern'"
		tail -n 20 "$log_dir/$name.log" | sed 's/^/  | /'
	fi
}

if want bench; then
	stage_start bench
	# its own output dir: a full `make bench` in out/bench stays
	bout=$UV_OUT/check-bench
	if run_logged bench-smoke-run env UVIRTIO_BENCH_QUICK=1 \
		UVIRTIO_BENCH_OUT="$bout" scripts/bench.sh; then
		count_line bench-smoke bench-smoke \
			python3 scripts/bench-report.py --check "$bout/results.json"
	else
		result bench-smoke fail "scripts/bench.sh failed (see $log_dir/bench-smoke-run.log)"
	fi
	stage_end
fi

if want harness; then
	stage_start harness
	kver=$(uv_stock_kver)
	cdir=$UV_OUT/canary/$kver
	if canary_build "/usr/src/linux-headers-$kver" "$cdir"; then
		expect_red harness-warn "kernel reports in console.log" -k stock -t 180 \
			-a "$cdir/uvirtio_canary.ko:uvirtio/canary.ko" \
			-c 'insmod /uvirtio/canary.ko warn=1'
		expect_red harness-pin "unbalanced pins" -k stock -t 180 \
			-a "$cdir/uvirtio_canary.ko:uvirtio/canary.ko" \
			-c 'insmod /uvirtio/canary.ko leak_pin=1'
	else
		result harness-canary-build fail "see $cdir/build.log"
	fi
	if kobj=$(scripts/build-kernel.sh --path 2>/dev/null); then
		cdir=$UV_OUT/canary/debug
		if canary_build "$kobj" "$cdir"; then
			scripts/vm-run.sh -n -k debug -o "$UV_OUT/vm/harness-kunit" -t 300 \
				-a "$cdir/uvirtio_canary_kunit.ko:uvirtio/canary_kunit.ko" \
				-c 'insmod /uvirtio/canary_kunit.ko
echo "UVIRTIO-KTAP-BEGIN kunit.uvirtio_canary"
cat /sys/kernel/debug/kunit/uvirtio_canary/results
echo "UVIRTIO-KTAP-END kunit.uvirtio_canary rc=0"
rmmod uvirtio_canary_kunit' >"$log_dir/harness-kunit.log" 2>&1
			r=$(python3 scripts/ktap-report.py "$(scripts/build-kernel.sh --src)/tools/testing/kunit/kunit.py" \
				harness "$UV_OUT/vm/harness-kunit/results.log" | sed -n 's/^TOTAL //p')
			if [ "$r" = "1 1 0" ]; then
				result harness-kunit-failure-counted pass
			else
				result harness-kunit-failure-counted fail "kunit.py counted '$r', expected 1 pass and 1 failure"
			fi
		else
			result harness-canary-kunit-build fail "see $cdir/build.log"
		fi
	else
		result harness-kunit-failure-counted fail "the debug kernel is not built"
	fi
	stage_end
fi

if want host || want vm-debug || want vm-stock || want vm-contain || want vm-vfio; then
	echo
	echo "=== reliability (what the tests above put through; their verdicts are in the counts)"
	fuzzlog=/dev/null
	want host && fuzzlog=$log_dir/fuzz-check.log
	python3 scripts/reliability-summary.py "$fuzzlog" "${vm_outs[@]}"
fi

# The module's line coverage over every gcov-built debug VM of this run
# (vm-debug's two, vm-mmio's two): kmod/kunit.c, the test, is not counted.
if [ ${#gcov_runs[@]} -gt 0 ]; then
	echo
	echo "=== coverage (uvirtio.ko, ${#gcov_runs[@]} debug VMs)"
	dkver=$(cat "$(scripts/build-kernel.sh --path)/include/config/kernel.release")
	coverage_report kmod-coverage python3 scripts/coverage.py kmod \
		"$UV_OUT/kmod/$dkver-gcov/src" --src-root "$UV_OUT/kmod/$dkver-gcov/src" \
		--include '^kmod/' --exclude '^kmod/kunit\.c$' --runs "${gcov_runs[@]}"
fi

# The library's line coverage: the host unit tests (their own build,
# userlib/build/cov) and every VM run of the gcov-built in-VM programs
# (out/ucov), merged by source line.
if want host || [ ${#ugcov_runs[@]} -gt 0 ]; then
	echo
	echo "=== coverage (libuvirtio: host unit tests + ${#ugcov_runs[@]} VM runs)"
	also=()
	for r in "${ugcov_runs[@]}"; do
		also+=(--also "$UV_OUT/ucov/lib" "$r")
	done
	[ ${#ugcov_runs[@]} -gt 0 ] ||
		echo "  no VM run of the in-VM programs in this run (stages vm-stock, vm-irq, vm-vfio, vm-net): host tests only"
	if [ -d userlib/build/cov ]; then
		coverage_report userlib-coverage python3 scripts/coverage.py userlib \
			userlib/build/cov --include '^userlib/src/' "${also[@]}"
	else
		echo "  userlib/build/cov is absent (no host stage run): the VM runs only"
		coverage_report userlib-coverage python3 scripts/coverage.py userlib \
			"$UV_OUT/ucov/lib" --runs "${ugcov_runs[0]}" \
			--include '^userlib/src/' "${also[@]:3}"
	fi
fi

echo
echo "=== timings"
printf '  %s\n' "${timings[@]}"
printf '  %-10s %5d s\n' total "$(( $(date +%s) - t_all ))"
if [ ${#failed[@]} -ne 0 ]; then
	echo "=== failed"
	printf '  %s\n' "${failed[@]}"
fi
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
