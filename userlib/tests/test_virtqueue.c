// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_virtqueue.c - libuvirtio unit tests of the virtqueues: event index arithmetic and wrap-around,
 * NOTIFICATION_DATA and NOTIF_CONFIG_DATA, raw use of the ring API,
 * publishing without a kick, reaping
 * with a timeout, VIRTIO_F_RING_RESET, VIRTIO_F_IN_ORDER (batched
 * completion, ring-order placement, and the lies an in-order device can
 * tell).
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

/* VIRTIO_F_NOTIF_CONFIG_DATA: Linux 6.1's <linux/virtio_config.h> lacks it */
#define F_NOTIF_CONFIG_DATA (1ull << 39)

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

/*
 * Fetch @n completions of @vq, waiting up to 5 s; each must carry
 * @cookie.  Return: how many came (-1 on an error or a wrong cookie).
 */
static int reap_used(struct uvirtq *vq, int n, void *cookie)
{
	void *got_cookie;
	uint32_t len;
	int i, got = 0;

	for (i = 0; i < 5000 && got < n; i++) {
		int r = uvirtq_get_used(vq, &got_cookie, &len);

		if (r < 0 || (r == 1 && got_cookie != cookie))
			return -1;
		if (r == 1)
			got++;
		else
			usleep(1000);
	}
	return got;
}

/*
 * uvirtq_publish() makes requests visible and does not ring; the next
 * uvirtq_kick() still decides for them (the fake wants every doorbell:
 * no EVENT_IDX, no NO_NOTIFY), and completions come back.  After a
 * ring's worth without a kick, publishing decides itself.
 */
static int publish_case(bool packed)
{
	struct uvirtio_fake_config c;
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtq_params vp = { .size = 8, .cpu = -1 };
	struct uvirtio_fake_stats st;
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct uvirtq *vq;
	struct uvirtq_buf b;
	uint64_t db;
	int i;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	if (packed) {
		c.features |= F(RING_PACKED);
		dp.wanted = F(RING_PACKED);
		dp.required = F(RING_PACKED);
	}
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtq_is_packed(vq), packed);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	b = (struct uvirtq_buf){ d.iova, 64 };
	/* nothing added: nothing to publish or to kick */
	CHECK_EQ(uvirtq_publish(vq), 0);
	CHECK_EQ(uvirtq_kick(vq), 0);
	uvirtio_fake_get_stats(f, &st);
	db = st.doorbells;
	for (i = 0; i < 2; i++)
		CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), 0);
	CHECK_EQ(uvirtq_publish(vq), 0);
	CHECK_EQ(uvirtq_publish(vq), 0);
	uvirtio_fake_get_stats(f, &st);
	CHECK_EQ(st.doorbells, db);
	/* the kick rings for the two published requests */
	CHECK_EQ(uvirtq_kick(vq), 1);
	CHECK_EQ(uvirtq_kick(vq), 0);
	CHECK_EQ(reap_used(vq, 2, &d), 2);
	uvirtio_fake_get_stats(f, &st);
	CHECK_EQ(st.doorbells, db + 1);
	/*
	 * A ring's worth published without a kick: the eighth publish
	 * decides on the notification itself, and this device wants it.
	 */
	for (i = 0; i < 8; i++) {
		CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), 0);
		CHECK_EQ(uvirtq_publish(vq), i < 7 ? 0 : 1);
	}
	CHECK_EQ(uvirtq_kick(vq), 0);
	CHECK_EQ(reap_used(vq, 8, &d), 8);
	uvirtio_fake_get_stats(f, &st);
	CHECK_EQ(st.doorbells, db + 2);
	CHECK_EQ(st.device_errors, 0);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_vq_publish(void)
{
	CHECK_EQ(publish_case(false), PASS);
	CHECK_EQ(publish_case(true), PASS);
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
static int ring_reset_case(bool packed, bool poll, bool in_order)
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
	c.features |= F(RING_RESET) | (packed ? F(RING_PACKED) : 0) |
		      (in_order ? F(IN_ORDER) : 0);
	c.inorder_batch = 3;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.driver_features & F(RING_RESET));
	CHECK_EQ(!!(st.driver_features & F(IN_ORDER)), in_order);
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
	/* in order: the reset ring starts over at descriptor 0 */
	CHECK_EQ(st.inorder_errors, 0);
	uvirtio_blk_free_buf(e.blk, wbuf);
	uvirtio_blk_free_buf(e.blk, rbuf);
	env_close(&e);
	return PASS;
}

