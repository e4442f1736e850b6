// SPDX-License-Identifier: BSD-3-Clause
/*
 * uvirtio - command-line tool for user-space virtio PCI devices.
 *
 * This file: the command table, usage and main().  The shared helpers
 * are cli_util.c (cli.h); the subcommands live in pci.c (list, bind,
 * unbind), info.c (info), io.c (rng, blk), net.c (net), console.c
 * (console), bench_cmd.c (bench), nl.c (events) and vdpa.c (vdpa).
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
	"  console DEV [--port N] [--idle SECS] [-v]\n"
	"                                   copy stdin to a virtio-console port,\n"
	"                                   the port to stdout\n"
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
	{ "console", cmd_console },
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
