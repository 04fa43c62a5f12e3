/* SPDX-License-Identifier: MIT */
/*
 * Layout of a compiled engine, shared by engine.c (lookup, publication) and
 * compile.c (building it). See engine.c for what each table means.
 */
#ifndef TP_ENGINE_INT_H
#define TP_ENGINE_INT_H

#include "tp/policy/engine.h"

#include "arena.h"
#include "lpm.h"

/* Budget for source-port grids: cells held, and cells painted while
 * building (a rule paints the rectangles of its ranges). */
#define GRID_CELLS_MAX (1u << 21)
#define GRID_PAINT_MAX (1ull << 26)

#define PORT_RANGE_END 65536u

/* Above this many intervals a table also gets a direct map from port to
 * what it needs: one load instead of a dozen dependent ones of a binary
 * search. A destination table maps straight to the aggregate (768 KiB,
 * one cache miss); a grid axis to the interval index (128 KiB). Only the
 * busiest tables of large policies reach it. */
#define PTAB_DIRECT_MIN 1024u

enum cls_kind {
	CLS_SCALAR = 0,
	CLS_PORTS,
	CLS_ICMP,
};

struct agg {
	uint32_t deny;	   /* smallest matching deny id, TP_RULE_ID_NONE if none */
	uint32_t allow;	   /* smallest matching allow id */
	uint16_t stateful; /* some matching allow is stateful */
	uint16_t open;	   /* some matching allow has no application profile */
};

struct ptab {
	uint32_t n;	   /* elementary intervals, >= 1 */
	uint32_t *lo;	   /* start of each interval, lo[0] = 0, ascending */
	struct agg *cell;  /* n aggregates */
	uint16_t *direct;  /* port -> interval (grid axes), when n > PTAB_DIRECT_MIN */
	struct agg *dcell; /* port -> aggregate (destination tables), same condition */
};

struct grid {
	struct ptab d;	  /* dst intervals; cell unused */
	struct ptab s;	  /* src intervals; cell unused */
	struct agg *cell; /* d.n * s.n, row = dst interval */
};

struct icmp_tab {
	struct agg type[256];
	struct agg *code[256]; /* NULL: every code of that type as type[] */
};

struct cls {
	enum cls_kind kind;
	struct agg any;	       /* SCALAR */
	struct ptab dst;       /* PORTS */
	struct grid *src;      /* PORTS: rules that name source ports, or NULL */
	struct icmp_tab *icmp; /* ICMP */
};

/* A rule of a pair with an application profile, for tp_engine_profiles()
 * (such a rule is a stateful TCP allow: only its ports narrow it). */
struct prof {
	uint32_t id;
	uint32_t n_dst, n_src; /* 0: any port */
	const struct tp_port_range *dst, *src;
	const struct tp_modbus_rules *modbus;
};

struct pair {
	uint32_t from, to;
	uint32_t cls_base;	 /* first classifier of this pair in e->cls */
	uint32_t n_prof;	 /* <= TP_MODBUS_PROFILES_MAX */
	const struct prof *prof; /* its profile rules, by id */
	uint16_t proto_cls[256]; /* offset from cls_base; 0 = other protocols */
};

struct tp_engine {
	struct tp_engine_rule_info *rule; /* sorted by id */
	uint32_t n_rules;
	struct arena arena;
	struct lpm v4, v6;
	uint32_t n_zones;
	uint32_t *zone_tp;
	struct pair *pair;
	uint32_t n_pairs;
	uint32_t *pair_hash; /* pair index + 1, 0 = empty */
	uint32_t pair_mask;
	struct cls *cls;
	uint32_t n_cls;
	int64_t valid_from, valid_until;
	uint64_t generation;
};

/* ---- aggregates ---- */

static inline uint32_t id_min(uint32_t a, uint32_t b)
{
	if (a == TP_RULE_ID_NONE)
		return b;
	if (b == TP_RULE_ID_NONE)
		return a;
	return a < b ? a : b;
}

static inline void agg_merge(struct agg *into, const struct agg *a)
{
	into->deny = id_min(into->deny, a->deny);
	into->allow = id_min(into->allow, a->allow);
	into->stateful |= a->stateful;
	into->open |= a->open;
}

static inline void agg_add_rule(struct agg *a, const struct tp_rule *r)
{
	if (r->action == TP_ACTION_DENY) {
		a->deny = id_min(a->deny, r->id);
	} else {
		a->allow = id_min(a->allow, r->id);
		a->stateful |= r->stateful;
		a->open |= r->profile == TP_PROFILE_NONE;
	}
}

static inline uint32_t pair_hash_of(uint32_t from, uint32_t to)
{
	uint64_t k = ((uint64_t)from << 32 | to) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(k >> 32);
}

#endif /* TP_ENGINE_INT_H */
