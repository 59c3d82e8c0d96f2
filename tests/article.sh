# shellcheck shell=bash disable=SC2034
# (SC2034: the ART_* variables set here are read by the tests)
# SPDX-License-Identifier: GPL-2.0-only
# tests/article.sh: the topology of the article the project started from
# (shared/seeds: "GRE bridging, IPsec and NFQUEUE"), for tests/t/1x-*.sh.
# Sourced after tests/lib.sh:
#
#   . "$(dirname "$0")/../lib.sh"
#   . "$(dirname "$0")/../article.sh"
#
#      hA ---- rA ======== tunnel over the underlay ======== rB ---- hB
#     eth0   lan0  wan0 --- na0 [net] nb0 --- wan0  lan0   eth0
#
#   LAN (bridged by the L2 tunnels): hA 192.0.2.1/24, hB 192.0.2.2/24;
#     rA and rB put lan0 and the tunnel in a bridge br0 (no address, as a
#     bridge port has none and nobody can send "fragmentation needed").
#   LAN (routed by the L3 tunnels gre and ipip): hA 192.0.2.1/25 behind
#     rA 192.0.2.126, hB 192.0.2.129/25 behind rB 192.0.2.254.
#   Underlay: rA wan0 198.51.100.1/24 -- net 198.51.100.254 / 203.0.113.254
#     -- rB wan0 203.0.113.1/24. Every link has MTU 1500, as in the article.
#
# Every tunnel gets MTU 1500 (what the LAN needs) and does not do path MTU
# discovery on its own (gretap/gre/ipip: nopmtudisc; vxlan: df unset, its
# default), which is the article's setting: the outer header is then
# fragmentable as soon as the inner packet is, so what decides is the DF bit
# of the inner packet, copied into the outer header (and, on current kernels,
# into the tunnel's own MTU check).
#
# IPv6 is off in every namespace: router solicitations and MLD reports
# crossing the tunnel would blur the counters and captures.

# Namespaces, in path order.
ART_NS=(hA rA net rB hB)
ART_HA=192.0.2.1
ART_HB=192.0.2.2
ART_UA=198.51.100.1
ART_UB=203.0.113.1
ART_TUN=""	# tunnel type of the current topology
ART_TDEV=""	# its device name in rA and rB
ART_L2=1	# 1: bridged LAN, 0: routed LAN
ART_RULE_IN=br0	# -i of the PREROUTING placement
ART_RA_HOST=0	# 1: this system itself is rA (set before art_topology)

# art_ip R ARGS...: `ip ARGS` in router R's namespace, or here when this
# system plays rA (tests/router: the booted router is rA, and its own
# files must configure it, so it cannot live in a namespace).
art_ip() {
	local r=$1
	shift
	if [ "$r" = rA ] && [ "$ART_RA_HOST" = 1 ]; then
		ip "$@"
	else
		ip -n "$r" "$@"
	fi
}

# art_nsx R CMD...: CMD in R's namespace, or here when this system is rA.
art_nsx() {
	local r=$1
	shift
	if [ "$r" = rA ] && [ "$ART_RA_HOST" = 1 ]; then
		"$@"
	else
		nsx "$r" "$@"
	fi
}

# art_row: the matrix row this guest runs (bookworm, trixie, ...).
art_row() {
	if [ -z "${CLEARDF_ROW:-}" ] && [ -r /cleardf/config ]; then
		CLEARDF_ROW=$(sed -n "s/^CLEARDF_ROW=//p" /cleardf/config | tr -d "'\"")
	fi
	if [ -z "${CLEARDF_ROW:-}" ]; then
		# Not in the harness's guest: guess from the kernel release.
		case "$(uname -r)" in
		5.10.*) CLEARDF_ROW=bullseye ;;
		6.1.*) CLEARDF_ROW=bookworm ;;
		6.12.*+bpo*) CLEARDF_ROW=bookworm-backports ;;
		6.12.*) CLEARDF_ROW=trixie ;;
		*) CLEARDF_ROW=sid ;;
		esac
	fi
	printf '%s\n' "$CLEARDF_ROW"
}

