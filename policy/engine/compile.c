// SPDX-License-Identifier: MIT
/*
 * tp_engine_compile(): check a site, then build the tables engine.c reads.
 *
 * The steps, each its own function: check the site (everything the engine
 * refuses), zone tries (prefixes sorted shortest first for lpm.h), the
 * validity interval, then per zone pair the per-protocol classifiers. All
 * compiled tables live in the engine's arena; scratch arrays are malloc'd
 * and freed before returning.
 */
#include "tp/policy/engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

struct build {
	const struct tp_site *site;
	int64_t now;
	struct tp_engine *e;
	char *err;
	size_t errlen;
	uint32_t cls_cap;
	uint64_t grid_cells; /* budget used so far */
	uint64_t grid_paint;
};

/* A zone prefix, for the duplicate check and for shortest-first insertion. */
struct zpfx {
	const struct tp_prefix *p;
	uint32_t zone;
	uint8_t masked[16];
};

/* A port interval [lo, end) that a rule matches. */
struct rng {
	uint32_t lo, end;
	const struct tp_rule *r;
};

/* A rectangle of the source-port grid. */
struct rect {
	uint32_t dlo, dend, slo, send;
	const struct tp_rule *r;
};

/* A rule of one zone pair. */
struct prule {
	uint32_t from, to;
	const struct tp_rule *r;
};

