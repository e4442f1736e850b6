// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_console.c - the virtio-console driver against a small in-process
 * console device behind the virtio-mmio transport: a register file, split
 * rings the device walks itself (one descriptor per buffer, as the driver
 * posts them), and a device side that plays the host: bytes for the
 * guest, the control messages of a MULTIPORT device, and the lies a
 * broken or hostile device tells (short or unknown control messages, a
 * port that is never added, a used length beyond the buffer).
 *
 * DMA memory is heap memory whose IOVA is its address.  The backend has
 * no interrupt, so the driver polls; the device works synchronously in
 * the doorbell write.  The real device (QEMU's virtio-serial with host
 * sockets) is in the vm-irq stage.
 */
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
	const char *name1;		/* port 1's name (NULL: org.test.0) */
	/* what the driver did */
	unsigned int device_ready, port_ready[4], guest_open[4];
	unsigned int guest_closed[4];
};

static void *va(uint64_t iova)
{
	return (void *)(uintptr_t)iova;
}

static struct vring_desc *desc_of(struct fc_queue *q, uint16_t i)
{
	return (struct vring_desc *)va(q->desc) + i;
}

/* Take the next available buffer of @q.  Return: false if none. */
static bool fc_pop(struct fc_queue *q, uint16_t *head)
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

static void fc_push(struct fc_queue *q, uint16_t head, uint32_t len)
{
	struct vring_used *u = va(q->used);

	u->ring[q->used_idx % q->num].id = head;
	u->ring[q->used_idx % q->num].len = len;
	q->used_idx++;
	__atomic_store_n(&u->idx, q->used_idx, __ATOMIC_RELEASE);
}

static bool multiport(const struct fake_con *m)
{
	return m->drv_features & (1ull << VIRTIO_CONSOLE_F_MULTIPORT);
}

static int rxq_of(unsigned int port)
{
	return port ? 2 + 2 * (int)port : 0;
}

