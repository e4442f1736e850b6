#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a busybox-static initramfs for one kernel.
#
#   scripts/mkinitramfs.sh -k KVER -m MODROOT -o OUT.cpio.gz [options]
#     -k KVER      kernel release (directory name under lib/modules)
#     -m MODROOT   directory holding lib/modules/KVER (the kernel's modules)
#     -o FILE      output (gzip'ed newc cpio)
#     -l "MODS"    kernel modules to include and modprobe at boot, with
#                  their dependencies (default: the virtio stack)
#     -x "MODS"    further modules to include (with their dependencies)
#                  but not load at boot: for tests that modprobe them
#     -a SRC:DST   add a file or directory (repeatable); DST is relative to /
#     -e K=V       add a variable to /uvirtio/env (repeatable)
#     -p FILE      payload: run by /init, its output goes to ttyS1
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver= modroot= out= payload= xmods=
mods="virtio_pci virtio_blk virtio_net virtio_rng"
adds=() envs=()
while getopts "k:m:o:l:x:a:e:p:" o; do
	case $o in
	k) kver=$OPTARG ;;
	m) modroot=$OPTARG ;;
	o) out=$OPTARG ;;
	l) mods=$OPTARG ;;
	x) xmods=$OPTARG ;;
	a) adds+=("$OPTARG") ;;
	e) envs+=("$OPTARG") ;;
	p) payload=$OPTARG ;;
	*) uv_die "bad option" ;;
	esac
done
[ -n "$kver" ] && [ -n "$modroot" ] && [ -n "$out" ] || uv_die "need -k, -m and -o"
[ -x /bin/busybox ] || uv_die "busybox-static is not installed"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,uvirtio}
cp /bin/busybox "$root/bin/busybox"
cp "$UV_TOP/scripts/guest/init" "$root/init"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

# Modules and their dependencies, then a modules.dep for busybox modprobe.
md=$modroot/lib/modules/$kver
[ -f "$md/modules.dep" ] || depmod -b "$modroot" "$kver"
kos=$(for m in $mods $xmods; do
	modprobe -S "$kver" -d "$modroot" --show-depends "$m" ||
		echo "missing $m"
done)
case $kos in *"missing "*) uv_die "modules not found for $kver: $kos" ;; esac
echo "$kos" | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
	rel=${ko#"$md"/}
	mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
	cp "$ko" "$root/lib/modules/$kver/$rel"
done
mkdir -p "$root/lib/modules/$kver"	# -l "" copies no module at all
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -f "$md/$f" ] && cp "$md/$f" "$root/lib/modules/$kver/"
done
depmod -b "$root" "$kver"

{
	echo "UVIRTIO_MODULES=\"$mods\""
	for e in "${envs[@]}"; do
		printf '%s=%q\n' "${e%%=*}" "${e#*=}"
	done
} >"$root/uvirtio/env"

for a in "${adds[@]}"; do
	src=${a%%:*} dst=${a#*:}
	mkdir -p "$root/$(dirname "$dst")"
	cp -a "$src" "$root/$dst"
done
if [ -n "$payload" ]; then
	cp "$payload" "$root/uvirtio/payload"
	chmod +x "$root/uvirtio/payload"
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) |
	gzip -1 >"$out"
