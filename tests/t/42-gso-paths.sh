#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 42-gso-paths: the other ways a GSO packet reaches CLEARDF.
#
#   A 192.0.2.1 --(1500)-- M --(1500)-- R --(1400)-- B 198.51.100.1
#
# M and R forward. R's link to B is 1400 bytes on R's side (B's end stays
# at 1500, so B's MSS lets A send 1500-byte TCP segments), and R's
# "fragmentation needed" is dropped in R's OUTPUT (a PMTUD black hole):
# a DF packet of more than 1400 bytes dies at R unless DF is cleared.
# Whatever the front end, the packet path is the same: the test runs once.
#
# 1. Fraglist GRO. With rx-gro-list on R's ingress, GRO chains forwarded
#    UDP datagrams (and TCP segments, 6.10+) of one flow into one skb
#    (SKB_GSO_FRAGLIST) whose members keep their own IP headers; at R's
#    egress skb_segment_list() sends each member with its own header.
#    R's `-t mangle -A PREROUTING -i r-m -j CLEARDF` (-i: the rule's counter
#    counts A's packets only, not B's ACKs) sees the chain once: it must
#    clear DF in every member's header, or every member but the head dies
#    in the black hole. A sends 400 DF datagrams of 1472 bytes in sendmmsg
#    batches of 32, 20 ms apart (udpseq -m). Asserted: all 400 arrive intact at B (udpseq
#    checks every byte); on R's egress they are fragments, none with DF,
#    all header checksums valid, and no two datagrams share an ID; and the
#    rule counted fewer packets than datagrams went through it: GRO did
#    chain them (a burst where it did not, or where M's veth dropped
#    packets because R's NAPI did not run in time, is repeated, and the
#    test fails after three tries: it cannot pass without the fraglist
#    path).
#    veth runs GRO only with NAPI: gro on (5.13+) or an XDP program
#    (before 5.13, tests/tools/bpf/xdp-pass.c). R's NAPI runs threaded
#    where the kernel can (5.12+), so packets queue up for one poll;
#    before that, M's ingress steers them (RPS) to the CPU A does not send
#    from, so that M forwards them in bursts.
#    On 6.10+, a TCP transfer through the same rule with rx-gro-list on
#    (TCP fraglist GRO) must arrive intact too (sha256 end to end).
#
# 2. --keep-id on GRO packets. R's ingress GRO (plain, no fraglist) merges
#    A's TCP segments (consecutive IDs) into GSO packets; R's rule is
#    `-j CLEARDF --keep-id`, so the head keeps its ID and R's segmentation
#    gives the segments the IDs that follow. Asserted: the bytes arrive
#    intact, GRO merged (R's rule counted fewer packets than datagrams
#    left R), and the datagrams leave R with exactly the IDs A gave them
#    (captured on M's egress, before GRO): fresh IDs would differ.
#
# 3. UDP GSO at the sender. A sends DF datagrams (IP_PMTUDISC_DO) with
#    UDP_SEGMENT: one send of 8 datagrams of 1472 bytes is one skb (each
#    datagram fits A's link, not R's egress). A's
#    `-t mangle -A OUTPUT -p udp -j CLEARDF` sees that skb once and must
#    reserve 8 IDs: the datagrams get consecutive IDs from the one in the
#    header when the skb is cut. Asserted: all arrive intact, the rule
#    counted one packet per send, and on R's egress no DF, valid
#    checksums, fragments, distinct IDs.
#
# 4. gso_segs 0. A tap device with a virtio_net_hdr on R (what a VM's
#    virtio-net backend does) receives TCP GSO packets of 40 segments of
#    1400 bytes (tests/tools/vnetsend -t): the kernel leaves gso_segs at 0
#    until it segments them. (Sent through a packet socket and a veth
#    instead, the packets would arrive with gso_segs computed: the sender's
#    transmit validation, tcp4_gso_segment(), does that.) R's rule
#    (PREROUTING, -i from X) must reserve IDs for an upper bound of the
#    segments: the next packet's ID is then at least 40 further on. Had it
#    reserved one, the generator would put the next packet at most 1 + the
#    jiffies since the last one (< 40 ticks apart here) further on, inside
#    this packet's range: IDs shared by two segments, certainly. Asserted: the segments leave R as fragments without DF,
#    with valid header checksums and no ID shared by two datagrams, and B
#    takes every segment with a valid TCP checksum (payload intact).

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip tcpdump ethtool nc ss nstat sha256sum timeout "$IPT" pcapip udpseq vnetsend taskset nproc pktpeek
require_cleardf
require_module tun

