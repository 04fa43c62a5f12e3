// SPDX-License-Identifier: MIT
/*
 * Lint (see tp/lint.h). Every check reads the site only. Overlap analysis
 * reasons about the sets of packets two conduits match: a conduit matches
 * protocol x destination ports x source ports x ICMP type/code x validity
 * window, with the reference evaluator's conventions (tp/eval.h): an empty
 * list means any, a port list restricts a conduit to the port protocols, an
 * ICMP list to ICMP and ICMPv6. Subset and overlap are decided exactly on
 * those dimensions. Application profiles: a conduit with a profile never
 * covers another one; among allows, a profile applies only where every
 * matching allow carries one (tp/eval.h), so a plain allow that matches a
 * profile conduit's traffic switches its profile off there, and of two
 * profile conduits matching the same traffic the smaller id's profile
 * applies: check_profiles() says so.
 */
#include "tp/lint.h"

#include <stdlib.h>
#include <string.h>

#include "tp/eval.h"
#include "tp/flowspec.h"
#include "tp/timefmt.h"

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

static const char *action_name(enum tp_action a)
{
	return a == TP_ACTION_DENY ? "deny" : "allow";
}

/* "conduit 12 'name'" */
static const char *rule_label(const struct tp_rule *r, char *buf, size_t len)
{
	if (r->name[0])
		snprintf(buf, len, "conduit %u '%s'", r->id, r->name);
	else
		snprintf(buf, len, "conduit %u", r->id);
	return buf;
}

static const char *zone_name(const struct tp_site *s, uint32_t z)
{
	return z < s->n_zones ? s->zones[z].name : "?";
}

/* Two allows of one zone pair, at least one with a profile. */
static void check_profiles(const struct tp_rule *a, const struct tp_rule *b, const char *la,
			   const char *lb, struct tp_diags *d)
{
	const struct tp_rule *m = a->profile != TP_PROFILE_NONE ? a : b, *p = m == a ? b : a;
	const char *lm = m == a ? la : lb, *lp = m == a ? lb : la;

	if (a->profile != TP_PROFILE_NONE && b->profile != TP_PROFILE_NONE) {
		const struct tp_rule *lo = a->id < b->id ? a : b, *hi = lo == a ? b : a;
		const char *llo = lo == a ? la : lb, *lhi = lo == a ? lb : la;

		if (rule_overlap(hi, lo))
			tp_diag_add(
				d, TP_DIAG_WARNING, hi->loc,
				"%s and %s (at %u:%u) both carry a modbus profile and match some "
				"of the same traffic: only the profile of %s (the smaller id) "
				"applies to it",
				lhi, llo, lo->loc.line, lo->loc.col, llo);
		return;
	}
	if (rule_subset_l4(m, p))
		tp_diag_add(d, TP_DIAG_ERROR, m->loc,
			    "the modbus profile of %s is never enforced: %s (at %u:%u) allows all "
			    "its traffic without a profile",
			    lm, lp, p->loc.line, p->loc.col);
	else if (rule_overlap(m, p))
		tp_diag_add(d, TP_DIAG_WARNING, m->loc,
			    "%s (at %u:%u) allows some traffic of %s without a profile: its modbus "
			    "profile does not apply to that traffic",
			    lp, p->loc.line, p->loc.col, lm);
}

/* Two conduits of one zone pair: shadowed, redundant, or overlapping. */
static void check_pair(const struct tp_site *s, const struct tp_rule *a, const struct tp_rule *b,
		       struct tp_diags *d)
{
	char la[TP_NAME_MAX + 32], lb[TP_NAME_MAX + 32];

