// SPDX-License-Identifier: MIT
/* struct tp_site <-> tableau.v1.Site (see convert.h). */
#include "convert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *tp_pool_alloc(struct tp_pool *p, size_t n, size_t size)
{
	void *m;

	if (p->failed)
		return NULL;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void **v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			goto fail;
		p->v = v;
		p->cap = cap;
	}
	m = calloc(n ? n : 1, size);
	if (!m)
		goto fail;
	p->v[p->n++] = m;
	return m;
fail:
	p->failed = true;
	return NULL;
}

void tp_pool_free(struct tp_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static Tableau__V1__Prefix *prefix_to_pb(const struct tp_prefix *a, struct tp_pool *pool)
{
	Tableau__V1__Prefix *p = tp_pool_alloc(pool, 1, sizeof(*p));

	if (!p)
		return NULL;
	tableau__v1__prefix__init(p);
	p->addr.data = (uint8_t *)a->addr;
	p->addr.len = a->family == TP_AF_INET ? 4 : 16;
	p->len = a->len;
	return p;
}

static Tableau__V1__PortRange **ranges_to_pb(const struct tp_port_range *r, size_t n,
					     struct tp_pool *pool)
{
	Tableau__V1__PortRange **v = tp_pool_alloc(pool, n, sizeof(*v));
	Tableau__V1__PortRange *e = tp_pool_alloc(pool, n, sizeof(*e));

	if (!v || !e)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		tableau__v1__port_range__init(&e[i]);
		e[i].lo = r[i].lo;
		e[i].hi = r[i].hi;
		v[i] = &e[i];
	}
	return v;
}

