#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG, q35 or microvm, qboot) with a set of virtio
# devices, load uvirtio.ko, run a payload in the guest, and judge the run.
#
#   scripts/vm-run.sh [options] [-c 'guest shell command' | -p payload-file]
#     -k KERNEL   stock (Debian 6.1, default) | debug (6.12 KUnit/KASAN build)
#                 | stock612 (Debian's 6.12 image: scripts/deps.sh stock612)
#     -i MODE     IOMMU setup (default off):
#                   off         no IOMMU; modern and transitional devices
#                   on          intel-iommu (interrupt remapping on) with
#                               iommu_platform=on,disable-legacy=on devices;
#                               the kernel's default DMA mode (lazy IOTLB
#                               flushing on Debian)
#                   strict      as on, plus iommu.strict=1
#                   pt          as on, plus iommu=pt (identity default domains)
#                   nointremap  as on, but intel-iommu,intremap=off and the
#                               kernel's intremap=off: no interrupt remapping
#     -X MACHINE  q35 (default); microvm: virtio-mmio version 2 devices
#                 (-M microvm,acpi=on, virtio-mmio.force-legacy=false);
#                 microvm-legacy: the same with QEMU's default legacy
#                 version 1.  microvm takes the mmio device set and -i off
#                 only; the guest gets tsc_early_khz= (the host's TSC)
#                 because TCG microvm hangs calibrating it otherwise, and
#                 loads no virtio module (uvirtio must get the devices)
#     -d SET      device set: std (default), demo, bench, contain, irq, mmio,
#                 net
#                 bench: virtio-blk on null-co at 00:06.0, 00:07.0 and
#                   00:08.0, and on a 16 MiB file at 00:09.0 (make bench)
#                 (microvm: a virtio-blk-device on a 16 MiB file and a
#                 virtio-rng-device; UVIRTIO_MMIO_VERSION=1 or 2), none.
#                 contain: the DMA-containment variants (uvirtio_containment):
#                   00:06.0  virtio-blk, iommu_platform=on, modern only
#                            (translated with an IOMMU)
#                   00:07.0  virtio-blk, modern only, no iommu_platform
#                   00:08.0  virtio-blk, transitional, no iommu_platform
#                            (each on a 16 MiB file)
#                   00:09.0  virtio-rng, legacy only
#                   00:11.0  a conventional pci-bridge with two virtio-rng
#                            (bus 01, slots 1 and 2: one IOMMU group) with
#                            the same flags as the std set's modern devices
#                 The addresses reach the guest as UVIRTIO_CONTAIN_*.
#                 irq: interrupts as the device offers them:
#                   00:06.0  virtio-blk, vectors=0 (INTx only;
#                            transitional without an IOMMU)
#                   00:07.0  virtio-blk, num-queues=4, vectors=2 (shared)
#                   00:08.0  virtio-serial, max_ports=1 (no MULTIPORT):
#                            a virtconsole on a host socket
#                   00:09.0  virtio-serial (MULTIPORT): a virtconsole
#                            (port 0) and virtserialport org.test.0
#                            (port 1), each on a host socket
#                 (UVIRTIO_IRQ_INTX, UVIRTIO_IRQ_SHARED, UVIRTIO_VM_DEVICES,
#                 UVIRTIO_CONSOLE_PORTS); scripts/console-host.py runs
#                 beside QEMU, checks the bytes of every port both ways,
#                 and its verdict is part of the run's
#                 net: two virtio-net-pci on one QEMU hub (hubport netdevs),
#                   00:0a.0 (MAC 52:54:00:00:0a:01, mq=on) for uvirtio and 00:0b.0
#                   (52:54:00:00:0b:01) for the kernel's virtio_net, as
#                   UVIRTIO_NET_UV, UVIRTIO_NET_K (+ _MAC) in the guest;
#                   scripts/net-link-host.py runs beside QEMU and toggles
#                   00:0a.0's link (QMP set_link) when the guest asks
#     -m MEM      guest memory (default 1G)
#     -L          kernel lockdown (integrity), raised after uvirtio.ko is
#                 loaded and before the payload runs (UVIRTIO_LOCKDOWN=1).
#                 Not lockdown=integrity on the command line: that makes
#                 the kernel refuse the unsigned out-of-tree module
#     -t SECS     timeout for the whole VM (default 900)
#     -o DIR      output dir (default out/vm/KERNEL-iommuX): console.log,
#                 results.log, qmp.sock, the initramfs
#     -a SRC:DST  add a file to the initramfs (repeatable)
#     -l MODS     more kernel modules (with their dependencies) for the
#                 initramfs, modprobe'd at boot after the virtio stack,
#                 e.g. -l "vfio_pci vfio_iommu_type1"
#     -e K=V      environment for the payload (repeatable)
#     -M PARAMS   module parameters for uvirtio.ko
#     -T MASK     extra taint bits the run may set (default 0)
#     -H          hot-plug: add a virtio-blk function behind the PCIe root
#                 port (std set) and run scripts/hotplug-host.py next to
#                 QEMU, which pulls and re-adds it over QMP when the guest
#                 asks (uvirtio_reliability's hotplug test); its verdict
#                 is part of the run's
#     -x MODS     further kernel modules to put in the initramfs (with
#                 their dependencies), not loaded at boot: the payload
#                 modprobes them
#     -n          do not build or load uvirtio.ko
#     -K KO       load this uvirtio.ko instead of building one (e.g. the
#                 module DKMS built from the Debian package)
#     -G          line coverage (-k debug only): build uvirtio.ko with
#                 UVIRTIO_GCOV=1 (in $UVIRTIO_OUT/kmod/<kver>-gcov) and,
#                 after the payload and the module's unload, copy its
#                 counters from /sys/kernel/debug/gcov out of the guest
#                 into OUTDIR/gcov/ (scripts/coverage.py reads them)
#     -U          user-space line coverage: the payload runs with
#                 GCOV_PREFIX=/tmp/ugcov, so programs built with --coverage
#                 (make vm-test-cov) write their .gcda there (under their
#                 build path); after the payload that tree comes back into
#                 OUTDIR/ugcov/ (scripts/coverage.py --also reads it)
#     -v          copy the console to stderr as the VM runs
#
# The payload's output (ttyS1) is printed on stdout.  The exit status is 0
# only if the VM finished (no panic, no timeout, the payload exited 0) and
# the health check passed: no WARNING/BUG/Oops/KASAN/UBSAN/lockdep/DMA-API
# report in the console log, no taint beyond O/E/TEST (+ -T), balanced
# pin_user_pages counters, no DMA-API debug errors and no kmemleak hits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=stock iommu=off devset=std timeout=900 outdir= cmd= payload=
prebuilt_ko=
modparams= taint_extra=0 nomod=0 verbose=0 hotplug=0 mem=1G lockdown=0
machine=q35 gcov=0 ugcov=0
adds=() envs=() xmods=() extramods=
while getopts "k:i:d:t:o:a:e:M:T:c:p:m:x:K:X:l:GHLUnv" o; do
	case $o in
	X) machine=$OPTARG ;;
	k) kernel=$OPTARG ;;
	i) iommu=$OPTARG ;;
	d) devset=$OPTARG ;;
	t) timeout=$OPTARG ;;
	o) outdir=$OPTARG ;;
	a) adds+=(-a "$OPTARG") ;;
	l) extramods+=" $OPTARG" ;;
	e) envs+=(-e "$OPTARG") ;;
	M) modparams=$OPTARG ;;
	T) taint_extra=$OPTARG ;;
	c) cmd=$OPTARG ;;
	K) prebuilt_ko=$OPTARG ;;
	p) payload=$OPTARG ;;
	m) mem=$OPTARG ;;
	x) xmods=(-x "$OPTARG") ;;
	G) gcov=1 ;;
	U) ugcov=1 ;;
	H) hotplug=1 ;;
	L) lockdown=1 ;;
	n) nomod=1 ;;
	v) verbose=1 ;;
	*) sed -n '4,/^set -e/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
