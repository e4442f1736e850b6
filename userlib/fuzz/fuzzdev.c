// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzzdev.c - single-threaded, fuzzer-controlled virtio PCI device used by
 * the libFuzzer harnesses (see fuzzdev.h).
 *
 * BAR0 layout: common config at 0, notify at 0x1000 (multiplier 4, queue
 * i at i * 4), ISR at 0x2000, device config at 0x3000.  Capabilities are
 * handed over through the get_caps op.  DMA memory is page-aligned heap
 * memory with IOVAs from 0x7000000000 upwards that never equal the CPU
 * address; every device access goes through fd_xlat().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fuzzdev.h"

#define BAR_COMMON	0x0000u
#define BAR_NOTIFY	0x1000u
#define BAR_ISR		0x2000u
#define BAR_DEVICE	0x3000u
#define NOTIFY_MULT	4u
#define IOVA_BASE	0x7000000000ull

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "FUZZ INVARIANT VIOLATED %s:%d: %s\n", file, line,
		what);
	abort();
}

/* ---- input ----------------------------------------------------------- */

uint8_t fz_u8(struct fz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

uint32_t fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t)fz_u16(in) << 16;
}

uint64_t fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

/* ---- DMA ------------------------------------------------------------- */

void *fd_xlat(struct fuzzdev *fd, uint64_t iova, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < fd->ndma; i++) {
		struct fd_dma *d = &fd->dma[i];

		if (iova >= d->iova && iova - d->iova <= d->len &&
		    len <= d->len - (iova - d->iova))
			return (char *)d->va + (iova - d->iova);
	}
	return NULL;
}

static int op_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	struct fuzzdev *fd = priv;
	void *va;

	if (fd->ndma == sizeof(fd->dma) / sizeof(fd->dma[0]))
		return -ENOMEM;
	va = aligned_alloc(4096, len);
	if (!va)
		return -ENOMEM;
	memset(va, 0, len);
	fd->dma[fd->ndma++] = (struct fd_dma){ va, fd->next_iova, len };
	out->vaddr = va;
	out->iova = fd->next_iova;
	out->len = len;
	out->handle = fd->next_iova;
	fd->next_iova += len + 0x10000;	/* gaps catch off-by-ones */
	return 0;
}

static void op_dma_free(void *priv, struct uvirtio_dma *dma)
{
	struct fuzzdev *fd = priv;
	unsigned int i;

	for (i = 0; i < fd->ndma; i++) {
		if (fd->dma[i].va == dma->vaddr) {
			FZ_ASSERT(fd->dma[i].iova == dma->handle);
			free(fd->dma[i].va);
			fd->dma[i] = fd->dma[--fd->ndma];
			return;
		}
	}
	FZ_ASSERT(!"dma_free of unknown memory");
}

/* ---- config space and registers ------------------------------------- */

static int op_cfg_read(void *priv, uint32_t off, void *buf, unsigned int width)
{
	struct fuzzdev *fd = priv;
	uint8_t space[64] = { 0 };

	space[0] = 0xf4;	/* Red Hat / virtio vendor 0x1af4 */
	space[1] = 0x1a;
	space[2] = (uint8_t)fd->pci_devid;
	space[3] = (uint8_t)(fd->pci_devid >> 8);
	memset(buf, 0, width);
	if (off < sizeof(space) && width <= sizeof(space) - off)
		memcpy(buf, space + off, width);
	return 0;
}

static int op_get_caps(void *priv, struct uvirtio_caps *caps)
{
	struct fuzzdev *fd = priv;

	memset(caps, 0, sizeof(*caps));
	caps->common = (struct uvirtio_cap_region){ true, 0, 0, 0, BAR_COMMON,
						    0x38 };
	caps->notify = (struct uvirtio_cap_region){ true, 0, 0, 0, BAR_NOTIFY,
						    0x1000 };
	caps->isr = (struct uvirtio_cap_region){ true, 0, 0, 0, BAR_ISR, 4 };
	if (fd->cfg_len)
		caps->device = (struct uvirtio_cap_region){ true, 0, 0, 0,
							    BAR_DEVICE,
							    fd->cfg_len };
	caps->notify_off_multiplier = NOTIFY_MULT;
	caps->msix_vectors = fd->nvectors;
	return 0;
}

