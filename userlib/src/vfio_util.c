// SPDX-License-Identifier: BSD-3-Clause
/*
 * vfio_util.c - the parts of the VFIO backend that need no device: the
 * IOVA allocator, VFIO capability-chain decoding, and the group-viability
 * check on sysfs.  Everything the kernel hands over is bounds-checked
 * here before backend_vfio.c uses it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <uvirtio/kmod.h>
#include <uvirtio/vfio.h>

#include "util.h"
#include "vfio_priv.h"

/* ---- IOVA allocator ------------------------------------------------- */

static int reserve(struct uv_iova_alloc *a, size_t room)
{
	struct uv_iova_range *p;
	size_t cap;

	if (a->n + room <= a->cap)
		return 0;
	cap = a->cap ? a->cap * 2 : 8;
	while (cap < a->n + room)
		cap *= 2;
	p = realloc(a->free, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	a->free = p;
	a->cap = cap;
	return 0;
}

/* Cut [start, last] out of the free list (which must stay sorted). */
static int carve(struct uv_iova_alloc *a, uint64_t start, uint64_t last)
{
	size_t i = 0;

	while (i < a->n) {
		struct uv_iova_range *r = &a->free[i];

		if (r->last < start || r->start > last) {
			i++;
			continue;
		}
		if (r->start >= start && r->last <= last) {
			memmove(r, r + 1, (a->n - i - 1) * sizeof(*r));
			a->n--;
			continue;
		}
		if (r->start < start && r->last > last) {
			/* Split in two. */
			if (reserve(a, 1))
				return -ENOMEM;
			r = &a->free[i];
			memmove(r + 1, r, (a->n - i) * sizeof(*r));
			a->n++;
			r[0].last = start - 1;
			r[1].start = last + 1;
			i += 2;
			continue;
		}
		if (r->start < start)
			r->last = start - 1;
		else
			r->start = last + 1;
		i++;
	}
	return 0;
}

static int cmp_range(const void *x, const void *y)
{
	const struct uv_iova_range *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

int uv_iova_init(struct uv_iova_alloc *a, const struct uv_iova_range *r,
		 size_t n, uint64_t align)
{
	size_t i;
	int ret;

	memset(a, 0, sizeof(*a));
	if (!r || !n || align < 4096 || (align & (align - 1)))
		return -EINVAL;
	a->align = align;
	ret = reserve(a, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		uint64_t s, l;

		if (r[i].start > r[i].last)
			goto inval;
		/* Round the start up and the end down to whole pages. */
		if (r[i].start > UINT64_MAX - (align - 1))
			continue;
		s = UV_ALIGN_UP(r[i].start, align);
		if (r[i].last == UINT64_MAX)
			l = UINT64_MAX & ~(align - 1);
		else
			l = (r[i].last + 1) & ~(align - 1);
		if (l <= s)
			continue;
		a->free[a->n++] = (struct uv_iova_range){ s, l - 1 };
	}
	qsort(a->free, a->n, sizeof(*a->free), cmp_range);
	for (i = 1; i < a->n; i++)
		if (a->free[i].start <= a->free[i - 1].last)
			goto inval;
	if ((ret = carve(a, 0, align - 1)) ||
	    (ret = carve(a, UV_MSI_WINDOW_START & ~(align - 1),
			 UV_ALIGN_UP(UV_MSI_WINDOW_LAST + 1, align) - 1))) {
		uv_iova_destroy(a);
		return ret;
	}
	if (!a->n) {
		uv_iova_destroy(a);
		return -ENOSPC;
	}
	return 0;
inval:
	uv_iova_destroy(a);
	return -EINVAL;
}

void uv_iova_destroy(struct uv_iova_alloc *a)
{
	free(a->free);
	a->free = NULL;
	a->n = a->cap = 0;
}

int uv_iova_get(struct uv_iova_alloc *a, uint64_t size, uint64_t *iova)
{
	size_t i;

	if (!size || size > UINT64_MAX - (a->align - 1))
		return -EINVAL;
	size = UV_ALIGN_UP(size, a->align);
	for (i = 0; i < a->n; i++) {
		struct uv_iova_range *r = &a->free[i];

		if (r->last - r->start < size - 1)
			continue;
		*iova = r->start;
		if (r->last - r->start == size - 1) {
			memmove(r, r + 1, (a->n - i - 1) * sizeof(*r));
			a->n--;
		} else {
			r->start += size;
		}
		return 0;
	}
	return -ENOSPC;
}

int uv_iova_put(struct uv_iova_alloc *a, uint64_t iova, uint64_t size)
{
	uint64_t last;
	size_t i;

	if (!size || size > UINT64_MAX - (a->align - 1) ||
	    (iova & (a->align - 1)))
		return -EINVAL;
	size = UV_ALIGN_UP(size, a->align);
	if (iova > UINT64_MAX - (size - 1))
		return -EINVAL;
	last = iova + size - 1;
	/* i: first free range starting after @iova. */
	for (i = 0; i < a->n && a->free[i].start <= iova; i++)
		;
	if ((i > 0 && a->free[i - 1].last >= iova) ||
	    (i < a->n && a->free[i].start <= last))
		return -EINVAL;		/* double free or overlap */
	if (i > 0 && a->free[i - 1].last + 1 == iova) {
		a->free[i - 1].last = last;
		if (i < a->n && last + 1 == a->free[i].start) {
			a->free[i - 1].last = a->free[i].last;
			memmove(&a->free[i], &a->free[i + 1],
				(a->n - i - 1) * sizeof(*a->free));
			a->n--;
		}
		return 0;
	}
	if (i < a->n && last + 1 == a->free[i].start) {
		a->free[i].start = iova;
		return 0;
	}
	if (reserve(a, 1))
		return -ENOMEM;
	memmove(&a->free[i + 1], &a->free[i], (a->n - i) * sizeof(*a->free));
	a->free[i] = (struct uv_iova_range){ iova, last };
	a->n++;
	return 0;
}

uint64_t uv_iova_free_bytes(const struct uv_iova_alloc *a)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < a->n; i++)
		sum += a->free[i].last - a->free[i].start + 1;
	return sum;
}

