// SPDX-License-Identifier: BSD-3-Clause
/*
 * vhost_user.c - libuvirtio as a vhost-user front-end: the backend (the
 * socket, the shared memory, the eventfds) and the "vhost-user" transport
 * that drives it.  Both sit in this file because they share one
 * connection state.  Protocol: QEMU docs/interop/vhost-user.rst.
 *
 * Shape of a session:
 *   open:    connect, SET_OWNER, GET_FEATURES (bit 30 required),
 *            GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS
 *   device:  status is kept here (no STATUS protocol feature is used);
 *            SET_FEATURES when the generic code writes the features;
 *            GET_CONFIG / SET_CONFIG for config space
 *   memory:  every buffer the rings point to is a memfd (or a caller's
 *            fd) shared with ADD_MEM_REG, or with the whole SET_MEM_TABLE
 *            on back-ends without CONFIGURE_MEM_SLOTS, where allocations
 *            share one arena region (8 regions in all); IOVA = our VA
 *   queues:  SET_VRING_NUM/BASE/ADDR/KICK/CALL, SET_VRING_ENABLE 1;
 *            the doorbell is the kick eventfd, the interrupt the call one
 *   net:     GET_QUEUE_NUM is the number of queue pairs; the config
 *            space is synthesized (max_virtqueue_pairs) when the back-end
 *            serves none; the control queue is served here, not by the
 *            back-end (see "the control queue" below)
 *   reset:   GET_VRING_BASE stops each started ring
 *
 * With REPLY_ACK every request that has no reply of its own asks for
 * one, so an error of the back-end is seen at the request that caused it.
 * Every wait on the socket is bounded; a hang-up, a timeout or a broken
 * message marks the connection dead, and every later call and every
 * request in flight fails with -ENOTCONN.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include <uvirtio/vhost_user.h>

#include "internal.h"

/* ---- protocol -------------------------------------------------------- */

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
};

#define VU_VERSION		0x1u
#define VU_FLAG_VERSION_MASK	0x3u
#define VU_FLAG_REPLY		(1u << 2)
#define VU_FLAG_NEED_REPLY	(1u << 3)

#define VU_F_PROTOCOL_FEATURES	30

#define VU_PF_MQ		0
#define VU_PF_REPLY_ACK		3
#define VU_PF_CONFIG		9
#define VU_PF_CONFIGURE_MEM_SLOTS 15

/* What this front-end can use. */
#define VU_PF_WANTED ((1ull << VU_PF_MQ) | (1ull << VU_PF_REPLY_ACK) | \
		      (1ull << VU_PF_CONFIG) |			       \
		      (1ull << VU_PF_CONFIGURE_MEM_SLOTS))

#define VU_TABLE_MAX		8	/* SET_MEM_TABLE regions */
#define VU_SLOTS_MAX		512	/* bound on GET_MAX_MEM_SLOTS */
#define VU_QUEUES_MAX		256	/* bound on GET_QUEUE_NUM */
#define VU_CONFIG_MAX		256
/*
 * Back-ends without CONFIGURE_MEM_SLOTS take 8 regions in all: allocations
 * up to VU_ARENA_CHUNK_MAX share one region of VU_ARENA_SIZE (sparse until
 * touched), page by page; larger ones, or what does not fit, get their own.
 */
#define VU_ARENA_SIZE		(64u << 20)
#define VU_ARENA_CHUNK_MAX	(4u << 20)
#define VU_ARENA_PAGES		(VU_ARENA_SIZE / UV_PAGE_SIZE)
#define VU_ARENA_HANDLE		(1ull << 63)	/* | first page << 32 | pages */
#define VU_DEFAULT_QSIZE	256
#define VU_DEFAULT_TIMEOUT_MS	5000
/* net config without the back-end's: mac, status, max_virtqueue_pairs */
#define VU_NET_CFG_PAIRS_OFF	offsetof(struct virtio_net_config, \
					 max_virtqueue_pairs)
#define VU_NET_CFG_SYNTH_LEN	((uint32_t)(VU_NET_CFG_PAIRS_OFF + 2))
/* Linux 6.1's UAPI headers predate them (virtio 1.3, spec 5.1.3). */
#ifndef VIRTIO_NET_F_DEVICE_STATS
#define VIRTIO_NET_F_DEVICE_STATS 50
#endif
#ifndef VIRTIO_NET_F_VQ_NOTF_COAL
#define VIRTIO_NET_F_VQ_NOTF_COAL 52
#endif
#define VU_CTRL_CMD_MAX		2048	/* longest control command taken */

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vu_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region r[VU_TABLE_MAX];
};

struct vu_mem_reg {
	uint64_t padding;
	struct vu_region r;
};

struct vu_state {
	uint32_t index;
	uint32_t num;
};

struct vu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VU_CONFIG_MAX];
};

union vu_payload {
	uint64_t u64;
	struct vu_state state;
	struct vu_addr addr;
	struct vu_mem_table table;
	struct vu_mem_reg reg;
	struct vu_config config;
};

_Static_assert(sizeof(struct vu_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vu_region) == 32, "vhost-user region");
_Static_assert(sizeof(struct vu_addr) == 40, "vhost-user vring addr");

/* ---- connection state ------------------------------------------------ */

/* One shared memory registration: a back-end memory slot. */
struct vu_mem {
	void *addr;
	size_t len;
	int fd;			/* ours: a memfd or a dup of the caller's */
	uint64_t off;
	bool owned;		/* from dma_alloc: unmap on free */
	bool live;
};

struct vu_queue {
	int kick;
	int idle_call;		/* call eventfd of a polled queue */
	bool started;
	bool enabled;		/* SET_VRING_ENABLE 1 sent */
	/* net's control queue, served here (the back-end never sees it) */
	bool local;
	bool packed;
	uint16_t size;
	uint16_t vector;
	uint64_t desc, driver, device;	/* ring addresses (our VAs) */
	uint16_t last_avail;	/* split: next avail entry; packed: slot */
	uint16_t used_idx;	/* split */
	bool wrap;		/* packed: the wrap counter at last_avail */
};

/* The shared arena of a back-end without mem slots (one region). */
struct vu_arena {
	pthread_mutex_t lock;		/* taken before vu->lock */
	uint8_t *base;			/* NULL: not mapped (no allocation) */
	uint64_t handle;		/* its memory slot */
	int fd;
	unsigned int nused;		/* pages in use */
	uint8_t used[VU_ARENA_PAGES / 8];
};

struct vu {
	int sock;
	pthread_mutex_t lock;		/* one request/reply at a time */
	atomic_bool dead;
	int timeout_ms;
	uint16_t qsize;
	uint64_t dev_features;		/* as offered, bit 30 included */
	uint64_t proto;			/* negotiated protocol features */
	/*
	 * GET_QUEUE_NUM: queues, or queue pairs for net (QEMU's and DPDK's
	 * reading); 1 without the MQ protocol feature.  The per-queue
	 * arrays have nq = 2 * qnum + 1 slots, enough for net's pairs and
	 * control queue; vut_num_queues() tells a driver what it may use.
	 */
	uint16_t qnum;
	uint16_t nq;
	unsigned int max_slots;
	struct vu_mem *mem;		/* max_slots entries */
	unsigned int nlive;
	struct vu_queue *q;		/* nq entries */
	int *vec;			/* nq + 1 call eventfds, -1: none */
	uint8_t status;
	uint32_t cfg_len;		/* 0: not probed yet */
	bool cfg_probed;
	/* net: what the control queue was told (reset: 1 pair, promisc) */
	uint16_t pairs;			/* queue pairs enabled */
	bool promisc, allmulti;
	uint32_t uc_macs, mc_macs;	/* MAC filter table sizes */
	struct vu_arena arena;
};

