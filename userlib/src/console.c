// SPDX-License-Identifier: BSD-3-Clause
/*
 * console.c - virtio-console driver (spec 5.3) for one port: the port's
 * receive and transmit queues, and with MULTIPORT the control queues and
 * their handshake.  Every buffer is a slot of one DMA allocation per
 * direction; received slots queue up in arrival order until read.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include <uvirtio/console.h>
#include <uvirtio/virtqueue.h>

#include "util.h"

#define CON_SLOTS	16		/* data buffers each way */
#define CON_SLOT	4096u
#define CTL_SLOTS	32		/* control buffers each way */
#define CTL_SLOT	256u		/* header + a name of up to 248 bytes */
#define CTL_HDR		8u		/* struct virtio_console_control */
#define NAME_MAX_LEN	(CTL_SLOT - CTL_HDR)
#define OPEN_TIMEOUT_MS	2000
#define CLOSE_TIMEOUT_MS 500

enum { Q_RX, Q_TX, Q_CIN, Q_COUT, Q_NUM };

struct uvirtio_console {
	struct uvirtio_dev *dev;
	struct uvirtq *vq[Q_NUM];	/* control queues: MULTIPORT only */
	int qfd[Q_NUM];
	int lfd, rfd;			/* shared line, removal */
	bool multiport, poll;
	enum uvirtio_dev_irq_mode irq_mode;
	uint32_t port, max_ports;

	struct uvirtio_dma rx, tx, cin, cout;
	/* received slots in order: ring of indices, the head partly read */
	uint8_t rx_fifo[CON_SLOTS];
	uint32_t rx_len[CON_SLOTS];
	unsigned int rx_head, rx_count, rx_off;
	uint8_t tx_free[CON_SLOTS];
	unsigned int tx_nfree;
	uint8_t cout_free[CTL_SLOTS];
	unsigned int cout_nfree;

