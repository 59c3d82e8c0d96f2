// SPDX-License-Identifier: GPL-2.0-only
/*
 * cleardf_bench: times xtables target functions on a prepared skb, the way
 * the kernel's own test modules time their work (lib/test_bpf.c): each
 * target's ->target() is called millions of times on one packet and the
 * time per call is printed. Test-only: loaded in the benchmark's QEMU
 * guest, never installed.
 *
 *   insmod cleardf_bench.ko [iters=N] [rounds=N] [batch=N]
 *
 * Cases, timed in rotating order round after round so that drift hits all
 * of them alike:
 *   reset               the loop alone: before every call the IPv4 header's
 *                       TOS, DF, ID and checksum are put back as they were,
 *                       so that every call finds DF set; nothing is called
 *   null                an empty target of this module, called like the
 *                       others: the price of the indirect call itself
 *   DSCP --set-dscp 0   xt_DSCP on a packet whose DSCP is 0 already: it
 *                       reads the field and returns (the rule of the
 *                       packet-rate benchmark)
 *   DSCP --set-dscp 46  xt_DSCP rewriting the DS field and the checksum
 *   CLEARDF --keep-id   clears DF, fixes the checksum
 *   CLEARDF             also draws an ID from __ip_select_ident()
 *   __ip_select_ident() an empty target of this module that only calls
 *                       __ip_select_ident(net, iph, 1), as CLEARDF does:
 *                       minus "null", the generator's own cost
 * The targets are found the way iptables finds them: by name and family
 * with xt_request_find_target() (which loads their module), and their info
 * is checked with xt_check_target() for a mangle OUTPUT rule.
 *
 * The calls of a case in a round are timed in batches (batch= calls each);
 * the round's time per call is that of the median batch, so that a batch
 * stretched by an interruption (an interrupt, or on a virtual machine the
 * host running something else) does not count. For each case it prints the
 * median over rounds of (time per call of the case - time per call of
 * "reset"), with the lowest and highest, e.g.
 *   cleardf_bench: case="CLEARDF" ns_per_call=41.52 min=40.98 max=43.10 ...
 * A case whose target is missing or misbehaves (checked once on the packet
 * before timing) prints an error and makes the module refuse to load.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/ktime.h>
#include <linux/sort.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_DSCP.h>
#include <linux/netfilter/xt_CLEARDF.h>
#include <net/ip.h>
#include <net/net_namespace.h>

static unsigned long iters = 2000000;
module_param(iters, ulong, 0444);
MODULE_PARM_DESC(iters, "calls per case and round (default 2000000)");

static unsigned int rounds = 11;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds, each timing every case once (default 11, at most 64)");

static unsigned int batch = 10000;
module_param(batch, uint, 0444);
MODULE_PARM_DESC(batch, "calls per timed batch (default 10000)");

#define MAX_ROUNDS	64
#define MAX_BATCHES	4096
#define PAYLOAD		64

enum expect { E_NONE, E_SAME, E_TOS, E_CLEAR, E_CLEAR_ID, E_ID };

struct bench_case {
	const char *label;
	const char *name;	/* xtables target, NULL: reset or null */
	bool call;		/* false: the loop alone */
	u8 info[8];		/* the rule's target info */
	enum expect expect;
	struct xt_target *tg;
	bool tg_ref;		/* holds a reference on tg->me */
	u64 ns[MAX_ROUNDS];	/* per round: median batch, ns * 1000 per call */
};

static unsigned int null_tg(struct sk_buff *skb, const struct xt_action_param *par)
{
	return XT_CONTINUE;
}

static struct xt_target null_target = {
	.name		= "null",
	.family		= NFPROTO_IPV4,
	.target		= null_tg,
};

/* the generator alone: a new ID, no checksum update, nothing else */
static unsigned int ident_tg(struct sk_buff *skb, const struct xt_action_param *par)
{
	__ip_select_ident(xt_net(par), ip_hdr(skb), 1);
	return XT_CONTINUE;
}

