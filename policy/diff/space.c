// SPDX-License-Identifier: MIT
/* Service-space cells of a zone pair (see tp/policy/space.h). */
#include "tp/policy/space.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/flowspec.h"

static const uint8_t port_protos[] = {6, 17, 132, 136};

struct cellv {
	struct tp_cell *v;
	size_t n, cap;
	bool oom;
};

static void push(struct cellv *cv, const struct tp_cell *c)
{
	if (cv->n == cv->cap) {
		size_t cap = cv->cap ? cv->cap * 2 : 16;
		struct tp_cell *v = realloc(cv->v, cap * sizeof(*v));

		if (!v) {
			cv->oom = true;
			return;
		}
		cv->v = v;
		cv->cap = cap;
	}
	cv->v[cv->n++] = *c;
}

/* Rules of the pair, over all sites. */
struct pair_rules {
	const struct tp_rule **v;
	size_t n;
};

static int collect(const struct tp_site *const *sites, size_t n_sites, const char *from,
		   const char *to, struct pair_rules *pr)
{
	size_t total = 0;

	for (size_t s = 0; s < n_sites; s++)
		total += sites[s]->n_rules;
	pr->v = calloc(total + 1, sizeof(const struct tp_rule *));
	pr->n = 0;
	if (!pr->v)
		return -ENOMEM;
	for (size_t s = 0; s < n_sites; s++) {
		uint32_t f = tp_site_zone_by_name(sites[s], from);
		uint32_t t = tp_site_zone_by_name(sites[s], to);

		if (f == TP_ZONE_NONE || t == TP_ZONE_NONE)
			continue;
		for (size_t i = 0; i < sites[s]->n_rules; i++)
			if (sites[s]->rules[i].from_zone == f && sites[s]->rules[i].to_zone == t)
				pr->v[pr->n++] = &sites[s]->rules[i];
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted unique interval starts in [0, 65536) for the ranges of rules that
 * apply to proto (dst or src side). Always contains 0; *n is the count. */
static uint32_t *cuts(const struct pair_rules *pr, uint8_t proto, bool dst, size_t *n)
{
	size_t cap = 2, k = 0;
	uint32_t *v;

	for (size_t i = 0; i < pr->n; i++)
		if (!pr->v[i]->proto || pr->v[i]->proto == proto)
			cap += 2 * (dst ? pr->v[i]->n_dst_ports : pr->v[i]->n_src_ports);
	v = calloc(cap, sizeof(*v));
	if (!v)
		return NULL;
	v[k++] = 0;
	for (size_t i = 0; i < pr->n; i++) {
		const struct tp_rule *r = pr->v[i];
		const struct tp_port_range *pr_ = dst ? r->dst_ports : r->src_ports;
		size_t np = dst ? r->n_dst_ports : r->n_src_ports;

		if (r->proto && r->proto != proto)
			continue;
		for (size_t j = 0; j < np; j++) {
			v[k++] = pr_[j].lo;
			if (pr_[j].hi < 65535)
				v[k++] = (uint32_t)pr_[j].hi + 1;
		}
	}
	qsort(v, k, sizeof(*v), cmp_u32);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (!*n || v[*n - 1] != v[i])
			v[(*n)++] = v[i];
	return v;
}

static void port_cells(struct cellv *cv, const struct pair_rules *pr, uint8_t proto)
{
	size_t nd = 0, ns = 0;
	uint32_t *d = cuts(pr, proto, true, &nd), *s = cuts(pr, proto, false, &ns);

	if (!d || !s) {
		cv->oom = true;
		goto out;
	}
	for (size_t i = 0; i < ns; i++) {
		for (size_t j = 0; j < nd; j++) {
			struct tp_cell c = {.proto = proto, .itype = -1, .icode = -1};

			c.slo = (uint16_t)s[i];
			c.shi = (uint16_t)(i + 1 < ns ? s[i + 1] - 1 : 65535);
			c.dlo = (uint16_t)d[j];
			c.dhi = (uint16_t)(j + 1 < nd ? d[j + 1] - 1 : 65535);
			push(cv, &c);
		}
	}
out:
	free(d);
	free(s);
}

static void icmp_cells(struct cellv *cv, const struct pair_rules *pr, uint8_t proto)
{
	bool type_listed[256] = {false};
	size_t n_types = 0;

	for (size_t i = 0; i < pr->n; i++) {
		const struct tp_rule *r = pr->v[i];

		if (r->proto && r->proto != proto)
			continue;
		for (size_t j = 0; j < r->n_icmp; j++)
			type_listed[r->icmp[j].type] = true;
	}
	for (int t = 0; t < 256; t++) {
		bool code_listed[256] = {false};
		size_t n_codes = 0;

		if (!type_listed[t])
			continue;
		n_types++;
		for (size_t i = 0; i < pr->n; i++) {
			const struct tp_rule *r = pr->v[i];

			if (r->proto && r->proto != proto)
				continue;
			for (size_t j = 0; j < r->n_icmp; j++)
				if (r->icmp[j].type == t && r->icmp[j].code >= 0)
					code_listed[r->icmp[j].code] = true;
		}
		for (int c = 0; c < 256; c++) {
			if (!code_listed[c])
				continue;
			n_codes++;
			push(cv, &(struct tp_cell){.proto = proto,
						   .itype = (int16_t)t,
						   .icode = (int16_t)c,
						   .rep_type = (uint8_t)t,
						   .rep_code = (uint8_t)c});
		}
		if (n_codes < 256) {
			int c = 0;

			while (code_listed[c])
				c++;
			push(cv, &(struct tp_cell){.proto = proto,
						   .itype = (int16_t)t,
						   .icode = (int16_t)(n_codes ? -1 : -2),
						   .rep_type = (uint8_t)t,
						   .rep_code = (uint8_t)c});
		}
	}
	if (n_types < 256) {
		int t = 0;

		while (type_listed[t])
			t++;
		push(cv, &(struct tp_cell){.proto = proto,
					   .itype = (int16_t)(n_types ? -1 : -2),
					   .icode = -2,
					   .rep_type = (uint8_t)t});
	}
}

int tp_space_build(const struct tp_site *const *sites, size_t n_sites, const char *from,
		   const char *to, struct tp_space *out)
{
	bool named[256] = {false}, any = false;
	struct pair_rules pr = {0};
	struct cellv cv = {0};
	int rc = -ENOMEM;

	out->cells = NULL;
	out->n = 0;
	if (collect(sites, n_sites, from, to, &pr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < pr.n; i++) {
		if (pr.v[i]->proto)
			named[pr.v[i]->proto] = true;
		else
			any = true;
	}
	if (any) {
		for (size_t i = 0; i < sizeof(port_protos); i++)
			named[port_protos[i]] = true;
		named[1] = named[58] = true;
	}
	for (int p = 0; p < 256; p++) {
		if (!named[p])
			continue;
		if (tp_proto_has_ports((uint8_t)p))
			port_cells(&cv, &pr, (uint8_t)p);
		else if (tp_proto_is_icmp((uint8_t)p))
			icmp_cells(&cv, &pr, (uint8_t)p);
		else
			push(&cv, &(struct tp_cell){.proto = (uint8_t)p, .itype = -1, .icode = -1});
	}
	if (any) {
		int p = 2;

		while (p < 256 &&
		       (named[p] || tp_proto_has_ports((uint8_t)p) || tp_proto_is_icmp((uint8_t)p)))
			p++;
		if (p < 256)
			push(&cv,
			     &(struct tp_cell){
				     .proto = (uint8_t)p, .other = true, .itype = -1, .icode = -1});
	}
	if (cv.oom) {
		free(cv.v);
		goto out;
	}
	out->cells = cv.v;
	out->n = cv.n;
	rc = 0;
out:
	free(pr.v);
	return rc;
}

void tp_space_free(struct tp_space *sp)
{
	free(sp->cells);
	sp->cells = NULL;
	sp->n = 0;
}

/* addr += 1 over the family's bytes; false on wrap. */
static bool addr_inc(struct tp_prefix *a)
{
	unsigned n = a->family == TP_AF_INET ? 4 : 16;

	for (int i = (int)n - 1; i >= 0; i--)
		if (++a->addr[i])
			return true;
	return false;
}

/* Last address of prefix p. */
static void prefix_last(const struct tp_prefix *p, struct tp_prefix *out)
{
	unsigned n = p->family == TP_AF_INET ? 4 : 16;

	*out = *p;
	for (unsigned bit = p->len; bit < n * 8; bit++)
		out->addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	out->len = (uint8_t)(n * 8);
}

static bool try_addr(const struct tp_site *s, uint32_t z, const struct tp_prefix *a,
		     struct tp_prefix *out)
{
	if (tp_site_zone_of(s, a) != z)
		return false;
	*out = *a;
	return true;
}

bool tp_space_zone_addr(const struct tp_site *s, uint32_t z, uint8_t family, struct tp_prefix *out)
{
	if (z >= s->n_zones)
		return false;
	for (size_t i = 0; i < s->zones[z].n_prefixes; i++) {
		const struct tp_prefix *p = &s->zones[z].prefixes[i];
		struct tp_prefix a = *p;

		if (p->family != family)
			continue;
		a.len = family == TP_AF_INET ? 32 : 128;
		/* the network address + 1 (a host, not the network), then the
		 * network address, then the address after each nested prefix
		 * of another zone */
		if (p->len < a.len - 1) {
			struct tp_prefix b = a;

			addr_inc(&b);
			if (try_addr(s, z, &b, out))
				return true;
		}
		if (try_addr(s, z, &a, out))
			return true;
		for (size_t oz = 0; oz < s->n_zones; oz++) {
			for (size_t k = 0; k < s->zones[oz].n_prefixes; k++) {
				const struct tp_prefix *q = &s->zones[oz].prefixes[k];
				struct tp_prefix last;

				if (q->family != family || q->len <= p->len ||
				    !tp_prefix_contains(p, q))
					continue;
				prefix_last(q, &last);
				if (addr_inc(&last) && tp_prefix_contains(p, &last) &&
				    try_addr(s, z, &last, out))
					return true;
			}
		}
	}
	return false;
}

bool tp_space_flow(const struct tp_site *s, const char *from, const char *to,
		   const struct tp_cell *c, struct tp_flow *out)
{
	uint32_t f = tp_site_zone_by_name(s, from), t = tp_site_zone_by_name(s, to);
	uint8_t fam;

	memset(out, 0, sizeof(*out));
	if (f == TP_ZONE_NONE || t == TP_ZONE_NONE)
		return false;
	out->proto = c->proto;
	if (c->proto == 1)
		fam = TP_AF_INET;
	else if (c->proto == 58)
		fam = TP_AF_INET6;
	else {
		struct tp_prefix a, b;

		fam = tp_space_zone_addr(s, f, TP_AF_INET, &a) &&
				      tp_space_zone_addr(s, t, TP_AF_INET, &b)
			      ? TP_AF_INET
			      : TP_AF_INET6;
	}
	if (!tp_space_zone_addr(s, f, fam, &out->src) || !tp_space_zone_addr(s, t, fam, &out->dst))
		return false;
	if (tp_proto_has_ports(c->proto)) {
		/* an ephemeral source port when the cell has one: what a real
		 * initiator sends, and what a reader expects in a counterexample */
		out->sport = c->slo <= 49152 && 49152 <= c->shi ? 49152 : c->slo;
		out->dport = c->dlo;
	}
	if (tp_proto_is_icmp(c->proto)) {
		out->icmp_type = c->rep_type;
		out->icmp_code = c->rep_code;
	}
	return true;
}

void tp_space_decide(const struct tp_site *s, const char *from, const char *to,
		     const struct tp_cell *c, int64_t now, struct tp_decision *out)
{
	struct tp_flow f;

	if (!tp_space_flow(s, from, to, c, &f)) {
		memset(out, 0, sizeof(*out));
		out->verdict = TP_VERDICT_DENY;
		out->reason = TP_REASON_NO_SRC_ZONE;
		out->from_zone = tp_site_zone_by_name(s, from);
		out->to_zone = tp_site_zone_by_name(s, to);
		return;
	}
	tp_ref_evaluate(s, &f, now, out);
}

bool tp_space_cell_adjacent(const struct tp_cell *a, const struct tp_cell *b)
{
	return tp_proto_has_ports(a->proto) && a->proto == b->proto && a->slo == b->slo &&
	       a->shi == b->shi && a->dhi != 65535 && a->dhi + 1 == b->dlo;
}

static void range(char *buf, size_t len, uint16_t lo, uint16_t hi)
{
	if (lo == 0 && hi == 65535)
		snprintf(buf, len, "any");
	else if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

const char *tp_space_cell_format(const struct tp_cell *c, char *buf, size_t len)
{
	char pbuf[16], d[16], s[16];
	const char *pn;

	if (c->other) {
		snprintf(buf, len, "other protocols");
		return buf;
	}
	pn = tp_proto_name(c->proto, pbuf, sizeof(pbuf));
	if (tp_proto_has_ports(c->proto)) {
		range(d, sizeof(d), c->dlo, c->dhi);
		range(s, sizeof(s), c->slo, c->shi);
		if (c->slo == 0 && c->shi == 65535)
			snprintf(buf, len, "%s/%s", pn, d);
		else
			snprintf(buf, len, "%s/%s sport %s", pn, d, s);
	} else if (tp_proto_is_icmp(c->proto)) {
		if (c->itype < 0)
			snprintf(buf, len, "%s %s", pn, c->itype == -2 ? "any" : "other types");
		else if (c->icode < 0)
			snprintf(buf, len, "%s %d%s", pn, c->itype,
				 c->icode == -2 ? "" : "/other codes");
		else
			snprintf(buf, len, "%s %d/%d", pn, c->itype, c->icode);
	} else {
		snprintf(buf, len, "%s", pn);
	}
	return buf;
}
