/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * console_dev.h - the small in-process virtio-console device of
 * test_console.c and test_console_errors.c, behind the virtio-mmio
 * transport: a register file, split rings the device walks itself, and a
 * host side (bytes for the guest, MULTIPORT control messages, and the
 * lies the struct fake_con fields ask for).
 */
#ifndef UV_TEST_CONSOLE_DEV_H
#define UV_TEST_CONSOLE_DEV_H

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <uvirtio/uvirtio.h>

#include "harness.h"

#define FC_QUEUES	6		/* ports 0 and 1 and the control pair */
#define FC_QMAX		32
#define FC_MAGIC	0x74726976u
#define FC_HOSTBUF	65536
#define FC_PENDING	32

struct fc_queue {
	uint32_t num, ready;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx;
	uint16_t held[FC_QMAX];		/* popped, not yet used (rx, cin) */
	unsigned int nheld;
};

struct fc_msg {
	uint8_t buf[64];
	uint32_t len;			/* the used length to report */
};

struct fake_con {
	uint64_t dev_features, drv_features;
	uint32_t dfsel, gfsel, qsel, status;
	struct fc_queue q[FC_QUEUES];
	struct virtio_console_config cfg;
	/* host side */
	uint8_t host_rx[2][FC_HOSTBUF];	/* what the driver sent, per port */
	size_t host_rx_len[2];
	uint8_t to_guest[2][FC_HOSTBUF];
	size_t to_guest_len[2], to_guest_off[2];
	struct fc_msg pending[FC_PENDING];
	unsigned int npending;
	/* behaviour */
	unsigned int nports;		/* ports added at DEVICE_READY */
	bool host_open;			/* PORT_OPEN 1 after PORT_READY */
	bool hostile;			/* bad control messages first */
	uint32_t rx_len_lie;		/* report this used length on rx */
	unsigned int rx_zero;		/* next rx buffers used with 0 bytes */
	const char *name1;		/* port 1's name (NULL: org.test.0) */
	/* what the driver did */
	unsigned int device_ready, port_ready[4], guest_open[4];
	unsigned int guest_closed[4];
};

static __attribute__((unused)) void *va(uint64_t iova)
{
	return (void *)(uintptr_t)iova;
}

static __attribute__((unused)) struct vring_desc *desc_of(struct fc_queue *q, uint16_t i)
{
	return (struct vring_desc *)va(q->desc) + i;
}

/* Take the next available buffer of @q.  Return: false if none. */
static __attribute__((unused)) bool fc_pop(struct fc_queue *q, uint16_t *head)
{
	struct vring_avail *av = va(q->avail);
	uint16_t idx;

	if (!q->ready || !q->num)
		return false;
	idx = __atomic_load_n(&av->idx, __ATOMIC_ACQUIRE);
	if (idx == q->last_avail)
		return false;
	*head = av->ring[q->last_avail % q->num];
	q->last_avail++;
	return *head < q->num;
}

static __attribute__((unused)) void fc_push(struct fc_queue *q, uint16_t head, uint32_t len)
{
	struct vring_used *u = va(q->used);

	u->ring[q->used_idx % q->num].id = head;
	u->ring[q->used_idx % q->num].len = len;
	q->used_idx++;
	__atomic_store_n(&u->idx, q->used_idx, __ATOMIC_RELEASE);
}

static __attribute__((unused)) bool multiport(const struct fake_con *m)
{
	return m->drv_features & (1ull << VIRTIO_CONSOLE_F_MULTIPORT);
}

static __attribute__((unused)) int rxq_of(unsigned int port)
{
	return port ? 2 + 2 * (int)port : 0;
}

static __attribute__((unused)) void fc_ctl(struct fake_con *m, uint32_t id, uint16_t event,
		   uint16_t value, const char *extra)
{
	struct fc_msg *p;
	struct virtio_console_control c = { .id = id, .event = event,
					    .value = value };
	size_t el = extra ? strlen(extra) : 0;

	if (m->npending == FC_PENDING)
		return;
	p = &m->pending[m->npending++];
	memcpy(p->buf, &c, sizeof(c));
	if (el)
		memcpy(p->buf + sizeof(c), extra, el);
	p->len = (uint32_t)(sizeof(c) + el);
}

