// SPDX-License-Identifier: BSD-3-Clause
/*
 * net.c - "uvirtio net": a virtio-net device through libuvirtio's net
 * driver (queue pair 0).
 *
 *   net DEV info                  MAC, MTU, link, features, queue pairs
 *   net DEV send [-n N] [-s SIZE] [--dst MAC] [--src MAC]
 *   net DEV recv [-n N] [-t SECONDS] [--stall SECONDS]
 *   net DEV macswap [-n N] [-t SECONDS]
 *   net DEV pingpong [-n N] [-s SIZE] [--dst MAC] [-t SECONDS] [--gso]
 *   net DEV link [-n CHANGES] [-t SECONDS]
 *
 * Every operation takes --poll (no interrupts), --packed (the packed
 * ring, if offered), --no-in-order (never VIRTIO_F_IN_ORDER, taken by
 * default when offered) and --queue-pairs N (ask for MQ: the control
 * queue sets the pairs; the commands use pair 0, but pingpong runs on
 * every pair opened, one thread per pair, and checks that each frame
 * comes back on the pair it was sent on).
 *
 * The receive filter, set on the control queue after open and before
 * the operation (each asks for CTRL_RX, so one pair gets a control queue
 * too): --rx-mode LIST (promisc, allmulti, alluni, nomulti, nouni,
 * nobcast, comma-separated, or none: the modes on, the rest off; the
 * device starts promiscuous), --mac-filter MAC[,MAC...] (the MAC table:
 * unicast and multicast addresses sorted by their group bit; none: an
 * empty table), --mac MAC (the device's own address, CTRL_MAC_ADDR), and
 * --ctrl-rx (only negotiate: info shows what the device took).
 *
 * Test frames (send) carry EtherType 0x88b5 (IEEE local experimental),
 * then a 32-bit big-endian sequence number and bytes (seq + i) & 0xff:
 * recv checks them, so a frame that was damaged on the way is counted
 * as bad, and frames of other EtherTypes (the kernel's IPv6 chatter) as
 * other; with the sequence numbers it counts duplicates and frames that
 * came after a later one (reordered).
 *
 * pingpong --gso negotiates segmentation offload and sends TCP/IPv4
 * frames of up to 64000 bytes with a TSO header (NEEDS_CSUM, GSO_TCPV4,
 * MSS = MTU - 40): the TCP sequence number is the frame's, the payload
 * bytes (seq + i) & 0xff.  Each must come back whole with the MACs
 * swapped, every byte as sent; frames that come back with a GSO header
 * are counted ("gso back").
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <uvirtio/uvirtio.h>

#include "cli.h"

#define NET_ETHERTYPE	0x88b5
#define NET_BURST	32
#define NET_HDR		18	/* Ethernet header + sequence number */
/* recv finds duplicates among sequence numbers below this */
#define NET_SEQ_TRACK	(1u << 20)
/* pingpong on several pairs: the pair in the sequence number's top byte */
#define NET_PAIR_SHIFT	24
#define NET_PAIR_SEQ	(1u << NET_PAIR_SHIFT)
/* --gso frames: Ethernet, IPv4 and TCP headers, then the payload */
#define NET_TCP_HDR	54
#define NET_GSO_MAX	64000
#define NET_GSO_WINDOW	(256u << 10)

static const char net_usage[] =
	"usage: uvirtio net DEVICE info [--packed] [--no-in-order] [--queue-pairs N]\n"
	"       uvirtio net DEVICE send [-n COUNT] [-s SIZE] [--dst MAC] [--src MAC] [--poll]\n"
	"       uvirtio net DEVICE recv [-n COUNT] [-t SECONDS] [--stall SECONDS] [-v] [--poll]\n"
	"       uvirtio net DEVICE macswap [-n COUNT] [-t SECONDS] [--poll]\n"
	"       uvirtio net DEVICE pingpong [-n COUNT] [-s SIZE] [--dst MAC] [-t SECONDS] [--loopback] [--poll] [--queue-pairs N] [--gso]\n"
	"       uvirtio net DEVICE link [-n CHANGES] [-t SECONDS]\n"
	"  filter (any operation): [--ctrl-rx] [--rx-mode promisc,allmulti,alluni,nomulti,nouni,nobcast|none]\n"
	"                          [--mac-filter MAC[,MAC...]|none] [--mac MAC]";

static volatile sig_atomic_t net_stop;

