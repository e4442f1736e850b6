// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_faults.c - libuvirtio unit tests of a misbehaving device: the fake device's injected faults (bad
 * used ids and lengths, corrupted descriptors, NEEDS_RESET, surprise
 * removal, unmaps under requests in flight).
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

/* Inject @fault, issue one request, expect -EIO and a broken device. */
static int fault_case(enum uvirtio_fake_fault fault, bool packed, bool ind)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .packed = packed, .no_indirect = !ind };
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	uint8_t *buf;
	struct env e;
	int r;

	blkcfg(&c);
	if (packed)
		c.features |= F(RING_PACKED);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 8192, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);	/* healthy */
	CHECK_EQ(uvirtio_fake_inject(e.fake, fault, 0, 0), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	r = uvirtio_blk_q_reap(q, 1, 1, &comp, NULL);
	if (fault == UVIRTIO_FAKE_FAULT_DUP_USED && r == 1) {
		/*
		 * Split usually catches the duplicate at once (used index
		 * ahead of the in-flight count).  Otherwise the genuine
		 * completion comes first and the duplicate, whose id is no
		 * longer in flight, trips the next look at the ring.  Post
		 * nothing new meanwhile: in the packed ring a new request
		 * would overwrite (and hide) the duplicate.
		 */
		struct timespec zero = { 0, 0 };
		int i;

		CHECK_EQ(comp.ret, 0);
		for (i = 0; i < 1000; i++) {
			r = uvirtio_blk_q_reap(q, 0, 1, &comp, &zero);
			if (r != 0)
				break;
			usleep(1000);
		}
	}
	CHECK_EQ(r, -EIO);
	/* sticky: every later call fails cleanly */
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), -EIO);
	CHECK_EQ(uvirtio_blk_q_submit(q), -EIO);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)), -EIO);
	env_close(&e);
	return PASS;
}

static int t_fault_bad_used_id(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_ID, false, true), PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_ID, true, true), PASS);
	return PASS;
}

static int t_fault_used_id_not_head(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD, false, false),
		 PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD, true, false),
		 PASS);
	return PASS;
}

static int t_fault_bad_used_len(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_LEN, false, true), PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_LEN, true, false), PASS);
	return PASS;
}

static int t_fault_used_idx_jump(void)
{
	return fault_case(UVIRTIO_FAKE_FAULT_USED_IDX_JUMP, false, true);
}

static int t_fault_dup_used(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_DUP_USED, false, true), PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_DUP_USED, true, true), PASS);
	return PASS;
}

static int corrupt_case(bool packed)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .packed = packed, .no_indirect = true };
	struct uvirtio_fake_stats st;
	uint8_t *buf;
	struct env e;
	int i;

	blkcfg(&c);
	c.queue_size = 16;
	if (packed)
		c.features |= F(RING_PACKED);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 8192, (void **)&buf), 0);
	for (i = 0; i < 5; i++) {
		CHECK_EQ(uvirtio_fake_inject(e.fake,
				UVIRTIO_FAKE_FAULT_CORRUPT_DESC, 0, 0), 0);
		pattern(buf, 4096, (uint32_t)i);
		CHECK_EQ(uvirtio_blk_write(e.blk, 4096 * (unsigned)i, buf, 4096),
			 0);
	}
	/* Cycle the ring several times: free state must still be sane. */
	for (i = 0; i < 200; i++) {
		pattern(buf, 4096, (uint32_t)(i % 5));
		CHECK_EQ(uvirtio_blk_read(e.blk, 4096 * (unsigned)(i % 5),
					  buf + 4096, 4096), 0);
		CHECK(memcmp(buf, buf + 4096, 4096) == 0);
	}
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.device_errors, 0);
	env_close(&e);
	return PASS;
}

static int t_fault_corrupt_desc(void)
{
	CHECK_EQ(corrupt_case(false), PASS);
	CHECK_EQ(corrupt_case(true), PASS);
	return PASS;
}

static int needs_reset_case(bool poll)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .poll = poll };
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_NEEDS_RESET,
				     0, 0), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), -UVIRTIO_ENEEDS_RESET);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)),
		 -UVIRTIO_ENEEDS_RESET);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL),
		 -UVIRTIO_ENEEDS_RESET);
	env_close(&e);
	return PASS;
}

