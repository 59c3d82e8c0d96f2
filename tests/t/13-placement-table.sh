#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 13-placement-table: where must the CLEARDF rule sit? For each tunnel type
# by placement, on the article's topology (tests/article.sh), measure
# whether a 1500-byte DF ping (ping -M do -s 1472, 3 echoes) from hostA
# reaches hostB; print the table and compare every cell with the running
# row's column of tests/expect/placement.tsv (from which the README's
# "where to put the rule" table is written).
#
# frontends: legacy nft
#
# Tunnels (rA <-> rB over the MTU-1500 underlay; every tunnel MTU 1500):
#   gretap         the article's: LAN bridged over gretap nopmtudisc
#   vxlan          LAN bridged over VXLAN (df unset, its default)
#   gre, ipip      LAN routed (192.0.2.0/25 | 192.0.2.128/25) over an L3
#                  tunnel with nopmtudisc and MTU 1500
#   esp-transport  gretap + ESP transport mode for the GRE packets
#   esp-tunnel     gretap + ESP tunnel mode between the underlay addresses
# Placements (both routers, table mangle):
#   none        no rule: shows that the problem exists at all
#   PREROUTING  on the inner packet as it enters from the LAN:
#               -i br0 (bridged; br_netfilter, bridge-nf-call-iptables=1),
#               -i lan0 (routed)
#   OUTPUT      on the outer packet the tunnel builds: -p gre (also inside
#               ESP, the article's rule), -p 4 (ipip), -p udp --dport 4789
#               (vxlan)
#   tc-ingress  no CLEARDF rule, no br_netfilter: the tc eBPF program
#               tests/tools/bpf/cleardf-tc.c on lan0's ingress (clsact), the
#               alternative to a module (does it rescue the bridge without
#               br_netfilter?). It does not depend on the iptables front
#               end: measured in the legacy run only (one ping per tunnel).
#
# Why nopmtudisc and MTU 1500 for gre and ipip too: that is what makes them
# comparable to the article's gretap. The tunnel then accepts the full
# 1500-byte packet (ip_forward's MTU check passes) and its outer header is
# fragmentable exactly when the inner packet is, so the question is the
# same as for the bridge: does clearing DF at this place let the outer
# packet be fragmented? (With the default MTU of 1476, ip_forward drops the
# DF packet before the tunnel, PMTUD answers, and PREROUTING rescues by
# fragmenting the inner packet instead; with pmtudisc the outer header
# always has DF and fragmenting it needs an OUTPUT rule as well.) The
# routed tunnels do send "fragmentation needed" to hostA (it has a route
# back), which is why each measurement starts by flushing hostA's learned
# path MTUs: a 1500-byte DF packet is what it sends then, as it does
# behind an ICMP black hole.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/article.sh
. "$(dirname "$0")/../article.sh"

art_require
require_cmd tc
[ -f "$ART_TC_OBJ" ] || fail "$ART_TC_OBJ is missing (tests/harness/build.sh builds it with the host's clang)"
# The counters (tunnel TX errors, rule packets) are in 10 and 11; here
# only the verdicts, to keep 18 cells within a minute or so under TCG.
ART_COUNTERS=0
PLACEMENTS=(none PREROUTING OUTPUT)
[ "$FRONTEND" = nft ] || PLACEMENTS+=(tc-ingress)
declare -A CELL=()
ROWS=()

measure_row() {
	local name=$1 p
	ROWS+=("$name")
	ART_CELL=$name
	art_warmup
	for p in "${PLACEMENTS[@]}"; do
		art_place "$p"
		art_measure "$name/$p"
		CELL[$name/$p]=$RESULT
	done
}

art_topology gretap
art_bridge_nf
for t in gretap vxlan gre ipip; do
	[ "$ART_TUN" = "$t" ] || art_tunnel "$t"
	measure_row "$t"
	if [ "$t" = gretap ]; then
		for mode in transport tunnel; do
			art_esp "$mode"
			measure_row "esp-$mode"
			art_esp_flush
		done
	fi
done

row=$(art_row)
mismatch=0
echo "# Where CLEARDF rescues a 1500-byte DF ping hostA -> hostB on $row ($(uname -r))"
printf '# %-14s' tunnel
printf ' %-30s' "${PLACEMENTS[@]}"
echo
for r in "${ROWS[@]}"; do
	printf '# %-14s' "$r"
	for p in "${PLACEMENTS[@]}"; do
		m=${CELL[$r/$p]}
		e=$(art_expected "$r" "$p")
		if [ "$e" = "?" ]; then
			c="$m (new)"
		elif [ "$e" = "$m" ]; then
			c=$m
		else
			c="$m (EXPECTED $e)"
			mismatch=$((mismatch + 1))
		fi
		printf ' %-30s' "$c"
	done
	echo
done
# machine-readable, to fill tests/expect/placement.tsv from
for r in "${ROWS[@]}"; do
	for p in "${PLACEMENTS[@]}"; do
		echo "placement: row=$row tunnel=$r placement=$p measured=${CELL[$r/$p]} expected=$(art_expected "$r" "$p")"
	done
done

# Each row means something only if the problem shows without a rule.
for r in "${ROWS[@]}"; do
	assert_eq not-rescued "${CELL[$r/none]}" "$r without any CLEARDF rule (the problem must exist)"
done
[ $mismatch = 0 ] || fail "$mismatch cells differ from tests/expect/placement.tsv (column $row)"
exit 0
