// SPDX-License-Identifier: MIT
/*
 * The zone-port stage (tp/dp/fwd.h): a packet from a host of a local zone to
 * another zone. Policy is checked here before anything is encrypted (the
 * receiving TP checks again and is authoritative).
 *
 * The deciding rule's rate limit is charged here too, and its log flag
 * queues a flow-log record (rules.c).
 *
 * Survivors leave through the transit port (the runtime sends them).
 * Packets for a zone behind this same TP go back out of the zone port from
 * here; packets waiting for a next hop or for a session leave the burst to
 * the control thread's ring or their peer's staging ring.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "fwd_int.h"

void fwd_tx(struct tp_fwd *f, struct tp_stage_ctx *ctx, enum tp_port_role out,
	    struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv)
{
	static const enum tp_stat pk[2] = {TP_STAT_ZONE_TX_PKTS, TP_STAT_TRANSIT_TX_PKTS};
	static const enum tp_stat by[2] = {TP_STAT_ZONE_TX_BYTES, TP_STAT_TRANSIT_TX_BYTES};
	uint64_t bytes = 0;
	uint16_t sent;

	if (!n)
		return;
	sent = rte_eth_tx_burst(f->port[out], ctx->queue, pkts, n);
	for (uint16_t i = 0; i < n; i++) {
		if (i < sent)
			bytes += rte_pktmbuf_pkt_len(pkts[i]);
		else
			tp_drop_vec_push(dv, pkts[i], TP_DROP_TX_FULL);
	}
	tp_counters_add(ctx->cnt, pk[out], sent);
	tp_counters_add(ctx->cnt, by[out], bytes);
}

bool fwd_to_control(struct tp_fwd *f, struct rte_mbuf *m, enum ctl_kind kind)
{
	static const uint64_t one = 1;

	tp_pkt_meta(m)->ctl_kind = (uint8_t)kind;
	if (rte_ring_enqueue(f->to_ctl, m) != 0)
		return false;
	/* a failed write only means the counter is already non-zero */
	if (write(f->ctl_fd, &one, sizeof(one)) < 0)
		return true;
	return true;
}

/* Which of the original buffers a reordered tunnel result belongs to:
 * usually the same position, so the scan is short. */
static uint16_t owner(const uint8_t *const data[], uint16_t n, uint16_t j, const uint8_t *d)
{
	for (uint16_t k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((j + k) % n);

		if (data[i] == d)
			return i;
	}
	return j; /* not reached: the engine only permutes */
}

uint16_t fwd_encrypt_peer(struct tp_fwd *f, struct tp_stage_ctx *ctx, unsigned pi,
			  struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv,
			  bool from_staged)
{
	struct fwd_peer *peer = &f->peers[pi];
	struct tp_tunnel_pkt tp[TP_BURST_MAX];
	const uint8_t *data[TP_BURST_MAX];
	struct rte_mbuf *mb[TP_BURST_MAX];
	struct tp_tunnel_endpoint ep;
	uint16_t k = 0, out = 0;
	bool has_ep;
	unsigned ok;
	int rc;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t inner = rte_pktmbuf_data_len(m) - TP_TUNNEL_HEADER_LEN;

		if (!rte_pktmbuf_append(m, TP_TUNNEL_TRAILER_MAX)) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_ROOM);
			continue;
		}
		/* len counts the header room too (transport.c), cap the trailer */
		tp[k] = (struct tp_tunnel_pkt){.data = rte_pktmbuf_mtod(m, uint8_t *),
					       .len = inner + TP_TUNNEL_HEADER_LEN,
					       .cap = rte_pktmbuf_data_len(m)};
		data[k] = tp[k].data;
		mb[k++] = m;
	}
	ok = tp_tunnel_encrypt_burst(f->tun, peer->tun, tp, k);
	/* one endpoint for the batch (roaming changes it between bursts) */
	has_ep = ok && tp_tunnel_peer_endpoint(peer->tun, &ep);
	for (uint16_t j = 0; j < k; j++) {
		struct rte_mbuf *m = mb[owner(data, k, j, tp[j].data)];

		if (j >= ok) {
			/* take the trailer room back: staged packets keep the
			 * [header room][inner] form */
			rte_pktmbuf_trim(m, TP_TUNNEL_TRAILER_MAX);
			if (tp[j].res != TP_TUNNEL_DROP_NO_KEY) {
				tp_drop_vec_push(dv, m, TP_DROP_TUN_ENCRYPT);
				continue;
			}
			if (from_staged)
				atomic_store_explicit(&peer->ready, false, memory_order_relaxed);
			if (rte_ring_enqueue(peer->staged, m) != 0) {
				tp_drop_vec_push(dv, m, TP_DROP_PEER_QUEUE);
				continue;
			}
			atomic_fetch_add_explicit(&peer->staged_total, 1, memory_order_relaxed);
			continue;
		}
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - tp[j].len));
		if (!has_ep) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_PEER);
			continue;
		}
		rc = fwd_encap(f, m, &ep);
		if (rc != 0) {
			tp_drop_vec_push(
				dv, m, rc == -EAFNOSUPPORT ? TP_DROP_NO_SRC_ADDR : TP_DROP_NO_ROOM);
			continue;
		}
		if (!fwd_resolve(f, m, TP_PORT_TRANSIT, ep.family == AF_INET6 ? 6 : 4, ep.addr)) {
			if (!fwd_to_control(f, m, CTL_NEIGH))
				tp_drop_vec_push(dv, m, TP_DROP_CTL_RING);
			continue;
		}
		pkts[out++] = m;
	}
	return out;
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

