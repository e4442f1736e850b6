// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: the generic netlink family "uvirtio".
 *
 * UVIRTIO_CMD_DEV_GET reports the devices bound to uvirtio (one by PCI
 * address, or all of them as a dump) with their owner and resource
 * counters; UVIRTIO_CMD_EVENT notifications go to the "events" multicast
 * group when a device is bound, unbound, opened, released, removed while
 * owned, reset, or when something fails without a caller to report to.
 *
 * Locking: the family is parallel_ops, so genl_mutex is not held around
 * our handlers.  DEV_GET takes uvirtio_devices_lock, then each device's
 * uvirtio_device.lock, the order LIST_DEVICES uses (see device.c).
 * Events are built only from data fixed at probe time plus what the
 * caller passes in, so uvirtio_nl_notify() takes no uvirtio lock except
 * uvirtio_nl_sem, which is innermost; netlink_broadcast() takes only
 * netlink's own locks and never calls back into uvirtio.
 */
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <net/genetlink.h>

#include "compat.h"
#include "uvirtio.h"

enum {
	UVIRTIO_NL_MCGRP_EVENTS,
};

/*
 * Held for read while an event is sent and for write while the family
 * goes away, so no event is sent with the family half unregistered.
 */
static DECLARE_RWSEM(uvirtio_nl_sem);
static bool uvirtio_nl_registered;

/* A request may carry the PCI address and nothing else. */
static const struct nla_policy uvirtio_nl_dev_get_policy[UVIRTIO_ATTR_PCI_ADDR + 1] = {
	[UVIRTIO_ATTR_PCI_ADDR] = { .type = NLA_U32 },
};

static int uvirtio_nl_dev_get_doit(struct sk_buff *skb,
				   struct genl_info *info);
static int uvirtio_nl_dev_get_dumpit(struct sk_buff *skb,
				     struct netlink_callback *cb);

static const struct genl_ops uvirtio_nl_ops[] = {
	{
		.cmd = UVIRTIO_CMD_DEV_GET,
		.flags = GENL_ADMIN_PERM,
		.policy = uvirtio_nl_dev_get_policy,
		.maxattr = ARRAY_SIZE(uvirtio_nl_dev_get_policy) - 1,
		.doit = uvirtio_nl_dev_get_doit,
		.dumpit = uvirtio_nl_dev_get_dumpit,
	},
};

static const struct genl_multicast_group uvirtio_nl_mcgrps[] = {
	[UVIRTIO_NL_MCGRP_EVENTS] = {
		.name = UVIRTIO_GENL_MCGRP_EVENTS,
		.flags = UVIRTIO_GENL_MCAST_ADMIN,
	},
};

/*
 * .resv_start_op stays 0: every command is validated strictly (reserved
 * header fields, unknown attributes, exact attribute lengths).
 */
static struct genl_family uvirtio_genl_family = {
	.name = UVIRTIO_GENL_NAME,
	.version = UVIRTIO_GENL_VERSION,
	.maxattr = UVIRTIO_ATTR_MAX,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = uvirtio_nl_ops,
	.n_ops = ARRAY_SIZE(uvirtio_nl_ops),
	.mcgrps = uvirtio_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(uvirtio_nl_mcgrps),
};

/**
 * struct uvirtio_nl_snapshot - what DEV_GET reports about a device
 * @flags: UVIRTIO_DEVICE_ENTRY_*
 * @owner_pid: owner in the caller's pid namespace, 0 if none or not visible
 * @pinned_pages: pages pinned by DMA mappings
 * @mappings: number of DMA mappings
 * @coherent_bytes: bytes of coherent DMA buffers
 * @interrupts: interrupts counted on all vectors
 * @keepalive_ms: time left of a kept-alive device, 0 if not kept
 */
struct uvirtio_nl_snapshot {
	u32 flags;
	u32 keepalive_ms;
	pid_t owner_pid;
	u64 pinned_pages;
	u32 mappings;
	u64 coherent_bytes;
	u64 interrupts;
};

static void uvirtio_nl_snapshot(struct uvirtio_device *udev,
				struct uvirtio_nl_snapshot *s)
{
	u32 i;

	memset(s, 0, sizeof(*s));
	mutex_lock(&udev->lock);
	if (udev->owner) {
		s->flags |= UVIRTIO_DEVICE_ENTRY_OWNED;
		s->owner_pid = uvirtio_owner_vnr(udev);
	}
	if (udev->dead)
		s->flags |= UVIRTIO_DEVICE_ENTRY_REMOVED;
	if (udev->kept) {
		s->flags |= UVIRTIO_DEVICE_ENTRY_KEPT;
		s->keepalive_ms = uvirtio_keepalive_ms_left(udev);
	}
	s->pinned_pages = udev->pinned_pages;
	s->mappings = udev->nr_maps;
	s->coherent_bytes = udev->coherent_bytes;
	for (i = 0; i < udev->nr_vectors; i++) {
		struct uvirtio_vector *v = &udev->vectors[i];

		spin_lock_irq(&v->lock);
		s->interrupts += v->count;
		spin_unlock_irq(&v->lock);
	}
	mutex_unlock(&udev->lock);
}

