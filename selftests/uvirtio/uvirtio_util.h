/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the uvirtio selftests: find virtio PCI functions in
 * sysfs, move them between drivers with driver_override, and small
 * wrappers around /dev/uvirtio.
 */
#ifndef UVIRTIO_SELFTEST_UTIL_H
#define UVIRTIO_SELFTEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/uvirtio.h>

#define UV_VIRTIO_VENDOR	0x1af4
#define UV_SYSFS_PCI		"/sys/bus/pci/devices"
#define UV_DBG			"/sys/kernel/debug/"

/* ioctl must fail with errno @e */
#define EXPECT_ERRNO(e, call) ({			\
	EXPECT_EQ(-1, (call));				\
	EXPECT_EQ((e), errno);				\
})
#define ASSERT_ERRNO(e, call) ({			\
	ASSERT_EQ(-1, (call));				\
	ASSERT_EQ((e), errno);				\
})

/* strlcpy-alike: copy @src into @dst of @len bytes, NUL-terminated */
static inline void uv_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Read a small file into @buf, NUL-terminated.  0 or -1. */
static inline int uv_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static inline int uv_read_sysfs(const char *bdf, const char *attr, char *buf,
				size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), UV_SYSFS_PCI "/%s/%s", bdf, attr);
	return uv_read_file(path, buf, len);
}

static inline long uv_read_hex(const char *bdf, const char *attr)
{
	char buf[64];

	if (uv_read_sysfs(bdf, attr, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 16);
}

static inline int uv_write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Name of the driver @bdf is bound to, or "" */
static inline void uv_driver_of(const char *bdf, char *name, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	char *slash;

	snprintf(path, sizeof(path), UV_SYSFS_PCI "/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	name[0] = 0;
	if (n < 0)
		return;
	link[n] = 0;
	slash = strrchr(link, '/');
	uv_copy(name, len, slash ? slash + 1 : link);
}

/* Virtio type of a virtio PCI function, or -1 */
static inline int uv_virtio_type(const char *bdf)
{
	long vendor = uv_read_hex(bdf, "vendor");
	long device = uv_read_hex(bdf, "device");

	if (vendor != UV_VIRTIO_VENDOR)
		return -1;
	if (device >= 0x1040 && device <= 0x107f)
		return device - 0x1040;
	if (device >= 0x1000 && device <= 0x103f)
		return uv_read_hex(bdf, "subsystem_device");
	return -1;
}

/*
 * Find a function of virtio @type.  @modern: -1 any, 1 only modern ids
 * (0x1040+), 0 only transitional ones.  Returns 0 and fills @bdf.
 */
static inline int uv_find_device(int type, int modern, char *bdf, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(UV_SYSFS_PCI);
	int ret = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		long device;

		if (de->d_name[0] == '.')
			continue;
		if (uv_virtio_type(de->d_name) != type)
			continue;
		device = uv_read_hex(de->d_name, "device");
		if (modern == 1 && device < 0x1040)
			continue;
		if (modern == 0 && device >= 0x1040)
			continue;
		uv_copy(bdf, len, de->d_name);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

static inline int uv_set_override(const char *bdf, const char *drv)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), UV_SYSFS_PCI "/%s/driver_override", bdf);
	return uv_write_file(path, drv);
}

static inline int uv_unbind(const char *bdf)
{
	char path[PATH_MAX], drv[64];

	uv_driver_of(bdf, drv, sizeof(drv));
	if (!drv[0])
		return 0;
	snprintf(path, sizeof(path), UV_SYSFS_PCI "/%s/driver/unbind", bdf);
	return uv_write_file(path, bdf);
}

static inline int uv_probe(const char *bdf)
{
	/* drivers_probe fails (harmlessly) when no driver takes it */
	uv_write_file("/sys/bus/pci/drivers_probe", bdf);
	return 0;
}

