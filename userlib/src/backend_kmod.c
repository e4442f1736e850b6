// SPDX-License-Identifier: BSD-3-Clause
/*
 * backend_kmod.c - backend on top of /dev/uvirtio (uapi/linux/uvirtio.h).
 *
 * BARs are mmap()ed where the module allows it (the MSI-X table/PBA range
 * is left as a PROT_NONE hole) and accessed with pread()/pwrite() on the
 * device fd otherwise (I/O BARs, the hole).  Config space is pread/pwrite.
 *
 * A virtio-mmio device (uvirtio_kmod_open_mmio()) shows its register
 * window as BAR 0, reached with pread/pwrite only; it has no PCI config
 * space and no capabilities (cfg_read and get_caps fail with -ENODEV, so
 * the PCI transports pass it by) and one interrupt, vector 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uvirtio/kmod.h>
#include "internal.h"

/* Parse up to @max hex digits (at least one); advance *@s. */
static bool hexnum(const char **s, unsigned int max, unsigned int *out)
{
	unsigned int v = 0, n = 0;
	const char *p = *s;

	for (; n < max; n++, p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		v = v * 16 + (unsigned int)d;
	}
	if (!n)
		return false;
	*out = v;
	*s = p;
	return true;
}

UV_EXPORT int uvirtio_parse_pci_addr(const char *str,
				     struct uvirtio_pci_addr *a)
{
	unsigned int dom = 0, bus, dev, fn;
	const char *p = str, *colon2;

	if (!str || !a)
		return -EINVAL;
	/* Two colons: the domain is present. */
	colon2 = strchr(str, ':');
	if (colon2 && strchr(colon2 + 1, ':')) {
		if (!hexnum(&p, 4, &dom) || *p++ != ':')
			return -EINVAL;
	}
	if (!hexnum(&p, 2, &bus) || *p++ != ':' ||
	    !hexnum(&p, 2, &dev) || *p++ != '.' ||
	    !hexnum(&p, 1, &fn) || *p != '\0')
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	a->domain = (uint16_t)dom;
	a->bus = (uint8_t)bus;
	a->dev = (uint8_t)dev;
	a->fn = (uint8_t)fn;
	return 0;
}

#if defined(__has_include)
#if __has_include(<linux/uvirtio.h>)
#define HAVE_UVIRTIO_UAPI 1
#endif
#endif

#ifndef HAVE_UVIRTIO_UAPI

UV_EXPORT int uvirtio_kmod_open(const char *pci_addr, const char *ctl_path,
				struct uvirtio_backend **be)
{
	(void)pci_addr; (void)ctl_path; (void)be;
	return -ENOSYS;
}

UV_EXPORT int uvirtio_kmod_open_mmio(const char *name, const char *ctl_path,
				     struct uvirtio_backend **be)
{
	(void)name; (void)ctl_path; (void)be;
	return -ENOSYS;
}

UV_EXPORT int uvirtio_kmod_reattach(const char *pci_addr, uint64_t token,
				    const char *ctl_path,
				    struct uvirtio_backend **be)
{
	(void)pci_addr; (void)token; (void)ctl_path; (void)be;
	return -ENOSYS;
}

#else

#include <linux/uvirtio.h>
#include <linux/virtio_pci.h>

struct kbar {
	uint8_t *map;
	uint64_t size;
	uint64_t foff;
	uint32_t flags;
	uint64_t hole_start, hole_end;	/* not mapped (MSI-X) */
};

struct kmod {
	int ctl_fd;
	int fd;
	struct uvirtio_device_info info;
	struct kbar bar[6];
	uint64_t cfg_off;
	unsigned int nvec;
	int irq_kind;		/* enum uvirtio_be_irq of the nvec vectors */
	int *efd;
	int remove_efd;		/* signalled by the module on removal */
	const volatile uint8_t *status;	/* mapped device_status, or NULL */
	bool mmio;		/* a virtio-mmio device: BAR 0 is its window */
	bool ka_armed;		/* close keeps the device running */
	/* re-attached: the previous owner's buffers, mapped here */
	struct uvirtio_dma *adopted;
	unsigned int nadopted;
	uint64_t state_handle;
	/* mappings of live allocations, for a kept-alive close (under lock) */
	struct kmap { void *va; size_t len; } *live;
	size_t nlive, live_cap;
	/* k_dma_alloc_sg() allocations of several blocks (under lock) */
	struct kgroup { void *va; unsigned int n; uint64_t *handles; } *grp;
	size_t ngrp, grp_cap;
	pthread_mutex_t lock;
};

