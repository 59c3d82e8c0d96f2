#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/router/image.sh [--refresh]
#
# The router's system, once, cached in ${XDG_CACHE_HOME:-~/.cache}/cleardf/router/:
#   rootfs/           a Debian 12 (bookworm) root with systemd as PID 1, the
#                     bookworm kernel (linux-image-amd64) and its headers,
#                     dkms and a compiler, iptables, iptables-persistent,
#                     tcpdump: what a small Debian router runs, without
#                     cleardf (run.sh installs the packages of the tree under
#                     test into a copy of it, then makes the disk)
#   kernel-upgrade/   the kernel upgrade of step 3, downloaded here because
#                     the guest has no network: bookworm-backports'
#                     linux-image-amd64 and linux-headers-amd64 (6.12) with
#                     every package they need that rootfs lacks
#   stamp             what they were made from
# The initramfs holds only the modules a virtio disk needs (MODULES=list):
# a small router's choice, and it keeps update-initramfs short in the guest.
# Guarded by a lock; a second run finds the stamp and returns.
set -euo pipefail
HARNESS_NAME=router-image
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/../harness/common.sh"

ROUTER_CACHE=$CACHE_ROOT/router
ROOTFS=$ROUTER_CACHE/rootfs
UPGRADE=$ROUTER_CACHE/kernel-upgrade
RECIPE=2
PKGS="systemd systemd-sysv udev dbus kmod procps iproute2 iputils-ping tcpdump
iptables iptables-persistent netfilter-persistent initramfs-tools zstd
linux-image-amd64 linux-headers-amd64 dkms gcc make libc6-dev openssl"

refresh=0
case ${1:-} in
--refresh) refresh=1 ;;
"") ;;
*) echo "usage: $0 [--refresh]" >&2; exit 2 ;;
esac

URI=$(archive_uri)
KEY="recipe=$RECIPE uri=$URI pkgs=$(echo "$PKGS" | tr -s ' \n' '  ')"

build_rootfs() {
	local new=$ROUTER_CACHE/rootfs.new upg=$ROUTER_CACHE/kernel-upgrade.new t0
	t0=$(now_s)
	safe_rm "$new"
	rm -rf "$upg"
	log "mmdebstrap bookworm (systemd, the 6.1 kernel and headers, dkms, iptables-persistent) from $URI"
	# iptables-persistent's postinst would run iptables-save in the chroot
	# (that is: against this machine's kernel) if autosave were on.
	# shellcheck disable=SC2016 # the hooks are expanded by mmdebstrap's shell
	mmdebstrap "${MMDEBSTRAP_OPTS[@]}" \
		--essential-hook='printf "%s\n" "iptables-persistent iptables-persistent/autosave_v4 boolean false" "iptables-persistent iptables-persistent/autosave_v6 boolean false" | chroot "$1" debconf-set-selections' \
		--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\n" >"$1/etc/initramfs-tools/conf.d/router.conf"' \
		--customize-hook='printf "%s\n" virtio_pci virtio_blk ext4 crc32c_generic >>"$1/etc/initramfs-tools/modules"' \
		--customize-hook='chroot "$1" update-initramfs -u -k all' \
		--include="$(echo "$PKGS" | tr -s ' \n' ',,' | sed 's/,$//')" \
		bookworm "$new" "deb $URI bookworm main" "deb $URI bookworm-backports main" \
		>"$ROUTER_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$ROUTER_CACHE/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $ROUTER_CACHE/mmdebstrap.log)"; }

	# The upgrade: what `apt-get install -t bookworm-backports
	# linux-image-amd64 linux-headers-amd64` would fetch on the router.
	log "downloading bookworm-backports' kernel and headers for the upgrade step"
	in_chroot "$new" apt-get -q -y -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root \
		--download-only -t bookworm-backports install linux-image-amd64 linux-headers-amd64 \
		>>"$ROUTER_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$ROUTER_CACHE/mmdebstrap.log" >&2; die "downloading the backports kernel failed"; }
	mkdir -p "$upg"
	mv "$new"/var/cache/apt/archives/*.deb "$upg/"
	ls "$upg"/linux-image-6.12*.deb >/dev/null 2>&1 || die "no 6.12 kernel image among the downloaded packages: $(ls "$upg")"

	# Offline from here on, as the router in the test is.
	rm -f "$new/etc/apt/sources.list" "$new"/etc/apt/sources.list.d/*
	rm -rf "$new"/var/lib/apt/lists/* "$new"/var/cache/apt/*.bin
	echo router >"$new/etc/hostname"
	printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$new/etc/fstab"
	: >"$new/etc/machine-id"
	# The test's own unit (tests/router/run.sh feeds it the step to run).
	cat >"$new/etc/systemd/system/cleardf-router-test.service" <<-'EOF'
		[Unit]
		Description=cleardf router test: the step named on the kernel command line
		ConditionKernelCommandLine=cleardf.step
		After=netfilter-persistent.service systemd-modules-load.service systemd-sysctl.service
		[Service]
		Type=oneshot
		ExecStart=/usr/local/sbin/cleardf-router-step
		TimeoutStartSec=infinity
		[Install]
		WantedBy=multi-user.target
	EOF
	cat >"$new/usr/local/sbin/cleardf-router-step" <<-'EOF'
		#!/bin/sh
		# The test's files come on the second disk, a tar archive.
		step=$(sed -n 's/.*cleardf\.step=\([^ ]*\).*/\1/p' /proc/cmdline)
		rm -rf /var/lib/cleardf-test && mkdir -p /var/lib/cleardf-test
		tar -xf /dev/vdb -C /var/lib/cleardf-test || { echo "cleardf-router: no test payload on /dev/vdb" >/dev/ttyS1; exit 1; }
		exec bash /var/lib/cleardf-test/tests/router/guest/step.sh "$step" >/dev/ttyS1 2>&1
	EOF
	chmod 0755 "$new/usr/local/sbin/cleardf-router-step"
	mkdir -p "$new/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/cleardf-router-test.service \
		"$new/etc/systemd/system/multi-user.target.wants/cleardf-router-test.service"

	safe_rm "$ROOTFS"
	rm -rf "$UPGRADE"
	mv "$new" "$ROOTFS"
	mv "$upg" "$UPGRADE"
	printf '%s\n' "$KEY" >"$ROUTER_CACHE/stamp"
	log "rootfs ready in $(elapsed "$t0") s: $(du -sh "$ROOTFS" | cut -f1), kernel $(find "$ROOTFS/boot" -name 'vmlinuz-*' -printf '%f ' | sed 's/vmlinuz-//g')upgrade: $(find "$UPGRADE" -name '*.deb' | wc -l) packages, $(du -sh "$UPGRADE" | cut -f1)"
}

do_image() {
	if [ $refresh = 0 ] && [ -d "$ROOTFS" ] && [ -d "$UPGRADE" ] &&
		[ "$(cat "$ROUTER_CACHE/stamp" 2>/dev/null)" = "$KEY" ]; then
		log "cached in $ROUTER_CACHE"
		return 0
	fi
	build_rootfs
}

mkdir -p "$ROUTER_CACHE"
with_lock "$ROUTER_CACHE/lock" do_image
