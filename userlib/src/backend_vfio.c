// SPDX-License-Identifier: BSD-3-Clause
/*
 * backend_vfio.c - backend on top of vfio-pci, type1 container flow
 * (Linux Documentation/driver-api/vfio.rst):
 *
 *   /dev/vfio/vfio  GET_API_VERSION, CHECK_EXTENSION(TYPE1v2)
 *   /dev/vfio/N     GROUP_GET_STATUS (viable), GROUP_SET_CONTAINER
 *   container       SET_IOMMU(TYPE1v2), IOMMU_GET_INFO (IOVA ranges)
 *   group           GROUP_GET_DEVICE_FD("DDDD:BB:DD.F")
 *   device          GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS,
 *                   RESET; pread/pwrite/mmap at the region offsets
 *
 * or the cdev flow (kernels with VFIO_DEVICE_CDEV and IOMMUFD):
 *
 *   /dev/vfio/devices/vfioN   (N from /sys/bus/pci/devices/BDF/vfio-dev)
 *   /dev/iommu      IOMMU_IOAS_ALLOC, IOAS_IOVA_RANGES, IOAS_MAP/UNMAP
 *   device          BIND_IOMMUFD, ATTACH_IOMMUFD_PT(ioas), then as above
 *
 * See uvirtio/vfio.h for the policy (no-IOMMU refused, IRQ affinity).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <uvirtio/kmod.h>
#include <uvirtio/vfio.h>

#include "internal.h"
#include "vfio_priv.h"

#define MAX_AREAS	8

/*
 * The iommufd and VFIO cdev ABI (Linux include/uapi/linux/iommufd.h and
 * vfio.h, 6.6+), declared here because the build host's UAPI headers may
 * predate it (Debian 12's are 6.1).  Names are ours; layouts and numbers
 * are the kernel's.
 */
#define UV_IOMMUFD_TYPE		';'
#define UV_IOMMU_DESTROY	_IO(UV_IOMMUFD_TYPE, 0x80)
#define UV_IOMMU_IOAS_ALLOC	_IO(UV_IOMMUFD_TYPE, 0x81)
#define UV_IOMMU_IOAS_IOVA_RANGES _IO(UV_IOMMUFD_TYPE, 0x84)
#define UV_IOMMU_IOAS_MAP	_IO(UV_IOMMUFD_TYPE, 0x85)
#define UV_IOMMU_IOAS_UNMAP	_IO(UV_IOMMUFD_TYPE, 0x86)
#define UV_IOAS_MAP_FIXED_IOVA	(1u << 0)
#define UV_IOAS_MAP_WRITEABLE	(1u << 1)
#define UV_IOAS_MAP_READABLE	(1u << 2)
#define UV_VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
#define UV_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

struct uv_iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
};

struct uv_iommu_iova_range {
	uint64_t start;
	uint64_t last;
};

struct uv_iommu_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t reserved;
	uint64_t allowed_iovas;
	uint64_t out_iova_alignment;
};

struct uv_iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};

struct uv_iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};

struct uv_vfio_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};

struct uv_vfio_attach_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id;
};

struct vbar {
	uint8_t *map;		/* PROT_NONE reservation of @size, or NULL */
	uint64_t size;
	uint64_t foff;		/* region offset in the device fd */
	struct uv_mmap_area area[MAX_AREAS];	/* mapped parts */
	unsigned int narea;
};

struct vdma {
	uint64_t iova;
	uint64_t size;
	void *va;		/* page-aligned start of the mapping */
	bool alloc;		/* memory is ours (dma_alloc) */
};

struct vfio {
	int container;		/* type1 flow */
	int group;
	int iommufd;		/* cdev flow */
	uint32_t ioas;
	int dev;
	uint64_t cfg_off, cfg_size;
	struct vbar bar[6];
	unsigned int nvec;
	int *efd;
	bool irqs_on;
	bool intx;		/* no MSI-X: vector 0 is INTx (automasked) */
	uint32_t irq_index;	/* VFIO_PCI_MSIX_IRQ_INDEX or _INTX_ */
	int req_efd;		/* device request (removal), or -1 */
	bool can_reset;
	pthread_mutex_t lock;	/* DMA table, IOVA allocator, IRQ setup */
	struct uv_iova_alloc iova;
	bool iova_ok;
	struct vdma *dma;
	size_t ndma, dma_cap;
};

static int vioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/* ---- config space and BARs ------------------------------------------ */

