// SPDX-License-Identifier: MIT
/*
 * Lint (see tp/policy/lint.h). Every check reads the site only. Overlap analysis
 * reasons about the sets of packets two conduits match: a conduit matches
 * protocol x destination ports x source ports x ICMP type/code x validity
 * window, with the reference evaluator's conventions (tp/policy/eval.h): an empty
 * list means any, a port list restricts a conduit to the port protocols, an
 * ICMP list to ICMP and ICMPv6. Subset and overlap are decided exactly on
 * those dimensions. Application profiles: a conduit with a profile never
 * covers another one; among allows, a profile applies only where every
 * matching allow carries one (tp/policy/eval.h), so a plain allow that matches a
 * profile conduit's traffic switches its profile off there, and where two
 * profile conduits match the same traffic a request passes if either
 * profile admits it (the union, DESIGN.md §7.3): check_profiles() says so.
 */
#include "tp/policy/lint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/engine.h"
#include "tp/policy/eval.h"
#include "tp/policy/flowspec.h"
#include "tp/policy/timefmt.h"

static const struct tp_port_range full_range = {0, 65535};

static void ranges_or_full(const struct tp_port_range *r, size_t n,
			   const struct tp_port_range **out, size_t *nout)
{
	*out = n ? r : &full_range;
	*nout = n ? n : 1;
}

/* Is every port of [lo, hi] inside the union of a[]? */
static bool range_covered(uint32_t lo, uint32_t hi, const struct tp_port_range *a, size_t na)
{
	uint32_t cur = lo;
	bool moved = true;

	while (cur <= hi && moved) {
		moved = false;
		for (size_t i = 0; i < na; i++) {
			if (a[i].lo <= cur && cur <= a[i].hi) {
				cur = (uint32_t)a[i].hi + 1;
				moved = true;
			}
		}
	}
	return cur > hi;
}

static bool ports_subset(const struct tp_port_range *b, size_t nb, const struct tp_port_range *a,
			 size_t na)
{
	const struct tp_port_range *bb, *aa;
	size_t nbb, naa;

	ranges_or_full(b, nb, &bb, &nbb);
	ranges_or_full(a, na, &aa, &naa);
	for (size_t i = 0; i < nbb; i++)
		if (!range_covered(bb[i].lo, bb[i].hi, aa, naa))
			return false;
	return true;
}

static bool ports_overlap(const struct tp_port_range *b, size_t nb, const struct tp_port_range *a,
			  size_t na)
{
	const struct tp_port_range *bb, *aa;
	size_t nbb, naa;

	ranges_or_full(b, nb, &bb, &nbb);
	ranges_or_full(a, na, &aa, &naa);
	for (size_t i = 0; i < nbb; i++)
		for (size_t j = 0; j < naa; j++)
			if (bb[i].lo <= aa[j].hi && aa[j].lo <= bb[i].hi)
				return true;
	return false;
}

static bool icmp_subset(const struct tp_rule *b, const struct tp_rule *a)
{
	if (!a->n_icmp)
		return true;
	if (!b->n_icmp)
		return false;
	for (size_t i = 0; i < b->n_icmp; i++) {
		bool found = false;

		for (size_t j = 0; j < a->n_icmp && !found; j++)
			found = a->icmp[j].type == b->icmp[i].type &&
				(a->icmp[j].code < 0 || a->icmp[j].code == b->icmp[i].code);
		if (!found)
			return false;
	}
	return true;
}

static bool icmp_overlap(const struct tp_rule *b, const struct tp_rule *a)
{
	if (!a->n_icmp || !b->n_icmp)
		return true;
	for (size_t i = 0; i < b->n_icmp; i++)
		for (size_t j = 0; j < a->n_icmp; j++)
			if (a->icmp[j].type == b->icmp[i].type &&
			    (a->icmp[j].code < 0 || b->icmp[i].code < 0 ||
			     a->icmp[j].code == b->icmp[i].code))
				return true;
	return false;
}

static bool has_ports(const struct tp_rule *r)
{
	return r->n_dst_ports || r->n_src_ports;
}

/* Can rule r match a packet of some port protocol / of ICMP / of anything
 * else? (A list restricts the protocols, and so does a specific proto.) */
