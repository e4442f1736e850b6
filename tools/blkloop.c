// SPDX-License-Identifier: BSD-3-Clause
/*
 * blkloop.c - the benchmark loop of `uvirtio bench` and blkbench (see
 * blkloop.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blkloop.h"

uint64_t blkloop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64* */
static uint64_t blkloop_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int blkloop_run(const struct blkloop_params *p, struct blkloop_result *r)
{
	const struct timespec drain_to = { 1, 0 };
	struct uvirtio_blk_completion *comp;
	uint64_t *t_sub, *lat, nlat = 0, seed = p->seed;
	uint64_t now, warm_end, t_start = 0, t_end;
	unsigned int *free_slots, nfree = 0, i;
	bool measuring = false, counted = p->nops > 0;
	unsigned char *buf = p->buf;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	comp = calloc(p->qd, sizeof(*comp));
	t_sub = calloc(p->qd, sizeof(*t_sub));
	free_slots = calloc(p->qd, sizeof(*free_slots));
	lat = counted ? NULL : malloc(sizeof(*lat) * BLKLOOP_MAX_SAMPLES);
	if (!comp || !t_sub || !free_slots || (!counted && !lat)) {
		r->what = "memory";
		ret = -ENOMEM;
		goto out;
	}
	for (i = p->qd; i > 0; i--)
		free_slots[nfree++] = i - 1;

	now = counted ? 0 : blkloop_now_ns();
	warm_end = now + p->warmup_ns;
	t_end = warm_end + p->window_ns;
	for (;;) {
		int n;

		if (!measuring && (counted || now >= warm_end)) {
			measuring = true;
			/*
			 * mark() stays out of the timed window; in a counted
			 * run the clock reads stay out of the marked one.
			 */
			if (counted) {
				t_start = blkloop_now_ns();
				if (p->mark)
					p->mark(p->arg, true);
				now = 0;
			} else {
				if (p->mark)
					p->mark(p->arg, true);
				t_start = now = blkloop_now_ns();
			}
			/* the measured window is whole, however late it began */
			t_end = t_start + p->window_ns;
		}
		if (counted ? r->ios >= p->nops : now >= t_end)
			break;
		while (nfree) {
			unsigned int s = free_slots[nfree - 1];
			uint64_t off = blkloop_rnd(&seed) % p->nblocks * p->bs;
			unsigned char *b = buf + (size_t)s * p->bs;
			void *ud = (void *)(uintptr_t)(s + 1);

			t_sub[s] = counted ? 0 : blkloop_now_ns();
			ret = p->write ? uvirtio_blk_q_write(p->q, off, b, p->bs, ud) :
					 uvirtio_blk_q_read(p->q, off, b, p->bs, ud);
			if (ret == -EAGAIN) {	/* ring full: QD > what fits */
				ret = 0;
				break;
			}
			if (ret) {
				r->what = "enqueue";
				goto out;
			}
			nfree--;
		}
		if (p->qd - nfree > r->qd_max)
			r->qd_max = p->qd - nfree;
		/* Submits what was enqueued, then waits for >= 1. */
		n = uvirtio_blk_q_reap(p->q, 1, p->qd, comp, p->reap_timeout);
		if (n <= 0) {
			r->what = "reap";
			ret = n ? n : -ETIMEDOUT;
			goto out;
		}
		now = counted ? 0 : blkloop_now_ns();
		for (i = 0; i < (unsigned int)n; i++) {
			unsigned int s = (unsigned int)(uintptr_t)comp[i].user_data - 1;

			if (comp[i].ret) {
				r->what = p->write ? "write" : "read";
				ret = comp[i].ret;
				goto out;
			}
			if (measuring) {
				uint64_t l = now - t_sub[s];

				if (counted) {
					;	/* no clock: no latency */
				} else if (nlat < BLKLOOP_MAX_SAMPLES) {
					lat[nlat++] = l;
				} else {
					uint64_t j = blkloop_rnd(&seed) % (r->ios + 1);

					if (j < BLKLOOP_MAX_SAMPLES)
						lat[j] = l;
				}
				if (!counted && l > r->max_ns)
					r->max_ns = l;
				r->ios++;
			}
			free_slots[nfree++] = s;
		}
	}
	if (counted && p->mark)
		p->mark(p->arg, false);
	r->ns = blkloop_now_ns() - t_start;
	if (!counted && p->mark)
		p->mark(p->arg, false);
	if (nlat) {
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
		r->p50_ns = lat[(nlat - 1) * 50 / 100];
		r->p99_ns = lat[(nlat - 1) * 99 / 100];
	}
out:
	/* Let in-flight requests finish before the caller frees the buffer. */
	if (comp)
		while (uvirtio_blk_q_in_flight(p->q) &&
		       uvirtio_blk_q_reap(p->q, 1, p->qd, comp,
					  p->reap_timeout ? p->reap_timeout :
							    &drain_to) > 0)
			;
	free(lat);
	free(free_slots);
	free(t_sub);
	free(comp);
	return ret;
}
