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
	mmdebstrap "${MMDEBSTRAP_OPTS[@]}" \
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

# ---------------------------------------------------------------- foreign

# A foreign row (arm64, armhf, mips64el, s390x): the root is the guest's
# userspace only (no compiler: build.sh cross-builds on the host), made by
# mmdebstrap --arch through qemu-user-static. The kernel image, its headers
# (+ -common) and the amd64 linux-kbuild of exactly the headers' version
# come from a private apt state on the host (ROW_CACHE/apt), unpacked with
# dpkg-deb -x into ROW_CACHE/kernel and ROW_CACHE/headers.
# The foreign root's packages: the guest's, mount (a minbase has it: it is
# Priority required, not Essential, and the guest's /init mounts), and
# libxtables-dev (build.sh builds the extension against it).
FOREIGN_PKGS=$(echo "$GUEST_PKGS mount libxtables-dev" | tr -s ' \n' '  ')
FOREIGN_STAMP_KEY="recipe=$PREP_RECIPE foreign=2 root=extract arch=$DEB_ARCH user=$USER_SUITE kernel=$KERNEL_SUITE uri=$URI pkgs=$FOREIGN_PKGS"

# fapt CMD ARGS...: apt-get/apt-cache with the row's private state, the
# kernel suite's main, amd64 + the row's architecture.
fapt() {
	local cmd=$1 d=$ROW_CACHE/apt
	shift
	"$cmd" -o Dir::State="$d/state" -o Dir::State::status="$d/status" \
		-o Dir::Cache="$d/cache" -o Dir::Etc::SourceList="$d/sources.list" \
		-o Dir::Etc::SourceParts="$d/empty" -o Dir::Etc::Preferences="$d/empty/none" \
		-o Dir::Etc::PreferencesParts="$d/empty" \
		-o APT::Architecture=amd64 -o APT::Architectures::=amd64 \
		-o APT::Architectures::="$DEB_ARCH" -o Acquire::Languages=none \
		-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root "$@"
}

fapt_setup() {
	local d=$ROW_CACHE/apt
	mkdir -p "$d/state/lists/partial" "$d/cache/archives/partial" "$d/empty"
	: >"$d/status"
	printf 'deb [arch=amd64,%s] %s %s main\n' "$DEB_ARCH" "$URI" "$KERNEL_SUITE" >"$d/sources.list"
	fapt apt-get update -q >>"$ROW_CACHE/prepare.log" 2>&1 ||
		{ tail -n 20 "$ROW_CACHE/prepare.log" >&2; die "apt-get update ($KERNEL_SUITE, amd64+$DEB_ARCH) failed"; }
}

# fapt_download DIR PKG...: the .debs into DIR.
fapt_download() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && fapt apt-get download -q "$@") >>"$ROW_CACHE/prepare.log" 2>&1 ||
		{ tail -n 20 "$ROW_CACHE/prepare.log" >&2; die "apt-get download $* failed"; }
}

fapt_version() {
	fapt apt-cache show "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# ensure_binfmt: mmdebstrap runs the root's maintainer scripts through
# qemu-user-static, which needs binfmt_misc. Mounted here only when the
# kernel already has that file system (built in or loaded): no module is
# ever loaded into the host's kernel from here.
ensure_binfmt() {
	local q
	case "$DEB_ARCH" in
	arm64) q=qemu-aarch64 ;;
	armhf) q=qemu-arm ;;
	*) q=qemu-$DEB_ARCH ;;
	esac
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		grep -qw binfmt_misc /proc/filesystems ||
			die "binfmt_misc is not available in this kernel (mmdebstrap --arch=$DEB_ARCH needs it)"
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
			die "cannot mount binfmt_misc"
	fi
	if [ ! -e "/proc/sys/fs/binfmt_misc/$q" ]; then
		command -v update-binfmts >/dev/null || die "no update-binfmts: install binfmt-support qemu-user-static (make deps)"
		update-binfmts --enable "$q" >>"$ROW_CACHE/prepare.log" 2>&1 ||
			die "update-binfmts --enable $q failed (install qemu-user-static: make deps)"
	fi
	arch-test "$DEB_ARCH" >/dev/null 2>&1 || die "arch-test $DEB_ARCH: this host cannot run $DEB_ARCH binaries (binfmt $q)"
}

