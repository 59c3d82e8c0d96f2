// SPDX-License-Identifier: GPL-2.0-only
/*
 * pktpeek: hold IPv4 packets in a plain packet socket's queue and print
 * their headers later, as they are then.
 *
 *   pktpeek [-t SECONDS] IFNAME
 *
 * Opens an AF_PACKET SOCK_DGRAM socket for ETH_P_IP bound to IFNAME, with
 * no ring: the kernel queues, for each packet received on IFNAME, a clone
 * of the skb that shares its data with the skb that goes on up the stack.
 * Prints "ready pid=PID", then waits for SIGUSR1 (or SECONDS, default
 * 30), then reads every queued packet and prints one line per IPv4 packet:
 *
 *   pkt=1 src=192.0.2.1 dst=198.51.100.1 proto=253 id=4660 df=1 mf=0
 *   off=0 ihl=5 len=84 ttl=64 csum=ok
 *
 * (one line; the fields as tests/tools/pcapip prints them) and a last line
 * "done packets=N". If something up the stack wrote into the shared data,
 * these lines show it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	struct sockaddr_ll sll;
	struct timespec ts = { 30, 0 };
	sigset_t set;
	unsigned long n = 0;
	unsigned int ifindex;
	int fd, c;

	tool_name = "pktpeek";

	while ((c = getopt(argc, argv, "t:h")) != -1) {
		switch (c) {
		case 't': ts.tv_sec = atoi(optarg); break;
		case 'h': printf("usage: pktpeek [-t SECONDS] IFNAME\n"); return 0;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: pktpeek [-t SECONDS] IFNAME\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "pktpeek: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	/* SIGUSR1 is taken by sigtimedwait(), never delivered */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (fd < 0) {
		perror("pktpeek: socket");
		return 1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = (int)ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("pktpeek: bind");
		return 1;
	}
	printf("ready pid=%ld\n", (long)getpid());
	fflush(stdout);

	if (sigtimedwait(&set, NULL, &ts) < 0 && errno != EAGAIN) {
		perror("pktpeek: sigtimedwait");
		return 1;
	}

	for (;;) {
		char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		unsigned int ihl, fo;

		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			perror("pktpeek: recv");
			return 1;
		}
		n++;
		if (len < 20 || buf[0] >> 4 != 4 || (ihl = (buf[0] & 15u) * 4) < 20 ||
		    (size_t)len < ihl) {
			printf("pkt=%lu notipv4=1 len=%zd\n", n, len);
			continue;
		}
		fo = get16(buf + 6);
		inet_ntop(AF_INET, buf + 12, src, sizeof(src));
		inet_ntop(AF_INET, buf + 16, dst, sizeof(dst));
		printf("pkt=%lu src=%s dst=%s proto=%u id=%u df=%u mf=%u off=%u ihl=%u len=%u ttl=%u csum=%s\n",
		       n, src, dst, buf[9], get16(buf + 4), fo >> 14 & 1, fo >> 13 & 1,
		       (fo & 0x1fff) * 8, ihl / 4, get16(buf + 2), buf[8],
		       ip_csum_ok(buf, ihl) ? "ok" : "bad");
	}
	printf("done packets=%lu\n", n);
	close(fd);
	return 0;
}
