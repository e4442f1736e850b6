// SPDX-License-Identifier: BSD-3-Clause
/*
 * blk.c - virtio-blk driver: async submit/reap per queue plus synchronous
 * helpers.  Request header, discard range, id buffer and status byte of
 * each request slot live in one driver-owned DMA area per queue.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/blk.h>
#include <uvirtio/virtqueue.h>

#include "util.h"

#define SLOT_SIZE	64
#define SLOT_HDR	0
#define SLOT_RANGE	16
#define SLOT_ID		32
#define SLOT_STATUS	56
#define MAX_INDIRECT	256

/* Data ranges remembered per request (more: any unmap counts). */
#define REQ_RANGES	4

struct blk_req {
	void *user_data;
	char *id_dst;
	bool in_use;
	bool restored;	/* issued by the previous owner (keep-alive) */
	/* a bounced read or write: its run in the pool, the caller's iovs */
	bool bounced;
	bool bounce_read;
	uint32_t b_first, b_pages;
	struct iovec *b_iov;
	int b_iovcnt;
	/*
	 * uvirtio_backend_unmap_gen() when the request was built, and its data ranges:
	 * if one of them is unmapped before the completion, the device's
	 * transfer may have been stopped by the IOMMU, and the request
	 * fails with -EFAULT even if the device says it succeeded.
	 */
	uint64_t gen;
	unsigned int nranges;	/* REQ_RANGES + 1: too many to keep */
	struct {
		uintptr_t va;
		uint64_t len;
	} range[REQ_RANGES];
};

/*
 * The queue's bounce pool: library memory that stands in for caller
 * memory that was never registered (uvirtio_blk_q_set_bounce()).  One
 * DMA allocation, handed out in runs of pages, first fit; allocated at
 * the first request that needs it.
 */
struct bounce_pool {
	struct uvirtio_dma dma;		/* dma.vaddr NULL: not allocated */
	size_t size;			/* 0: bouncing forbidden */
	uint8_t *used;			/* one byte per page */
	uint32_t npages, inuse;
};

struct uvirtio_blk_queue {
	struct uvirtio_blk *blk;
	struct uvirtq *vq;
	struct bounce_pool bp;
	struct uvirtio_blk_q_stats stats;
	struct uvirtio_dma area;
	struct blk_req *reqs;
	uint16_t *free_slots;
	unsigned int nfree, nslots;
	unsigned int unsubmitted;
	struct uvirtq_buf *bufs;
	unsigned int max_bufs;
	bool poll;
	/* keep-alive: user_data per slot in the state buffer, or NULL */
	uint64_t *ka_slots;
	unsigned int restoring;	/* previous owner's requests still out */
	/* interrupt mode: uvirtio_blk_q_set_wait() */
	uint64_t spin_ns;
	unsigned int wait_flags;
	int irq_cpu;		/* where the interrupt was steered, -1 */
	int epfd;		/* UVIRTIO_BLK_WAIT_EPOLL, else -1 */
};

struct blk_buf {
	struct uvirtio_dma dma;
	struct blk_buf *next;
};

struct uvirtio_blk {
	struct uvirtio_dev *dev;
	struct uvirtio_blk_info info;
	unsigned int nq;
	struct uvirtio_blk_queue *queues;
	struct blk_buf *bufs;
	uint32_t data_seg_max;	/* data descriptors per request */
	struct uvirtio_dma ka_state;	/* keep-alive state, or vaddr NULL */
	size_t ka_user_off, ka_user_len;
	enum uvirtio_dev_irq_mode irq_mode;	/* what the queues use */
};

