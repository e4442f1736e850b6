// SPDX-License-Identifier: GPL-2.0
/*
 * Reliability tests for uvirtio (see Documentation/reliability.rst):
 *
 *  - kill9.under_io: a child drives a virtio-blk function through
 *    libuvirtio with asynchronous writes and flushes and is SIGKILLed at a
 *    random moment.  After each kill every page pin must be released, the
 *    device must open again, and every write covered by a completed flush
 *    must read back intact.
 *  - fuzz.ioctl_mmap: random and structure-aware ioctls, mmap()s and
 *    pread()/pwrite()s on the control fd and a device fd from several
 *    threads at once, with fd games (dup, close from another thread, use
 *    from a forked child).  Every call must succeed or fail with an errno
 *    Documentation/uapi.rst lists for it.
 *
 * Environment: UVIRTIO_KILL_ITERS, UVIRTIO_KILL_SECS, UVIRTIO_KILL_BDF,
 * UVIRTIO_KILL_SEED,
 * UVIRTIO_FUZZ_CALLS, UVIRTIO_FUZZ_SECS, UVIRTIO_FUZZ_SEED,
 * UVIRTIO_FUZZ_THREADS, UVIRTIO_FUZZ_BDF.
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
#define UNSAFE_PARAM	"/sys/module/uvirtio/parameters/allow_unsafe_noiommu"

/* ---------------------------------------------------------------- common */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* Open @bdf, retrying EBUSY for up to two seconds. */
static int open_retry(const char *bdf)
{
	int i, fd = -1;

	for (i = 0; i < 200; i++) {
		fd = uv_open_device(bdf);
		if (fd >= 0 || errno != EBUSY)
			break;
		uv_sleep_us(10000);
	}
	return fd;
}

static int iommu_mode_of(const char *bdf)
{
	struct uvirtio_device_info info = { .size = sizeof(info) };
	int fd = open_retry(bdf), ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &info);
	close(fd);
	return ret ? -1 : (int)info.iommu_mode;
}

/*
 * Make DMA work on @bdf: with a translating IOMMU it does; without one,
 * turn on allow_unsafe_noiommu (and set *@restore so it is turned off
 * again).  Returns 0, or -1 with @why filled in.
 */
static int dma_enable(const char *bdf, int *restore, char *why, size_t len)
{
	int mode = iommu_mode_of(bdf);

	*restore = 0;
	if (mode < 0) {
		snprintf(why, len, "cannot open %s: %s", bdf, strerror(errno));
		return -1;
	}
	if (mode != UVIRTIO_IOMMU_NONE)
		return 0;
	if (uv_write_file(UNSAFE_PARAM, "1")) {
		snprintf(why, len, "no IOMMU and cannot set %s", UNSAFE_PARAM);
		return -1;
	}
	*restore = 1;
	if (iommu_mode_of(bdf) != UVIRTIO_IOMMU_UNSAFE) {
		snprintf(why, len, "allow_unsafe_noiommu=1 did not enable DMA");
		return -1;
	}
	return 0;
}

static bool is_type(const char *bdf, int type)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s", bdf);
	return !access(p, F_OK) && uv_virtio_type(bdf) == type;
}

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

/* ------------------------------------------------------ ioctl/mmap fuzzer */

#define FZ_POOL_PAGES	64
#define FZ_MAX_LIVE	32
#define FZ_MAX_THREADS	4
#define FZ_MAX_ERRNO	256
#define FZ_MAX_MSGS	20

enum fz_op_kind {
	FZ_API, FZ_LIST, FZ_OPEN, FZ_INFO, FZ_REGION, FZ_MAP, FZ_UNMAP,
	FZ_ALLOC, FZ_FREE, FZ_IRQ_EN, FZ_IRQ_DIS, FZ_IRQ_EFD, FZ_IRQ_AFF,
	FZ_IRQ_MASK, FZ_IRQ_TRIG, FZ_RESET, FZ_REMOVE_EFD, FZ_IOVA, FZ_NCMDS,
	FZ_UNKNOWN = FZ_NCMDS, FZ_MMAP, FZ_PREAD, FZ_PWRITE, FZ_ANY,
	FZ_NKINDS
};

static const char *const fz_names[FZ_NKINDS] = {
	"GET_API_VERSION", "LIST_DEVICES", "DEVICE_OPEN", "DEVICE_GET_INFO",
	"REGION_GET_INFO", "DMA_MAP", "DMA_UNMAP", "DMA_ALLOC", "DMA_FREE",
	"IRQ_ENABLE", "IRQ_DISABLE", "IRQ_SET_EVENTFD", "IRQ_SET_AFFINITY",
	"IRQ_MASK", "IRQ_TRIGGER", "DEVICE_RESET", "SET_REMOVE_EVENTFD",
	"IOVA_RANGES", "unknown ioctl", "mmap", "pread", "pwrite", "(stale fd)",
};

static const unsigned long fz_cmds[FZ_NCMDS] = {
	UVIRTIO_GET_API_VERSION, UVIRTIO_LIST_DEVICES, UVIRTIO_DEVICE_OPEN,
	UVIRTIO_DEVICE_GET_INFO, UVIRTIO_REGION_GET_INFO, UVIRTIO_DMA_MAP,
	UVIRTIO_DMA_UNMAP, UVIRTIO_DMA_ALLOC, UVIRTIO_DMA_FREE,
	UVIRTIO_IRQ_ENABLE, UVIRTIO_IRQ_DISABLE, UVIRTIO_IRQ_SET_EVENTFD,
	UVIRTIO_IRQ_SET_AFFINITY, UVIRTIO_IRQ_MASK, UVIRTIO_IRQ_TRIGGER,
	UVIRTIO_DEVICE_RESET, UVIRTIO_SET_REMOVE_EVENTFD, UVIRTIO_IOVA_RANGES,
};

