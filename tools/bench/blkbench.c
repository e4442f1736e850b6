// SPDX-License-Identifier: BSD-3-Clause
/*
 * blkbench - 4 KiB random read / write benchmark of libuvirtio's
 * virtio-blk driver through the asynchronous API (uvirtio_blk_q_*).
 *
 *   blkbench -d DEVICE -w randread|randwrite [-q QD] [-t SECS] [--poll]
 *            [--irq-follow] [--label NAME] [--count-syscalls[=OPS]]
 *
 * DEVICE is a libuvirtio device string: a PCI function bound to uvirtio
 * (a bare BDF or pci:BDF) or to vfio-pci (vfio:BDF).
 *
 * --irq-follow: interrupt mode with UVIRTIO_BLK_WAIT_FOLLOW_CPU (the
 * queue's interrupt steered to this thread's CPU), as the fio engine's
 * default uvirtio_irq_follow=1.
 *
 * Keeps QD requests in flight on queue 0 for SECS seconds (after a short
 * warm-up; the loop is blkloop_run() of tools/blkloop.c, shared with
 * `uvirtio bench`) and prints one line:
 *
 *   result NAME OP qd=N ios=.. iops=.. p50_us=.. p99_us=.. doorbells=..
 *          irqs=.. db_per_io=.. irq_per_io=.. syscalls_per_io=..
 *
 * Latency is measured per request, from just before it is enqueued to
 * the reap that returned it (CLOCK_MONOTONIC), and sorted for p50/p99.
 * Doorbells: the program is linked with -Wl,--wrap=uvirtq_kick, so every
 * kick the library makes goes through __wrap_uvirtq_kick(), which counts
 * the calls that returned 1 (doorbell written).  Interrupts: the sum of the
 * per-vector counters of /sys/kernel/debug/uvirtio/BDF/stats (uvirtio.ko)
 * or of the function's vfio-msix lines in /proc/interrupts (VFIO), read
 * before and after the measured window.  --count-syscalls runs the measurement in
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
#include <uvirtio/open.h>
#include <uvirtio/virtqueue.h>

#include "../blkloop.h"

#define BS 4096u
#define MAX_QD 256u

/* ---- doorbell counting (link with -Wl,--wrap=uvirtq_kick) ------------ */

int __real_uvirtq_kick(struct uvirtq *vq);
int __wrap_uvirtq_kick(struct uvirtq *vq);

static uint64_t g_doorbells;

int __wrap_uvirtq_kick(struct uvirtq *vq)
{
	int ret = __real_uvirtq_kick(vq);

	if (ret == 1)
		g_doorbells++;
	return ret;
}

/* ---- helpers ---------------------------------------------------------- */

