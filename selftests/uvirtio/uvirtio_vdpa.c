// SPDX-License-Identifier: GPL-2.0
/*
 * libuvirtio's vhost-vdpa transport against vdpa_sim_blk, and the
 * `uvirtio vdpa` CLI that creates the device.
 *
 * Each test loads vhost_vdpa and vdpa_sim_blk (virtio_vdpa must not be
 * loaded: it would claim the device), creates "uvvdpa0" on the
 * vdpasim_blk management device with `uvirtio vdpa add`, finds its
 * /dev/vhost-vdpa-N and deletes it again with `uvirtio vdpa del`.
 *
 *  - cli.list_add_del: list shows the management device and the device
 *    with its node; duplicate add, unknown management device and unknown
 *    del fail with the documented exit codes.
 *  - blk.verify: uvirtio_vhost_vdpa_open + uvirtio_blk_open (AUTO picks
 *    vhost-vdpa), ACCESS_PLATFORM negotiated, 4 MiB written, read back
 *    and compared, with interrupts (call eventfds) and then polling.
 *  - blk.caller_memory: anonymous and private memory is refused, unmapped
 *    memory is -EFAULT, shared anonymous memory and a memfd region work;
 *    the memfd region outlives a close/re-open of the device on the same
 *    backend (the IOTLB survives the reset).
 *  - blk.exclusive: a second open of the node is -EBUSY; bad paths fail.
 *  - cli_blk: `uvirtio blk vhost-vdpa:NODE info|verify|write|read` and
 *    `uvirtio bench vhost-vdpa:NODE` through the library's device string.
 *  - vm_test_matrix: libuvirtio_vm_test on vhost-vdpa:NODE (features,
 *    GET_ID, random async writes verified, flush, re-open; interrupts and
 *    polling); its KTAP is quoted as diagnostics.
 *
 * VDUSE mode (UVIRTIO_VDPA_BACKEND=vduse; Debian's stock 6.12 kernel,
 * which has no vdpa_sim): the device is qemu-storage-daemon's vduse-blk
 * export "vduse0" of a 128 MiB file in /tmp, made with `uvirtio vdpa add
 * vduse0 vduse`.  Each test loads vdpa, vduse and vhost_vdpa, starts the
 * daemon (UVIRTIO_QSD, default /uvirtio/qsd/run) and waits for
 * /dev/vduse/vduse0; teardown closes every fd, deletes the vdpa device,
 * then stops the daemon with SIGTERM: it must exit with status 0 (7.2
 * aborts when the device is reset with a request in flight) and remove
 * /dev/vduse/vduse0.  The same tests run, with qemu-storage-daemon's
 * features (EVENT_IDX and INDIRECT_DESC, no serial), plus
 *  - backing_file: bytes the CLI writes through the device are in the
 *    daemon's file, and bytes written into the file are read through
 *    libuvirtio.
 *
 * Environment: UVIRTIO_CLI (default /uvirtio/bin/uvirtio), UVIRTIO_VM_TEST
 * (default /uvirtio/tests/libuvirtio_vm_test), UVIRTIO_VDPA_BACKEND
 * (vdpa_sim, the default, or vduse), UVIRTIO_QSD.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/vduse.h>

#include <uvirtio/uvirtio.h>

#include "kselftest_harness.h"

#define VDPA_SYSFS	"/sys/bus/vdpa/devices/"
#define IO_BYTES	(4u << 20)
#define OUT_FILE	"/tmp/uvirtio_vdpa.out"
#define VDUSE_IMG	"/tmp/uvirtio_vduse.img"
#define VDUSE_LOG	"/tmp/uvirtio_qsd.log"
#define VDUSE_DEV	"/dev/vduse/vduse0"
#define VDUSE_BYTES	(128u << 20)

/* What the device is: vdpa_sim_blk (default) or a VDUSE export. */
struct backend {
	const char *name, *devname, *mgmtdev, *classes, *vm_flags;
};

static const struct backend backends[] = {
	{ "vdpa_sim", "uvvdpa0", "vdpasim_blk", "blk",
	  /* no EVENT_IDX, no INDIRECT_DESC, one queue */
	  "blk,noevidx,noind,serial=vdpa_blk_sim" },
	{ "vduse", "vduse0", "vduse", "net,blk", "blk" },
};

