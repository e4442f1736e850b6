// SPDX-License-Identifier: BSD-3-Clause
/*
 * device.c - generic virtio device: transport selection, the spec 3.1
 * initialisation sequence, feature negotiation, consistent config access
 * and status / NEEDS_RESET handling.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "internal.h"

/* ISR status bit 0 (spec 4.1.4.5); the UAPI header names only bit 1 */
#define UV_ISR_QUEUE		0x1

#define RESET_TIMEOUT_NS	(2ull * 1000 * 1000 * 1000)

/* Transport / ring feature bits this library implements. */
#define UV_TRANSPORT_FEATURES					\
	((1ull << VIRTIO_RING_F_INDIRECT_DESC) |		\
	 (1ull << VIRTIO_RING_F_EVENT_IDX) |			\
	 (1ull << VIRTIO_F_VERSION_1) |				\
	 (1ull << VIRTIO_F_ACCESS_PLATFORM) |			\
	 (1ull << VIRTIO_F_RING_PACKED) |			\
	 (1ull << VIRTIO_F_IN_ORDER) |				\
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
	case UV_NOTIFY_LOCAL:
		if (!dev->tops->local_notify)
			return -ENODEV;
		return dev->tops->local_notify(dev, (uint16_t)n->off);
	}
	return 0;
}

static int new_efd(int *fd)
{
	if (*fd < 0) {
		*fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (*fd < 0)
			return -errno;
	}
	return *fd;
}

int uv_dev_queue_irq(struct uvirtio_dev *dev, uint16_t index, int cpu,
		     uint16_t *vector)
{
	int ret;

	switch (dev->irq_mode) {
	case UVIRTIO_DEV_IRQ_MSIX:
		/* Vector 0 is the config vector; queue i gets vector i + 1. */
		if (dev->nvectors < (unsigned int)index + 2)
			return -ENOSPC;
		*vector = (uint16_t)(index + 1);
		ret = uvirtio_backend_irq_eventfd(dev->be, *vector, cpu);
		break;
	case UVIRTIO_DEV_IRQ_SHARED:
		*vector = (uint16_t)dev->line_vector;
		ret = new_efd(&dev->qfd[index]);
		break;
	case UVIRTIO_DEV_IRQ_INTX:
	case UVIRTIO_DEV_IRQ_WIRED:
		*vector = VIRTIO_MSI_NO_VECTOR;
		ret = new_efd(&dev->qfd[index]);
		break;
	default:
		return -ENOSPC;
	}
	if (ret >= 0)
		dev->irq_queues_made = true;
	return ret;
}

/* Close what the interrupt plan created (not the backend's eventfds). */
static void irq_release(struct uvirtio_dev *dev)
{
	unsigned int i;

	for (i = 0; dev->qfd && i < dev->num_queues; i++)
		if (dev->qfd[i] >= 0)
			close(dev->qfd[i]);
	free(dev->qfd);
	dev->qfd = NULL;
	if (dev->config_fd_owned && dev->config_fd >= 0)
		close(dev->config_fd);
	dev->config_fd = -1;
	dev->config_fd_owned = false;
}

/*
 * The per-queue eventfds the interrupt plan may need, and a first plan
 * for every queue, until the driver says how many it uses.
 */
static int irq_plan(struct uvirtio_dev *dev)
{
	dev->qfd = malloc((dev->num_queues ? dev->num_queues : 1) *
			  sizeof(int));
	if (!dev->qfd)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->num_queues; i++)
		dev->qfd[i] = -1;
	return uvirtio_dev_set_irq_queues(dev, 0);
}

/* The config change comes through the line: a library eventfd for it. */
static int own_config_fd(struct uvirtio_dev *dev)
{
	int fd;

	if (dev->config_fd_owned)
		return 0;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	dev->config_fd = fd;
	dev->config_fd_owned = true;
	return 0;
}