static int v_cfg_read(void *priv, uint32_t off, void *buf, unsigned int width)
{
	struct vfio *v = priv;
	ssize_t r;

	if (off > v->cfg_size || width > v->cfg_size - off)
		return -EINVAL;
	r = pread(v->dev, buf, width, (off_t)(v->cfg_off + off));
	return r == (ssize_t)width ? 0 : r < 0 ? -errno : -EIO;
}

static int v_cfg_write(void *priv, uint32_t off, const void *buf,
		       unsigned int width)
{
	struct vfio *v = priv;
	ssize_t r;

	if (off > v->cfg_size || width > v->cfg_size - off)
		return -EINVAL;
	r = pwrite(v->dev, buf, width, (off_t)(v->cfg_off + off));
	return r == (ssize_t)width ? 0 : r < 0 ? -errno : -EIO;
}

static bool mapped(const struct vbar *b, uint64_t off, uint64_t len)
{
	unsigned int i;

	if (!b->map || off > b->size || len > b->size - off)
		return false;
	for (i = 0; i < b->narea; i++)
		if (off >= b->area[i].off &&
		    off + len <= b->area[i].off + b->area[i].size)
			return true;
	return false;
}

static bool good_width(unsigned int w)
{
	return w == 1 || w == 2 || w == 4 || w == 8;
}

/* The BAR a register access names, or NULL when it is out of range. */
static struct vbar *bar_of(struct vfio *v, unsigned int bar, uint64_t off,
			   unsigned int width)
{
	struct vbar *b;

	if (bar > 5 || !good_width(width))
		return NULL;
	b = &v->bar[bar];
	if (off > b->size || width > b->size - off)
		return NULL;
	return b;
}

static int v_bar_read(void *priv, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t *val)
{
	struct vfio *v = priv;
	struct vbar *b = bar_of(v, bar, off, width);

	if (!b)
		return -EINVAL;
	return uv_win_read(mapped(b, off, width) ? b->map + off : NULL, v->dev,
			   (off_t)(b->foff + off), width, val);
}

static int v_bar_write(void *priv, unsigned int bar, uint64_t off,
		       unsigned int width, uint64_t val)
{
	struct vfio *v = priv;
	struct vbar *b = bar_of(v, bar, off, width);

	if (!b)
		return -EINVAL;
	return uv_win_write(mapped(b, off, width) ? b->map + off : NULL, v->dev,
			    (off_t)(b->foff + off), width, val);
}

static void *v_bar_ptr(void *priv, unsigned int bar, uint64_t off,
		       uint64_t len)
{
	struct vfio *v = priv;

	if (bar > 5 || !mapped(&v->bar[bar], off, len))
		return NULL;
	return v->bar[bar].map + off;
}

/* ---- DMA ------------------------------------------------------------ */

static int map_iova(struct vfio *v, void *va, uint64_t size, uint64_t iova)
{
	if (v->iommufd >= 0) {
		struct uv_iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = UV_IOAS_MAP_FIXED_IOVA | UV_IOAS_MAP_READABLE |
				 UV_IOAS_MAP_WRITEABLE,
			.ioas_id = v->ioas,
			.user_va = (uintptr_t)va,
			.length = size,
			.iova = iova,
		};

		return vioctl(v->iommufd, UV_IOMMU_IOAS_MAP, &m);
	}
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return vioctl(v->container, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap_iova(struct vfio *v, uint64_t iova, uint64_t size)
{
	if (v->iommufd >= 0) {
		struct uv_iommu_ioas_unmap iu = {
			.size = sizeof(iu), .ioas_id = v->ioas,
			.iova = iova, .length = size,
		};
		int r = vioctl(v->iommufd, UV_IOMMU_IOAS_UNMAP, &iu);

		return !r && iu.length != size ? -EIO : r;
	}
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};
	int ret = vioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u);

	/* The kernel reports what it unmapped: all of it, or a bug. */
	if (!ret && u.size != size)
		ret = -EIO;
	return ret;
}

