// SPDX-License-Identifier: MIT
/*
 * The pipeline seam on real mbufs (EAL with --no-huge, so label root),
 * through the stage fixtures: the parse stage keeps good packets in order
 * and moves bad ones to the drop vector with their reason; the flush
 * counts each reason and frees every dropped mbuf exactly once (the pool
 * is full again afterwards); chained mbufs are refused.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include <rte_mbuf.h>

#include "stage_fixture.h"

static struct rte_mempool *pool;

/* Ethernet/IPv4/UDP to 47808; tag goes into the IP id; flags_hi is the
 * first byte of the flags/fragment-offset field (0x40: DF, 0x20: MF). */
static void udp4(uint8_t f[42], uint8_t tag, bool bad_csum, uint8_t flags_hi)
{
	static const uint8_t tmpl[42] = {
		2,    2, 2,  2,	 2, 2, 2,    2,	   2,	 2,    2, 2, 0x08, 0x00,
		0x45, 0, 0,  28, 0, 1, 0x40, 0,	   64,	 17,   0, 0, 10,   1,
		0,    5, 10, 2,	 0, 7, 0x9c, 0x40, 0xba, 0xc0, 0, 8, 0,	   0,
	};
	uint32_t sum = 0;

	memcpy(f, tmpl, sizeof(tmpl));
	f[18] = tag;
	f[20] = flags_hi;
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	f[24] = (uint8_t)(sum >> 8);
	f[25] = (uint8_t)(sum ^ (bad_csum ? 1 : 0));
}

static void test_parse_stage_fixtures(void)
{
	static const struct tp_stage parse[] = {{tp_stage_parse, NULL}};
	static const uint8_t arp[42] = {[12] = 0x08, [13] = 0x06};
	static const uint8_t runt[10] = {0};
	uint8_t ok1[42], ok2[42], bad[42], frag[42];
	struct tp_counters *c = tp_counters_create(1);
	struct tp_stage_ctx ctx = {.cnt = tp_counters_slot(c, 0)};
	struct tp_counters_totals t;
	unsigned full = rte_mempool_avail_count(pool);
	struct rte_mbuf *out[8];
	enum tp_drop verdict[8];
	unsigned left;

	udp4(ok1, 1, false, 0x40);
	udp4(ok2, 2, false, 0x40);
	udp4(bad, 3, true, 0x40);
	udp4(frag, 4, false, 0x20); /* MF: a first fragment */
	{
		const struct tp_fixture_frame frames[] = {
			{ok1, sizeof(ok1)}, {bad, sizeof(bad)},	  {arp, sizeof(arp)},
			{ok2, sizeof(ok2)}, {runt, sizeof(runt)}, {frag, sizeof(frag)},
		};

		left = tp_fixture_run(parse, 1, &ctx, pool, frames, 6, verdict, out);
	}
	CU_ASSERT_EQUAL(left, 2);
	CU_ASSERT_EQUAL(verdict[0], TP_DROP_NONE);
	CU_ASSERT_EQUAL(verdict[1], TP_DROP_IP4_CSUM);
	CU_ASSERT_EQUAL(verdict[2], TP_DROP_NOT_IP);
	CU_ASSERT_EQUAL(verdict[3], TP_DROP_NONE);
	CU_ASSERT_EQUAL(verdict[4], TP_DROP_ETH_TRUNC);
	CU_ASSERT_EQUAL(verdict[5], TP_DROP_IP4_FRAGMENT);
	/* survivors in their original order, descriptors filled */
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(out[0], uint8_t *)[18], 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(out[1], uint8_t *)[18], 2);
	CU_ASSERT_EQUAL(tp_pkt_meta(out[1])->info.dport, 47808);
	CU_ASSERT_EQUAL(tp_pkt_meta(out[1])->src_zone, UINT32_MAX);
	rte_pktmbuf_free_bulk(out, left);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), full); /* drops freed once */

	tp_counters_sum(c, &t);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_IP4_CSUM], 1);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_NOT_IP], 1);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_ETH_TRUNC], 1);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_IP4_FRAGMENT], 1);
	CU_ASSERT_EQUAL(t.stat[TP_STAT_PARSED], 2);
	tp_counters_free(c);
}

static void test_multi_segment_and_gate(void)
{
	static const struct tp_stage parse_then_gate[] = {{tp_stage_parse, NULL},
							  {tp_stage_no_policy, NULL}};
	static struct tp_drop_vec dv;
	struct tp_counters *c = tp_counters_create(1);
	struct tp_stage_ctx ctx = {.cnt = tp_counters_slot(c, 0)};
	unsigned full = rte_mempool_avail_count(pool);
	struct tp_counters_totals t;
	struct rte_mbuf *pkts[2];
	uint8_t f[42];
	uint16_t n;

	udp4(f, 0, false, 0x40);
	pkts[0] = tp_fixture_mbuf(pool, f, sizeof(f));
	pkts[1] = tp_fixture_mbuf(pool, f, sizeof(f));
	CU_ASSERT_EQUAL(rte_pktmbuf_chain(pkts[0], pkts[1]), 0);
	pkts[1] = tp_fixture_mbuf(pool, f, sizeof(f));
	n = tp_pipeline_run(parse_then_gate, 2, &ctx, pkts, 2, &dv);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(dv.n, 2);
	tp_pipeline_flush(&dv, ctx.cnt);
	CU_ASSERT_EQUAL(dv.n, 0);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), full);
	tp_counters_sum(c, &t);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_MULTI_SEG], 1);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_NO_POLICY], 1);
	tp_counters_free(c);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	pool = tp_fixture_init("pipeline");
	if (!pool)
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("pipeline", NULL, NULL);
	CU_add_test(suite, "parse stage fixtures, one flush frees", test_parse_stage_fixtures);
	CU_add_test(suite, "chained mbuf refused, no-policy gate", test_multi_segment_and_gate);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	tp_fixture_fini(pool);
	return failed ? 1 : 0;
}
