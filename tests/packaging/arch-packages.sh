#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# arch-packages.sh [--no-dkms] [ARCH...]
#
# The Debian packages on the other architectures' rows (default: arm64
# armhf mips64el s390x; the rows of tests/harness), as root:
#   1. iptables-cleardf for ARCH, cross-built the way Debian cross-builds:
#      `dpkg-buildpackage -aARCH -B` in an amd64 bookworm builder root that
#      has ARCH as a dpkg foreign architecture, the cross compilers and
#      libxtables-dev:ARCH (cached: CACHE/crossbuild/chroot); cleardf-dkms
#      (Architecture: all) once with `-A`. Checked: the .deb's Architecture,
#      its libxtables12 dependency (dpkg-shlibdeps), the ELF machine and byte
#      order of the .so inside.
#   2. a root of ARCH with what a router building the module needs (CACHE/
#      <row>/pkgroot: mmdebstrap --variant=essential --arch=ARCH, through
#      qemu-user, plus iptables, dkms, gcc, make and the row's
#      linux-headers-ABI): a separate root, so none of it reaches the guest's
#      initramfs (the row's chroot stays the guest's userspace only).
#   3. in a throwaway overlay of that root: `dpkg -i` of the
#      iptables-cleardf .deb (dpkg runs under qemu-user), its files, then the
#      root's own iptables-legacy finding the extension: `-j CLEARDF --help`
#      prints its options (`--modprobe=/bin/false`: no module is ever asked
#      of the host's kernel; the help is printed before any table is opened).
#   4. the cleardf-dkms .deb installed in that root, and DKMS building
#      xt_CLEARDF.ko there with the root's gcc against the root's headers
#      (tests/packaging/dkms-build-in-root.sh); the .ko's ELF machine and
#      vermagic checked.
# Each step's time is printed, and a table at the end (build/arch-debs/
# summary-ARCHS.txt). Outputs: build/arch-debs/*.deb, build/dkms-<row>-pkgroot/.
#
# Exit 0 when every step passed on every ARCH, 1 otherwise.
set -euo pipefail

HARNESS_NAME="arch-packages"
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/../harness/common.sh"

dkms=1
archs=()
for a in "$@"; do
	case $a in
	--no-dkms) dkms=0 ;;
	-h | --help) sed -n '3,34p' "$0"; exit 0 ;;
	-*) die "usage: $0 [--no-dkms] [ARCH...]" ;;
	*) archs+=("$a") ;;
	esac
