// SPDX-License-Identifier: GPL-2.0
/*
 * DMA containment tests for uvirtio, on scripts/vm-run.sh's "contain"
 * device set (-d contain).  What each function must do depends on the
 * VM's IOMMU setup, which vm-run.sh passes in UVIRTIO_IOMMU:
 *
 *  - on, strict, pt: the iommu_platform virtio-blk (UVIRTIO_CONTAIN_BLK)
 *    opens TRANSLATED in a domain of its own with isolated MSIs; a device
 *    write to an unmapped IOVA, to a freed DMA buffer's IOVA or to the
 *    physical address of another page is stopped by the IOMMU (canaries
 *    intact, a DMAR fault in the kernel log), in lazy mode too; caller
 *    chosen IOVAs (UVIRTIO_DMA_FIXED_IOVA) and UVIRTIO_IOVA_RANGES; a
 *    group with a sibling (UVIRTIO_CONTAIN_GROUP, two virtio-rng behind a
 *    conventional PCI bridge) opens only when the sibling is not held by
 *    a kernel driver or another device fd.
 *  - nointremap: as above, but the translated device opens only with
 *    allow_unsafe_interrupts=1 (which taints the kernel).
 *  - off, and functions without VIRTIO_F_ACCESS_PLATFORM or without a
 *    virtio 1.x interface: IOMMU mode NONE, no DMA, Bus Master Enable off
 *    and not settable; allow_unsafe_noiommu=1 gives UNSAFE (physical
 *    addresses, tainted).
 *  - UVIRTIO_LOCKDOWN=1 (vm-run.sh -L): DEVICE_OPEN fails with EPERM.
 *
 * The device's DMA is driven through a split virtqueue built by hand, so
 * that a descriptor can carry any IOVA.  Prints "UVIRTIO-SUMMARY
 * dma_map_1g ..." with the time a 1 GiB DMA_MAP and DMA_UNMAP take.
 *
 * Environment: UVIRTIO_IOMMU, UVIRTIO_LOCKDOWN, UVIRTIO_CONTAIN_BLK,
 * UVIRTIO_CONTAIN_NOPLATFORM, UVIRTIO_CONTAIN_TRANSITIONAL,
 * UVIRTIO_CONTAIN_LEGACY, UVIRTIO_CONTAIN_GROUP.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysinfo.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"
#include "uvirtio_rawblk.h"

#define PAGE		4096UL
#define MiB		(1024UL * 1024)
#define GiB		(1024UL * MiB)
#define CANARY		0x5a
#define MSI_START	0xfee00000ULL
#define MSI_LAST	0xfeefffffULL
#define PARAM_DIR	"/sys/module/uvirtio/parameters/"
#define UNSAFE_NOIOMMU	PARAM_DIR "allow_unsafe_noiommu"
#define UNSAFE_INTR	PARAM_DIR "allow_unsafe_interrupts"
#define TAINT_USER_BIT	64
#define LOCKDOWN_FILE	"/sys/kernel/security/lockdown"

/* ------------------------------------------------------------ the setup */

enum regime { R_OFF, R_ON, R_STRICT, R_PT, R_NOINTREMAP, R_UNKNOWN };

static const char *const regime_names[] = {
	"off", "on", "strict", "pt", "nointremap",
};

static bool dir_has_entries(const char *path)
{
	struct dirent *de;
	bool any = false;
	DIR *d = opendir(path);

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

/* The VM's IOMMU setup: UVIRTIO_IOMMU, or (run by hand) a guess. */
static enum regime regime(void)
{
	const char *v = getenv("UVIRTIO_IOMMU");
	unsigned int i;

	if (!v || !*v)
		return dir_has_entries("/sys/class/iommu") ? R_ON : R_OFF;
	for (i = 0; i < R_UNKNOWN; i++)
		if (!strcmp(v, regime_names[i]))
			return i;
	return R_UNKNOWN;
}

static bool locked_down(void)
{
	const char *v = getenv("UVIRTIO_LOCKDOWN");

	return v && !strcmp(v, "1");
}

/* Every test but lockdown_open needs the module and a known setup. */
#define PRECONDITIONS() do {						\
	if (access("/dev/uvirtio", F_OK))				\
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded"); \
	if (locked_down())						\
		SKIP(return, "kernel lockdown (UVIRTIO_LOCKDOWN=1): every open is refused, see lockdown_open"); \
	if (regime() == R_UNKNOWN)					\
		SKIP(return, "UVIRTIO_IOMMU=%s is not a setup this test knows", \
		     getenv("UVIRTIO_IOMMU"));				\
} while (0)

/* A BDF from the environment, else the contain set's default. */
static void env_bdf(const char *name, const char *def, char *bdf, size_t len)
{
	const char *v = getenv(name);

	uv_copy(bdf, len, v && *v ? v : def);
}

/* The @n-th (0 or 1) BDF of UVIRTIO_CONTAIN_GROUP. */
static void group_bdf(unsigned int n, char *bdf, size_t len)
{
	const char *v = getenv("UVIRTIO_CONTAIN_GROUP");
	char buf[128], *save = NULL, *tok;

	uv_copy(buf, sizeof(buf), v && *v ? v : "0000:01:01.0 0000:01:02.0");
	tok = strtok_r(buf, " ", &save);
	while (tok && n--)
		tok = strtok_r(NULL, " ", &save);
	uv_copy(bdf, len, tok ? tok : "");
}

/* Number of the IOMMU group of @bdf, or -1. */
static int group_of(const char *bdf)
{
	char p[PATH_MAX], link[PATH_MAX], *s;
	ssize_t n;

	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s/iommu_group", bdf);
	n = readlink(p, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = 0;
	s = strrchr(link, '/');
	return atoi(s ? s + 1 : link);
}

static long taint(void)
{
	char buf[32];

	if (uv_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)))
		return -1;
	return atol(buf);
}

static bool all_bytes(const volatile uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Physical address of the (present, locked) page at @p, or 0. */
static uint64_t phys_addr(const void *p)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)p / PAGE * 8) != 8)
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	return (e & ((1ULL << 55) - 1)) * PAGE;
}

/* ------------------------------------------------------------ kernel log */

static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Forget the records logged so far. */
static void kmsg_skip(int fd)
{
	lseek(fd, 0, SEEK_END);
}

/* Log records since the last call that mention @what (and @what2). */
static int kmsg_count(int fd, const char *what, const char *what2)
{
	char rec[2048];
	int n = 0;
	ssize_t r;

	while ((r = read(fd, rec, sizeof(rec) - 1)) > 0 ||
	       (r < 0 && errno == EPIPE)) {
		if (r <= 0)
			continue;	/* EPIPE: records were overwritten */
		rec[r] = 0;
		/* the message only, without the SUBSYSTEM=/DEVICE= lines */
		rec[strcspn(rec, "\n")] = 0;
		if (strstr(rec, what) && (!what2 || strstr(rec, what2))) {
			if (n++ < 3)
				ksft_print_msg("kernel: %s\n", strchr(rec, ';') ?
					       strchr(rec, ';') + 1 : rec);
		}
	}
	return n;
}

