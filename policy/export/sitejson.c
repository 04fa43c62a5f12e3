// SPDX-License-Identifier: MIT
/*
 * A site as canonical JSON, and back (see tp/policy/export.h). Zones and TPs are
 * referred to by name, conduits keep their ids, lists keep the site's order
 * (which is the order of the policy file or bundle): an export's "site" is
 * compared byte for byte with the signed bundle's, so the writer must be a
 * pure function of the site.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jr.h"
#include "sitejson.h"
#include "tp/policy/export.h"
#include "tp/policy/flowspec.h"
#include "tp/base/keys.h"
#include "tp/policy/timefmt.h"

static json_t *ranges_json(const struct tp_port_range *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("[i, i]", r[i].lo, r[i].hi));
	return a;
}

static json_t *u8_list(const uint8_t *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static void set_time(json_t *o, const char *key, int64_t t)
{
	char buf[32];

	if (t)
		json_object_set_new(o, key, json_string(tp_time_format(t, buf, sizeof(buf))));
}

static const char *zone_name(const struct tp_site *s, uint32_t z)
{
	return z < s->n_zones ? s->zones[z].name : "";
}

json_t *tp_export_rule_json(const struct tp_site *s, const struct tp_rule *r)
{
	json_t *o, *icmp = json_array();

	for (size_t i = 0; i < r->n_icmp; i++)
		json_array_append_new(icmp, json_pack("{s:i, s:i}", "type", r->icmp[i].type, "code",
						      r->icmp[i].code));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:b, s:b}", "id",
		      (json_int_t)r->id, "name", r->name, "from", zone_name(s, r->from_zone), "to",
		      zone_name(s, r->to_zone), "action",
		      r->action == TP_ACTION_DENY ? "deny" : "allow", "proto", r->proto,
		      "dst_ports", ranges_json(r->dst_ports, r->n_dst_ports), "src_ports",
		      ranges_json(r->src_ports, r->n_src_ports), "icmp", icmp, "stateful",
		      r->stateful, "log", r->log);
	if (r->rate_pps || r->rate_burst)
		json_object_set_new(o, "rate",
				    json_pack("{s:I, s:I}", "pps", (json_int_t)r->rate_pps, "burst",
					      (json_int_t)r->rate_burst));
	set_time(o, "not_before", r->not_before);
	set_time(o, "not_after", r->not_after);
	if (r->profile == TP_PROFILE_MODBUS) {
		json_t *regs = json_array();

		for (size_t i = 0; i < r->modbus.n_registers; i++)
			json_array_append_new(regs, json_pack("[i, i]", r->modbus.registers[i].lo,
							      r->modbus.registers[i].hi));
		json_object_set_new(
			o, "modbus",
			json_pack("{s:o, s:o, s:o}", "unit_ids",
				  u8_list(r->modbus.unit_ids, r->modbus.n_unit_ids),
				  "function_codes",
				  u8_list(r->modbus.function_codes, r->modbus.n_function_codes),
				  "registers", regs));
	}
	return o;
}

json_t *tp_export_site_json(const struct tp_site *s)
{
	json_t *zones = json_array(), *tps = json_array(), *rules = json_array();
	json_t *asserts = json_array();
	char buf[80];

	for (size_t i = 0; i < s->n_zones; i++) {
		const struct tp_zone *z = &s->zones[i];
		json_t *pfx = json_array();

		for (size_t k = 0; k < z->n_prefixes; k++)
			json_array_append_new(pfx,
					      json_string(tp_prefix_format(&z->prefixes[k], false,
									   buf, sizeof(buf))));
		json_array_append_new(zones, json_pack("{s:I, s:s, s:s, s:o}", "id",
						       (json_int_t)z->id, "name", z->name, "tp",
						       z->tp < s->n_tps ? s->tps[z->tp].name : "",
						       "prefixes", pfx));
	}
	for (size_t i = 0; i < s->n_tps; i++) {
		const struct tp_tpoint *t = &s->tps[i];
		json_t *eps = json_array();
		char key[TP_KEY_B64_LEN + 1];

		for (size_t k = 0; k < t->n_endpoints; k++)
			json_array_append_new(eps, json_string(tp_export_endpoint_format(
							   &t->endpoints[k], buf, sizeof(buf))));
		tp_key_to_base64(t->pubkey, key);
		json_array_append_new(tps, json_pack("{s:s, s:s, s:o}", "name", t->name,
						     "public_key", key, "endpoints", eps));
	}
	for (size_t i = 0; i < s->n_rules; i++)
		json_array_append_new(rules, tp_export_rule_json(s, &s->rules[i]));
	for (size_t i = 0; i < s->n_assertions; i++) {
		const struct tp_assertion *a = &s->assertions[i];
		char flow[200];
		json_t *o = json_pack("{s:s, s:s, s:s}", "name", a->name, "must",
				      a->must_allow ? "allow" : "deny", "flow",
				      tp_flowspec_format(&a->flow, flow, sizeof(flow)));

		set_time(o, "at", a->at);
		json_array_append_new(asserts, o);
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", s->name, "zones", zones,
			 "transition_points", tps, "conduits", rules, "assertions", asserts);
}

/* ---- reading */

