/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzzdev.h - a single-threaded, fuzzer-controlled virtio PCI device.
 *
 * The fuzz harnesses drive libuvirtio over this backend.  Unlike the
 * test fake (src/fake.c) it has no device thread: every device action is
 * an explicit, deterministic step taken by the harness between driver
 * calls, so a crash reproduces from its input alone.  The device side is
 * split in two:
 *
 *  - an honest model (fd_fetch(), fd_complete()) that reads the rings the
 *    way a spec-conforming device does and writes valid completions; the
 *    harness uses it to check the driver end to end (right chain, right
 *    cookie, right length, no spurious "broken");
 *  - raw writes of fuzz bytes into the device-owned (or any) part of the
 *    ring, the device config space, config_generation and the status
 *    register (DEVICE_NEEDS_RESET), which "taint" the run: from then on
 *    only the hardening invariants are checked.
 */
#ifndef UVIRTIO_FUZZDEV_H
#define UVIRTIO_FUZZDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uvirtio/backend.h>

/* Abort with a message: an invariant of the harness was violated. */
#define FZ_ASSERT(c) do { if (!(c)) fz_fail(__FILE__, __LINE__, #c); } while (0)
void fz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

/* ---- input consumption ---------------------------------------------- */

struct fz_in {
	const uint8_t *p;
	size_t left;
};

uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);

/* ---- device model --------------------------------------------------- */

#define FD_MAX_QUEUES	4
#define FD_MAX_CHAINS	512	/* fetched, not yet completed (honest model) */
#define FD_CFG_MAX	256

/* One chain the honest device fetched from the available ring. */
struct fd_chain {
	uint16_t id;		/* split: head index; packed: buffer id */
	uint16_t ndesc;		/* ring descriptors (packed: slots) used */
	uint32_t wlen;		/* writable bytes */
	uint32_t nbufs;		/* buffers (after indirect expansion) */
	uint64_t first_addr;	/* first buffer's address */
	uint64_t last_waddr;	/* last writable buffer (0: none) */
	uint32_t last_wlen;
	bool bad;		/* malformed (loop, bad IOVA, ...) */
	uint32_t ulen;		/* fd_complete(): length written */
	uintptr_t tag;		/* harness-private (request it carries) */
};

struct fd_queue {
	uint16_t size;
	uint16_t msix;
	uint16_t enable;
	uint64_t desc, drv, dev;
	/* honest device state */
	uint16_t last_avail;	/* split: avail index; packed: slot */
	bool avail_wrap;
	uint16_t used_idx;	/* split: used index; packed: slot */
	bool used_wrap;
	struct fd_chain chains[FD_MAX_CHAINS];
	unsigned int nchains;
};

struct fd_dma {
	void *va;
	uint64_t iova;
	size_t len;
};

struct fuzzdev {
	/* what the device looks like */
	uint16_t pci_devid;
	uint64_t features;
	uint16_t num_queues;
	uint16_t qmax;
	uint16_t qmax1;		/* queues >= 1, if non-zero (sizes differ) */
	uint16_t nvectors;
	bool refuse_features_ok;
	bool packed;		/* negotiated ring format, set on FEATURES_OK */
	/* config space: two images; a generation change flips between them */
	uint8_t cfg[2][FD_CFG_MAX];
	uint32_t cfg_len;
	unsigned int cfg_cur;
	uint8_t gen;
	const uint8_t *gen_script;	/* one byte per generation read */
	size_t gen_left;
	unsigned int gen_reads;
	/* registers */
	uint8_t status;
	bool needs_reset;
	uint32_t dfsel, gfsel;
	uint64_t drv_features;
	uint16_t msix_config;
	uint16_t qsel;
	struct fd_queue q[FD_MAX_QUEUES];
	uint64_t doorbells;
	/* DMA */
	struct fd_dma dma[64];
	unsigned int ndma;
	uint64_t next_iova;
	int efd[8];
};

/* Create the backend over @fd (zero it and set the config fields first). */
int fd_backend(struct fuzzdev *fd, struct uvirtio_backend **be);
void fd_init(struct fuzzdev *fd);

/* Device-side view of driver memory; NULL if [iova, iova+len) is unmapped. */
void *fd_xlat(struct fuzzdev *fd, uint64_t iova, uint64_t len);

/* Ring areas of queue @qi; NULL if not set up / not translatable. */
void *fd_ring(struct fuzzdev *fd, unsigned int qi, size_t *len);

/*
 * Honest model.  fd_fetch() reads newly available chains (at most @max)
 * into q->chains; returns how many were fetched.  fd_complete() writes a
 * valid used element for fetched chain @k (removed from the list) with
 * @len (clamped to its writable length); returns false if nothing to do.
 */
unsigned int fd_fetch(struct fuzzdev *fd, unsigned int qi, unsigned int max);
bool fd_complete(struct fuzzdev *fd, unsigned int qi, unsigned int k,
		 uint32_t len, struct fd_chain *done);

#endif /* UVIRTIO_FUZZDEV_H */