__attribute__((format(printf, 3, 4))) static int fail(struct build *b, int ret, const char *fmt,
						      ...)
{
	va_list ap;

	if (b->errlen == 0)
		return ret;
	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * qsort, after an O(n) look whether v already is in order. Rules usually
 * come in id order (tpolicy keeps the order of the YAML, where ids rise),
 * and then the sorts by id below (duplicate ids, rule facts, each port
 * table's painting order) have nothing to do: at 10k rules they were half
 * of the compile. Used only where the order of equal elements does not
 * matter (qsort leaves it open too).
 */
static void sort_by(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	const char *p = v;

	for (size_t i = 1; i < n; i++)
		if (cmp(p + (i - 1) * size, p + i * size) > 0) {
			qsort(v, n, size, cmp);
			return;
		}
}

/* ---- checks ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int check_rule(struct build *b, const struct tp_rule *r)
{
	const struct tp_site *s = b->site;

	if (r->id == TP_RULE_ID_NONE)
		return fail(b, -EINVAL, "rule '%s' (line %u): rule id 0 is reserved", r->name,
			    r->loc.line);
	if (r->action != TP_ACTION_ALLOW && r->action != TP_ACTION_DENY)
		return fail(b, -EINVAL, "rule %u: unknown action %d", r->id, (int)r->action);
	if (r->from_zone >= s->n_zones || r->to_zone >= s->n_zones)
		return fail(b, -EINVAL, "rule %u: zone index out of range", r->id);
	for (size_t i = 0; i < r->n_dst_ports; i++)
		if (r->dst_ports[i].lo > r->dst_ports[i].hi)
			return fail(b, -EINVAL, "rule %u: inverted destination port range %u-%u",
				    r->id, r->dst_ports[i].lo, r->dst_ports[i].hi);
	for (size_t i = 0; i < r->n_src_ports; i++)
		if (r->src_ports[i].lo > r->src_ports[i].hi)
			return fail(b, -EINVAL, "rule %u: inverted source port range %u-%u", r->id,
				    r->src_ports[i].lo, r->src_ports[i].hi);
	for (size_t i = 0; i < r->n_icmp; i++)
		if (r->icmp[i].code < -1 || r->icmp[i].code > 255)
			return fail(b, -EINVAL, "rule %u: ICMP code %d out of range", r->id,
				    r->icmp[i].code);
	if (r->profile != TP_PROFILE_NONE && r->profile != TP_PROFILE_MODBUS)
		return fail(b, -EINVAL, "rule %u: unknown application profile %d", r->id,
			    (int)r->profile);
	if (r->profile == TP_PROFILE_MODBUS &&
	    (r->action != TP_ACTION_ALLOW || r->proto != 6 || !r->stateful))
		/* The checker follows the client's TCP stream from its SYN:
		 * it needs a flow, and only narrows what an allow admits. */
		return fail(b, -EINVAL,
			    "rule %u '%s' (line %u): a modbus profile needs a stateful allow rule "
			    "with proto tcp",
			    r->id, r->name, r->loc.line);
	if (r->not_before && r->not_after && r->not_after <= r->not_before)
		return fail(b, -EINVAL, "rule %u: not_after is not after not_before", r->id);
	return 0;
}

static int check_rules(struct build *b)
{
	const struct tp_site *s = b->site;
	uint32_t *ids;
	int ret = 0;

	for (size_t i = 0; i < s->n_rules; i++) {
		ret = check_rule(b, &s->rules[i]);
		if (ret)
			return ret;
	}
	if (s->n_rules < 2)
		return 0;
	ids = malloc(s->n_rules * sizeof(*ids));
	if (!ids)
		return fail(b, -ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n_rules; i++)
		ids[i] = s->rules[i].id;
	sort_by(ids, s->n_rules, sizeof(*ids), cmp_u32);
	for (size_t i = 1; i < s->n_rules; i++) {
		if (ids[i] == ids[i - 1]) {
			ret = fail(b, -EINVAL, "rule id %u is used twice", ids[i]);
			break;
		}
	}
	free(ids);
	return ret;
}

static int cmp_info(const void *a, const void *b)
{
	const struct tp_engine_rule_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Per-rule facts the decision does not carry, looked up by id. */
static int build_rule_info(struct build *b)
{
	const struct tp_site *s = b->site;
	struct tp_engine *e = b->e;

	e->rule = arena_calloc(&e->arena, s->n_rules ? s->n_rules : 1, sizeof(*e->rule));
	if (!e->rule)
		return fail(b, -ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];
		struct tp_engine_rule_info *ri = &e->rule[i];

		ri->id = r->id;
		ri->log = r->log;
		ri->stateful = r->stateful;
		ri->rate_pps = r->rate_pps;
		ri->rate_burst = r->rate_burst;
		memcpy(ri->name, r->name, strnlen(r->name, sizeof(ri->name) - 1));
		if (r->profile == TP_PROFILE_MODBUS) {
			const struct tp_modbus_profile *mp = &r->modbus;
			struct tp_modbus_rules *mr = arena_calloc(&e->arena, 1, sizeof(*mr));
			struct tp_u16_range *rg = arena_calloc(
				&e->arena, mp->n_registers ? mp->n_registers : 1, sizeof(*rg));

			if (!mr || !rg)
				return fail(b, -ENOMEM, "out of memory");
			if (!tp_modbus_rules_build(mp, rg, mr))
				return fail(
					b, -EINVAL,
					"rule %u '%s' (line %u): modbus profile has an inverted "
					"register range, or function code 0 or above 127",
					r->id, r->name, r->loc.line);
			ri->modbus = mr;
		}
	}
	e->n_rules = (uint32_t)s->n_rules;
	sort_by(e->rule, s->n_rules, sizeof(*e->rule), cmp_info);
	return 0;
}

static int cmp_zpfx(const void *a, const void *b)
{
	const struct zpfx *x = a, *y = b;

	if (x->p->family != y->p->family)
		return x->p->family < y->p->family ? -1 : 1;
	if (x->p->len != y->p->len)
		return x->p->len < y->p->len ? -1 : 1;
	return memcmp(x->masked, y->masked, 16);
}

static void mask_prefix(const struct tp_prefix *p, uint8_t out[16])
{
	unsigned full = p->len / 8, rem = p->len % 8;

	memset(out, 0, 16);
	memcpy(out, p->addr, full);
	if (rem)
		out[full] = p->addr[full] & (uint8_t)(0xff << (8 - rem));
}

/* Zone tries. Also refuses the same prefix in two zones (§7.1). */
static int build_zones(struct build *b)
{
	const struct tp_site *s = b->site;
	struct tp_engine *e = b->e;
	struct zpfx *v = NULL;
	size_t n = 0, k = 0;
	int ret = 0;

	if (s->n_zones >= LPM_CHILD - 1)
		return fail(b, -E2BIG, "too many zones");
	e->n_zones = (uint32_t)s->n_zones;
	e->zone_tp = arena_calloc(&e->arena, s->n_zones ? s->n_zones : 1, sizeof(uint32_t));
	if (!e->zone_tp)
		return fail(b, -ENOMEM, "out of memory");
	for (size_t z = 0; z < s->n_zones; z++) {
		if (s->zones[z].tp >= s->n_tps)
			return fail(b, -EINVAL, "zone '%s': hosting TP index out of range",
				    s->zones[z].name);
		e->zone_tp[z] = s->zones[z].tp;
		n += s->zones[z].n_prefixes;
	}
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return fail(b, -ENOMEM, "out of memory");
	for (size_t z = 0; z < s->n_zones; z++) {
		for (size_t i = 0; i < s->zones[z].n_prefixes; i++) {
			const struct tp_prefix *p = &s->zones[z].prefixes[i];
			unsigned max = p->family == TP_AF_INET ? 32 : 128;

			if ((p->family != TP_AF_INET && p->family != TP_AF_INET6) || p->len > max) {
				ret = fail(b, -EINVAL, "zone '%s': bad prefix", s->zones[z].name);
				goto out_free;
			}
			v[k].p = p;
			v[k].zone = (uint32_t)z;
			mask_prefix(p, v[k].masked);
			k++;
		}
	}
	qsort(v, n, sizeof(*v), cmp_zpfx);
	for (size_t i = 0; i < n; i++) {
		char buf[64];

		if (i > 0 && cmp_zpfx(&v[i - 1], &v[i]) == 0 && v[i - 1].zone != v[i].zone) {
			ret = fail(b, -EINVAL, "prefix %s is in zones '%s' and '%s'",
				   tp_prefix_format(v[i].p, false, buf, sizeof(buf)),
				   s->zones[v[i - 1].zone].name, s->zones[v[i].zone].name);
			goto out_free;
		}
		ret = lpm_add(v[i].p->family == TP_AF_INET ? &e->v4 : &e->v6, v[i].masked,
			      v[i].p->len, v[i].zone + 1);
		if (ret) {
			ret = fail(b, ret, "zone tables: %s", strerror(-ret));
			goto out_free;
		}
	}
out_free:
	free(v);
	return ret;
}

/* [valid_from, valid_until): between the closest rule boundaries around now. */
static void build_validity(struct build *b)
{
	const struct tp_site *s = b->site;
	int64_t from = INT64_MIN, until = TP_ENGINE_FOREVER;

	for (size_t i = 0; i < s->n_rules; i++) {
		const int64_t t[2] = {s->rules[i].not_before, s->rules[i].not_after};

		for (int j = 0; j < 2; j++) {
			if (t[j] == 0)
				continue;
			if (t[j] <= b->now && t[j] > from)
				from = t[j];
			if (t[j] > b->now && t[j] < until)
				until = t[j];
		}
	}
	b->e->valid_from = from;
	b->e->valid_until = until;
}

/* ---- port intervals ---- */

static int cmp_rng_id(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;

	return x->r->id < y->r->id ? -1 : x->r->id > y->r->id;
}

/* Sort and deduplicate; returns the new count. */
static size_t sort_unique(uint32_t *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* Index of the interval starting exactly at port (port is a boundary), or
 * t->n for PORT_RANGE_END. */
static uint32_t bound_index(const uint32_t *lo, uint32_t n, uint32_t port)
{
	uint32_t a = 0, z = n;

	while (a < z) {
		uint32_t mid = a + (z - a) / 2;

		if (lo[mid] < port)
			a = mid + 1;
		else
			z = mid;
	}
	return a;
}

/* Interval starts for a set of [lo, end) ranges (given as pairs). */
static int bounds_build(struct build *b, const uint32_t *ends, size_t n_ends, struct ptab *t,
			bool direct)
{
	uint32_t *v = malloc((n_ends + 1) * sizeof(*v));
	size_t k = 0, m;

	if (!v)
		return fail(b, -ENOMEM, "out of memory");
	v[k++] = 0;
	for (size_t i = 0; i < n_ends; i++)
		if (ends[i] < PORT_RANGE_END)
			v[k++] = ends[i];
	m = sort_unique(v, k);
	t->n = (uint32_t)m;
	t->lo = arena_calloc(&b->e->arena, m, sizeof(*t->lo));
	if (!t->lo) {
		free(v);
		return fail(b, -ENOMEM, "out of memory");
	}
	memcpy(t->lo, v, m * sizeof(*v));
	free(v);
	if (direct && m > PTAB_DIRECT_MIN) {
		t->direct = arena_calloc(&b->e->arena, PORT_RANGE_END, sizeof(*t->direct));
		if (!t->direct)
			return fail(b, -ENOMEM, "out of memory");
		for (uint32_t i = 0, port = 0; port < PORT_RANGE_END; port++) {
			while (i + 1 < m && t->lo[i + 1] <= port)
				i++;
			t->direct[port] = (uint16_t)i;
		}
	}
	return 0;
}

static uint32_t uf_find(uint32_t *next, uint32_t i)
{
	uint32_t root = i;

	while (next[root] != root)
		root = next[root];
	while (next[i] != root) {
		uint32_t up = next[i];
		next[i] = root;
		i = up;
	}
	return root;
}

/*
 * One aggregate per elementary interval. Ranges are visited in id order, so
 * the first rule to reach an interval has the smallest id; a union-find
 * "next unpainted interval" skips what is painted, making the whole pass
 * near-linear in ranges + intervals rather than their product.
 */
static int ptab_build(struct build *b, struct rng *v, size_t n, struct ptab *t)
{
	uint32_t *ends = calloc(2 * n + 1, sizeof(*ends));
	uint32_t *next_deny = NULL, *next_allow = NULL;
	int32_t *diff = NULL, *open_diff = NULL;
	int ret = -ENOMEM;
	int32_t run = 0, run_open = 0;

	if (!ends)
		goto fail_nomem;
	for (size_t i = 0; i < n; i++) {
		ends[2 * i] = v[i].lo;
		ends[2 * i + 1] = v[i].end;
	}
	ret = bounds_build(b, ends, 2 * n, t, false);
	if (ret)
		goto out_free;
	t->cell = arena_calloc(&b->e->arena, t->n, sizeof(*t->cell));
	next_deny = malloc((t->n + 1) * sizeof(uint32_t));
	next_allow = malloc((t->n + 1) * sizeof(uint32_t));
	diff = calloc(t->n + 1, sizeof(int32_t));
	open_diff = calloc(t->n + 1, sizeof(int32_t));
	if (!t->cell || !next_deny || !next_allow || !diff || !open_diff)
		goto fail_nomem;
	for (uint32_t i = 0; i <= t->n; i++)
		next_deny[i] = next_allow[i] = i;

	sort_by(v, n, sizeof(*v), cmp_rng_id);
	for (size_t k = 0; k < n; k++) {
		const struct tp_rule *r = v[k].r;
		uint32_t i0 = bound_index(t->lo, t->n, v[k].lo);
		uint32_t i1 =
			v[k].end >= PORT_RANGE_END ? t->n : bound_index(t->lo, t->n, v[k].end);
		uint32_t *next = r->action == TP_ACTION_DENY ? next_deny : next_allow;

		for (uint32_t i = uf_find(next, i0); i < i1; i = uf_find(next, i + 1)) {
			if (r->action == TP_ACTION_DENY)
				t->cell[i].deny = r->id;
			else
				t->cell[i].allow = r->id;
			next[i] = i + 1;
		}
		if (r->action == TP_ACTION_ALLOW && r->stateful) {
			diff[i0]++;
			diff[i1]--;
		}
		if (r->action == TP_ACTION_ALLOW && r->profile == TP_PROFILE_NONE) {
			open_diff[i0]++;
			open_diff[i1]--;
		}
	}
	for (uint32_t i = 0; i < t->n; i++) {
		run += diff[i];
		run_open += open_diff[i];
		t->cell[i].stateful = run > 0;
		t->cell[i].open = run_open > 0;
	}
	if (t->n > PTAB_DIRECT_MIN) {
		t->dcell = arena_calloc(&b->e->arena, PORT_RANGE_END, sizeof(*t->dcell));
		if (!t->dcell)
			goto fail_nomem;
		for (uint32_t i = 0, port = 0; port < PORT_RANGE_END; port++) {
			while (i + 1 < t->n && t->lo[i + 1] <= port)
				i++;
			t->dcell[port] = t->cell[i];
		}
	}
	ret = 0;
	goto out_free;
fail_nomem:
	ret = fail(b, -ENOMEM, "out of memory");
out_free:
	free(ends);
	free(next_deny);
	free(next_allow);
	free(diff);
	free(open_diff);
	return ret;
}

/* Ranges of a port list, [lo, hi + 1); the empty list is every port. */
static size_t ranges_of(const struct tp_port_range *pr, size_t n, uint32_t *lo, uint32_t *end,
			size_t i)
{
	if (n == 0) {
		*lo = 0;
		*end = PORT_RANGE_END;
		return 1;
	}
	*lo = pr[i].lo;
	*end = (uint32_t)pr[i].hi + 1;
	return n;
}

static int grid_build(struct build *b, const struct tp_rule *const *rules, size_t n,
		      struct grid **out)
{
	struct rect *v = NULL;
	uint32_t *ends = NULL;
	size_t nv = 0, cap = 0;
	struct grid *g;
	uint64_t cells;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		cap += (rules[i]->n_dst_ports ? rules[i]->n_dst_ports : 1) * rules[i]->n_src_ports;
	/* cap >= 1 (every rule here names a source port); the analyzer
	 * cannot know */
	v = malloc((cap ? cap : 1) * sizeof(*v));
	ends = calloc(2 * cap + 1, sizeof(*ends));
	g = arena_calloc(&b->e->arena, 1, sizeof(*g));
	if (!v || !ends || !g)
		goto fail_nomem;
	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = rules[i];
		uint32_t dlo, dend, slo, send;
		size_t nd = ranges_of(r->dst_ports, r->n_dst_ports, &dlo, &dend, 0);

		for (size_t d = 0; d < nd; d++) {
			ranges_of(r->dst_ports, r->n_dst_ports, &dlo, &dend, d);
			for (size_t s = 0; s < r->n_src_ports; s++) {
				ranges_of(r->src_ports, r->n_src_ports, &slo, &send, s);
				v[nv++] = (struct rect){dlo, dend, slo, send, r};
			}
		}
	}
	for (size_t i = 0; i < nv; i++) {
		ends[2 * i] = v[i].dlo;
		ends[2 * i + 1] = v[i].dend;
	}
	ret = bounds_build(b, ends, 2 * nv, &g->d, true);
	if (ret)
		goto out_free;
	for (size_t i = 0; i < nv; i++) {
		ends[2 * i] = v[i].slo;
		ends[2 * i + 1] = v[i].send;
	}
	ret = bounds_build(b, ends, 2 * nv, &g->s, true);
	if (ret)
		goto out_free;
	cells = (uint64_t)g->d.n * g->s.n;
	b->grid_cells += cells;
	if (b->grid_cells > GRID_CELLS_MAX)
		goto fail_too_big;
	g->cell = arena_calloc(&b->e->arena, cells, sizeof(*g->cell));
	if (!g->cell)
		goto fail_nomem;
	for (size_t k = 0; k < nv; k++) {
		const struct rect *x = &v[k];
		uint32_t d0 = bound_index(g->d.lo, g->d.n, x->dlo);
		uint32_t d1 =
			x->dend >= PORT_RANGE_END ? g->d.n : bound_index(g->d.lo, g->d.n, x->dend);
		uint32_t s0 = bound_index(g->s.lo, g->s.n, x->slo);
		uint32_t s1 =
			x->send >= PORT_RANGE_END ? g->s.n : bound_index(g->s.lo, g->s.n, x->send);

		b->grid_paint += (uint64_t)(d1 - d0) * (s1 - s0);
		if (b->grid_paint > GRID_PAINT_MAX)
			goto fail_too_big;
		for (uint32_t i = d0; i < d1; i++)
			for (uint32_t j = s0; j < s1; j++)
				agg_add_rule(&g->cell[(size_t)i * g->s.n + j], x->r);
	}
	*out = g;
	goto out_free;
fail_too_big:
	ret = fail(b, -E2BIG,
		   "source-port rules of zone pair '%s' -> '%s' are too complex for the "
		   "classifier's memory budget",
		   b->site->zones[rules[0]->from_zone].name,
		   b->site->zones[rules[0]->to_zone].name);
	goto out_free;
fail_nomem:
	ret = fail(b, -ENOMEM, "out of memory");
out_free:
	free(v);
	free(ends);
	return ret;
}

/* ---- classifiers ---- */

static int cls_ports(struct build *b, const struct tp_rule *const *rules, size_t n, struct cls *c)
{
	const struct tp_rule **with_src = NULL;
	struct rng *v = NULL;
	size_t nv = 0, cap = 0, ns = 0;
	int ret = -ENOMEM;

	c->kind = CLS_PORTS;
	for (size_t i = 0; i < n; i++)
		cap += rules[i]->n_dst_ports ? rules[i]->n_dst_ports : 1;
	v = malloc((cap ? cap : 1) * sizeof(*v));
	with_src = malloc((n ? n : 1) * sizeof(*with_src));
	if (!v || !with_src) {
		ret = fail(b, -ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = rules[i];
		uint32_t lo, end;
		size_t nd;

		if (r->n_src_ports) {
			with_src[ns++] = r;
			continue;
		}
		nd = ranges_of(r->dst_ports, r->n_dst_ports, &lo, &end, 0);
		for (size_t d = 0; d < nd; d++) {
			ranges_of(r->dst_ports, r->n_dst_ports, &lo, &end, d);
			v[nv++] = (struct rng){lo, end, r};
		}
	}
	ret = ptab_build(b, v, nv, &c->dst);
	if (ret == 0 && ns)
		ret = grid_build(b, with_src, ns, &c->src);
out_free:
	free(v);
	free(with_src);
	return ret;
}

static int cls_icmp(struct build *b, const struct tp_rule *const *rules, size_t n, struct cls *c)
{
	struct icmp_tab *t = arena_calloc(&b->e->arena, 1, sizeof(*t));

	if (!t)
		return fail(b, -ENOMEM, "out of memory");
	c->kind = CLS_ICMP;
	c->icmp = t;
	/* Whole types first, so a code table can start as a copy of its type. */
	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = rules[i];

		if (r->n_icmp == 0)
			for (unsigned ty = 0; ty < 256; ty++)
				agg_add_rule(&t->type[ty], r);
		for (size_t k = 0; k < r->n_icmp; k++)
			if (r->icmp[k].code < 0)
				agg_add_rule(&t->type[r->icmp[k].type], r);
	}
	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = rules[i];

		for (size_t k = 0; k < r->n_icmp; k++) {
			uint8_t ty = r->icmp[k].type;

			if (r->icmp[k].code < 0)
				continue;
			if (!t->code[ty]) {
				t->code[ty] = arena_calloc(&b->e->arena, 256, sizeof(struct agg));
				if (!t->code[ty])
					return fail(b, -ENOMEM, "out of memory");
				for (unsigned co = 0; co < 256; co++)
					t->code[ty][co] = t->type[ty];
			}
			agg_add_rule(&t->code[ty][r->icmp[k].code], r);
		}
	}
	return 0;
}

