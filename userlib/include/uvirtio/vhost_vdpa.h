/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/vhost_vdpa.h - vhost-vdpa backend and transport of libuvirtio.
 *
 * A vDPA device bound to the kernel's vhost_vdpa bus driver appears as
 * /dev/vhost-vdpa-N.  uvirtio_vhost_vdpa_open() turns that character
 * device into a struct uvirtio_backend; uvirtio_dev_open() (or a driver
 * such as uvirtio_blk_open()) then picks the vhost-vdpa transport for it,
 * with UVIRTIO_TRANSPORT_AUTO or UVIRTIO_TRANSPORT_VHOST_VDPA.
 *
 * DMA memory: the device reaches memory through an IOTLB the library
 * fills with VHOST_IOTLB_UPDATE messages, at IOVAs it allocates inside
 * the range the device reports.  uvirtio_backend_dma_alloc() memory is a
 * MAP_SHARED memfd mapping.  Caller memory given to
 * uvirtio_backend_dma_map() or uvirtio_backend_dma_map_region() must be
 * a MAP_SHARED mapping of a file (memfd, tmpfs, hugetlbfs, or
 * MAP_SHARED|MAP_ANONYMOUS, which is shmem): devices that work on
 * virtual addresses (vdpa_sim, VDUSE) silently skip any other memory, so
 * the backend refuses it with -EOPNOTSUPP instead of letting requests
 * hang.  A region given with an fd must be mapped from that file at
 * that offset (-EINVAL otherwise).  The device negotiates VIRTIO_F_ACCESS_PLATFORM (the backend
 * reports UVIRTIO_BE_IOMMU_TRANSLATED).
 */
#ifndef UVIRTIO_VHOST_VDPA_H
#define UVIRTIO_VHOST_VDPA_H

#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * uvirtio_vhost_vdpa_open() - open a vhost-vdpa character device.
 * @path: the device node, e.g. "/dev/vhost-vdpa-0".
 * @out: receives the backend; release it with uvirtio_backend_close()
 *	after every device using it was closed.
 *
 * Opens @path read-write, becomes its owner (VHOST_SET_OWNER), negotiates
 * the IOTLB v2 message format (and IOTLB batching and persistent
 * mappings when offered) and reads the device id, queue count, maximum
 * queue size, config size and usable IOVA range.  The kernel resets the
 * device on open and on the final close.
 *
 * Thread safety: the backend may be used from several threads (its state
 * is behind a mutex; the kernel serialises the ioctls).  The file
 * descriptor belongs to the process that opened it: the kernel refuses
 * its use from another address space (a forked child) with -EPERM.
 *
 * Return: 0, or a negative errno: -EINVAL (bad argument), -ENOENT (no
 * such node), -EBUSY (the device is already open: vhost-vdpa devices are
 * exclusive), -EACCES/-EPERM, -ENOTSUP (the kernel lacks the IOTLB v2
 * message format), -ENODEV (device id 0: no device behind the node),
 * -EIO (the kernel reported nonsense: no queues, more than 256 queues,
 * queue size 0, an empty IOVA range or a config space beyond 4 KiB),
 * -ENOMEM.
 */
int uvirtio_vhost_vdpa_open(const char *path, struct uvirtio_backend **out);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_VHOST_VDPA_H */
