// SPDX-License-Identifier: MIT
/*
 * YAML policy reader (see tp/policy/yaml.h, and policy/README.md for the format).
 *
 * Two passes over the text. The first walks libyaml's event stream only to
 * refuse what the schema never needs and what makes hostile input expensive:
 * anchors, aliases, deep nesting, several documents. The second loads the
 * document tree and walks it against the schema, filling a struct tp_site.
 * Names that refer to other items (a zone's transition point, a conduit's
 * zones) are kept with their location and resolved at the end, so top-level
 * sections may come in any order.
 */
#include "tp/policy/yaml.h"

#include <errno.h>
#include <stddef.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tp/policy/flowspec.h"
#include "tp/policy/timefmt.h"

#define DEFAULT_WG_PORT 51820
#define NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* A name that refers to another item, resolved once everything is read. */
struct ref {
	char name[TP_NAME_MAX];
	struct tp_srcloc loc;
	bool set;
};

struct reader {
	yaml_document_t doc;
	struct tp_diags *d;
	size_t errors_at_start;
	struct tp_site *site;
	struct tp_site_locs *locs;
	struct ref *zone_tp;		 /* per zone: its `tp:` */
	struct ref *rule_from, *rule_to; /* per rule */
	struct ref **tp_zones;		 /* per TP: its `zones:` entries */
	size_t *n_tp_zones;
};

static struct tp_srcloc loc_of(const yaml_node_t *n)
{
	return (struct tp_srcloc){.line = (uint32_t)n->start_mark.line + 1,
				  .col = (uint32_t)n->start_mark.column + 1};
}

static void __attribute__((format(printf, 3, 4)))
err(struct reader *r, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[TP_DIAG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tp_diag_add(r->d, TP_DIAG_ERROR, loc_of(n), "%s", msg);
}

static yaml_node_t *node(struct reader *r, int id)
{
	return yaml_document_get_node(&r->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE;
}

/* Levenshtein distance, capped: only used to suggest a key for a typo. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[32], cur[32];

	if (la >= 31 || lb >= 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/*
 * Check that n is a mapping whose keys are all scalars from allowed[] and
 * appear once. Reports every offender; returns false if n is no mapping.
 */
static bool check_map(struct reader *r, yaml_node_t *n, const char *const *allowed,
		      const char *what)
{
	if (n->type != YAML_MAPPING_NODE) {
		err(r, n, "%s must be a mapping", what);
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(r, p->key);
		const char *best = NULL;
		size_t best_d = 3;
		bool known = false;

		if (!is_scalar(k)) {
			err(r, k, "keys of %s must be plain words", what);
			continue;
		}
		for (const char *const *a = allowed; *a; a++) {
			size_t dd = distance(scalar(k), *a);

			if (dd == 0)
				known = true;
			if (dd < best_d) {
				best_d = dd;
				best = *a;
			}
		}
		if (!known) {
			if (best)
				err(r, k, "unknown key '%s' in %s (did you mean '%s'?)", scalar(k),
				    what, best);
			else
				err(r, k, "unknown key '%s' in %s", scalar(k), what);
			continue;
		}
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = node(r, q->key);

			if (is_scalar(k2) && strcmp(scalar(k2), scalar(k)) == 0) {
				err(r, k, "duplicate key '%s' in %s (first at %u:%u)", scalar(k),
				    what, loc_of(k2).line, loc_of(k2).col);
				break;
			}
		}
	}
	return true;
}

/* The value of key in mapping n, or NULL. */
static yaml_node_t *get(struct reader *r, yaml_node_t *n, const char *key)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(r, p->key);

		if (is_scalar(k) && strcmp(scalar(k), key) == 0)
			return node(r, p->value);
	}
	return NULL;
}

/* The key node itself, for "missing value"-style messages. */
static yaml_node_t *require(struct reader *r, yaml_node_t *map, const char *key, const char *what)
{
	yaml_node_t *v = get(r, map, key);

	if (!v)
		err(r, map, "%s is missing '%s'", what, key);
	return v;
}

static bool want_scalar(struct reader *r, yaml_node_t *n, const char *what)
{
	if (is_scalar(n))
		return true;
	err(r, n, "%s must be a single value", what);
	return false;
}

static bool get_name(struct reader *r, yaml_node_t *n, char *out, const char *what)
{
	const char *s;

	if (!want_scalar(r, n, what))
		return false;
	s = scalar(n);
	if (!*s || strlen(s) >= TP_NAME_MAX || strspn(s, NAME_CHARS) != strlen(s)) {
		err(r, n, "bad %s '%.80s': 1 to %d letters, digits, '_', '.' or '-'", what, s,
		    TP_NAME_MAX - 1);
		return false;
	}
	snprintf(out, TP_NAME_MAX, "%s", s); /* length checked above */
	return true;
}

static bool parse_ulong(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s || strlen(s) > 19 || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return true;
}

