#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/guest/bench.sh [options]: the benchmarks, inside the QEMU guest.
#
# Run by bench/run.sh through tests/harness/boot.sh --entry. Prints raw
# results as lines starting with "BENCH " (one per measurement); the host
# side turns them into tables. Exit status: 0 when every variant ran, 1 when
# one could not (a missing module, a refused rule, no packet through).
#
#   --rounds N      rounds of the packet-rate series (default 5)
#   --secs S        seconds counted per measurement (default 1)
#   --warm S        warm-up before counting (default 0.2)
#   --ids N         datagrams per variant for the ID statistics (default 200000)
#   --conseq N      datagrams per variant and setting of the loss+reorder
#                   test (default 50000)
#   --conseq-rate R datagrams/s in that test (default 1500)
#   --loss P        netem loss in % (default 5)
#   --kmod-iters N  calls per case and round of the timing module (default 1000000)
#   --kmod-rounds N rounds of the timing module (default 5)
#   --parts LIST    comma-separated subset of kmod,pps,ids,conseq (default all)
#
# Topology: one sender namespace per variant (bs1..bs11), each with its rule
# in mangle OUTPUT, and two ways to the receiver namespace brx:
#   d$i  a direct veth (MTU 1500): the small-packet series and the ID series
#   f$i  a veth to the router brt, whose veth r$i to brx has MTU 1400: the
#        fragmented series and the loss+reorder test (netem on r$i)
# The namespaces exist once, for the whole run, and so do the senders and
# receivers of the packet-rate series: `udpblast ctl` lets one pair after
# the other send, back to back. No variant shares a namespace with another's
# tables. Variant 8 (an nft rule that really writes random IDs on nft 1.0.6)
# only runs in the ID and loss+reorder tests.
# The tc variants (9-11) have no rule in the sender's OUTPUT: a clsact
# filter on the sender's egress of d$i (the small-packet and ID series) and
# on the router's ingress from the sender, s$i in brt (the fragmented series
# and the loss+reorder test), as such a filter would sit on a router's LAN
# port. tc-bpf and tc-bpf-keepid load tests/tools/bpf/cleardf-tc.c
# (/cleardf/bin/cleardf-tc.o); pedit is the tc manual's way.
#
# Rates are those the guest's clock sees: under bench/run.sh's default
# (QEMU -icount, one vCPU) that clock counts instructions, so the defaults
# are few and short rounds; in real time on a busy host, use many more.

# shellcheck source=../../tests/lib.sh
. /cleardf/tests/lib.sh
set +e
set -u -o pipefail

rounds=5 secs=1 warm=0.2 ids_n=200000 conseq_n=50000 conseq_rate=1500 loss=5
kmod_iters=1000000 kmod_rounds=5 parts=kmod,pps,ids,conseq
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift ;;
	--secs) secs=$2; shift ;;
	--warm) warm=$2; shift ;;
	--ids) ids_n=$2; shift ;;
	--conseq) conseq_n=$2; shift ;;
	--conseq-rate) conseq_rate=$2; shift ;;
	--loss) loss=$2; shift ;;
	--kmod-iters) kmod_iters=$2; shift ;;
	--kmod-rounds) kmod_rounds=$2; shift ;;
	--parts) parts=$2; shift ;;
	*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

BENCH_DIR=$(cd "$(dirname "$0")/.." && pwd)
PORT=9000
WINDOW=256
# CPU 0 sends; CPU 1 receives and runs the NFQUEUE program (CPU 0 too on
# a one-CPU guest). All of them SCHED_BATCH: a wakeup never preempts, so
# on one CPU they take turns in whole batches (the sender until its window
# is full, then the others until they have nothing to do), the same way
# every time, instead of switching between patterns at random.
SND_CPU=0
RCV_CPU=$(($(nproc) > 1 ? 1 : 0))
BATCH=(chrt -b 0)

