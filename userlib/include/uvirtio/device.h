/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/device.h - generic virtio device (transport + initialisation).
 *
 * uvirtio_dev_open() runs the virtio 1.x initialisation sequence of spec
 * section 3.1 up to FEATURES_OK: reset (waiting, bounded, for status to read
 * back 0), ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK and its
 * read-back.  The caller (a device driver) then creates its virtqueues with
 * uvirtq_create() and calls uvirtio_dev_driver_ok().  Any failure sets
 * FAILED in the device status.
 *
 * Thread safety: a struct uvirtio_dev is single-threaded: open, config
 * access, queue creation, driver_ok, status checks and close must not run
 * concurrently with each other.  The only exception: once DRIVER_OK is set,
 * distinct virtqueues may be used from distinct threads at the same time
 * (each queue by one thread at a time), and uvirtio_dev_check_status() may
 * be called from any of those threads, and so may
 * uvirtio_dev_irq_service().
 *
 * Error codes used throughout the library:
 *  -EINVAL       bad argument
 *  -ENOMEM       allocation failure
 *  -ENODEV       no usable virtio device / transport
 *  -ENOTSUP      device lacks a required feature, or refused FEATURES_OK
 *  -ETIMEDOUT    device did not complete reset / a wait timed out
 *  -EAGAIN       config space kept changing (generation) beyond the retry
 *                bound, or the queue is full (uvirtq_add)
 *  -EIO          device misbehaved (bad used id/len/index): the queue or
 *                device is broken, every later call returns -EIO
 *  -ECONNRESET   (UVIRTIO_ENEEDS_RESET) the device set DEVICE_NEEDS_RESET;
 *                close and re-open it
 *  -EFAULT       memory not mapped for DMA
 */
#ifndef UVIRTIO_DEVICE_H
#define UVIRTIO_DEVICE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/** UVIRTIO_ENEEDS_RESET - errno (negated) for DEVICE_NEEDS_RESET. */
#define UVIRTIO_ENEEDS_RESET ECONNRESET

/** Bound on config_generation retry loops. */
#define UVIRTIO_CONFIG_RETRIES 16

/** struct uvirtio_dev - opaque virtio device. */
struct uvirtio_dev;

/**
 * enum uvirtio_transport_kind - which register interface to use.
 * @UVIRTIO_TRANSPORT_AUTO: the first transport that accepts the backend,
 *	in this order: PCI modern, PCI legacy, vhost-user, vhost-vdpa.
 * @UVIRTIO_TRANSPORT_MODERN: virtio 1.x PCI capabilities.
 * @UVIRTIO_TRANSPORT_LEGACY: legacy/transitional I/O BAR0.
 * @UVIRTIO_TRANSPORT_VHOST_USER: vhost-user front-end (the backend from
 *	uvirtio_vhost_user_open()).
 * @UVIRTIO_TRANSPORT_VHOST_VDPA: vhost-vdpa (the backend from
 *	uvirtio_vhost_vdpa_open()).
 * @UVIRTIO_TRANSPORT_MMIO: virtio-mmio, version 2 ("mmio") or legacy
 *	version 1 ("mmio-legacy"), over a backend whose BAR 0 is the
 *	register window (uvirtio_kmod_open_mmio()).  One interrupt for
 *	everything (UVIRTIO_DEV_IRQ_WIRED).
 */
enum uvirtio_transport_kind {
	UVIRTIO_TRANSPORT_AUTO = 0,
	UVIRTIO_TRANSPORT_MODERN,
	UVIRTIO_TRANSPORT_LEGACY,
	UVIRTIO_TRANSPORT_VHOST_USER,
	UVIRTIO_TRANSPORT_VHOST_VDPA,
	UVIRTIO_TRANSPORT_MMIO,
};

