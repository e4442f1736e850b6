#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install test: `make install DESTDIR=<staging> PREFIX=/usr` from a clean
# copy of the source tree, check every installed file, build and run
# programs against the installed library through its pkg-config file, then
# `make uninstall` and check that nothing is left.
#
#   scripts/test-install.sh [-k]      -k: keep the staging directory
#
# The module is not installed (KDIR points nowhere) unless TEST_KDIR is set.
# Prints "install-test: N passed, M failed"; exits non-zero on failure.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = "-k" ] && keep=1
tmp=$(mktemp -d /tmp/uvirtio-install.XXXXXX)
src=$tmp/src
stage=$tmp/stage
log=$tmp/log
pass=0
fail=0
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	if [ "$keep" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
nok() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # NAME COMMAND...
	n=$1
	shift
	if "$@" >>"$log" 2>&1; then ok "$n"; else nok "$n"; fi
}
finish() {
	echo "install-test: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

: >"$log"
# A clean copy (tracked and new, not ignored files), so that stale build
# products of the work tree (e.g. a uvirtio.pc made for another PREFIX)
# cannot hide a problem, and the work tree is left alone.
mkdir -p "$src" "$stage"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$src"
else
	(cd "$root" && tar cf - --exclude=./out --exclude=./userlib/build \
		--exclude=./tools/build .) | tar xf - -C "$src"
fi

kdir=${TEST_KDIR:-/nonexistent}
jobs=${UVIRTIO_JOBS:-2}
if nice make -C "$src" -j"$jobs" install DESTDIR="$stage" PREFIX=/usr \
	KDIR="$kdir" >>"$log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	nok "make install failed; last lines:"
	tail -20 "$log"
	finish
fi

udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null)
udevdir=${udevdir:-/lib/udev}
lib=$stage/usr/lib
inc=$stage/usr/include

# --- files ---------------------------------------------------------------------
check "libuvirtio.so.0.1.0 is a shared object" \
	sh -c "readelf -h '$lib/libuvirtio.so.0.1.0' | grep -q 'Type:.*DYN'"
check "soname is libuvirtio.so.0" \
	sh -c "readelf -d '$lib/libuvirtio.so.0.1.0' | grep -q 'SONAME.*\\[libuvirtio.so.0\\]'"
check "libuvirtio.so.0 -> libuvirtio.so.0.1.0" \
	test "$(readlink "$lib/libuvirtio.so.0")" = libuvirtio.so.0.1.0
check "libuvirtio.so -> libuvirtio.so.0" \
	test "$(readlink "$lib/libuvirtio.so")" = libuvirtio.so.0
check "libuvirtio.a" sh -c "ar t '$lib/libuvirtio.a' | grep -q '\\.o\$'"
for h in uvirtio backend device virtqueue blk rng kmod; do
	check "header uvirtio/$h.h" test -f "$inc/uvirtio/$h.h"
done
check "the test device's header (fake.h) is not installed" \
	test ! -e "$inc/uvirtio/fake.h"
check "libuvirtio.so exports no test device symbol" \
	sh -c "! nm -D --defined-only '$lib/libuvirtio.so.0.1.0' | grep -q fake"
check "uvirtio.pc" test -f "$lib/pkgconfig/uvirtio.pc"
check "uvirtio.pc has prefix=/usr" grep -qx 'prefix=/usr' "$lib/pkgconfig/uvirtio.pc"
check "sbin/uvirtio runs" "$stage/usr/sbin/uvirtio" --version
check "man page uvirtio.8" test -f "$stage/usr/share/man/man8/uvirtio.8"
check "man page renders without warnings" \
	sh -c "! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$stage/usr/share/man/man8/uvirtio.8' 2>&1 >/dev/null | grep -q ."
check "udev rule in $udevdir/rules.d" test -f "$stage$udevdir/rules.d/70-uvirtio.rules"
check "udev rule sets group and mode" \
	grep -q '^KERNEL=="uvirtio".*GROUP="uvirtio".*MODE="0660"' \
	"$stage$udevdir/rules.d/70-uvirtio.rules"
check "modprobe.d/uvirtio.conf" test -f "$stage/etc/modprobe.d/uvirtio.conf"
check "modprobe.d options all commented out" \
	sh -c "! grep -Eq '^[[:space:]]*options' '$stage/etc/modprobe.d/uvirtio.conf'"
check "nothing installed outside /usr, /etc and $udevdir" \
	sh -c "cd '$stage' && ! find . -type f | grep -Ev '^\\./(usr/|etc/modprobe\\.d/|${udevdir#/}/rules\\.d/)'"