# index name label
VARIANTS=(
	"1 none no rule"
	"2 dscp DSCP --set-dscp 0 (iptables-legacy)"
	"3 cleardf CLEARDF (iptables-legacy)"
	"4 keepid CLEARDF --keep-id (iptables-legacy)"
	"5 cleardf-nft CLEARDF (iptables-nft, nft_compat)"
	"6 nft nftables frag-off & 0xbfff, id numgen random"
	"7 nfqueue NFQUEUE + nfqclear (libnetfilter_queue)"
	"8 nft-id16 nftables frag-off & 0xbfff, id numgen random mod 65536 << 16"
	"9 tc-bpf tc eBPF: clear DF, bpf_get_prandom_u32() ID"
	"10 tc-bpf-keepid tc eBPF: clear DF, keep the ID"
	"11 pedit tc pedit ex munge ip df set 0 + csum ip4h"
)
PPS_VARIANTS="1 2 3 4 5 6 7 9 10 11"
IDS_VARIANTS="3 4 5 6 8 7 9 10 11"
CONSEQ_VARIANTS="1 3 4 6 8 7 9 10 11"
TC_OBJ=/cleardf/bin/cleardf-tc.o
declare -A VNAME=() BROKEN=()
for v in "${VARIANTS[@]}"; do
	read -r i name _ <<<"$v"
	VNAME[$i]=$name
done

failures=0
out() { echo "BENCH $*"; }
broken() {
	local i=$1
	shift
	BROKEN[$i]="$*"
	if [ "${VNAME[$i]}" = nft-id16 ]; then
		# an extra of this benchmark, not one of the peers: its rows
		# stay empty, the run does not fail
		info "variant ${VNAME[$i]}: $*; its rows stay empty"
		return
	fi
	out "error variant=${VNAME[$i]} what=\"$*\""
	failures=$((failures + 1))
}
part() { [[ ",$parts," == *",$1,"* ]]; }

d_snd() { echo "203.0.113.$((16 * $1 + 1))"; }
d_rcv() { echo "203.0.113.$((16 * $1 + 2))"; }
f_snd() { echo "192.0.2.$((16 * $1 + 1))"; }
f_rtr() { echo "192.0.2.$((16 * $1 + 2))"; }
r_rtr() { echo "198.51.100.$((16 * $1 + 1))"; }
f_rcv() { echo "198.51.100.$((16 * $1 + 2))"; }

# ---------------------------------------------------------------- setup

info "guest: $(uname -r), $(nproc) CPUs, clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
out "guest kernel=$(uname -r) cpus=$(nproc) clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"

for t in udpblast nfqclear; do
	command -v $t >/dev/null || { echo "bench.sh: $t is not in the guest"; exit 1; }
done

# Everything loaded before the first measurement, so that no module load
# lands in a round.
for m in veth xt_CLEARDF xt_DSCP iptable_mangle nf_tables nft_compat nft_numgen \
	xt_NFQUEUE nfnetlink_queue sch_netem sch_ingress cls_bpf cls_matchall act_pedit act_csum; do
	modprobe "$m" 2>/dev/null || info "modprobe $m failed"
done

ns_create brx brt
forwarding brt 1
sysctl_ns brx net.ipv4.ipfrag_high_thresh=67108864
for v in "${VARIANTS[@]}"; do
	read -r i _ <<<"$v"
	ns_create "bs$i"
	veth "bs$i" "d$i" brx "d$i"
	addr "bs$i" "d$i" "$(d_snd "$i")/28"
	addr brx "d$i" "$(d_rcv "$i")/28"
	veth "bs$i" "f$i" brt "s$i"
	addr "bs$i" "f$i" "$(f_snd "$i")/28"
	addr brt "s$i" "$(f_rtr "$i")/28"
	ip link add "r$i" netns brt type veth peer name "f$i" netns brx
	ip -n brt link set "r$i" mtu 1400 up
	ip -n brx link set "f$i" mtu 1400 up
	addr brt "r$i" "$(r_rtr "$i")/28"
	addr brx "f$i" "$(f_rcv "$i")/28"
	ns_route "bs$i" "$(f_rcv "$i")/32" via "$(f_rtr "$i")"
	ns_route brx "$(f_snd "$i")/32" via "$(r_rtr "$i")"
done

nfq_pid=""
# nft_rule NS RULE: a mangle-priority output chain with RULE (from a file:
# older nft cannot read -f - without /dev/stdin)
nft_rule() {
	cat >"$TMPD/$1.nft" <<-EOF
		table ip cleardf_bench {
			chain output {
				type filter hook output priority mangle;
				$2
			}
		}
	EOF
	ip netns exec "$1" nft -f "$TMPD/$1.nft"
}

# tc_filter NS DEV DIR FILTER...: a clsact qdisc on DEV and one filter on
# its DIR (ingress or egress) hook; on failure tc's words are in
# $TMPD/tc.err
tc_filter() {
	local ns=$1 dev=$2 dir=$3
	shift 3
	ip netns exec "$ns" tc qdisc add dev "$dev" clsact 2>"$TMPD/tc.err" &&
		ip netns exec "$ns" tc filter add dev "$dev" "$dir" "$@" 2>"$TMPD/tc.err"
}

