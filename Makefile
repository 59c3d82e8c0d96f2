# SPDX-License-Identifier: GPL-2.0-only
#
# cleardf: the CLEARDF xtables target (kernel module + iptables extension).
#
#   make                  build xt_CLEARDF.ko and libxt_CLEARDF.so
#   make install          install both (DESTDIR= honoured)
#   make deps             install what building and testing need (Debian, root)
#   make demo             the article's story, live in a QEMU guest
#   make check            the test suite in a QEMU guest (KERNEL=6.1 by default;
#                         KERNEL=debug: a KASAN/lockdep/kmemleak 6.1 built once)
#   make check-matrix     CI's matrix: the core tests (# suite: core) on all
#                         nine rows (five amd64 kernels, four architectures)
#   make check-all        the full suite on every row
#   make check-router     a router's life in a guest that boots Debian with
#                         systemd: boot, reboot, kernel upgrade, package
#                         upgrade, removal (tests/router/run.sh)
#   make mutants          prove the tests can fail: tests/mutants/*.patch, each
#                         a bug in the module, must each fail a test (KERNEL=)
#   make bench            performance and ID-quality measurements
#   make upstream         the kernel patch series, build/upstream/<target>/
#                         (UPSTREAM_TARGETS: 6.1 6.12), and the iptables one,
#                         build/upstream/iptables/
#   make check-upstream   apply it to Debian's linux-source-6.1, checkpatch,
#                         build it in-tree (W=1, sparse), run its kselftest
#                         in a guest with that module (UPSTREAM_TARGET=6.1)
#   make check-upstream-iptables  apply the iptables series to Debian's
#                         iptables source, build it, xlate-test the extension
#
# The kernel side is described by Kbuild; this file only drives it.

# Headers of the running kernel, else the newest Debian headers installed
# (a build host often runs another kernel than the router it builds for).
KDIR		?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
			$(patsubst %/Module.symvers,%,$(lastword $(sort \
			$(wildcard /usr/src/linux-headers-*/Module.symvers)))))
# The release modules install under, once: Debian's headers say 6.1.192 in
# kernel.release, the release is UTS_RELEASE (6.1.0-56-amd64).
KRELEASE	:= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
			$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
PKG_CONFIG	?= pkg-config
XTLIBDIR	?= $(shell $(PKG_CONFIG) --variable=xtlibdir xtables 2>/dev/null)
MANDIR		?= /usr/share/man
KERNEL		?= 6.1
W		?= 1

CC		?= cc
CFLAGS		?= -O2 -g -Wall -Wextra
XT_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags xtables 2>/dev/null)
XT_LIBS		:= $(shell $(PKG_CONFIG) --libs xtables 2>/dev/null)

EXT		:= userspace-ext/libxt_CLEARDF.so

.PHONY: all module extension install install-module install-extension check-all \
	uninstall clean distclean deps check check-matrix mutants demo bench checkpatch

all: module extension

module:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel headers found. Install them (make deps, or" \
		     "apt-get install linux-headers-\$$(uname -r)) or set KDIR=."; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=$(W) modules

extension: $(EXT)

$(EXT): userspace-ext/libxt_CLEARDF.c include/linux/netfilter/xt_CLEARDF.h
	@$(PKG_CONFIG) --exists xtables || { \
		echo "libxtables not found by pkg-config: install libxtables-dev" \
		     "(make deps)"; exit 1; }
	$(CC) $(CPPFLAGS) -Iinclude $(XT_CFLAGS) $(CFLAGS) -fPIC -shared \
		-o $@ $< $(LDFLAGS) $(XT_LIBS)

install: install-module install-extension

install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=updates modules_install
	if [ -z "$(DESTDIR)" ]; then depmod -a $(KRELEASE); fi

