// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_mmio.c - a virtio-mmio register file behind a small backend, and
 * the host tests of the "mmio" (version 2) and "mmio-legacy" (version 1)
 * transports that run on it: negotiation, queue programming, the
 * doorbell, config access, and the probe's error paths.
 *
 * The register file checks what the kernel module enforces too: 32-bit
 * accesses only below the device config at 0x100.  Its DMA memory is
 * plain heap memory at made-up low IOVAs (a legacy queue takes a 32-bit
 * page frame number; the register file never touches the rings).  It
 * reports one interrupt
 * vector, as the kmod backend does for a virtio-mmio device, but fails
 * every eventfd request: the library must poll with one vector.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "harness.h"

#define FM_QUEUES	2
#define FM_QUEUE_MAX	16
#define FM_MAGIC	0x74726976u

struct fm_queue {
	uint32_t num_max, num, ready, pfn, align;
	uint64_t desc, avail, used;
};

struct fake_mmio {
	uint32_t magic, version, device_id;
	uint64_t dev_features, drv_features;
	uint32_t dfsel, gfsel, qsel, status, guest_page, generation;
	bool refuse_features_ok;
	struct fm_queue q[FM_QUEUES];
	uint8_t config[0x100];
	unsigned int bad_accesses;	/* wrong width or outside the window */
	unsigned int notifies;
	uint32_t last_notify;
	uint64_t next_iova;
};

static void fm_reset(struct fake_mmio *m)
{
	unsigned int i;

	m->status = 0;
	m->drv_features = 0;
	for (i = 0; i < FM_QUEUES; i++) {
		m->q[i].ready = 0;
		m->q[i].pfn = 0;
	}
}

static int fm_read(void *priv, unsigned int bar, uint64_t off,
		   unsigned int width, uint64_t *val)
{
	struct fake_mmio *m = priv;
	struct fm_queue *q = m->qsel < FM_QUEUES ? &m->q[m->qsel] : NULL;
	uint32_t v = 0;

	if (bar || off + width > 0x200 || (off < 0x100 && width != 4)) {
		m->bad_accesses++;
		return -EINVAL;
	}
	if (off >= VIRTIO_MMIO_CONFIG) {
		memcpy(&v, m->config + off - VIRTIO_MMIO_CONFIG, width);
		*val = v;
		return 0;
	}
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: v = m->magic; break;
	case VIRTIO_MMIO_VERSION: v = m->version; break;
	case VIRTIO_MMIO_DEVICE_ID: v = m->device_id; break;
	case VIRTIO_MMIO_VENDOR_ID: v = 0x554d4551; break;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		v = m->dfsel > 1 ? 0 : (uint32_t)(m->dev_features >> (32 * m->dfsel));
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: v = q ? q->num_max : 0; break;
	case VIRTIO_MMIO_QUEUE_READY: v = q ? q->ready : 0; break;
	case VIRTIO_MMIO_QUEUE_PFN: v = q ? q->pfn : 0; break;
	case VIRTIO_MMIO_STATUS: v = m->status; break;
	case VIRTIO_MMIO_CONFIG_GENERATION: v = m->generation; break;
	default: break;
	}
	*val = v;
	return 0;
}

static void fm_set64(uint64_t *r, bool high, uint32_t v)
{
	*r = high ? (*r & 0xffffffffu) | ((uint64_t)v << 32) :
		    (*r & ~0xffffffffull) | v;
}

static int fm_write(void *priv, unsigned int bar, uint64_t off,
		    unsigned int width, uint64_t val)
{
	struct fake_mmio *m = priv;
	struct fm_queue *q = m->qsel < FM_QUEUES ? &m->q[m->qsel] : NULL;
	uint32_t v = (uint32_t)val;

	if (bar || off + width > 0x200 || (off < 0x100 && width != 4)) {
		m->bad_accesses++;
		return -EINVAL;
	}
	if (off >= VIRTIO_MMIO_CONFIG) {
		memcpy(m->config + off - VIRTIO_MMIO_CONFIG, &v, width);
		return 0;
	}
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: m->dfsel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: m->gfsel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (m->gfsel <= 1)
			fm_set64(&m->drv_features, m->gfsel, v);
		break;
	case VIRTIO_MMIO_GUEST_PAGE_SIZE: m->guest_page = v; break;
	case VIRTIO_MMIO_QUEUE_SEL: m->qsel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM: if (q) q->num = v; break;
	case VIRTIO_MMIO_QUEUE_ALIGN: if (q) q->align = v; break;
	case VIRTIO_MMIO_QUEUE_PFN: if (q) q->pfn = v; break;
	case VIRTIO_MMIO_QUEUE_READY: if (q) q->ready = v; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if (q) fm_set64(&q->desc, false, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if (q) fm_set64(&q->desc, true, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: if (q) fm_set64(&q->avail, false, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: if (q) fm_set64(&q->avail, true, v); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: if (q) fm_set64(&q->used, false, v); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: if (q) fm_set64(&q->used, true, v); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		m->notifies++;
		m->last_notify = v;
		break;
	case VIRTIO_MMIO_STATUS:
		if (!v) {
			fm_reset(m);
			break;
		}
		if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && m->refuse_features_ok)
			v &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
		m->status = v;
		break;
	default:
		break;
	}
	return 0;
}

static int fm_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	size_t sz = (len + 4095) & ~(size_t)4095;
	struct fake_mmio *m = priv;
	void *p = aligned_alloc(4096, sz);

	if (!p)
		return -ENOMEM;
	memset(p, 0, sz);
	out->vaddr = p;
	out->iova = m->next_iova;
	m->next_iova += sz;
	out->len = sz;
	out->handle = 0;
	return 0;
}

