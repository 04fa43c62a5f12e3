// SPDX-License-Identifier: MIT
/*
 * Verification export: intent of each TP of the example plants, the
 * effective-state builder tpd uses, canonical bytes (write, read, write
 * gives the same bytes), no secret in the document, and the strict reader's
 * refusal of every class of malformed document.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/export.h"
#include "tp/policy/yaml.h"

static const char *examples_dir;

/* Every field a conduit can have, IPv6, nested prefixes. */
static const char full_site[] =
	"site: full\n"
	"transition_points:\n"
	"  - name: tp1\n"
	"    public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg=\n"
	"    endpoints: [192.0.2.11:51820, \"[2001:db8::11]:51821\"]\n"
	"  - name: tp2\n"
	"    public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs=\n"
	"    endpoints: [192.0.2.12:51820]\n"
	"zones:\n"
	"  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16, \"fd00:1::/64\"] }\n"
	"  - { name: z1a, id: 5, tp: tp1, prefixes: [10.1.7.0/24] }\n"
	"  - { name: z2, id: 2, tp: tp2, prefixes: [10.2.0.0/16] }\n"
	"conduits:\n"
	"  - id: 10\n"
	"    name: every-field\n"
	"    from: z1\n"
	"    to: z2\n"
	"    action: allow\n"
	"    proto: tcp\n"
	"    dst_ports: [502, 1000-2000]\n"
	"    src_ports: [40000-65535]\n"
	"    stateful: false\n"
	"    rate_limit: { pps: 50, burst: 100 }\n"
	"    not_before: 2026-12-01T08:00:00Z\n"
	"    not_after: 2026-12-01T16:00:00Z\n"
	"    log: true\n"
	"    modbus: { unit_ids: [1, 2], function_codes: [1, 3], registers: [0-99] }\n"
	"  - { id: 20, from: z2, to: z1, action: allow, proto: icmp,\n"
	"      icmp: [echo-request, {type: 3, code: 4}] }\n"
	"  - { id: 30, from: z2, to: z1a, action: deny }\n"
	"assertions:\n"
	"  - name: ping\n"
	"    must_allow: \"icmp 10.2.0.5 -> 10.1.0.5 type 8 code 0\"\n"
	"  - name: later\n"
	"    must_deny: \"tcp 10.1.0.5:40000 -> 10.2.0.5:502\"\n"
	"    at: 2026-12-02T00:00:00Z\n";

#define NOW 1795824000 /* 2026-11-28T00:00:00Z */

static struct tp_site *site_from(const char *text)
{
	struct tp_diags d;
	struct tp_site *s;

	tp_diag_init(&d, "t.yaml");
	s = tp_yaml_read(text, strlen(text), &d, NULL);
	if (!s)
		tp_diag_print(&d, stderr);
	tp_diag_free(&d);
	return s;
}

static struct tp_site *site_file(const char *name)
{
	char path[512];
	struct tp_diags d;
	struct tp_site *s;

	snprintf(path, sizeof(path), "%s/%s", examples_dir, name);
	tp_diag_init(&d, path);
	s = tp_yaml_read_file(path, &d, NULL);
	tp_diag_free(&d);
	return s;
}

