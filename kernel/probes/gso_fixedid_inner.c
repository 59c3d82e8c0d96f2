// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: does this kernel split SKB_GSO_TCP_FIXEDID into an outer and an
 * inner flag? Compiles only where SKB_GSO_TCP_FIXEDID_INNER exists.
 */
#include <linux/skbuff.h>

int cleardf_probe(void);
int cleardf_probe(void)
{
	return SKB_GSO_TCP_FIXEDID_INNER;
}
