// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_vfio - host unit tests of the VFIO backend's pure parts: the IOVA
 * allocator (reported ranges, the MSI window, page 0, fragmentation),
 * the capability-chain decoders fed broken kernel replies, the group
 * blocker on a fake sysfs tree, and the open path's argument checks.
 * The backend against a real vfio-pci device runs in the VM
 * (scripts/guest/vfio-tests).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <uvirtio/uvirtio.h>

#include "../src/vfio_priv.h"
#include "harness.h"

#define PG 4096ull

static bool in_msi(uint64_t iova, uint64_t size)
{
	return iova <= UV_MSI_WINDOW_LAST && iova + size > UV_MSI_WINDOW_START;
}

static int t_iova_msi_window(void)
{
	/* The usual x86 reply: everything up to 39 bits, MSI left in. */
	struct uv_iova_range r[] = { { 0, (1ull << 39) - 1 } };
	struct uv_iova_alloc a;
	uint64_t iova, total;
	int i;

	CHECK_EQ(uv_iova_init(&a, r, 1, PG), 0);
	total = uv_iova_free_bytes(&a);
	/* page 0 and the 1 MiB window are gone */
	CHECK_EQ(total, (1ull << 39) - PG - (1ull << 20));
	/* a big allocation below the window cannot straddle it */
	CHECK_EQ(uv_iova_get(&a, UV_MSI_WINDOW_START - PG, &iova), 0);
	CHECK_EQ(iova, PG);
	CHECK_EQ(uv_iova_get(&a, 2 * PG, &iova), 0);
	CHECK(!in_msi(iova, 2 * PG));
	CHECK_EQ(iova, UV_MSI_WINDOW_LAST + 1);
	for (i = 0; i < 100; i++) {
		CHECK_EQ(uv_iova_get(&a, 1 + (uint64_t)i * 1000, &iova), 0);
		CHECK(!in_msi(iova, 1 + (uint64_t)i * 1000));
		CHECK(iova && !(iova & (PG - 1)));
	}
	uv_iova_destroy(&a);
	return PASS;
}

static int t_iova_reported_ranges(void)
{
	/* Two holes, unsorted, unaligned edges: only whole pages inside. */
	struct uv_iova_range r[] = {
		{ 0x200000 + 1, 0x203fff },	/* -> 0x201000..0x203fff */
		{ 0x1000, 0x2fff },
	};
	struct uv_iova_alloc a;
	uint64_t iova;

	CHECK_EQ(uv_iova_init(&a, r, 2, PG), 0);
	CHECK_EQ(uv_iova_free_bytes(&a), 2 * PG + 3 * PG);
	CHECK_EQ(uv_iova_get(&a, 3 * PG, &iova), 0);
	CHECK_EQ(iova, 0x201000);	/* first fit skips the small range */
	CHECK_EQ(uv_iova_get(&a, PG, &iova), 0);
	CHECK_EQ(iova, 0x1000);
	CHECK_EQ(uv_iova_get(&a, PG, &iova), 0);
	CHECK_EQ(iova, 0x2000);
	CHECK_EQ(uv_iova_get(&a, PG, &iova), -ENOSPC);
	uv_iova_destroy(&a);
	return PASS;
}

static int t_iova_free_merge(void)
{
	struct uv_iova_range r[] = { { 0, 0xfffff } };
	struct uv_iova_alloc a;
	uint64_t x[8], before;
	int i;

	CHECK_EQ(uv_iova_init(&a, r, 1, PG), 0);
	before = uv_iova_free_bytes(&a);
	for (i = 0; i < 8; i++)
		CHECK_EQ(uv_iova_get(&a, PG, &x[i]), 0);
	/* free out of order: the list must coalesce back to one range */
	for (i = 0; i < 8; i += 2)
		CHECK_EQ(uv_iova_put(&a, x[i], PG), 0);
	CHECK_EQ(uv_iova_put(&a, x[2], PG), -EINVAL);	/* double free */
	CHECK_EQ(uv_iova_put(&a, x[1] + 1, PG), -EINVAL); /* misaligned */
	for (i = 7; i > 0; i -= 2)
		CHECK_EQ(uv_iova_put(&a, x[i], PG), 0);
	CHECK_EQ(uv_iova_free_bytes(&a), before);
	CHECK_EQ(a.n, 1);
	/* the whole space in one piece again */
	CHECK_EQ(uv_iova_get(&a, before, &x[0]), 0);
	CHECK_EQ(uv_iova_get(&a, PG, &x[1]), -ENOSPC);
	uv_iova_destroy(&a);
	return PASS;
}

