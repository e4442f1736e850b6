// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: DMA containment - the regime a device fd gets at open, and the
 * IOMMU domain a translated device fd owns.
 *
 * A device fd is TRANSLATED only when every DMA the function can do goes
 * through an IOMMU that uvirtio controls: the function has an IOMMU
 * group, it is a modern virtio device, and it offers
 * VIRTIO_F_ACCESS_PLATFORM (a device that does not may bypass the IOMMU,
 * as QEMU's do).  Then, like VFIO type1 and iommufd, uvirtio:
 *
 * - claims DMA ownership of the whole group (iommu_group_claim_dma_owner()),
 *   which fails while any device of the group is bound to a kernel driver
 *   that uses the DMA API, and keeps such drivers from binding meanwhile;
 * - allocates an unmanaged paging domain and attaches the group to it.
 *   The kernel's DMA API never touches that domain: its flush queue (lazy
 *   mode) and identity domains (iommu=pt) do not apply;
 * - maps exact IOVA runs with iommu_map_sg() and unmaps them with
 *   iommu_unmap(), which flushes the IOTLB before it returns, so a page is
 *   out of the device's reach before it is unpinned or freed.
 *
 * It also requires isolated MSIs (interrupt remapping): without them a
 * device write to the MSI window is an interrupt of its choosing, so open
 * fails unless allow_unsafe_interrupts is set, which taints.
 *
 * Otherwise the fd is NONE (no DMA at all: Bus Master Enable stays off)
 * or, with allow_unsafe_noiommu, UNSAFE (physical addresses, tainted).
 *
 * IOVAs of a translated fd are tracked in an interval tree of every
 * mapping and buffer (@udev->iova_tree, under @udev->lock).  The usable
 * ranges are the domain's aperture and the device's DMA mask less the
 * group's reserved regions, computed once at open.
 */
#include <kunit/visibility.h>
#include <linux/error-injection.h>
#include <linux/interval_tree_generic.h>
#include <linux/iommu.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "compat.h"
#include "uvirtio.h"

bool uvirtio_allow_unsafe_noiommu;
module_param_named(allow_unsafe_noiommu, uvirtio_allow_unsafe_noiommu, bool,
		   0644);
MODULE_PARM_DESC(allow_unsafe_noiommu,
		 "Allow DMA that no IOMMU translates (taints the kernel; the device can reach all memory)");

