// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_blk.c - libuvirtio unit tests of the virtio-blk driver: the ring/feature matrix, queue and
 * segment limits, the bounce pool, every command, several queues.
 * Part of test_runner (test_main.c), on the fake device.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

#include "unit.h"

static int blk_combo(enum uvirtio_fake_layout layout, bool packed,
		     bool indirect, bool evidx, bool poll, int transport)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { 0 };
	struct uvirtio_fake_stats st;
	struct env e;
	int ret;

	blkcfg(&c);
	c.layout = layout;
	c.queue_size = 16;
	c.reverse_completion = true;
	if (packed)
		c.features |= F(RING_PACKED);
	p.packed = packed;
	p.no_indirect = !indirect;
	p.no_event_idx = !evidx;
	p.poll = poll;
	p.transport = transport;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_dev_is_legacy(uvirtio_blk_device(e.blk)),
		 layout == UVIRTIO_FAKE_LEGACY ||
		 transport == UVIRTIO_TRANSPORT_LEGACY);
	ret = rw_workload(&e, 100, 4096);
	if (ret) {
		fprintf(stderr, "  combo layout=%d packed=%d ind=%d ev=%d poll=%d\n",
			layout, packed, indirect, evidx, poll);
		return ret;
	}
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(!!(st.driver_features & F(RING_PACKED)), packed);
	CHECK_EQ(!!(st.driver_features & RING_F(INDIRECT_DESC)), indirect);
	CHECK_EQ(!!(st.driver_features & RING_F(EVENT_IDX)), evidx);
	CHECK_EQ(st.indirect_used > 0, indirect);
	if (poll)
		CHECK_EQ(st.interrupts, 0);	/* suppression honoured */
	else
		CHECK(st.interrupts > 0);
	CHECK_EQ(st.device_errors, 0);
	env_close(&e);
	return PASS;
}

static int t_blk_matrix(void)
{
	int m, layout, ret;

	for (layout = 0; layout < 3; layout++) {
		for (m = 0; m < 16; m++) {
			bool packed = m & 1, ind = m & 2, ev = m & 4,
			     poll = m & 8;

			if (packed && layout == UVIRTIO_FAKE_LEGACY)
				continue;
			ret = blk_combo(layout, packed, ind, ev, poll,
					UVIRTIO_TRANSPORT_AUTO);
			if (ret)
				return ret;
		}
	}
	/* transitional device driven through its legacy BAR */
	return blk_combo(UVIRTIO_FAKE_TRANSITIONAL, false, true, true, false,
			 UVIRTIO_TRANSPORT_LEGACY);
}

/*
 * A ring too small for header + data + status (size 1 or 2, no indirect)
 * must be refused at open.  Before the fix the chain budget
 * "max_bufs - 2" wrapped around, the data segment limit stayed at 253
 * and a single read overflowed the per-queue buffer array (found by
 * fuzz/fuzz_blk.c).
 */
static int t_blk_tiny_queue(void)
{
	struct uvirtio_blk_params p = { .no_indirect = true, .poll = true };
	struct uvirtio_fake_config c;
	uint16_t sizes[] = { 1, 2 };
	unsigned int i;
	struct env e;
	void *buf;
	int ret;

	for (i = 0; i < 2; i++) {
		blkcfg(&c);
		c.queue_size = sizes[i];
		ret = env_open(&e, &c, &p);
		if (ret == 0) {
			/* Old behaviour: show the overflow under ASan. */
			if (!uvirtio_blk_alloc_buf(e.blk, 4096, &buf))
				uvirtio_blk_read(e.blk, 0, buf, 512);
			env_close(&e);
		}
		CHECK_EQ(ret, -ENODEV);
	}
	/* Size 4 carries hdr + 2 data segments + status. */
	blkcfg(&c);
	c.queue_size = 4;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, &buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);
	env_close(&e);
	return PASS;
}

/*
 * The chain, indirect entries included, never exceeds the queue size: on
 * an 8-entry queue a request has at most 6 data segments (header and
 * status take two), and one of that many scattered segments goes through.
 */
