// SPDX-License-Identifier: MIT
/* tpolicy show: verify a bundle and print it for people, or as JSON. */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <time.h>

#include "tp/policy/flowspec.h"
#include "tp/base/keys.h"
#include "tp/policy/timefmt.h"
#include "tpolicy.h"

static void print_text(const struct tp_bundle_info *info, const struct tp_site *s)
{
	char t1[32], t2[32], t3[32], id[2 * TP_BUNDLE_KEY_ID_LEN + 1], buf[256], b64[48];

	sodium_bin2hex(id, sizeof(id), info->key_id, sizeof(info->key_id));
	/* Without not_before a bundle is valid as soon as it arrives. */
	if (info->not_before)
		snprintf(buf, sizeof(buf), "from %s until",
			 tp_time_format(info->not_before, t2, sizeof(t2)));
	else
		snprintf(buf, sizeof(buf), "until");
	printf("bundle: version %llu, issued %s, valid %s %s, signed by key %s (verified)\n",
	       (unsigned long long)info->version, tp_time_format(info->issued_at, t1, sizeof(t1)),
	       buf, tp_time_format(info->expires_at, t3, sizeof(t3)), id);
	printf("site: %s\n", s->name[0] ? s->name : "(unnamed)");
	printf("\ntransition points (%zu):\n", s->n_tps);
	for (size_t i = 0; i < s->n_tps; i++) {
		const struct tp_tpoint *t = &s->tps[i];

		tp_key_to_base64(t->pubkey, b64);
		printf("  %-16s key %s", t->name, b64);
		for (size_t e = 0; e < t->n_endpoints; e++) {
			tp_prefix_format(&t->endpoints[e].addr, true, buf, sizeof(buf));
			printf(t->endpoints[e].addr.family == TP_AF_INET6 ? "%s[%s]:%u" : "%s%s:%u",
			       e ? ", " : "  endpoint ", buf, t->endpoints[e].port);
		}
		printf("\n");
	}
	printf("\nzones (%zu):\n", s->n_zones);
	for (size_t i = 0; i < s->n_zones; i++) {
		const struct tp_zone *z = &s->zones[i];

		printf("  %-16s id %-5u on %-12s", z->name, z->id, s->tps[z->tp].name);
		for (size_t k = 0; k < z->n_prefixes; k++)
			printf(" %s", tp_prefix_format(&z->prefixes[k], false, buf, sizeof(buf)));
		printf("\n");
	}
	printf("\nconduits (%zu):\n", s->n_rules);
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];

		printf("  %-6u %-5s %s -> %s  %s", r->id,
		       r->action == TP_ACTION_DENY ? "deny" : "allow", s->zones[r->from_zone].name,
		       s->zones[r->to_zone].name, tpolicy_rule_match(r, buf, sizeof(buf)));
		if (r->action == TP_ACTION_ALLOW && !r->stateful)
			printf("  stateless");
		if (r->profile == TP_PROFILE_MODBUS)
			printf("  modbus-profile");
		if (r->rate_pps)
			printf("  rate %u/s burst %u", r->rate_pps, r->rate_burst);
		if (r->not_before)
			printf("  from %s", tp_time_format(r->not_before, t1, sizeof(t1)));
		if (r->not_after)
			printf("  until %s", tp_time_format(r->not_after, t1, sizeof(t1)));
		if (r->log)
			printf("  log");
		if (r->name[0])
			printf("  '%s'", r->name);
		printf("\n");
	}
	printf("\nassertions (%zu):\n", s->n_assertions);
	for (size_t i = 0; i < s->n_assertions; i++) {
		const struct tp_assertion *a = &s->assertions[i];

		printf("  must %-5s %s", a->must_allow ? "allow" : "deny",
		       tp_flowspec_format(&a->flow, buf, sizeof(buf)));
		if (a->at)
			printf("  at %s", tp_time_format(a->at, t1, sizeof(t1)));
		if (a->name[0])
			printf("  '%s'", a->name);
		printf("\n");
	}
}

static json_t *ranges_json(const struct tp_port_range *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:i,s:i}", "lo", r[i].lo, "hi", r[i].hi));
	return a;
}

static json_t *time_json(int64_t t)
{
	char buf[32];

	return t ? json_string(tp_time_format(t, buf, sizeof(buf))) : json_null();
}

