// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpblast: the UDP sender and receiver of the cleardf benchmarks.
 *
 *   udpblast send [options] ADDR PORT
 *   udpblast recv [options] ADDR PORT
 *
 * The sender uses sendmmsg(), the receiver recvmmsg(). Each datagram
 * carries a sequence number (bytes 0-7 of the payload, host order) and,
 * with -k, a 64-bit FNV-1a hash of the whole payload (bytes 8-15) over
 * contents that differ for every datagram, so that a datagram reassembled
 * from the fragments of two different ones is recognised.
 *
 * Sender and receiver share a small control file (-c FILE, on a tmpfs both
 * see, whatever their network namespaces): the receiver publishes how many
 * datagrams it has received and when it has seen enough; the sender can
 * keep at most -w WINDOW datagrams in flight by that count, sleeping on a
 * futex, so that a slow stage (a userspace queue, the receiver) paces the
 * sender instead of dropping what it cannot take. The packet rate is then
 * the rate of the slowest stage, and no packet is lost on the way.
 *
 * Receiver modes (-m):
 *   count   counts datagrams into the control file, until the controller
 *           says quit (or -t); the controller measures the rate.
 *   ids     reads the IP header of every datagram (a raw socket next to
 *           the UDP one) and records each datagram's IP ID by sequence
 *           number; at the end it prints how often IDs repeat (see
 *           print_id_stats()). -n is the number of datagrams the sender
 *           sends.
 *   verify  counts the datagrams 0..-n-1 delivered intact, delivered
 *           corrupted (hash mismatch, wrong length) and lost.
 *
 *   udpblast ctl [-r ROUNDS] [-z ROUNDS] [-d SECS] [-W WARM] [-p PIECE] NAME=CTLFILE...
 * is the controller of packet-rate runs: senders started with -g (gated)
 * and receivers in count mode stay up, idle, for the whole run; in each
 * round the controller lets one pair after the other send for WARM + SECS
 * seconds (each round starting at the next pair, so that no pair is always
 * first) and prints the rate its receiver saw during the last SECS:
 *   slice name=NAME round=R pps=X mean=Y ...
 * where X is the median of the rates of the SECS's 100 ms pieces (-p), so
 * that a piece in which the machine did something else (on a busy host,
 * the guest's CPU is taken away now and then) does not count, and Y is
 * simply datagrams / SECS. -z rounds come first as a warm-up (every code
 * path run once, caches and the emulator's translations filled): printed
 * as "warmup" lines, not as slices.
 * Back to back, with nothing started in between, so that the pairs of a
 * round are measured under the same conditions. At the end it tells
 * everyone to quit.
 * Each side ends by printing one line of key=value pairs starting with
 * "result".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../tests/tools/tool.h"

#define HDR_BYTES	16	/* sequence number + hash */
#define MAX_PAYLOAD	65507
#define ID_WINDOW	65536	/* IDs a reassembly key can take */
#define RECV_VLEN	64

struct ctl {
	uint32_t rcvd;		/* futex word: datagrams received, mod 2^32 */
	uint32_t waiting;	/* the sender sleeps on rcvd */
	uint32_t ready;		/* the receiver listens */
	uint32_t stop;		/* the receiver has what it needs */
	uint64_t sent;		/* datagrams sent so far */
	uint32_t done;		/* the sender has finished */
	uint32_t gate;		/* futex word, gated sender: RUN, PAUSE or QUIT */
	uint32_t gated;		/* a gated sender waits for the gate */
	uint32_t pad;
	uint64_t lost;		/* datagrams the sender gave up waiting for */
};

enum { PAUSE = 0, RUN = 1, QUIT = 2 };

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", tool_name, what, strerror(errno));
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udpblast send [-s SIZE] [-D df|nodf] [-u] [-k] [-Z] [-n COUNT] [-t SECS]\n"
		"                     [-b BATCH] [-w WINDOW] [-r RATE] [-g] [-c CTLFILE] ADDR PORT\n"
		"       udpblast recv [-m count|ids|verify] [-c CTLFILE] [-n COUNT] [-i IDLE]\n"
		"                     [-t SECS] ADDR PORT\n"
		"       udpblast ctl [-r ROUNDS] [-z ROUNDS] [-d SECS] [-W WARM] [-p PIECE] NAME=CTLFILE...\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static double fnum(const char *s, double min, double max, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (%g..%g)\n", tool_name, what, s, min, max);
		exit(2);
	}
	return v;
}

