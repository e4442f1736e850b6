// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_main.c - libuvirtio host unit tests (fake backend).
 *
 * The runner (harness.h) forks each case with a timeout, so a crash or
 * a hang (e.g. a looping descriptor walk) fails that case only.
 * Usage: test_runner [substring-filter]
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

#include "harness.h"

#define BLK_F(x) (1ull << VIRTIO_BLK_F_##x)
#define RING_F(x) (1ull << VIRTIO_RING_F_##x)
#define F(x) (1ull << VIRTIO_F_##x)

struct env {
	struct uvirtio_fake *fake;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
};

static void blkcfg(struct uvirtio_fake_config *c)
{
	uvirtio_fake_default_config(c, VIRTIO_ID_BLOCK);
}

static int env_open(struct env *e, const struct uvirtio_fake_config *c,
		    const struct uvirtio_blk_params *p)
{
	int ret;

	memset(e, 0, sizeof(*e));
	ret = uvirtio_fake_create(c, &e->fake, &e->be);
	if (ret)
		return ret;
	ret = uvirtio_blk_open(e->be, p, &e->blk);
	if (ret) {
		uvirtio_backend_close(e->be);
		e->be = NULL;
	}
	return ret;
}

static void env_close(struct env *e)
{
	uvirtio_blk_close(e->blk);
	uvirtio_backend_close(e->be);
}

static void pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) ^ seed);
}

/* ---------------------------------------------------------------- */

static int t_need_event(void)
{
	/* event in [old, new) -> true, modulo 2^16 */
	CHECK(uvirtio_need_event(5, 6, 5));
	CHECK(!uvirtio_need_event(6, 6, 5));
	CHECK(!uvirtio_need_event(4, 6, 5));
	CHECK(uvirtio_need_event(0xffff, 2, 0xfffe));	/* wraps */
	CHECK(uvirtio_need_event(0, 2, 0xfffe));
	CHECK(!uvirtio_need_event(2, 2, 0xfffe));
	CHECK(!uvirtio_need_event(0xfffd, 2, 0xfffe));
	return PASS;
}

static int t_pci_addr(void)
{
	struct uvirtio_pci_addr a;

	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:04.0", &a), 0);
	CHECK(a.domain == 0 && a.bus == 0 && a.dev == 4 && a.fn == 0);
	CHECK_EQ(uvirtio_parse_pci_addr("abcd:1f:1f.7", &a), 0);
	CHECK(a.domain == 0xabcd && a.bus == 0x1f && a.dev == 0x1f && a.fn == 7);
	CHECK_EQ(uvirtio_parse_pci_addr("03:00.1", &a), 0);
	CHECK(a.domain == 0 && a.bus == 3 && a.fn == 1);
	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:20.0", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:04.8", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:04.0x", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("10000:00:04.0", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("", &a), -EINVAL);
	return PASS;
}

static int t_xlat(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dma d;
	uint8_t *buf = aligned_alloc(4096, 5 * 4096);
	uint64_t iova, iova2;
	int64_t n;

	blkcfg(&c);
	c.map_seg_size = 4096;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_backend_dma_map(be, buf + 100, 3 * 4096), 0);
	n = uvirtio_backend_translate(be, buf + 100, 3 * 4096, &iova);
	CHECK_EQ(n, 4096);			/* first fake segment */
	CHECK(iova != (uintptr_t)(buf + 100));
	n = uvirtio_backend_translate(be, buf + 100 + 4096 + 8, 100, &iova2);
	CHECK_EQ(n, 100);
	CHECK(iova2 != iova + 4096 + 8);	/* segments are not adjacent */
	CHECK_EQ(uvirtio_backend_translate(be, buf + 99, 1, &iova), -EFAULT);
	CHECK_EQ(uvirtio_backend_translate(be, buf + 100 + 3 * 4096, 1, &iova),
		 -EFAULT);
	CHECK_EQ(uvirtio_backend_dma_map(be, buf + 4096, 10), -EEXIST);
	CHECK_EQ(uvirtio_backend_dma_map(be, buf, 50), 0);	/* adjacent ok */
	CHECK_EQ(uvirtio_backend_dma_unmap(be, buf + 100), 0);
	CHECK_EQ(uvirtio_backend_translate(be, buf + 200, 1, &iova), -EFAULT);
	CHECK_EQ(uvirtio_backend_translate(be, buf + 10, 1, &iova), 1);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, buf + 100), -ENOENT);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 100, &d), 0);
	CHECK_EQ(d.len, 4096);
	CHECK(d.iova != (uintptr_t)d.vaddr);
	CHECK_EQ(uvirtio_backend_translate(be, (uint8_t *)d.vaddr + 4000, 200,
					   &iova), 96);
	CHECK_EQ(iova, d.iova + 4000);
	CHECK(((uint8_t *)d.vaddr)[4095] == 0);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	free(buf);
	return PASS;
}

