#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check.sh [--guest] [TARGET...]   (targets: 6.1 6.12; default: 6.1)
#
# Proves the series of upstream/mkseries.sh on each target's pristine
# Debian source tree (see common.sh):
#   1. the series is generated afresh and `git am` applies it (no fuzz:
#      git am takes no fuzz);
#   2. the tree's own scripts/checkpatch.pl --strict reports nothing;
#   3. the tree, configured from the Debian config of the target's harness
#      row plus CONFIG_NETFILTER_XT_TARGET_CLEARDF=m (olddefconfig), runs
#      modules_prepare and builds net/netfilter/xt_CLEARDF.ko with W=1 and
#      sparse (C=2): no compiler, sparse or modpost warning. The row's
#      Module.symvers and release (KERNELRELEASE=ABI) make a module the
#      row's Debian kernel loads;
#   4. with --guest: the row's guest boots with that module
#      (tests/harness/boot.sh, CLEARDF_KO=) and runs tests/t/60-upstream-
#      selftest, which runs the series' kselftest and, told so on the
#      kernel command line, checks that the module loaded is the in-tree one.
# The module is copied to build/upstream/<target>/xt_CLEARDF.ko, the logs
# to build/upstream/<target>/*.log. Each step is timed.
set -euo pipefail
UP_NAME=check-upstream
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

# The script is this function, run by the last line: bash reads all of it
# before running any, so an edit of the file during a long run cannot
# derail it.
main() {

guest=0
targets=()
for a in "$@"; do
	case $a in
	--guest) guest=1 ;;
	-h | --help) sed -n '4,5p' "$0" | sed 's/^# /usage: /' >&2; exit 2 ;;
	-*) die "unknown option $a" ;;
	*) targets+=("$a") ;;
	esac
