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

uint8_t fake_blk_execute(struct uvirtio_fake *f, struct fake_chain *c,
			   uint32_t *used_len)
{
	uint8_t *out = NULL, *status;
	size_t out_len = 0, in_len = 0, pos;
	struct virtio_blk_outhdr hdr;
	unsigned int i, first_w = c->nsegs;
	uint8_t st = VIRTIO_BLK_S_OK;

	for (i = 0; i < c->nsegs; i++) {
		if (c->segs[i].write) {
			if (first_w == c->nsegs)
				first_w = i;
			in_len += c->segs[i].len;
		} else {
			out_len += c->segs[i].len;
		}
	}
	*used_len = 0;
	if (out_len < sizeof(hdr) || in_len < 1 || out_len > FAKE_MAX_XFER)
		return 0xff;	/* malformed: no status to write */
	out = malloc(out_len);
	if (!out)
		return 0xff;
	for (i = 0, pos = 0; i < first_w; i++) {
		memcpy(out + pos, c->segs[i].p, c->segs[i].len);
		pos += c->segs[i].len;
	}
	memcpy(&hdr, out, sizeof(hdr));
	/* Status: the last writable byte. */
	status = c->segs[c->nsegs - 1].p + c->segs[c->nsegs - 1].len - 1;
	in_len -= 1;

	if (drv_has(f, VIRTIO_BLK_F_SEG_MAX) &&
	    c->nsegs > f->blkcfg.seg_max + 2u)
		st = VIRTIO_BLK_S_IOERR;
	if (drv_has(f, VIRTIO_BLK_F_SIZE_MAX))
		for (i = 0; i < c->nsegs; i++)
			if (c->segs[i].len > f->blkcfg.size_max)
				st = VIRTIO_BLK_S_IOERR;
	if (st != VIRTIO_BLK_S_OK)
		goto done;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN: {
		uint64_t off = hdr.sector * 512, done = 0;

		if (in_len % 512 || hdr.sector > f->disk_len / 512 ||
		    in_len > f->disk_len - off) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		for (i = first_w; i < c->nsegs && done < in_len; i++) {
			size_t l = UV_MIN((uint64_t)c->segs[i].len,
					  in_len - done);

			memcpy(c->segs[i].p, f->disk + off + done, l);
			done += l;
		}
		*used_len = (uint32_t)in_len;
		break;
	}
	case VIRTIO_BLK_T_OUT: {
		uint64_t off = hdr.sector * 512, dl = out_len - sizeof(hdr);

		if (f->driver_features & (1ull << VIRTIO_BLK_F_RO) ||
		    dl % 512 || hdr.sector > f->disk_len / 512 ||
		    dl > f->disk_len - off) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		memcpy(f->disk + off, out + sizeof(hdr), dl);
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (!drv_has(f, VIRTIO_BLK_F_FLUSH))
			st = VIRTIO_BLK_S_UNSUPP;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		static const char id[VIRTIO_BLK_ID_BYTES] = "uvirtio-fake-blk";
		uint64_t done = 0;

		for (i = first_w; i < c->nsegs && done < in_len &&
		     done < sizeof(id); i++) {
			size_t l = UV_MIN((uint64_t)c->segs[i].len,
					  UV_MIN(in_len, sizeof(id)) - done);

			memcpy(c->segs[i].p, id + done, l);
			done += l;
		}
		*used_len = (uint32_t)done;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		bool disc = hdr.type == VIRTIO_BLK_T_DISCARD;
		unsigned int feat = disc ? VIRTIO_BLK_F_DISCARD :
					   VIRTIO_BLK_F_WRITE_ZEROES;
		uint32_t maxs = disc ? f->blkcfg.max_discard_sectors :
				       f->blkcfg.max_write_zeroes_sectors;
		uint32_t maxseg = disc ? f->blkcfg.max_discard_seg :
					 f->blkcfg.max_write_zeroes_seg;
		size_t n = (out_len - sizeof(hdr)) / 16, k;

		if (!drv_has(f, feat)) {
			st = VIRTIO_BLK_S_UNSUPP;
			break;
		}
		if (!n || (out_len - sizeof(hdr)) % 16 || n > maxseg) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		for (k = 0; k < n; k++) {
			struct virtio_blk_discard_write_zeroes r;

			memcpy(&r, out + sizeof(hdr) + 16 * k, sizeof(r));
			if (r.num_sectors > maxs ||
			    r.sector > f->disk_len / 512 ||
			    r.num_sectors > f->disk_len / 512 - r.sector ||
			    (disc && f->blkcfg.discard_sector_alignment &&
			     r.sector % f->blkcfg.discard_sector_alignment)) {
				st = VIRTIO_BLK_S_IOERR;
				break;
			}
			memset(f->disk + r.sector * 512, 0,
			       (size_t)r.num_sectors * 512);
		}
		break;
	}
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	free(out);
	*status = st;
	*used_len += 1;
	return st;
}
