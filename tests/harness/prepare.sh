#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# prepare.sh ROW [--refresh]
#
# Creates (once) and caches everything a matrix row needs, under
# ${XDG_CACHE_HOME:-$HOME/.cache}/cleardf/<row>/:
#   chroot/      mmdebstrap of the row's userspace suite: the build tools,
#                the kernel headers (installed with apt, so /usr/src paths
#                are right) and the guest's userspace
#   kernel/      the kernel image package(s), unpacked with dpkg-deb -x
#                (not installed: no initramfs hooks run)
#   kernel.env   what the other scripts need to know (ABI, paths, xtlibdir)
# Guarded by flock; a second run only checks the stamp and returns.
set -euo pipefail
HARNESS_NAME=prepare
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

usage() { echo "usage: $0 ROW [--refresh]" >&2; exit 2; }

refresh=0
row_arg=""
for a in "$@"; do
	case "$a" in
	--refresh) refresh=1 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [ -z "$row_arg" ] || usage; row_arg=$a ;;
	esac
done
resolve_row "$row_arg"

# What the chroot holds. The headers come later, once the ABI is known.
# perl: W=1 runs scripts/kernel-doc, which needs more than perl-base (6.12+)
BUILD_PKGS="gcc make libc6-dev pkg-config libxtables-dev dwarves perl"
GUEST_PKGS="bash iproute2 iptables nftables iputils-ping tcpdump kmod procps
coreutils util-linux netcat-openbsd ethtool"

URI=$(archive_uri)
# The stamp: what the chroot was made from (a change means a new chroot),
# then the package list (a change means installing into the chroot).
BASE_KEY="recipe=$PREP_RECIPE user=$USER_SUITE kernel=$KERNEL_SUITE uri=$URI"
PKGS=$(echo "$BUILD_PKGS $GUEST_PKGS" | tr -s ' \n' '  ')
STAMP_KEY="$BASE_KEY pkgs=$PKGS image=placeholder"
PLACEHOLDER=cleardf-kernel-image-placeholder

