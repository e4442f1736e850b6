// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_vfio_kernel.c - host tests of the VFIO backend's container (type1)
 * flow against a fake kernel: src/backend_vfio.c is compiled into this
 * program with stat(), readlink(), access(), open(), ioctl(), mmap(),
 * pread() and pwrite() redirected to a model of sysfs, /dev/vfio and a
 * vfio-pci device (a config region, one mmap()able BAR, MSI-X vectors,
 * the request IRQ, the type1 IOMMU; and the cdev flow's
 * /dev/vfio/devices/vfioN and iommufd).  The model refuses on request (a
 * group that is not viable or taken, another API version, no type1v2, a
 * device that is not PCI, a config region too small, no IOMMU group, a
 * no-IOMMU group) and fails any one call (fail_at).  Each refusal must be
 * the documented errno with nothing left open.
 *
 * The real thing runs in the VMs (scripts/guest/vfio-tests); the pure
 * parts (IOVA allocator, capability chains) are in test_vfio.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <uvirtio/kmod.h>
#include <uvirtio/vfio.h>
#include <uvirtio/uvirtio.h>

#include "harness.h"

#define BDF	"0000:00:06.0"

static struct fake_vfio {
	int group_fd, container_fd, dev_fd;
	/* what the kernel says */
	bool no_sysfs, no_group_link, no_group_node, noiommu_node;
	uint32_t group_flags, api_version, dev_flags, cfg_size;
	int type1v2;
	bool no_msix;			/* INTx only (maskable, automasked) */
	bool iova_caps;			/* GET_INFO: an IOVA range cap */
	/* the cdev flow: /dev/vfio/devices/vfio0 and /dev/iommu */
	int iommufd_fd;
	bool no_cdev;
	char sysdir[64];		/* stands for .../BDF/vfio-dev */
	/* the fail_at-th call (open, ioctl, mmap) from now fails with EIO */
	unsigned int fail_at, failed;
	unsigned int maps, unmaps, resets, set_irqs;
	uint8_t cfg[256];
} fv;

static void fv_defaults(void)
{
	memset(&fv, 0, sizeof(fv));
	fv.group_fd = fv.container_fd = fv.dev_fd = fv.iommufd_fd = -1;
	/* the cases run in children of main(), which removes it */
	snprintf(fv.sysdir, sizeof(fv.sysdir), "/tmp/uvirtio-vfio-test.%d",
		 (int)getppid());
	mkdir(fv.sysdir, 0700);
	{
		char p[96];

		snprintf(p, sizeof(p), "%s/vfio0", fv.sysdir);
		mkdir(p, 0700);
	}
	fv.group_flags = VFIO_GROUP_FLAGS_VIABLE;
	fv.api_version = VFIO_API_VERSION;
	fv.dev_flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	fv.cfg_size = 256;
	fv.type1v2 = 1;
}

static int fv_err(int e)
{
	errno = e;
	return -1;
}

static bool fv_fail_now(void)
{
	if (!fv.fail_at || --fv.fail_at)
		return false;
	fv.failed++;
	return true;
}

static int fv_stat(const char *p, struct stat *st)
{
	if (strncmp(p, "/sys/bus/pci/devices/", 21))
		return stat(p, st);
	if (fv.no_sysfs)
		return fv_err(ENOENT);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0755;
	return 0;
}

static ssize_t fv_readlink(const char *p, char *buf, size_t len)
{
	static const char target[] = "../../../kernel/iommu_groups/7";

	if (strncmp(p, "/sys/bus/pci/devices/", 21))
		return readlink(p, buf, len);
	if (fv.no_group_link || len < sizeof(target))
		return fv_err(ENOENT);
	memcpy(buf, target, sizeof(target) - 1);
	return (ssize_t)sizeof(target) - 1;
}

static int fv_access(const char *p, int mode)
{
	if (!strcmp(p, "/dev/vfio/noiommu-7"))
		return fv.noiommu_node ? 0 : fv_err(ENOENT);
	if (!strncmp(p, "/dev/vfio/", 10) || !strcmp(p, "/dev/iommu"))
		return 0;
	return access(p, mode);
}

static DIR *fv_opendir(const char *p)
{
	if (strcmp(p, "/sys/bus/pci/devices/" BDF "/vfio-dev"))
		return opendir(p);
	if (fv.no_cdev) {
		errno = ENOENT;
		return NULL;
	}
	return opendir(fv.sysdir);
}

