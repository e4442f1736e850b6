// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: keep-alive.  An owner that arms UVIRTIO_KEEPALIVE has its
 * device held, not reset, when its fd is released, so that a new process
 * can re-attach (UVIRTIO_DEVICE_OPEN_REATTACH with the token) and carry
 * on with the requests in flight.
 *
 * What survives the gap is what the module owns: the IOMMU domain, the
 * UVIRTIO_DMA_ALLOC buffers at their IOVAs, the interrupt vectors (they
 * latch, see irq.c) and the device's own state.  User pages pinned with
 * UVIRTIO_DMA_MAP do not: they are unmapped, with the IOTLB flushed,
 * before the release returns, so a device that runs on can never write
 * into memory a dead process gave back.  That takes the device's own
 * IOMMU domain, so keep-alive is for UVIRTIO_IOMMU_TRANSLATED devices
 * only.
 *
 * States: armed (@ka_armed, with an owner) -> kept (@kept, no owner,
 * @ka_work pending) -> either re-attached (owned again, disarmed) or
 * expired/removed (torn down as on an ordinary release).  All of it is
 * under uvirtio_device.lock.  While kept, the device holds the reference
 * the released fd had; whoever ends the kept state drops it: the re-attach
 * hands it to the new fd, the expiry work and remove() put it.  remove()
 * cancels the work synchronously after dropping the lock (the work takes
 * the lock), before the binding's reference goes, so the work never runs
 * on a freed device.
 */
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/workqueue.h>

#include "uvirtio.h"

unsigned int uvirtio_keepalive_max_ms = 300 * 1000;
module_param_named(keepalive_max_ms, uvirtio_keepalive_max_ms, uint, 0644);
MODULE_PARM_DESC(keepalive_max_ms,
		 "Longest a released device may be kept alive for a re-attach, in ms (default 300000; 0 refuses UVIRTIO_KEEPALIVE)");

/**
 * uvirtio_ioctl_keepalive() - UVIRTIO_KEEPALIVE
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Return: 0 and the token; -EINVAL for a bad argument, -EPERM if the
 * keepalive_max_ms parameter is 0, -EOPNOTSUPP unless the device is
 * translated, -ENOENT for an unknown state handle.
 */
