// SPDX-License-Identifier: GPL-2.0
/*
 * UAPI tests for /dev/uvirtio against a real (QEMU) virtio-rng function:
 * every ioctl's success path and argument checks, regions, mmap, DMA,
 * interrupts (loopback and a real virtqueue interrupt), reset, and
 * hot-unplug while open.  Each test ends by checking that every page
 * pin was released and that the device can be opened again.
 */
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"

#define PAGE	4096UL
#define UNKNOWN_FLAG	(1U << 30)

/* ---- a table of every ioctl, for the generic argument checks ---- */

struct uv_ioctl {
	const char *name;
	unsigned long cmd;
	size_t size;		/* sizeof() the struct */
	size_t min_size;	/* size of its first version */
	bool device;		/* device fd (else control fd) */
	int reserved;		/* offset of a must-be-zero member, or -1 */
	bool base_ok;		/* the filled-in struct succeeds */
};

#define UV_IOCTL(_cmd, _st, _last, _dev, _res, _ok) {			\
	.name = #_cmd, .cmd = _cmd, .size = sizeof(struct _st),		\
	.min_size = offsetof(struct _st, _last) +			\
		    sizeof(((struct _st *)0)->_last),			\
	.device = _dev, .reserved = _res, .base_ok = _ok }

static const struct uv_ioctl uv_ioctls[] = {
	UV_IOCTL(UVIRTIO_GET_API_VERSION, uvirtio_api_version, caps, false,
		 offsetof(struct uvirtio_api_version, __reserved), true),
	UV_IOCTL(UVIRTIO_LIST_DEVICES, uvirtio_list_devices, entries, false,
		 -1, true),
	UV_IOCTL(UVIRTIO_DEVICE_OPEN, uvirtio_device_open, fd, false, -1,
		 false),
	UV_IOCTL(UVIRTIO_DEVICE_GET_INFO, uvirtio_device_info, caps, true,
		 offsetof(struct uvirtio_device_info, __reserved), true),
	UV_IOCTL(UVIRTIO_REGION_GET_INFO, uvirtio_region_info, msix_end, true,
		 offsetof(struct uvirtio_region_info, __reserved), true),
	UV_IOCTL(UVIRTIO_DMA_MAP, uvirtio_dma_map, segments, true,
		 offsetof(struct uvirtio_dma_map, __reserved), false),
	UV_IOCTL(UVIRTIO_DMA_UNMAP, uvirtio_dma_unmap, handle, true, -1,
		 false),
	UV_IOCTL(UVIRTIO_DMA_ALLOC, uvirtio_dma_alloc, mmap_offset, true, -1,
		 false),
	UV_IOCTL(UVIRTIO_DMA_FREE, uvirtio_dma_free, handle, true, -1, false),
	UV_IOCTL(UVIRTIO_IRQ_ENABLE, uvirtio_irq_enable, count, true, -1,
		 false),
	UV_IOCTL(UVIRTIO_IRQ_DISABLE, uvirtio_irq_disable, flags, true, -1,
		 true),
	UV_IOCTL(UVIRTIO_IRQ_SET_EVENTFD, uvirtio_irq_set_eventfd, fd, true,
		 -1, false),
	UV_IOCTL(UVIRTIO_IRQ_SET_AFFINITY, uvirtio_irq_set_affinity, cpu, true,
		 -1, false),
	UV_IOCTL(UVIRTIO_IRQ_MASK, uvirtio_irq_mask, __reserved, true,
		 offsetof(struct uvirtio_irq_mask, __reserved), false),
	UV_IOCTL(UVIRTIO_IRQ_TRIGGER, uvirtio_irq_trigger, __reserved, true,
		 offsetof(struct uvirtio_irq_trigger, __reserved), false),
	UV_IOCTL(UVIRTIO_DEVICE_RESET, uvirtio_device_reset, flags, true, -1,
		 true),
	UV_IOCTL(UVIRTIO_SET_REMOVE_EVENTFD, uvirtio_set_remove_eventfd,
		 __reserved, true,
		 offsetof(struct uvirtio_set_remove_eventfd, __reserved), true),
};

/* Fill @buf (zeroed, at least 256 bytes) with a plausible struct. */
static void uv_fill(const struct uv_ioctl *op, void *buf, void *page)
{
	*(uint32_t *)buf = op->size;
	if (op->cmd == UVIRTIO_REGION_GET_INFO) {
		((struct uvirtio_region_info *)buf)->index = UVIRTIO_REGION_CONFIG;
	} else if (op->cmd == UVIRTIO_DMA_MAP) {
		struct uvirtio_dma_map *m = buf;

		m->flags = UVIRTIO_DMA_BIDIRECTIONAL;
		m->vaddr = (uintptr_t)page;
		m->length = PAGE;
	} else if (op->cmd == UVIRTIO_SET_REMOVE_EVENTFD) {
		((struct uvirtio_set_remove_eventfd *)buf)->fd = -1;
	} else if (op->cmd == UVIRTIO_IRQ_SET_EVENTFD) {
		((struct uvirtio_irq_set_eventfd *)buf)->fd = -1;
	} else if (op->cmd == UVIRTIO_DMA_ALLOC) {
		((struct uvirtio_dma_alloc *)buf)->length = PAGE;
	}
}

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

static void uv_fi_cleanup(void);

FIXTURE_TEARDOWN(dev)
{
	int fd;

	uv_fi_cleanup();	/* fail_nth_sweep: nothing stays armed */

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

static bool uv_dma_ok(struct __test_metadata *_metadata,
		      struct _test_data_dev *self)
{
	return self->info.iommu_mode != UVIRTIO_IOMMU_NONE;
}

/* (b) every ioctl: size, flags, reserved, bad pointers, wrong fd */
TEST_F(dev, ioctl_arguments)
{
	void *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	void *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int devnull = open("/dev/null", O_RDWR);
	unsigned int i;

	ASSERT_NE(MAP_FAILED, none);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_LE(0, devnull);
	memset(page, 0, PAGE);

	for (i = 0; i < sizeof(uv_ioctls) / sizeof(uv_ioctls[0]); i++) {
		const struct uv_ioctl *op = &uv_ioctls[i];
		int fd = op->device ? self->fd : self->ctl;
		int other = op->device ? self->ctl : self->fd;
		uint8_t buf[512];

		TH_LOG("%s", op->name);
		/* short size */
		memset(buf, 0, sizeof(buf));
		uv_fill(op, buf, page);
		*(uint32_t *)buf = op->min_size - 1;
		EXPECT_ERRNO(EINVAL, ioctl(fd, op->cmd, buf));
		*(uint32_t *)buf = 0;
		EXPECT_ERRNO(EINVAL, ioctl(fd, op->cmd, buf));
		/* longer, with a non-zero byte the kernel does not know */
		memset(buf, 0, sizeof(buf));
		uv_fill(op, buf, page);
		*(uint32_t *)buf = op->size + 8;
		buf[op->size + 3] = 1;
		EXPECT_ERRNO(E2BIG, ioctl(fd, op->cmd, buf));
		/* far too long */
		*(uint32_t *)buf = 0x100000;
		EXPECT_ERRNO(E2BIG, ioctl(fd, op->cmd, buf));
		/* longer, zero-extended: as good as the exact size */
		if (op->base_ok) {
			memset(buf, 0, sizeof(buf));
			uv_fill(op, buf, page);
			*(uint32_t *)buf = op->size + 8;
			EXPECT_EQ(0, ioctl(fd, op->cmd, buf));
			memset(buf, 0, sizeof(buf));
			uv_fill(op, buf, page);
			EXPECT_EQ(0, ioctl(fd, op->cmd, buf));
		}
		/* unknown flags */
		memset(buf, 0, sizeof(buf));
		uv_fill(op, buf, page);
		((uint32_t *)buf)[1] |= UNKNOWN_FLAG;
		EXPECT_ERRNO(EINVAL, ioctl(fd, op->cmd, buf));
		/* non-zero reserved */
		if (op->reserved >= 0) {
			memset(buf, 0, sizeof(buf));
			uv_fill(op, buf, page);
			buf[op->reserved] = 1;
			EXPECT_ERRNO(EINVAL, ioctl(fd, op->cmd, buf));
		}
		/* bad argument pointers */
		EXPECT_ERRNO(EFAULT, ioctl(fd, op->cmd, NULL));
		EXPECT_ERRNO(EFAULT, ioctl(fd, op->cmd, none));
		/* wrong kind of fd, wrong encoding */
		memset(buf, 0, sizeof(buf));
		uv_fill(op, buf, page);
		EXPECT_ERRNO(ENOTTY, ioctl(other, op->cmd, buf));
		EXPECT_ERRNO(ENOTTY, ioctl(devnull, op->cmd, buf));
		EXPECT_ERRNO(ENOTTY, ioctl(fd, _IOWR(UVIRTIO_TYPE, _IOC_NR(op->cmd),
						     struct uvirtio_dma_map),
					   buf));
	}
	/* unknown numbers */
	EXPECT_ERRNO(ENOTTY, ioctl(self->ctl, _IO(UVIRTIO_TYPE, 0x3f), page));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(UVIRTIO_TYPE, 0x7f), page));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(UVIRTIO_TYPE + 1,
						 UVIRTIO_CMD_DEVICE_GET_INFO),
				   page));
	close(devnull);
	munmap(none, PAGE);
	munmap(page, PAGE);
}

TEST_F(dev, api_version_and_list)
{
	struct uvirtio_api_version ver = { .size = sizeof(ver) };
	struct uvirtio_device_entry e[16];
	struct uvirtio_list_devices l = { .size = sizeof(l) };
	unsigned int i, found = 0;

	ASSERT_EQ(0, ioctl(self->ctl, UVIRTIO_GET_API_VERSION, &ver));
	EXPECT_EQ(UVIRTIO_API_VERSION, ver.version);
	EXPECT_TRUE(ver.caps & UVIRTIO_CAP_MSIX);

	ASSERT_EQ(0, ioctl(self->ctl, UVIRTIO_LIST_DEVICES, &l));
	ASSERT_LE(1, l.count);
	memset(e, 0xff, sizeof(e));
	l.count = 16;
	l.entry_size = sizeof(e[0]);
	l.entries = (uintptr_t)e;
	ASSERT_EQ(0, ioctl(self->ctl, UVIRTIO_LIST_DEVICES, &l));
	for (i = 0; i < l.count && i < 16; i++) {
		if (e[i].pci_addr != uv_pci_addr(self->bdf))
			continue;
		found = 1;
		EXPECT_EQ(UV_VIRTIO_VENDOR, e[i].vendor);
		EXPECT_EQ(VIRTIO_ID_RNG, e[i].virtio_id);
		EXPECT_TRUE(e[i].flags & UVIRTIO_DEVICE_ENTRY_OWNED);
		EXPECT_EQ(getpid(), (pid_t)e[i].owner_pid);
	}
	EXPECT_EQ(1, found);
	/* entry_size too small; bad entries pointer */
	l.count = 1;
	l.entry_size = 4;
	EXPECT_ERRNO(EINVAL, ioctl(self->ctl, UVIRTIO_LIST_DEVICES, &l));
	l.entry_size = sizeof(e[0]);
	l.entries = 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->ctl, UVIRTIO_LIST_DEVICES, &l));
}