static const uint64_t blk_wanted =
	(1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
	(1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
	(1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_MQ) |
	(1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);

static int read_cfg(struct uvirtio_blk *blk, struct virtio_blk_config *cfg)
{
	uint32_t len = uvirtio_dev_config_len(blk->dev);

	memset(cfg, 0, sizeof(*cfg));
	if (len > sizeof(*cfg))
		len = sizeof(*cfg);
	if (len < offsetof(struct virtio_blk_config, geometry))
		return -ENODEV;
	return uvirtio_dev_read_config(blk->dev, 0, cfg, len);
}

/* What the config says, into blk->info (not the queue-derived limits). */
static int fill_info(struct uvirtio_blk *blk,
		     const struct virtio_blk_config *cfg)
{
	struct uvirtio_blk_info *in = &blk->info;

	in->features = uvirtio_dev_features(blk->dev);
	in->capacity = cfg->capacity * 512;
	in->blk_size = 512;
	if (uvirtio_dev_has_feature(blk->dev, VIRTIO_BLK_F_BLK_SIZE) &&
	    cfg->blk_size >= 512 && cfg->blk_size <= 65536 &&
	    !(cfg->blk_size & (cfg->blk_size - 1)))
		in->blk_size = cfg->blk_size;
	in->size_max = uvirtio_dev_has_feature(blk->dev,
			VIRTIO_BLK_F_SIZE_MAX) ? cfg->size_max : 0;
	if (in->size_max && in->size_max < 512)
		return -ENODEV;	/* cannot express a single sector */
	blk->data_seg_max = MAX_INDIRECT - 3;
	if (uvirtio_dev_has_feature(blk->dev, VIRTIO_BLK_F_SEG_MAX) &&
	    cfg->seg_max)
		blk->data_seg_max = UV_MIN(cfg->seg_max, blk->data_seg_max);
	in->read_only = uvirtio_dev_has_feature(blk->dev, VIRTIO_BLK_F_RO);
	in->flush = uvirtio_dev_has_feature(blk->dev, VIRTIO_BLK_F_FLUSH);
	in->discard = uvirtio_dev_has_feature(blk->dev, VIRTIO_BLK_F_DISCARD);
	in->write_zeroes = uvirtio_dev_has_feature(blk->dev,
						   VIRTIO_BLK_F_WRITE_ZEROES);
	if (in->discard) {
		in->max_discard_sectors = cfg->max_discard_sectors;
		in->discard_sector_alignment = cfg->discard_sector_alignment;
	}
	if (in->write_zeroes)
		in->max_write_zeroes_sectors = cfg->max_write_zeroes_sectors;
	return 0;
}

/* The queue's process memory (not what the device can reach). */
static void queue_free_heap(struct uvirtio_blk_queue *q)
{
	free(q->bp.used);
	for (unsigned int i = 0; q->reqs && i < q->nslots; i++)
		free(q->reqs[i].b_iov);
	free(q->reqs);
	free(q->free_slots);
	free(q->bufs);
}

static void queue_free(struct uvirtio_backend *be, struct uvirtio_blk_queue *q)
{
	if (!q->blk)
		return;
	if (q->epfd >= 0)
		close(q->epfd);
	uvirtq_destroy(q->vq);
	uvirtio_backend_dma_free(be, &q->area);
	if (q->bp.dma.vaddr)
		uvirtio_backend_dma_free(be, &q->bp.dma);
	queue_free_heap(q);
}

/* What a queue starts with, created or restored. */
static void queue_defaults(struct uvirtio_blk *blk,
			   struct uvirtio_blk_queue *q, bool intr)
{
	q->blk = blk;
	q->poll = !intr;
	q->irq_cpu = -1;
	q->epfd = -1;
	q->bp.size = UVIRTIO_BLK_BOUNCE_DEFAULT;
}

static int queue_init(struct uvirtio_blk *blk, struct uvirtio_blk_queue *q,
		      uint16_t index, const struct uvirtio_blk_params *p,
		      bool intr)
{
	struct uvirtq_params vp = {
		.size = p->queue_size,
		.max_indirect = (uint16_t)UV_MIN(blk->data_seg_max + 3u,
						 (uint32_t)MAX_INDIRECT),
		.use_interrupts = intr,
		.cpu = -1,
	};
	unsigned int i;
	int ret;

	queue_defaults(blk, q, intr);
	ret = uvirtq_create(blk->dev, index, &vp, &q->vq);
	if (ret)
		return ret;
	q->nslots = uvirtq_size(q->vq);
	q->max_bufs = uvirtq_max_chain(q->vq);
	q->reqs = calloc(q->nslots, sizeof(*q->reqs));
	q->free_slots = calloc(q->nslots, sizeof(*q->free_slots));
	q->bufs = calloc(q->max_bufs + 1, sizeof(*q->bufs));
	if (!q->reqs || !q->free_slots || !q->bufs)
		return -ENOMEM;
	for (i = 0; i < q->nslots; i++)
		q->free_slots[i] = (uint16_t)(q->nslots - 1 - i);
	q->nfree = q->nslots;
	return uvirtio_backend_dma_alloc(uvirtio_dev_backend(blk->dev),
					 (size_t)q->nslots * SLOT_SIZE,
					 &q->area);
}

/*
 * The most one read or write may carry: seg_max segments of size_max
 * (4 MiB without SIZE_MAX), and never more than UVIRTIO_BLK_MAX_TRANSFER.
 * That cap is the device's other limit, one the spec does not name: QEMU
 * takes at most VIRTQUEUE_MAX_SIZE (1024) pieces of its own memory per
 * request, and behind an IOMMU one IOVA run may be scattered guest
 * memory, a piece per page; 2 MiB is 512 pages.  (Linux sends at most
 * 1.25 MiB per request by default.)
 */
static uint64_t max_transfer(uint32_t seg_max, uint32_t size_max,
			     uint32_t blk_size)
{
	uint64_t m = (uint64_t)seg_max * (size_max ? size_max : (1u << 22));

	if (m > UVIRTIO_BLK_MAX_TRANSFER)
		m = UVIRTIO_BLK_MAX_TRANSFER;
	return m & ~(uint64_t)(blk_size - 1);
}

UV_EXPORT int uvirtio_blk_open(struct uvirtio_backend *be,
			       const struct uvirtio_blk_params *params,
			       struct uvirtio_blk **out)
{
	struct uvirtio_blk_params defp = { 0 };
	struct uvirtio_dev_params dp = { 0 };
	struct virtio_blk_config cfg;
	struct uvirtio_blk_info *in;
	struct uvirtio_blk *blk;
	unsigned int i, nq;
	bool intr;
	int ret;

	if (!be || !out)
		return -EINVAL;
	if (!params)
		params = &defp;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	dp.transport = params->transport;
	dp.device_type = VIRTIO_ID_BLOCK;
	dp.wanted = blk_wanted;
	if (!params->no_indirect)
		dp.wanted |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (!params->no_event_idx)
		dp.wanted |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (params->packed)
		dp.wanted |= 1ull << VIRTIO_F_RING_PACKED;
	if (!params->no_in_order)
		dp.wanted |= 1ull << VIRTIO_F_IN_ORDER;
	ret = uvirtio_dev_open(be, &dp, &blk->dev);
	if (ret)
		goto err_free;
	ret = read_cfg(blk, &cfg);
	if (ret)
		goto err_dev;
	ret = fill_info(blk, &cfg);
	if (ret)
		goto err_failed;
	in = &blk->info;
	nq = params->num_queues ? params->num_queues : 1;
	if (uvirtio_dev_has_feature(blk->dev, VIRTIO_BLK_F_MQ))
		nq = UV_MIN(nq, (unsigned int)(cfg.num_queues ? cfg.num_queues : 1));
	else
		nq = 1;
	nq = UV_MIN(nq, (unsigned int)uvirtio_dev_num_queues(blk->dev));
	if (!nq) {
		ret = -ENODEV;
		goto err_failed;
	}
	blk->queues = calloc(nq, sizeof(*blk->queues));
	if (!blk->queues) {
		ret = -ENOMEM;
		goto err_failed;
	}
	blk->nq = nq;
	/* vectors for the nq queues used, else shared, INTx, polling */
	ret = uvirtio_dev_set_irq_queues(blk->dev, nq);
	if (ret < 0)
		goto err_failed;
	intr = !params->poll && ret != UVIRTIO_DEV_IRQ_POLL;
	blk->irq_mode = intr ? (enum uvirtio_dev_irq_mode)ret :
			       UVIRTIO_DEV_IRQ_POLL;
	for (i = 0; i < nq; i++) {
		ret = queue_init(blk, &blk->queues[i], (uint16_t)i, params,
				 intr);
		if (ret)
			goto err_failed;
	}
	/*
	 * Chain budget: header + range/id + status besides the data, on
	 * every queue (their sizes may differ).  A queue that cannot carry
	 * header + one data segment + status is unusable.
	 */
	for (i = 0; i < nq; i++) {
		if (blk->queues[i].max_bufs < 3) {
			ret = -ENODEV;
			goto err_failed;
		}
		blk->data_seg_max = UV_MIN(blk->data_seg_max,
					   blk->queues[i].max_bufs - 2);
	}
	in->seg_max = blk->data_seg_max;
	in->num_queues = (uint16_t)nq;
	in->max_transfer = max_transfer(blk->data_seg_max, in->size_max,
					in->blk_size);
	ret = uvirtio_dev_driver_ok(blk->dev);
	if (ret)
		goto err_failed;
	*out = blk;
	return 0;

err_failed:
	uvirtio_dev_fail(blk->dev);
err_dev:
	uvirtio_dev_close(blk->dev);
	for (i = 0; blk->queues && i < blk->nq; i++)
		queue_free(be, &blk->queues[i]);
	free(blk->queues);
err_free:
	free(blk);
	return ret;
}

UV_EXPORT void uvirtio_blk_close(struct uvirtio_blk *blk)
{
	struct uvirtio_backend *be;
	unsigned int i;

	if (!blk)
		return;
	be = uvirtio_dev_backend(blk->dev);
	uvirtio_dev_close(blk->dev);	/* reset first: stops DMA */
	for (i = 0; i < blk->nq; i++)
		queue_free(be, &blk->queues[i]);
	uvirtio_backend_dma_free(be, &blk->ka_state);
	while (blk->bufs) {
		struct blk_buf *b = blk->bufs;

		blk->bufs = b->next;
		uvirtio_backend_dma_free(be, &b->dma);
		free(b);
	}
	free(blk->queues);
	free(blk);
}

UV_EXPORT void uvirtio_blk_get_info(struct uvirtio_blk *blk,
				    struct uvirtio_blk_info *info)
{
	*info = blk->info;
}

UV_EXPORT struct uvirtio_dev *uvirtio_blk_device(struct uvirtio_blk *blk)
{
	return blk->dev;
}

UV_EXPORT int uvirtio_blk_refresh_capacity(struct uvirtio_blk *blk)
{
	uint64_t cap;
	int ret = uvirtio_dev_read_config(blk->dev,
			offsetof(struct virtio_blk_config, capacity),
			&cap, sizeof(cap));

	if (!ret)
		blk->info.capacity = cap * 512;
	return ret;
}

UV_EXPORT int uvirtio_blk_map_mem(struct uvirtio_blk *blk, void *addr,
				  size_t len)
{
	return uvirtio_backend_dma_map(uvirtio_dev_backend(blk->dev), addr, len);
}

UV_EXPORT int uvirtio_blk_unmap_mem(struct uvirtio_blk *blk, void *addr)
{
	return uvirtio_backend_dma_unmap(uvirtio_dev_backend(blk->dev), addr);
}

UV_EXPORT int uvirtio_blk_alloc_buf(struct uvirtio_blk *blk, size_t len,
				    void **out)
{
	struct blk_buf *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	/* data only: several IOVA runs are fine, add_data() splits at them */
	ret = uvirtio_backend_dma_alloc_sg(uvirtio_dev_backend(blk->dev), len,
					   &b->dma);
	if (ret) {
		free(b);
		return ret;
	}
	b->next = blk->bufs;
	blk->bufs = b;
	*out = b->dma.vaddr;
	return 0;
}

UV_EXPORT void uvirtio_blk_free_buf(struct uvirtio_blk *blk, void *buf)
{
	struct blk_buf **pp;

	for (pp = &blk->bufs; *pp; pp = &(*pp)->next) {
		if ((*pp)->dma.vaddr == buf) {
			struct blk_buf *b = *pp;

			*pp = b->next;
			uvirtio_backend_dma_free(uvirtio_dev_backend(blk->dev), &b->dma);
			free(b);
			return;
		}
	}
}

UV_EXPORT struct uvirtio_blk_queue *uvirtio_blk_get_queue(
	struct uvirtio_blk *blk, unsigned int index)
{
	return index < blk->nq ? &blk->queues[index] : NULL;
}

/* ---- request building ------------------------------------------------ */

static int q_check(struct uvirtio_blk_queue *q)
{
	return uvirtio_dev_broken(q->blk->dev);
}

/* Append translated data segments of @iov to q->bufs at *@n. */
static int add_data(struct uvirtio_blk_queue *q, const struct iovec *iov,
		    int iovcnt, unsigned int *n, unsigned int limit,
		    uint64_t *total)
{
	struct uvirtio_blk *blk = q->blk;
	uint32_t smax = blk->info.size_max ? blk->info.size_max :
					     (1u << 30);
	int i;

	*total = 0;
	for (i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		uint64_t left = iov[i].iov_len;

		if (left && !p)
			return -EFAULT;
		while (left) {
			uint64_t iova;
			int64_t got = uvirtio_backend_translate(uvirtio_dev_backend(blk->dev),
					p, UV_MIN(left, (uint64_t)smax), &iova);

			if (got < 0)
				return (int)got;
			if (*n >= limit)
				return -E2BIG;	/* too many segments */
			q->bufs[(*n)++] = (struct uvirtq_buf){ iova,
							       (uint32_t)got };
			p += got;
			left -= (uint64_t)got;
			*total += (uint64_t)got;
		}
	}
	return 0;
}

static int get_slot(struct uvirtio_blk_queue *q, uint16_t *slot)
{
	/* After a restore: nothing new before the old requests are done. */
	if (q->restoring)
		return -EBUSY;
	if (!q->nfree)
		return -EAGAIN;
	*slot = q->free_slots[--q->nfree];
	return 0;
}

static void bounce_release(struct uvirtio_blk_queue *q, struct blk_req *r)
{
	if (!r->bounced)
		return;
	memset(q->bp.used + r->b_first, 0, r->b_pages);
	q->bp.inuse -= r->b_pages;
	free(r->b_iov);
	r->b_iov = NULL;
	r->bounced = false;
}

static void put_slot(struct uvirtio_blk_queue *q, uint16_t slot)
{
	bounce_release(q, &q->reqs[slot]);
	q->reqs[slot].in_use = false;
	q->reqs[slot].nranges = 0;
	q->free_slots[q->nfree++] = slot;
}

/* First fit of @pages free pages; -EAGAIN while requests hold them. */
static int bounce_get(struct uvirtio_blk_queue *q, uint32_t pages,
		      uint32_t *first)
{
	struct bounce_pool *bp = &q->bp;
	uint32_t i, run = 0;
	int ret;

	if (!bp->dma.vaddr) {
		ret = uvirtio_backend_dma_alloc(uvirtio_dev_backend(q->blk->dev),
						bp->size, &bp->dma);
		if (ret)
			return ret;
		bp->npages = (uint32_t)(bp->dma.len / 4096);
		bp->used = calloc(bp->npages, 1);
		if (!bp->used) {
			uvirtio_backend_dma_free(uvirtio_dev_backend(q->blk->dev),
						 &bp->dma);
			bp->dma.vaddr = NULL;
			return -ENOMEM;
		}
	}
	if (pages > bp->npages)
		return -E2BIG;
	for (i = 0; i < bp->npages; i++) {
		run = bp->used[i] ? 0 : run + 1;
		if (run == pages) {
			*first = i + 1 - pages;
			memset(bp->used + *first, 1, pages);
			bp->inuse += pages;
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * Stand in for caller memory that is not registered: the whole request
 * goes through one run of the pool, split at size_max.  Writes copy in
 * now, reads copy out at completion.
 */
static int bounce_data(struct uvirtio_blk_queue *q, uint16_t slot,
		       bool write, const struct iovec *iov, int iovcnt,
		       uint64_t total, unsigned int *n, unsigned int limit)
{
	struct blk_req *r = &q->reqs[slot];
	uint32_t smax = q->blk->info.size_max ? q->blk->info.size_max :
						(1u << 30);
	uint32_t first, pages = (uint32_t)((total + 4095) / 4096);
	uint64_t off = 0, iova;
	uint8_t *base;
	int ret, i;

	if ((total + smax - 1) / smax > limit - *n)
		return -EINVAL;		/* too many segments even so */
	ret = bounce_get(q, pages, &first);
	if (ret)
		return ret;
	r->b_iov = malloc(sizeof(*iov) * (size_t)(iovcnt ? iovcnt : 1));
	if (!r->b_iov) {
		memset(q->bp.used + first, 0, pages);
		q->bp.inuse -= pages;
		return -ENOMEM;
	}
	memcpy(r->b_iov, iov, sizeof(*iov) * (size_t)iovcnt);
	r->b_iovcnt = iovcnt;
	r->b_first = first;
	r->b_pages = pages;
	r->bounced = true;
	r->bounce_read = !write;
	base = (uint8_t *)q->bp.dma.vaddr + (size_t)first * 4096;
	iova = q->bp.dma.iova + (uint64_t)first * 4096;
	if (write) {
		for (i = 0; i < iovcnt; i++) {
			memcpy(base + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		off = 0;
	}
	while (off < total) {
		uint32_t len = (uint32_t)UV_MIN(total - off, (uint64_t)smax);

		q->bufs[(*n)++] = (struct uvirtq_buf){ iova + off, len };
		off += len;
	}
	q->stats.bounced_requests++;
	q->stats.bounced_bytes += total;
	return 0;
}

static void bounce_copy_out(struct uvirtio_blk_queue *q, struct blk_req *r)
{
	const uint8_t *src = (uint8_t *)q->bp.dma.vaddr +
			     (size_t)r->b_first * 4096;
	int i;

	for (i = 0; i < r->b_iovcnt; i++) {
		memcpy(r->b_iov[i].iov_base, src, r->b_iov[i].iov_len);
		src += r->b_iov[i].iov_len;
	}
}

static uint8_t *slot_va(struct uvirtio_blk_queue *q, uint16_t slot)
{
	return (uint8_t *)q->area.vaddr + (size_t)slot * SLOT_SIZE;
}

static uint64_t slot_iova(struct uvirtio_blk_queue *q, uint16_t slot)
{
	return q->area.iova + (uint64_t)slot * SLOT_SIZE;
}

static int post(struct uvirtio_blk_queue *q, uint16_t slot,
		unsigned int n_out, unsigned int n_in, void *user_data)
{
	int ret;

	q->reqs[slot].user_data = user_data;
	q->reqs[slot].in_use = true;
	if (q->ka_slots)
		q->ka_slots[slot] = (uintptr_t)user_data;
	/* The cookie is slot + 1 so it is never NULL. */
	ret = uvirtq_add(q->vq, q->bufs, n_out, q->bufs + n_out, n_in,
			 (void *)(uintptr_t)(slot + 1u));
	if (ret) {
		put_slot(q, slot);
		return ret;
	}
	q->unsubmitted++;
	return 0;
}

static void fill_hdr(struct uvirtio_blk_queue *q, uint16_t slot,
		     uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr *h = (void *)(slot_va(q, slot) + SLOT_HDR);

	h->type = type;
	h->ioprio = 0;
	h->sector = sector;
	slot_va(q, slot)[SLOT_STATUS] = 0xff;
}

static int rw(struct uvirtio_blk_queue *q, bool write, uint64_t offset,
	      const struct iovec *iov, int iovcnt, void *user_data)
{
	struct uvirtio_blk *blk = q->blk;
	unsigned int n = 1, limit;
	uint64_t total, gen;
	uint16_t slot;
	bool bounce;
	int ret, i;

	if ((ret = q_check(q)))
		return ret;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	if (write && blk->info.read_only)
		return -EROFS;
	if (offset % blk->info.blk_size)
		return -EINVAL;
	/* before the translations, so an unmap racing with them is seen */
	gen = uvirtio_backend_unmap_gen(uvirtio_dev_backend(blk->dev));
	limit = 1 + blk->data_seg_max;
	ret = add_data(q, iov, iovcnt, &n, limit, &total);
	/*
	 * Memory that is not registered, or in more pieces than the device
	 * takes (seg_max): all of it goes through the pool, one IOVA run
	 * split only at size_max, so max_transfer holds for any memory.
	 */
	bounce = (ret == -EFAULT || ret == -E2BIG) && q->bp.size;
	if (ret == -E2BIG && !bounce)
		return -EINVAL;
	if (bounce) {
		n = 1;
		total = 0;
		for (i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len && !iov[i].iov_base)
				return -EFAULT;
			total += iov[i].iov_len;
		}
	} else if (ret) {
		return ret;
	}
	if (!total || total % blk->info.blk_size ||
	    offset > blk->info.capacity ||
	    total > blk->info.capacity - offset ||
	    total > blk->info.max_transfer)
		return -EINVAL;
	ret = get_slot(q, &slot);
	if (ret)
		return ret;
	if (bounce) {
		ret = bounce_data(q, slot, write, iov, iovcnt, total, &n, limit);
		if (ret) {
			put_slot(q, slot);
			return ret;
		}
	}
	fill_hdr(q, slot, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
		 offset / 512);
	q->reqs[slot].id_dst = NULL;
	q->reqs[slot].gen = gen;
	/* the pool is ours and stays mapped: nothing to watch then */
	q->reqs[slot].nranges = bounce ? 0 : iovcnt > REQ_RANGES ?
				REQ_RANGES + 1 : (unsigned int)iovcnt;
	for (i = 0; !bounce && i < iovcnt && i < REQ_RANGES; i++) {
		q->reqs[slot].range[i].va = (uintptr_t)iov[i].iov_base;
		q->reqs[slot].range[i].len = iov[i].iov_len;
	}
	q->bufs[0] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_HDR, 16 };
	q->bufs[n++] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_STATUS,
					    1 };
	/* write: hdr + data readable; read: hdr readable, data + status. */
	return post(q, slot, write ? n - 1 : 1, write ? 1 : n - 1, user_data);
}

UV_EXPORT int uvirtio_blk_q_readv(struct uvirtio_blk_queue *q,
				  uint64_t offset, const struct iovec *iov,
				  int iovcnt, void *user_data)
{
	return rw(q, false, offset, iov, iovcnt, user_data);
}

UV_EXPORT int uvirtio_blk_q_writev(struct uvirtio_blk_queue *q,
				   uint64_t offset, const struct iovec *iov,
				   int iovcnt, void *user_data)
{
	return rw(q, true, offset, iov, iovcnt, user_data);
}

UV_EXPORT int uvirtio_blk_q_read(struct uvirtio_blk_queue *q, uint64_t offset,
				 void *buf, size_t len, void *user_data)
{
	struct iovec iov = { buf, len };

	return rw(q, false, offset, &iov, 1, user_data);
}

UV_EXPORT int uvirtio_blk_q_write(struct uvirtio_blk_queue *q,
				  uint64_t offset, const void *buf, size_t len,
				  void *user_data)
{
	struct iovec iov = { (void *)buf, len };

	return rw(q, true, offset, &iov, 1, user_data);
}

UV_EXPORT int uvirtio_blk_q_flush(struct uvirtio_blk_queue *q,
				  void *user_data)
{
	uint16_t slot;
	int ret;

	if ((ret = q_check(q)))
		return ret;
	if (!q->blk->info.flush)
		return -ENOTSUP;
	ret = get_slot(q, &slot);
	if (ret)
		return ret;
	fill_hdr(q, slot, VIRTIO_BLK_T_FLUSH, 0);
	q->reqs[slot].id_dst = NULL;
	q->bufs[0] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_HDR, 16 };
	q->bufs[1] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_STATUS, 1 };
	return post(q, slot, 1, 1, user_data);
}

static int range_req(struct uvirtio_blk_queue *q, bool discard,
		     uint64_t offset, uint64_t len, bool unmap,
		     void *user_data)
{
	const struct uvirtio_blk_info *in = &q->blk->info;
	struct virtio_blk_discard_write_zeroes *r;
	uint64_t max = discard ? in->max_discard_sectors :
				 in->max_write_zeroes_sectors;
	uint64_t align = discard ? in->discard_sector_alignment : 0;
	uint16_t slot;
	int ret;

	if ((ret = q_check(q)))
		return ret;
	if (discard ? !in->discard : !in->write_zeroes)
		return -ENOTSUP;
	if (in->read_only)
		return -EROFS;
	if (!len || offset % in->blk_size || len % in->blk_size ||
	    offset > in->capacity || len > in->capacity - offset)
		return -EINVAL;
	if ((max && len / 512 > max) || len / 512 > UINT32_MAX)
		return -EINVAL;
	if (align && ((offset / 512) % align || (len / 512) % align))
		return -EINVAL;
	ret = get_slot(q, &slot);
	if (ret)
		return ret;
	fill_hdr(q, slot, discard ? VIRTIO_BLK_T_DISCARD :
		 VIRTIO_BLK_T_WRITE_ZEROES, 0);
	r = (void *)(slot_va(q, slot) + SLOT_RANGE);
	r->sector = offset / 512;
	r->num_sectors = (uint32_t)(len / 512);
	r->flags = (!discard && unmap) ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	q->reqs[slot].id_dst = NULL;
	q->bufs[0] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_HDR, 16 };
	q->bufs[1] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_RANGE, 16 };
	q->bufs[2] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_STATUS, 1 };
	return post(q, slot, 2, 1, user_data);
}

