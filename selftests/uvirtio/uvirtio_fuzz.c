// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl/mmap fuzzer of uvirtio (see Documentation/reliability.rst):
 *
 *  - fuzz.ioctl_mmap: random and structure-aware ioctls, mmap()s and
 *    pread()/pwrite()s on the control fd and a device fd from several
 *    threads at once, with fd games (dup, close from another thread, use
 *    from a forked child).  Every call must succeed or fail with an errno
 *    Documentation/uapi.rst lists for it.
 *
 * Environment: UVIRTIO_FUZZ_CALLS, UVIRTIO_FUZZ_SECS, UVIRTIO_FUZZ_SEED,
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

#include "kselftest_harness.h"
#include "uvirtio_util.h"

#define PAGE		4096UL


#define FZ_POOL_PAGES	64
#define FZ_MAX_LIVE	32
#define FZ_MAX_THREADS	4
#define FZ_MAX_ERRNO	256
#define FZ_MAX_MSGS	20

enum fz_op_kind {
	FZ_API, FZ_LIST, FZ_OPEN, FZ_INFO, FZ_REGION, FZ_MAP, FZ_UNMAP,
	FZ_ALLOC, FZ_FREE, FZ_IRQ_EN, FZ_IRQ_DIS, FZ_IRQ_EFD, FZ_IRQ_AFF,
	FZ_IRQ_MASK, FZ_IRQ_TRIG, FZ_RESET, FZ_REMOVE_EFD, FZ_IOVA,
	FZ_KEEPALIVE, FZ_DMA_LIST, FZ_NCMDS,
	FZ_UNKNOWN = FZ_NCMDS, FZ_MMAP, FZ_PREAD, FZ_PWRITE, FZ_ANY,
	FZ_NKINDS
};

static const char *const fz_names[FZ_NKINDS] = {
	"GET_API_VERSION", "LIST_DEVICES", "DEVICE_OPEN", "DEVICE_GET_INFO",
	"REGION_GET_INFO", "DMA_MAP", "DMA_UNMAP", "DMA_ALLOC", "DMA_FREE",
	"IRQ_ENABLE", "IRQ_DISABLE", "IRQ_SET_EVENTFD", "IRQ_SET_AFFINITY",
	"IRQ_MASK", "IRQ_TRIGGER", "DEVICE_RESET", "SET_REMOVE_EVENTFD",
	"IOVA_RANGES", "KEEPALIVE", "DMA_LIST", "unknown ioctl", "mmap",
	"pread", "pwrite", "(stale fd)",
};

static const unsigned long fz_cmds[FZ_NCMDS] = {
	UVIRTIO_GET_API_VERSION, UVIRTIO_LIST_DEVICES, UVIRTIO_DEVICE_OPEN,
	UVIRTIO_DEVICE_GET_INFO, UVIRTIO_REGION_GET_INFO, UVIRTIO_DMA_MAP,
	UVIRTIO_DMA_UNMAP, UVIRTIO_DMA_ALLOC, UVIRTIO_DMA_FREE,
	UVIRTIO_IRQ_ENABLE, UVIRTIO_IRQ_DISABLE, UVIRTIO_IRQ_SET_EVENTFD,
	UVIRTIO_IRQ_SET_AFFINITY, UVIRTIO_IRQ_MASK, UVIRTIO_IRQ_TRIGGER,
	UVIRTIO_DEVICE_RESET, UVIRTIO_SET_REMOVE_EVENTFD, UVIRTIO_IOVA_RANGES,
	UVIRTIO_KEEPALIVE, UVIRTIO_DMA_LIST,
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
	sizeof(struct uvirtio_iova_ranges), sizeof(struct uvirtio_keepalive),
	sizeof(struct uvirtio_dma_list),
};

/* The errnos Documentation/uapi.rst gives each call, beyond the generic
 * dispatcher ones (EFAULT, EINVAL, E2BIG, ENOTTY) every ioctl may return. */
static const int fz_errs[FZ_NKINDS][10] = {
	/* ENOENT and EACCES: UVIRTIO_DEVICE_OPEN_REATTACH */
	[FZ_OPEN] = { EPERM, ENODEV, EBUSY, EMFILE, ENFILE, ENOMEM, ETIMEDOUT,
		      ENOENT, EACCES },
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
	[FZ_KEEPALIVE] = { EOPNOTSUPP, EPERM, ENOENT },
	[FZ_DMA_LIST] = { ENOMEM },
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
	for (i = 0; i < 10 && fz_errs[kind][i]; i++)
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

#define KA_PARAM "/sys/module/uvirtio/parameters/keepalive_max_ms"

FIXTURE(fuzz) {
	struct fz *fz;
	int restore_unsafe;
	char ka_max[32];
};

FIXTURE_SETUP(fuzz)
{
	const char *want = getenv("UVIRTIO_FUZZ_BDF");
	char why[128];
	struct fz *fz;

	self->restore_unsafe = 0;
	self->ka_max[0] = 0;
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
	/* A kept-alive device would be closed to the fuzzer for minutes. */
	if (!uv_read_file(KA_PARAM, self->ka_max, sizeof(self->ka_max)))
		uv_write_file(KA_PARAM, "100");
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->restore_unsafe)
		uv_write_file(UNSAFE_PARAM, "0");
	if (self->ka_max[0])
		uv_write_file(KA_PARAM, self->ka_max);
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

TEST_HARNESS_MAIN
