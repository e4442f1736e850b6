// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: DMA - pinned user memory (UVIRTIO_DMA_MAP) and module-allocated
 * buffers (UVIRTIO_DMA_ALLOC).
 *
 * On a translated device (iommu.c) both are mapped with iommu_map_sg()
 * into the IOMMU domain the device fd owns, at an IOVA the caller chose
 * (UVIRTIO_DMA_FIXED_IOVA) or one uvirtio chose, and unmapped with
 * iommu_unmap(), which flushes the IOTLB, before any page is unpinned or
 * freed.  On an UNSAFE device the device uses physical addresses.  On a
 * NONE device DMA is refused (EPERM).  The kernel DMA API is not used:
 * the PCI driver declares driver_managed_dma.
 *
 * Locked memory is charged per user (struct user_struct.locked_vm, as
 * io_uring and iommufd do) against RLIMIT_MEMLOCK, unless the caller has
 * CAP_IPC_LOCK.  Per-user charging needs no mmap_lock, so a buffer can be
 * uncharged from munmap().
 *
 * UVIRTIO_DMA_MAP pins the pages before it takes the device mutex: a
 * fault on user memory (userfaultfd, FUSE) may take for ever, and
 * remove() needs that mutex.
 *
 * Buffer memory is plain pages that belong to the buffer until its last
 * reference goes.  Its user mappings are filled in lazily by the fault
 * handler, from those same pages, so they need no revocation: once the
 * handle is dropped (DMA_FREE, close, remove()) the IOVA is unmapped and
 * the device cannot reach the pages, while the owner's mappings stay
 * valid until munmap().
 */
#include <linux/capability.h>
#include <linux/error-injection.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kunit/visibility.h>
#include <linux/overflow.h>

#include "compat.h"
#include "uvirtio.h"

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

/* Charge @npages to the caller's user; *@userp is NULL if not charged. */
static int uvirtio_charge(u64 npages, struct user_struct **userp)
{
	struct user_struct *user;
	int ret;

	*userp = NULL;
	if (capable(CAP_IPC_LOCK))
		return 0;
	user = get_uid(current_user());
	ret = uvirtio_memlock_charge(&user->locked_vm, npages,
				     rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT);
	if (ret) {
		free_uid(user);
		return ret;
	}
	*userp = user;
	return 0;
}

static void uvirtio_uncharge(struct user_struct *user, u64 npages)
{
	if (!user)
		return;
	uvirtio_memlock_uncharge(&user->locked_vm, npages);
	free_uid(user);
}

unsigned int uvirtio_max_mappings = 65535;
module_param_named(max_mappings, uvirtio_max_mappings, uint, 0644);
MODULE_PARM_DESC(max_mappings,
		 "Most DMA mappings plus DMA buffers one device fd may hold (default 65535)");

/* Mappings plus buffers still alive, against max_mappings. */
static bool uvirtio_at_max_mappings(struct uvirtio_device *udev)
{
	return udev->nr_maps + (u32)atomic_read(&udev->live_bufs) >=
	       READ_ONCE(uvirtio_max_mappings);
}

/**
 * uvirtio_pin_pages() - pin a user range for long-term DMA
 * @start: page-aligned user address
 * @npages: number of pages
 * @gup_flags: FOLL_* flags on top of FOLL_LONGTERM
 * @pages: output array of @npages entries
 *
 * All or nothing: on failure nothing stays pinned.  Error-injection
 * point (see uvirtio.h).
 *
 * Context: process context, no uvirtio lock held; takes mmap_lock of
 * current->mm and may fault user memory in.
 * Return: 0, -EFAULT for an unmapped range, or another negative errno.
 */