install-extension: extension
	@test -n "$(XTLIBDIR)" || { echo "pkg-config does not know xtlibdir:" \
		"install libxtables-dev or set XTLIBDIR="; exit 1; }
	install -D -m 0644 $(EXT) $(DESTDIR)$(XTLIBDIR)/libxt_CLEARDF.so
	install -D -m 0644 userspace-ext/iptables-cleardf.8 \
		$(DESTDIR)$(MANDIR)/man8/iptables-cleardf.8

uninstall:
	rm -f $(DESTDIR)$(XTLIBDIR)/libxt_CLEARDF.so \
	      $(DESTDIR)$(MANDIR)/man8/iptables-cleardf.8
	rm -f $(DESTDIR)/lib/modules/*/updates/kernel/xt_CLEARDF.ko*
	if [ -z "$(DESTDIR)" ] && [ -n "$(KRELEASE)" ]; then depmod -a $(KRELEASE); fi

clean:
	-test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f $(EXT)

# build/ holds the test harness's products for every matrix row.
distclean: clean
	rm -rf build

deps:
	tests/harness/host-deps.sh

check: deps
	tests/harness/check.sh $(KERNEL)

# CI's matrix: the core tests on all nine rows (make check-all: the full suite).
check-matrix: deps
	tests/harness/matrix.sh

# Every row, the full suite.
check-all: deps
	CLEARDF_FULL_ROWS=all tests/harness/matrix.sh

# The packages on a Debian router with systemd, over five boots.
.PHONY: check-router
check-router: deps
	tests/router/run.sh

mutants: deps
	tests/harness/mutants.sh --row $(KERNEL)

demo: deps
	tests/harness/demo.sh $(KERNEL)

bench: deps
	bench/run.sh $(KERNEL)

# The kernel patch series: upstream/mkseries.sh writes it from kernel/,
# include/ and upstream/selftest/; upstream/check.sh proves it.
UPSTREAM_TARGETS ?= 6.1 6.12
UPSTREAM_TARGET  ?= 6.1
.PHONY: upstream check-upstream check-upstream-iptables
upstream:
	upstream/mkseries.sh $(UPSTREAM_TARGETS)
	upstream/iptables.sh

check-upstream: deps
	upstream/check.sh --guest $(UPSTREAM_TARGET)

check-upstream-iptables: deps
	upstream/iptables.sh --check

# checkpatch.pl comes from Debian's linux-source package (make deps).
checkpatch:
	tests/harness/checkpatch.sh kernel/xt_CLEARDF.c kernel/compat.h $(wildcard kernel/probes/*.c) \
		include/linux/netfilter/xt_CLEARDF.h

# ===========================================================================
# Packaging: DKMS (dkms.conf, debian/; the work is in packaging/dkms.sh)
#
#   make dkms-install     copy the module's source to /usr/src/cleardf-VERSION,
#                         register it with DKMS, build and install it for
#                         DKMS_KERNELS (default: the kernel of KDIR); from
#                         then on DKMS rebuilds it for every new kernel
#   make dkms-uninstall   unregister cleardf from DKMS (every version), remove
#                         its modules and /usr/src/cleardf-*
#   make dkms-source      only copy the DKMS source tree (DESTDIR= honoured;
#                         debian/rules uses it)
#   make check-version    VERSION, dkms.conf and debian/changelog agree
#   make check-debs       build the .debs, lintian them, install and purge
#                         them on this machine (root; never loads a module)
# ===========================================================================

DKMS		?= dkms
DKMS_KERNELS	?= $(KRELEASE)

.PHONY: check-version dkms-source dkms-install dkms-uninstall check-debs

check-version:
	tests/packaging/check-version.sh

dkms-source: check-version
	DESTDIR="$(DESTDIR)" packaging/dkms.sh source

dkms-install: check-version
	DKMS="$(DKMS)" DKMS_KERNELS="$(DKMS_KERNELS)" packaging/dkms.sh install

dkms-uninstall:
	DKMS="$(DKMS)" packaging/dkms.sh uninstall

check-debs:
	tests/packaging/test-debs.sh