bool uvirtio_allow_unsafe_interrupts;
module_param_named(allow_unsafe_interrupts, uvirtio_allow_unsafe_interrupts,
		   bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Open translated devices without interrupt remapping (taints the kernel; the device can raise any interrupt)");

#define UVIRTIO_IOVA_START(n)	((n)->start)
#define UVIRTIO_IOVA_LAST(n)	((n)->last)

INTERVAL_TREE_DEFINE(struct uvirtio_iova_node, rb, u64, subtree_last,
		     UVIRTIO_IOVA_START, UVIRTIO_IOVA_LAST, static __maybe_unused,
		     uvirtio_iova_tree)

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * uvirtio_iova_tree_add() - insert a node, for the KUnit tests
 * @tree: the tree
 * @node: the node, with @start and @last set
 */
void uvirtio_iova_tree_add(struct rb_root_cached *tree,
			   struct uvirtio_iova_node *node)
{
	uvirtio_iova_tree_insert(node, tree);
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_iova_tree_add);
#endif

/* Module-chosen IOVAs start above the first MiB, so that 0 is never one. */
#define UVIRTIO_IOVA_FLOOR	SZ_1M

/**
 * uvirtio_iova_check() - may [@iova, @iova + @len) be mapped?
 * @r: usable ranges, ascending and disjoint
 * @n: number of entries in @r
 * @iova: first IOVA
 * @len: length in bytes
 *
 * Return: 0; -EINVAL for a zero length or an IOVA or length that is not
 * page aligned; -EOVERFLOW if the range wraps; -ERANGE if it does not lie
 * inside one usable range.
 */
VISIBLE_IF_KUNIT int uvirtio_iova_check(const struct uvirtio_iova_range *r,
					unsigned int n, u64 iova, u64 len)
{
	unsigned int i;
	u64 last;

	if (!len || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(len))
		return -EINVAL;
	if (check_add_overflow(iova, len - 1, &last))
		return -EOVERFLOW;
	for (i = 0; i < n; i++)
		if (iova >= r[i].start && last <= r[i].last)
			return 0;
	return -ERANGE;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_iova_check);

/**
 * uvirtio_iova_exclude() - remove [@start, @last] from a set of ranges
 * @r: ranges, ascending and disjoint; room for @max entries
 * @n: number of entries in @r
 * @max: capacity of @r
 * @start: first IOVA to remove
 * @last: last IOVA to remove (inclusive)
 *
 * Return: the new number of entries, or -ENOSPC if a split needs more
 * than @max.
 */
VISIBLE_IF_KUNIT int uvirtio_iova_exclude(struct uvirtio_iova_range *r,
					  unsigned int n, unsigned int max,
					  u64 start, u64 last)
{
	unsigned int i = 0;

	if (start > last)
		return n;
	while (i < n) {
		struct uvirtio_iova_range *c = &r[i];

		if (last < c->start || start > c->last) {
			i++;
			continue;
		}
		if (start <= c->start && last >= c->last) {
			/* covered: drop it */
			memmove(c, c + 1, (n - i - 1) * sizeof(*c));
			n--;
			continue;
		}
		if (start > c->start && last < c->last) {
			/* inside: split in two */
			if (n == max)
				return -ENOSPC;
			memmove(c + 1, c, (n - i) * sizeof(*c));
			c->last = start - 1;
			c[1].start = last + 1;
			return n + 1;
		}
		if (start <= c->start)
			c->start = last + 1;
		else
			c->last = start - 1;
		i++;
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_iova_exclude);

/**
 * uvirtio_iova_find() - first free, aligned IOVA run of @len bytes
 * @tree: IOVAs in use
 * @r: usable ranges, ascending and disjoint
 * @n: number of entries in @r
 * @len: length (page multiple, non-zero)
 * @align: alignment (power of two, at least PAGE_SIZE)
 * @from: search starts at this IOVA; below it only if nothing is free
 *	above
 * @iova: output
 *
 * Return: 0 or -ENOSPC.
 */
VISIBLE_IF_KUNIT int uvirtio_iova_find(struct rb_root_cached *tree,
				       const struct uvirtio_iova_range *r,
				       unsigned int n, u64 len, u64 align,
				       u64 from, u64 *iova)
{
	unsigned int pass, i;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			struct uvirtio_iova_node *used;
			u64 lo = max3(r[i].start, (u64)UVIRTIO_IOVA_FLOOR,
				      pass ? 0 : from);
			u64 cand, last;

			if (lo > r[i].last || lo > U64_MAX - (align - 1))
				continue;
			cand = ALIGN(lo, align);
			while (!check_add_overflow(cand, len - 1, &last) &&
			       last <= r[i].last) {
				used = uvirtio_iova_tree_iter_first(tree, cand,
								    last);
				if (!used) {
					*iova = cand;
					return 0;
				}
				if (used->last > U64_MAX - align)
					break;
				cand = ALIGN(used->last + 1, align);
			}
		}
		if (!from)
			break;
	}
	return -ENOSPC;
}
EXPORT_SYMBOL_IF_KUNIT(uvirtio_iova_find);

/**
 * uvirtio_iova_insert() - claim an IOVA run for a mapping or buffer
 * @udev: the device, translated
 * @node: the run's node; @node->start/@node->last set on success
 * @len: length (page multiple)
 * @fixed: use @iova as given (UVIRTIO_DMA_FIXED_IOVA)
 * @iova: the IOVA for @fixed
 *
 * Context: @udev->lock held.
 * Return: 0; for @fixed the errors of uvirtio_iova_check() and -EEXIST
 * if the run overlaps one in use; -ENOSPC if no run is free.
 */
static int uvirtio_iova_insert(struct uvirtio_device *udev,
			       struct uvirtio_iova_node *node, u64 len,
			       bool fixed, u64 iova)
{
	int ret;

	lockdep_assert_held(&udev->lock);
	if (fixed) {
		ret = uvirtio_iova_check(udev->iova_ranges, udev->nr_iova_ranges,
					 iova, len);
		if (ret)
			return ret;
		if (uvirtio_iova_tree_iter_first(&udev->iova_tree, iova,
						 iova + len - 1))
			return -EEXIST;
	} else {
		ret = uvirtio_iova_find(&udev->iova_tree, udev->iova_ranges,
					udev->nr_iova_ranges, len,
					len >= SZ_2M ? SZ_2M : PAGE_SIZE,
					udev->iova_hint, &iova);
		if (ret)
			return ret;
		udev->iova_hint = iova + len;
	}
	node->start = iova;
	node->last = iova + len - 1;
	uvirtio_iova_tree_insert(node, &udev->iova_tree);
	return 0;
}