static const struct backend *be_mode(void)
{
	const char *m = getenv("UVIRTIO_VDPA_BACKEND");

	return m && !strcmp(m, "vduse") ? &backends[1] : &backends[0];
}

static bool vduse(void)
{
	return be_mode() == &backends[1];
}

static const char *qsd(void)
{
	const char *q = getenv("UVIRTIO_QSD");

	return q && *q ? q : "/uvirtio/qsd/run";
}

static const char *cli(void)
{
	const char *c = getenv("UVIRTIO_CLI");

	return c && *c ? c : "/uvirtio/bin/uvirtio";
}

/* Run the CLI with @args; its output lands in OUT_FILE.  Exit code or -1. */
static int run_cli(const char *args)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s >" OUT_FILE " 2>&1", cli(), args);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool out_has(const char *needle)
{
	char buf[8192];
	ssize_t n;
	int fd = open(OUT_FILE, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static void dump_out(struct __test_metadata *_metadata)
{
	char buf[2048];
	ssize_t n;
	int fd = open(OUT_FILE, O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		TH_LOG("cli output: %s", buf);
	}
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* /dev/vhost-vdpa-N of the device, waiting up to 10 s for it; 0 or -1. */
static int find_node(char *node, size_t len)
{
	struct dirent *de;
	char dir[128];
	int i;

	snprintf(dir, sizeof(dir), VDPA_SYSFS "%s", be_mode()->devname);
	for (i = 0; i < 100; i++) {
		DIR *d = opendir(dir);

		node[0] = 0;
		while (d && (de = readdir(d))) {
			if (!strncmp(de->d_name, "vhost-vdpa-", 11)) {
				snprintf(node, len, "/dev/%s", de->d_name);
				break;
			}
		}
		if (d)
			closedir(d);
		if (node[0] && exists(node))
			return 0;
		sleep_ms(100);
	}
	return -1;
}

static void dump_file(struct __test_metadata *_metadata, const char *path)
{
	char buf[2048];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		TH_LOG("%s: %s", path, buf);
	}
}

/*
 * Start qemu-storage-daemon's vduse-blk export of VDUSE_IMG and wait up to
 * 20 s for VDUSE_DEV.  The daemon gets SIGTERM when this test process
 * ends, so a failed setup does not leave it holding the device.
 * Its pid, or -1 (the reason logged).
 */
static pid_t qsd_start(struct __test_metadata *_metadata)
{
	char name[VDUSE_NAME_MAX] = "vduse0";
	pid_t pid;
	int fd, i, st;

	/*
	 * A daemon that died (a failed test) leaves its VDUSE device: the
	 * wait below must see the new daemon's, so destroy it first.
	 */
	if (exists(VDUSE_DEV)) {
		fd = open("/dev/vduse/control", O_RDWR);
		if (fd < 0 || ioctl(fd, VDUSE_DESTROY_DEV, name))
			TH_LOG("cannot destroy the left-over " VDUSE_DEV ": %s",
			       strerror(errno));
		if (fd >= 0)
			close(fd);
		if (exists(VDUSE_DEV))
			return -1;
	}
	fd = open(VDUSE_IMG, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, VDUSE_BYTES)) {
		TH_LOG("cannot create " VDUSE_IMG ": %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open(VDUSE_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(qsd(), qsd(),
		      "--blockdev", "driver=file,filename=" VDUSE_IMG ",node-name=f0",
		      "--blockdev", "driver=raw,file=f0,node-name=d0",
		      "--export", "type=vduse-blk,id=e0,node-name=d0,"
				  "name=vduse0,writable=on,num-queues=1",
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if (exists(VDUSE_DEV))
			return pid;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			TH_LOG("qemu-storage-daemon exited (status 0x%x)", st);
			dump_file(_metadata, VDUSE_LOG);
			return -1;
		}
		sleep_ms(100);
	}
	TH_LOG("no " VDUSE_DEV " after 20 s");
	dump_file(_metadata, VDUSE_LOG);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/*
 * SIGTERM, then up to 10 s for a clean exit: 0 if it exited with status 0
 * (an abort, e.g. a reset with a request in flight, is a failure).
 */
static int qsd_stop(struct __test_metadata *_metadata, pid_t pid)
{
	int i, st;

	kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			TH_LOG("qemu-storage-daemon ended with status 0x%x", st);
			dump_file(_metadata, VDUSE_LOG);
			return -1;
		}
		sleep_ms(100);
	}
	TH_LOG("qemu-storage-daemon did not exit on SIGTERM");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

FIXTURE(vdpa) {
	char node[300];
	bool created;
	pid_t qsd;
};

FIXTURE_SETUP(vdpa)
{
	const struct backend *m = be_mode();
	char args[256];

	self->created = false;
	self->qsd = -1;
	if (!exists(cli()))
		SKIP(return, "no uvirtio CLI at %s (set UVIRTIO_CLI)", cli());
	if (vduse()) {
		if (!exists(qsd()))
			SKIP(return, "no qemu-storage-daemon at %s (set UVIRTIO_QSD)",
			     qsd());
		if (system("modprobe vduse >/dev/null 2>&1") ||
		    system("modprobe vhost_vdpa >/dev/null 2>&1"))
			SKIP(return, "vduse or vhost_vdpa cannot be loaded "
				     "(the kernel lacks VDPA_USER?)");
	} else if (system("modprobe vhost_vdpa >/dev/null 2>&1") ||
		   system("modprobe vdpa_sim_blk >/dev/null 2>&1")) {
		SKIP(return, "vhost_vdpa or vdpa_sim_blk cannot be loaded "
			     "(the kernel lacks VDPA_SIM_BLOCK?)");
	}
	ASSERT_FALSE(exists("/sys/bus/vdpa/drivers/virtio_vdpa")) {
		TH_LOG("virtio_vdpa is loaded and would claim the device");
	}
	snprintf(args, sizeof(args), VDPA_SYSFS "%s", m->devname);
	if (exists(args)) {
		snprintf(args, sizeof(args), "vdpa del %s", m->devname);
		run_cli(args);	/* left over */
	}
	if (vduse()) {
		self->qsd = qsd_start(_metadata);
		ASSERT_LT(0, self->qsd);
	}
	snprintf(args, sizeof(args), "vdpa add %s %s", m->devname, m->mgmtdev);
	ASSERT_EQ(0, run_cli(args)) {
		dump_out(_metadata);
	}
	self->created = true;
	ASSERT_EQ(0, find_node(self->node, sizeof(self->node))) {
		TH_LOG("no vhost-vdpa node for %s (vhost_vdpa not bound?)",
		       m->devname);
	}
}

FIXTURE_TEARDOWN(vdpa)
{
	const struct backend *m = be_mode();
	char args[256];

	/*
	 * del waits for the node's last close: a failed assertion may have
	 * left the backend open, and this process ends after teardown.
	 * The daemon is stopped last, with the device closed and deleted:
	 * no request can be in flight when VDUSE resets it.
	 */
	close_range(3, ~0u, 0);
	if (self->created) {
		snprintf(args, sizeof(args), "vdpa del %s", m->devname);
		EXPECT_EQ(0, run_cli(args)) {
			dump_out(_metadata);
		}
		snprintf(args, sizeof(args), VDPA_SYSFS "%s", m->devname);
		EXPECT_FALSE(exists(args));
	}
	if (self->qsd > 0) {
		EXPECT_EQ(0, qsd_stop(_metadata, self->qsd));
		/* the daemon destroys its VDUSE device on the way out */
		EXPECT_FALSE(exists(VDUSE_DEV));
	}
}

TEST_F_TIMEOUT(vdpa, cli_list_add_del, 120)
{
	const struct backend *m = be_mode();
	char want[128], args[256];

	ASSERT_EQ(0, run_cli("vdpa list"));
	snprintf(want, sizeof(want), "mgmtdev %s: classes %s", m->mgmtdev,
		 m->classes);
	EXPECT_TRUE(out_has(want)) {
		dump_out(_metadata);
	}
	snprintf(want, sizeof(want), "dev %s: mgmtdev %s type blk",
		 m->devname, m->mgmtdev);
	EXPECT_TRUE(out_has(want)) {
		dump_out(_metadata);
	}
	EXPECT_TRUE(out_has(self->node)) {
		dump_out(_metadata);
	}
	ASSERT_EQ(0, run_cli("vdpa list --json"));
	snprintf(want, sizeof(want), "\"name\": \"%s\"", m->devname);
	EXPECT_TRUE(out_has(want));
	/* duplicate name: 3; unknown management device / device: 4 */
	snprintf(args, sizeof(args), "vdpa add %s %s", m->devname, m->mgmtdev);
	EXPECT_EQ(3, run_cli(args)) {
		dump_out(_metadata);
	}
	EXPECT_EQ(4, run_cli("vdpa add uvvdpa9 no_such_mgmtdev")) {
		dump_out(_metadata);
	}
	EXPECT_TRUE(out_has("no management device 'no_such_mgmtdev'"));
	EXPECT_EQ(4, run_cli("vdpa del uvvdpa9")) {
		dump_out(_metadata);
	}
	snprintf(args, sizeof(args), "vdpa add 'bad/name' %s", m->mgmtdev);
	EXPECT_EQ(2, run_cli(args));
}

/* Fill @buf with a pattern derived from @seed. */
static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i += 4) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		memcpy(buf + i, &x, 4);
	}
}