outdir=${outdir:-$UV_OUT/vm/$kernel-iommu$iommu}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

append="console=ttyS0 panic=-1 printk.devkmsg=on"
case $kernel in
stock)
	kver=$(uv_stock_kver)
	[ -n "$kver" ] || uv_die "no stock kernel (run scripts/deps.sh)"
	sroot=$UV_CACHE/stock/$kver
	[ -f "$sroot/.done" ] || uv_die "stock kernel not fetched (scripts/deps.sh stock)"
	bzimage=$sroot/boot/vmlinuz-$kver
	modroot=$sroot
	kdir=/usr/src/linux-headers-$kver
	;;
stock612)
	kver=$(uv_stock612_kver)
	sroot=$UV_CACHE/stock/$kver
	[ -f "$sroot/.done" ] || uv_die "stock 6.12 kernel not fetched (scripts/deps.sh stock612)"
	bzimage=$sroot/boot/vmlinuz-$kver
	modroot=$sroot
	kdir=/usr/src/linux-headers-$kver
	;;
debug)
	kobj=$("$UV_TOP/scripts/build-kernel.sh" --path)
	kver=$(cat "$kobj/include/config/kernel.release")
	bzimage=$kobj/arch/x86/boot/bzImage
	modroot=$kobj/mod-install
	kdir=$kobj
	append+=" kmemleak=on"
	;;
