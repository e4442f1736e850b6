/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uvirtio: drive virtio PCI and virtio-mmio devices from user space.
 *
 * Object model
 * ------------
 * /dev/uvirtio is a control node.  Opening it gives a *control fd*, which
 * can report the API version, list the PCI functions bound to the uvirtio
 * driver, and open one of them.  UVIRTIO_DEVICE_OPEN returns a new *device
 * fd*; a device has at most one open device fd at a time (the owner).
 *
 * The device fd carries everything else:
 *  - ioctls for information, DMA, interrupts and reset;
 *  - mmap() of memory BARs and of kernel-allocated DMA buffers;
 *  - pread()/pwrite() of PCI config space and of BARs;
 *  - poll(), which reports EPOLLHUP | EPOLLERR once the device is gone.
 *
 * File offsets on the device fd are split into a region index (the bits
 * from UVIRTIO_OFFSET_SHIFT up) and an offset inside that region, see
 * UVIRTIO_REGION_OFFSET().
 *
 * Every ioctl takes a pointer to a struct whose first member is
 * ``__u32 size``, set by the caller to sizeof() the struct it was compiled
 * with.  The kernel accepts smaller structs down to the size of the first
 * release of that struct, and larger structs as long as every byte it does
 * not know is zero (otherwise E2BIG).  Unknown flags and non-zero reserved
 * members are rejected with EINVAL.  Unknown ioctl numbers give ENOTTY.
 */
#ifndef _UAPI_LINUX_UVIRTIO_H
#define _UAPI_LINUX_UVIRTIO_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** UVIRTIO_API_VERSION - version reported by UVIRTIO_GET_API_VERSION */
#define UVIRTIO_API_VERSION	1

#define UVIRTIO_TYPE		0xB9
#define UVIRTIO_CMD_BASE	0x40

enum {
	UVIRTIO_CMD_GET_API_VERSION = UVIRTIO_CMD_BASE,
	UVIRTIO_CMD_LIST_DEVICES,
	UVIRTIO_CMD_DEVICE_OPEN,
	UVIRTIO_CMD_DEVICE_GET_INFO,
	UVIRTIO_CMD_REGION_GET_INFO,
	UVIRTIO_CMD_DMA_MAP,
	UVIRTIO_CMD_DMA_UNMAP,
	UVIRTIO_CMD_DMA_ALLOC,
	UVIRTIO_CMD_DMA_FREE,
	UVIRTIO_CMD_IRQ_ENABLE,
	UVIRTIO_CMD_IRQ_DISABLE,
	UVIRTIO_CMD_IRQ_SET_EVENTFD,
	UVIRTIO_CMD_IRQ_SET_AFFINITY,
	UVIRTIO_CMD_IRQ_MASK,
	UVIRTIO_CMD_IRQ_TRIGGER,
	UVIRTIO_CMD_DEVICE_RESET,
	UVIRTIO_CMD_SET_REMOVE_EVENTFD,
	UVIRTIO_CMD_IOVA_RANGES,
	UVIRTIO_CMD_KEEPALIVE,
	UVIRTIO_CMD_DMA_LIST,
};

/**
 * struct uvirtio_api_version - UVIRTIO_GET_API_VERSION (control fd)
 * @size: sizeof(struct uvirtio_api_version)
 * @flags: Must be 0
 * @version: Output, UVIRTIO_API_VERSION of the running module
 * @__reserved: Must be 0
 * @caps: Output, bitmap of UVIRTIO_CAP_* the running module supports
 *
 * Returns @version = UVIRTIO_API_VERSION (1) and @caps, the UVIRTIO_CAP_*
 * bits the module implements.  Extensions made since keep the version at 1
 * and add a bit: UVIRTIO_CAP_OWN_DOMAIN says the module gives translated
 * devices an IOMMU domain of their own, with UVIRTIO_DMA_FIXED_IOVA,
 * UVIRTIO_IOVA_RANGES and the dma_flags, untranslated and num_iova_ranges
 * members of struct uvirtio_device_info; UVIRTIO_CAP_MMIO says the module
 * binds virtio-mmio devices too.
 *
 * Errors: EINVAL for non-zero @flags or @__reserved.
 */
struct uvirtio_api_version {
	__u32 size;
	__u32 flags;
	__u32 version;
	__u32 __reserved;
	__aligned_u64 caps;
};

/* Capabilities reported in uvirtio_api_version.caps */
#define UVIRTIO_CAP_DMA_MAP		(1ULL << 0)
#define UVIRTIO_CAP_DMA_ALLOC		(1ULL << 1)
#define UVIRTIO_CAP_MSIX		(1ULL << 2)
#define UVIRTIO_CAP_INTX		(1ULL << 3)
#define UVIRTIO_CAP_IRQ_AFFINITY	(1ULL << 4)
#define UVIRTIO_CAP_IRQ_MASK		(1ULL << 5)
#define UVIRTIO_CAP_REMOVE_EVENTFD	(1ULL << 6)
/*
 * The module gives a translated device an IOMMU domain of its own
 * (UVIRTIO_DMA_INFO_OWN_DOMAIN), in which the caller may choose IOVAs
 * (UVIRTIO_DMA_FIXED_IOVA) inside the ranges UVIRTIO_IOVA_RANGES reports.
 */
#define UVIRTIO_CAP_OWN_DOMAIN		(1ULL << 7)
/*
 * The module binds virtio-mmio platform devices too: UVIRTIO_DEVICE_OPEN
 * takes UVIRTIO_DEVICE_OPEN_PLATFORM, the device structs carry a
 * transport, and UVIRTIO_IRQ_WIRED exists.
 */
#define UVIRTIO_CAP_MMIO		(1ULL << 8)
/*
 * UVIRTIO_KEEPALIVE, UVIRTIO_DMA_LIST and re-attaching with
 * UVIRTIO_DEVICE_OPEN_REATTACH (see struct uvirtio_keepalive).
 */
#define UVIRTIO_CAP_KEEPALIVE		(1ULL << 9)

#define UVIRTIO_GET_API_VERSION \
	_IO(UVIRTIO_TYPE, UVIRTIO_CMD_GET_API_VERSION)

/**
 * UVIRTIO_PCI_ADDR - pack a PCI address the way uvirtio structs carry it
 * @domain: PCI domain (segment)
 * @bus: bus number
 * @dev: device number (0-31)
 * @fn: function number (0-7)
 */
#define UVIRTIO_PCI_ADDR(domain, bus, dev, fn) \
	(((__u32)(domain) << 16) | ((__u32)(bus) << 8) | \
	 ((__u32)(dev) << 3) | (__u32)(fn))

/** UVIRTIO_DEVICE_NAME_LEN - room for a platform device name, with its NUL */
#define UVIRTIO_DEVICE_NAME_LEN		64

/**
 * enum uvirtio_device_transport - how a device bound to uvirtio is reached
 * @UVIRTIO_DEVICE_TRANSPORT_PCI: a virtio PCI function (BARs, config
 *	space, MSI-X or INTx); identified by its PCI address
 * @UVIRTIO_DEVICE_TRANSPORT_MMIO: a virtio-mmio platform device: its
 *	register window is region 0 (pread/pwrite only, no mmap), there is
 *	no config space region, one wired interrupt (UVIRTIO_IRQ_WIRED) and
 *	no IOMMU; identified by its platform device name
 */
enum uvirtio_device_transport {
	UVIRTIO_DEVICE_TRANSPORT_PCI = 0,
	UVIRTIO_DEVICE_TRANSPORT_MMIO = 1,
};

/* Flags of struct uvirtio_device_entry */
#define UVIRTIO_DEVICE_ENTRY_OWNED	(1U << 0)
#define UVIRTIO_DEVICE_ENTRY_REMOVED	(1U << 1)
/* Kept alive with no owner, waiting for a re-attach (@keepalive_ms) */
#define UVIRTIO_DEVICE_ENTRY_KEPT	(1U << 2)

