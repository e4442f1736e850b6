// SPDX-License-Identifier: GPL-2.0
/*
 * Foundation test: move a virtio-rng function from virtio-pci to uvirtio,
 * talk to /dev/uvirtio, and give the function back to virtio-pci, which
 * must drive it again.
 */
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <linux/virtio_ids.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"

static int uv_virtio_child_driver(const char *bdf, char *drv, size_t len)
{
	char pattern[PATH_MAX];
	glob_t g;
	int ret = -1;

	drv[0] = 0;
	snprintf(pattern, sizeof(pattern), UV_SYSFS_PCI "/%s/virtio*", bdf);
	if (glob(pattern, 0, NULL, &g))
		return -1;
	if (g.gl_pathc) {
		char path[PATH_MAX], link[PATH_MAX];
		ssize_t n;

		snprintf(path, sizeof(path), "%s/driver", g.gl_pathv[0]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			uv_copy(drv, len, strrchr(link, '/') + 1);
		}
		ret = 0;
	}
	globfree(&g);
	return ret;
}

static void uv_alarm(int sig)
{
	(void)sig;
}

TEST(rng_to_uvirtio_and_back)
{
	struct uvirtio_api_version ver = { .size = sizeof(ver) };
	char bdf[32], drv[64];
	int ctl, fd;

	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (uv_find_device(VIRTIO_ID_RNG, -1, bdf, sizeof(bdf)))
		SKIP(return, "no virtio-rng PCI function");
	TH_LOG("using %s", bdf);

	ASSERT_EQ(0, uv_claim(bdf)) TH_LOG("could not bind %s to uvirtio", bdf);
	uv_driver_of(bdf, drv, sizeof(drv));
	ASSERT_STREQ("uvirtio", drv);

	ctl = open("/dev/uvirtio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, ioctl(ctl, UVIRTIO_GET_API_VERSION, &ver));
	EXPECT_EQ(UVIRTIO_API_VERSION, ver.version);
	EXPECT_NE(0, ver.caps);
	fd = uv_open_device(bdf);
	ASSERT_LE(0, fd) TH_LOG("DEVICE_OPEN: %s", strerror(errno));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(ctl);

	ASSERT_EQ(0, uv_give_back(bdf));
	uv_driver_of(bdf, drv, sizeof(drv));
	ASSERT_STREQ("virtio-pci", drv);
	/* virtio-pci registered a virtio device again ... */
	ASSERT_EQ(0, uv_virtio_child_driver(bdf, drv, sizeof(drv)));
	/* ... and, if virtio_rng is loaded, it drives it. */
	if (!strcmp(drv, "virtio_rng") && !access("/dev/hwrng", R_OK)) {
		char cur[64] = "", buf[16];
		int h = open("/sys/class/misc/hw_random/rng_current", O_RDONLY);

		if (h >= 0) {
			ssize_t n = read(h, cur, sizeof(cur) - 1);

			cur[n > 0 ? n : 0] = 0;
			close(h);
		}
		if (!strncmp(cur, "virtio_rng", 10)) {
			signal(SIGALRM, uv_alarm);
			alarm(10);
			h = open("/dev/hwrng", O_RDONLY);
			ASSERT_LE(0, h);
			EXPECT_LT(0, read(h, buf, sizeof(buf)));
			alarm(0);
			close(h);
		}
	}
}

TEST_HARNESS_MAIN
