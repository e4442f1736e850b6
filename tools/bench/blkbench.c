// SPDX-License-Identifier: BSD-3-Clause
/*
 * blkbench - 4 KiB random read / write benchmark of libuvirtio's
 * virtio-blk driver through the asynchronous API (uvirtio_blk_q_*).
 *
 *   blkbench -d BDF -w randread|randwrite [-q QD] [-t SECS] [--poll]
 *            [--irq-follow] [--label NAME] [--count-syscalls[=OPS]]
 *
 * --irq-follow: interrupt mode with UVIRTIO_BLK_WAIT_FOLLOW_CPU (the
 * queue's interrupt steered to this thread's CPU), as the fio engine's
 * default uvirtio_irq_follow=1.
 *
 * Keeps QD requests in flight on queue 0 for SECS seconds (after a short
 * warm-up) and prints one line:
 *
 *   result NAME OP qd=N ios=.. iops=.. p50_us=.. p99_us=.. doorbells=..
 *          irqs=.. db_per_io=.. irq_per_io=.. syscalls_per_io=..
 *
 * Latency is measured per request, from just before it is enqueued to
 * the reap that returned it (CLOCK_MONOTONIC), and sorted for p50/p99.
 * Doorbells: the program is linked with -Wl,--wrap=uvirtq_kick, so every
 * kick the library makes goes through __wrap_uvirtq_kick(), which counts
 * the calls that returned 1 (doorbell written).  Interrupts: the sum of the
 * per-vector counters of /sys/kernel/debug/uvirtio/BDF/stats, read before
 * and after the measured window.  --count-syscalls runs the measurement in
 * a child traced with ptrace(PTRACE_SYSCALL) and counts the system calls
 * made inside the measured window (the window is delimited by two
 * getppid() markers).  Such a run does OPS requests (default 2000) and
 * makes no clock_gettime() calls of its own (no latency samples), so every
 * syscall counted comes from the library; tracing slows every syscall
 * down, so its IOPS are not meaningful and its line is tagged "syscount".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uvirtio/blk.h>
#include <uvirtio/kmod.h>
#include <uvirtio/virtqueue.h>

#define BS 4096u
#define MAX_QD 256u
#define MAX_SAMPLES (8u << 20)

/* ---- doorbell counting (link with -Wl,--wrap=uvirtq_kick) ------------ */

int __real_uvirtq_kick(struct uvirtq *vq);
int __wrap_uvirtq_kick(struct uvirtq *vq);

static uint64_t g_kicks, g_doorbells;

int __wrap_uvirtq_kick(struct uvirtq *vq)
{
	int ret = __real_uvirtq_kick(vq);

	g_kicks++;
	if (ret == 1)
		g_doorbells++;
	return ret;
}

/* ---- helpers ---------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

/* Sum of "interrupts N" over all vectors in the debugfs stats file. */
static long long read_irqs(const char *bdf)
{
	char path[128], line[256];
	long long sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/uvirtio/%s/stats", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " interrupts ");

		if (p)
			sum += strtoll(p + 12, NULL, 10);
	}
	fclose(f);
	return sum;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the benchmark ---------------------------------------------------- */

struct opts {
	const char *bdf, *label;
	bool write, poll, syscount, follow;
	unsigned int qd;
	double secs, warmup;
	uint64_t nops;
};