/* Write @len bytes from @wbuf at @off, read back into @rbuf, compare. */
static int write_read_verify(struct __test_metadata *_metadata,
			     struct uvirtio_blk *blk, uint8_t *wbuf,
			     uint8_t *rbuf, size_t len, uint64_t off)
{
	struct uvirtio_blk_info info;
	size_t chunk, done;
	int ret;

	uvirtio_blk_get_info(blk, &info);
	chunk = 64 * 1024;
	if (info.max_transfer && info.max_transfer < chunk)
		chunk = info.max_transfer & ~(size_t)511;
	if (!chunk)
		return -EINVAL;
	for (done = 0; done < len; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;

		ret = uvirtio_blk_write(blk, off + done, wbuf + done, n);
		if (ret) {
			TH_LOG("write at %zu: %d", done, ret);
			return ret;
		}
	}
	memset(rbuf, 0, len);
	for (done = 0; done < len; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;

		ret = uvirtio_blk_read(blk, off + done, rbuf + done, n);
		if (ret) {
			TH_LOG("read at %zu: %d", done, ret);
			return ret;
		}
	}
	if (memcmp(wbuf, rbuf, len)) {
		TH_LOG("data read back differs");
		return -EIO;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST_F_TIMEOUT(vdpa, blk_verify, 600)
{
	struct uvirtio_blk_params p = { .transport = UVIRTIO_TRANSPORT_AUTO };
	struct uvirtio_backend *be;
	struct uvirtio_blk_info info;
	struct uvirtio_blk *blk;
	uint8_t *w, *r;
	unsigned int pass;
	double t0;

	ASSERT_EQ(0, uvirtio_vhost_vdpa_open(self->node, &be));
	for (pass = 0; pass < 2; pass++) {
		p.poll = pass == 1;
		ASSERT_EQ(0, uvirtio_blk_open(be, &p, &blk));
		EXPECT_STREQ("vhost-vdpa",
			     uvirtio_dev_transport_name(uvirtio_blk_device(blk)));
		uvirtio_blk_get_info(blk, &info);
		TH_LOG("%s: features 0x%" PRIx64 " capacity %" PRIu64
		       " seg_max %u size_max %u max_transfer %" PRIu64
		       " queues %u vectors %u", p.poll ? "poll" : "irq",
		       info.features, info.capacity, info.seg_max,
		       info.size_max, info.max_transfer, info.num_queues,
		       uvirtio_dev_num_vectors(uvirtio_blk_device(blk)));
		EXPECT_TRUE(info.features & (1ull << VIRTIO_F_ACCESS_PLATFORM));
		EXPECT_TRUE(info.features & (1ull << VIRTIO_F_VERSION_1));
		ASSERT_GE(info.capacity, 2 * (uint64_t)IO_BYTES);
		ASSERT_EQ(0, uvirtio_blk_alloc_buf(blk, IO_BYTES, (void **)&w));
		ASSERT_EQ(0, uvirtio_blk_alloc_buf(blk, IO_BYTES, (void **)&r));
		fill(w, IO_BYTES, pass + 1);
		t0 = now_s();
		ASSERT_EQ(0, write_read_verify(_metadata, blk, w, r, IO_BYTES,
					       pass * (uint64_t)IO_BYTES));
		TH_LOG("%s: 4 MiB written, read back, verified in %.2f s",
		       p.poll ? "poll" : "irq", now_s() - t0);
		/* the first pass's data is still there */
		if (pass == 1) {
			fill(w, IO_BYTES, 1);
			EXPECT_EQ(0, uvirtio_blk_read(blk, 0, r, 65536));
			EXPECT_EQ(0, memcmp(w, r, 65536));
		}
		uvirtio_blk_free_buf(blk, w);
		uvirtio_blk_free_buf(blk, r);
		uvirtio_blk_close(blk);
	}
	uvirtio_backend_close(be);
}

TEST_F_TIMEOUT(vdpa, blk_caller_memory, 600)
{
	struct uvirtio_blk_params p = { .transport = UVIRTIO_TRANSPORT_VHOST_VDPA };
	const size_t len = 256 * 1024;
	struct uvirtio_mem_region reg;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	uint8_t *anon, *priv, *shanon, *mfd, *hole;
	char path[] = "/tmp/uvirtio_vdpa_XXXXXX";
	int fd, tfd, ret;

	ASSERT_EQ(0, uvirtio_vhost_vdpa_open(self->node, &be));
	ASSERT_EQ(0, uvirtio_blk_open(be, &p, &blk));

	anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	ret = uvirtio_blk_map_mem(blk, anon, len);
	EXPECT_EQ(-EOPNOTSUPP, ret);
	TH_LOG("dma_map of anonymous memory: %d (%s)", ret, strerror(-ret));
	/*
	 * Refused memory is not in the table: I/O on it goes through the
	 * queue's bounce pool (driver memory, a memfd), and data survives
	 * the trip; with bouncing forbidden it is -EFAULT.
	 */
	{
		struct uvirtio_blk_queue *q = uvirtio_blk_get_queue(blk, 0);
		struct uvirtio_blk_q_stats qs;

		fill(anon, 65536, 5);
		ASSERT_EQ(0, uvirtio_blk_write(blk, 7 << 20, anon, 65536));
		memset(anon, 0, 65536);
		ASSERT_EQ(0, uvirtio_blk_read(blk, 7 << 20, anon, 65536));
		priv = malloc(65536);
		ASSERT_NE(NULL, priv);
		fill(priv, 65536, 5);
		EXPECT_EQ(0, memcmp(anon, priv, 65536));
		free(priv);
		uvirtio_blk_q_get_stats(q, &qs);
		EXPECT_EQ(2, qs.bounced_requests);
		TH_LOG("anonymous memory: %" PRIu64 " requests, %" PRIu64
		       " bytes bounced", qs.bounced_requests, qs.bounced_bytes);
		ASSERT_EQ(0, uvirtio_blk_q_set_bounce(q, 0));
		EXPECT_EQ(-EFAULT, uvirtio_blk_write(blk, 0, anon, 4096));
	}
	/* malloc()ed memory is private too */
	priv = malloc(len);
	ASSERT_NE(NULL, priv);
	EXPECT_EQ(-EOPNOTSUPP, uvirtio_blk_map_mem(blk, priv, len));
	free(priv);

	/* a private mapping of a file is refused as well */
	tfd = mkstemp(path);
	ASSERT_LE(0, tfd);
	unlink(path);
	ASSERT_EQ(0, ftruncate(tfd, len));
	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, tfd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	reg = (struct uvirtio_mem_region){ priv, len, tfd, 0 };
	EXPECT_EQ(-EOPNOTSUPP, uvirtio_backend_dma_map_region(be, &reg));
	munmap(priv, len);
	close(tfd);

	/* memory that is not mapped at all */
	hole = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	munmap(hole, len);
	EXPECT_EQ(-EFAULT, uvirtio_blk_map_mem(blk, hole, len));

	/* shared anonymous memory is shmem: accepted, and I/O works */
	shanon = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shanon);
	ASSERT_EQ(0, uvirtio_blk_map_mem(blk, shanon, len));
	fill(anon, len, 7);
	memcpy(shanon, anon, len);
	ASSERT_EQ(0, uvirtio_blk_write(blk, 8 << 20, shanon, 65536));
	memset(shanon, 0, 65536);
	ASSERT_EQ(0, uvirtio_blk_read(blk, 8 << 20, shanon, 65536));
	EXPECT_EQ(0, memcmp(anon, shanon, 65536));
	EXPECT_EQ(0, uvirtio_blk_unmap_mem(blk, shanon));
	munmap(shanon, len);

	/* a memfd region with its fd; an unaligned start inside it */
	fd = memfd_create("uvirtio_vdpa_test", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, len));
	mfd = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, mfd);
	reg = (struct uvirtio_mem_region){ mfd, len, fd, 0 };
	ASSERT_EQ(0, uvirtio_backend_dma_map_region(be, &reg));
	memcpy(mfd, anon, len);
	ASSERT_EQ(0, uvirtio_blk_write(blk, 9 << 20, mfd + 512, 65536));
	uvirtio_blk_close(blk);

	/* close and re-open on the same backend: the region still works */
	ASSERT_EQ(0, uvirtio_blk_open(be, &p, &blk));
	memset(mfd, 0, len);
	ASSERT_EQ(0, uvirtio_blk_read(blk, 9 << 20, mfd, 65536));
	EXPECT_EQ(0, memcmp(anon + 512, mfd, 65536));
	uvirtio_blk_close(blk);
	EXPECT_EQ(0, uvirtio_backend_dma_unmap(be, mfd));
	munmap(mfd, len);
	close(fd);
	munmap(anon, len);
	uvirtio_backend_close(be);
}

