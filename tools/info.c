// SPDX-License-Identifier: BSD-3-Clause
/*
 * info.c - "uvirtio info BDF": what the module knows about a bound
 * function (UVIRTIO_DEVICE_GET_INFO, UVIRTIO_REGION_GET_INFO), the
 * offered feature bits (--features) and the module's debugfs counters.
 *
 * This talks to the UAPI directly rather than through libuvirtio: the
 * library has no call that reports the *offered* features without
 * negotiating them, nor one that returns the module's device info.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/uvirtio.h>
#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>

#include "cli.h"

/* Virtio PCI register offsets (virtio 1.2, 4.1.4.3 and 4.1.4.10). */
#define COMMON_DFSELECT		0x00
#define COMMON_DF		0x04
#define COMMON_STATUS		0x14
#define LEGACY_HOST_FEATURES	0x00
#define LEGACY_STATUS		0x12
#define STATUS_ACKNOWLEDGE	1
#define STATUS_DRIVER		2

struct feature_name {
	unsigned int bit;
	const char *name;
};

/* Transport bits, virtio 1.2 section 6. */
static const struct feature_name transport_features[] = {
	{ 24, "NOTIFY_ON_EMPTY" },
	{ 27, "ANY_LAYOUT" },
	{ 28, "RING_INDIRECT_DESC" },
	{ 29, "RING_EVENT_IDX" },
	{ 32, "VERSION_1" },
	{ 33, "ACCESS_PLATFORM" },
	{ 34, "RING_PACKED" },
	{ 35, "IN_ORDER" },
	{ 36, "ORDER_PLATFORM" },
	{ 37, "SR_IOV" },
	{ 38, "NOTIFICATION_DATA" },
	{ 39, "NOTIF_CONFIG_DATA" },
	{ 40, "RING_RESET" },
	{ 41, "ADMIN_VQ" },
	{ 0, NULL },
};

/* virtio-blk, virtio 1.2 section 5.2.3. */
static const struct feature_name blk_features[] = {
	{ 0, "BARRIER" },
	{ 1, "SIZE_MAX" },
	{ 2, "SEG_MAX" },
	{ 4, "GEOMETRY" },
	{ 5, "RO" },
	{ 6, "BLK_SIZE" },
	{ 7, "SCSI" },
	{ 9, "FLUSH" },
	{ 10, "TOPOLOGY" },
	{ 11, "CONFIG_WCE" },
	{ 12, "MQ" },
	{ 13, "DISCARD" },
	{ 14, "WRITE_ZEROES" },
	{ 15, "LIFETIME" },
	{ 16, "SECURE_ERASE" },
	{ 17, "ZONED" },
	{ 0, NULL },
};

/* virtio-net, virtio 1.2 section 5.1.3 (the common ones). */
static const struct feature_name net_features[] = {
	{ 0, "CSUM" },
	{ 1, "GUEST_CSUM" },
	{ 2, "CTRL_GUEST_OFFLOADS" },
	{ 3, "MTU" },
	{ 5, "MAC" },
	{ 7, "GUEST_TSO4" },
	{ 8, "GUEST_TSO6" },
	{ 9, "GUEST_ECN" },
	{ 10, "GUEST_UFO" },
	{ 11, "HOST_TSO4" },
	{ 12, "HOST_TSO6" },
	{ 13, "HOST_ECN" },
	{ 14, "HOST_UFO" },
	{ 15, "MRG_RXBUF" },
	{ 16, "STATUS" },
	{ 17, "CTRL_VQ" },
	{ 18, "CTRL_RX" },
	{ 19, "CTRL_VLAN" },
	{ 21, "GUEST_ANNOUNCE" },
	{ 22, "MQ" },
	{ 23, "CTRL_MAC_ADDR" },
	{ 0, NULL },
};

static const char *feature_name(uint32_t type, unsigned int bit, char *buf,
				size_t len)
{
	const struct feature_name *t = transport_features;

	if (bit < 24 && type == VIRTIO_ID_BLOCK)
		t = blk_features;
	else if (bit < 24 && type == VIRTIO_ID_NET)
		t = net_features;
	for (; t->name; t++)
		if (t->bit == bit)
			return t->name;
	snprintf(buf, len, "bit%u", bit);
	return buf;
}

