// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_kmod.c - host tests of the kernel-module backend against a fake
 * /dev/uvirtio: src/backend_kmod.c is compiled into this program with
 * open(), ioctl(), mmap(), pread() and pwrite() redirected to a model of
 * the module's UAPI (uapi/linux/uvirtio.h) that answers what a test asks:
 * an API version, capabilities, MSI-X vectors or none, a DMA_MAP that
 * needs more segments than the library first gives it room for; and that
 * fails any one of those calls (fail_at).  Every refusal must come back
 * as a negative errno with nothing left open; the library must take the
 * fallbacks the module offers (INTx without MSI-X).
 *
 * The real module is tested in the VMs (vm_test, the selftests).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/uvirtio.h>
#include <uvirtio/blk.h>

#include "harness.h"

#define FM_CTL "/fake/uvirtio"

static struct fake_module {
	int ctl_fd, dev_fd;
	uint32_t version;
	uint64_t caps;
	uint32_t transport, num_msix, info_flags, irq_count, irq_type;
	uint32_t map_segments;		/* runs DMA_MAP reports (default 1) */
	uint32_t iommu_mode;		/* GET_INFO's (0: UVIRTIO_IOMMU_NONE) */
	uint64_t alloc_max;		/* DMA_ALLOC above this: ENOMEM (0: none) */
	bool msix_refused;		/* IRQ_ENABLE of MSI-X fails */
	bool bars;			/* BAR 0 (MSI-X hole), BAR 2, BAR 4 (I/O) */
	unsigned int nlist;		/* buffers a previous owner left */
	/* the fail_at-th call (open, ioctl, mmap) from now fails with EIO */
	unsigned int fail_at, failed;
	unsigned int allocs, frees, maps, unmaps, resets, enables;
	uint64_t next_handle, next_iova;
	uint8_t cfg[256];
} fm;

static void fm_defaults(void)
{
	memset(&fm, 0, sizeof(fm));
	fm.ctl_fd = fm.dev_fd = -1;
	fm.version = UVIRTIO_API_VERSION;
	fm.caps = UVIRTIO_CAP_DMA_MAP | UVIRTIO_CAP_DMA_ALLOC |
		  UVIRTIO_CAP_MSIX | UVIRTIO_CAP_INTX | UVIRTIO_CAP_IRQ_MASK |
		  UVIRTIO_CAP_IRQ_AFFINITY | UVIRTIO_CAP_MMIO |
		  UVIRTIO_CAP_KEEPALIVE;
	fm.transport = UVIRTIO_DEVICE_TRANSPORT_PCI;
	fm.num_msix = 4;
	fm.info_flags = UVIRTIO_DEVICE_INFO_INTX;
	fm.map_segments = 1;
	fm.next_iova = 0x100000;
}

static int fm_err(int e)
{
	errno = e;
	return -1;
}

static bool fm_fail_now(void)
{
	if (!fm.fail_at || --fm.fail_at)
		return false;
	fm.failed++;
	return true;
}

static int fm_open(const char *path, int flags, ...)
{
	int fd;

	if (strcmp(path, FM_CTL))
		return open(path, flags);
	if (fm_fail_now())
		return fm_err(ENOENT);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	fm.ctl_fd = fd;
	return fd;
}

static int fm_ctl_ioctl(unsigned long req, void *arg)
{
	if (req == UVIRTIO_GET_API_VERSION) {
		struct uvirtio_api_version *v = arg;

		v->version = fm.version;
		v->caps = fm.caps;
		return 0;
	}
	if (req == UVIRTIO_DEVICE_OPEN) {
		struct uvirtio_device_open *op = arg;

		op->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		fm.dev_fd = op->fd;
		if (op->flags & UVIRTIO_DEVICE_OPEN_REATTACH && fm.nlist)
			op->state_handle = 100 + fm.nlist;	/* the last */
		return op->fd < 0 ? -1 : 0;
	}
	return fm_err(ENOTTY);
}