static struct xt_target ident_target = {
	.name		= "ident",
	.family		= NFPROTO_IPV4,
	.target		= ident_tg,
};

static struct bench_case cases[] = {
	{ .label = "reset", .call = false, .expect = E_NONE },
	{ .label = "null", .call = true, .expect = E_SAME },
	{ .label = "DSCP --set-dscp 0", .name = "DSCP", .call = true,
	  .info = { 0 }, .expect = E_SAME },
	{ .label = "DSCP --set-dscp 46", .name = "DSCP", .call = true,
	  .info = { 46 }, .expect = E_TOS },
	{ .label = "CLEARDF --keep-id", .name = "CLEARDF", .call = true,
	  .info = { XT_CLEARDF_KEEP_ID }, .expect = E_CLEAR },
	{ .label = "CLEARDF", .name = "CLEARDF", .call = true,
	  .info = { 0 }, .expect = E_CLEAR_ID },
	{ .label = "__ip_select_ident()", .call = true, .expect = E_ID },
};

/* the header every call starts from */
static struct iphdr tmpl;

static void reset_hdr(struct sk_buff *skb)
{
	struct iphdr *iph = ip_hdr(skb);

	iph->tos = tmpl.tos;
	iph->frag_off = tmpl.frag_off;
	iph->id = tmpl.id;
	iph->check = tmpl.check;
}

static noinline u64 time_batch(const struct bench_case *c, struct sk_buff *skb,
			       const struct xt_action_param *par, unsigned long n)
{
	unsigned int (*fn)(struct sk_buff *skb, const struct xt_action_param *par);
	unsigned long i;
	u64 t0, t1;

	/* netfilter hooks run under RCU, often with BHs off */
	local_bh_disable();
	rcu_read_lock();
	if (!c->call) {
		t0 = ktime_get_ns();
		for (i = 0; i < n; i++) {
			reset_hdr(skb);
			barrier();
		}
		t1 = ktime_get_ns();
	} else {
		fn = READ_ONCE(c->tg->target);
		t0 = ktime_get_ns();
		for (i = 0; i < n; i++) {
			reset_hdr(skb);
			fn(skb, par);
		}
		t1 = ktime_get_ns();
	}
	rcu_read_unlock();
	local_bh_enable();
	return t1 - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* picoseconds per call in the median batch of iters calls */
static u64 time_case(const struct bench_case *c, struct sk_buff *skb,
		     const struct xt_action_param *par, u64 *bt)
{
	unsigned long done = 0, n;
	unsigned int nb = 0;

	while (done < iters && nb < MAX_BATCHES) {
		n = min_t(unsigned long, batch, iters - done);
		bt[nb++] = div64_u64(time_batch(c, skb, par, n) * 1000, n);
		done += n;
		cond_resched();
	}
	sort(bt, nb, sizeof(bt[0]), cmp_u64, NULL);
	return bt[nb / 2];
}

/* One call on a fresh header: did the target do what it should? */
static int check_case(struct bench_case *c, struct sk_buff *skb,
		      const struct xt_action_param *par)
{
	const struct iphdr *iph;
	unsigned int verdict;
	bool ok;

	if (!c->call)
		return 0;
	reset_hdr(skb);
	verdict = c->tg->target(skb, par);
	iph = ip_hdr(skb);
	/* E_ID writes the ID only: the checksum is left stale */
	ok = verdict == XT_CONTINUE && (c->expect == E_ID || ip_fast_csum(iph, iph->ihl) == 0);
	switch (c->expect) {
	case E_SAME:
		ok = ok && iph->tos == tmpl.tos && iph->frag_off == tmpl.frag_off &&
		     iph->id == tmpl.id;
		break;
	case E_TOS:
		ok = ok && iph->tos == (c->info[0] << XT_DSCP_SHIFT) &&
		     iph->frag_off == tmpl.frag_off && iph->id == tmpl.id;
		break;
	case E_CLEAR:
		ok = ok && iph->tos == tmpl.tos && !(iph->frag_off & htons(IP_DF)) &&
		     iph->id == tmpl.id;
		break;
	case E_CLEAR_ID:
		/* a fresh ID: the next one from this destination's counter */
		ok = ok && iph->tos == tmpl.tos && !(iph->frag_off & htons(IP_DF));
		break;
	case E_ID:
		ok = ok && iph->tos == tmpl.tos && iph->frag_off == tmpl.frag_off;
		break;
	case E_NONE:
		break;
	}
	if (!ok) {
		pr_err("case=\"%s\" error: after one call verdict=%u tos=0x%02x frag_off=0x%04x id=%u csum %s\n",
		       c->label, verdict, iph->tos, ntohs(iph->frag_off), ntohs(iph->id),
		       ip_fast_csum(iph, iph->ihl) ? "bad" : "ok");
		return -EINVAL;
	}
	return 0;
}

static struct sk_buff *make_skb(void)
{
	struct sk_buff *skb;
	struct iphdr *iph;
	struct udphdr *uh;

	skb = alloc_skb(LL_MAX_HEADER + sizeof(*iph) + sizeof(*uh) + PAYLOAD, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb->protocol = htons(ETH_P_IP);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph));
	skb_set_transport_header(skb, sizeof(*iph));
	uh = skb_put_zero(skb, sizeof(*uh));
	skb_put_zero(skb, PAYLOAD);

	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = htons(sizeof(*iph) + sizeof(*uh) + PAYLOAD);
	iph->id = htons(0x1234);
	iph->frag_off = htons(IP_DF);
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->saddr = htonl(0xc0000201);	/* 192.0.2.1 */
	iph->daddr = htonl(0xc6336402);	/* 198.51.100.2 */
	ip_send_check(iph);
	uh->source = htons(9000);
	uh->dest = htons(9000);
	uh->len = htons(sizeof(*uh) + PAYLOAD);
	tmpl = *iph;
	return skb;
}