	rule_label(a, la, sizeof(la));
	rule_label(b, lb, sizeof(lb));
	if (a->action != b->action) {
		const struct tp_rule *deny = a->action == TP_ACTION_DENY ? a : b;
		const struct tp_rule *allow = deny == a ? b : a;
		const char *ld = deny == a ? la : lb, *lal = deny == a ? lb : la;

		if (rule_subset(allow, deny))
			tp_diag_add(d, TP_DIAG_ERROR, allow->loc,
				    "%s is shadowed by deny %s (at %u:%u): every packet it "
				    "allows is denied (deny wins), so it never applies",
				    lal, ld, deny->loc.line, deny->loc.col);
		else if (rule_overlap(allow, deny))
			tp_diag_add(d, TP_DIAG_WARNING, allow->loc,
				    "allow %s and deny %s (at %u:%u) both match some traffic "
				    "from '%s' to '%s': deny wins for that traffic",
				    lal, ld, deny->loc.line, deny->loc.col,
				    zone_name(s, allow->from_zone), zone_name(s, allow->to_zone));
		return;
	}
	if (a->action == TP_ACTION_ALLOW &&
	    (a->profile != TP_PROFILE_NONE || b->profile != TP_PROFILE_NONE)) {
		check_profiles(a, b, la, lb, d);
		return;
	}
	/* Same action: the one with the larger id is dead if the other covers
	 * it, since the smaller id decides (and, for allows, the flow is
	 * stateful if either is, so a stateful b under a stateless a lives). */
	{
		const struct tp_rule *lo = a->id < b->id ? a : b, *hi = lo == a ? b : a;
		const char *llo = lo == a ? la : lb, *lhi = lo == a ? lb : la;

		if (rule_subset(hi, lo) &&
		    !(hi->action == TP_ACTION_ALLOW && hi->stateful && !lo->stateful))
			tp_diag_add(d, TP_DIAG_ERROR, hi->loc,
				    "%s is redundant: %s (at %u:%u) already %ss all its traffic "
				    "and decides it",
				    lhi, llo, lo->loc.line, lo->loc.col, action_name(lo->action));
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

static void check_conduits(const struct tp_site *s, struct tp_diags *d)
{
	struct rule_ref *refs;
	size_t n = s->n_rules;

	if (!n)
		return;
	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
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
			tp_diag_add(d, TP_DIAG_WARNING, s->rules[refs[g].idx].loc,
				    "%zu conduits from '%s' to '%s': overlap analysis skipped "
				    "(more than %d)",
				    e - g, zone_name(s, refs[g].from), zone_name(s, refs[g].to),
				    TP_LINT_PAIRWISE_MAX);
		} else if (refs[g].from != refs[g].to) {
			for (size_t i = g; i < e; i++)
				for (size_t j = i + 1; j < e; j++)
					check_pair(s, &s->rules[refs[i].idx],
						   &s->rules[refs[j].idx], d);
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
			   struct tp_diags *d)
{
	struct prefix_ref *refs;
	size_t n = 0, k = 0;

	for (size_t z = 0; z < s->n_zones; z++)
		n += s->zones[z].n_prefixes;
	if (!n)
		return;
	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
		return;
	}
	for (size_t z = 0; z < s->n_zones; z++)
		for (size_t i = 0; i < s->zones[z].n_prefixes; i++)
			refs[k++] = (struct prefix_ref){&s->zones[z].prefixes[i], (uint32_t)z, i};
	qsort(refs, n, sizeof(*refs), cmp_prefix_ref);
	for (size_t i = 1; i < n; i++) {
		const struct prefix_ref *a = &refs[i - 1], *b = &refs[i];
		struct tp_srcloc la, lb;
		char buf[64];

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
		tp_prefix_format(b->p, false, buf, sizeof(buf));
		if (a->zone == b->zone)
			tp_diag_add(d, TP_DIAG_WARNING, lb,
				    "prefix %s is listed twice in zone '%s' (first at %u:%u)", buf,
				    s->zones[b->zone].name, la.line, la.col);
		else
			tp_diag_add(d, TP_DIAG_ERROR, lb,
				    "prefix %s is in two zones: '%s' (at %u:%u) and '%s'", buf,
				    s->zones[a->zone].name, la.line, la.col,
				    s->zones[b->zone].name);
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

/* Report every item whose key repeats an earlier item's. kind: 0 TP name,
 * 1 zone name, 2 zone id, 3 conduit id. */
static void check_duplicates(const struct tp_site *s, int kind, struct tp_diags *d)
{
	size_t n = kind == 0 ? s->n_tps : kind == 3 ? s->n_rules : s->n_zones;
	struct dup_key *v = calloc(n ? n : 1, sizeof(*v));

	if (!v) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].idx = i;
		if (kind == 0)
			v[i].name = s->tps[i].name;
		else if (kind == 1)
			v[i].name = s->zones[i].name;
		else
			v[i].id = kind == 2 ? s->zones[i].id : s->rules[i].id;
	}
	qsort(v, n, sizeof(*v), cmp_dup_key);
	for (size_t i = 1; i < n; i++) {
		size_t a = v[i - 1].idx, b = v[i].idx;

		if (cmp_dup_key(&(struct dup_key){v[i - 1].name, v[i - 1].id, 0},
				&(struct dup_key){v[i].name, v[i].id, 0}) != 0)
			continue;
		switch (kind) {
		case 0:
			tp_diag_add(d, TP_DIAG_ERROR, s->tps[b].loc,
				    "transition point '%s' defined twice", s->tps[b].name);
			break;
		case 1:
			tp_diag_add(d, TP_DIAG_ERROR, s->zones[b].loc, "zone '%s' defined twice",
				    s->zones[b].name);
			break;
		case 2:
			tp_diag_add(d, TP_DIAG_ERROR, s->zones[b].loc,
				    "zone id %u of '%s' is already used by zone '%s'",
				    s->zones[b].id, s->zones[b].name, s->zones[a].name);
			break;
		default:
			tp_diag_add(d, TP_DIAG_ERROR, s->rules[b].loc,
				    "duplicate conduit id %u (first at %u:%u)", s->rules[b].id,
				    s->rules[a].loc.line, s->rules[a].loc.col);
			break;
		}
	}
	free(v);
}

/* Returns false when an index is out of range: then nothing else may look
 * at the site. */
static bool check_structure(const struct tp_site *s, int64_t now, struct tp_diags *d)
{
	bool sane = true, *hosts = calloc(s->n_tps ? s->n_tps : 1, sizeof(bool));

	if (!hosts) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
		return false;
	}
	for (size_t z = 0; z < s->n_zones; z++) {
		const struct tp_zone *zn = &s->zones[z];

		if (zn->tp >= s->n_tps) {
			tp_diag_add(d, TP_DIAG_ERROR, zn->loc, "zone '%s' has no transition point",
				    zn->name);
			sane = false;
		} else {
			hosts[zn->tp] = true;
		}
		if (!zn->n_prefixes)
			tp_diag_add(d, TP_DIAG_ERROR, zn->loc, "zone '%s' has no prefixes",
				    zn->name);
		if (!zn->name[0])
			tp_diag_add(d, TP_DIAG_ERROR, zn->loc, "zone without a name");
	}
	for (size_t t = 0; t < s->n_tps; t++)
		if (!hosts[t])
			tp_diag_add(d, TP_DIAG_WARNING, s->tps[t].loc,
				    "transition point '%s' hosts no zone", s->tps[t].name);
	free(hosts);
	for (int kind = 0; kind < 4; kind++)
		check_duplicates(s, kind, d);
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];
		char lbl[TP_NAME_MAX + 32], t[32];

		rule_label(r, lbl, sizeof(lbl));
		if (r->id == TP_RULE_ID_NONE)
			tp_diag_add(d, TP_DIAG_ERROR, r->loc, "conduit id 0 is reserved");
		if (r->from_zone >= s->n_zones || r->to_zone >= s->n_zones) {
			tp_diag_add(d, TP_DIAG_ERROR, r->loc, "%s names an unknown zone", lbl);
			sane = false;
			continue;
		}
		if (r->action != TP_ACTION_ALLOW && r->action != TP_ACTION_DENY)
			tp_diag_add(d, TP_DIAG_ERROR, r->loc, "%s has no action", lbl);
		for (size_t k = 0; k < r->n_dst_ports; k++)
			if (r->dst_ports[k].lo > r->dst_ports[k].hi)
				tp_diag_add(d, TP_DIAG_ERROR, r->loc,
					    "%s: inverted port range %u-%u", lbl,
					    r->dst_ports[k].lo, r->dst_ports[k].hi);
		for (size_t k = 0; k < r->n_src_ports; k++)
			if (r->src_ports[k].lo > r->src_ports[k].hi)
				tp_diag_add(d, TP_DIAG_ERROR, r->loc,
					    "%s: inverted port range %u-%u", lbl,
					    r->src_ports[k].lo, r->src_ports[k].hi);
		for (size_t k = 0; k < r->n_icmp; k++)
			if (r->icmp[k].code < -1 || r->icmp[k].code > 255)
				tp_diag_add(d, TP_DIAG_ERROR, r->loc, "%s: bad ICMP code %d", lbl,
					    r->icmp[k].code);
		if ((has_ports(r) && r->proto && !tp_proto_has_ports(r->proto)) ||
		    (r->n_icmp && r->proto && !tp_proto_is_icmp(r->proto)))
			tp_diag_add(d, TP_DIAG_ERROR, r->loc,
				    "%s: port or ICMP lists do not fit its protocol", lbl);
		if (r->not_before && r->not_after && r->not_after <= r->not_before)
			tp_diag_add(d, TP_DIAG_ERROR, r->loc,
				    "%s: not_after is not later than not_before: it never exists",
				    lbl);
		else if (r->not_after && r->not_after <= now)
			tp_diag_add(d, TP_DIAG_WARNING, r->loc,
				    "%s expired at %s: it no longer applies", lbl,
				    tp_time_format(r->not_after, t, sizeof(t)));
		if (r->from_zone == r->to_zone)
			tp_diag_add(d, TP_DIAG_WARNING, r->loc,
				    "%s goes from zone '%s' to itself: traffic inside a zone is "
				    "not policed, so it never applies",
				    lbl, s->zones[r->from_zone].name);
	}
	return sane;
}

