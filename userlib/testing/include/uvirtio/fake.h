/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/fake.h - in-process fake virtio PCI device (test backend).
 *
 * The fake runs a device model in its own pthread.  Every register access
 * traps into the fake (bar_ptr returns NULL), under the fake's lock; a
 * write to a notify register rings a doorbell that wakes the device thread.
 * DMA memory is malloc()ed and given fake IOVAs (from 0x100000000 for
 * allocations, 0x200000000 for mappings) that never equal the CPU address,
 * so translation bugs show up.  The device side checks every IOVA it uses
 * against its table and treats anything else as a device error (it stops
 * processing the queue, like real hardware would set NEEDS_RESET).
 *
 * Thread safety: all functions in this header may be called from any
 * thread; they take the fake's lock.
 */
#ifndef UVIRTIO_FAKE_H
#define UVIRTIO_FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <uvirtio/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtio_fake - opaque fake device. */
struct uvirtio_fake;

/**
 * enum uvirtio_fake_layout - PCI layout the fake presents.
 * @UVIRTIO_FAKE_MODERN: virtio 1.x vendor capabilities only (device id
 *	0x1040 + type).
 * @UVIRTIO_FAKE_TRANSITIONAL: modern capabilities plus a legacy I/O BAR0
 *	(device id 0x1000 + n, subsystem id = type).
 * @UVIRTIO_FAKE_LEGACY: legacy I/O BAR0 only (no VERSION_1).
 */
enum uvirtio_fake_layout {
	UVIRTIO_FAKE_MODERN = 0,
	UVIRTIO_FAKE_TRANSITIONAL,
	UVIRTIO_FAKE_LEGACY,
};

/**
 * struct uvirtio_fake_config - what the fake device looks like.
 * @device_type: VIRTIO_ID_BLOCK or VIRTIO_ID_RNG.
 * @layout: enum uvirtio_fake_layout.
 * @features: feature bits offered (device + transport bits).  Offering
 *	VIRTIO_F_RING_RESET (bit 40; not in the default) turns on the
 *	common config's queue_reset register.  Offering
 *	VIRTIO_F_NOTIF_CONFIG_DATA (bit 39) makes each queue's
 *	queue_notify_data read 0xa000 + 0x11 * index; offering
 *	VIRTIO_F_IN_ORDER (bit 35) makes the device check that the driver
 *	uses descriptors in ring order (see @inorder_batch).
 * @queue_size: maximum queue size (power of two for split rings).
 * @num_queues: number of virtqueues.
 * @msix_vectors: MSI-X vectors (0: no MSI-X, polling only).
 * @iommu_translated: report UVIRTIO_BE_IOMMU_TRANSLATED.
 * @no_caps_op: make get_caps return -EOPNOTSUPP (tests the parser).
 * @map_seg_size: if non-zero, split every dma_map into IOVA segments of
 *	this many bytes at non-adjacent IOVAs.
 * @reverse_completion: complete each batch of requests in reverse order.
 * @inorder_batch: with VIRTIO_F_IN_ORDER negotiated, complete the
 *	requests of each pass over the ring in groups of up to this many
 *	with one used entry per group (split: the id of the group's last
 *	chain at the group's first used slot, the used index moved by the
 *	group's size; packed: one used descriptor with the last chain's
 *	buffer id at the group's first slot, the group's other slots
 *	skipped).  0 or 1: one used entry per request.
 * @capacity: blk capacity in 512-byte sectors.
 * @blk_size: blk logical block size.
 * @seg_max: blk seg_max (data segments per request); enforced.
 * @size_max: blk size_max (bytes per segment); enforced.
 * @max_discard_sectors: blk limit, sectors per discard.
 * @max_discard_seg: blk limit, ranges per discard.
 * @discard_sector_alignment: blk discard alignment, in sectors.
 * @max_write_zeroes_sectors: blk limit, sectors per write-zeroes.
 * @max_write_zeroes_seg: blk limit, ranges per write-zeroes.
 * @rng_max_bytes: rng: bytes per request at most (0: the whole buffer),
 *	like QEMU's max-bytes.
 * @rng_delay_ms: rng: wait this long before each completion (a
 *	rate-limited source), with the fake's lock dropped.
 */
