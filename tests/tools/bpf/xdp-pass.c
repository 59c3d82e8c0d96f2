// SPDX-License-Identifier: GPL-2.0-only
/*
 * xdp-pass: an XDP program that passes every packet on.
 *
 * Before Linux 5.13 a veth runs NAPI, and so GRO, only while an XDP program
 * is attached to it in driver mode. tests/t/41-gso.sh attaches this one on
 * such kernels to make GRO merge fixed-ID segments at a router:
 *   ip link set dev DEV xdpdrv obj xdp-pass.o sec xdp
 * Built for the BPF target by clang on the host (BPF objects do not depend
 * on the guest's libc or compiler); needs no headers.
 */

#define XDP_PASS 2

__attribute__((section("xdp"), used))
int xdp_pass(void *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/* iproute2 reads the program's license from this section. */
__attribute__((section("license"), used))
char xdp_pass_license[] = "GPL";
