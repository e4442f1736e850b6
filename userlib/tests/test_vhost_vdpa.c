// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_vhost_vdpa.c - host tests of the vhost-vdpa backend and transport
 * against a fake kernel: src/vhost_vdpa.c is compiled into this program
 * with ioctl() and write() redirected to a model of drivers/vhost/vdpa.c
 * (status, features, config, an IOTLB that refuses overlaps and ranges
 * outside the IOVA range, per-queue state).  The model can lie: no
 * IOTLB v2, device id 0, no queues, 1000 queues, a huge config space, an
 * empty IOVA range, queue size 0, no ACCESS_PLATFORM; and fail any one
 * system call (t_fail_nth).  And a virtio-net device whose control
 * queue a thread of the test answers (OK, ERR, a bad ack, no ack, never):
 * the driver's receive filter calls and their errors (t_net_ctrl_*).
 *
 * The real thing is tested in the VM: selftests/uvirtio/uvirtio_vdpa.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "harness.h"

/* ---- the fake kernel --------------------------------------------------- */

#define FK_MAXQ		4
#define FK_MAXTLB	256

struct fk_tlb {
	uint64_t iova, size, uaddr;
};

static struct fake_kernel {
	int fd;			/* the fd the backend opened (/dev/null) */
	/* what the "device" reports */
	uint64_t backend_offer;
	uint64_t features_offer;
	uint32_t device_id, nvqs, config_size;
	uint16_t vring_num;
	uint64_t iova_first, iova_last;
	uint8_t config[256];
	/* state */
	bool owner;
	uint64_t backend_acked, features_acked;
	uint8_t status;
	struct fk_tlb tlb[FK_MAXTLB];
	unsigned int ntlb;
	unsigned int updates, invalidates, bad_msgs, resets;
	struct {
		uint32_t num;
		uint64_t desc, avail, used;
		int kick, call;
		bool enabled;
	} q[FK_MAXQ];
	int config_call;
	/* the fail_at-th ioctl or IOTLB write from now fails with EIO */
	unsigned int fail_at, failed;
	bool failed_write;
} fk;

static bool fk_fail_now(bool is_write)
{
	if (!fk.fail_at || --fk.fail_at)
		return false;
	fk.failed++;
	fk.failed_write = is_write;
	return true;
}

static void fk_defaults(void)
{
	unsigned int i;

	memset(&fk, 0, sizeof(fk));
	fk.fd = -1;
	fk.backend_offer = (1ull << VHOST_BACKEND_F_IOTLB_MSG_V2) |
			   (1ull << VHOST_BACKEND_F_IOTLB_BATCH);
	fk.features_offer = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VIRTIO_F_ACCESS_PLATFORM) |
			    (1ull << VIRTIO_BLK_F_SEG_MAX) |
			    (1ull << VIRTIO_BLK_F_FLUSH);
	fk.device_id = VIRTIO_ID_BLOCK;
	fk.nvqs = 1;
	fk.config_size = sizeof(struct virtio_blk_config);
	fk.vring_num = 256;
	fk.iova_first = 0;
	fk.iova_last = UINT64_MAX;
	{
		struct virtio_blk_config c = { .capacity = 2048, .seg_max = 32 };

		memcpy(fk.config, &c, sizeof(c));
	}
	for (i = 0; i < FK_MAXQ; i++)
		fk.q[i].kick = fk.q[i].call = -1;
	fk.config_call = -1;
}

static int fk_err(int e)
{
	errno = e;
	return -1;
}