static const size_t fz_sizes[FZ_NCMDS] = {
	sizeof(struct uvirtio_api_version), sizeof(struct uvirtio_list_devices),
	sizeof(struct uvirtio_device_open), sizeof(struct uvirtio_device_info),
	sizeof(struct uvirtio_region_info), sizeof(struct uvirtio_dma_map),
	sizeof(struct uvirtio_dma_unmap), sizeof(struct uvirtio_dma_alloc),
	sizeof(struct uvirtio_dma_free), sizeof(struct uvirtio_irq_enable),
	sizeof(struct uvirtio_irq_disable), sizeof(struct uvirtio_irq_set_eventfd),
	sizeof(struct uvirtio_irq_set_affinity), sizeof(struct uvirtio_irq_mask),
	sizeof(struct uvirtio_irq_trigger), sizeof(struct uvirtio_device_reset),
	sizeof(struct uvirtio_set_remove_eventfd),
	sizeof(struct uvirtio_iova_ranges),
};

/* The errnos Documentation/uapi.rst gives each call, beyond the generic
 * dispatcher ones (EFAULT, EINVAL, E2BIG, ENOTTY) every ioctl may return. */
static const int fz_errs[FZ_NKINDS][8] = {
	[FZ_OPEN] = { EPERM, ENODEV, EBUSY, EMFILE, ENFILE, ENOMEM, ETIMEDOUT },
	[FZ_MAP] = { EOVERFLOW, EPERM, ENOSPC, EEXIST, ENOMEM, EINTR,
		     EOPNOTSUPP, ERANGE },
	[FZ_UNMAP] = { ENOENT },
	[FZ_ALLOC] = { EOVERFLOW, EPERM, ENOSPC, ENOMEM, EOPNOTSUPP, ERANGE,
		       EEXIST },
	[FZ_FREE] = { ENOENT },
	[FZ_IRQ_EN] = { EOPNOTSUPP, EBUSY, ENOSPC, ENOMEM },
	[FZ_IRQ_EFD] = { EBADF },
	/* plus the errors of irq_set_affinity() */
	[FZ_IRQ_AFF] = { EBUSY, ENOSPC, ENOMEM },
	[FZ_RESET] = { EOPNOTSUPP, EAGAIN, ETIMEDOUT },
	[FZ_REMOVE_EFD] = { EBADF },
	[FZ_IOVA] = { EOPNOTSUPP, ENOMEM },
	[FZ_MMAP] = { EINVAL, EPERM, ENOMEM, EOVERFLOW },
	[FZ_PREAD] = { EINVAL },
	[FZ_PWRITE] = { EINVAL, EPERM },
};

struct fz_buf {
	uint64_t handle, off, len;
};

struct fz {
	int ctl, dev;
	char bdf[32];
	struct uvirtio_device_info info;
	struct uvirtio_region_info reg[UVIRTIO_NUM_REGIONS];
	uint8_t *pool;		/* FZ_POOL_PAGES: memfd, anon, RO, PROT_NONE */
	uint8_t *scratch;	/* 4 pages, then a PROT_NONE guard page */
	int memfd;
	int game_fd;		/* a dup of dev, closed by anyone */
	pthread_mutex_t lock;
	struct fz_buf maps[FZ_MAX_LIVE], allocs[FZ_MAX_LIVE];
	int nmaps, nallocs;
	uint64_t calls_per_thread;
	double deadline;
	/* results */
	uint64_t calls, ok, forks;
	uint64_t per_errno[FZ_MAX_ERRNO];
	uint64_t per_kind[FZ_NKINDS];
	uint64_t bad;
	char msgs[FZ_MAX_MSGS][160];
};

struct fz_thread {
	struct fz *fz;
	uint64_t s;
	int idx;
	int efd;
	uint8_t *arg;		/* 2 pages, then a PROT_NONE guard page */
	pthread_t th;
};

static bool fz_allowed(int kind, int e)
{
	int i;

	if (kind == FZ_ANY)
		return true;
	if (kind == FZ_UNKNOWN)
		return e == ENOTTY;
	if (kind < FZ_NCMDS && (e == EFAULT || e == EINVAL || e == E2BIG ||
				e == ENOTTY))
		return true;
	for (i = 0; i < 8 && fz_errs[kind][i]; i++)
		if (fz_errs[kind][i] == e)
			return true;
	return false;
}

