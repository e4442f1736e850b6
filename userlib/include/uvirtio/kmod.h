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
 * Return: 0 or negative errno (-ENOSYS if the library was built without
 * the kernel UAPI header).
 */
int uvirtio_kmod_open(const char *pci_addr, const char *ctl_path,
		      struct uvirtio_backend **be);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_KMOD_H */
