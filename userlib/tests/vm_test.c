// SPDX-License-Identifier: BSD-3-Clause
/*
 * vm_test - libuvirtio against real virtio devices: QEMU's PCI functions
 * through /dev/uvirtio, or any other device string (uvirtio/open.h).
 *
 * Runs inside the test VM (scripts/guest/run-tests), or on the host against
 * a vhost-user back-end (tools/test-vhost-user.sh), and prints KTAP.  Each
 * argument names one device and what its peer was told about it:
 *
 *   vm_test DEVICE=KIND[,FLAG...] ...
 *
 * DEVICE is a BDF or a device string (vhost-user:PATH, ...); the split is
 * at the last "=blk" or "=rng".
 * KIND is blk or rng.  FLAGs say what the device offers and so what must be
 * negotiated: packed (VIRTIO_F_RING_PACKED), noevidx (no EVENT_IDX), noind
 * (no INDIRECT_DESC), mq=N (N request queues), legacy (transitional device,
 * also driven through the legacy I/O BAR), serial=S (virtio-blk serial),
 * irq=MODE (the interrupt mode the device offers the library: msix, the
 * default for PCI functions, shared for fewer vectors than queues + 1,
 * intx without MSI-X; any for other device strings).
 *
 * For every blk device, in interrupt and in polling mode:
 *  - the negotiated features match the device's properties;
 *  - GET_ID returns the serial QEMU was given;
 *  - in interrupt mode the queues use the expected uvirtio_blk_irq_mode()
 *    (never polling) and every queue counted interrupts; in polling mode
 *    the mode is poll and none was counted;
 *  - random writes at random offsets and sizes (1-16 blocks, up to 16 in
 *    flight, completions in any order) are verified after a re-read,
 *    then again after a flush and a close/re-open;
 *  - caller memory registered with uvirtio_blk_map_mem() at a page
 *    offset is written from and read into; unregistered (or where the
 *    backend maps no caller memory: vhost-user), the same memory goes
 *    through the bounce pool and reads back the same;
 *  - a ring reset (VIRTIO_F_RING_RESET, PCI modern) of the last queue with
 *    requests on it cancels them, leaves queue 0 alone, and the queue
 *    then writes and reads back verified data;
 *  - with several queues, one thread per queue writes its own region
 *    concurrently, and every region is verified.
 * For every rng device: two reads return data, and not the same data.
 *
 * The test binds each PCI function to uvirtio with driver_override itself
 * and gives it back to virtio-pci at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <uvirtio/uvirtio.h>

#define MAX_DEVS	32
#define SPAN_BYTES	(1u << 20)	/* exercised part of each disk */
#define MAX_REQ_BLOCKS	16
#define QD		16

struct dev_spec {
	char bdf[128];		/* a BDF or a device string */
	bool pci;
	char kind[8];
	bool packed, noevidx, noind, legacy;
	bool bigbuf;		/* run test_big_buf() (a disk of >= 16 MiB) */
	unsigned int mq;
	char serial[24];
	char irq[8];		/* expected irq mode name, "" for any */
};

/*
 * Each device is tested in a child process under a deadline, so that a
 * hang (a lost interrupt, a stuck device) fails that device's tests
 * instead of the whole VM run.  The counters live in shared memory.
 */
struct counters {
	int reported;
	int failed;
};
static struct counters *cnt;
#define test_no (cnt->reported)
#define failures (cnt->failed)
static unsigned int ops_per_queue = 40;
static unsigned int device_timeout = 240;	/* seconds per device */

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", ok ? "ok" : "not ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* driver_override dance: bind @bdf to @drv ("" gives it back). */
static int rebind(const char *bdf, const char *drv)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (write_file(path, *drv ? drv : "\n"))
		return -errno;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	if (access(path, F_OK) == 0)
		write_file(path, bdf);
	return write_file("/sys/bus/pci/drivers_probe", bdf);
}

static int parse_spec(const char *arg, struct dev_spec *d)
{
	char buf[128], *tok, *save = NULL, *eq;

	memset(d, 0, sizeof(*d));
	d->mq = 1;
	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	eq = NULL;
	for (tok = buf; (tok = strchr(tok, '=')); tok++)
		if (!strncmp(tok, "=blk", 4) || !strncmp(tok, "=rng", 4))
			eq = tok;
	if (!eq || eq - buf >= (int)sizeof(d->bdf))
		return -EINVAL;
	*eq = 0;
	strcpy(d->bdf, buf);
	{
		enum uvirtio_scheme sch;

		if (uvirtio_parse_devstr(d->bdf, &sch, NULL))
			return -EINVAL;
		d->pci = sch == UVIRTIO_SCHEME_PCI;
	}
	if (d->pci)
		strcpy(d->irq, "msix");
	for (tok = strtok_r(eq + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!d->kind[0])
			snprintf(d->kind, sizeof(d->kind), "%s", tok);
		else if (!strcmp(tok, "packed"))
			d->packed = true;
		else if (!strcmp(tok, "noevidx"))
			d->noevidx = true;
		else if (!strcmp(tok, "noind"))
			d->noind = true;
		else if (!strcmp(tok, "legacy"))
			d->legacy = true;
		else if (!strcmp(tok, "bigbuf"))
			d->bigbuf = true;
		else if (!strncmp(tok, "mq=", 3))
			d->mq = (unsigned int)atoi(tok + 3);
		else if (!strncmp(tok, "serial=", 7))
			snprintf(d->serial, sizeof(d->serial), "%s", tok + 7);
		else if (!strncmp(tok, "irq=", 4))
			snprintf(d->irq, sizeof(d->irq), "%s", tok + 4);
		else
			return -EINVAL;
	}
	return d->kind[0] ? 0 : -EINVAL;
}

