// SPDX-License-Identifier: MIT
/*
 * tpolicy check: decide one flow with the reference evaluator (tp/policy/eval.h),
 * exactly as a TP with no flow entry would decide its first packet
 * (DESIGN.md §7), and name the deciding conduit or the default.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <time.h>

#include "tp/policy/eval.h"
#include "tp/policy/flowspec.h"
#include "tp/policy/modbus.h"
#include "tp/policy/timefmt.h"
#include "tpolicy.h"

static const struct tp_rule *rule_by_id(const struct tp_site *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].id == id)
			return &s->rules[i];
	return NULL;
}

static const char *zname(const struct tp_site *s, uint32_t z)
{
	return z < s->n_zones ? s->zones[z].name : NULL;
}

/* The conduits whose Modbus profiles a request may pass (DESIGN.md §7.3:
 * any one of them admitting it), as "the modbus profile of conduit 5" or
 * "the modbus profiles of conduits 5, 7". */
static void profiles_text(const struct tp_site *s, const struct tp_flow *f, int64_t at, char *buf,
			  size_t len)
{
	uint32_t ids[TP_MODBUS_PROFILES_MAX];
	size_t n = tp_ref_profiles(s, f, at, ids, TP_MODBUS_PROFILES_MAX), o;

	o = (size_t)snprintf(buf, len, "the modbus profile%s of conduit%s", n > 1 ? "s" : "",
			     n > 1 ? "s" : "");
	for (size_t i = 0; i < n && i < TP_MODBUS_PROFILES_MAX && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s %u", i ? "," : "", ids[i]);
	if (n > 1 && o < len)
		snprintf(buf + o, len - o, " (a request passes if one admits it)");
}

static void print_text(const struct tp_site *s, const struct tp_decision *d,
		       const struct tp_flow *f, int64_t at)
{
	char prof[64 + TP_MODBUS_PROFILES_MAX * 12] = "";
	const struct tp_rule *r = rule_by_id(s, d->rule_id);
	const char *v = tp_verdict_name(d->verdict);
	char buf[64];

	if (d->profile)
		profiles_text(s, f, at, prof, sizeof(prof));

	switch (d->reason) {
	case TP_REASON_RULE_ALLOW:
	case TP_REASON_RULE_DENY:
		printf("%s by conduit %u%s%s%s (%s -> %s%s%s%s)\n", v, d->rule_id,
		       r && r->name[0] ? " '" : "", r && r->name[0] ? r->name : "",
		       r && r->name[0] ? "'" : "", zname(s, d->from_zone), zname(s, d->to_zone),
		       d->verdict == TP_VERDICT_ALLOW
			       ? (d->stateful ? ", stateful: replies pass" : ", stateless")
			       : "",
		       d->profile ? "; client payload checked against " : "", prof);
		break;
	case TP_REASON_DEFAULT_DENY:
		printf("deny by default (%s -> %s: no conduit matches)\n", zname(s, d->from_zone),
		       zname(s, d->to_zone));
		break;
	case TP_REASON_SAME_ZONE:
		printf("allow: inside zone %s (not policed)\n", zname(s, d->from_zone));
		break;
	case TP_REASON_NO_SRC_ZONE:
		printf("deny: source %s is in no zone\n",
		       tp_prefix_format(&f->src, true, buf, sizeof(buf)));
		break;
	case TP_REASON_NO_DST_ZONE:
		printf("deny: destination %s is in no zone\n",
		       tp_prefix_format(&f->dst, true, buf, sizeof(buf)));
		break;
	}
}

static void print_json(const struct tp_site *s, const struct tp_decision *d,
		       const struct tp_flow *f, int64_t at)
{
	const struct tp_rule *r = rule_by_id(s, d->rule_id);
	char fl[160], t[32];
	const char *from = zname(s, d->from_zone), *to = zname(s, d->to_zone);
	json_t *o;

	o = json_pack(
		"{s:s,s:o,s:o,s:s,s:o,s:o,s:b,s:s,s:s}", "verdict", tp_verdict_name(d->verdict),
		"rule", d->rule_id ? json_integer(d->rule_id) : json_string("default"), "rule_name",
		r && r->name[0] ? json_string(r->name) : json_null(), "reason",
		tp_reason_name(d->reason), "from_zone", from ? json_string(from) : json_null(),
		"to_zone", to ? json_string(to) : json_null(), "stateful", d->stateful, "flow",
		tp_flowspec_format(f, fl, sizeof(fl)), "at", tp_time_format(at, t, sizeof(t)));
	if (d->profile) {
		/* a request passes if one of these conduits' profiles admits it */
		uint32_t ids[TP_MODBUS_PROFILES_MAX];
		size_t n = tp_ref_profiles(s, f, at, ids, TP_MODBUS_PROFILES_MAX);
		json_t *a = json_array();

		for (size_t i = 0; i < n && i < TP_MODBUS_PROFILES_MAX; i++)
			json_array_append_new(a, json_integer(ids[i]));
		json_object_set_new(o, "modbus_profiles", a);
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(o);
}

int tpolicy_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"flow", required_argument, NULL, 'f'},
		{"at", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"pub", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *flow = NULL, *pub = NULL, *key = NULL, *path;
	int64_t at = (int64_t)time(NULL);
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	struct tp_decision dec;
	struct tp_flow f;
	bool json = false;
	char why[TP_FLOWSPEC_ERR_MAX];
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			flow = optarg;
			break;
		case 'a':
			if (!tpolicy_parse_time(optarg, &at)) {
				tpolicy_err("bad --at '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'h':
			return tpolicy_help("check");
		default:
			return tpolicy_usage("check");
		}
	}
	if (optind + 1 != argc || !flow)
		return tpolicy_usage("check");
	path = argv[optind];
	if (!tp_flowspec_parse(flow, &f, why, sizeof(why))) {
		tpolicy_err("bad --flow '%s': %s", flow, why);
		return TPOLICY_USAGE;
	}
	if (sodium_init() < 0)
		return TPOLICY_USAGE;
	rc = tpolicy_load_keyed(path, pub, key, at, &site, &info);
	if (rc != TPOLICY_OK)
		return rc;
	/* A decision from a bundle no TP would run any more is still useful
	 * (what did it allow?), but say so. */
	if (info.expires_at && (at >= info.expires_at || at < info.not_before)) {
		char t[32];

		fprintf(stderr,
			"tpolicy: note: the bundle is not valid at that time (expires %s)\n",
			tp_time_format(info.expires_at, t, sizeof(t)));
	}
	tp_ref_evaluate(site, &f, at, &dec);
	if (json)
		print_json(site, &dec, &f, at);
	else
		print_text(site, &dec, &f, at);
	tp_site_free(site);
	return TPOLICY_OK;
}