static uint16_t qmax_of(const struct fuzzdev *fd, unsigned int i)
{
	return i && fd->qmax1 ? fd->qmax1 : fd->qmax;
}

static void dev_reset(struct fuzzdev *fd)
{
	unsigned int i;

	fd->status = 0;
	fd->needs_reset = false;
	fd->packed = false;
	for (i = 0; i < FD_MAX_QUEUES; i++) {
		memset(&fd->q[i], 0, sizeof(fd->q[i]));
		fd->q[i].size = qmax_of(fd, i);
		fd->q[i].msix = VIRTIO_MSI_NO_VECTOR;
		fd->q[i].avail_wrap = true;
		fd->q[i].used_wrap = true;
	}
}

static struct fd_queue *selq(struct fuzzdev *fd)
{
	return fd->qsel < fd->num_queues && fd->qsel < FD_MAX_QUEUES ?
	       &fd->q[fd->qsel] : NULL;
}

static uint64_t common_read(struct fuzzdev *fd, uint64_t off)
{
	struct fd_queue *q = selq(fd);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return fd->dfsel;
	case VIRTIO_PCI_COMMON_DF:
		return fd->dfsel == 0 ? (uint32_t)fd->features :
		       fd->dfsel == 1 ? fd->features >> 32 : 0;
	case VIRTIO_PCI_COMMON_GFSELECT: return fd->gfsel;
	case VIRTIO_PCI_COMMON_MSIX: return fd->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ: return fd->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return fd->status |
		       (fd->needs_reset ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		fd->gen_reads++;
		if (fd->gen_left) {
			fd->gen_left--;
			if (*fd->gen_script++ & 1) {
				fd->gen++;
				fd->cfg_cur ^= 1;
			}
		}
		return fd->gen;
	case VIRTIO_PCI_COMMON_Q_SELECT: return fd->qsel;
	case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->size : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX: return q ? q->msix : 0xffff;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->enable : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF: return fd->qsel;
	default: return 0;
	}
}

static void set64(uint64_t *v, bool hi, uint64_t val)
{
	if (hi)
		*v = (*v & 0xffffffffu) | (val << 32);
	else
		*v = (*v & ~0xffffffffull) | (val & 0xffffffffu);
}

