#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Host tests of the uvirtio CLI that need no module and no device: usage
# errors and exit codes, "module not loaded" handling (also for `events`,
# which needs the generic netlink family), `list` on the real
# sysfs (text and --json, validated with python3 -m json.tool), and
# list/bind/unbind against a fake sysfs tree (UVIRTIO_SYSFS), which never
# touches a real device, and rng/blk on the library's fake device
# (UVIRTIO_FAKE).
#
#   tools/test-cli.sh             (uses tools/build/uvirtio)
#   UVIRTIO=/path/to/uvirtio tools/test-cli.sh
#
# Prints "cli: N passed, M failed"; exits non-zero if anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bin=${UVIRTIO:-$here/build/uvirtio}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
nok() { fail=$((fail + 1)); echo "FAIL $1"; }

# expect_rc NAME RC [env...] -- ARGS...: run the tool, check the exit code.
# Output goes to $tmp/out and $tmp/err.
expect_rc() {
	name=$1 want=$2
	shift 2
	envs=
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs="$envs $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	env $envs "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$name (rc $got)"
	else
		nok "$name: rc $got, want $want; stderr: $(head -c 300 "$tmp/err")"
	fi
}

# expect_err NAME PATTERN: last stderr matches an extended regex.
expect_err() {
	if grep -Eq -e "$2" "$tmp/err"; then
		ok "$1"
	else
		nok "$1: stderr '$(head -c 300 "$tmp/err")' lacks /$2/"
	fi
}

expect_out() {
	if grep -Eq -e "$2" "$tmp/out"; then
		ok "$1"
	else
		nok "$1: stdout '$(head -c 300 "$tmp/out")' lacks /$2/"
	fi
}

if [ ! -x "$bin" ]; then
	echo "test-cli: $bin not built (make -C tools)"
	echo "cli: 0 passed, 1 failed"
	exit 1
fi

nomod="UVIRTIO_CTL=$tmp/no-such-node"

# --- usage and exit codes -------------------------------------------------
expect_rc "no arguments" 2 --
expect_err "no arguments prints usage" '^usage: uvirtio'
expect_rc "help" 0 -- help
expect_out "help lists commands" 'randrw'
expect_rc "--help" 0 -- --help
expect_rc "--version" 0 -- --version
expect_out "--version" '^uvirtio [0-9]'
expect_rc "unknown command" 2 -- frobnicate
expect_err "unknown command message" "unknown command 'frobnicate'"
expect_rc "unknown global option" 2 -- --bogus list
expect_rc "list extra argument" 2 -- list extra
expect_rc "list bad option" 2 -- list --bogus
expect_rc "bind without BDF" 2 -- bind
expect_rc "bind bad BDF" 2 -- bind zz:zz.z
expect_err "bad BDF message" "bad PCI address"
expect_rc "bind two BDFs" 2 -- bind 00:01.0 00:02.0
expect_rc "unbind bad BDF" 2 -- unbind 00:20.0
expect_rc "info without BDF" 2 -- info
expect_rc "info bad BDF" 2 -- info 0000:00:00.8
expect_rc "rng bad count" 2 -- rng 00:05.0 -n 0
expect_rc "console without DEVICE" 2 -- console
expect_rc "console bad --port" 2 -- console 00:08.0 --port x
expect_err "console bad --port names it" "bad --port 'x'"
expect_rc "console bad --idle" 2 -- console 00:08.0 --idle -1
expect_err "console bad --idle names it" "bad --idle '-1'"
expect_rc "console two devices" 2 -- console 00:08.0 00:09.0
expect_rc "console --help" 0 -- console --help
expect_out "console --help says what EOF does" 'after EOF on input'
expect_rc "rng bad count suffix" 2 -- rng 00:05.0 -n 12X
expect_rc "blk no op" 2 -- blk 00:02.0
expect_rc "blk unknown op" 2 -- blk 00:02.0 erase
expect_err "blk unknown op message" "unknown operation 'erase'"
expect_rc "blk read missing LEN" 2 -- blk 00:02.0 read 0
expect_rc "blk read zero LEN" 2 -- blk 00:02.0 read 0 0
expect_rc "blk randrw bad -n" 2 -- blk 00:02.0 randrw -n abc
expect_rc "blk verify with --poll" 2 -- blk 00:02.0 verify --poll
expect_rc "blk info with -o" 2 -- blk 00:02.0 info -o /tmp/x
expect_rc "blk help" 0 -- blk --help

