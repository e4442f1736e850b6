/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/net.h - virtio-net driver.
 *
 * Needs VIRTIO_F_VERSION_1 (so the 12-byte struct virtio_net_hdr_v1 of
 * <linux/virtio_net.h> precedes every frame; legacy devices are refused
 * with -ENOTSUP).  Negotiated when offered: MAC, STATUS, MTU, MRG_RXBUF,
 * CSUM, GUEST_CSUM (unless turned off in the parameters), MQ with
 * CTRL_VQ when more than one queue pair is asked for, and CTRL_VQ with
 * CTRL_RX, CTRL_RX_EXTRA and CTRL_MAC_ADDR on request (@ctrl_rx in the
 * parameters; a bit whose dependency is not offered is not taken).
 * Segmentation offload only on request (@gso in the parameters):
 * HOST_TSO4, HOST_TSO6, HOST_ECN, GUEST_TSO4, GUEST_TSO6 and GUEST_ECN
 * where offered (no UFO, USO or GUEST_HDRLEN).  Without it frames are at most the MTU plus a
 * VLAN-tagged Ethernet header; with HOST_TSO a send may carry a TCP frame
 * of up to %UVIRTIO_NET_GSO_MAX_FRAME bytes with a GSO header, and with
 * GUEST_TSO the device may deliver such frames (over mergeable buffers,
 * or in RX buffers of that size without MRG_RXBUF).
 *
 * Queue pair i is RX queue 2i and TX queue 2i + 1; with MQ the control
 * queue is queue 2 * max_virtqueue_pairs (queue 2 without MQ), used once
 * at open (polled) to set the number of pairs in use, and by the RX mode
 * and MAC filter calls.  Every RX ring is kept full of
 * driver-owned DMA buffers: the device drops frames when a ring runs
 * empty, and a receive call refills the ring with the buffers it
 * consumed.  Frames are copied: into a driver-owned TX slot on send, out
 * of the RX buffers (one, or several with MRG_RXBUF) on receive, so the
 * caller's frame memory needs no DMA mapping.
 *
 * A device that lies (used length past a buffer, an id not in flight, a
 * num_buffers of 0, more than the buffers posted, or more than arrive, a
 * used length shorter than the header; a gso_type it may not send: one
 * not negotiated, unknown, or ECN without GUEST_ECN, a GSO frame without
 * NEEDS_CSUM or with gso_size 0; with GUEST_TSO a frame longer than
 * %UVIRTIO_NET_GSO_MAX_FRAME or a num_buffers beyond what such a frame
 * needs) breaks the queue pair: that call and every later one on it
 * return -EIO.  No frame of such a device is dropped silently.
 *
 * Thread safety: open, close, get_info, update_link, the config fd and
 * the control queue calls (set_rx_mode, set_mac_filter, set_mac) belong
 * to the struct uvirtio_net and are single-threaded: the one control
 * queue is shared by all pairs.  They touch no queue pair, so they may
 * run while other threads use the pairs.  Each struct
 * uvirtio_net_qp is used by one thread at a time; distinct queue pairs
 * may be used by distinct threads concurrently (one thread per pair).
 */
#ifndef UVIRTIO_NET_H
#define UVIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_net.h>
#include <uvirtio/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtio_net - opaque virtio-net device. */
struct uvirtio_net;
/** struct uvirtio_net_qp - opaque queue pair (one RX and one TX queue). */
struct uvirtio_net_qp;

/**
 * UVIRTIO_NET_GSO_MAX_FRAME - largest frame (virtio header not counted)
 * with a GSO header: the spec's largest incoming packet (14 bytes of
 * Ethernet header, 40 of IPv6 header, 65535 of payload) plus a VLAN tag.
 */
#define UVIRTIO_NET_GSO_MAX_FRAME 65593u

