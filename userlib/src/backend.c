// SPDX-License-Identifier: BSD-3-Clause
/*
 * backend.c - generic backend object: ops dispatch, DMA translation table,
 * and the fallback virtio PCI capability parser.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_pci.h>

#include "internal.h"

static int xlat_insert(struct uvirtio_backend *be, uintptr_t key,
		       uint64_t handle, bool is_alloc,
		       const struct uvirtio_iova_seg *segs, unsigned int nsegs);

/*
 * A re-attached backend inherits the previous owner's allocations:
 * register each for translation, so requests built on them work, and
 * keep them aside until a driver claims them.
 */
static int adopt_restored(struct uvirtio_backend *be)
{
	struct uvirtio_dma d;
	unsigned int i;
	bool st;
	int ret;

	if (!be->ops->restored)
		return 0;
	for (i = 0;; i++) {
		struct uv_restored *r;
		struct uvirtio_iova_seg seg;

		ret = be->ops->restored(be->priv, i, &d, &st);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		r = realloc(be->restored, (i + 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		be->restored = r;
		seg = (struct uvirtio_iova_seg){ d.vaddr, d.iova, d.len };
		ret = xlat_insert(be, (uintptr_t)d.vaddr, d.handle, true, &seg, 1);
		if (ret)
			return ret;
		r[i] = (struct uv_restored){ .dma = d, .is_state = st };
		be->nrestored = i + 1;
	}
}

UV_EXPORT int uvirtio_backend_new(const struct uvirtio_backend_ops *ops,
				  void *priv, struct uvirtio_backend **out)
{
	struct uvirtio_backend *be;
	int ret;

	if (!ops || !out || !ops->dma_alloc || !ops->dma_free)
		return -EINVAL;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	if (pthread_rwlock_init(&be->lock, NULL)) {
		free(be);
		return -ENOMEM;
	}
	be->ops = ops;
	be->priv = priv;
	ret = adopt_restored(be);
	if (ret) {
		free(be->restored);
		free(be->xlat);
		free(be->maps);
		pthread_rwlock_destroy(&be->lock);
		free(be);
		return ret;
	}
	*out = be;
	return 0;
}

UV_EXPORT void uvirtio_backend_close(struct uvirtio_backend *be)
{
	size_t i;

	if (!be)
		return;
	/* Drop leftover caller mappings; allocations belong to their users. */
	for (i = 0; i < be->nmaps; i++)
		if (!be->maps[i].is_alloc && be->ops->dma_unmap)
			be->ops->dma_unmap(be->priv, be->maps[i].handle);
	if (be->ops->close)
		be->ops->close(be->priv);
	pthread_rwlock_destroy(&be->lock);
	free(be->restored);
	free(be->xlat);
	free(be->maps);
	free(be);
}

UV_EXPORT int uvirtio_backend_cfg_read(struct uvirtio_backend *be,
				       uint32_t off, void *buf,
				       unsigned int width)
{
	if (width != 1 && width != 2 && width != 4)
		return -EINVAL;
	if (!be->ops->cfg_read)
		return -ENODEV;		/* not a PCI function */
	return be->ops->cfg_read(be->priv, off, buf, width);
}

UV_EXPORT int uvirtio_backend_cfg_write(struct uvirtio_backend *be,
					uint32_t off, const void *buf,
					unsigned int width)
{
	if (width != 1 && width != 2 && width != 4)
		return -EINVAL;
	if (!be->ops->cfg_write)
		return -EOPNOTSUPP;
	return be->ops->cfg_write(be->priv, off, buf, width);
}

UV_EXPORT int uvirtio_backend_iommu_mode(struct uvirtio_backend *be)
{
	return be->ops->iommu_mode ? be->ops->iommu_mode(be->priv) :
				     UVIRTIO_BE_IOMMU_NONE;
}

UV_EXPORT int uvirtio_backend_num_vectors(struct uvirtio_backend *be)
{
	return be->ops->num_vectors ? be->ops->num_vectors(be->priv) : 0;
}

UV_EXPORT int uvirtio_backend_irq_kind(struct uvirtio_backend *be)
{
	if (be->ops->irq_kind)
		return be->ops->irq_kind(be->priv);
	return uvirtio_backend_num_vectors(be) > 0 ? UVIRTIO_BE_IRQ_MSIX :
						     UVIRTIO_BE_IRQ_NONE;
}

UV_EXPORT int uvirtio_backend_irq_eventfd(struct uvirtio_backend *be,
					  unsigned int vector, int cpu)
{
	if (!be->ops->irq_eventfd)
		return -EOPNOTSUPP;
	return be->ops->irq_eventfd(be->priv, vector, cpu);
}

UV_EXPORT int uvirtio_backend_irq_mask(struct uvirtio_backend *be,
				       unsigned int vector, bool mask)
{
	if (!be->ops->irq_mask)
		return -EOPNOTSUPP;
	return be->ops->irq_mask(be->priv, vector, mask);
}

UV_EXPORT int uvirtio_backend_reset(struct uvirtio_backend *be)
{
	if (!be->ops->reset)
		return -EOPNOTSUPP;
	return be->ops->reset(be->priv);
}

UV_EXPORT int uvirtio_backend_remove_fd(struct uvirtio_backend *be)
{
	int fd = be->ops->remove_fd ? be->ops->remove_fd(be->priv) : -ENOENT;

	return fd >= 0 ? fd : -ENOENT;
}

UV_EXPORT bool uvirtio_backend_device_shares_cpus(struct uvirtio_backend *be)
{
	return !be->device_off_cpu;
}

UV_EXPORT bool uvirtio_backend_removed(struct uvirtio_backend *be)
{
	if (be->ops->removed)
		return be->ops->removed(be->priv);
	struct pollfd p = { .fd = uvirtio_backend_remove_fd(be),
			    .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- DMA translation table ------------------------------------------- */

/* Index of the first entry with va > @va. */
static size_t xlat_upper(const struct uvirtio_backend *be, uintptr_t va)
{
	size_t lo = 0, hi = be->nxlat;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (be->xlat[mid].va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool xlat_overlaps(const struct uvirtio_backend *be, uintptr_t va,
			  uint64_t len)
{
	size_t i = xlat_upper(be, va);

	if (i > 0 && be->xlat[i - 1].va + be->xlat[i - 1].len > va)
		return true;
	if (i < be->nxlat && be->xlat[i].va < va + len)
		return true;
	return false;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Insert segments for one mapping; caller holds the write lock. */
static int xlat_insert(struct uvirtio_backend *be, uintptr_t key,
		       uint64_t handle, bool is_alloc,
		       const struct uvirtio_iova_seg *segs, unsigned int nsegs)
{
	unsigned int s;
	int ret;

	for (s = 0; s < nsegs; s++)
		if (!segs[s].len ||
		    xlat_overlaps(be, (uintptr_t)segs[s].vaddr, segs[s].len))
			return -EEXIST;
	ret = grow((void **)&be->xlat, &be->xlat_cap, be->nxlat + nsegs,
		   sizeof(*be->xlat));
	if (ret)
		return ret;
	ret = grow((void **)&be->maps, &be->maps_cap, be->nmaps + 1,
		   sizeof(*be->maps));
	if (ret)
		return ret;
	for (s = 0; s < nsegs; s++) {
		uintptr_t va = (uintptr_t)segs[s].vaddr;
		size_t i = xlat_upper(be, va);

		memmove(&be->xlat[i + 1], &be->xlat[i],
			(be->nxlat - i) * sizeof(*be->xlat));
		be->xlat[i] = (struct uv_xlat){ va, segs[s].len, segs[s].iova,
						key };
		be->nxlat++;
	}
	be->maps[be->nmaps++] = (struct uv_mapping){ key, handle, is_alloc };
	return 0;
}

/* Remove a mapping by key; caller holds the write lock. */
static int xlat_remove(struct uvirtio_backend *be, uintptr_t key,
		       bool is_alloc, uint64_t *handle)
{
	uint64_t gen = atomic_load_explicit(&be->unmap_gen,
					    memory_order_relaxed) + 1;
	uintptr_t end = key;
	size_t i, j;

	for (i = 0; i < be->nmaps; i++)
		if (be->maps[i].key == key && be->maps[i].is_alloc == is_alloc)
			break;
	if (i == be->nmaps)
		return -ENOENT;
	*handle = be->maps[i].handle;
	be->maps[i] = be->maps[--be->nmaps];
	for (i = j = 0; i < be->nxlat; i++) {
		if (be->xlat[i].key != key)
			be->xlat[j++] = be->xlat[i];
		else if (be->xlat[i].va + be->xlat[i].len > end)
			end = be->xlat[i].va + be->xlat[i].len;
	}
	be->nxlat = j;
	/* remember the range for requests that were in flight (blk.c) */
	be->unmap_log[gen % UV_UNMAP_LOG].gen = gen;
	be->unmap_log[gen % UV_UNMAP_LOG].va = key;
	be->unmap_log[gen % UV_UNMAP_LOG].len = end - key;
	atomic_store_explicit(&be->unmap_gen, gen, memory_order_release);
	return 0;
}

UV_EXPORT uint64_t uvirtio_backend_unmap_gen(struct uvirtio_backend *be)
{
	return atomic_load_explicit(&be->unmap_gen, memory_order_acquire);
}

/*
 * Was any part of [@vaddr, +@len) unmapped after generation @gen?  When
 * the log no longer reaches back that far, assume it was.
 */
UV_EXPORT bool uvirtio_backend_unmapped_since(struct uvirtio_backend *be,
					      uint64_t gen, const void *vaddr,
					      uint64_t len)
{
	uintptr_t va = (uintptr_t)vaddr;
	uint64_t g, cur;
	bool hit = false;

	pthread_rwlock_rdlock(&be->lock);
	cur = atomic_load_explicit(&be->unmap_gen, memory_order_relaxed);
	if (cur - gen >= UV_UNMAP_LOG)
		hit = true;
	for (g = gen + 1; !hit && g <= cur; g++) {
		const uintptr_t s = be->unmap_log[g % UV_UNMAP_LOG].va;
		const uint64_t l = be->unmap_log[g % UV_UNMAP_LOG].len;

		hit = va < s + l && s < va + len;
	}
	pthread_rwlock_unlock(&be->lock);
	return hit;
}

UV_EXPORT int uvirtio_backend_dma_alloc(struct uvirtio_backend *be,
					size_t len, struct uvirtio_dma *out)
{
	struct uvirtio_iova_seg seg;
	int ret;

	if (!len || !out)
		return -EINVAL;
	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	ret = be->ops->dma_alloc(be->priv, len, out);
	if (ret)
		return ret;
	seg = (struct uvirtio_iova_seg){ out->vaddr, out->iova, out->len };
	pthread_rwlock_wrlock(&be->lock);
	ret = xlat_insert(be, (uintptr_t)out->vaddr, out->handle, true, &seg, 1);
	pthread_rwlock_unlock(&be->lock);
	if (ret) {
		be->ops->dma_free(be->priv, out);
		/* the caller's cleanup must not free it again */
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

UV_EXPORT int uvirtio_backend_dma_alloc_sg(struct uvirtio_backend *be,
					   size_t len, struct uvirtio_dma *out)
{
	struct uvirtio_iova_seg *segs = NULL;
	unsigned int nsegs = 0;
	int ret;

	if (!len || !out)
		return -EINVAL;
	if (!be->ops->dma_alloc_sg)
		return uvirtio_backend_dma_alloc(be, len, out);
	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	ret = be->ops->dma_alloc_sg(be->priv, len, out, &segs, &nsegs);
	if (ret)
		return ret;
	if (!nsegs || !segs) {
		ret = -EIO;	/* a backend that says nothing of its memory */
	} else {
		pthread_rwlock_wrlock(&be->lock);
		ret = xlat_insert(be, (uintptr_t)out->vaddr, out->handle, true,
				  segs, nsegs);
		pthread_rwlock_unlock(&be->lock);
	}
	free(segs);
	if (ret)
		be->ops->dma_free(be->priv, out);
	return ret;
}

UV_EXPORT void uvirtio_backend_dma_free(struct uvirtio_backend *be,
					struct uvirtio_dma *dma)
{
	uint64_t handle;

	if (!dma || !dma->vaddr)
		return;
	pthread_rwlock_wrlock(&be->lock);
	xlat_remove(be, (uintptr_t)dma->vaddr, true, &handle);
	pthread_rwlock_unlock(&be->lock);
	be->ops->dma_free(be->priv, dma);
	memset(dma, 0, sizeof(*dma));
}

UV_EXPORT int uvirtio_backend_dma_map(struct uvirtio_backend *be, void *vaddr,
				      size_t len)
{
	struct uvirtio_mem_region r = {
		.addr = vaddr, .len = len, .fd = -1, .fd_offset = 0,
	};

	return uvirtio_backend_dma_map_region(be, &r);
}

UV_EXPORT int uvirtio_backend_dma_map_region(struct uvirtio_backend *be,
					     const struct uvirtio_mem_region *r)
{
	struct uvirtio_iova_seg *segs = NULL;
	unsigned int nsegs = 0, i;
	uint64_t handle = 0, covered = 0;
	void *vaddr;
	size_t len;
	int ret;

	if (!r || !r->addr || !r->len || r->fd < -1)
		return -EINVAL;
	vaddr = r->addr;
	len = r->len;
	if (r->fd >= 0 ? !be->ops->dma_map_fd && !be->ops->dma_map :
			 !be->ops->dma_map)
		return -EOPNOTSUPP;
	pthread_rwlock_rdlock(&be->lock);
	ret = xlat_overlaps(be, (uintptr_t)vaddr, len) ? -EEXIST : 0;
	pthread_rwlock_unlock(&be->lock);
	if (ret)
		return ret;
	/* A backend that pins any memory (kmod) needs no fd: ignore it. */
	if (r->fd >= 0 && be->ops->dma_map_fd)
		ret = be->ops->dma_map_fd(be->priv, vaddr, len, r->fd,
					  r->fd_offset, &handle, &segs,
					  &nsegs);
	else
		ret = be->ops->dma_map(be->priv, vaddr, len, &handle, &segs,
				       &nsegs);
	if (ret)
		return ret;
	/* Do not trust the backend blindly: the segments must tile the range. */
	for (i = 0; i < nsegs; i++) {
		if ((uintptr_t)segs[i].vaddr != (uintptr_t)vaddr + covered)
			break;
		covered += segs[i].len;
	}
	if (i != nsegs || covered != len) {
		ret = -EIO;
	} else {
		pthread_rwlock_wrlock(&be->lock);
		ret = xlat_insert(be, (uintptr_t)vaddr, handle, false, segs,
				  nsegs);
		pthread_rwlock_unlock(&be->lock);
	}
	free(segs);
	if (ret && be->ops->dma_unmap)
		be->ops->dma_unmap(be->priv, handle);
	return ret;
}

UV_EXPORT int uvirtio_backend_dma_unmap(struct uvirtio_backend *be,
					void *vaddr)
{
	uint64_t handle;
	int ret;

	pthread_rwlock_wrlock(&be->lock);
	ret = xlat_remove(be, (uintptr_t)vaddr, false, &handle);
	pthread_rwlock_unlock(&be->lock);
	if (ret)
		return ret;
	return be->ops->dma_unmap ? be->ops->dma_unmap(be->priv, handle) : 0;
}

UV_EXPORT int64_t uvirtio_backend_translate(struct uvirtio_backend *be,
					    const void *vaddr, uint64_t len,
					    uint64_t *iova)
{
	uintptr_t va = (uintptr_t)vaddr;
	const struct uv_xlat *x;
	int64_t ret = -EFAULT;
	size_t i;

	if (!len)
		return -EINVAL;
	pthread_rwlock_rdlock(&be->lock);
	i = xlat_upper(be, va);
	if (i > 0) {
		x = &be->xlat[i - 1];
		if (va - x->va < x->len) {
			uint64_t avail = x->len - (va - x->va);

			*iova = x->iova + (va - x->va);
			ret = (int64_t)UV_MIN(avail, len);
		}
	}
	pthread_rwlock_unlock(&be->lock);
	return ret;
}

/* ---- keep-alive -------------------------------------------------------- */

UV_EXPORT int uvirtio_backend_keepalive(struct uvirtio_backend *be,
					unsigned int timeout_ms,
					const struct uvirtio_dma *state,
					uint64_t *token)
{
	uint64_t t = 0;
	int ret;

	if (!be || (timeout_ms && !token) || (!timeout_ms && state))
		return -EINVAL;
	if (!be->ops->keepalive)
		return -EOPNOTSUPP;
	if (state) {
		/* only an allocation of this backend can outlive us */
		const struct uvirtio_dma *s = state;
		bool found = false;
		size_t i;

		pthread_rwlock_rdlock(&be->lock);
		for (i = 0; i < be->nmaps; i++)
			if (be->maps[i].is_alloc &&
			    be->maps[i].key == (uintptr_t)s->vaddr &&
			    be->maps[i].handle == s->handle)
				found = true;
		pthread_rwlock_unlock(&be->lock);
		if (!found)
			return -ENOENT;
	}
	ret = be->ops->keepalive(be->priv, timeout_ms,
				 state ? state->handle : 0, &t);
	if (!ret && token)
		*token = t;
	return ret;
}

static int claim(struct uvirtio_backend *be, bool want_state, uint64_t iova,
		 struct uvirtio_dma *out)
{
	size_t i;

	if (!be || !out)
		return -EINVAL;
	for (i = 0; i < be->nrestored; i++) {
		struct uv_restored *r = &be->restored[i];

		if (r->claimed || (want_state ? !r->is_state :
				   r->dma.iova != iova))
			continue;
		r->claimed = true;
		*out = r->dma;
		return 0;
	}
	return -ENOENT;
}

UV_EXPORT int uvirtio_backend_restored(struct uvirtio_backend *be,
				       uint64_t iova, struct uvirtio_dma *out)
{
	return claim(be, false, iova, out);
}

UV_EXPORT int uvirtio_backend_restored_state(struct uvirtio_backend *be,
					     struct uvirtio_dma *out)
{
	return claim(be, true, 0, out);
}

UV_EXPORT unsigned int uvirtio_backend_restored_release(struct uvirtio_backend *be)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; be && i < be->nrestored; i++) {
		struct uv_restored *r = &be->restored[i];

		if (r->claimed)
			continue;
		r->claimed = true;
		uvirtio_backend_dma_free(be, &r->dma);
		n++;
	}
	return n;
}
