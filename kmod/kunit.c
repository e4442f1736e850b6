// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the pure functions of uvirtio: capability parsing
 * (kmod/caps.c), access and config rules (rdwr.c, config.c), DMA and IOVA
 * arithmetic (dma.c, iommu.c), the ioctl size check and the DEVICE_OPEN
 * argument check (main.c), and the virtio-mmio write rules (mmio.c).
 *
 * Built as uvirtio_kunit.ko; the suites run when it is loaded (uvirtio.ko
 * must be loaded first, it exports the helpers in the
 * EXPORTED_FOR_KUNIT_TESTING namespace).
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h>

#include "compat.h"
#include "uvirtio.h"

/* ---- capability parsing over a fake config space ---- */

struct uvirtio_fake_cfg {
	u8 cfg[PCI_CFG_SPACE_SIZE];
	int fail_off;		/* offset whose read fails, or -1 */
	unsigned int reads;
};

static int uvirtio_fake_read(void *ctx, unsigned int off, u8 *val)
{
	struct uvirtio_fake_cfg *f = ctx;

	f->reads++;
	if (off >= PCI_CFG_SPACE_SIZE || (int)off == f->fail_off)
		return -EIO;
	*val = f->cfg[off];
	return 0;
}

static void uvirtio_put32(u8 *p, u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void uvirtio_add_vcap(struct uvirtio_fake_cfg *f, u8 pos, u8 next,
			     u8 type, u8 bar, u32 offset, u32 length,
			     u8 cap_len, u32 mult)
{
	u8 *p = &f->cfg[pos];

	p[0] = PCI_CAP_ID_VNDR;
	p[1] = next;
	p[2] = cap_len;
	p[3] = type;
	p[4] = bar;
	uvirtio_put32(p + 8, offset);
	uvirtio_put32(p + 12, length);
	if (cap_len >= 20)
		uvirtio_put32(p + 16, mult);
}

static struct uvirtio_fake_cfg *uvirtio_fake_new(struct kunit *test, u8 first)
{
	struct uvirtio_fake_cfg *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->fail_off = -1;
	f->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAPABILITY_LIST] = first;
	return f;
}

/* The layout QEMU's modern virtio devices use, all in BAR 4. */
static struct uvirtio_fake_cfg *uvirtio_fake_good(struct kunit *test)
{
	struct uvirtio_fake_cfg *f = uvirtio_fake_new(test, 0x98);

	f->cfg[0x98] = PCI_CAP_ID_MSIX;
	f->cfg[0x99] = 0x84;
	uvirtio_add_vcap(f, 0x84, 0x70, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 20, 0);
	uvirtio_add_vcap(f, 0x70, 0x60, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000,
			 0x1000, 20, 4);
	uvirtio_add_vcap(f, 0x60, 0x50, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000,
			 0x1000, 16, 0);
	uvirtio_add_vcap(f, 0x50, 0x40, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000,
			 0x1000, 16, 0);
	uvirtio_add_vcap(f, 0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0,
			 0x1000, 16, 0);
	return f;
}

static const u64 uvirtio_bars[UVIRTIO_NUM_BARS] = {
	[1] = 0x1000, [4] = 0x4000,
};

static void uvirtio_caps_good(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);

	KUNIT_ASSERT_EQ(test, 0, uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
							   uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 1, caps[UVIRTIO_VCAP_COMMON].present);
	KUNIT_EXPECT_EQ(test, 4, caps[UVIRTIO_VCAP_COMMON].bar);
	KUNIT_EXPECT_EQ(test, 0x40, caps[UVIRTIO_VCAP_COMMON].cap_offset);
	KUNIT_EXPECT_EQ(test, 0x1000, caps[UVIRTIO_VCAP_COMMON].length);
	KUNIT_EXPECT_EQ(test, 1, caps[UVIRTIO_VCAP_ISR].present);
	KUNIT_EXPECT_EQ(test, 0x1000, caps[UVIRTIO_VCAP_ISR].offset);
	KUNIT_EXPECT_EQ(test, 1, caps[UVIRTIO_VCAP_DEVICE].present);
	KUNIT_EXPECT_EQ(test, 0x2000, caps[UVIRTIO_VCAP_DEVICE].offset);
	KUNIT_EXPECT_EQ(test, 1, caps[UVIRTIO_VCAP_NOTIFY].present);
	KUNIT_EXPECT_EQ(test, 0x3000, caps[UVIRTIO_VCAP_NOTIFY].offset);
	KUNIT_EXPECT_EQ(test, 4, caps[UVIRTIO_VCAP_NOTIFY].notify_off_multiplier);
	KUNIT_EXPECT_EQ(test, 1, caps[UVIRTIO_VCAP_PCI_CFG].present);
	KUNIT_EXPECT_EQ(test, 0x84, caps[UVIRTIO_VCAP_PCI_CFG].cap_offset);
	/* Only the notify capability carries a multiplier. */
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_COMMON].notify_off_multiplier);
}