/* Deterministic block contents: a function of the block and its version. */
static void fill_block(uint8_t *p, size_t bs, uint64_t lba, uint32_t ver)
{
	uint64_t s = (lba + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)ver << 32 | ver);

	for (size_t i = 0; i < bs; i += 8) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		uint64_t v = s * 2685821657736338717ull;

		memcpy(p + i, &v, 8);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

struct region {
	struct uvirtio_blk *blk;
	struct uvirtio_blk_queue *q;
	uint8_t *buf;		/* QD * MAX_REQ_BLOCKS blocks, mapped */
	uint32_t *ver;		/* version per block of the region, 0 = never written */
	uint64_t first, nblocks;
	uint32_t bs;
	uint64_t seed;
	unsigned int ops;
	int err;
	char what[96];
};

/* Random writes of random sizes, up to QD in flight, into the region. */
static int region_write(struct region *r)
{
	struct uvirtio_blk_completion comp[QD];
	uint64_t slot_busy = 0;
	unsigned int submitted = 0, done = 0;
	uint32_t slot_len[QD];
	uint64_t s = r->seed;
	int ret;

	while (done < r->ops) {
		while (submitted < r->ops && slot_busy != (1ull << QD) - 1 &&
		       submitted - done < QD) {
			unsigned int slot = (unsigned int)__builtin_ctzll(~slot_busy);
			uint64_t n = 1 + rnd(&s) % MAX_REQ_BLOCKS;
			uint64_t lba;
			uint8_t *p = r->buf + (size_t)slot * MAX_REQ_BLOCKS * r->bs;

			if (n > r->nblocks)
				n = r->nblocks;
			lba = rnd(&s) % (r->nblocks - n + 1);
			/*
			 * Two writes in flight to one block may complete in any
			 * order, so a write never overlaps one still in flight
			 * (bit 31 of the version marks those): the expected
			 * content of every block stays exact.
			 */
			bool clash = false;

			for (uint64_t b = 0; b < n && !clash; b++)
				clash = r->ver[lba + b] & 0x80000000u;
			if (clash)
				break;	/* reap first; something is in flight */
			for (uint64_t b = 0; b < n; b++) {
				uint32_t v = (r->ver[lba + b] & 0x7fffffffu) + 1;

				r->ver[lba + b] = v | 0x80000000u;
				fill_block(p + b * r->bs, r->bs, r->first + lba + b, v);
			}
			ret = uvirtio_blk_q_write(r->q, (r->first + lba) * r->bs, p,
						  n * r->bs,
						  (void *)(uintptr_t)(slot | (lba << 8)));
			if (ret == -EAGAIN && submitted > done) {
				/* Ring full (no indirect, small queue): reap. */
				for (uint64_t b = 0; b < n; b++)
					r->ver[lba + b] = (r->ver[lba + b] & 0x7fffffffu) - 1;
				break;
			}
			if (ret) {
				snprintf(r->what, sizeof(r->what), "enqueue write: %s", strerror(-ret));
				return ret;
			}
			slot_len[slot] = (uint32_t)n;
			slot_busy |= 1ull << slot;
			submitted++;
		}
		ret = uvirtio_blk_q_reap(r->q, 1, QD, comp, NULL);
		if (ret < 0) {
			snprintf(r->what, sizeof(r->what), "reap: %s", strerror(-ret));
			return ret;
		}
		for (int i = 0; i < ret; i++) {
			uintptr_t c = (uintptr_t)comp[i].user_data;
			unsigned int slot = c & 0xff;
			uint64_t lba = c >> 8;

			if (comp[i].ret) {
				snprintf(r->what, sizeof(r->what), "write completion: %s",
					 strerror(-comp[i].ret));
				return comp[i].ret;
			}
			for (uint64_t b = 0; b < slot_len[slot]; b++)
				r->ver[lba + b] &= 0x7fffffffu;
			slot_busy &= ~(1ull << slot);
		}
		done += (unsigned int)ret;
	}
	return 0;
}

