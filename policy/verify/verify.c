// SPDX-License-Identifier: MIT
/*
 * The verifier's driver (see tp/policy/verify.h): choose the reference site, map
 * each TP of it to its export and the site that TP really enforces, then
 * run the ten checks in order. Each check reads the context and adds
 * findings; only the encryption check (9) reads what another produced: the
 * reachability matrix of check 3.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "verify_int.h"

static const char *const check_names[] = {"none",
#define X(id, name, what) name,
					  TP_VERIFY_CHECKS(X)
#undef X
};

static const char *const check_help[] = {"",
#define X(id, name, what) what,
					 TP_VERIFY_CHECKS(X)
#undef X
};

const char *tp_verify_check_name(enum tp_verify_check c)
{
	return c < TP_VERIFY__COUNT ? check_names[c] : "?";
}

const char *tp_verify_check_help(enum tp_verify_check c)
{
	return c < TP_VERIFY__COUNT ? check_help[c] : "?";
}

void tp_verify_add(struct vctx *c, enum tp_verify_check check, bool fail, const char *tp,
		   const char *from, const char *to, const uint32_t *rules, size_t n_rules,
		   const struct tp_flow *flow, const char *fmt, ...)
{
	struct tp_verify_report *r = c->rep;
	struct tp_verify_finding *f;
	va_list ap;

	if (r->n_findings == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct tp_verify_finding *v = realloc(r->findings, cap * sizeof(*v));

		if (!v) {
			c->oom = true;
			return;
		}
		r->findings = v;
		c->cap = cap;
	}
	f = &r->findings[r->n_findings++];
	memset(f, 0, sizeof(*f));
	f->check = check;
	f->fail = fail;
	snprintf(f->tp, sizeof(f->tp), "%s", tp ? tp : "");
	snprintf(f->from, sizeof(f->from), "%s", from ? from : "");
	snprintf(f->to, sizeof(f->to), "%s", to ? to : "");
	for (size_t i = 0; i < n_rules && f->n_rules < TP_VERIFY_MAX_RULES; i++)
		if (rules[i] != TP_RULE_ID_NONE)
			f->rules[f->n_rules++] = rules[i];
	if (flow) {
		f->has_flow = true;
		f->flow = *flow;
	}
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	if (fail)
		r->failed[check] = true;
}

const char *tp_verify_zone(const struct tp_site *s, uint32_t z)
{
	return s && z < s->n_zones ? s->zones[z].name : "?";
}

void tp_verify_effective(struct vctx *c, const char *a, const char *b, const struct tp_cell *cell,
			 struct tp_decision *out, bool *known)
{
	uint32_t za = tp_site_zone_by_name(c->ref, a), zb = tp_site_zone_by_name(c->ref, b);
	uint32_t x = za < c->ref->n_zones ? c->ref->zones[za].tp : UINT32_MAX;
	uint32_t y = zb < c->ref->n_zones ? c->ref->zones[zb].tp : UINT32_MAX;
	struct tp_decision d2;

	memset(out, 0, sizeof(*out));
	out->verdict = TP_VERDICT_DENY;
	*known = x < c->ref->n_tps && y < c->ref->n_tps && c->eff[x] && c->eff[y];
	if (!*known)
		return;
	tp_space_decide(c->eff[x], a, b, cell, c->in->now, out);
	if (out->verdict != TP_VERDICT_ALLOW || x == y)
		return;
	tp_space_decide(c->eff[y], a, b, cell, c->in->now, &d2);
	if (d2.verdict != TP_VERDICT_ALLOW)
		*out = d2;
}

bool tp_verify_witness(const struct tp_site *s, const struct tp_rule *r,
		       const struct tp_rule *other, struct tp_flow *out)
{
	const struct tp_site *sites[1] = {s};
	const char *a = tp_verify_zone(s, r->from_zone), *b = tp_verify_zone(s, r->to_zone);
	struct tp_space sp;
	bool found = false;

	if (tp_space_build(sites, 1, a, b, &sp) < 0)
		return false;
	for (size_t i = 0; i < sp.n && !found; i++) {
		if (!tp_space_flow(s, a, b, &sp.cells[i], out))
			continue;
		found = tp_rule_matches(r, out) && (!other || tp_rule_matches(other, out));
	}
	tp_space_free(&sp);
	return found;
}

/* The reference: --site, else the bundle's site, else the export with the
 * highest policy version (first by name on a tie). */