static int t_caps_parser(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake *f1, *f2;
	struct uvirtio_backend *b1, *b2;
	struct uvirtio_caps k1, k2;

	blkcfg(&c);
	CHECK_EQ(uvirtio_fake_create(&c, &f1, &b1), 0);
	c.no_caps_op = true;
	CHECK_EQ(uvirtio_fake_create(&c, &f2, &b2), 0);
	CHECK_EQ(uvirtio_backend_get_caps(b1, &k1), 0);
	CHECK_EQ(uvirtio_backend_get_caps(b2, &k2), 0);	/* parser */
	CHECK(k2.common.present && k2.notify.present && k2.isr.present &&
	      k2.device.present && k2.pci_cfg.present);
	CHECK_EQ(k2.common.bar, k1.common.bar);
	CHECK_EQ(k2.common.offset, k1.common.offset);
	CHECK_EQ(k2.notify.offset, k1.notify.offset);
	CHECK_EQ(k2.notify.length, k1.notify.length);
	CHECK_EQ(k2.device.offset, k1.device.offset);
	CHECK_EQ(k2.device.length, k1.device.length);
	CHECK_EQ(k2.isr.offset, k1.isr.offset);
	CHECK_EQ(k2.notify_off_multiplier, 4);
	CHECK_EQ(k2.msix_vectors, 8);
	CHECK_EQ(k2.has_legacy_io, 0);
	uvirtio_backend_close(b1);
	uvirtio_backend_close(b2);
	/* Parser-only device still works end to end. */
	{
		struct env e;
		uint8_t *buf;

		CHECK_EQ(env_open(&e, &c, NULL), 0);
		CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
		pattern(buf, 4096, 3);
		CHECK_EQ(uvirtio_blk_write(e.blk, 4096, buf, 4096), 0);
		env_close(&e);
	}
	return PASS;
}

static int t_init_modern(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_info info;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.last_status, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		 VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		 VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(st.driver_features & F(VERSION_1));
	CHECK(!(st.driver_features & ~c.features));
	CHECK(!uvirtio_dev_is_legacy(uvirtio_blk_device(e.blk)));
	uvirtio_blk_get_info(e.blk, &info);
	CHECK_EQ(info.capacity, c.capacity * 512);
	CHECK_EQ(info.blk_size, 512);
	CHECK_EQ(info.size_max, 65536);
	CHECK_EQ(info.seg_max, 32);
	CHECK(info.flush && info.discard && info.write_zeroes);
	CHECK_EQ(info.max_discard_sectors, 2048);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)), 0);
	env_close(&e);
	return PASS;
}

static int t_refuse_features_ok(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;

	blkcfg(&c);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_fake_inject(f, UVIRTIO_FAKE_FAULT_REFUSE_FEATURES_OK,
				     0, 0), 0);
	CHECK_EQ(uvirtio_blk_open(be, NULL, &blk), -ENOTSUP);
	uvirtio_fake_get_stats(f, &st);
	CHECK(st.last_status & VIRTIO_CONFIG_S_FAILED);
	CHECK(!(st.status_history & VIRTIO_CONFIG_S_DRIVER_OK));
	uvirtio_backend_close(be);
	return PASS;
}

static int t_iommu_access_platform(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct env e;

	blkcfg(&c);
	c.iommu_translated = true;		/* no ACCESS_PLATFORM offered */
	CHECK_EQ(env_open(&e, &c, NULL), -ENOTSUP);
	c.features |= F(ACCESS_PLATFORM);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.driver_features & F(ACCESS_PLATFORM));
	env_close(&e);
	return PASS;
}

static int t_no_version1(void)
{
	struct uvirtio_fake_config c;
	struct env e;

	blkcfg(&c);
	c.features &= ~F(VERSION_1);
	CHECK_EQ(env_open(&e, &c, NULL), -ENOTSUP);
	return PASS;
}

static int t_config_generation(void)
{
	const uint64_t a = 0x100000010ull, b = 0x200000020ull;
	struct uvirtio_fake_config c;
	struct uvirtio_dev *dev;
	uint64_t cap;
	struct env e;
	int i;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	dev = uvirtio_blk_device(e.blk);
	for (i = 1; i <= 5; i++) {
		CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_CONFIG_GEN,
					     (uint64_t)i, b), 0);
		/* fake flips capacity between c.capacity and b */
		CHECK_EQ(uvirtio_dev_read_config(dev, 0, &cap, 8), 0);
		CHECK(cap == c.capacity || cap == b);
	}
	(void)a;
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_CONFIG_GEN,
				     0xffff, b), 0);
	CHECK_EQ(uvirtio_dev_read_config(dev, 0, &cap, 8), -EAGAIN);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_CONFIG_GEN,
				     0, b), 0);
	CHECK_EQ(uvirtio_dev_read_config(dev, 0, &cap, 8), 0);
	CHECK(cap == c.capacity || cap == b);
	CHECK_EQ(uvirtio_dev_read_config(dev, 0, &cap, 4096), -EINVAL);
	env_close(&e);
	return PASS;
}

