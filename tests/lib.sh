# shellcheck shell=bash disable=SC2034
# (SC2034: a library; the tests use what it sets)
# SPDX-License-Identifier: GPL-2.0-only
# tests/lib.sh: sourced by every tests/t/NN-name.sh, in the guest.
#
#   . "$(dirname "$0")/../lib.sh"
#
# Exit codes as in kselftest: 0 pass, 1 fail, 4 skip.
# Topology helpers create network namespaces and veth pairs and register
# them for removal when the test exits, however it exits. Assertions print
# what they expected and what they saw, then end the test with a failure.
#
# Front end: the runner exports IPT, IPT6, IPT_SAVE, IPT_RESTORE and
# FRONTEND (legacy, nft or default). Tests call "$IPT" (or `ipt NS ...`).

set -euo pipefail

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

: "${IPT:=iptables}" "${IPT6:=ip6tables}" "${IPT_SAVE:=iptables-save}" "${IPT_RESTORE:=iptables-restore}"
: "${FRONTEND:=default}"
export IPT IPT6 IPT_SAVE IPT_RESTORE FRONTEND

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
TESTS_ROOT=$(cd "$TEST_DIR/.." && pwd)
# Scratch space for this test, removed at exit.
TMPD=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")
# tools built by the harness (pcapip, rawsend, ...)
if [ -d /cleardf/bin ]; then
	PATH=/cleardf/bin:$PATH
fi

_LIB_NETNS=()
_LIB_PIDS=()
_LIB_CLEANUP=()

# ---------------------------------------------------------------- messages

info() { echo "# $*"; }
# fail MSG: the test fails here.
fail() {
	echo "FAIL: $*"
	exit $KSFT_FAIL
}
# skip REASON: the test cannot run here (never counted as a pass).
skip() {
	echo "SKIP: $*"
	exit $KSFT_SKIP
}

# ---------------------------------------------------------------- cleanup

# on_exit CMD...: run CMD (as one string, by eval) when the test exits,
# in reverse order of registration, before namespaces are removed.
on_exit() { _LIB_CLEANUP+=("$*"); }

