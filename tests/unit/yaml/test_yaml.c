// SPDX-License-Identifier: MIT
/*
 * YAML reader: the example plants read completely and correctly, and each
 * class of bad input is reported at its exact line:column with its exact
 * message. Also the flow notation and RFC 3339 parsing it relies on.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/flowspec.h"
#include "tp/policy/timefmt.h"
#include "tp/policy/yaml.h"

static const char *examples_dir;

#define TPS                                                              \
	"transition_points:\n"                                           \
	"  - name: tp1\n"                                                \
	"    public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg=\n" \
	"  - name: tp2\n"                                                \
	"    public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs=\n"
/* TPS is 5 lines; ZONES starts at line 6 */
#define ZONES                                                         \
	"zones:\n"                                                    \
	"  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n" \
	"  - { name: z2, id: 2, tp: tp2, prefixes: [10.2.0.0/16] }\n"
/* conduits start at line 9 */

static struct tp_site *read_str(const char *text, struct tp_diags *d)
{
	tp_diag_init(d, "t.yaml");
	return tp_yaml_read(text, strlen(text), d, NULL);
}

/* Exactly one error, at line:col, with this message. */
static void expect_error(const char *text, unsigned line, unsigned col, const char *msg)
{
	struct tp_diags d;
	struct tp_site *s = read_str(text, &d);

	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(d.n_errors, 1);
	if (d.n >= 1) {
		CU_ASSERT_EQUAL(d.v[0].loc.line, line);
		CU_ASSERT_EQUAL(d.v[0].loc.col, col);
		CU_ASSERT_STRING_EQUAL(d.v[0].msg, msg);
		if (d.v[0].loc.line != line || d.v[0].loc.col != col || strcmp(d.v[0].msg, msg))
			fprintf(stderr, "\n  got %u:%u: %s\n  want %u:%u: %s\n", d.v[0].loc.line,
				d.v[0].loc.col, d.v[0].msg, line, col, msg);
	}
	if (d.n != 1)
		tp_diag_print(&d, stderr);
	tp_site_free(s);
	tp_diag_free(&d);
}

