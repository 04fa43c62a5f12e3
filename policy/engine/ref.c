// SPDX-License-Identifier: MIT
/*
 * The reference evaluator (tp/policy/eval.h): DESIGN.md §7 written out as plainly
 * as possible. Every query walks every zone prefix and every rule; nothing
 * is precomputed, so there is nothing to get out of sync. The compiled
 * engine (engine.c) is tested against this file, not the other way round.
 *
 * Decisions this file fixes where §7 is silent (the engine follows them):
 *  - Port ranges exist only for the port protocols TCP, UDP, SCTP and
 *    UDP-Lite. A rule with a non-empty port list matches no other protocol,
 *    whatever its own protocol field says.
 *  - An ICMP type/code list matches only ICMP (1) and ICMPv6 (58) packets; a
 *    rule with a non-empty list matches no other protocol. The list is
 *    compared with the packet's type and code as they are: a rule meant for
 *    both families lists both numbers (8 and 128 for echo request).
 *  - Of several matching deny rules the one with the smallest id is named.
 *  - decision.stateful is true when any matching allow rule is stateful:
 *    each such rule, on its own, would create the flow (§7.4). The named
 *    rule is still the allow with the smallest id.
 *  - Traffic inside one zone is allowed with reason "same-zone", no rule and
 *    no flow.
 *  - decision.profile is true when the packet is allowed and every
 *    matching allow rule carries an application profile; its payload is
 *    then checked against the profiles of all of them (tp_ref_profiles()),
 *    and a request passes if any one of them admits it whole (§7.3: the
 *    union, so order never matters). One matching allow without a profile
 *    admits the payload unchecked, as any allow admits the packet: a
 *    profile only narrows the conduit of its own rule.
 */
#include "tp/policy/eval.h"

bool tp_proto_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

bool tp_proto_is_icmp(uint8_t proto)
{
	return proto == 1 || proto == 58;
}

bool tp_rule_valid_at(const struct tp_rule *r, int64_t now)
{
	if (r->not_before != 0 && now < r->not_before)
		return false;
	if (r->not_after != 0 && now >= r->not_after)
		return false;
	return true;
}

static bool port_in(const struct tp_port_range *ranges, size_t n, uint16_t port)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (ranges[i].lo <= port && port <= ranges[i].hi)
			return true;
	return false;
}

static bool icmp_in(const struct tp_icmp_match *m, size_t n, uint8_t type, uint8_t code)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (m[i].type == type && (m[i].code < 0 || m[i].code == code))
			return true;
	return false;
}

bool tp_rule_matches(const struct tp_rule *r, const struct tp_flow *f)
{
	bool ported = tp_proto_has_ports(f->proto);
	bool icmp = tp_proto_is_icmp(f->proto);

	if (r->proto != 0 && r->proto != f->proto)
		return false;
	if ((r->n_dst_ports || r->n_src_ports) && !ported)
		return false;
	if (r->n_icmp && !icmp)
		return false;
	if (ported && !(port_in(r->dst_ports, r->n_dst_ports, f->dport) &&
			port_in(r->src_ports, r->n_src_ports, f->sport)))
		return false;
	if (icmp && !icmp_in(r->icmp, r->n_icmp, f->icmp_type, f->icmp_code))
		return false;
	return true;
}

void tp_ref_evaluate(const struct tp_site *site, const struct tp_flow *f, int64_t now,
		     struct tp_decision *out)
{
	uint32_t deny = TP_RULE_ID_NONE, allow = TP_RULE_ID_NONE;
	bool stateful = false, open = false;

	out->from_zone = tp_site_zone_of(site, &f->src);
	out->to_zone = tp_site_zone_of(site, &f->dst);
	out->rule_id = TP_RULE_ID_NONE;
	out->stateful = false;
	out->profile = false;
	out->verdict = TP_VERDICT_DENY;

	if (out->from_zone == TP_ZONE_NONE) {
		out->reason = TP_REASON_NO_SRC_ZONE;
		return;
	}
	if (out->to_zone == TP_ZONE_NONE) {
		out->reason = TP_REASON_NO_DST_ZONE;
		return;
	}
	if (out->from_zone == out->to_zone) {
		out->verdict = TP_VERDICT_ALLOW;
		out->reason = TP_REASON_SAME_ZONE;
		return;
	}

	for (size_t i = 0; i < site->n_rules; i++) {
		const struct tp_rule *r = &site->rules[i];

		if (r->from_zone != out->from_zone || r->to_zone != out->to_zone)
			continue;
		if (!tp_rule_valid_at(r, now) || !tp_rule_matches(r, f))
			continue;
		if (r->action == TP_ACTION_DENY) {
			if (deny == TP_RULE_ID_NONE || r->id < deny)
				deny = r->id;
		} else {
			if (allow == TP_RULE_ID_NONE || r->id < allow)
				allow = r->id;
			stateful = stateful || r->stateful;
			open = open || r->profile == TP_PROFILE_NONE;
		}
	}

	if (deny != TP_RULE_ID_NONE) {
		out->reason = TP_REASON_RULE_DENY;
		out->rule_id = deny;
	} else if (allow != TP_RULE_ID_NONE) {
		out->verdict = TP_VERDICT_ALLOW;
		out->reason = TP_REASON_RULE_ALLOW;
		out->rule_id = allow;
		out->stateful = stateful;
		out->profile = !open;
	} else {
		out->reason = TP_REASON_DEFAULT_DENY;
	}
}

size_t tp_ref_profiles(const struct tp_site *site, const struct tp_flow *f, int64_t now,
		       uint32_t *ids, size_t max)
{
	uint32_t from = tp_site_zone_of(site, &f->src), to = tp_site_zone_of(site, &f->dst);
	size_t n = 0;

	if (from == TP_ZONE_NONE || to == TP_ZONE_NONE || from == to)
		return 0;
	for (size_t i = 0; i < site->n_rules; i++) {
		const struct tp_rule *r = &site->rules[i];
		size_t k;

		if (r->from_zone != from || r->to_zone != to || r->action != TP_ACTION_ALLOW ||
		    r->profile == TP_PROFILE_NONE || !tp_rule_valid_at(r, now) ||
		    !tp_rule_matches(r, f))
			continue;
		/* insertion sort by id: the list is short */
		for (k = n < max ? n : max; k > 0 && ids[k - 1] > r->id; k--)
			if (k < max)
				ids[k] = ids[k - 1];
		if (k < max)
			ids[k] = r->id;
		n++;
	}
	return n;
}

const char *tp_verdict_name(enum tp_verdict v)
{
	return v == TP_VERDICT_ALLOW ? "allow" : "deny";
}

const char *tp_reason_name(enum tp_reason r)
{
	switch (r) {
	case TP_REASON_NO_SRC_ZONE:
		return "no-src-zone";
	case TP_REASON_NO_DST_ZONE:
		return "no-dst-zone";
	case TP_REASON_SAME_ZONE:
		return "same-zone";
	case TP_REASON_RULE_ALLOW:
		return "rule";
	case TP_REASON_RULE_DENY:
		return "deny-rule";
	case TP_REASON_DEFAULT_DENY:
		return "default";
	}
	return "?";
}
