// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_net_gso.c - segmentation offload in the virtio-net driver
 * (uvirtio_net_params.gso), against an in-process vhost-user net
 * back-end the test plays (the one of test_net.c, with the offered
 * features per case and 64-entry rings, so a 64 KiB frame fits over
 * mergeable buffers): what is negotiated and what is dropped when the
 * device offers a bit without the one it needs; 64 KiB GSO frames both
 * ways, byte for byte; every send-side header check (-EINVAL, nothing
 * reaches the ring); and the lies a device may tell on receive (a
 * gso_type not negotiated or unknown, ECN without GUEST_ECN, a GSO frame
 * without NEEDS_CSUM or MSS, a num_buffers or a length beyond a 64 KiB
 * frame), each of which breaks the pair with -EIO.  The real peer is
 * dpdk-testpmd (tools/test-vhost-user-net.sh, gso_tests).
 *
 * Usage: test_net_gso [substring-filter]
 */
#include <endian.h>
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

#define QSIZE	64
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
	uint64_t features_offered;
	uint64_t features_set;
	unsigned int set_features_calls;
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
	uint64_t feat = (1ull << 30) | p->features_offered;
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
			p->set_features_calls++;
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

static int peer_start(struct npeer *p, uint64_t offered)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->features_offered = offered;
	pthread_mutex_init(&p->lock, NULL);
	snprintf(p->path, sizeof(p->path), "/tmp/uvirtio-net-gso-test.%d.sock",
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


#define F(b)	(1ull << VIRTIO_NET_F_##b)
#define BASE	((1ull << VIRTIO_F_VERSION_1) | F(MAC) | F(STATUS))
#define CSUMS	(F(CSUM) | F(GUEST_CSUM))
#define HOST	(F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN))
#define GUEST	(F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN))
#define ALL	(BASE | CSUMS | HOST | GUEST | F(MRG_RXBUF))
#define HDR	12u
#define BIG	64000u

_Static_assert(sizeof(struct uvirtio_net_params) == 16,
	       "uvirtio_net_params keeps its size");
_Static_assert(sizeof(struct uvirtio_net_info) == 48,
	       "uvirtio_net_info keeps its size");

static uint8_t pat(uint32_t k)
{
	return (uint8_t)(k * 7 + 1);
}

/*
 * Deliver one frame of @len bytes with header @h (num_buffers as given)
 * over @nbuf RX buffers, each filled as far as the frame goes (the last
 * one gets @extra bytes more in its used length when non-zero).
 * Return: 0 or -1.
 */
static int dev_rx(struct npeer *p, const struct virtio_net_hdr_v1 *h,
		  uint32_t len, unsigned int nbuf, uint32_t extra)
{
	uint32_t ids[QSIZE], ulen[QSIZE], left = len, seq = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < nbuf && i < QSIZE; i++) {
		uint32_t cap, off = i ? 0 : HDR, take;
		uint8_t *b;
		uint16_t id;

		if (dev_pop(p, 0, &id, &b, &cap)) {
			pthread_mutex_unlock(&p->lock);
			return -1;
		}
		if (!i)
			memcpy(b, h, HDR);
		take = left < cap - off ? left : cap - off;
		for (uint32_t k = 0; k < take; k++)
			b[off + k] = pat(seq++);
		left -= take;
		ids[i] = id;
		ulen[i] = off + take + (i + 1 == nbuf ? extra : 0);
	}
	dev_push(p, 0, ids, ulen, nbuf);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

struct nctx {
	struct npeer p;
	struct uvirtio_backend *be;
	struct uvirtio_net *net;
	struct uvirtio_net_qp *qp;
	struct uvirtio_net_info in;
};

/* Open against a peer offering @offered; @gso: ask for offload. */
static int ctx_open_ret(struct nctx *c, uint64_t offered, bool gso, int want)
{
	struct uvirtio_vhost_user_params vp = {
		.queue_size = QSIZE, .timeout_ms = 2000,
	};
	struct uvirtio_net_params np = { .poll = true, .gso = gso };

	memset(c, 0, sizeof(*c));
	CHECK_EQ(peer_start(&c->p, offered), 0);
	CHECK_EQ(uvirtio_vhost_user_open(c->p.path, &vp, &c->be), 0);
	CHECK_EQ(uvirtio_net_open(c->be, &np, &c->net), want);
	if (want)
		return PASS;
	c->qp = uvirtio_net_get_qp(c->net, 0);
	CHECK(c->qp != NULL);
	uvirtio_net_get_info(c->net, &c->in);
	return PASS;
}

static int ctx_open(struct nctx *c, uint64_t offered, bool gso)
{
	return ctx_open_ret(c, offered, gso, 0);
}

static void ctx_close(struct nctx *c)
{
	uvirtio_net_close(c->net);
	uvirtio_backend_close(c->be);
	peer_stop(&c->p);
}

static int t_negotiate(void)
{
	struct nctx c;

	/* asked for: all six taken, reported */
	CHECK_EQ(ctx_open(&c, ALL, true), PASS);
	CHECK_EQ(c.p.features_set & (HOST | GUEST | CSUMS), HOST | GUEST | CSUMS);
	CHECK(c.in.host_tso && c.in.guest_tso);
	CHECK_EQ(c.in.features & (HOST | GUEST), HOST | GUEST);
	CHECK_EQ(c.in.rx_buf_size, 2048);	/* mergeable: small buffers */
	ctx_close(&c);
	/* not asked for: none of them, frames stay MTU-sized */
	CHECK_EQ(ctx_open(&c, ALL, false), PASS);
	CHECK_EQ(c.p.features_set & (HOST | GUEST), 0);
	CHECK(!c.in.host_tso && !c.in.guest_tso);
	CHECK_EQ(c.in.max_frame, 1518);
	ctx_close(&c);
	/* only what is offered */
	CHECK_EQ(ctx_open(&c, BASE | CSUMS | F(HOST_TSO4) | F(MRG_RXBUF),
			  true), PASS);
	CHECK_EQ(c.p.features_set & (HOST | GUEST), F(HOST_TSO4));
	CHECK(c.in.host_tso && !c.in.guest_tso);
	ctx_close(&c);
	return PASS;
}

static int t_gso_needs_csum(void)
{
	struct nctx c;

	CHECK_EQ(peer_start(&c.p, ALL), 0);
	{
		struct uvirtio_vhost_user_params vp = {
			.queue_size = QSIZE, .timeout_ms = 2000,
		};
		struct uvirtio_net_params np = { .gso = true, .no_csum = true };

		CHECK_EQ(uvirtio_vhost_user_open(c.p.path, &vp, &c.be), 0);
		CHECK_EQ(uvirtio_net_open(c.be, &np, &c.net), -EINVAL);
		c.net = NULL;
	}
	ctx_close(&c);
	return PASS;
}

/*
 * A device offering a bit without the one it needs: that bit is not
 * taken (a second negotiation without it).  DPDK's vhost without tso=1
 * offers HOST_ECN and no HOST_TSO.
 */
static int t_unmet_dependencies(void)
{
	struct nctx c;

	CHECK_EQ(ctx_open(&c, BASE | CSUMS | F(HOST_ECN) | GUEST |
			  F(MRG_RXBUF), true), PASS);
	CHECK_EQ(c.p.features_set & (HOST | GUEST), GUEST);
	CHECK_EQ(c.p.set_features_calls, 2);
	CHECK(!c.in.host_tso && c.in.guest_tso);
	ctx_close(&c);
	/* TSO without checksum offload: TSO and its ECN go */
	CHECK_EQ(ctx_open(&c, BASE | F(GUEST_CSUM) | HOST | GUEST |
			  F(MRG_RXBUF), true), PASS);
	CHECK_EQ(c.p.features_set & (HOST | GUEST), GUEST);
	CHECK(!c.in.host_tso && !c.in.csum);
	ctx_close(&c);
	CHECK_EQ(ctx_open(&c, BASE | F(CSUM) | HOST | GUEST | F(MRG_RXBUF),
			  true), PASS);
	CHECK_EQ(c.p.features_set & (HOST | GUEST), HOST);
	CHECK(!c.in.guest_tso);
	ctx_close(&c);
	/* a good set: negotiated once */
	CHECK_EQ(ctx_open(&c, ALL, true), PASS);
	CHECK_EQ(c.p.set_features_calls, 1);
	ctx_close(&c);
	return PASS;
}

static void tso_frame(struct uvirtio_net_frame *f, uint8_t *d, uint32_t len,
		      uint8_t type)
{
	memset(f, 0, sizeof(*f));
	for (uint32_t k = 0; k < len; k++)
		d[k] = pat(k);
	f->data = d;
	f->len = len;
	f->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f->hdr.gso_type = type;
	f->hdr.gso_size = htole16(1448);
	f->hdr.hdr_len = htole16(type & VIRTIO_NET_HDR_GSO_TCPV6 ? 74 : 54);
	f->hdr.csum_start = htole16(type & VIRTIO_NET_HDR_GSO_TCPV6 ? 54 : 34);
	f->hdr.csum_offset = htole16(16);
}

/* Take TX descriptors off the ring, check them, complete them. */
static int dev_tx_check(struct npeer *p, const struct uvirtio_net_frame *f,
			unsigned int n)
{
	uint32_t ids[QSIZE], lens[QSIZE] = { 0 };

	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *b;
		uint32_t cap;
		uint16_t id;

		CHECK_EQ(dev_pop(p, 1, &id, &b, &cap), 0);
		CHECK_EQ(cap, HDR + f[i].len);
		CHECK(!memcmp(b, &f[i].hdr, HDR));
		CHECK(!memcmp(b + HDR, f[i].data, f[i].len));
		ids[i] = id;
	}
	{
		uint8_t *b;
		uint32_t cap;
		uint16_t id;

		CHECK(dev_pop(p, 1, &id, &b, &cap) < 0);	/* no more */
	}
	dev_push(p, 1, ids, lens, n);
	pthread_mutex_unlock(&p->lock);
	return PASS;
}