UV_EXPORT int uvirtio_blk_q_discard(struct uvirtio_blk_queue *q,
				    uint64_t offset, uint64_t len,
				    void *user_data)
{
	return range_req(q, true, offset, len, false, user_data);
}

UV_EXPORT int uvirtio_blk_q_write_zeroes(struct uvirtio_blk_queue *q,
					 uint64_t offset, uint64_t len,
					 bool unmap, void *user_data)
{
	return range_req(q, false, offset, len, unmap, user_data);
}

UV_EXPORT int uvirtio_blk_q_get_id(struct uvirtio_blk_queue *q, char id[20],
				   void *user_data)
{
	uint16_t slot;
	int ret;

	if ((ret = q_check(q)))
		return ret;
	if (!id)
		return -EINVAL;
	ret = get_slot(q, &slot);
	if (ret)
		return ret;
	fill_hdr(q, slot, VIRTIO_BLK_T_GET_ID, 0);
	memset(slot_va(q, slot) + SLOT_ID, 0, VIRTIO_BLK_ID_BYTES);
	q->reqs[slot].id_dst = id;
	q->bufs[0] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_HDR, 16 };
	q->bufs[1] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_ID,
					  VIRTIO_BLK_ID_BYTES };
	q->bufs[2] = (struct uvirtq_buf){ slot_iova(q, slot) + SLOT_STATUS, 1 };
	return post(q, slot, 1, 2, user_data);
}

