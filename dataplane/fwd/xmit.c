// SPDX-License-Identifier: MIT
/*
 * Headers the TP writes (Ethernet, outer IPv4/IPv6 + UDP, ICMP too-big),
 * TTL, and the next-hop cache the workers read.
 *
 * The cache maps a destination address (a peer's endpoint on the transit
 * side, a host on the zone side) to the MAC of its next hop as the kernel
 * resolved it. The control thread is its only writer (on a resolved held
 * packet, and refreshed from the kernel's table every second); workers read
 * it under a per-entry seqlock and, on a miss, hand the packet to the
 * control thread, which holds it until the kernel resolves the neighbour.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_mbuf.h>

#include "fwd_int.h"

#define NH_PROBE 8

static uint32_t nh_hash(uint8_t family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ family;
	unsigned len = family == 4 ? 4 : 16;

	for (unsigned i = 0; i < len; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static bool nh_same(const struct fwd_nh *e, uint8_t family, const uint8_t *addr)
{
	return e->family == family && memcmp(e->addr, addr, family == 4 ? 4 : 16) == 0;
}

bool fwd_nh_lookup(const struct tp_fwd *f, uint8_t family, const uint8_t *addr, uint8_t mac[6])
{
	uint32_t h = nh_hash(family, addr);

	if (f->p.static_mac) {
		memcpy(mac, f->p.static_mac, 6);
		return true;
	}
	for (unsigned k = 0; k < NH_PROBE; k++) {
		const struct fwd_nh *e = &f->nh[(h + k) & (NH_SLOTS - 1)];
		unsigned s1, s2;
		bool hit;

		do {
			s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
			hit = e->valid && nh_same(e, family, addr);
			if (hit)
				memcpy(mac, e->mac, 6);
			atomic_thread_fence(memory_order_acquire);
			s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
		} while ((s1 & 1) || s1 != s2);
		if (hit)
			return true;
	}
	return false;
}

static void nh_write(struct fwd_nh *e, uint8_t family, const uint8_t *addr, const uint8_t *mac)
{
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	e->family = family;
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, addr, family == 4 ? 4 : 16);
	if (mac)
		memcpy(e->mac, mac, 6);
	e->valid = mac != NULL;
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_release);
}

void fwd_nh_store(struct tp_fwd *f, uint8_t family, const uint8_t *addr, const uint8_t mac[6])
{
	uint32_t h = nh_hash(family, addr);
	struct fwd_nh *free_e = NULL;

	for (unsigned k = 0; k < NH_PROBE; k++) {
		struct fwd_nh *e = &f->nh[(h + k) & (NH_SLOTS - 1)];

		if (e->valid && nh_same(e, family, addr)) {
			if (memcmp(e->mac, mac, 6) != 0)
				nh_write(e, family, addr, mac);
			return;
		}
		if (!e->valid && !free_e)
			free_e = e;
	}
	/* a full probe window overwrites its first entry: the displaced
	 * destination resolves again through the control thread */
	nh_write(free_e ? free_e : &f->nh[h & (NH_SLOTS - 1)], family, addr, mac);
}

/* Follow the kernel: a changed MAC is updated, a neighbour the kernel no
 * longer finds usable is forgotten (its next packet is held and resolved). */
void fwd_nh_refresh(struct tp_fwd *f)
{
	if (!f->p.neigh)
		return;
	for (unsigned i = 0; i < NH_SLOTS; i++) {
		struct fwd_nh *e = &f->nh[i];
		uint8_t nexthop[16], mac[6];
		int oif;

		if (!e->valid)
			continue;
		if (tp_neigh_route(f->p.neigh, e->family, e->addr, &oif, nexthop) != 0 ||
		    tp_neigh_lookup(f->p.neigh, oif, e->family, nexthop, mac) != 0) {
			nh_write(e, e->family, e->addr, NULL);
			continue;
		}
		if (memcmp(mac, e->mac, 6) != 0)
			nh_write(e, e->family, e->addr, mac);
	}
}

int fwd_push_eth(struct tp_fwd *f, struct rte_mbuf *m, enum tp_port_role out, uint8_t family)
{
	uint8_t *eth = (uint8_t *)rte_pktmbuf_prepend(m, ETH_HLEN);

	if (!eth)
		return -ENOSPC;
	memset(eth, 0, 6);
	memcpy(eth + 6, f->mac[out], 6);
	eth[12] = family == 4 ? 0x08 : 0x86;
	eth[13] = family == 4 ? 0x00 : 0xdd;
	return 0;
}

bool fwd_resolve(struct tp_fwd *f, struct rte_mbuf *m, enum tp_port_role out, uint8_t family,
		 const uint8_t *nexthop)
{
	struct tp_pkt_meta *meta = tp_pkt_meta(m);

	if (fwd_nh_lookup(f, family, nexthop, rte_pktmbuf_mtod(m, uint8_t *)))
		return true;
	meta->out_role = (uint8_t)out;
	meta->nh_family = family;
	memset(meta->nh_addr, 0, sizeof(meta->nh_addr));
	memcpy(meta->nh_addr, nexthop, family == 4 ? 4 : 16);
	return false;
}

