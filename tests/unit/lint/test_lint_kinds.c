// SPDX-License-Identifier: MIT
/*
 * Lint's structured findings: every kind of tp/policy/lint.h produced by a crafted
 * site (a YAML text, or a site the YAML reader would refuse, made by
 * changing one field of a clean one), seen with its kind, severity,
 * location and conduit ids; and each diagnostic tp_lint_site prints is the
 * rendering of one finding.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/lint.h"
#include "tp/policy/yaml.h"

static const int64_t now_2026 = 1795000000; /* 2026-11-18 */

#define HEAD                                                                            \
	"transition_points:\n"                                                          \
	"  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n" \
	"  - { name: tp2, public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs= }\n" \
	"zones:\n"                                                                      \
	"  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"                   \
	"  - { name: z2, id: 2, tp: tp2, prefixes: [10.2.0.0/16] }\n"

/* conduits on lines 8, 9, 10 */
#define CONDUITS                                                                           \
	"conduits:\n"                                                                      \
	"  - { id: 10, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502] }\n"  \
	"  - { id: 20, from: z1, to: z2, action: allow, proto: udp, dst_ports: [5000] }\n" \
	"  - { id: 30, from: z2, to: z1, action: allow, proto: icmp, icmp: [echo-request] }\n"

static bool seen[TP_LINT__KIND_COUNT];

static struct tp_site *read_site(const char *text, struct tp_site_locs **locs)
{
	struct tp_diags d;
	struct tp_site *s;

	tp_diag_init(&d, "t.yaml");
	s = tp_yaml_read(text, strlen(text), &d, locs);
	if (!s)
		tp_diag_print(&d, stderr);
	tp_diag_free(&d);
	return s;
}

static int refuse(const struct tp_site *site, int64_t now, char *err, size_t len)
{
	(void)site;
	(void)now;
	snprintf(err, len, "crafted refusal");
	return -EINVAL;
}

/*
 * Lint s and expect a finding of kind k with the given conduit ids (in
 * order) and, when line is not 0, at line:col. Also checks that
 * tp_lint_site prints the same findings, each as its rendering.
 */
static void expect_kind(const struct tp_site *s, const struct tp_site_locs *locs,
			tp_lint_compile_fn compile, enum tp_lint_kind k, const uint32_t *ids,
			size_t n_ids, unsigned line, unsigned col)
{
	struct tp_lint_opts o = {.now = now_2026, .compile = compile};
	struct tp_lint_result res;
	struct tp_diags d;
	const struct tp_lint_finding *hit = NULL;
	bool ok;

	tp_lint_result_init(&res);
	ok = tp_lint_run(s, locs, &o, &res);
	for (size_t i = 0; i < res.n && !hit; i++) {
		const struct tp_lint_finding *f = &res.v[i];
		bool same = f->kind == k && f->n_rules == n_ids;

		for (size_t j = 0; same && j < n_ids; j++)
			same = f->rules[j] == ids[j];
		if (same && line)
			same = f->loc.line == line && f->loc.col == col;
		if (same)
			hit = f;
	}
	CU_ASSERT_PTR_NOT_NULL(hit);
	if (!hit) {
		char m[TP_DIAG_MSG_MAX];

		fprintf(stderr, "\n  no '%s' finding; got:\n", tp_lint_kind_name(k));
		for (size_t i = 0; i < res.n; i++)
			fprintf(stderr, "  %u:%u %s [%zu ids] %s\n", res.v[i].loc.line,
				res.v[i].loc.col, tp_lint_kind_name(res.v[i].kind),
				res.v[i].n_rules, tp_lint_format(s, &res.v[i], m, sizeof(m)));
	} else {
		seen[k] = true;
		if (hit->severity == TP_DIAG_ERROR)
			CU_ASSERT_FALSE(ok);
	}
	/* the printed diagnostics are the findings, rendered */
	tp_diag_init(&d, "t.yaml");
	CU_ASSERT_EQUAL(tp_lint_site(s, locs, &o, &d), ok);
	CU_ASSERT_EQUAL(d.n, res.n);
	CU_ASSERT_EQUAL(d.n_errors, res.n_errors);
	CU_ASSERT_EQUAL(d.n_warnings, res.n_warnings);
	for (size_t i = 0; i < d.n && i < res.n; i++) {
		char m[TP_DIAG_MSG_MAX];

		CU_ASSERT_STRING_EQUAL(d.v[i].msg, tp_lint_format(s, &res.v[i], m, sizeof(m)));
		CU_ASSERT_EQUAL(d.v[i].severity, res.v[i].severity);
		CU_ASSERT_EQUAL(d.v[i].loc.line, res.v[i].loc.line);
	}
	tp_diag_free(&d);
	tp_lint_result_free(&res);
}

#define IDS(...) ((const uint32_t[]){__VA_ARGS__}), (sizeof((uint32_t[]){__VA_ARGS__}) / 4)
#define NO_IDS	 NULL, 0

