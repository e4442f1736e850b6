// SPDX-License-Identifier: GPL-2.0
/*
 * Keep-alive: a released device is held, not reset, for a re-attach.
 *
 *   args      UVIRTIO_KEEPALIVE, DMA_LIST and DEVICE_OPEN_REATTACH refuse
 *             what they must (also on a device without its own domain)
 *   hold      release with keep-alive armed: the device is kept (LIST
 *             shows it), a plain open is EBUSY, a wrong token EACCES; the
 *             re-attach gets the same buffers at the same IOVAs with their
 *             contents, the state handle, no DMA_MAP mapping left and no
 *             pinned page; a second re-attach is ENOENT
 *   deadline  nobody re-attaches: the device is reset and freed after the
 *             timeout (no buffer, no pin left), the token is refused
 *   unbind    unbinding a kept device frees it at once
 *   corrupt   a restore fed a state buffer whose offsets or queue records
 *             were corrupted fails with -EIO and resets the device
 *             instead of trusting them
 *   killloop  a writer on libuvirtio keeps a journal of acknowledged
 *             writes in persistent memory and is killed with SIGKILL at
 *             random points under I/O; a new process re-attaches,
 *             restores, drains and carries on, UVIRTIO_KA_ROUNDS times
 *             (100): every acknowledged write reads back, no request
 *             completes twice, the device was never reset (every
 *             re-attach finds it DRIVER_OK), and the handover time is
 *             reported
 *
 * Keep-alive needs a translated device: run with intel-iommu and
 * iommu_platform=on devices (scripts/vm-run.sh -i on); elsewhere the
 * tests that need it are skipped, saying so, and "args" checks the
 * refusal.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include <uvirtio/uvirtio.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"

#define KA_MAX_PARAM	"/sys/module/uvirtio/parameters/keepalive_max_ms"

/* An ioctl on a fresh control fd. */
static int ctl_ioctl(unsigned long req, void *arg)
{
	int ctl = open("/dev/uvirtio", O_RDWR), ret, err;

	if (ctl < 0)
		return -1;
	ret = ioctl(ctl, req, arg);
	err = errno;
	close(ctl);
	errno = err;
	return ret;
}

/* The LIST_DEVICES entry of @bdf; 0 or -1. */
static int list_entry(const char *bdf, struct uvirtio_device_entry *out)
{
	struct uvirtio_device_entry e[32];
	struct uvirtio_list_devices ld = {
		.size = sizeof(ld), .count = 32, .entry_size = sizeof(e[0]),
		.entries = (uintptr_t)e,
	};
	unsigned int i;

	if (ctl_ioctl(UVIRTIO_LIST_DEVICES, &ld))
		return -1;
	for (i = 0; i < ld.count && i < 32; i++)
		if (e[i].pci_addr == uv_pci_addr(bdf) &&
		    e[i].transport == UVIRTIO_DEVICE_TRANSPORT_PCI) {
			*out = e[i];
			return 0;
		}
	return -1;
}

static int reattach(const char *bdf, uint64_t token, uint64_t *state)
{
	struct uvirtio_device_open op = {
		.size = sizeof(op), .flags = UVIRTIO_DEVICE_OPEN_REATTACH,
		.pci_addr = uv_pci_addr(bdf), .token = token,
	};

	if (ctl_ioctl(UVIRTIO_DEVICE_OPEN, &op))
		return -1;
	if (state)
		*state = op.state_handle;
	return op.fd;
}

static int arm(int fd, uint32_t ms, uint64_t state, uint64_t *token)
{
	struct uvirtio_keepalive ka = {
		.size = sizeof(ka), .timeout_ms = ms, .state_handle = state,
	};

	if (ioctl(fd, UVIRTIO_KEEPALIVE, &ka))
		return -1;
	*token = ka.token;
	return 0;
}

static int alloc(int fd, uint64_t len, struct uvirtio_dma_alloc *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->length = len;
	return ioctl(fd, UVIRTIO_DMA_ALLOC, a);
}

