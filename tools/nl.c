// SPDX-License-Identifier: BSD-3-Clause
/*
 * nl.c - the uvirtio generic netlink family through libnl-genl-3: the
 * device dump `list` uses, and the `events` subcommand.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/uvirtio.h>

#include "cli.h"

/* What we accept in replies and events; unknown attributes are skipped. */
static struct nla_policy nl_policy[UVIRTIO_ATTR_MAX + 1] = {
	[UVIRTIO_ATTR_PCI_ADDR] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_TRANSPORT] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_PLATFORM_NAME] = { .type = NLA_STRING },
	[UVIRTIO_ATTR_VIRTIO_ID] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_VENDOR] = { .type = NLA_U16 },
	[UVIRTIO_ATTR_DEVICE] = { .type = NLA_U16 },
	[UVIRTIO_ATTR_SUBSYSTEM_VENDOR] = { .type = NLA_U16 },
	[UVIRTIO_ATTR_SUBSYSTEM_DEVICE] = { .type = NLA_U16 },
	[UVIRTIO_ATTR_OWNER_PID] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_FLAGS] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_PINNED_PAGES] = { .type = NLA_U64 },
	[UVIRTIO_ATTR_MAPPINGS] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_COHERENT_BYTES] = { .type = NLA_U64 },
	[UVIRTIO_ATTR_INTERRUPTS] = { .type = NLA_U64 },
	[UVIRTIO_ATTR_EVENT] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_ERROR] = { .type = NLA_U32 },
	[UVIRTIO_ATTR_KEEPALIVE_MS] = { .type = NLA_U32 },
};

/* libnl error (NLE_*, positive or negative) to a negative errno. */
static int nl_to_errno(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/*
 * A connected generic netlink socket and the family id.  Return: 0,
 * -ENOENT without the family, or another -errno.
 */
static int nl_open(struct nl_sock **skp, int *family)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk)
		return -ENOMEM;
	ret = genl_connect(sk);
	if (ret < 0)
		goto err;
	ret = genl_ctrl_resolve(sk, UVIRTIO_GENL_NAME);
	if (ret < 0)
		goto err;
	*family = ret;
	*skp = sk;
	return 0;
err:
	nl_socket_free(sk);
	return nl_to_errno(ret);
}

struct dump_ctx {
	struct cli_nl_dev *d;
	unsigned int n, cap;
	int err;
};

static int dump_cb(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *c = arg;
	struct nlattr *a[UVIRTIO_ATTR_MAX + 1];
	struct cli_nl_dev *d;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, UVIRTIO_ATTR_MAX, nl_policy) ||
	    !a[UVIRTIO_ATTR_PCI_ADDR])
		return NL_SKIP;
	if (cli_grow((void **)&c->d, &c->cap, c->n, sizeof(*c->d), 16)) {
		c->err = -ENOMEM;
		return NL_STOP;
	}
	d = &c->d[c->n++];
	memset(d, 0, sizeof(*d));
	d->pci_addr = nla_get_u32(a[UVIRTIO_ATTR_PCI_ADDR]);
	if (a[UVIRTIO_ATTR_FLAGS])
		d->flags = nla_get_u32(a[UVIRTIO_ATTR_FLAGS]);
	if (a[UVIRTIO_ATTR_OWNER_PID])
		d->owner_pid = nla_get_u32(a[UVIRTIO_ATTR_OWNER_PID]);
	if (a[UVIRTIO_ATTR_MAPPINGS])
		d->mappings = nla_get_u32(a[UVIRTIO_ATTR_MAPPINGS]);
	if (a[UVIRTIO_ATTR_PINNED_PAGES])
		d->pinned_pages = nla_get_u64(a[UVIRTIO_ATTR_PINNED_PAGES]);
	if (a[UVIRTIO_ATTR_COHERENT_BYTES])
		d->coherent_bytes = nla_get_u64(a[UVIRTIO_ATTR_COHERENT_BYTES]);
	if (a[UVIRTIO_ATTR_INTERRUPTS])
		d->interrupts = nla_get_u64(a[UVIRTIO_ATTR_INTERRUPTS]);
	if (a[UVIRTIO_ATTR_KEEPALIVE_MS])
		d->keepalive_ms = nla_get_u32(a[UVIRTIO_ATTR_KEEPALIVE_MS]);
	return NL_OK;
}

