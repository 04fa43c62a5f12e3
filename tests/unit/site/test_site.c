// SPDX-License-Identifier: MIT
/* Unit tests for the site model: prefix parsing, containment, zone lookup,
 * deep copy. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/site.h"

static void test_prefix_parse_valid(void)
{
	static const char *const ok[] = {
		"10.1.0.0/16", "0.0.0.0/0", "192.0.2.7",   "192.0.2.7/32",
		"fd00:1::/64", "::/0",	    "2001:db8::1", "2001:db8::/32",
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct tp_prefix p;
		CU_ASSERT_TRUE_FATAL(tp_prefix_parse(ok[i], &p));
		tp_prefix_format(&p, true, buf, sizeof(buf));
		/* bare addresses format back without /len, others with it */
		if (strchr(ok[i], '/') && !strstr(ok[i], "/32"))
			CU_ASSERT_STRING_EQUAL(buf, ok[i]);
	}
}

static void test_prefix_parse_invalid(void)
{
	static const char *const bad[] = {
		"",
		"10.1.0.0/",
		"10.1.0.0/33",
		"10.1.0.1/16", /* host bits set */
		"10.1.0.0/016",
		"10.1.0.0/1x",
		"300.1.0.0/8",
		"fd00::/129",
		"fd00::1/64",
		"hello",
		"/8",
		"10.1.0.0/-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tp_prefix p;
		CU_ASSERT_FALSE(tp_prefix_parse(bad[i], &p));
	}
	CU_ASSERT_FALSE(tp_prefix_parse(NULL, &(struct tp_prefix){0}));
}

static void test_prefix_contains(void)
{
	struct tp_prefix net, a, b, six;

	CU_ASSERT_TRUE_FATAL(tp_prefix_parse("10.1.0.0/17", &net));
	CU_ASSERT_TRUE_FATAL(tp_prefix_parse("10.1.127.255", &a));
	CU_ASSERT_TRUE_FATAL(tp_prefix_parse("10.1.128.0", &b));
	CU_ASSERT_TRUE_FATAL(tp_prefix_parse("::ffff:10.1.0.1", &six));
	CU_ASSERT_TRUE(tp_prefix_contains(&net, &a));
	CU_ASSERT_FALSE(tp_prefix_contains(&net, &b));
	CU_ASSERT_FALSE(tp_prefix_contains(&net, &six)); /* families never mix */
	CU_ASSERT_TRUE(tp_prefix_contains(&net, &net));
}

/* A small site with nested prefixes in different zones (DESIGN.md §7.1). */
static struct tp_site *make_site(void)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	static const char *const pfx[][2] = {
		{"10.1.0.0/16", "fd00:1::/64"},
		{"10.1.2.0/24", "fd00:1::/80"},
		{"0.0.0.0/0", "::/0"},
	};

	s->n_zones = 3;
	s->zones = calloc(s->n_zones, sizeof(*s->zones));
	for (size_t z = 0; z < s->n_zones; z++) {
		snprintf(s->zones[z].name, TP_NAME_MAX, "zone%zu", z);
		s->zones[z].n_prefixes = 2;
		s->zones[z].prefixes = calloc(2, sizeof(struct tp_prefix));
		for (size_t i = 0; i < 2; i++)
			CU_ASSERT_TRUE(tp_prefix_parse(pfx[z][i], &s->zones[z].prefixes[i]));
	}
	s->n_rules = 1;
	s->rules = calloc(1, sizeof(*s->rules));
	s->rules[0].id = 7;
	s->rules[0].n_dst_ports = 1;
	s->rules[0].dst_ports = calloc(1, sizeof(struct tp_port_range));
	s->rules[0].dst_ports[0] = (struct tp_port_range){502, 502};
	s->source_file = strdup("site.yaml");
	return s;
}

static uint32_t zone_of(const struct tp_site *s, const char *addr)
{
	struct tp_prefix a;

	CU_ASSERT_TRUE_FATAL(tp_prefix_parse(addr, &a));
	return tp_site_zone_of(s, &a);
}

static void test_zone_longest_match(void)
{
	struct tp_site *s = make_site();

	CU_ASSERT_EQUAL(zone_of(s, "10.1.0.5"), 0);
	CU_ASSERT_EQUAL(zone_of(s, "10.1.2.5"), 1);
	CU_ASSERT_EQUAL(zone_of(s, "8.8.8.8"), 2);
	CU_ASSERT_EQUAL(zone_of(s, "fd00:1::5"), 1);
	CU_ASSERT_EQUAL(zone_of(s, "fd00:1::1:0:0:5"), 0);
	s->n_zones = 2; /* without the catch-all zone: no zone */
	CU_ASSERT_EQUAL(zone_of(s, "8.8.8.8"), TP_ZONE_NONE);
	s->n_zones = 3;
	CU_ASSERT_EQUAL(tp_site_zone_by_name(s, "zone1"), 1);
	CU_ASSERT_EQUAL(tp_site_zone_by_name(s, "nope"), TP_ZONE_NONE);
	tp_site_free(s);
}

static void test_clone_is_deep(void)
{
	struct tp_site *s = make_site();
	struct tp_site *c = tp_site_clone(s);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_EQUAL(c->zones[0].prefixes, s->zones[0].prefixes);
	CU_ASSERT_PTR_NOT_EQUAL(c->rules[0].dst_ports, s->rules[0].dst_ports);
	s->rules[0].dst_ports[0].lo = 1;
	CU_ASSERT_EQUAL(c->rules[0].dst_ports[0].lo, 502);
	CU_ASSERT_STRING_EQUAL(c->source_file, "site.yaml");
	tp_site_free(s);
	CU_ASSERT_EQUAL(zone_of(c, "10.1.2.5"), 1);
	tp_site_free(c);
	tp_site_free(NULL);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("site", NULL, NULL);
	CU_add_test(suite, "prefix parse valid", test_prefix_parse_valid);
	CU_add_test(suite, "prefix parse invalid", test_prefix_parse_invalid);
	CU_add_test(suite, "prefix contains", test_prefix_contains);
	CU_add_test(suite, "zone longest match", test_zone_longest_match);
	CU_add_test(suite, "clone is deep", test_clone_is_deep);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
