// SPDX-License-Identifier: MIT
/*
 * Checks on what the policy lets through: (3) the reachability matrix, (4)
 * assertions, (5) conduit analysis, (6) stateful semantics, (8) black
 * holes. All decisions come from the reference evaluator, over the exact
 * service cells of tp/policy/space.h.
 */
#include <stdlib.h>
#include <string.h>

#include "tp/policy/diag.h"
#include "tp/policy/flowspec.h"
#include "tp/policy/lint.h"
#include "verify_int.h"

static const struct tp_rule *rule_by_id(const struct tp_site *s, uint32_t id)
{
	for (size_t i = 0; s && i < s->n_rules; i++)
		if (s->rules[i].id == id)
			return &s->rules[i];
	return NULL;
}

static const char *tp_of_zone(const struct tp_site *s, const char *zone)
{
	uint32_t z = tp_site_zone_by_name(s, zone);

	return z < s->n_zones && s->zones[z].tp < s->n_tps ? s->tps[s->zones[z].tp].name : NULL;
}

static void push_cell(struct vctx *c, size_t *cap, const struct tp_verify_cell *m)
{
	struct tp_verify_report *r = c->rep;

	if (r->n_matrix == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		struct tp_verify_cell *v = realloc(r->matrix, nc * sizeof(*v));

		if (!v) {
			c->oom = true;
			return;
		}
		r->matrix = v;
		*cap = nc;
	}
	r->matrix[r->n_matrix++] = *m;
}

static const char *verdict(bool allowed)
{
	return allowed ? "allows" : "denies";
}

/* Sites of a pair: the reference plus the effective sites of both ends. */
static size_t pair_sites(struct vctx *c, uint32_t a, uint32_t b, const struct tp_site **v)
{
	const struct tp_site *s = c->ref;
	size_t n = 0;

	v[n++] = s;
	if (c->eff[s->zones[a].tp])
		v[n++] = c->eff[s->zones[a].tp];
	if (c->eff[s->zones[b].tp] && s->zones[b].tp != s->zones[a].tp)
		v[n++] = c->eff[s->zones[b].tp];
	return n;
}

void tp_verify_check_matrix(struct vctx *c)
{
	const struct tp_site *s = c->ref;
	size_t cap = 0;

	for (uint32_t a = 0; a < s->n_zones; a++) {
		for (uint32_t b = 0; b < s->n_zones; b++) {
			const char *za = s->zones[a].name, *zb = s->zones[b].name;
			const struct tp_site *sites[3];
			struct tp_space sp;
			size_t i = 0;

			if (a == b)
				continue;
			if (tp_space_build(sites, pair_sites(c, a, b, sites), za, zb, &sp) < 0) {
				c->oom = true;
				return;
			}
			while (i < sp.n) {
				struct tp_decision di, de, xi, xe;
				struct tp_cell m = sp.cells[i];
				struct tp_verify_cell cell = {0};
				bool known, xk;
				size_t j = i + 1;

				tp_space_decide(s, za, zb, &sp.cells[i], c->in->now, &di);
				tp_verify_effective(c, za, zb, &sp.cells[i], &de, &known);
				while (j < sp.n && tp_space_cell_adjacent(&m, &sp.cells[j])) {
					tp_space_decide(s, za, zb, &sp.cells[j], c->in->now, &xi);
					tp_verify_effective(c, za, zb, &sp.cells[j], &xe, &xk);
					if (xi.verdict != di.verdict || xe.verdict != de.verdict ||
					    xi.rule_id != di.rule_id)
						break;
					m.dhi = sp.cells[j].dhi;
					j++;
				}
				cell.intent = di.verdict == TP_VERDICT_ALLOW;
				cell.effective = known && de.verdict == TP_VERDICT_ALLOW;
				if (cell.intent || cell.effective) {
					snprintf(cell.from, sizeof(cell.from), "%s", za);
					snprintf(cell.to, sizeof(cell.to), "%s", zb);
					tp_space_cell_format(&m, cell.service,
							     sizeof(cell.service));
					cell.rule = cell.intent ? di.rule_id : de.rule_id;
					push_cell(c, &cap, &cell);
				}
				if (known && di.verdict != de.verdict) {
					uint32_t ids[2] = {di.rule_id, de.rule_id};
					struct tp_flow f;
					char svc[96];
					bool hf = tp_space_flow(s, za, zb, &sp.cells[i], &f);

					tp_verify_add(
						c, TP_VERIFY_MATRIX, true, tp_of_zone(s, za), za,
						zb, ids, 2, hf ? &f : NULL,
						"%s -> %s %s: the intent %s it, the TPs' effective "
						"state %s it",
						za, zb, tp_space_cell_format(&m, svc, sizeof(svc)),
						verdict(cell.intent), verdict(!cell.intent));
				}
				i = j;
			}
			tp_space_free(&sp);
		}
	}
}

