// SPDX-License-Identifier: BSD-3-Clause
/*
 * fake_uapi.c - LD_PRELOAD shim that plays /dev/uvirtio for the CLI's host
 * tests (tools/test-cli.sh), so that `info` and the owner column of `list`
 * can be exercised without the module.
 *
 * The control node is the path in FAKE_UAPI_CTL.  The fake knows one bound
 * function, 0001:02:00.0, a modern virtio-blk owned by pid 4242 in the
 * device list (UVIRTIO_DEVICE_OPEN still succeeds, as if the owner had just
 * closed it), with its common configuration in BAR 4.  Offered features:
 * SIZE_MAX SEG_MAX BLK_SIZE FLUSH | VERSION_1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/uvirtio.h>

#define FAKE_ADDR	UVIRTIO_PCI_ADDR(1, 2, 0, 0)
#define COMMON_BAR	4
#define COMMON_OFF	0x1000

static int ctl_fd = -1, dev_fd = -1;
static uint32_t dfselect;
static uint8_t status;

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int ioctl(int fd, unsigned long req, ...);
ssize_t pread(int fd, void *buf, size_t n, off_t off);
ssize_t pread64(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off);

static int real_open(const char *path, int flags, mode_t mode)
{
	int (*fn)(const char *, int, ...) =
		(int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");

	return fn(path, flags, mode);
}

static int do_open(const char *path, int flags, mode_t mode)
{
	const char *ctl = getenv("FAKE_UAPI_CTL");

	if (ctl && !strcmp(path, ctl)) {
		ctl_fd = real_open("/dev/null", O_RDWR, 0);
		return ctl_fd;
	}
	return real_open(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return do_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return do_open(path, flags, mode);
}

static void fill_entry(struct uvirtio_device_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->pci_addr = FAKE_ADDR;
	e->flags = UVIRTIO_DEVICE_ENTRY_OWNED;
	e->vendor = 0x1af4;
	e->device = 0x1009;
	e->subsystem_vendor = 0x1af4;
	e->subsystem_device = 9;
	e->virtio_id = 9;
	e->owner_pid = 4242;
}

static int ctl_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case UVIRTIO_GET_API_VERSION: {
		struct uvirtio_api_version *v = arg;

		v->version = UVIRTIO_API_VERSION;
		v->caps = UVIRTIO_CAP_DMA_MAP | UVIRTIO_CAP_MSIX;
		return 0;
	}
	case UVIRTIO_LIST_DEVICES: {
		struct uvirtio_list_devices *l = arg;

		if (l->count >= 1)
			fill_entry((struct uvirtio_device_entry *)(uintptr_t)l->entries);
		l->count = 1;
		return 0;
	}
	case UVIRTIO_DEVICE_OPEN: {
		struct uvirtio_device_open *o = arg;

		if (o->pci_addr != FAKE_ADDR) {
			errno = ENODEV;
			return -1;
		}
		dev_fd = real_open("/dev/null", O_RDWR, 0);
		o->fd = dev_fd;
		return 0;
	}
	}
	errno = ENOTTY;
	return -1;
}

static int dev_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case UVIRTIO_DEVICE_GET_INFO: {
		struct uvirtio_device_info *d = arg;

		d->flags = UVIRTIO_DEVICE_INFO_MODERN | UVIRTIO_DEVICE_INFO_INTX;
		d->pci_addr = FAKE_ADDR;
		d->virtio_id = 2;
		d->vendor = 0x1af4;
		d->device = 0x1042;
		d->subsystem_vendor = 0x1af4;
		d->subsystem_device = 0x1100;
		d->revision = 1;
		d->num_regions = UVIRTIO_NUM_REGIONS;
		d->num_msix = 2;
		d->iommu_mode = UVIRTIO_IOMMU_UNSAFE;
		d->untranslated = UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM;
		d->max_dma_mappings = 65535;
		d->dma_mask = ~0ULL;
		d->caps[UVIRTIO_VCAP_COMMON] = (struct uvirtio_virtio_cap){
			1, COMMON_BAR, 0x84, COMMON_OFF, 0x38, 0 };
		d->caps[UVIRTIO_VCAP_NOTIFY] = (struct uvirtio_virtio_cap){
			1, COMMON_BAR, 0x70, 0x3000, 0x1000, 4 };
		return 0;
	}
	case UVIRTIO_REGION_GET_INFO: {
		struct uvirtio_region_info *r = arg;

		r->offset = UVIRTIO_REGION_OFFSET(r->index);
		if (r->index == COMMON_BAR) {
			r->region_size = 0x4000;
			r->flags = UVIRTIO_REGION_INFO_READ |
				   UVIRTIO_REGION_INFO_WRITE |
				   UVIRTIO_REGION_INFO_MMAP |
				   UVIRTIO_REGION_INFO_MEM64;
		} else if (r->index == 1) {
			r->region_size = 0x1000;
			r->flags = UVIRTIO_REGION_INFO_READ |
				   UVIRTIO_REGION_INFO_MSIX;
			r->msix_start = 0;
			r->msix_end = 0x1000;
		} else if (r->index == UVIRTIO_REGION_CONFIG) {
			r->region_size = 0x1000;
			r->flags = UVIRTIO_REGION_INFO_READ |
				   UVIRTIO_REGION_INFO_WRITE;
		}
		return 0;
	}
	case UVIRTIO_DEVICE_RESET:
		status = 0;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

int ioctl(int fd, unsigned long req, ...)
{
	int (*fn)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd == ctl_fd)
		return ctl_ioctl(req, arg);
	if (fd >= 0 && fd == dev_fd)
		return dev_ioctl(req, arg);
	fn = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return fn(fd, req, arg);
}

static const uint64_t common_base =
	UVIRTIO_REGION_OFFSET(COMMON_BAR) + COMMON_OFF;

static ssize_t dev_pread(void *buf, size_t n, off_t off)
{
	uint32_t v = 0;

	if ((uint64_t)off == common_base + 0x04 && n == 4)
		v = dfselect == 0 ? 0x00000246 : dfselect == 1 ? 0x1 : 0;
	else if ((uint64_t)off == common_base + 0x14 && n == 1)
		v = status;
	else {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, &v, n);
	return (ssize_t)n;
}

static ssize_t dev_pwrite(const void *buf, size_t n, off_t off)
{
	if ((uint64_t)off == common_base && n == 4) {
		memcpy(&dfselect, buf, 4);
	} else if ((uint64_t)off == common_base + 0x14 && n == 1) {
		uint8_t s;

		memcpy(&s, buf, 1);
		/* The driver must have reset and acknowledged first. */
		if (s == 3 && status != 1) {
			errno = EIO;
			return -1;
		}
		status = s;
	} else {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)n;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t (*fn)(int, void *, size_t, off_t);

	if (fd >= 0 && fd == dev_fd)
		return dev_pread(buf, n, off);
	fn = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
	return fn(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t (*fn)(int, const void *, size_t, off_t);

	if (fd >= 0 && fd == dev_fd)
		return dev_pwrite(buf, n, off);
	fn = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT,
								  "pwrite");
	return fn(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}
