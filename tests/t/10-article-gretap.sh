#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 10-article-gretap: the article's topology end to end (see tests/article.sh).
# hostA and hostB on one /24, each behind a router; the routers bridge their
# LAN port with a gretap (nopmtudisc, MTU 1500) over an underlay of MTU 1500.
# br_netfilter is loaded and bridge-nf-call-iptables=1 on both routers
# throughout ("as most distributions do", says the article), so that the
# three phases differ only by the CLEARDF rule:
#  (a) no rule: `ping -M do -s 1472` hostA -> hostB fails (the article's bug);
#  (b) the article's placement, -t mangle -A OUTPUT -p gre -j CLEARDF on both
#      routers: measured (rescued or not, gretap TX errors, rule counter) and
#      compared with tests/expect/placement.tsv for the running row;
#  (c) -t mangle -A PREROUTING -i br0 -j CLEARDF on both routers: the big
#      ping succeeds; at hostB the echo requests are whole, DF clear, with a
#      fresh non-zero ID and a valid checksum; on the underlay the GRE
#      packets are fragments with DF clear, non-zero IDs unique within the
#      run, valid header checksums, and they reassemble into complete
#      1538-byte datagrams (20 outer IP + 4 GRE + 14 Ethernet + 1500).
#
# frontends: legacy nft
# suite: core

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/article.sh
. "$(dirname "$0")/../article.sh"

art_require
art_topology gretap
art_bridge_nf
info "bridge-nf-call-iptables is per network namespace on $(uname -r): $ART_BRNF_PER_NETNS"
art_place none
art_warmup

# (a) the article's bug
art_measure "(a) no CLEARDF rule"
assert_eq not-rescued "$RESULT" "1500-byte DF ping across the gretap bridge without CLEARDF (the article's bug)"
assert_ge 3 "$TXERR" "gt0 TX errors on rA while the big pings were dropped"

# (b) the article's placement: OUTPUT, on the GRE packets
art_place OUTPUT
art_measure "(b) article's placement: $(art_rule_args OUTPUT)"
out_result=$RESULT
art_check_expected gretap OUTPUT "$out_result"
if [ "$out_result" = not-rescued ]; then
	# Dropped before the outer header existed: the rule never saw them.
	info "OUTPUT did not rescue: gt0 TX errors +$TXERR, OUTPUT rule counted +$RULEPKTS packets, +$RULEBYTES bytes during the big pings"
	assert_ge 3 "$TXERR" "gt0 TX errors on rA (dropped by the tunnel's MTU check)"
	# Small frames (ARP, neighbour discovery) may cross the tunnel in the
	# meantime; one big ping's GRE packet alone would be 1538 bytes.
	assert_le 1499 "$RULEBYTES" "bytes the OUTPUT rule saw during the big pings (none of them reached it)"
fi

# (c) the placement that works: PREROUTING on the inner packet
art_place PREROUTING
capture_start hB eth0 "$TMPD/hB.pcap" icmp
capture_start net nb0 "$TMPD/underlay.pcap" ip
art_measure "(c) $(art_rule_args PREROUTING)"
capture_stop "$TMPD/hB.pcap"
capture_stop "$TMPD/underlay.pcap"
art_check_expected gretap PREROUTING "$RESULT"
assert_eq rescued "$RESULT" "1500-byte DF ping with CLEARDF in PREROUTING -i br0"
assert_eq 0 "$TXERR" "gt0 TX errors on rA"
assert_ge 3 "$RULEPKTS" "packets the PREROUTING rule on rA counted"
art_check_inner "$TMPD/hB.pcap" 3
art_check_underlay "$TMPD/underlay.pcap" 47 1538 3
info "decoded (pcapip -r -d), first datagrams from rA:"
pcap_ip "$TMPD/underlay.pcap" -r -d | grep -A1 "^src=$ART_UA .* len=1538 " | head -n 4 | indent
exit 0