static void parse_addr(const char *a, const char *p, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, a, &sin->sin_addr) != 1) {
		fprintf(stderr, "%s: bad address '%s'\n", tool_name, a);
		exit(2);
	}
	sin->sin_port = htons((uint16_t)num(p, 1, 65535, "port"));
}

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* ------------------------------------------------------------ payload */

/* Distinct contents for datagram seq, and the hash over all of it. */
static void fill_checked(uint8_t *buf, size_t size, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ULL + 1, h;
	size_t i;

	memcpy(buf, &seq, 8);
	for (i = HDR_BYTES; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	h = fnv1a(buf, 8, FNV1A_INIT);
	h = fnv1a(buf + HDR_BYTES, size - HDR_BYTES, h);
	memcpy(buf + 8, &h, 8);
}

static int check_payload(const uint8_t *buf, size_t size)
{
	uint64_t h, want;

	if (size < HDR_BYTES)
		return 0;
	h = fnv1a(buf, 8, FNV1A_INIT);
	h = fnv1a(buf + HDR_BYTES, size - HDR_BYTES, h);
	memcpy(&want, buf + 8, 8);
	return h == want;
}

/* ------------------------------------------------------------ control file */

static struct ctl *ctl_map(const char *path, int create, double wait_s)
{
	double t0 = now();
	struct ctl *c;
	int fd;

	for (;;) {
		fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0600);
		if (fd >= 0)
			break;
		if (create || errno != ENOENT || now() - t0 > wait_s)
			die(path);
		sleep_s(0.01);
	}
	if (create && ftruncate(fd, sizeof(*c)) < 0)
		die(path);
	if (!create) {
		struct stat st;

		while (fstat(fd, &st) == 0 && st.st_size < (off_t)sizeof(*c)) {
			if (now() - t0 > wait_s) {
				fprintf(stderr, "%s: %s: too short\n", tool_name, path);
				exit(1);
			}
			sleep_s(0.01);
		}
	}
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		die("mmap");
	close(fd);
	return c;
}

#define LOAD(p)		__atomic_load_n(p, __ATOMIC_SEQ_CST)
#define STORE(p, v)	__atomic_store_n(p, v, __ATOMIC_SEQ_CST)

/* ------------------------------------------------------------ sender */

/*
 * A UDP socket to DST. PROBE sets DF and ignores what the path MTU is
 * believed to be: a datagram bigger than a later link stays one packet
 * with DF, as from a tunnel endpoint. DONT sends without DF.
 */
static int send_socket(const struct sockaddr_in *dst, int df, int connected, int nocheck)
{
	int fd, val;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	val = df ? IP_PMTUDISC_PROBE : IP_PMTUDISC_DONT;
	if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &val, sizeof(val)) < 0)
		die("IP_MTU_DISCOVER");
	val = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &val, sizeof(val)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val));
	val = 1;
	if (nocheck && setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &val, sizeof(val)) < 0)
		die("SO_NO_CHECK");
	if (connected && connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0)
		die("connect");
	return fd;
}

/*
 * BATCH messages of SIZE bytes each for sendmmsg(), in one buffer (*BUFS),
 * addressed to DST (NULL: the socket is connected).
 */
static struct mmsghdr *send_batch(long batch, long size, struct sockaddr_in *dst, uint8_t **bufs)
{
	struct mmsghdr *msgs = calloc((size_t)batch, sizeof(*msgs));
	struct iovec *iov = calloc((size_t)batch, sizeof(*iov));
	long i;

	*bufs = calloc((size_t)batch, (size_t)size);
	if (!msgs || !iov || !*bufs)
		die("calloc");
	for (i = 0; i < batch; i++) {
		iov[i].iov_base = *bufs + i * size;
		iov[i].iov_len = (size_t)size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (dst) {
			msgs[i].msg_hdr.msg_name = dst;
			msgs[i].msg_hdr.msg_namelen = sizeof(*dst);
		}
	}
	return msgs;
}