static int print_json(const struct tp_bundle_info *info, const struct tp_site *s)
{
	char id[2 * TP_BUNDLE_KEY_ID_LEN + 1], buf[160], b64[48];
	json_t *root, *tps = json_array(), *zones = json_array(), *rules = json_array();
	json_t *as = json_array();

	sodium_bin2hex(id, sizeof(id), info->key_id, sizeof(info->key_id));
	for (size_t i = 0; i < s->n_tps; i++) {
		json_t *eps = json_array();

		for (size_t e = 0; e < s->tps[i].n_endpoints; e++)
			json_array_append_new(
				eps, json_pack("{s:s,s:i}", "addr",
					       tp_prefix_format(&s->tps[i].endpoints[e].addr, true,
								buf, sizeof(buf)),
					       "port", s->tps[i].endpoints[e].port));
		tp_key_to_base64(s->tps[i].pubkey, b64);
		json_array_append_new(tps, json_pack("{s:s,s:s,s:o}", "name", s->tps[i].name,
						     "public_key", b64, "endpoints", eps));
	}
	for (size_t i = 0; i < s->n_zones; i++) {
		json_t *p = json_array();

		for (size_t k = 0; k < s->zones[i].n_prefixes; k++)
			json_array_append_new(
				p, json_string(tp_prefix_format(&s->zones[i].prefixes[k], false,
								buf, sizeof(buf))));
		json_array_append_new(zones,
				      json_pack("{s:s,s:i,s:s,s:o}", "name", s->zones[i].name, "id",
						(json_int_t)s->zones[i].id, "tp",
						s->tps[s->zones[i].tp].name, "prefixes", p));
	}
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];
		json_t *icmp = json_array();

		for (size_t k = 0; k < r->n_icmp; k++)
			json_array_append_new(
				icmp, r->icmp[k].code < 0
					      ? json_pack("{s:i}", "type", r->icmp[k].type)
					      : json_pack("{s:i,s:i}", "type", r->icmp[k].type,
							  "code", r->icmp[k].code));
		json_array_append_new(
			rules,
			json_pack("{s:i,s:s,s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:b,s:b,s:b,s:o,s:o}", "id",
				  (json_int_t)r->id, "name", r->name, "from",
				  s->zones[r->from_zone].name, "to", s->zones[r->to_zone].name,
				  "action", r->action == TP_ACTION_DENY ? "deny" : "allow", "proto",
				  r->proto, "dst_ports", ranges_json(r->dst_ports, r->n_dst_ports),
				  "src_ports", ranges_json(r->src_ports, r->n_src_ports), "icmp",
				  icmp, "stateful", r->stateful, "log", r->log, "modbus",
				  r->profile == TP_PROFILE_MODBUS, "not_before",
				  time_json(r->not_before), "not_after", time_json(r->not_after)));
	}
	for (size_t i = 0; i < s->n_assertions; i++)
		json_array_append_new(
			as, json_pack("{s:s,s:s,s:s,s:o}", "name", s->assertions[i].name, "must",
				      s->assertions[i].must_allow ? "allow" : "deny", "flow",
				      tp_flowspec_format(&s->assertions[i].flow, buf, sizeof(buf)),
				      "at", time_json(s->assertions[i].at)));
	root = json_pack("{s:{s:I,s:o,s:o,s:o,s:s,s:b},s:s,s:o,s:o,s:o,s:o}", "bundle", "version",
			 (json_int_t)info->version, "issued_at", time_json(info->issued_at),
			 "not_before", time_json(info->not_before), "expires_at",
			 time_json(info->expires_at), "key_id", id, "verified", 1, "site", s->name,
			 "transition_points", tps, "zones", zones, "conduits", rules, "assertions",
			 as);
	if (!root)
		return TPOLICY_USAGE;
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(root);
	return TPOLICY_OK;
}

int tpolicy_cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pub", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pub = NULL, *key = NULL;
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pub = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return tpolicy_help("show");
		default:
			return tpolicy_usage("show");
		}
	}
	if (optind + 1 != argc)
		return tpolicy_usage("show");
	if (sodium_init() < 0)
		return TPOLICY_USAGE;
	if (tpolicy_is_yaml(argv[optind])) {
		tpolicy_err("%s: show prints bundles; use lint for YAML", argv[optind]);
		return TPOLICY_USAGE;
	}
	rc = tpolicy_load_keyed(argv[optind], pub, key, (int64_t)time(NULL), &site, &info);
	if (rc != TPOLICY_OK)
		return rc;
	if (json)
		rc = print_json(&info, site);
	else
		print_text(&info, site);
	tp_site_free(site);
	return rc;
}
