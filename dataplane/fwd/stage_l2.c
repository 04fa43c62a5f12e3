// SPDX-License-Identifier: MIT
/*
 * L2 stage: the headers a packet leaves with. A tunnel message gets outer
 * UDP and IP towards its peer's current endpoint (read once per run of the
 * peer's messages: roaming moves it between bursts); every frame gets an
 * Ethernet header whose destination is the next hop's MAC from the
 * next-hop cache (nexthop.c). A miss hands the frame to the control thread
 * (FWD_EXIT_CONTROL), which holds it until the kernel resolves the
 * neighbour and then has a worker send it.
 *
 * A frame for the port its burst came in on (a zone of this TP, from the
 * zone port) leaves by that port's transmit exit; the survivors are the
 * frames for the other port.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "fwd_int.h"

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

uint16_t fwd_stage_l2(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		      struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct fwd_worker *w = &f->w[ctx->worker];
	struct tp_tunnel_endpoint ep;
	uint32_t last_pi = UINT32_MAX;
	bool has_ep = false;
	uint16_t keep = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		enum tp_port_role out = (enum tp_port_role)meta->out_role;
		enum tp_drop why;
		uint8_t family, nexthop[16];
		int rc;

		if (out == TP_PORT_TRANSIT) {
			if (meta->peer != last_pi) {
				last_pi = meta->peer;
				has_ep = tp_tunnel_peer_endpoint(f->pub.peers[last_pi].tun, &ep);
			}
			if (!has_ep) {
				why = TP_DROP_NO_PEER;
				goto drop;
			}
			rc = fwd_encap(f, m, &ep);
			if (rc != 0) {
				why = rc == -EAFNOSUPPORT ? TP_DROP_NO_SRC_ADDR : TP_DROP_NO_ROOM;
				goto drop;
			}
			family = ep.family == AF_INET6 ? 6 : 4;
			memcpy(nexthop, ep.addr, sizeof(nexthop));
		} else {
			family = meta->info.family;
			memcpy(nexthop, meta->info.dst, sizeof(nexthop));
			if (!rte_pktmbuf_adj(m, meta->info.l3_off) ||
			    fwd_push_eth(f, m, TP_PORT_ZONE, family) != 0) {
				why = TP_DROP_NO_ROOM;
				goto drop;
			}
		}
		if (!fwd_resolve(f, m, out, family, nexthop)) {
			meta->ctl_kind = CTL_NEIGH;
			fwd_exit(w, m, FWD_EXIT_CONTROL);
		} else if (out == ctx->in_role) {
			fwd_exit(w, m, (enum fwd_exit)out);
		} else {
			pkts[keep++] = m;
		}
		continue;
drop:
		tp_drop_vec_push(dv, m, why);
	}
	return keep;
}