static bool read_ranges(struct jr *r, json_t *a, const char *path, struct tp_port_range **out,
			size_t *n)
{
	json_t *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!a || !json_array_size(a))
		return true;
	*out = calloc(json_array_size(a), sizeof(**out));
	if (!*out)
		return tp_jr_fail(r, path, "out of memory");
	*n = json_array_size(a);
	json_array_foreach(a, i, v)
	{
		json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);

		if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(lo) ||
		    !json_is_integer(hi) || json_integer_value(lo) < 0 ||
		    json_integer_value(hi) > 65535 ||
		    json_integer_value(lo) > json_integer_value(hi))
			return tp_jr_fail(r, path,
					  "item %zu: expected [lo, hi] with 0 <= lo <= hi <= 65535",
					  i);
		(*out)[i].lo = (uint16_t)json_integer_value(lo);
		(*out)[i].hi = (uint16_t)json_integer_value(hi);
	}
	return true;
}

static bool read_u8s(struct jr *r, json_t *a, const char *path, uint8_t **out, size_t *n)
{
	json_t *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!a || !json_array_size(a))
		return true;
	*out = calloc(json_array_size(a), 1);
	if (!*out)
		return tp_jr_fail(r, path, "out of memory");
	*n = json_array_size(a);
	json_array_foreach(a, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
			return tp_jr_fail(r, path, "item %zu: expected 0..255", i);
		(*out)[i] = (uint8_t)json_integer_value(v);
	}
	return true;
}

static bool read_modbus(struct jr *r, json_t *m, const char *path, struct tp_rule *rule)
{
	static const char *const keys[] = {"unit_ids", "function_codes", "registers", NULL};
	struct tp_port_range *regs = NULL;
	json_t *a;
	size_t n = 0;

	if (!tp_jr_object(r, m, path, keys))
		return false;
	rule->profile = TP_PROFILE_MODBUS;
	if (!tp_jr_array(r, m, "unit_ids", path, true, 256, &a) ||
	    !read_u8s(r, a, path, &rule->modbus.unit_ids, &rule->modbus.n_unit_ids) ||
	    !tp_jr_array(r, m, "function_codes", path, true, 256, &a) ||
	    !read_u8s(r, a, path, &rule->modbus.function_codes, &rule->modbus.n_function_codes) ||
	    !tp_jr_array(r, m, "registers", path, true, JR_MAX_LIST, &a))
		return false;
	if (!read_ranges(r, a, path, &regs, &n)) {
		free(regs);
		return false;
	}
	/* tp_u16_range and tp_port_range have the same layout by design */
	rule->modbus.registers = (struct tp_u16_range *)regs;
	rule->modbus.n_registers = n;
	return true;
}