*)
	uv_die "unknown kernel '$kernel' (stock, stock612 or debug)"
	;;
esac

case $machine in
q35) ;;
microvm|microvm-legacy)
	[ "$iommu" = off ] || uv_die "-X $machine has no IOMMU: -i off only"
	[ "$devset" = std ] && devset=mmio
	[ "$devset" = mmio ] || [ "$devset" = none ] ||
		uv_die "-X $machine takes the mmio device set"
	# Under TCG the guest cannot calibrate the TSC against the PIT-less
	# microvm: hand it the host's frequency.
	khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
	[ -n "$khz" ] || uv_die "no cpu MHz in /proc/cpuinfo"
	append+=" tsc_early_khz=$khz tsc=reliable no_timer_check"
	;;
*) uv_die "-X takes q35, microvm or microvm-legacy" ;;
esac
[ "$devset" != mmio ] || [ "$machine" != q35 ] ||
	uv_die "the mmio device set needs -X microvm or microvm-legacy"

# Device sets.  Every device has a fixed address so tests and logs agree.
dev=()
case $iommu in
on|strict|pt|nointremap)
	has_iommu=1
	if [ "$iommu" = nointremap ]; then
		dev+=(-device intel-iommu,intremap=off)
	else
		dev+=(-device intel-iommu,intremap=on)
	fi
	append+=" intel_iommu=on"
	case $iommu in
	strict) append+=" iommu.strict=1" ;;
	pt) append+=" iommu=pt" ;;
	nointremap) append+=" intremap=off" ;;
	esac
	m=",disable-legacy=on,iommu_platform=on"
	t=$m
	;;
off)
	has_iommu=0
	append+=" intel_iommu=off"
	m=",disable-legacy=on"
	t=",disable-legacy=off"
	;;
*)
	uv_die "-i takes on, strict, pt, nointremap or off"
	;;
esac
case $devset in
std)
	img=$outdir/disk.img
	rm -f "$img"
	truncate -s 64M "$img"
	dev+=(-device "virtio-rng-pci,addr=0x4$m"
	      -device "virtio-rng-pci,addr=0x5$t"
	      -drive "if=none,id=null0,file=null-co://,format=raw"
	      -device "virtio-blk-pci,drive=null0,addr=0x6,serial=uvnull0$m"
	      -drive "if=none,id=img0,file=$img,format=raw,cache=unsafe"
	      -device "virtio-blk-pci,drive=img0,addr=0x7,serial=uvimg0$t"
	      -device "virtio-net-pci,addr=0x8$m"
	      -device "pcie-root-port,id=rp1,addr=0x10,chassis=1,slot=1")
	# Ring and queue variants for libuvirtio's in-VM test (vm_test.c):
	# "slot properties vm_test-flags".
	variants=(
		"9  -                                            bigbuf"
		"a  packed=on                                    packed"
		"b  event_idx=off                                noevidx"
		"c  indirect_desc=off                            noind"
		"d  queue-size=4                                 bigbuf"
		"e  num-queues=4                                 mq=4"
		"f  packed=on,event_idx=off,indirect_desc=off,queue-size=32 packed,noevidx,noind"
	)
	vmdevs=
	for v in "${variants[@]}"; do
		set -- $v
		i=$1 props=${2#-} flags=${3#-}
		truncate -s 16M "$outdir/var$i.img"
		dev+=(-drive "if=none,id=var$i,file=$outdir/var$i.img,format=raw,cache=unsafe"
		      -device "virtio-blk-pci,drive=var$i,addr=0x$i,serial=uvvar$i${props:+,$props}$m")
		vmdevs+="0000:00:0$i.0=blk${flags:+,$flags},serial=uvvar$i "
	done
	if [ "$has_iommu" = 1 ]; then
		vmdevs+="0000:00:07.0=blk,serial=uvimg0 0000:00:05.0=rng"
	else
		vmdevs+="0000:00:07.0=blk,legacy,serial=uvimg0 0000:00:05.0=rng,legacy"
	fi
	envs+=(-e "UVIRTIO_VM_DEVICES=$vmdevs")
	if [ "$hotplug" = 1 ]; then
		# A -blockdev outlives device_del, so the re-added function
		# sees the same disk.
		rm -f "$outdir/hp.img"
		truncate -s 64M "$outdir/hp.img"
		hpdev="driver=virtio-blk-pci,id=hp0,bus=rp1,drive=hpd,serial=uvhp0$m"
		dev+=(-blockdev "driver=file,filename=$outdir/hp.img,node-name=hpf"
		      -blockdev "driver=raw,file=hpf,node-name=hpd"
		      -device "$hpdev")
		envs+=(-e "UVIRTIO_HOTPLUG_PORT=0000:00:10.0")
		# device_del to the owner's notification, on the host clock:
		# it includes the guest's ACPI hot-plug handling, which takes
		# seconds under TCG on the KASAN/lockdep kernel
		hpmax=1
		[ "$kernel" = stock ] || hpmax=5
	fi
	;;
demo)
	# Two identical file-backed disks: one for uvirtio, one for the
	# kernel's virtio-blk, and an rng.
	for i in 0 1; do
		rm -f "$outdir/disk$i.img"
		truncate -s 64M "$outdir/disk$i.img"
		dev+=(-drive "if=none,id=img$i,file=$outdir/disk$i.img,format=raw,cache=unsafe"
		      -device "virtio-blk-pci,drive=img$i,addr=0x$((6 + i)),serial=uvimg$i$m")
	done
	dev+=(-device "virtio-rng-pci,addr=0x4$m")
	;;