void tp_verify_check_assertions(struct vctx *c)
{
	const struct tp_site *s = c->ref;

	for (size_t i = 0; i < s->n_assertions; i++) {
		const struct tp_assertion *as = &s->assertions[i];
		int64_t at = as->at ? as->at : c->in->now;
		struct tp_decision d, e;
		char fl[200];
		const char *za, *zb;

		tp_ref_evaluate(s, &as->flow, at, &d);
		za = tp_verify_zone(s, d.from_zone);
		zb = tp_verify_zone(s, d.to_zone);
		tp_flowspec_format(&as->flow, fl, sizeof(fl));
		if ((d.verdict == TP_VERDICT_ALLOW) != as->must_allow) {
			tp_verify_add(
				c, TP_VERIFY_ASSERTIONS, true, NULL, za, zb, &d.rule_id, 1,
				&as->flow,
				"assertion '%s' fails: '%s' must be %s, the policy %s it (%s%s)",
				as->name, fl, as->must_allow ? "allowed" : "denied",
				verdict(d.verdict == TP_VERDICT_ALLOW), tp_reason_name(d.reason),
				d.rule_id ? " conduit" : "");
			continue;
		}
		if (d.from_zone >= s->n_zones || d.to_zone >= s->n_zones)
			continue;
		/* the same flow through the TPs that really carry it: the sender's
		 * decision, then the receiver's */
		{
			uint32_t x = s->zones[d.from_zone].tp, y = s->zones[d.to_zone].tp;
			uint32_t by = x;
			bool allowed;

			if (!c->eff[x] || !c->eff[y])
				continue;
			tp_ref_evaluate(c->eff[x], &as->flow, at, &e);
			allowed = e.verdict == TP_VERDICT_ALLOW;
			if (allowed && x != y) {
				tp_ref_evaluate(c->eff[y], &as->flow, at, &e);
				allowed = e.verdict == TP_VERDICT_ALLOW;
				by = y;
			}
			if (allowed != as->must_allow)
				tp_verify_add(
					c, TP_VERIFY_ASSERTIONS, true, s->tps[by].name, za, zb,
					&e.rule_id, 1, &as->flow,
					"assertion '%s' fails on the TPs: '%s' must be %s, the "
					"effective state %s it",
					as->name, fl, as->must_allow ? "allowed" : "denied",
					verdict(allowed));
		}
	}
}

/* Lint's verdict on a finding for check 5: the conduit-analysis kinds
 * (with the name they carry in the report) fail; other errors fail
 * unnamed; assertions and expiry are checks 4 and 10. Decided on the
 * kind, never on the message. */
static bool lint_kind_for_rules(enum tp_lint_kind k, const char **name)
{
	*name = NULL;
	switch (k) {
	case TP_LINT_ASSERTION_FAILED:
	case TP_LINT_EXPIRED:
		return false;
	case TP_LINT_SHADOWED:
		*name = "shadowed";
		break;
	case TP_LINT_REDUNDANT:
		*name = "redundant";
		break;
	case TP_LINT_CONFLICT:
		*name = "conflicting";
		break;
	default:
		break;
	}
	return true;
}

