// SPDX-License-Identifier: BSD-3-Clause
/*
 * ringbench - two-thread ring micro-benchmark of libuvirtio's split and
 * packed virtqueues.
 *
 *   ringbench [--packed] [--ring-size R] [--batch B] [--run-cycles N]
 *             [--driver-cpu C] [--device-cpu C] [--no-event-idx]
 *             [--in-order] [--publish] [--inline]
 *
 * The driver thread is libuvirtio itself (uvirtq_add / uvirtq_kick /
 * uvirtq_get_used, one 64-byte buffer per request, like the ringtest
 * "add_inbuf" loop): it keeps adding while there is room, kicks every B
 * requests and reaps whatever completed.  The device thread is a minimal
 * in-process device written here: it polls the ring for available
 * buffers and returns each one as used (split: used ring + used->idx;
 * packed: the descriptor's id/len/flags, in order).  Notifications are
 * suppressed in both directions (the device sets VRING_USED_F_NO_NOTIFY /
 * the packed device-event DISABLE flag and never interrupts; the queue is
 * a polling queue), which is what tools/virtio/ringtest does without
 * --sleep.  The device offers VIRTIO_RING_F_EVENT_IDX, as ringtest's
 * virtio_ring_0_9 uses it and as QEMU's devices do: the driver's kick
 * then reads avail_event, which this device never moves, instead of
 * used->flags, which shares a cache line with used->idx
 * (--no-event-idx: without it).  --in-order also offers (and requires)
 * VIRTIO_F_IN_ORDER: the device already returns every buffer in order
 * with one used entry each, so it measures the library's in-order path.
 *
 * The library reaches the ring through a tiny identity-mapped backend
 * (IOVA == CPU address) that presents a modern virtio PCI function with
 * one queue: the common configuration structure is emulated in
 * bar_read/bar_write, a doorbell write is counted and dropped.
 *
 * Prints: "ring libuvirtio-split|packed size=R batch=B ops=N ns_per_op=X
 * doorbells=D", and " in_order=1" with --in-order.
 *
 * --publish: every B requests the driver calls uvirtq_publish() (a
 * store-release of the split avail index; nothing for packed, whose
 * uvirtq_add() publishes) instead of uvirtq_kick() (that store, a full
 * fence and a load of the device's suppression state); the library
 * then decides on a notification once per ring's worth only.  This is
 * what ringtest does without --sleep, whose guest publishes each add and
 * never kicks, and what a driver of a polling device (a vhost-user
 * back-end given no kick fd) needs.  Prints " publish=1".
 *
 * --inline: no device thread; the device does its work in the driver's
 * thread right after each kick, and the time is that thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID): the library's own cost per request with
 * no cache line crossing cores, and time the thread was scheduled out
 * not counted, so figures on a loaded machine compare.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include <uvirtio/backend.h>
#include <uvirtio/device.h>
#include <uvirtio/virtqueue.h>

#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED 34
#endif

#define BAR_COMMON	0x0000
#define BAR_ISR		0x1000
#define BAR_NOTIFY	0x2000
#define BAR_LEN		0x3000

/* ---- the minimal backend ---------------------------------------------- */

struct mini {
	uint64_t features;
	uint16_t qmax;
	uint32_t dfsel, gfsel;
	uint64_t drv_features;
	uint8_t status;
	uint16_t q_size, q_msix, cfg_msix, q_enable;
	uint64_t q_desc, q_driver, q_device;
	uint64_t doorbells;
};

static int mini_cfg_read(void *priv, uint32_t off, void *buf, unsigned int width)
{
	uint32_t v = 0;

	(void)priv;
	if (off == 0)
		v = 0x1af4 | (0x1040u + 31u) << 16;	/* vendor, device 31 */
	else if (off == 2)
		v = 0x1040 + 31;
	memcpy(buf, &v, width);
	return 0;
}

static int mini_cfg_write(void *priv, uint32_t off, const void *buf,
			  unsigned int width)
{
	(void)priv; (void)off; (void)buf; (void)width;
	return 0;
}

