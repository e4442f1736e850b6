// SPDX-License-Identifier: BSD-3-Clause
/*
 * vdpa.c - `uvirtio vdpa list|add|del`: the kernel's "vdpa" generic
 * netlink family (include/uapi/linux/vdpa.h) through libnl-genl-3, the
 * equivalent of iproute2's `vdpa mgmtdev show`, `vdpa dev show`,
 * `vdpa dev add name NAME mgmtdev MGMTDEV` and `vdpa dev del NAME`.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/vdpa.h>

#include "cli.h"

/* Attributes this file reads; newer ones are ignored by the parser. */
#define VA_MAX (VDPA_ATTR_MAX - 1)
/* Longest device or management device name accepted. */
#define VDPA_NAME_MAX 63
/* Bound on the entries one dump may return. */
#define VDPA_DUMP_MAX 4096

static const char vdpa_usage[] =
	"usage: uvirtio vdpa list [--json]\n"
	"       uvirtio vdpa add NAME MGMTDEV   (MGMTDEV: vdpasim_blk, pci/BDF, ...)\n"
	"       uvirtio vdpa del NAME";

static struct nla_policy va_policy[VA_MAX + 1] = {
	[VDPA_ATTR_MGMTDEV_BUS_NAME] = { .type = NLA_NUL_STRING },
	[VDPA_ATTR_MGMTDEV_DEV_NAME] = { .type = NLA_NUL_STRING },
	[VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_NAME] = { .type = NLA_NUL_STRING },
	[VDPA_ATTR_DEV_ID] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_VENDOR_ID] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_MAX_VQS] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_MAX_VQ_SIZE] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_MIN_VQ_SIZE] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_MGMTDEV_MAX_VQS] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_SUPPORTED_FEATURES] = { .type = NLA_U64 },
};

struct vdpa_sock {
	struct nl_sock *sk;
	int family;
	int kerr;	/* errno of the kernel's NLMSG_ERROR, negative */
};

static int vdpa_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e,
		       void *arg)
{
	struct vdpa_sock *s = arg;

	(void)nla;
	s->kerr = e->error;
	return NL_STOP;
}

/* libnl error to a negative errno, preferring the kernel's own. */
static int vdpa_errno(const struct vdpa_sock *s, int nlerr)
{
	if (s->kerr)
		return s->kerr;
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/* Return: exit code; on success *s is connected to the vdpa family. */
static int vdpa_open(struct vdpa_sock *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->sk = nl_socket_alloc();
	if (!s->sk) {
		cli_err("vdpa: out of memory");
		return RC_ERR;
	}
	ret = genl_connect(s->sk);
	if (ret < 0) {
		nl_socket_free(s->sk);
		return cli_errno(vdpa_errno(s, ret), "vdpa: generic netlink");
	}
	ret = genl_ctrl_resolve(s->sk, VDPA_GENL_NAME);
	if (ret < 0) {
		nl_socket_free(s->sk);
		cli_err("vdpa: the \"%s\" generic netlink family is not "
			"registered (modprobe vdpa, and a driver such as "
			"vdpa_sim_blk)", VDPA_GENL_NAME);
		return RC_NOTFOUND;
	}
	s->family = ret;
	nl_socket_modify_err_cb(s->sk, NL_CB_CUSTOM, vdpa_err_cb, s);
	return RC_OK;
}

/* --- list ------------------------------------------------------------- */

struct vdpa_ent {
	char name[VDPA_NAME_MAX + 1];
	char bus[VDPA_NAME_MAX + 1];
	char mgmt[VDPA_NAME_MAX + 1];
	uint64_t classes;
	uint32_t dev_id, vendor, max_vqs;
	uint16_t max_vq_size, min_vq_size;
};

struct vdpa_dump {
	struct vdpa_ent *e;
	unsigned int n, cap;
	int err;
};

static void copy_str(char *dst, struct nlattr *a)
{
	dst[0] = 0;
	if (a)
		snprintf(dst, VDPA_NAME_MAX + 1, "%s", nla_get_string(a));
}

static int vdpa_dump_cb(struct nl_msg *msg, void *arg)
{
	struct vdpa_dump *d = arg;
	struct nlattr *a[VA_MAX + 1];
	struct vdpa_ent *e;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, VA_MAX, va_policy))
		return NL_SKIP;
	if (d->n >= VDPA_DUMP_MAX) {
		d->err = -E2BIG;
		return NL_STOP;
	}
	if (cli_grow((void **)&d->e, &d->cap, d->n, sizeof(*d->e), 8)) {
		d->err = -ENOMEM;
		return NL_STOP;
	}
	e = &d->e[d->n++];
	memset(e, 0, sizeof(*e));
	copy_str(e->name, a[VDPA_ATTR_DEV_NAME]);
	copy_str(e->bus, a[VDPA_ATTR_MGMTDEV_BUS_NAME]);
	copy_str(e->mgmt, a[VDPA_ATTR_MGMTDEV_DEV_NAME]);
	if (a[VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES])
		e->classes = nla_get_u64(a[VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES]);
	if (a[VDPA_ATTR_DEV_ID])
		e->dev_id = nla_get_u32(a[VDPA_ATTR_DEV_ID]);
	if (a[VDPA_ATTR_DEV_VENDOR_ID])
		e->vendor = nla_get_u32(a[VDPA_ATTR_DEV_VENDOR_ID]);
	if (a[VDPA_ATTR_DEV_MAX_VQS])
		e->max_vqs = nla_get_u32(a[VDPA_ATTR_DEV_MAX_VQS]);
	else if (a[VDPA_ATTR_DEV_MGMTDEV_MAX_VQS])
		e->max_vqs = nla_get_u32(a[VDPA_ATTR_DEV_MGMTDEV_MAX_VQS]);
	if (a[VDPA_ATTR_DEV_MAX_VQ_SIZE])
		e->max_vq_size = nla_get_u16(a[VDPA_ATTR_DEV_MAX_VQ_SIZE]);
	if (a[VDPA_ATTR_DEV_MIN_VQ_SIZE])
		e->min_vq_size = nla_get_u16(a[VDPA_ATTR_DEV_MIN_VQ_SIZE]);
	return NL_OK;
}