static int t_blk_chain_limit(void)
{
	struct uvirtio_blk_info info;
	struct uvirtio_fake_config c;
	struct iovec iov[6];
	uint8_t *buf;
	struct env e;
	int i;

	blkcfg(&c);
	c.queue_size = 8;
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK(info.seg_max >= 1 && info.seg_max <= 6);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 12 * 4096, (void **)&buf), 0);
	/* every other page: segments that cannot merge */
	for (i = 0; i < (int)info.seg_max; i++)
		iov[i] = (struct iovec){ buf + (size_t)i * 2 * 4096, 512 };
	CHECK_EQ(uvirtio_blk_readv(e.blk, 0, iov, (int)info.seg_max), 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

static int t_blk_iov_limits(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_q_stats qs0, qs1;
	struct iovec iov[40];
	uint8_t *buf = aligned_alloc(4096, 64 * 4096), *chk;
	struct env e;
	int i;

	blkcfg(&c);
	c.map_seg_size = 4096;		/* every page its own IOVA run */
	c.size_max = 2048;		/* split pages into 2 descriptors */
	c.seg_max = 16;
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	CHECK_EQ(uvirtio_blk_map_mem(e.blk, buf, 64 * 4096), 0);
	pattern(buf, 8 * 4096, 9);
	/* 8 pages, 2 descriptors each = 16 = seg_max: accepted */
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 8 * 4096), 0);
	/* 9 pages need 18 descriptors > seg_max: -EINVAL, device untouched */
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 9 * 4096), -EINVAL);
	/* unaligned buffer start across pages: 512 bytes at page end */
	for (i = 0; i < 8; i++) {
		iov[i].iov_base = buf + 16 * 4096 + i * 4096 + 3584;
		iov[i].iov_len = 512;
	}
	CHECK_EQ(uvirtio_blk_readv(e.blk, 0, iov, 8), 0);
	for (i = 0; i < 8; i++)
		CHECK(memcmp(iov[i].iov_base, buf + i * 512, 512) == 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.device_errors, 0);
	CHECK(st.max_chain <= 18);
	/*
	 * 20 registered pieces > seg_max: the bounce pool takes the request
	 * (one run, 5 descriptors at size_max) instead of failing it.
	 */
	for (i = 0; i < 20; i++)
		iov[i] = (struct iovec){ buf + 24 * 4096 + i * 2048, 512 };
	uvirtio_blk_q_get_stats(uvirtio_blk_get_queue(e.blk, 0), &qs0);
	CHECK_EQ(uvirtio_blk_readv(e.blk, 0, iov, 20), 0);
	uvirtio_blk_q_get_stats(uvirtio_blk_get_queue(e.blk, 0), &qs1);
	CHECK_EQ(qs1.bounced_requests, qs0.bounced_requests + 1);
	for (i = 0; i < 20; i++)
		CHECK(memcmp(iov[i].iov_base, buf + i * 512, 512) == 0);
	/* argument checks */
	CHECK_EQ(uvirtio_blk_read(e.blk, 100, buf, 512), -EINVAL);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 100), -EINVAL);
	CHECK_EQ(uvirtio_blk_read(e.blk, c.capacity * 512, buf, 512), -EINVAL);
	CHECK_EQ(uvirtio_blk_read(e.blk, (c.capacity - 1) * 512, buf, 1024),
		 -EINVAL);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 0), -EINVAL);
	chk = malloc(4096);		/* not mapped, bouncing forbidden */
	CHECK_EQ(uvirtio_blk_q_set_bounce(uvirtio_blk_get_queue(e.blk, 0), 0),
		 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, chk, 512), -EFAULT);
	free(chk);
	/* and too many pieces fail as they always did */
	CHECK_EQ(uvirtio_blk_readv(e.blk, 0, iov, 20), -EINVAL);
	CHECK_EQ(uvirtio_blk_unmap_mem(e.blk, buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 512), -EFAULT);
	env_close(&e);
	free(buf);
	return PASS;
}