static int fake_ioctl(int fd, unsigned long req, ...)
{
	struct vhost_vring_state *s;
	struct vhost_vring_addr *a;
	struct vhost_vring_file *f;
	struct vhost_vdpa_config *c;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fk.fd)
		return fk_err(EBADF);
	if (fk_fail_now(false))
		return fk_err(EIO);
	if (req == VHOST_SET_OWNER) {
		if (fk.owner)
			return fk_err(EBUSY);
		fk.owner = true;
		return 0;
	}
	if (!fk.owner && req != VHOST_GET_BACKEND_FEATURES &&
	    req != VHOST_SET_BACKEND_FEATURES)
		return fk_err(EPERM);
	switch (req) {
	case VHOST_GET_BACKEND_FEATURES:
		*(uint64_t *)arg = fk.backend_offer;
		return 0;
	case VHOST_SET_BACKEND_FEATURES:
		if (*(uint64_t *)arg & ~fk.backend_offer)
			return fk_err(EOPNOTSUPP);
		fk.backend_acked = *(uint64_t *)arg;
		return 0;
	case VHOST_VDPA_GET_DEVICE_ID:
		*(uint32_t *)arg = fk.device_id;
		return 0;
	case VHOST_VDPA_GET_VQS_COUNT:
		*(uint32_t *)arg = fk.nvqs;
		return 0;
	case VHOST_VDPA_GET_CONFIG_SIZE:
		*(uint32_t *)arg = fk.config_size;
		return 0;
	case VHOST_VDPA_GET_IOVA_RANGE:
		((struct vhost_vdpa_iova_range *)arg)->first = fk.iova_first;
		((struct vhost_vdpa_iova_range *)arg)->last = fk.iova_last;
		return 0;
	case VHOST_VDPA_GET_VRING_NUM:
		*(uint16_t *)arg = fk.vring_num;
		return 0;
	case VHOST_VDPA_GET_STATUS:
		*(uint8_t *)arg = fk.status;
		return 0;
	case VHOST_VDPA_SET_STATUS: {
		uint8_t st = *(uint8_t *)arg;

		if (st && (fk.status & ~st))
			return fk_err(EINVAL);	/* bits clear only by 0 */
		if ((st & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    !(fk.features_acked & (1ull << VIRTIO_F_ACCESS_PLATFORM)))
			st &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		if (!st) {
			fk.resets++;
			/* as without IOTLB_PERSIST: the device drops its maps */
		}
		fk.status = st;
		return 0;
	}
	case VHOST_GET_FEATURES:
		*(uint64_t *)arg = fk.features_offer;
		return 0;
	case VHOST_SET_FEATURES:
		if (fk.status & VIRTIO_CONFIG_S_FEATURES_OK)
			return fk_err(EBUSY);
		if (*(uint64_t *)arg & ~fk.features_offer)
			return fk_err(EINVAL);
		fk.features_acked = *(uint64_t *)arg;
		return 0;
	case VHOST_VDPA_GET_CONFIG:
	case VHOST_VDPA_SET_CONFIG:
		c = arg;
		if (!c->len || c->off > fk.config_size ||
		    c->len > fk.config_size - c->off ||
		    c->off + c->len > sizeof(fk.config))
			return fk_err(EINVAL);
		if (req == VHOST_VDPA_GET_CONFIG)
			memcpy(c->buf, fk.config + c->off, c->len);
		else
			memcpy(fk.config + c->off, c->buf, c->len);
		return 0;
	case VHOST_VDPA_SET_CONFIG_CALL:
		fk.config_call = *(int *)arg;
		return 0;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_VDPA_SET_VRING_ENABLE:
		s = arg;
		if (s->index >= fk.nvqs || s->index >= FK_MAXQ)
			return fk_err(ENOBUFS);
		if (req == VHOST_SET_VRING_NUM) {
			if (!s->num || s->num > fk.vring_num ||
			    (s->num & (s->num - 1)))
				return fk_err(EINVAL);
			fk.q[s->index].num = s->num;
		} else if (req == VHOST_VDPA_SET_VRING_ENABLE) {
			fk.q[s->index].enabled = s->num;
		} else if (s->num) {
			return fk_err(EINVAL);	/* we only expect base 0 */
		}
		return 0;
	case VHOST_SET_VRING_ADDR:
		a = arg;
		if (a->index >= fk.nvqs || a->index >= FK_MAXQ)
			return fk_err(ENOBUFS);
		fk.q[a->index].desc = a->desc_user_addr;
		fk.q[a->index].avail = a->avail_user_addr;
		fk.q[a->index].used = a->used_user_addr;
		return 0;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
		f = arg;
		if (f->index >= fk.nvqs || f->index >= FK_MAXQ)
			return fk_err(ENOBUFS);
		if (req == VHOST_SET_VRING_KICK)
			fk.q[f->index].kick = f->fd;
		else
			fk.q[f->index].call = f->fd;
		return 0;
	default:
		return fk_err(ENOTTY);
	}
}

static ssize_t fk_write(int fd, const void *buf, size_t len)
{
	const struct vhost_msg_v2 *m = buf;
	const struct vhost_iotlb_msg *t;
	unsigned int i;

	if (fd != fk.fd)
		return write(fd, buf, len);	/* eventfds: the real thing */
	if (fk_fail_now(true))
		return fk_err(EIO);
	if (len != sizeof(*m) || m->type != VHOST_IOTLB_MSG_V2 ||
	    !(fk.backend_acked & (1ull << VHOST_BACKEND_F_IOTLB_MSG_V2)) ||
	    !fk.owner) {
		fk.bad_msgs++;
		return fk_err(EINVAL);
	}
	t = &m->iotlb;
	if (t->type == VHOST_IOTLB_UPDATE) {
		if (!t->size || t->iova < fk.iova_first ||
		    t->iova + t->size - 1 > fk.iova_last ||
		    t->iova + t->size - 1 < t->iova || t->perm != VHOST_ACCESS_RW)
			goto bad;
		for (i = 0; i < fk.ntlb; i++)
			if (t->iova < fk.tlb[i].iova + fk.tlb[i].size &&
			    fk.tlb[i].iova < t->iova + t->size)
				goto bad;	/* vhost: -EEXIST */
		if (fk.ntlb == FK_MAXTLB)
			goto bad;
		fk.tlb[fk.ntlb++] = (struct fk_tlb){ t->iova, t->size, t->uaddr };
		fk.updates++;
		return (ssize_t)len;
	}
	if (t->type == VHOST_IOTLB_INVALIDATE) {
		for (i = 0; i < fk.ntlb; i++) {
			if (fk.tlb[i].iova >= t->iova &&
			    fk.tlb[i].iova + fk.tlb[i].size <= t->iova + t->size)
				fk.tlb[i--] = fk.tlb[--fk.ntlb];
		}
		fk.invalidates++;
		return (ssize_t)len;
	}
bad:
	fk.bad_msgs++;
	return fk_err(EFAULT);	/* what vhost turns every failure into */
}

