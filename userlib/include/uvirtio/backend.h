/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvirtio/backend.h - backend interface of libuvirtio.
 *
 * A backend gives the library access to one PCI function: configuration
 * space, BAR registers, DMA-able memory, and interrupt vectors delivered as
 * eventfds.  Two backends ship with the library: the kernel-module backend
 * (uvirtio/kmod.h, /dev/uvirtio) and an in-process fake device
 * (uvirtio/fake.h) used by the tests.  Further backends (VFIO, ...) can be
 * plugged in by filling a struct uvirtio_backend_ops and calling
 * uvirtio_backend_new().
 *
 * Error convention: every function returns 0 (or a non-negative count) on
 * success and a negative errno value on failure.  errno itself is not part
 * of the API.
 *
 * Thread safety: a backend object may be used from several threads at once
 * provided the ops implementation is thread-safe for register accesses and
 * interrupt calls (both shipped backends are).  The DMA translation table
 * (uvirtio_backend_dma_map()/unmap()/translate()) is protected by an
 * internal reader/writer lock, so translation may run on many I/O threads
 * while another thread maps or unmaps memory.  Unmapping memory that is
 * still in flight on a queue is a caller bug.
 */
#ifndef UVIRTIO_BACKEND_H
#define UVIRTIO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** struct uvirtio_backend - opaque backend handle. */
struct uvirtio_backend;

/**
 * struct uvirtio_cap_region - one decoded virtio PCI capability.
 * @present: capability was found.
 * @bar: BAR index (0..5) the structure lives in.
 * @id: capability "id" field (distinguishes multiple caps of one type).
 * @offset: offset of the structure inside the BAR.
 * @length: length of the structure in bytes.
 * @cfg_offset: offset of the capability itself in PCI config space
 *	(0 if unknown; needed only for the PCI_CFG access window).
 */
struct uvirtio_cap_region {
	bool present;
	uint8_t bar;
	uint8_t id;
	uint16_t cfg_offset;
	uint64_t offset;
	uint64_t length;
};

/**
 * struct uvirtio_caps - decoded virtio PCI capabilities of a function.
 * @common: VIRTIO_PCI_CAP_COMMON_CFG.
 * @notify: VIRTIO_PCI_CAP_NOTIFY_CFG.
 * @isr: VIRTIO_PCI_CAP_ISR_CFG.
 * @device: VIRTIO_PCI_CAP_DEVICE_CFG.
 * @pci_cfg: VIRTIO_PCI_CAP_PCI_CFG.
 * @notify_off_multiplier: from the notify capability.
 * @has_legacy_io: BAR0 is a legacy (transitional) I/O BAR.
 * @msix_vectors: MSI-X table size (0: no MSI-X).
 */
struct uvirtio_caps {
	struct uvirtio_cap_region common;
	struct uvirtio_cap_region notify;
	struct uvirtio_cap_region isr;
	struct uvirtio_cap_region device;
	struct uvirtio_cap_region pci_cfg;
	uint32_t notify_off_multiplier;
	bool has_legacy_io;
	uint16_t msix_vectors;
};

/**
 * enum uvirtio_be_iommu - how IOVAs relate to bus addresses.
 * @UVIRTIO_BE_IOMMU_NONE: IOVAs are physical addresses (no IOMMU, or the
 *	kernel module's unsafe mode); the device may run without
 *	VIRTIO_F_ACCESS_PLATFORM.
 * @UVIRTIO_BE_IOMMU_TRANSLATED: an IOMMU translates IOVAs; the device must
 *	offer VIRTIO_F_ACCESS_PLATFORM or the library refuses to drive it.
 *
 * (Named differently from the kernel UAPI's enum uvirtio_iommu_mode so
 * both headers can be included together.)
 */
enum uvirtio_be_iommu {
	UVIRTIO_BE_IOMMU_NONE = 0,
	UVIRTIO_BE_IOMMU_TRANSLATED = 1,
};