/* Unregistered memory goes through the queue's bounce pool. */
static int t_blk_bounce(void)
{
	struct uvirtio_blk_completion comp[4];
	struct uvirtio_fake_config c;
	struct uvirtio_blk_q_stats st;
	struct uvirtio_blk_queue *q;
	uint8_t *a = malloc(3 * 4096 + 512), *b = malloc(64 * 1024), *disk;
	struct iovec iov[2];
	uint64_t disk_len;
	struct env e;

	CHECK(a && b);
	blkcfg(&c);
	c.size_max = 4096;		/* a bounced run is split at size_max */
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	disk = uvirtio_fake_disk(e.fake, &disk_len);
	pattern(a, 3 * 4096 + 512, 21);
	/* two unregistered iovs, an odd split: copied in, on the disk */
	iov[0] = (struct iovec){ a, 1000 };
	iov[1] = (struct iovec){ a + 1000, 3 * 4096 + 512 - 1000 };
	CHECK_EQ(uvirtio_blk_writev(e.blk, 4096, iov, 2), 0);
	CHECK(!memcmp(disk + 4096, a, 3 * 4096 + 512));
	/* and copied back */
	memset(b, 0, 64 * 1024);
	CHECK_EQ(uvirtio_blk_read(e.blk, 4096, b, 3 * 4096 + 512), 0);
	CHECK(!memcmp(b, a, 3 * 4096 + 512));
	uvirtio_blk_q_get_stats(q, &st);
	CHECK_EQ(st.bounced_requests, 2);
	CHECK_EQ(st.bounced_bytes, 2 * (3 * 4096 + 512));
	/* a NULL base is still a fault, not a copy from address 0 */
	iov[0] = (struct iovec){ NULL, 512 };
	CHECK_EQ(uvirtio_blk_readv(e.blk, 0, iov, 1), -EFAULT);
	/* a pool of 8 KiB: 3 pages do not fit, 2 requests of 1 page do */
	CHECK_EQ(uvirtio_blk_q_set_bounce(q, 8192), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, b, 3 * 4096), -E2BIG);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, b, 4096, (void *)1), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 4096, b + 8192, 4096, (void *)2), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 8192, b + 16384, 4096, (void *)3),
		 -EAGAIN);
	/* no resizing under requests in flight */
	CHECK_EQ(uvirtio_blk_q_set_bounce(q, 0), -EBUSY);
	CHECK_EQ(uvirtio_blk_q_reap(q, 2, 4, comp, NULL), 2);
	CHECK_EQ(comp[0].ret, 0);
	CHECK_EQ(comp[1].ret, 0);
	CHECK(!memcmp(b, disk, 4096));
	CHECK(!memcmp(b + 8192, disk + 4096, 4096));
	/* forbidden: -EFAULT as before */
	CHECK_EQ(uvirtio_blk_q_set_bounce(q, 0), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, b, 4096), -EFAULT);
	env_close(&e);
	free(a);
	free(b);
	return PASS;
}

static int t_blk_commands(void)
{
	struct uvirtio_fake_config c;
	uint64_t disk_len;
	uint8_t *buf, *disk;
	char id[20];
	struct env e;
	size_t i;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	disk = uvirtio_fake_disk(e.fake, &disk_len);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4 << 20, (void **)&buf), 0);
	memset(buf, 0xab, 4 << 20);
	/* seg_max 32 x size_max 64 KiB = 2 MiB per request */
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 2 << 20), 0);
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, (2 << 20) + 512), -EINVAL);
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 512 * 1024), 0);
	CHECK_EQ(disk[0], 0xab);
	CHECK_EQ(disk[512 * 1024 - 1], 0xab);
	/* discard: aligned to 8 sectors, max 2048 sectors */
	CHECK_EQ(uvirtio_blk_discard(e.blk, 8 * 512, 16 * 512), 0);
	for (i = 8 * 512; i < 24 * 512; i++)
		CHECK_EQ(disk[i], 0);
	CHECK_EQ(disk[8 * 512 - 1], 0xab);
	CHECK_EQ(disk[24 * 512], 0xab);
	CHECK_EQ(uvirtio_blk_discard(e.blk, 512, 8 * 512), -EINVAL);
	CHECK_EQ(uvirtio_blk_discard(e.blk, 0, 4096 * 512), -EINVAL);
	CHECK_EQ(uvirtio_blk_write_zeroes(e.blk, 100 * 512, 3 * 512, true), 0);
	CHECK_EQ(disk[100 * 512], 0);
	CHECK_EQ(disk[103 * 512 - 1], 0);
	CHECK_EQ(disk[103 * 512], 0xab);
	CHECK_EQ(uvirtio_blk_write_zeroes(e.blk, 0, 8192ull * 512, false),
		 -EINVAL);
	CHECK_EQ(uvirtio_blk_flush(e.blk), 0);
	memset(id, 0, sizeof(id));
	CHECK_EQ(uvirtio_blk_get_id(e.blk, id), 0);
	CHECK(memcmp(id, "uvirtio-fake-blk", 16) == 0);
	env_close(&e);

	/* features not offered -> -ENOTSUP without touching the device */
	c.features &= ~(BLK_F(FLUSH) | BLK_F(DISCARD) | BLK_F(WRITE_ZEROES));
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	CHECK_EQ(uvirtio_blk_flush(e.blk), -ENOTSUP);
	CHECK_EQ(uvirtio_blk_discard(e.blk, 0, 4096), -ENOTSUP);
	CHECK_EQ(uvirtio_blk_write_zeroes(e.blk, 0, 4096, false), -ENOTSUP);
	env_close(&e);

	/* read-only */
	c.features |= BLK_F(RO);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 4096), -EROFS);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);
	env_close(&e);
	return PASS;
}

