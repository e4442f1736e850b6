// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_net_ctrl.c - the virtio-net driver's RX mode and MAC filter calls
 * (params.ctrl_rx) over vhost-user, against the control queue the
 * front-end serves itself (RX PROMISC / ALLMULTI and MAC TABLE_SET are
 * acknowledged; CTRL_RX_EXTRA and CTRL_MAC_ADDR are never offered, even
 * when the back-end (net_peer.h) offers them), with one pair (control
 * queue 2, no MQ) and with two (MQ, control queue 4), split and packed:
 * each call's success, each refusal, bad arguments, and a frame that
 * still arrives on the pair afterwards.  What a real device filters is
 * scripts/guest/net-tests' ctrl_rx case (QEMU's virtio-net).
 *
 * Usage: test_net_ctrl [substring-filter]
 */
#include "net_peer.h"

#define NF(x) (1ull << VIRTIO_NET_F_##x)

/* what the back-end offers besides net_peer.h's defaults */
#define CTRL_FAMILY (NF(CTRL_VQ) | NF(CTRL_RX) | NF(CTRL_RX_EXTRA) | \
		     NF(CTRL_MAC_ADDR))

struct cctx {
	struct npeer p;
	struct uvirtio_backend *be;
	struct uvirtio_net *net;
	struct uvirtio_net_info in;
};

static int c_open(struct cctx *c, uint64_t extra, uint16_t pairs,
		  bool packed, bool ctrl_rx)
{
	struct uvirtio_vhost_user_params vp = {
		.queue_size = QSIZE, .timeout_ms = 2000,
	};
	struct uvirtio_net_params np = {
		.poll = true, .num_queue_pairs = pairs, .packed = packed,
		.ctrl_rx = ctrl_rx,
	};

	memset(c, 0, sizeof(*c));
	CHECK_EQ(peer_start(&c->p), 0);
	c->p.feat_extra = extra | (packed ? 1ull << VIRTIO_F_RING_PACKED : 0);
	c->p.max_pairs = pairs > 1 ? pairs : 1;
	c->p.queues = pairs > 1 ? pairs : 1;
	CHECK_EQ(uvirtio_vhost_user_open(c->p.path, &vp, &c->be), 0);
	CHECK_EQ(uvirtio_net_open(c->be, &np, &c->net), 0);
	uvirtio_net_get_info(c->net, &c->in);
	return PASS;
}

static void c_close(struct cctx *c)
{
	uvirtio_net_close(c->net);
	uvirtio_backend_close(c->be);
	peer_stop(&c->p);
}

static const uint8_t uc2[2][6] = {
	{ 0x02, 0, 0, 0, 0x11, 0x01 }, { 0x02, 0, 0, 0, 0x11, 0x02 },
};
static const uint8_t mc1[1][6] = { { 0x01, 0x00, 0x5e, 0, 0, 0x01 } };

/* Every call that the front-end's control queue acknowledges. */
static int accepted(struct uvirtio_net *net)
{
	static uint8_t uc[UVIRTIO_NET_MAC_TABLE_MAX][6];
	static uint8_t mc[UVIRTIO_NET_MAC_TABLE_MAX][6];
	unsigned int i;

	CHECK_EQ(uvirtio_net_set_rx_mode(net, 0), 0);
	CHECK_EQ(uvirtio_net_set_rx_mode(net, UVIRTIO_NET_RX_PROMISC), 0);
	CHECK_EQ(uvirtio_net_set_rx_mode(net, UVIRTIO_NET_RX_ALLMULTI), 0);
	CHECK_EQ(uvirtio_net_set_rx_mode(net, UVIRTIO_NET_RX_PROMISC |
					 UVIRTIO_NET_RX_ALLMULTI), 0);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, uc2, 2, mc1, 1), 0);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, uc2, 2, NULL, 0), 0);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, NULL, 0, mc1, 1), 0);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, NULL, 0, NULL, 0), 0);
	/* both lists full: 8 + 6 * 128 bytes in one command */
	for (i = 0; i < UVIRTIO_NET_MAC_TABLE_MAX; i++) {
		uc[i][0] = 0x02;
		uc[i][5] = (uint8_t)i;
		mc[i][0] = 0x01;
		mc[i][5] = (uint8_t)i;
	}
	CHECK_EQ(uvirtio_net_set_mac_filter(net, uc, UVIRTIO_NET_MAC_TABLE_MAX,
					    mc, UVIRTIO_NET_MAC_TABLE_MAX), 0);
	return PASS;
}

