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

/* vhost-user request numbers (an independent copy, as in test_vhost_user.c) */
#define R_GET_FEATURES		1
#define R_SET_FEATURES		2
#define R_SET_MEM_TABLE		5
#define R_SET_VRING_NUM		8
#define R_SET_VRING_ADDR	9
#define R_GET_VRING_BASE	11
#define R_GET_PROTOCOL_FEATURES	15
#define R_SET_PROTOCOL_FEATURES	16
#define R_GET_QUEUE_NUM		17
#define R_GET_CONFIG		24

#define PF_MQ			(1ull << 0)
#define PF_REPLY_ACK		(1ull << 3)
#define PF_CONFIG		(1ull << 9)
#define FLAG_REPLY		(1u << 2)
#define FLAG_NEED_REPLY		(1u << 3)

#define QSIZE	16
#define NREG	8

struct region {
	uint64_t gpa, size, uva;
	uint8_t *map;
	size_t maplen;
	uint64_t off;
};

struct tvring {
	uint32_t num;
	uint64_t desc, avail, used;	/* front-end virtual addresses */
	uint16_t last_avail;
	uint16_t used_idx;
};

struct npeer {
	char path[108];
	int lfd;
	pthread_t thr;
	pthread_mutex_t lock;
	struct region reg[NREG];
	unsigned int nreg;
	struct tvring vr[2];
	uint64_t features_set;
};

struct msg {
	uint32_t req, flags, size;
	uint8_t pl[512];
	int fds[8];
	unsigned int nfds;
};

static int rd_msg(int fd, struct msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { m, 12 };
	struct msghdr h = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	if (recvmsg(fd, &h, MSG_WAITALL) != 12)
		return -1;
	m->nfds = 0;
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		if (c->cmsg_type != SCM_RIGHTS)
			continue;
		m->nfds = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) /
					 sizeof(int));
		memcpy(m->fds, CMSG_DATA(c), m->nfds * sizeof(int));
	}
	if (m->size > sizeof(m->pl))
		return -1;
	if (m->size && recv(fd, m->pl, m->size, MSG_WAITALL) !=
	    (ssize_t)m->size)
		return -1;
	return 0;
}

static void wr_reply(int fd, uint32_t req, const void *pl, uint32_t size)
{
	uint8_t buf[12 + 512];
	uint32_t h[3] = { req, 0x1 | FLAG_REPLY, size };

	memcpy(buf, h, 12);
	memcpy(buf + 12, pl, size);
	if (send(fd, buf, 12 + size, MSG_NOSIGNAL) < 0)
		return;
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
	wr_reply(fd, req, &v, sizeof(v));
}

static void unmap_all(struct npeer *p)
{
	for (unsigned int i = 0; i < p->nreg; i++)
		munmap(p->reg[i].map, p->reg[i].maplen);
	p->nreg = 0;
}

static void set_mem_table(struct npeer *p, struct msg *m)
{
	uint32_t n;

	memcpy(&n, m->pl, 4);
	pthread_mutex_lock(&p->lock);
	unmap_all(p);
	for (uint32_t i = 0; i < n && i < NREG && i < m->nfds; i++) {
		const uint8_t *r = m->pl + 8 + 32 * i;
		struct region *g = &p->reg[p->nreg];

		memcpy(&g->gpa, r, 8);
		memcpy(&g->size, r + 8, 8);
		memcpy(&g->uva, r + 16, 8);
		memcpy(&g->off, r + 24, 8);
		g->maplen = g->size + g->off;
		g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
			      MAP_SHARED, m->fds[i], 0);
		if (g->map != MAP_FAILED)
			p->nreg++;
	}
	pthread_mutex_unlock(&p->lock);
}