/* Timestamp (us) of the newest record mentioning @what, and of now. */
static int kmsg_last(const char *what, uint64_t *last, uint64_t *now)
{
	char rec[2048], marker[64];
	unsigned long long ts;
	int fd, wfd;
	ssize_t r;

	snprintf(marker, sizeof(marker), "uvirtio_containment: mark %d\n", getpid());
	wfd = open("/dev/kmsg", O_WRONLY);
	if (wfd < 0)
		return -1;
	r = write(wfd, marker, strlen(marker));
	close(wfd);
	if (r < 0)
		return -1;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	*last = *now = 0;
	while ((r = read(fd, rec, sizeof(rec) - 1)) > 0 ||
	       (r < 0 && errno == EPIPE)) {
		if (r <= 0)
			continue;
		rec[r] = 0;
		if (sscanf(rec, "%*u,%*u,%llu", &ts) != 1)
			continue;
		if (strstr(rec, what))
			*last = ts;
		if (strstr(rec, marker))
			*now = ts;
	}
	close(fd);
	return *now ? 0 : -1;
}

/*
 * The IOMMU driver rate-limits its fault reports (10 lines per 5 s, and
 * each fault interrupt costs three): before a request that must show up
 * as a DMAR fault, wait until 5 s have passed since the last report.
 */
static void dmar_settle(void)
{
	uint64_t last, now;

	if (kmsg_last("DMAR:", &last, &now) || !last)
		return;
	if (now < last + 5300000)
		uv_sleep_us(last + 5300000 - now);
}

/* As kmsg_count(), waiting up to @ms for the first such record. */
static int kmsg_wait(int fd, const char *what, const char *what2,
		     unsigned int ms)
{
	int n = 0;

	for (;;) {
		n += kmsg_count(fd, what, what2);
		if (n || ms < 100)
			return n;
		uv_sleep_us(100000);
		ms -= 100;
	}
}

/* --------------------------------------------------------- the regime */

/* The kernel booted the DMA setup vm-run.sh says it did. */
TEST(regime_matches_boot)
{
	enum regime r = regime();
	static const char *const want[] = {
		[R_ON] = "DMA-FQ", [R_STRICT] = "DMA", [R_PT] = "identity",
		[R_NOINTREMAP] = "DMA-FQ",
	};
	char bdf[32], type[64], p[PATH_MAX], line[512];
	bool ir = false, msi = false;
	FILE *f;

	if (r == R_UNKNOWN)
		SKIP(return, "UVIRTIO_IOMMU=%s is not a setup this test knows",
		     getenv("UVIRTIO_IOMMU"));
	if (!getenv("UVIRTIO_IOMMU"))
		ksft_print_msg("UVIRTIO_IOMMU unset: guessed '%s'\n", regime_names[r]);
	if (r == R_OFF) {
		EXPECT_FALSE(dir_has_entries("/sys/kernel/iommu_groups"))
			TH_LOG("IOMMU groups exist in a VM without an IOMMU");
		return;
	}
	env_bdf("UVIRTIO_CONTAIN_NOPLATFORM", "0000:00:07.0", bdf, sizeof(bdf));
	ASSERT_TRUE(present(bdf)) TH_LOG("%s missing: not the contain device set?", bdf);
	/* a group no test claims: its default domain */
	snprintf(p, sizeof(p), UV_SYSFS_PCI "/%s/iommu_group/type", bdf);
	ASSERT_EQ(0, uv_read_file(p, type, sizeof(type)));
	type[strcspn(type, "\n")] = 0;
	EXPECT_STREQ(want[r], type);
	/* interrupt remapping: IR-PCI-MSI unless nointremap */
	f = fopen("/proc/interrupts", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "PCI-MSI"))
			msi = true;
		if (strstr(line, "IR-PCI-MSI"))
			ir = true;
	}
	fclose(f);
	ASSERT_TRUE(msi) TH_LOG("no PCI MSI interrupt to look at");
	EXPECT_EQ(r != R_NOINTREMAP, ir);
}

/* --------------------------------------------- the translated virtio-blk */

TEST(translated_info)
{
	struct uvirtio_api_version v = { .size = sizeof(v) };
	struct uvirtio_device_info info;
	enum regime r = regime();
	char bdf[32], tag[40];
	int fd, ctl, kmsg;
	long t0;

	PRECONDITIONS();
	ctl = open("/dev/uvirtio", O_RDWR);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, ioctl(ctl, UVIRTIO_GET_API_VERSION, &v));
	close(ctl);
	EXPECT_TRUE(v.caps & UVIRTIO_CAP_OWN_DOMAIN);
	env_bdf("UVIRTIO_CONTAIN_BLK", "0000:00:06.0", bdf, sizeof(bdf));
	if (!present(bdf))
		SKIP(return, "%s missing: not the contain device set (vm-run.sh -d contain)", bdf);
	ASSERT_EQ(0, uv_claim(bdf));
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	snprintf(tag, sizeof(tag), "%s", bdf + 5);
	if (r == R_NOINTREMAP) {
		ASSERT_EQ(0, access(UNSAFE_INTR, W_OK))
			TH_LOG("no writable %s", UNSAFE_INTR);
		ASSERT_EQ(0, uv_write_file(UNSAFE_INTR, "0"));
		/* no interrupt remapping: refused, and said why */
		EXPECT_ERRNO(EPERM, uv_open_device(bdf));
		EXPECT_LT(0, kmsg_wait(kmsg, "uvirtio", tag, 2000))
			TH_LOG("no kernel log line naming %s for the refusal", tag);
		t0 = taint();
		ASSERT_EQ(0, uv_write_file(UNSAFE_INTR, "1"));
		fd = uv_open_device(bdf);
		EXPECT_LE(0, fd) TH_LOG("open with allow_unsafe_interrupts=1: %s",
					strerror(errno));
		if (fd >= 0) {
			EXPECT_EQ(0, get_info(fd, &info));
			EXPECT_EQ(UVIRTIO_IOMMU_TRANSLATED, info.iommu_mode);
			EXPECT_TRUE(info.dma_flags & UVIRTIO_DMA_INFO_OWN_DOMAIN);
			EXPECT_TRUE(info.dma_flags & UVIRTIO_DMA_INFO_UNSAFE_INTERRUPTS);
			EXPECT_FALSE(info.dma_flags & UVIRTIO_DMA_INFO_ISOLATED_MSI);
			EXPECT_TRUE(taint() & TAINT_USER_BIT)
				TH_LOG("taint %ld -> %ld: TAINT_USER not set", t0, taint());
			close(fd);
		}
		EXPECT_EQ(0, uv_write_file(UNSAFE_INTR, "0"));
		/* and the parameter is read at every open */
		EXPECT_ERRNO(EPERM, uv_open_device(bdf));
	} else {
		fd = uv_open_device(bdf);
		ASSERT_LE(0, fd) TH_LOG("DEVICE_OPEN %s: %s", bdf, strerror(errno));
		ASSERT_EQ(0, get_info(fd, &info));
		if (r == R_OFF) {
			EXPECT_EQ(UVIRTIO_IOMMU_NONE, info.iommu_mode);
			EXPECT_EQ(UVIRTIO_UNTRANSLATED_NO_IOMMU, info.untranslated);
			EXPECT_EQ(0, info.dma_flags);
			EXPECT_EQ(0, info.num_iova_ranges);
		} else {
			EXPECT_EQ(UVIRTIO_IOMMU_TRANSLATED, info.iommu_mode);
			EXPECT_EQ(UVIRTIO_UNTRANSLATED_NO, info.untranslated);
			EXPECT_TRUE(info.dma_flags & UVIRTIO_DMA_INFO_OWN_DOMAIN);
			EXPECT_TRUE(info.dma_flags & UVIRTIO_DMA_INFO_ISOLATED_MSI);
			EXPECT_FALSE(info.dma_flags & UVIRTIO_DMA_INFO_UNSAFE_INTERRUPTS);
			EXPECT_LE(1, info.num_iova_ranges);
			/* DMA allowed: bus master on */
			EXPECT_TRUE(pci_command(fd) & PCI_COMMAND_MASTER);
		}
		TH_LOG("%s: iommu_mode %u dma_flags %#x untranslated %u ranges %u",
		       bdf, info.iommu_mode, info.dma_flags, info.untranslated,
		       info.num_iova_ranges);
		close(fd);
	}
	close(kmsg);
	EXPECT_EQ(0, uv_give_back(bdf));
}

