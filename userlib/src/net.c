// SPDX-License-Identifier: BSD-3-Clause
/*
 * net.c - virtio-net driver: queue pairs with copy-in TX slots and
 * copy-out RX buffers, both in one driver-owned DMA area per queue; the
 * RX ring is refilled with every buffer a receive call consumed, so it
 * stays full.  Optional control queue for MQ (VQ_PAIRS_SET at open).
 * Segmentation offload (TSO4/6, ECN) both ways when asked for: the
 * headers are checked, the frames copied like any other.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvirtio/net.h>
#include <uvirtio/virtqueue.h>

#include "util.h"

#define HDR_LEN		((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define ETH_MIN		14u
#define ETH_VLAN_HLEN	18u
#define MRG_BUF_SIZE	2048u
/* One DMA area per queue stays within what every backend can allocate. */
#define AREA_MAX	(4u << 20)
/* How long the rest of a merged frame may take to show up. */
#define MRG_WAIT_NS	100000000ll
#define CTRL_TIMEOUT_NS	1000000000ll
/* buffers the largest GSO frame fills with MRG_RXBUF */
#define MRG_MAX_BUFS	((HDR_LEN + UVIRTIO_NET_GSO_MAX_FRAME + \
			  MRG_BUF_SIZE - 1) / MRG_BUF_SIZE)
#define GSO_ECN		VIRTIO_NET_HDR_GSO_ECN
#define F(bit)		(1ull << VIRTIO_NET_F_##bit)
_Static_assert(sizeof(struct uvirtio_net_params) == 16,
	       "struct uvirtio_net_params is ABI: 16 bytes");
#define HOST_GSO	(F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN))
#define GUEST_GSO	(F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN))

struct uvirtio_net_qp {
	struct uvirtio_net *net;
	struct uvirtq *rxq, *txq;
	struct uvirtio_dma rxmem, txmem;
	uint32_t nrx, ntx;		/* buffers / slots */
	uint32_t tx_slot;		/* bytes per TX slot */
	bool tx_in_rxmem;		/* txmem is the tail of rxmem */
	uint16_t *rx_free, *tx_free;	/* not with the device */
	uint32_t rx_nfree, tx_nfree;
	/* one used RX entry taken by wait(), handed out first by recv() */
	bool stash;
	int stash_ret;
	void *stash_cookie;
	uint32_t stash_len;
	int err;			/* the pair is broken */
	bool poll;
	struct uvirtio_net_qp_stats stats;
};

struct uvirtio_net {
	struct uvirtio_dev *dev;
	struct uvirtio_net_info info;
	struct uvirtq *ctrlq;
	struct uvirtio_dma ctrlmem;
	int ctrl_err;			/* the control queue is broken */
	unsigned int nqp;
	struct uvirtio_net_qp *qps;
};

