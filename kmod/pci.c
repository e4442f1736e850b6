// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: the PCI driver.  It binds only to virtio functions whose
 * driver_override names it, so it never takes a device from virtio-pci.
 */
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "compat.h"
#include "uvirtio.h"

#define UVIRTIO_DRV_NAME	"uvirtio"
#define PCI_VENDOR_ID_VIRTIO	0x1af4

static struct pci_driver uvirtio_pci_driver;

static int uvirtio_pci_cfg_read(void *ctx, unsigned int off, u8 *val)
{
	return pcibios_err_to_errno(pci_read_config_byte(ctx, off, val));
}

static void uvirtio_probe_msix(struct uvirtio_device *udev)
{
	struct pci_dev *pdev = udev->pdev;
	u32 table, pba;
	u16 ctrl;
	unsigned int bar;

	if (!pdev->msix_cap)
		return;
	pci_read_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, &ctrl);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_TABLE, &table);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba);
	udev->num_msix = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	for (bar = 0; bar < UVIRTIO_NUM_BARS; bar++)
		uvirtio_msix_range(table, pba, udev->num_msix, bar,
				   &udev->msix_start[bar], &udev->msix_end[bar]);
}

static int uvirtio_map_bars(struct uvirtio_device *udev)
{
	struct pci_dev *pdev = udev->pdev;
	unsigned int bar;

	for (bar = 0; bar < UVIRTIO_NUM_BARS; bar++) {
		udev->bar_len[bar] = pci_resource_len(pdev, bar);
		udev->bar_flags[bar] = pci_resource_flags(pdev, bar);
		if (!udev->bar_len[bar])
			continue;
		udev->bar_map[bar] = pci_iomap(pdev, bar, 0);
		if (!udev->bar_map[bar])
			return -ENOMEM;
	}
	return 0;
}

static void uvirtio_unmap_bars(struct uvirtio_device *udev)
{
	unsigned int bar;

	for (bar = 0; bar < UVIRTIO_NUM_BARS; bar++) {
		if (udev->bar_map[bar])
			pci_iounmap(udev->pdev, udev->bar_map[bar]);
		udev->bar_map[bar] = NULL;
	}
}

static int uvirtio_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct uvirtio_device *udev;
	int ret;

	/* Only ever bind when an administrator asked for it explicitly. */
	if (!uvirtio_driver_override_is(pdev, &uvirtio_pci_driver))
		return -ENODEV;
	/* driver_override bypasses the id table: check it again. */
	if (pdev->vendor != PCI_VENDOR_ID_VIRTIO || pdev->device < 0x1000 ||
	    pdev->device > 0x107f || pdev->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return -ENODEV;

	udev = uvirtio_device_alloc();
	if (IS_ERR(udev)) {
		ret = PTR_ERR(udev);
		goto err_notify;
	}
	udev->pdev = pci_dev_get(pdev);
	udev->dev = &pdev->dev;
	udev->transport = UVIRTIO_DEVICE_TRANSPORT_PCI;
	udev->pci_addr = UVIRTIO_PCI_ADDR(pci_domain_nr(pdev->bus),
					  pdev->bus->number,
					  PCI_SLOT(pdev->devfn),
					  PCI_FUNC(pdev->devfn));
	udev->virtio_id = uvirtio_virtio_id(pdev->device,
					    pdev->subsystem_device);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_put;
	ret = pci_request_regions(pdev, UVIRTIO_DRV_NAME);
	if (ret)
		goto err_disable;
	/*
	 * uvirtio never uses the DMA API (driver_managed_dma below), but the
	 * mask bounds the IOVAs it hands out and is reported to user space.
	 */
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret)
		goto err_release;
	ret = uvirtio_map_bars(udev);
	if (ret)
		goto err_unmap;
	/* The device must not DMA until someone owns it. */
	pci_clear_master(pdev);

	ret = uvirtio_parse_virtio_caps(uvirtio_pci_cfg_read, pdev,
					udev->bar_len, udev->vcaps);
	if (ret)
		pci_warn(pdev, "malformed capability list (%d), no virtio 1.x structures used\n",
			 ret);
	udev->legacy = pdev->device < 0x1040 &&
		       (udev->bar_flags[0] & IORESOURCE_IO);
	udev->has_flr = !pcie_reset_flr(pdev, true);
	uvirtio_probe_msix(udev);

	pci_set_drvdata(pdev, udev);
	uvirtio_debugfs_add(udev);
	mutex_lock(&uvirtio_devices_lock);
	list_add_tail(&udev->node, &uvirtio_devices);
	mutex_unlock(&uvirtio_devices_lock);
	pci_info(pdev, "bound to uvirtio (virtio type %u)\n", udev->virtio_id);
	uvirtio_nl_notify(&pdev->dev, 0, UVIRTIO_EVENT_BOUND, 0, 0);
	return 0;

