#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the CLEARDF target on a forwarding path with a PMTUD black hole:
#
#   ns1 ---------- nsr ---------- ns2
#   192.0.2.1      mtu 1500 | mtu 1280      198.51.100.1
#
# nsr drops the ICMP "fragmentation needed" it would send back, so a DF
# packet that fits the first link but not the second one is lost without
# a trace.  With CLEARDF in nsr's mangle PREROUTING chain, DF is cleared
# before ip_forward() looks at the MTU: the packet is fragmented and
# reaches ns2, where every fragment must arrive with DF clear.

# Kselftest framework requirement - SKIP code is 4.
ksft_skip=4
ret=0

sfx=$(mktemp -u "XXXXXXXX")
ns1="ns1-$sfx"
nsr="nsr-$sfx"
ns2="ns2-$sfx"

ip1=192.0.2.1
ip2=198.51.100.1
# ICMP payload: 1428-byte packets, too big for the 1280-byte link
big=1400

checktool() {
	if ! $1 > /dev/null 2>&1; then
		echo "SKIP: Could not $2"
		exit $ksft_skip
	fi
}

checktool "iptables --version" "run test without iptables"
checktool "ip -Version" "run test without ip tool"
checktool "ping -c 1 -W 1 127.0.0.1" "run test without ping"
checktool "iptables -j CLEARDF --help" "run test without iptables' CLEARDF extension"
checktool "ip netns add $ns1" "create net namespace $ns1"

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for n in "$ns1" "$nsr" "$ns2"; do
		ip netns del "$n" 2> /dev/null
	done
}
trap cleanup EXIT

ip netns add "$nsr" || exit $ksft_skip
ip netns add "$ns2" || exit $ksft_skip

ip link add veth0 netns "$ns1" type veth peer name veth1 netns "$nsr"
ip link add veth0 netns "$ns2" mtu 1280 type veth peer name veth2 netns "$nsr" mtu 1280
for n in "$ns1" "$nsr" "$ns2"; do
	for d in lo veth0 veth1 veth2; do
		ip -net "$n" link set "$d" up 2> /dev/null
	done
done
ip -net "$ns1" addr add "$ip1/24" dev veth0
ip -net "$ns1" route add default via 192.0.2.254
ip -net "$nsr" addr add 192.0.2.254/24 dev veth1
ip -net "$nsr" addr add 198.51.100.254/24 dev veth2
ip -net "$ns2" addr add "$ip2/24" dev veth0
ip -net "$ns2" route add default via 198.51.100.254
ip netns exec "$nsr" sysctl -qw net.ipv4.ip_forward=1

# The black hole.
ip netns exec "$nsr" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP

# What reaches ns2 from ns1, before reassembly: packets with DF set (rule
# 1), and first fragments (MF set, rule 2).
ip netns exec "$ns2" iptables -t raw -A PREROUTING -s "$ip1" -m u32 --u32 "4&0x4000=0x4000"
ip netns exec "$ns2" iptables -t raw -A PREROUTING -s "$ip1" -m u32 --u32 "4&0x2000=0x2000"

# count NS TABLE CHAIN N: packets counted by rule number N
count() {
	ip netns exec "$1" iptables -t "$2" -L "$3" -n -v -x --line-numbers |
		awk -v n="$4" '$1 == n { print $2 }'
}

# pass/fail MESSAGE
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; ret=1; }

bigping() {
	ip netns exec "$ns1" ping -q -c 2 -i 0.2 -W 1 -M "do" -s "$big" "$ip2" > /dev/null
}

if ip netns exec "$ns1" ping -q -c 1 -W 2 -M "do" "$ip2" > /dev/null; then
	pass "small DF ping across the router"
else
	fail "small DF ping across the router"
	exit $ret
fi

if bigping; then
	fail "big DF ping without CLEARDF: expected loss in the black hole, got replies"
else
	pass "big DF ping without CLEARDF is lost in the black hole"
fi

# The target refuses what it cannot do: INPUT, other tables, IPv6.
# refused WHAT CMD...: CMD, run on the router, must fail.
refused()
{
	local what=$1

	shift
	if ip netns exec "$nsr" "$@" 2> /dev/null; then
		fail "CLEARDF accepted $what"
	else
		pass "CLEARDF refused $what"
	fi
}
refused "in mangle INPUT" iptables -t mangle -A INPUT -j CLEARDF
refused "in the filter table" iptables -t filter -A FORWARD -j CLEARDF
refused "by ip6tables" ip6tables -t mangle -A PREROUTING -j CLEARDF

if ! ip netns exec "$nsr" iptables -t mangle -A PREROUTING -i veth1 -j CLEARDF; then
	fail "iptables -t mangle -A PREROUTING -j CLEARDF"
	exit $ret
fi
ip netns exec "$ns2" iptables -t raw -Z PREROUTING

if bigping; then
	pass "big DF ping with CLEARDF"
else
	fail "big DF ping with CLEARDF: no reply"
fi

hits=$(ip netns exec "$nsr" iptables -t mangle -L PREROUTING -n -v -x |
	awk '$3 == "CLEARDF" { print $1 }')
df=$(count "$ns2" raw PREROUTING 1)
mf=$(count "$ns2" raw PREROUTING 2)
if [ "${hits:-0}" -ge 2 ]; then
	pass "CLEARDF rule matched $hits packets"
else
	fail "CLEARDF rule matched ${hits:-?} packets, expected at least 2"
fi
if [ "$df" = 0 ] && [ "${mf:-0}" -ge 2 ]; then
	pass "$mf fragmented packets arrived, none with DF set"
else
	fail "arrived: ${df:-?} packets with DF set (expected 0)," \
	     "${mf:-?} first fragments (expected at least 2)"
fi

exit $ret