/*
 * What the translated-device fixtures share: the kernel log, and without
 * interrupt remapping the opt-in that lets a translated device open
 * (*@param says to turn it off again).
 */
static void contain_setup(struct __test_metadata *_metadata, int *kmsg,
			  bool *param)
{
	*kmsg = kmsg_open();
	ASSERT_LE(0, *kmsg);
	if (regime() == R_NOINTREMAP) {
		ASSERT_EQ(0, uv_write_file(UNSAFE_INTR, "1"))
			TH_LOG("cannot set %s", UNSAFE_INTR);
		*param = true;
	}
}

/*
 * The translated blk, bound to uvirtio; with nointremap the open needs
 * allow_unsafe_interrupts (set last, reset in the teardown).
 */
FIXTURE(xlat) {
	char bdf[32];
	char tag[40];
	int kmsg;
	bool param;
	struct rb rb;
};

FIXTURE_SETUP(xlat)
{
	self->kmsg = -1;
	self->rb.fd = -1;
	PRECONDITIONS();
	if (regime() == R_OFF)
		SKIP(return, "no IOMMU in this VM (UVIRTIO_IOMMU=off): nothing would contain the DMA");
	env_bdf("UVIRTIO_CONTAIN_BLK", "0000:00:06.0", self->bdf, sizeof(self->bdf));
	if (!present(self->bdf))
		SKIP(return, "%s missing: not the contain device set (vm-run.sh -d contain)",
		     self->bdf);
	snprintf(self->tag, sizeof(self->tag), "[%s]", self->bdf + 5);
	ASSERT_EQ(0, uv_claim(self->bdf));
	contain_setup(_metadata, &self->kmsg, &self->param);
}

FIXTURE_TEARDOWN(xlat)
{
	if (self->rb.fd >= 0)
		rb_close(&self->rb);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->param)
		EXPECT_EQ(0, uv_write_file(UNSAFE_INTR, "0"));
	EXPECT_EQ(0, uv_pins_settle(NULL));
	if (self->bdf[0])
		uv_give_back(self->bdf);
}

/* Open and start the ring; ASSERTs that the device is TRANSLATED. */
#define XLAT_START(self) do {						\
	ASSERT_EQ(0, rb_open(&(self)->rb, (self)->bdf))			\
		TH_LOG("%s", (self)->rb.why);				\
	ASSERT_EQ(UVIRTIO_IOMMU_TRANSLATED, (self)->rb.info.iommu_mode); \
	ASSERT_EQ(0, rb_start(&(self)->rb)) TH_LOG("%s", (self)->rb.why); \
} while (0)

/*
 * (a) The read is queued into a page whose IOTLB entry is warm from an
 * earlier read, the page is unmapped, then the read is published.  In
 * lazy mode a domain whose unmap does not flush the IOTLB lets it land.
 */
TEST_F_TIMEOUT(xlat, unmapped_iova, 120)
{
	uint8_t pat[PAGE], *mem, *a, *b, *c;
	uint64_t ia = 0, ib = 0, ic = 0, ha, hb, hc;
	int st, faults;

	XLAT_START(self);
	mem = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	a = mem, b = mem + PAGE, c = mem + 2 * PAGE;
	memset(mem, CANARY, 3 * PAGE);
	/* three separate mappings */
	ASSERT_EQ(0, dma_map(self->rb.fd, a, PAGE, UVIRTIO_DMA_BIDIRECTIONAL, &ia, &ha));
	ASSERT_EQ(0, dma_map(self->rb.fd, b, PAGE, UVIRTIO_DMA_BIDIRECTIONAL, &ib, &hb));
	ASSERT_EQ(0, dma_map(self->rb.fd, c, PAGE, UVIRTIO_DMA_BIDIRECTIONAL, &ic, &hc));
	ASSERT_EQ(0, rb_write_pattern(&self->rb, pat));
	dmar_settle();
	/* while mapped the read lands, and the IOTLB has the page */
	ASSERT_EQ(0, rb_io(&self->rb, VIRTIO_BLK_T_IN, 0, ib, PAGE));
	ASSERT_EQ(0, memcmp(b, pat, PAGE));
	memset(b, CANARY, PAGE);

	rb_queue(&self->rb, VIRTIO_BLK_T_IN, 0, ib, PAGE);
	ASSERT_EQ(0, dma_unmap(self->rb.fd, hb));
	st = rb_publish(&self->rb);
	/* QEMU drops the blocked write and completes the request */
	TH_LOG("request status %d", st);
	EXPECT_TRUE(all_bytes(a, PAGE, CANARY)) TH_LOG("page before the buffer changed");
	EXPECT_TRUE(all_bytes(b, PAGE, CANARY)) TH_LOG("the unmapped page was written");
	EXPECT_TRUE(all_bytes(c, PAGE, CANARY)) TH_LOG("page after the buffer changed");
	faults = kmsg_wait(self->kmsg, "DMAR", self->tag, 5000);
	EXPECT_LT(0, faults) TH_LOG("no DMAR fault for %s in the kernel log", self->tag);
	ksft_print_msg("UVIRTIO-SUMMARY dma_contain_unmapped contained=%d faults_logged=%d\n",
		       all_bytes(mem, 3 * PAGE, CANARY), faults);
	rb_close(&self->rb);
	munmap(mem, 3 * PAGE);
}

