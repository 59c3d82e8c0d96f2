// SPDX-License-Identifier: GPL-2.0-only
/*
 * ipfuzz: a seeded packet generator with an oracle for the CLEARDF target.
 *
 *   ipfuzz -m pre -i IFNAME -M DSTMAC [-a NETNS] [-G PERMILLE] COMMON SRC DST
 *   ipfuzz -m out COMMON SRC DST
 *   COMMON: -s SEED -n COUNT -g NFLOG_GROUP [-k] [-v]
 *
 * Generates COUNT IPv4 packets from SEED: random DF, MF and reserved bits,
 * fragment offsets, IDs (0 included), TOS, TTL, header lengths with random
 * IP options (well-formed and malformed), protocols, payload lengths up to
 * 1500 bytes, and with -m pre PERMILLE/1000 of them TCP GSO packets (a
 * virtio_net_hdr, 2 to 8 segments).
 *
 * -m pre: sends them as Ethernet frames to DSTMAC from a packet socket on
 *   IFNAME, opened in the network namespace NETNS (a path such as
 *   /run/netns/A); the rule under test sits in the receiving namespace's
 *   PREROUTING, where ipfuzz runs.
 * -m out: sends them from a raw socket (IP_HDRINCL) in ipfuzz's namespace
 *   to SRC->DST; the rule under test sits in OUTPUT.
 *
 * Either way the rule under test must be followed, in the same chain, by
 * `-j NFLOG --nflog-group NFLOG_GROUP` for these packets only: ipfuzz reads
 * each packet as it left the rule and checks it against the specification:
 *   - only the DF bit, the ID and the header checksum may change: version,
 *     header length, TOS, total length, the other flag bits, the fragment
 *     offset, TTL, protocol, addresses, options and payload are identical;
 *   - DF is clear after the rule exactly when it was set and the packet is
 *     not a fragment (neither MF nor an offset); otherwise it is as sent;
 *   - the header checksum is valid;
 *   - the ID of a packet the rule rewrote is fresh: for each protocol, the
 *     IDs the rule gives are drawn from the kernel's counter for that
 *     source, destination and protocol, so each is ahead (mod 2^16) of the
 *     previous one by at least that packet's segment count and at most
 *     what the counter's random step allows in the time between them;
 *     with -k (the rule has --keep-id), and for every packet the rule must
 *     leave alone, the ID is the one sent;
 *   - every packet sent arrives once (two may swap places between CPUs:
 *     ipfuzz counts that, and an ID a little behind the last is then no
 *     violation).
 * With -m out, the kernel writes before the hook what a raw socket always
 * gets: the header checksum (ipfuzz sends some bad ones), and an ID of 0
 * may be replaced; the oracle knows that and nothing else.
 *
 * Prints `seed=S mode=M count=N sent=N captured=N gso=N fragments=N
 * options=N df=N rewritten=N` and `violations: V`; each violation (the
 * first 20) as the field that broke and both packets' headers in hex.
 * Exit status: 0 with no violation, 1 with any, 2 on a usage error, 3 when
 * the harness itself failed (a socket, NFLOG binding or a lost netlink
 * message).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define MTU		1500
#define MAXPKT		65535
#define BATCH		32
#define MAX_REPORTS	20

#define IP_RF		0x8000
#define IP_DF		0x4000
#define IP_MF		0x2000
#define IP_OFFMASK	0x1fff

struct pkt {
	uint8_t data[MAXPKT];
	unsigned int len;
	unsigned int segs;	/* GSO segments, 1 for a plain packet */
	unsigned int mss;
	unsigned long seq;
	struct timespec sent_at;	/* before its sendto(): no ID drawn yet */
};

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64*: fast, seedable, good enough to pick fields */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *p, unsigned int len, uint32_t sum)
{
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Options: a random mix of well-formed ones (NOP, EOL, record route,
 * timestamp, router alert, source routes) and malformed ones (unknown
 * types, lengths of 0, 1 or past the end), then random bytes.
 */
static unsigned int gen_options(uint8_t *o, unsigned int room)
{
	unsigned int at = 0, kinds = 0;

	while (at < room) {
		unsigned int left = room - at, l, k;

		switch (below(9)) {
		case 0:
			o[at++] = 1;				/* NOP */
			break;
		case 1:
			o[at++] = 0;				/* EOL */
			while (at < room)
				o[at++] = below(4) ? 0 : (uint8_t)rnd();
			break;
		case 2: case 3:			/* RR, LSRR, SSRR */
			if (left < 7)
				continue;
			l = 3 + 4 * (1 + below((left - 3) / 4));
			o[at] = (uint8_t[]){ 7, 131, 137 }[below(3)];
			o[at + 1] = (uint8_t)l;
			o[at + 2] = (uint8_t)(4 + 4 * below((l - 3) / 4 + 1));
			for (k = 3; k < l; k++)
				o[at + k] = (uint8_t)rnd();
			at += l;
			break;
		case 4:				/* timestamp */
			if (left < 8)
				continue;
			l = 4 + 4 * (1 + below((left - 4) / 4));
			o[at] = 68;
			o[at + 1] = (uint8_t)l;
			o[at + 2] = (uint8_t)(5 + 4 * below((l - 4) / 4 + 1));
			o[at + 3] = (uint8_t)(below(4) << 4 | below(4));
			for (k = 4; k < l; k++)
				o[at + k] = (uint8_t)rnd();
			at += l;
			break;
		case 5:				/* router alert */
			if (left < 4)
				continue;
			memcpy(o + at, (uint8_t[]){ 148, 4, 0, 0 }, 4);
			at += 4;
			break;
		case 6: case 7:			/* unknown type, fitting */
			if (left < 2)
				continue;
			l = 2 + below(left - 1);
			o[at] = (uint8_t)(rnd() | 0x10);
			o[at + 1] = (uint8_t)l;
			for (k = 2; k < l; k++)
				o[at + k] = (uint8_t)rnd();
			at += l;
			break;
		default:			/* malformed, then garbage */
			o[at++] = (uint8_t)rnd();
			if (at < room)
				o[at++] = (uint8_t[]){ 0, 1, 255, 41 }[below(4)];
			while (at < room)
				o[at++] = (uint8_t)rnd();
			break;
		}
		kinds++;
	}
	return kinds;
}

/* gen: the next packet. gso_permille: the share of TCP GSO packets. */
static void gen(struct pkt *p, unsigned long seq, int out_mode,
		unsigned int gso_permille, const struct in_addr *src,
		const struct in_addr *dst)
{
	uint8_t *ip = p->data;
	unsigned int hl, plen, i, frag = 0;

	memset(p->data, 0, 60);
	p->mss = 0;
	p->seq = seq;
	p->segs = 1;
	hl = below(2) ? 20 : 4 * (5 + 1 + below(10));
	ip[0] = (uint8_t)(0x40 | hl / 4);
	ip[1] = (uint8_t)rnd();
	put16(ip + 4, below(16) ? (uint16_t)rnd() : 0);
	if (below(4))
		frag |= IP_DF;
	if (!below(8))
		frag |= IP_MF;
	if (!below(8))
		frag |= 1 + below(IP_OFFMASK);
	if (!below(16))
		frag |= IP_RF;
	put16(ip + 6, (uint16_t)frag);
	ip[8] = (uint8_t)rnd();
	ip[9] = below(2) ? (uint8_t[]){ 1, 6, 17, 47, 50, 132 }[below(6)] :
		(uint8_t)rnd();
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	if (hl > 20)
		gen_options(ip + 20, hl - 20);

	if (!out_mode && below(1000) < gso_permille) {
		/* TCP GSO: a TCP header, then 2..8 segments of MSS bytes */
		uint8_t *tcp = ip + hl;

		p->mss = 500 + below(901);
		p->segs = 2 + below(7);
		plen = 20 + p->mss * (p->segs - 1) + 1 + below(p->mss);
		ip[9] = IPPROTO_TCP;
		memset(tcp, 0, 20);
		put16(tcp, 40000);
		put16(tcp + 2, 40001);
		put16(tcp + 4, (uint16_t)rnd());
		tcp[12] = 5 << 4;
		tcp[13] = 0x18;		/* ACK|PSH */
		put16(tcp + 14, 65535);
		for (i = 20; i < plen; i++)
			tcp[i] = (uint8_t)rnd();
	} else {
		unsigned int max = MTU - hl;

		switch (below(4)) {
		case 0: plen = below(8); break;
		case 1: plen = max - below(8); break;
		default: plen = below(max + 1); break;
		}
		for (i = 0; i < plen; i++)
			ip[hl + i] = (uint8_t)rnd();
	}
	/* the sequence number, where there is room, to name lost packets */
	for (i = 0; i < 4 && i + 4 < plen && ip[9] != IPPROTO_TCP; i++)
		ip[hl + 4 + i] = (uint8_t)(seq >> (24 - 8 * i));
	p->len = hl + plen;
	put16(ip + 2, (uint16_t)p->len);
	put16(ip + 10, (uint16_t)~csum(ip, hl, 0));
	if (out_mode && !below(8))
		ip[10] ^= 0x5a;		/* a raw socket's kernel rewrites it */
	if (p->segs > 1) {
		/* the TCP checksum: pseudo header only, the NIC's part */
		uint32_t ps = csum(ip + 12, 8, 0) + IPPROTO_TCP + plen;

		put16(ip + hl + 16, (uint16_t)(ps + (ps >> 16)));
	}
}

/* ---- NFLOG ---- */

static int nl_cfg(int fd, uint16_t group, uint16_t type, const void *data,
		  unsigned int len)
{
	struct {
		struct nlmsghdr nh;
		struct nfgenmsg g;
		struct nlattr a;
		uint8_t d[16];
	} req;
	uint8_t buf[1024];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t r;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.g)) + NLA_ALIGN(NLA_HDRLEN + len);
	req.nh.nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.g.nfgen_family = AF_INET;
	req.g.version = NFNETLINK_V0;
	req.g.res_id = htons(group);
	req.a.nla_len = (uint16_t)(NLA_HDRLEN + len);
	req.a.nla_type = type;
	memcpy(req.d, data, len);
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -1;
	r = recv(fd, buf, sizeof(buf), 0);
	if (r < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
	    h->nlmsg_type != NLMSG_ERROR)
		return -1;
	errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
	return errno ? -1 : 0;
}

