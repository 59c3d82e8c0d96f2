#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# boot.sh ROW [--timeout S] [--entry CMD] [--quiet] [--interactive] [FILTER...]
#
# Packs an initramfs and boots the row's Debian kernel under QEMU (TCG,
# no network device), runs the test suite (or CMD) in it, and judges the
# console. The initramfs is two concatenated cpio archives:
#   base     (cached per row) the chroot without what the guest does not
#            need + the kernel's own modules (net, crypto, lib, net drivers)
#   payload  (per run) tests/ at /cleardf/tests, tools at /cleardf/bin,
#            xt_CLEARDF.ko in updates/ with fresh depmod indexes,
#            libxt_CLEARDF.so in the xtables directory, /init
# The console goes to build/<row>/console.log (and to the screen unless
# --quiet). Exit status: 0 only if the summary line was seen with no
# failure, no unexpected skip, and none of the kernel reports that
# tests/guest/klog.sh lists (BUG, WARNING, Oops, UBSAN, RCU stall, ...) on
# the console; 1 otherwise (124 on timeout).
#
# Watchdog: while the guest runs, the console is read every second; when
# the kernel reports a soft or hard lockup, an RCU stall, a hung task, a
# panic or an oops (KLOG_FATAL_RE), the guest is ended a few seconds later
# (CLEARDF_WATCHDOG_GRACE, 5, lets the report finish) and boot.sh fails
# naming the test that was running (run-suite's "# running:" lines) and
# printing the report. CLEARDF_WATCHDOG=0 lets such a guest run on.
#
# FILTER selects tests by name prefix or glob (see tests/guest/run-suite).
# --entry CMD runs CMD (bash) in the guest instead of the suite; the exit
# status is CMD's. --interactive keeps the terminal attached (for
# --entry bash). Environment: CLEARDF_KVM=1 uses KVM instead of TCG,
# CLEARDF_TIMEOUT (default 3600; debug row 10800) for the whole guest, CLEARDF_TEST_TIMEOUT
# (per test run, in the guest), CLEARDF_VERBOSE=1 (every test's output),
# CLEARDF_FUZZ_COUNT / CLEARDF_FUZZ_SEED (tests/t/45-fuzz.sh),
# CLEARDF_ALLOW_SKIP=1 (skips do not fail the run), CLEARDF_MEM (MiB, 2048),
# CLEARDF_SMP (2), CLEARDF_ICOUNT (TCG's -icount, e.g. shift=1,sleep=off;
# boots with CLEARDF_SMP=1 only). CLEARDF_KO / CLEARDF_SO: boot with this xt_CLEARDF.ko /
# libxt_CLEARDF.so instead of build/<row>/'s (the packaging test's
# DKMS-built ones: build/debs-artifacts/); the .ko must be for the row's ABI.
set -euo pipefail
HARNESS_NAME=boot
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"
# KLOG_BAD_RE, KLOG_FATAL_RE, KLOG_STAMP_RE (shared with the guest)
# shellcheck source=tests/guest/klog.sh
. "$(dirname "$0")/../guest/klog.sh"

# The whole script is this function, run by the last line: bash reads all of
# it before running any, so an edit of the file (or a checkout) during a
# long boot cannot derail the run's verdict.
main() {

# Bump when the base initramfs recipe changes.
BASE_RECIPE=4

usage() { sed -n '2,3p' "$0" | sed 's/^# /usage: /' >&2; exit 2; }

timeout_s=${CLEARDF_TIMEOUT:-3600}
entry=""
quiet=0
interactive=0
row_arg=""
filters=()
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift ;;
	--timeout=*) timeout_s=${1#*=} ;;
	--entry) [ $# -ge 2 ] || usage; entry=$2; shift ;;
	--entry=*) entry=${1#*=} ;;
	--quiet) quiet=1 ;;
	--interactive) interactive=1 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) if [ -z "$row_arg" ]; then row_arg=$1; else filters+=("$1"); fi ;;
	esac
	shift
