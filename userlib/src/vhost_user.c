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
 *            on back-ends without CONFIGURE_MEM_SLOTS; IOVA = our VA
 *   queues:  SET_VRING_NUM/BASE/ADDR/KICK/CALL, SET_VRING_ENABLE 1;
 *            the doorbell is the kick eventfd, the interrupt the call one
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
#define VU_DEFAULT_QSIZE	256
#define VU_DEFAULT_TIMEOUT_MS	5000

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

static int vu_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct vu *vu = priv;
	uint64_t handle;
	void *p;
	int fd, ret;

	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
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
	atomic_init(&vu->dead, false);
	vu->timeout_ms = p->timeout_ms ? (int)UV_MIN(p->timeout_ms,
						     (uint32_t)INT32_MAX) :
					 VU_DEFAULT_TIMEOUT_MS;
	vu->qsize = p->queue_size ? p->queue_size : VU_DEFAULT_QSIZE;
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
	if (!status)
		ret = stop_rings(vu);
	vu->status = status;
	return ret;
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
	return 0;
}

static int vut_set_features(struct uvirtio_dev *dev, uint64_t features)
{
	struct vu *vu = vu_of(dev);

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
	int ret;

	if ((uint64_t)off + width > len)
		return -EINVAL;
	/* the back-end serves the structure from its start: ask for it all */
	ret = get_config(vu, len, buf);
	if (ret)
		return ret;
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
		return -EOPNOTSUPP;
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
	if (q->started)
		return -EBUSY;
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
	return vu_set_state(vu, VU_SET_VRING_ENABLE, qs->index, 1);
}

static int vut_queue_notify_info(struct uvirtio_dev *dev, uint16_t index,
				 struct uv_notify *n)
{
	struct vu *vu = vu_of(dev);

	if (index >= vu->nq || vu->q[index].kick < 0)
		return -EINVAL;
	*n = (struct uv_notify){
		.kind = UV_NOTIFY_EVENTFD, .fd = vu->q[index].kick,
		.value = index,
	};
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
};
