#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-debs.sh [--keep-installed] [--no-upgrade] [--no-harness]
#
# The Debian packages, end to end, on this (Debian 12) machine, as root:
#   1. builds cleardf-dkms and iptables-cleardf with dpkg-buildpackage
#      -us -uc -b, from a copy of the working tree, in build/debs/;
#   2. runs lintian (fails on any error; warnings are listed);
#   3. installs both .debs with apt: the postinst registers the module with
#      DKMS and builds it for the installed 6.1 headers;
#   4. checks xt_CLEARDF.ko (dkms status, modinfo, depmod's index), the .so
#      in `pkg-config --variable=xtlibdir xtables`, the man page; copies the
#      .ko, the .so and the .debs to build/debs-artifacts/ for the guest test
#      (see "Kernels" below);
#   5. removes the built module and runs Debian's kernel-headers hook, as a
#      kernel upgrade does (AUTOINSTALL), and checks that DKMS skips kernels
#      outside 5.10..7.x (BUILD_EXCLUSIVE_KERNEL);
#   6. upgrades to a second build with a higher version (the old version
#      must disappear from DKMS and /usr/src);
#   7. purges both packages and checks that nothing is left under /usr/src,
#      /var/lib/dkms, /lib/modules/*/updates, the xtables directory and the
#      man pages.
# Nothing is ever loaded into the running kernel: this only installs files
# and runs DKMS builds against installed headers. iptables itself is not run
# either (it could autoload ip_tables into this machine's kernel).
#
# Kernels: the module is built and checked for
#   - the kernel the guest test boots for the bookworm row: the ABI in
#     ~/.cache/cleardf/bookworm/kernel.env, written by
#     tests/harness/prepare.sh (run here if that file does not exist yet;
#     --no-harness skips this), or CLEARDF_DEB_KERNEL=<release>;
#   - the newest linux-headers-6.1.*-amd64 installed on this machine
#     (linux-headers-amd64 is installed if there are none).
# Missing headers for them are installed with apt. The first is the one
# whose .ko goes to build/debs-artifacts/xt_CLEARDF.ko; every one is in
# build/debs-artifacts/<release>/. They differ when this machine has
# bookworm-security's kernel and the row uses bookworm's (a .ko only loads
# into the kernel release it was built for).
#
# Exit 0 = pass, 1 = fail, 4 = skip (not root / not Debian).
set -euo pipefail

# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/../harness/common.sh" # TREE, copy_tree
OUT=$TREE/build/debs
ART=$TREE/build/debs-artifacts
keep=0 upgrade=1 use_harness=1
for a in "$@"; do
	case $a in
	--keep-installed) keep=1 ;;
	--no-upgrade) upgrade=0 ;;
	--no-harness) use_harness=0 ;;
	*) echo "usage: $0 [--keep-installed] [--no-upgrade] [--no-harness]" >&2; exit 2 ;;
	esac
done

say() { printf 'test-debs: %s\n' "$*"; }
die() { printf 'test-debs: error: %s\n' "$*" >&2; exit 1; }
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check DESC CMD...: one assertion; CMD prints what it saw on failure.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else notok "$desc"; fi
}
# expect_eq DESC WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 ($3)"; else notok "$1: expected '$2', got '$3'"; fi
}
# expect_none DESC LIST: LIST (lines) must be empty.
expect_none() {
	if [ -z "$2" ]; then ok "$1"; else notok "$1; found:"; awk '{ print "    " $0 }' <<<"$2"; fi
}

[ "$(id -u)" = 0 ] || { echo "test-debs: skip: needs root (installs packages)"; exit 4; }
if [ ! -r /etc/debian_version ] || ! command -v apt-get >/dev/null; then
	echo "test-debs: skip: not a Debian system"
	exit 4
fi

export DEBIAN_FRONTEND=noninteractive LC_ALL=C
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600)

# ---- what the build and the test need -----------------------------------
newest_61_headers() {
	local d
	for d in /usr/src/linux-headers-6.1.*-amd64; do
		[ -d "$d" ] && echo "$d"
	done | sort -V | tail -n 1
}
need=(dpkg-dev debhelper dh-dkms dkms lintian libxtables-dev pkg-config gcc make
	kmod binutils iptables)
[ -n "$(newest_61_headers)" ] || need+=(linux-headers-amd64)

