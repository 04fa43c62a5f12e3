// SPDX-License-Identifier: MIT
/* Per-lcore counters: threads write their own slots, sums are exact once
 * writers stop, and the names come out of the X-macros. */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <string.h>

#include "tp/dp/counters.h"

#define N_THREADS 4
#define N_ITER	  100000

static struct tp_counters *shared;

static void *writer(void *arg)
{
	struct tp_counters_slot *s = tp_counters_slot(shared, (unsigned)(uintptr_t)arg);

	for (unsigned i = 0; i < N_ITER; i++) {
		tp_counters_add(s, TP_STAT_ZONE_RX_PKTS, 1);
		tp_counters_add(s, TP_STAT_ZONE_RX_BYTES, 64);
		tp_counters_drop(s, TP_DROP_IP4_CSUM, 1);
	}
	return NULL;
}

static void test_sum_across_slots(void)
{
	pthread_t th[N_THREADS];
	struct tp_counters_totals t;

	shared = tp_counters_create(N_THREADS + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(shared);
	for (uintptr_t i = 0; i < N_THREADS; i++)
		CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, writer, (void *)i), 0);
	/* a reader running concurrently only ever sees monotonic sums */
	uint64_t last = 0;
	for (int i = 0; i < 1000; i++) {
		tp_counters_sum(shared, &t);
		CU_ASSERT_TRUE(t.stat[TP_STAT_ZONE_RX_PKTS] >= last);
		last = t.stat[TP_STAT_ZONE_RX_PKTS];
	}
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	tp_counters_drop(tp_counters_slot(shared, N_THREADS), TP_DROP_NO_POLICY, 7);
	tp_counters_sum(shared, &t);
	CU_ASSERT_EQUAL(t.stat[TP_STAT_ZONE_RX_PKTS], (uint64_t)N_THREADS * N_ITER);
	CU_ASSERT_EQUAL(t.stat[TP_STAT_ZONE_RX_BYTES], (uint64_t)N_THREADS * N_ITER * 64);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_IP4_CSUM], (uint64_t)N_THREADS * N_ITER);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_NO_POLICY], 7);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_TX_FULL], 0);
	tp_counters_free(shared);
	CU_ASSERT_PTR_NULL(tp_counters_create(0));
	tp_counters_free(NULL);
}

static void test_slots_do_not_share_lines(void)
{
	struct tp_counters *c = tp_counters_create(2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL((uintptr_t)tp_counters_slot(c, 0) % 64, 0);
	CU_ASSERT_EQUAL((uintptr_t)tp_counters_slot(c, 1) % 64, 0);
	tp_counters_free(c);
}

static void test_names(void)
{
	CU_ASSERT_STRING_EQUAL(tp_drop_name(TP_DROP_IP4_CSUM), "ip4_bad_checksum");
	CU_ASSERT_STRING_EQUAL(tp_drop_name(TP_DROP_NO_POLICY), "no_policy");
	CU_ASSERT_STRING_EQUAL(tp_drop_name(TP_DROP__COUNT), "?");
	CU_ASSERT_STRING_EQUAL(tp_stat_name(TP_STAT_ZONE_RX_PKTS), "zone_rx_packets");
	/* every name is unique and non-empty */
	for (int i = 1; i < TP_DROP__COUNT; i++) {
		CU_ASSERT_TRUE(strlen(tp_drop_name(i)) > 0);
		CU_ASSERT_TRUE(strlen(tp_drop_help(i)) > 0);
		for (int j = 1; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(tp_drop_name(i), tp_drop_name(j));
	}
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("counters", NULL, NULL);
	CU_add_test(suite, "sum across slots", test_sum_across_slots);
	CU_add_test(suite, "slots on their own cache lines", test_slots_do_not_share_lines);
	CU_add_test(suite, "names", test_names);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
