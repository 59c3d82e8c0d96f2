#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 12-article-tcp: bulk TCP across the article's gretap bridge (see
# tests/article.sh), segmentation offloads ON (veth TSO/GSO: hostA hands
# 64 KB super-packets to rA, which bridge, CLEARDF and the gretap must
# handle as GSO packets, the case in design.md's "GSO" paragraph).
#  - no rule: the transfer stalls (full-sized segments carry DF and vanish
#    in the tunnel; the article's readers saw "apt-get update stalls
#    forever");
#  - -t mangle -A PREROUTING -i br0 -j CLEARDF on both routers: 4 MB from
#    /dev/urandom arrive intact (same sha256), the gretap reports no TX
#    error, and rA's LAN port received super-packets (offloads really on).
# Sender: bash's /dev/tcp (busybox nc stops early); receiver: nc from
# netcat-openbsd (-d: does not read stdin, exits at the sender's FIN).
#
# frontends: legacy nft

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/article.sh
. "$(dirname "$0")/../article.sh"

require_cmd nc sha256sum timeout ss ethtool
art_require
art_topology gretap
art_bridge_nf
for n in hA hB; do
	offloads $n eth0 on
done
offloads rA lan0 on
offloads rB lan0 on
info "hA eth0 offloads: $(nsx hA ethtool -k eth0 | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' | tr -s '\n' ' ')"
art_place none
art_warmup

SIZE=$((4 * 1024 * 1024))
head -c $SIZE /dev/urandom >"$TMPD/src"
sum_src=$(sha256sum <"$TMPD/src" | cut -d' ' -f1)
PORT=5001

# transfer FILE SECONDS OUT: send FILE from hA to hB within SECONDS,
# received bytes into OUT. Returns the sender's status.
transfer() {
	local file=$1 secs=$2 out=$3 rc=0 rpid
	ns_bg hB timeout $((secs + 5)) nc -4 -n -d -l $PORT >"$out"
	rpid=$BG_PID
	wait_for 10 nsx hB bash -c "ss -Hltn | grep -q ':$PORT '" || fail "nc did not listen on hB:$PORT"
	# shellcheck disable=SC2016 # expanded by the inner bash
	nsx hA timeout "$secs" bash -c 'exec 3>"/dev/tcp/$0/$1" && cat "$2" >&3' "$ART_HB" $PORT "$file" || rc=$?
	if [ $rc = 0 ]; then
		# the data may still be in flight: nc ends at the FIN
		wait "$rpid" 2>/dev/null || true
	else
		kill "$rpid" 2>/dev/null || true
		wait "$rpid" 2>/dev/null || true
	fi
	return $rc
}

# Without CLEARDF: a stall. 1 MB, a few seconds.
head -c $((1024 * 1024)) "$TMPD/src" >"$TMPD/src1"
t0=$SECONDS
rc=0
transfer "$TMPD/src1" 5 "$TMPD/dst1" || rc=$?
got=$(stat -c %s "$TMPD/dst1")
info "[$SECONDS s] no CLEARDF rule: sender status $rc, $got of $((1024 * 1024)) bytes arrived in $((SECONDS - t0)) s"
assert_le $((1024 * 1024 - 1)) "$got" "bytes that crossed without CLEARDF (expected a stall)"

# With CLEARDF in PREROUTING: everything, intact.
art_place PREROUTING
read -r e0 p0 _ < <(art_counters)
rx0=$(art_stat rA lan0 rx_bytes) rxp0=$(art_stat rA lan0 rx_packets)
t0=$SECONDS
rc=0
transfer "$TMPD/src" 60 "$TMPD/dst" || rc=$?
dt=$((SECONDS - t0))
read -r e1 p1 _ < <(art_counters)
rx1=$(art_stat rA lan0 rx_bytes) rxp1=$(art_stat rA lan0 rx_packets)
got=$(stat -c %s "$TMPD/dst")
sum_dst=$(sha256sum <"$TMPD/dst" | cut -d' ' -f1)
avg=$(((rx1 - rx0) / (rxp1 - rxp0 > 0 ? rxp1 - rxp0 : 1)))
info "[$SECONDS s] CLEARDF in PREROUTING: sender status $rc, $got of $SIZE bytes in $dt s;" \
	"rA rule +$((p1 - p0)) packets, gt0 TX errors +$((e1 - e0)), rA lan0 received $((rxp1 - rxp0)) packets of $avg bytes on average"
info "sha256 sent     $sum_src"
info "sha256 received $sum_dst"
assert_eq 0 "$rc" "sender's exit status"
assert_eq "$SIZE" "$got" "bytes received by hB"
assert_eq "$sum_src" "$sum_dst" "sha256 of the bytes received by hB"
assert_eq 0 $((e1 - e0)) "gt0 TX errors on rA during the transfer"
assert_ge 1 $((p1 - p0)) "packets the PREROUTING rule on rA counted"
assert_ge 1515 "$avg" "average size of what rA's lan0 received (TSO/GSO super-packets, offloads on)"
exit 0
