/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every difference between the kernels cleardf supports lives here.
 *
 * Decisions come from what the target kernel's headers contain: Kbuild
 * compiles each kernel/probes/NAME.c against them and writes
 * "#define CLEARDF_HAVE_NAME" into compat-probed.h for each one that builds,
 * so distribution backports are handled like the release that brought the
 * feature. Version numbers only bound the supported range (Kbuild).
 *
 * Today no branch is needed from 5.10 to 7.x: every interface the target
 * uses (skb_ensure_writable(), __ip_select_ident(), xt_net(),
 * SKB_GSO_FRAGLIST, skb_unclone()) has been there, unchanged, since 5.6.
 *
 * One decision looks version-dependent and is not: the target clears
 * SKB_GSO_TCP_FIXEDID whenever it is set.
 *  - Since "net: gso: Add GSO option to specify IP ID of inner header"
 *    (SKB_GSO_TCP_FIXEDID_INNER, late 2025; 7.2 in the matrix), the flag
 *    always pins the outermost header, the one the target just cleared DF
 *    on: it must go, or inet_gso_segment() refuses the packet.
 *  - Before (5.10, 6.1, 6.12), on an encapsulated skb, inet_gso_segment()
 *    reads the flag only at the inner level ("!skb->encapsulation ||
 *    encap") and the outer header always gets incrementing IDs. Clearing
 *    it there gives the inner segments incrementing IDs as well, which is
 *    what GSO does for every stream GRO did not merge with fixed IDs; their
 *    DF is untouched, so nothing is refused.
 * So clearing it is right on every kernel, and needs no probe.
 */
#ifndef _CLEARDF_COMPAT_H
#define _CLEARDF_COMPAT_H

#include "compat-probed.h"

#endif /* _CLEARDF_COMPAT_H */