/* Read the whole region back in MAX_REQ_BLOCKS chunks and compare. */
static int region_verify(struct region *r)
{
	uint8_t *want = malloc(r->bs);
	int ret = 0;

	if (!want)
		return -ENOMEM;
	for (uint64_t lba = 0; lba < r->nblocks && !ret; lba += MAX_REQ_BLOCKS) {
		uint64_t n = r->nblocks - lba < MAX_REQ_BLOCKS ? r->nblocks - lba : MAX_REQ_BLOCKS;
		struct uvirtio_blk_completion c;

		memset(r->buf, 0xa5, n * r->bs);
		ret = uvirtio_blk_q_read(r->q, (r->first + lba) * r->bs, r->buf,
					 n * r->bs, NULL);
		if (!ret) {
			ret = uvirtio_blk_q_reap(r->q, 1, 1, &c, NULL);
			ret = ret == 1 ? c.ret : (ret < 0 ? ret : -EIO);
		}
		if (ret) {
			snprintf(r->what, sizeof(r->what), "read: %s", strerror(-ret));
			break;
		}
		for (uint64_t b = 0; b < n; b++) {
			if (!r->ver[lba + b])
				continue;	/* never written: content unknown */
			fill_block(want, r->bs, r->first + lba + b, r->ver[lba + b]);
			if (memcmp(want, r->buf + b * r->bs, r->bs)) {
				snprintf(r->what, sizeof(r->what),
					 "data mismatch at block %" PRIu64 " (version %u)",
					 r->first + lba + b, r->ver[lba + b]);
				ret = -EILSEQ;
				break;
			}
		}
	}
	free(want);
	return ret;
}

static void *region_thread(void *arg)
{
	struct region *r = arg;

	r->err = region_write(r);
	if (!r->err)
		r->err = region_verify(r);
	return NULL;
}

static int blk_open(const struct dev_spec *d, bool poll, bool legacy,
		    struct uvirtio_backend **be, struct uvirtio_blk **blk)
{
	struct uvirtio_blk_params p = {
		.transport = legacy ? UVIRTIO_TRANSPORT_LEGACY : UVIRTIO_TRANSPORT_AUTO,
		.num_queues = (uint16_t)d->mq,
		.packed = true,
		.poll = poll,
	};
	int ret = uvirtio_backend_open(d->bdf, NULL, be);

	if (ret)
		return ret;
	ret = uvirtio_blk_open(*be, &p, blk);
	if (ret)
		uvirtio_backend_close(*be);
	return ret;
}

static void blk_close(struct uvirtio_backend *be, struct uvirtio_blk *blk)
{
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
}

static int wait_all(struct uvirtio_blk_queue *q, unsigned int n, int *res,
		    unsigned int *cancelled)
{
	struct uvirtio_blk_completion comp[32];
	struct timespec to = { 10, 0 };
	unsigned int got = 0;
	int r, i;

	*res = 0;
	*cancelled = 0;
	while (got < n) {
		r = uvirtio_blk_q_reap(q, 1, 32, comp, &to);
		if (r <= 0)
			return r ? r : -ETIMEDOUT;
		for (i = 0; i < r; i++) {
			if (comp[i].ret == -ECANCELED)
				(*cancelled)++;
			else if (comp[i].ret && !*res)
				*res = comp[i].ret;
		}
		got += (unsigned int)r;
	}
	return 0;
}

/* Write or read four blocks from @off one request each, and reap them. */
static int rw_blocks(struct uvirtio_blk_queue *q, bool write, uint64_t off,
		     uint8_t *buf, unsigned int bs)
{
	unsigned int i, nc;
	int ret = 0, res;

	for (i = 0; i < 4 && !ret; i++)
		ret = write ? uvirtio_blk_q_write(q, off + (uint64_t)i * bs,
						  buf + (size_t)i * bs, bs, NULL) :
			      uvirtio_blk_q_read(q, off + (uint64_t)i * bs,
						 buf + (size_t)i * bs, bs, NULL);
	if (!ret)
		ret = wait_all(q, 4, &res, &nc);
	if (!ret && (res || nc))
		ret = res ? res : -EPROTO;
	return ret;
}

/*
 * VIRTIO_F_RING_RESET (QEMU 7.2 offers it on virtio-pci: queue_reset=on):
 * reset the last queue with four writes the device has finished but that
 * were not reaped and four only enqueued, while queue 0 has writes of its
 * own in flight.  The eight come back -ECANCELED, queue 0's succeed, and
 * the reset queue then writes, reads back and verifies 16 blocks, also
 * after a second, idle reset.  Without the feature (legacy interface,
 * vhost-user): -EOPNOTSUPP and the writes complete normally.
 */
/*
 * Caller memory registered with uvirtio_blk_map_mem() (the backend's
 * dma_map of memory it did not allocate, at a page offset, a buffer
 * crossing a page): written from and read into without a copy; once
 * unregistered, the same memory goes through the bounce pool.  Uses the
 * blocks just after the verified span.
 */
