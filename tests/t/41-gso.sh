#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# frontends: legacy nft
# suite: core
#
# 41-gso: CLEARDF on GSO packets.
#
#   A 192.0.2.1 --(1500)-- M --(1500)-- R --(1280)-- S --(1500)-- B 203.0.113.1
#
# R's link to S is the small one, and R's "fragmentation needed" is dropped
# (a PMTUD black hole): a DF packet bigger than 1280 bytes dies at R. B's
# own link is 1500, so B's MSS lets A send 1500-byte segments.
#
# 1. GSO/TSO at the sender. A sends a few MB over TCP with its offloads on:
#    its TCP stack hands GSO packets (up to 64 KB) to its veth, which passes
#    them on unsegmented; M forwards them as they are, and R cuts them into
#    segments and each segment into fragments. The rule is A's own
#    `-t mangle -A OUTPUT -p tcp -j CLEARDF`, so it sees the GSO packets.
#    Without the rule the transfer stalls (the black hole). With it:
#    - the bytes arrive intact (sha256 at both ends);
#    - R receives GSO packets (longer than the MTU) from A, all with DF
#      clear and a valid header checksum, and sends on every byte of TCP
#      payload it receives (counted on both sides of R);
#    - on R's egress every packet of A's has DF clear and a valid header
#      checksum, and no two datagrams share an ID within the capture: GSO
#      gives the segments of one packet consecutive IDs from the one in its
#      header, so CLEARDF must reserve gso_segs IDs of the generator, not
#      one, or the next packet's segments would repeat them.
#
# 2. GRO with a fixed ID at a router. TCP segments with DF and one fixed ID
#    (0) arrive on R's interface with GRO on; GRO merges them into a GSO
#    packet marked SKB_GSO_TCP_FIXEDID ("all segments share the ID").
#    R's `-t mangle -A PREROUTING -j CLEARDF` clears DF, and R must cut the
#    packet to 1280. inet_gso_segment() refuses a FIXEDID packet without DF
#    ("fixed ID is invalid if DF bit is not set") and the packet would be
#    lost: CLEARDF has to drop the FIXEDID mark too. The data must arrive,
#    and R must send on every byte it receives: TCP would deliver all the
#    data even if R dropped every merged packet, late, by retransmitting
#    segments that arrive alone and are not merged.
#    How the fixed IDs are made: A's TCP always builds GSO packets (TCP
#    always has software GSO), and netfilter in A sees them before they are
#    cut, so an "ip id set 0" there gives 0, 1, 2, ... With A's TSO off,
#    A's veth carries single segments to M, and M's nftables rule sets
#    each one's ID to 0 as it forwards it. veth hands packets to GRO only
#    with GRO on at the receiving end (that turns on its NAPI; before 5.13
#    an XDP program does, tests/tools/bpf/xdp-pass.c) and TSO off at the
#    sending end, so M's egress has TSO off and R's ingress GRO on.
#    R's capture on its ingress (taken after GRO) shows the merged packets:
#    the test asserts there are some, so it cannot pass without exercising
#    the fixed-ID path.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip tcpdump ethtool nft nc ss sha256sum timeout "$IPT" pcapip
require_cleardf

A=gs-a M=gs-m R=gs-r S=gs-s B=gs-b
A_IP=192.0.2.1 B_IP=203.0.113.1
MB=${CLEARDF_GSO_MB:-4}

ns_create "$A" "$M" "$R" "$S" "$B"
front_hop "$A" "$M" "$R"
veth "$R" r-s "$S" s-r 1280
veth "$S" s-b "$B" eth0
addr "$R" r-s 198.51.100.1/24
addr "$S" s-r 198.51.100.2/24
addr "$S" s-b 203.0.113.254/24
addr "$B" eth0 "$B_IP/24"
ns_route "$R" 203.0.113.0/24 via 198.51.100.2
ns_route "$S" default via 198.51.100.1
ns_route "$B" default via 203.0.113.254
forwarding "$R"
forwarding "$S"