# --- module missing ---------------------------------------------------------
for c in "info 00:02.0" "rng 00:05.0" "blk 00:02.0 verify" \
	 "blk 00:02.0 randrw -n 10 --poll" "info 00:02.0 --json --features"; do
	# shellcheck disable=SC2086
	expect_rc "module missing: $c" 4 "$nomod" -- $c
	expect_err "module missing message: $c" \
		"^uvirtio: module not loaded \(.*no-such-node missing\)$"
done

# --- events: no generic netlink family on the host ---------------------------
expect_rc "events bad count" 2 -- events -n 0
expect_rc "events bad timeout" 2 -- events -t soon
expect_rc "events extra argument" 2 -- events now
if [ -e /sys/module/uvirtio ]; then
	echo "skip events without the module: uvirtio is loaded here"
else
	expect_rc "events without the module" 4 -- events -n 1 -t 1
	expect_err "events without the module message" \
		'^uvirtio: netlink family not found \(module not loaded\?\)$'
	expect_rc "events --json without the module" 4 -- events --json -t 0
fi

# --- vdpa: argument checks, and no "vdpa" family on the host ----------------
expect_rc "vdpa no subcommand" 2 -- vdpa
expect_rc "vdpa unknown subcommand" 2 -- vdpa frob
expect_rc "vdpa add missing MGMTDEV" 2 -- vdpa add blk0
expect_rc "vdpa add bad name" 2 -- vdpa add 'a/b' vdpasim_blk
expect_err "vdpa add bad name message" "bad device name 'a/b'"
expect_rc "vdpa add bad mgmtdev" 2 -- vdpa add blk0 'pci//x'
expect_rc "vdpa del too long a name" 2 -- vdpa del \
	xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
expect_rc "vdpa list extra argument" 2 -- vdpa list blk0
expect_rc "vdpa add --json" 2 -- --json vdpa add blk0 vdpasim_blk
expect_rc "vdpa help" 0 -- vdpa --help
if [ -e /sys/module/vdpa ]; then
	echo "skip vdpa without the family: vdpa is loaded here"
else
	expect_rc "vdpa list without the family" 4 -- vdpa list
	expect_err "vdpa list without the family message" \
		'"vdpa" generic netlink family is not registered'
	expect_rc "vdpa add without the family" 4 -- vdpa add blk0 vdpasim_blk
	expect_rc "vdpa del without the family" 4 -- vdpa del blk0
fi

# --- list on the real sysfs ---------------------------------------------------
expect_rc "list" 0 "$nomod" -- list
expect_out "list header" '^BDF +ID +TYPE +KIND +DRIVER +OWNER'
expect_rc "list --stats" 0 "$nomod" -- list --stats
expect_out "list --stats header" '^BDF +ID +TYPE +KIND +DRIVER +OWNER +MAPS +PINNED +COHERENT +IRQS$'
expect_rc "list --json" 0 "$nomod" -- list --json
if python3 -m json.tool "$tmp/out" >/dev/null 2>&1; then
	ok "list --json is valid JSON"
else
	nok "list --json is not valid JSON: $(head -c 300 "$tmp/out")"
fi
expect_rc "global --json list" 0 "$nomod" -- --json list
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["module_loaded"] is False; assert isinstance(d["devices"], list)' "$tmp/out" 2>/dev/null; then
	ok "list --json structure (module_loaded false, devices list)"
else
	nok "list --json structure: $(head -c 300 "$tmp/out")"
fi