static int nflog_open(uint16_t group)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nfulnl_msg_config_cmd cmd = { NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(MAXPKT),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	uint32_t nlbuf = htonl(131072), qthresh = htonl(BATCH), timeout = htonl(1);
	int fd, rcv = 32 << 20;

	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("ipfuzz: netlink socket");
		exit(3);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (nl_cfg(fd, group, NFULA_CFG_CMD, &cmd, sizeof(cmd)) ||
	    nl_cfg(fd, group, NFULA_CFG_MODE, &mode, sizeof(mode)) ||
	    nl_cfg(fd, group, NFULA_CFG_NLBUFSIZ, &nlbuf, sizeof(nlbuf)) ||
	    /* a batch per message, or what came within 10 ms (not 1 s) */
	    nl_cfg(fd, group, NFULA_CFG_QTHRESH, &qthresh, sizeof(qthresh)) ||
	    nl_cfg(fd, group, NFULA_CFG_TIMEOUT, &timeout, sizeof(timeout))) {
		perror("ipfuzz: binding the NFLOG group");
		exit(3);
	}
	return fd;
}

/*
 * nflog_read: the next logged packet's network header and payload into
 * BUF; its length, 0 after TIMEOUT_MS without one.
 */
static unsigned int nflog_read(int fd, uint8_t *out, int timeout_ms)
{
	static uint8_t buf[1 << 18];
	static ssize_t have, at;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		while (at < have) {
			struct nlmsghdr *h = (struct nlmsghdr *)(buf + at);
			struct nlattr *a;
			int rem;

			if (!NLMSG_OK(h, (unsigned int)(have - at)))
				break;
			at += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_type != (NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET))
				continue;
			a = (struct nlattr *)((uint8_t *)NLMSG_DATA(h) +
					      NLMSG_ALIGN(sizeof(struct nfgenmsg)));
			rem = (int)h->nlmsg_len - (int)((uint8_t *)a - (uint8_t *)h);
			while (rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
			       a->nla_len <= rem) {
				if ((a->nla_type & NLA_TYPE_MASK) == NFULA_PAYLOAD) {
					unsigned int n = a->nla_len - NLA_HDRLEN;

					memcpy(out, (uint8_t *)a + NLA_HDRLEN, n);
					return n;
				}
				rem -= NLA_ALIGN(a->nla_len);
				a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len));
			}
		}
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		have = recv(fd, buf, sizeof(buf), 0);
		at = 0;
		if (have < 0) {
			perror("ipfuzz: NFLOG recv (a lost message makes the count meaningless)");
			exit(3);
		}
	}
}