static int t_tx_gso(void)
{
	static uint8_t d[3][UVIRTIO_NET_GSO_MAX_FRAME + 1];
	struct uvirtio_net_frame f[3];
	struct nctx c;

	CHECK_EQ(ctx_open(&c, ALL, true), PASS);
	tso_frame(&f[0], d[0], BIG, VIRTIO_NET_HDR_GSO_TCPV4);
	tso_frame(&f[1], d[1], BIG, VIRTIO_NET_HDR_GSO_TCPV6 |
		  VIRTIO_NET_HDR_GSO_ECN);
	tso_frame(&f[2], d[2], UVIRTIO_NET_GSO_MAX_FRAME,
		  VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 3), 3);
	CHECK_EQ(dev_tx_check(&c.p, f, 3), PASS);
	CHECK_EQ(uvirtio_net_qp_flush(c.qp, 1000), 0);
	/* a plain frame is still bound by the MTU */
	tso_frame(&f[0], d[0], 1519, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), -EINVAL);
	f[0].len = 1518;
	CHECK_EQ(uvirtio_net_qp_send(c.qp, f, 1), 1);
	CHECK_EQ(dev_tx_check(&c.p, f, 1), PASS);
	ctx_close(&c);
	return PASS;
}

/* One bad header field: refused with -EINVAL, nothing on the ring. */
static int tx_refused(struct nctx *c, struct uvirtio_net_frame *f)
{
	uint8_t *b;
	uint32_t cap;
	uint16_t id;

	CHECK_EQ(uvirtio_net_qp_send(c->qp, f, 1), -EINVAL);
	pthread_mutex_lock(&c->p.lock);
	CHECK(dev_pop(&c->p, 1, &id, &b, &cap) < 0);
	pthread_mutex_unlock(&c->p.lock);
	return PASS;
}

