#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 43-packet-paths: paths of a packet that the other tests do not take.
#
#   A 192.0.2.1 -- R1 -- R2 --(1280)-- B 203.0.113.1
#
# R2's "fragmentation needed" is dropped (a PMTUD black hole on R2). M
# (no address) receives a mirror of A's traffic in part 3.
#  1. IDs come from the kernel's generator, not from anywhere else: on A,
#     with `-t mangle -A OUTPUT -p 252 -j CLEARDF`, tests/tools/rawsend
#     sends 200 datagrams 1 ms apart, DF and not DF in turn, all with ID
#     0. The kernel gives the DF-clear ones an ID itself (ip_select_ident()
#     -> __ip_select_ident()), CLEARDF the DF ones, from the same counter
#     (one per source, destination, protocol): ip_idents_reserve() adds 1
#     per packet plus a random number below the jiffies since the counter's
#     last use. In capture order the IDs must rise, one step at a time, by
#     1 to $MAXSTEP: a target that drew random IDs would fail that (a step
#     in range has odds of 3 in 100; 199 of them in a row, none).
#     Without the rule, the control: DF with ID 0 and DF clear in turn.
#  2. XT_CONTINUE: rules after CLEARDF in the same chain see the header it
#     wrote: a u32 match on DF counts the DF packets before CLEARDF, none
#     after it, and a match on DF clear counts all of them after it.
#  3. A clone is left alone: on R1, a packet socket without a ring on R1's
#     ingress (tests/tools/pktpeek) queues clones that share their data
#     with the skbs that go on to PREROUTING, where CLEARDF rewrites them;
#     read after the traffic has left R1, the clones still hold the header
#     A sent (DF, its ID, TTL 64, a valid checksum) while R1's egress has
#     DF clear and a fresh ID. The same for a clone made on A's egress by
#     tc (mirred mirror) and held by a packet socket in a namespace M.
#  4. FORWARD and POSTROUTING on R1 let R2, one hop later, fragment DF
#     datagrams it would drop: without a rule nothing arrives; with
#     CLEARDF in R1's FORWARD, then in R1's POSTROUTING instead, every
#     datagram arrives intact (udpseq checks every byte), in fragments made
#     by R2 with DF clear and valid checksums.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip tc tcpdump ethtool "$IPT" pcapip rawsend udpseq pktpeek
require_cleardf
require_module xt_u32 sch_ingress cls_matchall act_mirred

A=pp-a R1=pp-r1 R2=pp-r2 B=pp-b M=pp-m
A_IP=192.0.2.1 B_IP=203.0.113.1
PORT=5043
NUDP=6
NID=200 MAXSTEP=2000

two_routers "$A" "$R1" "$R2" "$B"
ns_create "$M"
black_hole "$R2"
assert_ok "small ping across R1 and R2" nsx "$A" ping -c 1 -W 5 "$B_IP"

# counters NS TABLE CHAIN: the packet counter of each rule, in order.
counters() { ipt "$1" -t "$2" -L "$3" -n -v -x | awk 'NR > 2 { printf "%s ", $1 }'; }

# --- 1. IDs: one counter for the kernel's IDs and CLEARDF's -------------------
size_ge() { [ "$(stat -c %s "$1")" -ge "$2" ]; }
# idsend NAME: NID datagrams, DF and not in turn, captured on A's link.
idsend() {
	# a big buffer (-B, KiB) and a short snapshot: tcpdump, slow in the
	# guest, must not lose any of them (the kernel drops what its ring
	# cannot hold)
	capture_start "$A" eth0 "$TMPD/$1.pcap" -B 16384 -s 96 ip proto 252
	assert_ok "rawsend ($1)" nsx "$A" rawsend -s "$A_IP" -p 252 -D -a -i 0 -c $NID -w 1 -n 32 "$B_IP"
	# tcpdump may lag behind in a slow guest: wait for all the records
	# (24 bytes of file header, 16 + 66 per datagram)
	wait_for 10 size_ge "$TMPD/$1.pcap" $((24 + NID * 82)) || true
	capture_stop "$TMPD/$1.pcap"
	pcap_ip "$TMPD/$1.pcap" >"$TMPD/$1.txt"
	assert_eq $NID "$(grep -c . "$TMPD/$1.txt" || true)" "$1: datagrams captured on A's link ($(grep dropped "$TMPD/$1.pcap.log"))"
}
idsend ids-norule
# the control: DF with ID 0 (left so by the kernel), DF clear (with an ID
# from the kernel, which may be 0 too, once in 65536), in turn
seen=$(awk '{ split($7, d, "="); split($6, i, "="); printf "%s", (d[2] == 1 && i[2] == 0) ? "D" : d[2] == 0 ? "n" : "?" }' "$TMPD/ids-norule.txt")
want=""
for ((i = 0; i < NID / 2; i++)); do want+=Dn; done
assert_eq "$want" "$seen" "without a rule, in capture order: D = DF with ID 0, n = DF clear"

