// SPDX-License-Identifier: MIT
/*
 * The transit-port stage (tp/dp/fwd.h). The transit XDP program lets only UDP
 * to the tunnel port through; this stage sends handshake messages (types
 * 1–3) to the control thread, decrypts type 4 in one burst, and then
 * judges every inner packet: its source zone must be hosted by the peer
 * whose keys decrypted it (anti-spoofing, DESIGN.md §2.2), its destination
 * must be a zone of this TP, and the policy decides again — this side is
 * authoritative, since the sending TP may be compromised. Survivors get an
 * Ethernet header towards their host and leave through the zone port.
 */
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "fwd_int.h"

static enum tp_drop decrypt_drop(enum tp_tunnel_res r)
{
	switch (r) {
	case TP_TUNNEL_DROP_REPLAYED:
	case TP_TUNNEL_DROP_TOO_OLD:
		return TP_DROP_TUN_REPLAY;
	case TP_TUNNEL_DROP_BAD_INNER:
		return TP_DROP_TUN_INNER;
	default:
		return TP_DROP_TUN_DECRYPT;
	}
}

static void outer_src(const struct tp_pkt_info *in, struct tp_tunnel_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = in->family == 6 ? AF_INET6 : AF_INET;
	ep->port = in->sport;
	memcpy(ep->addr, in->src, in->family == 6 ? 16 : 4);
}

/* Judge one decrypted inner packet; on success m holds an Ethernet frame
 * for the zone port. Returns the drop reason or TP_DROP_NONE. */
static enum tp_drop judge(struct tp_fwd *f, struct tp_stage_ctx *ctx, const struct tp_engine *e,
			  const struct fwd_topo *topo, struct rte_mbuf *m, uint32_t pi,
			  uint8_t *inner, uint32_t ilen, bool *held)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	struct tp_pkt_meta *meta = tp_pkt_meta(m);
	struct tp_pkt_info *in = &meta->info;
	enum tp_pkt_result pr = tp_pkt_parse_ip(inner, ilen, in);
	struct tp_flow_pkt fp;
	struct tp_decision dec;
	enum tp_flow_result r;
	enum tp_drop why;
	uint32_t sz, dz, stp;
	uint8_t dst[16];

	*held = false;
	if (pr != TP_PKT_OK)
		return tp_drop_from_pkt(pr);
	sz = tp_engine_zone_of(e, in->family, in->src);
	stp = tp_engine_zone_tp(e, sz);
	if (sz == TP_ZONE_NONE || stp >= topo->n_tps || topo->peer_of_tp[stp] != pi)
		return TP_DROP_TUN_SPOOF;
	dz = tp_engine_zone_of(e, in->family, in->dst);
	if (dz == TP_ZONE_NONE)
		return TP_DROP_NO_ZONE;
	if (tp_engine_zone_tp(e, dz) != topo->self_tp)
		return TP_DROP_NOT_LOCAL;
	meta->src_zone = sz;
	meta->dst_zone = dz;
	meta->peer = pi;
	if (tp_flow_parse(inner, in->ip_len, &fp) != TP_PARSE_OK)
		return TP_DROP_FLOW_PARSE;
	/* a new flow's entry is reserved, and committed below once
	 * nothing drops the packet any more */
	r = tp_flow_decide(w->flows, e, &fp, &dec);
	if (r != TP_FLOW_PASS_FLOW && r != TP_FLOW_PASS_RELATED)
		fwd_hit(w, dec.rule_id);
	/* the sender may not have limited it (rules.c) */
	if (!fwd_rules_check(f, ctx, topo, r, &dec, &fp, TP_FLOWLOG_INGRESS))
		return TP_DROP_RATE_LIMITED;
	if (!tp_flow_result_passes(r))
		return fwd_flow_drop(r);
	why = fwd_app_check(w, e, &fp, &dec, inner);
	if (why != TP_DROP_NONE)
		return why;
	/* the frame becomes [Ethernet][inner packet] */
	memcpy(dst, in->dst, sizeof(dst));
	if (!rte_pktmbuf_adj(m, (uint16_t)(inner - rte_pktmbuf_mtod(m, uint8_t *))))
		return TP_DROP_TUN_INNER;
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - in->ip_len));
	if (fwd_push_eth(f, m, TP_PORT_ZONE, in->family) != 0)
		return TP_DROP_NO_ROOM;
	if (!fwd_resolve(f, m, TP_PORT_ZONE, in->family, dst)) {
		if (!fwd_to_control(f, m, CTL_NEIGH))
			return TP_DROP_CTL_RING;
		*held = true;
	}
	tp_flow_commit(w->flows);
	return TP_DROP_NONE;
}

uint16_t fwd_stage_ingress(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *topo = e ? fwd_topo_of(f, e) : NULL;
	struct tp_tunnel_pkt tp[TP_BURST_MAX];
	const uint8_t *data[TP_BURST_MAX];
	struct rte_mbuf *mb[TP_BURST_MAX];
	uint16_t k = 0, out = 0;
	unsigned ok;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct tp_pkt_info *in = &tp_pkt_meta(m)->info;
		uint8_t *msg;
		uint32_t len;
		int type;

		if (in->proto != TP_IPPROTO_UDP || in->dport != f->cfg->listen_port ||
		    in->l4_len < UDP_HLEN) {
			tp_drop_vec_push(dv, m, TP_DROP_NOT_TUNNEL);
			continue;
		}
		msg = rte_pktmbuf_mtod_offset(m, uint8_t *, in->l4_off + UDP_HLEN);
		len = in->l4_len - UDP_HLEN;
		type = tp_tunnel_classify(msg, len);
		if (type >= 1 && type <= 3) {
			/* X25519 never runs on a worker */
			if (!fwd_to_control(f, m, CTL_HANDSHAKE))
				tp_drop_vec_push(dv, m, TP_DROP_HS_RING);
			continue;
		}
		if (type != 4) {
			tp_drop_vec_push(dv, m, TP_DROP_TUN_MSG);
			continue;
		}
		if (!topo) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_POLICY);
			continue;
		}
		tp[k] = (struct tp_tunnel_pkt){.data = msg, .len = len, .cap = len};
		outer_src(in, &tp[k].src);
		data[k] = msg;
		mb[k++] = m;
	}
	if (!k)
		return 0;
	ok = tp_tunnel_decrypt_burst(f->tun, tp, k);
	for (uint16_t j = 0; j < k; j++) {
		struct rte_mbuf *m = mb[j]; /* the engine only permutes: found below */
		enum tp_drop why;
		bool held;

		for (uint16_t s = 0; s < k; s++) {
			uint16_t i = (uint16_t)((j + s) % k);

			if (data[i] == tp[j].data) {
				m = mb[i];
				break;
			}
		}
		if (j >= ok) {
			tp_drop_vec_push(dv, m, decrypt_drop((enum tp_tunnel_res)tp[j].res));
			continue;
		}
		if (tp[j].inner_len == 0) { /* authenticated, and consumed */
			tp_counters_add(ctx->cnt, TP_STAT_TUNNEL_KEEPALIVES, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		why = judge(
			f, ctx, e, topo, m,
			(uint32_t)((struct fwd_peer *)tp_tunnel_peer_user(tp[j].peer) - f->peers),
			tp[j].data + TP_TUNNEL_HEADER_LEN, tp[j].inner_len, &held);
		if (why != TP_DROP_NONE)
			tp_drop_vec_push(dv, m, why);
		else if (!held)
			pkts[out++] = m;
	}
	return out;
}