/**
 * struct uvirtio_net_params - open parameters.
 * @transport: enum uvirtio_transport_kind.
 * @num_queue_pairs: queue pairs wanted (0 = 1); capped by the device's
 *	max_virtqueue_pairs (1 without MQ + CTRL_VQ).
 * @queue_size: ring size (0 = device maximum).
 * @packed: use the packed ring if the device offers it.
 * @no_event_idx: never negotiate EVENT_IDX.
 * @no_mrg_rxbuf: never negotiate MRG_RXBUF (one buffer per frame).
 * @no_csum: never negotiate CSUM and GUEST_CSUM.
 * @poll: polling queues (no interrupts).
 * @no_in_order: never negotiate VIRTIO_F_IN_ORDER (taken by default when
 *	offered).
 * @gso: negotiate segmentation offload where offered: HOST_TSO4/TSO6/ECN
 *	(send takes GSO frames) and GUEST_TSO4/TSO6/ECN (receive may deliver
 *	them).  Needs checksum offload: -EINVAL with @no_csum.  TX slots
 *	(and RX buffers without MRG_RXBUF) are then
 *	%UVIRTIO_NET_GSO_MAX_FRAME big, so the rings hold fewer of them.
 * @ctrl_rx: ask for CTRL_VQ and CTRL_RX, and CTRL_RX_EXTRA and
 *	CTRL_MAC_ADDR where offered, even with one queue pair, so that
 *	uvirtio_net_set_rx_mode(), uvirtio_net_set_mac_filter() and
 *	uvirtio_net_set_mac() can be used (which of them: @features of
 *	struct uvirtio_net_info).  Off: none of these is asked for, and one
 *	pair runs without a control queue.
 */
struct uvirtio_net_params {
	enum uvirtio_transport_kind transport;
	uint16_t num_queue_pairs;
	uint16_t queue_size;
	bool packed;
	bool no_event_idx;
	bool no_mrg_rxbuf;
	bool no_csum;
	bool poll;
	bool no_in_order;
	bool gso;
	bool ctrl_rx;
};

/**
 * struct uvirtio_net_info - what the device is and what was negotiated.
 * @mac: MAC address from config (all zero without VIRTIO_NET_F_MAC).
 * @has_mac: VIRTIO_NET_F_MAC negotiated (and the config space has the
 *	field: a vhost-user back-end may serve no config at all).
 * @link_up: VIRTIO_NET_S_LINK_UP (always true without VIRTIO_NET_F_STATUS)
 *	as of open or the last uvirtio_net_update_link().
 * @has_status: VIRTIO_NET_F_STATUS negotiated and in the config space.
 * @mtu: MTU from config with VIRTIO_NET_F_MTU, else 1500.
 * @max_frame: largest frame (without the virtio header) send accepts and
 *	receive delivers: @mtu + 18 (Ethernet header with a VLAN tag).
 * @max_queue_pairs: pairs the device offers (1 without MQ, and when its
 *	max_virtqueue_pairs is outside 1..0x8000).
 * @num_queue_pairs: pairs opened.
 * @mrg_rxbuf: VIRTIO_NET_F_MRG_RXBUF negotiated.
 * @csum: VIRTIO_NET_F_CSUM negotiated (send may ask for checksumming).
 * @guest_csum: VIRTIO_NET_F_GUEST_CSUM negotiated (received frames may
 *	carry NEEDS_CSUM or DATA_VALID).
 * @ctrl_vq: VIRTIO_NET_F_CTRL_VQ negotiated.
 * @interrupts: the queues take interrupts (false: polled).
 * @host_tso: HOST_TSO4 or HOST_TSO6 negotiated (which ones, and HOST_ECN:
 *	@features); send takes GSO frames of those types.
 * @guest_tso: GUEST_TSO4 or GUEST_TSO6 negotiated (and GUEST_ECN: see
 *	@features); received frames may be GSO frames of up to
 *	%UVIRTIO_NET_GSO_MAX_FRAME bytes.
 * @rx_buf_size: bytes of one RX buffer (virtio header included).
 * @link_changes: config-change events in which the link bit changed.
 * @features: negotiated features.
 */
