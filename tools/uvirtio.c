// SPDX-License-Identifier: BSD-3-Clause
/*
 * uvirtio - command-line tool for user-space virtio PCI devices.
 *
 * This file: command dispatch, usage, error reporting and the small
 * helpers the subcommands share.  The subcommands live in pci.c (list,
 * bind, unbind), info.c (info), io.c (rng, blk), net.c (net), bench_cmd.c (bench) and
 * nl.c (events).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ids.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uvirtio/kmod.h>

#include "cli.h"

#ifndef UVIRTIO_CLI_VERSION
#define UVIRTIO_CLI_VERSION "0.1.0"
#endif

const char *cli_prog = "uvirtio";

static const char usage_text[] =
	"usage: uvirtio [--json] COMMAND [ARGS...]\n"
	"\n"
	"commands:\n"
	"  list [--json]                    virtio PCI functions, drivers, owners\n"
	"  bind BDF [-f] [--driver uvirtio|vfio-pci]\n"
	"                                   hand a function over to uvirtio\n"
	"                                   (or to vfio-pci, for vfio:BDF)\n"
	"  unbind BDF [-f]                  give it back to its previous driver\n"
	"  info BDF [--json] [--features]   module view of a bound function\n"
	"  rng BDF [-n BYTES] [-o FILE]     read entropy from a virtio-rng device\n"
	"  blk BDF info                     virtio-blk geometry and limits\n"
	"  blk BDF read OFFSET LEN [-o FILE]\n"
	"  blk BDF write OFFSET [-i FILE]   (default: standard input)\n"
	"  blk BDF verify [-s MIB]          write, flush, read back, compare\n"
	"  blk BDF randrw [-n OPS] [-s SPAN_MIB] [--poll]\n"
	"                                   timed 4 KiB QD1 random writes + reads\n"
	"  net DEV info                     virtio-net MAC, MTU, link, features\n"
	"  net DEV send [-n N] [-s SIZE] [--dst MAC]\n"
	"                                   send test frames\n"
	"  net DEV recv [-n N] [-t SECONDS] receive and check test frames\n"
	"  net DEV macswap [-n N] [-t SECONDS]\n"
	"                                   reflect frames, MACs swapped\n"
	"  net DEV pingpong [-n N] [-s SIZE] send frames to a reflector, check them\n"
	"  net DEV link [-n CHANGES]        link status, or wait for changes\n"
	"  bench BDF [--rw randread|randwrite] [--qd N] [--bs BYTES]\n"
	"            [-t SECONDS] [--poll] [--json]\n"
	"                                   async random I/O: IOPS, MiB/s, latency\n"
	"  events [--json] [-n COUNT] [-t SECONDS]\n"
	"                                   follow bind/open/release/... events\n"
	"  vdpa list [--json]               vdpa management devices and devices\n"
	"  vdpa add NAME MGMTDEV            create a vdpa device (vdpa dev add)\n"
	"  vdpa del NAME                    delete it\n"
	"  help                             this text\n"
	"\n"
	"BDF is a PCI address, dddd:bb:dd.f or bb:dd.f; the device commands\n"
	"also take vhost-user:PATH and vfio:BDF.  Exit codes: 0 ok,\n"
	"1 error, 2 usage, 3 device busy, 4 no such device or module not\n"
	"loaded, 5 not permitted, 6 events timed out.  See uvirtio(8).\n";

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_errno(int err, const char *fmt, ...)
{
	const char *what;
	va_list ap;
	int rc = RC_ERR;

	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		what = "no such device";
		rc = RC_NOTFOUND;
		break;
	case EBUSY:
		what = "device busy";
		rc = RC_BUSY;
		break;
	case EPERM:
	case EACCES:
		what = "not permitted (needs root, or CAP_SYS_RAWIO)";
		rc = RC_PERM;
		break;
	case ENOTSUP:
		what = "not supported by the device";
		break;
	case ECONNRESET:
		what = "device needs reset";
		break;
	case ETIMEDOUT:
		what = "device timed out";
		break;
	case EIO:
		what = "I/O error (device failed or misbehaved)";
		break;
	default:
		what = strerror(err);
		break;
	}
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", what);
	return rc;
}

int cli_grow(void **arr, unsigned int *cap, unsigned int n, size_t size,
	     unsigned int first)
{
	unsigned int ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	p = realloc(*arr, (size_t)ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int cli_file_err(int err, const char *path)
{
	cli_err("%s: %s", path, strerror(err < 0 ? -err : err));
	return RC_FILE;
}

int cli_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'uvirtio help'.\n");
	return RC_USAGE;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *cli_sysfs(void)
{
	return env_or("UVIRTIO_SYSFS", "/sys");
}

const char *cli_ctl(void)
{
	return env_or("UVIRTIO_CTL", "/dev/uvirtio");
}

const char *cli_rundir(void)
{
	return env_or("UVIRTIO_RUNDIR", "/run/uvirtio");
}

bool cli_module_loaded(void)
{
	struct stat st;

	return stat(cli_ctl(), &st) == 0;
}

int cli_no_module(void)
{
	cli_err("module not loaded (%s missing)", cli_ctl());
	return RC_NOTFOUND;
}

int cli_parse_bdf(const char *arg, char out[16], uint32_t *pci_addr)
{
	struct uvirtio_pci_addr a;

	if (uvirtio_parse_pci_addr(arg, &a))
		return -EINVAL;
	snprintf(out, 16, "%04x:%02x:%02x.%x", a.domain, a.bus, a.dev, a.fn);
	if (pci_addr)
		*pci_addr = ((uint32_t)a.domain << 16) | ((uint32_t)a.bus << 8) |
			    ((uint32_t)a.dev << 3) | a.fn;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -EINVAL;
	if (shift && v > (~0ULL >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static void sysfs_path(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s/%s", cli_sysfs(), path);
}

int sysfs_read(const char *path, char *buf, size_t len)
{
	char p[512];
	ssize_t n;
	int fd;

	sysfs_path(p, sizeof(p), path);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int sysfs_read_hex(const char *path, unsigned long *val)
{
	char buf[64], *end;
	int ret = sysfs_read(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoul(buf, &end, 16);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

int sysfs_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	char p[512];
	ssize_t n;
	int fd;

	sysfs_path(p, sizeof(p), path);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	if (close(fd))
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Transitional device ids, virtio spec 1.2 section 4.1.2.1. */
static const struct {
	unsigned int pci_id;
	uint32_t type;
} transitional_ids[] = {
	{ VIRTIO_TRANS_ID_NET, VIRTIO_ID_NET },
	{ VIRTIO_TRANS_ID_BLOCK, VIRTIO_ID_BLOCK },
	{ VIRTIO_TRANS_ID_BALLOON, VIRTIO_ID_BALLOON },
	{ VIRTIO_TRANS_ID_CONSOLE, VIRTIO_ID_CONSOLE },
	{ VIRTIO_TRANS_ID_SCSI, VIRTIO_ID_SCSI },
	{ VIRTIO_TRANS_ID_RNG, VIRTIO_ID_RNG },
	{ VIRTIO_TRANS_ID_9P, VIRTIO_ID_9P },
};