static int find_target(struct bench_case *c, struct net *net)
{
	struct xt_tgchk_param chk = {
		.net		= net,
		.table		= "mangle",
		.hook_mask	= 1 << NF_INET_LOCAL_OUT,
		.family		= NFPROTO_IPV4,
	};
	struct xt_target *tg;
	int err;

	if (!c->call)
		return 0;
	if (!c->name) {
		c->tg = c->expect == E_ID ? &ident_target : &null_target;
		return 0;
	}
	tg = xt_request_find_target(NFPROTO_IPV4, c->name, 0);
	if (IS_ERR(tg)) {
		pr_err("case=\"%s\" error: target %s not found (%ld): is its module there?\n",
		       c->label, c->name, PTR_ERR(tg));
		return PTR_ERR(tg);
	}
	c->tg = tg;
	c->tg_ref = true;
	if (tg->targetsize > sizeof(c->info)) {
		pr_err("case=\"%s\" error: target info of %u bytes, expected at most %zu\n",
		       c->label, tg->targetsize, sizeof(c->info));
		return -EINVAL;
	}
	chk.target = tg;
	chk.targinfo = c->info;
	err = xt_check_target(&chk, XT_ALIGN(tg->targetsize), IPPROTO_UDP, false);
	if (err) {
		pr_err("case=\"%s\" error: xt_check_target refused the rule (%d)\n", c->label, err);
		return err;
	}
	return 0;
}

static void put_targets(struct net *net)
{
	struct xt_tgdtor_param dtor = { .net = net, .family = NFPROTO_IPV4 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bench_case *c = &cases[i];

		if (!c->tg_ref)
			continue;
		if (c->tg->destroy) {
			dtor.target = c->tg;
			dtor.targinfo = c->info;
			c->tg->destroy(&dtor);
		}
		module_put(c->tg->me);
		c->tg_ref = false;
		c->tg = NULL;
	}
}

static int cmp_s64(const void *a, const void *b)
{
	s64 x = *(const s64 *)a, y = *(const s64 *)b;

	return x < y ? -1 : x > y;
}

