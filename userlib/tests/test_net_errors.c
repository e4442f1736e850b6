// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_net_errors.c - the virtio-net driver's open against a vhost-user
 * net back-end (net_peer.h) whose config space or queue count is wrong:
 * an MTU below the spec's floor of 68, MQ with fewer queues than its
 * max_virtqueue_pairs needs; and a large MTU that is right, and bad
 * arguments.
 *
 * Usage: test_net_errors [substring-filter]
 */
#include "net_peer.h"

#define NF(x) (1ull << VIRTIO_NET_F_##x)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ncase {
	uint64_t feat;
	uint16_t mtu, max_pairs, queues;
	struct uvirtio_net_params np;
};

/* Open against a peer told @nc; Return: uvirtio_net_open()'s result. */
static int open_with(const struct ncase *nc, struct uvirtio_net_info *info)
{
	struct uvirtio_vhost_user_params vp = {
		.queue_size = QSIZE, .timeout_ms = 2000,
	};
	struct uvirtio_backend *be = NULL;
	struct uvirtio_net *net = NULL;
	struct npeer p;
	int r;

	if (peer_start(&p))
		return -EBADE;
	p.feat_extra = nc->feat;
	p.mtu = nc->mtu;
	p.max_pairs = nc->max_pairs;
	p.queues = nc->queues;
	r = uvirtio_vhost_user_open(p.path, &vp, &be);
	if (r)
		return -EBADE;		/* not what the case is about */
	r = uvirtio_net_open(be, &nc->np, &net);
	if (!r) {
		uvirtio_net_get_info(net, info);
		uvirtio_net_close(net);
	} else {
		CHECK(!net);
	}
	uvirtio_backend_close(be);
	peer_stop(&p);
	return r;
}

static int t_mtu_below_floor(void)
{
	struct ncase nc = { .feat = NF(MTU), .mtu = 60,
			    .np = { .poll = true } };
	struct uvirtio_net_info in;

	CHECK_EQ(open_with(&nc, &in), -ENODEV);
	nc.mtu = 67;
	CHECK_EQ(open_with(&nc, &in), -ENODEV);
	/* the floor itself is a valid MTU */
	nc.mtu = 68;
	CHECK_EQ(open_with(&nc, &in), 0);
	CHECK_EQ(in.mtu, 68);
	return PASS;
}

static int t_mtu_jumbo(void)
{
	struct ncase nc = { .feat = NF(MTU), .mtu = 9000,
			    .np = { .poll = true, .no_mrg_rxbuf = true } };
	struct uvirtio_net_info in;

	CHECK_EQ(open_with(&nc, &in), 0);
	CHECK_EQ(in.mtu, 9000);
	CHECK_EQ(in.max_frame, 9018);		/* + Ethernet + VLAN header */
	CHECK(!in.mrg_rxbuf);
	/* without MRG_RXBUF one buffer holds a whole frame and the header */
	CHECK(in.rx_buf_size >= 9018 + 12);
	return PASS;
}

/*
 * MQ over vhost-user: the back-end's GET_QUEUE_NUM (queue pairs) is what
 * the front-end puts in max_virtqueue_pairs, whatever the back-end's own
 * config says, so a config that promises more pairs than the back-end has
 * cannot reach the driver: 2 pairs asked, 2 in the config, 1 behind the
 * socket opens with 1.
 */
static int t_mq_too_few_queues(void)
{
	struct ncase nc = { .feat = NF(MQ) | NF(CTRL_VQ), .max_pairs = 2,
			    .queues = 1,
			    .np = { .poll = true, .num_queue_pairs = 2 } };
	struct uvirtio_net_info in;

	CHECK_EQ(open_with(&nc, &in), 0);
	CHECK_EQ(in.num_queue_pairs, 1);
	return PASS;
}

/* 3 pairs in the config space, 2 behind the socket: 2 pairs. */
static int t_mq_pairs_beyond_queues(void)
{
	struct ncase nc = { .feat = NF(MQ) | NF(CTRL_VQ), .max_pairs = 3,
			    .queues = 2,
			    .np = { .poll = true, .num_queue_pairs = 3 } };
	struct uvirtio_net_info in;

	CHECK_EQ(open_with(&nc, &in), 0);
	CHECK_EQ(in.num_queue_pairs, 2);
	return PASS;
}

static int t_bad_args(void)
{
	struct uvirtio_net *net = NULL;
	struct ncase nc = { .np = { .poll = true } };
	struct uvirtio_net_info in;

	CHECK_EQ(uvirtio_net_open(NULL, NULL, &net), -EINVAL);
	CHECK(!net);
	/* the defaults, as given: a working device */
	CHECK_EQ(open_with(&nc, &in), 0);
	CHECK_EQ(in.num_queue_pairs, 1);
	return PASS;
}

/*
 * Interrupt mode against a back-end that transmits nothing: waits for
 * RX and a flush sleep on the eventfds and time out, the eventfds are
 * there, and calls on no pair are refused.
 */
static int t_interrupts_nothing_moves(void)
{
	struct uvirtio_vhost_user_params vp = {
		.queue_size = QSIZE, .timeout_ms = 2000,
	};
	struct uvirtio_net_params np = { .poll = false };
	struct uvirtio_net_frame f = { 0 };
	struct uvirtio_backend *be;
	struct uvirtio_net_info in;
	struct uvirtio_net *net;
	struct uvirtio_net_qp *qp;
	static uint8_t d[64];
	struct npeer p;
	int64_t t0;

	CHECK_EQ(peer_start(&p), 0);
	CHECK_EQ(uvirtio_vhost_user_open(p.path, &vp, &be), 0);
	CHECK_EQ(uvirtio_net_open(be, &np, &net), 0);
	uvirtio_net_get_info(net, &in);
	CHECK(in.interrupts);
	qp = uvirtio_net_get_qp(net, 0);
	CHECK(qp);
	CHECK(uvirtio_net_qp_rx_fd(qp) >= 0);
	CHECK(uvirtio_net_qp_tx_fd(qp) >= 0);
	/* nothing received: an RX wait sleeps its 50 ms and reports nothing */
	t0 = now_ms();
	CHECK_EQ(uvirtio_net_qp_wait(qp, UVIRTIO_NET_WAIT_RX, 50), 0);
	CHECK(now_ms() - t0 >= 40);
	f.data = d;
	f.len = sizeof(d);
	CHECK_EQ(uvirtio_net_qp_send(qp, &f, 1), 1);
	t0 = now_ms();
	CHECK_EQ(uvirtio_net_qp_flush(qp, 50), -ETIMEDOUT);
	CHECK(now_ms() - t0 >= 40);
	/* refused without a pair */
	CHECK_EQ(uvirtio_net_qp_send(NULL, &f, 1), -EINVAL);
	CHECK_EQ(uvirtio_net_qp_send(qp, NULL, 1), -EINVAL);
	CHECK_EQ(uvirtio_net_qp_flush(NULL, 0), -EINVAL);
	uvirtio_net_close(net);
	uvirtio_backend_close(be);
	peer_stop(&p);
	return PASS;
}

static const struct tcase cases[] = {
	{ "mtu_below_floor", t_mtu_below_floor },
	{ "mtu_jumbo", t_mtu_jumbo },
	{ "mq_too_few_queues", t_mq_too_few_queues },
	{ "mq_pairs_beyond_queues", t_mq_pairs_beyond_queues },
	{ "bad_args", t_bad_args },
	{ "interrupts_nothing_moves", t_interrupts_nothing_moves },
};

int main(int argc, char **argv)
{
	return harness_main("net-errors", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
