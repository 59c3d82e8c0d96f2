// SPDX-License-Identifier: GPL-2.0-only
/*
 * libxt_CLEARDF: the iptables side of the CLEARDF target.
 *
 * CLEARDF clears the IPv4 Don't Fragment bit, gives the packet a fresh IP ID
 * from the kernel's generator (unless --keep-id) and fixes the header
 * checksum, so that a router fragments the packet instead of dropping it.
 * The kernel module (xt_CLEARDF.ko) does the work and checks table and chain;
 * this extension parses, prints, saves and translates the rule.
 *
 * IPv6 has no DF bit. An IPv6 entry is registered only so that ip6tables
 * says so, instead of "Couldn't load target", which points at a missing
 * library rather than at the real reason.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <xtables.h>
#include <linux/netfilter/xt_CLEARDF.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x)	(sizeof(x) / sizeof((x)[0]))
#endif
#define __maybe_unused	__attribute__((unused))

enum {
	O_KEEP_ID = 0,
};

/*
 * No XTOPT_MULTI: libxtables refuses a repeated --keep-id ("can only be
 * used once"). No XTOPT_INVERT: "! --keep-id" is refused too.
 */
static const struct xt_option_entry cleardf_tg_opts[] = {
	{.name = "keep-id", .id = O_KEEP_ID, .type = XTTYPE_NONE},
	XTOPT_TABLEEND,
};

static void cleardf_tg_help(void)
{
	printf(
"CLEARDF target options (table mangle; PREROUTING, FORWARD, OUTPUT, POSTROUTING):\n"
"  (none)      Clear the Don't Fragment bit, draw a fresh IP ID from the\n"
"              kernel's generator, update the header checksum.\n"
"  --keep-id   Clear the Don't Fragment bit, keep the IP ID.\n"
"Where to put the rule: see iptables-cleardf(8).\n");
}

static void cleardf_tg_parse(struct xt_option_call *cb)
{
	struct xt_cleardf_tginfo *info = cb->data;

	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_KEEP_ID:
		info->flags |= XT_CLEARDF_KEEP_ID;
		break;
	}
}

static void cleardf_tg_print(const void *ip __maybe_unused,
			     const struct xt_entry_target *target,
			     int numeric __maybe_unused)
{
	const struct xt_cleardf_tginfo *info = (const void *)target->data;

	if (info->flags & XT_CLEARDF_KEEP_ID)
		printf(" keep-id");
}

static void cleardf_tg_save(const void *ip __maybe_unused,
			    const struct xt_entry_target *target)
{
	const struct xt_cleardf_tginfo *info = (const void *)target->data;

	if (info->flags & XT_CLEARDF_KEEP_ID)
		printf(" --keep-id");
}

/*
 * libxtables calls .xlate for iptables-translate and iptables-restore-translate,
 * and also for nft(8) when it lists a ruleset that iptables-nft wrote.
 * There the rule must stay a CLEARDF rule: nft statements do not clear the
 * GSO fixed-ID flag, so a listing saved with nft and loaded again would
 * silently turn the rule into one that loses merged TCP packets. Nor may it
 * vanish: nft 0.9.8 prints nothing for a target that does not translate.
 * So nft gets the target's name, which it cannot load back, and says so.
 */
static bool cleardf_translating(void)
{
	return xt_params && xt_params->program_name &&
	       strstr(xt_params->program_name, "translate");
}

static int cleardf_tg_xlate(struct xt_xlate *xl,
			    const struct xt_xlate_tg_params *params)
{
	const struct xt_cleardf_tginfo *info = (const void *)params->target->data;
	static bool said;

	if (!cleardf_translating()) {
		xt_xlate_add(xl, "xt target CLEARDF%s",
			     info->flags & XT_CLEARDF_KEEP_ID ? " --keep-id" : "");
		return 1;
	}
	if (info->flags != XT_CLEARDF_KEEP_ID) {
		/* printed as a comment ("nft # ..."): say why, once */
		if (!said)
			fprintf(stderr,
				"CLEARDF: not translated: nft has no statement for the kernel's IP ID generator (only CLEARDF --keep-id has an nft equivalent)\n");
		said = true;
		return 0;
	}
	/*
	 * Not a fragment (MF clear, offset 0): clear DF (0x4000) and keep the
	 * reserved bit. nft fixes the header checksum itself. The one thing
	 * it does not do is the GSO fix-up (SKB_GSO_TCP_FIXEDID); the man
	 * page says so.
	 */
	xt_xlate_add(xl, "ip frag-off & 0x3fff == 0 ip frag-off set ip frag-off & 0xbfff");
	return 1;
}

#define CLEARDF_NO_IPV6 \
	"CLEARDF: IPv6 has no DF bit, the target is IPv4 only (IPv6 routers never fragment; only the sender does)"

static void cleardf_tg6_help(void)
{
	printf(CLEARDF_NO_IPV6 ".\nUse it with iptables, not ip6tables.\n");
}

static void cleardf_tg6_parse(struct xt_option_call *cb __maybe_unused)
{
	xtables_error(PARAMETER_PROBLEM, CLEARDF_NO_IPV6);
}

static void cleardf_tg6_check(struct xt_fcheck_call *cb __maybe_unused)
{
	xtables_error(PARAMETER_PROBLEM, CLEARDF_NO_IPV6);
}

static struct xtables_target cleardf_tg_reg[] = {
	{
		.version	= XTABLES_VERSION,
		.name		= "CLEARDF",
		.revision	= 0,
		.family		= NFPROTO_IPV4,
		.size		= XT_ALIGN(sizeof(struct xt_cleardf_tginfo)),
		.userspacesize	= sizeof(struct xt_cleardf_tginfo),
		.help		= cleardf_tg_help,
		.print		= cleardf_tg_print,
		.save		= cleardf_tg_save,
		.x6_parse	= cleardf_tg_parse,
		.x6_options	= cleardf_tg_opts,
		.xlate		= cleardf_tg_xlate,
	},
	{
		.version	= XTABLES_VERSION,
		.name		= "CLEARDF",
		.revision	= 0,
		.family		= NFPROTO_IPV6,
		.size		= XT_ALIGN(sizeof(struct xt_cleardf_tginfo)),
		.userspacesize	= sizeof(struct xt_cleardf_tginfo),
		.help		= cleardf_tg6_help,
		.x6_parse	= cleardf_tg6_parse,
		.x6_fcheck	= cleardf_tg6_check,
		.x6_options	= cleardf_tg_opts,
	},
};

static void __attribute__((constructor)) cleardf_tg_ldr(void)
{
	xtables_register_targets(cleardf_tg_reg, ARRAY_SIZE(cleardf_tg_reg));
}
