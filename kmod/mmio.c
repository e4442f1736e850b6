// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: the virtio-mmio platform driver.  Like the PCI driver it binds
 * only to devices whose driver_override names it, so it never takes a
 * device from virtio_mmio.
 *
 * A virtio-mmio device is one register window (0x200 bytes on QEMU) and
 * one wired interrupt.  The window usually shares its page with other
 * devices' windows, so it is never mmap()ed: user space reaches it with
 * pread()/pwrite() of region 0 only (uvirtio_mmio_rw()).  There is no
 * IOMMU and no bus-master switch: a device fd without allow_unsafe_noiommu
 * is in the NONE regime, and there the writes that would hand the device
 * a ring address are refused (uvirtio_mmio_write_check()), so the device
 * can never be told where memory is.  With allow_unsafe_noiommu the fd is
 * UNSAFE, as for PCI: physical addresses, tainted kernel.
 */
#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/virtio_mmio.h>

#include "compat.h"
#include "uvirtio.h"

#define UVIRTIO_DRV_NAME		"uvirtio"
/* "virt" in little-endian */
#define UVIRTIO_MMIO_MAGIC		0x74726976
#define UVIRTIO_MMIO_RESET_POLL_US	1000
#define UVIRTIO_MMIO_RESET_TIMEOUT_US	(1000 * 1000)

static struct platform_driver uvirtio_mmio_driver;

/**
 * uvirtio_mmio_write_check() - may user space write this MMIO register?
 * @off: offset in the register window
 * @count: access width in bytes (already checked: 1, 2 or 4, aligned)
 * @val: the value to write
 * @allow_dma: the device fd may do DMA (UNSAFE regime)
 *
 * The registers (below VIRTIO_MMIO_CONFIG) are 32 bits wide and take
 * only 32-bit accesses.  Without DMA, the writes that give the device a
 * ring address are refused: QueueDesc, QueueDriver (QueueAvail) and
 * QueueDevice (QueueUsed), low and high halves, whatever the value (two
 * halves make an address); a non-zero QueuePFN (0 stops a legacy queue);
 * a non-zero QueueReady.  Device config (from VIRTIO_MMIO_CONFIG on)
 * takes any width.
 *
 * Return: 0, -EINVAL for a register access that is not 32 bits wide,
 * -EPERM for a refused write.
 */
VISIBLE_IF_KUNIT int uvirtio_mmio_write_check(unsigned int off, size_t count,
					      u32 val, bool allow_dma)
{
	if (off >= VIRTIO_MMIO_CONFIG)
		return 0;
	if (count != 4)
		return -EINVAL;
	if (allow_dma)
		return 0;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return -EPERM;
	case VIRTIO_MMIO_QUEUE_PFN:
	case VIRTIO_MMIO_QUEUE_READY:
		return val ? -EPERM : 0;
	default:
		return 0;
	}
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_mmio_write_check);

/**
 * uvirtio_mmio_rw() - one pread()/pwrite() access to the register window
 * @udev: the device, virtio-mmio
 * @off: offset in the window
 * @count: width (1, 2 or 4; registers below 0x100 only 4)
 * @v: the value read or to write
 * @write: write instead of read
 *
 * Context: @udev->lock held, the device present.
 * Return: 0, -EINVAL for a bad access, -EPERM for a refused write (see
 * uvirtio_mmio_write_check()).
 */
int uvirtio_mmio_rw(struct uvirtio_device *udev, u64 off, size_t count,
		    union uvirtio_access *v, bool write)
{
	void __iomem *addr;
	u32 val;
	int ret;

	lockdep_assert_held(&udev->lock);
	ret = uvirtio_check_access(udev->bar_len[0], off, count, false);
	if (ret)
		return ret;
	if (off < VIRTIO_MMIO_CONFIG && count != 4)
		return -EINVAL;
	if (write) {
		val = count == 1 ? v->b : count == 2 ? v->w : v->l;
		ret = uvirtio_mmio_write_check(off, count, val,
					       udev->iommu_mode !=
					       UVIRTIO_IOMMU_NONE);
		if (ret)
			return ret;
	}
	addr = udev->bar_map[0] + off;
	switch (count) {
	case 1:
		if (write)
			writeb(v->b, addr);
		else
			v->b = readb(addr);
		break;
	case 2:
		if (write)
			writew(v->w, addr);
		else
			v->w = readw(addr);
		break;
	default:
		if (write)
			writel(v->l, addr);
		else
			v->l = readl(addr);
		break;
	}
	return 0;
}

