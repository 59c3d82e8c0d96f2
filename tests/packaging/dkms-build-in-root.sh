#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# dkms-build-in-root.sh [--deb CLEARDF_DKMS_DEB] [--out DIR] [--keep] ROOT
#
# Runs the DKMS build of xt_CLEARDF inside ROOT, a Debian root directory
# (a matrix row's chroot, ~/.cache/cleardf/<row>/chroot) that has kernel
# headers installed (/lib/modules/<release>/build), with ROOT's own dkms,
# compiler and headers:
#   - installs dkms there with apt (from ROOT's own apt sources);
#   - with --deb: installs that cleardf-dkms .deb with apt, so its postinst
#     registers and builds the module as it would on a user's machine;
#     without: copies the source (make dkms-source) and runs dkms add;
#   - builds and installs the module with dkms for every kernel in ROOT
#     whose headers are installed (`dkms build/install -k <release>`);
#   - copies each xt_CLEARDF.ko to DIR/<release>/ (default:
#     build/dkms-<row>/) and prints its path, vermagic and version.
# ROOT itself is not changed: all of this happens in a throwaway overlay
# (overlayfs, if the running kernel already has it: it is never loaded
# here) or else in a copy, inside a private mount namespace. With --keep
# the overlay's upper directory (or the copy) is kept and its path printed.
# If ROOT/../lock exists (the harness's per-row lock), it is held meanwhile.
#
# Exit 0 when the module was built for every kernel with headers in ROOT
# that dkms.conf's range accepts (and at least one), 1 otherwise.
set -euo pipefail

TREE=$(cd "$(dirname "$0")/../.." && pwd)
deb="" out="" keep=0 root=""
usage() { echo "usage: $0 [--deb CLEARDF_DKMS_DEB] [--out DIR] [--keep] ROOT" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$(realpath "${2:?}"); shift ;;
	--out) out=${2:?}; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [ -z "$root" ] || usage; root=$1 ;;
	esac
	shift
