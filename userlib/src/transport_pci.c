// SPDX-License-Identifier: BSD-3-Clause
/*
 * transport_pci.c - virtio PCI transports: modern (virtio 1.x capability
 * layout) and legacy / transitional (I/O BAR0 register block).
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "internal.h"

/* ---- modern ---------------------------------------------------------- */

static int cc_read(struct uvirtio_dev *dev, uint32_t off, unsigned int width,
		   uint64_t *val)
{
	return uv_bar_read(dev->be, dev->caps.common.bar,
			   dev->caps.common.offset + off, width, val);
}

static int cc_write(struct uvirtio_dev *dev, uint32_t off, unsigned int width,
		    uint64_t val)
{
	return uv_bar_write(dev->be, dev->caps.common.bar,
			    dev->caps.common.offset + off, width, val);
}

static int modern_probe(struct uvirtio_dev *dev)
{
	const struct uvirtio_caps *c = &dev->caps;

	if (!c->common.present || !c->notify.present)
		return -ENODEV;
	if (c->common.length < VIRTIO_PCI_COMMON_Q_USEDHI + 4)
		return -ENODEV;
	if (c->isr.present && c->isr.length < 1)
		return -ENODEV;
	return 0;
}

static int modern_get_status(struct uvirtio_dev *dev)
{
	uint64_t v;
	int ret = cc_read(dev, VIRTIO_PCI_COMMON_STATUS, 1, &v);

	return ret ? ret : (int)(v & 0xff);
}

static int modern_set_status(struct uvirtio_dev *dev, uint8_t status)
{
	return cc_write(dev, VIRTIO_PCI_COMMON_STATUS, 1, status);
}

static int modern_get_features(struct uvirtio_dev *dev, uint64_t *features)
{
	uint64_t lo, hi;
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_DFSELECT, 4, 0)) ||
	    (ret = cc_read(dev, VIRTIO_PCI_COMMON_DF, 4, &lo)) ||
	    (ret = cc_write(dev, VIRTIO_PCI_COMMON_DFSELECT, 4, 1)) ||
	    (ret = cc_read(dev, VIRTIO_PCI_COMMON_DF, 4, &hi)))
		return ret;
	*features = (lo & 0xffffffffu) | (hi << 32);
	return 0;
}

static int modern_set_features(struct uvirtio_dev *dev, uint64_t features)
{
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_GFSELECT, 4, 0)) ||
	    (ret = cc_write(dev, VIRTIO_PCI_COMMON_GF, 4,
			    features & 0xffffffffu)) ||
	    (ret = cc_write(dev, VIRTIO_PCI_COMMON_GFSELECT, 4, 1)) ||
	    (ret = cc_write(dev, VIRTIO_PCI_COMMON_GF, 4, features >> 32)))
		return ret;
	return 0;
}

static uint32_t modern_config_len(struct uvirtio_dev *dev)
{
	return dev->caps.device.present ? (uint32_t)dev->caps.device.length : 0;
}

static int modern_config_read(struct uvirtio_dev *dev, uint32_t off,
			      unsigned int width, uint32_t *val)
{
	uint64_t v;
	int ret;

	if (!dev->caps.device.present ||
	    (uint64_t)off + width > dev->caps.device.length)
		return -EINVAL;
	ret = uv_bar_read(dev->be, dev->caps.device.bar,
			  dev->caps.device.offset + off, width, &v);
	*val = (uint32_t)v;
	return ret;
}

static int modern_config_write(struct uvirtio_dev *dev, uint32_t off,
			       unsigned int width, uint32_t val)
{
	if (!dev->caps.device.present ||
	    (uint64_t)off + width > dev->caps.device.length)
		return -EINVAL;
	return uv_bar_write(dev->be, dev->caps.device.bar,
			    dev->caps.device.offset + off, width, val);
}

static int modern_config_generation(struct uvirtio_dev *dev)
{
	uint64_t v;
	int ret = cc_read(dev, VIRTIO_PCI_COMMON_CFGGENERATION, 1, &v);

	return ret ? ret : (int)(v & 0xff);
}

static int modern_num_queues(struct uvirtio_dev *dev)
{
	uint64_t v;
	int ret = cc_read(dev, VIRTIO_PCI_COMMON_NUMQ, 2, &v);

	return ret ? ret : (int)(v & 0xffff);
}

static int modern_queue_size(struct uvirtio_dev *dev, uint16_t index)
{
	uint64_t v;
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SELECT, 2, index)) ||
	    (ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_SIZE, 2, &v)))
		return ret;
	return (int)(v & 0xffff);
}

static int write64(struct uvirtio_dev *dev, uint32_t lo_off, uint64_t val)
{
	int ret = cc_write(dev, lo_off, 4, val & 0xffffffffu);

	return ret ? ret : cc_write(dev, lo_off + 4, 4, val >> 32);
}