/*
 * (b) A DMA_ALLOC buffer, freed while user space still has it mmapped:
 * a request into its old IOVA must not reach the pages.
 */
TEST_F_TIMEOUT(xlat, freed_alloc, 120)
{
	struct uvirtio_dma_alloc x;
	uint8_t pat[PAGE], *p;
	int st, faults;

	XLAT_START(self);
	ASSERT_EQ(0, rb_write_pattern(&self->rb, pat));
	ASSERT_EQ(0, dma_alloc(self->rb.fd, 3 * PAGE, 0, &x, 0));
	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->rb.fd, x.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, CANARY, 3 * PAGE);
	ASSERT_EQ(0, rb_io(&self->rb, VIRTIO_BLK_T_IN, 0, x.iova + PAGE, PAGE));
	ASSERT_EQ(0, memcmp(p + PAGE, pat, PAGE));
	memset(p, CANARY, 3 * PAGE);
	ASSERT_EQ(0, dma_free(self->rb.fd, x.handle));

	dmar_settle();
	st = rb_io(&self->rb, VIRTIO_BLK_T_IN, 0, x.iova + PAGE, PAGE);
	TH_LOG("request status %d", st);
	EXPECT_TRUE(all_bytes(p, PAGE, CANARY)) TH_LOG("page before the buffer changed");
	EXPECT_TRUE(all_bytes(p + PAGE, PAGE, CANARY)) TH_LOG("the freed buffer was written");
	EXPECT_TRUE(all_bytes(p + 2 * PAGE, PAGE, CANARY)) TH_LOG("page after the buffer changed");
	faults = kmsg_wait(self->kmsg, "DMAR", self->tag, 5000);
	EXPECT_LT(0, faults) TH_LOG("no DMAR fault for %s in the kernel log", self->tag);
	ksft_print_msg("UVIRTIO-SUMMARY dma_contain_freed contained=%d faults_logged=%d\n",
		       all_bytes(p, 3 * PAGE, CANARY), faults);
	/* the buffer lives on until munmap: it is still readable */
	munmap(p, 3 * PAGE);
	rb_close(&self->rb);
}

/* (c) The physical address of a page of the process used as an IOVA. */
TEST_F_TIMEOUT(xlat, physical_address, 120)
{
	uint64_t pa = 0, lo, hi;
	uint8_t *mem, *t = NULL;
	unsigned int i;
	int st, faults;

	XLAT_START(self);
	mem = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, CANARY, 3 * PAGE);
	/* a page whose physical address is no IOVA of ours */
	lo = self->rb.iova;
	hi = self->rb.iova + RB_PAGES * PAGE;
	for (i = 1; i < 3 && !t; i++) {
		pa = phys_addr(mem + (i % 3) * PAGE);
		ASSERT_NE(0, pa) TH_LOG("no PFN in /proc/self/pagemap (not root?)");
		if (pa + PAGE <= lo || pa >= hi)
			t = mem + (i % 3) * PAGE;
	}
	ASSERT_NE(NULL, t) TH_LOG("every canary page sits at an IOVA of the ring");
	TH_LOG("canary page at physical %#" PRIx64 ", ring IOVA %#" PRIx64,
	       pa, self->rb.iova);

	dmar_settle();
	st = rb_io(&self->rb, VIRTIO_BLK_T_IN, 0, pa, PAGE);
	TH_LOG("request status %d", st);
	EXPECT_TRUE(all_bytes(mem, 3 * PAGE, CANARY))
		TH_LOG("the device wrote to physical memory it was never given");
	faults = kmsg_wait(self->kmsg, "DMAR", self->tag, 5000);
	EXPECT_LT(0, faults) TH_LOG("no DMAR fault for %s in the kernel log", self->tag);
	ksft_print_msg("UVIRTIO-SUMMARY dma_contain_physical contained=%d faults_logged=%d\n",
		       all_bytes(mem, 3 * PAGE, CANARY), faults);
	rb_close(&self->rb);
	munmap(mem, 3 * PAGE);
}

static bool in_ranges(const struct uvirtio_iova_range *r, int n, uint64_t start,
		      uint64_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (start >= r[i].start && start + len - 1 <= r[i].last)
			return true;
	return false;
}

TEST_F(xlat, iova_ranges)
{
	struct uvirtio_iova_range r[64], one[2];
	struct uvirtio_iova_ranges q = { .size = sizeof(q) };
	int n, i;

	XLAT_START(self);
	/* the count alone */
	ASSERT_EQ(0, ioctl(self->rb.fd, UVIRTIO_IOVA_RANGES, &q));
	n = q.num_ranges;
	EXPECT_EQ(self->rb.info.num_iova_ranges, n);
	/* at least the ranges below and above the MSI window */
	ASSERT_LE(2, n);
	ASSERT_GT(64, n);
	memset(r, 0xa5, sizeof(r));
	ASSERT_EQ(n, iova_ranges(self->rb.fd, r, 64));
	for (i = 0; i < n; i++) {
		TH_LOG("range %d: %#llx-%#llx", i, r[i].start, r[i].last);
		EXPECT_LE(r[i].start, r[i].last);
		EXPECT_EQ(0, r[i].start % PAGE);
		EXPECT_EQ(0, (r[i].last + 1) % PAGE);
		if (i)
			EXPECT_LT(r[i - 1].last, r[i].start) TH_LOG("not ascending");
		EXPECT_TRUE(r[i].last < MSI_START || r[i].start > MSI_LAST)
			TH_LOG("range %d overlaps the MSI window", i);
	}
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, r[n].start) TH_LOG("wrote past the count");
	/* a short array: the full count, one entry written */
	memset(one, 0xa5, sizeof(one));
	EXPECT_EQ(n, iova_ranges(self->rb.fd, one, 1));
	EXPECT_EQ(r[0].start, one[0].start);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, one[1].start);
	/* the IOVAs the module chose itself are usable ones */
	EXPECT_TRUE(in_ranges(r, n, self->rb.iova, RB_PAGES * PAGE));
	/* reserved members */
	q.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->rb.fd, UVIRTIO_IOVA_RANGES, &q));
	q.flags = 0;
	q.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->rb.fd, UVIRTIO_IOVA_RANGES, &q));
}