/* Write / read back / verify through the async API, many requests. */
static int rw_workload(struct env *e, unsigned int nreq, size_t bs)
{
	struct uvirtio_blk_queue *q = uvirtio_blk_get_queue(e->blk, 0);
	struct uvirtio_blk_completion comp[16];
	uint64_t disk_len;
	uint8_t *disk = uvirtio_fake_disk(e->fake, &disk_len);
	uint8_t *wbuf, *rbuf;
	unsigned int i, done;
	int ret;

	CHECK(q);
	CHECK_EQ(uvirtio_blk_alloc_buf(e->blk, bs * 16, (void **)&wbuf), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e->blk, bs * 16, (void **)&rbuf), 0);
	pattern(wbuf, bs * 16, nreq);
	/* writes, keeping up to 16 in flight */
	for (i = 0, done = 0; done < nreq;) {
		while (i < nreq && i - done < 16) {
			ret = uvirtio_blk_q_write(q, (i % 64) * bs,
						  wbuf + (i % 16) * bs, bs,
						  (void *)(uintptr_t)(i + 1));
			if (ret == -EAGAIN)
				break;
			CHECK_EQ(ret, 0);
			i++;
		}
		ret = uvirtio_blk_q_reap(q, 1, 16, comp, NULL);
		CHECK(ret > 0);
		for (int k = 0; k < ret; k++)
			CHECK_EQ(comp[k].ret, 0);
		done += (unsigned int)ret;
	}
	CHECK_EQ(uvirtio_blk_flush(e->blk), 0);
	/* the RAM disk holds what the last write of each block put there */
	for (i = 0; i < 64 && i < nreq; i++) {
		unsigned int last = i + ((nreq - 1 - i) / 64) * 64;

		CHECK(memcmp(disk + i * bs, wbuf + (last % 16) * bs, bs) == 0);
	}
	/* read back through the driver */
	for (i = 0; i < 64 && i < nreq; i++) {
		unsigned int last = i + ((nreq - 1 - i) / 64) * 64;

		memset(rbuf, 0xee, bs);
		CHECK_EQ(uvirtio_blk_read(e->blk, i * bs, rbuf, bs), 0);
		CHECK(memcmp(rbuf, wbuf + (last % 16) * bs, bs) == 0);
	}
	(void)disk_len;
	return PASS;
}

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

static int t_legacy_no_msix(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_info info;
	struct env e;

	/* Without MSI-X the legacy device config starts at 20, not 24. */
	blkcfg(&c);
	c.layout = UVIRTIO_FAKE_LEGACY;
	c.msix_vectors = 0;
	c.capacity = 12345;
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK_EQ(info.capacity, 12345 * 512ull);
	CHECK_EQ(info.seg_max, 32);
	CHECK_EQ(uvirtio_blk_q_fd(uvirtio_blk_get_queue(e.blk, 0)), -ENOENT);
	CHECK_EQ(rw_workload(&e, 40, 512), PASS);
	env_close(&e);
	return PASS;
}

static int t_event_idx_wrap(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .poll = true };
	struct uvirtio_fake_stats st;
	struct env e;
	int r;

	/* > 65536 requests: the 16-bit indices wrap. */
	blkcfg(&c);
	c.queue_size = 8;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	r = rw_workload(&e, 66000, 512);
	CHECK_EQ(r, PASS);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.interrupts, 0);
	CHECK(st.doorbells <= st.completions);
	env_close(&e);
	c.features |= F(RING_PACKED);
	p.packed = true;
	p.poll = false;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	r = rw_workload(&e, 20000, 512);
	CHECK_EQ(r, PASS);
	env_close(&e);
	return PASS;
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

static int t_blk_iov_limits(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
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
	CHECK_EQ(uvirtio_blk_unmap_mem(e.blk, buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 512), -EFAULT);
	env_close(&e);
	free(buf);
	return PASS;
}