int uvirtio_ioctl_keepalive(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_keepalive *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	unsigned int max = READ_ONCE(uvirtio_keepalive_max_ms);
	u64 token;

	if ((cmd->flags & ~UVIRTIO_KEEPALIVE_DISARM) || cmd->__reserved ||
	    cmd->token)
		return -EINVAL;
	if (cmd->flags & UVIRTIO_KEEPALIVE_DISARM) {
		if (cmd->timeout_ms || cmd->state_handle)
			return -EINVAL;
		udev->ka_armed = false;
		udev->ka_token = 0;
		return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (!max)
		return -EPERM;
	if (udev->iommu_mode != UVIRTIO_IOMMU_TRANSLATED)
		return -EOPNOTSUPP;
	if (!cmd->timeout_ms || cmd->timeout_ms > max)
		return -EINVAL;
	if (cmd->state_handle &&
	    !uvirtio_dma_buf_exists(udev, cmd->state_handle))
		return -ENOENT;
	do {
		token = get_random_u64();
	} while (!token);
	udev->ka_armed = true;
	udev->ka_timeout_ms = cmd->timeout_ms;
	udev->ka_state_handle = cmd->state_handle;
	udev->ka_token = token;
	cmd->token = token;
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}

/**
 * uvirtio_keepalive_hold() - the fd is being released: hold the device?
 * @udev: the device, still present
 *
 * With keep-alive armed: takes every user page out of the device's reach
 * (UVIRTIO_DMA_MAP mappings unmapped, IOTLB flushed, pages unpinned),
 * drops the eventfds so the vectors latch, and starts the deadline.  The
 * caller then clears the owner and keeps the fd's device reference.
 *
 * Context: process context, @udev->lock held.
 * Return: true if the device is now kept, false to tear it down.
 */
bool uvirtio_keepalive_hold(struct uvirtio_device *udev)
{
	unsigned long delay;

	lockdep_assert_held(&udev->lock);
	if (!udev->ka_armed || udev->dead)
		return false;
	uvirtio_dma_unmap_user(udev);
	uvirtio_irq_detach(udev);
	delay = msecs_to_jiffies(udev->ka_timeout_ms);
	udev->ka_armed = false;
	udev->reattached = false;
	udev->kept = true;
	udev->kept_deadline = jiffies + delay;
	mod_delayed_work(system_wq, &udev->ka_work, delay);
	return true;
}

/**
 * uvirtio_keepalive_end() - end a kept state for a teardown (remove())
 * @udev: the device
 *
 * The caller tears the device down, then, with the lock dropped, waits
 * for the expiry work (cancel_delayed_work_sync()) and puts the reference
 * the kept state held.
 *
 * Context: process context, @udev->lock held.
 * Return: true if the device was kept.
 */
bool uvirtio_keepalive_end(struct uvirtio_device *udev)
{
	lockdep_assert_held(&udev->lock);
	if (!udev->kept)
		return false;
	udev->kept = false;
	udev->ka_token = 0;
	cancel_delayed_work(&udev->ka_work);
	return true;
}

/**
 * uvirtio_keepalive_expire() - nobody re-attached in time: let it go
 * @work: uvirtio_device.ka_work
 *
 * Resets the device and frees what it held, as an ordinary release does,
 * then drops the kept state's reference.  (The binding's reference is
 * still there: remove() waits for this work before it drops that one.)
 *
 * Context: process context (system workqueue).
 */
void uvirtio_keepalive_expire(struct work_struct *work)
{
	struct uvirtio_device *udev = container_of(to_delayed_work(work),
						   struct uvirtio_device,
						   ka_work);

	mutex_lock(&udev->lock);
	/* Re-attached, removed, or kept again with a later deadline. */
	if (!udev->kept || time_before(jiffies, udev->kept_deadline)) {
		mutex_unlock(&udev->lock);
		return;
	}
	udev->kept = false;
	udev->ka_token = 0;
	dev_info(udev->dev, "keep-alive: nobody re-attached in %u ms, resetting\n",
		 udev->ka_timeout_ms);
	uvirtio_device_teardown(udev, !udev->dead);
	mutex_unlock(&udev->lock);
	uvirtio_nl_notify(udev->dev, udev->virtio_id, UVIRTIO_EVENT_RELEASED,
			  0, 0);
	uvirtio_device_put(udev);
}

/**
 * uvirtio_keepalive_reattach() - may this open take over the kept device?
 * @udev: the device
 * @token: what the caller presented
 *
 * Only checks: the caller commits with uvirtio_keepalive_take() once the
 * new fd exists.
 *
 * Context: @udev->lock held.
 * Return: 0, -ENOENT if the device is not kept, -EACCES for a wrong token.
 */
int uvirtio_keepalive_reattach(struct uvirtio_device *udev, u64 token)
{
	lockdep_assert_held(&udev->lock);
	if (!udev->kept)
		return -ENOENT;
	if (token != udev->ka_token)
		return -EACCES;
	return 0;
}

/**
 * uvirtio_keepalive_take() - the new fd takes the kept device over
 * @udev: the device, checked by uvirtio_keepalive_reattach()
 *
 * The kept state's reference becomes the new fd's.  Keep-alive is left
 * disarmed; the re-arm gets a new token.
 *
 * Context: @udev->lock held.
 */
void uvirtio_keepalive_take(struct uvirtio_device *udev)
{
	lockdep_assert_held(&udev->lock);
	udev->kept = false;
	udev->ka_token = 0;
	udev->reattached = true;
	cancel_delayed_work(&udev->ka_work);
}

/**
 * uvirtio_keepalive_ms_left() - time left before a kept device is freed
 * @udev: the device
 *
 * Context: @udev->lock held.
 * Return: milliseconds (at least 1) for a kept device, 0 otherwise.
 */
u32 uvirtio_keepalive_ms_left(struct uvirtio_device *udev)
{
	unsigned long now = jiffies;

	lockdep_assert_held(&udev->lock);
	if (!udev->kept)
		return 0;
	if (time_after_eq(now, udev->kept_deadline))
		return 1;
	return max_t(u32, 1, jiffies_to_msecs(udev->kept_deadline - now));
}
