// SPDX-License-Identifier: BSD-3-Clause
/*
 * test_console_errors.c - the virtio-console driver against the
 * in-process console device of console_dev.h doing what is allowed but
 * odd (a receive buffer given back empty, a RESIZE control message) and
 * calls with bad arguments, or without parameters (the defaults).
 *
 * Usage: test_console_errors [substring-filter]
 */
#include "console_dev.h"

/* No parameters: port 0 with the defaults; bad arguments are refused. */
static int t_defaults_and_bad_args(void)
{
	struct fake_con *m = fc_new(false, 0);
	struct uvirtio_backend *be;
	struct uvirtio_console *con = NULL;
	char buf[8];

	CHECK(m);
	CHECK_EQ(uvirtio_console_open(NULL, NULL, &con), -EINVAL);
	CHECK(!con);
	CHECK_EQ(uvirtio_backend_new(&fc_ops, m, &be), 0);
	CHECK_EQ(uvirtio_console_open(be, NULL, NULL), -EINVAL);
	CHECK_EQ(uvirtio_console_open(be, NULL, &con), 0);
	CHECK_EQ(uvirtio_console_port(con), 0);
	CHECK(uvirtio_console_device(con) != NULL);
	CHECK_EQ(uvirtio_dev_device_type(uvirtio_console_device(con)),
		 VIRTIO_ID_CONSOLE);
	CHECK_EQ(uvirtio_console_read(con, NULL, 1, 0), -EINVAL);
	CHECK_EQ(uvirtio_console_write(con, NULL, 1, 0), -EINVAL);
	CHECK_EQ(uvirtio_console_read(NULL, buf, 1, 0), -EINVAL);
	CHECK_EQ(uvirtio_console_write(NULL, "x", 1, 0), -EINVAL);
	/* and it works */
	CHECK_EQ(uvirtio_console_write(con, "ok", 2, 1000), 2);
	CHECK_EQ(uvirtio_console_flush(con, 1000), 0);
	CHECK_EQ(m->host_rx_len[0], 2);
	uvirtio_console_close(con);
	uvirtio_console_close(NULL);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

/* Receive buffers used with 0 bytes: given back, the bytes still come. */
static int t_rx_empty_buffers(void)
{
	struct fake_con *m = fc_new(false, 0);
	struct uvirtio_backend *be;
	struct uvirtio_console *con;
	char buf[16] = { 0 };

	CHECK(m);
	CHECK_EQ(con_open(m, 0, &be, &con), 0);
	m->rx_zero = 3;
	fc_host_send(m, 0, "abc");
	CHECK_EQ(m->rx_zero, 0);
	/* the driver re-posts the three and reads what came after */
	CHECK_EQ(read_n(con, buf, 3), 3);
	CHECK(!memcmp(buf, "abc", 3));
	fc_host_send(m, 0, "defgh");
	CHECK_EQ(read_n(con, buf, 5), 5);
	CHECK(!memcmp(buf, "defgh", 5));
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

/* A RESIZE control message is taken and ignored; the port goes on. */
static int t_resize_ignored(void)
{
	struct fake_con *m = fc_new(true, 2);
	struct uvirtio_console_stats st0, st1;
	struct uvirtio_backend *be;
	struct uvirtio_console *con;
	char buf[8] = { 0 };

	CHECK(m);
	m->host_open = true;
	CHECK_EQ(con_open(m, 1, &be, &con), 0);
	CHECK(uvirtio_console_multiport(con));
	uvirtio_console_get_stats(con, &st0);
	fc_ctl(m, 1, VIRTIO_CONSOLE_RESIZE, 0, NULL);
	fc_deliver(m);
	CHECK_EQ(uvirtio_console_process(con), 0);
	uvirtio_console_get_stats(con, &st1);
	CHECK_EQ(st1.ctrl_msgs, st0.ctrl_msgs + 1);
	CHECK(uvirtio_console_host_connected(con));
	fc_host_send(m, 1, "hi");
	CHECK_EQ(read_n(con, buf, 2), 2);
	CHECK(!memcmp(buf, "hi", 2));
	uvirtio_console_close(con);
	uvirtio_backend_close(be);
	free(m);
	return PASS;
}

static const struct tcase cases[] = {
	{ "defaults_and_bad_args", t_defaults_and_bad_args },
	{ "rx_empty_buffers", t_rx_empty_buffers },
	{ "resize_ignored", t_resize_ignored },
};

int main(int argc, char **argv)
{
	return harness_main("console-errors", cases,
			    sizeof(cases) / sizeof(cases[0]), argc, argv);
}
