// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection over the whole UAPI of /dev/uvirtio: a fail-nth sweep
 * of every call that can fail in the kernel (failslab, fail_page_alloc,
 * fail_usercopy, then fail_function on each ALLOW_ERROR_INJECTION()
 * function of the module), on the same virtio-rng function and fixture
 * as uvirtio_uapi (uvirtio_util.h).  The engine and its case table are
 * described below.
 */
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
static void uv_fi_cleanup(void);
#define UV_DEV_FIXTURE
#define UV_DEV_FIXTURE_CLEANUP uv_fi_cleanup
#include "uvirtio_util.h"
#include "uvirtio_fault.h"

#define PAGE	4096UL

/* ---- fault injection: a fail-nth sweep over every call ---- */

/*
 * Each call of the UAPI that can fail in the kernel is made again and
 * again with the task's fail-nth counter (fault-injection.rst) at 1, 2,
 * 3, ...: the n-th fault point the call reaches fails, until a call
 * completes without reaching it.  After each injected fault:
 *
 * - the call failed with an errno Documentation/uapi.rst gives for it,
 *   or succeeded (the fault was absorbed, e.g. by kmemleak's pool);
 * - after a failure nothing changed (the device's debugfs stats), and
 *   the same call, without injection, succeeds: the device is usable;
 * - after the case's clean-up no mapping, buffer, vector or pin is left.
 *
 * vm-run.sh's health check adds kmemleak, KASAN, lockdep and WARN.
 *
 * Pass 1 uses the generic fault points: failslab and fail_page_alloc for
 * every allocation (sleeping or not, any order) and fail_usercopy.
 * Pass 2 arms fail_function on each of the module's
 * ALLOW_ERROR_INJECTION() functions in turn, which fail where no
 * allocation does: pinning, IOMMU mapping, IRQ vectors and handlers,
 * eventfd lookup, resets.  fail-nth counts a fail_function point only if
 * its kprobe runs in task context, i.e. from ftrace
 * (CONFIG_KPROBES_ON_FTRACE): an int3 kprobe runs in NMI-like context,
 * where neither fail-nth nor the task filter applies.  In pass 2 slab
 * and page faults are muted (pass 1 covered them); user copies cannot be
 * muted and fire again, and are checked but not counted twice.  Each
 * injected fault decrements its attribute's "times", which tells which
 * one fired.  Two kernel paths are kept out of pass 1, see struct
 * uv_fi_case.
 *
 * The summary line (UVIRTIO-SUMMARY) counts the calls swept, the faults
 * injected (pass 1, plus pass 2's fail_function faults) and the clean
 * ones among them.
 */

/* Everything the sweep's calls work with; filled before the fault is armed */
struct uv_fi {
	struct _test_data_dev *self;
	char *buf;			/* 8 pages for DMA_MAP */
	int efd, efd2;
	int newfd;			/* DEVICE_OPEN */
	void *map;			/* mmap */
	size_t maplen;
	off_t mapoff;			/* DMA buffer, for mmap */
	off_t baroff;			/* a BAR page, for mmap */
	uint64_t handle;		/* mapping or buffer of the setup */
	uint32_t cfg;
	union {
		struct uvirtio_api_version ver;
		struct uvirtio_list_devices list;
		struct uvirtio_device_open open;
		struct uvirtio_device_info info;
		struct uvirtio_region_info region;
		struct uvirtio_dma_map dmap;
		struct uvirtio_dma_unmap unmap;
		struct uvirtio_dma_alloc alloc;
		struct uvirtio_dma_free free;
		struct uvirtio_irq_enable enable;
		struct uvirtio_irq_disable disable;
		struct uvirtio_irq_set_eventfd seteventfd;
		struct uvirtio_irq_set_affinity affinity;
		struct uvirtio_irq_mask mask;
		struct uvirtio_irq_trigger trigger;
		struct uvirtio_device_reset reset;
		struct uvirtio_set_remove_eventfd remove;
		struct uvirtio_iova_ranges ranges;
	} a;
	struct uvirtio_iova_range rng[4];
	struct uvirtio_dma_segment seg[4];
	struct uvirtio_device_entry entries[8];
};

#define UV_FI_DMA	(1U << 0)	/* DMA is allowed */
#define UV_FI_MSIX	(1U << 1)
#define UV_FI_INTX	(1U << 2)
#define UV_FI_FLR	(1U << 3)
#define UV_FI_BAR	(1U << 4)	/* a BAR page can be mmapped */
#define UV_FI_XLAT	(1U << 5)	/* translated: fixed IOVAs, ranges */

/*
 * One call under test.  @setup and @cleanup bracket each attempt, @fill
 * sets the arguments before each call, @undo reverses a successful call,
 * and @verify checks, after a failed one, what the stats cannot show.
 * @errnos: what an injected fault may make the call return (uapi.rst:
 * EFAULT for any ioctl whose struct cannot be copied, and the resource
 * errors of each call).
 *
 * Two kernel paths must not fail under the sweep, because a failure
 * there is not reported to uvirtio but breaks the test machine:
 *
 * - genirq's register_irq_proc() ignores a /proc/irq/<n> entry it could
 *   not create, and unregister_irq_proc() WARNs when the descriptor is
 *   freed (a fresh one each MSI-X IRQ_ENABLE);
 * - DMA-API debug's add_dma_entry() turns DMA-API debug off for good when
 *   its cacheline tree cannot grow.
 *
 * @reject names that function: with the stack-trace filter
 * (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER), faults under it are
 * rejected.  Without the filter, pass 1 stops at @marker, a module
 * function armed with fail_function whose fault marks the spot, or after
 * UV_FI_MARKER_CAP faults should it be missed; the DMA cases still run
 * and may turn DMA-API debug off (the test says so).
 */
