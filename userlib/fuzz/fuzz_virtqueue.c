// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_virtqueue.c - libFuzzer target: one virtqueue (split or packed,
 * with or without EVENT_IDX / indirect descriptors / IN_ORDER) driven
 * against a device whose every action comes from the fuzz input.  With
 * IN_ORDER the honest device completes the oldest chain it fetched;
 * anything else it writes is one of the malicious operations.
 *
 * Input: a 4-byte header, the device config space image, then a program
 * of one-byte opcodes with operands (see enum op).  Missing bytes read as
 * zero, so every input is valid.
 *
 * Checked (abort() on violation; ASan/UBSan report on their own):
 *  - every completion returned is a request in flight, returned once,
 *    with a length within the writable space posted;
 *  - uvirtq_in_flight() matches the model; uvirtq_add() fails with
 *    -EAGAIN exactly when uvirtq_num_free() says so;
 *  - a queue that returned -EIO reports broken, and every later call
 *    returns -EIO; after DEVICE_NEEDS_RESET every call fails;
 *  - while the device only behaved honestly: the chains the device sees
 *    are the ones added (count, first address, writable length), the
 *    completions come back in device order with the device's length, the
 *    queue never breaks, and a final drain returns every descriptor;
 *  - config reads under a changing config_generation terminate and never
 *    return a torn image;
 *  - every loop is bounded (libFuzzer -timeout catches the rest).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "fuzzdev.h"

#define MAX_OPS		512
#define MAX_REQS	2048

enum op {
	OP_ADD,
	OP_KICK,
	OP_FETCH,		/* honest device: read available chains */
	OP_COMPLETE,		/* honest device: complete one fetched chain */
	OP_GET_USED,
	OP_ENABLE_CB,
	OP_DISABLE_CB,
	OP_DEV_EVENT,		/* device event suppression (legal values) */
	OP_RAW_USED,		/* malicious: used element / packed desc */
	OP_RAW_IDX,		/* malicious: used idx / packed flags */
	OP_RAW_BYTES,		/* malicious: any bytes anywhere in the ring */
	OP_NEEDS_RESET,
	OP_STATUS,
	OP_CONFIG,
	OP_COUNT
};

struct req {
	uint32_t wlen;
	uint32_t nbufs;
	uint64_t first;
	bool in_flight;
};

struct h {
	struct fuzzdev fd;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtq *vq;
	bool packed, indirect, in_order;
	uint16_t max_indirect, size;
	bool tainted;		/* the device did something dishonest */
	int dead;		/* 0, or the error every call must return */
	struct req reqs[MAX_REQS + 1];
	unsigned int nreqs, inflight;
	uint16_t unfetched[MAX_REQS];	/* added, not yet seen by device */
	unsigned int uf_head, uf_tail;
	struct { uint16_t cookie; uint32_t len; } expect[MAX_REQS];
	unsigned int ex_head, ex_tail;
};

static struct h H;

static void check_dead(int ret)
{
	FZ_ASSERT(ret == H.dead);
}

static void mark_dead(int err)
{
	if (!H.dead)
		H.dead = err;
}

static void check_counts(void)
{
	FZ_ASSERT(uvirtq_in_flight(H.vq) == H.inflight);
	FZ_ASSERT(uvirtq_num_free(H.vq) <= H.size);
}

static void op_add(struct fz_in *in)
{
	struct uvirtq_buf out[4], inb[4];
	uint8_t b = fz_u8(in);
	unsigned int n_out = b & 3, n_in = (b >> 2) & 3, i, n, needed;
	unsigned int free_before = uvirtq_num_free(H.vq);
	uint64_t wlen = 0;
	bool zero = false, use_ind;
	uint16_t c;
	int ret;

	if (!n_out && !n_in)
		n_out = 1;
	n = n_out + n_in;
	if (H.nreqs == MAX_REQS)
		return;
	c = (uint16_t)(H.nreqs + 1);
	for (i = 0; i < n; i++) {
		struct uvirtq_buf *bb = i < n_out ? &out[i] : &inb[i - n_out];
		/* Mostly non-zero lengths; 1/256 zero to hit -EINVAL. */
		uint16_t l = fz_u16(in);

		if ((l & 0xff) == 0xff)
			l = 0;
		else if (!l)
			l = 1;
		bb->iova = ((uint64_t)c << 24) | ((uint64_t)i << 16) | 0x1000;
		bb->len = l;
		zero |= !l;
		if (i >= n_out)
			wlen += l;
	}
	ret = uvirtq_add(H.vq, out, n_out, inb, n_in, (void *)(uintptr_t)c);
	if (H.dead) {
		check_dead(ret);
		return;
	}
	use_ind = H.indirect && n > 1 && n <= H.max_indirect;
	needed = use_ind ? 1 : n;
	if (zero || (!use_ind && n > H.size)) {
		FZ_ASSERT(ret == -EINVAL);
		return;
	}
	if (free_before < needed) {
		FZ_ASSERT(ret == -EAGAIN);
		return;
	}
	FZ_ASSERT(ret == 0);
	H.nreqs++;
	H.reqs[c] = (struct req){ (uint32_t)wlen, n, out[0].iova, true };
	if (!n_out)
		H.reqs[c].first = inb[0].iova;
	H.inflight++;
	H.unfetched[H.uf_tail++] = c;
	FZ_ASSERT(uvirtq_num_free(H.vq) == free_before - needed);
}