/* Remember the fd the backend opens: the first open() of /dev/null. */
static int fk_open(const char *path, int flags, ...)
{
	int fd = open(path, flags);

	if (fd >= 0 && !strcmp(path, "/dev/null") && fk.fd < 0)
		fk.fd = fd;
	return fd;
}

/* ---- the code under test, with its system calls redirected ------------- */

#define ioctl fake_ioctl
#define write fk_write
#define open fk_open
#include "../src/vhost_vdpa.c"
#undef ioctl
#undef write
#undef open

#include <uvirtio/blk.h>
#include <uvirtio/net.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>

/* Find the IOTLB entry covering @iova, or NULL. */
static const struct fk_tlb *fk_lookup(uint64_t iova)
{
	unsigned int i;

	for (i = 0; i < fk.ntlb; i++)
		if (iova - fk.tlb[i].iova < fk.tlb[i].size)
			return &fk.tlb[i];
	return NULL;
}

/* ---- cases ------------------------------------------------------------- */

static int t_open_errors(void)
{
	struct uvirtio_backend *be = NULL;

	fk_defaults();
	CHECK_EQ(uvirtio_vhost_vdpa_open(NULL, &be), -EINVAL);
	CHECK_EQ(uvirtio_vhost_vdpa_open("", &be), -EINVAL);
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", NULL), -EINVAL);
	CHECK_EQ(uvirtio_vhost_vdpa_open("/nonexistent/vhost-vdpa-0", &be),
		 -ENOENT);
	CHECK(be == NULL);
	return PASS;
}

/* Open with one fake-kernel field spoiled; expect @want. */
static int open_expect(void (*spoil)(void), int want)
{
	struct uvirtio_backend *be = NULL;
	int ret;

	fk_defaults();
	spoil();
	ret = uvirtio_vhost_vdpa_open("/dev/null", &be);
	if (ret != want) {
		fprintf(stderr, "  open: %d, expected %d\n", ret, want);
		uvirtio_backend_close(be);
		return FAIL;
	}
	if (!ret)
		uvirtio_backend_close(be);
	return PASS;
}

static void sp_no_v2(void) { fk.backend_offer = 1ull << VHOST_BACKEND_F_IOTLB_BATCH; }
static void sp_id0(void) { fk.device_id = 0; }
static void sp_noq(void) { fk.nvqs = 0; }
static void sp_manyq(void) { fk.nvqs = 1000; }
static void sp_bigcfg(void) { fk.config_size = 1u << 20; }
static void sp_norange(void) { fk.iova_first = 0x10000; fk.iova_last = 0xffff; }
static void sp_tinyrange(void) { fk.iova_first = 0; fk.iova_last = 0x3fff; }
static void sp_ring0(void) { fk.vring_num = 0; }
static void sp_none(void) { }

static int t_open_lies(void)
{
	if (open_expect(sp_none, 0) || open_expect(sp_no_v2, -ENOTSUP) ||
	    open_expect(sp_id0, -ENODEV) || open_expect(sp_noq, -EIO) ||
	    open_expect(sp_manyq, -EIO) || open_expect(sp_bigcfg, -EIO) ||
	    open_expect(sp_norange, -EIO) || open_expect(sp_tinyrange, -EIO) ||
	    open_expect(sp_ring0, -EIO))
		return FAIL;
	/* MSG_V2 negotiated; BATCH taken because offered */
	CHECK(fk.backend_acked & (1ull << VHOST_BACKEND_F_IOTLB_MSG_V2));
	CHECK(fk.backend_acked & (1ull << VHOST_BACKEND_F_IOTLB_BATCH));
	return PASS;
}

