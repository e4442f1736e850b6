// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_net.c - libFuzzer target: the virtio-net driver
 * (uvirtio_net_open() .. uvirtio_net_close()) against a device whose
 * offered features, queue sizes, config space, RX headers (num_buffers),
 * used lengths, ring bytes and status register come from the fuzz input.
 *
 * Input: a 4-byte header (features / sizes / params), the config image,
 * then a program of one-byte opcodes with operands.  Missing bytes read
 * as zero.
 *
 * Checked (abort() on violation, plus ASan/UBSan):
 *  - open either fails cleanly (all DMA memory returned) or reports sane
 *    info (MTU >= 68, max_frame = MTU + 18, one queue pair here);
 *  - send takes at most what it was given; recv returns at most what was
 *    asked, each frame flagged truncated exactly when it was cut;
 *  - with an honest device (one buffer per frame, num_buffers 1, a used
 *    length of at least the header): every completed RX buffer comes out
 *    as one frame of that length minus the header, in order, and no call
 *    fails;
 *  - once a call returned -EIO / -ECONNRESET, every later call fails;
 *  - nothing blocks: waits use a zero timeout.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "fuzzdev.h"

#define MAX_OPS		256
#define FRAME_CAP	2048
#define BURST		8
#define HDR		12u

enum op {
	OP_SEND,
	OP_RECV,
	OP_FETCH_RX,
	OP_FETCH_TX,
	OP_COMPLETE_RX,
	OP_COMPLETE_TX,
	OP_WAIT,
	OP_RAW_BYTES,
	OP_NEEDS_RESET,
	OP_COUNT
};

struct h {
	struct fuzzdev fd;
	struct uvirtio_backend *be;
	struct uvirtio_net *net;
	struct uvirtio_net_qp *qp;
	struct uvirtio_net_info info;
	bool tainted;
	int dead;
	/* honest mode: frame lengths completed, not yet received */
	uint32_t expect[4096];
	unsigned int ex_head, ex_tail;
	uint8_t frames[BURST][FRAME_CAP];
};

static struct h H;

static bool dead_err(int ret)
{
	return ret == -EIO || ret == -UVIRTIO_ENEEDS_RESET || ret == -ENODEV;
}

/* A call's result once the pair may be dead: the same error, or a new one. */
static void note(int ret)
{
	if (H.dead) {
		FZ_ASSERT(ret < 0);
		return;
	}
	if (ret < 0 && dead_err(ret)) {
		FZ_ASSERT(H.tainted);
		H.dead = ret;
	}
}

static void op_send(struct fz_in *in)
{
	struct uvirtio_net_frame f[BURST];
	unsigned int n = 1 + fz_u8(in) % BURST, i;
	int ret;

	memset(f, 0, sizeof(f));
	for (i = 0; i < n; i++) {
		f[i].data = H.frames[i];
		f[i].len = fz_u16(in) % (FRAME_CAP + 1);
		if (fz_u8(in) & 1)
			f[i].hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	}
	ret = uvirtio_net_qp_send(H.qp, f, n);
	note(ret);
	FZ_ASSERT(ret <= (int)n);
	FZ_ASSERT(ret >= 0 || ret == -EINVAL || dead_err(ret));
}

static void op_recv(struct fz_in *in)
{
	struct uvirtio_net_frame f[BURST];
	unsigned int n = 1 + fz_u8(in) % BURST, i;
	uint32_t cap = fz_u16(in) % (FRAME_CAP + 1);
	int ret;

	memset(f, 0, sizeof(f));
	for (i = 0; i < n; i++) {
		f[i].data = H.frames[i];
		f[i].len = cap;
	}
	ret = uvirtio_net_qp_recv(H.qp, f, n);
	note(ret);
	FZ_ASSERT(ret <= (int)n);
	if (ret < 0) {
		FZ_ASSERT(dead_err(ret));
		return;
	}
	for (i = 0; i < (unsigned int)ret; i++) {
		FZ_ASSERT(!(f[i].flags & ~UVIRTIO_NET_FRAME_TRUNCATED));
		FZ_ASSERT(!!(f[i].flags & UVIRTIO_NET_FRAME_TRUNCATED) ==
			  (f[i].len > cap));
		if (H.tainted)
			continue;
		FZ_ASSERT(H.ex_head != H.ex_tail);
		FZ_ASSERT(f[i].len == H.expect[H.ex_head]);
		H.ex_head++;
	}
}