noinline int uvirtio_pin_pages(unsigned long start, unsigned long npages,
			       unsigned int gup_flags, struct page **pages)
{
	unsigned long done = 0;
	long ret;

	while (done < npages) {
		int chunk = min_t(unsigned long, npages - done, INT_MAX);

		ret = pin_user_pages_fast(start + done * PAGE_SIZE, chunk,
					  gup_flags | FOLL_LONGTERM,
					  pages + done);
		if (ret <= 0) {
			if (done)
				unpin_user_pages(pages, done);
			return ret ? ret : -EFAULT;
		}
		done += ret;
		if (fatal_signal_pending(current)) {
			unpin_user_pages(pages, done);
			return -EINTR;
		}
	}
	return 0;
}
ALLOW_ERROR_INJECTION(uvirtio_pin_pages, ERRNO);

static void uvirtio_mapping_destroy(struct uvirtio_dma_mapping *m)
{
	unpin_user_pages_dirty_lock(m->pages, m->npages,
				    m->prot & IOMMU_WRITE);
	kvfree(m->pages);
	uvirtio_uncharge(m->user, m->npages);
	kfree(m);
}

/* Take @m out of the device's reach, then give its pages back. */
static void uvirtio_mapping_free(struct uvirtio_device *udev,
				 struct uvirtio_dma_mapping *m)
{
	lockdep_assert_held(&udev->lock);
	list_del(&m->node);
	/* Flushes the IOTLB: only then may the pages go. */
	if (udev->iommu_mode == UVIRTIO_IOMMU_TRANSLATED)
		uvirtio_iova_unmap(udev, &m->iova);
	udev->pinned_pages -= m->npages;
	udev->nr_maps--;
	uvirtio_mapping_destroy(m);
}

/*
 * Physical runs of @m's pages (UNSAFE devices): all of them are counted
 * in *@count, the first @room are stored in @segs.
 */
static void uvirtio_phys_segments(struct uvirtio_dma_mapping *m,
				  struct uvirtio_dma_segment *segs, u32 room,
				  u32 *count)
{
	struct uvirtio_dma_segment cur = {};
	unsigned long i;
	u32 n = 0;

	for (i = 0; i < m->npages; i++) {
		u64 pa = page_to_phys(m->pages[i]);

		if (uvirtio_seg_merge(&cur, pa, PAGE_SIZE))
			continue;
		if (n < room)
			segs[n] = cur;
		n++;
		cur.iova = pa;
		cur.length = PAGE_SIZE;
	}
	if (n < room)
		segs[n] = cur;
	*count = n + 1;
}

static struct uvirtio_dma_mapping *
uvirtio_mapping_find(struct uvirtio_device *udev, u64 handle)
{
	struct uvirtio_dma_mapping *m;

	list_for_each_entry(m, &udev->maps, node)
		if (m->handle == handle)
			return m;
	return NULL;
}

/*
 * The part of DMA_MAP that runs under the device mutex: checks against
 * the other mappings, the IOVA and the IOMMU mapping, then publication.
 */
static int uvirtio_dma_map_locked(struct uvirtio_device *udev,
				  struct uvirtio_dma_map *cmd,
				  struct uvirtio_dma_mapping *m)
{
	struct uvirtio_dma_mapping *other;
	int ret;

	if (udev->dead)
		return -ENODEV;
	if (uvirtio_at_max_mappings(udev))
		return -ENOSPC;
	list_for_each_entry(other, &udev->maps, node)
		if (uvirtio_ranges_overlap(cmd->vaddr, cmd->length,
					   other->vaddr, other->length))
			return -EEXIST;

	if (udev->iommu_mode == UVIRTIO_IOMMU_TRANSLATED) {
		ret = uvirtio_iova_map(udev, &m->iova,
				       cmd->flags & UVIRTIO_DMA_FIXED_IOVA,
				       cmd->iova, m->pages, m->npages, m->prot);
		if (ret)
			return ret;
		cmd->iova = m->iova.start;
	} else {
		cmd->iova = page_to_phys(m->pages[0]);
	}
	m->handle = udev->next_handle++;
	cmd->handle = m->handle;
	list_add_tail(&m->node, &udev->maps);
	udev->nr_maps++;
	udev->pinned_pages += m->npages;
	return 0;
}