static unsigned int translated(int fd)
{
	struct uvirtio_device_info di = { .size = sizeof(di) };

	if (ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &di))
		return 0;
	return di.iommu_mode == UVIRTIO_IOMMU_TRANSLATED;
}

/* One line of the device's debugfs stats, or -1. */
static long stat_of(const char *bdf, const char *key)
{
	char path[PATH_MAX], buf[4096], *p;
	size_t kl = strlen(key);

	snprintf(path, sizeof(path), "/sys/kernel/debug/uvirtio/%s/stats", bdf);
	if (uv_read_file(path, buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtol(p + kl + 1, NULL, 0);
	return -1;
}

#define UV_CLI "/uvirtio/bin/uvirtio"

/* Run the CLI; its output (first line holding @bdf) in @line. */
static int cli_line(const char *args, const char *bdf, char *line,
		    size_t len)
{
	char cmd[256];
	FILE *f;
	int st;

	line[0] = 0;
	snprintf(cmd, sizeof(cmd), UV_CLI " %s 2>&1", args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(cmd, sizeof(cmd), f))
		if (!line[0] && strstr(cmd, bdf))
			uv_copy(line, len, cmd);
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool is_blk(const char *bdf)
{
	return uv_virtio_type(bdf) == VIRTIO_ID_BLOCK;
}

FIXTURE(ka) {
	char bdf[32];
	bool give_back;
	bool xlat;
};

FIXTURE_SETUP(ka)
{
	const char *want = getenv("UVIRTIO_KA_BDF");
	const char *cands[] = { "0000:00:09.0", "0000:00:07.0" };
	unsigned int i;
	int fd;

	self->give_back = false;
	self->xlat = false;
	self->bdf[0] = 0;
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	if (want && *want)
		uv_copy(self->bdf, sizeof(self->bdf), want);
	for (i = 0; i < 2 && !self->bdf[0]; i++)
		if (is_blk(cands[i]))
			uv_copy(self->bdf, sizeof(self->bdf), cands[i]);
	if (!self->bdf[0] || !is_blk(self->bdf))
		SKIP(return, "no file-backed virtio-blk function (set UVIRTIO_KA_BDF)");
	if (uv_claim(self->bdf))
		SKIP(return, "could not bind %s to uvirtio", self->bdf);
	self->give_back = true;
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	self->xlat = translated(fd);
	close(fd);
}

FIXTURE_TEARDOWN(ka)
{
	if (self->give_back)
		uv_give_back(self->bdf);
}

#define NEED_XLAT() do {						\
	if (!self->xlat)						\
		SKIP(return, "%s is not translated (keep-alive needs an IOMMU: vm-run.sh -i on)", \
		     self->bdf);						\
} while (0)

TEST_F(ka, args)
{
	struct uvirtio_keepalive ka = { .size = sizeof(ka) };
	struct uvirtio_dma_list dl = { .size = sizeof(dl) };
	struct uvirtio_device_open op = { .size = sizeof(op) };
	struct uvirtio_api_version v = { .size = sizeof(v) };
	char buf[32];
	long max;
	int fd;

	ASSERT_EQ(0, ctl_ioctl(UVIRTIO_GET_API_VERSION, &v));
	ASSERT_TRUE(v.caps & UVIRTIO_CAP_KEEPALIVE);
	ASSERT_EQ(0, uv_read_file(KA_MAX_PARAM, buf, sizeof(buf)));
	max = strtol(buf, NULL, 0);
	ASSERT_LT(0, max);

	/* a token without REATTACH, an output member as input */
	op.pci_addr = uv_pci_addr(self->bdf);
	op.token = 1;
	EXPECT_ERRNO(EINVAL, ctl_ioctl(UVIRTIO_DEVICE_OPEN, &op));
	op.token = 0;
	op.state_handle = 1;
	EXPECT_ERRNO(EINVAL, ctl_ioctl(UVIRTIO_DEVICE_OPEN, &op));
	/* nothing kept: a re-attach finds nothing */
	EXPECT_ERRNO(ENOENT, reattach(self->bdf, 1, NULL));

	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	if (!self->xlat) {
		ka.timeout_ms = 1000;
		EXPECT_ERRNO(EOPNOTSUPP, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
		close(fd);
		return;
	}
	ka.flags = 1u << 7;
	ka.timeout_ms = 1000;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.flags = 0;
	ka.__reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.__reserved = 0;
	ka.timeout_ms = 0;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.timeout_ms = (uint32_t)max + 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.timeout_ms = 1000;
	ka.token = 5;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.token = 0;
	ka.state_handle = 12345;
	EXPECT_ERRNO(ENOENT, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.state_handle = 0;
	ka.flags = UVIRTIO_KEEPALIVE_DISARM;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));
	ka.timeout_ms = 0;
	EXPECT_EQ(0, ioctl(fd, UVIRTIO_KEEPALIVE, &ka));

	dl.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_DMA_LIST, &dl));
	dl.flags = 0;
	dl.count = 1;
	dl.entry_size = 8;
	EXPECT_ERRNO(EINVAL, ioctl(fd, UVIRTIO_DMA_LIST, &dl));
	dl.count = 0;
	EXPECT_EQ(0, ioctl(fd, UVIRTIO_DMA_LIST, &dl));
	EXPECT_EQ(0, dl.count);
	close(fd);
	/* disarmed: the release was ordinary */
	EXPECT_ERRNO(ENOENT, reattach(self->bdf, 1, NULL));
}