/* dumps(read(dumps(x))) == dumps(x) */
static void assert_roundtrip(const struct tp_export *x)
{
	char *a = tp_export_dumps(x), *b, err[256];
	struct tp_export *y;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	y = tp_export_read(a, strlen(a), err, sizeof(err));
	if (!y)
		fprintf(stderr, "read back: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	b = tp_export_dumps(y);
	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
	tp_export_free(y);
}

static void test_lab_intent(void)
{
	struct tp_site *s = site_file("lab-plant.yaml");
	struct tp_export *x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* tp3 hosts z3 and z4: conduits from or to them, peers tp1 and tp2 */
	x = tp_export_intent(s, tp_site_tp_by_name(s, "tp3"), NULL, NULL, 0, NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(x->kind, TP_EXPORT_INTENT);
	CU_ASSERT_STRING_EQUAL(x->tp_name, "tp3");
	CU_ASSERT_EQUAL(x->n_local_zones, 2);
	CU_ASSERT_EQUAL(x->n_rules, 6); /* 20 21 22 23 30 90 */
	for (size_t i = 0; i < x->n_rules; i++)
		CU_ASSERT(x->rules[i].id != 10);
	CU_ASSERT_EQUAL(x->n_peers, 2);
	CU_ASSERT_FALSE(x->has_hits);
	CU_ASSERT_FALSE(x->has_bundle_hash);
	/* XDP passes (local, other) pairs with an allow either way: z3<->z1
	 * (pings both ways), z4->z2 (telemetry replies go z4 -> z2) */
	CU_ASSERT_TRUE(x->has_xdp);
	CU_ASSERT_EQUAL(x->n_xdp_pairs, 2);
	assert_roundtrip(x);
	tp_export_free(x);
	tp_site_free(s);
}

/* A `stateful: false` conduit z1 -> z2 opens z1 -> z2 at tp1 and nothing
 * at tp2: no reply crosses tp2's zone port (DESIGN.md §7.4). */
static void test_stateless_xdp_intent(void)
{
	static const char one_way[] =
		"transition_points:\n"
		"  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
		"  - { name: tp2, public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs= }\n"
		"zones:\n"
		"  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"
		"  - { name: z2, id: 2, tp: tp2, prefixes: [10.2.0.0/16] }\n"
		"conduits:\n"
		"  - { id: 10, from: z1, to: z2, action: allow, proto: udp, dst_ports: [514],\n"
		"      stateful: false }\n";
	struct tp_site *s = site_from(one_way);
	struct tp_export *x1, *x2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	x1 = tp_export_intent(s, 0, NULL, NULL, 0, NOW);
	x2 = tp_export_intent(s, 1, NULL, NULL, 0, NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x2);
	CU_ASSERT_EQUAL(x1->n_xdp_pairs, 1);
	CU_ASSERT_EQUAL(x1->xdp_pairs[0].from, 0);
	CU_ASSERT_EQUAL(x1->xdp_pairs[0].to, 1);
	CU_ASSERT_TRUE(x2->has_xdp);
	CU_ASSERT_EQUAL(x2->n_xdp_pairs, 0);
	/* the conduit is still enforced at both ends */
	CU_ASSERT_EQUAL(x2->n_rules, 1);
	assert_roundtrip(x2);
	tp_export_free(x1);
	tp_export_free(x2);
	tp_site_free(s);
}

static void test_plant_intents(void)
{
	struct tp_site *s = site_file("plant.yaml");

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (uint32_t t = 0; t < s->n_tps; t++) {
		struct tp_export *x = tp_export_intent(s, t, NULL, NULL, 0, NOW);

		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		assert_roundtrip(x);
		tp_export_free(x);
	}
	CU_ASSERT_PTR_NULL(tp_export_intent(s, (uint32_t)s->n_tps, NULL, NULL, 0, NOW));
	tp_site_free(s);
}

static void test_every_field(void)
{
	struct tp_site *s = site_from(full_site);
	struct tp_export *x;
	struct tp_bundle_info info = {
		.version = 7, .issued_at = NOW - 60, .expires_at = NOW + 86400};
	const uint8_t bundle[] = "not really a bundle, only hashed";
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	x = tp_export_intent(s, 0, &info, bundle, sizeof(bundle), NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_TRUE(x->has_bundle_hash);
	CU_ASSERT_EQUAL(x->policy_version, 7);
	assert_roundtrip(x);
	text = tp_export_dumps(x);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"[2001:db8::11]:51821\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"not_after\": \"2026-12-01T16:00:00Z\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"schema\": \"tableau-export/1\""));
	free(text);
	tp_export_free(x);
	tp_site_free(s);
}

/* What tpd does: identity, then policy, then live state. */
static void test_effective_builder(void)
{
	struct tp_site *s = site_from(full_site);
	const uint8_t pub[32] = {1, 2, 3};
	struct tp_endpoint ep = {.addr = {.family = TP_AF_INET, .len = 32, .addr = {192, 0, 2, 99}},
				 .port = 51999};
	char zones[1][TP_NAME_MAX] = {"z2"};
	struct tp_export_peer p = {.name = "tp2",
				   .endpoints = &ep,
				   .n_endpoints = 1,
				   .zones = zones,
				   .n_zones = 1,
				   .handshake = "established",
				   .last_handshake = NOW - 5};
	const uint32_t ids[] = {10, 20, 99};
	const uint64_t hits[] = {5, 0, 1};
	const uint32_t lim_ids[] = {10, 99};
	const uint64_t lim[] = {7, 1};
	const uint32_t pairs[][2] = {{0, 2}};
	struct tp_export *x, *y;
	char *text, err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	x = tp_export_new("tp1", pub, "9.9.9", "fail-closed", NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(x->kind, TP_EXPORT_EFFECTIVE);
	/* no policy: a valid document that says so */
	assert_roundtrip(x);
	CU_ASSERT_EQUAL(tp_export_set_policy(x, s, NULL, NULL, 0), 0);
	memset(p.pubkey, 7, sizeof(p.pubkey));
	CU_ASSERT_EQUAL(tp_export_add_peer(x, &p), 0);
	CU_ASSERT_EQUAL(x->n_peers, 1);					   /* replaced, not added */
	CU_ASSERT_EQUAL(tp_export_set_counters(x, ids, hits, 3), -ENOENT); /* 99 unknown */
	CU_ASSERT_EQUAL(tp_export_set_rate_limited(x, lim_ids, lim, 2), -ENOENT);
	tp_export_set_flows(x, 12, 65536);
	CU_ASSERT_EQUAL(tp_export_set_xdp(x, pairs, 1), 0);
	CU_ASSERT_EQUAL(tp_export_add_counter(x, "drop.no_policy", 3), 0);
	text = tp_export_dumps(x);
	y = tp_export_read(text, strlen(text), err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_TRUE(y->has_hits);
	CU_ASSERT_EQUAL(y->hits[0], 5); /* rule 10 */
	CU_ASSERT_EQUAL(y->rate_limited[0], 7);
	/* only rule 10 has a rate_limit: only it carries the count */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"rate_limited\": 7"));
	CU_ASSERT_PTR_NULL(strstr(strstr(text, "\"rate_limited\": 7") + 1, "\"rate_limited\""));
	CU_ASSERT_EQUAL(y->flows_active, 12);
	CU_ASSERT_EQUAL(y->n_xdp_pairs, 1);
	CU_ASSERT_STRING_EQUAL(y->peers[0].handshake, "established");
	CU_ASSERT_EQUAL(y->peers[0].endpoints[0].port, 51999);
	CU_ASSERT_EQUAL(y->n_counters, 1);
	CU_ASSERT_STRING_EQUAL(y->software_version, "9.9.9");
	CU_ASSERT_EQUAL(memcmp(y->tp_pubkey, s->tps[0].pubkey, 32), 0); /* the policy's key */
	assert_roundtrip(y);
	/* the effective site carries the export's rules */
	{
		struct tp_site *e = tp_export_effective_site(y);

		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_EQUAL(e->n_rules, y->n_rules);
		CU_ASSERT_EQUAL(e->n_zones, s->n_zones);
		tp_site_free(e);
	}
	/* set_policy with a TP the site lacks */
	strcpy(y->tp_name, "nope");
	CU_ASSERT_EQUAL(tp_export_set_policy(y, s, NULL, NULL, 0), -ENOENT);
	free(text);
	tp_export_free(x);
	tp_export_free(y);
	tp_site_free(s);
}

static void test_endpoints(void)
{
	static const char *good[] = {"192.0.2.1:51820", "[2001:db8::1]:1", "0.0.0.0:0",
				     "[::]:65535"};
	static const char *bad[] = {
		"192.0.2.1",	 "192.0.2.1:",	       "192.0.2.1:65536", "2001:db8::1:51820",
		"[192.0.2.1]:1", "[2001:db8::1]51820", "10.0.0.0/8:1",	  ":1",
		"192.0.2.1:-1",	 "192.0.2.1:1x"};
	struct tp_endpoint e;
	char buf[80];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_TRUE_FATAL(tp_export_endpoint_parse(good[i], &e));
		CU_ASSERT_STRING_EQUAL(tp_export_endpoint_format(&e, buf, sizeof(buf)), good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tp_export_endpoint_parse(bad[i], &e))
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CU_ASSERT_FALSE(tp_export_endpoint_parse(bad[i], &e));
	}
}

