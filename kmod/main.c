// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: drive virtio PCI and virtio-mmio devices from user space.
 *
 * This file holds the module entry points and the two kinds of file: the
 * /dev/uvirtio control node and the device fd (its file operations and
 * UVIRTIO_DEVICE_OPEN, which makes it), with the table-driven ioctl
 * dispatcher both share.  What a device fd holds is in device.c.
 */
#include <kunit/visibility.h>
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/security.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "uvirtio.h"

/**
 * uvirtio_ioctl_size_check() - validate the size member of an ioctl struct
 * @user_size: what the caller passed
 * @min_size: size of the first release of the struct
 *
 * Return: 0, -EINVAL if @user_size is below @min_size, -E2BIG above
 * PAGE_SIZE (nothing that large can be a struct we will ever define).
 */
int uvirtio_ioctl_size_check(u32 user_size, size_t min_size)
{
	if (user_size < min_size)
		return -EINVAL;
	if (user_size > PAGE_SIZE)
		return -E2BIG;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_ioctl_size_check);

static int uvirtio_ioctl_api_version(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_api_version *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	cmd->version = UVIRTIO_API_VERSION;
	cmd->caps = UVIRTIO_CAP_DMA_MAP | UVIRTIO_CAP_DMA_ALLOC |
		    UVIRTIO_CAP_MSIX | UVIRTIO_CAP_INTX |
		    UVIRTIO_CAP_IRQ_AFFINITY | UVIRTIO_CAP_IRQ_MASK |
		    UVIRTIO_CAP_REMOVE_EVENTFD | UVIRTIO_CAP_OWN_DOMAIN |
		    UVIRTIO_CAP_MMIO | UVIRTIO_CAP_KEEPALIVE;
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}

static void uvirtio_fill_entry(struct uvirtio_device *udev,
			       struct uvirtio_device_entry *e)
{
	struct pci_dev *pdev = udev->pdev;

	memset(e, 0, sizeof(*e));
	e->virtio_id = udev->virtio_id;
	e->transport = udev->transport;
	e->mmio_version = udev->mmio_version;
	if (uvirtio_is_mmio(udev)) {
		strscpy(e->name, dev_name(udev->dev), sizeof(e->name));
	} else {
		e->pci_addr = udev->pci_addr;
		e->vendor = pdev->vendor;
		e->device = pdev->device;
		e->subsystem_vendor = pdev->subsystem_vendor;
		e->subsystem_device = pdev->subsystem_device;
	}
	mutex_lock(&udev->lock);
	if (udev->owner) {
		e->flags |= UVIRTIO_DEVICE_ENTRY_OWNED;
		e->owner_pid = uvirtio_owner_vnr(udev);
	}
	if (udev->dead)
		e->flags |= UVIRTIO_DEVICE_ENTRY_REMOVED;
	if (udev->kept) {
		e->flags |= UVIRTIO_DEVICE_ENTRY_KEPT;
		e->keepalive_ms = uvirtio_keepalive_ms_left(udev);
	}
	mutex_unlock(&udev->lock);
}

/*
 * The entries are gathered under the list lock and copied to user space
 * after it is dropped: a fault on user memory must not hold up probe()
 * or remove(), which take that lock.
 */