/* ---- the oracle ---- */

struct oracle {
	int keep_id, out_mode;
	int have_last[256];
	uint16_t last_id[256];
	unsigned int last_segs[256];
	struct timespec last_at[256];
	unsigned long violations, rewritten, reordered;
};

/* same_invariant: GOT has every byte the rule must not change as P sent it. */
static int same_invariant(const struct pkt *p, const uint8_t *got,
			  unsigned int len)
{
	const uint8_t *s = p->data;

	return len == p->len && !memcmp(s, got, 4) &&
	       ((get16(s + 6) ^ get16(got + 6)) & ~IP_DF) == 0 &&
	       !memcmp(s + 8, got + 8, 2) && !memcmp(s + 12, got + 12, len - 12);
}

static void hexdump(const char *what, const uint8_t *p, unsigned int len)
{
	unsigned int i, n = len < 60 ? len : 60;

	printf("#   %-8s", what);
	for (i = 0; i < n; i++)
		printf("%s%02x", i && !(i % 4) ? " " : "", p[i]);
	printf("%s (%u bytes)\n", n < len ? " ..." : "", len);
}

static void __attribute__((format(printf, 5, 6)))
violation(struct oracle *o, const struct pkt *p, const uint8_t *got,
	  unsigned int glen, const char *fmt, ...)
{
	va_list ap;

	o->violations++;
	if (o->violations > MAX_REPORTS)
		return;
	printf("# violation %lu, packet %lu (%u segment(s)): ", o->violations,
	       p->seq, p->segs);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	hexdump("sent:", p->data, p->len);
	if (got)
		hexdump("after:", got, glen);
}

