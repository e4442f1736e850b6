// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_blk_errors.c - libuvirtio unit tests of the blk driver's and the
 * generic device layer's refusals: bad arguments to public calls,
 * requests a device cannot take (read-only, no DISCARD, beyond its
 * limits), keep-alive on a backend without it, a config space that never
 * settles, writes to device config, a removed device; fewer interrupt
 * vectors than queues.
 * Part of test_runner (test_main.c), on the fake device.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static int open_cfg(struct env *e, void (*cfg)(struct uvirtio_fake_config *),
		    const struct uvirtio_blk_params *p)
{
	struct uvirtio_fake_config c;

	blkcfg(&c);
	if (cfg)
		cfg(&c);
	return env_open(e, &c, p);
}

/* A new capacity is read on request; a config that never settles is not. */
static int t_blk_refresh_capacity(void)
{
	struct uvirtio_blk_info in;
	struct env e;

	CHECK_EQ(open_cfg(&e, NULL, NULL), 0);
	uvirtio_fake_set_capacity(e.fake, 4096);
	CHECK_EQ(uvirtio_blk_refresh_capacity(e.blk), 0);
	uvirtio_blk_get_info(e.blk, &in);
	CHECK_EQ(in.capacity, 4096ull * 512);
	/* config_generation moves on every read: give up, keep the old value */
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_CONFIG_GEN,
				     0xffff, 8192), 0);
	CHECK_EQ(uvirtio_blk_refresh_capacity(e.blk), -EAGAIN);
	uvirtio_blk_get_info(e.blk, &in);
	CHECK_EQ(in.capacity, 4096ull * 512);
	env_close(&e);
	return PASS;
}

static void limits_cfg(struct uvirtio_fake_config *c)
{
	c->max_discard_sectors = 16;
	c->discard_sector_alignment = 8;
	c->max_write_zeroes_sectors = 16;
}

/* Discard and write-zeroes outside the device's limits never reach it. */
static int t_blk_range_limits(void)
{
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_info in;
	struct uvirtio_fake_stats st0, st1;
	struct env e;

	CHECK_EQ(open_cfg(&e, limits_cfg, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	uvirtio_blk_get_info(e.blk, &in);
	CHECK(in.discard && in.write_zeroes);
	uvirtio_fake_get_stats(e.fake, &st0);
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, 0, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_discard(q, 1, in.blk_size, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, in.blk_size + 1, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_discard(q, in.capacity, in.blk_size, NULL),
		 -EINVAL);
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, in.capacity + in.blk_size, NULL),
		 -EINVAL);
	/* 32 sectors > max_discard_sectors 16 */
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, 32 * 512, NULL), -EINVAL);
	/* not on the 8-sector discard alignment */
	CHECK_EQ(uvirtio_blk_q_discard(q, 512 * 4, 8 * 512, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, 4 * 512, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_write_zeroes(q, 0, 32 * 512, false, NULL),
		 -EINVAL);
	uvirtio_fake_get_stats(e.fake, &st1);
	CHECK_EQ(st1.doorbells, st0.doorbells);
	/* within the limits: accepted */
	CHECK_EQ(uvirtio_blk_discard(e.blk, 8 * 512, 8 * 512), 0);
	CHECK_EQ(uvirtio_blk_write_zeroes(e.blk, 0, 16 * 512, true), 0);
	env_close(&e);
	return PASS;
}

static void big_cfg(struct uvirtio_fake_config *c)
{
	c->capacity = 16384;		/* 8 MiB */
	c->size_max = 1u << 20;		/* 64 segments of 1 MiB: 64 MiB */
	c->seg_max = 64;
}

/*
 * max_transfer is capped at UVIRTIO_BLK_MAX_TRANSFER (2 MiB: QEMU takes
 * 1024 pieces per request, a piece per page behind an IOMMU) and the
 * driver holds to it: one byte-block more is refused before the ring.
 */