static void live_add(struct kmod *k, void *va, size_t len)
{
	pthread_mutex_lock(&k->lock);
	if (k->nlive == k->live_cap) {
		size_t cap = k->live_cap ? 2 * k->live_cap : 16;
		struct kmap *n = realloc(k->live, cap * sizeof(*n));

		if (!n)
			goto out;	/* only a kept-alive close needs it */
		k->live = n;
		k->live_cap = cap;
	}
	k->live[k->nlive++] = (struct kmap){ va, len };
out:
	pthread_mutex_unlock(&k->lock);
}

static void live_del(struct kmod *k, void *va)
{
	size_t i;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->nlive; i++)
		if (k->live[i].va == va) {
			k->live[i] = k->live[--k->nlive];
			break;
		}
	pthread_mutex_unlock(&k->lock);
}

static int kioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static int k_cfg_read(void *priv, uint32_t off, void *buf, unsigned int width)
{
	struct kmod *k = priv;
	ssize_t r;

	if (k->mmio)
		return -ENODEV;		/* no PCI config space */
	r = pread(k->fd, buf, width, (off_t)(k->cfg_off + off));

	return r == (ssize_t)width ? 0 : r < 0 ? -errno : -EIO;
}

static int k_cfg_write(void *priv, uint32_t off, const void *buf,
		       unsigned int width)
{
	struct kmod *k = priv;
	ssize_t r;

	if (k->mmio)
		return -ENODEV;
	r = pwrite(k->fd, buf, width, (off_t)(k->cfg_off + off));

	return r == (ssize_t)width ? 0 : r < 0 ? -errno : -EIO;
}

static bool mapped(const struct kbar *b, uint64_t off, uint64_t len)
{
	return b->map && off + len <= b->size &&
	       (off + len <= b->hole_start || off >= b->hole_end);
}

static int k_bar_read(void *priv, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t *val)
{
	struct kmod *k = priv;
	struct kbar *b;

	if (bar > 5 || (width != 1 && width != 2 && width != 4 && width != 8))
		return -EINVAL;
	b = &k->bar[bar];
	return uv_win_read(mapped(b, off, width) ? b->map + off : NULL, k->fd,
			   (off_t)(b->foff + off), width, val);
}

static int k_bar_write(void *priv, unsigned int bar, uint64_t off,
		       unsigned int width, uint64_t val)
{
	struct kmod *k = priv;
	struct kbar *b;

	if (bar > 5 || (width != 1 && width != 2 && width != 4 && width != 8))
		return -EINVAL;
	b = &k->bar[bar];
	return uv_win_write(mapped(b, off, width) ? b->map + off : NULL, k->fd,
			    (off_t)(b->foff + off), width, val);
}

static void *k_bar_ptr(void *priv, unsigned int bar, uint64_t off,
		       uint64_t len)
{
	struct kmod *k = priv;

	if (bar > 5 || !mapped(&k->bar[bar], off, len))
		return NULL;
	return k->bar[bar].map + off;
}

/*
 * A data buffer past the largest physically contiguous block, for a
 * device without an IOMMU (UVIRTIO_IOMMU_UNSAFE): DMA_ALLOC there is one
 * block from the page allocator, at most 4 MiB on x86-64, and less once
 * memory is fragmented.  Take blocks of up to that size, halving on
 * -ENOMEM down to 64 KiB, and map them back to back into one reserved
 * range; each is one IOVA run.  Anything else gets one DMA_ALLOC.
 */
#define SG_BLOCK_MAX	(4u << 20)
#define SG_BLOCK_MIN	(64u << 10)

static int group_add(struct kmod *k, void *va, unsigned int n,
		     uint64_t *handles)
{
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	if (k->ngrp == k->grp_cap) {
		size_t cap = k->grp_cap ? 2 * k->grp_cap : 4;
		struct kgroup *g = realloc(k->grp, cap * sizeof(*g));

		if (!g) {
			ret = -ENOMEM;
			goto out;
		}
		k->grp = g;
		k->grp_cap = cap;
	}
	k->grp[k->ngrp++] = (struct kgroup){ va, n, handles };
out:
	pthread_mutex_unlock(&k->lock);
	return ret;
}

/* Take @va's group out of the list; NULL handles if it is no group. */
static uint64_t *group_take(struct kmod *k, void *va, unsigned int *n)
{
	uint64_t *h = NULL;
	size_t i;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->ngrp; i++)
		if (k->grp[i].va == va) {
			h = k->grp[i].handles;
			*n = k->grp[i].n;
			k->grp[i] = k->grp[--k->ngrp];
			break;
		}
	pthread_mutex_unlock(&k->lock);
	return h;
}