int fwd_encap(struct tp_fwd *f, struct rte_mbuf *m, const struct tp_tunnel_endpoint *dst)
{
	uint16_t msg_len = rte_pktmbuf_data_len(m);
	bool v6 = dst->family == AF_INET6;
	struct rte_udp_hdr *udp;
	uint8_t *ip;

	if (v6 ? !f->has6 : !f->has4)
		return -EAFNOSUPPORT;
	udp = (struct rte_udp_hdr *)rte_pktmbuf_prepend(m, UDP_HLEN);
	if (!udp)
		return -ENOSPC;
	udp->src_port = rte_cpu_to_be_16(f->cfg->listen_port);
	udp->dst_port = rte_cpu_to_be_16(dst->port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(msg_len + UDP_HLEN));
	udp->dgram_cksum = 0;
	ip = (uint8_t *)rte_pktmbuf_prepend(m, v6 ? IP6_HLEN : IP4_HLEN);
	if (!ip)
		return -ENOSPC;
	if (v6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16((uint16_t)(msg_len + UDP_HLEN));
		h->proto = IPPROTO_UDP;
		h->hop_limits = 64;
		memcpy(h->src_addr, f->addr6, 16);
		memcpy(h->dst_addr, dst->addr, 16);
		/* UDP over IPv6 must carry a checksum (RFC 8200 §8.1) */
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(h, udp);
	} else {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		h->version_ihl = 0x45;
		h->type_of_service = 0;
		h->total_length = rte_cpu_to_be_16((uint16_t)(msg_len + UDP_HLEN + IP4_HLEN));
		h->packet_id = 0;
		/* DF: the inner MTU already leaves room for the outer headers;
		 * a smaller path MTU must show, not fragment silently */
		h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		h->time_to_live = 64;
		h->next_proto_id = IPPROTO_UDP;
		memcpy(&h->src_addr, f->addr4, 4);
		memcpy(&h->dst_addr, dst->addr, 4);
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
	}
	return fwd_push_eth(f, m, TP_PORT_TRANSIT, v6 ? 6 : 4);
}

bool fwd_ttl_dec(struct rte_mbuf *m)
{
	struct tp_pkt_meta *meta = tp_pkt_meta(m);
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta->info.l3_off);

	if (meta->info.family == 6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		if (h->hop_limits <= 1)
			return false;
		h->hop_limits--;
	} else {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t sum;

		if (h->time_to_live <= 1)
			return false;
		h->time_to_live--;
		/* RFC 1624 incremental update: TTL is the high byte of its word */
		sum = (uint32_t)rte_be_to_cpu_16(h->hdr_checksum) + 0x0100;
		sum = (sum & 0xffff) + (sum >> 16);
		h->hdr_checksum = rte_cpu_to_be_16((uint16_t)sum);
	}
	return true;
}

/* The ICMP header sits at an odd offset of the frame: no aligned stores. */
static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* ICMP "fragmentation needed" (v4, RFC 1191) / "packet too big" (v6, RFC
 * 8201) to the sender of m, quoting as much of m as the minimum MTU
 * allows, from the TP's zone address, out of the zone port. */
struct rte_mbuf *fwd_icmp_too_big(struct tp_fwd *f, struct rte_mbuf *m, uint16_t mtu)
{
	const struct tp_pkt_info *in = &tp_pkt_meta(m)->info;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *orig = frame + in->l3_off;
	bool v6 = in->family == 6;
	uint32_t quote, hlen = v6 ? IP6_HLEN : IP4_HLEN;
	struct rte_mbuf *r;
	uint8_t *eth, *ip, *icmp;

	if (v6 ? !f->has_zone6 : !f->has_zone4)
		return NULL;
	quote = RTE_MIN(in->ip_len, (v6 ? 1280u : 576u) - hlen - 8);
	r = rte_pktmbuf_alloc(f->gen_pool);
	if (!r)
		return NULL;
	eth = (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(ETH_HLEN + hlen + 8 + quote));
	if (!eth) {
		rte_pktmbuf_free(r);
		return NULL;
	}
	memcpy(eth, frame + 6, 6); /* back to the sender's MAC */
	memcpy(eth + 6, f->mac[TP_PORT_ZONE], 6);
	eth[12] = v6 ? 0x86 : 0x08;
	eth[13] = v6 ? 0xdd : 0x00;
	ip = eth + ETH_HLEN;
	icmp = ip + hlen;
	memset(icmp, 0, 8);
	memcpy(icmp + 8, orig, quote);
	if (v6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16((uint16_t)(8 + quote));
		h->proto = IPPROTO_ICMPV6;
		h->hop_limits = 64;
		memcpy(h->src_addr, f->zone_addr6, 16);
		memcpy(h->dst_addr, in->src, 16);
		icmp[0] = 2; /* packet too big */
		put32(icmp + 4, rte_cpu_to_be_32(mtu));
		put16(icmp + 2, rte_ipv6_udptcp_cksum(h, icmp));
	} else {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		h->version_ihl = 0x45;
		h->type_of_service = 0;
		h->total_length = rte_cpu_to_be_16((uint16_t)(IP4_HLEN + 8 + quote));
		h->packet_id = 0;
		h->fragment_offset = 0;
		h->time_to_live = 64;
		h->next_proto_id = IPPROTO_ICMP;
		memcpy(&h->src_addr, f->zone_addr4, 4);
		memcpy(&h->dst_addr, in->src, 4);
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 4; /* fragmentation needed and DF set */
		put16(icmp + 6, rte_cpu_to_be_16(mtu));
		put16(icmp + 2, (uint16_t)~rte_raw_cksum(icmp, 8 + quote));
	}
	return r;
}
