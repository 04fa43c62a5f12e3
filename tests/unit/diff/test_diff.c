// SPDX-License-Identifier: MIT
/*
 * Service-space cells and the policy diff.
 *
 * The cells are checked against the definition they rely on: on random
 * sites and random packets, every packet is decided exactly like the
 * representative of the cell that contains it, in every site, and a packet
 * that no cell contains is denied by default everywhere. The diff is then
 * checked on crafted pairs of sites with the exact expected list.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/diff.h"
#include "tp/policy/space.h"
#include "tp/policy/yaml.h"

#define NOW 1795824000 /* 2026-11-28T00:00:00Z */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const uint8_t protos[] = {0, 6, 17, 1, 58, 47, 132};

static void random_ranges(struct tp_port_range **v, size_t *n)
{
	*n = rnd(3);
	*v = *n ? calloc(*n, sizeof(**v)) : NULL;
	for (size_t i = 0; i < *n; i++) {
		/* small port space so that packets often hit the edges */
		uint16_t lo = (uint16_t)rnd(40), hi = (uint16_t)(lo + rnd(10));

		if (rnd(8) == 0)
			hi = 65535;
		(*v)[i] = (struct tp_port_range){lo, hi};
	}
}

/* Two zones (0 -> 1), rules between them in both directions. */
static struct tp_site *random_site(void)
{
	struct tp_site *s = calloc(1, sizeof(*s));

	strcpy(s->name, "r");
	s->n_tps = 1;
	s->tps = calloc(1, sizeof(*s->tps));
	strcpy(s->tps[0].name, "t");
	s->n_zones = 2;
	s->zones = calloc(2, sizeof(*s->zones));
	for (int z = 0; z < 2; z++) {
		snprintf(s->zones[z].name, TP_NAME_MAX, "z%d", z);
		s->zones[z].id = (uint32_t)z + 1;
		s->zones[z].n_prefixes = 2;
		s->zones[z].prefixes = calloc(2, sizeof(struct tp_prefix));
		tp_prefix_parse(z ? "10.2.0.0/16" : "10.1.0.0/16", &s->zones[z].prefixes[0]);
		tp_prefix_parse(z ? "fd00:2::/64" : "fd00:1::/64", &s->zones[z].prefixes[1]);
	}
	s->n_rules = 1 + rnd(6);
	s->rules = calloc(s->n_rules, sizeof(*s->rules));
	for (size_t i = 0; i < s->n_rules; i++) {
		struct tp_rule *r = &s->rules[i];

		r->id = (uint32_t)i + 1;
		r->from_zone = rnd(4) == 0; /* mostly 0 -> 1 */
		r->to_zone = !r->from_zone;
		r->action = rnd(3) ? TP_ACTION_ALLOW : TP_ACTION_DENY;
		r->stateful = true;
		r->proto = protos[rnd(sizeof(protos))];
		if (!r->proto || tp_proto_has_ports(r->proto)) {
			random_ranges(&r->dst_ports, &r->n_dst_ports);
			if (rnd(3) == 0)
				random_ranges(&r->src_ports, &r->n_src_ports);
		}
		if (tp_proto_is_icmp(r->proto) && rnd(2)) {
			r->n_icmp = 1 + rnd(2);
			r->icmp = calloc(r->n_icmp, sizeof(*r->icmp));
			for (size_t k = 0; k < r->n_icmp; k++)
				r->icmp[k] = (struct tp_icmp_match){
					(uint8_t)rnd(4), (int16_t)(rnd(2) ? -1 : (int)rnd(3))};
		}
	}
	return s;
}

static bool cell_contains(const struct tp_cell *c, const struct tp_flow *f,
			  const struct tp_space *sp)
{
	if (c->proto != f->proto)
		return false;
	if (tp_proto_has_ports(f->proto))
		return c->dlo <= f->dport && f->dport <= c->dhi && c->slo <= f->sport &&
		       f->sport <= c->shi;
	if (!tp_proto_is_icmp(f->proto))
		return true;
	/* the most specific ICMP cell: exact code, then the type, then the rest */
	if (c->itype == f->icmp_type && c->icode == f->icmp_code)
		return true;
	for (size_t i = 0; i < sp->n; i++)
		if (sp->cells[i].proto == f->proto && sp->cells[i].itype == f->icmp_type &&
		    sp->cells[i].icode == f->icmp_code)
			return false;
	if (c->itype == f->icmp_type)
		return c->icode < 0;
	for (size_t i = 0; i < sp->n; i++)
		if (sp->cells[i].proto == f->proto && sp->cells[i].itype == f->icmp_type)
			return false;
	return c->itype < 0;
}