static void on_signal(int sig)
{
	(void)sig;
	net_stop = 1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static void mac_str(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double rate(uint64_t n, int64_t ns)
{
	return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct netctx {
	const char *dev;
	const char *op;
	char name[CLI_NAME_MAX];
	struct uvirtio_backend *be;
	struct uvirtio_net *net;
	struct uvirtio_net_qp *qp;
	struct uvirtio_net_info info;
	uint64_t count;		/* 0: no limit */
	uint64_t size;
	uint64_t timeout;	/* seconds, 0: none */
	bool have_t;
	uint64_t stall;		/* recv: seconds not reaping after open */
	bool verbose;
	bool poll;
	bool packed;
	bool no_in_order;
	bool loopback;		/* pingpong: frames come back unchanged */
	bool gso;		/* pingpong: TCP frames with a TSO header */
	uint64_t pairs;		/* --queue-pairs: asked for (MQ) */
	uint8_t dst[6], src[6];
	bool have_src;
	unsigned int pair;	/* pingpong: the pair c->qp is */
	bool tag_pair;		/* pingpong: sequence numbers carry it */
	bool ctrl_rx;		/* --ctrl-rx or a filter option */
	bool have_rx_mode, have_filter, have_mac;
	unsigned int rx_mode;	/* UVIRTIO_NET_RX_* */
	uint8_t uc[UVIRTIO_NET_MAC_TABLE_MAX][6];
	uint8_t mc[UVIRTIO_NET_MAC_TABLE_MAX][6];
	unsigned int n_uc, n_mc;
	uint8_t mac[6];		/* --mac */
};

/* What one pair's pingpong did. */
struct pp_result {
	struct netctx c;	/* the thread's own copy, qp set */
	pthread_t thr;
	bool started;
	uint64_t done, back, bad, stray, wrong_pair, gso_back;
	uint32_t gso_type, gso_size;	/* of the last GSO frame back */
	int rc;
};

static void print_info(const struct netctx *c)
{
	const struct uvirtio_net_info *in = &c->info;
	char mac[18];

	mac_str(in->mac, mac);
	printf("device: %s\n", c->name);
	printf("transport: %s\n",
	       uvirtio_dev_transport_name(uvirtio_net_device(c->net)));
	printf("mac: %s%s\n", mac, in->has_mac ? "" : " (none offered)");
	printf("mtu: %u%s\n", in->mtu,
	       (in->features >> VIRTIO_NET_F_MTU) & 1 ? "" : " (default)");
	printf("max frame: %u bytes\n", in->max_frame);
	printf("link: %s%s\n", in->link_up ? "up" : "down",
	       in->has_status ? "" : " (no STATUS: assumed)");
	printf("queue pairs: %u of %u%s\n", in->num_queue_pairs,
	       in->max_queue_pairs, in->ctrl_vq ? " (control queue)" : "");
	printf("mergeable rx buffers: %s\n", in->mrg_rxbuf ? "yes" : "no");
	printf("rx buffer: %u bytes\n", in->rx_buf_size);
	printf("checksum offload: tx %s, rx %s\n", in->csum ? "yes" : "no",
	       in->guest_csum ? "yes" : "no");
	printf("segmentation offload: tx %s%s%s, rx %s%s%s\n",
	       in->host_tso ? "" : "no",
	       (in->features >> VIRTIO_NET_F_HOST_TSO4) & 1 ? "TSO4 " : "",
	       (in->features >> VIRTIO_NET_F_HOST_TSO6) & 1 ?
	       ((in->features >> VIRTIO_NET_F_HOST_ECN) & 1 ? "TSO6 ECN" :
		"TSO6") : "",
	       in->guest_tso ? "" : "no",
	       (in->features >> VIRTIO_NET_F_GUEST_TSO4) & 1 ? "TSO4 " : "",
	       (in->features >> VIRTIO_NET_F_GUEST_TSO6) & 1 ?
	       ((in->features >> VIRTIO_NET_F_GUEST_ECN) & 1 ? "TSO6 ECN" :
		"TSO6") : "");
	printf("rx filter: %s\n",
	       !((in->features >> VIRTIO_NET_F_CTRL_RX) & 1) ? "no" :
	       (in->features >> VIRTIO_NET_F_CTRL_RX_EXTRA) & 1 ?
	       "rx mode, mac table, extra modes" : "rx mode, mac table");
	printf("mac address set: %s\n",
	       (in->features >> VIRTIO_NET_F_CTRL_MAC_ADDR) & 1 ? "yes" : "no");
	printf("event idx: %s\n",
	       (in->features >> VIRTIO_RING_F_EVENT_IDX) & 1 ? "yes" : "no");
	printf("packed ring: %s\n",
	       (in->features >> VIRTIO_F_RING_PACKED) & 1 ? "yes" : "no");
	printf("in order: %s\n",
	       (in->features >> VIRTIO_F_IN_ORDER) & 1 ? "yes" : "no");
	printf("completions: %s\n", in->interrupts ? "interrupts" : "polled");
	printf("features: 0x%016" PRIx64 "\n", in->features);
}

static void fill_frame(const struct netctx *c, uint8_t *f, uint32_t len,
		       uint32_t seq)
{
	uint32_t i;

	memcpy(f, c->dst, 6);
	memcpy(f + 6, c->src, 6);
	f[12] = NET_ETHERTYPE >> 8;
	f[13] = NET_ETHERTYPE & 0xff;
	f[14] = (uint8_t)(seq >> 24);
	f[15] = (uint8_t)(seq >> 16);
	f[16] = (uint8_t)(seq >> 8);
	f[17] = (uint8_t)seq;
	for (i = NET_HDR; i < len; i++)
		f[i] = (uint8_t)(seq + i);
}

/* 1: a good test frame (*@seq set); 0: another EtherType; -1: damaged. */
static int check_frame(const uint8_t *f, uint32_t len, uint32_t *seq)
{
	uint32_t i, s;

	if (len < 14 || f[12] != (NET_ETHERTYPE >> 8) ||
	    f[13] != (NET_ETHERTYPE & 0xff))
		return 0;
	if (len < NET_HDR)
		return -1;
	s = (uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 |
	    (uint32_t)f[16] << 8 | f[17];
	for (i = NET_HDR; i < len; i++)
		if (f[i] != (uint8_t)(s + i))
			return -1;
	*seq = s;
	return 1;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * A TCP/IPv4 test frame (10.0.0.1:0x88b5 -> 10.0.0.2:0x88b5) with its
 * TSO header: the IP checksum complete, the TCP one the pseudo-header
 * sum, as NEEDS_CSUM wants.
 */
static void fill_tcp_frame(const struct netctx *c,
			   struct uvirtio_net_frame *fr, uint32_t seq)
{
	uint8_t *f = fr->data, *ip = f + 14, *tcp = f + 34;
	uint32_t len = fr->len, i;

	memset(f, 0, NET_TCP_HDR);
	memcpy(f, c->dst, 6);
	memcpy(f + 6, c->src, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, len - 14);
	put16(ip + 4, seq & 0xffff);
	put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10, ip[15] = 1;
	ip[16] = 10, ip[19] = 2;
	put16(ip + 10, (uint16_t)~fold16(sum16(ip, 20, 0)));
	put16(tcp, NET_ETHERTYPE);
	put16(tcp + 2, NET_ETHERTYPE);
	put16(tcp + 4, seq >> 16);
	put16(tcp + 6, seq & 0xffff);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;		/* PSH, ACK */
	put16(tcp + 14, 0xffff);
	/* pseudo header: addresses, protocol, TCP length */
	put16(tcp + 16, fold16(sum16(ip + 12, 8, 6 + len - 34)));
	for (i = NET_TCP_HDR; i < len; i++)
		f[i] = (uint8_t)(seq + i);
	fr->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	fr->hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	fr->hdr.hdr_len = htole16(NET_TCP_HDR);
	fr->hdr.gso_size = htole16((uint16_t)(c->info.mtu - 40));
	fr->hdr.csum_start = htole16(34);
	fr->hdr.csum_offset = htole16(16);
}

/* 1: our TCP test frame, every payload byte right; 0: not ours; -1: bad */
static int check_tcp_frame(const uint8_t *f, uint32_t len, uint32_t *seq)
{
	uint32_t i, s;

	if (len < 14 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	if (len < NET_TCP_HDR || f[23] != 6 ||
	    (uint32_t)(f[34] << 8 | f[35]) != NET_ETHERTYPE)
		return len < NET_TCP_HDR ? -1 : 0;
	if ((uint32_t)(f[16] << 8 | f[17]) != len - 14)
		return -1;
	s = (uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 |
	    (uint32_t)f[40] << 8 | f[41];
	for (i = NET_TCP_HDR; i < len; i++)
		if (f[i] != (uint8_t)(s + i))
			return -1;
	*seq = s;
	return 1;
}

/* Wait for @what; 0 ok, 1 timed out / stopped, <0 errno. */
static int wait_for(struct netctx *c, unsigned int what, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline ? deadline - now_ms() : 200;
		int ret;

		if (net_stop || (deadline && left <= 0))
			return 1;
		/* short slices, so a signal is seen promptly */
		ret = uvirtio_net_qp_wait(c->qp, what,
					  (int)(left < 200 ? left : 200));
		if (ret < 0)
			return ret;
		if (ret)
			return 0;
	}
}

static void print_stats(const struct netctx *c)
{
	struct uvirtio_net_qp_stats st;

	uvirtio_net_qp_get_stats(c->qp, &st);
	printf("features: 0x%016" PRIx64 "\n", c->info.features);
	printf("stats: rx_frames=%" PRIu64 " rx_bytes=%" PRIu64
	       " rx_buffers=%" PRIu64 " tx_frames=%" PRIu64 " tx_bytes=%"
	       PRIu64 " tx_full=%" PRIu64 " rx_kicks=%" PRIu64 " tx_kicks=%"
	       PRIu64 " rx_interrupts=%" PRIu64 " tx_interrupts=%" PRIu64
	       "\n", st.rx_frames, st.rx_bytes, st.rx_buffers, st.tx_frames,
	       st.tx_bytes, st.tx_full, st.rx_kicks, st.tx_kicks,
	       st.rx_interrupts, st.tx_interrupts);
}

static int do_send(struct netctx *c)
{
	struct uvirtio_net_frame fr[NET_BURST];
	uint64_t sent = 0, bytes = 0, total = c->count ? c->count : 1;
	int64_t t0 = now_ns();
	uint8_t *buf;
	unsigned int i, n;
	int ret, rc = RC_OK;

	if (c->size < NET_HDR || c->size > c->info.max_frame)
		return cli_usage_err("net: bad size %" PRIu64 " (%u..%u)",
				     c->size, NET_HDR, c->info.max_frame);
	buf = malloc((size_t)NET_BURST * c->size);
	if (!buf) {
		cli_err("out of memory");
		return RC_ERR;
	}
	while (sent < total && !net_stop) {
		n = (unsigned int)(total - sent < NET_BURST ? total - sent :
				   NET_BURST);
		memset(fr, 0, sizeof(fr));
		for (i = 0; i < n; i++) {
			fr[i].data = buf + (size_t)i * c->size;
			fr[i].len = (uint32_t)c->size;
			fill_frame(c, fr[i].data, fr[i].len,
				   (uint32_t)(sent + i));
		}
		ret = uvirtio_net_qp_send(c->qp, fr, n);
		if (ret < 0) {
			rc = cli_errno(ret, "%s: send, after %" PRIu64 " frames",
				       c->name, sent);
			goto out;
		}
		sent += (uint64_t)ret;
		bytes += (uint64_t)ret * c->size;
		if ((unsigned int)ret < n) {
			ret = wait_for(c, UVIRTIO_NET_WAIT_TX, now_ms() + 5000);
			if (ret < 0) {
				rc = cli_errno(ret, "%s: send", c->name);
				goto out;
			}
			if (ret && !net_stop) {
				cli_err("%s: send: the device took no frame for 5 s",
					c->name);
				rc = RC_TIMEOUT;
				goto out;
			}
		}
	}
	/* let the device finish: a reset drops what it has not sent */
	ret = uvirtio_net_qp_flush(c->qp, 10000);
	if (ret)
		rc = cli_errno(ret, "%s: send: waiting for the device to send %d frames",
			       c->name, uvirtio_net_qp_tx_reclaim(c->qp));
out:
	printf("sent: %" PRIu64 " frames, %" PRIu64 " bytes; %.0f frames/s\n",
	       sent, bytes, rate(sent, now_ns() - t0));
	if (c->verbose)
		print_stats(c);
	free(buf);
	return rc;
}

static int do_recv(struct netctx *c, bool swap)
{
	struct uvirtio_net_frame fr[NET_BURST];
	uint64_t frames = 0, bytes = 0, good = 0, bad = 0, other = 0;
	uint64_t trunc = 0, sent = 0, sbytes = 0, dups = 0, reord = 0;
	int64_t deadline = c->timeout ? now_ms() + (int64_t)c->timeout * 1000
				      : 0;
	uint32_t cap = c->info.max_frame, seq, top = 0;
	int64_t t_first = 0, t_last = 0;
	bool first = true;
	uint8_t *buf, *seen;
	int ret, rc = RC_OK, i, n, m;

	buf = malloc((size_t)NET_BURST * cap);
	seen = calloc(NET_SEQ_TRACK / 8, 1);
	if (!buf || !seen) {
		free(buf);
		free(seen);
		cli_err("out of memory");
		return RC_ERR;
	}
	if (c->stall) {
		/* RX starvation: the rings fill up and stay full */
		struct timespec ts = { (time_t)c->stall, 0 };

		fprintf(stderr, "%s: not reaping for %" PRIu64 " s\n", c->op,
			c->stall);
		while (nanosleep(&ts, &ts) && !net_stop)
			;
		if (deadline)
			deadline += (int64_t)c->stall * 1000;
	}
	fprintf(stderr, "%s: ready\n", c->op);
	while (!net_stop && (!c->count || frames < c->count)) {
		unsigned int want = NET_BURST;

		if (c->count && c->count - frames < want)
			want = (unsigned int)(c->count - frames);
		ret = wait_for(c, UVIRTIO_NET_WAIT_RX, deadline);
		if (ret < 0) {
			rc = cli_errno(ret, "%s: %s, after %" PRIu64 " frames",
				       c->name, c->op, frames);
			goto out;
		}
		if (ret)
			break;
		memset(fr, 0, sizeof(fr));
		for (i = 0; i < (int)want; i++) {
			fr[i].data = buf + (size_t)i * cap;
			fr[i].len = cap;
		}
		n = uvirtio_net_qp_recv(c->qp, fr, want);
		if (n < 0) {
			rc = cli_errno(n, "%s: %s, after %" PRIu64 " frames",
				       c->name, c->op, frames);
			goto out;
		}
		if (n > 0) {
			t_last = now_ns();
			if (!frames)
				t_first = t_last;
		}
		m = 0;
		for (i = 0; i < n; i++) {
			uint8_t *f = fr[i].data;

			frames++;
			bytes += fr[i].len;
			if (fr[i].flags & UVIRTIO_NET_FRAME_TRUNCATED) {
				trunc++;
				continue;
			}
			if (swap) {
				uint8_t t[6];

				memcpy(t, f, 6);
				memcpy(f, f + 6, 6);
				memcpy(f + 6, t, 6);
				/* checksums were done or are valid: plain frame */
				fr[m].data = f;
				fr[m].len = fr[i].len;
				fr[m].flags = 0;
				memset(&fr[m].hdr, 0, sizeof(fr[m].hdr));
				m++;
				continue;
			}
			ret = check_frame(f, fr[i].len, &seq);
			if (ret > 0) {
				good++;
				/* QEMU's queues may reorder under back-pressure */
				if (!first && seq < top)
					reord++;
				if (first || seq > top)
					top = seq;
				first = false;
				if (seq < NET_SEQ_TRACK) {
					if (seen[seq / 8] & (1u << (seq % 8)))
						dups++;
					seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
				}
			} else if (ret < 0) {
				bad++;
			} else {
				other++;
			}
			if (c->verbose) {
				char d[18], s[18];

				mac_str(f, d);
				mac_str(f + 6, s);
				printf("frame %" PRIu64 ": %u bytes %s > %s type 0x%02x%02x",
				       frames, fr[i].len, s, d, f[12], f[13]);
				if (ret > 0)
					printf(" seq %u\n", seq);
				else
					printf("%s\n", ret < 0 ? " BAD" : "");
			}
		}
		if (swap && m > 0) {
			/* every frame goes back out: wait for room if needed */
			int done = 0;

			while (done < m) {
				ret = uvirtio_net_qp_send(c->qp, fr + done,
							  (unsigned int)(m - done));
				if (ret < 0) {
					rc = cli_errno(ret, "%s: macswap: send",
						       c->name);
					goto out;
				}
				for (i = done; i < done + ret; i++)
					sbytes += fr[i].len;
				done += ret;
				sent += (uint64_t)ret;
				if (done < m && wait_for(c, UVIRTIO_NET_WAIT_TX,
							 now_ms() + 5000)) {
					cli_err("%s: macswap: the device took no frame for 5 s",
						c->name);
					rc = RC_TIMEOUT;
					goto out;
				}
			}
		}
	}
	if (c->count && frames < c->count && !net_stop)
		rc = RC_TIMEOUT;
	/* macswap: the last reflections go out before the reset */
	if (swap && sent) {
		ret = uvirtio_net_qp_flush(c->qp, 10000);
		if (ret)
			rc = cli_errno(ret, "%s: macswap: waiting for the device to send",
				       c->name);
	}
out:
	if (swap)
		printf("macswap: %" PRIu64 " packets, %" PRIu64
		       " bytes received; %" PRIu64 " packets, %" PRIu64
		       " bytes sent back; %" PRIu64 " truncated\n", frames, bytes,
		       sent, sbytes, trunc);
	else
		printf("received: %" PRIu64 " frames, %" PRIu64 " bytes; good %"
		       PRIu64 ", bad %" PRIu64 ", other %" PRIu64
		       ", truncated %" PRIu64 ", duplicates %" PRIu64
		       ", reordered %" PRIu64 "\n", frames, bytes, good, bad,
		       other, trunc, dups, reord);
	/* from the first burst to the last: the time the frames took */
	if (frames > 1)
		printf("rate: %.0f frames/s\n", rate(frames - 1, t_last - t_first));
	if (c->verbose)
		print_stats(c);
	if (rc == RC_OK && (bad || trunc || dups) && !swap)
		rc = RC_ERR;
	free(buf);
	free(seen);
	return rc;
}

/* pingpong -v: what the first bad frame looked like */
static void print_bad(const struct uvirtio_net_frame *fr)
{
	const uint8_t *f = fr->data;
	char d[18], s[18];

	mac_str(f, d);
	mac_str(f + 6, s);
	printf("bad frame: %u bytes%s, dst %s src %s, header flags 0x%x gso_type 0x%x gso_size %u hdr_len %u csum %u+%u num_buffers %u\n",
	       fr->len, fr->flags & UVIRTIO_NET_FRAME_TRUNCATED ?
	       " (truncated)" : "", d, s, fr->hdr.flags, fr->hdr.gso_type,
	       le16toh(fr->hdr.gso_size), le16toh(fr->hdr.hdr_len),
	       le16toh(fr->hdr.csum_start), le16toh(fr->hdr.csum_offset),
	       le16toh(fr->hdr.num_buffers));
}

/*
 * pingpong: send windows of 32 test frames and wait for each to come back
 * with the MACs swapped (a reflector such as testpmd's macswap), or as
 * sent (--loopback: vdpa_sim_net), intact and in order.
 */
static int pingpong_pair(struct netctx *c, struct pp_result *res)
{
	struct uvirtio_net_frame fr[NET_BURST];
	uint64_t total = c->count ? c->count : 1, done = 0, back = 0;
	uint64_t bad = 0, stray = 0, wrong = 0, gso_back = 0;
	uint32_t tag = c->tag_pair ? c->pair << NET_PAIR_SHIFT : 0;
	int64_t deadline = now_ms() + (int64_t)(c->timeout ? c->timeout : 10) *
				      1000;
	uint32_t cap = c->info.max_frame, seq;
	uint32_t min = c->gso ? NET_TCP_HDR + 1 : NET_HDR;
	uint32_t max = c->gso ? NET_GSO_MAX : c->info.max_frame;
	unsigned int win = NET_BURST;
	uint8_t *tx, *rx;
	int ret, rc = RC_OK, i, n;

	if (c->gso && !c->info.host_tso)
		return cli_errno(-ENOTSUP, "%s: pingpong --gso: the device offers neither HOST_TSO4 nor HOST_TSO6",
				 c->name);
	if (c->gso)
		cap = UVIRTIO_NET_GSO_MAX_FRAME;
	if (c->size < min || c->size > max)
		return cli_usage_err("net: bad size %" PRIu64 " (%u..%u)",
				     c->size, min, max);
	/*
	 * A window of big frames must fit the RX ring as the reflector
	 * sends it back, or it drops what finds no buffer: 256 KiB of
	 * frames at a time (128 mergeable buffers, 4 frames of 64000).
	 */
	if (c->gso && c->size > NET_GSO_WINDOW / NET_BURST)
		win = (unsigned int)(NET_GSO_WINDOW / c->size);
	tx = malloc((size_t)NET_BURST * c->size);
	rx = malloc((size_t)NET_BURST * cap);
	if (!tx || !rx) {
		free(tx);
		free(rx);
		cli_err("out of memory");
		return RC_ERR;
	}
	while (done < total && !net_stop) {
		unsigned int w = (unsigned int)(total - done < win ?
						total - done : win);
		uint64_t want = done, sent = 0;

		while (sent < w) {
			memset(fr, 0, sizeof(fr));
			for (i = 0; i < (int)(w - sent); i++) {
				fr[i].data = tx + (size_t)i * c->size;
				fr[i].len = (uint32_t)c->size;
				if (c->gso)
					fill_tcp_frame(c, &fr[i], tag |
						       (uint32_t)(done + sent + i));
				else
					fill_frame(c, fr[i].data, fr[i].len, tag |
						   (uint32_t)(done + sent + i));
			}
			ret = uvirtio_net_qp_send(c->qp, fr, (unsigned int)(w - sent));
			if (ret < 0) {
				rc = cli_errno(ret, "%s: pingpong: send", c->name);
				goto out;
			}
			sent += (uint64_t)ret;
			if (sent < w && wait_for(c, UVIRTIO_NET_WAIT_TX, deadline))
				goto timeout;
		}
		while (want < done + w) {
			ret = wait_for(c, UVIRTIO_NET_WAIT_RX, deadline);
			if (ret < 0) {
				rc = cli_errno(ret, "%s: pingpong: receive", c->name);
				goto out;
			}
			if (ret)
				goto timeout;
			memset(fr, 0, sizeof(fr));
			for (i = 0; i < NET_BURST; i++) {
				fr[i].data = rx + (size_t)i * cap;
				fr[i].len = cap;
			}
			n = uvirtio_net_qp_recv(c->qp, fr, NET_BURST);
			if (n < 0) {
				rc = cli_errno(n, "%s: pingpong: receive", c->name);
				goto out;
			}
			for (i = 0; i < n; i++) {
				const uint8_t *f = fr[i].data;
				int k = c->gso ? check_tcp_frame(f, fr[i].len, &seq) :
					check_frame(f, fr[i].len, &seq);

				if (k == 0)
					continue;	/* not ours */
				/* swapped by a reflector, as sent by a loop */
				if (fr[i].len != c->size || k < 0 ||
				    (fr[i].flags & UVIRTIO_NET_FRAME_TRUNCATED) ||
				    memcmp(f, c->loopback ? c->dst : c->src, 6) ||
				    memcmp(f + 6, c->loopback ? c->src : c->dst, 6)) {
					if (c->verbose && !bad++)
						print_bad(&fr[i]);
					else if (!c->verbose)
						bad++;
					continue;
				}
				if (c->tag_pair &&
				    seq >> NET_PAIR_SHIFT != c->pair) {
					wrong++;	/* sent on another pair */
					continue;
				}
				seq -= tag;
				if (seq != want) {
					stray++;
					continue;
				}
				want++;
				back++;
				if (fr[i].hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
					gso_back++;
					res->gso_type = fr[i].hdr.gso_type;
					res->gso_size = le16toh(fr[i].hdr.gso_size);
				}
			}
		}
		done += w;
	}
	goto out;
timeout:
	if (!net_stop) {
		cli_err("%s: pingpong: timed out after %" PRIu64 " of %" PRIu64
			" frames came back", c->name, back, total);
		rc = RC_TIMEOUT;
	}
out:
	res->done = done;
	res->back = back;
	res->bad = bad;
	res->stray = stray;
	res->wrong_pair = wrong;
	res->gso_back = gso_back;
	if (rc == RC_OK && (bad || stray || wrong || back != total))
		rc = RC_ERR;
	free(tx);
	free(rx);
	return rc;
}

static void *pingpong_thread(void *arg)
{
	struct pp_result *r = arg;

	r->rc = pingpong_pair(&r->c, r);
	return NULL;
}

/*
 * pingpong on every pair opened, one thread each (the driver's pairs are
 * independent); the totals line is the one of a single pair.
 */
static int do_pingpong(struct netctx *c)
{
	unsigned int i, n = c->info.num_queue_pairs ? c->info.num_queue_pairs
						    : 1;
	struct pp_result *r = calloc(n, sizeof(*r));
	uint64_t done = 0, back = 0, bad = 0, stray = 0, wrong = 0, gso = 0;
	int rc = RC_OK;

	if (!r) {
		cli_err("out of memory");
		return RC_ERR;
	}
	if (n > 1 && c->count >= NET_PAIR_SEQ) {
		free(r);
		return cli_usage_err("net: pingpong on %u pairs: at most %u frames each",
				     n, NET_PAIR_SEQ - 1);
	}
	for (i = 0; i < n; i++) {
		r[i].c = *c;
		r[i].c.pair = i;
		r[i].c.tag_pair = n > 1;
		r[i].c.qp = uvirtio_net_get_qp(c->net, i);
	}
	if (n == 1) {
		r[0].rc = pingpong_pair(&r[0].c, &r[0]);
	} else {
		for (i = 0; i < n; i++) {
			int ret = pthread_create(&r[i].thr, NULL,
						 pingpong_thread, &r[i]);

			r[i].started = !ret;
			if (ret) {
				net_stop = 1;	/* the others end early */
				r[i].rc = cli_errno(-ret, "pingpong: thread");
				while (++i < n)
					r[i].rc = RC_ERR;
				break;
			}
		}
		for (i = 0; i < n; i++)
			if (r[i].started)
				pthread_join(r[i].thr, NULL);
	}
	for (i = 0; i < n; i++) {
		if (n > 1)
			printf("pair %u: %" PRIu64 " sent, %" PRIu64 " back, bad %"
			       PRIu64 ", out of order %" PRIu64 ", wrong pair %"
			       PRIu64 "\n", i, r[i].done, r[i].back, r[i].bad,
			       r[i].stray, r[i].wrong_pair);
		if (c->verbose) {
			if (n > 1)
				printf("pair %u ", i);
			print_stats(&r[i].c);
		}
		done += r[i].done;
		back += r[i].back;
		bad += r[i].bad;
		stray += r[i].stray;
		wrong += r[i].wrong_pair;
		gso += r[i].gso_back;
		if (rc == RC_OK)
			rc = r[i].rc;
	}
	printf("pingpong: %" PRIu64 " sent, %" PRIu64 " back, bad %" PRIu64
	       ", out of order %" PRIu64 "%s", done, back, bad, stray,
	       n > 1 ? "" : "\n");
	if (n > 1)
		printf(", wrong pair %" PRIu64 " (%u pairs)\n", wrong, n);
	if (c->gso)
		printf("gso back: %" PRIu64 " of %" PRIu64
		       " with a GSO header (last: gso_type %u gso_size %u)\n",
		       gso, back, r[0].gso_type, r[0].gso_size);
	free(r);
	return rc;
}

/*
 * link: print the link state; with -n, wait for that many changes of it
 * (config interrupts), printing each.
 */
static int do_link(struct netctx *c)
{
	int64_t deadline = now_ms() + (int64_t)(c->timeout ? c->timeout : 10) *
				      1000;
	int fd = uvirtio_net_config_fd(c->net);
	uint64_t base = c->info.link_changes, irqs = 0;
	int ret;

	printf("link: %s\n", c->info.link_up ? "up" : "down");
	if (!c->count)
		return RC_OK;
	if (!c->info.has_status) {
		cli_err("%s: link: the device reports no link status (no VIRTIO_NET_F_STATUS)",
			c->name);
		return RC_ERR;
	}
	if (fd < 0) {
		cli_err("%s: link: the device has no config interrupt", c->name);
		return RC_ERR;
	}
	fflush(stdout);
	fprintf(stderr, "link: ready\n");
	while (!net_stop && c->info.link_changes - base < c->count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			cli_err("%s: link: %" PRIu64 " of %" PRIu64
				" changes before the time-out", c->name,
				c->info.link_changes - base, c->count);
			return RC_TIMEOUT;
		}
		ret = poll(&p, 1, (int)(left < 200 ? left : 200));
		if (ret < 0 && errno != EINTR)
			return cli_errno(errno, "%s: link: poll", c->name);
		if (ret <= 0)
			continue;
		irqs++;
		ret = uvirtio_net_update_link(c->net);
		if (ret < 0)
			return cli_errno(ret, "%s: link", c->name);
		uvirtio_net_get_info(c->net, &c->info);
		printf("link: %s (change %" PRIu64 ")\n",
		       c->info.link_up ? "up" : "down",
		       c->info.link_changes - base);
		fflush(stdout);
	}
	printf("link changes: %" PRIu64 ", config interrupts: %" PRIu64 "\n",
	       c->info.link_changes - base, irqs);
	return RC_OK;
}

/* --rx-mode LIST: the UVIRTIO_NET_RX_* bits, or -EINVAL. */
static int parse_rx_mode(const char *s, unsigned int *flags)
{
	static const char *const names[] = {
		[VIRTIO_NET_CTRL_RX_PROMISC] = "promisc",
		[VIRTIO_NET_CTRL_RX_ALLMULTI] = "allmulti",
		[VIRTIO_NET_CTRL_RX_ALLUNI] = "alluni",
		[VIRTIO_NET_CTRL_RX_NOMULTI] = "nomulti",
		[VIRTIO_NET_CTRL_RX_NOUNI] = "nouni",
		[VIRTIO_NET_CTRL_RX_NOBCAST] = "nobcast",
	};
	const char *p = s;

	*flags = 0;
	if (!strcmp(s, "none"))
		return 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned int i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == len &&
			    !strncmp(p, names[i], len))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		*flags |= 1u << i;
		p += len;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;	/* a trailing comma */
	}
	return 0;
}

/* --mac-filter MAC[,MAC...] into c->uc / c->mc, or -EINVAL. */
static int parse_mac_filter(struct netctx *c, const char *s)
{
	char one[18];
	const char *p = s;

	c->n_uc = 0;
	c->n_mc = 0;
	if (!strcmp(s, "none"))
		return 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		uint8_t mac[6];

		if (len >= sizeof(one))
			return -EINVAL;
		memcpy(one, p, len);
		one[len] = '\0';
		if (parse_mac(one, mac))
			return -EINVAL;
		if (mac[0] & 1) {
			if (c->n_mc == UVIRTIO_NET_MAC_TABLE_MAX)
				return -EINVAL;
			memcpy(c->mc[c->n_mc++], mac, 6);
		} else {
			if (c->n_uc == UVIRTIO_NET_MAC_TABLE_MAX)
				return -EINVAL;
			memcpy(c->uc[c->n_uc++], mac, 6);
		}
		p += len;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;
	}
	return 0;
}

/* The filter options, on the control queue; an exit code. */
static int apply_filter(struct netctx *c)
{
	int ret;

	if (c->have_mac) {
		ret = uvirtio_net_set_mac(c->net, c->mac);
		if (ret)
			return cli_errno(ret, "net: --mac");
		uvirtio_net_get_info(c->net, &c->info);
	}
	if (c->have_filter) {
		ret = uvirtio_net_set_mac_filter(c->net, c->uc, c->n_uc,
						 c->mc, c->n_mc);
		if (ret)
			return cli_errno(ret, "net: --mac-filter");
	}
	if (c->have_rx_mode) {
		ret = uvirtio_net_set_rx_mode(c->net, c->rx_mode);
		if (ret)
			return cli_errno(ret, "net: --rx-mode");
	}
	return RC_OK;
}

int cmd_net(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dst", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, 'S' },
		{ "poll", no_argument, NULL, 'p' },
		{ "stall", required_argument, NULL, 'w' },
		{ "packed", no_argument, NULL, 'P' },
		{ "no-in-order", no_argument, NULL, 'O' },
		{ "loopback", no_argument, NULL, 'L' },
		{ "queue-pairs", required_argument, NULL, 'Q' },
		{ "gso", no_argument, NULL, 'G' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ctrl-rx", no_argument, NULL, 1000 },
		{ "rx-mode", required_argument, NULL, 1001 },
		{ "mac-filter", required_argument, NULL, 1002 },
		{ "mac", required_argument, NULL, 1003 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvirtio_net_params np = { 0 };
	struct netctx c = { .size = 64 };
	struct sigaction sa = { .sa_handler = on_signal };
	char *pos[2];
	int opt, npos = 0, rc, ret;

	memset(c.dst, 0xff, 6);
	while ((opt = getopt_long(argc, argv, "-n:s:t:d:S:w:Q:pPOLGvh", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 1:
			if (npos == 2)
				return cli_usage_err("net: unexpected argument '%s'",
						     optarg);
			pos[npos++] = optarg;
			break;
		case 'n':
			if (cli_parse_size(optarg, &c.count) || !c.count)
				return cli_usage_err("net: bad count '%s'", optarg);
			break;
		case 's':
			if (cli_parse_size(optarg, &c.size) || c.size > 65535)
				return cli_usage_err("net: bad size '%s'", optarg);
			break;
		case 't':
			if (cli_parse_size(optarg, &c.timeout) || !c.timeout ||
			    c.timeout > 86400)
				return cli_usage_err("net: bad timeout '%s' (1..86400 s)",
						     optarg);
			c.have_t = true;
			break;
		case 'd':
			if (parse_mac(optarg, c.dst))
				return cli_usage_err("net: bad --dst MAC '%s'", optarg);
			break;
		case 'S':
			if (parse_mac(optarg, c.src))
				return cli_usage_err("net: bad --src MAC '%s'", optarg);
			c.have_src = true;
			break;
		case 'p':
			c.poll = true;
			break;
		case 'P':
			c.packed = true;
			break;
		case 'O':
			c.no_in_order = true;
			break;
		case 'L':
			c.loopback = true;
			break;
		case 'G':
			c.gso = true;
			break;
		case 'Q':
			if (cli_parse_size(optarg, &c.pairs) || !c.pairs ||
			    c.pairs > 0x8000)
				return cli_usage_err("net: bad --queue-pairs '%s' (1..32768)",
						     optarg);
			break;
		case 'w':
			if (cli_parse_size(optarg, &c.stall) || c.stall > 3600)
				return cli_usage_err("net: bad --stall '%s' (0..3600 s)",
						     optarg);
			break;
		case 'v':
			c.verbose = true;
			break;
		case 1000:
			c.ctrl_rx = true;
			break;
		case 1001:
			if (parse_rx_mode(optarg, &c.rx_mode))
				return cli_usage_err("net: bad --rx-mode '%s'", optarg);
			c.have_rx_mode = c.ctrl_rx = true;
			break;
		case 1002:
			if (parse_mac_filter(&c, optarg))
				return cli_usage_err("net: bad --mac-filter '%s' (at most %u unicast and %u multicast MACs)",
						     optarg, UVIRTIO_NET_MAC_TABLE_MAX,
						     UVIRTIO_NET_MAC_TABLE_MAX);
			c.have_filter = c.ctrl_rx = true;
			break;
		case 1003:
			if (parse_mac(optarg, c.mac))
				return cli_usage_err("net: bad --mac '%s'", optarg);
			c.have_mac = c.ctrl_rx = true;
			break;
		case 'h':
			printf("%s\n", net_usage);
			return RC_OK;
		default:
			return cli_usage_err("%s", net_usage);
		}
	}
	if (npos != 2)
		return cli_usage_err("%s", net_usage);
	c.dev = pos[0];
	c.op = pos[1];
	if (strcmp(c.op, "info") && strcmp(c.op, "send") &&
	    strcmp(c.op, "recv") && strcmp(c.op, "macswap") &&
	    strcmp(c.op, "pingpong") && strcmp(c.op, "link"))
		return cli_usage_err("net: unknown operation '%s'", c.op);
	/* recv stops after 5 s of nothing unless told otherwise */
	if (!strcmp(c.op, "recv") && !c.have_t)
		c.timeout = 5;
	rc = cli_open_backend(c.dev, c.name, &c.be, NULL);
	if (rc)
		return rc;
	np.poll = c.poll;
	np.packed = c.packed;
	np.no_in_order = c.no_in_order;
	np.gso = c.gso;
	np.num_queue_pairs = (uint16_t)c.pairs;
	np.ctrl_rx = c.ctrl_rx;
	ret = uvirtio_net_open(c.be, &np, &c.net);
	if (ret) {
		rc = cli_open_err(ret, c.name, "net");
		goto out;
	}
	uvirtio_net_get_info(c.net, &c.info);
	c.qp = uvirtio_net_get_qp(c.net, 0);
	rc = apply_filter(&c);
	if (rc)
		goto out;
	if (!c.have_src) {
		if (c.info.has_mac)
			memcpy(c.src, c.info.mac, 6);
		else
			memcpy(c.src, "\x02\0\0\0\0\x01", 6);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!strcmp(c.op, "info")) {
		print_info(&c);
		rc = RC_OK;
	} else if (!strcmp(c.op, "send")) {
		rc = do_send(&c);
	} else if (!strcmp(c.op, "pingpong")) {
		rc = do_pingpong(&c);
	} else if (!strcmp(c.op, "link")) {
		rc = do_link(&c);
	} else {
		rc = do_recv(&c, !strcmp(c.op, "macswap"));
	}
out:
	uvirtio_net_close(c.net);
	uvirtio_backend_close(c.be);
	return rc;
}