/*
 * The classifier of one pair for protocol proto (-1: protocols no rule of
 * the pair names). It sees the rules for that protocol and the any-protocol
 * rules, minus those that cannot match it (§7.3 as ref.c reads it: port
 * lists need a port protocol, ICMP lists need ICMP).
 */
static int cls_build(struct build *b, const struct prule *pr, size_t n, int proto,
		     const struct tp_rule **scratch)
{
	bool ported = proto >= 0 && tp_proto_has_ports((uint8_t)proto);
	bool icmp = proto >= 0 && tp_proto_is_icmp((uint8_t)proto);
	struct tp_engine *e = b->e;
	bool narrow = false;
	struct cls *c;
	size_t k = 0;

	if (e->n_cls == b->cls_cap) {
		uint32_t cap = b->cls_cap ? b->cls_cap * 2 : 64;
		struct cls *nc = realloc(e->cls, cap * sizeof(*nc));

		if (!nc)
			return fail(b, -ENOMEM, "out of memory");
		e->cls = nc;
		b->cls_cap = cap;
	}
	c = &e->cls[e->n_cls++];
	memset(c, 0, sizeof(*c));

	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = pr[i].r;
		bool has_ports = r->n_dst_ports || r->n_src_ports;

		if (r->proto != 0 && (int)r->proto != proto)
			continue;
		if ((has_ports && !ported) || (r->n_icmp && !icmp))
			continue;
		scratch[k++] = r;
		narrow = narrow || has_ports || r->n_icmp;
	}
	/* Tables only where some rule narrows by port or ICMP type: a pair
	 * with whole-protocol rules gets one aggregate, not 5 KiB of ICMP
	 * tables per protocol (large sites have thousands of such pairs). */
	if (ported && narrow)
		return cls_ports(b, scratch, k, c);
	if (icmp && narrow)
		return cls_icmp(b, scratch, k, c);
	c->kind = CLS_SCALAR;
	for (size_t i = 0; i < k; i++)
		agg_add_rule(&c->any, scratch[i]);
	return 0;
}