int cli_nl_list(struct cli_nl_dev **devs, unsigned int *n)
{
	struct dump_ctx c = { 0 };
	struct nl_sock *sk;
	int family, ret;

	*devs = NULL;
	*n = 0;
	ret = nl_open(&sk, &family);
	if (ret)
		return ret;
	ret = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, dump_cb, &c);
	if (ret >= 0)
		ret = genl_send_simple(sk, family, UVIRTIO_CMD_DEV_GET,
				       UVIRTIO_GENL_VERSION, NLM_F_DUMP);
	if (ret >= 0)
		ret = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (ret < 0 || c.err) {
		free(c.d);
		return c.err ? c.err : nl_to_errno(ret);
	}
	*devs = c.d;
	*n = c.n;
	return 0;
}

/* --- uvirtio events -------------------------------------------------- */

static const char *const event_names[] = {
	[UVIRTIO_EVENT_BOUND] = "bound",
	[UVIRTIO_EVENT_UNBOUND] = "unbound",
	[UVIRTIO_EVENT_OPENED] = "opened",
	[UVIRTIO_EVENT_RELEASED] = "released",
	[UVIRTIO_EVENT_REMOVED] = "removed",
	[UVIRTIO_EVENT_RESET] = "reset",
	[UVIRTIO_EVENT_ERROR] = "error",
	[UVIRTIO_EVENT_KEPT] = "kept",
};

struct events_ctx {
	bool json;
	unsigned long seen;
};

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct events_ctx *c = arg;
	struct nlattr *a[UVIRTIO_ATTR_MAX + 1];
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	const char *name = "unknown";
	uint32_t ev, addr, type = 0;
	char bdf[UVIRTIO_DEVICE_NAME_LEN + 8];

	if (g->cmd != UVIRTIO_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, a, UVIRTIO_ATTR_MAX, nl_policy) ||
	    !a[UVIRTIO_ATTR_EVENT] || !a[UVIRTIO_ATTR_PCI_ADDR])
		return NL_SKIP;
	ev = nla_get_u32(a[UVIRTIO_ATTR_EVENT]);
	if (ev < sizeof(event_names) / sizeof(event_names[0]) &&
	    event_names[ev])
		name = event_names[ev];
	addr = nla_get_u32(a[UVIRTIO_ATTR_PCI_ADDR]);
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", addr >> 16,
		 (addr >> 8) & 0xff, (addr >> 3) & 0x1f, addr & 7);
	/* A virtio-mmio device: its device string instead of PCI address 0 */
	if (a[UVIRTIO_ATTR_PLATFORM_NAME]) {
		memcpy(bdf, "mmio:", 5);
		nla_strlcpy(bdf + 5, a[UVIRTIO_ATTR_PLATFORM_NAME],
			    sizeof(bdf) - 5);
	}
	if (a[UVIRTIO_ATTR_VIRTIO_ID])
		type = nla_get_u32(a[UVIRTIO_ATTR_VIRTIO_ID]);

	if (c->json) {
		printf("{\"event\": \"%s\", \"bdf\": \"%s\", \"virtio_id\": %u, "
		       "\"type\": ", name, bdf, type);
		json_str(stdout, virtio_type_name(type));
		if (a[UVIRTIO_ATTR_VENDOR] && a[UVIRTIO_ATTR_DEVICE])
			printf(", \"vendor\": \"%04x\", \"device\": \"%04x\"",
			       nla_get_u16(a[UVIRTIO_ATTR_VENDOR]),
			       nla_get_u16(a[UVIRTIO_ATTR_DEVICE]));
		if (a[UVIRTIO_ATTR_OWNER_PID])
			printf(", \"pid\": %u",
			       nla_get_u32(a[UVIRTIO_ATTR_OWNER_PID]));
		if (a[UVIRTIO_ATTR_ERROR])
			printf(", \"error\": %u",
			       nla_get_u32(a[UVIRTIO_ATTR_ERROR]));
		printf("}\n");
	} else {
		printf("%-8s %s %s", name, bdf, virtio_type_name(type));
		if (a[UVIRTIO_ATTR_OWNER_PID])
			printf(" pid=%u", nla_get_u32(a[UVIRTIO_ATTR_OWNER_PID]));
		if (a[UVIRTIO_ATTR_ERROR])
			printf(" error=%s",
			       strerror((int)nla_get_u32(a[UVIRTIO_ATTR_ERROR])));
		printf("\n");
	}
	fflush(stdout);
	c->seen++;
	return NL_OK;
}