TEST_F(dev, open_rules)
{
	struct uvirtio_device_open op = {
		.size = sizeof(op), .pci_addr = uv_pci_addr(self->bdf),
	};
	int status;
	pid_t pid;

	/* one owner at a time */
	EXPECT_ERRNO(EBUSY, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
	/* not bound to uvirtio */
	op.pci_addr = UVIRTIO_PCI_ADDR(0x7fff, 0xff, 31, 7);
	EXPECT_ERRNO(ENODEV, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));

	/* without CAP_SYS_RAWIO: EPERM */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		static const int caps[] = { CAP_SYS_RAWIO, -1 };

		op.pci_addr = uv_pci_addr(self->bdf);
		if (uv_drop_caps(caps))
			_exit(2);
		_exit(ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op) == -1 &&
		      errno == EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* a non-root user cannot even open the 0600 control node */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open("/dev/uvirtio", O_RDWR) == -1 && errno == EACCES ?
		      0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* LIST_DEVICES' owner_pid of @bdf, -1 if not listed */
static long uv_listed_owner(int ctl, const char *bdf)
{
	struct uvirtio_device_entry e[16];
	struct uvirtio_list_devices l = {
		.size = sizeof(l), .count = 16, .entry_size = sizeof(e[0]),
		.entries = (uintptr_t)e,
	};
	unsigned int i;

	if (ioctl(ctl, UVIRTIO_LIST_DEVICES, &l))
		return -1;
	for (i = 0; i < l.count && i < 16; i++)
		if (e[i].pci_addr == uv_pci_addr(bdf))
			return e[i].owner_pid;
	return -1;
}

/*
 * The process that opened the device exits while a child still holds
 * the fd: the device stays owned, but the opener's pid (which the
 * system may hand to someone else) is no longer reported.
 */
TEST_F(dev, owner_pid_after_opener_exits)
{
	int id[2], life[2], status, i;
	pid_t opener, holder = 0;
	char c;

	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, pipe(id));		/* opener -> us: the holder's pid */
	ASSERT_EQ(0, pipe(life));	/* us -> holder: EOF means exit */
	opener = fork();
	ASSERT_LE(0, opener);
	if (!opener) {
		int fd = uv_open_device(self->bdf);
		pid_t h;

		close(life[1]);
		if (fd < 0)
			_exit(1);
		h = fork();
		if (h < 0)
			_exit(1);
		if (!h) {
			/* the holder keeps the fd until we close life[1] */
			if (read(life[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
		if (write(id[1], &h, sizeof(h)) != sizeof(h))
			_exit(1);
		_exit(0);
	}
	close(id[1]);
	close(life[0]);
	ASSERT_EQ(sizeof(holder), read(id[0], &holder, sizeof(holder)));
	close(id[0]);
	ASSERT_EQ(opener, waitpid(opener, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* owned (a second open is refused), but by nobody we can name */
	EXPECT_GT(0, uv_open_device(self->bdf));
	EXPECT_EQ(0, uv_listed_owner(self->ctl, self->bdf));
	/* the holder exits and the fd goes with it */
	close(life[1]);
	for (i = 0; i < 200 && self->fd < 0; i++) {
		self->fd = uv_open_device(self->bdf);
		if (self->fd < 0)
			usleep(10000);
	}
	ASSERT_LE(0, self->fd) TH_LOG("holder %d never let go", holder);
	EXPECT_EQ(getpid(), uv_listed_owner(self->ctl, self->bdf));
}

TEST_F(dev, device_info)
{
	const char *iommu = getenv("UVIRTIO_IOMMU");
	struct uvirtio_device_info *i = &self->info;

	EXPECT_EQ(uv_pci_addr(self->bdf), i->pci_addr);
	EXPECT_EQ(VIRTIO_ID_RNG, i->virtio_id);
	EXPECT_EQ(UV_VIRTIO_VENDOR, i->vendor);
	EXPECT_EQ(uv_read_hex(self->bdf, "device"), i->device);
	EXPECT_EQ(UVIRTIO_NUM_REGIONS, i->num_regions);
	EXPECT_EQ(65535, i->max_dma_mappings);
	EXPECT_NE(0, i->dma_mask);
	EXPECT_FALSE(i->flags & UVIRTIO_DEVICE_INFO_REMOVED);
	if (iommu && (!strcmp(iommu, "on") || !strcmp(iommu, "strict") ||
		      !strcmp(iommu, "pt")))
		EXPECT_EQ(UVIRTIO_IOMMU_TRANSLATED, i->iommu_mode);
	if (i->device >= 0x1040) {
		EXPECT_TRUE(i->flags & UVIRTIO_DEVICE_INFO_MODERN);
		EXPECT_EQ(1, i->caps[UVIRTIO_VCAP_COMMON].present);
		EXPECT_EQ(1, i->caps[UVIRTIO_VCAP_NOTIFY].present);
		EXPECT_EQ(1, i->caps[UVIRTIO_VCAP_ISR].present);
		EXPECT_EQ(1, i->caps[UVIRTIO_VCAP_PCI_CFG].present);
		EXPECT_LT(0, i->num_msix);
	} else {
		EXPECT_TRUE(i->flags & UVIRTIO_DEVICE_INFO_LEGACY);
	}
	TH_LOG("%s: device %#x flags %#x iommu %u msix %u notify mult %u",
	       self->bdf, i->device, i->flags, i->iommu_mode, i->num_msix,
	       i->caps[UVIRTIO_VCAP_NOTIFY].notify_off_multiplier);
}

static int uv_region(int fd, unsigned int index, struct uvirtio_region_info *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->index = index;
	return ioctl(fd, UVIRTIO_REGION_GET_INFO, r);
}

TEST_F(dev, regions_and_config)
{
	struct uvirtio_region_info r;
	unsigned int i, mmappable = 0;
	uint16_t w, cmd;
	uint32_t l;
	uint64_t cfg = UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG);

	for (i = 0; i < UVIRTIO_NUM_REGIONS; i++) {
		ASSERT_EQ(0, uv_region(self->fd, i, &r));
		EXPECT_EQ(UVIRTIO_REGION_OFFSET(i), r.offset);
		if (r.flags & UVIRTIO_REGION_INFO_MMAP)
			mmappable++;
		if (r.flags & UVIRTIO_REGION_INFO_MSIX) {
			EXPECT_LT(r.msix_start, r.msix_end);
			EXPECT_EQ(0, r.msix_start % PAGE);
		}
	}
	EXPECT_LE(1, mmappable);
	EXPECT_ERRNO(EINVAL, uv_region(self->fd, UVIRTIO_NUM_REGIONS, &r));
	ASSERT_EQ(0, uv_region(self->fd, UVIRTIO_REGION_CONFIG, &r));
	EXPECT_LE(256, r.region_size);

	/* config reads in natural widths */
	ASSERT_EQ(2, pread(self->fd, &w, 2, cfg + 0));
	EXPECT_EQ(UV_VIRTIO_VENDOR, w);
	ASSERT_EQ(4, pread(self->fd, &l, 4, cfg + 0));
	EXPECT_EQ(UV_VIRTIO_VENDOR, l & 0xffff);
	EXPECT_ERRNO(EINVAL, pread(self->fd, &l, 3, cfg + 0));
	EXPECT_ERRNO(EINVAL, pread(self->fd, &l, 4, cfg + 2));
	EXPECT_ERRNO(EINVAL, pread(self->fd, &l, 4, cfg + r.region_size));
	EXPECT_ERRNO(EINVAL, pread(self->fd, &l, 4,
				   UVIRTIO_REGION_OFFSET(6)));

	/*
	 * writes: only Bus Master Enable in the command register, and only
	 * on a device that may do DMA: without translation (and without
	 * the unsafe opt-in) it stays off and cannot be set
	 */
	ASSERT_EQ(2, pread(self->fd, &cmd, 2, cfg + 4));
	if (uv_dma_ok(_metadata, self)) {
		EXPECT_TRUE(cmd & 0x4);	/* owned: bus master on */
		w = cmd & ~0x4;
		EXPECT_EQ(2, pwrite(self->fd, &w, 2, cfg + 4));
		ASSERT_EQ(2, pread(self->fd, &w, 2, cfg + 4));
		EXPECT_EQ(cmd & ~0x4, w);
		EXPECT_EQ(2, pwrite(self->fd, &cmd, 2, cfg + 4));
	} else {
		EXPECT_FALSE(cmd & 0x4);	/* no DMA: bus master off */
		w = cmd | 0x4;
		EXPECT_ERRNO(EPERM, pwrite(self->fd, &w, 2, cfg + 4));
		ASSERT_EQ(2, pread(self->fd, &w, 2, cfg + 4));
		EXPECT_FALSE(w & 0x4);
	}
	w = cmd ^ 0x2;		/* memory decode */
	EXPECT_ERRNO(EPERM, pwrite(self->fd, &w, 2, cfg + 4));
	w = cmd ^ 0x400;	/* INTx disable, either way */
	EXPECT_ERRNO(EPERM, pwrite(self->fd, &w, 2, cfg + 4));
	l = 0;
	EXPECT_ERRNO(EPERM, pwrite(self->fd, &l, 4, cfg + 0x10));	/* BAR0 */
	EXPECT_ERRNO(EPERM, pwrite(self->fd, &l, 4, cfg + 0x30));	/* ROM */
	if (self->info.caps[UVIRTIO_VCAP_PCI_CFG].present)
		EXPECT_ERRNO(EPERM, pwrite(self->fd, &l, 4, cfg +
			self->info.caps[UVIRTIO_VCAP_PCI_CFG].cap_offset + 16));
	/* the MSI-X capability: find it in the list */
	do {
		uint8_t pos, id;

		ASSERT_EQ(1, pread(self->fd, &pos, 1, cfg + 0x34));
		while (pos) {
			ASSERT_EQ(1, pread(self->fd, &id, 1, cfg + pos));
			if (id == 0x11) {
				w = 0;
				EXPECT_ERRNO(EPERM, pwrite(self->fd, &w, 2,
							   cfg + pos + 2));
				break;
			}
			ASSERT_EQ(1, pread(self->fd, &pos, 1, cfg + pos + 1));
		}
	} while (0);
}

TEST_F(dev, bar_mmap_and_rw)
{
	const struct uvirtio_virtio_cap *c =
		&self->info.caps[UVIRTIO_VCAP_COMMON];
	struct uvirtio_region_info r;
	unsigned int i;
	uint32_t l = 0;
	void *p;

	if (!c->present)
		SKIP(return, "no virtio 1.x common configuration");
	ASSERT_EQ(0, uv_region(self->fd, c->bar, &r));
	ASSERT_TRUE(r.flags & UVIRTIO_REGION_INFO_MMAP);

	p = mmap(NULL, r.region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, r.offset);
	ASSERT_NE(MAP_FAILED, p);
	do {
		volatile struct virtio_pci_common_cfg *cc =
			(void *)((char *)p + c->offset);
		uint32_t num_queues;

		/* mmap and pread agree on num_queues */
		num_queues = cc->num_queues;
		ASSERT_EQ(2, pread(self->fd, &l, 2, r.offset + c->offset +
				   offsetof(struct virtio_pci_common_cfg,
					    num_queues)));
		EXPECT_EQ(num_queues, l & 0xffff);
		EXPECT_LE(1, num_queues);
	} while (0);
	munmap(p, r.region_size);

	/* beyond the BAR, MAP_PRIVATE, unknown regions */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r.region_size + PAGE, PROT_READ,
				   MAP_SHARED, self->fd, r.offset));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->fd, r.offset + r.region_size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE,
				   self->fd, r.offset));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->fd, UVIRTIO_REGION_OFFSET(6)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->fd, UVIRTIO_REGION_OFFSET(
					   UVIRTIO_REGION_CONFIG)));
	EXPECT_EQ(EINVAL, errno);
	/* widths */
	EXPECT_ERRNO(EINVAL, pread(self->fd, &l, 3, r.offset));
	EXPECT_ERRNO(EINVAL, pread(self->fd, &l, 4, r.offset + r.region_size));
	do {
		uint64_t q;

		EXPECT_EQ(8, pread(self->fd, &q, 8, r.offset + c->offset));
	} while (0);

	/* the MSI-X table and PBA: no mmap, no write */
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, uv_region(self->fd, i, &r));
		if (!(r.flags & UVIRTIO_REGION_INFO_MSIX))
			continue;
		EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
					   self->fd, r.offset + r.msix_start));
		EXPECT_EQ(EPERM, errno);
		EXPECT_EQ(MAP_FAILED, mmap(NULL, r.region_size, PROT_READ,
					   MAP_SHARED, self->fd, r.offset));
		EXPECT_EQ(EPERM, errno);
		l = 0;
		EXPECT_ERRNO(EPERM, pwrite(self->fd, &l, 4,
					   r.offset + r.msix_start));
		/* the table is the kernel's: reads are all-ones */
		l = 0;
		EXPECT_EQ(4, pread(self->fd, &l, 4, r.offset + r.msix_start));
		EXPECT_EQ(0xffffffffU, l);
		if (r.msix_end < r.region_size) {
			p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd,
				 r.offset + r.msix_end);
			EXPECT_NE(MAP_FAILED, p);
			if (p != MAP_FAILED)
				munmap(p, PAGE);
		}
	}
}