/**
 * uvirtio_iova_remove() - give an IOVA run back
 * @udev: the device
 * @node: a node uvirtio_iova_insert() inserted
 *
 * Context: @udev->lock held.
 */
static void uvirtio_iova_remove(struct uvirtio_device *udev,
				struct uvirtio_iova_node *node)
{
	lockdep_assert_held(&udev->lock);
	uvirtio_iova_tree_remove(node, &udev->iova_tree);
}

/**
 * uvirtio_iommu_map_pages() - map pages at consecutive IOVAs
 * @udev: the device, translated
 * @iova: first IOVA
 * @pages: the pages
 * @npages: number of pages
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 *
 * Physically contiguous pages are mapped as one run, so huge pages get
 * large IOMMU pages where the IOVA alignment allows.  All or nothing.
 * Error-injection point (see uvirtio.h): running out of IOMMU page-table
 * memory cannot be provoked otherwise.
 *
 * Context: process context, @udev->lock held.
 * Return: 0 or -ENOMEM.
 */
noinline int uvirtio_iommu_map_pages(struct uvirtio_device *udev, u64 iova,
				     struct page **pages, unsigned long npages,
				     int prot)
{
	u64 len = (u64)npages << PAGE_SHIFT;
	struct sg_table sgt;
	ssize_t mapped;

	if (sg_alloc_table_from_pages(&sgt, pages, npages, 0, len,
				      GFP_KERNEL_ACCOUNT))
		return -ENOMEM;
	mapped = uvirtio_compat_iommu_map_sgtable(udev->domain, iova, &sgt,
						  prot | udev->iommu_prot);
	sg_free_table(&sgt);
	if (mapped == len)
		return 0;
	/* iommu_map_sg() undoes a partial mapping itself. */
	return -ENOMEM;
}
ALLOW_ERROR_INJECTION(uvirtio_iommu_map_pages, ERRNO);

/**
 * uvirtio_iommu_unmap() - unmap an IOVA run and flush the IOTLB
 * @udev: the device, translated
 * @iova: first IOVA
 * @len: length in bytes
 *
 * iommu_unmap() syncs the IOTLB before it returns: when this returns the
 * device can no longer reach the pages, whatever mode the kernel's own
 * DMA domains use.
 *
 * Context: process context, @udev->lock held.
 */
static void uvirtio_iommu_unmap(struct uvirtio_device *udev, u64 iova,
				u64 len)
{
	size_t done = iommu_unmap(udev->domain, iova, len);

	WARN_ON_ONCE(done != len);
}

/**
 * uvirtio_iova_map() - claim an IOVA run and map pages there
 * @udev: the device, translated
 * @node: the run's node; @node->start is the IOVA on success
 * @fixed: map at @iova (UVIRTIO_DMA_FIXED_IOVA), else uvirtio chooses
 * @iova: the IOVA for @fixed
 * @pages: the pages
 * @npages: number of pages
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 *
 * All or nothing: on failure the run is free again.
 *
 * Context: process context, @udev->lock held.
 * Return: 0, the errors of uvirtio_iova_insert(), or -ENOMEM.
 */
int uvirtio_iova_map(struct uvirtio_device *udev,
		     struct uvirtio_iova_node *node, bool fixed, u64 iova,
		     struct page **pages, unsigned long npages, int prot)
{
	int ret;

	ret = uvirtio_iova_insert(udev, node, (u64)npages << PAGE_SHIFT,
				  fixed, iova);
	if (ret)
		return ret;
	ret = uvirtio_iommu_map_pages(udev, node->start, pages, npages, prot);
	if (ret)
		uvirtio_iova_remove(udev, node);
	return ret;
}

