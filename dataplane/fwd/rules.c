// SPDX-License-Identifier: MIT
/*
 * Per-rule rate limits and the flow log in the workers (policy fields
 * `rate_limit: { pps, burst }` and `log: true`; dataplane/README.md,
 * "Rate limits and flow log").
 *
 * State, per published generation (struct fwd_rules, hung on its
 * topology): an open-addressing table of the rules that limit or log —
 * id, forward direction (the rule's from zone), log flag, bucket index —
 * and one token bucket (tp/dp/ratelimit.h) per limited rule, full when
 * made, shared by every worker under its own spin lock. Workers only read
 * the table; the control thread builds it before the
 * generation's engine is published and frees it with the topology, one
 * grace period after the generation was replaced (policy.c), so a new
 * policy starts with fresh buckets and no worker ever sees freed ones.
 *
 * Which packets a bucket is charged with: those the rule admits in its
 * forward direction (the flow's initiator side) — the first packet of a
 * flow, packets of a stateless rule, and packets of a flow the rule
 * admitted, related ICMP errors included, whose source zone is the rule's
 * from zone. Replies of a stateful flow are never charged; denied packets
 * are not either.
 *
 * Where: on the TP hosting the rule's from zone the zone-port stage
 * charges before encrypting; on the TP hosting its to zone the
 * transit-port stage charges after decrypting, with twice the burst — the
 * sending side may be a stock WireGuard peer or a compromised TP that
 * enforces nothing, while a conforming tpd's output, once delayed by the
 * network and even refilled by its own republish, stays inside twice the
 * burst at the same rate.
 *
 * Several workers: a rule admits packets of many flows, and their owners
 * (tp/dp/owner.h) differ, so the rule's one bucket is shared and a worker
 * takes its token under the bucket's spin lock: the limit is exact
 * whatever the spread of flows over workers (a split bucket of pps/n per
 * worker would give one flow only 1/n of its rule). The lock is held for
 * the refill arithmetic only (no division), on a cache line of its own,
 * and only limited rules pay for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_spinlock.h>

#include "fwd_int.h"

#define NO_BUCKET UINT32_MAX

struct fwd_rule_x {
	uint32_t id;	    /* 0: empty slot */
	uint32_t from_zone; /* the rule's forward direction starts here */
	uint32_t bucket;    /* index into each worker's buckets, NO_BUCKET: no limit */
	bool log;
};

struct fwd_bucket {
	rte_spinlock_t lock;
	struct tp_ratelimit b;
} __rte_cache_aligned;

struct fwd_rules {
	uint32_t mask; /* slots - 1 */
	uint32_t n_buckets;
	struct fwd_rule_x *slot;
	struct fwd_bucket *b; /* n_buckets, shared by the workers */
};

static uint32_t rule_hash(uint32_t id)
{
	return id * 2654435761u;
}

static const struct fwd_rule_x *rule_find(const struct fwd_rules *r, uint32_t id)
{
	for (uint32_t k = 0; k <= r->mask; k++) {
		const struct fwd_rule_x *x = &r->slot[(rule_hash(id) + k) & r->mask];

		if (x->id == id)
			return x;
		if (x->id == 0)
			return NULL;
	}
	return NULL;
}

static bool hosted(const struct tp_site *site, uint32_t zone, uint32_t self_tp)
{
	return zone < site->n_zones && site->zones[zone].tp == self_tp;
}

/* [worker] One token of a shared bucket. */
static bool take(struct fwd_bucket *b, uint64_t now_ns)
{
	bool ok;

	rte_spinlock_lock(&b->lock);
	ok = tp_ratelimit_take(&b->b, now_ns);
	rte_spinlock_unlock(&b->lock);
	return ok;
}

void fwd_rules_free(struct fwd_rules *r)
{
	if (!r)
		return;
	rte_free(r->b);
	free(r->slot);
	free(r);
}

/* Does this TP enforce anything of rule ru: a rate or a log flag on a
 * rule from or to one of its zones? */