static void lint_findings(struct vctx *c)
{
	struct tp_lint_opts o = {.now = c->in->now};
	struct tp_lint_result res;
	char msg[TP_DIAG_MSG_MAX];

	tp_lint_result_init(&res);
	tp_lint_run(c->ref, NULL, &o, &res);
	for (size_t i = 0; i < res.n; i++) {
		const struct tp_lint_finding *g = &res.v[i];
		const struct tp_rule *r1, *r2;
		const char *kind;
		struct tp_flow f;
		bool hf = false;

		if (!lint_kind_for_rules(g->kind, &kind))
			continue;
		r1 = g->n_rules > 0 ? rule_by_id(c->ref, g->rules[0]) : NULL;
		r2 = g->n_rules > 1 ? rule_by_id(c->ref, g->rules[1]) : NULL;
		if (r1)
			hf = tp_verify_witness(c->ref, r1, r2, &f);
		tp_verify_add(c, TP_VERIFY_RULES, kind || g->severity == TP_DIAG_ERROR, NULL,
			      r1 ? tp_verify_zone(c->ref, r1->from_zone) : NULL,
			      r1 ? tp_verify_zone(c->ref, r1->to_zone) : NULL, g->rules, g->n_rules,
			      hf ? &f : NULL, "%s%s%s", kind ? kind : "", kind ? ": " : "",
			      tp_lint_format(c->ref, g, msg, sizeof(msg)));
	}
	if (res.oom)
		c->oom = true;
	if (res.n_errors + res.n_warnings > res.n)
		tp_verify_add(c, TP_VERIFY_RULES, true, NULL, NULL, NULL, NULL, 0, NULL,
			      "%zu more lint findings not shown",
			      res.n_errors + res.n_warnings - res.n);
	tp_lint_result_free(&res);
}

/* Over-broad: an allow that opens a whole protocol family or port space. */
static void broad_findings(struct vctx *c)
{
	const struct tp_site *s = c->ref;

	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];
		const char *why = NULL;
		char wbuf[96];
		struct tp_flow f;
		uint32_t ports = 0;
		bool hf;

		if (r->action != TP_ACTION_ALLOW || r->from_zone == r->to_zone)
			continue;
		for (size_t k = 0; k < r->n_dst_ports; k++)
			ports += (uint32_t)r->dst_ports[k].hi - r->dst_ports[k].lo + 1;
		if (!r->proto)
			why = "allows every IP protocol";
		else if (tp_proto_has_ports(r->proto) && !r->n_dst_ports)
			why = "allows every destination port";
		else if (tp_proto_has_ports(r->proto) && ports > 1024) {
			snprintf(wbuf, sizeof(wbuf), "allows %u destination ports", ports);
			why = wbuf;
		} else if (tp_proto_is_icmp(r->proto) && !r->n_icmp)
			why = "allows every ICMP type (redirects, router advertisements, ...)";
		if (!why)
			continue;
		hf = tp_verify_witness(s, r, NULL, &f);
		tp_verify_add(c, TP_VERIFY_RULES, true, NULL, tp_verify_zone(s, r->from_zone),
			      tp_verify_zone(s, r->to_zone), &r->id, 1, hf ? &f : NULL,
			      "over-broad: conduit %u '%s' %s", r->id, r->name, why);
	}
}

void tp_verify_check_rules(struct vctx *c)
{
	lint_findings(c);
	broad_findings(c);
}

/* A flow rule r matches that s allows at now. */
static bool allowed_witness(const struct tp_site *s, const struct tp_rule *r, int64_t now,
			    struct tp_flow *out)
{
	const struct tp_site *sites[1] = {s};
	const char *a = tp_verify_zone(s, r->from_zone), *b = tp_verify_zone(s, r->to_zone);
	struct tp_space sp;
	bool found = false;

	if (tp_space_build(sites, 1, a, b, &sp) < 0)
		return false;
	for (size_t i = 0; i < sp.n && !found; i++) {
		struct tp_decision d;

		if (!tp_space_flow(s, a, b, &sp.cells[i], out) || !tp_rule_matches(r, out))
			continue;
		/* a source port the initiator really uses: ephemeral */
		if (tp_proto_has_ports(out->proto) && sp.cells[i].shi >= 49152 &&
		    sp.cells[i].slo <= 49152)
			out->sport = 49152;
		tp_ref_evaluate(s, out, now, &d);
		found = d.verdict == TP_VERDICT_ALLOW;
	}
	tp_space_free(&sp);
	return found;
}