/* Account one call: @ret < 0 means failure with errno @e. */
static void fz_account(struct fz *fz, int kind, long ret, int e,
		       const char *what)
{
	__atomic_add_fetch(&fz->calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&fz->per_kind[kind], 1, __ATOMIC_RELAXED);
	if (ret >= 0) {
		__atomic_add_fetch(&fz->ok, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&fz->per_errno[e < FZ_MAX_ERRNO && e >= 0 ? e : 0], 1,
			   __ATOMIC_RELAXED);
	if (!fz_allowed(kind, e)) {
		uint64_t n = __atomic_fetch_add(&fz->bad, 1, __ATOMIC_RELAXED);

		if (n < FZ_MAX_MSGS)
			snprintf(fz->msgs[n], sizeof(fz->msgs[n]),
				 "%s: undocumented errno %d (%s) %s",
				 fz_names[kind], e, strerror(e), what ? what : "");
	}
}

static void fz_account_fd(struct fz *fz, int fd, int kind, long ret, int e,
			  const char *what)
{
	fz_account(fz, fd == fz->dev || fd == fz->ctl ? kind : FZ_ANY, ret, e,
		   what);
}

/* A size for an ioctl struct of @size bytes (first version @size too). */
static uint32_t fz_size(uint64_t *s, uint32_t size, int *mode)
{
	*mode = rnd(s) % 16;
	switch (*mode) {
	case 0: return 0;
	case 1: return 1 + rnd(s) % (size - 1);		/* short */
	case 2: return size + 1 + rnd(s) % 64;		/* long, zero tail */
	case 3: return size + 1 + rnd(s) % 64;		/* long, junk tail */
	case 4: return PAGE + rnd(s) % 4;		/* over PAGE_SIZE */
	case 5: return (uint32_t)rnd(s);		/* huge */
	case 6: return PAGE;				/* exactly a page */
	default: return size;
	}
}

static uint64_t fz_pick_handle(struct fz *fz, uint64_t *s, bool alloc,
			       bool remove, uint64_t *len, uint64_t *off)
{
	struct fz_buf *arr = alloc ? fz->allocs : fz->maps;
	int *n = alloc ? &fz->nallocs : &fz->nmaps;
	uint64_t h;
	int i;

	if (rnd(s) % 4 == 0 || !*n) {
		switch (rnd(s) % 4) {
		case 0: return 0;
		case 1: return ~0ULL;
		case 2: return rnd(s) % 64;
		default: return rnd(s);
		}
	}
	pthread_mutex_lock(&fz->lock);
	if (!*n) {
		pthread_mutex_unlock(&fz->lock);
		return 1;
	}
	i = rnd(s) % *n;
	h = arr[i].handle;
	if (len)
		*len = arr[i].len;
	if (off)
		*off = arr[i].off;
	if (remove)
		arr[i] = arr[--*n];
	pthread_mutex_unlock(&fz->lock);
	return h;
}

static void fz_record(struct fz *fz, bool alloc, uint64_t h, uint64_t off,
		      uint64_t len)
{
	struct fz_buf *arr = alloc ? fz->allocs : fz->maps;
	int *n = alloc ? &fz->nallocs : &fz->nmaps;

	pthread_mutex_lock(&fz->lock);
	if (*n < FZ_MAX_LIVE)
		arr[(*n)++] = (struct fz_buf){ h, off, len };
	pthread_mutex_unlock(&fz->lock);
}

/* Some eventfd-ish integer: own eventfd, -1, junk, the device fd. */
static int fz_pick_fd(struct fz_thread *t)
{
	switch (rnd(&t->s) % 6) {
	case 0: return -1;
	case 1: return (int)(rnd(&t->s) % 64);
	case 2: return t->fz->dev;
	case 3: return (int)rnd(&t->s);
	default: return t->efd;
	}
}

static uint32_t fz_index(uint64_t *s, uint32_t nvec)
{
	switch (rnd(s) % 5) {
	case 0: return (uint32_t)rnd(s);
	case 1: return nvec + rnd(s) % 4;
	default: return nvec ? rnd(s) % nvec : 0;
	}
}

/* Fill @a with a plausible struct for @kind. */
/* An IOVA for UVIRTIO_DMA_FIXED_IOVA: good, reserved, unaligned, wild. */
static uint64_t fz_iova(uint64_t *s)
{
	switch (rnd(s) % 6) {
	case 0: return 0xfee00000ULL + (rnd(s) % 256) * PAGE;	/* MSI */
	case 1: return (1ULL << 32) - (1 + rnd(s) % 4) * PAGE;	/* 4 GiB */
	case 2: return rnd(s);
	case 3: return -(uint64_t)PAGE * (1 + rnd(s) % 4);	/* wraps */
	case 4: return (1ULL << 30) + (rnd(s) % 64) * PAGE + rnd(s) % 2;
	default: return (1ULL << 20) + (rnd(s) % 1024) * PAGE;
	}
}

static void fz_fill(struct fz_thread *t, int kind, uint8_t *a, uint32_t size)
{
	struct fz *fz = t->fz;
	uint64_t *s = &t->s;
	uint32_t nvec = fz->info.num_msix ? fz->info.num_msix : 1;
	uint32_t flags = rnd(s) % 8 ? 0 : (uint32_t)rnd(s);

	memset(a, 0, 512);
	*(uint32_t *)a = size;
	((uint32_t *)a)[1] = flags;
	switch (kind) {
	case FZ_LIST: {
		struct uvirtio_list_devices *l = (void *)a;

		l->count = rnd(s) % 3 ? rnd(s) % 8 : (uint32_t)rnd(s);
		l->entry_size = rnd(s) % 2 ? sizeof(struct uvirtio_device_entry) :
					     rnd(s) % (PAGE + 2);
		l->entries = rnd(s) % 8 ? (uintptr_t)fz->scratch +
					  (rnd(s) % 4) * PAGE : rnd(s);
		break;
	}
	case FZ_OPEN: {
		struct uvirtio_device_open *o = (void *)a;

		o->pci_addr = rnd(s) % 2 ? uv_pci_addr(fz->bdf) :
			      rnd(s) % 2 ? UVIRTIO_PCI_ADDR(0, 0, rnd(s) % 32, 0) :
			      (uint32_t)rnd(s);
		o->fd = (int32_t)rnd(s);
		break;
	}
	case FZ_REGION: {
		struct uvirtio_region_info *r = (void *)a;

		r->index = rnd(s) % 4 ? rnd(s) % 9 : (uint32_t)rnd(s);
		break;
	}
	case FZ_MAP: {
		struct uvirtio_dma_map *m = (void *)a;
		uint64_t p = rnd(s) % FZ_POOL_PAGES, n = 1 + rnd(s) % 8;

		m->flags = rnd(s) % 8 ? 1 + rnd(s) % 3 : flags;
		m->vaddr = (uintptr_t)fz->pool + p * PAGE;
		m->length = n * PAGE;
		switch (rnd(s) % 12) {
		case 0: m->vaddr += 1 + rnd(s) % (PAGE - 1); break;
		case 1: m->length = rnd(s) % 2 ? 0 : 1 + rnd(s) % PAGE; break;
		case 2: m->length = 1ULL << (30 + rnd(s) % 34); break;
		case 3: m->vaddr = -PAGE * (1 + rnd(s) % 4); break;
		case 4: m->vaddr = rnd(s) & ~(PAGE - 1); break;
		case 5: m->vaddr = 0; break;
		}
		if (rnd(s) % 4 == 0) {
			m->flags |= UVIRTIO_DMA_FIXED_IOVA;
			m->iova = fz_iova(s);
		}
		m->nr_segments = rnd(s) % 4 ? rnd(s) % 300 : (uint32_t)rnd(s);
		m->segments = rnd(s) % 3 == 0 ? 0 :
			      rnd(s) % 8 ? (uintptr_t)fz->scratch +
					   (rnd(s) % 4) * PAGE : rnd(s);
		break;
	}
	case FZ_UNMAP:
	case FZ_FREE:
		((struct uvirtio_dma_unmap *)a)->handle =
			fz_pick_handle(fz, s, kind == FZ_FREE, true, NULL, NULL);
		break;
	case FZ_ALLOC: {
		struct uvirtio_dma_alloc *al = (void *)a;

		switch (rnd(s) % 8) {
		case 0: al->length = 0; break;
		case 1: al->length = 1 + rnd(s) % PAGE; break;
		case 2: al->length = rnd(s) % 2 ? ~0ULL - rnd(s) % PAGE :
					      1ULL << (31 + rnd(s) % 33);
			break;
		case 3: al->length = 1ULL << (21 + rnd(s) % 5); break;	/* 2-32 MiB */
		default: al->length = (1 + rnd(s) % 16) * PAGE; break;
		}
		if (rnd(s) % 4 == 0) {
			al->flags = rnd(s) % 8 ? UVIRTIO_DMA_FIXED_IOVA : flags;
			al->iova = fz_iova(s);
		}
		break;
	}
	case FZ_IOVA: {
		struct uvirtio_iova_ranges *r = (void *)a;

		r->num_ranges = rnd(s) % 4 ? rnd(s) % 8 : (uint32_t)rnd(s);
		r->ranges = rnd(s) % 8 ? (uintptr_t)fz->scratch +
					 (rnd(s) % 4) * PAGE : rnd(s);
		break;
	}
	case FZ_IRQ_EN: {
		struct uvirtio_irq_enable *e = (void *)a;

		e->type = rnd(s) % 4 ? 1 + rnd(s) % 2 : (uint32_t)rnd(s) % 5;
		e->count = rnd(s) % 4 ? 1 + rnd(s) % nvec : fz_index(s, nvec + 1);
		break;
	}
	case FZ_IRQ_EFD: {
		struct uvirtio_irq_set_eventfd *e = (void *)a;

		e->index = fz_index(s, nvec);
		e->fd = fz_pick_fd(t);
		break;
	}
	case FZ_IRQ_AFF: {
		struct uvirtio_irq_set_affinity *e = (void *)a;

		e->index = fz_index(s, nvec);
		e->cpu = rnd(s) % 4 ? (int32_t)(rnd(s) % 5) - 1 : (int32_t)rnd(s);
		break;
	}
	case FZ_IRQ_MASK:
		((struct uvirtio_irq_mask *)a)->flags = rnd(s) % 8 ? rnd(s) % 2 :
							flags;
		((struct uvirtio_irq_mask *)a)->index = fz_index(s, nvec);
		break;
	case FZ_IRQ_TRIG:
		((struct uvirtio_irq_trigger *)a)->index = fz_index(s, nvec);
		break;
	case FZ_RESET:
		/* a plain reset now and then, FLR (slow) rarely */
		((uint32_t *)a)[1] = rnd(s) % 40 == 0 ? UVIRTIO_RESET_FLR :
				     rnd(s) % 2 ? 0 : flags | 2;
		break;
	case FZ_REMOVE_EFD:
		((struct uvirtio_set_remove_eventfd *)a)->fd = fz_pick_fd(t);
		break;
	}
}

/* One ioctl, structure-aware or random. */
static void fz_ioctl(struct fz_thread *t)
{
	struct fz *fz = t->fz;
	uint64_t *s = &t->s;
	int kind = rnd(s) % (FZ_NCMDS + 1), mode, fd, e, game;
	uint32_t size, i;
	uint8_t *a = t->arg;
	unsigned long cmd;
	char what[64];
	long ret;

	if (kind == FZ_UNKNOWN) {
		cmd = rnd(s) % 2 ? _IO(UVIRTIO_TYPE, rnd(s) % 256) : (unsigned long)rnd(s);
		for (i = 0; i < FZ_NCMDS; i++)
			if (cmd == fz_cmds[i])
				return;
		fd = rnd(s) % 2 ? fz->dev : fz->ctl;
		memset(a, 0, 64);
		*(uint32_t *)a = 64;
		ret = ioctl(fd, cmd, a);
		e = errno;
		snprintf(what, sizeof(what), "cmd %#lx", cmd);
		fz_account(fz, kind, ret, e, what);
		return;
	}
	/* a DEVICE_RESET, an FLR above all, is slow: keep them rare */
	if (kind == FZ_RESET && rnd(s) % 16)
		kind = FZ_INFO;
	cmd = fz_cmds[kind];
	size = fz_size(s, fz_sizes[kind], &mode);
	if (rnd(s) % 16 == 0) {
		/* random bytes after size */
		memset(a, 0, 512);
		for (i = 4; i < 256; i++)
			a[i] = (uint8_t)rnd(s);
		*(uint32_t *)a = size;
		/* never hand the kernel a user pointer into live memory,
		 * nor a length it could really allocate */
		if (kind == FZ_LIST)
			memset(a + offsetof(struct uvirtio_list_devices, entries), 0xff, 8);
		if (kind == FZ_MAP) {
			memset(a + offsetof(struct uvirtio_dma_map, vaddr), 0xff, 8);
			memset(a + offsetof(struct uvirtio_dma_map, segments), 0xff, 8);
		}
		if (kind == FZ_ALLOC)
			memset(a + offsetof(struct uvirtio_dma_alloc, length), 0xff, 8);
	} else {
		fz_fill(t, kind, a, size);
		if (mode == 3 && size > fz_sizes[kind] && size < 512)
			a[fz_sizes[kind] + rnd(s) % (size - fz_sizes[kind])] = 1 + rnd(s) % 255;
	}
	/* bad pointers: NULL, PROT_NONE, a struct running into the guard */
	switch (rnd(s) % 32) {
	case 0: a = NULL; break;
	case 1: a = fz->pool + (FZ_POOL_PAGES - 1) * PAGE; break;
	case 2: {
		uint32_t k = 1 + rnd(s) % 8;

		memmove(t->arg + 2 * PAGE - k, t->arg, k);
		a = t->arg + 2 * PAGE - k;
		break;
	}
	}
	/* the wrong kind of fd, or the game fd */
	game = 0;
	fd = kind <= FZ_OPEN ? fz->ctl : fz->dev;
	if (rnd(s) % 32 == 0)
		fd = fd == fz->ctl ? fz->dev : fz->ctl;
	else if (rnd(s) % 16 == 0) {
		fd = __atomic_load_n(&fz->game_fd, __ATOMIC_RELAXED);
		game = 1;
		/* a stale number may be anything by now: no BAR games on it */
		if (fd < 0)
			fd = fz->dev;
	}
	ret = ioctl(fd, cmd, a);
	e = errno;
	snprintf(what, sizeof(what), "size %u mode %d%s", size, mode,
		 fd == fz->ctl && kind > FZ_OPEN ? " (ctl fd)" : "");
	fz_account(fz, game ? FZ_ANY : kind, ret, e, what);
	if (ret || !a)
		return;
	/* bookkeeping of what a success created */
	if (kind == FZ_OPEN && size >= 16 && fd == fz->ctl) {
		int nfd = ((struct uvirtio_device_open *)a)->fd;

		if (nfd > 2 && nfd != fz->dev && nfd != fz->ctl &&
		    nfd != fz->memfd && nfd != t->efd)
			close(nfd);
	} else if (kind == FZ_MAP && size >= sizeof(struct uvirtio_dma_map) &&
		   !game && fd == fz->dev) {
		struct uvirtio_dma_map *m = (void *)a;

		fz_record(fz, false, m->handle, 0, m->length);
	} else if (kind == FZ_ALLOC && size >= sizeof(struct uvirtio_dma_alloc) &&
		   !game && fd == fz->dev) {
		struct uvirtio_dma_alloc *al = (void *)a;
		struct uvirtio_dma_free fr = { sizeof(fr), 0, al->handle };

		if (fz->nallocs >= FZ_MAX_LIVE)
			ioctl(fz->dev, UVIRTIO_DMA_FREE, &fr);
		else
			fz_record(fz, true, al->handle, al->mmap_offset,
				  (al->length + PAGE - 1) & ~(PAGE - 1));
	}
}

static void fz_mmap(struct fz_thread *t)
{
	struct fz *fz = t->fz;
	uint64_t *s = &t->s;
	uint64_t off, len, blen = 0, boff = 0, rsize;
	int flags = rnd(s) % 16 ? MAP_SHARED : MAP_PRIVATE, e, fd = fz->dev;
	uint32_t idx;
	char what[96];
	void *p;

	switch (rnd(s) % 3) {
	case 0:	/* a DMA buffer, live or freed or never there */
		fz_pick_handle(fz, s, true, false, &blen, &boff);
		if (!boff)
			boff = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE +
						     rnd(s) % 128);
		off = boff + (rnd(s) % 4 ? 0 : (rnd(s) % 8) * PAGE);
		len = rnd(s) % 4 ? (blen ? blen : PAGE) : (1 + rnd(s) % 32) * PAGE;
		break;
	case 1:	/* a BAR or config space */
		idx = rnd(s) % UVIRTIO_NUM_REGIONS;
		rsize = fz->reg[idx].region_size;
		off = UVIRTIO_REGION_OFFSET(idx);
		if (rsize && rnd(s) % 4) {
			off += (rnd(s) % (rsize / PAGE + 1)) * PAGE;
			len = (1 + rnd(s) % (rsize / PAGE + 1)) * PAGE;
		} else {
			off += rnd(s) % 2 ? rnd(s) % (1 << 20) : 0;
			len = 1 + rnd(s) % (1 << 20);
		}
		/* the MSI-X range itself */
		if ((fz->reg[idx].flags & UVIRTIO_REGION_INFO_MSIX) && rnd(s) % 4 == 0) {
			off = UVIRTIO_REGION_OFFSET(idx) + fz->reg[idx].msix_start;
			len = PAGE;
		}
		break;
	default:	/* anywhere */
		off = rnd(s) % 2 ? rnd(s) & ~(PAGE - 1) :
		      UVIRTIO_REGION_OFFSET(rnd(s) % 40) + (rnd(s) % 64) * PAGE;
		len = rnd(s) % 2 ? PAGE : rnd(s) % (1 << 22);
		break;
	}
	if (rnd(s) % 64 == 0) {
		fd = __atomic_load_n(&fz->game_fd, __ATOMIC_RELAXED);
		if (fd < 0)
			fd = fz->dev;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, (off_t)off);
	e = errno;
	snprintf(what, sizeof(what), "off %#" PRIx64 " len %#" PRIx64 " %s", off,
		 len, flags == MAP_SHARED ? "shared" : "private");
	fz_account_fd(fz, fd, FZ_MMAP, p == MAP_FAILED ? -1 : 0, e, what);
	if (p == MAP_FAILED)
		return;
	/* touch the first byte: a read is harmless on BARs and buffers */
	(void)*(volatile uint8_t *)p;
	munmap(p, len);
}