/* What the front-end does not offer, and arguments that are wrong. */
static int refused(struct uvirtio_net *net)
{
	static const uint8_t extra[] = {
		UVIRTIO_NET_RX_ALLUNI, UVIRTIO_NET_RX_NOMULTI,
		UVIRTIO_NET_RX_NOUNI, UVIRTIO_NET_RX_NOBCAST,
	};
	static uint8_t many[UVIRTIO_NET_MAC_TABLE_MAX + 1][6];
	const uint8_t mac[6] = { 0x02, 0, 0, 0, 0x22, 0x01 };
	const uint8_t mcast[6] = { 0x03, 0, 0, 0, 0x22, 0x01 };
	const uint8_t zero[6] = { 0 };
	unsigned int i;

	/* CTRL_RX_EXTRA not negotiated: each of its modes, alone or not */
	for (i = 0; i < sizeof(extra); i++) {
		CHECK_EQ(uvirtio_net_set_rx_mode(net, extra[i]), -ENOTSUP);
		CHECK_EQ(uvirtio_net_set_rx_mode(net, extra[i] |
						 UVIRTIO_NET_RX_PROMISC),
			 -ENOTSUP);
	}
	/* bits that are no mode */
	CHECK_EQ(uvirtio_net_set_rx_mode(net, 1u << 6), -EINVAL);
	CHECK_EQ(uvirtio_net_set_rx_mode(net, ~0u), -EINVAL);
	CHECK_EQ(uvirtio_net_set_rx_mode(NULL, 0), -EINVAL);
	/* CTRL_MAC_ADDR not negotiated; bad addresses are refused first */
	CHECK_EQ(uvirtio_net_set_mac(net, mac), -ENOTSUP);
	CHECK_EQ(uvirtio_net_set_mac(net, mcast), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac(net, zero), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac(net, NULL), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac(NULL, mac), -EINVAL);
	/* the MAC table: counts beyond the bound, lists of the wrong kind */
	for (i = 0; i <= UVIRTIO_NET_MAC_TABLE_MAX; i++) {
		many[i][0] = 0x02;
		many[i][5] = (uint8_t)i;
	}
	CHECK_EQ(uvirtio_net_set_mac_filter(net, many,
					    UVIRTIO_NET_MAC_TABLE_MAX + 1,
					    NULL, 0), -EINVAL);
	for (i = 0; i <= UVIRTIO_NET_MAC_TABLE_MAX; i++)
		many[i][0] = 0x01;
	CHECK_EQ(uvirtio_net_set_mac_filter(net, NULL, 0, many,
					    UVIRTIO_NET_MAC_TABLE_MAX + 1),
		 -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, mc1, 1, NULL, 0), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, NULL, 0, uc2, 1), -EINVAL);
	/* a multicast MAC second in the unicast list */
	memcpy(many[0], uc2[0], 6);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, many, 2, NULL, 0), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, NULL, 2, NULL, 0), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac_filter(net, NULL, 0, NULL, 1), -EINVAL);
	CHECK_EQ(uvirtio_net_set_mac_filter(NULL, NULL, 0, NULL, 0), -EINVAL);
	/* the refusals sent nothing that broke the queue */
	CHECK_EQ(uvirtio_net_set_rx_mode(net, UVIRTIO_NET_RX_ALLMULTI), 0);
	return PASS;
}

/* One frame from the back-end on pair 0, received. */
static int frame_arrives(struct cctx *c)
{
	struct uvirtio_net_qp *qp = uvirtio_net_get_qp(c->net, 0);
	uint8_t buf[2048];
	struct uvirtio_net_frame f = { .data = buf, .len = sizeof(buf) };
	int i, r = 0;

	CHECK(qp != NULL);
	CHECK_EQ(dev_rx(&c->p, 60, 1, 1, NULL, -1), 0);
	for (i = 0; i < 1000 && !r; i++)
		r = uvirtio_net_qp_recv(qp, &f, 1);
	CHECK_EQ(r, 1);
	CHECK_EQ(f.len, 60);
	CHECK(payload_ok(buf, 60));
	return PASS;
}