static void op_kick(void)
{
	uint64_t before = H.fd.doorbells;
	int ret = uvirtq_kick(H.vq);

	if (H.dead) {
		check_dead(ret);
		return;
	}
	FZ_ASSERT(ret == 0 || ret == 1);
	FZ_ASSERT(H.fd.doorbells == before + (unsigned int)ret);
}

static void op_fetch(struct fz_in *in)
{
	struct fd_queue *q = &H.fd.q[0];
	unsigned int first = q->nchains, n, i;

	n = fd_fetch(&H.fd, 0, 1 + fz_u8(in) % 8);
	for (i = first; i < first + n; i++) {
		struct fd_chain *ch = &q->chains[i];
		struct req *r;

		if (H.uf_head == H.uf_tail) {
			/* The driver published a chain it never added. */
			FZ_ASSERT(H.tainted);
			ch->tag = 0;
			continue;
		}
		ch->tag = H.unfetched[H.uf_head++];
		if (H.tainted)
			continue;
		r = &H.reqs[ch->tag];
		FZ_ASSERT(!ch->bad);
		FZ_ASSERT(ch->wlen == r->wlen);
		FZ_ASSERT(ch->nbufs == r->nbufs);
		FZ_ASSERT(ch->first_addr == r->first);
		FZ_ASSERT(ch->ndesc == (ch->nbufs > 1 && H.indirect &&
					ch->nbufs <= H.max_indirect ?
					1 : ch->nbufs));
	}
}

static void op_complete(struct fz_in *in)
{
	struct fd_chain done;
	uint8_t k = fz_u8(in);
	uint32_t len = fz_u32(in);

	if (H.in_order)
		k = 0;		/* honest and in order: the oldest fetched */
	if (!fd_complete(&H.fd, 0, k, len, &done))
		return;
	if (done.bad || !done.tag)
		H.tainted = true;
	H.expect[H.ex_tail].cookie = (uint16_t)done.tag;
	H.expect[H.ex_tail].len = done.ulen;
	H.ex_tail++;
}

static void op_get_used(struct fz_in *in)
{
	unsigned int rounds = 1 + fz_u8(in) % 4, i;

	for (i = 0; i < rounds; i++) {
		void *cookie = NULL;
		uint32_t len = 0;
		uintptr_t c;
		int ret = uvirtq_get_used(H.vq, &cookie, &len);

		if (H.dead) {
			check_dead(ret);
			return;
		}
		if (ret == -EIO) {
			FZ_ASSERT(H.tainted);
			FZ_ASSERT(uvirtq_is_broken(H.vq));
			mark_dead(-EIO);
			check_counts();
			return;
		}
		if (ret == 0) {
			FZ_ASSERT(H.tainted || H.ex_head == H.ex_tail);
			check_counts();
			return;
		}
		FZ_ASSERT(ret == 1);
		c = (uintptr_t)cookie;
		FZ_ASSERT(c >= 1 && c <= H.nreqs);
		FZ_ASSERT(H.reqs[c].in_flight);		/* at most once */
		FZ_ASSERT(len <= H.reqs[c].wlen);
		H.reqs[c].in_flight = false;
		H.inflight--;
		if (!H.tainted) {
			FZ_ASSERT(H.ex_head != H.ex_tail);
			FZ_ASSERT(H.expect[H.ex_head].cookie == c);
			FZ_ASSERT(H.expect[H.ex_head].len == len);
			H.ex_head++;
		}
		check_counts();
	}
}

static void op_enable_cb(void)
{
	int ret = uvirtq_enable_cb(H.vq);

	if (H.dead) {
		check_dead(ret);
		return;
	}
	FZ_ASSERT(ret == 0 || ret == 1);
	if (!H.tainted)
		FZ_ASSERT(ret == (H.ex_head != H.ex_tail));
}

