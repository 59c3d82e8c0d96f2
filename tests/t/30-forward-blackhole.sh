#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# frontends: legacy nft
#
# 30-forward-blackhole: forwarded DF traffic behind a PMTUD black hole.
#
#   A 192.0.2.1 --(1500)-- R --(1280)-- B 198.51.100.1
#
# R's egress link is smaller than its ingress link, and the ICMP
# "fragmentation needed" R sends back is dropped in R's own OUTPUT chain: a
# PMTUD black hole. A sends DF traffic that fits its own link but not R's
# egress: `ping -M do -s 1400` (1428-byte packets) and UDP datagrams of
# 1400 bytes with DF (tests/tools/udpseq, IP_PMTUDISC_DO).
#  - without a rule nothing arrives (and R did try to send the ICMP);
#  - `-t mangle -A PREROUTING -j CLEARDF` on R: everything arrives. On R's
#    egress every packet of A's is a fragment with DF clear and a valid
#    header checksum, and the datagrams reassembled from R's egress capture
#    are byte for byte (payload hash) the ones A sent; udpseq at B checks
#    every byte end to end. A small DF ping, which R need not fragment,
#    leaves R with CLEARDF's header as it is: DF clear, checksum valid;
#  - the same rule in FORWARD does not rescue anything: ip_forward() checks
#    the egress MTU (ip_exceeds_mtu()) and drops the DF packet, sending
#    "fragmentation needed", BEFORE it calls the NF_INET_FORWARD hook
#    (NF_HOOK(..., NF_INET_FORWARD, ..., ip_forward_finish) comes last in
#    ip_forward()). The FORWARD rule never even sees the packet: its counter
#    stays at 0;
#  - the kernel refuses the rule in INPUT and its log line names the chains
#    to use instead.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip ping tcpdump ethtool "$IPT" pcapip udpseq dmesg
require_cleardf

A=fb-a R=fb-r B=fb-b
A_IP=192.0.2.1 B_IP=198.51.100.1
PORT=5030
NPING=3 NUDP=10

one_router "$A" "$R" "$B"
# A computes its UDP checksums itself: with veth's checksum offload the
# capture on A's link would hold a partial checksum that R fills in only
# when it fragments, and the payload hashes below could not be compared.
nsx "$A" ethtool -K eth0 tx off >/dev/null

# The black hole: "fragmentation needed" never leaves R.
black_hole "$R"

assert_ok "small ping across R" nsx "$A" ping -c 1 -W 5 "$B_IP"


# counter NS TABLE CHAIN: packets counted by the first CLEARDF or DROP rule.
counter() {
	ipt "$1" -t "$2" -L "$3" -n -v -x | awk '!n && ($3 == "CLEARDF" || $3 == "DROP") { print $1; n = 1 }'
}

# traffic NAME: blackhole_traffic (tests/lib.sh), captured on R's egress
# into $TMPD/NAME-r.pcap; for NAME=pre, the one run where they arrive, on
# A's link too (what A sent) into $TMPD/NAME-a.pcap.
traffic() {
	if [ "$1" = pre ]; then
		blackhole_traffic "$1" "$R" rb a
	else
		blackhole_traffic "$1" "$R" rb
	fi
}

# --- 1. the black hole, without a rule -----------------------------------
traffic none
assert_black_hole "without a rule"
assert_eq "" "$(pcap_ip "$TMPD/none-r.pcap")" "packets of A's on R's egress without a rule"
bh=$(counter "$R" filter OUTPUT)
assert_ge 1 "$bh" "R's 'fragmentation needed' dropped by the black hole rule"

# --- 2. PREROUTING rescues it --------------------------------------------
assert_ok "add the PREROUTING rule" ipt "$R" -t mangle -A PREROUTING -j CLEARDF
traffic pre
assert_rescued "with CLEARDF in PREROUTING"

lines=$(pcap_ip "$TMPD/pre-r.pcap")
info "on R's egress (first lines):"
head -n 6 <<<"$lines" | indent
nlines=$(printf '%s\n' "$lines" | grep -c . || true)
# every datagram of A's: two fragments (1256 + the rest of the payload)
assert_eq $((2 * (NPING + NUDP))) "$nlines" "fragments of A's datagrams on R's egress"
assert_no_match 'df=1' "$lines" "DF on R's egress"
assert_no_match 'csum=bad' "$lines" "bad header checksum on R's egress"
assert_no_match 'trunc=1' "$lines" "truncated packets on R's egress"
first=$(printf '%s\n' "$lines" | grep -c ' mf=1 off=0 .*len=1276 ' || true)
last=$(printf '%s\n' "$lines" | grep -c ' mf=0 off=1256 ' || true)
assert_eq $((NPING + NUDP)) "$first" "first fragments (MF, offset 0, 1276 bytes)"
assert_eq $((NPING + NUDP)) "$last" "last fragments (offset 1256)"