static int t_blk_max_transfer(void)
{
	struct uvirtio_fake_stats st0, st1;
	struct uvirtio_blk_info in;
	uint8_t *buf;
	struct env e;

	CHECK_EQ(open_cfg(&e, big_cfg, NULL), 0);
	uvirtio_blk_get_info(e.blk, &in);
	CHECK_EQ(in.max_transfer, UVIRTIO_BLK_MAX_TRANSFER);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4u << 20, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, UVIRTIO_BLK_MAX_TRANSFER), 0);
	uvirtio_fake_get_stats(e.fake, &st0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf,
				  UVIRTIO_BLK_MAX_TRANSFER + in.blk_size),
		 -EINVAL);
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 4u << 20), -EINVAL);
	uvirtio_fake_get_stats(e.fake, &st1);
	CHECK_EQ(st1.doorbells, st0.doorbells);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

static void ro_cfg(struct uvirtio_fake_config *c)
{
	c->features |= BLK_F(RO);
}

/* A read-only device: reads work, nothing that writes is sent. */
static int t_blk_read_only(void)
{
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_info in;
	uint8_t *buf;
	struct env e;

	CHECK_EQ(open_cfg(&e, ro_cfg, NULL), 0);
	uvirtio_blk_get_info(e.blk, &in);
	CHECK(in.read_only);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);
	CHECK_EQ(uvirtio_blk_q_write(q, 0, buf, 4096, NULL), -EROFS);
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, 8 * 512, NULL), -EROFS);
	CHECK_EQ(uvirtio_blk_q_write_zeroes(q, 0, 8 * 512, false, NULL),
		 -EROFS);
	env_close(&e);
	return PASS;
}

static void nodiscard_cfg(struct uvirtio_fake_config *c)
{
	c->features &= ~(BLK_F(DISCARD) | BLK_F(WRITE_ZEROES));
}

static int t_blk_no_discard(void)
{
	struct uvirtio_blk_queue *q;
	struct env e;

	CHECK_EQ(open_cfg(&e, nodiscard_cfg, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_q_discard(q, 0, 8 * 512, NULL), -ENOTSUP);
	CHECK_EQ(uvirtio_blk_q_write_zeroes(q, 0, 8 * 512, true, NULL),
		 -ENOTSUP);
	env_close(&e);
	return PASS;
}

/* NULL and out-of-range arguments of the queue calls. */
static int t_blk_bad_args(void)
{
	struct uvirtio_blk_queue *q;
	struct env e;
	void *buf;

	CHECK_EQ(open_cfg(&e, NULL, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK(q);
	CHECK(!uvirtio_blk_get_queue(e.blk, 1000));
	CHECK_EQ(uvirtio_blk_q_get_id(q, NULL, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_reset(NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_set_bounce(NULL, 4096), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_set_bounce(q, (1ull << 32) + 1), -EINVAL);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 0, &buf), -EINVAL);
	env_close(&e);
	return PASS;
}

/* The fake has no keep-alive: enable works (it is memory), arm does not. */
static int t_blk_keepalive_refused(void)
{
	struct uvirtio_blk_queue *q;
	uint64_t token;
	uint8_t *buf;
	void *user, *user2;
	struct env e;

	CHECK_EQ(open_cfg(&e, NULL, NULL), 0);
	CHECK_EQ(uvirtio_blk_keepalive_enable(NULL, 16, &user), -EINVAL);
	CHECK_EQ(uvirtio_blk_keepalive_enable(e.blk, 16, NULL), -EINVAL);
	CHECK_EQ(uvirtio_blk_keepalive_arm(e.blk, 1000, &token), -EINVAL);
	/* not with a request in flight */
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_keepalive_enable(e.blk, 16, &user), -EBUSY);
	CHECK_EQ(uvirtio_blk_q_submit(q), 0);
	{
		struct uvirtio_blk_completion comp;

		CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, NULL), 1);
		CHECK_EQ(comp.ret, 0);
	}
	CHECK_EQ(uvirtio_blk_keepalive_enable(e.blk, 16, &user), 0);
	CHECK(user);
	CHECK_EQ(uvirtio_blk_keepalive_enable(e.blk, 16, &user2), -EALREADY);
	CHECK_EQ(uvirtio_blk_keepalive_arm(e.blk, 1000, &token), -EOPNOTSUPP);
	/* the backend call's own checks */
	CHECK_EQ(uvirtio_backend_keepalive(NULL, 0, NULL, NULL), -EINVAL);
	CHECK_EQ(uvirtio_backend_keepalive(e.be, 1000, NULL, NULL), -EINVAL);
	CHECK_EQ(uvirtio_backend_keepalive(e.be, 0, NULL, NULL), -EOPNOTSUPP);
	/* I/O goes on as before */
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 4096), 0);
	env_close(&e);
	return PASS;
}