/**
 * uvirtio_ioctl_dma_map() - UVIRTIO_DMA_MAP
 * @ucmd: the call; runs WITHOUT @ucmd->udev->lock (the op table says
 *	so): it pins first, then takes the lock itself
 *
 * Return: 0 or an errno documented with struct uvirtio_dma_map.
 */
int uvirtio_ioctl_dma_map(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_map *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_segment *segs = NULL;
	u32 dirs = cmd->flags & UVIRTIO_DMA_BIDIRECTIONAL;
	u32 room = cmd->segments ? cmd->nr_segments : 0;
	struct uvirtio_dma_mapping *m;
	unsigned int gup_flags = 0;
	u32 nseg = 1;
	u64 npages;
	int ret;

	/* As the dispatcher does for the others (checked again below). */
	if (READ_ONCE(udev->dead))
		return -ENODEV;
	/*
	 * UVIRTIO_DMA_CONTIGUOUS is an output; it is ignored on input so a
	 * caller can reuse the struct the previous call filled in.
	 */
	cmd->flags &= ~UVIRTIO_DMA_CONTIGUOUS;
	if (!dirs || (cmd->flags & ~(UVIRTIO_DMA_BIDIRECTIONAL |
				     UVIRTIO_DMA_FIXED_IOVA)) ||
	    cmd->__reserved)
		return -EINVAL;
	ret = uvirtio_check_dma_range(cmd->vaddr, cmd->length, &npages);
	if (ret)
		return ret;
	/* The mode is fixed for the life of the fd. */
	if (udev->iommu_mode == UVIRTIO_IOMMU_NONE)
		return -EPERM;
	if ((cmd->flags & UVIRTIO_DMA_FIXED_IOVA) &&
	    udev->iommu_mode != UVIRTIO_IOMMU_TRANSLATED)
		return -EOPNOTSUPP;
	/* Nothing larger than RAM can be pinned; bound the arrays by it. */
	if (npages > totalram_pages())
		return -ENOMEM;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->vaddr = cmd->vaddr;
	m->length = cmd->length;
	m->npages = npages;
	if (dirs & UVIRTIO_DMA_TO_DEVICE)
		m->prot |= IOMMU_READ;
	if (dirs & UVIRTIO_DMA_FROM_DEVICE) {
		m->prot |= IOMMU_WRITE;
		gup_flags |= FOLL_WRITE;
	}

	ret = uvirtio_charge(npages, &m->user);
	if (ret)
		goto err_free;
	m->pages = kvmalloc_array(npages, sizeof(*m->pages),
				  GFP_KERNEL_ACCOUNT);
	if (!m->pages) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	ret = uvirtio_pin_pages(cmd->vaddr, npages, gup_flags, m->pages);
	if (ret)
		goto err_free_pages;
	if (udev->iommu_mode == UVIRTIO_IOMMU_UNSAFE) {
		if (room) {
			segs = kvmalloc_array(min_t(u64, room, npages),
					      sizeof(*segs), GFP_KERNEL_ACCOUNT);
			if (!segs) {
				ret = -ENOMEM;
				goto err_unpin;
			}
		}
		uvirtio_phys_segments(m, segs, min_t(u64, room, npages),
				      &nseg);
	}

	mutex_lock(&udev->lock);
	ret = uvirtio_dma_map_locked(udev, cmd, m);
	mutex_unlock(&udev->lock);
	if (ret)
		goto err_free_segs;

	cmd->nr_segments = nseg;
	if (nseg == 1)
		cmd->flags |= UVIRTIO_DMA_CONTIGUOUS;
	if (room && !segs) {
		/* Translated: one run. */
		struct uvirtio_dma_segment one = {
			.iova = cmd->iova,
			.length = cmd->length,
		};

		if (copy_to_user(u64_to_user_ptr(cmd->segments), &one,
				 sizeof(one)))
			ret = -EFAULT;
	} else if (segs && copy_to_user(u64_to_user_ptr(cmd->segments), segs,
					min(room, nseg) * sizeof(*segs))) {
		ret = -EFAULT;
	}
	kvfree(segs);
	if (!ret) {
		uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
		ret = uvirtio_ucmd_copy_out(ucmd);
	}
	if (ret) {
		/* The caller cannot know the handle: undo, if still there. */
		mutex_lock(&udev->lock);
		m = uvirtio_mapping_find(udev, cmd->handle);
		if (m)
			uvirtio_mapping_free(udev, m);
		mutex_unlock(&udev->lock);
	}
	return ret;

err_free_segs:
	kvfree(segs);
err_unpin:
	unpin_user_pages(m->pages, npages);
err_free_pages:
	kvfree(m->pages);
err_uncharge:
	uvirtio_uncharge(m->user, npages);
err_free:
	kfree(m);
	return ret;
}