static const struct uvirtio_backend_ops vu_backend_ops;

static bool has_pf(const struct vu *vu, unsigned int bit)
{
	return vu->proto & (1ull << bit);
}

static void vu_kill(struct vu *vu)
{
	atomic_store(&vu->dead, true);
}

static int io_wait(struct vu *vu, short events)
{
	struct pollfd p = { .fd = vu->sock, .events = events };
	int ret;

	do {
		ret = poll(&p, 1, vu->timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	if ((p.revents & (POLLERR | POLLNVAL)) ||
	    ((p.revents & POLLHUP) && !(p.revents & POLLIN)))
		return -ENOTCONN;
	return 0;
}

static int send_msg(struct vu *vu, const struct vu_hdr *h, const void *pl,
		    const int *fds, unsigned int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VU_TABLE_MAX)];
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = sizeof(*h) },
		{ .iov_base = (void *)pl, .iov_len = h->size },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = h->size ? 2 : 1 };
	size_t total = sizeof(*h) + h->size, done = 0;
	ssize_t n;
	int ret;

	if (nfds > VU_TABLE_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (done < total) {
		n = sendmsg(vu->sock, &m, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ret = io_wait(vu, POLLOUT);
			if (ret)
				return ret;
			continue;
		}
		if (n <= 0)
			return -ENOTCONN;
		done += (size_t)n;
		/* the fds went with the first byte; send the rest plainly */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		while (n > 0 && m.msg_iovlen) {
			size_t k = UV_MIN((size_t)n, m.msg_iov->iov_len);

			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + k;
			m.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (!m.msg_iov->iov_len) {
				m.msg_iov++;
				m.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* Read exactly @len bytes; fds the back-end sends along are closed. */
static int recv_exact(struct vu *vu, void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VU_TABLE_MAX)];
	size_t done = 0;
	ssize_t n;
	int ret;

	while (done < len) {
		struct iovec iov = { (char *)buf + done, len - done };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;

		ret = io_wait(vu, POLLIN);
		if (ret)
			return ret;
		n = recvmsg(vu->sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -ENOTCONN;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			size_t i, k;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(fd));
				close(fd);
			}
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * One request, and its reply when it has one (@reply, up to @rlen bytes;
 * *@rlen is set to what came).  Without a reply of its own, the request
 * asks for the REPLY_ACK u64 when that was negotiated.  Called with
 * vu->lock held.
 */
static int vu_call_locked(struct vu *vu, enum vu_request req, const void *pl,
			  uint32_t plen, const int *fds, unsigned int nfds,
			  void *reply, uint32_t *rlen)
{
	struct vu_hdr h = { .request = req, .flags = VU_VERSION, .size = plen };
	union vu_payload rp;
	bool ack = !reply && has_pf(vu, VU_PF_REPLY_ACK);
	struct vu_hdr rh;
	int ret;

	if (atomic_load(&vu->dead))
		return -ENOTCONN;
	if (ack)
		h.flags |= VU_FLAG_NEED_REPLY;
	ret = send_msg(vu, &h, pl, fds, nfds);
	if (ret)
		goto dead;
	if (!reply && !ack)
		return 0;
	ret = recv_exact(vu, &rh, sizeof(rh));
	if (ret)
		goto dead;
	ret = -EPROTO;
	if (rh.request != (uint32_t)req ||
	    (rh.flags & VU_FLAG_VERSION_MASK) != VU_VERSION ||
	    !(rh.flags & VU_FLAG_REPLY) || rh.size > sizeof(rp))
		goto dead;
	ret = recv_exact(vu, &rp, rh.size);
	if (ret)
		goto dead;
	if (ack) {
		if (rh.size != sizeof(uint64_t))
			goto dead;
		/* the back-end refused: the connection itself is fine */
		return rp.u64 ? -EIO : 0;
	}
	if (rh.size > *rlen)
		goto dead;
	memcpy(reply, &rp, rh.size);
	*rlen = rh.size;
	return 0;
dead:
	vu_kill(vu);
	return ret == -ETIMEDOUT || ret == -EPROTO ? ret : -ENOTCONN;
}

static int vu_call(struct vu *vu, enum vu_request req, const void *pl,
		   uint32_t plen, const int *fds, unsigned int nfds,
		   void *reply, uint32_t *rlen)
{
	int ret;

	pthread_mutex_lock(&vu->lock);
	ret = vu_call_locked(vu, req, pl, plen, fds, nfds, reply, rlen);
	pthread_mutex_unlock(&vu->lock);
	return ret;
}

static int vu_get_u64(struct vu *vu, enum vu_request req, uint64_t *val)
{
	uint32_t len = sizeof(*val);
	int ret = vu_call(vu, req, NULL, 0, NULL, 0, val, &len);

	if (!ret && len != sizeof(*val)) {
		vu_kill(vu);
		return -EPROTO;
	}
	return ret;
}

static int vu_set_u64(struct vu *vu, enum vu_request req, uint64_t val)
{
	return vu_call(vu, req, &val, sizeof(val), NULL, 0, NULL, NULL);
}

static int vu_set_state(struct vu *vu, enum vu_request req, uint32_t index,
			uint32_t num)
{
	struct vu_state s = { .index = index, .num = num };

	return vu_call(vu, req, &s, sizeof(s), NULL, 0, NULL, NULL);
}

/* ---- memory ---------------------------------------------------------- */

static struct vu_region region_of(const struct vu_mem *m)
{
	return (struct vu_region){
		.guest_addr = (uintptr_t)m->addr,
		.size = m->len,
		.user_addr = (uintptr_t)m->addr,
		.mmap_offset = m->off,
	};
}

/* SET_MEM_TABLE with every live region (back-ends without mem slots). */
static int send_table_locked(struct vu *vu)
{
	struct vu_mem_table t = { 0 };
	int fds[VU_TABLE_MAX];
	unsigned int i, n = 0;

	for (i = 0; i < vu->max_slots; i++) {
		if (!vu->mem[i].live)
			continue;
		t.r[n] = region_of(&vu->mem[i]);
		fds[n++] = vu->mem[i].fd;
	}
	t.nregions = n;
	return vu_call_locked(vu, VU_SET_MEM_TABLE, &t,
			      (uint32_t)(8 + n * sizeof(struct vu_region)),
			      fds, n, NULL, NULL);
}

static int mem_add(struct vu *vu, void *addr, size_t len, int fd,
		   uint64_t off, bool owned, uint64_t *handle)
{
	struct vu_mem_reg reg = { 0 };
	unsigned int i;
	int ret;

	pthread_mutex_lock(&vu->lock);
	for (i = 0; i < vu->max_slots && vu->mem[i].live; i++)
		;
	if (i == vu->max_slots) {
		pthread_mutex_unlock(&vu->lock);
		return -ENOSPC;
	}
	vu->mem[i] = (struct vu_mem){
		.addr = addr, .len = len, .fd = fd, .off = off,
		.owned = owned, .live = true,
	};
	if (has_pf(vu, VU_PF_CONFIGURE_MEM_SLOTS)) {
		reg.r = region_of(&vu->mem[i]);
		ret = vu_call_locked(vu, VU_ADD_MEM_REG, &reg, sizeof(reg),
				     &fd, 1, NULL, NULL);
	} else {
		ret = send_table_locked(vu);
	}
	if (ret)
		vu->mem[i].live = false;
	else
		vu->nlive++;
	pthread_mutex_unlock(&vu->lock);
	*handle = i + 1;
	return ret;
}

/* Take slot @handle out of the back-end; returns the entry as it was. */
static int mem_remove(struct vu *vu, uint64_t handle, struct vu_mem *was)
{
	struct vu_mem_reg reg = { 0 };
	struct vu_mem *m;
	int ret = 0;

	if (!handle || handle > vu->max_slots)
		return -ENOENT;
	pthread_mutex_lock(&vu->lock);
	m = &vu->mem[handle - 1];
	if (!m->live) {
		pthread_mutex_unlock(&vu->lock);
		return -ENOENT;
	}
	m->live = false;
	vu->nlive--;
	if (!atomic_load(&vu->dead)) {
		if (has_pf(vu, VU_PF_CONFIGURE_MEM_SLOTS)) {
			reg.r = region_of(m);
			/* libvhost-user before 8.0 wants the fd here too */
			ret = vu_call_locked(vu, VU_REM_MEM_REG, &reg,
					     sizeof(reg), &m->fd, 1, NULL,
					     NULL);
		} else {
			ret = send_table_locked(vu);
		}
	}
	*was = *m;
	pthread_mutex_unlock(&vu->lock);
	return ret;
}

static bool page_used(const struct vu_arena *a, size_t i)
{
	return a->used[i / 8] & (1u << (i % 8));
}

static void pages_mark(struct vu_arena *a, size_t first, size_t n, bool on)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (on)
			a->used[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			a->used[i / 8] &= (uint8_t)~(1u << (i % 8));
	}
}

/* The arena's region, mapped and registered on first use. */
static int arena_map(struct vu *vu)
{
	struct vu_arena *a = &vu->arena;
	void *p;
	int fd, ret;

	fd = memfd_create("uvirtio-vhost-user-arena", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, VU_ARENA_SIZE)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p = mmap(NULL, VU_ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = mem_add(vu, p, VU_ARENA_SIZE, fd, 0, true, &a->handle);
	if (ret) {
		munmap(p, VU_ARENA_SIZE);
		close(fd);
		return ret;
	}
	a->base = p;
	a->fd = fd;
	return 0;
}

/* First fit of @len (page multiple) bytes; -ENOSPC: not here. */
static int arena_alloc(struct vu *vu, size_t len, struct uvirtio_dma *out)
{
	struct vu_arena *a = &vu->arena;
	size_t n = len / UV_PAGE_SIZE, i, run = 0;
	int ret = 0;

	pthread_mutex_lock(&a->lock);
	if (!a->base)
		ret = arena_map(vu);
	for (i = 0; !ret && i < VU_ARENA_PAGES; i++) {
		run = page_used(a, i) ? 0 : run + 1;
		if (run == n)
			break;
	}
	if (!ret && run < n)
		ret = -ENOSPC;
	if (!ret) {
		size_t first = i + 1 - n;

		pages_mark(a, first, n, true);
		a->nused += (unsigned int)n;
		*out = (struct uvirtio_dma){
			.vaddr = a->base + first * UV_PAGE_SIZE,
			.iova = (uintptr_t)(a->base + first * UV_PAGE_SIZE),
			.len = len,
			.handle = VU_ARENA_HANDLE | (uint64_t)first << 32 | n,
		};
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/*
 * Give pages back (zeroed: the hole is punched); the region goes when
 * its last allocation does.
 */
static void arena_free(struct vu *vu, uint64_t handle)
{
	struct vu_arena *a = &vu->arena;
	size_t first = (uint32_t)(handle >> 32) & 0x7fffffffu;
	size_t n = (uint32_t)handle;
	struct vu_mem was;

	pthread_mutex_lock(&a->lock);
	if (!a->base || first + n > VU_ARENA_PAGES || n > a->nused) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	pages_mark(a, first, n, false);
	a->nused -= (unsigned int)n;
	if (fallocate(a->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(first * UV_PAGE_SIZE),
		      (off_t)(n * UV_PAGE_SIZE)))
		memset(a->base + first * UV_PAGE_SIZE, 0, n * UV_PAGE_SIZE);
	if (!a->nused) {
		/* an error means the back-end is gone: unmap ours anyway */
		if (mem_remove(vu, a->handle, &was) != -ENOENT) {
			munmap(was.addr, was.len);
			close(was.fd);
		}
		a->base = NULL;
		a->fd = -1;
	}
	pthread_mutex_unlock(&a->lock);
}

static int vu_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct vu *vu = priv;
	uint64_t handle;
	void *p;
	int fd, ret;

	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	if (!has_pf(vu, VU_PF_CONFIGURE_MEM_SLOTS) && len &&
	    len <= VU_ARENA_CHUNK_MAX) {
		ret = arena_alloc(vu, len, out);
		if (ret != -ENOSPC)
			return ret;
	}
	fd = memfd_create("uvirtio-vhost-user", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = mem_add(vu, p, len, fd, 0, true, &handle);
	if (ret) {
		munmap(p, len);
		close(fd);
		return ret;
	}
	out->vaddr = p;
	out->iova = (uintptr_t)p;
	out->len = len;
	out->handle = handle;
	return 0;
}

static void vu_dma_free(void *priv, struct uvirtio_dma *dma)
{
	struct vu *vu = priv;
	struct vu_mem was;

	if (dma->handle & VU_ARENA_HANDLE) {
		arena_free(vu, dma->handle);
		return;
	}
	/* An error here means the back-end is gone: free ours anyway. */
	if (mem_remove(vu, dma->handle, &was) == -ENOENT)
		return;
	munmap(was.addr, was.len);
	close(was.fd);
}

static int vu_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
		      struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	(void)priv; (void)vaddr; (void)len; (void)handle; (void)segs;
	(void)nsegs;
	/* The back-end is another process: it can map only shared files. */
	return -EOPNOTSUPP;
}

static int vu_dma_map_fd(void *priv, void *vaddr, size_t len, int fd,
			 uint64_t fd_offset, uint64_t *handle,
			 struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	struct vu *vu = priv;
	struct uvirtio_iova_seg *s;
	int dfd, ret;

	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0) {
		ret = -errno;
		free(s);
		return ret == -EBADF ? -EINVAL : ret;
	}
	ret = mem_add(vu, vaddr, len, dfd, fd_offset, false, handle);
	if (ret) {
		close(dfd);
		free(s);
		return ret;
	}
	*s = (struct uvirtio_iova_seg){
		.vaddr = vaddr, .iova = (uintptr_t)vaddr, .len = len,
	};
	*segs = s;
	*nsegs = 1;
	return 0;
}

static int vu_dma_unmap(void *priv, uint64_t handle)
{
	struct vu *vu = priv;
	struct vu_mem was;
	int ret = mem_remove(vu, handle, &was);

	if (ret == -ENOENT)
		return ret;
	close(was.fd);
	return ret;
}

/* ---- interrupts and health ------------------------------------------- */

static int vu_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	struct vu *vu = priv;
	int fd;

	(void)cpu;	/* the back-end's thread decides where it signals */
	if (vector > vu->nq)
		return -EINVAL;
	if (vu->vec[vector] < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return -errno;
		vu->vec[vector] = fd;
	}
	return vu->vec[vector];
}

static int vu_irq_mask(void *priv, unsigned int vector, bool mask)
{
	(void)priv; (void)vector; (void)mask;
	return -EOPNOTSUPP;
}

static int vu_num_vectors(void *priv)
{
	struct vu *vu = priv;

	return vu->nq + 1;
}

static int vu_remove_fd(void *priv)
{
	struct vu *vu = priv;

	return vu->sock;
}

/*
 * Gone when the peer hung up.  Data waiting while no request is out
 * (we hold no reply pending: the trylock succeeded) is a back-end that
 * talks out of turn on this channel: treat it as broken too, or every
 * event loop polling the socket would spin.
 */
static bool vu_removed(void *priv)
{
	struct vu *vu = priv;
	struct pollfd p = { .fd = vu->sock, .events = POLLIN | POLLRDHUP };

	if (atomic_load(&vu->dead))
		return true;
	if (poll(&p, 1, 0) != 1)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
		vu_kill(vu);
		return true;
	}
	if ((p.revents & POLLIN) && !pthread_mutex_trylock(&vu->lock)) {
		p.revents = 0;
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
			vu_kill(vu);
		pthread_mutex_unlock(&vu->lock);
	}
	return atomic_load(&vu->dead);
}

static int vu_iommu_mode(void *priv)
{
	(void)priv;
	return UVIRTIO_BE_IOMMU_NONE;	/* IOVA = our virtual address */
}

static void vu_free(struct vu *vu)
{
	unsigned int i;

	if (vu->sock >= 0)
		close(vu->sock);
	for (i = 0; vu->mem && i < vu->max_slots; i++) {
		if (!vu->mem[i].live)
			continue;
		if (vu->mem[i].owned)
			munmap(vu->mem[i].addr, vu->mem[i].len);
		close(vu->mem[i].fd);
	}
	for (i = 0; vu->q && i < vu->nq; i++) {
		if (vu->q[i].kick >= 0)
			close(vu->q[i].kick);
		if (vu->q[i].idle_call >= 0)
			close(vu->q[i].idle_call);
	}
	for (i = 0; vu->vec && i <= vu->nq; i++)
		if (vu->vec[i] >= 0)
			close(vu->vec[i]);
	free(vu->mem);
	free(vu->q);
	free(vu->vec);
	pthread_mutex_destroy(&vu->lock);
	pthread_mutex_destroy(&vu->arena.lock);
	free(vu);
}

static void vu_close(void *priv)
{
	vu_free(priv);
}

static const struct uvirtio_backend_ops vu_backend_ops = {
	.dma_alloc = vu_dma_alloc,
	.dma_free = vu_dma_free,
	.dma_map = vu_dma_map,
	.dma_unmap = vu_dma_unmap,
	.irq_eventfd = vu_irq_eventfd,
	.irq_mask = vu_irq_mask,
	.num_vectors = vu_num_vectors,
	.iommu_mode = vu_iommu_mode,
	.close = vu_close,
	.remove_fd = vu_remove_fd,
	.dma_map_fd = vu_dma_map_fd,
	.removed = vu_removed,
};

/* ---- open ------------------------------------------------------------ */

static int vu_connect(struct vu *vu, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -EINVAL;
	strcpy(a.sun_path, path);
	vu->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vu->sock < 0)
		return -errno;
	do {
		ret = connect(vu->sock, (struct sockaddr *)&a, sizeof(a));
	} while (ret && errno == EINTR);
	return ret ? -errno : 0;
}

