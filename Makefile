# SPDX-License-Identifier: GPL-2.0-only
#
# cleardf: the CLEARDF xtables target (kernel module + iptables extension).
#
#   make                  build xt_CLEARDF.ko and libxt_CLEARDF.so
#   make install          install both (DESTDIR= honoured)
#   make deps             install what building and testing need (Debian, root)
#   make demo             the article's story, live in a QEMU guest
#   make check            the test suite in a QEMU guest (KERNEL=6.1 by default)
#   make check-matrix     the suite on every kernel of the matrix
#   make mutants          prove the tests can fail: tests/mutants/*.patch, each
#                         a bug in the module, must each fail a test (KERNEL=)
#   make bench            performance and ID-quality measurements
#
# The kernel side is described by Kbuild; this file only drives it.

VERSION_STR	:= $(shell cat VERSION)

# Headers of the running kernel, else the newest Debian headers installed
# (a build host often runs another kernel than the router it builds for).
KDIR		?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
			$(patsubst %/Module.symvers,%,$(lastword $(sort \
			$(wildcard /usr/src/linux-headers-*/Module.symvers)))))
# The release modules install under (Debian's kernel.release is upstream's).
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

# CI's matrix: the full suite on bookworm, the core tests on the other rows.
check-matrix: deps
	tests/harness/matrix.sh

# Every row, the full suite.
check-all: deps
	CLEARDF_FULL_ROWS=all CLEARDF_ROWS="$${CLEARDF_ROWS:-bullseye bookworm \
		bookworm-backports trixie sid arm64 armhf mips64el s390x}" \
		tests/harness/matrix.sh

mutants: deps
	tests/harness/mutants.sh --row $(KERNEL)

demo: deps
	tests/harness/demo.sh $(KERNEL)

bench: deps
	bench/run.sh $(KERNEL)

# checkpatch.pl comes from Debian's linux-source package (make deps).
checkpatch:
	tests/harness/checkpatch.sh kernel/xt_CLEARDF.c kernel/compat.h $(wildcard kernel/probes/*.c) \
		include/linux/netfilter/xt_CLEARDF.h

# ===========================================================================
# Packaging: DKMS (see dkms.conf, debian/, docs/install.md)
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
DKMS_NAME	:= cleardf
DKMS_SRC	:= /usr/src/$(DKMS_NAME)-$(VERSION_STR)
# Debian's headers say 6.1.192 in kernel.release; the release modules are
# installed for (6.1.0-56-amd64) is UTS_RELEASE.
DKMS_KERNELS	?= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
			$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# What DKMS needs: Kbuild and the module's sources, nothing generated, and
# not this Makefile (DKMS runs Kbuild directly; see MAKE in dkms.conf).
DKMS_FILES	:= dkms.conf Kbuild VERSION \
	$(wildcard include/linux/netfilter/*.h) \
	$(filter-out %.mod.c,$(wildcard kernel/*.c)) \
	$(filter-out kernel/compat-probed.h,$(wildcard kernel/*.h)) \
	$(wildcard kernel/probes/*.c)

# A shell fragment: fail if the cleardf-dkms package is installed (its files
# are dpkg's business: apt upgrades and removes them).
define dkms_refuse_if_packaged
	if dpkg-query -W -f='$${Status}\n' cleardf-dkms 2>/dev/null | \
		grep -q ' installed$$'; then \
		echo "The cleardf-dkms package is installed: upgrade it with apt," \
		     "or 'apt purge cleardf-dkms' before make $@."; exit 1; fi
endef

.PHONY: check-version dkms-source dkms-install dkms-uninstall check-debs

check-version:
	tests/packaging/check-version.sh

dkms-source: check-version
	@if [ -z "$(DESTDIR)" ]; then $(dkms_refuse_if_packaged); fi
	rm -rf $(DESTDIR)$(DKMS_SRC)
	set -e; for f in $(DKMS_FILES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DKMS_SRC)/$$f; done

dkms-install: check-version
	@[ "$$(id -u)" = 0 ] || { echo "make $@: run as root"; exit 1; }
	@command -v $(DKMS) >/dev/null || { \
		echo "dkms not found: apt-get install dkms"; exit 1; }
	@test -n "$(DKMS_KERNELS)" || { echo "No kernel headers found (KDIR=$(KDIR))." \
		"Install them (apt-get install linux-headers-\$$(uname -r))," \
		"or set DKMS_KERNELS=<release>."; exit 1; }
	@$(dkms_refuse_if_packaged)
	@# A copy from "make install-module" would shadow (or be shadowed by) DKMS's.
	@for k in $(DKMS_KERNELS); do \
		if ls /lib/modules/$$k/updates/kernel/xt_CLEARDF.ko* >/dev/null 2>&1; then \
			echo "/lib/modules/$$k/updates/kernel/xt_CLEARDF.ko is from" \
			     "make install: run make uninstall first."; exit 1; fi; done
	@# One cleardf in DKMS at a time: drop what an earlier make dkms-install left.
	set -e; for v in $$($(DKMS) status -m $(DKMS_NAME) | \
		sed -n 's|^$(DKMS_NAME)[/,] *\([^,:]*\).*|\1|p' | sort -u); do \
		$(DKMS) remove -m $(DKMS_NAME) -v $$v --all; done
	$(MAKE) --no-print-directory dkms-source DESTDIR=
	$(DKMS) add -m $(DKMS_NAME) -v $(VERSION_STR)
	@# 77: dkms.conf's BUILD_EXCLUSIVE_KERNEL says this kernel is out of range.
	@set -e; for k in $(DKMS_KERNELS); do \
		echo "$(DKMS) build -m $(DKMS_NAME) -v $(VERSION_STR) -k $$k"; \
		rc=0; $(DKMS) build -m $(DKMS_NAME) -v $(VERSION_STR) -k $$k || rc=$$?; \
		if [ $$rc = 77 ]; then echo "skipped $$k: cleardf supports 5.10 to 7.x"; continue; fi; \
		[ $$rc = 0 ] || exit $$rc; \
		echo "$(DKMS) install -m $(DKMS_NAME) -v $(VERSION_STR) -k $$k"; \
		$(DKMS) install -m $(DKMS_NAME) -v $(VERSION_STR) -k $$k; done
	$(DKMS) status -m $(DKMS_NAME)

dkms-uninstall:
	@[ "$$(id -u)" = 0 ] || { echo "make $@: run as root"; exit 1; }
	@$(dkms_refuse_if_packaged)
	set -e; if command -v $(DKMS) >/dev/null; then \
		for v in $$($(DKMS) status -m $(DKMS_NAME) | \
			sed -n 's|^$(DKMS_NAME)[/,] *\([^,:]*\).*|\1|p' | sort -u); do \
			$(DKMS) remove -m $(DKMS_NAME) -v $$v --all; done; fi
	set -e; for d in /usr/src/$(DKMS_NAME)-*; do \
		[ -d "$$d" ] || continue; \
		if dpkg-query -S "$$d" >/dev/null 2>&1; then \
			echo "keeping $$d: it belongs to a package"; continue; fi; \
		echo "rm -rf $$d"; rm -rf "$$d"; done

check-debs:
	tests/packaging/test-debs.sh