static bool wanted(const struct tp_site *site, const struct tp_rule *ru, uint32_t self_tp)
{
	return (ru->rate_pps || ru->log) &&
	       (hosted(site, ru->from_zone, self_tp) || hosted(site, ru->to_zone, self_tp));
}

struct fwd_rules *fwd_rules_new(const struct tp_fwd *f, const struct tp_site *site,
				uint32_t self_tp, int *err)
{
	uint64_t now = tp_clock_now(&f->p.clock);
	struct fwd_rules *r = NULL;
	uint32_t n = 0, nb = 0, slots = 4;

	*err = 0;
	for (size_t i = 0; i < site->n_rules; i++) {
		if (wanted(site, &site->rules[i], self_tp)) {
			n++;
			nb += site->rules[i].rate_pps != 0;
		}
	}
	if (!n)
		return NULL;
	while (slots < 2 * n)
		slots <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail_nomem;
	r->mask = slots - 1;
	r->slot = calloc(slots, sizeof(*r->slot));
	if (!r->slot)
		goto fail_nomem;
	if (nb) {
		r->b = rte_zmalloc("tp_rate", nb * sizeof(*r->b), RTE_CACHE_LINE_SIZE);
		if (!r->b)
			goto fail_nomem;
	}
	for (size_t i = 0; i < site->n_rules; i++) {
		const struct tp_rule *ru = &site->rules[i];
		uint64_t burst = ru->rate_burst ? ru->rate_burst : ru->rate_pps;
		struct fwd_rule_x *x;
		uint32_t k = 0;

		if (!wanted(site, ru, self_tp))
			continue;
		/* ids are unique in a site (the engine refuses duplicates) */
		while (r->slot[(rule_hash(ru->id) + k) & r->mask].id)
			k++;
		x = &r->slot[(rule_hash(ru->id) + k) & r->mask];
		*x = (struct fwd_rule_x){.id = ru->id,
					 .from_zone = ru->from_zone,
					 .bucket = ru->rate_pps ? r->n_buckets++ : NO_BUCKET,
					 .log = ru->log};
		if (x->bucket == NO_BUCKET)
			continue;
		/* the receiving side of a tunnel: room for a conforming
		 * sender's jitter and republish (see the top of this file) */
		if (!hosted(site, ru->from_zone, self_tp))
			burst *= 2;
		rte_spinlock_init(&r->b[x->bucket].lock);
		tp_ratelimit_init(&r->b[x->bucket].b, ru->rate_pps, burst, now);
	}
	return r;
fail_nomem:
	fwd_rules_free(r);
	*err = -ENOMEM;
	return NULL;
}

static void log_push(struct tp_fwd *f, struct tp_stage_ctx *ctx, const struct fwd_topo *t,
		     const struct tp_decision *dec, const struct tp_flow_pkt *fp,
		     enum tp_flowlog_side side, bool limited)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	const struct tp_flow *fl = &fp->f;
	struct tp_flowlog_rec rec = {
		.mono_ns = ctx->now_ns,
		.gen = t->gen,
		.rule_id = dec->rule_id,
		.src_zone = dec->from_zone,
		.dst_zone = dec->to_zone,
		.sport = fl->sport,
		.dport = fl->dport,
		.family = fl->src.family == TP_AF_INET6 ? 6 : 4,
		.proto = fl->proto,
		.allow = dec->verdict == TP_VERDICT_ALLOW,
		.side = (uint8_t)side,
		.icmp_type = fl->icmp_type,
		.icmp_code = fl->icmp_code,
		.limited = limited,
	};

	memcpy(rec.src, fl->src.addr, sizeof(rec.src));
	memcpy(rec.dst, fl->dst.addr, sizeof(rec.dst));
	/* never waits: a full ring loses the record, counted */
	if (rte_ring_sp_enqueue_elem(w->log, &rec, sizeof(rec)) != 0)
		tp_counters_add(ctx->cnt, TP_STAT_LOG_DROPPED, 1);
}

