// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake_vq.c - the test device's rings: walking split, packed and indirect
 * descriptor chains, completing them (with the used-side fault
 * injections), interrupt suppression, and the device thread.
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

/* ---- ring processing (device side) ----------------------------------- */

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

/*
 * IN_ORDER (split): a chain starts at the descriptor after the previous
 * one and goes on with next = x + 1, wrapping to 0.  Counted, not fatal:
 * the tests look at the counter.
 */
static void check_in_order(struct uvirtio_fake *f, uint16_t i, uint16_t want)
{
	if (drv_has(f, VIRTIO_F_IN_ORDER) && i != want)
		f->st.inorder_errors++;
}

static bool walk_split(struct uvirtio_fake *f, struct fake_queue *q,
		       struct vring_desc *desc, uint16_t head,
		       struct fake_chain *c)
{
	unsigned int steps = 0;
	uint16_t i = head;

	c->head = c->id = head;
	c->ndesc = 0;
	check_in_order(f, head, q->ino_desc);
	for (;;) {
		struct vring_desc *d;

		if (i >= q->size || ++steps > q->size)
			return false;
		d = &desc[i];
		c->ndesc++;
		q->ino_desc = (uint16_t)((i + 1) & (q->size - 1));
		if (steps > 1)
			check_in_order(f, i, (uint16_t)((c->head + steps - 1) &
						     (q->size - 1)));
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

static bool take_fault(struct uvirtio_fake *f, enum uvirtio_fake_fault fault)
{
	if (f->fault != fault)
		return false;
	f->fault = 0;
	return true;
}

/* One used entry for @n requests (IN_ORDER batches); the index moves @n. */
static void split_put_used(struct fake_queue *q, struct vring_used *used,
			   uint32_t id, uint32_t len, uint16_t n)
{
	struct vring_used_elem *e = &used->ring[q->used_idx & (q->size - 1)];

	e->id = id;
	e->len = len;
	q->used_idx = (uint16_t)(q->used_idx + n);
}

/*
 * Complete @c, and with it the @n - 1 requests before it that got no
 * used entry of their own (IN_ORDER batch).  @next_id: the id of the
 * chain made available after @c, for UVIRTIO_FAKE_FAULT_INORDER_AHEAD.
 * Returns false if the device is to complete nothing more for now.
 */
static bool complete_split(struct uvirtio_fake *f, struct fake_queue *q,
			   struct vring_desc *desc, struct vring_used *used,
			   struct fake_chain *c, uint32_t len, uint16_t n,
			   uint32_t next_id)
{
	uint32_t id = c->id;
	bool go_on = true;

	if (take_fault(f, UVIRTIO_FAKE_FAULT_INORDER_AHEAD)) {
		id = next_id;
		go_on = false;
	} else if (take_fault(f, UVIRTIO_FAKE_FAULT_BAD_USED_ID))
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
	split_put_used(q, used, id, len, n);
	if (take_fault(f, UVIRTIO_FAKE_FAULT_DUP_USED))
		split_put_used(q, used, id, len, 1);
	if (take_fault(f, UVIRTIO_FAKE_FAULT_USED_IDX_JUMP))
		q->used_idx = (uint16_t)(q->used_idx + q->size + 1);
	f->st.completions += n;
	if (n > 1)
		f->st.inorder_batches++;
	return go_on;
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

/*
 * Complete @c, and with it the @n - 1 requests before it, which took
 * @slots ring slots with @c's (IN_ORDER batch; else @n 1, @slots its
 * own).  Adds the ring slots the used pointer advanced to *@adv; returns
 * false if the device is to complete nothing more for now.
 */
static bool complete_packed(struct uvirtio_fake *f, struct fake_queue *q,
			    struct vring_packed_desc *ring,
			    struct fake_chain *c, uint32_t len, uint16_t n,
			    uint16_t slots, uint16_t next_id, uint16_t *adv)
{
	uint16_t id = c->id;
	uint16_t pos = q->p_used;
	bool wrap = q->p_used_wrap;
	bool go_on = true;

	if (take_fault(f, UVIRTIO_FAKE_FAULT_INORDER_AHEAD)) {
		id = next_id;
		go_on = false;
	} else if (take_fault(f, UVIRTIO_FAKE_FAULT_BAD_USED_ID))
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
	packed_put_used(q, ring, id, len, slots);
	if (take_fault(f, UVIRTIO_FAKE_FAULT_DUP_USED)) {
		packed_put_used(q, ring, id, len, 1);
		slots++;
	}
	*adv = (uint16_t)(*adv + slots);
	f->st.completions += n;
	if (n > 1)
		f->st.inorder_batches++;
	return go_on;
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
	uint16_t used_start = q->used_idx, slots = 0, gn = 0, gslots = 0;
	uint16_t group = drv_has(f, VIRTIO_F_IN_ORDER) &&
			 !f->cfg.reverse_completion ? f->cfg.inorder_batch : 1;
	bool any = false;

	if (packed) {
		drv_ev = (void *)fake_xlat(f, q->driver, 4);
		dev_ev = (void *)fake_xlat(f, q->device, 4);
	} else {
		avail = (void *)fake_xlat(f, q->driver, 6 + 2ull * q->size);
		used = (void *)fake_xlat(f, q->device, 6 + 8ull * q->size);
	}
	if (!desc || (packed ? !drv_ev || !dev_ev : !avail || !used)) {
		fake_device_error(f);
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
				fake_device_error(f);
				break;
			}
			head = avail->ring[q->last_avail & (q->size - 1)];
			ok = walk_split(f, q, desc, head, c);
			q->last_avail++;
		}
		if (!ok) {
			free(c->segs);
			fake_device_error(f);
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
		uint16_t next_id;
		bool go_on;

		if (f->cfg.device_type == VIRTIO_ID_BLOCK) {
			fake_blk_execute(f, c, &len);
		} else if (!fake_rng_execute(f, c, &len)) {
			/* reset while we slept: the rings may be freed */
			for (; i < nb; i++)
				free(batch[f->cfg.reverse_completion ?
					   nb - 1 - i : i].segs);
			free(batch);
			return;
		}
		any = true;
		gn++;
		gslots = (uint16_t)(gslots + c->ndesc);
		/* IN_ORDER batches: no used entry until the group's last */
		if (group > 1 && gn < group && i + 1 < nb) {
			free(c->segs);
			continue;
		}
		/* what comes after @c: the next chain, or nothing in flight */
		if (i + 1 < nb)
			next_id = batch[i + 1].id;
		else
			next_id = packed ? q->p_avail : q->ino_desc;
		if (packed)
			go_on = complete_packed(f, q, (void *)desc, c, len, gn,
						gslots, next_id, &slots);
		else
			go_on = complete_split(f, q, desc, used, c, len, gn,
					       next_id);
		gn = 0;
		gslots = 0;
		free(c->segs);
		if (!go_on) {
			/* the rest stays taken and never completes */
			for (i++; i < nb; i++)
				free(batch[f->cfg.reverse_completion ?
					   nb - 1 - i : i].segs);
			break;
		}
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
			fake_raise_irq(f, q->vector, 1);
	}
out:
	free(batch);
}

void *fake_device_thread(void *arg)
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