/* What the device config holds up to mtu (the rest is not used here). */
struct net_cfg {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint64_t drain(int fd)
{
	uint64_t v;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/*
 * Read what the device has of the config into @cfg (the rest zeroed).
 * Return: the bytes read (a vhost-user back-end may serve none), or
 * negative errno.
 */
static int read_cfg(struct uvirtio_net *net, struct net_cfg *cfg)
{
	uint32_t len = uvirtio_dev_config_len(net->dev);
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (len > sizeof(*cfg))
		len = sizeof(*cfg);
	if (!len)
		return 0;
	ret = uvirtio_dev_read_config(net->dev, 0, cfg, len);
	return ret ? ret : (int)len;
}

#define CFG_HAS(len, field) \
	((len) >= (int)(offsetof(struct net_cfg, field) + \
			sizeof(((struct net_cfg *)0)->field)))

/* A broken pair stays broken: remember the first error. */
static int qp_fail(struct uvirtio_net_qp *qp, int err)
{
	if (!qp->err && (err == -EIO || err == -ENODEV || err == -ENOTCONN ||
			 err == -UVIRTIO_ENEEDS_RESET))
		qp->err = err;
	return err;
}

static int qp_check(struct uvirtio_net_qp *qp)
{
	int ret;

	if (qp->err)
		return qp->err;
	ret = uvirtio_dev_broken(qp->net->dev);
	return ret ? qp_fail(qp, ret) : 0;
}

static uint8_t *rx_va(struct uvirtio_net_qp *qp, uint32_t slot)
{
	return (uint8_t *)qp->rxmem.vaddr +
	       (size_t)slot * qp->net->info.rx_buf_size;
}

static uint8_t *tx_va(struct uvirtio_net_qp *qp, uint32_t slot)
{
	return (uint8_t *)qp->txmem.vaddr + (size_t)slot * qp->tx_slot;
}

/* Give every RX buffer the device does not hold back to it. */
static int rx_refill(struct uvirtio_net_qp *qp)
{
	uint32_t size = qp->net->info.rx_buf_size;
	unsigned int added = 0;
	int ret;

	while (qp->rx_nfree) {
		uint16_t slot = qp->rx_free[qp->rx_nfree - 1];
		struct uvirtq_buf b = {
			qp->rxmem.iova + (uint64_t)slot * size, size,
		};

		ret = uvirtq_add(qp->rxq, NULL, 0, &b, 1,
				 (void *)(uintptr_t)(slot + 1u));
		if (ret == -EAGAIN)
			break;
		if (ret)
			return qp_fail(qp, ret);
		qp->rx_nfree--;
		added++;
	}
	if (!added)
		return 0;
	ret = uvirtq_kick(qp->rxq);
	if (ret < 0)
		return qp_fail(qp, ret);
	qp->stats.rx_kicks += (uint64_t)ret;
	return 0;
}

static int tx_reclaim(struct uvirtio_net_qp *qp)
{
	for (;;) {
		void *cookie;
		uint32_t len;
		uintptr_t c;
		int ret = uvirtq_get_used(qp->txq, &cookie, &len);

		if (ret == 0)
			return 0;
		if (ret < 0)
			return qp_fail(qp, ret);
		c = (uintptr_t)cookie;
		if (c == 0 || c > qp->ntx || qp->tx_nfree >= qp->ntx)
			return qp_fail(qp, -EIO); /* vq validated: cannot be */
		qp->tx_free[qp->tx_nfree++] = (uint16_t)(c - 1);
	}
}

static void qp_free(struct uvirtio_backend *be, struct uvirtio_net_qp *qp)
{
	if (!qp->net)
		return;
	uvirtq_destroy(qp->rxq);
	uvirtq_destroy(qp->txq);
	uvirtio_backend_dma_free(be, &qp->rxmem);
	if (!qp->tx_in_rxmem)
		uvirtio_backend_dma_free(be, &qp->txmem);
	free(qp->rx_free);
	free(qp->tx_free);
}

static int qp_init(struct uvirtio_net *net, struct uvirtio_net_qp *qp,
		   unsigned int index, const struct uvirtio_net_params *p,
		   bool intr)
{
	struct uvirtio_backend *be = uvirtio_dev_backend(net->dev);
	struct uvirtq_params vp = {
		.size = p->queue_size,
		.use_interrupts = intr,
		.cpu = -1,
	};
	size_t rx_bytes, tx_bytes;
	uint32_t i;
	int ret;

	qp->net = net;
	qp->poll = !intr;
	ret = uvirtq_create(net->dev, (uint16_t)(2 * index), &vp, &qp->rxq);
	if (ret)
		return ret;
	ret = uvirtq_create(net->dev, (uint16_t)(2 * index + 1), &vp,
			    &qp->txq);
	if (ret)
		return ret;
	qp->tx_slot = UV_ALIGN_UP(HDR_LEN + (net->info.host_tso ?
					     UVIRTIO_NET_GSO_MAX_FRAME :
					     net->info.max_frame), 64u);
	/*
	 * With 64 KiB TX slots (or RX buffers) both halves share one area
	 * of AREA_MAX: RX takes at most half, TX the rest (a vhost-user
	 * back-end's memory regions are few, and memory stays bounded).
	 */
	rx_bytes = net->info.host_tso || net->info.guest_tso ? AREA_MAX / 2 :
		   AREA_MAX;
	qp->nrx = UV_MIN(uvirtq_size(qp->rxq), rx_bytes / net->info.rx_buf_size);
	rx_bytes = UV_ALIGN_UP((size_t)qp->nrx * net->info.rx_buf_size,
			       (size_t)64);
	qp->ntx = UV_MIN(uvirtq_size(qp->txq), (net->info.host_tso ?
						AREA_MAX - rx_bytes :
						AREA_MAX) / qp->tx_slot);
	if (!qp->nrx || !qp->ntx)
		return -ENODEV;
	qp->rx_free = calloc(qp->nrx, sizeof(*qp->rx_free));
	qp->tx_free = calloc(qp->ntx, sizeof(*qp->tx_free));
	if (!qp->rx_free || !qp->tx_free)
		return -ENOMEM;
	for (i = 0; i < qp->nrx; i++)
		qp->rx_free[i] = (uint16_t)(qp->nrx - 1 - i);
	qp->rx_nfree = qp->nrx;
	for (i = 0; i < qp->ntx; i++)
		qp->tx_free[i] = (uint16_t)(qp->ntx - 1 - i);
	qp->tx_nfree = qp->ntx;
	tx_bytes = (size_t)qp->ntx * qp->tx_slot;
	/*
	 * One area for both when it fits: a vhost-user back-end without
	 * CONFIGURE_MEM_SLOTS (DPDK) takes 8 memory regions in all, and
	 * every pair costs its two rings besides.
	 */
	qp->tx_in_rxmem = rx_bytes + tx_bytes <= AREA_MAX;
	ret = uvirtio_backend_dma_alloc(be, qp->tx_in_rxmem ?
					rx_bytes + tx_bytes : rx_bytes,
					&qp->rxmem);
	if (ret)
		return ret;
	if (qp->tx_in_rxmem)
		qp->txmem = (struct uvirtio_dma){
			.vaddr = (uint8_t *)qp->rxmem.vaddr + rx_bytes,
			.iova = qp->rxmem.iova + rx_bytes,
			.len = tx_bytes,
		};
	else
		ret = uvirtio_backend_dma_alloc(be, tx_bytes, &qp->txmem);
	if (ret)
		return ret;
	/* Interrupts only while someone waits in uvirtio_net_qp_wait(). */
	uvirtq_disable_cb(qp->rxq);
	uvirtq_disable_cb(qp->txq);
	return rx_refill(qp);
}

/* Where a command's parts live in ctrlmem. */
#define CTRL_DATA_OFF	64u
#define CTRL_DATA_MAX	2048u
#define CTRL_ACK_OFF	(CTRL_DATA_OFF + CTRL_DATA_MAX)
#define CTRL_RX_EXTRA_MODES	(UVIRTIO_NET_RX_ALLUNI | \
				 UVIRTIO_NET_RX_NOMULTI | \
				 UVIRTIO_NET_RX_NOUNI | UVIRTIO_NET_RX_NOBCAST)
#define CTRL_RX_MODES	(UVIRTIO_NET_RX_PROMISC | \
			 UVIRTIO_NET_RX_ALLMULTI | CTRL_RX_EXTRA_MODES)