static uint32_t *bytes_to_u32(const uint8_t *b, size_t n, struct tp_pool *pool)
{
	uint32_t *v = tp_pool_alloc(pool, n, sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		v[i] = b[i];
	return v;
}

static bool rule_to_pb(const struct tp_site *s, const struct tp_rule *r, Tableau__V1__Rule *p,
		       struct tp_pool *pool)
{
	tableau__v1__rule__init(p);
	p->id = r->id;
	p->name = (char *)r->name;
	p->from_zone = (char *)s->zones[r->from_zone].name;
	p->to_zone = (char *)s->zones[r->to_zone].name;
	p->action = r->action == TP_ACTION_DENY ? TABLEAU__V1__ACTION__ACTION_DENY
						: TABLEAU__V1__ACTION__ACTION_ALLOW;
	p->protocol = r->proto;
	p->n_dst_ports = r->n_dst_ports;
	p->dst_ports = ranges_to_pb(r->dst_ports, r->n_dst_ports, pool);
	p->n_src_ports = r->n_src_ports;
	p->src_ports = ranges_to_pb(r->src_ports, r->n_src_ports, pool);
	p->n_icmp = r->n_icmp;
	p->icmp = tp_pool_alloc(pool, r->n_icmp, sizeof(*p->icmp));
	for (size_t i = 0; p->icmp && i < r->n_icmp; i++) {
		Tableau__V1__IcmpMatch *m = tp_pool_alloc(pool, 1, sizeof(*m));

		if (!m)
			return false;
		tableau__v1__icmp_match__init(m);
		m->type = r->icmp[i].type;
		m->any_code = r->icmp[i].code < 0;
		m->code = r->icmp[i].code < 0 ? 0 : (uint32_t)r->icmp[i].code;
		p->icmp[i] = m;
	}
	p->stateless = !r->stateful;
	p->log = r->log;
	p->not_before = r->not_before;
	p->not_after = r->not_after;
	if (r->rate_pps) {
		p->rate_limit = tp_pool_alloc(pool, 1, sizeof(*p->rate_limit));
		if (!p->rate_limit)
			return false;
		tableau__v1__rate_limit__init(p->rate_limit);
		p->rate_limit->packets_per_second = r->rate_pps;
		p->rate_limit->burst = r->rate_burst;
	}
	if (r->profile == TP_PROFILE_MODBUS) {
		const struct tp_modbus_profile *m = &r->modbus;
		Tableau__V1__ModbusProfile *mp = tp_pool_alloc(pool, 1, sizeof(*mp));
		Tableau__V1__RegisterRange *rr;

		if (!mp)
			return false;
		tableau__v1__modbus_profile__init(mp);
		mp->n_unit_ids = m->n_unit_ids;
		mp->unit_ids = bytes_to_u32(m->unit_ids, m->n_unit_ids, pool);
		mp->n_function_codes = m->n_function_codes;
		mp->function_codes = bytes_to_u32(m->function_codes, m->n_function_codes, pool);
		mp->n_registers = m->n_registers;
		mp->registers = tp_pool_alloc(pool, m->n_registers, sizeof(*mp->registers));
		rr = tp_pool_alloc(pool, m->n_registers, sizeof(*rr));
		for (size_t i = 0; rr && mp->registers && i < m->n_registers; i++) {
			tableau__v1__register_range__init(&rr[i]);
			rr[i].lo = m->registers[i].lo;
			rr[i].hi = m->registers[i].hi;
			mp->registers[i] = &rr[i];
		}
		p->profile_case = TABLEAU__V1__RULE__PROFILE_MODBUS;
		p->modbus = mp;
	}
	return !pool->failed;
}

static Tableau__V1__Flow *flow_to_pb(const struct tp_flow *f, struct tp_pool *pool)
{
	Tableau__V1__Flow *p = tp_pool_alloc(pool, 1, sizeof(*p));

	if (!p)
		return NULL;
	tableau__v1__flow__init(p);
	p->protocol = f->proto;
	p->src = prefix_to_pb(&f->src, pool);
	p->dst = prefix_to_pb(&f->dst, pool);
	p->src_port = f->sport;
	p->dst_port = f->dport;
	p->icmp_type = f->icmp_type;
	p->icmp_code = f->icmp_code;
	return p;
}

Tableau__V1__Site *tp_convert_to_pb(const struct tp_site *s, struct tp_pool *pool)
{
	Tableau__V1__Site *p = tp_pool_alloc(pool, 1, sizeof(*p));
	Tableau__V1__TransitionPoint *tps;
	Tableau__V1__Zone *zones;
	Tableau__V1__Rule *rules;
	Tableau__V1__Assertion *as;

	if (!p)
		return NULL;
	tableau__v1__site__init(p);
	p->name = (char *)s->name;
	tps = tp_pool_alloc(pool, s->n_tps, sizeof(*tps));
	zones = tp_pool_alloc(pool, s->n_zones, sizeof(*zones));
	rules = tp_pool_alloc(pool, s->n_rules, sizeof(*rules));
	as = tp_pool_alloc(pool, s->n_assertions, sizeof(*as));
	p->transition_points = tp_pool_alloc(pool, s->n_tps, sizeof(void *));
	p->zones = tp_pool_alloc(pool, s->n_zones, sizeof(void *));
	p->rules = tp_pool_alloc(pool, s->n_rules, sizeof(void *));
	p->assertions = tp_pool_alloc(pool, s->n_assertions, sizeof(void *));
	if (pool->failed)
		return NULL;
	for (size_t i = 0; i < s->n_tps; i++) {
		const struct tp_tpoint *t = &s->tps[i];
		Tableau__V1__TransitionPoint *pt = &tps[i];
		size_t nz = 0;

		tableau__v1__transition_point__init(pt);
		pt->name = (char *)t->name;
		pt->public_key.data = (uint8_t *)t->pubkey;
		pt->public_key.len = TP_KEY_LEN;
		pt->n_endpoints = t->n_endpoints;
		pt->endpoints = tp_pool_alloc(pool, t->n_endpoints, sizeof(void *));
		for (size_t e = 0; pt->endpoints && e < t->n_endpoints; e++) {
			Tableau__V1__Endpoint *ep = tp_pool_alloc(pool, 1, sizeof(*ep));

			if (!ep)
				return NULL;
			tableau__v1__endpoint__init(ep);
			ep->addr = prefix_to_pb(&t->endpoints[e].addr, pool);
			ep->port = t->endpoints[e].port;
			pt->endpoints[e] = ep;
		}
		pt->zones = tp_pool_alloc(pool, s->n_zones, sizeof(char *));
		for (size_t z = 0; pt->zones && z < s->n_zones; z++)
			if (s->zones[z].tp == i)
				pt->zones[nz++] = (char *)s->zones[z].name;
		pt->n_zones = nz;
		p->transition_points[i] = pt;
	}
	p->n_transition_points = s->n_tps;
	for (size_t i = 0; i < s->n_zones; i++) {
		const struct tp_zone *z = &s->zones[i];
		Tableau__V1__Zone *pz = &zones[i];

		tableau__v1__zone__init(pz);
		pz->name = (char *)z->name;
		pz->id = z->id;
		pz->transition_point = (char *)s->tps[z->tp].name;
		pz->n_prefixes = z->n_prefixes;
		pz->prefixes = tp_pool_alloc(pool, z->n_prefixes, sizeof(void *));
		for (size_t k = 0; pz->prefixes && k < z->n_prefixes; k++)
			pz->prefixes[k] = prefix_to_pb(&z->prefixes[k], pool);
		p->zones[i] = pz;
	}
	p->n_zones = s->n_zones;
	for (size_t i = 0; i < s->n_rules; i++) {
		if (!rule_to_pb(s, &s->rules[i], &rules[i], pool))
			return NULL;
		p->rules[i] = &rules[i];
	}
	p->n_rules = s->n_rules;
	for (size_t i = 0; i < s->n_assertions; i++) {
		const struct tp_assertion *a = &s->assertions[i];

		tableau__v1__assertion__init(&as[i]);
		as[i].name = (char *)a->name;
		as[i].must_allow = a->must_allow;
		as[i].flow = flow_to_pb(&a->flow, pool);
		as[i].at = a->at;
		p->assertions[i] = &as[i];
	}
	p->n_assertions = s->n_assertions;
	return pool->failed ? NULL : p;
}

/* ---- from the wire ---- */

/*
 * Name -> index of the first zone (or TP) with that name, built once per
 * conversion. Every rule names two zones, every zone a TP: searching the
 * arrays made a conversion O(rules x zones), and the duplicate-zone check
 * O(zones^2) — seconds at the size limits.
 */
struct name_index {
	const char *base; /* names[i] is at base + i * stride */
	size_t stride;
	uint32_t *slot; /* index + 1; 0 is free */
	uint32_t mask;
};

static uint32_t name_hash(const char *n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*n)
		h = (h ^ (uint8_t)*n++) * 16777619u;
	return h;
}

