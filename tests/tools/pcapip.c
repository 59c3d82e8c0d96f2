// SPDX-License-Identifier: GPL-2.0-only
/*
 * pcapip: print the IPv4 headers in a pcap file, one line per packet, in a
 * form shell tests can grep:
 *
 *   pkt=3 layer=0 src=192.0.2.1 dst=198.51.100.1 proto=1 id=4660 df=0 mf=1
 *   off=0 ihl=5 len=1396 ttl=63 csum=ok
 *
 * (one line). csum is ok or bad (the IPv4 header checksum); off is the
 * fragment offset in bytes; opt=HEX follows when ihl > 5; trunc=1 when the
 * capture holds less than the header says.
 *
 * -d  also decode what is inside: GRE (IPv4 or transparent Ethernet
 *     bridging), IPIP and VXLAN (UDP 4789); inner headers print as
 *     layer=1, 2, ... lines after the outer one.
 * -r  reassembly check instead: fragments are grouped by (src, dst, proto,
 *     id) and each datagram prints once:
 *       src=.. dst=.. proto=.. id=.. frags=N complete=yes|no len=L hash=H
 *     where len is the reassembled total length and hash an FNV-1a 64 of
 *     its payload (what follows the IP header). With -d, the inside of each
 *     complete datagram follows its line, as `dgram=N layer=1 ...` lines
 *     (N counts the datagrams from 1).
 *
 * Link types: Ethernet (with VLAN tags), Linux cooked SLL and SLL2, raw IP.
 * Classic pcap only (tcpdump -w), either byte order, us or ns timestamps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define LINKTYPE_NULL		0
#define LINKTYPE_ETHERNET	1
#define LINKTYPE_RAW		101
#define LINKTYPE_LINUX_SLL	113
#define LINKTYPE_LINUX_SLL2	276
#define LINKTYPE_IPV4		228

#define MAX_DEPTH 4

static int opt_decap;
static int opt_reasm;
static unsigned long pktno;
/* "pkt" for captured packets, "dgram" for the inside of reassembled ones */
static const char *pkttag = "pkt";

static uint32_t swap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static void ipstr(const uint8_t *a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* ---------------------------------------------------------------- reassembly */

struct frag {
	unsigned int off;	/* bytes */
	unsigned int len;	/* payload bytes in this fragment */
	int more;
	uint8_t *data;
};

struct dgram {
	uint8_t src[4], dst[4];
	uint8_t proto;
	uint16_t id;
	uint8_t hdr[60];	/* header of the first fragment */
	unsigned int hlen;
	int have_first, have_last;
	struct frag *frags;
	unsigned int nfrags, cap;
	int closed;		/* complete: a later offset-0 starts a new one */
};

static struct dgram *dgrams;
static size_t ndgrams, capdgrams;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("pcapip");
		exit(2);
	}
	return p;
}

/* The reassembled payload of d, or NULL when it has a hole. */
static uint8_t *dgram_payload(const struct dgram *d, unsigned int *plen)
{
	unsigned int end = 0, i, covered;
	uint8_t *buf, *have;

	if (!d->have_first || !d->have_last)
		return NULL;
	for (i = 0; i < d->nfrags; i++) {
		if (!d->frags[i].more && d->frags[i].off + d->frags[i].len > end)
			end = d->frags[i].off + d->frags[i].len;
	}
	buf = xrealloc(NULL, end ? end : 1);
	have = calloc(end ? end : 1, 1);
	if (!have) {
		perror("pcapip");
		exit(2);
	}
	for (i = 0; i < d->nfrags; i++) {
		const struct frag *f = &d->frags[i];
		unsigned int n = f->len;

		if (f->off >= end)
			continue;
		if (f->off + n > end)
			n = end - f->off;
		memcpy(buf + f->off, f->data, n);
		memset(have + f->off, 1, n);
	}
	for (covered = 0; covered < end && have[covered]; covered++)
		;
	free(have);
	if (covered != end) {
		free(buf);
		return NULL;
	}
	*plen = end;
	return buf;
}

static int dgram_complete(const struct dgram *d)
{
	unsigned int n;
	uint8_t *p = dgram_payload(d, &n);

	free(p);
	return p != NULL;
}

