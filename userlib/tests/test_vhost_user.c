// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_vhost_user.c - the vhost-user front-end against an in-process fake
 * back-end that can be told to lie, refuse or vanish.  The real back-end
 * (qemu-storage-daemon) is exercised by tools/test-vhost-user.sh; this
 * file covers what a real back-end will not do on request.
 *
 * Usage: test_vhost_user [substring-filter]
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "harness.h"

/* The protocol numbers, written out again on purpose: an independent copy. */
#define R_GET_FEATURES		1
#define R_SET_FEATURES		2
#define R_SET_OWNER		3
#define R_SET_MEM_TABLE		5
#define R_SET_VRING_NUM		8
#define R_SET_VRING_ADDR	9
#define R_SET_VRING_BASE	10
#define R_GET_VRING_BASE	11
#define R_SET_VRING_KICK	12
#define R_SET_VRING_CALL	13
#define R_GET_PROTOCOL_FEATURES	15
#define R_SET_PROTOCOL_FEATURES	16
#define R_GET_QUEUE_NUM		17
#define R_SET_VRING_ENABLE	18
#define R_GET_CONFIG		24
#define R_GET_MAX_MEM_SLOTS	36
#define R_ADD_MEM_REG		37
#define R_REM_MEM_REG		38

#define PF_MQ			(1ull << 0)
#define PF_REPLY_ACK		(1ull << 3)
#define PF_CONFIG		(1ull << 9)
#define PF_MEM_SLOTS		(1ull << 15)

#define FLAG_REPLY		(1u << 2)
#define FLAG_NEED_REPLY		(1u << 3)

enum lie {
	LIE_NONE,
	LIE_NO_PROTOCOL_FEATURES,	/* GET_FEATURES without bit 30 */
	LIE_WRONG_REQUEST,		/* reply names another request */
	LIE_HUGE_SIZE,			/* reply size beyond any payload */
	LIE_HANGUP_AFTER_OWNER,		/* close after SET_OWNER */
	LIE_SILENT,			/* never answer GET_FEATURES */
	LIE_ZERO_QUEUES,		/* GET_QUEUE_NUM = 0 */
	LIE_REFUSE_FEATURES,		/* REPLY_ACK 1 for SET_FEATURES */
	LIE_HANGUP_AFTER_OPEN,		/* close once the handshake is done */
	LIE_TALK_OUT_OF_TURN,		/* send a message nobody asked for */
	LIE_SHORT_CONFIG,		/* knows only a 60-byte blk config */
};

struct peer {
	char path[108];
	int lfd;
	pthread_t thr;
	enum lie lie;
	uint64_t proto;			/* protocol features offered */
	uint16_t queues;
	/* what was seen */
	unsigned int n_table, n_add, n_rem, n_enable, n_call_nofd;
	unsigned int table_regions, table_fds, max_regions_seen;
	uint64_t features_set;
	bool saw_shared_bytes;		/* mapped a region, saw our pattern */
	bool done;
	/* hang up on reading message number hangup_at (0: never) */
	unsigned int hangup_at, nmsg;
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
	ssize_t n;

