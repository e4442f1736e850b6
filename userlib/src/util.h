/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * util.h - the few macros every libuvirtio source uses.  Device drivers
 * (blk.c, rng.c, ...) include only this and the public headers; the
 * library core adds internal.h.
 */
#ifndef UVIRTIO_UTIL_H
#define UVIRTIO_UTIL_H

#define UV_EXPORT __attribute__((visibility("default")))
#define UV_PAGE_SIZE 4096u
#define UV_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define UV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define UV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* UVIRTIO_UTIL_H */