	bool added, ready_sent, is_console, host_open, removed;
	char name[NAME_MAX_LEN + 1];
	struct uvirtio_console_stats st;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t *slot(const struct uvirtio_dma *d, unsigned int i,
		     uint32_t size)
{
	return (uint8_t *)d->vaddr + (size_t)i * size;
}

static int post_in(struct uvirtq *vq, const struct uvirtio_dma *d,
		   unsigned int i, uint32_t size)
{
	struct uvirtq_buf b = { d->iova + (uint64_t)i * size, size };

	/* the cookie is the slot number + 1: never NULL */
	return uvirtq_add(vq, NULL, 0, &b, 1, (void *)(uintptr_t)(i + 1));
}

/* Queue one control message for the device (MULTIPORT). */
static int ctl_send(struct uvirtio_console *con, uint32_t id, uint16_t event,
		    uint16_t value)
{
	struct virtio_console_control m = { .id = id, .event = event,
					    .value = value };
	struct uvirtq_buf b;
	unsigned int i;
	int ret;

	if (!con->cout_nfree) {
		/* the device takes control messages promptly: reap, bounded */
		int64_t deadline = mono_ms() + CLOSE_TIMEOUT_MS;
		void *cookie;
		uint32_t len;

		while (!con->cout_nfree) {
			ret = uvirtq_get_used(con->vq[Q_COUT], &cookie, &len);
			if (ret < 0)
				return ret;
			if (ret) {
				i = (unsigned int)(uintptr_t)cookie - 1;
				if (i >= CTL_SLOTS)
					return -EIO;
				con->cout_free[con->cout_nfree++] = (uint8_t)i;
			} else if (mono_ms() > deadline) {
				return -ETIMEDOUT;
			} else {
				sched_yield();
			}
		}
	}
	i = con->cout_free[--con->cout_nfree];
	memcpy(slot(&con->cout, i, CTL_SLOT), &m, sizeof(m));
	b = (struct uvirtq_buf){ con->cout.iova + (uint64_t)i * CTL_SLOT,
				 sizeof(m) };
	ret = uvirtq_add(con->vq[Q_COUT], &b, 1, NULL, 0,
			 (void *)(uintptr_t)(i + 1));
	if (ret) {
		con->cout_free[con->cout_nfree++] = (uint8_t)i;
		return ret;
	}
	ret = uvirtq_kick(con->vq[Q_COUT]);
	return ret < 0 ? ret : 0;
}

/* One message from the device; replies as the spec's driver does. */
static int ctl_handle(struct uvirtio_console *con, const uint8_t *p,
		      uint32_t len)
{
	struct virtio_console_control m;
	uint32_t nlen;

	con->st.ctrl_msgs++;
	if (len < CTL_HDR) {
		con->st.bad_ctrl++;
		return 0;
	}
	memcpy(&m, p, sizeof(m));
	if (m.id >= con->max_ports) {
		con->st.bad_ctrl++;
		return 0;
	}
	switch (m.event) {
	case VIRTIO_CONSOLE_PORT_ADD:
		/* acknowledged for every port; only ours is driven */
		if (m.id == con->port)
			con->added = true;
		return ctl_send(con, m.id, VIRTIO_CONSOLE_PORT_READY, 1);
	case VIRTIO_CONSOLE_PORT_REMOVE:
		if (m.id == con->port)
			con->removed = true;
		return 0;
	case VIRTIO_CONSOLE_CONSOLE_PORT:
		if (m.id != con->port)
			return 0;
		/* a console port is open from the start (spec 5.3.6.2) */
		con->is_console = true;
		return ctl_send(con, m.id, VIRTIO_CONSOLE_PORT_OPEN, 1);
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (m.id == con->port)
			con->host_open = m.value != 0;
		return 0;
	case VIRTIO_CONSOLE_PORT_NAME:
		if (m.id != con->port)
			return 0;
		nlen = UV_MIN(len - CTL_HDR, (uint32_t)NAME_MAX_LEN);
		memcpy(con->name, p + CTL_HDR, nlen);
		con->name[nlen] = '\0';
		/* the host chose it: printable ASCII only, up to a NUL */
		for (uint32_t k = 0; k < nlen && con->name[k]; k++)
			if (con->name[k] < 0x20 || con->name[k] > 0x7e)
				con->name[k] = '?';
		return 0;
	case VIRTIO_CONSOLE_RESIZE:
		return 0;
	default:
		con->st.bad_ctrl++;
		return 0;
	}
}

static uint64_t drain_fd(int fd)
{
	uint64_t v;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Take every completion of every queue; post control buffers back. */
static int collect(struct uvirtio_console *con)
{
	void *cookie;
	uint32_t len;
	unsigned int i;
	int ret, kick = 0;

	while ((ret = uvirtq_get_used(con->vq[Q_RX], &cookie, &len)) > 0) {
		i = (unsigned int)(uintptr_t)cookie - 1;
		if (i >= CON_SLOTS || len > CON_SLOT)
			return -EIO;	/* not a buffer we gave it */
		if (!len) {
			ret = post_in(con->vq[Q_RX], &con->rx, i, CON_SLOT);
			if (ret)
				return ret;
			kick = 1;
			continue;
		}
		con->rx_fifo[(con->rx_head + con->rx_count) % CON_SLOTS] =
			(uint8_t)i;
		con->rx_len[i] = len;
		con->rx_count++;
		con->st.rx_bytes += len;
	}
	if (ret < 0)
		return ret;
	if (kick && (ret = uvirtq_kick(con->vq[Q_RX])) < 0)
		return ret;
	while ((ret = uvirtq_get_used(con->vq[Q_TX], &cookie, &len)) > 0) {
		i = (unsigned int)(uintptr_t)cookie - 1;
		if (i >= CON_SLOTS)
			return -EIO;
		con->tx_free[con->tx_nfree++] = (uint8_t)i;
	}
	if (ret < 0 || !con->multiport)
		return ret < 0 ? ret : 0;
	while ((ret = uvirtq_get_used(con->vq[Q_COUT], &cookie, &len)) > 0) {
		i = (unsigned int)(uintptr_t)cookie - 1;
		if (i >= CTL_SLOTS)
			return -EIO;
		con->cout_free[con->cout_nfree++] = (uint8_t)i;
	}
	if (ret < 0)
		return ret;
	kick = 0;
	while ((ret = uvirtq_get_used(con->vq[Q_CIN], &cookie, &len)) > 0) {
		i = (unsigned int)(uintptr_t)cookie - 1;
		if (i >= CTL_SLOTS || len > CTL_SLOT)
			return -EIO;
		ret = ctl_handle(con, slot(&con->cin, i, CTL_SLOT), len);
		if (ret)
			return ret;
		ret = post_in(con->vq[Q_CIN], &con->cin, i, CTL_SLOT);
		if (ret)
			return ret;
		kick = 1;
	}
	if (ret < 0)
		return ret;
	if (kick && (ret = uvirtq_kick(con->vq[Q_CIN])) < 0)
		return ret;
	return 0;
}

UV_EXPORT int uvirtio_console_process(struct uvirtio_console *con)
{
	unsigned int q;
	int ret;

	ret = uvirtio_dev_broken(con->dev);
	if (ret)
		return ret;
	if (con->lfd >= 0) {
		ret = uvirtio_dev_irq_service(con->dev);
		if (ret < 0)
			return ret;
	}
	for (q = 0; q < Q_NUM; q++)
		con->st.interrupts += drain_fd(con->qfd[q]);
	for (;;) {
		ret = collect(con);
		if (ret)
			return ret;
		if (con->poll)
			break;
		/* arm every queue; one with completions pending: again */
		for (q = 0; q < Q_NUM; q++) {
			if (!con->vq[q])
				continue;
			ret = uvirtq_enable_cb(con->vq[q]);
			if (ret < 0)
				return ret;
			if (ret)
				break;
		}
		if (q == Q_NUM)
			break;
	}
	if (con->removed)
		return -EPIPE;
	return 0;
}

UV_EXPORT unsigned int uvirtio_console_poll_fds(struct uvirtio_console *con,
						struct pollfd *fds,
						unsigned int max)
{
	int all[Q_NUM + 2];
	unsigned int n = 0, i, k = 0;

	for (i = 0; i < Q_NUM; i++)
		all[n++] = con->qfd[i];
	all[n++] = con->lfd;
	all[n++] = con->rfd;
	for (i = 0; i < n && k < max; i++) {
		if (all[i] < 0)
			continue;
		fds[k++] = (struct pollfd){ .fd = all[i], .events = POLLIN };
	}
	return k;
}

/*
 * Wait for the device until @deadline (-1: none): sleep on the eventfds,
 * or yield when polling.  Then process.
 */
static int con_wait(struct uvirtio_console *con, int64_t deadline)
{
	struct pollfd pfd[Q_NUM + 2];
	unsigned int n;
	int64_t left;
	int ms, ret;

	if (deadline >= 0 && mono_ms() >= deadline)
		return -ETIMEDOUT;
	if (con->poll) {
		ret = uvirtio_dev_check_status(con->dev);
		if (ret)
			return ret;
		sched_yield();
		return uvirtio_console_process(con);
	}
	n = uvirtio_console_poll_fds(con, pfd, UV_ARRAY_SIZE(pfd));
	left = deadline < 0 ? -1 : deadline - mono_ms();
	ms = left < 0 ? (deadline < 0 ? -1 : 0) : (int)UV_MIN(left, 60000);
	ret = poll(pfd, n, ms);
	if (ret < 0 && errno != EINTR)
		return -errno;
	for (unsigned int i = 0; ret > 0 && i < n; i++)
		if (pfd[i].fd == con->rfd && (pfd[i].revents & POLLIN)) {
			ret = uvirtio_dev_check_status(con->dev);
			if (ret)
				return ret;
		}
	return uvirtio_console_process(con);
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

UV_EXPORT ssize_t uvirtio_console_read(struct uvirtio_console *con,
				       void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	uint8_t *out = buf;
	size_t done = 0;
	int ret;

	if (!con || !buf || !len)
		return -EINVAL;
	ret = uvirtio_console_process(con);
	while (!ret && !con->rx_count) {
		if (!timeout_ms)
			return -EAGAIN;
		ret = con_wait(con, deadline);
	}
	if (ret && !con->rx_count)
		return ret;
	while (done < len && con->rx_count) {
		unsigned int i = con->rx_fifo[con->rx_head];
		uint32_t n = (uint32_t)UV_MIN((size_t)(con->rx_len[i] -
						       con->rx_off),
					      len - done);

		memcpy(out + done, slot(&con->rx, i, CON_SLOT) + con->rx_off,
		       n);
		done += n;
		con->rx_off += n;
		if (con->rx_off == con->rx_len[i]) {
			con->rx_off = 0;
			con->rx_head = (con->rx_head + 1) % CON_SLOTS;
			con->rx_count--;
			ret = post_in(con->vq[Q_RX], &con->rx, i, CON_SLOT);
			if (!ret)
				ret = uvirtq_kick(con->vq[Q_RX]);
			if (ret < 0)
				return done ? (ssize_t)done : ret;
		}
	}
	return (ssize_t)done;
}

UV_EXPORT ssize_t uvirtio_console_write(struct uvirtio_console *con,
					const void *buf, size_t len,
					int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	const uint8_t *in = buf;
	size_t done = 0;
	int ret;

	if (!con || !buf || !len)
		return -EINVAL;
	ret = uvirtio_console_process(con);
	while (!ret && !con->tx_nfree) {
		if (!timeout_ms)
			return -EAGAIN;
		ret = con_wait(con, deadline);
	}
	if (ret)
		return ret;
	while (done < len && con->tx_nfree) {
		unsigned int i = con->tx_free[--con->tx_nfree];
		uint32_t n = (uint32_t)UV_MIN(len - done, (size_t)CON_SLOT);
		struct uvirtq_buf b = { con->tx.iova + (uint64_t)i * CON_SLOT,
					n };

		memcpy(slot(&con->tx, i, CON_SLOT), in + done, n);
		ret = uvirtq_add(con->vq[Q_TX], &b, 1, NULL, 0,
				 (void *)(uintptr_t)(i + 1));
		if (ret) {
			con->tx_free[con->tx_nfree++] = (uint8_t)i;
			break;
		}
		done += n;
		con->st.tx_bytes += n;
	}
	ret = uvirtq_kick(con->vq[Q_TX]);
	if (ret < 0)
		return ret;
	return done ? (ssize_t)done : -EAGAIN;
}

UV_EXPORT int uvirtio_console_flush(struct uvirtio_console *con,
				    int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	int ret;

	if (!con)
		return -EINVAL;
	ret = uvirtio_console_process(con);
	while (!ret && con->tx_nfree < CON_SLOTS)
		ret = con_wait(con, deadline);
	return ret;
}

/* Wait until the control messages sent so far were taken (MULTIPORT). */
static int ctl_settle(struct uvirtio_console *con, int64_t deadline)
{
	int ret = uvirtio_console_process(con);

	while (!ret && con->cout_nfree < CTL_SLOTS)
		ret = con_wait(con, deadline);
	return ret;
}

static int make_queue(struct uvirtio_console *con, unsigned int which,
		      uint16_t index)
{
	struct uvirtq_params vp = { .use_interrupts = !con->poll, .cpu = -1 };
	int ret = uvirtq_create(con->dev, index, &vp, &con->vq[which]);

	if (ret)
		return ret;
	if (uvirtq_size(con->vq[which]) < CON_SLOTS)
		return -ENODEV;		/* too small for our slots */
	con->qfd[which] = con->poll ? -1 : uvirtq_eventfd(con->vq[which]);
	return 0;
}

static int handshake(struct uvirtio_console *con, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int ret;

	ret = ctl_send(con, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	if (ret)
		return ret;
	/* The device adds its ports in answer to DEVICE_READY. */
	ret = uvirtio_console_process(con);
	while (!ret && !con->added) {
		ret = con_wait(con, deadline);
		if (ret == -ETIMEDOUT)
			return -ENXIO;	/* the device never added the port */
	}
	if (ret)
		return ret;
	/* PORT_READY went out from ctl_handle(); now open our side */
	ret = ctl_send(con, con->port, VIRTIO_CONSOLE_PORT_OPEN, 1);
	if (ret)
		return ret;
	/* the device answers PORT_READY with NAME/OPEN/CONSOLE_PORT */
	return ctl_settle(con, deadline);
}

static void free_all(struct uvirtio_backend *be, struct uvirtio_console *con)
{
	unsigned int q;

	for (q = 0; q < Q_NUM; q++)
		uvirtq_destroy(con->vq[q]);
	uvirtio_backend_dma_free(be, &con->rx);
	uvirtio_backend_dma_free(be, &con->tx);
	uvirtio_backend_dma_free(be, &con->cin);
	uvirtio_backend_dma_free(be, &con->cout);
	free(con);
}

UV_EXPORT int uvirtio_console_open(struct uvirtio_backend *be,
				   const struct uvirtio_console_params *params,
				   struct uvirtio_console **out)
{
	struct uvirtio_console_params defp = { 0 };
	struct uvirtio_dev_params dp = {
		.device_type = VIRTIO_ID_CONSOLE,
		.wanted = 1ull << VIRTIO_CONSOLE_F_MULTIPORT,
	};
	struct uvirtio_console *con;
	uint16_t rxq, txq;
	unsigned int i, nq;
	int ret;

	if (!be || !out)
		return -EINVAL;
	if (!params)
		params = &defp;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	for (i = 0; i < Q_NUM; i++)
		con->qfd[i] = -1;
	con->port = params->port;
	con->poll = params->poll;
	dp.transport = params->transport;
	ret = uvirtio_dev_open(be, &dp, &con->dev);
	if (ret) {
		free(con);
		return ret;
	}
	con->multiport = uvirtio_dev_has_feature(con->dev,
						 VIRTIO_CONSOLE_F_MULTIPORT);
	con->max_ports = 1;
	if (con->multiport) {
		uint32_t mp = 0;

		ret = uvirtio_dev_read_config(con->dev,
			offsetof(struct virtio_console_config, max_nr_ports),
			&mp, sizeof(mp));
		if (ret)
			goto err_failed;
		/* 0 ports, or more than queue indices can name: bad config */
		if (!mp || mp > 0x7fff) {
			ret = -EIO;
			goto err_failed;
		}
		con->max_ports = mp;
	}
	if (con->port >= con->max_ports) {
		ret = -ENXIO;
		goto err_failed;
	}
	rxq = con->port ? (uint16_t)(2 + 2 * con->port) : 0;
	txq = (uint16_t)(rxq + 1);
	nq = (unsigned int)txq + 1;
	if (con->multiport && nq < 4)
		nq = 4;		/* the control queues are 2 and 3 */
	if ((int)nq > uvirtio_dev_num_queues(con->dev)) {
		ret = -ENXIO;	/* the port's queues are not there */
		goto err_failed;
	}
	ret = uvirtio_dev_set_irq_queues(con->dev, nq);
	if (ret < 0)
		goto err_failed;
	if (ret == UVIRTIO_DEV_IRQ_POLL)
		con->poll = true;
	con->irq_mode = con->poll ? UVIRTIO_DEV_IRQ_POLL :
				    (enum uvirtio_dev_irq_mode)ret;
	ret = make_queue(con, Q_RX, rxq);
	if (!ret)
		ret = make_queue(con, Q_TX, txq);
	if (!ret && con->multiport)
		ret = make_queue(con, Q_CIN, 2);
	if (!ret && con->multiport)
		ret = make_queue(con, Q_COUT, 3);
	if (!ret)
		ret = uvirtio_backend_dma_alloc(be, CON_SLOTS * CON_SLOT,
						&con->rx);
	if (!ret)
		ret = uvirtio_backend_dma_alloc(be, CON_SLOTS * CON_SLOT,
						&con->tx);
	if (!ret && con->multiport)
		ret = uvirtio_backend_dma_alloc(be, CTL_SLOTS * CTL_SLOT,
						&con->cin);
	if (!ret && con->multiport)
		ret = uvirtio_backend_dma_alloc(be, CTL_SLOTS * CTL_SLOT,
						&con->cout);
	if (ret)
		goto err_failed;
	con->lfd = con->poll ? -1 : uvirtio_dev_irq_fd(con->dev);
	con->rfd = uvirtio_backend_remove_fd(be);
	for (i = 0; i < CON_SLOTS; i++)
		con->tx_free[con->tx_nfree++] = (uint8_t)(CON_SLOTS - 1 - i);
	for (i = 0; i < CTL_SLOTS && con->multiport; i++)
		con->cout_free[con->cout_nfree++] = (uint8_t)(CTL_SLOTS - 1 - i);
	ret = uvirtio_dev_driver_ok(con->dev);
	if (ret)
		goto err_failed;
	for (i = 0; i < CON_SLOTS && !ret; i++)
		ret = post_in(con->vq[Q_RX], &con->rx, i, CON_SLOT);
	for (i = 0; i < CTL_SLOTS && !ret && con->multiport; i++)
		ret = post_in(con->vq[Q_CIN], &con->cin, i, CTL_SLOT);
	if (!ret && (ret = uvirtq_kick(con->vq[Q_RX])) > 0)
		ret = 0;
	if (!ret && con->multiport && (ret = uvirtq_kick(con->vq[Q_CIN])) > 0)
		ret = 0;
	if (ret)
		goto err_failed;
	if (con->multiport) {
		ret = handshake(con, params->timeout_ms > 0 ?
				     params->timeout_ms : OPEN_TIMEOUT_MS);
		if (ret)
			goto err_failed;
	} else {
		con->is_console = true;
		con->host_open = true;
	}
	*out = con;
	return 0;

err_failed:
	uvirtio_dev_fail(con->dev);
	uvirtio_dev_close(con->dev);
	free_all(be, con);
	return ret;
}

UV_EXPORT void uvirtio_console_close(struct uvirtio_console *con)
{
	struct uvirtio_backend *be;

	if (!con)
		return;
	be = uvirtio_dev_backend(con->dev);
	if (con->multiport && !uvirtio_dev_broken(con->dev) &&
	    !ctl_send(con, con->port, VIRTIO_CONSOLE_PORT_OPEN, 0))
		ctl_settle(con, mono_ms() + CLOSE_TIMEOUT_MS);
	uvirtio_dev_close(con->dev);
	free_all(be, con);
}

UV_EXPORT struct uvirtio_dev *uvirtio_console_device(struct uvirtio_console *con)
{
	return con->dev;
}

UV_EXPORT bool uvirtio_console_multiport(const struct uvirtio_console *con)
{
	return con->multiport;
}

UV_EXPORT uint32_t uvirtio_console_port(const struct uvirtio_console *con)
{
	return con->port;
}

UV_EXPORT const char *
uvirtio_console_port_name(const struct uvirtio_console *con)
{
	return con->name;
}

UV_EXPORT bool uvirtio_console_is_console(const struct uvirtio_console *con)
{
	return con->is_console;
}

UV_EXPORT bool
uvirtio_console_host_connected(const struct uvirtio_console *con)
{
	return con->host_open;
}

UV_EXPORT enum uvirtio_dev_irq_mode
uvirtio_console_irq_mode(const struct uvirtio_console *con)
{
	return con->irq_mode;
}

UV_EXPORT void uvirtio_console_get_stats(const struct uvirtio_console *con,
					 struct uvirtio_console_stats *st)
{
	*st = con->st;
}
