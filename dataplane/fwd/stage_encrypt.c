// SPDX-License-Identifier: MIT
/*
 * Encrypt stage: the packets the route stage sent to a peer become tunnel
 * messages, one tunnel burst per peer (the keypair is loaded and the send
 * counters reserved once per burst). A peer without a session gets its
 * packets staged (its ring, FWD_EXIT_STAGED) until the handshake the
 * refusal asked for completes; the worker's poll hook then sends them
 * through fwd_encrypt_peer again (worker.c). Packets for this TP's own
 * zones pass untouched.
 *
 * Survivors: the packets for this TP first, then each peer's messages in
 * the order the peers first appear in the burst, each peer's in arrival
 * order. With several workers a peer's long run (or any run while earlier
 * jobs are in flight) is encrypted as jobs on all of them (crypt.c): those
 * messages resume after this stage, in order, in the worker's poll hook.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "fwd_int.h"

uint16_t fwd_encrypt_finish(struct tp_fwd *f, struct tp_stage_ctx *ctx, unsigned pi,
			    struct tp_tunnel_pkt *tp, struct rte_mbuf **mb, unsigned k, unsigned ok,
			    struct rte_mbuf **out, struct tp_drop_vec *dv, bool from_staged)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	struct fwd_peer *peer = &f->pub.peers[pi];
	uint16_t n = 0;

	for (unsigned j = 0; j < k; j++) {
		struct rte_mbuf *m = mb[tp[j].tag];

		if (j < ok) {
			rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - tp[j].len));
			out[n++] = m;
			continue;
		}
		/* take the trailer room back: staged packets keep the
		 * [header room][inner] form */
		rte_pktmbuf_trim(m, TP_TUNNEL_TRAILER_MAX);
		if (tp[j].res != TP_TUNNEL_DROP_NO_KEY) {
			tp_drop_vec_push(dv, m, TP_DROP_TUN_ENCRYPT);
			continue;
		}
		if (from_staged)
			atomic_store_explicit(&peer->ready, false, memory_order_relaxed);
		fwd_exit(w, m, FWD_EXIT_STAGED);
	}
	return n;
}

uint16_t fwd_encrypt_peer(struct tp_fwd *f, struct tp_stage_ctx *ctx, unsigned pi,
			  struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv,
			  bool from_staged)
{
	struct fwd_peer *peer = &f->pub.peers[pi];
	struct tp_tunnel_pkt tp[TP_BURST_MAX];
	struct rte_mbuf *mb[TP_BURST_MAX];
	uint16_t k = 0;

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
					       .cap = rte_pktmbuf_data_len(m),
					       .tag = k};
		mb[k++] = m;
	}
	if (!k)
		return 0;
	/* several workers and a long burst: encrypted on all of them, and
	 * resumed in order after the encrypt stage by crypt.c (the staging
	 * rings' flush stays on worker 0, in their order) */
	if (!from_staged && fwd_crypt_spread(f, &f->w[ctx->worker], tp, k)) {
		if (fwd_crypt_post(f, ctx, CJOB_ENCRYPT, pi, tp, mb, k))
			return 0;
		for (uint16_t j = 0; j < k; j++) {
			rte_pktmbuf_trim(mb[j], TP_TUNNEL_TRAILER_MAX);
			tp_drop_vec_push(dv, mb[j], TP_DROP_CRYPT_FULL);
		}
		return 0;
	}
	return fwd_encrypt_finish(f, ctx, pi, tp, mb, k,
				  tp_tunnel_encrypt_burst(f->tun, peer->tun, tp, k), pkts, dv,
				  from_staged);
}

uint16_t fwd_stage_encrypt(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct rte_mbuf *tun[TP_BURST_MAX], *grp[TP_BURST_MAX];
	uint32_t peer_of[TP_BURST_MAX];
	uint16_t local = 0, tunnel = 0, out;

	/* this TP's own packets to the front, the tunnel's behind them */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct tp_pkt_meta *meta = tp_pkt_meta(m);

		if (meta->out_role == TP_PORT_ZONE) {
			pkts[local++] = m;
		} else {
			peer_of[tunnel] = meta->peer;
			tun[tunnel++] = m;
		}
	}
	out = local;
	/* one encryption burst per peer, survivors in arrival order per peer */
	for (uint16_t i = 0; i < tunnel; i++) {
		uint32_t pi = peer_of[i];
		uint16_t g = 0;

		if (pi == UINT32_MAX)
			continue;
		for (uint16_t j = i; j < tunnel; j++) {
			if (peer_of[j] == pi) {
				grp[g++] = tun[j];
				peer_of[j] = UINT32_MAX;
			}
		}
		g = fwd_encrypt_peer(f, ctx, pi, grp, g, dv, false);
		memcpy(pkts + out, grp, g * sizeof(*pkts));
		out = (uint16_t)(out + g);
	}
	return out;
}