/**
 * struct uvirtio_device_entry - one device in a UVIRTIO_LIST_DEVICES result
 * @pci_addr: UVIRTIO_PCI_ADDR() of the function
 * @flags: UVIRTIO_DEVICE_ENTRY_*
 * @vendor: PCI vendor id
 * @device: PCI device id
 * @subsystem_vendor: PCI subsystem vendor id
 * @subsystem_device: PCI subsystem device id
 * @virtio_id: virtio device type (VIRTIO_ID_* of <linux/virtio_ids.h>)
 * @owner_pid: pid (in the caller's namespace) of the process that opened
 *	the device fd; 0 if none, not visible, or that process has exited
 * @transport: enum uvirtio_device_transport.  For MMIO devices @pci_addr,
 *	@vendor, @device, @subsystem_vendor and @subsystem_device are 0 (a
 *	caller whose entries end at @owner_pid sees them as such)
 * @mmio_version: virtio-mmio Version register (1 legacy, 2 modern); 0 for
 *	PCI functions
 * @name: platform device name (NUL-terminated) of an MMIO device, as
 *	UVIRTIO_DEVICE_OPEN_PLATFORM takes it; empty for PCI functions
 * @keepalive_ms: with UVIRTIO_DEVICE_ENTRY_KEPT, milliseconds left until
 *	the module gives up waiting for a re-attach (at least 1); else 0
 * @__reserved: 0
 *
 * The members from @transport on were added after the first release,
 * @keepalive_ms and @__reserved later still.
 */
struct uvirtio_device_entry {
	__u32 pci_addr;
	__u32 flags;
	__u16 vendor;
	__u16 device;
	__u16 subsystem_vendor;
	__u16 subsystem_device;
	__u32 virtio_id;
	__u32 owner_pid;
	__u32 transport;
	__u32 mmio_version;
	char name[UVIRTIO_DEVICE_NAME_LEN];
	__u32 keepalive_ms;
	__u32 __reserved;
};

/**
 * struct uvirtio_list_devices - UVIRTIO_LIST_DEVICES (control fd)
 * @size: sizeof(struct uvirtio_list_devices)
 * @flags: Must be 0
 * @count: Input, number of entries @entries can hold (may be 0);
 *         output, number of devices bound to uvirtio.  At most the input
 *         number of entries are written.
 * @entry_size: Input, sizeof(struct uvirtio_device_entry) as the caller
 *              knows it; must be at least the size of the first version
 * @entries: Input, user pointer to an array of struct uvirtio_device_entry
 *
 * Writes up to @count entries of @entry_size bytes (at least
 * sizeof(struct uvirtio_device_entry) of version 1, at most PAGE_SIZE;
 * bytes beyond the kernel's entry are zeroed) to @entries and sets @count
 * to the number of functions bound to uvirtio.  @count = 0 just returns
 * the number.  owner_pid is in the caller's pid namespace: the process
 * that opened the device fd, or 0 if unowned, not visible, or that process
 * has exited (the fd may live on in a child or another process; the old
 * number may belong to someone else by then).  The entries are gathered
 * first and copied out after the module's locks are dropped, so a slow
 * page fault on @entries holds up no probe or removal.
 *
 * Entries gained, after the first release, transport (enum
 * uvirtio_device_transport), mmio_version (1 or 2, 0 for PCI) and name
 * (UVIRTIO_DEVICE_NAME_LEN bytes, the NUL-terminated platform device name
 * of a virtio-mmio device, empty for PCI).  An MMIO entry has pci_addr and
 * the PCI ids 0; a caller whose @entry_size ends at owner_pid sees MMIO
 * devices that way.
 *
 * Errors: EINVAL (@flags, @entry_size), EFAULT (@entries), ENOMEM.
 */
struct uvirtio_list_devices {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 entry_size;
	__aligned_u64 entries;
};

#define UVIRTIO_LIST_DEVICES _IO(UVIRTIO_TYPE, UVIRTIO_CMD_LIST_DEVICES)

/* Flags of struct uvirtio_device_open */
/* Open the virtio-mmio platform device named by @name, not a PCI function */
#define UVIRTIO_DEVICE_OPEN_PLATFORM	(1U << 0)
/*
 * Take over a device kept alive by UVIRTIO_KEEPALIVE: no reset, the same
 * IOMMU domain, buffers and interrupt vectors; @token must match
 */
#define UVIRTIO_DEVICE_OPEN_REATTACH	(1U << 1)

/**
 * struct uvirtio_device_open - UVIRTIO_DEVICE_OPEN (control fd)
 * @size: sizeof(struct uvirtio_device_open)
 * @flags: Input, 0 or UVIRTIO_DEVICE_OPEN_PLATFORM
 * @pci_addr: Input, UVIRTIO_PCI_ADDR() of a function bound to uvirtio;
 *	must be 0 with UVIRTIO_DEVICE_OPEN_PLATFORM
 * @fd: Output, the new device fd (O_CLOEXEC)
 * @name: Input, with UVIRTIO_DEVICE_OPEN_PLATFORM: the platform device
 *	name (as in /sys/bus/platform/devices), non-empty and NUL-terminated
 *	within the array; without the flag every byte must be 0.  Added
 *	after the first release: a caller whose struct ends at @fd opens
 *	PCI functions only
 * @token: Input, with UVIRTIO_DEVICE_OPEN_REATTACH: the token
 *	UVIRTIO_KEEPALIVE returned to the previous owner; else 0
 * @state_handle: Output, with UVIRTIO_DEVICE_OPEN_REATTACH: the
 *	state_handle the previous owner passed to UVIRTIO_KEEPALIVE
 *	(0 if none); else 0.  @token and @state_handle were added with
 *	UVIRTIO_CAP_KEEPALIVE
 *
 * On open the virtio device is reset and the DMA regime of the fd is
 * decided, once for the life of the device fd (see enum uvirtio_iommu_mode
 * and `DMA containment`_); bus mastering is enabled unless the regime is
 * UVIRTIO_IOMMU_NONE.
 *
 * Errors, in the order they are checked (those marked *logged* also put
 * the reason in the kernel log):
 *
 * * EINVAL: an unknown flag; with UVIRTIO_DEVICE_OPEN_PLATFORM a non-zero
 *   @pci_addr or an empty or unterminated @name; without it a non-zero byte
 *   in @name; a non-zero @token without UVIRTIO_DEVICE_OPEN_REATTACH, or a
 *   non-zero @state_handle;
 * * EPERM: no CAP_SYS_RAWIO (checked before the lookup); the kernel is
 *   locked down (integrity or confidentiality, as sysfs refuses raw PCI
 *   access: LOCKDOWN_PCI_ACCESS; the lockdown LSM logs it);
 * * ENODEV: no such function (or platform device) is bound to uvirtio, or
 *   it was removed;
 * * EBUSY: the device already has an owner, or (without
 *   UVIRTIO_DEVICE_OPEN_REATTACH) it is kept alive for a re-attach;
 * * with UVIRTIO_DEVICE_OPEN_REATTACH: ENOENT if the device is not kept
 *   alive (never was, its deadline passed, or another process re-attached
 *   it), EACCES for a wrong @token; a re-attach does neither the reset nor
 *   the DMA setup below;
 * * ETIMEDOUT (*logged*: "open refused: the virtio reset timed out"): the
 *   virtio reset did not complete within a second; the device may still
 *   be doing DMA, so it stays without bus mastering;
 * * EPERM (*logged*: "open refused: MSIs are not isolated (no interrupt
 *   remapping); allow_unsafe_interrupts=1 overrides"): a device that would
 *   be translated, without isolated MSIs, unless the
 *   allow_unsafe_interrupts module parameter is set;
 * * EBUSY (*logged*, naming the other device): its IOMMU group cannot be
 *   taken: another device of the group is bound to a kernel driver ("open
 *   refused: IOMMU group shared with 0000:01:02.0, bound to virtio-pci"),
 *   or another uvirtio device fd owns the group ("open refused: IOMMU
 *   group owned by the device fd of 0000:01:02.0"; "open refused: its
 *   IOMMU group is in use by another owner" when no such device is found);
 * * ENOMEM and the IOMMU core's errors: the domain could not be made;
 * * EMFILE, ENFILE, ENOMEM: no fd or file for the device;
 * * EFAULT: @fd cannot be copied out (nothing stays open).
 */