/*
 * One command on the control queue, polled: class and command in one
 * device-readable buffer, @len bytes of @data in a second, the ack byte
 * device-writable.  Return: 0 (VIRTIO_NET_OK), -ENOTSUP (VIRTIO_NET_ERR),
 * -EIO (no ack, another value, a broken control queue), -ETIMEDOUT (no
 * answer: the buffers stay with the device, so the queue is broken).
 */
static int ctrl_cmd(struct uvirtio_net *net, uint8_t cls, uint8_t cmd,
		    const void *data, uint32_t len)
{
	uint8_t *m = net->ctrlmem.vaddr;
	struct uvirtq_buf out[2] = {
		{ net->ctrlmem.iova, 2 },
		{ net->ctrlmem.iova + CTRL_DATA_OFF, len },
	};
	struct uvirtq_buf in = { net->ctrlmem.iova + CTRL_ACK_OFF, 1 };
	int64_t deadline;
	void *cookie;
	uint32_t ulen;
	int ret;

	if (!net->ctrlq)
		return -ENOTSUP;
	if (net->ctrl_err)
		return net->ctrl_err;
	if (!len || len > CTRL_DATA_MAX)
		return -EINVAL;
	m[0] = cls;
	m[1] = cmd;
	memcpy(m + CTRL_DATA_OFF, data, len);
	m[CTRL_ACK_OFF] = 0xff;
	ret = uvirtq_add(net->ctrlq, out, 2, &in, 1, net);
	if (ret)
		return ret;
	ret = uvirtq_kick(net->ctrlq);
	if (ret < 0) {
		net->ctrl_err = -EIO;
		return ret;
	}
	deadline = mono_ns() + CTRL_TIMEOUT_NS;
	while (!(ret = uvirtq_get_used(net->ctrlq, &cookie, &ulen))) {
		if (mono_ns() > deadline) {
			net->ctrl_err = -EIO;
			return -ETIMEDOUT;
		}
		sched_yield();
	}
	if (ret < 0) {
		net->ctrl_err = -EIO;
		return ret;
	}
	if (ulen < 1)
		return -EIO;	/* no ack byte written */
	if (m[CTRL_ACK_OFF] == VIRTIO_NET_OK)
		return 0;
	return m[CTRL_ACK_OFF] == VIRTIO_NET_ERR ? -ENOTSUP : -EIO;
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (a refusal is -ENOTSUP). */
static int ctrl_set_pairs(struct uvirtio_net *net, uint16_t pairs)
{
	uint16_t le = htole16(pairs);

	return ctrl_cmd(net, VIRTIO_NET_CTRL_MQ,
			VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &le, 2);
}

static bool has_ctrl(struct uvirtio_net *net, unsigned int bit)
{
	return net->ctrlq && uvirtio_dev_has_feature(net->dev, bit);
}

UV_EXPORT int uvirtio_net_set_rx_mode(struct uvirtio_net *net,
				      unsigned int flags)
{
	unsigned int mode, nmodes = 2;
	int ret;

	if (!net || (flags & ~CTRL_RX_MODES))
		return -EINVAL;
	if (!has_ctrl(net, VIRTIO_NET_F_CTRL_RX))
		return -ENOTSUP;
	if (has_ctrl(net, VIRTIO_NET_F_CTRL_RX_EXTRA))
		nmodes = VIRTIO_NET_CTRL_RX_NOBCAST + 1;
	else if (flags & CTRL_RX_EXTRA_MODES)
		return -ENOTSUP;
	for (mode = 0; mode < nmodes; mode++) {
		uint8_t on = !!(flags & (1u << mode));

		ret = ctrl_cmd(net, VIRTIO_NET_CTRL_RX, (uint8_t)mode, &on, 1);
		if (ret)
			return ret;
	}
	return 0;
}

static bool mac_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

/* Append a TABLE_SET list (le32 count, the MACs) at @p; -EINVAL if bad. */
static int mac_list(uint8_t *p, const uint8_t (*macs)[6], unsigned int n,
		    bool multicast)
{
	uint32_t le = htole32(n);
	unsigned int i;

	if (n > UVIRTIO_NET_MAC_TABLE_MAX || (n && !macs))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (mac_multicast(macs[i]) != multicast)
			return -EINVAL;
	memcpy(p, &le, 4);
	if (n)
		memcpy(p + 4, macs, 6u * n);
	return 0;
}

UV_EXPORT int uvirtio_net_set_mac_filter(struct uvirtio_net *net,
					 const uint8_t (*uc)[6],
					 unsigned int n_uc,
					 const uint8_t (*mc)[6],
					 unsigned int n_mc)
{
	uint8_t buf[8 + 12 * UVIRTIO_NET_MAC_TABLE_MAX];
	int ret;

	if (!net)
		return -EINVAL;
	ret = mac_list(buf, uc, n_uc, false);
	if (ret)
		return ret;
	ret = mac_list(buf + 4 + 6 * n_uc, mc, n_mc, true);
	if (ret)
		return ret;
	if (!has_ctrl(net, VIRTIO_NET_F_CTRL_RX))
		return -ENOTSUP;
	return ctrl_cmd(net, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			buf, 8 + 6 * (n_uc + n_mc));
}

UV_EXPORT int uvirtio_net_set_mac(struct uvirtio_net *net,
				  const uint8_t mac[6])
{
	static const uint8_t zero[6];
	int ret;

	if (!net || !mac || mac_multicast(mac) || !memcmp(mac, zero, 6))
		return -EINVAL;
	if (!has_ctrl(net, VIRTIO_NET_F_CTRL_MAC_ADDR))
		return -ENOTSUP;
	ret = ctrl_cmd(net, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		       mac, 6);
	if (!ret)
		memcpy(net->info.mac, mac, 6);
	return ret;
}

/*
 * The spec's dependencies among the offload bits: TSO needs checksum
 * offload, ECN needs TSO.  Return: the bits of @f whose dependency is
 * not in @f (ECN too when the TSO it needs goes).
 */
static uint64_t gso_unmet(uint64_t f)
{
	uint64_t drop = 0;

	if (!(f & F(CSUM)))
		drop |= f & (F(HOST_TSO4) | F(HOST_TSO6));
	if (!(f & ~drop & (F(HOST_TSO4) | F(HOST_TSO6))))
		drop |= f & F(HOST_ECN);
	if (!(f & F(GUEST_CSUM)))
		drop |= f & (F(GUEST_TSO4) | F(GUEST_TSO6));
	if (!(f & ~drop & (F(GUEST_TSO4) | F(GUEST_TSO6))))
		drop |= f & F(GUEST_ECN);
	return drop;
}

/*
 * The control queue's family: CTRL_RX and CTRL_MAC_ADDR need CTRL_VQ,
 * CTRL_RX_EXTRA needs CTRL_RX.  Return: the bits of @f without theirs.
 */
static uint64_t ctrl_unmet(uint64_t f)
{
	uint64_t drop = 0;

	if (!(f & F(CTRL_VQ)))
		drop |= f & (F(CTRL_RX) | F(CTRL_MAC_ADDR) | F(CTRL_RX_EXTRA));
	if (!(f & ~drop & F(CTRL_RX)))
		drop |= f & F(CTRL_RX_EXTRA);
	return drop;
}

static uint64_t unmet(uint64_t f)
{
	return gso_unmet(f) | ctrl_unmet(f);
}

UV_EXPORT int uvirtio_net_open(struct uvirtio_backend *be,
			       const struct uvirtio_net_params *params,
			       struct uvirtio_net **out)
{
	struct uvirtio_net_params defp = { 0 };
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtio_net_info *in;
	struct uvirtio_net *net;
	struct net_cfg cfg;
	unsigned int i, nqp;
	uint64_t drop;
	bool intr, mq, ctrl;
	int ret, clen;

	if (!be || !out)
		return -EINVAL;
	if (!params)
		params = &defp;
	if (params->gso && params->no_csum)
		return -EINVAL;	/* TSO needs checksum offload */
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	dp.transport = params->transport;
	dp.device_type = VIRTIO_ID_NET;
	dp.required = 1ull << VIRTIO_F_VERSION_1;
	dp.wanted = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
		    (1ull << VIRTIO_NET_F_MTU) | (1ull << VIRTIO_F_VERSION_1);
	if (!params->no_mrg_rxbuf)
		dp.wanted |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (!params->no_csum)
		dp.wanted |= (1ull << VIRTIO_NET_F_CSUM) |
			     (1ull << VIRTIO_NET_F_GUEST_CSUM);
	if (params->gso)
		dp.wanted |= HOST_GSO | GUEST_GSO;
	if (params->num_queue_pairs > 1)
		dp.wanted |= (1ull << VIRTIO_NET_F_MQ) |
			     (1ull << VIRTIO_NET_F_CTRL_VQ);
	if (params->ctrl_rx)
		dp.wanted |= F(CTRL_VQ) | F(CTRL_RX) | F(CTRL_RX_EXTRA) |
			     F(CTRL_MAC_ADDR);
	if (!params->no_event_idx)
		dp.wanted |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (params->packed)
		dp.wanted |= 1ull << VIRTIO_F_RING_PACKED;
	/* Every queue is used in order; mergeable RX buffers are too. */
	if (!params->no_in_order)
		dp.wanted |= 1ull << VIRTIO_F_IN_ORDER;
	ret = uvirtio_dev_open(be, &dp, &net->dev);
	if (ret)
		goto err_free;
	/*
	 * A device may offer a bit without the one it needs (DPDK's vhost
	 * without tso=1 offers HOST_ECN but no HOST_TSO): accepting it is
	 * against the spec, so negotiate once more without such bits.
	 */
	drop = unmet(uvirtio_dev_features(net->dev));
	if (drop) {
		uvirtio_dev_close(net->dev);
		net->dev = NULL;
		dp.wanted &= ~drop;
		ret = uvirtio_dev_open(be, &dp, &net->dev);
		if (ret)
			goto err_free;
	}
	clen = read_cfg(net, &cfg);
	if (clen < 0) {
		ret = clen;
		goto err_failed;
	}
	in = &net->info;
	in->features = uvirtio_dev_features(net->dev);
	/* a field the config space does not reach counts as not offered */
	in->has_mac = uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_MAC) &&
		      CFG_HAS(clen, mac);
	if (in->has_mac)
		memcpy(in->mac, cfg.mac, 6);
	in->has_status = uvirtio_dev_has_feature(net->dev,
						 VIRTIO_NET_F_STATUS) &&
			 CFG_HAS(clen, status);
	in->link_up = !in->has_status ||
		      (le16toh(cfg.status) & VIRTIO_NET_S_LINK_UP);
	in->mtu = 1500;
	if (uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_MTU) &&
	    CFG_HAS(clen, mtu)) {
		/* the spec's floor is 68; a device below it is broken */
		if (le16toh(cfg.mtu) < 68) {
			ret = -ENODEV;
			goto err_failed;
		}
		in->mtu = le16toh(cfg.mtu);
	}
	in->max_frame = in->mtu + ETH_VLAN_HLEN;
	in->mrg_rxbuf = uvirtio_dev_has_feature(net->dev,
						VIRTIO_NET_F_MRG_RXBUF);
	in->csum = uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_CSUM);
	in->guest_csum = uvirtio_dev_has_feature(net->dev,
						 VIRTIO_NET_F_GUEST_CSUM);
	in->ctrl_vq = uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_CTRL_VQ);
	if (unmet(in->features)) {
		ret = -ENODEV;	/* it changed its offer in between */
		goto err_failed;
	}
	in->host_tso = in->features & (F(HOST_TSO4) | F(HOST_TSO6));
	in->guest_tso = in->features & (F(GUEST_TSO4) | F(GUEST_TSO6));
	in->rx_buf_size = in->mrg_rxbuf ? MRG_BUF_SIZE :
			  UV_ALIGN_UP(HDR_LEN + (in->guest_tso ?
						 UVIRTIO_NET_GSO_MAX_FRAME :
						 in->max_frame), 64u);
	in->max_queue_pairs = 1;
	if (uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_MQ) &&
	    CFG_HAS(clen, max_virtqueue_pairs)) {
		uint16_t m = le16toh(cfg.max_virtqueue_pairs);

		/*
		 * Outside 1..0x8000 it is no count: one pair, as the
		 * kernel's virtio_net does.  QEMU 7.2 with mq=on on a
		 * single-queue peer reads 0xffff here.
		 */
		if (m >= VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN &&
		    m <= VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX)
			in->max_queue_pairs = m;
	}
	/*
	 * With MQ (asked for when more than one pair is wanted) the control
	 * queue is set up and VQ_PAIRS_SET sent whatever the count: pairs
	 * beyond the first need it, and one pair exercises it.
	 */
	mq = uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_MQ) &&
	     in->ctrl_vq && CFG_HAS(clen, max_virtqueue_pairs);
	/*
	 * With @ctrl_rx the control queue is set up with one pair too: at
	 * queue 2 without MQ (MQ is asked for with more pairs only; with MQ
	 * but no pair count to place it by, there is none).
	 */
	ctrl = mq || (params->ctrl_rx && in->ctrl_vq &&
		      !uvirtio_dev_has_feature(net->dev, VIRTIO_NET_F_MQ));
	nqp = params->num_queue_pairs ? params->num_queue_pairs : 1;
	if (!mq)
		nqp = 1;
	nqp = UV_MIN(nqp, (unsigned int)in->max_queue_pairs);
	/* the control queue comes after all max_queue_pairs pairs */
	if ((unsigned int)uvirtio_dev_num_queues(net->dev) <
	    (ctrl ? 2u * in->max_queue_pairs + 1 : 2u)) {
		ret = -ENODEV;
		goto err_failed;
	}
	net->qps = calloc(nqp, sizeof(*net->qps));
	if (!net->qps) {
		ret = -ENOMEM;
		goto err_failed;
	}
	net->nqp = nqp;
	in->num_queue_pairs = (uint16_t)nqp;
	intr = !params->poll &&
	       uvirtio_dev_num_vectors(net->dev) >= 2 * nqp + 1;
	in->interrupts = intr;
	for (i = 0; i < nqp; i++) {
		ret = qp_init(net, &net->qps[i], i, params, intr);
		if (ret)
			goto err_failed;
	}
	if (ctrl) {
		struct uvirtq_params vp = { .size = 0, .cpu = -1 };

		ret = uvirtq_create(net->dev,
				    (uint16_t)(2 * in->max_queue_pairs), &vp,
				    &net->ctrlq);
		if (ret)
			goto err_failed;
		ret = uvirtio_backend_dma_alloc(be, UV_PAGE_SIZE,
						&net->ctrlmem);
		if (ret)
			goto err_failed;
	}
	ret = uvirtio_dev_driver_ok(net->dev);
	if (ret)
		goto err_failed;
	if (mq) {
		ret = ctrl_set_pairs(net, (uint16_t)nqp);
		if (ret)
			goto err_failed;
	}
	*out = net;
	return 0;