static void op_dev_event(struct fz_in *in)
{
	size_t rlen;
	uint8_t *ring = fd_ring(&H.fd, 0, &rlen);
	uint16_t flags = fz_u16(in), ev = fz_u16(in);

	if (!ring)
		return;
	if (H.packed) {
		struct vring_packed_desc_event *e =
			(void *)(ring + 16u * H.size + 4);

		e->off_wrap = ev;
		__atomic_store_n(&e->flags, (uint16_t)(flags % 4),
				 __ATOMIC_RELEASE);
	} else {
		struct vring_used *u = fd_xlat(&H.fd, H.fd.q[0].dev,
					       6 + 8u * H.size);

		u->flags = flags;
		*(uint16_t *)&u->ring[H.size] = ev;	/* avail_event */
	}
}

static void op_raw_used(struct fz_in *in)
{
	size_t rlen;
	uint8_t *ring = fd_ring(&H.fd, 0, &rlen);
	uint16_t pos = (uint16_t)(fz_u16(in) % H.size);

	H.tainted = true;
	if (!ring)
		return;
	if (H.packed) {
		struct vring_packed_desc *d = (void *)ring;

		d[pos].id = fz_u16(in);
		d[pos].len = fz_u32(in);
		__atomic_store_n(&d[pos].flags, fz_u16(in), __ATOMIC_RELEASE);
	} else {
		struct vring_used *u = fd_xlat(&H.fd, H.fd.q[0].dev,
					       6 + 8u * H.size);

		u->ring[pos].id = fz_u32(in);
		u->ring[pos].len = fz_u32(in);
	}
}

static void op_raw_idx(struct fz_in *in)
{
	size_t rlen;
	uint8_t *ring = fd_ring(&H.fd, 0, &rlen);
	uint8_t b = fz_u8(in);

	H.tainted = true;
	if (!ring)
		return;
	if (H.packed) {
		struct vring_packed_desc *d = (void *)ring;
		uint16_t pos = (uint16_t)(fz_u16(in) % H.size);
		uint16_t f = (b & 1) ? 0x8080 : 0;

		f |= (b & 2) ? 0x0080 : 0;	/* avail-only: not used */
		f ^= (b & 4) ? 0x8000 : 0;
		__atomic_store_n(&d[pos].flags, f, __ATOMIC_RELEASE);
	} else {
		struct vring_used *u = fd_xlat(&H.fd, H.fd.q[0].dev,
					       6 + 8u * H.size);
		uint16_t idx = (b & 0x80) ? fz_u16(in) :
			       (uint16_t)(u->idx + (b & 0x7f));

		__atomic_store_n(&u->idx, idx, __ATOMIC_RELEASE);
	}
}

static void op_raw_bytes(struct fz_in *in)
{
	size_t rlen, off;
	uint8_t *ring = fd_ring(&H.fd, 0, &rlen);
	unsigned int n = 1 + fz_u8(in) % 16, i;

	H.tainted = true;
	if (!ring || !rlen)
		return;
	off = fz_u16(in) % rlen;
	for (i = 0; i < n && off + i < rlen; i++)
		ring[off + i] = fz_u8(in);
}

static void op_needs_reset(void)
{
	int ret;

	H.fd.needs_reset = true;
	ret = uvirtio_dev_check_status(H.dev);
	if (H.dead) {
		check_dead(ret);
		return;
	}
	FZ_ASSERT(ret == -UVIRTIO_ENEEDS_RESET);
	mark_dead(ret);
}

static void op_status(void)
{
	int ret = uvirtio_dev_check_status(H.dev);

	FZ_ASSERT(ret == H.dead);
}

static void op_config(struct fz_in *in)
{
	uint8_t buf[FD_CFG_MAX];
	uint32_t off = fz_u8(in) % 80, len = fz_u8(in) % 80;
	unsigned int ns = fz_u8(in) % 40, reads0 = H.fd.gen_reads;
	int ret;

	/* Script of the next generation reads: bit 0 set = config changes. */
	ns = (unsigned int)(ns < in->left ? ns : in->left);
	H.fd.gen_script = in->p;
	H.fd.gen_left = ns;
	in->p += ns;
	in->left -= ns;
	memset(buf, 0xcc, sizeof(buf));
	ret = uvirtio_dev_read_config(H.dev, off, buf, len);
	H.fd.gen_left = 0;
	FZ_ASSERT(H.fd.gen_reads - reads0 <= 2 * UVIRTIO_CONFIG_RETRIES);
	if (off + len > H.fd.cfg_len) {
		FZ_ASSERT(ret == -EINVAL);
		return;
	}
	if (ret == -EAGAIN)
		return;
	FZ_ASSERT(ret == 0);
	FZ_ASSERT(!memcmp(buf, &H.fd.cfg[H.fd.cfg_cur][off], len));
}

