// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_net_mq.c - virtio-net multiqueue over vhost-user against an
 * in-process fake back-end shaped like DPDK's vhost (MQ and REPLY_ACK,
 * no CONFIG, no mem slots): GET_QUEUE_NUM checks, the synthesized config
 * space, and the control queue the front-end serves itself
 * (VQ_PAIRS_SET -> SET_VRING_ENABLE, RX mode, MAC table, refusals, a
 * ring the back-end scribbled on).  The real back-end (dpdk-testpmd,
 * queues=2) is tools/test-vhost-user-net.sh's mq_tests.
 *
 * Usage: test_net_mq [substring-filter]
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "harness.h"

/* The protocol numbers, written out again on purpose: an independent copy. */
#define R_GET_FEATURES		1
#define R_SET_FEATURES		2
#define R_SET_MEM_TABLE		5
#define R_SET_VRING_ADDR	9
#define R_GET_VRING_BASE	11
#define R_GET_PROTOCOL_FEATURES	15
#define R_SET_PROTOCOL_FEATURES	16
#define R_GET_QUEUE_NUM		17
#define R_SET_VRING_ENABLE	18
#define R_GET_CONFIG		24

#define PF_MQ			(1ull << 0)
#define PF_REPLY_ACK		(1ull << 3)
#define PF_CONFIG		(1ull << 9)

#define FLAG_REPLY		(1u << 2)
#define FLAG_NEED_REPLY		(1u << 3)

#define MAX_ENABLES		64

struct peer {
	char path[108];
	int lfd;
	pthread_t thr;
	uint64_t proto;
	uint64_t queue_num;		/* GET_QUEUE_NUM's answer */
	/* what was seen */
	struct { uint32_t index, num; } en[MAX_ENABLES];
	unsigned int n_en;
	uint64_t addr_seen;		/* bit i: SET_VRING_ADDR of ring i */
	uint64_t features_set;
	unsigned int max_regions;	/* most SET_MEM_TABLE regions */
	uint64_t max_region_size;
};

struct msg {
	uint32_t req, flags, size;
	uint8_t pl[512];
};

static const uint64_t offered = (1ull << 30) | (1ull << VIRTIO_F_VERSION_1) |
	(1ull << VIRTIO_NET_F_MQ) | (1ull << VIRTIO_NET_F_CTRL_VQ) |
	(1ull << VIRTIO_NET_F_CTRL_RX) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
	(1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
	(1ull << VIRTIO_NET_F_GUEST_ANNOUNCE) |
	(1ull << VIRTIO_NET_F_CTRL_VLAN) | (1ull << VIRTIO_F_RING_PACKED) |
	(1ull << VIRTIO_RING_F_INDIRECT_DESC);

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
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		unsigned int i, n;

		if (c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			close(f);
		}
	}
	if (m->size > sizeof(m->pl))
		return -1;
	if (m->size && recv(fd, m->pl, m->size, MSG_WAITALL) !=
	    (ssize_t)m->size)
		return -1;
	return 0;
}

static void reply(int fd, uint32_t req, const void *pl, uint32_t size)
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
	reply(fd, req, &v, sizeof(v));
}

