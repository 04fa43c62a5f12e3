// SPDX-License-Identifier: MIT
/*
 * The compiled policy engine (tp/policy/engine.h).
 *
 * Compiled state, all read-only after tp_engine_compile() returns:
 *
 *   v4, v6      zone lookup tries (lpm.h), value = zone index + 1
 *   pairs       open-addressed hash (from zone, to zone) -> struct pair;
 *               a pair absent from it has no rule: default deny
 *   pair        a classifier index per IP protocol (proto_cls[256]);
 *               index 0 of a pair's classifiers is its "other protocols"
 *   cls         one classifier per (pair, protocol) actually needed:
 *     SCALAR    one aggregate (protocols without ports or ICMP types, or
 *               whose rules here never narrow by them)
 *     PORTS     destination-port intervals: a sorted array of interval
 *               starts and one aggregate per elementary interval, found by
 *               binary search, or above 1024 intervals by a direct port ->
 *               aggregate map; rules that name source ports go to a second
 *               table, a dst x src grid of elementary rectangles, built only
 *               where such rules exist (bounded: GRID_CELLS_MAX)
 *     ICMP      per type an aggregate, and per type that some rule
 *               qualifies by code a 256-entry code table
 *
 * An aggregate (struct agg) is what §7.3 needs of the set of rules matching
 * a cell: the smallest deny id, the smallest allow id, whether any
 * matching allow is stateful and whether any has no application profile
 * (when none lacks one, the payload is checked against the profile of the
 * named allow). Aggregates of disjoint rule sets merge by
 * taking minima and OR, which is why the source-port grid can hold only its
 * own rules and be merged with the destination-port answer at lookup.
 *
 * Lookup cost: two trie walks (at most 4 steps for IPv4, 16 for IPv6), one
 * hash probe, then one or two binary searches over at most 65536
 * boundaries (or one load), independent of how many rules a pair has.
 * Rules outside their validity window at compile time are left out;
 * [valid_from, valid_until) says for how long that holds.
 *
 *   pair.prof   the pair's rules with an application profile, by id (at
 *               most TP_MODBUS_PROFILES_MAX): tp_engine_profiles() tests
 *               each one's ports, only for payload of a flow whose
 *               decision has profile set, so classification never
 *               touches them
 */
#include "tp/policy/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* ---- lookup ---- */

/* Index of the interval holding port: the last lo[i] <= port. */
static inline uint32_t ptab_find(const struct ptab *t, uint32_t port)
{
	uint32_t lo = 0, hi = t->n; /* invariant: t->lo[lo] <= port < t->lo[hi] */

	if (t->direct)
		return t->direct[port];
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->lo[mid] <= port)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static const struct pair *pair_find(const struct tp_engine *e, uint32_t from, uint32_t to)
{
	uint32_t h = pair_hash_of(from, to) & e->pair_mask;

	if (!e->pair_hash)
		return NULL;
	for (;; h = (h + 1) & e->pair_mask) {
		uint32_t v = e->pair_hash[h];
		const struct pair *p;

		if (v == 0)
			return NULL;
		p = &e->pair[v - 1];
		if (p->from == from && p->to == to)
			return p;
	}
}

static void cls_eval(const struct cls *c, const struct tp_flow *f, struct agg *out)
{
	switch (c->kind) {
	case CLS_SCALAR:
		*out = c->any;
		return;
	case CLS_PORTS:
		*out = c->dst.dcell ? c->dst.dcell[f->dport]
				    : c->dst.cell[ptab_find(&c->dst, f->dport)];
		if (c->src) {
			const struct grid *g = c->src;
			uint32_t row = ptab_find(&g->d, f->dport);
			uint32_t col = ptab_find(&g->s, f->sport);

			agg_merge(out, &g->cell[(size_t)row * g->s.n + col]);
		}
		return;
	case CLS_ICMP:
		if (c->icmp->code[f->icmp_type])
			*out = c->icmp->code[f->icmp_type][f->icmp_code];
		else
			*out = c->icmp->type[f->icmp_type];
		return;
	}
}

uint32_t tp_engine_zone_of(const struct tp_engine *e, uint8_t family, const uint8_t *addr)
{
	uint32_t v;

	if (family == TP_AF_INET)
		v = lpm_lookup(&e->v4, addr);
	else if (family == TP_AF_INET6)
		v = lpm_lookup(&e->v6, addr);
	else
		v = 0;
	return v == 0 ? TP_ZONE_NONE : v - 1;
}

