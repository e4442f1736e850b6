// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: DMA - pinned user memory (UVIRTIO_DMA_MAP) and kernel-allocated
 * coherent buffers (UVIRTIO_DMA_ALLOC).
 *
 * Both go through the kernel DMA API on the device's default domain: with
 * a translating IOMMU the device can reach only what is mapped here.
 * Without one DMA is refused (EPERM) unless allow_unsafe_noiommu is set.
 *
 * Locked memory is charged per user (struct user_struct.locked_vm, as
 * io_uring and iommufd do) against RLIMIT_MEMLOCK, unless the caller has
 * CAP_IPC_LOCK.  Per-user charging needs no mmap_lock, so a buffer can be
 * uncharged from munmap().
 */
#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/error-injection.h>
#include <linux/mm.h>
#include <linux/pfn_t.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "uvirtio.h"

static bool uvirtio_dma_allowed(struct uvirtio_device *udev)
{
	return udev->iommu_mode != UVIRTIO_IOMMU_NONE;
}

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

/**
 * uvirtio_pin_pages() - pin a user range for long-term DMA
 * @start: page-aligned user address
 * @npages: number of pages
 * @gup_flags: FOLL_* flags on top of FOLL_LONGTERM
 * @pages: output array of @npages entries
 *
 * All or nothing: on failure nothing stays pinned.  Not inlined, so
 * fail_function can make it fail (ALLOW_ERROR_INJECTION).
 *
 * Context: process context; takes mmap_lock of current->mm.
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

/**
 * uvirtio_dma_map_sgt() - map a mapping's pinned pages for the device
 * @udev: the device
 * @m: the mapping, with @m->sgt built from its pinned pages
 *
 * dma_map_sgtable() fails with -ENOMEM when IOVA space or IOMMU page
 * tables run out, with -EIO when swiotlb is full, and with -EINVAL when
 * the IOMMU refuses the range for another reason.  None of these is the
 * caller's fault, so they are all reported as -ENOMEM, the errno
 * UVIRTIO_DMA_MAP documents for running out of resources.  Not inlined,
 * so fail_function can make it fail (ALLOW_ERROR_INJECTION): without an
 * IOMMU the mapping never fails otherwise.
 *
 * Context: process context, @udev->lock held.
 * Return: 0 or -ENOMEM.
 */
noinline int uvirtio_dma_map_sgt(struct uvirtio_device *udev,
				 struct uvirtio_dma_mapping *m)
{
	return dma_map_sgtable(&udev->pdev->dev, &m->sgt, m->dir, 0) ?
	       -ENOMEM : 0;
}
ALLOW_ERROR_INJECTION(uvirtio_dma_map_sgt, ERRNO);

static void uvirtio_mapping_free(struct uvirtio_device *udev,
				 struct uvirtio_dma_mapping *m)
{
	dma_unmap_sgtable(&udev->pdev->dev, &m->sgt, m->dir, 0);
	sg_free_table(&m->sgt);
	unpin_user_pages_dirty_lock(m->pages, m->npages,
				    m->dir != DMA_TO_DEVICE);
	kvfree(m->pages);
	uvirtio_uncharge(m->user, m->npages);
	udev->pinned_pages -= m->npages;
	udev->nr_maps--;
	kfree(m);
}

/* Report the device runs of @m, merged, to @ubuf; return how many. */
static int uvirtio_report_segments(struct uvirtio_dma_mapping *m,
				   struct uvirtio_dma_segment __user *ubuf,
				   u32 room, u32 *count)
{
	struct uvirtio_dma_segment cur = {};
	struct scatterlist *sg;
	u32 n = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(&m->sgt, sg, i) {
		if (uvirtio_seg_merge(&cur, sg_dma_address(sg),
				      sg_dma_len(sg)))
			continue;
		if (n < room && copy_to_user(&ubuf[n], &cur, sizeof(cur)))
			return -EFAULT;
		n++;
		cur.iova = sg_dma_address(sg);
		cur.length = sg_dma_len(sg);
	}
	if (n < room && copy_to_user(&ubuf[n], &cur, sizeof(cur)))
		return -EFAULT;
	*count = n + 1;
	return 0;
}

/**
 * uvirtio_ioctl_dma_map() - UVIRTIO_DMA_MAP
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Return: 0; -EPERM without a translating IOMMU (and unsafe mode off);
 * -EINVAL for bad flags, non-zero reserved, zero or unaligned range;
 * -EOVERFLOW for a wrapping or over-long range; -ENOSPC at max_mappings;
 * -EEXIST on overlap with another mapping; -ENOMEM when RLIMIT_MEMLOCK
 * would be exceeded or memory is short; -EFAULT for unmapped memory.
 */
