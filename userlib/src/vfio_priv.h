/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio_priv.h - the pure parts of the VFIO backend, kept apart so the
 * host unit tests (tests/test_vfio.c) can feed them bad input: the IOVA
 * allocator, the VFIO capability-chain walkers and the group-viability
 * check on a sysfs tree.
 */
#ifndef UVIRTIO_VFIO_PRIV_H
#define UVIRTIO_VFIO_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* The x86 MSI doorbell window: never an IOVA for DMA. */
#define UV_MSI_WINDOW_START	0xfee00000ull
#define UV_MSI_WINDOW_LAST	0xfeefffffull

/* An inclusive IOVA range [start, last]. */
struct uv_iova_range {
	uint64_t start;
	uint64_t last;
};

/*
 * First-fit IOVA allocator over a sorted list of free ranges.  Not
 * locked: the caller serialises.
 */
struct uv_iova_alloc {
	struct uv_iova_range *free;
	size_t n, cap;
	uint64_t align;		/* power of two, >= 4096 */
};

/*
 * Start with the usable part of @n ranges: each clipped to @align, minus
 * the first page (IOVA 0 is never handed out) and the MSI window.
 * Return: 0, -EINVAL (bad alignment, start > last, overlapping ranges),
 * -ENOSPC (nothing usable is left), -ENOMEM.
 */
int uv_iova_init(struct uv_iova_alloc *a, const struct uv_iova_range *r,
		 size_t n, uint64_t align);
void uv_iova_destroy(struct uv_iova_alloc *a);
/* @size is rounded up to the alignment.  Return: 0, -EINVAL, -ENOSPC. */
int uv_iova_get(struct uv_iova_alloc *a, uint64_t size, uint64_t *iova);
/*
 * Give back what uv_iova_get() returned.  Return: 0, -EINVAL when the
 * range is misaligned or (partly) free already, -ENOMEM.
 */
int uv_iova_put(struct uv_iova_alloc *a, uint64_t iova, uint64_t size);
/* Total free bytes (for tests). */
uint64_t uv_iova_free_bytes(const struct uv_iova_alloc *a);

/*
 * Find capability @id in a VFIO info buffer (@buf, @len bytes as the
 * kernel filled them) whose chain starts at offset @first.  The
 * capability must have at least @min_len bytes inside the buffer.
 * Return: its offset, -ENOENT when absent, -EIO for a broken chain
 * (offsets out of bounds, misaligned, or a loop).
 */
long uv_vfio_find_cap(const void *buf, size_t len, uint32_t first,
		      uint16_t id, size_t min_len);

/* A mmap()able piece of a region. */
struct uv_mmap_area {
	uint64_t off;
	uint64_t size;
};

/*
 * Decode the sparse-mmap capability at @off of @buf (@len bytes) into at
 * most @max areas, keeping only areas that are page-aligned and lie
 * inside a region of @region_size bytes.  Return: the number of areas
 * kept, or -EIO when the capability claims more areas than @buf holds.
 */
int uv_vfio_sparse_areas(const void *buf, size_t len, size_t off,
			 uint64_t region_size, struct uv_mmap_area *areas,
			 unsigned int max);

/*
 * Decode the IOVA-range capability at @off of @buf (@len bytes) into a
 * malloc()ed array (*@out, *@n).  Return: 0, -EIO for a capability that
 * claims more ranges than @buf holds or an empty/backwards range,
 * -ENOMEM.
 */
int uv_vfio_iova_ranges(const void *buf, size_t len, size_t off,
			struct uv_iova_range **out, size_t *n);

/* uvirtio_vfio_group_blocker() with the sysfs root as a parameter. */
int uv_vfio_group_blocker_at(const char *sysfs, const char *bdf, char *out,
			     size_t len);

#endif /* UVIRTIO_VFIO_PRIV_H */