static void fm_dma_free(void *priv, struct uvirtio_dma *dma)
{
	(void)priv;
	free(dma->vaddr);
}

static int fm_num_vectors(void *priv)
{
	(void)priv;
	return 1;
}

static int fm_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	(void)priv; (void)vector; (void)cpu;
	return -EINVAL;		/* the library must not ask: it polls */
}

static void fm_close(void *priv)
{
	(void)priv;
}

static const struct uvirtio_backend_ops fm_ops = {
	.bar_read = fm_read,
	.bar_write = fm_write,
	.dma_alloc = fm_dma_alloc,
	.dma_free = fm_dma_free,
	.irq_eventfd = fm_irq_eventfd,
	.num_vectors = fm_num_vectors,
	.close = fm_close,
};

static void fm_init(struct fake_mmio *m, uint32_t version)
{
	memset(m, 0, sizeof(*m));
	m->magic = FM_MAGIC;
	m->version = version;
	m->device_id = VIRTIO_ID_RNG;
	m->dev_features = 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (version == 2)
		m->dev_features |= 1ull << VIRTIO_F_VERSION_1;
	m->q[0].num_max = FM_QUEUE_MAX;
	m->generation = 3;
	m->config[0] = 0x5a;
	m->next_iova = 0x100000;
}

/* Open the device on the register file; the errno of uvirtio_dev_open(). */
static int fm_open(struct fake_mmio *m, struct uvirtio_backend **be,
		   struct uvirtio_dev **dev)
{
	struct uvirtio_dev_params dp = {
		.wanted = 1ull << VIRTIO_RING_F_EVENT_IDX,
	};
	int ret = uvirtio_backend_new(&fm_ops, m, be);

	if (ret)
		return ret;
	ret = uvirtio_dev_open(*be, &dp, dev);
	if (ret) {
		uvirtio_backend_close(*be);
		*be = NULL;
	}
	return ret;
}

/* One queue, one buffer, one kick: the doorbell is a 32-bit write. */
static int fm_queue_and_kick(struct fake_mmio *m, struct uvirtio_dev *dev,
			     struct uvirtio_backend *be, struct uvirtq **vqp,
			     struct uvirtio_dma *buf)
{
	struct uvirtq_params vp = { .size = 8, .cpu = -1 };
	struct uvirtq_buf b;
	int ret;

	CHECK_EQ(uvirtio_dev_num_queues(dev), 1);
	CHECK_EQ(uvirtq_create(dev, 1, &vp, vqp), -ENODEV);
	vp.size = 32;		/* above QueueNumMax */
	CHECK_EQ(uvirtq_create(dev, 0, &vp, vqp), -EINVAL);
	vp.size = 8;
	vp.use_interrupts = true;	/* one vector: no queue vector */
	CHECK(uvirtq_create(dev, 0, &vp, vqp) < 0);
	vp.use_interrupts = false;
	CHECK_EQ(uvirtq_create(dev, 0, &vp, vqp), 0);
	CHECK_EQ(m->q[0].num, 8);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK(m->status & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, buf), 0);
	b = (struct uvirtq_buf){ buf->iova, 64 };
	CHECK_EQ(uvirtq_add(*vqp, NULL, 0, &b, 1, buf), 0);
	ret = uvirtq_kick(*vqp);
	CHECK(ret >= 0);
	CHECK_EQ(m->notifies, 1);
	CHECK_EQ(m->last_notify, 0);
	return PASS;
}