# query in the chroot: the newest ABI of KERNEL_SUITE from its metapackage.
resolve_abi() {
	local dir=$1 dep
	dep=$(in_chroot "$dir" apt-cache -o APT::Default-Release="$KERNEL_SUITE" \
		depends linux-headers-amd64 |
		awk '$1 ~ /Depends:$/ && $2 ~ /^linux-headers-.*-amd64$/ { print $2; exit }')
	[ -n "$dep" ] || die "cannot resolve linux-headers-amd64 in $KERNEL_SUITE"
	dep=${dep#linux-headers-}
	printf '%s\n' "$dep"
}

pkg_exists() {
	local dir=$1 pkg=$2
	in_chroot "$dir" apt-cache -o APT::Default-Release="$KERNEL_SUITE" \
		show "$pkg" >/dev/null 2>&1
}

# ensure_placeholder DIR ABI: trixie's linux-headers-ABI-amd64 depends on
# the image (= version). Satisfy that with an empty package that provides
# it, so that apt never installs a kernel (and initramfs-tools, systemd,
# udev) into the chroot; remove one that an older recipe installed.
ensure_placeholder() {
	local dir=$1 abi=$2 ver tmp
	# shellcheck disable=SC2016 # a dpkg-query format, not shell
	if ! in_chroot "$dir" dpkg-query -W -f='${Status}' "$PLACEHOLDER" 2>/dev/null |
		grep -q 'install ok installed'; then
		ver=$(in_chroot "$dir" apt-cache -o APT::Default-Release="$KERNEL_SUITE" \
			show "linux-headers-$abi" | sed -n 's/^Version: //p' | head -n 1)
		[ -n "$ver" ] || die "no version for linux-headers-$abi"
		tmp=$(mktemp -d)
		mkdir -p "$tmp/pkg/DEBIAN"
		cat >"$tmp/pkg/DEBIAN/control" <<-EOF
			Package: $PLACEHOLDER
			Version: 1.0
			Architecture: all
			Maintainer: cleardf tests <tests@cleardf.invalid>
			Provides: linux-image-$abi (= $ver)
			Description: stands for the kernel image in the cleardf build chroot
			 The image is unpacked outside the chroot (tests/harness/prepare.sh).
		EOF
		dpkg-deb --root-owner-group --build "$tmp/pkg" "$dir/var/cache/$PLACEHOLDER.deb" >/dev/null
		rm -rf "$tmp"
		in_chroot "$dir" dpkg -i "/var/cache/$PLACEHOLDER.deb" >>"$ROW_CACHE/mmdebstrap.log" 2>&1 ||
			die "installing $PLACEHOLDER failed"
		rm -f "$dir/var/cache/$PLACEHOLDER.deb"
	fi
	# shellcheck disable=SC2016 # a dpkg-query format, not shell
	if in_chroot "$dir" dpkg-query -W -f='${Status}' "linux-image-$abi" "linux-image-$abi-unsigned" 2>/dev/null |
		grep -q 'install ok installed'; then
		log "$ROW: removing the kernel image an older recipe installed into the chroot"
		in_chroot "$dir" apt-get purge -y -q "linux-image-$abi" "linux-image-$abi-unsigned" >>"$ROW_CACHE/mmdebstrap.log" 2>&1 || true
		in_chroot "$dir" apt-get autoremove --purge -y -q >>"$ROW_CACHE/mmdebstrap.log" 2>&1 || true
	fi
}

# install_headers DIR ABI: the ABI's headers, from KERNEL_SUITE, into the
# chroot DIR, with the placeholder standing for the image they depend on.
install_headers() {
	local dir=$1 abi=$2
	ensure_placeholder "$dir" "$abi"
	in_chroot "$dir" apt-get install -y -q -o APT::Default-Release="$KERNEL_SUITE" \
		"linux-headers-$abi" >>"$ROW_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$ROW_CACHE/mmdebstrap.log" >&2; die "installing linux-headers-$abi failed"; }
}