static void test_map_mem(const char *name, struct uvirtio_blk *blk,
			 const struct uvirtio_blk_info *info, uint64_t off)
{
	const size_t len = 4096, map_len = 3 * 4096 - 100;
	uint8_t *mem = NULL, *w, *r;
	size_t i;
	int ret;

	if (off + len > info->capacity || len % info->blk_size) {
		tap(true, "%s.map_mem # SKIP no room after the span", name);
		return;
	}
	if (posix_memalign((void **)&mem, 4096, 3 * 4096)) {
		tap(false, "%s.map_mem # no memory", name);
		return;
	}
	w = mem + 512;			/* crosses into the second page */
	r = mem + 5120;
	for (i = 0; i < len; i++)
		w[i] = (uint8_t)(i * 13 + off);
	memset(r, 0, len);
	ret = uvirtio_blk_map_mem(blk, mem + 100, map_len);
	if (ret == -EOPNOTSUPP) {
		/* vhost-user: the peer maps shared files only */
		diag("%s: map_mem: not on this backend, bounce pool only", name);
		ret = uvirtio_blk_write(blk, off, w, len);
	} else {
		if (!ret)
			ret = uvirtio_blk_write(blk, off, w, len);
		if (!ret)
			ret = uvirtio_blk_read(blk, off, r, len);
		if (!ret && memcmp(w, r, len))
			ret = -EILSEQ;
		if (!ret)
			ret = uvirtio_blk_unmap_mem(blk, mem + 100);
	}
	/* not registered (now): the bounce pool carries it */
	if (!ret) {
		memset(r, 0, len);
		ret = uvirtio_blk_read(blk, off, r, len);
	}
	if (!ret && memcmp(w, r, len))
		ret = -EILSEQ;
	if (ret)
		diag("%s: map_mem: %s", name, strerror(-ret));
	tap(ret == 0, "%s.map_mem", name);
	free(mem);
}

static void test_ring_reset(const char *name, const struct dev_spec *d,
			    bool legacy, struct uvirtio_blk *blk,
			    const struct uvirtio_blk_info *info)
{
	bool nego = info->features & (1ull << VIRTIO_F_RING_RESET);
	bool want = d->pci && !legacy;
	unsigned int nq = info->num_queues, bs = info->blk_size, i, nc = 0;
	struct uvirtio_blk_queue *rq = uvirtio_blk_get_queue(blk, nq - 1);
	struct uvirtio_blk_queue *q0 = uvirtio_blk_get_queue(blk, 0);
	uint64_t base = ((uint64_t)SPAN_BYTES + bs - 1) / bs * bs;
	uint8_t *wbuf = NULL, *rbuf = NULL, *obuf = NULL;
	const char *what = "";
	unsigned int n2 = 0;	/* enqueued after the first four */
	int ret, res = 0, r2;

	if (base + 20ull * bs > info->capacity) {
		diag("%s: disk too small for the ring reset test", name);
		tap(false, "%s.ring_reset", name);
		return;
	}
	ret = uvirtio_blk_alloc_buf(blk, 16u * bs, (void **)&wbuf);
	if (!ret)
		ret = uvirtio_blk_alloc_buf(blk, 16u * bs, (void **)&rbuf);
	if (!ret)
		ret = uvirtio_blk_alloc_buf(blk, 2u * bs, (void **)&obuf);
	if (ret) {
		what = "buffers";
		goto out;
	}
	for (i = 0; i < 16; i++)
		fill_block(wbuf + (size_t)i * bs, bs, base / bs + i, 7);
	for (i = 0; i < 2; i++)
		fill_block(obuf + (size_t)i * bs, bs, base / bs + 16 + i, 7);
	what = "enqueue";
	for (i = 0; i < 4 && !ret; i++)
		ret = uvirtio_blk_q_write(rq, base + (uint64_t)i * bs,
					  wbuf + (size_t)i * bs, bs, NULL);
	if (!ret)
		ret = uvirtio_blk_q_submit(rq);
	if (ret)
		goto out;
	/* Let the device finish those four; do not reap them. */
	poll(NULL, 0, 300);
	for (i = 4; i < 8 && !ret; i++) {
		ret = uvirtio_blk_q_write(rq, base + (uint64_t)i * bs,
					  wbuf + (size_t)i * bs, bs, NULL);
		n2 += !ret;
	}
	if (ret == -EAGAIN) {
		/* a queue of four holds only the first four */
		diag("%s: ring full after %u writes", name, 4 + n2);
		ret = 0;
	}
	for (i = 0; i < 2 && !ret && nq > 1; i++)
		ret = uvirtio_blk_q_write(q0, base + (uint64_t)(16 + i) * bs,
					  obuf + (size_t)i * bs, bs, NULL);
	if (!ret && nq > 1)
		ret = uvirtio_blk_q_submit(q0);
	if (ret)
		goto out;

	what = "reset";
	ret = uvirtio_blk_q_reset(rq);
	diag("%s: RING_RESET %snegotiated, reset of queue %u: %s", name,
	     nego ? "" : "not ", nq - 1, ret ? strerror(-ret) : "ok");
	if (!nego || ret) {
		/* not there: the writes must simply complete */
		r2 = wait_all(rq, 4 + n2, &res, &nc);
		if (!nego && ret == -EOPNOTSUPP && !want && !r2 && !res && !nc)
			ret = 0;
		else if (!ret)
			ret = -EPROTO;
		if (nq > 1)
			wait_all(q0, 2, &res, &nc);
		goto out;
	}
	what = "cancelled requests";
	ret = wait_all(rq, 4 + n2, &res, &nc);
	diag("%s: %u of %u came back -ECANCELED", name, nc, 4 + n2);
	if (!ret && (res || nc != 4 + n2))
		ret = res ? res : -EPROTO;
	if (ret)
		goto out;
	if (nq > 1) {
		what = "the other queue";
		ret = wait_all(q0, 2, &res, &nc);
		if (!ret && (res || nc))
			ret = res ? res : -EPROTO;
		if (ret)
			goto out;
	}
	/* The queue works again: write 16 new blocks, read, verify. */
	for (i = 0; i < 16; i++)
		fill_block(wbuf + (size_t)i * bs, bs, base / bs + i, 8);
	for (int round = 0; round < 2 && !ret; round++) {
		what = round ? "I/O after an idle reset" : "I/O after the reset";
		if (round)
			ret = uvirtio_blk_q_reset(rq);
		memset(rbuf, 0, 16u * bs);
		/* four at a time: a 32-entry ring without indirect holds ten */
		for (i = 0; i < 16 && !ret; i += 4)
			ret = rw_blocks(rq, true, base + (uint64_t)i * bs,
					wbuf + (size_t)i * bs, bs);
		for (i = 0; i < 16 && !ret; i += 4)
			ret = rw_blocks(rq, false, base + (uint64_t)i * bs,
					rbuf + (size_t)i * bs, bs);
		if (!ret && memcmp(rbuf, wbuf, 16u * bs)) {
			what = "data verify";
			ret = -EILSEQ;
		}
	}
	if (!ret) {
		/* queue 0's writes reached the disk too */
		what = "queue 0 data";
		ret = uvirtio_blk_read(blk, base + 16ull * bs, rbuf, 2u * bs);
		if (!ret && nq > 1 && memcmp(rbuf, obuf, 2u * bs))
			ret = -EILSEQ;
	}
out:
	if (ret)
		diag("%s: ring reset: %s: %s", name, what, strerror(-ret));
	tap(ret == 0, "%s.ring_reset", name);
	if (wbuf)
		uvirtio_blk_free_buf(blk, wbuf);
	if (rbuf)
		uvirtio_blk_free_buf(blk, rbuf);
	if (obuf)
		uvirtio_blk_free_buf(blk, obuf);
}