static int t_iova_bad_ranges(void)
{
	struct uv_iova_range back[] = { { 0x5000, 0x1000 } };
	struct uv_iova_range overlap[] = { { 0x1000, 0x8fff }, { 0x4000, 0x9fff } };
	struct uv_iova_range tiny[] = { { 0x1001, 0x1fff } };
	struct uv_iova_range only_msi[] = { { 0xfee00000, 0xfeefffff } };
	struct uv_iova_range top[] = { { UINT64_MAX - 3 * PG + 1, UINT64_MAX } };
	struct uv_iova_alloc a;
	uint64_t iova;

	CHECK_EQ(uv_iova_init(&a, back, 1, PG), -EINVAL);
	CHECK_EQ(uv_iova_init(&a, overlap, 2, PG), -EINVAL);
	CHECK_EQ(uv_iova_init(&a, tiny, 1, PG), -ENOSPC);
	CHECK_EQ(uv_iova_init(&a, only_msi, 1, PG), -ENOSPC);
	CHECK_EQ(uv_iova_init(&a, back, 1, 1000), -EINVAL);
	CHECK_EQ(uv_iova_init(&a, NULL, 0, PG), -EINVAL);
	/* the top of the space: no wrap-around */
	CHECK_EQ(uv_iova_init(&a, top, 1, PG), 0);
	CHECK_EQ(uv_iova_get(&a, 4 * PG, &iova), -ENOSPC);
	CHECK_EQ(uv_iova_get(&a, UINT64_MAX, &iova), -EINVAL);
	CHECK_EQ(uv_iova_get(&a, 0, &iova), -EINVAL);
	CHECK_EQ(uv_iova_get(&a, PG, &iova), 0);
	CHECK(iova >= UINT64_MAX - 3 * PG + 1);
	CHECK_EQ(uv_iova_put(&a, UINT64_MAX & ~(PG - 1), 2 * PG), -EINVAL);
	uv_iova_destroy(&a);
	/* a 64 KiB IOMMU page size */
	CHECK_EQ(uv_iova_init(&a, (struct uv_iova_range[]){ { 0, 0xfffff } },
			      1, 0x10000), 0);
	CHECK_EQ(uv_iova_get(&a, 1, &iova), 0);
	CHECK_EQ(iova, 0x10000);
	uv_iova_destroy(&a);
	return PASS;
}

/* A VFIO_IOMMU_GET_INFO reply with an IOVA-range capability. */
struct info_buf {
	struct vfio_iommu_type1_info info;
	struct vfio_iommu_type1_info_cap_iova_range cap;
	struct vfio_iova_range r[2];
};

static void fill_info(struct info_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->info.argsz = sizeof(*b);
	b->info.flags = VFIO_IOMMU_INFO_CAPS;
	b->info.cap_offset = sizeof(b->info);
	b->cap.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	b->cap.header.version = 1;
	b->cap.nr_iovas = 2;
	b->r[0].start = 0;
	b->r[0].end = 0xfedfffff;
	b->r[1].start = 0xfef00000;
	b->r[1].end = (1ull << 39) - 1;
}

