/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uvirtio: internal definitions shared by the module's source files.
 * The locking rules for struct uvirtio_device are documented at the top
 * of device.c, which owns the structure.
 */
#ifndef _UVIRTIO_INTERNAL_H
#define _UVIRTIO_INTERNAL_H

#include <linux/bits.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/uvirtio.h>

/*
 * Error-injection points: the functions marked ALLOW_ERROR_INJECTION()
 * (uvirtio_pin_pages, uvirtio_iommu_map_pages, uvirtio_iommu_attach,
 * uvirtio_buf_alloc_pages, uvirtio_irq_alloc_vectors, uvirtio_irq_request,
 * uvirtio_eventfd_get, uvirtio_virtio_reset, uvirtio_function_reset) are
 * noinline so that fail_function can make them fail where no allocation
 * failure reaches; the selftests' fail-nth sweep arms each in turn.
 */

#define UVIRTIO_NUM_BARS	6
/* The offset-in-region part of a device fd file offset */
#define UVIRTIO_OFFSET_MASK	(UVIRTIO_REGION_OFFSET(1) - 1)
/* Highest number of UVIRTIO_DMA_ALLOC buffers one device can hold */
#define UVIRTIO_MAX_DMA_BUFS	BIT(20)
/* Longest single UVIRTIO_DMA_MAP, in pages */
#define UVIRTIO_MAX_MAP_PAGES	((u64)INT_MAX)

struct dentry;
struct eventfd_ctx;
struct platform_device;
struct iommu_domain;
struct iommu_group;
struct user_struct;

/**
 * struct uvirtio_iova_node - an IOVA run in use, in uvirtio_device.iova_tree
 * @rb: tree linkage
 * @start: first IOVA
 * @last: last IOVA (inclusive)
 * @subtree_last: interval tree bookkeeping
 */
struct uvirtio_iova_node {
	struct rb_node rb;
	u64 start;
	u64 last;
	u64 subtree_last;
};

/**
 * struct uvirtio_vector - one interrupt vector handed to user space
 * @lock: protects @trigger, @count and @masked against the IRQ handler
 * @trigger: eventfd signalled on each interrupt, or NULL
 * @count: interrupts seen (including those dropped for lack of @trigger)
 * @masked: the vector is masked (MSI-X: disable_irq; INTx: DisINTx)
 * @latched: an interrupt arrived while @trigger was NULL
 * @holding: the device is (or was) kept alive since the vector lost its
 *	eventfd: the next eventfd set is signalled once if @latched
 * @irq: Linux IRQ number
 * @requested: request_irq() succeeded and free_irq() is owed
 * @name: IRQ name shown in /proc/interrupts
 * @udev: owning device
 */
struct uvirtio_vector {
	spinlock_t lock;	/* see @lock above */
	struct eventfd_ctx *trigger;
	u64 count;
	bool masked;
	bool latched;
	bool holding;
	unsigned int irq;
	bool requested;
	char *name;
	struct uvirtio_device *udev;
};

/**
 * struct uvirtio_dma_mapping - one UVIRTIO_DMA_MAP mapping of user pages
 * @node: entry in uvirtio_device.maps
 * @iova: its IOVA run (translated devices; @iova.start is the IOVA)
 * @handle: user-visible handle
 * @vaddr: first user address
 * @length: length in bytes
 * @npages: number of pinned pages
 * @pages: the pinned pages
 * @prot: IOMMU_READ and/or IOMMU_WRITE: what the device may do
 * @user: user charged for RLIMIT_MEMLOCK, or NULL (CAP_IPC_LOCK)
 */
struct uvirtio_dma_mapping {
	struct list_head node;
	struct uvirtio_iova_node iova;
	u64 handle;
	u64 vaddr;
	u64 length;
	unsigned long npages;
	struct page **pages;
	int prot;
	struct user_struct *user;
};