	n = recvmsg(fd, &h, MSG_WAITALL);
	if (n != 12)
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

static void close_fds(struct msg *m)
{
	unsigned int i;

	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
}

/* Map a region the front-end shared and look for its pattern. */
static void peek_region(struct peer *p, const uint8_t *r, int fd)
{
	uint64_t size, off;
	uint8_t *map;

	memcpy(&size, r + 8, 8);
	memcpy(&off, r + 24, 8);
	map = mmap(NULL, size + off, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return;
	if (map[off] == 0xa5 && map[off + size - 1] == 0x5a)
		p->saw_shared_bytes = true;
	munmap(map, size + off);
}

static void serve(struct peer *p, int fd)
{
	struct virtio_blk_config cfg = {
		.capacity = 2048, .blk_size = 512, .num_queues = 2,
	};
	uint64_t feat = (1ull << 30) | (1ull << VIRTIO_F_VERSION_1) |
			(1ull << VIRTIO_BLK_F_BLK_SIZE) |
			(1ull << VIRTIO_BLK_F_FLUSH) |
			(1ull << VIRTIO_BLK_F_MQ);
	bool ack = false;
	struct msg m;

	if (p->lie == LIE_NO_PROTOCOL_FEATURES)
		feat &= ~(1ull << 30);
	while (!rd_msg(fd, &m)) {
		bool need = (m.flags & FLAG_NEED_REPLY) && ack;
		uint64_t v = 0;

		if (p->hangup_at && ++p->nmsg >= p->hangup_at) {
			close_fds(&m);
			return;
		}

		switch (m.req) {
		case R_SET_OWNER:
			if (p->lie == LIE_HANGUP_AFTER_OWNER)
				return;
			break;
		case R_GET_FEATURES:
			if (p->lie == LIE_SILENT) {
				sleep(3);
				return;
			}
			if (p->lie == LIE_WRONG_REQUEST) {
				reply_u64(fd, R_SET_FEATURES, feat);
				break;
			}
			if (p->lie == LIE_HUGE_SIZE) {
				uint32_t h[3] = { m.req, 0x5, 1u << 20 };

				if (send(fd, h, 12, MSG_NOSIGNAL) < 0)
					return;
				break;
			}
			reply_u64(fd, m.req, feat);
			break;
		case R_GET_PROTOCOL_FEATURES:
			reply_u64(fd, m.req, p->proto);
			break;
		case R_SET_PROTOCOL_FEATURES:
			memcpy(&v, m.pl, 8);
			ack = v & PF_REPLY_ACK;
			need = false;
			break;
		case R_GET_QUEUE_NUM:
			reply_u64(fd, m.req,
				  p->lie == LIE_ZERO_QUEUES ? 0 : p->queues);
			if (p->lie == LIE_HANGUP_AFTER_OPEN &&
			    !(p->proto & PF_MEM_SLOTS))
				return;
			break;
		case R_GET_MAX_MEM_SLOTS:
			reply_u64(fd, m.req, 4);
			if (p->lie == LIE_HANGUP_AFTER_OPEN)
				return;
			if (p->lie == LIE_TALK_OUT_OF_TURN)
				reply_u64(fd, R_GET_FEATURES, feat);
			break;
		case R_SET_FEATURES:
			memcpy(&p->features_set, m.pl, 8);
			if (need && p->lie == LIE_REFUSE_FEATURES) {
				reply_u64(fd, m.req, 1);
				need = false;
			}
			break;
		case R_SET_MEM_TABLE: {
			uint32_t n;

			memcpy(&n, m.pl, 4);
			p->n_table++;
			p->table_regions = n;
			p->table_fds = m.nfds;
			if (n > p->max_regions_seen)
				p->max_regions_seen = n;
			for (uint32_t i = 0; m.nfds == n && i < n; i++)
				peek_region(p, m.pl + 8 + 32 * i, m.fds[i]);
			break;
		}
		case R_ADD_MEM_REG:
			p->n_add++;
			break;
		case R_REM_MEM_REG:
			/* libvhost-user before 8.0 insists on the fd */
			p->n_rem += m.nfds == 1;
			if (m.nfds == 1)
				peek_region(p, m.pl + 8, m.fds[0]);
			break;
		case R_GET_CONFIG: {
			uint32_t size;

			memcpy(&size, m.pl + 4, 4);
			if ((p->lie == LIE_SHORT_CONFIG && size > 60) ||
			    size > sizeof(cfg) || size + 12 > m.size) {
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
		case R_SET_VRING_CALL:
			memcpy(&v, m.pl, 8);
			if (v & (1ull << 8))
				p->n_call_nofd++;
			break;
		case R_SET_VRING_ENABLE:
			p->n_enable++;
			break;
		default:
			break;
		}
		close_fds(&m);
		if (need)
			reply_u64(fd, m.req, 0);
	}
}

static void *peer_thread(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);

	if (fd >= 0) {
		serve(p, fd);
		close(fd);
	}
	p->done = true;
	return NULL;
}

static int peer_start(struct peer *p, enum lie lie, uint64_t proto)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->lie = lie;
	p->proto = proto;
	p->queues = 2;
	snprintf(p->path, sizeof(p->path), "/tmp/uvirtio-vu-test.%d.sock",
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

static void peer_stop(struct peer *p)
{
	close(p->lfd);
	unlink(p->path);
}

static const struct uvirtio_vhost_user_params fast = { .timeout_ms = 300 };

#define ALL_PF (PF_MQ | PF_REPLY_ACK | PF_CONFIG | PF_MEM_SLOTS)

/* ---- cases ----------------------------------------------------------- */

static int t_no_socket(void)
{
	struct uvirtio_backend *be;

	CHECK_EQ(uvirtio_vhost_user_open("/nonexistent/uvirtio.sock", NULL,
					 &be), -ENOENT);
	CHECK_EQ(uvirtio_vhost_user_open("", NULL, &be), -EINVAL);
	CHECK_EQ(uvirtio_backend_open("vhost-user:", NULL, &be), -EINVAL);
	return PASS;
}

static int open_expect(enum lie lie, uint64_t proto, int want)
{
	struct uvirtio_backend *be = NULL;
	struct peer p;
	int ret;

	CHECK_EQ(peer_start(&p, lie, proto), 0);
	ret = uvirtio_vhost_user_open(p.path, &fast, &be);
	if (!ret)
		uvirtio_backend_close(be);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	CHECK_EQ(ret, want);
	return PASS;
}

static int t_no_protocol_features(void)
{
	return open_expect(LIE_NO_PROTOCOL_FEATURES, ALL_PF, -EPROTO);
}

static int t_wrong_reply(void)
{
	return open_expect(LIE_WRONG_REQUEST, ALL_PF, -EPROTO);
}

static int t_huge_reply(void)
{
	return open_expect(LIE_HUGE_SIZE, ALL_PF, -EPROTO);
}

static int t_hangup(void)
{
	return open_expect(LIE_HANGUP_AFTER_OWNER, ALL_PF, -ENOTCONN);
}

static int t_silent(void)
{
	struct uvirtio_backend *be;
	struct timespec a, b;
	struct peer p;
	int64_t ms;

	CHECK_EQ(peer_start(&p, LIE_SILENT, ALL_PF), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &fast, &be), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	/* bounded by the 300 ms timeout, not by the peer's 3 s nap */
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 250 && ms < 2000);
	return PASS;
}

static int t_zero_queues(void)
{
	return open_expect(LIE_ZERO_QUEUES, ALL_PF, -EPROTO);
}

static int t_refused_features(void)
{
	struct uvirtio_dev_params dp = { .device_type = VIRTIO_ID_BLOCK };
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct peer p;

	CHECK_EQ(peer_start(&p, LIE_REFUSE_FEATURES, ALL_PF), 0);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &fast, &be), 0);
	CHECK_EQ(uvirtio_vhost_user_protocol_features(be), ALL_PF);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), -EIO);
	/* a refusal is an answer: the connection still works */
	CHECK(!uvirtio_backend_removed(be));
	uvirtio_backend_close(be);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	return PASS;
}