void tp_engine_decide(const struct tp_engine *e, const struct tp_flow *f, struct tp_decision *out)
{
	const struct pair *p;
	struct agg a = {0};

	out->from_zone = tp_engine_zone_of(e, f->src.family, f->src.addr);
	out->to_zone = tp_engine_zone_of(e, f->dst.family, f->dst.addr);
	out->rule_id = TP_RULE_ID_NONE;
	out->stateful = false;
	out->profile = false;
	out->verdict = TP_VERDICT_DENY;

	if (out->from_zone == TP_ZONE_NONE) {
		out->reason = TP_REASON_NO_SRC_ZONE;
		return;
	}
	if (out->to_zone == TP_ZONE_NONE) {
		out->reason = TP_REASON_NO_DST_ZONE;
		return;
	}
	if (out->from_zone == out->to_zone) {
		out->verdict = TP_VERDICT_ALLOW;
		out->reason = TP_REASON_SAME_ZONE;
		return;
	}
	p = pair_find(e, out->from_zone, out->to_zone);
	if (p)
		cls_eval(&e->cls[p->cls_base + p->proto_cls[f->proto]], f, &a);

	if (a.deny != TP_RULE_ID_NONE) {
		out->reason = TP_REASON_RULE_DENY;
		out->rule_id = a.deny;
	} else if (a.allow != TP_RULE_ID_NONE) {
		out->verdict = TP_VERDICT_ALLOW;
		out->reason = TP_REASON_RULE_ALLOW;
		out->rule_id = a.allow;
		out->stateful = a.stateful != 0;
		out->profile = a.open == 0;
	} else {
		out->reason = TP_REASON_DEFAULT_DENY;
	}
}

static bool ports_in(const struct tp_port_range *r, uint32_t n, uint16_t port)
{
	for (uint32_t i = 0; i < n; i++)
		if (r[i].lo <= port && port <= r[i].hi)
			return true;
	return n == 0;
}

uint32_t tp_engine_profiles(const struct tp_engine *e, const struct tp_decision *d,
			    const struct tp_flow *f, uint32_t ids[TP_MODBUS_PROFILES_MAX],
			    const struct tp_modbus_rules *rules[TP_MODBUS_PROFILES_MAX])
{
	uint32_t from = d->from_zone, to = d->to_zone;
	const struct pair *p;
	uint32_t n = 0;

	if (from == TP_ZONE_NONE || to == TP_ZONE_NONE || from == to || f->proto != 6)
		return 0;
	p = pair_find(e, from, to);
	for (uint32_t i = 0; p && i < p->n_prof; i++) {
		const struct prof *x = &p->prof[i];

		if (!ports_in(x->dst, x->n_dst, f->dport) || !ports_in(x->src, x->n_src, f->sport))
			continue;
		if (ids)
			ids[n] = x->id;
		if (rules)
			rules[n] = x->modbus;
		n++;
	}
	return n;
}

uint32_t tp_engine_zone_tp(const struct tp_engine *e, uint32_t zone)
{
	return zone < e->n_zones ? e->zone_tp[zone] : UINT32_MAX;
}

int64_t tp_engine_valid_from(const struct tp_engine *e)
{
	return e->valid_from;
}

int64_t tp_engine_valid_until(const struct tp_engine *e)
{
	return e->valid_until;
}

bool tp_engine_valid_at(const struct tp_engine *e, int64_t now)
{
	return e->valid_from <= now && now < e->valid_until;
}

const struct tp_engine_rule_info *tp_engine_rule(const struct tp_engine *e, uint32_t rule_id)
{
	uint32_t lo = 0, hi = e->n_rules;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (e->rule[mid].id < rule_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->n_rules && e->rule[lo].id == rule_id ? &e->rule[lo] : NULL;
}

uint64_t tp_engine_generation(const struct tp_engine *e)
{
	return e->generation;
}

size_t tp_engine_memory(const struct tp_engine *e)
{
	return e->arena.bytes + ((size_t)e->v4.n_nodes + e->v6.n_nodes) * LPM_NODE_SLOTS * 4;
}

void tp_engine_free(struct tp_engine *e)
{
	if (!e)
		return;
	free(e->cls);
	lpm_fini(&e->v4);
	lpm_fini(&e->v6);
	arena_free(&e->arena);
	free(e);
}

/* ---- publication ---- */

void tp_engine_slot_init(struct tp_engine_slot *slot, tp_engine_retire_fn retire, void *arg)
{
	atomic_init(&slot->cur, NULL);
	slot->last_gen = 0;
	slot->retire = retire;
	slot->retire_arg = arg;
}

static void retire(struct tp_engine_slot *slot, struct tp_engine *old)
{
	if (!old)
		return;
	if (slot->retire)
		slot->retire(old, slot->retire_arg);
	else
		tp_engine_free(old);
}

void tp_engine_publish(struct tp_engine_slot *slot, struct tp_engine *e)
{
	struct tp_engine *old;

	/* The generation is written before the release store, so a reader
	 * that sees e sees its generation. */
	if (e)
		e->generation = ++slot->last_gen;
	old = atomic_exchange_explicit(&slot->cur, e, memory_order_acq_rel);
	retire(slot, old);
}

void tp_engine_slot_fini(struct tp_engine_slot *slot)
{
	retire(slot, atomic_exchange_explicit(&slot->cur, NULL, memory_order_acq_rel));
}