/**
 * struct uvirtio_dma_buf - one UVIRTIO_DMA_ALLOC buffer
 * @kref: one reference for the handle, one per user mapping
 * @udev: device the memory was allocated for (holds a reference)
 * @id: index in uvirtio_device.bufs; mmap region UVIRTIO_REGION_DMA_BASE+id
 * @npages: size in pages
 * @pages: the pages (fixed for the buffer's life)
 * @exact: for UNSAFE devices, the physically contiguous block
 *	(alloc_pages_exact()), else NULL and @pages were allocated one by one
 * @iova: its IOVA run (translated devices), the device address in
 *	@iova.start; in the tree only while the handle lives
 * @mapped: @iova is mapped in the device's domain
 * @user: user charged for RLIMIT_MEMLOCK, or NULL (CAP_IPC_LOCK)
 */
struct uvirtio_dma_buf {
	struct kref kref;
	struct uvirtio_device *udev;
	u32 id;
	unsigned long npages;
	struct page **pages;
	void *exact;
	struct uvirtio_iova_node iova;
	bool mapped;
	struct user_struct *user;
};

/**
 * struct uvirtio_device - a PCI function or virtio-mmio device bound to
 *	uvirtio
 * @kref: references: the driver binding, each open device fd, each
 *        coherent buffer
 * @pdev: the PCI function (we hold a reference with pci_dev_get()), or
 *	NULL for a virtio-mmio device
 * @plat: the virtio-mmio platform device (we hold a reference with
 *	get_device()), or NULL for a PCI function
 * @dev: &@pdev->dev or &@plat->dev, for logging and the DMA mask
 * @transport: enum uvirtio_device_transport, fixed at probe
 * @mmio_version: virtio-mmio Version register (1 or 2), 0 for PCI
 * @mmio_irq: Linux IRQ of a virtio-mmio device, 0 if it has none
 * @node: entry in the global device list (uvirtio_devices_lock)
 * @lock: the device mutex, see the locking comment in device.c
 * @revoke_sem: orders BAR page faults against revocation
 * @dead: the function was removed; set under @lock and @revoke_sem
 * @owner: the open device fd, or NULL
 * @owner_pid: thread group of the process that opened @owner
 * @wq: poll() waiters
 * @inode: private inode whose address_space holds every mmap of the
 *         device fd, so BAR mappings can be revoked
 * @remove_trigger: eventfd signalled by remove(), or NULL
 * @gone_page: page of all-ones that backs BAR mappings after removal
 *	when no scratch page can be had
 * @scratch_pages: the scratch pages that back BAR mappings after removal
 * @scratch_lock: protects @scratch_pages (faults run side by side)
 * @live_bufs: buffers whose memory is still allocated, with or without
 *	a handle (DMA_FREE while mmapped keeps the memory): they count
 *	against max_mappings until their last mapping goes
 * @debugfs: debugfs directory
 * @pci_addr: UVIRTIO_PCI_ADDR() of @pdev (0 for virtio-mmio)
 * @virtio_id: virtio device type
 * @vcaps: virtio capabilities decoded at probe
 * @legacy: the function has a legacy virtio I/O BAR0
 * @has_flr: the function supports FLR
 * @bar_map: iomap cookies of implemented BARs (virtio-mmio: [0] is the
 *	register window)
 * @bar_len: BAR lengths (0 = not implemented)
 * @bar_flags: BAR resource flags
 * @msix_start: start of the page-aligned MSI-X range inside each BAR
 * @msix_end: end of that range, equal to @msix_start when there is none
 * @num_msix: MSI-X table size (0 without MSI-X)
 * @iommu_mode: enum uvirtio_iommu_mode, fixed at open
 * @untranslated: enum uvirtio_untranslated, fixed at open
 * @dma_flags: UVIRTIO_DMA_INFO_*, fixed at open
 * @group: the IOMMU group we own (translated), with a reference
 * @domain: our IOMMU domain (translated)
 * @iommu_prot: IOMMU_CACHE if the IOMMU enforces cache coherency
 * @iova_ranges: usable IOVA ranges (translated)
 * @nr_iova_ranges: entries in @iova_ranges
 * @iova_tree: IOVA runs in use (translated)
 * @iova_hint: where the next module-chosen IOVA search starts
 * @maps: struct uvirtio_dma_mapping list
 * @nr_maps: entries in @maps
 * @next_handle: next DMA_MAP handle
 * @bufs: struct uvirtio_dma_buf by id
 * @nr_bufs: entries in @bufs
 * @pinned_pages: pages pinned by @maps
 * @coherent_bytes: bytes held by @bufs (their handles)
 * @irq_type: enum uvirtio_irq_type, 0 when interrupts are off
 * @nr_vectors: entries in @vectors
 * @vectors: interrupt vectors
 * @ka_armed: the owner armed keep-alive (UVIRTIO_KEEPALIVE)
 * @ka_timeout_ms: how long a release holds the device
 * @ka_state_handle: the state buffer handle a re-attach is told about
 * @ka_token: what a re-attach must present
 * @kept: held for a re-attach, with no owner; holds the reference the
 *	released fd had
 * @reattached: the current fd re-attached a kept-alive device
 * @kept_deadline: jiffies when a kept device is reset and freed
 * @ka_work: expires @kept at @kept_deadline
 */
