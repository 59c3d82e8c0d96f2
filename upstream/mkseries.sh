#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkseries.sh [TARGET...]   (targets: 6.1 6.12; default: both)
#
# Writes a `git format-patch` series that adds CLEARDF to a kernel tree,
# the way xt_DSCP and xt_HL sit there, into build/upstream/<target>/:
#   0001 netfilter: xtables: add CLEARDF target
#        net/netfilter/xt_CLEARDF.c        from kernel/xt_CLEARDF.c
#        include/uapi/linux/netfilter/xt_CLEARDF.h
#                                          from include/linux/netfilter/
#        net/netfilter/Kconfig, Makefile   NETFILTER_XT_TARGET_CLEARDF
#   0002 selftests: netfilter: add CLEARDF test
#        <selftests>/xt_cleardf.sh         from upstream/selftest/
#        <selftests>/Makefile, config
#
# The sources are the project's own: the compat layer is resolved here (the
# include of compat.h goes, a CLEARDF_HAVE_* test is decided by
# upstream/probes.<target>, MODULE_VERSION goes), and the result is
# refused if any version test or compat name is left. The commits are made
# with git plumbing in the target's pristine tree (see common.sh), so its
# work tree is not touched. UPSTREAM_IDENTITY="Name <mail>" sets the
# author and Signed-off-by (default: the project's neutral identity).
set -euo pipefail
UP_NAME=mkseries
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