/* The sender's flow control, by the receiver's count in the control file. */
struct flow {
	struct ctl *ctl;
	long window;		/* -w: at most this many datagrams in flight */
	int gated;
	double tend;		/* -t, when not gated */
	double last_progress;	/* when the receiver's count last moved */
	uint32_t last_rcvd;
	uint64_t lost, stalls;
};

/*
 * Wait until N more datagrams fit in the window (SENT sent so far), the
 * receiver has enough, the gate shuts, or (not gated) time is up. What is
 * in flight while the receiver's count stands still for a second is
 * counted as lost (and taken back when it arrives after all).
 */
static void wait_for_window(struct flow *f, uint64_t sent, long n)
{
	struct ctl *ctl = f->ctl;

	for (;;) {
		uint32_t rc = LOAD(&ctl->rcvd), inflight;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		double t;

		if (rc != f->last_rcvd) {
			f->last_rcvd = rc;
			f->last_progress = now();
		}
		inflight = (uint32_t)sent - rc - (uint32_t)f->lost;
		if ((int32_t)inflight < 0) {
			/* given up for lost, but they arrived after all */
			f->lost -= (uint32_t)-(int32_t)inflight;
			STORE(&ctl->lost, f->lost);
			inflight = 0;
		}
		if ((long)inflight + n <= f->window || LOAD(&ctl->stop) ||
		    (f->gated && LOAD(&ctl->gate) != RUN))
			return;
		STORE(&ctl->waiting, 1);
		if (LOAD(&ctl->rcvd) != rc)
			continue;
		if (futex(&ctl->rcvd, FUTEX_WAIT, rc, &ts) < 0 && errno == ETIMEDOUT) {
			t = now();
			f->stalls++;
			/* nothing for a second: what is in flight is lost */
			if (t - f->last_progress > 1.0) {
				f->lost += inflight;
				STORE(&ctl->lost, f->lost);
				f->last_progress = t;
			}
			if (!f->gated && t > f->tend)
				return;
		}
	}
}

