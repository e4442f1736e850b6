// SPDX-License-Identifier: BSD-3-Clause
/*
 * pktio - the kernel side of the net tests: AF_PACKET frames on a
 * virtio_net interface, in the format "uvirtio net" sends and checks
 * (EtherType 0x88b5, 32-bit big-endian sequence number, then bytes
 * (seq + i) & 0xff).  A guest helper (scripts/guest/net-tests), built
 * static.
 *
 *   pktio send IFACE -n N -s SIZE -d MAC [-q SEQ] [-b] [-r]
 *       send N frames to MAC; -b: PACKET_QDISC_BYPASS; -r: retry a send
 *       the kernel refused (the device's TX ring is full) instead of
 *       counting it dropped.  Prints "sent N dropped D rate R retries T"
 *       (D: sends refused, ENOBUFS/EAGAIN; R: frames/s the socket took)
 *   pktio recv IFACE -n N -t SECONDS [-q SEQ]
 *       receive until the N test frames numbered SEQ.. or the time-out;
 *       prints "received N good G bad B duplicates D missing M reordered
 *       R other O rate F sockdrops S" (F: frames/s from the first good
 *       frame to the last; S: frames the socket dropped, PACKET_STATISTICS);
 *       exit 0 only when all N came, intact, once
 *   pktio pingpong IFACE -n N -s SIZE -d MAC -t SECONDS [-w WINDOW]
 *       send windows of frames to MAC and wait for each to come back
 *       with the MACs swapped (a reflector: uvirtio net macswap); exit 0
 *       only if every frame came back intact, in order
 *   pktio rate IFACE -s SIZE -d MAC -t SECONDS [-b]
 *       send as fast as the socket takes frames; prints "frames/s R"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETYPE	0x88b5
#define HDR	18

struct opts {
	const char *op, *ifname;
	uint64_t n, size, timeout, window, seq;
	uint8_t dst[6], me[6];
	int bypass;
	int retry;
	int fd, ifindex;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static void fill(const struct opts *o, uint8_t *f, uint32_t len,
		 uint32_t seq)
{
	uint32_t i;

	memcpy(f, o->dst, 6);
	memcpy(f + 6, o->me, 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	f[14] = (uint8_t)(seq >> 24);
	f[15] = (uint8_t)(seq >> 16);
	f[16] = (uint8_t)(seq >> 8);
	f[17] = (uint8_t)seq;
	for (i = HDR; i < len; i++)
		f[i] = (uint8_t)(seq + i);
}

/* 1 good (seq set), -1 damaged */
static int check(const uint8_t *f, ssize_t len, uint32_t *seq)
{
	uint32_t s;
	ssize_t i;

	if (len < HDR || f[12] != (ETYPE >> 8) || f[13] != (ETYPE & 0xff))
		return -1;
	s = (uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 |
	    (uint32_t)f[16] << 8 | f[17];
	for (i = HDR; i < len; i++)
		if (f[i] != (uint8_t)(s + (uint32_t)i))
			return -1;
	*seq = s;
	return 1;
}

static int open_sock(struct opts *o)
{
	struct sockaddr_ll sll = { 0 };
	struct ifreq ifr = { 0 };
	int big = 16 << 20, one = 1;

	o->fd = socket(AF_PACKET, SOCK_RAW, htons(ETYPE));
	if (o->fd < 0) {
		perror("pktio: socket");
		return -1;
	}
	o->ifindex = (int)if_nametoindex(o->ifname);
	if (!o->ifindex) {
		fprintf(stderr, "pktio: no interface %s\n", o->ifname);
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->ifname);
	if (ioctl(o->fd, SIOCGIFHWADDR, &ifr)) {
		perror("pktio: SIOCGIFHWADDR");
		return -1;
	}
	memcpy(o->me, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETYPE);
	sll.sll_ifindex = o->ifindex;
	if (bind(o->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("pktio: bind");
		return -1;
	}
	setsockopt(o->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(o->fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (o->bypass &&
	    setsockopt(o->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one))) {
		perror("pktio: PACKET_QDISC_BYPASS");
		return -1;
	}
	return 0;
}

/* One frame out; 1 sent, 0 refused (queue full), -1 error. */
static int tx(struct opts *o, uint8_t *f, size_t len)
{
	for (;;) {
		ssize_t r = send(o->fd, f, len, 0);

		if (r == (ssize_t)len)
			return 1;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == ENOBUFS || errno == EAGAIN))
			return 0;
		perror("pktio: send");
		return -1;
	}
}

/* One incoming test frame within @ms: length, 0 on time-out, -1 error. */
static ssize_t rx(struct opts *o, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = o->fd, .events = POLLIN };
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);
	ssize_t r;
	int pr;

	pr = poll(&p, 1, ms < 0 ? 0 : ms);
	if (pr <= 0)
		return pr < 0 && errno != EINTR ? -1 : 0;
	r = recvfrom(o->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from,
		     &fl);
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	if (from.sll_pkttype == PACKET_OUTGOING)
		return 0;
	return r;
}

