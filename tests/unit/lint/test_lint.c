// SPDX-License-Identifier: MIT
/*
 * Lint: one test per class of finding with its exact location and message,
 * the example plants pass, and the shadow/redundancy/overlap analysis is
 * checked against a brute-force model (every packet of a small universe
 * that covers each equivalence class of ports, ICMP and time) on random
 * conduit pairs, seeded and reproducible.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/eval.h"
#include "tp/policy/lint.h"
#include "tp/policy/timefmt.h"
#include "tp/policy/yaml.h"

static const char *examples_dir;
static const int64_t now_2026 = 1795000000; /* 2026-11-18 */

#define HEAD                                                                            \
	"transition_points:\n"                                                          \
	"  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n" \
	"  - { name: tp2, public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs= }\n" \
	"zones:\n"                                                                      \
	"  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"                   \
	"  - { name: z2, id: 2, tp: tp2, prefixes: [10.2.0.0/16] }\n"                   \
	"conduits:\n"
/* HEAD is 7 lines: the first conduit is on line 8 */

struct want {
	enum tp_diag_severity sev;
	unsigned line, col;
	const char *msg;
};

static bool lint_text(const char *text, tp_lint_compile_fn compile, struct tp_diags *d)
{
	struct tp_lint_opts o = {.now = now_2026, .compile = compile};
	struct tp_site_locs *locs;
	struct tp_site *s;
	bool ok;

	tp_diag_init(d, "t.yaml");
	s = tp_yaml_read(text, strlen(text), d, &locs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ok = tp_lint_site(s, locs, &o, d);
	tp_site_locs_free(locs);
	tp_site_free(s);
	return ok;
}

/* Lint gives exactly the findings in w[] (in file order). */
static void expect(const char *text, const struct want *w, size_t n)
{
	struct tp_diags d;

	lint_text(text, NULL, &d);
	CU_ASSERT_EQUAL(d.n, n);
	for (size_t i = 0; i < n && i < d.n; i++) {
		bool same = d.v[i].severity == w[i].sev && d.v[i].loc.line == w[i].line &&
			    d.v[i].loc.col == w[i].col && strcmp(d.v[i].msg, w[i].msg) == 0;

		CU_ASSERT_TRUE(same);
		if (!same)
			fprintf(stderr, "\n  got  %u:%u: %s\n  want %u:%u: %s\n", d.v[i].loc.line,
				d.v[i].loc.col, d.v[i].msg, w[i].line, w[i].col, w[i].msg);
	}
	if (d.n != n)
		tp_diag_print(&d, stderr);
	tp_diag_free(&d);
}

#define EXPECT(text, ...)                                      \
	do {                                                   \
		static const struct want w_[] = {__VA_ARGS__}; \
		expect(text, w_, sizeof(w_) / sizeof(w_[0]));  \
	} while (0)

static void test_examples_pass(void)
{
	static const char *const files[] = {"lab-plant.yaml", "plant.yaml"};

	for (size_t i = 0; i < 2; i++) {
		struct tp_lint_opts o = {.now = now_2026};
		struct tp_site_locs *locs;
		struct tp_diags d;
		struct tp_site *s;
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", examples_dir, files[i]);
		tp_diag_init(&d, path);
		s = tp_yaml_read_file(path, &d, &locs);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_TRUE(tp_lint_site(s, locs, &o, &d));
		CU_ASSERT_EQUAL(d.n, 0);
		tp_diag_print(&d, stderr);
		tp_diag_free(&d);
		tp_site_locs_free(locs);
		tp_site_free(s);
	}
}

static void test_prefix_in_two_zones(void)
{
	EXPECT("transition_points:\n"
	       "  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
	       "zones:\n"
	       "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"
	       "  - { name: z2, id: 2, tp: tp1, prefixes: [10.2.0.0/16, 10.1.0.0/16] }\n",
	       {TP_DIAG_ERROR, 5, 57,
		"prefix 10.1.0.0/16 is in two zones: 'z1' (at 4:44) and 'z2'"});
	/* nested prefixes in different zones are fine (DESIGN §7.1) */
	EXPECT("transition_points:\n"
	       "  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
	       "zones:\n"
	       "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"
	       "  - { name: z2, id: 2, tp: tp1, prefixes: [10.1.0.0/26, 10.1.0.0/26] }\n",
	       {TP_DIAG_WARNING, 5, 57,
		"prefix 10.1.0.0/26 is listed twice in zone 'z2' (first at 5:44)"});
}

static void test_shadowed(void)
{
	EXPECT(HEAD "  - { id: 1, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502] }\n"
		    "  - { id: 2, from: z1, to: z2, action: deny, proto: tcp }\n",
	       {TP_DIAG_ERROR, 8, 5,
		"conduit 1 is shadowed by deny conduit 2 (at 9:5): every packet it allows is "
		"denied (deny wins), so it never applies"});
}

/* Profiles: a plain allow switches a profile off where it matches too. */
static void test_profiles(void)
{
	EXPECT(HEAD "  - { id: 5, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502],"
		    " modbus: { function_codes: [3] } }\n"
		    "  - { id: 6, from: z1, to: z2, action: allow, proto: tcp }\n",
	       {TP_DIAG_ERROR, 8, 5,
		"the modbus profile of conduit 5 is never enforced: conduit 6 (at 9:5) allows "
		"all its traffic without a profile"});
	EXPECT(HEAD
	       "  - { id: 5, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502],"
	       " modbus: { function_codes: [3] } }\n"
	       "  - { id: 6, from: z1, to: z2, action: allow, proto: tcp, src_ports: [1000] }\n",
	       {TP_DIAG_WARNING, 8, 5,
		"conduit 6 (at 9:5) allows some traffic of conduit 5 without a profile: its modbus "
		"profile does not apply to that traffic"});
	EXPECT(HEAD "  - { id: 5, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502],"
		    " modbus: { function_codes: [3] } }\n"
		    "  - { id: 7, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [502],"
		    " modbus: { function_codes: [3, 6] } }\n",
	       {TP_DIAG_WARNING, 9, 5,
		"conduit 7 and conduit 5 (at 8:5) both carry a modbus profile and match some of "
		"the same traffic: a request there passes if either profile admits it"});
}

static void test_redundant(void)
{
	EXPECT(HEAD "  - { id: 3, name: wide, from: z1, to: z2, action: allow, proto: udp,"
		    " dst_ports: [1-100] }\n"
		    "  - { id: 4, from: z1, to: z2, action: allow, proto: udp, dst_ports: [50] }\n",
	       {TP_DIAG_ERROR, 9, 5,
		"conduit 4 is redundant: conduit 3 'wide' (at 8:5) already allows all its "
		"traffic and decides it"});
}

static void test_narrow_smaller_id_lives(void)
{
	struct tp_diags d;

	/* 3 ⊂ 4, but 3 decides its own traffic (smallest id): nothing to say */
	CU_ASSERT_TRUE(lint_text(HEAD "  - { id: 3, from: z1, to: z2, action: allow, proto: udp,"
				      " dst_ports: [50], log: true }\n"
				      "  - { id: 4, from: z1, to: z2, action: allow, proto: udp,"
				      " dst_ports: [1-100] }\n",
				 NULL, &d));
	CU_ASSERT_EQUAL(d.n, 0);
	tp_diag_free(&d);
	/* a stateful conduit under a stateless one still creates flows */
	CU_ASSERT_TRUE(lint_text(HEAD "  - { id: 3, from: z1, to: z2, action: allow, proto: udp,"
				      " stateful: false }\n"
				      "  - { id: 4, from: z1, to: z2, action: allow, proto: udp,"
				      " dst_ports: [53] }\n",
				 NULL, &d));
	CU_ASSERT_EQUAL(d.n, 0);
	tp_diag_free(&d);
}

static void test_allow_deny_overlap(void)
{
	EXPECT(HEAD
	       "  - { id: 3, from: z1, to: z2, action: allow, proto: udp, dst_ports: [1-100] }\n"
	       "  - { id: 5, from: z1, to: z2, action: deny, proto: udp, dst_ports: [90-200] }\n",
	       {TP_DIAG_WARNING, 8, 5,
		"allow conduit 3 and deny conduit 5 (at 9:5) both match some traffic from 'z1' to "
		"'z2': deny wins for that traffic"});
	/* disjoint windows never overlap */
	EXPECT(HEAD
	       "  - { id: 3, from: z1, to: z2, action: allow, not_after: 2027-01-01T00:00:00Z }\n"
	       "  - { id: 5, from: z1, to: z2, action: deny, not_before: 2027-01-01T00:00:00Z }\n"
	       "  - { id: 6, from: z2, to: z1, action: deny }\n", );
}

static void test_failed_assertions(void)
{
	EXPECT(HEAD "  - { id: 1, name: m, from: z1, to: z2, action: allow, proto: tcp,"
		    " dst_ports: [502] }\n"
		    "  - { id: 9, name: no-plc-5, from: z1, to: z2, action: deny,"
		    " proto: tcp, dst_ports: [502] }\n"
		    "assertions:\n"
		    "  - { name: a1, must_allow: 'tcp 10.1.0.5:40000 -> 10.2.0.7:502' }\n"
		    "  - { name: a2, must_allow: 'udp 10.1.0.5:40000 -> 10.2.0.7:502' }\n"
		    "  - { name: a3, must_deny: 'tcp 10.1.0.5:40000 -> 10.1.0.7:502' }\n",
	       {TP_DIAG_ERROR, 8, 5,
		"conduit 1 'm' is shadowed by deny conduit 9 'no-plc-5' (at 9:5): every packet it "
		"allows is denied (deny wins), so it never applies"},
	       {TP_DIAG_ERROR, 11, 5,
		"assertion 'a1' fails: 'tcp 10.1.0.5:40000 -> 10.2.0.7:502' must be allowed but is "
		"denied by conduit 9 'no-plc-5' (at 9:5)"},
	       {TP_DIAG_ERROR, 12, 5,
		"assertion 'a2' fails: 'udp 10.1.0.5:40000 -> 10.2.0.7:502' must be allowed but is "
		"denied by default deny: no conduit from 'z1' to 'z2' allows it"},
	       {TP_DIAG_ERROR, 13, 5,
		"assertion 'a3' fails: 'tcp 10.1.0.5:40000 -> 10.1.0.7:502' must be denied but is "
		"allowed because it stays inside zone 'z1' (not policed)"});
	EXPECT(HEAD "  - { id: 1, from: z1, to: z2, action: allow, proto: tcp }\n"
		    "assertions:\n"
		    "  - { must_deny: 'tcp 10.1.0.5:40000 -> 10.2.0.7:22' }\n"
		    "  - { must_allow: 'tcp 10.1.0.5:40000 -> 10.2.0.7:22', at: "
		    "2020-01-01T00:00:00Z }\n",
	       {TP_DIAG_ERROR, 10, 5,
		"assertion fails: 'tcp 10.1.0.5:40000 -> 10.2.0.7:22' must be denied but is "
		"allowed "
		"by conduit 1 (at 8:5)"}, );
}

static void test_window_assertions(void)
{
	/* a maintenance window, asserted open inside it and closed after */
	struct tp_diags d;

	CU_ASSERT_TRUE(lint_text(
		HEAD
		"  - { id: 1, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [4840],"
		" not_before: 2026-12-01T08:00:00Z, not_after: 2026-12-01T16:00:00Z }\n"
		"assertions:\n"
		"  - { must_allow: 'tcp 10.1.0.5:4 -> 10.2.0.7:4840', at: 2026-12-01T08:00:00Z }\n"
		"  - { must_deny: 'tcp 10.1.0.5:4 -> 10.2.0.7:4840', at: 2026-12-01T16:00:00Z }\n"
		"  - { must_deny: 'tcp 10.1.0.5:4 -> 10.2.0.7:4840' }\n",
		NULL, &d));
	CU_ASSERT_EQUAL(d.n, 0);
	tp_diag_free(&d);
}

static void test_warnings(void)
{
	EXPECT(HEAD
	       "  - { id: 1, from: z1, to: z1, action: allow }\n"
	       "  - { id: 2, from: z1, to: z2, action: allow, not_after: 2020-01-01T00:00:00Z }\n",
	       {TP_DIAG_WARNING, 8, 5,
		"conduit 1 goes from zone 'z1' to itself: traffic inside a zone is not policed, "
		"so it never applies"},
	       {TP_DIAG_WARNING, 9, 5,
		"conduit 2 expired at 2020-01-01T00:00:00Z: it no longer applies"});
}

static int refuse_compile(const struct tp_site *s, int64_t now, char *err, size_t len)
{
	snprintf(err, len, "rule 1: profiles are not enforced");
	return -EINVAL;
}

static void test_compile_hook(void)
{
	struct tp_diags d;

	CU_ASSERT_FALSE(lint_text(HEAD "  - { id: 1, from: z1, to: z2, action: allow }\n",
				  refuse_compile, &d));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_EQUAL(d.v[0].loc.line, 0);
	CU_ASSERT_STRING_EQUAL(d.v[0].msg,
			       "the policy does not compile: rule 1: profiles are not enforced");
	tp_diag_free(&d);
}

/* ---- random conduit pairs against a brute-force model ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const uint8_t protos[] = {0, 6, 17, 1, 58, 47};
static const uint8_t universe_protos[] = {6, 17, 132, 1, 58, 47};

static void random_ranges(struct tp_port_range **out, size_t *n)
{
	*n = rnd(3); /* empty = any */
	*out = *n ? calloc(*n, sizeof(**out)) : NULL;
	for (size_t i = 0; i < *n; i++) {
		uint16_t a = (uint16_t)rnd(10), b = (uint16_t)rnd(10);

		(*out)[i] = (struct tp_port_range){a < b ? a : b, a < b ? b : a};
	}
}

