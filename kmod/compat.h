/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uvirtio: hide kernel API differences between the kernels we build for
 * (Debian 6.1 and 6.12).  Every helper here is a thin inline wrapper; the
 * rest of the module calls only these for the APIs listed.
 *
 * The UVIRTIO_HAVE_* symbols come from header probes in Kbuild rather
 * than from LINUX_VERSION_CODE, because distribution kernels backport
 * API changes (Debian 6.12.y has the 6.16 driver_override rework).
 */
#ifndef _UVIRTIO_COMPAT_H
#define _UVIRTIO_COMPAT_H

#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <net/genetlink.h>

#ifdef UVIRTIO_HAVE_DEVICE_DRIVER_OVERRIDE
/**
 * uvirtio_dev_override_is() - does a device's driver_override name @name?
 * @dev: the device (PCI or platform)
 * @name: the driver name
 *
 * driver_override moved from struct pci_dev and struct platform_device
 * into struct device (with its own lock) upstream; Debian backported that
 * to 6.12.y.  Kbuild defines UVIRTIO_HAVE_DEVICE_DRIVER_OVERRIDE when the
 * header has the helper.
 *
 * Return: true if the override names @name.
 */
static inline bool uvirtio_dev_override_is(struct device *dev,
					   const char *name)
{
	/*
	 * Open-coded device_match_driver_override(): sparse cannot follow
	 * the guard() that helper uses and reports a context imbalance.
	 */
	bool match;

	spin_lock(&dev->driver_override.lock);
	match = dev->driver_override.name &&
		!strcmp(dev->driver_override.name, name);
	spin_unlock(&dev->driver_override.lock);
	return match;
}
#endif

/**
 * uvirtio_driver_override_is() - does a PCI function's driver_override
 *	name @drv?
 * @pdev: the PCI function
 * @drv: the driver
 *
 * Return: true if @pdev's driver_override names @drv.
 */
static inline bool uvirtio_driver_override_is(struct pci_dev *pdev,
					      struct pci_driver *drv)
{
#ifdef UVIRTIO_HAVE_DEVICE_DRIVER_OVERRIDE
	return uvirtio_dev_override_is(&pdev->dev, drv->name);
#else
	return pdev->driver_override &&
	       !strcmp(pdev->driver_override, drv->name);
#endif
}

/**
 * uvirtio_platform_override_is() - does a platform device's
 *	driver_override name @drv?
 * @pdev: the platform device
 * @drv: the driver
 *
 * Return: true if @pdev's driver_override names @drv.
 */
static inline bool uvirtio_platform_override_is(struct platform_device *pdev,
						struct platform_driver *drv)
{
#ifdef UVIRTIO_HAVE_DEVICE_DRIVER_OVERRIDE
	return uvirtio_dev_override_is(&pdev->dev, drv->driver.name);
#else
	return pdev->driver_override &&
	       !strcmp(pdev->driver_override, drv->driver.name);
#endif
}

/* eventfd_signal() lost its "n" argument in 6.8. */
static inline void uvirtio_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef UVIRTIO_HAVE_EVENTFD_SIGNAL_1
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/* vm_flags became read-only behind vm_flags_set() in 6.3. */
static inline void uvirtio_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#ifdef UVIRTIO_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * Multicast groups that need CAP_NET_ADMIN to join arrived in 6.7 and
 * were backported to 6.1.y (Debian 6.1 has them).  Without the flag any
 * user may subscribe, as with every other family on such a kernel.
 */
#ifdef GENL_MCAST_CAP_NET_ADMIN
#define UVIRTIO_GENL_MCAST_ADMIN	GENL_MCAST_CAP_NET_ADMIN
#else
#define UVIRTIO_GENL_MCAST_ADMIN	0
#endif

/*
 * A paging domain for a device: iommu_paging_domain_alloc() (6.11) took
 * over from iommu_domain_alloc(bus).
 * Return: the domain or NULL.
 */
static inline struct iommu_domain *uvirtio_compat_domain_alloc(struct device *dev)
{
#ifdef UVIRTIO_HAVE_PAGING_DOMAIN_ALLOC
	struct iommu_domain *d = iommu_paging_domain_alloc(dev);

	return IS_ERR(d) ? NULL : d;
#else
	return iommu_domain_alloc(dev->bus);
#endif
}

/* iommu_map_sg() gained a gfp_t argument in 6.3. */
static inline ssize_t
uvirtio_compat_iommu_map_sgtable(struct iommu_domain *d, unsigned long iova,
				 struct sg_table *sgt, int prot)
{
#ifdef UVIRTIO_HAVE_IOMMU_MAP_GFP
	return iommu_map_sg(d, iova, sgt->sgl, sgt->orig_nents, prot,
			    GFP_KERNEL_ACCOUNT);
#else
	return iommu_map_sg(d, iova, sgt->sgl, sgt->orig_nents, prot);
#endif
}

/*
 * Are the device's MSIs isolated (interrupt remapping)?  6.3 replaced
 * IOMMU_CAP_INTR_REMAP and irq_domain_check_msi_remap() with
 * iommu_group_has_isolated_msi().  VFIO type1 asks the same question.
 */
static inline bool uvirtio_compat_isolated_msi(struct device *dev,
					       struct iommu_group *group)
{
#ifdef UVIRTIO_HAVE_GROUP_ISOLATED_MSI
	return iommu_group_has_isolated_msi(group);
#else
	return irq_domain_check_msi_remap() ||
	       device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP);
#endif
}

/* MODULE_IMPORT_NS() takes a string literal from 6.13 on. */
#ifdef UVIRTIO_HAVE_STRING_NS
#define UVIRTIO_IMPORT_KUNIT_NS MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING")
#else
#define UVIRTIO_IMPORT_KUNIT_NS MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING)
#endif

#endif /* _UVIRTIO_COMPAT_H */