bool fwd_rules_check(struct tp_fwd *f, struct tp_stage_ctx *ctx, const struct fwd_topo *t,
		     enum tp_flow_result r, const struct tp_decision *dec,
		     const struct tp_flow_pkt *fp, enum tp_flowlog_side side)
{
	const struct fwd_rule_x *x;
	bool pass = true;

	if (!t->rules || dec->rule_id == TP_RULE_ID_NONE)
		return true;
	x = rule_find(t->rules, dec->rule_id);
	if (!x)
		return true;
	if (x->bucket != NO_BUCKET && tp_flow_result_passes(r) && dec->from_zone == x->from_zone &&
	    !take(&t->rules->b[x->bucket], ctx->now_ns)) {
		fwd_hit_limited(&f->w[ctx->worker], dec->rule_id);
		pass = false;
	}
	/* a new flow, or a packet decided on its own (stateless, denied) */
	if (x->log &&
	    (r == TP_FLOW_PASS_NEW || r == TP_FLOW_PASS_STATELESS || r == TP_FLOW_DROP_POLICY))
		log_push(f, ctx, t, dec, fp, side, !pass);
	return pass;
}

/* Rule name and zone names of a record, in the generation it was decided
 * with while that topology is still kept (TOPO_SLOTS generations). */
static void names_of(struct tp_fwd *f, const struct tp_flowlog_rec *rec,
		     struct tp_flowlog_names *nm)
{
	const struct fwd_topo *t = f->pub.topo[rec->gen % TOPO_SLOTS];

	memset(nm, 0, sizeof(*nm));
	if (!t || t->gen != rec->gen)
		return;
	for (size_t i = 0; i < t->site->n_rules; i++) {
		if (t->site->rules[i].id == rec->rule_id) {
			nm->rule = t->site->rules[i].name;
			break;
		}
	}
	if (rec->src_zone < t->site->n_zones)
		nm->src_zone = t->site->zones[rec->src_zone].name;
	if (rec->dst_zone < t->site->n_zones)
		nm->dst_zone = t->site->zones[rec->dst_zone].name;
}

static void emit(struct tp_fwd *f, const char *line)
{
	if (f->p.log)
		f->p.log(f->p.log_arg, line);
	else
		fprintf(stderr, "tpd: %s\n", line);
}

void fwd_flowlog_drain(struct tp_fwd *f)
{
	uint64_t mono = tp_clock_now(&f->p.clock);
	uint64_t wall = fwd_wall_ns(f);
	char line[TP_FLOWLOG_LINE_MAX];
	struct tp_flowlog_rec rec;
	uint64_t before = f->ctl.log_cap.suppressed_total;

	for (unsigned i = 0; i < f->n_workers; i++) {
		struct fwd_worker *w = &f->w[i];
		/* a ring's worth a tick: a flood cannot hold the control thread */
		unsigned budget = LOG_RING_SIZE;

		while (budget-- && rte_ring_sc_dequeue_elem(w->log, &rec, sizeof(rec)) == 0) {
			struct tp_flowlog_names nm;
			uint64_t age = mono > rec.mono_ns ? mono - rec.mono_ns : 0;

			if (!tp_flowlog_cap_admit(&f->ctl.log_cap, mono))
				continue;
			if (tp_flowlog_cap_summary(&f->ctl.log_cap, mono, line, sizeof(line)))
				emit(f, line);
			names_of(f, &rec, &nm);
			tp_flowlog_format(&rec, &nm, wall > age ? wall - age : 0, line,
					  sizeof(line));
			emit(f, line);
		}
	}
	/* a flood ended: say how much was left out once the cap has room */
	if (tp_flowlog_cap_summary(&f->ctl.log_cap, mono, line, sizeof(line)))
		emit(f, line);
	tp_counters_add(ctl_slot(f), TP_STAT_LOG_SUPPRESSED,
			f->ctl.log_cap.suppressed_total - before);
}