static int do_send(struct opts *o)
{
	uint8_t *f = malloc(o->size);
	uint64_t i, sent = 0, dropped = 0, retries = 0;
	double t0 = now_s(), t;
	int r;

	for (i = 0; i < o->n; i++) {
		fill(o, f, (uint32_t)o->size, (uint32_t)(o->seq + i));
		r = tx(o, f, o->size);
		/* -r: a full queue is waited out, not a drop */
		while (!r && o->retry) {
			retries++;
			usleep(20);
			r = tx(o, f, o->size);
		}
		if (r < 0)
			return 1;
		if (r)
			sent++;
		else
			dropped++;
	}
	t = now_s() - t0;
	printf("sent %" PRIu64 " dropped %" PRIu64 " rate %.0f retries %" PRIu64
	       "\n", sent, dropped, t > 0 ? (double)sent / t : 0.0, retries);
	free(f);
	return 0;
}

/* Frames the socket itself dropped (receive queue full). */
static unsigned int sock_drops(struct opts *o)
{
	struct tpacket_stats st = { 0 };
	socklen_t l = sizeof(st);

	if (getsockopt(o->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l))
		return 0;
	return st.tp_drops;
}

static int do_recv(struct opts *o)
{
	uint64_t got = 0, good = 0, bad = 0, reord = 0, dups = 0, other = 0;
	int64_t end = now_ms() + (int64_t)o->timeout * 1000;
	uint32_t seq, top = 0;
	uint8_t buf[65536], *seen = calloc((o->n + 7) / 8, 1);
	double t_first = 0, t_last = 0;
	ssize_t r;

	if (!seen)
		return 1;

	printf("ready\n");
	fflush(stdout);
	while (good < o->n && now_ms() < end) {
		r = rx(o, buf, sizeof(buf), (int)(end - now_ms()));
		if (r < 0) {
			perror("pktio: recv");
			return 1;
		}
		if (!r)
			continue;
		got++;
		if (r > (ssize_t)sizeof(buf) || check(buf, r, &seq) < 0) {
			bad++;
			continue;
		}
		if (seq < o->seq || seq - o->seq >= o->n) {
			other++;	/* not one of ours: an earlier run's */
			continue;
		}
		seq -= (uint32_t)o->seq;
		if (seen[seq / 8] & (1u << (seq % 8))) {
			dups++;
			continue;
		}
		seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		/* QEMU's queues may reorder under back-pressure */
		if (good && seq < top)
			reord++;
		if (!good || seq > top)
			top = seq;
		t_last = now_s();
		if (!good)
			t_first = t_last;
		good++;
	}
	printf("received %" PRIu64 " good %" PRIu64 " bad %" PRIu64
	       " duplicates %" PRIu64 " missing %" PRIu64 " reordered %" PRIu64
	       " other %" PRIu64 " rate %.0f sockdrops %u\n", got, good, bad,
	       dups, o->n - good, reord, other, good > 1 && t_last > t_first ?
	       (double)(good - 1) / (t_last - t_first) : 0.0, sock_drops(o));
	free(seen);
	return good == o->n && !bad && !dups ? 0 : 1;
}

