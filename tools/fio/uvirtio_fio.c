// SPDX-License-Identifier: GPL-2.0-only
/*
 * uvirtio_fio.c - a fio ioengine for libuvirtio's virtio-blk driver.
 *
 * Built against the fio source of the fio that loads it (fio's headers
 * describe fio's own structures; they are GPL-2.0, and so is this file):
 *
 *   fio --ioengine=external:/path/to/uvirtio-fio.so \
 *       --uvirtio_dev=vhost-user:/run/blk.sock --name=j --rw=randread ...
 *
 * Options: uvirtio_dev (a device string: BDF, pci:BDF, vhost-user:PATH,
 * ...), uvirtio_poll (busy-poll instead of interrupts), uvirtio_queue
 * (the request queue to use); for interrupt mode (uvirtio_blk_q_set_wait())
 * uvirtio_spin_us (poll that long before sleeping, as NVMe hybrid
 * polling does; default 20: in `make bench` it is the option that moves
 * interrupt mode at QD1 most, see Documentation/performance.rst; 0 for
 * pure interrupts),
 * uvirtio_irq_follow (steer the interrupt to the job's CPU; default 1, as
 * the kernel's blk-mq completes on the submitting CPU) and
 * uvirtio_irq_epoll (one epoll_wait() per wake-up instead of poll() and
 * read(); default 0).  One job per device: a device has one owner.  fio's
 * I/O buffers are allocated by the engine as the device's registered
 * memory (iomem_alloc), so every request is zero-copy on every
 * transport.  Reads and writes are queued asynchronously (queue/commit/
 * getevents), trims are discards, syncs are flushes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"
#include "optgroup.h"

#include <uvirtio/uvirtio.h>

struct uv_fio_options {
	void *pad;		/* fio: an option must not sit at offset 0 */
	char *dev;
	unsigned int poll;
	unsigned int queue;
	unsigned int spin_us;
	unsigned int irq_follow;
	unsigned int irq_epoll;
};

struct uv_fio {
	struct uvirtio_backend *be;
	struct uvirtio_blk *blk;
	struct uvirtio_blk_queue *q;
	struct uvirtio_blk_info info;
	struct uvirtio_blk_completion *comp;
	struct io_u **events;
	unsigned int depth;
	void *buf;
};

static struct fio_option options[] = {
	{
		.name = "uvirtio_dev",
		.lname = "uvirtio device",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct uv_fio_options, dev),
		.help = "Device string: BDF, pci:BDF, vhost-user:PATH, ...",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "uvirtio_poll",
		.lname = "uvirtio polling",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct uv_fio_options, poll),
		.def = "0",
		.help = "Busy-poll the queue instead of sleeping on interrupts",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "uvirtio_queue",
		.lname = "uvirtio queue index",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct uv_fio_options, queue),
		.def = "0",
		.minval = 0,
		.maxval = 255,
		.help = "Request queue of the device to use",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "uvirtio_spin_us",
		.lname = "uvirtio spin before sleeping",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct uv_fio_options, spin_us),
		.def = "20",
		.minval = 0,
		.maxval = 1000000,
		.help = "Interrupt mode: poll this many microseconds before sleeping (0: never)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "uvirtio_irq_follow",
		.lname = "uvirtio interrupt follows the job",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct uv_fio_options, irq_follow),
		.def = "1",
		.help = "Interrupt mode: steer the queue's interrupt to the job's CPU",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "uvirtio_irq_epoll",
		.lname = "uvirtio epoll wake-ups",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct uv_fio_options, irq_epoll),
		.def = "0",
		.help = "Interrupt mode: sleep in epoll_wait (one syscall per wake-up)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

static int dev_open(struct thread_data *td, struct uv_fio *u)
{
	struct uv_fio_options *o = td->eo;
	struct uvirtio_blk_params p = {
		.transport = UVIRTIO_TRANSPORT_AUTO,
		.num_queues = (uint16_t)(o->queue + 1),
		.packed = true,
		.poll = o->poll,
	};
	int ret;

	if (!o->dev || !*o->dev) {
		log_err("uvirtio: uvirtio_dev=DEVICE is required\n");
		return -EINVAL;
	}
	ret = uvirtio_backend_open(o->dev, NULL, &u->be);
	if (ret) {
		log_err("uvirtio: %s: open: %s\n", o->dev, strerror(-ret));
		return ret;
	}
	ret = uvirtio_blk_open(u->be, &p, &u->blk);
	if (ret) {
		log_err("uvirtio: %s: virtio-blk init: %s\n", o->dev,
			strerror(-ret));
		uvirtio_backend_close(u->be);
		u->be = NULL;
		return ret;
	}
	uvirtio_blk_get_info(u->blk, &u->info);
	u->q = uvirtio_blk_get_queue(u->blk, o->queue);
	if (!u->q) {
		log_err("uvirtio: %s: no queue %u (the device has %u)\n",
			o->dev, o->queue, u->info.num_queues);
		return -ENODEV;
	}
	ret = uvirtio_blk_q_set_wait(u->q, (uint64_t)o->spin_us * 1000,
				     (o->irq_follow ?
				      UVIRTIO_BLK_WAIT_FOLLOW_CPU : 0) |
				     (o->irq_epoll ? UVIRTIO_BLK_WAIT_EPOLL : 0));
	if (ret) {
		log_err("uvirtio: %s: wait options: %s\n", o->dev,
			strerror(-ret));
		return ret;
	}
	return 0;
}

static void dev_close(struct uv_fio *u)
{
	if (u->buf)
		uvirtio_blk_free_buf(u->blk, u->buf);
	u->buf = NULL;
	uvirtio_blk_close(u->blk);
	uvirtio_backend_close(u->be);
	u->blk = NULL;
	u->be = NULL;
}

