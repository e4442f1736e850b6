/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_priv.h - the test device's state and the functions its parts
 * share (libuvirtio-testing.a; the public side is <uvirtio/fake.h>).
 *
 *   fake.c         the device object, its backend (DMA, interrupts) and
 *                  the public functions: create, inject, stats
 *   fake_pci.c     PCI config space and capabilities, the modern common
 *                  config, device config, doorbells, the BAR dispatch
 *   fake_legacy.c  the legacy (0.9.5) I/O BAR
 *   fake_vq.c      walking split and packed rings, completion, faults
 *                  on the used side, interrupts, the device thread
 *   fake_blk.c     the virtio-blk model (a RAM disk)
 *   fake_rng.c     the virtio-rng model
 *
 * Everything here runs under the fake's lock (struct uvirtio_fake.lock)
 * unless it says otherwise.
 */
#ifndef UVIRTIO_FAKE_PRIV_H
#define UVIRTIO_FAKE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include <uvirtio/fake.h>
#include "internal.h"

#define FAKE_BAR		4
#define FAKE_COMMON_OFF		0x0000
#define FAKE_COMMON_LEN		0x0040
#define FAKE_ISR_OFF		0x1000
#define FAKE_DEVICE_OFF		0x2000
#define FAKE_DEVICE_LEN		0x0100
#define FAKE_NOTIFY_OFF		0x3000
#define FAKE_NOTIFY_MULT	4
#define FAKE_ALLOC_IOVA		0x100000000ull
#define FAKE_MAP_IOVA		0x200000000ull
#define FAKE_MAX_SEGS		4096
#define FAKE_MAX_XFER		(64u << 20)
#define LEGACY_CFG_SPACE	256

struct fake_region {
	uint64_t iova;
	uint8_t *va;
	uint64_t len;
	uint64_t handle;
	bool alloc;
};

struct fake_queue {
	uint16_t size;
	uint16_t vector;
	bool enabled;
	uint64_t desc, driver, device;
	uint32_t pfn;
	bool pending;
	/* device-side ring state */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t p_avail;
	bool p_avail_wrap;
	uint16_t p_used;
	bool p_used_wrap;
	uint16_t ino_desc;	/* IN_ORDER: where the next split chain starts */
	bool resetting;		/* RING_RESET: a reset that never ends */
};

struct fake_seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

struct fake_chain {
	uint16_t head;		/* split: head desc id; packed: ring pos */
	uint16_t id;		/* buffer id reported in used */
	uint16_t ndesc;		/* ring slots (packed) */
	uint32_t wlen;
	unsigned int nsegs;
	struct fake_seg *segs;
	bool bad;
};

struct uvirtio_fake {
	struct uvirtio_fake_config cfg;
	struct uvirtio_backend *be;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started;
	bool stop;
	uint8_t pcicfg[256];
	struct uvirtio_caps caps;

	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint16_t msix_config;
	uint8_t status;
	uint8_t generation;
	uint8_t isr;
	uint16_t queue_select;
	struct fake_queue *queues;

	int *efd;
	bool *masked;
	bool *irq_pending;

	struct fake_region *regions;
	size_t nregions, regions_cap;
	uint64_t next_alloc_iova, next_map_iova, next_handle;

	struct virtio_blk_config blkcfg;
	uint8_t *disk;
	uint64_t disk_len;
	uint64_t rng_state;

	enum uvirtio_fake_fault fault;
	uint64_t fault_arg, fault_arg2;
	unsigned int cfg_gen_left;
	bool cfg_flipped;
	bool refuse_features_ok;
	bool queue_reset_stuck;
	bool needs_reset;
	bool removed, removed_frozen;
	int remove_efd;
	/* UVIRTIO_FAKE_FAULT_OP_FAIL_NTH: atomics, taken outside the lock */
	unsigned int fail_nth, op_calls;

	struct uvirtio_fake_stats st;
};

static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static inline bool modern_iface(const struct uvirtio_fake *f)
{
	return f->cfg.layout != UVIRTIO_FAKE_LEGACY;
}

static inline bool legacy_iface(const struct uvirtio_fake *f)
{
	return f->cfg.layout != UVIRTIO_FAKE_MODERN;
}

static inline bool drv_has(const struct uvirtio_fake *f, unsigned int bit)
{
	return f->driver_features & (1ull << bit);
}

/* VIRTIO_F_NOTIF_CONFIG_DATA: queue_notify_data of queue @qidx */
static inline uint16_t fake_notify_data(uint16_t qidx)
{
	return (uint16_t)(0xa000u + 0x11u * qidx);
}

static inline uint16_t ald16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static inline void rst16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

/* fake.c */
uint8_t *fake_xlat(struct uvirtio_fake *f, uint64_t iova, uint64_t len);
void fake_raise_irq(struct uvirtio_fake *f, uint16_t vector, uint8_t isr);
void fake_set_needs_reset(struct uvirtio_fake *f);
void fake_device_error(struct uvirtio_fake *f);
void fake_device_reset(struct uvirtio_fake *f);

/* fake_pci.c */
uint32_t fake_devcfg_len(struct uvirtio_fake *f);
uint64_t fake_devcfg_read(struct uvirtio_fake *f, uint32_t off,
			  unsigned int width);
void fake_devcfg_write(struct uvirtio_fake *f, uint32_t off,
		       unsigned int width, uint64_t val);
struct fake_queue *fake_selq(struct uvirtio_fake *f);
uint64_t fake_offered(struct uvirtio_fake *f);
uint16_t fake_check_vector(struct uvirtio_fake *f, uint64_t v);
void fake_queue_enable(struct fake_queue *q);
void fake_doorbell(struct uvirtio_fake *f, uint64_t qidx);
int fake_cfg_read(void *priv, uint32_t off, void *buf, unsigned int width);
int fake_cfg_write(void *priv, uint32_t off, const void *buf,
		   unsigned int width);
int fake_bar_read(void *priv, unsigned int bar, uint64_t off,
		  unsigned int width, uint64_t *val);
int fake_bar_write(void *priv, unsigned int bar, uint64_t off,
		   unsigned int width, uint64_t val);
void *fake_bar_ptr(void *priv, unsigned int bar, uint64_t off, uint64_t len);
void fake_build_pci(struct uvirtio_fake *f);

/* fake_legacy.c */
uint64_t fake_legacy_read(struct uvirtio_fake *f, uint64_t off,
			  unsigned int width);
void fake_legacy_write(struct uvirtio_fake *f, uint64_t off,
		       unsigned int width, uint64_t v);

/* fake_vq.c: the device thread (takes the lock itself) */
void *fake_device_thread(void *arg);

/* fake_blk.c, fake_rng.c: execute one request; rng may drop the lock */
uint8_t fake_blk_execute(struct uvirtio_fake *f, struct fake_chain *c,
			 uint32_t *used_len);
bool fake_rng_execute(struct uvirtio_fake *f, struct fake_chain *c,
		      uint32_t *used_len);

#endif /* UVIRTIO_FAKE_PRIV_H */
