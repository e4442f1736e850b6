// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_net.c - the virtio-net driver against an in-process vhost-user
 * net back-end that the test itself plays: it maps the memory the
 * front-end shares, and each case completes RX or TX descriptors by hand,
 * truthfully or not (num_buffers 0 or beyond what was posted, a frame
 * whose last buffer never comes, a used length shorter than the header
 * or longer than the buffer, an id not in flight).  The real peers
 * (QEMU's virtio-net and the kernel's virtio_net, dpdk-testpmd) are in
 * scripts/guest/net-tests and tools/test-vhost-user-net.sh; these are the
 * lies no real device tells on request.
 *
 * Usage: test_net [substring-filter]
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "harness.h"
#include "net_peer.h"

static int t_bringup(void)
{
	struct uvirtio_net_info in;
	struct nctx c;

	CHECK_EQ(ctx_open(&c), PASS);
	uvirtio_net_get_info(c.net, &in);
	CHECK(in.has_mac && in.mac[0] == 0x02 && in.mac[5] == 0x42);
	CHECK(in.has_status && in.link_up);
	CHECK(in.mrg_rxbuf);
	CHECK(!in.csum && !in.guest_csum);
	CHECK_EQ(in.mtu, 1500);
	CHECK_EQ(in.max_frame, 1518);
	CHECK_EQ(in.num_queue_pairs, 1);
	CHECK(!in.interrupts);
	CHECK(c.p.features_set & (1ull << VIRTIO_F_VERSION_1));
	CHECK(c.p.features_set & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	CHECK(!(c.p.features_set & (1ull << VIRTIO_NET_F_MQ)));
	CHECK_EQ(uvirtio_net_update_link(c.net), 1);
	ctx_close(&c);
	return PASS;
}

/* A good single-buffer frame and a good merged one; truncation. */
static int t_rx_good(void)
{
	static uint8_t d[4096];
	struct uvirtio_net_frame f = { .data = d, .len = sizeof(d) };
	struct uvirtio_net_qp_stats st;
	struct nctx c;

	CHECK_EQ(ctx_open(&c), PASS);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 0);
	CHECK_EQ(uvirtio_net_qp_wait(c.qp, UVIRTIO_NET_WAIT_RX, 0), 0);
	CHECK_EQ(dev_rx(&c.p, 60, 1, 1, NULL, -1), 0);
	CHECK_EQ(uvirtio_net_qp_wait(c.qp, UVIRTIO_NET_WAIT_RX, 1000),
		 UVIRTIO_NET_WAIT_RX);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 1);
	CHECK_EQ(f.len, 60);
	CHECK_EQ(f.flags, 0);
	CHECK_EQ(f.hdr.num_buffers, 1);
	CHECK(payload_ok(d, 60));
	/* 2036 bytes in the first 2 KiB buffer, 1000 in the second */
	f.len = sizeof(d);
	CHECK_EQ(dev_rx(&c.p, 3036, 2, 2, NULL, -1), 0);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 1);
	CHECK_EQ(f.len, 3036);
	CHECK_EQ(f.hdr.num_buffers, 2);
	CHECK(payload_ok(d, 3036));
	/* a 100-byte capacity: cut, flagged, the wire length reported */
	f.len = 100;
	CHECK_EQ(dev_rx(&c.p, 500, 1, 1, NULL, -1), 0);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 1);
	CHECK_EQ(f.len, 500);
	CHECK_EQ(f.flags, UVIRTIO_NET_FRAME_TRUNCATED);
	CHECK(payload_ok(d, 100));
	uvirtio_net_qp_get_stats(c.qp, &st);
	CHECK_EQ(st.rx_frames, 3);
	CHECK_EQ(st.rx_buffers, 4);
	CHECK_EQ(st.rx_truncated, 1);
	/* the ring was refilled: QSIZE more buffers can be taken */
	for (int i = 0; i < QSIZE; i++)
		CHECK_EQ(dev_rx(&c.p, 60, 1, 1, NULL, -1), 0);
	CHECK_EQ(dev_rx(&c.p, 60, 1, 1, NULL, -1), -1);
	ctx_close(&c);
	return PASS;
}

/* The pair is broken with -EIO, now and for every later call. */
static int expect_broken(struct nctx *c)
{
	static uint8_t d[4096];
	struct uvirtio_net_frame f = { .data = d, .len = sizeof(d) };

	CHECK_EQ(uvirtio_net_qp_recv(c->qp, &f, 1), -EIO);
	CHECK_EQ(uvirtio_net_qp_recv(c->qp, &f, 1), -EIO);
	f.len = 60;
	CHECK_EQ(uvirtio_net_qp_send(c->qp, &f, 1), -EIO);
	CHECK_EQ(uvirtio_net_qp_wait(c->qp, UVIRTIO_NET_WAIT_RX, 0), -EIO);
	return PASS;
}

static int rx_lie(uint32_t len, unsigned int nbuf, uint16_t nb,
		  const uint32_t *lens, int bad_id)
{
	struct nctx c;

	CHECK_EQ(ctx_open(&c), PASS);
	CHECK_EQ(dev_rx(&c.p, len, nbuf, nb, lens, bad_id), 0);
	CHECK_EQ(expect_broken(&c), PASS);
	ctx_close(&c);
	return PASS;
}