struct uvirtio_device {
	struct kref kref;
	struct pci_dev *pdev;
	struct platform_device *plat;
	struct device *dev;
	u32 transport;
	u32 mmio_version;
	unsigned int mmio_irq;
	struct list_head node;
	struct mutex lock;	/* see the comment in device.c */
	struct rw_semaphore revoke_sem;
	bool dead;
	struct file *owner;
	struct pid *owner_pid;
	wait_queue_head_t wq;
	struct inode *inode;
	struct eventfd_ctx *remove_trigger;
	struct page *gone_page;
	struct list_head scratch_pages;
	spinlock_t scratch_lock;	/* see @scratch_pages */
	atomic_t live_bufs;
	struct dentry *debugfs;

	u32 pci_addr;
	u32 virtio_id;
	struct uvirtio_virtio_cap vcaps[UVIRTIO_VCAP_NUM];
	bool legacy;
	bool has_flr;
	void __iomem *bar_map[UVIRTIO_NUM_BARS];
	u64 bar_len[UVIRTIO_NUM_BARS];
	unsigned long bar_flags[UVIRTIO_NUM_BARS];
	u64 msix_start[UVIRTIO_NUM_BARS];
	u64 msix_end[UVIRTIO_NUM_BARS];
	u32 num_msix;
	u32 iommu_mode;
	u32 untranslated;
	u32 dma_flags;
	struct iommu_group *group;
	struct iommu_domain *domain;
	int iommu_prot;
	struct uvirtio_iova_range *iova_ranges;
	u32 nr_iova_ranges;
	struct rb_root_cached iova_tree;
	u64 iova_hint;

	struct list_head maps;
	u32 nr_maps;
	u64 next_handle;
	struct xarray bufs;
	u32 nr_bufs;
	u64 pinned_pages;
	u64 coherent_bytes;

	u32 irq_type;
	u32 nr_vectors;
	struct uvirtio_vector *vectors;

	bool ka_armed;
	u32 ka_timeout_ms;
	u64 ka_state_handle;
	u64 ka_token;
	bool kept;
	bool reattached;
	unsigned long kept_deadline;
	struct delayed_work ka_work;
};

/* One naturally sized access; the union keeps it endian-neutral. */
union uvirtio_access {
	u8 b;
	u16 w;
	u32 l;
	u64 q;
};