do_prepare() {
	if [ "$refresh" = 0 ] && [ -f "$ROW_CACHE/stamp" ] && [ -f "$ROW_CACHE/kernel.env" ] && [ -d "$CHROOT" ]; then
		local old
		old=$(cat "$ROW_CACHE/stamp")
		if [ "$old" = "$STAMP_KEY" ]; then
			log "$ROW: cached in $ROW_CACHE"
			return 0
		fi
		if [ "${old%% pkgs=*}" = "$BASE_KEY" ]; then
			log "$ROW: the package list changed: installing into the cached chroot"
			# shellcheck disable=SC2086 # a list of names
			in_chroot "$CHROOT" apt-get install -y -q $PKGS >>"$ROW_CACHE/mmdebstrap.log" 2>&1 ||
				{ tail -n 30 "$ROW_CACHE/mmdebstrap.log" >&2; die "apt-get install into $CHROOT failed"; }
			local abi
			# shellcheck source=/dev/null
			abi=$(. "$ROW_CACHE/kernel.env" && echo "$ABI")
			install_headers "$CHROOT" "$abi"
			in_chroot "$CHROOT" apt-get clean >/dev/null
			printf '%s\n' "$STAMP_KEY" >"$ROW_CACHE/stamp"
			log "$ROW: cached in $ROW_CACHE (packages updated)"
			return 0
		fi
	fi
	local t0 new abi kpkgs="" p
	t0=$(now_s)
	new=$ROW_CACHE/chroot.new
	safe_rm "$new"
	rm -rf "$ROW_CACHE/kernel.new"
	rm -f "$ROW_CACHE/stamp"

	local -a mirrors=("deb $URI $USER_SUITE main")
	if [ "$KERNEL_SUITE" != "$USER_SUITE" ]; then
		mirrors+=("deb $URI $KERNEL_SUITE main")
	fi
	log "$ROW: mmdebstrap $USER_SUITE (kernel from $KERNEL_SUITE) from $URI"
	mmdebstrap --variant=minbase --mode=root \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--aptopt='APT::Install-Recommends "false"' \
		--aptopt='APT::Sandbox::User "root"' \
		--skip=cleanup/apt/lists \
		--dpkgopt='force-unsafe-io' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--include="$(echo "$BUILD_PKGS $GUEST_PKGS" | tr -s ' \n' ',,' | sed 's/,$//')" \
		"$USER_SUITE" "$new" "${mirrors[@]}" >"$ROW_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$ROW_CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $ROW_CACHE/mmdebstrap.log)"; }

	abi=$(resolve_abi "$new")
	log "$ROW: kernel ABI $abi; installing its headers"
	install_headers "$new" "$abi"

	# The image: -unsigned where it exists (bullseye..trixie), the split
	# linux-binary + linux-modules packages where they exist (newer sid),
	# the signed package as the last resort.
	if pkg_exists "$new" "linux-image-$abi-unsigned"; then
		kpkgs="linux-image-$abi-unsigned"
	elif pkg_exists "$new" "linux-binary-$abi" && pkg_exists "$new" "linux-modules-$abi"; then
		kpkgs="linux-binary-$abi linux-modules-$abi"
	elif pkg_exists "$new" "linux-image-$abi"; then
		kpkgs="linux-image-$abi"
	else
		die "no kernel image package for ABI $abi in $KERNEL_SUITE"
	fi
	log "$ROW: downloading $kpkgs"
	mkdir -p "$new/var/cache/cleardf-kernel"
	rm -f "$new"/var/cache/cleardf-kernel/*.deb
	# shellcheck disable=SC2086,SC2016 # word splitting wanted; inner shell expands
	in_chroot "$new" sh -c 'cd /var/cache/cleardf-kernel && apt-get download -q -o APT::Default-Release="$0" "$@"' \
		"$KERNEL_SUITE" $kpkgs >>"$ROW_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$ROW_CACHE/mmdebstrap.log" >&2; die "apt-get download $kpkgs failed"; }

	local kroot=$ROW_CACHE/kernel.new kver=""
	mkdir -p "$kroot"
	for p in "$new"/var/cache/cleardf-kernel/*.deb; do
		dpkg-deb -x "$p" "$kroot"
		kver="$kver $(dpkg-deb -f "$p" Package)=$(dpkg-deb -f "$p" Version)"
	done
	rm -rf "$new/var/cache/cleardf-kernel"

	local vmlinuz="" kmod=""
	for p in "$kroot/boot/vmlinuz-$abi" "$kroot/usr/lib/modules/$abi/vmlinuz" "$kroot/lib/modules/$abi/vmlinuz"; do
		if [ -f "$p" ]; then vmlinuz=${p#"$kroot"/}; break; fi
	done
	for p in "$kroot/lib/modules/$abi" "$kroot/usr/lib/modules/$abi"; do
		if [ -d "$p/kernel" ]; then kmod=${p#"$kroot"/}; break; fi
	done
	[ -n "$vmlinuz" ] || die "no vmlinuz in $kpkgs"
	[ -n "$kmod" ] || die "no modules directory in $kpkgs"

	# Where the guest keeps modules: /usr/lib/modules when /lib is a symlink
	# (merged /usr), so that cpio entries never replace the /lib symlink.
	local guest_mod=lib/modules
	[ -L "$new/lib" ] && guest_mod=usr/lib/modules
	local xtlibdir gccver headers
	xtlibdir=$(in_chroot "$new" pkg-config --variable=xtlibdir xtables)
	gccver=$(in_chroot "$new" gcc -dumpfullversion)
	headers=/usr/src/linux-headers-$abi
	[ -f "$new$headers/Makefile" ] || die "headers not at $headers in the chroot"
	in_chroot "$new" apt-get clean >/dev/null

	safe_rm "$CHROOT"
	rm -rf "$KERNEL_DIR"
	mv "$new" "$CHROOT"
	mv "$kroot" "$KERNEL_DIR"
	cat >"$ROW_CACHE/kernel.env" <<-EOF
		# written by tests/harness/prepare.sh; do not edit
		ROW=$ROW
		USER_SUITE=$USER_SUITE
		KERNEL_SUITE=$KERNEL_SUITE
		ABI=$abi
		KERNEL_PKGS="${kver# }"
		VMLINUZ=$KERNEL_DIR/$vmlinuz
		KMOD_DIR=$KERNEL_DIR/$kmod
		GUEST_MODDIR=/$guest_mod/$abi
		HEADERS=$headers
		XTLIBDIR=$xtlibdir
		CHROOT_GCC=$gccver
	EOF
	echo "$abi" >"$KERNEL_DIR/ABI"
	printf '%s\n' "$STAMP_KEY" >"$ROW_CACHE/stamp"
	log "$ROW: prepared in $(elapsed "$t0") s: ABI $abi, gcc $gccver, xtables in $xtlibdir"
}

# The debug row: the bookworm row's chroot (userspace, gcc 12) and a kernel
# built by debug-kernel.sh. kernel.env is rewritten only when it changes
# (boot.sh repacks the base initramfs when it does).
prepare_debug() {
	"$HARNESS_DIR/prepare.sh" bookworm
	local kdir rel ksrc env bw xtlib gccv moddir
	kdir=$("$HARNESS_DIR/debug-kernel.sh")
	rel=$(cat "$kdir/done")
	ksrc=$(readlink -f "$kdir/obj/source")  # kbuild's link to the source (O= build)
	bw=$CACHE_ROOT/bookworm
	# shellcheck source=/dev/null disable=SC2153 # set by kernel.env
	read -r xtlib gccv moddir < <(. "$bw/kernel.env" && echo "$XTLIBDIR $CHROOT_GCC $GUEST_MODDIR")
	env=$(cat <<-EOF
		# written by tests/harness/prepare.sh; do not edit
		ROW=$ROW
		USER_SUITE=$USER_SUITE
		KERNEL_SUITE=$KERNEL_SUITE
		ABI=$rel
		KERNEL_PKGS="linux-source-6.1=$(basename "$ksrc" | sed 's/^src-//') config=$(basename "$kdir" | sed 's/^kernel-//')"
		VMLINUZ=$kdir/bzImage
		KMOD_DIR=$kdir/root/lib/modules/$rel
		GUEST_MODDIR=${moddir%/*}/$rel
		HEADERS=$kdir/obj
		XTLIBDIR=$xtlib
		CHROOT_GCC=$gccv
		CHROOT_BINDS="$ksrc $kdir"
	EOF
	)
	mkdir -p "$ROW_CACHE"
	if [ "$(cat "$ROW_CACHE/kernel.env" 2>/dev/null)" != "$env" ]; then
		printf '%s\n' "$env" >"$ROW_CACHE/kernel.env"
	fi
	cat "$bw/stamp" >"$ROW_CACHE/stamp.new"
	cmp -s "$ROW_CACHE/stamp.new" "$ROW_CACHE/stamp" || mv "$ROW_CACHE/stamp.new" "$ROW_CACHE/stamp"
	rm -f "$ROW_CACHE/stamp.new"
	log "$ROW: kernel $rel in $kdir, userspace and chroot of the bookworm row"
}

mkdir -p "$ROW_CACHE"
if [ "$ROW" = debug ]; then
	[ "$refresh" = 0 ] || log "--refresh: the debug kernel is rebuilt when its key changes (tests/harness/debug-kernel.sh)"
	prepare_debug
	exit
fi
with_lock "$ROW_CACHE/lock" do_prepare; exit