# tc_both I FILTER...: FILTER on the sender's egress (d$i) and on the
# router's ingress from the sender (s$i in brt)
tc_both() {
	local i=$1
	shift
	tc_filter "bs$i" "d$i" egress "$@" && tc_filter brt "s$i" ingress "$@"
}

# tc_why: tc's message, on one line
tc_why() {
	grep -v '^$' "$TMPD/tc.err" | tail -n 4 | tr '\n' ' ' | tr -d '"'
}

setup_rule() {
	local i=$1 ns=bs$1 r=0
	case ${VNAME[$i]} in
	tc-bpf | tc-bpf-keepid)
		local sec=cleardf
		[ "${VNAME[$i]}" = tc-bpf ] || sec=cleardf_keepid
		if [ ! -f "$TC_OBJ" ]; then
			BROKEN[$i]="$TC_OBJ is missing (built by tests/harness/build.sh with the host's clang)"
			return 1
		fi
		tc_both "$i" protocol ip bpf da obj "$TC_OBJ" sec "$sec" || {
			BROKEN[$i]="tc did not load the eBPF program (sec $sec): $(tc_why)"
			return 1
		}
		;;
	pedit)
		# as the manuals (tc-pedit(8), tc-csum(8)) have it
		tc_both "$i" protocol ip matchall action pedit ex munge ip df set 0 pipe action csum ip4h || {
			BROKEN[$i]="tc did not take the pedit + csum filter: $(tc_why)"
			return 1
		}
		;;
	none) ;;
	dscp) ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j DSCP --set-dscp 0 || r=$? ;;
	cleardf) ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j CLEARDF || r=$? ;;
	keepid) ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j CLEARDF --keep-id || r=$? ;;
	cleardf-nft) ip netns exec "$ns" iptables-nft -w -t mangle -A OUTPUT -j CLEARDF || r=$? ;;
	nft)
		# as the issue gives it; nft 1.0.6 and 1.1.3 compile the ID part
		# to a 4-byte big-endian value of which the header gets the upper,
		# zero, half: every packet gets ID 0 (see the ID table)
		nft_rule "$ns" 'ip frag-off set ip frag-off & 0xbfff ip id set numgen random mod 65535 offset 1' || r=$?
		;;
	nft-id16)
		# the random value shifted into the half that gets written
		nft_rule "$ns" 'ip frag-off set ip frag-off & 0xbfff ip id set numgen random mod 65536 << 16' || r=$?
		;;
	nfqueue)
		# --queue-bypass off: without the program, packets are dropped
		ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j NFQUEUE --queue-num 0 || r=$?
		ip netns exec "$ns" taskset -c "$RCV_CPU" "${BATCH[@]}" nfqclear -q 0 -l 8192 >"$TMPD/nfqclear.out" 2>&1 &
		nfq_pid=$!
		_LIB_PIDS+=("$nfq_pid")
		wait_for 10 grep -q ready "$TMPD/nfqclear.out" || r=1
		;;
	esac
	return $r
}

for v in "${VARIANTS[@]}"; do
	read -r i _ <<<"$v"
	if ! setup_rule "$i"; then
		broken "$i" "${BROKEN[$i]:-the rule could not be set up}"
	fi
done
info "rules:"
for i in 2 3 4 7; do ip netns exec "bs$i" iptables-legacy -t mangle -S OUTPUT 2>&1 | sed "s/^/#   bs$i: /"; done
ip netns exec bs5 iptables-nft -t mangle -S OUTPUT 2>&1 | sed 's/^/#   bs5: /'
ip netns exec bs6 nft list ruleset 2>&1 | sed 's/^/#   bs6: /'
ip netns exec bs8 nft list ruleset 2>&1 | sed 's/^/#   bs8: /'
for i in 9 10 11; do
	ip netns exec "bs$i" tc filter show dev "d$i" egress 2>&1 | sed "s/^/#   bs$i d$i egress: /"
	ip netns exec brt tc filter show dev "s$i" ingress 2>&1 | sed "s/^/#   brt s$i ingress: /"
done

# ---------------------------------------------------------------- kmod

if part kmod; then
	info "timing module: $kmod_rounds rounds of $kmod_iters calls per case"
	t0=$(date +%s)
	if insmod "$BENCH_DIR/kmod/cleardf_bench.ko" iters="$kmod_iters" rounds="$kmod_rounds"; then
		dmesg | grep 'cleardf_bench: case=' | sed 's/.*cleardf_bench: /BENCH kmod /'
		rmmod cleardf_bench
	else
		dmesg | grep 'cleardf_bench:' | sed 's/^/# /'
		out "error variant=kmod what=\"cleardf_bench.ko did not load or a target failed its check\""
		failures=$((failures + 1))
	fi
	info "timing module: $(($(date +%s) - t0)) s"