# --- a fake sysfs tree ----------------------------------------------------------
fs=$tmp/sys
pci=$fs/bus/pci
mkdev() { # BDF DEVICE SUBSYS DRIVER
	d=$pci/devices/$1
	mkdir -p "$d"
	echo 0x1af4 >"$d/vendor"
	echo "$2" >"$d/device"
	echo 0x1af4 >"$d/subsystem_vendor"
	echo "$3" >"$d/subsystem_device"
	echo "(null)" >"$d/driver_override"
	if [ -n "$4" ]; then
		mkdir -p "$pci/drivers/$4"
		: >"$pci/drivers/$4/bind"
		: >"$pci/drivers/$4/unbind"
		ln -s "../../drivers/$4" "$d/driver"
	fi
}
mkdir -p "$pci/devices" "$pci/drivers/uvirtio"
: >"$pci/drivers/uvirtio/unbind"
: >"$pci/drivers_probe"
mkdev 0000:00:0a.0 0x1001 0x0002 virtio-pci     # transitional blk
mkdev 0000:00:0b.0 0x1044 0x1100 ""             # modern rng, no driver
mkdev 0000:00:0c.0 0x1041 0x1100 virtio-pci     # modern net, link up
mkdir -p "$pci/devices/0000:00:0c.0/virtio3/net/eth9"
echo up >"$pci/devices/0000:00:0c.0/virtio3/net/eth9/operstate"
mkdev 0001:02:00.0 0x1009 0x0009 uvirtio        # transitional 9p on uvirtio
mkdir -p "$pci/devices/0000:00:0d.0"            # not virtio (ivshmem)
echo 0x1af4 >"$pci/devices/0000:00:0d.0/vendor"
echo 0x1110 >"$pci/devices/0000:00:0d.0/device"
mkdir -p "$pci/devices/0000:00:0e.0"            # not virtio (Intel)
echo 0x8086 >"$pci/devices/0000:00:0e.0/vendor"
echo 0x1234 >"$pci/devices/0000:00:0e.0/device"
ctl=$tmp/ctl    # a plain file: "module loaded", but ioctls fail
: >"$ctl"
fake="UVIRTIO_SYSFS=$fs UVIRTIO_CTL=$ctl UVIRTIO_RUNDIR=$tmp/run"

expect_rc "fake list" 0 "$fake" -- list
expect_out "fake list: transitional blk" '^0000:00:0a\.0 +1af4:1001 +blk +transitional +virtio-pci +-$'
expect_out "fake list: unbound rng" '^0000:00:0b\.0 +1af4:1044 +rng +modern +- +-$'
expect_out "fake list: 9p on uvirtio, owner unknown" '^0001:02:00\.0 +1af4:1009 +9p +transitional +uvirtio +\?$'
if grep -q '0000:00:0[de]\.0' "$tmp/out"; then
	nok "fake list shows non-virtio functions"
else
	ok "fake list skips non-virtio functions"
fi
expect_rc "fake list --json" 0 "$fake" -- list --json
if python3 - "$tmp/out" <<'EOF' 2>"$tmp/py"
import json, sys
d = json.load(open(sys.argv[1]))
devs = {x["bdf"]: x for x in d["devices"]}
assert d["module_loaded"] is True
assert sorted(devs) == ["0000:00:0a.0", "0000:00:0b.0", "0000:00:0c.0",
                        "0001:02:00.0"], sorted(devs)
assert devs["0000:00:0a.0"]["type"] == "blk"
assert devs["0000:00:0a.0"]["kind"] == "transitional"
assert devs["0000:00:0a.0"]["virtio_id"] == 2
assert devs["0000:00:0b.0"]["driver"] is None
assert devs["0000:00:0c.0"]["type"] == "net"
assert devs["0001:02:00.0"]["driver"] == "uvirtio"
assert devs["0001:02:00.0"]["owner_pid"] is None
assert devs["0001:02:00.0"]["owned"] is None      # unknown: ioctl failed
assert devs["0000:00:0a.0"]["owned"] is False
EOF
then
	ok "fake list --json content"
else
	nok "fake list --json content: $(cat "$tmp/py")"
fi