static void check(struct oracle *o, const struct pkt *p, const uint8_t *g,
		  unsigned int glen)
{
	const uint8_t *s = p->data;
	unsigned int hl = (s[0] & 15) * 4, i;
	uint16_t sf = get16(s + 6), gf = get16(g + 6), want_f;
	uint16_t sid = get16(s + 4), gid = get16(g + 4);
	int frag = (sf & (IP_MF | IP_OFFMASK)) != 0;
	int rewrite = (sf & IP_DF) && !frag;
	static const struct { unsigned int at, len; const char *name; } same[] = {
		{ 0, 2, "version/header length/TOS" }, { 2, 2, "total length" },
		{ 8, 1, "TTL" }, { 9, 1, "protocol" }, { 12, 8, "addresses" },
	};

	if (glen != p->len) {
		violation(o, p, g, glen, "length %u after the rule, %u sent",
			  glen, p->len);
		return;
	}
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (memcmp(s + same[i].at, g + same[i].at, same[i].len))
			violation(o, p, g, glen, "%s changed", same[i].name);
	if (memcmp(s + 20, g + 20, hl - 20))
		violation(o, p, g, glen, "IP options changed (%u bytes of options)",
			  hl - 20);
	if (memcmp(s + hl, g + hl, p->len - hl)) {
		for (i = hl; i < p->len && s[i] == g[i]; i++)
			;
		violation(o, p, g, glen, "payload changed at byte %u of %u",
			  i - hl, p->len - hl);
	}
	want_f = rewrite ? sf & ~IP_DF : sf;
	if (gf != want_f)
		violation(o, p, g, glen,
			  "flags/fragment offset 0x%04x after the rule, 0x%04x expected",
			  gf, want_f);
	if (csum(g, hl, 0) != 0xffff)
		violation(o, p, g, glen, "bad header checksum 0x%04x",
			  get16(g + 10));

	if (rewrite && !o->keep_id) {
		unsigned int proto = s[9];

		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		o->rewritten++;
		if (o->have_last[proto]) {
			/*
			 * The counter moves by the previous packet's segments,
			 * plus a random step below the jiffies since the
			 * bucket's last use (at most 1000 a second), plus what
			 * else drew from the bucket (little here). The time
			 * between the two draws is at most from the previous
			 * packet's send to this check: a batch is sent, then
			 * read, so the time between the two checks can be
			 * shorter (seen on the debug kernel, where a batch
			 * takes tenths of a second to send).
			 */
			double s = (double)(now.tv_sec - o->last_at[proto].tv_sec) +
				   (now.tv_nsec - o->last_at[proto].tv_nsec) / 1e9;
			unsigned long max = o->last_segs[proto] + 1000 * (unsigned long)(s + 1) + 64;
			uint16_t d = (uint16_t)(gid - o->last_id[proto]);

			/* overtaken by a packet another CPU handled: an ID
			 * a little behind, not a repeat of the last one */
			if (d >= 0x10000 - 64)
				return;
			if (max < 65536 && (d < o->last_segs[proto] || d > max))
				violation(o, p, g, glen,
					  "ID not fresh: %u after %u (protocol %u, sent %.1f s before this check): not %u..%lu ahead",
					  gid, o->last_id[proto], proto, s,
					  o->last_segs[proto], max);
		}
		o->have_last[proto] = 1;
		o->last_id[proto] = gid;
		o->last_segs[proto] = p->segs;
		o->last_at[proto] = p->sent_at;
	} else if (gid != sid && !(o->out_mode && sid == 0)) {
		/* with -m out, the kernel may give an ID of 0 a value first */
		violation(o, p, g, glen, "ID changed: %u sent, %u after the rule",
			  sid, gid);
	}
}

