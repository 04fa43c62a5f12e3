// SPDX-License-Identifier: MIT
/*
 * Handoff between workers (several workers per tpd).
 *
 * Every flow has one owner worker (tp/dp/owner.h): its flow-table entry,
 * TCP tracking, Modbus stream state and rule hits live there. A worker
 * that receives a packet of a flow another worker owns hands it over
 * after the packet is parsed (zone port) or decrypted and parsed (transit
 * port: the flow is the inner packet's), as VPP's handoff nodes do:
 *
 *   worker s: parse [decrypt] handoff --ring ho[s]--> worker o: zone police route [encrypt] l2
 *
 * One single-producer/single-consumer ring per ordered pair of workers
 * (w[o].ho[s]), so a flow's packets that arrive on one queue stay in
 * order. A full ring drops the packet as handoff_full; handoff_out and
 * handoff_in count what crossed. The owner resumes a handed-off packet at
 * the stage after this one (fwd->after_handoff) in its poll hook.
 *
 * Waking: the sender enqueues, then tp_runtime_wake(owner); a worker
 * about to block raises its sleeping flag, then looks at its rings once
 * more (fwd_pending, the runtime's pending hook): one of the two sees the
 * other, so no packet waits for the idle timeout.
 */
#include <unistd.h>

#include <rte_ring.h>

#include "tp/dp/owner.h"

#include "fwd_int.h"

uint16_t fwd_stage_handoff(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct fwd_worker *w = &f->w[ctx->worker];
	uint16_t keep = 0;

	(void)dv;
	if (f->n_workers < 2)
		return n;
	for (uint16_t i = 0; i < n; i++) {
		struct tp_pkt_meta *meta = tp_pkt_meta(pkts[i]);
		uint32_t hash;
		unsigned owner;

		/* no owner (no flow key): no flow state, judged right here */
		if (!tp_pkt_owner_hash(&meta->info, f->owner_key, &hash) ||
		    (owner = tp_owner_of(hash, f->n_workers)) == ctx->worker) {
			pkts[keep++] = pkts[i];
			continue;
		}
		meta->in_role = (uint8_t)ctx->in_role;
		meta->to_worker = (uint8_t)owner;
		fwd_exit(w, pkts[i], FWD_EXIT_HANDOFF);
	}
	return keep;
}

/* Packets of one source worker's ring, split by the port they came in on
 * (order kept within each), through the rest of that port's stages. */
static void resume(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, unsigned n,
		   struct tp_drop_vec *dv)
{
	struct rte_mbuf *by_role[TP_PORT__COUNT][TP_BURST_MAX];
	uint16_t k[TP_PORT__COUNT] = {0, 0};

	for (unsigned i = 0; i < n; i++) {
		int r = tp_pkt_meta(pkts[i])->in_role == TP_PORT_TRANSIT;

		by_role[r][k[r]++] = pkts[i];
	}
	for (int r = 0; r < TP_PORT__COUNT; r++) {
		struct tp_stage_ctx rctx = *ctx;
		uint16_t m;

		if (!k[r])
			continue;
		rctx.in_role = (enum tp_port_role)r;
		/* the transit list pins its policy in the decrypt stage, which
		 * ran on the receiving worker: pin it here */
		if (r == TP_PORT_TRANSIT)
			fwd_burst_begin(f, &f->w[ctx->worker]);
		m = tp_pipeline_run(f->after_handoff[r], f->n_after_handoff[r], &rctx, by_role[r],
				    k[r], dv);
		fwd_exit_flush(f, &rctx, by_role[r], m, dv);
		/* a sub-burst's drops at a time: dv holds one burst */
		tp_pipeline_flush(dv, ctx->cnt);
	}
}

unsigned fwd_handoff_take(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	struct rte_mbuf *pkts[32];
	unsigned work = 0;

	for (unsigned s = 0; s < f->n_workers; s++) {
		unsigned n;

		if (s == ctx->worker)
			continue;
		n = rte_ring_sc_dequeue_burst(w->ho[s], (void **)pkts, RTE_DIM(pkts), NULL);
		if (!n)
			continue;
		tp_counters_add(ctx->cnt, TP_STAT_HANDOFF_IN, n);
		resume(f, ctx, pkts, n, dv);
		work += n;
	}
	return work;
}