/* The responder's packet of flow f as a new packet; false when f has no
 * reply a responder would send (ICMP other than echo). */
static bool reply_of(const struct tp_flow *f, struct tp_flow *r)
{
	*r = *f;
	r->src = f->dst;
	r->dst = f->src;
	r->sport = f->dport;
	r->dport = f->sport;
	if (tp_proto_is_icmp(f->proto)) {
		if (f->icmp_type == 8)
			r->icmp_type = 0;
		else if (f->icmp_type == 128)
			r->icmp_type = 129;
		else
			return false;
	}
	return true;
}

void tp_verify_check_stateful(struct vctx *c)
{
	const struct tp_site *s = c->ref;
	int64_t now = c->in->now;

	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i], *d;
		const char *a = tp_verify_zone(s, r->from_zone), *b = tp_verify_zone(s, r->to_zone);
		struct tp_flow f, rep;
		struct tp_decision dr;
		char fl[200];
		uint32_t ids[2];

		if (r->action != TP_ACTION_ALLOW || r->from_zone == r->to_zone ||
		    !tp_rule_valid_at(r, now) || !allowed_witness(s, r, now, &f) ||
		    !reply_of(&f, &rep))
			continue;
		tp_ref_evaluate(s, &rep, now, &dr);
		tp_flowspec_format(&rep, fl, sizeof(fl));
		ids[0] = r->id;
		ids[1] = dr.rule_id;
		if (dr.verdict == TP_VERDICT_ALLOW) {
			d = rule_by_id(s, dr.rule_id);
			if (d && !d->stateful)
				tp_verify_add(c, TP_VERIFY_STATEFUL, true, NULL, b, a, ids, 2, &rep,
					      "responder '%s' can send '%s' without a connection: "
					      "stateless "
					      "conduit %u '%s' admits it",
					      b, fl, d->id, d->name);
			else if (d && d->n_src_ports && !d->n_dst_ports)
				tp_verify_add(
					c, TP_VERIFY_STATEFUL, true, NULL, b, a, ids, 2, &rep,
					"responder '%s' can open '%s': conduit %u '%s' matches "
					"replies "
					"by source port",
					b, fl, d->id, d->name);
			else
				tp_verify_add(c, TP_VERIFY_STATEFUL, false, NULL, b, a, ids, 2,
					      &rep,
					      "'%s' may also be opened by the responder: conduit "
					      "%u allows "
					      "it "
					      "in its own direction",
					      fl, dr.rule_id);
		} else {
			struct tp_decision de;
			uint32_t x = s->zones[r->to_zone].tp, y = s->zones[r->from_zone].tp;

			if (!r->stateful)
				tp_verify_add(
					c, TP_VERIFY_STATEFUL, false, NULL, a, b, &r->id, 1, &f,
					"conduit %u '%s' is stateless: replies are not admitted",
					r->id, r->name);
			/* the responder's TP and the initiator's TP, as they are */
			if (!c->eff[x] || !c->eff[y])
				continue;
			tp_ref_evaluate(c->eff[x], &rep, now, &de);
			if (de.verdict == TP_VERDICT_ALLOW && x != y)
				tp_ref_evaluate(c->eff[y], &rep, now, &de);
			if (de.verdict == TP_VERDICT_ALLOW) {
				ids[1] = de.rule_id;
				tp_verify_add(
					c, TP_VERIFY_STATEFUL, true, s->tps[x].name, b, a, ids, 2,
					&rep,
					"responder '%s' can open '%s' through the TPs' effective "
					"state "
					"(conduit %u), which the intent denies",
					b, fl, de.rule_id);
			}
		}
	}
}