int uvirtio_ioctl_dma_map(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_map *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_mapping *m, *other;
	unsigned int gup_flags = 0;
	u32 dirs = cmd->flags & UVIRTIO_DMA_BIDIRECTIONAL;
	u32 nseg;
	u64 npages;
	int ret;

	/*
	 * UVIRTIO_DMA_CONTIGUOUS is an output; it is ignored on input so a
	 * caller can reuse the struct the previous call filled in.
	 */
	cmd->flags &= ~UVIRTIO_DMA_CONTIGUOUS;
	if (!dirs || (cmd->flags & ~UVIRTIO_DMA_BIDIRECTIONAL) ||
	    cmd->__reserved)
		return -EINVAL;
	ret = uvirtio_check_dma_range(cmd->vaddr, cmd->length, &npages);
	if (ret)
		return ret;
	if (!uvirtio_dma_allowed(udev))
		return -EPERM;
	if (udev->nr_maps + udev->nr_bufs >= READ_ONCE(uvirtio_max_mappings))
		return -ENOSPC;
	list_for_each_entry(other, &udev->maps, node)
		if (uvirtio_ranges_overlap(cmd->vaddr, cmd->length,
					   other->vaddr, other->length))
			return -EEXIST;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->vaddr = cmd->vaddr;
	m->length = cmd->length;
	m->npages = npages;
	if (dirs == UVIRTIO_DMA_BIDIRECTIONAL)
		m->dir = DMA_BIDIRECTIONAL;
	else if (dirs == UVIRTIO_DMA_TO_DEVICE)
		m->dir = DMA_TO_DEVICE;
	else
		m->dir = DMA_FROM_DEVICE;
	if (dirs & UVIRTIO_DMA_FROM_DEVICE)
		gup_flags |= FOLL_WRITE;

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
	ret = sg_alloc_table_from_pages(&m->sgt, m->pages, npages, 0,
					cmd->length, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unpin;
	ret = uvirtio_dma_map_sgt(udev, m);
	if (ret)
		goto err_free_sgt;
	/* With no segments array only the count is reported. */
	ret = uvirtio_report_segments(m, u64_to_user_ptr(cmd->segments),
				      cmd->segments ? cmd->nr_segments : 0,
				      &nseg);
	if (ret)
		goto err_unmap;

	m->handle = udev->next_handle++;
	cmd->handle = m->handle;
	cmd->iova = sg_dma_address(m->sgt.sgl);
	cmd->nr_segments = nseg;
	if (nseg == 1)
		cmd->flags |= UVIRTIO_DMA_CONTIGUOUS;
	ret = uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto err_unmap;

	list_add_tail(&m->node, &udev->maps);
	udev->nr_maps++;
	udev->pinned_pages += npages;
	return 0;

err_unmap:
	dma_unmap_sgtable(&udev->pdev->dev, &m->sgt, m->dir, 0);
err_free_sgt:
	sg_free_table(&m->sgt);
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
 * Return: 0, -EINVAL for non-zero flags, -ENOENT for an unknown handle.
 */
int uvirtio_ioctl_dma_unmap(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_unmap *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_mapping *m;

	if (cmd->flags)
		return -EINVAL;
	list_for_each_entry(m, &udev->maps, node) {
		if (m->handle == cmd->handle) {
			list_del(&m->node);
			uvirtio_mapping_free(udev, m);
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * uvirtio_coherent_alloc() - allocate the memory of a coherent buffer
 * @buf: buffer with @size and @udev set; @cpu_addr and @iova are filled
 *
 * Not inlined, so fail_function can make it fail (ALLOW_ERROR_INJECTION).
 *
 * Return: 0 or -ENOMEM.
 */
noinline int uvirtio_coherent_alloc(struct uvirtio_dma_buf *buf)
{
	/* A user-sized request: fail quietly rather than WARN. */
	buf->cpu_addr = dma_alloc_coherent(&buf->udev->pdev->dev, buf->size,
					   &buf->iova,
					   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return buf->cpu_addr ? 0 : -ENOMEM;
}
ALLOW_ERROR_INJECTION(uvirtio_coherent_alloc, ERRNO);

/*
 * The last reference (handle or mapping) went.  Free the memory unless
 * remove() already did: after remove() the function may have left its
 * IOMMU group, and the DMA API can no longer free for it.  @revoke_sem
 * orders this against uvirtio_dma_revoke().
 */
static void uvirtio_buf_release(struct kref *kref)
{
	struct uvirtio_dma_buf *buf = container_of(kref, struct uvirtio_dma_buf,
						   kref);
	struct uvirtio_device *udev = buf->udev;

	down_read(&udev->revoke_sem);
	spin_lock(&udev->all_bufs_lock);
	list_del(&buf->node);
	spin_unlock(&udev->all_bufs_lock);
	if (buf->cpu_addr)
		dma_free_coherent(&udev->pdev->dev, buf->size, buf->cpu_addr,
				  buf->iova);
	up_read(&udev->revoke_sem);
	vfree(buf->shadow);
	uvirtio_uncharge(buf->user, buf->size >> PAGE_SHIFT);
	uvirtio_device_put(buf->udev);
	kfree(buf);
}

static void uvirtio_buf_put(struct uvirtio_dma_buf *buf)
{
	kref_put(&buf->kref, uvirtio_buf_release);
}

/* Drop the handle's reference; the caller holds udev->lock. */
static void uvirtio_buf_drop(struct uvirtio_device *udev,
			     struct uvirtio_dma_buf *buf)
{
	xa_erase(&udev->bufs, buf->id);
	udev->nr_bufs--;
	udev->coherent_bytes -= buf->size;
	uvirtio_buf_put(buf);
}

/**
 * uvirtio_ioctl_dma_alloc() - UVIRTIO_DMA_ALLOC
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * A single buffer may not exceed a quarter of RAM (-ENOMEM), whatever
 * the caller's RLIMIT_MEMLOCK or CAP_IPC_LOCK: a larger request cannot be
 * met without the OOM killer.
 *
 * Return: 0; -EPERM without a translating IOMMU (and unsafe mode off);
 * -EINVAL for non-zero flags or zero length; -EOVERFLOW if the length
 * does not fit once rounded up; -ENOSPC at max_mappings; -ENOMEM.
 */
int uvirtio_ioctl_dma_alloc(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_dma_alloc *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_dma_buf *buf;
	u64 size;
	int ret;

	if (cmd->flags || !cmd->length)
		return -EINVAL;
	if (cmd->length > U64_MAX - PAGE_SIZE + 1 ||
	    PAGE_ALIGN(cmd->length) > SIZE_MAX / 2)
		return -EOVERFLOW;
	size = PAGE_ALIGN(cmd->length);
	if (!uvirtio_dma_allowed(udev))
		return -EPERM;
	if (size >> PAGE_SHIFT > totalram_pages() / 4)
		return -ENOMEM;
	if (udev->nr_maps + udev->nr_bufs >= READ_ONCE(uvirtio_max_mappings))
		return -ENOSPC;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	kref_init(&buf->kref);
	buf->udev = udev;
	buf->size = size;
	ret = uvirtio_charge(size >> PAGE_SHIFT, &buf->user);
	if (ret)
		goto err_free;
	ret = uvirtio_coherent_alloc(buf);
	if (ret)
		goto err_uncharge;
	ret = xa_alloc(&udev->bufs, &buf->id, buf,
		       XA_LIMIT(0, UVIRTIO_MAX_DMA_BUFS - 1), GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free_coherent;
	kref_get(&udev->kref);
	spin_lock(&udev->all_bufs_lock);
	list_add_tail(&buf->node, &udev->all_bufs);
	spin_unlock(&udev->all_bufs_lock);
	udev->nr_bufs++;
	udev->coherent_bytes += size;

	cmd->handle = (u64)buf->id + 1;
	cmd->iova = buf->iova;
	cmd->mmap_offset = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE +
						 buf->id);
	ret = uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		uvirtio_buf_drop(udev, buf);
	return ret;

err_free_coherent:
	dma_free_coherent(&udev->pdev->dev, size, buf->cpu_addr, buf->iova);
err_uncharge:
	uvirtio_uncharge(buf->user, size >> PAGE_SHIFT);
err_free:
	kfree(buf);
	return ret;
}

/**
 * uvirtio_ioctl_dma_free() - UVIRTIO_DMA_FREE
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * The memory stays until the last user mapping of it goes.
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
	uvirtio_buf_drop(udev, buf);
	return 0;
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
 * Buffer mappings are filled at mmap() time; a fault comes only after
 * uvirtio_dma_revoke() zapped them and swapped the memory for @shadow, a
 * copy as the quiesced function left it: rings read back frozen, never
 * with completions that did not happen.  If the copy could not be
 * allocated, it is SIGBUS.
 */
static vm_fault_t uvirtio_buf_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct uvirtio_dma_buf *buf = vma->vm_private_data;
	struct uvirtio_device *udev = buf->udev;
	unsigned long base = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE +
						   buf->id) >> PAGE_SHIFT;
	unsigned long addr = vmf->address & PAGE_MASK;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	unsigned long pfn;

	down_read(&udev->revoke_sem);
	if (!udev->dead || !buf->shadow || vmf->pgoff < base ||
	    vmf->pgoff - base >= buf->size >> PAGE_SHIFT)
		goto out;
	pfn = vmalloc_to_pfn(buf->shadow + ((vmf->pgoff - base) << PAGE_SHIFT));
	/*
	 * dma_mmap_coherent() made a VM_PFNMAP mapping (dma-direct) or a
	 * VM_MIXEDMAP one (the IOMMU path maps pages); insert accordingly.
	 */
	if (vma->vm_flags & VM_MIXEDMAP)
		ret = vmf_insert_mixed(vma, addr, pfn_to_pfn_t(pfn));
	else
		ret = vmf_insert_pfn(vma, addr, pfn);
out:
	up_read(&udev->revoke_sem);
	return ret;
}

static const struct vm_operations_struct uvirtio_buf_vm_ops = {
	.open = uvirtio_buf_vm_open,
	.close = uvirtio_buf_vm_close,
	.fault = uvirtio_buf_fault,
};

/**
 * uvirtio_dma_mmap() - mmap a coherent buffer
 * @udev: the device
 * @vma: the new mapping
 * @id: buffer id (region index - UVIRTIO_REGION_DMA_BASE)
 *
 * Context: mmap_lock held; must not take @udev->lock.
 * Return: 0, -EINVAL for an unknown id or a range outside the buffer.
 */
int uvirtio_dma_mmap(struct uvirtio_device *udev, struct vm_area_struct *vma,
		     u64 id)
{
	unsigned long base = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE + id)
			     >> PAGE_SHIFT;
	unsigned long pgoff = vma->vm_pgoff;
	struct uvirtio_dma_buf *buf;
	int ret;

	if (id >= UVIRTIO_MAX_DMA_BUFS)
		return -EINVAL;
	xa_lock(&udev->bufs);
	buf = xa_load(&udev->bufs, id);
	if (buf && !kref_get_unless_zero(&buf->kref))
		buf = NULL;
	xa_unlock(&udev->bufs);
	if (!buf)
		return -EINVAL;

	/* dma_mmap_coherent() takes vm_pgoff as the offset in the buffer. */
	down_read(&udev->revoke_sem);
	if (udev->dead) {
		ret = -ENODEV;
	} else {
		vma->vm_pgoff = pgoff - base;
		ret = dma_mmap_coherent(&udev->pdev->dev, vma, buf->cpu_addr,
					buf->iova, buf->size);
		vma->vm_pgoff = pgoff;
	}
	up_read(&udev->revoke_sem);
	if (ret) {
		uvirtio_buf_put(buf);
		return ret == -ENXIO ? -EINVAL : ret;
	}
	vma->vm_private_data = buf;
	vma->vm_ops = &uvirtio_buf_vm_ops;
	return 0;
}

/**
 * uvirtio_dma_teardown() - drop every mapping and buffer handle
 * @udev: the device; the hardware must no longer be able to DMA
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_dma_teardown(struct uvirtio_device *udev)
{
	struct uvirtio_dma_mapping *m, *tmp;
	struct uvirtio_dma_buf *buf;
	unsigned long id;

	lockdep_assert_held(&udev->lock);
	list_for_each_entry_safe(m, tmp, &udev->maps, node) {
		list_del(&m->node);
		uvirtio_mapping_free(udev, m);
		cond_resched();
	}
	xa_for_each(&udev->bufs, id, buf)
		uvirtio_buf_drop(udev, buf);
}

/**
 * uvirtio_dma_revoke() - free the memory of every coherent buffer now
 * @udev: the device, being removed
 *
 * Buffers that are still mmapped, or freed by handle but still mmapped,
 * would otherwise be freed at munmap() time, after remove() returned -
 * when the function may already have left its IOMMU group and
 * dma_free_coherent() would take the wrong path.  The buffer structures
 * stay until their last reference; their mappings fault in a copy of the
 * memory from now on (see uvirtio_buf_fault()).
 *
 * Call it after uvirtio_device_revoke() and once the function can no
 * longer DMA.  Holding @udev->revoke_sem for write across the zap of the
 * user mappings, the copy and the free keeps faults,
 * uvirtio_buf_release() and the mmap path out meanwhile.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_dma_revoke(struct uvirtio_device *udev)
{
	struct uvirtio_dma_buf *buf;

	lockdep_assert_held(&udev->lock);
	down_write(&udev->revoke_sem);
	unmap_mapping_range(udev->inode->i_mapping,
			    UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE), 0, 1);
	list_for_each_entry(buf, &udev->all_bufs, node) {
		if (!buf->cpu_addr)
			continue;
		buf->shadow = __vmalloc(buf->size,
					GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (buf->shadow)
			memcpy(buf->shadow, buf->cpu_addr, buf->size);
		dma_free_coherent(&udev->pdev->dev, buf->size, buf->cpu_addr,
				  buf->iova);
		buf->cpu_addr = NULL;
	}
	up_write(&udev->revoke_sem);
}