/* Map [@va, +@size) (page-aligned) at a fresh IOVA; record it. */
static int dma_add(struct vfio *v, void *va, uint64_t size, bool alloc,
		   uint64_t *iova)
{
	struct vdma *d;
	int ret;

	pthread_mutex_lock(&v->lock);
	if (v->ndma == v->dma_cap) {
		size_t cap = v->dma_cap ? v->dma_cap * 2 : 16;

		d = realloc(v->dma, cap * sizeof(*d));
		if (!d) {
			ret = -ENOMEM;
			goto out;
		}
		v->dma = d;
		v->dma_cap = cap;
	}
	ret = uv_iova_get(&v->iova, size, iova);
	if (ret)
		goto out;
	ret = map_iova(v, va, size, *iova);
	if (ret) {
		uv_iova_put(&v->iova, *iova, size);
		goto out;
	}
	v->dma[v->ndma++] = (struct vdma){ *iova, size, va, alloc };
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* Unmap the mapping at @iova; return it in *@out. */
static int dma_del(struct vfio *v, uint64_t iova, struct vdma *out)
{
	size_t i;
	int ret = -ENOENT;

	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->ndma; i++) {
		if (v->dma[i].iova != iova)
			continue;
		*out = v->dma[i];
		ret = unmap_iova(v, out->iova, out->size);
		/*
		 * If the kernel would not unmap, keep the IOVA reserved: the
		 * device may still reach the old pages through it.
		 */
		if (!ret)
			uv_iova_put(&v->iova, out->iova, out->size);
		v->dma[i] = v->dma[--v->ndma];
		break;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int v_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct vfio *v = priv;
	uint64_t iova;
	void *p;
	int ret;

	if (!len || len > SIZE_MAX - UV_PAGE_SIZE)
		return -EINVAL;
	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	ret = dma_add(v, p, len, true, &iova);
	if (ret) {
		munmap(p, len);
		return ret;
	}
	out->vaddr = p;
	out->iova = iova;
	out->len = len;
	out->handle = iova;
	return 0;
}

static void v_dma_free(void *priv, struct uvirtio_dma *dma)
{
	struct vfio *v = priv;
	struct vdma d;

	/* Memory the IOMMU may still reach is leaked, not reused. */
	if (!dma_del(v, dma->handle, &d))
		munmap(d.va, d.size);
}

static int v_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
		     struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	struct vfio *v = priv;
	uintptr_t lo = (uintptr_t)vaddr, start, end;
	struct uvirtio_iova_seg *s;
	uint64_t iova;
	int ret;

	if (!len || len > UINTPTR_MAX - UV_PAGE_SIZE ||
	    lo > UINTPTR_MAX - UV_PAGE_SIZE - len)
		return -EINVAL;
	start = lo & ~(uintptr_t)(UV_PAGE_SIZE - 1);
	end = UV_ALIGN_UP(lo + len, (uintptr_t)UV_PAGE_SIZE);
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = dma_add(v, (void *)start, end - start, false, &iova);
	if (ret) {
		free(s);
		return ret;
	}
	/* One IOVA-contiguous run: the IOMMU maps it that way. */
	*s = (struct uvirtio_iova_seg){ vaddr, iova + (lo - start), len };
	*handle = iova;
	*segs = s;
	*nsegs = 1;
	return 0;
}

static int v_dma_unmap(void *priv, uint64_t handle)
{
	struct vdma d;

	return dma_del(priv, handle, &d);
}

/* ---- interrupts ----------------------------------------------------- */

static int set_irqs(struct vfio *v, uint32_t index, uint32_t flags,
		    uint32_t start, uint32_t count, const int *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *s = calloc(1, sz);
	int ret;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (count && fds)
		memcpy(s->data, fds, count * sizeof(int));
	ret = vioctl(v->dev, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return ret;
}

/* Create every vector's eventfd and enable MSI-X with all of them. */
static int irqs_enable(struct vfio *v)
{
	unsigned int i;
	int ret;

	for (i = 0; i < v->nvec; i++) {
		if (v->efd[i] >= 0)
			continue;
		v->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->efd[i] < 0)
			return -errno;
	}
	ret = set_irqs(v, v->irq_index,
		       VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		       0, v->nvec, v->efd);
	if (!ret)
		v->irqs_on = true;
	return ret;
}

static int v_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	struct vfio *v = priv;
	int ret = 0;

	(void)cpu;		/* VFIO cannot set interrupt affinity */
	if (vector >= v->nvec)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (!v->irqs_on)
		ret = irqs_enable(v);
	if (!ret)
		ret = v->efd[vector];
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/*
 * vfio-pci has no per-vector MSI-X mask for user space: detach the
 * eventfd (the kernel frees the IRQ, which masks the vector) and attach
 * it again.  An interrupt raised while detached is lost, so unmasking
 * signals the eventfd once: a spurious wake-up, never a missed one.
 */