TEST_F(ka, hold)
{
	struct uvirtio_dma_buf_entry ents[4];
	struct uvirtio_dma_list dl = {
		.size = sizeof(dl), .count = 4, .entry_size = sizeof(ents[0]),
		.entries = (uintptr_t)ents,
	};
	struct uvirtio_device_info di = { .size = sizeof(di) };
	struct uvirtio_dma_map m = { .size = sizeof(m) };
	struct uvirtio_dma_alloc a1, a2;
	struct uvirtio_device_entry e;
	uint64_t token, state = 0;
	uint8_t *p, *user;
	long pins0;
	int fd, fd2;

	NEED_XLAT();
	pins0 = uv_pins_settle(NULL);
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, alloc(fd, 8192, &a1));
	ASSERT_EQ(0, alloc(fd, 4096, &a2));
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 a1.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, 8192);
	munmap(p, 8192);
	/* user memory that must not stay with the device */
	user = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, user);
	memset(user, 1, 65536);
	m.vaddr = (uintptr_t)user;
	m.length = 65536;
	m.flags = UVIRTIO_DMA_TO_DEVICE | UVIRTIO_DMA_FROM_DEVICE;
	ASSERT_EQ(0, ioctl(fd, UVIRTIO_DMA_MAP, &m));
	ASSERT_EQ(16, uv_pins_settle(NULL) - pins0);

	ASSERT_EQ(0, arm(fd, 20000, a1.handle, &token));
	ASSERT_NE(0, token);
	ASSERT_EQ(0, ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &di));
	EXPECT_TRUE(di.flags & UVIRTIO_DEVICE_INFO_KEEPALIVE);
	EXPECT_FALSE(di.flags & UVIRTIO_DEVICE_INFO_REATTACHED);
	close(fd);

	/* kept: no owner, a deadline, the user pages given back */
	ASSERT_EQ(0, list_entry(self->bdf, &e));
	EXPECT_TRUE(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT);
	EXPECT_FALSE(e.flags & UVIRTIO_DEVICE_ENTRY_OWNED);
	EXPECT_LT(0, e.keepalive_ms);
	EXPECT_GE(20000, e.keepalive_ms);
	EXPECT_EQ(0, uv_pins_settle(NULL) - pins0);
	if (stat_of(self->bdf, "mappings") >= 0)
		EXPECT_EQ(0, stat_of(self->bdf, "mappings"));
	munmap(user, 65536);

	EXPECT_ERRNO(EBUSY, uv_open_device(self->bdf));
	/* the CLI shows it kept, with its deadline (when the VM has it) */
	if (!access(UV_CLI, X_OK)) {
		char line[256], args[64];

		EXPECT_EQ(0, cli_line("list", self->bdf, line, sizeof(line)));
		EXPECT_NE(NULL, strstr(line, "kept:")) {
			TH_LOG("uvirtio list: %s", line);
		}
		snprintf(args, sizeof(args), "info %s", self->bdf);
		EXPECT_NE(0, cli_line(args, self->bdf, line, sizeof(line)));
		EXPECT_NE(NULL, strstr(line, "kept alive")) {
			TH_LOG("uvirtio info: %s", line);
		}
	} else {
		TH_LOG("no %s in this VM: the CLI's view is not checked", UV_CLI);
	}
	EXPECT_ERRNO(EACCES, reattach(self->bdf, token ^ 1, NULL));
	fd2 = reattach(self->bdf, token, &state);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(a1.handle, state);
	memset(&di, 0, sizeof(di));
	di.size = sizeof(di);
	ASSERT_EQ(0, ioctl(fd2, UVIRTIO_DEVICE_GET_INFO, &di));
	EXPECT_TRUE(di.flags & UVIRTIO_DEVICE_INFO_REATTACHED);
	EXPECT_FALSE(di.flags & UVIRTIO_DEVICE_INFO_KEEPALIVE);
	/* a token is good once */
	EXPECT_ERRNO(EBUSY, reattach(self->bdf, token, NULL));
	ASSERT_EQ(0, list_entry(self->bdf, &e));
	EXPECT_FALSE(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT);
	EXPECT_EQ(0, e.keepalive_ms);

	ASSERT_EQ(0, ioctl(fd2, UVIRTIO_DMA_LIST, &dl));
	ASSERT_EQ(2, dl.count);
	EXPECT_EQ(a1.handle, ents[0].handle);
	EXPECT_EQ(a1.iova, ents[0].iova);
	EXPECT_EQ(8192, ents[0].length);
	EXPECT_EQ(a1.mmap_offset, ents[0].mmap_offset);
	EXPECT_EQ(a2.handle, ents[1].handle);
	EXPECT_EQ(a2.iova, ents[1].iova);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd2,
		 ents[0].mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x5a, p[0]);
	EXPECT_EQ(0x5a, p[8191]);
	munmap(p, 8192);
	/* a short list says how many there are */
	dl.count = 1;
	memset(ents, 0, sizeof(ents));
	ASSERT_EQ(0, ioctl(fd2, UVIRTIO_DMA_LIST, &dl));
	EXPECT_EQ(2, dl.count);
	EXPECT_EQ(0, ents[1].handle);
	close(fd2);
	/* not armed again: that release freed everything */
	EXPECT_ERRNO(ENOENT, reattach(self->bdf, token, NULL));
	if (stat_of(self->bdf, "coherent_buffers") >= 0)
		EXPECT_EQ(0, stat_of(self->bdf, "coherent_buffers"));
	EXPECT_EQ(0, uv_pins_settle(NULL) - pins0);
}

