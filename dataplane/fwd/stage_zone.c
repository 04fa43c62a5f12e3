// SPDX-License-Identifier: MIT
/*
 * Zone stage: the zones of a packet's source and destination, and
 * anti-spoofing (DESIGN.md §2.2). From the zone port the source must be in
 * a zone this TP hosts ("spoof"); from the tunnel the inner source must be
 * in a zone hosted by the peer whose keys decrypted it ("tunnel_spoof"),
 * and the destination in a zone of this TP ("not_local"). Either way the
 * destination must be in some zone ("no_zone").
 *
 * On the zone port this is the first forwarding stage: it pins the policy
 * for the burst (fwd_burst_begin); without one, everything is no_policy.
 */
#include <rte_mbuf.h>

#include "fwd_int.h"

/* A frame from a host of a local zone. */
static enum tp_drop from_zone(const struct tp_engine *e, const struct fwd_topo *topo,
			      struct tp_pkt_meta *meta)
{
	const struct tp_pkt_info *in = &meta->info;
	uint32_t sz = tp_engine_zone_of(e, in->family, in->src);
	uint32_t dz = tp_engine_zone_of(e, in->family, in->dst);

	if (sz == TP_ZONE_NONE || tp_engine_zone_tp(e, sz) != topo->self_tp)
		return TP_DROP_SPOOF;
	if (dz == TP_ZONE_NONE)
		return TP_DROP_NO_ZONE;
	meta->src_zone = sz;
	meta->dst_zone = dz;
	return TP_DROP_NONE;
}

/* A decrypted inner packet from peer meta->peer. */
static enum tp_drop from_peer(const struct tp_engine *e, const struct fwd_topo *topo,
			      struct tp_pkt_meta *meta)
{
	const struct tp_pkt_info *in = &meta->info;
	uint32_t sz = tp_engine_zone_of(e, in->family, in->src);
	uint32_t stp = tp_engine_zone_tp(e, sz);
	uint32_t dz;

	if (sz == TP_ZONE_NONE || stp >= topo->n_tps || topo->peer_of_tp[stp] != meta->peer)
		return TP_DROP_TUN_SPOOF;
	dz = tp_engine_zone_of(e, in->family, in->dst);
	if (dz == TP_ZONE_NONE)
		return TP_DROP_NO_ZONE;
	if (tp_engine_zone_tp(e, dz) != topo->self_tp)
		return TP_DROP_NOT_LOCAL;
	meta->src_zone = sz;
	meta->dst_zone = dz;
	return TP_DROP_NONE;
}

uint16_t fwd_stage_zone(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct fwd_worker *w = &f->w[ctx->worker];
	bool tunnel = ctx->in_role == TP_PORT_TRANSIT;
	uint16_t keep = 0;

	if (!tunnel)
		fwd_burst_begin(f, w);
	if (!w->topo) {
		for (uint16_t i = 0; i < n; i++)
			tp_drop_vec_push(dv, pkts[i], TP_DROP_NO_POLICY);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		enum tp_drop why =
			tunnel ? from_peer(w->e, w->topo, meta) : from_zone(w->e, w->topo, meta);

		if (why != TP_DROP_NONE) {
			tp_drop_vec_push(dv, m, why);
			continue;
		}
		pkts[keep++] = m;
	}
	return keep;
}