static int mini_bar_read(void *priv, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t *val)
{
	struct mini *m = priv;
	uint64_t v = 0;

	(void)width;
	if (bar != 0)
		return -EINVAL;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: v = m->dfsel; break;
	case VIRTIO_PCI_COMMON_DF:
		v = m->dfsel < 2 ? (uint32_t)(m->features >> (32 * m->dfsel)) : 0;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT: v = m->gfsel; break;
	case VIRTIO_PCI_COMMON_GF:
		v = m->gfsel < 2 ? (uint32_t)(m->drv_features >> (32 * m->gfsel)) : 0;
		break;
	case VIRTIO_PCI_COMMON_MSIX: v = m->cfg_msix; break;
	case VIRTIO_PCI_COMMON_NUMQ: v = 1; break;
	case VIRTIO_PCI_COMMON_STATUS: v = m->status; break;
	case VIRTIO_PCI_COMMON_CFGGENERATION: v = 0; break;
	case VIRTIO_PCI_COMMON_Q_SELECT: v = 0; break;
	case VIRTIO_PCI_COMMON_Q_SIZE: v = m->q_size; break;
	case VIRTIO_PCI_COMMON_Q_MSIX: v = m->q_msix; break;
	case VIRTIO_PCI_COMMON_Q_ENABLE: v = m->q_enable; break;
	case VIRTIO_PCI_COMMON_Q_NOFF: v = 0; break;
	case BAR_ISR: v = 0; break;
	default: v = 0; break;
	}
	*val = v;
	return 0;
}

static void set64(uint64_t *dst, bool hi, uint64_t v)
{
	if (hi)
		*dst = (*dst & 0xffffffffull) | v << 32;
	else
		*dst = (*dst & ~0xffffffffull) | (v & 0xffffffffull);
}

