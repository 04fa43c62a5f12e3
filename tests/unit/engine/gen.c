// SPDX-License-Identifier: MIT
#include "gen.h"

#include "tp/policy/modbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t protos[] = {0, 6, 6, 6, 17, 17, 1, 58, 132, 47, 136};
static const uint16_t ports[] = {0,    1,    21,   22,	 80,	102,   443,   502,
				 1023, 1024, 2222, 4840, 20000, 44818, 65534, 65535};
static const uint8_t icmp_types[] = {0, 3, 8, 11, 128, 129, 1, 255};

void gen_seed(struct gen *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->s = seed;
	g->t_base = 1800000000;
}

uint64_t gen_u64(struct gen *g)
{
	/* splitmix64 */
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t gen_below(struct gen *g, uint32_t n)
{
	return n ? (uint32_t)(gen_u64(g) % n) : 0;
}

static uint16_t gen_port(struct gen *g)
{
	uint16_t p = ports[gen_below(g, sizeof(ports) / sizeof(ports[0]))];

	if (gen_below(g, 100) < g->random_port_pct)
		return (uint16_t)gen_u64(g);
	switch (gen_below(g, 6)) {
	case 0:
		return (uint16_t)gen_u64(g);
	case 1:
		return (uint16_t)(p + 1);
	case 2:
		return (uint16_t)(p - 1);
	default:
		return p;
	}
}

static void gen_range(struct gen *g, struct tp_port_range *r)
{
	uint16_t a = gen_port(g), b = gen_below(g, 3) ? a : gen_port(g);

	if (gen_below(g, 4) == 0)
		b = (uint16_t)(a + gen_below(g, 100) > 65535 ? 65535 : a + gen_below(g, 100));
	r->lo = a < b ? a : b;
	r->hi = a < b ? b : a;
}

static void mask(uint8_t *a, unsigned len, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = len > i * 8 ? len - i * 8 : 0;

		if (keep < 8)
			a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static void gen_prefix(struct gen *g, struct tp_prefix *p)
{
	static const uint8_t len4[] = {0, 8, 12, 16, 20, 23, 24, 26, 28, 31, 32};
	static const uint8_t len6[] = {0, 8, 16, 32, 48, 56, 64, 65, 96, 120, 127, 128};

	memset(p, 0, sizeof(*p));
	if (gen_below(g, 2)) {
		p->family = TP_AF_INET;
		memcpy(p->addr, g->v4[gen_below(g, 8)], 4);
		p->len = len4[gen_below(g, sizeof(len4))];
		mask(p->addr, p->len, 4);
	} else {
		p->family = TP_AF_INET6;
		memcpy(p->addr, g->v6[gen_below(g, 8)], 16);
		p->len = len6[gen_below(g, sizeof(len6))];
		mask(p->addr, p->len, 16);
	}
}

static bool same_prefix(const struct tp_prefix *a, const struct tp_prefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

static bool prefix_taken(const struct tp_site *s, size_t nz, const struct tp_zone *z,
			 const struct tp_prefix *p)
{
	for (size_t i = 0; i < nz; i++)
		for (size_t k = 0; k < s->zones[i].n_prefixes; k++)
			if (same_prefix(&s->zones[i].prefixes[k], p))
				return true;
	for (size_t k = 0; k < z->n_prefixes; k++)
		if (same_prefix(&z->prefixes[k], p))
			return true;
	return false;
}

static int gen_rule(struct gen *g, struct tp_site *s, struct tp_rule *r, uint32_t id,
		    const struct gen_cfg *cfg)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->from_zone = gen_below(g, (uint32_t)s->n_zones);
	r->to_zone = gen_below(g, 10) ? gen_below(g, (uint32_t)s->n_zones) : r->from_zone;
	r->action = gen_below(g, 4) ? TP_ACTION_ALLOW : TP_ACTION_DENY;
	r->proto = protos[gen_below(g, sizeof(protos))];
	r->stateful = gen_below(g, 5) != 0;
	if ((r->proto == 0 && gen_below(g, 2)) || r->proto == 6 || r->proto == 17 ||
	    r->proto == 132 || gen_below(g, 20) == 0) {
		r->n_dst_ports = gen_below(g, 4);
		if (gen_below(g, 100) < cfg->src_port_pct)
			r->n_src_ports = 1 + gen_below(g, 2);
	}
	if (r->proto == 1 || r->proto == 58 || gen_below(g, 10) == 0)
		r->n_icmp = gen_below(g, 4);
	r->dst_ports = calloc(r->n_dst_ports + 1, sizeof(*r->dst_ports));
	r->src_ports = calloc(r->n_src_ports + 1, sizeof(*r->src_ports));
	r->icmp = calloc(r->n_icmp + 1, sizeof(*r->icmp));
	if (!r->dst_ports || !r->src_ports || !r->icmp)
		return -1;
	for (size_t i = 0; i < r->n_dst_ports; i++)
		gen_range(g, &r->dst_ports[i]);
	for (size_t i = 0; i < r->n_src_ports; i++)
		gen_range(g, &r->src_ports[i]);
	for (size_t i = 0; i < r->n_icmp; i++) {
		r->icmp[i].type = icmp_types[gen_below(g, sizeof(icmp_types))];
		r->icmp[i].code = gen_below(g, 2) ? -1 : (int16_t)gen_below(g, 4);
	}
	/* a Modbus profile (lists empty: the decision only reports it) on
	 * a third of the rules that may carry one */
	if (r->action == TP_ACTION_ALLOW && r->proto == 6 && r->stateful && gen_below(g, 3) == 0 &&
	    r->from_zone < 8 && r->to_zone < 8 &&
	    g->n_prof[r->from_zone][r->to_zone] < TP_MODBUS_PROFILES_MAX) {
		r->profile = TP_PROFILE_MODBUS;
		g->n_prof[r->from_zone][r->to_zone]++;
	}
	if (gen_below(g, 100) < cfg->window_pct) {
		int64_t a = g->t_base + (int64_t)gen_below(g, 2000) - 1000;

		if (gen_below(g, 3))
			r->not_before = a;
		if (gen_below(g, 3))
			r->not_after = a + 1 + gen_below(g, 1000);
	}
	return 0;
}

struct tp_site *gen_site(struct gen *g, const struct gen_cfg *cfg)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	uint32_t nr;
	uint32_t *ids = NULL;

	if (!s)
		return NULL;
	g->random_port_pct = cfg->random_port_pct;
	memset(g->n_prof, 0, sizeof(g->n_prof));
	for (int i = 0; i < 8; i++) {
		uint64_t x = gen_u64(g), y = gen_u64(g);

		memcpy(g->v4[i], &x, 4);
		g->v4[i][0] = 10;
		memcpy(g->v6[i], &x, 8);
		memcpy(g->v6[i] + 8, &y, 8);
		g->v6[i][0] = 0xfd;
		/* share leading bits now and then so prefixes nest */
		if (i && gen_below(g, 2)) {
			memcpy(g->v4[i], g->v4[i - 1], 2);
			memcpy(g->v6[i], g->v6[i - 1], 6);
		}
	}
	snprintf(s->name, sizeof(s->name), "random");
	s->n_tps = 1 + gen_below(g, 3);
	s->tps = calloc(s->n_tps, sizeof(*s->tps));
	s->n_zones = 2 + gen_below(g, cfg->zones_max - 1);
	s->zones = calloc(s->n_zones, sizeof(*s->zones));
	if (!s->tps || !s->zones)
		goto fail;
	for (size_t i = 0; i < s->n_tps; i++)
		snprintf(s->tps[i].name, sizeof(s->tps[i].name), "tp%zu", i);
	for (size_t z = 0; z < s->n_zones; z++) {
		struct tp_zone *zone = &s->zones[z];
		size_t want = 1 + gen_below(g, 4);

		zone->id = (uint32_t)z + 1;
		snprintf(zone->name, sizeof(zone->name), "zone%zu", z);
		zone->tp = gen_below(g, (uint32_t)s->n_tps);
		zone->prefixes = calloc(want, sizeof(*zone->prefixes));
		if (!zone->prefixes)
			goto fail;
		for (size_t k = 0; k < want; k++) {
			struct tp_prefix p;

			gen_prefix(g, &p);
			if (!prefix_taken(s, z, zone, &p))
				zone->prefixes[zone->n_prefixes++] = p;
		}
	}
	nr = cfg->rules_min + gen_below(g, cfg->rules_max - cfg->rules_min + 1);
	s->rules = calloc(nr ? nr : 1, sizeof(*s->rules));
	ids = calloc(nr ? nr : 1, sizeof(*ids));
	if (!s->rules || !ids)
		goto fail;
	/* unique ids in random order: rule order must never matter */
	for (uint32_t i = 0; i < nr; i++)
		ids[i] = i * 3 + 1 + gen_below(g, 3);
	for (uint32_t i = nr; i > 1; i--) {
		uint32_t j = gen_below(g, i), t = ids[i - 1];

		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	for (uint32_t i = 0; i < nr; i++) {
		s->n_rules++;
		if (gen_rule(g, s, &s->rules[i], ids[i], cfg))
			goto fail;
	}
	free(ids);
	return s;
fail:
	free(ids);
	tp_site_free(s);
	return NULL;
}

static void gen_addr(struct gen *g, struct tp_prefix *a, uint8_t family)
{
	unsigned bytes = family == TP_AF_INET ? 4 : 16;

	memset(a, 0, sizeof(*a));
	a->family = family;
	a->len = (uint8_t)(bytes * 8);
	if (gen_below(g, 8) == 0) {
		for (unsigned i = 0; i < bytes; i++)
			a->addr[i] = (uint8_t)gen_u64(g);
		return;
	}
	memcpy(a->addr, family == TP_AF_INET ? g->v4[gen_below(g, 8)] : g->v6[gen_below(g, 8)],
	       bytes);
	/* flip one bit somewhere: lands inside or just outside a prefix */
	if (gen_below(g, 2)) {
		unsigned bit = gen_below(g, bytes * 8);

		a->addr[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	}
}

void gen_flow(struct gen *g, struct tp_flow *f)
{
	uint8_t family = gen_below(g, 2) ? TP_AF_INET : TP_AF_INET6;

	memset(f, 0, sizeof(*f));
	f->proto = gen_below(g, 10) ? protos[gen_below(g, sizeof(protos))] : (uint8_t)gen_u64(g);
	gen_addr(g, &f->src, family);
	gen_addr(g, &f->dst, family);
	f->sport = gen_port(g);
	f->dport = gen_port(g);
	f->icmp_type = gen_below(g, 4) ? icmp_types[gen_below(g, sizeof(icmp_types))]
				       : (uint8_t)gen_u64(g);
	f->icmp_code = (uint8_t)(gen_below(g, 4) ? gen_below(g, 4) : gen_u64(g));
}

int64_t gen_time(struct gen *g)
{
	return g->t_base + (int64_t)gen_below(g, 4000) - 2000;
}