/**
 * uvirtio_iova_unmap() - undo uvirtio_iova_map()
 * @udev: the device, translated
 * @node: the run
 *
 * The IOTLB is flushed before this returns (uvirtio_iommu_unmap()): only
 * then may the pages go.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_iova_unmap(struct uvirtio_device *udev,
			struct uvirtio_iova_node *node)
{
	uvirtio_iommu_unmap(udev, node->start, node->last - node->start + 1);
	uvirtio_iova_remove(udev, node);
}

/* Does the device offer VIRTIO_F_ACCESS_PLATFORM?  Read the features. */
static bool uvirtio_offers_access_platform(struct uvirtio_device *udev)
{
	const struct uvirtio_virtio_cap *c = &udev->vcaps[UVIRTIO_VCAP_COMMON];
	void __iomem *common;

	if (!c->present || !udev->bar_map[c->bar] ||
	    c->length < VIRTIO_PCI_COMMON_DF + 4)
		return false;
	common = udev->bar_map[c->bar] + c->offset;
	iowrite32(VIRTIO_F_ACCESS_PLATFORM / 32,
		  common + VIRTIO_PCI_COMMON_DFSELECT);
	return ioread32(common + VIRTIO_PCI_COMMON_DF) &
	       BIT(VIRTIO_F_ACCESS_PLATFORM % 32);
}

static u32 uvirtio_untranslated_reason(struct uvirtio_device *udev,
				       struct iommu_group *group)
{
	if (!group || !device_iommu_mapped(&udev->pdev->dev))
		return UVIRTIO_UNTRANSLATED_NO_IOMMU;
	if (!udev->vcaps[UVIRTIO_VCAP_COMMON].present)
		return UVIRTIO_UNTRANSLATED_LEGACY_ONLY;
	if (!uvirtio_offers_access_platform(udev))
		return UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM;
	return UVIRTIO_UNTRANSLATED_NO;
}

static const char *uvirtio_untranslated_name(u32 reason)
{
	switch (reason) {
	case UVIRTIO_UNTRANSLATED_NO_IOMMU:
		return "no IOMMU";
	case UVIRTIO_UNTRANSLATED_LEGACY_ONLY:
		return "legacy-only device";
	default:
		return "device does not offer VIRTIO_F_ACCESS_PLATFORM";
	}
}

/* What uvirtio_log_group_user() looks for, and how many it found */
struct uvirtio_group_scan {
	struct uvirtio_device *udev;
	bool ours;
	int found;
};

/*
 * Log each other device of the group that may keep us from taking it:
 * first those bound to a kernel driver, then (if there are none) those
 * bound to uvirtio, one of which owns the group through its device fd.
 * A device merely bound to uvirtio does not block the claim (uvirtio
 * declares driver_managed_dma), so it is named only when no kernel
 * driver can be the reason.  Only the driver pointer of the other device
 * is looked at, never its driver data: it may be going away.
 */
static int uvirtio_log_group_user(struct device *dev, void *data)
{
	struct uvirtio_group_scan *scan = data;
	struct device *self = &scan->udev->pdev->dev;
	struct device_driver *drv = READ_ONCE(dev->driver);
	bool ours = drv == self->driver;

	if (dev == self || !drv || ours != scan->ours)
		return 0;
	scan->found++;
	if (scan->ours)
		pci_warn(scan->udev->pdev,
			 "open refused: IOMMU group owned by the device fd of %s\n",
			 dev_name(dev));
	else
		pci_warn(scan->udev->pdev,
			 "open refused: IOMMU group shared with %s, bound to %s\n",
			 dev_name(dev), drv->name);
	return 0;
}

static void uvirtio_log_group_users(struct uvirtio_device *udev,
				    struct iommu_group *group)
{
	struct uvirtio_group_scan scan = { .udev = udev };

	iommu_group_for_each_dev(group, &scan, uvirtio_log_group_user);
	if (scan.found)
		return;
	scan.ours = true;
	iommu_group_for_each_dev(group, &scan, uvirtio_log_group_user);
	if (!scan.found)
		pci_warn(udev->pdev, "open refused: its IOMMU group is in use by another owner\n");
}

/* Usable IOVA ranges: aperture and DMA mask less the reserved regions. */
static int uvirtio_iova_ranges_init(struct uvirtio_device *udev,
				    struct iommu_group *group)
{
	struct iommu_domain_geometry *geo = &udev->domain->geometry;
	struct iommu_resv_region *resv, *tmp;
	struct uvirtio_iova_range *r;
	unsigned int nresv = 0, max;
	LIST_HEAD(list);
	int n = 1, ret;