static int fm_dev_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case UVIRTIO_DEVICE_GET_INFO: {
		struct uvirtio_device_info *in = arg;

		in->virtio_id = 2;
		in->vendor = 0x1af4;
		in->device = 0x1042;
		in->num_msix = fm.num_msix;
		in->flags = fm.info_flags;
		in->transport = fm.transport;
		in->irq_type = fm.irq_type;
		in->irq_count = fm.irq_count;
		in->max_dma_mappings = 1024;
		in->dma_mask = ~0ull;
		in->iommu_mode = fm.iommu_mode;
		return 0;
	}
	case UVIRTIO_REGION_GET_INFO: {
		struct uvirtio_region_info *ri = arg;

		if (ri->index == UVIRTIO_REGION_CONFIG) {
			ri->region_size = sizeof(fm.cfg);
			ri->offset = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG);
			return 0;
		}
		if (!fm.bars || (ri->index != 0 && ri->index != 2 &&
				 ri->index != 4))
			return fm_err(EINVAL);
		ri->offset = UVIRTIO_REGION_OFFSET(ri->index);
		ri->region_size = ri->index == 0 ? 16384 : 4096;
		ri->flags = UVIRTIO_REGION_INFO_READ | UVIRTIO_REGION_INFO_WRITE |
			    (ri->index == 4 ? UVIRTIO_REGION_INFO_IO :
					      UVIRTIO_REGION_INFO_MMAP);
		if (ri->index == 0) {
			ri->flags |= UVIRTIO_REGION_INFO_MSIX;
			ri->msix_start = 8192;
			ri->msix_end = 12288;
		}
		return 0;
	}
	case UVIRTIO_IRQ_ENABLE: {
		struct uvirtio_irq_enable *en = arg;

		if (en->type == UVIRTIO_IRQ_MSIX && fm.msix_refused)
			return fm_err(ENOSPC);
		fm.enables++;
		return 0;
	}
	case UVIRTIO_DMA_ALLOC: {
		struct uvirtio_dma_alloc *a = arg;

		if (fm.alloc_max && a->length > fm.alloc_max)
			return fm_err(ENOMEM);
		a->handle = ++fm.next_handle;
		a->iova = fm.next_iova;
		a->mmap_offset = 0;
		fm.next_iova += a->length + 4096;
		fm.allocs++;
		return 0;
	}
	case UVIRTIO_DMA_MAP: {
		struct uvirtio_dma_map *m = arg;
		struct uvirtio_dma_segment *s =
			(struct uvirtio_dma_segment *)(uintptr_t)m->segments;
		uint64_t per = m->length / fm.map_segments;
		unsigned int i, have = m->nr_segments;

		m->handle = ++fm.next_handle;
		m->nr_segments = fm.map_segments;
		fm.maps++;
		if (have < fm.map_segments)
			return 0;	/* the caller retries with room */
		for (i = 0; i < fm.map_segments; i++) {
			s[i].iova = fm.next_iova;
			s[i].length = i + 1 < fm.map_segments ? per :
				      m->length - per * i;
			fm.next_iova += s[i].length + 4096;
		}
		return 0;
	}
	case UVIRTIO_DMA_FREE:
		fm.frees++;
		return 0;
	case UVIRTIO_DMA_UNMAP:
		fm.unmaps++;
		return 0;
	case UVIRTIO_DEVICE_RESET:
		fm.resets++;
		return 0;
	case UVIRTIO_DMA_LIST: {
		struct uvirtio_dma_list *l = arg;
		struct uvirtio_dma_buf_entry *e =
			(struct uvirtio_dma_buf_entry *)(uintptr_t)l->entries;
		unsigned int i;

		if (e && l->count < fm.nlist)
			return fm_err(EINVAL);
		l->count = fm.nlist;
		for (i = 0; e && i < fm.nlist; i++)
			e[i] = (struct uvirtio_dma_buf_entry){
				.handle = 101 + i, .iova = 0x1000000ull * (i + 1),
				.length = 8192, .mmap_offset = 0 };
		return 0;
	}
	case UVIRTIO_KEEPALIVE: {
		struct uvirtio_keepalive *ka = arg;

		ka->token = 0x1234;
		return 0;
	}
	case UVIRTIO_SET_REMOVE_EVENTFD:
	case UVIRTIO_IRQ_SET_EVENTFD:
	case UVIRTIO_IRQ_SET_AFFINITY:
	case UVIRTIO_IRQ_MASK:
	case UVIRTIO_IRQ_DISABLE:
	case UVIRTIO_IOVA_RANGES:
		return 0;
	}
	return fm_err(ENOTTY);
}

static int fm_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fm.ctl_fd && fd != fm.dev_fd)
		return fm_err(EBADF);
	if (fm_fail_now())
		return fm_err(EIO);
	return fd == fm.ctl_fd ? fm_ctl_ioctl(req, arg) : fm_dev_ioctl(req, arg);
}