struct uv_fi_case {
	const char *name;
	unsigned int needs;
	int errnos[8];
	const char *reject;
	const char *marker;
	int (*setup)(struct uv_fi *fi);
	void (*fill)(struct uv_fi *fi);
	int (*call)(struct uv_fi *fi);
	void (*undo)(struct uv_fi *fi);
	int (*verify)(struct uv_fi *fi);
	int (*cleanup)(struct uv_fi *fi);
};

static int uv_fi_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

#define UV_FI_ARG(fi, member) ({					\
	memset(&(fi)->a, 0, sizeof((fi)->a));				\
	(fi)->a.member.size = sizeof((fi)->a.member);			\
	&(fi)->a.member;						\
})

static int uv_fi_msix(struct uv_fi *fi, unsigned int count)
{
	struct uvirtio_irq_enable en = {
		.size = sizeof(en), .type = UVIRTIO_IRQ_MSIX, .count = count,
	};

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_ENABLE, &en);
}

static int uv_fi_irq_off(struct uv_fi *fi)
{
	struct uvirtio_irq_disable dis = { .size = sizeof(dis) };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_DISABLE, &dis);
}

static int uv_fi_set_efd(struct uv_fi *fi, int efd)
{
	struct uvirtio_irq_set_eventfd se = { .size = sizeof(se), .fd = efd };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_SET_EVENTFD, &se);
}

static int uv_fi_dma_map(struct uv_fi *fi, uint64_t *handle)
{
	struct uvirtio_dma_map m = {
		.size = sizeof(m), .flags = UVIRTIO_DMA_BIDIRECTIONAL,
		.vaddr = (uintptr_t)fi->buf, .length = 8 * PAGE,
	};
	int ret = uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_MAP, &m);

	*handle = m.handle;
	return ret;
}

static int uv_fi_dma_unmap(struct uv_fi *fi, uint64_t handle)
{
	struct uvirtio_dma_unmap u = { .size = sizeof(u), .handle = handle };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_UNMAP, &u);
}

static int uv_fi_dma_alloc(struct uv_fi *fi, uint64_t *handle, off_t *off)
{
	struct uvirtio_dma_alloc a = { .size = sizeof(a), .length = 2 * PAGE };
	int ret = uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_ALLOC, &a);

	*handle = a.handle;
	*off = a.mmap_offset;
	return ret;
}

static int uv_fi_dma_free(struct uv_fi *fi, uint64_t handle)
{
	struct uvirtio_dma_free f = { .size = sizeof(f), .handle = handle };

	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_FREE, &f);
}

/* control fd */

static void fill_api_version(struct uv_fi *fi)
{
	UV_FI_ARG(fi, ver);
}

static int call_api_version(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->ctl, UVIRTIO_GET_API_VERSION, &fi->a);
}

static void fill_list(struct uv_fi *fi)
{
	struct uvirtio_list_devices *l = UV_FI_ARG(fi, list);

	l->count = ARRAY_SIZE(fi->entries);
	l->entry_size = sizeof(fi->entries[0]);
	l->entries = (uintptr_t)fi->entries;
}

static int call_list(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->ctl, UVIRTIO_LIST_DEVICES, &fi->a);
}

static int setup_open(struct uv_fi *fi)
{
	close(fi->self->fd);
	fi->self->fd = -1;
	return 0;
}

static void fill_open(struct uv_fi *fi)
{
	UV_FI_ARG(fi, open)->pci_addr = uv_pci_addr(fi->self->bdf);
}

static int call_open(struct uv_fi *fi)
{
	int ret = uv_fi_ioctl(fi->self->ctl, UVIRTIO_DEVICE_OPEN, &fi->a);

	fi->newfd = ret ? -1 : fi->a.open.fd;
	return ret;
}

static void undo_open(struct uv_fi *fi)
{
	close(fi->newfd);
}

static int cleanup_open(struct uv_fi *fi)
{
	fi->self->fd = uv_open_device(fi->self->bdf);
	return fi->self->fd < 0 ? -1 : 0;
}

/* device fd: information */

static void fill_info(struct uv_fi *fi)
{
	UV_FI_ARG(fi, info);
}

static int call_info(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DEVICE_GET_INFO, &fi->a);
}

static void fill_region(struct uv_fi *fi)
{
	UV_FI_ARG(fi, region)->index = UVIRTIO_REGION_CONFIG;
}

static int call_region(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_REGION_GET_INFO, &fi->a);
}

static int call_pread(struct uv_fi *fi)
{
	ssize_t n = pread(fi->self->fd, &fi->cfg, sizeof(fi->cfg),
			  UVIRTIO_REGION_OFFSET(UVIRTIO_REGION_CONFIG));

	return n == sizeof(fi->cfg) ? 0 : n < 0 ? -errno : -EIO;
}

static int call_mmap_bar(struct uv_fi *fi)
{
	fi->maplen = PAGE;
	fi->map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fi->self->fd, fi->baroff);
	return fi->map == MAP_FAILED ? -errno : 0;
}

static void undo_mmap(struct uv_fi *fi)
{
	munmap(fi->map, fi->maplen);
}

/* device fd: DMA */

static int setup_dma_map(struct uv_fi *fi)
{
	memset(fi->buf, 1, 8 * PAGE);	/* populated: no fault-in */
	return 0;
}

/* A fresh, unpopulated range: pinning faults every page in. */
static int setup_dma_map_fresh(struct uv_fi *fi)
{
	void *p = mmap(fi->buf, 8 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return p == fi->buf ? 0 : -1;
}

static void fill_dma_map(struct uv_fi *fi)
{
	struct uvirtio_dma_map *m = UV_FI_ARG(fi, dmap);

	m->flags = UVIRTIO_DMA_BIDIRECTIONAL;
	m->vaddr = (uintptr_t)fi->buf;
	m->length = 8 * PAGE;
	m->nr_segments = ARRAY_SIZE(fi->seg);
	m->segments = (uintptr_t)fi->seg;
}

/* The same at a caller-chosen IOVA, 1 GiB (usable on every IOMMU here) */
static void fill_dma_map_fixed(struct uv_fi *fi)
{
	fill_dma_map(fi);
	fi->a.dmap.flags |= UVIRTIO_DMA_FIXED_IOVA;
	fi->a.dmap.iova = 1ULL << 30;
}

static void fill_iova_ranges(struct uv_fi *fi)
{
	struct uvirtio_iova_ranges *r = UV_FI_ARG(fi, ranges);

	r->num_ranges = ARRAY_SIZE(fi->rng);
	r->ranges = (uintptr_t)fi->rng;
}

static int call_iova_ranges(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IOVA_RANGES, &fi->a);
}

