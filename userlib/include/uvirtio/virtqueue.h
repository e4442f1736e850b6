/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/virtqueue.h - split and packed virtqueues.
 *
 * One API over both ring formats (the packed format is used when
 * VIRTIO_F_RING_PACKED was negotiated).  A request is a chain of readable
 * buffers followed by writable buffers, given as device addresses (IOVAs),
 * plus an opaque cookie returned on completion.  Indirect descriptors are
 * used when negotiated and the chain has more than one buffer.
 *
 * Hardening: every id and length the device reports is validated (id in
 * range, the head of a chain currently in flight, length <= the writable
 * space posted, split used index never more than the in-flight count
 * ahead; a packed used descriptor of a chain without writable buffers
 * has its length ignored and reported as 0, as the spec says drivers
 * must, since DPDK's vhost writes the readable length there).  Chains are freed from driver-private shadow state, never by
 * walking descriptors in shared memory.  A violation marks the queue (and
 * its device) broken and every later call returns -EIO (-ENODEV if the
 * device was removed: a pulled function's ring memory reads all-ones).
 *
 * Memory ordering (C11 atomics on the shared ring words):
 *  - descriptors and ring slots are written with plain stores, then made
 *    visible with a store-release (split avail->idx, packed head flags);
 *  - the notification decision (used->flags / avail_event / device event
 *    suppression) is read after a full fence (seq_cst) that orders the
 *    publishing store before the load;
 *  - completions are detected with a load-acquire (split used->idx, packed
 *    descriptor flags) before the used element / id / len are read;
 *  - enabling interrupts publishes used_event (or the packed driver event
 *    structure), issues a full fence, then re-reads the used ring, so a
 *    completion that raced with enabling is reported (return 1) rather
 *    than lost.
 * These are CPU (SMP) barriers; on x86-64 they also order DMA-coherent
 * device accesses.  Weakly-ordered hosts with non-coherent devices are not
 * supported.
 *
 * Thread safety: a queue is used by one thread at a time; distinct queues
 * of one device may be used concurrently.
 */
#ifndef UVIRTIO_VIRTQUEUE_H
#define UVIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <uvirtio/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtq - opaque virtqueue. */
struct uvirtq;

/**
 * struct uvirtq_buf - one device-visible buffer.
 * @iova: device address.
 * @len: length in bytes (> 0).
 */
struct uvirtq_buf {
	uint64_t iova;
	uint32_t len;
};

/**
 * struct uvirtq_params - queue creation parameters.
 * @size: ring size; 0 = the device maximum.  Split rings need a power of
 *	two; the legacy transport always uses the device size.
 * @max_indirect: maximum buffers per indirect chain (0 = no indirect).
 *	Ignored unless VIRTIO_RING_F_INDIRECT_DESC was negotiated.
 * @use_interrupts: route the queue to an MSI-X vector and expose an
 *	eventfd; when false the queue is polled and interrupts are suppressed.
 * @cpu: preferred CPU for the interrupt (-1: any).
 */
struct uvirtq_params {
	uint16_t size;
	uint16_t max_indirect;
	bool use_interrupts;
	int cpu;
};

/**
 * uvirtq_create() - create and enable queue @index.
 * @dev: device (between uvirtio_dev_open() and uvirtio_dev_driver_ok()).
 * @index: queue index.
 * @params: parameters.
 * @out: receives the queue.
 * Return: 0, -EINVAL, -ENOMEM, -ENODEV (queue not available).
 */
int uvirtq_create(struct uvirtio_dev *dev, uint16_t index,
		  const struct uvirtq_params *params, struct uvirtq **out);

/** uvirtq_destroy() - free a queue (after the device was reset/closed). */
void uvirtq_destroy(struct uvirtq *vq);

/**
 * uvirtq_add() - post a request.
 * @vq: queue.
 * @out: readable buffers.
 * @n_out: how many.
 * @in: writable buffers.
 * @n_in: how many.
 * @cookie: returned by uvirtq_get_used(); must not be NULL.
 *
 * The request becomes visible to the device at the next uvirtq_kick().
 * Return: 0, -EAGAIN (not enough free descriptors), -EINVAL, -EIO.
 */
int uvirtq_add(struct uvirtq *vq, const struct uvirtq_buf *out,
	       unsigned int n_out, const struct uvirtq_buf *in,
	       unsigned int n_in, void *cookie);

/**
 * uvirtq_kick() - publish added requests and notify the device if it
 * asked for it (NO_NOTIFY / avail_event / packed device event).
 * @vq: queue.
 * Return: 1 if the doorbell was written, 0 if suppressed, -EIO.
 */
int uvirtq_kick(struct uvirtq *vq);

/**
 * UVIRTQ_CANCELED - uvirtq_get_used(): a request uvirtq_reset() took back.
 */
#define UVIRTQ_CANCELED 2

/**
 * uvirtq_get_used() - fetch one completion.
 * @vq: queue.
 * @cookie: receives the cookie given to uvirtq_add().
 * @len: receives the number of bytes the device wrote.
 *
 * After uvirtq_reset(), the requests it took back come first, each with
 * return value UVIRTQ_CANCELED and *@len 0: the device did not (or may
 * not have) finished them, and their buffers are the caller's again.
 * Return: 1 if a completion was returned, UVIRTQ_CANCELED for a cancelled
 * request, 0 if none is pending, -EIO.
 */
int uvirtq_get_used(struct uvirtq *vq, void **cookie, uint32_t *len);

/**
 * uvirtq_reset() - reset one queue while the device keeps running.
 * @vq: queue.
 *
 * Needs VIRTIO_F_RING_RESET (negotiated automatically on the PCI modern
 * transport when the device offers it).  Stops the queue in the device
 * and waits, for at most one second, until the device says it let go of
 * the ring; then takes back every request still in flight (posted,
 * kicked or not, including any the device already completed but that
 * were not fetched: call uvirtq_get_used() first to keep those),
 * reinitialises the ring memory and the driver-side state (indices, wrap
 * counters, free list, event indices) and programs and enables the queue
 * again with its size, addresses and interrupt vector.  The queue works
 * as new afterwards; the requests taken back are handed out by
 * uvirtq_get_used() as UVIRTQ_CANCELED, and count in uvirtq_in_flight()
 * until they are.  Not thread-safe against other calls on @vq.
 * Return: the number of requests taken back (>= 0); -EOPNOTSUPP without
 * RING_RESET; -ETIMEDOUT if the device never finished the reset (the
 * queue is then broken: the device may still use the ring), -ENOMEM, or
 * the errno of a broken queue.
 */
int uvirtq_reset(struct uvirtq *vq);

/**
 * uvirtq_enable_cb() - ask for an interrupt on the next completion.
 * @vq: queue.
 * Return: 0 if armed and nothing pending (safe to block on the eventfd),
 * 1 if completions are pending (call uvirtq_get_used() first), -EIO.
 */
int uvirtq_enable_cb(struct uvirtq *vq);

/** uvirtq_disable_cb() - suppress interrupts (polling). */
void uvirtq_disable_cb(struct uvirtq *vq);

/** uvirtq_eventfd() - completion eventfd, or -ENOENT in polling mode. */
int uvirtq_eventfd(struct uvirtq *vq);

/** uvirtq_size() - ring size. */
unsigned int uvirtq_size(const struct uvirtq *vq);

/** uvirtq_num_free() - free descriptors (split) / ring slots (packed). */
unsigned int uvirtq_num_free(const struct uvirtq *vq);

/** uvirtq_in_flight() - requests posted and not yet completed. */
unsigned int uvirtq_in_flight(const struct uvirtq *vq);

/** uvirtq_is_packed() - true for the packed format. */
bool uvirtq_is_packed(const struct uvirtq *vq);

/** uvirtq_is_broken() - true after the device misbehaved. */
bool uvirtq_is_broken(const struct uvirtq *vq);

/**
 * uvirtq_max_chain() - largest number of buffers one request may have.
 * @vq: queue.
 * Return: the indirect table size if indirect is in use, else the ring
 * size.
 */
unsigned int uvirtq_max_chain(const struct uvirtq *vq);

/** uvirtq_device() - the owning device. */
struct uvirtio_dev *uvirtq_device(struct uvirtq *vq);

/**
 * uvirtio_need_event() - wrap-safe EVENT_IDX test.
 * @event: event index published by the other side.
 * @new_idx: index after the update.
 * @old_idx: index before the update.
 * Return: true if @event lies in [@old_idx, @new_idx) modulo 2^16.
 */
static inline bool uvirtio_need_event(uint16_t event, uint16_t new_idx,
				      uint16_t old_idx)
{
	uint16_t since_event = (uint16_t)(new_idx - event - 1);
	uint16_t batch = (uint16_t)(new_idx - old_idx);

	return since_event < batch;
}

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_VIRTQUEUE_H */