TEST_F_TIMEOUT(vdpa, blk_exclusive, 120)
{
	struct uvirtio_backend *be, *be2 = NULL;

	ASSERT_EQ(0, uvirtio_vhost_vdpa_open(self->node, &be));
	EXPECT_EQ(-EBUSY, uvirtio_vhost_vdpa_open(self->node, &be2));
	EXPECT_EQ(NULL, be2);
	uvirtio_backend_close(be);
	/* closed: it opens again */
	ASSERT_EQ(0, uvirtio_vhost_vdpa_open(self->node, &be));
	uvirtio_backend_close(be);
	EXPECT_EQ(-ENOENT, uvirtio_vhost_vdpa_open("/dev/vhost-vdpa-999", &be));
	EXPECT_EQ(-ENOTTY, uvirtio_vhost_vdpa_open("/dev/null", &be));
	EXPECT_EQ(-EINVAL, uvirtio_vhost_vdpa_open("", &be));
}

TEST_F_TIMEOUT(vdpa, cli_blk, 300)
{
	char args[512];

	snprintf(args, sizeof(args), "blk vhost-vdpa:%s info", self->node);
	ASSERT_EQ(0, run_cli(args)) {
		dump_out(_metadata);
	}
	EXPECT_TRUE(out_has("134217728")) {
		dump_out(_metadata);
	}
	snprintf(args, sizeof(args), "blk vhost-vdpa:%s verify -s 4",
		 self->node);
	ASSERT_EQ(0, run_cli(args)) {
		dump_out(_metadata);
	}
	EXPECT_TRUE(out_has("result uvirtio verify")) {
		dump_out(_metadata);
	}
	dump_out(_metadata);
	/* bytes written by one process are read back by another */
	{
		static uint8_t pat[4096], back[4096];
		int fd;

		fill(pat, sizeof(pat), 42);
		fd = open("/tmp/uvirtio_vdpa.pat", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ASSERT_LE(0, fd);
		ASSERT_EQ((ssize_t)sizeof(pat), write(fd, pat, sizeof(pat)));
		close(fd);
		snprintf(args, sizeof(args), "blk vhost-vdpa:%s write 65536 "
			 "-i /tmp/uvirtio_vdpa.pat", self->node);
		ASSERT_EQ(0, run_cli(args)) {
			dump_out(_metadata);
		}
		snprintf(args, sizeof(args), "blk vhost-vdpa:%s read 65536 4096 "
			 "-o /tmp/uvirtio_vdpa.back", self->node);
		ASSERT_EQ(0, run_cli(args)) {
			dump_out(_metadata);
		}
		fd = open("/tmp/uvirtio_vdpa.back", O_RDONLY);
		ASSERT_LE(0, fd);
		ASSERT_EQ((ssize_t)sizeof(back), read(fd, back, sizeof(back)));
		close(fd);
		EXPECT_EQ(0, memcmp(pat, back, sizeof(pat)));
	}
	/* a figure (TCG, debug kernel: not a benchmark of vdpa_sim) */
	snprintf(args, sizeof(args), "bench vhost-vdpa:%s -t 2 --qd 8",
		 self->node);
	EXPECT_EQ(0, run_cli(args));
	dump_out(_metadata);
	snprintf(args, sizeof(args), "blk vhost-vdpa:/dev/vhost-vdpa-999 info");
	EXPECT_EQ(4, run_cli(args)) {
		dump_out(_metadata);
	}
}

/* VDUSE: the device's bytes are the daemon's file, both ways. */
TEST_F_TIMEOUT(vdpa, backing_file, 300)
{
	struct uvirtio_blk_params p = { .transport = UVIRTIO_TRANSPORT_VHOST_VDPA };
	const uint64_t off_dev = (100ull << 20) + 4096, off_file = 110ull << 20;
	static uint8_t pat[65536], back[65536];
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	char args[512];
	uint8_t *buf;
	int fd;

	if (!vduse())
		SKIP(return, "VDUSE only (UVIRTIO_VDPA_BACKEND=vduse)");
	/* the CLI writes through the device ... */
	fill(pat, sizeof(pat), 77);
	fd = open("/tmp/uvirtio_vduse.pat", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(pat), write(fd, pat, sizeof(pat)));
	close(fd);
	snprintf(args, sizeof(args), "blk vhost-vdpa:%s write %" PRIu64
		 " -i /tmp/uvirtio_vduse.pat", self->node, off_dev);
	ASSERT_EQ(0, run_cli(args)) {
		dump_out(_metadata);
	}
	/* ... and the bytes are in qemu-storage-daemon's backing file */
	fd = open(VDUSE_IMG, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(back), pread(fd, back, sizeof(back), off_dev));
	EXPECT_EQ(0, memcmp(pat, back, sizeof(pat))) {
		TH_LOG("the file at %" PRIu64 " is not what the CLI wrote",
		       off_dev);
	}
	/* bytes put into the file are what libuvirtio reads */
	fill(pat, sizeof(pat), 78);
	ASSERT_EQ((ssize_t)sizeof(pat), pwrite(fd, pat, sizeof(pat), off_file));
	close(fd);
	ASSERT_EQ(0, uvirtio_vhost_vdpa_open(self->node, &be));
	ASSERT_EQ(0, uvirtio_blk_open(be, &p, &blk));
	ASSERT_EQ(0, uvirtio_blk_alloc_buf(blk, sizeof(pat), (void **)&buf));
	memset(buf, 0, sizeof(pat));
	ASSERT_EQ(0, uvirtio_blk_read(blk, off_file, buf, sizeof(pat)));
	EXPECT_EQ(0, memcmp(pat, buf, sizeof(pat))) {
		TH_LOG("libuvirtio read at %" PRIu64 " differs from the file",
		       off_file);
	}
	uvirtio_blk_free_buf(blk, buf);
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
}

TEST_F_TIMEOUT(vdpa, vm_test_matrix, 600)
{
	const char *vt = getenv("UVIRTIO_VM_TEST");
	char cmd[700], line[512];
	FILE *f;
	int st;

	if (!vt || !*vt)
		vt = "/uvirtio/tests/libuvirtio_vm_test";
	if (!exists(vt))
		SKIP(return, "no %s", vt);
	snprintf(cmd, sizeof(cmd), "%s vhost-vdpa:%s=%s >" OUT_FILE " 2>&1",
		 vt, self->node, be_mode()->vm_flags);
	st = system(cmd);
	f = fopen(OUT_FILE, "r");
	while (f && fgets(line, sizeof(line), f))
		printf("#   %s", line);
	if (f)
		fclose(f);
	ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		TH_LOG("%s failed (status %d)", vt, st);
	}
}

TEST_HARNESS_MAIN