static int cmd_send(int argc, char **argv)
{
	long size = 64, count = 0, batch = 32;
	double rate = 0, tmax = 60;
	int df = 1, connected = 1, checked = 0, nocheck = 0, c, fd;
	const char *ctlpath = NULL;
	struct sockaddr_in dst;
	struct mmsghdr *msgs;
	struct flow fl = { 0 };
	struct ctl *ctl = NULL;
	uint8_t *bufs;
	uint64_t sent = 0, errs = 0;
	double t0;
	long i;

	while ((c = getopt(argc, argv, "s:D:ukZn:t:b:w:r:gc:h")) != -1) {
		switch (c) {
		case 's': size = num(optarg, HDR_BYTES, MAX_PAYLOAD, "size"); break;
		case 'D':
			if (!strcmp(optarg, "df"))
				df = 1;
			else if (!strcmp(optarg, "nodf"))
				df = 0;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'u': connected = 0; break;
		case 'k': checked = 1; break;
		case 'Z': nocheck = 1; break;
		case 'n': count = num(optarg, 0, LONG_MAX, "count"); break;
		case 't': tmax = fnum(optarg, 0.01, 1e6, "time"); break;
		case 'b': batch = num(optarg, 1, 1024, "batch"); break;
		case 'w': fl.window = num(optarg, 0, 1 << 30, "window"); break;
		case 'r': rate = fnum(optarg, 0, 1e9, "rate"); break;
		case 'g': fl.gated = 1; break;
		case 'c': ctlpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 2) {
		usage(stderr);
		return 2;
	}
	parse_addr(argv[optind], argv[optind + 1], &dst);
	if (fl.window && fl.window < batch)
		batch = fl.window;
	if ((fl.window || fl.gated) && !ctlpath) {
		fprintf(stderr, "%s: -w and -g need -c\n", tool_name);
		return 2;
	}
	if (fl.gated && rate > 0) {
		fprintf(stderr, "%s: -g and -r do not go together\n", tool_name);
		return 2;
	}
	if (ctlpath) {
		double tw = now();

		ctl = ctl_map(ctlpath, 0, 10);
		while (!LOAD(&ctl->ready)) {
			if (now() - tw > 10) {
				fprintf(stderr, "%s: the receiver is not ready\n", tool_name);
				return 1;
			}
			sleep_s(0.005);
		}
	}
	fl.ctl = ctl;

	fd = send_socket(&dst, df, connected, nocheck);

	msgs = send_batch(batch, size, connected ? NULL : &dst, &bufs);

	t0 = now();
	fl.tend = t0 + tmax;
	fl.last_progress = t0;
	if (fl.gated)
		STORE(&ctl->gated, 1);
	for (;;) {
		long n = batch;
		int r;

		if (fl.gated) {
			uint32_t g;

			/* -t does not count while the gate is shut */
			if (LOAD(&ctl->gate) == PAUSE) {
				while ((g = LOAD(&ctl->gate)) == PAUSE)
					futex(&ctl->gate, FUTEX_WAIT, PAUSE, NULL);
				fl.last_progress = now();
			}
			if (LOAD(&ctl->gate) != RUN)
				break;
		} else if (now() > fl.tend) {
			break;
		}
		if (count && (long)sent >= count)
			break;
		if (ctl && LOAD(&ctl->stop))
			break;
		if (count && count - (long)sent < n)
			n = count - (long)sent;

		if (fl.window)
			wait_for_window(&fl, sent, n);
		if (fl.gated && LOAD(&ctl->gate) != RUN)
			continue;
		if (rate > 0) {
			double due = t0 + (double)sent / rate, t = now();

			if (due > t)
				sleep_s(due - t);
		}
		for (i = 0; i < n; i++) {
			uint8_t *b = bufs + i * size;
			uint64_t seq = sent + (uint64_t)i;

			if (checked)
				fill_checked(b, (size_t)size, seq);
			else
				memcpy(b, &seq, 8);
		}
		r = sendmmsg(fd, msgs, (unsigned int)n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED ||
			    errno == EPERM) {
				/* a full queue, a dropping rule, an ICMP error */
				errs++;
				if (errno != ECONNREFUSED)
					sleep_s(0.0005);
				continue;
			}
			die("sendmmsg");
		}
		sent += (uint64_t)r;
		if (ctl)
			STORE(&ctl->sent, sent);
	}
	if (ctl)
		STORE(&ctl->done, 1);
	printf("result role=send sent=%" PRIu64 " secs=%.3f pps=%.0f lost=%" PRIu64
	       " errors=%" PRIu64 " stalls=%" PRIu64 "\n",
	       sent, now() - t0, (double)sent / (now() - t0), fl.lost, errs, fl.stalls);
	return 0;
}

/* ------------------------------------------------------------ receiver */

enum { M_COUNT, M_IDS, M_VERIFY };

/*
 * IDs in sending order (the sequence number), skipping datagrams that
 * never arrived:
 *   repeats       datagrams whose ID was used by one of the 65,535 before
 *                 them (so some window of 65,536 consecutive datagrams
 *                 holds both)
 *   worst_window  the most such repeats inside one window of 65,536
 *                 consecutive datagrams (window size minus distinct IDs)
 *   min_dist      the shortest distance between two equal IDs
 * and how many different IDs there were, and the most frequent one.
 */