_lib_cleanup() {
	local rc=$? i p ns
	set +e
	trap - EXIT INT TERM HUP
	for ((i = ${#_LIB_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${_LIB_CLEANUP[$i]}" >/dev/null 2>&1
	done
	for p in "${_LIB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_LIB_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for ns in "${_LIB_NETNS[@]}"; do
		# whatever still runs in the namespace would keep it alive
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMPD"
	exit $rc
}
trap _lib_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# ---------------------------------------------------------------- requirements

# require_cmd CMD...: skip unless every CMD is on PATH.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed in the guest"
	done
}

# require_module MOD...: skip unless MOD loads (or is built in).
require_module() {
	local m
	for m in "$@"; do
		modprobe -q "$m" 2>/dev/null || skip "kernel module $m is not available (not built?)"
	done
}

# require_cleardf: the module and the extension are both there.
require_cleardf() {
	modinfo xt_CLEARDF >/dev/null 2>&1 || skip "xt_CLEARDF.ko is not in the guest (not built yet?)"
	local d
	d=${XTABLES_LIBDIR:-${CLEARDF_XTLIBDIR:-$(pkg-config --variable=xtlibdir xtables 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/xtables)}}
	[ -e "$d/libxt_CLEARDF.so" ] || skip "libxt_CLEARDF.so is not in $d (not built yet?)"
	modprobe xt_CLEARDF || fail "modprobe xt_CLEARDF failed"
}

# ---------------------------------------------------------------- topology

# ns_create NAME...: new namespaces with lo up, removed at exit.
ns_create() {
	local ns
	for ns in "$@"; do
		if ip netns list | awk '{ print $1 }' | grep -qx "$ns"; then
			fail "network namespace $ns exists already"
		fi
		ip netns add "$ns"
		_LIB_NETNS+=("$ns")
		ip -n "$ns" link set lo up
	done
}

# nsx NS CMD...: run CMD in namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ipt NS ARGS...: run $IPT ARGS in namespace NS.
ipt() {
	local ns=$1
	shift
	ip netns exec "$ns" "$IPT" -w "$@"
}

# ipt_save NS [ARGS]: $IPT_SAVE in NS.
ipt_save() {
	local ns=$1
	shift
	ip netns exec "$ns" "$IPT_SAVE" "$@"
}

# veth NS1 IF1 NS2 IF2 [MTU]: a veth pair from NS1/IF1 to NS2/IF2, both up.
veth() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4 mtu=${5:-}
	ip link add "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2"
	if [ -n "$mtu" ]; then
		ip -n "$ns1" link set "$if1" mtu "$mtu"
		ip -n "$ns2" link set "$if2" mtu "$mtu"
	fi
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
}

# addr NS IF CIDR...: add addresses to IF in NS.
addr() {
	local ns=$1 ifc=$2 a
	shift 2
	for a in "$@"; do
		ip -n "$ns" addr add "$a" dev "$ifc"
	done
}

# ns_route NS ARGS...: ip route add ARGS in NS.
ns_route() {
	local ns=$1
	shift
	ip -n "$ns" route add "$@"
}

# forwarding NS [0|1]: IPv4 forwarding in NS (default on).
forwarding() {
	ip netns exec "$1" sysctl -q -w net.ipv4.ip_forward="${2:-1}"
}

# sysctl_ns NS KEY=VALUE...
sysctl_ns() {
	local ns=$1 kv
	shift
	for kv in "$@"; do
		ip netns exec "$ns" sysctl -q -w "$kv"
	done
}

# offloads NS IF on|off: segmentation and checksum offloads of IF.
offloads() {
	ip netns exec "$1" ethtool -K "$2" tso "$3" gso "$3" gro "$3" tx "$3" >/dev/null 2>&1 ||
		ip netns exec "$1" ethtool -K "$2" gso "$3" gro "$3" >/dev/null
}

# wait_for TIMEOUT CMD...: retry CMD every 0.1 s until it succeeds or
# TIMEOUT seconds have passed. Returns CMD's last status.
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

# alive PID: PID runs (a zombie, not yet waited for, does not count).
alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# ns_bg NS CMD...: run CMD in NS in the background, killed at exit. Sets BG_PID.
ns_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	BG_PID=$!
	_LIB_PIDS+=("$BG_PID")
}

# two_routers A R1 R2 B: A 192.0.2.1 -- R1 -- R2 -- B 203.0.113.1, both
# routers forwarding, R2's link to B 1280 bytes (so R2 fragments what A's
# and R1's links carry whole). Creates the namespaces.
two_routers() {
	local a=$1 r1=$2 r2=$3 b=$4
	ns_create "$a" "$r1" "$r2" "$b"
	veth "$a" eth0 "$r1" r1a
	veth "$r1" r1b "$r2" r2a
	veth "$r2" r2b "$b" eth0 1280
	addr "$a" eth0 192.0.2.1/24
	addr "$r1" r1a 192.0.2.254/24
	addr "$r1" r1b 198.51.100.1/24
	addr "$r2" r2a 198.51.100.2/24
	addr "$r2" r2b 203.0.113.254/24
	addr "$b" eth0 203.0.113.1/24
	ns_route "$a" default via 192.0.2.254
	ns_route "$r1" 203.0.113.0/24 via 198.51.100.2
	ns_route "$r2" 192.0.2.0/24 via 198.51.100.1
	ns_route "$b" default via 203.0.113.254
	forwarding "$r1"
	forwarding "$r2"
}

# one_router A R B: A 192.0.2.1 --(1500)-- R --(1280)-- B 198.51.100.1,
# R (ra 192.0.2.254, rb 198.51.100.254) forwarding. Creates the namespaces.
one_router() {
	local a=$1 r=$2 b=$3
	ns_create "$a" "$r" "$b"
	veth "$a" eth0 "$r" ra
	veth "$r" rb "$b" eth0 1280
	addr "$a" eth0 192.0.2.1/24
	addr "$r" ra 192.0.2.254/24
	addr "$r" rb 198.51.100.254/24
	addr "$b" eth0 198.51.100.1/24
	ns_route "$a" default via 192.0.2.254
	ns_route "$b" default via 198.51.100.254
	forwarding "$r"
}