struct uvirtio_net_info {
	uint8_t mac[6];
	bool has_mac;
	bool link_up;
	bool has_status;
	uint16_t mtu;
	uint32_t max_frame;
	uint16_t max_queue_pairs;
	uint16_t num_queue_pairs;
	bool mrg_rxbuf;
	bool csum;
	bool guest_csum;
	bool ctrl_vq;
	bool interrupts;
	bool host_tso;
	bool guest_tso;
	uint32_t rx_buf_size;
	uint64_t link_changes;
	uint64_t features;
};

/** UVIRTIO_NET_FRAME_TRUNCATED - uvirtio_net_frame.flags: cut to fit. */
#define UVIRTIO_NET_FRAME_TRUNCATED 1u

/**
 * struct uvirtio_net_frame - one Ethernet frame and its virtio header.
 * @data: frame bytes (destination MAC first); any memory.
 * @len: send: frame length (14..max_frame, or up to
 *	%UVIRTIO_NET_GSO_MAX_FRAME with a GSO header).  Receive: on entry the
 *	capacity of @data, on return the frame's length on the wire (more
 *	than was copied when %UVIRTIO_NET_FRAME_TRUNCATED is set).
 * @flags: receive: UVIRTIO_NET_FRAME_* on return.  Send: must be 0.
 * @hdr: send: the header given to the device (flags NEEDS_CSUM with
 *	csum_start/csum_offset needs @csum; num_buffers is ignored).
 *	gso_type GSO_NONE, or GSO_TCPV4 / GSO_TCPV6 with HOST_TSO4 /
 *	HOST_TSO6 negotiated (| GSO_ECN with HOST_ECN), then with
 *	NEEDS_CSUM, gso_size (the MSS) above 0 and hdr_len (Ethernet, IP
 *	and TCP headers) at least csum_start + csum_offset + 2 and below
 *	@len.  Receive: the header the device wrote (num_buffers is how
 *	many RX buffers the frame used; gso_type, gso_size and hdr_len of
 *	a GSO frame with GUEST_TSO, hdr_len only a hint).
 */
struct uvirtio_net_frame {
	void *data;
	uint32_t len;
	uint32_t flags;
	struct virtio_net_hdr_v1 hdr;
};

/**
 * struct uvirtio_net_qp_stats - what a queue pair did.
 * @rx_frames: frames received.
 * @rx_bytes: bytes of those frames (without the virtio header).
 * @rx_buffers: RX buffers consumed (more than @rx_frames with MRG_RXBUF).
 * @rx_truncated: frames cut to the caller's capacity.
 * @tx_frames: frames sent (handed to the device).
 * @tx_bytes: their bytes.
 * @tx_full: send calls that found the TX ring full.
 * @rx_kicks: doorbells written for the RX queue (refills).
 * @tx_kicks: doorbells written for the TX queue.
 * @rx_interrupts: RX interrupts seen (eventfd signal count).
 * @tx_interrupts: TX interrupts seen.
 * @__reserved: zero; room to grow.
 */
struct uvirtio_net_qp_stats {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_buffers;
	uint64_t rx_truncated;
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t tx_full;
	uint64_t rx_kicks;
	uint64_t tx_kicks;
	uint64_t rx_interrupts;
	uint64_t tx_interrupts;
	uint64_t __reserved[5];
};

/**
 * uvirtio_net_open() - initialise a virtio-net device.
 * @be: backend; must outlive the device.
 * @params: parameters (NULL: defaults).
 * @out: receives the device.
 *
 * Negotiates, reads the config, creates the queues, fills every RX ring,
 * sets DRIVER_OK and, when MQ was negotiated (only asked for with
 * @params->num_queue_pairs > 1), sends VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET
 * with the pairs opened on the control queue (even if that is one,
 * because the device has no more); a device that does not acknowledge
 * it within a second fails the open (-ETIMEDOUT, or -ENOTSUP for a
 * refusal).
 * Return: 0 or negative errno (see uvirtio/device.h); -ENOTSUP for a
 * device without VERSION_1.
 */
