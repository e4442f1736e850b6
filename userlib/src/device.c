// SPDX-License-Identifier: BSD-3-Clause
/*
 * device.c - generic virtio device: transport selection, the spec 3.1
 * initialisation sequence, feature negotiation, consistent config access
 * and status / NEEDS_RESET handling.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "internal.h"

#define RESET_TIMEOUT_NS	(2ull * 1000 * 1000 * 1000)

/* Transport / ring feature bits this library implements. */
#define UV_TRANSPORT_FEATURES					\
	((1ull << VIRTIO_RING_F_INDIRECT_DESC) |		\
	 (1ull << VIRTIO_RING_F_EVENT_IDX) |			\
	 (1ull << VIRTIO_F_VERSION_1) |				\
	 (1ull << VIRTIO_F_ACCESS_PLATFORM) |			\
	 (1ull << VIRTIO_F_RING_PACKED) |			\
	 (1ull << VIRTIO_F_ANY_LAYOUT))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void short_sleep(void)
{
	struct timespec ts = { 0, 100 * 1000 };

	nanosleep(&ts, NULL);
}

void uv_dev_mark_broken(struct uvirtio_dev *dev, int err)
{
	int expected = 0;

	atomic_compare_exchange_strong(&dev->broken, &expected, err);
}

int uv_ring_doorbell(struct uvirtio_dev *dev, const struct uv_notify *n)
{
	static const uint64_t one = 1;

	switch (n->kind) {
	case UV_NOTIFY_MMIO:
		if (n->width == 4)
			*(volatile uint32_t *)n->ptr = n->value;
		else
			*(volatile uint16_t *)n->ptr = (uint16_t)n->value;
		break;
	case UV_NOTIFY_BAR:
		/* the device never hears of the request: the caller must know */
		return uv_bar_write(dev->be, n->bar, n->off,
				    n->width ? n->width : 2, n->value);
	case UV_NOTIFY_EVENTFD:
		/* a full eventfd counter still wakes the peer: ignore EAGAIN */
		if (write(n->fd, &one, sizeof(one)) < 0)
			break;
		break;
	}
	return 0;
}

int uv_dev_queue_vector(struct uvirtio_dev *dev, uint16_t index)
{
	/* Vector 0 is the config vector; queue i gets vector i + 1. */
	if (dev->nvectors < (unsigned int)index + 2)
		return -ENOSPC;
	return index + 1;
}

static int dev_reset(struct uvirtio_dev *dev)
{
	uint64_t deadline;
	int ret;

	ret = dev->tops->set_status(dev, 0);
	if (ret)
		return ret;
	deadline = now_ns() + RESET_TIMEOUT_NS;
	for (;;) {
		ret = dev->tops->get_status(dev);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return 0;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		short_sleep();
	}
}

static int add_status(struct uvirtio_dev *dev, uint8_t bits)
{
	int st = dev->tops->get_status(dev);

	if (st < 0)
		return st;
	return dev->tops->set_status(dev, (uint8_t)st | bits);
}

static int negotiate(struct uvirtio_dev *dev,
		     const struct uvirtio_dev_params *p)
{
	bool legacy = dev->tops->legacy;
	uint64_t offered, want, required, ok;
	int ret;

	ret = dev->tops->get_features(dev, &offered);
	if (ret)
		return ret;
	/* Device-specific bits as asked; transport bits only if we know them. */
	want = p->wanted & (((1ull << VIRTIO_TRANSPORT_F_START) - 1) |
			    UV_TRANSPORT_FEATURES |
			    ~((1ull << (VIRTIO_TRANSPORT_F_END + 1)) - 1));
	required = p->required;
	if (!legacy) {
		want |= 1ull << VIRTIO_F_VERSION_1;
		required |= 1ull << VIRTIO_F_VERSION_1;
	} else {
		want &= 0xffffffffu;
	}
	if (uvirtio_backend_iommu_mode(dev->be) == UVIRTIO_BE_IOMMU_TRANSLATED)
		required |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
	/*
	 * A device offering ACCESS_PLATFORM may refuse to work without it;
	 * our addresses are always platform (IOVA) addresses, so accept it.
	 */
	want |= (1ull << VIRTIO_F_ACCESS_PLATFORM) & offered;
	/*
	 * NOTIFICATION_DATA is the virtqueue's business, not the driver's:
	 * take it where the doorbell can carry 32 bits.
	 */
	if (dev->tops->notify_data)
		want |= (1ull << VIRTIO_F_NOTIFICATION_DATA) & offered;
	/* RING_RESET likewise, where the transport can reset one queue. */
	if (!legacy && dev->tops->queue_reset && dev->tops->can_queue_reset &&
	    dev->tops->can_queue_reset(dev))
		want |= (1ull << VIRTIO_F_RING_RESET) & offered;
	want |= required;
	ok = offered & want;
	if ((ok & required) != required)
		return -ENOTSUP;
	ret = dev->tops->set_features(dev, ok);
	if (ret)
		return ret;
	dev->features = ok;
	if (legacy)
		return 0;	/* legacy has no FEATURES_OK handshake */
	ret = add_status(dev, VIRTIO_CONFIG_S_FEATURES_OK);
	if (ret)
		return ret;
	ret = dev->tops->get_status(dev);
	if (ret < 0)
		return ret;
	if (!(ret & VIRTIO_CONFIG_S_FEATURES_OK))
		return -ENOTSUP;	/* device refused our feature subset */
	return 0;
}

