/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fault-injection knobs uvirtio_fail_nth turns (fault-injection.rst):
 * the failslab, fail_page_alloc, fail_usercopy and fail_function debugfs
 * attributes (every one it changes is restored by uv_fi_restore()),
 * fail_function's targets and the errors they return, the task's
 * fail-nth counter, and the device's debugfs stats a failed call must
 * leave alone.  Include after uvirtio_util.h.
 */
#ifndef UVIRTIO_SELFTEST_FAULT_H
#define UVIRTIO_SELFTEST_FAULT_H

#define UV_FI_MAX_NTH	2000
#define UV_FI_MARKER_CAP 32
#define UV_FI_TIMES	"1000000000"

enum { UV_FI_SLAB, UV_FI_PAGE, UV_FI_USERCOPY, UV_FI_FUNC, UV_FI_NR };
static const char * const uv_fi_attrs[UV_FI_NR] = {
	"failslab", "fail_page_alloc", "fail_usercopy", "fail_function",
};

/* What fail_function makes each module function return */
static const struct {
	const char *func;
	int err;
} uv_fi_retvals[] = {
	{ "uvirtio_pin_pages", ENOMEM },
	{ "uvirtio_iommu_map_pages", ENOMEM },
	{ "uvirtio_iommu_attach", EBUSY },
	{ "uvirtio_buf_alloc_pages", ENOMEM },
	{ "uvirtio_irq_alloc_vectors", ENOSPC },
	{ "uvirtio_irq_request", ENOMEM },
	{ "uvirtio_eventfd_get", EBADF },
	{ "uvirtio_virtio_reset", ETIMEDOUT },
	{ "uvirtio_function_reset", EAGAIN },
};

/* debugfs knobs changed by the sweep, with their values before it */
static struct {
	char path[128];
	char old[64];
} uv_fi_knobs[48];
static unsigned int uv_fi_nknobs;

/* Set /sys/kernel/debug/@knob, remembering the value it had first */
static int uv_fi_set(const char *knob, const char *val)
{
	char path[128];
	unsigned int i;

	snprintf(path, sizeof(path), UV_DBG "%s", knob);
	for (i = 0; i < uv_fi_nknobs; i++)
		if (!strcmp(uv_fi_knobs[i].path, path))
			break;
	if (i == uv_fi_nknobs) {
		if (i == ARRAY_SIZE(uv_fi_knobs) ||
		    uv_read_file(path, uv_fi_knobs[i].old,
				 sizeof(uv_fi_knobs[i].old)))
			return -1;
		uv_copy(uv_fi_knobs[i].path, sizeof(uv_fi_knobs[i].path), path);
		uv_fi_nknobs++;
	}
	return uv_write_file(path, val);
}

static int uv_fi_set_attr(int attr, const char *knob, const char *val)
{
	char name[96];

	snprintf(name, sizeof(name), "%s/%s", uv_fi_attrs[attr], knob);
	return uv_fi_set(name, val);
}

static void uv_fi_restore(void)
{
	while (uv_fi_nknobs) {
		uv_fi_nknobs--;
		uv_write_file(uv_fi_knobs[uv_fi_nknobs].path,
			      uv_fi_knobs[uv_fi_nknobs].old);
	}
}

/* Injected faults so far, per attribute ("times" counts down) */
static void uv_fi_times(long t[UV_FI_NR])
{
	char path[96], buf[32];
	int i;

	for (i = 0; i < UV_FI_NR; i++) {
		snprintf(path, sizeof(path), UV_DBG "%s/times", uv_fi_attrs[i]);
		t[i] = uv_read_file(path, buf, sizeof(buf)) ? 0 :
		       1000000000L - atol(buf);
	}
}

static char uv_fi_armed[64];

static int uv_fi_arm(const char *func, int err)
{
	char path[160], val[32];

	if (uv_write_file(UV_DBG "fail_function/inject", func))
		return -1;
	uv_copy(uv_fi_armed, sizeof(uv_fi_armed), func);
	snprintf(path, sizeof(path), UV_DBG "fail_function/%s/retval", func);
	snprintf(val, sizeof(val), "%#llx", (unsigned long long)-(long long)err);
	return uv_write_file(path, val);
}

static void uv_fi_disarm(const char *func)
{
	char buf[80];

	snprintf(buf, sizeof(buf), "!%.70s", func);
	uv_write_file(UV_DBG "fail_function/inject", buf);
	uv_fi_armed[0] = 0;
}

/* Disarm and restore whatever the sweep left, even after an ASSERT */
static void uv_fi_cleanup(void)
{
	if (uv_fi_armed[0])
		uv_fi_disarm(uv_fi_armed);
	uv_fi_restore();
}

/* Is @func's kprobe an ftrace one?  1 yes, 0 no (int3), -1 not found */
static int uv_fi_kprobe_ftrace(const char *func)
{
	char line[256], *p;
	int ret = -1;
	FILE *f;

	f = fopen(UV_DBG "kprobes/list", "r");
	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f)) {
		p = strstr(line, func);
		if (p && p[strlen(func)] == '+')
			ret = !!strstr(line, "[FTRACE]");
	}
	fclose(f);
	return ret;
}

/* The module's ALLOW_ERROR_INJECTION() functions, from the kernel's list */
static unsigned int uv_fi_functions(char names[][64], unsigned int max)
{
	unsigned int n = 0;
	char line[256];
	FILE *f;

	f = fopen(UV_DBG "error_injection/list", "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[uvirtio]"))
			continue;
		line[strcspn(line, " \t\n")] = 0;
		uv_copy(names[n++], 64, line);
	}
	fclose(f);
	return n;
}

static int uv_fi_retval(const char *func)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uv_fi_retvals); i++)
		if (!strcmp(uv_fi_retvals[i].func, func))
			return uv_fi_retvals[i].err;
	return ENOMEM;
}

static int uv_fi_nth_set(int nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nth, buf, len, 0) == len ? 0 : -1;
}

/*
 * After the call: did its fault fire?  Leaves the counter at 0.  Reading
 * the counter copies to user space, itself a fault point while the
 * counter runs: a counter the call left at 1 fails this read (EFAULT) and
 * is used up by it.  A counter left higher is cleared by the write, or
 * used up by the write's own copy.
 */
static bool uv_fi_nth_fired(int nth)
{
	char buf[16] = "";

	if (pread(nth, buf, sizeof(buf) - 1, 0) <= 0)
		return false;
	if (!strtoul(buf, NULL, 10))
		return true;
	uv_fi_nth_set(nth, 0);
	return false;
}

static long uv_fi_nth_get(int nth)
{
	char buf[16] = "";

	if (pread(nth, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* The device's debugfs stats that a failed call must leave alone */
struct uv_fi_stats {
	long owner, pinned, mappings, bufs, bytes, irq_type;
};

static int uv_fi_stats(const char *bdf, struct uv_fi_stats *s)
{
	static const char * const keys[] = {
		"owner_pid", "pinned_pages", "mappings", "coherent_buffers",
		"coherent_bytes", "irq_type",
	};
	long *v[] = {
		&s->owner, &s->pinned, &s->mappings, &s->bufs, &s->bytes,
		&s->irq_type,
	};
	char path[PATH_MAX], line[256];
	unsigned int i, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), UV_DBG "uvirtio/%s/stats", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t len = strlen(keys[i]);

			if (!strncmp(line, keys[i], len) && line[len] == ':') {
				*v[i] = atol(line + len + 1);
				found++;
			}
		}
	}
	fclose(f);
	return found == ARRAY_SIZE(keys) ? 0 : -1;
}

#endif /* UVIRTIO_SELFTEST_FAULT_H */
