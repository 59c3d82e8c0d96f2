#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftest-watchdog.sh [ROW]
#
# Proves, in two guests of ROW (default bookworm; build.sh must have run),
# that boot.sh's verdict catches what the kernel reports, without a real
# lockup:
#   1. watchdog: the guest writes a fake soft-lockup line at KERN_EMERG to
#      /dev/kmsg (it reaches the console) and sleeps 3600 s. boot.sh must
#      end it, fail (non-zero), name the running command and print the
#      report, in under 90 s from boot.sh's start (boot included).
#   2. kernel-log check: a copy of run-suite runs fake tests that each
#      write one line of KLOG_BAD_RE (UBSAN:, rcu: INFO, KASAN:, ...) at
#      KERN_INFO (off the console) and exit 0: each must be `not ok`, a
#      control test with BUG/WARNING in its name that writes a harmless
#      line must be `ok`, and boot.sh must fail on the dumped kernel log
#      without the watchdog firing.
# Exit status: 0 when both hold, 1 otherwise.
set -euo pipefail
HARNESS_NAME=selftest-watchdog
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/common.sh"

row=${1:-bookworm}
out=$(mktemp -d "${TMPDIR:-/tmp}/selftest-watchdog.XXXXXX")
trap 'rm -rf "$out"' EXIT
failures=0
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then
		log "ok: $d"
	else
		log "FAILED: $d"
		failures=$((failures + 1))
	fi
}
has() { grep -qF -- "$2" "$1"; }

# ---------------------------------------------------------------- 1. watchdog

# shellcheck disable=SC2016 # expanded in the guest
entry1='echo "softlockup_all_cpu_backtrace=$(cat /proc/sys/kernel/softlockup_all_cpu_backtrace)"
echo "<0>watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [x:1]" >/dev/kmsg
sleep 3600'
log "1. fake soft lockup, then sleep 3600 (boot.sh must end the guest)"
t0=$(date +%s)
# each line of boot.sh's output with the host's time when it came
set +e
CLEARDF_TIMEOUT=600 "$HARNESS_DIR/boot.sh" "$row" --quiet --entry "$entry1" 2>&1 |
	while IFS= read -r l; do printf '%s %s\n' "$(date +%s)" "$l"; done >"$out/1.stamped"
rc=${PIPESTATUS[0]}
set -e
t1=$(date +%s)
dt=$((t1 - t0))
cut -d' ' -f2- "$out/1.stamped" >"$out/1.log"
sed 's/^/    /' "$out/1.log"
seen=$(grep -m1 'the kernel reports' "$out/1.stamped" | cut -d' ' -f1 || true)
gap=$((t1 - ${seen:-$t0}))
log "1. boot.sh exited with $rc after $dt s, $gap s after it saw the report"
check "1. boot.sh exits non-zero (seen $rc)" [ "$rc" != 0 ]
check "1. boot.sh ends within 90 s, boot included (seen $dt s)" [ "$dt" -lt 90 ]
check "1. boot.sh saw the report while the guest ran" [ -n "$seen" ]
check "1. boot.sh ends within 15 s of seeing it (seen $gap s)" [ "$gap" -le 15 ]
check "1. the verdict says the watchdog ended the guest on the soft lockup" \
	grep -qE 'FAILED: watchdog: the kernel reported ".*watchdog: BUG: soft lockup - CPU#0 stuck for 22s! \[x:1\]" while running the --entry command' "$out/1.log"
check "1. the kernel's report is printed" has "$out/1.log" "the kernel's report:"
console=$(sed -n 's/.*(console: \(.*\))$/\1/p' "$out/1.log" | tail -n 1)
check "1. the guest's /init set kernel.softlockup_all_cpu_backtrace=1" has "${console%.log}.txt" "softlockup_all_cpu_backtrace=1"

# ---------------------------------------------------------------- 2. kernel-log check

# Lines of KLOG_BAD_RE that are not fatal (the dump of dmesg at the end of
# the suite puts them on the console, where the watchdog must not fire).
bad_lines=(
	'UBSAN: shift-out-of-bounds in fake.c:1:2'
	'rcu: INFO: fake report'
	'hung_task: fake report'
	'INFO: task fake:1 blocked for more than a fake while'
	'fake0: hw csum failure'
	'fake: page allocation failure: order:0, mode:0x0'
	'unregister_netdevice: waiting for fake0 to become free. Usage count = 2'
	'KASAN: fake report'
	'fake: possible circular locking dependency detected'
	'fake: inconsistent lock state'
	'fake: possible recursive locking detected'
	'WARNING: fake report'
	'refcount_t: fake report'
)
# shellcheck disable=SC2016 # expanded in the guest
entry2='set -e
d=/tmp/fake-suite
mkdir -p $d/t
cp -a /cleardf/tests/guest $d/
n=10'
for l in "${bad_lines[@]}"; do
	entry2+="
n=\$((n + 1))
printf '#!/bin/bash\\necho \"<6>%s\" >/dev/kmsg\\nexit 0\\n' '$l' >\$d/t/\$n-fake.sh"
done
entry2+="
printf '#!/bin/bash\\necho \"<6>fake: all is well\" >/dev/kmsg\\nexit 0\\n' >\$d/t/99-control-BUG-WARNING.sh
set +e
\$d/guest/run-suite"
log "2. fake kernel-log lines in fake tests (each must fail)"
rc=0
CLEARDF_TIMEOUT=600 "$HARNESS_DIR/boot.sh" "$row" --quiet --entry "$entry2" >"$out/2.log" 2>&1 || rc=$?
sed 's/^/    /' "$out/2.log"
console=$(sed -n 's/.*(console: \(.*\))$/\1/p' "$out/2.log" | tail -n 1)
console=${console%.log}.txt
log "2. boot.sh exited with $rc; guest console: $console"
check "2. boot.sh exits non-zero (seen $rc)" [ "$rc" != 0 ]
check "2. the watchdog did not fire" bash -c "! grep -q 'watchdog:' '$out/2.log'"
check "2. boot.sh's console check names the UBSAN line" grep -qE 'FAILED: kernel log: .*UBSAN: shift-out-of-bounds' "$out/2.log"
i=10
for l in "${bad_lines[@]}"; do
	i=$((i + 1))
	check "2. test $i-fake ($l) is not ok" grep -qE "^not ok [0-9]+ - $i-fake$" "$console"
done
check "2. the control test (BUG, WARNING in its name, harmless line) is ok" grep -qE '^ok [0-9]+ - 99-control-BUG-WARNING$' "$console"

if [ $failures = 0 ]; then
	log "all checks passed (1: $dt s, $gap s after the report)"
	exit 0
fi
log "$failures checks failed"
exit 1
