// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: what every other file of the module shares, and which calls
 * none of them - the list of bound devices, the device object's
 * lifetime, eventfd lookup, and the private pseudo file
 * system whose inodes give every device its own address_space (see the
 * locking comment in device.c).
 *
 * The files call one way: main.c (module entry, the two kinds of fd and
 * the ioctl dispatcher) and pci.c (binding) call device.c (a device fd's
 * state); these call the leaves (dma.c, iommu.c, irq.c, rdwr.c,
 * config.c, caps.c, netlink.c); everything may call core.c.
 */
#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/error-injection.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>

#include "uvirtio.h"

#define UVIRTIO_FS_MAGIC	0x75766972	/* "uvir" */

/* Protects uvirtio_devices.  Taken before any uvirtio_device.lock. */
DEFINE_MUTEX(uvirtio_devices_lock);
LIST_HEAD(uvirtio_devices);
struct dentry *uvirtio_debugfs_root;
static struct vfsmount *uvirtio_mnt;

static void uvirtio_device_free(struct kref *kref)
{
	struct uvirtio_device *udev = container_of(kref, struct uvirtio_device,
						   kref);
	struct page *page, *tmp;

	WARN_ON(!list_empty(&udev->maps));
	WARN_ON(udev->domain);
	xa_destroy(&udev->bufs);
	iput(udev->inode);
	list_for_each_entry_safe(page, tmp, &udev->scratch_pages, lru)
		__free_page(page);
	__free_page(udev->gone_page);
	pci_dev_put(udev->pdev);
	kfree(udev);
}

/**
 * uvirtio_device_put() - drop a reference to a device
 * @udev: the device
 *
 * Context: may sleep when the last reference goes.
 */
void uvirtio_device_put(struct uvirtio_device *udev)
{
	kref_put(&udev->kref, uvirtio_device_free);
}

/**
 * uvirtio_device_lookup() - find a bound device by PCI address
 * @pci_addr: UVIRTIO_PCI_ADDR() of the function
 *
 * Context: process context; takes uvirtio_devices_lock.
 * Return: the device with a reference taken, or NULL.
 */
struct uvirtio_device *uvirtio_device_lookup(u32 pci_addr)
{
	struct uvirtio_device *udev, *found = NULL;

	mutex_lock(&uvirtio_devices_lock);
	list_for_each_entry(udev, &uvirtio_devices, node) {
		if (udev->pci_addr == pci_addr) {
			kref_get(&udev->kref);
			found = udev;
			break;
		}
	}
	mutex_unlock(&uvirtio_devices_lock);
	return found;
}

/**
 * uvirtio_eventfd_get() - look up an eventfd passed by user space
 * @fd: the file descriptor
 * @ctxp: output, a reference to its eventfd context
 *
 * Error-injection point (see uvirtio.h): the callers must then keep the
 * eventfd they had.
 *
 * Context: process context.
 * Return: 0, -EBADF for a bad fd, -EINVAL if it is not an eventfd.
 */
noinline int uvirtio_eventfd_get(int fd, struct eventfd_ctx **ctxp)
{
	struct eventfd_ctx *ctx = eventfd_ctx_fdget(fd);

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	*ctxp = ctx;
	return 0;
}
ALLOW_ERROR_INJECTION(uvirtio_eventfd_get, ERRNO);

static int uvirtio_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, UVIRTIO_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * Never registered, only kern_mount()ed for our inodes.  No .owner: the
 * internal mount would otherwise pin the module forever; module exit
 * unmounts it once every device (and so every inode) is gone.
 */
static struct file_system_type uvirtio_fs_type = {
	.name = "uvirtio",
	.init_fs_context = uvirtio_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * uvirtio_alloc_inode() - allocate a private inode for one device
 *
 * Each device gets its own inode so that its mmaps live in their own
 * address_space and can be revoked with unmap_mapping_range() without
 * touching anyone else's (anon_inode_getfile() shares one inode).
 *
 * Return: the inode or an ERR_PTR().
 */
struct inode *uvirtio_alloc_inode(void)
{
	return alloc_anon_inode(uvirtio_mnt->mnt_sb);
}

/**
 * uvirtio_core_init() - create the debugfs root and mount the pseudo fs
 *
 * Return: 0 or a negative errno.
 */
int uvirtio_core_init(void)
{
	uvirtio_debugfs_root = debugfs_create_dir("uvirtio", NULL);
	uvirtio_mnt = kern_mount(&uvirtio_fs_type);
	if (IS_ERR(uvirtio_mnt)) {
		debugfs_remove_recursive(uvirtio_debugfs_root);
		return PTR_ERR(uvirtio_mnt);
	}
	return 0;
}

/**
 * uvirtio_core_exit() - undo uvirtio_core_init()
 *
 * Context: module exit, once every device (and so every inode) is gone.
 */
void uvirtio_core_exit(void)
{
	kern_unmount(uvirtio_mnt);
	debugfs_remove_recursive(uvirtio_debugfs_root);
}