static int fv_open(const char *p, int flags, ...)
{
	int fd;

	if (!strcmp(p, "/dev/vfio/devices/vfio0") || !strcmp(p, "/dev/iommu")) {
		if (fv_fail_now())
			return fv_err(EIO);
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (!strcmp(p, "/dev/iommu"))
			fv.iommufd_fd = fd;
		else
			fv.dev_fd = fd;
		return fd;
	}
	if (strcmp(p, "/dev/vfio/7") && strcmp(p, "/dev/vfio/vfio"))
		return open(p, flags);
	if (!strcmp(p, "/dev/vfio/7") && fv.no_group_node)
		return fv_err(ENOENT);
	if (fv_fail_now())
		return fv_err(EIO);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (!strcmp(p, "/dev/vfio/7"))
		fv.group_fd = fd;
	else
		fv.container_fd = fd;
	return fd;
}

static int fv_group_ioctl(unsigned long req, unsigned long arg)
{
	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		((struct vfio_group_status *)arg)->flags = fv.group_flags;
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		if (strcmp((const char *)arg, BDF))
			return fv_err(ENODEV);
		fv.dev_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		return fv.dev_fd;
	}
	return fv_err(ENOTTY);
}

static int fv_container_ioctl(unsigned long req, unsigned long arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		return (int)fv.api_version;
	case VFIO_CHECK_EXTENSION:
		return arg == VFIO_TYPE1v2_IOMMU ? fv.type1v2 : 0;
	case VFIO_SET_IOMMU:
		return 0;
	case VFIO_IOMMU_GET_INFO: {
		struct vfio_iommu_type1_info *in = (void *)arg;
		struct vfio_iommu_type1_info_cap_iova_range *c;
		uint32_t coff = (sizeof(*in) + 7) & ~7u;
		uint32_t need = coff + sizeof(*c) + sizeof(c->iova_ranges[0]);

		in->flags = VFIO_IOMMU_INFO_PGSIZES;
		in->iova_pgsizes = 4096;
		if (!fv.iova_caps)
			return 0;
		in->iova_pgsizes = 65536 | (1ull << 21);	/* 64 KiB pages */
		in->flags |= VFIO_IOMMU_INFO_CAPS;
		if (in->argsz < need) {
			in->argsz = need;	/* ask again with room */
			return 0;
		}
		in->cap_offset = coff;
		c = (void *)((char *)in + coff);
		c->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		c->header.version = 1;
		c->header.next = 0;
		c->nr_iovas = 1;
		c->iova_ranges[0].start = 0x40000000;
		c->iova_ranges[0].end = 0x7fffffff;
		return 0;
	}
	case VFIO_IOMMU_MAP_DMA:
		fv.maps++;
		return 0;
	case VFIO_IOMMU_UNMAP_DMA:
		fv.unmaps++;
		return 0;	/* argsz/size are left as asked: all of it */
	}
	return fv_err(ENOTTY);
}

static int fv_dev_ioctl(unsigned long req, unsigned long arg)
{
	switch (req) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *di = (void *)arg;

		di->flags = fv.dev_flags;
		di->num_regions = VFIO_PCI_NUM_REGIONS;
		di->num_irqs = VFIO_PCI_NUM_IRQS;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info *ri = (void *)arg;

		ri->offset = (uint64_t)ri->index << 40;
		ri->cap_offset = 0;
		ri->flags = 0;
		ri->size = 0;
		if (ri->index == VFIO_PCI_CONFIG_REGION_INDEX) {
			ri->size = fv.cfg_size;
			ri->flags = VFIO_REGION_INFO_FLAG_READ |
				    VFIO_REGION_INFO_FLAG_WRITE;
		} else if (ri->index == VFIO_PCI_BAR0_REGION_INDEX) {
			ri->size = 16384;
			ri->flags = VFIO_REGION_INFO_FLAG_READ |
				    VFIO_REGION_INFO_FLAG_WRITE |
				    VFIO_REGION_INFO_FLAG_MMAP;
		} else if (ri->index == VFIO_PCI_BAR2_REGION_INDEX) {
			ri->size = 256;	/* not page-sized: pread only */
			ri->flags = VFIO_REGION_INFO_FLAG_READ |
				    VFIO_REGION_INFO_FLAG_WRITE |
				    VFIO_REGION_INFO_FLAG_MMAP;
		}
		return 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *ii = (void *)arg;

		ii->flags = VFIO_IRQ_INFO_EVENTFD;
		ii->count = ii->index == VFIO_PCI_MSIX_IRQ_INDEX ? 4 :
			    ii->index == VFIO_PCI_REQ_IRQ_INDEX ? 1 : 0;
		if (ii->index == VFIO_PCI_MSIX_IRQ_INDEX && fv.no_msix)
			ii->count = 0;
		if (ii->index == VFIO_PCI_INTX_IRQ_INDEX) {
			ii->count = 1;
			ii->flags |= VFIO_IRQ_INFO_MASKABLE |
				     VFIO_IRQ_INFO_AUTOMASKED;
		}
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		fv.set_irqs++;
		return 0;
	case VFIO_DEVICE_RESET:
		fv.resets++;
		return 0;
	}
	return fv_err(ENOTTY);
}