static bool may_port(const struct tp_rule *r)
{
	return !r->n_icmp && (r->proto == 0 || tp_proto_has_ports(r->proto));
}

static bool may_icmp(const struct tp_rule *r)
{
	return !has_ports(r) && (r->proto == 0 || tp_proto_is_icmp(r->proto));
}

static bool window_subset(const struct tp_rule *b, const struct tp_rule *a)
{
	int64_t bnb = b->not_before, bna = b->not_after ? b->not_after : INT64_MAX;
	int64_t anb = a->not_before, ana = a->not_after ? a->not_after : INT64_MAX;

	return anb <= bnb && bna <= ana;
}

static bool window_overlap(const struct tp_rule *b, const struct tp_rule *a)
{
	int64_t bnb = b->not_before, bna = b->not_after ? b->not_after : INT64_MAX;
	int64_t anb = a->not_before, ana = a->not_after ? a->not_after : INT64_MAX;

	return anb < bna && bnb < ana;
}

/* Does a match every packet b matches (ignoring zones and profiles)? */
static bool rule_subset_l4(const struct tp_rule *b, const struct tp_rule *a)
{
	if (a->proto != 0 && a->proto != b->proto)
		return false;
	/* a's lists restrict it to a class of protocols; b must be inside it */
	if (has_ports(a) && !(has_ports(b) || tp_proto_has_ports(b->proto)))
		return false;
	if (a->n_icmp && !(b->n_icmp || tp_proto_is_icmp(b->proto)))
		return false;
	if (may_port(b) && has_ports(a) &&
	    (!ports_subset(b->dst_ports, b->n_dst_ports, a->dst_ports, a->n_dst_ports) ||
	     !ports_subset(b->src_ports, b->n_src_ports, a->src_ports, a->n_src_ports)))
		return false;
	if (may_icmp(b) && !icmp_subset(b, a))
		return false;
	return window_subset(b, a);
}

/* Does a admit every packet b matches, with nothing more to check? */
static bool rule_subset(const struct tp_rule *b, const struct tp_rule *a)
{
	return a->profile == TP_PROFILE_NONE && rule_subset_l4(b, a);
}

/* Is there a packet both match (ignoring zones)? */
static bool rule_overlap(const struct tp_rule *b, const struct tp_rule *a)
{
	bool port_ok, icmp_ok, other_ok;

	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	if (!window_overlap(b, a))
		return false;
	port_ok = may_port(a) && may_port(b) &&
		  (!a->proto || tp_proto_has_ports(a->proto) || !b->proto ||
		   tp_proto_has_ports(b->proto)) &&
		  ports_overlap(b->dst_ports, b->n_dst_ports, a->dst_ports, a->n_dst_ports) &&
		  ports_overlap(b->src_ports, b->n_src_ports, a->src_ports, a->n_src_ports);
	icmp_ok = may_icmp(a) && may_icmp(b) && icmp_overlap(b, a);
	/* a protocol neither ported nor ICMP, matched by conduits with no lists */
	other_ok = !has_ports(a) && !has_ports(b) && !a->n_icmp && !b->n_icmp &&
		   !(a->proto && (tp_proto_has_ports(a->proto) || tp_proto_is_icmp(a->proto))) &&
		   !(b->proto && (tp_proto_has_ports(b->proto) || tp_proto_is_icmp(b->proto)));
	return port_ok || icmp_ok || other_ok;
}

static const struct {
	const char *label;
	enum tp_diag_severity severity;
} kinds[TP_LINT__KIND_COUNT] = {
#define KIND_ROW(name, label, sev) [TP_LINT_##name] = {label, sev},
	TP_LINT_KINDS(KIND_ROW)
#undef KIND_ROW
};

const char *tp_lint_kind_name(enum tp_lint_kind k)
{
	return (unsigned)k < TP_LINT__KIND_COUNT ? kinds[k].label : "?";
}

void tp_lint_result_init(struct tp_lint_result *res)
{
	memset(res, 0, sizeof(*res));
}

void tp_lint_result_free(struct tp_lint_result *res)
{
	free(res->v);
	res->v = NULL;
	res->n = res->cap = 0;
}