# front_hop A M R: A 192.0.2.1/30 --(eth0, m-a)-- M --(m-r, r-m)-- R
# 192.0.2.6/30: A routes via M, M via R, R back to 192.0.2.0/24 via M; M
# forwards. (The GSO tests' sender sits one hop before R, so that R gets
# its packets from a forwarding router.) The namespaces exist already; R's
# onward links and routes are the test's.
front_hop() {
	local a=$1 m=$2 r=$3
	# (interface names that no ip-link keyword starts with: "ma" is "master")
	veth "$a" eth0 "$m" m-a
	veth "$m" m-r "$r" r-m
	addr "$a" eth0 192.0.2.1/30
	addr "$m" m-a 192.0.2.2/30
	addr "$m" m-r 192.0.2.5/30
	addr "$r" r-m 192.0.2.6/30
	ns_route "$a" default via 192.0.2.2
	ns_route "$m" default via 192.0.2.6
	ns_route "$r" 192.0.2.0/24 via 192.0.2.5
	forwarding "$m"
}

# black_hole NS: the "fragmentation needed" NS sends never leaves NS (a
# PMTUD black hole, in NS's filter OUTPUT chain).
black_hole() {
	ipt "$1" -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
}

# indent: prefix lines for the test's log.
indent() { sed 's/^/#   /'; }

# ---------------------------------------------------------------- traffic

# udp_recv NS PORT FILE [OPTION...]: `udpseq recv OPTION... PORT` in NS in
# the background, its output into FILE; returns once it listens. Sets
# RECV_PID (stop it with udp_recv_stop FILE).
udp_recv() {
	local ns=$1 port=$2 file=$3
	shift 3
	ns_bg "$ns" udpseq recv "$@" "$port" >"$file"
	RECV_PID=$BG_PID
	wait_for 10 grep -q '^ready' "$file" || fail "udpseq recv in $ns did not start"
}

# udp_recv_stop FILE: stop the receiver RECV_PID half a second after the
# last send; sets UDP_GOOD and UDP_CORRUPT from its totals in FILE.
udp_recv_stop() {
	sleep 0.5
	kill -TERM "$RECV_PID"
	wait "$RECV_PID" || true
	UDP_GOOD=$(sed -n 's/^recv total good=\([0-9]*\) .*/\1/p' "$1")
	UDP_CORRUPT=$(sed -n 's/^recv total .* corrupt=\([0-9]*\) .*/\1/p' "$1")
}

# udp_df_send NS HOST PORT COUNT: COUNT UDP datagrams of 1400 bytes with DF
# (stream 1) from NS to HOST:PORT. Sets UDP_SENT.
udp_df_send() {
	local out
	out=$(nsx "$1" udpseq send -S 1 -D -c "$4" -s 1400 -w 20000 "$2" "$3")
	UDP_SENT=$(sed -n 's/^sent stream=1 total=\([0-9]*\) .*/\1/p' <<<"$out")
}

# tcp_listen NS PORT FILE: `nc -l PORT` in NS in the background, what it
# receives into FILE; returns once it listens. Sets TCP_RPID (tcp_send
# stops it).
tcp_listen() {
	local ns=$1 port=$2
	TCP_RECV=$3
	# shellcheck disable=SC2217 # ns_bg is ours, and nc must not read a tty
	ns_bg "$ns" nc -l "$port" <"/dev/null" >"$TCP_RECV"
	TCP_RPID=$BG_PID
	wait_for 10 sh -c "ip netns exec $ns ss -Hltn 'sport = :$port' | grep -q LISTEN" ||
		fail "nc -l $port did not start"
}