/**
 * enum uvirtio_be_irq - what kind of interrupt a backend delivers.
 * @UVIRTIO_BE_IRQ_NONE: none: every queue is polled.
 * @UVIRTIO_BE_IRQ_MSIX: MSI-X, @num_vectors of them, each on its own
 *	eventfd; a vector needs no acknowledgement.
 * @UVIRTIO_BE_IRQ_INTX: the PCI function's INTx line as vector 0.  The
 *	backend masks it each time it fires; the driver reads the virtio
 *	ISR status register (which deasserts the line) and then unmasks it
 *	with @irq_mask(0, false).
 * @UVIRTIO_BE_IRQ_WIRED: one wired line as vector 0 (virtio-mmio) that
 *	the backend acknowledges itself: nothing to read, nothing to
 *	unmask.
 *
 * (Named differently from the kernel UAPI's enum uvirtio_irq_type.)
 */
enum uvirtio_be_irq {
	UVIRTIO_BE_IRQ_NONE = 0,
	UVIRTIO_BE_IRQ_MSIX = 1,
	UVIRTIO_BE_IRQ_INTX = 2,
	UVIRTIO_BE_IRQ_WIRED = 3,
};

/**
 * struct uvirtio_dma - a DMA buffer allocated through the backend.
 * @vaddr: CPU address (zeroed on allocation).
 * @iova: device address of @vaddr; the whole buffer is IOVA-contiguous.
 * @len: length in bytes (rounded up to the page size).
 * @handle: backend-private handle; do not touch.
 */
struct uvirtio_dma {
	void *vaddr;
	uint64_t iova;
	size_t len;
	uint64_t handle;
};

/**
 * struct uvirtio_iova_seg - one IOVA-contiguous piece of a mapping.
 * @vaddr: CPU address of the piece.
 * @iova: device address of the piece.
 * @len: length in bytes.
 */
struct uvirtio_iova_seg {
	void *vaddr;
	uint64_t iova;
	uint64_t len;
};

/**
 * struct uvirtio_backend_ops - what a backend implements.
 *
 * All callbacks return 0 / a non-negative value or a negative errno.
 * @priv is the pointer given to uvirtio_backend_new().
 *
 * @cfg_read: read @width (1, 2 or 4) bytes of PCI config space at @off.
 * @cfg_write: write @width bytes of PCI config space at @off.
 * @bar_read: read a register of @width (1, 2, 4, 8) bytes in BAR @bar.
 * @bar_write: write a register of @width bytes in BAR @bar.
 * @bar_ptr: optional; return a directly mapped pointer to @len bytes at
 *	@off in BAR @bar, or NULL if the range must be accessed through
 *	@bar_read/@bar_write (a trapping backend returns NULL).  Used only
 *	for the notify doorbell hot path.
 * @dma_alloc: allocate @len bytes of zeroed, IOVA-contiguous DMA memory.
 * @dma_free: release memory from @dma_alloc.
 * @dma_map: map caller memory [@vaddr, @vaddr + @len) for device access.
 *	On success *@segs is a malloc()ed array of *@nsegs IOVA segments
 *	covering the range in order (the library frees it) and *@handle
 *	identifies the mapping for @dma_unmap.
 * @dma_unmap: undo @dma_map.
 * @irq_eventfd: route interrupt @vector to an eventfd, preferably handled
 *	on @cpu (-1: any); returns the fd, which stays owned by the backend.
 * @irq_mask: mask (@mask true) or unmask @vector.
 * @num_vectors: number of MSI-X vectors usable (0: none; an INTx or
 *	wired backend returns 0 or 1, see @irq_kind).
 * @reset: optional function-level reset of the PCI function.
 * @get_caps: fill @caps with decoded capabilities; may return
 *	-EOPNOTSUPP, in which case the library walks config space itself.
 * @iommu_mode: return an enum uvirtio_be_iommu.
 * @close: release everything; @priv is dead afterwards.
 * @remove_fd: optional; a file descriptor (owned by the backend) that
 *	becomes readable once the device was removed (hot-unplug, unbind).
 *	Added last, so older ops tables stay valid when zero-filled.
 * @dma_map_fd: optional; as @dma_map for memory that is also reachable
 *	as [@fd_offset, +@len) of file @fd (memfd, hugetlbfs, tmpfs).
 *	Backends whose peer is another process (vhost-user) need it; a
 *	backend without it gets @dma_map and the fd is not used.
 * @removed: optional; true once the device is gone.  Without it
 *	uvirtio_backend_removed() polls @remove_fd for POLLIN.
 * @keepalive: optional; arm keep-alive for @timeout_ms (0: disarm), with
 *	the DMA allocation @state_handle (0: none) named to the process that
 *	re-attaches; store the token in *@token.  See
 *	uvirtio_backend_keepalive().
 * @restored: optional; the @i-th DMA allocation a re-attached backend
 *	found (a previous owner's), mapped into this process; -ENOENT past
 *	the last.  @is_state says whether it is the previous owner's state
 *	buffer.  The library registers each one for translation when the
 *	backend is created.
 * @irq_kind: optional; an enum uvirtio_be_irq.  Without it a backend
 *	with @num_vectors > 0 delivers MSI-X and one without delivers none.
 * @dma_alloc_sg: optional; as @dma_alloc, but the memory, contiguous in
 *	this process, may be several IOVA runs, returned as *@segs (a
 *	malloc()ed array of *@nsegs, in order; the library frees it).  A
 *	backend whose device has no IOMMU implements it to go past the
 *	largest physically contiguous block; @dma_free frees it all.
 *
 * Only @dma_alloc and @dma_free are mandatory: a backend that is no PCI
 * function (vhost-user) leaves the config and BAR callbacks NULL, and the
 * library's wrappers then return -ENODEV.
 */
