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
#   make bench            performance and ID-quality measurements
#
# The kernel side is described by Kbuild; this file only drives it.

VERSION_STR	:= $(shell cat VERSION)

# Headers of the running kernel, else the newest Debian headers installed
# (a build host often runs another kernel than the router it builds for).
KDIR		?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
			$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))
KRELEASE	:= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
PKG_CONFIG	?= pkg-config
XTLIBDIR	?= $(shell $(PKG_CONFIG) --variable=xtlibdir xtables 2>/dev/null)
MANDIR		?= /usr/share/man
KERNEL		?= 6.1
W		?= 1

CC		?= cc
CFLAGS		?= -O2 -g -Wall -Wextra
XT_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags xtables 2>/dev/null)

EXT		:= userspace-ext/libxt_CLEARDF.so

.PHONY: all module extension install install-module install-extension \
	uninstall clean deps check check-matrix demo bench checkpatch

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
		-o $@ $< $(LDFLAGS)

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
	rm -f $(DESTDIR)/lib/modules/*/updates/kernel/xt_CLEARDF.ko \
	      $(DESTDIR)/lib/modules/*/updates/xt_CLEARDF.ko

clean:
	-test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f $(EXT)
	rm -rf build

deps:
	tests/harness/host-deps.sh

check: deps
	tests/harness/check.sh $(KERNEL)

check-matrix: deps
	tests/harness/matrix.sh

demo: deps
	tests/harness/demo.sh $(KERNEL)

bench: deps
	bench/run.sh $(KERNEL)

# checkpatch.pl comes from Debian's linux-source package (make deps).
checkpatch:
	tests/harness/checkpatch.sh kernel/xt_CLEARDF.c kernel/compat.h kernel/probes/*.c \
		include/linux/netfilter/xt_CLEARDF.h