static int call_dma_map(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_MAP, &fi->a);
}

static void undo_dma_map(struct uv_fi *fi)
{
	uv_fi_dma_unmap(fi, fi->a.dmap.handle);
}

static int setup_dma_unmap(struct uv_fi *fi)
{
	memset(fi->buf, 1, 8 * PAGE);
	return uv_fi_dma_map(fi, &fi->handle);
}

static void fill_dma_unmap(struct uv_fi *fi)
{
	UV_FI_ARG(fi, unmap)->handle = fi->handle;
}

static int call_dma_unmap(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_UNMAP, &fi->a);
}

static int cleanup_dma_unmap(struct uv_fi *fi)
{
	uv_fi_dma_unmap(fi, fi->handle);	/* ENOENT once unmapped */
	return 0;
}

static void fill_dma_alloc(struct uv_fi *fi)
{
	UV_FI_ARG(fi, alloc)->length = 2 * PAGE;
}

static int call_dma_alloc(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_ALLOC, &fi->a);
}

static void undo_dma_alloc(struct uv_fi *fi)
{
	uv_fi_dma_free(fi, fi->a.alloc.handle);
}

static int setup_dma_buf(struct uv_fi *fi)
{
	return uv_fi_dma_alloc(fi, &fi->handle, &fi->mapoff);
}

static void fill_dma_free(struct uv_fi *fi)
{
	UV_FI_ARG(fi, free)->handle = fi->handle;
}

static int call_dma_free(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DMA_FREE, &fi->a);
}

static int cleanup_dma_buf(struct uv_fi *fi)
{
	uv_fi_dma_free(fi, fi->handle);		/* ENOENT once freed */
	return 0;
}

static int call_mmap_dma(struct uv_fi *fi)
{
	fi->maplen = 2 * PAGE;
	fi->map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fi->self->fd, fi->mapoff);
	return fi->map == MAP_FAILED ? -errno : 0;
}

/* device fd: interrupts */

static void fill_msix(struct uv_fi *fi)
{
	struct uvirtio_irq_enable *en = UV_FI_ARG(fi, enable);

	en->type = UVIRTIO_IRQ_MSIX;
	/* two vectors, so a failure on the second must free the first */
	en->count = fi->self->info.num_msix < 2 ? 1 : 2;
}

static void fill_intx(struct uv_fi *fi)
{
	struct uvirtio_irq_enable *en = UV_FI_ARG(fi, enable);

	en->type = UVIRTIO_IRQ_INTX;
	en->count = 1;
}

static int call_irq_enable(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_ENABLE, &fi->a);
}

static void undo_irq_enable(struct uv_fi *fi)
{
	uv_fi_irq_off(fi);
}

static int setup_vector(struct uv_fi *fi)
{
	return uv_fi_msix(fi, 1);
}

static int cleanup_vector(struct uv_fi *fi)
{
	int ret = uv_fi_irq_off(fi);

	if (fi->efd >= 0)
		close(fi->efd);
	if (fi->efd2 >= 0)
		close(fi->efd2);
	fi->efd = -1;
	fi->efd2 = -1;
	return ret;
}

/* vector 0 signals efd; the call moves it to efd2 */
static int setup_set_eventfd(struct uv_fi *fi)
{
	fi->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fi->efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fi->efd < 0 || fi->efd2 < 0 || uv_fi_msix(fi, 1))
		return -1;
	return uv_fi_set_efd(fi, fi->efd);
}

static void fill_set_eventfd(struct uv_fi *fi)
{
	UV_FI_ARG(fi, seteventfd)->fd = fi->efd2;
}

static int call_set_eventfd(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_SET_EVENTFD, &fi->a);
}

/* A failed SET_EVENTFD keeps the old eventfd. */
static int verify_set_eventfd(struct uv_fi *fi)
{
	struct uvirtio_irq_trigger tr = { .size = sizeof(tr) };

	if (uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_TRIGGER, &tr))
		return -1;
	return uv_eventfd_count(fi->efd) == 1 &&
	       uv_eventfd_count(fi->efd2) == 0 ? 0 : -1;
}

static void fill_affinity(struct uv_fi *fi)
{
	UV_FI_ARG(fi, affinity)->cpu = 0;
}

static int call_affinity(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_SET_AFFINITY, &fi->a);
}

static void fill_mask(struct uv_fi *fi)
{
	UV_FI_ARG(fi, mask);
}

static int call_mask(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_MASK, &fi->a);
}

static void undo_mask(struct uv_fi *fi)
{
	struct uvirtio_irq_mask mk = {
		.size = sizeof(mk), .flags = UVIRTIO_IRQ_MASK_UNMASK,
	};

	uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_MASK, &mk);
}

static int setup_trigger(struct uv_fi *fi)
{
	fi->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fi->efd < 0 || uv_fi_msix(fi, 1))
		return -1;
	return uv_fi_set_efd(fi, fi->efd);
}

static void fill_trigger(struct uv_fi *fi)
{
	UV_FI_ARG(fi, trigger);
}

static int call_trigger(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_TRIGGER, &fi->a);
}

static void undo_trigger(struct uv_fi *fi)
{
	uv_eventfd_count(fi->efd);
}

