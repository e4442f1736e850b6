// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: the config-space rules.  User space reads all of config space
 * and writes one bit of it: Bus Master Enable, and sets it only where the
 * device may do DMA (see kmod/iommu.c).  The accesses themselves are in
 * rdwr.c.
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
