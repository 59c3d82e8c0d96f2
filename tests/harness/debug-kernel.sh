#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# debug-kernel.sh [--print-key]
#
# Builds (once) the debug row's kernel: Debian's linux-source-6.1
# (/usr/src/linux-source-6.1.tar.xz, `make deps` installs it), configured
# as `make x86_64_defconfig` + tests/harness/debug-kernel.config (KASAN
# inline, UBSAN, KFENCE, lockdep, kmemleak, DEBUG_NET, and the suite's
# netfilter, tunnels and tc built in), with the host's gcc. The result is
# cached under ${XDG_CACHE_HOME:-$HOME/.cache}/cleardf/debug/:
#   src-VERSION/      the extracted source (read only: the builds use O=)
#   kernel-KEY/obj/   the build tree; out-of-tree modules build against it
#                     (make -C obj M=...), it refers to src-VERSION
#   kernel-KEY/root/  modules_install's tree (lib/modules/RELEASE)
#   kernel-KEY/bzImage, kernel-KEY/done (the release)
# KEY hashes the source's version, the fragment, the compiler and this
# script's recipe. Every line of the fragment is checked in the final
# .config: a missing option fails the build, naming it.
# Prints the kernel's directory on stdout (--print-key: only the KEY).
set -euo pipefail
HARNESS_NAME=debug-kernel
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

# The script's body is main(), run by the last line: bash has read all of
# the file before it runs any, so an edit during a long build cannot
# derail it.
main() {

# Bump when the build recipe below changes.
DEBUG_RECIPE=1
SRC_TARBALL=${CLEARDF_DEBUG_SRC:-/usr/src/linux-source-6.1.tar.xz}
SRC_PKG=linux-source-6.1
FRAGMENT=$HARNESS_DIR/debug-kernel.config
DBG_CACHE=$CACHE_ROOT/debug

[ -r "$SRC_TARBALL" ] || die "$SRC_TARBALL is missing: run 'make deps' (installs $SRC_PKG)"
local p
for p in flex bison bc; do
	command -v "$p" >/dev/null || die "$p is missing: run 'make deps'"
done
src_version=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null || true)
[ -n "$src_version" ] || src_version=$(stat -c %s-%Y "$SRC_TARBALL")
key=$({
	echo "recipe=$DEBUG_RECIPE src=$SRC_PKG=$src_version"
	gcc --version | head -n 1
	cat "$FRAGMENT"
} | sha256sum | cut -c1-16)
if [ "${1:-}" = --print-key ]; then
	echo "$key"
	exit 0
fi

SRC=$DBG_CACHE/src-$src_version
KDIR=$DBG_CACHE/kernel-$key
OBJ=$KDIR/obj
LOG=$DBG_CACHE/build-$key.log

mkdir -p "$DBG_CACHE"
with_lock "$DBG_CACHE/kernel.lock" do_build >&2
echo "$KDIR"
}

# check_config: every line of the fragment holds in $OBJ/.config.
check_config() {
	local line opt val missing=()
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		opt=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			! grep -qE "^$opt=[ym]$" "$OBJ/.config" || missing+=("$line (is $(grep -E "^$opt=" "$OBJ/.config"))")
		else
			grep -qxF "$line" "$OBJ/.config" ||
				missing+=("$line (is $(grep -E "^(# )?${opt}[= ]" "$OBJ/.config" || echo 'absent: a dependency is missing'))")
		fi
	done <"$FRAGMENT"
	if [ ${#missing[@]} -gt 0 ]; then
		printf '  %s\n' "${missing[@]}" >&2
		die "${#missing[@]} option(s) of $FRAGMENT did not make it into $OBJ/.config"
	fi
}

kmake() {
	make -C "$SRC" O="$OBJ" "$@" >>"$LOG" 2>&1 || {
		tail -n 40 "$LOG" >&2
		die "make $* failed (log: $LOG)"
	}
}

do_build() {
	if [ -f "$KDIR/done" ]; then
		return 0
	fi
	local t0 t1 rel
	t0=$(now_s)
	[ -f "$KDIR/configured" ] || : >"$LOG"
	if [ ! -f "$SRC/.cleardf-extracted" ]; then
		log "extracting $SRC_TARBALL ($src_version) into $SRC"
		rm -rf "$SRC" "$SRC.tmp"
		mkdir -p "$SRC.tmp"
		tar -xJf "$SRC_TARBALL" -C "$SRC.tmp" --strip-components=1
		touch "$SRC.tmp/.cleardf-extracted"
		mv "$SRC.tmp" "$SRC"
		log "extracted in $(elapsed "$t0") s"
	fi
	# An interrupted build resumes in its obj/ (KEY fixes the .config):
	# kbuild keeps the objects it made.
	rm -rf "$KDIR/root" "$KDIR/bzImage"
	if [ ! -f "$KDIR/configured" ]; then
		rm -rf "$OBJ"
		mkdir -p "$OBJ"
		log "configuring: x86_64_defconfig + $(basename "$FRAGMENT")"
		kmake x86_64_defconfig
		(cd "$OBJ" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$FRAGMENT") >>"$LOG" 2>&1 ||
			die "merge_config.sh failed (log: $LOG)"
		kmake olddefconfig
		check_config
		touch "$KDIR/configured"
	else
		log "resuming the build in $OBJ"
		check_config
	fi
	log "config: $(grep -c '=[ym]$' "$OBJ/.config") options set ($(grep -c '=m$' "$OBJ/.config") modules); building with $(nproc) jobs (log: $LOG); load $(cut -d' ' -f1-3 /proc/loadavg)"
	t1=$(now_s)
	kmake -j"$(nproc)" bzImage modules
	kmake INSTALL_MOD_PATH="$KDIR/root" modules_install
	rel=$(cat "$OBJ/include/config/kernel.release")
	# the harness stages modules from lib/modules/RELEASE/kernel
	mkdir -p "$KDIR/root/lib/modules/$rel/kernel"
	rm -f "$KDIR/root/lib/modules/$rel/build" "$KDIR/root/lib/modules/$rel/source"
	cp "$OBJ/arch/x86/boot/bzImage" "$KDIR/bzImage"
	echo "$rel" >"$KDIR/done"
	log "built $rel in $(elapsed "$t1") s (configure and extract included: $(elapsed "$t0") s); load $(cut -d' ' -f1-3 /proc/loadavg)"
}

main "$@"; exit
