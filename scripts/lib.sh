# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the uvirtio scripts.  Source it; do not run it.

UV_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything that is expensive and reusable lives outside the repo.
UV_CACHE=${UVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uvirtio}
UV_OUT=${UVIRTIO_OUT:-$UV_TOP/out}
UV_JOBS=${UVIRTIO_JOBS:-$(nproc)}

uv_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
uv_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Version of an installed Debian package, empty if it is not installed.
uv_pkg_version() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "ii" { print $2 }'
}

# The stock Debian 6.1 kernel ABI the archive's linux-image-amd64 points at,
# e.g. "6.1.0-56-amd64".  Override with UVIRTIO_STOCK_KVER.
uv_stock_kver() {
	if [ -n "${UVIRTIO_STOCK_KVER:-}" ]; then
		echo "$UVIRTIO_STOCK_KVER"
		return
	fi
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' |
		head -n 1
}

# Debian's 6.12 kernel ABI that matches linux-source-6.12,
# e.g. "6.12.117+deb12-amd64".
uv_src612_kver() {
	local v
	v=$(uv_pkg_version linux-source-6.12)
	[ -n "$v" ] || v=$(uv_candidate linux-source-6.12)
	v=${v%%-*}
	echo "${v}+deb12-amd64"
}

# Debian's signed 6.12 image as a package of the archive: the one that
# matches linux-source-6.12 when the archive has it, or else the newest
# 6.12 image whose headers it has too.  The signed image is built after
# the source and headers, so for a while after a security upload the
# archive has linux-source-6.12 and its headers but no linux-image of that
# version.
uv_stock612_kver() {
	local k v
	k=$(uv_src612_kver)
	if uv_has_candidate "linux-image-$k"; then
		echo "$k"
		return
	fi
	for v in $(apt-cache pkgnames linux-image-6.12. 2>/dev/null |
		sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12-amd64\)$/\1/p' |
		sort -rV); do
		if uv_has_candidate "linux-image-$v" &&
		   uv_has_candidate "linux-headers-$v"; then
			echo "$v"
			return
		fi
	done
	echo "$k"
}

# The version apt would install of package $1; empty when it has none.
uv_candidate() {
	apt-cache policy "$1" 2>/dev/null |
		sed -n '/^ *Candidate: (none)$/d; s/^ *Candidate: //p'
}

# True when apt can install package $1.
uv_has_candidate() {
	[ -n "$(uv_candidate "$1")" ]
}