	ret = iommu_get_group_resv_regions(group, &list);
	if (ret)
		goto out;
	list_for_each_entry(resv, &list, list)
		nresv++;
	max = nresv + 1;
	r = kcalloc(max, sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		ret = -ENOMEM;
		goto out;
	}
	r[0].start = 0;
	r[0].last = dma_get_mask(&udev->pdev->dev);
	if (geo->force_aperture) {
		r[0].start = max_t(u64, r[0].start, geo->aperture_start);
		r[0].last = min_t(u64, r[0].last, geo->aperture_end);
	}
	if (r[0].start > r[0].last)
		n = 0;
	list_for_each_entry(resv, &list, list) {
		if (!resv->length)
			continue;
		n = uvirtio_iova_exclude(r, n, max, resv->start,
					 resv->start + resv->length - 1);
		if (n < 0) {
			kfree(r);
			ret = n;
			goto out;
		}
	}
	udev->iova_ranges = r;
	udev->nr_iova_ranges = n;
	ret = 0;
out:
	/* iommu_get_group_resv_regions() hands out kmalloc()ed copies. */
	list_for_each_entry_safe(resv, tmp, &list, list)
		kfree(resv);
	return ret;
}

/**
 * uvirtio_iommu_attach() - take the group and attach a domain of our own
 * @udev: the device
 * @group: its IOMMU group
 *
 * Error-injection point (see uvirtio.h): fails as when the IOMMU driver
 * runs out of domains.
 *
 * Context: process context, @udev->lock held.
 * Return: 0, -EBUSY if another driver or owner holds the group, -ENOMEM,
 * or another negative errno of the IOMMU core.
 */
noinline int uvirtio_iommu_attach(struct uvirtio_device *udev,
				  struct iommu_group *group)
{
	struct pci_dev *pdev = udev->pdev;
	int ret;

	ret = iommu_group_claim_dma_owner(group, udev);
	if (ret) {
		uvirtio_log_group_users(udev, group);
		return -EBUSY;
	}
	udev->domain = uvirtio_compat_domain_alloc(&pdev->dev);
	if (!udev->domain) {
		ret = -ENOMEM;
		goto err_release;
	}
	ret = iommu_attach_group(udev->domain, group);
	if (ret)
		goto err_free;
	ret = uvirtio_iova_ranges_init(udev, group);
	if (ret)
		goto err_detach;
	udev->iommu_prot = device_iommu_capable(&pdev->dev,
						IOMMU_CAP_CACHE_COHERENCY) ?
			   IOMMU_CACHE : 0;
	udev->group = group;
	udev->iova_tree = RB_ROOT_CACHED;
	udev->iova_hint = 0;
	return 0;

err_detach:
	iommu_detach_group(udev->domain, group);
err_free:
	iommu_domain_free(udev->domain);
	udev->domain = NULL;
err_release:
	iommu_group_release_dma_owner(group);
	return ret;
}
ALLOW_ERROR_INJECTION(uvirtio_iommu_attach, ERRNO);

/**
 * uvirtio_dma_setup() - decide the DMA regime of a new device fd
 * @udev: the device, just reset, bus mastering off
 *
 * Sets @udev->iommu_mode, @udev->untranslated and @udev->dma_flags and,
 * for a translated device, takes the group and attaches a domain.  Each
 * refusal is logged once.
 *
 * Context: process context, @udev->lock held.
 * Return: 0, -EPERM for a translated device without isolated MSIs (and
 * allow_unsafe_interrupts off), or the errors of uvirtio_iommu_attach().
 */