/*
 * The interrupt mode the queues actually used, and that they were
 * interrupted: a queue that silently polls fails here.
 */
static void check_irqs(const char *name, const struct dev_spec *d, bool poll,
		       struct uvirtio_blk *blk, unsigned int nq)
{
	enum uvirtio_dev_irq_mode m = uvirtio_blk_irq_mode(blk);
	const char *mn = uvirtio_dev_irq_mode_name(m);
	struct uvirtio_blk_q_stats st;
	bool ok = poll ? m == UVIRTIO_DEV_IRQ_POLL :
		  m != UVIRTIO_DEV_IRQ_POLL && (!d->irq[0] || !strcmp(mn, d->irq));
	unsigned int i;

	for (i = 0; i < nq; i++) {
		uvirtio_blk_q_get_stats(uvirtio_blk_get_queue(blk, i), &st);
		diag("%s: queue %u: irq mode %s, %" PRIu64 " interrupts", name,
		     i, mn, st.interrupts);
		if (poll ? st.interrupts != 0 : st.interrupts == 0)
			ok = false;
	}
	if (!ok)
		diag("%s: expected irq mode %s", name,
		     poll ? "poll" : d->irq[0] ? d->irq : "other than poll");
	tap(ok, "%s.irq_mode", name);
}

static void test_blk_mode(const struct dev_spec *d, bool poll, bool legacy)
{
	char name[192];
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_info info;
	struct region reg[8];
	pthread_t th[8];
	uint64_t nblocks;
	unsigned int nq, i;
	uint64_t f;
	char id[21] = { 0 };
	int ret;

	snprintf(name, sizeof(name), "%s.%s%s", d->bdf, legacy ? "legacy." : "",
		 poll ? "poll" : "irq");
	ret = blk_open(d, poll, legacy, &be, &blk);
	if (ret)
		diag("%s: open: %s", name, strerror(-ret));
	tap(ret == 0, "%s.open", name);
	if (ret)
		return;
	uvirtio_blk_get_info(blk, &info);
	f = info.features;
	nq = info.num_queues;
	if (legacy) {
		tap(!(f & (1ull << VIRTIO_F_VERSION_1)) &&
		    uvirtio_dev_is_legacy(uvirtio_blk_device(blk)),
		    "%s.features_legacy", name);
	} else {
		bool ok = !!(f & (1ull << VIRTIO_F_RING_PACKED)) == d->packed &&
			  !!(f & (1ull << VIRTIO_RING_F_EVENT_IDX)) == !d->noevidx &&
			  !!(f & (1ull << VIRTIO_RING_F_INDIRECT_DESC)) == !d->noind &&
			  !!(f & (1ull << VIRTIO_F_VERSION_1)) && nq == d->mq;

		diag("%s: negotiated 0x%" PRIx64 ", %u queue(s)", name, f, nq);
		tap(ok, "%s.features", name);
	}

	ret = uvirtio_blk_get_id(blk, id);
	if (d->serial[0]) {
		diag("%s: device id '%s'", name, id);
		tap(ret == 0 && !strncmp(id, d->serial, 20), "%s.get_id", name);
	}

	nblocks = SPAN_BYTES / info.blk_size;
	if (nblocks * info.blk_size > info.capacity)
		nblocks = info.capacity / info.blk_size;
	memset(reg, 0, sizeof(reg));
	if (nq > 8)
		nq = 8;
	ret = 0;
	for (i = 0; i < nq && !ret; i++) {
		struct region *r = &reg[i];

		r->blk = blk;
		r->q = uvirtio_blk_get_queue(blk, i);
		r->bs = info.blk_size;
		r->first = i * (nblocks / nq);
		r->nblocks = nblocks / nq;
		r->seed = 0x1234 + i * 77 + (poll ? 1000 : 0) + (legacy ? 5000 : 0);
		r->ops = ops_per_queue;
		r->ver = calloc(r->nblocks, sizeof(*r->ver));
		ret = r->ver ? uvirtio_blk_alloc_buf(blk, (size_t)QD * MAX_REQ_BLOCKS * r->bs,
						     (void **)&r->buf) : -ENOMEM;
	}
	if (ret)
		diag("%s: buffers: %s", name, strerror(-ret));
	tap(ret == 0, "%s.alloc_buffers", name);
	if (ret)
		goto out;

	/* Concurrent random writes, one thread per queue, then re-read. */
	for (i = 0; i < nq; i++)
		pthread_create(&th[i], NULL, region_thread, &reg[i]);
	for (i = 0, ret = 0; i < nq; i++) {
		pthread_join(th[i], NULL);
		if (reg[i].err && !ret) {
			ret = reg[i].err;
			diag("%s queue %u: %s", name, i, reg[i].what);
		}
	}
	tap(ret == 0, "%s.random_write_reread", name);
	check_irqs(name, d, poll, blk, nq);

	ret = uvirtio_blk_flush(blk);
	tap(ret == 0 || ret == -ENOTSUP, "%s.flush", name);
	for (i = 0, ret = 0; i < nq && !ret; i++) {
		ret = region_verify(&reg[i]);
		if (ret)
			diag("%s queue %u after flush: %s", name, i, reg[i].what);
	}
	tap(ret == 0, "%s.verify_after_flush", name);

	test_map_mem(name, blk, &info, nblocks * info.blk_size);
	test_ring_reset(name, d, legacy, blk, &info);

	/* Close and re-open: the data must have reached the disk. */
	for (i = 0; i < nq; i++) {
		uvirtio_blk_free_buf(blk, reg[i].buf);
		reg[i].buf = NULL;
	}
	blk_close(be, blk);
	blk = NULL;
	ret = blk_open(d, poll, legacy, &be, &blk);
	if (ret)
		blk = NULL;
	for (i = 0; i < nq && !ret; i++) {
		reg[i].blk = blk;
		reg[i].q = uvirtio_blk_get_queue(blk, 0);
		ret = uvirtio_blk_alloc_buf(blk, (size_t)QD * MAX_REQ_BLOCKS * reg[i].bs,
					    (void **)&reg[i].buf);
		if (ret)
			break;
		ret = region_verify(&reg[i]);
		if (ret)
			diag("%s region %u after re-open: %s", name, i, reg[i].what);
	}
	tap(ret == 0, "%s.verify_after_reopen", name);
out:
	for (i = 0; i < nq; i++)
		if (reg[i].buf && blk)
			uvirtio_blk_free_buf(blk, reg[i].buf);
	if (blk)
		blk_close(be, blk);
	for (i = 0; i < 8; i++)
		free(reg[i].ver);
}