struct uvirtio_backend_ops {
	int (*cfg_read)(void *priv, uint32_t off, void *buf, unsigned int width);
	int (*cfg_write)(void *priv, uint32_t off, const void *buf,
			 unsigned int width);
	int (*bar_read)(void *priv, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t *val);
	int (*bar_write)(void *priv, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t val);
	void *(*bar_ptr)(void *priv, unsigned int bar, uint64_t off,
			 uint64_t len);
	int (*dma_alloc)(void *priv, size_t len, struct uvirtio_dma *out);
	void (*dma_free)(void *priv, struct uvirtio_dma *dma);
	int (*dma_map)(void *priv, void *vaddr, size_t len, uint64_t *handle,
		       struct uvirtio_iova_seg **segs, unsigned int *nsegs);
	int (*dma_unmap)(void *priv, uint64_t handle);
	int (*irq_eventfd)(void *priv, unsigned int vector, int cpu);
	int (*irq_mask)(void *priv, unsigned int vector, bool mask);
	int (*num_vectors)(void *priv);
	int (*reset)(void *priv);
	int (*get_caps)(void *priv, struct uvirtio_caps *caps);
	int (*iommu_mode)(void *priv);
	void (*close)(void *priv);
	int (*remove_fd)(void *priv);
	int (*dma_map_fd)(void *priv, void *vaddr, size_t len, int fd,
			  uint64_t fd_offset, uint64_t *handle,
			  struct uvirtio_iova_seg **segs, unsigned int *nsegs);
	bool (*removed)(void *priv);
	int (*keepalive)(void *priv, unsigned int timeout_ms,
			 uint64_t state_handle, uint64_t *token);
	int (*restored)(void *priv, unsigned int i, struct uvirtio_dma *out,
			bool *is_state);
	int (*irq_kind)(void *priv);
	int (*dma_alloc_sg)(void *priv, size_t len, struct uvirtio_dma *out,
			    struct uvirtio_iova_seg **segs,
			    unsigned int *nsegs);
};

/**
 * struct uvirtio_mem_region - caller memory to register for DMA.
 * @addr: start of the memory in this process.
 * @len: length in bytes.
 * @fd: a file the memory is mapped from (MAP_SHARED), or -1.  Backends
 *	whose device is another process (vhost-user) can share only such
 *	memory; the kernel-module backend ignores it.
 * @fd_offset: offset of @addr in @fd.
 *
 * The shape of libblkio's struct blkio_mem_region.
 */
struct uvirtio_mem_region {
	void *addr;
	size_t len;
	int fd;
	uint64_t fd_offset;
};

/**
 * uvirtio_backend_new() - wrap an ops table into a backend object.
 * @ops: callbacks; must stay valid until uvirtio_backend_close().
 * @priv: opaque pointer passed to every callback.
 * @out: receives the new backend.
 *
 * Return: 0 or -ENOMEM / -EINVAL.
 */
int uvirtio_backend_new(const struct uvirtio_backend_ops *ops, void *priv,
			struct uvirtio_backend **out);