bench)
	# 00:06.0 (uvirtio) and 00:07.0 (kernel) for the kernel-vs-library
	# rows; 00:08.0 for the uvirtio.ko-vs-VFIO rows (rebound between the
	# two), all on null-co; 00:09.0 on a file for the keep-alive handover
	# (its verifier reads back what it wrote).
	for i in 0 1 2; do
		dev+=(-drive "if=none,id=null$i,file=null-co://,format=raw"
		      -device "virtio-blk-pci,drive=null$i,addr=0x$((6 + i)),serial=uvnull$i$m")
	done
	rm -f "$outdir/ka9.img"
	truncate -s 16M "$outdir/ka9.img"
	dev+=(-drive "if=none,id=ka9,file=$outdir/ka9.img,format=raw,cache=unsafe"
	      -device "virtio-blk-pci,drive=ka9,addr=0x9,serial=uvka9$m")
	;;
contain)
	# What uvirtio_containment expects of each function depends on -i
	# (UVIRTIO_IOMMU); see the header comment.
	for i in 6 7 8; do
		rm -f "$outdir/contain$i.img"
		truncate -s 16M "$outdir/contain$i.img"
		dev+=(-drive "if=none,id=cimg$i,file=$outdir/contain$i.img,format=raw,cache=unsafe")
	done
	dev+=(-device "virtio-blk-pci,drive=cimg6,addr=0x6,serial=uvcontain6,disable-legacy=on,iommu_platform=on"
	      -device "virtio-blk-pci,drive=cimg7,addr=0x7,serial=uvcontain7,disable-legacy=on"
	      -device "virtio-blk-pci,drive=cimg8,addr=0x8,serial=uvcontain8,disable-legacy=off"
	      -device "virtio-rng-pci,addr=0x9,disable-modern=on,disable-legacy=off"
	      -device "pci-bridge,id=br0,chassis_nr=2,addr=0x11,shpc=off"
	      -device "virtio-rng-pci,bus=br0,addr=0x1$m"
	      -device "virtio-rng-pci,bus=br0,addr=0x2$m")
	envs+=(-e "UVIRTIO_CONTAIN_BLK=0000:00:06.0"
	       -e "UVIRTIO_CONTAIN_NOPLATFORM=0000:00:07.0"
	       -e "UVIRTIO_CONTAIN_TRANSITIONAL=0000:00:08.0"
	       -e "UVIRTIO_CONTAIN_LEGACY=0000:00:09.0"
	       -e "UVIRTIO_CONTAIN_GROUP=0000:01:01.0 0000:01:02.0")
	;;
