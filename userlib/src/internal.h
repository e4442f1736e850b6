/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * internal.h - private declarations shared by the libuvirtio sources.
 */
#ifndef UVIRTIO_INTERNAL_H
#define UVIRTIO_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include <uvirtio/backend.h>
#include <uvirtio/device.h>
#include <uvirtio/virtqueue.h>

#include "util.h"

/* Linux 6.1's UAPI headers predate it (virtio 1.2, spec 6.2). */
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif
/* Nor NOTIF_CONFIG_DATA (virtio 1.2; newer Linux headers have it). */
#ifndef VIRTIO_F_NOTIF_CONFIG_DATA
#define VIRTIO_F_NOTIF_CONFIG_DATA 39
#endif
/* Nor VIRTIO_F_RING_RESET and the PCI queue_reset register (spec 4.1.4.3). */
#ifndef VIRTIO_F_RING_RESET
#define VIRTIO_F_RING_RESET 40
#endif
#ifndef VIRTIO_PCI_COMMON_Q_RESET
#define VIRTIO_PCI_COMMON_Q_RESET 58
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libuvirtio currently supports little-endian hosts only"
#endif


/* One IOVA-contiguous piece of the translation table. */
struct uv_xlat {
	uintptr_t va;
	uint64_t len;
	uint64_t iova;
	uintptr_t key;		/* start vaddr of the owning mapping */
};

/* One mapping or allocation registered in the table. */
struct uv_mapping {
	uintptr_t key;
	uint64_t handle;
	bool is_alloc;
};

/* Unmaps remembered for requests in flight across them (see blk.c). */
#define UV_UNMAP_LOG	64

struct uvirtio_backend {
	const struct uvirtio_backend_ops *ops;
	void *priv;
	bool device_off_cpu;	/* uv_backend_set_off_cpu() */
	pthread_rwlock_t lock;
	struct uv_xlat *xlat;		/* sorted by va, non-overlapping */
	size_t nxlat, xlat_cap;
	struct uv_mapping *maps;
	size_t nmaps, maps_cap;
	/* bumped (under @lock, written) by every unmap and free */
	_Atomic uint64_t unmap_gen;
	struct {
		uint64_t gen;
		uintptr_t va;
		uint64_t len;
	} unmap_log[UV_UNMAP_LOG];
	/* a re-attached backend's inherited allocations (ops->restored) */
	struct uv_restored {
		struct uvirtio_dma dma;
		bool is_state;
		bool claimed;
	} *restored;
	size_t nrestored;
};

/*
 * One register of a BAR that a backend reaches either through its own
 * mapping (@map: the register, or NULL where the range is not mapped) or
 * by pread()/pwrite() of @fd at @foff: the kmod and VFIO backends' shape.
 */
static inline int uv_win_read(const volatile void *map, int fd, off_t foff,
			      unsigned int width, uint64_t *val)
{
	uint64_t x = 0;
	ssize_t r;

	if (map) {
		switch (width) {
		case 1: x = *(const volatile uint8_t *)map; break;
		case 2: x = *(const volatile uint16_t *)map; break;
		case 4: x = *(const volatile uint32_t *)map; break;
		default: x = *(const volatile uint64_t *)map; break;
		}
		*val = x;
		return 0;
	}
	r = pread(fd, &x, width, foff);
	if (r != (ssize_t)width)
		return r < 0 ? -errno : -EIO;
	*val = x;
	return 0;
}

static inline int uv_win_write(volatile void *map, int fd, off_t foff,
			       unsigned int width, uint64_t val)
{
	ssize_t r;

	if (map) {
		switch (width) {
		case 1: *(volatile uint8_t *)map = (uint8_t)val; break;
		case 2: *(volatile uint16_t *)map = (uint16_t)val; break;
		case 4: *(volatile uint32_t *)map = (uint32_t)val; break;
		default: *(volatile uint64_t *)map = val; break;
		}
		return 0;
	}
	r = pwrite(fd, &val, width, foff);
	return r == (ssize_t)width ? 0 : r < 0 ? -errno : -EIO;
}