/**
 * struct uvirtio_ucmd - one ioctl call being executed
 * @udev: device of a device fd, NULL on the control fd
 * @file: the file the ioctl came in on
 * @ubuffer: user address of the argument
 * @user_size: the size member the caller passed
 * @cmd: kernel copy of the argument (zero-extended to the kernel's size)
 * @out_len: kernel size of the output struct, 0 for no output
 * @extra: more output (kvmalloc()ed), copied to @extra_dst and freed by
 *	the dispatcher, or NULL
 * @extra_len: bytes of @extra
 * @extra_dst: where @extra goes
 */
struct uvirtio_ucmd {
	struct uvirtio_device *udev;
	struct file *file;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
	size_t out_len;
	void *extra;
	size_t extra_len;
	void __user *extra_dst;
};

/**
 * uvirtio_ucmd_respond() - mark an ioctl's struct as output
 * @ucmd: the call
 * @len: kernel size of the struct in @ucmd->cmd
 *
 * The dispatcher copies the part of the struct the caller knows about
 * once the handler returned 0 and every uvirtio lock is dropped, so no
 * lock that remove() needs is held while user memory is faulted in (a
 * userfaultfd- or FUSE-backed buffer can stall that for ever).
 *
 * Return: 0.
 */
static inline int uvirtio_ucmd_respond(struct uvirtio_ucmd *ucmd, size_t len)
{
	ucmd->out_len = len;
	return 0;
}

/**
 * uvirtio_ucmd_copy_out() - copy an ioctl's output back to user space
 * @ucmd: the call, after its handler returned 0
 *
 * Copies any extra output, then the part of the output struct the caller
 * knows about, and forgets both (a second call copies nothing).
 *
 * Context: no uvirtio lock held: it may fault user memory in.
 * Return: 0 or -EFAULT.
 */
static inline int uvirtio_ucmd_copy_out(struct uvirtio_ucmd *ucmd)
{
	int ret = 0;

	if (ucmd->extra &&
	    copy_to_user(ucmd->extra_dst, ucmd->extra, ucmd->extra_len))
		ret = -EFAULT;
	if (!ret && ucmd->out_len &&
	    copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, ucmd->out_len)))
		ret = -EFAULT;
	kvfree(ucmd->extra);
	ucmd->extra = NULL;
	ucmd->out_len = 0;
	return ret;
}

/**
 * uvirtio_owner_vnr() - the owner's pid in the caller's pid namespace
 * @udev: the device; @udev->lock held
 *
 * The owner is the open file; @udev->owner_pid is the process that opened
 * it.  Once that process is gone its number may be reused by another, so
 * it is reported as 0 (unknown) rather than as a pid that now means
 * someone else.
 *
 * Return: the pid, or 0 if unowned, gone or not visible.
 */
static inline pid_t uvirtio_owner_vnr(struct uvirtio_device *udev)
{
	pid_t nr = 0;

	rcu_read_lock();
	if (udev->owner_pid && pid_has_task(udev->owner_pid, PIDTYPE_TGID))
		nr = pid_vnr(udev->owner_pid);
	rcu_read_unlock();
	return nr;
}

/*
 * The files call one way (see core.c): main.c, pci.c and mmio.c call
 * device.c, which calls the leaves; everything may call core.c.  (rdwr.c
 * and irq.c reach mmio.c's window helpers and the register layout.)
 */

/* Module parameters, each beside its user (dma.c, iommu.c) */
extern unsigned int uvirtio_max_mappings;
extern bool uvirtio_allow_unsafe_noiommu;
extern bool uvirtio_allow_unsafe_interrupts;

/* core.c: the device list, the device's lifetime */
extern struct mutex uvirtio_devices_lock;
extern struct list_head uvirtio_devices;
extern struct dentry *uvirtio_debugfs_root;
int uvirtio_core_init(void);
void uvirtio_core_exit(void);
struct inode *uvirtio_alloc_inode(void);
void uvirtio_device_put(struct uvirtio_device *udev);
struct uvirtio_device *uvirtio_device_lookup(u32 pci_addr);
struct uvirtio_device *uvirtio_device_lookup_name(const char *name);
struct uvirtio_device *uvirtio_device_alloc(void);
int uvirtio_eventfd_get(int fd, struct eventfd_ctx **ctxp);