struct uvirtio_device_open {
	__u32 size;
	__u32 flags;
	__u32 pci_addr;
	__s32 fd;
	char name[UVIRTIO_DEVICE_NAME_LEN];
	__aligned_u64 token;
	__aligned_u64 state_handle;
};

#define UVIRTIO_DEVICE_OPEN _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DEVICE_OPEN)

/**
 * enum uvirtio_iommu_mode - how a device fd's DMA is contained
 * @UVIRTIO_IOMMU_NONE: the device's DMA is not translated (see enum
 *	uvirtio_untranslated) and allow_unsafe_noiommu is off: it can do no
 *	DMA at all.  Bus Master Enable stays off and cannot be set through
 *	config space; the DMA ioctls fail with EPERM.
 * @UVIRTIO_IOMMU_TRANSLATED: the device sits in an IOMMU domain that the
 *	device fd owns, and reaches only memory mapped through the fd.  A
 *	mapping is gone from the IOMMU and its IOTLB before UVIRTIO_DMA_UNMAP,
 *	UVIRTIO_DMA_FREE or close returns, and before its pages are unpinned.
 * @UVIRTIO_IOMMU_UNSAFE: the DMA is not translated and allow_unsafe_noiommu
 *	is on: DMA ioctls work and return physical addresses, the device can
 *	reach all memory, and the kernel is tainted.
 */
enum uvirtio_iommu_mode {
	UVIRTIO_IOMMU_NONE = 0,
	UVIRTIO_IOMMU_TRANSLATED = 1,
	UVIRTIO_IOMMU_UNSAFE = 2,
};

/**
 * enum uvirtio_untranslated - why a device's DMA is not translated
 * @UVIRTIO_UNTRANSLATED_NO: it is translated (UVIRTIO_IOMMU_TRANSLATED)
 * @UVIRTIO_UNTRANSLATED_NO_IOMMU: no IOMMU covers the function (always
 *	so for virtio-mmio devices)
 * @UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM: the device does not offer
 *	VIRTIO_F_ACCESS_PLATFORM, so it may bypass the IOMMU
 * @UVIRTIO_UNTRANSLATED_LEGACY_ONLY: the function has no virtio 1.x
 *	interface; the legacy one programs physical queue addresses
 */
enum uvirtio_untranslated {
	UVIRTIO_UNTRANSLATED_NO = 0,
	UVIRTIO_UNTRANSLATED_NO_IOMMU = 1,
	UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM = 2,
	UVIRTIO_UNTRANSLATED_LEGACY_ONLY = 3,
};

/* Indices into struct uvirtio_device_info.caps */
enum uvirtio_virtio_cap_index {
	UVIRTIO_VCAP_COMMON = 0,
	UVIRTIO_VCAP_NOTIFY,
	UVIRTIO_VCAP_ISR,
	UVIRTIO_VCAP_DEVICE,
	UVIRTIO_VCAP_PCI_CFG,
	UVIRTIO_VCAP_NUM,
};

/**
 * struct uvirtio_virtio_cap - one decoded virtio PCI vendor capability
 * @present: 1 if the device has this capability, else 0
 * @bar: BAR the structure lives in
 * @cap_offset: offset of the capability in config space
 * @offset: offset of the structure inside @bar
 * @length: length of the structure
 * @notify_off_multiplier: for UVIRTIO_VCAP_NOTIFY only, else 0
 */
struct uvirtio_virtio_cap {
	__u8 present;
	__u8 bar;
	__u16 cap_offset;
	__u32 offset;
	__u32 length;
	__u32 notify_off_multiplier;
};

/* Flags of struct uvirtio_device_info */
#define UVIRTIO_DEVICE_INFO_MODERN	(1U << 0) /* virtio 1.x caps found */
#define UVIRTIO_DEVICE_INFO_LEGACY	(1U << 1) /* legacy I/O BAR0 */
#define UVIRTIO_DEVICE_INFO_INTX	(1U << 2) /* has an INTx pin */
#define UVIRTIO_DEVICE_INFO_FLR		(1U << 3) /* supports FLR */
#define UVIRTIO_DEVICE_INFO_REMOVED	(1U << 4) /* device is gone */
#define UVIRTIO_DEVICE_INFO_WIRED_IRQ	(1U << 5) /* MMIO: has its IRQ */
#define UVIRTIO_DEVICE_INFO_KEEPALIVE	(1U << 6) /* UVIRTIO_KEEPALIVE armed */
/* This fd re-attached a kept-alive device (UVIRTIO_DEVICE_OPEN_REATTACH) */
#define UVIRTIO_DEVICE_INFO_REATTACHED	(1U << 7)

/* Flags of struct uvirtio_device_info.dma_flags */
/* The device fd owns the IOMMU domain of the function's group */
#define UVIRTIO_DMA_INFO_OWN_DOMAIN	(1U << 0)
/* MSIs are isolated (interrupt remapping) */
#define UVIRTIO_DMA_INFO_ISOLATED_MSI	(1U << 1)
/* Opened with allow_unsafe_interrupts: MSIs are not isolated */
#define UVIRTIO_DMA_INFO_UNSAFE_INTERRUPTS (1U << 2)

