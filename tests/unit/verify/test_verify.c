// SPDX-License-Identifier: MIT
/*
 * The verifier: for each of the ten checks, a crafted plant (or a crafted
 * change to one TP's export) that passes it and one that fails it, and the
 * failing finding names the TP, the conduit and a counterexample flow.
 *
 * The base plant: three TPs, three zones, a Modbus conduit a->b, a
 * telemetry conduit b->c, pings c->a, an explicit deny c->a tcp, and two
 * assertions. Its intent exports pass every check.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/export.h"
#include "tp/policy/flowspec.h"
#include "tp/policy/verify.h"
#include "tp/policy/yaml.h"

#define NOW 1795824000 /* 2026-11-28T00:00:00Z */

#define HEAD                                                             \
	"site: crafted\n"                                                \
	"transition_points:\n"                                           \
	"  - name: t1\n"                                                 \
	"    public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg=\n" \
	"    endpoints: [192.0.2.11:51820]\n"                            \
	"  - name: t2\n"                                                 \
	"    public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs=\n" \
	"    endpoints: [192.0.2.12:51820]\n"                            \
	"  - name: t3\n"                                                 \
	"    public_key: 9joMXYuFU6MOGdYcS0bEAv+wlD+5XTaz++rJSDTrIzU=\n" \
	"    endpoints: [192.0.2.13:51820]\n"                            \
	"zones:\n"                                                       \
	"  - { name: a, id: 1, tp: t1, prefixes: [10.1.0.0/16] }\n"      \
	"  - { name: b, id: 2, tp: t2, prefixes: [10.2.0.0/16] }\n"      \
	"  - { name: c, id: 3, tp: t3, prefixes: [10.3.0.0/16] }\n"

#define CONDUITS                                                                             \
	"conduits:\n"                                                                        \
	"  - { id: 10, from: a, to: b, action: allow, proto: tcp, dst_ports: [502] }\n"      \
	"  - { id: 20, from: b, to: c, action: allow, proto: udp, dst_ports: [5000] }\n"     \
	"  - { id: 30, from: c, to: a, action: allow, proto: icmp, icmp: [echo-request] }\n" \
	"  - { id: 40, from: c, to: a, action: deny, proto: tcp }\n"

#define ASSERTIONS                                                                   \
	"assertions:\n"                                                              \
	"  - { name: modbus, must_allow: \"tcp 10.1.0.5:40000 -> 10.2.0.5:502\" }\n" \
	"  - { name: no-reverse, must_deny: \"tcp 10.2.0.5:40000 -> 10.1.0.5:502\" }\n"

static const char base_yaml[] = HEAD CONDUITS ASSERTIONS;

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

struct plant {
	struct tp_site *site;
	struct tp_export *x[8];
	size_t n;
	struct tp_verify_report rep;
};

/* Intent exports of every TP of yaml (all of them "effective": they stand
 * for live TPs whose state the test then changes). */
static void plant_init(struct plant *p, const char *yaml)
{
	memset(p, 0, sizeof(*p));
	p->site = site_from(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->site);
	for (uint32_t t = 0; t < p->site->n_tps; t++) {
		p->x[p->n] = tp_export_intent(p->site, t, NULL, NULL, 0, NOW);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p->x[p->n]);
		p->x[p->n]->kind = TP_EXPORT_EFFECTIVE;
		p->n++;
	}
}

static struct tp_export *exp_of(struct plant *p, const char *tp)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->x[i]->tp_name, tp))
			return p->x[i];
	CU_FAIL_FATAL("no such export");
	return NULL;
}

static struct tp_rule *rule_of(struct tp_export *x, uint32_t id)
{
	for (size_t i = 0; i < x->n_rules; i++)
		if (x->rules[i].id == id)
			return &x->rules[i];
	CU_FAIL_FATAL("no such rule");
	return NULL;
}

/* Run with the plant's own site as the reference. */
static void run(struct plant *p, const struct tp_site *ref)
{
	struct tp_verify_input in = {
		.exports = p->x, .n_exports = p->n, .site = ref ? ref : p->site, .now = NOW};

	tp_verify_report_free(&p->rep);
	CU_ASSERT_EQUAL_FATAL(tp_verify_run(&in, &p->rep), 0);
}

static void plant_free(struct plant *p)
{
	for (size_t i = 0; i < p->n; i++)
		tp_export_free(p->x[i]);
	tp_verify_report_free(&p->rep);
	tp_site_free(p->site);
}