static void uvirtio_caps_no_list(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);
	unsigned int i;

	f->cfg[PCI_STATUS] = 0;
	memset(caps, 0xaa, sizeof(caps));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
							   uvirtio_bars, caps));
	for (i = 0; i < UVIRTIO_VCAP_NUM; i++)
		KUNIT_EXPECT_EQ(test, 0, caps[i].present);
}

static void uvirtio_caps_loop(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);

	f->cfg[0x41] = 0x98;	/* common -> MSI-X -> ... -> common */
	KUNIT_EXPECT_EQ(test, -ELOOP,
			uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
						  uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_COMMON].present);
	/* The walk is bounded. */
	KUNIT_EXPECT_LT(test, f->reads, 2000U);

	f = uvirtio_fake_new(test, 0x40);
	uvirtio_add_vcap(f, 0x40, 0x40, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 16,
			 16, 0);
	KUNIT_EXPECT_EQ(test, -ELOOP,
			uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
						  uvirtio_bars, caps));
}

static void uvirtio_caps_into_header(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);

	f->cfg[PCI_CAPABILITY_LIST] = 0x20;
	KUNIT_EXPECT_EQ(test, -EINVAL,
			uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
						  uvirtio_bars, caps));
	f = uvirtio_fake_good(test);
	f->cfg[0x51] = 0x3c;	/* isr -> into the header */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
						  uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_NOTIFY].present);
}

static void uvirtio_caps_truncated(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);

	/* The last capability runs past the end of config space. */
	f->cfg[0x41] = 0xf8;
	f->cfg[0xf8] = PCI_CAP_ID_VNDR;
	f->cfg[0xf9] = 0;
	f->cfg[0xfa] = 16;	/* 0xf8 + 16 > 0x100 */
	f->cfg[0xfb] = VIRTIO_PCI_CAP_DEVICE_CFG;
	KUNIT_EXPECT_EQ(test, -EINVAL,
			uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
						  uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_COMMON].present);

	/* A read that fails part-way is reported, with nothing decoded. */
	f = uvirtio_fake_good(test);
	f->fail_off = 0x50 + 12;
	KUNIT_EXPECT_EQ(test, -EIO,
			uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
						  uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_NOTIFY].present);
}

static void uvirtio_caps_skipped(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);

	/* common: points past BAR 4; isr: BAR 6; device: too short */
	uvirtio_add_vcap(f, 0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x3ff0,
			 0x38, 16, 0);
	uvirtio_add_vcap(f, 0x50, 0x40, VIRTIO_PCI_CAP_ISR_CFG, 6, 0, 1, 16, 0);
	f->cfg[0x62] = 12;
	/* notify without room for the multiplier */
	f->cfg[0x72] = 16;
	KUNIT_ASSERT_EQ(test, 0, uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
							   uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_COMMON].present);
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_ISR].present);
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_DEVICE].present);
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_NOTIFY].present);
	KUNIT_EXPECT_EQ(test, 1, caps[UVIRTIO_VCAP_PCI_CFG].present);

	/* u32 offset + length overflowing 32 bits is still outside. */
	f = uvirtio_fake_good(test);
	uvirtio_add_vcap(f, 0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4,
			 0xffffffff, 2, 16, 0);
	KUNIT_ASSERT_EQ(test, 0, uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
							   uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_COMMON].present);
	/* Zero length is useless too. */
	uvirtio_add_vcap(f, 0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 0,
			 16, 0);
	KUNIT_ASSERT_EQ(test, 0, uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
							   uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 0, caps[UVIRTIO_VCAP_COMMON].present);
}