static int fv_ioctl(int fd, unsigned long req, ...);

static void *fv_mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	if (fd < 0 || fd != fv.dev_fd)
		return mmap(addr, len, prot, flags, fd, off);
	if (fv_fail_now()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return mmap(addr, len, prot, MAP_SHARED | MAP_ANONYMOUS |
		    (flags & MAP_FIXED), -1, 0);
}

static ssize_t fv_pread(int fd, void *buf, size_t n, off_t off)
{
	uint64_t o = (uint64_t)off - ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40);

	if (fd != fv.dev_fd)
		return pread(fd, buf, n, off);
	if (o >= sizeof(fv.cfg) || n > sizeof(fv.cfg) - o)
		return fv_err(EINVAL);
	memcpy(buf, fv.cfg + o, n);
	return (ssize_t)n;
}

static ssize_t fv_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	uint64_t o = (uint64_t)off - ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40);

	if (fd != fv.dev_fd)
		return pwrite(fd, buf, n, off);
	if (o >= sizeof(fv.cfg) || n > sizeof(fv.cfg) - o)
		return fv_err(EINVAL);
	memcpy(fv.cfg + o, buf, n);
	return (ssize_t)n;
}

/* ---- the code under test, with its system calls redirected ------------- */

#define stat(p, s) fv_stat(p, s)
#define opendir fv_opendir
#define readlink fv_readlink
#define access fv_access
#define open fv_open
#define ioctl fv_ioctl
#define mmap fv_mmap
#define pread fv_pread
#define pwrite fv_pwrite
#include "../src/backend_vfio.c"
#undef stat
#undef opendir
#undef readlink
#undef access
#undef open
#undef ioctl
#undef mmap
#undef pread
#undef pwrite

/* iommufd (the cdev flow): an IOAS with one IOVA range. */
static int fv_iommufd_ioctl(unsigned long req, unsigned long arg)
{
	switch (req) {
	case UV_IOMMU_IOAS_ALLOC:
		((struct uv_iommu_ioas_alloc *)arg)->out_ioas_id = 3;
		return 0;
	case UV_IOMMU_IOAS_IOVA_RANGES: {
		struct uv_iommu_ioas_iova_ranges *q = (void *)arg;
		struct uv_iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;

		if (q->num_iovas < 1) {
			q->num_iovas = 1;
			return fv_err(EMSGSIZE);	/* room for one, please */
		}
		q->num_iovas = 1;
		r[0].start = 0x100000;
		r[0].last = 0xffffffffffull;
		q->out_iova_alignment = 4096;
		return 0;
	}
	case UV_IOMMU_IOAS_MAP:
		fv.maps++;
		return 0;
	case UV_IOMMU_IOAS_UNMAP:
		fv.unmaps++;
		return 0;
	case UV_IOMMU_DESTROY:
		return 0;
	}
	return fv_err(ENOTTY);
}

static int fv_ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (fd != fv.group_fd && fd != fv.container_fd && fd != fv.dev_fd &&
	    fd != fv.iommufd_fd)
		return ioctl(fd, req, arg);
	if (fv_fail_now())
		return fv_err(EIO);
	if (fd == fv.group_fd)
		return fv_group_ioctl(req, arg);
	if (fd == fv.container_fd)
		return fv_container_ioctl(req, arg);
	if (fd == fv.iommufd_fd)
		return fv_iommufd_ioctl(req, arg);
	if (req == UV_VFIO_DEVICE_BIND_IOMMUFD ||
	    req == UV_VFIO_DEVICE_ATTACH_IOMMUFD_PT)
		return 0;
	return fv_dev_ioctl(req, arg);
}

/* ---- cases ------------------------------------------------------------- */

static int lowest_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