static void free_handles(struct kmod *k, const uint64_t *h, unsigned int n)
{
	struct uvirtio_dma_free fr = { .size = sizeof(fr) };
	unsigned int i;

	for (i = 0; i < n; i++) {
		fr.handle = h[i];
		kioctl(k->fd, UVIRTIO_DMA_FREE, &fr);
	}
}

static int k_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct kmod *k = priv;
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = len };
	struct uvirtio_dma_free fr = { .size = sizeof(fr) };
	void *p;
	int ret;

	ret = kioctl(k->fd, UVIRTIO_DMA_ALLOC, &a);
	if (ret)
		return ret;
	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd,
		 (off_t)a.mmap_offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		fr.handle = a.handle;
		kioctl(k->fd, UVIRTIO_DMA_FREE, &fr);
		return ret;
	}
	out->vaddr = p;
	out->iova = a.iova;
	out->len = len;
	out->handle = a.handle;
	live_add(k, p, len);
	return 0;
}

static void k_dma_free(void *priv, struct uvirtio_dma *dma)
{
	struct kmod *k = priv;
	struct uvirtio_dma_free fr = { .size = sizeof(fr),
				       .handle = dma->handle };
	unsigned int n = 0;
	uint64_t *h = group_take(k, dma->vaddr, &n);

	if (h)
		free_handles(k, h, n);
	else
		kioctl(k->fd, UVIRTIO_DMA_FREE, &fr);
	free(h);
	live_del(k, dma->vaddr);
	munmap(dma->vaddr, dma->len);
}

static int k_dma_alloc_sg(void *priv, size_t len, struct uvirtio_dma *out,
			  struct uvirtio_iova_seg **segsp,
			  unsigned int *nsegsp)
{
	struct kmod *k = priv;
	struct uvirtio_iova_seg *segs = NULL;
	unsigned int n = 0, cap = 0;
	uint64_t *h = NULL;
	size_t off = 0, block;
	uint8_t *base;
	int ret;

	ret = k_dma_alloc(priv, len, out);
	if (ret != -ENOMEM || k->info.iommu_mode != UVIRTIO_IOMMU_UNSAFE ||
	    len <= SG_BLOCK_MIN) {
		if (ret)
			return ret;
		segs = malloc(sizeof(*segs));
		if (!segs) {
			k_dma_free(priv, out);
			return -ENOMEM;
		}
		segs[0] = (struct uvirtio_iova_seg){ out->vaddr, out->iova,
						     out->len };
		*segsp = segs;
		*nsegsp = 1;
		return 0;
	}
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	block = SG_BLOCK_MAX;	/* a power of two: every piece stays page-sized */
	while (off < len) {
		struct uvirtio_dma_alloc a = { .size = sizeof(a) };
		struct uvirtio_dma_free fr = { .size = sizeof(fr) };
		void *p;

		a.length = UV_MIN(block, len - off);
		ret = kioctl(k->fd, UVIRTIO_DMA_ALLOC, &a);
		if (ret == -ENOMEM && block > SG_BLOCK_MIN) {
			block /= 2;
			continue;
		}
		if (ret)
			goto err;
		if (n == cap) {
			unsigned int ncap = cap ? 2 * cap : 8;
			struct uvirtio_iova_seg *ns =
				realloc(segs, ncap * sizeof(*ns));
			uint64_t *nh = ns ? realloc(h, ncap * sizeof(*nh)) : NULL;

			if (ns)
				segs = ns;
			if (nh)
				h = nh;
			if (!ns || !nh) {
				ret = -ENOMEM;
				goto err_one;
			}
			cap = ncap;
		}
		p = mmap(base + off, (size_t)a.length, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, k->fd, (off_t)a.mmap_offset);
		if (p == MAP_FAILED) {
			ret = -errno;
			goto err_one;
		}
		h[n] = a.handle;
		segs[n++] = (struct uvirtio_iova_seg){ p, a.iova,
						       (size_t)a.length };
		off += (size_t)a.length;
		continue;
err_one:
		fr.handle = a.handle;
		kioctl(k->fd, UVIRTIO_DMA_FREE, &fr);
		goto err;
	}
	ret = group_add(k, base, n, h);
	if (ret)
		goto err;
	out->vaddr = base;
	out->iova = segs[0].iova;
	out->len = len;
	out->handle = h[0];
	live_add(k, base, len);
	*segsp = segs;
	*nsegsp = n;
	return 0;
err:
	free_handles(k, h, n);
	munmap(base, len);
	free(segs);
	free(h);
	return ret;
}

