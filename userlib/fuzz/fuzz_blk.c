// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_blk.c - libFuzzer target: the whole virtio-blk driver
 * (uvirtio_blk_open() .. uvirtio_blk_close()) against a device whose
 * offered features, queue limits, config space, config_generation,
 * completions, status bytes and status register come from the fuzz input.
 *
 * Input: a 6-byte header (ring format / features / sizes), the config
 * space image, a config_generation script for open, then a program of
 * one-byte opcodes with operands.  Missing bytes read as zero.
 *
 * Checked (abort() on violation, plus ASan/UBSan):
 *  - open either fails cleanly (all DMA memory returned) or reports
 *    sane limits; every allocation is freed by close;
 *  - reaped completions carry the user_data of a request in flight, each
 *    once, never more than max; status bytes map to the documented errno;
 *  - with an honest device: completions arrive in device order with the
 *    status the device wrote, and a final drain returns everything;
 *  - once a call returned -EIO / -ECONNRESET, every later call fails;
 *  - nothing blocks: reap is always called with a zero timeout.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "fuzzdev.h"

#define MAX_OPS		256
#define MAX_REQS	1024
#define BUF_LEN		(4u * 65536u)

enum op {
	OP_READ,
	OP_WRITE,
	OP_FLUSH,
	OP_GET_ID,
	OP_DISCARD,
	OP_WRITE_ZEROES,
	OP_SUBMIT,
	OP_FETCH,
	OP_COMPLETE,
	OP_REAP,
	OP_RAW_BYTES,
	OP_NEEDS_RESET,
	OP_CONFIG,
	OP_COUNT
};

struct h {
	struct fuzzdev fd;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_queue *q, *q1;
	struct uvirtio_blk_info info;
	uint8_t *buf;
	bool tainted;
	int dead;
	bool in_flight[MAX_REQS + 1];
	unsigned int nreqs, inflight;
	uint16_t unfetched[MAX_REQS];
	unsigned int uf_head, uf_tail;
	struct { uint16_t tok; int ret; } expect[MAX_REQS];
	unsigned int ex_head, ex_tail;
	char ids[MAX_REQS + 1][20];
};

static struct h H;

static bool dead_err(int ret)
{
	return ret == -EIO || ret == -UVIRTIO_ENEEDS_RESET || ret == -ENODEV;
}

/* Result of an enqueue call: track it or check it is an allowed error. */
static void enqueued(int ret, uint16_t tok)
{
	if (H.dead) {
		FZ_ASSERT(ret == H.dead);
		return;
	}
	if (ret && dead_err(ret)) {
		/*
		 * A reap that returned completions defers the error to the
		 * next call: only a misbehaving device gets here.
		 */
		FZ_ASSERT(H.tainted);
		H.dead = ret;
		return;
	}
	if (ret) {
		FZ_ASSERT(ret == -EAGAIN || ret == -EINVAL || ret == -EROFS ||
			  ret == -ENOTSUP);
		return;
	}
	H.nreqs++;
	H.in_flight[tok] = true;
	H.inflight++;
	H.unfetched[H.uf_tail++] = tok;
	FZ_ASSERT(uvirtio_blk_q_in_flight(H.q) == H.inflight);
}

static void op_rw(struct fz_in *in, bool write)
{
	uint32_t bs = H.info.blk_size;
	uint8_t b = fz_u8(in);
	uint64_t off = (uint64_t)(fz_u8(in) % 16) * bs;
	size_t len = (size_t)(1 + (b & 3)) * bs, a, c;
	struct iovec iov[3];
	uint16_t tok = (uint16_t)(H.nreqs + 1);
	int n = 1 + (b >> 2) % 3, ret;

	if (H.nreqs == MAX_REQS)
		return;
	if (b & 0x40)
		len = (size_t)fz_u16(in) + 1;	/* unaligned: -EINVAL */
	if (len > BUF_LEN)
		len = BUF_LEN;
	/* Split into up to three iovecs at fuzzed points. */
	a = n > 1 ? fz_u16(in) % (len + 1) : len;
	c = n > 2 ? fz_u16(in) % (len - a + 1) : len - a;
	iov[0] = (struct iovec){ H.buf, a };
	iov[1] = (struct iovec){ H.buf + a, c };
	iov[2] = (struct iovec){ H.buf + a + c, len - a - c };
	if (n == 2)
		iov[1].iov_len = len - a;
	if ((b & 0x80) && H.q1) {
		/* Another queue (possibly smaller); never completed. */
		ret = write ? uvirtio_blk_q_writev(H.q1, off, iov, n, NULL) :
			      uvirtio_blk_q_readv(H.q1, off, iov, n, NULL);
		if (!H.dead && dead_err(ret)) {
			FZ_ASSERT(H.tainted);
			H.dead = ret;
		}
		FZ_ASSERT(ret == H.dead || (!H.dead &&
			  (ret == 0 || ret == -EAGAIN || ret == -EINVAL ||
			   ret == -EROFS)));
		return;
	}
	ret = write ? uvirtio_blk_q_writev(H.q, off, iov, n, (void *)(uintptr_t)tok)
		    : uvirtio_blk_q_readv(H.q, off, iov, n, (void *)(uintptr_t)tok);
	enqueued(ret, tok);
}