/* ---- submission and completion --------------------------------------- */

UV_EXPORT int uvirtio_blk_q_submit(struct uvirtio_blk_queue *q)
{
	int ret;

	if (!q->unsubmitted)
		return q_check(q);
	ret = uvirtq_kick(q->vq);
	if (ret < 0)
		return ret;
	q->unsubmitted = 0;
	return 0;
}

static int status_to_errno(uint8_t st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK: return 0;
	case VIRTIO_BLK_S_UNSUPP: return -ENOTSUP;
	default: return -EIO;
	}
}

/* Was a data buffer of @slot unmapped while the request was out? */
static bool req_lost_buffer(struct uvirtio_blk_queue *q, uint16_t slot)
{
	struct uvirtio_backend *be = uvirtio_dev_backend(q->blk->dev);
	const struct blk_req *r = &q->reqs[slot];
	unsigned int i;

	if (!r->nranges || uvirtio_backend_unmap_gen(be) == r->gen)
		return false;	/* the common case: one load */
	if (r->nranges > REQ_RANGES)
		return uvirtio_backend_unmapped_since(be, r->gen, NULL,
						      UINTPTR_MAX);
	for (i = 0; i < r->nranges; i++)
		if (uvirtio_backend_unmapped_since(be, r->gen,
						   (void *)r->range[i].va,
						   r->range[i].len))
			return true;
	return false;
}

