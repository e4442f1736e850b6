// SPDX-License-Identifier: BSD-3-Clause
/*
 * rng.c - virtio-rng driver (one polled queue, 4 KiB bounce buffer).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include <uvirtio/rng.h>
#include <uvirtio/virtqueue.h>

#include "util.h"

#define RNG_BUF		4096
#define RNG_TIMEOUT_NS	(5ll * 1000 * 1000 * 1000)

struct uvirtio_rng {
	struct uvirtio_dev *dev;
	struct uvirtq *vq;
	struct uvirtio_dma buf;
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

UV_EXPORT ssize_t uvirtio_rng_read(struct uvirtio_rng *rng, void *buf,
				   size_t len)
{
	int64_t deadline = mono_ns() + RNG_TIMEOUT_NS;
	uint8_t *dst = buf;
	size_t done = 0;
	int ret;

	if (!buf && len)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (done < len) {
		struct uvirtq_buf b = { rng->buf.iova,
					(uint32_t)UV_MIN(len - done,
							 (size_t)RNG_BUF) };
		unsigned int spins = 0;
		void *cookie;
		uint32_t got;

		ret = uvirtq_add(rng->vq, NULL, 0, &b, 1, rng);
		if (ret)
			return ret;
		ret = uvirtq_kick(rng->vq);
		if (ret < 0)
			return ret;
		for (;;) {
			ret = uvirtq_get_used(rng->vq, &cookie, &got);
			if (ret < 0)
				return ret;
			if (ret == 1)
				break;
			if (!(++spins & 255)) {
				ret = uvirtio_dev_check_status(rng->dev);
				if (ret)
					return ret;
				if (mono_ns() > deadline)
					return -ETIMEDOUT;
				sched_yield();
			}
		}
		/* got <= b.len was validated by the virtqueue layer. */
		memcpy(dst + done, rng->buf.vaddr, got);
		done += got;
		if (got)
			deadline = mono_ns() + RNG_TIMEOUT_NS;
		else if (mono_ns() > deadline)
			return -ETIMEDOUT;
	}
	return (ssize_t)done;
}