static int cmp_prof(const void *a, const void *b)
{
	const struct prof *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct tp_port_range *ranges_copy(struct build *b, const struct tp_port_range *r, size_t n)
{
	struct tp_port_range *c = arena_calloc(&b->e->arena, n ? n : 1, sizeof(*c));

	if (c && n)
		memcpy(c, r, n * sizeof(*c));
	return c;
}

/* A profile rule that can match a packet: it is TCP (check_rule()), and
 * an ICMP list makes a rule match no TCP packet (ref.c). */
static bool prof_live(const struct tp_rule *r)
{
	return r->profile != TP_PROFILE_NONE && r->n_icmp == 0;
}

/* The pair's rules with an application profile, for tp_engine_profiles(). */
static int build_prof(struct build *b, struct pair *p, const struct prule *pr, size_t n)
{
	struct prof *v;
	uint32_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += prof_live(pr[i].r);
	if (k == 0)
		return 0;
	if (k > TP_MODBUS_PROFILES_MAX)
		return fail(b, -E2BIG,
			    "zone pair '%s' -> '%s' has %u conduits with a modbus profile "
			    "(at most %u)",
			    b->site->zones[p->from].name, b->site->zones[p->to].name, k,
			    TP_MODBUS_PROFILES_MAX);
	v = arena_calloc(&b->e->arena, k, sizeof(*v));
	if (!v)
		return fail(b, -ENOMEM, "out of memory");
	k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = pr[i].r;
		struct prof *x = &v[k];

		if (!prof_live(r))
			continue;
		x->id = r->id;
		x->n_dst = (uint32_t)r->n_dst_ports;
		x->n_src = (uint32_t)r->n_src_ports;
		x->dst = ranges_copy(b, r->dst_ports, r->n_dst_ports);
		x->src = ranges_copy(b, r->src_ports, r->n_src_ports);
		x->modbus = tp_engine_rule(b->e, r->id)->modbus;
		if (!x->dst || !x->src)
			return fail(b, -ENOMEM, "out of memory");
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_prof);
	p->prof = v;
	p->n_prof = k;
	return 0;
}