/**
 * uvirtio_ioctl_dma_unmap() - UVIRTIO_DMA_UNMAP
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * When this returns, the device can no longer reach the pages.
 *
 * Return: 0, -EINVAL for non-zero flags, -ENOENT for an unknown handle.
 */
int uvirtio_ioctl_dma_unmap(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_unmap *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_mapping *m;

	if (cmd->flags)
		return -EINVAL;
	m = uvirtio_mapping_find(udev, cmd->handle);
	if (!m)
		return -ENOENT;
	uvirtio_mapping_free(udev, m);
	return 0;
}

/**
 * uvirtio_buf_alloc_pages() - allocate the zeroed memory of a buffer
 * @buf: buffer with @npages and @udev set; @pages (and @exact) are filled
 *
 * Translated devices get pages one by one (the IOMMU makes them one IOVA
 * run); UNSAFE devices need one physically contiguous block, at most the
 * page allocator's largest.  Error-injection point (see uvirtio.h).
 *
 * Return: 0 or -ENOMEM.
 */
noinline int uvirtio_buf_alloc_pages(struct uvirtio_dma_buf *buf)
{
	/* A user-sized request: fail quietly rather than WARN. */
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN;
	unsigned long i;

	buf->pages = kvmalloc_array(buf->npages, sizeof(*buf->pages),
				    GFP_KERNEL_ACCOUNT);
	if (!buf->pages)
		return -ENOMEM;
	if (buf->udev->iommu_mode == UVIRTIO_IOMMU_UNSAFE) {
		buf->exact = alloc_pages_exact(buf->npages << PAGE_SHIFT, gfp);
		if (!buf->exact)
			goto err;
		for (i = 0; i < buf->npages; i++)
			buf->pages[i] = virt_to_page(buf->exact +
						     (i << PAGE_SHIFT));
		return 0;
	}
	for (i = 0; i < buf->npages; i++) {
		if (fatal_signal_pending(current))
			goto err_free;
		buf->pages[i] = alloc_page(gfp);
		if (!buf->pages[i])
			goto err_free;
	}
	return 0;
err_free:
	while (i--)
		__free_page(buf->pages[i]);
err:
	kvfree(buf->pages);
	buf->pages = NULL;
	return -ENOMEM;
}
ALLOW_ERROR_INJECTION(uvirtio_buf_alloc_pages, ERRNO);

static void uvirtio_buf_free_pages(struct uvirtio_dma_buf *buf)
{
	unsigned long i;

	if (buf->exact)
		free_pages_exact(buf->exact, buf->npages << PAGE_SHIFT);
	else
		for (i = 0; i < buf->npages; i++)
			__free_page(buf->pages[i]);
	kvfree(buf->pages);
}

/*
 * The last reference (handle or user mapping) went.  The device lost
 * access when the handle went (uvirtio_buf_drop()), so the pages can go.
 * Called from munmap() too: takes no uvirtio lock.
 */
static void uvirtio_buf_release(struct kref *kref)
{
	struct uvirtio_dma_buf *buf = container_of(kref, struct uvirtio_dma_buf,
						   kref);
	struct uvirtio_device *udev = buf->udev;

	WARN_ON(buf->mapped);
	uvirtio_buf_free_pages(buf);
	uvirtio_uncharge(buf->user, buf->npages);
	atomic_dec(&udev->live_bufs);
	kfree(buf);
	uvirtio_device_put(udev);
}