static int t_open_type1(void)
{
	struct uvirtio_backend *be;
	struct vfio *v;
	uint16_t cmd;
	int fd0 = lowest_fd();

	fv_defaults();
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), 0);
	v = be->priv;
	CHECK(v->bar[0].map);		/* page-sized: mapped */
	CHECK(!v->bar[2].map);		/* 256 bytes: pread/pwrite */
	CHECK_EQ(uvirtio_backend_irq_kind(be), UVIRTIO_BE_IRQ_MSIX);
	CHECK_EQ(uvirtio_backend_num_vectors(be), 4);
	CHECK(v->req_efd >= 0);
	/* memory decoding and bus mastering were turned on */
	memcpy(&cmd, fv.cfg + PCI_COMMAND, 2);
	CHECK((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) ==
	      (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	uvirtio_backend_close(be);
	CHECK_EQ(lowest_fd(), fd0);
	CHECK_EQ(uvirtio_vfio_open_flow("nonsense", UVIRTIO_VFIO_TYPE1, &be),
		 -EINVAL);
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, (enum uvirtio_vfio_flow)99, &be),
		 -EINVAL);
	return PASS;
}

/* What the kernel refuses, and what the library must answer. */
static int t_open_refused(void)
{
	struct uvirtio_backend *be;
	int fd0 = lowest_fd();

	fv_defaults();
	fv.no_sysfs = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -ENODEV);
	fv_defaults();
	fv.no_group_link = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -ENODEV);
	fv_defaults();
	fv.no_group_node = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -ENXIO);
	fv.noiommu_node = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -EPERM);
	fv_defaults();
	fv.group_flags = 0;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -EBUSY);
	fv.group_flags = VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -EBUSY);
	fv_defaults();
	fv.api_version = VFIO_API_VERSION + 1;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -EPROTO);
	fv_defaults();
	fv.type1v2 = 0;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be),
		 -EOPNOTSUPP);
	fv_defaults();
	fv.dev_flags = VFIO_DEVICE_FLAGS_PLATFORM;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -ENODEV);
	fv_defaults();
	fv.cfg_size = 32;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), -EIO);
	CHECK_EQ(lowest_fd(), fd0);
	return PASS;
}

/*
 * The IOMMU's IOVA ranges, in a capability the library has to ask for
 * twice (the reply is bigger than the fixed part): every IOVA inside.
 */
static int t_iova_ranges(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d[3];
	unsigned int i;

	fv_defaults();
	fv.iova_caps = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), 0);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(uvirtio_backend_dma_alloc(be, 8192, &d[i]), 0);
		CHECK(d[i].iova >= 0x40000000 &&
		      d[i].iova + d[i].len - 1 <= 0x7fffffff);
		CHECK_EQ(d[i].iova % 65536, 0);	/* the IOMMU's smallest page */
	}
	for (i = 0; i < 3; i++)
		uvirtio_backend_dma_free(be, &d[i]);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * The cdev flow (/dev/vfio/devices/vfioN, iommufd): opened, DMA inside
 * the IOAS's range; without the cdev -ENXIO; and every call failing in
 * turn, as for the container flow.
 */
static int t_cdev(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d;
	unsigned int n, failed = 0;
	int fd0 = lowest_fd();

	fv_defaults();
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_CDEV, &be), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 8192, &d), 0);
	CHECK(d.iova >= 0x100000);
	uvirtio_backend_dma_free(be, &d);
	CHECK_EQ(fv.maps, 1);
	CHECK_EQ(fv.unmaps, 1);
	uvirtio_backend_close(be);
	CHECK_EQ(lowest_fd(), fd0);
	fv_defaults();
	fv.no_cdev = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_CDEV, &be), -ENXIO);
	fv_defaults();
	fv.noiommu_node = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_CDEV, &be), -EPERM);
	for (n = 1; n < 500; n++) {
		int r;

		fv_defaults();
		be = NULL;
		fv.fail_at = n;
		r = uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_CDEV, &be);
		if (!r) {
			r = uvirtio_backend_dma_alloc(be, 8192, &d);
			if (!r)
				uvirtio_backend_dma_free(be, &d);
		}
		if (r) {
			CHECK(r < 0);
			CHECK_EQ(fv.failed, 1);
			failed++;
		}
		if (be)
			uvirtio_backend_close(be);
		CHECK_EQ(lowest_fd(), fd0);
		if (!fv.failed)
			break;
	}
	CHECK(n < 500);
	CHECK(failed > 10);
	return PASS;
}

/* No MSI-X: the INTx line, masked and unmasked through VFIO. */
static int t_intx(void)
{
	struct uvirtio_backend *be;
	unsigned int n;
	int fd;

	fv_defaults();
	fv.no_msix = true;
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), 0);
	CHECK_EQ(uvirtio_backend_irq_kind(be), UVIRTIO_BE_IRQ_INTX);
	CHECK_EQ(uvirtio_backend_irq_eventfd(be, 1, -1), -EINVAL);
	fd = uvirtio_backend_irq_eventfd(be, 0, -1);
	CHECK(fd >= 0);
	n = fv.set_irqs;
	CHECK_EQ(uvirtio_backend_irq_mask(be, 0, false), 0);
	CHECK_EQ(uvirtio_backend_irq_mask(be, 0, true), 0);
	CHECK(fv.set_irqs > n);
	CHECK_EQ(uvirtio_backend_irq_mask(be, 3, true), -EINVAL);
	uvirtio_backend_close(be);
	return PASS;
}