# The guest's kernel (see "Kernels" above).
guest_abi=${CLEARDF_DEB_KERNEL:-} guest_from=CLEARDF_DEB_KERNEL
harness_env=${XDG_CACHE_HOME:-$HOME/.cache}/cleardf/bookworm/kernel.env
if [ -z "$guest_abi" ] && [ $use_harness = 1 ] && [ -x "$TREE/tests/harness/prepare.sh" ]; then
	if [ ! -r "$harness_env" ]; then
		say "running tests/harness/prepare.sh bookworm, to learn which kernel the guest boots"
		"$TREE/tests/harness/prepare.sh" bookworm >&2 ||
			say "warning: prepare.sh failed; no module for the guest's kernel"
	fi
	# shellcheck source=/dev/null
	[ -r "$harness_env" ] && guest_abi=$(. "$harness_env" && echo "$ABI")
	guest_from=$harness_env
fi
[ -z "$guest_abi" ] || [ -e "/lib/modules/$guest_abi/build/include" ] ||
	need+=("linux-headers-$guest_abi")
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	apt-get "${APT_OPTS[@]}" update -qq
	apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
headers=$(newest_61_headers)
[ -n "$headers" ] || die "no linux-headers-6.1.*-amd64 after installing linux-headers-amd64 (is this Debian 12?)"
host_abi=${headers#/usr/src/linux-headers-}
# KVER: the one for the guest (else the host's); KVERS: all to check.
KVER=${guest_abi:-$host_abi}
KVERS=("$KVER")
[ "$host_abi" = "$KVER" ] || KVERS+=("$host_abi")
for k in "${KVERS[@]}"; do
	[ -e "/lib/modules/$k/build/include" ] || die "no headers for $k in /lib/modules/$k/build"
done
XTLIBDIR=$(pkg-config --variable=xtlibdir xtables)
[ -n "$XTLIBDIR" ] || die "pkg-config does not know xtables' xtlibdir"
VERSION=$(tr -d ' \t\n' <"$TREE/VERSION")
say "version $VERSION; module for ${KVERS[*]} (guest's: ${guest_abi:-unknown}${guest_abi:+, from $guest_from}; running kernel: $(uname -r)); xtables in $XTLIBDIR"

# ---- refuse to touch an existing installation ----------------------------
present=""
for p in cleardf-dkms iptables-cleardf; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $st in "" | un*) ;; *) present="$present package $p ($st)" ;; esac
done
[ -e /var/lib/dkms/cleardf ] && present="$present /var/lib/dkms/cleardf"
for d in /usr/src/cleardf-*; do [ -e "$d" ] && present="$present $d"; done
[ -z "$present" ] || die "cleardf is already installed here:$present. Remove it first (apt purge cleardf-dkms iptables-cleardf, or make dkms-uninstall)."

# ---- snapshot, and cleanup on any exit -----------------------------------
snapshot() {
	{
		find /usr/src -mindepth 1 -maxdepth 1
		find /var/lib/dkms
		find /lib/modules -mindepth 1 -maxdepth 2
		find /lib/modules/*/updates 2>/dev/null || true
		find "$XTLIBDIR" -maxdepth 1
		find /usr/share/man/man8 -maxdepth 1 -name 'iptables-cleardf*'
	} 2>/dev/null | sort
}
mkdir -p "$OUT"
snapshot >"$OUT/before.txt"
installed=0
# restore_host: after the purge, remove what DKMS (not our packages) added
# to this machine during the test, if it was not there before: the MOK key
# pair dkms generates on its first build, and depmod's index in a
# /lib/modules/<kernel> that held only headers. Only those, only if new.
restore_host() {
	local f
	snapshot >"$OUT/after-purge.txt"
	comm -13 "$OUT/before.txt" "$OUT/after-purge.txt" | while read -r f; do
		case $f in
		/var/lib/dkms/mok.key | /var/lib/dkms/mok.pub | /lib/modules/*/modules.*)
			rm -f "$f" ;;
		esac
	done
}
cleanup() {
	local rc=$?
	if [ $installed = 1 ] && [ $keep = 0 ]; then
		say "cleanup: purging the packages after a failure"
		apt-get "${APT_OPTS[@]}" purge -y -qq cleardf-dkms iptables-cleardf >/dev/null 2>&1 || true
		restore_host
	fi
	exit $rc
}
trap cleanup EXIT

# ---- 1. build -----------------------------------------------------------
rm -rf "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo "$OUT/upgrade"
"$TREE/tests/packaging/build-debs.sh" "$OUT" || die "building the packages failed (above)"
DKMS_DEB=$(ls "$OUT"/cleardf-dkms_"$VERSION"-*_all.deb)
EXT_DEB=$(ls "$OUT"/iptables-cleardf_"$VERSION"-*_"$(dpkg --print-architecture)".deb)
CHANGES=$(ls "$OUT"/cleardf_"$VERSION"-*_"$(dpkg --print-architecture)".changes)

