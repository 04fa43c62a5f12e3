// SPDX-License-Identifier: MIT
/*
 * Route stage: where a packet goes. From the zone port: the TTL (hop
 * limit) is decremented, and the packet either stays with this TP (its
 * destination zone is hosted here: back out of the zone port) or goes to
 * the peer of the TP hosting the destination, if it fits that tunnel's
 * inner MTU (else ICMP too-big back to the sender, or a drop without DF);
 * a packet for a peer is reshaped as [tunnel header room][inner IP
 * packet]. From the tunnel the zone stage has already checked that the
 * destination is local: it goes out of the zone port.
 *
 * fwd_route_check() is the decision without its effects; the police stage
 * asks it before committing a new flow.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "fwd_int.h"

/* The inner MTU towards peer pi: it follows the family of the peer's
 * endpoint, read once per run of the peer's packets (c caches it). */
static uint16_t peer_mtu(const struct tp_fwd *f, struct fwd_route_mtu *c, uint32_t pi)
{
	struct tp_tunnel_endpoint ep;

	if (pi != c->peer) {
		c->peer = pi;
		c->mtu = tp_tunnel_peer_endpoint(f->pub.peers[pi].tun, &ep) && ep.family == AF_INET6
				 ? f->inner_mtu6
				 : f->inner_mtu4;
	}
	return c->mtu;
}

static bool ttl_expires(const struct rte_mbuf *m)
{
	const struct tp_pkt_info *in = &tp_pkt_meta((struct rte_mbuf *)m)->info;
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, in->l3_off);

	/* IPv6 hop limit at byte 7, IPv4 TTL at byte 8 */
	return ip[in->family == 6 ? 7 : 8] <= 1;
}

enum tp_drop fwd_route_check(struct tp_fwd *f, const struct fwd_worker *w,
			     enum tp_port_role in_role, struct fwd_route_mtu *c, struct rte_mbuf *m,
			     uint32_t *peer)
{
	const struct tp_pkt_meta *meta = tp_pkt_meta(m);
	const struct tp_pkt_info *in = &meta->info;
	const struct fwd_topo *topo = w->topo;
	uint32_t headroom = rte_pktmbuf_headroom(m) + in->l3_off;
	uint32_t dtp;

	*peer = UINT32_MAX;
	if (in_role == TP_PORT_TRANSIT) /* stripped to the inner packet */
		return headroom < ETH_HLEN ? TP_DROP_NO_ROOM : TP_DROP_NONE;
	if (ttl_expires(m))
		return TP_DROP_TTL;
	dtp = tp_engine_zone_tp(w->e, meta->dst_zone);
	if (dtp == topo->self_tp)
		return headroom < ETH_HLEN ? TP_DROP_NO_ROOM : TP_DROP_NONE;
	*peer = dtp < topo->n_tps ? topo->peer_of_tp[dtp] : UINT32_MAX;
	if (*peer == UINT32_MAX)
		return TP_DROP_NO_PEER;
	if (in->ip_len > peer_mtu(f, c, *peer)) {
		/* IPv4 without DF asks a router to fragment (RFC 791, 1812);
		 * tpd does not (the remote TP drops fragments, tp/dp/pkt.h).
		 * Fragmentation-needed is the answer to DF only (RFC 792,
		 * 1191): sent here it would be a lie a capture shows, and a
		 * sender that cleared DF ignores it. Dropped under its own
		 * reason: the counter says which hosts need a smaller MTU. */
		if (in->family == 4 &&
		    !(rte_pktmbuf_mtod_offset(m, const uint8_t *, in->l3_off)[6] & 0x40))
			return TP_DROP_MTU_NO_DF;
		return TP_DROP_MTU;
	}
	return headroom < TP_TUNNEL_HEADER_LEN ? TP_DROP_NO_ROOM : TP_DROP_NONE;
}

/* Decrement the TTL (hop limit) of a packet fwd_route_check let through. */
static void ttl_dec(struct rte_mbuf *m)
{
	struct tp_pkt_meta *meta = tp_pkt_meta(m);
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta->info.l3_off);

	if (meta->info.family == 6) {
		((struct rte_ipv6_hdr *)ip)->hop_limits--;
	} else {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t sum;

		h->time_to_live--;
		/* RFC 1624 incremental update: TTL is the high byte of its word */
		sum = (uint32_t)rte_be_to_cpu_16(h->hdr_checksum) + 0x0100;
		sum = (sum & 0xffff) + (sum >> 16);
		h->hdr_checksum = rte_cpu_to_be_16((uint16_t)sum);
	}
}

/* Shape a zone frame for the tunnel: [header room][inner IP packet], no
 * Ethernet, no L2 padding. */
static bool to_inner(struct rte_mbuf *m)
{
	const struct tp_pkt_info *in = &tp_pkt_meta(m)->info;

	if (!rte_pktmbuf_adj(m, in->l3_off))
		return false;
	if (rte_pktmbuf_data_len(m) > in->ip_len)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - in->ip_len));
	return rte_pktmbuf_prepend(m, TP_TUNNEL_HEADER_LEN) != NULL;
}

uint16_t fwd_stage_route(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			 struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct fwd_worker *w = &f->w[ctx->worker];
	struct fwd_route_mtu mtu = {.peer = UINT32_MAX};
	uint16_t keep = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		uint32_t peer;
		enum tp_drop why = fwd_route_check(f, w, ctx->in_role, &mtu, m, &peer);

		if (ctx->in_role == TP_PORT_TRANSIT) {
			if (why != TP_DROP_NONE)
				goto drop;
			meta->out_role = TP_PORT_ZONE;
			pkts[keep++] = m;
			continue;
		}
		if (why == TP_DROP_TTL)
			goto drop;
		/* before the MTU: an ICMP too-big quotes the packet as it
		 * would have been forwarded */
		ttl_dec(m);
		if (why == TP_DROP_MTU) {
			struct rte_mbuf *icmp = NULL;

			if (tp_ratelimit_take(&w->icmp_err, ctx->now_ns))
				icmp = fwd_icmp_too_big(f, ctx->cnt, m, mtu.mtu);
			else
				tp_counters_add(ctx->cnt, TP_STAT_ICMP_ERR_LIMITED, 1);
			if (icmp)
				fwd_exit(w, icmp, FWD_EXIT_TX_ZONE);
		}
		if (why != TP_DROP_NONE)
			goto drop;
		meta->peer = peer;
		if (peer == UINT32_MAX) {
			meta->out_role = TP_PORT_ZONE; /* a zone of this TP */
		} else {
			if (!to_inner(m)) {
				why = TP_DROP_NO_ROOM;
				goto drop;
			}
			meta->out_role = TP_PORT_TRANSIT;
		}
		pkts[keep++] = m;
		continue;
drop:
		tp_drop_vec_push(dv, m, why);
	}
	return keep;
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
 * allows, from the TP's zone address, out of the zone port. NULL: none
 * (no zone address of m's family; or no buffer, counted no_mbuf in cnt). */
struct rte_mbuf *fwd_icmp_too_big(struct tp_fwd *f, struct tp_counters_slot *cnt,
				  struct rte_mbuf *m, uint16_t mtu)
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
	if (!r) {
		tp_counters_drop(cnt, TP_DROP_NO_MBUF, 1);
		return NULL;
	}
	eth = (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(ETH_HLEN + hlen + 8 + quote));
	if (!eth) {
		tp_counters_drop(cnt, TP_DROP_NO_MBUF, 1);
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
