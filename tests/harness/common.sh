# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are used by the scripts that source this)
# SPDX-License-Identifier: GPL-2.0-only
# Host-side helpers shared by prepare.sh, build.sh, boot.sh and check.sh.
# Sourced, never run. Everything here only reads the host; nothing touches
# the host's network or its kernel.

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TREE=$(cd "$HARNESS_DIR/../.." && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/cleardf

# Bump when the chroot's recipe changes in a way that needs a rebuild.
PREP_RECIPE=3

# mmdebstrap's options for the roots made here (prepare.sh's rows,
# tests/router/image.sh): no recommends; snapshot mirrors' old Release
# files accepted; apt as root (no _apt user in a fresh root); the apt lists
# kept for later installs; no manuals, info pages, locales or docs but the
# copyrights: smaller roots, smaller guest images.
MMDEBSTRAP_OPTS=(
	--variant=minbase --mode=root
	--aptopt='Acquire::Check-Valid-Until "false"'
	--aptopt='APT::Install-Recommends "false"'
	--aptopt='APT::Sandbox::User "root"'
	--skip=cleanup/apt/lists
	--dpkgopt='force-unsafe-io'
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-include=/usr/share/locale/locale.alias'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
)

log() { printf '%s: %s\n' "${HARNESS_NAME:-harness}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# now_s: seconds since the epoch with a fraction, for timings.
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# resolve_row ROW-OR-ALIAS: sets ROW, USER_SUITE, KERNEL_SUITE.
# USER_SUITE gives the chroot (compiler, libxtables, guest userspace);
# KERNEL_SUITE gives the kernel headers and image.
resolve_row() {
	DEB_ARCH=amd64
	case "${1:-}" in
	bullseye | 5.10)
		ROW=bullseye USER_SUITE=bullseye KERNEL_SUITE=bullseye ;;
	"" | bookworm | 6.1 | default)
		ROW=bookworm USER_SUITE=bookworm KERNEL_SUITE=bookworm ;;
	bookworm-backports | 6.12-deb12)
		ROW=bookworm-backports USER_SUITE=bookworm KERNEL_SUITE=bookworm-backports ;;
	trixie | 6.12)
		ROW=trixie USER_SUITE=trixie KERNEL_SUITE=trixie ;;
	sid | unstable | 7.2 | 7)
		ROW=sid USER_SUITE=sid KERNEL_SUITE=sid ;;
	arm64 | aarch64)
		ROW=arm64 USER_SUITE=bookworm KERNEL_SUITE=bookworm DEB_ARCH=arm64 ;;
	armhf | arm)
		ROW=armhf USER_SUITE=bookworm KERNEL_SUITE=bookworm DEB_ARCH=armhf ;;
	mips64el | mips)
		ROW=mips64el USER_SUITE=bookworm KERNEL_SUITE=bookworm DEB_ARCH=mips64el ;;
	s390x | s390)
		ROW=s390x USER_SUITE=bookworm KERNEL_SUITE=bookworm DEB_ARCH=s390x ;;
	debug | kasan)
		# tests/harness/debug-kernel.sh's 6.1 (KASAN, UBSAN, KFENCE,
		# lockdep, kmemleak) under the bookworm row's userspace
		ROW=debug USER_SUITE=bookworm KERNEL_SUITE=debug ;;
	*)
		die "unknown row '$1' (rows: bullseye bookworm bookworm-backports trixie sid arm64 armhf mips64el s390x debug; aliases: 5.10 6.1 6.12-deb12 6.12 7.2 aarch64 arm mips s390 kasan)" ;;
	esac
	resolve_arch
	ROW_CACHE=$CACHE_ROOT/$ROW
	CHROOT=$ROW_CACHE/chroot
	# The lock that guards CHROOT (build.sh copies the tree into it).
	CHROOT_LOCK=$ROW_CACHE/lock
	# Directories bound into the chroot at their own path (in_chroot).
	CHROOT_BINDS=""
	if [ "$ROW" = debug ]; then
		# no chroot of its own: the bookworm row's (its gcc 12 is the
		# host's, which builds the debug kernel)
		CHROOT=$CACHE_ROOT/bookworm/chroot
		CHROOT_LOCK=$CACHE_ROOT/bookworm/lock
	fi
	KERNEL_DIR=$ROW_CACHE/kernel
	BUILD_DIR=$TREE/build/$ROW
}

