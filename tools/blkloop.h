/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blkloop.h - the random read / write loop of `uvirtio bench`
 * (bench_cmd.c) and of blkbench (bench/blkbench.c): one run() for both.
 *
 * QD requests are kept in flight on one queue of libuvirtio's
 * asynchronous API (uvirtio_blk_q_read/write + uvirtio_blk_q_reap), at
 * random block-aligned offsets.  A time-bounded run warms up first, then
 * measures a whole window; latency is per request, from just before the
 * enqueue to the reap that returned it (CLOCK_MONOTONIC), kept for the
 * percentiles (a reservoir past BLKLOOP_MAX_SAMPLES).  A count-bounded
 * run (@nops) makes no clock call inside the measured window, so that a
 * tracer counting the system calls between the two mark() calls counts
 * only the library's.
 *
 * Thread safety: one run per thread; the queue is the caller's.
 */
#ifndef UVIRTIO_TOOLS_BLKLOOP_H
#define UVIRTIO_TOOLS_BLKLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <uvirtio/blk.h>

#define BLKLOOP_MAX_SAMPLES	(4u << 20)

/**
 * struct blkloop_params - what to run.
 * @q: the queue (of a device opened by the caller).
 * @buf: @qd * @bs bytes of DMA-able memory (uvirtio_blk_alloc_buf()).
 * @qd: requests kept in flight.
 * @bs: bytes per request.
 * @nblocks: offsets are random in [0, @nblocks) * @bs.
 * @write: writes (else reads).
 * @warmup_ns: time-bounded run: warm-up before the window.
 * @window_ns: time-bounded run: the measured window.
 * @nops: count-bounded run: requests measured (no warm-up, no clock
 *	reads, no latency samples); 0 for a time-bounded run.
 * @seed: of the random offsets.
 * @reap_timeout: the longest wait for a completion (NULL: forever); no
 *	completion in it fails the run with -ETIMEDOUT.
 * @mark: called at the start (@start true) and the end of the measured
 *	window: outside the timed part of a time-bounded run; in a
 *	count-bounded run the loop's two clock reads are outside the part
 *	between the two calls.  May be NULL.
 * @arg: for @mark.
 */
struct blkloop_params {
	struct uvirtio_blk_queue *q;
	void *buf;
	unsigned int qd, bs;
	uint64_t nblocks;
	bool write;
	uint64_t warmup_ns, window_ns, nops;
	uint64_t seed;
	const struct timespec *reap_timeout;
	void (*mark)(void *arg, bool start);
	void *arg;
};

/**
 * struct blkloop_result - what the run measured.
 * @ios: requests completed in the window.
 * @ns: length of the window.
 * @p50_ns: median latency (0 for a count-bounded run).
 * @p99_ns: 99th percentile latency.
 * @max_ns: longest latency.
 * @qd_max: most requests in flight at once (the ring may hold fewer
 *	than @qd).
 * @what: on failure, the step that failed ("enqueue", "reap", "read",
 *	"write", "memory").
 */
struct blkloop_result {
	uint64_t ios, ns, p50_ns, p99_ns, max_ns;
	unsigned int qd_max;
	const char *what;
};

/**
 * blkloop_now_ns() - CLOCK_MONOTONIC in nanoseconds.
 * Return: the time.
 */
uint64_t blkloop_now_ns(void);

/**
 * blkloop_run() - run the loop, then wait for the requests in flight.
 * @p: what to run.
 * @r: the figures (zeroed first).
 * Return: 0, or the negative errno of the step @r->what names.
 */
int blkloop_run(const struct blkloop_params *p, struct blkloop_result *r);

#endif /* UVIRTIO_TOOLS_BLKLOOP_H */