struct uvirtio_fake_config {
	uint32_t device_type;
	enum uvirtio_fake_layout layout;
	uint64_t features;
	uint16_t queue_size;
	uint16_t num_queues;
	uint16_t msix_vectors;
	bool iommu_translated;
	bool no_caps_op;
	uint32_t map_seg_size;
	bool reverse_completion;
	uint16_t inorder_batch;
	uint64_t capacity;
	uint32_t blk_size;
	uint32_t seg_max;
	uint32_t size_max;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint32_t rng_max_bytes;
	uint32_t rng_delay_ms;
};

/**
 * uvirtio_fake_default_config() - sensible defaults for a device type.
 * @cfg: output.
 * @device_type: VIRTIO_ID_BLOCK or VIRTIO_ID_RNG.
 *
 * Modern layout, VERSION_1 | INDIRECT_DESC | EVENT_IDX (+ blk: SIZE_MAX,
 * SEG_MAX, BLK_SIZE, FLUSH, DISCARD, WRITE_ZEROES, MQ), queue size 64,
 * 2 queues for blk, 1 for rng, 8 MSI-X vectors, 8 MiB disk.
 */
void uvirtio_fake_default_config(struct uvirtio_fake_config *cfg,
				 uint32_t device_type);

/**
 * uvirtio_fake_create() - create a fake device and its backend.
 * @cfg: configuration (copied).
 * @fake: receives the fake (for fault injection and statistics).
 * @be: receives the backend.  uvirtio_backend_close(*@be) stops the device
 *	thread and frees the fake too; *@fake is dead afterwards.
 * Return: 0 or negative errno.
 */
int uvirtio_fake_create(const struct uvirtio_fake_config *cfg,
			struct uvirtio_fake **fake,
			struct uvirtio_backend **be);

/**
 * enum uvirtio_fake_fault - faults the fake can inject.
 * @UVIRTIO_FAKE_FAULT_BAD_USED_ID: next completion reports an id >= queue
 *	size.
 * @UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD: next completion reports an id
 *	that is in range but not the head of an in-flight chain.
 * @UVIRTIO_FAKE_FAULT_BAD_USED_LEN: next completion reports a length one
 *	byte larger than the writable buffer space.
 * @UVIRTIO_FAKE_FAULT_CORRUPT_DESC: before the next completion the device
 *	rewrites the chain's descriptors so that they loop (next points at
 *	itself) or point past the ring (split), or scribbles on the id and
 *	flags fields (packed); the driver must rely on its own shadow state.
 * @UVIRTIO_FAKE_FAULT_USED_IDX_JUMP: next completion advances the split
 *	used index by queue size + 1.
 * @UVIRTIO_FAKE_FAULT_CONFIG_GEN: the next @arg reads of device config
 *	space each flip the config (blk capacity alternates between the
 *	configured value and @arg2) and bump config_generation.  @arg 0xffff
 *	means forever.
 * @UVIRTIO_FAKE_FAULT_NEEDS_RESET: set DEVICE_NEEDS_RESET, stop processing
 *	queues and fire the config interrupt.
 * @UVIRTIO_FAKE_FAULT_REFUSE_FEATURES_OK: do not accept FEATURES_OK.
 * @UVIRTIO_FAKE_FAULT_DUP_USED: complete the next request twice.
 * @UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK: from now on a queue reset
 *	(VIRTIO_F_RING_RESET) never completes: queue_reset keeps reading 1.
 * @UVIRTIO_FAKE_FAULT_REMOVE: surprise removal: the device stops
 *	processing, register writes are dropped, the backend's remove fd
 *	becomes readable.  @arg 0: registers read all-ones, as on real
 *	hardware; @arg 1: they keep returning their last values (a scratch
 *	page a late write landed in), so only the remove fd tells.
 * @UVIRTIO_FAKE_FAULT_OP_FAIL_NTH: the @arg-th backend operation from now
 *	on (register, config space, DMA, interrupt, reset or capability
 *	call of the library into the fake; counting from 1) fails with -EIO,
 *	once; @arg 0 turns it off.  The library's error paths, one by one.
 * @UVIRTIO_FAKE_FAULT_INORDER_AHEAD: with VIRTIO_F_IN_ORDER: the next
 *	completion names, instead of its own chain, the one made available
 *	right after it (or, with none, the next descriptor / slot nobody
 *	has made available), and the device completes nothing more of what
 *	it has taken so far.  A split used index then does not cover the
 *	chain named; a packed id names no chain in flight.
 */
