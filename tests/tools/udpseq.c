// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpseq: numbered UDP datagrams whose content the receiver can verify, to
 * tell "delivered intact" from "lost" from "corrupted".
 *
 *   udpseq send [-S STREAM] [-c COUNT] [-s SIZE[,SIZE...]] [-w USEC] [-D|-N]
 *               [-m BATCH | -G SEGS] HOST PORT
 *       sends COUNT datagrams on a connected socket; datagram number i
 *       (from 0) has the i-th size of the list, cyclically. Each carries
 *       a 24-byte header (magic, stream, sequence number, size, FNV-1a 64
 *       of the rest) and bytes that follow from (stream, seq). -D sets DF
 *       on every datagram (IP_PMTUDISC_DO), -N never (IP_PMTUDISC_DONT);
 *       default: the system's (DF on, IP_PMTUDISC_WANT). -w pauses USEC
 *       microseconds between datagrams. SIGTERM or SIGINT ends the run
 *       early. -m hands BATCH datagrams at a time to sendmmsg() (-w then
 *       pauses between batches). -G sends SEGS datagrams of the one size
 *       (-s) at a time as one UDP GSO send (UDP_SEGMENT = the size): the
 *       kernel cuts the buffer into the datagrams, each with its own
 *       header and content as without -G. Prints, per size,
 *         sent stream=S size=Z count=N
 *       and then
 *         sent stream=S total=N errors=E
 *       (send errors such as EMSGSIZE or ECONNREFUSED are counted and the
 *       datagram is not counted as sent).
 *
 *   udpseq recv [-n COUNT] [-t SECONDS] [-b BYTES] PORT
 *       prints "ready port=PORT" once bound, then receives until SIGTERM or
 *       SIGINT, until COUNT good datagrams have arrived (-n), or for at most
 *       SECONDS (-t). Every datagram is checked: size, hash, and every byte
 *       against what the sender must have put there. Prints per stream and
 *       size
 *         recv stream=S size=Z count=N
 *       then per stream
 *         recv stream=S good=N dup=D maxseq=M
 *       and
 *         recv total good=N dup=D corrupt=C foreign=F
 *       where corrupt counts datagrams with our magic whose content is
 *       wrong, foreign those too short or without the magic. -b sets the
 *       receive buffer (SO_RCVBUFFORCE; default 4 MiB).
 *
 * Exit status 0, 1 on a setup error, 2 on a usage error; the verdict is for
 * the caller to draw from the counts.
 */
#define _GNU_SOURCE	/* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define MAGIC		0x55445053u	/* "UDPS" */
#define HDR_LEN		24
#define MAX_STREAMS	64
#define MAX_SIZES	16
#define MAX_SIZE	65507
#define MAX_SEQ		(1u << 24)
#define MAX_BATCH	64		/* -m, -G (UDP GSO: at most 64 segments) */

#ifndef SOL_UDP
#define SOL_UDP		17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