# resolve_arch: what differs between the rows' architectures (DEB_ARCH).
# FOREIGN=1 for a row whose guest is not amd64: its root is a foreign
# minbase (mmdebstrap --arch, run through qemu-user-static), and the module,
# the extension and the tools are cross-built on the host (build.sh).
#   FLAVOUR      Debian's kernel flavour (linux-image-ABI-FLAVOUR)
#   KARCH        the kernel's ARCH= for kbuild
#   CROSS        CROSS_COMPILE= prefix (the host's gcc-<triplet> package)
#   TRIPLET      the multiarch directory (/usr/lib/TRIPLET)
#   QEMU         qemu-system binary and machine options
#   CONSOLE_DEV  the serial console the kernel writes to
#   WORD_BITS, BYTE_ORDER  for the matrix table
resolve_arch() {
	FOREIGN=1 QEMU_SMP=${CLEARDF_SMP:-2} QEMU_MEM=${CLEARDF_MEM:-2048}
	case "$DEB_ARCH" in
	amd64)
		FOREIGN=0 FLAVOUR=amd64 KARCH=x86 CROSS="" TRIPLET=x86_64-linux-gnu
		QEMU=(qemu-system-x86_64) CONSOLE_DEV=ttyS0 WORD_BITS=64 BYTE_ORDER=little ;;
	arm64)
		FLAVOUR=arm64 KARCH=arm64 CROSS=aarch64-linux-gnu- TRIPLET=aarch64-linux-gnu
		QEMU=(qemu-system-aarch64 -M virt -cpu "max,pauth-impdef=on") CONSOLE_DEV=ttyAMA0
		WORD_BITS=64 BYTE_ORDER=little ;;
	armhf)
		# armmp (not -lpae): at most 3 GiB of lowmem+highmem; 1 GiB is plenty
		FLAVOUR=armmp KARCH=arm CROSS=arm-linux-gnueabihf- TRIPLET=arm-linux-gnueabihf
		QEMU=(qemu-system-arm -M "virt,highmem=off" -cpu cortex-a15) CONSOLE_DEV=ttyAMA0
		QEMU_MEM=${CLEARDF_MEM:-1024} WORD_BITS=32 BYTE_ORDER=little ;;
	mips64el)
		# Malta: one CPU (the 5kc-malta kernel is not SMP), at most 2 GiB
		FLAVOUR=5kc-malta KARCH=mips CROSS=mips64el-linux-gnuabi64- TRIPLET=mips64el-linux-gnuabi64
		QEMU=(qemu-system-mips64el -M malta -cpu 5KEc) CONSOLE_DEV=ttyS0
		QEMU_SMP=1 QEMU_MEM=${CLEARDF_MEM:-1024} WORD_BITS=64 BYTE_ORDER=little ;;
	s390x)
		FLAVOUR=s390x KARCH=s390 CROSS=s390x-linux-gnu- TRIPLET=s390x-linux-gnu
		QEMU=(qemu-system-s390x -M s390-ccw-virtio) CONSOLE_DEV=ttysclp0
		WORD_BITS=64 BYTE_ORDER=big ;;
	*) die "unknown architecture $DEB_ARCH" ;;
	esac
}

