/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/rng.h - virtio-rng (entropy source) driver.
 *
 * Uses one request queue and an internal 4 KiB DMA buffer, so the
 * caller's buffer needs no mapping.  A device with any interrupt (its
 * own MSI-X vector, a shared one, INTx, the virtio-mmio line: see
 * uvirtio_dev_irq_mode()) is waited for on the queue's eventfd (a
 * rate-limited device costs no CPU while it refills); without one the
 * queue is polled.
 *
 * Thread safety: a struct uvirtio_rng is single-threaded.
 */
#ifndef UVIRTIO_RNG_H
#define UVIRTIO_RNG_H

#include <stddef.h>
#include <sys/types.h>
#include <uvirtio/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtio_rng - opaque virtio-rng device. */
struct uvirtio_rng;

/**
 * uvirtio_rng_open() - initialise a virtio-rng device.
 * @be: backend (must outlive the device).
 * @transport: enum uvirtio_transport_kind.
 * @out: receives the device.
 * Return: 0 or negative errno.
 */
int uvirtio_rng_open(struct uvirtio_backend *be,
		     enum uvirtio_transport_kind transport,
		     struct uvirtio_rng **out);

/** uvirtio_rng_close() - reset and free (NULL is fine). */
void uvirtio_rng_close(struct uvirtio_rng *rng);

/**
 * uvirtio_rng_read() - fill @buf with @len bytes of entropy.
 * @rng: device.
 * @buf: output.
 * @len: bytes wanted.
 * Return: @len, or negative errno (-EIO, -ETIMEDOUT after 5 s without
 * progress, -UVIRTIO_ENEEDS_RESET).
 */
ssize_t uvirtio_rng_read(struct uvirtio_rng *rng, void *buf, size_t len);

/**
 * uvirtio_rng_read_some() - what the device gives within a time.
 * @rng: device.
 * @buf: output.
 * @len: at most this many bytes (one request: at most 4096).
 * @timeout_ms: how long to wait for the first byte.
 *
 * For streaming a slow device: returns as soon as the device answers.  A
 * request that times out stays with the device; the next call waits for
 * it again rather than asking twice.
 * Return: bytes read (1..@len), -ETIMEDOUT when nothing came in time, or
 * another negative errno (-EINVAL, -EIO, -ENODEV, -UVIRTIO_ENEEDS_RESET).
 */
ssize_t uvirtio_rng_read_some(struct uvirtio_rng *rng, void *buf, size_t len,
			      int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_RNG_H */