/* ---- sending ---- */

struct sender {
	int fd, out_mode;
	struct sockaddr_ll sll;
	uint8_t mac[6];
	struct in_addr dst;
};

static int send_pkt(struct sender *t, const struct pkt *p)
{
	static uint8_t frame[sizeof(struct virtio_net_hdr) + 14 + MAXPKT];
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)frame;
	uint8_t *eth = frame + sizeof(*vh);
	unsigned int hl = (p->data[0] & 15) * 4;

	if (t->out_mode) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = t->dst };

		return (int)sendto(t->fd, p->data, p->len, 0,
				   (struct sockaddr *)&sin, sizeof(sin));
	}
	memset(vh, 0, sizeof(*vh));
	if (p->segs > 1) {
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh->hdr_len = (uint16_t)(14 + hl + 20);
		vh->gso_size = (uint16_t)p->mss;
		vh->csum_start = (uint16_t)(14 + hl);
		vh->csum_offset = 16;
	}
	memcpy(eth, t->mac, 6);
	memcpy(eth + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	put16(eth + 12, ETH_P_IP);
	memcpy(eth + 14, p->data, p->len);
	return (int)sendto(t->fd, frame, sizeof(*vh) + 14 + p->len, 0,
			   (struct sockaddr *)&t->sll, sizeof(t->sll));
}

static void open_sender(struct sender *t, const char *netns, const char *ifname)
{
	int one = 1, self = -1, ns;

	if (t->out_mode) {
		t->fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (t->fd < 0) {
			perror("ipfuzz: raw socket");
			exit(3);
		}
		return;
	}
	if (netns) {
		self = open("/proc/self/ns/net", O_RDONLY);
		ns = open(netns, O_RDONLY);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
			perror("ipfuzz: entering the sender's namespace");
			exit(3);
		}
		close(ns);
	}
	t->sll.sll_family = AF_PACKET;
	t->sll.sll_protocol = htons(ETH_P_IP);
	t->sll.sll_ifindex = (int)if_nametoindex(ifname);
	t->fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (!t->sll.sll_ifindex || t->fd < 0 ||
	    setsockopt(t->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		perror("ipfuzz: packet socket");
		exit(3);
	}
	if (self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		perror("ipfuzz: back to our namespace");
		exit(3);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ipfuzz -m pre -i IFNAME -M DSTMAC [-a NETNS] [-G PERMILLE] -s SEED -n COUNT -g GROUP [-k] SRC DST\n"
		   "       ipfuzz -m out -s SEED -n COUNT -g GROUP [-k] SRC DST\n");
}