expect_rc "bind no such device" 4 "$fake" -- bind 00:1f.0
expect_err "bind no such device message" 'no such device'
expect_rc "bind non-virtio" 1 "$fake" -- bind 00:0e.0
expect_err "bind non-virtio message" 'not a virtio device'
expect_rc "bind module missing" 4 "UVIRTIO_SYSFS=$fs" "$nomod" -- bind 00:0a.0
expect_err "bind module missing message" 'module not loaded'
expect_rc "bind already bound" 0 "$fake" -- bind 1:02:00.0
expect_out "bind already bound message" 'already bound to uvirtio'
expect_rc "bind net with link up is refused" 3 "$fake" -- bind 00:0c.0
expect_err "bind busy message" 'device busy: interface eth9 is up'
if [ "$(cat "$pci/devices/0000:00:0c.0/driver_override")" = "(null)" ]; then
	ok "refused bind left driver_override alone"
else
	nok "refused bind wrote driver_override"
fi
# In a fake tree nobody reacts to drivers_probe: bind must notice that
# uvirtio did not take the device, report it, and roll back.
expect_rc "bind not taken by uvirtio" 1 "$fake" -- bind 00:0a.0
expect_err "bind not taken message" 'uvirtio did not take the device'
if grep -qx 0000:00:0a.0 "$pci/drivers/virtio-pci/unbind" &&
   grep -qx 0000:00:0a.0 "$pci/drivers_probe"; then
	ok "bind wrote unbind and drivers_probe"
else
	nok "bind did not write unbind/drivers_probe"
fi
if [ ! -e "$tmp/run/0000:00:0a.0.prev" ] && [ -d "$tmp/run" ]; then
	ok "failed bind dropped the remembered driver"
else
	nok "failed bind left $tmp/run/0000:00:0a.0.prev"
fi
expect_rc "unbind not bound to uvirtio" 1 "$fake" -- unbind 00:0b.0
expect_err "unbind not bound message" 'not bound to uvirtio'
mkdir -p "$tmp/run"
echo virtio-pci >"$tmp/run/0001:02:00.0.prev"
expect_rc "unbind (owner unknown)" 0 "$fake" -- unbind 0001:02:00.0
if grep -qx 0001:02:00.0 "$pci/drivers/uvirtio/unbind" &&
   grep -qx 0001:02:00.0 "$pci/drivers/virtio-pci/bind" &&
   [ ! -e "$tmp/run/0001:02:00.0.prev" ]; then
	ok "unbind wrote uvirtio/unbind and the previous driver's bind"
else
	nok "unbind sysfs writes"
fi

# --- bind --driver vfio-pci and unbind from vfio-pci (fake tree) ------------
expect_rc "bind --driver bogus" 2 "$fake" -- bind --driver bogus 00:0b.0
expect_err "bind --driver bogus message" "driver must be uvirtio or vfio-pci, not 'bogus'"
expect_rc "bind --driver without value" 2 "$fake" -- bind 00:0b.0 --driver
expect_rc "unbind takes no --driver" 2 "$fake" -- unbind --driver vfio-pci 00:0b.0
expect_rc "bind --help shows --driver" 0 -- bind --help
expect_out "bind --help text" 'usage: uvirtio bind BDF \[-f\] \[--driver uvirtio\|vfio-pci\]'
expect_rc "bind --driver vfio-pci, vfio-pci not loaded" 4 "$fake" -- bind 00:0b.0 --driver vfio-pci
expect_err "vfio-pci not loaded message" 'vfio-pci not loaded'
mkdir -p "$pci/drivers/vfio-pci"
: >"$pci/drivers/vfio-pci/unbind"
# needs no uvirtio module; in a fake tree nobody takes the device
expect_rc "bind --driver vfio-pci not taken" 1 "$fake" "$nomod" -- bind -d vfio-pci 00:0b.0
expect_err "bind vfio-pci not taken message" 'vfio-pci did not take the device'
mkdev 0000:00:0f.0 0x1042 0x1100 vfio-pci       # modern blk on vfio-pci
echo vfio-pci >"$pci/devices/0000:00:0f.0/driver_override"
expect_rc "bind --driver vfio-pci already bound" 0 "$fake" -- bind 00:0f.0 --driver vfio-pci
expect_out "already bound to vfio-pci" 'already bound to vfio-pci'
expect_rc "fake list with vfio-pci" 0 "$fake" -- list
expect_out "list shows the vfio-pci function" '^0000:00:0f\.0 +1af4:1042 +blk +modern +vfio-pci +-$'
expect_rc "unbind from vfio-pci" 0 "$fake" -- unbind 00:0f.0
expect_out "unbind from vfio-pci message" 'unbound from vfio-pci'
if grep -qx 0000:00:0f.0 "$pci/drivers/vfio-pci/unbind" &&
   [ -z "$(head -n 1 "$pci/devices/0000:00:0f.0/driver_override")" ]; then
	ok "unbind wrote vfio-pci/unbind and cleared driver_override"