static int build_pair(struct build *b, struct pair *p, const struct prule *pr, size_t n,
		      const struct tp_rule **scratch)
{
	static const uint8_t implied[] = {6, 17, 132, 136, 1, 58};
	bool named[256] = {false};
	bool any = false;
	int ret;

	p->from = pr[0].from;
	p->to = pr[0].to;
	p->cls_base = b->e->n_cls;
	for (size_t i = 0; i < n; i++) {
		if (pr[i].r->proto)
			named[pr[i].r->proto] = true;
		else
			any = true;
	}
	/* Any-protocol rules can still name ports or ICMP types, which
	 * only these protocols have: give each its own classifier. */
	if (any)
		for (size_t i = 0; i < sizeof(implied); i++)
			named[implied[i]] = true;
	ret = build_prof(b, p, pr, n);
	if (ret == 0)
		ret = cls_build(b, pr, n, -1, scratch);
	for (unsigned proto = 0; proto < 256 && ret == 0; proto++) {
		if (!named[proto])
			continue;
		p->proto_cls[proto] = (uint16_t)(b->e->n_cls - p->cls_base);
		ret = cls_build(b, pr, n, (int)proto, scratch);
	}
	return ret;
}

static int cmp_pair(const struct prule *x, const struct prule *y)
{
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return 0;
}

