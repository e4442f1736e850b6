#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Bundle a dynamically linked host program for the test initramfs, which
# has no libc: the binary, the shared libraries ldd lists and the dynamic
# loader go into one directory, with a wrapper that starts the program
# through the loader (exec: the wrapper's pid is the program's).
#
#   scripts/bundle-dyn.sh DIR PROGRAM
#     DIR/PROGRAM-NAME, DIR/lib/*.so*, DIR/ld-linux-x86-64.so.2, DIR/run
#
# Then `scripts/vm-run.sh -a DIR:uvirtio/NAME` and /uvirtio/NAME/run ARGS
# in the guest.  Used for qemu-storage-daemon (the VDUSE test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 2 ] || uv_die "usage: $0 DIR PROGRAM"
dir=$1
prog=$(command -v "$2") || uv_die "$2 is not installed"
name=$(basename "$prog")
rm -rf "$dir"
mkdir -p "$dir/lib"
cp -L "$prog" "$dir/$name"
ldd "$prog" | awk '/=>/ && $3 ~ /^\// { print $3 }' | while read -r lib; do
	cp -L "$lib" "$dir/lib/"
done
loader=$(ldd "$prog" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
[ -n "$loader" ] || uv_die "cannot find the dynamic loader of $prog"
cp -L "$loader" "$dir/ld-linux-x86-64.so.2"
cat >"$dir/run" <<EOF_RUN
#!/bin/sh
d=\$(dirname "\$0")
exec "\$d/ld-linux-x86-64.so.2" --library-path "\$d/lib" "\$d/$name" "\$@"
EOF_RUN
chmod +x "$dir/run"