A=gp-a M=gp-m R=gp-r B=gp-b
A_IP=192.0.2.1 B_IP=198.51.100.1
NUDP=400
SEND_PIN=""

ns_create "$A" "$M" "$R" "$B"
front_hop "$A" "$M" "$R"
veth "$R" r-b "$B" eth0
ip -n "$R" link set r-b mtu 1400
addr "$R" r-b 198.51.100.254/24
addr "$B" eth0 "$B_IP/24"
ns_route "$B" default via 198.51.100.254
forwarding "$R"

# The black hole: R's "fragmentation needed" never leaves R.
black_hole "$R"

assert_ok "ping A -> B" nsx "$A" ping -c 1 -W 5 "$B_IP"


# kernel_at_least X.Y
kernel_at_least() { [ "$(printf '%s\n' "$1" "$(uname -r)" | sort -V | head -n 1)" = "$1" ]; }

# counter NS CHAIN: packets counted by the first rule of CHAIN in mangle.
counter() {
	ipt "$1" -t mangle -L "$2" -n -v -x | awk 'NR > 2 { print $1; exit }'
}

# udp_burst NAME PORT STREAM SENDER-OPTIONS...: A sends $NUDP datagrams of
# 1472 bytes with DF to B (udpseq send OPTIONS), R's egress captured into
# $TMPD/NAME-r.pcap. Sets UDP_SENT, UDP_GOOD, UDP_CORRUPT.
udp_burst() {
	local name=$1 port=$2 stream=$3 recv out rpid i
	shift 3
	recv=$TMPD/$name.recv
	ns_bg "$B" udpseq recv -n "$NUDP" "$port" >"$recv"
	rpid=$BG_PID
	wait_for 10 grep -q '^ready' "$recv" || fail "udpseq recv did not start"
	capture_start "$R" r-b "$TMPD/$name-r.pcap" -s 64 -B 16384 udp and src host "$A_IP"
	# shellcheck disable=SC2086 # SEND_PIN is words or nothing
	out=$(nsx "$A" $SEND_PIN udpseq send -S "$stream" -D -c "$NUDP" -s 1472 "$@" "$B_IP" "$port")
	UDP_SENT=$(sed -n 's/^sent stream=[0-9]* total=\([0-9]*\) .*/\1/p' <<<"$out")
	# the receiver ends once it has them all; give stragglers 3 s
	for ((i = 0; i < 30; i++)); do
		alive "$rpid" || break
		sleep 0.1
	done
	kill -TERM "$rpid" 2>/dev/null || true
	wait "$rpid" || true
	capture_stop "$TMPD/$name-r.pcap"
	UDP_GOOD=$(sed -n 's/^recv total good=\([0-9]*\) .*/\1/p' "$recv")
	UDP_CORRUPT=$(sed -n 's/^recv total .* corrupt=\([0-9]*\) .*/\1/p' "$recv")
	info "$name: UDP sent $UDP_SENT, delivered intact $UDP_GOOD, corrupt $UDP_CORRUPT; $(pcap_ip "$TMPD/$name-r.pcap" | grep -c ' off=0 ' || true) datagrams on R's egress"
	[ "$UDP_GOOD" = "$UDP_SENT" ] || where_lost
}

