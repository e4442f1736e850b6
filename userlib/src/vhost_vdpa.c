// SPDX-License-Identifier: BSD-3-Clause
/*
 * vhost_vdpa.c - the vhost-vdpa backend and transport.
 *
 * Both live here because they share the connection state (struct vv):
 * the backend half owns the file descriptor, the IOVA allocator and the
 * IOTLB, the eventfds of the queues and the config interrupt; the
 * transport half turns the vhost-vdpa ioctls into the status, feature,
 * config and queue operations of struct uv_transport_ops.
 *
 * Flow (drivers/vhost/vdpa.c): open, VHOST_SET_OWNER, backend features
 * (IOTLB_MSG_V2, and IOTLB_BATCH / IOTLB_PERSIST when offered), then the
 * usual virtio initialisation through VHOST_VDPA_SET_STATUS and
 * VHOST_GET/SET_FEATURES.  Rings and buffers are addressed by IOVAs that
 * this file allocates inside VHOST_VDPA_GET_IOVA_RANGE and enters in the
 * device IOTLB by writing struct vhost_msg_v2 to the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/vhost_types.h>
#include <linux/virtio_pci.h>

#include <uvirtio/vhost_vdpa.h>

#include "internal.h"

/* Sanity bounds on what the kernel reports. */
#define VV_MAX_VQS		256u
#define VV_MAX_CONFIG		4096u
/* Never hand out IOVA 0: keep the first page unused. */
#define VV_IOVA_FLOOR		UV_PAGE_SIZE
/* Bound on EINTR retries of one write()/ioctl(). */
#define VV_EINTR_RETRIES	64
/* Bound on /proc/self/maps lines examined for one mapping check. */
#define VV_MAPS_LINES		(1u << 20)

/*
 * Mappings that survive a reset (Linux 6.7+).  Older UAPI headers lack
 * the bit; without it every reset is followed by a replay of the IOTLB.
 */
#ifdef VHOST_BACKEND_F_IOTLB_PERSIST
#define VV_PERSIST_MASK		(1ull << VHOST_BACKEND_F_IOTLB_PERSIST)
#else
#define VV_PERSIST_MASK		0ull
#endif

/* One IOVA range entered in the device IOTLB. */
struct vv_region {
	uint64_t iova;		/* page aligned */
	uint64_t size;		/* page multiple */
	uintptr_t uaddr;	/* page-aligned start in this process */
	bool alloc;		/* from dma_alloc: unmapped on free */
};

struct vv {
	int fd;
	pthread_mutex_t lock;		/* the fields below */
	uint64_t backend_features;	/* negotiated */
	uint32_t device_id;
	uint32_t nvqs;
	uint32_t config_size;
	uint16_t vring_num;
	uint64_t iova_first, iova_last;	/* inclusive */
	struct vv_region *regs;		/* sorted by iova */
	size_t nregs, regs_cap;
	int *kick;			/* nvqs eventfds, -1 until set up */
	int *irq;			/* nvqs + 1 eventfds, vector 0: config */
};

static const struct uvirtio_backend_ops vv_backend_ops;