# tcp_send NS HOST PORT FILE TIMEOUT TENTHS: FILE from NS to the tcp_listen
# receiver at HOST:PORT over TCP (bash's /dev/tcp: it sends everything, then
# closes), the sender killed after TIMEOUT seconds. The receiver ends when
# the sender has closed and everything is in; it gets TENTHS tenths of a
# second for that (none after a failed send: nothing more is coming), then
# it is stopped. Sets XFER_RC (the sender's exit status: 124 on timeout),
# XFER_LEN (bytes received), XFER_SUM (their sha256), XFER_S (seconds).
tcp_send() {
	local ns=$1 host=$2 port=$3 file=$4 tmo=$5 tenths=$6 t0 i
	t0=$(date +%s)
	XFER_RC=0
	# shellcheck disable=SC2016 # expanded by the inner bash
	nsx "$ns" timeout "$tmo" bash -c 'cat "$1" >"/dev/tcp/$2/$3"' _ "$file" "$host" "$port" ||
		XFER_RC=$?
	if [ $XFER_RC = 0 ]; then
		for ((i = 0; i < tenths; i++)); do
			alive "$TCP_RPID" || break
			sleep 0.1
		done
	fi
	kill "$TCP_RPID" 2>/dev/null || true
	wait "$TCP_RPID" 2>/dev/null || true
	XFER_S=$(($(date +%s) - t0))
	XFER_LEN=$(stat -c %s "$TCP_RECV")
	XFER_SUM=$(sha256sum <"$TCP_RECV" | cut -d' ' -f1)
}

# tcp_idle NS HOST PORT: no TCP socket of NS to HOST:PORT can still send
# data: each is in FIN-WAIT-2 or TIME-WAIT, where all its data has been
# acknowledged. Prints the others. The receiver may have everything while
# the sender, its ACKs late, retransmits: a test that counts bytes at two
# capture points stops its captures only once this holds (wait_for), or a
# late retransmission passes one point and not the other.
tcp_idle() {
	local busy
	busy=$(nsx "$1" ss -Htna dst "$2" dport = ":$3" | grep -vE '^(FIN-WAIT-2|TIME-WAIT) ' || true)
	[ -z "$busy" ] || { printf '%s\n' "$busy"; return 1; }
}

# blackhole_traffic NAME EGRESS_NS EGRESS_IF [a]: the traffic of the
# black-hole tests: NPING pings `-M do -s 1400` and NUDP DF datagrams of
# 1400 bytes from A to B (the test's A, A_IP, B, B_IP, PORT), captured on
# EGRESS_NS/EGRESS_IF into $TMPD/NAME-r.pcap and, with `a`, on A's eth0
# into $TMPD/NAME-a.pcap (what A sent). Sets PING_RC, PING_RECV, UDP_SENT,
# UDP_GOOD, UDP_CORRUPT.
# shellcheck disable=SC2153 # A, B, PORT, ...: the test's
blackhole_traffic() {
	local name=$1 rns=$2 rif=$3 on_a=${4:-} out recv
	recv=$TMPD/$name.recv
	udp_recv "$B" "$PORT" "$recv"
	[ -z "$on_a" ] || capture_start "$A" eth0 "$TMPD/$name-a.pcap" src host "$A_IP" and dst host "$B_IP"
	capture_start "$rns" "$rif" "$TMPD/$name-r.pcap" src host "$A_IP"

	PING_RC=0
	out=$(nsx "$A" ping -M "do" -s 1400 -c "$NPING" -i 0.2 -W 2 "$B_IP" 2>&1) || PING_RC=$?
	PING_RECV=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	udp_df_send "$A" "$B_IP" "$PORT" "$NUDP"
	udp_recv_stop "$recv"
	[ -z "$on_a" ] || capture_stop "$TMPD/$name-a.pcap"
	capture_stop "$TMPD/$name-r.pcap"
	info "$name: ping exit $PING_RC, $PING_RECV/$NPING replies; UDP sent $UDP_SENT, delivered intact $UDP_GOOD, corrupt $UDP_CORRUPT"
}

# assert_black_hole WHEN: after blackhole_traffic, nothing arrived: the
# pings failed, all NUDP datagrams were sent (A learned no smaller PMTU)
# and none was delivered. WHEN: "without a rule", "with CLEARDF in ...".
assert_black_hole() {
	assert_ne 0 "$PING_RC" "ping -M do -s 1400 $1 (exit status)"
	assert_eq 0 "$PING_RECV" "ping replies $1"
	assert_eq "$NUDP" "$UDP_SENT" "DF datagrams sent (A learned no smaller PMTU)"
	assert_eq 0 "$UDP_GOOD" "DF datagrams delivered $1"
}

