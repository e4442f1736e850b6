// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake.c - in-process fake virtio PCI device (virtio-blk RAM disk and
 * virtio-rng) with trap-and-emulate registers, fake IOVAs, a device
 * thread, fault injection and counters.  Written against the virtio 1.2
 * specification; it is a test tool, not a reference device.  Its parts
 * are listed in fake_priv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_priv.h"

uint8_t *fake_xlat(struct uvirtio_fake *f, uint64_t iova, uint64_t len)
{
	size_t i;

	if (!len)
		return NULL;
	for (i = 0; i < f->nregions; i++) {
		struct fake_region *r = &f->regions[i];

		if (iova >= r->iova && iova - r->iova < r->len &&
		    len <= r->len - (iova - r->iova))
			return r->va + (iova - r->iova);
	}
	return NULL;
}

static int add_region(struct uvirtio_fake *f, uint64_t iova, void *va,
		      uint64_t len, uint64_t handle, bool alloc)
{
	if (f->nregions == f->regions_cap) {
		size_t ncap = f->regions_cap ? f->regions_cap * 2 : 32;
		void *p = realloc(f->regions, ncap * sizeof(*f->regions));

		if (!p)
			return -ENOMEM;
		f->regions = p;
		f->regions_cap = ncap;
	}
	f->regions[f->nregions++] = (struct fake_region){ iova, va, len,
							  handle, alloc };
	return 0;
}

static void remove_regions(struct uvirtio_fake *f, uint64_t handle,
			   bool alloc)
{
	size_t i, j;

	for (i = j = 0; i < f->nregions; i++)
		if (f->regions[i].handle != handle ||
		    f->regions[i].alloc != alloc)
			f->regions[j++] = f->regions[i];
	f->nregions = j;
}

/* Raise interrupt @vector (caller holds the lock). */
void fake_raise_irq(struct uvirtio_fake *f, uint16_t vector, uint8_t isr)
{
	uint64_t one = 1;

	f->isr |= isr;
	if (vector == VIRTIO_MSI_NO_VECTOR || vector >= f->cfg.msix_vectors)
		return;
	if (f->masked[vector]) {
		f->irq_pending[vector] = true;
		return;
	}
	f->st.interrupts++;
	if (f->efd[vector] >= 0 &&
	    write(f->efd[vector], &one, sizeof(one)) != sizeof(one))
		f->st.device_errors++;
}

void fake_set_needs_reset(struct uvirtio_fake *f)
{
	f->needs_reset = true;
	if (f->status & VIRTIO_CONFIG_S_DRIVER_OK || f->status)
		f->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	fake_raise_irq(f, f->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

void fake_device_error(struct uvirtio_fake *f)
{
	f->st.device_errors++;
	fake_set_needs_reset(f);
}

void fake_device_reset(struct uvirtio_fake *f)
{
	uint16_t i;

	f->status = 0;
	f->driver_features = 0;
	f->dfselect = f->gfselect = 0;
	f->msix_config = VIRTIO_MSI_NO_VECTOR;
	f->queue_select = 0;
	f->isr = 0;
	f->needs_reset = false;
	for (i = 0; i < f->cfg.num_queues; i++) {
		f->queues[i] = (struct fake_queue){ 0 };
		f->queues[i].size = f->cfg.queue_size;
		f->queues[i].vector = VIRTIO_MSI_NO_VECTOR;
	}
}

/* ---- backend ops: DMA ------------------------------------------------ */

static int fake_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct uvirtio_fake *f = priv;
	void *p;
	int ret;

	len = UV_ALIGN_UP(len, (size_t)UV_PAGE_SIZE);
	p = aligned_alloc(UV_PAGE_SIZE, len);
	if (!p)
		return -ENOMEM;
	memset(p, 0, len);
	pthread_mutex_lock(&f->lock);
	out->vaddr = p;
	out->len = len;
	out->iova = f->next_alloc_iova;
	out->handle = ++f->next_handle;
	f->next_alloc_iova += len + UV_PAGE_SIZE;	/* leave a hole */
	ret = add_region(f, out->iova, p, len, out->handle, true);
	pthread_mutex_unlock(&f->lock);
	if (ret) {
		free(p);
		memset(out, 0, sizeof(*out));	/* nothing for the caller */
	}
	return ret;
}

static void fake_dma_free(void *priv, struct uvirtio_dma *dma)
{
	struct uvirtio_fake *f = priv;

	pthread_mutex_lock(&f->lock);
	remove_regions(f, dma->handle, true);
	pthread_mutex_unlock(&f->lock);
	free(dma->vaddr);
}

static int fake_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
			struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	struct uvirtio_fake *f = priv;
	uint64_t chunk = f->cfg.map_seg_size ? f->cfg.map_seg_size : len;
	unsigned int n = (unsigned int)((len + chunk - 1) / chunk), i;
	struct uvirtio_iova_seg *s = calloc(n, sizeof(*s));
	uint64_t done = 0;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	*handle = ++f->next_handle;
	for (i = 0; i < n; i++) {
		uint64_t l = UV_MIN(chunk, len - done);

		s[i].vaddr = (uint8_t *)vaddr + done;
		s[i].iova = f->next_map_iova + ((uintptr_t)s[i].vaddr & 0xfff);
		s[i].len = l;
		/* Keep segments apart so adjacency is never assumed. */
		f->next_map_iova += UV_ALIGN_UP(l + 0xfff, 4096ull) + 4096;
		ret = add_region(f, s[i].iova, s[i].vaddr, l, *handle, false);
		if (ret)
			break;
		done += l;
	}
	if (ret)
		remove_regions(f, *handle, false);
	pthread_mutex_unlock(&f->lock);
	if (ret) {
		free(s);
		return ret;
	}
	*segs = s;
	*nsegs = n;
	return 0;
}

