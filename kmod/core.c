// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: what every other file of the module shares, and which calls
 * none of them - the list of bound devices, the device object's
 * lifetime, eventfd lookup, and the private pseudo file
 * system whose inodes give every device its own address_space (see the
 * locking comment in device.c).
 *
 * The files call one way: main.c (module entry, the two kinds of fd and
 * the ioctl dispatcher), pci.c and mmio.c (binding) call device.c (a device fd's
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
#include <linux/platform_device.h>
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
	if (udev->plat)
		put_device(&udev->plat->dev);
	kfree(udev);
}

/**
 * uvirtio_device_alloc() - a new device object, not yet bound to anything
 *
 * Sets up what every transport shares: the reference count, the locks,
 * the DMA lists, the private inode and the all-ones page.  The caller
 * fills in the transport part; uvirtio_device_put() undoes it all
 * (including the pci_dev or platform device reference once one is set).
 *
 * Context: process context (probe).
 * Return: the device with one reference, or an ERR_PTR().
 */
struct uvirtio_device *uvirtio_device_alloc(void)
{
	struct uvirtio_device *udev;
	int ret;

	udev = kzalloc(sizeof(*udev), GFP_KERNEL);
	if (!udev)
		return ERR_PTR(-ENOMEM);
	kref_init(&udev->kref);
	mutex_init(&udev->lock);
	init_rwsem(&udev->revoke_sem);
	init_waitqueue_head(&udev->wq);
	INIT_LIST_HEAD(&udev->maps);
	atomic_set(&udev->live_bufs, 0);
	INIT_LIST_HEAD(&udev->scratch_pages);
	spin_lock_init(&udev->scratch_lock);
	xa_init_flags(&udev->bufs, XA_FLAGS_ALLOC);
	INIT_DELAYED_WORK(&udev->ka_work, uvirtio_keepalive_expire);
	udev->next_handle = 1;

	/*
	 * After a removal, BAR mappings fault in pages of all-ones instead
	 * of the BAR, as from a surprise-removed PCIe function, and writes
	 * go nowhere a device sees.  This one is allocated here, so there is
	 * always one to fall back on.
	 */
	udev->gone_page = alloc_page(GFP_KERNEL);
	if (!udev->gone_page) {
		ret = -ENOMEM;
		goto err_free;
	}
	memset(page_address(udev->gone_page), 0xff, PAGE_SIZE);

	udev->inode = uvirtio_alloc_inode();
	if (IS_ERR(udev->inode)) {
		ret = PTR_ERR(udev->inode);
		goto err_free_page;
	}
	return udev;

err_free_page:
	__free_page(udev->gone_page);
err_free:
	kfree(udev);
	return ERR_PTR(ret);
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
		if (!uvirtio_is_mmio(udev) && udev->pci_addr == pci_addr) {
			kref_get(&udev->kref);
			found = udev;
			break;
		}
	}
	mutex_unlock(&uvirtio_devices_lock);
	return found;
}

/**
 * uvirtio_device_lookup_name() - find a bound virtio-mmio device by name
 * @name: its platform device name
 *
 * Context: process context; takes uvirtio_devices_lock.
 * Return: the device with a reference taken, or NULL.
 */
struct uvirtio_device *uvirtio_device_lookup_name(const char *name)
{
	struct uvirtio_device *udev, *found = NULL;

	mutex_lock(&uvirtio_devices_lock);
	list_for_each_entry(udev, &uvirtio_devices, node) {
		if (uvirtio_is_mmio(udev) && !strcmp(dev_name(udev->dev), name)) {
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
