#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# record-placement.sh CONSOLE.LOG...
#
# Fills the cells of tests/expect/placement.tsv that are still "?" from the
# "placement: row=R tunnel=T placement=P measured=M" lines that tests 10-13
# print (run them with CLEARDF_VERBOSE=1, e.g. `CLEARDF_VERBOSE=1
# tests/harness/check.sh trixie 10 11 13`, then give build/trixie/console.log).
# A cell measured two ways in the logs is left as it is and reported.
# Recorded cells are never changed: a kernel that disagrees fails the test.
set -euo pipefail
HARNESS_NAME=record-placement
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

[ $# -gt 0 ] || { echo "usage: $0 CONSOLE.LOG..." >&2; exit 2; }
tsv=$TREE/tests/expect/placement.tsv
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

grep -ah 'placement: row=' "$@" | sed 's/.*placement: //' |
	awk -v tsv="$tsv" '
	# measured cells: row/tunnel/placement -> value ("!" if they disagree)
	{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		k = f["row"] SUBSEP f["tunnel"] SUBSEP f["placement"]
		if (k in m && m[k] != f["measured"]) m[k] = "!"; else m[k] = f["measured"]
	}
	END {
		FS = OFS = "\t"
		while ((getline line < tsv) > 0) {
			if (line ~ /^#/ || line == "") { print line; continue }
			n = split(line, c, "\t")
			if (c[1] == "tunnel") { for (i = 3; i <= n; i++) col[i] = c[i]; print line; continue }
			for (i = 3; i <= n; i++) {
				k = col[i] SUBSEP c[1] SUBSEP c[2]
				if (c[i] != "?" || !(k in m)) continue
				if (m[k] == "!") { printf "%s %s %s: measured two ways, left as ?\n", col[i], c[1], c[2] > "/dev/stderr"; continue }
				c[i] = m[k]; filled++
			}
			out = c[1]; for (i = 2; i <= n; i++) out = out OFS c[i]; print out
		}
		printf "%d cells recorded\n", filled > "/dev/stderr"
	}' >"$tmp"
cat "$tmp" >"$tsv"
