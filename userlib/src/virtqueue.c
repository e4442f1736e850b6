// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtqueue.c - split and packed virtqueues behind one interface.
 *
 * Shared by both formats: request state indexed by id (cookie, writable
 * length, ring slots used), validation of everything the device reports,
 * indirect tables (one preallocated table per id), interrupt / polling
 * mode.  Format-specific: descriptor placement, publication, completion
 * detection and notification suppression.
 *
 * VIRTIO_F_IN_ORDER (spec: "In-order use of descriptors", split and
 * packed): descriptors are used in ring order, a chain always takes the
 * next free descriptors (split: the free list is the ring itself,
 * next[i] = i + 1 wrapping; packed: the buffer id is the ring slot of
 * the chain's head), and chains complete oldest first.  The device may complete a batch with one used entry
 * carrying the id of its last chain: every in-flight chain from the
 * oldest up to that one is then done, and the implied ones report their
 * whole writable length.  A used id that is not one of the in-flight
 * heads (split: within what the used index covers) breaks the queue.
 *
 * Shared ring words are accessed with GCC/Clang __atomic builtins (the
 * C11 memory model on plain objects) and full fences with
 * atomic_thread_fence(memory_order_seq_cst); see uvirtio/virtqueue.h for
 * the ordering contract.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "internal.h"

#define SPLIT_MAX_SIZE	32768u
#define PACKED_MAX_SIZE	32768u

/*
 * Persistent bookkeeping (uvirtq_set_persist()).  Per head: the cookie,
 * where in the avail ring it was placed, its chain length and writable
 * bytes, and a sequence number that is non-zero while it is issued.  The
 * sequence is stored last (release) when a request is added, and zeroed
 * when its completion is fetched, right after @commit: the consumed used
 * index with the sequence of the request it consumed, in one 64-bit store.
 * So whatever instruction the process dies at, a restore can tell every
 * head apart: free, issued and published, issued but not yet published
 * (the avail index never covered it), or fetched (the commit names it).
 */
#define VQ_PERSIST_MAGIC	0x75767170u	/* "uvqp" */

struct vq_prec {
	uint64_t cookie;
	uint64_t seq;
	uint32_t wlen;
	uint16_t avail_pos;
	uint16_t ndesc;
};

struct vq_persist {
	uint32_t magic;
	uint16_t num;
	uint16_t used_shift;	/* used ring aligned to 1 << this; 0: old */
	uint64_t commit;	/* seq << 16 | last_used */
	struct vq_prec rec[];
};

struct vq_state {
	void *cookie;		/* non-NULL while the id is in flight */
	uint32_t wlen;		/* writable bytes posted */
	uint16_t ndesc;		/* ring descriptors / slots consumed */
	uint16_t last;		/* split: last descriptor id of the chain */
};

struct uvirtq {
	struct uvirtio_dev *dev;
	struct uvirtio_backend *be;
	uint16_t index;
	uint16_t num;
	bool packed;
	bool indirect;
	bool event_idx;
	bool cb_enabled;
	bool broken;
	bool in_order;		/* VIRTIO_F_IN_ORDER negotiated */
	bool in_batch;		/* in order: handing out a batch */
	int eventfd;
	struct uv_notify notify;
	bool notify_data;	/* VIRTIO_F_NOTIFICATION_DATA negotiated */
	uint16_t vqn;		/* the doorbell's queue: index or notify data */
	struct uvirtio_dma ring;
	struct uvirtio_dma indir;
	uint16_t max_indirect;
	struct vq_state *state;
	unsigned int in_flight;
	uint16_t num_free;	/* split: free descriptors; packed: slots */

	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *next;		/* shadow of desc[].next for free chains */
	uint16_t free_head;
	uint16_t avail_idx;	/* next avail index to write */
	uint16_t avail_pub;	/* avail index last published */
	uint16_t avail_kicked;	/* avail index the last kick decided on */
	uint16_t last_used;

	/* packed */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_ev;
	struct vring_packed_desc_event *dev_ev;
	uint16_t next_avail;
	bool avail_wrap;
	uint16_t last_used_p;
	bool used_wrap;
	uint16_t *free_ids;
	uint16_t nfree_ids;
	uint16_t added;		/* slots made available since last kick */

	/* queue programming, kept for uvirtq_reset() */
	struct uv_queue_setup qs;
	/* cookies uvirtq_reset() took back, handed out by uvirtq_get_used() */
	void **cancelled;
	unsigned int cancel_head;	/* next one to hand out */
	unsigned int ncancelled;	/* left to hand out; in @in_flight */

	/* persistent bookkeeping, or NULL (uvirtq_set_persist()) */
	struct vq_persist *persist;
	uint64_t pseq;			/* last sequence handed out */
	uint32_t used_align;		/* split: the used ring's alignment */

	/* in order (last: the layout above is the usual path's) */
	uint16_t ino_head;	/* split: head of the oldest chain */
	uint16_t batch_end;	/* the batch being handed out ends here */
	uint32_t batch_len;	/* with this length */
};

static inline uint16_t ld16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static inline uint16_t ld16_acq(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static inline void st16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static inline void st16_rel(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

static inline void full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

static int vq_check(struct uvirtq *vq)
{
	int err = atomic_load_explicit(&vq->dev->broken, memory_order_relaxed);

	if (vq->broken)
		return err == -ENODEV ? -ENODEV : -EIO;
	return err;
}

static int vq_break(struct uvirtq *vq)
{
	/*
	 * Ring memory of a function that was pulled out reads all-ones:
	 * that is a removal (-ENODEV), not a misbehaving device.
	 */
	int err = uvirtio_backend_removed(vq->dev->be) ? -ENODEV : -EIO;

	vq->broken = true;
	uv_dev_mark_broken(vq->dev, err);
	return vq_check(vq);
}

static uint16_t *split_used_event(struct uvirtq *vq)
{
	return (uint16_t *)&vq->avail->ring[vq->num];
}

static uint16_t *split_avail_event(struct uvirtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

/*
 * Where the split used ring starts.  The spec asks 4-byte alignment of a
 * modern device's used ring, but right after the avail ring it shares a
 * cache line with the avail ring's tail (used_event, the last entries),
 * which the driver writes while the device writes used->idx: every
 * completion then moves that line between the two CPUs.  Like Linux's
 * modern virtio-pci (SMP_CACHE_BYTES), start it on a cache line of its
 * own; a transport that needs more (legacy: 4096) gets that.
 */
#define SPLIT_USED_ALIGN	64u

static uint32_t split_used_align(uint32_t transport_align)
{
	return transport_align > SPLIT_USED_ALIGN ? transport_align :
						    SPLIT_USED_ALIGN;
}

static size_t split_used_off(uint16_t num, uint32_t align)
{
	size_t avail_end = 16u * num + 6u + 2u * num;

	return UV_ALIGN_UP(avail_end, (size_t)align);
}

static int layout_rings(struct uvirtq *vq, uint32_t align)
{
	size_t len, used_off = 0;
	int ret;

	if (vq->packed)
		len = 16u * vq->num + 2 * sizeof(struct vring_packed_desc_event);
	else {
		used_off = split_used_off(vq->num, align);
		len = used_off + 6u + 8u * vq->num;
	}
	ret = uvirtio_backend_dma_alloc(vq->be, len, &vq->ring);
	if (ret)
		return ret;
	if (vq->packed) {
		vq->pdesc = vq->ring.vaddr;
		vq->drv_ev = (void *)((char *)vq->ring.vaddr + 16u * vq->num);
		vq->dev_ev = vq->drv_ev + 1;
	} else {
		vq->desc = vq->ring.vaddr;
		vq->avail = (void *)((char *)vq->ring.vaddr + 16u * vq->num);
		vq->used = (void *)((char *)vq->ring.vaddr + used_off);
	}
	return 0;
}

static void init_free_state(struct uvirtq *vq)
{
	uint16_t i;

	if (vq->packed) {
		for (i = 0; i < vq->num; i++)
			vq->free_ids[i] = (uint16_t)(vq->num - 1 - i);
		vq->nfree_ids = vq->num;
		vq->avail_wrap = true;
		vq->used_wrap = true;
	} else {
		/* In order, the free list is the ring: it wraps to 0. */
		for (i = 0; i < vq->num; i++)
			vq->next[i] = vq->in_order ? (uint16_t)((i + 1) &
						    (vq->num - 1)) :
				      (uint16_t)(i + 1);
		vq->free_head = 0;
	}
	vq->num_free = vq->num;
	vq->ino_head = 0;
	vq->in_batch = false;
}

static void set_cb(struct uvirtq *vq, bool enable);

/* A queue object with what creating and restoring share; NULL: no memory. */
static struct uvirtq *vq_new(struct uvirtio_dev *dev, uint16_t index,
			     const struct uvirtq_params *params)
{
	struct uvirtq *vq = calloc(1, sizeof(*vq));

	if (!vq)
		return NULL;
	vq->dev = dev;
	vq->be = dev->be;
	vq->index = index;
	vq->eventfd = -1;
	vq->packed = uvirtio_dev_has_feature(dev, VIRTIO_F_RING_PACKED);
	vq->event_idx = uvirtio_dev_has_feature(dev, VIRTIO_RING_F_EVENT_IDX);
	vq->in_order = uvirtio_dev_has_feature(dev, VIRTIO_F_IN_ORDER);
	if (uvirtio_dev_has_feature(dev, VIRTIO_RING_F_INDIRECT_DESC) &&
	    params->max_indirect > 1) {
		vq->indirect = true;
		vq->max_indirect = params->max_indirect;
	}
	return vq;
}

/*
 * A chain, the entries of its indirect table included, may not be longer
 * than the queue (spec 2.7.5.3.1, "A driver MUST NOT create a descriptor
 * chain longer than the Queue Size of the device"): devices that check it
 * (libvhost-server, DPDK) refuse a longer indirect table.
 */
static void vq_set_num(struct uvirtq *vq, uint16_t num)
{
	vq->num = num;
	if (vq->indirect && vq->max_indirect > num)
		vq->max_indirect = num;
	if (vq->max_indirect <= 1)
		vq->indirect = false;
}

UV_EXPORT int uvirtq_create(struct uvirtio_dev *dev, uint16_t index,
			    const struct uvirtq_params *params,
			    struct uvirtq **out)
{
	const struct uv_transport_ops *t = dev->tops;
	struct uvirtq_params defp = { .use_interrupts = false, .cpu = -1 };
	struct uv_queue_setup qs = { 0 };
	struct uvirtq *vq;
	int ret, max;

	if (!out)
		return -EINVAL;
	if (!params)
		params = &defp;
	if (index >= dev->num_queues)
		return -ENODEV;
	max = t->queue_size(dev, index);
	if (max < 0)
		return max;
	if (max == 0)
		return -ENODEV;
	vq = vq_new(dev, index, params);
	if (!vq)
		return -ENOMEM;
	vq_set_num(vq, params->size ? params->size : (uint16_t)max);
	ret = -EINVAL;
	if (vq->num > max || (t->fixed_queue_size && vq->num != max))
		goto err;
	if (vq->packed ? vq->num > PACKED_MAX_SIZE :
	    (vq->num > SPLIT_MAX_SIZE || (vq->num & (vq->num - 1))))
		goto err;
	ret = -ENOMEM;
	vq->state = calloc(vq->num, sizeof(*vq->state));
	if (vq->packed)
		vq->free_ids = calloc(vq->num, sizeof(uint16_t));
	else
		vq->next = calloc(vq->num, sizeof(uint16_t));
	if (!vq->state || (!vq->free_ids && !vq->next))
		goto err;
	init_free_state(vq);
	vq->used_align = split_used_align(t->split_align);
	ret = layout_rings(vq, vq->used_align);
	if (ret)
		goto err;
	if (vq->indirect) {
		ret = uvirtio_backend_dma_alloc(vq->be,
				(size_t)vq->num * vq->max_indirect * 16u,
				&vq->indir);
		if (ret)
			goto err;
	}
	qs.index = index;
	qs.size = vq->num;
	qs.vector = VIRTIO_MSI_NO_VECTOR;
	if (params->use_interrupts) {
		ret = uv_dev_queue_irq(dev, index, params->cpu, &qs.vector);
		if (ret < 0)
			goto err;
		vq->eventfd = ret;
	}
	/* Interrupts on iff requested; set before the device sees the ring. */
	set_cb(vq, params->use_interrupts);
	qs.desc = vq->ring.iova;
	if (vq->packed) {
		qs.driver = vq->ring.iova + 16u * vq->num;
		qs.device = qs.driver + sizeof(struct vring_packed_desc_event);
	} else {
		qs.driver = vq->ring.iova + 16u * vq->num;
		qs.device = vq->ring.iova + split_used_off(vq->num,
							   vq->used_align);
	}
	vq->qs = qs;
	ret = t->queue_setup(dev, &qs);
	if (ret)
		goto err;
	ret = t->queue_notify_info(dev, index, &vq->notify);
	if (ret)
		goto err;
	vq->vqn = (uint16_t)vq->notify.value;
	vq->notify_data = uvirtio_dev_has_feature(dev,
						   VIRTIO_F_NOTIFICATION_DATA);
	if (vq->notify_data)
		vq->notify.width = 4;
	*out = vq;
	return 0;
err:
	uvirtq_destroy(vq);
	return ret;
}

UV_EXPORT void uvirtq_destroy(struct uvirtq *vq)
{
	if (!vq)
		return;
	uvirtio_backend_dma_free(vq->be, &vq->ring);
	uvirtio_backend_dma_free(vq->be, &vq->indir);
	free(vq->state);
	free(vq->next);
	free(vq->free_ids);
	free(vq->cancelled);
	free(vq);
}

UV_EXPORT int uvirtq_reset(struct uvirtq *vq)
{
	const struct uv_transport_ops *t = vq->dev->tops;
	unsigned int i, n, ring_inflight;
	void **cancelled;
	int ret;

	ret = vq_check(vq);
	if (ret)
		return ret;
	if (!t->queue_reset ||
	    !uvirtio_dev_has_feature(vq->dev, VIRTIO_F_RING_RESET))
		return -EOPNOTSUPP;
	ring_inflight = vq->in_flight - vq->ncancelled;
	/* Room for every cookie that can be out: ring plus earlier resets. */
	if (vq->cancel_head) {
		memmove(vq->cancelled, vq->cancelled + vq->cancel_head,
			vq->ncancelled * sizeof(*vq->cancelled));
		vq->cancel_head = 0;
	}
	if (!vq->cancelled) {
		vq->cancelled = calloc(vq->num, sizeof(*vq->cancelled));
		if (!vq->cancelled)
			return -ENOMEM;
	}
	if (vq->ncancelled + ring_inflight > vq->num) {
		cancelled = realloc(vq->cancelled, (vq->ncancelled +
				    ring_inflight) * sizeof(*cancelled));
		if (!cancelled)
			return -ENOMEM;
		vq->cancelled = cancelled;
	}
	ret = t->queue_reset(vq->dev, vq->index);
	if (ret) {
		/*
		 * The device may still own the ring: it cannot be reused,
		 * and what is in flight cannot be handed back.
		 */
		vq->broken = true;
		return ret;
	}
	/* The device let go of the ring: take back every id in flight. */
	n = 0;
	for (i = 0; i < vq->num && n < ring_inflight; i++) {
		if (!vq->state[i].cookie)
			continue;
		vq->cancelled[vq->ncancelled + n++] = vq->state[i].cookie;
	}
	vq->ncancelled += n;
	vq->in_flight = vq->ncancelled;
	memset(vq->state, 0, vq->num * sizeof(*vq->state));
	memset(vq->ring.vaddr, 0, vq->ring.len);
	if (vq->persist) {
		/* the cookies taken back are in @cancelled now */
		memset(vq->persist->rec, 0, vq->num * sizeof(struct vq_prec));
		__atomic_store_n(&vq->persist->commit, 0, __ATOMIC_RELEASE);
	}
	init_free_state(vq);
	vq->avail_idx = vq->avail_pub = vq->avail_kicked = 0;
	vq->last_used = 0;
	vq->next_avail = vq->last_used_p = 0;
	vq->added = 0;
	set_cb(vq, vq->cb_enabled);
	full_fence();
	ret = t->queue_setup(vq->dev, &vq->qs);
	if (!ret)
		ret = t->queue_notify_info(vq->dev, vq->index, &vq->notify);
	if (ret) {
		vq->broken = true;
		return ret;
	}
	vq->vqn = (uint16_t)vq->notify.value;
	if (vq->notify_data)
		vq->notify.width = 4;
	return (int)n;
}

/*
 * Fill the indirect table of id @id; return its IOVA.  The table uses the
 * ring's own descriptor format: split tables chain with NEXT/next, packed
 * ones (struct pvirtq_desc, spec 2.8.19) are read in sequence and WRITE is
 * their only valid flag.
 */
static uint64_t fill_indirect(struct uvirtq *vq, uint16_t id,
			      const struct uvirtq_buf *out, unsigned int n_out,
			      const struct uvirtq_buf *in, unsigned int n_in)
{
	size_t off = (size_t)id * vq->max_indirect * 16u;
	void *tbl = (char *)vq->indir.vaddr + off;
	unsigned int i, n = n_out + n_in;

	for (i = 0; i < n; i++) {
		const struct uvirtq_buf *b = i < n_out ? &out[i] :
							 &in[i - n_out];
		uint16_t wr = i >= n_out ? VRING_DESC_F_WRITE : 0;

		if (vq->packed) {
			struct vring_packed_desc *t = tbl;

			t[i] = (struct vring_packed_desc){
				.addr = b->iova, .len = b->len, .id = 0,
				.flags = wr,
			};
		} else {
			struct vring_desc *t = tbl;

			t[i] = (struct vring_desc){
				.addr = b->iova, .len = b->len,
				.flags = (uint16_t)(wr | (i + 1 < n ?
						VRING_DESC_F_NEXT : 0)),
				.next = (uint16_t)(i + 1 < n ? i + 1 : 0),
			};
		}
	}
	return vq->indir.iova + off;
}

static int split_add(struct uvirtq *vq, const struct uvirtq_buf *out,
		     unsigned int n_out, const struct uvirtq_buf *in,
		     unsigned int n_in, bool use_ind, uint32_t wlen,
		     void *cookie)
{
	unsigned int i, n = n_out + n_in, needed = use_ind ? 1 : n;
	uint16_t head = vq->free_head, id = head, last = head;

	if (vq->num_free < needed)
		return -EAGAIN;
	if (use_ind) {
		vq->desc[head].addr = fill_indirect(vq, head, out, n_out, in,
						    n_in);
		vq->desc[head].len = n * 16u;
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		id = vq->next[head];
	} else {
		for (i = 0; i < n; i++) {
			const struct uvirtq_buf *b = i < n_out ? &out[i] :
								 &in[i - n_out];

			vq->desc[id].addr = b->iova;
			vq->desc[id].len = b->len;
			vq->desc[id].flags = (uint16_t)(
				(i + 1 < n ? VRING_DESC_F_NEXT : 0) |
				(i >= n_out ? VRING_DESC_F_WRITE : 0));
			vq->desc[id].next = i + 1 < n ? vq->next[id] : 0;
			last = id;
			id = vq->next[id];
		}
	}
	vq->free_head = id;
	vq->num_free = (uint16_t)(vq->num_free - needed);
	vq->state[head] = (struct vq_state){ cookie, wlen, (uint16_t)needed,
					     last };
	if (vq->persist) {
		struct vq_prec *r = &vq->persist->rec[head];

		r->cookie = (uintptr_t)cookie;
		r->wlen = wlen;
		r->avail_pos = vq->avail_idx;
		r->ndesc = (uint16_t)needed;
		/* last: a restore trusts the record once seq is set */
		__atomic_store_n(&r->seq, ++vq->pseq, __ATOMIC_RELEASE);
	}
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = head;
	vq->avail_idx++;
	return 0;
}

static uint16_t packed_flags(bool wrap, uint16_t f)
{
	return (uint16_t)(f | ((wrap ? 1 : 0) << VRING_PACKED_DESC_F_AVAIL) |
			  ((wrap ? 0 : 1) << VRING_PACKED_DESC_F_USED));
}

static void packed_advance(struct uvirtq *vq)
{
	if (++vq->next_avail == vq->num) {
		vq->next_avail = 0;
		vq->avail_wrap = !vq->avail_wrap;
	}
}

static int packed_add(struct uvirtq *vq, const struct uvirtq_buf *out,
		      unsigned int n_out, const struct uvirtq_buf *in,
		      unsigned int n_in, bool use_ind, uint32_t wlen,
		      void *cookie)
{
	unsigned int i, n = n_out + n_in, needed = use_ind ? 1 : n;
	uint16_t id, head = vq->next_avail, head_flags = 0;

	if (vq->num_free < needed || !vq->nfree_ids)
		return -EAGAIN;
	/* In order, the id is the head's slot: unique among those in flight. */
	id = vq->in_order ? head : vq->free_ids[--vq->nfree_ids];
	if (id >= vq->num)
		return vq_break(vq);	/* cannot happen; defensive */
	if (use_ind) {
		struct vring_packed_desc *d = &vq->pdesc[head];

		d->addr = fill_indirect(vq, id, out, n_out, in, n_in);
		d->len = n * 16u;
		d->id = id;
		head_flags = packed_flags(vq->avail_wrap,
					  VRING_DESC_F_INDIRECT);
		packed_advance(vq);
	} else {
		for (i = 0; i < n; i++) {
			const struct uvirtq_buf *b = i < n_out ? &out[i] :
								 &in[i - n_out];
			struct vring_packed_desc *d =
				&vq->pdesc[vq->next_avail];
			uint16_t f = packed_flags(vq->avail_wrap, (uint16_t)(
				(i + 1 < n ? VRING_DESC_F_NEXT : 0) |
				(i >= n_out ? VRING_DESC_F_WRITE : 0)));

			d->addr = b->iova;
			d->len = b->len;
			d->id = id;	/* spec: last; set on all for safety */
			if (i == 0)
				head_flags = f;
			else
				st16(&d->flags, f);
			packed_advance(vq);
		}
	}
	vq->state[id] = (struct vq_state){ cookie, wlen, (uint16_t)needed, 0 };
	vq->num_free = (uint16_t)(vq->num_free - needed);
	/*
	 * Saturated, never wrapped to 0: past a ring's worth, any event
	 * offset behind the driver then reads as passed (packed_need_kick()).
	 */
	vq->added = (uint16_t)UV_MIN(vq->added + needed, 0x8000u);
	/* Publishing the head makes the whole chain available. */
	st16_rel(&vq->pdesc[head].flags, head_flags);
	return 0;
}

UV_EXPORT int uvirtq_add(struct uvirtq *vq, const struct uvirtq_buf *out,
			 unsigned int n_out, const struct uvirtq_buf *in,
			 unsigned int n_in, void *cookie)
{
	unsigned int n = n_out + n_in, i;
	uint64_t wlen = 0;
	bool use_ind;
	int ret;

	ret = vq_check(vq);
	if (ret)
		return ret;
	if (!cookie || n == 0 || (n_out && !out) || (n_in && !in))
		return -EINVAL;
	for (i = 0; i < n_out; i++)
		if (!out[i].len)
			return -EINVAL;
	for (i = 0; i < n_in; i++) {
		if (!in[i].len)
			return -EINVAL;
		wlen += in[i].len;
	}
	if (wlen > UINT32_MAX)
		return -EINVAL;
	use_ind = vq->indirect && n > 1 && n <= vq->max_indirect;
	if (!use_ind && n > vq->num)
		return -EINVAL;
	if (vq->packed)
		ret = packed_add(vq, out, n_out, in, n_in, use_ind,
				 (uint32_t)wlen, cookie);
	else
		ret = split_add(vq, out, n_out, in, n_in, use_ind,
				(uint32_t)wlen, cookie);
	if (!ret)
		vq->in_flight++;
	return ret;
}

static bool split_need_kick(struct uvirtq *vq, uint16_t old, uint16_t new)
{
	if (vq->event_idx)
		return uvirtio_need_event(ld16(split_avail_event(vq)), new, old);
	return !(ld16(&vq->used->flags) & VRING_USED_F_NO_NOTIFY);
}

static bool packed_need_kick(struct uvirtq *vq)
{
	uint16_t flags = ld16(&vq->dev_ev->flags);
	uint16_t off_wrap, ev, new, old;

	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true;
	off_wrap = ld16(&vq->dev_ev->off_wrap);
	ev = off_wrap & 0x7fff;
	/*
	 * Work in one linear frame: slots of the current wrap are
	 * [0, num), those of the previous wrap [-num, 0) (mod 2^16).
	 */
	new = vq->next_avail;
	old = (uint16_t)(new - vq->added);
	if ((bool)(off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) != vq->avail_wrap)
		ev = (uint16_t)(ev - vq->num);
	return uvirtio_need_event(ev, new, old);
}

UV_EXPORT int uvirtq_kick(struct uvirtq *vq)
{
	bool need;
	int ret;

	ret = vq_check(vq);
	if (ret)
		return ret;
	if (vq->packed) {
		if (!vq->added)
			return 0;
		/* Head flags were store-released; order them before the load. */
		full_fence();
		need = packed_need_kick(vq);
		vq->added = 0;
	} else {
		uint16_t old = vq->avail_kicked, new = vq->avail_idx;

		if (old == new)
			return 0;
		if (vq->avail_pub != new) {
			st16_rel(&vq->avail->idx, new);
			vq->avail_pub = new;
		}
		vq->avail_kicked = new;
		full_fence();
		need = split_need_kick(vq, old, new);
	}
	if (!need)
		return 0;
	/*
	 * Spec 2.9: with NOTIFICATION_DATA the doorbell also says where the
	 * driver's ring stands: the next avail index (split), or the next
	 * offset and its wrap counter (packed), in the high 16 bits.
	 */
	if (vq->notify_data)
		vq->notify.value = vq->vqn |
			(uint32_t)(vq->packed ?
				   (vq->next_avail | vq->avail_wrap << 15) :
				   vq->avail_idx) << 16;
	/*
	 * A doorbell the backend could not write leaves the device unaware
	 * of the request: a waiter would wait forever.  The queue is broken.
	 */
	if (uv_ring_doorbell(vq->dev, &vq->notify))
		return vq_break(vq);
	return 1;
}

UV_EXPORT int uvirtq_publish(struct uvirtq *vq)
{
	int ret = vq_check(vq);

	if (ret)
		return ret;
	/*
	 * The next kick decides for everything added since the last one, in
	 * 16-bit indices: after a ring's worth, decide now (it rings only
	 * if the device asked), so that window never grows past the ring.
	 */
	if (vq->packed ? vq->added >= vq->num :
	    (uint16_t)(vq->avail_idx - vq->avail_kicked) >= vq->num)
		return uvirtq_kick(vq);
	/* Packed: uvirtq_add() store-released the head flags already. */
	if (!vq->packed && vq->avail_pub != vq->avail_idx) {
		st16_rel(&vq->avail->idx, vq->avail_idx);
		vq->avail_pub = vq->avail_idx;
	}
	return 0;
}

static void set_cb(struct uvirtq *vq, bool enable)
{
	vq->cb_enabled = enable;
	if (vq->packed) {
		if (!enable) {
			st16(&vq->drv_ev->flags,
			     VRING_PACKED_EVENT_FLAG_DISABLE);
		} else if (vq->event_idx) {
			st16(&vq->drv_ev->off_wrap, (uint16_t)(vq->last_used_p |
			     (vq->used_wrap << VRING_PACKED_EVENT_F_WRAP_CTR)));
			st16_rel(&vq->drv_ev->flags,
				 VRING_PACKED_EVENT_FLAG_DESC);
		} else {
			st16(&vq->drv_ev->flags,
			     VRING_PACKED_EVENT_FLAG_ENABLE);
		}
	} else {
		if (vq->event_idx)
			/* Disabled: point used_event behind us (2^16 away). */
			st16(split_used_event(vq), enable ? vq->last_used :
			     (uint16_t)(vq->last_used - 1));
		st16(&vq->avail->flags,
		     enable ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
	}
}

static bool packed_is_used(struct uvirtq *vq, uint16_t pos, bool wrap)
{
	uint16_t f = ld16_acq(&vq->pdesc[pos].flags);
	bool a = f & (1u << VRING_PACKED_DESC_F_AVAIL);
	bool u = f & (1u << VRING_PACKED_DESC_F_USED);

	return a == u && u == wrap;
}

static bool more_used(struct uvirtq *vq)
{
	if (vq->in_batch)
		return true;	/* the rest of a batch is not in the ring */
	if (vq->packed)
		return packed_is_used(vq, vq->last_used_p, vq->used_wrap);
	return ld16_acq(&vq->used->idx) != vq->last_used;
}

UV_EXPORT int uvirtq_enable_cb(struct uvirtq *vq)
{
	int ret = vq_check(vq);

	if (ret)
		return ret;
	set_cb(vq, true);
	/* Publish the event index before re-checking the used ring. */
	full_fence();
	return more_used(vq) ? 1 : 0;
}

UV_EXPORT void uvirtq_disable_cb(struct uvirtq *vq)
{
	set_cb(vq, false);
}

static int split_get_used(struct uvirtq *vq, void **cookie, uint32_t *len)
{
	uint16_t uidx = ld16_acq(&vq->used->idx);
	uint16_t pending = (uint16_t)(uidx - vq->last_used);
	struct vring_used_elem *e;
	struct vq_state *s;
	uint32_t id, l;

	if (!pending)
		return 0;
	if (pending > vq->in_flight - vq->ncancelled)
		return vq_break(vq);	/* used index ran ahead */
	e = &vq->used->ring[vq->last_used & (vq->num - 1)];
	id = e->id;
	l = e->len;
	if (id >= vq->num)
		return vq_break(vq);
	s = &vq->state[id];
	if (!s->cookie || l > s->wlen)
		return vq_break(vq);	/* not an in-flight head / too long */
	if (vq->persist) {
		struct vq_prec *r = &vq->persist->rec[id];

		/* The fetch is the commit; then the head is free. */
		__atomic_store_n(&vq->persist->commit,
				 r->seq << 16 | (uint16_t)(vq->last_used + 1),
				 __ATOMIC_RELEASE);
		__atomic_store_n(&r->seq, 0, __ATOMIC_RELEASE);
	}
	/* Free the chain from shadow state, never from shared memory. */
	vq->next[s->last] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + s->ndesc);
	*cookie = s->cookie;
	*len = l;
	s->cookie = NULL;
	vq->last_used++;
	if (vq->event_idx)
		st16(split_used_event(vq), vq->cb_enabled ? vq->last_used :
		     (uint16_t)(vq->last_used - 1));
	return 1;
}

static int packed_get_used(struct uvirtq *vq, void **cookie, uint32_t *len)
{
	uint16_t pos = vq->last_used_p, id;
	struct vq_state *s;
	uint32_t l;

	if (!packed_is_used(vq, pos, vq->used_wrap))
		return 0;
	id = vq->pdesc[pos].id;
	l = vq->pdesc[pos].len;
	if (id >= vq->num)
		return vq_break(vq);
	s = &vq->state[id];
	/*
	 * The length of a used chain the device could not write into is
	 * "reserved ... and ignored by drivers" (packed ring): DPDK's vhost
	 * puts the readable length there.  Writable chains stay checked.
	 */
	if (s->cookie && !s->wlen)
		l = 0;
	if (!s->cookie || l > s->wlen || !s->ndesc)
		return vq_break(vq);
	vq->last_used_p = (uint16_t)(pos + s->ndesc);
	if (vq->last_used_p >= vq->num) {
		vq->last_used_p = (uint16_t)(vq->last_used_p - vq->num);
		vq->used_wrap = !vq->used_wrap;
	}
	vq->num_free = (uint16_t)(vq->num_free + s->ndesc);
	vq->free_ids[vq->nfree_ids++] = id;
	*cookie = s->cookie;
	*len = l;
	s->cookie = NULL;
	if (vq->cb_enabled && vq->event_idx)
		st16(&vq->drv_ev->off_wrap, (uint16_t)(vq->last_used_p |
		     (vq->used_wrap << VRING_PACKED_EVENT_F_WRAP_CTR)));
	return 1;
}

/*
 * In order: the chain after the one at @h (a head in flight), in the
 * ring's descriptors (split) or slots (packed).
 */
static uint16_t ino_next(const struct uvirtq *vq, uint16_t h)
{
	uint32_t n = (uint32_t)h + vq->state[h].ndesc;

	return (uint16_t)(n >= vq->num ? n - vq->num : n);
}

/*
 * In order: a used entry names the last chain of a batch.  It must be
 * one of the @max oldest chains in flight (split: @max is how far the
 * used index moved, every chain of the batch counting one; packed: all
 * in flight).  Remember where the batch ends and its length.
 */
static inline __attribute__((always_inline)) int
ino_start_batch(struct uvirtq *vq, uint32_t id, uint32_t l, unsigned int max)
{
	uint16_t h = vq->packed ? vq->last_used_p : vq->ino_head;
	unsigned int n;
	struct vq_state *s;

	/*
	 * The @max oldest are in flight, each a head with a cookie: an id
	 * out of range or not a head is never met on the way.
	 */
	for (n = 1;; n++) {
		s = &vq->state[h];
		if (n > max)
			return vq_break(vq);	/* not among those in flight */
		if (!s->cookie)
			return vq_break(vq);	/* cannot happen; defensive */
		if (h == id)
			break;
		h = ino_next(vq, h);
	}
	/* As for any packed chain: no writable buffer, no length. */
	if (vq->packed && !s->wlen)
		l = 0;
	if (l > s->wlen)
		return vq_break(vq);
	vq->batch_end = (uint16_t)id;
	vq->batch_len = l;
	vq->in_batch = true;
	return 0;
}

/* In order: hand out the oldest chain of the batch in progress. */
static int ino_pop(struct uvirtq *vq, uint16_t h, void **cookie,
		   uint32_t *len)
{
	struct vq_state *s = &vq->state[h];

	*cookie = s->cookie;
	*len = s->wlen;
	if (h == vq->batch_end) {
		*len = vq->batch_len;
		vq->in_batch = false;
	}
	s->cookie = NULL;
	vq->num_free = (uint16_t)(vq->num_free + s->ndesc);
	return 1;
}

static int split_get_used_ino(struct uvirtq *vq, void **cookie, uint32_t *len)
{
	uint16_t h = vq->ino_head;
	int ret;

	if (!vq->in_batch) {
		uint16_t uidx = ld16_acq(&vq->used->idx);
		uint16_t pending = (uint16_t)(uidx - vq->last_used);
		struct vring_used_elem *e;

		if (!pending)
			return 0;
		/* No further than the chains published and not yet used. */
		if (pending > (uint16_t)(vq->avail_pub - vq->last_used))
			return vq_break(vq);	/* used index ran ahead */
		e = &vq->used->ring[vq->last_used & (vq->num - 1)];
		ret = ino_start_batch(vq, e->id, e->len, pending);
		if (ret)
			return ret;
	}
	vq->ino_head = ino_next(vq, h);
	ino_pop(vq, h, cookie, len);
	vq->last_used++;
	if (vq->event_idx)
		st16(split_used_event(vq), vq->cb_enabled ? vq->last_used :
		     (uint16_t)(vq->last_used - 1));
	return 1;
}

static int packed_get_used_ino(struct uvirtq *vq, void **cookie, uint32_t *len)
{
	uint16_t pos = vq->last_used_p;
	uint32_t next;
	int ret;

	if (!vq->in_batch) {
		if (!packed_is_used(vq, pos, vq->used_wrap))
			return 0;
		ret = ino_start_batch(vq, vq->pdesc[pos].id,
				      vq->pdesc[pos].len,
				      vq->in_flight - vq->ncancelled);
		if (ret)
			return ret;
	}
	/* The batch's other descriptors are skipped, never read. */
	next = (uint32_t)pos + vq->state[pos].ndesc;
	if (next >= vq->num) {
		next -= vq->num;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->last_used_p = (uint16_t)next;
	ino_pop(vq, pos, cookie, len);
	if (vq->cb_enabled && vq->event_idx)
		st16(&vq->drv_ev->off_wrap, (uint16_t)(vq->last_used_p |
		     (vq->used_wrap << VRING_PACKED_EVENT_F_WRAP_CTR)));
	return 1;
}

/*
 * Out of line: requests a reset took back, and in-order queues.  The
 * usual path then has one test more than before IN_ORDER, not the code.
 */
static __attribute__((noinline)) int get_used_slow(struct uvirtq *vq,
						   void **cookie,
						   uint32_t *len)
{
	int ret;

	if (vq->ncancelled) {
		/* oldest first: the order they were taken back in */
		*cookie = vq->cancelled[vq->cancel_head++];
		*len = 0;
		if (!--vq->ncancelled)
			vq->cancel_head = 0;
		vq->in_flight--;
		return UVIRTQ_CANCELED;
	}
	ret = vq->packed ? packed_get_used_ino(vq, cookie, len) :
			   split_get_used_ino(vq, cookie, len);
	if (ret == 1)
		vq->in_flight--;
	return ret;
}

UV_EXPORT int uvirtq_get_used(struct uvirtq *vq, void **cookie, uint32_t *len)
{
	int ret = vq_check(vq);

	if (ret)
		return ret;
	if (!cookie || !len)
		return -EINVAL;
	if (__builtin_expect(vq->ncancelled || vq->in_order, 0))
		return get_used_slow(vq, cookie, len);
	ret = vq->packed ? packed_get_used(vq, cookie, len) :
			   split_get_used(vq, cookie, len);
	if (ret == 1)
		vq->in_flight--;
	return ret;
}

UV_EXPORT int uvirtq_eventfd(struct uvirtq *vq)
{
	return vq->eventfd >= 0 ? vq->eventfd : -ENOENT;
}

UV_EXPORT int uvirtq_set_irq_cpu(struct uvirtq *vq, int cpu)
{
	int ret;

	if (!vq || cpu < -1)
		return -EINVAL;
	if (vq->eventfd < 0)
		return -ENOENT;
	ret = uvirtio_backend_irq_eventfd(vq->be, vq->qs.vector, cpu);
	return ret < 0 ? ret : 0;
}

UV_EXPORT unsigned int uvirtq_size(const struct uvirtq *vq)
{
	return vq->num;
}

UV_EXPORT unsigned int uvirtq_num_free(const struct uvirtq *vq)
{
	return vq->packed ? UV_MIN(vq->num_free, vq->nfree_ids) : vq->num_free;
}

UV_EXPORT unsigned int uvirtq_in_flight(const struct uvirtq *vq)
{
	return vq->in_flight;
}

UV_EXPORT bool uvirtq_is_packed(const struct uvirtq *vq)
{
	return vq->packed;
}

UV_EXPORT bool uvirtq_is_broken(const struct uvirtq *vq)
{
	return vq->broken;
}

UV_EXPORT unsigned int uvirtq_max_chain(const struct uvirtq *vq)
{
	if (vq->indirect && vq->max_indirect > vq->num)
		return vq->max_indirect;
	return vq->num;
}

UV_EXPORT struct uvirtio_dev *uvirtq_device(struct uvirtq *vq)
{
	return vq->dev;
}

/* ---- persistent queues (keep-alive) ------------------------------------ */

UV_EXPORT size_t uvirtq_persist_size(uint16_t num)
{
	return sizeof(struct vq_persist) + (size_t)num * sizeof(struct vq_prec);
}

UV_EXPORT int uvirtq_set_persist(struct uvirtq *vq, void *mem, size_t len)
{
	struct vq_persist *p = mem;

	if (!vq || !mem || ((uintptr_t)mem & 7) ||
	    len < uvirtq_persist_size(vq->num))
		return -EINVAL;
	/* The rebuild knows neither the packed ring nor ring-order lists. */
	if (vq->packed || vq->in_order)
		return -EOPNOTSUPP;
	if (vq->in_flight)
		return -EBUSY;
	memset(p, 0, uvirtq_persist_size(vq->num));
	p->num = vq->num;
	p->used_shift = (uint16_t)__builtin_ctz(vq->used_align);
	p->commit = (uint16_t)vq->last_used;
	__atomic_store_n(&p->magic, VQ_PERSIST_MAGIC, __ATOMIC_RELEASE);
	vq->persist = p;
	return 0;
}

UV_EXPORT uint64_t uvirtq_ring_iova(const struct uvirtq *vq)
{
	return vq->ring.iova;
}

UV_EXPORT uint64_t uvirtq_indirect_iova(const struct uvirtq *vq)
{
	return vq->indirect ? vq->indir.iova : 0;
}

/*
 * Rebuild the driver side of a split queue from the ring and the
 * persistent records: which heads the device owns, their chains, the
 * free list, and the indices.
 */
static int split_rebuild(struct uvirtq *vq)
{
	struct vq_persist *p = vq->persist;
	uint64_t commit = __atomic_load_n(&p->commit, __ATOMIC_ACQUIRE);
	uint16_t L = (uint16_t)commit, A, U, h, prev = 0;
	uint64_t S = commit >> 16;
	unsigned int published = 0, nfree = 0, i, k;
	bool *busy, have_prev = false;
	int ret = -EIO;

	/* A fetch that died between its commit and freeing its head. */
	if (S) {
		uint32_t id = vq->used->ring[(uint16_t)(L - 1) &
					     (vq->num - 1)].id;

		if (id < vq->num && p->rec[id].seq == S)
			__atomic_store_n(&p->rec[id].seq, 0, __ATOMIC_RELEASE);
	}
	A = ld16_acq(&vq->avail->idx);
	U = ld16_acq(&vq->used->idx);
	busy = calloc(vq->num, sizeof(*busy));
	vq->cancelled = calloc(vq->num, sizeof(*vq->cancelled));
	if (!busy || !vq->cancelled) {
		ret = -ENOMEM;
		goto out;
	}
	for (h = 0; h < vq->num; h++) {
		struct vq_prec *r = &p->rec[h];
		uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		uint16_t d, id = h, last = h;

		if (!seq)
			continue;
		if (seq > vq->pseq)
			vq->pseq = seq;
		if (!r->cookie || !r->ndesc || r->ndesc > vq->num)
			goto out;
		d = (uint16_t)(A - r->avail_pos);
		if (!d || d > vq->num) {
			/* added, never published: the device never saw it */
			vq->cancelled[vq->ncancelled++] =
				(void *)(uintptr_t)r->cookie;
			__atomic_store_n(&r->seq, 0, __ATOMIC_RELEASE);
			continue;
		}
		for (k = 0; k < r->ndesc; k++) {
			if (id >= vq->num || busy[id])
				goto out;
			busy[id] = true;
			last = id;
			if (k + 1 < r->ndesc) {
				if (!(vq->desc[id].flags & VRING_DESC_F_NEXT))
					goto out;
				vq->next[id] = vq->desc[id].next;
				id = vq->desc[id].next;
			}
		}
		vq->state[h] = (struct vq_state){ (void *)(uintptr_t)r->cookie,
						  r->wlen, r->ndesc, last };
		published++;
	}
	if (S > vq->pseq)
		vq->pseq = S;
	/* The device cannot have completed more than it was given. */
	if ((uint16_t)(U - L) > published)
		goto out;
	for (i = 0; i < vq->num; i++) {
		if (busy[i])
			continue;
		if (have_prev)
			vq->next[prev] = (uint16_t)i;
		else
			vq->free_head = (uint16_t)i;
		prev = (uint16_t)i;
		have_prev = true;
		nfree++;
	}
	if (have_prev)
		vq->next[prev] = (uint16_t)vq->num;	/* end of the list */
	else
		vq->free_head = (uint16_t)vq->num;
	vq->num_free = (uint16_t)nfree;
	vq->avail_idx = vq->avail_pub = vq->avail_kicked = A;
	vq->last_used = L;
	vq->in_flight = published + vq->ncancelled;
	ret = 0;
out:
	free(busy);
	return ret;
}

UV_EXPORT int uvirtq_restore(struct uvirtio_dev *dev, uint16_t index,
			     const struct uvirtq_params *params,
			     uint64_t ring_iova, uint64_t indir_iova,
			     void *mem, size_t len, struct uvirtq **out)
{
	const struct uv_transport_ops *t;
	struct vq_persist *p = mem;
	struct uvirtq *vq;
	size_t need;
	int ret;

	if (!dev || !params || !out || !mem || ((uintptr_t)mem & 7) ||
	    len < sizeof(*p))
		return -EINVAL;
	t = dev->tops;
	if (index >= dev->num_queues)
		return -ENODEV;
	if (uvirtio_dev_has_feature(dev, VIRTIO_F_RING_PACKED) ||
	    uvirtio_dev_has_feature(dev, VIRTIO_F_IN_ORDER))
		return -EOPNOTSUPP;
	if (__atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) != VQ_PERSIST_MAGIC ||
	    !p->num || (p->num & (p->num - 1)) || p->num > SPLIT_MAX_SIZE ||
	    len < uvirtq_persist_size(p->num) ||
	    (params->size && params->size != p->num))
		return -EIO;
	vq = vq_new(dev, index, params);
	if (!vq)
		return -ENOMEM;
	vq_set_num(vq, p->num);
	ret = -ENOMEM;
	vq->state = calloc(vq->num, sizeof(*vq->state));
	vq->next = calloc(vq->num, sizeof(uint16_t));
	if (!vq->state || !vq->next)
		goto err;
	ret = uvirtio_backend_restored(vq->be, ring_iova, &vq->ring);
	if (ret)
		goto err;
	/* the layout the saving process used: 0 from before used_shift */
	ret = -EIO;
	if (p->used_shift > 12 || (p->used_shift && p->used_shift < 2))
		goto err;
	vq->used_align = p->used_shift ? 1u << p->used_shift : t->split_align;
	if (vq->used_align < t->split_align)
		goto err;
	need = split_used_off(vq->num, vq->used_align) + 6u + 8u * vq->num;
	if (vq->ring.len < need)
		goto err;
	vq->desc = vq->ring.vaddr;
	vq->avail = (void *)((char *)vq->ring.vaddr + 16u * vq->num);
	vq->used = (void *)((char *)vq->ring.vaddr +
			    split_used_off(vq->num, vq->used_align));
	if (vq->indirect) {
		ret = indir_iova ? uvirtio_backend_restored(vq->be, indir_iova,
							    &vq->indir) :
				   -EIO;
		if (ret)
			goto err;
		ret = -EIO;
		if (vq->indir.len < (size_t)vq->num * vq->max_indirect * 16u)
			goto err;
	}
	vq->persist = p;
	ret = split_rebuild(vq);
	if (ret)
		goto err;
	vq->qs = (struct uv_queue_setup){
		.index = index, .size = vq->num, .vector = VIRTIO_MSI_NO_VECTOR,
		.desc = vq->ring.iova, .driver = vq->ring.iova + 16u * vq->num,
		.device = vq->ring.iova + split_used_off(vq->num,
							 vq->used_align),
	};
	if (params->use_interrupts) {
		/* signalled at once if the vector latched an interrupt */
		ret = uv_dev_queue_irq(dev, index, params->cpu, &vq->qs.vector);
		if (ret < 0)
			goto err;
		vq->eventfd = ret;
	}
	set_cb(vq, params->use_interrupts);
	full_fence();
	ret = t->queue_notify_info(dev, index, &vq->notify);
	if (ret)
		goto err;
	vq->vqn = (uint16_t)vq->notify.value;
	vq->notify_data = uvirtio_dev_has_feature(dev,
						   VIRTIO_F_NOTIFICATION_DATA);
	if (vq->notify_data)
		vq->notify.width = 4;
	/*
	 * The previous owner may have died between publishing the avail
	 * index and ringing the doorbell: the device would never look.  One
	 * notification more is harmless (spec 2.9), one fewer a hang.
	 */
	if (vq->in_flight > vq->ncancelled) {
		if (vq->notify_data)
			vq->notify.value = vq->vqn |
					   (uint32_t)vq->avail_idx << 16;
		uv_ring_doorbell(vq->dev, &vq->notify);
	}
	*out = vq;
	return 0;
err:
	/*
	 * The device may still be using the ring and the tables: they stay
	 * with the backend (the module frees them once the device is reset
	 * on release), not freed here.
	 */
	memset(&vq->ring, 0, sizeof(vq->ring));
	memset(&vq->indir, 0, sizeof(vq->indir));
	uvirtq_destroy(vq);
	return ret;
}

UV_EXPORT void uvirtq_detach(struct uvirtq *vq)
{
	if (!vq)
		return;
	/* The ring and the tables stay with the device (keep-alive). */
	free(vq->state);
	free(vq->next);
	free(vq->free_ids);
	free(vq->cancelled);
	free(vq);
}

UV_EXPORT unsigned int uvirtq_in_flight_cookies(const struct uvirtq *vq,
					       void **cookies,
					       unsigned int max)
{
	unsigned int n = 0, i;

	for (i = 0; i < vq->ncancelled; i++, n++)
		if (n < max)
			cookies[n] = vq->cancelled[vq->cancel_head + i];
	for (i = 0; i < vq->num; i++) {
		if (!vq->state[i].cookie)
			continue;
		if (n < max)
			cookies[n] = vq->state[i].cookie;
		n++;
	}
	return n;
}