static void print_id_stats(const uint16_t *ids, const uint8_t *have, long n,
			   unsigned long df, unsigned long other)
{
	long *last = malloc(65536 * sizeof(long));
	uint32_t *cnt = calloc(65536, sizeof(uint32_t));
	uint16_t *seqd = malloc((size_t)(n ? n : 1) * sizeof(uint16_t));
	long i, k = 0, repeats = 0, min_dist = LONG_MAX, distinct = 0, worst = 0;
	long w, all_distinct = 0, top_id = 0;
	uint32_t top_count = 0;

	if (!last || !cnt || !seqd)
		die("malloc");
	for (i = 0; i < 65536; i++)
		last[i] = -1;
	for (i = 0; i < n; i++) {
		uint16_t id;

		if (!have[i])
			continue;
		id = ids[i];
		seqd[k] = id;
		if (last[id] >= 0) {
			long d = k - last[id];

			if (d < min_dist)
				min_dist = d;
			if (d < ID_WINDOW)
				repeats++;
		}
		last[id] = k;
		k++;
	}
	/* over all: how many different IDs, the most frequent one */
	for (i = 0; i < k; i++)
		cnt[seqd[i]]++;
	for (i = 0; i < 65536; i++) {
		if (cnt[i])
			all_distinct++;
		if (cnt[i] > top_count) {
			top_count = cnt[i];
			top_id = i;
		}
		cnt[i] = 0;
	}
	/* sliding window of ID_WINDOW datagrams (or all, if fewer) */
	w = k < ID_WINDOW ? k : ID_WINDOW;
	for (i = 0; i < k; i++) {
		if (cnt[seqd[i]]++ == 0)
			distinct++;
		if (i >= w) {
			if (--cnt[seqd[i - w]] == 0)
				distinct--;
		}
		if (i >= w - 1 && w - distinct > worst)
			worst = w - distinct;
	}
	printf("result role=recv mode=ids n=%ld got=%ld missing=%ld df=%lu other=%lu repeats=%ld "
	       "worst_window=%ld window=%ld distinct=%ld top_id=%ld top_count=%u ",
	       n, k, n - k, df, other, repeats, worst, w, all_distinct, top_id, top_count);
	if (min_dist == LONG_MAX)
		printf("min_dist=none\n");
	else
		printf("min_dist=%ld\n", min_dist);
	free(last);
	free(cnt);
	free(seqd);
}

/*
 * The receiver's socket: UDP bound to ME; for -m ids a raw socket next to
 * it. The IP header is only visible to a raw socket; it gets a copy of
 * every UDP datagram before UDP delivers it. The UDP socket then only
 * keeps the port open (no ICMP errors), with the smallest buffer: what it
 * drops costs nothing.
 */
static int recv_socket(int mode, const struct sockaddr_in *me)
{
	struct timeval tv = { 0, 100 * 1000 };
	int fd, ufd, val = 16 << 20;

	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ufd < 0)
		die("socket");
	if (bind(ufd, (const struct sockaddr *)me, sizeof(*me)) < 0)
		die("bind");
	fd = ufd;
	if (mode == M_IDS) {
		struct sockaddr_in any = *me;
		int small = 1;

		any.sin_port = 0;
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
		if (fd < 0)
			die("raw socket");
		if (bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0)
			die("bind raw");
		setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &val, sizeof(val)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val));
	if (mode == M_COUNT)
		tv.tv_sec = 1, tv.tv_usec = 0;	/* only to notice QUIT */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	return fd;
}

/* What the receiver counts in -m ids and -m verify, by sequence number. */
struct rstate {
	int mode;
	long n;
	struct sockaddr_in me;
	uint16_t *ids;		/* -m ids: the IP ID of datagram seq */
	uint8_t *have;		/* datagram seq arrived */
	unsigned long df, other, corrupted, dup, intact;
};

/* One datagram (-m ids: with its IP header) of LEN bytes at P. */
static void take_datagram(struct rstate *st, const uint8_t *p, size_t len)
{
	uint64_t seq;

	if (st->mode == M_IDS) {
		const struct iphdr *iph = (const struct iphdr *)p;
		const struct udphdr *uh;
		size_t hl;

		if (len < sizeof(*iph) || iph->version != 4) {
			st->other++;
			return;
		}
		hl = (size_t)iph->ihl * 4;
		uh = (const struct udphdr *)(p + hl);
		if (len < hl + sizeof(*uh) + 8 ||
		    iph->daddr != st->me.sin_addr.s_addr ||
		    uh->dest != st->me.sin_port) {
			st->other++;
			return;
		}
		memcpy(&seq, p + hl + sizeof(*uh), 8);
		if (seq >= (uint64_t)st->n || st->have[seq]) {
			st->other++;
			return;
		}
		st->have[seq] = 1;
		st->ids[seq] = ntohs(iph->id);
		if (iph->frag_off & htons(IP_DF))
			st->df++;
		st->intact++;
	} else if (st->mode == M_VERIFY) {
		if (len < HDR_BYTES || !check_payload(p, len)) {
			st->corrupted++;
			return;
		}
		memcpy(&seq, p, 8);
		if (seq >= (uint64_t)st->n) {
			st->corrupted++;
			return;
		}
		if (st->have[seq]) {
			st->dup++;
			return;
		}
		st->have[seq] = 1;
		st->intact++;
	}
}