static void fill_irq_disable(struct uv_fi *fi)
{
	UV_FI_ARG(fi, disable);
}

static int call_irq_disable(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_IRQ_DISABLE, &fi->a);
}

/* device fd: reset and removal */

static void fill_reset(struct uv_fi *fi)
{
	UV_FI_ARG(fi, reset);
}

static void fill_flr(struct uv_fi *fi)
{
	UV_FI_ARG(fi, reset)->flags = UVIRTIO_RESET_FLR;
}

static int call_reset(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_DEVICE_RESET, &fi->a);
}

static int setup_remove_eventfd(struct uv_fi *fi)
{
	fi->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return fi->efd < 0 ? -1 : 0;
}

static void fill_remove_eventfd(struct uv_fi *fi)
{
	UV_FI_ARG(fi, remove)->fd = fi->efd;
}

static int call_remove_eventfd(struct uv_fi *fi)
{
	return uv_fi_ioctl(fi->self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &fi->a);
}

static int cleanup_remove_eventfd(struct uv_fi *fi)
{
	struct uvirtio_set_remove_eventfd re = { .size = sizeof(re), .fd = -1 };
	int ret = uv_fi_ioctl(fi->self->fd, UVIRTIO_SET_REMOVE_EVENTFD, &re);

	close(fi->efd);
	fi->efd = -1;
	return ret;
}

static const struct uv_fi_case uv_fi_cases[] = {
	{
		.name = "GET_API_VERSION",
		.errnos = { EFAULT },
		.fill = fill_api_version,
		.call = call_api_version,
	},
	{
		.name = "LIST_DEVICES",
		.errnos = { EFAULT, ENOMEM },
		.fill = fill_list,
		.call = call_list,
	},
	{
		.name = "DEVICE_OPEN",
		.errnos = { EFAULT, ENOMEM, EMFILE, ENFILE, ETIMEDOUT, EBUSY },
		.setup = setup_open,
		.fill = fill_open,
		.call = call_open,
		.undo = undo_open,
		.cleanup = cleanup_open,
	},
	{
		.name = "DEVICE_GET_INFO",
		.errnos = { EFAULT },
		.fill = fill_info,
		.call = call_info,
	},
	{
		.name = "REGION_GET_INFO",
		.errnos = { EFAULT },
		.fill = fill_region,
		.call = call_region,
	},
	{
		.name = "pread(config)",
		.errnos = { EFAULT },
		.call = call_pread,
	},
	{
		.name = "mmap(BAR)",
		.needs = UV_FI_BAR,
		.errnos = { ENOMEM },
		.call = call_mmap_bar,
		.undo = undo_mmap,
	},
	{
		.name = "DMA_MAP",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT, ENOMEM },
		.reject = "add_dma_entry",
		.setup = setup_dma_map,
		.fill = fill_dma_map,
		.call = call_dma_map,
		.undo = undo_dma_map,
	},
	{
		.name = "DMA_MAP(fixed IOVA)",
		.needs = UV_FI_XLAT,
		.errnos = { EFAULT, ENOMEM },
		.setup = setup_dma_map,
		.fill = fill_dma_map_fixed,
		.call = call_dma_map,
		.undo = undo_dma_map,
	},
	{
		.name = "IOVA_RANGES",
		.needs = UV_FI_XLAT,
		.errnos = { EFAULT, ENOMEM },
		.fill = fill_iova_ranges,
		.call = call_iova_ranges,
	},
	{
		.name = "DMA_MAP(fault-in)",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT, ENOMEM },
		.reject = "add_dma_entry",
		.setup = setup_dma_map_fresh,
		.fill = fill_dma_map,
		.call = call_dma_map,
		.undo = undo_dma_map,
	},
	{
		.name = "DMA_UNMAP",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT },
		.setup = setup_dma_unmap,
		.fill = fill_dma_unmap,
		.call = call_dma_unmap,
		.cleanup = cleanup_dma_unmap,
	},
	{
		.name = "DMA_ALLOC",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT, ENOMEM },
		.reject = "add_dma_entry",
		.fill = fill_dma_alloc,
		.call = call_dma_alloc,
		.undo = undo_dma_alloc,
	},
	{
		.name = "DMA_FREE",
		.needs = UV_FI_DMA,
		.errnos = { EFAULT },
		.setup = setup_dma_buf,
		.fill = fill_dma_free,
		.call = call_dma_free,
		.cleanup = cleanup_dma_buf,
	},
	{
		.name = "mmap(DMA buffer)",
		.needs = UV_FI_DMA,
		.errnos = { ENOMEM },
		.setup = setup_dma_buf,
		.call = call_mmap_dma,
		.undo = undo_mmap,
		.cleanup = cleanup_dma_buf,
	},
	{
		.name = "IRQ_ENABLE(MSI-X)",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT, ENOMEM, ENOSPC },
		.reject = "register_irq_proc",
		.marker = "uvirtio_irq_alloc_vectors",
		.fill = fill_msix,
		.call = call_irq_enable,
		.undo = undo_irq_enable,
	},
	{
		.name = "IRQ_ENABLE(INTx)",
		.needs = UV_FI_INTX,
		.errnos = { EFAULT, ENOMEM, ENOSPC },
		.reject = "register_irq_proc",
		.fill = fill_intx,
		.call = call_irq_enable,
		.undo = undo_irq_enable,
	},
	{
		.name = "IRQ_SET_EVENTFD",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT, EBADF },
		.setup = setup_set_eventfd,
		.fill = fill_set_eventfd,
		.call = call_set_eventfd,
		.verify = verify_set_eventfd,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_SET_AFFINITY",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT, ENOMEM, ENOSPC },
		.setup = setup_vector,
		.fill = fill_affinity,
		.call = call_affinity,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_MASK",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT },
		.setup = setup_vector,
		.fill = fill_mask,
		.call = call_mask,
		.undo = undo_mask,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_TRIGGER",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT },
		.setup = setup_trigger,
		.fill = fill_trigger,
		.call = call_trigger,
		.undo = undo_trigger,
		.cleanup = cleanup_vector,
	},
	{
		.name = "IRQ_DISABLE",
		.needs = UV_FI_MSIX,
		.errnos = { EFAULT },
		.setup = setup_vector,
		.fill = fill_irq_disable,
		.call = call_irq_disable,
		.cleanup = cleanup_vector,
	},
	{
		.name = "DEVICE_RESET",
		.errnos = { EFAULT, ETIMEDOUT },
		.fill = fill_reset,
		.call = call_reset,
	},
	{
		.name = "DEVICE_RESET(FLR)",
		.needs = UV_FI_FLR,
		.errnos = { EFAULT, EAGAIN, ETIMEDOUT },
		.fill = fill_flr,
		.call = call_reset,
	},
	{
		.name = "SET_REMOVE_EVENTFD",
		.errnos = { EFAULT, EBADF },
		.setup = setup_remove_eventfd,
		.fill = fill_remove_eventfd,
		.call = call_remove_eventfd,
		.cleanup = cleanup_remove_eventfd,
	},
};

