#!/bin/bash
# bench/guest/bench.sh [options]: the benchmarks, inside the QEMU guest.
#
# Run by bench/run.sh through tests/harness/boot.sh --entry. Prints raw
# results as lines starting with "BENCH " (one per measurement); the host
# side turns them into tables. Exit status: 0 when every variant ran, 1 when
# one could not (a missing module, a refused rule, no packet through).
#
#   --rounds N      rounds of the packet-rate series (default 9)
#   --secs S        seconds counted per measurement (default 3)
#   --warm S        warm-up before counting (default 0.5)
#   --ids N         datagrams per variant for the ID statistics (default 200000)
#   --conseq N      datagrams per variant for the loss+reorder test (default 100000)
#   --conseq-rate R datagrams/s in that test (default 3000)
#   --loss P        netem loss in % (default 5)
#   --kmod-iters N  calls per case and round of the timing module (default 2000000)
#   --kmod-rounds N rounds of the timing module (default 5)
#   --parts LIST    comma-separated subset of kmod,pps,ids,conseq (default all)
#
# Topology: one sender namespace per variant (bs1..bs7), each with its rule
# in mangle OUTPUT, and two ways to the receiver namespace brx:
#   d$i  a direct veth (MTU 1500): the small-packet series and the ID series
#   f$i  a veth to the router brt, whose veth r$i to brx has MTU 1400: the
#        fragmented series and the loss+reorder test (netem on r$i)
# The namespaces exist once, for the whole run: the rounds only alternate
# which sender runs. No variant shares a namespace with another's tables.

# shellcheck source=../../tests/lib.sh
. /cleardf/tests/lib.sh
set +e
set -u -o pipefail

rounds=9 secs=3 warm=0.5 ids_n=200000 conseq_n=100000 conseq_rate=3000 loss=5
kmod_iters=2000000 kmod_rounds=5 parts=kmod,pps,ids,conseq
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
# CPU 0 sends; CPU 1 receives and runs the NFQUEUE program.
SND_CPU=0
RCV_CPU=$(($(nproc) > 1 ? 1 : 0))

# index name label
VARIANTS=(
	"1 none no rule"
	"2 dscp DSCP --set-dscp 0 (iptables-legacy)"
	"3 cleardf CLEARDF (iptables-legacy)"
	"4 keepid CLEARDF --keep-id (iptables-legacy)"
	"5 cleardf-nft CLEARDF (iptables-nft, nft_compat)"
	"6 nft nftables frag-off & 0xbfff, id numgen random"
	"7 nfqueue NFQUEUE + nfqclear (libnetfilter_queue)"
)
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
	xt_NFQUEUE nfnetlink_queue sch_netem; do
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
	route "bs$i" "$(f_rcv "$i")/32" via "$(f_rtr "$i")"
	route brx "$(f_snd "$i")/32" via "$(r_rtr "$i")"
done

nfq_pid=""
setup_rule() {
	local i=$1 ns=bs$1 r=0
	case ${VNAME[$i]} in
	none) ;;
	dscp) ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j DSCP --set-dscp 0 || r=$? ;;
	cleardf) ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j CLEARDF || r=$? ;;
	keepid) ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j CLEARDF --keep-id || r=$? ;;
	cleardf-nft) ip netns exec "$ns" iptables-nft -w -t mangle -A OUTPUT -j CLEARDF || r=$? ;;
	nft)
		ip netns exec "$ns" nft -f - <<-EOF || r=$?
			table ip cleardf_bench {
				chain output {
					type filter hook output priority mangle;
					ip frag-off set ip frag-off & 0xbfff ip id set numgen random mod 65535 offset 1
				}
			}
		EOF
		;;
	nfqueue)
		# --queue-bypass off: without the program, packets are dropped
		ip netns exec "$ns" iptables-legacy -w -t mangle -A OUTPUT -j NFQUEUE --queue-num 0 || r=$?
		ip netns exec "$ns" taskset -c "$RCV_CPU" nfqclear -q 0 -l 8192 >"$TMPD/nfqclear.out" 2>&1 &
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
		broken "$i" "the rule could not be set up"
	fi
done
info "rules:"
for i in 2 3 4 7; do ip netns exec "bs$i" iptables-legacy -t mangle -S OUTPUT 2>&1 | sed "s/^/#   bs$i: /"; done
ip netns exec bs5 iptables-nft -t mangle -S OUTPUT 2>&1 | sed 's/^/#   bs5: /'
ip netns exec bs6 nft list ruleset 2>&1 | sed 's/^/#   bs6: /'

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