static void common_write(struct fuzzdev *fd, uint64_t off, uint64_t val)
{
	struct fd_queue *q = selq(fd);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: fd->dfsel = (uint32_t)val; break;
	case VIRTIO_PCI_COMMON_GFSELECT: fd->gfsel = (uint32_t)val; break;
	case VIRTIO_PCI_COMMON_GF:
		if (fd->gfsel < 2)
			set64(&fd->drv_features, fd->gfsel, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		fd->msix_config = val < fd->nvectors ? (uint16_t)val :
			VIRTIO_MSI_NO_VECTOR;
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		if (!(val & 0xff)) {
			dev_reset(fd);
			break;
		}
		if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    !(fd->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			/* The driver may only accept what was offered. */
			FZ_ASSERT(!(fd->drv_features & ~fd->features));
			if (fd->refuse_features_ok)
				val &= ~(uint64_t)VIRTIO_CONFIG_S_FEATURES_OK;
			fd->packed = fd->drv_features &
				     (1ull << VIRTIO_F_RING_PACKED);
		}
		fd->status = (uint8_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT: fd->qsel = (uint16_t)val; break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (q) {
			/* The driver must not exceed the maximum. */
			FZ_ASSERT(val && val <= qmax_of(fd, fd->qsel));
			q->size = (uint16_t)val;
		}
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (q)
			q->msix = val < fd->nvectors ? (uint16_t)val :
				  VIRTIO_MSI_NO_VECTOR;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE: if (q) q->enable = (uint16_t)val; break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (q)
			set64(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (q)
			set64(&q->drv, off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (q)
			set64(&q->dev, off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
		break;
	default:
		break;
	}
}

static int op_bar_read(void *priv, unsigned int bar, uint64_t off,
		       unsigned int width, uint64_t *val)
{
	struct fuzzdev *fd = priv;

	*val = 0;
	FZ_ASSERT(bar == 0);
	FZ_ASSERT(width == 1 || width == 2 || width == 4 || width == 8);
	if (off < BAR_NOTIFY) {
		*val = common_read(fd, off - BAR_COMMON);
	} else if (off >= BAR_DEVICE && off < BAR_DEVICE + FD_CFG_MAX) {
		uint64_t o = off - BAR_DEVICE;

		/* The transport must have bounds-checked against cfg_len. */
		FZ_ASSERT(o + width <= fd->cfg_len);
		memcpy(val, &fd->cfg[fd->cfg_cur][o], width);
	}
	if (width < 8)
		*val &= (1ull << (8 * width)) - 1;
	return 0;
}

static int op_bar_write(void *priv, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t val)
{
	struct fuzzdev *fd = priv;

	FZ_ASSERT(bar == 0);
	FZ_ASSERT(width == 1 || width == 2 || width == 4 || width == 8);
	if (off < BAR_NOTIFY) {
		common_write(fd, off - BAR_COMMON, val);
	} else if (off >= BAR_NOTIFY && off < BAR_NOTIFY + 0x1000) {
		FZ_ASSERT(width == 2);
		FZ_ASSERT((off - BAR_NOTIFY) == (uint64_t)val * NOTIFY_MULT);
		fd->doorbells++;
	} else if (off >= BAR_DEVICE && off < BAR_DEVICE + FD_CFG_MAX) {
		uint64_t o = off - BAR_DEVICE;

		FZ_ASSERT(o + width <= fd->cfg_len);
		memcpy(&fd->cfg[fd->cfg_cur][o], &val, width);
	}
	return 0;
}

static int op_irq_eventfd(void *priv, unsigned int vector, int cpu)
{
	struct fuzzdev *fd = priv;

	(void)cpu;
	if (vector >= fd->nvectors || vector >= 8)
		return -EINVAL;
	if (fd->efd[vector] < 0)
		fd->efd[vector] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return fd->efd[vector] >= 0 ? fd->efd[vector] : -errno;
}

static int op_num_vectors(void *priv)
{
	return ((struct fuzzdev *)priv)->nvectors;
}

static int op_iommu_mode(void *priv)
{
	(void)priv;
	return UVIRTIO_BE_IOMMU_NONE;
}

static void op_close(void *priv)
{
	struct fuzzdev *fd = priv;
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (fd->efd[i] >= 0)
			close(fd->efd[i]);
	/* Every DMA allocation must have been returned by the library. */
	FZ_ASSERT(fd->ndma == 0);
}

static const struct uvirtio_backend_ops fd_ops = {
	.cfg_read = op_cfg_read,
	.bar_read = op_bar_read,
	.bar_write = op_bar_write,
	.dma_alloc = op_dma_alloc,
	.dma_free = op_dma_free,
	.irq_eventfd = op_irq_eventfd,
	.num_vectors = op_num_vectors,
	.get_caps = op_get_caps,
	.iommu_mode = op_iommu_mode,
	.close = op_close,
};

void fd_init(struct fuzzdev *fd)
{
	unsigned int i;

	memset(fd, 0, sizeof(*fd));
	for (i = 0; i < 8; i++)
		fd->efd[i] = -1;
	fd->next_iova = IOVA_BASE;
}

int fd_backend(struct fuzzdev *fd, struct uvirtio_backend **be)
{
	dev_reset(fd);
	return uvirtio_backend_new(&fd_ops, fd, be);
}

/* ---- honest device model -------------------------------------------- */

void *fd_ring(struct fuzzdev *fd, unsigned int qi, size_t *len)
{
	struct fd_queue *q = &fd->q[qi];
	uint64_t end;

	if (qi >= FD_MAX_QUEUES || !q->enable || !q->size)
		return NULL;
	/* The library lays every ring out in one allocation. */
	if (fd->packed)
		end = q->dev + 4;
	else
		end = q->dev + 6 + 8ull * q->size;
	*len = (size_t)(end - q->desc);
	return fd_xlat(fd, q->desc, *len);
}

static void account(struct fd_chain *c, uint64_t addr, uint32_t len,
		    bool write)
{
	if (!c->nbufs)
		c->first_addr = addr;
	c->nbufs++;
	if (write) {
		c->wlen += len;
		c->last_waddr = addr;
		c->last_wlen = len;
	} else if (c->last_waddr) {
		c->bad = true;	/* readable after writable */
	}
}

/*
 * Walk an indirect table; split tables chain by next, packed ones are read
 * in order.  The table address comes from the ring and may be anything,
 * so entries are copied out (no alignment assumed).
 */
static void walk_indirect(struct fuzzdev *fd, struct fd_chain *c,
			  uint64_t addr, uint32_t len, bool packed)
{
	const uint8_t *t = fd_xlat(fd, addr, len);
	unsigned int n = len / 16, i = 0, steps;

	if (!t || !len || len % 16) {
		c->bad = true;
		return;
	}
	if (packed) {
		struct vring_packed_desc p;

		for (i = 0; i < n; i++) {
			memcpy(&p, t + 16u * i, sizeof(p));
			account(c, p.addr, p.len, p.flags & VRING_DESC_F_WRITE);
		}
		return;
	}
	for (steps = 0; steps < n; steps++) {
		struct vring_desc d;

		memcpy(&d, t + 16u * i, sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			c->bad = true;
		account(c, d.addr, d.len, d.flags & VRING_DESC_F_WRITE);
		if (!(d.flags & VRING_DESC_F_NEXT))
			return;
		i = d.next;
		if (i >= n)
			break;
	}
	c->bad = true;	/* loop or out-of-table next */
}

static bool fetch_split(struct fuzzdev *fd, struct fd_queue *q,
			struct fd_chain *c)
{
	struct vring_desc *desc = fd_xlat(fd, q->desc, 16ull * q->size);
	struct vring_avail *avail = fd_xlat(fd, q->drv, 4 + 2ull * q->size);
	uint16_t idx, head, steps;

	if (!desc || !avail)
		return false;
	idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	if (idx == q->last_avail)
		return false;
	head = avail->ring[q->last_avail % q->size];
	q->last_avail++;
	memset(c, 0, sizeof(*c));
	c->id = head;
	if (head >= q->size) {
		c->bad = true;
		return true;
	}
	for (steps = 0; steps < q->size; steps++) {
		struct vring_desc *d = &desc[head];

		c->ndesc++;
		if (d->flags & VRING_DESC_F_INDIRECT) {
			if (c->ndesc != 1 || (d->flags & VRING_DESC_F_NEXT))
				c->bad = true;
			walk_indirect(fd, c, d->addr, d->len, false);
			return true;
		}
		account(c, d->addr, d->len, d->flags & VRING_DESC_F_WRITE);
		if (!(d->flags & VRING_DESC_F_NEXT))
			return true;
		head = d->next;
		if (head >= q->size)
			break;
	}
	c->bad = true;
	return true;
}

static bool packed_avail(struct vring_packed_desc *d, bool wrap)
{
	uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
	bool a = f & (1u << VRING_PACKED_DESC_F_AVAIL);
	bool u = f & (1u << VRING_PACKED_DESC_F_USED);

	return a == wrap && u != wrap;
}

static bool fetch_packed(struct fuzzdev *fd, struct fd_queue *q,
			 struct fd_chain *c)
{
	struct vring_packed_desc *pd = fd_xlat(fd, q->desc, 16ull * q->size);
	uint16_t pos = q->last_avail;
	bool wrap = q->avail_wrap;

	if (!pd || !packed_avail(&pd[pos], wrap))
		return false;
	memset(c, 0, sizeof(*c));
	for (;;) {
		struct vring_packed_desc *d = &pd[pos];

		if (c->ndesc && !packed_avail(d, wrap))
			c->bad = true;	/* chain member not made available */
		c->ndesc++;
		c->id = d->id;
		if (d->flags & VRING_DESC_F_INDIRECT) {
			if (c->ndesc != 1 || (d->flags & VRING_DESC_F_NEXT))
				c->bad = true;
			walk_indirect(fd, c, d->addr, d->len, true);
		} else {
			account(c, d->addr, d->len,
				d->flags & VRING_DESC_F_WRITE);
		}
		if (++pos == q->size) {
			pos = 0;
			wrap = !wrap;
		}
		if (!(d->flags & VRING_DESC_F_NEXT) ||
		    (d->flags & VRING_DESC_F_INDIRECT))
			break;
		if (c->ndesc >= q->size) {
			c->bad = true;
			break;
		}
	}
	q->last_avail = pos;
	q->avail_wrap = wrap;
	return true;
}

unsigned int fd_fetch(struct fuzzdev *fd, unsigned int qi, unsigned int max)
{
	struct fd_queue *q;
	unsigned int n = 0;

	if (qi >= FD_MAX_QUEUES || !fd->q[qi].enable || !fd->q[qi].size)
		return 0;
	q = &fd->q[qi];
	/* Bounded: a malicious ring cannot make the device spin. */
	while (n < max && n < q->size && q->nchains < FD_MAX_CHAINS) {
		struct fd_chain *c = &q->chains[q->nchains];

		if (!(fd->packed ? fetch_packed(fd, q, c) :
				   fetch_split(fd, q, c)))
			break;
		q->nchains++;
		n++;
	}
	return n;
}

bool fd_complete(struct fuzzdev *fd, unsigned int qi, unsigned int k,
		 uint32_t len, struct fd_chain *done)
{
	struct fd_queue *q;
	struct fd_chain c;

	if (qi >= FD_MAX_QUEUES)
		return false;
	q = &fd->q[qi];
	if (!q->nchains || !q->size)
		return false;
	k %= q->nchains;
	c = q->chains[k];
	memmove(&q->chains[k], &q->chains[k + 1],
		(q->nchains - k - 1) * sizeof(c));
	q->nchains--;
	if (len > c.wlen)
		len = c.wlen;
	if (fd->packed) {
		struct vring_packed_desc *pd = fd_xlat(fd, q->desc,
						       16ull * q->size);
		uint16_t f;

		if (!pd)
			return false;
		f = (uint16_t)(q->used_wrap ? (1u << VRING_PACKED_DESC_F_AVAIL) |
			       (1u << VRING_PACKED_DESC_F_USED) : 0);
		pd[q->used_idx].id = c.id;
		pd[q->used_idx].len = len;
		__atomic_store_n(&pd[q->used_idx].flags, f, __ATOMIC_RELEASE);
		q->used_idx = (uint16_t)(q->used_idx + (c.ndesc % q->size));
		if (c.ndesc >= q->size || q->used_idx >= q->size) {
			if (q->used_idx >= q->size)
				q->used_idx = (uint16_t)(q->used_idx - q->size);
			q->used_wrap = !q->used_wrap;
		}
	} else {
		struct vring_used *u = fd_xlat(fd, q->dev, 4 + 8ull * q->size);

		if (!u)
			return false;
		u->ring[q->used_idx % q->size].id = c.id;
		u->ring[q->used_idx % q->size].len = len;
		q->used_idx++;
		__atomic_store_n(&u->idx, q->used_idx, __ATOMIC_RELEASE);
	}
	c.ulen = len;
	if (done)
		*done = c;
	return true;
}
