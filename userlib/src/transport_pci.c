// SPDX-License-Identifier: BSD-3-Clause
/*
 * transport_pci.c - virtio PCI transports: modern (virtio 1.x capability
 * layout) and legacy / transitional (I/O BAR0 register block), and the
 * PCI capability parser they share.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "internal.h"

/* ---- PCI capability parsing ------------------------------------------ */

#define PCI_STATUS_OFF		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_CAP_PTR_OFF		0x34
#define PCI_CAP_ID_VNDR_		0x09
#define PCI_CAP_ID_MSIX_	0x11
#define UV_MAX_CAPS		48

static int cfg_rd8(struct uvirtio_backend *be, uint32_t off, uint8_t *v)
{
	return uvirtio_backend_cfg_read(be, off, v, 1);
}

static int cfg_rd16(struct uvirtio_backend *be, uint32_t off, uint16_t *v)
{
	return uvirtio_backend_cfg_read(be, off, v, 2);
}

static int cfg_rd32(struct uvirtio_backend *be, uint32_t off, uint32_t *v)
{
	return uvirtio_backend_cfg_read(be, off, v, 4);
}

static int parse_vendor_cap(struct uvirtio_backend *be, uint8_t pos,
			    struct uvirtio_caps *caps)
{
	struct uvirtio_cap_region *r;
	uint8_t type, bar, id, len;
	uint32_t offset, length;
	int ret;

	if ((ret = cfg_rd8(be, pos + VIRTIO_PCI_CAP_LEN, &len)) ||
	    (ret = cfg_rd8(be, pos + VIRTIO_PCI_CAP_CFG_TYPE, &type)) ||
	    (ret = cfg_rd8(be, pos + VIRTIO_PCI_CAP_BAR, &bar)) ||
	    (ret = cfg_rd8(be, pos + 5, &id)) ||
	    (ret = cfg_rd32(be, pos + VIRTIO_PCI_CAP_OFFSET, &offset)) ||
	    (ret = cfg_rd32(be, pos + VIRTIO_PCI_CAP_LENGTH, &length)))
		return ret;
	if (len < sizeof(struct virtio_pci_cap))
		return 0;	/* not a virtio cap; ignore */
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		r = &caps->common;
		break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		r = &caps->notify;
		break;
	case VIRTIO_PCI_CAP_ISR_CFG:
		r = &caps->isr;
		break;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		r = &caps->device;
		break;
	case VIRTIO_PCI_CAP_PCI_CFG:
		r = &caps->pci_cfg;
		break;
	default:
		return 0;
	}
	/* Spec: skip BARs the driver does not know (reserved values). */
	if (bar > 5 || r->present)
		return 0;
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		if (len < sizeof(struct virtio_pci_notify_cap))
			return 0;
		ret = cfg_rd32(be, pos + VIRTIO_PCI_NOTIFY_CAP_MULT,
			       &caps->notify_off_multiplier);
		if (ret)
			return ret;
	}
	r->present = true;
	r->bar = bar;
	r->id = id;
	r->cfg_offset = pos;
	r->offset = offset;
	r->length = length;
	return 0;
}

UV_EXPORT int uvirtio_parse_pci_caps(struct uvirtio_backend *be,
				     struct uvirtio_caps *caps)
{
	uint16_t status, msix_ctrl;
	uint8_t pos, id, next;
	uint8_t seen[256 / 8] = { 0 };
	int ret, n;

	memset(caps, 0, sizeof(*caps));
	ret = cfg_rd16(be, PCI_STATUS_OFF, &status);
	if (ret)
		return ret;
	if (!(status & PCI_STATUS_CAP_LIST))
		return -ENODEV;
	ret = cfg_rd8(be, PCI_CAP_PTR_OFF, &pos);
	if (ret)
		return ret;
	for (n = 0; pos; n++) {
		if (n >= UV_MAX_CAPS || pos < 0x40 || pos > 0xfc || (pos & 3))
			return -EIO;
		if (seen[pos / 8] & (1u << (pos % 8)))
			return -EIO;	/* loop in the capability list */
		seen[pos / 8] |= 1u << (pos % 8);
		if ((ret = cfg_rd8(be, pos, &id)) ||
		    (ret = cfg_rd8(be, pos + 1, &next)))
			return ret;
		if (id == PCI_CAP_ID_VNDR_) {
			ret = parse_vendor_cap(be, pos, caps);
			if (ret)
				return ret;
		} else if (id == PCI_CAP_ID_MSIX_) {
			ret = cfg_rd16(be, pos + 2, &msix_ctrl);
			if (ret)
				return ret;
			caps->msix_vectors = (msix_ctrl & 0x7ff) + 1;
		}
		pos = next & 0xfc;
	}
	return 0;
}

UV_EXPORT int uvirtio_backend_get_caps(struct uvirtio_backend *be,
				       struct uvirtio_caps *caps)
{
	int ret = -EOPNOTSUPP;

