// SPDX-License-Identifier: BSD-3-Clause
/*
 * pci.c - "uvirtio list", "uvirtio bind" and "uvirtio unbind".
 *
 * Everything here works on sysfs (the PCI core's driver_override,
 * unbind, bind and drivers_probe files) plus one ioctl, UVIRTIO_LIST_DEVICES
 * on the control node, for the owner of each bound function.  "list"
 * also shows the virtio-mmio devices bound to uvirtio, from that ioctl
 * alone (they are platform devices: no PCI sysfs entry).  bind and
 * unbind also move functions to and from vfio-pci (bind --driver
 * vfio-pci), for libuvirtio's VFIO backend (device string vfio:BDF).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/uvirtio.h>

#include "cli.h"

#define DRV_NAME "uvirtio"
#define VFIO_DRV "vfio-pci"

/* What we know about one PCI function from sysfs. */
struct pcifn {
	char bdf[16];
	unsigned long vendor, device, subsys_vendor, subsys_device;
	uint32_t type;
	char driver[64];	/* "" when unbound */
	char override[64];	/* "" when not set */
};

/* Owners reported by the module. */
struct owners {
	int state;		/* 1 ok, 0 module not loaded, <0 -errno */
	struct uvirtio_device_entry *e;
	struct cli_nl_dev *st;	/* counters, parallel to e (netlink only) */
	unsigned int n;
};

static void devpath(char *buf, size_t len, const char *bdf, const char *file)
{
	snprintf(buf, len, "bus/pci/devices/%s%s%s", bdf, file ? "/" : "",
		 file ? file : "");
}