/* Same-TP delivery: a fresh Ethernet header towards the destination host;
 * *held when the frame went to the control thread for its next hop. */
static enum tp_drop to_local(struct tp_fwd *f, struct rte_mbuf *m, bool *held)
{
	const struct tp_pkt_info *in = &tp_pkt_meta(m)->info;
	uint8_t family = in->family, dst[16];

	*held = false;
	memcpy(dst, in->dst, sizeof(dst));
	if (!rte_pktmbuf_adj(m, in->l3_off) || fwd_push_eth(f, m, TP_PORT_ZONE, family) != 0)
		return TP_DROP_NO_ROOM;
	if (!fwd_resolve(f, m, TP_PORT_ZONE, family, dst)) {
		if (!fwd_to_control(f, m, CTL_NEIGH))
			return TP_DROP_CTL_RING;
		*held = true;
	}
	return TP_DROP_NONE;
}

/* Policy for one packet through this worker's flow table, the deciding
 * rule's log flag and rate limit, then the application profile:
 * TP_DROP_NONE when it passes. The entry of a new flow is only reserved:
 * the caller commits it (tp_flow_commit) when nothing else drops the
 * packet, so a packet dropped later (TTL, MTU, no peer) leaves no flow. */
static enum tp_drop police(struct tp_fwd *f, struct tp_stage_ctx *ctx, const struct tp_engine *e,
			   const struct fwd_topo *topo, const uint8_t *ip, uint32_t len)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	struct tp_flow_pkt fp;
	struct tp_decision dec;
	enum tp_flow_result r;

	if (tp_flow_parse(ip, len, &fp) != TP_PARSE_OK)
		return TP_DROP_FLOW_PARSE;
	r = tp_flow_decide(w->flows, e, &fp, &dec);
	if (r != TP_FLOW_PASS_FLOW && r != TP_FLOW_PASS_RELATED)
		fwd_hit(w, dec.rule_id);
	/* before the flow exists: a limited first packet opens nothing */
	if (!fwd_rules_check(f, ctx, topo, r, &dec, &fp, TP_FLOWLOG_EGRESS))
		return TP_DROP_RATE_LIMITED;
	if (!tp_flow_result_passes(r))
		return fwd_flow_drop(r);
	return fwd_app_check(w, e, &fp, &dec, ip);
}