static void serve(struct npeer *p, int fd)
{
	struct virtio_net_config cfg = {
		.mac = { 0x02, 0, 0, 0, 0, 0x42 },
		.status = VIRTIO_NET_S_LINK_UP,
	};
	uint64_t feat = (1ull << 30) | (1ull << VIRTIO_F_VERSION_1) |
			(1ull << VIRTIO_NET_F_MAC) |
			(1ull << VIRTIO_NET_F_STATUS) |
			(1ull << VIRTIO_NET_F_MRG_RXBUF);
	bool ack = false;
	struct msg m;

	while (!rd_msg(fd, &m)) {
		bool need = (m.flags & FLAG_NEED_REPLY) && ack;
		uint32_t idx;
		uint64_t v = 0;

		switch (m.req) {
		case R_GET_FEATURES:
			reply_u64(fd, m.req, feat);
			break;
		case R_GET_PROTOCOL_FEATURES:
			/* MQ: without it the front-end assumes one queue */
			reply_u64(fd, m.req, PF_MQ | PF_REPLY_ACK | PF_CONFIG);
			break;
		case R_SET_PROTOCOL_FEATURES:
			memcpy(&v, m.pl, 8);
			ack = v & PF_REPLY_ACK;
			need = false;
			break;
		case R_GET_QUEUE_NUM:
			reply_u64(fd, m.req, 2);
			break;
		case R_SET_FEATURES:
			memcpy(&p->features_set, m.pl, 8);
			break;
		case R_SET_MEM_TABLE:
			set_mem_table(p, &m);
			break;
		case R_SET_VRING_NUM:
			memcpy(&idx, m.pl, 4);
			if (idx < 2)
				memcpy(&p->vr[idx].num, m.pl + 4, 4);
			break;
		case R_SET_VRING_ADDR:
			memcpy(&idx, m.pl, 4);
			if (idx < 2) {
				pthread_mutex_lock(&p->lock);
				memcpy(&p->vr[idx].desc, m.pl + 8, 8);
				memcpy(&p->vr[idx].used, m.pl + 16, 8);
				memcpy(&p->vr[idx].avail, m.pl + 24, 8);
				pthread_mutex_unlock(&p->lock);
			}
			break;
		case R_GET_CONFIG: {
			uint32_t size;

			memcpy(&size, m.pl + 4, 4);
			if (size > sizeof(cfg) || size + 12 > m.size) {
				wr_reply(fd, m.req, m.pl, 0);
				break;
			}
			memcpy(m.pl + 12, &cfg, size);
			wr_reply(fd, m.req, m.pl, 12 + size);
			break;
		}
		case R_GET_VRING_BASE:
			wr_reply(fd, m.req, m.pl, 8);
			break;
		default:
			break;
		}
		for (unsigned int i = 0; i < m.nfds; i++)
			close(m.fds[i]);
		if (need)
			reply_u64(fd, m.req, 0);
	}
}

static void *peer_thread(void *arg)
{
	struct npeer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);

	if (fd >= 0) {
		serve(p, fd);
		close(fd);
	}
	return NULL;
}

static int peer_start(struct npeer *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	snprintf(p->path, sizeof(p->path), "/tmp/uvirtio-net-test.%d.sock",
		 (int)getpid());
	unlink(p->path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return -1;
	strcpy(a.sun_path, p->path);
	if (bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(p->lfd, 1))
		return -1;
	return pthread_create(&p->thr, NULL, peer_thread, p) ? -1 : 0;
}

static void peer_stop(struct npeer *p)
{
	pthread_join(p->thr, NULL);
	close(p->lfd);
	unlink(p->path);
	unmap_all(p);
}

/* ---- the device side: rings in the shared memory --------------------- */

static uint8_t *by_uva(struct npeer *p, uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; i < p->nreg; i++) {
		struct region *g = &p->reg[i];

		if (uva >= g->uva && uva - g->uva + len <= g->size)
			return g->map + g->off + (uva - g->uva);
	}
	return NULL;
}

static uint8_t *by_gpa(struct npeer *p, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < p->nreg; i++) {
		struct region *g = &p->reg[i];

		if (gpa >= g->gpa && gpa - g->gpa + len <= g->size)
			return g->map + g->off + (gpa - g->gpa);
	}
	return NULL;
}

/*
 * Take the next available chain head of queue @q: its id, buffer and
 * length.  Return: 0, or -1 when nothing is available.
 */
