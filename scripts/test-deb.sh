#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages of `make deb`, on this machine, undone afterwards:
#  - lintian on every package: no error, no warning (info tags allowed);
#  - what each package holds;
#  - install all four with apt; DKMS builds the module against Debian's
#    6.1 and 6.12 headers (dkms build -k), and each .ko says its name,
#    licence and version; the 6.1 build is kept in out/deb/ for a VM run;
#  - a program builds against the installed headers and uvirtio.pc, links
#    the installed shared library and runs (on the test device of userlib/testing/);
#  - the installed CLI runs;
#  - purge: no file of the packages, no /usr/src/uvirtio-*, no DKMS state
#    is left.
#
#   scripts/test-deb.sh      (after scripts/deb.sh)
#
# Prints "deb-test: N passed, M failed"; exits non-zero on failure.  Needs
# root (it installs packages); refuses to run if uvirtio packages are
# already installed (it would remove them).
set -u
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

ver=$(cat VERSION)
debs=$UV_OUT/deb
pass=0
fail=0
tmp=$(mktemp -d)
pkgs=(uvirtio-dkms libuvirtio0 libuvirtio-dev uvirtio)
installed=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
nok() { fail=$((fail + 1)); echo "FAIL $1"; }
check() {
	local name=$1
	shift
	if "$@" >"$tmp/check.out" 2>&1; then ok "$name"; else
		nok "$name: $(tail -n 5 "$tmp/check.out" | tr '\n' ' ' | cut -c1-300)"
	fi
}
purge() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${pkgs[@]}" \
		>"$tmp/purge.log" 2>&1
}
cleanup() {
	[ "$installed" = 1 ] && purge
	rm -rf "$tmp"
}
trap cleanup EXIT
finish() {
	echo "deb-test: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

[ "$(id -u)" = 0 ] || { nok "needs root"; finish; }
for p in "${pkgs[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
		nok "$p is already installed here: not touching it"
		finish
	fi
	f=$(ls "$debs/${p}_${ver}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || { nok "no package $p in $debs (make deb)"; finish; }
done

# --- lintian -------------------------------------------------------------
if lintian --info --fail-on error,warning "$debs"/*.deb >"$tmp/lintian" 2>&1; then
	ok "lintian: no error or warning ($(grep -c '^I:' "$tmp/lintian") info tags)"
else
	nok "lintian: $(grep -E '^[EW]:' "$tmp/lintian" | head -n 5 | tr '\n' ' ')"
fi
grep -E '^[EWI]:' "$tmp/lintian" | sed 's/^/    /'

# --- contents ------------------------------------------------------------
has() { dpkg-deb -c "$debs/$1_${ver}_"*.deb | grep -q -- "$2"; }
check "uvirtio-dkms: module source" has uvirtio-dkms "usr/src/uvirtio-$ver/kmod/main.c"
check "uvirtio-dkms: dkms.conf" has uvirtio-dkms "usr/src/uvirtio-$ver/dkms.conf"
check "uvirtio-dkms: udev rule" has uvirtio-dkms "lib/udev/rules.d/70-uvirtio.rules"
check "uvirtio-dkms: modprobe.d file" has uvirtio-dkms "etc/modprobe.d/uvirtio.conf"
check "libuvirtio0: shared library" has libuvirtio0 "libuvirtio.so.0.1.0"
check "libuvirtio-dev: headers" has libuvirtio-dev "usr/include/uvirtio/uvirtio.h"
check "libuvirtio-dev: static library" has libuvirtio-dev "libuvirtio.a"
check "libuvirtio-dev: pkg-config file" has libuvirtio-dev "pkgconfig/uvirtio.pc"
check "uvirtio: the CLI and its man page" sh -c \
	"dpkg-deb -c '$debs'/uvirtio_${ver}_*.deb | grep -q usr/sbin/uvirtio &&
	 dpkg-deb -c '$debs'/uvirtio_${ver}_*.deb | grep -q man8/uvirtio.8"
check "libuvirtio0: no test device symbol" sh -c \
	"! dpkg-deb -I '$debs'/libuvirtio0_${ver}_*.deb symbols | grep -q fake"
check "libuvirtio-dev: no test device header" sh -c \
	"! dpkg-deb -c '$debs'/libuvirtio-dev_${ver}_*.deb | grep -q fake"
check "libuvirtio0: symbols file" sh -c \
	"dpkg-deb -I '$debs'/libuvirtio0_${ver}_*.deb symbols | grep -q 'uvirtio_blk_open@UVIRTIO_0.1 $ver'"

# --- install, DKMS builds for both kernels -------------------------------
t0=$(date +%s)
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	$(for p in "${pkgs[@]}"; do ls "$debs/${p}_${ver}_"*.deb; done) >"$tmp/install.log" 2>&1; then
	installed=1
	ok "apt install of the four packages ($(( $(date +%s) - t0 )) s)"
else
	nok "apt install: $(tail -n 5 "$tmp/install.log" | tr '\n' ' ')"
	finish
fi
check "dkms knows uvirtio/$ver" sh -c "dkms status uvirtio/$ver | grep -q uvirtio"
check "the uvirtio group exists" getent group uvirtio
for kver in "$(uv_stock_kver)" "$(uv_src612_kver)"; do
	t0=$(date +%s)
	if dkms build -m uvirtio -v "$ver" -k "$kver" >"$tmp/dkms-$kver.log" 2>&1; then
		ok "dkms build -k $kver ($(( $(date +%s) - t0 )) s)"
	else
		nok "dkms build -k $kver: $(tail -n 5 "$tmp/dkms-$kver.log" | tr '\n' ' ')"
		continue
	fi
	ko=$(ls /var/lib/dkms/uvirtio/"$ver"/"$kver"/*/module/uvirtio.ko* 2>/dev/null | head -n 1)
	if [ -n "$ko" ] &&
	   [ "$(modinfo -F name "$ko")" = uvirtio ] &&
	   [ "$(modinfo -F license "$ko")" = GPL ] &&
	   [ "$(modinfo -F version "$ko")" = "$ver" ] &&
	   [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver" ]; then
		ok "$kver: uvirtio.ko says name, GPL, version $ver, vermagic"
	else
		nok "$kver: modinfo of '$ko': $(modinfo "$ko" 2>&1 | head -n 5 | tr '\n' ' ')"
	fi
	if [ "$kver" = "$(uv_stock_kver)" ] && [ -n "$ko" ]; then
		cp "$ko" "$debs/uvirtio-dkms-$kver.ko"
	fi
done

# --- build a program against the installed -dev package ------------------
cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <linux/virtio_ids.h>
#include <uvirtio/uvirtio.h>
#include <uvirtio/fake.h>

int main(void)
{
	struct uvirtio_fake_config c;
	struct uvirtio_backend *be;
	struct uvirtio_fake *f;
	struct uvirtio_blk *blk;
	static char buf[4096], out[512] = "installed";

	uvirtio_fake_default_config(&c, VIRTIO_ID_BLOCK);
	if (uvirtio_fake_create(&c, &f, &be) || uvirtio_blk_open(be, NULL, &blk))
		return 1;
	/* unregistered memory: through the bounce pool */
	if (uvirtio_blk_write(blk, 0, out, sizeof(out)) ||
	    uvirtio_blk_read(blk, 0, buf, 512))
		return 1;
	uvirtio_blk_close(blk);
	uvirtio_backend_close(be);
	puts(buf);
	return 0;
}
EOF
# The test device is not packaged (userlib/testing/): compiled in from
# the tree, over the installed library's public backend interface.
t=$UV_TOP/userlib/testing
check "a program builds with pkg-config --cflags --libs uvirtio" sh -c \
	"cc -std=gnu11 -Wall -Werror -o '$tmp/prog' '$tmp/prog.c' -I'$t/include' \
	 -I'$UV_TOP/userlib/src' -pthread '$t'/*.c \$(pkg-config --cflags --libs uvirtio)"
check "it links the installed libuvirtio.so.0" sh -c \
	"ldd '$tmp/prog' | grep -q 'libuvirtio.so.0 => /'"
check "and runs" sh -c "'$tmp/prog' | grep -q '^installed'"
check "the installed CLI runs" sh -c "/usr/sbin/uvirtio --version | grep -q '$ver'"
check "the man page is installed" test -f /usr/share/man/man8/uvirtio.8.gz

# --- purge: nothing left -------------------------------------------------
if purge; then
	installed=0
	ok "apt purge of the four packages"
else
	nok "apt purge: $(tail -n 5 "$tmp/purge.log" | tr '\n' ' ')"
fi
for p in "${pkgs[@]}"; do
	check "$p: no longer known to dpkg" sh -c "! dpkg -L $p >/dev/null 2>&1"
done
check "no /usr/src/uvirtio-$ver" test ! -e "/usr/src/uvirtio-$ver"
check "no DKMS state" test ! -e /var/lib/dkms/uvirtio
check "no module left in /lib/modules" sh -c \
	"! ls /lib/modules/*/updates/dkms/uvirtio.ko* >/dev/null 2>&1"
check "no modprobe.d file or udev rule left" sh -c \
	"test ! -e /etc/modprobe.d/uvirtio.conf && test ! -e /lib/udev/rules.d/70-uvirtio.rules"
finish
