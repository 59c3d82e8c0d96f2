#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# 01-basic: what CLEARDF does to a locally sent packet, seen on the wire.
#
#   a (192.0.2.1) --- mtu 1500 --- r --- mtu 1400 --- b (198.51.100.1)
#
# With `-t mangle -A OUTPUT -j CLEARDF` in a, a 1500-byte `ping -M do`
# crosses the 1400 hop: on a's link the requests have DF clear, a non-zero
# IP ID that differs per packet and a valid header checksum; after r they are
# fragments (DF clear, same ID) that reassemble into the very payload a sent.
# With --keep-id the ID a's sender chose is kept. Without the rule the ping
# fails (the test would prove nothing otherwise).
# frontends: legacy nft
# suite: core

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip ping tcpdump pcapip rawsend "$IPT" "$IPT_SAVE"
require_cleardf

A=192.0.2.1 RA=192.0.2.254 RB=198.51.100.254 B=198.51.100.1
ns_create a r b
veth a eth0 r ra
veth r rb b eth0 1400
addr a eth0 $A/24
addr r ra $RA/24
addr r rb $RB/24
addr b eth0 $B/24
ns_route a default via $RA
ns_route b default via $RB
forwarding r
assert_ok "small ping a -> b" nsx a ping -c 1 -W 5 $B

# shows: print a capture's lines (pcapip) indented, for the log
shows() { printf '%s\n' "$2" | sed "s/^/#   $1: /"; }

# rule_pkts: the packet counter of the CLEARDF rule in a's mangle OUTPUT
rule_pkts() { ipt a -t mangle -L OUTPUT -v -x -n | awk '/CLEARDF/ { print $1; exit }'; }

# ------------------------------------------------------------ the big ping
assert_ok "add the rule" ipt a -t mangle -A OUTPUT -j CLEARDF
assert_match '^-A OUTPUT -j CLEARDF$' "$(ipt_save a -t mangle)" "$IPT_SAVE -t mangle"

capture_start r ra "$TMPD/before.pcap" src host $A
capture_start b eth0 "$TMPD/after.pcap" src host $A
assert_ok "ping -M do -s 1472 a -> b across the MTU-1400 hop with CLEARDF" \
	nsx a ping -M "do" -s 1472 -c 3 -i 0.3 -W 5 -w 30 $B
capture_stop "$TMPD/before.pcap"
capture_stop "$TMPD/after.pcap"

assert_ge 3 "$(rule_pkts)" "packets counted by the CLEARDF rule"

before=$(pcap_ip "$TMPD/before.pcap" | grep " proto=1 " || true)
shows "a->r" "$before"
assert_eq 3 "$(printf '%s\n' "$before" | grep -c 'len=1500' || true)" "1500-byte echo requests on a's link"
assert_no_match ' df=1 ' "$before" "DF on a's link"
assert_no_match ' csum=bad' "$before" "header checksums on a's link"
assert_no_match ' id=0 ' "$before" "IP ID 0 on a's link"
ids=$(printf '%s\n' "$before" | sed -n 's/.* id=\([0-9]*\) .*/\1/p')
assert_eq 3 "$(printf '%s\n' "$ids" | sort -u | wc -l)" "distinct IP IDs among the 3 requests (saw: ${ids//$'\n'/ })"

after=$(pcap_ip "$TMPD/after.pcap" | grep " proto=1 " || true)
shows "r->b" "$after"
assert_eq 3 "$(printf '%s\n' "$after" | grep -c ' df=0 mf=1 off=0 .* len=1396 ' || true)" "first fragments (1396 bytes, MF) at b"
assert_eq 3 "$(printf '%s\n' "$after" | grep -c ' df=0 mf=0 off=1376 .* len=124 ' || true)" "last fragments (offset 1376, 124 bytes) at b"
assert_no_match ' csum=bad' "$after" "header checksums at b"
for id in $ids; do
	assert_eq 2 "$(printf '%s\n' "$after" | grep -c " id=$id " || true)" "fragments at b with the ID $id seen on a's link"
done

# Reassembly: the fragments at b carry exactly what a sent.
r_before=$(pcap_ip "$TMPD/before.pcap" -r | grep ' proto=1 ')
r_after=$(pcap_ip "$TMPD/after.pcap" -r | grep ' proto=1 ')
shows "a->r datagrams" "$r_before"
shows "r->b datagrams" "$r_after"
assert_no_match 'complete=no' "$r_after" "datagrams reassembled at b"
sig() { printf '%s\n' "$1" | sed -n 's/.* id=\([0-9]*\) .*complete=yes len=\([0-9]*\) hash=\([0-9a-f]*\).*/\1 \2 \3/p' | sort; }
assert_eq "$(sig "$r_before")" "$(sig "$r_after")" "id, length and payload hash of each datagram, a's link vs reassembled at b"

# ------------------------------------------------------------ --keep-id
# rawsend writes the header itself: DF set, IDs 4660, 4661, 4662.
assert_ok "flush" ipt a -t mangle -F OUTPUT
assert_ok "add the rule with --keep-id" ipt a -t mangle -A OUTPUT -j CLEARDF --keep-id
assert_match '^-A OUTPUT -j CLEARDF --keep-id$' "$(ipt_save a -t mangle)" "$IPT_SAVE -t mangle"
capture_start r ra "$TMPD/keep.pcap" src host $A and ip proto 253
assert_ok "rawsend DF, ID 4660.." nsx a rawsend -D -i 4660 -k 1 -c 3 -n 1000 $B
capture_stop "$TMPD/keep.pcap"
keep=$(pcap_ip "$TMPD/keep.pcap")
shows "keep-id" "$keep"
assert_eq "4660 4661 4662" "$(printf '%s\n' "$keep" | sed -n 's/.* id=\([0-9]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//')" "IDs with --keep-id"
assert_eq 3 "$(printf '%s\n' "$keep" | grep -c ' df=0 mf=0 off=0 .*csum=ok' || true)" "DF clear, checksum valid with --keep-id"

# The same packets without --keep-id get IDs of the kernel's choosing.
assert_ok "flush" ipt a -t mangle -F OUTPUT
assert_ok "add the rule" ipt a -t mangle -A OUTPUT -j CLEARDF
capture_start r ra "$TMPD/fresh.pcap" src host $A and ip proto 253
assert_ok "rawsend DF, ID 4660.." nsx a rawsend -D -i 4660 -k 1 -c 3 -n 1000 $B
capture_stop "$TMPD/fresh.pcap"
fresh=$(pcap_ip "$TMPD/fresh.pcap")
shows "fresh id" "$fresh"
assert_eq 3 "$(printf '%s\n' "$fresh" | grep -c ' df=0 mf=0 off=0 .*csum=ok' || true)" "DF clear, checksum valid without --keep-id"
kept=0 i=4660
for id in $(printf '%s\n' "$fresh" | sed -n 's/.* id=\([0-9]*\) .*/\1/p'); do
	[ "$id" = $i ] && kept=$((kept + 1))
	i=$((i + 1))
done
# one coincidence in 65536 is possible; two are not
assert_le 1 $kept "packets that kept the sender's ID without --keep-id"

# ------------------------------------------------------------ no rule
assert_ok "flush" ipt a -t mangle -F OUTPUT
assert_fail "ping -M do -s 1472 without CLEARDF" nsx a ping -M "do" -s 1472 -c 1 -W 3 $B
info "without CLEARDF: $(printf '%s\n' "$ASSERT_OUT" | grep -iE 'frag|mtu|loss' | head -n 2 | tr '\n' ' ')"
exit 0