static int modern_queue_setup(struct uvirtio_dev *dev,
			      const struct uv_queue_setup *qs)
{
	uint64_t v;
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SELECT, 2, qs->index)) ||
	    (ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SIZE, 2, qs->size)))
		return ret;
	if (qs->vector != VIRTIO_MSI_NO_VECTOR) {
		if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_MSIX, 2,
				    qs->vector)) ||
		    (ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_MSIX, 2, &v)))
			return ret;
		if ((v & 0xffff) != qs->vector)
			return -ENOSPC;	/* device could not take the vector */
	}
	if ((ret = write64(dev, VIRTIO_PCI_COMMON_Q_DESCLO, qs->desc)) ||
	    (ret = write64(dev, VIRTIO_PCI_COMMON_Q_AVAILLO, qs->driver)) ||
	    (ret = write64(dev, VIRTIO_PCI_COMMON_Q_USEDLO, qs->device)))
		return ret;
	return cc_write(dev, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static int modern_queue_notify_info(struct uvirtio_dev *dev, uint16_t index,
				    struct uv_notify *n)
{
	const struct uvirtio_cap_region *nc = &dev->caps.notify;
	uint64_t noff, off;
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SELECT, 2, index)) ||
	    (ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_NOFF, 2, &noff)))
		return ret;
	off = (noff & 0xffff) * (uint64_t)dev->caps.notify_off_multiplier;
	if (off + 2 > nc->length)
		return -EIO;	/* doorbell outside the notify structure */
	n->bar = nc->bar;
	n->off = nc->offset + off;
	n->value = index;
	n->ptr = NULL;
	if (dev->be->ops->bar_ptr)
		n->ptr = dev->be->ops->bar_ptr(dev->be->priv, n->bar, n->off,
					       2);
	return 0;
}

static int modern_set_config_vector(struct uvirtio_dev *dev, uint16_t vector)
{
	uint64_t v;
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_MSIX, 2, vector)) ||
	    (ret = cc_read(dev, VIRTIO_PCI_COMMON_MSIX, 2, &v)))
		return ret;
	return (v & 0xffff) == vector ? 0 : -ENOSPC;
}

const struct uv_transport_ops uv_pci_modern_ops = {
	.name = "pci-modern",
	.probe = modern_probe,
	.get_status = modern_get_status,
	.set_status = modern_set_status,
	.get_features = modern_get_features,
	.set_features = modern_set_features,
	.config_read = modern_config_read,
	.config_write = modern_config_write,
	.config_generation = modern_config_generation,
	.config_len = modern_config_len,
	.num_queues = modern_num_queues,
	.queue_size = modern_queue_size,
	.fixed_queue_size = false,
	.split_align = 4,
	.queue_setup = modern_queue_setup,
	.queue_notify_info = modern_queue_notify_info,
	.set_config_vector = modern_set_config_vector,
};

/* ---- legacy / transitional (BAR0 I/O) -------------------------------- */

#define LEGACY_BAR 0
#define LEGACY_MAX_QUEUES 64
#define LEGACY_CONFIG_LEN 256

static int lg_read(struct uvirtio_dev *dev, uint32_t off, unsigned int width,
		   uint64_t *val)
{
	return uv_bar_read(dev->be, LEGACY_BAR, off, width, val);
}

static int lg_write(struct uvirtio_dev *dev, uint32_t off, unsigned int width,
		    uint64_t val)
{
	return uv_bar_write(dev->be, LEGACY_BAR, off, width, val);
}

static int legacy_probe(struct uvirtio_dev *dev)
{
	return dev->caps.has_legacy_io ? 0 : -ENODEV;
}

static int legacy_get_status(struct uvirtio_dev *dev)
{
	uint64_t v;
	int ret = lg_read(dev, VIRTIO_PCI_STATUS, 1, &v);

	return ret ? ret : (int)(v & 0xff);
}

static int legacy_set_status(struct uvirtio_dev *dev, uint8_t status)
{
	return lg_write(dev, VIRTIO_PCI_STATUS, 1, status);
}

static int legacy_get_features(struct uvirtio_dev *dev, uint64_t *features)
{
	uint64_t v;
	int ret = lg_read(dev, VIRTIO_PCI_HOST_FEATURES, 4, &v);

	*features = v & 0xffffffffu;
	return ret;
}

static int legacy_set_features(struct uvirtio_dev *dev, uint64_t features)
{
	if (features >> 32)
		return -EINVAL;
	return lg_write(dev, VIRTIO_PCI_GUEST_FEATURES, 4, features);
}

static uint32_t legacy_cfg_base(struct uvirtio_dev *dev)
{
	return VIRTIO_PCI_CONFIG_OFF(dev->msix_enabled);
}

