#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install, on a Debian host, what building cleardf and booting its test
# guests need. Only missing packages are installed; nothing is installed
# into, or loaded by, the running kernel.
set -euo pipefail

pkgs=(
	gcc make pkg-config libxtables-dev	# module and extension
	linux-headers-amd64			# headers for a plain `make`
	dwarves					# pahole: BTF for 6.12+ modules
	qemu-system-x86				# the test guests (TCG)
	mmdebstrap				# per-release build and guest roots
	cpio zstd xz-utils kmod		# initramfs, kernel packages, depmod -b
	debian-archive-keyring			# mmdebstrap verifies the suites
	git perl				# tree copy, checkpatch
	clang linux-libc-dev			# tests/tools/bpf (BPF bytecode; uapi linux/bpf.h)
	linux-source-6.1 flex bison bc		# the debug row's kernel (debug-kernel.sh)
	libelf-dev libssl-dev
	dpkg-dev debhelper dh-dkms e2fsprogs	# the router test: its .debs, mke2fs -d, debugfs
	# the other architectures' rows (arm64, armhf, mips64el, s390x):
	# cross compilers, their guests, mmdebstrap --arch through qemu-user
	gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
	gcc-mips64el-linux-gnuabi64 gcc-s390x-linux-gnu
	libc6-dev-arm64-cross libc6-dev-armhf-cross
	libc6-dev-mips64el-cross libc6-dev-s390x-cross
	qemu-system-arm qemu-system-mips qemu-system-misc
	qemu-user-static binfmt-support arch-test
)
[ "${CLEARDF_DEPS_EXTRA:-}" ] && read -r -a extra <<<"$CLEARDF_DEPS_EXTRA" && pkgs+=("${extra[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]}" >&2
	echo "run 'make deps' as root, or: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
# The archive may be a frozen snapshot whose Release files have expired.
apt_opts=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0)
apt-get "${apt_opts[@]}" update -qq
DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
	--no-install-recommends "${missing[@]}"
