// SPDX-License-Identifier: MIT
/*
 * An export as canonical JSON, and the strict reader (see tp/policy/export.h and
 * policy/schema/tp-export.schema.json).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jr.h"
#include "sitejson.h"
#include "tp/policy/export.h"
#include "tp/base/keys.h"
#include "tp/policy/timefmt.h"

const char *tp_export_endpoint_format(const struct tp_endpoint *e, char *buf, size_t len)
{
	char a[64];

	tp_prefix_format(&e->addr, true, a, sizeof(a));
	if (e->addr.family == TP_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		snprintf(buf, len, "%s:%u", a, e->port);
	return buf;
}

bool tp_export_endpoint_parse(const char *s, struct tp_endpoint *out)
{
	char a[64];
	const char *colon, *start = s, *end;
	char *pe;
	unsigned long port;

	memset(out, 0, sizeof(*out));
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return false;
		start = s + 1;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return false;
		end = colon;
	}
	if ((size_t)(end - start) >= sizeof(a) || end == start)
		return false;
	memcpy(a, start, (size_t)(end - start));
	a[end - start] = '\0';
	if (!colon[1] || colon[1] < '0' || colon[1] > '9')
		return false;
	port = strtoul(colon + 1, &pe, 10);
	if (*pe || port > 65535)
		return false;
	if (!tp_prefix_parse(a, &out->addr) || strchr(a, '/'))
		return false;
	if ((*s == '[') != (out->addr.family == TP_AF_INET6))
		return false;
	out->port = (uint16_t)port;
	return true;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static json_t *time_json(int64_t t)
{
	char buf[32];

	return t ? json_string(tp_time_format(t, buf, sizeof(buf))) : json_null();
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int cmp_rule_ptr(const void *a, const void *b)
{
	const struct tp_rule *x = *(const struct tp_rule *const *)a;
	const struct tp_rule *y = *(const struct tp_rule *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_peer_ptr(const void *a, const void *b)
{
	const struct tp_export_peer *x = *(const struct tp_export_peer *const *)a;
	const struct tp_export_peer *y = *(const struct tp_export_peer *const *)b;

	return strcmp(x->name, y->name);
}

static json_t *names_sorted(char (*names)[TP_NAME_MAX], size_t n)
{
	char(*c)[TP_NAME_MAX] = calloc(n + 1, TP_NAME_MAX);
	json_t *a = json_array();

	if (!c)
		return a;
	if (n)
		memcpy(c, names, n * TP_NAME_MAX);
	qsort(c, n, TP_NAME_MAX, cmp_name);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(c[i]));
	free(c);
	return a;
}

static json_t *endpoints_json(const struct tp_endpoint *e, size_t n)
{
	json_t *eps = json_array();
	char buf[80];

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			eps, json_string(tp_export_endpoint_format(&e[i], buf, sizeof(buf))));
	return eps;
}

static json_t *peer_json(const struct tp_export_peer *p)
{
	char key[TP_KEY_B64_LEN + 1];
	json_t *eps = endpoints_json(p->endpoints, p->n_endpoints);

	tp_key_to_base64(p->pubkey, key);
	return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "name", p->name, "public_key", key,
			 "endpoints", eps, "zones", names_sorted(p->zones, p->n_zones), "handshake",
			 p->handshake, "last_handshake", time_json(p->last_handshake));
}

static int cmp_pair(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int c = strcmp(json_string_value(json_array_get(x, 0)),
		       json_string_value(json_array_get(y, 0)));

	return c ? c
		 : strcmp(json_string_value(json_array_get(x, 1)),
			  json_string_value(json_array_get(y, 1)));
}

static json_t *xdp_json(const struct tp_export *x)
{
	json_t **v = calloc(x->n_xdp_pairs + 1, sizeof(json_t *)), *a = json_array();
	const struct tp_site *s = x->site;

	if (!v)
		return a;
	for (size_t i = 0; i < x->n_xdp_pairs; i++) {
		uint32_t f = x->xdp_pairs[i].from, t = x->xdp_pairs[i].to;

		v[i] = json_pack("[s, s]", s && f < s->n_zones ? s->zones[f].name : "?",
				 s && t < s->n_zones ? s->zones[t].name : "?");
	}
	qsort(v, x->n_xdp_pairs, sizeof(json_t *), cmp_pair);
	for (size_t i = 0; i < x->n_xdp_pairs; i++)
		json_array_append_new(a, v[i]);
	free(v);
	return json_pack("{s:o}", "pass_pairs", a);
}

json_t *tp_export_json(const struct tp_export *x)
{
	char key[TP_KEY_B64_LEN + 1], h[2 * TP_EXPORT_HASH_LEN + 1];
	json_t *rules = json_array(), *peers = json_array(), *counters = json_object();
	json_t *policy = json_null(), *o;
	const struct tp_rule **rs = calloc(x->n_rules + 1, sizeof(const struct tp_rule *));
	const struct tp_export_peer **ps =
		calloc(x->n_peers + 1, sizeof(const struct tp_export_peer *));

	if (!rs || !ps)
		goto out;
	tp_key_to_base64(x->tp_pubkey, key);
	if (x->site) {
		hex(x->bundle_hash, TP_EXPORT_HASH_LEN, h);
		policy = json_pack("{s:I, s:o, s:o, s:o, s:o}", "version",
				   (json_int_t)x->policy_version, "bundle_hash",
				   x->has_bundle_hash ? json_string(h) : json_null(), "issued_at",
				   time_json(x->issued_at), "expires_at", time_json(x->expires_at),
				   "site", tp_export_site_json(x->site));
		for (size_t i = 0; i < x->n_rules; i++)
			rs[i] = &x->rules[i];
		qsort(rs, x->n_rules, sizeof(const struct tp_rule *), cmp_rule_ptr);
		for (size_t i = 0; i < x->n_rules; i++) {
			json_t *r = tp_export_rule_json(x->site, rs[i]);

			if (x->has_hits)
				json_object_set_new(
					r, "hits",
					json_integer((json_int_t)x->hits[rs[i] - x->rules]));
			if (x->has_hits && rs[i]->rate_pps)
				json_object_set_new(
					r, "rate_limited",
					json_integer(
						(json_int_t)x->rate_limited[rs[i] - x->rules]));
			json_array_append_new(rules, r);
		}
	}
	for (size_t i = 0; i < x->n_peers; i++)
		ps[i] = &x->peers[i];
	qsort(ps, x->n_peers, sizeof(const struct tp_export_peer *), cmp_peer_ptr);
	for (size_t i = 0; i < x->n_peers; i++)
		json_array_append_new(peers, peer_json(ps[i]));
	for (size_t i = 0; i < x->n_counters; i++)
		json_object_set_new(counters, x->counters[i].name,
				    json_integer((json_int_t)x->counters[i].value));
out:
	o = json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s, s:o}, s:o, s:o, s:o, s:o, s:o, "
		      "s:o, s:o}",
		      "schema", TP_EXPORT_SCHEMA, "kind", tp_export_kind_name(x->kind),
		      "exported_at", time_json(x->exported_at), "tp", "name", x->tp_name,
		      "public_key", key, "software_version", x->software_version, "failure_mode",
		      x->failure_mode, "endpoints", endpoints_json(x->endpoints, x->n_endpoints),
		      "policy", policy, "zones", names_sorted(x->local_zones, x->n_local_zones),
		      "rules", rules, "peers", peers, "flows",
		      x->has_flows ? json_pack("{s:I, s:I}", "active", (json_int_t)x->flows_active,
					       "capacity", (json_int_t)x->flows_capacity)
				   : json_null(),
		      "xdp", x->has_xdp ? xdp_json(x) : json_null(), "counters", counters);
	free(rs);
	free(ps);
	return o;
}

char *tp_export_dumps(const struct tp_export *x)
{
	json_t *j = tp_export_json(x);
	char *s, *out;
	size_t n;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(j);
	if (!s)
		return NULL;
	n = strlen(s);
	out = realloc(s, n + 2);
	if (!out) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

int tp_export_write(const struct tp_export *x, FILE *f)
{
	char *s = tp_export_dumps(x);
	int rc = 0;

	if (!s)
		return -ENOMEM;
	if (fputs(s, f) < 0 || fflush(f) != 0)
		rc = -EIO;
	free(s);
	return rc;
}

int tp_export_write_file(const struct tp_export *x, const char *path)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -errno;
	rc = tp_export_write(x, f);
	if (fclose(f) != 0 && !rc)
		rc = -EIO;
	return rc;
}

/* ---- reading */

