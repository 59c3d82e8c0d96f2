#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# iptables.sh [--check]
#
# The userspace half of the upstream series: a `git format-patch` series
# that adds the CLEARDF extension to Debian's iptables source (the
# version apt installs here), written to build/upstream/iptables/:
#   0001 extensions: add CLEARDF target
#        extensions/libxt_CLEARDF.{c,man,t,txlate}  from userspace-ext/
#        include/linux/netfilter/xt_CLEARDF.h       from include/ (iptables
#                                                   keeps its own copies)
# The source package comes from the archive apt uses (the .dsc and its
# files from pool/, unpacked with dpkg-source: no deb-src line needed),
# once, into ~/.cache/cleardf/upstream/iptables_<version>/, committed with
# git.
#
# --check: git am the series there, configure and build iptables (with the
# nft front end), and prove the extension in the tree: it compiles without a
# warning, its man page is in iptables-extensions(8), and xlate-test.py
# passes its .txlate with the tree's own iptables-translate (userspace only:
# nothing reaches this machine's kernel). The .t file needs a kernel with
# the module: it is not run here.
set -euo pipefail
UP_NAME=iptables HARNESS_NAME=iptables
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=../tests/harness/common.sh
. "$TREE/tests/harness/common.sh"

# The script is this function, run by the last line: bash reads all of it
# before running any, so an edit of the file during a long run cannot
# derail it.
main() {

check=0
[ "${1:-}" != --check ] || check=1
IDENTITY=${UPSTREAM_IDENTITY:-cleardf developers <cleardf@users.noreply.github.com>}
out=$UP_OUT/iptables

ver=$(dpkg-query -W -f='${source:Version}' iptables 2>/dev/null ||
	apt-cache policy iptables | awk '$1 == "Candidate:" { print $2 }')
[ -n "$ver" ] || die "neither installed nor known to apt: iptables"
SRC=$UP_CACHE/iptables_$ver
mkdir -p "$UP_CACHE"
exec 7>"$SRC.lock"
flock 7
if [ ! -f "$SRC/.git/cleardf-pristine" ]; then
	t0=$(now_s)
	uri=$(archive_uri)
	dl=$UP_CACHE/iptables-dl
	rm -rf "$dl" "$SRC"
	mkdir -p "$dl"
	dsc=iptables_$ver.dsc
	log "fetching $uri/pool/main/i/iptables/$dsc"
	curl -sfS -o "$dl/$dsc" "$uri/pool/main/i/iptables/$dsc" || die "cannot fetch $dsc"
	while read -r f; do
		curl -sfS -o "$dl/$f" "$uri/pool/main/i/iptables/$f" || die "cannot fetch $f"
	done < <(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]* //p' "$dl/$dsc")
	# The signature is not checked (no keyring of the uploaders here); the
	# checksums of the .dsc are.
	dpkg-source --no-check -x "$dl/$dsc" "$SRC" >/dev/null
	git -C "$SRC" init -q
	git -C "$SRC" add -A -f
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git -C "$SRC" -c user.name=iptables -c user.email=pristine@localhost \
		commit -q -m "iptables $ver, pristine (Debian's patches applied)"
	git -C "$SRC" rev-parse HEAD >"$SRC/.git/cleardf-pristine"
	rm -rf "$dl"
	log "iptables $ver: pristine tree in $(elapsed "$t0") s"
fi
BASE=$(cat "$SRC/.git/cleardf-pristine")

# The extension in the tree: xtables.h has ARRAY_SIZE.
resolve_extension() {
	awk '
	/^#ifndef ARRAY_SIZE$/ { skip = 1; next }
	skip && /^#endif/ { skip = 0; next }
	skip { next }
	{ print }'
}

MSG='extensions: add CLEARDF target

The CLEARDF target (net/netfilter/xt_CLEARDF.c) clears the Don'"'"'t
Fragment bit of IPv4 packets in the mangle table, so that a router
fragments a packet too big for its next link instead of dropping it where
path MTU discovery fails, and gives the packet a fresh IP ID unless
--keep-id is given.

Add its extension, man page, tests and translation: with --keep-id the
rule translates to nft'"'"'s own frag-off statement; without it nft has no
equivalent for the fresh ID and the rule is listed untranslated. Under
ip6tables the target is refused with the reason: IPv6 has no DF bit.'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cleardf-ipt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GIT_DIR=$SRC/.git GIT_INDEX_FILE=$tmp/index
git_identity
put() {
	local blob
	blob=$(git hash-object -w --stdin)
	git update-index --add --cacheinfo "$2,$blob,$1"
}
git read-tree "$BASE"
resolve_extension <"$TREE/userspace-ext/libxt_CLEARDF.c" | put extensions/libxt_CLEARDF.c 100644
for e in man t txlate; do
	put "extensions/libxt_CLEARDF.$e" 100644 <"$TREE/userspace-ext/libxt_CLEARDF.$e"
done
resolve_header <"$TREE/include/linux/netfilter/xt_CLEARDF.h" | put include/linux/netfilter/xt_CLEARDF.h 100644
c1=$(printf '%s\n\nSigned-off-by: %s\n' "$MSG" "$IDENTITY" | git commit-tree "$(git write-tree)" -p "$BASE")
rm -rf "$out"
mkdir -p "$out"
git format-patch -q --zero-commit --signature="cleardf $(cat "$TREE/VERSION")" -o "$out" "$BASE..$c1"
printf 'iptables %s\n' "$ver" >"$out/BASE"
unset GIT_DIR GIT_INDEX_FILE
log "1 patch for iptables $ver in $out"
[ $check = 1 ] || exit 0

step_t0=$(now_s)
step() { log "$1: $(elapsed "$step_t0") s"; step_t0=$(now_s); }
CLEARDF_DEPS_EXTRA="autoconf automake libtool pkg-config libmnl-dev libnftnl-dev bison flex curl dpkg-dev" \
	"$TREE/tests/harness/host-deps.sh"
git -C "$SRC" checkout -q -f --detach "$BASE"
sed -n 's/^ create mode [0-7]* //p' "$out"/*.patch | (cd "$SRC" && xargs -r rm -f)
git -C "$SRC" -c user.name=check -c user.email=check@localhost am -q "$out"/*.patch ||
	{ git -C "$SRC" am --abort || true; die "the series does not apply to iptables $ver"; }
step "git am"
LOG=$out/build.log
if [ ! -f "$SRC/Makefile" ]; then
	(cd "$SRC" && ./configure --disable-static) >"$LOG" 2>&1 ||
		{ tail -n 30 "$LOG" >&2; die "configure failed (log: $LOG)"; }
	step "configure"
fi
rm -f "$SRC"/extensions/libxt_CLEARDF.o "$SRC"/extensions/libxt_CLEARDF.oo "$SRC"/extensions/libxt_CLEARDF.so
make -C "$SRC" -j"$(nproc)" V=1 >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "make failed (log: $LOG)"; }
step "make"
# Our extension once more on its own, with the tree's flags: anything the
# compiler says (the rest of iptables has a warning of its own in
# xtables-monitor.c) is about it.
rm -f "$SRC"/extensions/libxt_CLEARDF.oo "$SRC"/extensions/libxt_CLEARDF.so
make -C "$SRC/extensions" V=1 libxt_CLEARDF.so >"$out/extension.log" 2>&1 ||
	{ cat "$out/extension.log" >&2; die "make libxt_CLEARDF.so failed"; }
grep -qE -- '-o libxt_CLEARDF\.oo -c libxt_CLEARDF\.c' "$out/extension.log" || die "libxt_CLEARDF.c was not compiled (log: $out/extension.log)"
if grep -iE 'warning|error' "$out/extension.log"; then
	die "the compiler warns about libxt_CLEARDF.c (above)"
fi
[ -f "$SRC/extensions/libxt_CLEARDF.so" ] || die "no extensions/libxt_CLEARDF.so"
grep -q 'CLEARDF' "$SRC/extensions/matches.man" "$SRC/extensions/targets.man" 2>/dev/null ||
	die "CLEARDF is not in the generated extension man pages"
(cd "$SRC" && PATH=/usr/bin:$PATH python3 ./xlate-test.py extensions/libxt_CLEARDF.txlate) >"$out/xlate.log" 2>&1 ||
	{ cat "$out/xlate.log" >&2; die "xlate-test.py failed on libxt_CLEARDF.txlate"; }
cat "$out/xlate.log"
step "xlate-test"
log "iptables $ver: applied, built in-tree without warnings, man page in, .txlate passes"
}

main "$@"; exit