int uvirtio_net_open(struct uvirtio_backend *be,
		     const struct uvirtio_net_params *params,
		     struct uvirtio_net **out);

/** uvirtio_net_close() - reset and free (NULL is fine). */
void uvirtio_net_close(struct uvirtio_net *net);

/** uvirtio_net_get_info() - copy what was negotiated and read to @info. */
void uvirtio_net_get_info(struct uvirtio_net *net,
			  struct uvirtio_net_info *info);

/** uvirtio_net_device() - the underlying generic device. */
struct uvirtio_dev *uvirtio_net_device(struct uvirtio_net *net);

/**
 * uvirtio_net_config_fd() - eventfd signalled on config change.
 * @net: device.
 *
 * Poll it beside the queue fds; when it fires call
 * uvirtio_net_update_link().
 * Return: fd, or -ENOENT when the device has no config interrupt.
 */
int uvirtio_net_config_fd(struct uvirtio_net *net);

/**
 * uvirtio_net_update_link() - re-read the link status from config.
 * @net: device.
 *
 * Drains the config eventfd, checks the device status (a device asking
 * for a reset is reported) and re-reads VIRTIO_NET_S_LINK_UP.
 * Return: 1 if the link is up, 0 if down, or negative errno.
 */
int uvirtio_net_update_link(struct uvirtio_net *net);

/* uvirtio_net_set_rx_mode()'s bits: bit n is VIRTIO_NET_CTRL_RX_ cmd n */
/** UVIRTIO_NET_RX_PROMISC - receive every frame (CTRL_RX). */
#define UVIRTIO_NET_RX_PROMISC	(1u << VIRTIO_NET_CTRL_RX_PROMISC)
/** UVIRTIO_NET_RX_ALLMULTI - receive every multicast frame (CTRL_RX). */
#define UVIRTIO_NET_RX_ALLMULTI	(1u << VIRTIO_NET_CTRL_RX_ALLMULTI)
/** UVIRTIO_NET_RX_ALLUNI - receive every unicast frame (CTRL_RX_EXTRA). */
#define UVIRTIO_NET_RX_ALLUNI	(1u << VIRTIO_NET_CTRL_RX_ALLUNI)
/** UVIRTIO_NET_RX_NOMULTI - receive no multicast frame (CTRL_RX_EXTRA). */
#define UVIRTIO_NET_RX_NOMULTI	(1u << VIRTIO_NET_CTRL_RX_NOMULTI)
/** UVIRTIO_NET_RX_NOUNI - receive no unicast frame (CTRL_RX_EXTRA). */
#define UVIRTIO_NET_RX_NOUNI	(1u << VIRTIO_NET_CTRL_RX_NOUNI)
/** UVIRTIO_NET_RX_NOBCAST - receive no broadcast frame (CTRL_RX_EXTRA). */
#define UVIRTIO_NET_RX_NOBCAST	(1u << VIRTIO_NET_CTRL_RX_NOBCAST)

/**
 * UVIRTIO_NET_MAC_TABLE_MAX - most entries of each list of
 * uvirtio_net_set_mac_filter() (QEMU keeps 64 in all and receives every
 * frame of a kind whose list overflows).
 */
#define UVIRTIO_NET_MAC_TABLE_MAX 64u