err_failed:
	uvirtio_dev_fail(net->dev);
	uvirtio_dev_close(net->dev);
	for (i = 0; net->qps && i < net->nqp; i++)
		qp_free(be, &net->qps[i]);
	uvirtq_destroy(net->ctrlq);
	uvirtio_backend_dma_free(be, &net->ctrlmem);
	free(net->qps);
err_free:
	free(net);
	return ret;
}

UV_EXPORT void uvirtio_net_close(struct uvirtio_net *net)
{
	struct uvirtio_backend *be;
	unsigned int i;

	if (!net)
		return;
	be = uvirtio_dev_backend(net->dev);
	uvirtio_dev_close(net->dev);	/* reset first: stops DMA */
	for (i = 0; i < net->nqp; i++)
		qp_free(be, &net->qps[i]);
	uvirtq_destroy(net->ctrlq);
	uvirtio_backend_dma_free(be, &net->ctrlmem);
	free(net->qps);
	free(net);
}

UV_EXPORT void uvirtio_net_get_info(struct uvirtio_net *net,
				    struct uvirtio_net_info *info)
{
	*info = net->info;
}

UV_EXPORT struct uvirtio_dev *uvirtio_net_device(struct uvirtio_net *net)
{
	return net->dev;
}

UV_EXPORT int uvirtio_net_config_fd(struct uvirtio_net *net)
{
	return uvirtio_dev_config_eventfd(net->dev);
}

