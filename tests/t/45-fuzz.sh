#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 45-fuzz: random packets through the target, each checked by an oracle.
# tests/tools/ipfuzz generates IPv4 packets from a seed (random DF, MF and
# reserved bits, fragment offsets, IDs with 0 among them, TOS, TTL, header
# lengths with random well-formed and malformed options, protocols, payload
# lengths up to 1500 bytes, TCP GSO packets) and reads each one back from
# an NFLOG rule placed right after the CLEARDF rule, then checks it against
# the specification (only DF, ID and checksum change; DF cleared exactly on
# non-fragments that had it; valid checksum; a fresh ID from the kernel's
# counter, or the sent one with --keep-id; nothing lost).
# Four runs: PREROUTING (frames injected from another namespace, 5% GSO)
# and OUTPUT (a raw socket), each with and without --keep-id.
#
# CLEARDF_FUZZ_COUNT: packets per run (default 25000: 100,000 per front
# end); CLEARDF_FUZZ_SEED: the first run's seed (default: random, printed;
# run N uses SEED+N). The seed and counts go to the log.
# frontends: legacy nft
# suite: core

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip ipfuzz
require_cleardf
require_module nfnetlink_log xt_NFLOG dummy

COUNT=${CLEARDF_FUZZ_COUNT:-25000}
SEED=${CLEARDF_FUZZ_SEED:-$((($(od -An -N4 -tu4 /dev/urandom) % 2000000000) + 1))}
GROUP=45

A=fz-a R=fz-r
ns_create "$A" "$R"
veth "$A" eth0 "$R" fr0
addr "$A" eth0 192.0.2.1/24
addr "$R" fr0 192.0.2.254/24
# what passes PREROUTING is then dropped without an ICMP error
ip -n "$R" route add blackhole 198.51.100.0/24
# OUTPUT's packets leave through a dummy device (no ARP, nothing sent)
ip -n "$R" link add dummy0 type dummy
ip -n "$R" link set dummy0 up
addr "$R" dummy0 203.0.113.254/24
MAC=$(ip -n "$R" -o link show fr0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)

# counter CHAIN N: the packet count of rule N of mangle CHAIN.
counter() {
	ipt "$R" -t mangle -L "$1" -n -v -x | awk -v n="$2" 'NR == n + 2 { print $1 }'
}

# fuzz CHAIN KEEP ARGS...: rules CLEARDF (--keep-id when KEEP is 1) and
# NFLOG for the fuzzer's packets in CHAIN, then ipfuzz ARGS; checks its
# result and both rules' counters.
run=0
fuzz() {
	local chain=$1 keep=$2 match out rc=0 seed k=()
	shift 2
	seed=$((SEED + run))
	run=$((run + 1))
	case $chain in
	PREROUTING) match=(-i fr0 -s 192.0.2.1) ;;
	OUTPUT) match=(-o dummy0 -d 203.0.113.77) ;;
	esac
	ipt "$R" -t mangle -F "$chain"
	if [ "$keep" = 1 ]; then
		ipt "$R" -t mangle -A "$chain" "${match[@]}" -j CLEARDF --keep-id
		k=(-k)
	else
		ipt "$R" -t mangle -A "$chain" "${match[@]}" -j CLEARDF
	fi
	ipt "$R" -t mangle -A "$chain" "${match[@]}" -j NFLOG --nflog-group "$GROUP"
	out=$(nsx "$R" ipfuzz -s "$seed" -n "$COUNT" -g "$GROUP" "${k[@]}" "$@" 2>&1) || rc=$?
	indent <<<"$out"
	[ $rc = 0 ] || fail "$chain, keep-id $keep: ipfuzz exit $rc (seed $seed; CLEARDF_FUZZ_SEED=$SEED repeats this test)"
	assert_eq "violations: 0" "$(grep '^violations:' <<<"$out")" "$chain, keep-id $keep, seed $seed"
	assert_eq "$COUNT" "$(field captured "$(grep '^seed=' <<<"$out")")" "$chain, keep-id $keep: packets the oracle checked"
	assert_eq "$COUNT" "$(counter "$chain" 1)" "$chain, keep-id $keep: the CLEARDF rule's packet count"
	assert_eq "$COUNT" "$(counter "$chain" 2)" "$chain, keep-id $keep: the NFLOG rule's packet count"
	ipt "$R" -t mangle -F "$chain"
}

info "seed $SEED, $COUNT packets per run"
fuzz PREROUTING 0 -m pre -a "/run/netns/$A" -i eth0 -M "$MAC" -G 50 192.0.2.1 198.51.100.77
fuzz PREROUTING 1 -m pre -a "/run/netns/$A" -i eth0 -M "$MAC" -G 50 192.0.2.1 198.51.100.77
fuzz OUTPUT 0 -m out 203.0.113.254 203.0.113.77
fuzz OUTPUT 1 -m out 203.0.113.254 203.0.113.77
info "4 runs of $COUNT packets: violations 0"