static int vu_handshake(struct vu *vu)
{
	uint64_t pf, v;
	int ret;

	ret = vu_call(vu, VU_SET_OWNER, NULL, 0, NULL, 0, NULL, NULL);
	if (ret)
		return ret;
	ret = vu_get_u64(vu, VU_GET_FEATURES, &vu->dev_features);
	if (ret)
		return ret;
	if (!(vu->dev_features & (1ull << VU_F_PROTOCOL_FEATURES)))
		return -EPROTO;
	ret = vu_get_u64(vu, VU_GET_PROTOCOL_FEATURES, &pf);
	if (ret)
		return ret;
	/* SET_PROTOCOL_FEATURES itself must not ask for REPLY_ACK yet */
	vu->proto = 0;
	ret = vu_set_u64(vu, VU_SET_PROTOCOL_FEATURES, pf & VU_PF_WANTED);
	if (ret)
		return ret;
	vu->proto = pf & VU_PF_WANTED;
	vu->qnum = 1;
	if (has_pf(vu, VU_PF_MQ)) {
		ret = vu_get_u64(vu, VU_GET_QUEUE_NUM, &v);
		if (ret)
			return ret;
		if (!v || v > VU_QUEUES_MAX)
			return -EPROTO;
		vu->qnum = (uint16_t)v;
	}
	vu->nq = (uint16_t)(2 * vu->qnum + 1);
	vu->max_slots = VU_TABLE_MAX;
	if (has_pf(vu, VU_PF_CONFIGURE_MEM_SLOTS)) {
		ret = vu_get_u64(vu, VU_GET_MAX_MEM_SLOTS, &v);
		if (ret)
			return ret;
		if (!v)
			return -EPROTO;
		vu->max_slots = (unsigned int)UV_MIN(v, (uint64_t)VU_SLOTS_MAX);
	}
	return 0;
}

