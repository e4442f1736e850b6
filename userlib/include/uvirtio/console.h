/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/console.h - virtio-console driver (spec 5.3): one port.
 *
 * Without VIRTIO_CONSOLE_F_MULTIPORT the device has one port, port 0, on
 * queues 0 (receive) and 1 (transmit), and no notion of the host side
 * being connected.  With it, the driver runs the control handshake on
 * queues 2 and 3: DEVICE_READY, then PORT_READY for every PORT_ADD, and
 * PORT_OPEN for the port it drives; it learns the port's name (PORT_NAME)
 * and whether the host side has it open (PORT_OPEN from the device).
 * Port N > 0 uses queues 2 + 2N and 3 + 2N.  Only the chosen port's queues
 * and the control queues are set up; the other ports are acknowledged
 * (PORT_READY) but not driven.
 *
 * Data is copied through internal DMA buffers (16 of 4 KiB each way), so
 * the caller's memory needs no mapping.  Bytes the device delivers are
 * kept in order until read; a write returns once its bytes are on the
 * transmit queue (uvirtio_console_flush() waits until the device took
 * them).  Without MULTIPORT, or while the host side has not opened the
 * port, the device may drop what is written: see
 * uvirtio_console_host_connected().
 *
 * Interrupts in whatever mode the device offers (uvirtio_dev_irq_mode());
 * polling when it offers none or when asked to.
 *
 * Thread safety: a struct uvirtio_console is single-threaded.
 */
#ifndef UVIRTIO_CONSOLE_H
#define UVIRTIO_CONSOLE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uvirtio/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtio_console - opaque virtio-console device. */
struct uvirtio_console;

/**
 * struct uvirtio_console_params - open parameters.
 * @transport: enum uvirtio_transport_kind.
 * @port: the port to drive: 0 without MULTIPORT; below the device's
 *	max_nr_ports with it.
 * @poll: poll the queues instead of taking interrupts.
 * @timeout_ms: how long open waits for the device to add @port
 *	(MULTIPORT); 0 means 2000.
 */
struct uvirtio_console_params {
	enum uvirtio_transport_kind transport;
	uint32_t port;
	bool poll;
	int timeout_ms;
};

/**
 * uvirtio_console_open() - initialise a virtio-console device.
 * @be: backend (must outlive the device).
 * @params: parameters (NULL: port 0, interrupts, the default transport).
 * @out: receives the device.
 *
 * With MULTIPORT, returns once the device added @port and acknowledged
 * the driver's PORT_READY and PORT_OPEN; the port's name and host state
 * are known then if the device sent them.
 * Return: 0; -ENXIO if @port does not exist (beyond max_nr_ports, no
 * queues for it, or the device did not add it within the timeout);
 * -ENODEV if the device is no virtio-console; -ENOMEM, -EIO (a broken
 * config or device), or another negative errno.
 */
int uvirtio_console_open(struct uvirtio_backend *be,
			 const struct uvirtio_console_params *params,
			 struct uvirtio_console **out);

/**
 * uvirtio_console_close() - say the port is closed, reset and free.
 * @con: device (NULL is fine).
 *
 * With MULTIPORT it first sends PORT_OPEN 0 for the port (bounded wait);
 * bytes still on the transmit queue may be lost: flush first.
 */
void uvirtio_console_close(struct uvirtio_console *con);

/** uvirtio_console_device() - the underlying generic device. */
struct uvirtio_dev *uvirtio_console_device(struct uvirtio_console *con);

/** uvirtio_console_multiport() - true if MULTIPORT was negotiated. */
bool uvirtio_console_multiport(const struct uvirtio_console *con);

/** uvirtio_console_port() - the port driven. */
uint32_t uvirtio_console_port(const struct uvirtio_console *con);

/**
 * uvirtio_console_port_name() - the name the device gave the port.
 * @con: device.
 * The device's bytes up to the first NUL (at most 248), with every byte
 * that is not printable ASCII replaced by '?'.
 * Return: the name (PORT_NAME), or "" when it has none.
 */
const char *uvirtio_console_port_name(const struct uvirtio_console *con);

/**
 * uvirtio_console_is_console() - the device called the port a console.
 * @con: device.
 * Return: true after CONSOLE_PORT for the port (MULTIPORT), and for
 * port 0 without MULTIPORT.
 */
bool uvirtio_console_is_console(const struct uvirtio_console *con);

