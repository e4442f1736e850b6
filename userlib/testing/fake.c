// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake.c - in-process fake virtio PCI device (virtio-blk RAM disk and
 * virtio-rng) with trap-and-emulate registers, fake IOVAs, a device
 * thread, fault injection and counters.  Written against the virtio 1.2
 * specification; it is a test tool, not a reference device.
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

#include <uvirtio/fake.h>
#include "internal.h"

#define FAKE_BAR		4
#define FAKE_COMMON_OFF		0x0000
#define FAKE_COMMON_LEN		0x0040
#define FAKE_ISR_OFF		0x1000
#define FAKE_DEVICE_OFF		0x2000
#define FAKE_DEVICE_LEN		0x0100
#define FAKE_NOTIFY_OFF		0x3000
#define FAKE_NOTIFY_MULT	4
#define FAKE_ALLOC_IOVA		0x100000000ull
#define FAKE_MAP_IOVA		0x200000000ull
#define FAKE_MAX_SEGS		4096
#define FAKE_MAX_XFER		(64u << 20)
#define LEGACY_CFG_SPACE	256

struct fake_region {
	uint64_t iova;
	uint8_t *va;
	uint64_t len;
	uint64_t handle;
	bool alloc;
};

struct fake_queue {
	uint16_t size;
	uint16_t vector;
	bool enabled;
	uint64_t desc, driver, device;
	uint32_t pfn;
	bool pending;
	/* device-side ring state */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t p_avail;
	bool p_avail_wrap;
	uint16_t p_used;
	bool p_used_wrap;
	bool resetting;		/* RING_RESET: a reset that never ends */
};

struct fake_seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

struct fake_chain {
	uint16_t head;		/* split: head desc id; packed: ring pos */
	uint16_t id;		/* buffer id reported in used */
	uint16_t ndesc;		/* ring slots (packed) */
	uint32_t wlen;
	unsigned int nsegs;
	struct fake_seg *segs;
	bool bad;
};

struct uvirtio_fake {
	struct uvirtio_fake_config cfg;
	struct uvirtio_backend *be;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started;
	bool stop;
	uint8_t pcicfg[256];
	struct uvirtio_caps caps;

	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint16_t msix_config;
	uint8_t status;
	uint8_t generation;
	uint8_t isr;
	uint16_t queue_select;
	struct fake_queue *queues;

	int *efd;
	bool *masked;
	bool *irq_pending;

	struct fake_region *regions;
	size_t nregions, regions_cap;
	uint64_t next_alloc_iova, next_map_iova, next_handle;

	struct virtio_blk_config blkcfg;
	uint8_t *disk;
	uint64_t disk_len;
	uint64_t rng_state;

	enum uvirtio_fake_fault fault;
	uint64_t fault_arg, fault_arg2;
	unsigned int cfg_gen_left;
	bool cfg_flipped;
	bool refuse_features_ok;
	bool queue_reset_stuck;
	bool needs_reset;
	bool removed, removed_frozen;
	int remove_efd;

	struct uvirtio_fake_stats st;
};

/* ---- small helpers --------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static bool modern_iface(const struct uvirtio_fake *f)
{
	return f->cfg.layout != UVIRTIO_FAKE_LEGACY;
}

static bool legacy_iface(const struct uvirtio_fake *f)
{
	return f->cfg.layout != UVIRTIO_FAKE_MODERN;
}

static bool drv_has(const struct uvirtio_fake *f, unsigned int bit)
{
	return f->driver_features & (1ull << bit);
}

static uint8_t *fake_xlat(struct uvirtio_fake *f, uint64_t iova, uint64_t len)
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
static void raise_irq(struct uvirtio_fake *f, uint16_t vector, uint8_t isr)
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

static void set_needs_reset(struct uvirtio_fake *f)
{
	f->needs_reset = true;
	if (f->status & VIRTIO_CONFIG_S_DRIVER_OK || f->status)
		f->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	raise_irq(f, f->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

static void device_error(struct uvirtio_fake *f)
{
	f->st.device_errors++;
	set_needs_reset(f);
}

static void device_reset(struct uvirtio_fake *f)
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

/* ---- device config --------------------------------------------------- */

static uint32_t devcfg_len(struct uvirtio_fake *f)
{
	return f->cfg.device_type == VIRTIO_ID_BLOCK ?
		sizeof(struct virtio_blk_config) : 0;
}

static uint64_t devcfg_read(struct uvirtio_fake *f, uint32_t off,
			    unsigned int width)
{
	uint64_t v = 0;

	if (off + width <= devcfg_len(f))
		memcpy(&v, (uint8_t *)&f->blkcfg + off, width);
	if (f->cfg_gen_left) {
		/* Flip the config after this access: a torn read results. */
		f->cfg_flipped = !f->cfg_flipped;
		f->blkcfg.capacity = f->cfg_flipped ? f->fault_arg2 :
						      f->cfg.capacity;
		f->generation++;
		if (f->cfg_gen_left != 0xffff)
			f->cfg_gen_left--;
	}
	return v;
}

static void devcfg_write(struct uvirtio_fake *f, uint32_t off,
			 unsigned int width, uint64_t val)
{
	/* Only the blk writeback byte is writable. */
	if (f->cfg.device_type == VIRTIO_ID_BLOCK && width == 1 &&
	    off == offsetof(struct virtio_blk_config, wce))
		f->blkcfg.wce = (uint8_t)val;
}

/* ---- common config --------------------------------------------------- */

static struct fake_queue *selq(struct uvirtio_fake *f)
{
	return f->queue_select < f->cfg.num_queues ?
		&f->queues[f->queue_select] : NULL;
}

static uint64_t offered(struct uvirtio_fake *f)
{
	return f->cfg.features;
}