static bool read_hash(struct jr *r, json_t *o, struct tp_export *x)
{
	json_t *v = json_object_get(o, "bundle_hash");
	const char *s;

	if (!v || json_is_null(v))
		return v ? true : tp_jr_fail(r, "policy", "missing 'bundle_hash'");
	s = json_string_value(v);
	if (!s || strlen(s) != 2 * (size_t)TP_EXPORT_HASH_LEN ||
	    strspn(s, "0123456789abcdef") != 2 * (size_t)TP_EXPORT_HASH_LEN)
		return tp_jr_fail(r, "policy", "'bundle_hash' must be 64 lowercase hex digits");
	for (size_t i = 0; i < 2 * (size_t)TP_EXPORT_HASH_LEN; i++) {
		unsigned nib = s[i] <= '9' ? (unsigned)(s[i] - '0') : (unsigned)(s[i] - 'a' + 10);

		x->bundle_hash[i / 2] = (uint8_t)(i % 2 ? x->bundle_hash[i / 2] | nib : nib << 4);
	}
	x->has_bundle_hash = true;
	return true;
}

static bool opt_time(struct jr *r, json_t *o, const char *key, const char *path, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return tp_jr_fail(r, path, "missing '%s'", key);
	if (json_is_null(v)) {
		*out = 0;
		return true;
	}
	return tp_jr_time(r, o, key, path, true, out);
}