static size_t uvirtio_nl_dev_size(void)
{
	return nla_total_size(sizeof(u32)) * 3 +	/* PCI_ADDR..TRANSPORT */
	       nla_total_size(UVIRTIO_DEVICE_NAME_LEN) +	/* PLATFORM_NAME */
	       nla_total_size(sizeof(u16)) * 4 +	/* VENDOR..SUBSYSTEM_DEVICE */
	       nla_total_size(sizeof(u32)) * 6 +	/* OWNER_PID..ERROR, KEEPALIVE_MS */
	       nla_total_size_64bit(sizeof(u64)) * 3;	/* PINNED..INTERRUPTS */
}

/*
 * The attributes every message about @dev carries: a PCI function's ids,
 * or for a virtio-mmio platform device PCI address 0 (listeners that
 * predate MMIO require one), @virtio_id and the device name.
 */
static int uvirtio_nl_put_ids(struct sk_buff *msg, struct device *dev,
			      u32 virtio_id)
{
	struct pci_dev *pdev;
	u32 addr;

	if (!dev_is_pci(dev)) {
		if (nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, 0) ||
		    nla_put_u32(msg, UVIRTIO_ATTR_VIRTIO_ID, virtio_id) ||
		    nla_put_u32(msg, UVIRTIO_ATTR_TRANSPORT,
				UVIRTIO_DEVICE_TRANSPORT_MMIO) ||
		    nla_put_string(msg, UVIRTIO_ATTR_PLATFORM_NAME,
				   dev_name(dev)))
			return -EMSGSIZE;
		return 0;
	}
	pdev = to_pci_dev(dev);
	addr = UVIRTIO_PCI_ADDR(pci_domain_nr(pdev->bus), pdev->bus->number,
				PCI_SLOT(pdev->devfn), PCI_FUNC(pdev->devfn));
	if (nla_put_u32(msg, UVIRTIO_ATTR_PCI_ADDR, addr) ||
	    nla_put_u32(msg, UVIRTIO_ATTR_TRANSPORT,
			UVIRTIO_DEVICE_TRANSPORT_PCI) ||
	    nla_put_u32(msg, UVIRTIO_ATTR_VIRTIO_ID,
			uvirtio_virtio_id(pdev->device,
					  pdev->subsystem_device)) ||
	    nla_put_u16(msg, UVIRTIO_ATTR_VENDOR, pdev->vendor) ||
	    nla_put_u16(msg, UVIRTIO_ATTR_DEVICE, pdev->device) ||
	    nla_put_u16(msg, UVIRTIO_ATTR_SUBSYSTEM_VENDOR,
			pdev->subsystem_vendor) ||
	    nla_put_u16(msg, UVIRTIO_ATTR_SUBSYSTEM_DEVICE,
			pdev->subsystem_device))
		return -EMSGSIZE;
	return 0;
}

