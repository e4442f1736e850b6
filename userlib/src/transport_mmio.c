// SPDX-License-Identifier: BSD-3-Clause
/*
 * transport_mmio.c - the virtio-mmio transport, version 2 (virtio 1.x)
 * and legacy version 1.
 *
 * The register window is the backend's BAR 0 (the kmod backend exposes a
 * virtio-mmio device's window that way); every register is a 32-bit
 * access, device config starts at 0x100.  Interrupt status and its
 * acknowledgement are the kernel's business: the module's handler does
 * both before it signals the one eventfd.
 *
 * Interrupts: a virtio-mmio device has one interrupt for its
 * configuration and all its queues; the backend reports it as the wired
 * line (UVIRTIO_BE_IRQ_WIRED) and device.c serves every queue and the
 * config change from it (UVIRTIO_DEV_IRQ_WIRED).  Queues take no vector
 * here and set_config_vector is absent.
 */
#include <errno.h>
#include <stdlib.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h>

#include "internal.h"

#define MMIO_BAR		0
/* "virt" in little-endian */
#define MMIO_MAGIC		0x74726976u
/* The window QEMU and the spec's examples have: config is 0x100 bytes. */
#define MMIO_CONFIG_LEN		0x100u
#define MMIO_MAX_QUEUES		64
/* Legacy (version 1): page size and used-ring alignment we program. */
#define MMIO_LEGACY_PAGE	4096u

struct mmio_tp {
	uint32_t version;
};

static uint32_t version_of(struct uvirtio_dev *dev)
{
	return ((struct mmio_tp *)dev->tpriv)->version;
}

static int rd(struct uvirtio_dev *dev, uint32_t off, uint32_t *val)
{
	uint64_t v;
	int ret = uv_bar_read(dev->be, MMIO_BAR, off, 4, &v);

	*val = ret ? 0 : (uint32_t)v;
	return ret;
}

static int wr(struct uvirtio_dev *dev, uint32_t off, uint32_t val)
{
	return uv_bar_write(dev->be, MMIO_BAR, off, 4, val);
}

/*
 * Is BAR 0 a virtio-mmio window of version @want?  -ENODEV when it is no
 * virtio-mmio device at all (or one of the other version, for the other
 * ops table to take), or when the device id is 0 (a placeholder with no
 * device behind it); -EPROTONOSUPPORT for a version neither knows.
 */
static int mmio_probe_version(struct uvirtio_dev *dev, uint32_t want)
{
	struct uvirtio_backend *be = dev->be;
	uint64_t magic, version, id;
	struct mmio_tp *tp;

	if (uv_bar_read(be, MMIO_BAR, VIRTIO_MMIO_MAGIC_VALUE, 4, &magic) ||
	    (uint32_t)magic != MMIO_MAGIC)
		return -ENODEV;
	if (uv_bar_read(be, MMIO_BAR, VIRTIO_MMIO_VERSION, 4, &version))
		return -ENODEV;
	if (version != 1 && version != 2)
		return -EPROTONOSUPPORT;
	if (version != want)
		return -ENODEV;
	if (uv_bar_read(be, MMIO_BAR, VIRTIO_MMIO_DEVICE_ID, 4, &id) ||
	    !(uint32_t)id)
		return -ENODEV;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->version = (uint32_t)version;
	dev->tpriv = tp;
	return 0;
}

static int mmio_probe(struct uvirtio_dev *dev)
{
	return mmio_probe_version(dev, 2);
}

static int mmio_legacy_probe(struct uvirtio_dev *dev)
{
	return mmio_probe_version(dev, 1);
}

static void mmio_release(struct uvirtio_dev *dev)
{
	free(dev->tpriv);
}

static int mmio_device_type(struct uvirtio_dev *dev, uint32_t *type)
{
	return rd(dev, VIRTIO_MMIO_DEVICE_ID, type);
}

static int mmio_get_status(struct uvirtio_dev *dev)
{
	uint32_t v;
	int ret = rd(dev, VIRTIO_MMIO_STATUS, &v);

	return ret ? ret : (int)(v & 0xff);
}

static int mmio_set_status(struct uvirtio_dev *dev, uint8_t status)
{
	return wr(dev, VIRTIO_MMIO_STATUS, status);
}

