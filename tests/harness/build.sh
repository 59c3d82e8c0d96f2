#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# build.sh ROW
#
# Builds, inside the row's chroot (its compiler, its kernel headers, its
# libxtables), from a copy of the working tree (uncommitted work included):
#   xt_CLEARDF.ko     make -C /usr/src/linux-headers-ABI M=... W=1 modules
#   libxt_CLEARDF.so  make extension (or plain gcc if the Makefile lacks it)
#   tests/tools/*.c   gcc -Wall -Wextra, linked against the row's libc
#   tests/tools/bpf/*.c  the host's clang -target bpfel/bpfeb (the row's byte order)
# Products and build.log go to build/<row>/. Prints the number of compiler
# warnings in our code and fails on any, or on a failed build step.
# A part whose source does not exist yet is skipped with a message.
set -euo pipefail
HARNESS_NAME=build
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

[ $# -le 1 ] || { echo "usage: $0 ROW" >&2; exit 2; }
resolve_row "${1:-}"
"$HARNESS_DIR/prepare.sh" "$ROW"
load_kernel_env
lock_tree_row

SRC=/build/cleardf  # in the chroot
OUT=/build/out
BROOT=$CHROOT       # SRC and OUT seen from the host: $BROOT$SRC
TOOL_CFLAGS="-O2 -g -Wall -Wextra"
# A foreign row (arm64, armhf, mips64el, s390x) builds on the host with the
# cross compiler: the module against the unpacked headers (kbuild ARCH=,
# CROSS_COMPILE=), the extension against the guest root's xtables.h and
# libxtables.so, the tools against the cross toolchain's libc (the same
# glibc as the root's, both from the suite).
CC_TOOLS=gcc
MODULE_ARGS=()
EXT_ARGS=()
if [ "$FOREIGN" = 1 ]; then
	BROOT=""
	SRC=$BUILD_DIR/src OUT=$BUILD_DIR/out
	CC_TOOLS=${CROSS}gcc
	MODULE_ARGS=(ARCH="$KARCH" CROSS_COMPILE="$CROSS")
	EXT_ARGS=(CC="${CROSS}gcc" XT_CFLAGS="-idirafter $CHROOT/usr/include"
		XT_LIBS="-L$CHROOT/usr/lib/$TRIPLET -lxtables")
fi

# step NAME CMD...: run CMD in the chroot (on the host for a foreign row),
# output appended to the log.
step() {
	local name=$1
	shift
	{ echo "==== $name: $*"; } >>"$LOG"
	local -a run=(in_chroot "$CHROOT")
	[ "$FOREIGN" = 0 ] || run=(env LC_ALL=C)
	if "${run[@]}" "$@" >>"$LOG" 2>&1; then
		echo "==== $name: ok" >>"$LOG"
		return 0
	fi
	echo "==== $name: FAILED" >>"$LOG"
	return 1
}

do_build() {
	local t0 failed=0 built="" skipped="" broken=""
	t0=$(now_s)
	mkdir -p "$BUILD_DIR"
	LOG=$BUILD_DIR/build.log
	: >"$LOG"
	rm -f "$BUILD_DIR/xt_CLEARDF.ko" "$BUILD_DIR/libxt_CLEARDF.so" "$BUILD_DIR/build.env"
	rm -rf "$BUILD_DIR/tools"
	copy_tree "$BROOT$SRC"
	rm -rf "${BROOT}${OUT:?}"
	mkdir -p "$BROOT$OUT/tools"
	{
		echo "row $ROW ($DEB_ARCH): $USER_SUITE userspace, kernel $ABI ($KERNEL_PKGS), ${CROSS}gcc $CHROOT_GCC"
		echo "tree $TREE ($(git -C "$TREE" describe --always --dirty 2>/dev/null || echo 'not git'))"
	} >>"$LOG"

	# The module.
	if [ -f "$TREE/kernel/xt_CLEARDF.c" ] && { [ -f "$TREE/Kbuild" ] || [ -f "$TREE/kernel/Kbuild" ]; }; then
		if step module make -C "$HEADERS" M="$SRC" "${MODULE_ARGS[@]}" W=1 modules; then
			local ko
			ko=$(cd "$BROOT$SRC" && find . -name xt_CLEARDF.ko | head -n 1)
			if [ -n "$ko" ]; then
				cp "$BROOT$SRC/$ko" "$BUILD_DIR/xt_CLEARDF.ko"
				built="$built module"
			else
				echo "==== module: no xt_CLEARDF.ko produced" >>"$LOG"
				failed=1 broken="$broken module"
			fi
		else
			failed=1 broken="$broken module"
		fi
	else
		log "skipping the module: kernel/xt_CLEARDF.c or Kbuild does not exist yet"
		skipped="$skipped module"
	fi

	# The extension.
	if [ -f "$TREE/userspace-ext/libxt_CLEARDF.c" ]; then
		local ok=0
		if grep -q '^extension:' "$TREE/Makefile" 2>/dev/null; then
			step extension make -C "$SRC" "${EXT_ARGS[@]}" extension && ok=1
		else
			step extension sh -c "cd $SRC && gcc -O2 -g -Wall -Wextra -fPIC -shared \$(pkg-config --cflags xtables) -Iinclude -o userspace-ext/libxt_CLEARDF.so userspace-ext/libxt_CLEARDF.c" && ok=1
		fi
		if [ "$ok" = 1 ] && [ -f "$BROOT$SRC/userspace-ext/libxt_CLEARDF.so" ]; then
			cp "$BROOT$SRC/userspace-ext/libxt_CLEARDF.so" "$BUILD_DIR/"
			built="$built extension"
		else
			failed=1 broken="$broken extension"
		fi
	else
		log "skipping the extension: userspace-ext/libxt_CLEARDF.c does not exist yet"
		skipped="$skipped extension"
	fi

	# The test tools.
	local c n ntools=0
	for c in "$TREE"/tests/tools/*.c; do
		[ -f "$c" ] || continue
		n=$(basename "$c" .c)
		# shellcheck disable=SC2086 # flags are words
		if step "tool $n" "$CC_TOOLS" $TOOL_CFLAGS -o "$OUT/tools/$n" "$SRC/tests/tools/$n.c"; then
			ntools=$((ntools + 1))
		else
			failed=1 broken="$broken $n"
		fi
	done
	if [ "$ntools" -gt 0 ]; then
		mkdir -p "$BUILD_DIR/tools"
		cp "$BROOT$OUT"/tools/* "$BUILD_DIR/tools/"
	fi
	# BPF programs: bytecode, the same for every row of one byte order
	# (-target bpf is the host's: a big-endian kernel refuses a
	# little-endian object, seen on s390x), so the host's clang builds them
	# (make deps installs it); the rows' roots have none.
	# The Linux uapi headers (linux/bpf.h, ...) are the host's
	# (linux-libc-dev); their asm/ directory is under the multiarch path,
	# which clang does not search for -target bpf.
	local bpf_inc bpf_target=bpfel
	[ "$BYTE_ORDER" = little ] || bpf_target=bpfeb
	bpf_inc=/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
	for c in "$TREE"/tests/tools/bpf/*.c; do
		[ -f "$c" ] || continue
		n=$(basename "$c" .c)
		mkdir -p "$BUILD_DIR/tools"
		echo "==== bpf $n: clang -O2 -Wall -Wextra -target $bpf_target" >>"$LOG"
		if ! command -v clang >/dev/null; then
			echo "==== bpf $n: FAILED: clang is not installed on the host (make deps installs it)" >>"$LOG"
			log "cannot build tests/tools/bpf/$n.c: clang is not installed on the host (make deps, or apt-get install clang)"
			failed=1 broken="$broken $n"
			continue
		fi
		# relative source path: its warnings match the pattern below
		if (cd "$TREE" && clang -O2 -Wall -Wextra -target "$bpf_target" -I"$bpf_inc" -c \
			-o "$BUILD_DIR/tools/$n.o" "tests/tools/bpf/$n.c") >>"$LOG" 2>&1; then
			echo "==== bpf $n: ok" >>"$LOG"
			ntools=$((ntools + 1))
		else
			echo "==== bpf $n: FAILED" >>"$LOG"
			failed=1 broken="$broken $n"
		fi
	done
	[ "$ntools" = 0 ] || built="$built tools($ntools)"

	# Warnings in our code: compiler diagnostics located in our sources
	# (absolute chroot paths or relative ones), and modpost's.
	local ours total
	total=$(grep -c -E '(warning|WARNING):' "$LOG" || true)
	local wre="^($SRC/)?(kernel|userspace-ext|include|tests/tools)/[^:]*:[0-9]+(:[0-9]+)?: warning:|WARNING: modpost:"
	ours=$({ grep -E "$wre" "$LOG" || true; } | sort -u | wc -l)
	cat >"$BUILD_DIR/build.env" <<-EOF
		ROW=$ROW
		ABI=$ABI
		GCC=$CHROOT_GCC
		BUILT="${built# }"
		SKIPPED="${skipped# }"
		WARNINGS=$ours
		FAILED=$failed
		BROKEN="${broken# }"
	EOF
	if [ "$ours" -gt 0 ]; then
		grep -E "$wre" "$LOG" | sort -u >&2
	fi
	if [ "$failed" != 0 ]; then
		grep -E 'error|Error|FAILED' "$LOG" | head -n 40 >&2 || true
		log "build FAILED (log: $LOG)"
	fi
	[ "$FOREIGN" = 0 ] || rm -rf "$SRC" "$OUT"
	log "$ROW ($ABI, ${CROSS}gcc $CHROOT_GCC): built:${built:- nothing}${skipped:+; skipped:$skipped}${broken:+; FAILED:$broken}; warnings in our code: $ours (all warnings in log: $total); $(elapsed "$t0") s"
	[ "$failed" = 0 ] && [ "$ours" = 0 ]
}

# CHROOT_LOCK: the debug row builds in the bookworm row's chroot, under its lock
with_lock "$CHROOT_LOCK" do_build; exit