# where_lost: the non-zero IP and UDP counters of R and B, to tell where
# datagrams were lost.
where_lost() {
	local ns
	for ns in "$M" "$R" "$B"; do
		info "$ns: $(nsx "$ns" nstat -az | awk '$1 ~ /^(Ip|Udp)[A-Z]/ && $1 !~ /^IpExt/ && $2 != 0 { printf "%s=%s ", $1, $2 }')"
	done
}

# check_egress FILE WHAT PROTO [MIN]: A's packets of protocol PROTO on R's
# egress: none with DF, no bad header checksum, at least MIN (default 1)
# first fragments, and (unless the 5th argument is "any-id") no two
# datagrams share an ID (one packet at offset 0
# per datagram: a first fragment or a whole one). Sets EG_DGRAMS (the
# datagrams seen) and EG_IDS (their IDs, one a line).
check_egress() {
	local f=$1 what=$2 proto=$3 min=${4:-1} uniq=${5:-uniq} lines first dups
	lines=$(pcap_ip "$f" | grep " src=$A_IP dst=$B_IP proto=$proto " || true)
	first=$(grep -c ' mf=1 off=0 ' <<<"$lines" || true)
	EG_IDS=$(grep ' off=0 ' <<<"$lines" | sed -n 's/.* id=\([0-9]*\) .*/\1/p')
	EG_DGRAMS=$(grep -c . <<<"$EG_IDS" || true)
	info "$what: $(grep -c . <<<"$lines") packets from $A_IP on R's egress, $first first fragments, $EG_DGRAMS datagrams"
	assert_no_match ' df=1 ' "$lines" "$what: DF on R's egress"
	assert_no_match 'csum=bad' "$lines" "$what: bad header checksums on R's egress"
	assert_ge "$min" "$first" "$what: first fragments on R's egress"
	[ "$uniq" = any-id ] && return 0
	dups=$(sort <<<"$EG_IDS" | uniq -d | head -n 10 | tr '\n' ' ')
	assert_eq "" "$dups" "$what: IDs used by more than one datagram on R's egress"
}

# --- 1. fraglist GRO at R ----------------------------------------------------
# A computes its UDP checksums itself (no partial checksums to carry).
nsx "$A" ethtool -K eth0 tx off >/dev/null
# M must hand R single packets: GRO merges only those.
nsx "$M" ethtool -K m-r tso off gso off >/dev/null 2>&1 || true
if ! kernel_at_least 5.13; then
	xdp=/cleardf/bin/xdp-pass.o
	[ -r "$xdp" ] || fail "$xdp is missing (built by tests/harness/build.sh with the host's clang)"
	assert_ok "XDP pass program on R's ingress (veth GRO before 5.13)" \
		nsx "$R" ip link set dev r-m xdpdrv obj "$xdp" sec xdp
fi
assert_ok "GRO and rx-gro-list on R's ingress" nsx "$R" ethtool -K r-m gro on rx-gro-list on
assert_eq "rx-gro-list: on" "$(nsx "$R" ethtool -k r-m | grep '^rx-gro-list:')" "rx-gro-list on R's ingress"
# threaded NAPI (5.12+): written after gro on, in R's own sysfs
if nsx "$R" test -e /sys/class/net/r-m/threaded; then
	assert_ok "threaded NAPI on R's ingress" nsx "$R" sh -c 'echo 1 > /sys/class/net/r-m/threaded'
	info "R's ingress: threaded NAPI $(nsx "$R" cat /sys/class/net/r-m/threaded)"
