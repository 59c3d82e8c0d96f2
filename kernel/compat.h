/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every difference between the kernels cleardf supports lives here, one
 * branch per upstream change, each naming the change (commit subject) and
 * the release that brought it.
 *
 * Decisions come from what the target kernel's headers contain: Kbuild
 * compiles each kernel/probes/NAME.c against them and writes
 * "#define CLEARDF_HAVE_NAME 1" into compat-probed.h for each one that
 * builds, so distribution backports are handled like the release that
 * brought the feature. Version numbers only bound the supported range
 * (Kbuild).
 *
 * No branch is needed from 5.10 to 7.x: every interface the target uses
 * (skb_ensure_writable(), __ip_select_ident(), xt_net(), SKB_GSO_FRAGLIST,
 * skb_unclone()) is there, unchanged, since 5.6.
 *
 * One upstream change looks like it needs a branch and does not:
 * "net: gso: Add GSO option to specify IP ID of inner header" (after
 * 6.12: of the matrix, 7.2's headers have it, both 6.12s do not) added
 * SKB_GSO_TCP_FIXEDID_INNER; since then SKB_GSO_TCP_FIXEDID always
 * pins the outermost header, the one the target clears DF on, and
 * inet_gso_segment() refuses it there once DF is clear. Before it, on an
 * encapsulated skb the flag applied to the inner header only, whose DF the
 * target does not touch; clearing it there gives the inner segments
 * incrementing IDs, as GSO gives every stream GRO did not merge with fixed
 * IDs. So the target clears the flag on every kernel, without a probe.
 */
#ifndef _CLEARDF_COMPAT_H
#define _CLEARDF_COMPAT_H

#include "compat-probed.h"

#endif /* _CLEARDF_COMPAT_H */
