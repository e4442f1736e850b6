/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What uvirtio_containment drives a function with: thin wrappers of the
 * /dev/uvirtio ioctls it uses, and one virtio-blk split virtqueue set up
 * and polled by hand (struct rb), so that the device's DMA goes exactly
 * where a test points it.  Include after uvirtio_util.h.
 */
#ifndef UVIRTIO_SELFTEST_RAWBLK_H
#define UVIRTIO_SELFTEST_RAWBLK_H

#include <sys/mman.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#ifndef PAGE
#define PAGE		4096UL
#endif

/* @bdf names a PCI function that is there */
static inline bool present(const char *bdf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s", bdf);
	return bdf[0] && !access(p, F_OK);
}

/* ------------------------------------------------------- ioctl wrappers */

static inline int get_info(int fd, struct uvirtio_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, UVIRTIO_DEVICE_GET_INFO, info);
}

/* UVIRTIO_DMA_MAP; *@iova is input with UVIRTIO_DMA_FIXED_IOVA. */
static inline int dma_map(int fd, void *p, uint64_t len, uint32_t flags,
		   uint64_t *iova, uint64_t *handle)
{
	struct uvirtio_dma_map m = {
		.size = sizeof(m), .flags = flags, .vaddr = (uintptr_t)p,
		.length = len, .iova = iova ? *iova : 0,
	};
	int ret = ioctl(fd, UVIRTIO_DMA_MAP, &m);

	if (!ret) {
		if (iova)
			*iova = m.iova;
		if (handle)
			*handle = m.handle;
	}
	return ret;
}

static inline int dma_unmap(int fd, uint64_t handle)
{
	struct uvirtio_dma_unmap u = { .size = sizeof(u), .handle = handle };

	return ioctl(fd, UVIRTIO_DMA_UNMAP, &u);
}

static inline int dma_alloc(int fd, uint64_t len, uint32_t flags,
		     struct uvirtio_dma_alloc *a, uint64_t iova)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = flags;
	a->length = len;
	a->iova = iova;
	return ioctl(fd, UVIRTIO_DMA_ALLOC, a);
}

static inline int dma_free(int fd, uint64_t handle)
{
	struct uvirtio_dma_free f = { .size = sizeof(f), .handle = handle };

	return ioctl(fd, UVIRTIO_DMA_FREE, &f);
}

/* UVIRTIO_IOVA_RANGES into @r (@max entries); the count, or -1. */
static inline int iova_ranges(int fd, struct uvirtio_iova_range *r, unsigned int max)
{
	struct uvirtio_iova_ranges q = {
		.size = sizeof(q), .num_ranges = max, .ranges = (uintptr_t)r,
	};

	if (ioctl(fd, UVIRTIO_IOVA_RANGES, &q))
		return -1;
	return q.num_ranges;
}

/* PCI_COMMAND through the device fd (-1 on error). */
static inline int pci_command(int fd)
{
	uint16_t cmd;

	if (pread(fd, &cmd, 2, UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG) +
		  PCI_COMMAND) != 2)
		return -1;
	return cmd;
}

/* PCI_COMMAND as the PCI core sees it (sysfs config), or -1. */
static inline int sysfs_command(const char *bdf)
{
	char p[PATH_MAX];
	uint16_t cmd;
	int fd, ret;

	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s/config", bdf);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	ret = pread(fd, &cmd, 2, PCI_COMMAND) == 2 ? cmd : -1;
	close(fd);
	return ret;
}

/* ---------------------------------------- a virtio-blk queue by hand */

/*
 * One split virtqueue (queue 0, at most 8 entries, one request in flight)
 * on a DMA_ALLOC buffer: page 0 descriptors, 1 avail, 2 used, 3 request
 * header and status, then RB_DATA_LEN of data.  Requests are polled; the
 * queue is routed to MSI-X vector 0 so that the function never raises
 * INTx.
 */
#define RB_PAGES	20
#define RB_HDR		(3 * PAGE)
#define RB_STATUS	(3 * PAGE + 64)
#define RB_DATA		(4 * PAGE)
#define RB_DATA_LEN	((RB_PAGES - 4) * PAGE)

struct rb {
	int fd;
	struct uvirtio_device_info info;
	void *bar[6];
	size_t barlen[6];
	volatile struct virtio_pci_common_cfg *cc;
	volatile uint16_t *notify;
	uint8_t *mem;
	uint64_t iova, handle;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t qsz, next;
	uint8_t *data;
	uint64_t data_iova;
	char why[200];
};