else
	# Without it (before 5.12) R's NAPI runs in the softirq of whoever
	# hands it a packet, right away: one packet per poll, nothing to chain.
	# Instead M's ingress steers packets (RPS) to CPU 0 and A sends from
	# CPU 1: CPU 0 then forwards what queued up in one go.
	[ "$(nproc)" -ge 2 ] || fail "no threaded NAPI on $(uname -r) and one CPU: nothing makes GRO chain packets"
	assert_ok "RPS on M's ingress to CPU 0" nsx "$M" sh -c 'echo 1 > /sys/class/net/m-a/queues/rx-0/rps_cpus'
	SEND_PIN="taskset -c 1"
	info "R's ingress: no threaded NAPI on $(uname -r); RPS on M's ingress to CPU 0, A sends from CPU 1"
fi
assert_ok "R's PREROUTING rule" ipt "$R" -t mangle -A PREROUTING -i r-m -j CLEARDF
# A packet socket on R's ingress (no ring) queues clones of the chained
# skbs: the target must copy the shared head (and then take its own clones
# of the members both frag_lists hold) before it writes. The copies must
# keep DF; the members' headers are not part of what the socket reads, so
# for them this shows only that nothing is lost or oopses.
ns_bg "$R" pktpeek -t 120 r-m >"$TMPD/peek.txt"
wait_for 10 grep -q '^ready' "$TMPD/peek.txt" || fail "pktpeek on R's ingress did not start"
PEEK_PID=$(sed -n 's/^ready pid=//p' "$TMPD/peek.txt")

# veth_drops: packets M's veth dropped on the way to R (R's queue full:
# its NAPI did not run in time, as happens on a loaded host)
veth_drops() { nsx "$M" cat /sys/class/net/m-r/statistics/tx_dropped; }
merged=0
for try in 1 2 3; do
	hits=$(counter "$R" PREROUTING)
	drops=$(veth_drops)
	udp_burst "flist$try" $((5100 + try)) "$try" -m 32 -w 20000
	hits=$(($(counter "$R" PREROUTING) - hits))
	drops=$(($(veth_drops) - drops))
	info "try $try: R's CLEARDF rule counted $hits packets for $UDP_SENT datagrams; M's veth dropped $drops"
	if [ "$drops" != 0 ]; then
		info "try $try: R's veth queue overflowed (not R's doing); again"
		continue
	fi
	if [ "$hits" -lt "$UDP_SENT" ]; then
		merged=1
		break
	fi
	info "try $try: GRO chained nothing; again"
done
[ $merged = 1 ] || fail "fraglist GRO: in 3 tries, no burst that GRO chained (R's rule counted $hits packets for $UDP_SENT datagrams) without M's veth dropping ($drops): the fraglist path went untested"
assert_eq $NUDP "$UDP_SENT" "DF datagrams A sent"
assert_eq $NUDP "$UDP_GOOD" "datagrams delivered intact through fraglist GRO and R's PREROUTING rule"
assert_eq 0 "$UDP_CORRUPT" "corrupt datagrams at B"
check_egress "$TMPD/flist$try-r.pcap" "fraglist GRO" 17 $NUDP
assert_eq $NUDP "$EG_DGRAMS" "datagrams of A's on R's egress"
kill -USR1 "$PEEK_PID"
wait_for 10 grep -q '^done' "$TMPD/peek.txt" || fail "pktpeek on R's ingress did not finish"
peek=$(grep " src=$A_IP .* proto=17 " "$TMPD/peek.txt" || true)
info "held by a packet socket on R's ingress, read afterwards: $(grep -c . <<<"$peek") chained skbs"
assert_ge 1 "$(grep -c ' df=1 mf=0 off=0 .* csum=ok$' <<<"$peek" || true)" \
	"chained skbs held by R's packet socket, still with DF and a valid checksum"
assert_no_match ' df=0 ' "$peek" "DF cleared in the packet socket's copies"
info "t=${SECONDS}s: UDP fraglist checked"


head -c $((512 << 10)) /dev/urandom >"$TMPD/data"
SUM=$(sha256sum <"$TMPD/data" | cut -d' ' -f1)

