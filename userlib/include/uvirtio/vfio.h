/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/vfio.h - backend on top of the kernel's vfio-pci driver.
 *
 * For hosts where the uvirtio kernel module cannot be loaded: the PCI
 * function is bound to vfio-pci (e.g. "uvirtio bind BDF --driver
 * vfio-pci") and driven through the VFIO type1 container interface
 * (/dev/vfio/vfio + /dev/vfio/GROUP), or through the device cdev and
 * iommufd (/dev/vfio/devices/vfioN + /dev/iommu) on kernels that have
 * them.  The device string is "vfio:BDF" (uvirtio/open.h).
 *
 * What the backend provides:
 *  - config space through the VFIO config region (pread/pwrite); the
 *    library decodes the virtio capabilities itself;
 *  - BARs mmap()ed where VFIO allows it (sparse areas honoured), pread/
 *    pwrite elsewhere;
 *  - DMA through the IOMMU: every allocation or mapping gets an IOVA from
 *    the ranges VFIO reports (never the MSI window 0xfee00000-0xfeefffff)
 *    and is pinned by VFIO_IOMMU_MAP_DMA.  The IOMMU mode is always
 *    UVIRTIO_BE_IOMMU_TRANSLATED, so the device must offer
 *    VIRTIO_F_ACCESS_PLATFORM (QEMU: iommu_platform=on);
 *  - MSI-X vectors as eventfds (all vectors are enabled at once, on the
 *    first request).  VFIO cannot steer an interrupt to a CPU: the @cpu
 *    argument of uvirtio_backend_irq_eventfd() is ignored.  A function
 *    without MSI-X gets INTx (VFIO_PCI_INTX_IRQ_INDEX) as vector 0 when
 *    VFIO masks it automatically (UVIRTIO_BE_IRQ_INTX; irq_mask is
 *    VFIO's mask/unmask); otherwise the library polls;
 *  - function reset with VFIO_DEVICE_RESET when the kernel offers one;
 *  - removal notification: VFIO's device request (unbind, hot-unplug)
 *    makes uvirtio_backend_remove_fd() readable.  The kernel waits for
 *    the device to be closed before it completes the unbind.
 *
 * VFIO's no-IOMMU mode (/dev/vfio/noiommu-N) is refused with -EPERM: DMA
 * would need physical addresses, which user space can only learn through
 * /proc/self/pagemap (CAP_SYS_ADMIN) for memory the kernel may still move,
 * and the device could write anywhere in RAM.  Use the kernel module's
 * explicit unsafe mode instead if that is really wanted.
 *
 * Privileges: opening /dev/vfio/GROUP needs write access to it (root, or a
 * udev rule giving the node to a user); pinned DMA memory counts against
 * RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK.
 *
 * Thread safety: the register and interrupt callbacks are thread-safe
 * (plain syscalls or MMIO); DMA allocation, mapping and unmapping take an
 * internal mutex.  uvirtio_vfio_group_blocker() keeps no state.
 */
#ifndef UVIRTIO_VFIO_H
#define UVIRTIO_VFIO_H

#include <stddef.h>
#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * uvirtio_vfio_open() - open a PCI function bound to vfio-pci.
 * @bdf: PCI address, "[DOMAIN:]BUS:DEV.FN" in hex.
 * @out: receives the backend; close it with uvirtio_backend_close().
 *
 * Every device of the function's IOMMU group must be bound to vfio-pci
 * (or to no driver, pci-stub or pcieport), and the group must not be open
 * in another process.
 *
 * Return: 0 or a negative errno:
 *  -EINVAL    @bdf or @out is NULL or @bdf does not parse;
 *  -ENODEV    no such PCI function, it has no IOMMU group, or VFIO says
 *             it is no PCI device;
 *  -ENXIO     the function is not bound to vfio-pci (no /dev/vfio/GROUP);
 *  -ENOENT    VFIO is not available (no /dev/vfio/vfio);
 *  -EACCES    no permission to open the VFIO nodes;
 *  -EPERM     the group is a no-IOMMU group (see above), or the kernel
 *             refused an operation;
 *  -EBUSY     the group is not viable: another device of the group is
 *             bound to a host driver (uvirtio_vfio_group_blocker() names
 *             it), or the group is already in use;
 *  -EPROTO    unknown VFIO API version;
 *  -EOPNOTSUPP the container has no type1v2 IOMMU;
 *  -EIO       the kernel returned inconsistent region or IOMMU data;
 *  -ENOSPC    the IOMMU reports no usable IOVA range;
 *  -ENOMEM    out of memory;
 *  or the errno of a failed VFIO ioctl.
 */
int uvirtio_vfio_open(const char *bdf, struct uvirtio_backend **out);

/**
 * enum uvirtio_vfio_flow - which VFIO interface to use.
 * @UVIRTIO_VFIO_AUTO: the type1 container when /dev/vfio/vfio exists,
 *	else the cdev flow when /dev/iommu exists.
 * @UVIRTIO_VFIO_TYPE1: /dev/vfio/vfio and /dev/vfio/GROUP.
 * @UVIRTIO_VFIO_CDEV: /dev/vfio/devices/vfioN bound to an iommufd IOAS
 *	(kernel 6.6+ with VFIO_DEVICE_CDEV and IOMMUFD).
 */
enum uvirtio_vfio_flow {
	UVIRTIO_VFIO_AUTO = 0,
	UVIRTIO_VFIO_TYPE1,
	UVIRTIO_VFIO_CDEV,
};

/**
 * uvirtio_vfio_open_flow() - uvirtio_vfio_open() with a chosen interface.
 * @bdf: PCI address.
 * @flow: enum uvirtio_vfio_flow.
 * @out: receives the backend.
 *
 * Return: as uvirtio_vfio_open() (-EINVAL also for an unknown @flow).
 * With UVIRTIO_VFIO_CDEV: -ENXIO when the function has no VFIO cdev (not
 * on vfio-pci, or a kernel without VFIO_DEVICE_CDEV), -ENOENT without
 * /dev/iommu, -EBUSY when the device is already open (the kernel's
 * -EINVAL for a second bind) or the group is not viable.
 */
int uvirtio_vfio_open_flow(const char *bdf, enum uvirtio_vfio_flow flow,
			   struct uvirtio_backend **out);

/**
 * uvirtio_vfio_group_blocker() - which device keeps a group non-viable?
 * @bdf: PCI address of a function in the group.
 * @out: receives "BDF DRIVER" of the first device of the group bound to a
 *	driver that VFIO does not accept (not vfio-pci or another vfio
 *	driver, pci-stub or pcieport), NUL-terminated.
 * @len: size of @out.
 *
 * Reads sysfs only; prints nothing.  For a CLI that wants to explain an
 * -EBUSY from uvirtio_vfio_open().
 *
 * Return: 0 when a blocker was found, -ENOENT when none is (the -EBUSY
 * then means the group is open elsewhere), -ENODEV when the function or
 * its group does not exist, -EINVAL for bad arguments, -ENAMETOOLONG
 * when @out is too small.
 */
int uvirtio_vfio_group_blocker(const char *bdf, char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_VFIO_H */
