#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# steps.sh STEP: one step of the router's life, run at the end of a boot of
# the router image (tests/router/run.sh), as root, after
# netfilter-persistent restored /etc/iptables/rules.v4. The root network
# namespace is the router rA: nothing about cleardf is set up here, it
# must all come from the system's own files and packages. The test adds the
# rest of the article's topology around it, in namespaces:
#
#      hA ---- rA (this system) ===== gretap over the underlay ===== rB ---- hB
#     eth0   lan0  br0  gt0  wan0 --- na0 [net] nb0 --- wan0  gt0  br0  lan0   eth0
#
# Steps (each ends with a reboot, done by the caller, step.sh):
#   first       the first boot with cleardf installed (version V1, 6.1)
#   reboot      the same after a reboot; then the kernel upgrade: dpkg -i
#               bookworm-backports' 6.12 image and headers (DKMS builds
#               the module for 6.12 during the install)
#   new-kernel  booted 6.12; apt-get remove the old kernel; then the package
#               upgrade to V2 while the rule is loaded
#   upgraded    V2 is the loaded module; then apt-get purge of both packages
#               with rules.v4 still holding the rule
#   removed     what the next boot does without cleardf: the documented
#               behaviour (README "Remove"), and the documented way out
# "The rescue": `ping -M do -s 1472` hA -> hB, 1500-byte packets with DF
# that the gretap drops without CLEARDF, answered every time; hB receives
# them whole with DF clear, fresh IDs and good checksums; the underlay
# carries them as fragments that reassemble.
# Settings come from /var/lib/cleardf-test/router.env (V1, V2, OLD_ABI, NEW_ABI).

. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/../../article.sh"
# shellcheck source=/dev/null
. /var/lib/cleardf-test/router.env
PATH=/var/lib/cleardf-test/bin:$PATH

STEP=${1:?usage: steps.sh STEP}
RULE='-A PREROUTING -i br0 -j CLEARDF'
FILTER_RULE='-A INPUT -p tcp -m tcp --dport 23 -j DROP'
RULES=/etc/iptables/rules.v4
NCHECK=0

# check DESC: one passed check, in the log (the asserts of lib.sh end the
# step with "FAIL: ..." at the first one that does not hold).
check() {
	NCHECK=$((NCHECK + 1))
	echo "ok $NCHECK - $*"
}

# router_topology: the article's topology (article.sh) with this system as
# rA: its br0 bridges lan0 and the gretap gt0, and its rules.v4 holds the
# CLEARDF rule on br0.
router_topology() {
	ART_RA_HOST=1
	art_topology gretap
	art_warmup
	info "[$SECONDS s] topology up: hA - rA (this system, br0 + gt0) - net - rB - hB"
}

# rule_packets: what the CLEARDF rule of rules.v4 counted in this boot.
rule_packets() {
	iptables -w -t mangle -L PREROUTING -v -n -x | awk '$3 == "CLEARDF" && $6 == "br0" { s += $1 } END { print s + 0 }'
}

# rescue LABEL [counters]: the big DF ping, checked on the wire.
rescue() {
	local label=$1 counters=${2:-yes} p0=0 p1=0 tag
	tag=$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-')
	[ "$counters" = no ] || p0=$(rule_packets)
	capture_start hB eth0 "$TMPD/$tag-hB.pcap" icmp
	capture_start net nb0 "$TMPD/$tag-underlay.pcap" ip
	art_bigping 3
	capture_stop "$TMPD/$tag-hB.pcap"
	capture_stop "$TMPD/$tag-underlay.pcap"
	info "[$SECONDS s] $label: $RESULT, $PING_RECV/$PING_SENT answered"
	assert_eq rescued "$RESULT" "$label: 1500-byte DF ping across the gretap bridge"
	if [ "$counters" != no ]; then
		p1=$(rule_packets)
		assert_ge 3 $((p1 - p0)) "$label: packets the CLEARDF rule counted during the big pings"
	fi
	art_check_inner "$TMPD/$tag-hB.pcap" 3
	art_check_underlay "$TMPD/$tag-underlay.pcap" 47 1538 3
	check "$label: the big DF ping is rescued; at hB DF clear, fresh IDs, good checksums; fragments on the underlay reassemble"
}