/*
 * Record one finding of kind at loc and return it for the caller to fill.
 * Never fails: past TP_DIAG_MAX (or without memory) the finding is counted
 * and the caller fills the scratch entry, so counts are always exact.
 */
static struct tp_lint_finding *add(struct tp_lint_result *res, enum tp_lint_kind kind,
				   struct tp_srcloc loc)
{
	struct tp_lint_finding *f = &res->spill;

	if (kinds[kind].severity == TP_DIAG_ERROR)
		res->n_errors++;
	else
		res->n_warnings++;
	if (res->n == res->cap && res->n < TP_DIAG_MAX) {
		size_t cap = res->cap ? res->cap * 2 : 16;
		struct tp_lint_finding *v;

		if (cap > TP_DIAG_MAX)
			cap = TP_DIAG_MAX;
		v = realloc(res->v, cap * sizeof(*v));
		if (v) {
			res->v = v;
			res->cap = cap;
		}
	}
	if (res->n < res->cap)
		f = &res->v[res->n++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = kinds[kind].severity;
	f->loc = loc;
	f->index = f->index2 = TP_LINT_NONE;
	f->zones[0] = f->zones[1] = TP_LINT_NONE;
	return f;
}

static void set_rules(struct tp_lint_finding *f, const struct tp_rule *a, const struct tp_rule *b)
{
	f->rules[f->n_rules++] = a->id;
	if (b)
		f->rules[f->n_rules++] = b->id;
	f->zones[0] = a->from_zone;
	f->zones[1] = a->to_zone;
}

static void oom(struct tp_lint_result *res)
{
	res->oom = true;
}

/* One finding about two conduits: the one at fault (site index ia) first. */
static void add_pair(struct tp_lint_result *res, enum tp_lint_kind kind, const struct tp_site *s,
		     size_t ia, size_t ib)
{
	struct tp_lint_finding *f = add(res, kind, s->rules[ia].loc);

	set_rules(f, &s->rules[ia], &s->rules[ib]);
	f->index = (uint32_t)ia;
	f->index2 = (uint32_t)ib;
	f->other = s->rules[ib].loc;
}

/* Two allows (site indexes ia, ib) of one zone pair, at least one with a
 * profile: a plain allow that matches a profile conduit's traffic lets it
 * through unchecked, and where two profiles overlap either admits. */
static void check_profiles(const struct tp_site *s, size_t ia, size_t ib,
			   struct tp_lint_result *res)
{
	const struct tp_rule *a = &s->rules[ia], *b = &s->rules[ib];
	size_t im = a->profile != TP_PROFILE_NONE ? ia : ib, ip = im == ia ? ib : ia;
	const struct tp_rule *m = &s->rules[im], *p = &s->rules[ip];