fi

# ---------------------------------------------------------------- pps

# One receiver (CPU 1) and one gated sender (CPU 0) per variant and series,
# up for the whole series; the controller opens one gate after the other.
#   small: 64-byte payload with DF over the direct link
#   frag:  1472-byte payload over the router and its MTU-1400 link. Without
#          a rule that clears DF the router would drop every packet, so the
#          references (no rule, DSCP) send without DF.
if part pps; then
	info "packet rate: $rounds rounds x $(wc -w <<<"$PPS_VARIANTS") variants x 2 series, ${secs}s each after ${warm}s warm-up"
	t0=$(date +%s)
	pairs=() pps_pids=()
	for series in small frag; do
		for i in $PPS_VARIANTS; do
			[ -z "${BROKEN[$i]:-}" ] || continue
			ctl=$TMPD/ctl.$series.${VNAME[$i]}
			if [ $series = small ]; then
				dst=$(d_rcv "$i") size=64 df="df"
			else
				dst=$(f_rcv "$i") size=1472 df="df"
				case ${VNAME[$i]} in none | dscp) df="nodf" ;; esac
			fi
			ip netns exec brx taskset -c "$RCV_CPU" "${BATCH[@]}" udpblast recv -m count -c "$ctl" \
				"$dst" $PORT >"$ctl.recv" 2>&1 &
			pps_pids+=($!)
			ip netns exec "bs$i" taskset -c "$SND_CPU" "${BATCH[@]}" udpblast send -g -s $size -D $df \
				-w $WINDOW -c "$ctl" "$dst" $PORT >"$ctl.send" 2>&1 &
			pps_pids+=($!)
			pairs+=("$series.${VNAME[$i]}=$ctl")
		done
	done
	_LIB_PIDS+=("${pps_pids[@]}")
	udpblast ctl -z 1 -r "$rounds" -d "$secs" -W "$warm" "${pairs[@]}" >"$TMPD/slices" 2>&1 &
	ctl_pid=$!
	# progress, and the slices as they come (a guest that dies keeps them)
	tail -n +1 -f "$TMPD/slices" --pid=$ctl_pid | while read -r what name round rest; do
		[ "$what" = slice ] || { echo "# $what $name $round ${rest%% *}"; continue; }
		name=${name#name=} round=${round#round=}
		out "pps series=${name%%.*} variant=${name#*.} round=$round $rest"
	done
	wait $ctl_pid
	ctl_rc=$?
	# on QUIT the senders end at once, the receivers within a second
	if [ $ctl_rc != 0 ]; then
		kill "${pps_pids[@]}" 2>/dev/null
	fi
	for p in "${pps_pids[@]}"; do wait "$p"; done
	[ $ctl_rc = 0 ] || { indent <"$TMPD/slices"; info "the controller failed ($ctl_rc)"; }
	for i in $PPS_VARIANTS; do
		[ -z "${BROKEN[$i]:-}" ] || continue
		for series in small frag; do
			# a variant that never got a packet through
			if ! grep -E "^slice name=$series\.${VNAME[$i]} .* pps=[0-9.]*[1-9]" "$TMPD/slices" >/dev/null; then
				cat "$TMPD/ctl.$series.${VNAME[$i]}".{recv,send} 2>/dev/null | indent
				if [ $series = frag ]; then
					broken "$i" "no packet through in the frag series (the router drops DF packets: did the rule clear DF?)"
				else
					broken "$i" "no packet through in the $series series"
				fi
			fi
		done
	done
	info "packet rate: $(($(date +%s) - t0)) s"
fi

# ---------------------------------------------------------------- ids

if part ids; then
	info "ID quality: $ids_n DF datagrams per variant"
	for i in $IDS_VARIANTS; do
		[ -z "${BROKEN[$i]:-}" ] || continue
		ctl=$TMPD/ctl.ids.$i
		ip netns exec brx taskset -c "$RCV_CPU" "${BATCH[@]}" udpblast recv -m ids -n "$ids_n" -c "$ctl" -i 3 -t 600 \
			"$(d_rcv "$i")" $PORT >"$ctl.recv" 2>&1 &
		rpid=$!
		# unconnected: the kernel gives these DF packets ID 0, as to a
		# tunnel's outer header; what arrives is what the rule wrote
		ip netns exec "bs$i" taskset -c "$SND_CPU" "${BATCH[@]}" udpblast send -u -s 64 -D df -w $WINDOW \
			-n "$ids_n" -c "$ctl" -t 600 "$(d_rcv "$i")" $PORT >"$ctl.send" 2>&1
		wait "$rpid"
		res=$(grep '^result' "$ctl.recv")
		if [ -z "$res" ]; then
			cat "$ctl.recv" "$ctl.send" | indent
			broken "$i" "the ID series did not finish"
			continue
		fi
		out "ids variant=${VNAME[$i]} ${res#result role=recv mode=ids }"
		if [ "$(field got "$res")" = 0 ]; then
			broken "$i" "no datagram through in the ID series"
		fi
	done
fi

# ---------------------------------------------------------------- conseq

# snmp_ip NAME: the Ip: counter NAME of the receiver's namespace
snmp_ip() {
	# shellcheck disable=SC2016 # awk's fields
	ip netns exec brx awk -v k="$1" '$1 == "Ip:" {
		if (!h) { for (j = 2; j <= NF; j++) col[$j] = j; h = 1; next }
		print $(col[k]) }' /proc/net/snmp
}

