// SPDX-License-Identifier: GPL-2.0
/*
 * Reliability tests for uvirtio (see Documentation/reliability.rst):
 *
 *  - kill9.under_io: a child drives a virtio-blk function through
 *    libuvirtio with asynchronous writes and flushes and is SIGKILLed at a
 *    random moment.  After each kill every page pin must be released, the
 *    device must open again, and every write covered by a completed flush
 *    must read back intact.
 *
 * Environment: UVIRTIO_KILL_ITERS, UVIRTIO_KILL_SECS, UVIRTIO_KILL_BDF,
 * UVIRTIO_KILL_SEED.  The ioctl/mmap fuzzer is uvirtio_fuzz.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>

#include <uvirtio/uvirtio.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"

#define PAGE		4096UL

/* ------------------------------------------------------ kill -9 under I/O */

#define KILL_BS		4096u
#define KILL_QD		8u
#define KILL_FLUSH_EVERY 12u	/* writes between flushes */
#define FLUSH_TAG	(1ULL << 62)

/*
 * The journal the child leaves behind, in a MAP_SHARED mapping.  done[]
 * holds the slots whose write completed, in completion order; the first
 * @committed of them were complete before a flush that itself completed,
 * so they must be on the disk.
 */
struct journal {
	uint32_t ready;		/* child is doing I/O */
	uint32_t committed;
	uint32_t ndone;
	uint32_t flushes;
	int32_t err;		/* child failure (negative errno) */
	uint32_t where;		/* which step failed */
	uint32_t done[];
};

static void kill_pattern(uint8_t *p, uint64_t seed, uint32_t iter,
			 uint32_t slot)
{
	uint64_t s = (seed ^ ((uint64_t)iter << 32 | slot)) *
		     0x9e3779b97f4a7c15ULL | 1;
	uint32_t i;

	for (i = 0; i < KILL_BS; i += 8) {
		uint64_t v = rnd(&s);

		memcpy(p + i, &v, 8);
	}
	/* a readable header, for the failure message */
	memcpy(p, &iter, 4);
	memcpy(p + 4, &slot, 4);
}

/* The writer.  Never returns. */
static void kill_child(const char *bdf, struct journal *j, uint64_t seed,
		       uint32_t iter, uint32_t start, uint32_t nslots,
		       bool poll_mode)
{
	struct uvirtio_blk_params p = { .poll = poll_mode };
	struct uvirtio_blk_completion comp[KILL_QD + 4];
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_queue *q;
	uint8_t *buf, *extra;
	uint32_t k = 0, inflight = 0, since_flush = 0, free_mask;
	int ret, i;

#define CHILD_FAIL(w, e) do { j->where = (w); j->err = (e); _exit(1); } while (0)
	ret = uvirtio_kmod_open(bdf, NULL, &be);
	if (ret)
		CHILD_FAIL(1, ret);
	ret = uvirtio_blk_open(be, &p, &blk);
	if (ret)
		CHILD_FAIL(2, ret);
	q = uvirtio_blk_get_queue(blk, 0);
	/* Data buffers are pinned user memory (DMA_MAP), plus an idle 1 MiB */
	buf = mmap(NULL, KILL_QD * KILL_BS, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	extra = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || extra == MAP_FAILED)
		CHILD_FAIL(3, -ENOMEM);
	ret = uvirtio_blk_map_mem(blk, buf, KILL_QD * KILL_BS);
	if (!ret)
		ret = uvirtio_blk_map_mem(blk, extra, 1 << 20);
	if (ret)
		CHILD_FAIL(4, ret);
	free_mask = (1u << KILL_QD) - 1;
	__atomic_store_n(&j->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		/* writes, each to a slot never written before in this run */
		while (k < nslots && free_mask && since_flush < KILL_FLUSH_EVERY) {
			uint32_t b = __builtin_ctz(free_mask);
			uint32_t slot = (start + k) % nslots;

			kill_pattern(buf + b * KILL_BS, seed, iter, slot);
			ret = uvirtio_blk_q_write(q, (uint64_t)slot * KILL_BS,
						  buf + b * KILL_BS, KILL_BS,
						  (void *)(uintptr_t)((uint64_t)slot << 8 | b));
			if (ret == -EAGAIN)
				break;
			if (ret)
				CHILD_FAIL(5, ret);
			free_mask &= ~(1u << b);
			inflight++;
			since_flush++;
			k++;
		}
		/* a flush covers every write completed before it is queued */
		if (since_flush >= KILL_FLUSH_EVERY || (k == nslots && since_flush)) {
			uint32_t snap = __atomic_load_n(&j->ndone, __ATOMIC_RELAXED);

			ret = uvirtio_blk_q_flush(q, (void *)(uintptr_t)(FLUSH_TAG | snap));
			if (ret && ret != -EAGAIN)
				CHILD_FAIL(6, ret);
			if (!ret) {
				inflight++;
				since_flush = 0;
			}
		}
		if (!inflight) {
			pause();	/* disk full of this run's writes: wait */
			continue;
		}
		ret = uvirtio_blk_q_reap(q, 1, KILL_QD + 4, comp, NULL);
		if (ret < 0)
			CHILD_FAIL(7, ret);
		for (i = 0; i < ret; i++) {
			uint64_t c = (uintptr_t)comp[i].user_data;

			if (comp[i].ret)
				CHILD_FAIL(8, comp[i].ret);
			inflight--;
			if (c & FLUSH_TAG) {
				uint32_t snap = (uint32_t)c;

				if (snap > j->committed)
					__atomic_store_n(&j->committed, snap,
							 __ATOMIC_RELEASE);
				j->flushes++;
			} else {
				j->done[j->ndone] = (uint32_t)(c >> 8);
				__atomic_store_n(&j->ndone, j->ndone + 1,
						 __ATOMIC_RELEASE);
				free_mask |= 1u << (c & 0xff);
			}
		}
	}
}