# ---- 2. lintian and the packages' contents ---------------------------------
echo "---- lintian $(lintian --version | awk '{print $2}')"
# --fail-on error: exit 1 on any error tag, 2 if lintian itself failed.
lintian_rc=0
lintian -I --fail-on error --tag-display-limit 0 "$CHANGES" >"$OUT/lintian.txt" \
	2>"$OUT/lintian.err" || lintian_rc=$?
cat "$OUT/lintian.txt"
grep -v 'running with root privileges' "$OUT/lintian.err" >&2 || true
expect_eq "lintian --fail-on error exits 0" 0 "$lintian_rc"
expect_eq "lintian: error tags" 0 "$(grep -c '^E: ' "$OUT/lintian.txt" || true)"
echo "    lintian warnings: $(grep -c '^W: ' "$OUT/lintian.txt" || true)"

for deb in "$DKMS_DEB" "$EXT_DEB"; do
	echo "---- dpkg -c ${deb#"$TREE"/}"
	dpkg -c "$deb"
	echo "---- dpkg -I ${deb#"$TREE"/} (fields)"
	dpkg-deb -f "$deb" Package Version Architecture Depends Recommends
done
dkms_files=$(dpkg -c "$DKMS_DEB" | awk '{print $NF}')
src=./usr/src/cleardf-$VERSION
for f in dkms.conf Kbuild VERSION kernel/xt_CLEARDF.c kernel/compat.h \
	include/linux/netfilter/xt_CLEARDF.h; do
	check "cleardf-dkms ships $src/$f" grep -qx "$src/$f" <<<"$dkms_files"
done
expect_none "cleardf-dkms ships no build products or Makefile" \
	"$(grep -E '\.(ko|o|mod|mod\.c|cmd|so)$|compat-probed\.h$|/Makefile$' <<<"$dkms_files" || true)"
expect_eq "cleardf-dkms is Architecture: all" all "$(dpkg-deb -f "$DKMS_DEB" Architecture)"
check "cleardf-dkms depends on dkms" grep -qw dkms <<<"$(dpkg-deb -f "$DKMS_DEB" Depends)"
ext_files=$(dpkg -c "$EXT_DEB" | awk '{print $NF}')
check "iptables-cleardf ships .$XTLIBDIR/libxt_CLEARDF.so" grep -qx ".$XTLIBDIR/libxt_CLEARDF.so" <<<"$ext_files"
check "iptables-cleardf ships iptables-cleardf(8)" grep -qx './usr/share/man/man8/iptables-cleardf.8.gz' <<<"$ext_files"
ext_dep=$(dpkg-deb -f "$EXT_DEB" Depends)
check "iptables-cleardf depends on iptables and libxtables ($ext_dep)" \
	grep -qE '(^|, )iptables(,|$| ).*libxtables[0-9]+|libxtables[0-9]+.*(^|, )iptables(,|$| )' <<<"$ext_dep"

# ---- 3. install ---------------------------------------------------------
echo "---- apt-get install ${DKMS_DEB#"$TREE"/} ${EXT_DEB#"$TREE"/}"
installed=1
if ! apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "$DKMS_DEB" "$EXT_DEB" >"$OUT/install.log" 2>&1; then
	cat "$OUT/install.log" >&2
	die "apt-get install failed"
fi
sed -n '/Setting up cleardf-dkms/,/Setting up iptables-cleardf\|^Processing/p' "$OUT/install.log"

# What the postinst built: Debian's common.postinst builds for the running
# kernel if /lib/modules/$(uname -r) exists (headers or not: without them it
# skips), else, "likely a chroot", for every kernel in /lib/modules. So
# whether it covered a kernel depends on the machine: say which happened,
# and if it did not, run what a headers install would run (the kernel hook).
for k in "${KVERS[@]}"; do
	st=$(dkms status -m cleardf -v "$VERSION" -k "$k")
	echo "    dkms status after the postinst: ${st:-(nothing for $k)}"
	if grep -q ': installed' <<<"$st"; then
		say "the postinst built and installed the module for $k"
	else
		say "the postinst did not build for $k (running kernel $(uname -r) has$([ -d "/lib/modules/$(uname -r)" ] || echo ' no') /lib/modules dir); running /etc/kernel/header_postinst.d/dkms $k"
		/etc/kernel/header_postinst.d/dkms "$k"
	fi
done