/**
 * struct uvirtio_device_info - UVIRTIO_DEVICE_GET_INFO (device fd)
 * @size: sizeof(struct uvirtio_device_info)
 * @flags: Input: must be 0.  Output: UVIRTIO_DEVICE_INFO_*
 * @pci_addr: Output, UVIRTIO_PCI_ADDR() of the function
 * @virtio_id: Output, virtio device type
 * @vendor: Output, PCI vendor id
 * @device: Output, PCI device id
 * @subsystem_vendor: Output, PCI subsystem vendor id
 * @subsystem_device: Output, PCI subsystem device id
 * @revision: Output, PCI revision
 * @__pad: Must be 0
 * @num_regions: Output, number of region indices (UVIRTIO_REGION_*)
 * @num_msix: Output, MSI-X vectors of the device (0 if no MSI-X)
 * @iommu_mode: Output, enum uvirtio_iommu_mode
 * @max_dma_mappings: Output, the mapping cap of this device
 * @__reserved: Must be 0
 * @dma_mask: Output, highest DMA address the device can use
 * @caps: Output, decoded virtio PCI capabilities
 * @dma_flags: Output, UVIRTIO_DMA_INFO_* (ignored on input)
 * @untranslated: Output, enum uvirtio_untranslated (ignored on input)
 * @num_iova_ranges: Output, number of usable IOVA ranges (see
 *	UVIRTIO_IOVA_RANGES); 0 unless translated (ignored on input)
 * @__reserved2: Must be 0
 * @transport: Output, enum uvirtio_device_transport (ignored on input).
 *	An MMIO device reports @pci_addr, the PCI ids, @num_msix and @caps
 *	as 0, @num_regions as UVIRTIO_NUM_REGIONS with only region 0 (its
 *	register window) present
 * @mmio_version: Output, virtio-mmio Version register (1 legacy, 2
 *	modern) of an MMIO device, 0 for PCI (ignored on input)
 * @irq_type: Output, enum uvirtio_irq_type of the enabled interrupts, 0
 *	if none (a re-attached device keeps the previous owner's; ignored on
 *	input)
 * @irq_count: Output, number of enabled vectors (ignored on input)
 *
 * The PCI ids, virtio type, @num_regions (8), @num_msix, @iommu_mode,
 * @max_dma_mappings (the current max_mappings parameter), @dma_mask, and
 * the virtio capabilities decoded at probe (@caps, indexed by
 * UVIRTIO_VCAP_*: BAR, offset, length, cap_offset in config space,
 * notify_off_multiplier).
 * @flags: MODERN (a common-config capability was found), LEGACY
 * (transitional id with an I/O BAR0), INTX (has an interrupt pin), FLR,
 * REMOVED, WIRED_IRQ (an MMIO device with its interrupt line).  It works
 * after removal, with REMOVED set.
 *
 * The members from @dma_flags on were added after the first release; a
 * caller whose struct ends at @caps gets the rest cut off.  So were
 * @transport and @mmio_version, later still: a caller without them sees an
 * MMIO device as a PCI function with no BAR but region 0.  An MMIO device
 * reports the PCI ids, @num_msix and @caps as 0 and @untranslated as
 * UVIRTIO_UNTRANSLATED_NO_IOMMU.  @irq_type and @irq_count came with
 * UVIRTIO_CAP_KEEPALIVE; @flags then also reports KEEPALIVE (armed on this
 * fd) and REATTACHED (this fd re-attached a kept-alive device).
 *
 * Capabilities are parsed with these rules: the first capability of each
 * type wins; one naming a BAR above 5, with zero length, or whose
 * structure does not fit inside its BAR, is ignored; a vendor capability
 * shorter than 16 bytes (20 for notify) is ignored.  A capability list
 * that points into the standard header, runs past the end of config
 * space, or loops (more than 48 entries) is treated as corrupt: no
 * capability is reported.
 *
 * Errors: EINVAL (input @flags, @__pad, @__reserved, @__reserved2).
 */
struct uvirtio_device_info {
	__u32 size;
	__u32 flags;
	__u32 pci_addr;
	__u32 virtio_id;
	__u16 vendor;
	__u16 device;
	__u16 subsystem_vendor;
	__u16 subsystem_device;
	__u8 revision;
	__u8 __pad[3];
	__u32 num_regions;
	__u32 num_msix;
	__u32 iommu_mode;
	__u32 max_dma_mappings;
	__u32 __reserved;
	__aligned_u64 dma_mask;
	struct uvirtio_virtio_cap caps[UVIRTIO_VCAP_NUM];
	__u32 dma_flags;
	__u32 untranslated;
	__u32 num_iova_ranges;
	__u32 __reserved2;
	__u32 transport;
	__u32 mmio_version;
	__u32 irq_type;
	__u32 irq_count;
};

#define UVIRTIO_DEVICE_GET_INFO _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DEVICE_GET_INFO)

/*
 * File offsets of the device fd: region index << UVIRTIO_OFFSET_SHIFT.
 * Indices 0-5 are the BARs, UVIRTIO_REGION_CONFIG is PCI config space.
 * A virtio-mmio device has region 0 only: its 0x200-byte register window
 * (registers, then device config from 0x100), reached with pread()/pwrite()
 * of 1, 2 or 4 naturally aligned bytes (registers below 0x100: 4 bytes
 * only) and never mmap()ed: it shares a page with other devices.  Without
 * DMA (UVIRTIO_IOMMU_NONE) the writes that would hand the device a ring
 * address are refused with EPERM: QueueDesc, QueueDriver and QueueDevice
 * (Low and High), QueueReady = 1 and a non-zero QueuePFN (0 is allowed:
 * it stops a legacy queue).
 * DMA buffers from UVIRTIO_DMA_ALLOC get their own offsets (mmap only):
 * buffer number N lives at index UVIRTIO_REGION_DMA_BASE + N.  Use the
 * mmap_offset UVIRTIO_DMA_ALLOC returns rather than computing it.
 */
#define UVIRTIO_OFFSET_SHIFT		40
#define UVIRTIO_REGION_OFFSET(index)	((__u64)(index) << UVIRTIO_OFFSET_SHIFT)
#define UVIRTIO_REGION_BAR(n)		(n)
#define UVIRTIO_REGION_CONFIG		7
#define UVIRTIO_NUM_REGIONS		8
#define UVIRTIO_REGION_DMA_BASE		16

/* Flags of struct uvirtio_region_info */
#define UVIRTIO_REGION_INFO_READ	(1U << 0)
#define UVIRTIO_REGION_INFO_WRITE	(1U << 1)
#define UVIRTIO_REGION_INFO_MMAP	(1U << 2)
#define UVIRTIO_REGION_INFO_IO		(1U << 3) /* I/O port BAR */
#define UVIRTIO_REGION_INFO_MEM64	(1U << 4) /* 64-bit memory BAR */
#define UVIRTIO_REGION_INFO_PREFETCH	(1U << 5)
#define UVIRTIO_REGION_INFO_MSIX	(1U << 6) /* holds MSI-X table/PBA */

/**
 * struct uvirtio_region_info - UVIRTIO_REGION_GET_INFO (device fd)
 * @size: sizeof(struct uvirtio_region_info)
 * @flags: Input: must be 0.  Output: UVIRTIO_REGION_INFO_*
 * @index: Input, region index (0-5 BARs, UVIRTIO_REGION_CONFIG)
 * @__reserved: Must be 0
 * @region_size: Output, size in bytes (0 if the BAR is not implemented)
 * @offset: Output, file offset of the region on the device fd
 * @msix_start: Output, start of the page-aligned range holding the MSI-X
 *              table and PBA inside this BAR (UVIRTIO_REGION_INFO_MSIX)
 * @msix_end: Output, end (exclusive) of that range; mmap() and write()
 *            of any byte in [msix_start, msix_end) is refused
 *
 * @index 0-5 are the BARs, 6 the ROM (always size 0) and
 * UVIRTIO_REGION_CONFIG (7) config space.  @region_size 0 means the BAR is
 * not implemented.  @offset is the file offset of the region
 * (UVIRTIO_REGION_OFFSET(index)).  @flags: READ, WRITE, MMAP (memory BAR
 * with page-aligned address and size), IO, MEM64, PREFETCH, MSIX with
 * [@msix_start, @msix_end): the page-aligned range covering the MSI-X
 * table and/or PBA inside this BAR.
 *
 * Errors: EINVAL (@flags, @__reserved, @index above 7).
 */
struct uvirtio_region_info {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 __reserved;
	__aligned_u64 region_size;
	__aligned_u64 offset;
	__aligned_u64 msix_start;
	__aligned_u64 msix_end;
};

#define UVIRTIO_REGION_GET_INFO _IO(UVIRTIO_TYPE, UVIRTIO_CMD_REGION_GET_INFO)

/* Directions for UVIRTIO_DMA_MAP and UVIRTIO_DMA_ALLOC flags */
#define UVIRTIO_DMA_TO_DEVICE		(1U << 0) /* device reads */
#define UVIRTIO_DMA_FROM_DEVICE		(1U << 1) /* device writes */
#define UVIRTIO_DMA_BIDIRECTIONAL \
	(UVIRTIO_DMA_TO_DEVICE | UVIRTIO_DMA_FROM_DEVICE)
/*
 * Input flag: map at the IOVA given in @iova (page aligned, inside one of
 * the ranges UVIRTIO_IOVA_RANGES reports), as VFIO's MAP_DMA does.  Only
 * for UVIRTIO_IOMMU_TRANSLATED devices.
 */