/* Faults injected into one case, and how they ended */
struct uv_fi_tally {
	unsigned int faults;		/* counted faults */
	unsigned int clean;		/* counted, errno allowed, device usable */
	unsigned int absorbed;		/* counted, and the call succeeded */
	unsigned int by_attr[UV_FI_NR];	/* every fault, by attribute */
};

static bool uv_fi_errno_ok(const struct uv_fi_case *c, int err)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c->errnos) && c->errnos[i]; i++)
		if (c->errnos[i] == err)
			return true;
	return false;
}

/* Pages pinned and unpinned so far, from one refresh of /proc/vmstat */
static void uv_fi_pins(long *acq, long *rel)
{
	char line[256];
	FILE *f;

	*acq = -1;
	*rel = -2;
	uv_write_file("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "nr_foll_pin_acquired ", 21))
			*acq = atol(line + 21);
		else if (!strncmp(line, "nr_foll_pin_released ", 21))
			*rel = atol(line + 21);
	}
	fclose(f);
}

/* After a case's clean-up: nothing held, every pin released */
static bool uv_fi_idle(struct __test_metadata *_metadata, struct uv_fi *fi,
		       const char *what)
{
	struct uv_fi_stats s;
	long acq, rel;

	if (uv_fi_stats(fi->self->bdf, &s)) {
		TH_LOG("%s: no uvirtio stats for %s", what, fi->self->bdf);
		return false;
	}
	uv_fi_pins(&acq, &rel);
	if (s.owner != getpid() || s.pinned || s.mappings || s.bufs ||
	    s.bytes || s.irq_type || acq != rel) {
		TH_LOG("%s: left behind: owner %ld pinned %ld mappings %ld buffers %ld bytes %ld irq_type %ld pins %ld/%ld",
		       what, s.owner, s.pinned, s.mappings, s.bufs, s.bytes,
		       s.irq_type, acq, rel);
		return false;
	}
	return true;
}

/* How many fault points @c's call goes through now (0 on an error) */
static unsigned int uv_fi_count(struct uv_fi *fi, int nth,
				const struct uv_fi_case *c)
{
	const unsigned int big = 1000000;
	long left;
	int ret;

	if (c->setup && c->setup(fi))
		return 0;
	if (c->fill)
		c->fill(fi);
	if (uv_fi_nth_set(nth, big))
		return 0;
	ret = c->call(fi);
	left = uv_fi_nth_get(nth);	/* before this read's own point */
	uv_fi_nth_set(nth, 0);
	if (!ret && c->undo)
		c->undo(fi);
	if (c->cleanup)
		c->cleanup(fi);
	return left > 0 && left <= big ? big - left : 0;
}

/*
 * Sweep @c: fail its first, second, ... fault point until a call reaches
 * none, or a fault of @stop_attr fired (not counted; -1: none).
 * @count_attr: count only faults of this attribute in @t->faults and
 * @t->clean (-1: all).  Returns false if a fault was not clean.
 */