static void dump(const struct tp_verify_report *r)
{
	tp_verify_print(r, stderr);
}

/* Exactly these checks failed. */
static void expect_failed(struct plant *p, const enum tp_verify_check *v, size_t n)
{
	bool want[TP_VERIFY__COUNT] = {false}, ok = true;

	for (size_t i = 0; i < n; i++)
		want[v[i]] = true;
	for (int k = 1; k < TP_VERIFY__COUNT; k++)
		ok &= want[k] == p->rep.failed[k];
	if (!ok)
		dump(&p->rep);
	CU_ASSERT_TRUE(ok);
}

#define EXPECT_FAILED(p, ...)                                     \
	do {                                                      \
		const enum tp_verify_check v_[] = {__VA_ARGS__};  \
		expect_failed(p, v_, sizeof(v_) / sizeof(v_[0])); \
	} while (0)

static void expect_pass(struct plant *p)
{
	if (tp_verify_failed(&p->rep))
		dump(&p->rep);
	CU_ASSERT_FALSE(tp_verify_failed(&p->rep));
}

/* A failing finding of check k that mentions text, names conduit id (0:
 * any) and, when flow is not NULL, has that counterexample flow. */
static const struct tp_verify_finding *finding(struct plant *p, enum tp_verify_check k,
					       const char *text, uint32_t id, const char *flow)
{
	for (size_t i = 0; i < p->rep.n_findings; i++) {
		const struct tp_verify_finding *f = &p->rep.findings[i];
		bool has_id = !id;
		char fl[200];

		if (f->check != k || !f->fail || !strstr(f->msg, text))
			continue;
		for (size_t j = 0; j < f->n_rules; j++)
			has_id |= f->rules[j] == id;
		if (!has_id)
			continue;
		if (flow &&
		    (!f->has_flow || strcmp(tp_flowspec_format(&f->flow, fl, sizeof(fl)), flow)))
			continue;
		return f;
	}
	dump(&p->rep);
	fprintf(stderr, "no %s finding with '%s' conduit %u flow %s\n", tp_verify_check_name(k),
		text, id, flow ? flow : "-");
	return NULL;
}

static void test_base_passes(void)
{
	struct plant p;

	plant_init(&p, base_yaml);
	run(&p, NULL);
	expect_pass(&p);
	/* the matrix: a->b tcp/502, b->c udp/5000, c->a icmp 8 */
	CU_ASSERT_EQUAL(p.rep.n_matrix, 3);
	/* without --site: the exports' own policy is the reference */
	run(&p, NULL);
	{
		struct tp_verify_input in = {.exports = p.x, .n_exports = p.n, .now = NOW};

		tp_verify_report_free(&p.rep);
		CU_ASSERT_EQUAL(tp_verify_run(&in, &p.rep), 0);
		expect_pass(&p);
	}
	plant_free(&p);
}

static void test_integrity(void)
{
	struct plant p;
	const char *errs[] = {"t9.json: export: not JSON"};

	plant_init(&p, base_yaml);
	exp_of(&p, "t2")->policy_version = 3;
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_INTEGRITY);
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_INTEGRITY, "runs policy version 0 while t2", 0, NULL));
	plant_free(&p);

	/* a missing TP, an unreadable file */
	plant_init(&p, base_yaml);
	tp_export_free(p.x[--p.n]);
	{
		struct tp_verify_input in = {.exports = p.x,
					     .n_exports = p.n,
					     .load_errors = errs,
					     .n_load_errors = 1,
					     .site = p.site,
					     .now = NOW};

		CU_ASSERT_EQUAL_FATAL(tp_verify_run(&in, &p.rep), 0);
	}
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_INTEGRITY]);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_INTEGRITY, "no export from TP 't3'", 0, NULL));
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_INTEGRITY, "t9.json", 0, NULL));
	plant_free(&p);
}

static void test_drift(void)
{
	struct plant p;

	/* t2 lost a peer's endpoint: state drift, nothing else changes */
	plant_init(&p, base_yaml);
	exp_of(&p, "t2")->peers[0].endpoints[0].port = 1;
	run(&p, NULL);
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_DRIFT]);
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_DRIFT, "other endpoints than the intent", 0, NULL));
	plant_free(&p);

	/* a conduit that t1 enforces with another port */
	plant_init(&p, base_yaml);
	rule_of(exp_of(&p, "t1"), 10)->dst_ports[0] = (struct tp_port_range){503, 503};
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_DRIFT,
				       "differs from the intent in 'dst_ports'", 10,
				       "tcp 10.1.0.1:49152 -> 10.2.0.1:502"));
	/* XDP table drift */
	plant_free(&p);
	plant_init(&p, base_yaml);
	exp_of(&p, "t1")->n_xdp_pairs = 0;
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_DRIFT, "XDP drops zone pair a -> b", 0, NULL));
	plant_free(&p);
}