# art_require: what every article test needs.
art_require() {
	require_cmd ip ping tcpdump pcapip sysctl "$IPT"
	require_module bridge br_netfilter veth
	require_cleardf
}

# art_bridge_nf: net.bridge.bridge-nf-call-iptables=1 on rA and rB (the
# bridged IPv4 packets traverse the iptables hooks). Sets ART_BRNF_PER_NETNS
# to yes when it is a per-namespace setting (it is on 6.1, measured: then
# rB keeps its own value while rA's changes), no when it is one switch for
# the whole machine (then it is put back as it was when the test ends).
art_bridge_nf() {
	local k=net.bridge.bridge-nf-call-iptables before
	before=$(sysctl -n $k)
	nsx rB sysctl -q -w $k=1
	art_nsx rA sysctl -q -w $k=0
	if [ "$(nsx rB sysctl -n $k)" = 1 ]; then
		ART_BRNF_PER_NETNS=yes
	else
		ART_BRNF_PER_NETNS=no
		on_exit "sysctl -q -w $k=$before"
	fi
	art_nsx rA sysctl -q -w $k=1
}

# art_topology TUNNEL: build the namespaces, the underlay and the tunnel.
# TUNNEL: gretap, vxlan (bridged LAN) or gre, ipip (routed LAN).
# (Few commands, batched per namespace: under TCG each exec costs.)
art_topology() {
	local r k
	if [ "$ART_RA_HOST" = 1 ]; then
		# this system is rA: the others in namespaces; what the test
		# changes here is put back when it ends
		ns_create hA net rB hB
		for k in net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6 net.ipv4.ip_forward; do
			on_exit "sysctl -q -w $k=$(sysctl -n $k)"
		done
		on_exit "ip link del wan0; ip link del lan0; ip link del br0; ip link del \$ART_TDEV"
	else
		ns_create "${ART_NS[@]}"
	fi
	for r in "${ART_NS[@]}"; do
		art_nsx "$r" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv4.ip_forward="$(case $r in h?) echo 0 ;; *) echo 1 ;; esac)"
	done
	# veth pairs (MTU 1500, the default), each made from the namespace of
	# its first end: `link add NAME` fails with "File exists" when NAME
	# exists where ip runs, whatever namespace it is meant for, and lan0,
	# wan0 and eth0 exist in several
	art_ip rA link add wan0 type veth peer name na0 netns net
	ip -n net link add nb0 type veth peer name wan0 netns rB
	art_ip rA link add lan0 type veth peer name eth0 netns hA
	ip -n rB link add lan0 type veth peer name eth0 netns hB
	ip -n net -b - <<-EOF
		addr add 198.51.100.254/24 dev na0
		addr add 203.0.113.254/24 dev nb0
		link set na0 up
		link set nb0 up
	EOF
	# each router: its underlay address, its links up, the other underlay
	local ua net gw
	for r in "rA $ART_UA 203.0.113.0/24 198.51.100.254" "rB $ART_UB 198.51.100.0/24 203.0.113.254"; do
		read -r r ua net gw <<<"$r"
		art_ip "$r" -b - <<-EOF
			addr add $ua/24 dev wan0
			link set wan0 up
			link set lan0 up
			route add $net via $gw
		EOF
	done
	ART_TUN=""
	art_tunnel "$1"
}