/**
 * uvirtio_mmio_reset() - reset a virtio-mmio device and wait for it
 * @udev: the device, virtio-mmio, with its window mapped
 *
 * Writes 0 to Status.  A version 2 device is polled until Status reads
 * back 0, for at most one second; for a legacy device the reset is done
 * once the write is, which the read-back flushes.
 *
 * Context: process context, @udev->lock held.
 * Return: 0, -ETIMEDOUT, or -EOPNOTSUPP once the window is gone.
 */
int uvirtio_mmio_reset(struct uvirtio_device *udev)
{
	void __iomem *status;
	u32 val;

	lockdep_assert_held(&udev->lock);
	if (!udev->bar_map[0])
		return -EOPNOTSUPP;
	status = udev->bar_map[0] + VIRTIO_MMIO_STATUS;
	writel(0, status);
	if (udev->mmio_version == 1) {
		readl(status);
		return 0;
	}
	return read_poll_timeout(readl, val, !val, UVIRTIO_MMIO_RESET_POLL_US,
				 UVIRTIO_MMIO_RESET_TIMEOUT_US, false, status);
}

/* Check what the window says it is; fill in the device's identity. */
static int uvirtio_mmio_identify(struct uvirtio_device *udev)
{
	void __iomem *base = udev->bar_map[0];
	u32 magic, version, id;

	magic = readl(base + VIRTIO_MMIO_MAGIC_VALUE);
	if (magic != UVIRTIO_MMIO_MAGIC) {
		dev_warn(udev->dev, "bad magic value %#x\n", magic);
		return -ENODEV;
	}
	version = readl(base + VIRTIO_MMIO_VERSION);
	if (version != 1 && version != 2) {
		dev_warn(udev->dev, "unsupported virtio-mmio version %u\n",
			 version);
		return -ENODEV;
	}
	/* Device ID 0 is a placeholder: there is no device behind it. */
	id = readl(base + VIRTIO_MMIO_DEVICE_ID);
	if (!id)
		return -ENODEV;
	udev->mmio_version = version;
	udev->virtio_id = id;
	return 0;
}

static int uvirtio_mmio_probe(struct platform_device *plat)
{
	struct uvirtio_device *udev;
	struct resource *res;
	int irq, ret;

	/* Only ever bind when an administrator asked for it explicitly. */
	if (!uvirtio_platform_override_is(plat, &uvirtio_mmio_driver))
		return -ENODEV;
	res = platform_get_resource(plat, IORESOURCE_MEM, 0);
	if (!res || resource_size(res) <= VIRTIO_MMIO_CONFIG)
		return -ENODEV;
	irq = platform_get_irq_optional(plat, 0);
	if (irq == -EPROBE_DEFER)
		return irq;

	udev = uvirtio_device_alloc();
	if (IS_ERR(udev)) {
		ret = PTR_ERR(udev);
		goto err_notify;
	}
	get_device(&plat->dev);
	udev->plat = plat;
	udev->dev = &plat->dev;
	udev->transport = UVIRTIO_DEVICE_TRANSPORT_MMIO;
	udev->mmio_irq = irq > 0 ? irq : 0;

	if (!request_mem_region(res->start, resource_size(res),
				UVIRTIO_DRV_NAME)) {
		ret = -EBUSY;
		goto err_put;
	}
	udev->bar_map[0] = ioremap(res->start, resource_size(res));
	if (!udev->bar_map[0]) {
		ret = -ENOMEM;
		goto err_release;
	}
	udev->bar_len[0] = resource_size(res);
	udev->bar_flags[0] = IORESOURCE_MEM;
	ret = uvirtio_mmio_identify(udev);
	if (ret)
		goto err_unmap;
	/* The device must not run until someone owns it. */
	writel(0, udev->bar_map[0] + VIRTIO_MMIO_STATUS);
	/*
	 * uvirtio never uses the DMA API, but the mask is reported to user
	 * space: a legacy device takes 32-bit page frame numbers.
	 */
	ret = dma_coerce_mask_and_coherent(&plat->dev,
					   udev->mmio_version == 1 ?
					   DMA_BIT_MASK(32 + PAGE_SHIFT) :
					   DMA_BIT_MASK(64));
	if (ret)
		goto err_unmap;

	platform_set_drvdata(plat, udev);
	uvirtio_debugfs_add(udev);
	mutex_lock(&uvirtio_devices_lock);
	list_add_tail(&udev->node, &uvirtio_devices);
	mutex_unlock(&uvirtio_devices_lock);
	dev_info(&plat->dev, "bound to uvirtio (virtio-mmio v%u, virtio type %u, irq %u)\n",
		 udev->mmio_version, udev->virtio_id, udev->mmio_irq);
	uvirtio_nl_notify(&plat->dev, udev->virtio_id, UVIRTIO_EVENT_BOUND,
			  0, 0);
	return 0;

err_unmap:
	iounmap(udev->bar_map[0]);
	udev->bar_map[0] = NULL;
err_release:
	release_mem_region(res->start, resource_size(res));
err_put:
	/* Frees the inode and the page and drops the device reference. */
	uvirtio_device_put(udev);
err_notify:
	/* Every failure of a device meant for uvirtio is an event. */
	uvirtio_nl_notify(&plat->dev, 0, UVIRTIO_EVENT_ERROR, 0, ret);
	return ret;
}