static int k_dma_unmap(void *priv, uint64_t handle)
{
	struct kmod *k = priv;
	struct uvirtio_dma_unmap u = { .size = sizeof(u), .handle = handle };

	return kioctl(k->fd, UVIRTIO_DMA_UNMAP, &u);
}

static int k_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
		     struct uvirtio_iova_seg **segsp, unsigned int *nsegsp)
{
	struct kmod *k = priv;
	uintptr_t start = (uintptr_t)vaddr & ~(uintptr_t)(UV_PAGE_SIZE - 1);
	uintptr_t end = UV_ALIGN_UP((uintptr_t)vaddr + len,
				    (uintptr_t)UV_PAGE_SIZE);
	uintptr_t va = start, lo = (uintptr_t)vaddr, hi = lo + len;
	struct uvirtio_dma_segment *ks = NULL;
	struct uvirtio_iova_seg *out = NULL;
	struct uvirtio_dma_map m;
	unsigned int cap = 64, i, n = 0;
	int ret;

	for (;;) {
		free(ks);
		ks = calloc(cap, sizeof(*ks));
		if (!ks)
			return -ENOMEM;
		memset(&m, 0, sizeof(m));
		m.size = sizeof(m);
		m.flags = UVIRTIO_DMA_BIDIRECTIONAL;
		m.vaddr = start;
		m.length = end - start;
		m.nr_segments = cap;
		m.segments = (uintptr_t)ks;
		ret = kioctl(k->fd, UVIRTIO_DMA_MAP, &m);
		if (ret)
			goto out;
		if (m.nr_segments <= cap)
			break;
		/* Too small: drop this mapping and retry with room for all. */
		k_dma_unmap(k, m.handle);
		cap = m.nr_segments;
	}
	out = calloc(m.nr_segments, sizeof(*out));
	if (!out) {
		ret = -ENOMEM;
		k_dma_unmap(k, m.handle);
		goto out;
	}
	/* Clip the page-granular runs to the caller's exact range. */
	for (i = 0; i < m.nr_segments; i++) {
		uintptr_t s = va, e = va + ks[i].length;
		uintptr_t cs = s < lo ? lo : s, ce = e > hi ? hi : e;

		if (ce > cs)
			out[n++] = (struct uvirtio_iova_seg){
				(void *)cs, ks[i].iova + (cs - s), ce - cs };
		va = e;
	}
	if (va != end) {
		ret = -EIO;
		free(out);
		k_dma_unmap(k, m.handle);
		goto out;
	}
	*handle = m.handle;
	*segsp = out;
	*nsegsp = n;
	ret = 0;
out:
	free(ks);
	return ret;
}

static int k_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	struct kmod *k = priv;
	int ret = 0;

	if (vector >= k->nvec)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	if (k->efd[vector] < 0) {
		struct uvirtio_irq_set_eventfd s = { .size = sizeof(s),
						     .index = vector };
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		s.fd = fd;
		ret = kioctl(k->fd, UVIRTIO_IRQ_SET_EVENTFD, &s);
		if (ret) {
			close(fd);
			goto out;
		}
		k->efd[vector] = fd;
	}
	if (cpu >= 0) {
		struct uvirtio_irq_set_affinity a = { .size = sizeof(a),
						      .index = vector,
						      .cpu = cpu };
		int r = kioctl(k->fd, UVIRTIO_IRQ_SET_AFFINITY, &a);

		if (r && r != -ENOTTY && r != -EOPNOTSUPP) {
			ret = r;
			goto out;
		}
	}
	ret = k->efd[vector];
out:
	pthread_mutex_unlock(&k->lock);
	return ret;
}

static int k_irq_mask(void *priv, unsigned int vector, bool mask)
{
	struct kmod *k = priv;
	struct uvirtio_irq_mask m = { .size = sizeof(m), .index = vector,
				      .flags = mask ? 0 :
					       UVIRTIO_IRQ_MASK_UNMASK };

	return kioctl(k->fd, UVIRTIO_IRQ_MASK, &m);
}

static int k_num_vectors(void *priv)
{
	struct kmod *k = priv;

	/* the INTx line is vector 0 but no MSI-X vector */
	return k->irq_kind == UVIRTIO_BE_IRQ_INTX ? 0 : (int)k->nvec;
}

static int k_irq_kind(void *priv)
{
	return ((struct kmod *)priv)->irq_kind;
}

static int k_reset(void *priv)
{
	struct kmod *k = priv;
	struct uvirtio_device_reset r = { .size = sizeof(r) };

	if (k->info.flags & UVIRTIO_DEVICE_INFO_FLR)
		r.flags = UVIRTIO_RESET_FLR;
	return kioctl(k->fd, UVIRTIO_DEVICE_RESET, &r);
}