UV_EXPORT int uvirtio_net_update_link(struct uvirtio_net *net)
{
	struct net_cfg cfg;
	bool up;
	int ret;

	drain(uvirtio_dev_config_eventfd(net->dev));
	ret = uvirtio_dev_check_status(net->dev);
	if (ret)
		return ret;
	if (!net->info.has_status)
		return 1;
	ret = read_cfg(net, &cfg);
	if (ret < 0)
		return ret;
	up = le16toh(cfg.status) & VIRTIO_NET_S_LINK_UP;
	if (up != net->info.link_up)
		net->info.link_changes++;
	net->info.link_up = up;
	return up;
}

UV_EXPORT struct uvirtio_net_qp *uvirtio_net_get_qp(struct uvirtio_net *net,
						    unsigned int index)
{
	return index < net->nqp ? &net->qps[index] : NULL;
}

/* ---- transmit -------------------------------------------------------- */

/*
 * A GSO header on send: a type the device agreed to, NEEDS_CSUM (the
 * spec requires it), an MSS, and hdr_len covering the checksum field and
 * leaving payload to cut.
 */
static int tx_check_gso(const struct uvirtio_net_info *in,
			const struct uvirtio_net_frame *f)
{
	uint8_t type = f->hdr.gso_type & (uint8_t)~GSO_ECN;
	uint32_t hlen = le16toh(f->hdr.hdr_len);

	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (!(in->features & F(HOST_TSO4)))
			return -EINVAL;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (!(in->features & F(HOST_TSO6)))
			return -EINVAL;
	} else {
		return -EINVAL;	/* UDP, UDP_L4, unknown: never negotiated */
	}
	if ((f->hdr.gso_type & GSO_ECN) && !(in->features & F(HOST_ECN)))
		return -EINVAL;
	if (!(f->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    !le16toh(f->hdr.gso_size) || f->len > UVIRTIO_NET_GSO_MAX_FRAME)
		return -EINVAL;
	if (hlen < (uint32_t)le16toh(f->hdr.csum_start) +
		   le16toh(f->hdr.csum_offset) + 2 || hlen >= f->len)
		return -EINVAL;
	return 0;
}