TEST_F(dev, dma_map)
{
	struct uvirtio_dma_segment seg[8];
	struct uvirtio_dma_map m = { .size = sizeof(m) };
	struct uvirtio_dma_unmap u = { .size = sizeof(u) };
	char *buf = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t h;

	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x5a, 16 * PAGE);
	m.flags = UVIRTIO_DMA_BIDIRECTIONAL;
	m.vaddr = (uintptr_t)buf;
	m.length = 4 * PAGE;
	m.nr_segments = 8;
	m.segments = (uintptr_t)seg;
	if (!uv_dma_ok(_metadata, self)) {
		/* no IOMMU, unsafe mode off: DMA is refused */
		EXPECT_ERRNO(EPERM, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
		SKIP(return, "no translating IOMMU: DMA refused as documented");
	}
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	h = m.handle;
	EXPECT_NE(0, h);
	EXPECT_LE(1, m.nr_segments);
	EXPECT_EQ(seg[0].iova, m.iova);
	if (m.nr_segments == 1) {
		EXPECT_TRUE(m.flags & UVIRTIO_DMA_CONTIGUOUS);
		EXPECT_EQ(4 * PAGE, seg[0].length);
	}
	if (self->info.iommu_mode == UVIRTIO_IOMMU_TRANSLATED)
		EXPECT_EQ(1, m.nr_segments);

	/* overlap, in every arrangement */
	m.flags = UVIRTIO_DMA_TO_DEVICE;
	m.nr_segments = 0;
	EXPECT_ERRNO(EEXIST, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.vaddr = (uintptr_t)buf + 3 * PAGE;
	EXPECT_ERRNO(EEXIST, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.vaddr = (uintptr_t)buf + PAGE;
	m.length = PAGE;
	EXPECT_ERRNO(EEXIST, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	/* adjacent is fine */
	m.vaddr = (uintptr_t)buf + 4 * PAGE;
	m.length = 2 * PAGE;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	u.handle = m.handle;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_UNMAP, &u));
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, UVIRTIO_DMA_UNMAP, &u));

	/* bad ranges */
	m.vaddr = (uintptr_t)buf + 8 * PAGE + 1;
	m.length = PAGE;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.vaddr = (uintptr_t)buf + 8 * PAGE;
	m.length = PAGE + 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.length = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.vaddr = ~0ULL & ~(PAGE - 1);
	m.length = 2 * PAGE;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.vaddr = 0;
	m.length = ~0ULL & ~(PAGE - 1);
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	/* unmapped memory */
	m.vaddr = PAGE;
	m.length = PAGE;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	/* direction missing */
	m.flags = 0;
	m.vaddr = (uintptr_t)buf + 8 * PAGE;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	/* a bad segments pointer fails the whole call, nothing stays */
	m.flags = UVIRTIO_DMA_FROM_DEVICE;
	m.nr_segments = 1;
	m.segments = 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	m.segments = (uintptr_t)seg;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));

	/* the first mapping is released by close() (teardown checks pins) */
	u.handle = h;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_UNMAP, &u));
	munmap(buf, 16 * PAGE);
}

TEST_F(dev, dma_memlock)
{
	char *buf = mmap(NULL, 32 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, buf);
	if (!uv_dma_ok(_metadata, self))
		SKIP(return, "no translating IOMMU: DMA refused");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		static const int caps[] = { CAP_IPC_LOCK, -1 };
		struct rlimit rl = { 4 * PAGE, 4 * PAGE };
		struct uvirtio_dma_map m = {
			.size = sizeof(m),
			.flags = UVIRTIO_DMA_BIDIRECTIONAL,
			.vaddr = (uintptr_t)buf,
			.length = 16 * PAGE,
		};
		struct uvirtio_dma_unmap u = { .size = sizeof(u) };

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || uv_drop_caps(caps))
			_exit(2);
		if (ioctl(self->fd, UVIRTIO_DMA_MAP, &m) != -1 ||
		    errno != ENOMEM)
			_exit(3);
		m.length = 2 * PAGE;
		if (ioctl(self->fd, UVIRTIO_DMA_MAP, &m))
			_exit(4);
		u.handle = m.handle;
		/* 2 of 4 pages used: 4 more do not fit */
		m.nr_segments = 0;	/* it is in/out: now 1, segments NULL */
		m.vaddr += 8 * PAGE;
		m.length = 4 * PAGE;
		if (ioctl(self->fd, UVIRTIO_DMA_MAP, &m) != -1 ||
		    errno != ENOMEM)
			_exit(5);
		if (ioctl(self->fd, UVIRTIO_DMA_UNMAP, &u))
			_exit(6);
		/* the charge went away with the unmap */
		if (ioctl(self->fd, UVIRTIO_DMA_MAP, &m)) {
			fprintf(stderr, "# remap after unmap: %s\n",
				strerror(errno));
			_exit(7);
		}
		u.handle = m.handle;
		_exit(ioctl(self->fd, UVIRTIO_DMA_UNMAP, &u) ? 8 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(buf, 32 * PAGE);
}

TEST_F(dev, dma_alloc)
{
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = 100 };
	struct uvirtio_dma_free f = { .size = sizeof(f) };
	unsigned char *p;

	if (!uv_dma_ok(_metadata, self)) {
		EXPECT_ERRNO(EPERM, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
		SKIP(return, "no translating IOMMU: DMA refused as documented");
	}
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	EXPECT_NE(0, a.handle);
	EXPECT_NE(0, a.iova);
	EXPECT_LE(UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_DMA_BASE), a.mmap_offset);
	/* rounded up to a page, zeroed */
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 a.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[PAGE - 1]);
	p[0] = 0xab;
	/* MADV_DONTNEED must not break the mapping (it is refused or the
	 * page faults back in, with the same memory) */
	madvise(p, PAGE, MADV_DONTNEED);
	EXPECT_EQ(0xab, p[0]);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED,
				   self->fd, a.mmap_offset));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->fd, a.mmap_offset + PAGE));
	EXPECT_EQ(EINVAL, errno);
	/* free while mapped: the memory stays until munmap */
	f.handle = a.handle;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_FREE, &f));
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, UVIRTIO_DMA_FREE, &f));
	EXPECT_EQ(0xab, p[0]);
	p[1] = 1;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->fd, a.mmap_offset));
	munmap(p, PAGE);
	/* bad arguments */
	a.length = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	a.length = ~0ULL;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	/*
	 * All of RAM in one buffer: refused even for root (CAP_IPC_LOCK
	 * skips memlock), quietly, instead of invoking the OOM killer or
	 * warning in the page allocator (the health check would see it).
	 */
	{
		struct sysinfo si;

		ASSERT_EQ(0, sysinfo(&si));
		a.length = (__u64)si.totalram * si.mem_unit;
		EXPECT_ERRNO(ENOMEM, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	}
	f.handle = 0;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, UVIRTIO_DMA_FREE, &f));
	/* a buffer left allocated is freed by close() */
	a.length = 3 * PAGE;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
}

TEST_F(dev, dma_max_mappings)
{
	const char *param = "/sys/module/uvirtio/parameters/max_mappings";
	struct uvirtio_dma_map m = {
		.size = sizeof(m), .flags = UVIRTIO_DMA_TO_DEVICE,
		.length = PAGE,
	};
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = PAGE };
	char *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	ASSERT_NE(MAP_FAILED, buf);
	if (!uv_dma_ok(_metadata, self))
		SKIP(return, "no translating IOMMU: DMA refused");
	if (uv_write_file(param, "3"))
		SKIP(return, "cannot write %s", param);
	for (i = 0; i < 2; i++) {
		m.vaddr = (uintptr_t)buf + i * PAGE;
		EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	}
	/* mappings and coherent buffers share the limit */
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	m.vaddr = (uintptr_t)buf + 2 * PAGE;
	EXPECT_ERRNO(ENOSPC, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	EXPECT_ERRNO(ENOSPC, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	EXPECT_EQ(0, uv_write_file(param, "65535"));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	/* all of it is released by close() */
}

static uint64_t uv_eventfd_count(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- fault injection: a fail-nth sweep over every call ---- */

/*
 * Each call of the UAPI that can fail in the kernel is made again and
 * again with the task's fail-nth counter (fault-injection.rst) at 1, 2,
 * 3, ...: the n-th fault point the call reaches fails, until a call
 * completes without reaching it.  After each injected fault:
 *
 * - the call failed with an errno Documentation/uapi.rst gives for it,
 *   or succeeded (the fault was absorbed, e.g. by kmemleak's pool);
 * - after a failure nothing changed (the device's debugfs stats), and
 *   the same call, without injection, succeeds: the device is usable;
 * - after the case's clean-up no mapping, buffer, vector or pin is left.
 *
 * vm-run.sh's health check adds kmemleak, KASAN, lockdep and WARN.
 *
 * Pass 1 uses the generic fault points: failslab and fail_page_alloc for
 * every allocation (sleeping or not, any order) and fail_usercopy.
 * Pass 2 arms fail_function on each of the module's
 * ALLOW_ERROR_INJECTION() functions in turn, which fail where no
 * allocation does: pinning, IOMMU mapping, IRQ vectors and handlers,
 * eventfd lookup, resets.  fail-nth counts a fail_function point only if
 * its kprobe runs in task context, i.e. from ftrace
 * (CONFIG_KPROBES_ON_FTRACE): an int3 kprobe runs in NMI-like context,
 * where neither fail-nth nor the task filter applies.  In pass 2 slab
 * and page faults are muted (pass 1 covered them); user copies cannot be
 * muted and fire again, and are checked but not counted twice.  Each
 * injected fault decrements its attribute's "times", which tells which
 * one fired.  Two kernel paths are kept out of pass 1, see struct
 * uv_fi_case.
 *
 * The summary line (UVIRTIO-SUMMARY) counts the calls swept, the faults
 * injected (pass 1, plus pass 2's fail_function faults) and the clean
 * ones among them.
 */
#define UV_DBG		"/sys/kernel/debug/"
#define UV_FI_MAX_NTH	2000
#define UV_FI_MARKER_CAP 32
#define UV_FI_TIMES	"1000000000"

enum { UV_FI_SLAB, UV_FI_PAGE, UV_FI_USERCOPY, UV_FI_FUNC, UV_FI_NR };
static const char * const uv_fi_attrs[UV_FI_NR] = {
	"failslab", "fail_page_alloc", "fail_usercopy", "fail_function",
};

/* What fail_function makes each module function return */
static const struct {
	const char *func;
	int err;
} uv_fi_retvals[] = {
	{ "uvirtio_pin_pages", ENOMEM },
	{ "uvirtio_iommu_map_pages", ENOMEM },
	{ "uvirtio_iommu_attach", EBUSY },
	{ "uvirtio_buf_alloc_pages", ENOMEM },
	{ "uvirtio_irq_alloc_vectors", ENOSPC },
	{ "uvirtio_irq_request", ENOMEM },
	{ "uvirtio_eventfd_get", EBADF },
	{ "uvirtio_virtio_reset", ETIMEDOUT },
	{ "uvirtio_function_reset", EAGAIN },
};

/* debugfs knobs changed by the sweep, with their values before it */
static struct {
	char path[128];
	char old[64];
} uv_fi_knobs[48];
static unsigned int uv_fi_nknobs;

/* Set /sys/kernel/debug/@knob, remembering the value it had first */
static int uv_fi_set(const char *knob, const char *val)
{
	char path[128];
	unsigned int i;

	snprintf(path, sizeof(path), UV_DBG "%s", knob);
	for (i = 0; i < uv_fi_nknobs; i++)
		if (!strcmp(uv_fi_knobs[i].path, path))
			break;
	if (i == uv_fi_nknobs) {
		if (i == ARRAY_SIZE(uv_fi_knobs) ||
		    uv_read_file(path, uv_fi_knobs[i].old,
				 sizeof(uv_fi_knobs[i].old)))
			return -1;
		uv_copy(uv_fi_knobs[i].path, sizeof(uv_fi_knobs[i].path), path);
		uv_fi_nknobs++;
	}
	return uv_write_file(path, val);
}

static int uv_fi_set_attr(int attr, const char *knob, const char *val)
{
	char name[96];

	snprintf(name, sizeof(name), "%s/%s", uv_fi_attrs[attr], knob);
	return uv_fi_set(name, val);
}

static void uv_fi_restore(void)
{
	while (uv_fi_nknobs) {
		uv_fi_nknobs--;
		uv_write_file(uv_fi_knobs[uv_fi_nknobs].path,
			      uv_fi_knobs[uv_fi_nknobs].old);
	}
}

/* Injected faults so far, per attribute ("times" counts down) */
static void uv_fi_times(long t[UV_FI_NR])
{
	char path[96], buf[32];
	int i;

	for (i = 0; i < UV_FI_NR; i++) {
		snprintf(path, sizeof(path), UV_DBG "%s/times", uv_fi_attrs[i]);
		t[i] = uv_read_file(path, buf, sizeof(buf)) ? 0 :
		       1000000000L - atol(buf);
	}
}

static char uv_fi_armed[64];

static int uv_fi_arm(const char *func, int err)
{
	char path[160], val[32];

	if (uv_write_file(UV_DBG "fail_function/inject", func))
		return -1;
	uv_copy(uv_fi_armed, sizeof(uv_fi_armed), func);
	snprintf(path, sizeof(path), UV_DBG "fail_function/%s/retval", func);
	snprintf(val, sizeof(val), "%#llx", (unsigned long long)-(long long)err);
	return uv_write_file(path, val);
}

static void uv_fi_disarm(const char *func)
{
	char buf[80];

	snprintf(buf, sizeof(buf), "!%.70s", func);
	uv_write_file(UV_DBG "fail_function/inject", buf);
	uv_fi_armed[0] = 0;
}

/* Disarm and restore whatever the sweep left, even after an ASSERT */
static void uv_fi_cleanup(void)
{
	if (uv_fi_armed[0])
		uv_fi_disarm(uv_fi_armed);
	uv_fi_restore();
}

/* Is @func's kprobe an ftrace one?  1 yes, 0 no (int3), -1 not found */
static int uv_fi_kprobe_ftrace(const char *func)
{
	char line[256], *p;
	int ret = -1;
	FILE *f;

	f = fopen(UV_DBG "kprobes/list", "r");
	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f)) {
		p = strstr(line, func);
		if (p && p[strlen(func)] == '+')
			ret = !!strstr(line, "[FTRACE]");
	}
	fclose(f);
	return ret;
}