# --- build against the installed library ------------------------------------
export PKG_CONFIG_SYSROOT_DIR="$stage"
export PKG_CONFIG_LIBDIR="$lib/pkgconfig"
export PKG_CONFIG_PATH="$lib/pkgconfig"
cflags=$(pkg-config --cflags uvirtio 2>>"$log")
libs=$(pkg-config --libs uvirtio 2>>"$log")
check "pkg-config finds uvirtio in the staging root" \
	sh -c "pkg-config --exists uvirtio && echo '$cflags $libs' | grep -q -- '-I$inc'"

for h in uvirtio backend device virtqueue blk rng kmod; do
	printf '#include <uvirtio/%s.h>\nint main(void) { return 0; }\n' "$h" \
		>"$tmp/hdr_$h.c"
	# shellcheck disable=SC2086
	check "uvirtio/$h.h compiles on its own" \
		cc -std=gnu11 -Wall -Wextra -Werror $cflags -c "$tmp/hdr_$h.c" \
		-o "$tmp/hdr_$h.o"
done

# A tiny program: a virtio-rng read on the tree's test device
# (userlib/testing/, not installed: compiled in from the source copy; it
# uses only the installed library's public backend interface).
tsrc=$src/userlib/testing
tflags="-I$tsrc/include -I$src/userlib/src -pthread $tsrc/*.c"
cat >"$tmp/rngtest.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

int main(void)
{
	struct uvirtio_fake_config cfg;
	struct uvirtio_fake *fake;
	struct uvirtio_backend *be;
	struct uvirtio_rng *rng;
	unsigned char buf[64];
	ssize_t n;

	uvirtio_fake_default_config(&cfg, VIRTIO_ID_RNG);
	if (uvirtio_fake_create(&cfg, &fake, &be))
		return 1;
	if (uvirtio_rng_open(be, UVIRTIO_TRANSPORT_AUTO, &rng))
		return 2;
	memset(buf, 0, sizeof(buf));
	n = uvirtio_rng_read(rng, buf, sizeof(buf));
	uvirtio_rng_close(rng);
	uvirtio_backend_close(be);
	if (n != (ssize_t)sizeof(buf))
		return 3;
	printf("rng ok %02x%02x\n", buf[0], buf[1]);
	return 0;
}
EOF
# shellcheck disable=SC2086
check "program links against the installed .so (pkg-config)" \
	cc -std=gnu11 -Wall -Werror $cflags "$tmp/rngtest.c" $tflags -o "$tmp/rngtest" $libs
check "it needs libuvirtio.so.0" \
	sh -c "readelf -d '$tmp/rngtest' | grep -q 'NEEDED.*libuvirtio.so.0'"
check "it runs on the installed .so (the test rng device)" \
	env LD_LIBRARY_PATH="$lib" "$tmp/rngtest"
static_libs=$(pkg-config --static --libs uvirtio 2>>"$log" |
	sed 's/-luvirtio/-Wl,-Bstatic -luvirtio -Wl,-Bdynamic/')
# shellcheck disable=SC2086
check "program links libuvirtio.a (pkg-config --static)" \
	cc -std=gnu11 -Wall -Werror $cflags "$tmp/rngtest.c" $tflags \
	-o "$tmp/rngtest-static" $static_libs
check "it runs without libuvirtio.so" \
	sh -c "! readelf -d '$tmp/rngtest-static' | grep -q 'NEEDED.*libuvirtio' &&
	       '$tmp/rngtest-static'"
if [ -f "$src/userlib/examples/rng_read.c" ]; then
	# shellcheck disable=SC2086
	check "examples/rng_read.c builds against the installed library" \
		cc -std=gnu11 -Wall $cflags "$src/userlib/examples/rng_read.c" \
		$tflags -o "$tmp/rng_read" $libs
fi

# --- reinstall keeps an edited modprobe.d file; uninstall -------------------
echo "options uvirtio max_mappings=1000" >>"$stage/etc/modprobe.d/uvirtio.conf"
# Back to the system's pkg-config view for the build itself (the tools
# need libnl-genl-3.0 from the host).
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
check "make install again" \
	nice make -C "$src" install DESTDIR="$stage" PREFIX=/usr KDIR="$kdir"
check "reinstall kept the edited modprobe.d file" \
	grep -q 'max_mappings=1000' "$stage/etc/modprobe.d/uvirtio.conf"
check "make uninstall" \
	nice make -C "$src" uninstall DESTDIR="$stage" PREFIX=/usr KDIR="$kdir"
check "uninstall kept the edited modprobe.d file" \
	test -f "$stage/etc/modprobe.d/uvirtio.conf"
rm -f "$stage/etc/modprobe.d/uvirtio.conf"
left=$(cd "$stage" && find . \( -type f -o -type l \) | head -5)
if [ -z "$left" ]; then
	ok "uninstall removed every installed file"
else
	nok "uninstall left: $left"
fi

finish
