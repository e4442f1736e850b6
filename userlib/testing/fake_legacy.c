// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake_legacy.c - the test device's legacy (virtio 0.9.5) I/O BAR: queue
 * PFN, selectors, status and ISR, MSI-X vectors, device config after them.
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

/* ---- legacy BAR0 ----------------------------------------------------- */

static uint32_t legacy_cfg_base(struct uvirtio_fake *f)
{
	return VIRTIO_PCI_CONFIG_OFF(f->cfg.msix_vectors > 0);
}

uint64_t fake_legacy_read(struct uvirtio_fake *f, uint64_t off,
			    unsigned int width)
{
	struct fake_queue *q = fake_selq(f);
	uint32_t base = legacy_cfg_base(f);
	uint64_t v;

	if (off >= base)
		return fake_devcfg_read(f, (uint32_t)(off - base), width);
	switch (off) {
	case VIRTIO_PCI_HOST_FEATURES: return (uint32_t)fake_offered(f);
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

void fake_legacy_write(struct uvirtio_fake *f, uint64_t off,
			 unsigned int width, uint64_t v)
{
	struct fake_queue *q = fake_selq(f);
	uint32_t base = legacy_cfg_base(f);

	if (off >= base) {
		fake_devcfg_write(f, (uint32_t)(off - base), width, v);
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
		fake_queue_enable(q);
		break;
	case VIRTIO_PCI_QUEUE_SEL: f->queue_select = (uint16_t)v; break;
	case VIRTIO_PCI_QUEUE_NOTIFY: fake_doorbell(f, v); break;
	case VIRTIO_PCI_STATUS:
		if (!v) {
			fake_device_reset(f);
			f->st.last_status = 0;
			f->st.status_history = 0;
		} else {
			f->status = (uint8_t)v;
			f->st.last_status = (uint8_t)v;
			f->st.status_history |= (uint8_t)v;
			f->st.driver_features = f->driver_features;
		}
		break;
	case VIRTIO_MSI_CONFIG_VECTOR: f->msix_config = fake_check_vector(f, v); break;
	case VIRTIO_MSI_QUEUE_VECTOR: if (q) q->vector = fake_check_vector(f, v); break;
	default: break;
	}
}
