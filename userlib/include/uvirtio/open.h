/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/open.h - open a device from one string, whatever its transport.
 *
 * The grammar, shared by the library, the uvirtio CLI and the fio engine:
 *
 *   BDF | pci:BDF       a PCI function through /dev/uvirtio (kernel module)
 *   vhost-user:PATH     a vhost-user back-end listening on unix socket PATH
 *   vhost-vdpa:PATH     a /dev/vhost-vdpa-N character device
 *   mmio:NAME           a virtio-mmio platform device bound to uvirtio
 *   vfio:BDF            a PCI function bound to vfio-pci
 *
 * BDF is [DOMAIN:]BUS:DEV.FN in hex.  Schemes this build cannot open yet
 * fail with -EPROTONOSUPPORT.  The backend returned works with
 * uvirtio_dev_open() and the device drivers; UVIRTIO_TRANSPORT_AUTO picks
 * the transport that fits it.
 *
 * Thread safety: the functions keep no state.
 */
#ifndef UVIRTIO_OPEN_H
#define UVIRTIO_OPEN_H

#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum uvirtio_scheme - the kinds of device string.
 * @UVIRTIO_SCHEME_PCI: BDF or pci:BDF.
 * @UVIRTIO_SCHEME_VHOST_USER: vhost-user:PATH.
 * @UVIRTIO_SCHEME_VHOST_VDPA: vhost-vdpa:PATH.
 * @UVIRTIO_SCHEME_MMIO: mmio:NAME.
 * @UVIRTIO_SCHEME_VFIO: vfio:BDF.
 */
enum uvirtio_scheme {
	UVIRTIO_SCHEME_PCI = 0,
	UVIRTIO_SCHEME_VHOST_USER,
	UVIRTIO_SCHEME_VHOST_VDPA,
	UVIRTIO_SCHEME_MMIO,
	UVIRTIO_SCHEME_VFIO,
};

/**
 * uvirtio_parse_devstr() - split a device string.
 * @devstr: the string.
 * @scheme: receives its enum uvirtio_scheme.
 * @arg: receives a pointer into @devstr: what follows the scheme prefix
 *	(the BDF, path or name).
 *
 * Checks the syntax only (a BDF must parse, a path or name must not be
 * empty); it opens nothing.
 * Return: 0 or -EINVAL.
 */
int uvirtio_parse_devstr(const char *devstr, enum uvirtio_scheme *scheme,
			 const char **arg);

/**
 * uvirtio_backend_open() - open the backend a device string names.
 * @devstr: see the grammar above.
 * @ctl_path: the module's control node for pci: and mmio: (NULL:
 *	"/dev/uvirtio").
 * @out: receives the backend; close it with uvirtio_backend_close().
 *
 * Return: 0, -EINVAL for a malformed string, -EPROTONOSUPPORT for a scheme
 * this build cannot open, or the errno of the scheme's open function
 * (uvirtio_kmod_open(), uvirtio_vhost_user_open(), uvirtio_vfio_open(),
 * ...).
 */
int uvirtio_backend_open(const char *devstr, const char *ctl_path,
			 struct uvirtio_backend **out);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_OPEN_H */