static int uvirtio_ioctl_list_devices(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_list_devices *cmd = ucmd->cmd;
	const size_t min_entry = offsetofend(struct uvirtio_device_entry,
					     owner_pid);
	size_t len = min_t(size_t, cmd->entry_size,
			   sizeof(struct uvirtio_device_entry));
	struct uvirtio_device_entry *e = NULL;
	struct uvirtio_device *udev;
	u32 n = 0, room = 0, i;
	u8 __user *dst;
	int ret = 0;

	if (cmd->flags)
		return -EINVAL;
	if (cmd->count && (cmd->entry_size < min_entry ||
			   cmd->entry_size > PAGE_SIZE))
		return -EINVAL;

	mutex_lock(&uvirtio_devices_lock);
	list_for_each_entry(udev, &uvirtio_devices, node)
		room++;
	mutex_unlock(&uvirtio_devices_lock);
	room = min(room, cmd->count);
	if (room) {
		e = kcalloc(room, sizeof(*e), GFP_KERNEL);
		if (!e)
			return -ENOMEM;
	}
	mutex_lock(&uvirtio_devices_lock);
	list_for_each_entry(udev, &uvirtio_devices, node) {
		if (n < room)
			uvirtio_fill_entry(udev, &e[n]);
		n++;
	}
	mutex_unlock(&uvirtio_devices_lock);

	/* Devices bound in between are counted but not written. */
	dst = u64_to_user_ptr(cmd->entries);
	for (i = 0; i < min(n, room); i++, dst += cmd->entry_size) {
		if (copy_to_user(dst, &e[i], len) ||
		    clear_user(dst + len, cmd->entry_size - len)) {
			ret = -EFAULT;
			break;
		}
	}
	kfree(e);
	if (ret)
		return ret;
	cmd->count = n;
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}

static long uvirtio_dispatch_ioctl(struct file *file,
				   struct uvirtio_device *udev,
				   unsigned int cmd, unsigned long arg);

/**
 * uvirtio_open_args_check() - validate a UVIRTIO_DEVICE_OPEN argument
 * @cmd: the kernel copy (a caller without @name has it zero-filled)
 *
 * Return: 0, or -EINVAL for an unknown flag, a non-zero @pci_addr with
 * UVIRTIO_DEVICE_OPEN_PLATFORM, an empty or unterminated @name with it,
 * any non-zero byte of @name without it, a non-zero @token without
 * UVIRTIO_DEVICE_OPEN_REATTACH or a non-zero @state_handle.
 */
VISIBLE_IF_KUNIT int uvirtio_open_args_check(const struct uvirtio_device_open *cmd)
{
	if (cmd->flags & ~(UVIRTIO_DEVICE_OPEN_PLATFORM |
			   UVIRTIO_DEVICE_OPEN_REATTACH))
		return -EINVAL;
	if (cmd->state_handle ||
	    (cmd->token && !(cmd->flags & UVIRTIO_DEVICE_OPEN_REATTACH)))
		return -EINVAL;
	if (!(cmd->flags & UVIRTIO_DEVICE_OPEN_PLATFORM))
		return memchr_inv(cmd->name, 0, sizeof(cmd->name)) ? -EINVAL : 0;
	if (cmd->pci_addr || !cmd->name[0] ||
	    !memchr(cmd->name, 0, sizeof(cmd->name)))
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_open_args_check);

static int uvirtio_device_release(struct inode *inode, struct file *file)
{
	uvirtio_device_close(file->private_data);
	return 0;
}

static long uvirtio_device_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	return uvirtio_dispatch_ioctl(file, file->private_data, cmd, arg);
}

static const struct file_operations uvirtio_device_fops = {
	.owner = THIS_MODULE,
	.release = uvirtio_device_release,
	.unlocked_ioctl = uvirtio_device_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = uvirtio_device_mmap,
	.read = uvirtio_device_read,
	.write = uvirtio_device_write,
	.poll = uvirtio_device_poll,
};

