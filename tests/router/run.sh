#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/router/run.sh: a router's life with cleardf (`make check-router`).
#
# A Debian 12 system with systemd boots in QEMU (TCG, -nic none) from an
# ext4 disk: the router image of tests/router/image.sh with this tree's
# packages installed into it, configured as the README's "Make it
# permanent" says (br_netfilter in /etc/modules-load.d/, the sysctl in
# /etc/sysctl.d/, the rule in /etc/iptables/rules.v4 next to a filter
# rule). Then five boots, each running one step of tests/router/guest/
# steps.sh at its end and rebooting:
#   1 first       first boot: the rule restored, the module loaded on demand,
#                 the rescue (checked on the wire)
#   2 reboot      the same, counters of the new boot; then the kernel
#                 upgrade to bookworm-backports' 6.12 with dpkg (DKMS builds
#                 the module during the install)
#   3 new-kernel  6.12 boots with it; the old kernel is removed with apt-get;
#                 the packages are upgraded to a higher version while the rule
#                 is loaded, and the rule keeps working
#   4 upgraded    the new module is the one loaded; then apt-get purge of
#                 both packages with the rule still in rules.v4 (the warning)
#   5 removed     the next boot without cleardf (README: "Remove")
# Like a firmware with GRUB's default entry, each boot starts the newest
# kernel in the disk's /boot (read with debugfs: nothing is mounted here).
# The kernel log of every boot fails the run on the patterns of
# tests/guest/klog.sh; a lockup, stall, hung task or oops ends the guest at
# once. The step's own output (second serial port) and the console are in
# build/router/<n>-<step>.{log,console}.
#
# Exit 0 when every step passed, 1 otherwise.
set -euo pipefail
HARNESS_NAME=router
# shellcheck source=tests/harness/common.sh
. "$(dirname "$0")/../harness/common.sh"
# shellcheck source=tests/guest/klog.sh
. "$TREE/tests/guest/klog.sh"

OUT=$TREE/build/router
ROUTER_CACHE=$CACHE_ROOT/router
STEPS=(first reboot new-kernel upgraded removed)
BOOT_TIMEOUT=${CLEARDF_ROUTER_BOOT_TIMEOUT:-600}   # to the step's start
STEP_TIMEOUT=${CLEARDF_ROUTER_TIMEOUT:-2400}       # a whole boot
GRACE=5

# --from STEP: start at STEP with the disk as the previous step left it in
# an earlier run (build/router/disk.after-<step>.raw), for working on a step.
from=""
case ${1:-} in
--from) from=${2:?--from STEP}; printf '%s\n' "${STEPS[@]}" | grep -qx -- "$from" || die "no step $from (${STEPS[*]})" ;;
"") ;;
*) echo "usage: $0 [--from STEP]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || die "needs root (chroot, dpkg in the router's root)"
t_all=$(now_s)
"$TREE/tests/router/image.sh"

mkdir -p "$OUT"
exec 8>"$OUT/.lock"
flock -n 8 || { log "waiting for another run in this tree"; flock 8; }

# ---------------------------------------------------------------- packages
V1=$(tr -d ' \t\n' <"$TREE/VERSION")
V2=$V1+routertest1
t0=$(now_s)
"$TREE/tests/packaging/build-debs.sh" "$OUT/debs-v1"
"$TREE/tests/packaging/build-debs.sh" "$OUT/debs-v2" "$V2"
log "packages $V1 and $V2 built in $(elapsed "$t0") s"

# ---------------------------------------------------------------- the disk
# in_root DIR CMD...: CMD in the root DIR with /proc, /tmp and the basic
# device nodes, in a private mount namespace (nothing stays mounted).
in_root() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/sh -c '
		r=$1; shift
		mount -t proc proc "$r/proc" || exit 1
		mount -t tmpfs tmpfs "$r/tmp" || exit 1
		for d in null zero full random urandom tty; do
			[ -c "$r/dev/$d" ] || { touch "$r/dev/$d" && mount --bind "/dev/$d" "$r/dev/$d"; } || exit 1
		done
		exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
	' in_root "$dir" "$@"
}