/* VIRTIO_F_NOTIFICATION_DATA: every doorbell says where the ring stands. */
static int notify_data_case(bool packed)
{
	struct uvirtio_blk_params bp = { .packed = packed };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_info info;
	uint8_t *buf;
	struct env e;
	int i;

	blkcfg(&c);
	c.features |= 1ull << 38;
	if (packed)
		c.features |= F(RING_PACKED);
	CHECK_EQ(env_open(&e, &c, &bp), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK(info.features & (1ull << 38));
	CHECK_EQ(!!(info.features & F(RING_PACKED)), packed);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	/* enough requests to wrap a 64-entry ring twice */
	for (i = 0; i < 150; i++)
		CHECK_EQ(uvirtio_blk_write(e.blk, (uint64_t)(i % 64) * 4096,
					   buf, 4096), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.notify_data_seen >= 150);
	CHECK_EQ(st.notify_data_errors, 0);
	CHECK_EQ(st.device_errors, 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

static int t_notification_data(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_info info;
	struct env e;

	CHECK_EQ(notify_data_case(false), PASS);
	CHECK_EQ(notify_data_case(true), PASS);
	/* not offered: not negotiated, 16-bit doorbells as before */
	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	uvirtio_blk_get_info(e.blk, &info);
	CHECK(!(info.features & (1ull << 38)));
	env_close(&e);
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

static double secs_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A rate-limited source: sleep on the interrupt, stream what comes. */
static int t_rng_slow(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_backend *be;
	struct uvirtio_rng *rng;
	struct uvirtio_fake *f;
	double w0, c0, wall, cpu;
	uint8_t buf[64];

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	c.rng_max_bytes = 16;		/* QEMU max-bytes=16 */
	c.rng_delay_ms = 60;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng), 0);
	/* one answer at a time: partial reads */
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, sizeof(buf), 2000), 16);
	/* a full read waits for four answers without burning a CPU */
	w0 = secs_of(CLOCK_MONOTONIC);
	c0 = secs_of(CLOCK_PROCESS_CPUTIME_ID);
	CHECK_EQ(uvirtio_rng_read(rng, buf, sizeof(buf)), sizeof(buf));
	wall = secs_of(CLOCK_MONOTONIC) - w0;
	cpu = secs_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
	CHECK(wall >= 0.2);
	if (cpu > wall * 0.25) {
		fprintf(stderr, "  %.3f s of CPU in %.3f s: spinning\n", cpu,
			wall);
		return FAIL;
	}
	/* a timeout leaves the request out; the next call waits for it */
	uvirtio_fake_get_stats(f, &st);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, sizeof(buf), 5), -ETIMEDOUT);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, sizeof(buf), 2000), 16);
	{
		struct uvirtio_fake_stats st2;

		uvirtio_fake_get_stats(f, &st2);
		CHECK_EQ(st2.completions - st.completions, 1);
	}
	CHECK_EQ(uvirtio_rng_read_some(rng, NULL, 4, 10), -EINVAL);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, 4, -1), -EINVAL);
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_rng(void)
{
	static const int layouts[] = { UVIRTIO_FAKE_MODERN, UVIRTIO_FAKE_LEGACY };
	struct uvirtio_fake_config c;
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_rng *rng;
	uint8_t buf[10000];
	unsigned int i, l, hist[256] = { 0 }, zero = 0;

	for (l = 0; l < 2; l++) {
		uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
		c.layout = layouts[l];
		CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
		CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng), 0);
		memset(buf, 0, sizeof(buf));
		CHECK_EQ(uvirtio_rng_read(rng, buf, sizeof(buf)), sizeof(buf));
		for (i = 0; i < sizeof(buf); i++)
			hist[buf[i]]++;
		for (i = 0; i < 256; i++)
			zero += hist[i] == 0;
		CHECK(zero < 4);
		CHECK(buf[sizeof(buf) - 1] != 0 || buf[sizeof(buf) - 2] != 0);
		uvirtio_rng_close(rng);
		uvirtio_backend_close(be);
	}
	/* a blk device is refused by the rng driver */
	blkcfg(&c);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng), -ENODEV);
	uvirtio_backend_close(be);
	return PASS;
}

/* ---- fault injection ------------------------------------------------ */

/* Inject @fault, issue one request, expect -EIO and a broken device. */
static int fault_case(enum uvirtio_fake_fault fault, bool packed, bool ind)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .packed = packed, .no_indirect = !ind };
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	uint8_t *buf;
	struct env e;
	int r;

	blkcfg(&c);
	if (packed)
		c.features |= F(RING_PACKED);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 8192, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), 0);	/* healthy */
	CHECK_EQ(uvirtio_fake_inject(e.fake, fault, 0, 0), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	r = uvirtio_blk_q_reap(q, 1, 1, &comp, NULL);
	if (fault == UVIRTIO_FAKE_FAULT_DUP_USED && r == 1) {
		/*
		 * Split usually catches the duplicate at once (used index
		 * ahead of the in-flight count).  Otherwise the genuine
		 * completion comes first and the duplicate, whose id is no
		 * longer in flight, trips the next look at the ring.  Post
		 * nothing new meanwhile: in the packed ring a new request
		 * would overwrite (and hide) the duplicate.
		 */
		struct timespec zero = { 0, 0 };
		int i;

		CHECK_EQ(comp.ret, 0);
		for (i = 0; i < 1000; i++) {
			r = uvirtio_blk_q_reap(q, 0, 1, &comp, &zero);
			if (r != 0)
				break;
			usleep(1000);
		}
	}
	CHECK_EQ(r, -EIO);
	/* sticky: every later call fails cleanly */
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), -EIO);
	CHECK_EQ(uvirtio_blk_q_submit(q), -EIO);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)), -EIO);
	env_close(&e);
	return PASS;
}

static int t_fault_bad_used_id(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_ID, false, true), PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_ID, true, true), PASS);
	return PASS;
}

static int t_fault_used_id_not_head(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD, false, false),
		 PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD, true, false),
		 PASS);
	return PASS;
}

static int t_fault_bad_used_len(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_LEN, false, true), PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_BAD_USED_LEN, true, false), PASS);
	return PASS;
}

static int t_fault_used_idx_jump(void)
{
	return fault_case(UVIRTIO_FAKE_FAULT_USED_IDX_JUMP, false, true);
}

static int t_fault_dup_used(void)
{
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_DUP_USED, false, true), PASS);
	CHECK_EQ(fault_case(UVIRTIO_FAKE_FAULT_DUP_USED, true, true), PASS);
	return PASS;
}