static inline void *rb_bar(struct rb *rb, unsigned int bar)
{
	struct uvirtio_region_info r = {
		.size = sizeof(r), .index = bar,
	};

	if (bar > 5)
		return NULL;
	if (rb->bar[bar])
		return rb->bar[bar];
	if (ioctl(rb->fd, UVIRTIO_REGION_GET_INFO, &r))
		return NULL;
	rb->bar[bar] = mmap(NULL, r.region_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, rb->fd, r.offset);
	if (rb->bar[bar] == MAP_FAILED) {
		rb->bar[bar] = NULL;
		return NULL;
	}
	rb->barlen[bar] = r.region_size;
	return rb->bar[bar];
}

static inline int rb_status_zero(struct rb *rb)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (!rb->cc->device_status)
			return 0;
		uv_sleep_us(1000);
	}
	return -1;
}

#define RB_FAIL(rb, ...) ({ snprintf((rb)->why, sizeof((rb)->why), __VA_ARGS__); -1; })

/* Open the device fd of @bdf: 0, or -1 with errno and rb->why. */
static inline int rb_open(struct rb *rb, const char *bdf)
{
	memset(rb, 0, sizeof(*rb));
	rb->fd = uv_open_device(bdf);
	if (rb->fd < 0)
		return RB_FAIL(rb, "DEVICE_OPEN %s: %s", bdf, strerror(errno));
	if (get_info(rb->fd, &rb->info))
		return RB_FAIL(rb, "DEVICE_GET_INFO: %s", strerror(errno));
	return 0;
}