static void op_simple(struct fz_in *in, enum op o)
{
	uint16_t tok = (uint16_t)(H.nreqs + 1);
	void *ud = (void *)(uintptr_t)tok;
	uint64_t bs = H.info.blk_size;
	uint64_t off = (fz_u8(in) % 16) * bs, len = (1 + fz_u8(in) % 8) * bs;
	int ret;

	if (H.nreqs == MAX_REQS)
		return;
	switch (o) {
	case OP_FLUSH: ret = uvirtio_blk_q_flush(H.q, ud); break;
	case OP_GET_ID: ret = uvirtio_blk_q_get_id(H.q, H.ids[tok], ud); break;
	case OP_DISCARD: ret = uvirtio_blk_q_discard(H.q, off, len, ud); break;
	default:
		ret = uvirtio_blk_q_write_zeroes(H.q, off, len,
						 (len / bs) & 1, ud);
		break;
	}
	enqueued(ret, tok);
}

static void op_submit(void)
{
	int ret = uvirtio_blk_q_submit(H.q);

	if (H.dead) {
		FZ_ASSERT(ret == H.dead);
	} else if (ret) {
		FZ_ASSERT(H.tainted && dead_err(ret));
		H.dead = ret;
	}
}

static void op_fetch(struct fz_in *in)
{
	struct fd_queue *q = &H.fd.q[0];
	unsigned int first = q->nchains, n, i;

	n = fd_fetch(&H.fd, 0, 1 + fz_u8(in) % 8);
	for (i = first; i < first + n; i++) {
		struct fd_chain *ch = &q->chains[i];

		if (H.uf_head == H.uf_tail) {
			FZ_ASSERT(H.tainted);
			ch->tag = 0;
			continue;
		}
		ch->tag = H.unfetched[H.uf_head++];
		if (!H.tainted) {
			/* hdr readable, status byte last and writable */
			FZ_ASSERT(!ch->bad);
			FZ_ASSERT(ch->nbufs >= 2 && ch->last_wlen == 1);
		}
	}
}

static int status_errno(uint8_t st)
{
	return st == VIRTIO_BLK_S_OK ? 0 :
	       st == VIRTIO_BLK_S_UNSUPP ? -ENOTSUP : -EIO;
}

static void op_complete(struct fz_in *in)
{
	struct fd_chain done;
	uint8_t k = fz_u8(in), st = fz_u8(in) % 4;
	uint32_t len = fz_u32(in);
	uint8_t *sp;

	if (!fd_complete(&H.fd, 0, k, len, &done))
		return;
	if (done.bad || !done.tag) {
		H.tainted = true;
		return;
	}
	sp = done.last_wlen ? fd_xlat(&H.fd, done.last_waddr, 1) : NULL;
	if (!sp) {
		H.tainted = true;
		return;
	}
	*sp = st;
	H.expect[H.ex_tail].tok = (uint16_t)done.tag;
	H.expect[H.ex_tail].ret = status_errno(st);
	H.ex_tail++;
}

