// SPDX-License-Identifier: BSD-3-Clause
/*
 * mmio_irq - the wired interrupt of a virtio-mmio device, end to end, in
 * the test VM (scripts/guest/mmio-tests).
 *
 *   mmio_irq NAME
 *
 * NAME is a virtio-rng platform device bound to uvirtio; the module must
 * allow DMA (allow_unsafe_noiommu=1).  The library polls MMIO queues (one
 * vector for everything), so this asks for the interrupt by hand: one
 * buffer with callbacks enabled, and vector 0's eventfd must fire, which
 * it does only if the module's handler read InterruptStatus, acknowledged
 * it and signalled.  Prints one line; exit status 0 on success.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>

static int fail(const char *what, int err)
{
	printf("mmio_irq: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(int argc, char **argv)
{
	struct uvirtio_dev_params dp = { .device_type = VIRTIO_ID_RNG };
	struct uvirtq_params vp = { .size = 8, .cpu = -1 };
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma buf;
	struct uvirtq_buf b;
	struct uvirtq *vq;
	struct pollfd pfd;
	uint64_t n = 0;
	uint32_t len = 0;
	void *cookie = NULL;
	int ret, efd;

	if (argc != 2) {
		fprintf(stderr, "usage: mmio_irq NAME\n");
		return 2;
	}
	ret = uvirtio_kmod_open_mmio(argv[1], NULL, &be);
	if (ret)
		return fail("open", ret);
	ret = uvirtio_dev_open(be, &dp, &dev);
	if (ret)
		return fail("virtio init", ret);
	if (uvirtio_dev_num_vectors(dev) != 1)
		return fail("expected one vector", EINVAL);
	ret = uvirtq_create(dev, 0, &vp, &vq);
	if (ret)
		return fail("queue", ret);
	ret = uvirtio_dev_driver_ok(dev);
	if (ret)
		return fail("DRIVER_OK", ret);
	efd = uvirtio_backend_irq_eventfd(be, 0, -1);
	if (efd < 0)
		return fail("vector 0 eventfd", efd);
	ret = uvirtio_backend_dma_alloc(be, 4096, &buf);
	if (ret)
		return fail("DMA buffer", ret);
	ret = uvirtq_enable_cb(vq);
	if (ret < 0)
		return fail("enable callbacks", ret);
	b = (struct uvirtq_buf){ buf.iova, 64 };
	ret = uvirtq_add(vq, NULL, 0, &b, 1, &buf);
	if (ret)
		return fail("add", ret);
	uvirtq_kick(vq);
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ret = poll(&pfd, 1, 10000);
	if (ret != 1)
		return fail("no interrupt within 10 s", ETIMEDOUT);
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return fail("eventfd read", errno);
	ret = uvirtq_get_used(vq, &cookie, &len);
	if (ret < 0 || cookie != &buf || !len)
		return fail("no completion after the interrupt", ret < 0 ? ret : EIO);
	printf("mmio_irq: interrupt delivered (eventfd count %llu), %u bytes\n",
	       (unsigned long long)n, len);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &buf);
	uvirtio_backend_close(be);
	return 0;
}