/* Honest device, honest driver: everything posted must come back. */
static void drain(void)
{
	unsigned int guard;

	if (H.tainted || H.dead)
		return;
	op_kick();
	for (guard = 0; guard < 4u * MAX_REQS && H.inflight; guard++) {
		static const uint8_t z[8];
		struct fz_in zin = { z, sizeof(z) };

		op_fetch(&zin);
		zin = (struct fz_in){ z, sizeof(z) };
		op_complete(&zin);
		zin = (struct fz_in){ z, sizeof(z) };
		op_get_used(&zin);
	}
	FZ_ASSERT(!H.inflight);
	FZ_ASSERT(uvirtq_num_free(H.vq) == H.size);
	FZ_ASSERT(H.ex_head == H.ex_tail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtq_params qp = { .cpu = -1 };
	uint8_t b0, b1, b2;
	unsigned int i;
	uint64_t ring_f = 0;
	int ret;

	memset(&H, 0, sizeof(H));
	fd_init(&H.fd);
	b0 = fz_u8(&in);
	b1 = fz_u8(&in);
	b2 = fz_u8(&in);
	if (b0 & 1)
		ring_f |= 1ull << VIRTIO_F_RING_PACKED;
	if (b0 & 2)
		ring_f |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (b0 & 4)
		ring_f |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (b0 & 0x80)
		ring_f |= 1ull << VIRTIO_F_IN_ORDER;
	H.in_order = b0 & 0x80;
	H.fd.pci_devid = 0x1040 + VIRTIO_ID_RNG;
	H.fd.features = (1ull << VIRTIO_F_VERSION_1) | ring_f;
	H.fd.num_queues = 1;
	H.fd.qmax = (b0 & 1) ? (uint16_t)(1 + b1 % 64) :
			       (uint16_t)(1u << (b1 % 7));
	H.fd.refuse_features_ok = (b0 & 0x18) == 0x18;
	H.fd.nvectors = (b0 & 0x20) ? 2 : 0;
	H.fd.cfg_len = fz_u8(&in) % 65;
	for (i = 0; i < H.fd.cfg_len; i++) {
		H.fd.cfg[0][i] = fz_u8(&in);
		H.fd.cfg[1][i] = (uint8_t)(H.fd.cfg[0][i] ^ 0x5a ^ i);
	}
	ret = fd_backend(&H.fd, &H.be);
	FZ_ASSERT(ret == 0);
	dp.wanted = ring_f;
	dp.device_type = VIRTIO_ID_RNG;
	ret = uvirtio_dev_open(H.be, &dp, &H.dev);
	if (ret) {
		FZ_ASSERT(H.fd.refuse_features_ok && ret == -ENOTSUP);
		goto out_be;
	}
	FZ_ASSERT(!H.fd.refuse_features_ok);
	qp.max_indirect = b2 % 10;
	qp.use_interrupts = H.fd.nvectors > 0;
	if (b0 & 0x40)
		qp.size = (b0 & 1) ? (uint16_t)(1 + b2 % H.fd.qmax) :
			  (uint16_t)(H.fd.qmax >> (b2 % 3));
	ret = uvirtq_create(H.dev, 0, &qp, &H.vq);
	FZ_ASSERT(ret == 0);
	ret = uvirtio_dev_driver_ok(H.dev);
	FZ_ASSERT(ret == 0);
	H.packed = uvirtq_is_packed(H.vq);
	FZ_ASSERT(H.packed == !!(b0 & 1));
	H.size = (uint16_t)uvirtq_size(H.vq);
	/* an indirect table is never longer than the queue (spec 2.7.5.3.1) */
	H.max_indirect = qp.max_indirect < H.size ? qp.max_indirect : H.size;
	H.indirect = (b0 & 4) && H.max_indirect > 1;
	FZ_ASSERT(uvirtq_num_free(H.vq) == H.size);

	for (i = 0; i < MAX_OPS && in.left; i++) {
		switch (fz_u8(&in) % OP_COUNT) {
		case OP_ADD: op_add(&in); break;
		case OP_KICK: op_kick(); break;
		case OP_FETCH: op_fetch(&in); break;
		case OP_COMPLETE: op_complete(&in); break;
		case OP_GET_USED: op_get_used(&in); break;
		case OP_ENABLE_CB: op_enable_cb(); break;
		case OP_DISABLE_CB: uvirtq_disable_cb(H.vq); break;
		case OP_DEV_EVENT: op_dev_event(&in); break;
		case OP_RAW_USED: op_raw_used(&in); break;
		case OP_RAW_IDX: op_raw_idx(&in); break;
		case OP_RAW_BYTES: op_raw_bytes(&in); break;
		case OP_NEEDS_RESET: op_needs_reset(); break;
		case OP_STATUS: op_status(); break;
		case OP_CONFIG: op_config(&in); break;
		}
	}
	drain();
	uvirtio_dev_close(H.dev);	/* reset first: stops the device */
	uvirtq_destroy(H.vq);
out_be:
	uvirtio_backend_close(H.be);	/* checks no DMA memory leaked */
	return 0;
}
