#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# frontends: legacy nft
#
# 31-host-output: a host's own OUTPUT rule lets a later router fragment its
# DF packets.
#
#   A 192.0.2.1 --(1500)-- R1 --(1500)-- R2 --(1280)-- B 203.0.113.1
#
# The small link is two hops away, behind R2, whose "fragmentation needed"
# is dropped (a PMTUD black hole in R2's OUTPUT chain). A sends DF traffic
# that fits its own link: `ping -M do -s 1400` and 1400-byte UDP datagrams
# with DF (tests/tools/udpseq).
#  - without a rule nothing arrives;
#  - with `-t mangle -A OUTPUT -j CLEARDF` on A (the routers have no rule):
#    everything arrives intact (udpseq checks every byte, ping its
#    replies). A's packets leave A whole, with DF clear, a valid header
#    checksum and an ID per datagram; R2's egress carries fragments with DF
#    clear and valid checksums that reassemble into exactly what A sent.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip ping tcpdump ethtool "$IPT" pcapip udpseq
require_cleardf

A=ho-a R1=ho-r1 R2=ho-r2 B=ho-b
A_IP=192.0.2.1 B_IP=203.0.113.1
PORT=5031
NPING=3 NUDP=10
N=$((NPING + NUDP))

two_routers "$A" "$R1" "$R2" "$B"
# A computes its UDP checksums itself, so that the payload seen on A's link
# is the payload the routers forward (see 30-forward-blackhole).
nsx "$A" ethtool -K eth0 tx off >/dev/null

# The black hole: R2's "fragmentation needed" never leaves R2.
black_hole "$R2"

assert_ok "small ping across R1 and R2" nsx "$A" ping -c 1 -W 5 "$B_IP"


# traffic NAME: blackhole_traffic (tests/lib.sh), captured on A's link
# and on R2's egress.
traffic() { blackhole_traffic "$1" "$R2" r2b a; }

# --- without a rule: the black hole ----------------------------------------
traffic none
assert_black_hole "without a rule"
assert_match 'df=1' "$(pcap_ip "$TMPD/none-a.pcap")" "DF on A's link without a rule"

# --- A's OUTPUT rule ---------------------------------------------------------
assert_ok "add the OUTPUT rule on A" ipt "$A" -t mangle -A OUTPUT -j CLEARDF
traffic out
assert_rescued "with CLEARDF in A's OUTPUT"

# On A's link: whole datagrams, DF clear, valid checksum, an ID each.
lines=$(pcap_ip "$TMPD/out-a.pcap")
info "on A's link (first lines):"
head -n 4 <<<"$lines" | indent
assert_eq $N "$(grep -c . <<<"$lines")" "A's datagrams on A's link"
assert_eq $N "$(grep -c ' df=0 mf=0 off=0 ihl=5 len=1428 ttl=64 csum=ok$' <<<"$lines" || true)" \
	"datagrams leaving A whole, DF clear, TTL 64, checksum valid"
# Reassembly matches (src, dst, protocol, ID), and the kernel's generator
# counts per (src, dst, protocol): a ping and a datagram may share an ID.
assert_eq "" "$(sed -n 's/.* proto=\([0-9]*\) id=\([0-9]*\) .*/\1 \2/p' <<<"$lines" | sort | uniq -d)" \
	"(protocol, ID) used twice on A's link"

# On R2's egress: fragments with DF clear and valid checksums.
lines=$(pcap_ip "$TMPD/out-r.pcap")
info "on R2's egress (first lines):"
head -n 4 <<<"$lines" | indent
assert_eq $((2 * N)) "$(grep -c . <<<"$lines")" "fragments of A's datagrams on R2's egress"
assert_no_match 'df=1|csum=bad|trunc=1' "$lines" "DF, a bad checksum or a cut packet on R2's egress"
assert_eq $N "$(grep -c ' df=0 mf=1 off=0 ihl=5 len=1276 ttl=62 csum=ok$' <<<"$lines" || true)" "first fragments"
assert_eq $N "$(grep -c ' df=0 mf=0 off=1256 ihl=5 len=172 ttl=62 csum=ok$' <<<"$lines" || true)" "last fragments"

# Reassembled from R2's egress = what A sent, ID for ID and byte for byte.
key() { sed -n 's/.* proto=\([0-9]*\) id=\([0-9]*\) .* len=\([0-9]*\) hash=\([0-9a-f]*\).*/\1 \2 \3 \4/p' | sort; }
sent=$(pcap_ip "$TMPD/out-a.pcap" -r)
reasm=$(pcap_ip "$TMPD/out-r.pcap" -r)
assert_no_match 'complete=no' "$reasm" "datagrams reassembled from R2's egress"
assert_eq "$(key <<<"$sent")" "$(key <<<"$reasm")" "datagrams reassembled after R2 (proto, ID, length, payload hash) = what A sent"
exit 0