static bool uv_fi_sweep(struct __test_metadata *_metadata, struct uv_fi *fi,
			int nth, const struct uv_fi_case *c, const char *pass,
			int count_attr, int stop_attr, struct uv_fi_tally *t)
{
	unsigned int n, max = stop_attr < 0 ? UV_FI_MAX_NTH : UV_FI_MARKER_CAP;
	struct uv_fi_stats before, after;
	long t0[UV_FI_NR], t1[UV_FI_NR];
	unsigned int misses = 0;
	char what[128];
	bool ok = true;

	for (n = 1; n <= max; n++) {
		int ret, attr = -1, i;
		bool fired, stop, counted;

		snprintf(what, sizeof(what), "%s %s fail-nth %u", pass, c->name,
			 n);
		if (c->setup && c->setup(fi)) {
			TH_LOG("%s: setup failed: %s", what, strerror(errno));
			return false;
		}
		if (uv_fi_stats(fi->self->bdf, &before)) {
			TH_LOG("%s: no uvirtio stats", what);
			return false;
		}
		if (c->fill)
			c->fill(fi);
		uv_fi_times(t0);
		if (uv_fi_nth_set(nth, n)) {
			TH_LOG("%s: cannot set fail-nth", what);
			return false;
		}
		ret = c->call(fi);
		fired = uv_fi_nth_fired(nth);
		uv_fi_times(t1);
		if (uv_fi_nth_get(nth) != 0) {
			TH_LOG("%s: fail-nth not back at 0", what);
			uv_fi_nth_set(nth, 0);
			ok = false;
		}
		for (i = 0; i < UV_FI_NR; i++)
			if (t1[i] != t0[i])
				attr = i;
		stop = fired && stop_attr >= 0 && attr == stop_attr;
		if (fired && attr >= 0 && !stop)
			t->by_attr[attr]++;
		counted = fired && !stop &&
			  (count_attr < 0 || attr == count_attr);
		t->faults += counted;

		if (!ret) {
			t->absorbed += counted;
			if (c->undo)
				c->undo(fi);
		} else {
			if (!fired) {
				TH_LOG("%s: failed without a fault: %s", what,
				       strerror(-ret));
				ok = false;
			} else if (!uv_fi_errno_ok(c, -ret)) {
				TH_LOG("%s: %s fault gave errno %d (%s), not documented for the call",
				       what, attr >= 0 ? uv_fi_attrs[attr] : "?",
				       -ret, strerror(-ret));
				ok = false;
			}
			if (uv_fi_stats(fi->self->bdf, &after) ||
			    memcmp(&before, &after, sizeof(before))) {
				TH_LOG("%s: the failed call changed the device: mappings %ld->%ld buffers %ld->%ld pinned %ld->%ld irq_type %ld->%ld owner %ld->%ld",
				       what, before.mappings, after.mappings,
				       before.bufs, after.bufs, before.pinned,
				       after.pinned, before.irq_type,
				       after.irq_type, before.owner,
				       after.owner);
				ok = false;
			}
			if (c->verify && c->verify(fi)) {
				TH_LOG("%s: state changed by the failed call",
				       what);
				ok = false;
			}
			/* still usable: the same call works */
			if (c->fill)
				c->fill(fi);
			ret = c->call(fi);
			if (ret) {
				TH_LOG("%s: fails again without a fault: %s",
				       what, strerror(-ret));
				ok = false;
			} else if (c->undo) {
				c->undo(fi);
			}
		}
		if (c->cleanup && c->cleanup(fi)) {
			TH_LOG("%s: clean-up failed: %s", what, strerror(errno));
			return false;
		}
		if (!uv_fi_idle(_metadata, fi, what))
			ok = false;
		if (!ok)
			return false;
		t->clean += counted;
		if (stop)
			return true;
		/*
		 * Points that may or may not be there (slab refills, IOVA
		 * magazines, debug pools) make the count vary a little: it
		 * is the end only if the call now has fewer than n points.
		 */
		if (!fired) {
			if (misses++ == 3 || uv_fi_count(fi, nth, c) < n)
				return true;
			n--;
		}
	}
	if (stop_attr >= 0) {
		TH_LOG("%s: marker not reached in %u faults: stopped", c->name,
		       max);
		return true;
	}
	TH_LOG("%s: still faulting after %u points", c->name, max);
	return false;
}

/* Which cases this device and IOMMU mode allow */
static unsigned int uv_fi_have(struct __test_metadata *_metadata,
			       struct _test_data_dev *self, struct uv_fi *fi)
{
	const struct uvirtio_virtio_cap *cc =
		&self->info.caps[UVIRTIO_VCAP_COMMON];
	struct uvirtio_region_info r;
	unsigned int have = 0;
	uint64_t off;

	if (uv_dma_ok(_metadata, self))
		have |= UV_FI_DMA;
	if (self->info.iommu_mode == UVIRTIO_IOMMU_TRANSLATED)
		have |= UV_FI_XLAT;
	if (self->info.num_msix)
		have |= UV_FI_MSIX;
	if (self->info.flags & UVIRTIO_DEVICE_INFO_INTX)
		have |= UV_FI_INTX;
	if (self->info.flags & UVIRTIO_DEVICE_INFO_FLR)
		have |= UV_FI_FLR;
	/* the page of the common configuration, outside the MSI-X range */
	if (cc->present && !uv_region(self->fd, cc->bar, &r) &&
	    (r.flags & UVIRTIO_REGION_INFO_MMAP)) {
		off = cc->offset & ~(PAGE - 1);
		if (off + PAGE <= r.region_size &&
		    (off >= r.msix_end || off + PAGE <= r.msix_start)) {
			fi->baroff = r.offset + off;
			have |= UV_FI_BAR;
		}
	}
	return have;
}

/* Kernel functions whose faults the stack-trace filter rejects */
static struct uv_fi_range {
	const char *sym;
	unsigned long long start, end;	/* [address, next symbol) */
} uv_fi_ranges[] = {
	{ .sym = "register_irq_proc" },
	{ .sym = "add_dma_entry" },
};

/* Find every uv_fi_ranges[] symbol; false if the filter cannot be used */
static bool uv_fi_find_ranges(void)
{
	char line[512], sym[256], type;
	unsigned long long a;
	unsigned int i;
	bool ok = true;
	FILE *f;

	if (access(UV_DBG "failslab/reject-start", F_OK) ||
	    access(UV_DBG "fail_page_alloc/reject-start", F_OK))
		return false;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
		uv_fi_ranges[i].end = ~0ULL;
	/* the start of each symbol, then the closest address above it */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) != 3)
			continue;
		for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
			if (!strcmp(sym, uv_fi_ranges[i].sym))
				uv_fi_ranges[i].start = a;
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) != 3)
			continue;
		for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
			if (a > uv_fi_ranges[i].start && a < uv_fi_ranges[i].end)
				uv_fi_ranges[i].end = a;
	}
	fclose(f);
	for (i = 0; i < ARRAY_SIZE(uv_fi_ranges); i++)
		ok &= uv_fi_ranges[i].start && uv_fi_ranges[i].end != ~0ULL;
	return ok;
}

/* Reject slab and page faults under @sym (NULL: none) */
static int uv_fi_reject(const char *sym)
{
	unsigned long long start = 0, end = 0;
	char val[32];
	unsigned int i;
	int attr;

	for (i = 0; sym && i < ARRAY_SIZE(uv_fi_ranges); i++) {
		if (!strcmp(sym, uv_fi_ranges[i].sym)) {
			start = uv_fi_ranges[i].start;
			end = uv_fi_ranges[i].end;
		}
	}
	if (sym && !start)
		return -1;
	for (attr = UV_FI_SLAB; attr <= UV_FI_PAGE; attr++) {
		snprintf(val, sizeof(val), "%#llx", start);
		if (uv_fi_set_attr(attr, "reject-start", val))
			return -1;
		snprintf(val, sizeof(val), "%#llx", end);
		if (uv_fi_set_attr(attr, "reject-end", val))
			return -1;
	}
	return 0;
}