static void write_status(struct uvirtio_fake *f, uint8_t v)
{
	if (!v) {
		device_reset(f);
		f->st.last_status = 0;
		f->st.status_history = 0;
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(f->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		bool ok = !f->refuse_features_ok &&
			  !(f->driver_features & ~offered(f)) &&
			  drv_has(f, VIRTIO_F_VERSION_1);

		if (!ok)
			v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	f->status = (uint8_t)(v | (f->status & VIRTIO_CONFIG_S_NEEDS_RESET));
	f->st.last_status = v;
	f->st.status_history |= v;
	f->st.driver_features = f->driver_features;
}

static uint16_t check_vector(struct uvirtio_fake *f, uint64_t v)
{
	return v < f->cfg.msix_vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void queue_enable(struct fake_queue *q)
{
	q->enabled = true;
	q->last_avail = q->used_idx = 0;
	q->p_avail = q->p_used = 0;
	q->p_avail_wrap = q->p_used_wrap = true;
}

/*
 * VIRTIO_F_RING_RESET (spec 2.6.1): the queue stops, forgets its ring and
 * its device-side indices, and its registers go back to their reset
 * values.  The device thread runs under the same lock, so no chain is
 * half processed here; the reset is over at once (queue_reset reads 0),
 * unless UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK makes it never end.
 */
static void queue_reset(struct uvirtio_fake *f, struct fake_queue *q)
{
	*q = (struct fake_queue){ 0 };
	q->size = f->cfg.queue_size;
	q->vector = VIRTIO_MSI_NO_VECTOR;
	q->resetting = f->queue_reset_stuck;
}

static uint64_t common_read(struct uvirtio_fake *f, uint64_t off)
{
	struct fake_queue *q = selq(f);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return f->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return f->dfselect < 2 ?
			(uint32_t)(offered(f) >> (32 * f->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT: return f->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return f->gfselect < 2 ?
			(uint32_t)(f->driver_features >> (32 * f->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX: return f->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ: return f->cfg.num_queues;
	case VIRTIO_PCI_COMMON_STATUS: return f->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION: return f->generation;
	case VIRTIO_PCI_COMMON_Q_SELECT: return f->queue_select;
	case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->size : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q ? q->vector : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF: return f->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return q ? (uint32_t)q->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI: return q ? q->desc >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return q ? (uint32_t)q->driver : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: return q ? q->driver >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO: return q ? (uint32_t)q->device : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI: return q ? q->device >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_RESET:
		return q && drv_has(f, VIRTIO_F_RING_RESET) ? q->resetting : 0;
	default: return 0;
	}
}

static void set_lo(uint64_t *r, uint64_t v)
{
	*r = (*r & ~0xffffffffull) | (v & 0xffffffffu);
}

static void set_hi(uint64_t *r, uint64_t v)
{
	*r = (*r & 0xffffffffull) | (v << 32);
}

static void common_write(struct uvirtio_fake *f, uint64_t off, uint64_t v)
{
	struct fake_queue *q = selq(f);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: f->dfselect = (uint32_t)v; return;
	case VIRTIO_PCI_COMMON_GFSELECT: f->gfselect = (uint32_t)v; return;
	case VIRTIO_PCI_COMMON_GF:
		if (f->gfselect == 0)
			set_lo(&f->driver_features, v);
		else if (f->gfselect == 1)
			set_hi(&f->driver_features, v);
		return;
	case VIRTIO_PCI_COMMON_MSIX: f->msix_config = check_vector(f, v); return;
	case VIRTIO_PCI_COMMON_STATUS: write_status(f, (uint8_t)v); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: f->queue_select = (uint16_t)v; return;
	case VIRTIO_PCI_COMMON_Q_RESET:
		if (q && v == 1 && drv_has(f, VIRTIO_F_RING_RESET))
			queue_reset(f, q);
		return;
	default: break;
	}
	if (!q || q->enabled || q->resetting)
		return;		/* queue registers are frozen once enabled */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (v && v <= f->cfg.queue_size)
			q->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX: q->vector = check_vector(f, v); break;
	case VIRTIO_PCI_COMMON_Q_ENABLE: if (v == 1) queue_enable(q); break;
	case VIRTIO_PCI_COMMON_Q_DESCLO: set_lo(&q->desc, v); break;
	case VIRTIO_PCI_COMMON_Q_DESCHI: set_hi(&q->desc, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: set_lo(&q->driver, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: set_hi(&q->driver, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDLO: set_lo(&q->device, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDHI: set_hi(&q->device, v); break;
	default: break;
	}
}

/*
 * With VIRTIO_F_NOTIFICATION_DATA negotiated, a doorbell is 32 bits: the
 * queue in the low half, the driver's next avail index (split) or next
 * offset with its wrap counter (packed) in the high half.  The split
 * index must be what the driver published; a packed offset must lie in
 * the ring.
 */
static void check_notify_data(struct uvirtio_fake *f, uint64_t qidx,
			      unsigned int width, uint64_t val)
{
	struct fake_queue *q;
	uint16_t data = (uint16_t)(val >> 16);
	bool ok;

	if (!drv_has(f, 38) || qidx >= f->cfg.num_queues)
		return;
	f->st.notify_data_seen++;
	q = &f->queues[qidx];
	if (width != 4 || (val & 0xffff) != qidx) {
		ok = false;
	} else if (drv_has(f, VIRTIO_F_RING_PACKED)) {
		ok = (data & 0x7fff) < q->size;
	} else {
		const struct vring_avail *avail =
			(const void *)fake_xlat(f, q->driver, 4);

		ok = avail && data == __atomic_load_n(&avail->idx,
						      __ATOMIC_ACQUIRE);
	}
	if (!ok)
		f->st.notify_data_errors++;
	f->st.last_notify_data = (uint32_t)val;
}

static void doorbell(struct uvirtio_fake *f, uint64_t qidx)
{
	f->st.doorbells++;
	if (qidx < f->cfg.num_queues) {
		f->queues[qidx].pending = true;
		pthread_cond_signal(&f->cond);
	}
}

/* ---- legacy BAR0 ----------------------------------------------------- */

static uint32_t legacy_cfg_base(struct uvirtio_fake *f)
{
	return VIRTIO_PCI_CONFIG_OFF(f->cfg.msix_vectors > 0);
}

static uint64_t legacy_read(struct uvirtio_fake *f, uint64_t off,
			    unsigned int width)
{
	struct fake_queue *q = selq(f);
	uint32_t base = legacy_cfg_base(f);
	uint64_t v;

	if (off >= base)
		return devcfg_read(f, (uint32_t)(off - base), width);
	switch (off) {
	case VIRTIO_PCI_HOST_FEATURES: return (uint32_t)offered(f);
	case VIRTIO_PCI_GUEST_FEATURES: return (uint32_t)f->driver_features;
	case VIRTIO_PCI_QUEUE_PFN: return q ? q->pfn : 0;
	case VIRTIO_PCI_QUEUE_NUM: return q ? q->size : 0;
	case VIRTIO_PCI_QUEUE_SEL: return f->queue_select;
	case VIRTIO_PCI_STATUS: return f->status;
	case VIRTIO_PCI_ISR:
		v = f->isr;
		f->isr = 0;
		return v;
	case VIRTIO_MSI_CONFIG_VECTOR: return f->msix_config;
	case VIRTIO_MSI_QUEUE_VECTOR:
		return q ? q->vector : VIRTIO_MSI_NO_VECTOR;
	default: return 0;
	}
}

static void legacy_write(struct uvirtio_fake *f, uint64_t off,
			 unsigned int width, uint64_t v)
{
	struct fake_queue *q = selq(f);
	uint32_t base = legacy_cfg_base(f);

	if (off >= base) {
		devcfg_write(f, (uint32_t)(off - base), width, v);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
		f->driver_features = (uint32_t)v;
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		if (!q)
			break;
		q->pfn = (uint32_t)v;
		if (!v) {
			q->enabled = false;
			break;
		}
		q->desc = (uint64_t)v << VIRTIO_PCI_QUEUE_ADDR_SHIFT;
		q->driver = q->desc + 16ull * q->size;
		q->device = UV_ALIGN_UP(q->driver + 6 + 2ull * q->size,
					(uint64_t)VIRTIO_PCI_VRING_ALIGN);
		queue_enable(q);
		break;
	case VIRTIO_PCI_QUEUE_SEL: f->queue_select = (uint16_t)v; break;
	case VIRTIO_PCI_QUEUE_NOTIFY: doorbell(f, v); break;
	case VIRTIO_PCI_STATUS:
		if (!v) {
			device_reset(f);
			f->st.last_status = 0;
			f->st.status_history = 0;
		} else {
			f->status = (uint8_t)v;
			f->st.last_status = (uint8_t)v;
			f->st.status_history |= (uint8_t)v;
			f->st.driver_features = f->driver_features;
		}
		break;
	case VIRTIO_MSI_CONFIG_VECTOR: f->msix_config = check_vector(f, v); break;
	case VIRTIO_MSI_QUEUE_VECTOR: if (q) q->vector = check_vector(f, v); break;
	default: break;
	}
}

/* ---- backend ops: registers ------------------------------------------ */

static int fake_cfg_read(void *priv, uint32_t off, void *buf,
			 unsigned int width)
{
	struct uvirtio_fake *f = priv;

	if (off + width > sizeof(f->pcicfg))
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	memcpy(buf, f->pcicfg + off, width);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_cfg_write(void *priv, uint32_t off, const void *buf,
			  unsigned int width)
{
	(void)priv; (void)buf;
	if (off + width > 256)
		return -EINVAL;
	return 0;	/* config space is read-only in the fake */
}

static int fake_bar_read(void *priv, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t *val)
{
	struct uvirtio_fake *f = priv;
	uint64_t v = 0;
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	if (f->removed && !f->removed_frozen) {
		v = ~0ull;
	} else if (f->removed) {
		/* frozen: status and the rest read as before, no side effect */
		if (bar == FAKE_BAR && modern_iface(f) &&
		    off < FAKE_COMMON_OFF + FAKE_COMMON_LEN)
			v = common_read(f, off);
	} else if (bar == FAKE_BAR && modern_iface(f)) {
		if (off < FAKE_COMMON_OFF + FAKE_COMMON_LEN) {
			v = common_read(f, off);
		} else if (off == FAKE_ISR_OFF) {
			v = f->isr;
			f->isr = 0;
		} else if (off >= FAKE_DEVICE_OFF &&
			   off < FAKE_DEVICE_OFF + FAKE_DEVICE_LEN) {
			v = devcfg_read(f, (uint32_t)(off - FAKE_DEVICE_OFF),
					width);
		}
	} else if (bar == 0 && legacy_iface(f) && off < LEGACY_CFG_SPACE) {
		v = legacy_read(f, off, width);
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&f->lock);
	if (width < 8)
		v &= (1ull << (8 * width)) - 1;
	*val = v;
	return ret;
}

static int fake_bar_write(void *priv, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t val)
{
	struct uvirtio_fake *f = priv;
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	if (f->removed) {
		;	/* nothing reaches a removed device */
	} else if (bar == FAKE_BAR && modern_iface(f)) {
		if (off < FAKE_COMMON_OFF + FAKE_COMMON_LEN)
			common_write(f, off, val);
		else if (off >= FAKE_DEVICE_OFF &&
			 off < FAKE_DEVICE_OFF + FAKE_DEVICE_LEN)
			devcfg_write(f, (uint32_t)(off - FAKE_DEVICE_OFF),
				     width, val);
		else if (off >= FAKE_NOTIFY_OFF &&
			 off < FAKE_NOTIFY_OFF +
			 (uint64_t)FAKE_NOTIFY_MULT * f->cfg.num_queues) {
			uint64_t qi = (off - FAKE_NOTIFY_OFF) / FAKE_NOTIFY_MULT;

			check_notify_data(f, qi, width, val);
			doorbell(f, qi);
		}
	} else if (bar == 0 && legacy_iface(f) && off < LEGACY_CFG_SPACE) {
		legacy_write(f, off, width, val);
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static void *fake_bar_ptr(void *priv, unsigned int bar, uint64_t off,
			  uint64_t len)
{
	(void)priv; (void)bar; (void)off; (void)len;
	return NULL;	/* every access traps */
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
	if (ret)
		free(p);
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
		raise_irq(f, (uint16_t)vector, 0);
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
	device_reset(f);
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

static const struct uvirtio_backend_ops fake_ops = {
	.cfg_read = fake_cfg_read,
	.cfg_write = fake_cfg_write,
	.bar_read = fake_bar_read,
	.bar_write = fake_bar_write,
	.bar_ptr = fake_bar_ptr,
	.dma_alloc = fake_dma_alloc,
	.dma_free = fake_dma_free,
	.dma_map = fake_dma_map,
	.dma_unmap = fake_dma_unmap,
	.irq_eventfd = fake_irq_eventfd,
	.irq_mask = fake_irq_mask,
	.num_vectors = fake_num_vectors,
	.reset = fake_reset,
	.get_caps = fake_get_caps,
	.iommu_mode = fake_iommu_mode,
	.close = fake_close,
	.remove_fd = fake_remove_fd,
};

/* ---- ring processing (device side) ----------------------------------- */

static uint16_t ald16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void rst16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

static bool push_seg(struct fake_chain *c, uint8_t *p, uint32_t len,
		     bool write)
{
	if (c->nsegs >= FAKE_MAX_SEGS)
		return false;
	if (!write && c->wlen)
		return false;	/* readable after writable */
	if (write) {
		if ((uint64_t)c->wlen + len > FAKE_MAX_XFER)
			return false;
		c->wlen += len;
	}
	c->segs[c->nsegs++] = (struct fake_seg){ p, len, write };
	return true;
}

/*
 * An indirect table is in the ring's own descriptor format: split tables
 * chain with NEXT/next; packed tables (spec 2.8.19) are struct
 * pvirtq_desc in sequence, where WRITE is the only valid flag.
 */
static bool walk_indirect(struct uvirtio_fake *f, struct fake_chain *c,
			  uint64_t addr, uint32_t len, bool packed)
{
	unsigned int n, i = 0, steps = 0;
	void *tbl;

	if (!len || len % 16)
		return false;
	n = len / 16;
	tbl = fake_xlat(f, addr, len);
	if (!tbl)
		return false;
	f->st.indirect_used++;
	if (packed) {
		struct vring_packed_desc *t = tbl;

		for (i = 0; i < n; i++) {
			uint8_t *p;

			if (t[i].flags & VRING_DESC_F_INDIRECT)
				return false;
			p = fake_xlat(f, t[i].addr, t[i].len);
			if (!p || !push_seg(c, p, t[i].len,
					    t[i].flags & VRING_DESC_F_WRITE))
				return false;
		}
		return true;
	}
	for (;;) {
		struct vring_desc *t = tbl;
		uint8_t *p;

		if (i >= n || ++steps > n)
			return false;	/* out of table or loop */
		if (t[i].flags & VRING_DESC_F_INDIRECT)
			return false;
		p = fake_xlat(f, t[i].addr, t[i].len);
		if (!p || !push_seg(c, p, t[i].len,
				    t[i].flags & VRING_DESC_F_WRITE))
			return false;
		if (!(t[i].flags & VRING_DESC_F_NEXT))
			return true;
		i = t[i].next;
	}
}

static bool walk_split(struct uvirtio_fake *f, struct fake_queue *q,
		       struct vring_desc *desc, uint16_t head,
		       struct fake_chain *c)
{
	unsigned int steps = 0;
	uint16_t i = head;

	c->head = c->id = head;
	c->ndesc = 0;
	for (;;) {
		struct vring_desc *d;

		if (i >= q->size || ++steps > q->size)
			return false;
		d = &desc[i];
		c->ndesc++;
		if (d->flags & VRING_DESC_F_INDIRECT) {
			if (steps != 1 || (d->flags & VRING_DESC_F_NEXT))
				return false;
			return walk_indirect(f, c, d->addr, d->len, false);
		} else {
			uint8_t *p = fake_xlat(f, d->addr, d->len);

			if (!p || !push_seg(c, p, d->len,
					    d->flags & VRING_DESC_F_WRITE))
				return false;
		}
		if (!(d->flags & VRING_DESC_F_NEXT))
			return true;
		i = d->next;
	}
}

static bool walk_packed(struct uvirtio_fake *f, struct fake_queue *q,
			struct vring_packed_desc *ring, struct fake_chain *c)
{
	uint16_t pos = q->p_avail;
	unsigned int steps = 0;

	c->head = pos;
	c->ndesc = 0;
	for (;;) {
		struct vring_packed_desc *d = &ring[pos];
		uint16_t fl = steps ? d->flags : ald16(&d->flags);

		if (++steps > q->size)
			return false;
		c->ndesc++;
		c->id = d->id;
		if (fl & VRING_DESC_F_INDIRECT) {
			if (steps != 1 || (fl & VRING_DESC_F_NEXT))
				return false;
			if (!walk_indirect(f, c, d->addr, d->len, true))
				return false;
		} else {
			uint8_t *p = fake_xlat(f, d->addr, d->len);

			if (!p || !push_seg(c, p, d->len,
					    fl & VRING_DESC_F_WRITE))
				return false;
		}
		if (++pos == q->size)
			pos = 0;
		if (!(fl & VRING_DESC_F_NEXT))
			return true;
	}
}

static uint8_t blk_execute(struct uvirtio_fake *f, struct fake_chain *c,
			   uint32_t *used_len)
{
	uint8_t *out = NULL, *status;
	size_t out_len = 0, in_len = 0, pos;
	struct virtio_blk_outhdr hdr;
	unsigned int i, first_w = c->nsegs;
	uint8_t st = VIRTIO_BLK_S_OK;

	for (i = 0; i < c->nsegs; i++) {
		if (c->segs[i].write) {
			if (first_w == c->nsegs)
				first_w = i;
			in_len += c->segs[i].len;
		} else {
			out_len += c->segs[i].len;
		}
	}
	*used_len = 0;
	if (out_len < sizeof(hdr) || in_len < 1 || out_len > FAKE_MAX_XFER)
		return 0xff;	/* malformed: no status to write */
	out = malloc(out_len);
	if (!out)
		return 0xff;
	for (i = 0, pos = 0; i < first_w; i++) {
		memcpy(out + pos, c->segs[i].p, c->segs[i].len);
		pos += c->segs[i].len;
	}
	memcpy(&hdr, out, sizeof(hdr));
	/* Status: the last writable byte. */
	status = c->segs[c->nsegs - 1].p + c->segs[c->nsegs - 1].len - 1;
	in_len -= 1;

	if (drv_has(f, VIRTIO_BLK_F_SEG_MAX) &&
	    c->nsegs > f->blkcfg.seg_max + 2u)
		st = VIRTIO_BLK_S_IOERR;
	if (drv_has(f, VIRTIO_BLK_F_SIZE_MAX))
		for (i = 0; i < c->nsegs; i++)
			if (c->segs[i].len > f->blkcfg.size_max)
				st = VIRTIO_BLK_S_IOERR;
	if (st != VIRTIO_BLK_S_OK)
		goto done;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN: {
		uint64_t off = hdr.sector * 512, done = 0;

		if (in_len % 512 || hdr.sector > f->disk_len / 512 ||
		    in_len > f->disk_len - off) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		for (i = first_w; i < c->nsegs && done < in_len; i++) {
			size_t l = UV_MIN((uint64_t)c->segs[i].len,
					  in_len - done);

			memcpy(c->segs[i].p, f->disk + off + done, l);
			done += l;
		}
		*used_len = (uint32_t)in_len;
		break;
	}
	case VIRTIO_BLK_T_OUT: {
		uint64_t off = hdr.sector * 512, dl = out_len - sizeof(hdr);

		if (f->driver_features & (1ull << VIRTIO_BLK_F_RO) ||
		    dl % 512 || hdr.sector > f->disk_len / 512 ||
		    dl > f->disk_len - off) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		memcpy(f->disk + off, out + sizeof(hdr), dl);
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (!drv_has(f, VIRTIO_BLK_F_FLUSH))
			st = VIRTIO_BLK_S_UNSUPP;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		static const char id[VIRTIO_BLK_ID_BYTES] = "uvirtio-fake-blk";
		uint64_t done = 0;

		for (i = first_w; i < c->nsegs && done < in_len &&
		     done < sizeof(id); i++) {
			size_t l = UV_MIN((uint64_t)c->segs[i].len,
					  UV_MIN(in_len, sizeof(id)) - done);

			memcpy(c->segs[i].p, id + done, l);
			done += l;
		}
		*used_len = (uint32_t)done;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		bool disc = hdr.type == VIRTIO_BLK_T_DISCARD;
		unsigned int feat = disc ? VIRTIO_BLK_F_DISCARD :
					   VIRTIO_BLK_F_WRITE_ZEROES;
		uint32_t maxs = disc ? f->blkcfg.max_discard_sectors :
				       f->blkcfg.max_write_zeroes_sectors;
		uint32_t maxseg = disc ? f->blkcfg.max_discard_seg :
					 f->blkcfg.max_write_zeroes_seg;
		size_t n = (out_len - sizeof(hdr)) / 16, k;

		if (!drv_has(f, feat)) {
			st = VIRTIO_BLK_S_UNSUPP;
			break;
		}
		if (!n || (out_len - sizeof(hdr)) % 16 || n > maxseg) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		for (k = 0; k < n; k++) {
			struct virtio_blk_discard_write_zeroes r;

			memcpy(&r, out + sizeof(hdr) + 16 * k, sizeof(r));
			if (r.num_sectors > maxs ||
			    r.sector > f->disk_len / 512 ||
			    r.num_sectors > f->disk_len / 512 - r.sector ||
			    (disc && f->blkcfg.discard_sector_alignment &&
			     r.sector % f->blkcfg.discard_sector_alignment)) {
				st = VIRTIO_BLK_S_IOERR;
				break;
			}
			memset(f->disk + r.sector * 512, 0,
			       (size_t)r.num_sectors * 512);
		}
		break;
	}
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	free(out);
	*status = st;
	*used_len += 1;
	return st;
}

static uint64_t rng_next(struct uvirtio_fake *f)
{
	/* xorshift64*: deterministic test data, not real entropy. */
	f->rng_state ^= f->rng_state >> 12;
	f->rng_state ^= f->rng_state << 25;
	f->rng_state ^= f->rng_state >> 27;
	return f->rng_state * 0x2545f4914f6cdd1dull;
}

/*
 * Fill the chain with bytes.  A rate-limited source sleeps first, with
 * the lock dropped so the driver can go on touching registers; if the
 * driver reset the device meanwhile, the ring may be gone: return false
 * and complete nothing.
 */
static bool rng_execute(struct uvirtio_fake *f, struct fake_chain *c,
			uint32_t *used_len)
{
	uint32_t k, left = f->cfg.rng_max_bytes ? f->cfg.rng_max_bytes :
						  UINT32_MAX;
	unsigned int i;

	if (f->cfg.rng_delay_ms) {
		struct timespec ts = {
			f->cfg.rng_delay_ms / 1000,
			(long)(f->cfg.rng_delay_ms % 1000) * 1000000,
		};

		pthread_mutex_unlock(&f->lock);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&f->lock);
		if (f->stop || f->removed ||
		    !(f->status & VIRTIO_CONFIG_S_DRIVER_OK))
			return false;
	}
	*used_len = 0;
	for (i = 0; i < c->nsegs && left; i++) {
		if (!c->segs[i].write)
			continue;
		for (k = 0; k < c->segs[i].len && left; k++, left--) {
			c->segs[i].p[k] = (uint8_t)rng_next(f);
			(*used_len)++;
		}
	}
	return true;
}

static bool take_fault(struct uvirtio_fake *f, enum uvirtio_fake_fault fault)
{
	if (f->fault != fault)
		return false;
	f->fault = 0;
	return true;
}

static void split_put_used(struct fake_queue *q, struct vring_used *used,
			   uint32_t id, uint32_t len)
{
	struct vring_used_elem *e = &used->ring[q->used_idx & (q->size - 1)];

	e->id = id;
	e->len = len;
	q->used_idx++;
}

static void complete_split(struct uvirtio_fake *f, struct fake_queue *q,
			   struct vring_desc *desc, struct vring_used *used,
			   struct fake_chain *c, uint32_t len)
{
	uint32_t id = c->id;

	if (take_fault(f, UVIRTIO_FAKE_FAULT_BAD_USED_ID))
		id = q->size + 5u;
	else if (take_fault(f, UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD)) {
		id = (c->id + 1u) % q->size;
		len = 0;
	} else if (take_fault(f, UVIRTIO_FAKE_FAULT_BAD_USED_LEN))
		len = c->wlen + 1;
	if (take_fault(f, UVIRTIO_FAKE_FAULT_CORRUPT_DESC)) {
		struct vring_desc *d = &desc[c->head];

		/* Loop on a chain, or point past the ring. */
		d->next = (d->flags & VRING_DESC_F_NEXT) ? c->head :
			  (uint16_t)(q->size + 7);
		d->flags |= VRING_DESC_F_NEXT;
		d->flags &= (uint16_t)~VRING_DESC_F_INDIRECT;
	}
	split_put_used(q, used, id, len);
	if (take_fault(f, UVIRTIO_FAKE_FAULT_DUP_USED))
		split_put_used(q, used, id, len);
	if (take_fault(f, UVIRTIO_FAKE_FAULT_USED_IDX_JUMP))
		q->used_idx = (uint16_t)(q->used_idx + q->size + 1);
	f->st.completions++;
}

static void packed_put_used(struct fake_queue *q,
			    struct vring_packed_desc *ring, uint16_t id,
			    uint32_t len, uint16_t skip)
{
	struct vring_packed_desc *d = &ring[q->p_used];
	uint16_t w = q->p_used_wrap ? 1 : 0;

	d->id = id;
	d->len = len;
	rst16(&d->flags, (uint16_t)((w << VRING_PACKED_DESC_F_AVAIL) |
				    (w << VRING_PACKED_DESC_F_USED)));
	q->p_used = (uint16_t)(q->p_used + skip);
	if (q->p_used >= q->size) {
		q->p_used = (uint16_t)(q->p_used - q->size);
		q->p_used_wrap = !q->p_used_wrap;
	}
}

/* Returns the number of ring slots the used pointer advanced. */
static uint16_t complete_packed(struct uvirtio_fake *f, struct fake_queue *q,
				struct vring_packed_desc *ring,
				struct fake_chain *c, uint32_t len)
{
	uint16_t slots = c->ndesc;
	uint16_t id = c->id;
	uint16_t pos = q->p_used;
	bool wrap = q->p_used_wrap;

	if (take_fault(f, UVIRTIO_FAKE_FAULT_BAD_USED_ID))
		id = (uint16_t)(q->size + 5u);
	else if (take_fault(f, UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD)) {
		id = (uint16_t)((c->id + 1u) % q->size);
		len = 0;
	} else if (take_fault(f, UVIRTIO_FAKE_FAULT_BAD_USED_LEN))
		len = c->wlen + 1;
	if (take_fault(f, UVIRTIO_FAKE_FAULT_CORRUPT_DESC) && c->ndesc > 1) {
		/* Make a skipped slot look used, with a bogus id. */
		uint16_t p2 = (uint16_t)((pos + 1) % q->size);
		uint16_t w = (p2 < pos ? !wrap : wrap) ? 1 : 0;

		ring[p2].id = (uint16_t)(q->size + 3u);
		ring[p2].len = 0xffffffffu;
		rst16(&ring[p2].flags, (uint16_t)(
			(w << VRING_PACKED_DESC_F_AVAIL) |
			(w << VRING_PACKED_DESC_F_USED)));
	}
	packed_put_used(q, ring, id, len, c->ndesc);
	if (take_fault(f, UVIRTIO_FAKE_FAULT_DUP_USED)) {
		packed_put_used(q, ring, id, len, 1);
		slots++;
	}
	f->st.completions++;
	return slots;
}

static bool split_need_irq(struct uvirtio_fake *f, struct vring_avail *avail,
			   uint16_t size, uint16_t old, uint16_t new)
{
	if (drv_has(f, VIRTIO_RING_F_EVENT_IDX))
		return uvirtio_need_event(ald16(&avail->ring[size]), new, old);
	return !(ald16(&avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

static bool packed_need_irq(struct uvirtio_fake *f, struct fake_queue *q,
			    struct vring_packed_desc_event *drv,
			    uint16_t slots)
{
	uint16_t flags = ald16(&drv->flags), ow, ev, new, old;

	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC ||
	    !drv_has(f, VIRTIO_RING_F_EVENT_IDX))
		return true;
	ow = ald16(&drv->off_wrap);
	ev = ow & 0x7fff;
	new = q->p_used;
	old = (uint16_t)(new - slots);
	if ((bool)(ow >> VRING_PACKED_EVENT_F_WRAP_CTR) != q->p_used_wrap)
		ev = (uint16_t)(ev - q->size);
	return uvirtio_need_event(ev, new, old);
}

#define FAKE_BATCH 256

static void process_queue(struct uvirtio_fake *f, struct fake_queue *q)
{
	bool packed = drv_has(f, VIRTIO_F_RING_PACKED);
	bool evidx = drv_has(f, VIRTIO_RING_F_EVENT_IDX);
	uint64_t ring_len = 16ull * q->size;
	struct vring_desc *desc = (void *)fake_xlat(f, q->desc, ring_len);
	struct vring_avail *avail = NULL;
	struct vring_used *used = NULL;
	struct vring_packed_desc_event *drv_ev = NULL, *dev_ev = NULL;
	struct fake_chain *batch;
	unsigned int nb, i;
	uint16_t used_start = q->used_idx, slots = 0;
	bool any = false;

	if (packed) {
		drv_ev = (void *)fake_xlat(f, q->driver, 4);
		dev_ev = (void *)fake_xlat(f, q->device, 4);
	} else {
		avail = (void *)fake_xlat(f, q->driver, 6 + 2ull * q->size);
		used = (void *)fake_xlat(f, q->device, 6 + 8ull * q->size);
	}
	if (!desc || (packed ? !drv_ev || !dev_ev : !avail || !used)) {
		device_error(f);
		return;
	}
	batch = calloc(FAKE_BATCH, sizeof(*batch));
	if (!batch)
		goto out;
again:
	nb = 0;
	while (nb < FAKE_BATCH) {
		struct fake_chain *c = &batch[nb];
		bool ok;

		c->segs = malloc(FAKE_MAX_SEGS * sizeof(*c->segs));
		if (!c->segs)
			break;
		c->nsegs = 0;
		c->wlen = 0;
		if (packed) {
			uint16_t fl = ald16(&((struct vring_packed_desc *)
					      desc)[q->p_avail].flags);
			bool a = fl & (1u << VRING_PACKED_DESC_F_AVAIL);
			bool u = fl & (1u << VRING_PACKED_DESC_F_USED);

			if (a != q->p_avail_wrap || u == q->p_avail_wrap) {
				free(c->segs);
				break;
			}
			ok = walk_packed(f, q, (void *)desc, c);
			if (ok) {
				q->p_avail = (uint16_t)(q->p_avail + c->ndesc);
				if (q->p_avail >= q->size) {
					q->p_avail = (uint16_t)(q->p_avail -
								q->size);
					q->p_avail_wrap = !q->p_avail_wrap;
				}
			}
		} else {
			uint16_t aidx = ald16(&avail->idx), head;

			if (aidx == q->last_avail) {
				free(c->segs);
				break;
			}
			if ((uint16_t)(aidx - q->last_avail) > q->size) {
				free(c->segs);
				device_error(f);
				break;
			}
			head = avail->ring[q->last_avail & (q->size - 1)];
			ok = walk_split(f, q, desc, head, c);
			q->last_avail++;
		}
		if (!ok) {
			free(c->segs);
			device_error(f);
			break;
		}
		if (c->nsegs > f->st.max_chain)
			f->st.max_chain = c->nsegs;
		nb++;
	}
	for (i = 0; i < nb; i++) {
		struct fake_chain *c = &batch[f->cfg.reverse_completion ?
					      nb - 1 - i : i];
		uint32_t len = 0;

		if (f->cfg.device_type == VIRTIO_ID_BLOCK) {
			blk_execute(f, c, &len);
		} else if (!rng_execute(f, c, &len)) {
			/* reset while we slept: the rings may be freed */
			for (; i < nb; i++)
				free(batch[f->cfg.reverse_completion ?
					   nb - 1 - i : i].segs);
			free(batch);
			return;
		}
		if (packed) {
			slots = (uint16_t)(slots + complete_packed(f, q,
						(void *)desc, c, len));
		} else {
			complete_split(f, q, desc, used, c, len);
		}
		free(c->segs);
		any = true;
	}
	if (f->needs_reset)
		goto out;
	/* Ask to be kicked for anything after what we consumed, then re-check. */
	if (packed) {
		if (evidx) {
			__atomic_store_n(&dev_ev->off_wrap, (uint16_t)(q->p_avail |
				(q->p_avail_wrap << VRING_PACKED_EVENT_F_WRAP_CTR)),
				__ATOMIC_RELAXED);
			rst16(&dev_ev->flags, VRING_PACKED_EVENT_FLAG_DESC);
		}
	} else {
		rst16(&used->idx, q->used_idx);
		if (evidx)
			rst16(&used->ring[q->size], q->last_avail);
	}
	atomic_thread_fence(memory_order_seq_cst);
	if (nb == FAKE_BATCH)
		goto again;
	if (!packed && ald16(&avail->idx) != q->last_avail)
		goto again;
	if (packed) {
		uint16_t fl = ald16(&((struct vring_packed_desc *)desc)
				    [q->p_avail].flags);
		bool a = fl & (1u << VRING_PACKED_DESC_F_AVAIL);
		bool u = fl & (1u << VRING_PACKED_DESC_F_USED);

		if (a == q->p_avail_wrap && u != q->p_avail_wrap)
			goto again;
	}
	if (any) {
		bool need = packed ?
			packed_need_irq(f, q, drv_ev, slots) :
			split_need_irq(f, avail, q->size, used_start,
				       q->used_idx);
		if (need)
			raise_irq(f, q->vector, 1);
	}
out:
	free(batch);
}

static void *device_thread(void *arg)
{
	struct uvirtio_fake *f = arg;
	uint16_t i;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		bool work = false;

		for (i = 0; i < f->cfg.num_queues; i++) {
			struct fake_queue *q = &f->queues[i];

			if (!q->pending)
				continue;
			q->pending = false;
			if (q->enabled && !f->needs_reset && !f->removed &&
			    (f->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
				process_queue(f, q);
				work = true;
			}
		}
		if (!work)
			pthread_cond_wait(&f->cond, &f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* ---- setup ----------------------------------------------------------- */

static void put_cap(uint8_t *cfg, uint8_t pos, uint8_t next, uint8_t len,
		    uint8_t type, uint8_t bar, uint32_t off, uint32_t length)
{
	cfg[pos] = 0x09;	/* PCI_CAP_ID_VNDR */
	cfg[pos + 1] = next;
	cfg[pos + 2] = len;
	cfg[pos + 3] = type;
	cfg[pos + 4] = bar;
	cfg[pos + 5] = 0;
	put32(cfg + pos + 8, off);
	put32(cfg + pos + 12, length);
}

static void build_pci(struct uvirtio_fake *f)
{
	struct uvirtio_caps *c = &f->caps;
	uint8_t *cfg = f->pcicfg;
	uint16_t devid;
	uint8_t msix_pos;
	bool has_dev = devcfg_len(f) > 0;

	memset(cfg, 0, sizeof(f->pcicfg));
	memset(c, 0, sizeof(*c));
	if (f->cfg.layout == UVIRTIO_FAKE_MODERN)
		devid = (uint16_t)(0x1040 + f->cfg.device_type);
	else
		devid = f->cfg.device_type == VIRTIO_ID_BLOCK ? 0x1001 : 0x1005;
	put16(cfg + 0x00, 0x1af4);
	put16(cfg + 0x02, devid);
	cfg[0x08] = f->cfg.layout == UVIRTIO_FAKE_MODERN ? 1 : 0;
	put16(cfg + 0x2c, 0x1af4);
	put16(cfg + 0x2e, (uint16_t)f->cfg.device_type);
	c->has_legacy_io = legacy_iface(f);
	c->msix_vectors = f->cfg.msix_vectors;
	msix_pos = 0x40;
	if (modern_iface(f)) {
		put_cap(cfg, 0x40, 0x50, 16, VIRTIO_PCI_CAP_COMMON_CFG,
			FAKE_BAR, FAKE_COMMON_OFF, FAKE_COMMON_LEN);
		put_cap(cfg, 0x50, 0x68, 20, VIRTIO_PCI_CAP_NOTIFY_CFG,
			FAKE_BAR, FAKE_NOTIFY_OFF,
			FAKE_NOTIFY_MULT * f->cfg.num_queues);
		put32(cfg + 0x50 + 16, FAKE_NOTIFY_MULT);
		put_cap(cfg, 0x68, has_dev ? 0x78 : 0x88, 16,
			VIRTIO_PCI_CAP_ISR_CFG, FAKE_BAR, FAKE_ISR_OFF, 4);
		if (has_dev)
			put_cap(cfg, 0x78, 0x88, 16, VIRTIO_PCI_CAP_DEVICE_CFG,
				FAKE_BAR, FAKE_DEVICE_OFF, devcfg_len(f));
		put_cap(cfg, 0x88, 0, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
		c->common = (struct uvirtio_cap_region){ true, FAKE_BAR, 0,
			0x40, FAKE_COMMON_OFF, FAKE_COMMON_LEN };
		c->notify = (struct uvirtio_cap_region){ true, FAKE_BAR, 0,
			0x50, FAKE_NOTIFY_OFF,
			FAKE_NOTIFY_MULT * f->cfg.num_queues };
		c->isr = (struct uvirtio_cap_region){ true, FAKE_BAR, 0,
			0x68, FAKE_ISR_OFF, 4 };
		if (has_dev)
			c->device = (struct uvirtio_cap_region){ true,
				FAKE_BAR, 0, 0x78, FAKE_DEVICE_OFF,
				devcfg_len(f) };
		c->pci_cfg = (struct uvirtio_cap_region){ true, 0, 0, 0x88,
			0, 0 };
		c->notify_off_multiplier = FAKE_NOTIFY_MULT;
		msix_pos = 0x9c;
		cfg[0x88 + 1] = f->cfg.msix_vectors ? msix_pos : 0;
	}
	if (f->cfg.msix_vectors) {
		cfg[msix_pos] = 0x11;
		cfg[msix_pos + 1] = 0;
		put16(cfg + msix_pos + 2,
		      (uint16_t)((f->cfg.msix_vectors - 1) | 0x8000));
	}
	if (modern_iface(f) || f->cfg.msix_vectors) {
		put16(cfg + 0x06, 0x10);	/* capability list */
		cfg[0x34] = 0x40;
	}
}

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
	device_reset(f);
	build_pci(f);
	ret = uvirtio_backend_new(&fake_ops, f, &f->be);
	if (ret)
		goto err;
	ret = -pthread_create(&f->thread, NULL, device_thread, f);
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
		set_needs_reset(f);
		break;
	case UVIRTIO_FAKE_FAULT_REFUSE_FEATURES_OK:
		f->refuse_features_ok = true;
		break;
	case UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK:
		f->queue_reset_stuck = true;
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

UV_EXPORT void uvirtio_fake_set_capacity(struct uvirtio_fake *f,
					 uint64_t sectors)
{
	pthread_mutex_lock(&f->lock);
	if (sectors * 512 <= f->disk_len) {
		f->cfg.capacity = sectors;
		f->blkcfg.capacity = sectors;
	}
	f->generation++;
	raise_irq(f, f->msix_config, VIRTIO_PCI_ISR_CONFIG);
	pthread_mutex_unlock(&f->lock);
}
