// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the "uvirtio" generic netlink family (libnl-genl-3): the family
 * and its group resolve, DEV_GET dump and doit agree with sysfs and with
 * UVIRTIO_LIST_DEVICES, strict attribute validation, CAP_NET_ADMIN, and
 * the events multicast group (bound, opened, reset, released, removed,
 * unbound).  Every receive is bounded by a timeout, so a missing reply or
 * event fails the test instead of hanging it.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <linux/virtio_ids.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kselftest_harness.h"
#include "uvirtio_util.h"

#define UV_NL_TIMEOUT_MS	5000
#define UV_NL_MAX_DEVS		64

struct uv_nl_dev {
	uint32_t pci_addr;
	uint32_t virtio_id;
	uint32_t flags;
	uint32_t owner_pid;	/* 0 if the attribute was absent */
	uint32_t mappings;
	uint64_t pinned_pages;
	uint64_t coherent_bytes;
	uint64_t interrupts;
	uint16_t vendor, device;
	bool has_counters;
};

struct uv_nl_reply {
	int err;		/* nlmsgerr.error: 0 or -errno */
	bool done;
	unsigned int n;
	struct uv_nl_dev devs[UV_NL_MAX_DEVS];
};

struct uv_nl_event {
	uint32_t event;
	uint32_t pci_addr;
	uint32_t virtio_id;
	uint32_t pid;
	uint32_t error;
};

static struct nla_policy uv_policy[UVIRTIO_ATTR_MAX + 1] = {
	[UVIRTIO_ATTR_PCI_ADDR] = { .type = NLA_U32 },
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
};

static uint32_t uv_get32(struct nlattr **a, int t)
{
	return a[t] ? nla_get_u32(a[t]) : 0;
}

static uint64_t uv_get64(struct nlattr **a, int t)
{
	return a[t] ? nla_get_u64(a[t]) : 0;
}

static int uv_valid_cb(struct nl_msg *msg, void *arg)
{
	struct uv_nl_reply *r = arg;
	struct nlattr *a[UVIRTIO_ATTR_MAX + 1];
	struct uv_nl_dev *d;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, UVIRTIO_ATTR_MAX, uv_policy) ||
	    r->n >= UV_NL_MAX_DEVS)
		return NL_SKIP;
	d = &r->devs[r->n++];
	memset(d, 0, sizeof(*d));
	d->pci_addr = uv_get32(a, UVIRTIO_ATTR_PCI_ADDR);
	d->virtio_id = uv_get32(a, UVIRTIO_ATTR_VIRTIO_ID);
	d->flags = uv_get32(a, UVIRTIO_ATTR_FLAGS);
	d->owner_pid = uv_get32(a, UVIRTIO_ATTR_OWNER_PID);
	d->mappings = uv_get32(a, UVIRTIO_ATTR_MAPPINGS);
	d->pinned_pages = uv_get64(a, UVIRTIO_ATTR_PINNED_PAGES);
	d->coherent_bytes = uv_get64(a, UVIRTIO_ATTR_COHERENT_BYTES);
	d->interrupts = uv_get64(a, UVIRTIO_ATTR_INTERRUPTS);
	d->vendor = a[UVIRTIO_ATTR_VENDOR] ?
		    nla_get_u16(a[UVIRTIO_ATTR_VENDOR]) : 0;
	d->device = a[UVIRTIO_ATTR_DEVICE] ?
		    nla_get_u16(a[UVIRTIO_ATTR_DEVICE]) : 0;
	d->has_counters = a[UVIRTIO_ATTR_PINNED_PAGES] &&
			  a[UVIRTIO_ATTR_MAPPINGS] &&
			  a[UVIRTIO_ATTR_COHERENT_BYTES] &&
			  a[UVIRTIO_ATTR_INTERRUPTS] && a[UVIRTIO_ATTR_FLAGS];
	return NL_OK;
}

static int uv_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct uv_nl_reply *r = arg;

	r->err = e->error;
	r->done = true;
	return NL_STOP;
}