static int uvirtio_nl_fill_dev(struct sk_buff *msg,
			       struct uvirtio_device *udev, u32 portid,
			       u32 seq, int flags)
{
	struct uvirtio_nl_snapshot s;
	void *hdr;

	uvirtio_nl_snapshot(udev, &s);
	hdr = genlmsg_put(msg, portid, seq, &uvirtio_genl_family, flags,
			  UVIRTIO_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (uvirtio_nl_put_ids(msg, udev->dev, udev->virtio_id) ||
	    (s.owner_pid &&
	     nla_put_u32(msg, UVIRTIO_ATTR_OWNER_PID, s.owner_pid)) ||
	    nla_put_u32(msg, UVIRTIO_ATTR_FLAGS, s.flags) ||
	    (s.keepalive_ms &&
	     nla_put_u32(msg, UVIRTIO_ATTR_KEEPALIVE_MS, s.keepalive_ms)) ||
	    nla_put_u64_64bit(msg, UVIRTIO_ATTR_PINNED_PAGES, s.pinned_pages,
			      UVIRTIO_ATTR_PAD) ||
	    nla_put_u32(msg, UVIRTIO_ATTR_MAPPINGS, s.mappings) ||
	    nla_put_u64_64bit(msg, UVIRTIO_ATTR_COHERENT_BYTES,
			      s.coherent_bytes, UVIRTIO_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, UVIRTIO_ATTR_INTERRUPTS, s.interrupts,
			      UVIRTIO_ATTR_PAD)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

static int uvirtio_nl_dev_get_doit(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct uvirtio_device *udev;
	struct sk_buff *msg;
	struct nlattr *attr;
	int ret = -ENODEV;
	u32 addr;

	if (GENL_REQ_ATTR_CHECK(info, UVIRTIO_ATTR_PCI_ADDR))
		return -EINVAL;
	attr = info->attrs[UVIRTIO_ATTR_PCI_ADDR];
	addr = nla_get_u32(attr);

	msg = genlmsg_new(uvirtio_nl_dev_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&uvirtio_devices_lock);
	list_for_each_entry(udev, &uvirtio_devices, node) {
		if (!uvirtio_is_mmio(udev) && udev->pci_addr == addr) {
			ret = uvirtio_nl_fill_dev(msg, udev, info->snd_portid,
						  info->snd_seq, 0);
			break;
		}
	}
	mutex_unlock(&uvirtio_devices_lock);
	if (ret) {
		if (ret == -ENODEV)
			NL_SET_ERR_MSG_ATTR(info->extack, attr,
					    "no such device bound to uvirtio");
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/*
 * cb->args[0] is the number of devices already dumped.  A device bound or
 * unbound between two parts of a dump may be skipped or repeated.
 */
static int uvirtio_nl_dev_get_dumpit(struct sk_buff *skb,
				     struct netlink_callback *cb)
{
	struct uvirtio_device *udev;
	long idx = 0;
	int ret = 0;

	mutex_lock(&uvirtio_devices_lock);
	list_for_each_entry(udev, &uvirtio_devices, node) {
		if (idx < cb->args[0]) {
			idx++;
			continue;
		}
		ret = uvirtio_nl_fill_dev(skb, udev,
					  NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (ret)
			break;
		idx++;
	}
	mutex_unlock(&uvirtio_devices_lock);
	cb->args[0] = idx;
	/* A device that does not fit an empty skb would loop forever. */
	if (ret && !skb->len)
		return ret;
	return skb->len;
}

/**
 * uvirtio_nl_notify() - multicast a UVIRTIO_CMD_EVENT
 * @dev: the PCI function or virtio-mmio platform device the event is about
 * @virtio_id: the virtio device type of a platform device (0 if not known
 *	yet); ignored for PCI, whose ids tell it
 * @event: enum uvirtio_genl_event
 * @pid: pid of the owner in the initial pid namespace, or 0 for none
 * @err: negative errno for UVIRTIO_EVENT_ERROR, else 0
 *
 * Best effort: an event that cannot be allocated or that nobody listens
 * to is dropped silently.  Takes no uvirtio lock but uvirtio_nl_sem
 * (innermost), so callers may hold uvirtio_device.lock.
 *
 * Context: process context, may sleep.
 */
void uvirtio_nl_notify(struct device *dev, u32 virtio_id, u32 event,
		       pid_t pid, int err)
{
	struct sk_buff *msg;
	void *hdr;

	might_sleep();
	down_read(&uvirtio_nl_sem);
	if (!uvirtio_nl_registered ||
	    !genl_has_listeners(&uvirtio_genl_family, &init_net,
				UVIRTIO_NL_MCGRP_EVENTS))
		goto out;
	msg = genlmsg_new(uvirtio_nl_dev_size(), GFP_KERNEL);
	if (!msg)
		goto out;
	hdr = genlmsg_put(msg, 0, 0, &uvirtio_genl_family, 0,
			  UVIRTIO_CMD_EVENT);
	if (!hdr)
		goto err_free;
	if (nla_put_u32(msg, UVIRTIO_ATTR_EVENT, event) ||
	    uvirtio_nl_put_ids(msg, dev, virtio_id) ||
	    (pid && nla_put_u32(msg, UVIRTIO_ATTR_OWNER_PID, pid)) ||
	    (err && nla_put_u32(msg, UVIRTIO_ATTR_ERROR, -err)))
		goto err_free;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&uvirtio_genl_family, msg, 0,
			  UVIRTIO_NL_MCGRP_EVENTS, GFP_KERNEL);
	goto out;

err_free:
	nlmsg_free(msg);
out:
	up_read(&uvirtio_nl_sem);
}

/**
 * uvirtio_netlink_register() - register the generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int uvirtio_netlink_register(void)
{
	int ret;

	ret = genl_register_family(&uvirtio_genl_family);
	if (ret)
		return ret;
	down_write(&uvirtio_nl_sem);
	uvirtio_nl_registered = true;
	up_write(&uvirtio_nl_sem);
	return 0;
}

/**
 * uvirtio_netlink_unregister() - unregister the generic netlink family
 *
 * Events raised afterwards (devices unbound by module unload) are dropped.
 */
void uvirtio_netlink_unregister(void)
{
	down_write(&uvirtio_nl_sem);
	uvirtio_nl_registered = false;
	up_write(&uvirtio_nl_sem);
	genl_unregister_family(&uvirtio_genl_family);
}
