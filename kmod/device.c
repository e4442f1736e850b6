// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: what a device fd holds - information, regions, BAR mmap,
 * poll, resets, teardown on release and revocation on removal.  The fd's
 * file operations and UVIRTIO_DEVICE_OPEN are in main.c, pread/pwrite in
 * rdwr.c.
 *
 * Locking design
 * ==============
 *
 * Objects: struct uvirtio_device (one per bound PCI function or
 * virtio-mmio platform device, refcounted with @kref), its device fd (at
 * most one: @owner) and what the fd owns (its IOMMU domain, DMA mappings
 * and buffers, interrupt vectors).
 *
 * Locks, in the order they nest (outermost first):
 *
 * 1. device_lock(&pdev->dev) - held by the driver core around probe() and
 *    remove().  uvirtio never takes it itself except with a trylock inside
 *    pci_try_reset_function(), which cannot deadlock.
 * 2. uvirtio_devices_lock (mutex, core.c) - the global list of devices.
 *    Held for lookup in DEVICE_OPEN and LIST_DEVICES and for list
 *    add/del in probe/remove.
 * 3. uvirtio_device.lock (mutex) - everything mutable in the device:
 *    @owner/@owner_pid, @dead, @remove_trigger, the DMA regime and the
 *    IOMMU domain, the IOVA tree, the DMA lists and counters, the
 *    interrupt vectors, and hardware access through pread/pwrite/ioctl
 *    (BAR iomaps are torn down under it in remove()).  Every device-fd
 *    ioctl handler but DMA_MAP runs with it held (main.c dispatcher).
 *    Paths holding it may sleep (free_irq()/disable_irq() wait for
 *    handlers, the virtio reset polls for up to a second, the IOMMU core
 *    allocates page tables), but NEVER touch user memory: remove() needs
 *    this lock, and a fault on a userfaultfd- or FUSE-backed page can
 *    take for ever.  So DMA_MAP pins its pages before it takes the lock,
 *    and every ioctl's output is copied to user space by the dispatcher
 *    after the lock is dropped (uvirtio_ucmd_respond()); a handler whose
 *    result must not outlive a failed copy has an undo step, run under
 *    the lock again.  pread/pwrite copy their 1-8 bytes outside it too.
 * 4. mm->mmap_lock - taken by the MM around our .mmap and .fault
 *    callbacks.  .mmap and .fault must NEVER take uvirtio_device.lock;
 *    they only read data that is fixed at probe time, use @revoke_sem,
 *    or look buffers up in the @bufs xarray (its own spinlock) and take a
 *    kref.  (Pinning takes mmap_lock with no uvirtio lock held.)
 * 5. uvirtio_device.revoke_sem (rwsem) - .fault holds it for read while
 *    it checks @dead and inserts a BAR pfn; revocation holds it for write
 *    while it sets @dead and calls unmap_mapping_range().  So no BAR pfn
 *    can be inserted after revocation (faults map a scratch page of
 *    all-ones instead, see uvirtio_scratch_pfn()), and revocation waits
 *    for faults in flight.  (unmap_mapping_range() takes i_mmap_rwsem
 *    inside it; uvirtio_device.scratch_lock nests inside it for read.)
 *    A function reset (UVIRTIO_DEVICE_RESET with FLR) holds it for write
 *    too, with the BAR mappings zapped, so no access reaches the BARs
 *    while the function resets; they fault back afterwards.  DMA buffer
 *    mappings do not use it: their pages live as long as the mappings
 *    (dma.c).
 * 6. uvirtio_vector.lock (spinlock, IRQ-safe) - innermost; protects a
 *    vector's eventfd pointer, counter and INTx mask state against the
 *    hard IRQ handler.  eventfd_signal() is called under it, and so is
 *    every read-modify-write of the command register while INTx is on
 *    (Bus Master Enable from config writes, INTx Disable from the
 *    handler and UVIRTIO_IRQ_MASK).
 *
 * The DMA regime (@iommu_mode, @domain, ...) is set at open, before the
 * device fd exists, and the domain goes at release or removal: the mode
 * is fixed for the life of the fd, so DMA_MAP reads it without the lock
 * (and checks @dead under the lock before it uses the domain).  The
 * IOMMU core's group mutex nests inside @lock (open, release, remove).
 *
 * @dead is written under both @lock and @revoke_sem (write), so holding
 * either one is enough to read it stably.  poll() reads it locklessly
 * after poll_wait(), which is fine because remove() wakes the queue after
 * setting it.
 *
 * remove() (pci.c, and the same in mmio.c) takes device_lock (from the
 * core), then
 * uvirtio_devices_lock briefly, then @lock; it waits at most for one
 * ioctl in flight (all of which are bounded) and never for the owner to
 * close the fd.  It revokes BAR mmaps, tears the hardware state down and
 * marks the device dead.  The fd, the struct and the pci_dev reference
 * stay until the last reference is dropped (uvirtio_device_close()).
 *
 * The IRQ handlers take only uvirtio_vector.lock.  The virtio-mmio
 * handler also reads and acknowledges the device's interrupt status
 * through the register window, which remove() unmaps only after the
 * teardown freed the IRQ.
 *
 * Keep-alive (keepalive.c): a released device may be held, with no
 * owner, for a re-attach; the kept state and its expiry work are under
 * @lock.  The work takes @lock, so remove() ends the kept state under
 * @lock and cancels the work with cancel_delayed_work_sync() only after
 * dropping it.
 *
 * Netlink (netlink.c): DEV_GET takes uvirtio_devices_lock, then @lock
 * (and briefly each uvirtio_vector.lock to sum the interrupt counters),
 * like LIST_DEVICES.  Events are sent by uvirtio_nl_notify(), which reads
 * only the pci_dev ids and the pid it is given and takes only its own
 * uvirtio_nl_sem (innermost, never held while taking another uvirtio
 * lock) plus netlink's internal locks; netlink never calls back into
 * uvirtio.  So events may be sent with @lock held (reset, and the reset
 * time-out error in teardown), though open, release and remove send
 * theirs after dropping it.  Allocation with GFP_KERNEL under @lock is
 * allowed (DMA_ALLOC allocates its pages under it).
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/error-injection.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_pci.h>