/**
 * uvirtio_ioctl_device_open() - UVIRTIO_DEVICE_OPEN: make a device fd
 * @ucmd: the call (control fd)
 *
 * The device is reset and its DMA regime decided (uvirtio_dma_setup())
 * before the fd exists.  A re-attach (UVIRTIO_DEVICE_OPEN_REATTACH) does
 * neither: it takes over a device kept alive, as the previous owner left
 * it (keepalive.c).
 *
 * Context: process context, no uvirtio lock held.
 * Return: 0 and the fd in the struct, or, in the order they are checked
 * (the list struct uvirtio_device_open documents in the UAPI header):
 * -EINVAL for a bad argument (uvirtio_open_args_check()); -EPERM without
 * CAP_SYS_RAWIO or under kernel lockdown; -ENODEV for an unknown or
 * removed device; -EBUSY if it has an owner, or (without
 * UVIRTIO_DEVICE_OPEN_REATTACH) if it is kept alive; with
 * UVIRTIO_DEVICE_OPEN_REATTACH -ENOENT if it is not kept alive and
 * -EACCES for a wrong token; -ETIMEDOUT if its reset does not complete;
 * uvirtio_dma_setup()'s -EPERM (a translated device without interrupt
 * isolation, see allow_unsafe_interrupts), -EBUSY (its IOMMU group is
 * held by a kernel driver or another owner), -ENOMEM or the IOMMU core's
 * error; -EMFILE/-ENFILE/-ENOMEM for the fd; -EFAULT if the fd cannot be
 * copied out.
 */
static int uvirtio_ioctl_device_open(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_device_open *cmd = ucmd->cmd;
	bool platform = cmd->flags & UVIRTIO_DEVICE_OPEN_PLATFORM;
	bool reattach = cmd->flags & UVIRTIO_DEVICE_OPEN_REATTACH;
	struct uvirtio_device *udev;
	u32 ms_left = 0;
	struct file *file;
	pid_t owner;
	int fd, ret;

	ret = uvirtio_open_args_check(cmd);
	if (ret)
		return ret;
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	/* What sysfs refuses for raw PCI access, uvirtio refuses too. */
	ret = security_locked_down(LOCKDOWN_PCI_ACCESS);
	if (ret)
		return ret;
	udev = platform ? uvirtio_device_lookup_name(cmd->name) :
			  uvirtio_device_lookup(cmd->pci_addr);
	if (!udev)
		return -ENODEV;

	mutex_lock(&udev->lock);
	if (udev->dead) {
		ret = -ENODEV;
		goto err_unlock;
	}
	if (udev->owner) {
		ret = -EBUSY;
		goto err_unlock;
	}
	if (reattach) {
		ret = uvirtio_keepalive_reattach(udev, cmd->token);
		if (ret)
			goto err_unlock;
		ms_left = uvirtio_keepalive_ms_left(udev);
	} else if (udev->kept) {
		ret = -EBUSY;
		goto err_unlock;
	} else {
		/*
		 * Start from a quiet device, whatever the previous driver
		 * left.  A device that does not finish its reset may still
		 * be doing DMA: refuse it, with bus mastering off (probe
		 * left it off).
		 */
		ret = uvirtio_virtio_reset(udev);
		if (ret == -ETIMEDOUT) {
			dev_warn(udev->dev, "open refused: the virtio reset timed out\n");
			goto err_unlock;
		}
		ret = uvirtio_dma_setup(udev);
		if (ret)
			goto err_unlock;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_release;
	}
	file = anon_inode_getfile("[uvirtio]", &uvirtio_device_fops, udev,
				  O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_fd;
	}
	file->f_mode |= FMODE_PREAD | FMODE_PWRITE;
	/* Our own address_space, so remove() can revoke our mmaps only. */
	file->f_mapping = udev->inode->i_mapping;

	/*
	 * From here the file owns the reference the lookup took; on a
	 * re-attach, the one the kept state held (the lookup's goes below).
	 */
	udev->owner = file;
	udev->owner_pid = get_pid(task_tgid(current));
	if (reattach) {
		cmd->state_handle = udev->ka_state_handle;
		uvirtio_keepalive_take(udev);
	} else if (udev->iommu_mode != UVIRTIO_IOMMU_NONE && udev->pdev) {
		/*
		 * Without DMA containment and without the opt-in: no DMA at
		 * all (virtio-mmio has no bus-master switch: rdwr.c refuses
		 * the ring addresses instead).
		 */
		pci_set_master(udev->pdev);
	}
	owner = pid_nr(udev->owner_pid);
	mutex_unlock(&udev->lock);
	if (reattach)
		uvirtio_device_put(udev);
	/* Before the fd can be closed, so "released" always comes later. */
	uvirtio_nl_notify(udev->dev, udev->virtio_id, UVIRTIO_EVENT_OPENED,
			  owner, 0);

	cmd->fd = fd;
	/* No lock held: the fd goes live only once the caller knows it. */
	uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
	ret = uvirtio_ucmd_copy_out(ucmd);
	if (ret) {
		/*
		 * release() undoes the open and drops the reference.  A
		 * re-attach the caller never saw is re-armed first, so the
		 * release holds the device again, with the same token and
		 * what was left of its time.
		 */
		if (reattach) {
			mutex_lock(&udev->lock);
			udev->ka_armed = true;
			udev->ka_token = cmd->token;
			udev->ka_timeout_ms = ms_left;
			mutex_unlock(&udev->lock);
		}
		fput(file);
		put_unused_fd(fd);
		return ret;
	}
	fd_install(fd, file);
	return 0;

err_put_fd:
	put_unused_fd(fd);
err_release:
	if (!reattach)
		uvirtio_dma_release(udev);
err_unlock:
	mutex_unlock(&udev->lock);
	uvirtio_device_put(udev);
	return ret;
}

