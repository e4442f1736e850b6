// SPDX-License-Identifier: BSD-3-Clause
/*
 * vfio_vm_test - what libuvirtio_vm_test does not reach in the VFIO
 * backend, on a virtio-blk function bound to vfio-pci (in the VM, from
 * scripts/guest/vfio-tests):
 *
 *   vfio_vm_test [--cdev] BDF
 *
 * --cdev opens it through the VFIO cdev and iommufd
 * (UVIRTIO_VFIO_CDEV) instead of the type1 container.
 *
 *  - interrupts: a completion signals the queue's eventfd; with the
 *    vectors masked it does not; unmasking signals it (nothing is lost)
 *    and later completions interrupt again;
 *  - irq_mask/irq_eventfd reject vectors out of range;
 *  - dma_map of unaligned caller memory keeps the page offset, a second
 *    unmap fails with -ENOENT;
 *  - reset answers 0 or -EOPNOTSUPP;
 *  - removal: an unbind from vfio-pci while the device is open makes the
 *    remove fd readable, and the unbind completes once the device is
 *    closed.  The function is left without a driver (driver_override
 *    still vfio-pci); the caller reprobes it.
 *
 * Prints KTAP.  Exit status 1 on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uvirtio/uvirtio.h>

#define PLAN 15

static int num, failed;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++num);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		failed++;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* Queue one read and submit it.  Return: 0 or negative errno. */
static int start_read(struct uvirtio_blk_queue *q, void *buf)
{
	int ret = uvirtio_blk_q_read(q, 0, buf, 4096, buf);

	return ret ? ret : uvirtio_blk_q_submit(q);
}

static int reap_one(struct uvirtio_blk_queue *q)
{
	struct uvirtio_blk_completion c;
	struct timespec to = { .tv_sec = 10 };
	int n = uvirtio_blk_q_reap(q, 1, 1, &c, &to);

	return n == 1 ? c.ret : n < 0 ? n : -ETIMEDOUT;
}

static void set_mask(struct uvirtio_backend *be, int nvec, bool mask,
		     int *err)
{
	int v;

	/* vector 0 is the config interrupt; the queue has one of the rest */
	for (v = 1; v < nvec; v++) {
		int r = uvirtio_backend_irq_mask(be, (unsigned int)v, mask);

		if (r && !*err)
			*err = r;
	}
}

static void test_irqs(struct uvirtio_backend *be)
{
	struct uvirtio_blk *blk = NULL;
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_params bp = { .num_queues = 1 };
	int nvec = uvirtio_backend_num_vectors(be), fd, ret, err = 0;
	void *buf = NULL;

	tap(nvec >= 2, "msix_vectors # %d", nvec);
	ret = uvirtio_blk_open(be, &bp, &blk);
	tap(!ret, "blk_open # %d", ret);
	if (ret)
		goto skip;
	q = uvirtio_blk_get_queue(blk, 0);
	fd = q ? uvirtio_blk_q_fd(q) : -EINVAL;
	ret = uvirtio_blk_alloc_buf(blk, 4096, &buf);
	tap(fd >= 0 && !ret, "interrupt_mode_queue # fd %d", fd);
	if (fd < 0 || ret)
		goto skip_open;

	drain(fd);
	ret = start_read(q, buf);
	tap(!ret && readable(fd, 10000) && reap_one(q) == 0,
	    "completion_interrupts");

	drain(fd);
	set_mask(be, nvec, true, &err);
	ret = start_read(q, buf);
	/* the device completes within ms; the eventfd must stay quiet */
	tap(!err && !ret && !readable(fd, 1500), "masked_no_interrupt # %d %d",
	    err, ret);
	set_mask(be, nvec, false, &err);
	tap(!err && readable(fd, 1000) && reap_one(q) == 0,
	    "unmask_signals_pending # %d", err);

	drain(fd);
	ret = start_read(q, buf);
	tap(!ret && readable(fd, 10000) && reap_one(q) == 0,
	    "interrupts_after_unmask");
	uvirtio_blk_free_buf(blk, buf);
	uvirtio_blk_close(blk);
	return;
skip_open:
	uvirtio_blk_close(blk);
skip:
	while (num < 8)
		tap(false, "irq_unfinished");
}

