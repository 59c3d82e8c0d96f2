#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# frontends: legacy nft
# suite: core
#
# 40-edge-cases: what CLEARDF does to each kind of packet, header field by
# header field and byte for byte.
#
#   A 192.0.2.1 --(1500)-- B 192.0.2.2
#
# A sends packets whose header it writes itself (tests/tools/rawsend,
# IP_HDRINCL) through its OUTPUT chain, which has
#   -t mangle -A OUTPUT -p 253 -j CLEARDF
#   -t mangle -A OUTPUT -p 254 -j CLEARDF --keep-id
# and B captures them. The sent packet is known exactly (rawsend's layout,
# with the total length and header checksum the kernel fills in), so each
# captured packet is compared with the packet expected: every header field
# by name (version, ihl, tos, tot_len, id, reserved, df, mf, offset, ttl,
# protocol, checksum, saddr, daddr, options) and the payload, then all bytes.
#  - DF clear: untouched, byte for byte;
#  - fragments with DF (MF set, a non-zero offset, both): untouched;
#  - DF: DF cleared, a fresh ID, checksum valid (recomputed here from the
#    expected header), everything else untouched;
#  - IP options (ihl 7 and the maximum, 15, and a Record Route option with
#    an address in it): the same, options intact byte for byte;
#  - the reserved flag bit (0x8000): kept, whether DF is cleared or the
#    packet is left alone;
#  - ID 0 with DF (what Linux gives unconnected DF packets): a non-zero ID,
#    a different one for each packet;
#  - --keep-id: DF cleared, ID untouched (0 stays 0), checksum valid;
#    fragments and DF-clear packets untouched there too.
# A "fresh" ID is checked to differ from the one sent; the kernel's
# generator could draw that very value, once in 65536 draws.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip tcpdump "$IPT" rawsend pcapip
require_cleardf

A=ec-a B=ec-b
A_IP=192.0.2.1 B_IP=192.0.2.2
TTL=33 SIZE=64

ns_create "$A" "$B"
veth "$A" eth0 "$B" eth0
addr "$A" eth0 "$A_IP/24"
addr "$B" eth0 "$B_IP/24"
assert_ok "ping A -> B" nsx "$A" ping -c 1 -W 5 "$B_IP"

ipt "$A" -t mangle -A OUTPUT -p 253 -j CLEARDF
ipt "$A" -t mangle -A OUTPUT -p 254 -j CLEARDF --keep-id

hexip() {
	local IFS=.
	# shellcheck disable=SC2086 # split on dots
	printf '%02x%02x%02x%02x' $1
}
SRC_HEX=$(hexip "$A_IP")
DST_HEX=$(hexip "$B_IP")