else
	nok "unbind from vfio-pci sysfs writes"
fi
expect_rc "vfio: bad address" 2 -- blk vfio:zz:zz.z info
expect_rc "vfio: no such function" 4 -- info vfio:ffff:ff:1f.7
expect_err "vfio: no such function message" 'no such device'

# --- info and owners through a fake /dev/uvirtio (LD_PRELOAD shim) -----------
shim=$tmp/fake_uapi.so
if ! readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
	echo "skip fake-UAPI tests: $bin is static"
elif ! cc -shared -fPIC -O1 -Wall -Werror -I"$here/../uapi" \
	-o "$shim" "$here/tests/fake_uapi.c" -ldl 2>"$tmp/err"; then
	nok "build tests/fake_uapi.c: $(head -c 300 "$tmp/err")"
else
	pre="LD_PRELOAD=$shim FAKE_UAPI_CTL=$ctl"
	mkdir -p "$fs/kernel/debug/uvirtio/0001:02:00.0"
	printf 'owner_pid: 4242\niommu_mode: 2\nvector0: irq 34 interrupts 5\n' \
		>"$fs/kernel/debug/uvirtio/0001:02:00.0/stats"
	expect_rc "shim list" 0 "$fake" "$pre" -- list
	expect_out "shim list shows the owner pid" '^0001:02:00\.0 .* uvirtio +4242$'
	expect_rc "shim list --json" 0 "$fake" "$pre" -- list --json
	if python3 -c 'import json,sys; d={x["bdf"]: x for x in json.load(open(sys.argv[1]))["devices"]}; x=d["0001:02:00.0"]; assert x["owner_pid"] == 4242 and x["owned"] is True, x' "$tmp/out" 2>"$tmp/py"; then
		ok "shim list --json owner"
	else
		nok "shim list --json owner: $(cat "$tmp/py")"
	fi
	expect_rc "unbind an owned device is refused" 3 "$fake" "$pre" -- unbind 0001:02:00.0
	expect_err "unbind busy message" 'device busy: owned by pid 4242'
	expect_rc "unbind -f an owned device" 0 "$fake" "$pre" -- unbind -f 0001:02:00.0
	expect_rc "info not bound" 4 "$fake" "$pre" -- info 00:0a.0
	expect_err "info not bound message" 'no such device \(not bound to uvirtio'
	expect_rc "info" 0 "$fake" "$pre" -- info 1:02:00.0
	expect_out "info header" '^0001:02:00\.0: virtio blk, modern, 1af4:1042'
	expect_out "info iommu" 'iommu: +unsafe .*, no-access-platform$'
	expect_out "info dma flags" 'dma flags: +-$'
	expect_out "info notify cap" 'notify +bar 4 +offset 0x3000 .*multiplier 4'
	expect_out "info regions" 'bar4 +size 0x4000 +read write mmap mem64'
	expect_out "info stats" '^    vector0: irq 34 interrupts 5$'
	expect_rc "info --features" 0 "$fake" "$pre" -- info 1:02:00.0 --features
	expect_out "info --features names" 'SIZE_MAX SEG_MAX BLK_SIZE FLUSH VERSION_1$'
	expect_rc "info --json --features" 0 "$fake" "$pre" -- info 1:02:00.0 --json --features
	if python3 - "$tmp/out" <<'EOF' 2>"$tmp/py"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bdf"] == "0001:02:00.0" and d["type"] == "blk", d