/* Mutate a valid document with a jansson path edit and expect a refusal
 * whose message contains want. */
typedef void (*mutate_fn)(json_t *doc);

static void expect_refused(const char *base, mutate_fn m, const char *want)
{
	json_t *j = json_loads(base, 0, NULL);
	char *text, err[256] = "";
	struct tp_export *x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	m(j);
	text = json_dumps(j, JSON_COMPACT);
	x = tp_export_read(text, strlen(text), err, sizeof(err));
	CU_ASSERT_PTR_NULL(x);
	if (x || !strstr(err, want))
		fprintf(stderr, "\nwant '%s', got '%s'\n", want, x ? "accepted" : err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	tp_export_free(x);
	free(text);
	json_decref(j);
}

static json_t *site_of(json_t *d)
{
	return json_object_get(json_object_get(d, "policy"), "site");
}

static void m_unknown_key(json_t *d)
{
	json_object_set_new(d, "extra", json_true());
}
static void m_schema(json_t *d)
{
	json_object_set_new(d, "schema", json_string("tableau-export/2"));
}
static void m_kind(json_t *d)
{
	json_object_set_new(d, "kind", json_string("wishful"));
}
static void m_no_tp(json_t *d)
{
	json_object_del(d, "tp");
}
static void m_bad_key(json_t *d)
{
	json_object_set_new(json_object_get(d, "tp"), "public_key", json_string("AAAA"));
}
static void m_bad_time(json_t *d)
{
	json_object_set_new(d, "exported_at", json_string("yesterday"));
}
static void m_bad_hash(json_t *d)
{
	json_object_set_new(json_object_get(d, "policy"), "bundle_hash", json_string("ABCD"));
}
static void m_rule_zone(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "rules"), 0), "from",
			    json_string("nowhere"));
}
static void m_rule_order(json_t *d)
{
	json_t *r = json_object_get(d, "rules");

	json_array_append(r, json_array_get(r, 0));
}
static void m_limited_no_hits(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "rules"), 0), "rate_limited",
			    json_integer(1));
}
static void m_mixed_hits(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "rules"), 0), "hits",
			    json_integer(1));
}
static void m_port_range(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "rules"), 0), "dst_ports",
			    json_pack("[[i, i]]", 600, 500));
}
static void m_proto(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "rules"), 0), "proto",
			    json_integer(256));
}
static void m_peer_zone(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "peers"), 0), "zones",
			    json_pack("[s]", "ghost"));
}
static void m_peer_endpoint(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "peers"), 0), "endpoints",
			    json_pack("[s]", "192.0.2.1"));
}
static void m_xdp_pair(json_t *d)
{
	json_object_set_new(d, "xdp", json_pack("{s:[[s]]}", "pass_pairs", "z1"));
}
static void m_counter(json_t *d)
{
	json_object_set_new(json_object_get(d, "counters"), "x", json_integer(-1));
}
static void m_tp_not_in_site(json_t *d)
{
	json_object_set_new(json_object_get(d, "tp"), "name", json_string("tp9"));
}
static void m_site_dup_zone(json_t *d)
{
	json_t *z = json_object_get(site_of(d), "zones");

	json_array_append(z, json_array_get(z, 0));
}
static void m_site_prefix(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(site_of(d), "zones"), 0), "prefixes",
			    json_pack("[s]", "10.1.0.1/16"));
}
static void m_site_hits(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(site_of(d), "conduits"), 0), "hits",
			    json_integer(0));
}
static void m_site_flow(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(site_of(d), "assertions"), 0), "flow",
			    json_string("tcp 10.1.0.5 -> nowhere"));
}
static void m_not_object(json_t *d)
{
	json_object_set_new(d, "peers", json_object());
}
static void m_flows(json_t *d)
{
	json_object_set_new(d, "flows", json_pack("{s:i}", "active", 1));
}

