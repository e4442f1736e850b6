// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench_cmd.c - "uvirtio bench": random read / write benchmark of a
 * virtio-blk device through libuvirtio's asynchronous API
 * (uvirtio_blk_q_read/write + uvirtio_blk_q_reap).
 *
 * The loop is blkloop_run() (blkloop.c), shared with tools/bench/
 * blkbench.c: QD requests kept in flight on queue 0, a 0.5 s warm-up,
 * per-request latency from just before the enqueue to the reap that
 * returned it.
 *
 * Doorbells: the tool is linked with -Wl,--wrap=uvirtq_kick (tools/
 * Makefile), and __wrap_uvirtq_kick() counts the kicks that wrote the
 * notify register.  Interrupts: the fake device's counters (UVIRTIO_FAKE),
 * else the module's per-device counter over generic netlink; skipped when
 * that is not available.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>
#include <uvirtio/virtqueue.h>

#include "blkloop.h"
#include "cli.h"

#define BENCH_MAX_QD		1024u
#define BENCH_MAX_BS		(1u << 20)
#define BENCH_MAX_SECS		3600u
#define BENCH_WARMUP_NS		500000000ull

/* ---- doorbell counting (linked with -Wl,--wrap=uvirtq_kick) ---------- */

int __real_uvirtq_kick(struct uvirtq *vq);
int __wrap_uvirtq_kick(struct uvirtq *vq);

static uint64_t bench_doorbells;

int __wrap_uvirtq_kick(struct uvirtq *vq)
{
	int ret = __real_uvirtq_kick(vq);

	if (ret == 1)
		bench_doorbells++;
	return ret;
}

/* ---- helpers ---------------------------------------------------------- */

/* Strict decimal unsigned in [lo, hi]; 0 or -EINVAL. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/*
 * Interrupt count of the device: the fake's counter, the module's over
 * netlink for a PCI function, else what the queue's eventfd counted.  -1
 * when not available.
 */
static long long irq_count(struct uvirtio_fake *fake, uint32_t pci_addr,
			   struct uvirtio_blk_queue *q)
{
	struct cli_nl_dev *devs;
	unsigned int n, i;
	long long ret = -1;

	if (pci_addr == UINT32_MAX && q && uvirtio_blk_q_fd(q) >= 0) {
		struct uvirtio_blk_q_stats st;

		uvirtio_blk_q_get_stats(q, &st);
		return (long long)st.interrupts;
	}
	if (fake) {
		struct uvirtio_fake_stats st;

		uvirtio_fake_get_stats(fake, &st);
		return (long long)st.interrupts;
	}
	if (pci_addr == UINT32_MAX || cli_nl_list(&devs, &n))
		return -1;
	for (i = 0; i < n; i++)
		if (devs[i].pci_addr == pci_addr)
			ret = (long long)devs[i].interrupts;
	free(devs);
	return ret;
}

struct bench_opts {
	const char *dev;
	bool write, poll, json;
	unsigned int qd, bs, secs;
};

struct bench_result {
	uint64_t ios, ns, p50, p99, max, doorbells;
	uint64_t bounced;	/* bytes through the bounce pool */
	unsigned int qd_max;	/* most requests in flight at once */
	long long irqs;		/* -1: unknown */
	const char *irq_mode;	/* uvirtio_dev_irq_mode_name() of the queue */
};

