#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 51-module-reload: insmod and rmmod xt_CLEARDF 100 times. Each time the
# target must be registered once loaded (the kernel lists it in
# /proc/net/ip_tables_targets) and gone once unloaded, and the kernel log
# must stay free of warnings. No iptables front end involved (the rules'
# side of the module's life is 50-lifecycle).
# A test that unloads the module: it loads it again before it ends.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd insmod rmmod modinfo modprobe dmesg
require_cleardf
on_exit modprobe xt_CLEARDF

MOD=xt_CLEARDF
SYS=/sys/module/$MOD
ROUNDS=${CLEARDF_RELOAD_ROUNDS:-100}
klog_start=$(dmesg | wc -l)

loaded() { [ -d "$SYS" ]; }
refcnt() { cat "$SYS/refcnt" 2>/dev/null || echo none; }
refcnt_is() { [ "$(refcnt)" = "$1" ]; }
# registered: CLEARDF is among the kernel's IPv4 xtables targets
registered() { grep -qx CLEARDF /proc/net/ip_tables_targets; }

# ip_tables makes /proc/net/ip_tables_targets; x_tables is what we link to
modprobe ip_tables
# Earlier tests' namespaces may still be on their way out.
wait_for 30 refcnt_is 0 || fail "$MOD is still in use before this test started: refcnt $(refcnt)"
KO=$(modinfo -n "$MOD")
info "module file: $KO"
rmmod "$MOD" || fail "rmmod $MOD before the rounds"
! registered || fail "CLEARDF still registered after rmmod"

t0=$(date +%s%N)
for ((i = 1; i <= ROUNDS; i++)); do
	insmod "$KO" || fail "insmod $KO (round $i)"
	loaded || fail "$MOD not loaded after insmod (round $i)"
	registered || fail "CLEARDF not in /proc/net/ip_tables_targets after insmod (round $i)"
	rmmod "$MOD" || fail "rmmod $MOD (round $i)"
	! loaded || fail "$MOD still loaded after rmmod (round $i)"
	! registered || fail "CLEARDF still in /proc/net/ip_tables_targets after rmmod (round $i)"
done
info "$ROUNDS rounds of insmod and rmmod in $((($(date +%s%N) - t0) / 1000000)) ms"
assert_ok "modprobe $MOD after the rounds" modprobe "$MOD"
registered || fail "CLEARDF not registered after the last modprobe"

klog=$(dmesg | tail -n +"$((klog_start + 1))" | grep -E 'BUG|WARNING|Oops|refcount|general protection' || true)
assert_eq "" "$klog" "kernel warnings during the test"
exit 0