#define BIG_BYTES	(12u << 20)
#define BIG_CHUNK	(1u << 20)
#define SCATTER_N	300	/* iovecs, more than any seg_max here */
#define SCATTER_LEN	2048
#define UV_MIN_U64(a, b)	((uint64_t)(a) < (uint64_t)(b) ? (uint64_t)(a) : (uint64_t)(b))

/*
 * Data buffers past the 4 MiB the page allocator hands out in one piece
 * (no IOMMU: uvirtio_blk_alloc_buf() is then several IOVA runs), and a
 * request in more pieces than seg_max, which the bounce pool must take
 * rather than fail (the max_transfer the library promises).  5 results.
 */
static void test_big_buf(const struct dev_spec *d)
{
	char name[160];
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_info info;
	struct uvirtio_blk_q_stats st0, st1;
	struct iovec iov[SCATTER_N];
	uint8_t *a = NULL, *b = NULL;
	unsigned int runs = 0, i;
	bool translated;
	size_t off;
	int ret;

	snprintf(name, sizeof(name), "%.128s.bigbuf", d->bdf);
	ret = blk_open(d, false, false, &be, &blk);
	if (ret) {
		diag("%s: open: %s", name, strerror(-ret));
		for (i = 0; i < 5; i++)
			tap(false, "%s.open", name);
		return;
	}
	uvirtio_blk_get_info(blk, &info);
	translated = uvirtio_backend_iommu_mode(be) == UVIRTIO_BE_IOMMU_TRANSLATED;
	ret = uvirtio_blk_alloc_buf(blk, BIG_BYTES, (void **)&a);
	if (!ret)
		ret = uvirtio_blk_alloc_buf(blk, BIG_BYTES, (void **)&b);
	if (ret)
		diag("%s: alloc %u MiB: %s", name, BIG_BYTES >> 20, strerror(-ret));
	tap(ret == 0 && info.capacity >= BIG_BYTES, "%s.alloc_12MiB", name);
	if (ret || info.capacity < BIG_BYTES) {
		for (i = 0; i < 4; i++)	/* what could not run */
			tap(false, "%s.unfinished", name);
		goto out;
	}

	/* the runs the device sees: one with an IOMMU, >= 3 without */
	for (off = 0; off < BIG_BYTES; runs++) {
		uint64_t iova;
		int64_t got = uvirtio_backend_translate(be, a + off,
							BIG_BYTES - off, &iova);

		if (got <= 0)
			break;
		off += (size_t)got;
	}
	diag("%s: %u IOVA run(s) (%s), seg_max %u, max_transfer %" PRIu64,
	     name, runs, translated ? "translated" : "no IOMMU", info.seg_max,
	     info.max_transfer);
	tap(off == BIG_BYTES && (translated ? runs == 1 : runs >= 3),
	    "%s.iova_runs", name);

	for (off = 0; off < BIG_BYTES; off++)
		a[off] = (uint8_t)(off * 7 + (off >> 20));
	ret = 0;
	for (off = 0; off < BIG_BYTES && !ret; off += BIG_CHUNK)
		ret = uvirtio_blk_write(blk, off, a + off, BIG_CHUNK);
	for (off = 0; off < BIG_BYTES && !ret; off += BIG_CHUNK)
		ret = uvirtio_blk_read(blk, off, b + off, BIG_CHUNK);
	if (ret)
		diag("%s: I/O at %zu: %s", name, off, strerror(-ret));
	tap(ret == 0 && !memcmp(a, b, BIG_BYTES), "%s.write_read_12MiB", name);

	/*
	 * One request of max_transfer bytes (at most the buffer): it must go
	 * through when its memory is at most seg_max runs, as blk.h says.
	 */
	{
		uint64_t len = UV_MIN_U64(info.max_transfer, BIG_BYTES);
		unsigned int r = 0;

		for (off = 0; off < len; r++) {
			uint64_t iova;
			int64_t got = uvirtio_backend_translate(be, b + off,
								len - off, &iova);

			if (got <= 0)
				break;
			off += (size_t)got;
		}
		memset(b, 0, len);
		ret = uvirtio_blk_read(blk, 0, b, len);
		diag("%s: one read of %" PRIu64 " bytes in %u run(s): %s", name,
		     len, r, ret ? strerror(-ret) : "ok");
		if (r <= info.seg_max)
			tap(ret == 0 && !memcmp(a, b, len), "%s.max_transfer_read",
			    name);
		else	/* more pieces than the device takes, pool too small */
			tap(ret == -E2BIG, "%s.max_transfer_read", name);
	}

	/* 300 pieces of 2 KiB: no seg_max here takes that in one request */
	memset(b, 0, BIG_BYTES);
	for (i = 0; i < SCATTER_N; i++)
		iov[i] = (struct iovec){ b + (size_t)i * 8192, SCATTER_LEN };
	uvirtio_blk_q_get_stats(uvirtio_blk_get_queue(blk, 0), &st0);
	ret = uvirtio_blk_readv(blk, 0, iov, SCATTER_N);
	uvirtio_blk_q_get_stats(uvirtio_blk_get_queue(blk, 0), &st1);
	for (i = 0; !ret && i < SCATTER_N; i++)
		if (memcmp(b + (size_t)i * 8192, a + (size_t)i * SCATTER_LEN,
			   SCATTER_LEN))
			ret = -EILSEQ;
	if (ret)
		diag("%s: %u-piece readv: %s", name, SCATTER_N, strerror(-ret));
	tap(ret == 0 && st1.bounced_requests == st0.bounced_requests + 1 &&
	    info.seg_max < SCATTER_N, "%s.scattered_read_bounced", name);
out:
	if (a)
		uvirtio_blk_free_buf(blk, a);
	if (b)
		uvirtio_blk_free_buf(blk, b);
	blk_close(be, blk);
}

