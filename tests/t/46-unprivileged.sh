#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 46-unprivileged: misuse by a user without privileges. An unprivileged
# user (nobody) with a user and network namespace of its own
# (`unshare -Urn`) holds CAP_NET_ADMIN there, so it reaches the target's
# checkentry with whatever it writes. With the module loaded:
#  - raw IPT_SO_SET_REPLACE (tests/tools/xtsetrule): all 256 flag values
#    (0 and 1 accepted, 2..255 refused with EINVAL), target data of 0, 4,
#    16, 64 and 256 bytes (refused), every hook of mangle (INPUT refused,
#    the four others accepted), every chain of filter, nat, raw and
#    security (refused), IPv6 (refused); an accepted rule is listed by
#    iptables-legacy-save inside the namespace;
#  - iptables-nft and ip6tables-nft in the namespace: mangle PREROUTING
#    accepted, INPUT, the filter table and IPv6 refused;
#  - the kernel log: the module's refusals come at most at their rate
#    (10 lines per 5 s per message), and the guest's log check fails the
#    run on any oops, WARNING, or KASAN/UBSAN/lockdep report.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd unshare setpriv xtsetrule iptables-nft ip6tables-nft iptables-legacy-save dmesg
require_cleardf
# loaded here: a user namespace cannot load modules
require_module ip_tables ip6_tables iptable_mangle iptable_filter iptable_nat \
	iptable_raw iptable_security ip6table_mangle nf_tables nft_compat

# unprivileged user namespaces (Debian's switch, where the kernel has it)
sysctl -qw kernel.unprivileged_userns_clone=1 2>/dev/null || true
sysctl -qw user.max_user_namespaces=1000 2>/dev/null || true

# as_user CMD...: CMD as nobody in a new user and network namespace.
as_user() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		unshare -Urn env PATH="$PATH" XTABLES_LOCKFILE=/tmp/xtables-46.lock "$@"
}
out=$(as_user id -u 2>&1) || skip "no unprivileged user namespace here: $out"
assert_eq 0 "$out" "uid inside the namespace"
assert_eq 65534 "$(setpriv --reuid=65534 --regid=65534 --clear-groups -- id -u)" "uid outside (nobody)"

# xt WHAT EXPECT ARGS...: xtsetrule ARGS as the user; every attempt must
# end with result=EXPECT (ok or EINVAL).
xt() {
	local what=$1 expect=$2 out rc=0 bad
	shift 2
	out=$(as_user xtsetrule "$@" 2>&1) || rc=$?
	case $expect in
	ok) [ $rc = 0 ] || fail "$what: expected 'xtsetrule $*' accepted, saw exit $rc: $out" ;;
	*) [ $rc = 1 ] || fail "$what: expected 'xtsetrule $*' refused (exit 1), saw exit $rc: $out" ;;
	esac
	bad=$(grep -v "result=$expect\$" <<<"$out" || true)
	[ -z "$bad" ] || fail "$what: expected result=$expect for every attempt, saw: $bad"
	[ -n "$out" ] || fail "$what: xtsetrule printed nothing"
}

# --- the 256 flag values, timed for the rate check --------------------------
before=$(dmesg | wc -l)
t0=$(date +%s%N)
rc=0
out=$(as_user xtsetrule -f 0-255 2>&1) || rc=$?
t1=$(date +%s%N)
assert_eq 1 "$rc" "xtsetrule -f 0-255 as nobody: exit status (1: some refused)"
assert_eq 256 "$(grep -c '^flags=0x[0-9a-f]* result=' <<<"$out" || true)" "attempts with flags 0..255"
assert_eq "flags=0x00 result=ok flags=0x01 result=ok" "$(head -n 2 <<<"$out" | tr '\n' ' ' | sed 's/ $//')" "flags 0 and 1"
assert_eq 254 "$(tail -n +3 <<<"$out" | grep -c ' result=EINVAL$' || true)" "flags 2..255 refused with EINVAL"
log=$(dmesg | tail -n +"$((before + 1))")
n=$(grep -c 'xt_CLEARDF: unknown flags' <<<"$log" || true)
secs=$(((t1 - t0) / 1000000000 + 1))
limit=$((10 * (secs / 5 + 2)))
info "flags 0..255 in ${secs} s: 254 refusals, $n log lines (limit $limit)"
assert_ge 1 "$n" "log lines for the refused flags"
assert_le "$limit" "$n" "log lines for 254 refusals in $secs s (10 per 5 s)"

# --- sizes, hooks, tables, IPv6 ------------------------------------------------
for s in 0 4 16 64 256; do
	xt "target data of $s bytes" EINVAL -s "$s" -f 0
done
for h in PREROUTING FORWARD OUTPUT POSTROUTING; do
	xt "mangle $h" ok -H "$h" -f 0
done
xt "mangle INPUT" EINVAL -H INPUT -f 0
for tc in filter:INPUT filter:FORWARD filter:OUTPUT nat:PREROUTING nat:INPUT nat:OUTPUT \
	nat:POSTROUTING raw:PREROUTING raw:OUTPUT security:INPUT security:FORWARD security:OUTPUT; do
	xt "table ${tc%%:*}, chain ${tc#*:}" EINVAL -t "${tc%%:*}" -H "${tc#*:}" -f 0
done
xt "IPv6" EINVAL -6 -f 0
xt "IPv6, --keep-id" EINVAL -6 -f 1

# an accepted rule is there, in the user's namespace
rules=$(as_user sh -c 'xtsetrule -f 1 >/dev/null && iptables-legacy-save -t mangle' 2>&1 | grep '^-A ' || true)
assert_eq "-A PREROUTING -j CLEARDF --keep-id" "$rules" "the rule in the user's namespace (iptables-legacy-save)"

# --- iptables-nft as the user -----------------------------------------------
rc=0
out=$(as_user sh -c 'iptables-nft -t mangle -A PREROUTING -j CLEARDF && iptables-nft -t mangle -S PREROUTING' 2>&1) || rc=$?
assert_eq 0 "$rc" "iptables-nft -t mangle -A PREROUTING -j CLEARDF as the user: exit status ($out)"
assert_match '^-A PREROUTING -j CLEARDF$' "$out" "iptables-nft -S as the user"
for cmd in "iptables-nft -t mangle -A INPUT -j CLEARDF" "iptables-nft -t filter -A FORWARD -j CLEARDF" \
	"ip6tables-nft -t mangle -A PREROUTING -j CLEARDF"; do
	rc=0
	# shellcheck disable=SC2086 # the command's words
	out=$(as_user $cmd 2>&1) || rc=$?
	assert_ne 0 "$rc" "'$cmd' as the user: exit status"
	[ -n "$out" ] || fail "'$cmd' as the user: refused without a message"
	info "'$cmd': exit $rc: $(head -n 1 <<<"$out")"
done
exit 0
