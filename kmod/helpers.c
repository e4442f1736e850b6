// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: pure helper functions.
 *
 * Nothing in this file touches hardware, user memory or global state, so
 * the KUnit module (kunit.c) can call every function with made-up input.
 * They are used by several files of uvirtio.ko, so they cannot be static
 * (VISIBLE_IF_KUNIT); they are exported to the test module only when KUnit
 * is configured, with EXPORT_SYMBOL_IF_KUNIT().
 */
#include <kunit/visibility.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
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
 * uvirtio_check_access() - validate one pread()/pwrite() access
 * @region_size: size of the region
 * @off: offset inside the region
 * @count: access width in bytes
 * @allow8: 8-byte accesses are allowed (memory BARs)
 *
 * Return: 0, or -EINVAL for a width other than 1, 2, 4 (or 8), an offset
 * not aligned to the width, or an access not inside the region.
 */
int uvirtio_check_access(u64 region_size, u64 off, size_t count, bool allow8)
{
	if (count != 1 && count != 2 && count != 4 && !(allow8 && count == 8))
		return -EINVAL;
	if (off & (count - 1))
		return -EINVAL;
	if (off >= region_size || count > region_size - off)
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_check_access);

/**
 * uvirtio_cfg_write_check() - may user space write this config range?
 * @off: offset of the write
 * @len: width of the write (1, 2 or 4)
 * @val: value written (in the low @len bytes)
 * @cur_cmd: current value of the command register
 * @allow_master: the device may master the bus (it may do DMA)
 *
 * The only writable config space is the Bus Master Enable bit of the
 * command register, and only where the device may do DMA; clearing it is
 * always allowed.  A write that covers the command register must leave
 * every other bit of it unchanged; any write elsewhere (BARs, ROM, the
 * MSI and MSI-X capabilities, the virtio PCI_CFG window, ...) is refused.
 *
 * Return: 0 if allowed, -EPERM if not.
 */
int uvirtio_cfg_write_check(unsigned int off, unsigned int len, u32 val,
			    u16 cur_cmd, bool allow_master)
{
	unsigned int i;
	u16 new = cur_cmd;

	if (off < PCI_COMMAND || len > 2 || off + len > PCI_COMMAND + 2)
		return -EPERM;
	for (i = 0; i < len; i++) {
		unsigned int shift = 8 * (off - PCI_COMMAND + i);

		new &= ~(0xffU << shift);
		new |= ((val >> (8 * i)) & 0xff) << shift;
	}
	if ((new ^ cur_cmd) & ~PCI_COMMAND_MASTER)
		return -EPERM;
	if (!allow_master && (new & ~cur_cmd & PCI_COMMAND_MASTER))
		return -EPERM;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_cfg_write_check);

/**
 * uvirtio_check_dma_range() - validate a UVIRTIO_DMA_MAP user range
 * @vaddr: user address
 * @length: length in bytes
 * @npages: output, number of pages
 *
 * Return: 0; -EINVAL for a zero length or an address or length that is
 * not page aligned; -EOVERFLOW if the range wraps around the address
 * space or is longer than UVIRTIO_MAX_MAP_PAGES pages.
 */
int uvirtio_check_dma_range(u64 vaddr, u64 length, u64 *npages)
{
	u64 end;

	if (!length || !PAGE_ALIGNED(vaddr) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(vaddr, length, &end))
		return -EOVERFLOW;
	if (length >> PAGE_SHIFT > UVIRTIO_MAX_MAP_PAGES)
		return -EOVERFLOW;
	*npages = length >> PAGE_SHIFT;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_check_dma_range);

/**
 * uvirtio_ranges_overlap() - do two non-wrapping byte ranges intersect?
 * @a: start of the first range
 * @alen: its length
 * @b: start of the second range
 * @blen: its length
 *
 * Return: true if some byte lies in both ranges.
 */
bool uvirtio_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	if (!alen || !blen)
		return false;
	return a < b + blen && b < a + alen;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_ranges_overlap);

/**
 * uvirtio_seg_merge() - append a device run to the current segment
 * @cur: the segment being built (length 0 = empty)
 * @iova: device address of the new run
 * @len: length of the new run
 *
 * Return: true if the run was merged into (or started) @cur, false if it
 * is not contiguous with @cur and needs a segment of its own.
 */
bool uvirtio_seg_merge(struct uvirtio_dma_segment *cur, u64 iova, u64 len)
{
	u64 end, sum;

	if (!cur->length) {
		cur->iova = iova;
		cur->length = len;
		return true;
	}
	if (check_add_overflow(cur->iova, cur->length, &end) || end != iova)
		return false;
	if (check_add_overflow(cur->length, len, &sum))
		return false;
	cur->length = sum;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_seg_merge);

/**
 * uvirtio_merge_segments() - merge contiguous neighbours in place
 * @segs: array of runs, in mapping order
 * @n: number of entries
 *
 * Return: the number of entries left in @segs.
 */
unsigned int uvirtio_merge_segments(struct uvirtio_dma_segment *segs,
				    unsigned int n)
{
	unsigned int i, out = 0;

	for (i = 0; i < n; i++) {
		if (!segs[i].length)
			continue;
		if (out && uvirtio_seg_merge(&segs[out - 1], segs[i].iova,
					     segs[i].length))
			continue;
		segs[out++] = segs[i];
	}
	return out;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_merge_segments);

/**
 * uvirtio_memlock_charge() - charge pages against a locked-memory limit
 * @locked: the counter (struct user_struct.locked_vm), in pages
 * @npages: pages to add
 * @limit: limit in pages (RLIMIT_MEMLOCK >> PAGE_SHIFT)
 *
 * Lock-free: safe from any context.
 *
 * Return: 0 if charged, -ENOMEM if the limit would be exceeded.
 */
int uvirtio_memlock_charge(atomic_long_t *locked, u64 npages, u64 limit)
{
	long cur, new;

	do {
		cur = atomic_long_read(locked);
		if (npages > limit || (u64)cur > limit - npages ||
		    npages > LONG_MAX - (u64)cur)
			return -ENOMEM;
		new = cur + (long)npages;
	} while (atomic_long_cmpxchg(locked, cur, new) != cur);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_memlock_charge);

/**
 * uvirtio_memlock_uncharge() - undo uvirtio_memlock_charge()
 * @locked: the counter
 * @npages: pages to remove
 */
void uvirtio_memlock_uncharge(atomic_long_t *locked, u64 npages)
{
	atomic_long_sub((long)npages, locked);
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_memlock_uncharge);

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

/**
 * uvirtio_ioctl_size_check() - validate the size member of an ioctl struct
 * @user_size: what the caller passed
 * @min_size: size of the first release of the struct
 *
 * Return: 0, -EINVAL if @user_size is below @min_size, -E2BIG above
 * PAGE_SIZE (nothing that large can be a struct we will ever define).
 */
int uvirtio_ioctl_size_check(u32 user_size, size_t min_size)
{
	if (user_size < min_size)
		return -EINVAL;
	if (user_size > PAGE_SIZE)
		return -E2BIG;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_ioctl_size_check);