/**
 * struct uvirtio_dev_params - what the driver wants.
 * @transport: enum uvirtio_transport_kind.
 * @wanted: features the driver can use (device-specific + ring bits).
 *	VERSION_1 is added automatically on the modern transport;
 *	ACCESS_PLATFORM is added (and required) when the backend's IOMMU
 *	translates.  Bits the library does not implement are dropped.
 * @required: features whose absence makes open fail with -ENOTSUP.
 * @device_type: expected VIRTIO_ID_* (0: any).  Required on transports
 *	that cannot tell the device type (vhost-user).
 */
struct uvirtio_dev_params {
	enum uvirtio_transport_kind transport;
	uint64_t wanted;
	uint64_t required;
	uint32_t device_type;
};

/**
 * uvirtio_dev_open() - initialise a device up to FEATURES_OK.
 * @be: backend (must outlive the device).
 * @params: driver wishes.
 * @out: receives the device.
 * Return: 0, or -ENODEV, -ENOTSUP, -ETIMEDOUT, -ENOMEM, -EIO.
 */
int uvirtio_dev_open(struct uvirtio_backend *be,
		     const struct uvirtio_dev_params *params,
		     struct uvirtio_dev **out);

/** uvirtio_dev_close() - reset the device and free it (NULL is fine). */
void uvirtio_dev_close(struct uvirtio_dev *dev);

/**
 * uvirtio_dev_attach() - take over a device that is already running.
 * @be: a re-attached backend (uvirtio_kmod_reattach()).
 * @params: the driver's wishes, as for uvirtio_dev_open(); @params->required
 *	must be within @features.
 * @features: the feature bits the previous owner negotiated, as it saved
 *	them.
 * @out: receives the device.
 *
 * No reset and no negotiation: the device must be DRIVER_OK (and
 * FEATURES_OK), neither FAILED nor NEEDS_RESET, and still offer every bit
 * of @features.  Queues are taken over with uvirtq_restore().  Modern
 * (virtio 1.x) transports only.
 * Return: 0; -EIO if the device is not running or needs a reset; -EPROTO
 * if @features is not what it offers or lacks a required bit;
 * -EOPNOTSUPP on a legacy transport; as uvirtio_dev_open() otherwise.
 */
int uvirtio_dev_attach(struct uvirtio_backend *be,
		       const struct uvirtio_dev_params *params,
		       uint64_t features, struct uvirtio_dev **out);

/**
 * uvirtio_dev_detach() - free the device object, leaving the device running.
 * @dev: device (NULL is fine).
 *
 * For a handover to the next process with keep-alive armed
 * (uvirtio_backend_keepalive()): unlike uvirtio_dev_close() the device is
 * not reset and goes on with the requests in flight.
 */
void uvirtio_dev_detach(struct uvirtio_dev *dev);

/** uvirtio_dev_features() - negotiated feature bits. */
uint64_t uvirtio_dev_features(const struct uvirtio_dev *dev);

/** uvirtio_dev_has_feature() - true if feature @bit was negotiated. */
bool uvirtio_dev_has_feature(const struct uvirtio_dev *dev, unsigned int bit);

/** uvirtio_dev_device_type() - VIRTIO_ID_* of the device. */
uint32_t uvirtio_dev_device_type(const struct uvirtio_dev *dev);

/** uvirtio_dev_is_legacy() - true when driven through the legacy BAR. */
bool uvirtio_dev_is_legacy(const struct uvirtio_dev *dev);

/** uvirtio_dev_transport_name() - "pci-modern", "vhost-user", ... */
const char *uvirtio_dev_transport_name(const struct uvirtio_dev *dev);

/** uvirtio_dev_config_len() - bytes of device-specific config space. */
uint32_t uvirtio_dev_config_len(struct uvirtio_dev *dev);

/**
 * uvirtio_dev_num_vectors() - MSI-X vectors the device can use.
 * @dev: device.
 *
 * How the queues are interrupted is uvirtio_dev_irq_mode()'s answer; this
 * is only the MSI-X count (the wired line of virtio-mmio counts as one).
 * Return: the count, 0 when the device has no MSI-X.
 */