UV_EXPORT int uvirtio_vhost_user_open(const char *path,
				      const struct uvirtio_vhost_user_params *p,
				      struct uvirtio_backend **out)
{
	struct uvirtio_vhost_user_params defp = { 0 };
	struct vu *vu;
	unsigned int i;
	int ret;

	if (!path || !*path || !out)
		return -EINVAL;
	if (!p)
		p = &defp;
	if (p->queue_size && (p->queue_size & (p->queue_size - 1)))
		return -EINVAL;
	vu = calloc(1, sizeof(*vu));
	if (!vu)
		return -ENOMEM;
	vu->sock = -1;
	pthread_mutex_init(&vu->lock, NULL);
	pthread_mutex_init(&vu->arena.lock, NULL);
	vu->arena.fd = -1;
	atomic_init(&vu->dead, false);
	vu->timeout_ms = p->timeout_ms ? (int)UV_MIN(p->timeout_ms,
						     (uint32_t)INT32_MAX) :
					 VU_DEFAULT_TIMEOUT_MS;
	vu->qsize = p->queue_size ? p->queue_size : VU_DEFAULT_QSIZE;
	vu->pairs = 1;
	vu->promisc = true;
	ret = vu_connect(vu, path);
	if (ret)
		goto err;
	ret = vu_handshake(vu);
	if (ret)
		goto err;
	ret = -ENOMEM;
	vu->mem = calloc(vu->max_slots, sizeof(*vu->mem));
	vu->q = calloc(vu->nq, sizeof(*vu->q));
	vu->vec = calloc((size_t)vu->nq + 1, sizeof(*vu->vec));
	if (!vu->mem || !vu->q || !vu->vec)
		goto err;
	for (i = 0; i < vu->nq; i++) {
		vu->q[i].kick = -1;
		vu->q[i].idle_call = -1;
	}
	for (i = 0; i <= vu->nq; i++)
		vu->vec[i] = -1;
	ret = uvirtio_backend_new(&vu_backend_ops, vu, out);
	if (ret)
		goto err;
	return 0;
err:
	vu_free(vu);
	return ret;
}

UV_EXPORT uint64_t uvirtio_vhost_user_protocol_features(struct uvirtio_backend *be)
{
	if (!be || be->ops != &vu_backend_ops)
		return 0;
	return ((struct vu *)be->priv)->proto;
}

/* ---- the transport --------------------------------------------------- */

static struct vu *vu_of(struct uvirtio_dev *dev)
{
	return dev->tpriv;
}

static int vut_probe(struct uvirtio_dev *dev)
{
	if (dev->be->ops != &vu_backend_ops)
		return -ENODEV;
	dev->tpriv = dev->be->priv;
	return 0;
}