union uvirtio_ucmd_buffer {
	struct uvirtio_api_version api_version;
	struct uvirtio_list_devices list_devices;
	struct uvirtio_device_open device_open;
	struct uvirtio_device_info device_info;
	struct uvirtio_region_info region_info;
	struct uvirtio_dma_map dma_map;
	struct uvirtio_dma_unmap dma_unmap;
	struct uvirtio_dma_alloc dma_alloc;
	struct uvirtio_dma_free dma_free;
	struct uvirtio_irq_enable irq_enable;
	struct uvirtio_irq_disable irq_disable;
	struct uvirtio_irq_set_eventfd irq_set_eventfd;
	struct uvirtio_irq_set_affinity irq_set_affinity;
	struct uvirtio_irq_mask irq_mask;
	struct uvirtio_irq_trigger irq_trigger;
	struct uvirtio_device_reset device_reset;
	struct uvirtio_set_remove_eventfd set_remove_eventfd;
	struct uvirtio_iova_ranges iova_ranges;
	struct uvirtio_keepalive keepalive;
	struct uvirtio_dma_list dma_list;
};

/**
 * struct uvirtio_ioctl_op - one entry of the ioctl table
 * @size: kernel size of the argument struct
 * @min_size: size of its first release (offsetofend of its last member)
 * @ioctl_num: the full ioctl number
 * @on_device: the ioctl belongs to the device fd (else the control fd)
 * @allow_dead: may run after the device was removed
 * @unlocked: the handler takes uvirtio_device.lock itself, checks for a
 *	removed device and copies its output (DMA_MAP, which pins pages
 *	first)
 * @execute: handler; other device-fd handlers run with
 *	uvirtio_device.lock held
 * @undo: if the output cannot be copied, undo what @execute did (with
 *	uvirtio_device.lock held), or NULL if there is nothing to undo
 */
struct uvirtio_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	bool on_device;
	bool allow_dead;
	bool unlocked;
	int (*execute)(struct uvirtio_ucmd *ucmd);
	void (*undo)(struct uvirtio_ucmd *ucmd);
};

#define UVIRTIO_OP_FULL(_name, _fn, _struct, _last, _dev, _dead,	\
			_unlocked, _undo)				\
	[UVIRTIO_CMD_##_name - UVIRTIO_CMD_BASE] = {			\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union uvirtio_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = UVIRTIO_##_name,				\
		.on_device = _dev,					\
		.allow_dead = _dead,					\
		.unlocked = _unlocked,					\
		.execute = _fn,						\
		.undo = _undo,						\
	}
#define UVIRTIO_OP(_name, _fn, _struct, _last, _dev, _dead)		\
	UVIRTIO_OP_FULL(_name, _fn, _struct, _last, _dev, _dead, false, NULL)