static int mini_bar_write(void *priv, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t v)
{
	struct mini *m = priv;

	(void)width;
	if (bar != 0)
		return -EINVAL;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: m->dfsel = (uint32_t)v; break;
	case VIRTIO_PCI_COMMON_GFSELECT: m->gfsel = (uint32_t)v; break;
	case VIRTIO_PCI_COMMON_GF:
		if (m->gfsel < 2)
			set64(&m->drv_features, m->gfsel, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX: m->cfg_msix = VIRTIO_MSI_NO_VECTOR; break;
	case VIRTIO_PCI_COMMON_STATUS:
		m->status = (uint8_t)v;
		if (v == 0) {
			m->q_size = m->qmax;
			m->q_enable = 0;
			m->drv_features = 0;
		}
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE: m->q_size = (uint16_t)v; break;
	case VIRTIO_PCI_COMMON_Q_MSIX: m->q_msix = VIRTIO_MSI_NO_VECTOR; break;
	case VIRTIO_PCI_COMMON_Q_ENABLE: m->q_enable = (uint16_t)v; break;
	case VIRTIO_PCI_COMMON_Q_DESCLO: set64(&m->q_desc, false, v); break;
	case VIRTIO_PCI_COMMON_Q_DESCHI: set64(&m->q_desc, true, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: set64(&m->q_driver, false, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: set64(&m->q_driver, true, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDLO: set64(&m->q_device, false, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDHI: set64(&m->q_device, true, v); break;
	default:
		if (off >= BAR_NOTIFY && off < BAR_NOTIFY + 4)
			m->doorbells++;
		break;
	}
	return 0;
}

static int mini_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	size_t n = (len + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, n);

	(void)priv;
	if (!p)
		return -ENOMEM;
	memset(p, 0, n);
	out->vaddr = p;
	out->iova = (uint64_t)(uintptr_t)p;
	out->len = n;
	out->handle = 0;
	return 0;
}

static void mini_dma_free(void *priv, struct uvirtio_dma *dma)
{
	(void)priv;
	free(dma->vaddr);
}

static int mini_dma_map(void *priv, void *vaddr, size_t len, uint64_t *handle,
			struct uvirtio_iova_seg **segs, unsigned int *nsegs)
{
	struct uvirtio_iova_seg *s = malloc(sizeof(*s));

	(void)priv;
	if (!s)
		return -ENOMEM;
	s->vaddr = vaddr;
	s->iova = (uint64_t)(uintptr_t)vaddr;
	s->len = len;
	*segs = s;
	*nsegs = 1;
	*handle = 0;
	return 0;
}

static int mini_dma_unmap(void *priv, uint64_t handle)
{
	(void)priv; (void)handle;
	return 0;
}

static int mini_get_caps(void *priv, struct uvirtio_caps *c)
{
	(void)priv;
	memset(c, 0, sizeof(*c));
	c->common = (struct uvirtio_cap_region){ true, 0, 0, 0, BAR_COMMON, 0x40 };
	c->isr = (struct uvirtio_cap_region){ true, 0, 0, 0, BAR_ISR, 4 };
	c->notify = (struct uvirtio_cap_region){ true, 0, 0, 0, BAR_NOTIFY, 4 };
	c->notify_off_multiplier = 0;
	return 0;
}

static int mini_iommu_mode(void *priv)
{
	(void)priv;
	return UVIRTIO_BE_IOMMU_NONE;
}

static const struct uvirtio_backend_ops mini_ops = {
	.cfg_read = mini_cfg_read,
	.cfg_write = mini_cfg_write,
	.bar_read = mini_bar_read,
	.bar_write = mini_bar_write,
	.dma_alloc = mini_dma_alloc,
	.dma_free = mini_dma_free,
	.dma_map = mini_dma_map,
	.dma_unmap = mini_dma_unmap,
	.get_caps = mini_get_caps,
	.iommu_mode = mini_iommu_mode,
};

/* ---- the device thread ------------------------------------------------ */

struct devctx {
	struct mini *m;
	bool packed;
	uint16_t size;
	uint64_t ops;
	int cpu;
	atomic_int ready;
	bool inline_dev;	/* --inline: no thread, stepped at each kick */
	bool publish;		/* --publish: uvirtq_publish(), not a kick */
	/* device-side ring state */
	uint16_t last_avail, used_idx;	/* split */
	uint16_t idx;			/* packed */
	bool wrap;
};

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Suppress notifications; the device is then ready. */
static void device_init(struct devctx *d)
{
	if (d->packed) {
		struct vring_packed_desc_event *dev_ev =
			(void *)(uintptr_t)d->m->q_device;

		atomic_store_explicit((_Atomic uint16_t *)&dev_ev->flags,
				      VRING_PACKED_EVENT_FLAG_DISABLE,
				      memory_order_relaxed);
		d->wrap = true;
	} else {
		struct vring_used *used = (void *)(uintptr_t)d->m->q_device;

		atomic_store_explicit((_Atomic uint16_t *)&used->flags,
				      VRING_USED_F_NO_NOTIFY, memory_order_relaxed);
	}
	atomic_thread_fence(memory_order_seq_cst);
	atomic_store(&d->ready, 1);
}

/* Return every buffer made available so far; how many there were. */
static unsigned int split_step(struct devctx *d)
{
	struct vring_desc *desc = (void *)(uintptr_t)d->m->q_desc;
	struct vring_avail *avail = (void *)(uintptr_t)d->m->q_driver;
	struct vring_used *used = (void *)(uintptr_t)d->m->q_device;
	uint16_t mask = d->size - 1;
	uint16_t aidx = atomic_load_explicit((_Atomic uint16_t *)&avail->idx,
					     memory_order_acquire);
	unsigned int n = 0;

	while (d->last_avail != aidx) {
		uint16_t head = avail->ring[d->last_avail & mask];

		/* Touch the descriptor as a device would (address, length). */
		(void)*(volatile __typeof__(desc[head].addr) *)&desc[head].addr;
		used->ring[d->used_idx & mask].id = head;
		used->ring[d->used_idx & mask].len = 0;
		d->last_avail++;
		d->used_idx++;
		atomic_store_explicit((_Atomic uint16_t *)&used->idx,
				      d->used_idx, memory_order_release);
		n++;
	}
	return n;
}

/* The same for the packed ring: each descriptor used in its own slot. */
static unsigned int packed_step(struct devctx *d)
{
	struct vring_packed_desc *ring = (void *)(uintptr_t)d->m->q_desc;
	const uint16_t avail_bit = 1u << VRING_PACKED_DESC_F_AVAIL;
	const uint16_t used_bit = 1u << VRING_PACKED_DESC_F_USED;
	unsigned int n = 0;

	for (;;) {
		struct vring_packed_desc *ds = &ring[d->idx];
		uint16_t f = atomic_load_explicit((_Atomic uint16_t *)&ds->flags,
						  memory_order_acquire);
		bool a = f & avail_bit, u = f & used_bit;

		if (a != d->wrap || u == d->wrap)
			return n;
		/* One descriptor per request, processed in order: the used
		 * element goes into the slot just consumed. */
		(void)*(volatile __typeof__(ds->addr) *)&ds->addr;
		ds->len = 0;
		atomic_store_explicit((_Atomic uint16_t *)&ds->flags,
				      d->wrap ? (avail_bit | used_bit) : 0,
				      memory_order_release);
		if (++d->idx == d->size) {
			d->idx = 0;
			d->wrap = !d->wrap;
		}
		n++;
	}
}

static unsigned int device_step(struct devctx *d)
{
	return d->packed ? packed_step(d) : split_step(d);
}

static void *device_thread(void *arg)
{
	struct devctx *d = arg;
	uint64_t done = 0;

	pin(d->cpu);
	device_init(d);
	while (done < d->ops) {
		unsigned int n = device_step(d);

		if (!n)
			relax();
		done += n;
	}
	return NULL;
}

/* Kick; an --inline device then does its work at once, in this thread. */
static void kick(struct uvirtq *vq, struct devctx *d)
{
	if (d->publish)
		uvirtq_publish(vq);
	else
		uvirtq_kick(vq);
	if (d->inline_dev)
		device_step(d);
}

/* ---- main ------------------------------------------------------------- */

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "packed", no_argument, NULL, 'p' },
		{ "ring-size", required_argument, NULL, 'R' },
		{ "batch", required_argument, NULL, 'b' },
		{ "run-cycles", required_argument, NULL, 'C' },
		{ "driver-cpu", required_argument, NULL, 'G' },
		{ "device-cpu", required_argument, NULL, 'H' },
		{ "no-event-idx", no_argument, NULL, 'E' },
		{ "in-order", no_argument, NULL, 'I' },
		{ "inline", no_argument, NULL, 'N' },
		{ "publish", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct mini m = { .qmax = 256 };
	struct devctx d = { .m = &m, .cpu = 0 };
	struct uvirtio_dev_params dp = { .transport = UVIRTIO_TRANSPORT_MODERN };
	struct uvirtq_params qp = { .use_interrupts = false, .cpu = -1 };
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtq *vq;
	struct uvirtio_dma bufmem;
	unsigned int batch = 1, tokick;
	uint64_t ops = 10000000, started = 0, completed = 0, t0, t1;
	int drv_cpu = 1, c, ret;
	bool event_idx = true, in_order = false;
	clockid_t clk = CLOCK_MONOTONIC;
	pthread_t th;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': d.packed = true; break;
		case 'R': m.qmax = (uint16_t)atoi(optarg); break;
		case 'b': batch = (unsigned int)atoi(optarg); break;
		case 'C': ops = strtoull(optarg, NULL, 0); break;
		case 'G': drv_cpu = atoi(optarg); break;
		case 'H': d.cpu = atoi(optarg); break;
		case 'E': event_idx = false; break;
		case 'I': in_order = true; break;
		case 'N': d.inline_dev = true; break;
		case 'P': d.publish = true; break;
		default:
			fprintf(stderr, "usage: ringbench [--packed] [--ring-size R] "
				"[--batch B] [--run-cycles N] [--driver-cpu C] "
				"[--device-cpu C] [--no-event-idx] [--in-order] "
				"[--inline] [--publish]\n");
			return 2;
		}
	}
	if (!batch || !m.qmax || (m.qmax & (m.qmax - 1)) || !ops) {
		fprintf(stderr, "ringbench: bad parameters\n");
		return 2;
	}
	m.features = 1ull << VIRTIO_F_VERSION_1;
	if (d.packed)
		m.features |= 1ull << VIRTIO_F_RING_PACKED;
	if (event_idx)
		m.features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (in_order)
		m.features |= 1ull << VIRTIO_F_IN_ORDER;
	m.q_size = m.qmax;
	dp.wanted = m.features;
	dp.required = m.features;

	if ((ret = uvirtio_backend_new(&mini_ops, &m, &be)) ||
	    (ret = uvirtio_dev_open(be, &dp, &dev))) {
		fprintf(stderr, "ringbench: open: %s\n", strerror(-ret));
		return 1;
	}
	qp.size = m.qmax;
	if ((ret = uvirtq_create(dev, 0, &qp, &vq)) ||
	    (ret = uvirtio_dev_driver_ok(dev)) ||
	    (ret = uvirtio_backend_dma_alloc(be, 4096, &bufmem))) {
		fprintf(stderr, "ringbench: queue: %s\n", strerror(-ret));
		return 1;
	}
	if (uvirtq_is_packed(vq) != d.packed) {
		fprintf(stderr, "ringbench: ring format not negotiated\n");
		return 1;
	}
	d.size = (uint16_t)uvirtq_size(vq);
	d.ops = ops;
	pin(drv_cpu);
	if (d.inline_dev) {
		device_init(&d);
		clk = CLOCK_THREAD_CPUTIME_ID;
	} else if (pthread_create(&th, NULL, device_thread, &d)) {
		fprintf(stderr, "ringbench: pthread_create failed\n");
		return 1;
	}

	while (!atomic_load(&d.ready))
		relax();
	/* The driver loop: the same shape as ringtest's run_guest(). */
	t0 = now_ns(clk);
	tokick = batch;
	while (completed < ops) {
		struct uvirtq_buf b = { bufmem.iova, 64 };
		void *cookie;
		uint32_t len;
		bool progress = false;

		if (started < ops) {
			ret = uvirtq_add(vq, NULL, 0, &b, 1, (void *)(uintptr_t)(started + 1));
			if (ret == 0) {
				started++;
				progress = true;
				if (!--tokick) {
					tokick = batch;
					kick(vq, &d);
				}
			} else if (ret != -EAGAIN) {
				fprintf(stderr, "ringbench: add: %s\n", strerror(-ret));
				return 1;
			} else if (tokick != batch) {
				/* Full before a batch completed: publish what we have. */
				tokick = batch;
				kick(vq, &d);
			}
		}
		ret = uvirtq_get_used(vq, &cookie, &len);
		if (ret < 0) {
			fprintf(stderr, "ringbench: get_used: %s\n", strerror(-ret));
			return 1;
		}
		if (ret == 1) {
			completed++;
			progress = true;
		}
		if (!progress)
			relax();
		if (started == ops && tokick != batch) {
			tokick = batch;
			kick(vq, &d);
		}
	}
	t1 = now_ns(clk);
	if (!d.inline_dev)
		pthread_join(th, NULL);
	printf("ring libuvirtio-%s size=%u batch=%u ops=%llu ns_per_op=%.2f doorbells=%llu%s%s%s\n",
	       d.packed ? "packed" : "split", d.size, batch,
	       (unsigned long long)ops, (double)(t1 - t0) / (double)ops,
	       (unsigned long long)m.doorbells, in_order ? " in_order=1" : "",
	       d.inline_dev ? " inline=1" : "", d.publish ? " publish=1" : "");
	uvirtio_backend_dma_free(be, &bufmem);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_close(be);
	return 0;
}
