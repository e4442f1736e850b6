// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_vq_errors.c - libuvirtio unit tests of the virtqueue layer under
 * VIRTIO_F_RING_RESET when it goes wrong or piles up: resets one after
 * another with the cancelled requests of the earlier ones not fetched
 * (more taken back than the ring holds), a reset the device never
 * finishes, a queue the backend cannot program again after the reset,
 * and bad arguments.  Part of test_runner (test_main.c), on the fake
 * device (a virtio-rng queue driven through the raw uvirtq API).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#define VQ_N	16

struct vqenv {
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtq *vq;
	struct uvirtio_dma d;
};

static int vq_open(struct vqenv *v, bool packed)
{
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtq_params vp = { .size = VQ_N };
	struct uvirtio_fake_config c;

	memset(v, 0, sizeof(*v));
	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	c.queue_size = VQ_N;
	c.features |= F(RING_RESET);
	dp.wanted = F(RING_RESET);
	if (packed) {
		c.features |= F(RING_PACKED);
		dp.wanted |= F(RING_PACKED);
	}
	CHECK_EQ(uvirtio_fake_create(&c, &v->f, &v->be), 0);
	CHECK_EQ(uvirtio_dev_open(v->be, &dp, &v->dev), 0);
	CHECK(uvirtio_dev_has_feature(v->dev, VIRTIO_F_RING_RESET));
	CHECK_EQ(uvirtq_create(v->dev, 0, &vp, &v->vq), 0);
	CHECK_EQ(uvirtio_dev_driver_ok(v->dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(v->be, 64 * VQ_N * 2, &v->d), 0);
	return PASS;
}

static void vq_close(struct vqenv *v)
{
	uvirtio_backend_dma_free(v->be, &v->d);
	uvirtq_destroy(v->vq);
	uvirtio_dev_close(v->dev);
	uvirtio_backend_close(v->be);
}

/* Post @n one-buffer requests, cookies base+1 .. base+n. */
static int post(struct vqenv *v, unsigned int base, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct uvirtq_buf b = { v->d.iova + 64u * ((base + i) % (2 * VQ_N)),
					64 };

		CHECK_EQ(uvirtq_add(v->vq, NULL, 0, &b, 1,
				    (void *)(uintptr_t)(base + i + 1)), 0);
	}
	uvirtq_kick(v->vq);
	return PASS;
}

/* Wait until the device completed @n requests in all. */
static int wait_done(struct vqenv *v, uint64_t n)
{
	struct uvirtio_fake_stats st;
	int i;

	for (i = 0; i < 5000; i++) {
		uvirtio_fake_get_stats(v->f, &st);
		if (st.completions >= n)
			return PASS;
		usleep(1000);
	}
	return FAIL;
}

/*
 * Resets piling up: 16 requests completed but not fetched, reset (16
 * taken back), one fetched, 16 more completed, reset again: 31 taken
 * back in all, more than the ring holds.  Each comes out once, cancelled,
 * and the queue works afterwards.
 */