static int mmio_get_features(struct uvirtio_dev *dev, uint64_t *features)
{
	uint32_t lo, hi = 0;
	int ret;

	if ((ret = wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)) ||
	    (ret = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES, &lo)))
		return ret;
	/* A legacy device has 32 feature bits. */
	if (version_of(dev) != 1 &&
	    ((ret = wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1)) ||
	     (ret = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES, &hi))))
		return ret;
	*features = lo | ((uint64_t)hi << 32);
	return 0;
}

static int mmio_set_features(struct uvirtio_dev *dev, uint64_t features)
{
	int ret;

	if (version_of(dev) == 1 && (features >> 32))
		return -EINVAL;
	if ((ret = wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)) ||
	    (ret = wr(dev, VIRTIO_MMIO_DRIVER_FEATURES,
		      (uint32_t)features)))
		return ret;
	if (version_of(dev) == 1)
		return 0;
	if ((ret = wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)) ||
	    (ret = wr(dev, VIRTIO_MMIO_DRIVER_FEATURES,
		      (uint32_t)(features >> 32))))
		return ret;
	return 0;
}

static uint32_t mmio_config_len(struct uvirtio_dev *dev)
{
	(void)dev;
	return MMIO_CONFIG_LEN;
}

static int mmio_config_read(struct uvirtio_dev *dev, uint32_t off,
			    unsigned int width, uint32_t *val)
{
	uint64_t v;
	int ret;

	if ((uint64_t)off + width > MMIO_CONFIG_LEN)
		return -EINVAL;
	ret = uv_bar_read(dev->be, MMIO_BAR, VIRTIO_MMIO_CONFIG + off, width,
			  &v);
	*val = ret ? 0 : (uint32_t)v;
	return ret;
}

static int mmio_config_write(struct uvirtio_dev *dev, uint32_t off,
			     unsigned int width, uint32_t val)
{
	if ((uint64_t)off + width > MMIO_CONFIG_LEN)
		return -EINVAL;
	return uv_bar_write(dev->be, MMIO_BAR, VIRTIO_MMIO_CONFIG + off, width,
			    val);
}

static int mmio_config_generation(struct uvirtio_dev *dev)
{
	uint32_t v;
	int ret;

	if (version_of(dev) == 1)
		return -EOPNOTSUPP;
	ret = rd(dev, VIRTIO_MMIO_CONFIG_GENERATION, &v);
	return ret ? ret : (int)(v & 0xff);
}

static int mmio_queue_size(struct uvirtio_dev *dev, uint16_t index)
{
	uint32_t v;
	int ret;

	if ((ret = wr(dev, VIRTIO_MMIO_QUEUE_SEL, index)) ||
	    (ret = rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX, &v)))
		return ret;
	return v > 0xffff ? 0xffff : (int)v;
}

static int mmio_num_queues(struct uvirtio_dev *dev)
{
	int i, ret;

	/* No queue count register: a queue of size 0 is the end. */
	for (i = 0; i < MMIO_MAX_QUEUES; i++) {
		ret = mmio_queue_size(dev, (uint16_t)i);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
	}
	return i;
}

static int wr64(struct uvirtio_dev *dev, uint32_t lo_off, uint64_t val)
{
	int ret = wr(dev, lo_off, (uint32_t)val);

	return ret ? ret : wr(dev, lo_off + 4, (uint32_t)(val >> 32));
}

/* Select the queue and set its size; one interrupt, so no vectors. */
static int mmio_queue_begin(struct uvirtio_dev *dev,
			    const struct uv_queue_setup *qs)
{
	int ret;

	if (qs->vector != VIRTIO_MSI_NO_VECTOR)
		return -ENOSPC;
	ret = mmio_queue_size(dev, qs->index);
	if (ret < 0)
		return ret;
	if (!ret || qs->size > ret)
		return -EINVAL;
	return wr(dev, VIRTIO_MMIO_QUEUE_NUM, qs->size);
}