static void print_result(const struct bench_opts *o, const char *bdf,
			 const struct bench_result *r)
{
	const char *rw = o->write ? "randwrite" : "randread";

	if (r->qd_max < o->qd)
		cli_err("%s: note: the ring filled up at %u requests in flight (the effective queue depth)",
			bdf, r->qd_max);
	double secs = (double)r->ns / 1e9;
	double iops = secs > 0 ? (double)r->ios / secs : 0;
	double mibs = iops * o->bs / 1048576.0;
	double db = r->ios ? (double)r->doorbells / (double)r->ios : 0;
	double irq = r->ios && r->irqs >= 0 ?
		     (double)r->irqs / (double)r->ios : -1;

	if (o->json) {
		printf("{\"bdf\": ");
		json_str(stdout, bdf);
		printf(", \"rw\": \"%s\", \"bs\": %u, \"qd\": %u, \"poll\": %s, "
		       "\"qd_effective\": %u, "
		       "\"secs\": %.3f, \"ios\": %" PRIu64 ", \"iops\": %.0f, "
		       "\"mib_per_s\": %.2f, \"latency_us\": {\"p50\": %.1f, "
		       "\"p99\": %.1f, \"max\": %.1f}, \"doorbells_per_io\": %.4f, "
		       "\"bounced_bytes\": %" PRIu64 ", \"irq_mode\": \"%s\", "
		       "\"interrupts_per_io\": ",
		       rw, o->bs, o->qd, o->poll ? "true" : "false", r->qd_max, secs,
		       r->ios, iops, mibs, r->p50 / 1000.0, r->p99 / 1000.0,
		       r->max / 1000.0, db, r->bounced, r->irq_mode);
		if (irq >= 0)
			printf("%.4f}\n", irq);
		else
			printf("null}\n");
		return;
	}
	printf("%s: %s bs=%u qd=%u, interrupts %s, %.3f s\n", bdf, rw, o->bs,
	       o->qd, r->irq_mode, secs);
	printf("  ios:        %" PRIu64 "\n", r->ios);
	printf("  iops:       %.0f\n", iops);
	printf("  bandwidth:  %.2f MiB/s\n", mibs);
	printf("  latency:    p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       r->p50 / 1000.0, r->p99 / 1000.0, r->max / 1000.0);
	printf("  doorbells:  %.4f per request\n", db);
	if (!strcmp(r->irq_mode, "poll"))
		printf("  interrupts: none (polling)\n");
	else if (irq >= 0)
		printf("  interrupts: %.4f per request (%s)\n", irq,
		       r->irq_mode);
	printf("  bounced:    %" PRIu64 " bytes\n", r->bounced);
	printf("result uvirtio bench %s bs=%u qd=%u ios=%" PRIu64
	       " secs=%.3f iops=%.0f mib_s=%.2f p50_us=%.1f p99_us=%.1f"
	       " max_us=%.1f db_per_io=%.4f", rw, o->bs, o->qd, r->ios, secs,
	       iops, mibs, r->p50 / 1000.0, r->p99 / 1000.0, r->max / 1000.0,
	       db);
	if (irq >= 0)
		printf(" irq_per_io=%.4f", irq);
	printf(" bounced=%" PRIu64 " irq_mode=%s", r->bounced, r->irq_mode);
	printf("\n");
}

/* The window's start and end: interrupts, doorbells, bounce-pool bytes. */
struct bench_mark {
	struct uvirtio_fake *fake;
	uint32_t pci_addr;
	struct uvirtio_blk_queue *q;
	long long irq0, irq1;
	uint64_t db0, db1;
	struct uvirtio_blk_q_stats st0, st1;
};

static void bench_mark(void *arg, bool start)
{
	struct bench_mark *m = arg;

	if (start) {
		m->irq0 = irq_count(m->fake, m->pci_addr, m->q);
		uvirtio_blk_q_get_stats(m->q, &m->st0);
		m->db0 = bench_doorbells;
	} else {
		m->db1 = bench_doorbells;
		m->irq1 = irq_count(m->fake, m->pci_addr, m->q);
		uvirtio_blk_q_get_stats(m->q, &m->st1);
	}
}

static int run(const struct bench_opts *o)
{
	const struct timespec reap_to = { 10, 0 };
	struct uvirtio_blk_params p;
	struct uvirtio_blk_info info;
	struct uvirtio_backend *be = NULL;
	struct uvirtio_fake *fake = NULL;
	struct uvirtio_blk *blk = NULL;
	struct blkloop_params lp = { 0 };
	struct blkloop_result lr;
	struct bench_mark m = { 0 };
	struct bench_result r;
	uint32_t pci_addr = 0;
	unsigned char *buf = NULL;
	char bdf[CLI_NAME_MAX];
	int rc, ret;

	memset(&r, 0, sizeof(r));
	rc = cli_open_backend(o->dev, bdf, &be, &fake);
	if (rc)
		return rc;
	/* interrupts are counted by the module: PCI functions only */
	{
		char canon[16];

		if (cli_parse_bdf(bdf, canon, &pci_addr))
			pci_addr = UINT32_MAX;
	}
	memset(&p, 0, sizeof(p));
	p.transport = UVIRTIO_TRANSPORT_AUTO;
	p.num_queues = 1;
	p.poll = o->poll;
	ret = uvirtio_blk_open(be, &p, &blk);
	if (ret) {
		rc = cli_open_err(ret, bdf, "blk");
		goto out;
	}
	uvirtio_blk_get_info(blk, &info);
	r.irq_mode = uvirtio_dev_irq_mode_name(uvirtio_blk_irq_mode(blk));
	rc = RC_USAGE;
	if (info.blk_size && o->bs % info.blk_size) {
		cli_err("%s: block size %u is not a multiple of the device's logical block size (%u)",
			bdf, o->bs, info.blk_size);
		goto out;
	}
	if (info.max_transfer && o->bs > info.max_transfer) {
		cli_err("%s: block size %u exceeds the device's max transfer (%" PRIu64 ")",
			bdf, o->bs, info.max_transfer);
		goto out;
	}
	lp.nblocks = info.capacity / o->bs;
	if (!lp.nblocks) {
		cli_err("%s: device smaller than one %u-byte block", bdf, o->bs);
		goto out;
	}
	rc = RC_ERR;
	if (o->write && info.read_only) {
		cli_err("%s: device is read-only", bdf);
		goto out;
	}
	lp.q = uvirtio_blk_get_queue(blk, 0);
	if (!lp.q) {
		cli_err("%s: no request queue", bdf);
		goto out;
	}
	ret = uvirtio_blk_alloc_buf(blk, (size_t)o->qd * o->bs, (void **)&buf);
	if (ret) {
		rc = cli_errno(ret, "%s: DMA buffer of %zu bytes", bdf,
			       (size_t)o->qd * o->bs);
		goto out;
	}
	memset(buf, 0xa5, (size_t)o->qd * o->bs);
	m = (struct bench_mark){ .fake = fake, .pci_addr = pci_addr, .q = lp.q };
	lp.buf = buf;
	lp.qd = o->qd;
	lp.bs = o->bs;
	lp.write = o->write;
	lp.warmup_ns = BENCH_WARMUP_NS;
	lp.window_ns = (uint64_t)o->secs * 1000000000ull;
	lp.seed = 0x5eed;
	lp.reap_timeout = &reap_to;
	lp.mark = bench_mark;
	lp.arg = &m;
	ret = blkloop_run(&lp, &lr);
	if (ret == -ETIMEDOUT && !strcmp(lr.what, "reap")) {
		rc = cli_errno(ETIMEDOUT, "%s: no completion in %ld s", bdf,
			       (long)reap_to.tv_sec);
		goto out;
	}
	if (ret) {
		rc = cli_errno(ret, "%s: %s", bdf, lr.what);
		goto out;
	}
	r.ios = lr.ios;
	r.ns = lr.ns;
	r.p50 = lr.p50_ns;
	r.p99 = lr.p99_ns;
	r.max = lr.max_ns;
	r.qd_max = lr.qd_max;
	r.doorbells = m.db1 - m.db0;
	r.bounced = m.st1.bounced_bytes - m.st0.bounced_bytes;
	r.irqs = m.irq0 >= 0 && m.irq1 >= m.irq0 ? m.irq1 - m.irq0 : -1;
	print_result(o, bdf, &r);
	rc = RC_OK;
out:
	if (buf)
		uvirtio_blk_free_buf(blk, buf);
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	return rc;
}

static const char bench_usage[] =
	"usage: uvirtio bench BDF [--rw randread|randwrite] [--qd N] [--bs BYTES]\n"
	"                     [-t SECONDS] [--poll] [--json]";

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rw", required_argument, NULL, 'w' },
		{ "qd", required_argument, NULL, 'q' },
		{ "bs", required_argument, NULL, 'b' },
		{ "time", required_argument, NULL, 't' },
		{ "poll", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { .qd = 1, .bs = 4096, .secs = 5 };
	uint64_t bs;
	int opt;

	while ((opt = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			if (!strcmp(optarg, "randread"))
				o.write = false;
			else if (!strcmp(optarg, "randwrite"))
				o.write = true;
			else
				return cli_usage_err("bench: bad --rw '%s' (randread or randwrite)",
						     optarg);
			break;
		case 'q':
			if (parse_uint(optarg, 1, BENCH_MAX_QD, &o.qd))
				return cli_usage_err("bench: bad --qd '%s' (1..%u)",
						     optarg, BENCH_MAX_QD);
			break;
		case 'b':
			if (cli_parse_size(optarg, &bs) || !bs || bs % 512 ||
			    bs > BENCH_MAX_BS)
				return cli_usage_err("bench: bad --bs '%s' (a multiple of 512, at most 1M)",
						     optarg);
			o.bs = (unsigned int)bs;
			break;
		case 't':
			if (parse_uint(optarg, 1, BENCH_MAX_SECS, &o.secs))
				return cli_usage_err("bench: bad -t '%s' (1..%u seconds)",
						     optarg, BENCH_MAX_SECS);
			break;
		case 'p':
			o.poll = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			printf("%s\n", bench_usage);
			return RC_OK;
		default:
			return cli_usage_err("%s", bench_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage_err("%s", bench_usage);
	o.dev = argv[optind];
	return run(&o);
}