static void to_region(const struct uvirtio_virtio_cap *c,
		      struct uvirtio_cap_region *r)
{
	r->present = c->present;
	r->bar = c->bar;
	r->id = 0;
	r->cfg_offset = c->cap_offset;
	r->offset = c->offset;
	r->length = c->length;
}

static int k_get_caps(void *priv, struct uvirtio_caps *caps)
{
	struct kmod *k = priv;
	const struct uvirtio_virtio_cap *c = k->info.caps;

	if (k->mmio)
		return -ENODEV;		/* no PCI capabilities */
	to_region(&c[UVIRTIO_VCAP_COMMON], &caps->common);
	to_region(&c[UVIRTIO_VCAP_NOTIFY], &caps->notify);
	to_region(&c[UVIRTIO_VCAP_ISR], &caps->isr);
	to_region(&c[UVIRTIO_VCAP_DEVICE], &caps->device);
	to_region(&c[UVIRTIO_VCAP_PCI_CFG], &caps->pci_cfg);
	caps->notify_off_multiplier =
		c[UVIRTIO_VCAP_NOTIFY].notify_off_multiplier;
	caps->has_legacy_io = k->info.flags & UVIRTIO_DEVICE_INFO_LEGACY;
	caps->msix_vectors = (uint16_t)k->info.num_msix;
	return 0;
}

static int k_iommu_mode(void *priv)
{
	return ((struct kmod *)priv)->info.iommu_mode ==
		UVIRTIO_IOMMU_TRANSLATED ? UVIRTIO_BE_IOMMU_TRANSLATED :
					   UVIRTIO_BE_IOMMU_NONE;
}

static int k_keepalive(void *priv, unsigned int timeout_ms,
		       uint64_t state_handle, uint64_t *token)
{
	struct kmod *k = priv;
	struct uvirtio_keepalive ka = {
		.size = sizeof(ka),
		.flags = timeout_ms ? 0 : UVIRTIO_KEEPALIVE_DISARM,
		.timeout_ms = timeout_ms,
		.state_handle = state_handle,
	};
	int ret;

	ret = kioctl(k->fd, UVIRTIO_KEEPALIVE, &ka);
	if (ret == -ENOTTY)
		return -EOPNOTSUPP;	/* a module from before keep-alive */
	if (ret)
		return ret;
	k->ka_armed = timeout_ms != 0;
	*token = ka.token;
	return 0;
}

static int k_restored(void *priv, unsigned int i, struct uvirtio_dma *out,
		      bool *is_state)
{
	struct kmod *k = priv;

	if (i >= k->nadopted)
		return -ENOENT;
	*out = k->adopted[i];
	*is_state = k->state_handle && out->handle == k->state_handle;
	return 0;
}

static void k_close(void *priv)
{
	struct kmod *k = priv;
	struct uvirtio_irq_disable d = { .size = sizeof(d) };
	unsigned int i;

	/* Kept alive, the vectors stay with the device for the next owner. */
	if (k->nvec && !k->ka_armed)
		kioctl(k->fd, UVIRTIO_IRQ_DISABLE, &d);
	/*
	 * Allocations never freed (kept alive, or a re-attached backend's
	 * unclaimed ones) stay with the device, but their mappings would
	 * hold the device fd open: the release that hands the device over,
	 * or resets it, comes only once they are gone.  Unmap them; nothing
	 * is freed here.
	 */
	for (i = 0; i < k->nlive; i++)
		munmap(k->live[i].va, k->live[i].len);
	for (i = 0; i < k->nvec; i++)
		if (k->efd[i] >= 0)
			close(k->efd[i]);
	for (i = 0; i < 6; i++)
		if (k->bar[i].map)
			munmap(k->bar[i].map, k->bar[i].size);
	if (k->fd >= 0)
		close(k->fd);
	if (k->remove_efd >= 0)
		close(k->remove_efd);
	if (k->ctl_fd >= 0)
		close(k->ctl_fd);
	pthread_mutex_destroy(&k->lock);
	free(k->adopted);
	for (i = 0; i < k->ngrp; i++)
		free(k->grp[i].handles);
	free(k->grp);
	free(k->live);
	free(k->efd);
	free(k);
}

static int k_remove_fd(void *priv)
{
	struct kmod *k = priv;

	return k->remove_efd >= 0 ? k->remove_efd : -ENOENT;
}

