#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 20-extension: the iptables extension as a user meets it, in a fresh netns.
#  - every line of userspace-ext/libxt_CLEARDF.t applied in every chain it
#    names: OK lines are listed back by -S as expected and can be deleted,
#    FAIL lines fail with a message and leave nothing behind;
#  - -L -v and --help show the target;
#  - save | restore gives the same rules back; a bad restore line fails;
#  - the kernel refuses INPUT and tables other than mangle, and says why;
#    INPUT is refused through a user-defined chain too, in either order;
#  - ip6tables refuses, saying that IPv6 has no DF bit;
#  - iptables-translate prints what userspace-ext/libxt_CLEARDF.txlate
#    expects, and nft accepts the rules it prints.
# Exit 0 pass, 1 fail (kselftest convention).
#
# frontends: legacy nft
# suite: core

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# Table-driven: every mismatch is reported (ext_fail), the test fails once at
# the end. Many commands below are expected to fail: no errexit.
set +e

require_cmd ip "$IPT" "$IPT6" "$IPT_SAVE" "$IPT_RESTORE" dmesg
require_cleardf

EXT_DIR=${CLEARDF_SRC:-$TESTS_ROOT/..}/userspace-ext
for f in libxt_CLEARDF.t libxt_CLEARDF.txlate; do
	[ -r "$EXT_DIR/$f" ] || fail "$EXT_DIR/$f not found (set CLEARDF_SRC to the source tree)"
done