static bool index_init(struct name_index *x, const char *base, size_t stride, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	x->base = base;
	x->stride = stride;
	x->mask = (uint32_t)size - 1;
	x->slot = calloc(size, sizeof(*x->slot));
	return x->slot != NULL;
}

/* The slot holding name, or the free one where it would go. */
static uint32_t *index_slot(const struct name_index *x, const char *name)
{
	uint32_t h = name_hash(name) & x->mask;

	while (x->slot[h] && strcmp(x->base + (x->slot[h] - 1) * x->stride, name) != 0)
		h = (h + 1) & x->mask;
	return &x->slot[h];
}

/* Item i (whose name is in place): false when an earlier one has its name. */
static bool index_add(struct name_index *x, uint32_t i)
{
	uint32_t *slot = index_slot(x, x->base + i * x->stride);

	if (*slot)
		return false;
	*slot = i + 1;
	return true;
}

static uint32_t index_find(const struct name_index *x, const char *name, uint32_t none)
{
	uint32_t *slot = index_slot(x, name);

	return *slot ? *slot - 1 : none;
}

struct conv {
	char *err;
	size_t errlen;
	bool failed;
	bool unsupported;
	struct name_index zones, tps;
};

static bool __attribute__((format(printf, 2, 3))) bad(struct conv *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->failed && c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	c->failed = true;
	return false;
}

