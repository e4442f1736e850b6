// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_virtqueue.c - libuvirtio unit tests of the virtqueues: event index arithmetic and wrap-around,
 * NOTIFICATION_DATA, raw use of the ring API, reaping with a timeout,
 * VIRTIO_F_RING_RESET.
 * Part of test_runner (test_main.c), on the fake device.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

#include "unit.h"

static int t_need_event(void)
{
	/* event in [old, new) -> true, modulo 2^16 */
	CHECK(uvirtio_need_event(5, 6, 5));
	CHECK(!uvirtio_need_event(6, 6, 5));
	CHECK(!uvirtio_need_event(4, 6, 5));
	CHECK(uvirtio_need_event(0xffff, 2, 0xfffe));	/* wraps */
	CHECK(uvirtio_need_event(0, 2, 0xfffe));
	CHECK(!uvirtio_need_event(2, 2, 0xfffe));
	CHECK(!uvirtio_need_event(0xfffd, 2, 0xfffe));
	return PASS;
}

static int t_event_idx_wrap(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .poll = true };
	struct uvirtio_fake_stats st;
	struct env e;
	int r;

	/* > 65536 requests: the 16-bit indices wrap. */
	blkcfg(&c);
	c.queue_size = 8;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	r = rw_workload(&e, 66000, 512);
	CHECK_EQ(r, PASS);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.interrupts, 0);
	CHECK(st.doorbells <= st.completions);
	env_close(&e);
	c.features |= F(RING_PACKED);
	p.packed = true;
	p.poll = false;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	r = rw_workload(&e, 20000, 512);
	CHECK_EQ(r, PASS);
	env_close(&e);
	return PASS;
}

/* VIRTIO_F_NOTIFICATION_DATA: every doorbell says where the ring stands. */
static int notify_data_case(bool packed)
{
	struct uvirtio_blk_params bp = { .packed = packed };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_info info;
	uint8_t *buf;
	struct env e;
	int i;

	blkcfg(&c);
	c.features |= 1ull << 38;
	if (packed)
		c.features |= F(RING_PACKED);
	CHECK_EQ(env_open(&e, &c, &bp), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK(info.features & (1ull << 38));
	CHECK_EQ(!!(info.features & F(RING_PACKED)), packed);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	/* enough requests to wrap a 64-entry ring twice */
	for (i = 0; i < 150; i++)
		CHECK_EQ(uvirtio_blk_write(e.blk, (uint64_t)(i % 64) * 4096,
					   buf, 4096), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.notify_data_seen >= 150);
	CHECK_EQ(st.notify_data_errors, 0);
	CHECK_EQ(st.device_errors, 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

static int t_notification_data(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_info info;
	struct env e;

	CHECK_EQ(notify_data_case(false), PASS);
	CHECK_EQ(notify_data_case(true), PASS);
	/* not offered: not negotiated, 16-bit doorbells as before */
	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK(!(info.features & (1ull << 38)));
	env_close(&e);
	return PASS;
}

static int t_reap_timeout(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_completion comp[4];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	/* nothing in flight: returns at once with 0 */
	CHECK_EQ(uvirtio_blk_q_reap(uvirtio_blk_get_queue(e.blk, 0), 1, 4,
				    comp, &ts), 0);
	CHECK_EQ(uvirtio_blk_q_reap(uvirtio_blk_get_queue(e.blk, 0), 5, 4,
				    comp, &ts), -EINVAL);
	env_close(&e);
	return PASS;
}

/* Raw virtqueue API: enable_cb re-check and eventfd delivery. */
static int t_vq_raw(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_dev_params dp = { .wanted = RING_F(EVENT_IDX) };
	struct uvirtq_params vp = { .size = 8, .use_interrupts = true, .cpu = -1 };
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct uvirtq *vq;
	struct uvirtq_buf b;
	void *cookie;
	uint32_t len;
	uint64_t v;
	int fd, r, i;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtq_create(dev, 1, &vp, &vq), -ENODEV);
	vp.size = 6;
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), -EINVAL);	/* not 2^n */
	vp.size = 8;
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	fd = uvirtq_eventfd(vq);
	CHECK(fd >= 0);
	b = (struct uvirtq_buf){ d.iova, 64 };
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, NULL), -EINVAL);
	CHECK_EQ(uvirtq_enable_cb(vq), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), 0);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), -EAGAIN);
	CHECK_EQ(uvirtq_num_free(vq), 0);
	CHECK_EQ(uvirtq_kick(vq), 1);
	/* wait for the interrupt */
	for (i = 0; i < 5000; i++) {
		if (read(fd, &v, 8) == 8)
			break;
		usleep(1000);
	}
	CHECK(i < 5000);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 1);
		CHECK(cookie == &d);
		CHECK_EQ(len, 64);
	}
	CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 0);
	CHECK_EQ(uvirtq_in_flight(vq), 0);
	/* enable_cb reports completions that are already there */
	uvirtq_disable_cb(vq);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), 0);
	uvirtq_kick(vq);
	for (i = 0; i < 5000 && uvirtq_enable_cb(vq) == 0; i++) {
		uvirtq_disable_cb(vq);
		usleep(1000);
	}
	r = uvirtq_enable_cb(vq);
	CHECK_EQ(r, 1);
	CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 1);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