static void test_matrix(void)
{
	struct plant p;

	/* t1 and t2 both enforce conduit 10 on port 503 instead of 502: the
	 * ends agree (no black hole), but the plant is not the intent */
	plant_init(&p, base_yaml);
	rule_of(exp_of(&p, "t1"), 10)->dst_ports[0] = (struct tp_port_range){503, 503};
	rule_of(exp_of(&p, "t2"), 10)->dst_ports[0] = (struct tp_port_range){503, 503};
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_DRIFT, TP_VERIFY_MATRIX, TP_VERIFY_ASSERTIONS);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_MATRIX, "a -> b tcp/502: the intent allows it",
				       10, "tcp 10.1.0.1:49152 -> 10.2.0.1:502"));
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_MATRIX, "a -> b tcp/503: the intent denies it", 10, NULL));
	plant_free(&p);
}

static void test_assertions(void)
{
	struct plant p;

	plant_init(&p, HEAD CONDUITS ASSERTIONS
		   "  - { name: wrong, must_allow: \"udp 10.3.0.5:40000 -> 10.2.0.5:5000\" }\n");
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_ASSERTIONS);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_ASSERTIONS, "assertion 'wrong' fails", 0,
				       "udp 10.3.0.5:40000 -> 10.2.0.5:5000"));
	plant_free(&p);
}

static void test_rules(void)
{
	struct plant p;

	/* shadowed: allow c->a tcp/22 under deny c->a tcp */
	plant_init(&p, HEAD CONDUITS "  - { id: 50, from: c, to: a, action: allow, proto: tcp, "
				     "dst_ports: [22] }\n" ASSERTIONS);
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_RULES);
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_RULES, "shadowed", 50, "tcp 10.3.0.1:49152 -> 10.1.0.1:22"));
	plant_free(&p);

	/* redundant and over-broad */
	plant_init(&p, HEAD CONDUITS
		   "  - { id: 11, from: a, to: b, action: allow, proto: tcp, dst_ports: [502] }\n"
		   "  - { id: 12, from: a, to: b, action: allow, proto: udp }\n" ASSERTIONS);
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_RULES);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_RULES, "redundant", 11, NULL));
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_RULES, "over-broad: conduit 12", 12,
				       "udp 10.1.0.1:49152 -> 10.2.0.1:0"));
	plant_free(&p);

	/* conflicting: an allow and a deny that overlap partly */
	plant_init(&p, HEAD CONDUITS "  - { id: 13, from: a, to: b, action: deny, proto: tcp, "
				     "dst_ports: [500-502] }\n" ASSERTIONS);
	run(&p, NULL);
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_RULES]);
	plant_free(&p);
}

static void test_stateful(void)
{
	struct plant p;

	/* the classic: let the PLC's answers through by source port */
	plant_init(&p, HEAD CONDUITS
		   "  - { id: 60, from: b, to: a, action: allow, proto: tcp, src_ports: [502],\n"
		   "      stateful: false }\n" ASSERTIONS);
	run(&p, NULL);
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_STATEFUL]);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_STATEFUL, "without a connection", 60,
				       "tcp 10.2.0.1:502 -> 10.1.0.1:49152"));
	plant_free(&p);

	/* a stateful conduit in the responder's own direction is a note */
	plant_init(&p, HEAD CONDUITS "  - { id: 61, from: b, to: a, action: allow, proto: tcp, "
				     "dst_ports: [49152-65535] }\n");
	run(&p, NULL);
	CU_ASSERT_FALSE(p.rep.failed[TP_VERIFY_STATEFUL]);
	plant_free(&p);
}

static void test_tunnels(void)
{
	struct plant p;

	/* t1's idea of t2's key is stale */
	plant_init(&p, base_yaml);
	exp_of(&p, "t1")->peers[0].pubkey[0] ^= 1;
	run(&p, NULL);
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_TUNNELS]);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_TUNNELS, "its key for peer 't2'", 0, NULL));
	plant_free(&p);

	/* t1 sends to t2 at a port t2 does not listen on */
	plant_init(&p, base_yaml);
	exp_of(&p, "t1")->peers[0].endpoints[0].port = 51999;
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_TUNNELS,
				       "its endpoints for peer 't2' are not those 't2' listens on",
				       0, NULL));
	plant_free(&p);

	/* t3 says it hosts nothing, t1 still routes c to it */
	plant_init(&p, base_yaml);
	exp_of(&p, "t3")->n_local_zones = 0;
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_TUNNELS, "routes other zones to peer 't3'", 0, NULL));
	plant_free(&p);
}

