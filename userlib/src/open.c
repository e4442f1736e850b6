// SPDX-License-Identifier: BSD-3-Clause
/*
 * open.c - the device string: one table of schemes, each with the
 * function that opens its backend.
 */
#include <errno.h>
#include <string.h>

#include <uvirtio/kmod.h>
#include <uvirtio/open.h>
#include <uvirtio/vfio.h>
#include <uvirtio/vhost_user.h>
#include <uvirtio/vhost_vdpa.h>

#include "util.h"

typedef int (*uv_open_fn)(const char *arg, const char *ctl_path,
			  struct uvirtio_backend **out);

static int open_pci(const char *arg, const char *ctl_path,
		    struct uvirtio_backend **out)
{
	return uvirtio_kmod_open(arg, ctl_path, out);
}

static int open_mmio(const char *arg, const char *ctl_path,
		     struct uvirtio_backend **out)
{
	return uvirtio_kmod_open_mmio(arg, ctl_path, out);
}

static int open_vhost_user(const char *arg, const char *ctl_path,
			   struct uvirtio_backend **out)
{
	(void)ctl_path;
	return uvirtio_vhost_user_open(arg, NULL, out);
}

static int open_vhost_vdpa(const char *arg, const char *ctl_path,
			   struct uvirtio_backend **out)
{
	(void)ctl_path;
	return uvirtio_vhost_vdpa_open(arg, out);
}

static int open_vfio(const char *arg, const char *ctl_path,
		     struct uvirtio_backend **out)
{
	(void)ctl_path;
	return uvirtio_vfio_open(arg, out);
}

static const struct {
	const char *prefix;
	enum uvirtio_scheme scheme;
	bool is_bdf;
	uv_open_fn open;	/* NULL: not in this build */
} schemes[] = {
	{ "pci:", UVIRTIO_SCHEME_PCI, true, open_pci },
	{ "vhost-user:", UVIRTIO_SCHEME_VHOST_USER, false, open_vhost_user },
	{ "vhost-vdpa:", UVIRTIO_SCHEME_VHOST_VDPA, false, open_vhost_vdpa },
	{ "mmio:", UVIRTIO_SCHEME_MMIO, false, open_mmio },
	{ "vfio:", UVIRTIO_SCHEME_VFIO, true, open_vfio },
};

static int lookup(const char *devstr, size_t *idx, const char **arg)
{
	struct uvirtio_pci_addr a;
	size_t i, n;

	if (!devstr || !*devstr)
		return -EINVAL;
	for (i = 0; i < UV_ARRAY_SIZE(schemes); i++) {
		n = strlen(schemes[i].prefix);
		if (!strncmp(devstr, schemes[i].prefix, n))
			break;
	}
	if (i == UV_ARRAY_SIZE(schemes)) {
		i = 0;		/* a bare BDF */
		n = 0;
	}
	*arg = devstr + n;
	if (!**arg)
		return -EINVAL;
	if (schemes[i].is_bdf && uvirtio_parse_pci_addr(*arg, &a))
		return -EINVAL;
	*idx = i;
	return 0;
}

UV_EXPORT int uvirtio_parse_devstr(const char *devstr,
				   enum uvirtio_scheme *scheme,
				   const char **arg)
{
	const char *a;
	size_t i;
	int ret = lookup(devstr, &i, &a);

	if (ret)
		return ret;
	if (scheme)
		*scheme = schemes[i].scheme;
	if (arg)
		*arg = a;
	return 0;
}

UV_EXPORT int uvirtio_backend_open(const char *devstr, const char *ctl_path,
				   struct uvirtio_backend **out)
{
	const char *arg;
	size_t i;
	int ret;

	if (!out)
		return -EINVAL;
	ret = lookup(devstr, &i, &arg);
	if (ret)
		return ret;
	if (!schemes[i].open)
		return -EPROTONOSUPPORT;
	return schemes[i].open(arg, ctl_path, out);
}