/* The module's ALLOW_ERROR_INJECTION() functions, from the kernel's list */
static unsigned int uv_fi_functions(char names[][64], unsigned int max)
{
	unsigned int n = 0;
	char line[256];
	FILE *f;

	f = fopen(UV_DBG "error_injection/list", "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[uvirtio]"))
			continue;
		line[strcspn(line, " \t\n")] = 0;
		uv_copy(names[n++], 64, line);
	}
	fclose(f);
	return n;
}

static int uv_fi_retval(const char *func)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uv_fi_retvals); i++)
		if (!strcmp(uv_fi_retvals[i].func, func))
			return uv_fi_retvals[i].err;
	return ENOMEM;
}

static int uv_fi_nth_set(int nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nth, buf, len, 0) == len ? 0 : -1;
}

/*
 * After the call: did its fault fire?  Leaves the counter at 0.  Reading
 * the counter copies to user space, itself a fault point while the
 * counter runs: a counter the call left at 1 fails this read (EFAULT) and
 * is used up by it.  A counter left higher is cleared by the write, or
 * used up by the write's own copy.
 */
static bool uv_fi_nth_fired(int nth)
{
	char buf[16] = "";

	if (pread(nth, buf, sizeof(buf) - 1, 0) <= 0)
		return false;
	if (!strtoul(buf, NULL, 10))
		return true;
	uv_fi_nth_set(nth, 0);
	return false;
}

static long uv_fi_nth_get(int nth)
{
	char buf[16] = "";

	if (pread(nth, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* The device's debugfs stats that a failed call must leave alone */
struct uv_fi_stats {
	long owner, pinned, mappings, bufs, bytes, irq_type;
};

static int uv_fi_stats(const char *bdf, struct uv_fi_stats *s)
{
	static const char * const keys[] = {
		"owner_pid", "pinned_pages", "mappings", "coherent_buffers",
		"coherent_bytes", "irq_type",
	};
	long *v[] = {
		&s->owner, &s->pinned, &s->mappings, &s->bufs, &s->bytes,
		&s->irq_type,
	};
	char path[PATH_MAX], line[256];
	unsigned int i, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), UV_DBG "uvirtio/%s/stats", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t len = strlen(keys[i]);

			if (!strncmp(line, keys[i], len) && line[len] == ':') {
				*v[i] = atol(line + len + 1);
				found++;
			}
		}
	}
	fclose(f);
	return found == ARRAY_SIZE(keys) ? 0 : -1;
}

/* Everything the sweep's calls work with; filled before the fault is armed */
struct uv_fi {
	struct _test_data_dev *self;
	char *buf;			/* 8 pages for DMA_MAP */
	int efd, efd2;
	int newfd;			/* DEVICE_OPEN */
	void *map;			/* mmap */
	size_t maplen;
	off_t mapoff;			/* DMA buffer, for mmap */
	off_t baroff;			/* a BAR page, for mmap */
	uint64_t handle;		/* mapping or buffer of the setup */
	uint32_t cfg;
	union {
		struct uvirtio_api_version ver;
		struct uvirtio_list_devices list;
		struct uvirtio_device_open open;
		struct uvirtio_device_info info;
		struct uvirtio_region_info region;
		struct uvirtio_dma_map dmap;
		struct uvirtio_dma_unmap unmap;
		struct uvirtio_dma_alloc alloc;
		struct uvirtio_dma_free free;
		struct uvirtio_irq_enable enable;
		struct uvirtio_irq_disable disable;
		struct uvirtio_irq_set_eventfd seteventfd;
		struct uvirtio_irq_set_affinity affinity;
		struct uvirtio_irq_mask mask;
		struct uvirtio_irq_trigger trigger;
		struct uvirtio_device_reset reset;
		struct uvirtio_set_remove_eventfd remove;
		struct uvirtio_iova_ranges ranges;
	} a;
	struct uvirtio_iova_range rng[4];
	struct uvirtio_dma_segment seg[4];
	struct uvirtio_device_entry entries[8];
};

#define UV_FI_DMA	(1U << 0)	/* DMA is allowed */
#define UV_FI_MSIX	(1U << 1)
#define UV_FI_INTX	(1U << 2)
#define UV_FI_FLR	(1U << 3)
#define UV_FI_BAR	(1U << 4)	/* a BAR page can be mmapped */
#define UV_FI_XLAT	(1U << 5)	/* translated: fixed IOVAs, ranges */

/*
 * One call under test.  @setup and @cleanup bracket each attempt, @fill
 * sets the arguments before each call, @undo reverses a successful call,
 * and @verify checks, after a failed one, what the stats cannot show.
 * @errnos: what an injected fault may make the call return (uapi.rst:
 * EFAULT for any ioctl whose struct cannot be copied, and the resource
 * errors of each call).
 *
 * Two kernel paths must not fail under the sweep, because a failure
 * there is not reported to uvirtio but breaks the test machine:
 *
 * - genirq's register_irq_proc() ignores a /proc/irq/<n> entry it could
 *   not create, and unregister_irq_proc() WARNs when the descriptor is
 *   freed (a fresh one each MSI-X IRQ_ENABLE);
 * - DMA-API debug's add_dma_entry() turns DMA-API debug off for good when
 *   its cacheline tree cannot grow.
 *
 * @reject names that function: with the stack-trace filter
 * (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER), faults under it are
 * rejected.  Without the filter, pass 1 stops at @marker, a module
 * function armed with fail_function whose fault marks the spot, or after
 * UV_FI_MARKER_CAP faults should it be missed; the DMA cases still run
 * and may turn DMA-API debug off (the test says so).
 */
struct uv_fi_case {
	const char *name;
	unsigned int needs;
	int errnos[8];
	const char *reject;
	const char *marker;
	int (*setup)(struct uv_fi *fi);
	void (*fill)(struct uv_fi *fi);
	int (*call)(struct uv_fi *fi);
	void (*undo)(struct uv_fi *fi);
	int (*verify)(struct uv_fi *fi);
	int (*cleanup)(struct uv_fi *fi);
};

static int uv_fi_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

#define UV_FI_ARG(fi, member) ({					\
	memset(&(fi)->a, 0, sizeof((fi)->a));				\
	(fi)->a.member.size = sizeof((fi)->a.member);			\
	&(fi)->a.member;						\
})

static int uv_fi_msix(struct uv_fi *fi, unsigned int count)
{
	struct uvirtio_irq_enable en = {
		.size = sizeof(en), .type = UVIRTIO_IRQ_MSIX, .count = count,
	};

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_ENABLE, &en);
}

static int uv_fi_irq_off(struct uv_fi *fi)
{
	struct uvirtio_irq_disable dis = { .size = sizeof(dis) };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_DISABLE, &dis);
}

static int uv_fi_set_efd(struct uv_fi *fi, int efd)
{
	struct uvirtio_irq_set_eventfd se = { .size = sizeof(se), .fd = efd };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se);
}

static int uv_fi_dma_map(struct uv_fi *fi, uint64_t *handle)
{
	struct uvirtio_dma_map m = {
		.size = sizeof(m), .flags = UVIRTIO_DMA_BIDIRECTIONAL,
		.vaddr = (uintptr_t)fi->buf, .length = 8 * PAGE,
	};
	int ret = uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_MAP, &m);

	*handle = m.handle;
	return ret;
}

static int uv_fi_dma_unmap(struct uv_fi *fi, uint64_t handle)
{
	struct uvirtio_dma_unmap u = { .size = sizeof(u), .handle = handle };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_UNMAP, &u);
}

static int uv_fi_dma_alloc(struct uv_fi *fi, uint64_t *handle, off_t *off)
{
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = 2 * PAGE };
	int ret = uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_ALLOC, &a);

	*handle = a.handle;
	*off = a.mmap_offset;
	return ret;
}

static int uv_fi_dma_free(struct uv_fi *fi, uint64_t handle)
{
	struct uvirtio_dma_free f = { .size = sizeof(f), .handle = handle };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_FREE, &f);
}

/* control fd */

static void fill_api_version(struct uv_fi *fi)
{
	UV_FI_ARG(fi, ver);
}

static int call_api_version(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->ctl, UVIRTIO_GET_API_VERSION, &fi->a);
}

static void fill_list(struct uv_fi *fi)
{
	struct uvirtio_list_devices *l = UV_FI_ARG(fi, list);

	l->count = ARRAY_SIZE(fi->entries);
	l->entry_size = sizeof(fi->entries[0]);
	l->entries = (uintptr_t)fi->entries;
}

static int call_list(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->ctl, UVIRTIO_LIST_DEVICES, &fi->a);
}

static int setup_open(struct uv_fi *fi)
{
	close(fi->self->fd);
	fi->self->fd = -1;
	return 0;
}

static void fill_open(struct uv_fi *fi)
{
	UV_FI_ARG(fi, open)->pci_addr = uv_pci_addr(fi->self->bdf);
}

static int call_open(struct uv_fi *fi)
{
	int ret = uv_fi_ioctl(fi->self->ctl, UVIRTIO_DEVICE_OPEN, &fi->a);

	fi->newfd = ret ? -1 : fi->a.open.fd;
	return ret;
}

static void undo_open(struct uv_fi *fi)
{
	close(fi->newfd);
}

static int cleanup_open(struct uv_fi *fi)
{
	fi->self->fd = uv_open_device(fi->self->bdf);
	return fi->self->fd < 0 ? -1 : 0;
}

/* device fd: information */

static void fill_info(struct uv_fi *fi)
{
	UV_FI_ARG(fi, info);
}

static int call_info(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DEVICE_GET_INFO, &fi->a);
}

static void fill_region(struct uv_fi *fi)
{
	UV_FI_ARG(fi, region)->index = UVIRTIO_REGION_CONFIG;
}

static int call_region(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_REGION_GET_INFO, &fi->a);
}

static int call_pread(struct uv_fi *fi)
{
	ssize_t n = pread(fi->self->fd, &fi->cfg, sizeof(fi->cfg),
			  UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG));

	return n == sizeof(fi->cfg) ? 0 : n < 0 ? -errno : -EIO;
}

static int call_mmap_bar(struct uv_fi *fi)
{
	fi->maplen = PAGE;
	fi->map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fi->self->fd, fi->baroff);
	return fi->map == MAP_FAILED ? -errno : 0;
}

static void undo_mmap(struct uv_fi *fi)
{
	munmap(fi->map, fi->maplen);
}

/* device fd: DMA */

static int setup_dma_map(struct uv_fi *fi)
{
	memset(fi->buf, 1, 8 * PAGE);	/* populated: no fault-in */
	return 0;
}

/* A fresh, unpopulated range: pinning faults every page in. */
static int setup_dma_map_fresh(struct uv_fi *fi)
{
	void *p = mmap(fi->buf, 8 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return p == fi->buf ? 0 : -1;
}

static void fill_dma_map(struct uv_fi *fi)
{
	struct uvirtio_dma_map *m = UV_FI_ARG(fi, dmap);

	m->flags = UVIRTIO_DMA_BIDIRECTIONAL;
	m->vaddr = (uintptr_t)fi->buf;
	m->length = 8 * PAGE;
	m->nr_segments = ARRAY_SIZE(fi->seg);
	m->segments = (uintptr_t)fi->seg;
}

/* The same at a caller-chosen IOVA, 1 GiB (usable on every IOMMU here) */
static void fill_dma_map_fixed(struct uv_fi *fi)
{
	fill_dma_map(fi);
	fi->a.dmap.flags |= UVIRTIO_DMA_FIXED_IOVA;
	fi->a.dmap.iova = 1ULL << 30;
}

static void fill_iova_ranges(struct uv_fi *fi)
{
	struct uvirtio_iova_ranges *r = UV_FI_ARG(fi, ranges);

	r->num_ranges = ARRAY_SIZE(fi->rng);
	r->ranges = (uintptr_t)fi->rng;
}

static int call_iova_ranges(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IOVA_RANGES, &fi->a);
}

static int call_dma_map(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_MAP, &fi->a);
}

static void undo_dma_map(struct uv_fi *fi)
{
	uv_fi_dma_unmap(fi, fi->a.dmap.handle);
}

static int setup_dma_unmap(struct uv_fi *fi)
{
	memset(fi->buf, 1, 8 * PAGE);
	return uv_fi_dma_map(fi, &fi->handle);
}