bool tp_export_rule_read(struct jr *r, const struct tp_site *s, json_t *o, const char *path,
			 struct tp_rule *rule)
{
	static const char *const keys[] = {
		"id",	      "name",	   "from",   "to",	 "action",	 "proto",
		"dst_ports",  "src_ports", "icmp",   "stateful", "log",		 "rate",
		"not_before", "not_after", "modbus", "hits",	 "rate_limited", NULL};
	static const char *const rate_keys[] = {"pps", "burst", NULL};
	char from[TP_NAME_MAX], to[TP_NAME_MAX], action[8];
	int64_t v = 0;
	json_t *a, *x;
	size_t i;

	memset(rule, 0, sizeof(*rule));
	if (!tp_jr_object(r, o, path, keys) ||
	    !tp_jr_int(r, o, "id", path, true, 1, UINT32_MAX, &v))
		return false;
	rule->id = (uint32_t)v;
	if (!tp_jr_str(r, o, "name", path, true, rule->name, sizeof(rule->name)) ||
	    !tp_jr_str(r, o, "from", path, true, from, sizeof(from)) ||
	    !tp_jr_str(r, o, "to", path, true, to, sizeof(to)) ||
	    !tp_jr_str(r, o, "action", path, true, action, sizeof(action)))
		return false;
	rule->from_zone = tp_site_zone_by_name(s, from);
	rule->to_zone = tp_site_zone_by_name(s, to);
	if (rule->from_zone == TP_ZONE_NONE || rule->to_zone == TP_ZONE_NONE)
		return tp_jr_fail(r, path, "conduit %u names an unknown zone", rule->id);
	if (!strcmp(action, "allow"))
		rule->action = TP_ACTION_ALLOW;
	else if (!strcmp(action, "deny"))
		rule->action = TP_ACTION_DENY;
	else
		return tp_jr_fail(r, path, "action must be allow or deny");
	if (!tp_jr_int(r, o, "proto", path, true, 0, 255, &v))
		return false;
	rule->proto = (uint8_t)v;
	if (!tp_jr_array(r, o, "dst_ports", path, true, JR_MAX_LIST, &a) ||
	    !read_ranges(r, a, path, &rule->dst_ports, &rule->n_dst_ports) ||
	    !tp_jr_array(r, o, "src_ports", path, true, JR_MAX_LIST, &a) ||
	    !read_ranges(r, a, path, &rule->src_ports, &rule->n_src_ports) ||
	    !tp_jr_array(r, o, "icmp", path, true, JR_MAX_LIST, &a))
		return false;
	if (json_array_size(a)) {
		rule->icmp = calloc(json_array_size(a), sizeof(*rule->icmp));
		if (!rule->icmp)
			return tp_jr_fail(r, path, "out of memory");
		rule->n_icmp = json_array_size(a);
		json_array_foreach(a, i, x)
		{
			static const char *const ikeys[] = {"type", "code", NULL};
			int64_t t = 0, c = 0;

			if (!tp_jr_object(r, x, path, ikeys) ||
			    !tp_jr_int(r, x, "type", path, true, 0, 255, &t) ||
			    !tp_jr_int(r, x, "code", path, true, -1, 255, &c))
				return false;
			rule->icmp[i].type = (uint8_t)t;
			rule->icmp[i].code = (int16_t)c;
		}
	}
	if (!tp_jr_bool(r, o, "stateful", path, true, &rule->stateful) ||
	    !tp_jr_bool(r, o, "log", path, true, &rule->log))
		return false;
	if ((x = json_object_get(o, "rate"))) {
		if (!tp_jr_object(r, x, path, rate_keys) ||
		    !tp_jr_int(r, x, "pps", path, true, 0, UINT32_MAX, &v))
			return false;
		rule->rate_pps = (uint32_t)v;
		if (!tp_jr_int(r, x, "burst", path, true, 0, UINT32_MAX, &v))
			return false;
		rule->rate_burst = (uint32_t)v;
	}
	if (!tp_jr_time(r, o, "not_before", path, false, &rule->not_before) ||
	    !tp_jr_time(r, o, "not_after", path, false, &rule->not_after))
		return false;
	if ((x = json_object_get(o, "modbus")) && !read_modbus(r, x, path, rule))
		return false;
	return true;
}

