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
 * With VIRTIO_F_IN_ORDER negotiated, descriptors are used in ring order
 * and requests complete oldest first; one used entry may complete a
 * batch (every request up to the one it names).  It must name a request
 * in flight, within what the split used index moved, or the queue
 * breaks; the requests it only implies report their whole writable
 * length.
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
 * @use_interrupts: take interrupts in the device's
 *	uvirtio_dev_irq_mode() (creation fails with -ENOSPC in the polling
 *	mode) and expose an eventfd; when false the queue is polled and
 *	interrupts are suppressed.
 * @cpu: preferred CPU for the interrupt (-1: any; MSI-X mode only).
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
 * The request becomes visible to the device at the next uvirtq_kick()
 * or uvirtq_publish() (packed rings: at once).
 * Return: 0, -EAGAIN (not enough free descriptors), -EINVAL, -EIO.
 */
int uvirtq_add(struct uvirtq *vq, const struct uvirtq_buf *out,
	       unsigned int n_out, const struct uvirtq_buf *in,
	       unsigned int n_in, void *cookie);

/**
 * uvirtq_kick() - publish added requests and notify the device if it
 * asked for it (NO_NOTIFY / avail_event / packed device event).
 * @vq: queue.
 *
 * A doorbell the backend fails to write breaks the queue (the device
 * would never see the request).
 * Return: 1 if the doorbell was written, 0 if suppressed, -EIO (the
 * queue is broken), -ENODEV (the device was removed).
 */
int uvirtq_kick(struct uvirtq *vq);

/**
 * uvirtq_publish() - make added requests visible to the device without
 * deciding on a notification.
 * @vq: queue.
 *
 * For a device that polls the ring and wants no doorbell at all (a
 * vhost-user back-end in poll mode, a device that keeps notifications
 * disabled for good), this is all that is needed: it costs one
 * store-release and no fence, where uvirtq_kick() has to order its
 * store before reading the device's suppression state with a full
 * fence.  It is also a way to let a device start on requests early:
 * the next uvirtq_kick() still decides on (and rings) the doorbell for
 * every request added since the previous kick, published or not.  That
 * decision looks at a window of 16-bit ring indices, so once a ring's
 * worth (the queue size) was added since the last kick, this call makes
 * it itself, as uvirtq_kick() does: a device that keeps notifications
 * disabled sees no doorbell, one that asked for it gets one.  The
 * ordering contract is the one of uvirtq_kick()'s publishing store.
 * Return: 0, 1 if it made that decision and rang the doorbell, -EIO
 * (the queue is broken), -ENODEV (the device was removed).
 */
int uvirtq_publish(struct uvirtq *vq);

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
 * With VIRTIO_F_IN_ORDER, a request completed by a later one's used
 * entry (a batch) has *@len = the writable bytes it posted.
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

/**
 * uvirtq_eventfd() - the queue's completion eventfd.
 * @vq: queue.
 *
 * Readable after an interrupt for this queue.  In the shared, INTx and
 * wired modes (enum uvirtio_dev_irq_mode) it is the library's and only
 * uvirtio_dev_irq_service() signals it: wait on uvirtio_dev_irq_fd() too.
 * Return: the fd, or -ENOENT in polling mode.
 */
int uvirtq_eventfd(struct uvirtq *vq);

/**
 * uvirtq_set_irq_cpu() - steer the queue's interrupt to a CPU.
 * @vq: queue opened with interrupts.
 * @cpu: the CPU that should handle the interrupt; -1: no preference (the
 *	affinity stays as it is).
 *
 * A preference passed to the backend (uvirtio_backend_irq_eventfd()):
 * the kernel-module backend sets the vector's affinity with one ioctl;
 * backends that cannot steer interrupts (VFIO, vhost-user) ignore it.
 * Return: 0, -ENOENT in polling mode, -EINVAL, or the backend's error.
 */
int uvirtq_set_irq_cpu(struct uvirtq *vq, int cpu);

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
 * size.  Never more than the ring size: a chain, the entries of its
 * indirect table included, may not be longer than the queue (virtio spec
 * 2.7.5.3.1), so a table asked for larger is cut to the ring size.
 */
unsigned int uvirtq_max_chain(const struct uvirtq *vq);