static void test_lab_plant(void)
{
	char path[4096];
	struct tp_site_locs *locs;
	struct tp_diags d;
	struct tp_site *s;
	struct tp_prefix p;

	snprintf(path, sizeof(path), "%s/lab-plant.yaml", examples_dir);
	tp_diag_init(&d, path);
	s = tp_yaml_read_file(path, &d, &locs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(s->name, "lab");
	CU_ASSERT_EQUAL(s->n_tps, 3);
	CU_ASSERT_EQUAL(s->n_zones, 4);
	CU_ASSERT_EQUAL(s->n_rules, 7);
	CU_ASSERT_EQUAL(s->n_assertions, 6);
	/* tp3 hosts z3 and z4, each with an IPv4 and an IPv6 prefix */
	CU_ASSERT_EQUAL(s->zones[2].tp, 2);
	CU_ASSERT_EQUAL(s->zones[3].tp, 2);
	CU_ASSERT_EQUAL(s->zones[3].n_prefixes, 2);
	CU_ASSERT_TRUE(tp_prefix_parse("fd00:4::/64", &p));
	CU_ASSERT_EQUAL(memcmp(&p, &s->zones[3].prefixes[1], sizeof(p)), 0);
	CU_ASSERT_EQUAL(s->tps[0].n_endpoints, 1);
	CU_ASSERT_EQUAL(s->tps[0].endpoints[0].port, 51820);
	/* first conduit: TCP 502 z1 -> z2, stateful by default */
	CU_ASSERT_EQUAL(s->rules[0].id, 10);
	CU_ASSERT_EQUAL(s->rules[0].proto, 6);
	CU_ASSERT_EQUAL(s->rules[0].n_dst_ports, 1);
	CU_ASSERT_EQUAL(s->rules[0].dst_ports[0].lo, 502);
	CU_ASSERT_TRUE(s->rules[0].stateful);
	CU_ASSERT_EQUAL(s->rules[0].loc.line, 29);
	CU_ASSERT_EQUAL(s->rules[0].loc.col, 5);
	/* echo-request resolves per family */
	CU_ASSERT_EQUAL(s->rules[1].icmp[0].type, 8);
	CU_ASSERT_EQUAL(s->rules[1].icmp[0].code, -1);
	CU_ASSERT_EQUAL(s->rules[2].icmp[0].type, 128);
	CU_ASSERT_EQUAL(s->rules[6].action, TP_ACTION_DENY);
	CU_ASSERT_EQUAL(s->rules[6].proto, 0);
	CU_ASSERT_TRUE(s->assertions[0].must_allow);
	CU_ASSERT_FALSE(s->assertions[1].must_allow);
	CU_ASSERT_PTR_NOT_NULL_FATAL(locs);
	CU_ASSERT_EQUAL(locs->n_zones, 4);
	CU_ASSERT_EQUAL(locs->prefix[0][1].line, 23);
	CU_ASSERT_EQUAL(locs->prefix[0][1].col, 57);
	CU_ASSERT_STRING_EQUAL(s->source_file, path);
	tp_site_locs_free(locs);
	tp_site_free(s);
	tp_diag_free(&d);
}

static void test_plant(void)
{
	char path[4096];
	struct tp_diags d;
	struct tp_site *s;
	int64_t t;

	snprintf(path, sizeof(path), "%s/plant.yaml", examples_dir);
	tp_diag_init(&d, path);
	s = tp_yaml_read_file(path, &d, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->n_zones, 7);
	for (size_t i = 0; i < s->n_rules; i++) {
		if (s->rules[i].id != 500)
			continue;
		CU_ASSERT_TRUE(tp_time_parse("2036-12-01T08:00:00Z", &t));
		CU_ASSERT_EQUAL(s->rules[i].not_before, t);
		CU_ASSERT_EQUAL(s->rules[i].not_after, t + 8 * 3600);
		CU_ASSERT_TRUE(s->rules[i].log);
	}
	tp_site_free(s);
	tp_diag_free(&d);
}

static void test_full_conduit(void)
{
	static const char text[] =
		TPS ZONES "conduits:\n"
			  "  - id: 7\n"
			  "    name: all-fields\n"
			  "    from: z1\n"
			  "    to: z2\n"
			  "    action: allow\n"
			  "    proto: tcp\n"
			  "    dst_ports: [502, 1000-2000]\n"
			  "    src_ports: 1024-65535\n"
			  "    stateful: false\n"
			  "    log: true\n"
			  "    rate_limit: { pps: 100 }\n"
			  "    not_before: 2026-12-01T08:00:00Z\n"
			  "    not_after: 2026-12-01T16:00:00Z\n"
			  "    modbus: { unit_ids: [1, 2], function_codes: [3, 4],"
			  " registers: [0-99] }\n"
			  "  - { id: 8, from: z1, to: z2, action: allow, proto: icmp,"
			  " icmp: [{type: 3, code: 4}, 11] }\n";
	struct tp_diags d;
	struct tp_site *s = read_str(text, &d);
	struct tp_rule *r;

	tp_diag_print(&d, stderr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	r = &s->rules[0];
	CU_ASSERT_STRING_EQUAL(r->name, "all-fields");
	CU_ASSERT_EQUAL(r->n_dst_ports, 2);
	CU_ASSERT_EQUAL(r->dst_ports[1].lo, 1000);
	CU_ASSERT_EQUAL(r->dst_ports[1].hi, 2000);
	CU_ASSERT_EQUAL(r->n_src_ports, 1);
	CU_ASSERT_EQUAL(r->src_ports[0].lo, 1024);
	CU_ASSERT_FALSE(r->stateful);
	CU_ASSERT_TRUE(r->log);
	CU_ASSERT_EQUAL(r->rate_pps, 100);
	CU_ASSERT_EQUAL(r->rate_burst, 100);
	CU_ASSERT_EQUAL(r->profile, TP_PROFILE_MODBUS);
	CU_ASSERT_EQUAL(r->modbus.n_function_codes, 2);
	CU_ASSERT_EQUAL(r->modbus.registers[0].hi, 99);
	r = &s->rules[1];
	CU_ASSERT_EQUAL(r->n_icmp, 2);
	CU_ASSERT_EQUAL(r->icmp[0].type, 3);
	CU_ASSERT_EQUAL(r->icmp[0].code, 4);
	CU_ASSERT_EQUAL(r->icmp[1].type, 11);
	CU_ASSERT_EQUAL(r->icmp[1].code, -1);
	tp_site_free(s);
	tp_diag_free(&d);
}

static void test_tp_zones_list(void)
{
	/* hosting given by the TP instead of the zone */
	static const char text[] =
		"transition_points:\n"
		"  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg=,"
		" zones: [z1] }\n"
		"zones:\n"
		"  - { name: z1, id: 1, prefixes: [10.1.0.0/16] }\n";
	struct tp_diags d;
	struct tp_site *s = read_str(text, &d);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->zones[0].tp, 0);
	tp_site_free(s);
	tp_diag_free(&d);
}

/* One test per class of bad input: exact location and message. */
static void test_errors(void)
{
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, proto: tcp,"
			       " dst_port: [502] }\n",
		     10, 59, "unknown key 'dst_port' in conduit (did you mean 'dst_ports'?)");
	expect_error(TPS ZONES "conduit:\n", 9, 1,
		     "unknown key 'conduit' in the policy file (did you mean 'conduits'?)");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z9, action: allow }\n",
		     10, 28, "unknown zone 'z9'");
	expect_error(TPS "zones:\n"
			 "  - { name: z1, id: 1, tp: tp7, prefixes: [10.1.0.0/16] }\n",
		     7, 28, "unknown transition point 'tp7'");
	expect_error(TPS "zones:\n"
			 "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.1/16] }\n",
		     7, 44,
		     "bad prefix '10.1.0.1/16': expected ADDRESS/LEN with the host bits zero");
	expect_error(TPS "zones:\n"
			 "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"
			 "  - { name: z1, id: 2, tp: tp2, prefixes: [10.2.0.0/16] }\n",
		     8, 5, "zone 'z1' is on two transition points: 'tp1' (at 7:5) and 'tp2'");
	expect_error(TPS "zones:\n"
			 "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"
			 "  - { name: z1, id: 2, tp: tp1, prefixes: [10.2.0.0/16] }\n",
		     8, 5, "zone 'z1' defined twice (first at 7:5)");
	expect_error("transition_points:\n"
		     "  - { name: tp1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
		     "  - { name: tp2, public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs=,"
		     " zones: [z1] }\n"
		     "zones:\n"
		     "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n",
		     3, 84, "zone 'z1' is on two transition points: 'tp1' (at 5:28) and 'tp2'");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, proto: tcp,"
			       " dst_ports: [600-500] }\n",
		     10, 71, "inverted port range '600-500': low end above high end");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, proto: tcp,"
			       " dst_ports: [70000] }\n",
		     10, 71, "port '70000' out of range (0..65535)");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow,"
			       " not_after: 2026-12-01T08:00:00+01:00 }\n",
		     10, 58,
		     "bad timestamp '2026-12-01T08:00:00+01:00' for not_after: expected RFC 3339 "
		     "UTC, e.g. 2026-12-01T08:00:00Z");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow,"
			       " not_before: 2026-02-30T08:00:00Z }\n",
		     10, 59,
		     "bad timestamp '2026-02-30T08:00:00Z' for not_before: expected RFC 3339 "
		     "UTC, e.g. 2026-12-01T08:00:00Z");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow }\n"
			       "  - { id: 1, from: z2, to: z1, action: allow }\n",
		     11, 5, "duplicate conduit id 1 (first at 10:5)");
	expect_error(TPS "zones:\n"
			 "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16] }\n"
			 "  - { name: z2, id: 1, tp: tp2, prefixes: [10.2.0.0/16] }\n",
		     8, 5, "zone id 1 of 'z2' is already used by zone 'z1' (at 7:5)");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, action: deny }\n",
		     10, 47, "duplicate key 'action' in conduit (first at 10:32)");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: permit }\n",
		     10, 40, "bad action 'permit': expected allow or deny");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, dst_ports: [22] }\n",
		     10, 58, "dst_ports needs proto tcp, udp, sctp or udplite");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, proto: tcp,"
			       " icmp: [8] }\n",
		     10, 65, "icmp needs proto icmp or icmpv6");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow, stateful: yes }\n",
		     10, 57, "bad stateful 'yes': expected true or false");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 0, from: z1, to: z2, action: allow }\n",
		     10, 11, "conduit id '0' out of range (1..4294967295)");
	expect_error(TPS ZONES
		     "conduits:\n"
		     "  - { id: 1, from: z1, to: z2, action: allow,"
		     " not_before: 2026-12-01T08:00:00Z, not_after: 2026-12-01T08:00:00Z }\n",
		     10, 92, "not_after is not later than not_before: the conduit never exists");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, to: z2, action: allow }\n"
			       "assertions:\n"
			       "  - { must_allow: 'tcp 10.1.0.1 -> 10.2.0.1' }\n",
		     12, 19,
		     "bad flow 'tcp 10.1.0.1 -> 10.2.0.1': tcp flow needs a destination port");
	expect_error(TPS ZONES "assertions:\n"
			       "  - { name: x }\n",
		     10, 5, "an assertion has exactly one of 'must_allow' or 'must_deny'");
	expect_error("transition_points:\n"
		     "  - { name: tp1, public_key: c2hvcnQ= }\n",
		     2, 30,
		     "bad public_key: expected 32 bytes in base64 (44 characters, as 'wg pubkey' "
		     "prints)");
	expect_error(TPS ZONES "conduits:\n"
			       "  - { id: 1, from: z1, action: allow }\n",
		     10, 5, "conduit is missing 'to'");
	expect_error(TPS "zones:\n"
			 "  - { name: z1, id: 1, tp: tp1, prefixes: [10.1.0.0/16, *x] }\n",
		     7, 57, "YAML aliases are not supported in policy files");
	expect_error("site: [unclosed\n", 2, 1,
		     "YAML syntax: did not find expected ',' or ']' while parsing a flow sequence");
	expect_error("site: a\n---\nsite: b\n", 2, 1, "a policy file holds one YAML document");
	expect_error("- 1\n", 1, 1, "the policy file must be a mapping");
	expect_error("", 1, 1, "empty policy file");
}