static bool read_policy(struct jr *r, json_t *p, struct tp_export *x)
{
	static const char *const keys[] = {"version",	 "bundle_hash", "issued_at",
					   "expires_at", "site",	NULL};
	char err[256] = "";

	if (!tp_jr_object(r, p, "policy", keys) ||
	    !tp_jr_u64(r, p, "version", "policy", true, &x->policy_version) ||
	    !read_hash(r, p, x) || !opt_time(r, p, "issued_at", "policy", &x->issued_at) ||
	    !opt_time(r, p, "expires_at", "policy", &x->expires_at))
		return false;
	if (!json_object_get(p, "site"))
		return tp_jr_fail(r, "policy", "missing 'site'");
	x->site = tp_export_site_from_json(json_object_get(p, "site"), err, sizeof(err));
	if (!x->site)
		return tp_jr_fail(r, "policy", "%s", err);
	return true;
}

static bool zone_known(struct jr *r, const struct tp_export *x, const char *name, const char *path)
{
	if (!x->site || tp_site_zone_by_name(x->site, name) == TP_ZONE_NONE)
		return tp_jr_fail(r, path, "unknown zone '%.64s'", name);
	return true;
}

static bool read_names(struct jr *r, json_t *a, const char *path, const struct tp_export *x,
		       char (**out)[TP_NAME_MAX], size_t *n)
{
	json_t *v;
	size_t i;

	*out = calloc(json_array_size(a) + 1, TP_NAME_MAX);
	if (!*out)
		return tp_jr_fail(r, path, "out of memory");
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);

		if (!s || strlen(s) >= TP_NAME_MAX)
			return tp_jr_fail(r, path, "item %zu: expected a zone name", i);
		if (!zone_known(r, x, s, path))
			return false;
		memcpy((*out)[i], s, strlen(s) + 1);
		*n = i + 1;
	}
	return true;
}

static bool read_endpoints(struct jr *r, json_t *o, const char *path, const char *who,
			   struct tp_endpoint **out, size_t *n)
{
	json_t *a, *v;
	size_t i;

	if (!tp_jr_array(r, o, "endpoints", path, true, JR_MAX_LIST, &a))
		return false;
	*out = calloc(json_array_size(a) + 1, sizeof(**out));
	if (!*out)
		return tp_jr_fail(r, path, "out of memory");
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) ||
		    !tp_export_endpoint_parse(json_string_value(v), &(*out)[i]))
			return tp_jr_fail(r, path, "'%s': endpoint %zu is not ADDRESS:PORT", who,
					  i);
		*n = i + 1;
	}
	return true;
}

static bool read_peer(struct jr *r, json_t *o, const struct tp_export *x, struct tp_export_peer *p)
{
	static const char *const keys[] = {"name",	"public_key",	  "endpoints", "zones",
					   "handshake", "last_handshake", NULL};
	json_t *a;

	if (!tp_jr_object(r, o, "peers", keys) ||
	    !tp_jr_str(r, o, "name", "peers", true, p->name, sizeof(p->name)) ||
	    !tp_jr_key(r, o, "public_key", "peers", true, p->pubkey) ||
	    !tp_jr_str(r, o, "handshake", "peers", true, p->handshake, sizeof(p->handshake)) ||
	    !opt_time(r, o, "last_handshake", "peers", &p->last_handshake) ||
	    !read_endpoints(r, o, "peers", p->name, &p->endpoints, &p->n_endpoints))
		return false;
	return tp_jr_array(r, o, "zones", "peers", true, JR_MAX_ZONES, &a) &&
	       read_names(r, a, "peers", x, &p->zones, &p->n_zones);
}