/* Wait (bounded) until the fake has completed @n requests in all. */
static int wait_completions(struct env *e, uint64_t n)
{
	struct uvirtio_fake_stats st;
	int i;

	for (i = 0; i < 5000; i++) {
		uvirtio_fake_get_stats(e->fake, &st);
		if (st.completions >= n)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/*
 * VIRTIO_F_RING_RESET: queue 0 of two is reset with requests on it that
 * the device completed but that were not reaped, and more that were only
 * enqueued; they all come back -ECANCELED, queue 1's requests are not
 * touched, and queue 0 then reads back what it writes.
 */
static int ring_reset_case(bool packed, bool poll)
{
	struct uvirtio_blk_params p = { .num_queues = 2, .packed = packed,
					.poll = poll };
	struct uvirtio_blk_completion comp[16];
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_queue *q0, *q1;
	uint8_t *wbuf, *rbuf;
	bool seen[8] = { false };
	struct env e;
	int i, n;

	blkcfg(&c);
	c.num_queues = 2;
	c.queue_size = 16;
	c.features |= F(RING_RESET) | (packed ? F(RING_PACKED) : 0);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.driver_features & F(RING_RESET));
	CHECK_EQ(!!(st.driver_features & F(RING_PACKED)), packed);
	q0 = uvirtio_blk_get_queue(e.blk, 0);
	q1 = uvirtio_blk_get_queue(e.blk, 1);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 16 * 4096, (void **)&wbuf), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 16 * 4096, (void **)&rbuf), 0);
	pattern(wbuf, 16 * 4096, 5);

	/* queue 1: two writes enqueued, not yet submitted */
	for (i = 0; i < 2; i++)
		CHECK_EQ(uvirtio_blk_q_write(q1, (uint64_t)(100 + i) * 4096,
					     wbuf + (size_t)(8 + i) * 4096, 4096,
					     (void *)(uintptr_t)(200 + i)), 0);
	/* queue 0: three the device finishes, two it never sees */
	for (i = 0; i < 3; i++)
		CHECK_EQ(uvirtio_blk_q_write(q0, (uint64_t)i * 4096,
					     wbuf + (size_t)i * 4096, 4096,
					     (void *)(uintptr_t)(100 + i)), 0);
	CHECK_EQ(uvirtio_blk_q_submit(q0), 0);
	CHECK_EQ(wait_completions(&e, 3), 0);
	for (i = 3; i < 5; i++)
		CHECK_EQ(uvirtio_blk_q_write(q0, (uint64_t)i * 4096,
					     wbuf + (size_t)i * 4096, 4096,
					     (void *)(uintptr_t)(100 + i)), 0);
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 5);

	CHECK_EQ(uvirtio_blk_q_reset(q0), 0);
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 5);
	n = uvirtio_blk_q_reap(q0, 5, 16, comp, NULL);
	CHECK_EQ(n, 5);
	for (i = 0; i < n; i++) {
		uintptr_t ud = (uintptr_t)comp[i].user_data;

		CHECK_EQ(comp[i].ret, -ECANCELED);
		CHECK(ud >= 100 && ud < 105 && !seen[ud - 100]);
		seen[ud - 100] = true;
	}
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 0);

	/* queue 1 was not touched: its requests go through */
	n = uvirtio_blk_q_reap(q1, 2, 16, comp, NULL);
	CHECK_EQ(n, 2);
	for (i = 0; i < n; i++)
		CHECK_EQ(comp[i].ret, 0);

	/* queue 0 works again, from a fresh ring, many times round it */
	for (i = 0; i < 40; i++) {
		CHECK_EQ(uvirtio_blk_q_write(q0, (uint64_t)(i % 16) * 4096,
					     wbuf + (size_t)(i % 16) * 4096,
					     4096, (void *)(uintptr_t)1), 0);
		CHECK_EQ(uvirtio_blk_q_reap(q0, 1, 16, comp, NULL), 1);
		CHECK_EQ(comp[0].ret, 0);
	}
	memset(rbuf, 0, 16 * 4096);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, rbuf, 16 * 4096), 0);
	CHECK(memcmp(rbuf, wbuf, 16 * 4096) == 0);
	memset(rbuf, 0, 2 * 4096);
	CHECK_EQ(uvirtio_blk_read(e.blk, 100 * 4096, rbuf, 2 * 4096), 0);
	CHECK(memcmp(rbuf, wbuf + 8 * 4096, 2 * 4096) == 0);

	/* an idle reset, then I/O again */
	CHECK_EQ(uvirtio_blk_q_reset(q0), 0);
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 4096, rbuf, 4096), 0);
	CHECK(memcmp(rbuf, wbuf + 4096, 4096) == 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.device_errors, 0);
	uvirtio_blk_free_buf(e.blk, wbuf);
	uvirtio_blk_free_buf(e.blk, rbuf);
	env_close(&e);
	return PASS;
}