/* A YAML text. */
static void text_case(const char *text, tp_lint_compile_fn compile, enum tp_lint_kind k,
		      const uint32_t *ids, size_t n, unsigned line, unsigned col)
{
	struct tp_site_locs *locs = NULL;
	struct tp_site *s = read_site(text, &locs);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	expect_kind(s, locs, compile, k, ids, n, line, col);
	tp_site_locs_free(locs);
	tp_site_free(s);
}

/* The clean site with one field changed by edit. */
static void edit_case(void (*edit)(struct tp_site *), enum tp_lint_kind k, const uint32_t *ids,
		      size_t n)
{
	struct tp_site *s = read_site(HEAD CONDUITS, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	edit(s);
	expect_kind(s, NULL, NULL, k, ids, n, 0, 0);
	tp_site_free(s);
}

static void e_zone_no_tp(struct tp_site *s)
{
	s->zones[1].tp = 99;
}
static void e_zone_no_prefix(struct tp_site *s)
{
	s->zones[1].n_prefixes = 0;
}
static void e_zone_no_name(struct tp_site *s)
{
	s->zones[1].name[0] = '\0';
}
static void e_tp_hosts_nothing(struct tp_site *s)
{
	s->zones[1].tp = 0;
}
static void e_dup_tp(struct tp_site *s)
{
	strcpy(s->tps[1].name, "tp1");
}
static void e_dup_zone_name(struct tp_site *s)
{
	strcpy(s->zones[1].name, "z1");
}
static void e_dup_zone_id(struct tp_site *s)
{
	s->zones[1].id = 1;
}
static void e_dup_conduit_id(struct tp_site *s)
{
	s->rules[1].id = 10;
}
static void e_reserved_id(struct tp_site *s)
{
	s->rules[2].id = 0;
}
static void e_unknown_zone(struct tp_site *s)
{
	s->rules[0].to_zone = 7;
}
static void e_no_action(struct tp_site *s)
{
	s->rules[0].action = 0;
}
static void e_inverted(struct tp_site *s)
{
	s->rules[0].dst_ports[0] = (struct tp_port_range){600, 500};
}
static void e_bad_icmp(struct tp_site *s)
{
	s->rules[2].icmp[0].code = 300;
}
static void e_misfit(struct tp_site *s)
{
	s->rules[2].proto = 6; /* an ICMP list on TCP */
}
static void e_never(struct tp_site *s)
{
	s->rules[0].not_before = 2000;
	s->rules[0].not_after = 1000;
}
static void e_expired(struct tp_site *s)
{
	s->rules[0].not_after = now_2026 - 1;
}
static void e_same_zone(struct tp_site *s)
{
	s->rules[2].to_zone = 1;
}

static void test_clean(void)
{
	struct tp_site *s = read_site(HEAD CONDUITS, NULL);
	struct tp_lint_opts o = {.now = now_2026};
	struct tp_lint_result res;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	tp_lint_result_init(&res);
	CU_ASSERT_TRUE(tp_lint_run(s, NULL, &o, &res));
	CU_ASSERT_EQUAL(res.n, 0);
	CU_ASSERT_FALSE(res.oom);
	tp_lint_result_free(&res);
	tp_site_free(s);
}

static void test_structure(void)
{
	edit_case(e_zone_no_tp, TP_LINT_ZONE_NO_TP, NO_IDS);
	edit_case(e_zone_no_prefix, TP_LINT_ZONE_NO_PREFIX, NO_IDS);
	edit_case(e_zone_no_name, TP_LINT_ZONE_NO_NAME, NO_IDS);
	edit_case(e_tp_hosts_nothing, TP_LINT_TP_HOSTS_NOTHING, NO_IDS);
	edit_case(e_dup_tp, TP_LINT_DUP_TP, NO_IDS);
	edit_case(e_dup_zone_name, TP_LINT_DUP_ZONE_NAME, NO_IDS);
	edit_case(e_dup_zone_id, TP_LINT_DUP_ZONE_ID, NO_IDS);
	edit_case(e_dup_conduit_id, TP_LINT_DUP_CONDUIT_ID, IDS(10));
	edit_case(e_reserved_id, TP_LINT_RESERVED_ID, IDS(0));
	edit_case(e_unknown_zone, TP_LINT_UNKNOWN_ZONE, IDS(10));
	edit_case(e_no_action, TP_LINT_NO_ACTION, IDS(10));
	edit_case(e_inverted, TP_LINT_INVERTED_RANGE, IDS(10));
	edit_case(e_bad_icmp, TP_LINT_BAD_ICMP_CODE, IDS(30));
	edit_case(e_misfit, TP_LINT_LIST_MISFIT, IDS(30));
	edit_case(e_never, TP_LINT_NEVER_VALID, IDS(10));
	edit_case(e_expired, TP_LINT_EXPIRED, IDS(10));
	edit_case(e_same_zone, TP_LINT_SAME_ZONE, IDS(30));
}

static void test_prefixes(void)
{
	text_case("transition_points:\n"
		  "  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
		  "zones:\n"
		  "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16, 10.1.0.0/16] }\n",
		  NULL, TP_LINT_PREFIX_TWICE, NO_IDS, 4, 57);
	text_case(HEAD "  - { name: z3, id: 3, tp: tp2, prefixes: [10.1.0.0/16] }\n", NULL,
		  TP_LINT_PREFIX_TWO_ZONES, NO_IDS, 7, 44);
}

static void test_conduits(void)
{
	/* shadowed: the allow at fault, then the deny */
	text_case(HEAD CONDUITS "  - { id: 5, from: z1, to: z2, action: deny, proto: tcp }\n", NULL,
		  TP_LINT_SHADOWED, IDS(10, 5), 8, 5);
	/* redundant: the dead one, then the one that decides */
	text_case(HEAD CONDUITS "  - { id: 40, from: z1, to: z2, action: allow, proto: tcp, "
				"dst_ports: [502] }\n",
		  NULL, TP_LINT_REDUNDANT, IDS(40, 10), 11, 5);
	/* conflict: the allow, then the deny */
	text_case(HEAD CONDUITS "  - { id: 50, from: z1, to: z2, action: deny, proto: tcp, "
				"src_ports: [1000-2000] }\n",
		  NULL, TP_LINT_CONFLICT, IDS(10, 50), 8, 5);
	/* profiles: the profile conduit first, then the plain allow */
	text_case(HEAD
		  "conduits:\n"
		  "  - { id: 5, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502], "
		  "modbus: { function_codes: [3] } }\n"
		  "  - { id: 6, from: z1, to: z2, action: allow, proto: tcp }\n",
		  NULL, TP_LINT_PROFILE_BYPASSED, IDS(5, 6), 8, 5);
	text_case(HEAD
		  "conduits:\n"
		  "  - { id: 5, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502], "
		  "modbus: { function_codes: [3] } }\n"
		  "  - { id: 6, from: z1, to: z2, action: allow, proto: tcp, src_ports: [1000] }\n",
		  NULL, TP_LINT_PROFILE_PARTIAL, IDS(5, 6), 8, 5);
	/* two profiles: the larger id (whose profile never applies), then the smaller */
	text_case(HEAD
		  "conduits:\n"
		  "  - { id: 5, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502], "
		  "modbus: { function_codes: [3] } }\n"
		  "  - { id: 7, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502], "
		  "modbus: { function_codes: [3, 6] } }\n",
		  NULL, TP_LINT_PROFILES_OVERLAP, IDS(7, 5), 9, 5);
}

static void test_pairwise_skipped(void)
{
	size_t n = TP_LINT_PAIRWISE_MAX + 1, len = sizeof(HEAD) + 16 + n * 96, off;
	char *text = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	off = (size_t)snprintf(text, len, "%sconduits:\n", HEAD);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(
			text + off, len - off,
			"  - { id: %zu, from: z1, to: z2, action: allow, proto: tcp, "
			"dst_ports: [%zu] }\n",
			i + 1, i + 1);
	text_case(text, NULL, TP_LINT_PAIRWISE_SKIPPED, NO_IDS, 8, 5);
	free(text);
}

static void test_assertions_and_compile(void)
{
	/* decided by a conduit: its id */
	text_case(HEAD CONDUITS
		  "assertions:\n"
		  "  - { name: x, must_deny: \"tcp 10.1.0.5:40000 -> 10.2.0.5:502\" }\n",
		  NULL, TP_LINT_ASSERTION_FAILED, IDS(10), 12, 5);
	/* by default deny: no conduit */
	text_case(HEAD CONDUITS
		  "assertions:\n"
		  "  - { name: y, must_allow: \"tcp 10.2.0.5:40000 -> 10.1.0.5:502\" }\n",
		  NULL, TP_LINT_ASSERTION_FAILED, NO_IDS, 12, 5);
	text_case(HEAD CONDUITS, refuse, TP_LINT_COMPILE_FAILED, NO_IDS, 0, 0);
}

static void test_every_kind_seen(void)
{
	for (int k = 0; k < TP_LINT__KIND_COUNT; k++) {
		CU_ASSERT_TRUE(seen[k]);
		if (!seen[k])
			fprintf(stderr, "\n  kind '%s' never produced\n", tp_lint_kind_name(k));
		CU_ASSERT_STRING_NOT_EQUAL(tp_lint_kind_name(k), "?");
	}
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("lint_kinds", NULL, NULL);
	CU_add_test(s, "a clean site has no finding", test_clean);
	CU_add_test(s, "structure kinds", test_structure);
	CU_add_test(s, "prefix kinds", test_prefixes);
	CU_add_test(s, "shadowed, redundant, conflict", test_conduits);
	CU_add_test(s, "overlap analysis skipped", test_pairwise_skipped);
	CU_add_test(s, "assertions and compile", test_assertions_and_compile);
	CU_add_test(s, "every kind was produced", test_every_kind_seen);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