int uvirtio_dma_setup(struct uvirtio_device *udev)
{
	struct pci_dev *pdev = udev->pdev;
	struct iommu_group *group;
	bool isolated;
	int ret;

	lockdep_assert_held(&udev->lock);
	udev->dma_flags = 0;
	/* virtio-mmio: no IOMMU uvirtio could own, physical addresses only */
	group = pdev ? iommu_group_get(&pdev->dev) : NULL;
	udev->untranslated = pdev ? uvirtio_untranslated_reason(udev, group) :
				    UVIRTIO_UNTRANSLATED_NO_IOMMU;
	if (udev->untranslated != UVIRTIO_UNTRANSLATED_NO) {
		iommu_group_put(group);
		if (!READ_ONCE(uvirtio_allow_unsafe_noiommu)) {
			udev->iommu_mode = UVIRTIO_IOMMU_NONE;
			dev_info(udev->dev, "DMA disabled (%s); allow_unsafe_noiommu=1 allows untranslated DMA\n",
				 uvirtio_untranslated_name(udev->untranslated));
			return 0;
		}
		udev->iommu_mode = UVIRTIO_IOMMU_UNSAFE;
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
		dev_warn(udev->dev, "uvirtio device opened without IOMMU protection (%s) by %s (%d)\n",
			 uvirtio_untranslated_name(udev->untranslated),
			 current->comm, task_pid_nr(current));
		return 0;
	}

	isolated = uvirtio_compat_isolated_msi(&pdev->dev, group);
	if (!isolated && !READ_ONCE(uvirtio_allow_unsafe_interrupts)) {
		pci_warn(pdev, "open refused: MSIs are not isolated (no interrupt remapping); allow_unsafe_interrupts=1 overrides\n");
		ret = -EPERM;
		goto err_put;
	}
	ret = uvirtio_iommu_attach(udev, group);
	if (ret)
		goto err_put;
	udev->iommu_mode = UVIRTIO_IOMMU_TRANSLATED;
	udev->dma_flags = UVIRTIO_DMA_INFO_OWN_DOMAIN;
	if (isolated) {
		udev->dma_flags |= UVIRTIO_DMA_INFO_ISOLATED_MSI;
	} else {
		udev->dma_flags |= UVIRTIO_DMA_INFO_UNSAFE_INTERRUPTS;
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
		pci_warn(pdev, "uvirtio device opened without interrupt isolation by %s (%d)\n",
			 current->comm, task_pid_nr(current));
	}
	return 0;

err_put:
	iommu_group_put(group);
	return ret;
}

/**
 * uvirtio_dma_release() - give the group back to the kernel's DMA domain
 * @udev: the device; every mapping and buffer is already unmapped
 *
 * Called when the fd is released, or by remove() for a removed device;
 * a second call does nothing.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_dma_release(struct uvirtio_device *udev)
{
	lockdep_assert_held(&udev->lock);
	if (udev->domain) {
		WARN_ON(!RB_EMPTY_ROOT(&udev->iova_tree.rb_root));
		iommu_detach_group(udev->domain, udev->group);
		iommu_domain_free(udev->domain);
		iommu_group_release_dma_owner(udev->group);
		iommu_group_put(udev->group);
		udev->domain = NULL;
		udev->group = NULL;
	}
	kfree(udev->iova_ranges);
	udev->iova_ranges = NULL;
	udev->nr_iova_ranges = 0;
	/*
	 * @iommu_mode stays: after remove() GET_INFO still tells what the fd
	 * had, and the DMA ioctls fail with ENODEV before they look at it.
	 */
}

/**
 * uvirtio_ioctl_iova_ranges() - UVIRTIO_IOVA_RANGES
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * The ranges are copied to a kernel buffer here and to user space by the
 * dispatcher once the lock is dropped (see uvirtio_ucmd_respond()).
 *
 * Return: 0; -EINVAL for non-zero flags or reserved members;
 * -EOPNOTSUPP unless the device is translated; -ENOMEM.
 */
int uvirtio_ioctl_iova_ranges(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_iova_ranges *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	u32 n;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;
	if (udev->iommu_mode != UVIRTIO_IOMMU_TRANSLATED)
		return -EOPNOTSUPP;
	n = min(cmd->num_ranges, udev->nr_iova_ranges);
	if (n) {
		ucmd->extra = kmemdup(udev->iova_ranges, n * sizeof(*udev->iova_ranges),
				      GFP_KERNEL_ACCOUNT);
		if (!ucmd->extra)
			return -ENOMEM;
		ucmd->extra_len = n * sizeof(*udev->iova_ranges);
		ucmd->extra_dst = u64_to_user_ptr(cmd->ranges);
	}
	cmd->num_ranges = udev->nr_iova_ranges;
	return uvirtio_ucmd_respond(ucmd, sizeof(*cmd));
}