TEST_F(xlat, fixed_iova_errors)
{
	const uint32_t f = UVIRTIO_DMA_BIDIRECTIONAL | UVIRTIO_DMA_FIXED_IOVA;
	struct uvirtio_iova_range r[64];
	struct uvirtio_dma_alloc a;
	uint64_t x = 0, iova, h = 0, h2 = 0;
	uint8_t *mem;
	int n, i, fd;

	ASSERT_EQ(0, rb_open(&self->rb, self->bdf)) TH_LOG("%s", self->rb.why);
	ASSERT_EQ(UVIRTIO_IOMMU_TRANSLATED, self->rb.info.iommu_mode);
	fd = self->rb.fd;
	n = iova_ranges(fd, r, 64);
	ASSERT_LE(1, n) TH_LOG("IOVA_RANGES: %s", strerror(errno));
	/* a place 16 pages into the first range big enough, away from 0 */
	for (i = 0; i < n && !x; i++) {
		uint64_t s = r[i].start < MiB ? MiB : r[i].start;

		if (s < r[i].last && r[i].last - s >= 64 * PAGE)
			x = s + 16 * PAGE;
	}
	ASSERT_NE(0, x) TH_LOG("no usable range of 64 pages");
	mem = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);

	/* inside the MSI window, or reaching into it */
	iova = MSI_START;
	EXPECT_ERRNO(ERANGE, dma_map(fd, mem, PAGE, f, &iova, &h));
	iova = MSI_LAST + 1 - PAGE;
	EXPECT_ERRNO(ERANGE, dma_map(fd, mem, PAGE, f, &iova, &h));
	iova = MSI_START - PAGE;
	EXPECT_ERRNO(ERANGE, dma_map(fd, mem, 2 * PAGE, f, &iova, &h));
	/* beyond the last range (the aperture, the DMA mask) */
	if (r[n - 1].last < ~0ULL - PAGE) {
		iova = r[n - 1].last + 1;
		EXPECT_ERRNO(ERANGE, dma_map(fd, mem, PAGE, f, &iova, &h));
	}
	/* unaligned */
	iova = x + PAGE / 2;
	EXPECT_ERRNO(EINVAL, dma_map(fd, mem, PAGE, f, &iova, &h));
	iova = x + 1;
	EXPECT_ERRNO(EINVAL, dma_map(fd, mem, PAGE, f, &iova, &h));
	/* iova + length wraps */
	iova = ~0ULL - PAGE + 1;
	EXPECT_ERRNO(EOVERFLOW, dma_map(fd, mem, 2 * PAGE, f, &iova, &h));

	/* at x, then overlaps of it */
	iova = x;
	ASSERT_EQ(0, dma_map(fd, mem, PAGE, f, &iova, &h))
		TH_LOG("FIXED_IOVA at %#" PRIx64 ": %s", x, strerror(errno));
	EXPECT_EQ(x, iova);
	iova = x;
	EXPECT_ERRNO(EEXIST, dma_map(fd, mem + PAGE, PAGE, f, &iova, &h2));
	iova = x - PAGE;
	EXPECT_ERRNO(EEXIST, dma_map(fd, mem + 2 * PAGE, 2 * PAGE, f, &iova, &h2));
	EXPECT_ERRNO(EEXIST, dma_alloc(fd, PAGE, UVIRTIO_DMA_FIXED_IOVA, &a, x));
	EXPECT_ERRNO(ERANGE, dma_alloc(fd, PAGE, UVIRTIO_DMA_FIXED_IOVA, &a, MSI_START));
	EXPECT_ERRNO(EINVAL, dma_alloc(fd, PAGE, UVIRTIO_DMA_FIXED_IOVA, &a, x + 8));
	/* next to it is fine, for a buffer too */
	iova = x + PAGE;
	EXPECT_EQ(0, dma_map(fd, mem + PAGE, PAGE, f, &iova, &h2));
	EXPECT_EQ(x + PAGE, iova);
	EXPECT_EQ(0, dma_unmap(fd, h2));
	ASSERT_EQ(0, dma_alloc(fd, 2 * PAGE, UVIRTIO_DMA_FIXED_IOVA, &a, x + 2 * PAGE));
	EXPECT_EQ(x + 2 * PAGE, a.iova);
	EXPECT_EQ(0, dma_free(fd, a.handle));
	/* an unmapped IOVA range can be taken again */
	EXPECT_EQ(0, dma_unmap(fd, h));
	iova = x;
	EXPECT_EQ(0, dma_map(fd, mem + 3 * PAGE, PAGE, f, &iova, &h));
	EXPECT_EQ(0, dma_unmap(fd, h));
	/* and the module's own choice stays inside the ranges */
	EXPECT_EQ(0, dma_map(fd, mem, PAGE, UVIRTIO_DMA_BIDIRECTIONAL, &iova, &h));
	EXPECT_TRUE(in_ranges(r, n, iova, PAGE)) TH_LOG("IOVA %#" PRIx64, iova);
	EXPECT_EQ(0, dma_unmap(fd, h));
	munmap(mem, 4 * PAGE);
	rb_close(&self->rb);
}

/*
 * 4 MiB at 4 GiB - 2 MiB: one IOVA run across the 4 GiB line, and the
 * device reads and writes through both halves and across the line.
 */
TEST_F_TIMEOUT(xlat, fixed_iova_4g, 120)
{
	const uint64_t base = 4 * GiB - 2 * MiB, len = 4 * MiB, io = 64 * 1024;
	struct uvirtio_dma_segment seg[4] = {};
	struct uvirtio_dma_map m = {
		.size = sizeof(m),
		.flags = UVIRTIO_DMA_BIDIRECTIONAL | UVIRTIO_DMA_FIXED_IOVA,
		.length = len, .iova = base, .nr_segments = 4,
		.segments = (uintptr_t)seg,
	};
	uint8_t *mem, *pat;
	uint64_t i, off[] = { 0, 2 * MiB - io / 2, len - io };
	unsigned int k;

	ASSERT_EQ(0, rb_open(&self->rb, self->bdf)) TH_LOG("%s", self->rb.why);
	ASSERT_EQ(UVIRTIO_IOMMU_TRANSLATED, self->rb.info.iommu_mode);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	pat = malloc(io);
	ASSERT_NE(NULL, pat);
	for (i = 0; i < io; i++)
		pat[i] = (uint8_t)(i * 13 + 5);
	/* before the ring, so that no IOVA of the module's is in the way */
	m.vaddr = (uintptr_t)mem;
	ASSERT_EQ(0, ioctl(self->rb.fd, UVIRTIO_DMA_MAP, &m))
		TH_LOG("4 MiB at %#" PRIx64 ": %s", base, strerror(errno));
	EXPECT_EQ(base, m.iova);
	EXPECT_TRUE(m.flags & UVIRTIO_DMA_CONTIGUOUS);
	EXPECT_EQ(1, m.nr_segments);
	EXPECT_EQ(base, seg[0].iova);
	EXPECT_EQ(len, seg[0].length);
	ASSERT_EQ(0, rb_start(&self->rb)) TH_LOG("%s", self->rb.why);

	/* the device reads across the line ... */
	memcpy(mem + 2 * MiB - io / 2, pat, io);
	ASSERT_EQ(0, rb_io(&self->rb, VIRTIO_BLK_T_OUT, 8, base + 2 * MiB - io / 2, io));
	/* ... and writes below it, across it, and above it */
	for (k = 0; k < 3; k++) {
		memset(mem, 0, len);
		EXPECT_EQ(0, rb_io(&self->rb, VIRTIO_BLK_T_IN, 8, base + off[k], io))
			TH_LOG("read into IOVA %#" PRIx64, base + off[k]);
		EXPECT_EQ(0, memcmp(mem + off[k], pat, io))
			TH_LOG("data at IOVA %#" PRIx64 " wrong", base + off[k]);
		EXPECT_TRUE(all_bytes(mem, off[k], 0));
		EXPECT_TRUE(all_bytes(mem + off[k] + io, len - off[k] - io, 0));
	}
	rb_close(&self->rb);
	free(pat);
	munmap(mem, len);
}