static int dev_pop(struct npeer *p, unsigned int q, uint16_t *id,
		   uint8_t **buf, uint32_t *len)
{
	struct tvring *v = &p->vr[q];
	uint8_t *avail = by_uva(p, v->avail, 4 + 2 * v->num);
	uint8_t *desc = by_uva(p, v->desc, 16ull * v->num);
	uint16_t aidx, head;
	uint64_t addr;

	if (!avail || !desc)
		return -1;
	aidx = __atomic_load_n((uint16_t *)(avail + 2), __ATOMIC_ACQUIRE);
	if (aidx == v->last_avail)
		return -1;
	memcpy(&head, avail + 4 + 2 * (v->last_avail % v->num), 2);
	v->last_avail++;
	memcpy(&addr, desc + 16 * head, 8);
	memcpy(len, desc + 16 * head + 8, 4);
	*id = head;
	*buf = by_gpa(p, addr, *len);
	return *buf ? 0 : -1;
}

/* Publish used elements (@n of them at once, like QEMU does per frame). */
static void dev_push(struct npeer *p, unsigned int q, const uint32_t *ids,
		     const uint32_t *lens, unsigned int n)
{
	struct tvring *v = &p->vr[q];
	uint8_t *used = by_uva(p, v->used, 4 + 8 * v->num);

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = used + 4 + 8 * ((v->used_idx + i) % v->num);

		memcpy(e, &ids[i], 4);
		memcpy(e + 4, &lens[i], 4);
	}
	v->used_idx = (uint16_t)(v->used_idx + n);
	__atomic_store_n((uint16_t *)(used + 2), v->used_idx,
			 __ATOMIC_RELEASE);
}

/*
 * Deliver one frame of @len payload bytes over @nbuf RX buffers, saying
 * @nb_field in num_buffers; buffer i gets used length @lens[i] if @lens,
 * else what it holds of the frame.  @bad_id: report this id for the first
 * buffer instead.  Return: 0 or -1.
 */
static int dev_rx(struct npeer *p, uint32_t len, unsigned int nbuf,
		  uint16_t nb_field, const uint32_t *lens, int bad_id)
{
	uint32_t ids[8], ulen[8], left = len, seq = 0;
	struct virtio_net_hdr_v1 h = { .num_buffers = nb_field };

	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < nbuf && i < 8; i++) {
		uint32_t cap, off = i ? 0 : (uint32_t)sizeof(h), take;
		uint8_t *b;
		uint16_t id;

		if (dev_pop(p, 0, &id, &b, &cap)) {
			pthread_mutex_unlock(&p->lock);
			return -1;
		}
		if (!i)
			memcpy(b, &h, sizeof(h));
		take = left < cap - off ? left : cap - off;
		for (uint32_t k = 0; k < take; k++)
			b[off + k] = (uint8_t)(seq++ * 7 + 1);
		left -= take;
		ids[i] = id;
		ulen[i] = lens ? lens[i] : off + take;
	}
	if (bad_id >= 0)
		ids[0] = (uint32_t)bad_id;
	dev_push(p, 0, ids, ulen, nbuf);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ---- cases ----------------------------------------------------------- */

struct nctx {
	struct npeer p;
	struct uvirtio_backend *be;
	struct uvirtio_net *net;
	struct uvirtio_net_qp *qp;
};

static int ctx_open(struct nctx *c)
{
	struct uvirtio_vhost_user_params vp = {
		.queue_size = QSIZE, .timeout_ms = 2000,
	};
	struct uvirtio_net_params np = { .poll = true };
	char ds[160];

	memset(c, 0, sizeof(*c));
	CHECK_EQ(peer_start(&c->p), 0);
	snprintf(ds, sizeof(ds), "%s", c->p.path);
	CHECK_EQ(uvirtio_vhost_user_open(ds, &vp, &c->be), 0);
	CHECK_EQ(uvirtio_net_open(c->be, &np, &c->net), 0);
	c->qp = uvirtio_net_get_qp(c->net, 0);
	CHECK(c->qp != NULL);
	CHECK(uvirtio_net_get_qp(c->net, 1) == NULL);
	return PASS;
}

static void ctx_close(struct nctx *c)
{
	uvirtio_net_close(c->net);
	uvirtio_backend_close(c->be);
	peer_stop(&c->p);
}

static bool payload_ok(const uint8_t *d, uint32_t len)
{
	for (uint32_t k = 0; k < len; k++)
		if (d[k] != (uint8_t)(k * 7 + 1))
			return false;
	return true;
}

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