static bool read_xdp(struct jr *r, json_t *o, struct tp_export *x)
{
	static const char *const keys[] = {"pass_pairs", NULL};
	json_t *a, *v;
	size_t i;

	if (!tp_jr_object(r, o, "xdp", keys) ||
	    !tp_jr_array(r, o, "pass_pairs", "xdp", true, JR_MAX_XDP_PAIRS, &a))
		return false;
	x->has_xdp = true;
	x->xdp_pairs = calloc(json_array_size(a) + 1, sizeof(*x->xdp_pairs));
	if (!x->xdp_pairs)
		return tp_jr_fail(r, "xdp", "out of memory");
	json_array_foreach(a, i, v)
	{
		const char *f = json_string_value(json_array_get(v, 0));
		const char *t = json_string_value(json_array_get(v, 1));

		if (!json_is_array(v) || json_array_size(v) != 2 || !f || !t)
			return tp_jr_fail(r, "xdp", "pair %zu: expected [from, to] zone names", i);
		if (!zone_known(r, x, f, "xdp") || !zone_known(r, x, t, "xdp"))
			return false;
		x->xdp_pairs[i].from = tp_site_zone_by_name(x->site, f);
		x->xdp_pairs[i].to = tp_site_zone_by_name(x->site, t);
		x->n_xdp_pairs = i + 1;
	}
	return true;
}

static bool read_rules(struct jr *r, json_t *a, struct tp_export *x)
{
	json_t *v;
	size_t i;

	if (json_array_size(a) && !x->site)
		return tp_jr_fail(r, "rules", "rules without a policy");
	x->rules = calloc(json_array_size(a) + 1, sizeof(*x->rules));
	x->hits = calloc(json_array_size(a) + 1, sizeof(*x->hits));
	x->rate_limited = calloc(json_array_size(a) + 1, sizeof(*x->rate_limited));
	if (!x->rules || !x->hits || !x->rate_limited)
		return tp_jr_fail(r, "rules", "out of memory");
	json_array_foreach(a, i, v)
	{
		bool h = json_object_get(v, "hits") != NULL;

		x->n_rules = i + 1;
		if (!tp_export_rule_read(r, x->site, v, "rules", &x->rules[i]) ||
		    !tp_jr_u64(r, v, "hits", "rules", false, &x->hits[i]) ||
		    !tp_jr_u64(r, v, "rate_limited", "rules", false, &x->rate_limited[i]))
			return false;
		if (json_object_get(v, "rate_limited") && (!h || !x->rules[i].rate_pps))
			return tp_jr_fail(r, "rules",
					  "'rate_limited' only with 'hits', on a rule with a rate");
		if (i == 0)
			x->has_hits = h;
		else if (h != x->has_hits)
			return tp_jr_fail(r, "rules", "either every rule has 'hits' or none");
		if (i && x->rules[i].id <= x->rules[i - 1].id)
			return tp_jr_fail(r, "rules",
					  "rules must be sorted by id without duplicates");
	}
	return true;
}

static struct tp_export *parse(json_t *j, char *err, size_t errlen)
{
	static const char *const keys[] = {"schema", "kind",  "exported_at", "tp",
					   "policy", "zones", "rules",	     "peers",
					   "flows",  "xdp",   "counters",    NULL};
	static const char *const tp_keys[] = {"name",	      "public_key", "software_version",
					      "failure_mode", "endpoints",  NULL};
	static const char *const flow_keys[] = {"active", "capacity", NULL};
	struct jr r = {err, errlen, false};
	struct tp_export *x = tp_export_new("", NULL, "", "", 0);
	char schema[64], kind[16];
	json_t *tp, *v, *a;
	const char *k;
	size_t i;