/*
 * One pass over every case; adds to @total.  @count_attr as for
 * uv_fi_sweep().  @filter: the stack-trace filter rejects each case's
 * @reject; else stop at @marker if @use_marker.  Returns false on a
 * failure.
 */
static bool uv_fi_pass(struct __test_metadata *_metadata, struct uv_fi *fi,
		       int nth, unsigned int have, const char *pass,
		       int count_attr, bool filter, bool use_marker,
		       struct uv_fi_tally *total, struct uv_fi_tally *per_case)
{
	bool all_ok = true;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(uv_fi_cases); i++) {
		const struct uv_fi_case *c = &uv_fi_cases[i];
		bool marked = !filter && use_marker && c->marker;
		struct uv_fi_tally t = {};
		bool ok;

		if ((c->needs & have) != c->needs)
			continue;
		if (filter && uv_fi_reject(c->reject)) {
			TH_LOG("%s: cannot reject faults under %s", c->name,
			       c->reject);
			all_ok = false;
			continue;
		}
		if (marked && uv_fi_arm(c->marker, ENOMEM)) {
			TH_LOG("%s: cannot arm %s", c->name, c->marker);
			all_ok = false;
			continue;
		}
		ok = uv_fi_sweep(_metadata, fi, nth, c, pass, count_attr,
				 marked ? UV_FI_FUNC : -1, &t);
		if (marked)
			uv_fi_disarm(c->marker);
		all_ok &= ok;
		if (count_attr < 0 || t.faults)
			TH_LOG("%s %s: %u faults (slab %u, page %u, usercopy %u, function %u), %u clean, %u absorbed%s%s%s",
			       pass, c->name, t.faults, t.by_attr[UV_FI_SLAB],
			       t.by_attr[UV_FI_PAGE], t.by_attr[UV_FI_USERCOPY],
			       t.by_attr[UV_FI_FUNC], t.clean, t.absorbed,
			       marked ? "; stopped at " : "",
			       marked ? c->marker : "", ok ? "" : "; FAILED");
		total->faults += t.faults;
		total->clean += t.clean;
		total->absorbed += t.absorbed;
		for (j = 0; j < UV_FI_NR; j++)
			total->by_attr[j] += t.by_attr[j];
		if (per_case)
			per_case[i].faults += t.faults;
		if (fi->self->fd < 0)
			break;	/* DEVICE_OPEN left no device fd to go on with */
	}
	return all_ok;
}


/*
 * Without the stack-trace filter the sweep may turn DMA-API debug off:
 * scripts/guest/run-tests runs this program after the other selftests.
 */