struct hdr {
	uint32_t magic, stream, seq, size;
	uint64_t hash;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The bytes after the header: xorshift64 seeded from (stream, seq). */
static void fill(uint8_t *p, size_t n, uint32_t stream, uint32_t seq)
{
	uint64_t x = ((uint64_t)stream << 32 | seq) ^ 0x9e3779b97f4a7c15ULL;
	size_t i;

	if (!x)
		x = 1;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void encode(uint8_t *buf, uint32_t stream, uint32_t seq, uint32_t size)
{
	uint64_t h;

	fill(buf + HDR_LEN, size - HDR_LEN, stream, seq);
	h = fnv1a(buf + HDR_LEN, size - HDR_LEN, FNV1A_INIT);
	put32(buf, MAGIC);
	put32(buf + 4, stream);
	put32(buf + 8, seq);
	put32(buf + 12, size);
	put32(buf + 16, (uint32_t)(h >> 32));
	put32(buf + 20, (uint32_t)h);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udpseq send [-S STREAM] [-c COUNT] [-s SIZE[,SIZE...]] [-w USEC] [-D|-N]\n"
		"                   [-m BATCH | -G SEGS] HOST PORT\n"
		"       udpseq recv [-n COUNT] [-t SECONDS] [-b BYTES] PORT\n");
}

static int do_send(int argc, char **argv)
{
	long stream = 0, count = 1, wait_us = 0, sizes[MAX_SIZES], batch = 0, gso = 0;
	long sent_by_size[MAX_SIZES] = { 0 };
	int nsizes = 1, pmtu = -1, c, fd, i;
	long n, errors = 0, sent = 0, per_call = 1;
	int send_errno = 0;
	struct sockaddr_in sin;
	uint8_t *buf;
	char *tok, *save = NULL;

	struct sigaction sa;

	sizes[0] = 1000;
	while ((c = getopt(argc, argv, "S:c:s:w:DNm:G:h")) != -1) {
		switch (c) {
		case 'S': stream = num(optarg, 0, MAX_STREAMS - 1, "stream"); break;
		case 'c': count = num(optarg, 1, MAX_SEQ, "count"); break;
		case 's':
			nsizes = 0;
			for (tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nsizes == MAX_SIZES) {
					fprintf(stderr, "udpseq: at most %d sizes\n", MAX_SIZES);
					return 2;
				}
				sizes[nsizes++] = num(tok, HDR_LEN, MAX_SIZE, "size");
			}
			if (!nsizes) {
				usage(stderr);
				return 2;
			}
			break;
		case 'w': wait_us = num(optarg, 0, 10000000, "wait"); break;
		case 'D': pmtu = IP_PMTUDISC_DO; break;
		case 'N': pmtu = IP_PMTUDISC_DONT; break;
		case 'm': batch = num(optarg, 1, MAX_BATCH, "batch"); break;
		case 'G': gso = num(optarg, 1, MAX_BATCH, "segments"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 2 || (batch && gso)) {
		usage(stderr);
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)num(argv[optind + 1], 1, 65535, "port"));
	if (inet_pton(AF_INET, argv[optind], &sin.sin_addr) != 1) {
		fprintf(stderr, "udpseq: bad address '%s'\n", argv[optind]);
		return 2;
	}

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udpseq: socket");
		return 1;
	}
	if (pmtu >= 0 && setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) < 0) {
		perror("udpseq: IP_MTU_DISCOVER");
		return 1;
	}
	if (gso) {
		int seg = (int)sizes[0];

		if (nsizes != 1 || gso * sizes[0] > MAX_SIZE) {
			fprintf(stderr, "udpseq: -G needs one size, and SEGS x SIZE at most %d\n", MAX_SIZE);
			return 2;
		}
		if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0) {
			perror("udpseq: UDP_SEGMENT");
			return 1;
		}
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("udpseq: connect");
		return 1;
	}
	buf = malloc((size_t)MAX_SIZE * MAX_BATCH);
	if (!buf) {
		perror("udpseq");
		return 1;
	}
	/* SIGTERM ends the run early; the counts are printed all the same */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (n = 0; n < count && !stop; n += per_call) {
		struct mmsghdr msgs[MAX_BATCH];
		struct iovec iov[MAX_BATCH];
		size_t off = 0;
		long k, done = 0;
		ssize_t r;

		per_call = batch ? batch : gso ? gso : 1;
		if (per_call > count - n)
			per_call = count - n;
		memset(msgs, 0, sizeof(msgs));
		for (k = 0; k < per_call; k++) {
			uint32_t size = (uint32_t)sizes[(n + k) % nsizes];

			encode(buf + off, (uint32_t)stream, (uint32_t)(n + k), size);
			iov[k].iov_base = buf + off;
			iov[k].iov_len = size;
			msgs[k].msg_hdr.msg_iov = &iov[k];
			msgs[k].msg_hdr.msg_iovlen = 1;
			off += size;
		}
		if (batch) {
			r = sendmmsg(fd, msgs, (unsigned int)per_call, 0);
			done = r < 0 ? 0 : r;
		} else {
			/* one datagram, or (-G) the datagrams back to back in one send */
			r = send(fd, buf, off, 0);
			done = r == (ssize_t)off ? per_call : 0;
		}
		if (r < 0 && !send_errno)
			send_errno = errno;
		for (k = 0; k < per_call; k++) {
			if (k < done) {
				sent++;
				sent_by_size[(n + k) % nsizes]++;
			} else {
				errors++;
			}
		}
		if (wait_us) {
			struct timespec ts = { wait_us / 1000000, (wait_us % 1000000) * 1000L };

			nanosleep(&ts, NULL);
		}
	}
	/* the same size may be listed twice: print each size once */
	for (i = 0; i < nsizes; i++) {
		long total = 0;
		int j, seen = 0;

		for (j = 0; j < i; j++)
			seen |= sizes[j] == sizes[i];
		if (seen)
			continue;
		for (j = i; j < nsizes; j++)
			if (sizes[j] == sizes[i])
				total += sent_by_size[j];
		printf("sent stream=%ld size=%ld count=%ld\n", stream, sizes[i], total);
	}
	printf("sent stream=%ld total=%ld errors=%ld\n", stream, sent, errors);
	if (send_errno)
		fprintf(stderr, "udpseq: first send error: %s\n", strerror(send_errno));
	free(buf);
	close(fd);
	return 0;
}

