// SPDX-License-Identifier: GPL-2.0-only
/*
 * vnetsend: inject one TCP/IPv4 GSO packet through a packet socket with a
 * virtio_net_hdr (PACKET_VNET_HDR), the way a VM's virtio-net or a tap
 * user hands the kernel a packet to segment. The kernel takes gso_type and
 * gso_size from the header and leaves gso_segs at 0 (the packet is
 * SKB_GSO_DODGY). Sent through a packet socket, the first device's
 * transmit path (tcp4_gso_segment(), on validation) computes gso_segs;
 * written to a tap device (-t), the packet is *received* by the tap's
 * namespace with gso_segs still 0.
 *
 *   vnetsend [-t] [-c COUNT] [-m MSS] [-n SEGS] [-i ID] IFNAME DSTMAC SRC DST
 *
 * sends COUNT (default 1) packets out of IFNAME (an Ethernet device, to
 * DSTMAC; with -t: IFNAME is a tap device made with
 * `ip tuntap add IFNAME mode tap vnet_hdr`, and the packets enter the
 * stack on it) from SRC:40000 to DST:40001, each with SEGS (default 8) full
 * segments of MSS (default 1400) bytes of payload, DF set, IP ID ID
 * (default 4660) plus the packet's number, TCP flags ACK|PSH, the TCP
 * checksum left to the kernel (VIRTIO_NET_HDR_F_NEEDS_CSUM). Payload byte
 * k of the stream is (k * 7 + 3) & 0xff. Prints
 *   sent count=N bytes=B
 * Exit status 0, 1 on a send error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"

#define SPORT	40000
#define DPORT	40001
#define MAXLEN	65000

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vnetsend [-t] [-c COUNT] [-m MSS] [-n SEGS] [-i ID] IFNAME DSTMAC SRC DST\n");
}

int main(int argc, char **argv)
{
	long count = 1, mss = 1400, segs = 8, id = 4660, n, k;
	static uint8_t buf[sizeof(struct virtio_net_hdr) + 14 + 20 + 20 + MAXLEN];
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)buf;
	uint8_t *eth = buf + sizeof(*vh), *ip = eth + 14, *tcp = ip + 20;
	unsigned int mac[6];
	struct sockaddr_ll sll;
	struct in_addr src, dst;
	long long bytes = 0;
	int c, fd, one = 1, i, tap = 0;
	size_t plen, len;

	tool_name = "vnetsend";

	while ((c = getopt(argc, argv, "tc:m:n:i:h")) != -1) {
		switch (c) {
		case 't': tap = 1; break;
		case 'c': count = num(optarg, 1, 10000, "count"); break;
		case 'm': mss = num(optarg, 100, 9000, "mss"); break;
		case 'n': segs = num(optarg, 2, 64, "segments"); break;
		case 'i': id = num(optarg, 0, 65535, "id"); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 4) {
		usage(stderr);
		return 2;
	}
	plen = (size_t)(mss * segs);
	if (plen > MAXLEN) {
		fprintf(stderr, "vnetsend: MSS x SEGS is more than %d\n", MAXLEN);
		return 2;
	}
	if (sscanf(argv[optind + 1], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2],
		   &mac[3], &mac[4], &mac[5]) != 6 ||
	    inet_pton(AF_INET, argv[optind + 2], &src) != 1 ||
	    inet_pton(AF_INET, argv[optind + 3], &dst) != 1) {
		usage(stderr);
		return 2;
	}
	memset(&sll, 0, sizeof(sll));
	if (tap) {
		struct ifreq ifr;

		fd = open("/dev/net/tun", O_RDWR);
		if (fd < 0) {
			perror("vnetsend: /dev/net/tun");
			return 1;
		}
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[optind]);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			perror("vnetsend: TUNSETIFF");
			return 1;
		}
	} else {
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_IP);
		sll.sll_ifindex = (int)if_nametoindex(argv[optind]);
		if (!sll.sll_ifindex) {
			perror("vnetsend: interface");
			return 1;
		}
		fd = socket(AF_PACKET, SOCK_RAW, 0);
		if (fd < 0) {
			perror("vnetsend: socket");
			return 1;
		}
		if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
			       sizeof(one)) < 0) {
			perror("vnetsend: PACKET_VNET_HDR");
			return 1;
		}
	}

	len = 14 + 20 + 20 + plen;
	for (n = 0; n < count; n++) {
		uint32_t ps;

		memset(buf, 0, sizeof(*vh) + 14 + 40);
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh->hdr_len = 14 + 20 + 20;
		vh->gso_size = (uint16_t)mss;
		vh->csum_start = 14 + 20;
		vh->csum_offset = 16;
		for (i = 0; i < 6; i++)
			eth[i] = (uint8_t)mac[i];
		eth[6] = 0x02;		/* a locally administered source */
		eth[11] = 0x01;
		put16(eth + 12, ETH_P_IP);

		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(len - 14));
		put16(ip + 4, (uint16_t)(id + n));
		put16(ip + 6, 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, &src, 4);
		memcpy(ip + 16, &dst, 4);
		put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));

		put16(tcp, SPORT);
		put16(tcp + 2, DPORT);
		put32(tcp + 4, (uint32_t)(1 + n * (long)plen));	/* seq */
		put32(tcp + 8, 1);				/* ack */
		tcp[12] = 5 << 4;
		tcp[13] = 0x18;					/* ACK|PSH */
		put16(tcp + 14, 65535);
		for (k = 0; k < (long)plen; k++)
			tcp[20 + k] = (uint8_t)(((n * (long)plen + k) * 7 + 3) & 0xff);
		/* partial checksum: the pseudo header only, not complemented */
		ps = sum16(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)(20 + plen);
		put16(tcp + 16, fold(ps));

		if (tap ? write(fd, buf, sizeof(*vh) + len) < 0 :
			  sendto(fd, buf, sizeof(*vh) + len, 0,
				 (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			perror(tap ? "vnetsend: write" : "vnetsend: sendto");
			return 1;
		}
		bytes += (long long)plen;
	}
	printf("sent count=%ld bytes=%lld\n", count, bytes);
	close(fd);
	return 0;
}