static int mmio_queue_setup(struct uvirtio_dev *dev,
			    const struct uv_queue_setup *qs)
{
	uint32_t ready;
	int ret;

	ret = mmio_queue_begin(dev, qs);
	if (ret)
		return ret;
	/* A queue still in use by an earlier driver cannot be set up. */
	if ((ret = rd(dev, VIRTIO_MMIO_QUEUE_READY, &ready)))
		return ret;
	if (ready)
		return -EBUSY;
	if ((ret = wr64(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, qs->desc)) ||
	    (ret = wr64(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, qs->driver)) ||
	    (ret = wr64(dev, VIRTIO_MMIO_QUEUE_USED_LOW, qs->device)))
		return ret;
	return wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
}

static int mmio_legacy_queue_setup(struct uvirtio_dev *dev,
				   const struct uv_queue_setup *qs)
{
	uint64_t avail_end = qs->driver + 6 + 2ull * qs->size;
	int ret;

	/* The PFN implies the legacy layout: check the caller used it. */
	if ((qs->desc & (MMIO_LEGACY_PAGE - 1)) ||
	    qs->driver != qs->desc + 16ull * qs->size ||
	    qs->device != UV_ALIGN_UP(avail_end, (uint64_t)MMIO_LEGACY_PAGE) ||
	    qs->desc / MMIO_LEGACY_PAGE > 0xffffffffu)
		return -EINVAL;
	ret = mmio_queue_begin(dev, qs);
	if (ret)
		return ret;
	if ((ret = wr(dev, VIRTIO_MMIO_GUEST_PAGE_SIZE, MMIO_LEGACY_PAGE)) ||
	    (ret = wr(dev, VIRTIO_MMIO_QUEUE_ALIGN, MMIO_LEGACY_PAGE)))
		return ret;
	return wr(dev, VIRTIO_MMIO_QUEUE_PFN,
		  (uint32_t)(qs->desc / MMIO_LEGACY_PAGE));
}

static int mmio_queue_notify_info(struct uvirtio_dev *dev, uint16_t index,
				  struct uv_notify *n)
{
	(void)dev;
	/* The window is never mapped: a 32-bit backend write. */
	n->kind = UV_NOTIFY_BAR;
	n->bar = MMIO_BAR;
	n->off = VIRTIO_MMIO_QUEUE_NOTIFY;
	n->width = 4;
	n->value = index;
	n->ptr = NULL;
	n->fd = -1;
	return 0;
}

const struct uv_transport_ops uv_mmio_ops = {
	.name = "mmio",
	.kind = UVIRTIO_TRANSPORT_MMIO,
	.notify_data = true,	/* QueueNotify is 32 bits (spec 4.2.3.3) */
	.legacy = false,
	.fixed_queue_size = false,
	.split_align = 4,
	.gone_err = -ENODEV,
	.probe = mmio_probe,
	.release = mmio_release,
	.device_type = mmio_device_type,
	.get_status = mmio_get_status,
	.set_status = mmio_set_status,
	.get_features = mmio_get_features,
	.set_features = mmio_set_features,
	.config_read = mmio_config_read,
	.config_write = mmio_config_write,
	.config_generation = mmio_config_generation,
	.config_len = mmio_config_len,
	.num_queues = mmio_num_queues,
	.queue_size = mmio_queue_size,
	.queue_setup = mmio_queue_setup,
	.queue_notify_info = mmio_queue_notify_info,
};

const struct uv_transport_ops uv_mmio_legacy_ops = {
	.name = "mmio-legacy",
	.kind = UVIRTIO_TRANSPORT_MMIO,
	.legacy = true,
	.fixed_queue_size = false,
	.split_align = MMIO_LEGACY_PAGE,
	.gone_err = -ENODEV,
	.probe = mmio_legacy_probe,
	.release = mmio_release,
	.device_type = mmio_device_type,
	.get_status = mmio_get_status,
	.set_status = mmio_set_status,
	.get_features = mmio_get_features,
	.set_features = mmio_set_features,
	.config_read = mmio_config_read,
	.config_write = mmio_config_write,
	.config_generation = mmio_config_generation,
	.config_len = mmio_config_len,
	.num_queues = mmio_num_queues,
	.queue_size = mmio_queue_size,
	.queue_setup = mmio_legacy_queue_setup,
	.queue_notify_info = mmio_queue_notify_info,
};