/**
 * uvirtio_net_set_rx_mode() - set the device's RX mode (VIRTIO_NET_CTRL_RX).
 * @net: device opened with @ctrl_rx in the parameters.
 * @flags: UVIRTIO_NET_RX_* bits: the modes to turn on; the others known
 *	to the device are turned off.
 *
 * Sends PROMISC and ALLMULTI, and with CTRL_RX_EXTRA negotiated ALLUNI,
 * NOMULTI, NOUNI and NOBCAST, each on or off, on the control queue and
 * polls for each acknowledgement.  A device starts promiscuous (QEMU's
 * does) until told otherwise.  Filtering is the device's business: one
 * may deliver more than the mode asks for.  A failure after the first
 * command leaves the modes before it set.
 * Return: 0; -EINVAL for an unknown bit; -ENOTSUP without CTRL_RX (or its
 * control queue), for an _EXTRA bit without CTRL_RX_EXTRA, or when the
 * device refused a command (VIRTIO_NET_ERR); -EIO when it wrote no ack or
 * one other than OK and ERR, or the control queue is broken;
 * -ETIMEDOUT when it did not answer within a second (the command stays
 * with the device: the control queue is broken from then on).
 */
int uvirtio_net_set_rx_mode(struct uvirtio_net *net, unsigned int flags);

/**
 * uvirtio_net_set_mac_filter() - set the MAC filter table
 *	(VIRTIO_NET_CTRL_MAC_TABLE_SET).
 * @net: device opened with @ctrl_rx in the parameters.
 * @uc: unicast MACs to receive (besides the device's own); NULL if @n_uc
 *	is 0.
 * @n_uc: how many, 0..%UVIRTIO_NET_MAC_TABLE_MAX.
 * @mc: multicast MACs to receive; NULL if @n_mc is 0.
 * @n_mc: how many, 0..%UVIRTIO_NET_MAC_TABLE_MAX.
 *
 * Replaces the whole table.  Outside promiscuous mode (see
 * uvirtio_net_set_rx_mode()) the device then delivers unicast frames for
 * its own MAC and those of @uc, and multicast frames for those of @mc
 * (all of them with ALLMULTI), plus broadcast.
 * Return: 0; -EINVAL for a count above the bound, a NULL list with a
 * count, a multicast MAC in @uc or a unicast one in @mc; the rest as for
 * uvirtio_net_set_rx_mode() (-ENOTSUP without CTRL_RX or on refusal,
 * -EIO, -ETIMEDOUT).
 */
int uvirtio_net_set_mac_filter(struct uvirtio_net *net,
			       const uint8_t (*uc)[6], unsigned int n_uc,
			       const uint8_t (*mc)[6], unsigned int n_mc);

/**
 * uvirtio_net_set_mac() - set the device's own MAC
 *	(VIRTIO_NET_CTRL_MAC_ADDR_SET).
 * @net: device opened with @ctrl_rx in the parameters.
 * @mac: the new address (unicast, not all zero).
 *
 * On success the MAC of uvirtio_net_get_info() is @mac.
 * Return: 0; -EINVAL for a multicast or all-zero @mac; -ENOTSUP without
 * CTRL_MAC_ADDR, or on refusal; -EIO, -ETIMEDOUT as for
 * uvirtio_net_set_rx_mode().
 */
int uvirtio_net_set_mac(struct uvirtio_net *net, const uint8_t mac[6]);

/** uvirtio_net_get_qp() - queue pair @index (NULL if out of range). */
struct uvirtio_net_qp *uvirtio_net_get_qp(struct uvirtio_net *net,
					  unsigned int index);

/**
 * uvirtio_net_qp_send() - send a burst of frames.
 * @qp: queue pair.
 * @frames: frames (copied: the caller's memory is free on return).
 * @n: how many.
 *
 * Reclaims finished transmissions first, copies as many frames as there
 * are free TX slots and rings the doorbell once (if the device wants it).
 * Return: frames taken (0..@n; fewer when the ring is full: wait for
 * %UVIRTIO_NET_WAIT_TX or retry), or negative errno: -EINVAL (a frame
 * shorter than 14 bytes or longer than max_frame (GSO frames:
 * %UVIRTIO_NET_GSO_MAX_FRAME), non-zero flags, NEEDS_CSUM without CSUM,
 * a GSO header the device did not agree to or that breaks the rules of
 * struct uvirtio_net_frame), -EIO (broken), -UVIRTIO_ENEEDS_RESET.
 * Frames before a bad one are sent; the return value then counts them
 * if there are any.
 */