static int cmd_recv(int argc, char **argv)
{
	int c, fd;
	double idle = 2, tmax = 0;
	const char *ctlpath = NULL;
	struct rstate st = { .mode = M_COUNT };
	struct ctl *ctl;
	struct mmsghdr msgs[RECV_VLEN];
	struct iovec iov[RECV_VLEN];
	uint8_t *bufs;
	size_t bufsz = 65536;
	double t0, tlast = 0;
	uint64_t rcvd = 0;
	int i, finished = 0;

	while ((c = getopt(argc, argv, "m:c:n:i:t:h")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "count"))
				st.mode = M_COUNT;
			else if (!strcmp(optarg, "ids"))
				st.mode = M_IDS;
			else if (!strcmp(optarg, "verify"))
				st.mode = M_VERIFY;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'c': ctlpath = optarg; break;
		case 'n': st.n = num(optarg, 1, 1L << 30, "count"); break;
		case 'i': idle = fnum(optarg, 0.01, 1e6, "idle time"); break;
		case 't': tmax = fnum(optarg, 0.01, 1e6, "time"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 2 || !ctlpath) {
		usage(stderr);
		return 2;
	}
	if (st.mode != M_COUNT && !tmax)
		tmax = 120;
	if (st.mode != M_COUNT && !st.n) {
		fprintf(stderr, "%s: -m ids and -m verify need -n\n", tool_name);
		return 2;
	}
	parse_addr(argv[optind], argv[optind + 1], &st.me);
	ctl = ctl_map(ctlpath, 1, 0);
	if (st.mode != M_COUNT) {
		st.ids = calloc((size_t)st.n, sizeof(*st.ids));
		st.have = calloc((size_t)st.n, 1);
		if (!st.ids || !st.have)
			die("calloc");
	}

	fd = recv_socket(st.mode, &st.me);

	bufs = malloc(RECV_VLEN * bufsz);
	if (!bufs)
		die("malloc");
	for (i = 0; i < RECV_VLEN; i++) {
		iov[i].iov_base = bufs + (size_t)i * bufsz;
		iov[i].iov_len = bufsz;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	STORE(&ctl->ready, 1);
	t0 = now();
	while (!finished) {
		int r = recvmmsg(fd, msgs, RECV_VLEN, MSG_WAITFORONE, NULL);
		double t = now();

		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			die("recvmmsg");
		if (r > 0) {
			for (i = 0; i < r && st.mode != M_COUNT; i++)
				take_datagram(&st, iov[i].iov_base, msgs[i].msg_len);
			rcvd += (uint64_t)r;
			__atomic_add_fetch(&ctl->rcvd, (uint32_t)r, __ATOMIC_SEQ_CST);
			if (LOAD(&ctl->waiting)) {
				STORE(&ctl->waiting, 0);
				futex(&ctl->rcvd, FUTEX_WAKE, INT_MAX, NULL);
			}
			tlast = t;
		}

		if (st.mode == M_COUNT) {
			if (LOAD(&ctl->gate) == QUIT)
				finished = 1;
		} else {
			if ((long)st.intact >= st.n)
				finished = 1;
			/* the sender is done and nothing came for a while */
			if (LOAD(&ctl->done) && t - (tlast > 0 ? tlast : t0) >= idle)
				finished = 1;
		}
		if (tmax > 0 && t - t0 > tmax)
			break;
	}
	STORE(&ctl->stop, 1);

	if (st.mode == M_COUNT) {
		printf("result role=recv mode=count rcvd=%" PRIu64 "%s\n", rcvd,
		       finished ? "" : " error=timeout");
	} else if (st.mode == M_IDS) {
		print_id_stats(st.ids, st.have, st.n, st.df, st.other);
	} else {
		printf("result role=recv mode=verify n=%ld intact=%lu corrupted=%lu dup=%lu lost=%ld\n",
		       st.n, st.intact, st.corrupted, st.dup, st.n - (long)st.intact);
	}
	return 0;
}

/* ------------------------------------------------------------ controller */

struct pair {
	const char *name;
	struct ctl *ctl;
};

static void set_gate(struct ctl *c, uint32_t g)
{
	STORE(&c->gate, g);
	futex(&c->gate, FUTEX_WAKE, INT_MAX, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_ctl(int argc, char **argv)
{
	long rounds = 5, r, k, np, ns, maxs, skip = 0;
	double secs = 2, warm = 0.5, piece = 0.1, *rates;
	struct pair *p;
	int c;

	while ((c = getopt(argc, argv, "r:d:W:p:z:h")) != -1) {
		switch (c) {
		case 'r': rounds = num(optarg, 1, 100000, "rounds"); break;
		case 'd': secs = fnum(optarg, 0.01, 1e6, "duration"); break;
		case 'W': warm = fnum(optarg, 0, 1e6, "warm-up"); break;
		case 'p': piece = fnum(optarg, 0.001, 1e6, "piece"); break;
		case 'z': skip = num(optarg, 0, 1000, "warm-up rounds"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	np = argc - optind;
	if (np < 1) {
		usage(stderr);
		return 2;
	}
	p = calloc((size_t)np, sizeof(*p));
	maxs = (long)(secs / piece) + 16;
	rates = calloc((size_t)maxs, sizeof(*rates));
	if (!p || !rates)
		die("calloc");
	for (k = 0; k < np; k++) {
		char *a = argv[optind + k], *eq = strchr(a, '=');
		double t0 = now();

		if (!eq) {
			usage(stderr);
			return 2;
		}
		*eq = 0;
		p[k].name = a;
		p[k].ctl = ctl_map(eq + 1, 0, 10);
		while (!LOAD(&p[k].ctl->ready) || !LOAD(&p[k].ctl->gated)) {
			if (now() - t0 > 20) {
				fprintf(stderr, "%s: %s: receiver or sender not ready\n", tool_name, a);
				return 1;
			}
			sleep_s(0.01);
		}
	}

	for (r = 1 - skip; r <= rounds; r++) {
		for (k = 0; k < np; k++) {
			struct pair *x = &p[(k + r - 1 + np * skip) % np];
			uint32_t r0, r1, ra, rb;
			double t0, t1, ta, tb, td, med;

			set_gate(x->ctl, RUN);
			sleep_s(warm);
			r0 = ra = LOAD(&x->ctl->rcvd);
			t0 = ta = now();
			ns = 0;
			for (;;) {
				sleep_s(t0 + (double)(ns + 1) * piece - now());
				rb = LOAD(&x->ctl->rcvd);
				tb = now();
				if (ns < maxs && tb > ta)
					rates[ns++] = (double)(rb - ra) / (tb - ta);
				ra = rb;
				ta = tb;
				if (tb - t0 >= secs - piece / 2 || ns >= maxs)
					break;
			}
			r1 = rb;
			t1 = tb;
			set_gate(x->ctl, PAUSE);
			qsort(rates, (size_t)ns, sizeof(*rates), cmp_double);
			med = ns % 2 ? rates[ns / 2] : (rates[ns / 2 - 1] + rates[ns / 2]) / 2;
			/* let what is in flight arrive before the next pair */
			td = now();
			while ((uint32_t)(LOAD(&x->ctl->sent) - LOAD(&x->ctl->lost)) !=
			       LOAD(&x->ctl->rcvd) && now() - td < 0.5)
				sleep_s(0.002);
			printf("%s name=%s round=%ld pps=%.1f mean=%.1f count=%u secs=%.3f pieces=%ld lost=%"
			       PRIu64 "\n", r > 0 ? "slice" : "warmup", x->name, r, med,
			       (double)(r1 - r0) / (t1 - t0), r1 - r0, t1 - t0, ns, LOAD(&x->ctl->lost));
			fflush(stdout);
		}
	}
	for (k = 0; k < np; k++)
		set_gate(p[k].ctl, QUIT);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct tool_cmd cmds[] = {
		{ "send", cmd_send },
		{ "recv", cmd_recv },
		{ "ctl", cmd_ctl },
		{ NULL, NULL },
	};

	tool_name = "udpblast";
	return tool_dispatch(argc, argv, cmds, usage);
}