/* Registers that are safe to write with any value (no DMA follows). */
static bool fz_safe_bar_write(struct fz *fz, uint32_t idx, uint64_t off,
			      uint32_t width, uint64_t *val)
{
	const struct uvirtio_virtio_cap *c = &fz->info.caps[UVIRTIO_VCAP_COMMON];

	if (!c->present || c->bar != idx)
		return false;
	/* queue_select: any value */
	if (off == c->offset + 22 && width == 2)
		return true;
	/* device_status: 0 (reset) only */
	if (off == c->offset + 20 && width == 1) {
		*val = 0;
		return true;
	}
	return false;
}

static void fz_rw(struct fz_thread *t, bool write)
{
	static const uint32_t widths[] = { 1, 2, 4, 8, 0, 3, 16, 1, 2, 4 };
	struct fz *fz = t->fz;
	uint64_t *s = &t->s;
	uint32_t idx = rnd(s) % 16 ? rnd(s) % UVIRTIO_NUM_REGIONS :
		       (uint32_t)rnd(s) % 64;
	uint32_t width = widths[rnd(s) % 10];
	const struct uvirtio_region_info *r = idx < UVIRTIO_NUM_REGIONS ?
					      &fz->reg[idx] : NULL;
	uint64_t rsize = r ? r->region_size : 0, off, val = rnd(s);
	int fd = fz->dev, e, kind = write ? FZ_PWRITE : FZ_PREAD;
	char what[96];
	long ret;

	if (rsize && rnd(s) % 8)
		off = rnd(s) % 4 ? (rnd(s) % rsize) & ~(uint64_t)(width ? width - 1 : 0) :
		      rsize - width + rnd(s) % 3;
	else
		off = rnd(s) % 4 ? rnd(s) % (1 << 16) : rnd(s);
	if (r && (r->flags & UVIRTIO_REGION_INFO_MSIX) && rnd(s) % 8 == 0)
		off = rnd(s) % 2 ? r->msix_start : r->msix_end - width;
	if (write && idx != UVIRTIO_REGION_CONFIG && rsize && off < rsize &&
	    off + width <= rsize && width && !(off % width)) {
		/*
		 * An access the kernel may carry out: only to registers that
		 * cannot start DMA.  Elsewhere write back what is there.  The
		 * MSI-X range is refused (EPERM) whatever the value.
		 */
		bool msix = (r->flags & UVIRTIO_REGION_INFO_MSIX) &&
			    off + width > r->msix_start && off < r->msix_end;

		if (!msix && !fz_safe_bar_write(fz, idx, off, width, &val)) {
			if (rnd(s) % 2 || !fz->info.caps[UVIRTIO_VCAP_COMMON].present)
				return;
			off = fz->info.caps[UVIRTIO_VCAP_COMMON].offset + 22;
			width = 2;
			idx = fz->info.caps[UVIRTIO_VCAP_COMMON].bar;
		}
		if (msix && pread(fd, &val, width,
				  UVIRTIO_REGION_OFFSET(idx) + off) != width)
			val = 0;
	}
	if (write && idx == UVIRTIO_REGION_CONFIG && rnd(s) % 4 == 0) {
		/* toggle Bus Master Enable, the one writable bit */
		uint16_t cmd;

		if (pread(fd, &cmd, 2, UVIRTIO_REGION_OFFSET(idx) + PCI_COMMAND) == 2) {
			val = cmd ^ PCI_COMMAND_MASTER;
			off = PCI_COMMAND;
			width = rnd(s) % 2 ? 2 : 1;
		}
	}
	if (rnd(s) % 64 == 0) {
		fd = __atomic_load_n(&fz->game_fd, __ATOMIC_RELAXED);
		if (fd < 0 || write)
			fd = fz->dev;
	}
	if (write)
		ret = pwrite(fd, &val, width, (off_t)(UVIRTIO_REGION_OFFSET(idx) + off));
	else
		ret = pread(fd, &val, width, (off_t)(UVIRTIO_REGION_OFFSET(idx) + off));
	e = errno;
	snprintf(what, sizeof(what), "region %u off %#" PRIx64 " width %u -> %ld",
		 idx, off, width, ret);
	if (ret >= 0 && ret != (long)width && fd == fz->dev) {
		/* a success must transfer exactly the width */
		ret = -1;
		e = 0;
	}
	fz_account_fd(fz, fd, kind, ret, e, what);
}