static void uvirtio_caps_first_wins(struct kunit *test)
{
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	struct uvirtio_fake_cfg *f = uvirtio_fake_good(test);

	/* A second common capability at 0xa0, later in the list. */
	f->cfg[0x41] = 0xa0;
	uvirtio_add_vcap(f, 0xa0, 0, VIRTIO_PCI_CAP_COMMON_CFG, 1, 0, 0x100,
			 16, 0);
	/* And a vendor type we do not know. */
	f->cfg[0xa1] = 0xb0;
	uvirtio_add_vcap(f, 0xb0, 0, 9, 1, 0, 0x100, 16, 0);
	KUNIT_ASSERT_EQ(test, 0, uvirtio_parse_virtio_caps(uvirtio_fake_read, f,
							   uvirtio_bars, caps));
	KUNIT_EXPECT_EQ(test, 4, caps[UVIRTIO_VCAP_COMMON].bar);
	KUNIT_EXPECT_EQ(test, 0x40, caps[UVIRTIO_VCAP_COMMON].cap_offset);
}

static struct kunit_case uvirtio_caps_cases[] = {
	KUNIT_CASE(uvirtio_caps_good),
	KUNIT_CASE(uvirtio_caps_no_list),
	KUNIT_CASE(uvirtio_caps_loop),
	KUNIT_CASE(uvirtio_caps_into_header),
	KUNIT_CASE(uvirtio_caps_truncated),
	KUNIT_CASE(uvirtio_caps_skipped),
	KUNIT_CASE(uvirtio_caps_first_wins),
	{}
};

static struct kunit_suite uvirtio_caps_suite = {
	.name = "uvirtio_caps",
	.test_cases = uvirtio_caps_cases,
};

/* ---- DMA argument checks, segment merging, memlock math ---- */

static void uvirtio_dma_range(struct kunit *test)
{
	u64 n = 0;

	KUNIT_EXPECT_EQ(test, 0, uvirtio_check_dma_range(PAGE_SIZE,
							 3 * PAGE_SIZE, &n));
	KUNIT_EXPECT_EQ(test, 3ULL, n);
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_dma_range(PAGE_SIZE, 0, &n));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_dma_range(PAGE_SIZE + 1,
							       PAGE_SIZE, &n));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_dma_range(PAGE_SIZE,
							       PAGE_SIZE - 1,
							       &n));
	/* Wraps past the top of the address space. */
	KUNIT_EXPECT_EQ(test, -EOVERFLOW,
			uvirtio_check_dma_range(U64_MAX & PAGE_MASK,
						2 * PAGE_SIZE, &n));
	/* Ends exactly at 2^64: still a wrap. */
	KUNIT_EXPECT_EQ(test, -EOVERFLOW,
			uvirtio_check_dma_range(U64_MAX & PAGE_MASK,
						PAGE_SIZE, &n));
	/* Longer than one mapping may be. */
	KUNIT_EXPECT_EQ(test, -EOVERFLOW,
			uvirtio_check_dma_range(0, (UVIRTIO_MAX_MAP_PAGES + 1) <<
						PAGE_SHIFT, &n));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_check_dma_range(0, UVIRTIO_MAX_MAP_PAGES <<
						PAGE_SHIFT, &n));
}

static void uvirtio_dma_overlap(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, uvirtio_ranges_overlap(0, 10, 9, 10));
	KUNIT_EXPECT_TRUE(test, uvirtio_ranges_overlap(9, 10, 0, 10));
	KUNIT_EXPECT_TRUE(test, uvirtio_ranges_overlap(0, 100, 10, 1));
	KUNIT_EXPECT_FALSE(test, uvirtio_ranges_overlap(0, 10, 10, 10));
	KUNIT_EXPECT_FALSE(test, uvirtio_ranges_overlap(10, 10, 0, 10));
	KUNIT_EXPECT_FALSE(test, uvirtio_ranges_overlap(0, 0, 0, 10));
	KUNIT_EXPECT_FALSE(test, uvirtio_ranges_overlap(5, 10, 100, 0));
}