static int uv_done_cb(struct nl_msg *msg, void *arg)
{
	struct uv_nl_reply *r = arg;

	r->done = true;
	return NL_STOP;
}

/* A generic netlink socket with a receive timeout; NULL on failure. */
static struct nl_sock *uv_nl_socket(void)
{
	struct timeval tv = { .tv_sec = UV_NL_TIMEOUT_MS / 1000 };
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk)
		return NULL;
	if (genl_connect(sk) ||
	    setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv))) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/*
 * Send @msg (freed) and collect replies until the ack, the error or the
 * end of a dump.  Return: 0 when that end was seen, -1 on a socket
 * failure or timeout.
 */
static int uv_nl_transact(struct nl_sock *sk, struct nl_msg *msg,
			  struct uv_nl_reply *r)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	memset(r, 0, sizeof(*r));
	if (!cb) {
		nlmsg_free(msg);
		return -1;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, uv_valid_cb, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, uv_done_cb, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, uv_done_cb, r);
	nl_cb_err(cb, NL_CB_CUSTOM, uv_err_cb, r);
	ret = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	while (ret >= 0 && !r->done)
		ret = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r->done ? 0 : -1;
}

static struct nl_msg *uv_nl_msg(int family, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				flags, UVIRTIO_CMD_DEV_GET,
				UVIRTIO_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* DEV_GET for @addr; 0 and @d, or the negative errno of the reply. */
static int uv_dev_get(struct nl_sock *sk, int family, uint32_t addr,
		      struct uv_nl_dev *d)
{
	struct uv_nl_reply r;
	struct nl_msg *msg = uv_nl_msg(family, 0);

	if (!msg || nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, addr))
		return -ENOMEM;
	if (uv_nl_transact(sk, msg, &r))
		return -ETIMEDOUT;
	if (!r.err && r.n != 1)
		return -EPROTO;
	if (!r.err)
		*d = r.devs[0];
	return r.err;
}

/* ---- events ---- */

struct uv_ev_ctx {
	struct uv_nl_event ev[16];
	unsigned int n;
};

static int uv_event_cb(struct nl_msg *msg, void *arg)
{
	struct uv_ev_ctx *c = arg;
	struct nlattr *a[UVIRTIO_ATTR_MAX + 1];
	struct uv_nl_event *e;

	if (genlmsg_hdr(nlmsg_hdr(msg))->cmd != UVIRTIO_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, a, UVIRTIO_ATTR_MAX, uv_policy) ||
	    c->n >= sizeof(c->ev) / sizeof(c->ev[0]))
		return NL_SKIP;
	e = &c->ev[c->n++];
	e->event = uv_get32(a, UVIRTIO_ATTR_EVENT);
	e->pci_addr = uv_get32(a, UVIRTIO_ATTR_PCI_ADDR);
	e->virtio_id = uv_get32(a, UVIRTIO_ATTR_VIRTIO_ID);
	e->pid = uv_get32(a, UVIRTIO_ATTR_OWNER_PID);
	e->error = uv_get32(a, UVIRTIO_ATTR_ERROR);
	return NL_OK;
}

/* Events received but not consumed yet (each test runs in its own process) */
static struct uv_ev_ctx uv_pending;
static unsigned int uv_pending_head;

/* A socket subscribed to the events group; NULL on failure. */
static struct nl_sock *uv_ev_socket(void)
{
	struct nl_sock *sk = uv_nl_socket();
	int grp;

	if (!sk)
		return NULL;
	grp = genl_ctrl_resolve_grp(sk, UVIRTIO_GENL_NAME,
				    UVIRTIO_GENL_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(sk, grp)) {
		nl_socket_free(sk);
		return NULL;
	}
	/* Events carry sequence number 0. */
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, uv_event_cb,
			    &uv_pending);
	nl_socket_set_nonblocking(sk);
	return sk;
}

/*
 * Wait (bounded by poll) for the next event about @addr, skipping events
 * about other functions.  Return: 0 and @out, or -1 on timeout.
 */