static int collect(struct uvirtio_blk_queue *q, unsigned int max,
		   struct uvirtio_blk_completion *out, unsigned int *n)
{
	while (*n < max) {
		void *cookie;
		uint32_t len;
		uintptr_t c;
		uint16_t slot;
		int ret = uvirtq_get_used(q->vq, &cookie, &len);

		if (ret <= 0)
			return ret;
		c = (uintptr_t)cookie;
		if (c == 0 || c > q->nslots || !q->reqs[c - 1].in_use)
			return -EIO;	/* cannot happen: vq validated */
		slot = (uint16_t)(c - 1);
		out[*n].user_data = q->reqs[slot].user_data;
		if (q->reqs[slot].restored) {
			q->reqs[slot].restored = false;
			q->restoring--;
		}
		if (ret == UVIRTQ_CANCELED) {
			/* taken back by uvirtio_blk_q_reset(): no data */
			out[*n].ret = -ECANCELED;
			put_slot(q, slot);
			(*n)++;
			continue;
		}
		out[*n].ret = status_to_errno(slot_va(q, slot)[SLOT_STATUS]);
		if (!out[*n].ret && req_lost_buffer(q, slot))
			out[*n].ret = -EFAULT;
		if (q->reqs[slot].id_dst && !out[*n].ret)
			memcpy(q->reqs[slot].id_dst, slot_va(q, slot) + SLOT_ID,
			       VIRTIO_BLK_ID_BYTES);
		if (q->reqs[slot].bounced && q->reqs[slot].bounce_read &&
		    !out[*n].ret)
			bounce_copy_out(q, &q->reqs[slot]);
		put_slot(q, slot);
		(*n)++;
	}
	return 0;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_ns(&ts);
}

/* Read an eventfd; its counter is how many times it was signalled. */
static uint64_t drain(int fd)
{
	uint64_t v;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/*
 * Polling: the device status is checked for removal and DEVICE_NEEDS_RESET
 * every POLL_CHECK empty polls.  Where the device may need this machine's
 * CPUs (the in-process fake, a vhost-user back-end), the poller also
 * yields then, so the device makes progress on a small machine.  A PCI
 * function (kmod, VFIO) is not helped by yielding; there the check comes
 * every POLL_CHECK_PCI empty polls (each is a register read, which a
 * device answers slowly), and on the kernel-module backend (BAR mapped) it
 * is two loads, no system call.
 */
#define POLL_CHECK		1024u
#define POLL_CHECK_PCI		(16u * 1024u)

/*
 * Before sleeping: steer the interrupt to this thread's CPU if asked to
 * (sched_getcpu() reads rseq or the vDSO; the ioctl is made only when the
 * thread moved).  A backend that cannot steer is not asked again.
 */
static void follow_cpu(struct uvirtio_blk_queue *q)
{
	int cpu = sched_getcpu();

	if (cpu < 0 || cpu == q->irq_cpu)
		return;
	if (uvirtq_set_irq_cpu(q->vq, cpu))
		q->wait_flags &= ~UVIRTIO_BLK_WAIT_FOLLOW_CPU;
	q->irq_cpu = cpu;
}

/*
 * UVIRTIO_BLK_WAIT_EPOLL: one epoll set with the queue eventfd
 * edge-triggered (every signal queues a wake-up, so the counter need not
 * be read back), and the config and remove eventfds level-triggered.
 */
static int ep_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0)
		return 0;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int ep_setup(struct uvirtio_blk_queue *q)
{
	int qfd = uvirtq_eventfd(q->vq), fd, ret;

	if (qfd < 0 || q->epfd >= 0)
		return 0;	/* polled, or set up already */
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ep_add(fd, qfd, EPOLLIN | EPOLLET);
	if (!ret)
		ret = ep_add(fd, uvirtio_dev_config_eventfd(q->blk->dev),
			     EPOLLIN);
	if (!ret)
		ret = ep_add(fd, uvirtio_backend_remove_fd(
				uvirtio_dev_backend(q->blk->dev)), EPOLLIN);
	if (ret) {
		close(fd);
		return ret;
	}
	q->epfd = fd;
	return 0;
}

/* One epoll_wait(): the wake-up costs a single system call. */
static int ep_sleep(struct uvirtio_blk_queue *q, int qfd, int cfd, int ms)
{
	struct epoll_event ev[3];
	int i, k = epoll_wait(q->epfd, ev, 3, ms), ret;

	if (k < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < k; i++) {
		if (ev[i].data.fd == qfd) {
			q->stats.interrupts++;	/* wake-ups, not signals */
			continue;
		}
		if (ev[i].data.fd == cfd)
			drain(cfd);
		/* config change or removal: check_status() tells */
		ret = uvirtio_dev_check_status(q->blk->dev);
		if (ret)
			return ret;
	}
	return 0;
}

