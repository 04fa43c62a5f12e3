/* SPDX-License-Identifier: MIT */
/*
 * XDP program of a zone port: the kernel gets only what it needs and
 * cannot forward; early drop of what the dataplane would drop anyway,
 * before it costs an AF_XDP copy.
 *
 *   unicast to another MAC (promisc)  -> drop
 *   ARP                               -> kernel
 *   other non-IP (LLDP, ...)          -> drop
 *   link-scope ICMPv6 ND / MLD        -> kernel
 *   addressed to the TP on this port  -> kernel (management), unless it
 *                                        carries IPv4 options or an IPv6
 *                                        routing header (source route): drop
 *   multicast/broadcast/link-local    -> drop (never crosses zones)
 *   source not in a local zone        -> drop (anti-spoof)
 *   destination in no zone            -> drop
 *   zone pair without any conduit     -> drop
 *   everything else                   -> AF_XDP socket of the rx queue
 *
 * So a packet between zones reaches the dataplane or nothing, whatever the
 * host's forwarding settings (DESIGN.md §2.7).
 *
 * Zones, pairs and local addresses are read under one generation per packet
 * (see tp/bpf/xdp_shared.h). The port-level policy itself (rules, flows) is the
 * dataplane's: this program only removes what no rule could allow.
 */
#include "parse.h"
#include "common.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

DECLARE_COUNTERS(TP_XDP_ZONE_NR_REASONS);

/* Active generation of the zone tables (struct tp_xdp_gen at index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tp_xdp_gen);
} zone_gen SEC(".maps");

/* IPv4 prefixes of all zones -> zone id and local flag. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * TP_XDP_MAX_PREFIXES_PER_GEN);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tp_xdp_lpm4_key);
	__type(value, struct tp_xdp_zone_val);
} zone_lpm4 SEC(".maps");

/* IPv6 prefixes of all zones -> zone id and local flag. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * TP_XDP_MAX_PREFIXES_PER_GEN);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tp_xdp_lpm6_key);
	__type(value, struct tp_xdp_zone_val);
} zone_lpm6 SEC(".maps");

/* (source zone, destination zone) pairs that have at least one conduit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TP_XDP_MAX_PAIRS_PER_GEN);
	__type(key, struct tp_xdp_pair_key);
	__type(value, __u32);
} zone_pairs SEC(".maps");

/* Addresses of the TP itself on this port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TP_XDP_MAX_LOCAL_PER_GEN);
	__type(key, struct tp_xdp_local_key);
	__type(value, __u32);
} local_addrs SEC(".maps");

static __always_inline __u8 gen_load(void)
{
	__u32 zero = 0;
	struct tp_xdp_gen *g = bpf_map_lookup_elem(&zone_gen, &zero);

	return g ? (__u8)(*(volatile __u32 *)&g->gen & 1) : 0;
}

static __always_inline struct tp_xdp_zone_val *zone_of(const struct pkt *p, const __u8 *addr,
						       __u8 gen)
{
	if (p->family == 4) {
		struct tp_xdp_lpm4_key k = {.prefixlen = 8 + 32, .gen = gen};

		__builtin_memcpy(k.addr, addr, 4);
		return bpf_map_lookup_elem(&zone_lpm4, &k);
	}
	struct tp_xdp_lpm6_key k = {.prefixlen = 8 + 128, .gen = gen};

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&zone_lpm6, &k);
}

static __always_inline bool is_to_tp(const struct pkt *p, __u8 gen)
{
	struct tp_xdp_local_key k = {.gen = gen, .family = p->family};

	__builtin_memcpy(k.addr, p->dst, 16);
	return bpf_map_lookup_elem(&local_addrs, &k) != NULL;
}

/* Destinations that are never another zone's host. */
static __always_inline bool is_local_scope(const struct pkt *p)
{
	const __u8 *d = p->dst;

	if (p->family == 4)
		return (d[0] & 0xf0) == 0xe0 ||					   /* 224/4 */
		       (d[0] == 169 && d[1] == 254) ||				   /* 169.254/16 */
		       (d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255); /* broadcast */
	return d[0] == 0xff ||							   /* ff00::/8 */
	       (d[0] == 0xfe && (d[1] & 0xc0) == 0x80);				   /* fe80::/10 */
}

SEC("xdp")
int tp_xdp_zone(struct xdp_md *ctx)
{
	struct tp_xdp_zone_val *src, *dst;
	struct pkt p = {};
	struct conf conf;
	__u8 gen;

	conf_load(&conf);
	if (for_other_host(ctx, &conf))
		return COUNT(TP_XDP_ZONE_DROP_OTHER_HOST, XDP_DROP);
	switch (parse_packet(ctx, &p)) {
	case PARSE_OK:
		break;
	case PARSE_NON_IP:
		if (is_arp(&p))
			return COUNT(TP_XDP_ZONE_PASS_ARP, XDP_PASS);
		return COUNT(TP_XDP_ZONE_DROP_NON_IP, XDP_DROP);
	case PARSE_TRUNC_L2:
		return COUNT(TP_XDP_ZONE_DROP_TRUNC_L2, XDP_DROP);
	case PARSE_TRUNC_L3:
		return COUNT(TP_XDP_ZONE_DROP_TRUNC_L3, XDP_DROP);
	case PARSE_TRUNC_L4:
		return COUNT(TP_XDP_ZONE_DROP_TRUNC_L4, XDP_DROP);
	default:
		return COUNT(TP_XDP_ZONE_DROP_BAD_L3, XDP_DROP);
	}
	if (is_nd_for_kernel(&p))
		return COUNT(TP_XDP_ZONE_PASS_ND, XDP_PASS);

	gen = gen_load();
	if (is_to_tp(&p, gen)) {
		if (p.srcroute)
			return COUNT(TP_XDP_ZONE_DROP_IP_OPTIONS, XDP_DROP);
		return COUNT(TP_XDP_ZONE_PASS_TO_TP, XDP_PASS);
	}
	if (is_local_scope(&p))
		return COUNT(TP_XDP_ZONE_DROP_LOCAL_SCOPE, XDP_DROP);

	src = zone_of(&p, p.src, gen);
	if (!src || !(src->flags & TP_XDP_ZONE_LOCAL)) {
		if (conf.flags & TP_XDP_F_ANTISPOOF)
			return COUNT(TP_XDP_ZONE_DROP_SPOOFED, XDP_DROP);
		goto redirect; /* no known source zone: leave it to the dataplane */
	}
	if (!(conf.flags & TP_XDP_F_ZONE_PAIR))
		goto redirect;
	dst = zone_of(&p, p.dst, gen);
	if (!dst)
		return COUNT(TP_XDP_ZONE_DROP_NO_DST_ZONE, XDP_DROP);
	if (src->zone != dst->zone) {
		struct tp_xdp_pair_key k = {
			.gen = gen,
			.src_zone = src->zone,
			.dst_zone = dst->zone,
		};

		if (!bpf_map_lookup_elem(&zone_pairs, &k))
			return COUNT(TP_XDP_ZONE_DROP_NO_CONDUIT, XDP_DROP);
	}
redirect:
	return REDIRECT_XSK(ctx, TP_XDP_ZONE_REDIRECT, TP_XDP_ZONE_XSK_MISS);
}