static void fill_dma_unmap(struct uv_fi *fi)
{
	UV_FI_ARG(fi, unmap)->handle = fi->handle;
}

static int call_dma_unmap(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_UNMAP, &fi->a);
}

static int cleanup_dma_unmap(struct uv_fi *fi)
{
	uv_fi_dma_unmap(fi, fi->handle);	/* ENOENT once unmapped */
	return 0;
}

static void fill_dma_alloc(struct uv_fi *fi)
{
	UV_FI_ARG(fi, alloc)->length = 2 * PAGE;
}

static int call_dma_alloc(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_ALLOC, &fi->a);
}

static void undo_dma_alloc(struct uv_fi *fi)
{
	uv_fi_dma_free(fi, fi->a.alloc.handle);
}

static int setup_dma_buf(struct uv_fi *fi)
{
	return uv_fi_dma_alloc(fi, &fi->handle, &fi->mapoff);
}

static void fill_dma_free(struct uv_fi *fi)
{
	UV_FI_ARG(fi, free)->handle = fi->handle;
}

static int call_dma_free(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_FREE, &fi->a);
}

static int cleanup_dma_buf(struct uv_fi *fi)
{
	uv_fi_dma_free(fi, fi->handle);		/* ENOENT once freed */
	return 0;
}

static int call_mmap_dma(struct uv_fi *fi)
{
	fi->maplen = 2 * PAGE;
	fi->map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fi->self->fd, fi->mapoff);
	return fi->map == MAP_FAILED ? -errno : 0;
}

/* device fd: interrupts */

static void fill_msix(struct uv_fi *fi)
{
	struct uvirtio_irq_enable *en = UV_FI_ARG(fi, enable);

	en->type = UVIRTIO_IRQ_MSIX;
	/* two vectors, so a failure on the second must free the first */
	en->count = fi->self->info.num_msix < 2 ? 1 : 2;
}

static void fill_intx(struct uv_fi *fi)
{
	struct uvirtio_irq_enable *en = UV_FI_ARG(fi, enable);

	en->type = UVIRTIO_IRQ_INTX;
	en->count = 1;
}

static int call_irq_enable(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_ENABLE, &fi->a);
}

static void undo_irq_enable(struct uv_fi *fi)
{
	uv_fi_irq_off(fi);
}

static int setup_vector(struct uv_fi *fi)
{
	return uv_fi_msix(fi, 1);
}

static int cleanup_vector(struct uv_fi *fi)
{
	int ret = uv_fi_irq_off(fi);

	if (fi->efd >= 0)
		close(fi->efd);
	if (fi->efd2 >= 0)
		close(fi->efd2);
	fi->efd = -1;
	fi->efd2 = -1;
	return ret;
}

/* vector 0 signals efd; the call moves it to efd2 */
static int setup_set_eventfd(struct uv_fi *fi)
{
	fi->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fi->efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fi->efd < 0 || fi->efd2 < 0 || uv_fi_msix(fi, 1))
		return -1;
	return uv_fi_set_efd(fi, fi->efd);
}

static void fill_set_eventfd(struct uv_fi *fi)
{
	UV_FI_ARG(fi, seteventfd)->fd = fi->efd2;
}

static int call_set_eventfd(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_SET_EVENTFD, &fi->a);
}

/* A failed SET_EVENTFD keeps the old eventfd. */
static int verify_set_eventfd(struct uv_fi *fi)
{
	struct uvirtio_irq_trigger tr = { .size = sizeof(tr) };

	if (uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_TRIGGER, &tr))
		return -1;
	return uv_eventfd_count(fi->efd) == 1 &&
	       uv_eventfd_count(fi->efd2) == 0 ? 0 : -1;
}

static void fill_affinity(struct uv_fi *fi)
{
	UV_FI_ARG(fi, affinity)->cpu = 0;
}

static int call_affinity(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_SET_AFFINITY, &fi->a);
}

static void fill_mask(struct uv_fi *fi)
{
	UV_FI_ARG(fi, mask);
}

static int call_mask(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_MASK, &fi->a);
}

static void undo_mask(struct uv_fi *fi)
{
	struct uvirtio_irq_mask mk = {
		.size = sizeof(mk), .flags = UVIRTIO_IRQ_MASK_UNMASK,
	};

	uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_MASK, &mk);
}

static int setup_trigger(struct uv_fi *fi)
{
	fi->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fi->efd < 0 || uv_fi_msix(fi, 1))
		return -1;
	return uv_fi_set_efd(fi, fi->efd);
}

static void fill_trigger(struct uv_fi *fi)
{
	UV_FI_ARG(fi, trigger);
}

static int call_trigger(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_TRIGGER, &fi->a);
}

static void undo_trigger(struct uv_fi *fi)
{
	uv_eventfd_count(fi->efd);
}

static void fill_irq_disable(struct uv_fi *fi)
{
	UV_FI_ARG(fi, disable);
}

static int call_irq_disable(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_DISABLE, &fi->a);
}

/* device fd: reset and removal */

static void fill_reset(struct uv_fi *fi)
{
	UV_FI_ARG(fi, reset);
}

static void fill_flr(struct uv_fi *fi)
{
	UV_FI_ARG(fi, reset)->flags = UVIRTIO_RESET_FLR;
}

static int call_reset(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DEVICE_RESET, &fi->a);
}

static int setup_remove_eventfd(struct uv_fi *fi)
{
	fi->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return fi->efd < 0 ? -1 : 0;
}

static void fill_remove_eventfd(struct uv_fi *fi)
{
	UV_FI_ARG(fi, remove)->fd = fi->efd;
}

static int call_remove_eventfd(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &fi->a);
}

static int cleanup_remove_eventfd(struct uv_fi *fi)
{
	struct uvirtio_set_remove_eventfd re = { .size = sizeof(re), .fd = -1 };
	int ret = uv_fi_ioctl(fi->self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &re);

	close(fi->efd);
	fi->efd = -1;
	return ret;
}

static const struct uv_fi_case uv_fi_cases[] = {
	{
		.name = "GET_API_VERSION",
		.errnos = { EFAULT },
		.fill = fill_api_version,
		.call = call_api_version,
	},
	{
		.name = "LIST_DEVICES",
		.errnos = { EFAULT, ENOMEM },
		.fill = fill_list,
		.call = call_list,
	},
	{
		.name = "DEVICE_OPEN",
		.errnos = { EFAULT, ENOMEM, EMFILE, ENFILE, ETIMEDOUT, EBUSY },
		.setup = setup_open,
		.fill = fill_open,
		.call = call_open,
		.undo = undo_open,
		.cleanup = cleanup_open,
	},
	{
		.name = "DEVICE_GET_INFO",
		.errnos = { EFAULT },
		.fill = fill_info,
		.call = call_info,
	},
	{
		.name = "REGION_GET_INFO",
		.errnos = { EFAULT },
		.fill = fill_region,
		.call = call_region,
	},
	{
		.name = "pread(config)",
		.errnos = { EFAULT },
		.call = call_pread,
	},
	{
		.name = "mmap(BAR)",
		.needs = UV_FI_BAR,
		.errnos = { ENOMEM },
		.call = call_mmap_bar,
		.undo = undo_mmap,
	},
	{
		.name = "DMA_MAP",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT, ENOMEM },
		.reject = "add_dma_entry",
		.setup = setup_dma_map,
		.fill = fill_dma_map,
		.call = call_dma_map,
		.undo = undo_dma_map,
	},
	{
		.name = "DMA_MAP(fixed IOVA)",
		.needs = UV_FI_XLAT,
		.errnos = { EFAULT, ENOMEM },
		.setup = setup_dma_map,
		.fill = fill_dma_map_fixed,
		.call = call_dma_map,
		.undo = undo_dma_map,
	},
	{
		.name = "IOVA_RANGES",
		.needs = UV_FI_XLAT,
		.errnos = { EFAULT, ENOMEM },
		.fill = fill_iova_ranges,
		.call = call_iova_ranges,
	},
	{
		.name = "DMA_MAP(fault-in)",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT, ENOMEM },
		.reject = "add_dma_entry",
		.setup = setup_dma_map_fresh,
		.fill = fill_dma_map,
		.call = call_dma_map,
		.undo = undo_dma_map,
	},
	{
		.name = "DMA_UNMAP",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT },
		.setup = setup_dma_unmap,
		.fill = fill_dma_unmap,
		.call = call_dma_unmap,
		.cleanup = cleanup_dma_unmap,
	},
	{
		.name = "DMA_ALLOC",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT, ENOMEM },
		.reject = "add_dma_entry",
		.fill = fill_dma_alloc,
		.call = call_dma_alloc,
		.undo = undo_dma_alloc,
	},
	{
		.name = "DMA_FREE",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT },
		.setup = setup_dma_buf,
		.fill = fill_dma_free,
		.call = call_dma_free,
		.cleanup = cleanup_dma_buf,
	},
	{
		.name = "mmap(DMA buffer)",
		.needs = UV_FI_DMA,
		.errnos = { ENOMEM },
		.setup = setup_dma_buf,
		.call = call_mmap_dma,
		.undo = undo_mmap,
		.cleanup = cleanup_dma_buf,
	},
	{
		.name = "IRQ_ENABLE(MSI-X)",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT, ENOMEM, ENOSPC },
		.reject = "register_irq_proc",
		.marker = "uvirtio_irq_alloc_vectors",
		.fill = fill_msix,
		.call = call_irq_enable,
		.undo = undo_irq_enable,
	},
	{
		.name = "IRQ_ENABLE(INTx)",
		.needs = UV_FI_INTX,
		.errnos = { EFAULT, ENOMEM, ENOSPC },
		.reject = "register_irq_proc",
		.fill = fill_intx,
		.call = call_irq_enable,
		.undo = undo_irq_enable,
	},
	{
		.name = "IRQ_SET_EVENTFD",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT, EBADF },
		.setup = setup_set_eventfd,
		.fill = fill_set_eventfd,
		.call = call_set_eventfd,
		.verify = verify_set_eventfd,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_SET_AFFINITY",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT, ENOMEM, ENOSPC },
		.setup = setup_vector,
		.fill = fill_affinity,
		.call = call_affinity,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_MASK",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT },
		.setup = setup_vector,
		.fill = fill_mask,
		.call = call_mask,
		.undo = undo_mask,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_TRIGGER",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT },
		.setup = setup_trigger,
		.fill = fill_trigger,
		.call = call_trigger,
		.undo = undo_trigger,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_DISABLE",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT },
		.setup = setup_vector,
		.fill = fill_irq_disable,
		.call = call_irq_disable,
		.cleanup = cleanup_vector,
	},
	{
		.name = "DEVICE_RESET",
		.errnos = { EFAULT, ETIMEDOUT },
		.fill = fill_reset,
		.call = call_reset,
	},
	{
		.name = "DEVICE_RESET(FLR)",
		.needs = UV_FI_FLR,
		.errnos = { EFAULT, EAGAIN, ETIMEDOUT },
		.fill = fill_flr,
		.call = call_reset,
	},
	{
		.name = "SET_REMOVE_EVENTFD",
		.errnos = { EFAULT, EBADF },
		.setup = setup_remove_eventfd,
		.fill = fill_remove_eventfd,
		.call = call_remove_eventfd,
		.cleanup = cleanup_remove_eventfd,
	},
};

/* Faults injected into one case, and how they ended */
struct uv_fi_tally {
	unsigned int faults;		/* counted faults */
	unsigned int clean;		/* counted, errno allowed, device usable */
	unsigned int absorbed;		/* counted, and the call succeeded */
	unsigned int by_attr[UV_FI_NR];	/* every fault, by attribute */
};

static bool uv_fi_errno_ok(const struct uv_fi_case *c, int err)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c->errnos) && c->errnos[i]; i++)
		if (c->errnos[i] == err)
			return true;
	return false;
}

/* Pages pinned and unpinned so far, from one refresh of /proc/vmstat */
static void uv_fi_pins(long *acq, long *rel)
{
	char line[256];
	FILE *f;

	*acq = -1;
	*rel = -2;
	uv_write_file("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "nr_foll_pin_acquired ", 21))
			*acq = atol(line + 21);
		else if (!strncmp(line, "nr_foll_pin_released ", 21))
			*rel = atol(line + 21);
	}
	fclose(f);
}

/* After a case's clean-up: nothing held, every pin released */
static bool uv_fi_idle(struct __test_metadata *_metadata, struct uv_fi *fi,
		       const char *what)
{
	struct uv_fi_stats s;
	long acq, rel;

	if (uv_fi_stats(fi->self->bdf, &s)) {
		TH_LOG("%s: no uvirtio stats for %s", what, fi->self->bdf);
		return false;
	}
	uv_fi_pins(&acq, &rel);
	if (s.owner != getpid() || s.pinned || s.mappings || s.bufs ||
	    s.bytes || s.irq_type || acq != rel) {
		TH_LOG("%s: left behind: owner %ld pinned %ld mappings %ld buffers %ld bytes %ld irq_type %ld pins %ld/%ld",
		       what, s.owner, s.pinned, s.mappings, s.bufs, s.bytes,
		       s.irq_type, acq, rel);
		return false;
	}
	return true;
}