static void test_reader_refusals(void)
{
	struct tp_site *s = site_from(full_site);
	struct tp_export *x;
	char *base, err[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	x = tp_export_intent(s, 0, NULL, (const uint8_t *)"b", 1, NOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	base = tp_export_dumps(x);
	expect_refused(base, m_unknown_key, "unknown key 'extra'");
	expect_refused(base, m_schema, "is not tableau-export/1");
	expect_refused(base, m_kind, "kind must be");
	expect_refused(base, m_no_tp, "tp: expected an object");
	expect_refused(base, m_bad_key, "not a base64 32-byte key");
	expect_refused(base, m_bad_time, "not an RFC 3339 UTC time");
	expect_refused(base, m_bad_hash, "64 lowercase hex");
	expect_refused(base, m_rule_zone, "unknown zone");
	expect_refused(base, m_rule_order, "sorted by id");
	expect_refused(base, m_mixed_hits, "every rule has 'hits' or none");
	expect_refused(base, m_limited_no_hits, "'rate_limited' only with 'hits'");
	expect_refused(base, m_port_range, "lo <= hi");
	expect_refused(base, m_proto, "'proto' out of range");
	expect_refused(base, m_peer_zone, "unknown zone 'ghost'");
	expect_refused(base, m_peer_endpoint, "not ADDRESS:PORT");
	expect_refused(base, m_xdp_pair, "expected [from, to]");
	expect_refused(base, m_counter, "non-negative integer");
	expect_refused(base, m_tp_not_in_site, "not a transition point of the policy");
	expect_refused(base, m_site_dup_zone, "duplicate name");
	expect_refused(base, m_site_prefix, "is not a prefix");
	expect_refused(base, m_site_hits, "no hit counter");
	expect_refused(base, m_site_flow, "flow:");
	expect_refused(base, m_not_object, "'peers' must be an array");
	expect_refused(base, m_flows, "missing 'capacity'");
	/* not JSON, duplicate keys, truncated */
	CU_ASSERT_PTR_NULL(tp_export_read("{", 1, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not JSON"));
	CU_ASSERT_PTR_NULL(tp_export_read("{\"a\":1,\"a\":2}", 13, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(tp_export_read(base, strlen(base) / 2, err, sizeof(err)));
	free(base);
	tp_export_free(x);
	tp_site_free(s);
}

static void test_canonical(void)
{
	struct tp_site *s = site_file("plant.yaml");
	struct tp_export *a, *b;
	char *ta, *tb;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	a = tp_export_intent(s, 1, NULL, NULL, 0, NOW);
	b = tp_export_intent(s, 1, NULL, NULL, 0, NOW);
	ta = tp_export_dumps(a);
	tb = tp_export_dumps(b);
	CU_ASSERT_STRING_EQUAL(ta, tb);
	/* sorted keys: "counters" is the first key, newline at the end */
	CU_ASSERT_EQUAL(strncmp(ta, "{\n  \"counters\"", 14), 0);
	CU_ASSERT_EQUAL(ta[strlen(ta) - 1], '\n');
	/* only integers: no '.' in a number (the text has no reals at all) */
	CU_ASSERT_PTR_NULL(strstr(ta, ".0,"));
	free(ta);
	free(tb);
	tp_export_free(a);
	tp_export_free(b);
	tp_site_free(s);
}

int main(int argc, char **argv)
{
	CU_pSuite s;
	unsigned failed;

	examples_dir = argc > 1 ? argv[1] : "deploy/examples";
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("export", NULL, NULL);
	CU_add_test(s, "lab plant intent of tp3", test_lab_intent);
	CU_add_test(s, "a stateless conduit opens one XDP pair", test_stateless_xdp_intent);
	CU_add_test(s, "example plant intents round-trip", test_plant_intents);
	CU_add_test(s, "every field round-trips", test_every_field);
	CU_add_test(s, "effective builder (tpd's API)", test_effective_builder);
	CU_add_test(s, "endpoints", test_endpoints);
	CU_add_test(s, "reader refuses each malformation", test_reader_refusals);
	CU_add_test(s, "canonical bytes", test_canonical);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