int main(int argc, char **argv)
{
	static struct pkt batch[BATCH];
	static char matched[BATCH];
	static uint8_t got[MAXPKT + 64];
	const char *mode = NULL, *netns = NULL, *ifname = NULL, *mac = NULL;
	unsigned long seed = 0, count = 0, sent = 0, captured = 0, seq = 0;
	unsigned long gso = 0, frags = 0, opts = 0, df = 0;
	unsigned int gso_permille = 50, group = 0, mb[6];
	struct oracle o = { 0 };
	struct sender t = { 0 };
	struct in_addr src, dst;
	struct timespec t0, t1;
	cpu_set_t cpus;
	int c, nl, i, got_any;

	tool_name = "ipfuzz";
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "m:i:M:a:G:s:n:g:kh")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'i': ifname = optarg; break;
		case 'M': mac = optarg; break;
		case 'a': netns = optarg; break;
		case 'G': gso_permille = (unsigned int)num(optarg, 0, 1000, "GSO permille"); break;
		case 's': seed = (unsigned long)num(optarg, 1, 0x7fffffffL, "seed"); break;
		case 'n': count = (unsigned long)num(optarg, 1, 10000000, "count"); break;
		case 'g': group = (unsigned int)num(optarg, 1, 65535, "NFLOG group"); break;
		case 'k': o.keep_id = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!mode || (strcmp(mode, "pre") && strcmp(mode, "out")) || !seed ||
	    !count || !group || optind != argc - 2 ||
	    inet_pton(AF_INET, argv[optind], &src) != 1 ||
	    inet_pton(AF_INET, argv[optind + 1], &dst) != 1) {
		usage(stderr);
		return 2;
	}
	t.out_mode = o.out_mode = !strcmp(mode, "out");
	t.dst = dst;
	if (!t.out_mode &&
	    (!ifname || !mac ||
	     sscanf(mac, "%x:%x:%x:%x:%x:%x", &mb[0], &mb[1], &mb[2], &mb[3],
		    &mb[4], &mb[5]) != 6)) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < 6; i++)
		t.mac[i] = (uint8_t)mb[i];
	rng = seed * 0x9e3779b97f4a7c15ULL;

	/*
	 * One CPU: frames a packet socket sends through a veth join that
	 * CPU's backlog, so a sender that migrated would reorder them.
	 */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0) {
		perror("ipfuzz: sched_setaffinity");
		return 3;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nl = nflog_open((uint16_t)group);
	open_sender(&t, netns, ifname);

	while (sent < count) {
		unsigned int n = 0, k;

		while (n < BATCH && sent + n < count) {
			struct pkt *p = &batch[n];

			gen(p, seq++, t.out_mode, gso_permille, &src, &dst);
			clock_gettime(CLOCK_MONOTONIC, &p->sent_at);
			if (send_pkt(&t, p) < 0) {
				fprintf(stderr, "ipfuzz: send of packet %lu (%u bytes): %s\n",
					p->seq, p->len, strerror(errno));
				return 3;
			}
			gso += p->segs > 1;
			frags += (get16(p->data + 6) & (IP_MF | IP_OFFMASK)) != 0;
			opts += p->data[0] != 0x45;
			df += (get16(p->data + 6) & IP_DF) != 0;
			n++;
		}
		memset(matched, 0, sizeof(matched));
		got_any = 0;
		for (k = 0; k < n; k++) {
			unsigned int len = nflog_read(nl, got, 3000), j, first = n;

			if (!len)
				break;
			captured++;
			got_any = 1;
			/*
			 * The packet this is: the first unmatched one with the
			 * same unchangeable bytes (they can overtake each
			 * other between CPUs); failing that, the first
			 * unmatched one, for the oracle to say what differs.
			 */
			for (j = 0; j < n; j++) {
				if (matched[j])
					continue;
				if (first == n)
					first = j;
				if (same_invariant(&batch[j], got, len))
					break;
			}
			if (j == n)
				j = first;
			if (j == n) {
				o.violations++;
				printf("# violation %lu: a packet that was not sent (%u bytes)\n",
				       o.violations, len);
				continue;
			}
			if (j != first)
				o.reordered++;
			matched[j] = 1;
			check(&o, &batch[j], got, len);
		}
		for (k = 0; k < n; k++)
			if (!matched[k])
				violation(&o, &batch[k], NULL, 0,
					  "lost: never left the rule");
		sent += n;
		/* a whole batch lost: the rest would be too, 3 s a batch */
		if (o.violations > 1000 || !got_any)
			break;
	}
	/* nothing may arrive that was not sent */
	if (nflog_read(nl, got, 200)) {
		o.violations++;
		printf("# violation: a packet after the last one sent\n");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("seed=%lu mode=%s%s count=%lu sent=%lu captured=%lu gso=%lu fragments=%lu options=%lu df=%lu rewritten=%lu reordered=%lu seconds=%.1f\n",
	       seed, mode, o.keep_id ? " keep-id" : "", count, sent, captured,
	       gso, frags, opts, df, o.rewritten, o.reordered,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("violations: %lu\n", o.violations);
	return o.violations ? 1 : 0;
}
