// SPDX-License-Identifier: GPL-2.0-only
/*
 * cleardf-tc: what CLEARDF does, as a tc (clsact) eBPF program: the
 * alternative an engineer would write today instead of a kernel module.
 *
 *   tc qdisc add dev DEV clsact
 *   tc filter add dev DEV ingress|egress bpf da obj cleardf-tc.o sec cleardf
 *   (sec cleardf_keepid: clear DF only, keep the ID)
 *
 * For an IPv4 packet with DF that is not a fragment, as CLEARDF: clear DF,
 * write a fresh ID (section "cleardf") or keep it ("cleardf_keepid"), and
 * fix the header checksum incrementally. Everything else passes untouched.
 *
 * The fresh ID is bpf_get_prandom_u32(): a program cannot reach the
 * kernel's per-destination generator (__ip_select_ident() is no helper),
 * so the IDs are random, not a counter per destination (bench/RESULTS.md
 * shows what that means for reassembly).
 *
 * Used by bench/guest/bench.sh (variants tc-bpf, tc-bpf-keepid) and by
 * tests/t/13-placement-table.sh (placement tc-ingress). Built by
 * tests/harness/build.sh with the host's clang -target bpf; needs only the
 * Linux uapi headers (no libbpf): the two helpers are declared below.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>

#define SEC(name) __attribute__((section(name), used))

/* BPF helpers: called by number (enum bpf_func_id in linux/bpf.h) */
static __u32 (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;
static long (*bpf_l3_csum_replace)(struct __sk_buff *skb, __u32 offset, __u64 from,
				   __u64 to, __u64 flags) = (void *)BPF_FUNC_l3_csum_replace;

/* a network-order constant: build.sh builds bpfel or bpfeb, the row's order */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BE16(x) ((__u16)(x))
#else
#define BE16(x) ((__u16)((((x) & 0xff) << 8) | (((x) >> 8) & 0xff)))
#endif
#define IP_DF_BE	BE16(0x4000)
#define IP_MF_OFF_BE	BE16(0x3fff)	/* MF and fragment offset */

/* the 32 bits at IP header offset 4: ID, then flags + fragment offset */
union id_frag {
	struct {
		__u16 id;
		__u16 frag_off;
	};
	__u32 word;
};

static __attribute__((always_inline)) int clear_df(struct __sk_buff *skb, int fresh_id)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	union id_frag old, new;

	/*
	 * At tc (ingress and egress) data starts at the Ethernet header. The
	 * version is read from the first byte, not iph->version: that bitfield
	 * follows the host's asm/byteorder.h (x86: little), not the target's.
	 */
	if ((void *)(iph + 1) > end || eth->h_proto != BE16(ETH_P_IP) ||
	    (*(__u8 *)iph >> 4) != 4)
		return TC_ACT_OK;
	old.id = iph->id;
	old.frag_off = iph->frag_off;
	/* no DF: nothing to do; a fragment: left alone, as by CLEARDF */
	if (!(old.frag_off & IP_DF_BE) || (old.frag_off & IP_MF_OFF_BE))
		return TC_ACT_OK;
	new.frag_off = old.frag_off & ~IP_DF_BE;
	new.id = fresh_id ? (__u16)bpf_get_prandom_u32() : old.id;
	/* direct write: the verifier makes the header writable (unclones) */
	iph->id = new.id;
	iph->frag_off = new.frag_off;
	/* one incremental update for both 16-bit words (size 4) */
	bpf_l3_csum_replace(skb, sizeof(struct ethhdr) + __builtin_offsetof(struct iphdr, check),
			    old.word, new.word, sizeof(new.word));
	return TC_ACT_OK;
}

SEC("cleardf")
int tc_cleardf(struct __sk_buff *skb)
{
	return clear_df(skb, 1);
}

SEC("cleardf_keepid")
int tc_cleardf_keepid(struct __sk_buff *skb)
{
	return clear_df(skb, 0);
}

/* iproute2 reads the program's license from this section. */
SEC("license")
char cleardf_tc_license[] = "GPL";