assert d["flags"] == ["modern", "intx"], d["flags"]
assert d["iommu_mode"] == "unsafe" and d["num_msix"] == 2
assert d["untranslated"] == "no-access-platform", d["untranslated"]
assert d["dma_flags"] == [] and d["num_iova_ranges"] == 0, d
assert d["caps"]["common"]["bar"] == 4 and d["caps"]["isr"] is None
assert d["caps"]["notify"]["notify_off_multiplier"] == 4
assert [r["name"] for r in d["regions"]] == ["bar1", "bar4", "config"]
assert d["regions"][0]["msix_end"] == 4096
assert d["features"]["offered"] == "0x0000000100000246", d["features"]
assert d["features"]["names"] == ["SIZE_MAX", "SEG_MAX", "BLK_SIZE",
                                  "FLUSH", "VERSION_1"]
assert d["stats"] == {"owner_pid": 4242, "iommu_mode": 2,
                      "vector0": "irq 34 interrupts 5"}, d["stats"]
EOF
	then
		ok "info --json --features content"
	else
		nok "info --json --features content: $(cat "$tmp/py")"
	fi
fi

# --- rng and blk on the library's fake device (UVIRTIO_FAKE) -----------------
expect_rc "fake rng" 0 UVIRTIO_FAKE=rng -- rng 00:05.0 -n 40
if [ "$(wc -l <"$tmp/out")" = 2 ] && grep -Eqx '[0-9a-f]{64}' "$tmp/out" &&
   grep -Eqx '[0-9a-f]{16}' "$tmp/out"; then
	ok "fake rng prints 40 bytes of hex, 32 a line"
else
	nok "fake rng output: $(head -c 300 "$tmp/out")"
fi
expect_rc "fake rng -o" 0 UVIRTIO_FAKE=rng -- rng 00:05.0 -n 4K -o "$tmp/rnd"
if [ "$(wc -c <"$tmp/rnd")" = 4096 ]; then
	ok "fake rng -o wrote 4096 raw bytes"
else
	nok "fake rng -o wrote $(wc -c <"$tmp/rnd") bytes"
fi
expect_rc "fake blk verify" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 verify -s 2
expect_out "verify result line" '^result uvirtio verify blocks=512 bytes=2097152 ok$'
expect_rc "fake blk randrw" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 randrw -n 300 -s 4 --poll
expect_out "randwrite result line" \
	'^result uvirtio randwrite qd=1 bs=4096 ops=300 iops=[0-9]+ lat_us=[0-9]+\.[0-9]$'
expect_out "randread result line" \
	'^result uvirtio randread qd=1 bs=4096 ops=300 iops=[0-9]+ lat_us=[0-9]+\.[0-9]$'
if [ "$(grep -c '^result ' "$tmp/out")" = 2 ] &&
   [ "$(sed -n 1p "$tmp/out" | cut -d' ' -f3)" = randwrite ]; then
	ok "randrw prints exactly randwrite then randread"
else
	nok "randrw output order: $(head -c 300 "$tmp/out")"
fi
expect_rc "fake blk randrw span beyond the disk" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 randrw -n 10
expect_err "beyond capacity message" 'beyond the capacity'
expect_rc "fake blk info" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 info
expect_out "blk info capacity" 'capacity: +8388608 bytes'
expect_out "blk info interrupts" '^  interrupts: +msix$'
expect_rc "fake blk read unaligned range" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 read 1000 40
expect_out "blk read hex dump offsets" '^00000408: 0{16}$'
printf 'hello' >"$tmp/in"
expect_rc "fake blk write (padded)" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 write 4K -i "$tmp/in"
expect_out "blk write message" 'wrote 512 bytes at 0x1000 \(last block zero-padded\)'
expect_rc "fake blk write unaligned offset" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 write 100 -i "$tmp/in"
expect_rc "fake blk write too big" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 write 8M -i "$tmp/in"
expect_err "fake blk write too big: nothing written" 'does not fit.*nothing written'