#include "compat.h"
#include "uvirtio.h"

#define UVIRTIO_RESET_POLL_US		1000
#define UVIRTIO_RESET_TIMEOUT_US	(1000 * 1000)

/**
 * uvirtio_virtio_reset() - reset the virtio device and wait for it
 * @udev: the device, with the hardware present
 *
 * Writes 0 to device_status through the common configuration structure
 * (or the legacy I/O status register, or the virtio-mmio Status register)
 * and, for modern devices, polls until it reads back 0, for at most one
 * second.
 *
 * Error-injection point (see uvirtio.h): fails as a device that never
 * finishes its reset would.
 *
 * Context: process context, @udev->lock held.
 * Return: 0, -ETIMEDOUT, or -EOPNOTSUPP without a way to reach the status.
 */
noinline int uvirtio_virtio_reset(struct uvirtio_device *udev)
{
	const struct uvirtio_virtio_cap *c = &udev->vcaps[UVIRTIO_VCAP_COMMON];
	void __iomem *status;
	u8 val;

	lockdep_assert_held(&udev->lock);
	if (uvirtio_is_mmio(udev))
		return uvirtio_mmio_reset(udev);
	if (c->present && udev->bar_map[c->bar] &&
	    c->length > VIRTIO_PCI_COMMON_STATUS) {
		status = udev->bar_map[c->bar] + c->offset +
			 VIRTIO_PCI_COMMON_STATUS;
		iowrite8(0, status);
		return read_poll_timeout(ioread8, val, !val,
					 UVIRTIO_RESET_POLL_US,
					 UVIRTIO_RESET_TIMEOUT_US, false,
					 status);
	}
	if (udev->legacy && udev->bar_map[0]) {
		iowrite8(0, udev->bar_map[0] + VIRTIO_PCI_STATUS);
		/* The legacy reset is done once the write is; flush it. */
		ioread8(udev->bar_map[0] + VIRTIO_PCI_STATUS);
		return 0;
	}
	return -EOPNOTSUPP;
}
ALLOW_ERROR_INJECTION(uvirtio_virtio_reset, ERRNO);