	if (a->profile != TP_PROFILE_NONE && b->profile != TP_PROFILE_NONE) {
		size_t ilo = a->id < b->id ? ia : ib, ihi = ilo == ia ? ib : ia;

		if (rule_overlap(&s->rules[ihi], &s->rules[ilo]))
			add_pair(res, TP_LINT_PROFILES_OVERLAP, s, ihi, ilo);
		return;
	}
	if (rule_subset_l4(m, p))
		add_pair(res, TP_LINT_PROFILE_BYPASSED, s, im, ip);
	else if (rule_overlap(m, p))
		add_pair(res, TP_LINT_PROFILE_PARTIAL, s, im, ip);
}

/* Two conduits (site indexes ia, ib) of one zone pair: shadowed,
 * redundant, or overlapping. */
static void check_pair(const struct tp_site *s, size_t ia, size_t ib, struct tp_lint_result *res)
{
	const struct tp_rule *a = &s->rules[ia], *b = &s->rules[ib];
	struct tp_lint_finding *f;

	if (a->action != b->action) {
		const struct tp_rule *deny = a->action == TP_ACTION_DENY ? a : b;
		const struct tp_rule *allow = deny == a ? b : a;
		enum tp_lint_kind k;

		if (rule_subset(allow, deny))
			k = TP_LINT_SHADOWED;
		else if (rule_overlap(allow, deny))
			k = TP_LINT_CONFLICT;
		else
			return;
		f = add(res, k, allow->loc);
		set_rules(f, allow, deny);
		f->index = (uint32_t)(deny == a ? ib : ia);
		f->index2 = (uint32_t)(deny == a ? ia : ib);
		f->other = deny->loc;
		return;
	}
	if (a->action == TP_ACTION_ALLOW &&
	    (a->profile != TP_PROFILE_NONE || b->profile != TP_PROFILE_NONE)) {
		check_profiles(s, ia, ib, res);
		return;
	}
	/* Same action: the one with the larger id is dead if the other covers
	 * it, since the smaller id decides (and, for allows, the flow is
	 * stateful if either is, so a stateful b under a stateless a lives). */
	{
		bool a_lo = a->id < b->id;
		const struct tp_rule *lo = a_lo ? a : b, *hi = a_lo ? b : a;

		if (rule_subset(hi, lo) &&
		    !(hi->action == TP_ACTION_ALLOW && hi->stateful && !lo->stateful)) {
			f = add(res, TP_LINT_REDUNDANT, hi->loc);
			set_rules(f, hi, lo);
			f->index = (uint32_t)(a_lo ? ib : ia);
			f->index2 = (uint32_t)(a_lo ? ia : ib);
			f->other = lo->loc;
		}
	}
}

struct rule_ref {
	uint32_t from, to, id;
	size_t idx;
};

static int cmp_rule_ref(const void *x, const void *y)
{
	const struct rule_ref *a = x, *b = y;

	if (a->from != b->from)
		return a->from < b->from ? -1 : 1;
	if (a->to != b->to)
		return a->to < b->to ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void check_conduits(const struct tp_site *s, struct tp_lint_result *res)
{
	struct rule_ref *refs;
	size_t n = s->n_rules;

	if (!n)
		return;
	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		oom(res);
		return;
	}
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct rule_ref){s->rules[i].from_zone, s->rules[i].to_zone,
					    s->rules[i].id, i};
	qsort(refs, n, sizeof(*refs), cmp_rule_ref);
	for (size_t g = 0; g < n;) {
		size_t e = g;

		while (e < n && refs[e].from == refs[g].from && refs[e].to == refs[g].to)
			e++;
		if (e - g > TP_LINT_PAIRWISE_MAX) {
			struct tp_lint_finding *f =
				add(res, TP_LINT_PAIRWISE_SKIPPED, s->rules[refs[g].idx].loc);

			f->zones[0] = refs[g].from;
			f->zones[1] = refs[g].to;
			f->index = (uint32_t)refs[g].idx;
			f->value[0] = (int64_t)(e - g);
		} else if (refs[g].from != refs[g].to) {
			for (size_t i = g; i < e; i++)
				for (size_t j = i + 1; j < e; j++)
					check_pair(s, refs[i].idx, refs[j].idx, res);
		}
		g = e;
	}
	free(refs);
}

struct prefix_ref {
	const struct tp_prefix *p;
	uint32_t zone;
	size_t idx;
};

static int cmp_prefix_ref(const void *x, const void *y)
{
	const struct prefix_ref *a = x, *b = y;
	int c;

	if (a->p->family != b->p->family)
		return a->p->family < b->p->family ? -1 : 1;
	if (a->p->len != b->p->len)
		return a->p->len < b->p->len ? -1 : 1;
	c = memcmp(a->p->addr, b->p->addr, sizeof(a->p->addr));
	if (c)
		return c;
	if (a->zone != b->zone)
		return a->zone < b->zone ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static struct tp_srcloc prefix_loc(const struct tp_site *s, const struct tp_site_locs *locs,
				   uint32_t z, size_t i)
{
	if (locs && z < locs->n_zones && locs->prefix[z])
		return locs->prefix[z][i];
	return s->zones[z].loc;
}

static void check_prefixes(const struct tp_site *s, const struct tp_site_locs *locs,
			   struct tp_lint_result *res)
{
	struct prefix_ref *refs;
	size_t n = 0, k = 0;

	for (size_t z = 0; z < s->n_zones; z++)
		n += s->zones[z].n_prefixes;
	if (!n)
		return;
	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		oom(res);
		return;
	}
	for (size_t z = 0; z < s->n_zones; z++)
		for (size_t i = 0; i < s->zones[z].n_prefixes; i++)
			refs[k++] = (struct prefix_ref){&s->zones[z].prefixes[i], (uint32_t)z, i};
	qsort(refs, n, sizeof(*refs), cmp_prefix_ref);
	for (size_t i = 1; i < n; i++) {
		const struct prefix_ref *a = &refs[i - 1], *b = &refs[i];
		struct tp_lint_finding *f;
		struct tp_srcloc la, lb;

		if (a->p->family != b->p->family || a->p->len != b->p->len ||
		    memcmp(a->p->addr, b->p->addr, sizeof(a->p->addr)) != 0)
			continue;
		la = prefix_loc(s, locs, a->zone, a->idx);
		lb = prefix_loc(s, locs, b->zone, b->idx);
		/* report at the later of the two in the file */
		if (lb.line < la.line || (lb.line == la.line && lb.col < la.col)) {
			const struct prefix_ref *t = a;
			struct tp_srcloc tl = la;

			a = b;
			b = t;
			la = lb;
			lb = tl;
		}
		f = add(res, a->zone == b->zone ? TP_LINT_PREFIX_TWICE : TP_LINT_PREFIX_TWO_ZONES,
			lb);
		f->prefix = *b->p;
		f->other = la;
		f->index = b->zone; /* the zone of the later listing */
		f->index2 = a->zone;
		f->zones[0] = a->zone;
		f->zones[1] = b->zone;
	}
	free(refs);
}

