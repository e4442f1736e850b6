// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake_rng.c - the test device's virtio-rng model: deterministic bytes,
 * optionally rate-limited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_priv.h"

static uint64_t rng_next(struct uvirtio_fake *f)
{
	/* xorshift64*: deterministic test data, not real entropy. */
	f->rng_state ^= f->rng_state >> 12;
	f->rng_state ^= f->rng_state << 25;
	f->rng_state ^= f->rng_state >> 27;
	return f->rng_state * 0x2545f4914f6cdd1dull;
}

/*
 * Fill the chain with bytes.  A rate-limited source sleeps first, with
 * the lock dropped so the driver can go on touching registers; if the
 * driver reset the device meanwhile, the ring may be gone: return false
 * and complete nothing.
 */
bool fake_rng_execute(struct uvirtio_fake *f, struct fake_chain *c,
			uint32_t *used_len)
{
	uint32_t k, left = f->cfg.rng_max_bytes ? f->cfg.rng_max_bytes :
						  UINT32_MAX;
	unsigned int i;

	if (f->cfg.rng_delay_ms) {
		struct timespec ts = {
			f->cfg.rng_delay_ms / 1000,
			(long)(f->cfg.rng_delay_ms % 1000) * 1000000,
		};

		pthread_mutex_unlock(&f->lock);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&f->lock);
		if (f->stop || f->removed ||
		    !(f->status & VIRTIO_CONFIG_S_DRIVER_OK))
			return false;
	}
	*used_len = 0;
	for (i = 0; i < c->nsegs && left; i++) {
		if (!c->segs[i].write)
			continue;
		for (k = 0; k < c->segs[i].len && left; k++, left--) {
			c->segs[i].p[k] = (uint8_t)rng_next(f);
			(*used_len)++;
		}
	}
	return true;
}