static int t_rx_num_buffers_zero(void)
{
	return rx_lie(60, 1, 0, NULL, -1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int t_rx_num_buffers_beyond_posted(void)
{
	static uint8_t d[4096];
	struct uvirtio_net_frame f = { .data = d, .len = sizeof(d) };
	struct nctx c;
	int64_t t0;

	/* 17 buffers said, QSIZE (16) posted: refused at once, no wait */
	CHECK_EQ(ctx_open(&c), PASS);
	CHECK_EQ(dev_rx(&c.p, 60, 1, QSIZE + 1, NULL, -1), 0);
	t0 = now_ms();
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), -EIO);
	CHECK(now_ms() - t0 < 50);
	CHECK_EQ(expect_broken(&c), PASS);
	ctx_close(&c);
	return PASS;
}

static int t_rx_num_buffers_never_arrive(void)
{
	/* 3 said, 2 delivered: the third never comes (100 ms bound) */
	return rx_lie(3000, 2, 3, NULL, -1);
}

static int t_rx_shorter_than_header(void)
{
	const uint32_t lens[1] = { 11 };

	return rx_lie(60, 1, 1, lens, -1);
}

static int t_rx_len_beyond_buffer(void)
{
	const uint32_t lens[1] = { 2049 };

	return rx_lie(60, 1, 1, lens, -1);
}

static int t_rx_bad_id(void)
{
	return rx_lie(60, 1, 1, NULL, QSIZE + 3);
}

static int t_rx_id_not_in_flight(void)
{
	/* a merged frame naming the same buffer twice */
	struct nctx c;
	uint32_t ids[2], lens[2] = { 100, 100 };
	uint8_t *b;
	uint32_t cap;
	uint16_t id;
	struct virtio_net_hdr_v1 h = { .num_buffers = 2 };

	CHECK_EQ(ctx_open(&c), PASS);
	pthread_mutex_lock(&c.p.lock);
	CHECK_EQ(dev_pop(&c.p, 0, &id, &b, &cap), 0);
	memcpy(b, &h, sizeof(h));
	ids[0] = ids[1] = id;
	dev_push(&c.p, 0, ids, lens, 2);
	pthread_mutex_unlock(&c.p.lock);
	CHECK_EQ(expect_broken(&c), PASS);
	ctx_close(&c);
	return PASS;
}

/* TX: frames reach the ring intact; a lying completion breaks the pair. */
static int t_tx(void)
{
	static uint8_t d[1518];
	struct uvirtio_net_frame f[QSIZE + 4];
	struct nctx c;
	uint32_t ids[QSIZE], lens[QSIZE] = { 0 };
	unsigned int i;
	uint8_t *b;
	uint32_t cap;
	uint16_t id;

	CHECK_EQ(ctx_open(&c), PASS);
	memset(f, 0, sizeof(f));
	for (i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 13);
	for (i = 0; i < QSIZE + 4; i++) {
		f[i].data = d;
		f[i].len = 60 + i;
	}
	/* bad frames are refused before anything is sent */
	f[0].len = 13;
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), -EINVAL);
	f[0].len = 1519;
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), -EINVAL);
	f[0].len = 60;
	f[0].hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), -EINVAL);
	f[0].hdr.gso_type = 0;
	f[0].hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;	/* CSUM not offered */
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), -EINVAL);
	f[0].hdr.flags = 0;
	/* the ring holds QSIZE: the rest waits */
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, QSIZE + 4), QSIZE);
	CHECK_EQ(uvirtio_net_qp_wait(c.qp, UVIRTIO_NET_WAIT_TX, 0), 0);
	/* nothing was transmitted yet: a flush waits, and times out */
	CHECK_EQ(uvirtio_net_qp_flush(c.qp, 50), -ETIMEDOUT);
	pthread_mutex_lock(&c.p.lock);
	for (i = 0; i < QSIZE; i++) {
		CHECK_EQ(dev_pop(&c.p, 1, &id, &b, &cap), 0);
		CHECK_EQ(cap, 12 + 60 + i);
		CHECK(!memcmp(b + 12, d, 60 + i));
		CHECK_EQ(b[0], 0);	/* header flags */
		ids[i] = id;
	}
	dev_push(&c.p, 1, ids, lens, QSIZE);
	pthread_mutex_unlock(&c.p.lock);
	CHECK_EQ(uvirtio_net_qp_flush(c.qp, 1000), 0);
	CHECK_EQ(uvirtio_net_qp_wait(c.qp, UVIRTIO_NET_WAIT_TX, 1000),
		 UVIRTIO_NET_WAIT_TX);
	CHECK_EQ(uvirtio_net_qp_tx_reclaim(c.qp), 0);
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f + QSIZE, 4), 4);
	/* complete one of them twice */
	pthread_mutex_lock(&c.p.lock);
	CHECK_EQ(dev_pop(&c.p, 1, &id, &b, &cap), 0);
	ids[0] = ids[1] = id;
	dev_push(&c.p, 1, ids, lens, 2);
	pthread_mutex_unlock(&c.p.lock);
	CHECK_EQ(uvirtio_net_qp_tx_reclaim(c.qp), -EIO);
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), -EIO);
	ctx_close(&c);
	return PASS;
}

static const struct tcase cases[] = {
	{ "bringup", t_bringup },
	{ "rx_good", t_rx_good },
	{ "rx_num_buffers_zero", t_rx_num_buffers_zero },
	{ "rx_num_buffers_beyond_posted", t_rx_num_buffers_beyond_posted },
	{ "rx_num_buffers_never_arrive", t_rx_num_buffers_never_arrive },
	{ "rx_shorter_than_header", t_rx_shorter_than_header },
	{ "rx_len_beyond_buffer", t_rx_len_beyond_buffer },
	{ "rx_bad_id", t_rx_bad_id },
	{ "rx_id_not_in_flight", t_rx_id_not_in_flight },
	{ "tx", t_tx },
};

int main(int argc, char **argv)
{
	return harness_main("net", cases, sizeof(cases) / sizeof(cases[0]),
			    argc, argv);
}
