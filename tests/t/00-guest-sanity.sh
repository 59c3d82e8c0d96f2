#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The guest itself: namespaces, veth, routing across a router namespace,
# module autoloading through both iptables front ends, nft, and capture.
# If this fails, no other result of the run means anything.
# frontends: legacy nft
# suite: core
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip ping tcpdump "$IPT" nft modprobe pcapip

ns_create a r b
veth a eth0 r ra
veth r rb b eth0 1400
addr a eth0 192.0.2.1/24
addr r ra 192.0.2.254/24
addr r rb 198.51.100.254/24
addr b eth0 198.51.100.1/24
ns_route a default via 192.0.2.254
ns_route b default via 198.51.100.254
forwarding r

assert_ok "ping across the router" nsx a ping -c 1 -W 5 198.51.100.1

# The front end loads its own modules (autoloading needs /sbin/modprobe).
assert_ok "$IPT in a namespace" ipt a -t mangle -A OUTPUT -p icmp -j ACCEPT
rules=$(ipt_save a -t mangle)
assert_match '^-A OUTPUT -p icmp -j ACCEPT$' "$rules" "$IPT_SAVE shows the rule"
assert_ok "nft in a namespace" nsx b nft add table inet t

# A DF packet too big for the router's egress is refused with
# "fragmentation needed", a packet without DF is fragmented.
capture_start b eth0 "$TMPD/b.pcap" ip
assert_fail "1500-byte DF ping over an MTU-1400 hop" nsx a ping -c 1 -W 2 -M "do" -s 1472 198.51.100.1
assert_ok "1500-byte ping without DF" nsx a ping -c 1 -W 5 -M dont -s 1472 198.51.100.1
capture_stop "$TMPD/b.pcap"

lines=$(pcap_ip "$TMPD/b.pcap")
info "captured at b:"
printf '%s\n' "$lines" | indent
# echo request from a: two fragments of one datagram, DF clear, MF on the first
frags=$(printf '%s\n' "$lines" | grep -c 'src=192.0.2.1 .*proto=1 ' || true)
assert_eq 2 "$frags" "fragments of the echo request seen at b"
assert_match 'src=192\.0\.2\.1 .* df=0 mf=1 off=0 .*csum=ok' "$lines" "first fragment"
assert_match 'src=192\.0\.2\.1 .* df=0 mf=0 off=1376 .*csum=ok' "$lines" "last fragment"
reasm=$(pcap_ip "$TMPD/b.pcap" -r)
info "reassembled:"
printf '%s\n' "$reasm" | indent
assert_match 'src=192\.0\.2\.1 .*complete=yes len=1500' "$reasm" "reassembled echo request"
exit 0
