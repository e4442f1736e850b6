// SPDX-License-Identifier: GPL-2.0
/*
 * uvirtio: interrupts.  Each MSI-X vector (or the INTx line) gets a hard
 * IRQ handler that counts the interrupt and signals the vector's eventfd.
 *
 * Masking: an MSI-X vector is masked with disable_irq() and unmasked with
 * enable_irq(), which mask the vector in the MSI-X table (the IRQ core
 * keeps the depth; we keep it at 0 or 1).  INTx is masked with the
 * command register's Interrupt Disable bit: the handler sets it
 * (pci_check_and_mask_intx(), so a shared line works) and user space
 * clears it with UVIRTIO_IRQ_MASK + UVIRTIO_IRQ_MASK_UNMASK after it has
 * read the device's ISR.
 *
 * An interrupt that finds no eventfd is counted and latched; the latch
 * is delivered (one signal) only when a kept-alive device's vector gets
 * its next eventfd (uvirtio_irq_detach()), else cleared by the next
 * UVIRTIO_IRQ_SET_EVENTFD.
 *
 * A virtio-mmio device has one wired line (UVIRTIO_IRQ_WIRED, one
 * vector), level-triggered and possibly shared: its handler reads
 * InterruptStatus and writes the bits back to InterruptACK itself, which
 * drops the line, so user space never acknowledges it.  It is masked
 * like an MSI-X vector, with disable_irq().
 */
#include <linux/cpumask.h>
#include <linux/error-injection.h>
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/sched/isolation.h>
#include <linux/slab.h>

#include <linux/virtio_mmio.h>

#include "compat.h"
#include "uvirtio.h"

static irqreturn_t uvirtio_msix_handler(int irq, void *arg)
{
	struct uvirtio_vector *v = arg;

	spin_lock(&v->lock);
	v->count++;
	if (v->trigger)
		uvirtio_eventfd_signal(v->trigger);
	else
		v->latched = true;
	spin_unlock(&v->lock);
	return IRQ_HANDLED;
}

static irqreturn_t uvirtio_intx_handler(int irq, void *arg)
{
	struct uvirtio_vector *v = arg;

	spin_lock(&v->lock);
	if (v->masked || !pci_check_and_mask_intx(v->udev->pdev)) {
		spin_unlock(&v->lock);
		return IRQ_NONE;
	}
	v->masked = true;
	v->count++;
	if (v->trigger)
		uvirtio_eventfd_signal(v->trigger);
	else
		v->latched = true;
	spin_unlock(&v->lock);
	return IRQ_HANDLED;
}

/*
 * The register window stays mapped while a handler can run: remove()
 * frees the IRQ (teardown) before it unmaps the window.
 */
static irqreturn_t uvirtio_wired_handler(int irq, void *arg)
{
	struct uvirtio_vector *v = arg;
	void __iomem *base = v->udev->bar_map[0];
	u32 status;

	status = readl(base + VIRTIO_MMIO_INTERRUPT_STATUS);
	if (!status)
		return IRQ_NONE;
	writel(status, base + VIRTIO_MMIO_INTERRUPT_ACK);
	spin_lock(&v->lock);
	v->count++;
	if (v->trigger)
		uvirtio_eventfd_signal(v->trigger);
	else
		v->latched = true;
	spin_unlock(&v->lock);
	return IRQ_HANDLED;
}

static void uvirtio_master(struct pci_dev *pdev, bool on)
{
	if (on)
		pci_set_master(pdev);
	else
		pci_clear_master(pdev);
}

/**
 * uvirtio_irq_set_master() - set or clear Bus Master Enable
 * @udev: the device
 * @on: the new state
 *
 * The command register also holds INTx Disable, which the INTx handler
 * sets (auto-mask) and UVIRTIO_IRQ_MASK clears under the vector's lock;
 * the read-modify-write of Bus Master Enable takes the same lock, so
 * neither undoes the other.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_irq_set_master(struct uvirtio_device *udev, bool on)
{
	struct uvirtio_vector *v;

	lockdep_assert_held(&udev->lock);
	if (udev->irq_type != UVIRTIO_IRQ_INTX) {
		uvirtio_master(udev->pdev, on);
		return;
	}
	v = &udev->vectors[0];
	spin_lock_irq(&v->lock);
	uvirtio_master(udev->pdev, on);
	spin_unlock_irq(&v->lock);
}

/**
 * uvirtio_irq_detach() - drop every eventfd, keep the vectors (keep-alive)
 * @udev: the device, being held for a re-attach
 *
 * The vectors stay enabled with their handlers (a masked MSI-X vector or
 * wired line is unmasked); what arrives from now on is latched and
 * signalled once on the eventfd the next owner sets
 * (uvirtio_ioctl_irq_set_eventfd()), so no completion written while
 * nobody was attached goes unannounced.  INTx stays masked by its
 * handler until the next owner unmasks it.
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_irq_detach(struct uvirtio_device *udev)
{
	u32 i;

	lockdep_assert_held(&udev->lock);
	if (!udev->irq_type)
		return;
	for (i = 0; i < udev->nr_vectors; i++) {
		struct uvirtio_vector *v = &udev->vectors[i];
		struct eventfd_ctx *old;
		bool unmask = false;

		spin_lock_irq(&v->lock);
		old = v->trigger;
		v->trigger = NULL;
		v->latched = false;
		v->holding = true;
		/*
		 * A vector the owner masked would hold what arrives where
		 * the next owner, who does not know it is masked, never
		 * looks: unmask it, so the latch sees it.
		 */
		if (udev->irq_type != UVIRTIO_IRQ_INTX && v->masked) {
			v->masked = false;
			unmask = true;
		}
		spin_unlock_irq(&v->lock);
		if (unmask)
			enable_irq(v->irq);
		if (old)
			eventfd_ctx_put(old);
	}
}