static void test_deep_nesting(void)
{
	char text[512];
	size_t n = 0;

	n += (size_t)snprintf(text, sizeof(text), "site: ");
	for (int i = 0; i < 40; i++)
		text[n++] = '[';
	for (int i = 0; i < 40; i++)
		text[n++] = ']';
	text[n++] = '\n';
	text[n] = '\0';
	expect_error(text, 1, 38, "nested deeper than 32 levels");
}

static void test_collects_all_errors(void)
{
	static const char text[] =
		TPS ZONES "conduits:\n"
			  "  - { id: 1, from: z1, to: z3, action: allow }\n"
			  "  - { id: 2, from: z1, to: z2, action: allow, proto: tcp,"
			  " dst_ports: [600-500], frm: z1 }\n";
	struct tp_diags d;
	struct tp_site *s = read_str(text, &d);

	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(d.n_errors, 3);
	tp_diag_free(&d);
}

static void test_flowspec(void)
{
	static const char *const good[] = {
		"tcp 10.1.0.5:40000 -> 10.2.0.7:502",
		"udp [fd00:2::5]:4000 -> [fd00:4::9]:5000",
		"icmp 10.1.0.5 -> 10.3.0.9 type 8 code 0",
		"icmpv6 fd00:1::5 -> fd00:3::9 type 128 code 0",
		"proto 47 10.1.0.5 -> 10.2.0.7",
	};
	static const char *const bad[] = {
		"tcp 10.1.0.5:40000 10.2.0.7:502",
		"tcp 10.1.0.5:40000 -> 10.2.0.7",
		"icmp fd00::1 -> fd00::2",
		"tcp 10.1.0.5:1 -> fd00::2:502",
		"gre 10.0.0.1 -> 10.0.0.2",
		"tcp 10.1.0.0/16:1 -> 10.2.0.7:502",
		"tcp 10.1.0.5:70000 -> 10.2.0.7:502",
		"icmp 10.1.0.5 -> 10.3.0.9 type 300",
		"udp 10.1.0.5:1 -> 10.2.0.7:2 extra",
		"",
	};
	struct tp_flow f, g;
	char buf[160], err[TP_FLOWSPEC_ERR_MAX];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_TRUE_FATAL(tp_flowspec_parse(good[i], &f, err, sizeof(err)));
		tp_flowspec_format(&f, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, good[i]);
		CU_ASSERT_TRUE(tp_flowspec_parse(buf, &g, NULL, 0));
		CU_ASSERT_EQUAL(memcmp(&f, &g, sizeof(f)), 0);
	}
	CU_ASSERT_TRUE(tp_flowspec_parse("tcp 10.1.0.5 -> 10.2.0.7:502", &f, NULL, 0));
	CU_ASSERT_EQUAL(f.sport, 0);
	CU_ASSERT_EQUAL(f.dport, 502);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_FALSE(tp_flowspec_parse(bad[i], &f, err, sizeof(err)));
}