static int do_pingpong(struct opts *o)
{
	uint64_t done = 0, back = 0, bad = 0, stray = 0;
	int64_t end = now_ms() + (int64_t)o->timeout * 1000;
	uint8_t *f = malloc(o->size), buf[65536];
	uint32_t seq;
	ssize_t r;

	while (done < o->n && now_ms() < end) {
		uint64_t w = o->n - done < o->window ? o->n - done : o->window;
		uint64_t i, want = done;

		for (i = 0; i < w; i++) {
			fill(o, f, (uint32_t)o->size, (uint32_t)(done + i));
			while (!tx(o, f, o->size))
				usleep(100);
		}
		/* every frame of the window back, in order, MACs swapped */
		while (want < done + w && now_ms() < end) {
			r = rx(o, buf, sizeof(buf), (int)(end - now_ms()));
			if (r < 0) {
				perror("pktio: recv");
				return 1;
			}
			if (!r)
				continue;
			if (r != (ssize_t)o->size || check(buf, r, &seq) < 0 ||
			    memcmp(buf, o->me, 6) || memcmp(buf + 6, o->dst, 6)) {
				bad++;
				continue;
			}
			if (seq != want) {
				stray++;
				continue;
			}
			want++;
			back++;
		}
		done += w;
	}
	printf("pingpong sent %" PRIu64 " back %" PRIu64 " bad %" PRIu64
	       " out-of-order %" PRIu64 "\n", done, back, bad, stray);
	free(f);
	return back == o->n && !bad && !stray ? 0 : 1;
}

static int do_rate(struct opts *o)
{
	uint8_t *f = malloc(o->size);
	int64_t t0 = now_ms(), end = t0 + (int64_t)o->timeout * 1000, t;
	uint64_t sent = 0, refused = 0;
	int r;

	fill(o, f, (uint32_t)o->size, 0);
	while ((t = now_ms()) < end) {
		r = tx(o, f, o->size);
		if (r < 0)
			return 1;
		if (r)
			sent++;
		else
			refused++;
	}
	printf("frames/s %.0f sent %" PRIu64 " refused %" PRIu64 "\n",
	       (double)sent * 1000.0 / (double)(t - t0), sent, refused);
	free(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 1, .size = 64, .timeout = 10, .window = 32 };
	int c;

	memset(o.dst, 0xff, 6);
	if (argc < 3) {
		fprintf(stderr, "usage: pktio send|recv|pingpong|rate IFACE [options]\n");
		return 2;
	}
	o.op = argv[1];
	o.ifname = argv[2];
	optind = 3;
	while ((c = getopt(argc, argv, "n:s:d:t:w:q:br")) != -1) {
		switch (c) {
		case 'n': o.n = strtoull(optarg, NULL, 0); break;
		case 's': o.size = strtoull(optarg, NULL, 0); break;
		case 't': o.timeout = strtoull(optarg, NULL, 0); break;
		case 'w': o.window = strtoull(optarg, NULL, 0); break;
		case 'q': o.seq = strtoull(optarg, NULL, 0); break;
		case 'b': o.bypass = 1; break;
		case 'r': o.retry = 1; break;
		case 'd':
			if (parse_mac(optarg, o.dst)) {
				fprintf(stderr, "pktio: bad MAC '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (o.size < HDR || o.size > 65535 || !o.window) {
		fprintf(stderr, "pktio: bad size or window\n");
		return 2;
	}
	if (open_sock(&o))
		return 1;
	if (!strcmp(o.op, "send"))
		return do_send(&o);
	if (!strcmp(o.op, "recv"))
		return do_recv(&o);
	if (!strcmp(o.op, "pingpong"))
		return do_pingpong(&o);
	if (!strcmp(o.op, "rate"))
		return do_rate(&o);
	fprintf(stderr, "pktio: unknown operation '%s'\n", o.op);
	return 2;
}