static void packed_cfg(struct uvirtio_fake_config *c)
{
	c->features |= F(RING_PACKED);
}

static int t_blk_keepalive_packed(void)
{
	struct uvirtio_blk_params p = { .packed = true };
	void *user;
	struct env e;

	CHECK_EQ(open_cfg(&e, packed_cfg, &p), 0);
	CHECK_EQ(uvirtio_blk_keepalive_enable(e.blk, 16, &user), -EOPNOTSUPP);
	env_close(&e);
	return PASS;
}

/* Nothing to restore on a fresh backend; nothing claimed or released. */
static int t_blk_restore_nothing(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	struct uvirtio_blk *blk = NULL;
	struct uvirtio_dma d;
	void *user = NULL;
	size_t ulen = 0;
	int r;

	blkcfg(&c);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	r = uvirtio_blk_restore(be, NULL, &blk, &user, &ulen);
	CHECK(r < 0);
	CHECK(!blk);
	CHECK_EQ(uvirtio_blk_restore(NULL, NULL, &blk, &user, &ulen), -EINVAL);
	CHECK_EQ(uvirtio_backend_restored_state(be, &d), -ENOENT);
	CHECK_EQ(uvirtio_backend_restored(be, 0x1000, &d), -ENOENT);
	CHECK_EQ(uvirtio_backend_restored(be, 0x1000, NULL), -EINVAL);
	CHECK_EQ(uvirtio_backend_restored_release(be), 0);
	CHECK_EQ(uvirtio_backend_restored_release(NULL), 0);
	/* the device is still there to open */
	CHECK_EQ(uvirtio_blk_open(be, NULL, &blk), 0);
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	return PASS;
}

/* Device config writes: bounds, and what is written is read back. */
static int t_dev_write_config(void)
{
	const uint32_t wce = offsetof(struct virtio_blk_config, wce);
	struct uvirtio_dev *dev;
	uint8_t v = 1, back = 0;
	struct env e;
	uint32_t len;

	CHECK_EQ(open_cfg(&e, NULL, NULL), 0);
	dev = uvirtio_blk_device(e.blk);
	len = uvirtio_dev_config_len(dev);
	CHECK(len > wce);
	CHECK_EQ(uvirtio_dev_write_config(dev, wce, NULL, 1), -EINVAL);
	CHECK_EQ(uvirtio_dev_write_config(dev, len, &v, 1), -EINVAL);
	CHECK_EQ(uvirtio_dev_write_config(dev, len - 1, &len, 4), -EINVAL);
	CHECK_EQ(uvirtio_dev_write_config(dev, wce, &v, 1), 0);
	CHECK_EQ(uvirtio_dev_read_config(dev, wce, &back, 1), 0);
	CHECK_EQ(back, 1);
	/* a write the backend cannot do is reported, not dropped */
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_OP_FAIL_NTH,
				     1, 0), 0);
	v = 0;
	CHECK_EQ(uvirtio_dev_write_config(dev, wce, &v, 1), -EIO);
	env_close(&e);
	return PASS;
}

/* The backend's config write: only 1, 2 or 4 bytes wide. */
static int t_backend_cfg_write_width(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	uint64_t v = 0;

	blkcfg(&c);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_backend_cfg_write(be, 0, &v, 3), -EINVAL);
	CHECK_EQ(uvirtio_backend_cfg_write(be, 0, &v, 8), -EINVAL);
	CHECK_EQ(uvirtio_backend_cfg_read(be, 0, &v, 3), -EINVAL);
	uvirtio_backend_close(be);
	return PASS;
}

