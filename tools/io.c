// SPDX-License-Identifier: BSD-3-Clause
/*
 * io.c - "uvirtio rng" and "uvirtio blk": I/O through libuvirtio's
 * device drivers on the kernel-module backend.
 *
 * The blk randrw workload mirrors tools/kblk.c (4 KiB, queue depth 1,
 * random writes then random reads, xorshift64* offsets and data) so the
 * "result" lines of both can be compared side by side.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

#include "cli.h"
#include "workload.h"

#define BS WL_BS

/*
 * Testing aid: UVIRTIO_FAKE=blk or =rng puts the library's in-process fake
 * device (uvirtio/fake.h) behind the command instead of /dev/uvirtio.
 */
static int open_fake(const char *kind, struct uvirtio_backend **be,
		     struct uvirtio_fake **fakep)
{
	struct uvirtio_fake_config cfg;
	struct uvirtio_fake *fake;
	uint32_t type;
	int ret;

	if (!strcmp(kind, "blk")) {
		type = VIRTIO_ID_BLOCK;
	} else if (!strcmp(kind, "rng")) {
		type = VIRTIO_ID_RNG;
	} else {
		cli_err("UVIRTIO_FAKE must be 'blk' or 'rng'");
		return RC_USAGE;
	}
	uvirtio_fake_default_config(&cfg, type);
	ret = uvirtio_fake_create(&cfg, &fake, be);
	if (ret)
		return cli_errno(ret, "fake %s device", kind);
	if (fakep)
		*fakep = fake;
	return RC_OK;
}

/* Open the backend for @arg, reporting errors.  Return: exit code. */
static int open_backend(const char *arg, char bdf[CLI_NAME_MAX],
			struct uvirtio_backend **be)
{
	return cli_open_backend(arg, bdf, be, NULL);
}

/* Explain a failed uvirtio_vfio_open(); -1 when nothing VFIO-specific. */
static int vfio_open_err(const char *arg, const char *bdf, int ret)
{
	char who[96];

	switch (ret) {
	case -EBUSY:
		if (!uvirtio_vfio_group_blocker(bdf, who, sizeof(who))) {
			char *drv = strchr(who, ' ');

			if (drv)
				*drv++ = '\0';
			cli_err("%s: IOMMU group not viable: %s is bound to %s (bind it to vfio-pci too, or unbind it)",
				arg, who, drv ? drv : "another driver");
		} else {
			cli_err("%s: device busy (its VFIO group is open in another process)",
				arg);
		}
		return RC_BUSY;
	case -ENODEV:
		cli_err("%s: no such device (or it has no IOMMU group: no IOMMU?)",
			arg);
		return RC_NOTFOUND;
	case -ENXIO:
		cli_err("%s: not bound to vfio-pci (try 'uvirtio bind %s --driver vfio-pci')",
			arg, bdf);
		return RC_NOTFOUND;
	case -ENOENT:
		cli_err("%s: VFIO not available (no /dev/vfio/vfio; modprobe vfio-pci)",
			arg);
		return RC_NOTFOUND;
	case -EPERM:
		cli_err("%s: refused: a no-IOMMU VFIO group (DMA would be unprotected) or not permitted",
			arg);
		return RC_PERM;
	case -EACCES:
		cli_err("%s: permission denied on /dev/vfio (root, or a udev rule for the group node)",
			arg);
		return RC_PERM;
	}
	return -1;
}

