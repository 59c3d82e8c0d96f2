#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/run.sh [ROW] [bench.sh options...]
#
# What `make bench` runs (ROW = KERNEL, default 6.1 = bookworm): prepares
# the row (tests/harness/prepare.sh, cached), builds the module, the
# extension and the test tools (tests/harness/build.sh), builds the
# benchmark's own programs in the row's chroot (bench/udpblast.c,
# bench/nfqclear.c against libnetfilter_queue, bench/kmod/ against the
# row's kernel headers with W=1, no warning allowed), boots one guest
# (tests/harness/boot.sh --entry bench/guest/bench.sh) and prints the
# tables. Everything kernel-side runs in the guest.
#
# Output: build/bench/<row>/ in the tree: raw.txt (the guest's BENCH
# lines), results.md (the tables, with date, machine and command),
# console.txt (the whole guest console), build.log.
#
# The guest runs on one vCPU under QEMU's -icount (see ICOUNT below): its
# clock counts instructions, so that the results do not depend on how busy
# the host is. BENCH_ICOUNT=0 measures in real time instead.
#
# Options after ROW go to bench/guest/bench.sh (see there: --rounds,
# --secs, --ids, --conseq, --parts, ...). BENCH_QUICK=1 makes a short run
# for development; BENCH_ENTRY=CMD runs CMD (bash) in the guest instead of
# the benchmark, with the same programs in it (for debugging); BENCH_KEEP=1
# keeps the snapshot and its initramfs. The benchmark never fails because
# the machine is slow; it fails when a variant could not run at all, or a
# build or boot fails.
#
# The guest is booted from a snapshot of the tree in a temporary directory
# (removed at exit), so that its build products and console are its own:
# other runs of the harness on the same row and tree (make check) write
# build/<row>/ and do not disturb a benchmark that takes many minutes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2034 # read by common.sh
HARNESS_NAME=bench
# shellcheck source=../tests/harness/common.sh
. "$HERE/../tests/harness/common.sh"