static int uv_ev_next(struct nl_sock *sk, uint32_t addr,
		      struct uv_nl_event *out, int timeout_ms)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
	int ret;

	for (;;) {
		while (uv_pending_head < uv_pending.n) {
			struct uv_nl_event *e = &uv_pending.ev[uv_pending_head++];

			if (e->pci_addr == addr) {
				*out = *e;
				return 0;
			}
		}
		uv_pending_head = 0;
		uv_pending.n = 0;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		ret = nl_recvmsgs_default(sk);
		if (ret < 0 && ret != -NLE_AGAIN)
			return -1;
	}
}

/* Drop every queued event. */
static void uv_ev_drain(struct nl_sock *sk)
{
	struct uv_nl_event e;

	while (!uv_ev_next(sk, ~0U, &e, 200))
		;
}

/* ---- fixture ---- */

FIXTURE(nl) {
	struct nl_sock *sk;
	int family;
	char bdf[32];
	uint32_t addr;
	bool was_uvirtio;
};

FIXTURE_SETUP(nl)
{
	char drv[64];

	self->sk = NULL;
	self->bdf[0] = 0;
	if (access("/dev/uvirtio", F_OK))
		SKIP(return, "/dev/uvirtio missing: uvirtio.ko not loaded");
	self->sk = uv_nl_socket();
	ASSERT_NE(NULL, self->sk);
	self->family = genl_ctrl_resolve(self->sk, UVIRTIO_GENL_NAME);
	ASSERT_LT(0, self->family)
		TH_LOG("family %s: %s", UVIRTIO_GENL_NAME,
		       nl_geterror(self->family));
	if (uv_find_device(VIRTIO_ID_RNG, -1, self->bdf, sizeof(self->bdf)))
		SKIP(return, "no virtio-rng PCI function");
	self->addr = uv_pci_addr(self->bdf);
	uv_driver_of(self->bdf, drv, sizeof(drv));
	self->was_uvirtio = !strcmp(drv, "uvirtio");
}

FIXTURE_TEARDOWN(nl)
{
	if (self->bdf[0]) {
		if (self->was_uvirtio) {
			EXPECT_EQ(0, uv_claim(self->bdf));
		} else {
			uv_give_back(self->bdf);
		}
	}
	if (self->sk)
		nl_socket_free(self->sk);
}

/* The family and its multicast group resolve; version 1. */
TEST_F(nl, family_resolves)
{
	int grp = genl_ctrl_resolve_grp(self->sk, UVIRTIO_GENL_NAME,
					UVIRTIO_GENL_MCGRP_EVENTS);

	EXPECT_LT(0, grp) TH_LOG("group: %s", nl_geterror(grp));
}

/* The dump lists exactly the functions sysfs shows bound to uvirtio. */
TEST_F(nl, dump_lists_bound_devices)
{
	struct uvirtio_device_entry e[UV_NL_MAX_DEVS];
	struct uvirtio_list_devices ld = {
		.size = sizeof(ld),
		.count = UV_NL_MAX_DEVS,
		.entry_size = sizeof(e[0]),
		.entries = (uintptr_t)e,
	};
	struct uv_nl_reply r;
	struct nl_msg *msg;
	unsigned int i, j;
	int ctl;

	ASSERT_EQ(0, uv_claim(self->bdf));
	msg = uv_nl_msg(self->family, NLM_F_DUMP);
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	ASSERT_EQ(0, r.err);

	ctl = open("/dev/uvirtio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, ioctl(ctl, UVIRTIO_LIST_DEVICES, &ld));
	close(ctl);
	ASSERT_LE(1, r.n);
	ASSERT_EQ(ld.count, r.n);

	for (i = 0; i < r.n; i++) {
		struct uv_nl_dev *d = &r.devs[i];
		char bdf[32], drv[64];

		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x",
			 d->pci_addr >> 16, (d->pci_addr >> 8) & 0xff,
			 (d->pci_addr >> 3) & 0x1f, d->pci_addr & 7);
		uv_driver_of(bdf, drv, sizeof(drv));
		EXPECT_STREQ("uvirtio", drv) TH_LOG("%s", bdf);
		EXPECT_EQ(uv_virtio_type(bdf), (int)d->virtio_id);
		EXPECT_EQ(UV_VIRTIO_VENDOR, d->vendor);
		EXPECT_EQ(uv_read_hex(bdf, "device"), d->device);
		EXPECT_TRUE(d->has_counters);
		for (j = 0; j < ld.count; j++)
			if (e[j].pci_addr == d->pci_addr)
				break;
		EXPECT_LT(j, ld.count) TH_LOG("%s not in LIST_DEVICES", bdf);
	}
	for (i = 0; i < r.n; i++)
		if (r.devs[i].pci_addr == self->addr)
			break;
	EXPECT_LT(i, r.n) TH_LOG("%s missing from the dump", self->bdf);
}

