#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build uvirtio.ko (and uvirtio_kunit.ko where the kernel has KUnit) against
# one kernel, in a private copy of the sources so that builds for several
# kernels never share object files.
#
#   scripts/build-module.sh KDIR OUTDIR [make args...]
#
# KDIR is a kernel build tree (/lib/modules/<kver>/build, Debian's
# linux-headers-<kver>, or the debug tree).  The .ko files end up in OUTDIR.
# Extra arguments go to make, e.g. W=1 or C=2, or UVIRTIO_GCOV=1 (gcov
# instrumentation, for a kernel with CONFIG_GCOV_KERNEL; see Kbuild).  With UVIRTIO_WERROR=1 any
# compiler or sparse warning fails the build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || uv_die "usage: $0 KDIR OUTDIR [make args...]"
kdir=$1 out=$2
shift 2
[ -f "$kdir/Makefile" ] || uv_die "$kdir is not a kernel build tree"

mkdir -p "$out"
rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	--exclude='*.mod*' --exclude='Module.symvers' --exclude='modules.order' \
	--exclude='*.gcno' --exclude='*.gcda' \
	"$UV_TOP/Kbuild" "$UV_TOP/VERSION" "$UV_TOP/kmod" "$UV_TOP/uapi" \
	"$out/src/"
# Keep objects between runs (rsync above leaves them alone in src/).
cc=gcc
grep -q '^CONFIG_CC_IS_GCC=y' "$kdir/.config" 2>/dev/null || cc=cc
command -v ccache >/dev/null && cc="ccache $cc"
log=$out/build.log
set +e
make -C "$kdir" M="$out/src" CC="$cc" "$@" modules >"$log" 2>&1
rc=$?
set -e
if [ $rc -ne 0 ]; then
	cat "$log" >&2
	uv_die "module build failed against $kdir"
fi
if [ "${UVIRTIO_WERROR:-0}" = 1 ] &&
   grep -E 'warning:|error:|: sparse:|^[^ ]+:[0-9]+:[0-9]+: ' "$log" >&2; then
	uv_die "module build against $kdir has warnings"
fi
cp "$out"/src/*.ko "$out"/
ls "$out"/*.ko