done
[ -n "$root" ] || usage
root=$(realpath "$root")
say() { printf 'dkms-build-in-root: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (chroot, mounts)"
[ -x "$root/usr/bin/apt-get" ] || die "$root does not look like a Debian root (no usr/bin/apt-get)"
[ -z "$deb" ] || [ -f "$deb" ] || die "no such .deb: $deb"

name=$(basename "$root")
[ "$name" = chroot ] && name=$(basename "$(dirname "$root")")
[ -n "$out" ] || out=$TREE/build/dkms-$name
mkdir -p "$out"
out=$(realpath "$out")

work=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-dkms-$name.XXXXXX")
cleanup() {
	if [ "$keep" = 1 ]; then
		say "kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# The module's source, prepared on the host (check-version runs here).
if [ -z "$deb" ]; then
	make -s -C "$TREE" dkms-source DESTDIR="$work/src" >&2
fi
version=$(tr -d ' \t\n' <"$TREE/VERSION")
[ -z "$deb" ] || version=$(dpkg-deb -f "$deb" Version | sed 's/^[0-9]*://; s/-[^-]*$//')

# What runs inside ROOT (as /cleardf-inside.sh), given the version, "deb"
# or "src", and the output directory as seen inside.
cat >"$work/inside.sh" <<'INSIDE'
#!/bin/sh
set -eu
version=$1 mode=$2 out=$3
apt_opts="-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0"
export DEBIAN_FRONTEND=noninteractive
echo "== root: $(. /etc/os-release; echo "$PRETTY_NAME"), gcc $(gcc -dumpfullversion 2>/dev/null || echo none)"
if ! command -v dkms >/dev/null; then
	echo "== apt-get install dkms"
	apt-get $apt_opts update -qq
	apt-get $apt_opts install -y -qq --no-install-recommends dkms >/tmp/apt-dkms.log 2>&1 ||
		{ tail -n 30 /tmp/apt-dkms.log; exit 1; }
fi
echo "== dkms $(dkms --version 2>/dev/null | awk '{print $NF}')"
if [ "$mode" = deb ]; then
	echo "== apt-get install /cleardf-dkms.deb"
	apt-get $apt_opts install -y --no-install-recommends /cleardf-dkms.deb
else
	echo "== dkms add -m cleardf -v $version"
	dkms add -m cleardf -v "$version"
fi
kernels=""
for d in /lib/modules/*; do
	[ -e "$d/build/include" ] && kernels="$kernels ${d##*/}"
done
[ -n "$kernels" ] || { echo "no kernel headers in this root (/lib/modules/*/build)"; exit 1; }
rc=0 nbuilt=0
for k in $kernels; do
	if dkms status -m cleardf -v "$version" -k "$k" | grep -q ': installed'; then
		echo "== $k: already built and installed (by the postinst)"
	else
		echo "== dkms build -m cleardf -v $version -k $k"
		brc=0
		dkms build -m cleardf -v "$version" -k "$k" || brc=$?
		if [ $brc = 77 ]; then
			echo "== $k: outside dkms.conf's BUILD_EXCLUSIVE_KERNEL, skipped"
			continue
		elif [ $brc != 0 ]; then
			echo "== $k: dkms build FAILED ($brc); make.log:"
			cat /var/lib/dkms/cleardf/"$version"/"$k"/*/log/make.log 2>/dev/null | tail -n 40
			cat /var/lib/dkms/cleardf/"$version"/build/make.log 2>/dev/null | tail -n 40
			rc=1
			continue
		fi
		echo "== dkms install -m cleardf -v $version -k $k"
		dkms install -m cleardf -v "$version" -k "$k" || { rc=1; continue; }
	fi
	ko=$(find "/lib/modules/$k/" -path '*/updates/*' -name 'xt_CLEARDF.ko*' | head -n 1)
	if [ -z "$ko" ]; then
		echo "== $k: no xt_CLEARDF.ko under /lib/modules/$k/updates"
		rc=1
		continue
	fi
	mkdir -p "$out/$k"
	cp "$ko" "$out/$k/"
	nbuilt=$((nbuilt + 1))
	echo "== $k: $ko"
	echo "RESULT $k $ko $(modinfo -F vermagic "$ko" | awk '{print $1}') $(modinfo -F version "$ko")"
done
dkms status
[ $nbuilt -gt 0 ] || rc=1
exit $rc
INSIDE
chmod +x "$work/inside.sh"

# run_in_root: mount a writable view of ROOT at $work/root, run inside.sh.
run_in_root() {
	local method
	if grep -qw overlay /proc/filesystems; then
		method=overlay
	else
		method=copy
		say "overlayfs is not available in the running kernel (not loading it): copying $root"
		cp -a --reflink=auto "$root" "$work/copy"
	fi
	mkdir -p "$work/root" "$work/upper" "$work/ovl-work" "$work/out"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -c '
		set -eu
		root=$1 work=$2 method=$3 mode=$4 version=$5
		r=$work/root
		if [ "$method" = overlay ]; then
			mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovl-work" "$r"
		else
			mount --bind "$work/copy" "$r"
		fi
		mount -t proc proc "$r/proc"
		mount -t tmpfs tmpfs "$r/tmp"
		mkdir -p "$r/dev" "$r/cleardf-out"
		for d in null zero full random urandom tty; do
			[ -c "$r/dev/$d" ] || { touch "$r/dev/$d" && mount --bind "/dev/$d" "$r/dev/$d"; }
		done
		mount --bind "$work/out" "$r/cleardf-out"
		# apt inside needs to resolve the archive: use this machine'"'"'s resolver
		# config if the root has none (only the overlay/copy sees it).
		if [ ! -s "$r/etc/resolv.conf" ] && [ -r /etc/resolv.conf ]; then
			rm -f "$r/etc/resolv.conf"
			cp /etc/resolv.conf "$r/etc/resolv.conf"
		fi
		cp "$work/inside.sh" "$r/cleardf-inside.sh"
		if [ "$mode" = deb ]; then
			cp "$work/cleardf-dkms.deb" "$r/cleardf-dkms.deb"
		else
			cp -a "$work/src/usr/src/." "$r/usr/src/"
		fi
		exec chroot "$r" /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 \
			/bin/sh /cleardf-inside.sh "$version" "$mode" /cleardf-out
	' run_in_root "$root" "$work" "$method" "$1" "$version"
}

mode=src
if [ -n "$deb" ]; then
	mode=deb
	cp "$deb" "$work/cleardf-dkms.deb"
fi
# The harness's per-row lock, so that prepare.sh does not replace ROOT
# under us.
lock=$(dirname "$root")/lock
rc=0
if [ "$(basename "$root")" = chroot ] && [ -f "$lock" ]; then
	exec 9>"$lock"
	flock -n 9 || { say "waiting for $lock"; flock 9; }
fi
say "building cleardf $version with DKMS inside $root ($mode)"
run_in_root "$mode" 2>&1 | tee "$out/dkms-build.log" || rc=${PIPESTATUS[0]}

results=$(sed -n 's/^RESULT //p' "$out/dkms-build.log")
rm -rf "${out:?}"/*/xt_CLEARDF.ko*
if [ -d "$work/out" ]; then
	cp -a "$work/out/." "$out/"
fi
if [ -z "$results" ]; then
	say "no module was built (log: $out/dkms-build.log)"
	exit 1
fi
while read -r k ko vermagic v; do
	[ "$vermagic" = "$k" ] || { say "$k: vermagic says $vermagic"; rc=1; }
	[ "$v" = "$version" ] || { say "$k: module version $v, expected $version"; rc=1; }
	echo "$k: $out/$k/$(basename "$ko") (installed in the root at $ko; vermagic $vermagic; version $v)"
done <<<"$results"
exit "$rc"