# ---- 4. what was installed ------------------------------------------------
# check_module VERSION [KERNEL]: the DKMS-built module for KERNEL (default
# $KVER) is installed and is VERSION. Sets KO.
check_module() {
	local v=$1 KVER=${2:-$KVER} st info
	st=$(dkms status -m cleardf -v "$v" -k "$KVER")
	check "dkms status: cleardf/$v installed for $KVER ($st)" grep -q ': installed' <<<"$st"
	KO=$(find "/lib/modules/$KVER/updates" -name 'xt_CLEARDF.ko*' 2>/dev/null | head -n 1)
	check "xt_CLEARDF.ko under /lib/modules/$KVER/updates (${KO:-none})" [ -n "$KO" ]
	[ -n "$KO" ] || return 0
	expect_eq "modinfo version" "$v" "$(modinfo -F version "$KO")"
	expect_eq "modinfo vermagic's release" "$KVER" "$(modinfo -F vermagic "$KO" | awk '{print $1}')"
	expect_eq "modinfo name" xt_CLEARDF "$(modinfo -F name "$KO")"
	check "depmod's index lists ${KO#/lib/modules/"$KVER"/}" \
		grep -q "^${KO#/lib/modules/"$KVER"/}:" "/lib/modules/$KVER/modules.dep"
	info=$(modinfo -F signer "$KO")
	echo "    signed by: ${info:-(not signed)}"
}
declare -A KOS=()
for k in "${KVERS[@]}"; do
	check_module "$VERSION" "$k"
	KOS[$k]=$KO
done

so=$XTLIBDIR/libxt_CLEARDF.so
check "libxt_CLEARDF.so in xtlibdir ($so)" [ -f "$so" ]
expect_eq "owner of $so" iptables-cleardf "$(dpkg-query -S "$so" 2>/dev/null | cut -d: -f1)"
xt_soname=$(readelf -d "$(pkg-config --variable=libdir xtables)/libxtables.so" |
	sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "the .so needs $xt_soname (the ABI iptables checks)" \
	grep -q "NEEDED.*\[$xt_soname\]" <<<"$(readelf -d "$so")"
check "the .so registers targets (xtables_register_targets)" \
	grep -qw xtables_register_targets <<<"$(nm -D --undefined-only "$so")"
check "iptables-cleardf(8) installed" [ -f /usr/share/man/man8/iptables-cleardf.8.gz ]

# Artifacts for the guest test (tests/harness): this very .ko and .so.
rm -rf "$ART"
mkdir -p "$ART"
for k in "${KVERS[@]}"; do
	[ -n "${KOS[$k]}" ] || continue
	mkdir -p "$ART/$k"
	cp "${KOS[$k]}" "$ART/$k/"
done
KO=${KOS[$KVER]}
[ -z "$KO" ] || cp "$KO" "$ART/"
cp "$so" "$ART/"
cp "$DKMS_DEB" "$EXT_DEB" "$ART/"
cat >"$ART/artifacts.env" <<-EOF
	# written by tests/packaging/test-debs.sh; do not edit
	# KO is built by DKMS (from the cleardf-dkms .deb) for ABI, the kernel
	# the guest boots (GUEST_ABI, from $guest_from; empty if unknown).
	# ABIS: every kernel it was built for, each in $ART/<release>/.
	VERSION=$VERSION
	ABI=$KVER
	GUEST_ABI=$guest_abi
	ABIS="${KVERS[*]}"
	KO=$ART/$(basename "${KO:-xt_CLEARDF.ko}")
	SO=$ART/libxt_CLEARDF.so
	KO_FROM=$KO
	SO_FROM=$so
	XTLIBDIR=$XTLIBDIR
	DKMS_DEB=$ART/$(basename "$DKMS_DEB")
	EXT_DEB=$ART/$(basename "$EXT_DEB")
EOF
say "artifacts for the guest test in ${ART#"$TREE"/}: $(cd "$ART" && echo *)"

# ---- 5. a kernel upgrade, and kernels outside the range --------------------
echo "---- kernel hook: dkms unbuild, then /etc/kernel/header_postinst.d/dkms $KVER"
dkms unbuild -m cleardf -v "$VERSION" -k "$KVER" >/dev/null
expect_none "dkms unbuild removed the module" \
	"$(find "/lib/modules/$KVER/updates" -name 'xt_CLEARDF.ko*' 2>/dev/null)"
/etc/kernel/header_postinst.d/dkms "$KVER" 2>&1 | sed 's/^/    /'
check_module "$VERSION"

for k in 4.19.0-27-amd64 8.0.0-1-amd64; do
	rc=0
	dkms build -m cleardf -v "$VERSION" -k "$k" >"$OUT/exclusive-$k.log" 2>&1 || rc=$?
	expect_eq "dkms build -k $k is refused by BUILD_EXCLUSIVE_KERNEL (exit 77)" 77 "$rc"
done

# ---- 6. upgrade -------------------------------------------------------------
if [ $upgrade = 1 ]; then
	V2=$VERSION+upgradetest1
	echo "---- upgrade to $V2 (a second build of this tree with a higher version)"
	"$TREE/tests/packaging/build-debs.sh" "$OUT/upgrade" "$V2" || die "building the $V2 packages failed (above)"
	if apt-get "${APT_OPTS[@]}" install -y --no-install-recommends \
		"$OUT"/upgrade/cleardf-dkms_"$V2"-1_all.deb \
		"$OUT"/upgrade/iptables-cleardf_"$V2"-1_*.deb >"$OUT/upgrade.log" 2>&1; then
		ok "apt-get install of the $V2 packages over $VERSION"
	else
		cat "$OUT/upgrade.log" >&2
		notok "apt-get install of the $V2 packages over $VERSION"
	fi
	for k in "${KVERS[@]}"; do
		st=$(dkms status -m cleardf -v "$V2" -k "$k")
		grep -q ': installed' <<<"$st" || /etc/kernel/header_postinst.d/dkms "$k" >/dev/null 2>&1 || true
		check_module "$V2" "$k"
	done
	expect_none "$VERSION is gone from DKMS" "$(dkms status -m cleardf -v "$VERSION")"
	check "/usr/src/cleardf-$VERSION is gone" [ ! -e "/usr/src/cleardf-$VERSION" ]
fi

# ---- 7. remove and purge ---------------------------------------------------
if [ $keep = 1 ]; then
	say "--keep-installed: leaving the packages installed"
	trap - EXIT
	echo "$n tests, $failed failed"
	[ $failed = 0 ]
	exit
fi
echo "---- apt-get purge iptables-cleardf cleardf-dkms"
apt-get "${APT_OPTS[@]}" purge -y iptables-cleardf cleardf-dkms >"$OUT/purge.log" 2>&1 ||
	{ cat "$OUT/purge.log" >&2; die "apt-get purge failed"; }
installed=0
grep -iE 'dkms|Removing|Purging|Deleting' "$OUT/purge.log" | sed 's/^/    /'

for p in cleardf-dkms iptables-cleardf; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | tr -d ' ' || true)
	expect_eq "dpkg: $p is purged (status '${st}')" gone "$(case $st in "" | un) echo gone ;; *) echo "$st" ;; esac)"