/* Sort keys for duplicate detection in n log n. */
struct dup_key {
	const char *name; /* NULL: compare ids */
	uint32_t id;
	size_t idx;
};

static int cmp_dup_key(const void *x, const void *y)
{
	const struct dup_key *a = x, *b = y;
	int c = a->name ? strcmp(a->name, b->name) : 0;

	if (c)
		return c;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Report every item whose key repeats an earlier item's. */
static void check_duplicates(const struct tp_site *s, enum tp_lint_kind kind,
			     struct tp_lint_result *res)
{
	size_t n = kind == TP_LINT_DUP_TP	    ? s->n_tps
		   : kind == TP_LINT_DUP_CONDUIT_ID ? s->n_rules
						    : s->n_zones;
	struct dup_key *v = calloc(n ? n : 1, sizeof(*v));

	if (!v) {
		oom(res);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].idx = i;
		if (kind == TP_LINT_DUP_TP)
			v[i].name = s->tps[i].name;
		else if (kind == TP_LINT_DUP_ZONE_NAME)
			v[i].name = s->zones[i].name;
		else
			v[i].id = kind == TP_LINT_DUP_ZONE_ID ? s->zones[i].id : s->rules[i].id;
	}
	qsort(v, n, sizeof(*v), cmp_dup_key);
	for (size_t i = 1; i < n; i++) {
		size_t a = v[i - 1].idx, b = v[i].idx;
		struct tp_lint_finding *f;

		if (cmp_dup_key(&(struct dup_key){v[i - 1].name, v[i - 1].id, 0},
				&(struct dup_key){v[i].name, v[i].id, 0}) != 0)
			continue;
		switch (kind) {
		case TP_LINT_DUP_TP:
			f = add(res, kind, s->tps[b].loc);
			f->other = s->tps[a].loc;
			break;
		case TP_LINT_DUP_CONDUIT_ID:
			f = add(res, kind, s->rules[b].loc);
			f->other = s->rules[a].loc;
			f->rules[f->n_rules++] = s->rules[b].id;
			break;
		default:
			f = add(res, kind, s->zones[b].loc);
			f->other = s->zones[a].loc;
			break;
		}
		f->index = (uint32_t)b;
		f->index2 = (uint32_t)a;
	}
	free(v);
}

static struct tp_lint_finding *add_rule(struct tp_lint_result *res, enum tp_lint_kind kind,
					const struct tp_site *s, size_t i)
{
	struct tp_lint_finding *f = add(res, kind, s->rules[i].loc);

	f->index = (uint32_t)i;
	f->rules[f->n_rules++] = s->rules[i].id;
	if (s->rules[i].from_zone < s->n_zones && s->rules[i].to_zone < s->n_zones) {
		f->zones[0] = s->rules[i].from_zone;
		f->zones[1] = s->rules[i].to_zone;
	}
	return f;
}