static int run(const struct opts *o)
{
	struct uvirtio_blk_completion comp[MAX_QD];
	uint64_t t_sub[MAX_QD];
	struct uvirtio_blk_params p = { .poll = o->poll };
	struct uvirtio_blk_info info;
	struct uvirtio_backend *be = NULL;
	struct uvirtio_blk *blk = NULL;
	struct uvirtio_blk_queue *q;
	struct rusage ru0, ru1;
	unsigned int free_slots[MAX_QD], nfree = 0, i;
	uint32_t *lat = NULL;
	uint64_t nblocks, nlat = 0, ios = 0, db0 = 0, t_start = 0, t_end, deadline;
	long long irq0 = 0, irq1;
	bool measuring = false;
	char *buf = NULL;
	int ret;

	ret = uvirtio_kmod_open(o->bdf, NULL, &be);
	if (ret) {
		fprintf(stderr, "blkbench: open %s: %s\n", o->bdf, strerror(-ret));
		return 1;
	}
	ret = uvirtio_blk_open(be, &p, &blk);
	if (ret) {
		fprintf(stderr, "blkbench: blk_open: %s\n", strerror(-ret));
		goto out;
	}
	uvirtio_blk_get_info(blk, &info);
	q = uvirtio_blk_get_queue(blk, 0);
	nblocks = info.capacity / BS;
	if (!q || nblocks == 0) {
		fprintf(stderr, "blkbench: no queue or empty disk\n");
		ret = -EINVAL;
		goto out;
	}
	if (o->follow)
		uvirtio_blk_q_set_wait(q, 0, UVIRTIO_BLK_WAIT_FOLLOW_CPU);
	ret = uvirtio_blk_alloc_buf(blk, (size_t)o->qd * BS, (void **)&buf);
	if (ret) {
		fprintf(stderr, "blkbench: alloc_buf: %s\n", strerror(-ret));
		goto out;
	}
	memset(buf, 0xa5, (size_t)o->qd * BS);
	lat = malloc(sizeof(*lat) * MAX_SAMPLES);
	if (!lat) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < o->qd; i++)
		free_slots[nfree++] = i;

	t_end = now_ns() + (uint64_t)((o->warmup + o->secs) * 1e9);
	deadline = now_ns() + (uint64_t)(o->warmup * 1e9);
	for (;;) {
		/* Syscall-counting runs make no clock calls of their own: they
		 * run a fixed number of requests, so every syscall counted is
		 * the library's. */
		uint64_t now = o->syscount ? 0 : now_ns();
		int n;

		if (!measuring && (o->syscount || now >= deadline)) {
			/* Start of the measured window. */
			measuring = true;
			irq0 = read_irqs(o->bdf);
			getrusage(RUSAGE_SELF, &ru0);
			db0 = g_doorbells;
			t_start = now_ns();
			if (o->syscount)
				syscall(SYS_getppid);
			now = o->syscount ? 0 : t_start;
		}
		if (o->syscount ? ios >= o->nops : now >= t_end)
			break;
		while (nfree) {
			unsigned int s = free_slots[--nfree];
			uint64_t off = (xorshift() % nblocks) * BS;
			void *b = buf + (size_t)s * BS;

			t_sub[s] = o->syscount ? 0 : now_ns();
			ret = o->write ?
			      uvirtio_blk_q_write(q, off, b, BS, (void *)(uintptr_t)(s + 1)) :
			      uvirtio_blk_q_read(q, off, b, BS, (void *)(uintptr_t)(s + 1));
			if (ret) {
				fprintf(stderr, "blkbench: enqueue: %s\n", strerror(-ret));
				goto out;
			}
		}
		/* Submits what was enqueued (one kick), then waits for >= 1. */
		n = uvirtio_blk_q_reap(q, 1, o->qd, comp, NULL);
		if (n < 0) {
			ret = n;
			fprintf(stderr, "blkbench: reap: %s\n", strerror(-ret));
			goto out;
		}
		now = o->syscount ? 0 : now_ns();
		for (i = 0; i < (unsigned int)n; i++) {
			unsigned int s = (unsigned int)(uintptr_t)comp[i].user_data - 1;

			if (comp[i].ret) {
				ret = comp[i].ret;
				fprintf(stderr, "blkbench: I/O error: %s\n", strerror(-ret));
				goto out;
			}
			if (measuring) {
				if (nlat < MAX_SAMPLES)
					lat[nlat++] = (uint32_t)((now - t_sub[s]) / 10);
				ios++;
			}
			free_slots[nfree++] = s;
		}
	}
	if (o->syscount)
		syscall(SYS_getppid);
	t_end = now_ns();
	getrusage(RUSAGE_SELF, &ru1);
	irq1 = read_irqs(o->bdf);
	{
		double secs = (double)(t_end - t_start) / 1e9;
		uint64_t db = g_doorbells - db0;
		long long irqs = irq0 >= 0 && irq1 >= 0 ? irq1 - irq0 : -1;
		double p50 = 0, p99 = 0;

		qsort(lat, nlat, sizeof(*lat), cmp_u32);
		if (nlat) {
			p50 = lat[(nlat - 1) * 50 / 100] / 100.0;
			p99 = lat[(nlat - 1) * 99 / 100] / 100.0;
		}
		printf("result %s %s qd=%u ios=%llu secs=%.3f iops=%.0f "
		       "p50_us=%.1f p99_us=%.1f doorbells=%llu irqs=%lld "
		       "db_per_io=%.4f irq_per_io=%.4f vcsw=%ld ivcsw=%ld%s\n",
		       o->label, o->write ? "randwrite" : "randread", o->qd,
		       (unsigned long long)ios, secs, ios / secs, p50, p99,
		       (unsigned long long)db, irqs,
		       ios ? (double)db / ios : 0.0,
		       ios && irqs >= 0 ? (double)irqs / ios : -1.0,
		       ru1.ru_nvcsw - ru0.ru_nvcsw, ru1.ru_nivcsw - ru0.ru_nivcsw,
		       o->syscount ? " syscount" : "");
		fflush(stdout);
		/* The tracer needs the op count: pass it in a marker-free way. */
		if (o->syscount) {
			FILE *f = fopen("/tmp/blkbench.ios", "w");

			if (f) {
				fprintf(f, "%llu\n", (unsigned long long)ios);
				fclose(f);
			}
		}
	}
	ret = 0;