struct mq_arg {
	struct env *e;
	unsigned int qi;
	int result;
};

static void *mq_thread(void *p)
{
	struct mq_arg *a = p;
	struct uvirtio_blk_queue *q = uvirtio_blk_get_queue(a->e->blk, a->qi);
	struct uvirtio_blk_completion comp[8];
	uint8_t *buf;
	uint64_t base = a->qi * (1u << 20);
	int i, k, r;

	a->result = FAIL;
	if (!q)
		return NULL;
	buf = *(uint8_t **)((char *)a + sizeof(*a));
	for (i = 0; i < 2000; i++) {
		for (k = 0; k < 8; k++) {
			pattern(buf + k * 4096, 4096, (uint32_t)(i * 8 + k));
			if (uvirtio_blk_q_write(q, base + k * 4096,
						buf + k * 4096, 4096, NULL))
				return NULL;
		}
		for (k = 0; k < 8; k += r) {
			r = uvirtio_blk_q_reap(q, 1, 8, comp, NULL);
			if (r <= 0 || comp[0].ret)
				return NULL;
		}
		for (k = 0; k < 8; k++)
			if (uvirtio_blk_q_read(q, base + k * 4096,
					       buf + (8 + k) * 4096, 4096, NULL))
				return NULL;
		for (k = 0; k < 8; k += r) {
			r = uvirtio_blk_q_reap(q, 1, 8, comp, NULL);
			if (r <= 0 || comp[0].ret)
				return NULL;
		}
		if (memcmp(buf, buf + 8 * 4096, 8 * 4096))
			return NULL;
	}
	a->result = PASS;
	return NULL;
}

static int t_blk_multiqueue(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .num_queues = 4 };
	struct uvirtio_blk_info info;
	struct { struct mq_arg a; uint8_t *buf; } args[2];
	pthread_t th[2];
	struct env e;
	int i;

	blkcfg(&c);
	c.num_queues = 2;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK_EQ(info.num_queues, 2);
	CHECK(uvirtio_blk_get_queue(e.blk, 2) == NULL);
	CHECK(uvirtio_blk_q_fd(uvirtio_blk_get_queue(e.blk, 1)) >= 0);
	for (i = 0; i < 2; i++) {
		args[i].a = (struct mq_arg){ &e, (unsigned int)i, FAIL };
		CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 16 * 4096,
					       (void **)&args[i].buf), 0);
		CHECK_EQ(pthread_create(&th[i], NULL, mq_thread, &args[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].a.result, PASS);
	}
	env_close(&e);
	return PASS;
}

/*
 * Fewer MSI-X vectors than queues + 1: the queues share vector 1 (or, with
 * one vector, everything is on vector 0) and still sleep on interrupts.
 * Four threads, one per queue, wait on one line: every completion must
 * reach its queue (a lost fan-out hangs a thread, a wrong one corrupts).
 */
