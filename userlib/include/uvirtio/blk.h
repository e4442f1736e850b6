/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/blk.h - virtio-blk driver.
 *
 * Data buffers: zero-copy when the caller's memory is DMA-mapped, either
 * with uvirtio_blk_map_mem() (any memory, like libblkio's map_mem_region)
 * or by allocating it with uvirtio_blk_alloc_buf().  Memory that is not
 * goes through the queue's bounce pool (uvirtio_blk_q_set_bounce()), or
 * fails with -EFAULT when bouncing is off.  Request headers, status
 * bytes, discard ranges and id buffers live in DMA memory owned by the
 * driver.
 *
 * Limits: offsets and lengths of read/write/discard/write-zeroes must be
 * multiples of the logical block size (blk_size, default 512).  Requests
 * are not split into several device requests.  max_transfer is seg_max
 * times size_max (4 MiB without SIZE_MAX), at most
 * UVIRTIO_BLK_MAX_TRANSFER; a longer read or write fails with -EINVAL,
 * and a read or write of up to
 * max_transfer bytes fits when its memory is at most seg_max IOVA runs,
 * each cut at size_max: with an IOMMU every mapping and every
 * uvirtio_blk_alloc_buf() buffer is one run; without one, a mapping is
 * one run per physically contiguous piece and a buffer of more than
 * 4 MiB is runs of at most 4 MiB.  A request whose memory is in more
 * pieces than that goes through the bounce pool instead (-E2BIG if it is
 * larger than the pool, -EAGAIN while the pool is busy); with bouncing
 * off it fails with -EINVAL.
 * Discard / write-zeroes take one range per request and fail with -EINVAL
 * beyond max_discard_sectors / max_write_zeroes_sectors or when the range
 * is not a multiple of discard_sector_alignment; -ENOTSUP if the feature
 * was not negotiated.  Out-of-range requests fail with -EINVAL, writes to a
 * read-only device with -EROFS.  Device status IOERR maps to -EIO and
 * UNSUPP to -ENOTSUP.
 *
 * Thread safety: open/close/map/unmap/get_info on the struct uvirtio_blk
 * are single-threaded (map/unmap may run while other threads do I/O on
 * buffers not being unmapped).  Each struct uvirtio_blk_queue is used by
 * one thread at a time; distinct queues may be used by distinct threads
 * concurrently.  The synchronous helpers (uvirtio_blk_read() ...) use
 * queue 0.
 */
#ifndef UVIRTIO_BLK_H
#define UVIRTIO_BLK_H

#include <stdint.h>
#include <sys/uio.h>
#include <time.h>
#include <uvirtio/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtio_blk - opaque virtio-blk device. */
struct uvirtio_blk;
/** struct uvirtio_blk_queue - opaque request queue of a virtio-blk device. */
struct uvirtio_blk_queue;

/*
 * The largest read or write the driver sends: QEMU takes at most 1024
 * pieces of its memory per request, and behind an IOMMU one IOVA run may
 * be a piece per 4 KiB page (2 MiB is 512).
 */
#define UVIRTIO_BLK_MAX_TRANSFER	(2u << 20)

/**
 * struct uvirtio_blk_params - open parameters.
 * @transport: enum uvirtio_transport_kind.
 * @num_queues: queues wanted (0 = 1); capped by the device.
 * @queue_size: ring size (0 = device maximum).
 * @packed: use the packed ring if the device offers it.
 * @no_indirect: never negotiate indirect descriptors.
 * @no_event_idx: never negotiate EVENT_IDX.
 * @no_in_order: never negotiate VIRTIO_F_IN_ORDER (taken by default when
 *	offered; keep-alive needs it off, see uvirtio_blk_keepalive_enable()).
 * @poll: polling queues (no interrupts).  Without it the queues take
 *	interrupts in whatever mode the device offers (MSI-X vector per
 *	queue, shared vectors, INTx, the virtio-mmio line) and poll only
 *	when it offers none: see uvirtio_blk_irq_mode().
 */
struct uvirtio_blk_params {
	enum uvirtio_transport_kind transport;
	uint16_t num_queues;
	uint16_t queue_size;
	bool packed;
	bool no_indirect;
	bool no_event_idx;
	bool poll;
	bool no_in_order;
};

/**
 * struct uvirtio_blk_info - device geometry and limits.
 * @capacity: size in bytes.
 * @blk_size: logical block size in bytes.
 * @seg_max: max data segments per request.
 * @size_max: max bytes per segment (0 = unlimited).
 * @max_transfer: max bytes per read/write request.
 * @num_queues: queues opened.
 * @read_only: VIRTIO_BLK_F_RO.
 * @flush: VIRTIO_BLK_F_FLUSH negotiated.
 * @discard: VIRTIO_BLK_F_DISCARD negotiated.
 * @write_zeroes: VIRTIO_BLK_F_WRITE_ZEROES negotiated.
 * @max_discard_sectors: most sectors (512 bytes) per discard.
 * @discard_sector_alignment: discard ranges are multiples of this, in
 *	sectors (0 or 1: any).
 * @max_write_zeroes_sectors: most sectors per write-zeroes.
 * @features: negotiated features.
 */
struct uvirtio_blk_info {
	uint64_t capacity;
	uint32_t blk_size;
	uint32_t seg_max;
	uint32_t size_max;
	uint64_t max_transfer;
	uint16_t num_queues;
	bool read_only;
	bool flush;
	bool discard;
	bool write_zeroes;
	uint32_t max_discard_sectors;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint64_t features;
};

/**
 * struct uvirtio_blk_completion - one finished request.
 * @user_data: cookie given at submission.
 * @ret: 0 or negative errno: -EIO, -ENOTSUP from the device; -EFAULT if
 *	a data buffer of the request was unmapped while it was in flight
 *	(the device's transfer may have been stopped by the IOMMU, so the
 *	data is lost even when the device reported success).
 */
struct uvirtio_blk_completion {
	void *user_data;
	int ret;
};

/**
 * uvirtio_blk_open() - initialise a virtio-blk device.
 * @be: backend; must outlive the device.
 * @params: parameters (NULL: defaults).
 * @out: receives the device.
 * Return: 0 or negative errno (see uvirtio/device.h).
 */
int uvirtio_blk_open(struct uvirtio_backend *be,
		     const struct uvirtio_blk_params *params,
		     struct uvirtio_blk **out);

/** uvirtio_blk_close() - reset and free (NULL is fine). */
void uvirtio_blk_close(struct uvirtio_blk *blk);

/** uvirtio_blk_get_info() - geometry and limits. */
void uvirtio_blk_get_info(struct uvirtio_blk *blk,
			  struct uvirtio_blk_info *info);

/** uvirtio_blk_device() - the underlying generic device. */
struct uvirtio_dev *uvirtio_blk_device(struct uvirtio_blk *blk);

/**
 * uvirtio_blk_irq_mode() - how the queues learn of completions.
 * @blk: device.
 *
 * Return: UVIRTIO_DEV_IRQ_POLL when they poll (asked for with @poll, or
 * the device has no usable interrupt), else the device's
 * uvirtio_dev_irq_mode().
 */
enum uvirtio_dev_irq_mode uvirtio_blk_irq_mode(const struct uvirtio_blk *blk);

/**
 * uvirtio_blk_refresh_capacity() - re-read capacity after a config change.
 * @blk: device.
 * Return: 0 or negative errno.
 */
int uvirtio_blk_refresh_capacity(struct uvirtio_blk *blk);

/**
 * uvirtio_blk_map_mem() - register caller memory for I/O.
 * @blk: device.
 * @addr: start of the memory.
 * @len: its length.
 *
 * Registered memory is zero-copy; memory that is not goes through the
 * queue's bounce pool (uvirtio_blk_q_set_bounce()).
 * Return: 0 or negative errno (see uvirtio_backend_dma_map()).
 */
int uvirtio_blk_map_mem(struct uvirtio_blk *blk, void *addr, size_t len);

/** uvirtio_blk_unmap_mem() - unregister memory (no I/O may use it). */
int uvirtio_blk_unmap_mem(struct uvirtio_blk *blk, void *addr);

/**
 * uvirtio_blk_alloc_buf() - allocate zeroed, mapped I/O memory.
 * @blk: device.
 * @len: bytes.
 * @out: receives the buffer pointer (page aligned).
 *
 * The buffer is contiguous in this process.  Without an IOMMU it may be
 * several IOVA runs, because the kernel hands out physically contiguous
 * blocks of at most 4 MiB (uvirtio_backend_dma_alloc_sg()).
 * Return: 0 or negative errno.
 */
int uvirtio_blk_alloc_buf(struct uvirtio_blk *blk, size_t len, void **out);

/** uvirtio_blk_free_buf() - free memory from uvirtio_blk_alloc_buf(). */
void uvirtio_blk_free_buf(struct uvirtio_blk *blk, void *buf);

/** uvirtio_blk_get_queue() - queue @index (NULL if out of range). */
struct uvirtio_blk_queue *uvirtio_blk_get_queue(struct uvirtio_blk *blk,
						unsigned int index);

/*
 * Asynchronous API.  The enqueue functions validate and post one request;
 * it reaches the device at the next uvirtio_blk_q_submit() or
 * uvirtio_blk_q_reap().  They return 0, -EAGAIN when the queue is full
 * (reap first), -EINVAL, -EFAULT, -EROFS, -ENOTSUP, -EIO (broken) or
 * -UVIRTIO_ENEEDS_RESET.  @user_data is returned in the completion.
 */

/** uvirtio_blk_q_readv() - read into @iov from byte @offset. */
int uvirtio_blk_q_readv(struct uvirtio_blk_queue *q, uint64_t offset,
			const struct iovec *iov, int iovcnt, void *user_data);
/** uvirtio_blk_q_writev() - write @iov at byte @offset. */
int uvirtio_blk_q_writev(struct uvirtio_blk_queue *q, uint64_t offset,
			 const struct iovec *iov, int iovcnt, void *user_data);
/** uvirtio_blk_q_read() - read @len bytes into @buf. */
int uvirtio_blk_q_read(struct uvirtio_blk_queue *q, uint64_t offset,
		       void *buf, size_t len, void *user_data);
/** uvirtio_blk_q_write() - write @len bytes from @buf. */
int uvirtio_blk_q_write(struct uvirtio_blk_queue *q, uint64_t offset,
			const void *buf, size_t len, void *user_data);
/** uvirtio_blk_q_flush() - flush the volatile write cache. */
int uvirtio_blk_q_flush(struct uvirtio_blk_queue *q, void *user_data);
/** uvirtio_blk_q_discard() - discard [@offset, @offset + @len). */
int uvirtio_blk_q_discard(struct uvirtio_blk_queue *q, uint64_t offset,
			  uint64_t len, void *user_data);
/**
 * uvirtio_blk_q_write_zeroes() - zero [@offset, @offset + @len).
 * @q: queue.
 * @offset: byte offset, a multiple of the block size.
 * @len: bytes, a multiple of the block size.
 * @unmap: allow the device to deallocate (VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP).
 * @user_data: returned in the completion.
 * Return: as the other enqueue functions.
 */
int uvirtio_blk_q_write_zeroes(struct uvirtio_blk_queue *q, uint64_t offset,
			       uint64_t len, bool unmap, void *user_data);
/**
 * uvirtio_blk_q_get_id() - read the device id string.
 * @q: queue.
 * @id: receives up to VIRTIO_BLK_ID_BYTES (20) bytes, not necessarily
 *	NUL-terminated; any memory (copied out of a driver buffer at
 *	completion, so it must stay valid until then).
 * @user_data: returned in the completion.
 * Return: as the other enqueue functions.
 */
int uvirtio_blk_q_get_id(struct uvirtio_blk_queue *q, char id[20],
			 void *user_data);

/**
 * uvirtio_blk_q_submit() - make enqueued requests visible to the device.
 * @q: queue.
 * Return: 0 or negative errno.
 */
int uvirtio_blk_q_submit(struct uvirtio_blk_queue *q);

/**
 * uvirtio_blk_q_reap() - collect completions.
 * @q: queue.
 * @min: wait until at least this many completions (bounded by in-flight).
 * @max: size of @out.
 * @out: completions.
 * @timeout: NULL to wait forever, else relative timeout.
 *
 * Submits pending requests first.  Blocks on the queue eventfd (interrupt
 * mode) or busy-polls (polling mode).  Also watches the config eventfd and
 * the status register for DEVICE_NEEDS_RESET.
 * Return: number of completions (may be < @min on timeout),
 * -UVIRTIO_ENEEDS_RESET, -EIO (device broken) or -EINVAL.
 */
int uvirtio_blk_q_reap(struct uvirtio_blk_queue *q, unsigned int min,
		       unsigned int max, struct uvirtio_blk_completion *out,
		       const struct timespec *timeout);

/**
 * uvirtio_blk_q_reset() - reset one request queue (VIRTIO_F_RING_RESET).
 * @q: queue.
 *
 * Stops @q in the device, takes back every request on it not yet reaped
 * and brings the queue back up, empty; the device's other queues keep
 * running and are not touched.  The requests taken back (submitted or
 * only enqueued, and any the device had finished but that were not
 * reaped yet: reap first to keep those) complete with -ECANCELED at the
 * next uvirtio_blk_q_reap(), before anything else; their slots and
 * bounce-pool pages are released then, and a cancelled read leaves its
 * buffer undefined.  Until they are reaped they count in
 * uvirtio_blk_q_in_flight() and hold their slots.  Same threading rule
 * as the other queue calls: only the thread using @q.  A device must
 * not complete a request into the queue after the reset; one that does
 * (a request still inside it when the reset came, on devices without a
 * per-queue reset of their own) breaks the queue with -EIO: reset a
 * queue whose submitted requests the device has finished where that
 * matters.
 * Return: 0; -EOPNOTSUPP when RING_RESET was not negotiated (the legacy
 * and non-PCI transports, or a device that does not offer it);
 * -ETIMEDOUT when the device did not finish the reset within a second
 * (the queue is then broken, every later call on it fails); -EINVAL,
 * -ENOMEM, or the errno of a broken device.
 */
int uvirtio_blk_q_reset(struct uvirtio_blk_queue *q);

/** UVIRTIO_BLK_BOUNCE_DEFAULT - bytes of a queue's bounce pool. */
#define UVIRTIO_BLK_BOUNCE_DEFAULT (1u << 20)

/**
 * uvirtio_blk_q_set_bounce() - size, or forbid, the queue's bounce pool.
 * @q: queue.
 * @bytes: pool size (rounded up to 4 KiB); 0 forbids bouncing.
 *
 * A read or write whose memory was never registered (with
 * uvirtio_blk_map(), uvirtio_blk_alloc_buf() or the backend) does not fail
 * with -EFAULT: the whole request goes through this pool instead, as
 * rcore's Hal::share() does: copied in at submission for a write, copied
 * back at completion for a read.  Registered memory stays zero-copy.  The
 * pool (UVIRTIO_BLK_BOUNCE_DEFAULT bytes unless set) is allocated at the
 * first request that needs it; a request larger than the pool fails with
 * -E2BIG, one that finds the pool full with -EAGAIN (reap, then retry).
 * With bouncing forbidden, unregistered memory gives -EFAULT.
 * Return: 0, -EBUSY while bounced requests are in flight, -EINVAL.
 */
int uvirtio_blk_q_set_bounce(struct uvirtio_blk_queue *q, size_t bytes);

/**
 * struct uvirtio_blk_q_stats - what a queue did.
 * @interrupts: completion interrupts seen (the eventfd's signal count;
 *	0 on a polled queue).  With a shared line every firing of it counts
 *	on every queue that was waiting or is signalled by it.
 * @bounced_requests: requests that went through the bounce pool.
 * @bounced_bytes: bytes copied through it.
 * @__reserved: zero; room to grow.
 */
struct uvirtio_blk_q_stats {
	uint64_t interrupts;
	uint64_t bounced_requests;
	uint64_t bounced_bytes;
	uint64_t __reserved[5];
};

/** uvirtio_blk_q_get_stats() - copy the queue's counters to @st. */
void uvirtio_blk_q_get_stats(struct uvirtio_blk_queue *q,
			     struct uvirtio_blk_q_stats *st);

/**
 * uvirtio_blk_q_fd() - completion eventfd (-ENOENT when polling).
 * @q: queue.
 *
 * In the shared, INTx and wired modes an event loop polls it together
 * with uvirtio_dev_irq_fd() and calls uvirtio_dev_irq_service() when
 * that one is readable (see uvirtq_eventfd()).
 * Return: the fd or -ENOENT.
 */
int uvirtio_blk_q_fd(struct uvirtio_blk_queue *q);

/* Flags of uvirtio_blk_q_set_wait() */
#define UVIRTIO_BLK_WAIT_FOLLOW_CPU	(1u << 0)
#define UVIRTIO_BLK_WAIT_EPOLL		(1u << 1)

/**
 * uvirtio_blk_q_set_wait() - how an interrupt-mode queue waits in reap.
 * @q: queue.  A polled queue keeps the settings but never sleeps.
 * @spin_ns: before each sleep on the queue's eventfd,
 *	uvirtio_blk_q_reap() polls the ring for up to this many nanoseconds
 *	(hybrid polling; the clock is read every 16 polls).  A completion
 *	that comes within it is reaped without an interrupt wake-up.  0
 *	(the default): sleep at once.
 * @flags: 0 or UVIRTIO_BLK_WAIT_FOLLOW_CPU: before each sleep, steer the
 *	queue's interrupt to the CPU the calling thread runs on, so that the
 *	wake-up is local (uvirtq_set_irq_cpu(); checked with sched_getcpu(),
 *	and changed, with one system call, only when the thread has moved).
 *	On a backend that cannot steer interrupts the flag has no effect.
 *	Clearing it leaves the interrupt where it was last steered.
 *	UVIRTIO_BLK_WAIT_EPOLL: sleep in epoll_wait() on a set of the queue's
 *	own, with the queue eventfd edge-triggered, so a wake-up is one
 *	system call instead of poll() and read(); the eventfd's counter is
 *	then not read back (do not also read uvirtio_blk_q_fd()), and the
 *	stats count wake-ups rather than interrupts.  Removal and config
 *	changes still wake the reap.
 *
 * Same threading rule as the other queue calls: only the thread using @q.
 * Return: 0, -EINVAL for unknown flags, or the errno of epoll_create1() /
 * epoll_ctl().
 */
int uvirtio_blk_q_set_wait(struct uvirtio_blk_queue *q, uint64_t spin_ns,
			   unsigned int flags);

/** uvirtio_blk_q_in_flight() - requests not yet reaped. */
unsigned int uvirtio_blk_q_in_flight(struct uvirtio_blk_queue *q);

/*
 * Synchronous helpers on queue 0.  They must not be mixed with
 * asynchronous requests in flight on queue 0.  Return 0 or negative errno.
 */
int uvirtio_blk_read(struct uvirtio_blk *blk, uint64_t offset, void *buf,
		     size_t len);
int uvirtio_blk_write(struct uvirtio_blk *blk, uint64_t offset,
		      const void *buf, size_t len);
int uvirtio_blk_readv(struct uvirtio_blk *blk, uint64_t offset,
		      const struct iovec *iov, int iovcnt);
int uvirtio_blk_writev(struct uvirtio_blk *blk, uint64_t offset,
		       const struct iovec *iov, int iovcnt);
int uvirtio_blk_flush(struct uvirtio_blk *blk);
int uvirtio_blk_discard(struct uvirtio_blk *blk, uint64_t offset,
			uint64_t len);
int uvirtio_blk_write_zeroes(struct uvirtio_blk *blk, uint64_t offset,
			     uint64_t len, bool unmap);
int uvirtio_blk_get_id(struct uvirtio_blk *blk, char id[20]);

/*
 * Keep-alive: a storage service replaced (upgraded, or restarted after a
 * crash) without a device reset and without losing a request.  The
 * device must be on the kmod backend with its own IOMMU domain, with split
 * rings.  The sequence:
 *
 *   old process: uvirtio_blk_open(), uvirtio_blk_keepalive_enable() before
 *   any request, uvirtio_blk_keepalive_arm(); then I/O, with user_data
 *   values that mean something to the next process (tags, not pointers)
 *   and data in memory that survives (the user area, or
 *   uvirtio_blk_alloc_buf()).  It may die at any point, or hand over with
 *   uvirtio_blk_detach().
 *
 *   new process: uvirtio_kmod_reattach() with the token,
 *   uvirtio_blk_restore(), then uvirtio_blk_q_reap() until
 *   uvirtio_blk_q_restoring() is 0 on every queue (new requests get -EBUSY
 *   until then), then uvirtio_backend_restored_release(), re-arm, go on.
 *
 * Each request the old process issued completes exactly once across the
 * two: either the old process reaped it (uvirtio_blk_q_reap() returned it),
 * or the new one does, with the device's status; a request the old
 * process had queued but not yet submitted to the device completes in the
 * new one with -ECANCELED (the device never saw it, so it can be issued
 * again safely).  Nothing is re-issued by the library.  Memory registered
 * with uvirtio_blk_map_mem() is taken out of the device's reach when the
 * old process goes: a request in flight on it then fails.  Bouncing is
 * off once keep-alive is enabled.
 */

/**
 * uvirtio_blk_keepalive_enable() - keep the queues' state in device memory.
 * @blk: device with nothing in flight, split rings without
 *	VIRTIO_F_IN_ORDER (open it with @no_in_order where the device
 *	offers it), at most 64 queues.
 * @user_len: bytes of persistent memory for the caller's own state (a
 *	journal, I/O buffers): DMA memory, registered, usable for requests.
 * @user: receives its address (zeroed).
 * Return: 0, -EBUSY with requests in flight, -EOPNOTSUPP for packed rings,
 * IN_ORDER or too many queues, -EALREADY, or an allocation error.
 */
int uvirtio_blk_keepalive_enable(struct uvirtio_blk *blk, size_t user_len,
				 void **user);

/**
 * uvirtio_blk_keepalive_arm() - arm (or disarm) keep-alive.
 * @blk: device with keep-alive enabled.
 * @timeout_ms: how long the device is held once this process goes (at
 *	most the module's keepalive_max_ms); 0 disarms.
 * @token: receives the token uvirtio_kmod_reattach() needs.
 * Return: 0 or the errors of uvirtio_backend_keepalive(); -EINVAL if
 * keep-alive is not enabled.
 */
int uvirtio_blk_keepalive_arm(struct uvirtio_blk *blk, unsigned int timeout_ms,
			      uint64_t *token);

/**
 * uvirtio_blk_detach() - hand the device over: free this process's state.
 * @blk: device with keep-alive armed (NULL is fine).
 *
 * Submits what was queued, then frees the library's memory without
 * resetting the device or freeing what it can reach; close the backend
 * afterwards.  The next process goes on with uvirtio_blk_restore().
 */
void uvirtio_blk_detach(struct uvirtio_blk *blk);

/**
 * uvirtio_blk_restore() - take over a kept-alive virtio-blk device.
 * @be: backend from uvirtio_kmod_reattach().
 * @params: only @transport and @poll are used (the rest is as saved).
 * @out: receives the device, with the saved number of queues.
 * @user: receives the caller's persistent area, as the old process left it.
 * @user_len: receives its length.
 *
 * Every request the old process left in flight is in flight again, with
 * its user_data; uvirtio_blk_q_reap() returns them, including those the
 * device completed while nobody was attached.
 * Return: 0; -ENOENT if the old process named no state buffer; -EIO if
 * the saved state is inconsistent with itself or the ring; the errors of
 * uvirtio_dev_attach() and uvirtq_restore().  On failure the device is
 * reset.
 */
int uvirtio_blk_restore(struct uvirtio_backend *be,
			const struct uvirtio_blk_params *params,
			struct uvirtio_blk **out, void **user,
			size_t *user_len);

/**
 * uvirtio_blk_q_restoring() - requests of the previous owner still out.
 * @q: queue of a restored device.
 * Return: how many of them uvirtio_blk_q_reap() has yet to return.
 */
unsigned int uvirtio_blk_q_restoring(struct uvirtio_blk_queue *q);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_BLK_H */