static int t_dma_alloc_iotlb(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d[64];
	uint64_t iova;
	unsigned int i, j;

	fk_defaults();
	fk.iova_first = 0x100000;
	fk.iova_last = 0x100000 + 64 * 65536 - 1;
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	for (i = 0; i < 64; i++) {
		CHECK_EQ(uvirtio_backend_dma_alloc(be, 65536, &d[i]), 0);
		CHECK(d[i].iova >= fk.iova_first);
		CHECK(d[i].iova + d[i].len - 1 <= fk.iova_last);
		CHECK(d[i].iova % 4096 == 0);
		/* the device sees the same memory at that IOVA */
		CHECK(fk_lookup(d[i].iova) &&
		      fk_lookup(d[i].iova)->uaddr == (uintptr_t)d[i].vaddr);
		CHECK_EQ(uvirtio_backend_translate(be, (char *)d[i].vaddr + 100,
						   1, &iova), 1);
		CHECK_EQ(iova, d[i].iova + 100);
		for (j = 0; j < 65536; j += 4096)
			CHECK(((char *)d[i].vaddr)[j] == 0);
	}
	/* the range is full */
	{
		struct uvirtio_dma x;

		CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &x), -ENOSPC);
	}
	CHECK_EQ(fk.bad_msgs, 0);
	/* free every other one; a bigger run does not fit, a small one does */
	for (i = 0; i < 64; i += 2)
		uvirtio_backend_dma_free(be, &d[i]);
	CHECK_EQ(fk.ntlb, 32);
	{
		struct uvirtio_dma x, y;

		CHECK_EQ(uvirtio_backend_dma_alloc(be, 131072, &x), -ENOSPC);
		CHECK_EQ(uvirtio_backend_dma_alloc(be, 65536, &y), 0);
		uvirtio_backend_dma_free(be, &y);
	}
	for (i = 1; i < 64; i += 2)
		uvirtio_backend_dma_free(be, &d[i]);
	CHECK_EQ(fk.ntlb, 0);
	CHECK_EQ(fk.bad_msgs, 0);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_iova_floor(void)
{
	struct uvirtio_backend *be;
	struct uvirtio_dma d;

	fk_defaults();
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 4096, &d), 0);
	CHECK(d.iova >= 4096);		/* never IOVA 0 */
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_caller_memory(void)
{
	const size_t len = 8 * 4096;
	struct uvirtio_mem_region r;
	struct uvirtio_backend *be;
	char *anon, *shared, *mfd, *hole, *priv;
	uint64_t iova;
	int fd;

	fk_defaults();
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED);
	CHECK_EQ(uvirtio_backend_dma_map(be, anon, len), -EOPNOTSUPP);
	priv = malloc(len);
	CHECK(priv);
	CHECK_EQ(uvirtio_backend_dma_map(be, priv, len), -EOPNOTSUPP);
	free(priv);
	hole = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(hole != MAP_FAILED);
	munmap(hole, len);
	CHECK_EQ(uvirtio_backend_dma_map(be, hole, len), -EFAULT);
	CHECK_EQ(fk.ntlb, 0);		/* nothing reached the IOTLB */

	shared = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	/* unaligned start and length: whole pages are mapped */
	CHECK_EQ(uvirtio_backend_dma_map(be, shared + 100, len - 200), 0);
	CHECK_EQ(uvirtio_backend_translate(be, shared + 100, 1, &iova), 1);
	CHECK(fk_lookup(iova) && fk_lookup(iova)->uaddr == (uintptr_t)shared);
	CHECK_EQ(iova % 4096, 100);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, shared + 100), 0);
	CHECK_EQ(fk.ntlb, 0);

	fd = memfd_create("t", 0);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)len), 0);
	mfd = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(mfd != MAP_FAILED);
	r = (struct uvirtio_mem_region){ mfd, len, fd, 0 };
	CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), 0);
	CHECK_EQ(fk.ntlb, 1);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, mfd), 0);
	/* an fd that is not the file behind the memory, a wrong offset */
	{
		int other = memfd_create("other", 0);

		CHECK(other >= 0);
		CHECK_EQ(ftruncate(other, (off_t)len), 0);
		r = (struct uvirtio_mem_region){ mfd, len, other, 0 };
		CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), -EINVAL);
		close(other);
	}
	r = (struct uvirtio_mem_region){ mfd + 4096, 4096, fd, 0 };
	CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), -EINVAL);
	/* the right offset, unaligned */
	r = (struct uvirtio_mem_region){ mfd + 4096 + 8, 4000, fd, 4096 + 8 };
	CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), 0);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, mfd + 4096 + 8), 0);
	r = (struct uvirtio_mem_region){ mfd, len, fd, 0 };
	CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), 0);
	/* the fd does not whitewash private memory */
	r = (struct uvirtio_mem_region){ anon, len, fd, 0 };
	CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), -EOPNOTSUPP);
	/* a pipe is no memory file */
	{
		int p[2];

		CHECK_EQ(pipe(p), 0);
		r = (struct uvirtio_mem_region){ shared, len, p[0], 0 };
		CHECK_EQ(uvirtio_backend_dma_map_region(be, &r), -EOPNOTSUPP);
		close(p[0]);
		close(p[1]);
	}
	CHECK_EQ(uvirtio_backend_dma_unmap(be, mfd), 0);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, mfd), -ENOENT);
	CHECK_EQ(fk.bad_msgs, 0);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_blk_open(void)
{
	struct uvirtio_blk_params p = { .transport = UVIRTIO_TRANSPORT_AUTO };
	struct uvirtio_backend *be;
	struct uvirtio_blk_info info;
	struct uvirtio_blk *blk;
	unsigned int tlb_open;

	fk_defaults();
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	CHECK_EQ(uvirtio_blk_open(be, &p, &blk), 0);
	CHECK(!strcmp(uvirtio_dev_transport_name(uvirtio_blk_device(blk)),
		      "vhost-vdpa"));
	uvirtio_blk_get_info(blk, &info);
	CHECK_EQ(info.capacity, 2048 * 512);
	CHECK(info.features & (1ull << VIRTIO_F_ACCESS_PLATFORM));
	CHECK(fk.status & VIRTIO_CONFIG_S_DRIVER_OK);
	/* the ring addresses are IOVAs the IOTLB knows, not VAs */
	CHECK_EQ(fk.q[0].num, 256);
	CHECK(fk.q[0].enabled);
	CHECK(fk_lookup(fk.q[0].desc) && fk_lookup(fk.q[0].avail) &&
	      fk_lookup(fk.q[0].used));
	CHECK(fk.q[0].desc < fk.iova_last && fk.q[0].desc >= 4096);
	CHECK(fk.q[0].kick >= 0);
	CHECK(fk.q[0].call >= 0);	/* interrupts: queue 0 on vector 1 */
	CHECK(fk.config_call >= 0);
	CHECK(fk.q[0].call != fk.config_call);
	tlb_open = fk.ntlb;
	CHECK(tlb_open > 0);
	uvirtio_blk_close(blk);
	/* every allocation was invalidated again */
	CHECK_EQ(fk.ntlb, 0);
	CHECK_EQ(fk.bad_msgs, 0);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_no_access_platform(void)
{
	struct uvirtio_blk_params p = { .transport = UVIRTIO_TRANSPORT_VHOST_VDPA };
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;

	fk_defaults();
	fk.features_offer &= ~(1ull << VIRTIO_F_ACCESS_PLATFORM);
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	CHECK_EQ(uvirtio_blk_open(be, &p, &blk), -ENOTSUP);
	CHECK(fk.status & VIRTIO_CONFIG_S_FAILED);
	uvirtio_backend_close(be);
	return PASS;
}

/* Caller memory survives a reset: the IOTLB is entered again. */
static int t_reset_replay(void)
{
	struct uvirtio_dev_params dp = { .device_type = VIRTIO_ID_BLOCK };
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	unsigned int upd;
	char *shared;
	uint64_t iova;

	fk_defaults();
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	shared = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	CHECK_EQ(uvirtio_backend_dma_map(be, shared, 65536), 0);
	upd = fk.updates;
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);	/* resets */
	CHECK(fk.resets >= 1);
	CHECK(fk.updates > upd);	/* replayed */
	CHECK_EQ(fk.ntlb, 1);
	CHECK_EQ(uvirtio_backend_translate(be, shared, 1, &iova), 1);
	CHECK(fk_lookup(iova) && fk_lookup(iova)->uaddr == (uintptr_t)shared);
	uvirtio_dev_close(dev);
	CHECK_EQ(fk.ntlb, 1);
	CHECK_EQ(fk.bad_msgs, 0);
	uvirtio_backend_close(be);
	return PASS;
}

