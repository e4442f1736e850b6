// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake_blk.c - the test device's virtio-blk model: a RAM disk.
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

/*
 * One request: @c's readable part is the header and the data out
 * (@out, @out_len bytes, header included), its writable part from
 * segment @first_w the data in (@in_len bytes, status byte excluded).
 * Each handler returns the status and sets *@in_done to the bytes of
 * data in it wrote.
 */
struct blk_req {
	struct virtio_blk_outhdr hdr;
	const uint8_t *out;
	size_t out_len;
	unsigned int first_w;
	size_t in_len;
};

static uint8_t blk_read(struct uvirtio_fake *f, struct fake_chain *c,
			const struct blk_req *r, uint32_t *in_done)
{
	uint64_t off = r->hdr.sector * 512, done = 0;
	unsigned int i;

	if (r->in_len % 512 || r->hdr.sector > f->disk_len / 512 ||
	    r->in_len > f->disk_len - off)
		return VIRTIO_BLK_S_IOERR;
	for (i = r->first_w; i < c->nsegs && done < r->in_len; i++) {
		size_t l = UV_MIN((uint64_t)c->segs[i].len, r->in_len - done);

		memcpy(c->segs[i].p, f->disk + off + done, l);
		done += l;
	}
	*in_done = (uint32_t)r->in_len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t blk_write(struct uvirtio_fake *f, const struct blk_req *r)
{
	uint64_t off = r->hdr.sector * 512;
	uint64_t dl = r->out_len - sizeof(r->hdr);

	if (f->driver_features & (1ull << VIRTIO_BLK_F_RO) ||
	    dl % 512 || r->hdr.sector > f->disk_len / 512 ||
	    dl > f->disk_len - off)
		return VIRTIO_BLK_S_IOERR;
	memcpy(f->disk + off, r->out + sizeof(r->hdr), dl);
	return VIRTIO_BLK_S_OK;
}

static uint8_t blk_flush(struct uvirtio_fake *f)
{
	return drv_has(f, VIRTIO_BLK_F_FLUSH) ? VIRTIO_BLK_S_OK :
						VIRTIO_BLK_S_UNSUPP;
}

static uint8_t blk_get_id(struct fake_chain *c, const struct blk_req *r,
			  uint32_t *in_done)
{
	static const char id[VIRTIO_BLK_ID_BYTES] = "uvirtio-fake-blk";
	uint64_t done = 0;
	unsigned int i;

	for (i = r->first_w; i < c->nsegs && done < r->in_len &&
	     done < sizeof(id); i++) {
		size_t l = UV_MIN((uint64_t)c->segs[i].len,
				  UV_MIN(r->in_len, sizeof(id)) - done);

		memcpy(c->segs[i].p, id + done, l);
		done += l;
	}
	*in_done = (uint32_t)done;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: both zero the ranges in this model. */
static uint8_t blk_discard_wz(struct uvirtio_fake *f, const struct blk_req *r)
{
	bool disc = r->hdr.type == VIRTIO_BLK_T_DISCARD;
	unsigned int feat = disc ? VIRTIO_BLK_F_DISCARD :
				   VIRTIO_BLK_F_WRITE_ZEROES;
	uint32_t maxs = disc ? f->blkcfg.max_discard_sectors :
			       f->blkcfg.max_write_zeroes_sectors;
	uint32_t maxseg = disc ? f->blkcfg.max_discard_seg :
				 f->blkcfg.max_write_zeroes_seg;
	size_t n = (r->out_len - sizeof(r->hdr)) / 16, k;

	if (!drv_has(f, feat))
		return VIRTIO_BLK_S_UNSUPP;
	if (!n || (r->out_len - sizeof(r->hdr)) % 16 || n > maxseg)
		return VIRTIO_BLK_S_IOERR;
	for (k = 0; k < n; k++) {
		struct virtio_blk_discard_write_zeroes d;

		memcpy(&d, r->out + sizeof(r->hdr) + 16 * k, sizeof(d));
		if (d.num_sectors > maxs ||
		    d.sector > f->disk_len / 512 ||
		    d.num_sectors > f->disk_len / 512 - d.sector ||
		    (disc && f->blkcfg.discard_sector_alignment &&
		     d.sector % f->blkcfg.discard_sector_alignment))
			return VIRTIO_BLK_S_IOERR;
		memset(f->disk + d.sector * 512, 0, (size_t)d.num_sectors * 512);
	}
	return VIRTIO_BLK_S_OK;
}

uint8_t fake_blk_execute(struct uvirtio_fake *f, struct fake_chain *c,
			 uint32_t *used_len)
{
	struct blk_req r = { .first_w = c->nsegs };
	uint8_t *out, *status;
	size_t pos;
	unsigned int i;
	uint32_t in_done = 0;
	uint8_t st = VIRTIO_BLK_S_OK;

	for (i = 0; i < c->nsegs; i++) {
		if (c->segs[i].write) {
			if (r.first_w == c->nsegs)
				r.first_w = i;
			r.in_len += c->segs[i].len;
		} else {
			r.out_len += c->segs[i].len;
		}
	}
	*used_len = 0;
	if (r.out_len < sizeof(r.hdr) || r.in_len < 1 ||
	    r.out_len > FAKE_MAX_XFER)
		return 0xff;	/* malformed: no status to write */
	out = malloc(r.out_len);
	if (!out)
		return 0xff;
	for (i = 0, pos = 0; i < r.first_w; i++) {
		memcpy(out + pos, c->segs[i].p, c->segs[i].len);
		pos += c->segs[i].len;
	}
	memcpy(&r.hdr, out, sizeof(r.hdr));
	r.out = out;
	/* Status: the last writable byte. */
	status = c->segs[c->nsegs - 1].p + c->segs[c->nsegs - 1].len - 1;
	r.in_len -= 1;

	if (drv_has(f, VIRTIO_BLK_F_SEG_MAX) &&
	    c->nsegs > f->blkcfg.seg_max + 2u)
		st = VIRTIO_BLK_S_IOERR;
	if (drv_has(f, VIRTIO_BLK_F_SIZE_MAX))
		for (i = 0; i < c->nsegs; i++)
			if (c->segs[i].len > f->blkcfg.size_max)
				st = VIRTIO_BLK_S_IOERR;
	if (st == VIRTIO_BLK_S_OK) {
		switch (r.hdr.type) {
		case VIRTIO_BLK_T_IN:
			st = blk_read(f, c, &r, &in_done);
			break;
		case VIRTIO_BLK_T_OUT:
			st = blk_write(f, &r);
			break;
		case VIRTIO_BLK_T_FLUSH:
			st = blk_flush(f);
			break;
		case VIRTIO_BLK_T_GET_ID:
			st = blk_get_id(c, &r, &in_done);
			break;
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES:
			st = blk_discard_wz(f, &r);
			break;
		default:
			st = VIRTIO_BLK_S_UNSUPP;
			break;
		}
	}
	free(out);
	*status = st;
	*used_len = in_done + 1;
	return st;
}