# foreign_kernel KROOT HROOT: the kernel image unpacked in KROOT, its
# headers, their -common and the amd64 linux-kbuild of the same version in
# HROOT (native apt and dpkg-deb); abi, kver and t_apt to kernel.part.
foreign_kernel() {
	local kroot=$1 hroot=$2 t0 abi dep ver kpkg kbver kbuild p kver=""
	t0=$(now_s)
	fapt_setup
	dep=$(fapt apt-cache depends "linux-headers-$FLAVOUR:$DEB_ARCH" |
		awk -v f="$FLAVOUR" '$1 ~ /Depends:$/ && $2 ~ ("^linux-headers-.*-" f "(:.*)?$") { print $2; exit }')
	dep=${dep%%:*}
	[ -n "$dep" ] || die "cannot resolve linux-headers-$FLAVOUR:$DEB_ARCH in $KERNEL_SUITE"
	abi=${dep#linux-headers-}
	ver=$(fapt_version "linux-headers-$abi:$DEB_ARCH")
	# the headers' -common and linux-kbuild: the same source version
	kbver=$(echo "$abi" | sed -E 's/^([0-9]+\.[0-9]+)\..*/\1/')
	kbuild=linux-kbuild-$kbver
	[ "$(fapt_version "$kbuild:amd64")" = "$ver" ] ||
		die "$kbuild:amd64 in $KERNEL_SUITE is $(fapt_version "$kbuild:amd64"), the $DEB_ARCH headers are $ver"
	kpkg=linux-image-$abi-unsigned
	[ -n "$(fapt_version "$kpkg:$DEB_ARCH")" ] || kpkg=linux-image-$abi
	[ -n "$(fapt_version "$kpkg:$DEB_ARCH")" ] || die "no kernel image package for $abi ($DEB_ARCH)"
	local common=${abi%-"$FLAVOUR"}-common
	log "$ROW: kernel $abi ($ver): downloading $kpkg, linux-headers-$abi, linux-headers-$common, $kbuild:amd64"
	rm -rf "$ROW_CACHE/debs"
	fapt_download "$ROW_CACHE/debs" "$kpkg:$DEB_ARCH" "linux-headers-$abi:$DEB_ARCH" \
		"linux-headers-$common" "$kbuild:amd64"
	rm -rf "$kroot" "$hroot"
	mkdir -p "$kroot" "$hroot"
	for p in "$ROW_CACHE"/debs/*.deb; do
		case "$(dpkg-deb -f "$p" Package)" in
		linux-image-*)
			dpkg-deb -x "$p" "$kroot"
			kver="$(dpkg-deb -f "$p" Package)=$(dpkg-deb -f "$p" Version)" ;;
		*) dpkg-deb -x "$p" "$hroot" ;;
		esac
	done
	rm -rf "$ROW_CACHE/debs"
	# The headers include their -common by absolute path: point it here.
	sed -i "s|/usr/src/|$ROW_CACHE/headers/usr/src/|g" "$hroot/usr/src/linux-headers-$abi/Makefile"
	printf 'abi=%q kver=%q kpkg=%q t_apt=%q\n' "$abi" "$kver" "$kpkg" "$(elapsed "$t0")" >"$ROW_CACHE/kernel.part"
}

# foreign_root DIR: the guest's userspace for a foreign row, without
# running one emulated dpkg: the essential set and GUEST_PKGS (with their
# dependencies) are resolved and downloaded by the host's apt and unpacked by
# the host's dpkg-deb (mmdebstrap --variant=extract: native speed; a minbase
# through qemu-user took 200 s on an idle host and 20-40 min on a loaded
# one). Extracting runs no maintainer script, so what those scripts would
# have made and the guest uses is made here, natively, from files the
# packages ship: merged /usr (debootstrap's symlinks), /etc/passwd and
# /etc/group (base-passwd's masters, plus tcpdump's user as its postinst
# adds it), nsswitch.conf (libc-bin) and profile (base-files), the alternatives Debian
# selects by default (iptables and its siblings -> nft, nc -> nc.openbsd,
# awk -> mawk, which, pager) and the dynamic linker's cache (ldconfig, the
# one emulated command). The root has no dpkg database and no apt: it is
# never installed into (tests/packaging/arch-packages.sh makes its own
# root); the initramfs leaves both out anyway.
foreign_root() {
	local dir=$1 l
	# no --dpkgopt=path-exclude: that pipes every package through
	# mmtarfilter (python, a second each); docs are removed afterwards
	PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
		mmdebstrap --variant=extract --mode=root --arch="$DEB_ARCH" \
		--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--aptopt='APT::Install-Recommends "false"' \
		--aptopt='Acquire::Languages "none"' \
		--include='?essential' \
		--include="$(echo "$FOREIGN_PKGS" | tr -s ' ' ',' | sed 's/,$//')" \
		"$USER_SUITE" "$dir" "deb $URI $USER_SUITE main" >"$ROW_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$ROW_CACHE/mmdebstrap.log" >&2; die "mmdebstrap --arch=$DEB_ARCH failed (log: $ROW_CACHE/mmdebstrap.log)"; }
	[ -L "$dir/bin" ] || die "$DEB_ARCH root: /bin is not merged into /usr"
	rm -rf "$dir"/usr/share/doc "$dir"/usr/share/man "$dir"/usr/share/info \
		"$dir"/usr/share/locale "$dir"/usr/share/zoneinfo
	# base-passwd's postinst: the masters as /etc/passwd and /etc/group;
	# tcpdump's: its system user (tcpdump drops to it unless -Z)
	cp "$dir/usr/share/base-passwd/passwd.master" "$dir/etc/passwd"
	cp "$dir/usr/share/base-passwd/group.master" "$dir/etc/group"
	echo 'tcpdump:x:100:101::/nonexistent:/usr/sbin/nologin' >>"$dir/etc/passwd"
	echo 'tcpdump:x:101:' >>"$dir/etc/group"
	# libc-bin's and base-files' postinsts
	[ -e "$dir/etc/nsswitch.conf" ] || cp "$dir/usr/share/libc-bin/nsswitch.conf" "$dir/etc/"
	[ -e "$dir/etc/profile" ] || cp "$dir/usr/share/base-files/profile" "$dir/etc/"
	echo "127.0.0.1 localhost" >"$dir/etc/hosts"
	# update-alternatives as the postinsts run it: LINK TARGET, the
	# highest priority of each group (what Debian selects in auto mode)
	mkdir -p "$dir/etc/alternatives"
	while read -r l t; do
		[ -e "$dir$t" ] || [ -L "$dir$t" ] || die "$DEB_ARCH root: no $t for the alternative $l"
		ln -sfn "$t" "$dir/etc/alternatives/${l##*/}"
		ln -sfn "/etc/alternatives/${l##*/}" "$dir$l"
	done <<-EOF
		/usr/sbin/iptables /usr/sbin/iptables-nft
		/usr/sbin/iptables-save /usr/sbin/iptables-nft-save
		/usr/sbin/iptables-restore /usr/sbin/iptables-nft-restore
		/usr/sbin/ip6tables /usr/sbin/ip6tables-nft
		/usr/sbin/ip6tables-save /usr/sbin/ip6tables-nft-save
		/usr/sbin/ip6tables-restore /usr/sbin/ip6tables-nft-restore
		/usr/bin/nc /bin/nc.openbsd
		/usr/bin/netcat /bin/nc.openbsd
		/usr/bin/awk /usr/bin/mawk
		/usr/bin/nawk /usr/bin/mawk
		/usr/bin/which /usr/bin/which.debianutils
		/usr/bin/pager /bin/more
	EOF
	# libc-bin's trigger: the linker cache (through qemu-user)
	chroot "$dir" /sbin/ldconfig || die "$DEB_ARCH root: ldconfig failed"
}