static int shared_run(uint16_t vectors, unsigned int nq_used,
		      enum uvirtio_dev_irq_mode want)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .num_queues = nq_used };
	struct uvirtio_blk_q_stats st;
	struct { struct mq_arg a; uint8_t *buf; } args[4];
	struct uvirtio_dev *dev;
	pthread_t th[4];
	uint64_t irqs = 0;
	struct env e;
	unsigned int i;

	blkcfg(&c);
	c.num_queues = 4;
	c.msix_vectors = vectors;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	dev = uvirtio_blk_device(e.blk);
	CHECK_EQ(uvirtio_dev_irq_mode(dev), want);
	CHECK_EQ(uvirtio_blk_irq_mode(e.blk), want);
	if (want == UVIRTIO_DEV_IRQ_SHARED)
		CHECK(uvirtio_dev_irq_fd(dev) >= 0);
	else
		CHECK_EQ(uvirtio_dev_irq_fd(dev), -ENOENT);
	/* the config change has an eventfd in every mode with interrupts */
	CHECK(uvirtio_dev_config_eventfd(dev) >= 0);
	for (i = 0; i < nq_used; i++) {
		args[i].a = (struct mq_arg){ &e, i, FAIL };
		CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 16 * 4096,
					       (void **)&args[i].buf), 0);
		CHECK_EQ(pthread_create(&th[i], NULL, mq_thread, &args[i]), 0);
	}
	for (i = 0; i < nq_used; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].a.result, PASS);
	}
	for (i = 0; i < nq_used; i++) {
		uvirtio_blk_q_get_stats(uvirtio_blk_get_queue(e.blk, i), &st);
		irqs += st.interrupts;
	}
	printf("     %s, %u vectors, %u queues: %llu interrupts\n",
	       uvirtio_dev_irq_mode_name(want), vectors, nq_used,
	       (unsigned long long)irqs);
	CHECK(irqs > 0);
	/* nothing pending: servicing the line is harmless */
	if (want == UVIRTIO_DEV_IRQ_SHARED)
		CHECK(uvirtio_dev_irq_service(dev) >= 0);
	env_close(&e);
	return PASS;
}

static int t_blk_shared_vectors(void)
{
	/* config on 0, queues on 1 */
	CHECK_EQ(shared_run(2, 4, UVIRTIO_DEV_IRQ_SHARED), PASS);
	/* all on 0 */
	CHECK_EQ(shared_run(1, 4, UVIRTIO_DEV_IRQ_SHARED), PASS);
	/* 3 vectors are enough for the 2 queues used: one each */
	CHECK_EQ(shared_run(3, 2, UVIRTIO_DEV_IRQ_MSIX), PASS);
	return PASS;
}

static int t_irq_mode_api(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params poll = { .poll = true };
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &poll), 0);
	/* the device could interrupt; the caller asked to poll */
	CHECK_EQ(uvirtio_dev_irq_mode(uvirtio_blk_device(e.blk)),
		 UVIRTIO_DEV_IRQ_MSIX);
	CHECK_EQ(uvirtio_blk_irq_mode(e.blk), UVIRTIO_DEV_IRQ_POLL);
	/* the plan is fixed once a queue took an interrupt: not here */
	CHECK_EQ(uvirtio_dev_set_irq_queues(uvirtio_blk_device(e.blk), 1),
		 UVIRTIO_DEV_IRQ_MSIX);
	env_close(&e);

	c.msix_vectors = 0;
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	CHECK_EQ(uvirtio_blk_irq_mode(e.blk), UVIRTIO_DEV_IRQ_POLL);
	CHECK_EQ(uvirtio_dev_irq_service(uvirtio_blk_device(e.blk)), -ENOENT);
	env_close(&e);

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	CHECK_EQ(uvirtio_dev_set_irq_queues(uvirtio_blk_device(e.blk), 1),
		 -EBUSY);
	env_close(&e);
	CHECK(!strcmp(uvirtio_dev_irq_mode_name(UVIRTIO_DEV_IRQ_INTX), "intx"));
	CHECK(!strcmp(uvirtio_dev_irq_mode_name((enum uvirtio_dev_irq_mode)99),
		      "?"));
	return PASS;
}

