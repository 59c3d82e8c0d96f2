#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# frontends: legacy nft
# suite: core
#
# 50-lifecycle: the module's life while rules and traffic come and go.
#  1. rmmod is refused while a rule uses the target (with iptables-nft the
#     rule is an nft_compat expression, which holds its own reference to
#     the module) and works once the rule is deleted (nf_tables frees
#     deleted rules from a work queue: allow it a moment); a rule added
#     later loads the module again (alias ipt_CLEARDF); deleting a network
#     namespace releases the references of the rules in it;
#  2. traffic on both vCPUs while rules are added and deleted:
#       A 192.0.2.1 --(1500)-- R --(1280)-- B 198.51.100.1
#     R's "fragmentation needed" is dropped (a black hole). Two udpseq
#     senders on A, pinned to CPU 0 and CPU 1 (taskset; R's PREROUTING runs
#     in the softirq of the sender's CPU, as veth queues to the local CPU),
#     each to its own receiver on B, pinned likewise. Their datagrams carry
#     a stream, a sequence number and a checksum of bytes the receiver can
#     recompute; they alternate between 1400 bytes with DF (delivered only
#     while some CLEARDF rule clears DF on the way: A's OUTPUT or R's
#     PREROUTING) and 200 bytes with DF (always delivered; whenever a rule
#     is in place CLEARDF rewrites their DF, ID and checksum). Meanwhile a
#     loop adds and deletes CLEARDF rules in R's PREROUTING and (with
#     --keep-id) in A's OUTPUT, and every fourth round deletes them all,
#     unloads the module and lets the next rule load it again.
#     Afterwards: every datagram sent was delivered intact or is counted as
#     lost (no corrupt ones, no duplicates), no 200-byte datagram was lost,
#     some 1400-byte ones got through, no packet with a bad IP header
#     checksum reached R or B (the kernel's counters, and B's capture), and
#     the kernel log has no warning.
# Loading and unloading the module 100 times, which does not depend on the
# front end, is 51-module-reload.
# A test that unloads the module: it loads it again before it ends.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

require_cmd ip "$IPT" modprobe rmmod taskset udpseq nstat tcpdump pcapip dmesg
require_cleardf
on_exit modprobe xt_CLEARDF

MOD=xt_CLEARDF
SYS=/sys/module/$MOD
klog_start=$(dmesg | wc -l)

loaded() { [ -d "$SYS" ]; }
refcnt() { cat "$SYS/refcnt" 2>/dev/null || echo none; }
refcnt_is() { [ "$(refcnt)" = "$1" ]; }

# Earlier tests' namespaces may still be on their way out (netns cleanup
# and nf_tables' rule destruction run from work queues).
wait_for 30 refcnt_is 0 || fail "$MOD is still in use before this test started: refcnt $(refcnt)"

info "t=${SECONDS}s"
# --- 1. rmmod refused while in use -----------------------------------------
L=lc-l
ns_create "$L"
assert_ok "a CLEARDF rule" ipt "$L" -t mangle -A OUTPUT -j CLEARDF
info "refcnt with one rule: $(refcnt)"
assert_ge 1 "$(refcnt)" "module refcount with a rule"
assert_fail "rmmod $MOD while a rule uses it" rmmod "$MOD"
info "rmmod says: $ASSERT_OUT"
assert_match 'in use' "$ASSERT_OUT" "rmmod's message"
loaded || fail "$MOD was unloaded although a rule uses it"
assert_ok "delete the rule" ipt "$L" -t mangle -D OUTPUT -j CLEARDF
wait_for 10 rmmod "$MOD" >/dev/null 2>&1 || fail "rmmod $MOD after the rule was deleted: refcnt $(refcnt)"
! loaded || fail "$MOD still loaded after rmmod"

# A new rule loads the module again; deleting the namespace releases it.
assert_ok "a rule loads the module" ipt "$L" -t mangle -A POSTROUTING -j CLEARDF --keep-id
loaded || fail "$MOD not loaded by a new rule"
assert_fail "rmmod $MOD while a rule uses it (2)" rmmod "$MOD"
L2=lc-l2
ns_create "$L2"
assert_ok "a rule in a second namespace" ipt "$L2" -t mangle -A PREROUTING -j CLEARDF
ip netns del "$L"
ip netns del "$L2"
wait_for 30 rmmod "$MOD" >/dev/null 2>&1 || fail "rmmod $MOD after the namespaces with rules were deleted: refcnt $(refcnt)"
! loaded || fail "$MOD still loaded after rmmod"

info "t=${SECONDS}s"
# --- 2. rules come and go under traffic on both CPUs ------------------------
[ "$(nproc)" -ge 2 ] || skip "one CPU only: cannot run traffic on two"
A=lc-a R=lc-r B=lc-b
A_IP=192.0.2.1 B_IP=198.51.100.1
one_router "$A" "$R" "$B"
black_hole "$R"
assert_ok "ping A -> B" nsx "$A" ping -c 1 -W 5 "$B_IP"

ROUNDS=${CLEARDF_LIFECYCLE_ROUNDS:-8}
capture_start "$B" eth0 "$TMPD/b.pcap" -s 64 -B 8192 src host "$A_IP"
for cpu in 0 1; do
	ns_bg "$B" taskset -c $cpu udpseq recv $((5050 + cpu)) >"$TMPD/recv$cpu"
	RPID[cpu]=$BG_PID