static int vut_device_type(struct uvirtio_dev *dev, uint32_t *type)
{
	(void)dev;
	*type = 0;	/* vhost-user cannot tell: the driver names it */
	return 0;
}

/* Stop every started ring: GET_VRING_BASE is the protocol's stop. */
static int stop_rings(struct vu *vu)
{
	struct vu_state s;
	unsigned int i;
	uint32_t len;
	int ret = 0, r;

	for (i = 0; i < vu->nq; i++) {
		vu->q[i].enabled = false;
		if (vu->q[i].local) {
			vu->q[i].local = false;
			continue;
		}
		if (!vu->q[i].started)
			continue;
		s = (struct vu_state){ .index = i };
		len = sizeof(s);
		r = vu_call(vu, VU_GET_VRING_BASE, &s, sizeof(s), NULL, 0,
			    &s, &len);
		vu->q[i].started = false;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

static int vut_get_status(struct uvirtio_dev *dev)
{
	struct vu *vu = vu_of(dev);

	if (atomic_load(&vu->dead))
		return -ENOTCONN;
	return vu->status;
}

static int vut_set_status(struct uvirtio_dev *dev, uint8_t status)
{
	struct vu *vu = vu_of(dev);
	int ret = 0;

	if (atomic_load(&vu->dead))
		return -ENOTCONN;
	if (!status) {
		ret = stop_rings(vu);
		vu->pairs = 1;
		vu->promisc = true;
		vu->allmulti = false;
		vu->uc_macs = 0;
		vu->mc_macs = 0;
	}
	vu->status = status;
	return ret;
}

/*
 * net: the features that live on the control queue.  This front-end is
 * the device for that queue: CTRL_VQ and CTRL_RX are its own offer, the
 * rest of the family (VLAN filter, announce, MAC address, the extra RX
 * modes, RSS and hash configuration, coalescing) is not served and never
 * offered.  MQ stays the back-end's: it has the rings.
 */
#define VU_NET_CTRL_SERVED ((1ull << VIRTIO_NET_F_CTRL_VQ) | \
			    (1ull << VIRTIO_NET_F_CTRL_RX))
#define VU_NET_CTRL_UNSERVED ((1ull << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | \
			      (1ull << VIRTIO_NET_F_CTRL_VLAN) |	\
			      (1ull << VIRTIO_NET_F_GUEST_ANNOUNCE) |	\
			      (1ull << VIRTIO_NET_F_CTRL_MAC_ADDR) |	\
			      (1ull << VIRTIO_NET_F_CTRL_RX_EXTRA) |	\
			      (1ull << VIRTIO_NET_F_DEVICE_STATS) |	\
			      (1ull << VIRTIO_NET_F_VQ_NOTF_COAL) |	\
			      (1ull << VIRTIO_NET_F_NOTF_COAL) |	\
			      (1ull << VIRTIO_NET_F_HASH_REPORT) |	\
			      (1ull << VIRTIO_NET_F_RSS))

static bool is_net(const struct uvirtio_dev *dev)
{
	return dev->device_type == VIRTIO_ID_NET;
}

static int vut_get_features(struct uvirtio_dev *dev, uint64_t *features)
{
	struct vu *vu = vu_of(dev);

	/*
	 * Bit 30 is vhost-user's own, bit 26 vhost's dirty log (needs a log
	 * region).  ACCESS_PLATFORM would need the IOTLB messages, which
	 * this front-end does not send.
	 */
	*features = vu->dev_features & ~(1ull << VU_F_PROTOCOL_FEATURES) &
		    ~(1ull << VHOST_F_LOG_ALL) &
		    ~(1ull << VIRTIO_F_ACCESS_PLATFORM);
	if (is_net(dev)) {
		*features &= ~VU_NET_CTRL_UNSERVED;
		*features |= VU_NET_CTRL_SERVED;
		/* a synthesized config space has no MAC and no link status */
		if (!has_pf(vu, VU_PF_CONFIG))
			*features &= ~((1ull << VIRTIO_NET_F_MAC) |
				       (1ull << VIRTIO_NET_F_STATUS));
	}
	return 0;
}

static int vut_set_features(struct uvirtio_dev *dev, uint64_t features)
{
	struct vu *vu = vu_of(dev);

	/* the back-end does not serve the control queue: not its business */
	if (is_net(dev))
		features &= ~VU_NET_CTRL_SERVED;
	return vu_set_u64(vu, VU_SET_FEATURES,
			  features | (1ull << VU_F_PROTOCOL_FEATURES));
}

static int get_config(struct vu *vu, uint32_t len, uint8_t *buf)
{
	struct vu_config c = { .offset = 0, .size = len };
	uint32_t rlen = sizeof(c);
	int ret;

	if (!has_pf(vu, VU_PF_CONFIG))
		return -EOPNOTSUPP;
	if (len > VU_CONFIG_MAX)
		return -EINVAL;
	ret = vu_call(vu, VU_GET_CONFIG, &c, 12 + len, NULL, 0, &c, &rlen);
	if (ret)
		return ret;
	/* libvhost-user answers a size it cannot serve with an empty reply */
	if (rlen != 12 + len || c.size != len)
		return -EIO;
	memcpy(buf, c.data, len);
	return 0;
}

/*
 * The config size is not part of the protocol, and back-ends refuse a
 * GET_CONFIG larger than the structure they know (qemu-storage-daemon
 * 7.2 has no zoned fields in its virtio_blk_config): try the sizes of the
 * structure's versions, newest first.
 */
static uint32_t vut_config_len(struct uvirtio_dev *dev)
{
	static const uint32_t blk_sizes[] = {
		sizeof(struct virtio_blk_config),
		offsetof(struct virtio_blk_config, max_secure_erase_sectors),
		offsetof(struct virtio_blk_config, max_discard_sectors),
		offsetof(struct virtio_blk_config, blk_size),
	};
	/* net: up to mtu, to max_virtqueue_pairs, to status, the MAC only */
	static const uint32_t net_sizes[] = {
		offsetof(struct virtio_net_config, speed),
		offsetof(struct virtio_net_config, mtu),
		offsetof(struct virtio_net_config, max_virtqueue_pairs),
		offsetof(struct virtio_net_config, status),
	};
	struct vu *vu = vu_of(dev);
	uint8_t buf[VU_CONFIG_MAX];
	const uint32_t *sizes;
	size_t i, n;

	if (vu->cfg_probed)
		return vu->cfg_len;
	vu->cfg_probed = true;
	/* no config from the back-end (DPDK): mac, status, the pairs */
	if (is_net(dev) && !has_pf(vu, VU_PF_CONFIG)) {
		vu->cfg_len = VU_NET_CFG_SYNTH_LEN;
		return vu->cfg_len;
	}
	if (dev->device_type == VIRTIO_ID_BLOCK) {
		sizes = blk_sizes;
		n = UV_ARRAY_SIZE(blk_sizes);
	} else if (dev->device_type == VIRTIO_ID_NET) {
		sizes = net_sizes;
		n = UV_ARRAY_SIZE(net_sizes);
	} else {
		return 0;	/* no other device's config is known here */
	}
	for (i = 0; i < n; i++) {
		if (sizes[i] > VU_CONFIG_MAX)
			continue;
		if (!get_config(vu, sizes[i], buf)) {
			vu->cfg_len = sizes[i];
			break;
		}
		if (atomic_load(&vu->dead))
			break;
	}
	return vu->cfg_len;
}