static void op_fetch(struct fz_in *in, unsigned int qi)
{
	struct fd_queue *q = &H.fd.q[qi];
	unsigned int first = q->nchains, n, i;

	n = fd_fetch(&H.fd, qi, 1 + fz_u8(in) % 8);
	for (i = first; i < first + n; i++) {
		const struct fd_chain *ch = &q->chains[i];

		if (H.tainted)
			continue;
		FZ_ASSERT(!ch->bad);
		FZ_ASSERT(ch->nbufs == 1);
		/* RX: one writable buffer; TX: header + frame, readable */
		FZ_ASSERT(qi == 0 ? ch->wlen == H.info.rx_buf_size :
			  ch->wlen == 0);
	}
}

static void op_complete_rx(struct fz_in *in)
{
	struct fd_queue *q = &H.fd.q[0];
	uint8_t k = fz_u8(in), mode = fz_u8(in);
	uint32_t len = fz_u16(in);
	uint16_t nb = fz_u16(in);
	struct virtio_net_hdr_v1 *h;
	struct fd_chain *ch, done;
	bool honest;

	if (!q->nchains)
		return;
	k %= q->nchains;
	ch = &q->chains[k];
	if (ch->bad || ch->wlen < HDR) {
		H.tainted = true;
		return;
	}
	h = fd_xlat(&H.fd, ch->first_addr, HDR);
	if (!h) {
		H.tainted = true;
		return;
	}
	memset(h, 0, HDR);
	/* mostly honest: num_buffers 1, a length of header and more */
	honest = !(mode & 0x80);
	if (honest) {
		nb = 1;
		len = HDR + len % (ch->wlen - HDR + 1);
	}
	/* the buffer may start anywhere: store the field byte-wise */
	{
		uint16_t v = htole16((uint16_t)nb);

		memcpy((uint8_t *)h + offsetof(struct virtio_net_hdr_v1,
					       num_buffers), &v, sizeof(v));
	}
	/* frames are never longer than one buffer here: a tail would be needed */
	if (!fd_complete(&H.fd, 0, k, len, &done))
		return;
	if (!honest) {
		H.tainted = true;
		return;
	}
	if (!H.tainted && H.ex_tail < sizeof(H.expect) / sizeof(H.expect[0]))
		H.expect[H.ex_tail++] = done.ulen - HDR;
	else
		H.tainted = true;
}

static void op_complete_tx(struct fz_in *in)
{
	struct fd_queue *q = &H.fd.q[1];
	uint8_t k = fz_u8(in);
	uint32_t len = fz_u8(in);
	struct fd_chain done;

	if (!q->nchains)
		return;
	if (len)
		H.tainted = true;	/* a length on a read-only chain */
	fd_complete(&H.fd, 1, k % q->nchains, len, &done);
}

static void op_wait(struct fz_in *in)
{
	unsigned int what = 1 + fz_u8(in) % 3;
	int ret = uvirtio_net_qp_wait(H.qp, what, 0);

	note(ret);
	FZ_ASSERT(ret >= 0 ? !(ret & ~(int)what) : dead_err(ret));
}

static void op_raw_bytes(struct fz_in *in)
{
	unsigned int qi = fz_u8(in) % 2, n = 1 + fz_u8(in) % 16, i;
	size_t rlen, off;
	uint8_t *ring = fd_ring(&H.fd, qi, &rlen);

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
	H.tainted = true;
	ret = uvirtio_dev_check_status(uvirtio_net_device(H.net));
	FZ_ASSERT(ret < 0);
	ret = uvirtio_net_qp_wait(H.qp, UVIRTIO_NET_WAIT_RX, 0);
	/* the status is read when a wait times out: a dead pair now */
	if (ret >= 0)
		ret = uvirtio_net_qp_wait(H.qp, UVIRTIO_NET_WAIT_RX, 0);
	note(ret);
}