unsigned int uvirtio_dev_num_vectors(const struct uvirtio_dev *dev);

/**
 * enum uvirtio_dev_irq_mode - how a device's queues are interrupted.
 * @UVIRTIO_DEV_IRQ_POLL: no interrupt: queues created with interrupts fail
 *	with -ENOSPC and drivers poll.
 * @UVIRTIO_DEV_IRQ_MSIX: MSI-X, vector 0 for the config change and vector
 *	i + 1 for queue i: each queue's eventfd is signalled by the device.
 * @UVIRTIO_DEV_IRQ_SHARED: fewer MSI-X vectors than queues + 1: vector 0
 *	for the config change and vector 1 for every queue, or (with one
 *	vector) all on vector 0.
 * @UVIRTIO_DEV_IRQ_INTX: the PCI INTx line, acknowledged by reading the
 *	ISR status register and then unmasked; it carries every queue and
 *	the config change (ISR bit 1).
 * @UVIRTIO_DEV_IRQ_WIRED: the one wired line of a virtio-mmio device,
 *	acknowledged by the backend; every queue and the config change.
 *
 * In the last three modes one interrupt serves several queues: each queue
 * still has its own eventfd (uvirtq_eventfd()), which
 * uvirtio_dev_irq_service() signals when the shared line fires.  A waiter
 * polls its queue's eventfd and uvirtio_dev_irq_fd() and calls
 * uvirtio_dev_irq_service() when the latter is readable.
 */
enum uvirtio_dev_irq_mode {
	UVIRTIO_DEV_IRQ_POLL = 0,
	UVIRTIO_DEV_IRQ_MSIX,
	UVIRTIO_DEV_IRQ_SHARED,
	UVIRTIO_DEV_IRQ_INTX,
	UVIRTIO_DEV_IRQ_WIRED,
};

/**
 * uvirtio_dev_set_irq_queues() - say how many queues take interrupts.
 * @dev: device, before the first queue is created with interrupts.
 * @nqueues: queues 0 .. @nqueues - 1 will (0: every queue of the device).
 *
 * Chooses the interrupt mode in the order of the kernel's virtio-pci
 * driver: one MSI-X vector per queue plus one for the config change if
 * the device has that many, else shared MSI-X vectors, else INTx (or the
 * wired line of virtio-mmio), else polling.  uvirtio_dev_open() plans for
 * every queue of the device; a driver that uses fewer calls this to get
 * a vector per queue where that is enough.
 * Return: the enum uvirtio_dev_irq_mode chosen, -EBUSY once a queue took
 * an interrupt, -EINVAL, or an error of the backend.
 */
int uvirtio_dev_set_irq_queues(struct uvirtio_dev *dev, unsigned int nqueues);

/** uvirtio_dev_irq_mode() - the enum uvirtio_dev_irq_mode chosen. */
enum uvirtio_dev_irq_mode uvirtio_dev_irq_mode(const struct uvirtio_dev *dev);

/**
 * uvirtio_dev_irq_mode_name() - "poll", "msix", "shared", "intx", "wired".
 * @mode: an enum uvirtio_dev_irq_mode.
 * Return: a static string ("?" for an unknown value).
 */
const char *uvirtio_dev_irq_mode_name(enum uvirtio_dev_irq_mode mode);

/**
 * uvirtio_dev_irq_fd() - the eventfd of the line that queues share.
 * @dev: device.
 *
 * In the shared, INTx and wired modes: poll it beside a queue's own
 * eventfd and call uvirtio_dev_irq_service() when it is readable.  Owned
 * by the library: do not read or close it.
 * Return: the fd, or -ENOENT in the MSI-X and polling modes.
 */
int uvirtio_dev_irq_fd(const struct uvirtio_dev *dev);

