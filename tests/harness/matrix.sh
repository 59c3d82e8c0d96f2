#!/bin/bash
# matrix.sh [ROW...] [-- boot.sh options and filters]
#
# `make check-matrix`: check.sh for every row of the matrix (or the rows
# given), one after the other (a guest wants both cores), then a table:
# row, kernel, compiler, build warnings, tests passed/failed/skipped, time.
# Exit status 1 if any row failed to prepare, build or pass.
set -euo pipefail
HARNESS_NAME=matrix
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

# The body is a function: bash has read all of it before it runs, so an
# edit of this file during a long run cannot derail the run.
main() {
	local ALL_ROWS="bullseye bookworm bookworm-backports trixie sid"
	rows=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		rows+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	[ ${#rows[@]} -gt 0 ] || read -r -a rows <<<"${CLEARDF_ROWS:-$ALL_ROWS}"

	table=$TREE/build/matrix.txt
	mkdir -p "$TREE/build"
	declare -a lines=()
	bad=0
	t_all=$(now_s)
	for r in "${rows[@]}"; do
		resolve_row "$r"
		t0=$(now_s)
		log "==== $ROW"
		rc=0
		"$HARNESS_DIR/check.sh" "$ROW" --quiet "$@" || rc=$?
		dt=$(elapsed "$t0")
		kernel="?" gcc="?" warnings="?" passed="-" failed="-" skipped="-" verdict=FAIL
		if [ -r "$ROW_CACHE/kernel.env" ]; then
			kernel=$(sed -n 's/^KERNEL_PKGS=".*=\([^ "]*\)".*/\1/p' "$ROW_CACHE/kernel.env")
			kernel="$(sed -n 's/^ABI=//p' "$ROW_CACHE/kernel.env") ($kernel)"
		fi
		if [ -r "$BUILD_DIR/build.env" ]; then
			gcc=$(sed -n 's/^GCC=//p' "$BUILD_DIR/build.env")
			warnings=$(sed -n 's/^WARNINGS=//p' "$BUILD_DIR/build.env")
		fi
		if [ -r "$BUILD_DIR/result.env" ] && [ "$BUILD_DIR/result.env" -nt "$BUILD_DIR/build.env" ]; then
			passed=$(sed -n 's/^PASSED=//p' "$BUILD_DIR/result.env")
			failed=$(sed -n 's/^FAILED=//p' "$BUILD_DIR/result.env")
			skipped=$(sed -n 's/^SKIPPED=//p' "$BUILD_DIR/result.env")
		fi
		[ $rc = 0 ] && verdict=ok || bad=1
		lines+=("$(printf '%-19s %-42s %-7s %8s %6s %6s %7s %7ss  %s' \
			"$ROW" "$kernel" "$gcc" "$warnings" "$passed" "$failed" "$skipped" "$dt" "$verdict")")
	done

	{
		printf '%-19s %-42s %-7s %8s %6s %6s %7s %8s  %s\n' \
			row kernel gcc warnings passed failed skipped time result
		printf '%s\n' "${lines[@]}"
		echo "total $(elapsed "$t_all") s"
	} | tee "$table"
	exit $bad
}

main "$@"; exit
