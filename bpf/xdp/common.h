/* SPDX-License-Identifier: MIT */
/*
 * Maps and helpers both XDP programs declare the same way (BPF side only):
 * the XSKMAP the PMD fills, the configuration record and the counters.
 * Each program is its own object, so each gets its own instances.
 */
#ifndef TP_BPF_COMMON_H
#define TP_BPF_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"
#include "tp/bpf/xdp_shared.h"

/* AF_XDP sockets by rx queue index; filled by the net_af_xdp PMD. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, TP_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* Configuration record at index 0 (see struct tp_xdp_config). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tp_xdp_config);
} tp_config SEC(".maps");

/* What one packet needs from the configuration, with defaults applied. */
struct conf {
	__u32 flags;
	__u16 tunnel_port;
	__u32 hs_burst;
	__u64 hs_cost_ns;
	__u8 mac[6];
};

static __always_inline void conf_load(struct conf *c)
{
	__u32 zero = 0;
	struct tp_xdp_config *m = bpf_map_lookup_elem(&tp_config, &zero);

	if (m && m->version == TP_XDP_CONFIG_VERSION && m->hs_burst && m->hs_cost_ns) {
		c->flags = m->flags;
		c->tunnel_port = m->tunnel_port;
		c->hs_burst = m->hs_burst;
		c->hs_cost_ns = m->hs_cost_ns;
		__builtin_memcpy(c->mac, m->mac, 6);
		return;
	}
	c->flags = TP_XDP_DEFAULT_FLAGS;
	c->tunnel_port = TP_XDP_DEFAULT_TUNNEL_PORT;
	c->hs_burst = TP_XDP_DEFAULT_HS_BURST;
	c->hs_cost_ns = TP_XDP_NSEC_PER_SEC / TP_XDP_DEFAULT_HS_PER_SEC;
	__builtin_memset(c->mac, 0, 6);
}

/*
 * A unicast frame for another station. The PMD puts the port in promiscuous
 * mode, so on a shared segment (a switch flooding unknown unicast) frames
 * between other hosts reach XDP; the kernel would drop them as
 * PACKET_OTHERHOST, and the dataplane must not take them (it would forward
 * a copy). Checked only once the port's MAC is configured.
 */
static __always_inline bool for_other_host(struct xdp_md *ctx, const struct conf *c)
{
	const __u8 *d = (const __u8 *)(long)ctx->data;

	if ((const void *)(d + 6) > (const void *)(long)ctx->data_end)
		return false; /* parse_packet counts it as truncated */
	if (d[0] & 1)
		return false; /* multicast, broadcast */
	if (!(c->mac[0] | c->mac[1] | c->mac[2] | c->mac[3] | c->mac[4] | c->mac[5]))
		return false;
	return d[0] != c->mac[0] || d[1] != c->mac[1] || d[2] != c->mac[2] || d[3] != c->mac[3] ||
	       d[4] != c->mac[4] || d[5] != c->mac[5];
}

/* Per-CPU packet counter per reason; max_entries is set by each program. */
#define DECLARE_COUNTERS(nr)                             \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, nr);                 \
		__type(key, __u32);                      \
		__type(value, __u64);                    \
	} tp_counters SEC(".maps")

/* Counts the packet under reason and returns the verdict, for tail use. */
#define COUNT(reason, verdict)                                        \
	({                                                            \
		__u32 key_ = (reason);                                \
		__u64 *c_ = bpf_map_lookup_elem(&tp_counters, &key_); \
		if (c_)                                               \
			*c_ += 1;                                     \
		(verdict);                                            \
	})

/*
 * Hands the packet to the AF_XDP socket of its rx queue. Without a socket
 * there (dataplane not running, or still starting) the packet is dropped:
 * traffic the dataplane must police may never fall through to the kernel's
 * routing (fail closed, IEC 62443-4-2 NDR 5.2 RE3), whatever the host's
 * forwarding settings.
 */
#define REDIRECT_XSK(ctx, ok_reason, miss_reason)                                         \
	({                                                                                \
		long act_ = bpf_redirect_map(&xsks_map, (ctx)->rx_queue_index, XDP_DROP); \
		act_ == XDP_REDIRECT ? COUNT(ok_reason, XDP_REDIRECT)                     \
				     : COUNT(miss_reason, XDP_DROP);                      \
	})

static __always_inline bool is_arp(const struct pkt *p)
{
	return p->eth_proto == bpf_htons(ETH_P_ARP);
}

/* fe80::/10 and multicast of interface or link scope (ff01::/16, ff02::/16
 * and their flagged forms): the kernel never routes these off the link. */
static __always_inline bool is_link_scope6(const __u8 *a)
{
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || (a[0] == 0xff && (a[1] & 0x0f) <= 2);
}

/*
 * ICMPv6 neighbour discovery (RS, RA, NS, NA, redirect) and multicast
 * listener messages the kernel needs and could not forward: to a link-scope
 * destination, or with hop limit 1 (MLD). ND to the port's global address
 * is "to the TP"; anything else with these types is ordinary traffic.
 */
static __always_inline bool is_nd_for_kernel(const struct pkt *p)
{
	const __u8 *icmp6 = p->l4;

	/* ND and MLD never carry a routing header; one would make a packet
	 * to a link-scope address routable onwards to the header's next
	 * address (type 0, seg6 or RPL, if the host enables them) */
	if (p->family != 6 || p->l4_proto != IPPROTO_ICMPV6 || !icmp6 || p->srcroute)
		return false;
	switch (icmp6[0]) {
	case 130: /* MLD query */
	case 131: /* MLDv1 report */
	case 132: /* MLDv1 done */
	case 133: /* router solicitation */
	case 134: /* router advertisement */
	case 135: /* neighbor solicitation */
	case 136: /* neighbor advertisement */
	case 137: /* redirect */
	case 143: /* MLDv2 report */
		return p->ttl <= 1 || is_link_scope6(p->dst);
	default:
		return false;
	}
}

#endif /* TP_BPF_COMMON_H */