ipt "$A" -t mangle -A OUTPUT -p 252 -m u32 --u32 "4&0x4000=0x4000"
ipt "$A" -t mangle -A OUTPUT -p 252 -j CLEARDF
ipt "$A" -t mangle -A OUTPUT -p 252 -m u32 --u32 "4&0x4000=0x4000"
ipt "$A" -t mangle -A OUTPUT -p 252 -m u32 --u32 "4&0x4000=0"
idsend ids
assert_no_match 'df=1|csum=bad' "$(cat "$TMPD/ids.txt")" "DF or a bad checksum on A's link with CLEARDF in OUTPUT"
steps=$(awk '{ split($6, i, "="); if (NR > 1) printf "%d\n", (i[2] - prev + 65536) % 65536; prev = i[2] }' "$TMPD/ids.txt")
info "IDs on A's link: $(awk '{ split($6, i, "="); printf "%s ", i[2] }' "$TMPD/ids.txt" | cut -d' ' -f1-12)..."
info "steps between consecutive IDs: min $(sort -n <<<"$steps" | head -n 1), max $(sort -n <<<"$steps" | tail -n 1)"
bad=$(awk -v max=$MAXSTEP '$1 < 1 || $1 > max { n++ } END { print n + 0 }' <<<"$steps")
assert_eq 0 "$bad" "steps between consecutive IDs (DF datagrams' from CLEARDF, the others' from the kernel) outside 1..$MAXSTEP"

# --- 2. XT_CONTINUE: the rules after CLEARDF see its header --------------------
read -r c_before c_target c_df c_nodf <<<"$(counters "$A" mangle OUTPUT)"
info "A's OUTPUT counters: DF before CLEARDF $c_before, CLEARDF $c_target, DF after it $c_df, DF clear after it $c_nodf"
assert_eq $((NID / 2)) "$c_before" "u32 match on DF before CLEARDF"
assert_eq $NID "$c_target" "CLEARDF rule counter"
assert_eq 0 "$c_df" "u32 match on DF after CLEARDF"
assert_eq $NID "$c_nodf" "u32 match on DF clear after CLEARDF"

# --- 3. a clone shares the data: CLEARDF must not write into it --------------
# Two clones of each datagram: the packet socket's on R1's ingress, and one
# made on A by tc (mirred mirror on A's egress, to a veth whose other end,
# in M, has a packet socket of its own).
ipt "$R1" -t mangle -A PREROUTING -p 253 -j CLEARDF
veth "$A" mir0 "$M" mir1
nsx "$A" tc qdisc add dev eth0 clsact
nsx "$A" tc filter add dev eth0 egress protocol ip matchall action mirred egress mirror dev mir0
declare -A PEEK_PID=()
for at in "$R1 r1a" "$M mir1"; do
	read -r ns ifc <<<"$at"
	ns_bg "$ns" pktpeek -t 60 "$ifc" >"$TMPD/peek-$ns.txt"
	wait_for 10 grep -q '^ready' "$TMPD/peek-$ns.txt" || fail "pktpeek in $ns did not start"
	PEEK_PID[$ns]=$(sed -n 's/^ready pid=//p' "$TMPD/peek-$ns.txt")