TEST_F(ka, deadline)
{
	struct uvirtio_device_entry e;
	struct uvirtio_dma_alloc a;
	uint64_t token;
	int fd, i;

	NEED_XLAT();
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, alloc(fd, 1 << 20, &a));
	ASSERT_EQ(0, arm(fd, 300, 0, &token));
	close(fd);
	ASSERT_EQ(0, list_entry(self->bdf, &e));
	EXPECT_TRUE(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT);
	/* the expiry runs on a workqueue: allow the VM some slack */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, list_entry(self->bdf, &e));
		if (!(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT))
			break;
		uv_sleep_us(50000);
	}
	EXPECT_FALSE(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT);
	EXPECT_ERRNO(ENOENT, reattach(self->bdf, token, NULL));
	if (stat_of(self->bdf, "coherent_bytes") >= 0)
		EXPECT_EQ(0, stat_of(self->bdf, "coherent_bytes"));
	/* and the device is anybody's again */
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	close(fd);
}

TEST_F(ka, unbind)
{
	struct uvirtio_device_entry e;
	uint64_t token;
	int fd;

	NEED_XLAT();
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, arm(fd, 60000, 0, &token));
	close(fd);
	ASSERT_EQ(0, list_entry(self->bdf, &e));
	ASSERT_TRUE(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT);
	ASSERT_EQ(0, uv_unbind(self->bdf));
	EXPECT_NE(0, list_entry(self->bdf, &e));
	ASSERT_EQ(0, uv_claim(self->bdf));
	EXPECT_ERRNO(ENOENT, reattach(self->bdf, token, NULL));
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd);
	close(fd);
}

