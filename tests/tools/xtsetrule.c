// SPDX-License-Identifier: GPL-2.0-only
/*
 * xtsetrule: hand the kernel a whole x_tables ruleset with one rule whose
 * target entry we write ourselves, through a raw setsockopt
 * (IPT_SO_SET_REPLACE or IP6T_SO_SET_REPLACE), so that the kernel's own
 * checks run on what iptables' extension would never send: unknown flag
 * bits, IPv6, a hook or table the target does not allow, a wrong size.
 *
 *   xtsetrule [-6] [-t TABLE] [-H HOOK] [-n TARGET] [-r REV] [-s SIZE]
 *             [-f FLAGS | -f LO-HI]
 *     -6        ip6_tables instead of ip_tables
 *     -t TABLE  table to replace (default mangle)
 *     -H HOOK   chain of the rule: PREROUTING, INPUT, FORWARD, OUTPUT,
 *               POSTROUTING (default PREROUTING)
 *     -n NAME   target name (default CLEARDF)   -r REV  revision (default 0)
 *     -s SIZE   bytes of target data after struct xt_entry_target
 *               (default 8: XT_ALIGN(sizeof(struct xt_cleardf_tginfo)))
 *     -f FLAGS  the first data byte (the flags; default 0); LO-HI tries each
 *               value in turn, one ruleset per value
 *
 * The ruleset: every built-in chain of the table with policy ACCEPT, the
 * rule (no match, the target) first in chain HOOK, the closing ERROR entry,
 * as iptables-legacy would lay it out. Prints one line per attempt:
 *   flags=0x02 result=ok | result=EINVAL (errno name or number)
 * Exit status: 0 when every attempt was accepted, 1 when one was refused,
 * 2 on a usage or setup error (table info unreadable, ...).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "tool.h"

static const char *const hook_names[NF_INET_NUMHOOKS] = {
	"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING",
};

static int ipv6;

static size_t entry_size(void)
{
	return ipv6 ? sizeof(struct ip6t_entry) : sizeof(struct ipt_entry);
}

/*
 * put_entry: at BUF+OFF an entry without matches whose target is T
 * (T_SIZE bytes, already filled); returns the entry's size.
 */
static size_t put_entry(uint8_t *buf, size_t off, const void *t, size_t t_size)
{
	size_t es = entry_size(), next = es + t_size;

	if (ipv6) {
		struct ip6t_entry *e = (struct ip6t_entry *)(buf + off);

		e->target_offset = (uint16_t)es;
		e->next_offset = (uint16_t)next;
	} else {
		struct ipt_entry *e = (struct ipt_entry *)(buf + off);

		e->target_offset = (uint16_t)es;
		e->next_offset = (uint16_t)next;
	}
	memcpy(buf + off + es, t, t_size);
	return next;
}

/*
 * The targets are copied with their XT_ALIGN()ed size, which can exceed
 * the struct's: on 32-bit ARM, xt_standard_target is 36 bytes and
 * XT_ALIGN (8, for __u64) makes it 40. The unions carry that padding.
 */
static size_t put_policy(uint8_t *buf, size_t off)
{
	union {
		struct xt_standard_target st;
		uint8_t raw[XT_ALIGN(sizeof(struct xt_standard_target))];
	} u;

	memset(&u, 0, sizeof(u));
	u.st.target.u.user.target_size = sizeof(u.raw);
	strcpy(u.st.target.u.user.name, XT_STANDARD_TARGET);
	u.st.verdict = -NF_ACCEPT - 1;
	return put_entry(buf, off, &u, sizeof(u.raw));
}