/* How many fault points @c's call goes through now (0 on an error) */
static unsigned int uv_fi_count(struct uv_fi *fi, int nth,
				const struct uv_fi_case *c)
{
	const unsigned int big = 1000000;
	long left;
	int ret;

	if (c->setup && c->setup(fi))
		return 0;
	if (c->fill)
		c->fill(fi);
	if (uv_fi_nth_set(nth, big))
		return 0;
	ret = c->call(fi);
	left = uv_fi_nth_get(nth);	/* before this read's own point */
	uv_fi_nth_set(nth, 0);
	if (!ret && c->undo)
		c->undo(fi);
	if (c->cleanup)
		c->cleanup(fi);
	return left > 0 && left <= big ? big - left : 0;
}

/*
 * Sweep @c: fail its first, second, ... fault point until a call reaches
 * none, or a fault of @stop_attr fired (not counted; -1: none).
 * @count_attr: count only faults of this attribute in @t->faults and
 * @t->clean (-1: all).  Returns false if a fault was not clean.
 */
static bool uv_fi_sweep(struct __test_metadata *_metadata, struct uv_fi *fi,
			int nth, const struct uv_fi_case *c, const char *pass,
			int count_attr, int stop_attr, struct uv_fi_tally *t)
{
	unsigned int n, max = stop_attr < 0 ? UV_FI_MAX_NTH : UV_FI_MARKER_CAP;
	struct uv_fi_stats before, after;
	long t0[UV_FI_NR], t1[UV_FI_NR];
	unsigned int misses = 0;
	char what[128];
	bool ok = true;

	for (n = 1; n <= max; n++) {
		int ret, attr = -1, i;
		bool fired, stop, counted;

		snprintf(what, sizeof(what), "%s %s fail-nth %u", pass, c->name,
			 n);
		if (c->setup && c->setup(fi)) {
			TH_LOG("%s: setup failed: %s", what, strerror(errno));
			return false;
		}
		if (uv_fi_stats(fi->self->bdf, &before)) {
			TH_LOG("%s: no uvirtio stats", what);
			return false;
		}
		if (c->fill)
			c->fill(fi);
		uv_fi_times(t0);
		if (uv_fi_nth_set(nth, n)) {
			TH_LOG("%s: cannot set fail-nth", what);
			return false;
		}
		ret = c->call(fi);
		fired = uv_fi_nth_fired(nth);
		uv_fi_times(t1);
		if (uv_fi_nth_get(nth) != 0) {
			TH_LOG("%s: fail-nth not back at 0", what);
			uv_fi_nth_set(nth, 0);
			ok = false;
		}
		for (i = 0; i < UV_FI_NR; i++)
			if (t1[i] != t0[i])
				attr = i;
		stop = fired && stop_attr >= 0 && attr == stop_attr;
		if (fired && attr >= 0 && !stop)
			t->by_attr[attr]++;
		counted = fired && !stop &&
			  (count_attr < 0 || attr == count_attr);
		t->faults += counted;

		if (!ret) {
			t->absorbed += counted;
			if (c->undo)
				c->undo(fi);
		} else {
			if (!fired) {
				TH_LOG("%s: failed without a fault: %s", what,
				       strerror(-ret));
				ok = false;
			} else if (!uv_fi_errno_ok(c, -ret)) {
				TH_LOG("%s: %s fault gave errno %d (%s), not documented for the call",
				       what, attr >= 0 ? uv_fi_attrs[attr] : "?",
				       -ret, strerror(-ret));
				ok = false;
			}
			if (uv_fi_stats(fi->self->bdf, &after) ||
			    memcmp(&before, &after, sizeof(before))) {
				TH_LOG("%s: the failed call changed the device: mappings %ld->%ld buffers %ld->%ld pinned %ld->%ld irq_type %ld->%ld owner %ld->%ld",
				       what, before.mappings, after.mappings,
				       before.bufs, after.bufs, before.pinned,
				       after.pinned, before.irq_type,
				       after.irq_type, before.owner,
				       after.owner);
				ok = false;
			}
			if (c->verify && c->verify(fi)) {
				TH_LOG("%s: state changed by the failed call",
				       what);
				ok = false;
			}
			/* still usable: the same call works */
			if (c->fill)
				c->fill(fi);
			ret = c->call(fi);
			if (ret) {
				TH_LOG("%s: fails again without a fault: %s",
				       what, strerror(-ret));
				ok = false;
			} else if (c->undo) {
				c->undo(fi);
			}
		}
		if (c->cleanup && c->cleanup(fi)) {
			TH_LOG("%s: clean-up failed: %s", what, strerror(errno));
			return false;
		}
		if (!uv_fi_idle(_metadata, fi, what))
			ok = false;
		if (!ok)
			return false;
		t->clean += counted;
		if (stop)
			return true;
		/*
		 * Points that may or may not be there (slab refills, IOVA
		 * magazines, debug pools) make the count vary a little: it
		 * is the end only if the call now has fewer than n points.
		 */
		if (!fired) {
			if (misses++ == 3 || uv_fi_count(fi, nth, c) < n)
				return true;
			n--;
		}
	}
	if (stop_attr >= 0) {
		TH_LOG("%s: marker not reached in %u faults: stopped", c->name,
		       max);
		return true;
	}
	TH_LOG("%s: still faulting after %u points", c->name, max);
	return false;
}

/* Which cases this device and IOMMU mode allow */
static unsigned int uv_fi_have(struct __test_metadata *_metadata,
			       struct _test_data_dev *self, struct uv_fi *fi)
{
	const struct uvirtio_virtio_cap *cc =
		&self->info.caps[UVIRTIO_VCAP_COMMON];
	struct uvirtio_region_info r;
	unsigned int have = 0;
	uint64_t off;

	if (uv_dma_ok(_metadata, self))
		have |= UV_FI_DMA;
	if (self->info.iommu_mode == UVIRTIO_IOMMU_TRANSLATED)
		have |= UV_FI_XLAT;
	if (self->info.num_msix)
		have |= UV_FI_MSIX;
	if (self->info.flags & UVIRTIO_DEVICE_INFO_INTX)
		have |= UV_FI_INTX;
	if (self->info.flags & UVIRTIO_DEVICE_INFO_FLR)
		have |= UV_FI_FLR;
	/* the page of the common configuration, outside the MSI-X range */
	if (cc->present && !uv_region(self->fd, cc->bar, &r) &&
	    (r.flags & UVIRTIO_REGION_INFO_MMAP)) {
		off = cc->offset & ~(PAGE - 1);
		if (off + PAGE <= r.region_size &&
		    (off >= r.msix_end || off + PAGE <= r.msix_start)) {
			fi->baroff = r.offset + off;
			have |= UV_FI_BAR;
		}
	}
	return have;
}

/* Kernel functions whose faults the stack-trace filter rejects */
static struct uv_fi_range {
	const char *sym;
	unsigned long long start, end;	/* [address, next symbol) */
} uv_fi_ranges[] = {
	{ .sym = "register_irq_proc" },
	{ .sym = "add_dma_entry" },
};

/* Find every uv_fi_ranges[] symbol; false if the filter cannot be used */
static bool uv_fi_find_ranges(void)
{
	char line[512], sym[256], type;
	unsigned long long a;
	unsigned int i;
	bool ok = true;
	FILE *f;

	if (access(UV_DBG "failslab/reject-start", F_OK) ||
	    access(UV_DBG "fail_page_alloc/reject-start", F_OK))
		return false;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
		uv_fi_ranges[i].end = ~0ULL;
	/* the start of each symbol, then the closest address above it */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) != 3)
			continue;
		for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
			if (!strcmp(sym, uv_fi_ranges[i].sym))
				uv_fi_ranges[i].start = a;
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) != 3)
			continue;
		for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
			if (a > uv_fi_ranges[i].start && a < uv_fi_ranges[i].end)
				uv_fi_ranges[i].end = a;
	}
	fclose(f);
	for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
		ok &= uv_fi_ranges[i].start && uv_fi_ranges[i].end != ~0ULL;
	return ok;
}

/* Reject slab and page faults under @sym (NULL: none) */
static int uv_fi_reject(const char *sym)
{
	unsigned long long start = 0, end = 0;
	char val[32];
	unsigned int i;
	int attr;

	for (i = 0; sym && i < ARRAY_SIZE(uv_fi_ranges); i++) {
		if (!strcmp(sym, uv_fi_ranges[i].sym)) {
			start = uv_fi_ranges[i].start;
			end = uv_fi_ranges[i].end;
		}
	}
	if (sym && !start)
		return -1;
	for (attr = UV_FI_SLAB; attr <= UV_FI_PAGE; attr++) {
		snprintf(val, sizeof(val), "%#llx", start);
		if (uv_fi_set_attr(attr, "reject-start", val))
			return -1;
		snprintf(val, sizeof(val), "%#llx", end);
		if (uv_fi_set_attr(attr, "reject-end", val))
			return -1;
	}
	return 0;
}

/*
 * One pass over every case; adds to @total.  @count_attr as for
 * uv_fi_sweep().  @filter: the stack-trace filter rejects each case's
 * @reject; else stop at @marker if @use_marker.  Returns false on a
 * failure.
 */
static bool uv_fi_pass(struct __test_metadata *_metadata, struct uv_fi *fi,
		       int nth, unsigned int have, const char *pass,
		       int count_attr, bool filter, bool use_marker,
		       struct uv_fi_tally *total, struct uv_fi_tally *per_case)
{
	bool all_ok = true;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(uv_fi_cases); i++) {
		const struct uv_fi_case *c = &uv_fi_cases[i];
		bool marked = !filter && use_marker && c->marker;
		struct uv_fi_tally t = {};
		bool ok;

		if ((c->needs & have) != c->needs)
			continue;
		if (filter && uv_fi_reject(c->reject)) {
			TH_LOG("%s: cannot reject faults under %s", c->name,
			       c->reject);
			all_ok = false;
			continue;
		}
		if (marked && uv_fi_arm(c->marker, ENOMEM)) {
			TH_LOG("%s: cannot arm %s", c->name, c->marker);
			all_ok = false;
			continue;
		}
		ok = uv_fi_sweep(_metadata, fi, nth, c, pass, count_attr,
				 marked ? UV_FI_FUNC : -1, &t);
		if (marked)
			uv_fi_disarm(c->marker);
		all_ok &= ok;
		if (count_attr < 0 || t.faults)
			TH_LOG("%s %s: %u faults (slab %u, page %u, usercopy %u, function %u), %u clean, %u absorbed%s%s%s",
			       pass, c->name, t.faults, t.by_attr[UV_FI_SLAB],
			       t.by_attr[UV_FI_PAGE], t.by_attr[UV_FI_USERCOPY],
			       t.by_attr[UV_FI_FUNC], t.clean, t.absorbed,
			       marked ? "; stopped at " : "",
			       marked ? c->marker : "", ok ? "" : "; FAILED");
		total->faults += t.faults;
		total->clean += t.clean;
		total->absorbed += t.absorbed;
		for (j = 0; j < UV_FI_NR; j++)
			total->by_attr[j] += t.by_attr[j];
		if (per_case)
			per_case[i].faults += t.faults;
		if (fi->self->fd < 0)
			break;	/* DEVICE_OPEN left no device fd to go on with */
	}
	return all_ok;
}

/* Y if DMA-API debug is off (or absent), N if it is on */
static char uv_dma_debug_off(void)
{
	char buf[8] = "Y";

	uv_read_file(UV_DBG "dma-api/disabled", buf, sizeof(buf));
	return buf[0];
}