static bool get_uint(struct reader *r, yaml_node_t *n, unsigned long long lo, unsigned long long hi,
		     unsigned long long *out, const char *what)
{
	unsigned long long v;

	if (!want_scalar(r, n, what))
		return false;
	if (!parse_ulong(scalar(n), &v)) {
		err(r, n, "bad %s '%.80s': expected a number", what, scalar(n));
		return false;
	}
	if (v < lo || v > hi) {
		err(r, n, "%s '%s' out of range (%llu..%llu)", what, scalar(n), lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static bool get_bool(struct reader *r, yaml_node_t *n, bool *out, const char *what)
{
	if (!want_scalar(r, n, what))
		return false;
	if (strcmp(scalar(n), "true") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(scalar(n), "false") == 0) {
		*out = false;
		return true;
	}
	err(r, n, "bad %s '%.80s': expected true or false", what, scalar(n));
	return false;
}

static bool get_time(struct reader *r, yaml_node_t *n, int64_t *out, const char *what)
{
	if (!want_scalar(r, n, what))
		return false;
	if (!tp_time_parse(scalar(n), out)) {
		err(r, n,
		    "bad timestamp '%.80s' for %s: expected RFC 3339 UTC, e.g. "
		    "2026-12-01T08:00:00Z",
		    scalar(n), what);
		return false;
	}
	return true;
}

/*
 * A list value: a sequence, or a single scalar standing for a list of one
 * (`prefixes: 10.1.0.0/16`). Returns the number of items and sets *items to
 * an array of node ids (for a scalar, its own id through *one).
 */
static size_t list_items(struct reader *r, yaml_node_t *n, yaml_node_item_t **items,
			 yaml_node_item_t *one, const char *what)
{
	if (n->type == YAML_SEQUENCE_NODE) {
		*items = n->data.sequence.items.start;
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	}
	if (is_scalar(n) && *scalar(n)) {
		*one = (yaml_node_item_t)(n - r->doc.nodes.start) + 1;
		*items = one;
		return 1;
	}
	err(r, n, "%s must be a list", what);
	return 0;
}

static void set_ref(struct ref *ref, yaml_node_t *n, const char *name)
{
	snprintf(ref->name, sizeof(ref->name), "%s", name);
	ref->loc = loc_of(n);
	ref->set = true;
}

/* "502" or "1000-2000" */
static bool get_port_range(struct reader *r, yaml_node_t *n, struct tp_port_range *out,
			   unsigned long long max, const char *what)
{
	char buf[32];
	unsigned long long lo, hi;
	const char *s;
	char *dash;

	if (!want_scalar(r, n, what))
		return false;
	s = scalar(n);
	if (strlen(s) >= sizeof(buf)) {
		err(r, n, "bad %s '%.40s'", what, s);
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (!parse_ulong(buf, &lo) || (dash && !parse_ulong(dash + 1, &hi))) {
		err(r, n, "bad %s '%s': expected N or LOW-HIGH", what, s);
		return false;
	}
	if (!dash)
		hi = lo;
	if (lo > max || hi > max) {
		err(r, n, "%s '%s' out of range (0..%llu)", what, s, max);
		return false;
	}
	if (lo > hi) {
		err(r, n, "inverted %s range '%s': low end above high end", what, s);
		return false;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return true;
}

static bool get_ranges(struct reader *r, yaml_node_t *n, struct tp_port_range **out, size_t *count,
		       unsigned long long max, const char *what)
{
	yaml_node_item_t *items, one;
	size_t cnt = list_items(r, n, &items, &one, what);
	bool ok = true;

	if (cnt == 0)
		return n->type == YAML_SEQUENCE_NODE;
	*out = calloc(cnt, sizeof(**out));
	if (!*out) {
		err(r, n, "out of memory");
		return false;
	}
	*count = cnt;
	for (size_t i = 0; i < cnt; i++)
		ok &= get_port_range(r, node(r, items[i]), &(*out)[i], max, what);
	return ok;
}

static const char *const tp_keys[] = {"name", "public_key", "endpoints", "zones", NULL};

static bool get_endpoint(struct reader *r, yaml_node_t *n, struct tp_endpoint *ep)
{
	char buf[80];
	const char *s, *colon = NULL;
	unsigned long long port = DEFAULT_WG_PORT;

	if (!want_scalar(r, n, "endpoint"))
		return false;
	s = scalar(n);
	if (strlen(s) >= sizeof(buf))
		goto bad;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		memcpy(buf, s + 1, (size_t)(close - s - 1));
		buf[close - s - 1] = '\0';
		if (!strchr(buf, ':'))
			goto bad;
		colon = close[1] ? close + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			goto bad; /* IPv6 needs brackets when a port follows */
		snprintf(buf, sizeof(buf), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	}
	if (colon && (!parse_ulong(colon + 1, &port) || port == 0 || port > 65535)) {
		err(r, n, "endpoint port in '%s' out of range (1..65535)", s);
		return false;
	}
	if (strchr(buf, '/') || !tp_prefix_parse(buf, &ep->addr))
		goto bad;
	ep->port = (uint16_t)port;
	return true;
bad:
	err(r, n, "bad endpoint '%.80s': expected ADDRESS[:PORT] or [IPV6]:PORT", s);
	return false;
}

static void read_tp(struct reader *r, yaml_node_t *n, size_t idx)
{
	struct tp_tpoint *t = &r->site->tps[idx];
	yaml_node_t *v;

	t->loc = loc_of(n);
	if (!check_map(r, n, tp_keys, "transition point"))
		return;
	if ((v = require(r, n, "name", "transition point")))
		get_name(r, v, t->name, "transition point name");
	if ((v = require(r, n, "public_key", "transition point")) &&
	    want_scalar(r, v, "public_key")) {
		size_t bin_len = 0;
		const char *s = scalar(v);

		if (strlen(s) != 44 ||
		    sodium_base642bin(t->pubkey, sizeof(t->pubkey), s, strlen(s), NULL, &bin_len,
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    bin_len != TP_KEY_LEN)
			err(r, v,
			    "bad public_key: expected 32 bytes in base64 (44 characters, as "
			    "'wg pubkey' prints)");
	}
	if ((v = get(r, n, "endpoints"))) {
		yaml_node_item_t *items, one;
		size_t cnt = list_items(r, v, &items, &one, "endpoints");

		if (cnt) {
			t->endpoints = calloc(cnt, sizeof(*t->endpoints));
			if (!t->endpoints) {
				err(r, v, "out of memory");
				return;
			}
			t->n_endpoints = cnt;
			for (size_t i = 0; i < cnt; i++)
				get_endpoint(r, node(r, items[i]), &t->endpoints[i]);
		}
	}
	if ((v = get(r, n, "zones"))) {
		yaml_node_item_t *items, one;
		size_t cnt = list_items(r, v, &items, &one, "zones");

		if (cnt) {
			r->tp_zones[idx] = calloc(cnt, sizeof(struct ref));
			if (!r->tp_zones[idx]) {
				err(r, v, "out of memory");
				return;
			}
			r->n_tp_zones[idx] = cnt;
			for (size_t i = 0; i < cnt; i++) {
				yaml_node_t *z = node(r, items[i]);
				char name[TP_NAME_MAX];

				if (get_name(r, z, name, "zone name"))
					set_ref(&r->tp_zones[idx][i], z, name);
			}
		}
	}
}

static const char *const zone_keys[] = {"name", "id", "tp", "prefixes", NULL};

static void read_zone(struct reader *r, yaml_node_t *n, size_t idx)
{
	struct tp_zone *z = &r->site->zones[idx];
	unsigned long long id;
	yaml_node_t *v;

	z->loc = loc_of(n);
	z->tp = UINT32_MAX;
	if (!check_map(r, n, zone_keys, "zone"))
		return;
	if ((v = require(r, n, "name", "zone")))
		get_name(r, v, z->name, "zone name");
	if ((v = require(r, n, "id", "zone")) && get_uint(r, v, 1, UINT32_MAX - 1, &id, "zone id"))
		z->id = (uint32_t)id;
	if ((v = get(r, n, "tp"))) {
		char name[TP_NAME_MAX];

		if (get_name(r, v, name, "transition point name"))
			set_ref(&r->zone_tp[idx], v, name);
	}
	if ((v = require(r, n, "prefixes", "zone"))) {
		yaml_node_item_t *items, one;
		size_t cnt = list_items(r, v, &items, &one, "prefixes");

		if (!cnt) {
			if (v->type == YAML_SEQUENCE_NODE)
				err(r, v, "zone '%s' has no prefixes", z->name);
			return;
		}
		z->prefixes = calloc(cnt, sizeof(*z->prefixes));
		r->locs->prefix[idx] = calloc(cnt, sizeof(struct tp_srcloc));
		if (!z->prefixes || !r->locs->prefix[idx]) {
			err(r, v, "out of memory");
			return;
		}
		z->n_prefixes = cnt;
		for (size_t i = 0; i < cnt; i++) {
			yaml_node_t *p = node(r, items[i]);

			r->locs->prefix[idx][i] = loc_of(p);
			if (!want_scalar(r, p, "prefix"))
				continue;
			if (!tp_prefix_parse(scalar(p), &z->prefixes[i]))
				err(r, p,
				    "bad prefix '%.80s': expected ADDRESS/LEN with the host bits "
				    "zero",
				    scalar(p));
		}
	}
}

/* One `icmp:` entry: a type number, a name, or {type: T, code: C}. */
static bool get_icmp(struct reader *r, yaml_node_t *n, uint8_t proto, struct tp_icmp_match *m)
{
	static const char *const keys[] = {"type", "code", NULL};
	static const struct {
		const char *name;
		uint8_t v4, v6;
	} names[] = {
		{"echo-request", 8, 128},
		{"echo-reply", 0, 129},
		{"destination-unreachable", 3, 1},
		{"time-exceeded", 11, 3},
	};
	unsigned long long v;
	yaml_node_t *t, *c;

	m->code = -1;
	if (is_scalar(n)) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(scalar(n), names[i].name) == 0) {
				m->type = proto == 58 ? names[i].v6 : names[i].v4;
				return true;
			}
		}
		if (!parse_ulong(scalar(n), &v)) {
			err(r, n,
			    "bad ICMP type '%.40s': expected a number, {type: T, code: C}, or "
			    "echo-request, echo-reply, destination-unreachable, time-exceeded",
			    scalar(n));
			return false;
		}
		return get_uint(r, n, 0, 255, &v, "ICMP type") && (m->type = (uint8_t)v, true);
	}
	if (!check_map(r, n, keys, "ICMP match"))
		return false;
	if (!(t = require(r, n, "type", "ICMP match")) || !get_uint(r, t, 0, 255, &v, "ICMP type"))
		return false;
	m->type = (uint8_t)v;
	if ((c = get(r, n, "code"))) {
		if (!get_uint(r, c, 0, 255, &v, "ICMP code"))
			return false;
		m->code = (int16_t)v;
	}
	return true;
}

static void read_modbus(struct reader *r, yaml_node_t *n, struct tp_rule *rule)
{
	static const char *const keys[] = {"unit_ids", "function_codes", "registers", NULL};
	struct tp_modbus_profile *m = &rule->modbus;
	struct tp_port_range *ranges = NULL;
	size_t nr = 0;
	yaml_node_t *v;

	rule->profile = TP_PROFILE_MODBUS;
	if (!check_map(r, n, keys, "modbus profile"))
		return;
	for (int which = 0; which < 2; which++) {
		const char *key = which ? "function_codes" : "unit_ids";
		unsigned long long lo = which ? 1 : 0, hi = which ? 127 : 255, x;
		yaml_node_item_t *items, one;
		uint8_t **arr = which ? &m->function_codes : &m->unit_ids;
		size_t *cnt = which ? &m->n_function_codes : &m->n_unit_ids;
		size_t c;

		if (!(v = get(r, n, key)))
			continue;
		c = list_items(r, v, &items, &one, key);
		if (!c)
			continue;
		*arr = calloc(c, 1);
		if (!*arr) {
			err(r, v, "out of memory");
			return;
		}
		*cnt = c;
		for (size_t i = 0; i < c; i++)
			if (get_uint(r, node(r, items[i]), lo, hi, &x,
				     which ? "Modbus function code" : "Modbus unit id"))
				(*arr)[i] = (uint8_t)x;
	}
	if ((v = get(r, n, "registers")) && get_ranges(r, v, &ranges, &nr, 65535, "register") &&
	    nr) {
		m->registers = calloc(nr, sizeof(*m->registers));
		if (!m->registers) {
			err(r, v, "out of memory");
		} else {
			m->n_registers = nr;
			for (size_t i = 0; i < nr; i++)
				m->registers[i] = (struct tp_u16_range){ranges[i].lo, ranges[i].hi};
		}
	}
	free(ranges);
}

static const char *const rule_keys[] = {
	"id",	      "name",	   "from",   "to",	 "action", "proto",
	"dst_ports",  "src_ports", "icmp",   "stateful", "log",	   "rate_limit",
	"not_before", "not_after", "modbus", NULL,
};

static void read_rule(struct reader *r, yaml_node_t *n, size_t idx)
{
	struct tp_rule *rule = &r->site->rules[idx];
	unsigned long long x;
	yaml_node_t *v, *vp;
	char name[TP_NAME_MAX];

	rule->loc = loc_of(n);
	rule->stateful = true;
	rule->from_zone = rule->to_zone = TP_ZONE_NONE;
	if (!check_map(r, n, rule_keys, "conduit"))
		return;
	if ((v = require(r, n, "id", "conduit")) && get_uint(r, v, 1, UINT32_MAX, &x, "conduit id"))
		rule->id = (uint32_t)x;
	if ((v = get(r, n, "name")) && want_scalar(r, v, "name")) {
		if (strlen(scalar(v)) >= TP_NAME_MAX)
			err(r, v, "conduit name longer than %d bytes", TP_NAME_MAX - 1);
		else
			snprintf(rule->name, sizeof(rule->name), "%s", scalar(v));
	}
	if ((v = require(r, n, "from", "conduit")) && get_name(r, v, name, "zone name"))
		set_ref(&r->rule_from[idx], v, name);
	if ((v = require(r, n, "to", "conduit")) && get_name(r, v, name, "zone name"))
		set_ref(&r->rule_to[idx], v, name);
	if ((v = require(r, n, "action", "conduit")) && want_scalar(r, v, "action")) {
		if (strcmp(scalar(v), "allow") == 0)
			rule->action = TP_ACTION_ALLOW;
		else if (strcmp(scalar(v), "deny") == 0)
			rule->action = TP_ACTION_DENY;
		else
			err(r, v, "bad action '%.40s': expected allow or deny", scalar(v));
	}
	if ((vp = get(r, n, "proto")) && want_scalar(r, vp, "proto")) {
		int p = strcmp(scalar(vp), "any") == 0 ? 0 : tp_proto_from_name(scalar(vp));

		if (p < 0)
			err(r, vp,
			    "unknown protocol '%.40s': expected tcp, udp, sctp, icmp, icmpv6, "
			    "any or a number 0..255",
			    scalar(vp));
		else
			rule->proto = (uint8_t)p;
	}
	for (int which = 0; which < 2; which++) {
		const char *key = which ? "src_ports" : "dst_ports";

		if (!(v = get(r, n, key)))
			continue;
		if (!tp_proto_has_ports(rule->proto)) {
			err(r, v, "%s needs proto tcp, udp, sctp or udplite", key);
			continue;
		}
		if (which)
			get_ranges(r, v, &rule->src_ports, &rule->n_src_ports, 65535, "port");
		else
			get_ranges(r, v, &rule->dst_ports, &rule->n_dst_ports, 65535, "port");
	}
	if ((v = get(r, n, "icmp"))) {
		yaml_node_item_t *items, one;
		size_t cnt;

		if (!tp_proto_is_icmp(rule->proto)) {
			err(r, v, "icmp needs proto icmp or icmpv6");
		} else if ((cnt = list_items(r, v, &items, &one, "icmp"))) {
			rule->icmp = calloc(cnt, sizeof(*rule->icmp));
			if (!rule->icmp) {
				err(r, v, "out of memory");
				return;
			}
			rule->n_icmp = cnt;
			for (size_t i = 0; i < cnt; i++)
				get_icmp(r, node(r, items[i]), rule->proto, &rule->icmp[i]);
		}
	}
	if ((v = get(r, n, "stateful")))
		get_bool(r, v, &rule->stateful, "stateful");
	if ((v = get(r, n, "log")))
		get_bool(r, v, &rule->log, "log");
	if ((v = get(r, n, "rate_limit"))) {
		static const char *const keys[] = {"pps", "burst", NULL};
		yaml_node_t *p, *b;

		if (check_map(r, v, keys, "rate_limit") &&
		    (p = require(r, v, "pps", "rate_limit")) &&
		    get_uint(r, p, 1, UINT32_MAX, &x, "pps")) {
			rule->rate_pps = rule->rate_burst = (uint32_t)x;
			if ((b = get(r, v, "burst")) && get_uint(r, b, 1, UINT32_MAX, &x, "burst"))
				rule->rate_burst = (uint32_t)x;
		}
	}
	if ((v = get(r, n, "not_before")))
		get_time(r, v, &rule->not_before, "not_before");
	if ((v = get(r, n, "not_after")) && get_time(r, v, &rule->not_after, "not_after") &&
	    rule->not_before && rule->not_after <= rule->not_before)
		err(r, v, "not_after is not later than not_before: the conduit never exists");
	if ((v = get(r, n, "modbus"))) {
		if (rule->proto != 6)
			err(r, v, "a modbus profile needs proto tcp");
		else
			read_modbus(r, v, rule);
	}
}

static const char *const assertion_keys[] = {"name", "must_allow", "must_deny", "at", NULL};

static void read_assertion(struct reader *r, yaml_node_t *n, size_t idx)
{
	struct tp_assertion *a = &r->site->assertions[idx];
	yaml_node_t *al, *de, *v;
	char why[TP_FLOWSPEC_ERR_MAX];

	a->loc = loc_of(n);
	if (!check_map(r, n, assertion_keys, "assertion"))
		return;
	if ((v = get(r, n, "name")) && want_scalar(r, v, "name")) {
		if (strlen(scalar(v)) >= TP_NAME_MAX)
			err(r, v, "assertion name longer than %d bytes", TP_NAME_MAX - 1);
		else
			snprintf(a->name, sizeof(a->name), "%s", scalar(v));
	}
	al = get(r, n, "must_allow");
	de = get(r, n, "must_deny");
	if (!al == !de) {
		err(r, n, "an assertion has exactly one of 'must_allow' or 'must_deny'");
		return;
	}
	a->must_allow = al != NULL;
	v = al ? al : de;
	if (want_scalar(r, v, "flow") && !tp_flowspec_parse(scalar(v), &a->flow, why, sizeof(why)))
		err(r, v, "bad flow '%.80s': %s", scalar(v), why);
	if ((v = get(r, n, "at")))
		get_time(r, v, &a->at, "at");
}

/* Read one top-level list of items into a freshly allocated array. */
static void read_section(struct reader *r, yaml_node_t *root, const char *key, size_t elem,
			 void **arr, size_t *count,
			 void (*fn)(struct reader *, yaml_node_t *, size_t))
{
	yaml_node_t *v = get(r, root, key);
	size_t cnt;

	if (!v)
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		err(r, v, "'%s' must be a list", key);
		return;
	}
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (!cnt)
		return;
	*arr = calloc(cnt, elem);
	if (!*arr) {
		err(r, v, "out of memory");
		return;
	}
	*count = cnt;
	/* Side tables the items fill in, sized now that the count is known. */
	if (arr == (void **)&r->site->zones) {
		r->zone_tp = calloc(cnt, sizeof(*r->zone_tp));
		r->locs->prefix = calloc(cnt, sizeof(*r->locs->prefix));
		if (!r->zone_tp || !r->locs->prefix) {
			err(r, v, "out of memory");
			*count = 0;
			return;
		}
		r->locs->n_zones = cnt;
	} else if (arr == (void **)&r->site->rules) {
		r->rule_from = calloc(cnt, sizeof(*r->rule_from));
		r->rule_to = calloc(cnt, sizeof(*r->rule_to));
		if (!r->rule_from || !r->rule_to) {
			err(r, v, "out of memory");
			*count = 0;
			return;
		}
	} else if (arr == (void **)&r->site->tps) {
		r->tp_zones = calloc(cnt, sizeof(*r->tp_zones));
		r->n_tp_zones = calloc(cnt, sizeof(*r->n_tp_zones));
		if (!r->tp_zones || !r->n_tp_zones) {
			err(r, v, "out of memory");
			*count = 0;
			return;
		}
	}
	for (size_t i = 0; i < cnt; i++)
		fn(r, node(r, v->data.sequence.items.start[i]), i);
}

/*
 * Name and id lookups for resolve(): sorted indexes, so a file with many
 * zones or conduits costs n log n, not n^2.
 */
struct key_idx {
	const char *name; /* NULL when sorting by id */
	uint32_t id;
	uint32_t idx;
};

static int cmp_key_idx(const void *x, const void *y)
{
	const struct key_idx *a = x, *b = y;
	int c = a->name ? strcmp(a->name, b->name) : 0;

	if (c)
		return c;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Index of the first item named name in a sorted index, or UINT32_MAX. */
static uint32_t find_name(const struct key_idx *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(v[lo].name, name) == 0 ? v[lo].idx : UINT32_MAX;
}

static struct key_idx *index_of(size_t n, const void *base, size_t stride, size_t name_off,
				size_t id_off, bool by_name)
{
	struct key_idx *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *item = (const char *)base + i * stride;

		v[i].name = by_name ? item + name_off : NULL;
		v[i].id = by_name ? 0 : *(const uint32_t *)(const void *)(item + id_off);
		v[i].idx = (uint32_t)i;
	}
	qsort(v, n, sizeof(*v), cmp_key_idx);
	return v;
}

/* The zone's hosting TP: from its own `tp:` or from a TP's `zones:`
 * list; more than one TP is an error wherever it was said. */
static void host_zone(struct reader *r, uint32_t z, uint32_t t, const struct ref *said,
		      const struct ref **first)
{
	struct tp_site *s = r->site;
	struct tp_zone *zn = &s->zones[z];

	if (zn->tp == UINT32_MAX) {
		zn->tp = t;
		*first = said;
	} else if (zn->tp != t) {
		tp_diag_add(r->d, TP_DIAG_ERROR, said->loc,
			    "zone '%s' is on two transition points: '%s' (at %u:%u) and '%s'",
			    zn->name, s->tps[zn->tp].name, (*first)->loc.line, (*first)->loc.col,
			    s->tps[t].name);
	}
}

/* Names must be unique; zones name their TP; conduits name their zones. */
static void resolve(struct reader *r)
{
	struct tp_site *s = r->site;
	struct key_idx *tps, *zn, *zid = NULL, *rid = NULL;
	const struct ref **first = NULL;

	tps = index_of(s->n_tps, s->tps, sizeof(*s->tps), offsetof(struct tp_tpoint, name), 0,
		       true);
	zn = index_of(s->n_zones, s->zones, sizeof(*s->zones), offsetof(struct tp_zone, name), 0,
		      true);
	zid = index_of(s->n_zones, s->zones, sizeof(*s->zones), 0, offsetof(struct tp_zone, id),
		       false);
	rid = index_of(s->n_rules, s->rules, sizeof(*s->rules), 0, offsetof(struct tp_rule, id),
		       false);
	first = calloc(s->n_zones ? s->n_zones : 1, sizeof(*first));
	if (!tps || !zn || !zid || !rid || !first) {
		tp_diag_add(r->d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
		goto out;
	}
	for (size_t i = 1; i < s->n_tps; i++) {
		const struct tp_tpoint *a = &s->tps[tps[i - 1].idx], *b = &s->tps[tps[i].idx];

		if (b->name[0] && strcmp(a->name, b->name) == 0)
			tp_diag_add(r->d, TP_DIAG_ERROR, b->loc,
				    "transition point '%s' defined twice (first at %u:%u)", b->name,
				    a->loc.line, a->loc.col);
	}
	/* Hosting: first what each zone says, then the TPs' lists. */
	for (size_t i = 0; i < s->n_zones; i++) {
		struct ref *ref = &r->zone_tp[i];
		uint32_t t;

		if (!s->zones[i].name[0] || !ref->set)
			continue;
		t = find_name(tps, s->n_tps, ref->name);
		if (t == UINT32_MAX)
			tp_diag_add(r->d, TP_DIAG_ERROR, ref->loc, "unknown transition point '%s'",
				    ref->name);
		else
			host_zone(r, (uint32_t)i, t, ref, &first[i]);
	}
	for (size_t t = 0; r->tp_zones && t < s->n_tps; t++)
		for (size_t k = 0; k < r->n_tp_zones[t]; k++) {
			const struct ref *l = &r->tp_zones[t][k];
			uint32_t z;

			if (!l->set)
				continue;
			z = find_name(zn, s->n_zones, l->name);
			if (z == UINT32_MAX)
				tp_diag_add(r->d, TP_DIAG_ERROR, l->loc, "unknown zone '%s'",
					    l->name);
			else if (!r->zone_tp[z].set || s->zones[z].tp != UINT32_MAX)
				host_zone(r, z, (uint32_t)t, l, &first[z]);
		}
	for (size_t i = 0; i < s->n_zones; i++)
		if (s->zones[i].name[0] && s->zones[i].tp == UINT32_MAX && !r->zone_tp[i].set)
			tp_diag_add(r->d, TP_DIAG_ERROR, s->zones[i].loc,
				    "zone '%s' has no transition point: add 'tp: NAME'",
				    s->zones[i].name);
	for (size_t i = 1; i < s->n_zones; i++) {
		const struct tp_zone *a = &s->zones[zn[i - 1].idx], *b = &s->zones[zn[i].idx];

		if (!b->name[0] || strcmp(a->name, b->name) != 0)
			continue;
		/* a name written twice: either a second definition of the
		 * same zone or, with another TP, the zone on two TPs */
		a = &s->zones[find_name(zn, s->n_zones, b->name)];
		if (a->tp != b->tp && a->tp != UINT32_MAX && b->tp != UINT32_MAX)
			tp_diag_add(
				r->d, TP_DIAG_ERROR, b->loc,
				"zone '%s' is on two transition points: '%s' (at %u:%u) and '%s'",
				b->name, s->tps[a->tp].name, a->loc.line, a->loc.col,
				s->tps[b->tp].name);
		else
			tp_diag_add(r->d, TP_DIAG_ERROR, b->loc,
				    "zone '%s' defined twice (first at %u:%u)", b->name,
				    a->loc.line, a->loc.col);
	}
	for (size_t i = 1; i < s->n_zones; i++) {
		const struct tp_zone *a = &s->zones[zid[i - 1].idx], *b = &s->zones[zid[i].idx];

		/* same name: already reported */
		if (a->id && a->id == b->id && strcmp(a->name, b->name) != 0)
			tp_diag_add(r->d, TP_DIAG_ERROR, b->loc,
				    "zone id %u of '%s' is already used by zone '%s' (at %u:%u)",
				    b->id, b->name, a->name, a->loc.line, a->loc.col);
	}
	for (size_t i = 1; i < s->n_rules; i++) {
		const struct tp_rule *a = &s->rules[rid[i - 1].idx], *b = &s->rules[rid[i].idx];

		if (a->id && a->id == b->id)
			tp_diag_add(r->d, TP_DIAG_ERROR, b->loc,
				    "duplicate conduit id %u (first at %u:%u)", b->id, a->loc.line,
				    a->loc.col);
	}
	for (size_t i = 0; i < s->n_rules; i++) {
		struct tp_rule *rule = &s->rules[i];

		for (int which = 0; which < 2; which++) {
			struct ref *ref = which ? &r->rule_to[i] : &r->rule_from[i];
			uint32_t *zone = which ? &rule->to_zone : &rule->from_zone;

			if (!ref->set)
				continue;
			*zone = find_name(zn, s->n_zones, ref->name);
			if (*zone == UINT32_MAX)
				tp_diag_add(r->d, TP_DIAG_ERROR, ref->loc, "unknown zone '%s'",
					    ref->name);
		}
	}
out:
	free(tps);
	free(zn);
	free(zid);
	free(rid);
	free(first);
}

static const char *const top_keys[] = {
	"site", "transition_points", "zones", "conduits", "assertions", NULL,
};

/* First pass: refuse aliases, anchors, deep nesting and extra documents. */
static bool prescan(const char *buf, size_t len, struct tp_diags *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0;
	bool ok = true, done = false;

	if (!yaml_parser_initialize(&p))
		return false;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (ok && !done) {
		struct tp_srcloc loc;

		if (!yaml_parser_parse(&p, &ev)) {
			tp_diag_add(d, TP_DIAG_ERROR,
				    (struct tp_srcloc){(uint32_t)p.problem_mark.line + 1,
						       (uint32_t)p.problem_mark.column + 1},
				    "YAML syntax: %s%s%s", p.problem ? p.problem : "error",
				    p.context ? " " : "", p.context ? p.context : "");
			ok = false;
			break;
		}
		loc = (struct tp_srcloc){(uint32_t)ev.start_mark.line + 1,
					 (uint32_t)ev.start_mark.column + 1};
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				tp_diag_add(d, TP_DIAG_ERROR, loc,
					    "a policy file holds one YAML document");
				ok = false;
			}
			break;
		case YAML_ALIAS_EVENT:
			tp_diag_add(d, TP_DIAG_ERROR, loc,
				    "YAML aliases are not supported in policy files");
			ok = false;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT
							    ? ev.data.scalar.anchor
						    : ev.type == YAML_SEQUENCE_START_EVENT
							    ? ev.data.sequence_start.anchor
							    : ev.data.mapping_start.anchor;
			if (anchor) {
				tp_diag_add(d, TP_DIAG_ERROR, loc,
					    "YAML anchors are not supported in policy files");
				ok = false;
			}
			if (ev.type != YAML_SCALAR_EVENT && ++depth > TP_YAML_MAX_DEPTH) {
				tp_diag_add(d, TP_DIAG_ERROR, loc, "nested deeper than %d levels",
					    TP_YAML_MAX_DEPTH);
				ok = false;
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return ok;
}

static void reader_free_side(struct reader *r)
{
	for (size_t t = 0; r->tp_zones && t < r->site->n_tps; t++)
		free(r->tp_zones[t]);
	free(r->tp_zones);
	free(r->n_tp_zones);
	free(r->zone_tp);
	free(r->rule_from);
	free(r->rule_to);
}

struct tp_site *tp_yaml_read(const char *buf, size_t len, struct tp_diags *d,
			     struct tp_site_locs **locs_out)
{
	struct reader r = {.d = d, .errors_at_start = d->n_errors};
	yaml_parser_t p;
	yaml_node_t *root, *v;
	bool loaded = false;

	if (locs_out)
		*locs_out = NULL;
	if (len > TP_YAML_MAX_BYTES) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "file larger than %u bytes",
			    TP_YAML_MAX_BYTES);
		return NULL;
	}
	if (!prescan(buf, len, d))
		return NULL;
	r.site = calloc(1, sizeof(*r.site));
	r.locs = calloc(1, sizeof(*r.locs));
	if (!r.site || !r.locs || !yaml_parser_initialize(&p))
		goto fail_nomem;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	loaded = yaml_parser_load(&p, &r.doc);
	if (!loaded) {
		/* the prescan accepted the syntax: this is a resource limit */
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "cannot load YAML: %s",
			    p.problem ? p.problem : "out of memory");
		yaml_parser_delete(&p);
		goto fail;
	}
	yaml_parser_delete(&p);
	root = yaml_document_get_root_node(&r.doc);
	if (!root) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){1, 1}, "empty policy file");
		goto fail;
	}
	if (!check_map(&r, root, top_keys, "the policy file"))
		goto fail;
	if ((v = get(&r, root, "site")))
		get_name(&r, v, r.site->name, "site name");
	read_section(&r, root, "transition_points", sizeof(struct tp_tpoint), (void **)&r.site->tps,
		     &r.site->n_tps, read_tp);
	read_section(&r, root, "zones", sizeof(struct tp_zone), (void **)&r.site->zones,
		     &r.site->n_zones, read_zone);
	read_section(&r, root, "conduits", sizeof(struct tp_rule), (void **)&r.site->rules,
		     &r.site->n_rules, read_rule);
	read_section(&r, root, "assertions", sizeof(struct tp_assertion),
		     (void **)&r.site->assertions, &r.site->n_assertions, read_assertion);
	resolve(&r);
	if (d->n_errors != r.errors_at_start)
		goto fail;
	reader_free_side(&r);
	yaml_document_delete(&r.doc);
	if (locs_out)
		*locs_out = r.locs;
	else
		tp_site_locs_free(r.locs);
	return r.site;