static bool read_zone(struct jr *r, struct tp_site *s, json_t *o, const char *path,
		      struct tp_zone *z, char *tp_name)
{
	static const char *const keys[] = {"id", "name", "tp", "prefixes", NULL};
	int64_t v = 0;
	json_t *a, *x;
	size_t i;

	if (!tp_jr_object(r, o, path, keys) ||
	    !tp_jr_int(r, o, "id", path, true, 0, UINT32_MAX, &v) ||
	    !tp_jr_str(r, o, "name", path, true, z->name, sizeof(z->name)) ||
	    !tp_jr_str(r, o, "tp", path, true, tp_name, TP_NAME_MAX) ||
	    !tp_jr_array(r, o, "prefixes", path, true, JR_MAX_PREFIXES, &a))
		return false;
	z->id = (uint32_t)v;
	if (json_array_size(a)) {
		z->prefixes = calloc(json_array_size(a), sizeof(*z->prefixes));
		if (!z->prefixes)
			return tp_jr_fail(r, path, "out of memory");
		z->n_prefixes = json_array_size(a);
	}
	json_array_foreach(a, i, x)
	{
		if (!json_is_string(x) || !tp_prefix_parse(json_string_value(x), &z->prefixes[i]))
			return tp_jr_fail(r, path, "zone '%s': prefix %zu is not a prefix", z->name,
					  i);
	}
	return true;
}

static bool read_tp(struct jr *r, json_t *o, const char *path, struct tp_tpoint *t)
{
	static const char *const keys[] = {"name", "public_key", "endpoints", NULL};
	json_t *a, *x;
	size_t i;

	if (!tp_jr_object(r, o, path, keys) ||
	    !tp_jr_str(r, o, "name", path, true, t->name, sizeof(t->name)) ||
	    !tp_jr_key(r, o, "public_key", path, true, t->pubkey) ||
	    !tp_jr_array(r, o, "endpoints", path, true, JR_MAX_LIST, &a))
		return false;
	if (json_array_size(a)) {
		t->endpoints = calloc(json_array_size(a), sizeof(*t->endpoints));
		if (!t->endpoints)
			return tp_jr_fail(r, path, "out of memory");
		t->n_endpoints = json_array_size(a);
	}
	json_array_foreach(a, i, x)
	{
		if (!json_is_string(x) ||
		    !tp_export_endpoint_parse(json_string_value(x), &t->endpoints[i]))
			return tp_jr_fail(r, path, "tp '%s': endpoint %zu is not ADDRESS:PORT",
					  t->name, i);
	}
	return true;
}

static bool read_assertion(struct jr *r, json_t *o, const char *path, struct tp_assertion *as)
{
	static const char *const keys[] = {"name", "must", "flow", "at", NULL};
	char must[8], flow[256], why[TP_FLOWSPEC_ERR_MAX];

	if (!tp_jr_object(r, o, path, keys) ||
	    !tp_jr_str(r, o, "name", path, true, as->name, sizeof(as->name)) ||
	    !tp_jr_str(r, o, "must", path, true, must, sizeof(must)) ||
	    !tp_jr_str(r, o, "flow", path, true, flow, sizeof(flow)) ||
	    !tp_jr_time(r, o, "at", path, false, &as->at))
		return false;
	if (strcmp(must, "allow") != 0 && strcmp(must, "deny") != 0)
		return tp_jr_fail(r, path, "must is allow or deny");
	as->must_allow = !strcmp(must, "allow");
	if (!tp_flowspec_parse(flow, &as->flow, why, sizeof(why)))
		return tp_jr_fail(r, path, "flow: %s", why);
	return true;
}