static bool name_ok(struct conv *c, const char *s, char *out, bool required, const char *what)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= TP_NAME_MAX)
		return bad(c, "%s longer than %d bytes", what, TP_NAME_MAX - 1);
	if (required && n == 0)
		return bad(c, "%s is empty", what);
	memcpy(out, s ? s : "", n + 1);
	return true;
}

static bool prefix_from_pb(struct conv *c, const Tableau__V1__Prefix *p, struct tp_prefix *out,
			   bool host, const char *what)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return bad(c, "%s missing", what);
	if (p->addr.len == 4) {
		out->family = TP_AF_INET;
	} else if (p->addr.len == 16) {
		out->family = TP_AF_INET6;
	} else {
		return bad(c, "%s: address of %zu bytes", what, p->addr.len);
	}
	if (p->len > (p->addr.len * 8u) || (host && p->len != p->addr.len * 8u))
		return bad(c, "%s: bad prefix length %u", what, p->len);
	memcpy(out->addr, p->addr.data, p->addr.len);
	out->len = (uint8_t)p->len;
	/* host bits must be zero, as tp_prefix_parse() demands of text */
	for (unsigned bit = out->len; bit < p->addr.len * 8u; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return bad(c, "%s: host bits set", what);
	return true;
}

static bool ranges_from_pb(struct conv *c, Tableau__V1__PortRange **v, size_t n,
			   struct tp_port_range **out, size_t *nout, uint32_t id)
{
	if (n > TP_SITE_MAX_LIST)
		return bad(c, "rule %u: too many port ranges", id);
	if (!n)
		return true;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return bad(c, "out of memory");
	*nout = n;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->lo > 65535 || v[i]->hi > 65535 || v[i]->lo > v[i]->hi)
			return bad(c, "rule %u: bad port range %u-%u", id, v[i]->lo, v[i]->hi);
		(*out)[i] = (struct tp_port_range){(uint16_t)v[i]->lo, (uint16_t)v[i]->hi};
	}
	return true;
}

static bool u8_list(struct conv *c, const uint32_t *v, size_t n, uint8_t **out, size_t *nout,
		    uint32_t max, uint32_t id)
{
	if (n > TP_SITE_MAX_LIST)
		return bad(c, "rule %u: profile list too long", id);
	if (!n)
		return true;
	*out = calloc(n, 1);
	if (!*out)
		return bad(c, "out of memory");
	*nout = n;
	for (size_t i = 0; i < n; i++) {
		if (v[i] > max)
			return bad(c, "rule %u: profile value %u out of range", id, v[i]);
		(*out)[i] = (uint8_t)v[i];
	}
	return true;
}

static bool known(const void *m)
{
	return !m || ((const ProtobufCMessage *)m)->n_unknown_fields == 0;
}

/* Does the rule, or any part of it, carry a field this reader ignores? */
static bool rule_has_unknown(const Tableau__V1__Rule *p)
{
	bool ok = known(p) && known(p->rate_limit) && known(p->modbus);

	for (size_t i = 0; ok && i < p->n_dst_ports; i++)
		ok = known(p->dst_ports[i]);
	for (size_t i = 0; ok && i < p->n_src_ports; i++)
		ok = known(p->src_ports[i]);
	for (size_t i = 0; ok && i < p->n_icmp; i++)
		ok = known(p->icmp[i]);
	for (size_t i = 0; ok && p->modbus && i < p->modbus->n_registers; i++)
		ok = known(p->modbus->registers[i]);
	return !ok;
}