done
capture_start "$R1" r1b "$TMPD/r1-egress.pcap" ip proto 253
assert_ok "rawsend, 3 DF datagrams" nsx "$A" rawsend -s "$A_IP" -p 253 -D -i 0x1234 -k 1 -c 3 -n 200 "$B_IP"
capture_stop "$TMPD/r1-egress.pcap"
egress=$(pcap_ip "$TMPD/r1-egress.pcap")
info "on R1's egress:"
indent <<<"$egress"
assert_eq 3 "$(grep -c ' df=0 mf=0 off=0 ihl=5 len=220 ttl=63 csum=ok$' <<<"$egress" || true)" \
	"datagrams on R1's egress with DF clear, TTL 63, checksum valid"
assert_no_match ' id=(4660|4661|4662) ' "$egress" "A's IDs on R1's egress (CLEARDF gives fresh ones)"
for ns in "$R1" "$M"; do
	kill -USR1 "${PEEK_PID[$ns]}"
	wait_for 10 grep -q '^done' "$TMPD/peek-$ns.txt" || fail "pktpeek in $ns did not finish"
	peek=$(grep " src=$A_IP .* proto=253 " "$TMPD/peek-$ns.txt" || true)
	info "held by the packet socket in $ns, read afterwards:"
	indent <<<"$peek"
	for id in 4660 4661 4662; do
		assert_eq 1 "$(grep -c " id=$id df=1 mf=0 off=0 ihl=5 len=220 ttl=64 csum=ok$" <<<"$peek" || true)" \
			"$ns's packet socket's copy of datagram $id: as A sent it (DF, ID $id, TTL 64, checksum valid)"
	done
	assert_eq 3 "$(grep -c . <<<"$peek")" "datagrams held by the packet socket in $ns"
done
nsx "$A" tc qdisc del dev eth0 clsact
ipt "$R1" -t mangle -D PREROUTING -p 253 -j CLEARDF

# --- 4. FORWARD and POSTROUTING rules, and a router one hop later -------------
# A computes its UDP checksums itself (see 30-forward-blackhole).
nsx "$A" ethtool -K eth0 tx off >/dev/null
# traffic NAME: NUDP DF datagrams of 1400 bytes from A to B, captured on B.
traffic() {
	local name=$1 recv=$TMPD/$1.recv
	udp_recv "$B" "$PORT" "$recv"
	capture_start "$B" eth0 "$TMPD/$name-b.pcap" src host "$A_IP" and ip proto 17
	udp_df_send "$A" "$B_IP" "$PORT" "$NUDP"
	udp_recv_stop "$recv"
	capture_stop "$TMPD/$name-b.pcap"
	info "$name: UDP sent $UDP_SENT, delivered intact $UDP_GOOD, corrupt $UDP_CORRUPT"
}
traffic none
assert_eq $NUDP "$UDP_SENT" "DF datagrams sent (A learned no smaller PMTU)"
assert_eq 0 "$UDP_GOOD" "DF datagrams delivered without a rule"
assert_eq "" "$(pcap_ip "$TMPD/none-b.pcap")" "A's datagrams on B's link without a rule"

for chain in FORWARD POSTROUTING; do
	ipt "$R1" -t mangle -A "$chain" -p udp -j CLEARDF
	traffic "$chain"
	assert_eq $NUDP "$UDP_GOOD" "DF datagrams delivered intact with CLEARDF in R1's $chain"
	assert_eq 0 "$UDP_CORRUPT" "corrupt datagrams at B ($chain)"
	lines=$(pcap_ip "$TMPD/$chain-b.pcap")
	assert_eq $((2 * NUDP)) "$(grep -c . <<<"$lines")" "fragments on B's link ($chain)"
	assert_no_match 'df=1|csum=bad|trunc=1' "$lines" "DF, a bad checksum or a cut packet on B's link ($chain)"
	assert_eq $NUDP "$(grep -c ' df=0 mf=1 off=0 ihl=5 len=1276 ttl=62 csum=ok$' <<<"$lines" || true)" "first fragments, made by R2 ($chain)"
	assert_no_match 'complete=no' "$(pcap_ip "$TMPD/$chain-b.pcap" -r)" "datagrams reassembled from B's link ($chain)"
	assert_eq $NUDP "$(counters "$R1" mangle "$chain" | tr -d ' ')" "R1's $chain rule counter"
	ipt "$R1" -t mangle -D "$chain" -p udp -j CLEARDF
done
exit 0