static void test_blackholes(void)
{
	struct plant p;

	/* t2 no longer admits a->b 502 while t1 sends it */
	plant_init(&p, base_yaml);
	rule_of(exp_of(&p, "t2"), 10)->dst_ports[0] = (struct tp_port_range){503, 503};
	run(&p, NULL);
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_BLACKHOLES]);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_BLACKHOLES, "'t1' sends it, 't2' drops it", 10,
				       "tcp 10.1.0.1:49152 -> 10.2.0.1:502"));
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_BLACKHOLES, "'t1' never sends it", 10, NULL));
	plant_free(&p);

	/* the XDP program of the receiving side drops the replies */
	plant_init(&p, base_yaml);
	exp_of(&p, "t2")->n_xdp_pairs = 0;
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_BLACKHOLES,
				       "XDP program of 't2' drops its replies", 10, NULL));
	plant_free(&p);
}

/*
 * `stateful: false` is one way (DESIGN.md §7.4): a stateless conduit b -> c
 * gives t3 (hosting c) no XDP pair c -> b, and the exports that say so —
 * the intent, and a live TP's, whose table the dataplane fills the same
 * way — pass every check: no black hole for replies that do not exist. A
 * TP that opens c -> b anyway drifts from the intent.
 */
static void test_stateless_one_way(void)
{
	static const char yaml[] =
		HEAD "conduits:\n"
		     "  - { id: 10, from: a, to: b, action: allow, proto: tcp, dst_ports: [502] }\n"
		     "  - { id: 25, from: b, to: c, action: allow, proto: udp, dst_ports: [514],\n"
		     "      stateful: false }\n" ASSERTIONS;
	struct tp_export *t3;
	struct plant p;
	uint32_t pair[1][2];

	plant_init(&p, yaml);
	t3 = exp_of(&p, "t3");
	CU_ASSERT_EQUAL(t3->n_xdp_pairs, 0);
	run(&p, NULL);
	expect_pass(&p);
	/* the reply c -> b, as a new packet, is denied: a note, not a failure */
	CU_ASSERT_FALSE(p.rep.failed[TP_VERIFY_STATEFUL]);
	/* t3 passing c -> b is drift: nothing allows that pair any more */
	pair[0][0] = tp_site_zone_by_name(t3->site, "c");
	pair[0][1] = tp_site_zone_by_name(t3->site, "b");
	CU_ASSERT_EQUAL(tp_export_set_xdp(t3, (const uint32_t(*)[2])pair, 1), 0);
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_DRIFT);
	plant_free(&p);

	/* made stateful, the same conduit needs c -> b at t3 for its replies */
	plant_init(&p, yaml);
	rule_of(exp_of(&p, "t2"), 25)->stateful = true;
	rule_of(exp_of(&p, "t3"), 25)->stateful = true;
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_BLACKHOLES,
				       "XDP program of 't3' drops its replies", 25, NULL));
	plant_free(&p);
}

static void test_encryption(void)
{
	struct plant p;
	struct tp_export *t1;

	/* t1 does not route zone b into its tunnel to t2 */
	plant_init(&p, base_yaml);
	t1 = exp_of(&p, "t1");
	for (size_t i = 0; i < t1->n_peers; i++)
		if (!strcmp(t1->peers[i].name, "t2"))
			t1->peers[i].n_zones = 0;
	run(&p, NULL);
	CU_ASSERT_TRUE(p.rep.failed[TP_VERIFY_ENCRYPTION]);
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_ENCRYPTION, "does not route the destination zone", 10, NULL));
	plant_free(&p);

	/* two zones behind one TP need no tunnel; a TP with no endpoint fails */
	plant_init(&p,
		   "site: s\ntransition_points:\n"
		   "  - { name: t1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
		   "  - { name: t2, public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs= }\n"
		   "zones:\n"
		   "  - { name: a, id: 1, tp: t1, prefixes: [10.1.0.0/16] }\n"
		   "  - { name: a2, id: 4, tp: t1, prefixes: [10.4.0.0/16] }\n"
		   "  - { name: b, id: 2, tp: t2, prefixes: [10.2.0.0/16] }\n"
		   "conduits:\n"
		   "  - { id: 1, from: a, to: a2, action: allow, proto: tcp, dst_ports: [1] }\n"
		   "  - { id: 2, from: a, to: b, action: allow, proto: tcp, dst_ports: [2] }\n");
	run(&p, NULL);
	CU_ASSERT_PTR_NOT_NULL(finding(&p, TP_VERIFY_ENCRYPTION, "a -> b (tcp/2)", 2, NULL));
	for (size_t i = 0; i < p.rep.n_findings; i++)
		CU_ASSERT(p.rep.findings[i].check != TP_VERIFY_ENCRYPTION ||
			  strcmp(p.rep.findings[i].to, "a2"));
	plant_free(&p);
}