	if (!x) {
		tp_jr_fail(&r, "export", "out of memory");
		return NULL;
	}
	if (!tp_jr_object(&r, j, "export", keys) ||
	    !tp_jr_str(&r, j, "schema", "export", true, schema, sizeof(schema)))
		goto fail;
	if (strcmp(schema, TP_EXPORT_SCHEMA) != 0) {
		tp_jr_fail(&r, "export", "schema '%s' is not %s", schema, TP_EXPORT_SCHEMA);
		goto fail;
	}
	if (!tp_jr_str(&r, j, "kind", "export", true, kind, sizeof(kind)))
		goto fail;
	if (!strcmp(kind, "intent"))
		x->kind = TP_EXPORT_INTENT;
	else if (!strcmp(kind, "effective"))
		x->kind = TP_EXPORT_EFFECTIVE;
	else {
		tp_jr_fail(&r, "export", "kind must be intent or effective");
		goto fail;
	}
	tp = json_object_get(j, "tp");
	if (!opt_time(&r, j, "exported_at", "export", &x->exported_at) ||
	    !tp_jr_object(&r, tp, "tp", tp_keys) ||
	    !tp_jr_str(&r, tp, "name", "tp", true, x->tp_name, sizeof(x->tp_name)) ||
	    !tp_jr_key(&r, tp, "public_key", "tp", true, x->tp_pubkey) ||
	    !tp_jr_str(&r, tp, "software_version", "tp", true, x->software_version,
		       sizeof(x->software_version)) ||
	    !tp_jr_str(&r, tp, "failure_mode", "tp", true, x->failure_mode,
		       sizeof(x->failure_mode)) ||
	    !read_endpoints(&r, tp, "tp", x->tp_name, &x->endpoints, &x->n_endpoints))
		goto fail;
	v = json_object_get(j, "policy");
	if (!v) {
		tp_jr_fail(&r, "export", "missing 'policy'");
		goto fail;
	}
	if (!json_is_null(v) && !read_policy(&r, v, x))
		goto fail;
	if (x->site && tp_site_tp_by_name(x->site, x->tp_name) == UINT32_MAX) {
		tp_jr_fail(&r, "tp", "'%s' is not a transition point of the policy", x->tp_name);
		goto fail;
	}
	if (!tp_jr_array(&r, j, "zones", "export", true, JR_MAX_ZONES, &a) ||
	    !read_names(&r, a, "zones", x, &x->local_zones, &x->n_local_zones) ||
	    !tp_jr_array(&r, j, "rules", "export", true, JR_MAX_RULES, &a) ||
	    !read_rules(&r, a, x) || !tp_jr_array(&r, j, "peers", "export", true, JR_MAX_TPS, &a))
		goto fail;
	x->peers = calloc(json_array_size(a) + 1, sizeof(*x->peers));
	if (!x->peers) {
		tp_jr_fail(&r, "peers", "out of memory");
		goto fail;
	}
	json_array_foreach(a, i, v)
	{
		x->n_peers = i + 1;
		if (!read_peer(&r, v, x, &x->peers[i]))
			goto fail;
	}
	v = json_object_get(j, "flows");
	if (!v) {
		tp_jr_fail(&r, "export", "missing 'flows'");
		goto fail;
	}
	if (!json_is_null(v)) {
		if (!tp_jr_object(&r, v, "flows", flow_keys) ||
		    !tp_jr_u64(&r, v, "active", "flows", true, &x->flows_active) ||
		    !tp_jr_u64(&r, v, "capacity", "flows", true, &x->flows_capacity))
			goto fail;
		x->has_flows = true;
	}
	v = json_object_get(j, "xdp");
	if (!v) {
		tp_jr_fail(&r, "export", "missing 'xdp'");
		goto fail;
	}
	if (!json_is_null(v) && !read_xdp(&r, v, x))
		goto fail;
	v = json_object_get(j, "counters");
	if (!json_is_object(v) || json_object_size(v) > JR_MAX_COUNTERS) {
		tp_jr_fail(&r, "export", "'counters' must be an object of at most %d integers",
			   JR_MAX_COUNTERS);
		goto fail;
	}
	json_object_foreach(v, k, a)
	{
		if (!json_is_integer(a) || json_integer_value(a) < 0 || strlen(k) >= TP_NAME_MAX) {
			tp_jr_fail(&r, "counters", "'%.64s' must be a non-negative integer", k);
			goto fail;
		}
		if (tp_export_add_counter(x, k, (uint64_t)json_integer_value(a)) < 0) {
			tp_jr_fail(&r, "counters", "out of memory");
			goto fail;
		}
	}
	return x;
fail:
	tp_export_free(x);
	return NULL;
}

struct tp_export *tp_export_read(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	struct tp_export *x;
	json_t *j;

	if (len > TP_EXPORT_MAX_BYTES) {
		snprintf(err, errlen, "export: larger than %u bytes", TP_EXPORT_MAX_BYTES);
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "export: not JSON: line %d column %d: %s", je.line, je.column,
			 je.text);
		return NULL;
	}
	x = parse(j, err, errlen);
	json_decref(j);
	return x;
}

struct tp_export *tp_export_read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct tp_export *x = NULL;
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: cannot size the file", path);
		goto out;
	}
	if ((unsigned long)n > TP_EXPORT_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, TP_EXPORT_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: cannot read", path);
		goto out;
	}
	x = tp_export_read(buf, (size_t)n, err, errlen);
out:
	free(buf);
	fclose(f);
	return x;
}