FIXTURE(kill9) {
	char bdf[32];
	int restore_unsafe;
	bool give_back;
};

FIXTURE_SETUP(kill9)
{
	const char *want = getenv("UVIRTIO_KILL_BDF");
	const char *cands[] = { "0000:00:09.0", "0000:00:07.0" };
	char why[128];
	unsigned int i;

	self->restore_unsafe = 0;
	self->give_back = false;
	self->bdf[0] = 0;
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (want && *want) {
		uv_copy(self->bdf, sizeof(self->bdf), want);
	} else {
		/* file-backed disks only: 00:06.0 (null-co) keeps no data */
		for (i = 0; i < 2 && !self->bdf[0]; i++)
			if (is_type(cands[i], VIRTIO_ID_BLOCK))
				uv_copy(self->bdf, sizeof(self->bdf), cands[i]);
	}
	if (!self->bdf[0] || !is_type(self->bdf, VIRTIO_ID_BLOCK))
		SKIP(return, "no file-backed virtio-blk function (set UVIRTIO_KILL_BDF)");
	if (uv_claim(self->bdf))
		SKIP(return, "could not bind %s to uvirtio", self->bdf);
	self->give_back = true;
	if (dma_enable(self->bdf, &self->restore_unsafe, why, sizeof(why)))
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(kill9)
{
	if (self->restore_unsafe)
		uv_write_file(UNSAFE_PARAM, "0");
	if (self->give_back)
		uv_give_back(self->bdf);
}

/*
 * Read back the @n slots in @done, written with kill_pattern(@seed, @run),
 * through @blk.  Returns the mismatches, plus 1 if a read failed; adds the
 * slots checked to *@checked.
 */
static int verify_slots(struct __test_metadata *_metadata,
			struct uvirtio_blk *blk, const uint32_t *done,
			uint32_t n, uint64_t seed, uint32_t run,
			uint32_t *checked)
{
	uint8_t *buf = NULL, want[KILL_BS];
	uint32_t i;
	int ret, bad = 0;

	ret = uvirtio_blk_alloc_buf(blk, KILL_BS, (void **)&buf);
	EXPECT_EQ(0, ret);
	for (i = 0; !ret && i < n; i++) {
		uint32_t slot = done[i];

		ret = uvirtio_blk_read(blk, (uint64_t)slot * KILL_BS, buf, KILL_BS);
		EXPECT_EQ(0, ret) TH_LOG("run %u: read slot %u: %s", run,
					 slot, strerror(-ret));
		if (ret)
			break;
		kill_pattern(want, seed, run, slot);
		if (memcmp(want, buf, KILL_BS)) {
			uint32_t h[2];

			memcpy(h, buf, 8);
			if (bad++ < 5)
				TH_LOG("run %u: flushed slot %u lost: holds run %u slot %u",
				       run, slot, h[0], h[1]);
		}
	}
	*checked += i;
	if (buf)
		uvirtio_blk_free_buf(blk, buf);
	return bad + (ret != 0);
}

/* Read back every committed slot of run @iter; returns mismatches. */
static int kill_verify(struct __test_metadata *_metadata, const char *bdf,
		       const struct journal *j, uint64_t seed, uint32_t iter,
		       uint32_t *checked)
{
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	uint32_t i, n = __atomic_load_n(&j->committed, __ATOMIC_ACQUIRE);
	int ret, bad;

	ret = uvirtio_kmod_open(bdf, NULL, &be);
	if (ret == -EBUSY) {
		/* the killed owner's release may still be running */
		for (i = 0; i < 200 && ret == -EBUSY; i++) {
			uv_sleep_us(10000);
			ret = uvirtio_kmod_open(bdf, NULL, &be);
		}
	}
	EXPECT_EQ(0, ret) TH_LOG("iteration %u: reopen after kill: %s", iter,
				 strerror(-ret));
	if (ret)
		return 1;
	ret = uvirtio_blk_open(be, NULL, &blk);
	EXPECT_EQ(0, ret) TH_LOG("iteration %u: virtio-blk init after kill: %s",
				 iter, strerror(-ret));
	if (ret) {
		uvirtio_backend_close(be);
		return 1;
	}
	bad = verify_slots(_metadata, blk, j->done, n, seed, iter, checked);
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	return bad;
}

TEST_F_TIMEOUT(kill9, under_io, 560)
{
	uint64_t iters = env_u64("UVIRTIO_KILL_ITERS", 100);
	double budget = (double)env_u64("UVIRTIO_KILL_SECS", 240);
	uint64_t seed = env_u64("UVIRTIO_KILL_SEED", 0);
	uint64_t s, nslots, it;
	uint64_t early = 0, total_done = 0, total_committed = 0, pin_waits = 0;
	uint32_t checked = 0;
	struct journal *j;
	size_t jlen;
	double t0 = uv_now_s(), maxwait = 0;
	long cap;
	char buf[32];
	int fails = 0;

	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	s = seed | 1;
	/* capacity, from sysfs-free config read through a quick open */
	{
		struct uvirtio_backend *be;
		struct uvirtio_blk *blk;
		struct uvirtio_blk_info info;

		ASSERT_EQ(0, uvirtio_kmod_open(self->bdf, NULL, &be));
		ASSERT_EQ(0, uvirtio_blk_open(be, NULL, &blk));
		uvirtio_blk_get_info(blk, &info);
		uvirtio_blk_close(blk);
		uvirtio_backend_close(be);
		ASSERT_FALSE(info.read_only);
		cap = (long)(info.capacity / KILL_BS);
	}
	nslots = cap > 4096 ? 4096 : cap;
	ASSERT_LE(64, nslots);
	jlen = (sizeof(*j) + nslots * 4 + PAGE - 1) & ~(PAGE - 1);
	j = mmap(NULL, jlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, j);
	TH_LOG("%s: %" PRIu64 " iterations (budget %.0f s), %" PRIu64
	       " slots of %u B, QD %u, seed %#" PRIx64, self->bdf, iters, budget,
	       nslots, KILL_BS, KILL_QD, seed);

	for (it = 0; it < iters && !fails; it++) {
		uint32_t start = rnd(&s) % nslots;
		bool poll_mode = rnd(&s) % 4 == 0;
		bool before_ready = rnd(&s) % 8 == 0;
		uint64_t delay_us;
		int status;
		double w;
		long d;
		pid_t pid;

		if (uv_now_s() - t0 > budget) {
			TH_LOG("time budget reached after %" PRIu64 " iterations", it);
			break;
		}
		memset(j, 0, jlen);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			kill_child(self->bdf, j, seed, (uint32_t)it, start,
				   (uint32_t)nslots, poll_mode);
		if (before_ready) {
			/* anywhere in open / init / the first requests */
			early++;
			uv_sleep_us(rnd(&s) % 30000);
		} else {
			double t1 = uv_now_s();

			while (!__atomic_load_n(&j->ready, __ATOMIC_ACQUIRE) &&
			       uv_now_s() - t1 < 20 && !waitpid(pid, &status, WNOHANG))
				uv_sleep_us(500);
			delay_us = rnd(&s) % 60000;
			uv_sleep_us(delay_us);
		}
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			fails++;
			TH_LOG("iteration %" PRIu64 ": child exited by itself (status %#x): step %u: %s",
			       it, status, j->where, strerror(-j->err));
			break;
		}
		d = uv_pins_settle(&w);
		if (w > 0)
			pin_waits++;
		if (w > maxwait)
			maxwait = w;
		EXPECT_EQ(0, d) TH_LOG("iteration %" PRIu64 ": %ld pins leaked", it, d);
		if (d)
			fails++;
		total_done += j->ndone;
		total_committed += j->committed;
		fails += kill_verify(_metadata, self->bdf, j, seed, (uint32_t)it,
				     &checked);
	}
	snprintf(buf, sizeof(buf), "%.1f", uv_now_s() - t0);
	TH_LOG("%" PRIu64 " kills (%" PRIu64 " before I/O started) in %s s: %" PRIu64
	       " writes acknowledged, %" PRIu64 " flushed, %u verified; pins settled late %" PRIu64
	       " times (max %.3f s)", it, early, buf, total_done, total_committed,
	       checked, pin_waits, maxwait);
	ksft_print_msg("kill9: %" PRIu64 " kills in %s s, %u flushed writes verified, seed %#" PRIx64 "\n",
		       it, buf, checked, seed);
	ksft_print_msg("UVIRTIO-SUMMARY kill9 kills=%" PRIu64 " writes=%" PRIu64
		       " verified=%u failures=%d\n", it, total_done, checked, fails);
	munmap(j, jlen);
	EXPECT_EQ(0, fails);
}