static const char *const vcap_names[UVIRTIO_VCAP_NUM] = {
	[UVIRTIO_VCAP_COMMON] = "common",
	[UVIRTIO_VCAP_NOTIFY] = "notify",
	[UVIRTIO_VCAP_ISR] = "isr",
	[UVIRTIO_VCAP_DEVICE] = "device",
	[UVIRTIO_VCAP_PCI_CFG] = "pci_cfg",
};

static const struct {
	uint64_t bit;
	const char *name;
} module_caps[] = {
	{ UVIRTIO_CAP_DMA_MAP, "dma-map" },
	{ UVIRTIO_CAP_DMA_ALLOC, "dma-alloc" },
	{ UVIRTIO_CAP_MSIX, "msix" },
	{ UVIRTIO_CAP_INTX, "intx" },
	{ UVIRTIO_CAP_IRQ_AFFINITY, "irq-affinity" },
	{ UVIRTIO_CAP_IRQ_MASK, "irq-mask" },
	{ UVIRTIO_CAP_REMOVE_EVENTFD, "remove-eventfd" },
	{ UVIRTIO_CAP_OWN_DOMAIN, "own-domain" },
};

static const struct {
	uint32_t bit;
	const char *name;
} dev_flags[] = {
	{ UVIRTIO_DEVICE_INFO_MODERN, "modern" },
	{ UVIRTIO_DEVICE_INFO_LEGACY, "legacy" },
	{ UVIRTIO_DEVICE_INFO_INTX, "intx" },
	{ UVIRTIO_DEVICE_INFO_FLR, "flr" },
	{ UVIRTIO_DEVICE_INFO_REMOVED, "removed" },
};