/**
 * uvirtio_dev_irq_service() - handle one firing of the shared line.
 * @dev: device.
 *
 * Consumes uvirtio_dev_irq_fd()'s count; for INTx it reads the ISR status
 * register (acknowledging the interrupt) and unmasks the line.  It then
 * signals the eventfd of every queue created with interrupts (for INTx
 * only if ISR bit 0 is set) and, when the line carries it, the config
 * eventfd (INTx: ISR bit 1).  Safe to call from any thread at any time:
 * with nothing pending it does nothing.
 * Return: the number of interrupts consumed (0: none pending), -ENOENT
 * without a shared line, or a negative errno of the backend.
 */
int uvirtio_dev_irq_service(struct uvirtio_dev *dev);

/**
 * uvirtio_dev_broken() - cheap health check for hot paths.
 * @dev: device.
 *
 * One atomic load, no register access.
 * Return: 0, or the negative errno the device was marked broken with.
 */
int uvirtio_dev_broken(const struct uvirtio_dev *dev);

/**
 * uvirtio_dev_fail() - tell the device the driver gave up (sets FAILED).
 * @dev: device.
 *
 * For a driver whose initialisation failed after uvirtio_dev_open().
 */
void uvirtio_dev_fail(struct uvirtio_dev *dev);

/** uvirtio_dev_num_queues() - number of queues the device offers. */
int uvirtio_dev_num_queues(struct uvirtio_dev *dev);

/** uvirtio_dev_backend() - the backend the device sits on. */
struct uvirtio_backend *uvirtio_dev_backend(struct uvirtio_dev *dev);

/**
 * uvirtio_dev_read_config() - consistent read of device config space.
 * @dev: device.
 * @off: offset in the device-specific config structure.
 * @buf: output.
 * @len: bytes (any; accessed with natural widths of 1/2/4 bytes).
 *
 * Reads config_generation before and after and retries (at most
 * UVIRTIO_CONFIG_RETRIES times) until both agree (modern only; the legacy
 * interface has no generation counter).
 * Return: 0, -EAGAIN when it never settled, -EINVAL out of range.
 */
int uvirtio_dev_read_config(struct uvirtio_dev *dev, uint32_t off, void *buf,
			    uint32_t len);

/** uvirtio_dev_write_config() - write device config space. */
int uvirtio_dev_write_config(struct uvirtio_dev *dev, uint32_t off,
			     const void *buf, uint32_t len);

/**
 * uvirtio_dev_driver_ok() - set DRIVER_OK after the queues are created.
 * @dev: device.
 * Return: 0 or -EIO / UVIRTIO_ENEEDS_RESET.
 */
int uvirtio_dev_driver_ok(struct uvirtio_dev *dev);

/**
 * uvirtio_dev_check_status() - poll device health.
 * @dev: device.
 *
 * Reads the status register.
 * Return: 0 if fine, -UVIRTIO_ENEEDS_RESET if the device set
 * DEVICE_NEEDS_RESET, -EIO if the device was marked broken (a queue
 * detected misbehaviour, or status reads back 0 / FAILED), -ENODEV (or
 * -ENOTCONN on vhost-user) once the device is gone.
 */
int uvirtio_dev_check_status(struct uvirtio_dev *dev);

/**
 * uvirtio_dev_config_eventfd() - eventfd of the config change.
 * @dev: device.
 *
 * The config vector's eventfd with MSI-X (its own vector); a library
 * eventfd signalled by uvirtio_dev_irq_service() when the config change
 * comes through a shared line (one MSI-X vector, INTx, wired).
 * Return: fd or -ENOENT when the device has no config interrupt.
 */
int uvirtio_dev_config_eventfd(struct uvirtio_dev *dev);

/** uvirtio_dev_status() - raw device status byte (or negative errno). */
int uvirtio_dev_status(struct uvirtio_dev *dev);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_DEVICE_H */
