#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build-debs.sh DIR [VERSION]
#
# Builds cleardf-dkms and iptables-cleardf (dpkg-buildpackage -us -uc -b)
# from a copy of the working tree in DIR/src; the .debs land in DIR, the
# log in DIR/build.log. With VERSION, the copy is first made that version
# (VERSION, dkms.conf and a debian/changelog entry VERSION-1): a second
# build of the same tree that apt sees as an upgrade (tests/packaging/
# test-debs.sh, tests/router/run.sh).
set -euo pipefail

# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/../harness/common.sh" # TREE, copy_tree

dir=${1:?usage: $0 DIR [VERSION]}
version=${2:-}
mkdir -p "$dir"
dir=$(realpath "$dir")
rm -f "$dir"/*.deb "$dir"/*.changes "$dir"/*.buildinfo
copy_tree "$dir/src"
if [ -n "$version" ]; then
	(
		cd "$dir/src"
		echo "$version" >VERSION
		sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$version\"/" dkms.conf
		{
			echo "cleardf ($version-1) unstable; urgency=medium"
			echo
			echo "  * Test build with a higher version ($(basename "$0"))."
			echo
			echo " -- cleardf tests <root@localhost>  $(date -R)"
			echo
			cat debian/changelog
		} >debian/changelog.new
		mv debian/changelog.new debian/changelog
	)
fi
"$dir/src/tests/packaging/check-version.sh" "$dir/src" >&2 || { echo "build-debs: versions disagree (above)" >&2; exit 1; }
t0=$SECONDS
if (cd "$dir/src" && dpkg-buildpackage -us -uc -b) >"$dir/build.log" 2>&1; then
	echo "build-debs: dpkg-buildpackage $(tr -d ' \n' <"$dir/src/VERSION"): $((SECONDS - t0)) s (log: $dir/build.log)" >&2
else
	tail -n 40 "$dir/build.log" >&2
	echo "build-debs: dpkg-buildpackage failed (log: $dir/build.log)" >&2
	exit 1
fi