int uvirtio_net_qp_send(struct uvirtio_net_qp *qp,
			const struct uvirtio_net_frame *frames, unsigned int n);

/**
 * uvirtio_net_qp_recv() - receive a burst of frames, without waiting.
 * @qp: queue pair.
 * @frames: frames; @data and @len (capacity) set by the caller.
 * @n: how many.
 *
 * Copies out up to @n received frames and gives their buffers back to the
 * device (one doorbell for the refill).
 * Return: frames received (0 if none is pending), or negative errno
 * (-EIO: the device misbehaved; the pair is broken).
 */
int uvirtio_net_qp_recv(struct uvirtio_net_qp *qp,
			struct uvirtio_net_frame *frames, unsigned int n);

/** UVIRTIO_NET_WAIT_RX - uvirtio_net_qp_wait(): a frame was received. */
#define UVIRTIO_NET_WAIT_RX 1u
/** UVIRTIO_NET_WAIT_TX - uvirtio_net_qp_wait(): a TX slot is free. */
#define UVIRTIO_NET_WAIT_TX 2u

/**
 * uvirtio_net_qp_wait() - wait until the pair can make progress.
 * @qp: queue pair.
 * @what: UVIRTIO_NET_WAIT_RX and/or UVIRTIO_NET_WAIT_TX.
 * @timeout_ms: -1 forever, 0 just check, else milliseconds.
 *
 * Interrupt mode: arms the queues' interrupts and sleeps in poll() on
 * their eventfds (and the backend's removal fd), and disables them again
 * on wake-up.  Polling mode: spins, checking the device status every 1024
 * rounds.  TX readiness means a transmission finished (reclaimed here) or
 * a slot is free.  The config eventfd is not watched (several pairs'
 * threads would race to drain it): the device status is read when a wait
 * times out, so a device asking for a reset is reported by the next wait
 * that times out; for link changes, poll uvirtio_net_config_fd() in the
 * caller's loop.
 * Return: the UVIRTIO_NET_WAIT_* bits that are ready (0 on timeout), or
 * negative errno.
 */
int uvirtio_net_qp_wait(struct uvirtio_net_qp *qp, unsigned int what,
			int timeout_ms);

/**
 * uvirtio_net_qp_tx_reclaim() - take back the slots of sent frames.
 * @qp: queue pair.
 * Return: TX frames still with the device, or negative errno.
 */
int uvirtio_net_qp_tx_reclaim(struct uvirtio_net_qp *qp);

/**
 * uvirtio_net_qp_flush() - wait until the device finished every sent frame.
 * @qp: queue pair.
 * @timeout_ms: -1 forever, else milliseconds.
 *
 * uvirtio_net_qp_send() returns once frames are on the ring; a device
 * reset (uvirtio_net_close()) drops those it has not transmitted yet.
 * Call this before closing to let them go out.  Sleeps on the TX
 * interrupt, or polls in polling mode.
 * Return: 0, -ETIMEDOUT, or the errno of a broken pair.
 */
int uvirtio_net_qp_flush(struct uvirtio_net_qp *qp, int timeout_ms);

/** uvirtio_net_qp_rx_fd() - RX eventfd (-ENOENT when polling). */
int uvirtio_net_qp_rx_fd(struct uvirtio_net_qp *qp);

/** uvirtio_net_qp_tx_fd() - TX eventfd (-ENOENT when polling). */
int uvirtio_net_qp_tx_fd(struct uvirtio_net_qp *qp);

/** uvirtio_net_qp_get_stats() - copy the pair's counters to @st. */
void uvirtio_net_qp_get_stats(struct uvirtio_net_qp *qp,
			      struct uvirtio_net_qp_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_NET_H */