static int corrupt_case(bool packed)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .packed = packed, .no_indirect = true };
	struct uvirtio_fake_stats st;
	uint8_t *buf;
	struct env e;
	int i;

	blkcfg(&c);
	c.queue_size = 16;
	if (packed)
		c.features |= F(RING_PACKED);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 8192, (void **)&buf), 0);
	for (i = 0; i < 5; i++) {
		CHECK_EQ(uvirtio_fake_inject(e.fake,
				UVIRTIO_FAKE_FAULT_CORRUPT_DESC, 0, 0), 0);
		pattern(buf, 4096, (uint32_t)i);
		CHECK_EQ(uvirtio_blk_write(e.blk, 4096 * (unsigned)i, buf, 4096),
			 0);
	}
	/* Cycle the ring several times: free state must still be sane. */
	for (i = 0; i < 200; i++) {
		pattern(buf, 4096, (uint32_t)(i % 5));
		CHECK_EQ(uvirtio_blk_read(e.blk, 4096 * (unsigned)(i % 5),
					  buf + 4096, 4096), 0);
		CHECK(memcmp(buf, buf + 4096, 4096) == 0);
	}
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.device_errors, 0);
	env_close(&e);
	return PASS;
}

static int t_fault_corrupt_desc(void)
{
	CHECK_EQ(corrupt_case(false), PASS);
	CHECK_EQ(corrupt_case(true), PASS);
	return PASS;
}

static int needs_reset_case(bool poll)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .poll = poll };
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_NEEDS_RESET,
				     0, 0), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), -UVIRTIO_ENEEDS_RESET);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)),
		 -UVIRTIO_ENEEDS_RESET);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL),
		 -UVIRTIO_ENEEDS_RESET);
	env_close(&e);
	return PASS;
}

static int t_fault_needs_reset(void)
{
	CHECK_EQ(needs_reset_case(false), PASS);
	CHECK_EQ(needs_reset_case(true), PASS);
	return PASS;
}

/*
 * Surprise removal: the device stops answering.  reap() must return
 * -ENODEV (not wait for a completion that never comes), in interrupt and
 * polling mode, whether the registers read all-ones or, as with a
 * scratch page a late write landed in, keep plausible values.
 */
static int removed_case(bool poll, uint64_t frozen)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_params p = { .poll = poll };
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK(!uvirtio_backend_removed(e.be));
	CHECK(uvirtio_backend_remove_fd(e.be) >= 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_REMOVE,
				     frozen, 0), 0);
	CHECK(uvirtio_backend_removed(e.be));
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), -ENODEV);
	CHECK_EQ(uvirtio_dev_check_status(uvirtio_blk_device(e.blk)), -ENODEV);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), -ENODEV);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, buf, 4096), -ENODEV);
	env_close(&e);
	return PASS;
}

/*
 * A pulled function's rings read all-ones, which the virtqueue rejects;
 * the caller must hear -ENODEV (the device is gone), not -EIO.
 */
static int removed_garbage_case(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	struct pollfd pfd;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_BAD_USED_ID,
				     0, 0), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_submit(q), 0);
	/* the bogus completion is in the ring once the interrupt came */
	pfd.fd = uvirtio_blk_q_fd(q);
	pfd.events = POLLIN;
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK_EQ(uvirtio_fake_inject(e.fake, UVIRTIO_FAKE_FAULT_REMOVE, 1, 0), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), -ENODEV);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, NULL), -ENODEV);
	env_close(&e);
	return PASS;
}

/*
 * Unmapping a buffer while a request on it is in flight is a caller bug
 * that an IOMMU turns into lost data while the device reports success:
 * the completion must say -EFAULT.  Unmapping an unrelated buffer must
 * not fail the request.
 */
static int unmapped_inflight_case(bool related)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_completion comp;
	struct timespec ts = { 5, 0 };
	struct pollfd pfd;
	uint8_t *buf, *other;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	q = uvirtio_blk_get_queue(e.blk, 0);
	buf = aligned_alloc(4096, 4096);
	other = aligned_alloc(4096, 4096);
	CHECK(buf && other);
	CHECK_EQ(uvirtio_blk_map_mem(e.blk, buf, 4096), 0);
	CHECK_EQ(uvirtio_blk_map_mem(e.blk, other, 4096), 0);
	CHECK_EQ(uvirtio_blk_q_read(q, 0, buf, 4096, buf), 0);
	CHECK_EQ(uvirtio_blk_q_submit(q), 0);
	pfd.fd = uvirtio_blk_q_fd(q);
	pfd.events = POLLIN;
	CHECK_EQ(poll(&pfd, 1, 5000), 1);	/* the device is done */
	CHECK_EQ(uvirtio_blk_unmap_mem(e.blk, related ? buf : other), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), 1);
	CHECK(comp.user_data == buf);
	CHECK_EQ(comp.ret, related ? -EFAULT : 0);
	/* a request built after the unmap is not affected by it */
	CHECK_EQ(uvirtio_blk_q_read(q, 0, related ? other : buf, 4096, NULL), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q, 1, 1, &comp, &ts), 1);
	CHECK_EQ(comp.ret, 0);
	env_close(&e);
	free(buf);
	free(other);
	return PASS;
}

static int t_unmapped_inflight(void)
{
	CHECK_EQ(unmapped_inflight_case(true), PASS);
	CHECK_EQ(unmapped_inflight_case(false), PASS);
	return PASS;
}