	if (be->ops->get_caps) {
		memset(caps, 0, sizeof(*caps));
		ret = be->ops->get_caps(be->priv, caps);
	}
	if (ret == -EOPNOTSUPP) {
		bool legacy = false;
		uint16_t devid;

		ret = uvirtio_parse_pci_caps(be, caps);
		if (ret && ret != -ENODEV)
			return ret;
		/* Transitional/legacy ids 0x1000..0x103f have the I/O BAR0. */
		if (!cfg_rd16(be, 2, &devid) && devid >= 0x1000 &&
		    devid <= 0x103f)
			legacy = true;
		caps->has_legacy_io = legacy;
		ret = 0;
	}
	return ret;
}

/* ---- state and identity shared by both PCI transports ---------------- */

struct pci_tp {
	struct uvirtio_caps caps;
};

static struct uvirtio_caps *caps_of(struct uvirtio_dev *dev)
{
	return &((struct pci_tp *)dev->tpriv)->caps;
}

/* Read the capabilities; -ENODEV when the backend is no PCI function. */
static int pci_probe_common(struct uvirtio_dev *dev)
{
	struct pci_tp *tp = calloc(1, sizeof(*tp));
	int ret;

	if (!tp)
		return -ENOMEM;
	ret = uvirtio_backend_get_caps(dev->be, &tp->caps);
	if (ret) {
		free(tp);
		return ret;
	}
	dev->tpriv = tp;
	return 0;
}

static void pci_release(struct uvirtio_dev *dev)
{
	free(dev->tpriv);
}

static int pci_device_type(struct uvirtio_dev *dev, uint32_t *type)
{
	uint16_t devid, subsys;
	int ret;

	ret = uvirtio_backend_cfg_read(dev->be, 2, &devid, 2);
	if (ret)
		return ret;
	if (devid >= 0x1040 && devid <= 0x107f) {
		*type = devid - 0x1040;
		return 0;
	}
	if (devid >= 0x1000 && devid <= 0x103f) {
		ret = uvirtio_backend_cfg_read(dev->be, 0x2e, &subsys, 2);
		if (ret)
			return ret;
		*type = subsys;
		return 0;
	}
	return -ENODEV;
}

/* The doorbell: a direct store if the backend maps it, else bar_write. */
static void pci_notify_at(struct uvirtio_dev *dev, unsigned int bar,
			  uint64_t off, uint16_t index, struct uv_notify *n)
{
	n->kind = UV_NOTIFY_BAR;
	n->bar = bar;
	n->off = off;
	n->width = 2;
	n->value = index;
	n->ptr = NULL;
	n->fd = -1;
	if (dev->be->ops->bar_ptr)
		n->ptr = dev->be->ops->bar_ptr(dev->be->priv, bar, off, 2);
	if (n->ptr)
		n->kind = UV_NOTIFY_MMIO;
}

/* ---- modern ---------------------------------------------------------- */

static int cc_read(struct uvirtio_dev *dev, uint32_t off, unsigned int width,
		   uint64_t *val)
{
	return uv_bar_read(dev->be, caps_of(dev)->common.bar,
			   caps_of(dev)->common.offset + off, width, val);
}

static int cc_write(struct uvirtio_dev *dev, uint32_t off, unsigned int width,
		    uint64_t val)
{
	return uv_bar_write(dev->be, caps_of(dev)->common.bar,
			    caps_of(dev)->common.offset + off, width, val);
}

static int modern_probe(struct uvirtio_dev *dev)
{
	const struct uvirtio_caps *c;
	int ret = pci_probe_common(dev);

	if (ret)
		return ret;
	c = caps_of(dev);
	if (!c->common.present || !c->notify.present ||
	    c->common.length < VIRTIO_PCI_COMMON_Q_USEDHI + 4 ||
	    (c->isr.present && c->isr.length < 1)) {
		pci_release(dev);
		return -ENODEV;
	}
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
	return caps_of(dev)->device.present ? (uint32_t)caps_of(dev)->device.length : 0;
}

static int modern_config_read(struct uvirtio_dev *dev, uint32_t off,
			      unsigned int width, uint32_t *val)
{
	uint64_t v;
	int ret;

	if (!caps_of(dev)->device.present ||
	    (uint64_t)off + width > caps_of(dev)->device.length)
		return -EINVAL;
	ret = uv_bar_read(dev->be, caps_of(dev)->device.bar,
			  caps_of(dev)->device.offset + off, width, &v);
	*val = (uint32_t)v;
	return ret;
}