UV_EXPORT int uvirtio_blk_q_set_wait(struct uvirtio_blk_queue *q,
				     uint64_t spin_ns, unsigned int flags)
{
	int ret;

	if (!q || (flags & ~(UVIRTIO_BLK_WAIT_FOLLOW_CPU |
			     UVIRTIO_BLK_WAIT_EPOLL)))
		return -EINVAL;
	if (flags & UVIRTIO_BLK_WAIT_EPOLL) {
		ret = ep_setup(q);
		if (ret)
			return ret;
	} else if (q->epfd >= 0) {
		close(q->epfd);
		q->epfd = -1;
	}
	q->spin_ns = spin_ns;
	q->wait_flags = flags;
	q->irq_cpu = -1;	/* following again steers at the next sleep */
	return 0;
}

UV_EXPORT int uvirtio_blk_q_reap(struct uvirtio_blk_queue *q,
				 unsigned int min, unsigned int max,
				 struct uvirtio_blk_completion *out,
				 const struct timespec *timeout)
{
	int64_t deadline = timeout ? mono_ns() + ts_ns(timeout) : INT64_MAX;
	int cfd = uvirtio_dev_config_eventfd(q->blk->dev);
	struct uvirtio_backend *be = uvirtio_dev_backend(q->blk->dev);
	int rfd = uvirtio_backend_remove_fd(be);
	int qfd = uvirtq_eventfd(q->vq);
	int lfd = uvirtio_dev_irq_fd(q->blk->dev);
	bool relax = uvirtio_backend_device_shares_cpus(be);
	unsigned int every = relax ? POLL_CHECK : POLL_CHECK_PCI;
	unsigned int n = 0, spins = 0;
	int64_t spin_end = 0;	/* interrupt mode: spinning until then */
	int ret;

	if (min > max || (max && !out))
		return -EINVAL;
	ret = uvirtio_blk_q_submit(q);
	if (ret)
		return ret;
	for (;;) {
		ret = collect(q, max, out, &n);
		if (ret < 0)
			return n ? (int)n : ret;
		if (n >= min || n == max || !uvirtq_in_flight(q->vq))
			return (int)n;
		/* No clock read without a timeout: polling makes no syscall. */
		if (deadline != INT64_MAX && mono_ns() >= deadline)
			return (int)n;
		if (q->poll || qfd < 0) {
			if (!(++spins % every)) {
				ret = uvirtio_dev_check_status(q->blk->dev);
				if (ret)
					return n ? (int)n : ret;
				if (relax)
					sched_yield();
			}
			continue;
		}
		/* Hybrid: poll for up to spin_ns before sleeping. */
		if (q->spin_ns) {
			if (!spin_end) {
				spin_end = mono_ns() + (int64_t)UV_MIN(
					q->spin_ns, (uint64_t)INT64_MAX / 2);
				continue;
			}
			if (spin_end > 0) {
				if (++spins % 16 || mono_ns() < spin_end)
					continue;
				spin_end = -1;	/* spun in vain: sleep */
			}
		}
		if (q->wait_flags & UVIRTIO_BLK_WAIT_FOLLOW_CPU)
			follow_cpu(q);
		/* Arm, re-check (no lost wakeup), then sleep. */
		ret = uvirtq_enable_cb(q->vq);
		if (ret < 0)
			return n ? (int)n : ret;
		/* epoll does not watch a shared line: poll() does */
		if (ret == 0 && q->epfd >= 0 && lfd < 0) {
			int64_t left = deadline - mono_ns();
			int ms = deadline == INT64_MAX ? -1 :
				 left <= 0 ? 0 : (int)UV_MIN(left / 1000000 + 1,
							     (int64_t)INT32_MAX);

			ret = ep_sleep(q, qfd, cfd, ms);
			if (ret)
				return n ? (int)n : ret;
		} else if (ret == 0) {
			/* a negative fd is ignored by poll() */
			struct pollfd pfd[4] = {
				{ .fd = qfd, .events = POLLIN },
				{ .fd = cfd, .events = POLLIN },
				{ .fd = rfd, .events = POLLIN },
				{ .fd = lfd, .events = POLLIN },
			};
			int64_t left = deadline - mono_ns();
			int ms = deadline == INT64_MAX ? -1 :
				 left <= 0 ? 0 : (int)UV_MIN(left / 1000000 + 1,
							     (int64_t)INT32_MAX);

			ret = poll(pfd, 4, ms);
			if (ret < 0 && errno != EINTR)
				return n ? (int)n : -errno;
			/* a shared line: signal every queue's own eventfd */
			if (ret > 0 && (pfd[3].revents & POLLIN)) {
				int r = uvirtio_dev_irq_service(q->blk->dev);

				if (r < 0)
					return n ? (int)n : r;
				pfd[0].revents |= POLLIN;
			}
			if (ret > 0 && (pfd[0].revents & POLLIN))
				q->stats.interrupts += drain(qfd);
			if (ret > 0 && (pfd[2].revents & POLLIN)) {
				/* removed: check_status() says -ENODEV */
				ret = uvirtio_dev_check_status(q->blk->dev);
				if (ret)
					return n ? (int)n : ret;
			}
			if (ret > 0 && cfd >= 0 && (pfd[1].revents & POLLIN)) {
				drain(cfd);
				ret = uvirtio_dev_check_status(q->blk->dev);
				if (ret)
					return n ? (int)n : ret;
			}
		}
		spin_end = 0;	/* after a wake-up, spin again first */
	}
}

UV_EXPORT int uvirtio_blk_q_reset(struct uvirtio_blk_queue *q)
{
	int ret;

	if (!q)
		return -EINVAL;
	ret = q_check(q);
	if (ret)
		return ret;
	ret = uvirtq_reset(q->vq);
	if (ret < 0)
		return ret;
	/* What was enqueued but not submitted was taken back too. */
	q->unsubmitted = 0;
	return 0;
}

UV_EXPORT int uvirtio_blk_q_set_bounce(struct uvirtio_blk_queue *q,
				       size_t bytes)
{
	if (!q)
		return -EINVAL;
	if (q->bp.inuse)
		return -EBUSY;
	if (bytes > (1ull << 32))
		return -EINVAL;
	if (q->bp.dma.vaddr) {
		uvirtio_backend_dma_free(uvirtio_dev_backend(q->blk->dev),
					 &q->bp.dma);
		memset(&q->bp.dma, 0, sizeof(q->bp.dma));
	}
	free(q->bp.used);
	q->bp.used = NULL;
	q->bp.npages = 0;
	q->bp.size = UV_ALIGN_UP(bytes, (size_t)4096);
	return 0;
}

UV_EXPORT void uvirtio_blk_q_get_stats(struct uvirtio_blk_queue *q,
				       struct uvirtio_blk_q_stats *st)
{
	*st = q->stats;
}

UV_EXPORT enum uvirtio_dev_irq_mode
uvirtio_blk_irq_mode(const struct uvirtio_blk *blk)
{
	return blk->irq_mode;
}

UV_EXPORT int uvirtio_blk_q_fd(struct uvirtio_blk_queue *q)
{
	return uvirtq_eventfd(q->vq);
}

UV_EXPORT unsigned int uvirtio_blk_q_in_flight(struct uvirtio_blk_queue *q)
{
	return uvirtq_in_flight(q->vq);
}

/* ---- synchronous helpers --------------------------------------------- */

static int sync_wait(struct uvirtio_blk *blk, int ret)
{
	struct uvirtio_blk_queue *q = &blk->queues[0];
	struct uvirtio_blk_completion c;

	if (ret)
		return ret;
	ret = uvirtio_blk_q_reap(q, 1, 1, &c, NULL);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EIO;
	return c.ret;
}