static int t_ring_reset(void)
{
	int m, ret;

	for (m = 0; m < 8; m++) {
		ret = ring_reset_case(m & 1, m & 2, m & 4);
		if (ret) {
			fprintf(stderr, "  packed=%d poll=%d in_order=%d\n",
				m & 1, !!(m & 2), !!(m & 4));
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

/* ---- VIRTIO_F_IN_ORDER ------------------------------------------------- */

/*
 * blk over a fake that offers IN_ORDER and completes @batch requests
 * per used entry: negotiated, every chain placed in ring order (the fake
 * counts those that are not), batches really made, the data right, many
 * times round the ring.
 */
static int in_order_case(bool packed, bool ind, uint16_t batch)
{
	struct uvirtio_blk_params p = { .packed = packed, .no_indirect = !ind };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct env e;

	blkcfg(&c);
	c.queue_size = 16;	/* 3-descriptor chains wrap it often */
	c.features |= F(IN_ORDER) | (packed ? F(RING_PACKED) : 0);
	c.inorder_batch = batch;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.driver_features & F(IN_ORDER));
	CHECK_EQ(!!(st.driver_features & F(RING_PACKED)), packed);
	CHECK_EQ(rw_workload(&e, 3000, 512), PASS);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.inorder_errors, 0);
	CHECK_EQ(st.device_errors, 0);
	if (batch > 1)
		CHECK(st.inorder_batches > 0);
	else
		CHECK_EQ(st.inorder_batches, 0);
	env_close(&e);
	return PASS;
}

static int t_in_order(void)
{
	static const uint16_t batches[] = { 1, 4, 16 };
	unsigned int m, b;
	int ret;

	for (m = 0; m < 4; m++) {
		for (b = 0; b < UV_ARRAY_LEN(batches); b++) {
			ret = in_order_case(m & 1, m & 2, batches[b]);
			if (ret) {
				fprintf(stderr, "  packed=%d indirect=%d batch=%u\n",
					m & 1, !!(m & 2), batches[b]);
				return ret;
			}
		}
	}
	return PASS;
}

/*
 * Offered but opted out of: not negotiated, one used entry per request
 * (the fake batches only in order).  Taken: keep-alive, whose restore
 * cannot rebuild a ring-order queue, refuses the device.
 */
static int t_in_order_opt_out(void)
{
	struct uvirtio_blk_params p = { .no_in_order = true };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct env e;
	void *user;

	blkcfg(&c);
	c.features |= F(IN_ORDER);
	c.inorder_batch = 4;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(!(st.driver_features & F(IN_ORDER)));
	CHECK_EQ(rw_workload(&e, 500, 512), PASS);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.inorder_batches, 0);
	CHECK_EQ(st.device_errors, 0);
	env_close(&e);

	/* negotiated: keep-alive cannot rebuild a ring-order queue */
	p.no_in_order = false;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_keepalive_enable(e.blk, 4096, &user), -EOPNOTSUPP);
	env_close(&e);
	return PASS;
}

/*
 * Raw ring API on rng: chains of 1, 2 and 3 buffers, completed 3 per
 * used entry, on a split ring of 8 and a packed ring of 6 (not a power
 * of two: the in-order walk wraps mid-chain).  Every cookie comes back
 * once, oldest first, with the length the device wrote (the rng fills
 * every buffer, so the implied ones' full length is the truth too).
 */