static inline int uv_bar_read(struct uvirtio_backend *be, unsigned int bar,
			      uint64_t off, unsigned int width, uint64_t *val)
{
	if (!be->ops->bar_read)
		return -ENODEV;
	return be->ops->bar_read(be->priv, bar, off, width, val);
}

static inline int uv_bar_write(struct uvirtio_backend *be, unsigned int bar,
			       uint64_t off, unsigned int width, uint64_t val)
{
	if (!be->ops->bar_write)
		return -ENODEV;
	return be->ops->bar_write(be->priv, bar, off, width, val);
}

/* How a queue's doorbell is rung. */
enum uv_notify_kind {
	UV_NOTIFY_MMIO,		/* 16-bit store through @ptr */
	UV_NOTIFY_BAR,		/* backend bar_write(@bar, @off) of @width */
	UV_NOTIFY_EVENTFD,	/* 8-byte write to eventfd @fd (vhost) */
	UV_NOTIFY_LOCAL,	/* the transport serves queue @off itself */
};

/* Where and how to ring a queue's doorbell. */
struct uv_notify {
	enum uv_notify_kind kind;
	volatile void *ptr;
	unsigned int bar;
	uint64_t off;
	unsigned int width;	/* 2 or 4 bytes (0: 2) */
	/*
	 * What the doorbell writes: the queue index, or with
	 * NOTIF_CONFIG_DATA the device's queue_notify_data; with
	 * NOTIFICATION_DATA the virtqueue adds its position above.
	 */
	uint32_t value;
	int fd;
};

struct uv_queue_setup {
	uint16_t index;
	uint16_t size;
	uint64_t desc;
	uint64_t driver;
	uint64_t device;
	uint16_t vector;	/* VIRTIO_MSI_NO_VECTOR for none */
};

/*
 * Transport vtable.  A transport turns a backend into virtio registers:
 * status, features, config, queues and doorbells.  The transports live in
 * one table (device.c); AUTO tries them in order and takes the first whose
 * probe() accepts the backend.  probe() may allocate transport state in
 * dev->tpriv; release() frees it.  Nothing outside the transport's own
 * file knows what a PCI capability or a vhost-user message is.
 */
struct uv_transport_ops {
	const char *name;
	enum uvirtio_transport_kind kind;
	/* legacy (pre-1.0) interface: no VERSION_1, no FEATURES_OK */
	bool legacy;
	/* legacy ring layout: fixed queue size, 4096-aligned used ring */
	bool fixed_queue_size;
	uint32_t split_align;		/* used ring alignment */
	/* errno of a device that went away (-ENODEV, -ENOTCONN) */
	int gone_err;
	/* the doorbell can carry VIRTIO_F_NOTIFICATION_DATA (32 bits) */
	bool notify_data;
	int (*probe)(struct uvirtio_dev *dev);
	void (*release)(struct uvirtio_dev *dev);
	/* VIRTIO_ID_*, or 0 when the transport cannot tell */
	int (*device_type)(struct uvirtio_dev *dev, uint32_t *type);
	int (*get_status)(struct uvirtio_dev *dev);
	int (*set_status)(struct uvirtio_dev *dev, uint8_t status);
	int (*get_features)(struct uvirtio_dev *dev, uint64_t *features);
	int (*set_features)(struct uvirtio_dev *dev, uint64_t features);
	/* Raw device config access at natural width (1, 2, 4). */
	int (*config_read)(struct uvirtio_dev *dev, uint32_t off,
			   unsigned int width, uint32_t *val);
	int (*config_write)(struct uvirtio_dev *dev, uint32_t off,
			    unsigned int width, uint32_t val);
	/* Return the generation, or -EOPNOTSUPP when there is none. */
	int (*config_generation)(struct uvirtio_dev *dev);
	uint32_t (*config_len)(struct uvirtio_dev *dev);
	int (*num_queues)(struct uvirtio_dev *dev);
	/* Max (modern) or fixed (legacy) size; 0 if the queue is absent. */
	int (*queue_size)(struct uvirtio_dev *dev, uint16_t index);
	int (*queue_setup)(struct uvirtio_dev *dev,
			   const struct uv_queue_setup *qs);
	int (*queue_notify_info)(struct uvirtio_dev *dev, uint16_t index,
				 struct uv_notify *n);
	/*
	 * Optional: whether the device can have VIRTIO_F_NOTIF_CONFIG_DATA
	 * (it has a queue_notify_data register); queue_notify_info() then
	 * puts that value in the notification.
	 */
	bool (*can_notif_config_data)(struct uvirtio_dev *dev);
	/* optional: no config interrupt without it */
	int (*set_config_vector)(struct uvirtio_dev *dev, uint16_t vector);
	/*
	 * Optional: read the ISR status byte (VIRTIO_PCI_ISR_QUEUE /
	 * _CONFIG), which clears it and deasserts INTx.  Without it INTx
	 * cannot be acknowledged and the device polls.
	 */
	int (*isr_read)(struct uvirtio_dev *dev);
	/*
	 * Optional, VIRTIO_F_RING_RESET (spec 2.6.1): can_queue_reset() says
	 * whether this device can have the feature (negotiate() takes it
	 * only then); queue_reset() stops queue @index and waits, bounded,
	 * until the device says it is reset (-ETIMEDOUT if it never does).
	 * Afterwards queue_setup() re-programs and re-enables the queue.
	 */
	bool (*can_queue_reset)(struct uvirtio_dev *dev);
	int (*queue_reset)(struct uvirtio_dev *dev, uint16_t index);
	/*
	 * Optional: the doorbell of a queue whose notify info is
	 * UV_NOTIFY_LOCAL (a queue the transport itself is the device for,
	 * vhost-user's net control queue).  Runs in the kicking thread and
	 * completes what is available before it returns; non-zero: the
	 * request was not served (the queue breaks).
	 */
	int (*local_notify)(struct uvirtio_dev *dev, uint16_t index);
};