static int tx_check_frame(struct uvirtio_net_qp *qp,
			  const struct uvirtio_net_frame *f)
{
	const struct uvirtio_net_info *in = &qp->net->info;
	uint8_t bad = (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
	int ret;

	if (!f->data || f->len < ETH_MIN || f->flags || (f->hdr.flags & bad))
		return -EINVAL;
	if (f->hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		ret = tx_check_gso(in, f);
		if (ret)
			return ret;
	} else if (f->len > in->max_frame) {
		return -EINVAL;
	}
	if (f->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint32_t start = le16toh(f->hdr.csum_start);
		uint32_t off = le16toh(f->hdr.csum_offset);

		if (!in->csum || start + off + 2 > f->len)
			return -EINVAL;
	}
	return 0;
}

UV_EXPORT int uvirtio_net_qp_send(struct uvirtio_net_qp *qp,
				  const struct uvirtio_net_frame *frames,
				  unsigned int n)
{
	unsigned int i;
	int ret;

	if (!qp || (n && !frames))
		return -EINVAL;
	ret = qp_check(qp);
	if (ret)
		return ret;
	ret = tx_reclaim(qp);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		const struct uvirtio_net_frame *f = &frames[i];
		struct virtio_net_hdr_v1 *h;
		struct uvirtq_buf b;
		uint16_t slot;

		ret = tx_check_frame(qp, f);
		if (ret)
			break;
		if (!qp->tx_nfree) {
			qp->stats.tx_full++;
			break;
		}
		slot = qp->tx_free[qp->tx_nfree - 1];
		h = (void *)tx_va(qp, slot);
		*h = f->hdr;
		h->num_buffers = 0;
		memcpy(tx_va(qp, slot) + HDR_LEN, f->data, f->len);
		b.iova = qp->txmem.iova + (uint64_t)slot * qp->tx_slot;
		b.len = HDR_LEN + f->len;
		ret = uvirtq_add(qp->txq, &b, 1, NULL, 0,
				 (void *)(uintptr_t)(slot + 1u));
		if (ret == -EAGAIN) {
			ret = 0;
			qp->stats.tx_full++;
			break;
		}
		if (ret) {
			qp_fail(qp, ret);
			break;
		}
		qp->tx_nfree--;
		qp->stats.tx_frames++;
		qp->stats.tx_bytes += f->len;
	}
	if (i) {
		int k = uvirtq_kick(qp->txq);

		if (k < 0)
			return qp_fail(qp, k);
		qp->stats.tx_kicks += (uint64_t)k;
	}
	return i ? (int)i : ret;
}

UV_EXPORT int uvirtio_net_qp_tx_reclaim(struct uvirtio_net_qp *qp)
{
	int ret = qp_check(qp);

	if (!ret)
		ret = tx_reclaim(qp);
	return ret ? ret : (int)(qp->ntx - qp->tx_nfree);
}

/* ---- receive --------------------------------------------------------- */

static int rx_get(struct uvirtio_net_qp *qp, void **cookie, uint32_t *len)
{
	int ret;

	if (qp->stash) {
		qp->stash = false;
		*cookie = qp->stash_cookie;
		*len = qp->stash_len;
		return qp->stash_ret;
	}
	ret = uvirtq_get_used(qp->rxq, cookie, len);
	return ret < 0 ? qp_fail(qp, ret) : ret;
}

/* Take a used RX buffer: its slot, or 0 none / -errno. */
static int rx_take(struct uvirtio_net_qp *qp, uint16_t *slot, uint32_t *len)
{
	void *cookie;
	uintptr_t c;
	int ret = rx_get(qp, &cookie, len);

	if (ret <= 0)
		return ret;
	c = (uintptr_t)cookie;
	if (c == 0 || c > qp->nrx || qp->rx_nfree >= qp->nrx)
		return qp_fail(qp, -EIO);	/* vq validated: cannot be */
	*slot = (uint16_t)(c - 1);
	qp->rx_free[qp->rx_nfree++] = *slot;
	qp->stats.rx_buffers++;
	if (ret == UVIRTQ_CANCELED)
		*len = 0;
	return 1;
}