static int in_order_raw_case(bool packed)
{
	struct uvirtio_fake_config c;
	struct uvirtio_dev_params dp = {
		.wanted = F(IN_ORDER) | (packed ? F(RING_PACKED) : 0),
	};
	struct uvirtq_params vp = { .size = packed ? 6 : 8, .cpu = -1 };
	struct uvirtio_fake_stats st;
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct uvirtq *vq, *vq2;
	struct uvirtq_buf b[3];
	uintptr_t next_add = 1, next_get = 1;
	size_t plen;
	void *pmem;
	void *cookie;
	uint32_t len;
	int i, k, r, round;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	c.features |= F(IN_ORDER) | (packed ? F(RING_PACKED) : 0);
	c.features &= ~RING_F(INDIRECT_DESC);
	c.inorder_batch = 3;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK(uvirtio_dev_has_feature(dev, VIRTIO_F_IN_ORDER));
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtq_is_packed(vq), packed);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	/* persistent queues refuse ring order: their rebuild would break it */
	plen = uvirtq_persist_size(vp.size);
	pmem = malloc(plen);
	CHECK(pmem != NULL);
	CHECK_EQ(uvirtq_set_persist(vq, pmem, plen), -EOPNOTSUPP);
	CHECK_EQ(uvirtq_restore(dev, 0, &vp, uvirtq_ring_iova(vq), 0, pmem,
				plen, &vq2), -EOPNOTSUPP);
	free(pmem);
	for (i = 0; i < 3; i++)
		b[i] = (struct uvirtq_buf){ d.iova + 512u * i, 16u + 8u * i };
	for (round = 0; round < 200; round++) {
		/* fill what fits: chain length (cookie % 3) + 1 */
		for (;;) {
			unsigned int n = (unsigned int)(next_add % 3) + 1;

			r = uvirtq_add(vq, NULL, 0, b, n, (void *)next_add);
			if (r == -EAGAIN)
				break;
			CHECK_EQ(r, 0);
			next_add++;
		}
		uvirtq_kick(vq);
		if (round == 0) {
			/*
			 * All done, one fetched: the rest of its batch is
			 * pending though the ring (packed) shows nothing.
			 */
			for (i = 0; i < 5000; i++) {
				uvirtio_fake_get_stats(f, &st);
				if (st.completions == next_add - 1)
					break;
				usleep(100);
			}
			CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 1);
			CHECK_EQ((uintptr_t)cookie, next_get);
			next_get++;
			CHECK_EQ(uvirtq_enable_cb(vq), 1);
			uvirtq_disable_cb(vq);
		}
		for (i = 0; i < 5000 && next_get < next_add; i++) {
			r = uvirtq_get_used(vq, &cookie, &len);
			CHECK(r >= 0);
			if (!r) {
				usleep(100);
				continue;
			}
			CHECK_EQ((uintptr_t)cookie, next_get);
			k = (int)(next_get % 3) + 1;
			CHECK_EQ(len, (uint32_t)(16 * k + 8 * k * (k - 1) / 2));
			next_get++;
		}
		CHECK_EQ(next_get, next_add);
		CHECK_EQ(uvirtq_in_flight(vq), 0);
		CHECK_EQ(uvirtq_num_free(vq), vp.size);
	}
	uvirtio_fake_get_stats(f, &st);
	CHECK(st.inorder_batches > 0);
	CHECK_EQ(st.inorder_errors, 0);
	CHECK_EQ(st.device_errors, 0);
	CHECK_EQ(st.completions, next_add - 1);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_in_order_raw(void)
{
	CHECK_EQ(in_order_raw_case(false), PASS);
	CHECK_EQ(in_order_raw_case(true), PASS);
	return PASS;
}

/*
 * A lying in-order device: blk requests with IN_ORDER, then @fault; the
 * queue breaks with -EIO and stays broken.  @nreq requests go in one
 * submission.
 */
static int in_order_lie_case(enum uvirtio_fake_fault fault, bool packed,
			     bool ind, unsigned int nreq)
{
	struct uvirtio_blk_params p = { .packed = packed, .no_indirect = !ind };
	struct uvirtio_blk_completion comp[4];
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q;
	uint8_t *buf;
	struct env e;
	unsigned int i;
	int r;

	blkcfg(&c);
	c.features |= F(IN_ORDER) | (packed ? F(RING_PACKED) : 0);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4 * 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);	/* healthy */
	CHECK_EQ(uvirtio_fake_inject(e.fake, fault, 0, 0), 0);
	for (i = 0; i < nreq; i++)
		CHECK_EQ(uvirtio_blk_q_read(q, i * 4096ull, buf + i * 4096ull,
					    4096, NULL), 0);
	r = uvirtio_blk_q_reap(q, 1, 4, comp, NULL);
	if (fault == UVIRTIO_FAKE_FAULT_DUP_USED && r == 1) {
		/* the genuine one first; the copy trips the next look */
		struct timespec zero = { 0, 0 };

		CHECK_EQ(comp[0].ret, 0);
		for (i = 0; i < 1000; i++) {
			r = uvirtio_blk_q_reap(q, 0, 4, comp, &zero);
			if (r != 0)
				break;
			usleep(1000);
		}
	}
	CHECK_EQ(r, -EIO);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), -EIO);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)), -EIO);
	env_close(&e);
	return PASS;
}

/*
 * Split: the device completes the first of two chains but names the
 * second, which the used index (moved by one) does not cover.  Without
 * the check the driver would hand out both, the second one unfinished.
 * Packed: one chain, and the device names the slot after it, where no
 * chain is in flight.
 */
static int t_in_order_lie_ahead(void)
{
	CHECK_EQ(in_order_lie_case(UVIRTIO_FAKE_FAULT_INORDER_AHEAD, false,
				   false, 2), PASS);
	CHECK_EQ(in_order_lie_case(UVIRTIO_FAKE_FAULT_INORDER_AHEAD, false,
				   true, 2), PASS);
	CHECK_EQ(in_order_lie_case(UVIRTIO_FAKE_FAULT_INORDER_AHEAD, true,
				   false, 1), PASS);
	CHECK_EQ(in_order_lie_case(UVIRTIO_FAKE_FAULT_INORDER_AHEAD, true,
				   true, 1), PASS);
	/* split, one chain: the id names a descriptor nobody posted */
	CHECK_EQ(in_order_lie_case(UVIRTIO_FAKE_FAULT_INORDER_AHEAD, false,
				   true, 1), PASS);
	return PASS;
}