#define UVIRTIO_DMA_FIXED_IOVA		(1U << 2)
/* Output flag: the whole range is one IOVA range starting at @iova */
#define UVIRTIO_DMA_CONTIGUOUS		(1U << 31)

/**
 * struct uvirtio_dma_segment - one device-visible run of a DMA mapping
 * @iova: device address of the run
 * @length: length of the run in bytes
 */
struct uvirtio_dma_segment {
	__aligned_u64 iova;
	__aligned_u64 length;
};

/**
 * struct uvirtio_dma_map - UVIRTIO_DMA_MAP (device fd)
 * @size: sizeof(struct uvirtio_dma_map)
 * @flags: Input, UVIRTIO_DMA_TO_DEVICE and/or UVIRTIO_DMA_FROM_DEVICE
 *         (at least one), optionally UVIRTIO_DMA_FIXED_IOVA
 *         (UVIRTIO_DMA_CONTIGUOUS is ignored on input).
 *         Output, plus UVIRTIO_DMA_CONTIGUOUS when the mapping is one
 *         device range (always, for a translated device).
 * @vaddr: Input, page-aligned user address
 * @length: Input, page-aligned, non-zero length
 * @handle: Output, names the mapping for UVIRTIO_DMA_UNMAP
 * @iova: Input with UVIRTIO_DMA_FIXED_IOVA, the IOVA to map at.  Output,
 *        device address of the first byte (the physical address of the
 *        first page for UVIRTIO_IOMMU_UNSAFE)
 * @nr_segments: Input, entries @segments can hold (may be 0).  Output,
 *               number of device-contiguous runs the mapping has; at most
 *               the input number are written.  Pages that are physically
 *               (or IOVA-) contiguous are merged into one run.
 * @__reserved: Must be 0
 * @segments: Input, user pointer to struct uvirtio_dma_segment[], or 0
 *            to learn only the number of runs (@nr_segments is then
 *            ignored on input)
 *
 * See `DMA`_.  The pages are pinned with FOLL_LONGTERM and accounted to
 * RLIMIT_MEMLOCK of the caller unless it has CAP_IPC_LOCK.  On a
 * translated device the mapping is one IOVA run of any length, read-only
 * for the device with UVIRTIO_DMA_TO_DEVICE alone and write-only with
 * UVIRTIO_DMA_FROM_DEVICE alone.
 *
 * Errors, in the order they are checked: ENODEV (removed); EINVAL (no
 * direction, unknown flags, non-zero @__reserved, zero length, address or
 * length not page aligned); EOVERFLOW (@vaddr + @length wraps, or longer
 * than INT_MAX pages); EPERM (UVIRTIO_IOMMU_NONE); EOPNOTSUPP
 * (UVIRTIO_DMA_FIXED_IOVA on a device that is not translated); ENOMEM
 * (more pages than RAM, RLIMIT_MEMLOCK exceeded, or out of memory); EFAULT
 * (range not mapped, or not writable for UVIRTIO_DMA_FROM_DEVICE); EINTR
 * (fatal signal while pinning); then, with the device mutex held: ENOSPC
 * (max_mappings reached), EEXIST (the user range overlaps a mapping of
 * this device fd), and for a fixed IOVA EINVAL (not page aligned),
 * EOVERFLOW (the IOVA range wraps), ERANGE (not inside one usable range,
 * see UVIRTIO_IOVA_RANGES), EEXIST (overlaps the IOVA range of another
 * mapping or buffer); ENOSPC (no free IOVA range that large); ENOMEM
 * (IOMMU page tables); finally EFAULT if the result cannot be copied out
 * (a bad @segments pointer included): nothing stays mapped.
 */
struct uvirtio_dma_map {
	__u32 size;
	__u32 flags;
	__aligned_u64 vaddr;
	__aligned_u64 length;
	__aligned_u64 handle;
	__aligned_u64 iova;
	__u32 nr_segments;
	__u32 __reserved;
	__aligned_u64 segments;
};

#define UVIRTIO_DMA_MAP _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DMA_MAP)

/**
 * struct uvirtio_dma_unmap - UVIRTIO_DMA_UNMAP (device fd)
 * @size: sizeof(struct uvirtio_dma_unmap)
 * @flags: Must be 0
 * @handle: Input, handle returned by UVIRTIO_DMA_MAP
 *
 * The mapping is gone from the device's reach (and, translated, from the
 * IOMMU and its IOTLB) before this returns, and its pages are unpinned.
 *
 * Errors: EINVAL (@flags), ENOENT (unknown @handle).
 */
struct uvirtio_dma_unmap {
	__u32 size;
	__u32 flags;
	__aligned_u64 handle;
};

#define UVIRTIO_DMA_UNMAP _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DMA_UNMAP)

/**
 * struct uvirtio_dma_alloc - UVIRTIO_DMA_ALLOC (device fd)
 * @size: sizeof(struct uvirtio_dma_alloc)
 * @flags: Input, 0 or UVIRTIO_DMA_FIXED_IOVA (buffers are always
 *         bidirectional)
 * @length: Input, non-zero length, rounded up to whole pages
 * @handle: Output, names the buffer for UVIRTIO_DMA_FREE
 * @iova: Input with UVIRTIO_DMA_FIXED_IOVA, the IOVA to map at.  Output,
 *        device address of the buffer (one contiguous range)
 * @mmap_offset: Output, offset to pass to mmap() on the device fd
 *
 * See `DMA`_.  The buffer is zeroed, cache-coherent and contiguous in
 * device space (physically contiguous for UVIRTIO_IOMMU_UNSAFE, which
 * limits its size to the page allocator's largest block).
 * UVIRTIO_DMA_FREE drops the handle and takes the buffer out of the
 * device's reach at once; the memory itself, its RLIMIT_MEMLOCK charge
 * and its place under max_mappings go when the last user mapping of it is
 * unmapped.
 *
 * Errors: EINVAL (flags other than UVIRTIO_DMA_FIXED_IOVA, zero length),
 * EOVERFLOW (length too large to round up), EPERM (UVIRTIO_IOMMU_NONE),
 * EOPNOTSUPP (fixed IOVA, not translated), ENOMEM (more than a quarter of
 * RAM in one buffer, refused even with CAP_IPC_LOCK), ENOSPC
 * (max_mappings), ENOMEM (memlock, memory; on an UNSAFE device, larger
 * than the page allocator's largest block, 4 MiB on x86), the fixed-IOVA
 * errors of UVIRTIO_DMA_MAP, ENOSPC (no IOVA space).  A failed allocation
 * never warns in the kernel log.
 */
struct uvirtio_dma_alloc {
	__u32 size;
	__u32 flags;
	__aligned_u64 length;
	__aligned_u64 handle;
	__aligned_u64 iova;
	__aligned_u64 mmap_offset;
};

#define UVIRTIO_DMA_ALLOC _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DMA_ALLOC)

/**
 * struct uvirtio_dma_free - UVIRTIO_DMA_FREE (device fd)
 * @size: sizeof(struct uvirtio_dma_free)
 * @flags: Must be 0
 * @handle: Input, handle returned by UVIRTIO_DMA_ALLOC
 *
 * Errors: EINVAL (@flags), ENOENT (unknown @handle).
 */
struct uvirtio_dma_free {
	__u32 size;
	__u32 flags;
	__aligned_u64 handle;
};

#define UVIRTIO_DMA_FREE _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DMA_FREE)

/*
 * Interrupt types.  UVIRTIO_IRQ_WIRED is the one interrupt line of a
 * virtio-mmio device, shared by its configuration and all its queues: the
 * module's handler reads InterruptStatus, writes it to InterruptACK and
 * signals vector 0's eventfd, so user space never acknowledges it.  It is
 * masked with UVIRTIO_IRQ_MASK like an MSI-X vector (the line is disabled)
 * and has no affinity control.
 */