static int t_caps_iova(void)
{
	struct info_buf b;
	struct uv_iova_range *r;
	size_t n;
	long off;

	fill_info(&b);
	off = uv_vfio_find_cap(&b, sizeof(b), b.info.cap_offset,
			       VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(b.cap));
	CHECK_EQ(off, sizeof(b.info));
	CHECK_EQ(uv_vfio_iova_ranges(&b, sizeof(b), (size_t)off, &r, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(r[1].start, 0xfef00000);
	free(r);
	/* a missing capability */
	CHECK_EQ(uv_vfio_find_cap(&b, sizeof(b), b.info.cap_offset, 99, 0),
		 -ENOENT);
	/* more ranges than the buffer holds */
	b.cap.nr_iovas = 3;
	CHECK_EQ(uv_vfio_iova_ranges(&b, sizeof(b), (size_t)off, &r, &n), -EIO);
	b.cap.nr_iovas = 0x40000000;
	CHECK_EQ(uv_vfio_iova_ranges(&b, sizeof(b), (size_t)off, &r, &n), -EIO);
	b.cap.nr_iovas = 0;
	CHECK_EQ(uv_vfio_iova_ranges(&b, sizeof(b), (size_t)off, &r, &n), -EIO);
	/* a backwards range */
	fill_info(&b);
	b.r[0].start = 5;
	b.r[0].end = 4;
	CHECK_EQ(uv_vfio_iova_ranges(&b, sizeof(b), (size_t)off, &r, &n), -EIO);
	/* broken chains: out of bounds, misaligned, a loop */
	fill_info(&b);
	CHECK_EQ(uv_vfio_find_cap(&b, sizeof(b), sizeof(b) - 2, 1, 0), -EIO);
	CHECK_EQ(uv_vfio_find_cap(&b, sizeof(b), 0xffffff00u, 1, 0), -EIO);
	CHECK_EQ(uv_vfio_find_cap(&b, sizeof(b), 2, 1, 0), -EIO);
	b.cap.header.id = 7;
	b.cap.header.next = sizeof(b.info);	/* points at itself */
	CHECK_EQ(uv_vfio_find_cap(&b, sizeof(b), b.info.cap_offset, 1, 0), -EIO);
	/* found, but shorter than the caller needs */
	fill_info(&b);
	CHECK_EQ(uv_vfio_find_cap(&b, sizeof(b.info) + 8, b.info.cap_offset,
				  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
				  sizeof(b.cap)), -EIO);
	return PASS;
}

static int t_caps_sparse(void)
{
	struct {
		struct vfio_region_info ri;
		struct vfio_region_info_cap_sparse_mmap cap;
		struct vfio_region_sparse_mmap_area a[4];
	} b;
	struct uv_mmap_area areas[8];
	size_t off = sizeof(b.ri);

	memset(&b, 0, sizeof(b));
	b.cap.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	b.cap.nr_areas = 4;
	b.a[0] = (struct vfio_region_sparse_mmap_area){ 0, 0x1000 };
	b.a[1] = (struct vfio_region_sparse_mmap_area){ 0x2000, 0x2000 };
	/* beyond the region, unaligned: dropped, not mapped */
	b.a[2] = (struct vfio_region_sparse_mmap_area){ 0x3000, 0x2000 };
	b.a[3] = (struct vfio_region_sparse_mmap_area){ 0x1800, 0x800 };
	CHECK_EQ(uv_vfio_sparse_areas(&b, sizeof(b), off, 0x4000, areas, 8), 2);
	CHECK_EQ(areas[1].off, 0x2000);
	CHECK_EQ(areas[1].size, 0x2000);
	/* offset + size wrapping around */
	b.a[1] = (struct vfio_region_sparse_mmap_area){ 0x2000, ~0ull - 0xfff };
	CHECK_EQ(uv_vfio_sparse_areas(&b, sizeof(b), off, 0x4000, areas, 8), 1);
	/* more areas than bytes */
	b.cap.nr_areas = 5;
	CHECK_EQ(uv_vfio_sparse_areas(&b, sizeof(b), off, 0x4000, areas, 8), -EIO);
	CHECK_EQ(uv_vfio_sparse_areas(&b, off + 4, off, 0x4000, areas, 8), -EIO);
	return PASS;
}

/* A fake sysfs: group 7 holds three functions. */
static int mkfake(char *root, size_t len, const char *drv2)
{
	char p[256];
	const char *devs[] = { "0000:01:01.0", "0000:01:02.0", "0000:00:11.0" };
	const char *drvs[] = { "vfio-pci", drv2, NULL };
	unsigned int i;

	snprintf(root, len, "/tmp/uv-vfio-sysfs-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(p, sizeof(p), "%s/kernel/iommu_groups/7/devices", root);
	{
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "mkdir -p %s %s/bus/pci/devices "
			 "%s/bus/pci/drivers/vfio-pci %s/bus/pci/drivers/%s",
			 p, root, root, root, drv2 ? drv2 : "none");
		if (system(cmd))
			return -1;
	}
	for (i = 0; i < 3; i++) {
		char d[256], l[1024];

		snprintf(d, sizeof(d), "%s/devices/pci/%s", root, devs[i]);
		snprintf(l, sizeof(l), "mkdir -p %s", d);
		if (system(l))
			return -1;
		snprintf(l, sizeof(l), "%s/bus/pci/devices/%s", root, devs[i]);
		if (symlink(d, l))
			return -1;
		snprintf(l, sizeof(l), "%s/%s", p, devs[i]);
		if (symlink(d, l))
			return -1;
		snprintf(l, sizeof(l), "%s/iommu_group", d);
		if (symlink("../../../kernel/iommu_groups/7", l))
			return -1;
		if (drvs[i]) {
			char t[256];

			snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s",
				 drvs[i]);
			snprintf(l, sizeof(l), "%s/driver", d);
			if (symlink(t, l))
				return -1;
		}
	}
	return 0;
}

static int t_group_blocker(void)
{
	char root[64], out[64], cmd[128];
	int ret;

	CHECK_EQ(mkfake(root, sizeof(root), "virtio-pci"), 0);
	ret = uv_vfio_group_blocker_at(root, "01:01.0", out, sizeof(out));
	CHECK_EQ(ret, 0);
	CHECK(!strcmp(out, "0000:01:02.0 virtio-pci"));
	CHECK_EQ(uv_vfio_group_blocker_at(root, "0000:01:01.0", out, 8),
		 -ENAMETOOLONG);
	CHECK_EQ(uv_vfio_group_blocker_at(root, "0000:05:00.0", out,
					  sizeof(out)), -ENODEV);
	CHECK_EQ(uv_vfio_group_blocker_at(root, "zz", out, sizeof(out)),
		 -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_EQ(system(cmd), 0);
	/* both functions on VFIO drivers: viable, nothing in the way */
	CHECK_EQ(mkfake(root, sizeof(root), "vfio-pci"), 0);
	CHECK_EQ(uv_vfio_group_blocker_at(root, "0000:01:02.0", out,
					  sizeof(out)), -ENOENT);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_EQ(system(cmd), 0);
	return PASS;
}

static int t_open_args(void)
{
	struct uvirtio_backend *be = NULL;
	char out[32];

	CHECK_EQ(uvirtio_vfio_open(NULL, &be), -EINVAL);
	CHECK_EQ(uvirtio_vfio_open("0000:00:06.0", NULL), -EINVAL);
	CHECK_EQ(uvirtio_vfio_open("00:06", &be), -EINVAL);
	CHECK_EQ(uvirtio_vfio_open("00:20.0", &be), -EINVAL);
	CHECK_EQ(uvirtio_vfio_open_flow("0000:00:06.0", 7, &be), -EINVAL);
	CHECK_EQ(uvirtio_vfio_open_flow("ffff:ff:1f.7", UVIRTIO_VFIO_CDEV, &be),
		 -ENODEV);
	CHECK_EQ(uvirtio_vfio_open_flow("ffff:ff:1f.7", UVIRTIO_VFIO_TYPE1, &be),
		 -ENODEV);
	/* no such function on this host */
	CHECK_EQ(uvirtio_vfio_open("ffff:ff:1f.7", &be), -ENODEV);
	CHECK_EQ(uvirtio_backend_open("vfio:ffff:ff:1f.7", NULL, &be), -ENODEV);
	CHECK_EQ(uvirtio_backend_open("vfio:", NULL, &be), -EINVAL);
	CHECK(be == NULL);
	CHECK_EQ(uvirtio_vfio_group_blocker(NULL, out, sizeof(out)), -EINVAL);
	CHECK_EQ(uvirtio_vfio_group_blocker("ffff:ff:1f.7", out, sizeof(out)),
		 -ENODEV);
	return PASS;
}

static const struct tcase cases[] = {
	{ "iova_msi_window", t_iova_msi_window },
	{ "iova_reported_ranges", t_iova_reported_ranges },
	{ "iova_free_merge", t_iova_free_merge },
	{ "iova_bad_ranges", t_iova_bad_ranges },
	{ "caps_iova", t_caps_iova },
	{ "caps_sparse", t_caps_sparse },
	{ "group_blocker", t_group_blocker },
	{ "open_args", t_open_args },
};

int main(int argc, char **argv)
{
	return harness_main("vfio", cases, sizeof(cases) / sizeof(cases[0]),
			    argc, argv);
}
