// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_pci_caps.c - libuvirtio unit tests of the PCI capability parser
 * (uvirtio_parse_pci_caps()) against a device whose config space lies:
 * no capability list, a pointer below 0x40 or misaligned, a loop, a
 * vendor capability too short to be a virtio one or naming a reserved
 * BAR, a notify capability without its multiplier, the same type twice;
 * and config reads failing one by one.  Part of test_runner
 * (test_main.c), on the fake device with no_caps_op (the library walks
 * config space itself).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_pci.h>

#include "unit.h"

#define PCI_STATUS	0x06
#define PCI_CAP_PTR	0x34
#define CAP_LIST	0x10

struct cenv {
	struct uvirtio_fake *f;
	struct uvirtio_backend *be;
	uint8_t pos[16];	/* the capabilities, in list order */
	uint8_t type[16];	/* their cfg_type (vendor caps), else 0 */
	unsigned int n;
};

static uint8_t rd8(struct cenv *e, uint32_t off)
{
	uint8_t v = 0;

	uvirtio_backend_cfg_read(e->be, off, &v, 1);
	return v;
}

static int cenv_open(struct cenv *e)
{
	struct uvirtio_fake_config c;
	uint8_t p;

	memset(e, 0, sizeof(*e));
	blkcfg(&c);
	c.no_caps_op = true;
	CHECK_EQ(uvirtio_fake_create(&c, &e->f, &e->be), 0);
	for (p = rd8(e, PCI_CAP_PTR); p && e->n < 16; p = rd8(e, p + 1)) {
		e->pos[e->n] = p;
		e->type[e->n] = rd8(e, p) == 0x09 ?
				rd8(e, p + VIRTIO_PCI_CAP_CFG_TYPE) : 0;
		e->n++;
	}
	CHECK(e->n >= 4);
	return PASS;
}

static int find(struct cenv *e, uint8_t type)
{
	unsigned int i;

	for (i = 0; i < e->n; i++)
		if (e->type[i] == type)
			return e->pos[i];
	return -1;
}

/* The config space as the fake builds it parses: every virtio cap. */
static int t_caps_good(void)
{
	struct uvirtio_caps caps;
	struct cenv e;

	CHECK_EQ(cenv_open(&e), PASS);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), 0);
	CHECK(caps.common.present && caps.notify.present &&
	      caps.isr.present && caps.device.present);
	CHECK(caps.notify_off_multiplier > 0 || caps.notify.length > 0);
	uvirtio_backend_close(e.be);
	return PASS;
}

static int t_caps_list_broken(void)
{
	struct uvirtio_caps caps;
	struct cenv e;
	uint8_t st;

	/* no capability list at all */
	CHECK_EQ(cenv_open(&e), PASS);
	st = rd8(&e, PCI_STATUS);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, PCI_STATUS, st & ~CAP_LIST), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), -ENODEV);
	uvirtio_backend_close(e.be);
	/* a pointer into the standard header */
	CHECK_EQ(cenv_open(&e), PASS);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, PCI_CAP_PTR, 0x20), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), -EIO);
	uvirtio_backend_close(e.be);
	/* a misaligned next pointer */
	CHECK_EQ(cenv_open(&e), PASS);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, e.pos[0] + 1, e.pos[1] + 1), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), 0);	/* masked: & 0xfc */
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, PCI_CAP_PTR, e.pos[0] + 2), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), -EIO);
	uvirtio_backend_close(e.be);
	/* a loop: the last capability points back at the first */
	CHECK_EQ(cenv_open(&e), PASS);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, e.pos[e.n - 1] + 1, e.pos[0]), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), -EIO);
	/* the device cannot be opened on it either */
	{
		struct uvirtio_blk *blk = NULL;

		CHECK(uvirtio_blk_open(e.be, NULL, &blk) < 0);
		CHECK(!blk);
	}
	uvirtio_backend_close(e.be);
	return PASS;
}