static void uvirtio_dma_seg_merge(struct kunit *test)
{
	struct uvirtio_dma_segment cur = {};

	KUNIT_EXPECT_TRUE(test, uvirtio_seg_merge(&cur, 0x1000, 0x1000));
	KUNIT_EXPECT_TRUE(test, uvirtio_seg_merge(&cur, 0x2000, 0x2000));
	KUNIT_EXPECT_EQ(test, 0x1000ULL, cur.iova);
	KUNIT_EXPECT_EQ(test, 0x3000ULL, cur.length);
	KUNIT_EXPECT_FALSE(test, uvirtio_seg_merge(&cur, 0x5000, 0x1000));
	KUNIT_EXPECT_FALSE(test, uvirtio_seg_merge(&cur, 0x0, 0x1000));
	KUNIT_EXPECT_EQ(test, 0x3000ULL, cur.length);
	/* A run ending at 2^64 cannot be extended. */
	cur.iova = U64_MAX - 0xfff;
	cur.length = 0x1000;
	KUNIT_EXPECT_FALSE(test, uvirtio_seg_merge(&cur, 0, 0x1000));
}

static void uvirtio_dma_merge_array(struct kunit *test)
{
	struct uvirtio_dma_segment s[] = {
		{ 0x1000, 0x1000 }, { 0x2000, 0x1000 }, { 0x3000, 0x2000 },
		{ 0x8000, 0x1000 }, { 0x9000, 0 }, { 0x9000, 0x1000 },
		{ 0x4000, 0x1000 },
	};
	struct uvirtio_dma_segment one[] = { { 0x10000, 0x1000 } };

	KUNIT_ASSERT_EQ(test, 3U, uvirtio_merge_segments(s, ARRAY_SIZE(s)));
	KUNIT_EXPECT_EQ(test, 0x1000ULL, s[0].iova);
	KUNIT_EXPECT_EQ(test, 0x4000ULL, s[0].length);
	KUNIT_EXPECT_EQ(test, 0x8000ULL, s[1].iova);
	KUNIT_EXPECT_EQ(test, 0x2000ULL, s[1].length);
	KUNIT_EXPECT_EQ(test, 0x4000ULL, s[2].iova);
	KUNIT_EXPECT_EQ(test, 1U, uvirtio_merge_segments(one, 1));
	KUNIT_EXPECT_EQ(test, 0U, uvirtio_merge_segments(one, 0));
}

static void uvirtio_dma_memlock(struct kunit *test)
{
	atomic_long_t locked = ATOMIC_LONG_INIT(0);

	KUNIT_EXPECT_EQ(test, 0, uvirtio_memlock_charge(&locked, 10, 16));
	KUNIT_EXPECT_EQ(test, 10L, atomic_long_read(&locked));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_memlock_charge(&locked, 6, 16));
	KUNIT_EXPECT_EQ(test, -ENOMEM, uvirtio_memlock_charge(&locked, 1, 16));
	KUNIT_EXPECT_EQ(test, 16L, atomic_long_read(&locked));
	uvirtio_memlock_uncharge(&locked, 6);
	KUNIT_EXPECT_EQ(test, 10L, atomic_long_read(&locked));
	/* Huge requests never wrap the counter. */
	KUNIT_EXPECT_EQ(test, -ENOMEM,
			uvirtio_memlock_charge(&locked, U64_MAX, 16));
	KUNIT_EXPECT_EQ(test, -ENOMEM,
			uvirtio_memlock_charge(&locked, U64_MAX - 5, U64_MAX));
	KUNIT_EXPECT_EQ(test, 10L, atomic_long_read(&locked));
	/* A zero limit (RLIMIT_MEMLOCK 0) refuses everything. */
	atomic_long_set(&locked, 0);
	KUNIT_EXPECT_EQ(test, -ENOMEM, uvirtio_memlock_charge(&locked, 1, 0));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_memlock_charge(&locked, 0, 0));
	/* Already over the limit (limit lowered later): refuse. */
	atomic_long_set(&locked, 20);
	KUNIT_EXPECT_EQ(test, -ENOMEM, uvirtio_memlock_charge(&locked, 1, 16));
}

static struct kunit_case uvirtio_dma_cases[] = {
	KUNIT_CASE(uvirtio_dma_range),
	KUNIT_CASE(uvirtio_dma_overlap),
	KUNIT_CASE(uvirtio_dma_seg_merge),
	KUNIT_CASE(uvirtio_dma_merge_array),
	KUNIT_CASE(uvirtio_dma_memlock),
	{}
};

static struct kunit_suite uvirtio_dma_suite = {
	.name = "uvirtio_dma",
	.test_cases = uvirtio_dma_cases,
};