# assert_rescued WHEN: after blackhole_traffic, everything arrived: every
# ping answered, every datagram delivered intact, none corrupt.
assert_rescued() {
	assert_eq 0 "$PING_RC" "ping -M do -s 1400 $1 (exit status)"
	assert_eq "$NPING" "$PING_RECV" "ping replies $1"
	assert_eq "$NUDP" "$UDP_GOOD" "DF datagrams delivered intact $1"
	assert_eq 0 "$UDP_CORRUPT" "corrupt datagrams at B $1"
}

# ---------------------------------------------------------------- capture

# capture_start NS IF FILE [FILTER...]: tcpdump on IF in NS into FILE
# (pcap), returns once tcpdump is really listening. Sets CAPTURE_PID.
# Stop it with capture_stop FILE before reading FILE.
declare -A _LIB_CAPTURE=()
capture_start() {
	local ns=$1 ifc=$2 file=$3 i
	shift 3
	require_cmd tcpdump
	ip netns exec "$ns" tcpdump -i "$ifc" -n -U --immediate-mode -s 0 -Z root -w "$file" "$@" 2>"$file.log" &
	CAPTURE_PID=$!
	_LIB_PIDS+=("$CAPTURE_PID")
	_LIB_CAPTURE[$file]=$CAPTURE_PID
	for ((i = 0; i < 200; i++)); do
		grep -q 'listening on' "$file.log" 2>/dev/null && return 0
		kill -0 "$CAPTURE_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$file.log"
	fail "tcpdump on $ns/$ifc did not start"
}

# capture_stop FILE: stop the capture writing FILE and wait for it.
capture_stop() {
	local file=$1 pid
	pid=${_LIB_CAPTURE[$file]:-}
	[ -n "$pid" ] || fail "capture_stop: no capture into $file"
	# let packets in flight reach the socket
	sleep 0.2
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "_LIB_CAPTURE[$file]"
}

# pcap_ip FILE [pcapip options]: one line per IPv4 packet (see pcapip -h).
pcap_ip() {
	local f=$1
	shift
	pcapip "$@" "$f"
}

# ---------------------------------------------------------------- asserts

# assert_eq EXPECTED SEEN WHAT
assert_eq() {
	[ "$1" = "$2" ] && return 0
	fail "$3: expected '$1', saw '$2'"
}

# assert_ne UNEXPECTED SEEN WHAT
assert_ne() {
	[ "$1" != "$2" ] && return 0
	fail "$3: expected anything but '$1', saw '$2'"
}

# assert_match REGEX SEEN WHAT (extended regex)
# (grep reads a here-string, not a pipe: with pipefail, `printf | grep -q`
# fails with SIGPIPE when grep stops early on a long input.)
assert_match() {
	grep -Eq -- "$1" <<<"$2" && return 0
	fail "$3: expected a match for /$1/, saw: $2"
}

# assert_no_match REGEX SEEN WHAT
assert_no_match() {
	grep -Eq -- "$1" <<<"$2" || return 0
	fail "$3: expected no match for /$1/, saw: $(printf '%s\n' "$2" | grep -E -- "$1" | head -n 5)"
}

# assert_ge MIN SEEN WHAT / assert_le MAX SEEN WHAT (integers)
assert_ge() {
	[ "$2" -ge "$1" ] && return 0
	fail "$3: expected at least $1, saw $2"
}
assert_le() {
	[ "$2" -le "$1" ] && return 0
	fail "$3: expected at most $1, saw $2"
}

# assert_ok WHAT CMD...: CMD must succeed; its output is shown if not.
assert_ok() {
	local what=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[ $rc = 0 ] && return 0
	fail "$what: expected success of '$*', saw exit $rc: $out"
}

# assert_fail WHAT CMD...: CMD must fail. Sets ASSERT_OUT to its output.
assert_fail() {
	local what=$1 rc=0
	shift
	ASSERT_OUT=$("$@" 2>&1) || rc=$?
	[ $rc != 0 ] && return 0
	fail "$what: expected '$*' to fail, it succeeded: $ASSERT_OUT"
}

# field NAME LINE: the value of NAME=value in a pcapip line.
field() {
	local kv
	for kv in $2; do
		[ "${kv%%=*}" = "$1" ] && { printf '%s\n' "${kv#*=}"; return 0; }
	done
	return 1
}
