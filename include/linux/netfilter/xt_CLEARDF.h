/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * CLEARDF target: clear the IPv4 Don't-Fragment bit so that a packet too
 * big for a later link is fragmented instead of dropped.
 *
 * Shared by the kernel module (kernel/xt_CLEARDF.c) and the iptables
 * extension (userspace-ext/libxt_CLEARDF.c); the layout is ABI.
 */
#ifndef _XT_CLEARDF_H
#define _XT_CLEARDF_H

#include <linux/types.h>

enum {
	/* leave the IP ID as it is instead of drawing a fresh one */
	XT_CLEARDF_KEEP_ID	= 1 << 0,
};

/* every flag this revision knows; the kernel refuses any other bit */
#define XT_CLEARDF_MASK		(XT_CLEARDF_KEEP_ID)

struct xt_cleardf_tginfo {
	__u8	flags;
};

#endif /* _XT_CLEARDF_H */