# art_tunnel TUNNEL: (re)configure rA, rB, hA and hB for TUNNEL, removing
# the previous tunnel if there is one: one topology serves several tunnel
# types in a test.
art_tunnel() {
	local t=$1 r peer_u my_u tun oldl2=$ART_L2
	case $t in
	gretap | vxlan) ART_L2=1 ART_RULE_IN=br0 ART_HB=192.0.2.2 ;;
	gre | ipip) ART_L2=0 ART_RULE_IN=lan0 ART_HB=192.0.2.129 ;;
	*) fail "art_tunnel: unknown tunnel type $t" ;;
	esac
	local old=$ART_TDEV
	case $t in
	gretap) ART_TDEV=gt0 ;;
	gre) ART_TDEV=gre1 ;;
	ipip) ART_TDEV=ipip1 ;;
	vxlan) ART_TDEV=vx0 ;;
	esac
	for r in rA rB; do
		if [ $r = rA ]; then my_u=$ART_UA peer_u=$ART_UB; else my_u=$ART_UB peer_u=$ART_UA; fi
		case $t in
		gretap) tun="gretap local $my_u remote $peer_u nopmtudisc" ;;
		gre) tun="gre local $my_u remote $peer_u nopmtudisc" ;;
		ipip) tun="ipip local $my_u remote $peer_u nopmtudisc" ;;
		vxlan) tun="vxlan id 42 local $my_u remote $peer_u dstport 4789" ;;
		esac
		{
			if [ -n "$ART_TUN" ]; then
				echo "link del $old"
				[ "$oldl2" = 0 ] || echo "link del br0"
				echo "addr flush dev lan0"
			fi
			echo "link add $ART_TDEV type $tun"
			echo "link set $ART_TDEV mtu 1500"
			if [ $ART_L2 = 1 ]; then
				echo "link add br0 type bridge"
				echo "link set lan0 master br0"
				echo "link set $ART_TDEV master br0"
				echo "link set br0 up"
			fi
			echo "link set $ART_TDEV up"
			if [ $ART_L2 = 0 ] && [ $r = rA ]; then
				echo "addr add 192.0.2.126/25 dev lan0"
				echo "route add 192.0.2.128/25 dev $ART_TDEV"
			elif [ $ART_L2 = 0 ]; then
				echo "addr add 192.0.2.254/25 dev lan0"
				echo "route add 192.0.2.0/25 dev $ART_TDEV"
			fi
		} >"$TMPD/art_tunnel.$r"
		art_ip "$r" -b "$TMPD/art_tunnel.$r" 2>"$TMPD/art_tunnel.err" || {
			cat "$TMPD/art_tunnel.err"
			fail "setting up $r for $t failed"
		}
	done
	for r in hA hB; do
		{
			[ -z "$ART_TUN" ] || echo "addr flush dev eth0"
			echo "link set eth0 up"
			if [ $ART_L2 = 1 ]; then
				echo "addr add $([ $r = hA ] && echo $ART_HA || echo $ART_HB)/24 dev eth0"
			elif [ $r = hA ]; then
				echo "addr add $ART_HA/25 dev eth0"
				echo "route add default via 192.0.2.126"
			else
				echo "addr add $ART_HB/25 dev eth0"
				echo "route add default via 192.0.2.254"
			fi
		} | art_ip "$r" -b - || fail "setting up $r for $t failed"
	done
	ART_TUN=$t
	info "[$SECONDS s] topology: LAN $([ $ART_L2 = 1 ] && echo bridged || echo routed) over $t between rA and rB"
}