static void test_misc(struct uvirtio_backend *be)
{
	int nvec = uvirtio_backend_num_vectors(be), r1, r2, ret;
	static char mem[3 * 4096] __attribute__((aligned(4096)));
	uint64_t iova = 0;
	int64_t n;

	r1 = uvirtio_backend_irq_mask(be, (unsigned int)nvec, true);
	r2 = uvirtio_backend_irq_eventfd(be, (unsigned int)nvec + 5, -1);
	tap(r1 == -EINVAL && r2 == -EINVAL, "vector_out_of_range # %d %d",
	    r1, r2);

	ret = uvirtio_backend_dma_map(be, mem + 100, 5000);
	n = ret ? 0 : uvirtio_backend_translate(be, mem + 100, 5000, &iova);
	tap(!ret && n == 5000 && (iova & 4095) == 100,
	    "dma_map_unaligned # ret %d len %lld iova 0x%llx", ret,
	    (long long)n, (unsigned long long)iova);
	r1 = uvirtio_backend_dma_unmap(be, mem + 100);
	r2 = uvirtio_backend_dma_unmap(be, mem + 100);
	tap(!r1 && r2 == -ENOENT, "dma_unmap_twice # %d %d", r1, r2);

	ret = uvirtio_backend_reset(be);
	tap(ret == 0 || ret == -EOPNOTSUPP, "reset # %d (%s)", ret,
	    ret ? "no reset method" : "done");
	tap(uvirtio_backend_remove_fd(be) >= 0 && !uvirtio_backend_removed(be),
	    "remove_fd_quiet");
}

struct unbind_arg {
	const char *bdf;
	int ret;
};

/*
 * A thread, not a child process: a child would inherit the device fd,
 * and the kernel's unbind would wait for it forever.
 */
static void *unbind_thread(void *p)
{
	struct unbind_arg *a = p;
	int u = open("/sys/bus/pci/drivers/vfio-pci/unbind",
		     O_WRONLY | O_CLOEXEC);

	/* blocks until the device is closed */
	a->ret = u < 0 || write(u, a->bdf, strlen(a->bdf)) < 0 ? -errno : 0;
	if (u >= 0)
		close(u);
	return NULL;
}

/* Unbind from vfio-pci while open: the kernel asks for the device. */
static void test_removal(struct uvirtio_backend *be, const char *bdf)
{
	struct unbind_arg a = { .bdf = bdf, .ret = -EINPROGRESS };
	int fd = uvirtio_backend_remove_fd(be);
	pthread_t t;
	bool seen, started;

	started = !pthread_create(&t, NULL, unbind_thread, &a);
	seen = fd >= 0 && readable(fd, 20000) && uvirtio_backend_removed(be);
	tap(started && seen, "unbind_signals_remove_fd # fd %d", fd);
	uvirtio_backend_close(be);
	if (started)
		pthread_join(t, NULL);
	tap(started && a.ret == 0, "unbind_completes_after_close # %d", a.ret);
}

int main(int argc, char **argv)
{
	struct uvirtio_backend *be;
	bool cdev = argc == 3 && !strcmp(argv[1], "--cdev");
	const char *bdf = argv[argc - 1];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 && !cdev) {
		fprintf(stderr, "usage: vfio_vm_test [--cdev] BDF\n");
		return 2;
	}
	printf("KTAP version 1\n1..%d\n", PLAN);
	ret = uvirtio_vfio_open_flow(bdf, cdev ? UVIRTIO_VFIO_CDEV :
					   UVIRTIO_VFIO_TYPE1, &be);
	tap(!ret, "open_%s # %d", cdev ? "cdev" : "type1", ret);
	if (ret) {
		while (num < PLAN)
			tap(false, "not_opened");
		return 1;
	}
	test_irqs(be);
	test_misc(be);
	test_removal(be, bdf);
	if (num != PLAN)
		printf("# planned %d, ran %d\n", PLAN, num);
	return failed || num != PLAN ? 1 : 0;
}