static int t_tx_gso_bad(void)
{
	static uint8_t d[UVIRTIO_NET_GSO_MAX_FRAME + 1];
	struct uvirtio_net_frame f;
	struct nctx c;

	CHECK_EQ(ctx_open(&c, ALL, true), PASS);
#define BAD(stmt) do { \
		tso_frame(&f, d, BIG, VIRTIO_NET_HDR_GSO_TCPV4); \
		stmt; \
		CHECK_EQ(tx_refused(&c, &f), PASS); \
	} while (0)
	BAD(f.hdr.gso_size = 0);
	BAD(f.hdr.flags = 0);				/* no NEEDS_CSUM */
	BAD(f.hdr.flags |= VIRTIO_NET_HDR_F_DATA_VALID);
	BAD(f.hdr.hdr_len = htole16(34 + 16 + 1));	/* short of the csum */
	BAD(f.hdr.hdr_len = htole16(BIG));		/* no payload */
	BAD(f.len = UVIRTIO_NET_GSO_MAX_FRAME + 1);
	BAD(f.hdr.gso_type = VIRTIO_NET_HDR_GSO_UDP);
	BAD(f.hdr.gso_type = 5);			/* UDP_L4 (USO) */
	BAD(f.hdr.gso_type = 2);			/* unknown */
	BAD(f.hdr.gso_type = VIRTIO_NET_HDR_GSO_ECN);	/* ECN alone */
	BAD(f.hdr.csum_start = htole16(BIG - 17));	/* csum past hdr_len */
	/* the same frame, all fields good, goes */
	tso_frame(&f, d, BIG, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(uvirtio_net_qp_send(c.qp, &f, 1), 1);
	CHECK_EQ(dev_tx_check(&c.p, &f, 1), PASS);
	ctx_close(&c);
	/* HOST_TSO4 only: no TCPV6, no ECN */
	CHECK_EQ(ctx_open(&c, BASE | CSUMS | F(HOST_TSO4) | F(MRG_RXBUF),
			  true), PASS);
	BAD(f.hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV6);
	BAD(f.hdr.gso_type |= VIRTIO_NET_HDR_GSO_ECN);
	ctx_close(&c);
	/* offered but not asked for (no gso): refused */
	CHECK_EQ(ctx_open(&c, ALL, false), PASS);
	BAD((void)0);
#undef BAD
	ctx_close(&c);
	return PASS;
}