/* ---- region access, config write policy, MSI-X ranges, ids ---- */

static void uvirtio_access_widths(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 0, uvirtio_check_access(0x100, 0, 1, false));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_check_access(0x100, 0xfe, 2, false));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_check_access(0x100, 0xfc, 4, false));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 0, 8, false));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_check_access(0x100, 0xf8, 8, true));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 0, 3, true));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 0, 0, true));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 0, 16, true));
	/* misaligned */
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 1, 2, false));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 2, 4, false));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 4, 8, true));
	/* out of range, including offsets that would wrap */
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, 0x100, 1,
							    false));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0x100, U64_MAX - 3,
							    4, false));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_check_access(0, 0, 1, false));
}

static void uvirtio_access_cfg_write(struct kunit *test)
{
	u16 cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;

	u16 master = cmd | PCI_COMMAND_MASTER;
	int r;

	/* Bus master may be toggled ... */
	r = uvirtio_cfg_write_check(PCI_COMMAND, 2, master, cmd, true);
	KUNIT_EXPECT_EQ(test, 0, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND, 1, master & 0xff, cmd, true);
	KUNIT_EXPECT_EQ(test, 0, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND, 2, cmd, master, true);
	KUNIT_EXPECT_EQ(test, 0, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND + 1, 1, cmd >> 8, cmd, true);
	KUNIT_EXPECT_EQ(test, 0, r);
	/* ... but nothing else in the command register. */
	r = uvirtio_cfg_write_check(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY,
				    cmd, true);
	KUNIT_EXPECT_EQ(test, -EPERM, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND + 1, 1,
				    PCI_COMMAND_INTX_DISABLE >> 8, cmd, true);
	KUNIT_EXPECT_EQ(test, -EPERM, r);
	/* The dword at 4 also writes the status register: refused. */
	r = uvirtio_cfg_write_check(PCI_COMMAND, 4, cmd, cmd, true);
	KUNIT_EXPECT_EQ(test, -EPERM, r);
	/* Header, BARs, ROM, capabilities, extended space: refused. */
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_cfg_write_check(0, 2, 0, cmd, true));
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_cfg_write_check(PCI_BASE_ADDRESS_0, 4, 0, cmd,
						true));
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_cfg_write_check(PCI_ROM_ADDRESS, 4, 0, cmd,
						true));
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_cfg_write_check(0x98, 2, 0, cmd, true));
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_cfg_write_check(0x100, 4, 0, cmd, true));
	/* A device that may not DMA: bus master can be cleared, not set. */
	r = uvirtio_cfg_write_check(PCI_COMMAND, 2, master, cmd, false);
	KUNIT_EXPECT_EQ(test, -EPERM, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND, 1, master & 0xff, cmd, false);
	KUNIT_EXPECT_EQ(test, -EPERM, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND, 2, cmd, master, false);
	KUNIT_EXPECT_EQ(test, 0, r);
	r = uvirtio_cfg_write_check(PCI_COMMAND, 2, cmd, cmd, false);
	KUNIT_EXPECT_EQ(test, 0, r);
}

static void uvirtio_access_msix(struct kunit *test)
{
	u64 start, end;

	/* QEMU virtio: 4 vectors, table at 0 and PBA at 0x800 of BAR 1 */
	uvirtio_msix_range(1, 0x800 | 1, 4, 1, &start, &end);
	KUNIT_EXPECT_EQ(test, 0ULL, start);
	KUNIT_EXPECT_EQ(test, (u64)PAGE_SIZE, end);
	uvirtio_msix_range(1, 0x800 | 1, 4, 0, &start, &end);
	KUNIT_EXPECT_EQ(test, start, end);
	/* Table in BAR 2 at 0x2000 (2048 vectors), PBA in BAR 4 at 0x10 */
	uvirtio_msix_range(0x2000 | 2, 0x10 | 4, 2048, 2, &start, &end);
	KUNIT_EXPECT_EQ(test, 0x2000ULL, start);
	KUNIT_EXPECT_EQ(test, round_up(0x2000ULL + 2048 * 16, PAGE_SIZE), end);
	uvirtio_msix_range(0x2000 | 2, 0x10 | 4, 2048, 4, &start, &end);
	KUNIT_EXPECT_EQ(test, 0ULL, start);
	KUNIT_EXPECT_EQ(test, (u64)PAGE_SIZE, end);
	/* An unaligned table still blocks whole pages. */
	uvirtio_msix_range(0x1ff8 | 3, 0x3000 | 3, 1, 3, &start, &end);
	KUNIT_EXPECT_EQ(test, 0x1000ULL, start);
	KUNIT_EXPECT_EQ(test, 0x3000ULL + PAGE_SIZE, end);
}