/*
 * Hand a device over with a deliberate detach, then corrupt one 64-bit
 * word of the state buffer at @off, and re-arm for the restore.
 */
static int handover_corrupted(const char *bdf, uint64_t off, uint64_t val,
			      uint64_t *token)
{
	struct uvirtio_dma_buf_entry ents[16];
	struct uvirtio_dma_list dl = {
		.size = sizeof(dl), .count = 16, .entry_size = sizeof(ents[0]),
		.entries = (uintptr_t)ents,
	};
	struct uvirtio_blk_queue *q;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	uint64_t t, state = 0;
	unsigned int i;
	uint8_t *p;
	void *user;
	int fd, ret;

	ret = uvirtio_kmod_open(bdf, NULL, &be);
	if (!ret)
		ret = uvirtio_blk_open(be, NULL, &blk);
	if (!ret)
		ret = uvirtio_blk_keepalive_enable(blk, 4096, &user);
	if (!ret)
		ret = uvirtio_blk_keepalive_arm(blk, 20000, &t);
	if (ret)
		return ret;
	q = uvirtio_blk_get_queue(blk, 0);
	/* one request left in flight, so the queue record is not empty */
	ret = uvirtio_blk_q_write(q, 0, user, 4096, (void *)7);
	if (ret)
		return ret;
	uvirtio_blk_detach(blk);
	uvirtio_backend_close(be);

	fd = reattach(bdf, t, &state);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, UVIRTIO_DMA_LIST, &dl) ? -errno : -ENOENT;
	for (i = 0; ret == -ENOENT && i < dl.count && i < 16; i++) {
		if (ents[i].handle != state)
			continue;
		p = mmap(NULL, ents[i].length, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, ents[i].mmap_offset);
		if (p == MAP_FAILED)
			break;
		memcpy(p + off, &val, sizeof(val));
		munmap(p, ents[i].length);
		ret = 0;
		break;
	}
	if (!ret)
		ret = arm(fd, 20000, state, token) ? -errno : 0;
	close(fd);
	return ret;
}

TEST_F(ka, corrupt)
{
	/*
	 * blk state header: magic, version, features, nq, poll, user_off,
	 * user_len, total, then q[0]: ring, indir, area, vq_off (72), ...
	 * vq_off of a one-queue state is 128; the queue record has magic,
	 * num, commit (16 bytes), then rec[h] {cookie, seq, wlen,
	 * avail_pos, ndesc}: the word at 128 + 16 + 16 holds head 0's wlen,
	 * avail_pos and ndesc (head 0 is the request left in flight).
	 */
	static const struct { uint64_t off, val; const char *what; } c[] = {
		{ 72, 1ull << 40, "queue record offset out of the buffer" },
		{ 128 + 16 + 16, 0, "an issued head of zero descriptors" },
	};
	struct uvirtio_device_entry e;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	unsigned int i;
	uint64_t token;
	size_t ulen;
	void *user;

	NEED_XLAT();
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, handover_corrupted(self->bdf, c[i].off, c[i].val,
						&token)) {
			TH_LOG("%s: handover failed", c[i].what);
		}
		ASSERT_EQ(0, uvirtio_kmod_reattach(self->bdf, token, NULL, &be));
		EXPECT_EQ(-EIO, uvirtio_blk_restore(be, NULL, &blk, &user,
						    &ulen)) {
			TH_LOG("%s was trusted", c[i].what);
		}
		uvirtio_backend_close(be);
		ASSERT_EQ(0, list_entry(self->bdf, &e));
		EXPECT_FALSE(e.flags & UVIRTIO_DEVICE_ENTRY_KEPT);
	}
}