enum uvirtio_irq_type {
	UVIRTIO_IRQ_MSIX = 1,
	UVIRTIO_IRQ_INTX = 2,
	UVIRTIO_IRQ_WIRED = 3,
};

/**
 * struct uvirtio_irq_enable - UVIRTIO_IRQ_ENABLE (device fd)
 * @size: sizeof(struct uvirtio_irq_enable)
 * @flags: Must be 0
 * @type: Input, enum uvirtio_irq_type
 * @count: Input, number of vectors (MSI-X: 1..num_msix; INTx: 1;
 *	wired: 1)
 *
 * @type UVIRTIO_IRQ_MSIX with @count 1 to num_msix, or UVIRTIO_IRQ_INTX
 * with @count 1, or on a virtio-mmio device UVIRTIO_IRQ_WIRED with @count
 * 1 (its one line; the module acknowledges it).  Vectors start without
 * eventfd and unmasked: an interrupt that arrives before an eventfd is set
 * is counted and dropped (INTx then stays masked until UVIRTIO_IRQ_MASK
 * unmasks it: read the ISR, then unmask, once the eventfd is set).  INTx
 * is enabled in the command register only after its handler is
 * installed.
 *
 * Errors: EINVAL (@flags, @type, @count); EOPNOTSUPP (no MSI-X; no INTx
 * pin or no INTx masking support; MSI-X or INTx on an MMIO device,
 * UVIRTIO_IRQ_WIRED on PCI or on an MMIO device without an interrupt);
 * EBUSY (already enabled: disable first); ENOSPC, ENOMEM.
 */
struct uvirtio_irq_enable {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 count;
};

#define UVIRTIO_IRQ_ENABLE _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IRQ_ENABLE)

/**
 * struct uvirtio_irq_disable - UVIRTIO_IRQ_DISABLE (device fd)
 * @size: sizeof(struct uvirtio_irq_disable)
 * @flags: Must be 0
 *
 * Frees every vector and drops every eventfd; it succeeds when nothing is
 * enabled.
 *
 * Errors: EINVAL (@flags).
 */
struct uvirtio_irq_disable {
	__u32 size;
	__u32 flags;
};

#define UVIRTIO_IRQ_DISABLE _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IRQ_DISABLE)

/**
 * struct uvirtio_irq_set_eventfd - UVIRTIO_IRQ_SET_EVENTFD (device fd)
 * @size: sizeof(struct uvirtio_irq_set_eventfd)
 * @flags: Must be 0
 * @index: Input, vector index (0 for INTx)
 * @fd: Input, eventfd to signal, or -1 to clear.  Replaces any previous.
 *
 * Sets, replaces or (@fd = -1) clears the eventfd of vector @index.
 *
 * Errors: EINVAL (@flags, vector not enabled, @fd is not an eventfd),
 * EBADF.
 */
struct uvirtio_irq_set_eventfd {
	__u32 size;
	__u32 flags;
	__u32 index;
	__s32 fd;
};

#define UVIRTIO_IRQ_SET_EVENTFD _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IRQ_SET_EVENTFD)

/**
 * struct uvirtio_irq_set_affinity - UVIRTIO_IRQ_SET_AFFINITY (device fd)
 * @size: sizeof(struct uvirtio_irq_set_affinity)
 * @flags: Must be 0
 * @index: Input, MSI-X vector index
 * @cpu: Input, CPU that should receive the vector, or -1 for any
 *
 * Routes MSI-X vector @index to @cpu (irq_set_affinity()), or to any
 * online CPU with @cpu = -1.
 *
 * Errors: EINVAL (@flags, not an enabled MSI-X vector, CPU not online or
 * out of range), the errors of irq_set_affinity().
 */
struct uvirtio_irq_set_affinity {
	__u32 size;
	__u32 flags;
	__u32 index;
	__s32 cpu;
};

#define UVIRTIO_IRQ_SET_AFFINITY _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IRQ_SET_AFFINITY)

/* Flags of struct uvirtio_irq_mask */
#define UVIRTIO_IRQ_MASK_UNMASK	(1U << 0) /* unmask instead of mask */

/**
 * struct uvirtio_irq_mask - UVIRTIO_IRQ_MASK (device fd)
 * @size: sizeof(struct uvirtio_irq_mask)
 * @flags: Input, 0 to mask, UVIRTIO_IRQ_MASK_UNMASK to unmask
 * @index: Input, vector index (0 for INTx)
 * @__reserved: Must be 0
 *
 * Masks (@flags = 0) or unmasks (UVIRTIO_IRQ_MASK_UNMASK) vector @index;
 * repeating the current state is a no-op.  MSI-X vectors are masked with
 * disable_irq()/enable_irq() (the IRQ core masks the vector in the MSI-X
 * table, lazily on x86); an interrupt raised while masked is not lost: it
 * is delivered on unmask.  INTx is masked with the command register's
 * Interrupt Disable bit.  The INTx handler masks automatically each time
 * the line fires (pci_check_and_mask_intx(), so shared lines work); unmask
 * after reading the virtio ISR.
 *
 * Errors: EINVAL (unknown @flags, @__reserved, vector not enabled).
 */
struct uvirtio_irq_mask {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 __reserved;
};

#define UVIRTIO_IRQ_MASK _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IRQ_MASK)

/**
 * struct uvirtio_irq_trigger - UVIRTIO_IRQ_TRIGGER (device fd)
 * @size: sizeof(struct uvirtio_irq_trigger)
 * @flags: Must be 0
 * @index: Input, vector index whose eventfd the kernel signals, as if the
 *         device had raised it (for tests)
 * @__reserved: Must be 0
 *
 * Signals vector @index's eventfd from the kernel as if the device had
 * raised it (a loopback for tests; it is not counted as a device
 * interrupt).  Nothing happens if the vector has no eventfd.
 *
 * Errors: EINVAL (@flags, @__reserved, vector not enabled).
 */
struct uvirtio_irq_trigger {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 __reserved;
};

#define UVIRTIO_IRQ_TRIGGER _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IRQ_TRIGGER)

/* Flags of struct uvirtio_device_reset */
#define UVIRTIO_RESET_FLR	(1U << 0) /* also a PCI function reset */

/**
 * struct uvirtio_device_reset - UVIRTIO_DEVICE_RESET (device fd)
 * @size: sizeof(struct uvirtio_device_reset)
 * @flags: Input, 0 or UVIRTIO_RESET_FLR
 *
 * Writes 0 to the virtio device status (common configuration, or the
 * legacy I/O status register) and, for modern devices, polls until it
 * reads back 0, for at most one second.  With UVIRTIO_RESET_FLR the
 * function is first reset with pci_try_reset_function(), which saves and
 * restores config space, including MSI-X state.  A plain reset does not
 * touch BAR mappings; a function reset zaps them for its duration (see
 * `Lifetime rules`_).
 *
 * Errors: EINVAL (@flags); EOPNOTSUPP (FLR without FLR support; no way to
 * reach the status register); EAGAIN (the PCI core holds the device
 * lock); ETIMEDOUT.
 */
struct uvirtio_device_reset {
	__u32 size;
	__u32 flags;
};

#define UVIRTIO_DEVICE_RESET _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DEVICE_RESET)

/**
 * struct uvirtio_set_remove_eventfd - UVIRTIO_SET_REMOVE_EVENTFD (device fd)
 * @size: sizeof(struct uvirtio_set_remove_eventfd)
 * @flags: Must be 0
 * @fd: Input, eventfd signalled when the device is removed, or -1
 * @__reserved: Must be 0
 *
 * Sets (or with @fd = -1 clears) an eventfd signalled when the function
 * is removed.
 *
 * Errors: EINVAL (@flags, @__reserved, not an eventfd), EBADF.
 */
struct uvirtio_set_remove_eventfd {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 __reserved;
};

