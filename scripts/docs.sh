#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make docs`: render Documentation/ to HTML (out/docs/html) with Sphinx,
# every warning an error.  The `.. kernel-doc::` directives (uapi.rst
# pulls the ioctls from uapi/linux/uvirtio.h) run through the kernel's own
# extension and scripts/kernel-doc, from the debug kernel's source tree
# (scripts/build-kernel.sh --src; Documentation/conf.py).  Sphinx is
# Debian's python3-sphinx (scripts/deps.sh host).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$UV_TOP"

ksrc=$(scripts/build-kernel.sh --src)
[ -f "$ksrc/Documentation/sphinx/kerneldoc.py" ] ||
	uv_die "no kernel-doc Sphinx extension in $ksrc"
# The python that has Debian's Sphinx (a python3 earlier in PATH may not).
py=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import sphinx' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || uv_die "Sphinx is not installed (scripts/deps.sh host)"
out=$UV_OUT/docs
rm -rf "$out"
UVIRTIO_KSRC=$ksrc "$py" -m sphinx -q -W --keep-going -b html \
	-d "$out/doctrees" Documentation "$out/html"
echo "docs: $out/html/index.html"