do_prepare_foreign() {
	if [ "$refresh" = 0 ] && [ -f "$ROW_CACHE/stamp" ] && [ -f "$ROW_CACHE/kernel.env" ] && [ -d "$CHROOT" ] &&
		[ "$(cat "$ROW_CACHE/stamp")" = "$FOREIGN_STAMP_KEY" ]; then
		log "$ROW: cached in $ROW_CACHE"
		return 0
	fi
	local t0 t1 t_apt t_root new kroot hroot abi kver kpkg p kpid
	t0=$(now_s)
	command -v "${CROSS}gcc" >/dev/null || die "no ${CROSS}gcc: install gcc-${CROSS%-} (make deps)"
	command -v "${QEMU[0]}" >/dev/null || die "no ${QEMU[0]} (make deps)"
	rm -f "$ROW_CACHE/stamp"
	: >"$ROW_CACHE/prepare.log"
	ensure_binfmt

	# The kernel side and the root at once: both mostly wait for the
	# archive. The kernel side writes what it found to kernel.part.
	kroot=$ROW_CACHE/kernel.new hroot=$ROW_CACHE/headers.new
	rm -f "$ROW_CACHE/kernel.part"
	foreign_kernel "$kroot" "$hroot" &
	kpid=$!
	t1=$(now_s)
	new=$ROW_CACHE/chroot.new
	safe_rm "$new"
	log "$ROW: $DEB_ARCH root: mmdebstrap --variant=extract $USER_SUITE, then the maintainer scripts' effects the guest needs"
	foreign_root "$new" || { kill "$kpid" 2>/dev/null; wait "$kpid" || true; exit 1; }
	t_root=$(elapsed "$t1")
	wait "$kpid" || die "$ROW: the kernel side failed (log: $ROW_CACHE/prepare.log)"
	# shellcheck source=/dev/null
	. "$ROW_CACHE/kernel.part"
	rm -f "$ROW_CACHE/kernel.part"

	local vmlinuz="" kmod="" guest_mod=lib/modules
	for p in "$kroot/boot/vmlinuz-$abi" "$kroot/boot/vmlinux-$abi"; do
		if [ -f "$p" ]; then vmlinuz=${p#"$kroot"/}; break; fi
	done
	for p in "$kroot/lib/modules/$abi" "$kroot/usr/lib/modules/$abi"; do
		if [ -d "$p/kernel" ]; then kmod=${p#"$kroot"/}; break; fi
	done
	[ -n "$vmlinuz" ] || die "no vmlinuz/vmlinux in $kpkg"
	[ -n "$kmod" ] || die "no modules directory in $kpkg"
	[ -L "$new/lib" ] && guest_mod=usr/lib/modules
	[ -f "$new/usr/lib/$TRIPLET/libxtables.so" ] || die "no /usr/lib/$TRIPLET/libxtables.so in the $DEB_ARCH root"

	safe_rm "$CHROOT"
	rm -rf "$KERNEL_DIR" "$ROW_CACHE/headers"
	mv "$new" "$CHROOT"
	mv "$kroot" "$KERNEL_DIR"
	mv "$hroot" "$ROW_CACHE/headers"
	cat >"$ROW_CACHE/kernel.env" <<-EOF
		# written by tests/harness/prepare.sh; do not edit
		ROW=$ROW
		USER_SUITE=$USER_SUITE
		KERNEL_SUITE=$KERNEL_SUITE
		ABI=$abi
		KERNEL_PKGS="$kver"
		VMLINUZ=$KERNEL_DIR/$vmlinuz
		KMOD_DIR=$KERNEL_DIR/$kmod
		GUEST_MODDIR=/$guest_mod/$abi
		HEADERS=$ROW_CACHE/headers/usr/src/linux-headers-$abi
		XTLIBDIR=/usr/lib/$TRIPLET/xtables
		CHROOT_GCC=$("${CROSS}gcc" -dumpfullversion)
		PREP_TIMES="apt+kernel ${t_apt} s, root ${t_root} s"
	EOF
	echo "$abi" >"$KERNEL_DIR/ABI"
	printf '%s\n' "$FOREIGN_STAMP_KEY" >"$ROW_CACHE/stamp"
	log "$ROW: prepared in $(elapsed "$t0") s (kernel+headers download ${t_apt} s, mmdebstrap ${t_root} s): ABI $abi, ${CROSS}gcc"
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
if [ "$FOREIGN" = 1 ]; then
	with_lock "$ROW_CACHE/lock" do_prepare_foreign; exit
fi
with_lock "$ROW_CACHE/lock" do_prepare; exit