done
resolve_row "$row_arg"
load_kernel_env
# The debug row's kernel (KASAN, lockdep, kmemleak under TCG) runs the
# suite about 3 times slower: 3 times the default timeouts.
if [ "$ROW" = debug ]; then
	[ -n "${CLEARDF_TIMEOUT:-}" ] || [ "$timeout_s" != 3600 ] || timeout_s=10800
	export CLEARDF_TEST_TIMEOUT=${CLEARDF_TEST_TIMEOUT:-1800}
fi
[ -d "$BUILD_DIR" ] || die "nothing built for $ROW: run tests/harness/build.sh $ROW"
lock_tree_row

BASE_CPIO=$ROW_CACHE/initramfs-base.cpio
MODSTAGE=$ROW_CACHE/modstage

# ---------------------------------------------------------------- base

# Paths of the chroot the guest does not need (relative, as find prints).
EXCLUDES=(
	./build ./proc ./sys ./dev/pts ./usr/src ./usr/include
	./usr/share/doc ./usr/share/man ./usr/share/info ./usr/share/locale
	./usr/share/i18n ./usr/share/lintian ./usr/share/bash-completion
	./usr/share/zoneinfo ./usr/share/common-licenses ./usr/share/gcc
	./var/lib/apt/lists ./var/cache/apt ./var/cache/debconf ./var/log
	./var/lib/dpkg/info
	./usr/lib/gcc ./usr/libexec/gcc ./usr/lib/modules ./usr/lib/python3
	"./usr/lib/$TRIPLET/perl" ./usr/share/perl ./usr/share/perl5
	"./usr/lib/$TRIPLET/ldscripts" ./usr/lib/bfd-plugins
)
# Files by name: compilers, binutils, static libraries.
EXCLUDE_NAMES=(
	'*.a' 'cc1' 'cc1plus' 'lto1' 'lto-wrapper' '*-linux-gnu-*' 'gcc' 'gcc-[0-9]*'
	'cpp' 'cpp-[0-9]*' 'libbfd*' 'libopcodes*' 'libctf*' 'libgprofng*'
	'libasan*' 'libtsan*' 'liblsan*' 'libubsan*' 'libhwasan*' 'libcc1*'
)