/*
 * In fio's main process, before the jobs start: one pseudo-file as big as
 * the device.  The device is opened to learn its size, then closed again:
 * the job opens it for itself.
 */
static int uv_setup(struct thread_data *td)
{
	struct uv_fio u = { 0 };
	struct fio_file *f;
	int ret;

	if (!td->files_index) {
		add_file(td, "uvirtio", 0, 0);
		td->o.nr_files = td->o.nr_files ? : 1;
		td->o.open_files++;
	}
	f = td->files[0];
	ret = dev_open(td, &u);
	if (!ret) {
		f->real_file_size = u.info.capacity;
		fio_file_set_size_known(f);
	}
	dev_close(&u);
	return ret ? 1 : 0;
}

static int uv_init(struct thread_data *td)
{
	struct uv_fio *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return 1;
	td->io_ops_data = u;
	u->depth = td->o.iodepth;
	u->comp = calloc(u->depth, sizeof(*u->comp));
	u->events = calloc(u->depth, sizeof(*u->events));
	if (!u->comp || !u->events)
		return 1;
	ret = dev_open(td, u);
	if (ret)
		return 1;
	if (td->o.max_bs[DDIR_READ] > u->info.max_transfer ||
	    td->o.max_bs[DDIR_WRITE] > u->info.max_transfer) {
		log_err("uvirtio: block size above the device's max transfer (%llu)\n",
			(unsigned long long)u->info.max_transfer);
		return 1;
	}
	return 0;
}

static void uv_cleanup(struct thread_data *td)
{
	struct uv_fio *u = td->io_ops_data;

	if (!u)
		return;
	dev_close(u);
	free(u->comp);
	free(u->events);
	free(u);
	td->io_ops_data = NULL;
}

/* fio's buffers are the device's own registered memory: zero-copy. */
static int uv_iomem_alloc(struct thread_data *td, size_t total)
{
	struct uv_fio *u = td->io_ops_data;
	int ret;

	if (!u || !u->blk)
		return 1;
	ret = uvirtio_blk_alloc_buf(u->blk, total, &u->buf);
	if (ret) {
		log_err("uvirtio: %zu bytes of I/O buffers: %s\n", total,
			strerror(-ret));
		return 1;
	}
	td->orig_buffer = u->buf;
	return 0;
}

static void uv_iomem_free(struct thread_data *td)
{
	struct uv_fio *u = td->io_ops_data;

	if (u && u->buf) {
		uvirtio_blk_free_buf(u->blk, u->buf);
		u->buf = NULL;
	}
	td->orig_buffer = NULL;
}

static enum fio_q_status uv_queue(struct thread_data *td, struct io_u *io_u)
{
	struct uv_fio *u = td->io_ops_data;
	int ret;

	fio_ro_check(td, io_u);
	switch (io_u->ddir) {
	case DDIR_READ:
		ret = uvirtio_blk_q_read(u->q, io_u->offset, io_u->xfer_buf,
					 io_u->xfer_buflen, io_u);
		break;
	case DDIR_WRITE:
		ret = uvirtio_blk_q_write(u->q, io_u->offset, io_u->xfer_buf,
					  io_u->xfer_buflen, io_u);
		break;
	case DDIR_TRIM:
		ret = uvirtio_blk_q_discard(u->q, io_u->offset,
					    io_u->xfer_buflen, io_u);
		break;
	case DDIR_SYNC:
	case DDIR_DATASYNC:
		/* a disk without a write cache has nothing to flush */
		if (!u->info.flush)
			return FIO_Q_COMPLETED;
		ret = uvirtio_blk_q_flush(u->q, io_u);
		break;
	default:
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}
	if (ret == -EAGAIN)
		return FIO_Q_BUSY;	/* ring or bounce pool full: reap first */
	if (ret) {
		io_u->error = -ret;
		return FIO_Q_COMPLETED;
	}
	return FIO_Q_QUEUED;
}

static int uv_commit(struct thread_data *td)
{
	struct uv_fio *u = td->io_ops_data;
	int ret = uvirtio_blk_q_submit(u->q);

	return ret < 0 ? ret : 0;
}

static int uv_getevents(struct thread_data *td, unsigned int min,
			unsigned int max, const struct timespec *t)
{
	struct uv_fio *u = td->io_ops_data;
	int i, n;

	if (max > u->depth)
		max = u->depth;
	n = uvirtio_blk_q_reap(u->q, min, max, u->comp, t);
	if (n < 0) {
		log_err("uvirtio: reap: %s\n", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		struct io_u *io_u = u->comp[i].user_data;

		io_u->error = u->comp[i].ret ? -u->comp[i].ret : 0;
		u->events[i] = io_u;
	}
	return n;
}

static struct io_u *uv_event(struct thread_data *td, int event)
{
	struct uv_fio *u = td->io_ops_data;

	return u->events[event];
}

static int uv_open_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int uv_close_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int uv_invalidate(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;	/* no page cache in between */
}

struct ioengine_ops ioengine = {
	.name = "uvirtio",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL |
		 FIO_MEMALIGN,
	.setup = uv_setup,
	.init = uv_init,
	.queue = uv_queue,
	.commit = uv_commit,
	.getevents = uv_getevents,
	.event = uv_event,
	.cleanup = uv_cleanup,
	.open_file = uv_open_file,
	.close_file = uv_close_file,
	.invalidate = uv_invalidate,
	.iomem_alloc = uv_iomem_alloc,
	.iomem_free = uv_iomem_free,
	.option_struct_size = sizeof(struct uv_fio_options),
	.options = options,
};
