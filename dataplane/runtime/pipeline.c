// SPDX-License-Identifier: MIT
/* Pipeline plumbing and the stages the runtime owns (see tp/dp/pipeline.h). */
#include "tp/dp/pipeline.h"

void tp_pipeline_flush(struct tp_drop_vec *dv, struct tp_counters_slot *cnt)
{
	if (!dv->n)
		return;
	for (uint16_t i = 0; i < dv->n; i++) {
		tp_counters_drop(cnt, (enum tp_drop)dv->reason[i], 1);
		tp_fate(cnt, dv->pkts[i], TP_FATE_DROPPED);
	}
	rte_pktmbuf_free_bulk(dv->pkts, dv->n);
	dv->n = 0;
}

uint16_t tp_pipeline_run(const tp_stage_fn *stages, unsigned n_stages, struct tp_stage_ctx *ctx,
			 struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv)
{
	for (unsigned s = 0; s < n_stages && n; s++)
		n = stages[s](ctx, pkts, n, dv);
	return n;
}

uint16_t tp_stage_parse(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			struct tp_drop_vec *dv)
{
	uint16_t keep = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		enum tp_pkt_result r;

		/* AF_XDP and net_ring deliver single-segment frames; a chained
		 * mbuf would need linearising before parsing. */
		if (m->nb_segs != 1) {
			tp_drop_vec_push(dv, m, TP_DROP_MULTI_SEG);
			continue;
		}
		r = tp_pkt_parse_eth(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
				     &meta->info);
		if (r != TP_PKT_OK) {
			tp_drop_vec_push(dv, m, tp_drop_from_pkt(r));
			continue;
		}
		meta->src_zone = UINT32_MAX;
		meta->dst_zone = UINT32_MAX;
		meta->peer = UINT32_MAX;
		meta->flow = UINT32_MAX;
		pkts[keep++] = m;
	}
	tp_counters_add(ctx->cnt, TP_STAT_PARSED, keep);
	return keep;
}

uint16_t tp_stage_no_policy(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			    struct tp_drop_vec *dv)
{
	for (uint16_t i = 0; i < n; i++)
		tp_drop_vec_push(dv, pkts[i], TP_DROP_NO_POLICY);
	return 0;
}