static int resets_pile_up(bool packed)
{
	bool seen[2 * VQ_N + 1] = { false };
	struct vqenv v;
	void *cookie;
	uint32_t len;
	int r, n = 0;

	CHECK_EQ(vq_open(&v, packed), PASS);
	CHECK_EQ(post(&v, 0, VQ_N), PASS);
	CHECK_EQ(wait_done(&v, VQ_N), PASS);
	CHECK_EQ(uvirtq_reset(v.vq), VQ_N);
	CHECK_EQ(uvirtq_in_flight(v.vq), VQ_N);
	CHECK_EQ(uvirtq_get_used(v.vq, &cookie, &len), UVIRTQ_CANCELED);
	CHECK_EQ(len, 0);
	seen[(uintptr_t)cookie] = true;
	n++;
	/* the ring is new: a full ring of requests again */
	CHECK_EQ(post(&v, VQ_N, VQ_N), PASS);
	CHECK_EQ(wait_done(&v, 2 * VQ_N), PASS);
	CHECK_EQ(uvirtq_reset(v.vq), VQ_N);
	CHECK_EQ(uvirtq_in_flight(v.vq), 2 * VQ_N - 1);
	while ((r = uvirtq_get_used(v.vq, &cookie, &len)) == UVIRTQ_CANCELED) {
		uintptr_t c = (uintptr_t)cookie;

		CHECK(c >= 1 && c <= 2 * VQ_N);
		CHECK(!seen[c]);
		seen[c] = true;
		n++;
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(n, 2 * VQ_N);
	CHECK_EQ(uvirtq_in_flight(v.vq), 0);
	/* and it works */
	CHECK_EQ(post(&v, 0, 1), PASS);
	CHECK_EQ(wait_done(&v, 2 * VQ_N + 1), PASS);
	for (r = 0; r < 1000; r++) {
		int g = uvirtq_get_used(v.vq, &cookie, &len);

		CHECK(g >= 0);
		if (g == 1)
			break;
		usleep(1000);
	}
	CHECK(r < 1000);
	CHECK_EQ((uintptr_t)cookie, 1);
	vq_close(&v);
	return PASS;
}

static int t_vq_resets_pile_up_split(void)
{
	return resets_pile_up(false);
}

static int t_vq_resets_pile_up_packed(void)
{
	return resets_pile_up(true);
}

/* A reset the device never finishes: -ETIMEDOUT, and the queue is broken. */
static int t_vq_reset_stuck(void)
{
	struct vqenv v;
	void *cookie;
	uint32_t len;
	struct uvirtq_buf b;

	CHECK_EQ(vq_open(&v, false), PASS);
	CHECK_EQ(post(&v, 0, 2), PASS);
	CHECK_EQ(uvirtio_fake_inject(v.f, UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK,
				     0, 0), 0);
	CHECK_EQ(uvirtq_reset(v.vq), -ETIMEDOUT);
	/* the device may still own the ring: nothing more on it */
	b = (struct uvirtq_buf){ v.d.iova, 64 };
	CHECK(uvirtq_add(v.vq, NULL, 0, &b, 1, (void *)1) < 0);
	CHECK(uvirtq_get_used(v.vq, &cookie, &len) < 0);
	CHECK(uvirtq_reset(v.vq) < 0);
	vq_close(&v);
	return PASS;
}

/*
 * Every backend operation of a reset failing in turn: the reset returns
 * a negative errno and the queue refuses work (broken), or the failure
 * was absorbed and the queue works.
 */
static int t_vq_reset_fail_nth(void)
{
	unsigned int n, broke = 0;

	for (n = 1; n < 200; n++) {
		struct uvirtio_fake_stats st;
		struct vqenv v;
		void *cookie;
		uint32_t len;
		int r;

		CHECK_EQ(vq_open(&v, false), PASS);
		CHECK_EQ(post(&v, 0, 3), PASS);
		CHECK_EQ(wait_done(&v, 3), PASS);
		CHECK_EQ(uvirtio_fake_inject(v.f, UVIRTIO_FAKE_FAULT_OP_FAIL_NTH,
					     n, 0), 0);
		r = uvirtq_reset(v.vq);
		uvirtio_fake_get_stats(v.f, &st);
		CHECK_EQ(uvirtio_fake_inject(v.f, UVIRTIO_FAKE_FAULT_OP_FAIL_NTH,
					     0, 0), 0);
		if (r < 0) {
			CHECK_EQ(st.ops_failed, 1);
			CHECK(uvirtq_get_used(v.vq, &cookie, &len) < 0);
			broke++;
		} else {
			CHECK_EQ(r, 3);
			CHECK_EQ(uvirtq_get_used(v.vq, &cookie, &len),
				 UVIRTQ_CANCELED);
		}
		vq_close(&v);
		if (!st.ops_failed)
			break;		/* the reset made fewer calls */
	}
	fprintf(stderr, "  %u operations, %u broke the queue\n", n - 1, broke);
	CHECK(broke > 0);
	CHECK(n < 200);
	return PASS;
}

/* A device without RING_RESET, and arguments the calls refuse. */
static int t_vq_bad_args(void)
{
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtq_params vp = { .size = VQ_N };
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	struct uvirtio_dev *dev;
	struct uvirtq *vq;
	struct uvirtio_dma d;
	struct uvirtq_buf b;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtq_reset(vq), -EOPNOTSUPP);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	b = (struct uvirtq_buf){ d.iova, 64 };
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, NULL), -EINVAL);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, NULL, 0, (void *)1), -EINVAL);
	uvirtio_backend_dma_free(be, &d);
	uvirtq_destroy(vq);
	uvirtio_dev_close(dev);
	uvirtio_backend_close(be);
	return PASS;
}

const struct tcase uv_vq_errors_tests[] = {
	{ "vq_resets_pile_up_split", t_vq_resets_pile_up_split },
	{ "vq_resets_pile_up_packed", t_vq_resets_pile_up_packed },
	{ "vq_reset_stuck", t_vq_reset_stuck },
	{ "vq_reset_fail_nth", t_vq_reset_fail_nth },
	{ "vq_bad_args", t_vq_bad_args },
};
const size_t uv_vq_errors_ntests = UV_ARRAY_LEN(uv_vq_errors_tests);