/* --------------------------------------------------- hot-unplug under I/O */

/*
 * The host pulls the function (QMP device_del) when we print
 * "UVIRTIO-HOTPLUG unplug <n>" and adds it back once QEMU reports it
 * deleted (scripts/hotplug-host.py, started by scripts/vm-run.sh -H).
 * Each cycle: find the function behind the root port, bind it to uvirtio,
 * check that the writes flushed in the previous cycle are on the disk,
 * then write and flush in a thread while the function is pulled.  The
 * owner must be told through the remove eventfd, the I/O must end with
 * -ENODEV rather than hang, the PCI device must disappear while the fd is
 * still open (remove() does not wait for the owner), and closing
 * afterwards must release every pin.
 */
#define HP_QD		8u
#define HP_SLOTS	1024u	/* slots of KILL_BS per cycle */

struct hp_io {
	struct uvirtio_blk_queue *q;
	uint8_t *buf;
	uint64_t seed;
	uint32_t cycle, base, nslots;
	uint32_t done[HP_SLOTS];	/* completed writes, in order */
	uint32_t ndone;			/* written by the I/O thread */
	uint32_t committed;		/* done[0..committed) were flushed */
	uint32_t flushes;
	int err;			/* how the I/O ended */
	bool started;
};

static void *hp_io_thread(void *arg)
{
	struct hp_io *io = arg;
	struct uvirtio_blk_completion comp[HP_QD + 2];
	uint32_t k = 0, inflight = 0, since_flush = 0;
	uint32_t free_mask = (1u << HP_QD) - 1;
	int ret = 0, i;

	for (;;) {
		/* each slot is written once per cycle, so the journal is exact */
		while (k < io->nslots && free_mask &&
		       since_flush < KILL_FLUSH_EVERY) {
			uint32_t b = __builtin_ctz(free_mask);
			uint32_t slot = io->base + k;

			kill_pattern(io->buf + b * KILL_BS, io->seed, io->cycle,
				     slot);
			ret = uvirtio_blk_q_write(io->q, (uint64_t)slot * KILL_BS,
						  io->buf + b * KILL_BS, KILL_BS,
						  (void *)(uintptr_t)((uint64_t)slot << 8 | b));
			if (ret == -EAGAIN)
				break;
			if (ret)
				goto out;
			free_mask &= ~(1u << b);
			inflight++;
			since_flush++;
			k++;
		}
		/* every slot written: keep flushing until the unplug */
		if (since_flush >= KILL_FLUSH_EVERY ||
		    (k >= io->nslots && !inflight)) {
			uint32_t snap = __atomic_load_n(&io->ndone, __ATOMIC_RELAXED);

			ret = uvirtio_blk_q_flush(io->q, (void *)(uintptr_t)(FLUSH_TAG | snap));
			if (ret && ret != -EAGAIN)
				goto out;
			if (!ret) {
				inflight++;
				since_flush = 0;
			}
		}
		ret = uvirtio_blk_q_reap(io->q, 1, HP_QD + 2, comp, NULL);
		if (ret < 0)
			goto out;
		for (i = 0; i < ret; i++) {
			uint64_t c = (uintptr_t)comp[i].user_data;

			if (comp[i].ret) {
				ret = comp[i].ret;
				goto out;
			}
			inflight--;
			if (c & FLUSH_TAG) {
				if ((uint32_t)c > io->committed)
					__atomic_store_n(&io->committed, (uint32_t)c,
							 __ATOMIC_RELEASE);
				io->flushes++;
			} else {
				io->done[io->ndone] = (uint32_t)(c >> 8);
				__atomic_store_n(&io->ndone, io->ndone + 1,
						 __ATOMIC_RELEASE);
				free_mask |= 1u << (c & 0xff);
			}
		}
		__atomic_store_n(&io->started, true, __ATOMIC_RELEASE);
	}
out:
	io->err = ret;
	__atomic_store_n(&io->started, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The function behind @port, waiting up to @secs for it to appear. */
static int hp_find(const char *port, char *bdf, size_t len, double secs)
{
	char dir[PATH_MAX];
	double t0 = uv_now_s();

	snprintf(dir, sizeof(dir), UV_SYSFS_PCI "/%s", port);
	do {
		DIR *d = opendir(dir);
		struct dirent *e;
		unsigned int a, b, c, f;

		while (d && (e = readdir(d))) {
			if (sscanf(e->d_name, "%x:%x:%x.%x", &a, &b, &c, &f) == 4 &&
			    is_type(e->d_name, VIRTIO_ID_BLOCK)) {
				uv_copy(bdf, len, e->d_name);
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
		uv_sleep_us(20000);
	} while (uv_now_s() - t0 < secs);
	return -1;
}

/*
 * Bind a freshly added function to uvirtio.  It shows up in sysfs before
 * its first probe (virtio-pci, then virtio_blk) is done: let that finish
 * (up to 30 s), so the two do not race, then claim it, retrying.
 */
static int hp_claim(const char *bdf)
{
	double t0 = uv_now_s();
	char drv[64];

	do {
		uv_driver_of(bdf, drv, sizeof(drv));
		if (drv[0])
			break;
		uv_sleep_us(20000);
	} while (uv_now_s() - t0 < 30);
	t0 = uv_now_s();
	while (uv_claim(bdf)) {
		if (uv_now_s() - t0 > 20)
			return -1;
		uv_sleep_us(50000);
	}
	return 0;
}

static bool hp_present(const char *bdf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s", bdf);
	return !access(p, F_OK);
}

FIXTURE(hotplug) {
	char port[32];
	int restore_unsafe;
};

FIXTURE_SETUP(hotplug)
{
	const char *port = getenv("UVIRTIO_HOTPLUG_PORT");

	self->restore_unsafe = 0;
	if (!port || !*port)
		SKIP(return, "no hot-plug orchestrator on the host (scripts/vm-run.sh -H)");
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	uv_copy(self->port, sizeof(self->port), port);
}

FIXTURE_TEARDOWN(hotplug)
{
	if (self->restore_unsafe)
		uv_write_file(UNSAFE_PARAM, "0");
	/* let the host side finish even when we stopped early */
	if (self->port[0])
		printf("# UVIRTIO-HOTPLUG done 0\n");
	fflush(stdout);
}

/* Read back every flushed slot of @io; returns mismatches (+1 on error). */
static int hp_verify(struct __test_metadata *_metadata, struct uvirtio_blk *blk,
		     const struct hp_io *io, uint32_t *checked)
{
	return verify_slots(_metadata, blk, io->done,
			    io->committed < HP_SLOTS ? io->committed : HP_SLOTS,
			    io->seed, io->cycle, checked);
}

TEST_F_TIMEOUT(hotplug, under_io, 7200)
{
	uint64_t cycles = env_u64("UVIRTIO_HOTPLUG_CYCLES", 20);
	uint64_t seed = env_u64("UVIRTIO_HOTPLUG_SEED", 0);
	struct hp_io *io = calloc(2, sizeof(*io)), *cur, *prev = NULL;
	uint64_t s, total_ios = 0;
	uint32_t checked = 0, n, npoll = 0;
	double t0 = uv_now_s(), max_gone = 0, max_stop = 0;
	int lost = 0, errs = 0;
	char bdf[32];

	ASSERT_NE(NULL, io);
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	s = seed | 1;
	TH_LOG("%" PRIu64 " cycles behind %s, seed %#" PRIx64, cycles,
	       self->port, seed);
	for (n = 1; n <= cycles; n++) {
		/* cycle 2 always polls: a polled reap must see the removal */
		struct uvirtio_blk_params bp = {
			.poll = rnd(&s) % 4 == 0 || n == 2,
		};
		struct uvirtio_backend *be;
		struct uvirtio_blk *blk;
		struct uvirtio_blk_info info;
		struct pollfd pfd;
		pthread_t th;
		uint8_t *buf;
		double t1, t_notify, t_stop;
		long d;
		int ret;

		cur = &io[n & 1];
		ASSERT_EQ(0, hp_find(self->port, bdf, sizeof(bdf), 60))
			TH_LOG("cycle %u: no virtio-blk function behind %s",
			       n, self->port);
		ASSERT_EQ(0, hp_claim(bdf)) TH_LOG("cycle %u: bind %s", n, bdf);
		if (n == 1) {
			char why[128];

			ASSERT_EQ(0, dma_enable(bdf, &self->restore_unsafe, why,
						sizeof(why))) TH_LOG("%s", why);
		}
		ret = uvirtio_kmod_open(bdf, NULL, &be);
		ASSERT_EQ(0, ret) TH_LOG("cycle %u: open %s: %s", n, bdf,
					 strerror(-ret));
		ASSERT_EQ(0, uvirtio_blk_open(be, &bp, &blk));
		uvirtio_blk_get_info(blk, &info);
		ASSERT_LE((uint64_t)2 * HP_SLOTS * KILL_BS, info.capacity);
		/* what the last cycle flushed survived the unplug */
		if (prev) {
			int bad = hp_verify(_metadata, blk, prev, &checked);

			lost += bad;
			EXPECT_EQ(0, bad) TH_LOG("cycle %u: %d flushed writes lost", n, bad);
		}
		buf = mmap(NULL, HP_QD * KILL_BS, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, buf);
		ASSERT_EQ(0, uvirtio_blk_map_mem(blk, buf, HP_QD * KILL_BS));
		memset(cur, 0, sizeof(*cur));
		cur->q = uvirtio_blk_get_queue(blk, 0);
		cur->buf = buf;
		cur->seed = seed;
		cur->cycle = n;
		cur->base = (n & 1) * HP_SLOTS;
		cur->nslots = HP_SLOTS;
		ASSERT_EQ(0, pthread_create(&th, NULL, hp_io_thread, cur));
		/* let some writes and a flush through first */
		t1 = uv_now_s();
		while (uv_now_s() - t1 < 30 &&
		       (!__atomic_load_n(&cur->started, __ATOMIC_ACQUIRE) ||
			__atomic_load_n(&cur->ndone, __ATOMIC_ACQUIRE) <
			rnd(&s) % 64 + 2 * KILL_FLUSH_EVERY) && !cur->err)
			uv_sleep_us(1000);
		EXPECT_EQ(0, cur->err) TH_LOG("cycle %u: I/O failed before the unplug: %s",
					      n, strerror(-cur->err));
		pfd.fd = uvirtio_backend_remove_fd(be);
		pfd.events = POLLIN;
		ASSERT_LE(0, pfd.fd);
		printf("# UVIRTIO-HOTPLUG unplug %u\n", n);
		fflush(stdout);
		/* the owner is told (the host times this against device_del) */
		ASSERT_EQ(1, poll(&pfd, 1, 60000))
			TH_LOG("cycle %u: no remove notification in 60 s", n);
		t_notify = uv_now_s();
		printf("# UVIRTIO-HOTPLUG notified %u\n", n);
		fflush(stdout);
		/* the I/O ends with an error instead of waiting forever */
		pthread_join(th, NULL);
		t_stop = uv_now_s() - t_notify;
		if (t_stop > max_stop)
			max_stop = t_stop;
		EXPECT_EQ(-ENODEV, cur->err)
			TH_LOG("cycle %u: I/O ended with %d (%s)", n, cur->err,
			       strerror(-cur->err));
		if (cur->err != -ENODEV)
			errs++;
		EXPECT_TRUE(uvirtio_backend_removed(be));
		/* the function goes away while we still hold the fd */
		t1 = uv_now_s();
		while (hp_present(bdf) && uv_now_s() - t1 < 60)
			uv_sleep_us(10000);
		EXPECT_FALSE(hp_present(bdf))
			TH_LOG("cycle %u: %s still present 60 s after removal", n, bdf);
		if (uv_now_s() - t_notify > max_gone)
			max_gone = uv_now_s() - t_notify;
		total_ios += cur->ndone;
		uvirtio_blk_close(blk);
		uvirtio_backend_close(be);
		munmap(buf, HP_QD * KILL_BS);
		d = uv_pins_settle(NULL);
		EXPECT_EQ(0, d) TH_LOG("cycle %u: %ld pins leaked", n, d);
		prev = cur;
		npoll += bp.poll;
		if (!__test_passed(_metadata))
			break;
	}
	/* the last cycle's writes, on the function added back last */
	if (prev && !!__test_passed(_metadata)) {
		struct uvirtio_backend *be;
		struct uvirtio_blk *blk;
		int bad;

		ASSERT_EQ(0, hp_find(self->port, bdf, sizeof(bdf), 60));
		ASSERT_EQ(0, hp_claim(bdf));
		ASSERT_EQ(0, uvirtio_kmod_open(bdf, NULL, &be));
		ASSERT_EQ(0, uvirtio_blk_open(be, NULL, &blk));
		bad = hp_verify(_metadata, blk, prev, &checked);
		lost += bad;
		EXPECT_EQ(0, bad);
		uvirtio_blk_close(blk);
		uvirtio_backend_close(be);
		uv_give_back(bdf);
	}
	TH_LOG("%u cycles (%u polled) in %.1f s: %" PRIu64 " writes acknowledged, %u flushed writes verified, %d lost; I/O stopped <= %.3f s and the function was gone <= %.3f s after the notification",
	       n - 1, npoll, uv_now_s() - t0, total_ios, checked, lost, max_stop,
	       max_gone);
	ksft_print_msg("UVIRTIO-SUMMARY hotplug cycles=%u writes=%" PRIu64
		       " verified=%u lost=%d io_errors=%d\n", n - 1, total_ios,
		       checked, lost, errs);
	free(io);
}

/* ------------------------------------------- device DMA into an unmapped IOVA */

/*
 * With a translating IOMMU, make a real device write where nothing is
 * mapped any more: a virtio-blk read is queued into a buffer, the buffer
 * is unmapped (the application bug), then the request is published.  The
 * IOMMU must stop the write: the buffer and its still-mapped neighbours
 * keep their canaries, the DMAR fault is in the kernel log, and the
 * library reports an error: QEMU completes the request as if it
 * succeeded, and libuvirtio fails it with -EFAULT because its buffer was
 * unmapped in flight.  The device must work again after a re-open.
 */
#define CANARY	0x5a

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Kernel log records appended after @fd was opened that mention @what. */
static int kmsg_count(int fd, const char *what, const char *what2)
{
	char rec[2048];
	int n = 0;
	ssize_t r;

	while ((r = read(fd, rec, sizeof(rec) - 1)) > 0 || (r < 0 && errno == EPIPE)) {
		if (r <= 0)
			continue;	/* EPIPE: records were overwritten */
		rec[r] = 0;
		if (strstr(rec, what) && strstr(rec, what2)) {
			if (n++ < 3)
				ksft_print_msg("kernel: %s", strchr(rec, ';') ?
					       strchr(rec, ';') + 1 : rec);
		}
	}
	return n;
}

TEST(dma_fault_unmapped_iova)
{
	const char *want = getenv("UVIRTIO_DMAFAULT_BDF");
	const char *cands[] = { "0000:00:09.0", "0000:00:06.0" };
	struct uvirtio_blk_params bp = { .poll = false };
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 20, 0 };
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_queue *q;
	uint8_t *mem, *pat, *a, *b, *c, want_data[PAGE];
	char bdf[32] = "", tag[40];
	unsigned int i;
	int kmsg, ret, faults;
	bool intact;

	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (want && *want)
		uv_copy(bdf, sizeof(bdf), want);
	for (i = 0; i < 2 && !bdf[0]; i++)
		if (is_type(cands[i], VIRTIO_ID_BLOCK))
			uv_copy(bdf, sizeof(bdf), cands[i]);
	if (!bdf[0])
		SKIP(return, "no virtio-blk function (set UVIRTIO_DMAFAULT_BDF)");
	ASSERT_EQ(0, uv_claim(bdf));
	if (iommu_mode_of(bdf) != UVIRTIO_IOMMU_TRANSLATED) {
		uv_give_back(bdf);
		SKIP(return, "%s: no translating IOMMU, nothing would stop the DMA", bdf);
	}
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kmsg);
	lseek(kmsg, 0, SEEK_END);

	ASSERT_EQ(0, uvirtio_kmod_open(bdf, NULL, &be));
	ASSERT_EQ(0, uvirtio_blk_open(be, &bp, &blk));
	q = uvirtio_blk_get_queue(blk, 0);
	/* a | b | c: three separately mapped pages, all canaries */
	mem = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	a = mem, b = mem + PAGE, c = mem + 2 * PAGE;
	memset(mem, CANARY, 3 * PAGE);
	ASSERT_EQ(0, uvirtio_blk_map_mem(blk, a, PAGE));
	ASSERT_EQ(0, uvirtio_blk_map_mem(blk, b, PAGE));
	ASSERT_EQ(0, uvirtio_blk_map_mem(blk, c, PAGE));
	ASSERT_EQ(0, uvirtio_blk_alloc_buf(blk, PAGE, (void **)&pat));
	for (i = 0; i < PAGE; i++)
		want_data[i] = (uint8_t)(i * 7 + 1);
	memcpy(pat, want_data, PAGE);
	ASSERT_EQ(0, uvirtio_blk_write(blk, 0, pat, PAGE));
	/* while mapped, the read lands */
	ASSERT_EQ(0, uvirtio_blk_read(blk, 0, b, PAGE));
	EXPECT_EQ(0, memcmp(b, pat, PAGE));
	memset(b, CANARY, PAGE);

	/* queue the read while b is mapped, unmap b, then publish it */
	ASSERT_EQ(0, uvirtio_blk_q_read(q, 0, b, PAGE, NULL));
	ASSERT_EQ(0, uvirtio_blk_unmap_mem(blk, b));
	ASSERT_EQ(0, uvirtio_blk_q_submit(q));
	ret = uvirtio_blk_q_reap(q, 1, 1, &comp, &ts);
	/*
	 * QEMU bounces the transfer, the IOMMU drops its write, and the
	 * request completes with status OK.  The library knows the buffer
	 * went away mid-flight and says -EFAULT instead.  (A device that
	 * notices, and sets NEEDS_RESET, is reported as that.)
	 */
	EXPECT_TRUE(ret == -UVIRTIO_ENEEDS_RESET || (ret == 1 && comp.ret == -EFAULT))
		TH_LOG("reap returned %d (%s), request status %d", ret,
		       ret < 0 ? strerror(-ret) : "", ret == 1 ? comp.ret : 0);
	if (ret == 1)
		ret = comp.ret;
	EXPECT_TRUE(all_bytes(a, PAGE, CANARY)) TH_LOG("page before the buffer changed");
	EXPECT_TRUE(all_bytes(b, PAGE, CANARY)) TH_LOG("the unmapped buffer was written");
	EXPECT_TRUE(all_bytes(c, PAGE, CANARY)) TH_LOG("page after the buffer changed");
	intact = all_bytes(mem, 3 * PAGE, CANARY);
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);

	/* the fault is reported by the IOMMU driver */
	snprintf(tag, sizeof(tag), "[%s]", bdf + 5);
	for (i = 0, faults = 0; i < 50 && !faults; i++) {
		faults = kmsg_count(kmsg, "DMAR", tag);
		if (!faults)
			uv_sleep_us(100000);
	}
	EXPECT_LT(0, faults) TH_LOG("no DMAR fault for %s in the kernel log", tag);
	close(kmsg);

	/* and the device works again */
	ASSERT_EQ(0, uvirtio_kmod_open(bdf, NULL, &be));
	ASSERT_EQ(0, uvirtio_blk_open(be, NULL, &blk));
	ASSERT_EQ(0, uvirtio_blk_map_mem(blk, b, PAGE));
	EXPECT_EQ(0, uvirtio_blk_read(blk, 0, b, PAGE));
	EXPECT_EQ(0, memcmp(b, want_data, PAGE));
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	munmap(mem, 3 * PAGE);
	EXPECT_EQ(0, uv_pins_settle(NULL));
	uv_give_back(bdf);
	ksft_print_msg("UVIRTIO-SUMMARY dma_fault contained=%d faults_logged=%d canaries_intact=%d\n",
		       ret == -UVIRTIO_ENEEDS_RESET || ret == -EFAULT, faults, intact);
}

TEST_HARNESS_MAIN