static int t_fault_removed(void)
{
	CHECK_EQ(removed_garbage_case(), PASS);
	CHECK_EQ(removed_case(false, 0), PASS);
	CHECK_EQ(removed_case(false, 1), PASS);
	CHECK_EQ(removed_case(true, 0), PASS);
	CHECK_EQ(removed_case(true, 1), PASS);
	return PASS;
}

static int t_reap_timeout(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_blk_completion comp[4];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, NULL), 0);
	/* nothing in flight: returns at once with 0 */
	CHECK_EQ(uvirtio_blk_q_reap(uvirtio_blk_get_queue(e.blk, 0), 1, 4,
				    comp, &ts), 0);
	CHECK_EQ(uvirtio_blk_q_reap(uvirtio_blk_get_queue(e.blk, 0), 5, 4,
				    comp, &ts), -EINVAL);
	env_close(&e);
	return PASS;
}

/* Raw virtqueue API: enable_cb re-check and eventfd delivery. */
static int t_vq_raw(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_dev_params dp = { .wanted = RING_F(EVENT_IDX) };
	struct uvirtq_params vp = { .size = 8, .use_interrupts = true, .cpu = -1 };
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct uvirtq *vq;
	struct uvirtq_buf b;
	void *cookie;
	uint32_t len;
	uint64_t v;
	int fd, r, i;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtq_create(dev, 1, &vp, &vq), -ENODEV);
	vp.size = 6;
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), -EINVAL);	/* not 2^n */
	vp.size = 8;
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	fd = uvirtq_eventfd(vq);
	CHECK(fd >= 0);
	b = (struct uvirtq_buf){ d.iova, 64 };
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, NULL), -EINVAL);
	CHECK_EQ(uvirtq_enable_cb(vq), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), 0);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), -EAGAIN);
	CHECK_EQ(uvirtq_num_free(vq), 0);
	CHECK_EQ(uvirtq_kick(vq), 1);
	/* wait for the interrupt */
	for (i = 0; i < 5000; i++) {
		if (read(fd, &v, 8) == 8)
			break;
		usleep(1000);
	}
	CHECK(i < 5000);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 1);
		CHECK(cookie == &d);
		CHECK_EQ(len, 64);
	}
	CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 0);
	CHECK_EQ(uvirtq_in_flight(vq), 0);
	/* enable_cb reports completions that are already there */
	uvirtq_disable_cb(vq);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, &b, 1, &d), 0);
	uvirtq_kick(vq);
	for (i = 0; i < 5000 && uvirtq_enable_cb(vq) == 0; i++) {
		uvirtq_disable_cb(vq);
		usleep(1000);
	}
	r = uvirtq_enable_cb(vq);
	CHECK_EQ(r, 1);
	CHECK_EQ(uvirtq_get_used(vq, &cookie, &len), 1);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