/**
 * uvirtio_backend_close() - close a backend (calls ops->close).
 * @be: backend, may be NULL.  All devices using it must be closed first.
 *
 * Memory registered with uvirtio_backend_dma_map() is unregistered.  DMA
 * allocations not freed stay with the device for as long as the module
 * keeps it (until the release resets it, or a keep-alive re-attach), but
 * the kmod backend unmaps them from this process: do not touch them
 * afterwards.
 */
void uvirtio_backend_close(struct uvirtio_backend *be);

/** uvirtio_backend_cfg_read() - read PCI config space (width 1, 2, 4). */
int uvirtio_backend_cfg_read(struct uvirtio_backend *be, uint32_t off,
			     void *buf, unsigned int width);
/** uvirtio_backend_cfg_write() - write PCI config space (width 1, 2, 4). */
int uvirtio_backend_cfg_write(struct uvirtio_backend *be, uint32_t off,
			      const void *buf, unsigned int width);

/**
 * uvirtio_backend_get_caps() - decoded virtio capabilities.
 * @be: backend.
 * @caps: output.
 *
 * Uses ops->get_caps when implemented, otherwise walks the PCI capability
 * list in config space (uvirtio_parse_pci_caps()).
 *
 * Return: 0 or negative errno.
 */
int uvirtio_backend_get_caps(struct uvirtio_backend *be,
			     struct uvirtio_caps *caps);

/**
 * uvirtio_parse_pci_caps() - walk PCI config space and decode virtio caps.
 * @be: backend (only cfg_read is used).
 * @caps: output.
 *
 * Bounded walk (at most 48 capabilities, pointers must lie in 0x40..0xfc,
 * dword aligned).  The first capability of each type wins, as the spec
 * asks.
 * Return: 0, -ENODEV if the device has no capability list, -EIO on a
 * malformed list.
 */
int uvirtio_parse_pci_caps(struct uvirtio_backend *be,
			   struct uvirtio_caps *caps);

/**
 * uvirtio_backend_dma_alloc() - allocate zeroed DMA memory.
 * @be: backend.
 * @len: bytes (rounded up to 4096).
 * @out: receives vaddr/iova.
 *
 * The allocation is also entered in the translation table, so
 * uvirtio_backend_translate() works on it.
 * Return: 0 or negative errno.
 */
int uvirtio_backend_dma_alloc(struct uvirtio_backend *be, size_t len,
			      struct uvirtio_dma *out);

/**
 * uvirtio_backend_dma_alloc_sg() - allocate zeroed DMA memory for data.
 * @be: backend.
 * @len: bytes (rounded up to 4096).
 * @out: receives vaddr/iova; @out->iova is the first IOVA run's.
 *
 * As uvirtio_backend_dma_alloc(), except that the memory need not be one
 * IOVA run: without an IOMMU the kernel module can hand out physically
 * contiguous blocks of at most a few MiB (the page allocator's largest),
 * and a larger buffer is then made of several, back to back in this
 * process.  uvirtio_backend_translate() gives each run, so data buffers
 * (uvirtio_blk_alloc_buf()) are split into that many segments.  Rings and
 * anything else the device needs in one piece must use
 * uvirtio_backend_dma_alloc().  A backend without @dma_alloc_sg gets
 * @dma_alloc.  Free with uvirtio_backend_dma_free().
 * Return: 0 or negative errno.
 */
int uvirtio_backend_dma_alloc_sg(struct uvirtio_backend *be, size_t len,
				 struct uvirtio_dma *out);

/** uvirtio_backend_dma_free() - free memory from uvirtio_backend_dma_alloc(). */
void uvirtio_backend_dma_free(struct uvirtio_backend *be,
			      struct uvirtio_dma *dma);

/**
 * uvirtio_backend_dma_map() - make caller memory device-accessible.
 * @be: backend.
 * @vaddr: start (any alignment; backends may map whole pages).
 * @len: length in bytes, > 0.
 *
 * Return: 0, -EEXIST if the range overlaps an existing mapping, or
 * another negative errno from the backend.
 */
int uvirtio_backend_dma_map(struct uvirtio_backend *be, void *vaddr,
			    size_t len);