/* A device string other than a PCI function: the library opens it. */
static int open_devstr(const char *arg, enum uvirtio_scheme scheme,
		       const char *rest, struct uvirtio_backend **be)
{
	int ret;

	if (scheme == UVIRTIO_SCHEME_MMIO && !cli_module_loaded())
		return cli_no_module();
	ret = uvirtio_backend_open(arg, cli_ctl(), be);
	if (!ret)
		return RC_OK;
	if (ret == -EPROTONOSUPPORT) {
		cli_err("%s: this build cannot open such devices yet", arg);
		return RC_USAGE;
	}
	if (scheme == UVIRTIO_SCHEME_VFIO) {
		int rc = vfio_open_err(arg, rest, ret);

		if (rc >= 0)
			return rc;
	}
	if (scheme == UVIRTIO_SCHEME_VHOST_USER &&
	    (ret == -ENOENT || ret == -ECONNREFUSED)) {
		cli_err("%s: no vhost-user back-end listening at %s", arg,
			rest);
		return RC_NOTFOUND;
	}
	if (ret == -ENOENT || ret == -ENODEV) {
		cli_err("%s: no such device", arg);
		return RC_NOTFOUND;
	}
	if (ret == -EBUSY) {
		cli_err("%s: device busy (opened by another process)", arg);
		return RC_BUSY;
	}
	if (ret == -EPROTO || ret == -ETIMEDOUT || ret == -ENOTCONN) {
		cli_err("%s: the back-end broke the protocol or went away (%s)",
			arg, strerror(-ret));
		return RC_ERR;
	}
	return cli_errno(ret, "%s: open", arg);
}

int cli_open_backend(const char *arg, char bdf[CLI_NAME_MAX],
		     struct uvirtio_backend **be, struct uvirtio_fake **fake)
{
	const char *kind = getenv("UVIRTIO_FAKE");
	enum uvirtio_scheme scheme;
	const char *rest;
	int ret;

	if (fake)
		*fake = NULL;
	if (uvirtio_parse_devstr(arg, &scheme, &rest))
		return cli_usage_err("bad device '%s' (BDF, pci:BDF, vhost-user:PATH, vhost-vdpa:PATH, mmio:NAME, vfio:BDF)",
				     arg ? arg : "");
	if (scheme != UVIRTIO_SCHEME_PCI) {
		snprintf(bdf, CLI_NAME_MAX, "%s", arg);
		return open_devstr(arg, scheme, rest, be);
	}
	if (cli_parse_bdf(rest, bdf, NULL))
		return cli_usage_err("bad PCI address '%s'", arg);
	if (kind && *kind)
		return open_fake(kind, be, fake);
	if (!cli_module_loaded())
		return cli_no_module();
	ret = uvirtio_kmod_open(bdf, cli_ctl(), be);
	if (ret == -ENODEV) {
		cli_err("%s: no such device (not bound to uvirtio? try 'uvirtio bind %s')",
			bdf, bdf);
		return RC_NOTFOUND;
	}
	if (ret == -EBUSY) {
		cli_err("%s: device busy (opened by another process)", bdf);
		return RC_BUSY;
	}
	if (ret)
		return cli_errno(ret, "%s: open", bdf);
	return RC_OK;
}

