#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# matrix.sh [ROW...] [-- boot.sh options and filters]
#
# `make check-matrix`: check.sh for every row of the matrix (or the rows
# given), then a table: row, architecture, word size, byte order, kernel,
# compiler, build warnings, tests passed/failed/skipped, time. Exit status
# 1 if any row failed to prepare, build or pass.
#
# Which suite a row runs: the full suite on the rows in CLEARDF_FULL_ROWS
# (default: none; `all` for every row, which is `make check-all`), the core
# tests (`# suite: core`, filter @core) on the others. CI runs the core
# tests on all nine rows: that took 3059 s of .ci/run's 4395 s from an
# empty cache (2026-12-02), too little room in 75 minutes for a full row.
# Filters after `--` replace both.
#
# CLEARDF_JOBS=N runs N rows at once (default 2). On a 2-core machine
# bookworm's suite took 491 s alone and 670-717 s beside another row: two
# at a time finish sooner. Each row's output goes to build/<row>/check.log
# and is printed when the row ends. CLEARDF_JOBS=1 runs them one after the
# other, output live.
set -euo pipefail
HARNESS_NAME=matrix
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

# The body is a function: bash has read all of it before it runs, so an
# edit of this file during a long run cannot derail the run.
main() {
	# The amd64 kernels, then bookworm's 6.1 on the other architectures
	# (64- and 32-bit, little- and big-endian): every row in CI.
	local ALL_ROWS="bullseye bookworm bookworm-backports trixie sid arm64 armhf mips64el s390x"
	rows=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		rows+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	[ ${#rows[@]} -gt 0 ] || read -r -a rows <<<"${CLEARDF_ROWS:-$ALL_ROWS}"

	full_rows=" ${CLEARDF_FULL_ROWS:-} "
	user_filters=0
	local skip=0 a
	for a in "$@"; do
		if [ $skip = 1 ]; then skip=0; continue; fi
		case $a in
		--timeout | --entry) skip=1 ;;
		--*) ;;
		*) user_filters=1 ;;
		esac
	done

	table=$TREE/build/matrix.txt
	mkdir -p "$TREE/build"
	declare -a lines=() why=()
	bad=0
	t_all=$(now_s)
	jobs=${CLEARDF_JOBS:-2}
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "CLEARDF_JOBS must be a positive number, not '$jobs'"
	for r in "${rows[@]}"; do
		resolve_row "$r" # refuse an unknown row before anything runs
	done

	# Start every row, at most $jobs at a time; each writes its exit
	# status and time to build/<row>/matrix.env.
	declare -A pid_row=()
	running=0
	# an interrupted matrix stops its rows too
	trap 'trap - INT TERM; kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
	# Start the foreign rows first: under load their guest times were
	# the least predictable (2-4 times an amd64 row's beside other guests,
	# about the same in a quiet CI run: 455-700 s against 554-753 s), so
	# a long one never starts last with one job slot idle.
	local order=() r2
	for r2 in "${rows[@]}"; do
		resolve_row "$r2"
		[ "$FOREIGN" = 1 ] && order+=("$r2")
	done
	for r2 in "${rows[@]}"; do
		resolve_row "$r2"
		[ "$FOREIGN" = 1 ] || order+=("$r2")
	done
	# Prepare ahead: one row after another, in the order they run, beside
	# the guests. A cold prepare is mostly downloading and unpacking (an
	# amd64 root: 230 s), a guest is mostly CPU; a row's own prepare then
	# finds its root ready, or waits on its lock for the lane to finish it.
	local lane_pid=""
	for r2 in "${order[@]}"; do
		resolve_row "$r2"
		rm -f "$BUILD_DIR/prepare-ahead.log"
	done
	if [ "$jobs" != 1 ] && [ "${CLEARDF_PREPARE_AHEAD:-1}" = 1 ]; then
		(
			for r2 in "${order[@]}"; do
				resolve_row "$r2"
				mkdir -p "$BUILD_DIR"
				"$HARNESS_DIR/prepare.sh" "$ROW" >"$BUILD_DIR/prepare-ahead.log" 2>&1 || true
			done
		) &
		lane_pid=$!
	fi
	for r in "${order[@]}"; do
		resolve_row "$r"
		read -r -a sf <<<"$(suite_filter "$ROW")"
		mkdir -p "$BUILD_DIR"
		rm -f "$BUILD_DIR/matrix.env"
		if [ "$jobs" = 1 ]; then
			log "==== $ROW"
			run_row "$ROW" "$BUILD_DIR" "$@" "${sf[@]}"
			continue
		fi
		while [ "$running" -ge "$jobs" ]; do
			reap_one
		done
		log "==== $ROW: started (output: build/$ROW/check.log)"
		run_row "$ROW" "$BUILD_DIR" "$@" "${sf[@]}" >"$BUILD_DIR/check.log" 2>&1 &
		pid_row[$!]=$ROW
		running=$((running + 1))
	done
	while [ "$running" -gt 0 ]; do
		reap_one
	done
	[ -z "$lane_pid" ] || wait "$lane_pid" 2>/dev/null || true

	t_passed=0 t_failed=0 t_skipped=0
	for r in "${rows[@]}"; do
		resolve_row "$r"
		rc=1 dt="?" again=no
		if [ -r "$BUILD_DIR/matrix.env" ]; then
			rc=$(sed -n 's/^RC=//p' "$BUILD_DIR/matrix.env")
			dt=$(sed -n 's/^TIME=//p' "$BUILD_DIR/matrix.env")
			again=$(sed -n 's/^AGAIN=//p' "$BUILD_DIR/matrix.env")
		fi
		kernel="?" gcc="?" warnings="?" passed="-" failed="-" skipped="-" verdict=FAIL
		suite=$(row_suite "$ROW")
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
		[ "$rc" = 0 ] && verdict=ok || bad=1
		[ "$again" != yes ] || verdict="$verdict (ran twice: the first run's summary was lost)"
		# a failed row without a failed test (prepare or build failed, no
		# summary, a bad kernel log) counts as one failure, so that the
		# total never looks clean
		if [[ $passed =~ ^[0-9]+$ && $failed =~ ^[0-9]+$ && $skipped =~ ^[0-9]+$ ]]; then
			t_passed=$((t_passed + passed)) t_failed=$((t_failed + failed))
			t_skipped=$((t_skipped + skipped))
			[ "$rc" = 0 ] || [ "$failed" != 0 ] || t_failed=$((t_failed + 1))
		else
			t_failed=$((t_failed + 1))
		fi
		if [ "$rc" != 0 ]; then
			# why, under the table: CI shows only the end of the output
			why+=("$ROW: the end of build/$ROW/check.log:")
			if [ -r "$BUILD_DIR/check.log" ]; then
				mapfile -t -O "${#why[@]}" why < <(tail -n 8 "$BUILD_DIR/check.log" | cut -c1-300 | sed 's/^/    /')
			fi
			if [ -r "$BUILD_DIR/console.txt" ] && [ "$BUILD_DIR/console.txt" -nt "$BUILD_DIR/build.env" ]; then
				why+=("$ROW: its guest's console (build/$ROW/console.txt): the failed runs and why, the last lines:")
				# a failed run's output follows its "not ok" line, indented
				# with "#   ": its FAIL lines and what the harness added
				# (timeouts, kernel reports, namespaces left behind) say why
				mapfile -t -O "${#why[@]}" why < <({
					grep -a -E '^not ok |^# timed out' "$BUILD_DIR/console.txt" | head -n 6 || true
					grep -a -B 3 -E '^#   (FAIL|run-suite|\[)' "$BUILD_DIR/console.txt" | head -n 24 || true
					tail -n 4 "$BUILD_DIR/console.txt"
				} | cut -c1-400 | sed 's/^/    /')
			fi
		fi
		lines+=("$(printf '%-19s %-8s %4s %-6s %-42s %-7s %8s %-6s %6s %6s %7s %7ss  %s' \
			"$ROW" "$DEB_ARCH" "$WORD_BITS" "$BYTE_ORDER" "$kernel" "$gcc" "$warnings" "$suite" "$passed" "$failed" "$skipped" "$dt" "$verdict")")
	done

	{
		printf '%-19s %-8s %4s %-6s %-42s %-7s %8s %-6s %6s %6s %7s %8s  %s\n' \
			row arch bits endian kernel gcc warnings suite passed failed skipped time result
		printf '%s\n' "${lines[@]}"
		[ ${#why[@]} = 0 ] || printf '%s\n' "${why[@]}"
		echo "total $(elapsed "$t_all") s"
		echo "matrix: $t_passed passed, $t_failed failed, $t_skipped skipped"
	} | tee "$table"
	exit $bad
}

# row_suite ROW: which suite ROW runs: full, core, or given (the user's
# filters decide).
row_suite() {
	if [ "$user_filters" = 1 ]; then
		echo given
	elif [ "$full_rows" = " all " ] || [[ $full_rows == *" $1 "* ]]; then
		echo full
	else
		echo core
	fi
}

# suite_filter ROW: the run-suite filter for ROW's suite (none for full).
suite_filter() {
	[ "$(row_suite "$1")" != core ] || echo @core
}

# run_row ROW BUILD_DIR [ARGS...]: check.sh for one row; its exit status
# and time go to BUILD_DIR/matrix.env.
run_row() {
	local row=$1 dir=$2 t0 rc=0
	shift 2
	t0=$(now_s)
	"$HARNESS_DIR/check.sh" "$row" --quiet "$@" || rc=$?
	# A guest whose summary never came, with a clean kernel log and no
	# hang (boot.sh: LOST_SUMMARY), runs once more; the table says so and
	# the first console is kept. A failed test, a kernel report or a
	# timeout never does.
	local again=no
	if [ "$rc" != 0 ] && [ "$dir/result.env" -nt "$dir/build.env" ] &&
		grep -qx 'LOST_SUMMARY=yes' "$dir/result.env"; then
		again=yes
		cp "$dir/console.txt" "$dir/console.txt.lost-summary" 2>/dev/null || true
		log "$row: no summary came from the guest, and its kernel reported nothing: running the row once more (the first console: build/$row/console.txt.lost-summary)"
		rc=0
		"$HARNESS_DIR/check.sh" "$row" --quiet "$@" || rc=$?
	fi
	printf 'RC=%s\nTIME=%s\nAGAIN=%s\n' "$rc" "$(elapsed "$t0")" "$again" >"$dir/matrix.env"
}

# reap_one: wait for a background row to end and print its output.
reap_one() {
	local pid="" row
	wait -n -p pid || true
	if [ -z "$pid" ]; then
		running=0 # no child left
		return 0
	fi
	row=${pid_row[$pid]:-}
	[ -n "$row" ] || return 0
	unset "pid_row[$pid]"
	running=$((running - 1))
	log "==== $row: ended"
	[ ! -s "$TREE/build/$row/prepare-ahead.log" ] ||
		sed "s/^/$row: (prepared ahead) /" "$TREE/build/$row/prepare-ahead.log"
	sed "s/^/$row: /" "$TREE/build/$row/check.log"
}

main "$@"; exit