done
for cpu in 0 1; do
	wait_for 10 grep -q '^ready' "$TMPD/recv$cpu" || fail "receiver $cpu did not start"
done
# paced (a datagram every 4 ms and more per sender), so that the rule
# changes still get CPU time under TCG
for cpu in 0 1; do
	ns_bg "$A" taskset -c $cpu udpseq send -S $cpu -D -c 1000000 -s 1400,200 -w 4000 "$B_IP" $((5050 + cpu)) >"$TMPD/send$cpu"
	SPID[cpu]=$BG_PID
done

# The churn. Rules with and without --keep-id, in R's PREROUTING (runs in
# softirq on both CPUs) and A's OUTPUT (in the senders' context on both
# CPUs); every fourth round everything is deleted and the module unloaded
# while the datagrams keep coming (the next round's rule loads it again).
unloads=0
t0=$(date +%s)
for ((i = 1; i <= ROUNDS; i++)); do
	ipt "$R" -t mangle -A PREROUTING -j CLEARDF || fail "round $i: add to R's PREROUTING"
	ipt "$A" -t mangle -A OUTPUT -p udp -j CLEARDF --keep-id || fail "round $i: add to A's OUTPUT"
	ipt "$R" -t mangle -D PREROUTING -j CLEARDF || fail "round $i: delete from R's PREROUTING"
	if ((i % 4 == 0)); then
		ipt "$A" -t mangle -F OUTPUT || fail "round $i: flush A's OUTPUT"
		wait_for 10 rmmod "$MOD" >/dev/null 2>&1 || fail "round $i: rmmod $MOD with no rule left: refcnt $(refcnt)"
		unloads=$((unloads + 1))
	else
		ipt "$A" -t mangle -D OUTPUT -p udp -j CLEARDF --keep-id || fail "round $i: delete from A's OUTPUT"
	fi
	for cpu in 0 1; do
		alive "${SPID[$cpu]}" || fail "round $i: sender $cpu has ended: $(cat "$TMPD/send$cpu")"
	done
done
churn_s=$(($(date +%s) - t0))
# one more round with a rule in place, so the 1400-byte datagrams get through
ipt "$R" -t mangle -A PREROUTING -j CLEARDF
sleep 1
for cpu in 0 1; do
	kill -TERM "${SPID[$cpu]}"
	wait "${SPID[$cpu]}" || fail "sender $cpu failed: $(cat "$TMPD/send$cpu")"
done
sleep 1
for cpu in 0 1; do
	kill -TERM "${RPID[$cpu]}"
	wait "${RPID[$cpu]}" || fail "receiver $cpu failed: $(cat "$TMPD/recv$cpu")"
done
capture_stop "$TMPD/b.pcap"
info "$ROUNDS rounds of rule changes ($unloads with rmmod) in ${churn_s}s"

for cpu in 0 1; do
	info "stream $cpu (CPU $cpu):"
	cat "$TMPD/send$cpu" "$TMPD/recv$cpu" | indent
	for size in 1400 200; do
		sent=$(sed -n "s/^sent stream=$cpu size=$size count=\([0-9]*\)$/\1/p" "$TMPD/send$cpu")
		got=$(sed -n "s/^recv stream=$cpu size=$size count=\([0-9]*\)$/\1/p" "$TMPD/recv$cpu")
		got=${got:-0}
		assert_ge 100 "${sent:-0}" "stream $cpu: $size-byte datagrams sent"
		assert_le "$sent" "$got" "stream $cpu: $size-byte datagrams delivered (at most those sent)"
		info "stream $cpu, $size bytes: sent $sent, delivered intact $got, lost $((sent - got))"
		if [ "$size" = 200 ]; then
			assert_eq "$sent" "$got" "stream $cpu: 200-byte datagrams delivered (they fit everywhere)"
		else
			assert_ge 1 "$got" "stream $cpu: 1400-byte datagrams delivered"
		fi
	done
	assert_match "^recv total good=[0-9]+ dup=0 corrupt=0 foreign=0$" "$(cat "$TMPD/recv$cpu")" "stream $cpu: duplicates, corrupt or foreign datagrams"
done

# No bad header checksum: the kernel drops such packets and counts them.
for ns in "$R" "$B"; do
	c=$(nsx "$ns" nstat -asz IpInHdrErrors IpExtInCsumErrors UdpInCsumErrors | awk '!/^#/ { printf "%s=%s ", $1, $2 }')
	info "$ns: $c"
	assert_no_match '=[1-9]' "$c" "header or checksum errors counted in $ns"
done
lines=$(pcap_ip "$TMPD/b.pcap")
info "captured at B: $(grep -c . <<<"$lines") packets of A's, $(grep -c ' mf=1 ' <<<"$lines" || true) first fragments"
assert_no_match 'csum=bad' "$lines" "bad IP header checksums at B"

klog=$(dmesg | tail -n +"$((klog_start + 1))" | grep -E 'BUG|WARNING|Oops|refcount|general protection' || true)
assert_eq "" "$klog" "kernel warnings during the test"
exit 0