static void test_lifecycle(void)
{
	struct plant p;

	/* a maintenance window in the future is a note; one that ended fails */
	plant_init(&p, HEAD CONDUITS
		   "  - { id: 70, from: a, to: c, action: allow, proto: tcp, dst_ports: [102],\n"
		   "      not_before: 2026-12-01T08:00:00Z, not_after: 2026-12-01T16:00:00Z "
		   "}\n" ASSERTIONS);
	run(&p, NULL);
	expect_pass(&p);
	plant_free(&p);
	plant_init(&p, HEAD CONDUITS
		   "  - { id: 71, from: a, to: c, action: allow, proto: tcp, dst_ports: [102],\n"
		   "      not_before: 2026-11-01T08:00:00Z, not_after: 2026-11-01T16:00:00Z "
		   "}\n" ASSERTIONS);
	run(&p, NULL);
	EXPECT_FAILED(&p, TP_VERIFY_LIFECYCLE);
	CU_ASSERT_PTR_NOT_NULL(
		finding(&p, TP_VERIFY_LIFECYCLE, "expired at 2026-11-01T16:00:00Z", 71, NULL));
	plant_free(&p);

	/* hit counters: a deny that counts is a note, an allow never hit too */
	plant_init(&p, base_yaml);
	{
		const uint32_t ids[] = {10, 20, 30, 40};
		const uint64_t hits[] = {0, 9, 9, 4};

		for (size_t i = 0; i < p.n; i++)
			tp_export_set_counters(p.x[i], ids, hits, 4);
	}
	run(&p, NULL);
	expect_pass(&p);
	{
		bool never = false, deny = false;

		for (size_t i = 0; i < p.rep.n_findings; i++) {
			never |= strstr(p.rep.findings[i].msg, "conduit 10 '' never matched") !=
				 NULL;
			deny |= strstr(p.rep.findings[i].msg, "deny conduit 40 '' dropped 4") !=
				NULL;
		}
		CU_ASSERT_TRUE(never);
		CU_ASSERT_TRUE(deny);
	}
	plant_free(&p);
}

static void test_outputs(void)
{
	struct plant p;
	json_t *j;
	char *dot = NULL;
	size_t len = 0;
	FILE *f;

	plant_init(&p, base_yaml);
	rule_of(exp_of(&p, "t2"), 10)->dst_ports[0] = (struct tp_port_range){503, 503};
	run(&p, NULL);
	j = tp_verify_json(&p.rep);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "result")), "fail");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "checks")), 10);
	json_decref(j);
	f = open_memstream(&dot, &len);
	CU_ASSERT_EQUAL(tp_verify_dot(&p.rep, f), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(dot, "\"a\" -> \"b\" [label=\"tcp/502\", color=red"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dot, "\"b\" -> \"c\" [label=\"udp/5000\"]"));
	free(dot);
	plant_free(&p);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("verify", NULL, NULL);
	CU_add_test(s, "intent of the base plant passes every check", test_base_passes);
	CU_add_test(s, "1 integrity", test_integrity);
	CU_add_test(s, "2 drift", test_drift);
	CU_add_test(s, "3 reachability matrix", test_matrix);
	CU_add_test(s, "4 assertions", test_assertions);
	CU_add_test(s, "5 rules", test_rules);
	CU_add_test(s, "6 stateful", test_stateful);
	CU_add_test(s, "stateful: false is one way, live and intent", test_stateless_one_way);
	CU_add_test(s, "7 tunnels", test_tunnels);
	CU_add_test(s, "8 black holes", test_blackholes);
	CU_add_test(s, "9 encryption", test_encryption);
	CU_add_test(s, "10 lifecycle", test_lifecycle);
	CU_add_test(s, "json and graphviz", test_outputs);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