static int v_irq_mask(void *priv, unsigned int vector, bool mask)
{
	struct vfio *v = priv;
	int ret, fd;

	if (vector >= v->nvec)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	if (!v->irqs_on) {
		ret = mask ? 0 : irqs_enable(v);
		goto out;
	}
	if (v->intx) {
		/* INTx has VFIO's own mask, which its handler sets itself */
		ret = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX,
			       VFIO_IRQ_SET_DATA_NONE |
			       (mask ? VFIO_IRQ_SET_ACTION_MASK :
				       VFIO_IRQ_SET_ACTION_UNMASK),
			       0, 1, NULL);
		goto out;
	}
	fd = mask ? -1 : v->efd[vector];
	ret = set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX,
		       VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		       vector, 1, &fd);
	if (!ret && !mask) {
		uint64_t one = 1;

		if (write(v->efd[vector], &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			ret = -errno;
	}
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int v_num_vectors(void *priv)
{
	struct vfio *v = priv;

	return v->intx ? 0 : (int)v->nvec;
}

static int v_irq_kind(void *priv)
{
	struct vfio *v = priv;

	if (!v->nvec)
		return UVIRTIO_BE_IRQ_NONE;
	return v->intx ? UVIRTIO_BE_IRQ_INTX : UVIRTIO_BE_IRQ_MSIX;
}

static int v_reset(void *priv)
{
	struct vfio *v = priv;

	if (!v->can_reset)
		return -EOPNOTSUPP;
	return vioctl(v->dev, VFIO_DEVICE_RESET, NULL);
}

static int v_get_caps(void *priv, struct uvirtio_caps *caps)
{
	(void)priv;
	(void)caps;
	return -EOPNOTSUPP;	/* the library walks config space */
}

static int v_iommu_mode(void *priv)
{
	(void)priv;
	return UVIRTIO_BE_IOMMU_TRANSLATED;
}

static int v_remove_fd(void *priv)
{
	struct vfio *v = priv;

	return v->req_efd >= 0 ? v->req_efd : -ENOENT;
}

static void v_close(void *priv)
{
	struct vfio *v = priv;
	unsigned int i;

	if (v->dev >= 0 && v->irqs_on)
		set_irqs(v, v->irq_index,
			 VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			 0, 0, NULL);
	if (v->dev >= 0 && v->req_efd >= 0)
		set_irqs(v, VFIO_PCI_REQ_IRQ_INDEX,
			 VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			 0, 0, NULL);
	for (i = 0; v->efd && i < v->nvec; i++)
		if (v->efd[i] >= 0)
			close(v->efd[i]);
	/* Stop the device's DMA before its memory goes away. */
	if (v->dev >= 0 && v->can_reset)
		vioctl(v->dev, VFIO_DEVICE_RESET, NULL);
	for (i = 0; i < v->ndma; i++) {
		bool gone = !unmap_iova(v, v->dma[i].iova, v->dma[i].size);

		if (v->dma[i].alloc && gone)
			munmap(v->dma[i].va, v->dma[i].size);
	}
	for (i = 0; i < 6; i++)
		if (v->bar[i].map)
			munmap(v->bar[i].map, v->bar[i].size);
	if (v->dev >= 0)
		close(v->dev);
	if (v->req_efd >= 0)
		close(v->req_efd);
	/* Closing the group detaches it from the container. */
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	/* The device fd is gone (unbound): the IOAS goes with the iommufd. */
	if (v->iommufd >= 0)
		close(v->iommufd);
	if (v->iova_ok)
		uv_iova_destroy(&v->iova);
	pthread_mutex_destroy(&v->lock);
	free(v->dma);
	free(v->efd);
	free(v);
}

static const struct uvirtio_backend_ops vfio_ops = {
	.cfg_read = v_cfg_read,
	.cfg_write = v_cfg_write,
	.bar_read = v_bar_read,
	.bar_write = v_bar_write,
	.bar_ptr = v_bar_ptr,
	.dma_alloc = v_dma_alloc,
	.dma_free = v_dma_free,
	.dma_map = v_dma_map,
	.dma_unmap = v_dma_unmap,
	.irq_eventfd = v_irq_eventfd,
	.irq_mask = v_irq_mask,
	.num_vectors = v_num_vectors,
	.irq_kind = v_irq_kind,
	.reset = v_reset,
	.get_caps = v_get_caps,
	.iommu_mode = v_iommu_mode,
	.close = v_close,
	.remove_fd = v_remove_fd,
};

/* ---- open ----------------------------------------------------------- */

/*
 * An info ioctl whose reply may carry a capability chain: ask with the
 * fixed part, then again with the size the kernel asked for.  *@bufp is
 * malloc()ed; *@lenp is the size filled in.
 */
static int info_with_caps(int fd, unsigned long req, const void *head,
			  size_t head_len, void **bufp, size_t *lenp)
{
	uint32_t argsz = (uint32_t)head_len;
	unsigned int tries;
	void *buf = NULL;

	for (tries = 0; tries < 3; tries++) {
		void *nb = realloc(buf, argsz);
		uint32_t want;
		int ret;

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		memset(buf, 0, argsz);
		memcpy(buf, head, head_len);
		memcpy(buf, &argsz, sizeof(argsz));	/* argsz is first */
		ret = vioctl(fd, req, buf);
		if (ret) {
			free(buf);
			return ret;
		}
		memcpy(&want, buf, sizeof(want));
		if (want <= argsz) {
			*bufp = buf;
			*lenp = argsz;
			return 0;
		}
		if (want > 1u << 20)
			break;
		argsz = want;
	}
	free(buf);
	return -EIO;
}

/* Region info of BAR @i, with its mmap()able areas. */
static int probe_bar(struct vfio *v, unsigned int i)
{
	struct vfio_region_info head = { .index = i };
	struct vfio_region_info ri;
	struct vbar *b = &v->bar[i];
	size_t len;
	void *buf;
	int ret;

	ret = info_with_caps(v->dev, VFIO_DEVICE_GET_REGION_INFO, &head,
			     sizeof(head), &buf, &len);
	if (ret)
		return ret;
	memcpy(&ri, buf, sizeof(ri));
	if (!ri.size || !(ri.flags & (VFIO_REGION_INFO_FLAG_READ |
				      VFIO_REGION_INFO_FLAG_WRITE)))
		goto out;	/* BAR not implemented */
	if (ri.offset > (uint64_t)INT64_MAX - ri.size) {
		ret = -EIO;
		goto out;
	}
	b->size = ri.size;
	b->foff = ri.offset;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    (ri.offset & (UV_PAGE_SIZE - 1)))
		goto out;
	b->narea = 0;
	if (ri.flags & VFIO_REGION_INFO_FLAG_CAPS) {
		long off = uv_vfio_find_cap(buf, len, ri.cap_offset,
					    VFIO_REGION_INFO_CAP_SPARSE_MMAP,
					    sizeof(struct vfio_region_info_cap_sparse_mmap));

		if (off >= 0) {
			int n = uv_vfio_sparse_areas(buf, len, (size_t)off,
						     ri.size, b->area,
						     MAX_AREAS);

			if (n < 0) {
				ret = n;
				goto out;
			}
			b->narea = (unsigned int)n;
		} else if (off != -ENOENT) {
			ret = (int)off;
			goto out;
		} else if (!(ri.size & (UV_PAGE_SIZE - 1))) {
			b->area[b->narea++] = (struct uv_mmap_area){ 0, ri.size };
		}
	} else if (!(ri.size & (UV_PAGE_SIZE - 1))) {
		b->area[b->narea++] = (struct uv_mmap_area){ 0, ri.size };
	}
	if (b->narea) {
		unsigned int k, got = 0;

		/* Reserve the whole BAR, map the allowed areas into it. */
		b->map = mmap(NULL, ri.size, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->map == MAP_FAILED) {
			b->map = NULL;
			b->narea = 0;
			goto out;
		}
		for (k = 0; k < b->narea; k++) {
			struct uv_mmap_area a = b->area[k];

			/* An area that will not map is accessed by pread. */
			if (mmap(b->map + a.off, a.size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, v->dev,
				 (off_t)(ri.offset + a.off)) == MAP_FAILED) {
				mmap(b->map + a.off, a.size, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				     -1, 0);
				continue;
			}
			b->area[got++] = a;
		}
		b->narea = got;
	}
out:
	free(buf);
	return ret;
}

/* The IOAS's usable IOVA space (cdev flow). */
static int probe_iova_ioas(struct vfio *v)
{
	struct uv_iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .ioas_id = v->ioas,
	};
	struct uv_iommu_iova_range *kr = NULL;
	struct uv_iova_range *r;
	uint64_t align = UV_PAGE_SIZE;
	unsigned int tries;
	uint32_t i, n = 0;
	int ret;

	/* Ask for the count, then for the ranges (the count may change). */
	for (tries = 0; tries < 4; tries++) {
		q.num_iovas = n;
		q.allowed_iovas = (uintptr_t)kr;
		ret = vioctl(v->iommufd, UV_IOMMU_IOAS_IOVA_RANGES, &q);
		if (!ret && q.num_iovas <= n)
			break;
		if (ret && ret != -EMSGSIZE) {
			free(kr);
			return ret;
		}
		if (q.num_iovas > 4096) {
			free(kr);
			return -EIO;
		}
		free(kr);
		n = q.num_iovas;
		kr = calloc(n ? n : 1, sizeof(*kr));
		if (!kr)
			return -ENOMEM;
	}
	if (tries == 4 || !q.num_iovas) {
		free(kr);
		return tries == 4 ? -EIO : -ENOSPC;
	}
	r = calloc(q.num_iovas, sizeof(*r));
	if (!r) {
		free(kr);
		return -ENOMEM;
	}
	for (i = 0; i < q.num_iovas; i++) {
		if (kr[i].start > kr[i].last) {
			free(kr);
			free(r);
			return -EIO;
		}
		r[i] = (struct uv_iova_range){ kr[i].start, kr[i].last };
	}
	if (q.out_iova_alignment > align &&
	    !(q.out_iova_alignment & (q.out_iova_alignment - 1)))
		align = q.out_iova_alignment;
	ret = uv_iova_init(&v->iova, r, q.num_iovas, align);
	free(kr);
	free(r);
	if (ret == -EINVAL)
		ret = -EIO;
	if (!ret)
		v->iova_ok = true;
	return ret;
}