# art_esp MODE: IPsec ESP between the routers' underlay addresses for
# their GRE packets, as in the article (static keys, no IKE).
# MODE: transport or tunnel. AES-GCM (rfc4106) when the kernel has it,
# else AES-CBC with HMAC-SHA256.
ART_ESP_ALG=""
_art_esp_batch() {
	local r=$1 mode=$2 alg=$3 a b reqo reqi ka kb
	local -A key=(
		[gcm1]="rfc4106(gcm(aes)) 0x0123456789abcdef0123456789abcdef01234567 128"
		[gcm2]="rfc4106(gcm(aes)) 0x89abcdef0123456789abcdef0123456789abcdef 128"
		[cbc1]="cbc(aes) 0x0123456789abcdef0123456789abcdef auth-trunc hmac(sha256) 0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 128"
		[cbc2]="cbc(aes) 0x89abcdef0123456789abcdef01234567 auth-trunc hmac(sha256) 0x89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567 128"
	)
	local kw=aead
	[ "$alg" = gcm ] || kw=enc
	if [ "$r" = rA ]; then a=$ART_UA b=$ART_UB reqo=1 reqi=2; else a=$ART_UB b=$ART_UA reqo=2 reqi=1; fi
	ka=${key[${alg}1]} kb=${key[${alg}2]}
	art_ip "$r" -b - <<-EOF
		xfrm state add src $ART_UA dst $ART_UB proto esp spi 0x1001 reqid 1 mode $mode $kw $ka
		xfrm state add src $ART_UB dst $ART_UA proto esp spi 0x1002 reqid 2 mode $mode $kw $kb
		xfrm policy add src $a/32 dst $b/32 proto gre dir out tmpl src $a dst $b proto esp reqid $reqo mode $mode
		xfrm policy add src $b/32 dst $a/32 proto gre dir in tmpl src $b dst $a proto esp reqid $reqi mode $mode
	EOF
}
art_esp() {
	local mode=$1 r
	[ -n "$ART_ESP_ALG" ] || require_module esp4 xfrm_user
	if [ -z "$ART_ESP_ALG" ]; then
		if _art_esp_batch rA "$mode" gcm 2>/dev/null; then
			ART_ESP_ALG=gcm
		else
			art_esp_flush
			_art_esp_batch rA "$mode" cbc || fail "ip xfrm: neither rfc4106(gcm(aes)) nor cbc(aes)+hmac(sha256) works"
			ART_ESP_ALG=cbc
		fi
		r=rB
	else
		r="rA rB"
	fi
	for r in $r; do
		_art_esp_batch "$r" "$mode" "$ART_ESP_ALG" || fail "ip xfrm in $r ($mode mode)"
	done
	info "ESP $mode mode between $ART_UA and $ART_UB for GRE ($([ $ART_ESP_ALG = gcm ] && echo 'rfc4106(gcm(aes))' || echo 'cbc(aes)+hmac(sha256)'))"
}

# art_esp_flush: no IPsec on the routers any more.
art_esp_flush() {
	local r
	for r in rA rB; do
		printf 'xfrm policy flush\nxfrm state flush\n' | art_ip "$r" -b -
	done
}

# art_esp_bytes NS: bytes the ESP SAs of NS have carried (both directions).
art_esp_bytes() {
	art_ip "$1" -s xfrm state | awk '/^[[:space:]]*[0-9]+\(bytes\)/ { sub(/\(bytes\).*/, "", $1); s += $1 } END { print s + 0 }'
}

# ---------------------------------------------------------------- placements

# The placements of CLEARDF the tests compare, on both routers:
#   none        no rule
#   PREROUTING  on the inner packet as it enters the router from the LAN:
#               -t mangle -A PREROUTING -i br0 (bridged LAN: needs
#               br_netfilter and bridge-nf-call-iptables=1) or -i lan0
#               (routed LAN)
#   OUTPUT      on the outer packet the tunnel builds, the article's place:
#               -t mangle -A OUTPUT -p gre (gretap, gre, and GRE inside
#               ESP, the article's rule), -p 4 (ipip), -p udp --dport 4789
#               (vxlan)
#   tc-ingress  no CLEARDF rule and no br_netfilter (bridge-nf-call-iptables
#               0): the tc eBPF program tests/tools/bpf/cleardf-tc.c (what
#               CLEARDF does, with a random ID) on the ingress of lan0, the
#               router's LAN port, before the bridge and ip_forward()
art_rule_args() {
	case $1 in
	PREROUTING) echo "PREROUTING -i $ART_RULE_IN -j CLEARDF" ;;
	OUTPUT)
		case $ART_TUN in
		gretap | gre) echo "OUTPUT -p gre -j CLEARDF" ;;
		ipip) echo "OUTPUT -p 4 -j CLEARDF" ;;
		vxlan) echo "OUTPUT -p udp --dport 4789 -j CLEARDF" ;;
		esac ;;
	none | tc-ingress) ;;
	*) fail "unknown placement $1" ;;
	esac
}

ART_TC_OBJ=/cleardf/bin/cleardf-tc.o
ART_TC_ON=0	# 1: the tc placement is in place on rA and rB