# Modules of the row's kernel the guest may need: net, crypto, lib, the
# virtual network drivers, the arch crypto code.
stage_modules() {
	local src=$KMOD_DIR dst d
	rm -rf "$MODSTAGE"
	dst=$MODSTAGE$GUEST_MODDIR
	mkdir -p "$dst/kernel"
	(
		cd "$src"
		find kernel/drivers/net -maxdepth 1 -type f 2>/dev/null || true
		find kernel/net kernel/crypto kernel/lib kernel/arch/*/crypto \
			\( -path 'kernel/net/wireless' -o -path 'kernel/net/mac80211' \
			-o -path 'kernel/net/bluetooth' -o -path 'kernel/net/ceph' \
			-o -path 'kernel/net/sunrpc' -o -path 'kernel/net/nfc' \) -prune -o -type f -print 2>/dev/null || true
		for d in bonding ipvlan team vxlan wireguard; do
			[ -d "kernel/drivers/net/$d" ] && find "kernel/drivers/net/$d" -type f
		done
		ls modules.order modules.builtin modules.builtin.modinfo 2>/dev/null || true
	) | sort -u | (cd "$src" && tar -T - -cf -) | tar -xf - -C "$dst"
	# Newer split packages (sid's linux-modules-ABI) lack these; the
	# headers package installs them in the chroot.
	local f
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -e "$dst/$f" ] && continue
		for d in "$CHROOT/usr/lib/modules/$ABI" "$CHROOT/lib/modules/$ABI"; do
			if [ -f "$d/$f" ]; then cp "$d/$f" "$dst/"; break; fi
		done
		[ -e "$dst/$f" ] || log "$ROW: the kernel package has no $f"
	done
	# host depmod expects <base>/lib/modules
	if [ "${GUEST_MODDIR#/usr}" != "$GUEST_MODDIR" ]; then
		ln -s usr/lib "$MODSTAGE/lib"
	fi
	depmod -b "$MODSTAGE" "$ABI"
}

make_base() {
	local key t0 tmp
	key="recipe=$BASE_RECIPE $(cat "$ROW_CACHE/stamp") $(stat -c %Y "$ROW_CACHE/kernel.env")"
	if [ -f "$BASE_CPIO" ] && [ "$(cat "$BASE_CPIO.key" 2>/dev/null)" = "$key" ] && [ -d "$MODSTAGE" ]; then
		return 0
	fi
	t0=$(now_s)
	log "$ROW: packing the base initramfs (once per prepared row)"
	stage_modules
	tmp=$BASE_CPIO.tmp
	local -a prune=() names=()
	local p
	for p in "${EXCLUDES[@]}"; do prune+=(-path "$p" -o); done
	for p in "${EXCLUDE_NAMES[@]}"; do names+=(-name "$p" -o); done
	(
		cd "$CHROOT"
		# keep the mount points, drop their content
		printf '%s\n' ./proc ./sys ./dev/pts
		find . \( "${prune[@]}" -false \) -prune -o \( -type f \( "${names[@]}" -false \) \) -o -print
	) | (cd "$CHROOT" && cpio -o -H newc -R 0:0 --quiet) >"$tmp"
	# the modules (without the host-only lib symlink)
	(cd "$MODSTAGE" && find . \( -path ./lib -type l \) -prune -o -print | cpio -o -H newc -R 0:0 --quiet) >>"$tmp"
	mv "$tmp" "$BASE_CPIO"
	printf '%s\n' "$key" >"$BASE_CPIO.key"
	log "$ROW: base initramfs $(du -h "$BASE_CPIO" | cut -f1) in $(elapsed "$t0") s"
}

with_lock "$ROW_CACHE/lock" make_base

# ---------------------------------------------------------------- payload

PAYLOAD=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-payload.XXXXXX")
trap 'rm -rf "$PAYLOAD"' EXIT
INITRD=$BUILD_DIR/initrd.cpio
CONSOLE=$BUILD_DIR/console.log

install -D -m 0755 "$TREE/tests/guest/init" "$PAYLOAD/init"
# /cleardf is a copy of the source tree (tests read tables such as
# userspace-ext/*.t from it), without the host-side harness.
mkdir -p "$PAYLOAD/cleardf/bin"
if git -C "$TREE" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$TREE" && git ls-files -co --exclude-standard -z) |
		(cd "$TREE" && while IFS= read -r -d '' f; do
			case "$f" in build/* | tests/harness/* | debian/* | .ci/*) continue ;; esac
			[ -f "$f" ] && printf '%s\0' "$f"
		done) | (cd "$TREE" && tar --null -T - -cf -) | tar -xf - -C "$PAYLOAD/cleardf"
else
	(cd "$TREE" && tar --exclude=./build --exclude=./.git --exclude=./tests/harness -cf - .) |
		tar -xf - -C "$PAYLOAD/cleardf"
fi
if [ -d "$BUILD_DIR/tools" ]; then
	cp -a "$BUILD_DIR/tools/." "$PAYLOAD/cleardf/bin/"
fi

have_module=no have_ext=no
KO_SRC=${CLEARDF_KO:-$BUILD_DIR/xt_CLEARDF.ko}
SO_SRC=${CLEARDF_SO:-$BUILD_DIR/libxt_CLEARDF.so}
[ -z "${CLEARDF_KO:-}" ] || [ -f "$KO_SRC" ] || die "CLEARDF_KO: no such file: $KO_SRC"
[ -z "${CLEARDF_SO:-}" ] || [ -f "$SO_SRC" ] || die "CLEARDF_SO: no such file: $SO_SRC"
if [ -n "${CLEARDF_KO:-}" ] && [ "$(modinfo -F vermagic "$KO_SRC" | awk '{print $1}')" != "$ABI" ]; then
	die "CLEARDF_KO=$KO_SRC is for $(modinfo -F vermagic "$KO_SRC" | awk '{print $1}'), the $ROW guest runs $ABI"
fi
if [ -f "$KO_SRC" ]; then
	# depmod on a hard-linked copy of the staged modules plus ours; the
	# payload carries the new index files and the module.
	mods=$PAYLOAD/.mods
	mkdir -p "$mods$GUEST_MODDIR"
	cp -al "$MODSTAGE$GUEST_MODDIR/kernel" "$mods$GUEST_MODDIR/"
	cp "$MODSTAGE$GUEST_MODDIR"/modules.{order,builtin,builtin.modinfo} "$mods$GUEST_MODDIR/" 2>/dev/null || true
	install -D -m 0644 "$KO_SRC" "$mods$GUEST_MODDIR/updates/xt_CLEARDF.ko"
	[ "${GUEST_MODDIR#/usr}" = "$GUEST_MODDIR" ] || ln -s usr/lib "$mods/lib"
	depmod -b "$mods" "$ABI"
	mkdir -p "$PAYLOAD$GUEST_MODDIR"
	cp -a "$mods$GUEST_MODDIR/updates" "$mods$GUEST_MODDIR"/modules.* "$PAYLOAD$GUEST_MODDIR/"
	rm -rf "$mods"
	have_module=yes${CLEARDF_KO:+ ($KO_SRC)}
fi
if [ -f "$SO_SRC" ]; then
	install -D -m 0644 "$SO_SRC" "$PAYLOAD$XTLIBDIR/libxt_CLEARDF.so"
	have_ext=yes${CLEARDF_SO:+ ($SO_SRC)}
fi

{
	echo "CLEARDF_ROW=$ROW"
	echo "CLEARDF_USER_SUITE=$USER_SUITE"
	echo "CLEARDF_ABI=$ABI"
	echo "CLEARDF_XTLIBDIR=$XTLIBDIR"
	echo "export CLEARDF_SRC=/cleardf"
	[ -z "${CLEARDF_TEST_TIMEOUT:-}" ] || echo "export CLEARDF_TEST_TIMEOUT=${CLEARDF_TEST_TIMEOUT}"
	[ -z "${CLEARDF_VERBOSE:-}" ] || echo "export CLEARDF_VERBOSE=${CLEARDF_VERBOSE}"
	# the fuzzer's settings (tests/t/45-fuzz.sh), numbers only
	env | grep -E '^CLEARDF_FUZZ_[A-Z]+=[0-9]+$' | sed 's/^/export /' || true
} >"$PAYLOAD/cleardf/config"
if [ -n "$entry" ]; then
	printf '#!/bin/bash\ncd /cleardf/tests || exit 1\n%s\n' "$entry" >"$PAYLOAD/cleardf/entry"
	chmod 0755 "$PAYLOAD/cleardf/entry"
fi

# Only directories that are real directories in the base may appear in the
# payload: a cpio entry "lib" would replace the base's /lib symlink.
(cd "$PAYLOAD" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$PAYLOAD.cpio"
cat "$BASE_CPIO" "$PAYLOAD.cpio" >"$INITRD"
rm -f "$PAYLOAD.cpio"

# ---------------------------------------------------------------- boot

accel=(-accel tcg -cpu max)
if [ "$FOREIGN" = 1 ]; then
	# the machine and CPU come with the row (common.sh resolve_arch)
	accel=(-accel tcg)
	[ -z "${CLEARDF_ICOUNT:-}" ] || accel+=(-icount "$CLEARDF_ICOUNT")
elif [ "${CLEARDF_KVM:-0}" = 1 ]; then
	accel=(-accel kvm -cpu host)
elif [ -n "${CLEARDF_ICOUNT:-}" ]; then
	# guest time counts instructions, not the host's time (bench/run.sh)
	accel+=(-icount "$CLEARDF_ICOUNT")
fi
append="console=$CONSOLE_DEV panic=-1 loglevel=5 random.trust_cpu=on printk.devkmsg=on"
# the test filter travels on the kernel command line: cleardf.filter=a,b
if [ ${#filters[@]} -gt 0 ]; then
	local IFS=,
	append="$append cleardf.filter=${filters[*]}"
	unset IFS
fi
append="$append${CLEARDF_APPEND:+ $CLEARDF_APPEND}"
qemu=("${QEMU[@]}" "${accel[@]}" -m "$QEMU_MEM" -smp "$QEMU_SMP"
	-nic none -nographic -no-reboot
	-kernel "$VMLINUZ" -initrd "$INITRD" -append "$append")

log "$ROW: booting $ABI (module: $have_module, extension: $have_ext${filters[*]:+, filter: ${filters[*]}}), timeout $timeout_s s"
t0=$(now_s)
set +e
if [ $interactive = 1 ]; then
	timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" 2>&1 | tee "$CONSOLE"
	rc=${PIPESTATUS[0]}
else
	# A guest that has not reached /init after boot_timeout seconds is
	# stuck in early boot (seen under TCG on a loaded host): no test has
	# run yet, so it is killed and booted again, up to boot_retries times.
	local boot_timeout=${CLEARDF_BOOT_TIMEOUT:-300} boot_retries=${CLEARDF_BOOT_RETRIES:-2}
	local attempt=0 qpid tpid start now booted fatal_at
	local watchdog=${CLEARDF_WATCHDOG:-1} grace=${CLEARDF_WATCHDOG_GRACE:-5}
	while :; do
		: >"$CONSOLE"
		"${qemu[@]}" </dev/null >"$CONSOLE" 2>&1 &
		qpid=$!
		tpid=""
		if [ $quiet = 0 ]; then
			tail -f -n +1 --pid="$qpid" "$CONSOLE" &
			tpid=$!
		fi
		start=$SECONDS booted=0 rc="" fatal_at=""
		while kill -0 "$qpid" 2>/dev/null; do
			sleep 1
			now=$((SECONDS - start))
			if [ $booted = 0 ] && grep -aq '^cleardf-guest: kernel' "$CONSOLE"; then
				booted=1
			fi
			# The watchdog: a lockup, stall, hung task, panic or oops on
			# the console ends the guest $grace s later (the rest of the
			# report comes meanwhile).
			if [ "$watchdog" != 0 ] && [ -z "$fatal_at" ] && fatal_scan "$CONSOLE"; then
				fatal_at=$now
				log "$ROW: the kernel reports \"$FATAL_LINE\"${FATAL_TEST:+ while running $FATAL_TEST}: ending the guest in $grace s"
			fi
			if [ -n "$fatal_at" ] && [ $((now - fatal_at)) -ge "$grace" ]; then
				kill "$qpid" 2>/dev/null
				rc=wedged
				# before /init, no test has run: boot again, as for a hang
				[ $booted = 1 ] || rc=boot-hang
				break
			fi
			if [ $booted = 0 ] && [ $now -ge "$boot_timeout" ]; then
				kill "$qpid" 2>/dev/null
				rc=boot-hang
				break
			fi
			if [ $now -ge "$timeout_s" ]; then
				kill "$qpid" 2>/dev/null
				rc=124
				break
			fi
		done
		if [ -z "$rc" ]; then
			wait "$qpid"
			rc=$?
		else
			wait "$qpid" 2>/dev/null
		fi
		[ -z "$tpid" ] || wait "$tpid" 2>/dev/null
		if [ "$rc" = boot-hang ]; then
			if [ -n "$fatal_at" ]; then
				echo "boot.sh: the kernel reported a lockup, stall or crash before /init" >>"$CONSOLE"
			else
				echo "boot.sh: the guest did not reach /init in $boot_timeout s" >>"$CONSOLE"
			fi
			cp "$CONSOLE" "$CONSOLE.hang$attempt"
			if [ $attempt -lt "$boot_retries" ]; then
				attempt=$((attempt + 1))
				log "$ROW: the guest did not reach /init ($([ -n "$fatal_at" ] && echo "the kernel reported: $FATAL_LINE" || echo "in $boot_timeout s"); console kept in $CONSOLE.hang$((attempt - 1))); booting again ($attempt of $boot_retries)"
				continue
			fi
			rc=125
		fi
		break
	done
fi
set -e
dt=$(elapsed "$t0")

# ---------------------------------------------------------------- verdict

clean=$BUILD_DIR/console.txt
tr -d '\r\000' <"$CONSOLE" >"$clean"
problems=()
# The kernel's first lockup/stall/hung-task/panic/oops report, whether the
# watchdog ended the guest for it or the guest went down by itself (a
# panic reboots, and -no-reboot makes QEMU exit).
fatal=no
rm -f "$BUILD_DIR/kernel-report.txt"
if fatal_scan "$clean"; then
	fatal=yes
	printf '%s\n' "$FATAL_TRACE" >"$BUILD_DIR/kernel-report.txt"
	if [ "$rc" = wedged ]; then
		problems+=("watchdog: the kernel reported \"$FATAL_LINE\" while running ${FATAL_TEST:-?}; the guest was ended ${grace} s later (report below and in $BUILD_DIR/kernel-report.txt)")
	else
		problems+=("the kernel reported \"$FATAL_LINE\" while running ${FATAL_TEST:-?} (report below and in $BUILD_DIR/kernel-report.txt)")
	fi
fi
if [ "$rc" = wedged ]; then
	[ $fatal = yes ] || problems+=("watchdog: the guest was ended (the report is not in the console any more?)")
elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	problems+=("timeout: the guest did not finish in $timeout_s s")
elif [ "$rc" = 125 ]; then
	problems+=("the guest never reached /init (early boot hang, $((boot_retries + 1)) tries)")
elif [ "$rc" != 0 ]; then
	problems+=("qemu exited with status $rc")
fi
# Kernel messages carry a [ seconds ] stamp, on the console and in the
# dmesg dump alike.
klog_bad=$(grep -a -E "^$KLOG_STAMP_RE.*($KLOG_BAD_RE)" "$clean" | grep -v 'cleardf-suite:' | sort -u || true)
if [ -n "$klog_bad" ]; then
	problems+=("kernel log: $(printf '%s\n' "$klog_bad" | head -n 5)")
fi

summary="" entry_rc=""
passed=0 failed=0 skipped=0
if [ -n "$entry" ]; then
	entry_rc=$(sed -n 's/^cleardf-entry-exit: \([0-9]*\)$/\1/p' "$clean" | tail -n 1)
	if [ -z "$entry_rc" ]; then
		[ $fatal = yes ] || problems+=("the entry command never finished (hang or crash)")
	elif [ "$entry_rc" != 0 ]; then
		problems+=("the entry command exited with status $entry_rc")
	fi
else
	# The guest's kernel record first (printed whole, whatever else the
	# console carries), else its stdout line.
	record=$(grep -a -o -E 'cleardf-suite: summary: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped; skipped: .*' "$clean" | tail -n 1 || true)
	skip_names=""
	if [ -n "$record" ]; then
		summary=${record#cleardf-suite: summary: }
		summary=${summary%%;*}
		skip_names=${record#*; skipped: }
		[ "$skip_names" != none ] || skip_names=""
	else
		summary=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$clean" | tail -n 1 || true)
	fi
	if [ -z "$summary" ]; then
		[ $fatal = yes ] || problems+=("no summary line from the guest (hang or crash)")
	else
		read -r passed _ failed _ skipped _ <<<"$summary"
		[ "$failed" = 0 ] || problems+=("$failed failed")
	fi
	# Skips fail the run unless tests/expect/<row> (or tests/expect/all)
	# lists them as `skip NAME`, or CLEARDF_ALLOW_SKIP=1.
	if [ "$skipped" != 0 ]; then
		unexpected=""
		while read -r name; do
			if ! grep -qsE "^skip[[:space:]]+$name([[:space:]]|$)" "$TREE/tests/expect/$ROW" "$TREE/tests/expect/all"; then
				unexpected="$unexpected $name"
			fi
		done < <({
			# shellcheck disable=SC2086 # a list of words
			printf '%s\n' $skip_names
			sed -n 's/^ok [0-9]* - \([^ ]*\).* # SKIP .*/\1/p' "$clean"
		} | grep -v '^$' | sort -u)
		if [ -n "$unexpected" ]; then
			if [ "${CLEARDF_ALLOW_SKIP:-0}" = 1 ]; then
				log "skipped (allowed by CLEARDF_ALLOW_SKIP):$unexpected"
			else
				problems+=("skipped, not expected in tests/expect/$ROW:$unexpected")
			fi
		fi
	fi