# The black hole: R's "fragmentation needed" never leaves R.
black_hole "$R"

assert_ok "ping A -> B" nsx "$A" ping -c 1 -W 5 "$B_IP"


head -c $((MB << 20)) /dev/urandom >"$TMPD/data"
info "t=${SECONDS}s: data"
SUM=$(sha256sum <"$TMPD/data" | cut -d' ' -f1)

# transfer PORT BYTES TIMEOUT: the first BYTES of the data from A to B over
# TCP (tcp_listen, tcp_send: sets XFER_RC, XFER_LEN, XFER_SUM, XFER_S).
transfer() {
	local port=$1 bytes=$2 tmo=$3
	rm -f "$TMPD/recv"
	tcp_listen "$B" "$port" "$TMPD/recv"
	head -c "$bytes" "$TMPD/data" >"$TMPD/send"
	tcp_send "$A" "$B_IP" "$port" "$TMPD/send" "$tmo" 100
	info "transfer to port $port: sender exit $XFER_RC, $XFER_LEN of $bytes bytes in ${XFER_S}s; A's TCP retransmissions so far: $(retrans)"
}

retrans() { nsx "$A" nstat -asz TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }'; }

# check_egress FILE WHAT: every packet of A's on R's egress has DF clear and a
# valid header checksum, some are fragments, and no two datagrams share an
# ID (one first fragment or whole packet per datagram: offset 0).
check_egress() {
	local f=$1 what=$2 sum
	# one pass: n packets, with MF, at offset 0, first fragments, with DF,
	# with a bad checksum, and the IDs that start more than one datagram
	sum=$(pcap_ip "$f" | awk -v key=" src=$A_IP dst=$B_IP proto=6 " '
		index($0, key) {
			n++
			if (/ mf=1 /) mf++
			if (/ df=1 /) { df++; if (!ex_df) ex_df = $0 }
			if (/ csum=bad/) { bad++; if (!ex_bad) ex_bad = $0 }
			if (/ off=0 /) {
				off0++
				if (/ mf=1 /) first++
				match($0, / id=[0-9]+ /)
				id = substr($0, RSTART + 4, RLENGTH - 5)
				if (seen[id]++ == 1) dups = dups " " id
			}
		}
		END {
			printf "n=%d mf=%d off0=%d first=%d df=%d bad=%d\n", n, mf, off0, first, df, bad
			printf "dups=%s\n", substr(dups, 2)
			printf "ex_df=%s\nex_bad=%s\n", ex_df, ex_bad
		}')
	local n mf off0 first df bad
	read -r n mf off0 first df bad < <(head -n 1 <<<"$sum" | sed 's/[a-z0-9]*=//g')
	info "$what: $n packets of A's on R's egress, $mf with MF, $off0 at offset 0 ($first first fragments)"
	assert_ge $((MB * 1000)) "$n" "$what: packets of A's captured on R's egress"
	assert_eq 0 "$df" "$what: packets with DF on R's egress ($(sed -n 's/^ex_df=//p' <<<"$sum"))"
	assert_eq 0 "$bad" "$what: bad header checksums on R's egress ($(sed -n 's/^ex_bad=//p' <<<"$sum"))"
	assert_ge 1 "$first" "$what: first fragments on R's egress"
	assert_eq "" "$(sed -n 's/^dups=//p' <<<"$sum" | cut -c1-200)" "$what: IDs used by more than one datagram on R's egress"
}

# capture_complete FILE: tcpdump lost nothing of FILE (the byte count below
# must see every packet).
capture_complete() {
	local d
	d=$(sed -n 's/^\([0-9]*\) packets* dropped by kernel.*/\1/p' "$1.log")
	assert_eq 0 "${d:-0}" "packets tcpdump dropped in $(basename "$1")"
}

# tcp_bytes FILE: the TCP payload bytes of A's packets in FILE. A's TCP
# header is 32 bytes (timestamps) in every segment but the SYN, and a
# non-first fragment has none: a GSO or GRO packet counts its payload once,
# and so do its segments once cut (and fragmented). The SYN counts alike on
# both sides. So when R forwards everything it receives, the count on its
# ingress equals the count on its egress; a packet R drops shows as a
# difference even when TCP later retransmits what it carried.
tcp_bytes() {
	pcap_ip "$1" | awk -v key=" src=$A_IP dst=$B_IP proto=6 " '
		index($0, key) {
			match($0, / len=[0-9]+ /)
			len = substr($0, RSTART + 5, RLENGTH - 6)
			sum += / off=0 / ? len - 52 : len - 20
		}
		END { print sum + 0 }'
}

# conservation WHAT IN OUT: R let out the TCP bytes it took in.
conservation() {
	local in out
	capture_complete "$2"
	capture_complete "$3"
	in=$(tcp_bytes "$2")
	out=$(tcp_bytes "$3")
	info "$1: A's TCP payload on R's ingress $in bytes, on R's egress $out bytes"
	assert_eq "$in" "$out" "$1: TCP payload bytes R forwarded (egress) = received (ingress)"
}

# captured_transfer NAME PORT: the whole data to PORT (transfer), with R's
# ingress and egress captured to $TMPD/NAME-in.pcap and $TMPD/NAME-r.pcap.
captured_transfer() {
	local name=$1 port=$2
	capture_start "$R" r-m "$TMPD/$name-in.pcap" -s 96 -B 16384 tcp and src host "$A_IP"
	capture_start "$R" r-s "$TMPD/$name-r.pcap" -s 96 -B 16384 tcp and src host "$A_IP"
	transfer "$port" $((MB << 20)) 60
	# B has everything; A may still be retransmitting (a late ACK under
	# load): only when its socket has nothing left to send do both
	# captures hold the same packets
	local busy
	if [ "$XFER_RC" = 0 ] && ! busy=$(wait_for 30 tcp_idle "$A" "$B_IP" "$port"); then
		info "A's socket to port $port still had data to send 30 s after the transfer: $busy"
	fi
	capture_stop "$TMPD/$name-in.pcap"
	capture_stop "$TMPD/$name-r.pcap"
	info "t=${SECONDS}s: $name transfer done, captures stopped"
}

# count_big: how many of the pcap_ip lines on stdin are longer than 1500
# bytes (GSO or GRO packets).
count_big() {
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^len=/ && substr($i, 5) + 0 > 1500) { n++; break } } END { print n + 0 }'
}