/* The container's usable IOVA space. */
static int probe_iova(struct vfio *v)
{
	struct vfio_iommu_type1_info head = { 0 };
	struct vfio_iommu_type1_info info;
	struct uv_iova_range *r = NULL, def = { 0, 0xffffffffull };
	uint64_t align = UV_PAGE_SIZE;
	size_t len, n = 1;
	void *buf;
	int ret;

	ret = info_with_caps(v->container, VFIO_IOMMU_GET_INFO, &head,
			     sizeof(head), &buf, &len);
	if (ret)
		return ret;
	memcpy(&info, buf, sizeof(info));
	/* The smallest IOMMU page size, if it is bigger than ours. */
	if ((info.flags & VFIO_IOMMU_INFO_PGSIZES) && info.iova_pgsizes) {
		uint64_t min = info.iova_pgsizes & -info.iova_pgsizes;

		if (min > align)
			align = min;
	}
	if (len >= sizeof(info) && (info.flags & VFIO_IOMMU_INFO_CAPS)) {
		long off = uv_vfio_find_cap(buf, len, info.cap_offset,
					    VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
					    sizeof(struct vfio_iommu_type1_info_cap_iova_range));

		if (off >= 0)
			ret = uv_vfio_iova_ranges(buf, len, (size_t)off, &r, &n);
		else if (off != -ENOENT)
			ret = (int)off;
	}
	free(buf);
	if (ret)
		return ret;
	/* Without the capability (old kernels): the low 4 GiB. */
	ret = uv_iova_init(&v->iova, r ? r : &def, r ? n : 1, align);
	free(r);
	if (ret == -EINVAL)
		ret = -EIO;
	if (!ret)
		v->iova_ok = true;
	return ret;
}

