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
#include "console_dev.h"


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