/**
 * uvirtio_console_host_connected() - has the host side opened the port?
 * @con: device.
 *
 * As of the last processing of control messages (any read, write, flush
 * or uvirtio_console_process()).
 * Return: the last PORT_OPEN value the device sent for the port
 * (MULTIPORT); always true without MULTIPORT, where the device cannot
 * tell.
 */
bool uvirtio_console_host_connected(const struct uvirtio_console *con);

/**
 * uvirtio_console_irq_mode() - how the queues learn of completions.
 * @con: device.
 * Return: UVIRTIO_DEV_IRQ_POLL when polling, else the device's mode.
 */
enum uvirtio_dev_irq_mode
uvirtio_console_irq_mode(const struct uvirtio_console *con);

/**
 * uvirtio_console_read() - bytes the device delivered on the port.
 * @con: device.
 * @buf: output.
 * @len: at most this many bytes (> 0).
 * @timeout_ms: how long to wait for the first byte: 0 does not wait,
 *	-1 waits without limit.
 *
 * Return: bytes read (1..@len); -EAGAIN (@timeout_ms 0) or -ETIMEDOUT when
 * nothing came; -EPIPE once the device removed the port (PORT_REMOVE);
 * -ENODEV, -EIO, -UVIRTIO_ENEEDS_RESET.
 */
ssize_t uvirtio_console_read(struct uvirtio_console *con, void *buf,
			     size_t len, int timeout_ms);

/**
 * uvirtio_console_write() - queue bytes for the port.
 * @con: device.
 * @buf: the bytes.
 * @len: how many (> 0).
 * @timeout_ms: how long to wait for room on the transmit queue (0, -1 as
 *	for uvirtio_console_read()).
 *
 * Return: bytes queued (1..@len: all that fit); -EAGAIN or -ETIMEDOUT when
 * none fitted in time; -EPIPE after PORT_REMOVE; -ENODEV, -EIO,
 * -UVIRTIO_ENEEDS_RESET.
 */
ssize_t uvirtio_console_write(struct uvirtio_console *con, const void *buf,
			      size_t len, int timeout_ms);

/**
 * uvirtio_console_flush() - wait until the device took every byte written.
 * @con: device.
 * @timeout_ms: bound (-1: none).
 * Return: 0, -ETIMEDOUT, or an error as for uvirtio_console_write().
 */
int uvirtio_console_flush(struct uvirtio_console *con, int timeout_ms);

/**
 * uvirtio_console_poll_fds() - file descriptors for an event loop.
 * @con: device.
 * @fds: filled with up to @max entries (fd, events POLLIN).
 * @max: room in @fds (6 is always enough).
 *
 * When any of them is readable, call uvirtio_console_process(); then
 * uvirtio_console_read() with timeout 0 gives what arrived.  In polling
 * mode only the removal fd is given: call uvirtio_console_process()
 * every millisecond or so instead.
 * Return: the number of entries filled.
 */
unsigned int uvirtio_console_poll_fds(struct uvirtio_console *con,
				      struct pollfd *fds, unsigned int max);

/**
 * uvirtio_console_process() - handle whatever the device did.
 * @con: device.
 *
 * Services a shared interrupt line, consumes the queues' eventfds,
 * handles control messages, takes received buffers and transmit
 * completions, and re-arms the queues' interrupts.  Never blocks.
 * Return: 0, or -EPIPE, -ENODEV, -EIO, -UVIRTIO_ENEEDS_RESET.
 */
int uvirtio_console_process(struct uvirtio_console *con);

/**
 * struct uvirtio_console_stats - what the driver saw.
 * @rx_bytes: bytes received from the device.
 * @tx_bytes: bytes the device took.
 * @interrupts: queue interrupts seen (eventfd signals; 0 when polling).
 * @ctrl_msgs: control messages received (MULTIPORT).
 * @bad_ctrl: control messages ignored as malformed (too short, unknown
 *	port or event).
 * @__reserved: zero.
 */
struct uvirtio_console_stats {
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t interrupts;
	uint64_t ctrl_msgs;
	uint64_t bad_ctrl;
	uint64_t __reserved[3];
};

/** uvirtio_console_get_stats() - copy the counters to @st. */
void uvirtio_console_get_stats(const struct uvirtio_console *con,
			       struct uvirtio_console_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_CONSOLE_H */
