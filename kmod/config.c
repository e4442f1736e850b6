// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: the config-space rules.  User space reads all of config space
 * and writes one bit of it: Bus Master Enable, and sets it only where the
 * device may do DMA (see kmod/iommu.c).
 */
#include <kunit/visibility.h>
#include <linux/pci.h>

#include "uvirtio.h"

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
int uvirtio_config_rw(struct uvirtio_device *udev, u64 off, size_t count,
		      union uvirtio_access *v, bool write)
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
