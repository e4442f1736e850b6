/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * unit.h - what the layers of test_runner share: the fake-device
 * environment (a blk device on the fake, opened and closed), data
 * patterns, a read/write workload, and each layer's table of cases.
 * Each test_<layer>.c holds one layer's cases; test_main.c runs them all
 * on harness.h.
 */
#ifndef UV_TEST_UNIT_H
#define UV_TEST_UNIT_H

#include <stdint.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

#include "harness.h"

#define BLK_F(x) (1ull << VIRTIO_BLK_F_##x)
#define RING_F(x) (1ull << VIRTIO_RING_F_##x)
#define F(x) (1ull << VIRTIO_F_##x)
#define UV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct env {
	struct uvirtio_fake *fake;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
};

static inline void blkcfg(struct uvirtio_fake_config *c)
{
	uvirtio_fake_default_config(c, VIRTIO_ID_BLOCK);
}

static inline int env_open(struct env *e, const struct uvirtio_fake_config *c,
		    const struct uvirtio_blk_params *p)
{
	int ret;

	memset(e, 0, sizeof(*e));
	ret = uvirtio_fake_create(c, &e->fake, &e->be);
	if (ret)
		return ret;
	ret = uvirtio_blk_open(e->be, p, &e->blk);
	if (ret) {
		uvirtio_backend_close(e->be);
		e->be = NULL;
	}
	return ret;
}

static inline void env_close(struct env *e)
{
	uvirtio_blk_close(e->blk);
	uvirtio_backend_close(e->be);
}

static inline void pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) ^ seed);
}

/* Write / read back / verify through the async API, many requests. */
static inline int rw_workload(struct env *e, unsigned int nreq, size_t bs)
{
	struct uvirtio_blk_queue *q = uvirtio_blk_get_queue(e->blk, 0);
	struct uvirtio_blk_completion comp[16];
	uint64_t disk_len;
	uint8_t *disk = uvirtio_fake_disk(e->fake, &disk_len);
	uint8_t *wbuf, *rbuf;
	unsigned int i, done;
	int ret;

	CHECK(q);
	CHECK_EQ(uvirtio_blk_alloc_buf(e->blk, bs * 16, (void **)&wbuf), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e->blk, bs * 16, (void **)&rbuf), 0);
	pattern(wbuf, bs * 16, nreq);
	/* writes, keeping up to 16 in flight */
	for (i = 0, done = 0; done < nreq;) {
		while (i < nreq && i - done < 16) {
			ret = uvirtio_blk_q_write(q, (i % 64) * bs,
						  wbuf + (i % 16) * bs, bs,
						  (void *)(uintptr_t)(i + 1));
			if (ret == -EAGAIN)
				break;
			CHECK_EQ(ret, 0);
			i++;
		}
		ret = uvirtio_blk_q_reap(q, 1, 16, comp, NULL);
		CHECK(ret > 0);
		for (int k = 0; k < ret; k++)
			CHECK_EQ(comp[k].ret, 0);
		done += (unsigned int)ret;
	}
	CHECK_EQ(uvirtio_blk_flush(e->blk), 0);
	/* the RAM disk holds what the last write of each block put there */
	for (i = 0; i < 64 && i < nreq; i++) {
		unsigned int last = i + ((nreq - 1 - i) / 64) * 64;

		CHECK(memcmp(disk + i * bs, wbuf + (last % 16) * bs, bs) == 0);
	}
	/* read back through the driver */
	for (i = 0; i < 64 && i < nreq; i++) {
		unsigned int last = i + ((nreq - 1 - i) / 64) * 64;

		memset(rbuf, 0xee, bs);
		CHECK_EQ(uvirtio_blk_read(e->blk, i * bs, rbuf, bs), 0);
		CHECK(memcmp(rbuf, wbuf + (last % 16) * bs, bs) == 0);
	}
	(void)disk_len;
	return PASS;
}

/* Each layer's cases, in test_<layer>.c */
extern const struct tcase uv_backend_tests[];
extern const size_t uv_backend_ntests;
extern const struct tcase uv_transport_tests[];
extern const size_t uv_transport_ntests;
extern const struct tcase uv_virtqueue_tests[];
extern const size_t uv_virtqueue_ntests;
extern const struct tcase uv_blk_tests[];
extern const size_t uv_blk_ntests;
extern const struct tcase uv_rng_tests[];
extern const size_t uv_rng_ntests;
extern const struct tcase uv_faults_tests[];
extern const size_t uv_faults_ntests;
extern const struct tcase uv_blk_errors_tests[];
extern const size_t uv_blk_errors_ntests;
extern const struct tcase uv_vq_errors_tests[];
extern const size_t uv_vq_errors_ntests;
extern const struct tcase uv_pci_caps_tests[];
extern const size_t uv_pci_caps_ntests;
extern const struct tcase uv_rng_errors_tests[];
extern const size_t uv_rng_errors_ntests;

#endif /* UV_TEST_UNIT_H */