static void uvirtio_buf_put(struct uvirtio_dma_buf *buf)
{
	kref_put(&buf->kref, uvirtio_buf_release);
}

/*
 * Drop the handle's reference: unmap the IOVA (flushing the IOTLB) so
 * the device can no longer reach the memory, whoever still has it mapped.
 */
static void uvirtio_buf_drop(struct uvirtio_device *udev,
			     struct uvirtio_dma_buf *buf)
{
	lockdep_assert_held(&udev->lock);
	xa_erase(&udev->bufs, buf->id);
	if (buf->mapped) {
		uvirtio_iova_unmap(udev, &buf->iova);
		buf->mapped = false;
	}
	udev->nr_bufs--;
	udev->coherent_bytes -= (u64)buf->npages << PAGE_SHIFT;
	uvirtio_buf_put(buf);
}

/* Make @buf reachable by the device; fill in its IOVA. */
static int uvirtio_buf_map(struct uvirtio_device *udev,
			   struct uvirtio_dma_buf *buf, bool fixed, u64 iova)
{
	int ret;

	if (udev->iommu_mode != UVIRTIO_IOMMU_TRANSLATED) {
		buf->iova.start = page_to_phys(buf->pages[0]);
		return 0;
	}
	ret = uvirtio_iova_map(udev, &buf->iova, fixed, iova, buf->pages,
			       buf->npages, IOMMU_READ | IOMMU_WRITE);
	if (ret)
		return ret;
	buf->mapped = true;
	return 0;
}

/**
 * uvirtio_ioctl_dma_alloc() - UVIRTIO_DMA_ALLOC
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * A single buffer may not exceed a quarter of RAM (-ENOMEM), whatever
 * the caller's RLIMIT_MEMLOCK or CAP_IPC_LOCK: a larger request cannot be
 * met without the OOM killer.
 *
 * Return: 0; -EPERM if the device can do no DMA; -EINVAL for unknown
 * flags or zero length; -EOVERFLOW if the length does not fit once
 * rounded up; -EOPNOTSUPP, -ERANGE, -EEXIST for a bad fixed IOVA (see
 * UVIRTIO_DMA_MAP); -ENOSPC at max_mappings or without IOVA space;
 * -ENOMEM.
 */
int uvirtio_ioctl_dma_alloc(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_alloc *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	bool fixed = cmd->flags & UVIRTIO_DMA_FIXED_IOVA;
	struct uvirtio_dma_buf *buf;
	u64 npages;
	int ret;

	if ((cmd->flags & ~UVIRTIO_DMA_FIXED_IOVA) || !cmd->length)
		return -EINVAL;
	if (cmd->length > U64_MAX - PAGE_SIZE + 1)
		return -EOVERFLOW;
	npages = PAGE_ALIGN(cmd->length) >> PAGE_SHIFT;
	if (udev->iommu_mode == UVIRTIO_IOMMU_NONE)
		return -EPERM;
	if (fixed && udev->iommu_mode != UVIRTIO_IOMMU_TRANSLATED)
		return -EOPNOTSUPP;
	if (npages > totalram_pages() / 4)
		return -ENOMEM;
	if (uvirtio_at_max_mappings(udev))
		return -ENOSPC;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	kref_init(&buf->kref);
	buf->udev = udev;
	buf->npages = npages;
	ret = uvirtio_charge(npages, &buf->user);
	if (ret)
		goto err_free;
	ret = uvirtio_buf_alloc_pages(buf);
	if (ret)
		goto err_uncharge;
	ret = uvirtio_buf_map(udev, buf, fixed, cmd->iova);
	if (ret)
		goto err_free_pages;
	ret = xa_alloc(&udev->bufs, &buf->id, buf,
		       XA_LIMIT(0, UVIRTIO_MAX_DMA_BUFS - 1), GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unmap;
	kref_get(&udev->kref);
	atomic_inc(&udev->live_bufs);
	udev->nr_bufs++;
	udev->coherent_bytes += npages << PAGE_SHIFT;

	cmd->handle = (u64)buf->id + 1;
	cmd->iova = buf->iova.start;
	cmd->mmap_offset = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE +
						 buf->id);
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));

