/* SPDX-License-Identifier: MIT */
/*
 * XDP program of the transit port: only WireGuard-protocol UDP to the tunnel
 * port reaches AF_XDP. The kernel gets ARP, link-scope ND/MLD and what is
 * addressed to the port's own addresses (port_addrs: SSH, ICMP, fragments to
 * reassemble) unless it carries a source route; everything else is dropped,
 * so a clear packet from the transit network to a zone address never meets
 * the kernel's routing, whatever the host's forwarding settings
 * (DESIGN.md §2.7). tpd writes port_addrs when it takes the port; while it
 * is empty nothing but ARP/ND and tunnel traffic passes (fail closed).
 *
 * Tunnel datagrams are checked for a plausible message (type 1..4 with three
 * zero bytes, the exact size of types 1-3, at least 32 bytes for type 4);
 * handshake messages (types 1 and 2) then pass a per-source rate limit, like
 * WireGuard's ratelimiter (keyed by IPv4 address or IPv6 /64, 20/s, burst 5
 * by default), so a handshake flood is cut before it costs an AF_XDP copy
 * and a slot in the control thread's bounded handshake ring.
 *
 * Rate limiter state: one LRU hash entry per source holding a GCRA
 * "theoretical arrival time" (tat). GCRA with interval T = 1 s / rate and
 * tolerance (burst - 1) * T admits exactly what a token bucket of that rate
 * and depth admits, but its state is one u64, so CPUs update it with a
 * compare-and-swap instead of a lock (LRU hash values cannot hold a
 * bpf_spin_lock). A new source starts with one packet spent.
 */
#include "parse.h"
#include "common.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define WG_TYPE_INITIATION  1
#define WG_TYPE_RESPONSE    2
#define WG_TYPE_COOKIE	    3
#define WG_TYPE_DATA	    4
#define WG_INITIATION_BYTES 148
#define WG_RESPONSE_BYTES   92
#define WG_COOKIE_BYTES	    64
#define WG_DATA_MIN_BYTES   32
#define RL_CAS_TRIES	    4 /* contention beyond this: treat as over the limit */

DECLARE_COUNTERS(TP_XDP_TRANSIT_NR_REASONS);

/* Addresses of the transit port itself (struct tp_xdp_addr_key -> 1). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TP_XDP_MAX_PORT_ADDRS);
	__type(key, struct tp_xdp_addr_key);
	__type(value, __u32);
} port_addrs SEC(".maps");

static __always_inline bool is_own(const struct pkt *p)
{
	struct tp_xdp_addr_key k = {.family = p->family};

	__builtin_memcpy(k.addr, p->dst, 16);
	return bpf_map_lookup_elem(&port_addrs, &k) != NULL;
}

/* Handshake sources -> GCRA theoretical arrival time, ns (bpf_ktime_get_ns). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TP_XDP_HS_RL_ENTRIES);
	__type(key, struct tp_xdp_rl_key);
	__type(value, __u64);
} hs_ratelimit SEC(".maps");

static __always_inline bool hs_allowed(const struct pkt *p, const struct conf *conf)
{
	struct tp_xdp_rl_key key = {.family = p->family};
	__u64 now = bpf_ktime_get_ns();
	__u64 tau = conf->hs_cost_ns * (conf->hs_burst - 1);
	__u64 *tat, old, next;

	/* IPv4: the address; IPv6: the /64, as one host owns a whole /64. */
	if (p->family == 4)
		__builtin_memcpy(key.addr, p->src, 4);
	else
		__builtin_memcpy(key.addr, p->src, 8);

	tat = bpf_map_lookup_elem(&hs_ratelimit, &key);
	if (!tat) {
		next = now + conf->hs_cost_ns;
		if (!bpf_map_update_elem(&hs_ratelimit, &key, &next, BPF_NOEXIST))
			return true;
		tat = bpf_map_lookup_elem(&hs_ratelimit, &key); /* lost the race */
		if (!tat)
			return false;
	}
	old = *(volatile __u64 *)tat;
#pragma unroll
	for (int i = 0; i < RL_CAS_TRIES; i++) {
		__u64 start = old > now ? old : now;
		__u64 seen;

		if (start - now > tau)
			return false;
		next = start + conf->hs_cost_ns;
		seen = __sync_val_compare_and_swap(tat, old, next);
		if (seen == old)
			return true;
		old = seen;
	}
	return false;
}