# Reassemble R's egress capture and compare each datagram's payload with
# what A sent (the ID changed on the way: match on protocol, length, hash).
sent=$(pcap_ip "$TMPD/pre-a.pcap" -r)
assert_eq "" "$(grep -v ' frags=1 complete=yes ' <<<"$sent" || true)" "datagrams A sent in more than one piece"
assert_eq $((NPING + NUDP)) "$(grep -c . <<<"$sent")" "datagrams A sent"
reasm=$(pcap_ip "$TMPD/pre-r.pcap" -r)
info "reassembled from R's egress:"
head -n 4 <<<"$reasm" | indent
assert_no_match 'complete=no' "$reasm" "datagrams reassembled from R's egress"
key() { sed -n 's/.* proto=\([0-9]*\) .* len=\([0-9]*\) hash=\([0-9a-f]*\).*/\1 \2 \3/p' | sort; }
assert_eq "$(key <<<"$sent")" "$(key <<<"$reasm")" "payloads reassembled after R = payloads A sent"
assert_eq $((NPING + NUDP)) "$(key <<<"$reasm" | sort -u | grep -c .)" "distinct datagrams reassembled"
# IDs distinct per datagram, so that the fragments cannot mix. Reassembly
# matches (src, dst, protocol, ID) and the kernel's generator counts per
# (src, dst, protocol): a ping and a datagram may share an ID.
ids=$(sed -n 's/.* proto=\([0-9]*\) id=\([0-9]*\) .*/\1 \2/p' <<<"$reasm" | sort | uniq -d)
assert_eq "" "$ids" "(protocol, ID) used by more than one datagram on R's egress"
n=$(counter "$R" mangle PREROUTING)
assert_ge $((NPING + NUDP)) "$n" "PREROUTING rule counter"
# A DF packet that fits R's egress leaves R with the header CLEARDF made
# (the fragments above got fresh checksums from ip_fragment()): B takes it
# only if CLEARDF's checksum is right.
capture_start "$R" rb "$TMPD/small-r.pcap" src host "$A_IP"
assert_ok "ping -M do -s 500 through CLEARDF in PREROUTING" nsx "$A" ping -M "do" -s 500 -c 2 -i 0.2 -W 3 "$B_IP"
capture_stop "$TMPD/small-r.pcap"
lines=$(pcap_ip "$TMPD/small-r.pcap")
assert_eq 2 "$(grep -c ' df=0 mf=0 off=0 ihl=5 len=528 ttl=63 csum=ok$' <<<"$lines" || true)" \
	"unfragmented 528-byte packets on R's egress with DF clear and a valid checksum"

# --- 3. FORWARD does not -------------------------------------------------
assert_ok "delete the PREROUTING rule" ipt "$R" -t mangle -D PREROUTING -j CLEARDF
assert_ok "add the FORWARD rule" ipt "$R" -t mangle -A FORWARD -j CLEARDF
bh0=$(counter "$R" filter OUTPUT)
fragfails() { nsx "$R" nstat -asz IpFragFails | awk '$1 == "IpFragFails" { print $2 }'; }
ff0=$(fragfails)
traffic fwd
assert_black_hole "with CLEARDF in FORWARD"
assert_eq "" "$(pcap_ip "$TMPD/fwd-r.pcap")" "packets of A's on R's egress with CLEARDF in FORWARD"
# ip_forward() dropped them before the hook: the rule saw nothing
assert_eq 0 "$(counter "$R" mangle FORWARD)" "FORWARD rule counter (ip_forward() drops before the hook)"
# ip_forward() counts each such drop in IpFragFails
assert_eq $((ff0 + NPING + NUDP)) "$(fragfails)" "R's IpFragFails after the FORWARD run (one per big datagram)"
assert_ge $((bh0 + 1)) "$(counter "$R" filter OUTPUT)" "R's 'fragmentation needed' dropped by the black hole rule"

# --- 4. INPUT is refused, and the kernel log says what to do -------------
# pr_info_ratelimited(): allow for another test having used up the burst.
refusal=""
for attempt in 1 2; do
	before=$(dmesg | wc -l)
	assert_fail "CLEARDF in INPUT" ipt "$R" -t mangle -A INPUT -j CLEARDF
	info "$IPT says: $ASSERT_OUT"
	refusal=$(dmesg | tail -n +"$((before + 1))" | grep 'CLEARDF target: used from hooks INPUT' || true)
	[ -n "$refusal" ] && break
	[ $attempt = 1 ] && sleep 5.5
done
info "kernel log: $refusal"
assert_match 'CLEARDF target: used from hooks INPUT, but only usable from PREROUTING/FORWARD/OUTPUT/POSTROUTING' \
	"$refusal" "the kernel's advice for INPUT"
assert_no_match 'CLEARDF' "$(ipt_save "$R" -t mangle | grep -- '-A INPUT' || true)" "INPUT rules left behind"
exit 0