static void random_rule(struct tp_rule *r, uint32_t id)
{
	static const int64_t nbs[] = {0, 0, 10, 20}, nas[] = {0, 0, 20, 30};

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->from_zone = 0;
	r->to_zone = 1;
	r->action = rnd(2) ? TP_ACTION_ALLOW : TP_ACTION_DENY;
	r->proto = protos[rnd(sizeof(protos))];
	r->stateful = rnd(4) != 0;
	if ((r->proto == 0 && rnd(2)) || r->proto == 6 || r->proto == 17) {
		random_ranges(&r->dst_ports, &r->n_dst_ports);
		random_ranges(&r->src_ports, &r->n_src_ports);
	}
	if (!r->n_dst_ports && !r->n_src_ports &&
	    (r->proto == 0 || r->proto == 1 || r->proto == 58)) {
		r->n_icmp = rnd(3);
		r->icmp = r->n_icmp ? calloc(r->n_icmp, sizeof(*r->icmp)) : NULL;
		for (size_t i = 0; i < r->n_icmp; i++)
			r->icmp[i] =
				(struct tp_icmp_match){(uint8_t)rnd(4), (int16_t)((int)rnd(4) - 1)};
	}
	do {
		r->not_before = nbs[rnd(4)];
		r->not_after = nas[rnd(4)];
	} while (r->not_after && r->not_after <= r->not_before);
}