# csum HEX: the IPv4 header checksum of header HEX (its checksum field 0000).
csum() {
	local h=$1 s=0 i
	for ((i = 0; i < ${#h}; i += 4)); do
		s=$((s + 16#${h:i:4}))
	done
	while ((s >> 16)); do
		s=$(((s & 0xffff) + (s >> 16)))
	done
	printf '%04x' $((~s & 0xffff))
}

# mkpkt TOS ID DF MF OFFSET PROTO OPTLEN PATTERN RESERVED: the packet
# rawsend sends with these options (-T -i -D -M -o -p -O -P -R, -t $TTL -n
# $SIZE), in hex, with the total length and checksum the kernel puts in.
# OPTLEN xHEX stands for -x HEX: these option bytes, padded with zeros.
mkpkt() {
	local tos=$1 id=$2 df=$3 mf=$4 off=$5 proto=$6 optlen=$7 pat=$8 rs=$9
	local hl i b h opts="" pl=""
	if [[ $optlen == x* ]]; then
		opts=${optlen#x}
		while ((${#opts} % 8)); do opts+=00; done
		hl=$((20 + ${#opts} / 2))
	else
		hl=$((20 + optlen))
		for ((i = 20; i < hl; i++)); do
			if ((i == hl - 1)); then opts+=00; else opts+=01; fi
		done
	fi
	for ((i = 0; i < SIZE; i++)); do
		printf -v b '%02x' $(((pat + i) & 255))
		pl+=$b
	done
	printf -v h '4%x%02x%04x%04x%04x%02x%02x0000%s%s%s' $((hl / 4)) "$tos" $((hl + SIZE)) "$id" \
		$(((rs << 15) | (df << 14) | (mf << 13) | (off / 8))) "$TTL" "$proto" "$SRC_HEX" "$DST_HEX" "$opts"
	echo "${h:0:20}$(csum "$h")${h:24}$pl"
}

# setfield HEX df|id VALUE: HEX with DF or the ID changed and the checksum
# recomputed (what CLEARDF must do).
setfield() {
	local h=$1 ihl hdr fo
	ihl=$((16#${h:1:1}))
	hdr=${h:0:ihl*8}
	case $2 in
	df)
		fo=$((16#${hdr:12:4}))
		fo=$(((fo & ~0x4000) | ($3 << 14)))
		printf -v fo '%04x' "$fo"
		hdr=${hdr:0:12}$fo${hdr:16}
		;;
	id)
		printf -v fo '%04x' "$3"
		hdr=${hdr:0:8}$fo${hdr:12}
		;;
	esac
	hdr=${hdr:0:20}0000${hdr:24}
	echo "${hdr:0:20}$(csum "$hdr")${hdr:24}${h:ihl*8}"
}

# fields HEX: the packet's header fields, one name=value per line.
fields() {
	local h=$1 ihl fo
	ihl=$((16#${h:1:1}))
	fo=$((16#${h:12:4}))
	echo "version=$((16#${h:0:1}))"
	echo "ihl=$ihl"
	echo "tos=0x${h:2:2}"
	echo "tot_len=$((16#${h:4:4}))"
	echo "id=$((16#${h:8:4}))"
	echo "reserved=$((fo >> 15 & 1))"
	echo "df=$((fo >> 14 & 1))"
	echo "mf=$((fo >> 13 & 1))"
	echo "offset=$(((fo & 0x1fff) * 8))"
	echo "ttl=$((16#${h:16:2}))"
	echo "protocol=$((16#${h:18:2}))"
	echo "checksum=0x${h:20:4}"
	echo "saddr=$((16#${h:24:2})).$((16#${h:26:2})).$((16#${h:28:2})).$((16#${h:30:2}))"
	echo "daddr=$((16#${h:32:2})).$((16#${h:34:2})).$((16#${h:36:2})).$((16#${h:38:2}))"
	echo "options=${h:40:ihl*8-40}"
	echo "payload=${h:ihl*8}"
}

# compare NAME EXPECTED_HEX SEEN_HEX: field by field, then byte for byte.
compare() {
	local name=$1 want=$2 seen=$3 diff
	diff=$(paste -d'|' <(fields "$want") <(fields "$seen") |
		awk -F'|' '$1 != $2 { split($1, w, "="); split($2, s, "="); printf "%s: expected %s, saw %s; ", w[1], w[2], s[2] }')
	[ -z "$diff" ] || fail "$name: header differs from the expected one: $diff"
	assert_eq "$want" "$seen" "$name: the packet, byte for byte"
}

# The cases: name proto tos id flags offset optlen expectation, where the
# expectation is same (untouched), fresh (DF cleared, new ID) or keep (DF
# cleared, ID kept). Each case's payload starts with its own byte.
CASES=(
	"dfclear         253 0x10 0x1111 -  0    0  same"
	"df              253 0x00 0x2222 D  0    0  fresh"
	"frag-mf         253 0x00 0x3333 DM 0    0  same"
	"frag-offset     253 0x00 0x4444 D  1480 0  same"
	"frag-mf-offset  253 0x00 0x4545 DM 8    0  same"
	"options         253 0x08 0x5555 D  0    8  fresh"
	"options-max     253 0x00 0x5656 D  0    40 fresh"
	"options-rr      253 0x00 0x5757 D  0    x070b08c0000201c633640100 fresh"
	"reserved        253 0x00 0x5858 DR 0    0  fresh"
	"reserved-dfclr  253 0x00 0x5959 R  0    0  same"
	"id0-1           253 0x00 0      D  0    0  fresh"
	"id0-2           253 0x00 0      D  0    0  fresh"
	"id0-3           253 0x00 0      D  0    0  fresh"
	"keepid          254 0x00 0x6666 D  0    0  keep"
	"keepid-id0      254 0x00 0      D  0    0  keep"
	"keepid-options  254 0x04 0x6868 D  0    12 keep"
	"keepid-reserved 254 0x00 0x6969 DR 0    0  keep"
	"keepid-frag     254 0x00 0x7777 DM 0    0  same"
	"keepid-dfclear  254 0x00 0x7878 -  0    0  same"
)

capture_start "$B" eth0 "$TMPD/b.pcap" ip proto 253 or ip proto 254
declare -A WANT=()
i=0
for c in "${CASES[@]}"; do
	read -r name proto tos id flags off optlen expect <<<"$c"
	i=$((i + 1))
	pat=$((i * 12))
	df=0 mf=0 rs=0 args=()
	if [[ $flags == *D* ]]; then df=1; args+=(-D); fi
	if [[ $flags == *M* ]]; then mf=1; args+=(-M); fi
	if [[ $flags == *R* ]]; then rs=1; args+=(-R); fi
	if [[ $optlen == x* ]]; then args+=(-x "${optlen#x}"); else args+=(-O "$optlen"); fi
	assert_ok "rawsend ($name)" nsx "$A" rawsend -s "$A_IP" -p "$proto" -T "$tos" -i "$id" \
		"${args[@]}" -o "$off" -P "$pat" -t "$TTL" -n "$SIZE" "$B_IP"
	WANT[$pat]=$(mkpkt "$tos" "$id" $df $mf "$off" "$proto" "$optlen" "$pat" $rs)
done
capture_stop "$TMPD/b.pcap"

info "captured at B:"
pcap_ip "$TMPD/b.pcap" | indent

# The captured packets in hex (tcpdump -x prints from the IP header on),
# indexed by their first payload byte.
declare -A SEEN=()
while read -r h; do
	[ -n "$h" ] || continue
	ihl=$((16#${h:1:1}))
	p=$((16#${h:ihl*8:2}))
	[ -z "${SEEN[$p]:-}" ] || fail "two packets captured with payload byte $p"
	SEEN[$p]=$h
done < <(tcpdump -r "$TMPD/b.pcap" -n -t -x 2>/dev/null |
	awk '/^[^ \t]/ { if (p != "") print p; p = ""; next }
	     { for (i = 2; i <= NF; i++) p = p $i }
	     END { if (p != "") print p }')
assert_eq ${#CASES[@]} ${#SEEN[@]} "packets captured at B"

i=0
id0s=()
for c in "${CASES[@]}"; do
	read -r name proto tos id flags off optlen expect <<<"$c"
	i=$((i + 1))
	pat=$((i * 12))
	want=${WANT[$pat]}
	seen=${SEEN[$pat]:-}
	[ -n "$seen" ] || fail "$name: no packet captured"
	seen_id=$((16#${seen:8:4}))
	case $expect in
	same) ;;
	keep) want=$(setfield "$want" df 0) ;;
	fresh)
		want=$(setfield "$(setfield "$want" df 0)" id "$seen_id")
		assert_ne 0 "$seen_id" "$name: the fresh ID"
		assert_ne $((id)) "$seen_id" "$name: the fresh ID (the ID sent was $((id)))"
		if [ $((id)) = 0 ]; then id0s+=("$seen_id"); fi
		;;
	esac
	compare "$name" "$want" "$seen"
	info "ok: $name ($expect): $(fields "$seen" | grep -E '^(ihl|id|df|mf|offset|checksum)=' | tr '\n' ' ')"
done
assert_eq ${#id0s[@]} "$(printf '%s\n' "${id0s[@]}" | sort -u | grep -c .)" "distinct IDs for the ID-0 packets (${id0s[*]})"
exit 0