static int one_pair_case(bool packed)
{
	struct cctx c;

	CHECK_EQ(c_open(&c, CTRL_FAMILY, 0, packed, true), PASS);
	/* the control queue's own bits, without MQ, none to the back-end */
	CHECK(c.in.ctrl_vq);
	CHECK(c.in.features & NF(CTRL_RX));
	CHECK(!(c.in.features & NF(CTRL_RX_EXTRA)));
	CHECK(!(c.in.features & NF(CTRL_MAC_ADDR)));
	CHECK(!(c.in.features & NF(MQ)));
	CHECK_EQ(!!(c.in.features & (1ull << VIRTIO_F_RING_PACKED)), packed);
	CHECK_EQ(c.in.num_queue_pairs, 1);
	CHECK(!(c.p.features_set & CTRL_FAMILY));
	CHECK(c.p.vr[0].desc && c.p.vr[1].desc);
	CHECK_EQ(accepted(c.net), PASS);
	CHECK_EQ(refused(c.net), PASS);
	/* net_peer.h's dev_rx() speaks the split ring only */
	if (!packed)
		CHECK_EQ(frame_arrives(&c), PASS);
	c_close(&c);
	return PASS;
}

static int t_one_pair_split(void)
{
	return one_pair_case(false);
}

static int t_one_pair_packed(void)
{
	return one_pair_case(true);
}

/* Two pairs: MQ, the control queue at 4; the same calls work. */
static int t_two_pairs(void)
{
	struct cctx c;

	CHECK_EQ(c_open(&c, CTRL_FAMILY | NF(MQ), 2, false, true), PASS);
	CHECK_EQ(c.in.num_queue_pairs, 2);
	CHECK(c.in.features & NF(MQ));
	CHECK(c.in.features & NF(CTRL_RX));
	CHECK_EQ(accepted(c.net), PASS);
	CHECK_EQ(refused(c.net), PASS);
	c_close(&c);
	return PASS;
}

/* Without ctrl_rx: one pair has no control queue, nothing is asked for. */
static int t_off_by_default(void)
{
	struct cctx c;

	CHECK_EQ(c_open(&c, CTRL_FAMILY, 0, false, false), PASS);
	CHECK(!c.in.ctrl_vq);
	CHECK(!(c.in.features & CTRL_FAMILY));
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 0), -ENOTSUP);
	CHECK_EQ(uvirtio_net_set_mac_filter(c.net, uc2, 2, NULL, 0),
		 -ENOTSUP);
	CHECK_EQ(uvirtio_net_set_mac(c.net, uc2[0]), -ENOTSUP);
	/* bad arguments are still bad arguments */
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 1u << 6), -EINVAL);
	CHECK_EQ(frame_arrives(&c), PASS);
	c_close(&c);
	return PASS;
}

/*
 * MQ without ctrl_rx: the control queue runs (VQ_PAIRS_SET) but CTRL_RX
 * was not asked for, so the RX mode is -ENOTSUP.
 */
static int t_mq_without_ctrl_rx(void)
{
	struct cctx c;

	CHECK_EQ(c_open(&c, CTRL_FAMILY | NF(MQ), 2, false, false), PASS);
	CHECK_EQ(c.in.num_queue_pairs, 2);
	CHECK(c.in.ctrl_vq);
	CHECK(!(c.in.features & NF(CTRL_RX)));
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, UVIRTIO_NET_RX_PROMISC),
		 -ENOTSUP);
	CHECK_EQ(uvirtio_net_set_mac_filter(c.net, NULL, 0, NULL, 0),
		 -ENOTSUP);
	c_close(&c);
	return PASS;
}

static const struct tcase cases[] = {
	{ "one_pair_split", t_one_pair_split },
	{ "one_pair_packed", t_one_pair_packed },
	{ "two_pairs", t_two_pairs },
	{ "off_by_default", t_off_by_default },
	{ "mq_without_ctrl_rx", t_mq_without_ctrl_rx },
};

int main(int argc, char **argv)
{
	return harness_main("net-ctrl", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