static void test_rng(const struct dev_spec *d, bool legacy)
{
	enum uvirtio_transport_kind t = legacy ? UVIRTIO_TRANSPORT_LEGACY :
						 UVIRTIO_TRANSPORT_AUTO;
	struct uvirtio_backend *be;
	struct uvirtio_rng *rng;
	uint8_t a[64], b[64], zero[64] = { 0 };
	int ret;

	ret = uvirtio_backend_open(d->bdf, NULL, &be);
	if (!ret) {
		ret = uvirtio_rng_open(be, t, &rng);
		if (ret)
			uvirtio_backend_close(be);
	}
	if (ret)
		diag("%s: rng open: %s", d->bdf, strerror(-ret));
	tap(ret == 0, "%s.%srng.open", d->bdf, legacy ? "legacy." : "");
	if (ret)
		return;
	ret = (int)uvirtio_rng_read(rng, a, sizeof(a));
	if (ret >= 0)
		ret = (int)uvirtio_rng_read(rng, b, sizeof(b));
	tap(ret == (int)sizeof(b) && memcmp(a, zero, 64) && memcmp(a, b, 64),
	    "%s.%srng.read_differs", d->bdf, legacy ? "legacy." : "");
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
}

/* Results one device reports between its bind and give-back lines. */
static int device_plan(const struct dev_spec *d)
{
	if (!strcmp(d->kind, "blk"))
		return (d->legacy ? 3 : 2) * (10 + (d->serial[0] ? 1 : 0)) +
		       (d->bigbuf ? 5 : 0);
	return (d->legacy ? 2 : 1) * 2;
}