/* A figure, not a verdict: DMA_MAP + DMA_UNMAP of 1 GiB. */
static int time_map(struct __test_metadata *_metadata, int fd, void *p,
		    const char *pages)
{
	struct uvirtio_dma_map m = {
		.size = sizeof(m), .flags = UVIRTIO_DMA_BIDIRECTIONAL,
		.vaddr = (uintptr_t)p, .length = GiB,
	};
	double t0, t1, t2;
	int ret;

	t0 = uv_now_s();
	ret = ioctl(fd, UVIRTIO_DMA_MAP, &m);
	t1 = uv_now_s();
	EXPECT_EQ(0, ret) TH_LOG("DMA_MAP 1 GiB (%s pages): %s", pages, strerror(errno));
	if (ret)
		return -1;
	EXPECT_TRUE(m.flags & UVIRTIO_DMA_CONTIGUOUS);
	EXPECT_EQ(1, m.nr_segments);
	EXPECT_EQ(0, dma_unmap(fd, m.handle));
	t2 = uv_now_s();
	ksft_print_msg("UVIRTIO-SUMMARY dma_map_1g page_kb=%d map_ms=%d unmap_ms=%d segments=%u\n",
		       strcmp(pages, "4k") ? 2048 : 4, (int)((t1 - t0) * 1000),
		       (int)((t2 - t1) * 1000), m.nr_segments);
	return 0;
}

