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

/* Nothing to clear; or a fragment, whose ID ties it to the other fragments
 * of its datagram and must not change.
 */
static bool cleardf_applies(const struct iphdr *iph)
{
	return (iph->frag_off & htons(IP_DF)) && !ip_is_fragment(iph);
}

/* IDs to reserve for a packet: GSO gives the segments consecutive IDs
 * starting at the one in the header, and so does this target to the
 * members of a fraglist skb. gso_segs can still be 0 on an skb from an
 * untrusted source; reserve an upper bound then.
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

/* Each member of a fraglist skb (SKB_GSO_FRAGLIST) is sent with its own IP
 * header, which GRO left in front of its data: skb_segment_list() does not
 * copy the head's. A clone (a packet socket's, say) may share that memory,
 * and once a cloned head has been copied, the other copy's frag_list holds
 * the very same member skbs: take a clone of our own of those first, as
 * skb_segment_list() does. The caller has made the head's shinfo private.
 */
static int cleardf_members_writable(struct sk_buff *skb)
{
	struct sk_buff **link = &skb_shinfo(skb)->frag_list;
	struct sk_buff *member, *own;

	while ((member = *link)) {
		if (skb_shared(member)) {
			own = skb_clone(member, GFP_ATOMIC);
			if (!own)
				return -ENOMEM;
			own->next = member->next;
			*link = own;
			consume_skb(member);
			member = own;
		}
		if (skb_network_offset(member) + (int)sizeof(struct iphdr) >
		    (int)skb_headlen(member))
			return -EINVAL;
		if (skb_unclone(member, GFP_ATOMIC))
			return -ENOMEM;
		link = &member->next;
	}
	return 0;
}

/* The header's ID is already the one it leaves with; old_id is the one before. */
static void cleardf_rewrite(struct iphdr *iph, __be16 old_id)
{
	__be16 old_frag = iph->frag_off;

	iph->frag_off &= ~htons(IP_DF);
	csum_replace2(&iph->check, old_frag, iph->frag_off);
	if (iph->id != old_id)
		csum_replace2(&iph->check, old_id, iph->id);
}

static unsigned int
cleardf_tg(struct sk_buff *skb, const struct xt_action_param *par)
{
	const struct xt_cleardf_tginfo *info = par->targinfo;
	bool new_id = !(info->flags & XT_CLEARDF_KEEP_ID);
	unsigned int gso_type = 0;
	struct sk_buff *member;
	struct iphdr *iph;
	__be16 old_id;
	u16 id;

	if (!cleardf_applies(ip_hdr(skb)))
		return XT_CONTINUE;

	/* Make everything this writes private first, so a failure changes nothing. */
	if (skb_ensure_writable(skb, sizeof(struct iphdr)))
		return NF_DROP;
	if (skb_is_gso(skb))
		gso_type = skb_shinfo(skb)->gso_type;
	/* gso_type and frag_list live in skb_shared_info, which clones share */
	if ((gso_type & (SKB_GSO_TCP_FIXEDID | SKB_GSO_FRAGLIST)) &&
	    skb_unclone(skb, GFP_ATOMIC))
		return NF_DROP;
	if ((gso_type & SKB_GSO_FRAGLIST) && cleardf_members_writable(skb))
		return NF_DROP;

	iph = ip_hdr(skb);
	old_id = iph->id;
	if (new_id)
		__ip_select_ident(xt_net(par), iph, cleardf_id_count(skb));
	cleardf_rewrite(iph, old_id);

	/* segments of a GSO packet must not all repeat one ID now */
	if (gso_type & SKB_GSO_TCP_FIXEDID)
		skb_shinfo(skb)->gso_type &= ~SKB_GSO_TCP_FIXEDID;

	if (gso_type & SKB_GSO_FRAGLIST) {
		/* the IDs reserved above: one per member, in order */
		id = ntohs(iph->id);
		skb_walk_frags(skb, member) {
			iph = ip_hdr(member);
			id++;
			if (!cleardf_applies(iph))
				continue;
			old_id = iph->id;
			if (new_id)
				iph->id = htons(id);
			cleardf_rewrite(iph, old_id);
		}
	}

	return XT_CONTINUE;
}

/* A packet for this host is not sent on, so INPUT is not offered. Declared
 * here rather than checked in cleardf_tg_check() because nft_compat
 * enforces .table and .hooks on chains reached through a jump, whose
 * checkentry sees no hook at all.
 */
#define CLEARDF_HOOKS	((1 << NF_INET_PRE_ROUTING) | \
			 (1 << NF_INET_FORWARD) | \
			 (1 << NF_INET_LOCAL_OUT) | \
			 (1 << NF_INET_POST_ROUTING))

static int cleardf_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_cleardf_tginfo *info = par->targinfo;

	if (info->flags & ~XT_CLEARDF_MASK) {
		pr_info_ratelimited("unknown flags 0x%x: update the module to match the iptables extension\n",
				    info->flags & ~XT_CLEARDF_MASK);
		return -EINVAL;
	}
	return 0;
}

/* The IPv6 entry exists only to refuse: without it ip6tables cannot tell
 * the user why (iptables before 1.8.8 asks the kernel whether a target
 * exists before it loads the extension that explains).
 */
static int cleardf_tg6_check(const struct xt_tgchk_param *par)
{
	pr_info_ratelimited("refused for IPv6: IPv6 has no DF bit, use iptables, not ip6tables\n");
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
		.table		= "mangle",
		.hooks		= CLEARDF_HOOKS,
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