enum uvirtio_fake_fault {
	UVIRTIO_FAKE_FAULT_BAD_USED_ID = 1,
	UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD,
	UVIRTIO_FAKE_FAULT_BAD_USED_LEN,
	UVIRTIO_FAKE_FAULT_CORRUPT_DESC,
	UVIRTIO_FAKE_FAULT_USED_IDX_JUMP,
	UVIRTIO_FAKE_FAULT_CONFIG_GEN,
	UVIRTIO_FAKE_FAULT_NEEDS_RESET,
	UVIRTIO_FAKE_FAULT_REFUSE_FEATURES_OK,
	UVIRTIO_FAKE_FAULT_DUP_USED,
	UVIRTIO_FAKE_FAULT_REMOVE,
	UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK,
	UVIRTIO_FAKE_FAULT_OP_FAIL_NTH,
	UVIRTIO_FAKE_FAULT_INORDER_AHEAD,
};

/**
 * uvirtio_fake_inject() - arm a fault.
 * @fake: fake device.
 * @fault: enum uvirtio_fake_fault.
 * @arg: fault-specific (see enum).
 * @arg2: fault-specific (see enum).
 * Return: 0 or -EINVAL.
 */
int uvirtio_fake_inject(struct uvirtio_fake *fake, enum uvirtio_fake_fault fault,
			uint64_t arg, uint64_t arg2);

/**
 * struct uvirtio_fake_stats - counters.
 * @doorbells: notify register writes.
 * @interrupts: eventfd writes (queue + config vectors).
 * @completions: buffers returned to the driver.
 * @device_errors: requests the device model rejected (bad IOVA, loop...).
 * @last_status: last device_status value written by the driver.
 * @status_history: OR of all status values written since reset.
 * @driver_features: features the driver wrote.
 * @max_chain: longest descriptor chain (after indirect) seen.
 * @indirect_used: chains that used an indirect table.
 * @notify_data_seen: doorbells checked for VIRTIO_F_NOTIFICATION_DATA.
 * @notify_data_errors: of those, the ones whose data was wrong (not 32
 *	bits, another queue, a split index the driver had not published, a
 *	packed offset outside the ring).
 * @last_notify_data: the last such doorbell's 32 bits.
 * @ops_failed: backend operations UVIRTIO_FAKE_FAULT_OP_FAIL_NTH failed.
 * @inorder_errors: with VIRTIO_F_IN_ORDER, split chains the driver did
 *	not place in ring order (a head other than the descriptor after the
 *	previous chain, or a next other than x + 1 wrapping).
 * @inorder_batches: used entries that completed more than one request.
 * @notif_config_data_seen: doorbells checked for VIRTIO_F_NOTIF_CONFIG_DATA
 *	(their queue field must be queue_notify_data; a wrong one counts in
 *	@notify_data_errors).
 */
struct uvirtio_fake_stats {
	uint64_t doorbells;
	uint64_t interrupts;
	uint64_t completions;
	uint64_t device_errors;
	uint8_t last_status;
	uint8_t status_history;
	uint64_t driver_features;
	uint32_t max_chain;
	uint64_t indirect_used;
	uint64_t notify_data_seen;
	uint64_t notify_data_errors;
	uint32_t last_notify_data;
	uint64_t ops_failed;
	uint64_t inorder_errors;
	uint64_t inorder_batches;
	uint64_t notif_config_data_seen;
};

/** uvirtio_fake_get_stats() - snapshot of the counters. */
void uvirtio_fake_get_stats(struct uvirtio_fake *fake,
			    struct uvirtio_fake_stats *st);

/**
 * uvirtio_fake_disk() - direct pointer to the RAM disk (blk only).
 * @fake: fake device.
 * @len: receives its length in bytes.
 * Return: pointer or NULL.  Access only while no I/O is in flight.
 */
void *uvirtio_fake_disk(struct uvirtio_fake *fake, uint64_t *len);

/**
 * uvirtio_fake_set_capacity() - change capacity, raise a config interrupt.
 * @fake: the fake.
 * @sectors: new capacity in 512-byte sectors.
 *
 * Bumps config_generation.
 */
void uvirtio_fake_set_capacity(struct uvirtio_fake *fake, uint64_t sectors);

/**
 * uvirtio_fake_pci_cfg_poke() - overwrite one byte of PCI config space.
 * @fake: the fake.
 * @off: offset in the 256-byte config space.
 * @val: the new byte.
 *
 * The capability list a lying device presents (with
 * &uvirtio_fake_config.no_caps_op the library parses it from config
 * space).  The device model itself does not look at it.
 * Return: 0 or -EINVAL.
 */
int uvirtio_fake_pci_cfg_poke(struct uvirtio_fake *fake, uint32_t off,
			      uint8_t val);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_FAKE_H */