irq)
	# Interrupts the way the device offers them (scripts/guest/irq-tests):
	# no MSI-X (INTx only) and fewer vectors than queues + 1 (shared).
	for i in 6 7; do
		rm -f "$outdir/irq$i.img"
		truncate -s 16M "$outdir/irq$i.img"
		dev+=(-drive "if=none,id=irq$i,file=$outdir/irq$i.img,format=raw,cache=unsafe")
	done
	dev+=(-device "virtio-blk-pci,drive=irq6,addr=0x6,serial=uvintx6,vectors=0$t"
	      -device "virtio-blk-pci,drive=irq7,addr=0x7,serial=uvshared7,num-queues=4,vectors=2$m")
	if [ "$has_iommu" = 1 ]; then
		intx="0000:00:06.0=blk,irq=intx,serial=uvintx6"
	else
		intx="0000:00:06.0=blk,legacy,irq=intx,serial=uvintx6"
	fi
	envs+=(-e "UVIRTIO_IRQ_INTX=0000:00:06.0" -e "UVIRTIO_IRQ_SHARED=0000:00:07.0"
	       -e "UVIRTIO_VM_DEVICES=$intx 0000:00:07.0=blk,mq=4,irq=shared,serial=uvshared7")
	# virtio-console: a single-port device (no MULTIPORT) and a
	# multiport one with a console and a named port, each port on a
	# host unix socket that scripts/console-host.py talks to.
	consocks=()
	for i in 0 1 2; do
		rm -f "$outdir/con$i.sock"
		consocks+=("$outdir/con$i.sock")
		dev+=(-chardev "socket,id=con$i,path=$outdir/con$i.sock,server=on,wait=off")
	done
	dev+=(-device "virtio-serial-pci,id=ser8,addr=0x8,max_ports=1$m"
	      -device "virtconsole,chardev=con0,bus=ser8.0,nr=0"
	      -device "virtio-serial-pci,id=ser9,addr=0x9$m"
	      -device "virtconsole,chardev=con1,bus=ser9.0,nr=0"
	      -device "virtserialport,chardev=con2,bus=ser9.0,nr=1,name=org.test.0")
	# "BDF:PORT:NAME:N1:N2:N3" per socket, in the helper's order
	mapfile -t szs < <(python3 "$UV_TOP/scripts/console-host.py" \
		--print-sizes --sock 0 --sock 1 --sock 2 | tr ' ' :)
	conports="0000:00:08.0:0:-:${szs[0]} 0000:00:09.0:0:-:${szs[1]}"
	conports+=" 0000:00:09.0:1:org.test.0:${szs[2]}"
	envs+=(-e "UVIRTIO_CONSOLE_PORTS=$conports")
	;;
net)
	# Two virtio-net functions on one QEMU hub: 00:0a.0 for uvirtio,
	# 00:0b.0 for the kernel's virtio_net (scripts/guest/net-tests).
	# 00:0a.0 has mq=on: it offers MQ and the control queue, with
	# max_virtqueue_pairs 1 (a hubport has one queue), so the driver's
	# control-queue path runs against QEMU.
	dev+=(-netdev hubport,id=h0,hubid=0 -netdev hubport,id=h1,hubid=0
	      -device "virtio-net-pci,netdev=h0,id=uvnet0,addr=0xa,mac=52:54:00:00:0a:01,mq=on$m"
	      -device "virtio-net-pci,netdev=h1,addr=0xb,mac=52:54:00:00:0b:01$m")
	envs+=(-e "UVIRTIO_NET_UV=0000:00:0a.0" -e "UVIRTIO_NET_UV_MAC=52:54:00:00:0a:01"
	       -e "UVIRTIO_NET_K=0000:00:0b.0" -e "UVIRTIO_NET_K_MAC=52:54:00:00:0b:01")
	;;
mmio)
	# Only on microvm; the platform device names depend on the order
	# QEMU fills its transports in, so the guest finds them by type.
	rm -f "$outdir/mmio.img"
	truncate -s 16M "$outdir/mmio.img"
	dev+=(-drive "if=none,id=mimg0,file=$outdir/mmio.img,format=raw,cache=unsafe"
	      -device "virtio-blk-device,drive=mimg0,serial=uvmmio0"
	      -device virtio-rng-device)
	if [ "$machine" = microvm ]; then
		dev+=(-global virtio-mmio.force-legacy=false)
		envs+=(-e UVIRTIO_MMIO_VERSION=2)
	else
		envs+=(-e UVIRTIO_MMIO_VERSION=1)
	fi
	;;
none) ;;
*) uv_die "unknown device set '$devset'" ;;
esac
[ "$hotplug" = 0 ] || [ "$devset" = std ] || uv_die "-H needs the std device set"

