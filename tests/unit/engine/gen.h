/* SPDX-License-Identifier: MIT */
/*
 * Random sites and packets for the engine's differential test and the
 * policy benchmarks. Deterministic for a given seed: a failure prints its
 * seed and replays exactly.
 *
 * The generator aims at the corners of §7: nested prefixes of different
 * zones, addresses just inside and just outside them, port values on range
 * boundaries, any-protocol rules with port or ICMP lists, deny and allow on
 * the same traffic, stateless rules, rules that appear or expire around the
 * compile time.
 */
#ifndef TP_TEST_GEN_H
#define TP_TEST_GEN_H

#include <stdint.h>

#include "tp/policy/site.h"

struct gen {
	uint64_t s;
	/* addresses prefixes were cut from; packets are drawn near them */
	uint8_t v4[8][4];
	uint8_t v6[8][16];
	int64_t t_base;		  /* validity windows are drawn around it */
	unsigned random_port_pct; /* of the site being generated */
	/* its profile rules per (from, to) zone pair: at most
	 * TP_MODBUS_PROFILES_MAX, as the engine accepts */
	uint8_t n_prof[8][8];
};

struct gen_cfg {
	unsigned zones_max; /* 2..zones_max zones */
	unsigned rules_min, rules_max;
	unsigned src_port_pct;	  /* rules that name source ports, percent */
	unsigned window_pct;	  /* rules with not_before/not_after, percent */
	unsigned random_port_pct; /* ports drawn uniformly instead of near well-known ones */
};

void gen_seed(struct gen *g, uint64_t seed);
uint64_t gen_u64(struct gen *g);
uint32_t gen_below(struct gen *g, uint32_t n);

/* A new random site (free with tp_site_free); NULL on allocation failure. */
struct tp_site *gen_site(struct gen *g, const struct gen_cfg *cfg);

/* A random packet near the site's prefixes. */
void gen_flow(struct gen *g, struct tp_flow *f);

/* A time near the site's validity boundaries. */
int64_t gen_time(struct gen *g);

#endif /* TP_TEST_GEN_H */