out:
	/* Let in-flight requests finish before the buffers go away. */
	if (blk) {
		struct uvirtio_blk_queue *q0 = uvirtio_blk_get_queue(blk, 0);
		struct timespec to = { 1, 0 };

		while (q0 && uvirtio_blk_q_in_flight(q0) &&
		       uvirtio_blk_q_reap(q0, 1, MAX_QD, comp, &to) > 0)
			;
	}
	free(lat);
	if (buf)
		uvirtio_blk_free_buf(blk, buf);
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	return ret ? 1 : 0;
}

/* ---- syscall counting with ptrace ------------------------------------- */

static int traced(const struct opts *o)
{
	unsigned long long counts[512] = { 0 };
	unsigned long long total = 0, ios = 0;
	int status, markers = 0;
	bool in_syscall = false;
	pid_t pid;
	FILE *f;

	unlink("/tmp/blkbench.ios");
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(126);
		raise(SIGSTOP);
		_exit(run(o));
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
		fprintf(stderr, "blkbench: tracee did not stop\n");
		return 1;
	}
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD);
	for (int sig = 0;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) < 0)
			break;
		sig = 0;
		if (waitpid(pid, &status, 0) < 0)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (!WIFSTOPPED(status))
			continue;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			struct user_regs_struct regs;

			in_syscall = !in_syscall;
			if (!in_syscall)
				continue;	/* exit stop */
			if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
				continue;
			if (regs.orig_rax == SYS_getppid) {
				markers++;
				continue;
			}
			if (markers == 1) {
				total++;
				if (regs.orig_rax < 512)
					counts[regs.orig_rax]++;
			}
			continue;
		}
		sig = WSTOPSIG(status);	/* deliver it */
	}
	f = fopen("/tmp/blkbench.ios", "r");
	if (f) {
		if (fscanf(f, "%llu", &ios) != 1)
			ios = 0;
		fclose(f);
	}
	printf("syscalls %s %s qd=%u ios=%llu syscalls=%llu syscalls_per_io=%.4f",
	       o->label, o->write ? "randwrite" : "randread", o->qd, ios, total,
	       ios ? (double)total / ios : -1.0);
	for (int i = 0; i < 512; i++)
		if (counts[i])
			printf(" nr%d=%llu", i, counts[i]);
	printf("\n");
	return ios ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: blkbench -d BDF -w randread|randwrite [-q QD] "
		"[-t SECS] [--poll] [--irq-follow] [--label NAME] "
		"[--count-syscalls[=OPS]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "poll", no_argument, NULL, 'p' },
		{ "irq-follow", no_argument, NULL, 'f' },
		{ "label", required_argument, NULL, 'l' },
		{ "count-syscalls", optional_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .qd = 1, .secs = 5, .warmup = 0.5, .nops = 2000 };
	int c;

	while ((c = getopt_long(argc, argv, "d:w:q:t:", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o.bdf = optarg; break;
		case 'w':
			if (!strcmp(optarg, "randwrite"))
				o.write = true;
			else if (strcmp(optarg, "randread"))
				usage();
			break;
		case 'q': o.qd = (unsigned int)atoi(optarg); break;
		case 't': o.secs = atof(optarg); break;
		case 'p': o.poll = true; break;
		case 'f': o.follow = true; break;
		case 'l': o.label = optarg; break;
		case 'c':
			o.syscount = true;
			if (optarg)
				o.nops = strtoull(optarg, NULL, 0);
			break;
		default: usage();
		}
	}
	if (!o.bdf || o.qd < 1 || o.qd > MAX_QD || o.secs <= 0)
		usage();
	if (!o.label)
		o.label = o.poll ? "uvirtio-poll" : "uvirtio-irq";
	return o.syscount ? traced(&o) : run(&o);
}