# --- the example on a disk without a write cache (no FLUSH) -----------------
ex=$here/../userlib/build/examples/blk_rw
if [ -x "$ex" ]; then
	if "$ex" --fake-no-flush -n 200 >"$tmp/out" 2>"$tmp/err"; then
		ok "examples/blk_rw without FLUSH"
	else
		nok "examples/blk_rw without FLUSH: $(head -c 300 "$tmp/err")"
	fi
else
	nok "examples/blk_rw not built (make -C userlib examples)"
fi

# --- host files are not the device: exit 7 ----------------------------------
expect_rc "rng -o into a missing dir" 7 UVIRTIO_FAKE=rng -- rng 00:03.0 -o /nonexistent/dir/f
expect_err "rng -o message names the file" '/nonexistent/dir/f: No such file or directory'
expect_rc "blk read -o into a missing dir" 7 UVIRTIO_FAKE=blk -- blk 00:02.0 read 0 512 -o /nonexistent/dir/f
expect_rc "blk write -i a missing file" 7 UVIRTIO_FAKE=blk -- blk 00:02.0 write 0 -i /nonexistent/f
expect_err "blk write -i message" '/nonexistent/f: No such file or directory'
expect_rc "blk write -i a directory" 7 UVIRTIO_FAKE=blk -- blk 00:02.0 write 0 -i /
expect_rc "rng -t 0" 2 UVIRTIO_FAKE=rng -- rng 00:03.0 -t 0
expect_rc "console on a blk device" 1 UVIRTIO_FAKE=blk -- console 00:02.0
expect_err "console on a blk device says so" 'not a usable virtio console device'
expect_rc "fake rng -o file" 0 UVIRTIO_FAKE=rng -- rng 00:03.0 -n 100 -o "$tmp/rng.bin"
if [ "$(wc -c <"$tmp/rng.bin")" = 100 ]; then ok "rng -o wrote 100 bytes"; else nok "rng -o size $(wc -c <"$tmp/rng.bin")"; fi
expect_rc "fake rng hexdump of 40 bytes" 0 UVIRTIO_FAKE=rng -- rng 00:03.0 -n 40
if [ "$(wc -l <"$tmp/out")" = 2 ]; then ok "rng hexdump: whole lines"; else nok "rng hexdump lines: $(cat "$tmp/out")"; fi

# --- a pipe that runs past the end: written part flushed, reported ----------
head -c 9437184 /dev/zero | UVIRTIO_FAKE=blk "$bin" blk 00:02.0 write 0 >"$tmp/out" 2>"$tmp/err"
got=$?
if [ $got = 2 ] && grep -Eq 'bytes at 0x0 were written and flushed, the rest of the input was not' "$tmp/err"; then
	ok "pipe past the end: rc 2, says what was written"
else
	nok "pipe past the end: rc $got, $(head -c 300 "$tmp/err")"
fi

# --- discard and write-zeroes ------------------------------------------------
expect_rc "fake blk write-zeroes" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 write-zeroes 64K 8K --unmap
expect_out "write-zeroes message" 'zeroed 8192 bytes at 0x10000 \(unmap allowed\)'
expect_rc "fake blk discard" 0 UVIRTIO_FAKE=blk -- blk 00:02.0 discard 0 4K
expect_out "discard message" 'discarded 4096 bytes at 0x0'
expect_rc "discard beyond the end" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 discard 8M 4K
expect_rc "discard LEN 0" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 discard 0 0
expect_err "discard LEN 0 names it" "bad LEN '0'"
expect_rc "--unmap on read" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 read 0 512 --unmap
expect_err "--unmap on read names it" 'unmap does not apply to read'
expect_rc "read without LEN" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 read 0
expect_err "read without LEN says so" 'read takes OFFSET LEN, got 1 argument'
expect_rc "read bad OFFSET" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 read zz 512
expect_err "read bad OFFSET names it" "bad OFFSET 'zz'"
expect_rc "info with an argument" 2 UVIRTIO_FAKE=blk -- blk 00:02.0 info extra
expect_err "info with an argument names it" "info takes no argument, got 'extra'"