/**
 * uvirtio_backend_dma_map_region() - make fd-backed memory device-accessible.
 * @be: backend.
 * @r: the region; @r->fd may be -1 on backends that pin memory.
 *
 * Undo with uvirtio_backend_dma_unmap(@r->addr).
 * Return: 0, -EINVAL, -EEXIST on overlap, -EOPNOTSUPP when the backend
 * cannot share memory without an fd, or another negative errno.
 */
int uvirtio_backend_dma_map_region(struct uvirtio_backend *be,
				   const struct uvirtio_mem_region *r);

/**
 * uvirtio_backend_dma_unmap() - undo uvirtio_backend_dma_map().
 * @be: backend.
 * @vaddr: the exact start address passed to uvirtio_backend_dma_map().
 * Return: 0 or -ENOENT.
 */
int uvirtio_backend_dma_unmap(struct uvirtio_backend *be, void *vaddr);

/**
 * uvirtio_backend_translate() - vaddr -> IOVA.
 * @be: backend.
 * @vaddr: CPU address inside a mapped or allocated region.
 * @len: bytes wanted.
 * @iova: receives the IOVA of @vaddr.
 *
 * Binary search over a sorted segment table.
 * Return: number of bytes (1..@len) that are IOVA-contiguous from @vaddr,
 * or -EFAULT if @vaddr is not mapped.  Callers loop to cover @len.
 */
int64_t uvirtio_backend_translate(struct uvirtio_backend *be,
				  const void *vaddr, uint64_t len,
				  uint64_t *iova);

/**
 * uvirtio_backend_unmap_gen() - generation of the last unmap or free.
 * @be: backend.
 *
 * For drivers that must notice a buffer unmapped while a request using it
 * is in flight: remember the generation before translating, then ask
 * uvirtio_backend_unmapped_since() when the request completes.  One
 * atomic load.
 * Return: the generation counter.
 */
uint64_t uvirtio_backend_unmap_gen(struct uvirtio_backend *be);

/**
 * uvirtio_backend_unmapped_since() - was a range unmapped after @gen?
 * @be: backend.
 * @gen: a value of uvirtio_backend_unmap_gen().
 * @vaddr: start of the range.
 * @len: its length.
 *
 * Exact for the last 64 unmaps; older ones answer true (conservative).
 * Return: true if [@vaddr, @vaddr + @len) may have been unmapped.
 */
bool uvirtio_backend_unmapped_since(struct uvirtio_backend *be, uint64_t gen,
				    const void *vaddr, uint64_t len);

/** uvirtio_backend_iommu_mode() - enum uvirtio_be_iommu of the backend. */
int uvirtio_backend_iommu_mode(struct uvirtio_backend *be);

/** uvirtio_backend_num_vectors() - usable MSI-X vectors (0: none). */
int uvirtio_backend_num_vectors(struct uvirtio_backend *be);

/**
 * uvirtio_backend_irq_kind() - enum uvirtio_be_irq of the backend.
 * @be: backend.
 *
 * Return: the backend's @irq_kind, or UVIRTIO_BE_IRQ_MSIX when it has
 * MSI-X vectors and no @irq_kind, else UVIRTIO_BE_IRQ_NONE.
 */
int uvirtio_backend_irq_kind(struct uvirtio_backend *be);

/**
 * uvirtio_backend_irq_eventfd() - eventfd signalled when @vector fires.
 * @be: backend.
 * @vector: MSI-X vector, or 0 for the INTx / wired line.
 * @cpu: preferred CPU, -1 for any.
 * Return: fd (owned by the backend) or negative errno.
 */
int uvirtio_backend_irq_eventfd(struct uvirtio_backend *be,
				unsigned int vector, int cpu);

/** uvirtio_backend_irq_mask() - mask/unmask one vector (or INTx). */
int uvirtio_backend_irq_mask(struct uvirtio_backend *be, unsigned int vector,
			     bool mask);

/** uvirtio_backend_reset() - PCI function reset (-EOPNOTSUPP if none). */
int uvirtio_backend_reset(struct uvirtio_backend *be);

/**
 * uvirtio_backend_remove_fd() - fd that becomes readable when the device goes
 * @be: backend.
 *
 * For an application's event loop: it becomes readable (POLLIN) once the
 * device was removed (or, for vhost-user, the back-end hung up).  Owned by
 * the backend: do not read or close it.
 * Return: the fd, or -ENOENT if the backend cannot tell.
 */