#define UVIRTIO_SET_REMOVE_EVENTFD \
	_IO(UVIRTIO_TYPE, UVIRTIO_CMD_SET_REMOVE_EVENTFD)

/**
 * struct uvirtio_iova_range - one usable range of IOVAs
 * @start: first IOVA of the range
 * @last: last IOVA of the range (inclusive)
 */
struct uvirtio_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct uvirtio_iova_ranges - UVIRTIO_IOVA_RANGES (device fd)
 * @size: sizeof(struct uvirtio_iova_ranges)
 * @flags: Must be 0
 * @num_ranges: Input, entries @ranges can hold (may be 0).  Output,
 *              number of usable ranges; at most the input number are
 *              written
 * @__reserved: Must be 0
 * @ranges: Input, user pointer to struct uvirtio_iova_range[]
 *
 * The IOVA ranges a translated device fd may map at with
 * UVIRTIO_DMA_FIXED_IOVA, ascending, as struct uvirtio_iova_range (@last
 * inclusive).  @num_ranges returns how many there are (num_iova_ranges of
 * UVIRTIO_DEVICE_GET_INFO is the same number).  They are the IOMMU
 * domain's aperture and the device's DMA mask less the group's reserved
 * regions: on x86 the interrupt window 0xfee00000-0xfeefffff, and whatever
 * the firmware reserves.
 *
 * Errors: EINVAL (@flags, @__reserved), EOPNOTSUPP (not
 * UVIRTIO_IOMMU_TRANSLATED), EFAULT.
 */
struct uvirtio_iova_ranges {
	__u32 size;
	__u32 flags;
	__u32 num_ranges;
	__u32 __reserved;
	__aligned_u64 ranges;
};

#define UVIRTIO_IOVA_RANGES _IO(UVIRTIO_TYPE, UVIRTIO_CMD_IOVA_RANGES)

/* Flags of struct uvirtio_keepalive */
#define UVIRTIO_KEEPALIVE_DISARM	(1U << 0) /* back to reset on release */

/**
 * struct uvirtio_keepalive - UVIRTIO_KEEPALIVE (device fd)
 * @size: sizeof(struct uvirtio_keepalive)
 * @flags: Input, 0 to arm, UVIRTIO_KEEPALIVE_DISARM to disarm
 * @timeout_ms: Input, when armed: how long the device is held for a
 *	re-attach after the fd is released, 1 to the keepalive_max_ms module
 *	parameter; 0 with UVIRTIO_KEEPALIVE_DISARM
 * @__reserved: Must be 0
 * @state_handle: Input, when armed: a UVIRTIO_DMA_ALLOC handle that the
 *	re-attaching process is told about (where the owner keeps the state
 *	it needs to carry on), or 0; 0 with UVIRTIO_KEEPALIVE_DISARM
 * @token: Output, when armed: the token a re-attach must present
 *
 * Keep-alive lets a driver process be replaced (upgraded, or restarted
 * after a crash) without a device reset.  Once armed, releasing the
 * device fd (close, or the process dying) does not reset the device:
 *
 * - the device keeps running with bus mastering on; its IOMMU domain and
 *   every UVIRTIO_DMA_ALLOC buffer stay mapped at the same IOVAs, so
 *   requests in flight complete into them;
 * - every UVIRTIO_DMA_MAP mapping of user memory is unmapped (IOTLB
 *   flushed) and unpinned: user pages are never left in the device's
 *   reach once their process is gone.  A request in flight that uses
 *   such memory faults in the IOMMU; keep rings and buffers that must
 *   survive in UVIRTIO_DMA_ALLOC memory;
 * - the interrupt vectors stay enabled with their eventfds dropped; each
 *   vector latches what arrives (INTx also stays masked by its handler)
 *   and signals once as soon as the next owner sets its eventfd;
 * - the device is held for @timeout_ms.  UVIRTIO_DEVICE_OPEN with
 *   UVIRTIO_DEVICE_OPEN_REATTACH and the token gets a device fd on the
 *   same state (and disarms keep-alive: the new owner arms it again, for
 *   a new token).  If nobody re-attaches in time, the module resets the
 *   device and frees everything, as on an ordinary release.  Unbinding
 *   or removing the function does that at once.
 *
 * Arming again replaces the token and the timeout.
 *
 * Errors: EOPNOTSUPP unless the device is UVIRTIO_IOMMU_TRANSLATED
 * (without its own IOMMU domain the module cannot take user pages out of
 * the device's reach while it runs on); EPERM if the keepalive_max_ms
 * module parameter is 0; EINVAL for unknown flags, non-zero
 * @__reserved, a @timeout_ms of 0 or above keepalive_max_ms, or non-zero
 * members with UVIRTIO_KEEPALIVE_DISARM; ENOENT for an unknown
 * @state_handle.
 */
struct uvirtio_keepalive {
	__u32 size;
	__u32 flags;
	__u32 timeout_ms;
	__u32 __reserved;
	__aligned_u64 state_handle;
	__aligned_u64 token;
};

#define UVIRTIO_KEEPALIVE _IO(UVIRTIO_TYPE, UVIRTIO_CMD_KEEPALIVE)

/**
 * struct uvirtio_dma_buf_entry - one buffer in a UVIRTIO_DMA_LIST result
 * @handle: its UVIRTIO_DMA_ALLOC handle
 * @iova: device address
 * @length: length in bytes (whole pages)
 * @mmap_offset: offset to pass to mmap() on the device fd
 */
struct uvirtio_dma_buf_entry {
	__aligned_u64 handle;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 mmap_offset;
};

/**
 * struct uvirtio_dma_list - UVIRTIO_DMA_LIST (device fd)
 * @size: sizeof(struct uvirtio_dma_list)
 * @flags: Must be 0
 * @count: Input, entries @entries can hold (may be 0).  Output, number
 *	of UVIRTIO_DMA_ALLOC buffers the device fd holds; at most the input
 *	number are written, in ascending handle order
 * @entry_size: Input, sizeof(struct uvirtio_dma_buf_entry) as the caller
 *	knows it (at least 32, at most 4096)
 * @entries: Input, user pointer to the array
 *
 * What a re-attaching process uses to find the buffers the previous
 * owner left (and to free the ones it does not claim).
 */
struct uvirtio_dma_list {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 entry_size;
	__aligned_u64 entries;
};

#define UVIRTIO_DMA_LIST _IO(UVIRTIO_TYPE, UVIRTIO_CMD_DMA_LIST)

/*
 * ======================================================================
 * Generic netlink control plane
 * ======================================================================
 *
 * The module registers the generic netlink family UVIRTIO_GENL_NAME.  It
 * answers UVIRTIO_CMD_DEV_GET (one device by PCI address, or a dump of
 * every device bound to uvirtio) and multicasts UVIRTIO_CMD_EVENT
 * messages to the group UVIRTIO_GENL_MCGRP_EVENTS.  Both need
 * CAP_NET_ADMIN.  Requests are validated strictly: an attribute the
 * command does not take, or one of the wrong type or length, is EINVAL.
 * Integer attributes are in host byte order.
 */

/** UVIRTIO_GENL_NAME - name of the generic netlink family */
#define UVIRTIO_GENL_NAME		"uvirtio"
/** UVIRTIO_GENL_VERSION - version of the generic netlink family */
#define UVIRTIO_GENL_VERSION		1
/** UVIRTIO_GENL_MCGRP_EVENTS - multicast group of UVIRTIO_CMD_EVENT */
#define UVIRTIO_GENL_MCGRP_EVENTS	"events"