static struct virtio_net_hdr_v1 gso_hdr(uint8_t type, uint16_t nb)
{
	struct virtio_net_hdr_v1 h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = type,
		.hdr_len = htole16(54),
		.gso_size = htole16(1448),
		.csum_start = htole16(34),
		.csum_offset = htole16(16),
		.num_buffers = htole16(nb),
	};

	return h;
}

static bool payload_ok(const uint8_t *d, uint32_t len)
{
	for (uint32_t k = 0; k < len; k++)
		if (d[k] != pat(k))
			return false;
	return true;
}

static uint32_t nbufs(uint32_t len)
{
	return (HDR + len + 2047) / 2048;
}

static int t_rx_gso(void)
{
	static uint8_t d[UVIRTIO_NET_GSO_MAX_FRAME];
	struct uvirtio_net_frame f = { .data = d, .len = sizeof(d) };
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4,
					     (uint16_t)nbufs(BIG));
	struct uvirtio_net_qp_stats st;
	struct nctx c;

	CHECK_EQ(ctx_open(&c, ALL, true), PASS);
	CHECK_EQ(nbufs(BIG), 32);
	CHECK_EQ(dev_rx(&c.p, &h, BIG, nbufs(BIG), 0), 0);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 1);
	CHECK_EQ(f.len, BIG);
	CHECK_EQ(f.flags, 0);
	CHECK_EQ(f.hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(le16toh(f.hdr.gso_size), 1448);
	CHECK_EQ(le16toh(f.hdr.hdr_len), 54);
	CHECK_EQ(f.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(payload_ok(d, BIG));
	/* the largest, TCPV6 | ECN */
	h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
		    (uint16_t)nbufs(UVIRTIO_NET_GSO_MAX_FRAME));
	f.len = sizeof(d);
	CHECK_EQ(dev_rx(&c.p, &h, UVIRTIO_NET_GSO_MAX_FRAME,
			nbufs(UVIRTIO_NET_GSO_MAX_FRAME), 0), 0);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 1);
	CHECK_EQ(f.len, UVIRTIO_NET_GSO_MAX_FRAME);
	CHECK_EQ(f.hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV6 |
		 VIRTIO_NET_HDR_GSO_ECN);
	CHECK(payload_ok(d, UVIRTIO_NET_GSO_MAX_FRAME));
	uvirtio_net_qp_get_stats(c.qp, &st);
	CHECK_EQ(st.rx_frames, 2);
	CHECK_EQ(st.rx_buffers, 32 + 33);
	ctx_close(&c);
	return PASS;
}

/* Without MRG_RXBUF: one 64 KiB buffer per frame. */
static int t_rx_gso_big_buffers(void)
{
	static uint8_t d[UVIRTIO_NET_GSO_MAX_FRAME];
	struct uvirtio_net_frame f = { .data = d, .len = sizeof(d) };
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1);
	struct nctx c;

	CHECK_EQ(ctx_open(&c, ALL & ~F(MRG_RXBUF), true), PASS);
	CHECK(!c.in.mrg_rxbuf);
	/* the spec's minimum without HASH_REPORT: 65601 */
	CHECK(c.in.rx_buf_size >= 65601);
	CHECK(c.in.rx_buf_size >= HDR + UVIRTIO_NET_GSO_MAX_FRAME);
	CHECK_EQ(dev_rx(&c.p, &h, BIG, 1, 0), 0);
	CHECK_EQ(uvirtio_net_qp_recv(c.qp, &f, 1), 1);
	CHECK_EQ(f.len, BIG);
	CHECK(payload_ok(d, BIG));
	ctx_close(&c);
	return PASS;
}

/* The pair is broken with -EIO, now and for every later call. */
static int expect_broken(struct nctx *c)
{
	static uint8_t d[UVIRTIO_NET_GSO_MAX_FRAME];
	struct uvirtio_net_frame f = { .data = d, .len = sizeof(d) };

	CHECK_EQ(uvirtio_net_qp_recv(c->qp, &f, 1), -EIO);
	CHECK_EQ(uvirtio_net_qp_recv(c->qp, &f, 1), -EIO);
	f.len = 60;
	CHECK_EQ(uvirtio_net_qp_send(c->qp, &f, 1), -EIO);
	return PASS;
}