uint32_t virtio_type_of(unsigned int device, unsigned int subsys_device)
{
	size_t i;

	if (device >= 0x1040 && device <= 0x107f)
		return device - 0x1040;
	if (device < 0x1000 || device > 0x103f)
		return 0;
	for (i = 0; i < sizeof(transitional_ids) / sizeof(transitional_ids[0]); i++)
		if (transitional_ids[i].pci_id == device)
			return transitional_ids[i].type;
	/* Other transitional ids: the subsystem device id is the type. */
	return subsys_device <= 0x3f ? subsys_device : 0;
}

static const char *const type_names[] = {
	[VIRTIO_ID_NET] = "net",
	[VIRTIO_ID_BLOCK] = "blk",
	[VIRTIO_ID_CONSOLE] = "console",
	[VIRTIO_ID_RNG] = "rng",
	[VIRTIO_ID_BALLOON] = "balloon",
	[VIRTIO_ID_IOMEM] = "iomem",
	[VIRTIO_ID_RPMSG] = "rpmsg",
	[VIRTIO_ID_SCSI] = "scsi",
	[VIRTIO_ID_9P] = "9p",
	[VIRTIO_ID_MAC80211_WLAN] = "mac80211-wlan",
	[VIRTIO_ID_RPROC_SERIAL] = "rproc-serial",
	[VIRTIO_ID_CAIF] = "caif",
	[VIRTIO_ID_MEMORY_BALLOON] = "memory-balloon",
	[VIRTIO_ID_GPU] = "gpu",
	[VIRTIO_ID_CLOCK] = "clock",
	[VIRTIO_ID_INPUT] = "input",
	[VIRTIO_ID_VSOCK] = "vsock",
	[VIRTIO_ID_CRYPTO] = "crypto",
	[VIRTIO_ID_SIGNAL_DIST] = "signal-dist",
	[VIRTIO_ID_PSTORE] = "pstore",
	[VIRTIO_ID_IOMMU] = "iommu",
	[VIRTIO_ID_MEM] = "mem",
	[VIRTIO_ID_SOUND] = "sound",
	[VIRTIO_ID_FS] = "fs",
	[VIRTIO_ID_PMEM] = "pmem",
	[VIRTIO_ID_RPMB] = "rpmb",
	[VIRTIO_ID_MAC80211_HWSIM] = "mac80211-hwsim",
	[VIRTIO_ID_VIDEO_ENCODER] = "video-encoder",
	[VIRTIO_ID_VIDEO_DECODER] = "video-decoder",
	[VIRTIO_ID_SCMI] = "scmi",
	[VIRTIO_ID_NITRO_SEC_MOD] = "nitro-sec-mod",
	[VIRTIO_ID_I2C_ADAPTER] = "i2c",
	[VIRTIO_ID_WATCHDOG] = "watchdog",
	[VIRTIO_ID_CAN] = "can",
	[VIRTIO_ID_DMABUF] = "dmabuf",
	[VIRTIO_ID_PARAM_SERV] = "param-serv",
	[VIRTIO_ID_AUDIO_POLICY] = "audio-policy",
	[VIRTIO_ID_BT] = "bt",
	[VIRTIO_ID_GPIO] = "gpio",
};