/**
 * uvirtio_irq_teardown() - free every vector and drop every eventfd
 * @udev: the device
 *
 * Context: process context, @udev->lock held.
 */
void uvirtio_irq_teardown(struct uvirtio_device *udev)
{
	struct pci_dev *pdev = udev->pdev;
	u32 i;

	lockdep_assert_held(&udev->lock);
	if (!udev->irq_type)
		return;
	for (i = 0; i < udev->nr_vectors; i++) {
		struct uvirtio_vector *v = &udev->vectors[i];

		if (v->requested) {
			/* Keep the IRQ core's disable depth balanced. */
			if (udev->irq_type != UVIRTIO_IRQ_INTX && v->masked)
				enable_irq(v->irq);
			free_irq(v->irq, v);
		}
		if (v->trigger)
			eventfd_ctx_put(v->trigger);
		kfree(v->name);
	}
	/*
	 * INTx stays disabled: re-enabling a line the device still asserts,
	 * with no handler left, would be an interrupt storm on a shared
	 * line.  The next IRQ_ENABLE of INTx enables it.
	 */
	if (udev->irq_type == UVIRTIO_IRQ_MSIX)
		pci_free_irq_vectors(pdev);
	else if (udev->irq_type == UVIRTIO_IRQ_INTX)
		pci_intx(pdev, 0);
	kfree(udev->vectors);
	udev->vectors = NULL;
	udev->nr_vectors = 0;
	udev->irq_type = 0;
}

/**
 * uvirtio_irq_alloc_vectors() - enable MSI-X with exactly @count vectors
 * @pdev: the PCI function
 * @count: number of vectors
 *
 * Error-injection point (see uvirtio.h): running out of interrupt
 * vectors cannot be provoked otherwise.
 *
 * Context: process context.
 * Return: 0, or the negative errno of pci_alloc_irq_vectors() (-ENOSPC
 * when fewer vectors are available, -ENOMEM).
 */
noinline int uvirtio_irq_alloc_vectors(struct pci_dev *pdev, u32 count)
{
	int ret = pci_alloc_irq_vectors(pdev, count, count, PCI_IRQ_MSIX);

	return ret < 0 ? ret : 0;
}
ALLOW_ERROR_INJECTION(uvirtio_irq_alloc_vectors, ERRNO);

/**
 * uvirtio_irq_request() - install the handler of one vector
 * @v: the vector, with @v->irq and @v->name set
 * @handler: uvirtio_msix_handler or uvirtio_intx_handler
 * @irqflags: IRQF_* flags for request_irq()
 *
 * Error-injection point (see uvirtio.h): request_irq() also fails for
 * reasons no allocation failure reaches, such as an exhausted vector
 * space when the interrupt is activated.
 *
 * Context: process context.
 * Return: 0 or the negative errno of request_irq().
 */
noinline int uvirtio_irq_request(struct uvirtio_vector *v,
				 irq_handler_t handler, unsigned long irqflags)
{
	return request_irq(v->irq, handler, irqflags, v->name, v);
}
ALLOW_ERROR_INJECTION(uvirtio_irq_request, ERRNO);