static void check_info(void)
{
	const struct uvirtio_net_info *i = &H.info;

	FZ_ASSERT(i->mtu >= 68);
	FZ_ASSERT(i->max_frame == (uint32_t)i->mtu + 18);
	FZ_ASSERT(i->num_queue_pairs == 1);
	FZ_ASSERT(i->max_queue_pairs >= 1 && i->max_queue_pairs <= 0x8000);
	FZ_ASSERT(i->rx_buf_size >= HDR + 14);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct uvirtio_net_params p = { 0 };
	uint8_t b0, b1, b2, b3;
	unsigned int i;
	int ret;

	memset(&H, 0, sizeof(H));
	fd_init(&H.fd);
	b0 = fz_u8(&in);	/* ring format / params */
	b1 = fz_u8(&in);	/* queue size */
	b2 = fz_u8(&in);	/* queues, vectors */
	b3 = fz_u8(&in);	/* config length */
	H.fd.pci_devid = 0x1040 + VIRTIO_ID_NET;
	H.fd.features = (1ull << VIRTIO_F_VERSION_1) |
			(fz_u32(&in) & 0x00ffffffu);	/* net bits */
	if (b0 & 1)
		H.fd.features |= 1ull << VIRTIO_F_RING_PACKED;
	if (b0 & 2)
		H.fd.features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	p.packed = b0 & 4;
	p.no_mrg_rxbuf = b0 & 8;
	p.no_csum = b0 & 0x10;
	p.poll = b0 & 0x20;
	H.fd.qmax = (b0 & 1) ? (uint16_t)(1 + b1 % 64) :
			       (uint16_t)(1u << (b1 % 7));
	if (b1 & 0x80)
		p.queue_size = (b0 & 1) ? (uint16_t)(1 + b2 % H.fd.qmax) :
			       (uint16_t)(H.fd.qmax >> (b2 % 3));
	H.fd.num_queues = (uint16_t)(b2 % 4);	/* < 2: no pair */
	H.fd.nvectors = (b2 & 0x40) ? 4 : 0;
	H.fd.cfg_len = b3 % 24;
	for (i = 0; i < H.fd.cfg_len; i++) {
		H.fd.cfg[0][i] = fz_u8(&in);
		H.fd.cfg[1][i] = H.fd.cfg[0][i];
	}
	ret = fd_backend(&H.fd, &H.be);
	FZ_ASSERT(ret == 0);
	ret = uvirtio_net_open(H.be, &p, &H.net);
	if (ret) {
		FZ_ASSERT(ret == -ENODEV || ret == -ENOTSUP ||
			  ret == -EAGAIN || ret == -EINVAL);
		goto out_be;
	}
	uvirtio_net_get_info(H.net, &H.info);
	check_info();
	H.qp = uvirtio_net_get_qp(H.net, 0);
	FZ_ASSERT(H.qp && !uvirtio_net_get_qp(H.net, 1));

	for (i = 0; i < MAX_OPS && in.left; i++) {
		switch ((enum op)(fz_u8(&in) % OP_COUNT)) {
		case OP_SEND: op_send(&in); break;
		case OP_RECV: op_recv(&in); break;
		case OP_FETCH_RX: op_fetch(&in, 0); break;
		case OP_FETCH_TX: op_fetch(&in, 1); break;
		case OP_COMPLETE_RX: op_complete_rx(&in); break;
		case OP_COMPLETE_TX: op_complete_tx(&in); break;
		case OP_WAIT: op_wait(&in); break;
		case OP_RAW_BYTES: op_raw_bytes(&in); break;
		case OP_NEEDS_RESET: op_needs_reset(); break;
		default: break;
		}
	}
	uvirtio_net_close(H.net);
out_be:
	uvirtio_backend_close(H.be);	/* checks no DMA memory leaked */
	return 0;
}