/**
 * uvirtio_function_reset() - reset the PCI function (FLR)
 * @udev: the device, with the hardware present
 *
 * pci_try_reset_function() saves and restores config space, including
 * MSI-X state.  Error-injection point (see uvirtio.h): fails as when the
 * PCI core holds the device lock.
 *
 * Context: process context, @udev->lock held.
 * Return: 0, -EAGAIN if the PCI core is busy with the function, or
 * another negative errno of pci_try_reset_function().
 */
noinline int uvirtio_function_reset(struct uvirtio_device *udev)
{
	lockdep_assert_held(&udev->lock);
	return pci_try_reset_function(udev->pdev);
}
ALLOW_ERROR_INJECTION(uvirtio_function_reset, ERRNO);

/**
 * uvirtio_device_teardown() - return the device to its unowned state
 * @udev: the device
 * @hw: the hardware is still present and ours
 *
 * Called on release (close or process death) and from remove().  The
 * order matters:
 *
 * 1. virtio reset (and wait): the device stops using its queues, so it
 *    starts no new DMA and raises no new interrupts.  The DMA mappings
 *    are still valid while it finishes, so nothing is corrupted.
 * 2. bus master off: from now on nothing the device does reaches memory,
 *    including MSI writes, even if it ignored the reset (PCI only:
 *    virtio-mmio has no such switch, and a NONE device never got a ring
 *    address).
 * 3. interrupts freed and eventfds released: no handler can run any more.
 * 4. DMA unmapped (IOTLB flushed) and unpinned, buffer handles dropped:
 *    only now is it safe to hand the pages back.  Buffers still mmapped
 *    keep their memory until their last munmap, out of the device's
 *    reach.
 * 5. the IOMMU group goes back to the kernel's DMA domain.
 *
 * With @hw false (release() after remove()) the hardware is gone: steps 1
 * and 2 are skipped (remove() already did them), but freeing is done.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_device_teardown(struct uvirtio_device *udev, bool hw)
{
	lockdep_assert_held(&udev->lock);
	if (hw) {
		if (uvirtio_virtio_reset(udev) == -ETIMEDOUT) {
			dev_warn(udev->dev, "virtio reset timed out\n");
			uvirtio_nl_notify(udev->dev, udev->virtio_id,
					  UVIRTIO_EVENT_ERROR, 0,
					  -ETIMEDOUT);
		}
		/* virtio-mmio has no bus-master switch: the reset must do. */
		if (udev->pdev)
			pci_clear_master(udev->pdev);
	}
	uvirtio_irq_teardown(udev);
	uvirtio_dma_teardown(udev);
	uvirtio_dma_release(udev);
}

/**
 * uvirtio_device_revoke() - mark the device dead and revoke BAR mappings
 * @udev: the device
 *
 * Wakes poll() with EPOLLHUP | EPOLLERR and signals the remove eventfd.
 * BAR mappings stay valid but are backed by pages of all-ones from now
 * on (one fresh page per faulting page, see uvirtio_scratch_pfn()): an
 * owner still polling or ringing a doorbell sees all-ones, as from a
 * surprise-removed function, instead of a SIGBUS.  DMA buffers stay
 * mapped (their memory is the module's, see dma.c).  Later ioctls get
 * -ENODEV.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_device_revoke(struct uvirtio_device *udev)
{
	lockdep_assert_held(&udev->lock);
	down_write(&udev->revoke_sem);
	udev->dead = true;
	unmap_mapping_range(udev->inode->i_mapping, 0,
			    UVIRTIO_REGION_OFFSET(UVIRTIO_NUM_BARS), 1);
	up_write(&udev->revoke_sem);
	if (udev->remove_trigger)
		uvirtio_eventfd_signal(udev->remove_trigger);
	wake_up_poll(&udev->wq, EPOLLHUP | EPOLLERR);
}

/**
 * uvirtio_device_poll() - poll() of the device fd
 * @file: the device fd
 * @wait: poll table
 *
 * Return: EPOLLHUP | EPOLLERR once the device is gone, else 0.
 */