static int uvirtio_irq_setup(struct uvirtio_device *udev, u32 type, u32 count)
{
	struct pci_dev *pdev = udev->pdev;
	irq_handler_t handler;
	unsigned long irqflags = 0;
	const char *kind;
	u32 i;
	int ret;

	udev->vectors = kcalloc(count, sizeof(*udev->vectors),
				GFP_KERNEL_ACCOUNT);
	if (!udev->vectors)
		return -ENOMEM;
	udev->irq_type = type;
	udev->nr_vectors = count;

	/* Memory first: running out of it must not touch the IRQ core. */
	kind = type == UVIRTIO_IRQ_MSIX ? "msix" :
	       type == UVIRTIO_IRQ_INTX ? "intx" : "wired";
	for (i = 0; i < count; i++) {
		struct uvirtio_vector *v = &udev->vectors[i];

		spin_lock_init(&v->lock);
		v->udev = udev;
		v->name = kasprintf(GFP_KERNEL_ACCOUNT, "uvirtio-%s[%u](%s)",
				    kind, i, dev_name(udev->dev));
		if (!v->name) {
			ret = -ENOMEM;
			goto err_teardown;
		}
	}

	if (type == UVIRTIO_IRQ_MSIX) {
		ret = uvirtio_irq_alloc_vectors(pdev, count);
		if (ret)
			goto err_teardown;
		handler = uvirtio_msix_handler;
	} else if (type == UVIRTIO_IRQ_WIRED) {
		handler = uvirtio_wired_handler;
		irqflags = IRQF_SHARED;
	} else {
		handler = uvirtio_intx_handler;
		irqflags = IRQF_SHARED;
	}

	for (i = 0; i < count; i++) {
		struct uvirtio_vector *v = &udev->vectors[i];

		if (type == UVIRTIO_IRQ_MSIX)
			v->irq = pci_irq_vector(pdev, i);
		else if (type == UVIRTIO_IRQ_WIRED)
			v->irq = udev->mmio_irq;
		else
			v->irq = pdev->irq;
		ret = uvirtio_irq_request(v, handler, irqflags);
		if (ret)
			goto err_teardown;
		v->requested = true;
	}
	/*
	 * INTx goes on only once its handler is in place: a device that
	 * still asserts the line must find it, or a shared line storms.  If
	 * the handler already took a pending interrupt (another device woke
	 * it), the line stays masked until user space unmasks it.
	 */
	if (type == UVIRTIO_IRQ_INTX) {
		struct uvirtio_vector *v = &udev->vectors[0];

		spin_lock_irq(&v->lock);
		if (!v->masked)
			pci_intx(pdev, 1);
		spin_unlock_irq(&v->lock);
	}
	return 0;

err_teardown:
	uvirtio_irq_teardown(udev);
	return ret;
}

/**
 * uvirtio_ioctl_irq_enable() - UVIRTIO_IRQ_ENABLE
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Return: 0; -EINVAL for non-zero flags, an unknown type or a count out of
 * range; -EOPNOTSUPP if the device lacks that interrupt kind (or INTx
 * masking): MSI-X and INTx on virtio-mmio, the wired IRQ on PCI or on a
 * virtio-mmio device without one; -EBUSY if interrupts are already
 * enabled; -ENOSPC/-ENOMEM.
 */