static const struct uvirtio_ioctl_op uvirtio_ioctl_ops[] = {
	UVIRTIO_OP(GET_API_VERSION, uvirtio_ioctl_api_version,
		   struct uvirtio_api_version, caps, false, false),
	UVIRTIO_OP(LIST_DEVICES, uvirtio_ioctl_list_devices,
		   struct uvirtio_list_devices, entries, false, false),
	UVIRTIO_OP(DEVICE_OPEN, uvirtio_ioctl_device_open,
		   struct uvirtio_device_open, fd, false, false),
	UVIRTIO_OP(DEVICE_GET_INFO, uvirtio_ioctl_device_get_info,
		   struct uvirtio_device_info, caps, true, true),
	UVIRTIO_OP(REGION_GET_INFO, uvirtio_ioctl_region_get_info,
		   struct uvirtio_region_info, msix_end, true, false),
	UVIRTIO_OP_FULL(DMA_MAP, uvirtio_ioctl_dma_map,
			struct uvirtio_dma_map, segments, true, false,
			true, NULL),
	UVIRTIO_OP(DMA_UNMAP, uvirtio_ioctl_dma_unmap,
		   struct uvirtio_dma_unmap, handle, true, false),
	UVIRTIO_OP_FULL(DMA_ALLOC, uvirtio_ioctl_dma_alloc,
			struct uvirtio_dma_alloc, mmap_offset, true, false,
			false, uvirtio_ioctl_dma_alloc_undo),
	UVIRTIO_OP(DMA_FREE, uvirtio_ioctl_dma_free,
		   struct uvirtio_dma_free, handle, true, false),
	UVIRTIO_OP(IRQ_ENABLE, uvirtio_ioctl_irq_enable,
		   struct uvirtio_irq_enable, count, true, false),
	UVIRTIO_OP(IRQ_DISABLE, uvirtio_ioctl_irq_disable,
		   struct uvirtio_irq_disable, flags, true, false),
	UVIRTIO_OP(IRQ_SET_EVENTFD, uvirtio_ioctl_irq_set_eventfd,
		   struct uvirtio_irq_set_eventfd, fd, true, false),
	UVIRTIO_OP(IRQ_SET_AFFINITY, uvirtio_ioctl_irq_set_affinity,
		   struct uvirtio_irq_set_affinity, cpu, true, false),
	UVIRTIO_OP(IRQ_MASK, uvirtio_ioctl_irq_mask,
		   struct uvirtio_irq_mask, __reserved, true, false),
	UVIRTIO_OP(IRQ_TRIGGER, uvirtio_ioctl_irq_trigger,
		   struct uvirtio_irq_trigger, __reserved, true, false),
	UVIRTIO_OP(DEVICE_RESET, uvirtio_ioctl_device_reset,
		   struct uvirtio_device_reset, flags, true, false),
	UVIRTIO_OP(SET_REMOVE_EVENTFD, uvirtio_ioctl_set_remove_eventfd,
		   struct uvirtio_set_remove_eventfd, __reserved, true, false),
	UVIRTIO_OP(IOVA_RANGES, uvirtio_ioctl_iova_ranges,
		   struct uvirtio_iova_ranges, ranges, true, false),
	UVIRTIO_OP(KEEPALIVE, uvirtio_ioctl_keepalive,
		   struct uvirtio_keepalive, token, true, false),
	UVIRTIO_OP(DMA_LIST, uvirtio_ioctl_dma_list,
		   struct uvirtio_dma_list, entries, true, false),
};