/* doit for one device: identity, owner and counters follow the fd. */
TEST_F(nl, doit_one_device)
{
	struct uvirtio_device_info info = { .size = sizeof(info) };
	struct uv_nl_dev d;
	int fd;

	ASSERT_EQ(0, uv_claim(self->bdf));
	ASSERT_EQ(0, uv_dev_get(self->sk, self->family, self->addr, &d));
	EXPECT_EQ(self->addr, d.pci_addr);
	EXPECT_EQ(VIRTIO_ID_RNG, d.virtio_id);
	EXPECT_EQ(0, d.flags);
	EXPECT_EQ(0, d.owner_pid);
	EXPECT_EQ(0, d.mappings);
	EXPECT_EQ(0, d.pinned_pages);
	EXPECT_EQ(0, d.coherent_bytes);

	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(0, uv_dev_get(self->sk, self->family, self->addr, &d));
	EXPECT_EQ(UVIRTIO_DEVICE_ENTRY_OWNED, d.flags);
	EXPECT_EQ((uint32_t)getpid(), d.owner_pid);

	ASSERT_EQ(0, ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &info));
	if (info.iommu_mode != UVIRTIO_IOMMU_NONE) {
		struct uvirtio_dma_alloc da = {
			.size = sizeof(da), .length = 8192,
		};

		ASSERT_EQ(0, ioctl(fd, UVIRTIO_DMA_ALLOC, &da));
		ASSERT_EQ(0, uv_dev_get(self->sk, self->family, self->addr,
					&d));
		EXPECT_EQ(8192, d.coherent_bytes);
	}
	close(fd);
	ASSERT_EQ(0, uv_dev_get(self->sk, self->family, self->addr, &d));
	EXPECT_EQ(0, d.flags);
	EXPECT_EQ(0, d.owner_pid);
	EXPECT_EQ(0, d.coherent_bytes);
}

/* A function not bound to uvirtio (or not there at all): ENODEV. */
TEST_F(nl, doit_no_such_device)
{
	struct uv_nl_dev d;

	EXPECT_EQ(-ENODEV, uv_dev_get(self->sk, self->family,
				      UVIRTIO_PCI_ADDR(0xffff, 0xff, 31, 7),
				      &d));
	uv_give_back(self->bdf);
	EXPECT_EQ(-ENODEV, uv_dev_get(self->sk, self->family, self->addr,
				      &d));
}

