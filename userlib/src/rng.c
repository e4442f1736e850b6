// SPDX-License-Identifier: BSD-3-Clause
/*
 * rng.c - virtio-rng driver: one queue, a 4 KiB DMA buffer the device
 * fills, and an interrupt-driven wait when the device has a vector for the
 * queue (polling otherwise).  One request is out at a time; a wait that
 * times out leaves it out, and the next read takes up where it stopped.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include <uvirtio/rng.h>
#include <uvirtio/virtqueue.h>

#include "util.h"

#define RNG_BUF		4096
#define RNG_TIMEOUT_MS	5000

struct uvirtio_rng {
	struct uvirtio_dev *dev;
	struct uvirtq *vq;
	struct uvirtio_dma buf;
	bool inflight;		/* the request is with the device */
	uint32_t want;		/* its length */
};

UV_EXPORT int uvirtio_rng_open(struct uvirtio_backend *be,
			       enum uvirtio_transport_kind transport,
			       struct uvirtio_rng **out)
{
	struct uvirtio_dev_params dp = {
		.transport = transport,
		.device_type = VIRTIO_ID_RNG,
	};
	struct uvirtq_params vp = { .size = 0, .cpu = -1 };
	struct uvirtio_rng *rng;
	int ret;


	if (!be || !out)
		return -EINVAL;
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	ret = uvirtio_dev_open(be, &dp, &rng->dev);
	if (ret)
		goto err_free;
	/* any interrupt the device has: sleep instead of spinning */
	ret = uvirtio_dev_set_irq_queues(rng->dev, 1);
	if (ret < 0)
		goto err_dev;
	vp.use_interrupts = ret != UVIRTIO_DEV_IRQ_POLL;
	ret = uvirtq_create(rng->dev, 0, &vp, &rng->vq);
	if (ret)
		goto err_dev;
	ret = uvirtio_backend_dma_alloc(be, RNG_BUF, &rng->buf);
	if (ret)
		goto err_dev;
	ret = uvirtio_dev_driver_ok(rng->dev);
	if (ret)
		goto err_dev;
	*out = rng;
	return 0;
err_dev:
	uvirtio_dev_close(rng->dev);
	uvirtq_destroy(rng->vq);
	uvirtio_backend_dma_free(be, &rng->buf);
err_free:
	free(rng);
	return ret;
}

UV_EXPORT void uvirtio_rng_close(struct uvirtio_rng *rng)
{
	struct uvirtio_backend *be;

	if (!rng)
		return;
	be = uvirtio_dev_backend(rng->dev);
	uvirtio_dev_close(rng->dev);
	uvirtq_destroy(rng->vq);
	uvirtio_backend_dma_free(be, &rng->buf);
	free(rng);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/*
 * Wait until the request completes or @deadline passes: on the eventfd
 * with the device's removal fd beside it, or by polling with a status
 * check every 256 spins.  Return: 1 with *@got, 0 on timeout, or -errno.
 */
static int wait_used(struct uvirtio_rng *rng, int64_t deadline,
		     uint32_t *got)
{
	int qfd = uvirtq_eventfd(rng->vq);
	int rfd = uvirtio_backend_remove_fd(uvirtio_dev_backend(rng->dev));
	int lfd = uvirtio_dev_irq_fd(rng->dev);
	unsigned int spins = 0;
	void *cookie;
	uint64_t v;
	int ret;

	for (;;) {
		ret = uvirtq_get_used(rng->vq, &cookie, got);
		if (ret)
			return ret;
		if (qfd < 0) {
			if (!(++spins & 255)) {
				ret = uvirtio_dev_check_status(rng->dev);
				if (ret)
					return ret;
				if (mono_ns() > deadline)
					return 0;
				sched_yield();
			}
			continue;
		}
		/* arm, re-check (no lost wakeup), then sleep */
		ret = uvirtq_enable_cb(rng->vq);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			struct pollfd pfd[3] = {
				{ .fd = qfd, .events = POLLIN },
				{ .fd = rfd, .events = POLLIN },
				{ .fd = lfd, .events = POLLIN },
			};
			int64_t left = deadline - mono_ns();

			if (left <= 0)
				return 0;
			ret = poll(pfd, 3, (int)UV_MIN(left / 1000000 + 1,
						       (int64_t)INT32_MAX));
			if (ret < 0 && errno != EINTR)
				return -errno;
			/* a shared line signals the queue's own eventfd */
			if (ret > 0 && (pfd[2].revents & POLLIN)) {
				int r = uvirtio_dev_irq_service(rng->dev);

				if (r < 0)
					return r;
				pfd[0].revents |= POLLIN;
			}
			if (ret > 0 && (pfd[0].revents & POLLIN) &&
			    read(qfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
		}
		ret = uvirtio_dev_check_status(rng->dev);
		if (ret)
			return ret;
	}
}

UV_EXPORT ssize_t uvirtio_rng_read_some(struct uvirtio_rng *rng, void *buf,
					size_t len, int timeout_ms)
{
	int64_t deadline;
	uint32_t got = 0;
	int ret;

	if (!rng || (!buf && len) || timeout_ms < 0)
		return -EINVAL;
	if (!len)
		return 0;
	deadline = mono_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		if (!rng->inflight) {
			struct uvirtq_buf b = {
				rng->buf.iova,
				(uint32_t)UV_MIN(len, (size_t)RNG_BUF),
			};

			ret = uvirtq_add(rng->vq, NULL, 0, &b, 1, rng);
			if (ret)
				return ret;
			ret = uvirtq_kick(rng->vq);
			if (ret < 0)
				return ret;
			rng->inflight = true;
			rng->want = b.len;
		}
		ret = wait_used(rng, deadline, &got);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -ETIMEDOUT;	/* still out: the next call waits on */
		rng->inflight = false;
		/* got <= want was validated by the virtqueue layer */
		got = (uint32_t)UV_MIN((size_t)got, len);
		if (got) {
			memcpy(buf, rng->buf.vaddr, got);
			return got;
		}
		/* a device may return nothing: ask again until the deadline */
		if (mono_ns() > deadline)
			return -ETIMEDOUT;
	}
}

UV_EXPORT ssize_t uvirtio_rng_read(struct uvirtio_rng *rng, void *buf,
				   size_t len)
{
	uint8_t *dst = buf;
	size_t done = 0;
	ssize_t n;

	if (!rng || (!buf && len))
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (done < len) {
		/* the timeout counts from the last progress */
		n = uvirtio_rng_read_some(rng, dst + done, len - done,
					  RNG_TIMEOUT_MS);
		if (n < 0)
			return n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}