static int t_mmio_v2(void)
{
	struct fake_mmio m;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma buf;
	struct uvirtq *vq = NULL;
	uint8_t cfg;

	fm_init(&m, 2);
	CHECK_EQ(fm_open(&m, &be, &dev), 0);
	CHECK(!strcmp(uvirtio_dev_transport_name(dev), "mmio"));
	CHECK(!uvirtio_dev_is_legacy(dev));
	CHECK_EQ(uvirtio_dev_device_type(dev), VIRTIO_ID_RNG);
	CHECK(uvirtio_dev_has_feature(dev, VIRTIO_F_VERSION_1));
	CHECK(uvirtio_dev_has_feature(dev, VIRTIO_RING_F_EVENT_IDX));
	CHECK_EQ(m.drv_features, m.dev_features);
	CHECK(m.status & VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK_EQ(uvirtio_dev_num_vectors(dev), 1);
	CHECK_EQ(uvirtio_dev_read_config(dev, 0, &cfg, 1), 0);
	CHECK_EQ(cfg, 0x5a);
	CHECK_EQ(fm_queue_and_kick(&m, dev, be, &vq, &buf), PASS);
	/* The split ring, programmed address by address. */
	CHECK_EQ(m.q[0].ready, 1);
	CHECK(m.q[0].desc != 0);
	CHECK_EQ(m.q[0].avail, m.q[0].desc + 16 * 8);
	CHECK(m.q[0].used >= m.q[0].avail + 6 + 2 * 8);
	CHECK_EQ(m.q[0].used % 4, 0);
	CHECK_EQ(m.q[0].pfn, 0);
	CHECK_EQ(m.bad_accesses, 0);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &buf);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_mmio_v1(void)
{
	struct fake_mmio m;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma buf;
	struct uvirtq *vq = NULL;

	fm_init(&m, 1);
	/* A legacy device has no high feature word: bit 32 is ignored. */
	m.dev_features |= 1ull << VIRTIO_F_VERSION_1;
	CHECK_EQ(fm_open(&m, &be, &dev), 0);
	CHECK(!strcmp(uvirtio_dev_transport_name(dev), "mmio-legacy"));
	CHECK(uvirtio_dev_is_legacy(dev));
	CHECK(!uvirtio_dev_has_feature(dev, VIRTIO_F_VERSION_1));
	CHECK(uvirtio_dev_has_feature(dev, VIRTIO_RING_F_EVENT_IDX));
	CHECK_EQ(m.drv_features >> 32, 0);
	CHECK(!(m.status & VIRTIO_CONFIG_S_FEATURES_OK));
	CHECK_EQ(fm_queue_and_kick(&m, dev, be, &vq, &buf), PASS);
	/* The legacy layout: page size, alignment and a page frame number. */
	CHECK_EQ(m.guest_page, 4096);
	CHECK_EQ(m.q[0].align, 4096);
	CHECK(m.q[0].pfn != 0);
	CHECK_EQ(m.q[0].desc, 0);
	CHECK_EQ(m.q[0].ready, 0);
	CHECK_EQ(m.bad_accesses, 0);
	uvirtio_dev_close(dev);
	/* Closing resets the device: the legacy queue is gone. */
	CHECK_EQ(m.q[0].pfn, 0);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &buf);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_mmio_probe_errors(void)
{
	struct fake_mmio m;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dev_params dp = { .transport = UVIRTIO_TRANSPORT_MODERN };

	fm_init(&m, 2);
	m.magic = 0x12345678;
	CHECK_EQ(fm_open(&m, &be, &dev), -ENODEV);
	fm_init(&m, 3);
	CHECK_EQ(fm_open(&m, &be, &dev), -EPROTONOSUPPORT);
	fm_init(&m, 2);
	m.device_id = 0;	/* a placeholder window */
	CHECK_EQ(fm_open(&m, &be, &dev), -ENODEV);
	fm_init(&m, 1);
	m.device_id = 0;
	CHECK_EQ(fm_open(&m, &be, &dev), -ENODEV);
	/* The PCI transports do not take an MMIO window. */
	fm_init(&m, 2);
	CHECK_EQ(uvirtio_backend_new(&fm_ops, &m, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), -ENODEV);
	uvirtio_backend_close(be);
	CHECK_EQ(m.bad_accesses, 0);
	return PASS;
}

static int t_mmio_refuse_features_ok(void)
{
	struct fake_mmio m;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;

	fm_init(&m, 2);
	m.refuse_features_ok = true;
	CHECK_EQ(fm_open(&m, &be, &dev), -ENOTSUP);
	CHECK(m.status & VIRTIO_CONFIG_S_FAILED);
	CHECK(!(m.status & VIRTIO_CONFIG_S_DRIVER_OK));
	/* A v2 device must offer VERSION_1. */
	fm_init(&m, 2);
	m.dev_features &= ~(1ull << VIRTIO_F_VERSION_1);
	CHECK(fm_open(&m, &be, &dev) < 0);
	CHECK_EQ(m.bad_accesses, 0);
	return PASS;
}

static const struct tcase cases[] = {
	{ "mmio_v2", t_mmio_v2 },
	{ "mmio_v1", t_mmio_v1 },
	{ "mmio_probe_errors", t_mmio_probe_errors },
	{ "mmio_refuse_features_ok", t_mmio_refuse_features_ok },
};

int main(int argc, char **argv)
{
	return harness_main("mmio", cases, sizeof(cases) / sizeof(cases[0]),
			    argc, argv);
}
