# SPDX-License-Identifier: GPL-2.0
#
# uvirtio top-level Makefile.  `make help` lists the targets.

KDIR	?= /lib/modules/$(shell uname -r)/build
PREFIX	?= /usr/local
DESTDIR	?=
OUT	?= $(CURDIR)/out
V	?= 0

export UVIRTIO_OUT := $(OUT)

.PHONY: all module lib tools selftests examples kernel deps check soak demo bench \
	clean install uninstall help vm-shell vm-test fio deb vfio-vm-test vm-test-cov docs coverage

all: lib tools

## Kernel module, against $(KDIR) (default: the running kernel)
module:
	@test -f $(KDIR)/Makefile || { echo "error: no kernel build tree at $(KDIR);" \
		"install linux-headers-$$(uname -r) or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

## User-space library (userlib/)
lib:
	$(MAKE) -C userlib

examples: lib
	$(MAKE) -C userlib examples

## The uvirtio CLI (tools/)
tools: lib
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools; fi

## Static selftests for the VM (selftests/uvirtio/)
selftests: lib vm-test
	$(MAKE) -C selftests/uvirtio KSRC=$$(scripts/build-kernel.sh --src) \
		OUTPUT=$(OUT)/selftests

## The Debian packages, into out/deb/
deb:
	scripts/deb.sh

## The fio ioengine (fetches and configures the fio source once, cached)
fio: lib
	$(MAKE) -C tools/fio OUT=$(OUT)/fio

## libuvirtio's device-matrix test (in the VM, and on the host over vhost-user),
## and the virtio-mmio interrupt check (out/mmio/: not a selftest run-tests runs)
vm-test: $(OUT)/selftests/libuvirtio_vm_test $(OUT)/mmio/libuvirtio_mmio_irq

## The VFIO backend's own in-VM test (check.sh vm-vfio; not a selftest)
vfio-vm-test: $(OUT)/vfio/libuvirtio_vfio_vm_test

# The in-VM programs: static, against libuvirtio.a, one rule for all.
VM_PROG_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread \
	-Iuserlib/include -Iuapi
VM_PROG_DEPS := userlib/build/libuvirtio.a $(wildcard userlib/include/uvirtio/*.h) \
	uapi/linux/uvirtio.h

userlib/build/libuvirtio.a: lib

$(OUT)/selftests/libuvirtio_vm_test: userlib/tests/vm_test.c $(VM_PROG_DEPS)
$(OUT)/mmio/libuvirtio_mmio_irq: userlib/tests/mmio_irq.c $(VM_PROG_DEPS)
$(OUT)/vfio/libuvirtio_vfio_vm_test: userlib/tests/vfio_vm_test.c $(VM_PROG_DEPS)
$(OUT)/selftests/libuvirtio_vm_test $(OUT)/mmio/libuvirtio_mmio_irq \
$(OUT)/vfio/libuvirtio_vfio_vm_test:
	@mkdir -p $(dir $@)
	$(CC) $(VM_PROG_CFLAGS) $< userlib/build/libuvirtio.a -static -o $@

## The in-VM library programs with gcov (check.sh counts their VM runs in the
## library's line coverage): out/ucov/, a build of its own
UCOV := $(OUT)/ucov
UCOV_CFLAGS := -O0 -g --coverage -DUV_COVERAGE
UCOV_LIB := $(UCOV)/lib/libuvirtio.a
UCOV_PROGS := $(UCOV)/libuvirtio_vm_test $(UCOV)/libuvirtio_vfio_vm_test \
	$(UCOV)/uvirtio_keepalive $(UCOV)/tools/uvirtio-static
# _exit() writes the counters too (userlib/tests/gcov_exit.c)
UCOV_LD := $(UCOV)/gcov_exit.o --coverage -Wl,--wrap=_exit -static
vm-test-cov: $(UCOV_PROGS)

# the library with the flags of "make -C userlib coverage" (the same lines
# count as code); the programs themselves are not instrumented
$(UCOV_LIB): FORCE
	$(MAKE) -C userlib O=$(UCOV)/lib CFLAGS='$(UCOV_CFLAGS)' $@ \
		$(UCOV)/lib/libuvirtio-testing.a
$(UCOV)/gcov_exit.o: userlib/tests/gcov_exit.c
	@mkdir -p $(dir $@)
	$(CC) $(VM_PROG_CFLAGS) -c $< -o $@
$(UCOV)/libuvirtio_vm_test: userlib/tests/vm_test.c $(UCOV_LIB) $(UCOV)/gcov_exit.o
$(UCOV)/libuvirtio_vfio_vm_test: userlib/tests/vfio_vm_test.c $(UCOV_LIB) \
	$(UCOV)/gcov_exit.o
$(UCOV)/libuvirtio_vm_test $(UCOV)/libuvirtio_vfio_vm_test:
	$(CC) $(VM_PROG_CFLAGS) $< $(UCOV)/lib/libuvirtio.a $(UCOV_LD) -o $@
# the keep-alive selftest (kselftest harness: the kernel source's headers)
$(UCOV)/uvirtio_keepalive: selftests/uvirtio/uvirtio_keepalive.c $(UCOV_LIB) \
	$(UCOV)/gcov_exit.o
	$(CC) -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -O2 -pthread \
		-I$$(scripts/build-kernel.sh --src)/tools/testing/selftests -Iuapi \
		-isystem /usr/include -Iuserlib/include $< $(UCOV)/lib/libuvirtio.a \
		$(UCOV_LD) -o $@
$(UCOV)/tools/uvirtio-static: $(UCOV_LIB) $(UCOV)/gcov_exit.o FORCE
	$(MAKE) -C tools OUTDIR=$(UCOV)/tools LIBA=$(UCOV)/lib/libuvirtio.a \
		LIBT=$(UCOV)/lib/libuvirtio-testing.a LDFLAGS='$(UCOV_LD)' $@

.PHONY: FORCE
FORCE:

## libuvirtio's host unit tests under gcov: line coverage per file and in all
coverage:
	$(MAKE) -C userlib coverage

## The documentation, Documentation/ as HTML into out/docs/html (Sphinx;
## uapi.rst pulls the ioctls' kernel-doc from uapi/linux/uvirtio.h)
docs:
	scripts/docs.sh

## The debug test kernel (cached outside the repo)
kernel:
	scripts/deps.sh kernel
	scripts/build-kernel.sh

## Install the Debian packages the project needs (idempotent)
deps:
	scripts/deps.sh all

check:
	scripts/check.sh

## The long versions of the reliability tests and fuzzers (hours)
soak:
	UVIRTIO_SOAK=1 scripts/check.sh

demo:
	scripts/demo.sh

## Benchmarks: the same fio job on libuvirtio and the kernel's virtio-blk in three
## IOMMU regimes, uvirtio.ko vs VFIO, ring micro-benchmark (~20 min; UVIRTIO_BENCH_QUICK=1: ~3 min)
bench:
	scripts/bench.sh

## Boot a VM and run CMD in it: make vm-shell CMD='cat /proc/modules'
vm-shell:
	scripts/vm-run.sh -k $(or $(KERNEL),stock) -i $(or $(IOMMU),off) -c '$(CMD)'

# Where the udev rule and the modprobe.d file go: udev and modprobe read
# only these, whatever PREFIX is (DESTDIR still applies).
UDEVRULESDIR	?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/lib/udev)/rules.d
MODPROBEDIR	?= /etc/modprobe.d

install: lib tools
	$(MAKE) -C userlib install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX); fi
	install -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(MODPROBEDIR)
	install -m 644 packaging/udev/70-uvirtio.rules $(DESTDIR)$(UDEVRULESDIR)/
	@# A configuration file: never overwrite the administrator's copy.
	@if [ -e $(DESTDIR)$(MODPROBEDIR)/uvirtio.conf ]; then \
		echo "note: keeping existing $(DESTDIR)$(MODPROBEDIR)/uvirtio.conf"; \
	else install -m 644 packaging/modprobe.d/uvirtio.conf $(DESTDIR)$(MODPROBEDIR)/; fi
	@if [ -f $(KDIR)/Makefile ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) modules_install; \
	else echo "note: no kernel tree at $(KDIR), module not installed"; fi

# The library's Makefile may lack an uninstall target: then remove what
# its install target puts in place (LIBDIR/INCLUDEDIR at their defaults).
uninstall:
	@if $(MAKE) -s -n -C userlib uninstall >/dev/null 2>&1; then \
		$(MAKE) -C userlib uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX); \
	else \
		echo "rm -f $(DESTDIR)$(PREFIX)/lib/libuvirtio.* ..."; \
		rm -f $(DESTDIR)$(PREFIX)/lib/libuvirtio.so* \
		      $(DESTDIR)$(PREFIX)/lib/libuvirtio.a \
		      $(DESTDIR)$(PREFIX)/lib/pkgconfig/uvirtio.pc; \
		rm -rf $(DESTDIR)$(PREFIX)/include/uvirtio; \
	fi
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX); fi
	rm -f $(DESTDIR)$(UDEVRULESDIR)/70-uvirtio.rules
	@# Remove the modprobe.d file only if nobody edited it.
	@if cmp -s packaging/modprobe.d/uvirtio.conf $(DESTDIR)$(MODPROBEDIR)/uvirtio.conf; then \
		rm -f $(DESTDIR)$(MODPROBEDIR)/uvirtio.conf; \
	elif [ -e $(DESTDIR)$(MODPROBEDIR)/uvirtio.conf ]; then \
		echo "note: keeping modified $(DESTDIR)$(MODPROBEDIR)/uvirtio.conf"; fi
	@for d in $(DESTDIR)/lib/modules/*/extra $(DESTDIR)/lib/modules/*/updates; do \
		if [ -f $$d/uvirtio.ko ]; then echo "rm -f $$d/uvirtio.ko"; rm -f $$d/uvirtio.ko; fi; \
	done

clean:
	-@test -f $(KDIR)/Makefile && $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1
	-$(MAKE) -C userlib clean
	-@if [ -f tools/Makefile ]; then $(MAKE) -C tools clean; fi
	rm -rf $(OUT)

help:
	@echo 'uvirtio: drive virtio devices from user space: PCI functions through the'
	@echo '         module or VFIO, virtio-mmio, vhost-user and vhost-vdpa devices'
	@echo
	@echo 'The two main commands:'
	@echo '  make demo        boot a QEMU VM, bind a virtio-blk device to uvirtio and'
	@echo '                   do verified I/O on it from user space'
	@echo '  make check       every test: host unit tests (ASan/UBSan), module builds'
	@echo '                   against Debian 6.1 and 6.12 headers, KUnit + selftests'
	@echo '                   in a debug-kernel VM, selftests on the stock 6.1 kernel,'
	@echo '                   DMA containment in one VM per IOMMU setup, vhost-user'
	@echo '                   and the fio engine against qemu-storage-daemon on the'
	@echo '                   host, virtio-net over vhost-user against dpdk-testpmd'
	@echo '                   (1 and 2 queue pairs) on the host, the Debian packages'
	@echo '                   (lintian, DKMS, install, purge), vhost-vdpa'
	@echo '                   (vdpa_sim, VDUSE), virtio-mmio'
	@echo '                   (microvm), INTx/shared-vector interrupts and'
	@echo '                   virtio-console (vm-irq), VFIO and virtio-net (against'
	@echo '                   the kernel'"'"'s virtio_net on a QEMU hub) in VMs'
	@echo
	@echo 'Building:'
	@echo '  make [all]       library and tools'
	@echo '  make module      uvirtio.ko against KDIR (default: running kernel)'
	@echo '  make lib         libuvirtio (shared, static, pkg-config file)'
	@echo '  make examples    example programs in userlib/examples'
	@echo '  make tools       the uvirtio CLI (and pktio, the net tests'"'"' AF_PACKET helper)'
	@echo '  make selftests   static selftests for the VM (into out/selftests)'
	@echo '  make vm-test     only libuvirtio_vm_test, the device-matrix test'
	@echo '  make vfio-vm-test  the in-VM test of the VFIO backend'
	@echo '  make vm-test-cov   vm_test, vfio_vm_test and the static CLI against a gcov'
	@echo '                   build of the library (out/ucov; check.sh counts their'
	@echo '                   VM runs in "userlib line coverage")'
	@echo '  make fio         the fio ioengine, out/fio/uvirtio-fio.so (example job:'
	@echo '                   tools/fio/uvirtio.fio)'
	@echo '  make kernel      the debug test kernel (cached in ~/.cache/uvirtio)'
	@echo '  make docs        Documentation/ as HTML into out/docs/html (Sphinx, with'
	@echo '                   the UAPI kernel-doc of uapi/linux/uvirtio.h)'
	@echo '  make coverage    the library'"'"'s host unit tests under gcov: line'
	@echo '                   coverage per file, "userlib line coverage: N%"'
	@echo '                   (the module'"'"'s: make check, vm-debug stage)'
	@echo '  make deps        install missing Debian packages'
	@echo
	@echo 'Running:'
	@echo '  make soak        make check with the long reliability runs and fuzzers'
	@echo "  make vm-shell CMD='...' [KERNEL=stock|stock612|debug]"
	@echo "                   [IOMMU=off|on|strict|pt|nointremap]"
	@echo '                   boot a test VM and run CMD in it'
	@echo '  make bench       benchmarks: the same fio job on libuvirtio and the kernel'"'"'s'
	@echo '                   virtio-blk, one VM per IOMMU regime (off, lazy, strict),'
	@echo '                   uvirtio.ko vs VFIO and the keep-alive handover (lazy),'
	@echo '                   ring micro-benchmark vs ringtest, vhost-user-blk on the'
	@echo '                   host; out/bench/results.* (~20 min;'
	@echo '                   UVIRTIO_BENCH_QUICK=1: a ~3 min smoke run)'
	@echo
	@echo 'Installing:'
	@echo '  make deb         Debian packages into out/deb/ (uvirtio-dkms, libuvirtio0,'
	@echo '                   libuvirtio-dev, uvirtio): apt install ./out/deb/*.deb'
	@echo '  make install [DESTDIR=] [PREFIX=/usr/local] [KDIR=]'
	@echo '  make uninstall, make clean'
	@echo
	@echo 'Variables: KDIR, PREFIX, DESTDIR, OUT (default ./out),'
	@echo '  UVIRTIO_CACHE (default ~/.cache/uvirtio), UVIRTIO_JOBS.'
	@echo 'See README.md and Documentation/testing.rst.'
