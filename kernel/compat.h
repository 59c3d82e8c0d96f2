/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every difference between the kernels cleardf supports lives here.
 *
 * Decisions come from what the target kernel's headers contain: Kbuild
 * compiles each kernel/probes/NAME.c against them and writes
 * "#define CLEARDF_HAVE_NAME" into compat-probed.h for each one that builds,
 * so distribution backports are handled like the release that brought the
 * feature. Version numbers only bound the supported range.
 */
#ifndef _CLEARDF_COMPAT_H
#define _CLEARDF_COMPAT_H

#include <linux/skbuff.h>

#include "compat-probed.h"

/* The supported range (5.10 to 7.x) is enforced by Kbuild, with a message. */

/*
 * Which gso_type flag pins the IP ID of the header at skb_network_header()
 * (the outermost one), so that GSO would give every segment the same ID.
 * A fixed ID is only valid with DF set: once DF is cleared the flag must go,
 * or inet_gso_segment() drops the packet (where it checks DF) or emits
 * segments that all share one ID (where that check was removed).
 *
 * The kernels of late 2025 that define SKB_GSO_TCP_FIXEDID_INNER made
 * SKB_GSO_TCP_FIXEDID always mean the outermost header. Before, it meant the
 * innermost one: the outer header of an encapsulated skb always got
 * incrementing IDs. (The matrix: absent from 6.12, present in 7.2; the
 * probe, not the version, decides, so a backport is handled too.)
 */
static inline unsigned int cleardf_gso_fixedid_outer(const struct sk_buff *skb)
{
#ifdef CLEARDF_HAVE_GSO_FIXEDID_INNER
	return SKB_GSO_TCP_FIXEDID;
#else
	return skb->encapsulation ? 0 : SKB_GSO_TCP_FIXEDID;
#endif
}

#endif /* _CLEARDF_COMPAT_H */