/* Every transport, in the order AUTO tries them. */
static const struct uv_transport_ops *const uv_transports[] = {
	&uv_pci_modern_ops,
	&uv_pci_legacy_ops,
	&uv_vhost_user_ops,
	&uv_vhost_vdpa_ops,
	/* after PCI: they read BAR 0, which any backend may have */
	&uv_mmio_ops,
	&uv_mmio_legacy_ops,
};

static void release_transport(struct uvirtio_dev *dev)
{
	if (dev->tops && dev->tops->release)
		dev->tops->release(dev);
	dev->tpriv = NULL;
}

static int pick_transport(struct uvirtio_dev *dev,
			  enum uvirtio_transport_kind kind)
{
	int ret = -ENODEV;
	size_t i;

	if ((unsigned int)kind > UVIRTIO_TRANSPORT_MMIO)
		return -EINVAL;
	for (i = 0; i < UV_ARRAY_SIZE(uv_transports); i++) {
		const struct uv_transport_ops *t = uv_transports[i];

		if (kind != UVIRTIO_TRANSPORT_AUTO && kind != t->kind)
			continue;
		dev->tops = t;
		ret = t->probe(dev);
		if (!ret)
			return 0;
		dev->tops = NULL;
		/* a transport that knows the backend but fails it has the say */
		if (ret != -ENODEV)
			return ret;
	}
	return ret;
}

static int setup_config_vector(struct uvirtio_dev *dev)
{
	int ret;

	if (!dev->nvectors || !dev->tops->set_config_vector)
		return 0;
	ret = dev->tops->set_config_vector(dev, 0);
	if (ret)
		return ret;
	ret = uvirtio_backend_irq_eventfd(dev->be, 0, -1);
	if (ret < 0)
		return ret;
	dev->config_fd = ret;
	dev->msix_enabled = true;
	return 0;
}

UV_EXPORT int uvirtio_dev_open(struct uvirtio_backend *be,
			       const struct uvirtio_dev_params *params,
			       struct uvirtio_dev **out)
{
	struct uvirtio_dev_params defp = { 0 };
	struct uvirtio_dev *dev;
	int ret, vecs;

	if (!be || !out)
		return -EINVAL;
	if (!params)
		params = &defp;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->be = be;
	dev->config_fd = -1;
	atomic_init(&dev->broken, 0);
	ret = pick_transport(dev, params->transport);
	if (ret)
		goto err_free;
	ret = dev->tops->device_type(dev, &dev->device_type);
	if (ret)
		goto err_release;
	if (!dev->device_type)
		dev->device_type = params->device_type;
	if (!dev->device_type ||
	    (params->device_type && params->device_type != dev->device_type)) {
		ret = -ENODEV;
		goto err_release;
	}
	vecs = uvirtio_backend_num_vectors(be);
	dev->nvectors = vecs > 0 ? (unsigned int)vecs : 0;
	/* legacy config offset depends on MSI-X being enabled: decide now */
	dev->msix_enabled = dev->nvectors > 0 && dev->tops->set_config_vector;

	ret = dev_reset(dev);
	if (ret)
		goto err_release;
	if ((ret = add_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE)) ||
	    (ret = add_status(dev, VIRTIO_CONFIG_S_DRIVER)))
		goto err_failed;
	ret = negotiate(dev, params);
	if (ret)
		goto err_failed;
	ret = setup_config_vector(dev);
	if (ret)
		goto err_failed;
	ret = dev->tops->num_queues(dev);
	if (ret < 0)
		goto err_failed;
	dev->num_queues = (uint16_t)ret;
	*out = dev;
	return 0;

err_failed:
	add_status(dev, VIRTIO_CONFIG_S_FAILED);
err_release:
	release_transport(dev);
err_free:
	free(dev);
	return ret;
}

UV_EXPORT void uvirtio_dev_close(struct uvirtio_dev *dev)
{
	if (!dev)
		return;
	/* Stop all DMA before the rings are freed by the caller. */
	if (dev_reset(dev))
		uvirtio_backend_reset(dev->be);
	release_transport(dev);
	free(dev);
}

UV_EXPORT uint64_t uvirtio_dev_features(const struct uvirtio_dev *dev)
{
	return dev->features;
}

UV_EXPORT bool uvirtio_dev_has_feature(const struct uvirtio_dev *dev,
				       unsigned int bit)
{
	return bit < 64 && (dev->features & (1ull << bit));
}

UV_EXPORT uint32_t uvirtio_dev_device_type(const struct uvirtio_dev *dev)
{
	return dev->device_type;
}

UV_EXPORT bool uvirtio_dev_is_legacy(const struct uvirtio_dev *dev)
{
	return dev->tops->legacy;
}