UV_EXPORT int uvirtio_blk_read(struct uvirtio_blk *blk, uint64_t offset,
			       void *buf, size_t len)
{
	return sync_wait(blk, uvirtio_blk_q_read(&blk->queues[0], offset, buf,
						 len, NULL));
}

UV_EXPORT int uvirtio_blk_write(struct uvirtio_blk *blk, uint64_t offset,
				const void *buf, size_t len)
{
	return sync_wait(blk, uvirtio_blk_q_write(&blk->queues[0], offset, buf,
						  len, NULL));
}

UV_EXPORT int uvirtio_blk_readv(struct uvirtio_blk *blk, uint64_t offset,
				const struct iovec *iov, int iovcnt)
{
	return sync_wait(blk, uvirtio_blk_q_readv(&blk->queues[0], offset, iov,
						  iovcnt, NULL));
}

UV_EXPORT int uvirtio_blk_writev(struct uvirtio_blk *blk, uint64_t offset,
				 const struct iovec *iov, int iovcnt)
{
	return sync_wait(blk, uvirtio_blk_q_writev(&blk->queues[0], offset,
						   iov, iovcnt, NULL));
}

UV_EXPORT int uvirtio_blk_flush(struct uvirtio_blk *blk)
{
	return sync_wait(blk, uvirtio_blk_q_flush(&blk->queues[0], NULL));
}

UV_EXPORT int uvirtio_blk_discard(struct uvirtio_blk *blk, uint64_t offset,
				  uint64_t len)
{
	return sync_wait(blk, uvirtio_blk_q_discard(&blk->queues[0], offset,
						    len, NULL));
}

UV_EXPORT int uvirtio_blk_write_zeroes(struct uvirtio_blk *blk,
				       uint64_t offset, uint64_t len,
				       bool unmap)
{
	return sync_wait(blk, uvirtio_blk_q_write_zeroes(&blk->queues[0],
							 offset, len, unmap,
							 NULL));
}

UV_EXPORT int uvirtio_blk_get_id(struct uvirtio_blk *blk, char id[20])
{
	return sync_wait(blk, uvirtio_blk_q_get_id(&blk->queues[0], id, NULL));
}

/* ---- keep-alive ---------------------------------------------------------- */

/*
 * The state buffer (one DMA allocation, kept with the device): a header,
 * then per queue the virtqueue's persistent bookkeeping and the caller's
 * user_data per request slot, then the caller's own area.  Everything the
 * device may be working on (rings, indirect tables, request headers and
 * status bytes) is in DMA allocations the header names by IOVA.
 */
#define BLK_KA_MAGIC	0x75766b62u	/* "uvkb" */
#define BLK_KA_VERSION	1u
#define BLK_KA_MAXQ	64u

struct blk_ka_queue {
	uint64_t ring_iova;
	uint64_t indir_iova;
	uint64_t area_iova;
	uint64_t vq_off;
	uint64_t vq_len;
	uint64_t slots_off;
	uint32_t nslots;
	uint32_t max_indirect;
};

struct blk_ka_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t features;
	uint32_t nq;
	uint32_t poll;
	uint64_t user_off;
	uint64_t user_len;
	uint64_t total;
	struct blk_ka_queue q[];
};

static size_t ka_align(size_t v)
{
	return UV_ALIGN_UP(v, (size_t)64);
}

UV_EXPORT int uvirtio_blk_keepalive_enable(struct uvirtio_blk *blk,
					   size_t user_len, void **user)
{
	struct uvirtio_backend *be;
	struct blk_ka_hdr *h;
	size_t off;
	unsigned int i;
	int ret;

	if (!blk || !user)
		return -EINVAL;
	if (blk->ka_state.vaddr)
		return -EALREADY;
	if (blk->nq > BLK_KA_MAXQ ||
	    uvirtio_dev_has_feature(blk->dev, VIRTIO_F_IN_ORDER))
		return -EOPNOTSUPP;
	for (i = 0; i < blk->nq; i++) {
		if (uvirtq_is_packed(blk->queues[i].vq))
			return -EOPNOTSUPP;
		if (uvirtq_in_flight(blk->queues[i].vq) ||
		    blk->queues[i].unsubmitted)
			return -EBUSY;
	}
	be = uvirtio_dev_backend(blk->dev);
	off = ka_align(sizeof(*h) + blk->nq * sizeof(h->q[0]));
	for (i = 0; i < blk->nq; i++) {
		struct uvirtio_blk_queue *q = &blk->queues[i];

		off = ka_align(off + uvirtq_persist_size((uint16_t)q->nslots));
		off = ka_align(off + q->nslots * sizeof(uint64_t));
	}
	ret = uvirtio_backend_dma_alloc(be, ka_align(off) + user_len,
					&blk->ka_state);
	if (ret)
		return ret;
	h = blk->ka_state.vaddr;
	h->version = BLK_KA_VERSION;
	h->features = uvirtio_dev_features(blk->dev);
	h->nq = blk->nq;
	h->poll = blk->queues[0].poll;
	off = ka_align(sizeof(*h) + blk->nq * sizeof(h->q[0]));
	for (i = 0; i < blk->nq; i++) {
		struct uvirtio_blk_queue *q = &blk->queues[i];
		struct blk_ka_queue *kq = &h->q[i];

		kq->ring_iova = uvirtq_ring_iova(q->vq);
		kq->indir_iova = uvirtq_indirect_iova(q->vq);
		kq->area_iova = q->area.iova;
		kq->nslots = q->nslots;
		kq->max_indirect = (uint32_t)UV_MIN(blk->data_seg_max + 3u,
						    (uint32_t)MAX_INDIRECT);
		kq->vq_off = off;
		kq->vq_len = uvirtq_persist_size((uint16_t)q->nslots);
		ret = uvirtq_set_persist(q->vq, (char *)h + off, kq->vq_len);
		if (ret)
			goto err;
		off = ka_align(off + kq->vq_len);
		kq->slots_off = off;
		q->ka_slots = (uint64_t *)((char *)h + off);
		off = ka_align(off + q->nslots * sizeof(uint64_t));
		/* The copy-back target of a bounce would die with us. */
		q->bp.size = 0;
	}
	h->user_off = blk->ka_user_off = off;
	h->user_len = blk->ka_user_len = user_len;
	h->total = blk->ka_state.len;
	__atomic_store_n(&h->magic, BLK_KA_MAGIC, __ATOMIC_RELEASE);
	*user = (char *)h + off;
	return 0;
err:
	for (i = 0; i < blk->nq; i++)
		blk->queues[i].ka_slots = NULL;
	uvirtio_backend_dma_free(be, &blk->ka_state);
	return ret;
}

UV_EXPORT int uvirtio_blk_keepalive_arm(struct uvirtio_blk *blk,
					unsigned int timeout_ms,
					uint64_t *token)
{
	if (!blk || !blk->ka_state.vaddr)
		return -EINVAL;
	return uvirtio_backend_keepalive(uvirtio_dev_backend(blk->dev),
					 timeout_ms,
					 timeout_ms ? &blk->ka_state : NULL,
					 token);
}

UV_EXPORT void uvirtio_blk_detach(struct uvirtio_blk *blk)
{
	unsigned int i;

	if (!blk)
		return;
	/* Published requests go on; the rest is this process's memory. */
	for (i = 0; i < blk->nq; i++)
		uvirtio_blk_q_submit(&blk->queues[i]);
	uvirtio_dev_detach(blk->dev);
	for (i = 0; i < blk->nq; i++) {
		struct uvirtio_blk_queue *q = &blk->queues[i];

		uvirtq_detach(q->vq);	/* the rings stay with the device */
		queue_free_heap(q);
	}
	while (blk->bufs) {
		struct blk_buf *b = blk->bufs;

		blk->bufs = b->next;
		free(b);
	}
	free(blk->queues);
	free(blk);
}