/* pci.c */
int uvirtio_pci_register(void);
void uvirtio_pci_unregister(void);

/* mmio.c: the virtio-mmio platform driver */
int uvirtio_mmio_register(void);
void uvirtio_mmio_unregister(void);
int uvirtio_mmio_reset(struct uvirtio_device *udev);
int uvirtio_mmio_rw(struct uvirtio_device *udev, u64 off, size_t count,
		    union uvirtio_access *v, bool write);

/**
 * uvirtio_is_mmio() - is the device a virtio-mmio platform device?
 * @udev: the device
 *
 * Return: true for virtio-mmio, false for a PCI function.
 */
static inline bool uvirtio_is_mmio(const struct uvirtio_device *udev)
{
	return udev->transport == UVIRTIO_DEVICE_TRANSPORT_MMIO;
}

/* device.c: a device fd's state */
int uvirtio_ioctl_device_get_info(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_region_get_info(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_device_reset(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_set_remove_eventfd(struct uvirtio_ucmd *ucmd);
int uvirtio_virtio_reset(struct uvirtio_device *udev);
int uvirtio_function_reset(struct uvirtio_device *udev);
void uvirtio_device_revoke(struct uvirtio_device *udev);
void uvirtio_device_teardown(struct uvirtio_device *udev, bool hw);
void uvirtio_device_close(struct uvirtio_device *udev);
__poll_t uvirtio_device_poll(struct file *file, poll_table *wait);
int uvirtio_device_mmap(struct file *file, struct vm_area_struct *vma);
void uvirtio_debugfs_add(struct uvirtio_device *udev);

/* keepalive.c: holding a released device for a re-attach */
extern unsigned int uvirtio_keepalive_max_ms;
int uvirtio_ioctl_keepalive(struct uvirtio_ucmd *ucmd);
bool uvirtio_keepalive_hold(struct uvirtio_device *udev);
bool uvirtio_keepalive_end(struct uvirtio_device *udev);
void uvirtio_keepalive_expire(struct work_struct *work);
int uvirtio_keepalive_reattach(struct uvirtio_device *udev, u64 token);
void uvirtio_keepalive_take(struct uvirtio_device *udev);
u32 uvirtio_keepalive_ms_left(struct uvirtio_device *udev);

/* netlink.c */
int uvirtio_netlink_register(void);
void uvirtio_netlink_unregister(void);
void uvirtio_nl_notify(struct device *dev, u32 virtio_id, u32 event,
		       pid_t pid, int err);

/* dma.c */
int uvirtio_ioctl_dma_map(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_dma_unmap(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_dma_alloc(struct uvirtio_ucmd *ucmd);
void uvirtio_ioctl_dma_alloc_undo(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_dma_free(struct uvirtio_ucmd *ucmd);
int uvirtio_dma_mmap(struct uvirtio_device *udev, struct vm_area_struct *vma,
		     u64 index);
void uvirtio_dma_teardown(struct uvirtio_device *udev);
void uvirtio_dma_unmap_user(struct uvirtio_device *udev);
bool uvirtio_dma_buf_exists(struct uvirtio_device *udev, u64 handle);
int uvirtio_ioctl_dma_list(struct uvirtio_ucmd *ucmd);
int uvirtio_pin_pages(unsigned long start, unsigned long npages,
		      unsigned int gup_flags, struct page **pages);
int uvirtio_buf_alloc_pages(struct uvirtio_dma_buf *buf);

/* iommu.c */
int uvirtio_dma_setup(struct uvirtio_device *udev);
void uvirtio_dma_release(struct uvirtio_device *udev);
int uvirtio_iommu_attach(struct uvirtio_device *udev,
			 struct iommu_group *group);
int uvirtio_iova_map(struct uvirtio_device *udev,
		     struct uvirtio_iova_node *node, bool fixed, u64 iova,
		     struct page **pages, unsigned long npages, int prot);
void uvirtio_iova_unmap(struct uvirtio_device *udev,
			struct uvirtio_iova_node *node);
int uvirtio_iommu_map_pages(struct uvirtio_device *udev, u64 iova,
			    struct page **pages, unsigned long npages,
			    int prot);
int uvirtio_ioctl_iova_ranges(struct uvirtio_ucmd *ucmd);
#if IS_ENABLED(CONFIG_KUNIT)
int uvirtio_iova_check(const struct uvirtio_iova_range *r, unsigned int n,
		       u64 iova, u64 len);
int uvirtio_iova_exclude(struct uvirtio_iova_range *r, unsigned int n,
			 unsigned int max, u64 start, u64 last);
int uvirtio_iova_find(struct rb_root_cached *tree,
		      const struct uvirtio_iova_range *r, unsigned int n,
		      u64 len, u64 align, u64 from, u64 *iova);
void uvirtio_iova_tree_add(struct rb_root_cached *tree,
			   struct uvirtio_iova_node *node);
#endif

/* rdwr.c */
ssize_t uvirtio_device_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos);
ssize_t uvirtio_device_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos);

/* irq.c */
int uvirtio_ioctl_irq_enable(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_irq_disable(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_irq_set_eventfd(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_irq_set_affinity(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_irq_mask(struct uvirtio_ucmd *ucmd);
int uvirtio_ioctl_irq_trigger(struct uvirtio_ucmd *ucmd);
void uvirtio_irq_teardown(struct uvirtio_device *udev);
void uvirtio_irq_detach(struct uvirtio_device *udev);
void uvirtio_irq_set_master(struct uvirtio_device *udev, bool on);
int uvirtio_irq_alloc_vectors(struct pci_dev *pdev, u32 count);
int uvirtio_irq_request(struct uvirtio_vector *v, irq_handler_t handler,
			unsigned long irqflags);

/* caps.c, config.c, rdwr.c, dma.c, main.c: pure functions (KUnit) */

/**
 * typedef uvirtio_cfg_read_t - read one byte of PCI config space
 * @ctx: caller's context (the pci_dev, or a fake config space in tests)
 * @off: offset in config space
 * @val: output
 *
 * Return: 0 or a negative errno.
 */
typedef int (*uvirtio_cfg_read_t)(void *ctx, unsigned int off, u8 *val);

int uvirtio_parse_virtio_caps(uvirtio_cfg_read_t read, void *ctx,
			      const u64 *bar_len,
			      struct uvirtio_virtio_cap *caps);
void uvirtio_msix_range(u32 table_reg, u32 pba_reg, u32 nvec,
			unsigned int bar, u64 *start, u64 *end);
int uvirtio_check_access(u64 region_size, u64 off, size_t count,
			 bool allow8);
int uvirtio_cfg_write_check(unsigned int off, unsigned int len, u32 val,
			    u16 cur_cmd, bool allow_master);
int uvirtio_check_dma_range(u64 vaddr, u64 length, u64 *npages);
bool uvirtio_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen);
bool uvirtio_seg_merge(struct uvirtio_dma_segment *cur, u64 iova, u64 len);
unsigned int uvirtio_merge_segments(struct uvirtio_dma_segment *segs,
				    unsigned int n);
int uvirtio_memlock_charge(atomic_long_t *locked, u64 npages, u64 limit);
void uvirtio_memlock_uncharge(atomic_long_t *locked, u64 npages);
u32 uvirtio_virtio_id(u16 device, u16 subsys_device);
int uvirtio_ioctl_size_check(u32 user_size, size_t min_size);
#if IS_ENABLED(CONFIG_KUNIT)
int uvirtio_open_args_check(const struct uvirtio_device_open *cmd);
int uvirtio_mmio_write_check(unsigned int off, size_t count, u32 val,
			     bool allow_dma);
#endif

#endif /* _UVIRTIO_INTERNAL_H */
