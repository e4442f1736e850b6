/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/rng.h - virtio-rng (entropy source) driver.
 *
 * Uses one polled request queue and an internal 4 KiB DMA bounce buffer,
 * so the caller's buffer needs no mapping.
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
 * Return: @len, or negative errno (-EIO, -ETIMEDOUT after 5 s without
 * progress, -UVIRTIO_ENEEDS_RESET).
 */
ssize_t uvirtio_rng_read(struct uvirtio_rng *rng, void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_RNG_H */
