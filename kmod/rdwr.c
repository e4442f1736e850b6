// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: pread()/pwrite() of the device fd - one naturally aligned
 * access of 1, 2, 4 or 8 bytes to a BAR or to config space (config.c
 * says which config writes are allowed, irq.c applies Bus Master
 * Enable).  The user copy happens outside the device mutex.  A
 * virtio-mmio device has region 0 only, handled by mmio.c.
 */
#include <kunit/visibility.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/uaccess.h>

#include "uvirtio.h"

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
 * uvirtio_config_rw() - one pread()/pwrite() access to config space
 * @udev: the device
 * @off: offset in config space
 * @count: width (1, 2 or 4)
 * @v: the value read or to write
 * @write: write instead of read
 *
 * Context: @udev->lock held, the device present.
 * Return: 0, -EINVAL for a bad access, -EPERM for a refused write, or the
 * PCI accessor's error.
 */
static int uvirtio_config_rw(struct uvirtio_device *udev, u64 off,
			     size_t count, union uvirtio_access *v, bool write)
{
	struct pci_dev *pdev = udev->pdev;
	u16 cmd;
	int ret;

	ret = uvirtio_check_access(pdev->cfg_size, off, count, false);
	if (ret)
		return ret;
	if (write) {
		ret = pci_read_config_word(pdev, PCI_COMMAND, &cmd);
		if (ret)
			return pcibios_err_to_errno(ret);
		/* A device that must not DMA never gets bus mastering. */
		ret = uvirtio_cfg_write_check(off, count,
					      count == 1 ? v->b :
					      count == 2 ? v->w : v->l, cmd,
					      udev->iommu_mode !=
					      UVIRTIO_IOMMU_NONE);
		if (ret)
			return ret;
		/*
		 * An allowed write can change nothing but Bus Master Enable,
		 * so apply just that bit.  Writing back the rest of the
		 * command register as user space read it would race with
		 * the INTx handler's auto-mask (INTx Disable).
		 */
		if (off == PCI_COMMAND)
			uvirtio_irq_set_master(udev, (count == 1 ? v->b : v->w) &
					       PCI_COMMAND_MASTER);
		return 0;
	}
	if (count == 1)
		ret = pci_user_read_config_byte(pdev, off, &v->b);
	else if (count == 2)
		ret = pci_user_read_config_word(pdev, off, &v->w);
	else
		ret = pci_user_read_config_dword(pdev, off, &v->l);
	return ret ? pcibios_err_to_errno(ret) : 0;
}

static int uvirtio_bar_rw(struct uvirtio_device *udev, unsigned int bar,
			  u64 off, size_t count, union uvirtio_access *v,
			  bool write)
{
	bool mem = udev->bar_flags[bar] & IORESOURCE_MEM;
	void __iomem *addr;
	int ret;

	if (!udev->bar_len[bar] || !udev->bar_map[bar])
		return -EINVAL;
	ret = uvirtio_check_access(udev->bar_len[bar], off, count, mem);
	if (ret)
		return ret;
	if (uvirtio_ranges_overlap(off, count, udev->msix_start[bar],
				   udev->msix_end[bar] - udev->msix_start[bar])) {
		/* The MSI-X table is the kernel's: hidden, read-only. */
		if (write)
			return -EPERM;
		memset(v, 0xff, sizeof(*v));
		return 0;
	}
	/*
	 * The legacy interface programs physical queue addresses, which no
	 * IOMMU translates: not on a device whose DMA is contained.
	 */
	if (write && bar == 0 && udev->legacy &&
	    udev->iommu_mode == UVIRTIO_IOMMU_TRANSLATED)
		return -EPERM;

	addr = udev->bar_map[bar] + off;
	switch (count) {
	case 1:
		if (write)
			iowrite8(v->b, addr);
		else
			v->b = ioread8(addr);
		break;
	case 2:
		if (write)
			iowrite16(v->w, addr);
		else
			v->w = ioread16(addr);
		break;
	case 4:
		if (write)
			iowrite32(v->l, addr);
		else
			v->l = ioread32(addr);
		break;
	default:
#ifdef CONFIG_64BIT
		if (write)
			writeq(v->q, addr);
		else
			v->q = readq(addr);
		break;
#else
		return -EINVAL;
#endif
	}
	return 0;
}

static ssize_t uvirtio_device_rw(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos, bool write)
{
	struct uvirtio_device *udev = file->private_data;
	u64 pos = *ppos;
	u64 index = pos >> UVIRTIO_OFFSET_SHIFT;
	u64 off = pos & UVIRTIO_OFFSET_MASK;
	union uvirtio_access v = {};
	int ret;

	if (count > sizeof(v))
		return -EINVAL;
	if (write && copy_from_user(&v, ubuf, count))
		return -EFAULT;

	mutex_lock(&udev->lock);
	if (udev->dead)
		ret = -ENODEV;
	else if (uvirtio_is_mmio(udev))
		ret = index ? -EINVAL :
			      uvirtio_mmio_rw(udev, off, count, &v, write);
	else if (index == UVIRTIO_REGION_CONFIG)
		ret = uvirtio_config_rw(udev, off, count, &v, write);
	else if (index < UVIRTIO_NUM_BARS)
		ret = uvirtio_bar_rw(udev, index, off, count, &v, write);
	else
		ret = -EINVAL;
	mutex_unlock(&udev->lock);
	if (ret)
		return ret;

	if (!write && copy_to_user(ubuf, &v, count))
		return -EFAULT;
	*ppos += count;
	return count;
}

/**
 * uvirtio_device_read() - pread() of the device fd: config space or a BAR
 * @file: the device fd
 * @ubuf: user buffer
 * @count: width of the one access (1, 2, 4 or 8)
 * @ppos: file offset: region index and offset (UVIRTIO_REGION_OFFSET())
 *
 * Return: @count, or a negative errno.
 */
ssize_t uvirtio_device_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	return uvirtio_device_rw(file, ubuf, count, ppos, false);
}

/**
 * uvirtio_device_write() - pwrite() of the device fd: config space or a BAR
 * @file: the device fd
 * @ubuf: user buffer
 * @count: width of the one access (1, 2, 4 or 8)
 * @ppos: file offset: region index and offset (UVIRTIO_REGION_OFFSET())
 *
 * Return: @count, or a negative errno.
 */
ssize_t uvirtio_device_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	return uvirtio_device_rw(file, (char __user *)ubuf, count, ppos, true);
}