ext_failed=0
ext_fail() {
	printf 'FAIL: %s\n' "$1"
	shift
	[ $# -gt 0 ] && printf '      %s\n' "$@"
	ext_failed=$((ext_failed + 1))
}

ext_ns=cdf-ext
ext_ns2=cdf-nft
ns_create "$ext_ns"
in_ns() { nsx "$ext_ns" "$@"; }

# run CMD...: sets $out (stdout and stderr) and $rc.
run() {
	if out=$("$@" 2>&1); then rc=0; else rc=$?; fi
}

# has_line HAYSTACK LINE: HAYSTACK holds LINE as a whole line.
has_line() { grep -qxF -- "$2" <<<"$1"; }
# strip_save SAVED: iptables-save output without comments and counters.
strip_save() { grep -v -e '^#' -e '^:' <<<"$1"; }

info "$IPT, $IPT6, $IPT_SAVE, $IPT_RESTORE in netns $ext_ns"

# --- the .t table ------------------------------------------------------------
# One line of the table at a time, in all its chains: add it to each chain,
# list the table once, delete it from each chain, list once more. A listing
# is the slow part under TCG (iptables-nft reads the whole ruleset), so the
# table is listed per line, not per chain; every assertion still names the
# rule and the chain.
ok_rules=()	# "chain|rule" of every OK line, for the round trip
table=filter
chains=""
ntested=0
# fail_want RULE TABLE CHAIN: the message a refusal of RULE must contain.
fail_want() {
	# the kernel refuses a table or chain CLEARDF does not declare
	if [ "$2" != mangle ] || [ "$3" = INPUT ]; then
		echo 'Invalid argument'
		return
	fi
	case "$1" in
	*'--keep-id --keep-id'*) echo 'option "--keep-id" can only be used once' ;;
	*'! --keep-id'*) echo 'option "--keep-id" cannot be inverted' ;;
	*--bogus*) echo 'unknown option "--bogus"' ;;
	esac
}
while IFS= read -r line || [ -n "$line" ]; do
	case "$line" in
	'' | '#'*) continue ;;
	:*) chains=${line#:}; continue ;;
	\**) table=${line#\*}; continue ;;
	esac
	IFS=';' read -r rule expect verdict only <<<"$line"
	case "${only:-}" in
	NFT) [ "$FRONTEND" = nft ] || continue ;;
	LEGACY) [ "$FRONTEND" = legacy ] || continue ;;
	esac
	case "$verdict" in
	OK | FAIL) ;;
	*) ext_fail "bad line in libxt_CLEARDF.t: $line"; continue ;;
	esac
	[ "$expect" = "=" ] && expect=$rule
	read -ra words <<<"$rule"
	IFS=',' read -ra chain_list <<<"$chains"
	run in_ns "$IPT" -t "$table" -S
	before=$out
	added=()
	for chain in "${chain_list[@]}"; do
		ntested=$((ntested + 1))
		run in_ns "$IPT" -t "$table" -A "$chain" "${words[@]}"
		if [ "$verdict" = OK ]; then
			if [ $rc -ne 0 ]; then
				ext_fail "-t $table -A $chain $rule: exit $rc, expected success" "$out"
				continue
			fi
			added+=("$chain")
			ok_rules+=("$chain|$rule")
		elif [ $rc -eq 0 ]; then
			ext_fail "-t $table -A $chain $rule: accepted, expected a refusal"
		elif [ -z "$out" ]; then
			ext_fail "-t $table -A $chain $rule: refused without a message"
		else
			want=$(fail_want "$rule" "$table" "$chain")
			if [ -n "$want" ] && ! grep -qF -- "$want" <<<"$out"; then
				ext_fail "-t $table -A $chain $rule: unclear message" \
					"expected: ...$want..." "seen: $out"
			fi
		fi
	done
	if [ ${#added[@]} -gt 0 ]; then
		run in_ns "$IPT" -t "$table" -S
		listed=$out
		for chain in "${added[@]}"; do
			has_line "$listed" "-A $chain $expect" ||
				ext_fail "-t $table -A $chain $rule: -S does not list it" \
					"expected: -A $chain $expect" "seen: $listed"
			run in_ns "$IPT" -t "$table" -D "$chain" "${words[@]}"
			[ $rc -eq 0 ] ||
				ext_fail "-t $table -D $chain $rule: exit $rc, expected success" "$out"
		done
	fi
	# a refused rule leaves nothing behind; a deleted one neither
	run in_ns "$IPT" -t "$table" -S
	if [ "$out" != "$before" ]; then
		ext_fail "-t $table $rule ($verdict) in ${chain_list[*]}: the table changed" \
			"before: $before" "after: $out"
		in_ns "$IPT" -t "$table" -F
	fi
done <"$EXT_DIR/libxt_CLEARDF.t"
info "libxt_CLEARDF.t: $ntested rule/chain cases"
[ $ntested -gt 0 ] || ext_fail "libxt_CLEARDF.t gave no case"

# --- -L and --help -----------------------------------------------------------
in_ns "$IPT" -t mangle -A PREROUTING -j CLEARDF --keep-id
run in_ns "$IPT" -t mangle -L PREROUTING -n -v
if ! grep -E -q 'CLEARDF .*keep-id *$' <<<"$out"; then
	ext_fail "-L -v does not show 'CLEARDF ... keep-id'" "seen: $out"
fi
in_ns "$IPT" -t mangle -F PREROUTING

run "$IPT" -j CLEARDF --help
for want in "CLEARDF target options" "--keep-id" "iptables-cleardf(8)"; do
	grep -qF -- "$want" <<<"$out" ||
		ext_fail "-j CLEARDF --help does not mention '$want'" "seen: $out"
done

# --- save | restore ----------------------------------------------------------
for r in "${ok_rules[@]}"; do
	read -ra words <<<"${r#*|}"
	in_ns "$IPT" -t mangle -A "${r%%|*}" "${words[@]}" ||
		ext_fail "round trip: cannot add -A ${r%%|*} ${r#*|}"
done
run in_ns "$IPT_SAVE" -t mangle
saved=$out
n=$(grep -c -- '-j CLEARDF' <<<"$saved")
if [ "$n" -ne ${#ok_rules[@]} ]; then
	ext_fail "$IPT_SAVE lists $n CLEARDF rules, expected ${#ok_rules[@]}" "$saved"
fi
in_ns "$IPT" -t mangle -F
run in_ns "$IPT_RESTORE" <<<"$saved"
[ $rc -eq 0 ] || ext_fail "$IPT_RESTORE of its own save failed (exit $rc)" "$out"
run in_ns "$IPT_SAVE" -t mangle
if [ "$(strip_save "$out")" != "$(strip_save "$saved")" ]; then
	ext_fail "save | restore | save differs" "first: $(strip_save "$saved")" \
		"second: $(strip_save "$out")"
fi
in_ns "$IPT" -t mangle -F

run in_ns "$IPT_RESTORE" <<<$'*mangle\n-A PREROUTING -j CLEARDF --keep-id --keep-id\nCOMMIT'
if [ $rc -eq 0 ]; then
	ext_fail "$IPT_RESTORE accepted --keep-id twice"
elif ! grep -qF 'can only be used once' <<<"$out"; then
	ext_fail "$IPT_RESTORE: unclear message for --keep-id twice" "seen: $out"
fi

# --- refused by the kernel: INPUT, other tables ------------------------------
dmesg_before=$(dmesg | wc -l)
for spec in "mangle INPUT" "filter FORWARD" "filter OUTPUT" "nat PREROUTING" \
	"nat POSTROUTING" "raw PREROUTING"; do
	read -r t c <<<"$spec"
	run in_ns "$IPT" -t "$t" -A "$c" -j CLEARDF
	if [ $rc -eq 0 ]; then
		ext_fail "-t $t -A $c -j CLEARDF accepted, expected a refusal"
		in_ns "$IPT" -t "$t" -F "$c"
		continue
	fi
	grep -qi 'invalid argument' <<<"$out" ||
		ext_fail "-t $t -A $c -j CLEARDF: expected 'Invalid argument'" "seen: $out"
	run in_ns "$IPT" -t "$t" -S "$c"
	grep -q CLEARDF <<<"$out" && ext_fail "-t $t -A $c: refused but listed" "$out"
done
# The kernel says why: x_tables checks the table and hooks CLEARDF declares.
# Its lines are rate-limited (10 per 5 s): "callbacks suppressed" counts as
# having said it.
klog=$(dmesg | tail -n +"$((dmesg_before + 1))")
if ! grep -q 'xt_check_target.*suppressed' <<<"$klog"; then
	grep -q 'CLEARDF target: used from hooks INPUT, but only usable from PREROUTING/FORWARD/OUTPUT/POSTROUTING' <<<"$klog" ||
		ext_fail "no kernel log line explains the INPUT refusal" "new log: $klog"
	grep -q 'CLEARDF target: only valid in mangle table, not filter' <<<"$klog" ||
		ext_fail "no kernel log line says to use the mangle table" "new log: $klog"
fi

# --- INPUT reached through a user-defined chain ------------------------------
# A rule in a user chain has no hook of its own: the check must happen when
# the chain becomes reachable from INPUT, in either order. (nft_compat checks
# the target's declared hooks at commit; x_tables when it replaces the table.)
# jump_case NAME FIRST SECOND: FIRST must succeed, SECOND must be refused and
# leave the table as it was.
jump_case() {
	local name=$1 first=$2 second=$3 before
	in_ns "$IPT" -t mangle -N "$name" || ext_fail "-t mangle -N $name failed"
	# shellcheck disable=SC2086 # word lists
	run in_ns "$IPT" -t mangle -A $first
	[ $rc -eq 0 ] || ext_fail "-t mangle -A $first: exit $rc, expected success" "$out"
	run in_ns "$IPT_SAVE" -t mangle
	before=$(strip_save "$out")
	# shellcheck disable=SC2086
	run in_ns "$IPT" -t mangle -A $second
	if [ $rc -eq 0 ]; then
		ext_fail "-A $first, then -A $second: accepted, CLEARDF would run in INPUT" \
			"$(in_ns "$IPT_SAVE" -t mangle | grep -e '-A ')"
	elif ! grep -qi 'invalid argument' <<<"$out"; then
		ext_fail "-A $first, then -A $second: expected 'Invalid argument'" "seen: $out"
	fi
	run in_ns "$IPT_SAVE" -t mangle
	[ "$(strip_save "$out")" = "$before" ] ||
		ext_fail "-A $second was refused but the table changed" \
			"before: $before" "after: $(strip_save "$out")"
	info "-A $first; -A $second: $(head -n 1 <<<"$out")"
	in_ns "$IPT" -t mangle -F
	in_ns "$IPT" -t mangle -X "$name"
}
jump_case cdf-rule-first "cdf-rule-first -j CLEARDF" "INPUT -j cdf-rule-first"
jump_case cdf-jump-first "INPUT -j cdf-jump-first" "cdf-jump-first -j CLEARDF"
jump_case cdf-deep "cdf-deep -j CLEARDF --keep-id" "INPUT -p udp -g cdf-deep"
# The same chain reached from PREROUTING and FORWARD is fine.
in_ns "$IPT" -t mangle -N cdf-ok
for spec in "cdf-ok -j CLEARDF" "PREROUTING -j cdf-ok" "FORWARD -j cdf-ok"; do
	# shellcheck disable=SC2086
	run in_ns "$IPT" -t mangle -A $spec
	[ $rc -eq 0 ] || ext_fail "-t mangle -A $spec: exit $rc, expected success" "$out"
done
in_ns "$IPT" -t mangle -F
in_ns "$IPT" -t mangle -X cdf-ok

# --- ip6tables ---------------------------------------------------------------
for opt in "" "--keep-id"; do
	# shellcheck disable=SC2086 # $opt: zero or one word
	run in_ns "$IPT6" -t mangle -A PREROUTING -j CLEARDF $opt
	if [ $rc -eq 0 ]; then
		ext_fail "$IPT6 -j CLEARDF $opt accepted"
		in_ns "$IPT6" -t mangle -F PREROUTING
	elif ! grep -qF 'IPv6 has no DF bit' <<<"$out"; then
		ext_fail "$IPT6 -j CLEARDF $opt: message does not say that IPv6 has no DF bit" \
			"seen: $out"
	fi
done
info "$IPT6 says: $(grep -F 'IPv6' <<<"$out" | head -n 1)"

# --- iptables-translate against .txlate --------------------------------------
if command -v iptables-translate >/dev/null; then
	xlate=(iptables-translate)
	xlate6=(ip6tables-translate)
elif command -v xtables-nft-multi >/dev/null; then
	xlate=(xtables-nft-multi iptables-translate)
	xlate6=(xtables-nft-multi ip6tables-translate)
else
	xlate=()
	ext_fail "neither iptables-translate nor xtables-nft-multi found"
fi
# 1.8.7 prints  nft add rule ...  and trailing blanks; 1.8.9 quotes the rule.
norm() { sed -e 's/[[:space:]]*$//' -e "s/^nft '\\(.*\\)'\$/nft \\1/"; }
have_nft=0
if command -v nft >/dev/null; then
	have_nft=1
	ns_create "$ext_ns2"
	ip netns exec "$ext_ns2" nft add table ip mangle
	for c in PREROUTING FORWARD OUTPUT POSTROUTING; do
		ip netns exec "$ext_ns2" nft add chain ip mangle "$c" \
			"{ type filter hook ${c,,} priority -150; }"
	done
else
	ext_fail "nft not found: the translations cannot be fed to nft"
fi
nx=0
if [ ${#xlate[@]} -gt 0 ]; then
	cmd=""
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in
		iptables-translate\ *) cmd=${line#iptables-translate } ;;
		nft*)
			[ -n "$cmd" ] || continue
			nx=$((nx + 1))
			read -ra words <<<"$cmd"
			got=$("${xlate[@]}" "${words[@]}" 2>"$TMPD/xlate.err")
			xrc=$?
			err=$(cat "$TMPD/xlate.err")
			want=$(norm <<<"$line")
			got=$(norm <<<"$got")
			if [ $xrc -ne 0 ] || [ "$got" != "$want" ]; then
				ext_fail "iptables-translate $cmd" "expected: $want" \
					"seen: $got (exit $xrc) $err"
			elif [ "${got#nft \#}" != "$got" ]; then
				grep -qF "kernel's IP ID generator" <<<"$err" ||
					ext_fail "iptables-translate $cmd: no note on why" \
						"stderr: $err"
			elif [ $have_nft = 1 ]; then
				read -ra words <<<"${got#nft }"
				run ip netns exec "$ext_ns2" nft "${words[@]}"
				[ $rc -eq 0 ] ||
					ext_fail "nft refuses the translation of $cmd" \
						"nft ${got#nft }" "$out"
			fi
			cmd=""
			;;
		esac
	done <"$EXT_DIR/libxt_CLEARDF.txlate"
	[ $nx -gt 0 ] || ext_fail "libxt_CLEARDF.txlate gave no case"

	run "${xlate6[@]}" -t mangle -A PREROUTING -j CLEARDF
	if [ $rc -eq 0 ] || ! grep -qF 'IPv6 has no DF bit' <<<"$out"; then
		ext_fail "ip6tables-translate -j CLEARDF: expected a refusal saying IPv6 has no DF bit" \
			"seen (exit $rc): $out"
	fi
fi
if [ $have_nft = 1 ]; then
	run ip netns exec "$ext_ns2" nft list table ip mangle
	n=$(grep -c 'ip frag-off & 0x3fff == 0' <<<"$out")
	info "nft accepted $n translated rules"
fi
info "iptables-translate: $nx cases"

# --- nft list of rules iptables-nft wrote ------------------------------------
# nft prints xtables targets through the extension's translation. A listing
# that showed native statements for CLEARDF --keep-id would, saved with nft
# and loaded again, swap the target for statements without its GSO fix-up:
# it must show the CLEARDF target instead (nft cannot load that back, and
# says so, rather than changing what the rule does).
if [ "$FRONTEND" = nft ] && [ $have_nft = 1 ]; then
	in_ns "$IPT" -t mangle -A PREROUTING -j CLEARDF --keep-id
	in_ns "$IPT" -t mangle -A POSTROUTING -p esp -j CLEARDF
	run in_ns nft list table ip mangle
	listing=$out
	info "nft list table ip mangle: $(grep -i cleardf <<<"$listing" | tr -s '\t ' ' ' | tr '\n' '|')"
	grep -q 'xt target CLEARDF --keep-id$' <<<"$listing" ||
		ext_fail "nft list does not show the --keep-id rule as 'xt target CLEARDF --keep-id'" "seen: $listing"
	grep -q 'xt target CLEARDF$' <<<"$listing" ||
		ext_fail "nft list does not show the rule as 'xt target CLEARDF'" "seen: $listing"
	grep -q 'frag-off set' <<<"$listing" &&
		ext_fail "nft list shows CLEARDF --keep-id as native statements" "seen: $listing"
	# loading the listing back must fail, not change the rules
	in_ns "$IPT" -t mangle -F
	printf '%s\n' "$listing" >"$TMPD/listing.nft"
	run in_ns nft -f "$TMPD/listing.nft"
	[ $rc -ne 0 ] || ext_fail "nft -f of the listing succeeded" "$(in_ns nft list table ip mangle)"
	info "nft -f of the listing: exit $rc: $(head -n 1 <<<"$out")"
	in_ns "$IPT" -t mangle -F
fi

[ $ext_failed = 0 ] || fail "$ext_failed mismatches, listed above"
exit 0