done
[ ${#targets[@]} -gt 0 ] || targets=(6.1)

CLEARDF_DEPS_EXTRA="flex bison bc libelf-dev libssl-dev sparse dwarves xz-utils python3-ply python3-git" \
	"$TREE/tests/harness/host-deps.sh"

step_t0=""
step() {
	[ -z "$step_t0" ] || log "$TARGET: $STEP: $(elapsed "$step_t0") s"
	STEP=$1
	step_t0=$(now_s)
	[ -n "$STEP" ] || step_t0=""
}

# kmake ARGS...: make in the target tree, for the row's kernel, output in
# $LOG (and the last lines on failure).
kmake() {
	if ! make -C "$SRC" -j"$(nproc)" KERNELRELEASE="$ABI" "$@" >>"$LOG" 2>&1; then
		tail -n 40 "$LOG" >&2
		die "$TARGET: make $* failed (log: $LOG)"
	fi
}

check_target() {
	local target=$1 out patches cfg
	local t_all
	t_all=$(now_s)
	target_vars "$target"
	out=$UP_OUT/$target

	step "prepare the $ROW row"
	"$TREE/tests/harness/prepare.sh" "$ROW" >/dev/null
	# shellcheck source=/dev/null
	. "$ROW_CACHE/kernel.env"
	cfg=$ROW_CACHE/chroot$HEADERS

	step "generate the series"
	"$UP_DIR/mkseries.sh" "$target"
	pristine "$target"
	patches=("$out"/*.patch)

	step "git am"
	# Back to the pristine commit; what an earlier series added goes (not
	# `git clean`: it would take kbuild's products with it).
	git -C "$SRC" checkout -q -f --detach "$BASE"
	sed -n 's/^ create mode [0-7]* //p' "${patches[@]}" | (cd "$SRC" && xargs -r rm -f)
	if ! git -C "$SRC" -c user.name=check -c user.email=check@localhost am -q "${patches[@]}"; then
		git -C "$SRC" am --abort || true
		die "$TARGET: the series does not apply to $SRC_PKG $SRC_VERSION"
	fi

	step "checkpatch --strict"
	LOG=$out/checkpatch.log
	(cd "$SRC" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --show-types "${patches[@]}") >"$LOG" 2>&1 || true
	# (PATH: spdxcheck.py needs python3-ply, which a python3 of pyenv and
	# the like lacks.)
	# One complaint is a question: FILE_PATH_CHANGES, "added, moved or
	# deleted file(s), does MAINTAINERS need updating?", asked of every
	# patch that adds a file. The answer is no when MAINTAINERS already
	# covers each new file with an entry that has a list of its own (not
	# only THE REST's linux-kernel@): get_maintainer.pl says.
	local f lists
	while read -r f; do
		lists=$(cd "$SRC" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
			--no-rolestats --no-m --no-r -f "$f" | grep -vx 'linux-kernel@vger.kernel.org') ||
			die "$TARGET: no MAINTAINERS entry with a list covers $f"
		log "$TARGET: $f is covered by MAINTAINERS: $(echo "$lists" | paste -sd' ')"
	done < <(sed -n 's/^ create mode [0-7]* //p' "${patches[@]}")
	if grep -E '^(ERROR|WARNING|CHECK):' "$LOG" | grep -qv '^WARNING:FILE_PATH_CHANGES:' ||
		grep -q 'Traceback' "$LOG" ||
		[ "$(grep -c '^total: 0 errors, [01] warnings, 0 checks' "$LOG")" != ${#patches[@]} ]; then
		cat "$LOG" >&2
		die "$TARGET: checkpatch --strict complains"
	fi

	step "configure (Debian's $ABI config + CLEARDF=m)"
	LOG=$out/build.log
	: >"$LOG"
	if [ ! -f "$cfg/.config" ] || [ ! -f "$cfg/Module.symvers" ]; then
		die "no .config or Module.symvers in $cfg"
	fi
	# Only a new Debian config is copied in: olddefconfig adapts it to this
	# compiler (6.12's comes from gcc 14), and doing that again each run
	# would touch the compiler's config symbols and rebuild scripts/.
	if [ ! -f "$SRC/.config" ] || ! cmp -s "$cfg/.config" "$SRC/.config.debian"; then
		cp "$cfg/.config" "$SRC/.config"
		cp "$cfg/.config" "$SRC/.config.debian"
		"$SRC/scripts/config" --file "$SRC/.config" --module NETFILTER_XT_TARGET_CLEARDF
	fi
	kmake olddefconfig
	grep -qx 'CONFIG_NETFILTER_XT_TARGET_CLEARDF=m' "$SRC/.config" ||
		die "$TARGET: olddefconfig dropped CONFIG_NETFILTER_XT_TARGET_CLEARDF=m (its dependencies?)"

	step "modules_prepare"
	# The modpost wrapper (see below) exists before modules_prepare, and
	# both steps run with the same flags: a changed command line would
	# rebuild scripts/ in the other step every time.
	printf '#!/bin/sh\n# modpost with the symbols of the kernel the module is for\nexec scripts/mod/modpost -i Module.symvers "$@"\n' \
		>"$SRC/cleardf-modpost"
	chmod +x "$SRC/cleardf-modpost"
	local kflags=(W=1 C=2 KBUILD_BUILTIN= MODPOST=./cleardf-modpost)
	kmake "${kflags[@]}" modules_prepare
	cp "$cfg/Module.symvers" "$SRC/Module.symvers"

	step "build xt_CLEARDF.ko (W=1, C=2)"
	# The tree has no vmlinux: kbuild links the .ko without it when
	# KBUILD_BUILTIN is empty, and modpost (in-tree, it reads vmlinux.o)
	# gets the symbols and their CRCs of the row's kernel from its
	# Module.symvers through this wrapper, so the module carries the
	# modversions that kernel checks. It then says "vmlinux.o is missing".
	rm -f "$SRC"/net/netfilter/xt_CLEARDF.{o,ko,mod,mod.c,mod.o}
	local blog=$out/module.log ko=$SRC/net/netfilter/xt_CLEARDF.ko
	LOG=$blog
	: >"$LOG"
	kmake "${kflags[@]}" net/netfilter/xt_CLEARDF.ko
	grep -vE '^make(\[[0-9]+\])?: ' "$blog"
	grep -q 'CHECK .*net/netfilter/xt_CLEARDF\.c' "$blog" || die "$TARGET: sparse did not run (no CHECK line)"
	# Everything but kbuild's own progress lines is a complaint (compiler,
	# sparse or modpost), except the missing vmlinux.o (the note and its
	# indented lines) and BTF (above).
	# The host's bison on the kernel's genksyms grammar (built here when
	# modversions first need it) is not about this module either.
	if grep -vE '^make(\[[0-9]+\])?: |^  [A-Z]+ *(\[M\] +)?[^ ]+$|^Skipping BTF generation .* unavailability of vmlinux$|^scripts/genksyms/parse\.y: ' "$blog" |
		awk '/^WARNING: vmlinux\.o is missing\.$/ { v = 1; next } v && /^         / { next } { v = 0; print }' |
		grep .; then
		die "$TARGET: the build printed warnings (above)"
	fi
	# modversions: every symbol the module uses, with the CRC the row's
	# kernel exports it with.
	local sym crc want n=0
	while read -r sym; do
		crc=$(/sbin/modprobe --dump-modversions "$ko" | awk -v s="$sym" '$2 == s { print $1 }')
		want=$(awk -v s="$sym" '$2 == s { print $1 }' "$cfg/Module.symvers")
		if [ -z "$crc" ] || [ "$crc" != "$want" ]; then
			die "$TARGET: $sym: CRC ${crc:-none} in the module, ${want:-none} in $ABI"
		fi
		n=$((n + 1))
	done < <(nm -u "$ko" | awk '$1 == "U" { print $2 }')
	log "$TARGET: the module's $n symbols carry $ABI's CRCs"
	cp "$ko" "$out/xt_CLEARDF.ko"
	[ "$(modinfo -F vermagic "$out/xt_CLEARDF.ko" | awk '{ print $1 }')" = "$ABI" ] ||
		die "$TARGET: the module is not for $ABI"
	[ "$(modinfo -F intree "$out/xt_CLEARDF.ko")" = Y ] || die "$TARGET: the module is not marked in-tree"

	if [ $guest = 1 ]; then
		step "guest: the kselftest with the in-tree module ($ROW)"
		"$TREE/tests/harness/build.sh" "$ROW" >/dev/null
		CLEARDF_KO=$out/xt_CLEARDF.ko CLEARDF_APPEND=cleardf.upstream=1 \
			"$TREE/tests/harness/boot.sh" --quiet "$ROW" 60-upstream-selftest
	fi
	step ""
	log "$TARGET: $SRC_PKG $SRC_VERSION: applied, checkpatch clean, built warning-free${guest:+}$([ $guest = 1 ] && echo ', kselftest passed in the guest') in $(elapsed "$t_all") s"
}

for t in "${targets[@]}"; do
	check_target "$t"
done
}

main "$@"; exit
