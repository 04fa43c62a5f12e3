/* SPDX-License-Identifier: MIT */
/*
 * Packet parsing shared by the XDP programs (BPF side only).
 *
 * A header cursor walks Ethernet (+ one 802.1Q/802.1ad tag), IPv4 (options
 * skipped by IHL) or IPv6 (up to PARSE_MAX_EXT extension headers) and the
 * first bytes of TCP, UDP, ICMP or ICMPv6. Every pull is checked against
 * data_end before the bytes are touched, so a short frame never reads past
 * the packet; lengths come from the IP header, not the frame, so Ethernet
 * padding of short frames is ignored.
 */
#ifndef TP_BPF_PARSE_H
#define TP_BPF_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PARSE_MAX_EXT  6 /* IPv6 extension headers followed before giving up */
#define IP_MF	       0x2000
#define IP_OFFSET_MASK 0x1fff
#define IP6_OFF_MASK   0xfff8

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

struct cursor {
	void *pos;
	void *end;
};

/* Returns the current position and advances by len, or NULL if the packet
 * has fewer than len bytes left (the cursor is then left unchanged). */
static __always_inline void *cursor_pull(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

enum parse_result {
	PARSE_OK,
	PARSE_NON_IP, /* not IPv4/IPv6 after at most one VLAN tag */
	PARSE_TRUNC_L2,
	PARSE_TRUNC_L3,
	PARSE_BAD_L3,
	PARSE_TRUNC_L4,
};

struct pkt {
	__be16 eth_proto; /* EtherType after at most one VLAN tag */
	__u8 family;	  /* 4 or 6 */
	__u8 l4_proto;	  /* IPPROTO_*, after IPv6 extension headers */
	__u8 fragment;	  /* part of a fragmented datagram */
	__u8 later_frag;  /* not the first fragment: no L4 header */
	__u8 ttl;	  /* IPv4 TTL, IPv6 hop limit */
	__u8 srcroute;	  /* IPv4 options or an IPv6 routing header */
	__u32 l4_len;	  /* L4 bytes according to the IP header */
	void *l4;	  /* l4_len >= the minimal header, checked against data_end */
	__u8 src[16];	  /* IPv4 uses the first 4 bytes */
	__u8 dst[16];
};

/* Minimal L4 header whose presence is checked: what ports/types need. */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
		return 8;
	case IPPROTO_ICMP:
		return 8;
	case IPPROTO_ICMPV6:
		return 4;
	default:
		return 0;
	}
}

static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	void *start = c->pos;
	struct iphdr *ip = cursor_pull(c, sizeof(*ip));
	__u32 hlen, tot;
	__u16 frag;

	if (!ip)
		return PARSE_TRUNC_L3;
	if (ip->version != 4 || ip->ihl < 5)
		return PARSE_BAD_L3;
	hlen = ip->ihl * 4;
	if (!cursor_pull(c, hlen - sizeof(*ip)))
		return PARSE_TRUNC_L3;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen)
		return PARSE_BAD_L3;
	if (start + tot > c->end)
		return PARSE_TRUNC_L3;
	frag = bpf_ntohs(ip->frag_off);
	p->family = 4;
	p->l4_proto = ip->protocol;
	p->fragment = (frag & (IP_MF | IP_OFFSET_MASK)) != 0;
	p->later_frag = (frag & IP_OFFSET_MASK) != 0;
	p->ttl = ip->ttl;
	p->srcroute = hlen > sizeof(*ip); /* LSRR/SSRR hide among the options */
	p->l4_len = tot - hlen;
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);
	return PARSE_OK;
}

struct ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
	__u16 frag_off; /* only meaningful in a fragment header */
};

static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6 = cursor_pull(c, sizeof(*ip6));
	__u32 left;
	__u8 next;

	if (!ip6)
		return PARSE_TRUNC_L3;
	if (ip6->version != 6)
		return PARSE_BAD_L3;
	left = bpf_ntohs(ip6->payload_len);
	if (c->pos + left > c->end)
		return PARSE_TRUNC_L3;
	next = ip6->nexthdr;
	p->family = 6;
	p->ttl = ip6->hop_limit;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);

#pragma unroll
	for (int i = 0; i < PARSE_MAX_EXT; i++) {
		struct ext_hdr *e;
		__u32 len;

		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT && next != IPPROTO_AH)
			break;
		e = cursor_pull(c, sizeof(*e));
		if (!e)
			return PARSE_TRUNC_L3;
		if (next == IPPROTO_FRAGMENT) {
			len = 8;
			p->fragment = 1;
			p->later_frag = (bpf_ntohs(e->frag_off) & IP6_OFF_MASK) != 0;
		} else if (next == IPPROTO_ROUTING) {
			len = ((__u32)e->hdrlen + 1) * 8;
			p->srcroute = 1;
		} else if (next == IPPROTO_AH) {
			len = ((__u32)e->hdrlen + 2) * 4;
		} else {
			len = ((__u32)e->hdrlen + 1) * 8;
		}
		if (len > left || len < sizeof(*e))
			return PARSE_BAD_L3;
		if (!cursor_pull(c, len - sizeof(*e)))
			return PARSE_TRUNC_L3;
		left -= len;
		next = e->nexthdr;
	}
	p->l4_proto = next;
	p->l4_len = left;
	return PARSE_OK;
}

/* Fills p from the frame in [data, data_end). */
static __always_inline int parse_packet(struct xdp_md *ctx, struct pkt *p)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct ethhdr *eth = cursor_pull(&c, sizeof(*eth));
	__u16 proto;
	__u32 need;
	int r;

	if (!eth)
		return PARSE_TRUNC_L2;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan {
			__be16 tci;
			__be16 proto;
		} *v = cursor_pull(&c, sizeof(*v));

		if (!v)
			return PARSE_TRUNC_L2;
		proto = v->proto;
	}
	p->eth_proto = proto;
	if (proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(&c, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(&c, p);
	else
		return PARSE_NON_IP;
	if (r != PARSE_OK)
		return r;

	p->l4 = NULL;
	if (p->later_frag)
		return PARSE_OK;
	need = l4_min_len(p->l4_proto);
	if (!need)
		return PARSE_OK;
	if (p->l4_len < need)
		return PARSE_TRUNC_L4;
	p->l4 = c.pos;
	if (!cursor_pull(&c, need))
		return PARSE_TRUNC_L4;
	return PARSE_OK;
}

#endif /* TP_BPF_PARSE_H */