struct stream_state {
	uint8_t *seen;		/* bitmap by sequence number */
	uint32_t cap;		/* bits */
	long good, dup;
	uint32_t maxseq;
	int used;
	struct {
		uint32_t size;
		long count;
	} by_size[MAX_SIZES];
	int nsizes;
};

static int do_recv(int argc, char **argv)
{
	static struct stream_state st[MAX_STREAMS];
	long want = 0, limit_s = 0, rcvbuf = 4 << 20, good = 0, dup = 0;
	long corrupt = 0, foreign = 0;
	struct sockaddr_in sin;
	struct sigaction sa;
	struct timeval tv = { 0, 100000 };
	struct timespec t0, now;
	uint8_t *buf, *want_buf;
	int c, fd, one = 1, rb, i, j;

	while ((c = getopt(argc, argv, "n:t:b:h")) != -1) {
		switch (c) {
		case 'n': want = num(optarg, 1, 1L << 30, "count"); break;
		case 't': limit_s = num(optarg, 1, 100000, "seconds"); break;
		case 'b': rcvbuf = num(optarg, 4096, 1L << 30, "buffer"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: recv returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)num(argv[optind], 1, 65535, "port"));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udpseq: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rb = (int)rcvbuf;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("udpseq: bind");
		return 1;
	}
	buf = malloc(MAX_SIZE + 1);
	want_buf = malloc(MAX_SIZE);
	if (!buf || !want_buf) {
		perror("udpseq");
		return 1;
	}
	printf("ready port=%s\n", argv[optind]);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (!stop && !(want && good >= want)) {
		struct stream_state *s;
		uint32_t stream, seq, size;
		ssize_t r;

		if (limit_s) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec >= limit_s)
				break;
		}
		r = recv(fd, buf, MAX_SIZE + 1, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			perror("udpseq: recv");
			return 1;
		}
		if (r < HDR_LEN || get32(buf) != MAGIC) {
			foreign++;
			continue;
		}
		stream = get32(buf + 4);
		seq = get32(buf + 8);
		size = get32(buf + 12);
		if (stream >= MAX_STREAMS || seq >= MAX_SEQ || size != (uint32_t)r) {
			corrupt++;
			continue;
		}
		encode(want_buf, stream, seq, size);
		if (memcmp(buf, want_buf, size) != 0) {
			corrupt++;
			continue;
		}
		s = &st[stream];
		s->used = 1;
		if (seq >= s->cap) {
			uint32_t ncap = s->cap ? s->cap : 4096;

			while (ncap <= seq)
				ncap *= 2;
			s->seen = realloc(s->seen, ncap / 8);
			if (!s->seen) {
				perror("udpseq");
				return 1;
			}
			memset(s->seen + s->cap / 8, 0, (ncap - s->cap) / 8);
			s->cap = ncap;
		}
		if (s->seen[seq / 8] & (1u << (seq % 8))) {
			s->dup++;
			dup++;
			continue;
		}
		s->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		s->good++;
		good++;
		if (seq > s->maxseq)
			s->maxseq = seq;
		for (j = 0; j < s->nsizes; j++)
			if (s->by_size[j].size == size)
				break;
		if (j == s->nsizes && j < MAX_SIZES)
			s->by_size[s->nsizes++].size = size;
		if (j < MAX_SIZES)
			s->by_size[j].count++;
	}
	for (i = 0; i < MAX_STREAMS; i++) {
		if (!st[i].used)
			continue;
		for (j = 0; j < st[i].nsizes; j++)
			printf("recv stream=%d size=%u count=%ld\n", i,
			       st[i].by_size[j].size, st[i].by_size[j].count);
		printf("recv stream=%d good=%ld dup=%ld maxseq=%u\n", i,
		       st[i].good, st[i].dup, st[i].maxseq);
	}
	printf("recv total good=%ld dup=%ld corrupt=%ld foreign=%ld\n",
	       good, dup, corrupt, foreign);
	fflush(stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct tool_cmd cmds[] = {
		{ "send", do_send },
		{ "recv", do_recv },
		{ NULL, NULL },
	};

	tool_name = "udpseq";
	return tool_dispatch(argc, argv, cmds, usage);
}
