// SPDX-License-Identifier: MIT
/* RFC 8519 export of the stateless part of a policy (see tp/policy/acl.h). */
#include "tp/policy/acl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/eval.h"

#define ACL_NS "ietf-access-control-list:"

static json_t *port_match(const struct tp_port_range *r)
{
	if (r->lo == r->hi)
		return json_pack("{s:s, s:i}", "operator", "eq", "port", r->lo);
	return json_pack("{s:i, s:i}", "lower-port", r->lo, "upper-port", r->hi);
}

static bool representable(const struct tp_rule *r, int64_t now)
{
	if (r->profile != TP_PROFILE_NONE || !tp_rule_valid_at(r, now))
		return false;
	if ((r->n_dst_ports || r->n_src_ports) && r->proto != 6 && r->proto != 17)
		return false;
	return true;
}

/* One ACE per (source prefix, destination prefix, dst range, src range,
 * ICMP entry); an empty list counts as one "any". */
static void rule_aces(json_t *aces, const struct tp_site *s, const struct tp_rule *r,
		      uint8_t family)
{
	const struct tp_zone *zf = &s->zones[r->from_zone], *zt = &s->zones[r->to_zone];
	size_t nd = r->n_dst_ports ? r->n_dst_ports : 1, ns = r->n_src_ports ? r->n_src_ports : 1;
	size_t ni = r->n_icmp ? r->n_icmp : 1, seq = 0;
	bool v4 = family == TP_AF_INET;

	/* ICMP belongs to one family */
	if ((r->proto == 1 && !v4) || (r->proto == 58 && v4))
		return;
	for (size_t a = 0; a < zf->n_prefixes; a++) {
		for (size_t b = 0; b < zt->n_prefixes; b++) {
			char sp[64], dp[64];

			if (zf->prefixes[a].family != family || zt->prefixes[b].family != family)
				continue;
			tp_prefix_format(&zf->prefixes[a], false, sp, sizeof(sp));
			tp_prefix_format(&zt->prefixes[b], false, dp, sizeof(dp));
			for (size_t d = 0; d < nd; d++) {
				for (size_t k = 0; k < ns; k++) {
					for (size_t i = 0; i < ni; i++) {
						json_t *l3 =
							json_pack("{s:s, s:s}",
								  v4 ? "source-ipv4-network"
								     : "source-ipv6-network",
								  sp,
								  v4 ? "destination-ipv4-network"
								     : "destination-ipv6-network",
								  dp);
						json_t *m = json_object(), *l4 = NULL;
						char name[TP_NAME_MAX + 48];

						if (r->proto)
							json_object_set_new(
								l3, v4 ? "protocol" : "next-header",
								json_integer(r->proto));
						json_object_set_new(m, v4 ? "ipv4" : "ipv6", l3);
						if (r->proto == 6 || r->proto == 17) {
							l4 = json_object();
							if (r->n_dst_ports)
								json_object_set_new(
									l4, "destination-port",
									port_match(
										&r->dst_ports[d]));
							if (r->n_src_ports)
								json_object_set_new(
									l4, "source-port",
									port_match(
										&r->src_ports[k]));
							json_object_set_new(
								m, r->proto == 6 ? "tcp" : "udp",
								l4);
						} else if (tp_proto_is_icmp(r->proto) &&
							   r->n_icmp) {
							l4 = json_pack("{s:i}", "type",
								       r->icmp[i].type);
							if (r->icmp[i].code >= 0)
								json_object_set_new(
									l4, "code",
									json_integer(
										r->icmp[i].code));
							json_object_set_new(m, "icmp", l4);
						}
						snprintf(name, sizeof(name), "conduit-%u-%zu",
							 r->id, seq++);
						json_array_append_new(
							aces, json_pack("{s:s, s:o, s:{s:s}}",
									"name", name, "matches", m,
									"actions", "forwarding",
									r->action == TP_ACTION_DENY
										? ACL_NS "drop"
										: ACL_NS "accept"));
					}
				}
			}
		}
	}
}

static int cmp_rule_ptr(const void *a, const void *b)
{
	const struct tp_rule *x = *(const struct tp_rule *const *)a;
	const struct tp_rule *y = *(const struct tp_rule *const *)b;

	if (x->action != y->action)
		return x->action == TP_ACTION_DENY ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *one_acl(const struct tp_site *s, uint32_t tp, uint8_t family,
		       const struct tp_rule **sorted, size_t n)
{
	json_t *aces = json_array();
	char name[TP_NAME_MAX + 8];

	for (size_t i = 0; i < n; i++) {
		const struct tp_rule *r = sorted[i];

		if (s->zones[r->from_zone].tp != tp && s->zones[r->to_zone].tp != tp)
			continue;
		rule_aces(aces, s, r, family);
	}
	json_array_append_new(aces, json_pack("{s:s, s:{}, s:{s:s}}", "name", "default-deny",
					      "matches", "actions", "forwarding", ACL_NS "drop"));
	snprintf(name, sizeof(name), "%s-%s", s->tps[tp].name,
		 family == TP_AF_INET ? "ipv4" : "ipv6");
	return json_pack("{s:s, s:s, s:{s:o}}", "name", name, "type",
			 family == TP_AF_INET ? ACL_NS "ipv4-acl-type" : ACL_NS "ipv6-acl-type",
			 "aces", "ace", aces);
}

json_t *tp_acl_json(const struct tp_site *s, uint32_t tp, int64_t now, size_t *skipped)
{
	const struct tp_rule **sorted = calloc(s->n_rules + 1, sizeof(const struct tp_rule *));
	json_t *acls;
	size_t n = 0;

	*skipped = 0;
	if (!sorted)
		return NULL;
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];

		if (r->from_zone >= s->n_zones || r->to_zone >= s->n_zones ||
		    r->from_zone == r->to_zone)
			continue;
		if (!representable(r, now)) {
			(*skipped)++;
			continue;
		}
		sorted[n++] = r;
	}
	qsort(sorted, n, sizeof(const struct tp_rule *), cmp_rule_ptr);
	acls = json_array();
	for (uint32_t t = 0; t < s->n_tps; t++) {
		if (tp != UINT32_MAX && t != tp)
			continue;
		json_array_append_new(acls, one_acl(s, t, TP_AF_INET, sorted, n));
		json_array_append_new(acls, one_acl(s, t, TP_AF_INET6, sorted, n));
	}
	free(sorted);
	return json_pack("{s:{s:o}}", "ietf-access-control-list:acls", "acl", acls);
}