static int t_config_bounds(void)
{
	struct uvirtio_dev_params dp = { 0 };
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	uint64_t cap;
	uint8_t b;

	fk_defaults();
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &be), 0);
	CHECK_EQ(uvirtio_dev_open(be, &dp, &dev), 0);
	CHECK_EQ(uvirtio_dev_device_type(dev), VIRTIO_ID_BLOCK);
	CHECK_EQ(uvirtio_dev_config_len(dev), sizeof(struct virtio_blk_config));
	CHECK_EQ(uvirtio_dev_read_config(dev, 0, &cap, 8), 0);
	CHECK_EQ(cap, 2048);
	CHECK_EQ(uvirtio_dev_read_config(dev, uvirtio_dev_config_len(dev),
					 &b, 1), -EINVAL);
	CHECK_EQ(uvirtio_dev_num_vectors(dev), 2);
	CHECK_EQ(uvirtio_dev_num_queues(dev), 1);
	uvirtio_dev_close(dev);
	uvirtio_backend_close(be);
	return PASS;
}

/*
 * Every system call of a session (open the backend, open blk, write the
 * device config, close) failing in turn: each call that meets the failure
 * returns a negative errno, never crashes or hangs; what was mapped is
 * unmapped again at close (unless the failed call was that unmap), and no
 * file descriptor is left open.
 */