static int t_no_device_type(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct peer p;

	CHECK_EQ(peer_start(&p, LIE_NONE, ALL_PF), 0);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &fast, &be), 0);
	/* vhost-user cannot tell the type: the caller must name it */
	CHECK_EQ(uvirtio_dev_open(be, NULL, &dev), -ENODEV);
	uvirtio_backend_close(be);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	return PASS;
}

/* Memory goes over as fds; the peer maps them and sees our bytes. */
static int mem_case(uint64_t proto)
{
	struct uvirtio_dma d[5];
	struct uvirtio_backend *be;
	unsigned int i, slots = proto & PF_MEM_SLOTS ? 4 : 8, n;
	struct peer p;
	int ret = 0;

	CHECK_EQ(peer_start(&p, LIE_NONE, proto), 0);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &fast, &be), 0);
	for (n = 0; n < 5; n++) {
		struct uvirtio_dma tmp;

		if (n < slots) {
			ret = uvirtio_backend_dma_alloc(be, 8192, &d[n]);
			if (ret)
				break;
			continue;
		}
		/* one past the back-end's slots */
		ret = uvirtio_backend_dma_alloc(be, 4096, &tmp);
		if (!ret)
			uvirtio_backend_dma_free(be, &tmp);
		break;
	}
	if (proto & PF_MEM_SLOTS) {
		CHECK_EQ(n, 4);
		CHECK_EQ(ret, -ENOSPC);
	} else {
		CHECK_EQ(n, 5);
		CHECK_EQ(ret, 0);
	}
	/* a region the peer maps must show what we write now */
	{
		struct uvirtio_dma x;
		uint8_t *b;

		uvirtio_backend_dma_free(be, &d[n - 1]);
		CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &x), 0);
		b = x.vaddr;
		b[0] = 0xa5;
		b[4095] = 0x5a;
		d[n - 1] = x;
	}
	/* caller memory: only with its fd */
	{
		int fd = memfd_create("t", MFD_CLOEXEC);
		uint8_t *m;
		struct uvirtio_mem_region r;

		CHECK(fd >= 0);
		CHECK_EQ(ftruncate(fd, 8192), 0);
		m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(m != MAP_FAILED);
		m[4096] = 0xa5;
		m[8191] = 0x5a;
		CHECK_EQ(uvirtio_backend_dma_map(be, m, 8192), -EOPNOTSUPP);
		uvirtio_backend_dma_free(be, &d[0]);	/* room for one more */
		r = (struct uvirtio_mem_region){
			.addr = m + 4096, .len = 4096, .fd = fd,
			.fd_offset = 4096,
		};
		CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), 0);
		close(fd);	/* the backend keeps its own */
		{
			uint64_t iova = 0;

			CHECK_EQ(uvirtio_backend_translate(be, m + 4100, 4,
							   &iova), 4);
			CHECK_EQ(iova, (uintptr_t)(m + 4100));
		}
		CHECK_EQ(uvirtio_backend_dma_unmap(be, m + 4096), 0);
		munmap(m, 8192);
	}
	for (i = 1; i < n; i++)
		uvirtio_backend_dma_free(be, &d[i]);
	uvirtio_backend_close(be);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	CHECK(p.saw_shared_bytes);
	if (proto & PF_MEM_SLOTS) {
		CHECK_EQ(p.n_table, 0);
		CHECK(p.n_add >= 6);
		CHECK_EQ(p.n_rem, p.n_add);
	} else {
		CHECK_EQ(p.n_add, 0);
		/* the allocations share one arena region, the caller's is one */
		CHECK_EQ(p.max_regions_seen, 2);
		CHECK_EQ(p.table_regions, 0);	/* all freed at the end */
		CHECK_EQ(p.table_fds, 0);
	}
	return PASS;
}