static int pick_reference(struct vctx *c)
{
	const struct tp_verify_input *in = c->in;
	const struct tp_export *best = NULL;

	if (in->site) {
		c->rep->site = tp_site_clone(in->site);
		snprintf(c->rep->site_from, sizeof(c->rep->site_from), "--site");
	} else if (in->bundle_site) {
		c->rep->site = tp_site_clone(in->bundle_site);
		snprintf(c->rep->site_from, sizeof(c->rep->site_from), "bundle");
	} else {
		for (size_t i = 0; i < in->n_exports; i++) {
			const struct tp_export *x = in->exports[i];

			if (!x->site)
				continue;
			if (!best || x->policy_version > best->policy_version ||
			    (x->policy_version == best->policy_version &&
			     strcmp(x->tp_name, best->tp_name) < 0))
				best = x;
		}
		if (!best)
			return -EINVAL;
		c->rep->site = tp_site_clone(best->site);
		snprintf(c->rep->site_from, sizeof(c->rep->site_from), "export of %s",
			 best->tp_name);
	}
	if (!c->rep->site)
		return -ENOMEM;
	c->ref = c->rep->site;
	return 0;
}

int tp_verify_run(const struct tp_verify_input *in, struct tp_verify_report *out)
{
	struct vctx c = {.in = in, .rep = out};
	size_t n_tps = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->n_exports = in->n_exports;
	rc = pick_reference(&c);
	if (rc < 0)
		goto fail;
	n_tps = c.ref->n_tps;
	rc = -ENOMEM;
	c.by_tp = calloc(c.ref->n_tps + 1, sizeof(const struct tp_export *));
	c.eff = calloc(c.ref->n_tps + 1, sizeof(struct tp_site *));
	if (!c.by_tp || !c.eff)
		goto fail;
	for (size_t i = 0; i < in->n_exports; i++) {
		uint32_t t = tp_site_tp_by_name(c.ref, in->exports[i]->tp_name);

		if (t == UINT32_MAX || c.by_tp[t])
			continue; /* reported by the integrity check */
		c.by_tp[t] = in->exports[i];
		if (in->exports[i]->site) {
			c.eff[t] = tp_export_effective_site(in->exports[i]);
			if (!c.eff[t])
				goto fail;
		}
	}
	tp_verify_check_integrity(&c);
	tp_verify_check_drift(&c);
	tp_verify_check_matrix(&c);
	tp_verify_check_assertions(&c);
	tp_verify_check_rules(&c);
	tp_verify_check_stateful(&c);
	tp_verify_check_tunnels(&c);
	tp_verify_check_blackholes(&c);
	tp_verify_check_encryption(&c);
	tp_verify_check_lifecycle(&c);
	rc = c.oom ? -ENOMEM : 0;
	if (rc)
		goto fail;
	goto out;
fail:
	tp_verify_report_free(out);
out:
	for (size_t t = 0; c.eff && t < n_tps; t++)
		tp_site_free(c.eff[t]);
	free(c.eff);
	free(c.by_tp);
	return rc;
}

void tp_verify_report_free(struct tp_verify_report *r)
{
	free(r->findings);
	free(r->matrix);
	tp_site_free(r->site);
	memset(r, 0, sizeof(*r));
}

bool tp_verify_failed(const struct tp_verify_report *r)
{
	for (int i = 1; i < TP_VERIFY__COUNT; i++)
		if (r->failed[i])
			return true;
	return false;
}
