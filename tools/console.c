// SPDX-License-Identifier: BSD-3-Clause
/*
 * uvirtio console DEV [--port N] [--idle SECS] [-v]: copy standard input
 * to a virtio-console port and the port to standard output, both at once.
 *
 * End of input: at EOF on standard input the bytes written so far are
 * flushed to the device; the command then goes on copying the port to
 * standard output until the host side closes the port (MULTIPORT: its
 * PORT_OPEN 0, after it had been open), until --idle SECS pass with
 * nothing received (0, the default: no such limit), or until SIGINT or
 * SIGTERM.  Standard output closed (EPIPE) ends it too.  With MULTIPORT,
 * input waits until the host side has opened the port (the device drops
 * bytes written to a port nobody holds).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uvirtio/uvirtio.h>

#include "cli.h"

#define CHUNK 4096

static const char console_usage[] =
	"usage: uvirtio console DEV [--port N] [--idle SECS] [-v]\n"
	"  copies standard input to the port and the port to standard output;\n"
	"  after EOF on input, stops when the host closes the port, after\n"
	"  --idle SECS without data (default: never), or on SIGINT/SIGTERM";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write all of @buf to @fd (standard output).  Return: 0 or -errno. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Move what arrived to standard output.  Return: bytes, or the device's
 * -errno; *@out_err gets standard output's errno (0 if fine).
 */
static ssize_t pump_out(struct uvirtio_console *con, unsigned char *buf,
			int *out_err)
{
	ssize_t total = 0, n;

	*out_err = 0;
	for (;;) {
		n = uvirtio_console_read(con, buf, CHUNK, 0);
		if (n == -EAGAIN)
			return total;
		if (n < 0)
			return n;
		*out_err = -write_all(STDOUT_FILENO, buf, (size_t)n);
		if (*out_err)
			return total;
		total += n;
	}
}

int cmd_console(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "idle", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvirtio_console_params cp = { .transport = UVIRTIO_TRANSPORT_AUTO };
	struct uvirtio_console *con = NULL;
	struct uvirtio_backend *be = NULL;
	struct uvirtio_console_stats st;
	unsigned char *ibuf = NULL, *obuf = NULL;
	size_t ipend = 0, ioff = 0;
	uint64_t port = 0, idle = 0;
	bool in_eof = false, verbose = false, was_open = false;
	int64_t last_rx;
	char bdf[CLI_NAME_MAX];
	struct sigaction sa;
	int opt, ret, rc;

	while ((opt = getopt_long(argc, argv, "p:i:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (cli_parse_size(optarg, &port) || port > 0x7ffe)
				return cli_usage_err("console: bad --port '%s' (0..32766)",
						     optarg);
			break;
		case 'i':
			if (cli_parse_size(optarg, &idle) || idle > 86400)
				return cli_usage_err("console: bad --idle '%s' (0..86400 s)",
						     optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			printf("%s\n", console_usage);
			return RC_OK;
		default:
			return cli_usage_err("%s", console_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage_err("%s", console_usage);
	ibuf = malloc(CHUNK);
	obuf = malloc(CHUNK);
	if (!ibuf || !obuf) {
		free(ibuf);
		free(obuf);
		cli_err("out of memory");
		return RC_ERR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = cli_open_backend(argv[optind], bdf, &be, NULL);
	if (rc)
		goto out;
	cp.port = (uint32_t)port;
	ret = uvirtio_console_open(be, &cp, &con);
	if (ret == -ENXIO) {
		cli_err("%s: no console port %" PRIu64, bdf, port);
		rc = RC_NOTFOUND;
		goto out;
	}
	if (ret) {
		rc = cli_open_err(ret, bdf, "console");
		goto out;
	}
	if (verbose)
		fprintf(stderr, "%s: console port %u%s%s%s, %s, host %s, interrupts %s\n",
			bdf, uvirtio_console_port(con),
			*uvirtio_console_port_name(con) ? " '" : "",
			uvirtio_console_port_name(con),
			*uvirtio_console_port_name(con) ? "'" : "",
			uvirtio_console_multiport(con) ? "multiport" : "single port",
			uvirtio_console_host_connected(con) ? "connected" : "not connected",
			uvirtio_dev_irq_mode_name(uvirtio_console_irq_mode(con)));
	last_rx = now_ms();
	rc = RC_OK;
	while (!stop) {
		struct pollfd pfd[8];
		unsigned int n = 0;
		bool host = uvirtio_console_host_connected(con);
		bool polling = uvirtio_console_irq_mode(con) == UVIRTIO_DEV_IRQ_POLL;
		int64_t t = now_ms();
		bool polled_in;
		ssize_t got;
		int ms, oerr;

		if (host)
			was_open = true;
		/* the host closed the port after having it open: done */
		if (in_eof && !ipend && was_open && !host)
			break;
		if (in_eof && !ipend && idle && t - last_rx >= (int64_t)idle * 1000)
			break;
		/* standard input, once the host holds the port */
		polled_in = !in_eof && !ipend && host;
		if (polled_in)
			pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		n += uvirtio_console_poll_fds(con, pfd + n, 8 - n);
		ms = polling || ipend ? 1 : 1000;
		if (poll(pfd, n, ms) < 0 && errno != EINTR) {
			rc = cli_errno(errno, "poll");
			break;
		}
		if (polled_in && pfd[0].revents) {
			ssize_t r = read(STDIN_FILENO, ibuf, CHUNK);

			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				rc = cli_file_err(errno, "standard input");
				break;
			}
			if (r == 0) {
				in_eof = true;
				ret = uvirtio_console_flush(con, 10000);
				if (ret) {
					rc = cli_errno(ret, "%s: flush", bdf);
					break;
				}
			} else if (r > 0) {
				ipend = (size_t)r;
				ioff = 0;
			}
		}
		ret = uvirtio_console_process(con);
		if (ret) {
			rc = ret == -EPIPE ? RC_OK : cli_errno(ret, "%s", bdf);
			if (ret == -EPIPE && verbose)
				fprintf(stderr, "%s: the device removed the port\n", bdf);
			break;
		}
		if (ipend) {
			ssize_t w = uvirtio_console_write(con, ibuf + ioff, ipend, 0);

			if (w < 0 && w != -EAGAIN) {
				rc = cli_errno((int)w, "%s: write", bdf);
				break;
			}
			if (w > 0) {
				ioff += (size_t)w;
				ipend -= (size_t)w;
			}
		}
		got = pump_out(con, obuf, &oerr);
		if (got < 0) {
			rc = cli_errno((int)got, "%s: read", bdf);
			break;
		}
		if (oerr == EPIPE)
			break;		/* nobody reads standard output */
		if (oerr) {
			rc = cli_file_err(oerr, "standard output");
			break;
		}
		if (got > 0)
			last_rx = now_ms();
	}
	if (rc == RC_OK && !in_eof) {
		/* stopped by a signal: what was read still goes out */
		ret = uvirtio_console_flush(con, 2000);
		(void)ret;
	}
	if (verbose) {
		uvirtio_console_get_stats(con, &st);
		fprintf(stderr, "%s: sent %" PRIu64 " bytes, received %" PRIu64
			" bytes, %" PRIu64 " interrupts, %" PRIu64
			" control messages (%" PRIu64 " ignored)\n", bdf,
			st.tx_bytes, st.rx_bytes, st.interrupts, st.ctrl_msgs,
			st.bad_ctrl);
	}
out:
	uvirtio_console_close(con);
	if (be)
		uvirtio_backend_close(be);
	free(ibuf);
	free(obuf);
	return rc;
}