static void rx_copy(struct uvirtio_net_frame *f, uint32_t *done,
		    const uint8_t *src, uint32_t len)
{
	uint32_t cap = f->len;

	if (*done < cap)
		memcpy((uint8_t *)f->data + *done, src,
		       UV_MIN(len, cap - *done));
	*done += len;
}

/*
 * The header of a received frame: a gso_type the device may send (one
 * negotiated, ECN only with GUEST_ECN) and, for a GSO frame, NEEDS_CSUM
 * and an MSS, as the spec requires of the device.  0 or -EIO.
 */
static int rx_check_hdr(const struct uvirtio_net_info *in,
			const struct virtio_net_hdr_v1 *h)
{
	uint8_t type = h->gso_type & (uint8_t)~GSO_ECN;

	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return h->gso_type & GSO_ECN ? -EIO : 0;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (!(in->features & F(GUEST_TSO4)))
			return -EIO;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (!(in->features & F(GUEST_TSO6)))
			return -EIO;
	} else {
		return -EIO;
	}
	if ((h->gso_type & GSO_ECN) && !(in->features & F(GUEST_ECN)))
		return -EIO;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !le16toh(h->gso_size))
		return -EIO;
	return 0;
}

/* One frame: 1 received, 0 none pending, or -errno (pair broken). */
static int rx_frame(struct uvirtio_net_qp *qp, struct uvirtio_net_frame *f)
{
	const struct uvirtio_net_info *in = &qp->net->info;
	uint32_t len, total = 0, nb = 1, i;
	int64_t deadline = 0;
	uint16_t slot;
	int ret = rx_take(qp, &slot, &len);

	if (ret <= 0)
		return ret;
	if (len < HDR_LEN)
		return qp_fail(qp, -EIO);	/* not even a header */
	memcpy(&f->hdr, rx_va(qp, slot), HDR_LEN);
	if (rx_check_hdr(in, &f->hdr))
		return qp_fail(qp, -EIO);
	if (in->mrg_rxbuf) {
		nb = le16toh(f->hdr.num_buffers);
		/* 0, or more than the buffers the device still holds */
		if (nb == 0 || nb > uvirtq_in_flight(qp->rxq) + 1u)
			return qp_fail(qp, -EIO);
		/* more than the largest frame fills */
		if (in->guest_tso && nb > MRG_MAX_BUFS)
			return qp_fail(qp, -EIO);
	}
	f->flags = 0;
	rx_copy(f, &total, rx_va(qp, slot) + HDR_LEN, len - HDR_LEN);
	for (i = 1; i < nb; i++) {
		while (!(ret = rx_take(qp, &slot, &len))) {
			/* published together in practice; bounded anyway */
			if (!deadline)
				deadline = mono_ns() + MRG_WAIT_NS;
			else if (mono_ns() > deadline)
				return qp_fail(qp, -EIO);
			sched_yield();
		}
		if (ret < 0)
			return ret;
		rx_copy(f, &total, rx_va(qp, slot), len);
	}
	if (in->guest_tso && total > UVIRTIO_NET_GSO_MAX_FRAME)
		return qp_fail(qp, -EIO);
	if (total > f->len) {
		f->flags |= UVIRTIO_NET_FRAME_TRUNCATED;
		qp->stats.rx_truncated++;
	}
	f->len = total;
	qp->stats.rx_frames++;
	qp->stats.rx_bytes += total;
	return 1;
}

UV_EXPORT int uvirtio_net_qp_recv(struct uvirtio_net_qp *qp,
				  struct uvirtio_net_frame *frames,
				  unsigned int n)
{
	unsigned int got = 0;
	int ret;

	if (!qp || (n && !frames))
		return -EINVAL;
	ret = qp_check(qp);
	if (ret)
		return ret;
	while (got < n) {
		if (!frames[got].data && frames[got].len)
			return -EINVAL;
		ret = rx_frame(qp, &frames[got]);
		if (ret <= 0)
			break;
		got++;
	}
	if (ret < 0)
		return ret;
	ret = rx_refill(qp);
	if (ret)
		return ret;
	return (int)got;
}

/* ---- waiting --------------------------------------------------------- */

static unsigned int ready_now(struct uvirtio_net_qp *qp, unsigned int what,
			      int *err)
{
	unsigned int r = 0;
	int ret;

	*err = 0;
	if (what & UVIRTIO_NET_WAIT_RX) {
		if (!qp->stash) {
			ret = uvirtq_get_used(qp->rxq, &qp->stash_cookie,
					      &qp->stash_len);
			if (ret < 0) {
				*err = qp_fail(qp, ret);
				return 0;
			}
			qp->stash = ret > 0;
			qp->stash_ret = ret;
		}
		if (qp->stash)
			r |= UVIRTIO_NET_WAIT_RX;
	}
	if (what & UVIRTIO_NET_WAIT_TX) {
		ret = tx_reclaim(qp);
		if (ret) {
			*err = ret;
			return 0;
		}
		if (qp->tx_nfree)
			r |= UVIRTIO_NET_WAIT_TX;
	}
	return r;
}