# The consequence of the IDs: fragmented datagrams, each with a hash of
# its own payload, across a link that loses and reorders fragments. Once
# with the receiver's defaults (Linux drops a reassembly queue when 64 other
# fragments from that source arrived since its last one: ipfrag_max_dist),
# once with that check off, as a reassembler that relies on its timeout
# alone (30 s) behaves. The rate stays below 65,536 datagrams per 30 s, so
# that a counter does not wrap within the timeout.
if part conseq; then
	info "loss+reorder: $conseq_n datagrams of 1472 bytes per variant at $conseq_rate/s, netem loss $loss% reorder, MTU 1400"
	for maxdist in 64 0; do
		sysctl_ns brx net.ipv4.ipfrag_max_dist=$maxdist
		for i in $CONSEQ_VARIANTS; do
			[ -z "${BROKEN[$i]:-}" ] || continue
			df="df"
			[ "${VNAME[$i]}" = none ] && df="nodf"
			ctl=$TMPD/ctl.conseq.$maxdist.$i
			ok0=$(snmp_ip ReasmOKs) fails0=$(snmp_ip ReasmFails)
			ip netns exec brt tc qdisc add dev "r$i" root netem limit 100000 delay 1ms reorder 25% 50% loss "$loss%"
			ip netns exec brx taskset -c "$RCV_CPU" "${BATCH[@]}" udpblast recv -m verify -n "$conseq_n" -c "$ctl" -i 2 -t 3600 \
				"$(f_rcv "$i")" $PORT >"$ctl.recv" 2>&1 &
			rpid=$!
			# unconnected and without UDP checksum, like a tunnel's
			# outer header: the kernel gives such DF packets ID 0
			ip netns exec "bs$i" taskset -c "$SND_CPU" "${BATCH[@]}" udpblast send -u -Z -k -s 1472 -D $df -n "$conseq_n" \
				-b 4 -r "$conseq_rate" -c "$ctl" -t 3600 "$(f_rcv "$i")" $PORT >"$ctl.send" 2>&1
			wait "$rpid"
			ip netns exec brt tc qdisc del dev "r$i" root
			res=$(grep '^result' "$ctl.recv")
			sres=$(grep '^result' "$ctl.send")
			# (failures include the timeouts of earlier variants' queues)
			reasm="reasm_ok=$(($(snmp_ip ReasmOKs) - ok0)) reasm_fails=$(($(snmp_ip ReasmFails) - fails0))"
			if [ -z "$res" ]; then
				cat "$ctl.recv" "$ctl.send" | indent
				broken "$i" "the loss+reorder test did not finish"
				continue
			fi
			out "conseq maxdist=$maxdist variant=${VNAME[$i]} sent=$(field sent "$sres") ${res#result role=recv mode=verify } $reasm"
			if [ "$(field intact "$res")" = 0 ]; then
				broken "$i" "no datagram through in the loss+reorder test"
			fi
		done
	done
	sysctl_ns brx net.ipv4.ipfrag_max_dist=64
fi

# ---------------------------------------------------------------- end

if [ -n "$nfq_pid" ]; then
	kill "$nfq_pid" 2>/dev/null
	wait "$nfq_pid" 2>/dev/null
	sed 's/^/# /' "$TMPD/nfqclear.out"
fi
out "end failures=$failures"
[ $failures = 0 ]