static void check_ranges(const struct tp_site *s, size_t i, const struct tp_port_range *v, size_t n,
			 struct tp_lint_result *res)
{
	for (size_t k = 0; k < n; k++) {
		if (v[k].lo > v[k].hi) {
			struct tp_lint_finding *f = add_rule(res, TP_LINT_INVERTED_RANGE, s, i);

			f->value[0] = v[k].lo;
			f->value[1] = v[k].hi;
		}
	}
}

/* Returns false when an index is out of range: then nothing else may look
 * at the site. */
static bool check_structure(const struct tp_site *s, int64_t now, struct tp_lint_result *res)
{
	bool sane = true, *hosts = calloc(s->n_tps ? s->n_tps : 1, sizeof(bool));
	static const enum tp_lint_kind dups[] = {TP_LINT_DUP_TP, TP_LINT_DUP_ZONE_NAME,
						 TP_LINT_DUP_ZONE_ID, TP_LINT_DUP_CONDUIT_ID};

	if (!hosts) {
		oom(res);
		return false;
	}
	for (size_t z = 0; z < s->n_zones; z++) {
		const struct tp_zone *zn = &s->zones[z];

		if (zn->tp >= s->n_tps) {
			add(res, TP_LINT_ZONE_NO_TP, zn->loc)->index = (uint32_t)z;
			sane = false;
		} else {
			hosts[zn->tp] = true;
		}
		if (!zn->n_prefixes)
			add(res, TP_LINT_ZONE_NO_PREFIX, zn->loc)->index = (uint32_t)z;
		if (!zn->name[0])
			add(res, TP_LINT_ZONE_NO_NAME, zn->loc)->index = (uint32_t)z;
	}
	for (size_t t = 0; t < s->n_tps; t++)
		if (!hosts[t])
			add(res, TP_LINT_TP_HOSTS_NOTHING, s->tps[t].loc)->index = (uint32_t)t;
	free(hosts);
	for (size_t k = 0; k < sizeof(dups) / sizeof(dups[0]); k++)
		check_duplicates(s, dups[k], res);
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];

		if (r->id == TP_RULE_ID_NONE)
			add_rule(res, TP_LINT_RESERVED_ID, s, i);
		if (r->from_zone >= s->n_zones || r->to_zone >= s->n_zones) {
			add_rule(res, TP_LINT_UNKNOWN_ZONE, s, i);
			sane = false;
			continue;
		}
		if (r->action != TP_ACTION_ALLOW && r->action != TP_ACTION_DENY)
			add_rule(res, TP_LINT_NO_ACTION, s, i);
		check_ranges(s, i, r->dst_ports, r->n_dst_ports, res);
		check_ranges(s, i, r->src_ports, r->n_src_ports, res);
		for (size_t k = 0; k < r->n_icmp; k++)
			if (r->icmp[k].code < -1 || r->icmp[k].code > 255)
				add_rule(res, TP_LINT_BAD_ICMP_CODE, s, i)->value[0] =
					r->icmp[k].code;
		if ((has_ports(r) && r->proto && !tp_proto_has_ports(r->proto)) ||
		    (r->n_icmp && r->proto && !tp_proto_is_icmp(r->proto)))
			add_rule(res, TP_LINT_LIST_MISFIT, s, i);
		if (r->not_before && r->not_after && r->not_after <= r->not_before)
			add_rule(res, TP_LINT_NEVER_VALID, s, i);
		else if (r->not_after && r->not_after <= now)
			add_rule(res, TP_LINT_EXPIRED, s, i)->value[0] = r->not_after;
		if (r->from_zone == r->to_zone)
			add_rule(res, TP_LINT_SAME_ZONE, s, i);
	}
	return sane;
}