TEST_F_TIMEOUT(xlat, dma_map_1g, 600)
{
	char old[32] = "0", buf[32];
	struct sysinfo si;
	void *p;

	ASSERT_EQ(0, rb_open(&self->rb, self->bdf)) TH_LOG("%s", self->rb.why);
	ASSERT_EQ(UVIRTIO_IOMMU_TRANSLATED, self->rb.info.iommu_mode);
	ASSERT_EQ(0, sysinfo(&si));
	if ((uint64_t)si.freeram * si.mem_unit < GiB + 512 * MiB)
		SKIP(return, "%lu MiB free: a 1 GiB mapping needs a bigger VM (vm-run.sh -m 3G)",
		     (unsigned long)((uint64_t)si.freeram * si.mem_unit / MiB));

	p = mmap(NULL, GiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	madvise(p, GiB, MADV_NOHUGEPAGE);
	memset(p, 1, GiB);
	time_map(_metadata, self->rb.fd, p, "4k");
	munmap(p, GiB);

	/* 2 MiB pages, from the hugetlb pool */
	uv_read_file("/proc/sys/vm/nr_hugepages", old, sizeof(old));
	if (uv_write_file("/proc/sys/vm/nr_hugepages", "512") ||
	    uv_read_file("/proc/sys/vm/nr_hugepages", buf, sizeof(buf)) ||
	    atoi(buf) < 512) {
		old[strcspn(old, "\n")] = 0;
		uv_write_file("/proc/sys/vm/nr_hugepages", old);
		ksft_print_msg("no 512 free 2 MiB hugepages: 4 KiB figure only\n");
		return;
	}
	p = mmap(NULL, GiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	EXPECT_NE(MAP_FAILED, p) TH_LOG("MAP_HUGETLB: %s", strerror(errno));
	if (p != MAP_FAILED) {
		time_map(_metadata, self->rb.fd, p, "2m");
		munmap(p, GiB);
	}
	old[strcspn(old, "\n")] = 0;
	EXPECT_EQ(0, uv_write_file("/proc/sys/vm/nr_hugepages", old));
}

/* --------------------------------------------------------- the group */

/*
 * Two virtio-rng behind a conventional PCI bridge share one IOMMU group
 * (the bridge takes their requester IDs).
 */
FIXTURE(group) {
	char a[32], b[32];
	int kmsg;
	int fa, fb;
	bool param;
};

FIXTURE_SETUP(group)
{
	self->kmsg = self->fa = self->fb = -1;
	PRECONDITIONS();
	if (regime() == R_OFF)
		SKIP(return, "no IOMMU in this VM (UVIRTIO_IOMMU=off): no IOMMU groups");
	group_bdf(0, self->a, sizeof(self->a));
	group_bdf(1, self->b, sizeof(self->b));
	if (!present(self->a) || !present(self->b))
		SKIP(return, "'%s' and '%s' missing: not the contain device set (UVIRTIO_CONTAIN_GROUP)",
		     self->a, self->b);
	ASSERT_LE(0, group_of(self->a));
	ASSERT_EQ(group_of(self->a), group_of(self->b))
		TH_LOG("%s and %s are not in one IOMMU group", self->a, self->b);
	contain_setup(_metadata, &self->kmsg, &self->param);
}

FIXTURE_TEARDOWN(group)
{
	if (self->fa >= 0)
		close(self->fa);
	if (self->fb >= 0)
		close(self->fb);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->param)
		EXPECT_EQ(0, uv_write_file(UNSAFE_INTR, "0"));
	if (self->a[0])
		uv_give_back(self->a);
	if (self->b[0])
		uv_give_back(self->b);
}

static void expect_translated(struct __test_metadata *_metadata, int fd)
{
	struct uvirtio_device_info info;

	ASSERT_EQ(0, get_info(fd, &info));
	EXPECT_EQ(UVIRTIO_IOMMU_TRANSLATED, info.iommu_mode);
	EXPECT_TRUE(info.dma_flags & UVIRTIO_DMA_INFO_OWN_DOMAIN);
}

TEST_F(group, kernel_driver_sibling)
{
	char drv[64];

	/* b with virtio-pci, a with uvirtio */
	ASSERT_EQ(0, uv_give_back(self->b));
	uv_driver_of(self->b, drv, sizeof(drv));
	ASSERT_STREQ("virtio-pci", drv);
	ASSERT_EQ(0, uv_claim(self->a));
	kmsg_skip(self->kmsg);
	self->fa = uv_open_device(self->a);
	EXPECT_EQ(-1, self->fa);
	EXPECT_EQ(EBUSY, errno) TH_LOG("open: %s", strerror(errno));
	EXPECT_LT(0, kmsg_wait(self->kmsg, "uvirtio", self->b + 5, 2000))
		TH_LOG("no kernel log line naming %s", self->b);
	if (self->fa >= 0) {
		close(self->fa);
		self->fa = -1;
	}
	/* no driver on b at all: the group is a's */
	ASSERT_EQ(0, uv_unbind(self->b));
	uv_driver_of(self->b, drv, sizeof(drv));
	ASSERT_STREQ("", drv);
	self->fa = uv_open_device(self->a);
	ASSERT_LE(0, self->fa) TH_LOG("open with the sibling unbound: %s",
				      strerror(errno));
	expect_translated(_metadata, self->fa);
	/* and a kernel driver cannot take b while a's fd owns the group */
	uv_probe(self->b);
	uv_driver_of(self->b, drv, sizeof(drv));
	EXPECT_STRNE("virtio-pci", drv)
		TH_LOG("virtio-pci bound %s inside a group uvirtio owns", self->b);
}

TEST_F(group, uvirtio_sibling)
{
	ASSERT_EQ(0, uv_claim(self->a));
	ASSERT_EQ(0, uv_claim(self->b));
	self->fa = uv_open_device(self->a);
	ASSERT_LE(0, self->fa) TH_LOG("open %s: %s", self->a, strerror(errno));
	expect_translated(_metadata, self->fa);
	kmsg_skip(self->kmsg);
	self->fb = uv_open_device(self->b);
	EXPECT_EQ(-1, self->fb);
	EXPECT_EQ(EBUSY, errno) TH_LOG("open: %s", strerror(errno));
	EXPECT_LT(0, kmsg_wait(self->kmsg, "uvirtio", self->a + 5, 2000))
		TH_LOG("no kernel log line naming %s", self->a);
	if (self->fb >= 0) {
		close(self->fb);
		self->fb = -1;
	}
	/* the group is free again once a's fd is closed, and vice versa */
	close(self->fa);
	self->fa = -1;
	self->fb = uv_open_device(self->b);
	ASSERT_LE(0, self->fb) TH_LOG("open %s after closing %s: %s",
				      self->b, self->a, strerror(errno));
	expect_translated(_metadata, self->fb);
	EXPECT_ERRNO(EBUSY, uv_open_device(self->a));
}

/* ------------------------------------------------ no translation, no DMA */

FIXTURE(untr) {
	char bdf[32];
	int fd;
	uint8_t *page;
};

FIXTURE_VARIANT(untr) {
	const char *env;
	const char *def;
	int group_index;	/* UVIRTIO_CONTAIN_GROUP entry, or -1 */
	int reason;		/* with an IOMMU; -1: translated then */
};

FIXTURE_VARIANT_ADD(untr, noplatform) {
	.env = "UVIRTIO_CONTAIN_NOPLATFORM", .def = "0000:00:07.0",
	.group_index = -1, .reason = UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM,
};

FIXTURE_VARIANT_ADD(untr, transitional) {
	.env = "UVIRTIO_CONTAIN_TRANSITIONAL", .def = "0000:00:08.0",
	.group_index = -1, .reason = UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM,
};

FIXTURE_VARIANT_ADD(untr, legacy_only) {
	.env = "UVIRTIO_CONTAIN_LEGACY", .def = "0000:00:09.0",
	.group_index = -1, .reason = UVIRTIO_UNTRANSLATED_LEGACY_ONLY,
};

FIXTURE_VARIANT_ADD(untr, platform_blk) {
	.env = "UVIRTIO_CONTAIN_BLK", .def = "0000:00:06.0",
	.group_index = -1, .reason = -1,
};

FIXTURE_VARIANT_ADD(untr, bridged_rng) {
	.env = NULL, .def = NULL, .group_index = 0, .reason = -1,
};

FIXTURE_SETUP(untr)
{
	self->fd = -1;
	self->page = MAP_FAILED;
	PRECONDITIONS();
	if (variant->reason < 0 && regime() != R_OFF)
		SKIP(return, "translated with an IOMMU (see translated_info, group)");
	if (variant->env)
		env_bdf(variant->env, variant->def, self->bdf, sizeof(self->bdf));
	else
		group_bdf(variant->group_index, self->bdf, sizeof(self->bdf));
	if (!present(self->bdf))
		SKIP(return, "'%s' missing: not the contain device set (vm-run.sh -d contain)",
		     self->bdf);
	self->page = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	ASSERT_EQ(0, uv_claim(self->bdf));
	self->fd = uv_open_device(self->bdf);
	ASSERT_LE(0, self->fd) TH_LOG("DEVICE_OPEN %s: %s", self->bdf, strerror(errno));
}

FIXTURE_TEARDOWN(untr)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->page != MAP_FAILED)
		munmap(self->page, 2 * PAGE);
	/* unsafe_noiommu failed half-way: the next tests expect it off */
	if (regime() == R_OFF && !access(UNSAFE_NOIOMMU, W_OK))
		uv_write_file(UNSAFE_NOIOMMU, "0");
	EXPECT_EQ(0, uv_pins_settle(NULL));
	if (self->bdf[0])
		uv_give_back(self->bdf);
}