# transfer NAME PORT: the data from A to B over TCP (tcp_listen, tcp_send:
# sets XFER_RC, XFER_LEN, XFER_SUM), R's egress captured into
# $TMPD/NAME-r.pcap.
transfer() {
	local name=$1 port=$2
	tcp_listen "$B" "$port" "$TMPD/$name.recv"
	capture_start "$R" r-b "$TMPD/$name-r.pcap" -s 64 -B 16384 tcp and src host "$A_IP"
	tcp_send "$A" "$B_IP" "$port" "$TMPD/data" 60 200
	capture_stop "$TMPD/$name-r.pcap"
	info "$name: sender exit $XFER_RC, $XFER_LEN of $((512 << 10)) bytes at B"
}

# TCP fraglist GRO came in 6.10.
if kernel_at_least 6.10; then
	hits=$(counter "$R" PREROUTING)
	transfer tcpflist 5200
	hits=$(($(counter "$R" PREROUTING) - hits))
	assert_eq 0 "$XFER_RC" "sender's exit status (TCP through fraglist GRO)"
	assert_eq $((512 << 10)) "$XFER_LEN" "bytes received (TCP through fraglist GRO)"
	assert_eq "$SUM" "$XFER_SUM" "sha256 of the bytes received (TCP through fraglist GRO)"
	check_egress "$TMPD/tcpflist-r.pcap" "TCP fraglist GRO" 6
	info "TCP fraglist: R's CLEARDF rule counted $hits packets, $EG_DGRAMS datagrams left R"
	assert_le $((EG_DGRAMS - 1)) "$hits" "R's rule counter below the datagrams on R's egress (TCP segments GRO chained)"
else
	info "TCP fraglist GRO: not in $(uname -r) (6.10+): TCP part not run"
fi
info "t=${SECONDS}s: fraglist GRO checked"

# --- 2. --keep-id on GRO packets --------------------------------------------
assert_ok "rx-gro-list off on R's ingress" nsx "$R" ethtool -K r-m rx-gro-list off
assert_ok "R's rule with --keep-id" ipt "$R" -t mangle -R PREROUTING 1 -i r-m -j CLEARDF --keep-id
hits=$(counter "$R" PREROUTING)
# what A sent, as single segments, before R's GRO
capture_start "$M" m-r "$TMPD/keepid-m.pcap" -s 64 -B 16384 tcp and src host "$A_IP"
transfer keepid 5300
capture_stop "$TMPD/keepid-m.pcap"
hits=$(($(counter "$R" PREROUTING) - hits))
assert_eq 0 "$XFER_RC" "sender's exit status (GRO, --keep-id)"
assert_eq $((512 << 10)) "$XFER_LEN" "bytes received (GRO, --keep-id)"
assert_eq "$SUM" "$XFER_SUM" "sha256 of the bytes received (GRO, --keep-id)"
check_egress "$TMPD/keepid-r.pcap" "GRO, --keep-id" 6 1 any-id
info "keep-id: R's CLEARDF rule counted $hits packets, $EG_DGRAMS datagrams left R"
assert_le $((EG_DGRAMS - 1)) "$hits" "R's rule counter below the datagrams on R's egress (GRO merged)"
# GRO merges segments with consecutive IDs and segmentation gives them
# back from the head's ID on: with the head's ID kept, every datagram
# leaves R with the ID A gave it. Fresh IDs from the generator would not
# be A's. (Distinct IDs are not asserted here: A's TCP gives its SYN and
# some packets without data ID 0.)
sent_ids=$(pcap_ip "$TMPD/keepid-m.pcap" | grep " src=$A_IP dst=$B_IP proto=6 " | sed -n 's/.* id=\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ')
out_ids=$(sort -n <<<"$EG_IDS" | tr '\n' ' ')
info "keep-id: IDs A sent (M's egress) $(wc -w <<<"$sent_ids"), IDs of datagrams on R's egress $(wc -w <<<"$out_ids"); first: $(cut -d' ' -f1-5 <<<"$sent_ids") / $(cut -d' ' -f1-5 <<<"$out_ids")"
assert_eq "$sent_ids" "$out_ids" "IDs on R's egress with --keep-id = the IDs A sent"
info "t=${SECONDS}s: keep-id checked"