static int vut_config_read(struct uvirtio_dev *dev, uint32_t off,
			   unsigned int width, uint32_t *val)
{
	struct vu *vu = vu_of(dev);
	uint8_t buf[VU_CONFIG_MAX];
	uint32_t len = vut_config_len(dev);
	uint16_t pairs = vu->qnum;
	int ret;

	if ((uint64_t)off + width > len)
		return -EINVAL;
	if (is_net(dev) && !has_pf(vu, VU_PF_CONFIG)) {
		memset(buf, 0, len);
	} else {
		/* the back-end serves the structure from its start: all of it */
		ret = get_config(vu, len, buf);
		if (ret)
			return ret;
	}
	/*
	 * net: the rings the back-end has (GET_QUEUE_NUM) are what pairs
	 * there are, and the control queue is found behind them: one
	 * number for both, whatever a back-end's config says.
	 */
	if (is_net(dev) && len >= VU_NET_CFG_SYNTH_LEN)
		memcpy(buf + VU_NET_CFG_PAIRS_OFF, &pairs, sizeof(pairs));
	*val = 0;
	memcpy(val, buf + off, width);
	return 0;
}

static int vut_config_write(struct uvirtio_dev *dev, uint32_t off,
			    unsigned int width, uint32_t val)
{
	struct vu *vu = vu_of(dev);
	struct vu_config c = { .offset = off, .size = width };

	if ((uint64_t)off + width > vut_config_len(dev))
		return -EINVAL;
	if (!has_pf(vu, VU_PF_CONFIG))
		return -EOPNOTSUPP;	/* net's synthesized one is read-only */
	memcpy(c.data, &val, width);
	return vu_call(vu, VU_SET_CONFIG, &c, 12 + width, NULL, 0, NULL,
		       NULL);
}

static int vut_config_generation(struct uvirtio_dev *dev)
{
	(void)dev;
	return -EOPNOTSUPP;
}

/* net counts pairs: an RX and a TX queue each, and the control queue */
static int vut_num_queues(struct uvirtio_dev *dev)
{
	struct vu *vu = vu_of(dev);

	return dev->device_type == VIRTIO_ID_NET ? vu->nq : vu->qnum;
}

static int vut_queue_size(struct uvirtio_dev *dev, uint16_t index)
{
	struct vu *vu = vu_of(dev);

	return index < vut_num_queues(dev) ? vu->qsize : 0;
}

/*
 * net: the control queue's index once CTRL_VQ is negotiated (spec 5.1.2:
 * 2 * max_virtqueue_pairs with MQ, else 2), or -1.
 */
static int ctrl_index(struct uvirtio_dev *dev)
{
	struct vu *vu = vu_of(dev);

	if (!is_net(dev) || !(dev->features & (1ull << VIRTIO_NET_F_CTRL_VQ)))
		return -1;
	return dev->features & (1ull << VIRTIO_NET_F_MQ) ? 2 * vu->qnum : 2;
}

/*
 * A data ring starts enabled unless it belongs to a net queue pair the
 * control queue has not turned on: with MQ only the first pair runs
 * until VQ_PAIRS_SET (spec 5.1.6.5.5).
 */
static bool ring_wanted(struct uvirtio_dev *dev, uint16_t index)
{
	struct vu *vu = vu_of(dev);

	if (!is_net(dev) || !(dev->features & (1ull << VIRTIO_NET_F_MQ)))
		return true;
	return index < 2u * vu->pairs;
}

static int local_setup(struct uvirtio_dev *dev, const struct uv_queue_setup *qs);

static int vut_queue_setup(struct uvirtio_dev *dev,
			   const struct uv_queue_setup *qs)
{
	struct vu *vu = vu_of(dev);
	bool packed = dev->features & (1ull << VIRTIO_F_RING_PACKED);
	struct vu_addr a = {
		.index = qs->index, .flags = 0, .desc = qs->desc,
		.used = qs->device, .avail = qs->driver, .log = 0,
	};
	struct vu_queue *q;
	uint64_t v;
	int ret, fd;

	if (qs->index >= vu->nq)
		return -EINVAL;
	q = &vu->q[qs->index];
	if (q->started || q->local)
		return -EBUSY;
	if (qs->index == ctrl_index(dev))
		return local_setup(dev, qs);
	if (q->kick < 0) {
		q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick < 0)
			return -errno;
	}
	/* packed: bit 15 of the base is the wrap counter, which starts at 1 */
	if ((ret = vu_set_state(vu, VU_SET_VRING_NUM, qs->index, qs->size)) ||
	    (ret = vu_set_state(vu, VU_SET_VRING_BASE, qs->index,
				packed ? 1u << 15 : 0)) ||
	    (ret = vu_call(vu, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0,
			   NULL, NULL)))
		return ret;
	v = qs->index;
	ret = vu_call(vu, VU_SET_VRING_KICK, &v, sizeof(v), &q->kick, 1,
		      NULL, NULL);
	if (ret)
		return ret;
	if (qs->vector != VIRTIO_MSI_NO_VECTOR) {
		if (qs->vector > vu->nq || vu->vec[qs->vector] < 0)
			return -EINVAL;
		fd = vu->vec[qs->vector];
		ret = vu_call(vu, VU_SET_VRING_CALL, &v, sizeof(v), &fd, 1,
			      NULL, NULL);
	} else {
		/*
		 * Polled.  The protocol's "no fd" flag would do, but
		 * libvhost-user 7.2 then writes to fd -1 and panics: give it
		 * an eventfd nobody reads.
		 */
		if (q->idle_call < 0) {
			q->idle_call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (q->idle_call < 0)
				return -errno;
		}
		ret = vu_call(vu, VU_SET_VRING_CALL, &v, sizeof(v),
			      &q->idle_call, 1, NULL, NULL);
	}
	if (ret)
		return ret;
	q->started = true;
	if (!ring_wanted(dev, qs->index))
		return 0;	/* VQ_PAIRS_SET enables it */
	ret = vu_set_state(vu, VU_SET_VRING_ENABLE, qs->index, 1);
	if (!ret)
		q->enabled = true;
	return ret;
}

static int vut_queue_notify_info(struct uvirtio_dev *dev, uint16_t index,
				 struct uv_notify *n)
{
	struct vu *vu = vu_of(dev);

	if (index < vu->nq && vu->q[index].local) {
		*n = (struct uv_notify){
			.kind = UV_NOTIFY_LOCAL, .off = index, .value = index,
			.fd = -1,
		};
		return 0;
	}
	if (index >= vu->nq || vu->q[index].kick < 0)
		return -EINVAL;
	*n = (struct uv_notify){
		.kind = UV_NOTIFY_EVENTFD, .fd = vu->q[index].kick,
		.value = index,
	};
	return 0;
}

/* ---- the control queue ----------------------------------------------- */

/*
 * vhost-user back-ends do not serve virtio-net's control queue (QEMU keeps
 * it in its own device model, DPDK's vhost never looks at it): this
 * front-end is the device for it.  Its ring and buffers are our memory
 * (IOVA = our VA), the doorbell is UV_NOTIFY_LOCAL, and a kick answers
 * every available command before it returns, in the kicking thread.
 *
 *   MQ VQ_PAIRS_SET N (1 <= N <= GET_QUEUE_NUM, MQ negotiated): the
 *	rings of the first N pairs get SET_VRING_ENABLE 1, the others 0;
 *	a pair whose rings the driver has not set up is refused.
 *   RX PROMISC / ALLMULTI, MAC TABLE_SET (CTRL_RX negotiated): checked
 *	for shape, remembered and acknowledged.  Filtering is best effort
 *	(spec 5.1.6.5.1): the back-end delivers what it delivers.
 *   Anything else: VIRTIO_NET_ERR.
 *
 * The ring memory is shared with the back-end, so nothing in it is
 * trusted: every address must lie in a registered region, chains are
 * bounded by the ring size; a chain that breaks the rules sets
 * DEVICE_NEEDS_RESET and fails the doorbell (-EIO).
 */

