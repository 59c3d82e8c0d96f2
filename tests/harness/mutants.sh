#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# mutants.sh [--row ROW] [--no-baseline] [--tests 'T1 T2'] [MUTANT...]
#
# What `make mutants KERNEL=ROW` runs: proves that the tests can fail.
# Each tests/mutants/NN-name.patch is a small, deliberate bug in
# kernel/xt_CLEARDF.c: a unified diff after a header of comment lines,
#   # SPDX-License-Identifier: GPL-2.0-only
#   # one line: what the mutant breaks
#   # tests: 40-edge-cases 43-packet-paths     (the tests that must catch it)
#   # rows: debug          (optional: the rows it is run on when no MUTANT is
#                            named; a bug only the debug kernel reports)
# (git apply skips the lines before the first "diff --git"). For each mutant
# this copies the working tree to a scratch directory, applies the patch,
# and runs check.sh ROW <its tests> there (build with W=1, boot, the tests):
#   killed      the check failed; "killed by" lists the test runs that
#               failed (`not ok` lines of the guest), "kernel log" for a
#               BUG/WARNING, "guest crash or hang" when no summary came;
#   SURVIVED    every test passed with the bug in;
#   errors      the patch does not apply, the mutant does not build (with
#               W=1: a warning fails too; fix the mutant, it must compile),
#               a test its header names does not exist (the other tests
#               still run: a missing test must show, not pass silently),
#               or the check failed with no failed test (see its log).
# First a baseline: the unmutated tree must pass the union of the tests
# (else "killed" would mean nothing); --no-baseline skips it.
# --tests replaces every mutant's list (to find out what kills a mutant).
# MUTANT: NN, name, NN-name or a path to a patch; default: all of them.
# Ends with a table (also in build/mutants/ROW/table.md, with each run's
# console and build log beside it); exit 1 if any mutant survived or any
# error, 2 if the baseline fails. Mutants run one after the other.
# Environment: CLEARDF_TEST_TIMEOUT (per test run in the guest; default
# here 300 s, since a mutant can make a test wait for its timeouts).
set -euo pipefail
HARNESS_NAME=mutants
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

usage() { sed -n '3p' "$0" | sed 's/^# /usage: /' >&2; exit 2; }

