#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-version.sh [TREE]
#
# VERSION is the one place the version lives. This fails (exit 1) when
# dkms.conf or debian/changelog say something else, or when dkms.conf's
# BUILD_EXCLUSIVE_KERNEL and Kbuild's version gate disagree on a kernel.
# The module itself takes its version from VERSION at build time (Kbuild
# passes -DCLEARDF_VERSION), so it cannot drift; test-debs.sh checks
# `modinfo -F version` of the DKMS-built module anyway.
#
# Run by `make dkms-install`, `make check-version`, debian/rules and
# tests/packaging/test-debs.sh. Needs only bash (dpkg-parsechangelog if
# present).
set -euo pipefail

tree=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$tree"
fail=0
bad() { echo "check-version: $*" >&2; fail=1; }

version=$(tr -d ' \t\n' <VERSION)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+.][0-9A-Za-z.~+]*)?$ ]] ||
	bad "VERSION '$version' is not a version (expected like 1.2.3)"

# dkms.conf, read twice: the way dh_dkms reads it (a regular expression on
# the text) and the way dkms reads it (sourced by bash). Both must agree.
dkms_regex=$(sed -n 's/^PACKAGE_VERSION=\(["'\'']\{0,1\}\)\(.*\)\1$/\2/p' dkms.conf | tail -n 1)
dkms_sourced=$(bash -c '. ./dkms.conf >/dev/null 2>&1; printf %s "$PACKAGE_VERSION"')
dkms_name=$(bash -c '. ./dkms.conf >/dev/null 2>&1; printf %s "$PACKAGE_NAME"')
[ "$dkms_regex" = "$version" ] ||
	bad "dkms.conf has PACKAGE_VERSION=\"$dkms_regex\", VERSION has $version: set PACKAGE_VERSION=\"$version\" in dkms.conf"
[ "$dkms_sourced" = "$version" ] ||
	bad "dkms.conf, sourced by bash, gives PACKAGE_VERSION=$dkms_sourced (VERSION: $version)"
[ "$dkms_name" = cleardf ] || bad "dkms.conf has PACKAGE_NAME=$dkms_name, expected cleardf"

# debian/changelog: upstream part of the newest entry's version.
if [ -f debian/changelog ]; then
	if command -v dpkg-parsechangelog >/dev/null 2>&1; then
		deb=$(dpkg-parsechangelog -l debian/changelog -S Version)
	else
		deb=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog)
	fi
	up=${deb#*:}  # no epoch
	up=${up%-*}   # no Debian revision
	[ "$up" = "$version" ] ||
		bad "debian/changelog's newest entry is $deb, VERSION has $version: run 'dch -v $version-1' (or edit debian/changelog)"
fi

# The kernel range: dkms.conf's regex against a re-statement of Kbuild's
# gate (VERSION 5 with PATCHLEVEL >= 10, or 6, or 7), on sample releases.
# shellcheck disable=SC2016 # $(VERSION) is make's, matched literally
kbuild_gate=$(sed -n 's/.*\[ \$(VERSION) -eq 5 -a \$(PATCHLEVEL) -ge \([0-9]*\) \].*/\1/p' Kbuild)
[ "$kbuild_gate" = 10 ] ||
	bad "Kbuild's kernel gate changed (expected 'VERSION -eq 5 -a PATCHLEVEL -ge 10'): update this check and BUILD_EXCLUSIVE_KERNEL in dkms.conf together"
excl=$(bash -c '. ./dkms.conf >/dev/null 2>&1; printf %s "$BUILD_EXCLUSIVE_KERNEL"')
kbuild_ok() {
	local v=${1%%[.+-]*} rest=${1#*.} p
	p=${rest%%[.+-]*}
	{ [ "$v" -eq 5 ] && [ "$p" -ge 10 ]; } || [ "$v" -eq 6 ] || [ "$v" -eq 7 ]
}
for k in 4.19.0-27-amd64 5.4.0-150-generic 5.9.16 5.1.0 5.10.0-35-amd64 \
	5.15.0-91-generic 5.19.17 6.0.0 6.1.0-56-amd64 6.12.48+deb13-amd64 \
	6.12.43+deb12-amd64 6.8.0-rc1 7.0.0 7.2.0-1-amd64 7.10.3 8.0.0 10.1.0 \
	16.1.0 6.1; do
	if kbuild_ok "$k"; then want=build; else want=skip; fi
	if [[ $k =~ $excl ]]; then got=build; else got=skip; fi
	[ "$want" = "$got" ] ||
		bad "kernel $k: Kbuild would $want, dkms.conf's BUILD_EXCLUSIVE_KERNEL would $got"
done

if [ $fail = 0 ]; then
	echo "check-version: $version (VERSION, dkms.conf, debian/changelog agree; kernel range 5.10..7.x)"
fi
exit $fail