static int fake_dma_unmap(void *priv, uint64_t handle)
{
	struct uvirtio_fake *f = priv;

	pthread_mutex_lock(&f->lock);
	remove_regions(f, handle, false);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* ---- backend ops: interrupts and misc -------------------------------- */

static int fake_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	struct uvirtio_fake *f = priv;
	int fd;

	(void)cpu;
	if (vector >= f->cfg.msix_vectors)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	if (f->efd[vector] < 0)
		f->efd[vector] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fd = f->efd[vector] >= 0 ? f->efd[vector] : -errno;
	pthread_mutex_unlock(&f->lock);
	return fd;
}

static int fake_irq_mask(void *priv, unsigned int vector, bool mask)
{
	struct uvirtio_fake *f = priv;

	if (vector >= f->cfg.msix_vectors)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	f->masked[vector] = mask;
	if (!mask && f->irq_pending[vector]) {
		f->irq_pending[vector] = false;
		fake_raise_irq(f, (uint16_t)vector, 0);
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_num_vectors(void *priv)
{
	return ((struct uvirtio_fake *)priv)->cfg.msix_vectors;
}

static int fake_reset(void *priv)
{
	struct uvirtio_fake *f = priv;

	pthread_mutex_lock(&f->lock);
	fake_device_reset(f);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_get_caps(void *priv, struct uvirtio_caps *caps)
{
	struct uvirtio_fake *f = priv;

	if (f->cfg.no_caps_op)
		return -EOPNOTSUPP;
	*caps = f->caps;
	return 0;
}

static int fake_iommu_mode(void *priv)
{
	return ((struct uvirtio_fake *)priv)->cfg.iommu_translated ?
		UVIRTIO_BE_IOMMU_TRANSLATED : UVIRTIO_BE_IOMMU_NONE;
}

static void fake_destroy(struct uvirtio_fake *f);

static void fake_close(void *priv)
{
	fake_destroy(priv);
}

static int fake_remove_fd(void *priv)
{
	return ((struct uvirtio_fake *)priv)->remove_efd;
}

/*
 * UVIRTIO_FAKE_FAULT_OP_FAIL_NTH: every operation the library calls that
 * can fail counts; the armed one fails with -EIO, once.
 */
static bool op_fails(struct uvirtio_fake *f)
{
	unsigned int nth = __atomic_load_n(&f->fail_nth, __ATOMIC_ACQUIRE);

	if (!nth || __atomic_add_fetch(&f->op_calls, 1, __ATOMIC_ACQ_REL) != nth)
		return false;
	__atomic_add_fetch(&f->st.ops_failed, 1, __ATOMIC_RELAXED);
	return true;
}

static int fo_cfg_read(void *priv, uint32_t off, void *buf, unsigned int width)
{
	return op_fails(priv) ? -EIO : fake_cfg_read(priv, off, buf, width);
}

static int fo_cfg_write(void *priv, uint32_t off, const void *buf,
			unsigned int width)
{
	return op_fails(priv) ? -EIO : fake_cfg_write(priv, off, buf, width);
}

static int fo_bar_read(void *priv, unsigned int bar, uint64_t off,
		       unsigned int width, uint64_t *val)
{
	return op_fails(priv) ? -EIO : fake_bar_read(priv, bar, off, width, val);
}

static int fo_bar_write(void *priv, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t val)
{
	return op_fails(priv) ? -EIO : fake_bar_write(priv, bar, off, width, val);
}

static int fo_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	return op_fails(priv) ? -EIO : fake_dma_alloc(priv, len, out);
}

static int fo_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
		      struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	return op_fails(priv) ? -EIO :
	       fake_dma_map(priv, vaddr, len, handle, segs, nsegs);
}

static int fo_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	return op_fails(priv) ? -EIO : fake_irq_eventfd(priv, vector, cpu);
}

