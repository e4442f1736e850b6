// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio_mmio - the UAPI of a virtio-mmio device fd: DEVICE_OPEN by
 * platform name, what GET_INFO and REGION_GET_INFO report, the access
 * rules of the register window, the refused ring-address writes without
 * DMA, and the wired interrupt's ioctls.
 *
 * It needs a virtio-mmio device bound to uvirtio (scripts/guest/mmio-tests
 * binds them on vm-run.sh -X microvm); elsewhere every test skips.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"

#define UV_MMIO_MAGIC	0x74726976
#define UV_UNSAFE_PARAM	"/sys/module/uvirtio/parameters/allow_unsafe_noiommu"

/* The name of a bound virtio-mmio device, a blk one if there is one. */
static int uv_find_mmio(char *name, size_t len)
{
	struct uvirtio_device_entry e[32];
	struct uvirtio_list_devices l = {
		.size = sizeof(l), .count = 32, .entry_size = sizeof(e[0]),
		.entries = (uintptr_t)e,
	};
	int ctl = open("/dev/uvirtio", O_RDWR), found = -1;
	unsigned int i;

	if (ctl < 0)
		return -1;
	if (ioctl(ctl, UVIRTIO_LIST_DEVICES, &l))
		l.count = 0;
	close(ctl);
	for (i = 0; i < l.count && i < 32; i++) {
		if (e[i].transport != UVIRTIO_DEVICE_TRANSPORT_MMIO ||
		    (e[i].flags & UVIRTIO_DEVICE_ENTRY_OWNED))
			continue;
		if (found < 0 || e[i].virtio_id == VIRTIO_ID_BLOCK)
			found = i;
	}
	if (found < 0)
		return -1;
	uv_copy(name, len, e[found].name);
	return 0;
}

static int uv_open_mmio(int ctl, const char *name)
{
	struct uvirtio_device_open op = {
		.size = sizeof(op), .flags = UVIRTIO_DEVICE_OPEN_PLATFORM,
	};

	uv_copy(op.name, sizeof(op.name), name);
	return ioctl(ctl, UVIRTIO_DEVICE_OPEN, &op) ? -1 : op.fd;
}

static ssize_t uv_rd(int fd, uint64_t off, void *v, size_t n)
{
	return pread(fd, v, n, (off_t)(UVIRTIO_REGION_OFFSET(0) + off));
}

static ssize_t uv_wr32(int fd, uint64_t off, uint32_t v)
{
	return pwrite(fd, &v, 4, (off_t)(UVIRTIO_REGION_OFFSET(0) + off));
}

FIXTURE(mmio) {
	int ctl;
	int fd;
	char name[UVIRTIO_DEVICE_NAME_LEN];
	struct uvirtio_device_info info;
};

FIXTURE_SETUP(mmio)
{
	self->ctl = -1;
	self->fd = -1;
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (uv_find_mmio(self->name, sizeof(self->name)))
		SKIP(return, "no virtio-mmio device bound to uvirtio (vm-run.sh -X microvm)");
	self->ctl = open("/dev/uvirtio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	self->fd = uv_open_mmio(self->ctl, self->name);
	ASSERT_LE(0, self->fd) TH_LOG("DEVICE_OPEN %s: %s", self->name,
				      strerror(errno));
	self->info.size = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_GET_INFO, &self->info));
}

FIXTURE_TEARDOWN(mmio)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->ctl >= 0)
		close(self->ctl);
}

