#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# packaging/dkms.sh source|install|uninstall: the work behind
# `make dkms-source`, `make dkms-install` and `make dkms-uninstall`.
#
#   source     copy what DKMS needs (dkms.conf, Kbuild, VERSION, the
#              module's sources; nothing generated, no Makefile: DKMS runs
#              Kbuild directly, see MAKE in dkms.conf) to
#              $DESTDIR/usr/src/cleardf-VERSION (debian/rules uses it)
#   install    (root) register that copy with DKMS, build and install the
#              module for every release in DKMS_KERNELS; from then on DKMS
#              rebuilds it for every new kernel
#   uninstall  (root) unregister every cleardf version from DKMS, remove
#              its modules and /usr/src/cleardf-* (not a package's)
#
# Environment: DESTDIR (source only), DKMS (default dkms), DKMS_KERNELS
# (install: the kernel releases, the Makefile passes the one of KDIR).
# VERSION is the version (tests/packaging/check-version.sh: dkms.conf and
# debian/changelog agree with it; the Makefile runs it first).
set -euo pipefail

cd "$(dirname "$0")/.."
NAME=cleardf
VERSION=$(tr -d ' \t\n' <VERSION)
DKMS=${DKMS:-dkms}
SRC=/usr/src/$NAME-$VERSION

die() { echo "dkms.sh $CMD: $*" >&2; exit 1; }

# Installed by the cleardf-dkms package, its files are dpkg's business (apt
# upgrades and removes them).
refuse_if_packaged() {
	# shellcheck disable=SC2016 # dpkg-query's format
	if dpkg-query -W -f='${Status}\n' cleardf-dkms 2>/dev/null | grep -q ' installed$'; then
		die "the cleardf-dkms package is installed: upgrade it with apt, or 'apt purge cleardf-dkms' first."
	fi
}

need_root() { [ "$(id -u)" = 0 ] || die "run as root"; }

# every cleardf version DKMS knows
dkms_versions() {
	"$DKMS" status -m "$NAME" | sed -n "s|^${NAME}[/,] *\([^,:]*\).*|\1|p" | sort -u
}

do_source() {
	local dest=${DESTDIR:-}$SRC f
	[ -n "${DESTDIR:-}" ] || refuse_if_packaged
	rm -rf "$dest"
	for f in dkms.conf Kbuild VERSION include/linux/netfilter/*.h kernel/*.c kernel/*.h \
		kernel/probes/*.c; do
		[ -f "$f" ] || continue
		case $f in *.mod.c | kernel/compat-probed.h) continue ;; esac
		install -D -m 0644 "$f" "$dest/$f"
	done
}

do_install() {
	local k v rc
	need_root
	command -v "$DKMS" >/dev/null || die "dkms not found: apt-get install dkms"
	[ -n "${DKMS_KERNELS:-}" ] ||
		die "no kernel headers found (KDIR). Install them (apt-get install linux-headers-\$(uname -r)), or set DKMS_KERNELS=<release>."
	refuse_if_packaged
	# A copy from `make install-module` would shadow (or be shadowed by) DKMS's.
	for k in $DKMS_KERNELS; do
		if compgen -G "/lib/modules/$k/updates/kernel/xt_CLEARDF.ko*" >/dev/null; then
			die "/lib/modules/$k/updates/kernel/xt_CLEARDF.ko is from make install: run make uninstall first."
		fi
	done
	# One cleardf in DKMS at a time: drop what an earlier dkms-install left.
	for v in $(dkms_versions); do
		"$DKMS" remove -m "$NAME" -v "$v" --all
	done
	DESTDIR='' do_source
	"$DKMS" add -m "$NAME" -v "$VERSION"
	for k in $DKMS_KERNELS; do
		echo "$DKMS build -m $NAME -v $VERSION -k $k"
		rc=0
		"$DKMS" build -m "$NAME" -v "$VERSION" -k "$k" || rc=$?
		# 77: dkms.conf's BUILD_EXCLUSIVE_KERNEL says k is out of range
		if [ $rc = 77 ]; then
			echo "skipped $k: cleardf supports 5.10 to 7.x"
			continue
		fi
		[ $rc = 0 ] || exit $rc
		echo "$DKMS install -m $NAME -v $VERSION -k $k"
		"$DKMS" install -m "$NAME" -v "$VERSION" -k "$k"
	done
	"$DKMS" status -m "$NAME"
}

do_uninstall() {
	local v d
	need_root
	refuse_if_packaged
	if command -v "$DKMS" >/dev/null; then
		for v in $(dkms_versions); do
			"$DKMS" remove -m "$NAME" -v "$v" --all
		done
	fi
	for d in /usr/src/"$NAME"-*; do
		[ -d "$d" ] || continue
		if dpkg-query -S "$d" >/dev/null 2>&1; then
			echo "keeping $d: it belongs to a package"
			continue
		fi
		echo "rm -rf $d"
		rm -rf "$d"
	done
}

CMD=${1:-}
case $CMD in
source) do_source ;;
install) do_install ;;
uninstall) do_uninstall ;;
*) echo "usage: $0 source|install|uninstall" >&2; exit 2 ;;
esac