# _art_tc on|off: the tc placement on rA and rB (lan0 ingress, clsact),
# with bridge-nf-call-iptables 0 while it is on (1 again when it goes:
# art_bridge_nf's setting, which the other placements need)
_art_tc() {
	local r k=net.bridge.bridge-nf-call-iptables
	# one exec per router (under TCG every exec counts)
	for r in rA rB; do
		if [ "$1" = on ]; then
			# shellcheck disable=SC2016 # expanded by the inner shell
			art_nsx "$r" sh -c 'sysctl -q -w "$1=0" && tc qdisc add dev lan0 clsact &&
				tc filter add dev lan0 ingress protocol ip bpf da obj "$2" sec cleardf' \
				_art_tc "$k" "$ART_TC_OBJ" || fail "tc in $r: the eBPF program $ART_TC_OBJ did not load"
		else
			# shellcheck disable=SC2016 # expanded by the inner shell
			art_nsx "$r" sh -c 'tc qdisc del dev lan0 clsact && sysctl -q -w "$1=1"' _art_tc "$k" ||
				fail "tc in $r: removing clsact from lan0"
		fi
	done
	ART_TC_ON=$([ "$1" = on ] && echo 1 || echo 0)
}

# art_place PLACEMENT: remove CLEARDF rules from both routers, then add the
# ones of PLACEMENT (one iptables-restore per router).
art_place() {
	local r args
	args=$(art_rule_args "$1")
	[ "$ART_TC_ON" = 0 ] || [ "$1" = tc-ingress ] || _art_tc off
	for r in rA rB; do
		printf '*mangle\n-F PREROUTING\n-F OUTPUT\n%s\nCOMMIT\n' "${args:+-A $args}" |
			art_nsx "$r" "$IPT_RESTORE" --noflush || fail "$IPT_RESTORE in $r: placement $1"
	done
	[ "$1" != tc-ingress ] || [ "$ART_TC_ON" = 1 ] || _art_tc on
	ART_PLACEMENT=$1
}

# art_counters: "TX-ERRORS RULE-PACKETS RULE-BYTES" of rA: the tunnel device's TX
# errors and the packets the CLEARDF rules in mangle counted.
art_counters() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	art_nsx rA bash -c 'e=$(cat /sys/class/net/$1/statistics/tx_errors)
		p=$("$2" -w -t mangle -L -v -n -x | awk '"'"'$3 == "CLEARDF" { s += $1; b += $2 } END { print s + 0, b + 0 }'"'"')
		echo "$e $p"' art_counters "$ART_TDEV" "$IPT"
}

# art_stat NS DEV COUNTER: /sys/class/net/DEV/statistics/COUNTER in NS.
art_stat() {
	art_nsx "$1" cat "/sys/class/net/$2/statistics/$3"
}

# art_warmup: small pings both ways (ARP, bridge learning, the tunnel is
# up): a failure here means the topology is broken, not the big ping.
art_warmup() {
	wait_for 10 nsx hA ping -n -c 1 -W 1 "$ART_HB" >/dev/null ||
		fail "small ping hA -> hB across the $ART_TUN tunnel: no reply (topology broken)"
	assert_ok "small ping hB -> hA across the $ART_TUN tunnel" nsx hB ping -n -c 1 -W 2 $ART_HA
}