# --- 1. GSO/TSO at the sender --------------------------------------------
nsx "$A" ethtool -K eth0 tso on gso on tx on sg on >/dev/null
info "A's eth0: $(nsx "$A" ethtool -k eth0 | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|tx-checksumming):' | tr -s ' \n' ' ')"

# Without a rule the black hole swallows the full-size segments.
transfer 5001 $((128 << 10)) 4
info "t=${SECONDS}s: baseline"
assert_ne $((128 << 10)) "$XFER_LEN" "bytes across the black hole without a rule"
# A's socket lives on, orphaned, retransmitting: end it (ss -K), so that
# only the transfers below show in the captures.
nsx "$A" ss -K dst "$B_IP" dport = :5001 >/dev/null 2>&1 || true

assert_ok "A's OUTPUT rule" ipt "$A" -t mangle -A OUTPUT -p tcp -d "$B_IP" -j CLEARDF
captured_transfer gso 5002
assert_eq 0 "$XFER_RC" "sender's exit status (GSO through A's OUTPUT rule)"
assert_eq $((MB << 20)) "$XFER_LEN" "bytes received (GSO through A's OUTPUT rule)"
assert_eq "$SUM" "$XFER_SUM" "sha256 of the bytes received (GSO through A's OUTPUT rule)"