/* Raw virtqueue: a used id that is not an in-flight chain head. */
static int vq_not_head_case(bool packed)
{
	struct uvirtio_fake_config c;
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtq_params vp = { .size = 8, .cpu = -1 };
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	struct uvirtio_dma d;
	struct uvirtq *vq;
	struct uvirtq_buf b[3];
	void *cookie;
	uint32_t len;
	int i, r = 0;

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	if (packed) {
		c.features |= F(RING_PACKED);
		dp.wanted = F(RING_PACKED);
	}
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtq_create(dev, 0, &vp, &vq), 0);
	CHECK_EQ(uvirtq_is_packed(vq), packed);
	CHECK_EQ(uvirtio_dev_driver_ok(dev), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	for (i = 0; i < 3; i++)
		b[i] = (struct uvirtq_buf){ d.iova + 64u * i, 64 };
	/* Use every id once so no per-id state is pristine. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(uvirtq_add(vq, NULL, 0, b, 1, &d), 0);
	uvirtq_kick(vq);
	for (i = 0; i < 5000 && r < 8; i++) {
		int g = uvirtq_get_used(vq, &cookie, &len);

		CHECK(g >= 0);
		if (g)
			r++;
		else
			usleep(1000);
	}
	CHECK_EQ(r, 8);
	r = 0;
	CHECK_EQ(uvirtio_fake_inject(f, UVIRTIO_FAKE_FAULT_USED_ID_NOT_HEAD,
				     0, 0), 0);
	CHECK_EQ(uvirtq_add(vq, NULL, 0, b, 3, &d), 0);	/* 3-desc chain */
	uvirtq_kick(vq);
	for (i = 0; i < 5000; i++) {
		r = uvirtq_get_used(vq, &cookie, &len);
		if (r)
			break;
		usleep(1000);
	}
	CHECK_EQ(r, -EIO);
	CHECK(uvirtq_is_broken(vq));
	CHECK_EQ(uvirtq_add(vq, NULL, 0, b, 1, &d), -EIO);
	CHECK_EQ(uvirtq_kick(vq), -EIO);
	CHECK_EQ(uvirtq_enable_cb(vq), -EIO);
	uvirtio_dev_close(dev);
	uvirtq_destroy(vq);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_vq_fault_not_head(void)
{
	CHECK_EQ(vq_not_head_case(false), PASS);
	CHECK_EQ(vq_not_head_case(true), PASS);
	return PASS;
}

/* ---------------------------------------------------------------- */


/* Wait (bounded) until the fake has completed @n requests in all. */
static int wait_completions(struct env *e, uint64_t n)
{
	struct uvirtio_fake_stats st;
	int i;

	for (i = 0; i < 5000; i++) {
		uvirtio_fake_get_stats(e->fake, &st);
		if (st.completions >= n)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/*
 * VIRTIO_F_RING_RESET: queue 0 of two is reset with requests on it that
 * the device completed but that were not reaped, and more that were only
 * enqueued; they all come back -ECANCELED, queue 1's requests are not
 * touched, and queue 0 then reads back what it writes.
 */
static int ring_reset_case(bool packed, bool poll)
{
	struct uvirtio_blk_params p = { .num_queues = 2, .packed = packed,
					.poll = poll };
	struct uvirtio_blk_completion comp[16];
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_blk_queue *q0, *q1;
	uint8_t *wbuf, *rbuf;
	bool seen[8] = { false };
	struct env e;
	int i, n;

	blkcfg(&c);
	c.num_queues = 2;
	c.queue_size = 16;
	c.features |= F(RING_RESET) | (packed ? F(RING_PACKED) : 0);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(st.driver_features & F(RING_RESET));
	CHECK_EQ(!!(st.driver_features & F(RING_PACKED)), packed);
	q0 = uvirtio_blk_get_queue(e.blk, 0);
	q1 = uvirtio_blk_get_queue(e.blk, 1);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 16 * 4096, (void **)&wbuf), 0);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 16 * 4096, (void **)&rbuf), 0);
	pattern(wbuf, 16 * 4096, 5);

	/* queue 1: two writes enqueued, not yet submitted */
	for (i = 0; i < 2; i++)
		CHECK_EQ(uvirtio_blk_q_write(q1, (uint64_t)(100 + i) * 4096,
					     wbuf + (size_t)(8 + i) * 4096, 4096,
					     (void *)(uintptr_t)(200 + i)), 0);
	/* queue 0: three the device finishes, two it never sees */
	for (i = 0; i < 3; i++)
		CHECK_EQ(uvirtio_blk_q_write(q0, (uint64_t)i * 4096,
					     wbuf + (size_t)i * 4096, 4096,
					     (void *)(uintptr_t)(100 + i)), 0);
	CHECK_EQ(uvirtio_blk_q_submit(q0), 0);
	CHECK_EQ(wait_completions(&e, 3), 0);
	for (i = 3; i < 5; i++)
		CHECK_EQ(uvirtio_blk_q_write(q0, (uint64_t)i * 4096,
					     wbuf + (size_t)i * 4096, 4096,
					     (void *)(uintptr_t)(100 + i)), 0);
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 5);

	CHECK_EQ(uvirtio_blk_q_reset(q0), 0);
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 5);
	n = uvirtio_blk_q_reap(q0, 5, 16, comp, NULL);
	CHECK_EQ(n, 5);
	for (i = 0; i < n; i++) {
		uintptr_t ud = (uintptr_t)comp[i].user_data;

		CHECK_EQ(comp[i].ret, -ECANCELED);
		CHECK(ud >= 100 && ud < 105 && !seen[ud - 100]);
		seen[ud - 100] = true;
	}
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 0);

	/* queue 1 was not touched: its requests go through */
	n = uvirtio_blk_q_reap(q1, 2, 16, comp, NULL);
	CHECK_EQ(n, 2);
	for (i = 0; i < n; i++)
		CHECK_EQ(comp[i].ret, 0);

	/* queue 0 works again, from a fresh ring, many times round it */
	for (i = 0; i < 40; i++) {
		CHECK_EQ(uvirtio_blk_q_write(q0, (uint64_t)(i % 16) * 4096,
					     wbuf + (size_t)(i % 16) * 4096,
					     4096, (void *)(uintptr_t)1), 0);
		CHECK_EQ(uvirtio_blk_q_reap(q0, 1, 16, comp, NULL), 1);
		CHECK_EQ(comp[0].ret, 0);
	}
	memset(rbuf, 0, 16 * 4096);
	CHECK_EQ(uvirtio_blk_read(e.blk, 0, rbuf, 16 * 4096), 0);
	CHECK(memcmp(rbuf, wbuf, 16 * 4096) == 0);
	memset(rbuf, 0, 2 * 4096);
	CHECK_EQ(uvirtio_blk_read(e.blk, 100 * 4096, rbuf, 2 * 4096), 0);
	CHECK(memcmp(rbuf, wbuf + 8 * 4096, 2 * 4096) == 0);

	/* an idle reset, then I/O again */
	CHECK_EQ(uvirtio_blk_q_reset(q0), 0);
	CHECK_EQ(uvirtio_blk_q_in_flight(q0), 0);
	CHECK_EQ(uvirtio_blk_read(e.blk, 4096, rbuf, 4096), 0);
	CHECK(memcmp(rbuf, wbuf + 4096, 4096) == 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK_EQ(st.device_errors, 0);
	uvirtio_blk_free_buf(e.blk, wbuf);
	uvirtio_blk_free_buf(e.blk, rbuf);
	env_close(&e);
	return PASS;
}