static int rx_lie(uint64_t offered, const struct virtio_net_hdr_v1 *h,
		  uint32_t len, unsigned int nbuf, uint32_t extra)
{
	struct nctx c;

	CHECK_EQ(ctx_open(&c, offered, true), PASS);
	CHECK_EQ(dev_rx(&c.p, h, len, nbuf, extra), 0);
	CHECK_EQ(expect_broken(&c), PASS);
	ctx_close(&c);
	return PASS;
}

static int t_rx_gso_not_negotiated(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1);
	struct nctx c;

	/* offered, not asked for: the device may not send it */
	CHECK_EQ(ctx_open(&c, ALL, false), PASS);
	CHECK_EQ(dev_rx(&c.p, &h, 1000, 1, 0), 0);
	CHECK_EQ(expect_broken(&c), PASS);
	ctx_close(&c);
	/* TCPV6 with GUEST_TSO4 only */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	return rx_lie(BASE | CSUMS | F(GUEST_TSO4) | F(MRG_RXBUF), &h, 1000,
		      1, 0);
}

static int t_rx_gso_unknown_type(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(2, 1);

	CHECK_EQ(rx_lie(ALL, &h, 1000, 1, 0), PASS);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;	/* UFO never negotiated */
	return rx_lie(ALL, &h, 1000, 1, 0);
}

static int t_rx_gso_ecn(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4 |
					     VIRTIO_NET_HDR_GSO_ECN, 1);

	/* without GUEST_ECN */
	CHECK_EQ(rx_lie(BASE | CSUMS | F(GUEST_TSO4) | F(MRG_RXBUF), &h,
			1000, 1, 0), PASS);
	/* ECN on a frame that is no GSO frame */
	h = gso_hdr(VIRTIO_NET_HDR_GSO_ECN, 1);
	h.flags = 0;
	return rx_lie(ALL, &h, 1000, 1, 0);
}

static int t_rx_gso_no_needs_csum(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1);

	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	return rx_lie(ALL, &h, 1000, 1, 0);
}

static int t_rx_gso_size_zero(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1);

	h.gso_size = 0;
	return rx_lie(ALL, &h, 1000, 1, 0);
}

/*
 * 34 buffers said (and delivered): more than a 64 KiB frame fills, even
 * with the bytes of a small one (all but the first used with length 0).
 */
static int t_rx_gso_too_many_buffers(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 34);

	CHECK_EQ(rx_lie(ALL, &h, 1000, 34, 0), PASS);
	return rx_lie(ALL, &h, 34 * 2048 - HDR, 34, 0);
}

/* 33 full buffers: 67572 bytes, beyond the largest frame. */
static int t_rx_gso_too_long(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 33);

	CHECK_EQ(nbufs(UVIRTIO_NET_GSO_MAX_FRAME), 33);
	return rx_lie(ALL, &h, 33 * 2048 - HDR, 33, 0);
}

/* Without MRG_RXBUF, a used length past the largest frame. */
static int t_rx_gso_too_long_big_buffer(void)
{
	struct virtio_net_hdr_v1 h = gso_hdr(VIRTIO_NET_HDR_GSO_TCPV4, 1);

	return rx_lie(ALL & ~F(MRG_RXBUF), &h, UVIRTIO_NET_GSO_MAX_FRAME, 1,
		      1);
}

static const struct tcase cases[] = {
	{ "negotiate", t_negotiate },
	{ "gso_needs_csum", t_gso_needs_csum },
	{ "unmet_dependencies", t_unmet_dependencies },
	{ "tx_gso", t_tx_gso },
	{ "tx_gso_bad", t_tx_gso_bad },
	{ "rx_gso", t_rx_gso },
	{ "rx_gso_big_buffers", t_rx_gso_big_buffers },
	{ "rx_gso_not_negotiated", t_rx_gso_not_negotiated },
	{ "rx_gso_unknown_type", t_rx_gso_unknown_type },
	{ "rx_gso_ecn", t_rx_gso_ecn },
	{ "rx_gso_no_needs_csum", t_rx_gso_no_needs_csum },
	{ "rx_gso_size_zero", t_rx_gso_size_zero },
	{ "rx_gso_too_many_buffers", t_rx_gso_too_many_buffers },
	{ "rx_gso_too_long", t_rx_gso_too_long },
	{ "rx_gso_too_long_big_buffer", t_rx_gso_too_long_big_buffer },
};

int main(int argc, char **argv)
{
	return harness_main("net-gso", cases, sizeof(cases) / sizeof(cases[0]),
			    argc, argv);
}
