#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages uvirtio needs, if any are missing.  Idempotent:
# when everything is present it only runs dpkg-query and returns.
#
#   scripts/deps.sh [host|vm|kernel|bench|net|fio-src|stock612|all]  (default: all)
#   scripts/deps.sh fio-src    prints the configured fio source directory
#
# The stock 6.1 kernel image is not installed on the host (its postinst
# would run initramfs hooks); it is downloaded and unpacked into the cache.
# So is Debian's 6.12 image (stock612, for vm-run.sh -k stock612: the VDUSE
# test); not part of `all` (one more 107 MB download): `make check`'s
# vm-vduse stage fetches it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

what=${1:-all}

host_pkgs=(build-essential make gcc python3 pkg-config libnl-3-dev
	   libnl-genl-3-dev sparse ccache kmod cpio gzip xz-utils
	   clang libclang-rt-14-dev python3-sphinx)
vm_pkgs=(qemu-system-x86 qemu-system-data busybox-static fio)
kernel_pkgs=(linux-source-6.12 bc bison flex libelf-dev libssl-dev rsync)
# `make deb` and its test.
deb_pkgs=(debhelper dh-dkms dkms lintian dpkg-dev fakeroot adduser pkgconf)
# `make bench`: the chart (fio is in vm_pkgs, ringtest needs linux-source).
bench_pkgs=(gnuplot-nox fio linux-source-6.12)
# The vhost-user net test's peer: dpdk-testpmd (in dpdk-dev) with the vhost PMD
# (tools/test-vhost-user-net.sh).
net_pkgs=(dpdk-dev librte-net-vhost23)

updated=0
apt_update_once() {
	if [ "$updated" = 0 ]; then
		uv_log "apt-get update"
		apt-get update -qq
		updated=1
	fi
}

install_missing() {
	local missing=() p
	for p in "$@"; do
		[ -n "$(uv_pkg_version "$p")" ] || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" = 0 ] || uv_die "need root to install: ${missing[*]}"
	apt_update_once
	uv_log "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2
}

# Stock kernel resolution needs package lists; refresh once if they are empty.
stock_kver() {
	local k
	k=$(uv_stock_kver)
	if [ -z "$k" ]; then
		apt_update_once
		k=$(uv_stock_kver)
	fi
	[ -n "$k" ] || uv_die "cannot resolve the stock 6.1 kernel (linux-image-amd64)"
	echo "$k"
}

# linux-image-<kver> unpacked to $UV_CACHE/stock/<kver> (boot/ and lib/modules/).
fetch_stock_image() {
	local kver=$1 dir=$UV_CACHE/stock/$1 tmp
	[ -f "$dir/.done" ] && return 0
	apt_update_once
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	uv_log "downloading linux-image-$kver"
	(cd "$tmp" && apt-get download -q "linux-image-$kver" >&2)
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$dir"
	rm -rf "$tmp"
	# The package's postinst would have run depmod; do it here.
	depmod -b "$dir" "$kver"
	touch "$dir/.done"
}

# fio's source, configured as Debian builds it (for the fio ioengine's
# headers), in the cache; prints its path.  The deb-src entry lives in a
# private apt configuration: the system's sources are not touched.
fio_src() {
	local ver dir apt opts
	ver=$(uv_pkg_version fio)
	[ -n "$ver" ] || install_missing fio
	ver=$(uv_pkg_version fio)
	dir=$UV_CACHE/src/fio-$ver
	if [ ! -f "$dir/.done" ]; then
		install_missing dpkg-dev
		apt=$UV_CACHE/apt
		mkdir -p "$apt/lists/partial" "$apt/archives/partial"
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
			>"$apt/sources.list"
		opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
		      -o Dir::Etc::SourceParts=/dev/null
		      -o "Dir::State::Lists=$apt/lists"
		      -o "Dir::Cache::Archives=$apt/archives"
		      -o APT::Sandbox::User=root)
		uv_log "fetching the fio $ver source (deb-src in $apt)"
		apt-get "${opts[@]}" update -qq >&2
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		(cd "$dir.tmp" && apt-get "${opts[@]}" source -q "fio=$ver" >&2)
		mv "$dir.tmp"/fio-*/ "$dir"
		rm -rf "$dir.tmp"
		# the same configure line as debian/rules, for config-host.h
		(cd "$dir" && ./configure --disable-native --prefix=/usr >&2)
		touch "$dir/.done"
	fi
	echo "$dir"
}

case $what in
fio-src)
	fio_src
	;;
host)
	install_missing "${host_pkgs[@]}"
	;;
vm)
	install_missing "${vm_pkgs[@]}"
	;;
kernel)
	install_missing "${kernel_pkgs[@]}"
	;;
bench)
	install_missing "${bench_pkgs[@]}"
	;;
net)
	install_missing "${net_pkgs[@]}"
	;;
deb)
	install_missing "${deb_pkgs[@]}" "${host_pkgs[@]}"
	;;
stock)
	k=$(stock_kver)
	install_missing "linux-headers-$k"
	fetch_stock_image "$k"
	;;
headers612)
	install_missing "linux-headers-$(uv_src612_kver)"
	;;
stock612)
	k=$(uv_stock612_kver)
	install_missing "linux-headers-$k"
	fetch_stock_image "$k"
	;;
all)
	k=$(stock_kver)
	install_missing "${host_pkgs[@]}" "${vm_pkgs[@]}" "${kernel_pkgs[@]}" \
		"${deb_pkgs[@]}" "${net_pkgs[@]}" \
		"linux-headers-$k" "linux-headers-$(uv_src612_kver)"
	fetch_stock_image "$k"
	;;
*)
	uv_die "usage: $0 [host|vm|kernel|stock|stock612|headers612|bench|net|fio-src|deb|all]"
	;;
esac