/* The lies of test_faults.c, told by an in-order device. */
static int t_in_order_faults(void)
{
	static const enum uvirtio_fake_fault faults[] = {
		UVIRTIO_FAKE_FAULT_BAD_USED_ID,
		UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD,
		UVIRTIO_FAKE_FAULT_BAD_USED_LEN,
		UVIRTIO_FAKE_FAULT_DUP_USED,
	};
	unsigned int i, m;
	int ret;

	for (i = 0; i < UV_ARRAY_LEN(faults); i++) {
		for (m = 0; m < 4; m++) {
			ret = in_order_lie_case(faults[i], m & 1, m & 2, 1);
			if (ret) {
				fprintf(stderr, "  fault=%d packed=%d indirect=%d\n",
					faults[i], m & 1, !!(m & 2));
				return ret;
			}
		}
	}
	CHECK_EQ(in_order_lie_case(UVIRTIO_FAKE_FAULT_USED_IDX_JUMP, false,
				   true, 1), PASS);
	return PASS;
}

/* ---- VIRTIO_F_NOTIF_CONFIG_DATA --------------------------------------- */

/*
 * The doorbell names the queue by the queue_notify_data the fake gives
 * (0xa000 + 0x11 * index), alone or under NOTIFICATION_DATA, on two
 * queues; not offered: the index, as before.
 */
static int notif_config_case(bool packed, bool nd)
{
	struct uvirtio_blk_params bp = { .packed = packed, .num_queues = 2 };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_completion comp;
	uint8_t *buf;
	struct env e;
	int i;

	blkcfg(&c);
	c.features |= F_NOTIF_CONFIG_DATA | (nd ? 1ull << 38 : 0) |
		      (packed ? F(RING_PACKED) : 0);
	CHECK_EQ(env_open(&e, &c, &bp), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.driver_features & F_NOTIF_CONFIG_DATA);
	CHECK_EQ(!!(st.driver_features & (1ull << 38)), nd);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	for (i = 0; i < 100; i++) {
		struct uvirtio_blk_queue *q = uvirtio_blk_get_queue(e.blk,
								    i & 1);

		CHECK_EQ(uvirtio_blk_q_write(q, (uint64_t)(i % 64) * 4096,
					     buf, 4096, buf), 0);
		CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, NULL), 1);
		CHECK_EQ(comp.ret, 0);
	}
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.notif_config_data_seen >= 100);
	CHECK_EQ(st.notify_data_errors, 0);
	CHECK_EQ(st.device_errors, 0);
	/* the last doorbell was queue 1's */
	CHECK_EQ(st.last_notify_data & 0xffff, 0xa011);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

static int t_notif_config_data(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct env e;
	int m;

	for (m = 0; m < 4; m++) {
		if (notif_config_case(m & 1, m & 2) != PASS) {
			fprintf(stderr, "  packed=%d notification_data=%d\n",
				m & 1, !!(m & 2));
			return FAIL;
		}
	}
	/* the legacy interface has no queue_notify_data: not negotiated */
	blkcfg(&c);
	c.layout = UVIRTIO_FAKE_TRANSITIONAL;
	c.features |= F_NOTIF_CONFIG_DATA;
	{
		struct uvirtio_blk_params p = {
			.transport = UVIRTIO_TRANSPORT_LEGACY };

		CHECK_EQ(env_open(&e, &c, &p), 0);
	}
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(!(st.driver_features & F_NOTIF_CONFIG_DATA));
	env_close(&e);
	return PASS;
}

const struct tcase uv_virtqueue_tests[] = {
	{ "need_event", t_need_event },
	{ "vq_raw", t_vq_raw },
	{ "vq_publish", t_vq_publish },
	{ "event_idx_wrap", t_event_idx_wrap },
	{ "notification_data", t_notification_data },
	{ "ring_reset", t_ring_reset },
	{ "ring_reset_unsupported", t_ring_reset_unsupported },
	{ "ring_reset_stuck", t_ring_reset_stuck },
	{ "reap_timeout", t_reap_timeout },
	{ "in_order", t_in_order },
	{ "in_order_opt_out", t_in_order_opt_out },
	{ "in_order_raw", t_in_order_raw },
	{ "in_order_lie_ahead", t_in_order_lie_ahead },
	{ "in_order_faults", t_in_order_faults },
	{ "notif_config_data", t_notif_config_data },
};
const size_t uv_virtqueue_ntests = UV_ARRAY_LEN(uv_virtqueue_tests);