static int fo_irq_mask(void *priv, unsigned int vector, bool mask)
{
	return op_fails(priv) ? -EIO : fake_irq_mask(priv, vector, mask);
}

static int fo_reset(void *priv)
{
	return op_fails(priv) ? -EIO : fake_reset(priv);
}

static int fo_get_caps(void *priv, struct uvirtio_caps *caps)
{
	return op_fails(priv) ? -EIO : fake_get_caps(priv, caps);
}

static const struct uvirtio_backend_ops fake_ops = {
	.cfg_read = fo_cfg_read,
	.cfg_write = fo_cfg_write,
	.bar_read = fo_bar_read,
	.bar_write = fo_bar_write,
	.bar_ptr = fake_bar_ptr,
	.dma_alloc = fo_dma_alloc,
	.dma_free = fake_dma_free,
	.dma_map = fo_dma_map,
	.dma_unmap = fake_dma_unmap,
	.irq_eventfd = fo_irq_eventfd,
	.irq_mask = fo_irq_mask,
	.num_vectors = fake_num_vectors,
	.reset = fo_reset,
	.get_caps = fo_get_caps,
	.iommu_mode = fake_iommu_mode,
	.close = fake_close,
	.remove_fd = fake_remove_fd,
};

UV_EXPORT void uvirtio_fake_default_config(struct uvirtio_fake_config *cfg,
					   uint32_t device_type)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->device_type = device_type;
	cfg->layout = UVIRTIO_FAKE_MODERN;
	cfg->features = (1ull << VIRTIO_F_VERSION_1) |
			(1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			(1ull << VIRTIO_RING_F_EVENT_IDX);
	cfg->queue_size = 64;
	cfg->num_queues = 1;
	cfg->msix_vectors = 8;
	if (device_type == VIRTIO_ID_BLOCK) {
		cfg->features |= (1ull << VIRTIO_BLK_F_SIZE_MAX) |
				 (1ull << VIRTIO_BLK_F_SEG_MAX) |
				 (1ull << VIRTIO_BLK_F_BLK_SIZE) |
				 (1ull << VIRTIO_BLK_F_FLUSH) |
				 (1ull << VIRTIO_BLK_F_DISCARD) |
				 (1ull << VIRTIO_BLK_F_WRITE_ZEROES) |
				 (1ull << VIRTIO_BLK_F_MQ);
		cfg->num_queues = 2;
		cfg->capacity = 16384;	/* 8 MiB */
		cfg->blk_size = 512;
		cfg->seg_max = 32;
		cfg->size_max = 65536;
		cfg->max_discard_sectors = 2048;
		cfg->max_discard_seg = 1;
		cfg->discard_sector_alignment = 8;
		cfg->max_write_zeroes_sectors = 4096;
		cfg->max_write_zeroes_seg = 1;
	}
}

static void fake_destroy(struct uvirtio_fake *f)
{
	unsigned int i;

	if (f->thread_started) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	if (f->efd)
		for (i = 0; i < f->cfg.msix_vectors; i++)
			if (f->efd[i] >= 0)
				close(f->efd[i]);
	if (f->remove_efd >= 0)
		close(f->remove_efd);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->efd);
	free(f->masked);
	free(f->irq_pending);
	free(f->queues);
	free(f->regions);
	free(f->disk);
	free(f);
}

UV_EXPORT int uvirtio_fake_create(const struct uvirtio_fake_config *cfg,
				  struct uvirtio_fake **fakep,
				  struct uvirtio_backend **bep)
{
	struct uvirtio_fake *f;
	unsigned int i;
	int ret;