/* Universe: each equivalence class of every dimension has a member. */
static void brute(const struct tp_rule *a, const struct tp_rule *b, bool *b_in_a, bool *overlap,
		  bool *b_empty)
{
	static const uint16_t ports[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1000};
	static const uint8_t types[] = {0, 1, 2, 3, 200}, codes[] = {0, 1, 2, 200};
	static const int64_t times[] = {1, 5, 10, 15, 20, 25, 30, 35};
	struct tp_flow f = {0};

	*b_in_a = true;
	*overlap = false;
	*b_empty = true;
	f.src.family = f.dst.family = TP_AF_INET;
	for (size_t p = 0; p < sizeof(universe_protos); p++) {
		bool ported = tp_proto_has_ports(universe_protos[p]);
		bool icmp = tp_proto_is_icmp(universe_protos[p]);
		size_t n1 = ported ? 11 : icmp ? 5 : 1, n2 = ported ? 11 : icmp ? 4 : 1;

		f.proto = universe_protos[p];
		for (size_t i = 0; i < n1; i++)
			for (size_t j = 0; j < n2; j++) {
				f.dport = ported ? ports[i] : 0;
				f.sport = ported ? ports[j] : 0;
				f.icmp_type = icmp ? types[i] : 0;
				f.icmp_code = icmp ? codes[j] : 0;
				for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
					bool ma = tp_rule_valid_at(a, times[t]) &&
						  tp_rule_matches(a, &f);
					bool mb = tp_rule_valid_at(b, times[t]) &&
						  tp_rule_matches(b, &f);

					if (mb)
						*b_empty = false;
					if (mb && !ma)
						*b_in_a = false;
					if (ma && mb)
						*overlap = true;
				}
			}
	}
}

