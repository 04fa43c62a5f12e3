// SPDX-License-Identifier: MIT
/*
 * The human message of a lint finding (see tp/policy/lint.h), rendered from its
 * fields only. Kept alone in this file so that a test can link its own
 * rendering in place of this one.
 */
#include <stdio.h>

#include "tp/policy/eval.h"
#include "tp/policy/flowspec.h"
#include "tp/policy/lint.h"
#include "tp/policy/timefmt.h"

static const char *action_name(enum tp_action a)
{
	return a == TP_ACTION_DENY ? "deny" : "allow";
}

/* "conduit 12 'name'" */
static const char *rule_label(const struct tp_site *s, uint32_t i, char *buf, size_t len)
{
	const struct tp_rule *r;

	if (i >= s->n_rules)
		return "?";
	r = &s->rules[i];
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

static const char *tp_name(const struct tp_site *s, uint32_t t)
{
	return t < s->n_tps ? s->tps[t].name : "?";
}

static void assertion(const struct tp_site *s, const struct tp_lint_finding *f, char *buf,
		      size_t len)
{
	const struct tp_assertion *a;
	char flow[160], what[TP_NAME_MAX + 32], lbl[TP_NAME_MAX + 32], why[256] = "";
	bool allowed = f->value[0] != 0;

	if (f->index >= s->n_assertions) {
		snprintf(buf, len, "assertion fails");
		return;
	}
	a = &s->assertions[f->index];
	tp_flowspec_format(&a->flow, flow, sizeof(flow));
	if (a->name[0])
		snprintf(what, sizeof(what), "assertion '%s'", a->name);
	else
		snprintf(what, sizeof(what), "assertion");
	switch ((enum tp_reason)f->value[1]) {
	case TP_REASON_RULE_ALLOW:
	case TP_REASON_RULE_DENY:
		snprintf(why, sizeof(why), "by %s (at %u:%u)",
			 rule_label(s, f->index2, lbl, sizeof(lbl)), f->other.line, f->other.col);
		break;
	case TP_REASON_DEFAULT_DENY:
		snprintf(why, sizeof(why),
			 "by default deny: no conduit from '%s' to '%s' "
			 "allows it",
			 zone_name(s, f->zones[0]), zone_name(s, f->zones[1]));
		break;
	case TP_REASON_NO_SRC_ZONE:
		snprintf(why, sizeof(why), "because its source is in no zone");
		break;
	case TP_REASON_NO_DST_ZONE:
		snprintf(why, sizeof(why), "because its destination is in no zone");
		break;
	case TP_REASON_SAME_ZONE:
		snprintf(why, sizeof(why), "because it stays inside zone '%s' (not policed)",
			 zone_name(s, f->zones[0]));
		break;
	}
	snprintf(buf, len, "%s fails: '%s' must be %s but is %s %s", what, flow,
		 a->must_allow ? "allowed" : "denied", allowed ? "allowed" : "denied", why);
}

const char *tp_lint_format(const struct tp_site *s, const struct tp_lint_finding *f, char *buf,
			   size_t len)
{
	char la[TP_NAME_MAX + 32], lb[TP_NAME_MAX + 32], t[64];
	const struct tp_rule *other = f->index2 < s->n_rules ? &s->rules[f->index2] : NULL;
	const struct tp_zone *z = f->index < s->n_zones ? &s->zones[f->index] : NULL;
	const struct tp_zone *z2 = f->index2 < s->n_zones ? &s->zones[f->index2] : NULL;

	rule_label(s, f->index, la, sizeof(la));
	switch (f->kind) {
	case TP_LINT_ZONE_NO_TP:
		snprintf(buf, len, "zone '%s' has no transition point", z ? z->name : "?");
		break;
	case TP_LINT_ZONE_NO_PREFIX:
		snprintf(buf, len, "zone '%s' has no prefixes", z ? z->name : "?");
		break;
	case TP_LINT_ZONE_NO_NAME:
		snprintf(buf, len, "zone without a name");
		break;
	case TP_LINT_TP_HOSTS_NOTHING:
		snprintf(buf, len, "transition point '%s' hosts no zone", tp_name(s, f->index));
		break;
	case TP_LINT_DUP_TP:
		snprintf(buf, len, "transition point '%s' defined twice", tp_name(s, f->index));
		break;
	case TP_LINT_DUP_ZONE_NAME:
		snprintf(buf, len, "zone '%s' defined twice", z ? z->name : "?");
		break;
	case TP_LINT_DUP_ZONE_ID:
		snprintf(buf, len, "zone id %u of '%s' is already used by zone '%s'", z ? z->id : 0,
			 z ? z->name : "?", z2 ? z2->name : "?");
		break;
	case TP_LINT_DUP_CONDUIT_ID:
		snprintf(buf, len, "duplicate conduit id %u (first at %u:%u)", f->rules[0],
			 f->other.line, f->other.col);
		break;
	case TP_LINT_RESERVED_ID:
		snprintf(buf, len, "conduit id 0 is reserved");
		break;
	case TP_LINT_UNKNOWN_ZONE:
		snprintf(buf, len, "%s names an unknown zone", la);
		break;
	case TP_LINT_NO_ACTION:
		snprintf(buf, len, "%s has no action", la);
		break;
	case TP_LINT_INVERTED_RANGE:
		snprintf(buf, len, "%s: inverted port range %u-%u", la, (unsigned)f->value[0],
			 (unsigned)f->value[1]);
		break;
	case TP_LINT_BAD_ICMP_CODE:
		snprintf(buf, len, "%s: bad ICMP code %d", la, (int)f->value[0]);
		break;
	case TP_LINT_LIST_MISFIT:
		snprintf(buf, len, "%s: port or ICMP lists do not fit its protocol", la);
		break;
	case TP_LINT_NEVER_VALID:
		snprintf(buf, len, "%s: not_after is not later than not_before: it never exists",
			 la);
		break;
	case TP_LINT_EXPIRED:
		snprintf(buf, len, "%s expired at %s: it no longer applies", la,
			 tp_time_format(f->value[0], t, 32));
		break;
	case TP_LINT_SAME_ZONE:
		snprintf(buf, len,
			 "%s goes from zone '%s' to itself: traffic inside a zone is "
			 "not policed, so it never applies",
			 la, zone_name(s, f->zones[0]));
		break;
	case TP_LINT_PREFIX_TWICE:
	case TP_LINT_PREFIX_TWO_ZONES:
		tp_prefix_format(&f->prefix, false, t, sizeof(t));
		if (f->kind == TP_LINT_PREFIX_TWICE)
			snprintf(buf, len,
				 "prefix %s is listed twice in zone '%s' (first at %u:%u)", t,
				 zone_name(s, f->index), f->other.line, f->other.col);
		else
			snprintf(buf, len, "prefix %s is in two zones: '%s' (at %u:%u) and '%s'", t,
				 zone_name(s, f->index2), f->other.line, f->other.col,
				 zone_name(s, f->index));
		break;
	case TP_LINT_PAIRWISE_SKIPPED:
		snprintf(buf, len,
			 "%lld conduits from '%s' to '%s': overlap analysis skipped "
			 "(more than %d)",
			 (long long)f->value[0], zone_name(s, f->zones[0]),
			 zone_name(s, f->zones[1]), TP_LINT_PAIRWISE_MAX);
		break;
	case TP_LINT_SHADOWED:
		snprintf(buf, len,
			 "%s is shadowed by deny %s (at %u:%u): every packet it "
			 "allows is denied (deny wins), so it never applies",
			 la, rule_label(s, f->index2, lb, sizeof(lb)), f->other.line, f->other.col);
		break;
	case TP_LINT_CONFLICT:
		snprintf(buf, len,
			 "allow %s and deny %s (at %u:%u) both match some traffic "
			 "from '%s' to '%s': deny wins for that traffic",
			 la, rule_label(s, f->index2, lb, sizeof(lb)), f->other.line, f->other.col,
			 zone_name(s, f->zones[0]), zone_name(s, f->zones[1]));
		break;
	case TP_LINT_REDUNDANT:
		snprintf(buf, len,
			 "%s is redundant: %s (at %u:%u) already %ss all its traffic "
			 "and decides it",
			 la, rule_label(s, f->index2, lb, sizeof(lb)), f->other.line, f->other.col,
			 other ? action_name(other->action) : "?");
		break;
	case TP_LINT_PROFILE_BYPASSED:
		snprintf(buf, len,
			 "the modbus profile of %s is never enforced: %s (at %u:%u) allows all "
			 "its traffic without a profile",
			 la, rule_label(s, f->index2, lb, sizeof(lb)), f->other.line, f->other.col);
		break;
	case TP_LINT_PROFILE_PARTIAL:
		snprintf(buf, len,
			 "%s (at %u:%u) allows some traffic of %s without a profile: its modbus "
			 "profile does not apply to that traffic",
			 rule_label(s, f->index2, lb, sizeof(lb)), f->other.line, f->other.col, la);
		break;
	case TP_LINT_PROFILES_OVERLAP:
		snprintf(buf, len,
			 "%s and %s (at %u:%u) both carry a modbus profile and match some "
			 "of the same traffic: a request there passes if either profile "
			 "admits it",
			 la, rule_label(s, f->index2, lb, sizeof(lb)), f->other.line, f->other.col);
		break;
	case TP_LINT_ASSERTION_FAILED:
		assertion(s, f, buf, len);
		break;
	case TP_LINT_COMPILE_FAILED:
		snprintf(buf, len, "the policy does not compile: %s", f->detail);
		break;
	default:
		snprintf(buf, len, "%s", tp_lint_kind_name(f->kind));
		break;
	}
	return buf;
}