TEST_F(mmio, open_arguments)
{
	struct uvirtio_device_open op;

	/* the device has its owner: a second open is refused */
	EXPECT_ERRNO(EBUSY, uv_open_mmio(self->ctl, self->name));
	EXPECT_ERRNO(ENODEV, uv_open_mmio(self->ctl, "uvirtio-no-such-device"));
	memset(&op, 0, sizeof(op));
	op.size = sizeof(op);
	op.flags = UVIRTIO_DEVICE_OPEN_PLATFORM;
	EXPECT_ERRNO(EINVAL, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
	uv_copy(op.name, sizeof(op.name), self->name);
	op.pci_addr = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
	op.pci_addr = 0;
	memset(op.name, 'x', sizeof(op.name));
	EXPECT_ERRNO(EINVAL, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
	/* a name without the flag, an unknown flag */
	op.flags = 0;
	uv_copy(op.name, sizeof(op.name), self->name);
	EXPECT_ERRNO(EINVAL, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
	op.flags = 2;
	EXPECT_ERRNO(EINVAL, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
}

TEST_F(mmio, info)
{
	const char *want = getenv("UVIRTIO_MMIO_VERSION");
	struct uvirtio_api_version ver = { .size = sizeof(ver) };

	ASSERT_EQ(0, ioctl(self->ctl, UVIRTIO_GET_API_VERSION, &ver));
	EXPECT_TRUE(ver.caps & UVIRTIO_CAP_MMIO);
	EXPECT_EQ(UVIRTIO_DEVICE_TRANSPORT_MMIO, self->info.transport);
	EXPECT_TRUE(self->info.mmio_version == 1 || self->info.mmio_version == 2);
	if (want)
		EXPECT_EQ(atoi(want), (int)self->info.mmio_version);
	EXPECT_NE(0, self->info.virtio_id);
	EXPECT_EQ(0, self->info.pci_addr);
	EXPECT_EQ(0, self->info.vendor);
	EXPECT_EQ(0, self->info.num_msix);
	EXPECT_FALSE(self->info.flags & UVIRTIO_DEVICE_INFO_MODERN);
	EXPECT_TRUE(self->info.flags & UVIRTIO_DEVICE_INFO_WIRED_IRQ);
	EXPECT_EQ(UVIRTIO_UNTRANSLATED_NO_IOMMU, self->info.untranslated);
	EXPECT_NE(UVIRTIO_IOMMU_TRANSLATED, self->info.iommu_mode);
}

TEST_F(mmio, regions)
{
	struct uvirtio_region_info r = { .size = sizeof(r) };
	void *p;

	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_REGION_GET_INFO, &r));
	EXPECT_LE(0x200, r.region_size);
	EXPECT_EQ(UVIRTIO_REGION_INFO_READ | UVIRTIO_REGION_INFO_WRITE, r.flags);
	EXPECT_EQ(UVIRTIO_REGION_OFFSET(0), r.offset);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.index = 1;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_REGION_GET_INFO, &r));
	EXPECT_EQ(0, r.region_size);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.index = UVIRTIO_REGION_CONFIG;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_REGION_GET_INFO, &r));
	EXPECT_EQ(0, r.region_size);
	/* the window shares its page with other devices: never mapped */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(mmio, access)
{
	struct uvirtio_device_reset rs = { .size = sizeof(rs) };
	uint64_t q;
	uint32_t v;
	uint16_t w;
	uint8_t b;

	ASSERT_EQ(4, uv_rd(self->fd, VIRTIO_MMIO_MAGIC_VALUE, &v, 4));
	EXPECT_EQ(UV_MMIO_MAGIC, v);
	ASSERT_EQ(4, uv_rd(self->fd, VIRTIO_MMIO_VERSION, &v, 4));
	EXPECT_EQ(self->info.mmio_version, v);
	ASSERT_EQ(4, uv_rd(self->fd, VIRTIO_MMIO_DEVICE_ID, &v, 4));
	EXPECT_EQ(self->info.virtio_id, v);
	/* registers: 32 bits only; config: any natural width; no 8 bytes */
	EXPECT_ERRNO(EINVAL, uv_rd(self->fd, VIRTIO_MMIO_MAGIC_VALUE, &w, 2));
	EXPECT_ERRNO(EINVAL, uv_rd(self->fd, VIRTIO_MMIO_STATUS, &b, 1));
	EXPECT_ERRNO(EINVAL, uv_rd(self->fd, 0, &q, 8));
	EXPECT_ERRNO(EINVAL, uv_rd(self->fd, 2, &v, 4));
	EXPECT_EQ(1, uv_rd(self->fd, VIRTIO_MMIO_CONFIG + 1, &b, 1));
	EXPECT_EQ(2, uv_rd(self->fd, VIRTIO_MMIO_CONFIG + 2, &w, 2));
	EXPECT_ERRNO(EINVAL, uv_rd(self->fd, 0x200, &v, 4));
	EXPECT_ERRNO(EINVAL, pread(self->fd, &v, 4,
				   (off_t)UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG)));
	EXPECT_ERRNO(EINVAL, pread(self->fd, &v, 4, (off_t)UVIRTIO_REGION_OFFSET(1)));
	/* the status register round-trips (ACKNOWLEDGE), and resets */
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_STATUS, 1));
	ASSERT_EQ(4, uv_rd(self->fd, VIRTIO_MMIO_STATUS, &v, 4));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_RESET, &rs));
	ASSERT_EQ(4, uv_rd(self->fd, VIRTIO_MMIO_STATUS, &v, 4));
	EXPECT_EQ(0, v);
	rs.flags = UVIRTIO_RESET_FLR;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, UVIRTIO_DEVICE_RESET, &rs));
}