static void test_time(void)
{
	int64_t t;
	char buf[32];

	CU_ASSERT_TRUE(tp_time_parse("1970-01-01T00:00:00Z", &t));
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_TRUE(tp_time_parse("2026-12-01T08:00:00Z", &t));
	CU_ASSERT_EQUAL(t, 1796112000);
	CU_ASSERT_STRING_EQUAL(tp_time_format(t, buf, sizeof(buf)), "2026-12-01T08:00:00Z");
	CU_ASSERT_TRUE(tp_time_parse("2024-02-29T23:59:59Z", &t));
	CU_ASSERT_FALSE(tp_time_parse("2025-02-29T00:00:00Z", &t));
	CU_ASSERT_FALSE(tp_time_parse("2026-12-01T08:00:60Z", &t));
	CU_ASSERT_FALSE(tp_time_parse("2026-12-01 08:00:00Z", &t));
	CU_ASSERT_FALSE(tp_time_parse("2026-12-01T08:00:00.5Z", &t));
	CU_ASSERT_FALSE(tp_time_parse("2026-12-01T08:00:00", &t));
	CU_ASSERT_FALSE(tp_time_parse("1969-12-31T23:59:59Z", &t));
}

int main(int argc, char **argv)
{
	CU_pSuite s;
	unsigned failed;

	examples_dir = argc > 1 ? argv[1] : "deploy/examples";
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("yaml", NULL, NULL);
	CU_add_test(s, "lab plant", test_lab_plant);
	CU_add_test(s, "example plant", test_plant);
	CU_add_test(s, "every conduit field", test_full_conduit);
	CU_add_test(s, "hosting given by the TP", test_tp_zones_list);
	CU_add_test(s, "each bad-input class, located", test_errors);
	CU_add_test(s, "deep nesting refused", test_deep_nesting);
	CU_add_test(s, "all errors reported at once", test_collects_all_errors);
	CU_add_test(s, "flow notation", test_flowspec);
	CU_add_test(s, "RFC 3339 UTC", test_time);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