int cli_open_err(int ret, const char *bdf, const char *what)
{
	if (ret == -ENODEV) {
		cli_err("%s: not a usable virtio %s device", bdf, what);
		return RC_ERR;
	}
	if (ret == -ENOTSUP) {
		cli_err("%s: device lacks a required feature or refused FEATURES_OK",
			bdf);
		return RC_ERR;
	}
	if (ret == -EPERM) {
		cli_err("%s: DMA refused: no IOMMU contains this device (the uvirtio module's allow_unsafe_noiommu=1 allows it, tainting the kernel)",
			bdf);
		return RC_ERR;
	}
	return cli_errno(ret, "%s: %s init", bdf, what);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void hexdump(const unsigned char *p, size_t len, uint64_t base,
		    bool offsets)
{
	for (size_t i = 0; i < len; i += 32) {
		if (offsets)
			printf("%08" PRIx64 ": ", base + i);
		for (size_t j = i; j < len && j < i + 32; j++)
			printf("%02x", p[j]);
		printf("\n");
	}
}

#define RNG_WINDOW	(64 * 1024)

static const char rng_usage[] =
	"usage: uvirtio rng DEVICE [-n BYTES] [-o FILE] [-t SECONDS]";

int cmd_rng(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvirtio_backend *be = NULL;
	struct uvirtio_rng *rng = NULL;
	const char *out = NULL;
	uint64_t nbytes = 32, done = 0, shown = 0, tmo = 5;
	unsigned char *buf = NULL;
	char bdf[CLI_NAME_MAX];
	int opt, ret, rc, ofd = -1;
	ssize_t n;

	while ((opt = getopt_long(argc, argv, "n:o:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (cli_parse_size(optarg, &tmo) || !tmo || tmo > 3600)
				return cli_usage_err("rng: bad timeout '%s' (1..3600 s)",
						     optarg);
			break;
		case 'n':
			if (cli_parse_size(optarg, &nbytes) || !nbytes ||
			    nbytes > (1ULL << 30))
				return cli_usage_err("rng: bad byte count '%s' (1..1G)",
						     optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf("%s\n", rng_usage);
			return RC_OK;
		default:
			return cli_usage_err("%s", rng_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage_err("%s", rng_usage);
	/* a small window: -n may be 1 GiB, the output streams anyway */
	buf = malloc(RNG_WINDOW);
	if (!buf) {
		cli_err("out of memory");
		return RC_ERR;
	}
	/* the file first: its error is not the device's */
	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (ofd < 0) {
			rc = cli_file_err(errno, out);
			goto out;
		}
	}
	rc = open_backend(argv[optind], bdf, &be);
	if (rc)
		goto out;
	ret = uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng);
	if (ret) {
		rc = cli_open_err(ret, bdf, "rng");
		goto out;
	}
	/* Stream: every answer of a slow device goes out as it comes. */
	while (done < nbytes) {
		/* buf holds the bytes not shown yet: fewer than 32 */
		size_t have = (size_t)(done - shown);
		size_t room = RNG_WINDOW - have;

		if (room > nbytes - done)
			room = (size_t)(nbytes - done);
		n = uvirtio_rng_read_some(rng, buf + have, room,
					  (int)tmo * 1000);
		if (n < 0) {
			rc = cli_errno((int)n, "%s: read, after %" PRIu64
				       " of %" PRIu64 " bytes", bdf, done,
				       nbytes);
			goto out;
		}
		if (ofd >= 0) {
			ret = write_all(ofd, buf, (size_t)n);
			if (ret) {
				rc = cli_file_err(ret, out);
				goto out;
			}
			done += (uint64_t)n;
			shown = done;
			continue;
		}
		done += (uint64_t)n;
		/* whole lines of 32 bytes, and the last one; keep the rest */
		have = (size_t)(done - shown);
		{
			size_t k = done == nbytes ? have : have / 32 * 32;

			hexdump(buf, k, 0, false);
			fflush(stdout);
			memmove(buf, buf + k, have - k);
			shown += k;
		}
	}
	if (ofd >= 0) {
		ret = close(ofd);
		ofd = -1;
		if (ret) {
			rc = cli_file_err(errno, out);
			goto out;
		}
	}
	rc = RC_OK;
out:
	if (ofd >= 0)
		close(ofd);
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	free(buf);
	return rc;
}

/* ---- blk ---- */

struct blkctx {
	char bdf[CLI_NAME_MAX];
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_info info;
};

/* @all_queues: every queue the device has (info), else queue 0 only. */
static int blk_open(struct blkctx *c, const char *arg, bool poll,
		    bool all_queues)
{
	struct uvirtio_blk_params p;
	int rc, ret;

	rc = open_backend(arg, c->bdf, &c->be);
	if (rc)
		return rc;
	memset(&p, 0, sizeof(p));
	p.transport = UVIRTIO_TRANSPORT_AUTO;
	p.num_queues = all_queues ? UINT16_MAX : 1;
	p.poll = poll;
	ret = uvirtio_blk_open(c->be, &p, &c->blk);
	if (ret)
		return cli_open_err(ret, c->bdf, "blk");
	uvirtio_blk_get_info(c->blk, &c->info);
	return RC_OK;
}

static void blk_close(struct blkctx *c)
{
	uvirtio_blk_close(c->blk);
	uvirtio_backend_close(c->be);
}

/* Largest chunk we move per request: a multiple of 4 KiB. */
static size_t chunk_size(const struct blkctx *c)
{
	uint64_t max = 256 * 1024;

	if (c->info.max_transfer && c->info.max_transfer < max)
		max = c->info.max_transfer;
	max &= ~(uint64_t)(BS - 1);
	return max ? (size_t)max : BS;
}

static int blk_info(struct blkctx *c)
{
	const struct uvirtio_blk_info *i = &c->info;

	printf("%s: virtio-blk\n", c->bdf);
	printf("  capacity:      %" PRIu64 " bytes (%.1f MiB)\n", i->capacity,
	       i->capacity / 1048576.0);
	printf("  block size:    %u\n", i->blk_size);
	printf("  seg_max:       %u\n", i->seg_max);
	printf("  size_max:      %u\n", i->size_max);
	printf("  max transfer:  %" PRIu64 "\n", i->max_transfer);
	printf("  queues:        %u\n", i->num_queues);
	printf("  interrupts:    %s\n",
	       uvirtio_dev_irq_mode_name(uvirtio_blk_irq_mode(c->blk)));
	printf("  read-only:     %s\n", i->read_only ? "yes" : "no");
	printf("  flush:         %s\n", i->flush ? "yes" : "no");
	printf("  discard:       %s", i->discard ? "yes" : "no");
	if (i->discard)
		printf(" (max %u sectors, alignment %u)", i->max_discard_sectors,
		       i->discard_sector_alignment);
	printf("\n  write zeroes:  %s", i->write_zeroes ? "yes" : "no");
	if (i->write_zeroes)
		printf(" (max %u sectors)", i->max_write_zeroes_sectors);
	printf("\n  features:      0x%016" PRIx64 "\n", i->features);
	return RC_OK;
}

static int check_range(const struct blkctx *c, uint64_t off, uint64_t len)
{
	uint32_t bs = c->info.blk_size ? c->info.blk_size : 512;

	if (off % bs || len % bs) {
		cli_err("%s: offset and length must be multiples of the block size (%u)",
			c->bdf, bs);
		return RC_USAGE;
	}
	if (off > c->info.capacity || len > c->info.capacity - off) {
		cli_err("%s: range 0x%" PRIx64 "+0x%" PRIx64
			" beyond the capacity (%" PRIu64 " bytes)",
			c->bdf, off, len, c->info.capacity);
		return RC_USAGE;
	}
	return RC_OK;
}

/*
 * Read [@off, @off + @len): any byte range; the device is read in whole
 * blocks around it.
 */
static int blk_read(struct blkctx *c, uint64_t off, uint64_t len,
		    const char *out)
{
	uint32_t bs = c->info.blk_size ? c->info.blk_size : 512;
	size_t chunk = chunk_size(c);
	uint64_t start = off / bs * bs, end, pos;
	unsigned char *buf;
	int rc, ret, ofd = -1;

	if (off > c->info.capacity || len > c->info.capacity - off) {
		cli_err("%s: range 0x%" PRIx64 "+0x%" PRIx64
			" beyond the capacity (%" PRIu64 " bytes)",
			c->bdf, off, len, c->info.capacity);
		return RC_USAGE;
	}
	end = (off + len + bs - 1) / bs * bs;
	ret = uvirtio_blk_alloc_buf(c->blk, chunk, (void **)&buf);
	if (ret)
		return cli_errno(ret, "%s: DMA buffer", c->bdf);
	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (ofd < 0) {
			rc = cli_file_err(errno, out);
			goto out;
		}
	}
	for (pos = start; pos < end;) {
		size_t n = end - pos < chunk ? (size_t)(end - pos) : chunk;
		uint64_t from = pos < off ? off : pos;
		uint64_t to = pos + n > off + len ? off + len : pos + n;

		ret = uvirtio_blk_read(c->blk, pos, buf, n);
		if (ret) {
			rc = cli_errno(ret, "%s: read at 0x%" PRIx64, c->bdf, pos);
			goto out;
		}
		if (ofd >= 0) {
			ret = write_all(ofd, buf + (from - pos), to - from);
			if (ret) {
				rc = cli_file_err(ret, out);
				goto out;
			}
		} else {
			hexdump(buf + (from - pos), to - from, from, true);
		}
		pos += n;
	}
	if (ofd >= 0) {
		ret = close(ofd);
		ofd = -1;
		if (ret) {
			rc = cli_file_err(errno, out);
			goto out;
		}
	}
	rc = RC_OK;
out:
	if (ofd >= 0)
		close(ofd);
	uvirtio_blk_free_buf(c->blk, buf);
	return rc;
}

/* Fill @buf from @fd; returns bytes read (< @len only at end of file). */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int blk_write(struct blkctx *c, uint64_t off, const char *in)
{
	uint32_t bs = c->info.blk_size ? c->info.blk_size : 512;
	size_t chunk = chunk_size(c);
	uint64_t done = 0;
	unsigned char *buf;
	bool padded = false;
	int rc, ret, ifd = 0;
	struct stat st;

	if (c->info.read_only) {
		cli_err("%s: device is read-only", c->bdf);
		return RC_ERR;
	}
	rc = check_range(c, off, 0);
	if (rc)
		return rc;
	if (in && strcmp(in, "-")) {
		ifd = open(in, O_RDONLY | O_CLOEXEC);
		if (ifd < 0)
			return cli_file_err(errno, in);
	}
	/* A regular file that does not fit: refuse before writing anything. */
	if (!fstat(ifd, &st) && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > c->info.capacity - off) {
		cli_err("%s: input does not fit: %" PRIu64 " bytes at 0x%" PRIx64
			", capacity is %" PRIu64 " bytes; nothing written", c->bdf,
			(uint64_t)st.st_size, off, c->info.capacity);
		rc = RC_USAGE;
		goto out_close;
	}
	ret = uvirtio_blk_alloc_buf(c->blk, chunk, (void **)&buf);
	if (ret) {
		rc = cli_errno(ret, "%s: DMA buffer", c->bdf);
		goto out_close;
	}
	for (;;) {
		ssize_t n = read_full(ifd, buf, chunk);
		size_t len;

		if (n < 0) {
			rc = cli_file_err((int)n, in ? in : "stdin");
			goto out;
		}
		if (!n)
			break;
		len = (size_t)n;
		if (len % bs) {
			size_t pad = bs - len % bs;

			memset(buf + len, 0, pad);
			len += pad;
			padded = true;
		}
		if (off + done + len > c->info.capacity) {
			/*
			 * A pipe ran past the end: what was written stays
			 * written, so make it durable and say exactly what.
			 */
			ret = done && c->info.flush ? uvirtio_blk_flush(c->blk) : 0;
			if (ret) {
				rc = cli_errno(ret, "%s: flush", c->bdf);
				goto out;
			}
			cli_err("%s: input does not fit: capacity is %" PRIu64
				" bytes; %" PRIu64 " bytes at 0x%" PRIx64
				" were written%s, the rest of the input was not",
				c->bdf, c->info.capacity, done, off,
				done && c->info.flush ? " and flushed" : "");
			rc = RC_USAGE;
			goto out;
		}
		ret = uvirtio_blk_write(c->blk, off + done, buf, len);
		if (ret) {
			rc = cli_errno(ret, "%s: write at 0x%" PRIx64, c->bdf,
				       off + done);
			goto out;
		}
		done += len;
		if ((size_t)n < chunk)
			break;
	}
	if (c->info.flush) {
		ret = uvirtio_blk_flush(c->blk);
		if (ret) {
			rc = cli_errno(ret, "%s: flush", c->bdf);
			goto out;
		}
	}
	printf("%s: wrote %" PRIu64 " bytes at 0x%" PRIx64 "%s\n", c->bdf,
	       done, off, padded ? " (last block zero-padded)" : "");
	rc = RC_OK;
out:
	uvirtio_blk_free_buf(c->blk, buf);
out_close:
	if (ifd > 0)
		close(ifd);
	return rc;
}

/* The workloads write their span from block 0: it must exist and be writable. */
static int check_writable_span(struct blkctx *c, uint64_t nblocks)
{
	if (c->info.read_only) {
		cli_err("%s: device is read-only", c->bdf);
		return RC_ERR;
	}
	return check_range(c, 0, nblocks * BS);
}

static int blk_verify(struct blkctx *c, uint64_t mib)
{
	const uint64_t seed = WL_SEED;
	uint64_t nblocks = mib * 1024 * 1024 / BS;
	size_t chunk = chunk_size(c);
	unsigned char *buf, *chk;
	int rc = RC_ERR, ret;

	rc = check_writable_span(c, nblocks);
	if (rc)
		return rc;
	ret = uvirtio_blk_alloc_buf(c->blk, chunk, (void **)&buf);
	if (ret)
		return cli_errno(ret, "%s: DMA buffer", c->bdf);
	chk = malloc(BS);
	if (!chk) {
		cli_err("out of memory");
		goto out;
	}
	for (uint64_t lba = 0; lba < nblocks;) {
		uint64_t n = chunk / BS;

		if (n > nblocks - lba)
			n = nblocks - lba;
		for (uint64_t i = 0; i < n; i++)
			wl_fill(buf + i * BS, lba + i, seed);
		ret = uvirtio_blk_write(c->blk, lba * BS, buf, n * BS);
		if (ret) {
			rc = cli_errno(ret, "%s: write at block %" PRIu64,
				       c->bdf, lba);
			goto out;
		}
		lba += n;
	}
	if (c->info.flush) {
		ret = uvirtio_blk_flush(c->blk);
		if (ret) {
			rc = cli_errno(ret, "%s: flush", c->bdf);
			goto out;
		}
	}
	for (uint64_t lba = 0; lba < nblocks;) {
		uint64_t n = chunk / BS;

		if (n > nblocks - lba)
			n = nblocks - lba;
		memset(buf, 0, n * BS);
		ret = uvirtio_blk_read(c->blk, lba * BS, buf, n * BS);
		if (ret) {
			rc = cli_errno(ret, "%s: read at block %" PRIu64,
				       c->bdf, lba);
			goto out;
		}
		for (uint64_t i = 0; i < n; i++) {
			wl_fill(chk, lba + i, seed);
			if (memcmp(buf + i * BS, chk, BS)) {
				cli_err("%s: data mismatch at block %" PRIu64,
					c->bdf, lba + i);
				rc = RC_ERR;
				goto out;
			}
		}
		lba += n;
	}
	printf("result uvirtio verify blocks=%" PRIu64 " bytes=%" PRIu64 " ok\n",
	       nblocks, nblocks * BS);
	rc = RC_OK;
out:
	free(chk);
	uvirtio_blk_free_buf(c->blk, buf);
	return rc;
}

static int blk_randrw(struct blkctx *c, uint64_t ops, uint64_t span_mib)
{
	const uint64_t seed = WL_SEED;
	uint64_t nblocks = span_mib * 1024 * 1024 / BS, s, t0;
	unsigned char *buf;
	int rc, ret;

	rc = check_writable_span(c, nblocks);
	if (rc)
		return rc;
	ret = uvirtio_blk_alloc_buf(c->blk, BS, (void **)&buf);
	if (ret)
		return cli_errno(ret, "%s: DMA buffer", c->bdf);
	/* Timed QD1 4 KiB random writes, then random reads (as kblk). */
	for (int wr = 1; wr >= 0; wr--) {
		s = seed + (uint64_t)wr;
		t0 = wl_now_ns();
		for (uint64_t i = 0; i < ops; i++) {
			uint64_t lba = wl_rnd(&s) % nblocks;

			if (wr) {
				wl_fill(buf, lba, seed);
				ret = uvirtio_blk_write(c->blk, lba * BS, buf, BS);
			} else {
				ret = uvirtio_blk_read(c->blk, lba * BS, buf, BS);
			}
			if (ret) {
				rc = cli_errno(ret, "%s: %s at block %" PRIu64,
					       c->bdf, wr ? "write" : "read", lba);
				goto out;
			}
		}
		t0 = wl_now_ns() - t0;
		if (!t0)
			t0 = 1;
		printf("result uvirtio rand%s qd=1 bs=4096 ops=%" PRIu64
		       " iops=%.0f lat_us=%.1f\n",
		       wr ? "write" : "read", ops, (double)ops * 1e9 / (double)t0,
		       (double)t0 / (double)ops / 1000.0);
		fflush(stdout);
	}
	rc = RC_OK;
out:
	uvirtio_blk_free_buf(c->blk, buf);
	return rc;
}

static const char blk_usage[] =
	"usage: uvirtio blk DEVICE info\n"
	"       uvirtio blk DEVICE read OFFSET LEN [-o FILE]\n"
	"       uvirtio blk DEVICE write OFFSET [-i FILE]\n"
	"       uvirtio blk DEVICE discard OFFSET LEN\n"
	"       uvirtio blk DEVICE write-zeroes OFFSET LEN [--unmap]\n"
	"       uvirtio blk DEVICE verify [-s MIB]\n"
	"       uvirtio blk DEVICE randrw [-n OPS] [-s SPAN_MIB] [--poll]";

/* discard or write-zeroes of [@off, @off + @len), flushed if it can be. */
static int blk_range(struct blkctx *c, bool discard, uint64_t off,
		     uint64_t len, bool unmap)
{
	const char *what = discard ? "discard" : "write-zeroes";
	uint64_t max = discard ? c->info.max_discard_sectors :
				 c->info.max_write_zeroes_sectors;
	int rc, ret;

	if (discard ? !c->info.discard : !c->info.write_zeroes) {
		cli_err("%s: the device does not offer %s", c->bdf, what);
		return RC_ERR;
	}
	if (c->info.read_only) {
		cli_err("%s: device is read-only", c->bdf);
		return RC_ERR;
	}
	rc = check_range(c, off, len);
	if (rc)
		return rc;
	if (max && len / 512 > max) {
		cli_err("%s: %s of %" PRIu64 " bytes exceeds the device's maximum of %"
			PRIu64 " bytes per request", c->bdf, what, len, max * 512);
		return RC_USAGE;
	}
	ret = discard ? uvirtio_blk_discard(c->blk, off, len) :
			uvirtio_blk_write_zeroes(c->blk, off, len, unmap);
	if (ret == -EINVAL && discard && c->info.discard_sector_alignment > 1) {
		cli_err("%s: discard must be aligned to %u sectors", c->bdf,
			c->info.discard_sector_alignment);
		return RC_USAGE;
	}
	if (ret)
		return cli_errno(ret, "%s: %s at 0x%" PRIx64, c->bdf, what, off);
	if (c->info.flush) {
		ret = uvirtio_blk_flush(c->blk);
		if (ret)
			return cli_errno(ret, "%s: flush", c->bdf);
	}
	printf("%s: %s %" PRIu64 " bytes at 0x%" PRIx64 "%s\n", c->bdf,
	       discard ? "discarded" : "zeroed", len, off,
	       !discard && unmap ? " (unmap allowed)" : "");
	return RC_OK;
}

int cmd_blk(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "span", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "poll", no_argument, NULL, 'p' },
		{ "unmap", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *in = NULL, *op, *dev;
	uint64_t ops = 2000, mib = 0, off = 0, len = 0;
	bool poll = false, have_n = false, have_s = false, unmap = false;
	bool ranged;
	struct blkctx c;
	char **pos;
	int opt, npos = 0, rc;

	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (!pos) {
		cli_err("out of memory");
		return RC_ERR;
	}
	/* Options may come anywhere ("-" mode): collect the other words. */
	while ((opt = getopt_long(argc, argv, "-n:s:o:i:puh", opts, NULL)) != -1) {
		switch (opt) {
		case 1:
			pos[npos++] = optarg;
			break;
		case 'n':
			if (cli_parse_size(optarg, &ops) || !ops) {
				free(pos);
				return cli_usage_err("blk: bad op count '%s'", optarg);
			}
			have_n = true;
			break;
		case 's':
			if (cli_parse_size(optarg, &mib) || !mib ||
			    mib > (1ULL << 30)) {
				free(pos);
				return cli_usage_err("blk: bad size '%s' (MiB)", optarg);
			}
			have_s = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'p':
			poll = true;
			break;
		case 'u':
			unmap = true;
			break;
		case 'h':
			free(pos);
			printf("%s\n", blk_usage);
			return RC_OK;
		default:
			free(pos);
			return cli_usage_err("%s", blk_usage);
		}
	}
	while (optind < argc)	/* after "--" */
		pos[npos++] = argv[optind++];
	if (npos < 2) {
		rc = npos ? cli_usage_err("blk: missing the operation after '%s'\n%s",
					  pos[0], blk_usage) :
			    cli_usage_err("blk: missing DEVICE and operation\n%s",
					  blk_usage);
		free(pos);
		return rc;
	}
	dev = pos[0];
	op = pos[1];
	ranged = !strcmp(op, "read") || !strcmp(op, "discard") ||
		 !strcmp(op, "write-zeroes");
	if (!strcmp(op, "info") || !strcmp(op, "verify") ||
	    !strcmp(op, "randrw")) {
		if (npos != 2) {
			rc = cli_usage_err("blk: %s takes no argument, got '%s'",
					   op, pos[2]);
			free(pos);
			return rc;
		}
	} else if (ranged || !strcmp(op, "write")) {
		int want = ranged ? 4 : 3;

		if (npos != want) {
			rc = cli_usage_err("blk: %s takes %s, got %d argument(s)",
					   op, ranged ? "OFFSET LEN" : "OFFSET",
					   npos - 2);
			free(pos);
			return rc;
		}
		if (cli_parse_size(pos[2], &off)) {
			rc = cli_usage_err("blk: bad OFFSET '%s'", pos[2]);
			free(pos);
			return rc;
		}
		if (ranged && (cli_parse_size(pos[3], &len) || !len)) {
			rc = cli_usage_err("blk: bad LEN '%s' (must be > 0)",
					   pos[3]);
			free(pos);
			return rc;
		}
	} else {
		free(pos);
		return cli_usage_err("blk: unknown operation '%s'", op);
	}
	/* Options that make no sense for the operation are errors. */
	{
		const char *bad = NULL;

		if (have_n && strcmp(op, "randrw"))
			bad = "-n";
		else if (have_s && strcmp(op, "randrw") && strcmp(op, "verify"))
			bad = "-s";
		else if (poll && strcmp(op, "randrw"))
			bad = "--poll";
		else if (out && strcmp(op, "read"))
			bad = "-o";
		else if (in && strcmp(op, "write"))
			bad = "-i";
		else if (unmap && strcmp(op, "write-zeroes"))
			bad = "--unmap";
		if (bad) {
			free(pos);
			return cli_usage_err("blk: %s does not apply to %s", bad,
					     op);
		}
	}
	if (!have_s)
		mib = !strcmp(op, "randrw") ? 32 : 1;

	memset(&c, 0, sizeof(c));
	rc = blk_open(&c, dev, poll, !strcmp(op, "info"));
	if (rc == RC_OK) {
		if (!strcmp(op, "info"))
			rc = blk_info(&c);
		else if (!strcmp(op, "read"))
			rc = blk_read(&c, off, len, out);
		else if (!strcmp(op, "write"))
			rc = blk_write(&c, off, in);
		else if (!strcmp(op, "verify"))
			rc = blk_verify(&c, mib);
		else if (!strcmp(op, "discard") || !strcmp(op, "write-zeroes"))
			rc = blk_range(&c, !strcmp(op, "discard"), off, len,
				       unmap);
		else
			rc = blk_randrw(&c, ops, mib);
	}
	blk_close(&c);
	free(pos);
	return rc;
}