/* Without allow_unsafe_noiommu the device is never told where memory is. */
TEST_F(mmio, no_dma)
{
	static const unsigned int v2_ring[] = {
		VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
		VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH,
	};
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = 4096 };
	unsigned int i;

	if (self->info.iommu_mode != UVIRTIO_IOMMU_NONE)
		SKIP(return, "opened with allow_unsafe_noiommu");
	EXPECT_ERRNO(EPERM, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 0));
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_NUM, 8));
	for (i = 0; i < sizeof(v2_ring) / sizeof(v2_ring[0]); i++) {
		EXPECT_ERRNO(EPERM, uv_wr32(self->fd, v2_ring[i], 0x10000));
		EXPECT_ERRNO(EPERM, uv_wr32(self->fd, v2_ring[i], 0));
	}
	EXPECT_ERRNO(EPERM, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_READY, 1));
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_READY, 0));
	EXPECT_ERRNO(EPERM, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_PFN, 0x10));
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_PFN, 0));
}

TEST_F(mmio, dma_unsafe)
{
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = 4096 };
	struct uvirtio_dma_free f = { .size = sizeof(f) };

	if (self->info.iommu_mode != UVIRTIO_IOMMU_UNSAFE)
		SKIP(return, "needs allow_unsafe_noiommu=1");
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	EXPECT_NE(0, a.iova);
	f.handle = a.handle;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_FREE, &f));
	/* ring addresses are the owner's business now */
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 0));
	EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_PFN, 0));
	if (self->info.mmio_version == 2)
		EXPECT_EQ(4, uv_wr32(self->fd, VIRTIO_MMIO_QUEUE_DESC_LOW, 0));
}

TEST_F(mmio, wired_irq)
{
	struct uvirtio_irq_enable en = { .size = sizeof(en), .count = 1 };
	struct uvirtio_irq_set_eventfd se = { .size = sizeof(se) };
	struct uvirtio_irq_set_affinity af = { .size = sizeof(af), .cpu = -1 };
	struct uvirtio_irq_trigger tr = { .size = sizeof(tr) };
	struct uvirtio_irq_mask mk = { .size = sizeof(mk) };
	struct uvirtio_irq_disable d = { .size = sizeof(d) };
	struct pollfd pfd;
	uint64_t n;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	en.type = UVIRTIO_IRQ_MSIX;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.type = UVIRTIO_IRQ_INTX;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.type = UVIRTIO_IRQ_WIRED;
	en.count = 2;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.count = 1;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	EXPECT_ERRNO(EBUSY, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	se.fd = efd;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_SET_AFFINITY, &af));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	mk.flags = UVIRTIO_IRQ_MASK_UNMASK;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_EQ(8, read(efd, &n, 8));
	/* masked at close: the teardown keeps the disable depth balanced */
	mk.flags = 0;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_DISABLE, &d));
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	close(efd);
}

TEST_HARNESS_MAIN
