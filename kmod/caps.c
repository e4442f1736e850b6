// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: the virtio PCI capability parser, the MSI-X range of a BAR and
 * the virtio type of a PCI id.  Pure functions over a config-space
 * accessor, so the KUnit module (kunit.c) can feed them made-up input;
 * exported to it only when KUnit is configured (EXPORT_SYMBOL_IF_KUNIT()).
 */
#include <kunit/visibility.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/virtio_pci.h>

#include "uvirtio.h"

/* Bound on the capability walk, as the PCI core does, to survive loops. */
#define UVIRTIO_CAP_TTL		48
#define UVIRTIO_VIRTIO_CAP_LEN	16	/* sizeof(struct virtio_pci_cap) */
#define UVIRTIO_NOTIFY_CAP_LEN	20	/* + notify_off_multiplier */

static int uvirtio_cfg_read32(uvirtio_cfg_read_t read, void *ctx,
			      unsigned int off, u32 *val)
{
	unsigned int i;
	u32 v = 0;
	u8 b;
	int ret;

	for (i = 0; i < 4; i++) {
		ret = read(ctx, off + i, &b);
		if (ret)
			return ret;
		v |= (u32)b << (8 * i);
	}
	*val = v;
	return 0;
}

static int uvirtio_vcap_index(u8 cfg_type)
{
	switch (cfg_type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		return UVIRTIO_VCAP_COMMON;
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		return UVIRTIO_VCAP_NOTIFY;
	case VIRTIO_PCI_CAP_ISR_CFG:
		return UVIRTIO_VCAP_ISR;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		return UVIRTIO_VCAP_DEVICE;
	case VIRTIO_PCI_CAP_PCI_CFG:
		return UVIRTIO_VCAP_PCI_CFG;
	default:
		return -1;
	}
}

/* Decode the vendor capability at @pos.  Unusable capabilities are skipped. */
static int uvirtio_parse_one(uvirtio_cfg_read_t read, void *ctx,
			     unsigned int pos, const u64 *bar_len,
			     struct uvirtio_virtio_cap *caps)
{
	struct uvirtio_virtio_cap *cap;
	u8 cap_len, cfg_type, bar;
	u32 offset, length, mult = 0;
	int idx, ret;

	ret = read(ctx, pos + 2, &cap_len);
	if (ret)
		return ret;
	/* A capability that runs off the end of config space is corrupt. */
	if (pos + cap_len > PCI_CFG_SPACE_SIZE)
		return -EINVAL;
	/* Too short to be a virtio capability: not ours, skip it. */
	if (cap_len < UVIRTIO_VIRTIO_CAP_LEN)
		return 0;

	ret = read(ctx, pos + 3, &cfg_type);
	if (ret)
		return ret;
	idx = uvirtio_vcap_index(cfg_type);
	/* Unknown type, or not the first of its type: the spec says skip. */
	if (idx < 0 || caps[idx].present)
		return 0;

	ret = read(ctx, pos + 4, &bar);
	if (!ret)
		ret = uvirtio_cfg_read32(read, ctx, pos + 8, &offset);
	if (!ret)
		ret = uvirtio_cfg_read32(read, ctx, pos + 12, &length);
	if (ret)
		return ret;

	if (idx != UVIRTIO_VCAP_PCI_CFG) {
		/* Reserved BAR numbers and structures outside the BAR. */
		if (bar >= UVIRTIO_NUM_BARS || !length ||
		    (u64)offset + length > bar_len[bar])
			return 0;
	}
	if (idx == UVIRTIO_VCAP_NOTIFY) {
		if (cap_len < UVIRTIO_NOTIFY_CAP_LEN)
			return 0;
		ret = uvirtio_cfg_read32(read, ctx, pos + 16, &mult);
		if (ret)
			return ret;
	}

	cap = &caps[idx];
	cap->present = 1;
	cap->bar = bar;
	cap->cap_offset = pos;
	cap->offset = offset;
	cap->length = length;
	cap->notify_off_multiplier = mult;
	return 0;
}