static int t_fail_nth(void)
{
	unsigned int n, failed_open = 0;

	for (n = 1; n < 2000; n++) {
		struct uvirtio_backend *be = NULL;
		struct uvirtio_blk *blk = NULL;
		uint8_t wce = 1;
		int r, fd0 = dup(0), fd1;

		close(fd0);		/* the lowest free fd now */
		fk_defaults();
		fk.fail_at = n;
		r = uvirtio_vhost_vdpa_open("/dev/null", &be);
		if (!r)
			r = uvirtio_blk_open(be, NULL, &blk);
		if (!r)
			r = uvirtio_dev_write_config(uvirtio_blk_device(blk),
				offsetof(struct virtio_blk_config, wce), &wce, 1);
		if (r) {
			CHECK(r < 0);
			CHECK_EQ(fk.failed, 1);	/* no failure without a cause */
			failed_open++;
		}
		uvirtio_blk_close(blk);
		if (be)
			uvirtio_backend_close(be);
		if (!fk.failed_write)
			CHECK_EQ(fk.ntlb, 0);
		/* no file descriptor left behind, failure or not */
		fd1 = dup(0);
		close(fd1);
		CHECK_EQ(fd1, fd0);
		if (!fk.failed)
			break;		/* the session made fewer calls */
	}
	fprintf(stderr, "  %u calls, %u failed the session\n", n - 1,
		failed_open);
	CHECK(n < 2000);
	CHECK(failed_open > 5);
	return PASS;
}

/*
 * ---- a net device whose control queue answers as told ------------------
 *
 * The vhost-user front-end serves the net control queue itself and only
 * says OK, or ERR to what it cannot do; QEMU's virtio-net never refuses
 * what the driver sends.  Here a thread plays the device behind queue 2
 * (one pair, no MQ): it waits on the queue's kick eventfd, walks the
 * split ring through the fake IOTLB and answers each command with
 * @ctrl_answer: VIRTIO_NET_OK, VIRTIO_NET_ERR, a byte that is neither,
 * a used length of 0 (no ack written), or nothing at all.
 */
enum ctrl_answer { CA_OK, CA_ERR, CA_GARBAGE, CA_NO_ACK, CA_SILENT };

struct ctrl_dev {
	pthread_t thr;
	int stop;		/* eventfd: the thread ends */
	enum ctrl_answer answer;
	uint16_t last_avail, used_idx;
	unsigned int seen;	/* commands taken */
	uint8_t cls, cmd;	/* of the last one */
	uint32_t data_len;	/* its bytes after class and command */
	uint8_t data[64];	/* the first of them */
};

static void *fk_va(uint64_t iova, uint64_t len)
{
	const struct fk_tlb *t = fk_lookup(iova);

	if (!t || len > t->size - (iova - t->iova))
		return NULL;
	return (void *)(uintptr_t)(t->uaddr + (iova - t->iova));
}

static void ctrl_serve(struct ctrl_dev *cd)
{
	uint32_t num = fk.q[2].num;
	uint8_t *avail = fk_va(fk.q[2].avail, 4 + 2 * num);
	uint8_t *desc = fk_va(fk.q[2].desc, 16ull * num);
	uint8_t *used = fk_va(fk.q[2].used, 4 + 8 * num);
	uint16_t aidx;

	if (!avail || !desc || !used)
		return;
	aidx = __atomic_load_n((uint16_t *)(avail + 2), __ATOMIC_ACQUIRE);
	while (cd->last_avail != aidx) {
		uint16_t head, i;
		uint8_t *ack = NULL;
		uint32_t hops, got = 0, ulen;

		memcpy(&head, avail + 4 + 2 * (cd->last_avail % num), 2);
		cd->last_avail++;
		for (i = head, hops = 0; hops < num && i < num; hops++) {
			uint64_t a;
			uint32_t l;
			uint16_t f, next;
			uint8_t *b;

			memcpy(&a, desc + 16 * i, 8);
			memcpy(&l, desc + 16 * i + 8, 4);
			memcpy(&f, desc + 16 * i + 12, 2);
			memcpy(&next, desc + 16 * i + 14, 2);
			b = fk_va(a, l);
			if (b && (f & VRING_DESC_F_WRITE)) {
				if (!ack)
					ack = b;
			} else if (b) {
				uint32_t k;

				for (k = 0; k < l; k++, got++) {
					if (got == 0)
						cd->cls = b[k];
					else if (got == 1)
						cd->cmd = b[k];
					else if (got - 2 < sizeof(cd->data))
						cd->data[got - 2] = b[k];
				}
			}
			if (!(f & VRING_DESC_F_NEXT))
				break;
			i = next;
		}
		cd->data_len = got >= 2 ? got - 2 : 0;
		__atomic_add_fetch(&cd->seen, 1, __ATOMIC_RELEASE);
		if (cd->answer == CA_SILENT)
			continue;
		ulen = cd->answer == CA_NO_ACK ? 0 : 1;
		if (ack && cd->answer != CA_NO_ACK)
			*ack = cd->answer == CA_OK ? VIRTIO_NET_OK :
			       cd->answer == CA_ERR ? VIRTIO_NET_ERR : 0x5a;
		{
			uint32_t id = head;
			uint8_t *e = used + 4 + 8 * (cd->used_idx % num);

			memcpy(e, &id, 4);
			memcpy(e + 4, &ulen, 4);
		}
		cd->used_idx++;
		__atomic_store_n((uint16_t *)(used + 2), cd->used_idx,
				 __ATOMIC_RELEASE);
	}
}