static void reasm_add(const uint8_t *ip, unsigned int hlen, const uint8_t *pl,
		      unsigned int plen, unsigned int off, int more)
{
	struct dgram *d = NULL;
	struct frag *f;
	size_t i;
	uint16_t id = get16(ip + 4);

	for (i = ndgrams; i-- > 0;) {
		struct dgram *c = &dgrams[i];

		if (c->id == id && c->proto == ip[9] &&
		    !memcmp(c->src, ip + 12, 4) && !memcmp(c->dst, ip + 16, 4)) {
			if (!c->closed)
				d = c;
			break;
		}
	}
	if (!d) {
		if (ndgrams == capdgrams) {
			capdgrams = capdgrams ? 2 * capdgrams : 64;
			dgrams = xrealloc(dgrams, capdgrams * sizeof(*dgrams));
		}
		d = &dgrams[ndgrams++];
		memset(d, 0, sizeof(*d));
		memcpy(d->src, ip + 12, 4);
		memcpy(d->dst, ip + 16, 4);
		d->proto = ip[9];
		d->id = id;
	}
	/* the same fragment seen twice (a capture on both ends) counts once */
	for (i = 0; i < d->nfrags; i++) {
		if (d->frags[i].off == off && d->frags[i].len == plen &&
		    !memcmp(d->frags[i].data, pl, plen))
			return;
	}
	if (d->nfrags == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 4;
		d->frags = xrealloc(d->frags, d->cap * sizeof(*d->frags));
	}
	f = &d->frags[d->nfrags++];
	f->off = off;
	f->len = plen;
	f->more = more;
	f->data = xrealloc(NULL, plen ? plen : 1);
	memcpy(f->data, pl, plen);
	if (off == 0) {
		d->have_first = 1;
		d->hlen = hlen;
		memcpy(d->hdr, ip, hlen);
	}
	if (!more)
		d->have_last = 1;
	if (dgram_complete(d))
		d->closed = 1;
}

static void parse_ip(const uint8_t *p, unsigned int caplen, int depth);

/* Decode what an IPv4 payload carries, for -d. */
static void parse_inner(uint8_t proto, const uint8_t *p, unsigned int n, int depth)
{
	if (depth >= MAX_DEPTH)
		return;
	if (proto == 4) {			/* IPIP */
		parse_ip(p, n, depth + 1);
	} else if (proto == 47 && n >= 4) {	/* GRE */
		uint16_t flags = get16(p), type = get16(p + 2);
		unsigned int h = 4;

		if (flags & 0x8000)
			h += 4;
		if (flags & 0x2000)
			h += 4;
		if (flags & 0x1000)
			h += 4;
		if (n < h)
			return;
		if (type == 0x0800) {
			parse_ip(p + h, n - h, depth + 1);
		} else if (type == 0x6558 && n >= h + 14) {
			const uint8_t *e = p + h;
			unsigned int el = 14;
			uint16_t et = get16(e + 12);

			while ((et == 0x8100 || et == 0x88a8) && n >= h + el + 4) {
				et = get16(e + el + 2);
				el += 4;
			}
			if (et == 0x0800)
				parse_ip(e + el, n - h - el, depth + 1);
		}
	} else if (proto == 17 && n >= 8 + 8 + 14 && get16(p + 2) == 4789) {
		const uint8_t *e = p + 16;	/* UDP + VXLAN headers */

		if (get16(e + 12) == 0x0800)
			parse_ip(e + 14, n - 16 - 14, depth + 1);
	}
}

static void parse_ip(const uint8_t *p, unsigned int caplen, int depth)
{
	unsigned int ihl, totlen, fo, off, avail, i;
	char s[16], d[16];
	int df, mf, trunc = 0;

	if (caplen < 20 || (p[0] >> 4) != 4)
		return;
	ihl = p[0] & 0x0f;
	totlen = get16(p + 2);
	fo = get16(p + 6);
	df = !!(fo & 0x4000);
	mf = !!(fo & 0x2000);
	off = (fo & 0x1fff) * 8;
	if (ihl < 5 || ihl * 4 > caplen)
		trunc = 1;
	avail = totlen < caplen ? totlen : caplen;
	if (totlen > caplen)
		trunc = 1;

	if (opt_reasm && depth == 0) {
		if (trunc || totlen < ihl * 4) {
			fprintf(stderr, "pcapip: packet %lu truncated, not reassembled\n", pktno);
			return;
		}
		reasm_add(p, ihl * 4, p + ihl * 4, totlen - ihl * 4, off, mf);
		return;
	}

	ipstr(p + 12, s, sizeof(s));
	ipstr(p + 16, d, sizeof(d));
	printf("%s=%lu layer=%d src=%s dst=%s proto=%u id=%u df=%d mf=%d off=%u ihl=%u len=%u ttl=%u csum=%s",
	       pkttag, pktno, depth, s, d, p[9], get16(p + 4), df, mf, off, ihl, totlen, p[8],
	       (ihl >= 5 && ihl * 4 <= caplen && ip_csum_ok(p, ihl * 4)) ? "ok" : "bad");
	if (ihl > 5 && ihl * 4 <= caplen) {
		printf(" opt=");
		for (i = 20; i < ihl * 4; i++)
			printf("%02x", p[i]);
	}
	if (trunc)
		printf(" trunc=1");
	printf("\n");
	/* a first fragment or a truncated packet still shows the inner header */
	if (opt_decap && off == 0 && ihl >= 5 && ihl * 4 <= avail)
		parse_inner(p[9], p + ihl * 4, avail - ihl * 4, depth);
}