/* Base name of the "driver" link of a device, "" if unbound. */
static void read_driver(const char *bdf, char *out, size_t len)
{
	char p[512], target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", cli_sysfs(), bdf);
	n = readlink(p, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	if (snprintf(out, len, "%s", base ? base + 1 : target) >= (int)len)
		out[0] = '\0';
}

/*
 * Read a function's identity.  Return: 0, -ENOENT if there is no such
 * function, -ENODEV if it is not a virtio function.
 */
static int read_fn(const char *bdf, struct pcifn *fn)
{
	char p[512];

	memset(fn, 0, sizeof(*fn));
	snprintf(fn->bdf, sizeof(fn->bdf), "%s", bdf);
	devpath(p, sizeof(p), bdf, "vendor");
	if (sysfs_read_hex(p, &fn->vendor))
		return -ENOENT;
	devpath(p, sizeof(p), bdf, "device");
	if (sysfs_read_hex(p, &fn->device))
		return -ENOENT;
	devpath(p, sizeof(p), bdf, "subsystem_vendor");
	sysfs_read_hex(p, &fn->subsys_vendor);
	devpath(p, sizeof(p), bdf, "subsystem_device");
	sysfs_read_hex(p, &fn->subsys_device);
	read_driver(bdf, fn->driver, sizeof(fn->driver));
	devpath(p, sizeof(p), bdf, "driver_override");
	if (sysfs_read(p, fn->override, sizeof(fn->override)) ||
	    !strcmp(fn->override, "(null)"))
		fn->override[0] = '\0';
	/* 0x1af4 also has non-virtio ids (ivshmem): take 0x1000-0x107f. */
	if (fn->vendor != VIRTIO_PCI_VENDOR || fn->device < 0x1000 ||
	    fn->device > 0x107f)
		return -ENODEV;
	fn->type = virtio_type_of((unsigned int)fn->device,
				  (unsigned int)fn->subsys_device);
	return 0;
}

/*
 * "modern" (a virtio 1.x id), "transitional" (a pre-1.0 id with the
 * virtio 1.x capabilities too) or "legacy" (without them), as info says.
 * Unprivileged readers see only 64 bytes of config space: then the
 * capabilities are out of sight and a pre-1.0 id counts as transitional.
 */
static const char *pci_kind(const struct pcifn *fn)
{
	unsigned char cfg[256];
	unsigned int pos, n;
	char p[512];
	ssize_t len;
	int fd;

	if (fn->device >= 0x1040)
		return "modern";
	devpath(p, sizeof(p), fn->bdf, "config");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "transitional";
	len = read(fd, cfg, sizeof(cfg));
	close(fd);
	if (len < (ssize_t)sizeof(cfg) || !(cfg[0x06] & 0x10))
		return "transitional";
	/* bounded walk: at most 48 capabilities, as the library does */
	for (pos = cfg[0x34] & 0xfc, n = 0; pos >= 0x40 && n < 48;
	     pos = cfg[pos + 1] & 0xfc, n++)
		if (cfg[pos] == 0x09 && pos + 3 < sizeof(cfg) &&
		    cfg[pos + 3] == 1 /* VIRTIO_PCI_CAP_COMMON_CFG */)
			return "transitional";
	return "legacy";
}

/* The generic netlink family, which also has the counters.  Return: 0. */
static int get_owners_nl(struct owners *o)
{
	struct cli_nl_dev *d;
	unsigned int i, n;
	int ret;

	ret = cli_nl_list(&d, &n);
	if (ret)
		return ret;
	o->e = calloc(n ? n : 1, sizeof(*o->e));
	if (!o->e) {
		free(d);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		o->e[i].pci_addr = d[i].pci_addr;
		o->e[i].flags = d[i].flags;
		o->e[i].owner_pid = d[i].owner_pid;
		o->e[i].keepalive_ms = d[i].keepalive_ms;
	}
	o->st = d;
	o->n = n;
	o->state = 1;
	return 0;
}

/*
 * Owners (and counters) through generic netlink, else through the
 * UVIRTIO_LIST_DEVICES ioctl: the family is missing on modules that
 * predate it, and DEV_GET needs CAP_NET_ADMIN.
 */
static void get_owners(struct owners *o)
{
	struct uvirtio_list_devices ld;
	int fd, tries;

	memset(o, 0, sizeof(*o));
	if (!get_owners_nl(o))
		return;
	fd = open(cli_ctl(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		o->state = errno == ENOENT ? 0 : -errno;
		return;
	}
	for (tries = 0; tries < 4; tries++) {
		unsigned int cap = o->n;

		memset(&ld, 0, sizeof(ld));
		ld.size = sizeof(ld);
		ld.count = cap;
		ld.entry_size = sizeof(struct uvirtio_device_entry);
		ld.entries = (uintptr_t)o->e;
		if (ioctl(fd, UVIRTIO_LIST_DEVICES, &ld)) {
			o->state = -errno;
			goto out;
		}
		if (ld.count <= cap) {
			o->n = ld.count;
			o->state = 1;
			goto out;
		}
		/* Room for a few more, in case devices are bound meanwhile. */
		free(o->e);
		o->n = ld.count + 8;
		o->e = calloc(o->n, sizeof(*o->e));
		if (!o->e) {
			o->n = 0;
			o->state = -ENOMEM;
			goto out;
		}
	}
	o->state = -EAGAIN;
out:
	if (o->state != 1) {
		free(o->e);
		o->e = NULL;
		o->n = 0;
	}
	close(fd);
}

static const struct cli_nl_dev *find_stats(const struct owners *o,
					   const struct uvirtio_device_entry *e)
{
	return o->st && e ? &o->st[e - o->e] : NULL;
}

static const struct uvirtio_device_entry *find_owner(const struct owners *o,
						     const char *bdf)
{
	uint32_t addr;
	char canon[16];
	unsigned int i;

	if (cli_parse_bdf(bdf, canon, &addr))
		return NULL;
	for (i = 0; i < o->n; i++)
		if (o->e[i].pci_addr == addr)
			return &o->e[i];
	return NULL;
}

/*
 * The virtio-mmio devices bound to uvirtio, from UVIRTIO_LIST_DEVICES:
 * one line each (or JSON objects after @shown others).  Return: how many.
 */
static int list_mmio(bool json, int shown)
{
	struct uvirtio_device_entry e[64];
	struct uvirtio_list_devices ld = {
		.size = sizeof(ld), .count = 64, .entry_size = sizeof(e[0]),
		.entries = (uintptr_t)e,
	};
	unsigned int i;
	int fd, n = 0;

	fd = open(cli_ctl(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, UVIRTIO_LIST_DEVICES, &ld))
		ld.count = 0;
	close(fd);
	for (i = 0; i < ld.count && i < 64; i++) {
		const struct uvirtio_device_entry *d = &e[i];
		char name[sizeof(d->name) + 8], owner[24];

		if (d->transport != UVIRTIO_DEVICE_TRANSPORT_MMIO)
			continue;
		snprintf(name, sizeof(name), "mmio:%.*s",
			 (int)sizeof(d->name) - 1, d->name);
		if (d->owner_pid)
			snprintf(owner, sizeof(owner), "%u", d->owner_pid);
		else if (d->flags & UVIRTIO_DEVICE_ENTRY_OWNED)
			snprintf(owner, sizeof(owner), "owned");
		else
			snprintf(owner, sizeof(owner), "-");
		if (!json) {
			printf("%-13s mmio-v%-3u %-10s %-12s %-12s %s\n", name,
			       d->mmio_version, virtio_type_name(d->virtio_id),
			       d->mmio_version == 1 ? "mmio-legacy" : "mmio",
			       DRV_NAME, owner);
		} else {
			printf("%s\n  {\"device\": ", shown + n ? "," : "");
			json_str(stdout, name);
			printf(", \"virtio_id\": %u, \"type\": ", d->virtio_id);
			json_str(stdout, virtio_type_name(d->virtio_id));
			printf(", \"kind\": \"mmio\", \"mmio_version\": %u, "
			       "\"driver\": \"%s\", \"owned\": %s, "
			       "\"owner_pid\": ", d->mmio_version, DRV_NAME,
			       d->flags & UVIRTIO_DEVICE_ENTRY_OWNED ?
			       "true" : "false");
			if (d->owner_pid)
				printf("%u}", d->owner_pid);
			else
				printf("null}");
		}
		n++;
	}
	return n;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dirent **names = NULL;
	struct owners own;
	bool json = false, stats = false;
	char dir[512];
	int n, i, opt, shown = 0;

	while ((opt = getopt_long(argc, argv, "jsh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 's':
			stats = true;
			break;
		case 'h':
			printf("usage: uvirtio list [--json] [--stats]\n");
			return RC_OK;
		default:
			return cli_usage_err("usage: uvirtio list [--json] [--stats]");
		}
	}
	if (optind != argc)
		return cli_usage_err("list: unexpected argument '%s'",
				     argv[optind]);

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", cli_sysfs());
	n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		/* No PCI bus at all (some VMs): an empty list. */
		if (errno != ENOENT)
			return cli_errno(errno, "%s", dir);
		n = 0;
	}
	get_owners(&own);

	if (json)
		printf("{\"module_loaded\": %s, \"devices\": [",
		       own.state == 0 ? "false" : "true");
	else
		printf("%-13s %-9s %-10s %-12s %-12s %s\n", "BDF", "ID",
		       "TYPE", "KIND", "DRIVER",
		       stats ? "OWNER   MAPS  PINNED     COHERENT   IRQS" :
			       "OWNER");
	for (i = 0; i < n; i++) {
		const struct uvirtio_device_entry *e = NULL;
		const struct cli_nl_dev *st;
		const char *kind;
		struct pcifn fn;
		char owner[24];

		if (names[i]->d_name[0] == '.' ||
		    read_fn(names[i]->d_name, &fn))
			continue;
		kind = pci_kind(&fn);
		if (!strcmp(fn.driver, DRV_NAME) && own.state == 1)
			e = find_owner(&own, fn.bdf);
		if (!strcmp(fn.driver, DRV_NAME) && own.state < 0)
			snprintf(owner, sizeof(owner), "?");
		else if (e && e->flags & UVIRTIO_DEVICE_ENTRY_KEPT)
			/* no owner: held for a re-attach until the deadline */
			snprintf(owner, sizeof(owner), "kept:%us",
				 (e->keepalive_ms + 999) / 1000);
		else if (e && e->owner_pid)
			snprintf(owner, sizeof(owner), "%u", e->owner_pid);
		else if (e && e->flags & UVIRTIO_DEVICE_ENTRY_OWNED)
			snprintf(owner, sizeof(owner), "owned");	/* other pid ns */
		else
			snprintf(owner, sizeof(owner), "-");
		st = find_stats(&own, e);

		if (!json) {
			printf("%-13s %04lx:%04lx %-10s %-12s %-12s %s",
			       fn.bdf, fn.vendor, fn.device,
			       virtio_type_name(fn.type), kind,
			       fn.driver[0] ? fn.driver : "-", owner);
			if (stats && st)
				printf("%*s %-5u %-10llu %-10llu %llu",
				       (int)(strlen(owner) < 7 ?
					     7 - strlen(owner) : 0), "",
				       st->mappings,
				       (unsigned long long)st->pinned_pages,
				       (unsigned long long)st->coherent_bytes,
				       (unsigned long long)st->interrupts);
			printf("\n");
			shown++;
			continue;
		}
		printf("%s\n  {\"bdf\": \"%s\", \"vendor\": \"%04lx\", "
		       "\"device\": \"%04lx\", \"subsystem_vendor\": \"%04lx\", "
		       "\"subsystem_device\": \"%04lx\", \"virtio_id\": %u, "
		       "\"type\": ",
		       shown ? "," : "", fn.bdf, fn.vendor, fn.device,
		       fn.subsys_vendor, fn.subsys_device, fn.type);
		json_str(stdout, virtio_type_name(fn.type));
		printf(", \"kind\": \"%s\", \"driver\": ", kind);
		if (fn.driver[0])
			json_str(stdout, fn.driver);
		else
			printf("null");
		printf(", \"driver_override\": ");
		if (fn.override[0])
			json_str(stdout, fn.override);
		else
			printf("null");
		printf(", \"owned\": %s",
		       e && e->flags & UVIRTIO_DEVICE_ENTRY_OWNED ? "true" :
		       own.state < 0 && !strcmp(fn.driver, DRV_NAME) ? "null" :
		       "false");
		if (e && e->owner_pid)
			printf(", \"owner_pid\": %u", e->owner_pid);
		else
			printf(", \"owner_pid\": null");
		if (e && e->flags & UVIRTIO_DEVICE_ENTRY_KEPT)
			printf(", \"kept_alive_ms\": %u", e->keepalive_ms);
		else
			printf(", \"kept_alive_ms\": null");
		if (st)
			printf(", \"stats\": {\"mappings\": %u, "
			       "\"pinned_pages\": %llu, \"coherent_bytes\": %llu, "
			       "\"interrupts\": %llu}}", st->mappings,
			       (unsigned long long)st->pinned_pages,
			       (unsigned long long)st->coherent_bytes,
			       (unsigned long long)st->interrupts);
		else
			printf(", \"stats\": null}");
		shown++;
	}
	shown += list_mmio(json, shown);
	if (json)
		printf("%s]}\n", shown ? "\n" : "");
	else if (!shown)
		printf("(no virtio PCI functions)\n");
	if (!json && own.state < 0 && own.state != -ENOENT)
		fprintf(stderr, "%s: note: owners unknown: %s: %s\n", cli_prog,
			cli_ctl(), strerror(-own.state));
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(own.e);
	free(own.st);
	return RC_OK;
}

/*
 * Common start of bind/unbind: options, address, and the function.
 * @driver is NULL for a command without --driver; else it receives the
 * target driver (uvirtio or vfio-pci).
 */
static int parse_bdf_cmd(int argc, char **argv, const char *name, bool *force,
			 const char **driver, struct pcifn *fn)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "driver", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *use = driver ? " [--driver uvirtio|vfio-pci]" : "";
	char bdf[16];
	int opt, ret;

	*force = false;
	if (driver)
		*driver = DRV_NAME;
	while ((opt = getopt_long(argc, argv, driver ? "fd:h" : "fh", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'f':
			*force = true;
			break;
		case 'd':
			if (!driver)
				return cli_usage_err("usage: uvirtio %s BDF [-f]",
						     name);
			if (strcmp(optarg, DRV_NAME) && strcmp(optarg, VFIO_DRV))
				return cli_usage_err("%s: --driver must be %s or %s, not '%s'",
						     name, DRV_NAME, VFIO_DRV,
						     optarg);
			*driver = !strcmp(optarg, DRV_NAME) ? DRV_NAME : VFIO_DRV;
			break;
		case 'h':
			printf("usage: uvirtio %s BDF [-f]%s\n", name, use);
			return -1;
		default:
			return cli_usage_err("usage: uvirtio %s BDF [-f]%s", name,
					     use);
		}
	}
	if (optind != argc - 1)
		return cli_usage_err("usage: uvirtio %s BDF [-f]%s", name, use);
	if (cli_parse_bdf(argv[optind], bdf, NULL))
		return cli_usage_err("%s: bad PCI address '%s'", name,
				     argv[optind]);
	ret = read_fn(bdf, fn);
	if (ret == -ENOENT) {
		cli_err("%s: no such device", bdf);
		return RC_NOTFOUND;
	}
	if (ret == -ENODEV) {
		cli_err("%s: not a virtio device (%04lx:%04lx)", bdf,
			fn->vendor, fn->device);
		return RC_ERR;
	}
	return 0;
}

static int write_dev(const struct pcifn *fn, const char *file, const char *val)
{
	char p[512];

	devpath(p, sizeof(p), fn->bdf, file);
	return sysfs_write(p, val);
}

static void prev_path(char *buf, size_t len, const char *bdf)
{
	snprintf(buf, len, "%s/%s.prev", cli_rundir(), bdf);
}

static void save_prev(const char *bdf, const char *driver)
{
	char p[512];
	FILE *f;

	prev_path(p, sizeof(p), bdf);
	if (!driver[0]) {
		unlink(p);
		return;
	}
	if (mkdir(cli_rundir(), 0755) && errno != EEXIST)
		goto fail;
	f = fopen(p, "we");
	if (!f)
		goto fail;
	fprintf(f, "%s\n", driver);
	if (fclose(f) == 0)
		return;
fail:
	fprintf(stderr, "%s: warning: cannot remember the previous driver in %s: %s\n",
		cli_prog, p, strerror(errno));
}

/* Is block device @name (a disk or partition) mounted, swapped on or held? */
static bool blockdev_busy(const char *name, char *why, size_t len)
{
	static const char *const tabs[] = { "/proc/mounts", "/proc/swaps" };
	char node[300], line[512];
	size_t nl;
	int fd;

	snprintf(node, sizeof(node), "/dev/%s ", name);
	nl = strlen(node);
	for (unsigned int t = 0; t < 2; t++) {
		FILE *f = fopen(tabs[t], "re");
		bool hit = false;

		while (f && !hit && fgets(line, sizeof(line), f)) {
			char *tab = strchr(line, '\t');

			/* /proc/swaps separates with tabs: normalise one. */
			if (tab)
				*tab = ' ';
			hit = !strncmp(line, node, nl);
		}
		if (f)
			fclose(f);
		if (hit) {
			snprintf(why, len, "/dev/%s is %s", name,
				 t ? "used for swap" : "mounted");
			return true;
		}
	}
	/* An exclusive open fails with EBUSY while anyone claims the disk. */
	node[nl - 1] = '\0';
	fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		close(fd);
	} else if (errno == EBUSY) {
		snprintf(why, len, "%s is in use", node);
		return true;
	}
	return false;
}

/*
 * Is the function in use by the host in a way that taking it away would
 * hurt: a disk (or partition) that is mounted, swapped on or otherwise
 * claimed, or a network interface that is up?  Describes it in @why.
 */
static bool in_use(const struct pcifn *fn, char *why, size_t len)
{
	char dir[512], p[640], state[32];
	struct dirent *v, *d, *part;
	DIR *vd, *dd, *pd;
	bool busy = false;

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", cli_sysfs(), fn->bdf);
	vd = opendir(dir);
	if (!vd)
		return false;
	while (!busy && (v = readdir(vd))) {
		if (strncmp(v->d_name, "virtio", 6))
			continue;
		/* Disks of a virtio-blk function, and their partitions. */
		if (snprintf(p, sizeof(p), "%s/%s/block", dir,
			     v->d_name) >= (int)sizeof(p))
			continue;
		dd = opendir(p);
		while (dd && !busy && (d = readdir(dd))) {
			char pp[1024];

			if (d->d_name[0] == '.')
				continue;
			busy = blockdev_busy(d->d_name, why, len);
			snprintf(pp, sizeof(pp), "%s/%s", p, d->d_name);
			pd = busy ? NULL : opendir(pp);
			while (pd && !busy && (part = readdir(pd)))
				if (!strncmp(part->d_name, d->d_name,
					     strlen(d->d_name)))
					busy = blockdev_busy(part->d_name, why, len);
			if (pd)
				closedir(pd);
		}
		if (dd)
			closedir(dd);
		/* Interfaces of a virtio-net function. */
		if (snprintf(p, sizeof(p), "%s/%s/net", dir,
			     v->d_name) >= (int)sizeof(p))
			continue;
		dd = opendir(p);
		while (dd && !busy && (d = readdir(dd))) {
			char sp[1024];

			if (d->d_name[0] == '.')
				continue;
			snprintf(sp, sizeof(sp), "bus/pci/devices/%s/%s/net/%s/operstate",
				 fn->bdf, v->d_name, d->d_name);
			if (!sysfs_read(sp, state, sizeof(state)) &&
			    !strcmp(state, "up")) {
				busy = true;
				if (snprintf(why, len, "interface %s is up",
					     d->d_name) >= (int)len)
					snprintf(why, len, "a network interface is up");
			}
		}
		if (dd)
			closedir(dd);
	}
	closedir(vd);
	return busy;
}

static int reprobe(const struct pcifn *fn)
{
	return sysfs_write("bus/pci/drivers_probe", fn->bdf);
}

int cmd_bind(int argc, char **argv)
{
	char drvdir[512], why[128], now[64], p[512];
	const char *drv;
	struct pcifn fn;
	struct stat st;
	bool force;
	int ret;

	ret = parse_bdf_cmd(argc, argv, "bind", &force, &drv, &fn);
	if (ret)
		return ret < 0 ? RC_OK : ret;
	if (!strcmp(fn.driver, drv)) {
		printf("%s: already bound to %s\n", fn.bdf, drv);
		return RC_OK;
	}
	/* vfio-pci needs no uvirtio module, only its own. */
	if (strcmp(drv, VFIO_DRV) && !cli_module_loaded())
		return cli_no_module();
	snprintf(drvdir, sizeof(drvdir), "%s/bus/pci/drivers/%s", cli_sysfs(),
		 drv);
	if (stat(drvdir, &st)) {
		if (!strcmp(drv, VFIO_DRV))
			cli_err("vfio-pci not loaded (no PCI driver '%s' in sysfs; modprobe vfio-pci)",
				drv);
		else
			cli_err("module not loaded (no PCI driver '%s' in sysfs)",
				drv);
		return RC_NOTFOUND;
	}
	if (fn.driver[0] && !force && in_use(&fn, why, sizeof(why))) {
		cli_err("%s: device busy: %s (use -f to take it anyway)",
			fn.bdf, why);
		return RC_BUSY;
	}

	ret = write_dev(&fn, "driver_override", drv);
	if (ret)
		return cli_errno(ret, "%s: set driver_override", fn.bdf);
	save_prev(fn.bdf, fn.driver);
	if (fn.driver[0]) {
		ret = write_dev(&fn, "driver/unbind", fn.bdf);
		if (ret) {
			write_dev(&fn, "driver_override", "\n");
			return cli_errno(ret, "%s: unbind from %s", fn.bdf,
					 fn.driver);
		}
	}
	ret = reprobe(&fn);
	read_driver(fn.bdf, now, sizeof(now));
	if (strcmp(now, drv)) {
		/* Roll back: no override, and the old driver if it is free. */
		write_dev(&fn, "driver_override", "\n");
		if (!now[0])
			reprobe(&fn);
		prev_path(p, sizeof(p), fn.bdf);
		unlink(p);
		if (ret)
			return cli_errno(ret, "%s: probe", fn.bdf);
		cli_err("%s: %s did not take the device (see dmesg); now %s",
			fn.bdf, drv, now[0] ? now : "without driver");
		return RC_ERR;
	}
	if (fn.driver[0])
		printf("%s: bound to %s (was %s)\n", fn.bdf, drv, fn.driver);
	else
		printf("%s: bound to %s\n", fn.bdf, drv);
	return RC_OK;
}

/*
 * Is the VFIO group of @bdf open (by libuvirtio's VFIO backend, QEMU,
 * ...)?  A group node admits one opener at a time, so a short open of our
 * own tells.  False when there is no group node (fake sysfs, no VFIO).
 */
static bool vfio_group_open(const char *bdf)
{
	char p[512], target[PATH_MAX], node[PATH_MAX + 16];
	const char *base;
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group",
		 cli_sysfs(), bdf);
	n = readlink(p, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(node, sizeof(node), "/dev/vfio/%s", base ? base + 1 : target);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EBUSY;
}

int cmd_unbind(int argc, char **argv)
{
	char p[512], prev[64] = "", now[64];
	const char *cur;
	struct owners own;
	struct pcifn fn;
	bool force, rebound = false;
	int ret;

	ret = parse_bdf_cmd(argc, argv, "unbind", &force, NULL, &fn);
	if (ret)
		return ret < 0 ? RC_OK : ret;
	/* The driver we take it from: bound, or only the override left. */
	cur = fn.driver[0] ? fn.driver : fn.override;
	if (strcmp(cur, DRV_NAME) && strcmp(cur, VFIO_DRV)) {
		cli_err("%s: not bound to uvirtio or vfio-pci (driver: %s)",
			fn.bdf, fn.driver[0] ? fn.driver : "none");
		return RC_ERR;
	}
	if (fn.driver[0] && !strcmp(cur, VFIO_DRV)) {
		/* The kernel would wait for the owner to let go. */
		if (!force && vfio_group_open(fn.bdf)) {
			cli_err("%s: device busy: its VFIO group is open (use -f to ask the owner to release it)",
				fn.bdf);
			return RC_BUSY;
		}
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/unbind", VFIO_DRV);
		ret = sysfs_write(p, fn.bdf);
		if (ret)
			return cli_errno(ret, "%s: unbind from %s", fn.bdf,
					 VFIO_DRV);
	} else if (fn.driver[0]) {
		const struct uvirtio_device_entry *e;

		get_owners(&own);
		e = own.state == 1 ? find_owner(&own, fn.bdf) : NULL;
		if (e && (e->flags & UVIRTIO_DEVICE_ENTRY_OWNED ||
			  e->owner_pid) && !force) {
			cli_err("%s: device busy: owned by pid %u (use -f to revoke)",
				fn.bdf, e->owner_pid);
			free(own.e);
			return RC_BUSY;
		}
		free(own.e);
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/unbind", DRV_NAME);
		ret = sysfs_write(p, fn.bdf);
		if (ret)
			return cli_errno(ret, "%s: unbind from uvirtio", fn.bdf);
	}
	ret = write_dev(&fn, "driver_override", "\n");
	if (ret)
		return cli_errno(ret, "%s: clear driver_override", fn.bdf);

	prev_path(p, sizeof(p), fn.bdf);
	{
		FILE *f = fopen(p, "re");

		if (f) {
			if (!fgets(prev, sizeof(prev), f))
				prev[0] = '\0';
			prev[strcspn(prev, "\n")] = '\0';
			fclose(f);
		}
	}
	if (prev[0] && !strchr(prev, '/') && strcmp(prev, DRV_NAME) &&
	    strcmp(prev, VFIO_DRV)) {
		char bind[256];

		snprintf(bind, sizeof(bind), "bus/pci/drivers/%s/bind", prev);
		rebound = sysfs_write(bind, fn.bdf) == 0;
	}
	if (!rebound)
		reprobe(&fn);
	unlink(p);
	read_driver(fn.bdf, now, sizeof(now));
	printf("%s: unbound from %s, now %s%s\n", fn.bdf, cur,
	       now[0] ? "bound to " : "without driver", now);
	return RC_OK;
}