TEST_F_TIMEOUT(dev, fail_nth_sweep, 500)
{
	char funcs[16][64], path[64], fired_names[1024];
	struct uv_fi_tally total = {}, pass2 = {};
	struct uv_fi_tally per_case[ARRAY_SIZE(uv_fi_cases)];
	unsigned int i, nfuncs, nfired = 0, have, swept = 0;
	struct uv_fi fi = {
		.self = self, .efd = -1, .efd2 = -1, .newfd = -1,
	};
	static const char * const need[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
		"fail_function/inject", "error_injection/list",
		"kprobes/list",
	};
	time_t t_start, t_pass1;
	int nth, ftrace;
	char dma_debug;
	bool filter;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	if (access(path, F_OK))
		SKIP(return, "no %s: needs CONFIG_FAULT_INJECTION_DEBUG_FS", path);
	for (i = 0; i < ARRAY_SIZE(need); i++) {
		char p[128];

		snprintf(p, sizeof(p), UV_DBG "%s", need[i]);
		if (access(p, F_OK))
			SKIP(return, "no %s: needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_USERCOPY, CONFIG_FAIL_FUNCTION and CONFIG_KPROBES",
			     p);
	}
	nfuncs = uv_fi_functions(funcs, ARRAY_SIZE(funcs));
	if (!nfuncs)
		SKIP(return, "uvirtio has no function in " UV_DBG "error_injection/list (CONFIG_FUNCTION_ERROR_INJECTION)");
	for (i = 0; i < nfuncs; i++)	/* left by an aborted run */
		uv_fi_disarm(funcs[i]);
	/* fail-nth counts fail_function only from an ftrace kprobe */
	ASSERT_EQ(0, uv_fi_arm(funcs[0], ENOMEM)) TH_LOG("arm %s", funcs[0]);
	ftrace = uv_fi_kprobe_ftrace(funcs[0]);
	uv_fi_disarm(funcs[0]);
	if (ftrace != 1)
		SKIP(return, "the kprobe on %s is %s: fail-nth cannot count fail_function (needs CONFIG_KPROBES_ON_FTRACE and CONFIG_DYNAMIC_FTRACE)",
		     funcs[0], ftrace ? "missing" : "an int3 one");

	fi.buf = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fi.buf);
	have = uv_fi_have(_metadata, self, &fi);
	memset(per_case, 0, sizeof(per_case));

	/*
	 * Quiet, counted, and only through fail-nth: probability 0 for the
	 * generic points; fail_function at probability 100 but with the task
	 * filter, and no task has make-it-fail.
	 */
	for (i = 0; i < UV_FI_NR; i++) {
		ASSERT_EQ(0, uv_fi_set_attr(i, "verbose", "0"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "times", UV_FI_TIMES));
		ASSERT_EQ(0, uv_fi_set_attr(i, "interval", "1"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "space", "0"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "task-filter",
					    i == UV_FI_FUNC ? "Y" : "N"));
		ASSERT_EQ(0, uv_fi_set_attr(i, "probability",
					    i == UV_FI_FUNC ? "100" : "0"));
	}
	ASSERT_EQ(0, uv_fi_set("failslab/ignore-gfp-wait", "N"));
	ASSERT_EQ(0, uv_fi_set("failslab/cache-filter", "N"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/ignore-gfp-wait", "N"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/ignore-gfp-highmem", "N"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/min-order", "0"));
	filter = uv_fi_find_ranges();
	if (!filter)
		TH_LOG("no stack-trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER): IRQ_ENABLE(MSI-X) is swept only up to the IRQ core, and the DMA cases may turn DMA-API debug off");
	dma_debug = uv_dma_debug_off();
	nth = open(path, O_RDWR);
	ASSERT_LE(0, nth);

	/* A dry run: every case works, and its code and data are paged in. */
	for (i = 0; i < ARRAY_SIZE(uv_fi_cases); i++) {
		const struct uv_fi_case *c = &uv_fi_cases[i];
		int ret;

		if ((c->needs & have) != c->needs)
			continue;
		ASSERT_EQ(0, c->setup ? c->setup(&fi) : 0) TH_LOG("%s", c->name);
		if (c->fill)
			c->fill(&fi);
		ret = c->call(&fi);
		if (ret == -EOPNOTSUPP && (c->needs & UV_FI_INTX)) {
			TH_LOG("%s: not supported (no INTx masking): skipped",
			       c->name);
			have &= ~UV_FI_INTX;
		} else {
			EXPECT_EQ(0, ret) TH_LOG("%s: %s", c->name,
						 strerror(-ret));
			if (!ret && c->undo)
				c->undo(&fi);
		}
		ASSERT_EQ(0, c->cleanup ? c->cleanup(&fi) : 0)
			TH_LOG("%s", c->name);
		ASSERT_TRUE(uv_fi_idle(_metadata, &fi, c->name));
	}
	for (i = 0; i < ARRAY_SIZE(uv_fi_cases); i++)
		swept += (uv_fi_cases[i].needs & have) == uv_fi_cases[i].needs;
	if (!(have & UV_FI_DMA))
		TH_LOG("no DMA (no translating IOMMU): DMA cases skipped");

	/* pass 1: every allocation and user copy */
	t_start = time(NULL);
	EXPECT_TRUE(uv_fi_pass(_metadata, &fi, nth, have, "generic", -1,
			       filter, true, &total, NULL));
	if (dma_debug == 'N' && uv_dma_debug_off() == 'Y')
		TH_LOG("the sweep turned DMA-API debug off (cacheline tracking ENOMEM): later tests run without it");
	ASSERT_LE(0, self->fd);

	/* pass 2: the module's own points, one function at a time */
	t_pass1 = time(NULL);
	ASSERT_EQ(0, uv_fi_set("failslab/cache-filter", "Y"));
	ASSERT_EQ(0, uv_fi_set("fail_page_alloc/min-order", "99"));
	fired_names[0] = 0;
	for (i = 0; i < nfuncs; i++) {
		struct uv_fi_tally t = {};
		char pass[96], where[512] = "";
		int err = uv_fi_retval(funcs[i]);
		unsigned int j;
		bool ok;

		snprintf(pass, sizeof(pass), "%s=-%d", funcs[i], err);
		memset(per_case, 0, sizeof(per_case));
		uv_fi_disarm(funcs[i]);
		ASSERT_EQ(0, uv_fi_arm(funcs[i], err)) TH_LOG("arm %s", funcs[i]);
		ok = uv_fi_pass(_metadata, &fi, nth, have, pass, UV_FI_FUNC,
				false, false, &t, per_case);
		uv_fi_disarm(funcs[i]);
		EXPECT_TRUE(ok);
		for (j = 0; j < ARRAY_SIZE(uv_fi_cases); j++) {
			size_t len = strlen(where);

			if (per_case[j].faults)
				snprintf(where + len, sizeof(where) - len,
					 " %s:%u", uv_fi_cases[j].name,
					 per_case[j].faults);
		}
		TH_LOG("fail_function %s: %u faults, %u clean:%s", pass,
		       t.faults, t.clean, t.faults ? where : " never reached");
		if (t.faults) {
			size_t len = strlen(fired_names);

			nfired++;
			snprintf(fired_names + len, sizeof(fired_names) - len,
				 " %s", funcs[i]);
		}
		pass2.faults += t.faults;
		pass2.clean += t.clean;
		pass2.absorbed += t.absorbed;
		if (!ok && self->fd < 0)
			break;
	}
	close(nth);
	uv_fi_cleanup();
	munmap(fi.buf, 8 * PAGE);

	ksft_print_msg("fail_nth: generic points: %u faults, %u clean, %u absorbed (slab %u, page %u, usercopy %u) in %ld s\n",
		       total.faults, total.clean, total.absorbed,
		       total.by_attr[UV_FI_SLAB], total.by_attr[UV_FI_PAGE],
		       total.by_attr[UV_FI_USERCOPY],
		       (long)(t_pass1 - t_start));
	ksft_print_msg("fail_nth: fail_function: %u of %u uvirtio functions fired,%s; %u faults, %u clean, %u absorbed in %ld s\n",
		       nfired, nfuncs, nfired ? fired_names : " none",
		       pass2.faults, pass2.clean, pass2.absorbed,
		       (long)(time(NULL) - t_pass1));
	ksft_print_msg("UVIRTIO-SUMMARY fail_nth ioctls=%u points=%u clean=%u\n",
		       swept, total.faults + pass2.faults,
		       total.clean + pass2.clean);
	EXPECT_EQ(total.faults + pass2.faults, total.clean + pass2.clean);
	EXPECT_NE(0, pass2.faults);
}


TEST_HARNESS_MAIN