/* By zone pair, then in the site's order (the rules are one array), so a
 * pair's rules keep the order they came in: when that is id order, its
 * port tables need no sort. */
static int cmp_prule(const void *a, const void *b)
{
	const struct prule *x = a, *y = b;
	int c = cmp_pair(x, y);

	if (c)
		return c;
	return x->r < y->r ? -1 : x->r > y->r;
}

static int build_pairs(struct build *b)
{
	const struct tp_site *s = b->site;
	struct tp_engine *e = b->e;
	const struct tp_rule **scratch = NULL;
	struct prule *pr = NULL;
	size_t n = 0, np = 0, hsize = 2;
	int ret = 0;

	pr = malloc((s->n_rules ? s->n_rules : 1) * sizeof(*pr));
	scratch = malloc((s->n_rules ? s->n_rules : 1) * sizeof(*scratch));
	if (!pr || !scratch)
		goto fail_nomem;
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];

		/* Same-zone rules never apply (§7.2); expired or future ones
		 * do not exist in this validity interval. */
		if (r->from_zone == r->to_zone || !tp_rule_valid_at(r, b->now))
			continue;
		pr[n++] = (struct prule){r->from_zone, r->to_zone, r};
	}
	sort_by(pr, n, sizeof(*pr), cmp_prule);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || cmp_pair(&pr[i - 1], &pr[i]) != 0)
			np++;
	while (hsize < 2 * np)
		hsize *= 2;
	e->pair = arena_calloc(&e->arena, np ? np : 1, sizeof(*e->pair));
	e->pair_hash = arena_calloc(&e->arena, hsize, sizeof(*e->pair_hash));
	if (!e->pair || !e->pair_hash)
		goto fail_nomem;
	e->pair_mask = (uint32_t)hsize - 1;

	for (size_t i = 0; i < n && ret == 0;) {
		size_t j = i;
		struct pair *p = &e->pair[e->n_pairs];
		uint32_t h;

		while (j < n && cmp_pair(&pr[i], &pr[j]) == 0)
			j++;
		ret = build_pair(b, p, pr + i, j - i, scratch);
		h = pair_hash_of(p->from, p->to) & e->pair_mask;
		while (e->pair_hash[h])
			h = (h + 1) & e->pair_mask;
		e->pair_hash[h] = ++e->n_pairs;
		i = j;
	}
	goto out_free;
fail_nomem:
	ret = fail(b, -ENOMEM, "out of memory");
out_free:
	free(pr);
	free(scratch);
	return ret;
}

int tp_engine_compile(const struct tp_site *site, int64_t now, struct tp_engine **out, char *err,
		      size_t errlen)
{
	struct build b = {.site = site, .now = now, .err = err, .errlen = errlen};
	int ret;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	b.e = calloc(1, sizeof(*b.e));
	if (!b.e)
		return fail(&b, -ENOMEM, "out of memory");
	ret = lpm_init(&b.e->v4, 4);
	if (ret == 0)
		ret = lpm_init(&b.e->v6, 16);
	if (ret) {
		fail(&b, ret, "out of memory");
		goto fail_free;
	}
	ret = check_rules(&b);
	if (ret)
		goto fail_free;
	ret = build_rule_info(&b);
	if (ret)
		goto fail_free;
	ret = build_zones(&b);
	if (ret)
		goto fail_free;
	build_validity(&b);
	ret = build_pairs(&b);
	if (ret)
		goto fail_free;
	*out = b.e;
	return 0;
fail_free:
	tp_engine_free(b.e);
	return ret;
}