static int t_ring_reset(void)
{
	int m, ret;

	for (m = 0; m < 4; m++) {
		ret = ring_reset_case(m & 1, m & 2);
		if (ret) {
			fprintf(stderr, "  packed=%d poll=%d\n", m & 1, !!(m & 2));
			return ret;
		}
	}
	return PASS;
}

/* Not offered, or a transport without it: -EOPNOTSUPP, queue unharmed. */
static int t_ring_reset_unsupported(void)
{
	struct uvirtio_blk_params p = { 0 };
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	uvirtio_fake_get_stats(e.fake, &st);
	CHECK(!(st.driver_features & F(RING_RESET)));
	CHECK_EQ(uvirtio_blk_q_reset(uvirtio_blk_get_queue(e.blk, 0)),
		 -EOPNOTSUPP);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_write(e.blk, 0, buf, 4096), 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);

	/* offered, but the legacy interface has no queue_reset */
	blkcfg(&c);
	c.layout = UVIRTIO_FAKE_TRANSITIONAL;
	c.features |= F(RING_RESET);
	p.transport = UVIRTIO_TRANSPORT_LEGACY;
	CHECK_EQ(env_open(&e, &c, &p), 0);
	CHECK_EQ(uvirtio_blk_q_reset(uvirtio_blk_get_queue(e.blk, 0)),
		 -EOPNOTSUPP);
	env_close(&e);
	return PASS;
}

/* A reset that never completes: -ETIMEDOUT, that queue broken, no hang. */
static int t_ring_reset_stuck(void)
{
	struct uvirtio_blk_params p = { .num_queues = 2 };
	struct uvirtio_blk_completion comp[4];
	struct uvirtio_fake_config c;
	struct uvirtio_blk_queue *q0, *q1;
	uint8_t *buf;
	struct env e;

	blkcfg(&c);
	c.features |= F(RING_RESET);
	CHECK_EQ(env_open(&e, &c, &p), 0);
	q0 = uvirtio_blk_get_queue(e.blk, 0);
	q1 = uvirtio_blk_get_queue(e.blk, 1);
	CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
	CHECK_EQ(uvirtio_blk_q_write(q0, 0, buf, 4096, buf), 0);
	CHECK_EQ(uvirtio_fake_inject(e.fake,
				     UVIRTIO_FAKE_FAULT_QUEUE_RESET_STUCK, 0, 0),
		 0);
	CHECK_EQ(uvirtio_blk_q_reset(q0), -ETIMEDOUT);
	CHECK(uvirtio_blk_q_write(q0, 0, buf, 4096, buf) < 0);
	CHECK(uvirtio_blk_q_reset(q0) < 0);
	/* the other queue keeps working */
	CHECK_EQ(uvirtio_blk_q_write(q1, 4096, buf, 4096, buf), 0);
	CHECK_EQ(uvirtio_blk_q_reap(q1, 1, 4, comp, NULL), 1);
	CHECK_EQ(comp[0].ret, 0);
	uvirtio_blk_free_buf(e.blk, buf);
	env_close(&e);
	return PASS;
}

static const struct tcase cases[] = {
	{ "need_event", t_need_event },
	{ "pci_addr", t_pci_addr },
	{ "xlat_table", t_xlat },
	{ "caps_parser", t_caps_parser },
	{ "init_modern", t_init_modern },
	{ "refuse_features_ok", t_refuse_features_ok },
	{ "iommu_access_platform", t_iommu_access_platform },
	{ "no_version1", t_no_version1 },
	{ "config_generation", t_config_generation },
	{ "vq_raw", t_vq_raw },
	{ "blk_matrix", t_blk_matrix },
	{ "legacy_no_msix", t_legacy_no_msix },
	{ "event_idx_wrap", t_event_idx_wrap },
	{ "blk_iov_limits", t_blk_iov_limits },
	{ "blk_tiny_queue", t_blk_tiny_queue },
	{ "blk_commands", t_blk_commands },
	{ "blk_bounce", t_blk_bounce },
	{ "blk_wait", t_blk_wait },
	{ "blk_wait_epoll_removal", t_blk_wait_epoll_removal },
	{ "notification_data", t_notification_data },
	{ "blk_multiqueue", t_blk_multiqueue },
	{ "ring_reset", t_ring_reset },
	{ "ring_reset_unsupported", t_ring_reset_unsupported },
	{ "ring_reset_stuck", t_ring_reset_stuck },
	{ "reap_timeout", t_reap_timeout },
	{ "rng", t_rng },
	{ "rng_slow", t_rng_slow },
	{ "fault_bad_used_id", t_fault_bad_used_id },
	{ "fault_used_id_not_head", t_fault_used_id_not_head },
	{ "fault_vq_not_head", t_vq_fault_not_head },
	{ "fault_bad_used_len", t_fault_bad_used_len },
	{ "fault_used_idx_jump", t_fault_used_idx_jump },
	{ "fault_dup_used", t_fault_dup_used },
	{ "fault_corrupt_desc", t_fault_corrupt_desc },
	{ "fault_needs_reset", t_fault_needs_reset },
	{ "fault_removed", t_fault_removed },
	{ "unmapped_inflight", t_unmapped_inflight },
};

int main(int argc, char **argv)
{
	return harness_main("userlib", cases, sizeof(cases) / sizeof(cases[0]),
			    argc, argv);
}
