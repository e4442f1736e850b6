// SPDX-License-Identifier: BSD-3-Clause
/*
 * dmabench: time mapping and unmapping a large buffer for device DMA.
 *
 *   dmabench DEVICE [MiB [4k|2m [repeats [LABEL]]]]
 *
 * DEVICE is a libuvirtio device string: a PCI function bound to uvirtio
 * (0000:00:08.0, pci:...) or to vfio-pci (vfio:0000:00:08.0).  Both go
 * through the same library calls, uvirtio_backend_dma_map() and
 * uvirtio_backend_dma_unmap(): on the module that is UVIRTIO_DMA_MAP /
 * UVIRTIO_DMA_UNMAP on the device fd, on VFIO VFIO_IOMMU_MAP_DMA /
 * VFIO_IOMMU_UNMAP_DMA on the type1 container (pin, IOMMU map, and the
 * reverse with the IOTLB flush), plus the library's translation-table
 * entry, which is the same for both.
 *
 * The buffer is anonymous memory with 4 KiB pages (4k: MADV_NOHUGEPAGE,
 * no transparent huge pages) or MAP_HUGETLB 2 MiB pages (2m; needs
 * vm.nr_hugepages), touched before the first map so that page faults are
 * not timed.  Prints one line per repeat and then the medians, min and max:
 *
 *   dmabench LABEL map_ms=.. unmap_ms=.. map_min_ms=.. map_max_ms=..
 *            unmap_min_ms=.. unmap_max_ms=.. mib=.. pages=4k|2m
 *            iommu=translated|none repeats=N
 *
 * LABEL defaults to the scheme ("kmod" or "vfio").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <uvirtio/backend.h>
#include <uvirtio/open.h>

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

static double median(const double *v, unsigned int n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double tmap[MAX_REPEATS], tunmap[MAX_REPEATS], t0;
	unsigned int i, repeats = 5;
	struct uvirtio_backend *be;
	const char *label;
	uint64_t mib = 1024;
	size_t len;
	int huge = 0, flags, ret, xlat;
	uint8_t *buf;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DEVICE [MiB [4k|2m [repeats [LABEL]]]]\n",
			argv[0]);
		return 2;
	}
	if (argc > 2)
		mib = strtoull(argv[2], NULL, 0);
	if (argc > 3) {
		if (!strcmp(argv[3], "2m"))
			huge = 1;
		else if (strcmp(argv[3], "4k")) {
			fprintf(stderr, "dmabench: page size is 4k or 2m\n");
			return 2;
		}
	}
	if (argc > 4)
		repeats = (unsigned int)strtoul(argv[4], NULL, 0);
	label = argc > 5 ? argv[5] :
		!strncmp(argv[1], "vfio:", 5) ? "vfio" : "kmod";
	if (!mib || mib > (SIZE_MAX >> 21) || !repeats ||
	    repeats > MAX_REPEATS) {
		fprintf(stderr, "dmabench: bad size or repeat count\n");
		return 2;
	}
	len = (size_t)mib << 20;

	ret = uvirtio_backend_open(argv[1], NULL, &be);
	if (ret) {
		fprintf(stderr, "dmabench: open %s: %s\n", argv[1],
			strerror(-ret));
		return 1;
	}
	xlat = uvirtio_backend_iommu_mode(be) == UVIRTIO_BE_IOMMU_TRANSLATED;
	flags = MAP_PRIVATE | MAP_ANONYMOUS;
	if (huge)
		flags |= MAP_HUGETLB;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "dmabench: mmap %llu MiB%s: %s\n",
			(unsigned long long)mib,
			huge ? " of 2 MiB pages (vm.nr_hugepages?)" : "",
			strerror(errno));
		uvirtio_backend_close(be);
		return 1;
	}
	/* 4k means 4 KiB pages: no transparent huge pages either. */
	if (!huge && madvise(buf, len, MADV_NOHUGEPAGE)) {
		perror("dmabench: madvise");
		return 1;
	}
	memset(buf, 0x5a, len);

	for (i = 0; i < repeats; i++) {
		t0 = now_ms();
		ret = uvirtio_backend_dma_map(be, buf, len);
		tmap[i] = now_ms() - t0;
		if (ret) {
			fprintf(stderr, "dmabench: map: %s\n", strerror(-ret));
			return 1;
		}
		t0 = now_ms();
		ret = uvirtio_backend_dma_unmap(be, buf);
		tunmap[i] = now_ms() - t0;
		if (ret) {
			fprintf(stderr, "dmabench: unmap: %s\n", strerror(-ret));
			return 1;
		}
		printf("dmabench-repeat %s repeat=%u map_ms=%.2f unmap_ms=%.2f\n",
		       label, i, tmap[i], tunmap[i]);
	}
	qsort(tmap, repeats, sizeof(tmap[0]), cmp_double);
	qsort(tunmap, repeats, sizeof(tunmap[0]), cmp_double);
	printf("dmabench %s map_ms=%.2f unmap_ms=%.2f map_min_ms=%.2f map_max_ms=%.2f unmap_min_ms=%.2f unmap_max_ms=%.2f mib=%llu pages=%s iommu=%s repeats=%u\n",
	       label, median(tmap, repeats), median(tunmap, repeats), tmap[0],
	       tmap[repeats - 1], tunmap[0], tunmap[repeats - 1],
	       (unsigned long long)mib, huge ? "2m" : "4k",
	       xlat ? "translated" : "none", repeats);
	munmap(buf, len);
	uvirtio_backend_close(be);
	return 0;
}