/* ---- VFIO capability chains ----------------------------------------- */

long uv_vfio_find_cap(const void *buf, size_t len, uint32_t first,
		      uint16_t id, size_t min_len)
{
	const uint8_t *b = buf;
	uint32_t off = first;
	unsigned int hops;

	if (min_len < sizeof(struct vfio_info_cap_header))
		min_len = sizeof(struct vfio_info_cap_header);
	for (hops = 0; off && hops < 64; hops++) {
		struct vfio_info_cap_header h;

		if ((off & 3) || off > len ||
		    len - off < sizeof(struct vfio_info_cap_header))
			return -EIO;
		memcpy(&h, b + off, sizeof(h));
		if (h.id == id) {
			if (len - off < min_len)
				return -EIO;
			return (long)off;
		}
		off = h.next;
	}
	return off ? -EIO : -ENOENT;
}

int uv_vfio_sparse_areas(const void *buf, size_t len, size_t off,
			 uint64_t region_size, struct uv_mmap_area *areas,
			 unsigned int max)
{
	struct vfio_region_info_cap_sparse_mmap sp;
	const uint8_t *b = buf;
	unsigned int i, n = 0;

	if (off > len || len - off < sizeof(sp))
		return -EIO;
	memcpy(&sp, b + off, sizeof(sp));
	if (sp.nr_areas > (len - off - sizeof(sp)) /
			  sizeof(struct vfio_region_sparse_mmap_area))
		return -EIO;
	for (i = 0; i < sp.nr_areas && n < max; i++) {
		struct vfio_region_sparse_mmap_area ar;

		memcpy(&ar, b + off + sizeof(sp) + i * sizeof(ar), sizeof(ar));
		if (!ar.size || (ar.offset | ar.size) & (UV_PAGE_SIZE - 1) ||
		    ar.offset > region_size ||
		    ar.size > region_size - ar.offset)
			continue;
		areas[n++] = (struct uv_mmap_area){ ar.offset, ar.size };
	}
	return (int)n;
}

int uv_vfio_iova_ranges(const void *buf, size_t len, size_t off,
			struct uv_iova_range **out, size_t *n)
{
	struct vfio_iommu_type1_info_cap_iova_range cr;
	const uint8_t *b = buf;
	struct uv_iova_range *r;
	uint32_t i;

	if (off > len || len - off < sizeof(cr))
		return -EIO;
	memcpy(&cr, b + off, sizeof(cr));
	if (!cr.nr_iovas || cr.nr_iovas > (len - off - sizeof(cr)) /
					  sizeof(struct vfio_iova_range))
		return -EIO;
	r = calloc(cr.nr_iovas, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < cr.nr_iovas; i++) {
		struct vfio_iova_range v;

		memcpy(&v, b + off + sizeof(cr) + i * sizeof(v), sizeof(v));
		if (v.start > v.end) {
			free(r);
			return -EIO;
		}
		r[i] = (struct uv_iova_range){ v.start, v.end };
	}
	*out = r;
	*n = cr.nr_iovas;
	return 0;
}

/* ---- group viability ------------------------------------------------- */

/* Drivers VFIO lets share a group with a vfio-pci device. */
static bool driver_ok(const char *drv)
{
	return !*drv || !strncmp(drv, "vfio", 4) || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

static void link_base(const char *path, char *out, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if ((size_t)snprintf(out, len, "%s", base) >= len)
		out[0] = '\0';
}

int uv_vfio_group_blocker_at(const char *sysfs, const char *bdf, char *out,
			     size_t len)
{
	struct uvirtio_pci_addr a;
	char canon[16], path[PATH_MAX], group[64], drv[128];
	struct dirent *de;
	DIR *d;
	int ret = -ENOENT;

	if (!sysfs || !out || !len || uvirtio_parse_pci_addr(bdf, &a))
		return -EINVAL;
	snprintf(canon, sizeof(canon), "%04x:%02x:%02x.%x", a.domain, a.bus,
		 a.dev, a.fn);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group",
		 sysfs, canon);
	link_base(path, group, sizeof(group));
	if (!group[0])
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%s/devices",
		 sysfs, group);
	d = opendir(path);
	if (!d)
		return -ENODEV;
	while ((de = readdir(d))) {
		char p[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s/driver", path,
				     de->d_name) >= sizeof(p))
			continue;
		link_base(p, drv, sizeof(drv));
		if (driver_ok(drv))
			continue;
		ret = (size_t)snprintf(out, len, "%s %s", de->d_name, drv) >=
			len ? -ENAMETOOLONG : 0;
		break;
	}
	closedir(d);
	return ret;
}

UV_EXPORT int uvirtio_vfio_group_blocker(const char *bdf, char *out,
					 size_t len)
{
	return uv_vfio_group_blocker_at("/sys", bdf, out, len);
}