fi

# The one failure that says nothing of the module: the guest's summary
# never reached the host, the guest was not ended for a hang, and the
# kernel reported nothing. matrix.sh runs such a row once more.
lost_summary=no
if [ -z "$entry" ] && [ -z "$summary" ] && [ $fatal = no ] && [ -z "$klog_bad" ] &&
	[ "$rc" != wedged ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] && [ "$rc" != 125 ]; then
	lost_summary=yes
fi
cat >"$BUILD_DIR/result.env" <<EOF
ROW=$ROW
ABI=$ABI
PASSED=$passed
FAILED=$failed
SKIPPED=$skipped
BOOT_SECONDS=$dt
OK=$([ ${#problems[@]} = 0 ] && echo yes || echo no)
LOST_SUMMARY=$lost_summary
EOF

if [ ${#problems[@]} = 0 ]; then
	log "$ROW ($ABI): ${summary:-entry exited 0}; kernel log clean; ${dt} s (console: $CONSOLE)"
	exit 0
fi
for p in "${problems[@]}"; do log "$ROW ($ABI): FAILED: $p"; done
if [ $fatal = yes ]; then
	log "$ROW ($ABI): the kernel's report:"
	printf '%s\n' "$FATAL_TRACE" | sed 's/^/    /' >&2
fi
log "$ROW ($ABI): ${summary:-no summary}; ${dt} s (console: $CONSOLE)"
if [ -n "$entry_rc" ] && [ "$entry_rc" != 0 ] && [ ${#problems[@]} = 1 ]; then
	exit "$entry_rc"
fi
[ "$rc" = 124 ] && exit 124
exit 1
}

# fatal_scan CONSOLE: finds the kernel's first report of a lockup, RCU
# stall, hung task, panic or oops (KLOG_FATAL_RE) in the console file. Sets
# FATAL_LINE (that line, from its time stamp on), FATAL_TEST (the run the
# last "# running:" line before it names, "between tests (after ...)" when
# that run had ended, "the --entry command", or "the boot" before /init)
# and FATAL_TRACE (the kernel lines from there, at most 80). Status 1 when
# there is no such report.
fatal_scan() {
	local f=$1 hit ln last
	FATAL_LINE="" FATAL_TEST="" FATAL_TRACE=""
	hit=$(grep -a -n -E "$KLOG_STAMP_RE.*($KLOG_FATAL_RE)" "$f" | grep -av 'cleardf-suite:' | head -n 1 || true)
	[ -n "$hit" ] || return 1
	ln=${hit%%:*}
	FATAL_LINE=$(printf '%s\n' "${hit#*:}" | tr -d '\r\000' | sed -E "s/^.*($KLOG_STAMP_RE)/\1/")
	last=$(head -n "$ln" "$f" | tr -d '\r\000' |
		grep -a -E '# running: [0-9]+ - |^(not )?ok [0-9]+ - |^cleardf-guest: (kernel|running /cleardf/entry)' | tail -n 1 || true)
	case $last in
	*"# running: "*) FATAL_TEST=${last#*# running: [0-9]* - } ;;
	"cleardf-guest: running /cleardf/entry"*) FATAL_TEST="the --entry command" ;;
	"cleardf-guest: kernel"*) FATAL_TEST="the guest's setup (no test had started)" ;;
	"") FATAL_TEST="the boot (before /init)" ;;
	*) FATAL_TEST="no test (between tests, after: $last)" ;;
	esac
	FATAL_TRACE=$(tail -n +"$ln" "$f" | tr -d '\r\000' | grep -a -E "$KLOG_STAMP_RE" | grep -av 'cleardf-suite:' | head -n 80 || true)
	return 0
}

main "$@"; exit