/* The group number of @bdf from sysfs; -ENODEV without one. */
static int group_of(const char *bdf, char *out, size_t len)
{
	char p[256], target[PATH_MAX];
	const char *base;
	struct stat st;
	ssize_t n;

	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", bdf);
	if (stat(p, &st))
		return -ENODEV;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(p, target, sizeof(target) - 1);
	if (n <= 0)
		return -ENODEV;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if ((size_t)snprintf(out, len, "%s", base) >= len)
		return -ENODEV;
	return 0;
}

static int open_group(struct vfio *v, const char *bdf)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char grp[32], p[64];
	int ret;

	ret = group_of(bdf, grp, sizeof(grp));
	if (ret)
		return ret;
	snprintf(p, sizeof(p), "/dev/vfio/%s", grp);
	v->group = open(p, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		ret = -errno;
		if (ret != -ENOENT)
			return ret;
		/* A no-IOMMU group: refused (uvirtio/vfio.h says why). */
		snprintf(p, sizeof(p), "/dev/vfio/noiommu-%s", grp);
		if (!access(p, F_OK))
			return -EPERM;
		return -ENXIO;
	}
	ret = vioctl(v->group, VFIO_GROUP_GET_STATUS, &gs);
	if (ret)
		return ret;
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	/* Someone else's container already holds it. */
	if (gs.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
		return -EBUSY;
	return 0;
}