static int t_mem_slots(void)
{
	return mem_case(ALL_PF);
}

static int t_mem_table_fallback(void)
{
	/* DPDK's vhost: no CONFIGURE_MEM_SLOTS, no CONFIG */
	return mem_case(PF_MQ | PF_REPLY_ACK);
}

static int t_vanish(void)
{
	struct uvirtio_dev_params dp = { .device_type = VIRTIO_ID_BLOCK };
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct peer p;
	int i;

	CHECK_EQ(peer_start(&p, LIE_HANGUP_AFTER_OPEN, ALL_PF), 0);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &fast, &be), 0);
	pthread_join(p.thr, NULL);
	for (i = 0; i < 100 && !uvirtio_backend_removed(be); i++)
		usleep(10000);
	CHECK(uvirtio_backend_removed(be));
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), -ENOTCONN);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), -ENOTCONN);
	uvirtio_backend_close(be);
	peer_stop(&p);
	return PASS;
}

static int t_out_of_turn(void)
{
	struct uvirtio_backend *be;
	struct peer p;
	int i;

	CHECK_EQ(peer_start(&p, LIE_TALK_OUT_OF_TURN, ALL_PF), 0);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &fast, &be), 0);
	for (i = 0; i < 100 && !uvirtio_backend_removed(be); i++)
		usleep(10000);
	/* unsolicited data would make every event loop spin: broken */
	CHECK(uvirtio_backend_removed(be));
	uvirtio_backend_close(be);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	return PASS;
}