uint16_t fwd_stage_egress(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			  struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *topo = e ? fwd_topo_of(f, e) : NULL;
	struct rte_mbuf *local[TP_BURST_MAX], *grp[TP_BURST_MAX], *res[TP_BURST_MAX];
	uint32_t peer_of[TP_BURST_MAX];
	uint16_t n_local = 0, keep = 0, out = 0, mtu = 0;
	uint32_t last_pi = UINT32_MAX;
	struct tp_tunnel_endpoint ep;

	if (!topo) {
		for (uint16_t i = 0; i < n; i++)
			tp_drop_vec_push(dv, pkts[i], TP_DROP_NO_POLICY);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		const struct tp_pkt_info *in = &meta->info;
		const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, in->l3_off);
		uint32_t sz = tp_engine_zone_of(e, in->family, in->src);
		uint32_t dz = tp_engine_zone_of(e, in->family, in->dst);
		uint32_t dtp, pi;
		enum tp_drop why;
		bool policed = sz != dz, held;

		if (sz == TP_ZONE_NONE || tp_engine_zone_tp(e, sz) != topo->self_tp) {
			tp_drop_vec_push(dv, m, TP_DROP_SPOOF);
			continue;
		}
		if (dz == TP_ZONE_NONE) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_ZONE);
			continue;
		}
		meta->src_zone = sz;
		meta->dst_zone = dz;
		/* inside one zone: not policed (DESIGN.md §7.2) */
		why = policed ? police(f, ctx, e, topo, ip, in->ip_len) : TP_DROP_NONE;
		if (why != TP_DROP_NONE) {
			tp_drop_vec_push(dv, m, why);
			continue;
		}
		if (!fwd_ttl_dec(m)) {
			tp_drop_vec_push(dv, m, TP_DROP_TTL);
			continue;
		}
		dtp = tp_engine_zone_tp(e, dz);
		if (dtp == topo->self_tp) {
			why = to_local(f, m, &held);
			if (why != TP_DROP_NONE) {
				tp_drop_vec_push(dv, m, why);
				continue;
			}
			if (policed)
				tp_flow_commit(f->w[ctx->worker].flows);
			if (!held)
				local[n_local++] = m;
			continue;
		}
		pi = dtp < topo->n_tps ? topo->peer_of_tp[dtp] : UINT32_MAX;
		if (pi == UINT32_MAX) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_PEER);
			continue;
		}
		/* the inner MTU follows the family of the peer's endpoint; the
		 * endpoint is read once per peer and burst */
		if (pi != last_pi) {
			last_pi = pi;
			mtu = tp_tunnel_peer_endpoint(f->peers[pi].tun, &ep) &&
					      ep.family == AF_INET6
				      ? f->inner_mtu6
				      : f->inner_mtu4;
		}
		if (in->ip_len > mtu) {
			struct rte_mbuf *icmp;

			/* IPv4 without DF asks a router to fragment (RFC 791,
			 * 1812); tpd does not (the remote TP drops fragments,
			 * tp/dp/pkt.h). Fragmentation-needed is the answer to DF
			 * only (RFC 792, 1191): sent here it would be a lie a
			 * capture shows, and a sender that cleared DF ignores
			 * it. Dropped under its own reason: the counter says
			 * which hosts need a smaller MTU. */
			if (in->family == 4 &&
			    !(rte_pktmbuf_mtod_offset(m, const uint8_t *, in->l3_off)[6] & 0x40)) {
				tp_drop_vec_push(dv, m, TP_DROP_MTU_NO_DF);
				continue;
			}
			icmp = fwd_icmp_too_big(f, m, mtu);

			if (icmp)
				local[n_local++] = icmp;
			tp_drop_vec_push(dv, m, TP_DROP_MTU);
			continue;
		}
		if (!to_inner(m)) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_ROOM);
			continue;
		}
		/* from here the packet is sent or staged: its flow exists */
		if (policed)
			tp_flow_commit(f->w[ctx->worker].flows);
		meta->peer = pi;
		peer_of[keep] = pi;
		pkts[keep++] = m;
	}
	/* one encryption batch per peer, survivors in arrival order per peer */
	for (uint16_t i = 0; i < keep; i++) {
		uint32_t pi = peer_of[i];
		uint16_t g = 0;

		if (pi == UINT32_MAX)
			continue;
		for (uint16_t j = i; j < keep; j++) {
			if (peer_of[j] == pi) {
				grp[g++] = pkts[j];
				peer_of[j] = UINT32_MAX;
			}
		}
		g = fwd_encrypt_peer(f, ctx, pi, grp, g, dv, false);
		memcpy(res + out, grp, g * sizeof(struct rte_mbuf *));
		out = (uint16_t)(out + g);
	}
	memcpy(pkts, res, out * sizeof(struct rte_mbuf *));
	fwd_tx(f, ctx, TP_PORT_ZONE, local, n_local, dv);
	return out;
}