/* ---- the kill loop ------------------------------------------------------ */

#define KL_BLOCKS	64	/* > queue depth: one write per block at a time */
#define KL_QD		8
#define KL_BS		4096
#define KL_MAXSEQ	(1u << 20)
#define KL_MAGIC	0x6b6c6f6f70ull

/*
 * The writer's own persistent state, in the library's user area: a
 * journal of acknowledged writes and of every completion seen.
 */
struct kl_journal {
	uint64_t magic;
	uint64_t next_seq;		/* next tag to issue (from 1) */
	uint64_t issued[KL_BLOCKS];	/* last tag issued to the block */
	uint64_t acked[KL_BLOCKS];	/* last tag acknowledged */
	uint64_t completions, canceled, dups, errors;
	uint8_t seen[KL_MAXSEQ / 8];	/* tag completed (once) */
	uint8_t data[KL_BLOCKS][KL_BS] __attribute__((aligned(4096)));
};

/* Shared with the parent (MAP_SHARED | MAP_ANONYMOUS, survives kills). */
struct kl_shared {
	uint64_t token;			/* for the next re-attach */
	double kill_t;			/* when the parent killed the writer */
	double handover_ms[512];	/* kill to first completion */
	unsigned int nhandover;
	unsigned int rounds_done;
	int not_running;		/* a re-attach found it not DRIVER_OK */
	uint64_t issued, completions, canceled;	/* the verifier's count */
	int fail_line;			/* a writer's failed check */
	int fail_err;
	int stage;			/* where the writer is (for a hang) */
};

static void fill(uint8_t *d, uint64_t tag, unsigned int blk)
{
	uint64_t *w = (uint64_t *)d;
	unsigned int i;

	for (i = 0; i < KL_BS / 8; i++)
		w[i] = tag * 0x9e3779b97f4a7c15ull ^ ((uint64_t)blk << 48 | i);
}

/* Which tag wrote @d (0 if none fits @blk). */
static uint64_t tag_of(const uint8_t *d, unsigned int blk, uint64_t max)
{
	const uint64_t *w = (const uint64_t *)d;
	uint64_t t;

	for (t = blk; t <= max; t += KL_BLOCKS) {
		if (!t)
			continue;
		if (w[0] == (t * 0x9e3779b97f4a7c15ull ^ ((uint64_t)blk << 48)) &&
		    w[KL_BS / 8 - 1] == (t * 0x9e3779b97f4a7c15ull ^
					 ((uint64_t)blk << 48 | (KL_BS / 8 - 1))))
			return t;
	}
	return 0;
}

#define KL_CHECK(sh, cond, err) do {					\
	if (!(cond)) {							\
		(sh)->fail_line = __LINE__;				\
		(sh)->fail_err = (err);					\
		_exit(3);						\
	}								\
} while (0)

static void kl_complete(struct kl_journal *j,
			const struct uvirtio_blk_completion *c)
{
	uint64_t tag = (uintptr_t)c->user_data;
	unsigned int blk = tag % KL_BLOCKS;

	if (!tag || tag >= KL_MAXSEQ) {
		j->errors++;
		return;
	}
	if (j->seen[tag / 8] & (1u << (tag % 8))) {
		j->dups++;
		return;
	}
	j->seen[tag / 8] |= 1u << (tag % 8);
	j->completions++;
	if (c->ret == -ECANCELED) {
		j->canceled++;
		return;
	}
	if (c->ret) {
		j->errors++;
		return;
	}
	if (tag > j->acked[blk])
		j->acked[blk] = tag;
}

/*
 * One writer generation: take over (or start), drain what the previous one
 * left, then write until killed.  @first: open afresh.
 */