/* Hand the device's pending bytes and control messages to the driver. */
static __attribute__((unused)) void fc_deliver(struct fake_con *m)
{
	unsigned int port;
	uint16_t head;

	for (port = 0; port < 2; port++) {
		struct fc_queue *q = &m->q[rxq_of(port)];

		while (m->to_guest_off[port] < m->to_guest_len[port] &&
		       fc_pop(q, &head)) {
			struct vring_desc *d = desc_of(q, head);
			size_t n = m->to_guest_len[port] - m->to_guest_off[port];

			if (m->rx_zero) {	/* an empty buffer, nothing sent */
				m->rx_zero--;
				fc_push(q, head, 0);
				continue;
			}

			if (n > d->len)
				n = d->len;
			memcpy(va(d->addr), m->to_guest[port] +
			       m->to_guest_off[port], n);
			m->to_guest_off[port] += n;
			fc_push(q, head, m->rx_len_lie ? m->rx_len_lie :
				(uint32_t)n);
		}
	}
	while (m->npending && multiport(m) && fc_pop(&m->q[2], &head)) {
		struct vring_desc *d = desc_of(&m->q[2], head);
		struct fc_msg *p = &m->pending[0];

		memcpy(va(d->addr), p->buf,
		       p->len < d->len ? p->len : d->len);
		fc_push(&m->q[2], head, p->len);
		memmove(&m->pending[0], &m->pending[1],
			--m->npending * sizeof(m->pending[0]));
	}
}

