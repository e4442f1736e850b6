/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_peer.h - the in-process vhost-user net back-end of test_net.c and
 * test_net_errors.c: it maps the memory the front-end shares, serves the
 * vhost-user messages (features, config, queue count as the case sets
 * them in struct npeer), and completes RX or TX descriptors by hand.
 */
#ifndef UV_TEST_NET_PEER_H
#define UV_TEST_NET_PEER_H

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
	/* what the case makes the device say (0: the defaults) */
	uint64_t feat_extra;		/* offered besides the defaults */
	uint16_t mtu, max_pairs, queues;
};

struct msg {
	uint32_t req, flags, size;
	uint8_t pl[512];
	int fds[8];
	unsigned int nfds;
};

static __attribute__((unused)) int rd_msg(int fd, struct msg *m)
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

static __attribute__((unused)) void wr_reply(int fd, uint32_t req, const void *pl, uint32_t size)
{
	uint8_t buf[12 + 512];
	uint32_t h[3] = { req, 0x1 | FLAG_REPLY, size };

	memcpy(buf, h, 12);
	memcpy(buf + 12, pl, size);
	if (send(fd, buf, 12 + size, MSG_NOSIGNAL) < 0)
		return;
}

static __attribute__((unused)) void reply_u64(int fd, uint32_t req, uint64_t v)
{
	wr_reply(fd, req, &v, sizeof(v));
}

static __attribute__((unused)) void unmap_all(struct npeer *p)
{
	for (unsigned int i = 0; i < p->nreg; i++)
		munmap(p->reg[i].map, p->reg[i].maplen);
	p->nreg = 0;
}

static __attribute__((unused)) void set_mem_table(struct npeer *p, struct msg *m)
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

static __attribute__((unused)) void serve(struct npeer *p, int fd)
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

	feat |= p->feat_extra;
	cfg.mtu = p->mtu;
	cfg.max_virtqueue_pairs = p->max_pairs;
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
			reply_u64(fd, m.req, p->queues ? p->queues : 2);
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

static __attribute__((unused)) void *peer_thread(void *arg)
{
	struct npeer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);

	if (fd >= 0) {
		serve(p, fd);
		close(fd);
	}
	return NULL;
}

static __attribute__((unused)) int peer_start(struct npeer *p)
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

static __attribute__((unused)) void peer_stop(struct npeer *p)
{
	pthread_join(p->thr, NULL);
	close(p->lfd);
	unlink(p->path);
	unmap_all(p);
}

/* ---- the device side: rings in the shared memory --------------------- */

static __attribute__((unused)) uint8_t *by_uva(struct npeer *p, uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; i < p->nreg; i++) {
		struct region *g = &p->reg[i];

		if (uva >= g->uva && uva - g->uva + len <= g->size)
			return g->map + g->off + (uva - g->uva);
	}
	return NULL;
}

static __attribute__((unused)) uint8_t *by_gpa(struct npeer *p, uint64_t gpa, uint64_t len)
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
static __attribute__((unused)) int dev_pop(struct npeer *p, unsigned int q, uint16_t *id,
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
static __attribute__((unused)) void dev_push(struct npeer *p, unsigned int q, const uint32_t *ids,
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
static __attribute__((unused)) int dev_rx(struct npeer *p, uint32_t len, unsigned int nbuf,
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

static __attribute__((unused)) int ctx_open(struct nctx *c)
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

static __attribute__((unused)) void ctx_close(struct nctx *c)
{
	uvirtio_net_close(c->net);
	uvirtio_backend_close(c->be);
	peer_stop(&c->p);
}

static __attribute__((unused)) bool payload_ok(const uint8_t *d, uint32_t len)
{
	for (uint32_t k = 0; k < len; k++)
		if (d[k] != (uint8_t)(k * 7 + 1))
			return false;
	return true;
}

#endif /* UV_TEST_NET_PEER_H */