static const char events_usage[] =
	"usage: uvirtio events [--json] [-n COUNT] [-t SECONDS]";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct events_ctx c = { 0 };
	unsigned long count = 0;
	double timeout = -1, deadline = 0;
	struct nl_sock *sk;
	int family, grp, opt, ret, rc = RC_OK;
	char *end;

	while ((opt = getopt_long(argc, argv, "jn:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'n':
			errno = 0;
			count = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !count ||
			    optarg[0] == '-')
				return cli_usage_err("events: bad count '%s'",
						     optarg);
			break;
		case 't':
			errno = 0;
			timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || timeout < 0 ||
			    timeout > 1e9)
				return cli_usage_err("events: bad timeout '%s'",
						     optarg);
			break;
		case 'h':
			printf("%s\n", events_usage);
			return RC_OK;
		default:
			return cli_usage_err("%s", events_usage);
		}
	}
	if (optind != argc)
		return cli_usage_err("events: unexpected argument '%s'",
				     argv[optind]);

	ret = nl_open(&sk, &family);
	if (ret == -ENOENT) {
		cli_err("netlink family not found (module not loaded?)");
		return RC_NOTFOUND;
	}
	if (ret)
		return cli_errno(ret, "events: generic netlink");
	(void)family;
	grp = genl_ctrl_resolve_grp(sk, UVIRTIO_GENL_NAME,
				    UVIRTIO_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		rc = cli_errno(nl_to_errno(grp), "events: group %s",
			       UVIRTIO_GENL_MCGRP_EVENTS);
		goto out;
	}
	ret = nl_socket_add_membership(sk, grp);
	if (ret < 0) {
		rc = cli_errno(nl_to_errno(ret), "events: subscribe");
		goto out;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &c);
	if (timeout >= 0)
		deadline = now_s() + timeout;

	while (!count || c.seen < count) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(sk),
				      .events = POLLIN };
		int ms = -1;

		if (timeout >= 0) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			ms = (int)(left * 1000) + 1;
		}
		ret = poll(&pfd, 1, ms);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			rc = cli_errno(errno, "events: poll");
			goto out;
		}
		if (!ret)
			continue;
		ret = nl_recvmsgs_default(sk);
		/* Events lost to a full socket buffer: say so, keep going. */
		if (ret == -NLE_NOMEM || ret == -NLE_DUMP_INTR) {
			cli_err("events: some events were lost");
			continue;
		}
		if (ret < 0) {
			rc = cli_errno(nl_to_errno(ret), "events: receive");
			goto out;
		}
	}
	if (count && c.seen < count) {
		cli_err("events: timed out after %lu of %lu events", c.seen,
			count);
		rc = RC_TIMEOUT;
	}
out:
	nl_socket_free(sk);
	return rc;
}