/* DMA, caller memory, config space, interrupts, reset on the device. */
static int t_backend_ops(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d;
	uint32_t v32 = 0x12345678;
	uint8_t *mem;
	int fd;

	fv_defaults();
	CHECK_EQ(uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 8192, &d), 0);
	CHECK(d.iova >= 4096);
	CHECK_EQ(fv.maps, 1);
	uvirtio_backend_dma_free(be, &d);
	CHECK_EQ(fv.unmaps, 1);
	CHECK_EQ(posix_memalign((void **)&mem, 4096, 3 * 4096), 0);
	CHECK_EQ(uvirtio_backend_dma_map(be, mem + 100, 5000), 0);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, mem + 100), 0);
	free(mem);
	CHECK_EQ(uvirtio_backend_cfg_write(be, 0x40, &v32, 4), 0);
	v32 = 0;
	CHECK_EQ(uvirtio_backend_cfg_read(be, 0x40, &v32, 4), 0);
	CHECK_EQ(v32, 0x12345678);
	CHECK_EQ(uvirtio_backend_cfg_read(be, 300, &v32, 4), -EINVAL);
	fd = uvirtio_backend_irq_eventfd(be, 1, -1);
	CHECK(fd >= 0);
	CHECK_EQ(uvirtio_backend_irq_mask(be, 1, true), 0);
	CHECK_EQ(uvirtio_backend_irq_mask(be, 1, false), 0);
	CHECK_EQ(uvirtio_backend_reset(be), 0);
	CHECK(fv.resets >= 1);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * Every kernel call of a session (open, a DMA allocation and free,
 * caller memory, an interrupt eventfd, reset, close) failing in turn: the
 * call that meets it returns a negative errno, nothing is left open.
 */
static int t_fail_nth(void)
{
	unsigned int n, failed = 0;
	uint8_t *mem;

	CHECK_EQ(posix_memalign((void **)&mem, 4096, 3 * 4096), 0);
	for (n = 1; n < 500; n++) {
		struct uvirtio_backend *be = NULL;
		struct uvirtio_dma d = { 0 };
		int r, fd0 = lowest_fd();

		fv_defaults();
		fv.fail_at = n;
		r = uvirtio_vfio_open_flow(BDF, UVIRTIO_VFIO_TYPE1, &be);
		if (!r) {
			r = uvirtio_backend_dma_alloc(be, 8192, &d);
			if (!r)
				uvirtio_backend_dma_free(be, &d);
		}
		if (!r) {
			r = uvirtio_backend_dma_map(be, mem, 8192);
			if (!r)
				r = uvirtio_backend_dma_unmap(be, mem);
		}
		if (!r) {
			r = uvirtio_backend_irq_eventfd(be, 1, -1);
			r = r < 0 ? r : 0;
		}
		if (!r)
			r = uvirtio_backend_reset(be);
		if (r) {
			CHECK(r < 0);
			CHECK_EQ(fv.failed, 1);	/* no failure without a cause */
			failed++;
		}
		if (be)
			uvirtio_backend_close(be);
		CHECK_EQ(lowest_fd(), fd0);
		if (!fv.failed)
			break;
	}
	free(mem);
	fprintf(stderr, "  %u calls, %u failed the session\n", n - 1, failed);
	CHECK(n < 500);
	CHECK(failed > 10);
	return PASS;
}

int main(int argc, char **argv)
{
	static const struct tcase cases[] = {
		{ "open_type1", t_open_type1 },
		{ "open_refused", t_open_refused },
		{ "iova_ranges", t_iova_ranges },
		{ "cdev", t_cdev },
		{ "intx", t_intx },
		{ "backend_ops", t_backend_ops },
		{ "fail_nth", t_fail_nth },
	};

	char d[64], e[96];
	int ret;

	ret = harness_main("vfio-kernel", cases,
			   sizeof(cases) / sizeof(cases[0]), argc, argv);
	snprintf(d, sizeof(d), "/tmp/uvirtio-vfio-test.%d", (int)getpid());
	snprintf(e, sizeof(e), "%s/vfio0", d);
	rmdir(e);
	rmdir(d);
	return ret;
}