/* The module's mmap of DMA memory: anonymous memory here. */
static void *fm_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	if (fd < 0 || fd != fm.dev_fd)
		return mmap(addr, len, prot, flags, fd, off);
	if (fm_fail_now()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return mmap(addr, len, prot, MAP_SHARED | MAP_ANONYMOUS |
		    (flags & MAP_FIXED), -1, 0);
}

static ssize_t fm_pread(int fd, void *buf, size_t n, off_t off)
{
	uint64_t o = (uint64_t)off - UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG);

	if (fd != fm.dev_fd)
		return pread(fd, buf, n, off);
	if (o >= sizeof(fm.cfg) || n > sizeof(fm.cfg) - o)
		return fm_err(EINVAL);
	memcpy(buf, fm.cfg + o, n);
	return (ssize_t)n;
}

static ssize_t fm_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	uint64_t o = (uint64_t)off - UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG);

	if (fd != fm.dev_fd)
		return pwrite(fd, buf, n, off);
	if (o >= sizeof(fm.cfg) || n > sizeof(fm.cfg) - o)
		return fm_err(EINVAL);
	memcpy(fm.cfg + o, buf, n);
	return (ssize_t)n;
}

/* ---- the code under test, with its system calls redirected ------------- */

#define open fm_open
#define ioctl fm_ioctl
#define mmap fm_mmap
#define pread fm_pread
#define pwrite fm_pwrite
#include "../src/backend_kmod.c"
#undef open
#undef ioctl
#undef mmap
#undef pread
#undef pwrite

/* ---- cases ------------------------------------------------------------- */

static int lowest_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

static int t_open_pci(void)
{
	struct uvirtio_backend *be;
	int fd0 = lowest_fd();

	fm_defaults();
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_irq_kind(be), UVIRTIO_BE_IRQ_MSIX);
	CHECK_EQ(uvirtio_backend_num_vectors(be), 4);
	CHECK_EQ(fm.enables, 1);
	uvirtio_backend_close(be);
	CHECK_EQ(lowest_fd(), fd0);
	/* bad addresses never reach the module */
	CHECK_EQ(uvirtio_kmod_open("0000:00:6", FM_CTL, &be), -EINVAL);
	CHECK_EQ(uvirtio_kmod_open("zz", FM_CTL, &be), -EINVAL);
	CHECK_EQ(uvirtio_kmod_reattach("0000:00:06.0", 0, FM_CTL, &be),
		 -EINVAL);
	CHECK_EQ(lowest_fd(), fd0);
	return PASS;
}

/* A module of another API version, or without the caps a call needs. */
static int t_open_refused(void)
{
	struct uvirtio_backend *be;
	int fd0 = lowest_fd();

	fm_defaults();
	fm.version = UVIRTIO_API_VERSION + 1;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), -EPROTO);
	fm_defaults();
	fm.caps &= ~UVIRTIO_CAP_MMIO;
	CHECK_EQ(uvirtio_kmod_open_mmio("virtio-mmio.0", FM_CTL, &be),
		 -EOPNOTSUPP);
	fm_defaults();
	fm.caps &= ~UVIRTIO_CAP_KEEPALIVE;
	CHECK_EQ(uvirtio_kmod_reattach("0000:00:06.0", 7, FM_CTL, &be),
		 -EOPNOTSUPP);
	fm_defaults();
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", "/nonexistent/uvirtio",
				   &be), -ENOENT);
	CHECK_EQ(lowest_fd(), fd0);
	return PASS;
}

/* MSI-X vectors the module cannot give: the INTx line instead. */
static int t_msix_refused_intx(void)
{
	struct uvirtio_backend *be;

	fm_defaults();
	fm.msix_refused = true;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_irq_kind(be), UVIRTIO_BE_IRQ_INTX);
	uvirtio_backend_close(be);
	/* and no INTx either: polling */
	fm_defaults();
	fm.msix_refused = true;
	fm.info_flags = 0;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_num_vectors(be), 0);
	uvirtio_backend_close(be);
	return PASS;
}