SEC("xdp")
int tp_xdp_transit(struct xdp_md *ctx)
{
	struct pkt p = {};
	struct conf conf;
	struct udphdr {
		__be16 source;
		__be16 dest;
		__be16 len;
		__be16 check;
	} * udp;
	__u8 *msg;
	__u32 ulen, plen;
	void *end = (void *)(long)ctx->data_end;

	conf_load(&conf);
	if (for_other_host(ctx, &conf))
		return COUNT(TP_XDP_TRANSIT_DROP_OTHER_HOST, XDP_DROP);
	switch (parse_packet(ctx, &p)) {
	case PARSE_OK:
		break;
	case PARSE_NON_IP:
		if (is_arp(&p))
			return COUNT(TP_XDP_TRANSIT_PASS_ARP, XDP_PASS);
		return COUNT(TP_XDP_TRANSIT_DROP_NON_IP, XDP_DROP);
	case PARSE_TRUNC_L2:
		return COUNT(TP_XDP_TRANSIT_DROP_TRUNC_L2, XDP_DROP);
	case PARSE_TRUNC_L3:
		return COUNT(TP_XDP_TRANSIT_DROP_TRUNC_L3, XDP_DROP);
	case PARSE_TRUNC_L4:
		return COUNT(TP_XDP_TRANSIT_DROP_TRUNC_L4, XDP_DROP);
	default:
		return COUNT(TP_XDP_TRANSIT_DROP_BAD_L3, XDP_DROP);
	}
	if (is_nd_for_kernel(&p))
		return COUNT(TP_XDP_TRANSIT_PASS_ND, XDP_PASS);
	if (p.fragment)
		goto to_kernel;
	if (p.l4_proto != IPPROTO_UDP)
		goto to_kernel;
	udp = p.l4;
	/* parse_packet checked these 8 bytes; the verifier needs to see it here. */
	if (!udp || (void *)(udp + 1) > end)
		return COUNT(TP_XDP_TRANSIT_DROP_TRUNC_L4, XDP_DROP);
	if (!conf.tunnel_port || udp->dest != bpf_htons(conf.tunnel_port))
		goto to_kernel;

	ulen = bpf_ntohs(udp->len);
	if (ulen > p.l4_len)
		return COUNT(TP_XDP_TRANSIT_DROP_TRUNC_L4, XDP_DROP);
	if (ulen < sizeof(*udp) + 4)
		goto drop_bad_msg;
	plen = ulen - sizeof(*udp);
	msg = (__u8 *)(udp + 1);
	if ((void *)(msg + 4) > end)
		return COUNT(TP_XDP_TRANSIT_DROP_TRUNC_L4, XDP_DROP);
	if (msg[1] || msg[2] || msg[3])
		goto drop_bad_msg;

	switch (msg[0]) {
	case WG_TYPE_INITIATION:
		if (plen != WG_INITIATION_BYTES)
			goto drop_bad_msg;
		goto handshake;
	case WG_TYPE_RESPONSE:
		if (plen != WG_RESPONSE_BYTES)
			goto drop_bad_msg;
		goto handshake;
	case WG_TYPE_COOKIE:
		if (plen != WG_COOKIE_BYTES)
			goto drop_bad_msg;
		return REDIRECT_XSK(ctx, TP_XDP_TRANSIT_REDIRECT_COOKIE, TP_XDP_TRANSIT_XSK_MISS);
	case WG_TYPE_DATA:
		if (plen < WG_DATA_MIN_BYTES)
			goto drop_bad_msg;
		return REDIRECT_XSK(ctx, TP_XDP_TRANSIT_REDIRECT_DATA, TP_XDP_TRANSIT_XSK_MISS);
	default:
		goto drop_bad_msg;
	}

handshake:
	if ((conf.flags & TP_XDP_F_HS_RATELIMIT) && !hs_allowed(&p, &conf))
		return COUNT(TP_XDP_TRANSIT_DROP_HS_RATELIMIT, XDP_DROP);
	return REDIRECT_XSK(ctx, TP_XDP_TRANSIT_REDIRECT_HANDSHAKE, TP_XDP_TRANSIT_XSK_MISS);
drop_bad_msg:
	return COUNT(TP_XDP_TRANSIT_DROP_BAD_MSG, XDP_DROP);
to_kernel:
	/* not tunnel traffic: the kernel's only if it is for this port */
	if (!is_own(&p))
		return COUNT(TP_XDP_TRANSIT_DROP_NOT_LOCAL, XDP_DROP);
	if (p.srcroute)
		return COUNT(TP_XDP_TRANSIT_DROP_IP_OPTIONS, XDP_DROP);
	if (p.fragment)
		return COUNT(TP_XDP_TRANSIT_PASS_FRAGMENT, XDP_PASS);
	if (p.l4_proto != IPPROTO_UDP)
		return COUNT(TP_XDP_TRANSIT_PASS_NOT_UDP, XDP_PASS);
	return COUNT(TP_XDP_TRANSIT_PASS_OTHER_UDP, XDP_PASS);
}
