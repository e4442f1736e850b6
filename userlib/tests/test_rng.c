// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_rng.c - libuvirtio unit tests of the virtio-rng driver, fast and rate-limited.
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

/*
 * A polled rng (no MSI-X): the wait spins with a status check and a
 * deadline, so a slow device times out, a late answer is still taken,
 * and NEEDS_RESET ends a read instead of a spin until the timeout.  Bad
 * arguments are refused before anything reaches the device.
 */
static int t_rng_poll_errors(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_rng *rng;
	struct uvirtio_fake *f;
	uint8_t buf[32];
	double t0;

	CHECK_EQ(uvirtio_rng_open(NULL, UVIRTIO_TRANSPORT_AUTO, &rng), -EINVAL);
	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	c.msix_vectors = 0;
	c.rng_delay_ms = 1000;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, NULL), -EINVAL);
	CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng), 0);
	CHECK_EQ(uvirtio_rng_read(NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(uvirtio_rng_read(rng, NULL, 1), -EINVAL);
	CHECK_EQ(uvirtio_rng_read(rng, buf, 0), 0);
	CHECK_EQ(uvirtio_rng_read_some(NULL, buf, 1, 10), -EINVAL);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, 0, 10), 0);
	/* polling: the 5 ms deadline passes before the 1 s answer */
	t0 = secs_of(CLOCK_MONOTONIC);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, sizeof(buf), 5), -ETIMEDOUT);
	CHECK(secs_of(CLOCK_MONOTONIC) - t0 < 0.9);
	/* the request stayed out: the next call gets its answer */
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, sizeof(buf), 3000), sizeof(buf));
	/* NEEDS_RESET: the polling read fails with it, well before 5 s */
	CHECK_EQ(uvirtio_fake_inject(f, UVIRTIO_FAKE_FAULT_NEEDS_RESET, 0, 0), 0);
	t0 = secs_of(CLOCK_MONOTONIC);
	CHECK_EQ(uvirtio_rng_read(rng, buf, sizeof(buf)), -UVIRTIO_ENEEDS_RESET);
	CHECK(secs_of(CLOCK_MONOTONIC) - t0 < 2.0);
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	return PASS;
}

const struct tcase uv_rng_tests[] = {
	{ "rng", t_rng },
	{ "rng_slow", t_rng_slow },
	{ "rng_poll_errors", t_rng_poll_errors },
};
const size_t uv_rng_ntests = UV_ARRAY_LEN(uv_rng_tests);