TEST_F(dev, irq_msix_loopback)
{
	struct uvirtio_irq_enable en = { .size = sizeof(en) };
	struct uvirtio_irq_disable dis = { .size = sizeof(dis) };
	struct uvirtio_irq_set_eventfd se = { .size = sizeof(se) };
	struct uvirtio_irq_set_affinity af = { .size = sizeof(af) };
	struct uvirtio_irq_mask mk = { .size = sizeof(mk) };
	struct uvirtio_irq_trigger tr = { .size = sizeof(tr) };
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	unsigned int n;

	if (!self->info.num_msix)
		SKIP(return, "no MSI-X");
	ASSERT_LE(0, efd);
	n = self->info.num_msix < 2 ? self->info.num_msix : 2;

	/* nothing enabled yet */
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	en.type = UVIRTIO_IRQ_MSIX;
	en.count = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.count = self->info.num_msix + 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.type = 7;
	en.count = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.type = UVIRTIO_IRQ_MSIX;
	en.count = n;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	EXPECT_ERRNO(EBUSY, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));

	/* no eventfd: the trigger is dropped */
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	se.index = 0;
	se.fd = efd;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	EXPECT_EQ(0, uv_eventfd_count(efd));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	EXPECT_EQ(2, uv_eventfd_count(efd));
	tr.index = n;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	tr.index = 0;
	tr.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	tr.__reserved = 0;

	/* bad eventfds */
	se.fd = 0x7ffffff;
	EXPECT_ERRNO(EBADF, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	se.fd = self->ctl;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	se.fd = efd;
	se.index = n;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));

	/* affinity */
	af.index = 0;
	af.cpu = 0;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_AFFINITY, &af));
	af.cpu = -1;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_AFFINITY, &af));
	af.cpu = 4096;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_SET_AFFINITY, &af));
	af.cpu = -2;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_SET_AFFINITY, &af));

	/* mask, mask again, unmask; reserved */
	mk.index = 0;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	mk.flags = UVIRTIO_IRQ_MASK_UNMASK;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	mk.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	mk.__reserved = 0;
	mk.flags = 0;	/* left masked: disable must cope */
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));

	/* clear the eventfd */
	se.index = 0;
	se.fd = -1;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	EXPECT_EQ(0, uv_eventfd_count(efd));

	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_DISABLE, &dis));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_DISABLE, &dis));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	/* enabled again, and left enabled for release() to free */
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	se.fd = efd;
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	close(efd);
}

TEST_F(dev, irq_intx_loopback)
{
	struct uvirtio_irq_enable en = {
		.size = sizeof(en), .type = UVIRTIO_IRQ_INTX, .count = 1,
	};
	struct uvirtio_irq_set_eventfd se = { .size = sizeof(se) };
	struct uvirtio_irq_trigger tr = { .size = sizeof(tr) };
	struct uvirtio_irq_mask mk = {
		.size = sizeof(mk), .flags = UVIRTIO_IRQ_MASK_UNMASK,
	};
	struct uvirtio_irq_set_affinity af = { .size = sizeof(af) };
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	if (!(self->info.flags & UVIRTIO_DEVICE_INFO_INTX)) {
		EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, UVIRTIO_IRQ_ENABLE,
					       &en));
		SKIP(return, "no INTx pin");
	}
	en.count = 2;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	en.count = 1;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	se.fd = efd;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_TRIGGER, &tr));
	EXPECT_EQ(1, uv_eventfd_count(efd));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_MASK, &mk));
	/* affinity is for MSI-X vectors only */
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, UVIRTIO_IRQ_SET_AFFINITY, &af));
	close(efd);
}

TEST_F(dev, reset)
{
	struct uvirtio_device_reset rs = { .size = sizeof(rs) };

	const struct uvirtio_virtio_cap *cc =
		&self->info.caps[UVIRTIO_VCAP_COMMON];
	volatile uint8_t *bar = MAP_FAILED;
	struct uvirtio_region_info r;

	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_RESET, &rs));
	rs.flags = UVIRTIO_RESET_FLR;
	if (self->info.flags & UVIRTIO_DEVICE_INFO_FLR) {
		/* a live BAR mapping, faulted in before the FLR */
		if (cc->present && !uv_region(self->fd, cc->bar, &r) &&
		    (r.flags & UVIRTIO_REGION_INFO_MMAP))
			bar = mmap(NULL, r.region_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->fd, r.offset);
		if (bar != MAP_FAILED)
			bar[cc->offset + VIRTIO_PCI_COMMON_STATUS] =
				VIRTIO_CONFIG_S_ACKNOWLEDGE;
		EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_RESET, &rs));
		/* it was zapped for the reset and faults back in */
		if (bar != MAP_FAILED) {
			EXPECT_EQ(0, bar[cc->offset + VIRTIO_PCI_COMMON_STATUS]);
			munmap((void *)bar, r.region_size);
		}
	} else {
		EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, UVIRTIO_DEVICE_RESET,
					       &rs));
	}
}

/* ---- (c) a real device interrupt: one virtio-rng request ---- */

struct uv_rng {
	void *bar[6];
	size_t barlen[6];
	volatile struct virtio_pci_common_cfg *cc;
	unsigned char *ring;
	uint64_t iova;
};

static void *uv_map_bar(int fd, unsigned int bar, struct uv_rng *rng)
{
	struct uvirtio_region_info r;

	if (rng->bar[bar])
		return rng->bar[bar];
	if (uv_region(fd, bar, &r))
		return NULL;
	rng->bar[bar] = mmap(NULL, r.region_size, PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, r.offset);
	if (rng->bar[bar] == MAP_FAILED) {
		rng->bar[bar] = NULL;
		return NULL;
	}
	rng->barlen[bar] = r.region_size;
	return rng->bar[bar];
}

static int uv_wait_status_zero(volatile struct virtio_pci_common_cfg *cc)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (!cc->device_status)
			return 0;
		usleep(1000);
	}
	return -1;
}

TEST_F_TIMEOUT(dev, rng_virtqueue_interrupt, 60)
{
	const struct uvirtio_virtio_cap *caps = self->info.caps;
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = 4 * PAGE };
	struct uvirtio_irq_enable en = {
		.size = sizeof(en), .type = UVIRTIO_IRQ_MSIX, .count = 1,
	};
	struct uvirtio_irq_set_eventfd se = { .size = sizeof(se) };
	struct uv_rng rng = {};
	volatile struct virtio_pci_common_cfg *cc;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	volatile uint16_t *notify;
	struct pollfd pfd;
	uint32_t hi, want;
	uint16_t qsz, noff;
	int efd;

	if (!caps[UVIRTIO_VCAP_COMMON].present ||
	    !caps[UVIRTIO_VCAP_NOTIFY].present)
		SKIP(return, "not a virtio 1.x function");
	if (!self->info.num_msix)
		SKIP(return, "no MSI-X");
	if (!uv_dma_ok(_metadata, self)) {
		EXPECT_ERRNO(EPERM, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
		SKIP(return, "no translating IOMMU: DMA refused, cannot run a queue");
	}
	ASSERT_NE(NULL, uv_map_bar(self->fd, caps[UVIRTIO_VCAP_COMMON].bar,
				   &rng));
	ASSERT_NE(NULL, uv_map_bar(self->fd, caps[UVIRTIO_VCAP_NOTIFY].bar,
				   &rng));
	cc = (void *)((char *)rng.bar[caps[UVIRTIO_VCAP_COMMON].bar] +
		      caps[UVIRTIO_VCAP_COMMON].offset);

	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_ALLOC, &a));
	rng.ring = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->fd, a.mmap_offset);
	ASSERT_NE(MAP_FAILED, rng.ring);
	desc = (void *)rng.ring;
	avail = (void *)(rng.ring + PAGE);
	used = (void *)(rng.ring + 2 * PAGE);

	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	se.fd = efd;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se));

	/* virtio 1.x initialisation, spec 3.1.1 */
	cc->device_status = 0;
	ASSERT_EQ(0, uv_wait_status_zero(cc));
	cc->device_status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	cc->device_status |= VIRTIO_CONFIG_S_DRIVER;
	cc->device_feature_select = 1;
	hi = cc->device_feature;
	ASSERT_TRUE(hi & (1U << (VIRTIO_F_VERSION_1 - 32)));
	want = 1U << (VIRTIO_F_VERSION_1 - 32);
	if (self->info.iommu_mode == UVIRTIO_IOMMU_TRANSLATED ||
	    (hi & (1U << (VIRTIO_F_ACCESS_PLATFORM - 32))))
		want |= hi & (1U << (VIRTIO_F_ACCESS_PLATFORM - 32));
	cc->guest_feature_select = 0;
	cc->guest_feature = 0;
	cc->guest_feature_select = 1;
	cc->guest_feature = want;
	cc->device_status |= VIRTIO_CONFIG_S_FEATURES_OK;
	ASSERT_TRUE(cc->device_status & VIRTIO_CONFIG_S_FEATURES_OK);

	cc->msix_config = VIRTIO_MSI_NO_VECTOR;
	cc->queue_select = 0;
	qsz = cc->queue_size;
	ASSERT_LT(0, qsz);
	if (qsz > 8) {
		cc->queue_size = 8;
		qsz = 8;
	}
	cc->queue_msix_vector = 0;
	ASSERT_EQ(0, cc->queue_msix_vector);
	cc->queue_desc_lo = (uint32_t)a.iova;
	cc->queue_desc_hi = (uint32_t)(a.iova >> 32);
	cc->queue_avail_lo = (uint32_t)(a.iova + PAGE);
	cc->queue_avail_hi = (uint32_t)((a.iova + PAGE) >> 32);
	cc->queue_used_lo = (uint32_t)(a.iova + 2 * PAGE);
	cc->queue_used_hi = (uint32_t)((a.iova + 2 * PAGE) >> 32);
	noff = cc->queue_notify_off;
	cc->queue_enable = 1;
	cc->device_status |= VIRTIO_CONFIG_S_DRIVER_OK;
	ASSERT_FALSE(cc->device_status & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* one 64-byte device-writable buffer */
	desc[0].addr = a.iova + 3 * PAGE;
	desc[0].len = 64;
	desc[0].flags = VRING_DESC_F_WRITE;
	desc[0].next = 0;
	avail->ring[0] = 0;
	__sync_synchronize();
	avail->idx = 1;
	__sync_synchronize();
	notify = (void *)((char *)rng.bar[caps[UVIRTIO_VCAP_NOTIFY].bar] +
			  caps[UVIRTIO_VCAP_NOTIFY].offset +
			  noff * caps[UVIRTIO_VCAP_NOTIFY].notify_off_multiplier);
	*notify = 0;

	pfd.fd = efd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("no interrupt in 10 s");
	EXPECT_LE(1, uv_eventfd_count(efd));
	__sync_synchronize();
	EXPECT_EQ(1, used->idx);
	EXPECT_EQ(0, used->ring[0].id);
	EXPECT_LT(0, used->ring[0].len);
	EXPECT_GE(64, used->ring[0].len);

	/* the interrupt was counted */
	do {
		char path[PATH_MAX], line[256];
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/uvirtio/%s/stats", self->bdf);
		f = fopen(path, "r");
		if (f) {
			unsigned long long n = 0;

			while (fgets(line, sizeof(line), f))
				sscanf(line, "vector0: irq %*u interrupts %llu",
				       &n);
			fclose(f);
			EXPECT_LE(1, n);
		}
	} while (0);

	cc->device_status = 0;
	EXPECT_EQ(0, uv_wait_status_zero(cc));
	munmap(rng.ring, 4 * PAGE);
	for (int i = 0; i < 6; i++)
		if (rng.bar[i])
			munmap(rng.bar[i], rng.barlen[i]);
	close(efd);
}

/* ---- hot-unplug while open ---- */