/* Vendor capabilities that are not (usable) virtio ones are passed by. */
static int t_caps_ignored(void)
{
	struct uvirtio_caps caps;
	struct cenv e;
	int p;

	/* common cfg too short to be a struct virtio_pci_cap */
	CHECK_EQ(cenv_open(&e), PASS);
	p = find(&e, VIRTIO_PCI_CAP_COMMON_CFG);
	CHECK(p > 0);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, p + VIRTIO_PCI_CAP_LEN, 8), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), 0);
	CHECK(!caps.common.present);
	CHECK(caps.notify.present);
	uvirtio_backend_close(e.be);
	/* a reserved BAR number */
	CHECK_EQ(cenv_open(&e), PASS);
	p = find(&e, VIRTIO_PCI_CAP_ISR_CFG);
	CHECK(p > 0);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, p + VIRTIO_PCI_CAP_BAR, 6), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), 0);
	CHECK(!caps.isr.present);
	uvirtio_backend_close(e.be);
	/* a notify capability without room for its multiplier */
	CHECK_EQ(cenv_open(&e), PASS);
	p = find(&e, VIRTIO_PCI_CAP_NOTIFY_CFG);
	CHECK(p > 0);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, p + VIRTIO_PCI_CAP_LEN,
				sizeof(struct virtio_pci_cap)), 0);
	CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), 0);
	CHECK(!caps.notify.present);
	uvirtio_backend_close(e.be);
	/* an unknown cfg_type, and one type given twice: the first counts */
	CHECK_EQ(cenv_open(&e), PASS);
	p = find(&e, VIRTIO_PCI_CAP_ISR_CFG);
	CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, p + VIRTIO_PCI_CAP_CFG_TYPE,
					   0x7f), 0);
	{
		int first = -1;
		unsigned int i;

		/* every later vendor cap claims to be the common one too */
		for (i = 0; i < e.n; i++) {
			if (!e.type[i] || e.type[i] == VIRTIO_PCI_CAP_ISR_CFG)
				continue;
			if (first < 0)
				first = e.pos[i];
			CHECK_EQ(uvirtio_fake_pci_cfg_poke(e.f, e.pos[i] +
					VIRTIO_PCI_CAP_CFG_TYPE,
					VIRTIO_PCI_CAP_COMMON_CFG), 0);
		}
		CHECK_EQ(uvirtio_parse_pci_caps(e.be, &caps), 0);
		CHECK(!caps.isr.present);
		CHECK(!caps.notify.present);
		CHECK(caps.common.present);
		CHECK_EQ(caps.common.cfg_offset, first);
	}
	uvirtio_backend_close(e.be);
	return PASS;
}

/* Each config read of the walk failing in turn: its errno, nothing else. */
static int t_caps_read_fails(void)
{
	unsigned int n, failed = 0;

	for (n = 1; n < 1000; n++) {
		struct uvirtio_fake_stats st;
		struct uvirtio_caps caps;
		struct cenv e;
		int r;

		CHECK_EQ(cenv_open(&e), PASS);
		CHECK_EQ(uvirtio_fake_inject(e.f, UVIRTIO_FAKE_FAULT_OP_FAIL_NTH,
					     n, 0), 0);
		r = uvirtio_parse_pci_caps(e.be, &caps);
		uvirtio_fake_get_stats(e.f, &st);
		uvirtio_backend_close(e.be);
		if (!st.ops_failed) {
			CHECK_EQ(r, 0);
			break;
		}
		CHECK_EQ(r, -EIO);
		failed++;
	}
	CHECK(failed > 10);
	CHECK(n < 1000);
	return PASS;
}

const struct tcase uv_pci_caps_tests[] = {
	{ "caps_good", t_caps_good },
	{ "caps_list_broken", t_caps_list_broken },
	{ "caps_ignored", t_caps_ignored },
	{ "caps_read_fails", t_caps_read_fails },
};
const size_t uv_pci_caps_ntests = UV_ARRAY_LEN(uv_pci_caps_tests);