static void op_reap(struct fz_in *in)
{
	struct uvirtio_blk_completion out[8];
	struct timespec zero = { 0, 0 };
	unsigned int max = 1 + fz_u8(in) % 8, min = fz_u8(in) % 2, i;
	int ret;

	memset(out, 0, sizeof(out));
	ret = uvirtio_blk_q_reap(H.q, min, max, out, &zero);
	if (H.dead) {
		FZ_ASSERT(ret == H.dead);
		return;
	}
	if (ret < 0) {
		FZ_ASSERT(H.tainted && dead_err(ret));
		H.dead = ret;
		/* Sticky: the next call must fail the same way. */
		FZ_ASSERT(uvirtio_blk_q_submit(H.q) == ret);
		return;
	}
	FZ_ASSERT((unsigned int)ret <= max);
	for (i = 0; i < (unsigned int)ret; i++) {
		uintptr_t t = (uintptr_t)out[i].user_data;

		FZ_ASSERT(t >= 1 && t <= H.nreqs && H.in_flight[t]);
		FZ_ASSERT(out[i].ret == 0 || out[i].ret == -EIO ||
			  out[i].ret == -ENOTSUP);
		H.in_flight[t] = false;
		H.inflight--;
		if (!H.tainted) {
			FZ_ASSERT(H.ex_head != H.ex_tail);
			FZ_ASSERT(H.expect[H.ex_head].tok == t);
			FZ_ASSERT(H.expect[H.ex_head].ret == out[i].ret);
			H.ex_head++;
		}
	}
	if (!H.tainted && (unsigned int)ret < max)
		FZ_ASSERT(H.ex_head == H.ex_tail);
	FZ_ASSERT(uvirtio_blk_q_in_flight(H.q) == H.inflight);
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
	struct uvirtio_blk_completion c;
	struct timespec zero = { 0, 0 };
	int ret;

	H.fd.needs_reset = true;
	ret = uvirtio_dev_check_status(uvirtio_blk_device(H.blk));
	if (H.dead) {
		FZ_ASSERT(ret == H.dead);
		return;
	}
	/*
	 * A misbehaving device may already have broken the queue during a
	 * reap that still returned the completions it had (the error then
	 * surfaces on the next call): the device is dead with -EIO first.
	 */
	FZ_ASSERT(ret == -UVIRTIO_ENEEDS_RESET ||
		  (H.tainted && dead_err(ret)));
	H.dead = ret;
	ret = uvirtio_blk_q_reap(H.q, 0, 1, &c, &zero);
	FZ_ASSERT(ret == H.dead);
}

static void gen_script(struct fz_in *in, unsigned int max)
{
	unsigned int ns = fz_u8(in) % max;

	ns = ns < in->left ? ns : (unsigned int)in->left;
	H.fd.gen_script = in->p;
	H.fd.gen_left = ns;
	in->p += ns;
	in->left -= ns;
}

static void op_config(struct fz_in *in)
{
	unsigned int reads0 = H.fd.gen_reads;
	int ret;

	gen_script(in, 40);
	ret = uvirtio_blk_refresh_capacity(H.blk);
	H.fd.gen_left = 0;
	FZ_ASSERT(H.fd.gen_reads - reads0 <= 2 * UVIRTIO_CONFIG_RETRIES);
	FZ_ASSERT(ret == 0 || ret == -EAGAIN);
	if (!ret) {
		uint64_t cap;

		memcpy(&cap, &H.fd.cfg[H.fd.cfg_cur][0], sizeof(cap));
		uvirtio_blk_get_info(H.blk, &H.info);
		FZ_ASSERT(H.info.capacity == cap * 512);
	}
}

static void drain(void)
{
	unsigned int guard;

	if (H.tainted || H.dead)
		return;
	op_submit();
	for (guard = 0; guard < 4u * MAX_REQS && H.inflight; guard++) {
		static const uint8_t z[16];
		struct fz_in zin = { z, sizeof(z) };

		op_fetch(&zin);
		zin = (struct fz_in){ z, sizeof(z) };
		op_complete(&zin);
		zin = (struct fz_in){ z, sizeof(z) };
		op_reap(&zin);
	}
	FZ_ASSERT(!H.inflight);
}