/*
 * The child of a fork() uses the inherited device fd (no locks, no
 * stdio); results go to the shared counters.
 */
static int fz_child(struct fz *fz, uint64_t s)
{
	uint64_t bad0 = __atomic_load_n(&fz->bad, __ATOMIC_RELAXED);
	int i;

	for (i = 0; i < 40; i++) {
		struct uvirtio_device_info info = { .size = sizeof(info) };
		struct uvirtio_region_info ri = { .size = sizeof(ri) };
		struct uvirtio_dma_alloc al = { .size = sizeof(al), .length = PAGE };
		struct uvirtio_dma_free fr = { .size = sizeof(fr) };
		struct uvirtio_dma_map m = { .size = sizeof(m) };
		struct uvirtio_irq_trigger tr = { .size = sizeof(tr) };
		uint32_t v;
		long ret;
		void *p;

		switch (rnd(&s) % 6) {
		case 0:
			ret = ioctl(fz->dev, UVIRTIO_DEVICE_GET_INFO, &info);
			fz_account(fz, FZ_INFO, ret, errno, "(child)");
			break;
		case 1:
			ri.index = rnd(&s) % 10;
			ret = ioctl(fz->dev, UVIRTIO_REGION_GET_INFO, &ri);
			fz_account(fz, FZ_REGION, ret, errno, "(child)");
			break;
		case 2:
			ret = pread(fz->dev, &v, 4, UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG) +
				    (rnd(&s) % 64) * 4);
			fz_account(fz, FZ_PREAD, ret == 4 ? 0 : -1, ret < 0 ? errno : 0,
				   "(child, config)");
			break;
		case 3:
			ret = ioctl(fz->dev, UVIRTIO_DMA_ALLOC, &al);
			fz_account(fz, FZ_ALLOC, ret, errno, "(child)");
			if (ret)
				break;
			p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				 fz->dev, al.mmap_offset);
			fz_account(fz, FZ_MMAP, p == MAP_FAILED ? -1 : 0, errno,
				   "(child, fresh buffer)");
			if (p != MAP_FAILED) {
				*(volatile uint8_t *)p = 1;
				munmap(p, PAGE);
			}
			fr.handle = al.handle;
			ret = ioctl(fz->dev, UVIRTIO_DMA_FREE, &fr);
			/* another thread of the parent may have freed it */
			fz_account(fz, FZ_FREE, ret, errno, "(child)");
			break;
		case 4:
			/* left mapped on purpose: the pins outlive this mm */
			p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				break;
			m.flags = UVIRTIO_DMA_BIDIRECTIONAL;
			m.vaddr = (uintptr_t)p;
			m.length = PAGE;
			ret = ioctl(fz->dev, UVIRTIO_DMA_MAP, &m);
			fz_account(fz, FZ_MAP, ret, errno, "(child)");
			break;
		default:
			tr.index = rnd(&s) % 4;
			ret = ioctl(fz->dev, UVIRTIO_IRQ_TRIGGER, &tr);
			fz_account(fz, FZ_IRQ_TRIG, ret, errno, "(child)");
			break;
		}
	}
	return __atomic_load_n(&fz->bad, __ATOMIC_RELAXED) != bad0;
}