static const struct tp_rule *rule_by_id(const struct tp_site *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].id == id)
			return &s->rules[i];
	return NULL;
}

bool tp_lint_assertions(const struct tp_site *s, int64_t now, struct tp_diags *d)
{
	size_t before = d->n_errors;

	for (size_t i = 0; i < s->n_assertions; i++) {
		const struct tp_assertion *a = &s->assertions[i];
		struct tp_decision dec;
		char flow[160], what[TP_NAME_MAX + 32], lbl[TP_NAME_MAX + 32], why[256];
		const struct tp_rule *r;
		bool allowed;

		tp_ref_evaluate(s, &a->flow, a->at ? a->at : now, &dec);
		allowed = dec.verdict == TP_VERDICT_ALLOW;
		if (allowed == a->must_allow)
			continue;
		tp_flowspec_format(&a->flow, flow, sizeof(flow));
		if (a->name[0])
			snprintf(what, sizeof(what), "assertion '%s'", a->name);
		else
			snprintf(what, sizeof(what), "assertion");
		r = rule_by_id(s, dec.rule_id);
		switch (dec.reason) {
		case TP_REASON_RULE_ALLOW:
		case TP_REASON_RULE_DENY:
			snprintf(why, sizeof(why), "by %s (at %u:%u)",
				 r ? rule_label(r, lbl, sizeof(lbl)) : "?", r ? r->loc.line : 0,
				 r ? r->loc.col : 0);
			break;
		case TP_REASON_DEFAULT_DENY:
			snprintf(why, sizeof(why),
				 "by default deny: no conduit from '%s' to '%s' "
				 "allows it",
				 zone_name(s, dec.from_zone), zone_name(s, dec.to_zone));
			break;
		case TP_REASON_NO_SRC_ZONE:
			snprintf(why, sizeof(why), "because its source is in no zone");
			break;
		case TP_REASON_NO_DST_ZONE:
			snprintf(why, sizeof(why), "because its destination is in no zone");
			break;
		case TP_REASON_SAME_ZONE:
			snprintf(why, sizeof(why),
				 "because it stays inside zone '%s' (not policed)",
				 zone_name(s, dec.from_zone));
			break;
		}
		tp_diag_add(d, TP_DIAG_ERROR, a->loc, "%s fails: '%s' must be %s but is %s %s",
			    what, flow, a->must_allow ? "allowed" : "denied",
			    allowed ? "allowed" : "denied", why);
	}
	return d->n_errors == before;
}

bool tp_lint_site(const struct tp_site *s, const struct tp_site_locs *locs,
		  const struct tp_lint_opts *opts, struct tp_diags *d)
{
	size_t before = d->n_errors;
	char err[256];

	/* Everything below indexes zones and TPs through the site. */
	if (!check_structure(s, opts->now, d))
		goto out;
	check_prefixes(s, locs, d);
	if (opts->structure_only)
		goto out;
	check_conduits(s, d);
	tp_lint_assertions(s, opts->now, d);
	if (d->n_errors == before && opts->compile) {
		err[0] = '\0';
		if (opts->compile(s, opts->now, err, sizeof(err)) < 0)
			tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0},
				    "the policy does not compile: %s", err);
	}
out:
	tp_diag_sort(d);
	return d->n_errors == before;
}