/* Hand @bdf to uvirtio.  Returns 0 if it ends up bound to uvirtio. */
static inline int uv_claim(const char *bdf)
{
	char drv[64];

	uv_driver_of(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "uvirtio"))
		return 0;
	if (uv_set_override(bdf, "uvirtio") || uv_unbind(bdf))
		return -1;
	uv_probe(bdf);
	uv_driver_of(bdf, drv, sizeof(drv));
	return strcmp(drv, "uvirtio") ? -1 : 0;
}

/* Give @bdf back to whatever driver the kernel picks (virtio-pci). */
static inline int uv_give_back(const char *bdf)
{
	if (uv_set_override(bdf, "\n") || uv_unbind(bdf))
		return -1;
	return uv_probe(bdf);
}

static inline unsigned int uv_pci_addr(const char *bdf)
{
	unsigned int dom, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return ~0U;
	return UVIRTIO_PCI_ADDR(dom, bus, dev, fn);
}

/* Open the device fd of @bdf through a fresh control fd; -1 + errno */
static inline int uv_open_device(const char *bdf)
{
	struct uvirtio_device_open op = {
		.size = sizeof(op),
		.pci_addr = uv_pci_addr(bdf),
	};
	int ctl = open("/dev/uvirtio", O_RDWR), ret, err;

	if (ctl < 0)
		return -1;
	ret = ioctl(ctl, UVIRTIO_DEVICE_OPEN, &op);
	err = errno;
	close(ctl);
	errno = err;
	return ret ? -1 : op.fd;
}