static __attribute__((unused)) void fc_port_ready(struct fake_con *m, uint32_t id)
{
	if (id == 0)
		fc_ctl(m, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
	if (id == 1)
		fc_ctl(m, 1, VIRTIO_CONSOLE_PORT_NAME, 0,
		       m->name1 ? m->name1 : "org.test.0");
	if (m->host_open)
		fc_ctl(m, id, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
}

static __attribute__((unused)) void fc_control_in(struct fake_con *m, const uint8_t *p, uint32_t len)
{
	struct virtio_console_control c;
	unsigned int i;

	if (len < sizeof(c))
		return;
	memcpy(&c, p, sizeof(c));
	switch (c.event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		m->device_ready++;
		if (m->hostile) {
			struct fc_msg *s;

			fc_ctl(m, 0, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
			s = &m->pending[m->npending - 1];
			s->len = 4;				/* short */
			fc_ctl(m, 99, VIRTIO_CONSOLE_PORT_ADD, 0, NULL); /* no port */
			fc_ctl(m, 0, 42, 0, NULL);		/* no event */
		}
		for (i = 0; i < m->nports; i++)
			fc_ctl(m, i, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
		break;
	case VIRTIO_CONSOLE_PORT_READY:
		if (c.id < 4 && c.value) {
			m->port_ready[c.id]++;
			fc_port_ready(m, c.id);
		}
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (c.id < 4 && c.value)
			m->guest_open[c.id]++;
		else if (c.id < 4)
			m->guest_closed[c.id]++;
		break;
	default:
		break;
	}
}

static __attribute__((unused)) void fc_notify(struct fake_con *m, uint32_t index)
{
	struct fc_queue *q;
	uint16_t head;

	if (index >= FC_QUEUES)
		return;
	q = &m->q[index];
	if (index == 1 || index == 5) {		/* transmit of port 0 / 1 */
		unsigned int port = index == 5;

		while (fc_pop(q, &head)) {
			struct vring_desc *d = desc_of(q, head);
			size_t n = d->len;

			if (n > FC_HOSTBUF - m->host_rx_len[port])
				n = FC_HOSTBUF - m->host_rx_len[port];
			memcpy(m->host_rx[port] + m->host_rx_len[port],
			       va(d->addr), n);
			m->host_rx_len[port] += n;
			fc_push(q, head, 0);
		}
	} else if (index == 3) {		/* control transmit */
		while (fc_pop(q, &head)) {
			struct vring_desc *d = desc_of(q, head);

			fc_control_in(m, va(d->addr), d->len);
			fc_push(q, head, 0);
		}
	}
	fc_deliver(m);
}

static __attribute__((unused)) void fc_reset(struct fake_con *m)
{
	m->status = 0;
	m->drv_features = 0;
	memset(m->q, 0, sizeof(m->q));
	m->npending = 0;
}

static __attribute__((unused)) void fc_set64(uint64_t *r, bool high, uint32_t v)
{
	*r = high ? (*r & 0xffffffffu) | ((uint64_t)v << 32) :
		    (*r & ~0xffffffffull) | v;
}

static __attribute__((unused)) int fc_read(void *priv, unsigned int bar, uint64_t off,
		   unsigned int width, uint64_t *val)
{
	struct fake_con *m = priv;
	uint32_t v = 0;

	if (bar || off + width > 0x200)
		return -EINVAL;
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (off - VIRTIO_MMIO_CONFIG + width <= sizeof(m->cfg))
			memcpy(&v, (uint8_t *)&m->cfg + off - VIRTIO_MMIO_CONFIG,
			       width);
		*val = v;
		return 0;
	}
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: v = FC_MAGIC; break;
	case VIRTIO_MMIO_VERSION: v = 2; break;
	case VIRTIO_MMIO_DEVICE_ID: v = VIRTIO_ID_CONSOLE; break;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		v = m->dfsel > 1 ? 0 :
		    (uint32_t)(m->dev_features >> (32 * m->dfsel));
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		v = m->qsel < FC_QUEUES &&
		    (multiport(m) || m->qsel < 2) ? FC_QMAX : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		v = m->qsel < FC_QUEUES ? m->q[m->qsel].ready : 0;
		break;
	case VIRTIO_MMIO_STATUS: v = m->status; break;
	default: break;
	}
	*val = v;
	return 0;
}

static __attribute__((unused)) int fc_write(void *priv, unsigned int bar, uint64_t off,
		    unsigned int width, uint64_t val)
{
	struct fake_con *m = priv;
	struct fc_queue *q = m->qsel < FC_QUEUES ? &m->q[m->qsel] : NULL;
	uint32_t v = (uint32_t)val;

	(void)width;
	if (bar || off >= VIRTIO_MMIO_CONFIG)
		return bar ? -EINVAL : 0;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: m->dfsel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: m->gfsel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (m->gfsel <= 1)
			fc_set64(&m->drv_features, m->gfsel, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: m->qsel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM: if (q) q->num = v; break;
	case VIRTIO_MMIO_QUEUE_READY: if (q) q->ready = v; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if (q) fc_set64(&q->desc, false, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if (q) fc_set64(&q->desc, true, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: if (q) fc_set64(&q->avail, false, v); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: if (q) fc_set64(&q->avail, true, v); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: if (q) fc_set64(&q->used, false, v); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: if (q) fc_set64(&q->used, true, v); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY: fc_notify(m, v); break;
	case VIRTIO_MMIO_STATUS:
		if (!v)
			fc_reset(m);
		else
			m->status = v;
		break;
	default:
		break;
	}
	return 0;
}

static __attribute__((unused)) int fc_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
{
	size_t sz = (len + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, sz);

	(void)priv;
	if (!p)
		return -ENOMEM;
	memset(p, 0, sz);
	out->vaddr = p;
	out->iova = (uint64_t)(uintptr_t)p;
	out->len = sz;
	out->handle = 0;
	return 0;
}

static __attribute__((unused)) void fc_dma_free(void *priv, struct uvirtio_dma *dma)
{
	(void)priv;
	free(dma->vaddr);
}

static __attribute__((unused)) void fc_close(void *priv)
{
	(void)priv;
}

static const struct uvirtio_backend_ops fc_ops = {
	.bar_read = fc_read,
	.bar_write = fc_write,
	.dma_alloc = fc_dma_alloc,
	.dma_free = fc_dma_free,
	.close = fc_close,
};

static __attribute__((unused)) struct fake_con *fc_new(bool mp, unsigned int max_ports)
{
	struct fake_con *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->dev_features = 1ull << VIRTIO_F_VERSION_1;
	if (mp)
		m->dev_features |= 1ull << VIRTIO_CONSOLE_F_MULTIPORT;
	m->cfg.max_nr_ports = max_ports;
	m->nports = 2;
	return m;
}

static __attribute__((unused)) void fc_host_send(struct fake_con *m, unsigned int port,
			 const char *s)
{
	size_t n = strlen(s);

	memcpy(m->to_guest[port] + m->to_guest_len[port], s, n);
	m->to_guest_len[port] += n;
	fc_deliver(m);
}

static __attribute__((unused)) int con_open(struct fake_con *m, uint32_t port,
		    struct uvirtio_backend **be, struct uvirtio_console **con)
{
	struct uvirtio_console_params p = { .port = port, .timeout_ms = 200 };
	int ret = uvirtio_backend_new(&fc_ops, m, be);

	if (ret)
		return ret;
	ret = uvirtio_console_open(*be, &p, con);
	if (ret) {
		uvirtio_backend_close(*be);
		*be = NULL;
	}
	return ret;
}

/* Read until @want bytes came; Return: bytes read or negative errno. */
static __attribute__((unused)) ssize_t read_n(struct uvirtio_console *con, char *buf, size_t want)
{
	size_t got = 0;

	while (got < want) {
		ssize_t n = uvirtio_console_read(con, buf + got, want - got,
						 1000);

		if (n < 0)
			return got ? (ssize_t)got : n;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

#endif /* UV_TEST_CONSOLE_DEV_H */