# The script is this function, run by the last line: bash reads all of it
# before running any, so an edit of the file during a long run cannot
# derail it.
main() {

IDENTITY=${UPSTREAM_IDENTITY:-cleardf developers <cleardf@users.noreply.github.com>}
SELFTEST=xt_cleardf.sh

# resolve_source TARGET < kernel/xt_CLEARDF.c: the in-tree file.
resolve_source() {
	local src
	src=$(cat)
	if grep -q 'CLEARDF_HAVE_' <<<"$src"; then
		# Each CLEARDF_HAVE_NAME the source tests must be decided for the
		# target: upstream/probes.<target> lists the ones it has.
		local f=$UP_DIR/probes.$1 name args=()
		command -v unifdef >/dev/null || die "unifdef is needed (apt-get install unifdef)"
		while read -r name; do
			if grep -qx "$name" "$f" 2>/dev/null; then
				args+=("-D$name")
			elif grep -qx "!$name" "$f" 2>/dev/null; then
				args+=("-U$name")
			else
				die "kernel/xt_CLEARDF.c tests $name: say in $f whether $1 has it ($name or !$name)"
			fi
		done < <(grep -o 'CLEARDF_HAVE_[A-Z0-9_]*' <<<"$src" | sort -u)
		src=$(unifdef "${args[@]}" <<<"$src" || [ $? = 1 ])
	fi
	# The compat include, with the blank line that separates it, and the
	# out-of-tree version go.
	src=$(awk '
		/^#include "compat\.h"$/ { blank = 0; next }
		/^MODULE_VERSION\(/ { next }
		blank { print ""; blank = 0 }
		/^$/ { blank = 1; next }
		{ print }
		END { if (blank) print "" }
	' <<<"$src")
	if grep -nE 'compat\.h|CLEARDF_HAVE_|CLEARDF_VERSION|LINUX_VERSION_CODE|KERNEL_VERSION|RHEL_' <<<"$src" >&2; then
		die "the in-tree xt_CLEARDF.c still has the compat names above"
	fi
	printf '%s\n' "$src"
}

# The Kconfig entry, before CONNMARK (CLEARDF sorts after CLASSIFY); its
# "depends on" is DSCP's (the mangle tables, and NFT_COMPAT where the tree
# has it), without IPv6.
kconfig() {
	awk '
	/^config NETFILTER_XT_TARGET_DSCP$/ { dscp = 1 }
	dscp && /^[ \t]*depends on .*MANGLE/ && !deps {
		deps = $0
		gsub(/IP6_NF_MANGLE \|\| /, "", deps)
		gsub(/ \|\| IP6_NF_MANGLE/, "", deps)
	}
	{ lines[++n] = $0 }
	END {
		if (!deps) { print "no DSCP entry" > "/dev/stderr"; exit 1 }
		for (i = 1; i <= n; i++) {
			if (lines[i] == "config NETFILTER_XT_TARGET_CONNMARK") {
				print "config NETFILTER_XT_TARGET_CLEARDF"
				print "\ttristate '\''\"CLEARDF\" target support'\''"
				print deps
				print "\tdepends on NETFILTER_ADVANCED"
				print "\thelp"
				print "\t  This option adds a `CLEARDF'\'' target, which clears the Don'\''t"
				print "\t  Fragment bit of IPv4 packets in the \"mangle\" table and gives"
				print "\t  them a fresh IP ID. A packet too big for a later link is then"
				print "\t  fragmented instead of dropped where path MTU discovery does not"
				print "\t  work: behind a bridge or a tunnel endpoint that forwards other"
				print "\t  hosts'\'' packets, or when a firewall drops the ICMP messages."
				print ""
				print "\t  To compile it as a module, choose M here.  If unsure, say N."
				print ""
				done = 1
			}
			print lines[i]
		}
		if (!done) { print "no CONNMARK entry" > "/dev/stderr"; exit 1 }
	}'
}

makefile() {
	awk '
	{ print }
	/^obj-\$\(CONFIG_NETFILTER_XT_TARGET_CLASSIFY\) \+= xt_CLASSIFY\.o$/ {
		print "obj-$(CONFIG_NETFILTER_XT_TARGET_CLEARDF) += xt_CLEARDF.o"
		done = 1
	}
	END { if (!done) { print "no xt_CLASSIFY.o line" > "/dev/stderr"; exit 1 } }'
}

# The selftest's Makefile: "TEST_PROGS += x.sh" lines (6.12) get ours in
# sorted place; a continued "TEST_PROGS := a.sh \" list (6.1) gets it last.
selftest_makefile() {
	awk -v t="$SELFTEST" '
	{ lines[++n] = $0; if ($0 ~ /^TEST_PROGS \+= [^ ]+$/) plus = 1 }
	END {
		for (i = 1; i <= n; i++) {
			l = lines[i]
			if (plus && !done && l ~ /^TEST_PROGS \+= [^ ]+$/) {
				split(l, w, " ")
				if (w[3] > t) { print "TEST_PROGS += " t; done = 1 }
				else if (lines[i + 1] !~ /^TEST_PROGS \+= /) {
					print l; print "TEST_PROGS += " t; done = 1; continue
				}
			}
			if (!plus && !done && l ~ /^TEST_PROGS :=/) inlist = 1
			if (inlist && l !~ /\\$/) {
				print l " \\"
				print "\t" t
				inlist = 0; done = 1; continue
			}
			print l
		}
		if (!done) { print "no TEST_PROGS" > "/dev/stderr"; exit 1 }
	}'
}

# The selftests' config fragment: what the test needs, each line once,
# after the last CONFIG_NETFILTER_XT_ line (or at the end).
selftest_config() {
	awk '
	BEGIN {
		split("CONFIG_IP_NF_MANGLE=m CONFIG_IP_NF_RAW=m CONFIG_NETFILTER_ADVANCED=y " \
		      "CONFIG_NETFILTER_XT_MATCH_U32=m CONFIG_NETFILTER_XT_TARGET_CLEARDF=m " \
		      "CONFIG_VETH=m", want, " ")
	}
	{ lines[++n] = $0; have[$0] = 1; k = $0; sub(/=.*/, "", k); sym[k] = 1
	  if ($0 ~ /^CONFIG_NETFILTER_XT_/) last = n }
	END {
		if (!last) last = n
		for (i = 1; i <= n; i++) {
			print lines[i]
			if (i == last)
				for (j = 1; j in want; j++) {
					k = want[j]; sub(/=.*/, "", k)
					if (!(k in sym)) print want[j]
				}
		}
	}'
}

# put PATH MODE: the standard input becomes PATH in the temporary index.
put() {
	local blob
	blob=$(git hash-object -w --stdin)
	git update-index --add --cacheinfo "$2,$blob,$1"
}

# at PATH: PATH in the pristine commit.
at() { git cat-file blob "$BASE:$1"; }

MSG1='netfilter: xtables: add CLEARDF target

A router forwarding into a link with a smaller MTU drops IPv4 packets
that have the Don'"'"'t Fragment bit set, and relies on the sender to act on
the ICMP "fragmentation needed" message it sends back. That fails when
the message never arrives, because a firewall on the way drops it (a path
MTU discovery black hole), and when the sender is not the one who could
act on it: a bridge or a tunnel endpoint that forwards other hosts'"'"'
packets. TCPMSS helps TCP; UDP, IPsec and tunnelled traffic is lost.

Add a CLEARDF target for the mangle table that clears DF, so that
ip_fragment() splits such a packet instead. For forwarded packets it
belongs in PREROUTING: ip_forward() checks the MTU before the FORWARD
hook runs.

A packet that may be fragmented needs an IP ID that does not repeat soon
towards its destination (RFC 6864), while a DF packet may carry a fixed
or zero ID. The target therefore draws a fresh ID from __ip_select_ident()
unless --keep-id is given, and updates the header checksum. A GSO packet
gets one ID per segment and loses SKB_GSO_TCP_FIXEDID; in a fraglist GRO
packet each member'"'"'s own header is rewritten too. Fragments and packets
without DF are left alone.

The IPv6 registration refuses every rule, so that ip6tables can tell the
user why: IPv6 has no DF bit.'

MSG2='selftests: netfilter: add CLEARDF test

Forward big DF pings through a router whose egress link has a smaller
MTU and which drops the "fragmentation needed" messages it sends. Without
CLEARDF the pings are lost; with CLEARDF in the router'"'"'s mangle
PREROUTING chain they are fragmented and answered, and no packet reaches
the receiver with DF set. Also check that the target is refused in INPUT,
in the filter table and by ip6tables.

The test needs an iptables with the CLEARDF extension and is skipped
without it.'

mkseries() {
	local target=$1 out sdir tmp c1 c2
	pristine "$target"
	out=$UP_OUT/$target
	sdir=$(selftest_dir)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-mkseries.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" RETURN
	export GIT_DIR=$SRC/.git GIT_INDEX_FILE=$tmp/index
	git_identity
	local sob="Signed-off-by: $IDENTITY"

	git read-tree "$BASE"
	resolve_source "$target" <"$TREE/kernel/xt_CLEARDF.c" | put net/netfilter/xt_CLEARDF.c 100644
	resolve_header <"$TREE/include/linux/netfilter/xt_CLEARDF.h" |
		put include/uapi/linux/netfilter/xt_CLEARDF.h 100644
	at net/netfilter/Kconfig | kconfig | put net/netfilter/Kconfig 100644
	at net/netfilter/Makefile | makefile | put net/netfilter/Makefile 100644
	c1=$(printf '%s\n\n%s\n' "$MSG1" "$sob" | git commit-tree "$(git write-tree)" -p "$BASE")

	put "$sdir/$SELFTEST" 100755 <"$UP_DIR/selftest/$SELFTEST"
	at "$sdir/Makefile" | selftest_makefile | put "$sdir/Makefile" 100644
	at "$sdir/config" | selftest_config | put "$sdir/config" 100644
	c2=$(printf '%s\n\n%s\n' "$MSG2" "$sob" | git commit-tree "$(git write-tree)" -p "$c1")

	rm -rf "$out"
	mkdir -p "$out"
	git format-patch -q --zero-commit --signature="cleardf $(cat "$TREE/VERSION")" \
		-o "$out" "$BASE..$c2"
	printf '%s %s\n' "$SRC_PKG" "$SRC_VERSION" >"$out/BASE"
	unset GIT_DIR GIT_INDEX_FILE
	log "$target: $(cd "$out" && echo ./*.patch | wc -w) patches for $SRC_PKG $SRC_VERSION in $out"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$UP_TARGETS"
for t in "${targets[@]}"; do
	mkseries "$t"
done
}

main "$@"; exit