int uvirtio_backend_remove_fd(struct uvirtio_backend *be);

/**
 * uvirtio_backend_removed() - has the device been removed?
 * @be: backend.
 *
 * The backend's own check, or one non-blocking poll() of
 * uvirtio_backend_remove_fd().  After a
 * removal the device's registers read all-ones and writes reach nothing;
 * every later request fails with -ENODEV.
 * Return: true once the device is gone.
 */
bool uvirtio_backend_removed(struct uvirtio_backend *be);

/**
 * uvirtio_backend_keepalive() - keep the device alive across a restart.
 * @be: backend (the kmod backend on a device with its own IOMMU domain).
 * @timeout_ms: how long the device is held, not reset, once this process
 *	closes it or dies; 0 disarms (closing resets the device again).
 * @state: a DMA allocation of @be (uvirtio_backend_dma_alloc()) that the
 *	process re-attaching finds with uvirtio_backend_restored_state(), or
 *	NULL.
 * @token: receives what the re-attach must present
 *	(uvirtio_kmod_reattach()); may be NULL when disarming.
 *
 * While armed, what the device can reach across the gap is only the
 * backend's DMA allocations: memory registered with
 * uvirtio_backend_dma_map() is taken out of the device's reach when the
 * process goes, so requests in flight on it fail.  Closing an armed
 * backend neither resets the device nor disables its interrupts; its
 * allocations stay with the device.  Arming again gives a new token.
 * Return: 0, -EOPNOTSUPP if the backend or device cannot (no own IOMMU
 * domain, a module without keep-alive), -EINVAL, -ENOENT for a @state
 * that is not an allocation of @be, -EPERM if the module forbids it.
 */
int uvirtio_backend_keepalive(struct uvirtio_backend *be,
			      unsigned int timeout_ms,
			      const struct uvirtio_dma *state, uint64_t *token);

/**
 * uvirtio_backend_restored() - claim a previous owner's DMA allocation.
 * @be: a re-attached backend (uvirtio_kmod_reattach()).
 * @iova: the allocation's device address, as the previous owner saved it.
 * @out: receives the allocation, mapped in this process and registered
 *	for translation; free it with uvirtio_backend_dma_free() as any other.
 *
 * Each allocation can be claimed once.
 * Return: 0, -ENOENT if no unclaimed allocation starts at @iova.
 */
int uvirtio_backend_restored(struct uvirtio_backend *be, uint64_t iova,
			     struct uvirtio_dma *out);

/**
 * uvirtio_backend_restored_state() - claim the previous owner's state.
 * @be: a re-attached backend.
 * @out: receives the allocation the previous owner named to
 *	uvirtio_backend_keepalive().
 * Return: 0, -ENOENT if it named none (or it was claimed).
 */
int uvirtio_backend_restored_state(struct uvirtio_backend *be,
				   struct uvirtio_dma *out);

/**
 * uvirtio_backend_restored_release() - free what nobody claimed.
 * @be: a re-attached backend.
 *
 * Frees every allocation of the previous owner that was not claimed with
 * uvirtio_backend_restored() or uvirtio_backend_restored_state(): nothing
 * the device may still reach is left unaccounted for ("unrestored
 * allocations").  Call it only once every request of the previous owner
 * that might use such memory has completed.
 * Return: the number freed.
 */
unsigned int uvirtio_backend_restored_release(struct uvirtio_backend *be);

/**
 * uvirtio_backend_device_shares_cpus() - may the device need our CPUs?
 * @be: backend.
 *
 * For busy-polling loops: a device that runs on this machine's scheduler
 * (an in-process device such as the fake, or a vhost-user back-end
 * process) may need the CPU a poller spins on, so the poller should
 * yield now and then.  A PCI function reached through the kernel module
 * or VFIO is hardware, or emulated outside this operating system: there
 * yielding only costs a system call.
 * Return: false for the kernel-module and VFIO backends, true otherwise.
 */
bool uvirtio_backend_device_shares_cpus(struct uvirtio_backend *be);

#ifdef __cplusplus
}
#endif
#endif /* UVIRTIO_BACKEND_H */