static int open_container(struct vfio *v)
{
	int ret;

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return -errno;
	ret = ioctl(v->container, VFIO_GET_API_VERSION);
	if (ret < 0)
		return -errno;
	if (ret != VFIO_API_VERSION)
		return -EPROTO;
	ret = ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	if (ret < 0)
		return -errno;
	return ret > 0 ? 0 : -EOPNOTSUPP;
}

static int setup_device(struct vfio *v);

static int open_device(struct vfio *v, const char *bdf)
{
	v->dev = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->dev < 0) {
		v->dev = -1;
		return -errno;
	}
	return setup_device(v);
}

/* Regions, IRQs and the command register of the open device fd. */
static int setup_device(struct vfio *v)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri),
				       .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_irq_info ii = { .argsz = sizeof(ii),
				    .index = VFIO_PCI_MSIX_IRQ_INDEX };
	uint16_t cmd;
	unsigned int i;
	int ret;

	ret = vioctl(v->dev, VFIO_DEVICE_GET_INFO, &di);
	if (ret)
		return ret;
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI))
		return -ENODEV;
	if (di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
	    di.num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX)
		return -EIO;
	v->can_reset = di.flags & VFIO_DEVICE_FLAGS_RESET;
	ret = vioctl(v->dev, VFIO_DEVICE_GET_REGION_INFO, &ri);
	if (ret)
		return ret;
	if (ri.size < 64 || ri.size > 4096 ||
	    ri.offset > (uint64_t)INT64_MAX - ri.size ||
	    !(ri.flags & VFIO_REGION_INFO_FLAG_READ))
		return -EIO;
	v->cfg_off = ri.offset;
	v->cfg_size = ri.size;
	for (i = 0; i < 6; i++) {
		ret = probe_bar(v, i);
		if (ret)
			return ret;
	}
	ret = vioctl(v->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii);
	if (ret)
		return ret;
	if ((ii.flags & VFIO_IRQ_INFO_EVENTFD) && ii.count) {
		if (ii.count > 2048)
			return -EIO;
		v->efd = malloc(ii.count * sizeof(int));
		if (!v->efd)
			return -ENOMEM;
		for (i = 0; i < ii.count; i++)
			v->efd[i] = -1;
		v->nvec = ii.count;
		v->irq_index = VFIO_PCI_MSIX_IRQ_INDEX;
	} else if (di.num_irqs > VFIO_PCI_INTX_IRQ_INDEX) {
		/* No MSI-X: INTx, if VFIO masks it on each interrupt. */
		struct vfio_irq_info xi = { .argsz = sizeof(xi),
					    .index = VFIO_PCI_INTX_IRQ_INDEX };

		if (!vioctl(v->dev, VFIO_DEVICE_GET_IRQ_INFO, &xi) &&
		    xi.count == 1 && (xi.flags & VFIO_IRQ_INFO_EVENTFD) &&
		    (xi.flags & VFIO_IRQ_INFO_MASKABLE) &&
		    (xi.flags & VFIO_IRQ_INFO_AUTOMASKED)) {
			v->efd = malloc(sizeof(int));
			if (!v->efd)
				return -ENOMEM;
			v->efd[0] = -1;
			v->nvec = 1;
			v->intx = true;
			v->irq_index = VFIO_PCI_INTX_IRQ_INDEX;
		}
	}
	/* Removal: the kernel's request to give the device back. */
	if (di.num_irqs > VFIO_PCI_REQ_IRQ_INDEX) {
		struct vfio_irq_info rq = { .argsz = sizeof(rq),
					    .index = VFIO_PCI_REQ_IRQ_INDEX };

		if (!vioctl(v->dev, VFIO_DEVICE_GET_IRQ_INFO, &rq) &&
		    rq.count == 1 && (rq.flags & VFIO_IRQ_INFO_EVENTFD)) {
			v->req_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (v->req_efd < 0)
				return -errno;
			if (set_irqs(v, VFIO_PCI_REQ_IRQ_INDEX,
				     VFIO_IRQ_SET_DATA_EVENTFD |
				     VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1,
				     &v->req_efd)) {
				close(v->req_efd);
				v->req_efd = -1;
			}
		}
	}
	/* Memory decoding and bus mastering: the device does DMA. */
	ret = v_cfg_read(v, PCI_COMMAND, &cmd, 2);
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return v_cfg_write(v, PCI_COMMAND, &cmd, 2);
}