/* Bring the device up with queue 0 ready: 0, or -1 with rb->why. */
static inline int rb_start(struct rb *rb)
{
	const struct uvirtio_virtio_cap *caps = rb->info.caps;
	struct uvirtio_irq_enable en = {
		.size = sizeof(en), .type = UVIRTIO_IRQ_MSIX, .count = 1,
	};
	struct uvirtio_dma_alloc a;
	uint32_t hi, want;
	uint16_t noff;
	char *nb;

	if (!caps[UVIRTIO_VCAP_COMMON].present ||
	    !caps[UVIRTIO_VCAP_NOTIFY].present)
		return RB_FAIL(rb, "not a virtio 1.x function");
	if (!rb->info.num_msix)
		return RB_FAIL(rb, "no MSI-X");
	nb = rb_bar(rb, caps[UVIRTIO_VCAP_NOTIFY].bar);
	if (!nb || !rb_bar(rb, caps[UVIRTIO_VCAP_COMMON].bar))
		return RB_FAIL(rb, "cannot mmap the virtio BARs: %s", strerror(errno));
	rb->cc = (void *)((char *)rb->bar[caps[UVIRTIO_VCAP_COMMON].bar] +
			  caps[UVIRTIO_VCAP_COMMON].offset);
	if (dma_alloc(rb->fd, RB_PAGES * PAGE, 0, &a, 0))
		return RB_FAIL(rb, "DMA_ALLOC of the ring: %s", strerror(errno));
	rb->iova = a.iova;
	rb->handle = a.handle;
	rb->mem = mmap(NULL, RB_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, rb->fd, a.mmap_offset);
	if (rb->mem == MAP_FAILED) {
		rb->mem = NULL;
		return RB_FAIL(rb, "mmap of the ring: %s", strerror(errno));
	}
	rb->desc = (void *)rb->mem;
	rb->avail = (void *)(rb->mem + PAGE);
	rb->used = (void *)(rb->mem + 2 * PAGE);
	rb->data = rb->mem + RB_DATA;
	rb->data_iova = rb->iova + RB_DATA;
	if (ioctl(rb->fd, UVIRTIO_IRQ_ENABLE, &en))
		return RB_FAIL(rb, "IRQ_ENABLE: %s", strerror(errno));

	/* virtio 1.x initialisation, spec 3.1.1 */
	rb->cc->device_status = 0;
	if (rb_status_zero(rb))
		return RB_FAIL(rb, "the device does not reset");
	rb->cc->device_status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	rb->cc->device_status |= VIRTIO_CONFIG_S_DRIVER;
	rb->cc->device_feature_select = 1;
	hi = rb->cc->device_feature;
	if (!(hi & (1U << (VIRTIO_F_VERSION_1 - 32))))
		return RB_FAIL(rb, "no VIRTIO_F_VERSION_1");
	/* a device that offers ACCESS_PLATFORM refuses a driver without it */
	want = hi & ((1U << (VIRTIO_F_VERSION_1 - 32)) |
		     (1U << (VIRTIO_F_ACCESS_PLATFORM - 32)));
	rb->cc->guest_feature_select = 0;
	rb->cc->guest_feature = 0;
	rb->cc->guest_feature_select = 1;
	rb->cc->guest_feature = want;
	rb->cc->device_status |= VIRTIO_CONFIG_S_FEATURES_OK;
	if (!(rb->cc->device_status & VIRTIO_CONFIG_S_FEATURES_OK))
		return RB_FAIL(rb, "FEATURES_OK refused");
	rb->cc->msix_config = VIRTIO_MSI_NO_VECTOR;
	rb->cc->queue_select = 0;
	rb->qsz = rb->cc->queue_size;
	if (!rb->qsz)
		return RB_FAIL(rb, "queue 0 has size 0");
	if (rb->qsz > 8)
		rb->cc->queue_size = rb->qsz = 8;
	rb->cc->queue_msix_vector = 0;
	rb->cc->queue_desc_lo = (uint32_t)rb->iova;
	rb->cc->queue_desc_hi = (uint32_t)(rb->iova >> 32);
	rb->cc->queue_avail_lo = (uint32_t)(rb->iova + PAGE);
	rb->cc->queue_avail_hi = (uint32_t)((rb->iova + PAGE) >> 32);
	rb->cc->queue_used_lo = (uint32_t)(rb->iova + 2 * PAGE);
	rb->cc->queue_used_hi = (uint32_t)((rb->iova + 2 * PAGE) >> 32);
	noff = rb->cc->queue_notify_off;
	rb->notify = (void *)(nb + caps[UVIRTIO_VCAP_NOTIFY].offset +
			      noff * caps[UVIRTIO_VCAP_NOTIFY].notify_off_multiplier);
	rb->cc->queue_enable = 1;
	rb->cc->device_status |= VIRTIO_CONFIG_S_DRIVER_OK;
	if (rb->cc->device_status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return RB_FAIL(rb, "the device wants a reset after DRIVER_OK");
	return 0;
}

/* Put a request in the ring without making it visible to the device. */
static inline void rb_queue(struct rb *rb, uint32_t type, uint64_t sector,
		     uint64_t iova, uint32_t len)
{
	struct virtio_blk_outhdr *h = (void *)(rb->mem + RB_HDR);

	h->type = type;
	h->ioprio = 0;
	h->sector = sector;
	rb->mem[RB_STATUS] = 0xff;
	rb->desc[0].addr = rb->iova + RB_HDR;
	rb->desc[0].len = sizeof(*h);
	rb->desc[0].flags = VRING_DESC_F_NEXT;
	rb->desc[0].next = 1;
	rb->desc[1].addr = iova;
	rb->desc[1].len = len;
	rb->desc[1].flags = VRING_DESC_F_NEXT |
			    (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0);
	rb->desc[1].next = 2;
	rb->desc[2].addr = rb->iova + RB_STATUS;
	rb->desc[2].len = 1;
	rb->desc[2].flags = VRING_DESC_F_WRITE;
	rb->desc[2].next = 0;
	rb->avail->ring[rb->next % rb->qsz] = 0;
	__sync_synchronize();
}

/* Publish the queued request and wait for it: its status, or -errno. */
static inline int rb_publish(struct rb *rb)
{
	double end = uv_now_s() + 10;

	rb->next++;
	rb->avail->idx = rb->next;
	__sync_synchronize();
	*rb->notify = 0;
	while (uv_now_s() < end) {
		__sync_synchronize();
		if (rb->used->idx == rb->next)
			return rb->mem[RB_STATUS];
		if (rb->cc->device_status & VIRTIO_CONFIG_S_NEEDS_RESET)
			return -EIO;
		uv_sleep_us(1000);
	}
	return -ETIMEDOUT;
}

static inline int rb_io(struct rb *rb, uint32_t type, uint64_t sector, uint64_t iova,
		 uint32_t len)
{
	rb_queue(rb, type, sector, iova, len);
	return rb_publish(rb);
}

static inline void rb_close(struct rb *rb)
{
	unsigned int i;

	if (rb->cc) {
		rb->cc->device_status = 0;
		rb_status_zero(rb);
	}
	for (i = 0; i < 6; i++)
		if (rb->bar[i])
			munmap(rb->bar[i], rb->barlen[i]);
	if (rb->mem)
		munmap(rb->mem, RB_PAGES * PAGE);
	if (rb->fd >= 0)
		close(rb->fd);
	memset(rb, 0, sizeof(*rb));
	rb->fd = -1;
}

/* Write a known page to sector 0 through the ring's data area. */
static inline int rb_write_pattern(struct rb *rb, uint8_t *pat)
{
	unsigned int i;

	for (i = 0; i < PAGE; i++)
		pat[i] = (uint8_t)(i * 7 + 1);
	memcpy(rb->data, pat, PAGE);
	return rb_io(rb, VIRTIO_BLK_T_OUT, 0, rb->data_iova, PAGE);
}

#endif /* UVIRTIO_SELFTEST_RAWBLK_H */