static uint32_t legacy_config_len(struct uvirtio_dev *dev)
{
	return LEGACY_CONFIG_LEN - legacy_cfg_base(dev);
}

static int legacy_config_read(struct uvirtio_dev *dev, uint32_t off,
			      unsigned int width, uint32_t *val)
{
	uint64_t v;
	int ret;

	if ((uint64_t)off + width > legacy_config_len(dev))
		return -EINVAL;
	ret = lg_read(dev, legacy_cfg_base(dev) + off, width, &v);
	*val = (uint32_t)v;
	return ret;
}

static int legacy_config_write(struct uvirtio_dev *dev, uint32_t off,
			       unsigned int width, uint32_t val)
{
	if ((uint64_t)off + width > legacy_config_len(dev))
		return -EINVAL;
	return lg_write(dev, legacy_cfg_base(dev) + off, width, val);
}

static int legacy_config_generation(struct uvirtio_dev *dev)
{
	(void)dev;
	return -EOPNOTSUPP;
}

static int legacy_queue_size(struct uvirtio_dev *dev, uint16_t index)
{
	uint64_t v;
	int ret;

	if ((ret = lg_write(dev, VIRTIO_PCI_QUEUE_SEL, 2, index)) ||
	    (ret = lg_read(dev, VIRTIO_PCI_QUEUE_NUM, 2, &v)))
		return ret;
	return (int)(v & 0xffff);
}

static int legacy_num_queues(struct uvirtio_dev *dev)
{
	int i, ret;

	/* No queue count register: probe until a queue has size 0. */
	for (i = 0; i < LEGACY_MAX_QUEUES; i++) {
		ret = legacy_queue_size(dev, (uint16_t)i);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
	}
	return i;
}

static int legacy_queue_setup(struct uvirtio_dev *dev,
			      const struct uv_queue_setup *qs)
{
	uint64_t v, avail_end;
	int ret;

	/* The legacy layout is implied by the PFN: check the caller used it. */
	avail_end = qs->driver + 6 + 2ull * qs->size;
	if ((qs->desc & (VIRTIO_PCI_VRING_ALIGN - 1)) ||
	    qs->driver != qs->desc + 16ull * qs->size ||
	    qs->device != UV_ALIGN_UP(avail_end,
				      (uint64_t)VIRTIO_PCI_VRING_ALIGN) ||
	    (qs->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT) > 0xffffffffu)
		return -EINVAL;
	ret = legacy_queue_size(dev, qs->index);
	if (ret < 0)
		return ret;
	if (ret != qs->size)
		return -EINVAL;
	if (qs->vector != VIRTIO_MSI_NO_VECTOR) {
		if ((ret = lg_write(dev, VIRTIO_MSI_QUEUE_VECTOR, 2,
				    qs->vector)) ||
		    (ret = lg_read(dev, VIRTIO_MSI_QUEUE_VECTOR, 2, &v)))
			return ret;
		if ((v & 0xffff) != qs->vector)
			return -ENOSPC;
	}
	return lg_write(dev, VIRTIO_PCI_QUEUE_PFN, 4,
			qs->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT);
}

static int legacy_queue_notify_info(struct uvirtio_dev *dev, uint16_t index,
				    struct uv_notify *n)
{
	n->bar = LEGACY_BAR;
	n->off = VIRTIO_PCI_QUEUE_NOTIFY;
	n->value = index;
	n->ptr = NULL;
	if (dev->be->ops->bar_ptr)
		n->ptr = dev->be->ops->bar_ptr(dev->be->priv, LEGACY_BAR,
					       n->off, 2);
	return 0;
}

static int legacy_set_config_vector(struct uvirtio_dev *dev, uint16_t vector)
{
	uint64_t v;
	int ret;

	if ((ret = lg_write(dev, VIRTIO_MSI_CONFIG_VECTOR, 2, vector)) ||
	    (ret = lg_read(dev, VIRTIO_MSI_CONFIG_VECTOR, 2, &v)))
		return ret;
	return (v & 0xffff) == vector ? 0 : -ENOSPC;
}

const struct uv_transport_ops uv_pci_legacy_ops = {
	.name = "pci-legacy",
	.probe = legacy_probe,
	.get_status = legacy_get_status,
	.set_status = legacy_set_status,
	.get_features = legacy_get_features,
	.set_features = legacy_set_features,
	.config_read = legacy_config_read,
	.config_write = legacy_config_write,
	.config_generation = legacy_config_generation,
	.config_len = legacy_config_len,
	.num_queues = legacy_num_queues,
	.queue_size = legacy_queue_size,
	.fixed_queue_size = true,
	.split_align = VIRTIO_PCI_VRING_ALIGN,
	.queue_setup = legacy_queue_setup,
	.queue_notify_info = legacy_queue_notify_info,
	.set_config_vector = legacy_set_config_vector,
};