/* The cdev flow: /dev/vfio/devices/vfioN bound to a fresh IOAS. */
static int open_cdev(struct vfio *v, const char *bdf)
{
	struct uv_iommu_ioas_alloc al = { .size = sizeof(al) };
	struct uv_vfio_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct uv_vfio_attach_pt at = { .argsz = sizeof(at) };
	char p[300], grp[32], node[300] = "";
	struct dirent *de;
	DIR *d;
	int ret;

	ret = group_of(bdf, grp, sizeof(grp));
	if (ret)
		return ret;
	snprintf(p, sizeof(p), "/dev/vfio/noiommu-%s", grp);
	if (!access(p, F_OK))
		return -EPERM;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(p);
	if (!d)
		return -ENXIO;	/* not on vfio-pci, or no cdev support */
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4) &&
		    strlen(de->d_name) < 32) {
			snprintf(node, sizeof(node), "/dev/vfio/devices/%s",
				 de->d_name);
			break;
		}
	closedir(d);
	if (!node[0])
		return -ENXIO;
	v->dev = open(node, O_RDWR | O_CLOEXEC);
	if (v->dev < 0) {
		v->dev = -1;
		return -errno;
	}
	v->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (v->iommufd < 0) {
		v->iommufd = -1;
		return -errno;
	}
	bind.iommufd = v->iommufd;
	ret = vioctl(v->dev, UV_VFIO_DEVICE_BIND_IOMMUFD, &bind);
	/* A cdev device admits one opener: the kernel says -EINVAL. */
	if (ret == -EINVAL)
		ret = -EBUSY;
	if (ret)
		return ret;
	ret = vioctl(v->iommufd, UV_IOMMU_IOAS_ALLOC, &al);
	if (ret)
		return ret;
	v->ioas = al.out_ioas_id;
	at.pt_id = v->ioas;
	ret = vioctl(v->dev, UV_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (ret)
		return ret;
	ret = probe_iova_ioas(v);
	if (ret)
		return ret;
	return setup_device(v);
}

UV_EXPORT int uvirtio_vfio_open_flow(const char *bdf,
				     enum uvirtio_vfio_flow flow,
				     struct uvirtio_backend **out)
{
	struct uvirtio_pci_addr a;
	char canon[16];
	struct vfio *v;
	int ret;

	if (!bdf || !out || uvirtio_parse_pci_addr(bdf, &a) ||
	    (flow != UVIRTIO_VFIO_AUTO && flow != UVIRTIO_VFIO_TYPE1 &&
	     flow != UVIRTIO_VFIO_CDEV))
		return -EINVAL;
	snprintf(canon, sizeof(canon), "%04x:%02x:%02x.%x", a.domain, a.bus,
		 a.dev, a.fn);
	/* AUTO: the container when the kernel has one, else the cdev. */
	if (flow == UVIRTIO_VFIO_AUTO)
		flow = access("/dev/vfio/vfio", F_OK) &&
		       !access("/dev/iommu", F_OK) ? UVIRTIO_VFIO_CDEV :
						     UVIRTIO_VFIO_TYPE1;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->container = v->group = v->dev = v->req_efd = v->iommufd = -1;
	pthread_mutex_init(&v->lock, NULL);
	if (flow == UVIRTIO_VFIO_CDEV) {
		ret = open_cdev(v, canon);
		if (ret)
			goto err;
		goto done;
	}
	ret = open_group(v, canon);
	if (ret)
		goto err;
	ret = open_container(v);
	if (ret)
		goto err;
	ret = vioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container);
	if (ret)
		goto err;
	ret = ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 ?
		-errno : 0;
	if (ret)
		goto err;
	ret = probe_iova(v);
	if (ret)
		goto err;
	ret = open_device(v, canon);
	if (ret)
		goto err;
done:
	ret = uvirtio_backend_new(&vfio_ops, v, out);
	if (ret)
		goto err;
	uv_backend_set_off_cpu(*out);
	return 0;
err:
	v_close(v);
	return ret;
}

UV_EXPORT int uvirtio_vfio_open(const char *bdf, struct uvirtio_backend **out)
{
	return uvirtio_vfio_open_flow(bdf, UVIRTIO_VFIO_AUTO, out);
}
