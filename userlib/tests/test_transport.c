// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_transport.c - libuvirtio unit tests of the transport and device initialisation: the modern and
 * legacy PCI layouts, feature negotiation, ACCESS_PLATFORM, config
 * generation.
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

const struct tcase uv_transport_tests[] = {
	{ "init_modern", t_init_modern },
	{ "refuse_features_ok", t_refuse_features_ok },
	{ "iommu_access_platform", t_iommu_access_platform },
	{ "no_version1", t_no_version1 },
	{ "config_generation", t_config_generation },
	{ "legacy_no_msix", t_legacy_no_msix },
};
const size_t uv_transport_ntests = UV_ARRAY_LEN(uv_transport_tests);