done
expect_none "dkms status: no cleardf" "$(dkms status -m cleardf)"
expect_none "nothing under /usr/src" "$(find /usr/src -maxdepth 1 -name 'cleardf*')"
expect_none "nothing under /var/lib/dkms" "$(find /var/lib/dkms -name 'cleardf*')"
expect_none "nothing under /lib/modules/*/updates" \
	"$(find /lib/modules/*/updates -name 'xt_CLEARDF*' 2>/dev/null || true)"
expect_none "nothing in $XTLIBDIR" "$(find "$XTLIBDIR" -name 'libxt_CLEARDF*')"
expect_none "no man page" "$(find /usr/share/man -name 'iptables-cleardf*')"
for k in "${KVERS[@]}"; do
	[ -f "/lib/modules/$k/modules.dep" ] || continue
	expect_none "depmod's index for $k no longer lists xt_CLEARDF" \
		"$(grep xt_CLEARDF "/lib/modules/$k/modules.dep" || true)"
done

# Everything else that changed in those places since the start. DKMS itself
# may leave its MOK signing key (created on this machine's first DKMS build,
# and meant to outlive any one module: it is what the user enrolled for
# Secure Boot) and depmod's index; those are reported, anything else fails.
snapshot >"$OUT/after.txt"
left=$(comm -13 "$OUT/before.txt" "$OUT/after.txt")
dkms_own=$(grep -E '^/var/lib/dkms/mok\.(key|pub)$|^/lib/modules/[^/]+/modules\.[a-z.]+$' <<<"$left" || true)
other=$(grep -vE '^/var/lib/dkms/mok\.(key|pub)$|^/lib/modules/[^/]+/modules\.[a-z.]+$' <<<"$left" || true)
gone=$(comm -23 "$OUT/before.txt" "$OUT/after.txt")
expect_none "no other file or directory left behind" "$other"
expect_none "nothing that was there before went missing" "$gone"
if [ -n "$dkms_own" ]; then
	say "left by dkms itself, not by our packages (removed now, as this test created them):"
	awk '{ print "    " $0 }' <<<"$dkms_own"
	restore_host
fi

echo "$n tests, $failed failed"
[ $failed = 0 ]