/* Dump command @cmd; return 0 or a negative errno. */
static int vdpa_dump(struct vdpa_sock *s, uint8_t cmd, struct vdpa_dump *d)
{
	int ret;

	memset(d, 0, sizeof(*d));
	s->kerr = 0;
	ret = nl_socket_modify_cb(s->sk, NL_CB_VALID, NL_CB_CUSTOM,
				  vdpa_dump_cb, d);
	if (ret >= 0)
		ret = genl_send_simple(s->sk, s->family, cmd,
				       VDPA_GENL_VERSION, NLM_F_DUMP);
	if (ret >= 0)
		ret = nl_recvmsgs_default(s->sk);
	if (ret < 0 || d->err) {
		free(d->e);
		d->e = NULL;
		return d->err ? d->err : vdpa_errno(s, ret);
	}
	return 0;
}

/* "bus/dev" or "dev" */
static void mgmt_name(const struct vdpa_ent *e, char *buf, size_t len)
{
	if (e->bus[0])
		snprintf(buf, len, "%s/%s", e->bus, e->mgmt);
	else
		snprintf(buf, len, "%s", e->mgmt);
}

/* vhost-vdpa-N of a device from sysfs, or "" (other driver, none). */
static void vdpa_chardev(const char *name, char *buf, size_t len)
{
	char path[512];
	struct dirent *de;
	unsigned int n = 0;
	DIR *dir;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/bus/vdpa/devices/%s", cli_sysfs(),
		 name);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && n++ < 1024) {
		if (!strncmp(de->d_name, "vhost-vdpa-", 11)) {
			snprintf(buf, len, "/dev/%s", de->d_name);
			break;
		}
	}
	closedir(dir);
}

static void print_classes(uint64_t classes, bool json)
{
	bool first = true;
	unsigned int b;

	for (b = 0; b < 64; b++) {
		if (!(classes & (1ull << b)))
			continue;
		if (json)
			printf("%s\"%s\"", first ? "" : ", ",
			       virtio_type_name(b));
		else
			printf("%s%s", first ? "" : ",", virtio_type_name(b));
		first = false;
	}
	if (first && !json)
		printf("-");
}