DISK=$OUT/disk.raw
# make_disk: the router's root with this tree's packages, on a new ext4 disk.
make_disk() {
	t0=$(now_s)
	ROOT=$OUT/root
	safe_rm "$ROOT"
	cp -a --reflink=auto "$ROUTER_CACHE/rootfs" "$ROOT"
	mkdir -p "$ROOT/var/cache/cleardf"
	cp "$OUT"/debs-v1/cleardf-dkms_*.deb "$OUT"/debs-v1/iptables-cleardf_*.deb "$TREE/tests/tools/pcapip.c" "$TREE/tests/tools/tool.h" "$ROOT/var/cache/cleardf/"
	# As an admin installs them: apt, from the files (the router is offline).
	# The postinst has DKMS build the module for the image's kernel.
	if ! in_root "$ROOT" sh -c 'apt-get install -y --no-install-recommends /var/cache/cleardf/*.deb &&
		gcc -O2 -Wall -o /var/cache/cleardf/pcapip /var/cache/cleardf/pcapip.c' >"$OUT/install-v1.log" 2>&1; then
		tail -n 40 "$OUT/install-v1.log" >&2
		die "installing cleardf $V1 into the router's root failed (log: $OUT/install-v1.log)"
	fi
	grep -q "^cleardf/$V1, $OLD_ABI, .*: installed" <(in_root "$ROOT" dkms status) ||
		die "DKMS did not build cleardf $V1 for $OLD_ABI in the router's root (log: $OUT/install-v1.log)"
	mkdir -p "$OUT/payload/bin"
	mv "$ROOT/var/cache/cleardf/pcapip" "$OUT/payload/bin/"
	rm -rf "$ROOT/var/cache/cleardf"

	# The guest's dpkg without fsync after each file (the test's disk is
	# cache=unsafe and thrown away): the kernel upgrade unpacks some
	# 25,000 files, and under TCG each fsync costs.
	echo force-unsafe-io >"$ROOT/etc/dpkg/dpkg.cfg.d/cleardf-test-unsafe-io"

	# The README's "Make it permanent", as files (rules.v4 is what
	# `iptables -t mangle -A PREROUTING -i br0 -j CLEARDF; netfilter-persistent
	# save` writes, next to a filter rule that stands for the router's firewall).
	echo br_netfilter >"$ROOT/etc/modules-load.d/cleardf.conf"
	echo 'net.bridge.bridge-nf-call-iptables = 1' >"$ROOT/etc/sysctl.d/90-cleardf.conf"
	cat >"$ROOT/etc/iptables/rules.v4" <<-'EOF'
		# Generated by iptables-save v1.8.9 (nf_tables)
		*filter
		:INPUT ACCEPT [0:0]
		:FORWARD ACCEPT [0:0]
		:OUTPUT ACCEPT [0:0]
		-A INPUT -p tcp -m tcp --dport 23 -j DROP
		COMMIT
		*mangle
		:PREROUTING ACCEPT [0:0]
		:INPUT ACCEPT [0:0]
		:FORWARD ACCEPT [0:0]
		:OUTPUT ACCEPT [0:0]
		:POSTROUTING ACCEPT [0:0]
		-A PREROUTING -i br0 -j CLEARDF
		COMMIT
	EOF
	# netfilter-persistent save writes both; the IPv6 plugin fails on a
	# missing rules.v6 (bookworm)
	cat >"$ROOT/etc/iptables/rules.v6" <<-'EOF'
		# Generated by ip6tables-save v1.8.9 (nf_tables)
		*filter
		:INPUT ACCEPT [0:0]
		:FORWARD ACCEPT [0:0]
		:OUTPUT ACCEPT [0:0]
		COMMIT
	EOF
	rm -f "$DISK"
	mke2fs -q -F -t ext4 -L router -d "$ROOT" "$DISK" 6G >"$OUT/mke2fs.log" 2>&1 ||
		{ cat "$OUT/mke2fs.log" >&2; die "mke2fs -d failed"; }
	safe_rm "$ROOT"
	log "disk: cleardf $V1 installed (DKMS for $OLD_ABI), the router's files, ext4 made with mke2fs -d: $(elapsed "$t0") s"
}
OLD_ABI=$(find "$ROUTER_CACHE/rootfs/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
NEW_ABI=$(for d in "$ROUTER_CACHE"/kernel-upgrade/linux-image-*.deb; do dpkg-deb -c "$d"; done |
	sed -n 's|.*\./boot/vmlinuz-\(.*\)$|\1|p' | sort -V | tail -n 1)
if [ -z "$OLD_ABI" ] || [ -z "$NEW_ABI" ]; then
	die "cannot tell the kernels (old '$OLD_ABI', new '$NEW_ABI')"
fi
if [ -z "$from" ]; then
	make_disk
else
	prev=""
	for s in "${STEPS[@]}"; do [ "$s" = "$from" ] && break; prev=$s; done
	if [ -n "$prev" ]; then
		[ -f "$OUT/disk.after-$prev.raw" ] || die "no $OUT/disk.after-$prev.raw: run the steps before $from first"
		cp --sparse=always "$OUT/disk.after-$prev.raw" "$DISK"
	else
		make_disk
	fi
	log "starting at step $from"
fi

# ---------------------------------------------------------------- payload
# What the steps need, on the second disk (a tar archive read by the guest).
P=$OUT/payload
rm -rf "$P/tests" "$P/v2" "$P/kernel-upgrade"
mkdir -p "$P/tests/router/guest" "$P/v2" "$P/kernel-upgrade"
cp "$TREE/tests/lib.sh" "$TREE/tests/article.sh" "$P/tests/"
cp "$TREE"/tests/router/guest/*.sh "$P/tests/router/guest/"
cp "$OUT"/debs-v2/cleardf-dkms_*.deb "$OUT"/debs-v2/iptables-cleardf_*.deb "$P/v2/"
ln "$ROUTER_CACHE"/kernel-upgrade/*.deb "$P/kernel-upgrade/" 2>/dev/null ||
	cp "$ROUTER_CACHE"/kernel-upgrade/*.deb "$P/kernel-upgrade/"
printf 'V1=%s\nV2=%s\nOLD_ABI=%s\nNEW_ABI=%s\n' "$V1" "$V2" "$OLD_ABI" "$NEW_ABI" >"$P/router.env"
tar -cf "$OUT/payload.tar" -C "$P" .

# ---------------------------------------------------------------- boots
# newest_kernel: the newest /boot/vmlinuz-* on the disk.
newest_kernel() {
	debugfs -R 'ls -p /boot' "$DISK" 2>/dev/null | awk -F/ '{ print $6 }' |
		sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1
}

declare -a TABLE=()
failed=0
n=0
for step in "${STEPS[@]}"; do
	n=$((n + 1))
	if [ -n "$from" ]; then
		[ "$step" = "$from" ] || continue
		from=""
	fi
	k=$(newest_kernel)
	[ -n "$k" ] || die "no kernel in the disk's /boot"
	rm -f "$OUT/vmlinuz" "$OUT/initrd.img"
	debugfs -R "dump /boot/vmlinuz-$k $OUT/vmlinuz" "$DISK" >/dev/null 2>&1
	debugfs -R "dump /boot/initrd.img-$k $OUT/initrd.img" "$DISK" >/dev/null 2>&1
	if [ ! -s "$OUT/vmlinuz" ] || [ ! -s "$OUT/initrd.img" ]; then
		die "cannot read /boot/vmlinuz-$k and initrd.img-$k from the disk"
	fi
	console=$OUT/$n-$step.console steplog=$OUT/$n-$step.log
	: >"$console"
	: >"$steplog"
	log "boot $n: $k, step $step"
	ts=$(now_s)
	qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 2 -nic none -display none -monitor none -no-reboot \
		-drive "file=$DISK,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$OUT/payload.tar,format=raw,if=virtio,readonly=on" \
		-serial "file:$console" -serial "file:$steplog" \
		-kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 loglevel=5 panic=-1 random.trust_cpu=on printk.devkmsg=on systemd.show_status=auto cleardf.step=$step" \
		</dev/null >"$OUT/$n-$step.qemu" 2>&1 &
	qpid=$!
	why="" start=$SECONDS fatal_at=""
	while kill -0 $qpid 2>/dev/null; do
		sleep 2
		now=$((SECONDS - start))
		if [ -z "$fatal_at" ] && grep -aqE "$KLOG_STAMP_RE.*($KLOG_FATAL_RE)" "$console"; then
			fatal_at=$now
			log "boot $n: the kernel reports: $(grep -aE "$KLOG_STAMP_RE.*($KLOG_FATAL_RE)" "$console" | head -n 1)"
		fi
		if [ -n "$fatal_at" ] && [ $((now - fatal_at)) -ge $GRACE ]; then
			why="the kernel reported a lockup, stall, hung task or oops"
		elif ! grep -aq "^cleardf-router: step $step: start" "$steplog" && [ $now -ge "$BOOT_TIMEOUT" ]; then
			why="the step did not start within $BOOT_TIMEOUT s of the boot"
		elif [ $now -ge "$STEP_TIMEOUT" ]; then
			why="timeout: $STEP_TIMEOUT s"
		fi
		if [ -n "$why" ]; then
			kill $qpid 2>/dev/null || true
			break
		fi
	done
	wait $qpid 2>/dev/null || true
	wall=$(elapsed "$ts")
	sed -e 's/^/    /' "$steplog"
	res=$(sed -n "s/^cleardf-router: step $step: \(pass\|fail\) .*/\1/p" "$steplog" | tail -n 1)
	up0=$(sed -n "s/^cleardf-router: step $step: start at uptime \([0-9.]*\) s.*/\1/p" "$steplog")
	up1=$(sed -n "s/^cleardf-router: step $step: \(pass\|fail\) (exit [0-9]*) at uptime \([0-9.]*\) s/\2/p" "$steplog")
	bad=$(tr -d '\r' <"$console" | grep -aE "^$KLOG_STAMP_RE.*($KLOG_BAD_RE)" | sort -u || true)
	[ -n "$res" ] || res=fail
	[ -z "$why" ] || { res=fail; log "boot $n: $why"; }
	if [ -n "$bad" ]; then
		res=fail
		log "boot $n: the kernel log has reports (tests/guest/klog.sh):"
		printf '%s\n' "$bad" | head -n 20 | sed 's/^/    /' >&2
	fi
	if [ "$res" != pass ] && [ -z "$(cat "$steplog")" ]; then
		log "boot $n: no output from the step; the console's end:"
		tail -n 30 "$console" | sed 's/^/    /' >&2
	fi
	extra=$(tr -d '\r' <"$steplog" | sed -n 's/^# ROUTER-TIME \([a-z-]*\) \([0-9]*\)$/\1 \2 s/p' | paste -sd, - | sed 's/,/, /g')
	TABLE+=("$(printf '| %d %s | %s | %s | %s s | %s s | %s s | %s |' "$n" "$step" "$k" "$res" \
		"${up0:-?}" "$(awk -v a="${up0:-0}" -v b="${up1:-0}" 'BEGIN { if (b > 0) printf "%.0f", b - a; else print "?" }')" \
		"$wall" "${extra:--}")")
	if [ "$res" = pass ]; then
		rm -f "$OUT"/disk.after-*.raw
		cp --sparse=always "$DISK" "$OUT/disk.after-$step.raw"
	else
		failed=1
		log "boot $n ($step) failed: the later steps depend on it, stopping (console: $console)"
		break
	fi
done

{
	echo "| boot, step | kernel | result | systemd to the step | step | boot wall time | in the guest |"
	echo "| --- | --- | --- | ---: | ---: | ---: | --- |"
	printf '%s\n' "${TABLE[@]}"
	echo
	echo "router: $n of ${#STEPS[@]} boots run, $([ $failed = 0 ] && echo "all passed" || echo "FAILED"); $(elapsed "$t_all") s in all"
} | tee "$OUT/result.md"
exit $failed