UV_EXPORT int uvirtio_dev_set_irq_queues(struct uvirtio_dev *dev,
					 unsigned int nqueues)
{
	enum uvirtio_dev_irq_mode mode = UVIRTIO_DEV_IRQ_POLL;
	int ret, fd;

	if (!dev)
		return -EINVAL;
	if (dev->irq_queues_made)
		return -EBUSY;
	if (!nqueues || nqueues > dev->num_queues)
		nqueues = dev->num_queues;
	switch (dev->be_irq) {
	case UVIRTIO_BE_IRQ_MSIX:
		/* the kernel virtio-pci driver's order: own vectors, shared */
		if (dev->nvectors >= nqueues + 1)
			mode = UVIRTIO_DEV_IRQ_MSIX;
		else if (dev->msix_enabled)	/* vectors are programmable */
			mode = UVIRTIO_DEV_IRQ_SHARED;
		break;
	case UVIRTIO_BE_IRQ_INTX:
		if (dev->tops->isr_read)
			mode = UVIRTIO_DEV_IRQ_INTX;
		break;
	case UVIRTIO_BE_IRQ_WIRED:
		mode = UVIRTIO_DEV_IRQ_WIRED;
		break;
	default:
		break;
	}
	dev->line_fd = -1;
	dev->line_config = false;
	if (mode == UVIRTIO_DEV_IRQ_SHARED) {
		/* one vector for config, one for all queues; or all on 0 */
		dev->line_vector = dev->nvectors >= 2 ? 1 : 0;
		dev->line_config = dev->line_vector == 0;
	} else if (mode == UVIRTIO_DEV_IRQ_INTX ||
		   mode == UVIRTIO_DEV_IRQ_WIRED) {
		dev->line_vector = 0;
		dev->line_config = true;
	}
	if (dev->line_config) {
		ret = own_config_fd(dev);
		if (ret)
			return ret;
	} else if (dev->config_fd_owned) {
		close(dev->config_fd);
		dev->config_fd_owned = false;
		dev->config_fd = dev->msix_enabled ?
			uvirtio_backend_irq_eventfd(dev->be, 0, -1) : -1;
	}
	if (mode != UVIRTIO_DEV_IRQ_MSIX && mode != UVIRTIO_DEV_IRQ_POLL) {
		fd = uvirtio_backend_irq_eventfd(dev->be, dev->line_vector, -1);
		if (fd < 0)
			return fd;
		dev->line_fd = fd;
	}
	dev->irq_mode = mode;
	/*
	 * INTx fired before its eventfd was set stays masked (the backend
	 * masks on every interrupt): acknowledge and unmask it now.
	 */
	if (mode == UVIRTIO_DEV_IRQ_INTX) {
		ret = dev->tops->isr_read(dev);
		if (ret < 0)
			return ret;
		ret = uvirtio_backend_irq_mask(dev->be, 0, false);
		if (ret)
			return ret;
	}
	return (int)mode;
}

UV_EXPORT enum uvirtio_dev_irq_mode
uvirtio_dev_irq_mode(const struct uvirtio_dev *dev)
{
	return dev->irq_mode;
}

UV_EXPORT const char *uvirtio_dev_irq_mode_name(enum uvirtio_dev_irq_mode m)
{
	switch (m) {
	case UVIRTIO_DEV_IRQ_POLL: return "poll";
	case UVIRTIO_DEV_IRQ_MSIX: return "msix";
	case UVIRTIO_DEV_IRQ_SHARED: return "shared";
	case UVIRTIO_DEV_IRQ_INTX: return "intx";
	case UVIRTIO_DEV_IRQ_WIRED: return "wired";
	}
	return "?";
}

UV_EXPORT int uvirtio_dev_irq_fd(const struct uvirtio_dev *dev)
{
	return dev->line_fd >= 0 ? dev->line_fd : -ENOENT;
}