static void serve(struct peer *p, int fd)
{
	/* a back-end's config that says more pairs than it has rings */
	struct virtio_net_config cfg = {
		.mac = { 0x02, 0, 0, 0, 0x42, 0x01 },
		.status = VIRTIO_NET_S_LINK_UP, .max_virtqueue_pairs = 8,
	};
	bool ack = false;
	struct msg m;

	while (!rd_msg(fd, &m)) {
		bool need = (m.flags & FLAG_NEED_REPLY) && ack;
		uint64_t v = 0;
		uint32_t idx, num, size;

		switch (m.req) {
		case R_GET_FEATURES:
			reply_u64(fd, m.req, offered);
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
			reply_u64(fd, m.req, p->queue_num);
			break;
		case R_SET_FEATURES:
			memcpy(&p->features_set, m.pl, 8);
			break;
		case R_SET_MEM_TABLE:
			memcpy(&num, m.pl, 4);
			if (num > p->max_regions)
				p->max_regions = num;
			for (idx = 0; idx < num && idx < 8; idx++) {
				memcpy(&v, m.pl + 8 + 32 * idx + 8, 8);
				if (v > p->max_region_size)
					p->max_region_size = v;
			}
			break;
		case R_SET_VRING_ADDR:
			memcpy(&idx, m.pl, 4);
			if (idx < 64)
				p->addr_seen |= 1ull << idx;
			break;
		case R_SET_VRING_ENABLE:
			memcpy(&idx, m.pl, 4);
			memcpy(&num, m.pl + 4, 4);
			if (p->n_en < MAX_ENABLES) {
				p->en[p->n_en].index = idx;
				p->en[p->n_en].num = num;
				p->n_en++;
			}
			break;
		case R_GET_VRING_BASE:
			reply(fd, m.req, m.pl, 8);
			break;
		case R_GET_CONFIG:
			memcpy(&size, m.pl + 4, 4);
			if (size > sizeof(cfg) || size + 12 > m.size) {
				reply(fd, m.req, m.pl, 0);
				break;
			}
			memcpy(m.pl + 12, &cfg, size);
			reply(fd, m.req, m.pl, 12 + size);
			break;
		default:
			break;
		}
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
	return NULL;
}

static int peer_start(struct peer *p, uint64_t proto, uint64_t queue_num)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->proto = proto;
	p->queue_num = queue_num;
	snprintf(p->path, sizeof(p->path), "/tmp/uvirtio-netmq-test.%d.sock",
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

/* After the front-end closed: the peer thread sees the hang-up. */
static void peer_join(struct peer *p)
{
	pthread_join(p->thr, NULL);
	close(p->lfd);
	unlink(p->path);
}

/* The last SET_VRING_ENABLE of ring @idx: 1, 0, or -1 for none. */
static int last_enable(const struct peer *p, uint32_t idx)
{
	int v = -1;
	unsigned int i;

	for (i = 0; i < p->n_en; i++)
		if (p->en[i].index == idx)
			v = (int)p->en[i].num;
	return v;
}

static const struct uvirtio_vhost_user_params fast = {
	.timeout_ms = 500, .queue_size = 16,
};

#define DPDK_PF (PF_MQ | PF_REPLY_ACK)

/* ---- GET_QUEUE_NUM --------------------------------------------------- */

static int queue_num_case(uint64_t n, int want)
{
	struct uvirtio_backend *be = NULL;
	struct peer p;
	int ret;

	CHECK_EQ(peer_start(&p, DPDK_PF, n), 0);
	ret = uvirtio_vhost_user_open(p.path, &fast, &be);
	if (!ret)
		uvirtio_backend_close(be);
	peer_join(&p);
	CHECK_EQ(ret, want);
	return PASS;
}

static int t_queue_num_bounds(void)
{
	/* no pairs at all, more than the front-end takes, a 32-bit wrap */
	CHECK_EQ(queue_num_case(0, -EPROTO), PASS);
	CHECK_EQ(queue_num_case(257, -EPROTO), PASS);
	CHECK_EQ(queue_num_case(1ull << 32, -EPROTO), PASS);
	CHECK_EQ(queue_num_case((1ull << 32) + 2, -EPROTO), PASS);
	CHECK_EQ(queue_num_case(256, 0), PASS);
	return PASS;
}

/* ---- the driver ------------------------------------------------------ */

static int open_net(struct peer *p, uint16_t pairs, bool packed,
		    struct uvirtio_net_info *info)
{
	struct uvirtio_net_params np = {
		.num_queue_pairs = pairs, .packed = packed, .poll = true,
	};
	struct uvirtio_backend *be;
	struct uvirtio_net *net;

	CHECK_EQ(uvirtio_vhost_user_open(p->path, &fast, &be), 0);
	CHECK_EQ(uvirtio_net_open(be, &np, &net), 0);
	uvirtio_net_get_info(net, info);
	CHECK(uvirtio_net_get_qp(net, info->num_queue_pairs - 1u) != NULL);
	CHECK(uvirtio_net_get_qp(net, info->num_queue_pairs) == NULL);
	uvirtio_net_close(net);
	uvirtio_backend_close(be);
	return PASS;
}

static int mq_open_case(bool packed)
{
	struct uvirtio_net_info in;
	struct peer p;

	CHECK_EQ(peer_start(&p, DPDK_PF, 2), 0);
	CHECK_EQ(open_net(&p, 2, packed, &in), PASS);
	peer_join(&p);
	CHECK_EQ(in.num_queue_pairs, 2);
	CHECK_EQ(in.max_queue_pairs, 2);	/* synthesized from GET_QUEUE_NUM */
	CHECK(in.ctrl_vq);
	CHECK(in.features & (1ull << VIRTIO_NET_F_MQ));
	CHECK_EQ(!!(in.features & (1ull << VIRTIO_F_RING_PACKED)), packed);
	/* no config from the back-end: no MAC, no link status to believe */
	CHECK(!in.has_mac);
	CHECK(!in.has_status);
	CHECK(!(in.features & (1ull << VIRTIO_NET_F_MAC)));
	/* the rings of both pairs went to the back-end, the control queue not */
	CHECK_EQ(p.addr_seen, 0xf);
	/* pair 0 at set-up, pair 1 only after VQ_PAIRS_SET 2 */
	CHECK(p.n_en >= 4);
	CHECK_EQ(p.en[0].index, 0);
	CHECK_EQ(p.en[1].index, 1);
	CHECK_EQ(p.en[2].index, 2);
	CHECK_EQ(p.en[3].index, 3);
	CHECK_EQ(last_enable(&p, 4), -1);
	/* MQ is the back-end's, the control queue family is not */
	CHECK(p.features_set & (1ull << VIRTIO_NET_F_MQ));
	CHECK(!(p.features_set & (1ull << VIRTIO_NET_F_CTRL_VQ)));
	CHECK(!(p.features_set & (1ull << VIRTIO_NET_F_CTRL_RX)));
	CHECK(!(p.features_set & (1ull << VIRTIO_NET_F_GUEST_ANNOUNCE)));
	CHECK(!(p.features_set & (1ull << VIRTIO_NET_F_CTRL_VLAN)));
	return PASS;
}

static int t_mq_open_split(void)
{
	return mq_open_case(false);
}

static int t_mq_open_packed(void)
{
	return mq_open_case(true);
}

static int t_mq_capped(void)
{
	struct uvirtio_net_info in;
	struct peer p;

	/* more pairs asked for than there are: what the back-end has */
	CHECK_EQ(peer_start(&p, DPDK_PF, 2), 0);
	CHECK_EQ(open_net(&p, 4, false, &in), PASS);
	peer_join(&p);
	CHECK_EQ(in.num_queue_pairs, 2);
	/* a one-pair back-end: VQ_PAIRS_SET 1, nothing beyond ring 1 */
	CHECK_EQ(peer_start(&p, DPDK_PF, 1), 0);
	CHECK_EQ(open_net(&p, 2, false, &in), PASS);
	peer_join(&p);
	CHECK_EQ(in.num_queue_pairs, 1);
	CHECK(in.ctrl_vq);
	CHECK_EQ(p.addr_seen, 0x3);
	CHECK_EQ(last_enable(&p, 2), -1);
	return PASS;
}

static int t_many_pairs_eight_regions(void)
{
	struct uvirtio_net_info in;
	struct peer p;

	/*
	 * DPDK takes 8 memory regions in all: 8 pairs (16 rings, 8 data
	 * areas) and the control queue fit because they share one arena.
	 */
	CHECK_EQ(peer_start(&p, DPDK_PF, 8), 0);
	CHECK_EQ(open_net(&p, 8, false, &in), PASS);
	peer_join(&p);
	CHECK_EQ(in.num_queue_pairs, 8);
	CHECK_EQ(p.addr_seen, 0xffff);
	CHECK_EQ(last_enable(&p, 15), 1);
	CHECK(p.max_regions >= 1 && p.max_regions <= 2);
	CHECK(p.max_region_size >= 8u << 20);
	return PASS;
}

static int t_single_queue_unchanged(void)
{
	struct uvirtio_net_info in;
	struct peer p;

	/* one pair asked for: no MQ, no control queue, rings on at set-up */
	CHECK_EQ(peer_start(&p, DPDK_PF, 2), 0);
	CHECK_EQ(open_net(&p, 0, false, &in), PASS);
	peer_join(&p);
	CHECK_EQ(in.num_queue_pairs, 1);
	CHECK(!(in.features & (1ull << VIRTIO_NET_F_MQ)));
	CHECK(!(in.features & (1ull << VIRTIO_NET_F_CTRL_VQ)));
	CHECK_EQ(p.addr_seen, 0x3);
	CHECK_EQ(last_enable(&p, 0), 1);
	CHECK_EQ(last_enable(&p, 1), 1);
	CHECK(!(p.features_set & (1ull << VIRTIO_NET_F_MQ)));
	return PASS;
}

static int t_config_pairs_overlay(void)
{
	struct uvirtio_net_info in;
	struct peer p;

	/*
	 * A back-end that serves config and says 8 pairs with 2 rings'
	 * worth: the pairs are GET_QUEUE_NUM's, the MAC and link its own.
	 */
	CHECK_EQ(peer_start(&p, DPDK_PF | PF_CONFIG, 2), 0);
	CHECK_EQ(open_net(&p, 8, false, &in), PASS);
	peer_join(&p);
	CHECK_EQ(in.max_queue_pairs, 2);
	CHECK_EQ(in.num_queue_pairs, 2);
	CHECK(in.has_mac);
	CHECK_EQ(in.mac[4], 0x42);
	CHECK(in.has_status);
	CHECK(in.link_up);
	CHECK_EQ(p.addr_seen, 0xf);	/* the control queue is ring 4: ours */
	return PASS;
}

/* ---- the control queue, driven by hand ------------------------------- */

struct ctl {
	struct peer p;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtq *vq[4];
	struct uvirtq *cq;
	struct uvirtio_dma mem;
};

/* A net device with rings 0..@nrings-1 and the control queue (ring 4). */
static int ctl_open(struct ctl *c, unsigned int nrings, bool packed,
		    uint16_t max_indirect)
{
	struct uvirtio_dev_params dp = {
		.device_type = VIRTIO_ID_NET,
		.required = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VIRTIO_NET_F_CTRL_VQ) |
			    (1ull << VIRTIO_NET_F_MQ),
		.wanted = (1ull << VIRTIO_NET_F_CTRL_RX) |
			  (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			  (packed ? 1ull << VIRTIO_F_RING_PACKED : 0),
	};
	/* indirect tables cost memory regions: the control queue's only */
	struct uvirtq_params vp = { .cpu = -1 };
	struct uvirtq_params cp = { .cpu = -1, .max_indirect = max_indirect };
	unsigned int i;

	memset(c, 0, sizeof(*c));
	CHECK_EQ(peer_start(&c->p, DPDK_PF, 2), 0);
	CHECK_EQ(uvirtio_vhost_user_open(c->p.path, &fast, &c->be), 0);
	CHECK_EQ(uvirtio_dev_open(c->be, &dp, &c->dev), 0);
	CHECK_EQ(uvirtio_dev_num_queues(c->dev), 5);
	for (i = 0; i < nrings; i++)
		CHECK_EQ(uvirtq_create(c->dev, (uint16_t)i, &vp, &c->vq[i]), 0);
	CHECK_EQ(uvirtq_create(c->dev, 4, &cp, &c->cq), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(c->be, 4096, &c->mem), 0);
	CHECK_EQ(uvirtio_dev_driver_ok(c->dev), 0);
	return PASS;
}

static void ctl_close(struct ctl *c)
{
	unsigned int i;

	uvirtio_dev_close(c->dev);
	for (i = 0; i < 4; i++)
		uvirtq_destroy(c->vq[i]);
	uvirtq_destroy(c->cq);
	uvirtio_backend_dma_free(c->be, &c->mem);
	uvirtio_backend_close(c->be);
	peer_join(&c->p);
}

/*
 * One command: class, command, @len data bytes, in @nout pieces (header,
 * then the data cut in two when @nout is 3).  Return: the ack byte, or
 * negative errno from the queue.
 */
static int ctl_cmd(struct ctl *c, uint8_t cls, uint8_t cmd, const void *data,
		   uint32_t len, unsigned int nout)
{
	uint8_t *m = c->mem.vaddr;
	struct uvirtq_buf out[3], in;
	unsigned int n = 1;
	void *cookie;
	uint32_t ulen;
	int ret;

	m[0] = cls;
	m[1] = cmd;
	if (len)
		memcpy(m + 16, data, len);
	m[1024] = 0xee;
	out[0] = (struct uvirtq_buf){ c->mem.iova, 2 };
	if (len && nout == 3 && len > 1) {
		out[1] = (struct uvirtq_buf){ c->mem.iova + 16, len / 2 };
		out[2] = (struct uvirtq_buf){ c->mem.iova + 16 + len / 2,
					      len - len / 2 };
		n = 3;
	} else if (len) {
		out[1] = (struct uvirtq_buf){ c->mem.iova + 16, len };
		n = 2;
	}
	in = (struct uvirtq_buf){ c->mem.iova + 1024, 1 };
	ret = uvirtq_add(c->cq, out, n, &in, 1, c);
	if (ret)
		return ret;
	ret = uvirtq_kick(c->cq);
	if (ret < 0)
		return ret;
	/* served in the kick: the answer is there already */
	ret = uvirtq_get_used(c->cq, &cookie, &ulen);
	if (ret < 0)
		return ret;
	if (ret == 0 || cookie != c || ulen != 1)
		return -EIO;
	return m[1024];
}

static int pairs_cmd(struct ctl *c, uint16_t n)
{
	return ctl_cmd(c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		       &n, 2, 2);
}

static int ctl_commands_case(bool packed, uint16_t max_indirect)
{
	static const uint8_t on = 1, off = 0, two = 2, onon[2] = { 1, 1 };
	/* one unicast MAC, two multicast ones */
	static const uint8_t table[] = {
		1, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x07,
		2, 0, 0, 0, 0x01, 0, 0x5e, 0, 0, 0x01,
			    0x33, 0x33, 0, 0, 0, 0x01,
	};
	uint8_t bad[sizeof(table)];
	unsigned int nout = max_indirect ? 3 : 2;
	struct ctl c;
	uint32_t big;

	CHECK_EQ(ctl_open(&c, 4, packed, max_indirect), PASS);
	CHECK_EQ(pairs_cmd(&c, 0), VIRTIO_NET_ERR);
	CHECK_EQ(pairs_cmd(&c, 3), VIRTIO_NET_ERR);	/* more than there are */
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
			 onon, 1, 2), VIRTIO_NET_ERR);	/* one byte short */
	CHECK_EQ(pairs_cmd(&c, 2), VIRTIO_NET_OK);
	CHECK_EQ(pairs_cmd(&c, 1), VIRTIO_NET_OK);
	/* RX modes: on/off only, the _EXTRA ones are not offered */
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
			 &off, 1, 2), VIRTIO_NET_OK);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI,
			 &on, 1, 2), VIRTIO_NET_OK);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
			 &two, 1, 2), VIRTIO_NET_ERR);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
			 onon, 2, 2), VIRTIO_NET_ERR);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI,
			 &on, 1, 2), VIRTIO_NET_ERR);
	/* the MAC table: exactly two counted lists */
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			 table, sizeof(table), nout), VIRTIO_NET_OK);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			 table, sizeof(table) - 1, nout), VIRTIO_NET_ERR);
	memcpy(bad, table, sizeof(bad));
	big = 0x40000000u;	/* 6 * count wraps 32 bits */
	memcpy(bad, &big, 4);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			 bad, sizeof(bad), nout), VIRTIO_NET_ERR);
	memcpy(bad, table, sizeof(bad));
	bad[10] = 3;		/* three multicast MACs announced, two there */
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			 bad, sizeof(bad), nout), VIRTIO_NET_ERR);
	/* not served: MAC address, VLAN, announce, an unknown class */
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
			 table + 4, 6, 2), VIRTIO_NET_ERR);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD,
			 onon, 2, 2), VIRTIO_NET_ERR);
	CHECK_EQ(ctl_cmd(&c, VIRTIO_NET_CTRL_ANNOUNCE,
			 VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0, 1),
		 VIRTIO_NET_ERR);
	CHECK_EQ(ctl_cmd(&c, 99, 0, &on, 1, 2), VIRTIO_NET_ERR);
	/* the device is fine after all those refusals */
	CHECK_EQ(uvirtio_dev_check_status(c.dev), 0);
	ctl_close(&c);
	/* rings 0, 1 at set-up; 2, 3 on with 2 pairs, off again with 1 */
	CHECK_EQ(c.p.n_en, 6);
	CHECK_EQ(c.p.en[2].index, 2);
	CHECK_EQ(c.p.en[2].num, 1);
	CHECK_EQ(c.p.en[3].index, 3);
	CHECK_EQ(c.p.en[3].num, 1);
	CHECK_EQ(c.p.en[4].index, 2);
	CHECK_EQ(c.p.en[4].num, 0);
	CHECK_EQ(c.p.en[5].index, 3);
	CHECK_EQ(c.p.en[5].num, 0);
	CHECK_EQ(c.p.addr_seen, 0xf);
	return PASS;
}