/* ns per call from picoseconds, as text with two decimals */
static const char *per_call(char *buf, size_t len, s64 ps)
{
	s64 c = div64_s64(ps, 10);
	u64 a = c < 0 ? -c : c;

	snprintf(buf, len, "%s%llu.%02llu", c < 0 ? "-" : "", a / 100, a % 100);
	return buf;
}

static void report(void)
{
	static s64 net[MAX_ROUNDS], gross[MAX_ROUNDS];
	char b1[24], b2[24], b3[24], b4[24];
	unsigned int i, r;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bench_case *c = &cases[i];

		for (r = 0; r < rounds; r++) {
			net[r] = (s64)c->ns[r] - (s64)cases[0].ns[r];
			gross[r] = (s64)c->ns[r];
		}
		sort(net, rounds, sizeof(net[0]), cmp_s64, NULL);
		sort(gross, rounds, sizeof(gross[0]), cmp_s64, NULL);
		if (!c->call) {
			pr_info("case=\"%s\" loop_ns=%s rounds=%u iters=%lu\n", c->label,
				per_call(b1, sizeof(b1), gross[rounds / 2]), rounds, iters);
			continue;
		}
		pr_info("case=\"%s\" ns_per_call=%s min=%s max=%s loop_ns=%s rounds=%u iters=%lu batch=%u\n",
			c->label, per_call(b1, sizeof(b1), net[rounds / 2]),
			per_call(b2, sizeof(b2), net[0]), per_call(b3, sizeof(b3), net[rounds - 1]),
			per_call(b4, sizeof(b4), gross[rounds / 2]), rounds, iters, batch);
	}
}

static int __init cleardf_bench_init(void)
{
	struct net *net = &init_net;
	struct nf_hook_state state = {
		.hook	= NF_INET_LOCAL_OUT,
		.pf	= NFPROTO_IPV4,
		.net	= net,
	};
	struct xt_action_param par = {
		.state	= &state,
		.thoff	= sizeof(struct iphdr),
	};
	struct sk_buff *skb;
	unsigned int i, r, n = ARRAY_SIZE(cases);
	u64 *bt;
	int err = 0;

	if (!rounds || rounds > MAX_ROUNDS || !iters || !batch ||
	    DIV_ROUND_UP(iters, batch) > MAX_BATCHES) {
		pr_err("error: need 1 <= rounds <= %d, iters >= 1, 1 <= iters / batch <= %d\n",
		       MAX_ROUNDS, MAX_BATCHES);
		return -EINVAL;
	}
	bt = kmalloc_array(MAX_BATCHES, sizeof(*bt), GFP_KERNEL);
	if (!bt)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = find_target(&cases[i], net);
		if (err)
			goto out_put;
	}
	skb = make_skb();
	if (!skb) {
		err = -ENOMEM;
		goto out_put;
	}
	for (i = 0; i < n; i++) {
		par.target = cases[i].tg;
		par.targinfo = cases[i].info;
		if (check_case(&cases[i], skb, &par))
			err = -EINVAL;
	}
	if (err)
		goto out_free;

	pr_info("start: %u cases, %u rounds of %lu calls in batches of %u\n",
		n, rounds, iters, batch);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			struct bench_case *c = &cases[(i + r) % n];

			par.target = c->tg;
			par.targinfo = c->info;
			c->ns[r] = time_case(c, skb, &par, bt);
		}
	}
	report();
	pr_info("done\n");
out_free:
	kfree_skb(skb);
out_put:
	put_targets(net);
	kfree(bt);
	return err;
}

static void __exit cleardf_bench_exit(void)
{
}

module_init(cleardf_bench_init);
module_exit(cleardf_bench_exit);

MODULE_AUTHOR("cleardf developers");
MODULE_DESCRIPTION("Test only: time xtables target functions (CLEARDF, DSCP) per call");
MODULE_LICENSE("GPL");