static void uvirtio_mmio_remove(struct platform_device *plat)
{
	struct uvirtio_device *udev = platform_get_drvdata(plat);
	struct resource *res = platform_get_resource(plat, IORESOURCE_MEM, 0);
	pid_t owner = 0;

	/* First, so no stats reader runs into a half torn-down device. */
	debugfs_remove_recursive(udev->debugfs);

	mutex_lock(&uvirtio_devices_lock);
	list_del(&udev->node);
	mutex_unlock(&uvirtio_devices_lock);

	/*
	 * As for PCI: do not wait for the owner.  Revoke, then reset the
	 * device and free what the owner held (the IRQ goes before the
	 * window its handler reads); release() later frees the rest.
	 */
	mutex_lock(&udev->lock);
	uvirtio_device_revoke(udev);
	/* Never kept alive: that needs an IOMMU domain, which MMIO lacks. */
	if (udev->owner) {
		owner = pid_nr(udev->owner_pid);
		dev_info(&plat->dev, "removed while open by pid %d\n", owner);
		uvirtio_device_teardown(udev, true);
	}
	iounmap(udev->bar_map[0]);
	udev->bar_map[0] = NULL;
	mutex_unlock(&udev->lock);

	if (owner)
		uvirtio_nl_notify(&plat->dev, udev->virtio_id,
				  UVIRTIO_EVENT_REMOVED, owner, 0);
	uvirtio_nl_notify(&plat->dev, udev->virtio_id, UVIRTIO_EVENT_UNBOUND,
			  0, 0);

	release_mem_region(res->start, resource_size(res));
	platform_set_drvdata(plat, NULL);
	uvirtio_device_put(udev);
}

/*
 * No id table, no MODULE_DEVICE_TABLE(): the driver matches nothing by
 * itself and binds only where driver_override names it (the platform bus
 * honours it before any table).
 */
static struct platform_driver uvirtio_mmio_driver = {
	.driver = {
		.name = UVIRTIO_DRV_NAME,
	},
	.probe = uvirtio_mmio_probe,
	.remove_new = uvirtio_mmio_remove,
	/* No kernel DMA API use (see pci.c). */
	.driver_managed_dma = true,
};

/**
 * uvirtio_mmio_register() - register the virtio-mmio platform driver
 *
 * Return: 0 or a negative errno.
 */
int uvirtio_mmio_register(void)
{
	return platform_driver_register(&uvirtio_mmio_driver);
}

/**
 * uvirtio_mmio_unregister() - unregister the virtio-mmio platform driver
 *
 * Calls remove() for every bound device.
 */
void uvirtio_mmio_unregister(void)
{
	platform_driver_unregister(&uvirtio_mmio_driver);
}