/* A whole blk bring-up: config size probing, rings, enable, teardown. */
static int blk_case(enum lie lie, bool poll, uint32_t want_cfg)
{
	struct uvirtio_blk_params bp = { .num_queues = 2, .poll = poll };
	struct uvirtio_blk_info info;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct peer p;

	CHECK_EQ(peer_start(&p, lie, ALL_PF), 0);
	CHECK_EQ(uvirtio_backend_open("", NULL, &be), -EINVAL);
	CHECK_EQ(uvirtio_backend_open("nonsense:x", NULL, &be), -EINVAL);
	{
		char ds[160];

		snprintf(ds, sizeof(ds), "vhost-user:%s", p.path);
		CHECK_EQ(uvirtio_backend_open(ds, NULL, &be), 0);
	}
	CHECK_EQ(uvirtio_blk_open(be, &bp, &blk), 0);
	uvirtio_blk_get_info(blk, &info);
	CHECK_EQ(info.capacity, 2048 * 512);
	CHECK_EQ(info.blk_size, 512);
	CHECK_EQ(info.num_queues, 2);
	CHECK(info.flush);
	CHECK_EQ(uvirtio_dev_config_len(uvirtio_blk_device(blk)), want_cfg);
	CHECK(!strcmp(uvirtio_dev_transport_name(uvirtio_blk_device(blk)),
		      "vhost-user"));
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	pthread_join(p.thr, NULL);
	peer_stop(&p);
	CHECK_EQ(p.n_enable, 2);
	/* never the "no fd" flag: libvhost-user 7.2 cannot take it */
	CHECK_EQ(p.n_call_nofd, 0);
	/* bit 30 stays on, ACCESS_PLATFORM is never asked for */
	CHECK(p.features_set & (1ull << 30));
	CHECK(!(p.features_set & (1ull << VIRTIO_F_ACCESS_PLATFORM)));
	CHECK_EQ(p.n_rem, p.n_add);
	return PASS;
}

static int t_blk_bringup(void)
{
	CHECK_EQ(blk_case(LIE_NONE, false,
			  sizeof(struct virtio_blk_config)), PASS);
	CHECK_EQ(blk_case(LIE_NONE, true,
			  sizeof(struct virtio_blk_config)), PASS);
	return PASS;
}

static int t_blk_short_config(void)
{
	/* an older back-end's structure: the size is found by probing */
	return blk_case(LIE_SHORT_CONFIG, false,
			offsetof(struct virtio_blk_config,
				 max_secure_erase_sectors));
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The back-end hangs up on each message of a session in turn (open, blk
 * open, a config write, close): the call that meets it returns a negative
 * errno at once (no wait for the reply time-out, no hang), and nothing
 * is left open.
 */
static int t_hangup_nth(void)
{
	unsigned int n, failed = 0;

	for (n = 1; n < 500; n++) {
		struct uvirtio_backend *be = NULL;
		struct uvirtio_blk *blk = NULL;
		uint8_t wce = 1;
		struct peer p;
		int r, fd0 = dup(0), fd1;
		double t0;
		bool hung;

		close(fd0);
		CHECK_EQ(peer_start(&p, LIE_NONE, ALL_PF), 0);
		p.hangup_at = n;
		t0 = mono_s();
		r = uvirtio_vhost_user_open(p.path, &fast, &be);
		if (!r)
			r = uvirtio_blk_open(be, NULL, &blk);
		if (!r)
			r = uvirtio_dev_write_config(uvirtio_blk_device(blk),
				offsetof(struct virtio_blk_config, wce), &wce, 1);
		if (r) {
			CHECK(r < 0);
			failed++;
		}
		uvirtio_blk_close(blk);
		if (be)
			uvirtio_backend_close(be);
		pthread_join(p.thr, NULL);
		hung = p.nmsg >= n;
		peer_stop(&p);
		if (r)
			CHECK(hung);		/* no failure without a cause */
		/* a hang-up is seen at once, not after the 300 ms time-out */
		CHECK(mono_s() - t0 < 0.25);
		fd1 = dup(0);
		close(fd1);
		CHECK_EQ(fd1, fd0);
		if (!hung)
			break;			/* the session sent fewer */
	}
	fprintf(stderr, "  %u messages, %u failed the session\n", n - 1,
		failed);
	CHECK(n < 500);
	CHECK(failed > 5);
	return PASS;
}

static const struct tcase cases[] = {
	{ "no_socket", t_no_socket },
	{ "no_protocol_features", t_no_protocol_features },
	{ "wrong_reply", t_wrong_reply },
	{ "huge_reply", t_huge_reply },
	{ "hangup", t_hangup },
	{ "silent", t_silent },
	{ "zero_queues", t_zero_queues },
	{ "refused_features", t_refused_features },
	{ "no_device_type", t_no_device_type },
	{ "mem_slots", t_mem_slots },
	{ "mem_table_fallback", t_mem_table_fallback },
	{ "vanish", t_vanish },
	{ "out_of_turn", t_out_of_turn },
	{ "blk_bringup", t_blk_bringup },
	{ "blk_short_config", t_blk_short_config },
	{ "hangup_nth", t_hangup_nth },
};

int main(int argc, char **argv)
{
	return harness_main("vhost-user", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