__poll_t uvirtio_device_poll(struct file *file, poll_table *wait)
{
	struct uvirtio_device *udev = file->private_data;

	poll_wait(file, &udev->wq, wait);
	return READ_ONCE(udev->dead) ? EPOLLHUP | EPOLLERR : 0;
}

/*
 * A revoked BAR page: a fresh page of all-ones of its own, so what the
 * owner writes there reaches no device and shows up in no other page and
 * in no other mapping.  Faults come once per mapped page after a removal
 * (mmap() is refused from then on), so these are few; they are freed
 * with the device.  Should the allocation fail, the shared @gone_page
 * stands in, rather than a SIGBUS.
 */
static unsigned long uvirtio_scratch_pfn(struct uvirtio_device *udev)
{
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_NOWARN);

	if (!page)
		return page_to_pfn(udev->gone_page);
	memset(page_address(page), 0xff, PAGE_SIZE);
	spin_lock(&udev->scratch_lock);
	list_add(&page->lru, &udev->scratch_pages);
	spin_unlock(&udev->scratch_lock);
	return page_to_pfn(page);
}

static vm_fault_t uvirtio_bar_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct uvirtio_device *udev = vma->vm_private_data;
	u64 pos = (u64)vmf->pgoff << PAGE_SHIFT;
	unsigned int bar = pos >> UVIRTIO_OFFSET_SHIFT;
	u64 off = pos & UVIRTIO_OFFSET_MASK;
	unsigned long pfn;
	vm_fault_t ret;

	pfn = (pci_resource_start(udev->pdev, bar) + off) >> PAGE_SHIFT;
	down_read(&udev->revoke_sem);
	if (udev->dead)
		pfn = uvirtio_scratch_pfn(udev);
	ret = vmf_insert_pfn(vma, vmf->address & PAGE_MASK, pfn);
	up_read(&udev->revoke_sem);
	return ret;
}

static const struct vm_operations_struct uvirtio_bar_vm_ops = {
	.fault = uvirtio_bar_fault,
};

/**
 * uvirtio_device_mmap() - mmap() of the device fd: a BAR or a DMA buffer
 * @file: the device fd
 * @vma: the new mapping
 *
 * Context: mmap_lock held; must not take uvirtio_device.lock.
 * Return: 0, -EINVAL for a bad region or range (and for any register
 * window of a virtio-mmio device), -EPERM for the MSI-X range, -ENODEV
 * once the device is gone.
 */
int uvirtio_device_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct uvirtio_device *udev = file->private_data;
	u64 pos = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 index = (u64)vma->vm_pgoff >> (UVIRTIO_OFFSET_SHIFT - PAGE_SHIFT);
	u64 off = pos & UVIRTIO_OFFSET_MASK;
	u64 size = vma->vm_end - vma->vm_start;

	/* No uvirtio_device.lock here: mmap_lock is held (see the top). */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (READ_ONCE(udev->dead))
		return -ENODEV;
	if (index >= UVIRTIO_REGION_DMA_BASE)
		return uvirtio_dma_mmap(udev, vma, index - UVIRTIO_REGION_DMA_BASE);
	/* A virtio-mmio window shares its page with other devices. */
	if (uvirtio_is_mmio(udev))
		return -EINVAL;
	if (index >= UVIRTIO_NUM_BARS || !udev->bar_len[index] ||
	    !(udev->bar_flags[index] & IORESOURCE_MEM))
		return -EINVAL;
	if (!PAGE_ALIGNED(pci_resource_start(udev->pdev, index)) ||
	    off >= udev->bar_len[index] || size > udev->bar_len[index] - off)
		return -EINVAL;
	if (uvirtio_ranges_overlap(off, size, udev->msix_start[index],
				   udev->msix_end[index] -
				   udev->msix_start[index]))
		return -EPERM;

	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	uvirtio_vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND |
			     VM_DONTDUMP);
	vma->vm_private_data = udev;
	vma->vm_ops = &uvirtio_bar_vm_ops;
	return 0;
}