/** uvirtq_device() - the owning device. */
struct uvirtio_dev *uvirtq_device(struct uvirtq *vq);

/*
 * Persistent queues (keep-alive, see uvirtio_backend_keepalive()): the
 * driver-side bookkeeping of a split queue can live in memory that
 * outlives the process (a DMA allocation kept with the device), written as
 * the queue runs, so that a process started after this one died, even by
 * SIGKILL at any instruction, can take the running queue over with
 * uvirtq_restore().  A completion counts as fetched once
 * uvirtq_get_used() returned it: it is not handed out again.
 */

/**
 * uvirtq_persist_size() - bytes of persistent state for a queue.
 * @num: queue size.
 * Return: the size uvirtq_set_persist() and uvirtq_restore() need.
 */
size_t uvirtq_persist_size(uint16_t num);

/**
 * uvirtq_set_persist() - keep the queue's bookkeeping in @mem.
 * @vq: a split queue with nothing in flight.
 * @mem: at least uvirtq_persist_size() bytes, 8-byte aligned, that outlive
 *	the process (keep-alive); initialised here.
 * @len: its length.
 * Return: 0, -EOPNOTSUPP for a packed queue or one with
 * VIRTIO_F_IN_ORDER, -EBUSY with requests in flight, -EINVAL for a short
 * or misaligned @mem.
 */
int uvirtq_set_persist(struct uvirtq *vq, void *mem, size_t len);

/** uvirtq_ring_iova() - device address of the ring (to save). */
uint64_t uvirtq_ring_iova(const struct uvirtq *vq);

/** uvirtq_indirect_iova() - device address of the indirect tables, or 0. */
uint64_t uvirtq_indirect_iova(const struct uvirtq *vq);

/**
 * uvirtq_restore() - take over a running queue after a re-attach.
 * @dev: device from uvirtio_dev_attach().
 * @index: queue index.
 * @params: as for uvirtq_create(); @params->size and max_indirect must be
 *	what the previous owner used.
 * @ring_iova: uvirtq_ring_iova() of the previous owner's queue.
 * @indir_iova: its uvirtq_indirect_iova().
 * @mem: the persistent state the previous owner's queue kept
 *	(uvirtq_set_persist()); the new queue goes on keeping it there.
 * @len: its length.
 * @out: receives the queue.
 *
 * The queue is not re-programmed: the device goes on with it.  The ring
 * and the indirect tables are claimed from the backend
 * (uvirtio_backend_restored()).  Every request the previous owner made
 * visible to the device is in flight again under its cookie (cookies must
 * therefore be values, not pointers into the dead process); completions
 * the device wrote while nobody was attached are fetched as usual.
 * Requests it had added but not yet published are handed out first by
 * uvirtq_get_used() as UVIRTQ_CANCELED: the device never saw them.  With
 * requests in flight the doorbell is rung once, in case the previous
 * owner died before it rang it.
 * Return: 0; -EOPNOTSUPP if @dev has the packed ring or VIRTIO_F_IN_ORDER;
 * -ENOENT if the ring or tables are not among the backend's restored
 * allocations; -EIO if the saved state and the ring disagree;
 * -EINVAL, -ENOMEM, or the errors of uvirtq_create().
 */
int uvirtq_restore(struct uvirtio_dev *dev, uint16_t index,
		   const struct uvirtq_params *params, uint64_t ring_iova,
		   uint64_t indir_iova, void *mem, size_t len,
		   struct uvirtq **out);

/**
 * uvirtq_detach() - free the queue object, leaving the ring to the device.
 * @vq: queue (NULL is fine).
 *
 * For a keep-alive handover: the ring, the indirect tables and the
 * persistent state stay allocated and in the device's use.
 */
void uvirtq_detach(struct uvirtq *vq);

/**
 * uvirtq_in_flight_cookies() - the cookies of every request in flight.
 * @vq: queue.
 * @cookies: receives up to @max of them (cancelled ones first).
 * @max: room in @cookies.
 *
 * What a driver restoring a queue uses to know which of its own request
 * slots the previous owner left in use.
 * Return: the number in flight (uvirtq_in_flight()); at most @max stored.
 */
unsigned int uvirtq_in_flight_cookies(const struct uvirtq *vq, void **cookies,
				      unsigned int max);

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
