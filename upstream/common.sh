# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are used by the scripts that source this)
# SPDX-License-Identifier: GPL-2.0-only
#
# Shared by upstream/mkseries.sh and upstream/check.sh. Sourced, never run.
#
# A target is a Debian kernel source package (linux-source-6.1,
# linux-source-6.12). Its pristine tree is extracted once into
# ~/.cache/cleardf/upstream/<package>_<version>/ and committed there with
# git: the series is generated against that commit and applied to it.

UP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TREE=$(cd "$UP_DIR/.." && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/cleardf
UP_CACHE=$CACHE_ROOT/upstream
UP_TARGETS="6.1 6.12"
UP_OUT=$TREE/build/upstream

log() { printf '%s: %s\n' "${UP_NAME:-upstream}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# target_vars TARGET: SRC_PKG (Debian's source package) and ROW (the test
# harness row whose kernel the target is built for: its Debian config,
# Module.symvers and release, and its guest).
# git_identity: commits by $IDENTITY ("Name <mail>"), dated like the
# project's last commit, so that a series regenerates byte for byte.
git_identity() {
	local date
	date=$(git -C "$TREE" log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)
	export GIT_AUTHOR_NAME=${IDENTITY% <*} GIT_AUTHOR_EMAIL=${IDENTITY##*<}
	GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
	export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
	export GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date
}

target_vars() {
	case $1 in
	6.1) SRC_PKG=linux-source-6.1 ROW=bookworm ;;
	6.12) SRC_PKG=linux-source-6.12 ROW=trixie ;;
	*) die "unknown target '$1' (targets: $UP_TARGETS)" ;;
	esac
	TARGET=$1
	ROW_CACHE=$CACHE_ROOT/$ROW
}

# src_version: the version of SRC_PKG to use. UPSTREAM_SRC_VERSION wins;
# else the one with the upstream release of the row's kernel (so that a
# module built in the tree loads in the row's guest), else apt's candidate.
src_version() {
	if [ -n "${UPSTREAM_SRC_VERSION:-}" ]; then
		printf '%s\n' "$UPSTREAM_SRC_VERSION"
		return
	fi
	local kver="" v
	if [ -r "$ROW_CACHE/kernel.env" ]; then
		# KERNEL_PKGS="linux-image-6.1.0-50-amd64-unsigned=6.1.176-1"
		kver=$(sed -n 's/^KERNEL_PKGS="[^=]*=\([^" ]*\).*/\1/p' "$ROW_CACHE/kernel.env")
		kver=${kver%%-*}
	fi
	if [ -n "$kver" ]; then
		v=$(apt-cache madison "$SRC_PKG" 2>/dev/null | awk -F' *[|] *' -v u="$kver" \
			'index($2, u "-") == 1 { print $2; exit }')
		if [ -n "$v" ]; then
			printf '%s\n' "$v"
			return
		fi
		log "$SRC_PKG: no version $kver-* in apt's lists (the $ROW row's kernel); using the candidate"
	fi
	v=$(apt-cache policy "$SRC_PKG" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		die "apt knows no $SRC_PKG (apt-get update?)"
	fi
	printf '%s\n' "$v"
}

# pristine TARGET: sets SRC (the git tree of the target's pristine
# source) and BASE (its commit), extracting and committing it first if
# this is the first use.
pristine() {
	target_vars "$1"
	local ver
	ver=$(src_version)
	SRC=$UP_CACHE/${SRC_PKG}_$ver
	SRC_VERSION=$ver
	mkdir -p "$UP_CACHE"
	exec 7>"$SRC.lock"
	flock 7
	if [ -f "$SRC/.git/cleardf-pristine" ]; then
		BASE=$(cat "$SRC/.git/cleardf-pristine")
		return
	fi
	local t0 deb tarball
	t0=$(now_s)
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$UP_CACHE/debs" "$SRC.tmp"
	deb=$(ls "$UP_CACHE/debs/${SRC_PKG}_${ver}_all.deb" 2>/dev/null || true)
	if [ -z "$deb" ]; then
		log "$SRC_PKG $ver: downloading"
		(cd "$UP_CACHE/debs" && apt-get download -q -o Acquire::Check-Valid-Until=false \
			"$SRC_PKG=$ver" >/dev/null 2>&1) || die "apt-get download $SRC_PKG=$ver failed"
		deb=$UP_CACHE/debs/${SRC_PKG}_${ver}_all.deb
	fi
	log "$SRC_PKG $ver: extracting into $SRC"
	tarball=./usr/src/$SRC_PKG.tar.xz
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$tarball" |
		xz -dc -T0 | tar -xf - -C "$SRC.tmp" --strip-components=1
	[ -f "$SRC.tmp/Makefile" ] || die "$deb: no kernel tree in $tarball"
	# Debian's .gitignore ignores the top level ("/*"): add with -f.
	git -C "$SRC.tmp" init -q
	git -C "$SRC.tmp" add -A -f
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git -C "$SRC.tmp" -c user.name="$SRC_PKG" -c user.email=pristine@localhost \
		commit -q -m "$SRC_PKG $ver, pristine"
	git -C "$SRC.tmp" rev-parse HEAD >"$SRC.tmp/.git/cleardf-pristine"
	mv "$SRC.tmp" "$SRC"
	BASE=$(cat "$SRC/.git/cleardf-pristine")
	log "$SRC_PKG $ver: pristine tree committed in $(elapsed "$t0") s"
}

# selftest_dir: where the target keeps its netfilter selftests (6.12 has
# tools/testing/selftests/net/netfilter/, 6.1 tools/testing/selftests/netfilter/).
selftest_dir() {
	local d
	for d in tools/testing/selftests/net/netfilter tools/testing/selftests/netfilter; do
		if git -C "$SRC" cat-file -e "$BASE:$d/Makefile" 2>/dev/null; then
			printf '%s\n' "$d"
			return
		fi
	done
	die "$SRC: no netfilter selftest directory"
}

# resolve_header < include/linux/netfilter/xt_CLEARDF.h: the header as the
# kernel's uapi and iptables' include/ keep it: it names the files that
# share it by their paths there.
resolve_header() {
	sed -e 's|(kernel/xt_CLEARDF\.c)|(net/netfilter/xt_CLEARDF.c)|' \
	    -e 's|(userspace-ext/libxt_CLEARDF\.c)|(extensions/libxt_CLEARDF.c)|'
}