done
[ ${#archs[@]} -gt 0 ] || archs=(arm64 armhf mips64el s390x)
[ "$(id -u)" = 0 ] || die "needs root (chroots, mounts)"

OUT=$TREE/build/arch-debs
mkdir -p "$OUT"
URI=$(archive_uri)
SUITE=bookworm
ALL_ARCHS="arm64 armhf mips64el s390x"
BUILDER=$CACHE_ROOT/crossbuild/chroot
VERSION=$(tr -d ' \t\n' <"$TREE/VERSION")
results=()
failed=0
step_t0=0
begin() { step_t0=$(now_s); log "$*"; }
took() { elapsed "$step_t0"; }

# ---------------------------------------------------------------- builder

# The amd64 builder: dpkg-dev, debhelper, dh-dkms, build-essential and
# libxtables-dev (cleardf-dkms, -A), and for every foreign architecture
# what `dpkg-buildpackage -aARCH` checks and uses: gcc-TRIPLET,
# libc6-dev:ARCH, libxtables-dev:ARCH, pkgconf:ARCH (TRIPLET-pkg-config).
# Not crossbuild-essential-ARCH: its g++ doubles the root (1.3 GB).
builder_pkgs() {
	local a pkgs="dpkg-dev debhelper dh-dkms build-essential libxtables-dev pkgconf file"
	for a in $ALL_ARCHS; do
		resolve_row "$a"
		pkgs="$pkgs gcc-${CROSS%-} libc6-dev:$a libxtables-dev:$a pkgconf:$a"
	done
	echo "$pkgs"
}
make_builder() {
	local key new pkgs t0
	pkgs=$(builder_pkgs)
	key="builder=2 suite=$SUITE uri=$URI archs=$ALL_ARCHS pkgs=$pkgs"
	if [ -f "$BUILDER/../stamp" ] && [ "$(cat "$BUILDER/../stamp")" = "$key" ]; then
		return 0
	fi
	t0=$(now_s)
	rm -f "$BUILDER/../stamp"
	if [ -x "$BUILDER/usr/bin/apt-get" ]; then
		# an older list: install what is new (native apt)
		log "crossbuild root: apt-get install into the cached root"
		# shellcheck disable=SC2086 # a list of words
		in_chroot "$BUILDER" sh -c "apt-get -q -o Acquire::Check-Valid-Until=false update &&
			apt-get -q -y --no-install-recommends -o Acquire::Check-Valid-Until=false install $pkgs" >"$BUILDER.log" 2>&1 ||
			{ tail -n 30 "$BUILDER.log" >&2; die "apt-get install in the crossbuild root failed (log: $BUILDER.log)"; }
	else
		new=$BUILDER.new
		safe_rm "$new"
		log "crossbuild root: mmdebstrap amd64 + $ALL_ARCHS (native apt)"
		PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
			mmdebstrap --variant=minbase --mode=root --architectures="amd64,${ALL_ARCHS// /,}" \
			--aptopt='Acquire::Check-Valid-Until "false"' \
			--aptopt='APT::Install-Recommends "false"' \
			--aptopt='Acquire::Languages "none"' \
			--dpkgopt='force-unsafe-io' \
			--include="${pkgs// /,}" \
			"$SUITE" "$new" "deb $URI $SUITE main" >"$BUILDER.log" 2>&1 ||
			{ tail -n 30 "$BUILDER.log" >&2; die "mmdebstrap of the crossbuild root failed (log: $BUILDER.log)"; }
		mv "$new" "$BUILDER"
	fi
	echo "$key" >"$BUILDER/../stamp"
	log "crossbuild root: made in $(elapsed "$t0") s"
}

# build_debs ARCH: iptables-cleardf_*_ARCH.deb into OUT (and, the first
# time, cleardf-dkms_*_all.deb).
build_debs() {
	local arch=$1 src=/build/src opts
	copy_tree "$BUILDER$src"
	if [ "$arch" = all ]; then
		opts=(-A)
	else
		opts=(-a"$arch" -B)
	fi
	rm -f "$BUILDER"/build/*.deb "$BUILDER"/build/*.changes "$BUILDER"/build/*.buildinfo
	if ! in_chroot "$BUILDER" sh -c "cd $src && dpkg-buildpackage -us -uc ${opts[*]}" >"$OUT/build-$arch.log" 2>&1; then
		tail -n 30 "$OUT/build-$arch.log" >&2
		return 1
	fi
	cp "$BUILDER"/build/*.deb "$OUT/"
	rm -rf "${BUILDER:?}/build"
}

# ---------------------------------------------------------------- checks

# elf_of FILE: "machine, byte order" from readelf -h.
elf_of() {
	readelf -h "$1" | awk -F: '
		/Machine:/ { gsub(/^[ \t]+/, "", $2); m = $2 }
		/Data:/ { gsub(/^[ \t]+/, "", $2); d = ($2 ~ /big/) ? "big" : "little" }
		/Class:/ { gsub(/^[ \t]+/, "", $2); c = $2 }
		END { print m ", " c ", " d "-endian" }'
}

# check_deb ARCH DEB: the package is for ARCH and its .so is ARCH's code.
check_deb() {
	local arch=$1 deb=$2 tmp got so
	got=$(dpkg-deb -f "$deb" Architecture)
	[ "$got" = "$arch" ] || { log "$deb: Architecture $got, expected $arch"; return 1; }
	dpkg-deb -f "$deb" Depends | grep -q 'libxtables12' ||
		{ log "$deb: Depends has no libxtables12: $(dpkg-deb -f "$deb" Depends)"; return 1; }
	tmp=$(mktemp -d)
	dpkg-deb -x "$deb" "$tmp"
	so=$(find "$tmp" -name libxt_CLEARDF.so | head -n 1)
	[ -n "$so" ] || { log "$deb: no libxt_CLEARDF.so"; rm -rf "$tmp"; return 1; }
	log "$arch: ${so#"$tmp"}: $(elf_of "$so"); Depends: $(dpkg-deb -f "$deb" Depends)"
	case "$arch:$(elf_of "$so")" in
	arm64:AArch64*ELF64*little* | armhf:ARM*ELF32*little* | \
		mips64el:*MIPS*ELF64*little* | s390x:*S/390*ELF64*big*) ;;
	*) log "$deb: the .so is $(elf_of "$so"), not $arch code"; rm -rf "$tmp"; return 1 ;;
	esac
	rm -rf "$tmp"
}

# ---------------------------------------------------------------- pkgroot

# make_pkgroot: CACHE/<row>/pkgroot, ARCH's own dpkg and apt (through
# qemu-user) with iptables, dkms, gcc, make and linux-headers-ABI.
make_pkgroot() {
	local key new t0
	key="pkgroot=1 arch=$DEB_ARCH suite=$USER_SUITE abi=$ABI uri=$URI"
	PKGROOT=$ROW_CACHE/pkgroot
	if [ -f "$ROW_CACHE/pkgroot.stamp" ] && [ "$(cat "$ROW_CACHE/pkgroot.stamp")" = "$key" ]; then
		echo cached >"$ROW_CACHE/pkgroot.time"
		return 0
	fi
	t0=$(now_s)
	new=$PKGROOT.new
	safe_rm "$new"
	rm -f "$ROW_CACHE/pkgroot.stamp"
	log "$ROW: pkgroot: mmdebstrap --variant=essential --arch=$DEB_ARCH + iptables dkms gcc make linux-headers-$ABI (qemu-user)"
	PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
		mmdebstrap --variant=essential --mode=root --arch="$DEB_ARCH" \
		--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--aptopt='APT::Install-Recommends "false"' \
		--aptopt='APT::Sandbox::User "root"' \
		--aptopt='Acquire::Languages "none"' \
		--dpkgopt='force-unsafe-io' \
		--include="apt,iptables,dkms,gcc,make,linux-headers-$ABI" \
		"$USER_SUITE" "$new" "deb $URI $USER_SUITE main" >"$ROW_CACHE/pkgroot.log" 2>&1 ||
		{ tail -n 30 "$ROW_CACHE/pkgroot.log" >&2; log "$ROW: mmdebstrap of the pkgroot failed (log: $ROW_CACHE/pkgroot.log)"; return 1; }
	safe_rm "$PKGROOT"
	mv "$new" "$PKGROOT"
	echo "$key" >"$ROW_CACHE/pkgroot.stamp"
	elapsed "$t0" >"$ROW_CACHE/pkgroot.time"
}

# ext_in_root DEB: in an overlay of PKGROOT (private mount namespace),
# dpkg -i DEB, list its files, and let the root's iptables-legacy
# print the extension's help. Prints what it saw; exit status of the check.
ext_in_root() {
	local deb=$1 work rc=0
	# mount would load overlay.ko into the host's kernel: never do that
	grep -qw overlay /proc/filesystems ||
		die "the host's kernel has no overlay file system loaded (this script loads no module)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-ext-$ROW.XXXXXX")
	mkdir -p "$work/root" "$work/upper" "$work/ovl"
	cp "$deb" "$work/iptables-cleardf.deb"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -c '
		set -eu
		lower=$1 work=$2 r=$2/root
		mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/upper,workdir=$work/ovl" "$r"
		mount -t proc proc "$r/proc"
		mount -t tmpfs tmpfs "$r/tmp"
		cp "$work/iptables-cleardf.deb" "$r/tmp/"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			LC_ALL=C DEBIAN_FRONTEND=noninteractive /bin/sh -c "
			set -e
			dpkg -i /tmp/iptables-cleardf.deb
			echo \"== dpkg -L iptables-cleardf:\"
			dpkg -L iptables-cleardf | grep -E \"xtables|man8\"
			echo \"== iptables-legacy -j CLEARDF --help:\"
			iptables-legacy --modprobe=/bin/false -j CLEARDF --help
		"
	' ext_in_root "$PKGROOT" "$work" >"$OUT/ext-$ROW.log" 2>&1 || rc=$?
	rm -rf "$work"
	if [ $rc = 0 ] && grep -q '^CLEARDF target options' "$OUT/ext-$ROW.log" &&
		grep -q "/usr/lib/$TRIPLET/xtables/libxt_CLEARDF.so" "$OUT/ext-$ROW.log"; then
		return 0
	fi
	tail -n 30 "$OUT/ext-$ROW.log" >&2
	return 1
}

# ---------------------------------------------------------------- main

t_all=$(now_s)
with_lock "$CACHE_ROOT/crossbuild/lock" make_builder
# cleardf-dkms (Architecture: all): built again unless the one in OUT is
# newer than everything that goes into it.
dkms_deb=$(find "$OUT" -maxdepth 1 -name "cleardf-dkms_$VERSION-*_all.deb" | sort | tail -n 1)
if [ -z "$dkms_deb" ] || [ -n "$(cd "$TREE" && find VERSION dkms.conf Kbuild kernel include debian packaging Makefile \
	-newer "$dkms_deb" -print -quit)" ]; then
	begin "cleardf-dkms (all)"
	with_lock "$CACHE_ROOT/crossbuild/lock" build_debs all || die "dpkg-buildpackage -A failed (log: $OUT/build-all.log)"
	dkms_deb=$(ls "$OUT"/cleardf-dkms_"$VERSION"-*_all.deb)
	log "cleardf-dkms: $(basename "$dkms_deb") in $(took) s"
fi

for arch in "${archs[@]}"; do
	resolve_row "$arch"
	"$HARNESS_DIR/prepare.sh" "$ROW" >&2 || { failed=1; results+=("$ROW prepare FAILED"); continue; }
	load_kernel_env
	t_deb=- t_root=- t_ext=- t_dkms=- verdict=ok

	begin "$ROW: dpkg-buildpackage -a$DEB_ARCH -B"
	if with_lock "$CACHE_ROOT/crossbuild/lock" build_debs "$DEB_ARCH"; then
		t_deb=$(took)
		deb=$(ls "$OUT"/iptables-cleardf_"$VERSION"-*_"$DEB_ARCH".deb)
		check_deb "$DEB_ARCH" "$deb" || verdict=FAILED
	else
		t_deb=$(took) verdict=FAILED
		log "$ROW: dpkg-buildpackage -a$DEB_ARCH failed (log: $OUT/build-$DEB_ARCH.log)"
	fi

	if [ "$verdict" = ok ]; then
		begin "$ROW: pkgroot"
		if with_lock "$ROW_CACHE/lock" make_pkgroot; then
			t_root=$(cat "$ROW_CACHE/pkgroot.time")
			PKGROOT=$ROW_CACHE/pkgroot
		else
			t_root=$(took) verdict=FAILED
		fi
	fi
	if [ "$verdict" = ok ]; then
		begin "$ROW: dpkg -i iptables-cleardf in the $DEB_ARCH root, iptables -j CLEARDF --help"
		if ext_in_root "$deb"; then
			t_ext=$(took)
			log "$ROW: the $DEB_ARCH iptables-legacy loads the extension ($t_ext s; log: $OUT/ext-$ROW.log)"
		else
			t_ext=$(took) verdict=FAILED
		fi
	fi
	if [ "$verdict" = ok ] && [ $dkms = 1 ]; then
		begin "$ROW: cleardf-dkms in the $DEB_ARCH root: dkms build"
		dout=$TREE/build/dkms-$ROW-pkgroot
		if "$TREE/tests/packaging/dkms-build-in-root.sh" --deb "$dkms_deb" --out "$dout" "$PKGROOT" >&2; then
			t_dkms=$(took)
			ko=$(find "$dout/$ABI" -name 'xt_CLEARDF.ko*' | head -n 1)
			log "$ROW: $ko: $(elf_of "$ko"); vermagic $(modinfo -F vermagic "$ko")"
			modinfo -F vermagic "$ko" | grep -q "^$ABI " || verdict=FAILED
		else
			t_dkms=$(took) verdict=FAILED
		fi
	fi
	[ "$verdict" = ok ] || failed=1
	results+=("$(printf '%-9s %-6s %8s %8s %8s %8s  %s' "$ROW" "$WORD_BITS/$BYTE_ORDER" \
		"$t_deb" "$t_root" "$t_ext" "$t_dkms" "$verdict")")
done

{
	printf '%-9s %-6s %8s %8s %8s %8s  %s\n' row arch deb-s pkgroot-s ext-s dkms-s result
	printf '%s\n' "${results[@]}"
	echo "total $(elapsed "$t_all") s"
} | tee "$OUT/summary-$(IFS=-; echo "${archs[*]}").txt"
exit $failed