/* Interrupt-mode wait options: hybrid spin and the interrupt following. */
static int t_blk_wait(void)
{
	struct uvirtio_blk_completion comp[8];
	struct uvirtio_fake_config c;
	struct uvirtio_blk_q_stats st;
	struct uvirtio_blk_queue *q;
	uint8_t *buf, *disk;
	uint64_t disk_len;
	struct env e;
	int i, n;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	/* the fake runs in this process: a poller must yield to it */
	CHECK(uvirtio_backend_device_shares_cpus(e.be));
	q = uvirtio_blk_get_queue(e.blk, 0);
	disk = uvirtio_fake_disk(e.fake, &disk_len);
	CHECK_EQ(uvirtio_blk_q_set_wait(q, 0, 1u << 7), -EINVAL);
	CHECK_EQ(uvirtio_blk_q_set_wait(NULL, 0, 0), -EINVAL);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 8 * 4096, (void **)&buf), 0);
	/*
	 * A spin of a second outlasts the fake: every completion is reaped
	 * while spinning, so reap never sleeps and counts no interrupt.
	 */
	CHECK_EQ(uvirtio_blk_q_set_wait(q, 1000000000ull,
					UVIRTIO_BLK_WAIT_FOLLOW_CPU), 0);
	for (i = 0; i < 8; i++) {
		memset(buf + i * 4096, 0x40 + i, 4096);
		CHECK_EQ(uvirtio_blk_q_write(q, (uint64_t)i * 4096,
					     buf + i * 4096, 4096,
					     (void *)(uintptr_t)(i + 1)), 0);
	}
	for (n = 0; n < 8;) {
		int r = uvirtio_blk_q_reap(q, 1, 8, comp, NULL);

		CHECK(r > 0);
		for (i = 0; i < r; i++)
			CHECK_EQ(comp[i].ret, 0);
		n += r;
	}
	for (i = 0; i < 8; i++)
		CHECK_EQ(disk[i * 4096 + 4095], 0x40 + i);
	uvirtio_blk_q_get_stats(q, &st);
	CHECK_EQ(st.interrupts, 0);
	/* following the CPU, no spin: sleeps on the eventfd, data intact */
	CHECK_EQ(uvirtio_blk_q_set_wait(q, 0, UVIRTIO_BLK_WAIT_FOLLOW_CPU), 0);
	memset(buf, 0, 8 * 4096);
	for (i = 0; i < 8; i++)
		CHECK_EQ(uvirtio_blk_read(e.blk, (uint64_t)i * 4096,
					  buf + i * 4096, 4096), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(buf[i * 4096], 0x40 + i);
	/* one epoll_wait() per wake-up: every request still completes */
	CHECK_EQ(uvirtio_blk_q_set_wait(q, 0, UVIRTIO_BLK_WAIT_EPOLL |
					UVIRTIO_BLK_WAIT_FOLLOW_CPU), 0);
	memset(buf, 0, 8 * 4096);
	for (i = 0; i < 8; i++)
		CHECK_EQ(uvirtio_blk_read(e.blk, (uint64_t)i * 4096,
					  buf + i * 4096, 4096), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(buf[i * 4096 + 17], 0x40 + i);
	/* with a timeout, nothing in flight: returns at once */
	{
		struct timespec ts = { 0, 1000000 };

		CHECK_EQ(uvirtio_blk_q_reap(q, 1, 8, comp, &ts), 0);
	}
	/* and back to the defaults (the epoll set is closed) */
	CHECK_EQ(uvirtio_blk_q_set_wait(q, 0, 0), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	CHECK_EQ(uvirtq_set_irq_cpu(NULL, 0), -EINVAL);
	return PASS;
}

/*
 * A reap sleeping in epoll_wait() (UVIRTIO_BLK_WAIT_EPOLL) on a request
 * the removed device will never finish must still wake up and fail with
 * -ENODEV.  The registers keep their values (REMOVE arg 1), so only the
 * remove fd, which is in the epoll set, tells.
 */
static int t_blk_wait_epoll_removal(void)
{
	struct timespec five = { 5, 0 };
	struct uvirtio_blk_completion comp;
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_q_set_wait(q, 0, UVIRTIO_BLK_WAIT_EPOLL), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);	/* healthy */
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_REMOVE, 1, 0),
		 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &five), -ENODEV);
	env_close(&e);
	return PASS;
}

const struct tcase uv_blk_tests[] = {
	{ "blk_matrix", t_blk_matrix },
	{ "blk_iov_limits", t_blk_iov_limits },
	{ "blk_tiny_queue", t_blk_tiny_queue },
	{ "blk_chain_limit", t_blk_chain_limit },
	{ "blk_commands", t_blk_commands },
	{ "blk_bounce", t_blk_bounce },
	{ "blk_multiqueue", t_blk_multiqueue },
	{ "blk_shared_vectors", t_blk_shared_vectors },
	{ "irq_mode_api", t_irq_mode_api },
	{ "blk_wait", t_blk_wait },
	{ "blk_wait_epoll_removal", t_blk_wait_epoll_removal },
};
const size_t uv_blk_ntests = UV_ARRAY_LEN(uv_blk_tests);