/* A re-attach with nothing kept: the library adopts nothing. */
static int t_reattach_empty(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d;

	fm_defaults();
	fm.irq_count = 2;
	fm.irq_type = UVIRTIO_IRQ_MSIX;
	CHECK_EQ(uvirtio_kmod_reattach("0000:00:06.0", 7, FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_irq_kind(be), UVIRTIO_BE_IRQ_MSIX);
	CHECK_EQ(uvirtio_backend_restored_state(be, &d), -ENOENT);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * A re-attach that finds three buffers of the previous owner: the state
 * (the module's state_handle) and one claimed by IOVA are the caller's,
 * the third is released (freed in the module) by restored_release.
 */
static int t_reattach_adopt(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma st, d;

	fm_defaults();
	fm.nlist = 3;
	CHECK_EQ(uvirtio_kmod_reattach("0000:00:06.0", 7, FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_restored_state(be, &st), 0);
	CHECK_EQ(st.handle, 103);
	CHECK_EQ(st.iova, 0x3000000);
	CHECK_EQ(uvirtio_backend_restored(be, 0x1000000, &d), 0);
	CHECK_EQ(d.handle, 101);
	CHECK_EQ(d.len, 8192);
	CHECK_EQ(uvirtio_backend_restored(be, 0x1000000, &d), -ENOENT);
	CHECK_EQ(uvirtio_backend_restored_state(be, &d), -ENOENT);
	CHECK_EQ(fm.frees, 0);
	CHECK_EQ(uvirtio_backend_restored_release(be), 1);
	CHECK_EQ(fm.frees, 1);
	CHECK_EQ(uvirtio_backend_restored_release(be), 0);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * uvirtio_blk_restore() on a re-attach whose state buffer is not a blk
 * keep-alive state (all zero: no magic): refused, the buffers left for
 * restored_release.
 */
static int t_blk_restore_bad_state(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk = NULL;
	void *user = NULL;
	size_t ulen = 0;

	fm_defaults();
	fm.nlist = 2;
	CHECK_EQ(uvirtio_kmod_reattach("0000:00:06.0", 7, FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_blk_restore(be, NULL, &blk, &user, &ulen), -EIO);
	CHECK(!blk);
	CHECK_EQ(uvirtio_blk_restore(be, NULL, &blk, NULL, &ulen), -EINVAL);
	/* the state buffer was given back: the other one is left */
	CHECK(uvirtio_backend_restored_release(be) >= 1);
	uvirtio_backend_close(be);
	return PASS;
}

/* BARs: mapped around the MSI-X hole, whole, or not at all (I/O). */
static int t_bars(void)
{
	struct uvirtio_backend *be;
	struct kmod *k;

	fm_defaults();
	fm.bars = true;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	k = be->priv;
	CHECK(k->bar[0].map);
	CHECK_EQ(k->bar[0].hole_start, 8192);
	CHECK(k->bar[2].map);
	CHECK(!k->bar[4].map);
	uvirtio_backend_close(be);
	/* a BAR the module will not mmap: the open still works (pread) */
	fm_defaults();
	fm.bars = true;
	fm.fail_at = 7;		/* open, 5 ioctls, then BAR 0's first mmap */
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	CHECK_EQ(fm.failed, 1);
	k = be->priv;
	CHECK(!k->bar[0].map);
	CHECK(k->bar[2].map);
	uvirtio_backend_close(be);
	return PASS;
}

/* A virtio-mmio device: its one wired line, or polling without it. */
static int t_open_mmio(void)
{
	struct uvirtio_backend *be;
	uint8_t b;

	fm_defaults();
	fm.transport = UVIRTIO_DEVICE_TRANSPORT_MMIO;
	fm.num_msix = 0;
	fm.info_flags = UVIRTIO_DEVICE_INFO_WIRED_IRQ;
	CHECK_EQ(uvirtio_kmod_open_mmio("virtio-mmio.0", FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_irq_kind(be), UVIRTIO_BE_IRQ_WIRED);
	/* no PCI config space */
	CHECK_EQ(uvirtio_backend_cfg_read(be, 0, &b, 1), -ENODEV);
	uvirtio_backend_close(be);
	CHECK_EQ(uvirtio_kmod_open_mmio(NULL, FM_CTL, &be), -EINVAL);
	return PASS;
}

/*
 * The backend's operations on a working module: DMA allocation, caller
 * memory that the module maps in more runs than the library first has
 * room for, config space, interrupts, reset, keep-alive.
 */
static int t_backend_ops(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d;
	uint64_t token = 0;
	uint32_t v = 0xabcd;
	uint8_t *mem;
	int fd;

	fm_defaults();
	fm.map_segments = 100;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 8192, &d), 0);
	CHECK(d.vaddr && d.iova);
	memset(d.vaddr, 0x5a, 8192);
	uvirtio_backend_dma_free(be, &d);
	CHECK_EQ(fm.allocs, 1);
	CHECK_EQ(fm.frees, 1);
	CHECK_EQ(posix_memalign((void **)&mem, 4096, 100 * 4096), 0);
	CHECK_EQ(uvirtio_backend_dma_map(be, mem, 100 * 4096), 0);
	CHECK_EQ(fm.maps, 2);		/* 64 runs were too few: again */
	CHECK_EQ(fm.unmaps, 1);		/* the first mapping dropped */
	CHECK_EQ(uvirtio_backend_dma_unmap(be, mem), 0);
	CHECK_EQ(fm.unmaps, 2);
	free(mem);
	CHECK_EQ(uvirtio_backend_cfg_write(be, 0x40, &v, 4), 0);
	v = 0;
	CHECK_EQ(uvirtio_backend_cfg_read(be, 0x40, &v, 4), 0);
	CHECK_EQ(v, 0xabcd);
	fd = uvirtio_backend_irq_eventfd(be, 1, 0);
	CHECK(fd >= 0);
	CHECK_EQ(uvirtio_backend_irq_mask(be, 1, true), 0);
	CHECK_EQ(uvirtio_backend_reset(be), 0);
	CHECK(fm.resets >= 1);
	CHECK_EQ(uvirtio_backend_keepalive(be, 1000, NULL, &token), 0);
	CHECK_EQ(token, 0x1234);
	uvirtio_backend_close(be);
	return PASS;
}

/* The IOVA runs of [@p, +@len) and whether it translates all through. */
static unsigned int runs_of(struct uvirtio_backend *be, const uint8_t *p,
			    size_t len)
{
	unsigned int n = 0;
	size_t off = 0;

	while (off < len) {
		uint64_t iova;
		int64_t got = uvirtio_backend_translate(be, p + off, len - off,
							&iova);

		if (got <= 0)
			return 0;
		off += (size_t)got;
		n++;
	}
	return n;
}

/*
 * uvirtio_backend_dma_alloc_sg(): one DMA_ALLOC with an IOMMU; without
 * one (UNSAFE: one physically contiguous block each, at most 4 MiB) a
 * larger buffer of several blocks back to back, halved down to 64 KiB
 * when the module refuses; below that, -ENOMEM with nothing left over.
 */
static int t_dma_alloc_sg(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d, c;
	unsigned int n;

	fm_defaults();
	fm.iommu_mode = UVIRTIO_IOMMU_TRANSLATED;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc_sg(be, 12u << 20, &d), 0);
	CHECK_EQ(fm.allocs, 1);
	CHECK_EQ(runs_of(be, d.vaddr, 12u << 20), 1);
	uvirtio_backend_dma_free(be, &d);
	CHECK_EQ(fm.frees, 1);
	uvirtio_backend_close(be);

	fm_defaults();
	fm.iommu_mode = UVIRTIO_IOMMU_UNSAFE;
	fm.alloc_max = 4u << 20;
	CHECK_EQ(uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be), 0);
	/* contiguous allocations keep their limit */
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 8u << 20, &c), -ENOMEM);
	CHECK_EQ(uvirtio_backend_dma_alloc_sg(be, (12u << 20) + 8192, &d), 0);
	CHECK_EQ(fm.allocs, 4);			/* 4 + 4 + 4 MiB + 8 KiB */
	CHECK_EQ(runs_of(be, d.vaddr, (12u << 20) + 8192), 4);
	memset(d.vaddr, 0xa5, (12u << 20) + 8192);	/* all of it mapped */
	CHECK_EQ(d.len, (12u << 20) + 8192);
	uvirtio_backend_dma_free(be, &d);
	CHECK_EQ(fm.frees, 4);
	CHECK_EQ(runs_of(be, d.vaddr, 4096), 0);	/* gone */
	/* a fragmented module: 1 MiB blocks after halving twice */
	fm.alloc_max = 1u << 20;
	fm.allocs = fm.frees = 0;
	CHECK_EQ(uvirtio_backend_dma_alloc_sg(be, 3u << 20, &d), 0);
	CHECK_EQ(fm.allocs, 3);
	CHECK_EQ(runs_of(be, d.vaddr, 3u << 20), 3);
	uvirtio_backend_dma_free(be, &d);
	CHECK_EQ(fm.frees, 3);
	/* nothing of 64 KiB to be had: -ENOMEM, and what was taken is back */
	fm.alloc_max = 32768;
	fm.allocs = fm.frees = 0;
	CHECK_EQ(uvirtio_backend_dma_alloc_sg(be, 1u << 20, &d), -ENOMEM);
	CHECK_EQ(fm.allocs, fm.frees);
	/* each call of a several-block allocation failing in turn */
	fm.alloc_max = 4u << 20;
	for (n = 1; n < 40; n++) {
		int ret;

		fm.allocs = fm.frees = 0;
		fm.fail_at = n;
		fm.failed = 0;
		ret = uvirtio_backend_dma_alloc_sg(be, 10u << 20, &d);
		fm.fail_at = 0;
		if (!fm.failed) {
			CHECK_EQ(ret, 0);
			uvirtio_backend_dma_free(be, &d);
			break;
		}
		CHECK(ret < 0);
		CHECK_EQ(fm.allocs, fm.frees);
	}
	CHECK(n > 3 && n < 40);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * Every module call of a session (open, DMA allocation and free, caller
 * memory mapped in many runs, an interrupt eventfd, reset, close) failing
 * in turn: the call that meets it returns a negative errno, and nothing
 * is left open.
 */
static int t_fail_nth(void)
{
	unsigned int n, failed = 0;
	uint8_t *mem;

	CHECK_EQ(posix_memalign((void **)&mem, 4096, 100 * 4096), 0);
	for (n = 1; n < 500; n++) {
		struct uvirtio_backend *be = NULL;
		struct uvirtio_dma d = { 0 };
		int r, fd0 = lowest_fd();

		fm_defaults();
		fm.map_segments = 100;
		fm.fail_at = n;
		r = uvirtio_kmod_open("0000:00:06.0", FM_CTL, &be);
		if (!r) {
			r = uvirtio_backend_dma_alloc(be, 8192, &d);
			if (!r)
				uvirtio_backend_dma_free(be, &d);
		}
		if (!r) {
			r = uvirtio_backend_dma_map(be, mem, 100 * 4096);
			if (!r)
				r = uvirtio_backend_dma_unmap(be, mem);
		}
		if (!r) {
			r = uvirtio_backend_irq_eventfd(be, 1, 0);
			r = r < 0 ? r : 0;
		}
		if (!r)
			r = uvirtio_backend_reset(be);
		if (r) {
			CHECK(r < 0);
			CHECK_EQ(fm.failed, 1);	/* no failure without a cause */
			failed++;
		}
		if (be)
			uvirtio_backend_close(be);
		CHECK_EQ(lowest_fd(), fd0);
		if (!fm.failed)
			break;
	}
	free(mem);
	fprintf(stderr, "  %u calls, %u failed the session\n", n - 1, failed);
	CHECK(n < 500);
	CHECK(failed > 5);
	return PASS;
}

/* The same for a re-attach that adopts three buffers. */
static int t_fail_nth_reattach(void)
{
	unsigned int n, failed = 0;

	for (n = 1; n < 500; n++) {
		struct uvirtio_backend *be = NULL;
		struct uvirtio_dma st;
		int r, fd0 = lowest_fd();

		fm_defaults();
		fm.nlist = 3;
		fm.fail_at = n;
		r = uvirtio_kmod_reattach("0000:00:06.0", 7, FM_CTL, &be);
		if (r) {
			CHECK(r < 0);
			CHECK_EQ(fm.failed, 1);
			failed++;
		} else {
			CHECK_EQ(uvirtio_backend_restored_state(be, &st), 0);
			uvirtio_backend_dma_free(be, &st);
			CHECK_EQ(uvirtio_backend_restored_release(be), 2);
			uvirtio_backend_close(be);
		}
		CHECK_EQ(lowest_fd(), fd0);
		if (!fm.failed)
			break;
	}
	fprintf(stderr, "  %u calls, %u failed the re-attach\n", n - 1, failed);
	CHECK(n < 500);
	CHECK(failed > 5);
	return PASS;
}

int main(int argc, char **argv)
{
	static const struct tcase cases[] = {
		{ "open_pci", t_open_pci },
		{ "open_refused", t_open_refused },
		{ "msix_refused_intx", t_msix_refused_intx },
		{ "reattach_empty", t_reattach_empty },
		{ "reattach_adopt", t_reattach_adopt },
		{ "blk_restore_bad_state", t_blk_restore_bad_state },
		{ "bars", t_bars },
		{ "open_mmio", t_open_mmio },
		{ "backend_ops", t_backend_ops },
		{ "dma_alloc_sg", t_dma_alloc_sg },
		{ "fail_nth", t_fail_nth },
		{ "fail_nth_reattach", t_fail_nth_reattach },
	};

	return harness_main("kmod", cases, sizeof(cases) / sizeof(cases[0]),
			    argc, argv);
}
