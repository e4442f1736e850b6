/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/kmod.h - backend on top of the uvirtio kernel module.
 *
 * Thread safety: see uvirtio/backend.h; the kmod backend's register and
 * interrupt callbacks are thread-safe (they are plain syscalls or MMIO).
 */
#ifndef UVIRTIO_KMOD_H
#define UVIRTIO_KMOD_H

#include <stdint.h>
#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct uvirtio_pci_addr - PCI address.
 * @domain: PCI segment (domain).
 * @bus: bus number.
 * @dev: device (slot) number, 0..31.
 * @fn: function number, 0..7.
 */
struct uvirtio_pci_addr {
	uint16_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
};

/**
 * uvirtio_parse_pci_addr() - parse "DDDD:BB:DD.F" or "BB:DD.F".
 * @str: the address, in hexadecimal.
 * @addr: receives it.
 * Return: 0 or -EINVAL.
 */
int uvirtio_parse_pci_addr(const char *str, struct uvirtio_pci_addr *addr);

/**
 * uvirtio_kmod_open() - open a PCI function through /dev/uvirtio.
 * @pci_addr: e.g. "0000:00:04.0".
 * @ctl_path: control node (NULL: "/dev/uvirtio").
 * @be: receives the backend.
 *
 * Interrupts: every MSI-X vector of the function, enabled at open; a
 * function without MSI-X, or whose vectors cannot be had, gets its INTx
 * line instead (UVIRTIO_BE_IRQ_INTX, masked by the module at each
 * interrupt); without either the library polls.
 * Return: 0 or negative errno (-ENOSYS if the library was built without
 * the kernel UAPI header).
 */
int uvirtio_kmod_open(const char *pci_addr, const char *ctl_path,
		      struct uvirtio_backend **be);

/**
 * uvirtio_kmod_open_mmio() - open a virtio-mmio device through /dev/uvirtio.
 * @name: its platform device name, e.g. "LNRO0005:00" (as under
 *	/sys/bus/platform/devices), bound to uvirtio by driver_override.
 * @ctl_path: control node (NULL: "/dev/uvirtio").
 * @be: receives the backend.  Its BAR 0 is the register window
 *	(pread/pwrite only); it has no PCI config space, so the "mmio"
 *	and "mmio-legacy" transports take it, and one wired interrupt
 *	(UVIRTIO_BE_IRQ_WIRED) that serves every queue.  Without the module's allow_unsafe_noiommu the device
 *	can do no DMA: opening works, DMA allocation fails with -EPERM.
 * Return: 0 or negative errno: -EINVAL for an empty name or one of 64
 * bytes or more, -EOPNOTSUPP if the module predates virtio-mmio, -ENODEV
 * if no such device is bound to uvirtio, -ENOSYS as uvirtio_kmod_open().
 */
int uvirtio_kmod_open_mmio(const char *name, const char *ctl_path,
			   struct uvirtio_backend **be);

/**
 * uvirtio_kmod_reattach() - take over a device a previous owner kept alive.
 * @pci_addr: e.g. "0000:00:04.0".
 * @token: what uvirtio_backend_keepalive() gave the previous owner.
 * @ctl_path: control node (NULL: "/dev/uvirtio").
 * @be: receives the backend.
 *
 * The device is not reset: it runs on with the requests the previous
 * owner left in flight.  The backend comes up with the interrupt vectors
 * the previous owner enabled (an interrupt that arrived in between is
 * signalled on the vector's eventfd once it is set) and with every DMA
 * allocation the previous owner held, mapped and registered for
 * translation, to be claimed with uvirtio_backend_restored() and
 * uvirtio_backend_restored_state().  Keep-alive is disarmed: arm it
 * again for the next restart.  If this call fails after the module
 * accepted the token, the device is released and reset.
 * Return: 0 or negative errno: -ENOENT if the device is not kept alive
 * (never was, its deadline passed, someone re-attached first), -EACCES
 * for a wrong @token, -EINVAL for a zero @token, -EOPNOTSUPP if the
 * module predates keep-alive, -ENOSYS as uvirtio_kmod_open().
 */
int uvirtio_kmod_reattach(const char *pci_addr, uint64_t token,
			  const char *ctl_path, struct uvirtio_backend **be);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_KMOD_H */