uvadd=()
if [ "$gcov" = 1 ]; then
	[ "$kernel" = debug ] || uv_die "-G needs -k debug (CONFIG_GCOV_KERNEL)"
	[ "$nomod" = 0 ] && [ -z "$prebuilt_ko" ] || uv_die "-G builds the module: not with -n or -K"
	grep -qx 'CONFIG_GCOV_KERNEL=y' "$kdir/.config" ||
		uv_die "the debug kernel lacks CONFIG_GCOV_KERNEL (rebuild it: scripts/build-kernel.sh)"
	"$UV_TOP/scripts/build-module.sh" "$kdir" "$UV_OUT/kmod/$kver-gcov" \
		UVIRTIO_GCOV=1 >/dev/null
	for ko in "$UV_OUT/kmod/$kver-gcov"/*.ko; do
		uvadd+=(-a "$ko:uvirtio/$(basename "$ko")")
	done
	envs+=(-e UVIRTIO_GCOV=1)
elif [ -n "$prebuilt_ko" ]; then
	[ -f "$prebuilt_ko" ] || uv_die "no module at $prebuilt_ko"
	uvadd+=(-a "$prebuilt_ko:uvirtio/uvirtio.ko")
elif [ "$nomod" = 0 ]; then
	"$UV_TOP/scripts/build-module.sh" "$kdir" "$UV_OUT/kmod/$kver" >/dev/null
	for ko in "$UV_OUT/kmod/$kver"/*.ko; do
		uvadd+=(-a "$ko:uvirtio/$(basename "$ko")")
	done
fi
[ "$ugcov" = 0 ] ||
	envs+=(-e UVIRTIO_UGCOV=1 -e GCOV_PREFIX=/tmp/ugcov -e GCOV_PREFIX_STRIP=0)
if [ -n "$cmd" ]; then
	payload=$outdir/payload.sh
	printf '#!/bin/sh\n%s\n' "$cmd" >"$payload"
fi
pl=()
[ -z "$payload" ] || pl=(-p "$payload")
if [ "$lockdown" = 1 ]; then
	# The lockdown LSM refuses unsigned modules once it is up, and
	# Debian's kernels check signatures: raise it after /init loaded
	# uvirtio.ko, then run the real payload.
	lpl=$outdir/lockdown-payload.sh
	cat >"$lpl" <<'EOF_LOCKDOWN'
#!/bin/sh
L=/sys/kernel/security/lockdown
grep -q ' /sys/kernel/security ' /proc/mounts ||
	mount -t securityfs securityfs /sys/kernel/security
if ! echo integrity >$L || ! grep -q '\[integrity\]' $L; then
	echo "vm-run -L: cannot raise the kernel lockdown ($(cat $L 2>&1))"
	exit 1
fi
echo "vm-run -L: lockdown $(cat $L)"
[ -x /uvirtio/payload.inner ] || exit 0
exec /uvirtio/payload.inner
EOF_LOCKDOWN
	if [ -n "$payload" ]; then
		cp "$payload" "$outdir/payload.inner"
		chmod +x "$outdir/payload.inner"
		adds+=(-a "$outdir/payload.inner:uvirtio/payload.inner")
	fi
	pl=(-p "$lpl")
	envs+=(-e UVIRTIO_LOCKDOWN=1)
fi

# microvm: no virtio module at all, so virtio_mmio never takes a device.
mods=()
if [ "$machine" != q35 ]; then
	mods=(-l "")
elif [ -n "$extramods" ]; then
	mods=(-l "virtio_pci virtio_blk virtio_net virtio_rng$extramods")
fi
"$UV_TOP/scripts/mkinitramfs.sh" -k "$kver" -m "$modroot" "${mods[@]}" \
	-o "$outdir/initramfs.cpio.gz" "${uvadd[@]}" "${adds[@]}" "${envs[@]}" \
	"${xmods[@]}" \
	-e "UVIRTIO_IOMMU=$iommu" -e "UVIRTIO_KERNEL=$kernel" \
	-e "UVIRTIO_MODPARAMS=$modparams" "${pl[@]}"

rm -f "$outdir"/console.log "$outdir"/results.log "$outdir"/qmp.sock \
	"$outdir"/hotplug.log "$outdir"/hotplug.err "$outdir"/console-host.log
rm -rf "$outdir/gcov" "$outdir/ugcov"
if [ "$machine" = q35 ]; then
	mach=(-machine q35 -bios /usr/share/qemu/qboot.rom
	      -serial "file:$outdir/console.log"
	      -serial "file:$outdir/results.log")
else
	# microvm has one ISA serial port of its own: the results port is a
	# second one at the standard COM2 address (ttyS1).
	mach=(-machine microvm,acpi=on -serial "file:$outdir/console.log"
	      -chardev "file,id=results,path=$outdir/results.log"
	      -device isa-serial,chardev=results,index=1)
fi
qemu=(qemu-system-x86_64 "${mach[@]}" -accel tcg,thread=multi
      -cpu max -smp 2 -m "$mem"
      -nodefaults -display none -no-reboot -monitor none
      -qmp "unix:$outdir/qmp.sock,server=on,wait=off"
      -kernel "$bzimage" -initrd "$outdir/initramfs.cpio.gz"
      -append "$append" "${dev[@]}")
printf '%q ' "${qemu[@]}" >"$outdir/qemu.cmd"
echo >>"$outdir/qemu.cmd"

start=$(date +%s)
tailpid=
if [ "$verbose" = 1 ]; then
	touch "$outdir/console.log"
	tail -n +1 -F "$outdir/console.log" >&2 2>/dev/null &
	tailpid=$!
fi
conpid=
if [ "$devset" = irq ]; then
	python3 "$UV_TOP/scripts/console-host.py" --log "$outdir/console-host.log" \
		--timeout "$timeout" $(printf -- '--sock %s ' "${consocks[@]}") \
		2>"$outdir/console-host.err" &
	conpid=$!
fi
hppid=
if [ "$hotplug" = 1 ]; then
	python3 "$UV_TOP/scripts/hotplug-host.py" --qmp "$outdir/qmp.sock" \
		--results "$outdir/results.log" --log "$outdir/hotplug.log" \
		--device "$hpdev" --timeout "$timeout" --max-notify "$hpmax" \
		2>"$outdir/hotplug.err" &
	hppid=$!
fi
# net: toggles the uvirtio function's link over QMP when the guest asks
# (scripts/net-link-host.py; net-tests' link_change)
nlpid=
if [ "$devset" = net ]; then
	rm -f "$outdir/netlink.log" "$outdir/netlink.err"
	python3 "$UV_TOP/scripts/net-link-host.py" --qmp "$outdir/qmp.sock" \
		--results "$outdir/results.log" --log "$outdir/netlink.log" \
		--device uvnet0 --timeout "$timeout" 2>"$outdir/netlink.err" &
	nlpid=$!
fi
set +e
timeout -k 5 "$timeout" "${qemu[@]}" </dev/null >"$outdir/qemu.out" 2>&1
qrc=$?
nlrc=0
if [ -n "$nlpid" ]; then
	for _ in $(seq 50); do
		kill -0 "$nlpid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$nlpid" 2>/dev/null
	wait "$nlpid"
	nlrc=$?
fi
hprc=0
if [ -n "$hppid" ]; then
	# It stops at the guest's end marker; a guest that died before
	# printing it must not keep it waiting for the whole time-out.
	for _ in $(seq 50); do
		kill -0 "$hppid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$hppid" 2>/dev/null
	wait "$hppid"
	hprc=$?
fi
conrc=0
if [ -n "$conpid" ]; then
	# done once every stream arrived; a guest that died must not keep
	# it waiting for the whole time-out
	for _ in $(seq 50); do
		kill -0 "$conpid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$conpid" 2>/dev/null
	wait "$conpid"
	conrc=$?
fi
set -e
[ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null || true
secs=$(( $(date +%s) - start ))

# The payload's own output.
sed -n '/^UVIRTIO-BEGIN/,/^UVIRTIO-DONE/p' "$outdir/results.log" |
	tr -d '\r' | grep -v -e '^UVIRTIO-' -e '^HEALTH ' || true

# Judge the run.
bad=()
if [ "$gcov" = 1 ]; then
	# The guest's /init prints the counters after UVIRTIO-DONE, as a
	# base64 tar between markers (scripts/guest/init).
	mkdir -p "$outdir/gcov"
	if grep -q '^UVIRTIO-GCOV-END' "$outdir/results.log" 2>/dev/null; then
		sed -n '/^UVIRTIO-GCOV-BEGIN/,/^UVIRTIO-GCOV-END/p' "$outdir/results.log" |
			tr -d '\r' | grep -v '^UVIRTIO-GCOV-' | base64 -d |
			tar -xz -C "$outdir/gcov" ||
			bad+=("-G: the coverage data from the guest is corrupt")
	else
		bad+=("-G: the guest sent no coverage data")
	fi
fi
if [ "$ugcov" = 1 ]; then
	# the same for the programs' counters (UVIRTIO-UGCOV-*)
	mkdir -p "$outdir/ugcov"
	if grep -q '^UVIRTIO-UGCOV-END' "$outdir/results.log" 2>/dev/null; then
		sed -n '/^UVIRTIO-UGCOV-BEGIN/,/^UVIRTIO-UGCOV-END/p' "$outdir/results.log" |
			tr -d '\r' | grep -v '^UVIRTIO-UGCOV-' | base64 -d |
			tar -xz -C "$outdir/ugcov" ||
			bad+=("-U: the programs' coverage data from the guest is corrupt")
	else
		bad+=("-U: the guest sent no coverage data of the programs")
	fi
fi
[ $qrc -ne 124 ] && [ $qrc -ne 137 ] || bad+=("timeout after ${timeout}s")
[ $qrc -eq 0 ] || [ $qrc -eq 124 ] || [ $qrc -eq 137 ] ||
	bad+=("qemu exited with $qrc: $(head -c 500 "$outdir/qemu.out")")
grep -q 'Kernel panic' "$outdir/console.log" 2>/dev/null && bad+=("kernel panic")
grep -q '^UVIRTIO-DONE' "$outdir/results.log" 2>/dev/null ||
	bad+=("no result: the guest did not finish")
prc=$(sed -n 's/^UVIRTIO-PAYLOAD-EXIT \([0-9]*\).*/\1/p' "$outdir/results.log" | tr -d '\r')
[ -z "$prc" ] || [ "$prc" = 0 ] || bad+=("payload exited with $prc")
grep -q '^HEALTH-FAIL' "$outdir/results.log" &&
	bad+=("$(grep '^HEALTH-FAIL' "$outdir/results.log" | tr -d '\r')")

