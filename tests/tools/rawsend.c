// SPDX-License-Identifier: GPL-2.0-only
/*
 * rawsend: send IPv4 packets whose header we write ourselves (IP_HDRINCL),
 * for tests that need a chosen DF/MF/offset/ID/options.
 *
 *   rawsend [options] DST
 *     -s SRC      source address (default 0: the kernel fills it in)
 *     -p PROTO    protocol number (default 253, "for experimentation")
 *     -i ID       IP ID (default 0; with ID 0 the kernel may pick one:
 *                 it does for packets without DF)
 *     -k STEP     add STEP to the ID after each packet (default 0)
 *     -D          set DF         -M  set MF
 *     -a          alternate: the 2nd, 4th, ... packet has DF flipped
 *     -R          set the reserved flag bit (0x8000 of the fragment field)
 *     -o OFFSET   fragment offset in bytes (multiple of 8)
 *     -O LEN      LEN bytes of IP options (multiple of 4, at most 40):
 *                 NOPs ending with an end-of-list
 *     -x HEX      these option bytes instead (e.g. 0708040000000000 for an
 *                 empty Record Route), padded with end-of-list to 4n bytes
 *     -n SIZE     payload bytes after the header (default 64)
 *     -P BYTE     first payload byte; byte i is BYTE + i (default 0)
 *     -t TTL      (default 64)   -T TOS (default 0)
 *     -c COUNT    packets to send (default 1)
 *     -w MS       pause between packets in milliseconds (default 0)
 *     -I IFNAME   bind to this interface
 *     -v          print each packet sent
 *
 * The kernel recomputes the header checksum and total length of an
 * IP_HDRINCL packet, and refuses (EMSGSIZE) one longer than the route MTU:
 * such packets are never fragmented by the sender.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rawsend [-s SRC] [-p PROTO] [-i ID] [-k STEP] [-D] [-a] [-M] [-R]\n"
		"               [-o OFFSET] [-O OPTLEN | -x HEX] [-n SIZE] [-P BYTE] [-t TTL] [-T TOS]\n"
		"               [-c COUNT] [-w MS] [-I IFNAME] [-v] DST\n");
}

/* hex_bytes: "0708.." into out; -1 if not hex or too long */
static int hex_bytes(const char *s, uint8_t *out, size_t max, size_t *n)
{
	size_t len = strlen(s), i;

	if (len % 2 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct in_addr src = { 0 }, dst;
	long proto = 253, id = 0, step = 0, off = 0, optlen = 0, size = 64;
	long pattern = 0, ttl = 64, tos = 0, count = 1, wait_ms = 0;
	int df = 0, mf = 0, rs = 0, alt = 0, verbose = 0, c, fd, one = 1;
	const char *ifname = NULL;
	uint8_t opts[40];
	size_t nopts = 0;
	int have_hex = 0;
	struct sockaddr_in sin;
	unsigned int hlen, total, i;
	uint8_t *pkt;
	long n;

	tool_name = "rawsend";

	while ((c = getopt(argc, argv, "s:p:i:k:DaMRo:O:x:n:P:t:T:c:w:I:vh")) != -1) {
		switch (c) {
		case 's':
			if (inet_pton(AF_INET, optarg, &src) != 1) {
				fprintf(stderr, "rawsend: bad source '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p': proto = num(optarg, 0, 255, "protocol"); break;
		case 'i': id = num(optarg, 0, 65535, "ID"); break;
		case 'k': step = num(optarg, 0, 65535, "ID step"); break;
		case 'D': df = 1; break;
		case 'a': alt = 1; break;
		case 'M': mf = 1; break;
		case 'R': rs = 1; break;
		case 'o': off = num(optarg, 0, 65528, "offset"); break;
		case 'O': optlen = num(optarg, 0, 40, "option length"); break;
		case 'x':
			if (hex_bytes(optarg, opts, sizeof(opts), &nopts) < 0) {
				fprintf(stderr, "rawsend: bad option bytes '%s' (hex, at most 40 bytes)\n", optarg);
				return 2;
			}
			have_hex = 1;
			optlen = (long)((nopts + 3) / 4 * 4);
			break;
		case 'n': size = num(optarg, 0, 65515, "size"); break;
		case 'P': pattern = num(optarg, 0, 255, "pattern byte"); break;
		case 't': ttl = num(optarg, 0, 255, "TTL"); break;
		case 'T': tos = num(optarg, 0, 255, "TOS"); break;
		case 'c': count = num(optarg, 1, 10000000, "count"); break;
		case 'w': wait_ms = num(optarg, 0, 100000, "wait"); break;
		case 'I': ifname = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (inet_pton(AF_INET, argv[optind], &dst) != 1) {
		fprintf(stderr, "rawsend: bad destination '%s'\n", argv[optind]);
		return 2;
	}
	if (off % 8 || optlen % 4) {
		fprintf(stderr, "rawsend: the offset must be a multiple of 8, the option length of 4\n");
		return 2;
	}
	hlen = 20 + (unsigned int)optlen;
	total = hlen + (unsigned int)size;
	if (total > 65535) {
		fprintf(stderr, "rawsend: packet of %u bytes is too long\n", total);
		return 2;
	}

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("rawsend: socket");
		return 1;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("rawsend: IP_HDRINCL");
		return 1;
	}
	if (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				 (socklen_t)strlen(ifname) + 1) < 0) {
		perror("rawsend: SO_BINDTODEVICE");
		return 1;
	}

	pkt = calloc(1, total);
	if (!pkt) {
		perror("rawsend");
		return 1;
	}
	pkt[0] = (uint8_t)(0x40 | (hlen / 4));
	pkt[1] = (uint8_t)tos;
	pkt[2] = (uint8_t)(total >> 8);
	pkt[3] = (uint8_t)total;
	pkt[6] = (uint8_t)(((rs ? 0x80 : 0) | (df ? 0x40 : 0) | (mf ? 0x20 : 0) | ((off / 8) >> 8)) & 0xff);
	pkt[7] = (uint8_t)((off / 8) & 0xff);
	pkt[8] = (uint8_t)ttl;
	pkt[9] = (uint8_t)proto;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	for (i = 20; i < hlen; i++) {
		if (have_hex)
			pkt[i] = i - 20 < nopts ? opts[i - 20] : 0 /* EOL */;
		else
			pkt[i] = i == hlen - 1 ? 0 /* EOL */ : 1 /* NOP */;
	}
	for (i = 0; i < (unsigned int)size; i++)
		pkt[hlen + i] = (uint8_t)(pattern + i);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = dst;

	for (n = 0; n < count; n++) {
		uint16_t cur = (uint16_t)(id + n * step);
		int cur_df = alt && n % 2 ? !df : df;

		pkt[4] = (uint8_t)(cur >> 8);
		pkt[5] = (uint8_t)cur;
		pkt[6] = (uint8_t)((pkt[6] & ~0x40) | (cur_df ? 0x40 : 0));
		pkt[10] = pkt[11] = 0;	/* the kernel computes it */
		if (sendto(fd, pkt, total, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			fprintf(stderr, "rawsend: sendto %s (%u bytes): %s\n",
				argv[optind], total, strerror(errno));
			return 1;
		}
		if (verbose)
			printf("sent id=%u df=%d mf=%d off=%ld ihl=%u len=%u\n",
			       cur, cur_df, mf, off, hlen / 4, total);
		if (wait_ms && n + 1 < count) {
			struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	free(pkt);
	close(fd);
	return 0;
}