static void check_info(void)
{
	const struct uvirtio_blk_info *i = &H.info;

	FZ_ASSERT(i->blk_size >= 512 && i->blk_size <= 65536 &&
		  !(i->blk_size & (i->blk_size - 1)));
	FZ_ASSERT(i->num_queues >= 1);
	FZ_ASSERT(!(i->max_transfer % i->blk_size));
	FZ_ASSERT(i->size_max == 0 || i->size_max >= 512);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct uvirtio_blk_params p = { 0 };
	uint8_t b0, b1, b2, b3;
	unsigned int i;
	int ret;

	memset(&H, 0, sizeof(H));
	fd_init(&H.fd);
	b0 = fz_u8(&in);	/* ring format / params */
	b1 = fz_u8(&in);	/* queue size */
	b2 = fz_u8(&in);	/* queues, vectors */
	b3 = fz_u8(&in);	/* config length */
	H.fd.pci_devid = 0x1040 + VIRTIO_ID_BLOCK;
	H.fd.features = (1ull << VIRTIO_F_VERSION_1) |
			(fz_u32(&in) & 0x00ffffffu);	/* blk bits */
	if (b0 & 1)
		H.fd.features |= 1ull << VIRTIO_F_RING_PACKED;
	if (b0 & 2)
		H.fd.features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (b0 & 4)
		H.fd.features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	p.packed = b0 & 8;
	p.no_indirect = b0 & 0x10;
	p.no_event_idx = b0 & 0x20;
	p.poll = b0 & 0x40;
	H.fd.refuse_features_ok = (b0 & 0x80) && (b2 & 0x80);
	H.fd.qmax = (b0 & 1) ? (uint16_t)(1 + b1 % 64) :
			       (uint16_t)(1u << (b1 % 7));
	if (b1 & 0x80)
		p.queue_size = (b0 & 1) ? (uint16_t)(1 + b2 % H.fd.qmax) :
			       (uint16_t)(H.fd.qmax >> (b2 % 3));
	if (b2 & 0x20)	/* queues >= 1 smaller: per-queue chain budgets */
		H.fd.qmax1 = (b0 & 1) ? (uint16_t)(1 + (b3 >> 3) % H.fd.qmax) :
			     (uint16_t)(H.fd.qmax >> ((b3 >> 3) % 4));
	H.fd.num_queues = (uint16_t)(b2 % 4);	/* 0: no queue at all */
	p.num_queues = (uint16_t)(1 + (b2 >> 2) % 3);
	H.fd.nvectors = (b2 & 0x40) ? 5 : 0;
	H.fd.cfg_len = b3 % 73;
	for (i = 0; i < H.fd.cfg_len; i++) {
		H.fd.cfg[0][i] = fz_u8(&in);
		H.fd.cfg[1][i] = (uint8_t)(H.fd.cfg[0][i] ^ 0x5a ^ i);
	}
	gen_script(&in, 20);
	ret = fd_backend(&H.fd, &H.be);
	FZ_ASSERT(ret == 0);
	ret = uvirtio_blk_open(H.be, &p, &H.blk);
	H.fd.gen_left = 0;
	if (ret) {
		FZ_ASSERT(ret == -ENODEV || ret == -ENOTSUP ||
			  ret == -EAGAIN || ret == -EINVAL);
		goto out_be;
	}
	FZ_ASSERT(!H.fd.refuse_features_ok);
	uvirtio_blk_get_info(H.blk, &H.info);
	check_info();
	H.q = uvirtio_blk_get_queue(H.blk, 0);
	FZ_ASSERT(H.q);
	H.q1 = uvirtio_blk_get_queue(H.blk, 1);
	ret = uvirtio_blk_alloc_buf(H.blk, BUF_LEN, (void **)&H.buf);
	FZ_ASSERT(ret == 0);

	for (i = 0; i < MAX_OPS && in.left; i++) {
		enum op o = (enum op)(fz_u8(&in) % OP_COUNT);

		switch (o) {
		case OP_READ: op_rw(&in, false); break;
		case OP_WRITE: op_rw(&in, true); break;
		case OP_FLUSH:
		case OP_GET_ID:
		case OP_DISCARD:
		case OP_WRITE_ZEROES: op_simple(&in, o); break;
		case OP_SUBMIT: op_submit(); break;
		case OP_FETCH: op_fetch(&in); break;
		case OP_COMPLETE: op_complete(&in); break;
		case OP_REAP: op_reap(&in); break;
		case OP_RAW_BYTES: op_raw_bytes(&in); break;
		case OP_NEEDS_RESET: op_needs_reset(); break;
		case OP_CONFIG: op_config(&in); break;
		default: break;
		}
	}
	drain();
	uvirtio_blk_close(H.blk);	/* frees H.buf too */
out_be:
	uvirtio_backend_close(H.be);	/* checks no DMA memory leaked */
	return 0;
}
