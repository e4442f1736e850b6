// SPDX-License-Identifier: BSD-3-Clause
/*
 * blk_rw - write a pattern to a virtio-blk device, flush, read it back,
 * verify, and report IOPS.
 *
 *   blk_rw DEVICE [-n requests] [-b block-size] [-q depth]
 *   blk_rw --fake       [...]   (in-process fake device)
 *   blk_rw --fake-no-flush ...  (the same without a write cache: no FLUSH)
 *
 * DEVICE is a device string (uvirtio/open.h): 0000:00:04.0,
 * vhost-user:/run/blk.sock, ...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 12));
}

/* Run @n requests of @bs bytes, @depth in flight; @write selects the op. */
static int run(struct uvirtio_blk_queue *q, bool write, uint8_t *buf,
	       unsigned int n, size_t bs, unsigned int depth, uint64_t span)
{
	struct uvirtio_blk_completion comp[64];
	unsigned int sub = 0, done = 0;
	int r, k;

	while (done < n) {
		while (sub < n && sub - done < depth) {
			uint64_t off = ((uint64_t)sub * bs) % span;
			uint8_t *p = buf + (size_t)(sub % depth) * bs;

			r = write ? uvirtio_blk_q_write(q, off, p, bs, NULL) :
				    uvirtio_blk_q_read(q, off, p, bs, NULL);
			if (r == -EAGAIN)
				break;
			if (r)
				return r;
			sub++;
		}
		r = uvirtio_blk_q_reap(q, 1, 64, comp, NULL);
		if (r < 0)
			return r;
		for (k = 0; k < r; k++)
			if (comp[k].ret)
				return comp[k].ret;
		done += (unsigned int)r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	unsigned int n = 10000, depth = 16, i;
	size_t bs = 4096;
	struct uvirtio_backend *be;
	struct uvirtio_fake *fake = NULL;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_info info;
	struct uvirtio_blk_queue *q;
	uint8_t *buf, *vbuf;
	uint64_t span, blocks;
	double t0, t1;
	int r;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < (unsigned int)argc)
			n = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-b") && i + 1 < (unsigned int)argc)
			bs = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-q") && i + 1 < (unsigned int)argc)
			depth = (unsigned int)strtoul(argv[++i], NULL, 0);
		else
			addr = argv[i];
	}
	if (!addr || !bs || !n || !depth || depth > 64) {
		fprintf(stderr,
			"usage: %s DEVICE|--fake|--fake-no-flush [-n N] [-b BS] [-q DEPTH<=64]\n",
			argv[0]);
		return 2;
	}
	if (!strcmp(addr, "--fake") || !strcmp(addr, "--fake-no-flush")) {
		struct uvirtio_fake_config c;

		uvirtio_fake_default_config(&c, VIRTIO_ID_BLOCK);
		c.queue_size = 128;
		if (!strcmp(addr, "--fake-no-flush"))
			c.features &= ~(1ull << VIRTIO_BLK_F_FLUSH);
		r = uvirtio_fake_create(&c, &fake, &be);
	} else {
		r = uvirtio_backend_open(addr, NULL, &be);
	}
	if (r) {
		fprintf(stderr, "open %s: %s\n", addr, strerror(-r));
		return 1;
	}
	r = uvirtio_blk_open(be, NULL, &blk);
	if (r) {
		fprintf(stderr, "virtio-blk init: %s\n", strerror(-r));
		uvirtio_backend_close(be);
		return 1;
	}
	uvirtio_blk_get_info(blk, &info);
	printf("capacity %llu bytes, blk_size %u, seg_max %u, size_max %u, queues %u\n",
	       (unsigned long long)info.capacity, info.blk_size, info.seg_max,
	       info.size_max, info.num_queues);
	span = info.capacity < (64ull << 20) ? info.capacity : (64ull << 20);
	span -= span % bs;
	if (bs % info.blk_size || span < bs * depth) {
		fprintf(stderr, "bad block size / device too small\n");
		r = -EINVAL;
		goto out;
	}
	blocks = span / bs;
	q = uvirtio_blk_get_queue(blk, 0);
	r = uvirtio_blk_alloc_buf(blk, bs * depth, (void **)&buf);
	if (!r)
		r = uvirtio_blk_alloc_buf(blk, bs, (void **)&vbuf);
	if (r)
		goto out;
	fill(buf, bs * depth, 1);
	t0 = now();
	r = run(q, true, buf, n, bs, depth, span);
	/* a disk without a volatile write cache (write-cache=off) has no FLUSH */
	if (!r && info.flush)
		r = uvirtio_blk_flush(blk);
	t1 = now();
	if (r)
		goto out;
	printf("write: %u x %zu B in %.3f s = %.0f IOPS\n", n, bs, t1 - t0,
	       n / (t1 - t0));
	t0 = now();
	r = run(q, false, buf, n, bs, depth, span);
	t1 = now();
	if (r)
		goto out;
	printf("read:  %u x %zu B in %.3f s = %.0f IOPS\n", n, bs, t1 - t0,
	       n / (t1 - t0));
	/* Block k holds buffer slot (last % depth), last = last write to k. */
	fill(buf, bs * depth, 1);
	for (i = 0; i < n && i < blocks; i++) {
		unsigned int last = i + (unsigned int)(((n - 1 - i) / blocks) *
						       blocks);

		r = uvirtio_blk_read(blk, (uint64_t)i * bs, vbuf, bs);
		if (r)
			goto out;
		if (memcmp(vbuf, buf + (size_t)(last % depth) * bs, bs)) {
			fprintf(stderr, "verify mismatch at block %u\n", i);
			r = -EIO;
			goto out;
		}
	}
	printf("verify: ok\n");
out:
	if (r)
		fprintf(stderr, "error: %s\n", strerror(-r));
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	(void)fake;
	return r ? 1 : 0;
}