struct ctrl_cmd {
	uint8_t buf[VU_CTRL_CMD_MAX];
	uint32_t len;		/* bytes the driver gave (may exceed buf) */
	uint8_t *ack;		/* first device-writable byte */
	bool seen_write;
};

/* @len bytes at @iova inside one live memory region, or NULL. */
static void *vu_va(struct vu *vu, uint64_t iova, uint64_t len)
{
	void *va = NULL;
	unsigned int i;

	pthread_mutex_lock(&vu->lock);
	for (i = 0; i < vu->max_slots; i++) {
		const struct vu_mem *m = &vu->mem[i];
		uint64_t start = (uintptr_t)m->addr;

		if (m->live && iova >= start && iova - start <= m->len &&
		    len <= m->len - (iova - start)) {
			va = (void *)(uintptr_t)iova;
			break;
		}
	}
	pthread_mutex_unlock(&vu->lock);
	return va;
}

/* One buffer of a chain: readable ones first, then writable ones. */
static int ctrl_seg(struct vu *vu, struct ctrl_cmd *c, uint64_t addr,
		    uint32_t len, bool write)
{
	uint8_t *va;

	if (!len)
		return 0;
	va = vu_va(vu, addr, len);
	if (!va)
		return -EIO;
	if (write) {
		if (!c->ack)
			c->ack = va;
		c->seen_write = true;
		return 0;
	}
	if (c->seen_write)
		return -EIO;	/* readable after writable (spec 2.7.4.2) */
	if (c->len < VU_CTRL_CMD_MAX)
		memcpy(c->buf + c->len, va,
		       UV_MIN(len, VU_CTRL_CMD_MAX - c->len));
	c->len = len > UINT32_MAX - c->len ? UINT32_MAX : c->len + len;
	return 0;
}

/* An indirect table: @len bytes of descriptors (spec 2.7.5.3, 2.8.13). */
static int ctrl_indirect(struct vu *vu, struct uvirtio_dev *dev,
			 struct ctrl_cmd *c, uint64_t addr, uint32_t len,
			 bool packed)
{
	uint32_t i = 0, hops, n = len / 16;
	const uint8_t *t;

	if (!(dev->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC)) ||
	    !n || len % 16)
		return -EIO;
	t = vu_va(vu, addr, len);
	if (!t)
		return -EIO;
	/* packed: the entries in order; split: linked by index */
	for (hops = 0; hops < n; hops++) {
		uint64_t a;
		uint32_t l;
		uint16_t f, next;
		int ret;

		/* split: addr, len, flags, next; packed: addr, len, id, flags */
		memcpy(&a, t + 16 * i, 8);
		memcpy(&l, t + 16 * i + 8, 4);
		memcpy(&f, t + 16 * i + (packed ? 14 : 12), 2);
		memcpy(&next, t + 16 * i + 14, 2);
		if (f & VRING_DESC_F_INDIRECT)
			return -EIO;	/* no table in a table */
		ret = ctrl_seg(vu, c, a, l, f & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
		if (packed) {
			i++;
			continue;
		}
		if (!(f & VRING_DESC_F_NEXT))
			return 0;
		if (next >= n)
			return -EIO;
		i = next;
	}
	return packed ? 0 : -EIO;	/* split: a loop */
}

/* RX mode and MAC filter commands (CTRL_RX): @d, @n the data. */
static uint8_t ctrl_rx(struct vu *vu, uint8_t cls, uint8_t cmd,
		       const uint8_t *d, uint32_t n)
{
	uint32_t uc, mc;

	if (cls == VIRTIO_NET_CTRL_RX) {
		/* one byte, 0 or 1; the _EXTRA modes are not offered */
		if (n != 1 || d[0] > 1)
			return VIRTIO_NET_ERR;
		if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			vu->promisc = d[0];
		else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
			vu->allmulti = d[0];
		else
			return VIRTIO_NET_ERR;
		return VIRTIO_NET_OK;
	}
	/* MAC TABLE_SET: le32 count + 6-byte MACs, twice, nothing more */
	if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || n < 4)
		return VIRTIO_NET_ERR;
	memcpy(&uc, d, 4);
	if (uc > (n - 4) / 6 || n - 4 - 6 * uc < 4)
		return VIRTIO_NET_ERR;
	memcpy(&mc, d + 4 + 6 * uc, 4);
	if (mc > (n - 8 - 6 * uc) / 6 || n != 8 + 6 * uc + 6 * mc)
		return VIRTIO_NET_ERR;
	vu->uc_macs = uc;
	vu->mc_macs = mc;
	return VIRTIO_NET_OK;
}

/*
 * VQ_PAIRS_SET: the rings of the first @pairs pairs on, the rest off.
 * Every ring to be enabled must have been set up; nothing changes then.
 */
static int ctrl_set_pairs(struct vu *vu, uint16_t pairs)
{
	unsigned int i;
	int ret;

	for (i = 0; i < 2u * pairs; i++)
		if (!vu->q[i].started)
			return -EINVAL;
	for (i = 0; i < 2u * vu->qnum; i++) {
		bool on = i < 2u * pairs;

		if (!vu->q[i].started || vu->q[i].enabled == on)
			continue;
		ret = vu_set_state(vu, VU_SET_VRING_ENABLE, i, on);
		if (ret)
			return ret;
		vu->q[i].enabled = on;
	}
	vu->pairs = pairs;
	return 0;
}

static uint8_t ctrl_exec(struct vu *vu, struct uvirtio_dev *dev,
			 const struct ctrl_cmd *c)
{
	const uint8_t *d = c->buf + 2;
	uint32_t n = c->len - 2;
	uint16_t pairs;

	if (c->len < 2 || c->len > VU_CTRL_CMD_MAX)
		return VIRTIO_NET_ERR;
	switch (c->buf[0]) {
	case VIRTIO_NET_CTRL_MQ:
		if (c->buf[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    !(dev->features & (1ull << VIRTIO_NET_F_MQ)) || n != 2)
			return VIRTIO_NET_ERR;
		memcpy(&pairs, d, 2);
		if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN ||
		    pairs > vu->qnum)
			return VIRTIO_NET_ERR;
		return ctrl_set_pairs(vu, pairs) ? VIRTIO_NET_ERR :
						   VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX:
	case VIRTIO_NET_CTRL_MAC:
		if (!(dev->features & (1ull << VIRTIO_NET_F_CTRL_RX)))
			return VIRTIO_NET_ERR;
		return ctrl_rx(vu, c->buf[0], c->buf[1], d, n);
	default:
		return VIRTIO_NET_ERR;
	}
}

/* One descriptor of a chain in the ring proper. */
static int ctrl_desc(struct vu *vu, struct uvirtio_dev *dev,
		     struct ctrl_cmd *c, uint64_t addr, uint32_t len,
		     uint16_t flags, bool packed)
{
	if (flags & VRING_DESC_F_INDIRECT) {
		/* a table is the whole chain (spec 2.7.5.3.1, 2.8.13.3.1) */
		if ((flags & VRING_DESC_F_NEXT) || c->len || c->seen_write)
			return -EIO;
		return ctrl_indirect(vu, dev, c, addr, len, packed);
	}
	return ctrl_seg(vu, c, addr, len, flags & VRING_DESC_F_WRITE);
}