static size_t put_error(uint8_t *buf, size_t off)
{
	union {
		struct xt_error_target et;
		uint8_t raw[XT_ALIGN(sizeof(struct xt_error_target))];
	} u;

	memset(&u, 0, sizeof(u));
	u.et.target.u.user.target_size = sizeof(u.raw);
	strcpy(u.et.target.u.user.name, XT_ERROR_TARGET);
	strcpy(u.et.errorname, "ERROR");
	return put_entry(buf, off, &u, sizeof(u.raw));
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case ELOOP: return "ELOOP";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	}
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* try: one ruleset with the rule's flags byte FLAGS; 0 or an errno */
static int try(int fd, const char *table, int hook, const char *name,
	       unsigned int rev, size_t dsize, unsigned int flags)
{
	/* ipt_getinfo and ip6t_getinfo, ipt_replace and ip6t_replace share their layout */
	struct ipt_getinfo info;
	socklen_t ilen = sizeof(info);
	struct ipt_replace *repl;
	struct xt_entry_target *t;
	struct xt_counters *counters;
	size_t tsize = sizeof(*t) + dsize, cap, off = 0;
	int level = ipv6 ? IPPROTO_IPV6 : IPPROTO_IP, h, ret = 0;
	unsigned int n = 0;
	uint8_t *entries;

	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "%s", table);
	if (getsockopt(fd, level, ipv6 ? IP6T_SO_GET_INFO : IPT_SO_GET_INFO, &info, &ilen) < 0) {
		fprintf(stderr, "xtsetrule: table %s: %s\n", table, strerror(errno));
		exit(2);
	}
	if (!(info.valid_hooks & (1u << hook))) {
		/* still send it: the kernel refuses an entry point it lacks */
		fprintf(stderr, "xtsetrule: table %s has no %s chain\n", table, hook_names[hook]);
	}

	cap = NF_INET_NUMHOOKS * (entry_size() + 64) + entry_size() + tsize + entry_size() + 128;
	repl = calloc(1, sizeof(*repl) + cap);
	t = calloc(1, tsize);
	counters = calloc(info.num_entries ? info.num_entries : 1, sizeof(*counters));
	if (!repl || !t || !counters) {
		perror("xtsetrule");
		exit(2);
	}
	entries = (uint8_t *)repl->entries;
	t->u.user.target_size = (uint16_t)tsize;
	snprintf(t->u.user.name, sizeof(t->u.user.name), "%s", name);
	t->u.user.revision = (uint8_t)rev;
	if (dsize)
		t->data[0] = (unsigned char)flags;

	for (h = 0; h < NF_INET_NUMHOOKS; h++) {
		repl->hook_entry[h] = repl->underflow[h] = 0xffffffff;
		if (!(info.valid_hooks & (1u << h)) && h != hook)
			continue;
		repl->hook_entry[h] = (unsigned int)off;
		if (h == hook) {
			off += put_entry(entries, off, t, tsize);
			n++;
		}
		repl->underflow[h] = (unsigned int)off;
		off += put_policy(entries, off);
		n++;
	}
	off += put_error(entries, off);
	n++;

	snprintf(repl->name, sizeof(repl->name), "%s", table);
	repl->valid_hooks = info.valid_hooks | (1u << hook);
	repl->num_entries = n;
	repl->size = (unsigned int)off;
	repl->num_counters = info.num_entries;
	repl->counters = counters;
	if (setsockopt(fd, level, ipv6 ? IP6T_SO_SET_REPLACE : IPT_SO_SET_REPLACE,
		       repl, (socklen_t)(sizeof(*repl) + off)) < 0)
		ret = errno;
	free(counters);
	free(t);
	free(repl);
	return ret;
}

int main(int argc, char **argv)
{
	const char *table = "mangle", *name = "CLEARDF";
	long rev = 0, dsize = XT_ALIGN(1), lo = 0, hi = 0, f;
	int hook = NF_INET_PRE_ROUTING, c, fd, refused = 0;
	char *dash;

	tool_name = "xtsetrule";
	while ((c = getopt(argc, argv, "6t:H:n:r:s:f:h")) != -1) {
		switch (c) {
		case '6': ipv6 = 1; break;
		case 't': table = optarg; break;
		case 'H':
			for (hook = 0; hook < NF_INET_NUMHOOKS; hook++)
				if (!strcmp(optarg, hook_names[hook]))
					break;
			if (hook == NF_INET_NUMHOOKS) {
				fprintf(stderr, "xtsetrule: unknown hook '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n': name = optarg; break;
		case 'r': rev = num(optarg, 0, 255, "revision"); break;
		case 's': dsize = num(optarg, 0, 256, "target data size"); break;
		case 'f':
			dash = strchr(optarg, '-');
			if (dash) {
				*dash = 0;
				lo = num(optarg, 0, 255, "flags");
				hi = num(dash + 1, lo, 255, "flags");
			} else {
				lo = hi = num(optarg, 0, 255, "flags");
			}
			break;
		case 'h':
			printf("usage: xtsetrule [-6] [-t TABLE] [-H HOOK] [-n TARGET] [-r REV] [-s SIZE] [-f FLAGS|LO-HI]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "xtsetrule: no arguments expected\n");
		return 2;
	}
	fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("xtsetrule: socket");
		return 2;
	}
	for (f = lo; f <= hi; f++) {
		int e = try(fd, table, hook, name, (unsigned int)rev, (size_t)dsize, (unsigned int)f);

		printf("flags=0x%02lx result=%s\n", f, e ? errname(e) : "ok");
		if (e)
			refused = 1;
	}
	close(fd);
	return refused;
}