# R's ingress shows A's packets as A sent them (M forwards them whole).
lines=$(pcap_ip "$TMPD/gso-in.pcap" | grep " dst=$B_IP " || true)
big=$(count_big <<<"$lines")
info "R's ingress: $(grep -c . <<<"$lines") packets of A's, $big of them GSO packets longer than 1500 bytes"
assert_ge 1 "$big" "GSO packets from A (offloads on)"
assert_no_match ' df=1 ' "$lines" "DF on A's packets (A's OUTPUT rule)"
assert_no_match 'csum=bad' "$lines" "bad header checksums on A's packets"
conservation "GSO" "$TMPD/gso-in.pcap" "$TMPD/gso-r.pcap"
check_egress "$TMPD/gso-r.pcap" "GSO"
info "t=${SECONDS}s: gso checked"

# --- 2. GRO with a fixed ID at R ---------------------------------------------
assert_ok "delete A's OUTPUT rule" ipt "$A" -t mangle -D OUTPUT -p tcp -d "$B_IP" -j CLEARDF
nsx "$A" ethtool -K eth0 tso off >/dev/null
nsx "$M" ethtool -K m-r tso off >/dev/null
if [ "$(printf '%s\n' 5.13 "$(uname -r)" | sort -V | head -n 1)" != 5.13 ]; then
	# Before 5.13 a veth has NAPI, and so GRO, only with an XDP program
	# attached in driver mode: attach one that passes everything.
	xdp=/cleardf/bin/xdp-pass.o
	[ -r "$xdp" ] || fail "$xdp is missing (built by tests/harness/build.sh with the host's clang)"
	assert_ok "XDP pass program on R's ingress (veth GRO before 5.13)" \
		nsx "$R" ip link set dev r-m xdpdrv obj "$xdp" sec xdp
fi
assert_ok "GRO on R's ingress" nsx "$R" ethtool -K r-m gro on
assert_eq "generic-receive-offload: on" "$(nsx "$R" ethtool -k r-m | grep '^generic-receive-offload:')" "GRO on R's ingress"
nsx "$M" nft -f - <<EOF
table ip fixid {
	chain zeroid {
		type filter hook forward priority 0; policy accept;
		ip saddr $A_IP ip daddr $B_IP tcp dport 5003 ip id set 0
	}
}
EOF
assert_ok "R's PREROUTING rule" ipt "$R" -t mangle -A PREROUTING -j CLEARDF
captured_transfer gro 5003

lines=$(pcap_ip "$TMPD/gro-in.pcap" | grep " dst=$B_IP " || true)
merged=$({ grep ' id=0 df=1 ' || true; } <<<"$lines" | count_big)
info "R's ingress after GRO: $(grep -c . <<<"$lines") packets, $merged merged ones with ID 0 and DF (fixed ID)"
assert_no_match ' id=[1-9]' "$lines" "IDs other than 0 on R's ingress (M's nft rule)"
assert_ge 1 "$merged" "GRO-merged fixed-ID packets on R's ingress"
assert_eq 0 "$XFER_RC" "sender's exit status (GRO fixed ID through R's PREROUTING rule)"
assert_eq $((MB << 20)) "$XFER_LEN" "bytes received (GRO fixed ID through R's PREROUTING rule)"
assert_eq "$SUM" "$XFER_SUM" "sha256 of the bytes received (GRO fixed ID through R's PREROUTING rule)"
# Without the FIXEDID mark cleared R would drop every merged packet, and
# TCP would still deliver everything, late, by retransmitting segments
# that arrive alone (and so are not merged): count bytes, not just time.
conservation "GRO fixed ID" "$TMPD/gro-in.pcap" "$TMPD/gro-r.pcap"
check_egress "$TMPD/gro-r.pcap" "GRO fixed ID"
exit 0
