// SPDX-License-Identifier: MIT
/*
 * Police stage: the policy decides, through this worker's flow table
 * (DESIGN.md §7). Per packet, in order: the flow key, the flow table (a
 * flow's packets pass on its verdict; a first packet is judged by the
 * rules), the rule-hit counters, the deciding rule's flow log and rate
 * limit (rules.c), then the application profile of the matching allow
 * rules (Modbus/TCP, DESIGN.md §2.3, §7.3). Packets inside one zone are
 * not policed (§7.2).
 *
 * Both ends police: the sending TP before encrypting, the receiving TP
 * after decrypting, and the receiver is authoritative (the sending TP may
 * be compromised).
 *
 * A new flow's entry is only reserved by tp_flow_decide(); it is
 * committed here, before the next packet is decided (so a later packet of
 * the burst finds it), and only when the route stage will not drop the
 * packet either (fwd_route_check): a packet dropped later (TTL, MTU, no
 * peer, no room) leaves no flow.
 *
 * State: the rule-hit slots of each worker (struct fwd_hit), written only
 * by their worker with relaxed stores, read by the views; dropped
 * segments of a profile are counted against the rule the decision names
 * (the matching allow with the smallest id), whichever profile refused it.
 */
#include <rte_mbuf.h>

#include "fwd_int.h"

_Static_assert(TP_DROP_MODBUS_RETRANSMIT_DIFFERS - TP_DROP_MODBUS_BAD_HEADER ==
		       TP_MODBUS_RETRANSMIT_DIFFERS - TP_MODBUS_BAD_HEADER,
	       "modbus drops follow enum tp_modbus_result");
_Static_assert(TP_MODBUS_BAD_HEADER == 1 && TP_MODBUS__COUNT == 8, "modbus results");

/* The hit slot of a rule, claimed on first use; NULL when the probe
 * window is full (the count is lost, the packet is not). */
static struct fwd_hit *hit_slot(struct fwd_worker *w, uint32_t rule_id)
{
	uint32_t h;

	/* the default decision (no rule matched) is counted as a rule too */
	if (rule_id == TP_RULE_ID_NONE)
		rule_id = FWD_RULE_DEFAULT;
	h = rule_id * 2654435761u;
	for (unsigned k = 0; k < 16; k++) {
		struct fwd_hit *s = &w->hits[(h + k) & (HITS_SLOTS - 1)];

		if (s->id == rule_id || s->id == 0) {
			if (s->id == 0)
				__atomic_store_n(&s->id, rule_id, __ATOMIC_RELEASE);
			return s;
		}
	}
	return NULL;
}

void fwd_hit(struct fwd_worker *w, uint32_t rule_id)
{
	struct fwd_hit *s = hit_slot(w, rule_id);

	if (s)
		__atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELAXED);
}

void fwd_hit_limited(struct fwd_worker *w, uint32_t rule_id)
{
	struct fwd_hit *s = hit_slot(w, rule_id);

	if (s)
		__atomic_store_n(&s->limited, s->limited + 1, __ATOMIC_RELAXED);
}

void fwd_hit_profile(struct fwd_worker *w, uint32_t rule_id)
{
	struct fwd_hit *s = hit_slot(w, rule_id);

	if (s)
		__atomic_store_n(&s->profile, s->profile + 1, __ATOMIC_RELAXED);
}

/* The drop reason of a flow-table result that does not pass. */
static enum tp_drop flow_drop(enum tp_flow_result r)
{
	switch (r) {
	case TP_FLOW_DROP_QUOTA_HOST:
		return TP_DROP_FLOW_QUOTA_HOST;
	case TP_FLOW_DROP_QUOTA_PAIR:
		return TP_DROP_FLOW_QUOTA_PAIR;
	case TP_FLOW_DROP_NO_POLICY:
		return TP_DROP_NO_POLICY;
	default:
		return TP_DROP_POLICY;
	}
}

/* The flow key of a packet, from what the parse stage gathered (the
 * decrypt stage for a transit packet's inner one): the one place the
 * forwarding stages take it, and no second parse (tp_pkt_flow copies). */
static bool flow_key(const struct tp_pkt_info *in, struct tp_flow_pkt *fp)
{
	return tp_pkt_flow(in, fp);
}

/* After the flow table passed a packet: TP_DROP_NONE, or its profile's
 * reason to drop it (counted per rule). */
static enum tp_drop app_check(struct fwd_worker *w, const struct tp_flow_pkt *fp,
			      const struct tp_decision *dec, const uint8_t *ip)
{
	enum tp_modbus_result r = tp_flow_app_check(w->flows, w->e, fp, dec, ip);

	if (r == TP_MODBUS_OK)
		return TP_DROP_NONE;
	fwd_hit_profile(w, dec->rule_id);
	return tp_drop_from_modbus(r);
}

/* Policy for one packet: TP_DROP_NONE when it passes (a new flow's entry
 * then reserved, not committed). */
static enum tp_drop police(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct fwd_worker *w,
			   const struct tp_pkt_info *in, const uint8_t *ip,
			   enum tp_flowlog_side side, bool *reserved)
{
	struct tp_flow_pkt fp;
	struct tp_decision dec;
	enum tp_flow_result r;

	*reserved = false;
	if (!flow_key(in, &fp))
		return TP_DROP_FLOW_PARSE;
	r = tp_flow_decide(w->flows, w->e, &fp, &dec);
	*reserved = r == TP_FLOW_PASS_NEW;
	if (r != TP_FLOW_PASS_FLOW && r != TP_FLOW_PASS_RELATED)
		fwd_hit(w, dec.rule_id);
	/* before the flow exists: a limited first packet opens nothing; on
	 * the receiving side the sender may not have limited it (rules.c) */
	if (!fwd_rules_check(f, ctx, w->topo, r, &dec, &fp, side))
		return TP_DROP_RATE_LIMITED;
	if (!tp_flow_result_passes(r))
		return flow_drop(r);
	return app_check(w, &fp, &dec, ip);
}

uint16_t fwd_stage_police(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			  struct tp_drop_vec *dv)
{
	struct tp_fwd *f = ctx->user;
	struct fwd_worker *w = &f->w[ctx->worker];
	enum tp_flowlog_side side =
		ctx->in_role == TP_PORT_ZONE ? TP_FLOWLOG_EGRESS : TP_FLOWLOG_INGRESS;
	struct fwd_route_mtu mtu = {.peer = UINT32_MAX};
	uint16_t keep = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct tp_pkt_meta *meta = tp_pkt_meta(m);
		const struct tp_pkt_info *in = &meta->info;
		enum tp_drop why;
		bool reserved;
		uint32_t peer;

		/* inside one zone: not policed (DESIGN.md §7.2) */
		if (meta->src_zone == meta->dst_zone) {
			pkts[keep++] = m;
			continue;
		}
		why = police(f, ctx, w, in, rte_pktmbuf_mtod_offset(m, const uint8_t *, in->l3_off),
			     side, &reserved);
		if (why != TP_DROP_NONE) {
			tp_drop_vec_push(dv, m, why);
			continue;
		}
		/* only a first packet reserved an entry: ask the route stage
		 * about it, not about every packet of a flow */
		if (reserved && fwd_route_check(f, w, ctx->in_role, &mtu, m, &peer) == TP_DROP_NONE)
			tp_flow_commit(w->flows);
		pkts[keep++] = m;
	}
	return keep;
}