# not_rescued LABEL: the article's bug, as without cleardf.
not_rescued() {
	local e0 e1
	e0=$(cat /sys/class/net/gt0/statistics/tx_errors)
	art_bigping 3
	e1=$(cat /sys/class/net/gt0/statistics/tx_errors)
	info "[$SECONDS s] $1: $RESULT, $PING_RECV/$PING_SENT answered, gt0 TX errors +$((e1 - e0))"
	assert_eq not-rescued "$RESULT" "$1: 1500-byte DF ping across the gretap bridge"
	assert_ge 3 $((e1 - e0)) "$1: gt0 TX errors (the tunnel dropped the big DF packets)"
	check "$1: the big DF ping is dropped by the tunnel, as in the article"
}

# boot_checks KERNEL-GLOB VERSION: what an admin checks after a boot.
boot_checks() {
	local kglob=$1 ver=$2 k ko saved
	k=$(uname -r)
	# shellcheck disable=SC2053 # a glob on purpose
	[[ $k == $kglob ]] || fail "running kernel $k, expected $kglob"
	check "running kernel $k"
	assert_eq active "$(systemctl is-active netfilter-persistent.service || true)" "netfilter-persistent.service"
	assert_no_match "Couldn't|rror" "$(journalctl -b -o cat -u netfilter-persistent.service)" "netfilter-persistent's log of this boot"
	check "netfilter-persistent restored $RULES without error"
	assert_match '^br_netfilter ' "$(lsmod)" "br_netfilter loaded at boot (/etc/modules-load.d/cleardf.conf)"
	assert_eq 1 "$(sysctl -n net.bridge.bridge-nf-call-iptables)" "net.bridge.bridge-nf-call-iptables (/etc/sysctl.d/90-cleardf.conf)"
	check "br_netfilter loaded and bridge-nf-call-iptables=1 from the system's files"
	assert_match '^xt_CLEARDF ' "$(lsmod)" "xt_CLEARDF loaded (by the restored rule)"
	assert_eq "$ver" "$(cat /sys/module/xt_CLEARDF/version)" "version of the loaded xt_CLEARDF"
	ko=$(modinfo -n xt_CLEARDF)
	case $ko in
	"/lib/modules/$k/updates/dkms/xt_CLEARDF.ko"*) ;;
	*) fail "xt_CLEARDF.ko on disk: expected the one DKMS built for $k, saw: $ko" ;;
	esac
	check "xt_CLEARDF $ver loaded on demand, $ko"
	saved=$(iptables-save)
	assert_match "^$RULE\$" "$saved" "the CLEARDF rule in the running ruleset"
	assert_match "^$FILTER_RULE\$" "$saved" "the filter rule in the running ruleset"
	assert_eq 0 "$(rule_packets)" "the CLEARDF rule's counter before any traffic of this boot"
	check "the ruleset of $RULES is active, with the counters of this boot"
}

# dkms_for ABI VERSION: DKMS built and installed VERSION for ABI.
dkms_for() {
	local st
	st=$(dkms status -m cleardf -k "$1" 2>/dev/null)
	case $st in
	"cleardf/$2, $1, "*": installed"*) ;;
	*) fail "dkms status for $1: expected cleardf/$2 installed, saw: $st" ;;
	esac
	assert_eq 1 "$(printf '%s\n' "$st" | grep -c . || true)" "cleardf versions DKMS has for $1 ($st)"
	[ -n "$(find "/lib/modules/$1/updates/dkms" -name 'xt_CLEARDF.ko*' 2>/dev/null)" ] ||
		fail "no xt_CLEARDF.ko under /lib/modules/$1/updates/dkms"
}

timed() {
	local t0=$SECONDS rc=0
	"$@" >"$TMPD/out" 2>&1 || rc=$?
	LAST_OUT=$(tr -d '\r' <"$TMPD/out")
	LAST_TIME=$((SECONDS - t0))
	return $rc
}