int uvirtio_ioctl_irq_enable(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_irq_enable *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct pci_dev *pdev = udev->pdev;
	bool wired;

	if (cmd->flags)
		return -EINVAL;
	wired = cmd->type == UVIRTIO_IRQ_WIRED;
	if (uvirtio_is_mmio(udev) != wired)
		return cmd->type >= UVIRTIO_IRQ_MSIX &&
		       cmd->type <= UVIRTIO_IRQ_WIRED ? -EOPNOTSUPP : -EINVAL;
	switch (cmd->type) {
	case UVIRTIO_IRQ_WIRED:
		if (!udev->mmio_irq)
			return -EOPNOTSUPP;
		if (cmd->count != 1)
			return -EINVAL;
		break;
	case UVIRTIO_IRQ_MSIX:
		if (!udev->num_msix)
			return -EOPNOTSUPP;
		if (!cmd->count || cmd->count > udev->num_msix)
			return -EINVAL;
		break;
	case UVIRTIO_IRQ_INTX:
		if (!pdev->pin || !pdev->irq || !pci_intx_mask_supported(pdev))
			return -EOPNOTSUPP;
		if (cmd->count != 1)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (udev->irq_type)
		return -EBUSY;
	return uvirtio_irq_setup(udev, cmd->type, cmd->count);
}

/**
 * uvirtio_ioctl_irq_disable() - UVIRTIO_IRQ_DISABLE
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Disabling when nothing is enabled is not an error.
 *
 * Return: 0, -EINVAL for non-zero flags.
 */
int uvirtio_ioctl_irq_disable(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_irq_disable *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EINVAL;
	uvirtio_irq_teardown(ucmd->udev);
	return 0;
}

static struct uvirtio_vector *uvirtio_vector(struct uvirtio_device *udev,
					     u32 index)
{
	if (!udev->irq_type || index >= udev->nr_vectors)
		return NULL;
	return &udev->vectors[index];
}

/**
 * uvirtio_ioctl_irq_set_eventfd() - UVIRTIO_IRQ_SET_EVENTFD
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Return: 0; -EINVAL for non-zero flags, a vector that is not enabled or
 * an fd that is not an eventfd; -EBADF for a bad fd.
 */
int uvirtio_ioctl_irq_set_eventfd(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_irq_set_eventfd *cmd = ucmd->cmd;
	struct uvirtio_vector *v = uvirtio_vector(ucmd->udev, cmd->index);
	struct eventfd_ctx *ctx = NULL, *old;

	if (cmd->flags || !v)
		return -EINVAL;
	if (cmd->fd != -1) {
		int ret = uvirtio_eventfd_get(cmd->fd, &ctx);

		if (ret)
			return ret;
	}
	spin_lock_irq(&v->lock);
	old = v->trigger;
	v->trigger = ctx;
	/* What a kept-alive vector latched reaches its next eventfd. */
	if (ctx && v->holding && v->latched)
		uvirtio_eventfd_signal(ctx);
	if (ctx) {
		v->holding = false;
		v->latched = false;
	}
	spin_unlock_irq(&v->lock);
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

/**
 * uvirtio_ioctl_irq_set_affinity() - UVIRTIO_IRQ_SET_AFFINITY
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Return: 0; -EINVAL for non-zero flags, a vector that is not an enabled
 * MSI-X vector, or a CPU that is not online or is isolated from the
 * scheduler's domains (isolcpus=): such CPUs are kept free of device
 * interrupts; errors of irq_set_affinity().
 */
int uvirtio_ioctl_irq_set_affinity(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_irq_set_affinity *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_vector *v = uvirtio_vector(udev, cmd->index);
	const struct cpumask *mask;

	if (cmd->flags || !v || udev->irq_type != UVIRTIO_IRQ_MSIX)
		return -EINVAL;
	if (cmd->cpu == -1) {
		mask = cpu_online_mask;
	} else {
		if (cmd->cpu < 0 || cmd->cpu >= nr_cpu_ids ||
		    !cpu_online(cmd->cpu) ||
		    !housekeeping_cpu(cmd->cpu, HK_TYPE_DOMAIN))
			return -EINVAL;
		mask = cpumask_of(cmd->cpu);
	}
	return irq_set_affinity(v->irq, mask);
}

/**
 * uvirtio_ioctl_irq_mask() - UVIRTIO_IRQ_MASK
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Masking a masked vector, or unmasking an unmasked one, does nothing.
 *
 * Return: 0; -EINVAL for unknown flags, non-zero reserved or a vector
 * that is not enabled.
 */
int uvirtio_ioctl_irq_mask(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_irq_mask *cmd = ucmd->cmd;
	struct uvirtio_device *udev = ucmd->udev;
	struct uvirtio_vector *v = uvirtio_vector(udev, cmd->index);
	bool mask = !(cmd->flags & UVIRTIO_IRQ_MASK_UNMASK);
	bool was;

	if ((cmd->flags & ~UVIRTIO_IRQ_MASK_UNMASK) || cmd->__reserved || !v)
		return -EINVAL;

	if (udev->irq_type == UVIRTIO_IRQ_INTX) {
		spin_lock_irq(&v->lock);
		if (v->masked != mask)
			pci_intx(udev->pdev, !mask);
		v->masked = mask;
		spin_unlock_irq(&v->lock);
		return 0;
	}

	spin_lock_irq(&v->lock);
	was = v->masked;
	v->masked = mask;
	spin_unlock_irq(&v->lock);
	if (was == mask)
		return 0;
	if (mask)
		disable_irq(v->irq);
	else
		enable_irq(v->irq);
	return 0;
}

/**
 * uvirtio_ioctl_irq_trigger() - UVIRTIO_IRQ_TRIGGER
 * @ucmd: the call; @ucmd->udev->lock held
 *
 * Signals the vector's eventfd as the handler would (it does not count as
 * a device interrupt).  Nothing happens if no eventfd is set.
 *
 * Return: 0; -EINVAL for non-zero flags/reserved or a vector that is not
 * enabled.
 */
int uvirtio_ioctl_irq_trigger(struct uvirtio_ucmd *ucmd)
{
	struct uvirtio_irq_trigger *cmd = ucmd->cmd;
	struct uvirtio_vector *v = uvirtio_vector(ucmd->udev, cmd->index);

	if (cmd->flags || cmd->__reserved || !v)
		return -EINVAL;
	spin_lock_irq(&v->lock);
	if (v->trigger)
		uvirtio_eventfd_signal(v->trigger);
	spin_unlock_irq(&v->lock);
	return 0;
}