# --- 3. UDP GSO at the sender ------------------------------------------------
assert_ok "delete R's rule" ipt "$R" -t mangle -D PREROUTING 1
# UDP_SEGMENT needs checksum offload (CHECKSUM_PARTIAL) on the way out
nsx "$A" ethtool -K eth0 tx on >/dev/null
assert_ok "A's OUTPUT rule" ipt "$A" -t mangle -A OUTPUT -p udp -d "$B_IP" -j CLEARDF
udp_burst udpgso 5400 9 -G 8 -w 2000
hits=$(counter "$A" OUTPUT)
info "UDP GSO: A's CLEARDF rule counted $hits packets for $UDP_SENT datagrams"
assert_eq $NUDP "$UDP_SENT" "DF datagrams A sent with UDP_SEGMENT"
assert_eq $((NUDP / 8)) "$hits" "A's rule counter (one GSO packet per send of 8 datagrams)"
assert_eq $NUDP "$UDP_GOOD" "datagrams delivered intact (UDP GSO through A's OUTPUT rule)"
assert_eq 0 "$UDP_CORRUPT" "corrupt datagrams at B"
check_egress "$TMPD/udpgso-r.pcap" "UDP GSO" 17 $NUDP
assert_eq $NUDP "$EG_DGRAMS" "datagrams of A's on R's egress"
info "t=${SECONDS}s: UDP GSO checked"

# --- 4. a GSO packet from a packet socket: gso_segs 0 -------------------------
X_IP=192.0.2.9 NV=10 NSEG=40
assert_ok "a tap with a vnet header on R" nsx "$R" ip tuntap add dev tap0 mode tap vnet_hdr
addr "$R" tap0 192.0.2.10/30
nsx "$R" ip link set tap0 up
assert_ok "R's PREROUTING rule for the tap" ipt "$R" -t mangle -A PREROUTING -i tap0 -j CLEARDF
rmac=$(nsx "$R" cat /sys/class/net/tap0/address)
bstat() { nsx "$B" nstat -az "$1" | awk -v k="$1" '$1 == k { print $2 }'; }
segs0=$(bstat TcpInSegs) errs0=$(bstat TcpInCsumErrors)
capture_start "$R" r-b "$TMPD/vnet-r.pcap" -s 64 -B 16384 tcp and src host "$X_IP"
out=$(nsx "$R" vnetsend -t -c $NV -m 1400 -n $NSEG tap0 "$rmac" "$X_IP" "$B_IP")
info "vnetsend: $out"
sleep 1
capture_stop "$TMPD/vnet-r.pcap"
hits=$(counter "$R" PREROUTING)
segs=$(($(bstat TcpInSegs) - segs0)) errs=$(($(bstat TcpInCsumErrors) - errs0))
info "gso_segs 0: R's rule counted $hits packets; B took $segs TCP segments, $errs with a bad checksum"
assert_eq "sent count=$NV bytes=$((NV * NSEG * 1400))" "$out" "vnetsend's report"
assert_eq $NV "$hits" "R's rule counter (one GSO packet per send)"
A_IP=$X_IP check_egress "$TMPD/vnet-r.pcap" "gso_segs 0" 6 $((NV * NSEG))
assert_eq $((NV * NSEG)) "$EG_DGRAMS" "segments of X's GSO packets on R's egress"
# B checks every segment's TCP checksum (over the payload) before it looks
# for a socket
assert_eq $((NV * NSEG)) "$segs" "TCP segments B received from X"
assert_eq 0 "$errs" "TCP checksum errors at B"
exit 0