UV_EXPORT int uvirtio_net_qp_wait(struct uvirtio_net_qp *qp,
				  unsigned int what, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX :
			   mono_ns() + (int64_t)timeout_ms * 1000000;
	unsigned int spins = 0, r;
	int ret, rfd;

	if (!qp || !what || (what & ~(UVIRTIO_NET_WAIT_RX |
				      UVIRTIO_NET_WAIT_TX)))
		return -EINVAL;
	rfd = uvirtio_backend_remove_fd(uvirtio_dev_backend(qp->net->dev));
	ret = qp_check(qp);
	if (ret)
		return ret;
	for (;;) {
		r = ready_now(qp, what, &ret);
		if (ret)
			return ret;
		if (r || timeout_ms == 0)
			return (int)r;
		if (qp->poll) {
			if (!(++spins & 1023)) {
				ret = uvirtio_dev_check_status(qp->net->dev);
				if (ret)
					return qp_fail(qp, ret);
				if (deadline != INT64_MAX &&
				    mono_ns() >= deadline)
					return 0;
				sched_yield();
			}
			continue;
		} else {
			struct pollfd pfd[3] = {
				{ .fd = -1, .events = POLLIN },
				{ .fd = -1, .events = POLLIN },
				{ .fd = rfd, .events = POLLIN },
			};
			int64_t left = deadline - mono_ns();
			int ms = deadline == INT64_MAX ? -1 :
				 left <= 0 ? 0 : (int)UV_MIN(left / 1000000 + 1,
							     (int64_t)INT32_MAX);
			int pending = 0;

			if (deadline != INT64_MAX && left <= 0)
				return 0;
			/* arm, re-check (no lost wakeup), then sleep */
			if (what & UVIRTIO_NET_WAIT_RX) {
				pfd[0].fd = uvirtq_eventfd(qp->rxq);
				ret = uvirtq_enable_cb(qp->rxq);
				if (ret < 0)
					return qp_fail(qp, ret);
				pending |= ret;
			}
			if (what & UVIRTIO_NET_WAIT_TX) {
				pfd[1].fd = uvirtq_eventfd(qp->txq);
				ret = uvirtq_enable_cb(qp->txq);
				if (ret < 0)
					return qp_fail(qp, ret);
				pending |= ret;
			}
			if (!pending) {
				ret = poll(pfd, 3, ms);
				if (ret < 0 && errno != EINTR)
					return -errno;
				if (ret > 0 && (pfd[0].revents & POLLIN))
					qp->stats.rx_interrupts +=
						drain(pfd[0].fd);
				if (ret > 0 && (pfd[1].revents & POLLIN))
					qp->stats.tx_interrupts +=
						drain(pfd[1].fd);
				/* removed, or a quiet spell: is it alive? */
				if (ret == 0 || (ret > 0 &&
						 (pfd[2].revents & POLLIN))) {
					ret = uvirtio_dev_check_status(
							qp->net->dev);
					if (ret)
						return qp_fail(qp, ret);
				}
			}
			if (what & UVIRTIO_NET_WAIT_RX)
				uvirtq_disable_cb(qp->rxq);
			if (what & UVIRTIO_NET_WAIT_TX)
				uvirtq_disable_cb(qp->txq);
		}
	}
}

UV_EXPORT int uvirtio_net_qp_flush(struct uvirtio_net_qp *qp, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX :
			   mono_ns() + (int64_t)timeout_ms * 1000000;
	unsigned int spins = 0;
	int ret, qfd, rfd;

	if (!qp)
		return -EINVAL;
	qfd = uvirtq_eventfd(qp->txq);
	rfd = uvirtio_backend_remove_fd(uvirtio_dev_backend(qp->net->dev));
	for (;;) {
		ret = qp_check(qp);
		if (!ret)
			ret = tx_reclaim(qp);
		if (ret)
			return ret;
		if (qp->tx_nfree == qp->ntx)
			return 0;	/* the device finished every frame */
		if (qp->poll || qfd < 0) {
			if (!(++spins & 1023)) {
				ret = uvirtio_dev_check_status(qp->net->dev);
				if (ret)
					return qp_fail(qp, ret);
				if (mono_ns() >= deadline)
					return -ETIMEDOUT;
				sched_yield();
			}
			continue;
		}
		ret = uvirtq_enable_cb(qp->txq);
		if (ret < 0)
			return qp_fail(qp, ret);
		if (ret == 0) {
			struct pollfd pfd[2] = {
				{ .fd = qfd, .events = POLLIN },
				{ .fd = rfd, .events = POLLIN },
			};
			int64_t left = deadline - mono_ns();

			if (left <= 0) {
				uvirtq_disable_cb(qp->txq);
				return -ETIMEDOUT;
			}
			ret = poll(pfd, 2, deadline == INT64_MAX ? 200 :
				   (int)UV_MIN(left / 1000000 + 1, (int64_t)200));
			if (ret < 0 && errno != EINTR) {
				uvirtq_disable_cb(qp->txq);
				return -errno;
			}
			if (ret > 0 && (pfd[0].revents & POLLIN))
				qp->stats.tx_interrupts += drain(qfd);
			if (ret >= 0 && (ret == 0 || (pfd[1].revents & POLLIN))) {
				ret = uvirtio_dev_check_status(qp->net->dev);
				if (ret) {
					uvirtq_disable_cb(qp->txq);
					return qp_fail(qp, ret);
				}
			}
		}
		uvirtq_disable_cb(qp->txq);
	}
}

UV_EXPORT int uvirtio_net_qp_rx_fd(struct uvirtio_net_qp *qp)
{
	return uvirtq_eventfd(qp->rxq);
}

UV_EXPORT int uvirtio_net_qp_tx_fd(struct uvirtio_net_qp *qp)
{
	return uvirtq_eventfd(qp->txq);
}

UV_EXPORT void uvirtio_net_qp_get_stats(struct uvirtio_net_qp *qp,
					struct uvirtio_net_qp_stats *st)
{
	*st = qp->stats;
}