/**
 * uvirtio_ioctl_device_get_info() - UVIRTIO_DEVICE_GET_INFO
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Works after removal too, reporting UVIRTIO_DEVICE_INFO_REMOVED.
 *
 * Return: 0, -EINVAL for non-zero input flags or reserved members,
 * -EFAULT.
 */
int uvirtio_ioctl_device_get_info(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_device_info *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct pci_dev *pdev = udev->pdev;

	if (cmd->flags || cmd->__reserved || cmd->__reserved2 ||
	    memchr_inv(cmd->__pad, 0, sizeof(cmd->__pad)))
		return -EINVAL;

	cmd->transport = udev->transport;
	cmd->mmio_version = udev->mmio_version;
	cmd->virtio_id = udev->virtio_id;
	cmd->num_regions = UVIRTIO_NUM_REGIONS;
	cmd->iommu_mode = udev->iommu_mode;
	cmd->max_dma_mappings = READ_ONCE(uvirtio_max_mappings);
	cmd->dma_mask = dma_get_mask(udev->dev);
	cmd->dma_flags = udev->dma_flags;
	cmd->untranslated = udev->untranslated;
	cmd->num_iova_ranges = udev->nr_iova_ranges;
	cmd->irq_type = udev->irq_type;
	cmd->irq_count = udev->irq_type ? udev->nr_vectors : 0;
	if (udev->dead)
		cmd->flags |= UVIRTIO_DEVICE_INFO_REMOVED;
	if (udev->ka_armed)
		cmd->flags |= UVIRTIO_DEVICE_INFO_KEEPALIVE;
	if (udev->reattached)
		cmd->flags |= UVIRTIO_DEVICE_INFO_REATTACHED;
	if (uvirtio_is_mmio(udev)) {
		/* No PCI ids, no capabilities, no MSI-X. */
		cmd->pci_addr = 0;
		cmd->vendor = 0;
		cmd->device = 0;
		cmd->subsystem_vendor = 0;
		cmd->subsystem_device = 0;
		cmd->revision = 0;
		cmd->num_msix = 0;
		memset(cmd->caps, 0, sizeof(cmd->caps));
		if (udev->mmio_irq)
			cmd->flags |= UVIRTIO_DEVICE_INFO_WIRED_IRQ;
		return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (udev->vcaps[UVIRTIO_VCAP_COMMON].present)
		cmd->flags |= UVIRTIO_DEVICE_INFO_MODERN;
	if (udev->legacy)
		cmd->flags |= UVIRTIO_DEVICE_INFO_LEGACY;
	if (pdev->pin && pdev->irq)
		cmd->flags |= UVIRTIO_DEVICE_INFO_INTX;
	if (udev->has_flr)
		cmd->flags |= UVIRTIO_DEVICE_INFO_FLR;
	cmd->pci_addr = udev->pci_addr;
	cmd->vendor = pdev->vendor;
	cmd->device = pdev->device;
	cmd->subsystem_vendor = pdev->subsystem_vendor;
	cmd->subsystem_device = pdev->subsystem_device;
	cmd->revision = pdev->revision;
	cmd->num_msix = udev->num_msix;
	memcpy(cmd->caps, udev->vcaps, sizeof(cmd->caps));
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}

/**
 * uvirtio_ioctl_region_get_info() - UVIRTIO_REGION_GET_INFO
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * A virtio-mmio device has region 0 (its register window, never
 * mmap()able) and reports the others with size 0.
 *
 * Return: 0, -EINVAL for non-zero flags/reserved or an index that is not
 * a BAR, the ROM slot (reported with size 0) or UVIRTIO_REGION_CONFIG.
 */
int uvirtio_ioctl_region_get_info(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_region_info *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	u32 idx = cmd->index;
	unsigned long rflags;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	cmd->region_size = 0;
	cmd->msix_start = 0;
	cmd->msix_end = 0;
	if (idx == UVIRTIO_REGION_CONFIG) {
		/* virtio-mmio has no config space region: size 0 */
		if (udev->pdev)
			cmd->region_size = udev->pdev->cfg_size;
		cmd->flags = UVIRTIO_REGION_INFO_READ | UVIRTIO_REGION_INFO_WRITE;
	} else if (idx < UVIRTIO_NUM_BARS && udev->bar_len[idx]) {
		rflags = udev->bar_flags[idx];
		cmd->region_size = udev->bar_len[idx];
		cmd->flags = UVIRTIO_REGION_INFO_READ | UVIRTIO_REGION_INFO_WRITE;
		if (rflags & IORESOURCE_IO)
			cmd->flags |= UVIRTIO_REGION_INFO_IO;
		if (rflags & IORESOURCE_MEM_64)
			cmd->flags |= UVIRTIO_REGION_INFO_MEM64;
		if (rflags & IORESOURCE_PREFETCH)
			cmd->flags |= UVIRTIO_REGION_INFO_PREFETCH;
		if ((rflags & IORESOURCE_MEM) && udev->pdev &&
		    PAGE_ALIGNED(pci_resource_start(udev->pdev, idx)) &&
		    PAGE_ALIGNED(udev->bar_len[idx]))
			cmd->flags |= UVIRTIO_REGION_INFO_MMAP;
		if (udev->msix_end[idx] > udev->msix_start[idx]) {
			cmd->flags |= UVIRTIO_REGION_INFO_MSIX;
			cmd->msix_start = udev->msix_start[idx];
			cmd->msix_end = udev->msix_end[idx];
		}
	} else if (idx >= UVIRTIO_NUM_REGIONS) {
		return -EINVAL;
	}
	cmd->offset = UVIRTIO_REGION_OFFSET(idx);
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}

/**
 * uvirtio_ioctl_device_reset() - UVIRTIO_DEVICE_RESET
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * With UVIRTIO_RESET_FLR the function is reset first through
 * pci_try_reset_function(), which saves and restores config space
 * (including MSI-X state).
 *
 * Return: 0, -EINVAL for unknown flags, -EOPNOTSUPP for FLR without FLR
 * support or a device without a reachable status register, -EAGAIN if
 * the PCI core is busy with the function, -ETIMEDOUT.
 */
int uvirtio_ioctl_device_reset(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_device_reset *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	int ret;

	if (cmd->flags & ~UVIRTIO_RESET_FLR)
		return -EINVAL;
	if (cmd->flags & UVIRTIO_RESET_FLR) {
		if (!udev->has_flr)
			return -EOPNOTSUPP;
		/*
		 * No access may reach the BARs while the function resets:
		 * zap the owner's BAR mappings and hold faults off (they
		 * take @revoke_sem for read) until it is done.
		 */
		down_write(&udev->revoke_sem);
		unmap_mapping_range(udev->inode->i_mapping, 0,
				    UVIRTIO_REGION_OFFSET(UVIRTIO_NUM_BARS), 1);
		ret = uvirtio_function_reset(udev);
		up_write(&udev->revoke_sem);
		if (ret)
			return ret;
	}
	ret = uvirtio_virtio_reset(udev);
	if (!ret)
		uvirtio_nl_notify(udev->dev, udev->virtio_id, UVIRTIO_EVENT_RESET,
				  pid_nr(udev->owner_pid), 0);
	return ret;
}

/**
 * uvirtio_ioctl_set_remove_eventfd() - UVIRTIO_SET_REMOVE_EVENTFD
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Return: 0, -EINVAL for non-zero flags/reserved or an fd that is not an
 * eventfd, -EBADF for a bad fd.
 */
int uvirtio_ioctl_set_remove_eventfd(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_set_remove_eventfd *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct eventfd_ctx *ctx = NULL;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	if (cmd->fd != -1) {
		int ret = uvirtio_eventfd_get(cmd->fd, &ctx);

		if (ret)
			return ret;
	}
	if (udev->remove_trigger)
		eventfd_ctx_put(udev->remove_trigger);
	udev->remove_trigger = ctx;
	return 0;
}

static int uvirtio_stats_show(struct seq_file *s, void *unused)
{
	struct uvirtio_device *udev = s->private;
	u32 i;

	mutex_lock(&udev->lock);
	seq_printf(s, "owner_pid: %d\n",
		   udev->owner_pid ? pid_nr(udev->owner_pid) : 0);
	seq_printf(s, "iommu_mode: %u\n", udev->iommu_mode);
	seq_printf(s, "untranslated: %u\n", udev->untranslated);
	seq_printf(s, "dma_flags: %#x\n", udev->dma_flags);
	seq_printf(s, "pinned_pages: %llu\n", udev->pinned_pages);
	seq_printf(s, "mappings: %u\n", udev->nr_maps);
	seq_printf(s, "coherent_buffers: %u\n", udev->nr_bufs);
	seq_printf(s, "coherent_bytes: %llu\n", udev->coherent_bytes);
	seq_printf(s, "irq_type: %u\n", udev->irq_type);
	seq_printf(s, "keepalive: %s\n", udev->kept ? "kept" :
		   udev->ka_armed ? "armed" : "off");
	for (i = 0; i < udev->nr_vectors; i++) {
		struct uvirtio_vector *v = &udev->vectors[i];
		u64 count;

		spin_lock_irq(&v->lock);
		count = v->count;
		spin_unlock_irq(&v->lock);
		seq_printf(s, "vector%u: irq %u interrupts %llu%s\n", i, v->irq,
			   count, v->masked ? " masked" : "");
	}
	mutex_unlock(&udev->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(uvirtio_stats);

/**
 * uvirtio_debugfs_add() - create uvirtio/<bdf or platform name>/stats
 * @udev: the device
 *
 * Context: probe.
 */
void uvirtio_debugfs_add(struct uvirtio_device *udev)
{
	udev->debugfs = debugfs_create_dir(dev_name(udev->dev),
					   uvirtio_debugfs_root);
	debugfs_create_file("stats", 0400, udev->debugfs, udev,
			    &uvirtio_stats_fops);
}

/**
 * uvirtio_device_close() - the device fd was released: tear it all down
 * @udev: the device; the fd's reference is dropped here
 *
 * With keep-alive armed the device is held instead (keepalive.c), and
 * the fd's reference goes to the kept state.
 *
 * Context: process context, no uvirtio lock held.
 */
void uvirtio_device_close(struct uvirtio_device *udev)
{
	pid_t owner;
	bool kept;

	mutex_lock(&udev->lock);
	owner = pid_nr(udev->owner_pid);
	kept = uvirtio_keepalive_hold(udev);
	if (!kept)
		uvirtio_device_teardown(udev, !udev->dead);
	udev->ka_armed = false;
	udev->reattached = false;
	if (udev->remove_trigger) {
		eventfd_ctx_put(udev->remove_trigger);
		udev->remove_trigger = NULL;
	}
	udev->owner = NULL;
	put_pid(udev->owner_pid);
	udev->owner_pid = NULL;
	mutex_unlock(&udev->lock);
	/* udev holds the pci_dev (or platform device) until the put below. */
	uvirtio_nl_notify(udev->dev, udev->virtio_id,
			  kept ? UVIRTIO_EVENT_KEPT : UVIRTIO_EVENT_RELEASED,
			  owner, 0);
	if (!kept)
		uvirtio_device_put(udev);
}