case $STEP in
first | reboot)
	boot_checks '6.1.*' "$V1"
	router_topology
	rescue "$STEP (6.1, $V1)"
	if [ "$STEP" = first ]; then
		# what an admin does once it works; the file is then in
		# iptables-save's own order
		netfilter-persistent save >/dev/null 2>&1 || fail "netfilter-persistent save"
		assert_match "^$RULE\$" "$(cat "$RULES")" "the CLEARDF rule in $RULES after netfilter-persistent save"
		assert_match "^$FILTER_RULE\$" "$(cat "$RULES")" "the filter rule in $RULES after netfilter-persistent save"
		check "netfilter-persistent save: $RULES holds the rules, tables in the order $(sed -n 's/^\*//p' "$RULES" | tr '\n' ' ')"
	fi
	if [ "$STEP" = reboot ]; then
		info "[$SECONDS s] kernel upgrade: dpkg -i bookworm-backports' linux-image-amd64 and linux-headers-amd64 ($(find /var/lib/cleardf-test/kernel-upgrade -name '*.deb' | wc -l) packages)"
		timed dpkg -i /var/lib/cleardf-test/kernel-upgrade/*.deb || { printf '%s\n' "$LAST_OUT" | tail -n 40; fail "dpkg -i of the new kernel failed"; }
		printf '%s\n' "$LAST_OUT" | grep -iE 'dkms|cleardf|xt_CLEARDF|initrd|error' | indent
		info "ROUTER-TIME kernel-install $LAST_TIME"
		dkms_for "$NEW_ABI" "$V1"
		[ -s "/boot/vmlinuz-$NEW_ABI" ] || fail "no /boot/vmlinuz-$NEW_ABI after the install"
		[ -s "/boot/initrd.img-$NEW_ABI" ] ||
			fail "no /boot/vmlinuz-$NEW_ABI and initrd.img-$NEW_ABI after the install"
		check "kernel $NEW_ABI installed in $LAST_TIME s; DKMS built cleardf $V1 for it during the install"
		rescue "after the kernel install, before the reboot"
	fi
	;;
new-kernel)
	boot_checks '6.12.*' "$V1"
	router_topology
	rescue "new kernel ($NEW_ABI, $V1)"
	info "[$SECONDS s] apt-get remove the old kernel $OLD_ABI"
	timed apt-get -o Dpkg::Use-Pty=0 remove --purge -y "linux-image-$OLD_ABI" "linux-headers-$OLD_ABI" ||
		{ printf '%s\n' "$LAST_OUT" | tail -n 30; fail "apt-get remove of $OLD_ABI failed"; }
	printf '%s\n' "$LAST_OUT" | grep -iE 'dkms|cleardf|remov' | indent
	assert_eq "" "$(dkms status -m cleardf 2>/dev/null | grep -F "$OLD_ABI" || true)" "DKMS's cleardf builds for the removed $OLD_ABI"
	[ ! -e "/lib/modules/$OLD_ABI/updates" ] || fail "/lib/modules/$OLD_ABI/updates is still there"
	check "old kernel $OLD_ABI removed in $LAST_TIME s, with its DKMS module"
	info "[$SECONDS s] package upgrade to $V2 while the rule is loaded"
	timed dpkg -i /var/lib/cleardf-test/v2/*.deb || { printf '%s\n' "$LAST_OUT" | tail -n 40; fail "dpkg -i of $V2 failed"; }
	printf '%s\n' "$LAST_OUT" | grep -iE 'dkms|cleardf|error|warn' | indent
	info "ROUTER-TIME package-upgrade $LAST_TIME"
	dkms_for "$NEW_ABI" "$V2"
	assert_eq "$V2" "$(modinfo -F version xt_CLEARDF)" "version of xt_CLEARDF.ko on disk after the upgrade"
	assert_eq "$V1" "$(cat /sys/module/xt_CLEARDF/version)" "version of the loaded module (the old one, until the rules go)"
	assert_match "^$RULE\$" "$(iptables-save -t mangle)" "the CLEARDF rule, listed by the new extension"
	check "upgraded to $V2 in $LAST_TIME s: DKMS built it for $NEW_ABI; $V1 keeps running"
	rescue "after the package upgrade, before the reboot"
	;;
upgraded)
	boot_checks '6.12.*' "$V2"
	router_topology
	rescue "upgraded ($NEW_ABI, $V2)"
	info "[$SECONDS s] apt-get purge cleardf-dkms iptables-cleardf with $RULES still using CLEARDF"
	timed apt-get -o Dpkg::Use-Pty=0 purge -y cleardf-dkms iptables-cleardf || { printf '%s\n' "$LAST_OUT" | tail -n 30; fail "apt-get purge failed"; }
	printf '%s\n' "$LAST_OUT" | indent
	line=$(grep -n -x -- "$RULE" "$RULES" | cut -d: -f1)
	assert_match "WARNING: removing (cleardf-dkms|iptables-cleardf) while CLEARDF is in use" "$LAST_OUT" "the removal's warning"
	assert_match "running ruleset uses CLEARDF: it keeps working until the next boot" "$LAST_OUT" "the warning about the running rule"
	assert_match "^  $RULES:$line \\(table mangle\\): $RULE\$" "$LAST_OUT" "the warning names the rule, its file and line"
	assert_match "no rule of that table, nor of any table after it" "$LAST_OUT" "the warning says what the next boot does"
	check "the removal warns: names $RULES:$line and the rule, says what the next boot does"
	assert_eq "" "$(dkms status -m cleardf 2>/dev/null)" "DKMS's cleardf after the purge"
	assert_eq "" "$(find /usr/src /lib/modules /usr/lib/x86_64-linux-gnu/xtables -name '*cleardf*' -o -name '*CLEARDF*' 2>/dev/null)" "cleardf's files after the purge"
	check "purged: no module, extension or source left on disk"
	rescue "after the purge, before the reboot" no
	;;
removed)
	k=$(uname -r)
	assert_match '^6\.12\.' "$k" "running kernel"
	log=$(journalctl -b -o cat -u netfilter-persistent.service)
	printf '%s\n' "$log" | indent
	# Without the extension "-j CLEARDF" reads as a jump to a user chain:
	# the test load (IPTABLES_TEST_RULESET=yes) passes, the real one fails
	assert_match "iptables-restore .*: Chain 'CLEARDF' does not exist" "$log" "netfilter-persistent's log"
	assert_eq failed "$(systemctl is-active netfilter-persistent.service || true)" "netfilter-persistent.service without cleardf"
	check "at boot iptables-restore failed on $RULES (Chain 'CLEARDF' does not exist); netfilter-persistent.service failed"
	# iptables-restore commits table by table: those before the first
	# table that uses CLEARDF load, that one and the later ones do not
	order=$(sed -n 's/^\*//p' "$RULES" | tr '\n' ' ')
	saved=$(iptables-save)
	assert_no_match '^-A PREROUTING' "$saved" "the mangle table's rules after the boot"
	assert_no_match '^xt_CLEARDF ' "$(lsmod)" "xt_CLEARDF loaded"
	case " $order" in
	*" filter "*"mangle "*)
		assert_match "^$FILTER_RULE\$" "$saved" "the filter rule ($RULES lists the tables $order)"
		check "tables in $RULES: $order; the filter table, before mangle, loaded; mangle did not"
		;;
	*)
		assert_no_match "^$FILTER_RULE\$" "$saved" "the filter rule ($RULES lists the tables $order)"
		check "tables in $RULES: $order; the filter table, after mangle, did not load: the firewall is down"
		;;
	esac
	router_topology
	not_rescued "without cleardf"
	# the way out the warning gives
	sed -i '/-j CLEARDF/d' "$RULES"
	timed netfilter-persistent start || { printf '%s\n' "$LAST_OUT"; fail "netfilter-persistent start with the CLEARDF lines deleted"; }
	assert_match "^$FILTER_RULE\$" "$(iptables-save)" "the filter rule after deleting the CLEARDF lines"
	check "after sed -i '/-j CLEARDF/d' $RULES, netfilter-persistent loads the rest of the file"
	;;
*)
	fail "unknown step $STEP"
	;;
esac
info "[$SECONDS s] step $STEP: $NCHECK checks passed"
exit 0