row_arg=${1:-}
[ $# -eq 0 ] || shift
resolve_row "$row_arg"
guest_args=("$@")

# By default the guest's clock counts instructions (QEMU -icount: one
# instruction every 2 ns of guest time, idle time skipped) on one vCPU, so
# that the rates do not depend on how busy the host is: on a shared
# machine, wall-clock rates of a TCG guest vary by a factor of 2 to 5 from
# one second to the next. BENCH_ICOUNT=0 (or CLEARDF_KVM=1) measures in
# real time instead, with CLEARDF_SMP vCPUs (default 2) and more rounds.
ICOUNT=shift=1,sleep=off
if [ "${BENCH_ICOUNT:-1}" = 0 ] || [ "${CLEARDF_KVM:-0}" = 1 ]; then
	ICOUNT=""
	guest_args=(--rounds 25 --secs 1.5 --warm 0.25 --kmod-iters 2000000 --kmod-rounds 11
		"${guest_args[@]}")
else
	export CLEARDF_SMP=1 CLEARDF_ICOUNT=$ICOUNT
fi
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	guest_args=(--rounds 2 --secs 0.5 --warm 0.2 --ids 20000 --conseq 5000 --conseq-rate 1500
		--kmod-iters 200000 --kmod-rounds 3 "${guest_args[@]}")
fi

OUT=$TREE/build/bench/$ROW
mkdir -p "$OUT"
t_start=$(now_s)

"$TREE/tests/harness/prepare.sh" "$ROW"
load_kernel_env

# ---------------------------------------------------------------- snapshot

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-bench.XXXXXX")
CHROOT_WORK=/build/bench-$ROW-$$
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "keeping $WORK (BENCH_KEEP=1)"
	else
		rm -rf "$WORK"
	fi
	rm -rf "${CHROOT:?}$CHROOT_WORK"
}
trap cleanup EXIT
SNAP=$WORK/tree
mkdir -p "$SNAP"
if git -C "$TREE" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$TREE" && git ls-files -co --exclude-standard -z) |
		(cd "$TREE" && while IFS= read -r -d '' f; do
			case "$f" in build/*) continue ;; esac
			[ -f "$f" ] && printf '%s\0' "$f"
		done) | (cd "$TREE" && tar --null -T - -cf -) | tar -xf - -C "$SNAP"
else
	(cd "$TREE" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$SNAP"
fi
rev=$(git -C "$TREE" describe --always --dirty 2>/dev/null || echo "not git")

# ---------------------------------------------------------------- build

# The module, the extension, tests/tools: the harness's own build, into
# the snapshot's build/<row>/.
"$SNAP/tests/harness/build.sh" "$ROW"

# The benchmark's programs, in the row's chroot (its compiler, its libc,
# its kernel headers). libnetfilter_queue is linked statically: the guest
# already has libnfnetlink (iptables needs it), not libnetfilter_queue.
LOG=$OUT/build.log
: >"$LOG"
build_bench() {
	local d=$CHROOT$CHROOT_WORK
	# shellcheck disable=SC2016 # dpkg-query's format, not ours
	if ! in_chroot "$CHROOT" dpkg-query -W -f='${Status}\n' libnetfilter-queue-dev 2>/dev/null |
		grep -q ' installed$'; then
		log "$ROW: installing libnetfilter-queue-dev in the chroot"
		in_chroot "$CHROOT" apt-get install -y -q --no-install-recommends libnetfilter-queue-dev \
			>>"$LOG" 2>&1 ||
			{ in_chroot "$CHROOT" apt-get update -q -o Acquire::Check-Valid-Until=false >>"$LOG" 2>&1 &&
				in_chroot "$CHROOT" apt-get install -y -q --no-install-recommends libnetfilter-queue-dev \
					>>"$LOG" 2>&1; } ||
			{ tail -n 20 "$LOG" >&2; die "cannot install libnetfilter-queue-dev in $CHROOT"; }
	fi
	rm -rf "$d"
	mkdir -p "$d"
	cp -a "$SNAP/bench" "$SNAP/include" "$d/"
	# udpblast.c includes the tools' shared header
	mkdir -p "$d/tests/tools"
	cp "$SNAP/tests/tools/tool.h" "$d/tests/tools/"
	rm -f "$d"/bench/kmod/*.ko
	local cf="-O2 -g -Wall -Wextra -Wshadow"
	{
		echo "==== udpblast"
		in_chroot "$CHROOT" sh -c "cd $CHROOT_WORK/bench && gcc $cf -o udpblast udpblast.c" &&
			echo "==== nfqclear" &&
			in_chroot "$CHROOT" sh -c "cd $CHROOT_WORK/bench && gcc $cf -o nfqclear nfqclear.c \
				-Wl,-Bstatic -lnetfilter_queue -Wl,-Bdynamic -lnfnetlink" &&
			echo "==== kmod" &&
			in_chroot "$CHROOT" make -C "$HEADERS" M="$CHROOT_WORK/bench/kmod" W=1 modules
	} >>"$LOG" 2>&1 || { cat "$LOG" >&2; die "building the benchmark's programs failed (log: $LOG)"; }
	mkdir -p "$SNAP/build/$ROW/tools"
	cp "$d/bench/udpblast" "$d/bench/nfqclear" "$SNAP/build/$ROW/tools/"
	cp "$d/bench/kmod/cleardf_bench.ko" "$SNAP/bench/kmod/"
	rm -rf "$d"
}
with_lock "$ROW_CACHE/lock" build_bench
if grep -E 'warning:|WARNING:' "$LOG" | grep -v 'Skipping BTF' >&2; then
	die "the benchmark's programs do not build without warnings (log: $LOG)"
fi
log "$ROW: built udpblast, nfqclear, cleardf_bench.ko (gcc $CHROOT_GCC, W=1, no warnings)"

# ---------------------------------------------------------------- boot

# Guest time: generous, from the options (the machine may be slow and
# busy). Under icount the guest runs several times slower than real time
# when the host is loaded, but its idle time costs nothing.
estimate() {
	awk -v icount="$ICOUNT" '
		BEGIN { r = 5; s = 1; w = 0.2; ids = 200000; ki = 1000000; kr = 5 }
		{
			for (i = 1; i <= NF; i++) {
				if ($i == "--rounds") r = $(i + 1)
				if ($i == "--secs") s = $(i + 1)
				if ($i == "--warm") w = $(i + 1)
				if ($i == "--ids") ids = $(i + 1)
				if ($i == "--kmod-iters") ki = $(i + 1)
				if ($i == "--kmod-rounds") kr = $(i + 1)
			}
		}
		END {
			# busy guest seconds: setup, rounds of 20 slices, the ID
			# series, the consequence test (mostly idle), the module
			t = 120 + r * 20 * (s + w + 0.3) + 6 * ids / 5000 + 180 + 7 * kr * ki * 300e-9
			printf "%d\n", (icount != "" ? 10 : 3) * t + 600
		}' <<<"${guest_args[*]:-}"
}
timeout_s=${CLEARDF_TIMEOUT:-$(estimate)}

# How busy the host is while the guest runs: the 1-minute load average
# and the number of QEMU processes (ours included), every 15 s.
sample_load() {
	while :; do
		echo "$(cut -d' ' -f1 /proc/loadavg) $(pgrep -c qemu-system || true)"
		sleep 15
	done
}
sample_load >"$WORK/load.txt" &
sampler=$!
log "$ROW: booting the benchmark guest (timeout $timeout_s s); host load $(cut -d' ' -f1-3 /proc/loadavg)"
t_boot=$(now_s)
boot_rc=0
CLEARDF_TIMEOUT=$timeout_s "$SNAP/tests/harness/boot.sh" "$ROW" --quiet --timeout "$timeout_s" \
	--entry "${BENCH_ENTRY:-/cleardf/bench/guest/bench.sh ${guest_args[*]:-}}" || boot_rc=$?
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
guest_s=$(elapsed "$t_boot")
load_summary=$(awk '{ n++; s += $1; if ($1 > m) m = $1; q += $2; if ($2 > qm) qm = $2 }
	END { if (n) printf "host load average (1 min) %.1f on average, %.1f at most; %.1f QEMU guests on average (this one included), %d at most", s / n, m, q / n, qm }' "$WORK/load.txt")

cp "$SNAP/build/$ROW/console.txt" "$OUT/console.txt" 2>/dev/null || true
grep -a '^BENCH ' "$OUT/console.txt" | tr -d '\r' >"$OUT/raw.txt" || true

# ---------------------------------------------------------------- report

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`make bench KERNEL=$ROW\`" \
		"(bench/run.sh $ROW${guest_args[*]:+ ${guest_args[*]}}), tree $rev."
	echo
	echo "Machine: $(nproc) x $cpu, $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 + 0.5 }' /proc/meminfo)," \
		"Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')" \
		"TCG, guest: ${CLEARDF_SMP:-2} vCPU(s), Debian kernel $ABI, $(sed -n 's/^BENCH guest //p' "$OUT/raw.txt" | head -n 1)."
	if [ -n "$ICOUNT" ]; then
		echo "Guest time is an instruction count (QEMU -icount $ICOUNT: one instruction = 2 ns," \
			"idle time skipped), so rates and nanoseconds below are those of a 500-MIPS virtual CPU" \
			"without caches or pipeline, and do not depend on the host's load."
	else
		echo "Guest time is real time: rates depend on the host's load."
	fi
	echo "While it ran (${guest_s} s): $load_summary."
	awk -f "$HERE/report.awk" "$OUT/raw.txt"
} >"$OUT/results.md"
cat "$OUT/results.md"
log "$ROW: total $(elapsed "$t_start") s; results in $OUT/results.md, raw lines in $OUT/raw.txt"

rc=0
if [ "$boot_rc" != 0 ]; then
	log "$ROW: the guest run failed (exit $boot_rc): see $OUT/console.txt"
	rc=1
fi
if grep -q '^BENCH error' "$OUT/raw.txt"; then
	log "$ROW: some variant could not run:"
	sed -n 's/^BENCH error /  /p' "$OUT/raw.txt" >&2
	rc=1
fi
if ! grep -q '^BENCH end failures=0' "$OUT/raw.txt"; then
	log "$ROW: the guest did not finish the benchmark"
	rc=1
fi
exit $rc