int main(int argc, char **argv)
{
	struct dev_spec devs[MAX_DEVS];
	int n = 0, i;
	int planned = 0;

	char *env = getenv("UVIRTIO_VM_DEVICES"), *tok, *save = NULL;
	const char *iommu = getenv("UVIRTIO_IOMMU");
	const char *unsafe = "/sys/module/uvirtio/parameters/allow_unsafe_noiommu";

	setvbuf(stdout, NULL, _IOLBF, 0);
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED)
		return 1;
	if (getenv("UVIRTIO_VM_TEST_TIMEOUT"))
		device_timeout = (unsigned int)strtoul(getenv("UVIRTIO_VM_TEST_TIMEOUT"), NULL, 0);
	if (getenv("UVIRTIO_VM_TEST_OPS"))
		ops_per_queue = (unsigned int)strtoul(getenv("UVIRTIO_VM_TEST_OPS"), NULL, 0);
	for (i = 1; i < argc && n < MAX_DEVS; i++) {
		if (parse_spec(argv[i], &devs[n])) {
			fprintf(stderr, "vm_test: bad device spec '%s'\n", argv[i]);
			return 2;
		}
		n++;
	}
	/* Without arguments, the VM runner's list of devices. */
	for (tok = argc > 1 || !env ? NULL : strtok_r(env, " ", &save);
	     tok && n < MAX_DEVS; tok = strtok_r(NULL, " ", &save)) {
		if (parse_spec(tok, &devs[n])) {
			fprintf(stderr, "vm_test: bad device spec '%s'\n", tok);
			return 2;
		}
		n++;
	}
	/* No IOMMU in this VM: DMA needs the module's (tainting) opt-in. */
	if (iommu && !strcmp(iommu, "off") && write_file(unsafe, "1"))
		diag("cannot enable allow_unsafe_noiommu");
	for (i = 0; i < n; i++)	/* + bind, give back for PCI functions */
		planned += device_plan(&devs[i]) + (devs[i].pci ? 2 : 0);
	printf("KTAP version 1\n1..%d\n", planned);
	for (i = 0; i < n; i++) {
		struct dev_spec *d = &devs[i];
		int first = test_no, status = 0, left;
		pid_t pid;

		if (d->pci)
			tap(rebind(d->bdf, "uvirtio") == 0,
			    "%s.bind_to_uvirtio", d->bdf);
		pid = fork();
		if (pid == 0) {
			if (!strcmp(d->kind, "blk")) {
				test_blk_mode(d, false, false);
				test_blk_mode(d, true, false);
				if (d->legacy)
					test_blk_mode(d, false, true);
				if (d->bigbuf)
					test_big_buf(d);
			} else {
				test_rng(d, false);
				if (d->legacy)
					test_rng(d, true);
			}
			_exit(0);
		}
		for (left = (int)device_timeout * 10; pid > 0 && left > 0; left--) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			poll(NULL, 0, 100);
		}
		if (pid > 0 && left == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			diag("%s: no progress for %u s, killed", d->bdf, device_timeout);
		}
		if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			diag("%s: test process %s", d->bdf, pid < 0 ? "not started" :
			     left == 0 ? "timed out" : "died");
			/* Account for what the child did not get to report. */
			while (test_no - first < device_plan(d))
				tap(false, "%s.unfinished", d->bdf);
		}
		if (d->pci)
			tap(rebind(d->bdf, "") == 0, "%s.give_back", d->bdf);
	}
	if (iommu && !strcmp(iommu, "off"))
		write_file(unsafe, "0");
	if (test_no != planned)
		diag("planned %d, ran %d", planned, test_no);
	return failures ? 1 : 0;
}
