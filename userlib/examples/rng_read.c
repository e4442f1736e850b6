// SPDX-License-Identifier: BSD-3-Clause
/*
 * rng_read - read bytes from a virtio-rng device and hex-dump them.
 *
 *   rng_read 0000:00:05.0 [bytes]
 *   rng_read --fake [bytes]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

int main(int argc, char **argv)
{
	struct uvirtio_backend *be;
	struct uvirtio_fake *fake;
	struct uvirtio_rng *rng;
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 32, i;
	unsigned char *buf;
	ssize_t got;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PCI-ADDR|--fake [bytes]\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "--fake")) {
		struct uvirtio_fake_config c;

		uvirtio_fake_default_config(&c, VIRTIO_ID_RNG);
		r = uvirtio_fake_create(&c, &fake, &be);
	} else {
		r = uvirtio_kmod_open(argv[1], NULL, &be);
	}
	if (r) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	r = uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng);
	if (r) {
		fprintf(stderr, "virtio-rng init: %s\n", strerror(-r));
		uvirtio_backend_close(be);
		return 1;
	}
	buf = malloc(n ? n : 1);
	got = buf ? uvirtio_rng_read(rng, buf, n) : -ENOMEM;
	if (got < 0) {
		fprintf(stderr, "read: %s\n", strerror((int)-got));
	} else {
		for (i = 0; i < (size_t)got; i++)
			printf("%02x%s", buf[i], (i % 32 == 31) ? "\n" : "");
		if (got % 32)
			printf("\n");
	}
	free(buf);
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	return got < 0;
}
