#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# fuzz-check.sh BINDIR CORPUSDIR SECONDS RUNS TARGET...
#
# Bounded libFuzzer run of every TARGET over its seed corpus
# CORPUSDIR/TARGET (read only: new units go to a scratch directory).
# Each run stops after SECONDS seconds or RUNS executions, whichever comes
# first (SECONDS=0: RUNS only).  FUZZ_SEED fixes libFuzzer's seed.  A crash, leak, timeout or invariant
# violation fails the target; its reproducer is kept in
# BINDIR/artifacts/TARGET/.  Last line: "fuzz: N passed, M failed".
set -u
bindir=$1 corpus=$2 secs=$3 runs=$4
shift 4
pass=0 fail=0
for t in "$@"; do
	bin=$bindir/$t
	art=$bindir/artifacts/$t
	scratch=$bindir/scratch/$t
	log=$bindir/$t.log
	rm -rf "$scratch"
	mkdir -p "$art" "$scratch"
	# FUZZ_SEED (optional): a fixed seed makes the mutation sequence
	# repeatable, so a bounded run explores the same inputs every time.
	"$bin" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -max_total_time="$secs" \
		-runs="$runs" -timeout=10 \
		-rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$art/" "$scratch" "$corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		echo "fuzz: $t ok: ${execs:-?} execs, ${eps:-?} exec/s, cov ${cov:-?}"
	else
		fail=$((fail + 1))
		echo "fuzz: $t FAILED (exit $rc), log $log, reproducer in $art/:"
		grep -E 'ERROR|INVARIANT|SUMMARY|runtime error|Test unit' \
			"$log" | head -n 8
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