err_unmap:
	if (buf->mapped)
		uvirtio_iova_unmap(udev, &buf->iova);
err_free_pages:
	uvirtio_buf_free_pages(buf);
err_uncharge:
	uvirtio_uncharge(buf->user, npages);
err_free:
	kfree(buf);
	return ret;
}

/**
 * uvirtio_ioctl_dma_alloc_undo() - undo a DMA_ALLOC the caller never saw
 * @ucmd: the call, after its output could not be copied; lock held
 */
void uvirtio_ioctl_dma_alloc_undo(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_alloc *cmd = ucmd->cmd;
	struct uvirtio_dma_buf *buf = xa_load(&ucmd->udev->bufs,
					      cmd->handle - 1);

	if (buf)
		uvirtio_buf_drop(ucmd->udev, buf);
}

/**
 * uvirtio_ioctl_dma_free() - UVIRTIO_DMA_FREE
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * The device loses access at once; the memory stays until the last user
 * mapping of it goes.
 *
 * Return: 0, -EINVAL for non-zero flags, -ENOENT for an unknown handle.
 */
int uvirtio_ioctl_dma_free(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_free *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_buf *buf;

	if (cmd->flags)
		return -EINVAL;
	if (!cmd->handle || cmd->handle > UVIRTIO_MAX_DMA_BUFS)
		return -ENOENT;
	buf = xa_load(&udev->bufs, cmd->handle - 1);
	if (!buf)
		return -ENOENT;
	if (udev->ka_state_handle == cmd->handle)
		udev->ka_state_handle = 0;
	uvirtio_buf_drop(udev, buf);
	return 0;
}

/**
 * uvirtio_dma_buf_exists() - does @handle name a live buffer?
 * @udev: the device; lock held
 * @handle: a UVIRTIO_DMA_ALLOC handle
 *
 * Return: true if it does.
 */
bool uvirtio_dma_buf_exists(struct uvirtio_device *udev, u64 handle)
{
	lockdep_assert_held(&udev->lock);
	return handle && handle <= UVIRTIO_MAX_DMA_BUFS &&
	       xa_load(&udev->bufs, handle - 1);
}

/**
 * uvirtio_ioctl_dma_list() - UVIRTIO_DMA_LIST
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * The entries are gathered here and copied to user space by the
 * dispatcher once the lock is dropped.
 *
 * Return: 0; -EINVAL for non-zero flags or a bad entry size; -ENOMEM.
 */
int uvirtio_ioctl_dma_list(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_list *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_buf_entry *e;
	struct uvirtio_dma_buf *buf;
	unsigned long id;
	u32 n, i = 0;
	u8 *out;

	if (cmd->flags)
		return -EINVAL;
	if (cmd->count && (cmd->entry_size < sizeof(*e) ||
			   cmd->entry_size > PAGE_SIZE))
		return -EINVAL;
	n = min(cmd->count, udev->nr_bufs);
	if (n) {
		out = kvcalloc(n, cmd->entry_size, GFP_KERNEL_ACCOUNT);
		if (!out)
			return -ENOMEM;
		xa_for_each(&udev->bufs, id, buf) {
			if (i == n)
				break;
			e = (struct uvirtio_dma_buf_entry *)(out +
				(size_t)i * cmd->entry_size);
			e->handle = (u64)buf->id + 1;
			e->iova = buf->iova.start;
			e->length = (u64)buf->npages << PAGE_SHIFT;
			e->mmap_offset = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE +
							       buf->id);
			i++;
		}
		ucmd->extra = out;
		ucmd->extra_len = (size_t)n * cmd->entry_size;
		ucmd->extra_dst = u64_to_user_ptr(cmd->entries);
	}
	cmd->count = udev->nr_bufs;
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}