static int vdpa_list(bool json)
{
	struct vdpa_dump mg, dv;
	struct vdpa_sock s;
	char mname[2 * VDPA_NAME_MAX + 2], node[300];
	unsigned int i;
	int rc, ret;

	rc = vdpa_open(&s);
	if (rc)
		return rc;
	ret = vdpa_dump(&s, VDPA_CMD_MGMTDEV_GET, &mg);
	if (ret) {
		nl_socket_free(s.sk);
		return cli_errno(ret, "vdpa list: management devices");
	}
	ret = vdpa_dump(&s, VDPA_CMD_DEV_GET, &dv);
	nl_socket_free(s.sk);
	if (ret) {
		free(mg.e);
		return cli_errno(ret, "vdpa list: devices");
	}
	if (json) {
		printf("{\"mgmtdevs\": [");
		for (i = 0; i < mg.n; i++) {
			mgmt_name(&mg.e[i], mname, sizeof(mname));
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(stdout, mname);
			printf(", \"classes\": [");
			print_classes(mg.e[i].classes, true);
			printf("], \"max_vqs\": %u}", mg.e[i].max_vqs);
		}
		printf("], \"devs\": [");
		for (i = 0; i < dv.n; i++) {
			mgmt_name(&dv.e[i], mname, sizeof(mname));
			vdpa_chardev(dv.e[i].name, node, sizeof(node));
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(stdout, dv.e[i].name);
			printf(", \"mgmtdev\": ");
			json_str(stdout, mname);
			printf(", \"type\": ");
			json_str(stdout, virtio_type_name(dv.e[i].dev_id));
			printf(", \"virtio_id\": %u, \"vendor_id\": %u, "
			       "\"max_vqs\": %u, \"max_vq_size\": %u, "
			       "\"chardev\": ", dv.e[i].dev_id,
			       dv.e[i].vendor, dv.e[i].max_vqs,
			       dv.e[i].max_vq_size);
			if (node[0])
				json_str(stdout, node);
			else
				printf("null");
			printf("}");
		}
		printf("]}\n");
	} else {
		for (i = 0; i < mg.n; i++) {
			mgmt_name(&mg.e[i], mname, sizeof(mname));
			printf("mgmtdev %s: classes ", mname);
			print_classes(mg.e[i].classes, false);
			if (mg.e[i].max_vqs)
				printf(" max_vqs %u", mg.e[i].max_vqs);
			putchar('\n');
		}
		for (i = 0; i < dv.n; i++) {
			mgmt_name(&dv.e[i], mname, sizeof(mname));
			vdpa_chardev(dv.e[i].name, node, sizeof(node));
			printf("dev %s: mgmtdev %s type %s vendor_id %u "
			       "max_vqs %u max_vq_size %u%s%s\n",
			       dv.e[i].name, mname,
			       virtio_type_name(dv.e[i].dev_id),
			       dv.e[i].vendor, dv.e[i].max_vqs,
			       dv.e[i].max_vq_size, node[0] ? " " : "", node);
		}
	}
	free(mg.e);
	free(dv.e);
	return RC_OK;
}

/* --- add / del -------------------------------------------------------- */

/* Names the kernel would take as a device name: no '/', printable. */
static bool good_name(const char *n, bool allow_slash)
{
	size_t i, len = strlen(n);

	if (!len || len > VDPA_NAME_MAX || !strcmp(n, ".") || !strcmp(n, ".."))
		return false;
	for (i = 0; i < len; i++) {
		char c = n[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.' || c == ':' || (allow_slash && c == '/')))
			return false;
	}
	return true;
}

static int vdpa_perm(const char *what)
{
	cli_err("vdpa %s: not permitted (needs CAP_NET_ADMIN)", what);
	return RC_PERM;
}

/* Send one request built in @msg and wait for the kernel's answer. */
static int vdpa_request(struct vdpa_sock *s, struct nl_msg *msg)
{
	int ret;

	s->kerr = 0;
	ret = nl_send_auto(s->sk, msg);
	if (ret >= 0)
		ret = nl_wait_for_ack(s->sk);
	return ret < 0 || s->kerr ? vdpa_errno(s, ret) : 0;
}

static int vdpa_add(const char *name, const char *mgmt)
{
	char bus[VDPA_NAME_MAX + 1];
	const char *slash = strchr(mgmt, '/'), *dev = mgmt;
	struct vdpa_sock s;
	struct nl_msg *msg;
	int rc, ret;

	if (!good_name(name, false))
		return cli_usage_err("vdpa add: bad device name '%s' (1-%d "
				     "of A-Z a-z 0-9 _ - . :)", name,
				     VDPA_NAME_MAX);
	if (!good_name(mgmt, true) || (slash && (slash == mgmt ||
	    !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - mgmt) > VDPA_NAME_MAX)))
		return cli_usage_err("vdpa add: bad management device '%s' "
				     "(NAME or BUS/NAME)", mgmt);
	rc = vdpa_open(&s);
	if (rc)
		return rc;
	msg = nlmsg_alloc();
	if (!msg) {
		nl_socket_free(s.sk);
		cli_err("vdpa add: out of memory");
		return RC_ERR;
	}
	ret = -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, s.family, 0, 0,
			 VDPA_CMD_DEV_NEW, VDPA_GENL_VERSION))
		goto out;
	if (slash) {
		snprintf(bus, sizeof(bus), "%.*s", (int)(slash - mgmt), mgmt);
		dev = slash + 1;
		if (nla_put_string(msg, VDPA_ATTR_MGMTDEV_BUS_NAME, bus))
			goto out;
	}
	if (nla_put_string(msg, VDPA_ATTR_MGMTDEV_DEV_NAME, dev) ||
	    nla_put_string(msg, VDPA_ATTR_DEV_NAME, name))
		goto out;
	ret = vdpa_request(&s, msg);
