/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/uvirtio.h - umbrella header of libuvirtio.
 *
 * Layering, top to bottom: device drivers (blk.h, rng.h, net.h,
 * console.h) ->
 * virtqueues (virtqueue.h) -> transport and device initialisation
 * (device.h) -> backend (backend.h; kmod.h, vfio.h, ...).  The test device
 * (fake.h) is not part of the library: it is libuvirtio-testing.a, built
 * from userlib/testing/ for the tests and tools of this tree only.
 */
#ifndef UVIRTIO_UVIRTIO_H
#define UVIRTIO_UVIRTIO_H

#include <uvirtio/backend.h>
#include <uvirtio/device.h>
#include <uvirtio/virtqueue.h>
#include <uvirtio/blk.h>
#include <uvirtio/rng.h>
#include <uvirtio/console.h>
#include <uvirtio/net.h>
#include <uvirtio/kmod.h>
#include <uvirtio/open.h>
#include <uvirtio/vhost_user.h>
#include <uvirtio/vhost_vdpa.h>
#include <uvirtio/vfio.h>

#endif /* UVIRTIO_UVIRTIO_H */