/* Interrupt routing is decided once; after surprise removal all is -ENODEV. */
static int t_dev_irq_queues_once_and_removal(void)
{
	struct uvirtio_dev *dev;
	struct env e;

	CHECK_EQ(open_cfg(&e, NULL, NULL), 0);
	dev = uvirtio_blk_device(e.blk);
	CHECK_EQ(uvirtio_dev_set_irq_queues(NULL, 1), -EINVAL);
	CHECK_EQ(uvirtio_dev_set_irq_queues(dev, 1), -EBUSY);
	CHECK_EQ(uvirtio_dev_check_status(dev), 0);
	/* removed, registers all-ones */
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_REMOVE, 0, 0),
		 0);
	CHECK(uvirtio_dev_check_status(dev) < 0);
	CHECK(uvirtio_dev_broken(dev) < 0);
	/* sticky */
	CHECK_EQ(uvirtio_dev_check_status(dev), uvirtio_dev_broken(dev));
	env_close(&e);
	return PASS;
}

/*
 * A device with fewer MSI-X vectors than queues + 1: the queues share
 * one (two vectors: config on 0, queues on 1; one vector: everything on
 * 0), and requests still complete on interrupts.
 */
static int few_vectors(uint16_t nvec)
{
	struct uvirtio_blk_params p = { .num_queues = 2 };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct env e;

	blkcfg(&c);
	c.num_queues = 2;
	c.msix_vectors = nvec;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_irq_mode(e.blk), UVIRTIO_DEV_IRQ_SHARED);
	CHECK_EQ(rw_workload(&e, 200, 4096), PASS);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.interrupts > 0);
	env_close(&e);
	return PASS;
}

static int t_blk_two_vectors(void)
{
	return few_vectors(2);
}

static int t_blk_one_vector(void)
{
	return few_vectors(1);
}

/*
 * uvirtio_dev_attach() takes over a running device only: not a fresh one,
 * not with features it does not offer or without VERSION_1, not on the
 * legacy transport; and one that is running, with what was negotiated.
 */
static int t_dev_attach_refused(void)
{
	struct uvirtio_dev_params legacy = {
		.transport = UVIRTIO_TRANSPORT_LEGACY };
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	struct uvirtio_dev *dev = NULL;
	struct uvirtio_blk *blk;
	uint64_t feat;

	blkcfg(&c);
	c.layout = UVIRTIO_FAKE_TRANSITIONAL;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_attach(NULL, NULL, F(VERSION_1), &dev), -EINVAL);
	/* never started: nothing to take over */
	CHECK_EQ(uvirtio_dev_attach(be, NULL, F(VERSION_1), &dev), -EIO);
	CHECK(!dev);
	CHECK_EQ(uvirtio_blk_open(be, NULL, &blk), 0);
	feat = uvirtio_dev_features(uvirtio_blk_device(blk));
	CHECK_EQ(uvirtio_dev_attach(be, &legacy, feat, &dev), -EOPNOTSUPP);
	CHECK_EQ(uvirtio_dev_attach(be, NULL, feat | (1ull << 60), &dev),
		 -EPROTO);
	CHECK_EQ(uvirtio_dev_attach(be, NULL, feat & ~F(VERSION_1), &dev),
		 -EPROTO);
	CHECK(!dev);
	/* the device was not touched: I/O goes on */
	{
		uint8_t *buf;

		CHECK_EQ(uvirtio_blk_alloc_buf(blk, 4096, (void **)&buf), 0);
		CHECK_EQ(uvirtio_blk_read(blk, 0, buf, 4096), 0);
	}
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	return PASS;
}

const struct tcase uv_blk_errors_tests[] = {
	{ "blk_refresh_capacity", t_blk_refresh_capacity },
	{ "blk_range_limits", t_blk_range_limits },
	{ "blk_max_transfer", t_blk_max_transfer },
	{ "blk_read_only", t_blk_read_only },
	{ "blk_no_discard", t_blk_no_discard },
	{ "blk_bad_args", t_blk_bad_args },
	{ "blk_keepalive_refused", t_blk_keepalive_refused },
	{ "blk_keepalive_packed", t_blk_keepalive_packed },
	{ "blk_restore_nothing", t_blk_restore_nothing },
	{ "dev_write_config", t_dev_write_config },
	{ "backend_cfg_write_width", t_backend_cfg_write_width },
	{ "dev_irq_queues_once_and_removal", t_dev_irq_queues_once_and_removal },
	{ "blk_two_vectors", t_blk_two_vectors },
	{ "blk_one_vector", t_blk_one_vector },
	{ "dev_attach_refused", t_dev_attach_refused },
};
const size_t uv_blk_errors_ntests = UV_ARRAY_LEN(uv_blk_errors_tests);
