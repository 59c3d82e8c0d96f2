#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 11-article-esp: the article's "final piece": the gretap bridge of
# 10-article-gretap with IPsec ESP between the routers for their GRE
# packets (ip xfrm state and policy, static keys, no IKE daemon), first in
# transport mode (the article's choice: ESP after the outer IP header, which
# is the GRE packet's own), then in tunnel mode between the routers'
# underlay addresses (a second outer header, whose DF xfrm copies from the
# GRE packet's). For each mode, with br_netfilter and
# bridge-nf-call-iptables=1 on both routers:
#  - no rule: the 1500-byte DF ping does not cross;
#  - the article's placement (-t mangle -A OUTPUT -p gre -j CLEARDF):
#    measured and compared with tests/expect/placement.tsv;
#  - -t mangle -A PREROUTING -i br0 -j CLEARDF: the ping crosses; hostB gets
#    the echo requests whole with DF clear, a fresh ID and a valid checksum;
#    the underlay carries only ESP, in fragments with DF clear, non-zero
#    unique IDs and valid checksums that reassemble; the SAs count bytes.
#
# frontends: legacy nft

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/article.sh
. "$(dirname "$0")/../article.sh"

art_require
art_topology gretap
art_bridge_nf
art_place none

# esp_len MODE: the size of the ESP packet that carries one 1500-byte
# frame: GRE packet = 20 + 4 + 14 + 1500 = 1538; ESP adds an 8-byte
# header, the IV (8 for GCM, 16 for CBC), a 2-byte trailer with padding
# (to 4 bytes for GCM, to the 16-byte block for CBC) and a 16-byte ICV;
# transport mode keeps the GRE packet's IP header, tunnel mode adds one.
esp_len() {
	local inner=1518 hdr=20 iv=8 blk=4 body
	[ "$1" = tunnel ] && inner=$((1538))
	[ "$ART_ESP_ALG" = cbc ] && iv=16 blk=16
	body=$(((inner + 2 + blk - 1) / blk * blk))
	echo $((hdr + 8 + iv + body + 16))
}

for mode in transport tunnel; do
	info "---- ESP $mode mode"
	ART_CELL=esp-$mode
	art_esp "$mode"
	art_warmup
	b0=$(art_esp_bytes rA)
	assert_ne 0 "$b0" "bytes the ESP SAs of rA carried during the small pings"

	art_place none
	art_measure "esp-$mode, no CLEARDF rule"
	art_check_expected "esp-$mode" none "$RESULT"
	assert_eq not-rescued "$RESULT" "1500-byte DF ping across gretap in ESP $mode mode without CLEARDF"

	art_place OUTPUT
	art_measure "esp-$mode, the article's placement: $(art_rule_args OUTPUT)"
	art_check_expected "esp-$mode" OUTPUT "$RESULT"

	art_place PREROUTING
	capture_start hB eth0 "$TMPD/hB-$mode.pcap" icmp
	capture_start net nb0 "$TMPD/underlay-$mode.pcap" ip
	b0=$(art_esp_bytes rA)
	art_measure "esp-$mode, $(art_rule_args PREROUTING)"
	b1=$(art_esp_bytes rA)
	capture_stop "$TMPD/hB-$mode.pcap"
	capture_stop "$TMPD/underlay-$mode.pcap"
	art_check_expected "esp-$mode" PREROUTING "$RESULT"
	assert_eq rescued "$RESULT" "1500-byte DF ping across gretap in ESP $mode mode with CLEARDF in PREROUTING -i br0"
	assert_ge 3 "$RULEPKTS" "packets the PREROUTING rule on rA counted"
	# the SAs count what they protect: at least the 3 GRE payloads
	# (4 + 14 + 1500 bytes) each way
	assert_ge $((3 * 2 * 1518)) $((b1 - b0)) "bytes the ESP SAs of rA protected during the big pings (both directions)"
	art_check_inner "$TMPD/hB-$mode.pcap" 3
	gre=$(pcap_ip "$TMPD/underlay-$mode.pcap" | grep -c ' layer=0 .* proto=47 ' || true)
	assert_eq 0 "$gre" "GRE packets on the underlay in the clear"
	art_check_underlay "$TMPD/underlay-$mode.pcap" 50 "$(esp_len "$mode")" 3
	art_esp_flush
done
exit 0
