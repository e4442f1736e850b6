// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_alloc.c - libuvirtio when memory runs out: every heap allocation
 * the library makes while opening a device (and the fake backend's own
 * uvirtio_backend_new()) fails in turn.  The program is linked with
 * -Wl,--wrap= for malloc, calloc and realloc, so each allocation of the
 * test's thread goes through fail_nth() below; the fake device's thread
 * is never failed.
 *
 * The net driver is opened over vhost-user against net_peer.h's back-end
 * (its thread's allocations are not failed), once with the control queue
 * of params.ctrl_rx and an RX mode set through it.
 *
 * Each sweep: for n = 1, 2, ...: fail the n-th allocation of the call;
 * the call must return -ENOMEM (not another error, not success with a
 * part missing); the same backend must then open cleanly and do verified
 * I/O (nothing half-open stays behind); the sweep ends at the first n the
 * call does not reach, which must then succeed.  ASan (make test) catches
 * a leak or a double free on the unwind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

#include "harness.h"
#include "net_peer.h"

#define F(x) (1ull << VIRTIO_F_##x)

/* ---- the allocator wrappers ------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static __thread unsigned long fail_at;	/* 0: off; else countdown */
static __thread unsigned int failed;

static bool fail_nth(void)
{
	if (fail_at && !--fail_at) {
		failed++;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	if (fail_nth()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	if (fail_nth()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (fail_nth()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

static void arm(unsigned long n)
{
	failed = 0;
	fail_at = n;
}

/* Return: whether the armed allocation was reached (and failed). */
static bool disarm(void)
{
	fail_at = 0;
	return failed != 0;
}

/* ---- blk ---------------------------------------------------------------- */

static int blk_io_ok(struct uvirtio_blk *blk)
{
	uint8_t *buf;
	unsigned int i;

	CHECK_EQ(uvirtio_blk_alloc_buf(blk, 8192, (void **)&buf), 0);
	for (i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(uvirtio_blk_write(blk, 4096, buf, 4096), 0);
	memset(buf + 4096, 0, 4096);
	CHECK_EQ(uvirtio_blk_read(blk, 4096, buf + 4096, 4096), 0);
	CHECK(!memcmp(buf, buf + 4096, 4096));
	return PASS;
}

/*
 * uvirtio_blk_open() on a fake made by @cfg with @p, the n-th
 * allocation failing, for every n the open reaches.
 */
static int blk_open_sweep(void (*cfg)(struct uvirtio_fake_config *c),
			  const struct uvirtio_blk_params *p)
{
	unsigned long n;

	for (n = 1; n < 10000; n++) {
		struct uvirtio_fake_config c;
		struct uvirtio_backend *be;
		struct uvirtio_fake *fake;
		struct uvirtio_blk *blk = NULL;
		bool hit;
		int r;

		uvirtio_fake_default_config(&c, VIRTIO_ID_BLOCK);
		if (cfg)
			cfg(&c);
		CHECK_EQ(uvirtio_fake_create(&c, &fake, &be), 0);
		arm(n);
		r = uvirtio_blk_open(be, p, &blk);
		hit = disarm();
		if (!hit) {
			/* the open makes fewer allocations: it succeeds */
			CHECK_EQ(r, 0);
			CHECK_EQ(blk_io_ok(blk), PASS);
			uvirtio_blk_close(blk);
			uvirtio_backend_close(be);
			break;
		}
		if (r != -ENOMEM)
			fprintf(stderr, "  allocation %lu failed: open returned %d\n",
				n, r);
		CHECK_EQ(r, -ENOMEM);
		/* nothing half-open behind: the backend opens again */
		CHECK_EQ(uvirtio_blk_open(be, p, &blk), 0);
		CHECK_EQ(blk_io_ok(blk), PASS);
		uvirtio_blk_close(blk);
		uvirtio_backend_close(be);
	}
	fprintf(stderr, "  %lu allocations failed in turn\n", n - 1);
	CHECK(n > 1);		/* the open allocates: a sweep happened */
	CHECK(n < 10000);
	return PASS;
}

static int t_blk_open_split(void)
{
	return blk_open_sweep(NULL, NULL);
}

static void packed_cfg(struct uvirtio_fake_config *c)
{
	c->features |= F(RING_PACKED);
}

static int t_blk_open_packed(void)
{
	struct uvirtio_blk_params p = { .packed = true, .num_queues = 2 };

	return blk_open_sweep(packed_cfg, &p);
}

static void legacy_cfg(struct uvirtio_fake_config *c)
{
	c->layout = UVIRTIO_FAKE_LEGACY;
	c->features &= ~F(VERSION_1);
}

static int t_blk_open_legacy(void)
{
	return blk_open_sweep(legacy_cfg, NULL);
}

static int t_blk_open_poll_no_indirect(void)
{
	struct uvirtio_blk_params p = { .poll = true, .no_indirect = true };

	return blk_open_sweep(NULL, &p);
}

/* ---- rng ---------------------------------------------------------------- */

static int t_rng_open(void)
{
	unsigned long n;

	for (n = 1; n < 10000; n++) {
		struct uvirtio_fake_config c;
		struct uvirtio_backend *be;
		struct uvirtio_fake *fake;
		struct uvirtio_rng *rng = NULL;
		uint8_t buf[64];
		bool hit;
		int r;

		uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
		CHECK_EQ(uvirtio_fake_create(&c, &fake, &be), 0);
		arm(n);
		r = uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng);
		hit = disarm();
		if (hit) {
			CHECK_EQ(r, -ENOMEM);
			CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO,
						  &rng), 0);
		} else {
			CHECK_EQ(r, 0);
		}
		CHECK_EQ(uvirtio_rng_read(rng, buf, sizeof(buf)),
			 (ssize_t)sizeof(buf));
		uvirtio_rng_close(rng);
		uvirtio_backend_close(be);
		if (!hit)
			break;
	}
	CHECK(n > 1);
	CHECK(n < 10000);
	return PASS;
}

/* ---- net over vhost-user (net_peer.h plays the back-end) ---------------- */

/* An open that failed before it connected leaves the peer in accept(). */
static void unblock_accept(struct npeer *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, p->path);
	if (fd >= 0) {
		connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
	}
}

/* @ctrl_rx: with the control queue (CTRL_VQ, CTRL_RX) and one pair */
static int net_alloc_case(bool ctrl_rx)
{
	unsigned long n;

	for (n = 1; n < 10000; n++) {
		struct uvirtio_vhost_user_params vp = {
			.queue_size = QSIZE, .timeout_ms = 2000,
		};
		struct uvirtio_net_params np = {
			.poll = true, .ctrl_rx = ctrl_rx,
		};
		struct uvirtio_backend *be = NULL;
		struct uvirtio_net *net = NULL;
		struct npeer p;
		bool hit;
		int r;

		CHECK_EQ(peer_start(&p), 0);
		if (ctrl_rx)
			p.feat_extra = (1ull << VIRTIO_NET_F_CTRL_VQ) |
				       (1ull << VIRTIO_NET_F_CTRL_RX);
		arm(n);
		r = uvirtio_vhost_user_open(p.path, &vp, &be);
		if (!r)
			r = uvirtio_net_open(be, &np, &net);
		hit = disarm();
		if (hit) {
			if (r != -ENOMEM)
				fprintf(stderr, "  allocation %lu failed: %d\n",
					n, r);
			CHECK_EQ(r, -ENOMEM);
			CHECK(!net);
		} else {
			CHECK_EQ(r, 0);
			CHECK(uvirtio_net_get_qp(net, 0) != NULL);
			if (ctrl_rx)
				CHECK_EQ(uvirtio_net_set_rx_mode(net, 0), 0);
		}
		uvirtio_net_close(net);
		if (be)
			uvirtio_backend_close(be);
		unblock_accept(&p);
		peer_stop(&p);
		if (!hit)
			break;
	}
	fprintf(stderr, "  %lu allocations failed in turn\n", n - 1);
	CHECK(n > 1);
	CHECK(n < 10000);
	return PASS;
}

static int t_net_open_vhost_user(void)
{
	return net_alloc_case(false);
}

static int t_net_open_ctrl_rx(void)
{
	return net_alloc_case(true);
}

/* ---- the backend object itself ------------------------------------------ */

/* uvirtio_fake_create() builds its backend with uvirtio_backend_new(). */
static int t_backend_new(void)
{
	unsigned long n;

	for (n = 1; n < 10000; n++) {
		struct uvirtio_fake_config c;
		struct uvirtio_backend *be = NULL;
		struct uvirtio_fake *fake = NULL;
		struct uvirtio_blk *blk;
		bool hit;
		int r;

		uvirtio_fake_default_config(&c, VIRTIO_ID_BLOCK);
		arm(n);
		r = uvirtio_fake_create(&c, &fake, &be);
		hit = disarm();
		if (hit) {
			CHECK_EQ(r, -ENOMEM);
			continue;
		}
		CHECK_EQ(r, 0);
		CHECK_EQ(uvirtio_blk_open(be, NULL, &blk), 0);
		CHECK_EQ(blk_io_ok(blk), PASS);
		uvirtio_blk_close(blk);
		uvirtio_backend_close(be);
		break;
	}
	CHECK(n > 1);
	CHECK(n < 10000);
	return PASS;
}

static const struct tcase tests[] = {
	{ "backend_new", t_backend_new },
	{ "blk_open_split", t_blk_open_split },
	{ "blk_open_packed", t_blk_open_packed },
	{ "blk_open_legacy", t_blk_open_legacy },
	{ "blk_open_poll_no_indirect", t_blk_open_poll_no_indirect },
	{ "rng_open", t_rng_open },
	{ "net_open_vhost_user", t_net_open_vhost_user },
	{ "net_open_ctrl_rx", t_net_open_ctrl_rx },
};

int main(int argc, char **argv)
{
	return harness_main("alloc", tests, sizeof(tests) / sizeof(tests[0]),
			    argc, argv);
}