static bool rule_from_pb(struct conv *c, const Tableau__V1__Rule *p, struct tp_rule *r)
{
	if (rule_has_unknown(p)) {
		c->unsupported = true;
		return bad(c,
			   "rule %u carries fields this version does not understand "
			   "(refused rather than enforced partly)",
			   p->id);
	}
	r->id = p->id;
	if (!p->id)
		return bad(c, "rule with id 0");
	if (!name_ok(c, p->name, r->name, false, "rule name"))
		return false;
	r->from_zone = index_find(&c->zones, p->from_zone ? p->from_zone : "", TP_ZONE_NONE);
	r->to_zone = index_find(&c->zones, p->to_zone ? p->to_zone : "", TP_ZONE_NONE);
	if (r->from_zone == TP_ZONE_NONE || r->to_zone == TP_ZONE_NONE)
		return bad(c, "rule %u names an unknown zone", p->id);
	if (p->action == TABLEAU__V1__ACTION__ACTION_ALLOW)
		r->action = TP_ACTION_ALLOW;
	else if (p->action == TABLEAU__V1__ACTION__ACTION_DENY)
		r->action = TP_ACTION_DENY;
	else
		return bad(c, "rule %u: unknown action %d", p->id, (int)p->action);
	if (p->protocol > 255)
		return bad(c, "rule %u: protocol %u", p->id, p->protocol);
	r->proto = (uint8_t)p->protocol;
	if (!ranges_from_pb(c, p->dst_ports, p->n_dst_ports, &r->dst_ports, &r->n_dst_ports,
			    p->id) ||
	    !ranges_from_pb(c, p->src_ports, p->n_src_ports, &r->src_ports, &r->n_src_ports, p->id))
		return false;
	if (p->n_icmp > TP_SITE_MAX_LIST)
		return bad(c, "rule %u: too many ICMP matches", p->id);
	if (p->n_icmp) {
		r->icmp = calloc(p->n_icmp, sizeof(*r->icmp));
		if (!r->icmp)
			return bad(c, "out of memory");
		r->n_icmp = p->n_icmp;
		for (size_t i = 0; i < p->n_icmp; i++) {
			const Tableau__V1__IcmpMatch *m = p->icmp[i];

			if (m->type > 255 || m->code > 255)
				return bad(c, "rule %u: bad ICMP type/code", p->id);
			r->icmp[i].type = (uint8_t)m->type;
			r->icmp[i].code = m->any_code ? -1 : (int16_t)m->code;
		}
	}
	r->stateful = !p->stateless;
	r->log = p->log;
	r->not_before = p->not_before;
	r->not_after = p->not_after;
	if (r->not_before < 0 || r->not_after < 0)
		return bad(c, "rule %u: negative time", p->id);
	if (p->rate_limit) {
		r->rate_pps = p->rate_limit->packets_per_second;
		r->rate_burst = p->rate_limit->burst;
	}
	if (p->profile_case == TABLEAU__V1__RULE__PROFILE_MODBUS && p->modbus) {
		const Tableau__V1__ModbusProfile *m = p->modbus;
		struct tp_modbus_profile *mp = &r->modbus;

		r->profile = TP_PROFILE_MODBUS;
		if (!u8_list(c, m->unit_ids, m->n_unit_ids, &mp->unit_ids, &mp->n_unit_ids, 255,
			     p->id) ||
		    !u8_list(c, m->function_codes, m->n_function_codes, &mp->function_codes,
			     &mp->n_function_codes, 127, p->id))
			return false;
		if (m->n_registers > TP_SITE_MAX_LIST)
			return bad(c, "rule %u: too many register ranges", p->id);
		if (m->n_registers) {
			mp->registers = calloc(m->n_registers, sizeof(*mp->registers));
			if (!mp->registers)
				return bad(c, "out of memory");
			mp->n_registers = m->n_registers;
			for (size_t i = 0; i < m->n_registers; i++) {
				const Tableau__V1__RegisterRange *g = m->registers[i];

				if (g->lo > 65535 || g->hi > 65535 || g->lo > g->hi)
					return bad(c, "rule %u: bad register range", p->id);
				mp->registers[i] =
					(struct tp_u16_range){(uint16_t)g->lo, (uint16_t)g->hi};
			}
		}
	}
	return true;
}