TEST_F(untr, no_dma)
{
	struct uvirtio_iova_range rg[4];
	struct uvirtio_device_info info;
	struct uvirtio_dma_alloc a;
	uint64_t iova = 16 * MiB, h = 0;
	int cmd, scmd, e;
	uint16_t w;

	ASSERT_EQ(0, get_info(self->fd, &info));
	TH_LOG("%s: device %#x flags %#x iommu_mode %u untranslated %u",
	       self->bdf, info.device, info.flags, info.iommu_mode, info.untranslated);
	EXPECT_EQ(UVIRTIO_IOMMU_NONE, info.iommu_mode);
	EXPECT_EQ(regime() == R_OFF ? UVIRTIO_UNTRANSLATED_NO_IOMMU : variant->reason,
		  info.untranslated);
	EXPECT_EQ(0, info.dma_flags);
	EXPECT_EQ(0, info.num_iova_ranges);
	/* no DMA of any kind */
	EXPECT_ERRNO(EPERM, dma_map(self->fd, self->page, PAGE,
				    UVIRTIO_DMA_BIDIRECTIONAL, NULL, &h));
	EXPECT_ERRNO(EPERM, dma_alloc(self->fd, PAGE, 0, &a, 0));
	EXPECT_ERRNO(EOPNOTSUPP, iova_ranges(self->fd, rg, 4));
	EXPECT_EQ(-1, dma_map(self->fd, self->page, PAGE,
			      UVIRTIO_DMA_BIDIRECTIONAL | UVIRTIO_DMA_FIXED_IOVA,
			      &iova, &h));
	e = errno;
	EXPECT_TRUE(e == EPERM || e == EOPNOTSUPP)
		TH_LOG("FIXED_IOVA on a device without DMA: %s", strerror(e));
	/* Bus Master Enable off, in the device too, and it stays off */
	cmd = pci_command(self->fd);
	ASSERT_LE(0, cmd);
	EXPECT_FALSE(cmd & PCI_COMMAND_MASTER);
	scmd = sysfs_command(self->bdf);
	ASSERT_LE(0, scmd);
	EXPECT_FALSE(scmd & PCI_COMMAND_MASTER);
	w = cmd | PCI_COMMAND_MASTER;
	EXPECT_ERRNO(EPERM, pwrite(self->fd, &w, 2,
				   UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG) +
				   PCI_COMMAND));
	EXPECT_FALSE(pci_command(self->fd) & PCI_COMMAND_MASTER);
	EXPECT_FALSE(sysfs_command(self->bdf) & PCI_COMMAND_MASTER);
	/* ... also after a reset */
	do {
		struct uvirtio_device_reset rs = { .size = sizeof(rs) };

		EXPECT_EQ(0, ioctl(self->fd, UVIRTIO_DEVICE_RESET, &rs));
		EXPECT_FALSE(sysfs_command(self->bdf) & PCI_COMMAND_MASTER);
	} while (0);
}

/*
 * Without an IOMMU, allow_unsafe_noiommu=1: UNSAFE, physical addresses,
 * TAINT_USER (the -i off runs allow it).  With an IOMMU it would taint
 * the kernel of a run that does not allow it.
 */
TEST_F_TIMEOUT(untr, unsafe_noiommu, 60)
{
	struct uvirtio_device_info info;
	struct uvirtio_iova_range rg[4];
	struct uvirtio_dma_alloc a;
	uint64_t iova = 16 * MiB, h = 0, pa;
	struct rb rb;
	int e;

	if (regime() != R_OFF)
		SKIP(return, "an IOMMU is present: the unsafe no-IOMMU mode is checked in the -i off run");
	ASSERT_EQ(0, access(UNSAFE_NOIOMMU, W_OK)) TH_LOG("no writable %s", UNSAFE_NOIOMMU);
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, uv_write_file(UNSAFE_NOIOMMU, "1"));
	e = rb_open(&rb, self->bdf);
	EXPECT_EQ(0, e) TH_LOG("%s", rb.why);
	if (!e) {
		EXPECT_EQ(UVIRTIO_IOMMU_UNSAFE, rb.info.iommu_mode);
		EXPECT_EQ(UVIRTIO_UNTRANSLATED_NO_IOMMU, rb.info.untranslated);
		EXPECT_EQ(0, rb.info.num_iova_ranges);
		EXPECT_TRUE(taint() & TAINT_USER_BIT);
		EXPECT_TRUE(pci_command(rb.fd) & PCI_COMMAND_MASTER);
		/* the IOVA is the physical address */
		pa = phys_addr(self->page);
		ASSERT_NE(0, pa);
		EXPECT_EQ(0, dma_map(rb.fd, self->page, PAGE,
				     UVIRTIO_DMA_BIDIRECTIONAL, &iova, &h));
		EXPECT_EQ(pa, iova);
		EXPECT_EQ(0, dma_unmap(rb.fd, h));
		/* no IOVA space to choose from */
		iova = 16 * MiB;
		EXPECT_ERRNO(EOPNOTSUPP, dma_map(rb.fd, self->page, PAGE,
						 UVIRTIO_DMA_BIDIRECTIONAL |
						 UVIRTIO_DMA_FIXED_IOVA, &iova, &h));
		EXPECT_ERRNO(EOPNOTSUPP, dma_alloc(rb.fd, PAGE, UVIRTIO_DMA_FIXED_IOVA,
						   &a, 16 * MiB));
		EXPECT_ERRNO(EOPNOTSUPP, iova_ranges(rb.fd, rg, 4));
		/* the blk runs on it (the other functions here are rngs) */
		if (rb.info.virtio_id == VIRTIO_ID_BLOCK &&
		    (rb.info.flags & UVIRTIO_DEVICE_INFO_MODERN)) {
			uint8_t pat[PAGE];

			EXPECT_EQ(0, rb_start(&rb)) TH_LOG("%s", rb.why);
			if (rb.mem) {
				EXPECT_EQ(0, rb_write_pattern(&rb, pat));
				memset(rb.data, 0, PAGE);
				EXPECT_EQ(0, rb_io(&rb, VIRTIO_BLK_T_IN, 0,
						   rb.data_iova + PAGE, PAGE));
				EXPECT_EQ(0, memcmp(rb.data + PAGE, pat, PAGE));
			}
		}
		rb_close(&rb);
	}
	EXPECT_EQ(0, uv_write_file(UNSAFE_NOIOMMU, "0"));
	/* the next open is without DMA again */
	self->fd = uv_open_device(self->bdf);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, get_info(self->fd, &info));
	EXPECT_EQ(UVIRTIO_IOMMU_NONE, info.iommu_mode);
}

/* ------------------------------------------------------------ lockdown */

TEST(lockdown_open)
{
	char bdf[32], buf[128];
	int kmsg;

	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (!locked_down())
		SKIP(return, "not under kernel lockdown (UVIRTIO_LOCKDOWN unset; vm-run.sh -L)");
	if (access(LOCKDOWN_FILE, F_OK))
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	ASSERT_EQ(0, uv_read_file(LOCKDOWN_FILE, buf, sizeof(buf)))
		TH_LOG("cannot read %s", LOCKDOWN_FILE);
	ASSERT_TRUE(strstr(buf, "[integrity]") || strstr(buf, "[confidentiality]"))
		TH_LOG("UVIRTIO_LOCKDOWN=1 but the kernel is not locked down: %s", buf);
	env_bdf("UVIRTIO_CONTAIN_BLK", "0000:00:06.0", bdf, sizeof(bdf));
	if (!present(bdf) && uv_find_device(VIRTIO_ID_BLOCK, -1, bdf, sizeof(bdf)))
		SKIP(return, "no virtio-blk function");
	ASSERT_EQ(0, uv_claim(bdf));
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	EXPECT_ERRNO(EPERM, uv_open_device(bdf));
	EXPECT_LT(0, kmsg_wait(kmsg, "ockdown", NULL, 2000))
		TH_LOG("the refusal is not in the kernel log");
	close(kmsg);
	EXPECT_EQ(0, uv_give_back(bdf));
}

TEST_HARNESS_MAIN