static const struct {
	uint32_t bit;
	const char *name;
} region_flags[] = {
	{ UVIRTIO_REGION_INFO_READ, "read" },
	{ UVIRTIO_REGION_INFO_WRITE, "write" },
	{ UVIRTIO_REGION_INFO_MMAP, "mmap" },
	{ UVIRTIO_REGION_INFO_IO, "io" },
	{ UVIRTIO_REGION_INFO_MEM64, "mem64" },
	{ UVIRTIO_REGION_INFO_PREFETCH, "prefetch" },
	{ UVIRTIO_REGION_INFO_MSIX, "msix" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Print the names of the set bits, space-separated or as JSON strings. */
#define PRINT_FLAGS(tab, val, json)					\
	do {								\
		bool first_ = true;					\
		for (size_t i_ = 0; i_ < ARRAY_SIZE(tab); i_++) {	\
			if (!((val) & (tab)[i_].bit))			\
				continue;				\
			if (json)					\
				printf("%s\"%s\"", first_ ? "" : ", ",	\
				       (tab)[i_].name);			\
			else						\
				printf("%s%s", first_ ? "" : " ",	\
				       (tab)[i_].name);			\
			first_ = false;					\
		}							\
		if (first_ && !(json))					\
			printf("-");					\
	} while (0)

static const char *iommu_name(uint32_t mode)
{
	switch (mode) {
	case UVIRTIO_IOMMU_NONE:
		return "none (no DMA at all)";
	case UVIRTIO_IOMMU_TRANSLATED:
		return "translated";
	case UVIRTIO_IOMMU_UNSAFE:
		return "unsafe (untranslated DMA allowed, kernel tainted)";
	default:
		return "unknown";
	}
}

/* Why the device's DMA is not translated (enum uvirtio_untranslated). */
static const char *untranslated_key(uint32_t why)
{
	switch (why) {
	case UVIRTIO_UNTRANSLATED_NO:
		return "translated";
	case UVIRTIO_UNTRANSLATED_NO_IOMMU:
		return "no-iommu";
	case UVIRTIO_UNTRANSLATED_NO_ACCESS_PLATFORM:
		return "no-access-platform";
	case UVIRTIO_UNTRANSLATED_LEGACY_ONLY:
		return "legacy-only";
	default:
		return "unknown";
	}
}

static const struct {
	uint32_t bit;
	const char *name;
} dma_flag_names[] = {
	{ UVIRTIO_DMA_INFO_OWN_DOMAIN, "own-domain" },
	{ UVIRTIO_DMA_INFO_ISOLATED_MSI, "isolated-msi" },
	{ UVIRTIO_DMA_INFO_UNSAFE_INTERRUPTS, "unsafe-interrupts" },
};

static const char *iommu_key(uint32_t mode)
{
	switch (mode) {
	case UVIRTIO_IOMMU_NONE:
		return "none";
	case UVIRTIO_IOMMU_TRANSLATED:
		return "translated";
	case UVIRTIO_IOMMU_UNSAFE:
		return "unsafe";
	default:
		return "unknown";
	}
}

static void region_name(unsigned int index, char *buf, size_t len)
{
	if (index == UVIRTIO_REGION_CONFIG)
		snprintf(buf, len, "config");
	else
		snprintf(buf, len, "bar%u", index);
}

static int rd(int fd, uint64_t off, void *buf, size_t width)
{
	ssize_t n = pread(fd, buf, width, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == width ? 0 : -EIO;
}

static int wr(int fd, uint64_t off, const void *buf, size_t width)
{
	ssize_t n = pwrite(fd, buf, width, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == width ? 0 : -EIO;
}

static int dev_reset(int fd)
{
	struct uvirtio_device_reset r = { .size = sizeof(r) };

	return ioctl(fd, UVIRTIO_DEVICE_RESET, &r) ? -errno : 0;
}

/*
 * Read the feature bits the device offers: reset, ACKNOWLEDGE, DRIVER,
 * read the device feature words, reset again.  Little-endian host assumed
 * (x86-64), as everywhere in uvirtio.
 */
static int read_offered(int fd, const struct uvirtio_device_info *di,
			const struct uvirtio_region_info *reg, uint64_t *out)
{
	uint8_t st;
	uint32_t lo = 0, hi = 0, sel;
	uint64_t base;
	int ret, ret2;

	ret = dev_reset(fd);
	if (ret)
		return ret;
	if (di->flags & UVIRTIO_DEVICE_INFO_MODERN &&
	    di->caps[UVIRTIO_VCAP_COMMON].present) {
		const struct uvirtio_virtio_cap *c = &di->caps[UVIRTIO_VCAP_COMMON];

		if (c->bar >= 6 || !reg[c->bar].region_size)
			return -ENODEV;
		base = reg[c->bar].offset + c->offset;
		st = STATUS_ACKNOWLEDGE;
		ret = wr(fd, base + COMMON_STATUS, &st, 1);
		st |= STATUS_DRIVER;
		if (!ret)
			ret = wr(fd, base + COMMON_STATUS, &st, 1);
		sel = 0;
		if (!ret)
			ret = wr(fd, base + COMMON_DFSELECT, &sel, 4);
		if (!ret)
			ret = rd(fd, base + COMMON_DF, &lo, 4);
		sel = 1;
		if (!ret)
			ret = wr(fd, base + COMMON_DFSELECT, &sel, 4);
		if (!ret)
			ret = rd(fd, base + COMMON_DF, &hi, 4);
	} else if (di->flags & UVIRTIO_DEVICE_INFO_LEGACY) {
		if (!reg[0].region_size)
			return -ENODEV;
		base = reg[0].offset;
		st = STATUS_ACKNOWLEDGE;
		ret = wr(fd, base + LEGACY_STATUS, &st, 1);
		st |= STATUS_DRIVER;
		if (!ret)
			ret = wr(fd, base + LEGACY_STATUS, &st, 1);
		if (!ret)
			ret = rd(fd, base + LEGACY_HOST_FEATURES, &lo, 4);
	} else {
		return -ENODEV;
	}
	ret2 = dev_reset(fd);
	if (ret)
		return ret;
	if (ret2)
		return ret2;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

static void print_features(uint32_t type, uint64_t f, bool json,
			   const char *what)
{
	char buf[16];
	bool first = true;

	if (json)
		printf(",\n  \"features\": {\"%s\": \"0x%016" PRIx64
		       "\", \"names\": [", what, f);
	else
		printf("  features %s: 0x%016" PRIx64 "\n   ", what, f);
	for (unsigned int bit = 0; bit < 64; bit++) {
		if (!(f >> bit & 1))
			continue;
		if (json)
			printf("%s\"%s\"", first ? "" : ", ",
			       feature_name(type, bit, buf, sizeof(buf)));
		else
			printf(" %s", feature_name(type, bit, buf, sizeof(buf)));
		first = false;
	}
	printf(json ? "]}" : "\n");
}

/* Print debugfs "key: value" lines; values that are numbers stay numbers. */
static void print_stats(const char *bdf, bool json)
{
	char path[512], line[256];
	bool first = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kernel/debug/uvirtio/%s/stats",
		 cli_sysfs(), bdf);
	f = fopen(path, "re");
	if (!f)
		return;
	if (json)
		printf(",\n  \"stats\": {");
	else
		printf("  stats (%s):\n", path);
	while (fgets(line, sizeof(line), f)) {
		char *colon, *val, *end;

		line[strcspn(line, "\n")] = '\0';
		if (!json) {
			printf("    %s\n", line);
			continue;
		}
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		val = colon + 1 + strspn(colon + 1, " ");
		printf("%s", first ? "" : ", ");
		json_str(stdout, line);
		printf(": ");
		strtoull(val, &end, 10);
		if (*val && *val != '-' && !*end)
			printf("%s", val);
		else
			json_str(stdout, val);
		first = false;
	}
	if (json)
		printf("}");
	fclose(f);
}

static void print_human(const char *bdf, const struct uvirtio_api_version *v,
			const struct uvirtio_device_info *di,
			const struct uvirtio_region_info *reg,
			const int *reg_ok)
{
	printf("%s: virtio %s, %s, %04x:%04x (subsystem %04x:%04x, rev %02x)\n",
	       bdf, virtio_type_name(di->virtio_id),
	       di->flags & UVIRTIO_DEVICE_INFO_MODERN ?
			(di->flags & UVIRTIO_DEVICE_INFO_LEGACY ?
				"transitional" : "modern") : "legacy",
	       di->vendor, di->device, di->subsystem_vendor,
	       di->subsystem_device, di->revision);
	printf("  module api:       %u, caps ", v->version);
	PRINT_FLAGS(module_caps, v->caps, false);
	printf("\n  flags:            ");
	PRINT_FLAGS(dev_flags, di->flags, false);
	printf("\n  msix vectors:     %u\n", di->num_msix);
	printf("  iommu:            %s", iommu_name(di->iommu_mode));
	if (di->iommu_mode != UVIRTIO_IOMMU_TRANSLATED)
		printf(", %s", untranslated_key(di->untranslated));
	printf("\n  dma flags:        ");
	PRINT_FLAGS(dma_flag_names, di->dma_flags, false);
	if (di->num_iova_ranges)
		printf(" (%u IOVA ranges)", di->num_iova_ranges);
	printf("\n");
	printf("  dma mask:         0x%" PRIx64 "\n", (uint64_t)di->dma_mask);
	printf("  max dma mappings: %u\n", di->max_dma_mappings);
	printf("  virtio capabilities:\n");
	for (unsigned int i = 0; i < UVIRTIO_VCAP_NUM; i++) {
		const struct uvirtio_virtio_cap *c = &di->caps[i];

		if (!c->present) {
			printf("    %-8s -\n", vcap_names[i]);
			continue;
		}
		printf("    %-8s bar %u  offset 0x%-6x length 0x%-6x cap at 0x%02x",
		       vcap_names[i], c->bar, c->offset, c->length,
		       c->cap_offset);
		if (i == UVIRTIO_VCAP_NOTIFY)
			printf("  multiplier %u", c->notify_off_multiplier);
		printf("\n");
	}
	printf("  regions:\n");
	for (unsigned int i = 0; i < UVIRTIO_NUM_REGIONS; i++) {
		char name[16];

		if (!reg_ok[i] || !reg[i].region_size)
			continue;
		region_name(i, name, sizeof(name));
		printf("    %-7s size 0x%-8" PRIx64 " ", name,
		       (uint64_t)reg[i].region_size);
		PRINT_FLAGS(region_flags, reg[i].flags, false);
		if (reg[i].flags & UVIRTIO_REGION_INFO_MSIX)
			printf("  (msix table/pba 0x%" PRIx64 "-0x%" PRIx64 ")",
			       (uint64_t)reg[i].msix_start,
			       (uint64_t)reg[i].msix_end);
		printf("\n");
	}
}

static void print_json(const char *bdf, const struct uvirtio_api_version *v,
		       const struct uvirtio_device_info *di,
		       const struct uvirtio_region_info *reg,
		       const int *reg_ok)
{
	bool first = true;

	printf("{\n  \"bdf\": \"%s\",\n  \"api_version\": %u,\n"
	       "  \"module_caps\": [", bdf, v->version);
	PRINT_FLAGS(module_caps, v->caps, true);
	printf("],\n  \"vendor\": \"%04x\", \"device\": \"%04x\", "
	       "\"subsystem_vendor\": \"%04x\", \"subsystem_device\": \"%04x\", "
	       "\"revision\": %u,\n  \"virtio_id\": %u, \"type\": \"%s\",\n"
	       "  \"flags\": [",
	       di->vendor, di->device, di->subsystem_vendor,
	       di->subsystem_device, di->revision, di->virtio_id,
	       virtio_type_name(di->virtio_id));
	PRINT_FLAGS(dev_flags, di->flags, true);
	printf("],\n  \"num_msix\": %u, \"iommu_mode\": \"%s\", "
	       "\"untranslated\": \"%s\", \"num_iova_ranges\": %u, "
	       "\"dma_flags\": [",
	       di->num_msix, iommu_key(di->iommu_mode),
	       untranslated_key(di->untranslated), di->num_iova_ranges);
	PRINT_FLAGS(dma_flag_names, di->dma_flags, true);
	printf("],\n  \"dma_mask\": \"0x%" PRIx64 "\", \"max_dma_mappings\": %u,\n"
	       "  \"caps\": {",
	       (uint64_t)di->dma_mask, di->max_dma_mappings);
	for (unsigned int i = 0; i < UVIRTIO_VCAP_NUM; i++) {
		const struct uvirtio_virtio_cap *c = &di->caps[i];

		printf("%s\"%s\": ", i ? ", " : "", vcap_names[i]);
		if (!c->present) {
			printf("null");
			continue;
		}
		printf("{\"bar\": %u, \"offset\": %u, \"length\": %u, "
		       "\"cap_offset\": %u", c->bar, c->offset, c->length,
		       c->cap_offset);
		if (i == UVIRTIO_VCAP_NOTIFY)
			printf(", \"notify_off_multiplier\": %u",
			       c->notify_off_multiplier);
		printf("}");
	}
	printf("},\n  \"regions\": [");
	for (unsigned int i = 0; i < UVIRTIO_NUM_REGIONS; i++) {
		char name[16];

		if (!reg_ok[i] || !reg[i].region_size)
			continue;
		region_name(i, name, sizeof(name));
		printf("%s\n    {\"index\": %u, \"name\": \"%s\", "
		       "\"size\": %" PRIu64 ", \"offset\": %" PRIu64
		       ", \"flags\": [",
		       first ? "" : ",", i, name, (uint64_t)reg[i].region_size,
		       (uint64_t)reg[i].offset);
		PRINT_FLAGS(region_flags, reg[i].flags, true);
		printf("]");
		if (reg[i].flags & UVIRTIO_REGION_INFO_MSIX)
			printf(", \"msix_start\": %" PRIu64
			       ", \"msix_end\": %" PRIu64,
			       (uint64_t)reg[i].msix_start,
			       (uint64_t)reg[i].msix_end);
		printf("}");
		first = false;
	}
	printf("\n  ]");
}

static const char info_usage[] =
	"usage: uvirtio info BDF [--json] [--features]\n"
	"       uvirtio info DEVICE [--type blk|rng] [--json]\n"
	"  DEVICE: pci:BDF, vhost-user:PATH, vhost-vdpa:PATH, mmio:NAME;\n"
	"  --type names the device where the transport cannot (vhost-user)";

/*
 * info of a device that is no PCI function: what the library negotiates
 * with it.  Opening it negotiates, so this is the driver's view, not the
 * register dump a PCI function gets.
 */
static int info_devstr(const char *arg, uint32_t type, bool json)
{
	/* everything the library can use: the most the device agrees to */
	struct uvirtio_dev_params dp = { .wanted = ~0ull, .device_type = type };
	char name[CLI_NAME_MAX];
	struct uvirtio_backend *be;
	struct uvirtio_dev *dev;
	uint64_t pf;
	int rc, ret;

	rc = cli_open_backend(arg, name, &be, NULL);
	if (rc)
		return rc;
	ret = uvirtio_dev_open(be, &dp, &dev);
	if (ret == -ENODEV && !type) {
		uvirtio_backend_close(be);
		cli_err("%s: the transport cannot tell the device type: give --type blk|rng",
			name);
		return RC_USAGE;
	}
	if (ret) {
		uvirtio_backend_close(be);
		return cli_open_err(ret, name, "virtio");
	}
	pf = uvirtio_vhost_user_protocol_features(be);
	if (json) {
		printf("{\n  \"device\": \"%s\",\n  \"transport\": \"%s\",\n"
		       "  \"virtio_id\": %u,\n  \"queues\": %d,\n"
		       "  \"vectors\": %u,\n  \"irq_mode\": \"%s\",\n"
		       "  \"config_len\": %u,\n"
		       "  \"features_negotiated\": \"0x%016" PRIx64 "\"",
		       name, uvirtio_dev_transport_name(dev),
		       uvirtio_dev_device_type(dev),
		       uvirtio_dev_num_queues(dev),
		       uvirtio_dev_num_vectors(dev),
		       uvirtio_dev_irq_mode_name(uvirtio_dev_irq_mode(dev)),
		       uvirtio_dev_config_len(dev), uvirtio_dev_features(dev));
		if (pf)
			printf(",\n  \"vhost_user_protocol_features\": \"0x%"
			       PRIx64 "\"", pf);
		printf("\n}\n");
	} else {
		printf("%s: virtio id %u over %s\n", name,
		       uvirtio_dev_device_type(dev),
		       uvirtio_dev_transport_name(dev));
		printf("  queues:        %d\n", uvirtio_dev_num_queues(dev));
		printf("  vectors:       %u\n", uvirtio_dev_num_vectors(dev));
		printf("  interrupts:    %s (every queue)\n",
		       uvirtio_dev_irq_mode_name(uvirtio_dev_irq_mode(dev)));
		printf("  config bytes:  %u\n", uvirtio_dev_config_len(dev));
		if (pf)
			printf("  protocol:      0x%" PRIx64 "\n", pf);
		print_features(uvirtio_dev_device_type(dev),
			       uvirtio_dev_features(dev), false, "negotiated");
	}
	uvirtio_dev_close(dev);
	uvirtio_backend_close(be);
	return RC_OK;
}

/* Milliseconds left of a kept-alive device (LIST_DEVICES), 0 if not kept. */
static unsigned int kept_ms(uint32_t addr)
{
	struct uvirtio_device_entry e[64];
	struct uvirtio_list_devices ld = {
		.size = sizeof(ld), .count = 64, .entry_size = sizeof(e[0]),
		.entries = (uintptr_t)e,
	};
	unsigned int i, ms = 0;
	int fd = open(cli_ctl(), O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	memset(e, 0, sizeof(e));
	if (!ioctl(fd, UVIRTIO_LIST_DEVICES, &ld))
		for (i = 0; i < ld.count && i < 64; i++)
			if (e[i].pci_addr == addr &&
			    e[i].transport == UVIRTIO_DEVICE_TRANSPORT_PCI &&
			    (e[i].flags & UVIRTIO_DEVICE_ENTRY_KEPT))
				ms = e[i].keepalive_ms;
	close(fd);
	return ms;
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "features", no_argument, NULL, 'F' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvirtio_region_info reg[UVIRTIO_NUM_REGIONS];
	int reg_ok[UVIRTIO_NUM_REGIONS] = { 0 };
	struct uvirtio_api_version ver;
	struct uvirtio_device_open op;
	struct uvirtio_device_info di;
	bool json = false, features = false;
	uint64_t offered = 0;
	int opt, ctl, fd, ret, fret = 0;
	enum uvirtio_scheme scheme;
	const char *rest;
	uint32_t type = 0;
	char bdf[16];
	uint32_t addr;

	while ((opt = getopt_long(argc, argv, "jFt:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (!strcmp(optarg, "blk"))
				type = VIRTIO_ID_BLOCK;
			else if (!strcmp(optarg, "rng"))
				type = VIRTIO_ID_RNG;
			else
				return cli_usage_err("info: unknown --type '%s' (blk, rng)",
						     optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'F':
			features = true;
			break;
		case 'h':
			printf("%s\n", info_usage);
			return RC_OK;
		default:
			return cli_usage_err("%s", info_usage);
		}
	}
	if (optind != argc - 1)
		return cli_usage_err("%s", info_usage);
	if (uvirtio_parse_devstr(argv[optind], &scheme, &rest))
		return cli_usage_err("info: bad device '%s'", argv[optind]);
	if (scheme != UVIRTIO_SCHEME_PCI)
		return info_devstr(argv[optind], type, json);
	if (cli_parse_bdf(rest, bdf, &addr))
		return cli_usage_err("info: bad PCI address '%s'", argv[optind]);
	if (!cli_module_loaded())
		return cli_no_module();

	ctl = open(cli_ctl(), O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return cli_errno(errno, "%s", cli_ctl());
	memset(&ver, 0, sizeof(ver));
	ver.size = sizeof(ver);
	if (ioctl(ctl, UVIRTIO_GET_API_VERSION, &ver)) {
		ret = cli_errno(errno, "%s: UVIRTIO_GET_API_VERSION", cli_ctl());
		close(ctl);
		return ret;
	}
	memset(&op, 0, sizeof(op));
	op.size = sizeof(op);
	op.pci_addr = addr;
	if (ioctl(ctl, UVIRTIO_DEVICE_OPEN, &op)) {
		int err = errno;

		close(ctl);
		if (err == ENODEV) {
			cli_err("%s: no such device (not bound to uvirtio? try 'uvirtio bind %s')",
				bdf, bdf);
			return RC_NOTFOUND;
		}
		if (err == EBUSY) {
			unsigned int ms = kept_ms(addr);

			if (ms)
				cli_err("%s: device kept alive for a re-attach (%u ms left; the module resets it then)",
					bdf, ms);
			else
				cli_err("%s: device busy (opened by another process)",
					bdf);
			return RC_BUSY;
		}
		return cli_errno(err, "%s: open", bdf);
	}
	close(ctl);
	fd = op.fd;

	memset(&di, 0, sizeof(di));
	di.size = sizeof(di);
	if (ioctl(fd, UVIRTIO_DEVICE_GET_INFO, &di)) {
		ret = cli_errno(errno, "%s: UVIRTIO_DEVICE_GET_INFO", bdf);
		close(fd);
		return ret;
	}
	for (unsigned int i = 0; i < UVIRTIO_NUM_REGIONS; i++) {
		if (i == 6)	/* no region 6 (would be the ROM) */
			continue;
		memset(&reg[i], 0, sizeof(reg[i]));
		reg[i].size = sizeof(reg[i]);
		reg[i].index = i;
		reg_ok[i] = !ioctl(fd, UVIRTIO_REGION_GET_INFO, &reg[i]);
	}
	if (features)
		fret = read_offered(fd, &di, reg, &offered);

	if (json)
		print_json(bdf, &ver, &di, reg, reg_ok);
	else
		print_human(bdf, &ver, &di, reg, reg_ok);
	if (features && !fret)
		print_features(di.virtio_id, offered, json, "offered");
	/* The stats show this process as the owner: it has the fd open. */
	print_stats(bdf, json);
	if (json)
		printf("\n}\n");
	close(fd);
	if (features && fret)
		return cli_errno(fret, "%s: reading the offered features", bdf);
	return RC_OK;
}