struct tp_site *tp_convert_from_pb(const Tableau__V1__Site *pb, char *err, size_t errlen,
				   bool *unsupported)
{
	struct conv c = {.err = err, .errlen = errlen};
	struct tp_site *s = calloc(1, sizeof(*s));

	if (!s || !pb) {
		bad(&c, pb ? "out of memory" : "bundle has no site");
		goto fail;
	}
	if (pb->n_transition_points > TP_SITE_MAX_TPS || pb->n_zones > TP_SITE_MAX_ZONES ||
	    pb->n_rules > TP_SITE_MAX_RULES || pb->n_assertions > TP_SITE_MAX_ASSERTIONS) {
		bad(&c, "site too large");
		goto fail;
	}
	if (!name_ok(&c, pb->name, s->name, false, "site name"))
		goto fail;
	/* Each array is assigned with its count only once every element is
	 * valid, so a half-converted site frees cleanly (free walks counts). */
	s->tps = calloc(pb->n_transition_points ? pb->n_transition_points : 1, sizeof(*s->tps));
	s->zones = calloc(pb->n_zones ? pb->n_zones : 1, sizeof(*s->zones));
	s->rules = calloc(pb->n_rules ? pb->n_rules : 1, sizeof(*s->rules));
	s->assertions = calloc(pb->n_assertions ? pb->n_assertions : 1, sizeof(*s->assertions));
	if (!s->tps || !s->zones || !s->rules || !s->assertions ||
	    !index_init(&c.tps, s->tps[0].name, sizeof(*s->tps), pb->n_transition_points) ||
	    !index_init(&c.zones, s->zones[0].name, sizeof(*s->zones), pb->n_zones)) {
		bad(&c, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < pb->n_transition_points; i++) {
		const Tableau__V1__TransitionPoint *p = pb->transition_points[i];
		struct tp_tpoint *t = &s->tps[i];

		s->n_tps = i + 1;
		if (!name_ok(&c, p->name, t->name, true, "transition point name"))
			goto fail;
		if (p->public_key.len != TP_KEY_LEN) {
			bad(&c, "transition point '%s': public key of %zu bytes", t->name,
			    p->public_key.len);
			goto fail;
		}
		memcpy(t->pubkey, p->public_key.data, TP_KEY_LEN);
		index_add(&c.tps, (uint32_t)i); /* a second TP of that name: lint refuses it */
		if (p->n_endpoints > TP_SITE_MAX_ENDPOINTS) {
			bad(&c, "transition point '%s': too many endpoints", t->name);
			goto fail;
		}
		if (p->n_endpoints) {
			t->endpoints = calloc(p->n_endpoints, sizeof(*t->endpoints));
			if (!t->endpoints) {
				bad(&c, "out of memory");
				goto fail;
			}
			t->n_endpoints = p->n_endpoints;
			for (size_t e = 0; e < p->n_endpoints; e++) {
				if (!prefix_from_pb(&c, p->endpoints[e]->addr,
						    &t->endpoints[e].addr, true, "endpoint"))
					goto fail;
				if (p->endpoints[e]->port == 0 || p->endpoints[e]->port > 65535) {
					bad(&c, "endpoint port %u", p->endpoints[e]->port);
					goto fail;
				}
				t->endpoints[e].port = (uint16_t)p->endpoints[e]->port;
			}
		}
	}
	for (size_t i = 0; i < pb->n_zones; i++) {
		const Tableau__V1__Zone *p = pb->zones[i];
		struct tp_zone *z = &s->zones[i];

		s->n_zones = i + 1;
		if (!name_ok(&c, p->name, z->name, true, "zone name"))
			goto fail;
		if (!index_add(&c.zones, (uint32_t)i)) {
			bad(&c, "zone '%s' defined twice", z->name);
			goto fail;
		}
		z->id = p->id;
		z->tp = index_find(&c.tps, p->transition_point ? p->transition_point : "",
				   UINT32_MAX);
		if (z->tp == UINT32_MAX) {
			bad(&c, "zone '%s' names an unknown transition point", z->name);
			goto fail;
		}
		if (p->n_prefixes > TP_SITE_MAX_PREFIXES) {
			bad(&c, "zone '%s': too many prefixes", z->name);
			goto fail;
		}
		if (p->n_prefixes) {
			z->prefixes = calloc(p->n_prefixes, sizeof(*z->prefixes));
			if (!z->prefixes) {
				bad(&c, "out of memory");
				goto fail;
			}
			z->n_prefixes = p->n_prefixes;
			for (size_t k = 0; k < p->n_prefixes; k++)
				if (!prefix_from_pb(&c, p->prefixes[k], &z->prefixes[k], false,
						    "zone prefix"))
					goto fail;
		}
	}
	/* TP.zones is informative, but it must agree with Zone.transition_point:
	 * a disagreement is a zone on two transition points. */
	for (size_t i = 0; i < pb->n_transition_points; i++)
		for (size_t k = 0; k < pb->transition_points[i]->n_zones; k++) {
			uint32_t z = index_find(&c.zones, pb->transition_points[i]->zones[k],
						TP_ZONE_NONE);

			if (z == TP_ZONE_NONE || s->zones[z].tp != i) {
				bad(&c,
				    "transition point '%s' lists zone '%.63s' that it does "
				    "not host",
				    s->tps[i].name, pb->transition_points[i]->zones[k]);
				goto fail;
			}
		}
	for (size_t i = 0; i < pb->n_rules; i++) {
		s->n_rules = i + 1;
		if (!rule_from_pb(&c, pb->rules[i], &s->rules[i]))
			goto fail;
	}
	for (size_t i = 0; i < pb->n_assertions; i++) {
		const Tableau__V1__Assertion *p = pb->assertions[i];
		struct tp_assertion *a = &s->assertions[i];

		s->n_assertions = i + 1;
		if (!name_ok(&c, p->name, a->name, false, "assertion name"))
			goto fail;
		a->must_allow = p->must_allow;
		a->at = p->at;
		if (!p->flow || p->flow->protocol > 255 || p->flow->src_port > 65535 ||
		    p->flow->dst_port > 65535 || p->flow->icmp_type > 255 ||
		    p->flow->icmp_code > 255) {
			bad(&c, "assertion %zu: bad flow", i);
			goto fail;
		}
		a->flow.proto = (uint8_t)p->flow->protocol;
		a->flow.sport = (uint16_t)p->flow->src_port;
		a->flow.dport = (uint16_t)p->flow->dst_port;
		a->flow.icmp_type = (uint8_t)p->flow->icmp_type;
		a->flow.icmp_code = (uint8_t)p->flow->icmp_code;
		if (!prefix_from_pb(&c, p->flow->src, &a->flow.src, true, "assertion source") ||
		    !prefix_from_pb(&c, p->flow->dst, &a->flow.dst, true, "assertion destination"))
			goto fail;
		if (a->flow.src.family != a->flow.dst.family) {
			bad(&c, "assertion %zu: mixed address families", i);
			goto fail;
		}
	}
	*unsupported = false;
	free(c.zones.slot);
	free(c.tps.slot);
	return s;
fail:
	*unsupported = c.unsupported;
	free(c.zones.slot);
	free(c.tps.slot);
	tp_site_free(s);
	return NULL;
}