/* VFIO: the per-CPU counts of the lines "vfio-msix[N](BDF)". */
static long long read_vfio_irqs(const char *bdf)
{
	char name[64], line[4096];
	long long sum = 0;
	FILE *f;

	snprintf(name, sizeof(name), "](%s)", bdf);
	f = fopen("/proc/interrupts", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (!strstr(line, "vfio-msix[") || !strstr(line, name))
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		for (p++;; p = end) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

/*
 * Interrupts the function took so far: the sum of "interrupts N" over all
 * vectors in the module's debugfs stats file, or VFIO's /proc/interrupts
 * lines.  -1 where neither is readable.
 */
static long long read_irqs(const char *dev)
{
	char path[128], line[256];
	long long sum = 0;
	FILE *f;

	if (!strncmp(dev, "vfio:", 5))
		return read_vfio_irqs(dev + 5);
	if (!strncmp(dev, "pci:", 4))
		dev += 4;
	snprintf(path, sizeof(path), "/sys/kernel/debug/uvirtio/%s/stats", dev);
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

/* ---- the benchmark ---------------------------------------------------- */

struct opts {
	const char *bdf, *label;
	bool write, poll, syscount, follow;
	unsigned int qd;
	double secs, warmup;
	uint64_t nops;
};

/* The window's start and end: interrupts, rusage, doorbells, markers. */
struct bb_mark {
	const struct opts *o;
	long long irq0, irq1;
	struct rusage ru0, ru1;
	uint64_t db0, db1;
};

static void bb_mark(void *arg, bool start)
{
	struct bb_mark *m = arg;

	if (start) {
		m->irq0 = read_irqs(m->o->bdf);
		getrusage(RUSAGE_SELF, &m->ru0);
		m->db0 = g_doorbells;
		if (m->o->syscount)
			syscall(SYS_getppid);	/* the tracer's marker */
	} else {
		if (m->o->syscount)
			syscall(SYS_getppid);
		m->db1 = g_doorbells;
		getrusage(RUSAGE_SELF, &m->ru1);
		m->irq1 = read_irqs(m->o->bdf);
	}
}

static int run(const struct opts *o)
{
	struct uvirtio_blk_params p = { .poll = o->poll };
	struct uvirtio_blk_info info;
	struct uvirtio_backend *be = NULL;
	struct uvirtio_blk *blk = NULL;
	struct blkloop_params lp = { 0 };
	struct blkloop_result lr;
	struct bb_mark m = { .o = o };
	char *buf = NULL;
	int ret;

	ret = uvirtio_backend_open(o->bdf, NULL, &be);
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
	lp.q = uvirtio_blk_get_queue(blk, 0);
	lp.nblocks = info.capacity / BS;
	if (!lp.q || lp.nblocks == 0) {
		fprintf(stderr, "blkbench: no queue or empty disk\n");
		ret = -EINVAL;
		goto out;
	}
	if (o->follow)
		uvirtio_blk_q_set_wait(lp.q, 0, UVIRTIO_BLK_WAIT_FOLLOW_CPU);
	ret = uvirtio_blk_alloc_buf(blk, (size_t)o->qd * BS, (void **)&buf);
	if (ret) {
		fprintf(stderr, "blkbench: alloc_buf: %s\n", strerror(-ret));
		goto out;
	}
	memset(buf, 0xa5, (size_t)o->qd * BS);
	lp.buf = buf;
	lp.qd = o->qd;
	lp.bs = BS;
	lp.write = o->write;
	lp.warmup_ns = (uint64_t)(o->warmup * 1e9);
	lp.window_ns = (uint64_t)(o->secs * 1e9);
	/* Syscall-counting runs make no clock calls of their own: they run
	 * a fixed number of requests, so every syscall counted is the
	 * library's. */
	lp.nops = o->syscount ? o->nops : 0;
	lp.seed = 0x9e3779b97f4a7c15ull;
	lp.mark = bb_mark;
	lp.arg = &m;
	ret = blkloop_run(&lp, &lr);
	if (ret) {
		fprintf(stderr, "blkbench: %s: %s\n", lr.what, strerror(-ret));
		goto out;
	}
	{
		double secs = (double)lr.ns / 1e9;
		uint64_t db = m.db1 - m.db0, ios = lr.ios;
		long long irqs = m.irq0 >= 0 && m.irq1 >= 0 ? m.irq1 - m.irq0 : -1;

		printf("result %s %s qd=%u ios=%llu secs=%.3f iops=%.0f "
		       "p50_us=%.1f p99_us=%.1f doorbells=%llu irqs=%lld "
		       "db_per_io=%.4f irq_per_io=%.4f vcsw=%ld ivcsw=%ld%s\n",
		       o->label, o->write ? "randwrite" : "randread", o->qd,
		       (unsigned long long)ios, secs, ios / secs,
		       lr.p50_ns / 1000.0, lr.p99_ns / 1000.0,
		       (unsigned long long)db, irqs,
		       ios ? (double)db / ios : 0.0,
		       ios && irqs >= 0 ? (double)irqs / ios : -1.0,
		       m.ru1.ru_nvcsw - m.ru0.ru_nvcsw,
		       m.ru1.ru_nivcsw - m.ru0.ru_nivcsw,
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
	fprintf(stderr, "usage: blkbench -d DEVICE -w randread|randwrite [-q QD] "
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
