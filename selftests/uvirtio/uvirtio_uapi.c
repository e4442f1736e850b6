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
#define UV_DEV_FIXTURE
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