/* Strict validation: each malformed request is EINVAL. */
TEST_F(nl, malformed_requests)
{
	uint64_t big = self->addr;
	uint16_t small = 0;
	struct uv_nl_reply r;
	struct nl_msg *msg;

	ASSERT_EQ(0, uv_claim(self->bdf));

	/* no PCI address */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* PCI address too short, and too long (a u64) */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put(msg, UVIRTIO_ATTR_PCI_ADDR, sizeof(small),
			     &small));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put(msg, UVIRTIO_ATTR_PCI_ADDR, sizeof(big), &big));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* a string where a u32 belongs */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put_string(msg, UVIRTIO_ATTR_PCI_ADDR, "0:4.0"));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* an attribute unknown to the family */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, self->addr));
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_MAX + 1, 1));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* a known attribute the request does not take */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, self->addr));
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_VIRTIO_ID, VIRTIO_ID_RNG));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* attribute type 0 */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_UNSPEC, 0));
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, self->addr));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* non-zero reserved field of the generic netlink header */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, self->addr));
	genlmsg_hdr(nlmsg_hdr(msg))->reserved = 1;
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* the dump validates too */
	msg = uv_nl_msg(self->family, NLM_F_DUMP);
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_MAX + 1, 1));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(-EINVAL, r.err);

	/* and the well-formed request still works */
	msg = uv_nl_msg(self->family, 0);
	ASSERT_EQ(0, nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, self->addr));
	ASSERT_EQ(0, uv_nl_transact(self->sk, msg, &r));
	EXPECT_EQ(0, r.err);
	EXPECT_EQ(1, r.n);
}

/* DEV_GET and the events group need CAP_NET_ADMIN. */
TEST_F(nl, needs_cap_net_admin)
{
	static const int caps[] = { CAP_NET_ADMIN, -1 };
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct nl_sock *sk;
		struct uv_nl_dev d;
		int grp;

		if (uv_drop_caps(caps))
			_exit(10);
		sk = uv_nl_socket();
		if (!sk)
			_exit(11);
		if (uv_dev_get(sk, self->family, self->addr, &d) != -EPERM)
			_exit(12);
		grp = genl_ctrl_resolve_grp(sk, UVIRTIO_GENL_NAME,
					    UVIRTIO_GENL_MCGRP_EVENTS);
		if (grp < 0)
			_exit(13);
		if (nl_socket_add_membership(sk, grp) >= 0)
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

#define EXPECT_EVENT(_sk, _addr, _type, _pid) ({			\
	struct uv_nl_event _e;						\
	ASSERT_EQ(0, uv_ev_next(_sk, _addr, &_e, UV_NL_TIMEOUT_MS))	\
		TH_LOG("no %s event", #_type);				\
	EXPECT_EQ(_type, _e.event);					\
	EXPECT_EQ(VIRTIO_ID_RNG, _e.virtio_id);				\
	EXPECT_EQ((uint32_t)(_pid), _e.pid);				\
})

/* bound, opened, reset, released, unbound in order, with the right pid */
TEST_F(nl, events_lifecycle)
{
	struct uvirtio_device_reset rst = { .size = sizeof(rst) };
	struct nl_sock *ev;
	int fd;

	ASSERT_EQ(0, uv_give_back(self->bdf));
	ev = uv_ev_socket();
	ASSERT_NE(NULL, ev);
	uv_ev_drain(ev);

	ASSERT_EQ(0, uv_claim(self->bdf));
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_BOUND, 0);
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_OPENED, getpid());
	ASSERT_EQ(0, ioctl(fd, UVIRTIO_DEVICE_RESET, &rst));
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_RESET, getpid());
	close(fd);
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_RELEASED, getpid());
	ASSERT_EQ(0, uv_give_back(self->bdf));
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_UNBOUND, 0);
	nl_socket_free(ev);
}

/* Unbinding while open: removed (with the owner), unbound, released. */
TEST_F(nl, events_removed_while_open)
{
	struct nl_sock *ev;
	int fd;

	ASSERT_EQ(0, uv_claim(self->bdf));
	fd = uv_open_device(self->bdf);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ev = uv_ev_socket();
	ASSERT_NE(NULL, ev);
	uv_ev_drain(ev);

	ASSERT_EQ(0, uv_give_back(self->bdf));
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_REMOVED, getpid());
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_UNBOUND, 0);
	close(fd);
	EXPECT_EVENT(ev, self->addr, UVIRTIO_EVENT_RELEASED, getpid());
	nl_socket_free(ev);
}

TEST_HARNESS_MAIN
