/* SPDX-License-Identifier: MIT */
/*
 * Policy decisions, and the reference evaluator.
 *
 * The reference evaluator is written to be obviously correct, not fast: it
 * walks every zone prefix and every rule of a struct tp_site for each query.
 * `tpolicy check`, lint's assertion checks, the offline verifier and the
 * differential tests of the compiled engine use it. The rules are those of
 * DESIGN.md §7; a difference between this and the compiled engine is a bug.
 *
 * It decides one packet statelessly: "would this packet, arriving with no
 * flow entry, be admitted?" (§7.3, §7.5). Whether the admitted packet creates
 * a flow is reported in decision.stateful; what replies a flow admits is the
 * flow table's business.
 *
 * Where §7 is silent, ref.c fixes the meaning (port lists only match port
 * protocols, ICMP lists only ICMP, the smallest deny id is named, stateful
 * if any matching allow is stateful, same-zone traffic allowed without a
 * rule); its opening comment lists these decisions. Rate limits are not
 * part of a decision. An application profile (Modbus/TCP) does not change
 * the verdict: decision.profile only says that the admitted packet's
 * payload is further checked by the flow table (tp/policy/flow.h).
 */
#ifndef TP_POLICY_EVAL_H
#define TP_POLICY_EVAL_H

#include "tp/policy/site.h"

enum tp_verdict {
	TP_VERDICT_DENY = 0,
	TP_VERDICT_ALLOW = 1,
};

/* Why the decision was taken. */
enum tp_reason {
	TP_REASON_NO_SRC_ZONE = 1, /* source address in no zone: drop */
	TP_REASON_NO_DST_ZONE,	   /* destination address in no zone: drop */
	TP_REASON_SAME_ZONE,	   /* inside one zone: not policed, forwarded */
	TP_REASON_RULE_ALLOW,	   /* an allow rule matched and no deny did */
	TP_REASON_RULE_DENY,	   /* a deny rule matched (deny wins) */
	TP_REASON_DEFAULT_DENY,	   /* no rule matched */
};

struct tp_decision {
	enum tp_verdict verdict;
	enum tp_reason reason;
	uint32_t rule_id;   /* deciding rule, TP_RULE_ID_NONE for the default */
	uint32_t from_zone; /* zone indices, TP_ZONE_NONE when none */
	uint32_t to_zone;
	bool stateful; /* allowed by a stateful rule: creates a flow */
	/* Allowed, and every matching allow carries an application profile:
	 * the payload must also pass one of their profiles (tp_ref_profiles(),
	 * tp_engine_profiles()) */
	bool profile;
};

/* Protocols whose packets carry ports (TCP, UDP, SCTP, UDP-Lite): port
 * ranges of a rule apply to these only. */
bool tp_proto_has_ports(uint8_t proto);

/* ICMP (1) and ICMPv6 (58): ICMP type/code lists apply to these only. */
bool tp_proto_is_icmp(uint8_t proto);

/* Does rule r exist at time now (Unix seconds, UTC)? §7.6 */
bool tp_rule_valid_at(const struct tp_rule *r, int64_t now);

/* Does rule r match this flow, ignoring zones and validity? (protocol, port
 * ranges, ICMP type/code; §7.3) */
bool tp_rule_matches(const struct tp_rule *r, const struct tp_flow *f);

/* Decide one packet at time now. Never fails. */
void tp_ref_evaluate(const struct tp_site *site, const struct tp_flow *f, int64_t now,
		     struct tp_decision *out);

/* Ids of the allow rules with an application profile that match f at
 * time now (zones as tp_ref_evaluate() finds them; none inside one zone),
 * ascending. Writes the smallest min(n, max) of them and returns n. A
 * request on a flow whose decision has profile set passes if any of
 * their profiles admits it (§7.3). */
size_t tp_ref_profiles(const struct tp_site *site, const struct tp_flow *f, int64_t now,
		       uint32_t *ids, size_t max);

/* "allow"/"deny", and a short name for a reason ("default", "rule", ...). */
const char *tp_verdict_name(enum tp_verdict v);
const char *tp_reason_name(enum tp_reason r);

#endif /* TP_POLICY_EVAL_H */