	if (!cfg || !fakep || !bep || !cfg->num_queues || !cfg->queue_size ||
	    (cfg->device_type != VIRTIO_ID_BLOCK &&
	     cfg->device_type != VIRTIO_ID_RNG) ||
	    cfg->msix_vectors > 2048 ||
	    (cfg->device_type == VIRTIO_ID_BLOCK &&
	     cfg->capacity > (1ull << 31)))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	if (cfg->layout == UVIRTIO_FAKE_LEGACY)
		f->cfg.features &= 0xffffffffu;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->next_alloc_iova = FAKE_ALLOC_IOVA;
	f->next_map_iova = FAKE_MAP_IOVA;
	f->rng_state = 0x9e3779b97f4a7c15ull;
	f->remove_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ret = -ENOMEM;
	if (f->remove_efd < 0)
		goto err;
	f->queues = calloc(cfg->num_queues, sizeof(*f->queues));
	f->efd = calloc(cfg->msix_vectors + 1u, sizeof(int));
	f->masked = calloc(cfg->msix_vectors + 1u, sizeof(bool));
	f->irq_pending = calloc(cfg->msix_vectors + 1u, sizeof(bool));
	if (!f->queues || !f->efd || !f->masked || !f->irq_pending)
		goto err;
	for (i = 0; i < cfg->msix_vectors; i++)
		f->efd[i] = -1;
	if (cfg->device_type == VIRTIO_ID_BLOCK) {
		f->disk_len = cfg->capacity * 512;
		f->disk = calloc(1, f->disk_len ? f->disk_len : 1);
		if (!f->disk)
			goto err;
		f->blkcfg.capacity = cfg->capacity;
		f->blkcfg.size_max = cfg->size_max;
		f->blkcfg.seg_max = cfg->seg_max;
		f->blkcfg.blk_size = cfg->blk_size;
		f->blkcfg.num_queues = cfg->num_queues;
		f->blkcfg.max_discard_sectors = cfg->max_discard_sectors;
		f->blkcfg.max_discard_seg = cfg->max_discard_seg;
		f->blkcfg.discard_sector_alignment =
			cfg->discard_sector_alignment;
		f->blkcfg.max_write_zeroes_sectors =
			cfg->max_write_zeroes_sectors;
		f->blkcfg.max_write_zeroes_seg = cfg->max_write_zeroes_seg;
	}
	fake_device_reset(f);
	fake_build_pci(f);
	ret = uvirtio_backend_new(&fake_ops, f, &f->be);
	if (ret)
		goto err;
	ret = -pthread_create(&f->thread, NULL, fake_device_thread, f);
	if (ret) {
		struct uvirtio_backend *be = f->be;

		f->be = NULL;
		uvirtio_backend_close(be);	/* frees f via fake_close */
		return ret;
	}
	f->thread_started = true;
	*fakep = f;
	*bep = f->be;
	return 0;
err:
	fake_destroy(f);
	return ret;
}

UV_EXPORT int uvirtio_fake_inject(struct uvirtio_fake *f,
				  enum uvirtio_fake_fault fault, uint64_t arg,
				  uint64_t arg2)
{
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	switch (fault) {
	case UVIRTIO_FAKE_FAULT_CONFIG_GEN:
		f->cfg_gen_left = (unsigned int)UV_MIN(arg, 0xffffull);
		f->fault_arg2 = arg2;
		break;
	case UVIRTIO_FAKE_FAULT_NEEDS_RESET:
		fake_set_needs_reset(f);
		break;
	case UVIRTIO_FAKE_FAULT_REFUSE_FEATURES_OK:
		f->refuse_features_ok = true;
		break;
	case UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK:
		f->queue_reset_stuck = true;
		break;
	case UVIRTIO_FAKE_FAULT_OP_FAIL_NTH:
		__atomic_store_n(&f->op_calls, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&f->fail_nth, (unsigned int)UV_MIN(arg, 0xffffffffull),
				 __ATOMIC_RELEASE);
		break;
	case UVIRTIO_FAKE_FAULT_REMOVE: {
		uint64_t one = 1;

		f->removed = true;
		f->removed_frozen = arg == 1;
		if (write(f->remove_efd, &one, sizeof(one)) != sizeof(one))
			ret = -EIO;
		break;
	}
	case UVIRTIO_FAKE_FAULT_BAD_USED_ID:
	case UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD:
	case UVIRTIO_FAKE_FAULT_BAD_USED_LEN:
	case UVIRTIO_FAKE_FAULT_CORRUPT_DESC:
	case UVIRTIO_FAKE_FAULT_USED_IDX_JUMP:
	case UVIRTIO_FAKE_FAULT_DUP_USED:
	case UVIRTIO_FAKE_FAULT_INORDER_AHEAD:
		f->fault = fault;
		f->fault_arg = arg;
		break;
	default:
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

UV_EXPORT void uvirtio_fake_get_stats(struct uvirtio_fake *f,
				      struct uvirtio_fake_stats *st)
{
	pthread_mutex_lock(&f->lock);
	*st = f->st;
	pthread_mutex_unlock(&f->lock);
}

UV_EXPORT void *uvirtio_fake_disk(struct uvirtio_fake *f, uint64_t *len)
{
	if (len)
		*len = f->disk_len;
	return f->disk;
}

UV_EXPORT int uvirtio_fake_pci_cfg_poke(struct uvirtio_fake *f, uint32_t off,
				       uint8_t val)
{
	if (off >= sizeof(f->pcicfg))
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	f->pcicfg[off] = val;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

UV_EXPORT void uvirtio_fake_set_capacity(struct uvirtio_fake *f,
					 uint64_t sectors)
{
	pthread_mutex_lock(&f->lock);
	if (sectors * 512 <= f->disk_len) {
		f->cfg.capacity = sectors;
		f->blkcfg.capacity = sectors;
	}
	f->generation++;
	fake_raise_irq(f, f->msix_config, VIRTIO_PCI_ISR_CONFIG);
	pthread_mutex_unlock(&f->lock);
}
