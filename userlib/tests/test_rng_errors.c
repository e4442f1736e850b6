// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_rng_errors.c - libuvirtio unit tests of the rng driver's edges:
 * bad arguments, empty reads, and a device with one MSI-X vector for
 * config and queue together (the shared line the driver services
 * itself) that answers slowly.  Part of test_runner (test_main.c), on
 * the fake device.
 */
#include <errno.h>
#include <string.h>

#include "unit.h"

static int t_rng_bad_args(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	struct uvirtio_rng *rng;
	uint8_t buf[16];

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng), 0);
	CHECK_EQ(uvirtio_rng_read_some(NULL, buf, sizeof(buf), 10), -EINVAL);
	CHECK_EQ(uvirtio_rng_read_some(rng, NULL, sizeof(buf), 10), -EINVAL);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, sizeof(buf), -1), -EINVAL);
	CHECK_EQ(uvirtio_rng_read_some(rng, buf, 0, 10), 0);
	CHECK_EQ(uvirtio_rng_read_some(rng, NULL, 0, 10), 0);
	/* and it reads */
	CHECK(uvirtio_rng_read_some(rng, buf, sizeof(buf), 1000) > 0);
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * One vector: the queue's interrupt arrives on the line shared with
 * config changes, which the driver must service to see its completion;
 * a slow source makes it sleep on that line.
 */
static int t_rng_one_vector_slow(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake_stats st;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	struct uvirtio_rng *rng;
	uint8_t a[64], b[64];

	uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
	c.msix_vectors = 1;
	c.rng_delay_ms = 20;
	c.rng_max_bytes = 32;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng), 0);
	CHECK_EQ(uvirtio_rng_read(rng, a, sizeof(a)), (ssize_t)sizeof(a));
	CHECK_EQ(uvirtio_rng_read(rng, b, sizeof(b)), (ssize_t)sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)));
	uvirtio_fake_get_stats(f, &st);
	CHECK(st.interrupts >= 4);	/* slept: woken by interrupts */
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	return PASS;
}

const struct tcase uv_rng_errors_tests[] = {
	{ "rng_bad_args", t_rng_bad_args },
	{ "rng_one_vector_slow", t_rng_one_vector_slow },
};
const size_t uv_rng_errors_ntests = UV_ARRAY_LEN(uv_rng_errors_tests);