static int t_ring_reset(void)
{
	int m, ret;

	for (m = 0; m < 4; m++) {
		ret = ring_reset_case(m & 1, m & 2);
		if (ret) {
			fprintf(stderr, "  packed=%d poll=%d\n", m & 1, !!(m & 2));
			return ret;
		}
	}
	return PASS;
}

/* Not offered, or a transport without it: -EOPNOTSUPP, queue unharmed. */
static int t_ring_reset_unsupported(void)
{
	struct uvirtio_blk_params p = { 0 };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(!(st.driver_features & F(RING_RESET)));
	CHECK_EQ(uvirtio_blk_q_reset(uvirtio_blk_get_queue(e.blk, 0)),
		 -EOPNOTSUPP);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 4096), 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);

	/* offered, but the legacy interface has no queue_reset */
	blkcfg(&c);
	c.layout = UVIRTIO_FAKE_TRANSITIONAL;
	c.features |= F(RING_RESET);
	p.transport = UVIRTIO_TRANSPORT_LEGACY;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_q_reset(uvirtio_blk_get_queue(e.blk, 0)),
		 -EOPNOTSUPP);
	env_close(&e);
	return PASS;
}

/* A reset that never completes: -ETIMEDOUT, that queue broken, no hang. */
static int t_ring_reset_stuck(void)
{
	struct uvirtio_blk_params p = { .num_queues = 2 };
	struct uvirtio_blk_completion comp[4];
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q0, *q1;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	c.features |= F(RING_RESET);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q0 = uvirtio_blk_get_queue(e.blk, 0);
	q1 = uvirtio_blk_get_queue(e.blk, 1);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_q_write(q0, 0, buf, 4096, buf), 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake,
				     UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK, 0, 0),
		 0);
	CHECK_EQ(uvirtio_blk_q_reset(q0), -ETIMEDOUT);
	CHECK(uvirtio_blk_q_write(q0, 0, buf, 4096, buf) < 0);
	CHECK(uvirtio_blk_q_reset(q0) < 0);
	/* the other queue keeps working */
	CHECK_EQ(uvirtio_blk_q_write(q1, 4096, buf, 4096, buf), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q1, 1, 4, comp, NULL), 1);
	CHECK_EQ(comp[0].ret, 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

const struct tcase uv_virtqueue_tests[] = {
	{ "need_event", t_need_event },
	{ "vq_raw", t_vq_raw },
	{ "event_idx_wrap", t_event_idx_wrap },
	{ "notification_data", t_notification_data },
	{ "ring_reset", t_ring_reset },
	{ "ring_reset_unsupported", t_ring_reset_unsupported },
	{ "ring_reset_stuck", t_ring_reset_stuck },
	{ "reap_timeout", t_reap_timeout },
};
const size_t uv_virtqueue_ntests = UV_ARRAY_LEN(uv_virtqueue_tests);
