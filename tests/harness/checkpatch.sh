#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run the kernel's checkpatch.pl --strict on the given files. checkpatch is
# not in the headers packages: it comes from Debian's linux-source tarball,
# extracted once into the cache.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/cleardf/checkpatch
src_pkg=linux-source-6.1
if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	CLEARDF_DEPS_EXTRA=$src_pkg "$(dirname "$0")/host-deps.sh"
	tarballs=("/usr/src/$src_pkg".tar.*)
	tarball=${tarballs[0]}
	mkdir -p "$cache"
	tar -xf "$tarball" -C "$cache" --strip-components=1 \
		$src_pkg/scripts/checkpatch.pl $src_pkg/scripts/spelling.txt \
		$src_pkg/scripts/const_structs.checkpatch
fi
status=0
for f in "$@"; do
	perl "$cache/scripts/checkpatch.pl" --no-tree --strict --quiet \
		--show-types -f "$f" || status=1
done
[ $status -eq 0 ] && echo "checkpatch --strict: $# files clean"
exit $status
