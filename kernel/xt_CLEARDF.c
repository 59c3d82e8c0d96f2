// SPDX-License-Identifier: GPL-2.0-only
/*
 * CLEARDF: clear the IPv4 Don't-Fragment bit.
 *
 * A bridge or tunnel that must carry packets bigger than its path MTU has
 * no one to send "fragmentation needed" to, and an ICMP black hole has no
 * one who hears it: DF packets then vanish. Clearing DF lets ip_fragment()
 * split them instead. A fragmentable packet needs an ID that does not repeat
 * soon towards the same destination (RFC 6864), so it gets a fresh one from
 * the kernel's own generator, the one ip_select_ident() uses.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CLEARDF.h>
#include <net/checksum.h>
#include <net/ip.h>

#include "compat.h"

/*
 * IDs to reserve for a packet: GSO gives the segments consecutive IDs
 * starting at the one in the header. gso_segs can still be 0 on an skb
 * from an untrusted source; reserve an upper bound then.
 */
static int cleardf_id_count(const struct sk_buff *skb)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);

	if (!skb_is_gso(skb))
		return 1;
	if (shinfo->gso_segs)
		return shinfo->gso_segs;
	return DIV_ROUND_UP(skb->len, shinfo->gso_size);
}

static unsigned int
cleardf_tg(struct sk_buff *skb, const struct xt_action_param *par)
{
	const struct xt_cleardf_tginfo *info = par->targinfo;
	const struct iphdr *oiph = ip_hdr(skb);
	struct iphdr *iph;
	__be16 old_frag, old_id;
	unsigned int fixedid;

	/*
	 * Nothing to clear; or a fragment, whose ID ties it to the other
	 * fragments of its datagram and must not change.
	 */
	if (!(oiph->frag_off & htons(IP_DF)) || ip_is_fragment(oiph))
		return XT_CONTINUE;

	if (skb_ensure_writable(skb, sizeof(struct iphdr)))
		return NF_DROP;
	iph = ip_hdr(skb);

	old_frag = iph->frag_off;
	iph->frag_off &= ~htons(IP_DF);
	csum_replace2(&iph->check, old_frag, iph->frag_off);

	if (!(info->flags & XT_CLEARDF_KEEP_ID)) {
		old_id = iph->id;
		__ip_select_ident(xt_net(par), iph, cleardf_id_count(skb));
		csum_replace2(&iph->check, old_id, iph->id);
	}

	/* segments of a GSO packet must not all repeat one ID now */
	if (skb_is_gso(skb)) {
		fixedid = cleardf_gso_fixedid_outer(skb);
		skb_shinfo(skb)->gso_type &= ~fixedid;
	}

	return XT_CONTINUE;
}

#define CLEARDF_HOOKS	((1 << NF_INET_PRE_ROUTING) | \
			 (1 << NF_INET_FORWARD) | \
			 (1 << NF_INET_LOCAL_OUT) | \
			 (1 << NF_INET_POST_ROUTING))

/*
 * Table and hooks are checked here rather than through .table and .hooks
 * so that the refusal can say what to do instead.
 */
static int cleardf_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_cleardf_tginfo *info = par->targinfo;

	if (info->flags & ~XT_CLEARDF_MASK) {
		pr_info_ratelimited("unknown flags 0x%x: the iptables extension is newer than this module, update the module\n",
				    info->flags & ~XT_CLEARDF_MASK);
		return -EINVAL;
	}
	if (strcmp(par->table, "mangle") != 0) {
		pr_info_ratelimited("refused in table %s: CLEARDF rewrites packets, use it in the mangle table (-t mangle)\n",
				    par->table);
		return -EINVAL;
	}
	if (par->hook_mask & ~CLEARDF_HOOKS) {
		pr_info_ratelimited("refused in INPUT: packets for this host are not fragmented again; for forwarded packets too big for the egress link use PREROUTING (ip_forward() drops them before FORWARD), for locally sent ones OUTPUT\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * The IPv6 entry exists only to refuse: without it ip6tables cannot tell
 * the user why (iptables before 1.8.8 asks the kernel whether a target
 * exists before it loads the extension that explains).
 */
static int cleardf_tg6_check(const struct xt_tgchk_param *par)
{
	pr_info_ratelimited("refused for IPv6: IPv6 has no DF bit (routers never fragment IPv6), use iptables, not ip6tables\n");
	return -EINVAL;
}

static unsigned int
cleardf_tg6(struct sk_buff *skb, const struct xt_action_param *par)
{
	return XT_CONTINUE;	/* unreachable: cleardf_tg6_check() refuses */
}

static struct xt_target cleardf_tg_reg[] __read_mostly = {
	{
		.name		= "CLEARDF",
		.revision	= 0,
		.family		= NFPROTO_IPV4,
		.target		= cleardf_tg,
		.targetsize	= sizeof(struct xt_cleardf_tginfo),
		.checkentry	= cleardf_tg_check,
		.me		= THIS_MODULE,
	},
	{
		.name		= "CLEARDF",
		.revision	= 0,
		.family		= NFPROTO_IPV6,
		.target		= cleardf_tg6,
		.targetsize	= sizeof(struct xt_cleardf_tginfo),
		.checkentry	= cleardf_tg6_check,
		.me		= THIS_MODULE,
	},
};

static int __init cleardf_tg_init(void)
{
	return xt_register_targets(cleardf_tg_reg, ARRAY_SIZE(cleardf_tg_reg));
}

static void __exit cleardf_tg_exit(void)
{
	xt_unregister_targets(cleardf_tg_reg, ARRAY_SIZE(cleardf_tg_reg));
}

module_init(cleardf_tg_init);
module_exit(cleardf_tg_exit);

MODULE_AUTHOR("cleardf developers");
MODULE_DESCRIPTION("Xtables: clear the IPv4 DF bit, with a fresh IP ID");
MODULE_LICENSE("GPL");
MODULE_VERSION(CLEARDF_VERSION);
MODULE_ALIAS("ipt_CLEARDF");
MODULE_ALIAS("ip6t_CLEARDF");