/**
 * enum uvirtio_genl_cmd - generic netlink commands
 * @UVIRTIO_CMD_UNSPEC: invalid
 * @UVIRTIO_CMD_DEV_GET: request with UVIRTIO_ATTR_PCI_ADDR: reply with
 *	that device, ENODEV if no such device is bound to uvirtio.
 *	Request with NLM_F_DUMP (no attributes): one reply per bound
 *	device.  Replies carry every device attribute below.
 * @UVIRTIO_CMD_EVENT: notification only, sent to the "events" group;
 *	carries UVIRTIO_ATTR_EVENT and the identity attributes of the
 *	device (PCI address, virtio id, vendor and device ids), plus
 *	UVIRTIO_ATTR_OWNER_PID and UVIRTIO_ATTR_ERROR where they apply
 * @__UVIRTIO_CMD_MAX: internal
 * @UVIRTIO_CMD_MAX: highest command number
 */
enum uvirtio_genl_cmd {
	UVIRTIO_CMD_UNSPEC,
	UVIRTIO_CMD_DEV_GET,
	UVIRTIO_CMD_EVENT,

	__UVIRTIO_CMD_MAX,
	UVIRTIO_CMD_MAX = __UVIRTIO_CMD_MAX - 1
};

/**
 * enum uvirtio_genl_attr - generic netlink attributes
 * @UVIRTIO_ATTR_UNSPEC: invalid
 * @UVIRTIO_ATTR_PCI_ADDR: u32, UVIRTIO_PCI_ADDR() of the function; the
 *	only attribute a request may carry
 * @UVIRTIO_ATTR_VIRTIO_ID: u32, virtio device type
 * @UVIRTIO_ATTR_VENDOR: u16, PCI vendor id
 * @UVIRTIO_ATTR_DEVICE: u16, PCI device id
 * @UVIRTIO_ATTR_SUBSYSTEM_VENDOR: u16, PCI subsystem vendor id
 * @UVIRTIO_ATTR_SUBSYSTEM_DEVICE: u16, PCI subsystem device id
 * @UVIRTIO_ATTR_OWNER_PID: u32, pid of the process that opened the device
 *	fd; in DEV_GET replies in the requester's pid namespace (absent if
 *	not visible there or if that process has exited), in events in the
 *	initial pid namespace
 * @UVIRTIO_ATTR_FLAGS: u32, UVIRTIO_DEVICE_ENTRY_* flags
 * @UVIRTIO_ATTR_PINNED_PAGES: u64, pages pinned by DMA mappings
 * @UVIRTIO_ATTR_MAPPINGS: u32, DMA mappings held
 * @UVIRTIO_ATTR_COHERENT_BYTES: u64, bytes of coherent DMA buffers held
 * @UVIRTIO_ATTR_INTERRUPTS: u64, interrupts seen on all vectors since
 *	interrupts were last enabled
 * @UVIRTIO_ATTR_EVENT: u32, enum uvirtio_genl_event
 * @UVIRTIO_ATTR_ERROR: u32, positive errno of a UVIRTIO_EVENT_ERROR
 * @UVIRTIO_ATTR_PAD: padding for 64-bit attributes, ignore
 * @UVIRTIO_ATTR_TRANSPORT: u32, enum uvirtio_device_transport; in every
 *	reply and event.  For an MMIO device UVIRTIO_ATTR_PCI_ADDR is 0 and
 *	the PCI id attributes are absent; DEV_GET requests name PCI
 *	functions only (MMIO devices appear in dumps)
 * @UVIRTIO_ATTR_PLATFORM_NAME: string, platform device name of an MMIO
 *	device (absent for PCI)
 * @UVIRTIO_ATTR_KEEPALIVE_MS: u32, with UVIRTIO_DEVICE_ENTRY_KEPT in
 *	UVIRTIO_ATTR_FLAGS: milliseconds left until a kept-alive device is
 *	reset and freed (DEV_GET replies only)
 * @__UVIRTIO_ATTR_MAX: internal
 * @UVIRTIO_ATTR_MAX: highest attribute number
 */
enum uvirtio_genl_attr {
	UVIRTIO_ATTR_UNSPEC,
	UVIRTIO_ATTR_PCI_ADDR,
	UVIRTIO_ATTR_VIRTIO_ID,
	UVIRTIO_ATTR_VENDOR,
	UVIRTIO_ATTR_DEVICE,
	UVIRTIO_ATTR_SUBSYSTEM_VENDOR,
	UVIRTIO_ATTR_SUBSYSTEM_DEVICE,
	UVIRTIO_ATTR_OWNER_PID,
	UVIRTIO_ATTR_FLAGS,
	UVIRTIO_ATTR_PINNED_PAGES,
	UVIRTIO_ATTR_MAPPINGS,
	UVIRTIO_ATTR_COHERENT_BYTES,
	UVIRTIO_ATTR_INTERRUPTS,
	UVIRTIO_ATTR_EVENT,
	UVIRTIO_ATTR_ERROR,
	UVIRTIO_ATTR_PAD,
	UVIRTIO_ATTR_TRANSPORT,
	UVIRTIO_ATTR_PLATFORM_NAME,
	UVIRTIO_ATTR_KEEPALIVE_MS,

	__UVIRTIO_ATTR_MAX,
	UVIRTIO_ATTR_MAX = __UVIRTIO_ATTR_MAX - 1
};

/**
 * enum uvirtio_genl_event - UVIRTIO_ATTR_EVENT values
 * @UVIRTIO_EVENT_UNSPEC: invalid
 * @UVIRTIO_EVENT_BOUND: a function was bound to uvirtio
 * @UVIRTIO_EVENT_UNBOUND: a function left uvirtio (unbind or hot-unplug);
 *	the last event of a binding.  Unloading the module sends none: the
 *	family itself goes away first (nlctrl CTRL_CMD_DELFAMILY).
 * @UVIRTIO_EVENT_OPENED: a device fd was opened; UVIRTIO_ATTR_OWNER_PID
 * @UVIRTIO_EVENT_RELEASED: the device fd was closed (or its process
 *	died) and everything it held was freed; UVIRTIO_ATTR_OWNER_PID
 * @UVIRTIO_EVENT_REMOVED: the function went away while a device fd was
 *	open (hot-unplug or unbind while owned); UVIRTIO_ATTR_OWNER_PID.
 *	Sent before UVIRTIO_EVENT_UNBOUND.
 * @UVIRTIO_EVENT_RESET: the owner reset the device (UVIRTIO_DEVICE_RESET
 *	succeeded); UVIRTIO_ATTR_OWNER_PID
 * @UVIRTIO_EVENT_ERROR: something failed without a caller to tell:
 *	binding failed, or a reset on release or removal timed out;
 *	UVIRTIO_ATTR_ERROR holds the errno
 * @UVIRTIO_EVENT_KEPT: the device fd was released with keep-alive armed:
 *	the device is held, not reset, for a re-attach;
 *	UVIRTIO_ATTR_OWNER_PID is the previous owner.  Either
 *	UVIRTIO_EVENT_OPENED (re-attached) or UVIRTIO_EVENT_RELEASED (the
 *	deadline passed, or the function was unbound) follows
 * @__UVIRTIO_EVENT_MAX: internal
 * @UVIRTIO_EVENT_MAX: highest event number
 */
enum uvirtio_genl_event {
	UVIRTIO_EVENT_UNSPEC,
	UVIRTIO_EVENT_BOUND,
	UVIRTIO_EVENT_UNBOUND,
	UVIRTIO_EVENT_OPENED,
	UVIRTIO_EVENT_RELEASED,
	UVIRTIO_EVENT_REMOVED,
	UVIRTIO_EVENT_RESET,
	UVIRTIO_EVENT_ERROR,
	UVIRTIO_EVENT_KEPT,

	__UVIRTIO_EVENT_MAX,
	UVIRTIO_EVENT_MAX = __UVIRTIO_EVENT_MAX - 1
};

#endif /* _UAPI_LINUX_UVIRTIO_H */
