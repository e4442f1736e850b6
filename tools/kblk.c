// SPDX-License-Identifier: BSD-3-Clause
/*
 * kblk: the in-kernel side of uvirtio's blk comparisons.
 *
 * Does the same work as the user-space demo (write a pattern, flush, read
 * it back and verify, then a timed 4 KiB QD1 random read/write run) on a
 * block device driven by the kernel's virtio-blk driver, with O_DIRECT so
 * that the page cache is out of the picture.
 *
 *   kblk DEVICE [-n OPS] [-s SPAN_MIB]
 *
 * Prints one "result" line per phase, in the same format as the
 * user-space tools, so that scripts can put them side by side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define BS WL_BS

static int xfer(int fd, int wr, unsigned char *buf, uint64_t lba)
{
	ssize_t n = wr ? pwrite(fd, buf, BS, (off_t)(lba * BS)) :
			 pread(fd, buf, BS, (off_t)(lba * BS));

	if (n != (ssize_t)BS) {
		fprintf(stderr, "kblk: %s at block %" PRIu64 ": %s\n",
			wr ? "write" : "read", lba,
			n < 0 ? strerror(errno) : "short transfer");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long ops = 2000, span_mib = 32, verify_blocks = 256;
	unsigned char *buf, *chk;
	uint64_t seed = WL_SEED, s, t0, nblocks;
	const char *dev;
	int fd, opt;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			ops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			span_mib = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: kblk DEVICE [-n OPS] [-s SPAN_MIB]\n");
			return 2;
		}
	}
	if (optind != argc - 1 || ops == 0 || span_mib == 0) {
		fprintf(stderr, "usage: kblk DEVICE [-n OPS] [-s SPAN_MIB]\n");
		return 2;
	}
	dev = argv[optind];
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "kblk: open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&buf, BS, BS) ||
	    posix_memalign((void **)&chk, BS, BS)) {
		fprintf(stderr, "kblk: out of memory\n");
		return 1;
	}
	nblocks = (uint64_t)span_mib * 1024 * 1024 / BS;
	if (verify_blocks > nblocks)
		verify_blocks = nblocks;

	/* Write a pattern, flush, read it back and verify. */
	for (uint64_t lba = 0; lba < verify_blocks; lba++) {
		wl_fill(buf, lba, seed);
		if (xfer(fd, 1, buf, lba))
			return 1;
	}
	if (fdatasync(fd)) {
		fprintf(stderr, "kblk: flush: %s\n", strerror(errno));
		return 1;
	}
	for (uint64_t lba = 0; lba < verify_blocks; lba++) {
		wl_fill(chk, lba, seed);
		if (xfer(fd, 0, buf, lba))
			return 1;
		if (memcmp(buf, chk, BS)) {
			fprintf(stderr, "kblk: data mismatch at block %" PRIu64 "\n", lba);
			return 1;
		}
	}
	printf("result kernel verify blocks=%lu bytes=%lu ok\n", verify_blocks,
	       verify_blocks * BS);

	/* Timed QD1 4 KiB random writes, then random reads. */
	for (int wr = 1; wr >= 0; wr--) {
		s = seed + (uint64_t)wr;
		t0 = wl_now_ns();
		for (unsigned long i = 0; i < ops; i++) {
			uint64_t lba = wl_rnd(&s) % nblocks;

			if (wr)
				wl_fill(buf, lba, seed);
			if (xfer(fd, wr, buf, lba))
				return 1;
		}
		t0 = wl_now_ns() - t0;
		printf("result kernel rand%s qd=1 bs=4096 ops=%lu iops=%.0f lat_us=%.1f\n",
		       wr ? "write" : "read", ops, ops * 1e9 / (double)t0,
		       (double)t0 / ops / 1000.0);
	}
	close(fd);
	free(buf);
	free(chk);
	return 0;
}