static int ctrl_split(struct vu *vu, struct uvirtio_dev *dev,
		      struct vu_queue *q)
{
	struct vring_desc *desc = (void *)(uintptr_t)q->desc;
	struct vring_avail *avail = (void *)(uintptr_t)q->driver;
	struct vring_used *used = (void *)(uintptr_t)q->device;
	uint16_t aidx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);

	if ((uint16_t)(aidx - q->last_avail) > q->size)
		return -EIO;	/* more available than the ring holds */
	while (q->last_avail != aidx) {
		struct ctrl_cmd c;
		uint16_t head, i, k;
		int ret = -EIO;

		c.len = 0;
		c.ack = NULL;
		c.seen_write = false;
		head = __atomic_load_n(&avail->ring[q->last_avail % q->size],
				       __ATOMIC_RELAXED);
		for (i = head, k = 0; i < q->size && k < q->size; k++) {
			struct vring_desc d;

			memcpy(&d, &desc[i], sizeof(d));
			ret = ctrl_desc(vu, dev, &c, d.addr, d.len, d.flags,
					false);
			if (ret || !(d.flags & VRING_DESC_F_NEXT))
				break;
			i = d.next;
			ret = -EIO;	/* out of the ring, or a loop */
		}
		if (ret || !c.ack)
			return -EIO;	/* no room for the ack */
		*c.ack = ctrl_exec(vu, dev, &c);
		used->ring[q->used_idx % q->size].id = head;
		used->ring[q->used_idx % q->size].len = 1;
		__atomic_store_n(&used->idx, ++q->used_idx, __ATOMIC_RELEASE);
		q->last_avail++;
	}
	/* EVENT_IDX: the next command wants a doorbell (avail_event) */
	__atomic_store_n((uint16_t *)&used->ring[q->size], q->last_avail,
			 __ATOMIC_RELEASE);
	return 0;
}

static int ctrl_packed(struct vu *vu, struct uvirtio_dev *dev,
		       struct vu_queue *q)
{
	struct vring_packed_desc *desc = (void *)(uintptr_t)q->desc;
	const uint16_t avail_bit = 1u << VRING_PACKED_DESC_F_AVAIL;
	const uint16_t used_bit = 1u << VRING_PACKED_DESC_F_USED;

	for (;;) {
		uint16_t f = __atomic_load_n(&desc[q->last_avail].flags,
					     __ATOMIC_ACQUIRE);
		uint16_t pos = q->last_avail, head = pos, id = 0, k;
		bool wrap = q->wrap, head_wrap = wrap;
		struct ctrl_cmd c;
		int ret = -EIO;

		if (!!(f & avail_bit) != wrap || !!(f & used_bit) == wrap)
			return 0;	/* nothing more available */
		c.len = 0;
		c.ack = NULL;
		c.seen_write = false;
		for (k = 0; k < q->size; k++) {
			struct vring_packed_desc d;

			memcpy(&d, &desc[pos], sizeof(d));
			/* the chain's later flags follow the head's release */
			if (k && (!!(d.flags & avail_bit) != wrap ||
				  !!(d.flags & used_bit) == wrap))
				break;
			ret = ctrl_desc(vu, dev, &c, d.addr, d.len, d.flags,
					true);
			id = d.id;
			if (++pos == q->size) {
				pos = 0;
				wrap = !wrap;
			}
			if (ret || !(d.flags & VRING_DESC_F_NEXT))
				break;
			ret = -EIO;	/* longer than the ring */
		}
		if (ret || !c.ack || id >= q->size)
			return -EIO;
		*c.ack = ctrl_exec(vu, dev, &c);
		desc[head].id = id;
		desc[head].len = 1;
		__atomic_store_n(&desc[head].flags, (uint16_t)(head_wrap ?
				 avail_bit | used_bit : 0), __ATOMIC_RELEASE);
		q->last_avail = pos;
		q->wrap = wrap;
	}
}

static int vut_local_notify(struct uvirtio_dev *dev, uint16_t index)
{
	struct vu *vu = vu_of(dev);
	struct vu_queue *q;
	int ret;

	if (index >= vu->nq || !vu->q[index].local)
		return -EINVAL;
	if (atomic_load(&vu->dead))
		return -ENOTCONN;
	q = &vu->q[index];
	ret = q->packed ? ctrl_packed(vu, dev, q) : ctrl_split(vu, dev, q);
	if (ret) {
		vu->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
		return ret;
	}
	/* an interrupt for a queue that takes them (a spurious one is fine) */
	if (q->vector != VIRTIO_MSI_NO_VECTOR && q->vector <= vu->nq &&
	    vu->vec[q->vector] >= 0) {
		uint64_t one = 1;

		if (write(vu->vec[q->vector], &one, sizeof(one)) < 0)
			return 0;	/* a full counter wakes the reader too */
	}
	return 0;
}

/* The control queue's rings: checked to be ours, remembered, no message. */
static int local_setup(struct uvirtio_dev *dev,
		       const struct uv_queue_setup *qs)
{
	struct vu *vu = vu_of(dev);
	struct vu_queue *q = &vu->q[qs->index];
	bool packed = dev->features & (1ull << VIRTIO_F_RING_PACKED);
	uint64_t n = qs->size, dlen = 16 * n;
	uint64_t alen = packed ? 4 : 4 + 2 * n + 2;
	uint64_t ulen = packed ? 4 : 4 + 8 * n + 2;

	if (!n || (!packed && (n & (n - 1))) || n > 32768)
		return -EINVAL;
	if (!vu_va(vu, qs->desc, dlen) || !vu_va(vu, qs->driver, alen) ||
	    !vu_va(vu, qs->device, ulen))
		return -EINVAL;
	if (qs->vector != VIRTIO_MSI_NO_VECTOR &&
	    (qs->vector > vu->nq || vu->vec[qs->vector] < 0))
		return -EINVAL;
	*q = (struct vu_queue){
		.kick = q->kick, .idle_call = q->idle_call, .local = true,
		.packed = packed, .size = (uint16_t)n, .vector = qs->vector,
		.desc = qs->desc, .driver = qs->driver, .device = qs->device,
		.wrap = true,
	};
	if (packed) {
		/* device event suppression: notify every time */
		struct vring_packed_desc_event *ev =
			(void *)(uintptr_t)qs->device;

		ev->off_wrap = 0;
		__atomic_store_n(&ev->flags, 0, __ATOMIC_RELEASE);
	} else {
		struct vring_used *used = (void *)(uintptr_t)qs->device;

		used->flags = 0;
		used->idx = 0;
	}
	return 0;
}

const struct uv_transport_ops uv_vhost_user_ops = {
	.name = "vhost-user",
	.kind = UVIRTIO_TRANSPORT_VHOST_USER,
	.legacy = false,
	.fixed_queue_size = false,
	.split_align = 4,
	.gone_err = -ENOTCONN,
	.probe = vut_probe,
	.device_type = vut_device_type,
	.get_status = vut_get_status,
	.set_status = vut_set_status,
	.get_features = vut_get_features,
	.set_features = vut_set_features,
	.config_read = vut_config_read,
	.config_write = vut_config_write,
	.config_generation = vut_config_generation,
	.config_len = vut_config_len,
	.num_queues = vut_num_queues,
	.queue_size = vut_queue_size,
	.queue_setup = vut_queue_setup,
	.queue_notify_info = vut_queue_notify_info,
	.local_notify = vut_local_notify,
};
