/* SPDX-License-Identifier: MIT */
/*
 * tp_xdp_zones_from_site: which prefixes, local zones and zone pairs a zone
 * port's XDP program gets from a site. No BPF involved (label unit). The
 * pairs it fills are the ones `tpolicy export` and `tpolicy verify` expect
 * (tp_export_xdp_intent), on hand-made and random sites with stateless
 * conduits: a `stateful: false` conduit opens only its own direction.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"
#include "tp/policy/export.h"
#include "tp/dp/xdp_site.h"

enum { CELL, SCADA, SAFETY, VENDOR, NZONES };

static struct tp_prefix pfx(const char *s)
{
	struct tp_prefix p;

	if (!tp_prefix_parse(s, &p))
		abort();
	return p;
}

static bool has_pair(const struct tp_xdp_zones *z, uint32_t s, uint32_t d)
{
	for (size_t i = 0; i < z->n_pairs; i++)
		if (z->pairs[i].src_zone == s && z->pairs[i].dst_zone == d)
			return true;
	return false;
}

static void test_from_site(void)
{
	struct tp_prefix cell[] = {pfx("10.1.0.0/24"), pfx("2001:db8:1::/64")};
	struct tp_prefix scada[] = {pfx("10.2.0.0/24")};
	struct tp_prefix safety[] = {pfx("10.3.0.0/24")};
	struct tp_prefix vendor[] = {pfx("10.1.0.128/26")};
	struct tp_zone zones[NZONES] = {
		[CELL] = {.prefixes = cell, .n_prefixes = 2, .tp = 0},
		[SCADA] = {.prefixes = scada, .n_prefixes = 1, .tp = 1},
		[SAFETY] = {.prefixes = safety, .n_prefixes = 1, .tp = 0},
		[VENDOR] = {.prefixes = vendor, .n_prefixes = 1, .tp = 2},
	};
	struct tp_tpoint tps[3] = {{.name = "tp-a"}, {.name = "tp-b"}, {.name = "tp-c"}};
	struct tp_rule rules[] = {
		/* SCADA polls the cell (stateful): replies leave cell -> SCADA */
		{.id = 1,
		 .from_zone = SCADA,
		 .to_zone = CELL,
		 .action = TP_ACTION_ALLOW,
		 .proto = 6,
		 .stateful = true},
		/* cell pushes to the vendor, stateless: only that direction */
		{.id = 2,
		 .from_zone = CELL,
		 .to_zone = VENDOR,
		 .action = TP_ACTION_ALLOW,
		 .proto = 17,
		 .stateful = false},
		/* a deny opens nothing */
		{.id = 3, .from_zone = SAFETY, .to_zone = SCADA, .action = TP_ACTION_DENY},
		/* vendor -> SCADA: neither zone is here */
		{.id = 4,
		 .from_zone = VENDOR,
		 .to_zone = SCADA,
		 .action = TP_ACTION_ALLOW,
		 .stateful = true},
		/* duplicate of rule 1's reverse direction */
		{.id = 5,
		 .from_zone = CELL,
		 .to_zone = SCADA,
		 .action = TP_ACTION_ALLOW,
		 .proto = 1,
		 .stateful = true},
		/* two local zones */
		{.id = 6,
		 .from_zone = SAFETY,
		 .to_zone = CELL,
		 .action = TP_ACTION_ALLOW,
		 .stateful = true},
	};
	struct tp_site site = {.zones = zones,
			       .n_zones = NZONES,
			       .tps = tps,
			       .n_tps = 3,
			       .rules = rules,
			       .n_rules = sizeof(rules) / sizeof(rules[0])};
	struct tp_prefix addrs[] = {pfx("10.1.0.1"), pfx("2001:db8:1::1"), pfx("10.3.0.1")};
	struct tp_xdp_zones *z = tp_xdp_zones_from_site(&site, 0, addrs, 3);

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(z->n_prefixes, 5);
	CU_ASSERT_EQUAL(z->prefixes[4].zone, VENDOR);
	CU_ASSERT_EQUAL(z->prefixes[4].prefix.len, 26);
	CU_ASSERT_EQUAL(z->n_local_zones, 2);
	CU_ASSERT_EQUAL(z->local_zones[0], CELL);
	CU_ASSERT_EQUAL(z->local_zones[1], SAFETY);
	CU_ASSERT_EQUAL(z->n_local_addrs, 3);
	CU_ASSERT_EQUAL(z->local_addrs[2].addr[1], 3);

	CU_ASSERT_TRUE(has_pair(z, CELL, SCADA));    /* replies to rule 1, and rule 5 */
	CU_ASSERT_TRUE(has_pair(z, CELL, VENDOR));   /* rule 2 */
	CU_ASSERT_TRUE(has_pair(z, SAFETY, CELL));   /* rule 6 */
	CU_ASSERT_TRUE(has_pair(z, CELL, SAFETY));   /* replies to rule 6 */
	CU_ASSERT_FALSE(has_pair(z, SAFETY, SCADA)); /* deny only */
	CU_ASSERT_FALSE(has_pair(z, SCADA, CELL));   /* remote source: spoofed on this port */
	CU_ASSERT_EQUAL(z->n_pairs, 4);		     /* no duplicates */
	tp_xdp_zones_free(z);

	/* the vendor TP hosts only the vendor zone: stateless rule 2 gives it nothing */
	z = tp_xdp_zones_from_site(&site, 2, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(z->n_local_zones, 1);
	CU_ASSERT_TRUE(has_pair(z, VENDOR, SCADA));
	CU_ASSERT_FALSE(has_pair(z, VENDOR, CELL));
	CU_ASSERT_EQUAL(z->n_pairs, 1);
	tp_xdp_zones_free(z);

	CU_ASSERT_PTR_NULL(tp_xdp_zones_from_site(&site, 3, NULL, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	rules[0].to_zone = NZONES;
	CU_ASSERT_PTR_NULL(tp_xdp_zones_from_site(&site, 0, NULL, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

/* The dataplane's pairs for TP tp equal the export's intent, as sets. */
static bool same_as_intent(const struct tp_site *site, uint32_t tp)
{
	struct tp_xdp_zones *z = tp_xdp_zones_from_site(site, tp, NULL, 0);
	uint32_t(*want)[2] = NULL;
	int n = tp_export_xdp_intent(site, tp, &want);
	bool same = z && n >= 0 && (size_t)n == z->n_pairs;

	for (int i = 0; same && i < n; i++)
		same = has_pair(z, want[i][0], want[i][1]);
	if (!same)
		fprintf(stderr, "\n  tp %u: dataplane %zu pairs, intent %d\n", tp,
			z ? z->n_pairs : 0, n);
	free(want);
	tp_xdp_zones_free(z);
	return same;
}

static void test_stateless_one_way(void)
{
	struct tp_prefix a[] = {pfx("10.1.0.0/24")}, b[] = {pfx("10.2.0.0/24")};
	struct tp_zone zones[2] = {{.prefixes = a, .n_prefixes = 1, .tp = 0},
				   {.prefixes = b, .n_prefixes = 1, .tp = 1}};
	struct tp_tpoint tps[2] = {{.name = "tp-a"}, {.name = "tp-b"}};
	struct tp_rule rules[] = {
		/* a pushes to b, one way: nothing may go back b -> a */
		{.id = 1, .from_zone = 0, .to_zone = 1, .action = TP_ACTION_ALLOW, .proto = 17},
	};
	struct tp_site site = {
		.zones = zones, .n_zones = 2, .tps = tps, .n_tps = 2, .rules = rules, .n_rules = 1};
	struct tp_xdp_zones *z;

	z = tp_xdp_zones_from_site(&site, 0, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_TRUE(has_pair(z, 0, 1));
	CU_ASSERT_EQUAL(z->n_pairs, 1);
	tp_xdp_zones_free(z);
	/* b's zone port never passes b -> a */
	z = tp_xdp_zones_from_site(&site, 1, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(z->n_pairs, 0);
	tp_xdp_zones_free(z);
	CU_ASSERT_TRUE(same_as_intent(&site, 0));
	CU_ASSERT_TRUE(same_as_intent(&site, 1));
	/* stateful, the same conduit opens b -> a for its replies */
	rules[0].stateful = true;
	z = tp_xdp_zones_from_site(&site, 1, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_TRUE(has_pair(z, 1, 0));
	tp_xdp_zones_free(z);
	CU_ASSERT_TRUE(same_as_intent(&site, 1));
}

static void test_random_sites_agree(void)
{
	const struct gen_cfg cfg = {.zones_max = 6, .rules_min = 1, .rules_max = 24};
	struct gen g;
	unsigned bad = 0;

	gen_seed(&g, 0x5eed1e55);
	for (int i = 0; i < 2000; i++) {
		struct tp_site *s = gen_site(&g, &cfg);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		for (uint32_t t = 0; t < s->n_tps; t++)
			bad += !same_as_intent(s, t);
		tp_site_free(s);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

int main(void)
{
	CU_pSuite s;
	int fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xdp_site", NULL, NULL);
	CU_add_test(s, "tables from a site", test_from_site);
	CU_add_test(s, "a stateless conduit opens one way", test_stateless_one_way);
	CU_add_test(s, "pairs == export intent on random sites", test_random_sites_agree);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = (int)CU_get_number_of_failures() + (int)CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