static void *ctrl_thread(void *arg)
{
	struct ctrl_dev *cd = arg;
	struct pollfd p[2] = {
		{ .fd = fk.q[2].kick, .events = POLLIN },
		{ .fd = cd->stop, .events = POLLIN },
	};
	uint64_t v;

	while (poll(p, 2, -1) >= 0 && !(p[1].revents & POLLIN)) {
		if (p[0].revents & POLLIN) {
			if (read(p[0].fd, &v, sizeof(v)) != sizeof(v))
				break;
			ctrl_serve(cd);
		}
	}
	return NULL;
}

struct ctrl_ctx {
	struct uvirtio_backend *be;
	struct uvirtio_net *net;
	struct ctrl_dev cd;
};

static int ctrl_open(struct ctrl_ctx *c, enum ctrl_answer answer)
{
	struct uvirtio_net_params np = { .poll = true, .ctrl_rx = true };
	struct virtio_net_config cfg = {
		.mac = { 0x02, 0, 0, 0, 0x77, 0x01 },
	};
	struct uvirtio_net_info in;

	memset(c, 0, sizeof(*c));
	fk_defaults();
	fk.device_id = VIRTIO_ID_NET;
	fk.nvqs = 3;
	fk.vring_num = 64;
	fk.config_size = sizeof(cfg);
	memcpy(fk.config, &cfg, sizeof(cfg));
	fk.features_offer = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VIRTIO_F_ACCESS_PLATFORM) |
			    (1ull << VIRTIO_NET_F_MAC) |
			    (1ull << VIRTIO_NET_F_CTRL_VQ) |
			    (1ull << VIRTIO_NET_F_CTRL_RX) |
			    (1ull << VIRTIO_NET_F_CTRL_RX_EXTRA) |
			    (1ull << VIRTIO_NET_F_CTRL_MAC_ADDR);
	CHECK_EQ(uvirtio_vhost_vdpa_open("/dev/null", &c->be), 0);
	CHECK_EQ(uvirtio_net_open(c->be, &np, &c->net), 0);
	uvirtio_net_get_info(c->net, &in);
	CHECK_EQ(in.features & fk.features_offer, fk.features_offer);
	CHECK(fk.q[2].kick >= 0);
	c->cd.answer = answer;
	c->cd.stop = eventfd(0, EFD_CLOEXEC);
	CHECK(c->cd.stop >= 0);
	CHECK_EQ(pthread_create(&c->cd.thr, NULL, ctrl_thread, &c->cd), 0);
	return PASS;
}

static void ctrl_close(struct ctrl_ctx *c)
{
	uint64_t one = 1;

	if (write(c->cd.stop, &one, sizeof(one)) == sizeof(one))
		pthread_join(c->cd.thr, NULL);
	close(c->cd.stop);
	uvirtio_net_close(c->net);
	uvirtio_backend_close(c->be);
}