# art_bigping [COUNT] [-M MODE]: `ping -M do -s 1472` (1500-byte packets
# with DF) from hA to hB. Sets PING_SENT, PING_RECV, PING_OUT and
# RESULT=rescued (every echo answered), not-rescued (none) or partial.
art_bigping() {
	local count=${1:-3} mode=${2:-do}
	PING_OUT=$(nsx hA ping -n -c "$count" -i 0.2 -W 1 -M "$mode" -s 1472 "$ART_HB" 2>&1) || true
	PING_SENT=$(printf '%s\n' "$PING_OUT" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
	PING_RECV=$(printf '%s\n' "$PING_OUT" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	: "${PING_SENT:=0}" "${PING_RECV:=0}"
	if [ "$PING_RECV" = "$count" ]; then
		RESULT=rescued
	elif [ "$PING_RECV" = 0 ]; then
		RESULT=not-rescued
	else
		RESULT=partial
	fi
}

# art_measure LABEL [COUNT] [PING-MODE]: the big ping with counters around
# it. Prints one line for the log and sets RESULT, TXERR (tunnel TX errors
# on rA during the ping), RULEPKTS and RULEBYTES (what the rule on rA
# counted: small frames such as ARP cross the tunnel meanwhile too).
# hA forgets what path MTU it learned first (the routed tunnels send it
# "fragmentation needed"): every measurement starts from the same host.
# ART_COUNTERS=0 skips the counters (TXERR and RULEPKTS are then "?"):
# under TCG every exec counts.
ART_CELL=""	# name of the cell in the log line (default: the tunnel type)
ART_COUNTERS=1
art_measure() {
	local label=$1 e0=0 e1=0 p0=0 p1=0 b0=0 b1=0
	# gretap's drop sends nothing back: rA has no route to hA
	[ "$ART_TUN" = gretap ] || ip -n hA route flush cache
	[ "$ART_COUNTERS" = 0 ] || read -r e0 p0 b0 < <(art_counters)
	art_bigping "${2:-3}" "${3:-do}"
	[ "$ART_COUNTERS" = 0 ] || read -r e1 p1 b1 < <(art_counters)
	TXERR=$((e1 - e0))
	RULEPKTS=$((p1 - p0))
	RULEBYTES=$((b1 - b0))
	[ "$ART_COUNTERS" = 1 ] || TXERR="?" RULEPKTS="?" RULEBYTES="?"
	info "[$SECONDS s] measured: $label cell=${ART_CELL:-$ART_TUN} placement=$ART_PLACEMENT result=$RESULT" \
		"received=$PING_RECV/$PING_SENT $ART_TDEV-tx_errors=+$TXERR rule-pkts(rA)=+$RULEPKTS rule-bytes(rA)=+$RULEBYTES"
	if [ "$PING_RECV" != "$PING_SENT" ]; then
		printf '%s\n' "$PING_OUT" | grep -vE '^(PING|$|---)' | sed 's/^/#     ping: /' | tail -n 4
	fi
}

# ---------------------------------------------------------------- expectations

# tests/expect/placement.tsv: one line per (tunnel, placement), one column
# per matrix row; a cell is rescued, not-rescued, partial, or "?" (not
# measured on that row yet).
ART_EXPECT_FILE=$TESTS_ROOT/expect/placement.tsv

# art_expected TUNNEL PLACEMENT: the expectation for the running row, or ?.
# The debug row's kernel is a 6.1 too: bookworm's column.
art_expected() {
	local row col
	row=$(art_row)
	[ "$row" != debug ] || row=bookworm
	[ -r "$ART_EXPECT_FILE" ] || fail "$ART_EXPECT_FILE is missing"
	col=$(awk -F'\t' -v r="$row" '$1 == "tunnel" { for (i = 1; i <= NF; i++) if ($i == r) print i; exit }' "$ART_EXPECT_FILE")
	if [ -z "$col" ]; then
		echo "?"
		return
	fi
	awk -F'\t' -v t="$1" -v p="$2" -v c="$col" '$1 == t && $2 == p { print ($c == "" ? "?" : $c); f = 1; exit } END { if (!f) print "?" }' "$ART_EXPECT_FILE"
}

# art_check_expected TUNNEL PLACEMENT MEASURED: compare with the file.
# An expectation not recorded yet (?) is reported, not failed: the line
# `placement: ...` says what to write into the file.
ART_UNRECORDED=0
art_check_expected() {
	local t=$1 p=$2 m=$3 e row
	row=$(art_row)
	e=$(art_expected "$t" "$p")
	echo "placement: row=$row tunnel=$t placement=$p measured=$m expected=$e"
	if [ "$e" = "?" ]; then
		info "no expectation for ($t, $p) on $row in tests/expect/placement.tsv yet: record '$m'"
		ART_UNRECORDED=$((ART_UNRECORDED + 1))
		return 0
	fi
	assert_eq "$e" "$m" "($t, $p) on $row, as tests/expect/placement.tsv records"
}

# ---------------------------------------------------------------- captures

# art_check_inner FILE COUNT: the echo requests hB received (capture FILE
# on hB's eth0) are COUNT whole 1500-byte packets with DF clear, a valid
# header checksum and non-zero IDs that differ from each other (hA's ping
# sends them with ID 0).
art_check_inner() {
	local f=$1 n=$2 lines l ids
	lines=$(pcap_ip "$f" | grep " src=$ART_HA dst=$ART_HB proto=1 " || true)
	info "echo requests captured at hB:"
	printf '%s\n' "$lines" | indent
	assert_eq "$n" "$(printf '%s\n' "$lines" | grep -c . || true)" "echo requests that reached hB"
	while read -r l; do
		assert_eq 0 "$(field df "$l")" "DF of an echo request at hB"
		assert_eq 0/0 "$(field mf "$l")/$(field off "$l")" "MF/offset fields of an echo request at hB (reassembled by rB)"
		assert_eq 1500 "$(field len "$l")" "length of an echo request at hB"
		assert_eq ok "$(field csum "$l")" "header checksum of an echo request at hB"
		assert_ne 0 "$(field id "$l")" "IP ID of an echo request at hB (hA sent 0)"
	done <<<"$lines"
	ids=$(printf '%s\n' "$lines" | while read -r l; do field id "$l"; done | sort | uniq -d)
	assert_eq "" "$ids" "IDs seen more than once among the echo requests at hB"
}

# art_check_underlay FILE PROTO OUTERLEN NBIG: the underlay capture FILE
# (on net's nb0): every packet of protocol PROTO (47 GRE, 50 ESP, 4 IPIP,
# 17 UDP) between the routers has DF clear, a non-zero ID and a valid
# header checksum; the IDs are unique per direction within the run; at least
# NBIG datagrams of OUTERLEN bytes from rA crossed as fragments and every
# fragmented datagram reassembles completely.
art_check_underlay() {
	local f=$1 proto=$2 olen=$3 nbig=$4 lines reasm bad dup big incomplete
	lines=$(pcap_ip "$f" | grep " layer=0 .* proto=$proto " || true)
	[ -n "$lines" ] || fail "no protocol $proto packets on the underlay"
	info "underlay ($(printf '%s\n' "$lines" | grep -c .) packets of protocol $proto), the first 6:"
	printf '%s\n' "$lines" | head -n 6 | indent
	bad=$(printf '%s\n' "$lines" | grep -vE ' df=0 .* csum=ok' || true)
	assert_eq "" "$bad" "underlay packets with DF set or a bad header checksum"
	bad=$(printf '%s\n' "$lines" | grep ' id=0 ' || true)
	assert_eq "" "$bad" "underlay packets with ID 0"
	reasm=$(pcap_ip "$f" -r | grep " proto=$proto " || true)
	info "reassembled on the underlay (fragmented datagrams):"
	printf '%s\n' "$reasm" | awk '$5 != "frags=1"' | indent | head -n 12
	dup=$(printf '%s\n' "$reasm" | awk '{ print $1, $2, $4 }' | sort | uniq -d)
	assert_eq "" "$dup" "(src, dst, id) used by more than one datagram on the underlay"
	incomplete=$(printf '%s\n' "$reasm" | grep 'complete=no' || true)
	assert_eq "" "$incomplete" "datagrams that do not reassemble"
	big=$(printf '%s\n' "$reasm" | grep -c "^src=$ART_UA dst=$ART_UB .* complete=yes len=$olen " || true)
	assert_ge "$nbig" "$big" "$olen-byte datagrams from rA that crossed in fragments and reassemble"
	big=$(printf '%s\n' "$reasm" | grep "^src=$ART_UA dst=$ART_UB .* len=$olen " | grep -vc ' frags=1 ' || true)
	assert_ge "$nbig" "$big" "$olen-byte datagrams from rA that were fragmented"
}
