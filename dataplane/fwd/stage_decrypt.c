// SPDX-License-Identifier: MIT
/*
 * Decrypt stage, the first forwarding stage of the transit port. The
 * transit XDP program lets only UDP to the tunnel port through; here a
 * handshake message (types 1–3) goes to the control thread (X25519 never
 * runs on a worker), a data message (type 4) is decrypted with the rest
 * of the burst in one tunnel burst (index, keypair, replay window), an
 * authenticated keepalive is consumed, and a decrypted inner packet is
 * parsed and becomes the mbuf's data: [inner IP packet], meta->info
 * describing it (l3_off 0) and meta->peer naming the peer whose keys
 * decrypted it, which the zone stage holds it to.
 *
 * It pins the policy for the burst (fwd_burst_begin): without one, data
 * messages are dropped as no_policy before anything is decrypted.
 *
 * With several workers, a long burst (or any burst while earlier jobs are
 * in flight) is decrypted as jobs on all of them (crypt.c) and its packets
 * resume after this stage, in order, in the worker's poll hook.
 */
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

/* Parse the decrypted inner packet at inner (len bytes) into meta->info
 * and make it the mbuf's data: the one place the inner packet is parsed. */
static enum tp_drop inner_parse(struct rte_mbuf *m, uint8_t *inner, uint32_t len)
{
	struct tp_pkt_info *in = &tp_pkt_meta(m)->info;
	enum tp_pkt_result pr = tp_pkt_parse_ip(inner, len, in);

	if (pr != TP_PKT_OK)
		return tp_drop_from_pkt(pr);
	if (!rte_pktmbuf_adj(m, (uint16_t)(inner - rte_pktmbuf_mtod(m, uint8_t *))))
		return TP_DROP_TUN_INNER;
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - in->ip_len));
	return TP_DROP_NONE;
}

uint16_t fwd_decrypt_finish(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_tunnel_pkt *tp,
			    struct rte_mbuf **mb, unsigned k, unsigned ok, struct rte_mbuf **out,
			    struct tp_drop_vec *dv)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	uint16_t n = 0;

	for (unsigned j = 0; j < k; j++) {
		struct rte_mbuf *m = mb[tp[j].tag];
		enum tp_drop why;

		if (j >= ok) {
			tp_drop_vec_push(dv, m, decrypt_drop((enum tp_tunnel_res)tp[j].res));
			continue;
		}
		if (tp[j].inner_len == 0) { /* authenticated, and consumed */
			tp_counters_add(ctx->cnt, TP_STAT_TUNNEL_KEEPALIVES, 1);
			fwd_exit(w, m, FWD_EXIT_CONSUMED);
			continue;
		}
		why = inner_parse(m, tp[j].data + TP_TUNNEL_HEADER_LEN, tp[j].inner_len);
		if (why != TP_DROP_NONE) {
			tp_drop_vec_push(dv, m, why);
			continue;
		}
		tp_pkt_meta(m)->peer =
			(uint32_t)((struct fwd_peer *)tp_tunnel_peer_user(tp[j].peer) -
				   f->pub.peers);
		out[n++] = m;
	}
	return n;
}

uint16_t fwd_stage_decrypt(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct fwd_worker *w = &f->w[ctx->worker];
	struct tp_tunnel_pkt tp[TP_BURST_MAX];
	struct rte_mbuf *mb[TP_BURST_MAX];
	uint16_t k = 0;

	fwd_burst_begin(f, w);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		const struct tp_pkt_info *in = &meta->info;
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
			meta->ctl_kind = CTL_HANDSHAKE;
			fwd_exit(w, m, FWD_EXIT_CONTROL);
			continue;
		}
		if (type != 4) {
			tp_drop_vec_push(dv, m, TP_DROP_TUN_MSG);
			continue;
		}
		if (!w->topo) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_POLICY);
			continue;
		}
		tp[k] = (struct tp_tunnel_pkt){.data = msg, .len = len, .cap = len, .tag = k};
		outer_src(in, &tp[k].src);
		mb[k++] = m;
	}
	if (!k)
		return 0;
	/* several workers and a long burst: decrypted on all of them, and
	 * resumed in order after the decrypt stage by crypt.c */
	if (fwd_crypt_spread(f, w, tp, k)) {
		if (!fwd_crypt_post(f, ctx, CJOB_DECRYPT, UINT32_MAX, tp, mb, k))
			for (uint16_t j = 0; j < k; j++)
				tp_drop_vec_push(dv, mb[j], TP_DROP_CRYPT_FULL);
		return 0;
	}
	return fwd_decrypt_finish(f, ctx, tp, mb, k, tp_tunnel_decrypt_burst(f->tun, tp, k), pkts,
				  dv);
}