static bool xdp_passes(const struct tp_export *x, const char *a, const char *b)
{
	if (!x || !x->has_xdp)
		return true;
	for (size_t i = 0; i < x->n_xdp_pairs; i++)
		if (!strcmp(tp_verify_zone(x->site, x->xdp_pairs[i].from), a) &&
		    !strcmp(tp_verify_zone(x->site, x->xdp_pairs[i].to), b))
			return true;
	return false;
}

void tp_verify_check_blackholes(struct vctx *c)
{
	const struct tp_site *s = c->ref;
	int64_t now = c->in->now;

	for (uint32_t a = 0; a < s->n_zones; a++) {
		for (uint32_t b = 0; b < s->n_zones; b++) {
			uint32_t x = s->zones[a].tp, y = s->zones[b].tp;
			const char *za = s->zones[a].name, *zb = s->zones[b].name;
			const struct tp_site *sites[2];
			bool xdp_reported = false;
			struct tp_space sp;
			size_t i = 0;

			if (a == b || x == y || !c->eff[x] || !c->eff[y])
				continue;
			sites[0] = c->eff[x];
			sites[1] = c->eff[y];
			if (tp_space_build(sites, 2, za, zb, &sp) < 0) {
				c->oom = true;
				return;
			}
			while (i < sp.n) {
				struct tp_decision dx, dy, ex, ey;
				struct tp_cell m = sp.cells[i];
				size_t j = i + 1;
				bool ax, ay;

				tp_space_decide(c->eff[x], za, zb, &sp.cells[i], now, &dx);
				tp_space_decide(c->eff[y], za, zb, &sp.cells[i], now, &dy);
				while (j < sp.n && tp_space_cell_adjacent(&m, &sp.cells[j])) {
					tp_space_decide(c->eff[x], za, zb, &sp.cells[j], now, &ex);
					tp_space_decide(c->eff[y], za, zb, &sp.cells[j], now, &ey);
					if (ex.verdict != dx.verdict || ey.verdict != dy.verdict ||
					    ex.stateful != dx.stateful ||
					    ey.stateful != dy.stateful)
						break;
					m.dhi = sp.cells[j].dhi;
					j++;
				}
				ax = dx.verdict == TP_VERDICT_ALLOW;
				ay = dy.verdict == TP_VERDICT_ALLOW;
				if (ax != ay) {
					uint32_t ids[2] = {dx.rule_id, dy.rule_id};
					struct tp_flow f;
					char svc[96];
					bool hf = tp_space_flow(s, za, zb, &sp.cells[i], &f);

					tp_space_cell_format(&m, svc, sizeof(svc));
					tp_verify_add(
						c, TP_VERIFY_BLACKHOLES, true,
						ax ? s->tps[y].name : s->tps[x].name, za, zb, ids,
						2, hf ? &f : NULL,
						ax ? "%s -> %s %s: '%s' sends it, '%s' drops it "
						     "(black hole)"
						   : "%s -> %s %s: '%s' never sends it, '%s' would "
						     "accept it",
						za, zb, svc, s->tps[x].name, s->tps[y].name);
				} else if (ax && !xdp_reported &&
					   (!xdp_passes(c->by_tp[x], za, zb) ||
					    (dy.stateful && !xdp_passes(c->by_tp[y], zb, za)))) {
					/* replies only for a flow the receiver keeps:
					 * a stateless conduit admits none (§7.4) */
					uint32_t id = dx.rule_id;
					struct tp_flow f;
					bool hf = tp_space_flow(s, za, zb, &sp.cells[i], &f);
					bool fwd = !xdp_passes(c->by_tp[x], za, zb);

					xdp_reported = true;
					tp_verify_add(
						c, TP_VERIFY_BLACKHOLES, true,
						fwd ? s->tps[x].name : s->tps[y].name, za, zb, &id,
						1, hf ? &f : NULL,
						"%s -> %s is allowed but the XDP program of '%s' "
						"drops %s",
						za, zb, fwd ? s->tps[x].name : s->tps[y].name,
						fwd ? "it" : "its replies");
				}
				i = j;
			}
			tp_space_free(&sp);
		}
	}
}
