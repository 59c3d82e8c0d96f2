// SPDX-License-Identifier: GPL-2.0-only
/*
 * nfqclear: the approach CLEARDF replaces, for the benchmarks to compare
 * against. An NFQUEUE rule hands every packet to this program, which clears
 * DF, writes a random IP ID (rand()), recomputes the whole header checksum
 * and gives the packet back with NF_ACCEPT. That is what the article's
 * program did; like it, this one also rewrites the ID of fragments and of
 * packets without DF (it does not look).
 *
 *   nfqclear [-q QUEUE] [-l MAXLEN] [-v]
 *
 * Built with the classic libnetfilter_queue API (nfq_open, nfq_create_queue,
 * nfq_set_verdict), one verdict per packet. Prints "nfqclear: ready" once
 * bound, and a count of packets when it gets SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static unsigned long packets, verdict_errors;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* RFC 1071: the one's complement of the one's complement sum. */
static uint16_t ip_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg,
		     struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	unsigned char *pkt;
	uint32_t id;
	int len;

	(void)nfmsg;
	(void)data;
	if (!ph)
		return -1;
	id = ntohl(ph->packet_id);
	len = nfq_get_payload(nfa, &pkt);
	if (len >= (int)sizeof(struct iphdr)) {
		struct iphdr *iph = (struct iphdr *)pkt;
		size_t hl = (size_t)iph->ihl * 4;

		if (iph->version == 4 && hl >= sizeof(*iph) && hl <= (size_t)len) {
			iph->frag_off &= htons((uint16_t)~IP_DF);
			iph->id = htons((uint16_t)rand());
			iph->check = 0;
			iph->check = ip_checksum(iph, hl);
		}
	}
	packets++;
	if (nfq_set_verdict(qh, id, NF_ACCEPT, len > 0 ? (uint32_t)len : 0, pkt) < 0)
		verdict_errors++;
	return 0;
}

int main(int argc, char **argv)
{
	long queue = 0, maxlen = 0;
	int c, fd, verbose = 0;
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	struct sigaction sa;
	char *buf;
	const size_t bufsz = 256 * 1024;
	unsigned long enobufs = 0;

	while ((c = getopt(argc, argv, "q:l:vh")) != -1) {
		switch (c) {
		case 'q': queue = strtol(optarg, NULL, 0); break;
		case 'l': maxlen = strtol(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		case 'h':
			printf("usage: nfqclear [-q QUEUE] [-l MAXLEN] [-v]\n");
			return 0;
		default:
			fprintf(stderr, "usage: nfqclear [-q QUEUE] [-l MAXLEN] [-v]\n");
			return 2;
		}
	}
	if (queue < 0 || queue > 65535 || maxlen < 0) {
		fprintf(stderr, "nfqclear: bad queue number or length\n");
		return 2;
	}
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = nfq_open();
	if (!h) {
		perror("nfqclear: nfq_open");
		return 1;
	}
	/* harmless on kernels that ignore it, required by old ones */
	nfq_unbind_pf(h, AF_INET);
	if (nfq_bind_pf(h, AF_INET) < 0) {
		perror("nfqclear: nfq_bind_pf");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
	if (!qh) {
		perror("nfqclear: nfq_create_queue");
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) {
		perror("nfqclear: nfq_set_mode");
		return 1;
	}
	if (maxlen && nfq_set_queue_maxlen(qh, (uint32_t)maxlen) < 0) {
		perror("nfqclear: nfq_set_queue_maxlen");
		return 1;
	}
	nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
	buf = malloc(bufsz);
	if (!buf) {
		perror("nfqclear");
		return 1;
	}
	fd = nfq_fd(h);
	printf("nfqclear: ready on queue %ld\n", queue);
	fflush(stdout);

	while (!stop) {
		ssize_t rv = recv(fd, buf, bufsz, 0);

		if (rv < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* the kernel dropped messages: go on */
				enobufs++;
				continue;
			}
			perror("nfqclear: recv");
			break;
		}
		nfq_handle_packet(h, buf, (int)rv);
		if (verbose && packets % 100000 == 0)
			fprintf(stderr, "nfqclear: %lu packets\n", packets);
	}
	printf("nfqclear: %lu packets, %lu verdict errors, %lu ENOBUFS\n",
	       packets, verdict_errors, enobufs);
	nfq_destroy_queue(qh);
	nfq_close(h);
	free(buf);
	return 0;
}
