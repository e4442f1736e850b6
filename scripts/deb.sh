#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deb`: the Debian packages (uvirtio-dkms, libuvirtio0,
# libuvirtio-dev, uvirtio) from a clean copy of the tree (the files git
# tracks, plus any not yet committed), with dpkg-buildpackage -us -uc -b,
# into out/deb/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

scripts/deps.sh deb >/dev/null
ver=$(cat VERSION)
out=$UV_OUT/deb
build=$out/build
rm -rf "$out"
mkdir -p "$build/uvirtio-$ver"
# a clean tree: what git knows (tracked and untracked, not ignored)
git ls-files -z --cached --others --exclude-standard |
	grep -zv '^out/' | xargs -0 cp --parents -t "$build/uvirtio-$ver"
uv_log "dpkg-buildpackage in $build/uvirtio-$ver"
(cd "$build/uvirtio-$ver" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log"; uv_die "dpkg-buildpackage failed (log: $out/build.log)"; }
mv "$build"/*.deb "$build"/*.changes "$build"/*.buildinfo "$out/"
rm -rf "$build"
ls -1 "$out"/*.deb