/* Rebuild one queue's request slots from the restored virtqueue. */
static int queue_restore(struct uvirtio_blk *blk, struct uvirtio_blk_queue *q,
			 uint16_t index, const struct blk_ka_queue *kq,
			 bool intr)
{
	struct uvirtio_backend *be = uvirtio_dev_backend(blk->dev);
	struct uvirtq_params vp = {
		.size = (uint16_t)kq->nslots,
		.max_indirect = (uint16_t)kq->max_indirect,
		.use_interrupts = intr,
		.cpu = -1,
	};
	char *base = blk->ka_state.vaddr;
	void **cookies = NULL;
	unsigned int i, n;
	int ret;

	queue_defaults(blk, q, intr);
	q->bp.size = 0;		/* a bounce's copy-back target died */
	ret = uvirtq_restore(blk->dev, index, &vp, kq->ring_iova,
			     kq->indir_iova, base + kq->vq_off, kq->vq_len,
			     &q->vq);
	if (ret)
		return ret;
	q->nslots = uvirtq_size(q->vq);
	q->max_bufs = uvirtq_max_chain(q->vq);
	q->ka_slots = (uint64_t *)(base + kq->slots_off);
	q->reqs = calloc(q->nslots, sizeof(*q->reqs));
	q->free_slots = calloc(q->nslots, sizeof(*q->free_slots));
	q->bufs = calloc(q->max_bufs + 1, sizeof(*q->bufs));
	cookies = calloc(q->nslots, sizeof(*cookies));
	if (!q->reqs || !q->free_slots || !q->bufs || !cookies) {
		ret = -ENOMEM;
		goto out;
	}
	ret = uvirtio_backend_restored(be, kq->area_iova, &q->area);
	if (ret)
		goto out;
	ret = -EIO;
	if (q->area.len < (size_t)q->nslots * SLOT_SIZE)
		goto out;
	n = uvirtq_in_flight_cookies(q->vq, cookies, q->nslots);
	if (n > q->nslots)
		goto out;
	for (i = 0; i < n; i++) {
		uintptr_t c = (uintptr_t)cookies[i];
		struct blk_req *r;

		if (!c || c > q->nslots || q->reqs[c - 1].in_use)
			goto out;	/* two requests in one slot */
		r = &q->reqs[c - 1];
		r->in_use = true;
		r->restored = true;
		r->user_data = (void *)(uintptr_t)q->ka_slots[c - 1];
		q->restoring++;
	}
	for (i = q->nslots; i-- > 0;)
		if (!q->reqs[i].in_use)
			q->free_slots[q->nfree++] = (uint16_t)i;
	ret = 0;
out:
	free(cookies);
	return ret;
}

UV_EXPORT int uvirtio_blk_restore(struct uvirtio_backend *be,
				  const struct uvirtio_blk_params *params,
				  struct uvirtio_blk **out, void **user,
				  size_t *user_len)
{
	struct uvirtio_blk_params defp = { 0 };
	struct uvirtio_dev_params dp = { 0 };
	struct virtio_blk_config cfg;
	const struct blk_ka_hdr *h;
	struct uvirtio_blk *blk;
	unsigned int i;
	size_t len;
	bool intr;
	int ret;

	if (!be || !out || !user || !user_len)
		return -EINVAL;
	if (!params)
		params = &defp;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	ret = uvirtio_backend_restored_state(be, &blk->ka_state);
	if (ret)
		goto err_free;
	/* The previous owner's state is input: check every size in it. */
	h = blk->ka_state.vaddr;
	len = blk->ka_state.len;
	ret = -EIO;
	if (len < sizeof(*h) ||
	    __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != BLK_KA_MAGIC ||
	    h->version != BLK_KA_VERSION || !h->nq || h->nq > BLK_KA_MAXQ ||
	    sizeof(*h) + h->nq * sizeof(h->q[0]) > len ||
	    h->user_off > len || h->user_len > len - h->user_off)
		goto err_state;
	for (i = 0; i < h->nq; i++) {
		const struct blk_ka_queue *kq = &h->q[i];

		if (!kq->nslots || kq->nslots > 32768 ||
		    kq->vq_off > len || kq->vq_len > len - kq->vq_off ||
		    kq->vq_len < uvirtq_persist_size((uint16_t)kq->nslots) ||
		    (kq->vq_off & 7) || (kq->slots_off & 7) ||
		    kq->slots_off > len ||
		    kq->nslots * sizeof(uint64_t) > len - kq->slots_off ||
		    kq->max_indirect > MAX_INDIRECT)
			goto err_state;
	}
	dp.transport = params->transport;
	dp.device_type = VIRTIO_ID_BLOCK;
	ret = uvirtio_dev_attach(be, &dp, h->features, &blk->dev);
	if (ret)
		goto err_state;
	ret = read_cfg(blk, &cfg);
	if (!ret)
		ret = fill_info(blk, &cfg);
	if (ret)
		goto err_dev;
	if (h->nq > (unsigned int)uvirtio_dev_num_queues(blk->dev)) {
		ret = -EIO;
		goto err_dev;
	}
	blk->queues = calloc(h->nq, sizeof(*blk->queues));
	if (!blk->queues) {
		ret = -ENOMEM;
		goto err_dev;
	}
	blk->nq = h->nq;
	/* the plan the previous owner had: the same device, the same queues */
	ret = uvirtio_dev_set_irq_queues(blk->dev, blk->nq);
	if (ret < 0)
		goto err_queues;
	intr = !h->poll && !params->poll && ret != UVIRTIO_DEV_IRQ_POLL;
	blk->irq_mode = intr ? (enum uvirtio_dev_irq_mode)ret :
			       UVIRTIO_DEV_IRQ_POLL;
	for (i = 0; i < blk->nq; i++) {
		ret = queue_restore(blk, &blk->queues[i], (uint16_t)i, &h->q[i],
				    intr);
		if (ret)
			goto err_queues;
		blk->data_seg_max = UV_MIN(blk->data_seg_max,
					   blk->queues[i].max_bufs - 2);
	}
	blk->info.seg_max = blk->data_seg_max;
	blk->info.num_queues = (uint16_t)blk->nq;
	blk->info.max_transfer = max_transfer(blk->data_seg_max,
					      blk->info.size_max,
					      blk->info.blk_size);
	blk->ka_user_off = h->user_off;
	blk->ka_user_len = h->user_len;
	*user = (char *)blk->ka_state.vaddr + h->user_off;
	*user_len = h->user_len;
	*out = blk;
	return 0;

err_queues:
	/*
	 * The device may be working on the rings: reset it before anything
	 * it can reach is freed.
	 */
	uvirtio_dev_close(blk->dev);
	for (i = 0; i < blk->nq; i++)
		queue_free(be, &blk->queues[i]);
	free(blk->queues);
	uvirtio_backend_dma_free(be, &blk->ka_state);
	free(blk);
	return ret;
err_dev:
	uvirtio_dev_close(blk->dev);
err_state:
	uvirtio_backend_dma_free(be, &blk->ka_state);
err_free:
	free(blk);
	return ret;
}

UV_EXPORT unsigned int uvirtio_blk_q_restoring(struct uvirtio_blk_queue *q)
{
	return q->restoring;
}