static void parse_link(uint32_t linktype, const uint8_t *p, unsigned int n)
{
	unsigned int h;
	uint16_t et;

	switch (linktype) {
	case LINKTYPE_ETHERNET:
		if (n < 14)
			return;
		h = 14;
		et = get16(p + 12);
		while ((et == 0x8100 || et == 0x88a8) && n >= h + 4) {
			et = get16(p + h + 2);
			h += 4;
		}
		break;
	case LINKTYPE_LINUX_SLL:
		if (n < 16)
			return;
		h = 16;
		et = get16(p + 14);
		break;
	case LINKTYPE_LINUX_SLL2:
		if (n < 20)
			return;
		h = 20;
		et = get16(p);
		break;
	case LINKTYPE_RAW:
	case LINKTYPE_IPV4:
	case 12:	/* DLT_RAW on some systems */
	case 14:
		h = 0;
		et = 0x0800;
		break;
	case LINKTYPE_NULL:
		if (n < 4)
			return;
		h = 4;
		et = (p[0] == 2 || p[3] == 2) ? 0x0800 : 0;
		break;
	default:
		return;
	}
	if (et == 0x0800)
		parse_ip(p + h, n - h, 0);
}

static void reasm_report(void)
{
	size_t i;
	char s[16], d[16];

	for (i = 0; i < ndgrams; i++) {
		struct dgram *g = &dgrams[i];
		unsigned int plen = 0;
		uint8_t *pl = dgram_payload(g, &plen);

		ipstr(g->src, s, sizeof(s));
		ipstr(g->dst, d, sizeof(d));
		printf("src=%s dst=%s proto=%u id=%u frags=%u complete=%s",
		       s, d, g->proto, g->id, g->nfrags, pl ? "yes" : "no");
		if (pl)
			printf(" len=%u hash=%016llx", g->hlen + plen,
			       (unsigned long long)fnv1a(pl, plen, FNV1A_INIT));
		printf("\n");
		if (pl && opt_decap) {
			pkttag = "dgram";
			pktno = i + 1;
			parse_inner(g->proto, pl, plen, 0);
		}
		free(pl);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pcapip [-d] [-r] FILE.pcap\n"
		"  one line per IPv4 packet: pkt layer src dst proto id df mf off ihl len ttl csum\n"
		"  -d  decode GRE, gretap, IPIP and VXLAN payloads as well (layer=1...)\n"
		"  -r  reassemble fragments by (src,dst,proto,id): one line per datagram\n"
		"      with frags, complete=yes|no, len and an FNV-1a hash of the payload\n");
}

int main(int argc, char **argv)
{
	uint8_t gh[24], rh[16], *buf = NULL;
	uint32_t magic, linktype, incl, bufcap = 0;
	int swapped, c;
	FILE *f;

	tool_name = "pcapip";
	while ((c = getopt(argc, argv, "drh")) != -1) {
		switch (c) {
		case 'd':
			opt_decap = 1;
			break;
		case 'r':
			opt_reasm = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	f = strcmp(argv[optind], "-") ? fopen(argv[optind], "rb") : stdin;
	if (!f) {
		fprintf(stderr, "pcapip: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		fprintf(stderr, "pcapip: %s: too short for a pcap file\n", argv[optind]);
		return 2;
	}
	memcpy(&magic, gh, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
		swapped = 0;
	} else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
		swapped = 1;
	} else {
		fprintf(stderr, "pcapip: %s: not a classic pcap file (pcapng?)\n", argv[optind]);
		return 2;
	}
	memcpy(&linktype, gh + 20, 4);
	if (swapped)
		linktype = swap32(linktype);
	linktype &= 0x0fffffff;

	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		memcpy(&incl, rh + 8, 4);
		if (swapped)
			incl = swap32(incl);
		if (incl > 16 * 1024 * 1024) {
			fprintf(stderr, "pcapip: record %lu: bad length %u\n", pktno + 1, incl);
			return 2;
		}
		if (incl > bufcap) {
			bufcap = incl;
			buf = xrealloc(buf, bufcap);
		}
		if (fread(buf, 1, incl, f) != incl) {
			/* tcpdump killed mid-write: the last record is cut */
			fprintf(stderr, "pcapip: record %lu is cut short\n", pktno + 1);
			break;
		}
		pktno++;
		parse_link(linktype, buf, incl);
	}
	if (opt_reasm)
		reasm_report();
	free(buf);
	if (f != stdin)
		fclose(f);
	return 0;
}