static void kick(int fd)
{
	static const uint64_t one = 1;

	/* a full counter is still readable: EAGAIN loses nothing */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

UV_EXPORT int uvirtio_dev_irq_service(struct uvirtio_dev *dev)
{
	int isr = UV_ISR_QUEUE;
	unsigned int i;
	uint64_t n;
	int ret;

	if (dev->line_fd < 0)
		return -ENOENT;
	if (read(dev->line_fd, &n, sizeof(n)) != sizeof(n))
		return errno == EAGAIN ? 0 : -errno;
	if (dev->line_config)
		isr |= VIRTIO_PCI_ISR_CONFIG;
	if (dev->irq_mode == UVIRTIO_DEV_IRQ_INTX) {
		/* ISR first: reading it deasserts the line; then unmask */
		isr = dev->tops->isr_read(dev);
		if (isr < 0)
			return isr;
		ret = uvirtio_backend_irq_mask(dev->be, 0, false);
		if (ret)
			return ret;
	}
	if (isr & UV_ISR_QUEUE)
		for (i = 0; i < dev->num_queues; i++)
			kick(dev->qfd[i]);
	if ((isr & VIRTIO_PCI_ISR_CONFIG) && dev->config_fd_owned)
		kick(dev->config_fd);
	return n > INT32_MAX ? INT32_MAX : (int)n;
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
	/* NOTIF_CONFIG_DATA too, where there is a queue_notify_data. */
	if (!legacy && dev->tops->can_notif_config_data &&
	    dev->tops->can_notif_config_data(dev))
		want |= (1ull << VIRTIO_F_NOTIF_CONFIG_DATA) & offered;
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

	if (!dev->msix_enabled)
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

/*
 * After the features: the config vector, the number of queues and the
 * first interrupt plan, as opening and attaching both need them.
 */
static int dev_queues(struct uvirtio_dev *dev)
{
	int ret = setup_config_vector(dev);

	if (ret)
		return ret;
	ret = dev->tops->num_queues(dev);
	if (ret < 0)
		return ret;
	dev->num_queues = (uint16_t)ret;
	return irq_plan(dev);
}

/*
 * What opening and attaching share: the object, the transport, the device
 * type and the vectors.  On failure nothing is left.
 */
static int dev_new(struct uvirtio_backend *be,
		   const struct uvirtio_dev_params *params,
		   struct uvirtio_dev **out)
{
	struct uvirtio_dev *dev;
	int ret, vecs;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->be = be;
	dev->config_fd = -1;
	dev->line_fd = -1;
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
	dev->be_irq = uvirtio_backend_irq_kind(be);
	/* legacy config offset depends on MSI-X being enabled: decide now */
	dev->msix_enabled = dev->be_irq == UVIRTIO_BE_IRQ_MSIX &&
			    dev->nvectors > 0 && dev->tops->set_config_vector;
	*out = dev;
	return 0;

err_release:
	release_transport(dev);
err_free:
	free(dev);
	return ret;
}

UV_EXPORT int uvirtio_dev_open(struct uvirtio_backend *be,
			       const struct uvirtio_dev_params *params,
			       struct uvirtio_dev **out)
{
	struct uvirtio_dev_params defp = { 0 };
	struct uvirtio_dev *dev;
	int ret;

	if (!be || !out)
		return -EINVAL;
	if (!params)
		params = &defp;
	ret = dev_new(be, params, &dev);
	if (ret)
		return ret;
	ret = dev_reset(dev);
	if (ret)
		goto err_release;
	if ((ret = add_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE)) ||
	    (ret = add_status(dev, VIRTIO_CONFIG_S_DRIVER)))
		goto err_failed;
	ret = negotiate(dev, params);
	if (ret)
		goto err_failed;
	ret = dev_queues(dev);
	if (ret < 0)
		goto err_failed;
	*out = dev;
	return 0;

err_failed:
	add_status(dev, VIRTIO_CONFIG_S_FAILED);
	irq_release(dev);
err_release:
	release_transport(dev);
	free(dev);
	return ret;
}

UV_EXPORT int uvirtio_dev_attach(struct uvirtio_backend *be,
				 const struct uvirtio_dev_params *params,
				 uint64_t features, struct uvirtio_dev **out)
{
	const uint8_t need = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			     VIRTIO_CONFIG_S_DRIVER |
			     VIRTIO_CONFIG_S_FEATURES_OK |
			     VIRTIO_CONFIG_S_DRIVER_OK;
	struct uvirtio_dev_params defp = { 0 };
	struct uvirtio_dev *dev;
	uint64_t offered;
	int ret, st;

	if (!be || !out)
		return -EINVAL;
	if (!params)
		params = &defp;
	ret = dev_new(be, params, &dev);
	if (ret)
		return ret;
	ret = -EOPNOTSUPP;
	if (dev->tops->legacy)
		goto err_release;
	st = dev->tops->get_status(dev);
	if (st < 0) {
		ret = st;
		goto err_release;
	}
	if ((st & need) != need ||
	    (st & (VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET))) {
		ret = -EIO;
		goto err_release;
	}
	ret = dev->tops->get_features(dev, &offered);
	if (ret)
		goto err_release;
	if ((features & ~offered) || (params->required & ~features) ||
	    !(features & (1ull << VIRTIO_F_VERSION_1))) {
		ret = -EPROTO;
		goto err_release;
	}
	dev->features = features;
	/* The same config vector as before: re-programming it changes nothing. */
	ret = dev_queues(dev);
	if (ret < 0)
		goto err_release;
	*out = dev;
	return 0;

err_release:
	irq_release(dev);
	release_transport(dev);
	free(dev);
	return ret;
}

UV_EXPORT void uvirtio_dev_detach(struct uvirtio_dev *dev)
{
	if (!dev)
		return;
	irq_release(dev);
	release_transport(dev);
	free(dev);
}

UV_EXPORT void uvirtio_dev_close(struct uvirtio_dev *dev)
{
	if (!dev)
		return;
	/* Stop all DMA before the rings are freed by the caller. */
	if (dev_reset(dev))
		uvirtio_backend_reset(dev->be);
	irq_release(dev);
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
