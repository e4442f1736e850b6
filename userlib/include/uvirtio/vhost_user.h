/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/vhost_user.h - libuvirtio as a vhost-user front-end.
 *
 * A vhost-user back-end (qemu-storage-daemon's vhost-user-blk export,
 * DPDK's vhost PMD, ...) is a device in another process, reached over a
 * unix socket (QEMU docs/interop/vhost-user.rst).  uvirtio_vhost_user_open()
 * connects and negotiates the protocol; the backend it returns is driven
 * by the "vhost-user" transport, so uvirtio_dev_open() and the device
 * drivers work on it unchanged.  The device type cannot be read from a
 * vhost-user back-end: the driver names it (the blk and rng drivers do).
 *
 * Memory: the back-end must map every buffer the rings point to, so only
 * memory with a file behind it can be shared.  uvirtio_backend_dma_alloc()
 * (and so the drivers' buffer allocators) returns memfd-backed memory;
 * caller memory is registered with uvirtio_backend_dma_map_region() and
 * its fd.  IOVAs are the front-end's virtual addresses.
 *
 * Each registration is one back-end memory slot: qemu-storage-daemon has
 * 32, back-ends without CONFIGURE_MEM_SLOTS (DPDK) have 8.  Mapping more
 * fails with -ENOSPC.  On the latter, allocations of up to 4 MiB share
 * one 64 MiB region (one slot), so only caller memory and larger
 * allocations take a slot each.
 *
 * virtio-net: GET_QUEUE_NUM is the number of queue pairs (0 or more than
 * 256 fails the open with -EPROTO), and max_virtqueue_pairs in the config
 * space is that number (a config space is synthesized when the back-end
 * serves none).  The control queue is served by the front-end itself,
 * never by the back-end: VQ_PAIRS_SET enables exactly that many pairs'
 * rings with SET_VRING_ENABLE; RX PROMISC/ALLMULTI and MAC TABLE_SET are
 * acknowledged (filtering is best effort); every other command is
 * refused.
 *
 * A back-end that disconnects or dies makes every request in flight and
 * every later one fail with -ENOTCONN; open a new backend to reconnect.
 *
 * Thread safety: as for every backend (uvirtio/backend.h); messages on
 * the socket are serialised by a mutex inside the backend.
 */
#ifndef UVIRTIO_VHOST_USER_H
#define UVIRTIO_VHOST_USER_H

#include <stdint.h>
#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct uvirtio_vhost_user_params - connection options.
 * @queue_size: ring size to use (power of two, at most 32768; 0: 256).
 *	vhost-user has no way to ask the back-end for its maximum.
 * @timeout_ms: bound on each reply from the back-end (0: 5000 ms).
 */
struct uvirtio_vhost_user_params {
	uint16_t queue_size;
	uint32_t timeout_ms;
};

/**
 * uvirtio_vhost_user_open() - connect to a vhost-user back-end.
 * @path: the back-end's unix socket.
 * @params: options, or NULL for the defaults.
 * @out: receives the backend; close it with uvirtio_backend_close().
 *
 * Connects, sends SET_OWNER, and negotiates the protocol features the
 * library uses (MQ, REPLY_ACK, CONFIG, CONFIGURE_MEM_SLOTS with the
 * SET_MEM_TABLE fallback).  Virtio features are negotiated later, by
 * uvirtio_dev_open().
 * Return: 0; -EINVAL for a bad argument or a path too long for a socket
 * address; the connect() errno (-ENOENT, -ECONNREFUSED, ...);
 * -EPROTO when the back-end breaks the protocol or lacks
 * VHOST_USER_F_PROTOCOL_FEATURES; -ETIMEDOUT when it does not answer;
 * -ENOTCONN when it hangs up.
 */
int uvirtio_vhost_user_open(const char *path,
			    const struct uvirtio_vhost_user_params *params,
			    struct uvirtio_backend **out);

/**
 * uvirtio_vhost_user_protocol_features() - protocol features in use.
 * @be: a backend from uvirtio_vhost_user_open().
 * Return: the VHOST_USER_PROTOCOL_F_* mask negotiated, or 0 when @be is
 * not a vhost-user backend.
 */
uint64_t uvirtio_vhost_user_protocol_features(struct uvirtio_backend *be);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_VHOST_USER_H */
