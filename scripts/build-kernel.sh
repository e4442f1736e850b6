#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) the uvirtio debug test kernel from Debian's
# linux-source-6.12 and print the path of its build tree.
#
# The tree is cached under $UVIRTIO_CACHE/kernel/<key>, where <key> is the
# source package version plus a hash of the config fragment and of
# $recipe; bump $recipe whenever a change here alters the build's output.
# ccache makes a rebuild cheap.
#
#   scripts/build-kernel.sh            build if needed, print the tree path
#   scripts/build-kernel.sh --path     print the path only, fail if not built
#   scripts/build-kernel.sh --src      extract the source if needed, print it
set -euo pipefail
. "$(dirname "$0")/lib.sh"

frag=$UV_TOP/scripts/kernel/uvirtio-debug.config
tarball=/usr/src/linux-source-6.12.tar.xz
srcver=$(uv_pkg_version linux-source-6.12)
[ -n "$srcver" ] || uv_die "linux-source-6.12 is not installed (scripts/deps.sh kernel)"
recipe=1
hash=$( (cat "$frag"; echo "recipe=$recipe") | sha256sum | cut -c1-12)
key=${srcver}-${hash}
src=$UV_CACHE/src/linux-source-$srcver
obj=$UV_CACHE/kernel/$key

extract() {
	[ -f "$src/.uvirtio-extracted" ] && return 0
	uv_log "extracting $tarball"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.uvirtio-extracted"
}

if [ "${1:-}" = --src ]; then
	extract
	echo "$src"
	exit 0
fi

if [ "${1:-}" = --path ]; then
	[ -f "$obj/.uvirtio-built" ] || uv_die "debug kernel $key is not built"
	echo "$obj"
	exit 0
fi

if [ -f "$obj/.uvirtio-built" ]; then
	uv_log "debug kernel: cached ($key)"
	echo "$obj"
	exit 0
fi

start=$(date +%s)
extract

export CCACHE_DIR=${CCACHE_DIR:-$UV_CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# Paths differ between cache keys; let ccache share objects across them.
export CCACHE_BASEDIR=$UV_CACHE
export CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP="2026-01-01 00:00:00 UTC"
export KBUILD_BUILD_USER=uvirtio KBUILD_BUILD_HOST=uvirtio
mk=(make -C "$src" O="$obj" -j"$UV_JOBS" CC="ccache gcc" -s)

rm -rf "$obj"
mkdir -p "$obj"
uv_log "configuring ($key)"
KCONFIG_ALLCONFIG=$frag "${mk[@]}" alldefconfig >/dev/null

# Every option of the fragment must be in the final .config as written.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$obj/.config" || {
			echo "config: missing $line" >&2; missing=1; }
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		if grep -q "^$opt=" "$obj/.config"; then
			echo "config: $opt should be unset" >&2; missing=1
		fi
		;;
	esac
done <"$frag"
[ "$missing" = 0 ] || uv_die "config fragment not satisfied"

uv_log "building bzImage and modules with $UV_JOBS jobs"
"${mk[@]}" bzImage modules
"${mk[@]}" INSTALL_MOD_PATH="$obj/mod-install" INSTALL_MOD_STRIP=1 \
	modules_install >/dev/null
# The tools the harness uses come from the same source tree.
ln -sfn "$src" "$obj/source-tree"
echo "$key" >"$obj/.uvirtio-built"
uv_log "debug kernel built in $(( $(date +%s) - start )) s ($(ccache -s 2>/dev/null | sed -n 's/^ *Hits: *\([0-9]*\).*/\1 ccache hits/p' | head -1))"
echo "$obj"