# --- bench on the fake device ----------------------------------------------
expect_rc "fake bench qd4" 0 UVIRTIO_FAKE=blk -- bench 00:02.0 -t 1 --qd 4
expect_out "bench header" '^0000:00:02\.0: randread bs=4096 qd=4, interrupts msix, [0-9]+\.[0-9]{3} s$'
expect_out "bench iops" '^  iops: +[1-9][0-9]*$'
expect_out "bench bandwidth" '^  bandwidth: +[0-9]+\.[0-9]{2} MiB/s$'
expect_out "bench latency" '^  latency: +p50 [0-9]+\.[0-9] us, p99 [0-9]+\.[0-9] us, max [0-9]+\.[0-9] us$'
expect_out "bench doorbells" '^  doorbells: +[0-9]+\.[0-9]{4} per request$'
expect_out "bench interrupts" '^  interrupts: +[0-9]+\.[0-9]{4} per request \(msix\)$'
expect_out "bench result line" \
	'^result uvirtio bench randread bs=4096 qd=4 ios=[1-9][0-9]* secs=[0-9.]+ iops=[0-9]+ mib_s=[0-9.]+ p50_us=[0-9.]+ p99_us=[0-9.]+ max_us=[0-9.]+ db_per_io=[0-9.]+ irq_per_io=[0-9.]+ bounced=0 irq_mode=msix$'
expect_rc "fake bench randwrite --poll --bs 8K --json" 0 UVIRTIO_FAKE=blk -- \
	bench 00:02.0 -t 1 --rw randwrite --bs 8K --poll --json
if python3 - "$tmp/out" >"$tmp/py" 2>&1 <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
assert d["bdf"] == "0000:00:02.0" and d["rw"] == "randwrite", d
assert d["bs"] == 8192 and d["qd"] == 1 and d["qd_effective"] == 1, d
assert d["poll"] is True and d["ios"] > 0 and d["iops"] > 0, d
assert d["mib_per_s"] > 0 and 0.9 < d["secs"] < 2, d
lat = d["latency_us"]
assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], lat
assert d["doorbells_per_io"] > 0, d
assert d["interrupts_per_io"] == 0 and d["irq_mode"] == "poll", d
EOF
then
	ok "bench --json content"
else
	nok "bench --json content: $(cat "$tmp/py")"
fi
expect_rc "fake bench global --json" 0 UVIRTIO_FAKE=blk -- --json bench 00:02.0 -t 1 --qd 2
if python3 -m json.tool "$tmp/out" >/dev/null 2>&1; then
	ok "bench global --json is valid JSON"
else
	nok "bench global --json: $(head -c 300 "$tmp/out")"
fi
expect_rc "bench --qd 0" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 --qd 0
expect_err "bench --qd 0 message" "bad --qd '0' \(1\.\.1024\)"
expect_rc "bench --qd 1025" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 --qd 1025
expect_rc "bench --qd junk" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 --qd 4x
expect_rc "bench --bs 1000" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 --bs 1000
expect_err "bench --bs message" "bad --bs '1000' \(a multiple of 512"
expect_rc "bench --bs 0" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 --bs 0
expect_rc "bench -t 0" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 -t 0
expect_rc "bench -t 3601" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 -t 3601
expect_err "bench -t message" "bad -t '3601' \(1\.\.3600 seconds\)"
expect_rc "bench --rw seqread" 2 UVIRTIO_FAKE=blk -- bench 00:02.0 --rw seqread
expect_rc "bench without BDF" 2 -- bench
expect_rc "bench bad BDF" 2 UVIRTIO_FAKE=blk -- bench nonsense -t 1
expect_rc "bench, module not loaded" 4 UVIRTIO_CTL=/nonexistent -- bench 00:02.0 -t 1

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