if [ -n "$hppid" ]; then
	cat "$outdir/hotplug.err" >&2
	if [ "$hprc" != 0 ]; then
		hpwhy=$(grep FAIL "$outdir/hotplug.log" 2>/dev/null | head -n 5 || true)
		bad+=("hot-plug host side failed (rc $hprc)${hpwhy:+: $hpwhy}")
	fi
fi

if [ -n "$conpid" ]; then
	cat "$outdir/console-host.err" >&2
	sed 's/^/console-host: /' "$outdir/console-host.log" 2>/dev/null || true
	if [ "$conrc" != 0 ]; then
		cwhy=$(grep FAIL "$outdir/console-host.log" 2>/dev/null | head -n 3 || true)
		bad+=("console host side failed (rc $conrc)${cwhy:+: $cwhy}")
	fi
fi
if [ -n "$nlpid" ] && [ "$nlrc" != 0 ]; then
	bad+=("net link helper failed (rc $nlrc): $(head -c 300 "$outdir/netlink.err")")
fi

health() { sed -n "s/^HEALTH $1=\([0-9]*\).*/\1/p" "$outdir/results.log" | head -n 1; }
pa=$(health pins_acquired) pr=$(health pins_released)
[ "$pa" = "$pr" ] || bad+=("unbalanced pins: acquired $pa, released $pr")
taint=$(health taint)
# O (out-of-tree), E (unsigned) and TEST are expected for our module.
allowed=$(( 4096 | 8192 | 262144 | taint_extra ))
if [ -n "$taint" ] && [ $(( taint & ~allowed )) -ne 0 ]; then
	bad+=("kernel tainted: $taint (unexpected bits $(( taint & ~allowed )))")
fi
d=$(health dma_api_errors)
[ -z "$d" ] || [ "$d" = 0 ] || bad+=("DMA-API debug errors: $d")
k=$(health kmemleak)
[ -z "$k" ] || [ "$k" = 0 ] || bad+=("kmemleak: $k unreferenced objects")

# DMA-API debug errors come with a WARNING and the error count above.
patterns='WARNING:|BUG:|Oops|BUG: KASAN|UBSAN:|kernel BUG|general protection fault|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|unreferenced object|Call Trace:|list_add corruption|list_del corruption'
if grep -E "$patterns" "$outdir/console.log" >/dev/null 2>&1; then
	bad+=("kernel reports in console.log:")
	bad+=("$(grep -E -A12 "$patterns" "$outdir/console.log" | head -n 80)")
fi

status="kernel=$kernel($kver) machine=$machine iommu=$iommu devices=$devset"
[ "$lockdown" = 0 ] || status+=" lockdown=integrity"
status+=" ${secs}s"
if [ ${#bad[@]} -ne 0 ]; then
	echo "vm-run: FAIL $status (logs in $outdir)" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "vm-run: ok $status taint=$taint pins=$pa/$pr${k:+ kmemleak=$k}${d:+ dma_api_errors=$d}" >&2