static void run_assertions(const struct tp_site *s, int64_t now, struct tp_lint_result *res)
{
	for (size_t i = 0; i < s->n_assertions; i++) {
		const struct tp_assertion *a = &s->assertions[i];
		struct tp_lint_finding *f;
		struct tp_decision dec;
		bool allowed;

		tp_ref_evaluate(s, &a->flow, a->at ? a->at : now, &dec);
		allowed = dec.verdict == TP_VERDICT_ALLOW;
		if (allowed == a->must_allow)
			continue;
		f = add(res, TP_LINT_ASSERTION_FAILED, a->loc);
		f->index = (uint32_t)i;
		f->zones[0] = dec.from_zone < s->n_zones ? dec.from_zone : TP_LINT_NONE;
		f->zones[1] = dec.to_zone < s->n_zones ? dec.to_zone : TP_LINT_NONE;
		f->value[0] = allowed;
		f->value[1] = dec.reason;
		if (dec.reason == TP_REASON_RULE_ALLOW || dec.reason == TP_REASON_RULE_DENY) {
			f->rules[f->n_rules++] = dec.rule_id;
			for (size_t k = 0; k < s->n_rules; k++) {
				if (s->rules[k].id == dec.rule_id) {
					f->index2 = (uint32_t)k;
					f->other = s->rules[k].loc;
					break;
				}
			}
		}
	}
}

/* Findings in file order; stable, so findings about one spot keep the
 * order in which they were found (n is at most TP_DIAG_MAX). */
static void sort_findings(struct tp_lint_result *res)
{
	for (size_t i = 1; i < res->n; i++) {
		struct tp_lint_finding t = res->v[i];
		size_t j = i;

		while (j > 0 && (res->v[j - 1].loc.line > t.loc.line ||
				 (res->v[j - 1].loc.line == t.loc.line &&
				  res->v[j - 1].loc.col > t.loc.col))) {
			res->v[j] = res->v[j - 1];
			j--;
		}
		res->v[j] = t;
	}
}

bool tp_lint_run(const struct tp_site *s, const struct tp_site_locs *locs,
		 const struct tp_lint_opts *opts, struct tp_lint_result *res)
{
	size_t before = res->n_errors;
	bool oom_before = res->oom;

	/* Everything below indexes zones and TPs through the site. */
	if (!check_structure(s, opts->now, res))
		goto out;
	check_prefixes(s, locs, res);
	if (opts->structure_only)
		goto out;
	check_conduits(s, res);
	run_assertions(s, opts->now, res);
	if (res->n_errors == before && !res->oom && opts->compile) {
		char err[sizeof(res->spill.detail)] = "";

		if (opts->compile(s, opts->now, err, sizeof(err)) < 0)
			snprintf(add(res, TP_LINT_COMPILE_FAILED, (struct tp_srcloc){0})->detail,
				 sizeof(res->spill.detail), "%s", err);
	}
out:
	sort_findings(res);
	return res->n_errors == before && res->oom == oom_before;
}

/* Each finding as a diagnostic; an out-of-memory as one more error. */
static void to_diags(const struct tp_site *s, const struct tp_lint_result *res, struct tp_diags *d)
{
	char msg[TP_DIAG_MSG_MAX];
	size_t errors = 0;

	for (size_t i = 0; i < res->n; i++) {
		errors += res->v[i].severity == TP_DIAG_ERROR;
		tp_diag_add(d, res->v[i].severity, res->v[i].loc, "%s",
			    tp_lint_format(s, &res->v[i], msg, sizeof(msg)));
	}
	/* the findings that were only counted stay counted */
	d->n_errors += res->n_errors - errors;
	d->n_warnings += res->n_warnings - (res->n - errors);
	if (res->oom)
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
}

bool tp_lint_assertions(const struct tp_site *s, int64_t now, struct tp_diags *d)
{
	struct tp_lint_result res;

	tp_lint_result_init(&res);
	run_assertions(s, now, &res);
	to_diags(s, &res, d);
	tp_lint_result_free(&res);
	return res.n_errors == 0;
}

bool tp_lint_site(const struct tp_site *s, const struct tp_site_locs *locs,
		  const struct tp_lint_opts *opts, struct tp_diags *d)
{
	struct tp_lint_result res;
	size_t before = d->n_errors;

	tp_lint_result_init(&res);
	tp_lint_run(s, locs, opts, &res);
	to_diags(s, &res, d);
	tp_lint_result_free(&res);
	tp_diag_sort(d);
	return d->n_errors == before;
}

int tp_lint_compile_engine(const struct tp_site *site, int64_t now, char *err, size_t errlen)
{
	struct tp_engine *e = NULL;
	int rc = tp_engine_compile(site, now, &e, err, errlen);

	tp_engine_free(e);
	return rc;
}