static void kl_writer(const char *bdf, struct kl_shared *sh, bool first,
		      bool verify_only)
{
	const struct timespec tmo = { .tv_sec = 20 };
	struct uvirtio_blk_completion c[KL_QD];
	struct uvirtio_blk_queue *q;
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct kl_journal *j;
	uint64_t token;
	bool timed = false;
	size_t ulen;
	void *user;
	int ret, n, i;

	sh->stage = 1;
	if (first) {
		ret = uvirtio_kmod_open(bdf, NULL, &be);
		KL_CHECK(sh, !ret, ret);
		ret = uvirtio_blk_open(be, NULL, &blk);
		KL_CHECK(sh, !ret, ret);
		ret = uvirtio_blk_keepalive_enable(blk, sizeof(*j), &user);
		KL_CHECK(sh, !ret, ret);
		j = user;
		j->magic = KL_MAGIC;
		j->next_seq = 1;
	} else {
		ret = uvirtio_kmod_reattach(bdf, sh->token, NULL, &be);
		KL_CHECK(sh, !ret, ret);
		/* uvirtio_dev_attach() checks DRIVER_OK: never reset */
		ret = uvirtio_blk_restore(be, NULL, &blk, &user, &ulen);
		if (ret == -EIO)
			sh->not_running = 1;
		KL_CHECK(sh, !ret, ret);
		KL_CHECK(sh, ulen >= sizeof(*j), (int)ulen);
		j = user;
		KL_CHECK(sh, j->magic == KL_MAGIC, 0);
	}
	q = uvirtio_blk_get_queue(blk, 0);
	sh->stage = 2;
	/* What the previous writer left in flight completes first. */
	while (uvirtio_blk_q_restoring(q)) {
		KL_CHECK(sh, uvirtio_blk_q_write(q, 0, j->data[0], KL_BS,
						 (void *)1) == -EBUSY, 0);
		n = uvirtio_blk_q_reap(q, 1, KL_QD, c, &tmo);
		KL_CHECK(sh, n > 0, n);
		for (i = 0; i < n; i++)
			kl_complete(j, &c[i]);
		if (!timed) {
			sh->handover_ms[sh->nhandover++ % 512] =
				(uv_now_s() - sh->kill_t) * 1000;
			timed = true;
		}
	}
	sh->stage = 3;
	/* Nothing of the previous owner is left unaccounted for. */
	KL_CHECK(sh, uvirtio_backend_restored_release(be) == 0, 0);
	if (verify_only) {
		uint8_t *rd = j->data[0];

		/* every acknowledged write reads back (or a later one) */
		for (i = 0; i < KL_BLOCKS; i++) {
			uint64_t t;

			ret = uvirtio_blk_read(blk, (uint64_t)i * KL_BS, rd,
					       KL_BS);
			KL_CHECK(sh, !ret, ret);
			t = tag_of(rd, i, j->issued[i]);
			KL_CHECK(sh, t && t >= j->acked[i] && t <= j->issued[i],
				 i);
		}
		KL_CHECK(sh, !j->dups && !j->errors, (int)(j->dups + j->errors));
		sh->issued = j->next_seq - 1;
		sh->completions = j->completions;
		sh->canceled = j->canceled;
		uvirtio_blk_close(blk);
		uvirtio_backend_close(be);
		_exit(0);
	}
	ret = uvirtio_blk_keepalive_arm(blk, 30000, &token);
	KL_CHECK(sh, !ret, ret);
	__atomic_store_n(&sh->token, token, __ATOMIC_SEQ_CST);
	sh->stage = 4;
	sh->rounds_done++;
	for (;;) {
		/* keep KL_QD writes out, one per block */
		while (uvirtio_blk_q_in_flight(q) < KL_QD &&
		       j->next_seq < KL_MAXSEQ) {
			uint64_t tag = j->next_seq;
			unsigned int b = tag % KL_BLOCKS;

			fill(j->data[b], tag, b);
			j->issued[b] = tag;
			j->next_seq = tag + 1;
			ret = uvirtio_blk_q_write(q, (uint64_t)b * KL_BS,
						  j->data[b], KL_BS,
						  (void *)(uintptr_t)tag);
			KL_CHECK(sh, !ret, ret);
		}
		n = uvirtio_blk_q_reap(q, 1, 1, c, &tmo);
		KL_CHECK(sh, n == 1, n);
		kl_complete(j, &c[0]);
	}
}