const char *virtio_type_name(uint32_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) &&
	    type_names[type])
		return type_names[type];
	return "unknown";
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "list", cmd_list },
	{ "bind", cmd_bind },
	{ "unbind", cmd_unbind },
	{ "info", cmd_info },
	{ "rng", cmd_rng },
	{ "blk", cmd_blk },
	{ "net", cmd_net },
	{ "bench", cmd_bench },
	{ "events", cmd_events },
	{ "vdpa", cmd_vdpa },
};

int main(int argc, char **argv)
{
	bool json = false;
	int i = 1;
	size_t c;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return RC_OK;
		} else if (!strcmp(argv[i], "-V") ||
			   !strcmp(argv[i], "--version")) {
			printf("uvirtio %s\n", UVIRTIO_CLI_VERSION);
			return RC_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			return cli_usage_err("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		fputs(usage_text, stderr);
		return RC_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		fputs(usage_text, stdout);
		return RC_OK;
	}
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (strcmp(argv[i], commands[c].name))
			continue;
		/*
		 * A global --json is passed on as if given after the command;
		 * the subcommand's own option parser decides if it applies.
		 */
		if (json) {
			int n = argc - i;
			char **v = calloc((size_t)n + 2, sizeof(*v));

			if (!v) {
				cli_err("out of memory");
				return RC_ERR;
			}
			v[0] = argv[i];
			v[1] = "--json";
			memcpy(v + 2, argv + i + 1, (size_t)(n - 1) * sizeof(*v));
			return commands[c].fn(n + 1, v);
		}
		return commands[c].fn(argc - i, argv + i);
	}
	return cli_usage_err("unknown command '%s'", argv[i]);
}