static void test_pairs_vs_brute_force(void)
{
	struct tp_site site = {0};
	struct tp_zone zones[2] = {0};
	struct tp_tpoint tps[1] = {0};
	struct tp_rule rules[2];
	struct tp_prefix pfx[2];
	size_t checked = 0, mismatches = 0;

	rng_state = 0x5eed1234abcdULL;
	tp_prefix_parse("10.1.0.0/16", &pfx[0]);
	tp_prefix_parse("10.2.0.0/16", &pfx[1]);
	snprintf(tps[0].name, sizeof(tps[0].name), "tp1");
	for (int z = 0; z < 2; z++) {
		snprintf(zones[z].name, sizeof(zones[z].name), "z%d", z + 1);
		zones[z].id = (uint32_t)z + 1;
		zones[z].prefixes = &pfx[z];
		zones[z].n_prefixes = 1;
		zones[z].tp = 0;
	}
	site.zones = zones;
	site.n_zones = 2;
	site.tps = tps;
	site.n_tps = 1;
	site.rules = rules;
	site.n_rules = 2;
	for (int iter = 0; iter < 20000; iter++) {
		struct tp_lint_opts o = {.now = 0};
		const struct tp_rule *lo, *hi, *deny, *allow;
		bool in, ov, empty, in2, ov2, empty2, want_err = false, want_warn = false;
		struct tp_diags d;

		random_rule(&rules[0], 1 + rnd(2));
		random_rule(&rules[1], 3 + rnd(2));
		if (rnd(2)) {
			struct tp_rule t = rules[0];

			rules[0] = rules[1];
			rules[1] = t;
		}
		lo = rules[0].id < rules[1].id ? &rules[0] : &rules[1];
		hi = lo == &rules[0] ? &rules[1] : &rules[0];
		if (lo->action != hi->action) {
			deny = lo->action == TP_ACTION_DENY ? lo : hi;
			allow = deny == lo ? hi : lo;
			brute(deny, allow, &in, &ov, &empty);
			if (!empty) {
				want_err = in;
				want_warn = !in && ov;
			}
		} else {
			brute(lo, hi, &in, &ov, &empty);
			/* and the other way, to skip pairs where either is empty */
			brute(hi, lo, &in2, &ov2, &empty2);
			want_err =
				!empty && in &&
				!(hi->action == TP_ACTION_ALLOW && hi->stateful && !lo->stateful);
			(void)ov2;
			(void)in2;
		}
		tp_diag_init(&d, NULL);
		tp_lint_site(&site, NULL, &o, &d);
		if (!empty &&
		    (d.n_errors != (want_err ? 1u : 0u) || d.n_warnings != (want_warn ? 1u : 0u))) {
			if (mismatches++ < 5) {
				fprintf(stderr, "\nmismatch at iteration %d: want %d err %d warn\n",
					iter, want_err, want_warn);
				tp_diag_print(&d, stderr);
			}
		}
		checked += !empty;
		tp_diag_free(&d);
		for (int k = 0; k < 2; k++) {
			free(rules[k].dst_ports);
			free(rules[k].src_ports);
			free(rules[k].icmp);
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_TRUE(checked > 15000);
}

int main(int argc, char **argv)
{
	CU_pSuite s;
	unsigned failed;

	examples_dir = argc > 1 ? argv[1] : "deploy/examples";
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("lint", NULL, NULL);
	CU_add_test(s, "example plants pass", test_examples_pass);
	CU_add_test(s, "prefix in two zones", test_prefix_in_two_zones);
	CU_add_test(s, "shadowed by a deny", test_shadowed);
	CU_add_test(s, "redundant", test_redundant);
	CU_add_test(s, "modbus profiles", test_profiles);
	CU_add_test(s, "narrow smaller id and stateful are alive", test_narrow_smaller_id_lives);
	CU_add_test(s, "allow and deny overlap: deny wins", test_allow_deny_overlap);
	CU_add_test(s, "failed assertions name the rule or the default", test_failed_assertions);
	CU_add_test(s, "assertions at times", test_window_assertions);
	CU_add_test(s, "warnings", test_warnings);
	CU_add_test(s, "compile refusal", test_compile_hook);
	CU_add_test(s, "conduit pairs vs brute force", test_pairs_vs_brute_force);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