static int t_fault_needs_reset(void)
{
	CHECK_EQ(needs_reset_case(false), PASS);
	CHECK_EQ(needs_reset_case(true), PASS);
	return PASS;
}

/*
 * Surprise removal: the device stops answering.  reap() must return
 * -ENODEV (not wait for a completion that never comes), in interrupt and
 * polling mode, whether the registers read all-ones or, as with a
 * scratch page a late write landed in, keep plausible values.
 */
static int removed_case(bool poll, uint64_t frozen)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .poll = poll };
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK(!uvirtio_backend_removed(e.be));
	CHECK(uvirtio_backend_remove_fd(e.be) >= 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_REMOVE,
				     frozen, 0), 0);
	CHECK(uvirtio_backend_removed(e.be));
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), -ENODEV);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)), -ENODEV);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), -ENODEV);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), -ENODEV);
	env_close(&e);
	return PASS;
}

/*
 * A pulled function's rings read all-ones, which the virtqueue rejects;
 * the caller must hear -ENODEV (the device is gone), not -EIO.
 */
static int removed_garbage_case(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	struct pollfd pfd;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_BAD_USED_ID,
				     0, 0), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_submit(q), 0);
	/* the bogus completion is in the ring once the interrupt came */
	pfd.fd = uvirtio_blk_q_fd(q);
	pfd.events = POLLIN;
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_REMOVE, 1, 0), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), -ENODEV);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), -ENODEV);
	env_close(&e);
	return PASS;
}

/*
 * Unmapping a buffer while a request on it is in flight is a caller bug
 * that an IOMMU turns into lost data while the device reports success:
 * the completion must say -EFAULT.  Unmapping an unrelated buffer must
 * not fail the request.
 */
static int unmapped_inflight_case(bool related)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	struct pollfd pfd;
	uint8_t *buf, *other;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	buf = aligned_alloc(4096, 4096);
	other = aligned_alloc(4096, 4096);
	CHECK(buf && other);
	CHECK_EQ(uvirtio_blk_map_mem(e.blk, buf, 4096), 0);
	CHECK_EQ(uvirtio_blk_map_mem(e.blk, other, 4096), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, buf), 0);
	CHECK_EQ(uvirtio_blk_q_submit(q), 0);
	pfd.fd = uvirtio_blk_q_fd(q);
	pfd.events = POLLIN;
	CHECK_EQ(poll(&pfd, 1, 5000), 1);	/* the device is done */
	CHECK_EQ(uvirtio_blk_unmap_mem(e.blk, related ? buf : other), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), 1);
	CHECK(comp.user_data == buf);
	CHECK_EQ(comp.ret, related ? -EFAULT : 0);
	/* a request built after the unmap is not affected by it */
	CHECK_EQ(uvirtio_blk_q_read(q, 0, related ? other : buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), 1);
	CHECK_EQ(comp.ret, 0);
	env_close(&e);
	free(buf);
	free(other);
	return PASS;
}

static int t_unmapped_inflight(void)
{
	CHECK_EQ(unmapped_inflight_case(true), PASS);
	CHECK_EQ(unmapped_inflight_case(false), PASS);
	return PASS;
}

static int t_fault_removed(void)
{
	CHECK_EQ(removed_garbage_case(), PASS);
	CHECK_EQ(removed_case(false, 0), PASS);
	CHECK_EQ(removed_case(false, 1), PASS);
	CHECK_EQ(removed_case(true, 0), PASS);
	CHECK_EQ(removed_case(true, 1), PASS);
	return PASS;
}