static int cmp_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

TEST_F_TIMEOUT(ka, killloop, 600)
{
	const char *r = getenv("UVIRTIO_KA_ROUNDS");
	unsigned int rounds = r && *r ? (unsigned int)atoi(r) : 100, k;
	bool verbose = getenv("UVIRTIO_KA_VERBOSE");
	struct kl_shared *sh;
	double sum = 0, mx = 0, p50 = 0, t0;
	unsigned int nh;
	pid_t pid;
	int st;

	NEED_XLAT();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	srandom(getpid());
	for (k = 0; k <= rounds; k++) {
		unsigned int before = sh->rounds_done;

		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			kl_writer(self->bdf, sh, k == 0, k == rounds);
		if (k == rounds)
			break;
		/* wait until it runs, then kill it at a random point */
		t0 = uv_now_s();
		while (sh->rounds_done == before && !sh->fail_line &&
		       waitpid(pid, &st, WNOHANG) == 0 &&
		       uv_now_s() - t0 < 60)
			uv_sleep_us(1000);
		ASSERT_EQ(0, sh->fail_line) {
			TH_LOG("round %u: writer failed at line %d (%d)", k,
			       sh->fail_line, sh->fail_err);
		}
		ASSERT_NE(before, sh->rounds_done) {
			kill(pid, SIGKILL);
			TH_LOG("round %u: the writer is stuck at stage %d", k,
			       sh->stage);
		}
		if (verbose)
			ksft_print_msg("round %u: writer %d running\n", k, pid);
		uv_sleep_us(random() % 20000);
		sh->kill_t = uv_now_s();
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFSIGNALED(st)) {
			TH_LOG("round %u: the writer exited (%d) before the kill",
			       k, WEXITSTATUS(st));
		}
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_EQ(0, sh->not_running);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		TH_LOG("verifier failed at line %d (%d)", sh->fail_line,
		       sh->fail_err);
	}
	/*
	 * Every tag issued completed exactly once (dups are checked by the
	 * verifier), but for at most two per kill: one taken from the
	 * journal before it was handed to the library, one whose
	 * completion was returned to a writer killed before it wrote it
	 * down.  The library loses none: a restore returns the rest.
	 */
	EXPECT_GE(2ull * rounds, sh->issued - sh->completions);
	TH_LOG("%llu writes issued, %llu completed (%llu canceled: queued but never submitted), %llu in kill windows",
	       (unsigned long long)sh->issued,
	       (unsigned long long)sh->completions,
	       (unsigned long long)sh->canceled,
	       (unsigned long long)(sh->issued - sh->completions));
	nh = sh->nhandover < 512 ? sh->nhandover : 512;
	for (k = 0; k < nh; k++) {
		sum += sh->handover_ms[k];
		if (sh->handover_ms[k] > mx)
			mx = sh->handover_ms[k];
	}
	qsort(sh->handover_ms, nh, sizeof(sh->handover_ms[0]), cmp_ms);
	if (nh)
		p50 = nh % 2 ? sh->handover_ms[nh / 2] :
		      (sh->handover_ms[nh / 2 - 1] + sh->handover_ms[nh / 2]) / 2;
	TH_LOG("%u kills, %u handovers with requests in flight: mean %.1f ms, p50 %.1f ms, max %.1f ms (kill to the first completion in the new process, TCG)",
	       rounds, sh->nhandover, nh ? sum / nh : 0, p50, mx);
	ksft_print_msg("keepalive: kills=%u handovers=%u handover_mean_ms=%.2f handover_p50_ms=%.2f handover_min_ms=%.2f handover_max_ms=%.2f\n",
		       rounds, sh->nhandover, nh ? sum / nh : 0, p50,
		       nh ? sh->handover_ms[0] : 0, mx);
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