static void uvirtio_access_ids(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 4U, uvirtio_virtio_id(0x1044, 0x1100));
	KUNIT_EXPECT_EQ(test, 1U, uvirtio_virtio_id(0x1041, 0));
	KUNIT_EXPECT_EQ(test, 4U, uvirtio_virtio_id(0x1005, 4));
	KUNIT_EXPECT_EQ(test, 0U, uvirtio_virtio_id(0x1080, 4));
	KUNIT_EXPECT_EQ(test, 0U, uvirtio_virtio_id(0x0fff, 4));
}

static void uvirtio_access_ioctl_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_ioctl_size_check(0, 8));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_ioctl_size_check(7, 8));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_ioctl_size_check(8, 8));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_ioctl_size_check(PAGE_SIZE, 8));
	KUNIT_EXPECT_EQ(test, -E2BIG, uvirtio_ioctl_size_check(PAGE_SIZE + 1, 8));
	KUNIT_EXPECT_EQ(test, -E2BIG, uvirtio_ioctl_size_check(U32_MAX, 8));
}

static void uvirtio_access_open_args(struct kunit *test)
{
	struct uvirtio_device_open op = {};

	/* A caller from before MMIO: all of name zero-filled. */
	KUNIT_EXPECT_EQ(test, 0, uvirtio_open_args_check(&op));
	op.flags = 4;
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	/* A token only with REATTACH; state_handle is output only. */
	op.flags = 0;
	op.token = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	op.flags = UVIRTIO_DEVICE_OPEN_REATTACH;
	KUNIT_EXPECT_EQ(test, 0, uvirtio_open_args_check(&op));
	op.state_handle = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	op.state_handle = 0;
	op.token = 0;
	/* A name without the flag is not ignored. */
	op.flags = 0;
	op.name[5] = 'x';
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	memset(op.name, 0, sizeof(op.name));
	op.flags = UVIRTIO_DEVICE_OPEN_PLATFORM;
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	strscpy(op.name, "LNRO0005:00", sizeof(op.name));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_open_args_check(&op));
	op.pci_addr = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	op.pci_addr = 0;
	memset(op.name, 'a', sizeof(op.name));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_open_args_check(&op));
	op.name[sizeof(op.name) - 1] = 0;
	KUNIT_EXPECT_EQ(test, 0, uvirtio_open_args_check(&op));
}

static void uvirtio_access_mmio_write(struct kunit *test)
{
	static const unsigned int ring[] = {
		VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
		VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH,
	};
	unsigned int i;

	/* Registers take 32-bit accesses only; config any width. */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			uvirtio_mmio_write_check(VIRTIO_MMIO_STATUS, 1, 0, true));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_NOTIFY, 2, 0,
						 false));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_CONFIG + 1, 1, 7,
						 false));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_CONFIG, 2, 7,
						 false));
	/* Negotiation and notification work without DMA. */
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_STATUS, 4, 0xf,
						 false));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_NUM, 4, 256,
						 false));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0,
						 false));
	/* Ring addresses: refused without DMA, whatever the value. */
	for (i = 0; i < ARRAY_SIZE(ring); i++) {
		KUNIT_EXPECT_EQ(test, -EPERM,
				uvirtio_mmio_write_check(ring[i], 4, 0, false));
		KUNIT_EXPECT_EQ(test, -EPERM,
				uvirtio_mmio_write_check(ring[i], 4, 0x1000,
							 false));
		KUNIT_EXPECT_EQ(test, 0,
				uvirtio_mmio_write_check(ring[i], 4, 0x1000,
							 true));
	}
	/* QueuePFN 0 and QueueReady 0 stop a queue: allowed. */
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_PFN, 4, 0,
						 false));
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_PFN, 4, 0x10,
						 false));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_READY, 4, 0,
						 false));
	KUNIT_EXPECT_EQ(test, -EPERM,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_READY, 4, 1,
						 false));
	KUNIT_EXPECT_EQ(test, 0,
			uvirtio_mmio_write_check(VIRTIO_MMIO_QUEUE_READY, 4, 1,
						 true));
}

