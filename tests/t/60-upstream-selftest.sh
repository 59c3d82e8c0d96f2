#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 60-upstream-selftest: the kselftest of the kernel patch series
# (upstream/selftest/xt_cleardf.sh; `make upstream` puts it among the target
# tree's netfilter selftests) passes here: a big DF ping through a PMTUD
# black hole is lost without CLEARDF and answered with it, no packet
# arrives with DF, and the target is refused in INPUT, in the filter table
# and by ip6tables. Its exit status is kselftest's (0 pass, 4 skip).
#
# With cleardf.upstream=1 on the kernel command line (upstream/check.sh
# --guest boots so, with the module built in the patched kernel tree) the
# loaded module must be that one: modinfo says "intree: Y" and has no
# version, and the kernel's taint of it has no O (out-of-tree). The
# project's own module has a version and taints with O.

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

SELFTEST=${CLEARDF_SRC:-/cleardf}/upstream/selftest/xt_cleardf.sh
[ -f "$SELFTEST" ] || skip "no $SELFTEST in the guest"
require_cmd ip ping iptables ip6tables
require_cleardf

if grep -qw 'cleardf.upstream=1' /proc/cmdline; then
	assert_eq Y "$(modinfo -F intree xt_CLEARDF)" "modinfo -F intree xt_CLEARDF (the in-tree build)"
	assert_eq "" "$(modinfo -F version xt_CLEARDF)" "modinfo -F version xt_CLEARDF (none in-tree)"
	taint=$(cat /sys/module/xt_CLEARDF/taint)
	assert_no_match O "$taint" "the loaded module's taint flags (O: out-of-tree)"
	info "the loaded xt_CLEARDF is the in-tree build: intree Y, no version, taint '$taint'"
fi

rc=0
out=$(bash "$SELFTEST" 2>&1) || rc=$?
printf '%s\n' "$out" | indent
[ $rc != 4 ] || skip "the kselftest skipped: $(grep '^SKIP' <<<"$out" | head -n 1)"
assert_eq 0 "$rc" "the kselftest's exit status"
assert_no_match '^FAIL' "$out" "the kselftest's output"
# every check reported, none silently left out
assert_eq 8 "$(grep -c '^PASS: ' <<<"$out")" "PASS lines of the kselftest"
