// SPDX-License-Identifier: BSD-3-Clause
/*
 * dmabench: time UVIRTIO_DMA_MAP + UVIRTIO_DMA_UNMAP of a large buffer.
 *
 *   dmabench BDF [MiB [4k|2m [repeats]]]
 *
 * The function must be bound to uvirtio.  The buffer is anonymous memory
 * (4k) or MAP_HUGETLB 2 MiB pages (2m; needs vm.nr_hugepages), touched
 * before the first map.  Prints one line per repeat and the medians:
 *   dmabench map_ms=... unmap_ms=... mib=... pages=4k|2m mode=N segs=N
 * Only the UAPI header is used, so it runs against any module version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/uvirtio.h>

#define MAX_REPEATS	15

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned int dom, bus, dev, fn, i, repeats = 5;
	double tmap[MAX_REPEATS], tunmap[MAX_REPEATS], t0;
	struct uvirtio_device_info info = { .size = sizeof(info) };
	struct uvirtio_device_open op = { .size = sizeof(op) };
	uint64_t mib = 1024, len;
	int huge = 0, ctl, flags;
	uint32_t segs = 0;
	uint8_t *buf;

	if (argc < 2 || sscanf(argv[1], "%x:%x:%x.%x", &dom, &bus, &dev,
			       &fn) != 4) {
		fprintf(stderr, "usage: %s BDF [MiB [4k|2m [repeats]]]\n",
			argv[0]);
		return 2;
	}
	if (argc > 2)
		mib = strtoull(argv[2], NULL, 0);
	if (argc > 3)
		huge = !strcmp(argv[3], "2m");
	if (argc > 4)
		repeats = (unsigned int)strtoul(argv[4], NULL, 0);
	if (!mib || !repeats || repeats > MAX_REPEATS) {
		fprintf(stderr, "dmabench: bad size or repeat count\n");
		return 2;
	}
	len = mib << 20;

	ctl = open("/dev/uvirtio", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		perror("dmabench: /dev/uvirtio");
		return 1;
	}
	op.pci_addr = UVIRTIO_PCI_ADDR(dom, bus, dev, fn);
	if (ioctl(ctl, UVIRTIO_DEVICE_OPEN, &op)) {
		perror("dmabench: UVIRTIO_DEVICE_OPEN");
		return 1;
	}
	if (ioctl(op.fd, UVIRTIO_DEVICE_GET_INFO, &info)) {
		perror("dmabench: UVIRTIO_DEVICE_GET_INFO");
		return 1;
	}
	flags = MAP_PRIVATE | MAP_ANONYMOUS;
	if (huge)
		flags |= MAP_HUGETLB;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (buf == MAP_FAILED) {
		perror("dmabench: mmap");
		return 1;
	}
	/* 4k means 4 KiB pages: no transparent huge pages either. */
	if (!huge && madvise(buf, len, MADV_NOHUGEPAGE)) {
		perror("dmabench: madvise");
		return 1;
	}
	memset(buf, 0x5a, len);

	for (i = 0; i < repeats; i++) {
		struct uvirtio_dma_map m = {
			.size = sizeof(m),
			.flags = UVIRTIO_DMA_BIDIRECTIONAL,
			.vaddr = (uintptr_t)buf,
			.length = len,
		};
		struct uvirtio_dma_unmap u = { .size = sizeof(u) };

		t0 = now_ms();
		if (ioctl(op.fd, UVIRTIO_DMA_MAP, &m)) {
			fprintf(stderr, "dmabench: UVIRTIO_DMA_MAP: %s\n",
				strerror(errno));
			return 1;
		}
		tmap[i] = now_ms() - t0;
		segs = m.nr_segments;
		u.handle = m.handle;
		t0 = now_ms();
		if (ioctl(op.fd, UVIRTIO_DMA_UNMAP, &u)) {
			fprintf(stderr, "dmabench: UVIRTIO_DMA_UNMAP: %s\n",
				strerror(errno));
			return 1;
		}
		tunmap[i] = now_ms() - t0;
		printf("dmabench repeat=%u map_ms=%.1f unmap_ms=%.1f\n", i,
		       tmap[i], tunmap[i]);
	}
	qsort(tmap, repeats, sizeof(tmap[0]), cmp_double);
	qsort(tunmap, repeats, sizeof(tunmap[0]), cmp_double);
	printf("dmabench map_ms=%.1f unmap_ms=%.1f mib=%llu pages=%s mode=%u segs=%u repeats=%u\n",
	       tmap[repeats / 2], tunmap[repeats / 2], (unsigned long long)mib,
	       huge ? "2m" : "4k", info.iommu_mode, segs, repeats);
	munmap(buf, len);
	close(op.fd);
	close(ctl);
	return 0;
}
