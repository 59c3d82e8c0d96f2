#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 44-kernel-checks: the kernel's own refusals, which the iptables extension
# hides by refusing first (it never sends unknown flag bits, an IPv6 rule,
# a wrong size). tests/tools/xtsetrule writes the ruleset itself and hands
# it over with a raw setsockopt(IPT_SO_SET_REPLACE / IP6T_SO_SET_REPLACE):
# every built-in chain of the table with policy ACCEPT, one rule with a
# CLEARDF target entry whose flags byte, size, table and chain it chooses.
# This is the x_tables (legacy) interface, whatever iptables front end the
# system uses.
#  - flags 0 and 1 in mangle PREROUTING (and 0 in FORWARD, OUTPUT and
#    POSTROUTING) are accepted, and iptables-legacy-save shows the rule;
#  - every flags value from 2 to 255 is refused with EINVAL by the
#    module's checkentry, which logs "xt_CLEARDF: unknown flags 0x..";
#    the ruleset installed before stays;
#  - IPv6 is refused by the IPv6 entry's checkentry, which logs that IPv6
#    has no DF bit;
#  - INPUT and the filter table are refused by the x_tables core (the
#    target declares its table and hooks), with the core's log lines;
#  - a target entry of the wrong size is refused by the core.
# Kernel log lines are rate-limited (10 per 5 s per call site): a missing
# line is looked for once more after 5.5 s.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip dmesg xtsetrule iptables-legacy-save ip6tables-legacy-save
require_cleardf
# the sockopts belong to ip_tables and ip6_tables; the tables load on demand
require_module ip_tables ip6_tables iptable_mangle iptable_filter ip6table_mangle

NS=kc-a
ns_create "$NS"

# accepted WHAT ARGS...: xtsetrule ARGS... must be accepted.
accepted() {
	local what=$1 out rc=0
	shift
	out=$(nsx "$NS" xtsetrule "$@" 2>&1) || rc=$?
	[ $rc = 0 ] || fail "$what: expected the kernel to accept 'xtsetrule $*', saw exit $rc: $out"
	assert_eq "result=ok" "$(grep -o 'result=.*' <<<"$out")" "$what: xtsetrule's result"
}

# refused WHAT REGEX ARGS...: xtsetrule ARGS... must be refused with EINVAL
# and the kernel log must then have a line matching REGEX.
refused() {
	local what=$1 re=$2 attempt before out rc log=""
	shift 2
	for attempt in 1 2; do
		before=$(dmesg | wc -l)
		rc=0
		out=$(nsx "$NS" xtsetrule "$@" 2>&1) || rc=$?
		[ $rc = 1 ] || fail "$what: expected 'xtsetrule $*' to be refused (exit 1), saw exit $rc: $out"
		assert_eq "result=EINVAL" "$(grep -o 'result=.*' <<<"$out")" "$what: the kernel's answer"
		log=$(dmesg | tail -n +"$((before + 1))")
		if grep -Eq -- "$re" <<<"$log"; then
			info "$what: EINVAL; kernel log: $(grep -E -- "$re" <<<"$log" | head -n 1)"
			return 0
		fi
		[ $attempt = 1 ] && sleep 5.5
	done
	fail "$what: kernel log: expected a line matching /$re/, saw: ${log:-nothing}"
}

mangle_rules() { nsx "$NS" iptables-legacy-save -t mangle | grep -- '^-A ' || true; }

# --- accepted ----------------------------------------------------------------
accepted "flags 0 in mangle PREROUTING" -f 0
assert_eq "-A PREROUTING -j CLEARDF" "$(mangle_rules)" "the rule installed (iptables-legacy-save)"
for h in FORWARD OUTPUT POSTROUTING; do
	accepted "flags 0 in mangle $h" -H "$h" -f 0
	assert_eq "-A $h -j CLEARDF" "$(mangle_rules)" "the rule installed in $h (iptables-legacy-save)"
done
accepted "flags 1 (--keep-id) in mangle PREROUTING" -f 1
assert_eq "-A PREROUTING -j CLEARDF --keep-id" "$(mangle_rules)" "the rule installed (iptables-legacy-save)"

# --- unknown flags -------------------------------------------------------------
refused "flags 0x80" 'xt_CLEARDF: unknown flags 0x80: update the module' -f 0x80
before=$(dmesg | wc -l)
rc=0
out=$(nsx "$NS" xtsetrule -f 2-255 2>&1) || rc=$?
assert_eq 1 "$rc" "xtsetrule -f 2-255 exit status (1: refused)"
assert_eq 254 "$(grep -c '^flags=0x[0-9a-f]* result=' <<<"$out" || true)" "attempts with flags 2..255"
assert_eq "" "$(grep -v ' result=EINVAL$' <<<"$out" || true)" "flags values 2..255 not refused with EINVAL"
log=$(dmesg | tail -n +"$((before + 1))")
n=$(grep -c 'xt_CLEARDF: unknown flags 0x[0-9a-f]*: update the module' <<<"$log" || true)
info "flags 2..255: 254 times EINVAL, $n log lines (rate-limited)"
assert_ge 1 "$n" "kernel log lines 'xt_CLEARDF: unknown flags' for flags 2..255"
# only those lines (and the rate limiter's own) come from CLEARDF
assert_eq "" "$(grep -i 'cleardf' <<<"$log" | grep -v -e 'xt_CLEARDF: unknown flags 0x[0-9a-f]*: update the module' -e 'callbacks suppressed' || true)" \
	"other CLEARDF lines in the kernel log"
# a refused ruleset changes nothing
assert_eq "-A PREROUTING -j CLEARDF --keep-id" "$(mangle_rules)" "the rule in place after the refusals"

# --- refused by the IPv6 entry and by the core --------------------------------
refused "IPv6, mangle PREROUTING" 'xt_CLEARDF: refused for IPv6: IPv6 has no DF bit' -6 -f 0
refused "IPv6, flags 1" 'xt_CLEARDF: refused for IPv6: IPv6 has no DF bit' -6 -f 1
assert_eq "" "$(nsx "$NS" ip6tables-legacy-save -t mangle | grep -- '^-A ' || true)" "IPv6 mangle rules after the refusals"
refused "INPUT" 'ip_tables: CLEARDF target: used from hooks INPUT, but only usable from PREROUTING/FORWARD/OUTPUT/POSTROUTING' \
	-H INPUT -f 0
refused "filter table" 'ip_tables: CLEARDF target: only valid in mangle table, not filter' -t filter -H FORWARD -f 0
refused "target data of 16 bytes" 'ip_tables: CLEARDF\.0 target: invalid size 8 \(kernel\) != \(user\) 16' -s 16 -f 0
refused "target data of 0 bytes" 'ip_tables: CLEARDF\.0 target: invalid size 8 \(kernel\) != \(user\) 0' -s 0
assert_eq "-A PREROUTING -j CLEARDF --keep-id" "$(mangle_rules)" "the rule in place after the refusals"
assert_eq "" "$(nsx "$NS" iptables-legacy-save -t filter | grep -- '^-A ' || true)" "filter rules after the refusals"
exit 0