extern const struct uv_transport_ops uv_pci_modern_ops;
extern const struct uv_transport_ops uv_pci_legacy_ops;
extern const struct uv_transport_ops uv_vhost_user_ops;
extern const struct uv_transport_ops uv_vhost_vdpa_ops;
extern const struct uv_transport_ops uv_mmio_ops;
extern const struct uv_transport_ops uv_mmio_legacy_ops;

struct uvirtio_dev {
	struct uvirtio_backend *be;
	const struct uv_transport_ops *tops;
	void *tpriv;		/* the transport's own state */
	uint64_t features;
	uint32_t device_type;
	uint16_t num_queues;
	unsigned int nvectors;	/* interrupt vectors usable (0: none) */
	bool msix_enabled;	/* a config vector was programmed */
	int be_irq;		/* enum uvirtio_be_irq of the backend */
	/*
	 * Interrupt plan (uvirtio_dev_set_irq_queues(), device.c): the mode,
	 * and for every mode but MSIX/POLL the line all queues share: the
	 * backend's eventfd of @line_vector, serviced by
	 * uvirtio_dev_irq_service(), which signals each queue's own
	 * eventfd in @qfd (and @config_fd when @line_config).
	 */
	enum uvirtio_dev_irq_mode irq_mode;
	bool irq_queues_made;	/* a queue took an interrupt: plan fixed */
	int line_fd;
	unsigned int line_vector;
	bool line_config;
	int *qfd;		/* [num_queues], -1: none yet */
	int config_fd;
	bool config_fd_owned;	/* a library eventfd signalled from the line */
	atomic_int broken;	/* 0, or negative errno once broken */
};

/* Device helpers used by the virtqueue layer. */
int uv_dev_queue_irq(struct uvirtio_dev *dev, uint16_t index, int cpu,
		     uint16_t *vector);
void uv_dev_mark_broken(struct uvirtio_dev *dev, int err);
/* 0, or the backend's error for a doorbell that was not written */
int uv_ring_doorbell(struct uvirtio_dev *dev, const struct uv_notify *n);

/* The device does not run on this OS's CPUs (kmod, VFIO: a PCI function). */
static inline void uv_backend_set_off_cpu(struct uvirtio_backend *be)
{
	be->device_off_cpu = true;
}

#endif /* UVIRTIO_INTERNAL_H */