/* A device that says OK: every mode and command reaches it as sent. */
static int t_net_ctrl_ok(void)
{
	static const uint8_t uc[1][6] = { { 0x02, 0, 0, 0, 0x77, 0x09 } };
	static const uint8_t mc[2][6] = {
		{ 0x01, 0, 0x5e, 0, 0, 1 }, { 0x33, 0x33, 0, 0, 0, 1 },
	};
	const uint8_t mac[6] = { 0x02, 0, 0, 0, 0x77, 0x02 };
	struct uvirtio_net_info in;
	struct ctrl_ctx c;
	uint32_t le;

	CHECK_EQ(ctrl_open(&c, CA_OK), PASS);
	/* all six modes, one command each; the last is NOBCAST, on */
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, UVIRTIO_NET_RX_ALLMULTI |
					 UVIRTIO_NET_RX_NOBCAST), 0);
	CHECK_EQ(c.cd.seen, 6);
	CHECK_EQ(c.cd.cls, VIRTIO_NET_CTRL_RX);
	CHECK_EQ(c.cd.cmd, VIRTIO_NET_CTRL_RX_NOBCAST);
	CHECK_EQ(c.cd.data_len, 1);
	CHECK_EQ(c.cd.data[0], 1);
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 0), 0);
	CHECK_EQ(c.cd.seen, 12);
	CHECK_EQ(c.cd.data[0], 0);
	/* the table: le32 1, one MAC, le32 2, two MACs */
	CHECK_EQ(uvirtio_net_set_mac_filter(c.net, uc, 1, mc, 2), 0);
	CHECK_EQ(c.cd.cls, VIRTIO_NET_CTRL_MAC);
	CHECK_EQ(c.cd.cmd, VIRTIO_NET_CTRL_MAC_TABLE_SET);
	CHECK_EQ(c.cd.data_len, 8 + 3 * 6);
	memcpy(&le, c.cd.data, 4);
	CHECK_EQ(le32toh(le), 1);
	CHECK(!memcmp(c.cd.data + 4, uc[0], 6));
	memcpy(&le, c.cd.data + 10, 4);
	CHECK_EQ(le32toh(le), 2);
	CHECK(!memcmp(c.cd.data + 14, mc, 12));
	CHECK_EQ(uvirtio_net_set_mac(c.net, mac), 0);
	CHECK_EQ(c.cd.cmd, VIRTIO_NET_CTRL_MAC_ADDR_SET);
	CHECK_EQ(c.cd.data_len, 6);
	CHECK(!memcmp(c.cd.data, mac, 6));
	uvirtio_net_get_info(c.net, &in);
	CHECK(!memcmp(in.mac, mac, 6));
	ctrl_close(&c);
	return PASS;
}

/* VIRTIO_NET_ERR: -ENOTSUP, and the queue goes on (the next one too). */
static int t_net_ctrl_err(void)
{
	const uint8_t mac[6] = { 0x02, 0, 0, 0, 0x77, 0x02 };
	struct uvirtio_net_info in;
	struct ctrl_ctx c;

	CHECK_EQ(ctrl_open(&c, CA_ERR), PASS);
	/* the first refusal stops the sequence */
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 0), -ENOTSUP);
	CHECK_EQ(c.cd.seen, 1);
	CHECK_EQ(uvirtio_net_set_mac_filter(c.net, NULL, 0, NULL, 0),
		 -ENOTSUP);
	CHECK_EQ(uvirtio_net_set_mac(c.net, mac), -ENOTSUP);
	uvirtio_net_get_info(c.net, &in);
	CHECK(memcmp(in.mac, mac, 6));		/* not taken */
	c.cd.answer = CA_OK;
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 0), 0);
	ctrl_close(&c);
	return PASS;
}

/* An ack that is neither OK nor ERR, or none written: -EIO. */
static int t_net_ctrl_bad_ack(void)
{
	struct ctrl_ctx c;

	CHECK_EQ(ctrl_open(&c, CA_GARBAGE), PASS);
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, UVIRTIO_NET_RX_PROMISC), -EIO);
	c.cd.answer = CA_NO_ACK;
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, UVIRTIO_NET_RX_PROMISC), -EIO);
	CHECK_EQ(c.cd.seen, 2);
	ctrl_close(&c);
	return PASS;
}

/*
 * A device that never answers: -ETIMEDOUT after CTRL_TIMEOUT_NS (a
 * second); the command stays with it, so every later call is -EIO at
 * once, and close still resets and frees.
 */
static int t_net_ctrl_silent(void)
{
	struct timespec t0, t1;
	struct ctrl_ctx c;
	int64_t ms;

	CHECK_EQ(ctrl_open(&c, CA_SILENT), PASS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 0), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 900 && ms < 5000);
	CHECK_EQ(c.cd.seen, 1);
	c.cd.answer = CA_OK;
	CHECK_EQ(uvirtio_net_set_rx_mode(c.net, 0), -EIO);
	CHECK_EQ(uvirtio_net_set_mac_filter(c.net, NULL, 0, NULL, 0), -EIO);
	CHECK_EQ(c.cd.seen, 1);		/* nothing more was sent */
	ctrl_close(&c);
	return PASS;
}

int main(int argc, char **argv)
{
	static const struct tcase cases[] = {
		{ "open_errors", t_open_errors },
		{ "open_lies", t_open_lies },
		{ "dma_alloc_iotlb", t_dma_alloc_iotlb },
		{ "iova_floor", t_iova_floor },
		{ "caller_memory", t_caller_memory },
		{ "blk_open", t_blk_open },
		{ "no_access_platform", t_no_access_platform },
		{ "reset_replay", t_reset_replay },
		{ "config_bounds", t_config_bounds },
		{ "fail_nth", t_fail_nth },
		{ "net_ctrl_ok", t_net_ctrl_ok },
		{ "net_ctrl_err", t_net_ctrl_err },
		{ "net_ctrl_bad_ack", t_net_ctrl_bad_ack },
		{ "net_ctrl_silent", t_net_ctrl_silent },
	};

	return harness_main("vhost-vdpa", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