static int t_ctrl_commands_split(void)
{
	return ctl_commands_case(false, 0);
}

static int t_ctrl_commands_packed(void)
{
	return ctl_commands_case(true, 0);
}

static int t_ctrl_commands_indirect(void)
{
	CHECK_EQ(ctl_commands_case(false, 4), PASS);
	return ctl_commands_case(true, 4);
}

static int t_ctrl_pairs_not_set_up(void)
{
	struct ctl c;

	/* the driver set up pair 0 only: 2 pairs is refused, nothing sent */
	CHECK_EQ(ctl_open(&c, 2, false, 0), PASS);
	CHECK_EQ(pairs_cmd(&c, 2), VIRTIO_NET_ERR);
	CHECK_EQ(pairs_cmd(&c, 1), VIRTIO_NET_OK);
	ctl_close(&c);
	CHECK_EQ(c.p.n_en, 2);
	CHECK_EQ(c.p.addr_seen, 0x3);
	return PASS;
}

/* ---- a control ring the back-end scribbled on ------------------------ */

enum scribble { BAD_HEAD, LOOP, BAD_ADDR, NO_ACK };

static int scribble_case(enum scribble what)
{
	uint8_t *m, *ring;
	struct vring_desc *desc;
	struct vring_avail *avail;
	uint8_t stack_buf[2] = { VIRTIO_NET_CTRL_RX, 0 };
	struct uvirtq_buf out[2], in;
	struct ctl c;
	uint16_t head;
	int ret;

	CHECK_EQ(ctl_open(&c, 2, false, 0), PASS);
	m = c.mem.vaddr;
	m[0] = VIRTIO_NET_CTRL_RX;
	m[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	m[16] = 1;
	out[0] = (struct uvirtq_buf){ c.mem.iova, 2 };
	out[1] = (struct uvirtq_buf){ c.mem.iova + 16, 1 };
	in = (struct uvirtq_buf){ c.mem.iova + 1024, 1 };
	if (what == BAD_ADDR)	/* memory the back-end was never given */
		out[0] = (struct uvirtq_buf){ (uintptr_t)stack_buf, 2 };
	if (what == NO_ACK)
		CHECK_EQ(uvirtq_add(c.cq, out, 2, NULL, 0, &c), 0);
	else
		CHECK_EQ(uvirtq_add(c.cq, out, 2, &in, 1, &c), 0);
	/* the ring is shared memory: the back-end can write it */
	ring = (uint8_t *)(uintptr_t)uvirtq_ring_iova(c.cq);
	desc = (struct vring_desc *)ring;
	avail = (struct vring_avail *)(ring + 16 * 16);
	head = avail->ring[0];
	if (what == BAD_HEAD)
		avail->ring[0] = 16;
	if (what == LOOP) {
		desc[head].flags |= VRING_DESC_F_NEXT;
		desc[head].next = head;
	}
	ret = uvirtq_kick(c.cq);
	CHECK(ret < 0);
	CHECK(uvirtq_is_broken(c.cq));
	/* the device (this front-end) asks for a reset */
	CHECK(uvirtio_dev_status(c.dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(uvirtio_dev_check_status(c.dev) < 0);
	ctl_close(&c);
	return PASS;
}

static int t_ctrl_bad_head(void)
{
	return scribble_case(BAD_HEAD);
}

static int t_ctrl_loop(void)
{
	return scribble_case(LOOP);
}

static int t_ctrl_bad_address(void)
{
	return scribble_case(BAD_ADDR);
}

static int t_ctrl_no_ack(void)
{
	return scribble_case(NO_ACK);
}

static const struct tcase cases[] = {
	{ "queue_num_bounds", t_queue_num_bounds },
	{ "mq_open_split", t_mq_open_split },
	{ "mq_open_packed", t_mq_open_packed },
	{ "mq_capped", t_mq_capped },
	{ "many_pairs_eight_regions", t_many_pairs_eight_regions },
	{ "single_queue_unchanged", t_single_queue_unchanged },
	{ "config_pairs_overlay", t_config_pairs_overlay },
	{ "ctrl_commands_split", t_ctrl_commands_split },
	{ "ctrl_commands_packed", t_ctrl_commands_packed },
	{ "ctrl_commands_indirect", t_ctrl_commands_indirect },
	{ "ctrl_pairs_not_set_up", t_ctrl_pairs_not_set_up },
	{ "ctrl_bad_head", t_ctrl_bad_head },
	{ "ctrl_loop", t_ctrl_loop },
	{ "ctrl_bad_address", t_ctrl_bad_address },
	{ "ctrl_no_ack", t_ctrl_no_ack },
};

int main(int argc, char **argv)
{
	return harness_main("net-mq", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
