/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli.h - shared declarations of the uvirtio command-line tool.
 */
#ifndef UVIRTIO_CLI_H
#define UVIRTIO_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in uvirtio.8). */
enum {
	RC_OK = 0,
	RC_ERR = 1,		/* any other failure */
	RC_USAGE = 2,		/* bad command line */
	RC_BUSY = 3,		/* device busy (owned, or in use) */
	RC_NOTFOUND = 4,	/* no such device, or module not loaded */
	RC_PERM = 5,		/* not permitted */
	RC_TIMEOUT = 6,		/* events: -t ran out before -n COUNT */
	RC_FILE = 7,		/* a host file could not be read or written */
};

#define VIRTIO_PCI_VENDOR	0x1af4

/* Environment overrides, for tests: sysfs root, control node, state dir. */
const char *cli_sysfs(void);	/* UVIRTIO_SYSFS, default "/sys" */
const char *cli_ctl(void);	/* UVIRTIO_CTL, default "/dev/uvirtio" */
const char *cli_rundir(void);	/* UVIRTIO_RUNDIR, default "/run/uvirtio" */

extern const char *cli_prog;

/* Print "uvirtio: <msg>" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Report a failure that carries an errno (positive or negative) and
 * return the matching exit code.  @what names the operation/object.
 */
int cli_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Usage error: prints the message and the short usage, returns 2. */
int cli_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "module not loaded" error with its exit code. */
int cli_no_module(void);
/* Is the uvirtio control node present? */
bool cli_module_loaded(void);

/* Canonical "dddd:bb:dd.f" of a user-supplied address; 0 or -EINVAL. */
int cli_parse_bdf(const char *arg, char out[16], uint32_t *pci_addr);
/* Parse a size with an optional K/M/G suffix (powers of 1024). */
int cli_parse_size(const char *s, uint64_t *out);

/* Small sysfs helpers (paths are relative to cli_sysfs()). */
int sysfs_read(const char *path, char *buf, size_t len);
int sysfs_read_hex(const char *path, unsigned long *val);
int sysfs_write(const char *path, const char *val);

/* JSON string output (quotes included). */
void json_str(FILE *f, const char *s);

/* Virtio type of a PCI function, 0 if unknown; name of a virtio type. */
uint32_t virtio_type_of(unsigned int device, unsigned int subsys_device);
const char *virtio_type_name(uint32_t type);

/* One device as the generic netlink family reports it (nl.c). */
struct cli_nl_dev {
	uint32_t pci_addr;
	uint32_t flags;		/* UVIRTIO_DEVICE_ENTRY_* */
	uint32_t owner_pid;	/* 0: none, or not in our pid namespace */
	uint32_t mappings;
	uint64_t pinned_pages;
	uint64_t coherent_bytes;
	uint64_t interrupts;
	uint32_t keepalive_ms;	/* kept alive: time left until reset */
};

/*
 * Dump every device bound to uvirtio over generic netlink; *devs is
 * malloc()ed.  Return: 0, -ENOENT if the family is not registered (module
 * not loaded, or too old), -EPERM without CAP_NET_ADMIN, other -errno.
 */
int cli_nl_list(struct cli_nl_dev **devs, unsigned int *n);

struct uvirtio_backend;
struct uvirtio_fake;

/* Room for a device's name in messages: a BDF, or a whole device string. */
#define CLI_NAME_MAX 128

/*
 * io.c: open the backend of device string @arg (uvirtio/open.h: BDF,
 * pci:BDF, vhost-user:PATH, ...; a PCI function is the library's fake
 * device when UVIRTIO_FAKE is set; then *@fake, if @fake, is the fake),
 * reporting errors.  @name receives the canonical BDF of a PCI function,
 * else the device string.  Return: exit code.
 */
int cli_open_backend(const char *arg, char name[CLI_NAME_MAX],
		     struct uvirtio_backend **be, struct uvirtio_fake **fake);
/* Report a library error while bringing a @what device up: exit code. */
int cli_open_err(int ret, const char *bdf, const char *what);

/*
 * Room for element @n of a doubling array (*@arr of *@cap elements of
 * @size bytes; @first when empty).  Return: 0 or -ENOMEM (*@arr intact).
 */
int cli_grow(void **arr, unsigned int *cap, unsigned int n, size_t size,
	     unsigned int first);

/* Report a host file's error (not the device's): RC_FILE. */
int cli_file_err(int err, const char *path);

/* Subcommands: return an exit code. */
int cmd_list(int argc, char **argv);
int cmd_bind(int argc, char **argv);
int cmd_unbind(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_rng(int argc, char **argv);
int cmd_blk(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_vdpa(int argc, char **argv);
int cmd_console(int argc, char **argv);

#endif /* UVIRTIO_CLI_H */