out:
	nlmsg_free(msg);
	nl_socket_free(s.sk);
	if (ret == -ENODEV) {
		cli_err("vdpa add %s: no management device '%s' (see "
			"'uvirtio vdpa list'; is its driver, e.g. vdpa_sim_blk, "
			"loaded?)", name, mgmt);
		return RC_NOTFOUND;
	}
	if (ret == -EPERM || ret == -EACCES)
		return vdpa_perm("add");
	if (ret == -EEXIST) {
		cli_err("vdpa add %s: a vdpa device of that name exists", name);
		return RC_BUSY;
	}
	if (ret)
		return cli_errno(ret, "vdpa add %s (mgmtdev %s)", name, mgmt);
	return RC_OK;
}

static int vdpa_del(const char *name)
{
	struct vdpa_sock s;
	struct nl_msg *msg;
	int rc, ret;

	if (!good_name(name, false))
		return cli_usage_err("vdpa del: bad device name '%s'", name);
	rc = vdpa_open(&s);
	if (rc)
		return rc;
	msg = nlmsg_alloc();
	if (!msg) {
		nl_socket_free(s.sk);
		cli_err("vdpa del: out of memory");
		return RC_ERR;
	}
	ret = -ENOMEM;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, s.family, 0, 0,
			VDPA_CMD_DEV_DEL, VDPA_GENL_VERSION) &&
	    !nla_put_string(msg, VDPA_ATTR_DEV_NAME, name))
		ret = vdpa_request(&s, msg);
	nlmsg_free(msg);
	nl_socket_free(s.sk);
	if (ret == -ENODEV) {
		cli_err("vdpa del: no vdpa device '%s'", name);
		return RC_NOTFOUND;
	}
	if (ret == -EPERM || ret == -EACCES)
		return vdpa_perm("del");
	if (ret == -EINVAL) {
		cli_err("vdpa del %s: not created through a management "
			"device", name);
		return RC_ERR;
	}
	if (ret)
		return cli_errno(ret, "vdpa del %s", name);
	return RC_OK;
}

int cmd_vdpa(int argc, char **argv)
{
	char *args[4];
	bool json = false;
	int i, n = 0;

	/* --json may come first (global option) or anywhere after "list" */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			puts(vdpa_usage);
			return RC_OK;
		} else if (n < 4) {
			args[n++] = argv[i];
		} else {
			return cli_usage_err("vdpa: too many arguments\n%s",
					     vdpa_usage);
		}
	}
	if (!n)
		return cli_usage_err("vdpa: missing subcommand\n%s", vdpa_usage);
	if (!strcmp(args[0], "list") || !strcmp(args[0], "show")) {
		if (n != 1)
			return cli_usage_err("vdpa list takes no arguments");
		return vdpa_list(json);
	}
	if (json)
		return cli_usage_err("vdpa %s: --json applies to list only",
				     args[0]);
	if (!strcmp(args[0], "add")) {
		if (n != 3)
			return cli_usage_err("vdpa add: NAME MGMTDEV\n%s",
					     vdpa_usage);
		return vdpa_add(args[1], args[2]);
	}
	if (!strcmp(args[0], "del")) {
		if (n != 2)
			return cli_usage_err("vdpa del: NAME\n%s", vdpa_usage);
		return vdpa_del(args[1]);
	}
	return cli_usage_err("vdpa: unknown subcommand '%s'\n%s", args[0],
			     vdpa_usage);
}