static void uvirtio_buf_vm_open(struct vm_area_struct *vma)
{
	struct uvirtio_dma_buf *buf = vma->vm_private_data;

	kref_get(&buf->kref);
}

static void uvirtio_buf_vm_close(struct vm_area_struct *vma)
{
	uvirtio_buf_put(vma->vm_private_data);
}

/*
 * Buffer mappings are filled in here, page by page, from the buffer's
 * own pages, which live as long as the mapping: before and after
 * DMA_FREE, close or remove() alike.  (After remove() they read as the
 * quiesced function left them.)  So nothing has to be revoked, and a
 * range zapped by MADV_DONTNEED or reclaim simply faults back.
 */
static vm_fault_t uvirtio_buf_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct uvirtio_dma_buf *buf = vma->vm_private_data;
	unsigned long base = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE +
						   buf->id) >> PAGE_SHIFT;

	if (vmf->pgoff < base || vmf->pgoff - base >= buf->npages)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vma, vmf->address & PAGE_MASK,
			      page_to_pfn(buf->pages[vmf->pgoff - base]));
}

static const struct vm_operations_struct uvirtio_buf_vm_ops = {
	.open = uvirtio_buf_vm_open,
	.close = uvirtio_buf_vm_close,
	.fault = uvirtio_buf_fault,
};

/**
 * uvirtio_dma_mmap() - mmap a DMA buffer
 * @udev: the device
 * @vma: the new mapping
 * @id: buffer id (region index - UVIRTIO_REGION_DMA_BASE)
 *
 * Nothing is mapped here: uvirtio_buf_fault() fills the mapping in.
 *
 * Context: mmap_lock held; must not take @udev->lock.
 * Return: 0, -EINVAL for an unknown id or a range outside the buffer.
 */
int uvirtio_dma_mmap(struct uvirtio_device *udev, struct vm_area_struct *vma,
		     u64 id)
{
	unsigned long base = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE + id)
			     >> PAGE_SHIFT;
	unsigned long pages = vma_pages(vma);
	struct uvirtio_dma_buf *buf;

	if (id >= UVIRTIO_MAX_DMA_BUFS)
		return -EINVAL;
	xa_lock(&udev->bufs);
	buf = xa_load(&udev->bufs, id);
	if (buf && !kref_get_unless_zero(&buf->kref))
		buf = NULL;
	xa_unlock(&udev->bufs);
	if (!buf)
		return -EINVAL;
	if (vma->vm_pgoff - base >= buf->npages ||
	    pages > buf->npages - (vma->vm_pgoff - base)) {
		uvirtio_buf_put(buf);
		return -EINVAL;
	}
	uvirtio_vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = buf;
	vma->vm_ops = &uvirtio_buf_vm_ops;
	return 0;
}

/**
 * uvirtio_dma_teardown() - drop every mapping and buffer handle
 * @udev: the device; the hardware must no longer be able to DMA
 *
 * Every IOVA is unmapped (and the IOTLB flushed) before its pages are
 * unpinned.  Buffers still mmapped keep their memory until munmap().
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_dma_teardown(struct uvirtio_device *udev)
{
	struct uvirtio_dma_buf *buf;
	unsigned long id;

	lockdep_assert_held(&udev->lock);
	uvirtio_dma_unmap_user(udev);
	xa_for_each(&udev->bufs, id, buf)
		uvirtio_buf_drop(udev, buf);
	udev->ka_state_handle = 0;
}

/**
 * uvirtio_dma_unmap_user() - drop every UVIRTIO_DMA_MAP mapping
 * @udev: the device
 *
 * Each IOVA is unmapped (and the IOTLB flushed) before its pages are
 * unpinned, so the device, even one still running (keep-alive), can no
 * longer reach them once this returns.  Buffers are left alone.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_dma_unmap_user(struct uvirtio_device *udev)
{
	struct uvirtio_dma_mapping *m, *tmp;

	lockdep_assert_held(&udev->lock);
	list_for_each_entry_safe(m, tmp, &udev->maps, node) {
		uvirtio_mapping_free(udev, m);
		cond_resched();
	}
}