static void test_cells_model(void)
{
	for (int round = 0; round < 400; round++) {
		struct tp_site *s[2] = {random_site(), random_site()};
		const struct tp_site *cs[2] = {s[0], s[1]};
		struct tp_space sp;

		CU_ASSERT_EQUAL_FATAL(tp_space_build(cs, 2, "z0", "z1", &sp), 0);
		for (int k = 0; k < 300; k++) {
			struct tp_flow f = {0};
			const struct tp_cell *c = NULL, *other = NULL;

			f.proto = rnd(4) ? protos[1 + rnd(sizeof(protos) - 1)] : (uint8_t)rnd(256);
			tp_prefix_parse(f.proto == 58 ? "fd00:1::9" : "10.1.3.4", &f.src);
			tp_prefix_parse(f.proto == 58 ? "fd00:2::9" : "10.2.3.4", &f.dst);
			f.dport = (uint16_t)(rnd(5) ? rnd(60) : rnd(65536));
			f.sport = (uint16_t)(rnd(5) ? rnd(60) : rnd(65536));
			f.icmp_type = (uint8_t)rnd(6);
			f.icmp_code = (uint8_t)rnd(4);
			for (size_t i = 0; i < sp.n && !c; i++)
				if (cell_contains(&sp.cells[i], &f, &sp))
					c = &sp.cells[i];
			for (size_t i = 0; i < sp.n; i++)
				if (sp.cells[i].other)
					other = &sp.cells[i];
			if (!c && other && !tp_proto_has_ports(f.proto) &&
			    !tp_proto_is_icmp(f.proto))
				c = other;
			for (int w = 0; w < 2; w++) {
				struct tp_decision d, dc;

				tp_ref_evaluate(s[w], &f, NOW, &d);
				if (!c) {
					CU_ASSERT_EQUAL(d.reason, TP_REASON_DEFAULT_DENY);
					continue;
				}
				tp_space_decide(s[w], "z0", "z1", c, NOW, &dc);
				CU_ASSERT_EQUAL(d.verdict, dc.verdict);
				CU_ASSERT_EQUAL(d.rule_id, dc.rule_id);
			}
		}
		tp_space_free(&sp);
		tp_site_free(s[0]);
		tp_site_free(s[1]);
	}
}

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

#define HEAD                                                                           \
	"site: d\n"                                                                    \
	"transition_points:\n"                                                         \
	"  - { name: t1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n" \
	"zones:\n"                                                                     \
	"  - { name: a, id: 1, tp: t1, prefixes: [10.1.0.0/16] }\n"                    \
	"  - { name: b, id: 2, tp: t1, prefixes: [10.2.0.0/16] }\n"

static char *diff_text(const char *old_yaml, const char *new_yaml)
{
	struct tp_site *o = site_from(old_yaml), *n = site_from(new_yaml);
	struct tp_diff d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL_FATAL(tp_diff_sites(o, n, NOW, &d), 0);
	f = open_memstream(&buf, &len);
	tp_diff_print(&d, f);
	fclose(f);
	tp_diff_free(&d);
	tp_site_free(o);
	tp_site_free(n);
	return buf;
}

static void expect_diff(const char *o, const char *n, const char *want)
{
	char *got = diff_text(o, n);

	if (strcmp(got, want))
		fprintf(stderr, "\n--- want\n%s--- got\n%s", want, got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void test_diff_crafted(void)
{
	/* identical */
	expect_diff(HEAD "conduits:\n  - { id: 1, from: a, to: b, action: allow, proto: tcp, "
			 "dst_ports: [502] }\n",
		    HEAD "conduits:\n  - { id: 7, from: a, to: b, action: allow, proto: tcp, "
			 "dst_ports: [502] }\n",
		    "0 newly allowed, 0 newly denied\n");
	/* a range widened and a deny carved out of it */
	expect_diff(HEAD "conduits:\n  - { id: 1, from: a, to: b, action: allow, proto: tcp, "
			 "dst_ports: [1000-1999] }\n",
		    HEAD
		    "conduits:\n  - { id: 1, from: a, to: b, action: allow, proto: tcp, "
		    "dst_ports: [1000-2999] }\n"
		    "  - { id: 2, from: a, to: b, action: deny, proto: tcp, dst_ports: [1500] }\n",
		    "- a -> b tcp/1500 (was conduit 1)\n"
		    "+ a -> b tcp/2000-2999 (conduit 1)\n"
		    "1 newly allowed, 1 newly denied\n");
	/* any protocol opened: every protocol class appears once (no ICMPv6:
	 * these zones have no IPv6 address) */
	expect_diff(HEAD "conduits: []\n",
		    HEAD "conduits:\n  - { id: 3, from: b, to: a, action: allow }\n",
		    "+ b -> a icmp any (conduit 3)\n"
		    "+ b -> a tcp/any (conduit 3)\n"
		    "+ b -> a udp/any (conduit 3)\n"
		    "+ b -> a sctp/any (conduit 3)\n"
		    "+ b -> a udplite/any (conduit 3)\n"
		    "+ b -> a other protocols (conduit 3)\n"
		    "6 newly allowed, 0 newly denied\n");
	/* a validity window that has ended at NOW */
	expect_diff(HEAD "conduits:\n  - { id: 1, from: a, to: b, action: allow, proto: icmp, "
			 "icmp: [{type: 8, code: 0}] }\n",
		    HEAD "conduits:\n  - { id: 1, from: a, to: b, action: allow, proto: icmp, "
			 "icmp: [{type: 8, code: 0}], not_after: 2026-11-01T00:00:00Z }\n",
		    "- a -> b icmp 8/0 (was conduit 1)\n"
		    "0 newly allowed, 1 newly denied\n");
}

static void test_diff_zones(void)
{
	char *got = diff_text(
		HEAD "conduits: []\n",
		"site: d\ntransition_points:\n"
		"  - { name: t1, public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg= }\n"
		"zones:\n"
		"  - { name: a, id: 1, tp: t1, prefixes: [10.1.0.0/24] }\n"
		"  - { name: c, id: 3, tp: t1, prefixes: [10.3.0.0/16] }\n"
		"conduits:\n"
		"  - { id: 1, from: c, to: a, action: allow, proto: udp, "
		"dst_ports: [53] }\n");

	CU_ASSERT_STRING_EQUAL(got, "~ zone a: prefixes\n"
				    "~ zone b: removed\n"
				    "~ zone c: added\n"
				    "+ c -> a udp/53 (conduit 1)\n"
				    "1 newly allowed, 0 newly denied\n");
	free(got);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("diff", NULL, NULL);
	CU_add_test(s, "cells against the evaluator (random sites, 120k packets)",
		    test_cells_model);
	CU_add_test(s, "diff of crafted sites, exact lists", test_diff_crafted);
	CU_add_test(s, "zone changes", test_diff_zones);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