static void fz_games(struct fz_thread *t)
{
	struct fz *fz = t->fz;
	uint64_t *s = &t->s;
	int g, status;
	pid_t pid;

	switch (rnd(s) % 4) {
	case 0:	/* dup the device fd as the shared game fd */
		g = dup(fz->dev);
		if (g < 0)
			return;
		if (!__atomic_compare_exchange_n(&fz->game_fd, &(int){ -1 }, g, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			close(g);
		break;
	case 1:	/* close it, maybe while another thread is in a call on it */
		g = __atomic_exchange_n(&fz->game_fd, -1, __ATOMIC_ACQ_REL);
		if (g >= 0)
			close(g);
		break;
	case 2:	/* drain our eventfd */
		eventfd_read(t->efd, &(eventfd_t){ 0 });
		break;
	default:	/* fork; the child uses the device fd */
		if (rnd(s) % 8)
			return;
		pid = fork();
		if (pid < 0)
			return;
		if (!pid)
			_exit(fz_child(fz, t->s ^ 0x5555));
		__atomic_add_fetch(&fz->forks, 1, __ATOMIC_RELAXED);
		if (waitpid(pid, &status, 0) == pid && !WIFEXITED(status)) {
			uint64_t n = __atomic_fetch_add(&fz->bad, 1, __ATOMIC_RELAXED);

			if (n < FZ_MAX_MSGS)
				snprintf(fz->msgs[n], sizeof(fz->msgs[n]),
					 "forked child died: status %#x", status);
		}
		break;
	}
}

static void *fz_thread_fn(void *arg)
{
	struct fz_thread *t = arg;
	struct fz *fz = t->fz;
	uint64_t i;

	for (i = 0; i < fz->calls_per_thread; i++) {
		uint32_t r = rnd(&t->s) % 100;

		if ((i & 255) == 0 && uv_now_s() > fz->deadline)
			break;
		if (r < 55)
			fz_ioctl(t);
		else if (r < 67)
			fz_mmap(t);
		else if (r < 82)
			fz_rw(t, false);
		else if (r < 97)
			fz_rw(t, true);
		else
			fz_games(t);
	}
	return NULL;
}

FIXTURE(fuzz) {
	struct fz *fz;
	int restore_unsafe;
};

FIXTURE_SETUP(fuzz)
{
	const char *want = getenv("UVIRTIO_FUZZ_BDF");
	char why[128];
	struct fz *fz;

	self->restore_unsafe = 0;
	self->fz = fz = mmap(NULL, sizeof(*fz), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fz);
	memset(fz, 0, sizeof(*fz));
	fz->ctl = fz->dev = fz->memfd = fz->game_fd = -1;
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (want && *want)
		uv_copy(fz->bdf, sizeof(fz->bdf), want);
	else if (uv_find_device(VIRTIO_ID_RNG, 1, fz->bdf, sizeof(fz->bdf)) &&
		 uv_find_device(VIRTIO_ID_RNG, -1, fz->bdf, sizeof(fz->bdf)))
		SKIP(return, "no virtio-rng PCI function (set UVIRTIO_FUZZ_BDF)");
	if (uv_claim(fz->bdf))
		SKIP(return, "could not bind %s to uvirtio", fz->bdf);
	/* The DMA success paths are the interesting ones. */
	if (dma_enable(fz->bdf, &self->restore_unsafe, why, sizeof(why)))
		TH_LOG("%s: fuzzing the refusals only", why);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->restore_unsafe)
		uv_write_file(UNSAFE_PARAM, "0");
}

TEST_F_TIMEOUT(fuzz, ioctl_mmap, 560)
{
	struct fz *fz = self->fz;
	uint64_t calls = env_u64("UVIRTIO_FUZZ_CALLS", 100000);
	uint64_t seed = env_u64("UVIRTIO_FUZZ_SEED", 0);
	double budget = (double)env_u64("UVIRTIO_FUZZ_SECS", 150), t0, el;
	int nthreads = (int)env_u64("UVIRTIO_FUZZ_THREADS", 0), i, fd;
	struct fz_thread th[FZ_MAX_THREADS];
	struct uvirtio_device_reset rs = { .size = sizeof(rs) };
	struct uvirtio_irq_disable dis = { .size = sizeof(dis) };
	uint64_t s;
	long d;
	uint8_t *p;

	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	s = seed | 1;
	if (nthreads < 2 || nthreads > FZ_MAX_THREADS)
		nthreads = 2 + rnd(&s) % 3;

	fz->ctl = open("/dev/uvirtio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fz->ctl);
	fz->dev = open_retry(fz->bdf);
	ASSERT_LE(0, fz->dev) TH_LOG("DEVICE_OPEN %s: %s", fz->bdf, strerror(errno));
	fz->info.size = sizeof(fz->info);
	ASSERT_EQ(0, ioctl(fz->dev, UVIRTIO_DEVICE_GET_INFO, &fz->info));
	for (i = 0; i < UVIRTIO_NUM_REGIONS; i++) {
		fz->reg[i].size = sizeof(fz->reg[i]);
		fz->reg[i].index = i;
		ASSERT_EQ(0, ioctl(fz->dev, UVIRTIO_REGION_GET_INFO, &fz->reg[i]));
	}
	pthread_mutex_init(&fz->lock, NULL);

	/*
	 * The pool: pages 0-15 a shared memfd, 16-47 private anonymous,
	 * 48-55 read-only, 56-63 PROT_NONE.
	 */
	fz->memfd = memfd_create("uvirtio-fuzz", MFD_CLOEXEC);
	ASSERT_LE(0, fz->memfd);
	ASSERT_EQ(0, ftruncate(fz->memfd, 16 * PAGE));
	p = mmap(NULL, FZ_POOL_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, mmap(p, 16 * PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, fz->memfd, 0));
	memset(p, 0x5a, 48 * PAGE);
	ASSERT_EQ(0, mprotect(p + 48 * PAGE, 8 * PAGE, PROT_READ));
	ASSERT_EQ(0, mprotect(p + 56 * PAGE, 8 * PAGE, PROT_NONE));
	fz->pool = p;
	p = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + 4 * PAGE, PAGE, PROT_NONE));
	fz->scratch = p;

	/*
	 * Without CAP_IPC_LOCK, against a 64 MiB RLIMIT_MEMLOCK: a caller
	 * with the capability is not charged, and a huge DMA_ALLOC then
	 * runs the machine out of memory (the OOM killer, not an errno).
	 */
	{
		struct rlimit rl = { 64 << 20, 64 << 20 };
		const int caps[] = { CAP_IPC_LOCK, -1 };

		ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
		ASSERT_EQ(0, uv_drop_caps(caps));
	}
	fz->calls_per_thread = calls / nthreads;
	t0 = uv_now_s();
	fz->deadline = t0 + budget;
	TH_LOG("%s (iommu mode %u, %u MSI-X vectors): %" PRIu64
	       " calls on %d threads (budget %.0f s), seed %#" PRIx64,
	       fz->bdf, fz->info.iommu_mode, fz->info.num_msix, calls, nthreads,
	       budget, seed);
	ksft_print_msg("fuzz: UVIRTIO_FUZZ_SEED=%#" PRIx64 "\n", seed);
	for (i = 0; i < nthreads; i++) {
		th[i].fz = fz;
		th[i].idx = i;
		th[i].s = (seed + 0x9e3779b97f4a7c15ULL * (i + 1)) | 1;
		th[i].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, th[i].efd);
		th[i].arg = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, th[i].arg);
		ASSERT_EQ(0, mprotect(th[i].arg + 2 * PAGE, PAGE, PROT_NONE));
		ASSERT_EQ(0, pthread_create(&th[i].th, NULL, fz_thread_fn, &th[i]));
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i].th, NULL);
	el = uv_now_s() - t0;

	{
		char line[1024];
		int n = 0, e;

		for (e = 1; e < FZ_MAX_ERRNO; e++)
			if (fz->per_errno[e] && n < (int)sizeof(line) - 32)
				n += snprintf(line + n, sizeof(line) - n, " %s=%" PRIu64,
					      strerrorname_np(e) ? strerrorname_np(e) : "?",
					      fz->per_errno[e]);
		TH_LOG("%" PRIu64 " calls in %.1f s (%.0f/s), %" PRIu64 " succeeded, %"
		       PRIu64 " forks; errnos:%s", fz->calls, el, fz->calls / el,
		       fz->ok, fz->forks, line);
		n = 0;
		for (e = 0; e < FZ_NKINDS; e++)
			n += snprintf(line + n, sizeof(line) - n, " %s=%" PRIu64,
				      fz_names[e], fz->per_kind[e]);
		TH_LOG("calls by kind:%s", line);
	}
	for (i = 0; i < (int)fz->bad && i < FZ_MAX_MSGS; i++)
		TH_LOG("%s", fz->msgs[i]);
	EXPECT_EQ(0, fz->bad);
	ksft_print_msg("fuzz: %" PRIu64 " calls in %.1f s on %d threads, %" PRIu64
		       " unexpected\n", fz->calls, el, nthreads, fz->bad);
	ksft_print_msg("UVIRTIO-SUMMARY fuzz calls=%" PRIu64 " unexpected=%" PRIu64 "\n",
		       fz->calls, fz->bad);

	/* Clean up: the device resets and closes cleanly, pins balance. */
	fd = __atomic_exchange_n(&fz->game_fd, -1, __ATOMIC_ACQ_REL);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, ioctl(fz->dev, UVIRTIO_IRQ_DISABLE, &dis));
	EXPECT_EQ(0, ioctl(fz->dev, UVIRTIO_DEVICE_RESET, &rs))
		TH_LOG("reset after fuzzing: %s", strerror(errno));
	for (i = 0; i < nthreads; i++)
		close(th[i].efd);
	close(fz->dev);
	close(fz->ctl);
	d = uv_pins_settle(NULL);
	EXPECT_EQ(0, d) TH_LOG("%ld pins left after close", d);
	fd = open_retry(fz->bdf);
	EXPECT_LE(0, fd) TH_LOG("reopen: %s", strerror(errno));
	if (fd >= 0) {
		EXPECT_EQ(0, ioctl(fd, UVIRTIO_DEVICE_RESET, &rs));
		close(fd);
	}
	d = uv_pins_settle(NULL);
	EXPECT_EQ(0, d);
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