static struct kunit_case uvirtio_access_cases[] = {
	KUNIT_CASE(uvirtio_access_widths),
	KUNIT_CASE(uvirtio_access_cfg_write),
	KUNIT_CASE(uvirtio_access_msix),
	KUNIT_CASE(uvirtio_access_ids),
	KUNIT_CASE(uvirtio_access_ioctl_size),
	KUNIT_CASE(uvirtio_access_open_args),
	KUNIT_CASE(uvirtio_access_mmio_write),
	{}
};

static struct kunit_suite uvirtio_access_suite = {
	.name = "uvirtio_access",
	.test_cases = uvirtio_access_cases,
};

/* ---- IOVA ranges and allocation (iommu.c) ---- */

#define UV_MSI_START	0xfee00000ULL
#define UV_MSI_LAST	0xfeefffffULL

static void uvirtio_iova_check_cases(struct kunit *test)
{
	const struct uvirtio_iova_range r[] = {
		{ 0, UV_MSI_START - 1 },
		{ UV_MSI_LAST + 1, (1ULL << 39) - 1 },
	};

	KUNIT_EXPECT_EQ(test, 0, uvirtio_iova_check(r, 2, 0, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_iova_check(r, 2, SZ_4G - SZ_2M, SZ_4M));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_iova_check(r, 2, 0, 0));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_iova_check(r, 2, 0x800, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, -EINVAL, uvirtio_iova_check(r, 2, 0, 0x800));
	KUNIT_EXPECT_EQ(test, -EOVERFLOW,
			uvirtio_iova_check(r, 2, U64_MAX & PAGE_MASK,
					   2 * PAGE_SIZE));
	/* into, across and next to the MSI window */
	KUNIT_EXPECT_EQ(test, -ERANGE,
			uvirtio_iova_check(r, 2, UV_MSI_START, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, -ERANGE,
			uvirtio_iova_check(r, 2, UV_MSI_START - PAGE_SIZE,
					   2 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_iova_check(r, 2,
						    UV_MSI_START - PAGE_SIZE,
						    PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, 0, uvirtio_iova_check(r, 2, UV_MSI_LAST + 1,
						    PAGE_SIZE));
	/* past the aperture */
	KUNIT_EXPECT_EQ(test, -ERANGE,
			uvirtio_iova_check(r, 2, 1ULL << 39, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, -ERANGE, uvirtio_iova_check(r, 0, 0, PAGE_SIZE));
}

static void uvirtio_iova_exclude_cases(struct kunit *test)
{
	struct uvirtio_iova_range r[3] = { { 0, (1ULL << 39) - 1 } };
	int n;

	/* a hole in the middle splits */
	n = uvirtio_iova_exclude(r, 1, 3, UV_MSI_START, UV_MSI_LAST);
	KUNIT_ASSERT_EQ(test, 2, n);
	KUNIT_EXPECT_EQ(test, UV_MSI_START - 1, r[0].last);
	KUNIT_EXPECT_EQ(test, UV_MSI_LAST + 1, r[1].start);
	/* the same hole again changes nothing */
	KUNIT_EXPECT_EQ(test, 2, uvirtio_iova_exclude(r, 2, 3, UV_MSI_START,
						      UV_MSI_LAST));
	/* a head cut, a tail cut */
	n = uvirtio_iova_exclude(r, 2, 3, 0, PAGE_SIZE - 1);
	KUNIT_ASSERT_EQ(test, 2, n);
	KUNIT_EXPECT_EQ(test, (u64)PAGE_SIZE, r[0].start);
	n = uvirtio_iova_exclude(r, 2, 3, 1ULL << 38, U64_MAX);
	KUNIT_ASSERT_EQ(test, 2, n);
	KUNIT_EXPECT_EQ(test, (1ULL << 38) - 1, r[1].last);
	/* a split with no room left */
	n = uvirtio_iova_exclude(r, 2, 3, SZ_1M, SZ_2M - 1);
	KUNIT_ASSERT_EQ(test, 3, n);
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			uvirtio_iova_exclude(r, 3, 3, SZ_4G, SZ_4G + SZ_1M));
	/* covering everything leaves nothing */
	KUNIT_EXPECT_EQ(test, 0, uvirtio_iova_exclude(r, 3, 3, 0, U64_MAX));
	/* an empty range removes nothing */
	r[0].start = 0;
	r[0].last = SZ_1G;
	KUNIT_EXPECT_EQ(test, 1, uvirtio_iova_exclude(r, 1, 1, 10, 9));
}

static void uvirtio_iova_find_cases(struct kunit *test)
{
	const struct uvirtio_iova_range r[] = {
		{ 0, UV_MSI_START - 1 },
		{ UV_MSI_LAST + 1, SZ_4G + SZ_2M - 1 },
	};
	struct rb_root_cached tree = RB_ROOT_CACHED;
	struct uvirtio_iova_node used[2];
	u64 iova;

	/* an empty tree: the floor, aligned */
	KUNIT_ASSERT_EQ(test, 0, uvirtio_iova_find(&tree, r, 2, PAGE_SIZE,
						   PAGE_SIZE, 0, &iova));
	KUNIT_EXPECT_EQ(test, (u64)SZ_1M, iova);
	KUNIT_ASSERT_EQ(test, 0, uvirtio_iova_find(&tree, r, 2, SZ_2M, SZ_2M,
						   0, &iova));
	KUNIT_EXPECT_EQ(test, (u64)SZ_2M, iova);
	/* skip a run in use */
	used[0].start = SZ_1M;
	used[0].last = SZ_2M + PAGE_SIZE - 1;
	uvirtio_iova_tree_add(&tree, &used[0]);
	KUNIT_ASSERT_EQ(test, 0, uvirtio_iova_find(&tree, r, 2, PAGE_SIZE,
						   PAGE_SIZE, 0, &iova));
	KUNIT_EXPECT_EQ(test, (u64)SZ_2M + PAGE_SIZE, iova);
	/* never into the MSI window: a run that would cross it moves past */
	KUNIT_ASSERT_EQ(test, 0, uvirtio_iova_find(&tree, r, 2, SZ_2M, SZ_2M,
						   UV_MSI_START - SZ_1M, &iova));
	KUNIT_EXPECT_EQ(test, 0xff000000ULL, iova);
	/* the hint wraps around to the bottom when the top is full */
	used[1].start = UV_MSI_LAST + 1;
	used[1].last = SZ_4G + SZ_2M - 1;
	uvirtio_iova_tree_add(&tree, &used[1]);
	KUNIT_ASSERT_EQ(test, 0, uvirtio_iova_find(&tree, r, 2, PAGE_SIZE,
						   PAGE_SIZE, SZ_4G, &iova));
	KUNIT_EXPECT_EQ(test, (u64)SZ_2M + PAGE_SIZE, iova);
	/* nothing that large is free */
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			uvirtio_iova_find(&tree, r, 2, SZ_4G, PAGE_SIZE, 0,
					  &iova));
	/* a range at the very top does not wrap */
	{
		const struct uvirtio_iova_range top[] = {
			{ U64_MAX - 2 * PAGE_SIZE + 1, U64_MAX },
		};
		struct rb_root_cached empty = RB_ROOT_CACHED;

		KUNIT_EXPECT_EQ(test, 0, uvirtio_iova_find(&empty, top, 1,
							   2 * PAGE_SIZE,
							   PAGE_SIZE, 0,
							   &iova));
		KUNIT_EXPECT_EQ(test, -ENOSPC,
				uvirtio_iova_find(&empty, top, 1,
						  2 * PAGE_SIZE, SZ_2M, 0,
						  &iova));
	}
}

static struct kunit_case uvirtio_iova_cases[] = {
	KUNIT_CASE(uvirtio_iova_check_cases),
	KUNIT_CASE(uvirtio_iova_exclude_cases),
	KUNIT_CASE(uvirtio_iova_find_cases),
	{}
};

static struct kunit_suite uvirtio_iova_suite = {
	.name = "uvirtio_iova",
	.test_cases = uvirtio_iova_cases,
};

kunit_test_suites(&uvirtio_caps_suite, &uvirtio_dma_suite,
		  &uvirtio_access_suite, &uvirtio_iova_suite);

UVIRTIO_IMPORT_KUNIT_NS;
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for uvirtio");