TEST_F(dev, unbind_while_open)
{
	struct uvirtio_set_remove_eventfd re = { .size = sizeof(re) };
	struct uvirtio_region_info r;
	struct uvirtio_dma_map m = { .size = sizeof(m) };
	struct uvirtio_irq_enable en = {
		.size = sizeof(en), .type = UVIRTIO_IRQ_MSIX, .count = 1,
	};
	struct uvirtio_device_info info = { .size = sizeof(info) };
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	char *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile uint32_t *bar = NULL;
	size_t barlen = 0;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	int bar_idx = -1, status, i;
	uint32_t l;
	pid_t pid;

	ASSERT_LE(0, efd);
	ASSERT_NE(MAP_FAILED, buf);
	re.fd = efd;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &re));
	re.fd = 0x7ffffff;
	EXPECT_ERRNO(EBADF, ioctl(self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &re));
	re.fd = efd;
	ASSERT_EQ(0, ioctl(self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &re));

	/* hold everything we can: a BAR mapping, IRQs, pinned pages */
	for (i = 0; i < 6 && bar_idx < 0; i++) {
		ASSERT_EQ(0, uv_region(self->fd, i, &r));
		if ((r.flags & UVIRTIO_REGION_INFO_MMAP) &&
		    !(r.flags & UVIRTIO_REGION_INFO_MSIX))
			bar_idx = i;
	}
	if (bar_idx >= 0) {
		barlen = r.region_size >= 2 * PAGE ? 2 * PAGE : PAGE;
		bar = mmap(NULL, barlen, PROT_READ | PROT_WRITE, MAP_SHARED,
			   self->fd, r.offset);
		ASSERT_NE(MAP_FAILED, bar);
		(void)bar[0];
	}
	if (self->info.num_msix)
		EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	if (uv_dma_ok(_metadata, self)) {
		m.flags = UVIRTIO_DMA_BIDIRECTIONAL;
		m.vaddr = (uintptr_t)buf;
		m.length = 4 * PAGE;
		EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	}
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	/* remove() must not wait for us */
	do {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/uvirtio/unbind");
		ASSERT_EQ(0, uv_write_file(path, self->bdf));
	} while (0);
	EXPECT_EQ(1, uv_eventfd_count(efd));
	ASSERT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_TRUE(pfd.revents & POLLERR);

	/* later calls fail with ENODEV; GET_INFO still answers */
	EXPECT_ERRNO(ENODEV, uv_region(self->fd, 0, &r));
	EXPECT_ERRNO(ENODEV, ioctl(self->fd, UVIRTIO_IRQ_ENABLE, &en));
	EXPECT_ERRNO(ENODEV, ioctl(self->fd, UVIRTIO_DMA_MAP, &m));
	EXPECT_ERRNO(ENODEV, pread(self->fd, &l, 4,
				   UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG)));
	EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(info.flags & UVIRTIO_DEVICE_INFO_REMOVED);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->fd, 0));
	/*
	 * The BAR mapping was revoked: it now reads all-ones, like a
	 * surprise-removed function, and a write (a late doorbell) neither
	 * faults nor reaches anything: not the next page, not another
	 * process.  Checked in a child, so a SIGBUS would be reported
	 * rather than kill the test.
	 */
	if (bar) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			volatile uint32_t *w = (volatile uint32_t *)bar;

			if (w[0] != 0xffffffffU || w[PAGE / 4 - 1] != 0xffffffffU)
				_exit(2);
			w[1] = 0;
			if (barlen > PAGE && w[PAGE / 4 + 1] != 0xffffffffU)
				_exit(3);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("revoked BAR: status %#x (2: not all-ones, 3: a write showed in the next page)",
			       status);
		/* the child's write is not ours */
		EXPECT_EQ(0xffffffffU, bar[1]);
		munmap((void *)bar, barlen);
	}
	/* removal already dropped the pins */
	EXPECT_EQ(uv_vmstat("nr_foll_pin_acquired"),
		  uv_vmstat("nr_foll_pin_released"));
	/* the list no longer has it */
	do {
		struct uvirtio_device_open op = {
			.size = sizeof(op), .pci_addr = uv_pci_addr(self->bdf),
		};

		EXPECT_ERRNO(ENODEV, ioctl(self->ctl, UVIRTIO_DEVICE_OPEN, &op));
	} while (0);
	close(efd);
	munmap(buf, 4 * PAGE);
	/* teardown closes the fd, rebinds and opens the device again */
}

/*
 * Last of the dev tests: without the stack-trace filter the sweep may
 * turn DMA-API debug off, and nothing after it should lose that.
 */
TEST_F_TIMEOUT(dev, fail_nth_sweep, 500)
{
	char funcs[16][64], path[64], fired_names[1024];
	struct uv_fi_tally total = {}, pass2 = {};
	struct uv_fi_tally per_case[ARRAY_SIZE(uv_fi_cases)];
	unsigned int i, nfuncs, nfired = 0, have, swept = 0;
	struct uv_fi fi = {
		.self = self, .efd = -1, .efd2 = -1, .newfd = -1,
	};
	static const char * const need[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
		"fail_function/inject", "error_injection/list",
		"kprobes/list",
	};
	time_t t_start, t_pass1;
	int nth, ftrace;
	char dma_debug;
	bool filter;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	if (access(path, F_OK))
		SKIP(return, "no %s: needs CONFIG_FAULT_INJECTION_DEBUG_FS", path);
	for (i = 0; i < ARRAY_SIZE(need); i++) {
		char p[128];

		snprintf(p, sizeof(p), UV_DBG "%s", need[i]);
		if (access(p, F_OK))
			SKIP(return, "no %s: needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_USERCOPY, CONFIG_FAIL_FUNCTION and CONFIG_KPROBES",
			     p);
	}
	nfuncs = uv_fi_functions(funcs, ARRAY_SIZE(funcs));
	if (!nfuncs)
		SKIP(return, "uvirtio has no function in " UV_DBG "error_injection/list (CONFIG_FUNCTION_ERROR_INJECTION)");
	for (i = 0; i < nfuncs; i++)	/* left by an aborted run */
		uv_fi_disarm(funcs[i]);
	/* fail-nth counts fail_function only from an ftrace kprobe */
	ASSERT_EQ(0, uv_fi_arm(funcs[0], ENOMEM)) TH_LOG("arm %s", funcs[0]);
	ftrace = uv_fi_kprobe_ftrace(funcs[0]);
	uv_fi_disarm(funcs[0]);
	if (ftrace != 1)
		SKIP(return, "the kprobe on %s is %s: fail-nth cannot count fail_function (needs CONFIG_KPROBES_ON_FTRACE and CONFIG_DYNAMIC_FTRACE)",
		     funcs[0], ftrace ? "missing" : "an int3 one");

	fi.buf = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fi.buf);
	have = uv_fi_have(_metadata, self, &fi);
	memset(per_case, 0, sizeof(per_case));

	/*
	 * Quiet, counted, and only through fail-nth: probability 0 for the
	 * generic points; fail_function at probability 100 but with the task
	 * filter, and no task has make-it-fail.
	 */
	for (i = 0; i < UV_FI_NR; i++) {
		ASSERT_EQ(0, uv_fi_set_attr(i, "verbose", "0"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "times", UV_FI_TIMES));
		ASSERT_EQ(0, uv_fi_set_attr(i, "interval", "1"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "space", "0"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "task-filter",
					    i == UV_FI_FUNC ? "Y" : "N"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "probability",
					    i == UV_FI_FUNC ? "100" : "0"));
	}
	ASSERT_EQ(0, uv_fi_set("failslab/ignore-gfp-wait", "N"));
	ASSERT_EQ(0, uv_fi_set("failslab/cache-filter", "N"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/ignore-gfp-wait", "N"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/ignore-gfp-highmem", "N"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/min-order", "0"));
	filter = uv_fi_find_ranges();
	if (!filter)
		TH_LOG("no stack-trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER): IRQ_ENABLE(MSI-X) is swept only up to the IRQ core, and the DMA cases may turn DMA-API debug off");
	dma_debug = uv_dma_debug_off();
	nth = open(path, O_RDWR);
	ASSERT_LE(0, nth);

	/* A dry run: every case works, and its code and data are paged in. */
	for (i = 0; i < ARRAY_SIZE(uv_fi_cases); i++) {
		const struct uv_fi_case *c = &uv_fi_cases[i];
		int ret;

		if ((c->needs & have) != c->needs)
			continue;
		ASSERT_EQ(0, c->setup ? c->setup(&fi) : 0) TH_LOG("%s", c->name);
		if (c->fill)
			c->fill(&fi);
		ret = c->call(&fi);
		if (ret == -EOPNOTSUPP && (c->needs & UV_FI_INTX)) {
			TH_LOG("%s: not supported (no INTx masking): skipped",
			       c->name);
			have &= ~UV_FI_INTX;
		} else {
			EXPECT_EQ(0, ret) TH_LOG("%s: %s", c->name,
						 strerror(-ret));
			if (!ret && c->undo)
				c->undo(&fi);
		}
		ASSERT_EQ(0, c->cleanup ? c->cleanup(&fi) : 0)
			TH_LOG("%s", c->name);
		ASSERT_TRUE(uv_fi_idle(_metadata, &fi, c->name));
	}
	for (i = 0; i < ARRAY_SIZE(uv_fi_cases); i++)
		swept += (uv_fi_cases[i].needs & have) == uv_fi_cases[i].needs;
	if (!(have & UV_FI_DMA))
		TH_LOG("no DMA (no translating IOMMU): DMA cases skipped");

	/* pass 1: every allocation and user copy */
	t_start = time(NULL);
	EXPECT_TRUE(uv_fi_pass(_metadata, &fi, nth, have, "generic", -1,
			       filter, true, &total, NULL));
	if (dma_debug == 'N' && uv_dma_debug_off() == 'Y')
		TH_LOG("the sweep turned DMA-API debug off (cacheline tracking ENOMEM): later tests run without it");
	ASSERT_LE(0, self->fd);

	/* pass 2: the module's own points, one function at a time */
	t_pass1 = time(NULL);
	ASSERT_EQ(0, uv_fi_set("failslab/cache-filter", "Y"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/min-order", "99"));
	fired_names[0] = 0;
	for (i = 0; i < nfuncs; i++) {
		struct uv_fi_tally t = {};
		char pass[96], where[512] = "";
		int err = uv_fi_retval(funcs[i]);
		unsigned int j;
		bool ok;

		snprintf(pass, sizeof(pass), "%s=-%d", funcs[i], err);
		memset(per_case, 0, sizeof(per_case));
		uv_fi_disarm(funcs[i]);
		ASSERT_EQ(0, uv_fi_arm(funcs[i], err)) TH_LOG("arm %s", funcs[i]);
		ok = uv_fi_pass(_metadata, &fi, nth, have, pass, UV_FI_FUNC,
				false, false, &t, per_case);
		uv_fi_disarm(funcs[i]);
		EXPECT_TRUE(ok);
		for (j = 0; j < ARRAY_SIZE(uv_fi_cases); j++) {
			size_t len = strlen(where);

			if (per_case[j].faults)
				snprintf(where + len, sizeof(where) - len,
					 " %s:%u", uv_fi_cases[j].name,
					 per_case[j].faults);
		}
		TH_LOG("fail_function %s: %u faults, %u clean:%s", pass,
		       t.faults, t.clean, t.faults ? where : " never reached");
		if (t.faults) {
			size_t len = strlen(fired_names);

			nfired++;
			snprintf(fired_names + len, sizeof(fired_names) - len,
				 " %s", funcs[i]);
		}
		pass2.faults += t.faults;
		pass2.clean += t.clean;
		pass2.absorbed += t.absorbed;
		if (!ok && self->fd < 0)
			break;
	}
	close(nth);
	uv_fi_cleanup();
	munmap(fi.buf, 8 * PAGE);

	ksft_print_msg("fail_nth: generic points: %u faults, %u clean, %u absorbed (slab %u, page %u, usercopy %u) in %ld s\n",
		       total.faults, total.clean, total.absorbed,
		       total.by_attr[UV_FI_SLAB], total.by_attr[UV_FI_PAGE],
		       total.by_attr[UV_FI_USERCOPY],
		       (long)(t_pass1 - t_start));
	ksft_print_msg("fail_nth: fail_function: %u of %u uvirtio functions fired,%s; %u faults, %u clean, %u absorbed in %ld s\n",
		       nfired, nfuncs, nfired ? fired_names : " none",
		       pass2.faults, pass2.clean, pass2.absorbed,
		       (long)(time(NULL) - t_pass1));
	ksft_print_msg("UVIRTIO-SUMMARY fail_nth ioctls=%u points=%u clean=%u\n",
		       swept, total.faults + pass2.faults,
		       total.clean + pass2.clean);
	EXPECT_EQ(total.faults + pass2.faults, total.clean + pass2.clean);
	EXPECT_NE(0, pass2.faults);
}

/* ---- a transitional function: legacy I/O BAR 0 ---- */

TEST(legacy_io_bar)
{
	struct uvirtio_device_info info = { .size = sizeof(info) };
	struct uvirtio_device_reset rs = { .size = sizeof(rs) };
	struct uvirtio_region_info r;
	char bdf[32];
	uint64_t q;
	uint32_t l;
	uint8_t b;
	int fd;

	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (uv_find_device(VIRTIO_ID_RNG, 0, bdf, sizeof(bdf)))
		SKIP(return, "no transitional virtio-rng function");
	ASSERT_EQ(0, uv_claim(bdf));
	fd = uv_open_device(bdf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(info.flags & UVIRTIO_DEVICE_INFO_LEGACY);
	ASSERT_EQ(0, uv_region(fd, 0, &r));
	EXPECT_TRUE(r.flags & UVIRTIO_REGION_INFO_IO);
	EXPECT_FALSE(r.flags & UVIRTIO_REGION_INFO_MMAP);
	/* host features, then the status register */
	EXPECT_EQ(4, pread(fd, &l, 4, r.offset + VIRTIO_PCI_HOST_FEATURES));
	EXPECT_ERRNO(EINVAL, pread(fd, &q, 8, r.offset));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
				   r.offset));
	EXPECT_EQ(EINVAL, errno);
	b = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	EXPECT_EQ(1, pwrite(fd, &b, 1, r.offset + VIRTIO_PCI_STATUS));
	EXPECT_EQ(1, pread(fd, &b, 1, r.offset + VIRTIO_PCI_STATUS));
	EXPECT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE, b);
	EXPECT_EQ(0, ioctl(fd, UVIRTIO_DEVICE_RESET, &rs));
	EXPECT_EQ(1, pread(fd, &b, 1, r.offset + VIRTIO_PCI_STATUS));
	EXPECT_EQ(0, b);
	close(fd);
	EXPECT_EQ(0, uv_give_back(bdf));
}

TEST_HARNESS_MAIN