struct tp_site *tp_export_site_from_json(json_t *j, char *err, size_t errlen)
{
	static const char *const keys[] = {"name",     "zones",	     "transition_points",
					   "conduits", "assertions", NULL};
	struct jr r = {err, errlen, false};
	struct tp_site *s = calloc(1, sizeof(*s));
	json_t *zones, *tps, *rules, *asserts, *x;
	char(*zone_tp)[TP_NAME_MAX] = NULL;
	size_t i;

	if (!s) {
		tp_jr_fail(&r, "site", "out of memory");
		return NULL;
	}
	if (!tp_jr_object(&r, j, "site", keys) ||
	    !tp_jr_str(&r, j, "name", "site", true, s->name, sizeof(s->name)) ||
	    !tp_jr_array(&r, j, "zones", "site", true, JR_MAX_ZONES, &zones) ||
	    !tp_jr_array(&r, j, "transition_points", "site", true, JR_MAX_TPS, &tps) ||
	    !tp_jr_array(&r, j, "conduits", "site", true, JR_MAX_RULES, &rules) ||
	    !tp_jr_array(&r, j, "assertions", "site", true, JR_MAX_RULES, &asserts))
		goto fail;
	s->zones = calloc(json_array_size(zones) + 1, sizeof(*s->zones));
	s->tps = calloc(json_array_size(tps) + 1, sizeof(*s->tps));
	s->rules = calloc(json_array_size(rules) + 1, sizeof(*s->rules));
	s->assertions = calloc(json_array_size(asserts) + 1, sizeof(*s->assertions));
	zone_tp = calloc(json_array_size(zones) + 1, sizeof(*zone_tp));
	if (!s->zones || !s->tps || !s->rules || !s->assertions || !zone_tp) {
		tp_jr_fail(&r, "site", "out of memory");
		goto fail;
	}
	json_array_foreach(tps, i, x)
	{
		s->n_tps = i + 1;
		if (!read_tp(&r, x, "site.transition_points", &s->tps[i]))
			goto fail;
		if (tp_site_tp_by_name(s, s->tps[i].name) != i)
			goto fail_dup;
	}
	json_array_foreach(zones, i, x)
	{
		s->n_zones = i + 1;
		if (!read_zone(&r, s, x, "site.zones", &s->zones[i], zone_tp[i]))
			goto fail;
		if (tp_site_zone_by_name(s, s->zones[i].name) != i)
			goto fail_dup;
		s->zones[i].tp = tp_site_tp_by_name(s, zone_tp[i]);
		if (s->zones[i].tp == UINT32_MAX) {
			tp_jr_fail(&r, "site.zones", "zone '%s' is hosted by unknown TP '%s'",
				   s->zones[i].name, zone_tp[i]);
			goto fail;
		}
	}
	json_array_foreach(rules, i, x)
	{
		s->n_rules = i + 1;
		if (!tp_export_rule_read(&r, s, x, "site.conduits", &s->rules[i]))
			goto fail;
		if (json_object_get(x, "hits") || json_object_get(x, "rate_limited")) {
			tp_jr_fail(&r, "site.conduits", "a site's conduit has no hit counter");
			goto fail;
		}
	}
	json_array_foreach(asserts, i, x)
	{
		s->n_assertions = i + 1;
		if (!read_assertion(&r, x, "site.assertions", &s->assertions[i]))
			goto fail;
	}
	free(zone_tp);
	return s;

fail_dup:
	tp_jr_fail(&r, "site", "duplicate name");
fail:
	free(zone_tp);
	tp_site_free(s);
	return NULL;
}