static int vv_ioctl(struct vv *v, unsigned long req, void *arg)
{
	int i;

	for (i = 0; i < VV_EINTR_RETRIES; i++) {
		if (ioctl(v->fd, req, arg) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

/* ---- IOTLB ---------------------------------------------------------- */

/*
 * One IOTLB message.  The kernel turns every failure of an update or
 * invalidation into EFAULT, so the caller validates the range first.
 */
static int vv_iotlb(struct vv *v, uint8_t type, uint64_t iova, uint64_t size,
		    uint64_t uaddr)
{
	struct vhost_msg_v2 m;
	ssize_t n = -1;
	int i;

	memset(&m, 0, sizeof(m));
	m.type = VHOST_IOTLB_MSG_V2;
	m.iotlb.iova = iova;
	m.iotlb.size = size;
	m.iotlb.uaddr = uaddr;
	m.iotlb.perm = VHOST_ACCESS_RW;
	m.iotlb.type = type;
	for (i = 0; i < VV_EINTR_RETRIES; i++) {
		n = write(v->fd, &m, sizeof(m));
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(m) ? 0 : -EIO;
}

/*
 * First-fit search for @size bytes of free IOVA space; caller holds the
 * lock.  Return: 0 with *@iova set, or -ENOSPC.
 */
static int vv_iova_find(const struct vv *v, uint64_t size, uint64_t *iova)
{
	uint64_t c = v->iova_first, end;
	size_t i;

	if (c < VV_IOVA_FLOOR)
		c = VV_IOVA_FLOOR;
	c = UV_ALIGN_UP(c, (uint64_t)UV_PAGE_SIZE);
	if (!c || !size)
		return -ENOSPC;		/* wrapped */
	for (i = 0; i <= v->nregs; i++) {
		const struct vv_region *r = i < v->nregs ? &v->regs[i] : NULL;

		/* the gap [c, end] before region i, or up to the range end */
		if (!r || r->iova) {
			end = r ? r->iova - 1 : v->iova_last;
			if (end > v->iova_last)
				end = v->iova_last;
			if (c <= end && end - c >= size - 1) {
				*iova = c;
				return 0;
			}
		}
		if (!r)
			break;
		end = r->iova + r->size - 1;
		if (end == UINT64_MAX)
			return -ENOSPC;
		if (end + 1 > c)
			c = end + 1;
	}
	return -ENOSPC;
}

/* Insert a region keeping the array sorted; caller holds the lock. */
static int vv_region_add(struct vv *v, const struct vv_region *r)
{
	size_t i;

	if (v->nregs == v->regs_cap) {
		size_t cap = v->regs_cap ? v->regs_cap * 2 : 16;
		struct vv_region *n = realloc(v->regs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->regs = n;
		v->regs_cap = cap;
	}
	for (i = v->nregs; i > 0 && v->regs[i - 1].iova > r->iova; i--)
		v->regs[i] = v->regs[i - 1];
	v->regs[i] = *r;
	v->nregs++;
	return 0;
}

/* Index of the region starting at @iova, or -1; caller holds the lock. */
static ssize_t vv_region_find(const struct vv *v, uint64_t iova)
{
	size_t lo = 0, hi = v->nregs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->regs[mid].iova == iova)
			return (ssize_t)mid;
		if (v->regs[mid].iova < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void vv_region_del(struct vv *v, size_t i)
{
	memmove(&v->regs[i], &v->regs[i + 1],
		(v->nregs - i - 1) * sizeof(*v->regs));
	v->nregs--;
}

/*
 * Allocate IOVA space for [@uaddr, +@size) (page aligned) and enter it in
 * the IOTLB.  Return: 0 with *@iova set, or a negative errno.
 */
static int vv_map_range(struct vv *v, uintptr_t uaddr, uint64_t size,
			bool alloc, uint64_t *iova)
{
	struct vv_region r = { .uaddr = uaddr, .size = size, .alloc = alloc };
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vv_iova_find(v, size, &r.iova);
	if (!ret)
		ret = vv_region_add(v, &r);
	if (!ret) {
		ret = vv_iotlb(v, VHOST_IOTLB_UPDATE, r.iova, size, uaddr);
		if (ret)
			vv_region_del(v, (size_t)vv_region_find(v, r.iova));
	}
	pthread_mutex_unlock(&v->lock);
	if (!ret)
		*iova = r.iova;
	return ret;
}

/* Remove the region at @iova from the IOTLB; -ENOENT if unknown. */
static int vv_unmap_range(struct vv *v, uint64_t iova, bool alloc,
			  struct vv_region *out)
{
	ssize_t i;
	int ret;

	pthread_mutex_lock(&v->lock);
	i = vv_region_find(v, iova);
	if (i < 0 || v->regs[i].alloc != alloc) {
		pthread_mutex_unlock(&v->lock);
		return -ENOENT;
	}
	*out = v->regs[i];
	ret = vv_iotlb(v, VHOST_IOTLB_INVALIDATE, out->iova, out->size, 0);
	vv_region_del(v, (size_t)i);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/*
 * After a reset without VHOST_BACKEND_F_IOTLB_PERSIST the device dropped
 * its mappings (and vhost still holds them): enter them all again.
 */
static int vv_replay_maps(struct vv *v)
{
	int ret = 0, r;
	size_t i;

	pthread_mutex_lock(&v->lock);
	for (i = 0; i < v->nregs; i++) {
		const struct vv_region *g = &v->regs[i];

		vv_iotlb(v, VHOST_IOTLB_INVALIDATE, g->iova, g->size, 0);
		r = vv_iotlb(v, VHOST_IOTLB_UPDATE, g->iova, g->size, g->uaddr);
		if (r && !ret)
			ret = r;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ---- backend ops ---------------------------------------------------- */

static int vv_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct vv *v = priv;
	uint64_t iova;
	void *p;
	int fd, ret;

	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	if (!len)
		return -EINVAL;
	/*
	 * Devices that work on virtual addresses see only MAP_SHARED file
	 * mappings: anonymous memory would be skipped without an error.
	 */
	fd = memfd_create("uvirtio-vdpa", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ret = p == MAP_FAILED ? -errno : 0;
	close(fd);	/* the mapping keeps the file */
	if (ret)
		return ret;
	ret = vv_map_range(v, (uintptr_t)p, len, true, &iova);
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

static void vv_dma_free(void *priv, struct uvirtio_dma *dma)
{
	struct vv *v = priv;
	struct vv_region r;

	if (vv_unmap_range(v, dma->handle, true, &r) == -ENOENT)
		return;		/* not ours: leave the memory alone */
	munmap((void *)r.uaddr, r.size);
}

/* The file a caller says backs a mapping (dma_map_fd), or none. */
struct vv_backing {
	bool check;
	unsigned int major, minor;
	unsigned long ino;
	uint64_t offset;	/* file offset of the range's first byte */
};

/*
 * Is every page of [@start, @end) a MAP_SHARED mapping of a file (inode
 * != 0; shared anonymous memory is shmem and counts)?  With @b->check,
 * of that file, at that offset.  Return: 0, -EFAULT when part of the
 * range is not mapped, -EOPNOTSUPP when part of it is private or
 * anonymous, -EINVAL when it maps another file or another offset.
 */
static int vv_check_shared(uintptr_t start, uintptr_t end,
			   const struct vv_backing *b)
{
	unsigned long lo, hi, ino;
	unsigned long long off;
	unsigned int maj, min;
	char perms[8];
	uintptr_t cur = start;
	unsigned int lines = 0;
	char *line = NULL;
	size_t cap = 0;
	int ret = -EFAULT;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (cur < end && lines++ < VV_MAPS_LINES &&
	       getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%lx-%lx %7s %llx %x:%x %lu", &lo, &hi, perms,
			   &off, &maj, &min, &ino) != 7 || strlen(perms) < 4)
			continue;
		if (hi <= cur)
			continue;
		if (lo > cur)
			break;		/* a hole: not mapped */
		if (perms[3] != 's' || ino == 0) {
			ret = -EOPNOTSUPP;
			break;
		}
		if (b->check && (maj != b->major || min != b->minor ||
				 ino != b->ino ||
				 off + (cur - lo) != b->offset + (cur - start))) {
			ret = -EINVAL;
			break;
		}
		cur = hi;
	}
	free(line);
	fclose(f);
	return cur >= end ? 0 : ret;
}

static int vv_map_common(struct vv *v, void *vaddr, size_t len,
			 const struct vv_backing *b, uint64_t *handle,
			 struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	uintptr_t start = (uintptr_t)vaddr & ~(uintptr_t)(UV_PAGE_SIZE - 1);
	uintptr_t end = UV_ALIGN_UP((uintptr_t)vaddr + len,
				    (uintptr_t)UV_PAGE_SIZE);
	struct uvirtio_iova_seg *s;
	uint64_t iova;
	int ret;

	if (!len || (uintptr_t)vaddr + len < (uintptr_t)vaddr || end <= start)
		return -EINVAL;
	ret = vv_check_shared(start, end, b);
	if (ret)
		return ret;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = vv_map_range(v, start, end - start, false, &iova);
	if (ret) {
		free(s);
		return ret;
	}
	s->vaddr = vaddr;
	s->iova = iova + ((uintptr_t)vaddr - start);
	s->len = len;
	*segs = s;
	*nsegs = 1;
	*handle = iova;
	return 0;
}

static int vv_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
		      struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	const struct vv_backing none = { .check = false };

	return vv_map_common(priv, vaddr, len, &none, handle, segs, nsegs);
}

/*
 * The kernel finds the file through the VMA, not the fd: the fd only
 * lets us check that the caller's memory is what it says it is.
 */
static int vv_dma_map_fd(void *priv, void *vaddr, size_t len, int fd,
			 uint64_t fd_offset, uint64_t *handle,
			 struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	uintptr_t skew = (uintptr_t)vaddr & (UV_PAGE_SIZE - 1);
	struct vv_backing b = { .check = true };
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return -EBADF;
	if (!S_ISREG(st.st_mode))
		return -EOPNOTSUPP;
	if (fd_offset < skew)
		return -EINVAL;
	b.major = major(st.st_dev);
	b.minor = minor(st.st_dev);
	b.ino = (unsigned long)st.st_ino;
	b.offset = fd_offset - skew;
	return vv_map_common(priv, vaddr, len, &b, handle, segs, nsegs);
}

static int vv_dma_unmap(void *priv, uint64_t handle)
{
	struct vv_region r;

	return vv_unmap_range(priv, handle, false, &r);
}

static int vv_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	struct vv *v = priv;
	int fd;

	(void)cpu;
	if (vector > v->nvqs)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	fd = v->irq[vector];
	if (fd < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			fd = -errno;
		else
			v->irq[vector] = fd;
	}
	pthread_mutex_unlock(&v->lock);
	return fd;
}

static int vv_num_vectors(void *priv)
{
	const struct vv *v = priv;

	return (int)v->nvqs + 1;	/* config + one per queue */
}

static int vv_iommu_mode(void *priv)
{
	(void)priv;
	return UVIRTIO_BE_IOMMU_TRANSLATED;
}

static int vv_set_status_raw(struct vv *v, uint8_t status)
{
	int ret = vv_ioctl(v, VHOST_VDPA_SET_STATUS, &status);

	if (!ret && !status && !(v->backend_features & VV_PERSIST_MASK))
		ret = vv_replay_maps(v);
	return ret;
}

static int vv_reset(void *priv)
{
	return vv_set_status_raw(priv, 0);
}

static void vv_close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void vv_close(void *priv)
{
	struct vv *v = priv;
	uint8_t zero = 0;
	size_t i;

	if (!v)
		return;
	if (v->fd >= 0) {
		vv_ioctl(v, VHOST_VDPA_SET_STATUS, &zero);
		close(v->fd);	/* drops the whole IOTLB */
	}
	/* allocations not freed by their users: release the memory */
	for (i = 0; i < v->nregs; i++)
		if (v->regs[i].alloc)
			munmap((void *)v->regs[i].uaddr, v->regs[i].size);
	vv_close_fds(v->kick, v->nvqs);
	vv_close_fds(v->irq, (size_t)v->nvqs + 1);
	free(v->kick);
	free(v->irq);
	free(v->regs);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct uvirtio_backend_ops vv_backend_ops = {
	.dma_alloc = vv_dma_alloc,
	.dma_free = vv_dma_free,
	.dma_map = vv_dma_map,
	.dma_unmap = vv_dma_unmap,
	.irq_eventfd = vv_irq_eventfd,
	.num_vectors = vv_num_vectors,
	.reset = vv_reset,
	.iommu_mode = vv_iommu_mode,
	.close = vv_close,
	.dma_map_fd = vv_dma_map_fd,
};

static int vv_setup(struct vv *v, const char *path)
{
	struct vhost_vdpa_iova_range range;
	uint64_t offered, want;
	int ret;

	v->fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0)
		return -errno;
	if ((ret = vv_ioctl(v, VHOST_SET_OWNER, NULL)))
		return ret;
	if ((ret = vv_ioctl(v, VHOST_GET_BACKEND_FEATURES, &offered)))
		return ret;
	if (!(offered & (1ull << VHOST_BACKEND_F_IOTLB_MSG_V2)))
		return -ENOTSUP;
	want = offered & ((1ull << VHOST_BACKEND_F_IOTLB_MSG_V2) |
			  (1ull << VHOST_BACKEND_F_IOTLB_BATCH) |
			  VV_PERSIST_MASK);
	if ((ret = vv_ioctl(v, VHOST_SET_BACKEND_FEATURES, &want)))
		return ret;
	v->backend_features = want;
	if ((ret = vv_ioctl(v, VHOST_VDPA_GET_DEVICE_ID, &v->device_id)))
		return ret;
	if (!v->device_id)
		return -ENODEV;
	if ((ret = vv_ioctl(v, VHOST_VDPA_GET_VQS_COUNT, &v->nvqs)))
		return ret;
	if (!v->nvqs || v->nvqs > VV_MAX_VQS)
		return -EIO;
	if ((ret = vv_ioctl(v, VHOST_VDPA_GET_CONFIG_SIZE, &v->config_size)))
		return ret;
	if (v->config_size > VV_MAX_CONFIG)
		return -EIO;
	if ((ret = vv_ioctl(v, VHOST_VDPA_GET_IOVA_RANGE, &range)))
		return ret;
	/* at least a few pages above the floor */
	if (range.first > range.last || range.last < VV_IOVA_FLOOR ||
	    range.last - (range.first > VV_IOVA_FLOOR ? range.first :
			  VV_IOVA_FLOOR) < 16 * UV_PAGE_SIZE)
		return -EIO;
	v->iova_first = range.first;
	v->iova_last = range.last;
	if ((ret = vv_ioctl(v, VHOST_VDPA_GET_VRING_NUM, &v->vring_num)))
		return ret;
	if (!v->vring_num)
		return -EIO;
	v->kick = malloc(v->nvqs * sizeof(int));
	v->irq = malloc((v->nvqs + 1) * sizeof(int));
	if (!v->kick || !v->irq)
		return -ENOMEM;
	memset(v->kick, 0xff, v->nvqs * sizeof(int));
	memset(v->irq, 0xff, (v->nvqs + 1) * sizeof(int));
	return 0;
}

UV_EXPORT int uvirtio_vhost_vdpa_open(const char *path,
				      struct uvirtio_backend **out)
{
	struct vv *v;
	int ret;

	if (!path || !*path || !out)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->fd = -1;
	if (pthread_mutex_init(&v->lock, NULL)) {
		free(v);
		return -ENOMEM;
	}
	ret = vv_setup(v, path);
	if (!ret)
		ret = uvirtio_backend_new(&vv_backend_ops, v, out);
	if (ret)
		vv_close(v);
	return ret;
}

/* ---- transport ------------------------------------------------------ */

static struct vv *vv_of(struct uvirtio_dev *dev)
{
	return dev->tpriv;
}

static int vvt_probe(struct uvirtio_dev *dev)
{
	if (dev->be->ops != &vv_backend_ops)
		return -ENODEV;
	dev->tpriv = dev->be->priv;
	return 0;
}

static int vvt_device_type(struct uvirtio_dev *dev, uint32_t *type)
{
	*type = vv_of(dev)->device_id;
	return 0;
}

static int vvt_get_status(struct uvirtio_dev *dev)
{
	uint8_t st;
	int ret = vv_ioctl(vv_of(dev), VHOST_VDPA_GET_STATUS, &st);

	return ret ? ret : st;
}

static int vvt_set_status(struct uvirtio_dev *dev, uint8_t status)
{
	return vv_set_status_raw(vv_of(dev), status);
}

static int vvt_get_features(struct uvirtio_dev *dev, uint64_t *features)
{
	return vv_ioctl(vv_of(dev), VHOST_GET_FEATURES, features);
}

static int vvt_set_features(struct uvirtio_dev *dev, uint64_t features)
{
	return vv_ioctl(vv_of(dev), VHOST_SET_FEATURES, &features);
}

/* struct vhost_vdpa_config with room for one 32-bit access */
union vv_cfg {
	struct vhost_vdpa_config hdr;
	uint8_t raw[sizeof(struct vhost_vdpa_config) + 4];
};

static int vvt_config_read(struct uvirtio_dev *dev, uint32_t off,
			   unsigned int width, uint32_t *val)
{
	struct vv *v = vv_of(dev);
	union vv_cfg c;
	int ret;

	if ((width != 1 && width != 2 && width != 4) ||
	    (uint64_t)off + width > v->config_size)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.hdr.off = off;
	c.hdr.len = width;
	ret = vv_ioctl(v, VHOST_VDPA_GET_CONFIG, &c);
	if (ret)
		return ret;
	*val = 0;
	memcpy(val, c.hdr.buf, width);	/* little-endian host */
	return 0;
}

static int vvt_config_write(struct uvirtio_dev *dev, uint32_t off,
			    unsigned int width, uint32_t val)
{
	struct vv *v = vv_of(dev);
	union vv_cfg c;

	if ((width != 1 && width != 2 && width != 4) ||
	    (uint64_t)off + width > v->config_size)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.hdr.off = off;
	c.hdr.len = width;
	memcpy(c.hdr.buf, &val, width);
	return vv_ioctl(v, VHOST_VDPA_SET_CONFIG, &c);
}

static int vvt_config_generation(struct uvirtio_dev *dev)
{
	(void)dev;
	return -EOPNOTSUPP;	/* vhost-vdpa does not expose it */
}

static uint32_t vvt_config_len(struct uvirtio_dev *dev)
{
	return vv_of(dev)->config_size;
}

static int vvt_num_queues(struct uvirtio_dev *dev)
{
	return (int)vv_of(dev)->nvqs;
}

static int vvt_queue_size(struct uvirtio_dev *dev, uint16_t index)
{
	struct vv *v = vv_of(dev);

	return index < v->nvqs ? v->vring_num : 0;
}

static int vvt_queue_setup(struct uvirtio_dev *dev,
			   const struct uv_queue_setup *qs)
{
	struct vv *v = vv_of(dev);
	struct vhost_vring_state num = { .index = qs->index, .num = qs->size };
	struct vhost_vring_state base = { .index = qs->index, .num = 0 };
	struct vhost_vring_state en = { .index = qs->index, .num = 1 };
	struct vhost_vring_addr addr = {
		.index = qs->index,
		.desc_user_addr = qs->desc,	/* IOVAs, not VAs */
		.avail_user_addr = qs->driver,
		.used_user_addr = qs->device,
	};
	struct vhost_vring_file kick = { .index = qs->index };
	struct vhost_vring_file call = { .index = qs->index, .fd = -1 };
	int ret, fd;

	if (qs->index >= v->nvqs)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	fd = v->kick[qs->index];
	if (fd < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd >= 0)
			v->kick[qs->index] = fd;
	}
	pthread_mutex_unlock(&v->lock);
	if (fd < 0)
		return -errno;
	kick.fd = fd;
	if (qs->vector != VIRTIO_MSI_NO_VECTOR) {
		ret = vv_irq_eventfd(v, qs->vector, -1);
		if (ret < 0)
			return ret;
		call.fd = ret;
	}
	if ((ret = vv_ioctl(v, VHOST_SET_VRING_NUM, &num)) ||
	    (ret = vv_ioctl(v, VHOST_SET_VRING_BASE, &base)) ||
	    (ret = vv_ioctl(v, VHOST_SET_VRING_ADDR, &addr)) ||
	    (ret = vv_ioctl(v, VHOST_SET_VRING_KICK, &kick)) ||
	    (ret = vv_ioctl(v, VHOST_SET_VRING_CALL, &call)))
		return ret;
	return vv_ioctl(v, VHOST_VDPA_SET_VRING_ENABLE, &en);
}

static int vvt_queue_notify_info(struct uvirtio_dev *dev, uint16_t index,
				 struct uv_notify *n)
{
	struct vv *v = vv_of(dev);
	int fd;

	if (index >= v->nvqs)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	fd = v->kick[index];
	pthread_mutex_unlock(&v->lock);
	if (fd < 0)
		return -EINVAL;		/* queue not set up */
	memset(n, 0, sizeof(*n));
	n->kind = UV_NOTIFY_EVENTFD;
	n->fd = fd;
	n->value = index;
	return 0;
}

static int vvt_set_config_vector(struct uvirtio_dev *dev, uint16_t vector)
{
	struct vv *v = vv_of(dev);
	int fd = vv_irq_eventfd(v, vector, -1);

	if (fd < 0)
		return fd;
	return vv_ioctl(v, VHOST_VDPA_SET_CONFIG_CALL, &fd);
}

const struct uv_transport_ops uv_vhost_vdpa_ops = {
	.name = "vhost-vdpa",
	.kind = UVIRTIO_TRANSPORT_VHOST_VDPA,
	.legacy = false,
	.fixed_queue_size = false,
	.split_align = 4,
	.gone_err = -ENODEV,
	.probe = vvt_probe,
	.device_type = vvt_device_type,
	.get_status = vvt_get_status,
	.set_status = vvt_set_status,
	.get_features = vvt_get_features,
	.set_features = vvt_set_features,
	.config_read = vvt_config_read,
	.config_write = vvt_config_write,
	.config_generation = vvt_config_generation,
	.config_len = vvt_config_len,
	.num_queues = vvt_num_queues,
	.queue_size = vvt_queue_size,
	.queue_setup = vvt_queue_setup,
	.queue_notify_info = vvt_queue_notify_info,
	.set_config_vector = vvt_set_config_vector,
};