# archive_uri: the Debian archive this machine's apt uses, read from its own
# sources (deb822 first, then one-line format). CLEARDF_MIRROR overrides.
archive_uri() {
	if [ -n "${CLEARDF_MIRROR:-}" ]; then
		printf '%s\n' "$CLEARDF_MIRROR"
		return
	fi
	local uri="" f
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# First deb stanza whose URI is not a security archive.
		uri=$(awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uris != "" && uris !~ /security/ && found == "") {
					split(uris, u, " "); found = u[1]
				}
				types = ""; uris = ""
			}
			/^[[:space:]]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
			/^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
			END { flush(); print found }
		' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ {
				for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; exit }
			}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || die "cannot find a Debian archive in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list (set CLEARDF_MIRROR)"
	printf '%s\n' "${uri%/}"
}

# with_lock FILE CMD...: run CMD holding an exclusive flock on FILE.
with_lock() {
	local lock=$1
	shift
	mkdir -p "$(dirname "$lock")"
	(
		exec 9>"$lock"
		if ! flock -n 9; then
			log "waiting for lock $lock"
			flock 9
		fi
		"$@"
	)
}

# in_chroot DIR CMD...: run CMD in the chroot with its own /proc, in a
# private mount namespace, so nothing stays mounted if we are killed.
in_chroot() {
	local dir=$1
	shift
	# CHROOT_BINDS: directories (absolute, no blanks) that appear inside at
	# the same path, read only (the debug row's kernel build tree).
	# shellcheck disable=SC2016 # expanded by the inner shell
	CLEARDF_BINDS=${CHROOT_BINDS:-} unshare --mount --propagation private -- /bin/sh -c '
		dir=$1; shift
		mount -t proc proc "$dir/proc" || exit 1
		for b in $CLEARDF_BINDS; do
			mkdir -p "$dir$b" && mount --bind "$b" "$dir$b" &&
				mount -o remount,bind,ro "$dir$b" || exit 1
		done
		exec chroot "$dir" /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
	' in_chroot "$dir" "$@"
}

# load_kernel_env: read what prepare.sh recorded about the row's kernel.
load_kernel_env() {
	[ -r "$ROW_CACHE/kernel.env" ] || die "row $ROW is not prepared: run tests/harness/prepare.sh $ROW"
	# shellcheck source=/dev/null
	. "$ROW_CACHE/kernel.env"
}

# lock_tree_row: hold build/<row>/.lock until the script exits, so that two
# runs of one row in one tree (build products, console.log) do not mix.
lock_tree_row() {
	mkdir -p "$BUILD_DIR"
	exec 8>"$BUILD_DIR/.lock"
	if ! flock -n 8; then
		log "waiting for another run of $ROW in this tree ($BUILD_DIR/.lock)"
		flock 8
	fi
}

# safe_rm DIR: rm -rf a chroot, but never through a mount left inside it
# (an interrupted mmdebstrap can leave /proc or /dev mounted there).
safe_rm() {
	local dir=$1 m
	[ -e "$dir" ] || return 0
	dir=$(cd "$dir" && pwd -P)
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r)
	if findmnt -rn -o TARGET | grep -qF "$dir/"; then
		die "$dir still has mounts inside; not removing it"
	fi
	rm -rf "$dir"
}

# copy_tree DST: the working tree as it is (tracked and untracked, not
# ignored files; uncommitted work included), without build/.
copy_tree() {
	local dst=$1
	rm -rf "$dst"
	mkdir -p "$dst"
	if git -C "$TREE" rev-parse --git-dir >/dev/null 2>&1; then
		# tracked + untracked-but-not-ignored files that exist now
		(cd "$TREE" && git ls-files -co --exclude-standard -z) |
			(cd "$TREE" && while IFS= read -r -d '' f; do
				[ -e "$f" ] && [ "${f#build/}" = "$f" ] && printf '%s\0' "$f"
			done) |
			(cd "$TREE" && tar --null -T - -cf -) | tar -xf - -C "$dst"
	else
		(cd "$TREE" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$dst"
	fi
}