/**
 * uvirtio_dispatch_ioctl() - validate and run one ioctl
 * @file: the file the ioctl came in on
 * @udev: the device for a device fd, NULL for the control fd
 * @cmd: ioctl number
 * @arg: user pointer to the argument struct
 *
 * Reads the leading size member, checks it against the table, copies the
 * struct in with copy_struct_from_user() (which rejects unknown non-zero
 * trailing bytes with -E2BIG) and runs the handler.  Device handlers run
 * with @udev->lock held (unless the op takes it itself) and, unless the
 * op allows it, only while the device is present.  The output is copied
 * back once every lock is dropped.
 *
 * Context: process context, may sleep.
 * Return: the handler's result, -ENOTTY for an ioctl that is unknown or
 * belongs to the other kind of fd, -EFAULT, -EINVAL or -E2BIG for a bad
 * argument, -ENODEV once the device is gone.
 */
static long uvirtio_dispatch_ioctl(struct file *file,
				   struct uvirtio_device *udev,
				   unsigned int cmd, unsigned long arg)
{
	const struct uvirtio_ioctl_op *op;
	union uvirtio_ucmd_buffer buf;
	struct uvirtio_ucmd ucmd = {
		.udev = udev,
		.file = file,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < UVIRTIO_CMD_BASE ||
	    nr - UVIRTIO_CMD_BASE >= ARRAY_SIZE(uvirtio_ioctl_ops))
		return -ENOTTY;
	op = &uvirtio_ioctl_ops[array_index_nospec(nr - UVIRTIO_CMD_BASE,
				ARRAY_SIZE(uvirtio_ioctl_ops))];
	if (!op->execute || op->ioctl_num != cmd || op->on_device != !!udev)
		return -ENOTTY;

	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	ret = uvirtio_ioctl_size_check(ucmd.user_size, op->min_size);
	if (ret)
		return ret;
	ret = copy_struct_from_user(&buf, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;

	if (!udev || op->unlocked) {
		ret = op->execute(&ucmd);
		goto out;
	}

	mutex_lock(&udev->lock);
	if (udev->dead && !op->allow_dead)
		ret = -ENODEV;
	else
		ret = op->execute(&ucmd);
	mutex_unlock(&udev->lock);
out:
	if (ret) {
		kvfree(ucmd.extra);
		return ret;
	}
	ret = uvirtio_ucmd_copy_out(&ucmd);
	/* Only device ops have an undo step (the op table's comment). */
	if (ret && op->undo && udev) {
		mutex_lock(&udev->lock);
		if (!udev->dead)
			op->undo(&ucmd);
		mutex_unlock(&udev->lock);
	}
	return ret;
}

static long uvirtio_control_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	return uvirtio_dispatch_ioctl(file, NULL, cmd, arg);
}

static const struct file_operations uvirtio_control_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = uvirtio_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice uvirtio_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "uvirtio",
	.nodename = "uvirtio",
	.mode = 0600,
	.fops = &uvirtio_control_fops,
};

static int __init uvirtio_init(void)
{
	int ret;

	ret = uvirtio_core_init();
	if (ret)
		return ret;
	ret = uvirtio_pci_register();
	if (ret)
		goto err_core;
	ret = uvirtio_mmio_register();
	if (ret)
		goto err_unregister_pci;
	ret = misc_register(&uvirtio_misc);
	if (ret)
		goto err_unregister_mmio;
	ret = uvirtio_netlink_register();
	if (ret)
		goto err_deregister_misc;
	return 0;

err_deregister_misc:
	misc_deregister(&uvirtio_misc);
err_unregister_mmio:
	uvirtio_mmio_unregister();
err_unregister_pci:
	uvirtio_pci_unregister();
err_core:
	uvirtio_core_exit();
	return ret;
}

static void __exit uvirtio_exit(void)
{
	uvirtio_netlink_unregister();
	misc_deregister(&uvirtio_misc);
	uvirtio_mmio_unregister();
	uvirtio_pci_unregister();
	uvirtio_core_exit();
}

module_init(uvirtio_init);
module_exit(uvirtio_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Drive virtio PCI and virtio-mmio devices from user space");
MODULE_VERSION(UVIRTIO_VERSION);
MODULE_AUTHOR("The uvirtio authors");
