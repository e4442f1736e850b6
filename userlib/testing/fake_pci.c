// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake_pci.c - the test device's PCI side: config space and its virtio
 * capabilities, the modern common config, device config, doorbells and
 * the BAR access dispatch (modern BAR 4, legacy BAR 0).
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

/* ---- device config --------------------------------------------------- */

uint32_t fake_devcfg_len(struct uvirtio_fake *f)
{
	return f->cfg.device_type == VIRTIO_ID_BLOCK ?
		sizeof(struct virtio_blk_config) : 0;
}

uint64_t fake_devcfg_read(struct uvirtio_fake *f, uint32_t off,
			    unsigned int width)
{
	uint64_t v = 0;

	if (off + width <= fake_devcfg_len(f))
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

void fake_devcfg_write(struct uvirtio_fake *f, uint32_t off,
			 unsigned int width, uint64_t val)
{
	/* Only the blk writeback byte is writable. */
	if (f->cfg.device_type == VIRTIO_ID_BLOCK && width == 1 &&
	    off == offsetof(struct virtio_blk_config, wce))
		f->blkcfg.wce = (uint8_t)val;
}

/* ---- common config --------------------------------------------------- */

struct fake_queue *fake_selq(struct uvirtio_fake *f)
{
	return f->queue_select < f->cfg.num_queues ?
		&f->queues[f->queue_select] : NULL;
}

uint64_t fake_offered(struct uvirtio_fake *f)
{
	return f->cfg.features;
}

static void write_status(struct uvirtio_fake *f, uint8_t v)
{
	if (!v) {
		fake_device_reset(f);
		f->st.last_status = 0;
		f->st.status_history = 0;
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(f->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		bool ok = !f->refuse_features_ok &&
			  !(f->driver_features & ~fake_offered(f)) &&
			  drv_has(f, VIRTIO_F_VERSION_1);

		if (!ok)
			v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	f->status = (uint8_t)(v | (f->status & VIRTIO_CONFIG_S_NEEDS_RESET));
	f->st.last_status = v;
	f->st.status_history |= v;
	f->st.driver_features = f->driver_features;
}

uint16_t fake_check_vector(struct uvirtio_fake *f, uint64_t v)
{
	return v < f->cfg.msix_vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

void fake_queue_enable(struct fake_queue *q)
{
	q->enabled = true;
	q->last_avail = q->used_idx = 0;
	q->p_avail = q->p_used = 0;
	q->p_avail_wrap = q->p_used_wrap = true;
	q->ino_desc = 0;
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
	struct fake_queue *q = fake_selq(f);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return f->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return f->dfselect < 2 ?
			(uint32_t)(fake_offered(f) >> (32 * f->dfselect)) : 0;
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
	case VIRTIO_PCI_COMMON_Q_NDATA:
		return q && (fake_offered(f) & (1ull << VIRTIO_F_NOTIF_CONFIG_DATA)) ?
			fake_notify_data(f->queue_select) : 0;
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
	struct fake_queue *q = fake_selq(f);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: f->dfselect = (uint32_t)v; return;
	case VIRTIO_PCI_COMMON_GFSELECT: f->gfselect = (uint32_t)v; return;
	case VIRTIO_PCI_COMMON_GF:
		if (f->gfselect == 0)
			set_lo(&f->driver_features, v);
		else if (f->gfselect == 1)
			set_hi(&f->driver_features, v);
		return;
	case VIRTIO_PCI_COMMON_MSIX: f->msix_config = fake_check_vector(f, v); return;
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
	case VIRTIO_PCI_COMMON_Q_MSIX: q->vector = fake_check_vector(f, v); break;
	case VIRTIO_PCI_COMMON_Q_ENABLE: if (v == 1) fake_queue_enable(q); break;
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
 * the ring.  With VIRTIO_F_NOTIF_CONFIG_DATA the queue is named by its
 * queue_notify_data instead of its index, in the low half or in the
 * whole 16-bit doorbell.
 */
static void check_notify_data(struct uvirtio_fake *f, uint64_t qidx,
			      unsigned int width, uint64_t val)
{
	bool nd = drv_has(f, 38), ncd = drv_has(f, VIRTIO_F_NOTIF_CONFIG_DATA);
	struct fake_queue *q;
	uint16_t data = (uint16_t)(val >> 16), vqn;
	bool ok;

	if ((!nd && !ncd) || qidx >= f->cfg.num_queues)
		return;
	vqn = ncd ? fake_notify_data((uint16_t)qidx) : (uint16_t)qidx;
	if (ncd)
		f->st.notif_config_data_seen++;
	if (nd)
		f->st.notify_data_seen++;
	q = &f->queues[qidx];
	if (width != (nd ? 4u : 2u) || (val & 0xffff) != vqn) {
		ok = false;
	} else if (!nd) {
		ok = true;
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

void fake_doorbell(struct uvirtio_fake *f, uint64_t qidx)
{
	f->st.doorbells++;
	if (qidx < f->cfg.num_queues) {
		f->queues[qidx].pending = true;
		pthread_cond_signal(&f->cond);
	}
}

/* ---- backend ops: registers ------------------------------------------ */

int fake_cfg_read(void *priv, uint32_t off, void *buf,
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

int fake_cfg_write(void *priv, uint32_t off, const void *buf,
			  unsigned int width)
{
	(void)priv; (void)buf;
	if (off + width > 256)
		return -EINVAL;
	return 0;	/* config space is read-only in the fake */
}

int fake_bar_read(void *priv, unsigned int bar, uint64_t off,
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
			v = fake_devcfg_read(f, (uint32_t)(off - FAKE_DEVICE_OFF),
					width);
		}
	} else if (bar == 0 && legacy_iface(f) && off < LEGACY_CFG_SPACE) {
		v = fake_legacy_read(f, off, width);
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&f->lock);
	if (width < 8)
		v &= (1ull << (8 * width)) - 1;
	*val = v;
	return ret;
}

int fake_bar_write(void *priv, unsigned int bar, uint64_t off,
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
			fake_devcfg_write(f, (uint32_t)(off - FAKE_DEVICE_OFF),
				     width, val);
		else if (off >= FAKE_NOTIFY_OFF &&
			 off < FAKE_NOTIFY_OFF +
			 (uint64_t)FAKE_NOTIFY_MULT * f->cfg.num_queues) {
			uint64_t qi = (off - FAKE_NOTIFY_OFF) / FAKE_NOTIFY_MULT;

			check_notify_data(f, qi, width, val);
			fake_doorbell(f, qi);
		}
	} else if (bar == 0 && legacy_iface(f) && off < LEGACY_CFG_SPACE) {
		fake_legacy_write(f, off, width, val);
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

void *fake_bar_ptr(void *priv, unsigned int bar, uint64_t off,
			  uint64_t len)
{
	(void)priv; (void)bar; (void)off; (void)len;
	return NULL;	/* every access traps */
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

void fake_build_pci(struct uvirtio_fake *f)
{
	struct uvirtio_caps *c = &f->caps;
	uint8_t *cfg = f->pcicfg;
	uint16_t devid;
	uint8_t msix_pos;
	bool has_dev = fake_devcfg_len(f) > 0;

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
				FAKE_BAR, FAKE_DEVICE_OFF, fake_devcfg_len(f));
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
				fake_devcfg_len(f) };
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