/* Exact /proc/vmstat value: fold the per-CPU deltas first. */
static inline long uv_vmstat(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f;

	uv_write_file("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			val = atol(line + klen + 1);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Monotonic time in seconds. */
static inline double uv_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep @us microseconds, through signals. */
static inline void uv_sleep_us(uint64_t us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Pins are released when the device fd's last reference goes, which for
 * a killed process may be a little after waitpid() returns: retry for up
 * to two seconds.  *@waited (if given) is how long it took, 0 when
 * balanced at the first look.  Returns acquired - released.
 */
static inline long uv_pins_settle(double *waited)
{
	double t0 = uv_now_s();
	long d = 0;
	int i;

	for (i = 0; i < 200; i++) {
		d = uv_vmstat("nr_foll_pin_acquired") -
		    uv_vmstat("nr_foll_pin_released");
		if (!d)
			break;
		uv_sleep_us(10000);
	}
	if (waited)
		*waited = i ? uv_now_s() - t0 : 0;
	return d;
}

/* Drop @caps (CAP_* numbers, -1 terminated) from the effective set. */
static inline int uv_drop_caps(const int *caps)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	for (; *caps >= 0; caps++) {
		data[*caps / 32].effective &= ~(1U << (*caps % 32));
		data[*caps / 32].permitted &= ~(1U << (*caps % 32));
	}
	return syscall(SYS_capset, &hdr, data);
}

static inline int uv_region(int fd, unsigned int index, struct uvirtio_region_info *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->index = index;
	return ioctl(fd, UVIRTIO_REGION_GET_INFO, r);
}

/* An eventfd's count, or 0 if reading it fails */
static inline uint64_t uv_eventfd_count(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Y if DMA-API debug is off (or absent), N if it is on */
static inline char uv_dma_debug_off(void)
{
	char buf[8] = "Y";

	uv_read_file(UV_DBG "dma-api/disabled", buf, sizeof(buf));
	return buf[0];
}

/* ---- shared by uvirtio_reliability and uvirtio_fuzz ---- */

#define UNSAFE_PARAM	"/sys/module/uvirtio/parameters/allow_unsafe_noiommu"

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static inline uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* Open @bdf, retrying EBUSY for up to two seconds. */
static inline int open_retry(const char *bdf)
{
	int i, fd = -1;

	for (i = 0; i < 200; i++) {
		fd = uv_open_device(bdf);
		if (fd >= 0 || errno != EBUSY)
			break;
		uv_sleep_us(10000);
	}
	return fd;
}

static inline int iommu_mode_of(const char *bdf)
{
	struct uvirtio_device_info info = { .size = sizeof(info) };
	int fd = open_retry(bdf), ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &info);
	close(fd);
	return ret ? -1 : (int)info.iommu_mode;
}

/*
 * Make DMA work on @bdf: with a translating IOMMU it does; without one,
 * turn on allow_unsafe_noiommu (and set *@restore so it is turned off
 * again).  Returns 0, or -1 with @why filled in.
 */
static inline int dma_enable(const char *bdf, int *restore, char *why, size_t len)
{
	int mode = iommu_mode_of(bdf);

	*restore = 0;
	if (mode < 0) {
		snprintf(why, len, "cannot open %s: %s", bdf, strerror(errno));
		return -1;
	}
	if (mode != UVIRTIO_IOMMU_NONE)
		return 0;
	if (uv_write_file(UNSAFE_PARAM, "1")) {
		snprintf(why, len, "no IOMMU and cannot set %s", UNSAFE_PARAM);
		return -1;
	}
	*restore = 1;
	if (iommu_mode_of(bdf) != UVIRTIO_IOMMU_UNSAFE) {
		snprintf(why, len, "allow_unsafe_noiommu=1 did not enable DMA");
		return -1;
	}
	return 0;
}

static inline bool is_type(const char *bdf, int type)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s", bdf);
	return !access(p, F_OK) && uv_virtio_type(bdf) == type;
}

#ifdef UV_DEV_FIXTURE
/*
 * The "dev" fixture of uvirtio_uapi and uvirtio_fail_nth (define
 * UV_DEV_FIXTURE before including this, after kselftest_harness.h): a
 * virtio-rng function bound to uvirtio (a modern one where there is one),
 * /dev/uvirtio and the device open, its DEVICE_GET_INFO in self->info.
 * The teardown calls UV_DEV_FIXTURE_CLEANUP() first if that is defined,
 * then checks that every page pin was dropped and that the function can
 * be claimed and opened again.
 */
FIXTURE(dev) {
	char bdf[32];
	int ctl;
	int fd;
	struct uvirtio_device_info info;
};

FIXTURE_SETUP(dev)
{
	self->ctl = -1;
	self->fd = -1;
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	/* Prefer a modern function: the virtqueue test needs virtio 1.x. */
	if (uv_find_device(VIRTIO_ID_RNG, 1, self->bdf, sizeof(self->bdf)) &&
	    uv_find_device(VIRTIO_ID_RNG, -1, self->bdf, sizeof(self->bdf)))
		SKIP(return, "no virtio-rng PCI function");
	ASSERT_EQ(0, uv_claim(self->bdf))
		TH_LOG("could not bind %s to uvirtio", self->bdf);
	self->ctl = open("/dev/uvirtio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	self->fd = uv_open_device(self->bdf);
	ASSERT_LE(0, self->fd) TH_LOG("DEVICE_OPEN: %s", strerror(errno));
	self->info.size = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_GET_INFO, &self->info));
}

FIXTURE_TEARDOWN(dev)
{
	int fd;

#ifdef UV_DEV_FIXTURE_CLEANUP
	UV_DEV_FIXTURE_CLEANUP();
#endif

	if (self->fd >= 0)
		close(self->fd);
	if (self->ctl >= 0)
		close(self->ctl);
	/* (d) every pin was dropped, and the next owner can open it */
	EXPECT_EQ(uv_vmstat("nr_foll_pin_acquired"),
		  uv_vmstat("nr_foll_pin_released"));
	if (!self->bdf[0])
		return;
	EXPECT_EQ(0, uv_claim(self->bdf));
	fd = uv_open_device(self->bdf);
	EXPECT_LE(0, fd) TH_LOG("reopen: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* DMA works on the fixture's function (an IOMMU, or the unsafe opt-in) */
static inline bool uv_dma_ok(struct __test_metadata *_metadata,
		      struct _test_data_dev *self)
{
	return self->info.iommu_mode != UVIRTIO_IOMMU_NONE;
}
#endif /* UV_DEV_FIXTURE */

#endif /* UVIRTIO_SELFTEST_UTIL_H */