static void fc_ctl(struct fake_con *m, uint32_t id, uint16_t event,
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
static void fc_deliver(struct fake_con *m)
{
	unsigned int port;
	uint16_t head;

	for (port = 0; port < 2; port++) {
		struct fc_queue *q = &m->q[rxq_of(port)];

		while (m->to_guest_off[port] < m->to_guest_len[port] &&
		       fc_pop(q, &head)) {
			struct vring_desc *d = desc_of(q, head);
			size_t n = m->to_guest_len[port] - m->to_guest_off[port];

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

static void fc_port_ready(struct fake_con *m, uint32_t id)
{
	if (id == 0)
		fc_ctl(m, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
	if (id == 1)
		fc_ctl(m, 1, VIRTIO_CONSOLE_PORT_NAME, 0,
		       m->name1 ? m->name1 : "org.test.0");
	if (m->host_open)
		fc_ctl(m, id, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
}

static void fc_control_in(struct fake_con *m, const uint8_t *p, uint32_t len)
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

static void fc_notify(struct fake_con *m, uint32_t index)
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

static void fc_reset(struct fake_con *m)
{
	m->status = 0;
	m->drv_features = 0;
	memset(m->q, 0, sizeof(m->q));
	m->npending = 0;
}

static void fc_set64(uint64_t *r, bool high, uint32_t v)
{
	*r = high ? (*r & 0xffffffffu) | ((uint64_t)v << 32) :
		    (*r & ~0xffffffffull) | v;
}

static int fc_read(void *priv, unsigned int bar, uint64_t off,
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

static int fc_write(void *priv, unsigned int bar, uint64_t off,
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

static int fc_dma_alloc(void *priv, size_t len, struct uvirtio_dma *out)
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

static void fc_dma_free(void *priv, struct uvirtio_dma *dma)
{
	(void)priv;
	free(dma->vaddr);
}

static void fc_close(void *priv)
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

static struct fake_con *fc_new(bool mp, unsigned int max_ports)
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

static void fc_host_send(struct fake_con *m, unsigned int port,
			 const char *s)
{
	size_t n = strlen(s);

	memcpy(m->to_guest[port] + m->to_guest_len[port], s, n);
	m->to_guest_len[port] += n;
	fc_deliver(m);
}

static int con_open(struct fake_con *m, uint32_t port,
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
static ssize_t read_n(struct uvirtio_console *con, char *buf, size_t want)
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

static int t_console_single(void)
{
	struct fake_con *m = fc_new(false, 0);
	struct uvirtio_console_stats st;
	struct uvirtio_backend *be;
	struct uvirtio_console *con;
	char buf[64] = { 0 };

	CHECK(m);
	CHECK_EQ(con_open(m, 1, &be, &con), -ENXIO);	/* port 0 only */
	CHECK_EQ(con_open(m, 0, &be, &con), 0);
	CHECK(!uvirtio_console_multiport(con));
	CHECK(uvirtio_console_is_console(con));
	CHECK(uvirtio_console_host_connected(con));
	CHECK(!strcmp(uvirtio_console_port_name(con), ""));
	CHECK_EQ(uvirtio_console_irq_mode(con), UVIRTIO_DEV_IRQ_POLL);
	CHECK_EQ(uvirtio_console_read(con, buf, sizeof(buf), 0), -EAGAIN);
	CHECK_EQ(uvirtio_console_read(con, buf, sizeof(buf), 20), -ETIMEDOUT);
	CHECK_EQ(uvirtio_console_write(con, "hello", 5, 1000), 5);
	CHECK_EQ(uvirtio_console_flush(con, 1000), 0);
	CHECK_EQ(m->host_rx_len[0], 5);
	CHECK(!memcmp(m->host_rx[0], "hello", 5));
	fc_host_send(m, 0, "world, and more");
	CHECK_EQ(read_n(con, buf, 5), 5);
	CHECK(!memcmp(buf, "world", 5));
	CHECK_EQ(read_n(con, buf, 10), 10);	/* the rest of one buffer */
	CHECK(!memcmp(buf, ", and more", 10));
	uvirtio_console_get_stats(con, &st);
	CHECK_EQ(st.rx_bytes, 15);
	CHECK_EQ(st.tx_bytes, 5);
	CHECK_EQ(st.ctrl_msgs, 0);
	CHECK_EQ(m->device_ready, 0);		/* no control queue at all */
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

/* More than the 16 receive buffers hold at once, in order, both ways. */
static int t_console_bulk(void)
{
	struct fake_con *m = fc_new(false, 0);
	struct uvirtio_backend *be;
	struct uvirtio_console *con;
	static char big[40000], back[40000];
	size_t i, sent = 0;

	CHECK(m);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 23);
	CHECK_EQ(con_open(m, 0, &be, &con), 0);
	memcpy(m->to_guest[0], big, sizeof(big));
	m->to_guest_len[0] = sizeof(big);
	fc_deliver(m);
	CHECK_EQ(read_n(con, back, sizeof(back)), (ssize_t)sizeof(back));
	CHECK(!memcmp(big, back, sizeof(big)));
	while (sent < sizeof(big)) {
		ssize_t n = uvirtio_console_write(con, big + sent,
						  sizeof(big) - sent, 1000);

		CHECK(n > 0);
		sent += (size_t)n;
	}
	CHECK_EQ(uvirtio_console_flush(con, 1000), 0);
	CHECK_EQ(m->host_rx_len[0], sizeof(big));
	CHECK(!memcmp(m->host_rx[0], big, sizeof(big)));
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

static int t_console_multiport(void)
{
	struct fake_con *m = fc_new(true, 4);
	struct uvirtio_console_stats st;
	struct uvirtio_backend *be;
	struct uvirtio_console *con;
	char buf[16] = { 0 };

	CHECK(m);
	CHECK_EQ(con_open(m, 1, &be, &con), 0);
	CHECK(uvirtio_console_multiport(con));
	CHECK_EQ(uvirtio_console_port(con), 1);
	CHECK_EQ(m->device_ready, 1);
	CHECK_EQ(m->port_ready[0], 1);		/* every added port */
	CHECK_EQ(m->port_ready[1], 1);
	CHECK_EQ(m->guest_open[1], 1);		/* ours is open */
	CHECK_EQ(m->guest_open[0], 0);		/* the console is not ours */
	CHECK(!strcmp(uvirtio_console_port_name(con), "org.test.0"));
	CHECK(!uvirtio_console_is_console(con));
	CHECK(!uvirtio_console_host_connected(con));
	/* the host opens its side */
	fc_ctl(m, 1, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	fc_deliver(m);
	CHECK_EQ(uvirtio_console_process(con), 0);
	CHECK(uvirtio_console_host_connected(con));
	CHECK_EQ(uvirtio_console_write(con, "ping", 4, 1000), 4);
	CHECK_EQ(uvirtio_console_flush(con, 1000), 0);
	CHECK_EQ(m->host_rx_len[1], 4);
	CHECK_EQ(m->host_rx_len[0], 0);		/* not on port 0 */
	fc_host_send(m, 1, "pong");
	fc_host_send(m, 0, "not for us");
	CHECK_EQ(read_n(con, buf, 4), 4);
	CHECK(!memcmp(buf, "pong", 4));
	CHECK_EQ(uvirtio_console_read(con, buf, sizeof(buf), 0), -EAGAIN);
	/* the host closes, then the device removes the port */
	fc_ctl(m, 1, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	fc_deliver(m);
	CHECK_EQ(uvirtio_console_process(con), 0);
	CHECK(!uvirtio_console_host_connected(con));
	fc_ctl(m, 1, VIRTIO_CONSOLE_PORT_REMOVE, 0, NULL);
	fc_deliver(m);
	CHECK_EQ(uvirtio_console_read(con, buf, sizeof(buf), 100), -EPIPE);
	CHECK_EQ(uvirtio_console_write(con, "x", 1, 100), -EPIPE);
	uvirtio_console_get_stats(con, &st);
	CHECK_EQ(st.bad_ctrl, 0);
	CHECK_EQ(m->guest_closed[1], 0);
	uvirtio_console_close(con);
	CHECK_EQ(m->guest_closed[1], 1);	/* PORT_OPEN 0 at close */
	uvirtio_backend_close(be);

	/* port 0 of the same device is a console, opened as one */
	memset(m->port_ready, 0, sizeof(m->port_ready));
	memset(m->guest_open, 0, sizeof(m->guest_open));
	m->host_open = true;
	CHECK_EQ(con_open(m, 0, &be, &con), 0);
	CHECK(uvirtio_console_is_console(con));
	CHECK(uvirtio_console_host_connected(con));
	CHECK(m->guest_open[0] >= 1);
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

/* What a broken device does: each is refused or ignored, never trusted. */
static int t_console_bad_device(void)
{
	struct fake_con *m = fc_new(true, 4);
	struct uvirtio_console_stats st;
	struct uvirtio_backend *be;
	struct uvirtio_console *con;
	char buf[16];

	CHECK(m);
	/* a short message, an unknown port and an unknown event: ignored */
	m->hostile = true;
	CHECK_EQ(con_open(m, 1, &be, &con), 0);
	uvirtio_console_get_stats(con, &st);
	CHECK_EQ(st.bad_ctrl, 3);
	CHECK_EQ(m->port_ready[0], 1);		/* the real ones still work */
	CHECK_EQ(m->port_ready[1], 1);
	uvirtio_console_close(con);
	uvirtio_backend_close(be);

	/* a port the device never adds */
	m->hostile = false;
	m->nports = 1;
	CHECK_EQ(con_open(m, 1, &be, &con), -ENXIO);
	/* beyond max_nr_ports */
	CHECK_EQ(con_open(m, 4, &be, &con), -ENXIO);
	/* max_nr_ports 0, or more than queue indices can name */
	m->cfg.max_nr_ports = 0;
	CHECK_EQ(con_open(m, 0, &be, &con), -EIO);
	m->cfg.max_nr_ports = 0x8000;
	CHECK_EQ(con_open(m, 0, &be, &con), -EIO);
	m->cfg.max_nr_ports = 4;
	m->nports = 2;

	/* a name with control characters is not passed on as it is */
	m->name1 = "org\033[2Jx\001";
	CHECK_EQ(con_open(m, 1, &be, &con), 0);
	CHECK(!strcmp(uvirtio_console_port_name(con), "org?[2Jx?"));
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	m->name1 = NULL;

	/* a used length beyond the buffer the driver posted */
	CHECK_EQ(con_open(m, 1, &be, &con), 0);
	m->rx_len_lie = 8192;
	fc_host_send(m, 1, "boom");
	CHECK_EQ(uvirtio_console_read(con, buf, sizeof(buf), 100), -EIO);
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

static const struct tcase cases[] = {
	{ "console_single", t_console_single },
	{ "console_bulk", t_console_bulk },
	{ "console_multiport", t_console_multiport },
	{ "console_bad_device", t_console_bad_device },
};

int main(int argc, char **argv)
{
	return harness_main("console", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