fail_nomem:
	tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "out of memory");
fail:
	if (r.site)
		reader_free_side(&r);
	if (loaded)
		yaml_document_delete(&r.doc);
	tp_site_locs_free(r.locs);
	tp_site_free(r.site);
	return NULL;
}

struct tp_site *tp_yaml_read_file(const char *path, struct tp_diags *d, struct tp_site_locs **locs)
{
	struct tp_site *site = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	long sz;

	if (locs)
		*locs = NULL;
	f = fopen(path, "rb");
	if (!f) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "cannot open: %s",
			    strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out_io;
	if ((unsigned long)sz > TP_YAML_MAX_BYTES) {
		tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "file larger than %u bytes",
			    TP_YAML_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)sz + 1);
	if (!buf)
		goto out_io;
	len = fread(buf, 1, (size_t)sz, f);
	if (len != (size_t)sz)
		goto out_io;
	site = tp_yaml_read(buf, len, d, locs);
	if (site) {
		site->source_file = strdup(path);
		if (!site->source_file) {
			tp_site_free(site);
			tp_site_locs_free(locs ? *locs : NULL);
			if (locs)
				*locs = NULL;
			site = NULL;
			goto out_io;
		}
	}
	goto out;
out_io:
	tp_diag_add(d, TP_DIAG_ERROR, (struct tp_srcloc){0}, "cannot read: %s",
		    errno ? strerror(errno) : "short read");
out:
	free(buf);
	fclose(f);
	return site;
}
