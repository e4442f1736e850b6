// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_backend.c - libuvirtio unit tests of the backend layer: PCI addresses, the IOVA translation table, the
 * virtio capability parser.
 * Part of test_runner (test_main.c), on the fake device.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

#include "unit.h"

static int t_pci_addr(void)
{
	struct uvirtio_pci_addr a;

	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:04.0", &a), 0);
	CHECK(a.domain == 0 && a.bus == 0 && a.dev == 4 && a.fn == 0);
	CHECK_EQ(uvirtio_parse_pci_addr("abcd:1f:1f.7", &a), 0);
	CHECK(a.domain == 0xabcd && a.bus == 0x1f && a.dev == 0x1f && a.fn == 7);
	CHECK_EQ(uvirtio_parse_pci_addr("03:00.1", &a), 0);
	CHECK(a.domain == 0 && a.bus == 3 && a.fn == 1);
	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:20.0", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:04.8", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("0000:00:04.0x", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("10000:00:04.0", &a), -EINVAL);
	CHECK_EQ(uvirtio_parse_pci_addr("", &a), -EINVAL);
	return PASS;
}

static int t_xlat(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	struct uvirtio_dma d;
	uint8_t *buf = aligned_alloc(4096, 5 * 4096);
	uint64_t iova, iova2;
	int64_t n;

	blkcfg(&c);
	c.map_seg_size = 4096;
	CHECK_EQ(uvirtio_fake_create(&c, &f, &be), 0);
	CHECK_EQ(uvirtio_backend_dma_map(be, buf + 100, 3 * 4096), 0);
	n = uvirtio_backend_translate(be, buf + 100, 3 * 4096, &iova);
	CHECK_EQ(n, 4096);			/* first fake segment */
	CHECK(iova != (uintptr_t)(buf + 100));
	n = uvirtio_backend_translate(be, buf + 100 + 4096 + 8, 100, &iova2);
	CHECK_EQ(n, 100);
	CHECK(iova2 != iova + 4096 + 8);	/* segments are not adjacent */
	CHECK_EQ(uvirtio_backend_translate(be, buf + 99, 1, &iova), -EFAULT);
	CHECK_EQ(uvirtio_backend_translate(be, buf + 100 + 3 * 4096, 1, &iova),
		 -EFAULT);
	CHECK_EQ(uvirtio_backend_dma_map(be, buf + 4096, 10), -EEXIST);
	CHECK_EQ(uvirtio_backend_dma_map(be, buf, 50), 0);	/* adjacent ok */
	CHECK_EQ(uvirtio_backend_dma_unmap(be, buf + 100), 0);
	CHECK_EQ(uvirtio_backend_translate(be, buf + 200, 1, &iova), -EFAULT);
	CHECK_EQ(uvirtio_backend_translate(be, buf + 10, 1, &iova), 1);
	CHECK_EQ(uvirtio_backend_dma_unmap(be, buf + 100), -ENOENT);
	CHECK_EQ(uvirtio_backend_dma_alloc(be, 100, &d), 0);
	CHECK_EQ(d.len, 4096);
	CHECK(d.iova != (uintptr_t)d.vaddr);
	CHECK_EQ(uvirtio_backend_translate(be, (uint8_t *)d.vaddr + 4000, 200,
					   &iova), 96);
	CHECK_EQ(iova, d.iova + 4000);
	CHECK(((uint8_t *)d.vaddr)[4095] == 0);
	uvirtio_backend_dma_free(be, &d);
	uvirtio_backend_close(be);
	free(buf);
	return PASS;
}