/*
 * Removal, without a system call where possible.  The module revokes every
 * BAR mapping before it signals the remove eventfd, and a revoked page
 * reads all-ones (kmod/device.c, uvirtio_device_revoke()); a function that
 * was pulled out reads all-ones too.  A live device never shows 0xff in
 * device_status, so while that byte of the common config is mapped, one
 * load answers.  Otherwise (no mapping, legacy or virtio-mmio window read
 * through the fd) the eventfd is polled.
 */
static bool k_removed(void *priv)
{
	struct kmod *k = priv;
	struct pollfd p = { .fd = k->remove_efd, .events = POLLIN };

	if (k->status)
		return *k->status == 0xff;
	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Where device_status of the common config is mapped, if it is. */
static void find_status(struct kmod *k)
{
	const struct uvirtio_virtio_cap *c =
		&k->info.caps[UVIRTIO_VCAP_COMMON];
	size_t at = offsetof(struct virtio_pci_common_cfg, device_status);
	uint64_t off = (uint64_t)c->offset + at;

	if (k->mmio || !c->present || c->bar > 5 || c->length <= at ||
	    !mapped(&k->bar[c->bar], off, 1))
		return;
	k->status = k->bar[c->bar].map + off;
}

static const struct uvirtio_backend_ops kmod_ops = {
	.cfg_read = k_cfg_read,
	.cfg_write = k_cfg_write,
	.bar_read = k_bar_read,
	.bar_write = k_bar_write,
	.bar_ptr = k_bar_ptr,
	.dma_alloc = k_dma_alloc,
	.dma_free = k_dma_free,
	.dma_map = k_dma_map,
	.dma_unmap = k_dma_unmap,
	.irq_eventfd = k_irq_eventfd,
	.irq_mask = k_irq_mask,
	.num_vectors = k_num_vectors,
	.reset = k_reset,
	.get_caps = k_get_caps,
	.iommu_mode = k_iommu_mode,
	.close = k_close,
	.remove_fd = k_remove_fd,
	.keepalive = k_keepalive,
	.restored = k_restored,
	.irq_kind = k_irq_kind,
	.removed = k_removed,
	.dma_alloc_sg = k_dma_alloc_sg,
};

/* mmap a BAR, leaving the MSI-X range unmapped. */
static void map_bar(struct kmod *k, struct kbar *b)
{
	uint8_t *base;

	if (!(b->flags & UVIRTIO_REGION_INFO_MMAP) ||
	    (b->flags & UVIRTIO_REGION_INFO_IO) || !b->size)
		return;
	base = mmap(NULL, b->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED)
		return;
	if (b->hole_start < b->hole_end) {
		if ((b->hole_start &&
		     mmap(base, b->hole_start, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, k->fd,
			  (off_t)b->foff) == MAP_FAILED) ||
		    (b->hole_end < b->size &&
		     mmap(base + b->hole_end, b->size - b->hole_end,
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			  k->fd, (off_t)(b->foff + b->hole_end)) ==
		     MAP_FAILED)) {
			munmap(base, b->size);
			return;
		}
	} else if (mmap(base, b->size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED, k->fd, (off_t)b->foff) ==
		   MAP_FAILED) {
		munmap(base, b->size);
		return;
	}
	b->map = base;
}

/*
 * Enable the one line of a virtio-mmio device (UVIRTIO_IRQ_WIRED) or the
 * INTx line of a PCI function without MSI-X (UVIRTIO_IRQ_INTX): vector 0.
 */
static int enable_line(struct kmod *k, uint32_t type)
{
	struct uvirtio_irq_enable en = { .size = sizeof(en), .type = type,
					 .count = 1 };

	k->efd = malloc(sizeof(int));
	if (!k->efd)
		return -ENOMEM;
	k->efd[0] = -1;
	/* Without it the library polls; not an error. */
	if (!kioctl(k->fd, UVIRTIO_IRQ_ENABLE, &en)) {
		k->nvec = 1;
		k->irq_kind = type == UVIRTIO_IRQ_WIRED ? UVIRTIO_BE_IRQ_WIRED :
							  UVIRTIO_BE_IRQ_INTX;
	}
	return 0;
}

static int kmod_open(struct uvirtio_device_open *op, const char *ctl_path,
		     struct uvirtio_backend **bep);

/* Open (or, with a token, re-attach) the PCI function @pci_addr. */
static int kmod_open_pci(const char *pci_addr, uint32_t flags, uint64_t token,
			 const char *ctl_path, struct uvirtio_backend **bep)
{
	struct uvirtio_device_open op = { .size = sizeof(op), .flags = flags,
					  .token = token };
	struct uvirtio_pci_addr a;
	int ret;

	if (!bep)
		return -EINVAL;
	ret = uvirtio_parse_pci_addr(pci_addr, &a);
	if (ret)
		return ret;
	op.pci_addr = UVIRTIO_PCI_ADDR(a.domain, a.bus, a.dev, a.fn);
	return kmod_open(&op, ctl_path, bep);
}

UV_EXPORT int uvirtio_kmod_open(const char *pci_addr, const char *ctl_path,
				struct uvirtio_backend **bep)
{
	return kmod_open_pci(pci_addr, 0, 0, ctl_path, bep);
}

UV_EXPORT int uvirtio_kmod_open_mmio(const char *name, const char *ctl_path,
				     struct uvirtio_backend **bep)
{
	struct uvirtio_device_open op = { .size = sizeof(op),
					  .flags = UVIRTIO_DEVICE_OPEN_PLATFORM };
	size_t len;

	if (!bep || !name)
		return -EINVAL;
	len = strlen(name);
	if (!len || len >= sizeof(op.name))
		return -EINVAL;
	memcpy(op.name, name, len);
	return kmod_open(&op, ctl_path, bep);
}

/* Map every buffer the previous owner left (UVIRTIO_DMA_LIST). */
static int adopt_buffers(struct kmod *k)
{
	struct uvirtio_dma_list l = { .size = sizeof(l),
				      .entry_size = sizeof(struct uvirtio_dma_buf_entry) };
	struct uvirtio_dma_buf_entry *e = NULL;
	unsigned int i;
	int ret;

	ret = kioctl(k->fd, UVIRTIO_DMA_LIST, &l);
	if (ret || !l.count)
		return ret;
	e = calloc(l.count, sizeof(*e));
	k->adopted = calloc(l.count, sizeof(*k->adopted));
	if (!e || !k->adopted) {
		ret = -ENOMEM;
		goto out;
	}
	l.entries = (uintptr_t)e;
	ret = kioctl(k->fd, UVIRTIO_DMA_LIST, &l);
	if (ret)
		goto out;
	for (i = 0; i < l.count; i++) {
		void *p = mmap(NULL, e[i].length, PROT_READ | PROT_WRITE,
			       MAP_SHARED, k->fd, (off_t)e[i].mmap_offset);

		if (p == MAP_FAILED) {
			ret = -errno;
			goto out;
		}
		k->adopted[k->nadopted++] = (struct uvirtio_dma){
			.vaddr = p, .iova = e[i].iova, .len = e[i].length,
			.handle = e[i].handle,
		};
		live_add(k, p, e[i].length);
	}
out:
	free(e);
	return ret;
}

static int kmod_open(struct uvirtio_device_open *op, const char *ctl_path,
		     struct uvirtio_backend **bep)
{
	struct uvirtio_api_version ver = { .size = sizeof(ver) };
	struct kmod *k;
	unsigned int i;
	int ret;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fd = -1;
	k->remove_efd = -1;
	pthread_mutex_init(&k->lock, NULL);
	k->ctl_fd = open(ctl_path ? ctl_path : "/dev/uvirtio",
			 O_RDWR | O_CLOEXEC);
	if (k->ctl_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = kioctl(k->ctl_fd, UVIRTIO_GET_API_VERSION, &ver);
	if (ret)
		goto err;
	if (ver.version != UVIRTIO_API_VERSION) {
		ret = -EPROTO;
		goto err;
	}
	/* A module from before virtio-mmio would not know the flag. */
	if ((op->flags & UVIRTIO_DEVICE_OPEN_PLATFORM) &&
	    !(ver.caps & UVIRTIO_CAP_MMIO)) {
		ret = -EOPNOTSUPP;
		goto err;
	}
	if ((op->flags & UVIRTIO_DEVICE_OPEN_REATTACH) &&
	    !(ver.caps & UVIRTIO_CAP_KEEPALIVE)) {
		ret = -EOPNOTSUPP;
		goto err;
	}
	ret = kioctl(k->ctl_fd, UVIRTIO_DEVICE_OPEN, op);
	if (ret)
		goto err;
	k->fd = op->fd;
	k->info.size = sizeof(k->info);
	ret = kioctl(k->fd, UVIRTIO_DEVICE_GET_INFO, &k->info);
	if (ret)
		goto err;
	k->mmio = k->info.transport == UVIRTIO_DEVICE_TRANSPORT_MMIO;
	/* Hot-unplug and unbind are reported on an eventfd. */
	k->remove_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->remove_efd < 0) {
		ret = -errno;
		goto err;
	}
	{
		struct uvirtio_set_remove_eventfd re = {
			.size = sizeof(re), .fd = k->remove_efd,
		};

		ret = kioctl(k->fd, UVIRTIO_SET_REMOVE_EVENTFD, &re);
		if (ret)
			goto err;
	}
	k->cfg_off = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG);
	for (i = 0; i < 6; i++) {
		struct uvirtio_region_info ri = { .size = sizeof(ri),
						  .index = i };

		if (kioctl(k->fd, UVIRTIO_REGION_GET_INFO, &ri))
			continue;
		k->bar[i].size = ri.region_size;
		k->bar[i].foff = ri.offset;
		k->bar[i].flags = ri.flags;
		if (ri.flags & UVIRTIO_REGION_INFO_MSIX) {
			k->bar[i].hole_start = ri.msix_start;
			k->bar[i].hole_end = ri.msix_end;
		}
		map_bar(k, &k->bar[i]);
	}
	{
		struct uvirtio_region_info ri = { .size = sizeof(ri),
			.index = UVIRTIO_REGION_CONFIG };

		if (!kioctl(k->fd, UVIRTIO_REGION_GET_INFO, &ri))
			k->cfg_off = ri.offset;
	}
	find_status(k);
	if (op->flags & UVIRTIO_DEVICE_OPEN_REATTACH) {
		/* The previous owner's vectors are still enabled: take them. */
		k->state_handle = op->state_handle;
		if (k->info.irq_count) {
			k->efd = malloc(k->info.irq_count * sizeof(int));
			if (!k->efd) {
				ret = -ENOMEM;
				goto err;
			}
			for (i = 0; i < k->info.irq_count; i++)
				k->efd[i] = -1;
			k->nvec = k->info.irq_count;
			k->irq_kind =
				k->info.irq_type == UVIRTIO_IRQ_MSIX ? UVIRTIO_BE_IRQ_MSIX :
				k->info.irq_type == UVIRTIO_IRQ_INTX ? UVIRTIO_BE_IRQ_INTX :
				UVIRTIO_BE_IRQ_WIRED;
		}
		ret = adopt_buffers(k);
		if (ret)
			goto err;
	} else if (k->mmio && (k->info.flags & UVIRTIO_DEVICE_INFO_WIRED_IRQ)) {
		ret = enable_line(k, UVIRTIO_IRQ_WIRED);
		if (ret)
			goto err;
	} else if ((ver.caps & UVIRTIO_CAP_MSIX) && k->info.num_msix) {
		struct uvirtio_irq_enable en = { .size = sizeof(en),
						 .type = UVIRTIO_IRQ_MSIX,
						 .count = k->info.num_msix };

		k->efd = malloc(k->info.num_msix * sizeof(int));
		if (!k->efd) {
			ret = -ENOMEM;
			goto err;
		}
		for (i = 0; i < k->info.num_msix; i++)
			k->efd[i] = -1;
		/* Without MSI-X, INTx below or polling; not an error. */
		if (!kioctl(k->fd, UVIRTIO_IRQ_ENABLE, &en)) {
			k->nvec = k->info.num_msix;
			k->irq_kind = UVIRTIO_BE_IRQ_MSIX;
		} else {
			free(k->efd);
			k->efd = NULL;
		}
	}
	/* No MSI-X (or its vectors could not be had): the INTx line. */
	if (!k->mmio && !k->nvec && !(op->flags & UVIRTIO_DEVICE_OPEN_REATTACH) &&
	    (ver.caps & UVIRTIO_CAP_INTX) &&
	    (ver.caps & UVIRTIO_CAP_IRQ_MASK) &&
	    (k->info.flags & UVIRTIO_DEVICE_INFO_INTX)) {
		ret = enable_line(k, UVIRTIO_IRQ_INTX);
		if (ret)
			goto err;
	}
	ret = uvirtio_backend_new(&kmod_ops, k, bep);
	if (ret)
		goto err;
	uv_backend_set_off_cpu(*bep);
	return 0;
err:
	/*
	 * A re-attach that fails after the open succeeded releases a
	 * device that is no longer armed: it is reset, as on any release.
	 */
	for (i = 0; i < k->nadopted; i++)
		munmap(k->adopted[i].vaddr, k->adopted[i].len);
	k->nlive = 0;
	k_close(k);
	return ret;
}

UV_EXPORT int uvirtio_kmod_reattach(const char *pci_addr, uint64_t token,
				    const char *ctl_path,
				    struct uvirtio_backend **bep)
{
	if (!token)
		return -EINVAL;
	return kmod_open_pci(pci_addr, UVIRTIO_DEVICE_OPEN_REATTACH, token,
			     ctl_path, bep);
}

#endif /* HAVE_UVIRTIO_UAPI */