UV_EXPORT const char *uvirtio_dev_transport_name(const struct uvirtio_dev *dev)
{
	return dev->tops->name;
}

UV_EXPORT uint32_t uvirtio_dev_config_len(struct uvirtio_dev *dev)
{
	return dev->tops->config_len(dev);
}

UV_EXPORT unsigned int uvirtio_dev_num_vectors(const struct uvirtio_dev *dev)
{
	return dev->nvectors;
}

UV_EXPORT int uvirtio_dev_broken(const struct uvirtio_dev *dev)
{
	return atomic_load_explicit(&dev->broken, memory_order_relaxed);
}

UV_EXPORT void uvirtio_dev_fail(struct uvirtio_dev *dev)
{
	int st = dev->tops->get_status(dev);

	dev->tops->set_status(dev, (uint8_t)(st < 0 ? 0 : st) |
				   VIRTIO_CONFIG_S_FAILED);
}

UV_EXPORT int uvirtio_dev_num_queues(struct uvirtio_dev *dev)
{
	return dev->num_queues;
}

UV_EXPORT struct uvirtio_backend *uvirtio_dev_backend(struct uvirtio_dev *dev)
{
	return dev->be;
}

static unsigned int access_width(uint32_t off, uint32_t left)
{
	if (!(off & 3) && left >= 4)
		return 4;
	if (!(off & 1) && left >= 2)
		return 2;
	return 1;
}

static int read_config_once(struct uvirtio_dev *dev, uint32_t off,
			    uint8_t *buf, uint32_t len)
{
	uint32_t done = 0, val;
	unsigned int w;
	int ret;

	while (done < len) {
		w = access_width(off + done, len - done);
		ret = dev->tops->config_read(dev, off + done, w, &val);
		if (ret)
			return ret;
		memcpy(buf + done, &val, w);	/* little-endian host */
		done += w;
	}
	return 0;
}

UV_EXPORT int uvirtio_dev_read_config(struct uvirtio_dev *dev, uint32_t off,
				      void *buf, uint32_t len)
{
	int gen1, gen2, ret, tries;

	if (!buf || (uint64_t)off + len > dev->tops->config_len(dev))
		return -EINVAL;
	for (tries = 0; tries < UVIRTIO_CONFIG_RETRIES; tries++) {
		gen1 = dev->tops->config_generation(dev);
		if (gen1 == -EOPNOTSUPP)
			return read_config_once(dev, off, buf, len);
		if (gen1 < 0)
			return gen1;
		ret = read_config_once(dev, off, buf, len);
		if (ret)
			return ret;
		gen2 = dev->tops->config_generation(dev);
		if (gen2 < 0)
			return gen2;
		if (gen1 == gen2)
			return 0;
	}
	return -EAGAIN;
}

UV_EXPORT int uvirtio_dev_write_config(struct uvirtio_dev *dev, uint32_t off,
				       const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	uint32_t done = 0, val;
	unsigned int w;
	int ret;

	if (!buf || (uint64_t)off + len > dev->tops->config_len(dev))
		return -EINVAL;
	while (done < len) {
		w = access_width(off + done, len - done);
		val = 0;
		memcpy(&val, p + done, w);
		ret = dev->tops->config_write(dev, off + done, w, val);
		if (ret)
			return ret;
		done += w;
	}
	return 0;
}

UV_EXPORT int uvirtio_dev_status(struct uvirtio_dev *dev)
{
	return dev->tops->get_status(dev);
}

UV_EXPORT int uvirtio_dev_check_status(struct uvirtio_dev *dev)
{
	int st, broken = atomic_load_explicit(&dev->broken,
					      memory_order_relaxed);

	if (broken)
		return broken;
	if (uvirtio_backend_removed(dev->be)) {
		uv_dev_mark_broken(dev, dev->tops->gone_err);
		return dev->tops->gone_err;
	}
	st = dev->tops->get_status(dev);
	if (st < 0)
		return st;
	if (st == 0xff) {
		/* All-ones: the function is gone (surprise removal). */
		uv_dev_mark_broken(dev, -ENODEV);
		return -ENODEV;
	}
	if (st & VIRTIO_CONFIG_S_NEEDS_RESET) {
		uv_dev_mark_broken(dev, -UVIRTIO_ENEEDS_RESET);
		return -UVIRTIO_ENEEDS_RESET;
	}
	if (st & VIRTIO_CONFIG_S_FAILED || !(st & VIRTIO_CONFIG_S_DRIVER)) {
		uv_dev_mark_broken(dev, -EIO);
		return -EIO;
	}
	return 0;
}

UV_EXPORT int uvirtio_dev_driver_ok(struct uvirtio_dev *dev)
{
	int ret = add_status(dev, VIRTIO_CONFIG_S_DRIVER_OK);

	if (ret)
		return ret;
	return uvirtio_dev_check_status(dev);
}

UV_EXPORT int uvirtio_dev_config_eventfd(struct uvirtio_dev *dev)
{
	return dev->config_fd >= 0 ? dev->config_fd : -ENOENT;
}