# measure SERIES I ROUND: one packet-rate measurement of variant I.
measure() {
	local series=$1 i=$2 round=$3 dst size df ctl rres sres pps
	ctl=$TMPD/ctl.$series.$i.$round
	if [ "$series" = small ]; then
		dst=$(d_rcv "$i") size=64 df="df"
	else
		dst=$(f_rcv "$i") size=1472 df="df"
		# without a rule that clears DF the router would drop them all:
		# the reference sends them without DF
		case ${VNAME[$i]} in none | dscp) df="nodf" ;; esac
	fi
	ip netns exec brx taskset -c "$RCV_CPU" udpblast recv -m count -c "$ctl" -W "$warm" -d "$secs" \
		-i 3 -t "$(awk -v a="$warm" -v b="$secs" 'BEGIN { print a + b + 20 }')" \
		"$dst" $PORT >"$ctl.recv" 2>&1 &
	local rpid=$!
	ip netns exec "bs$i" taskset -c "$SND_CPU" udpblast send -s $size -D $df -w $WINDOW -c "$ctl" \
		-t "$(awk -v a="$warm" -v b="$secs" 'BEGIN { print a + b + 25 }')" \
		"$dst" $PORT >"$ctl.send" 2>&1
	wait "$rpid"
	rres=$(grep '^result' "$ctl.recv")
	sres=$(grep '^result' "$ctl.send")
	pps=$(field pps "$rres" || echo 0)
	out "pps series=$series variant=${VNAME[$i]} round=$round pps=${pps:-0} sent=$(field sent "$sres" || echo 0) lost=$(field lost "$sres" || echo 0) errors=$(field errors "$sres" || echo 0)"
	if [ -z "$pps" ] || [ "${pps%.*}" = 0 ]; then
		sed 's/^/#   /' "$ctl.recv" "$ctl.send"
		return 1
	fi
	rm -f "$ctl" "$ctl.recv" "$ctl.send"
	return 0
}

if part pps; then
	n=${#VARIANTS[@]}
	info "packet rate: $rounds rounds x $n variants x 2 series, ${secs}s each after ${warm}s warm-up"
	t0=$(date +%s)
	for ((r = 1; r <= rounds; r++)); do
		for series in small frag; do
			# each round starts at another variant: no variant is always first
			for ((k = 0; k < n; k++)); do
				i=$(((k + r - 1) % n + 1))
				[ -z "${BROKEN[$i]:-}" ] || continue
				if ! measure "$series" "$i" "$r"; then
					broken "$i" "no packet through in the $series series"
				fi
			done
		done
		info "round $r done ($(($(date +%s) - t0)) s)"
	done
fi

# ---------------------------------------------------------------- ids

if part ids; then
	info "ID quality: $ids_n DF datagrams per variant"
	for i in 3 6 7; do
		[ -z "${BROKEN[$i]:-}" ] || continue
		ctl=$TMPD/ctl.ids.$i
		ip netns exec brx taskset -c "$RCV_CPU" udpblast recv -m ids -n "$ids_n" -c "$ctl" -i 3 -t 600 \
			"$(d_rcv "$i")" $PORT >"$ctl.recv" 2>&1 &
		rpid=$!
		ip netns exec "bs$i" taskset -c "$SND_CPU" udpblast send -s 64 -D df -w $WINDOW -n "$ids_n" \
			-c "$ctl" -t 600 "$(d_rcv "$i")" $PORT >"$ctl.send" 2>&1
		wait "$rpid"
		res=$(grep '^result' "$ctl.recv")
		if [ -z "$res" ]; then
			sed 's/^/#   /' "$ctl.recv" "$ctl.send"
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

if part conseq; then
	info "loss+reorder: $conseq_n datagrams of 1472 bytes per variant at $conseq_rate/s, netem loss $loss% reorder, MTU 1400"
	for i in 1 3 4 6 7; do
		[ -z "${BROKEN[$i]:-}" ] || continue
		df="df"
		[ "${VNAME[$i]}" = none ] && df="nodf"
		ctl=$TMPD/ctl.conseq.$i
		ok0=$(snmp_ip ReasmOKs) fails0=$(snmp_ip ReasmFails)
		ip netns exec brt tc qdisc add dev "r$i" root netem limit 100000 delay 1ms reorder 25% 50% loss "$loss%"
		ip netns exec brx taskset -c "$RCV_CPU" udpblast recv -m verify -n "$conseq_n" -c "$ctl" -i 2 -t 1800 \
			"$(f_rcv "$i")" $PORT >"$ctl.recv" 2>&1 &
		rpid=$!
		# unconnected and without UDP checksum, like a tunnel's outer
		# header: the kernel gives such DF packets ID 0
		ip netns exec "bs$i" taskset -c "$SND_CPU" udpblast send -u -Z -k -s 1472 -D $df -n "$conseq_n" \
			-r "$conseq_rate" -c "$ctl" -t 1800 "$(f_rcv "$i")" $PORT >"$ctl.send" 2>&1
		wait "$rpid"
		ip netns exec brt tc qdisc del dev "r$i" root
		res=$(grep '^result' "$ctl.recv")
		sres=$(grep '^result' "$ctl.send")
		reasm="reasm_ok=$(($(snmp_ip ReasmOKs) - ok0)) reasm_fails=$(($(snmp_ip ReasmFails) - fails0))"
		if [ -z "$res" ]; then
			sed 's/^/#   /' "$ctl.recv" "$ctl.send"
			broken "$i" "the loss+reorder test did not finish"
			continue
		fi
		out "conseq variant=${VNAME[$i]} sent=$(field sent "$sres") ${res#result role=recv mode=verify } $reasm"
		if [ "$(field intact "$res")" = 0 ]; then
			broken "$i" "no datagram through in the loss+reorder test"
		fi
	done
fi

# ---------------------------------------------------------------- end

if [ -n "$nfq_pid" ]; then
	kill "$nfq_pid" 2>/dev/null
	wait "$nfq_pid" 2>/dev/null
	sed 's/^/# /' "$TMPD/nfqclear.out"
fi
out "end failures=$failures"
[ $failures = 0 ]