static int modern_config_write(struct uvirtio_dev *dev, uint32_t off,
			       unsigned int width, uint32_t val)
{
	if (!caps_of(dev)->device.present ||
	    (uint64_t)off + width > caps_of(dev)->device.length)
		return -EINVAL;
	return uv_bar_write(dev->be, caps_of(dev)->device.bar,
			    caps_of(dev)->device.offset + off, width, val);
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
	const struct uvirtio_cap_region *nc = &caps_of(dev)->notify;
	uint64_t noff, off;
	int ret;

	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SELECT, 2, index)) ||
	    (ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_NOFF, 2, &noff)))
		return ret;
	off = (noff & 0xffff) * (uint64_t)caps_of(dev)->notify_off_multiplier;
	if (off + 2 > nc->length)
		return -EIO;	/* doorbell outside the notify structure */
	pci_notify_at(dev, nc->bar, nc->offset + off, index, n);
	/* NOTIF_CONFIG_DATA: the device's value names the queue, not its index. */
	if (uvirtio_dev_has_feature(dev, VIRTIO_F_NOTIF_CONFIG_DATA)) {
		ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_NDATA, 2, &noff);
		if (ret)
			return ret;
		n->value = (uint16_t)noff;
	}
	return 0;
}

static bool modern_can_notif_config_data(struct uvirtio_dev *dev)
{
	/* queue_notify_data is a 16-bit field at 56. */
	return caps_of(dev)->common.length >= VIRTIO_PCI_COMMON_Q_NDATA + 2;
}

static bool modern_can_queue_reset(struct uvirtio_dev *dev)
{
	/* queue_reset is a 16-bit field at 58: the structure must hold it. */
	return caps_of(dev)->common.length >= VIRTIO_PCI_COMMON_Q_RESET + 2;
}

#define QUEUE_RESET_TIMEOUT_NS	(1000ull * 1000 * 1000)

static uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Spec 4.1.4.3: write 1 to queue_reset; the device reads back 1 while the
 * reset is under way and 0 in both queue_reset and queue_enable once it is
 * done.  Poll for that, for at most QUEUE_RESET_TIMEOUT_NS.
 */
static int modern_queue_reset(struct uvirtio_dev *dev, uint16_t index)
{
	struct timespec pause = { 0, 50 * 1000 };
	uint64_t deadline, rst, en;
	int ret;

	if (!uvirtio_dev_has_feature(dev, VIRTIO_F_RING_RESET))
		return -EOPNOTSUPP;
	if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SELECT, 2, index)) ||
	    (ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_RESET, 2, 1)))
		return ret;
	deadline = mono_now_ns() + QUEUE_RESET_TIMEOUT_NS;
	for (;;) {
		if ((ret = cc_write(dev, VIRTIO_PCI_COMMON_Q_SELECT, 2, index)) ||
		    (ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_RESET, 2, &rst)) ||
		    (ret = cc_read(dev, VIRTIO_PCI_COMMON_Q_ENABLE, 2, &en)))
			return ret;
		if (rst == 0xffff && en == 0xffff)
			return dev->tops->gone_err;	/* all-ones: removed */
		if (!(rst & 0xffff) && !(en & 0xffff))
			return 0;
		if (mono_now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
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

/* Read (and so clear) the ISR status byte: INTx acknowledgement. */
static int modern_isr_read(struct uvirtio_dev *dev)
{
	const struct uvirtio_cap_region *r = &caps_of(dev)->isr;
	uint64_t v;
	int ret;

	if (!r->present)
		return -EOPNOTSUPP;
	ret = uv_bar_read(dev->be, r->bar, r->offset, 1, &v);
	return ret ? ret : (int)(v & 0xff);
}

const struct uv_transport_ops uv_pci_modern_ops = {
	.name = "pci-modern",
	.kind = UVIRTIO_TRANSPORT_MODERN,
	.notify_data = true,
	.legacy = false,
	.fixed_queue_size = false,
	.split_align = 4,
	.gone_err = -ENODEV,
	.probe = modern_probe,
	.release = pci_release,
	.device_type = pci_device_type,
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
	.queue_setup = modern_queue_setup,
	.queue_notify_info = modern_queue_notify_info,
	.can_notif_config_data = modern_can_notif_config_data,
	.set_config_vector = modern_set_config_vector,
	.isr_read = modern_isr_read,
	.can_queue_reset = modern_can_queue_reset,
	.queue_reset = modern_queue_reset,
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
	int ret = pci_probe_common(dev);

	if (ret)
		return ret;
	if (!caps_of(dev)->has_legacy_io) {
		pci_release(dev);
		return -ENODEV;
	}
	return 0;
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
	pci_notify_at(dev, LEGACY_BAR, VIRTIO_PCI_QUEUE_NOTIFY, index, n);
	return 0;
}

static int legacy_isr_read(struct uvirtio_dev *dev)
{
	uint64_t v;
	int ret = lg_read(dev, VIRTIO_PCI_ISR, 1, &v);

	return ret ? ret : (int)(v & 0xff);
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
	.kind = UVIRTIO_TRANSPORT_LEGACY,
	.legacy = true,
	.fixed_queue_size = true,
	.split_align = VIRTIO_PCI_VRING_ALIGN,
	.gone_err = -ENODEV,
	.probe = legacy_probe,
	.release = pci_release,
	.device_type = pci_device_type,
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
	.queue_setup = legacy_queue_setup,
	.queue_notify_info = legacy_queue_notify_info,
	.set_config_vector = legacy_set_config_vector,
	.isr_read = legacy_isr_read,
};