/**
 * uvirtio_parse_virtio_caps() - decode the virtio PCI vendor capabilities
 * @read: config space accessor
 * @ctx: passed to @read
 * @bar_len: length of each of the six BARs (0 = not implemented)
 * @caps: output, UVIRTIO_VCAP_NUM entries, indexed by enum
 *        uvirtio_virtio_cap_index
 *
 * Walks the standard capability list.  For each virtio structure type the
 * first usable capability wins.  Capabilities naming a reserved BAR
 * (> 5), or whose structure does not fit in its BAR, are skipped, as are
 * vendor capabilities too short to be virtio ones.
 *
 * Return: 0 on success (even if nothing was found), -EINVAL if a pointer
 * leads into the standard header or a capability runs past the end of
 * config space, -ELOOP if the list does not end, or the error of @read.
 * On error @caps is all zero.
 */
int uvirtio_parse_virtio_caps(uvirtio_cfg_read_t read, void *ctx,
			      const u64 *bar_len,
			      struct uvirtio_virtio_cap *caps)
{
	unsigned int ttl = UVIRTIO_CAP_TTL;
	u8 status, pos, id;
	int ret;

	memset(caps, 0, sizeof(*caps) * UVIRTIO_VCAP_NUM);

	ret = read(ctx, PCI_STATUS, &status);
	if (ret)
		goto err_clear;
	if (!(status & PCI_STATUS_CAP_LIST))
		return 0;
	ret = read(ctx, PCI_CAPABILITY_LIST, &pos);
	if (ret)
		goto err_clear;

	for (pos &= ~3; pos; pos &= ~3) {
		if (!ttl--) {
			ret = -ELOOP;
			goto err_clear;
		}
		if (pos < PCI_STD_HEADER_SIZEOF) {
			ret = -EINVAL;
			goto err_clear;
		}
		ret = read(ctx, pos, &id);
		if (!ret && id == PCI_CAP_ID_VNDR)
			ret = uvirtio_parse_one(read, ctx, pos, bar_len, caps);
		if (!ret)
			ret = read(ctx, pos + PCI_CAP_LIST_NEXT, &pos);
		if (ret)
			goto err_clear;
	}
	return 0;

err_clear:
	memset(caps, 0, sizeof(*caps) * UVIRTIO_VCAP_NUM);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_parse_virtio_caps);

/**
 * uvirtio_msix_range() - page-aligned range of a BAR holding MSI-X state
 * @table_reg: the MSI-X capability's Table Offset/BIR register
 * @pba_reg: the MSI-X capability's PBA Offset/BIR register
 * @nvec: MSI-X table size
 * @bar: the BAR to compute the range for
 * @start: output, start of the range (page aligned)
 * @end: output, end of the range (exclusive, page aligned); equal to
 *       @start when neither the table nor the PBA lives in @bar
 *
 * When both structures live in @bar the range covers both and the gap
 * between them.
 */
void uvirtio_msix_range(u32 table_reg, u32 pba_reg, u32 nvec,
			unsigned int bar, u64 *start, u64 *end)
{
	u64 lo = U64_MAX, hi = 0, off;

	if ((table_reg & PCI_MSIX_TABLE_BIR) == bar) {
		off = table_reg & PCI_MSIX_TABLE_OFFSET;
		lo = min(lo, off);
		hi = max(hi, off + (u64)nvec * PCI_MSIX_ENTRY_SIZE);
	}
	if ((pba_reg & PCI_MSIX_PBA_BIR) == bar) {
		off = pba_reg & PCI_MSIX_PBA_OFFSET;
		lo = min(lo, off);
		hi = max(hi, off + DIV_ROUND_UP((u64)nvec, 64) * 8);
	}
	if (lo == U64_MAX) {
		*start = 0;
		*end = 0;
		return;
	}
	*start = round_down(lo, PAGE_SIZE);
	*end = round_up(hi, PAGE_SIZE);
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_msix_range);

/**
 * uvirtio_virtio_id() - virtio device type of a virtio PCI function
 * @device: PCI device id
 * @subsys_device: PCI subsystem device id
 *
 * Return: the type (VIRTIO_ID_*): device - 0x1040 for modern ids, the
 * subsystem device id for transitional ids 0x1000-0x103f, else 0.
 */
u32 uvirtio_virtio_id(u16 device, u16 subsys_device)
{
	if (device >= 0x1040 && device <= 0x107f)
		return device - 0x1040;
	if (device >= 0x1000 && device <= 0x103f)
		return subsys_device;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_virtio_id);