static int t_caps_parser(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_fake *f1, *f2;
	struct uvirtio_backend *b1, *b2;
	struct uvirtio_caps k1, k2;

	blkcfg(&c);
	CHECK_EQ(uvirtio_fake_create(&c, &f1, &b1), 0);
	c.no_caps_op = true;
	CHECK_EQ(uvirtio_fake_create(&c, &f2, &b2), 0);
	CHECK_EQ(uvirtio_backend_get_caps(b1, &k1), 0);
	CHECK_EQ(uvirtio_backend_get_caps(b2, &k2), 0);	/* parser */
	CHECK(k2.common.present && k2.notify.present && k2.isr.present &&
	      k2.device.present && k2.pci_cfg.present);
	CHECK_EQ(k2.common.bar, k1.common.bar);
	CHECK_EQ(k2.common.offset, k1.common.offset);
	CHECK_EQ(k2.notify.offset, k1.notify.offset);
	CHECK_EQ(k2.notify.length, k1.notify.length);
	CHECK_EQ(k2.device.offset, k1.device.offset);
	CHECK_EQ(k2.device.length, k1.device.length);
	CHECK_EQ(k2.isr.offset, k1.isr.offset);
	CHECK_EQ(k2.notify_off_multiplier, 4);
	CHECK_EQ(k2.msix_vectors, 8);
	CHECK_EQ(k2.has_legacy_io, 0);
	uvirtio_backend_close(b1);
	uvirtio_backend_close(b2);
	/* Parser-only device still works end to end. */
	{
		struct env e;
		uint8_t *buf;

		CHECK_EQ(env_open(&e, &c, NULL), 0);
		CHECK_EQ(uvirtio_blk_alloc_buf(e.blk, 4096, (void **)&buf), 0);
		pattern(buf, 4096, 3);
		CHECK_EQ(uvirtio_blk_write(e.blk, 4096, buf, 4096), 0);
		env_close(&e);
	}
	return PASS;
}

/*
 * Device strings (open.c): every scheme splits into its enum and the
 * argument after the prefix; a bare BDF is PCI; a BDF scheme with a bad
 * BDF, an empty argument or an empty string is EINVAL.
 */
static int t_devstr(void)
{
	static const struct {
		const char *s;
		int ret;
		enum uvirtio_scheme scheme;
		const char *arg;
	} c[] = {
		{ "0000:00:04.0", 0, UVIRTIO_SCHEME_PCI, "0000:00:04.0" },
		{ "pci:00:04.0", 0, UVIRTIO_SCHEME_PCI, "00:04.0" },
		{ "vhost-user:/run/blk.sock", 0, UVIRTIO_SCHEME_VHOST_USER,
		  "/run/blk.sock" },
		{ "vhost-vdpa:/dev/vhost-vdpa-0", 0, UVIRTIO_SCHEME_VHOST_VDPA,
		  "/dev/vhost-vdpa-0" },
		{ "mmio:LNRO0005:00", 0, UVIRTIO_SCHEME_MMIO, "LNRO0005:00" },
		{ "vfio:0000:00:06.0", 0, UVIRTIO_SCHEME_VFIO, "0000:00:06.0" },
		{ "", -EINVAL, 0, NULL },
		{ "pci:", -EINVAL, 0, NULL },
		{ "vhost-user:", -EINVAL, 0, NULL },
		{ "pci:00:04", -EINVAL, 0, NULL },
		{ "vfio:not-a-bdf", -EINVAL, 0, NULL },
		{ "nonsense", -EINVAL, 0, NULL },	/* a bare "BDF" */
	};
	struct uvirtio_backend *be = NULL;
	size_t i;

	for (i = 0; i < UV_ARRAY_LEN(c); i++) {
		enum uvirtio_scheme sch = (enum uvirtio_scheme)-1;
		const char *arg = NULL;
		int r = uvirtio_parse_devstr(c[i].s, &sch, &arg);

		if (r != c[i].ret) {
			fprintf(stderr, "  '%s': %d, expected %d\n", c[i].s, r,
				c[i].ret);
			return FAIL;
		}
		if (r)
			continue;
		CHECK_EQ(sch, c[i].scheme);
		CHECK(arg && !strcmp(arg, c[i].arg));
		/* the out pointers are optional */
		CHECK_EQ(uvirtio_parse_devstr(c[i].s, NULL, NULL), 0);
	}
	CHECK_EQ(uvirtio_parse_devstr(NULL, NULL, NULL), -EINVAL);
	/* open: the same checks before any backend is touched */
	CHECK_EQ(uvirtio_backend_open("pci:", NULL, &be), -EINVAL);
	CHECK_EQ(uvirtio_backend_open("0000:00:04.0", NULL, NULL), -EINVAL);
	CHECK(be == NULL);
	return PASS;
}

const struct tcase uv_backend_tests[] = {
	{ "pci_addr", t_pci_addr },
	{ "xlat_table", t_xlat },
	{ "caps_parser", t_caps_parser },
	{ "devstr", t_devstr },
};
const size_t uv_backend_ntests = UV_ARRAY_LEN(uv_backend_tests);