err_unmap:
	uvirtio_unmap_bars(udev);
err_release:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_put:
	/* Frees the inode and the page and drops the pci_dev reference. */
	uvirtio_device_put(udev);
err_notify:
	/* Every failure of a function meant for uvirtio is an event. */
	uvirtio_nl_notify(&pdev->dev, 0, UVIRTIO_EVENT_ERROR, 0, ret);
	return ret;
}

static void uvirtio_remove(struct pci_dev *pdev)
{
	struct uvirtio_device *udev = pci_get_drvdata(pdev);
	pid_t owner = 0;
	bool kept;

	/* First, so no stats reader runs into a half torn-down device. */
	debugfs_remove_recursive(udev->debugfs);

	mutex_lock(&uvirtio_devices_lock);
	list_del(&udev->node);
	mutex_unlock(&uvirtio_devices_lock);

	/*
	 * Do not wait for the owner.  Revoke first, so user space can no
	 * longer touch the BARs, then quiesce the hardware while it is
	 * still ours and free what the owner held.  release() later frees
	 * the rest (the fd, the struct, the pci_dev reference).
	 */
	mutex_lock(&udev->lock);
	uvirtio_device_revoke(udev);
	if (udev->owner) {
		owner = pid_nr(udev->owner_pid);
		pci_info(pdev, "removed while open by pid %d\n", owner);
		/*
		 * Surprise removal: the function no longer answers.  The
		 * IOMMU domain goes here, while the function is still in
		 * its group (it leaves it right after remove() returns);
		 * buffers the owner still has mapped keep their memory.
		 */
		uvirtio_device_teardown(udev, pci_device_is_present(pdev));
	}
	/* Held for a re-attach that can no longer come: free it now. */
	kept = uvirtio_keepalive_end(udev);
	if (kept)
		uvirtio_device_teardown(udev, pci_device_is_present(pdev));
	uvirtio_unmap_bars(udev);
	mutex_unlock(&udev->lock);
	/* The expiry work takes udev->lock: wait for it only now. */
	cancel_delayed_work_sync(&udev->ka_work);
	if (kept) {
		uvirtio_nl_notify(&pdev->dev, 0, UVIRTIO_EVENT_RELEASED, 0, 0);
		uvirtio_device_put(udev);
	}

	if (owner)
		uvirtio_nl_notify(&pdev->dev, 0, UVIRTIO_EVENT_REMOVED, owner, 0);
	uvirtio_nl_notify(&pdev->dev, 0, UVIRTIO_EVENT_UNBOUND, 0, 0);

	pci_clear_master(pdev);
	/*
	 * Teardown leaves INTx disabled while the function stays ours with
	 * no handler; the next driver gets it enabled, as at power-on, now
	 * that the function is reset and quiet (virtio-pci's INTx mode
	 * requests the line without touching the bit).
	 */
	if (pci_device_is_present(pdev))
		pci_intx(pdev, 1);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	pci_set_drvdata(pdev, NULL);
	uvirtio_device_put(udev);
}

/*
 * Every virtio function; probe() narrows it to device ids 0x1000-0x107f
 * and to functions whose driver_override is "uvirtio".  There is
 * deliberately no MODULE_DEVICE_TABLE(): the module must not be loaded
 * automatically for every virtio device.
 */
static const struct pci_device_id uvirtio_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_VIRTIO, PCI_ANY_ID) },
	{ }
};

static struct pci_driver uvirtio_pci_driver = {
	.name = UVIRTIO_DRV_NAME,
	.id_table = uvirtio_ids,
	.probe = uvirtio_probe,
	.remove = uvirtio_remove,
	/*
	 * No kernel DMA API use: binding does not make the IOMMU group's
	 * DMA the kernel's, so an open can claim it (iommu.c).
	 */
	.driver_managed_dma = true,
};

/**
 * uvirtio_pci_register() - register the PCI driver
 *
 * Return: 0 or a negative errno.
 */
int uvirtio_pci_register(void)
{
	return pci_register_driver(&uvirtio_pci_driver);
}

/**
 * uvirtio_pci_unregister() - unregister the PCI driver
 *
 * Calls remove() for every bound function.
 */
void uvirtio_pci_unregister(void)
{
	pci_unregister_driver(&uvirtio_pci_driver);
}
