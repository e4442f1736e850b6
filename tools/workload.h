/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The blk comparison workload shared by tools/kblk.c (the kernel's
 * virtio-blk) and `uvirtio blk randrw` (libuvirtio): both must write the
 * same data at the same offsets for their figures to sit side by side.
 */
#ifndef UVIRTIO_TOOLS_WORKLOAD_H
#define UVIRTIO_TOOLS_WORKLOAD_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#define WL_BS 4096u	/* block size of the workload */
#define WL_SEED 0x5eedull	/* seed of its offsets and data */

static inline uint64_t wl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: cheap, deterministic offsets and data. */
static inline uint64_t wl_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* The contents of block @lba for @seed. */
static inline void wl_fill(unsigned char *buf, uint64_t lba, uint64_t seed)
{
	uint64_t s = (lba + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	for (unsigned int i = 0; i < WL_BS; i += 8) {
		uint64_t v = wl_rnd(&s);

		memcpy(buf + i, &v, 8);
	}
}

#endif /* UVIRTIO_TOOLS_WORKLOAD_H */