/* Raw virtqueue: a used id that is not an in-flight chain head. */
static int vq_not_head_case(bool packed)
{
	struct uvirtio_fake_config c;
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtq_params vp = { .size = 8, .cpu = -1 };
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct uvirtq *vq;
	struct uvirtq_buf b[3];
	void *cookie;
	uint32_t len;
	int i, r = 0;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	if (packed) {
		c.features |= F(RING_PACKED);
		dp.wanted = F(RING_PACKED);
	}
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtq_is_packed(vq), packed);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	for (i = 0; i < 3; i++)
		b[i] = (struct uvirtq_buf){ d.iova + 64u * i, 64 };
	/* Use every id once so no per-id state is pristine. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(uvirtq_add(vq, NULL, 0, b, 1, &d), 0);
	uvirtq_kick(vq);
	for (i = 0; i < 5000 && r < 8; i++) {
		int g = uvirtq_get_used(vq, &cookie, &len);

		CHECK(g >= 0);
		if (g)
			r++;
		else
			usleep(1000);
	}
	CHECK_EQ(r, 8);
	r = 0;
	CHECK_EQ(uvirtio_fake_inject(f, UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD,
				     0, 0), 0);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, b, 3, &d), 0);	/* 3-desc chain */
	uvirtq_kick(vq);
	for (i = 0; i < 5000; i++) {
		r = uvirtq_get_used(vq, &cookie, &len);
		if (r)
			break;
		usleep(1000);
	}
	CHECK_EQ(r, -EIO);
	CHECK(uvirtq_is_broken(vq));
	CHECK_EQ(uvirtq_add(vq, NULL, 0, b, 1, &d), -EIO);
	CHECK_EQ(uvirtq_kick(vq), -EIO);
	CHECK_EQ(uvirtq_enable_cb(vq), -EIO);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_vq_fault_not_head(void)
{
	CHECK_EQ(vq_not_head_case(false), PASS);
	CHECK_EQ(vq_not_head_case(true), PASS);
	return PASS;
}

/*
 * Every backend operation the library makes, failed in turn
 * (UVIRTIO_FAKE_FAULT_OP_FAIL_NTH): blk open, a write, a read back and
 * close must each either succeed or return a negative errno, never
 * crash, hang or succeed with wrong data; an open that fails leaves
 * nothing behind (ASan).  The sweep ends at the first n that a whole
 * session does not reach.  (It found a failed doorbell write ignored: a
 * synchronous request then waited forever.)
 */
static int t_backend_fail_nth(void)
{
	static uint8_t out[4096], in[4096];
	unsigned int n, failed_open = 0, failed_io = 0, absorbed = 0;

	pattern(out, sizeof(out), 7);
	for (n = 1; n < 5000; n++) {
		struct uvirtio_fake_config c;
		struct uvirtio_fake_stats st;
		struct env e;
		int r;

		blkcfg(&c);
		memset(&e, 0, sizeof(e));
		CHECK_EQ(uvirtio_fake_create(&c, &e.fake, &e.be), 0);
		CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_OP_FAIL_NTH,
					     n, 0), 0);
		r = uvirtio_blk_open(e.be, NULL, &e.blk);
		uvirtio_fake_get_stats(e.fake, &st);
		if (r) {
			CHECK(r < 0);
			/* a failure no operation caused is a bug */
			CHECK_EQ(st.ops_failed, 1);
			failed_open++;
			uvirtio_backend_close(e.be);
			continue;
		}
		memset(in, 0, sizeof(in));
		r = uvirtio_blk_write(e.blk, 0, out, sizeof(out));
		if (!r)
			r = uvirtio_blk_read(e.blk, 0, in, sizeof(in));
		uvirtio_fake_get_stats(e.fake, &st);
		if (r) {
			CHECK(r < 0);
			CHECK_EQ(st.ops_failed, 1);
			failed_io++;
		} else {
			/* what was written is what is read, fault or none */
			CHECK(!memcmp(in, out, sizeof(in)));
			if (st.ops_failed)
				absorbed++;
		}
		env_close(&e);
		if (!st.ops_failed)
			break;		/* the whole session made fewer calls */
	}
	fprintf(stderr, "  %u operations: open failed %u times, I/O %u, "
		"%u absorbed\n", n - 1, failed_open, failed_io, absorbed);
	CHECK(n < 5000);
	CHECK(failed_open > 0);
	return PASS;
}

const struct tcase uv_faults_tests[] = {
	{ "fault_bad_used_id", t_fault_bad_used_id },
	{ "fault_used_id_not_head", t_fault_used_id_not_head },
	{ "fault_vq_not_head", t_vq_fault_not_head },
	{ "fault_bad_used_len", t_fault_bad_used_len },
	{ "fault_used_idx_jump", t_fault_used_idx_jump },
	{ "fault_dup_used", t_fault_dup_used },
	{ "fault_corrupt_desc", t_fault_corrupt_desc },
	{ "fault_needs_reset", t_fault_needs_reset },
	{ "fault_removed", t_fault_removed },
	{ "unmapped_inflight", t_unmapped_inflight },
	{ "backend_fail_nth", t_backend_fail_nth },
};
const size_t uv_faults_ntests = UV_ARRAY_LEN(uv_faults_tests);