row_arg="" baseline=1 tests_override="" sel=()
while [ $# -gt 0 ]; do
	case "$1" in
	--row) [ $# -ge 2 ] || usage; row_arg=$2; shift ;;
	--row=*) row_arg=${1#*=} ;;
	--no-baseline) baseline=0 ;;
	--tests) [ $# -ge 2 ] || usage; tests_override=$2; shift ;;
	--tests=*) tests_override=${1#*=} ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) sel+=("$1") ;;
	esac
	shift
done
resolve_row "$row_arg"
# (the debug row's kernel is about 3 times slower)
if [ "$ROW" = debug ]; then
	export CLEARDF_TEST_TIMEOUT=${CLEARDF_TEST_TIMEOUT:-900}
else
	export CLEARDF_TEST_TIMEOUT=${CLEARDF_TEST_TIMEOUT:-300}
fi

MDIR=$TREE/tests/mutants
OUT=$TREE/build/mutants/$ROW
mkdir -p "$OUT"

# ------------------------------------------------------------ the mutants

patches=()
if [ ${#sel[@]} = 0 ]; then
	for p in "$MDIR"/*.patch; do
		[ -f "$p" ] || continue
		# "# rows: debug": a bug only that row's kernel reports (run it
		# elsewhere by naming it)
		r=$(sed -n '/^diff \|^--- /q; s/^# *rows: *//p' "$p" | head -n 1)
		if [ -n "$r" ] && [[ " $r " != *" $ROW "* ]]; then
			log "$(basename "$p" .patch): only for the rows $r (its header's rows: line), not run on $ROW"
			continue
		fi
		patches+=("$p")
	done
else
	for s in "${sel[@]}"; do
		if [ -f "$s" ]; then
			patches+=("$(cd "$(dirname "$s")" && pwd)/$(basename "$s")")
			continue
		fi
		m=()
		for p in "$MDIR"/*.patch; do
			n=$(basename "$p" .patch)
			if [ "$n" = "$s" ] || [ "${n#*-}" = "$s" ] || [ "${n%%-*}" = "$s" ]; then
				m+=("$p")
			fi
		done
		[ ${#m[@]} = 1 ] || die "mutant '$s': ${#m[@]} patches in tests/mutants match"
		patches+=("${m[0]}")
	done
fi
[ ${#patches[@]} -gt 0 ] || die "no mutants in $MDIR"

# header_tests PATCH: the test names on its "# tests:" line.
header_tests() { sed -n '/^diff \|^--- /q; s/^# *tests: *//p' "$1" | head -n 1; }
# header_desc PATCH: its first comment line that is neither SPDX nor tests.
header_desc() {
	sed -n '/^diff \|^--- /q; /^# *SPDX/d; /^# *tests:/d; /^# *rows:/d; s/^# *//p' "$1" | head -n 1
}

# run_check DIR LOGNAME TEST...: check.sh ROW TEST... in the copy DIR,
# its output to $OUT/LOGNAME.log, the guest's console and the build log
# to $OUT/LOGNAME.console.txt and .build.log. Sets RC.
run_check() {
	local dir=$1 name=$2
	shift 2
	RC=0
	"$dir/tests/harness/check.sh" "$ROW" --quiet "$@" >"$OUT/$name.log" 2>&1 || RC=$?
	rm -f "$OUT/$name.console.txt" "$OUT/$name.build.log"
	[ ! -f "$dir/build/$ROW/console.txt" ] || cp "$dir/build/$ROW/console.txt" "$OUT/$name.console.txt"
	[ ! -f "$dir/build/$ROW/build.log" ] || cp "$dir/build/$ROW/build.log" "$OUT/$name.build.log"
}

# failed_runs NAME: the failed test runs of $OUT/NAME.console.txt, one a
# line ("40-edge-cases [nft]"; "kernel log" for the runner's kernel-log line).
failed_runs() {
	sed -n 's/^not ok [0-9]* - //p' "$OUT/$1.console.txt" 2>/dev/null |
		sed 's/^kernel log has .*/kernel log/' | sort -u
}

# has_summary NAME: the guest printed its summary line.
has_summary() {
	grep -qaE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$OUT/$1.console.txt" 2>/dev/null
}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-mutants.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# git apply must not take the scratch copy for part of a repository
export GIT_CEILING_DIRECTORIES=$SCRATCH

# The union of the tests, which exist, which do not.
declare -A MTESTS=()
union=()
for p in "${patches[@]}"; do
	n=$(basename "$p" .patch)
	t=${tests_override:-$(header_tests "$p")}
	MTESTS[$n]=$t
	for x in $t; do
		[[ " ${union[*]} " == *" $x "* ]] || union+=("$x")
	done
done
existing=()
for x in "${union[@]}"; do
	[ -f "$TREE/tests/t/$x.sh" ] && existing+=("$x")
done

log "row $ROW, ${#patches[@]} mutants, tests: ${union[*]:-none}; per test run ${CLEARDF_TEST_TIMEOUT} s at most; logs in $OUT"
"$HARNESS_DIR/prepare.sh" "$ROW"

# ------------------------------------------------------------ baseline

if [ $baseline = 1 ] && [ ${#existing[@]} -gt 0 ]; then
	t0=$(now_s)
	copy_tree "$SCRATCH/tree"
	log "baseline: the unmutated tree with ${existing[*]}"
	run_check "$SCRATCH/tree" baseline "${existing[@]}"
	rm -rf "$SCRATCH/tree"
	log "baseline: exit $RC, $(elapsed "$t0") s"
	if [ "$RC" != 0 ]; then
		base_failed=$(failed_runs baseline | tr '\n' ' ')
		log "baseline FAILED: ${base_failed:-no failed test; see $OUT/baseline.log}"
		log "the unmutated tree must pass these tests before a mutant can be judged by them"
		exit 2
	fi
fi

# ------------------------------------------------------------ each mutant

rows=() nsurv=0 nerr=0 nkill=0
for p in "${patches[@]}"; do
	n=$(basename "$p" .patch)
	t0=$(now_s)
	run=() missing=()
	for x in ${MTESTS[$n]}; do
		if [ -f "$TREE/tests/t/$x.sh" ]; then run+=("$x"); else missing+=("$x"); fi
	done
	verdict="" detail="" why=""
	dir=$SCRATCH/$n
	copy_tree "$dir"
	if [ -z "${MTESTS[$n]}" ]; then
		verdict="ERROR" detail="no '# tests:' line"
	elif ! out=$(cd "$dir" && git apply "$p" 2>&1); then
		verdict="ERROR" detail="patch does not apply: $(head -n 1 <<<"$out")"
	elif [ ${#run[@]} = 0 ]; then
		verdict="ERROR" detail="none of its tests exists"
	else
		log "$n: ${run[*]}${missing[*]:+ (missing: ${missing[*]})}"
		run_check "$dir" "$n" "${run[@]}"
		benv=$dir/build/$ROW/build.env
		if [ ! -f "$benv" ] || ! grep -qx 'FAILED=0' "$benv" || ! grep -qx 'WARNINGS=0' "$benv"; then
			verdict="BUILD FAILED"
			detail="$(grep -aE 'error|warning:' "$OUT/$n.build.log" 2>/dev/null | head -n 1 || true)"
			[ -n "$detail" ] || detail="see $OUT/$n.log"
		elif [ ! -f "$dir/build/$ROW/result.env" ]; then
			verdict="ERROR" detail="built, but the guest did not run (see $OUT/$n.log)"
		elif [ "$RC" = 0 ]; then
			verdict="SURVIVED"
		else
			mapfile -t fails < <(failed_runs "$n")
			if [ ${#fails[@]} -gt 0 ]; then
				verdict="killed" detail=$(printf '%s, ' "${fails[@]}")
				detail=${detail%, }
				# the first assertion that failed: killed for the right reason?
				why=$(sed -n 's/^#   FAIL: //p' "$OUT/$n.console.txt" | head -n 1 | cut -c1-110 | tr '|' '/')
			elif ! has_summary "$n"; then
				crash=$(grep -aoE '(BUG:|Oops|invalid opcode|general protection|Kernel panic).*|RIP: [^ ]* [^ ]*' \
					"$OUT/$n.console.txt" 2>/dev/null | head -n 2 | tr '\n' ' ' || true)
				verdict="killed" detail="guest crash or hang, no summary line${crash:+: ${crash% }}"
			else
				verdict="ERROR" detail="the check failed, but no test did (see $OUT/$n.log)"
			fi
		fi
	fi
	rm -rf "$dir"
	if [ ${#missing[@]} -gt 0 ]; then
		detail="${detail:+$detail; }missing test: ${missing[*]}"
		[ "$verdict" != killed ] || verdict="killed, ERROR"
	fi
	case $verdict in
	killed) nkill=$((nkill + 1)) ;;
	SURVIVED) nsurv=$((nsurv + 1)) ;;
	*) nerr=$((nerr + 1)) ;;
	esac
	dt=$(elapsed "$t0")
	log "$n: $verdict${detail:+ ($detail)}; ${dt} s"
	rows+=("| $n | $verdict | ${detail:--} | ${why:--} | ${dt} |")
done

{
	echo "Mutants on $ROW ($(git -C "$TREE" describe --always --dirty 2>/dev/null || echo 'not git'), $(date -u +%Y-%m-%d)): $nkill killed, $nsurv survived, $nerr errors"
	echo
	echo "| mutant | result | killed by / why not | first failed assertion | s |"
	echo "| --- | --- | --- | --- | ---: |"
	printf '%s\n' "${rows[@]}"
} | tee "$OUT/table.md"
[ $nsurv = 0 ] && [ $nerr = 0 ]
