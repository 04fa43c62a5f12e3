// SPDX-License-Identifier: MIT
/*
 * The pipeline seam on real mbufs (EAL with --no-huge, so label root):
 * the parse stage keeps good packets in order and moves bad ones to the
 * drop vector; the flush counts each reason and frees every dropped mbuf
 * exactly once (the pool is full again afterwards).
 */
#include <CUnit/Basic.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tp/pipeline.h"

static struct rte_mempool *pool;

/* A minimal valid Ethernet/IPv4/UDP frame; corrupt = flip the IP checksum. */
static struct rte_mbuf *frame(bool corrupt, uint8_t tag)
{
	static const uint8_t tmpl[] = {
		2,    2,    2,	  2,	2, 2, 2,    2, 2,  2,  2, 2, 0x08, 0x00, /* eth */
		0x45, 0,    0,	  28,	0, 1, 0x40, 0, 64, 17, 0, 0, 10,   1,
		0,    5,    10,	  2,	0, 7,	       /* ip */
		0x9c, 0x40, 0xba, 0xc0, 0, 8, 0,    0, /* udp */
	};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;
	uint32_t sum = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	p = (uint8_t *)rte_pktmbuf_append(m, sizeof(tmpl));
	memcpy(p, tmpl, sizeof(tmpl));
	p[18] = tag; /* IP id: tells packets apart */
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	p[24] = (uint8_t)(sum >> 8);
	p[25] = (uint8_t)(sum ^ (corrupt ? 1 : 0));
	return m;
}

static void test_parse_stage_and_flush(void)
{
	struct tp_counters *c = tp_counters_create(1);
	struct tp_stage_ctx ctx = {.cnt = tp_counters_slot(c, 0)};
	static const tp_stage_fn only_parse[] = {tp_stage_parse};
	static const tp_stage_fn parse_then_gate[] = {tp_stage_parse, tp_stage_no_policy};
	static struct tp_drop_vec dv;
	struct rte_mbuf *pkts[8];
	struct tp_counters_totals t;
	unsigned full = rte_mempool_avail_count(pool);
	uint16_t n;

	for (uint8_t i = 0; i < 8; i++)
		pkts[i] = frame(i % 3 == 1, i); /* 1, 4, 7 are bad */
	n = tp_pipeline_run(only_parse, 1, &ctx, pkts, 8, &dv);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(dv.n, 3);
	/* survivors in their original order, descriptors filled */
	{
		static const uint8_t want[] = {0, 2, 3, 5, 6};

		for (int i = 0; i < 5; i++) {
			CU_ASSERT_EQUAL(rte_pktmbuf_mtod(pkts[i], uint8_t *)[18], want[i]);
			CU_ASSERT_EQUAL(tp_pkt_meta(pkts[i])->info.dport, 47808);
			CU_ASSERT_EQUAL(tp_pkt_meta(pkts[i])->src_zone, UINT32_MAX);
		}
	}
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(dv.reason[i], TP_DROP_IP4_CSUM);
	tp_pipeline_flush(&dv, ctx.cnt);
	CU_ASSERT_EQUAL(dv.n, 0);
	rte_pktmbuf_free_bulk(pkts, n);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), full);

	/* a multi-segment mbuf is refused before parsing */
	pkts[0] = frame(false, 0);
	pkts[1] = frame(false, 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_chain(pkts[0], pkts[1]), 0);
	pkts[1] = frame(false, 2);
	n = tp_pipeline_run(parse_then_gate, 2, &ctx, pkts, 2, &dv);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(dv.n, 2);
	tp_pipeline_flush(&dv, ctx.cnt);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(pool), full);

	tp_counters_sum(c, &t);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_IP4_CSUM], 3);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_MULTI_SEG], 1);
	CU_ASSERT_EQUAL(t.drop[TP_DROP_NO_POLICY], 1);
	CU_ASSERT_EQUAL(t.stat[TP_STAT_PARSED], 6);
	tp_counters_free(c);
}

int main(void)
{
	char *eal[] = {"test_pipeline",
		       "--no-huge",
		       "-m",
		       "64",
		       "--no-pci",
		       "--file-prefix=tp-test-pipeline",
		       "--log-level=lib.eal:error",
		       "-l",
		       "0",
		       NULL};
	CU_pSuite suite;
	unsigned failed;

	if (rte_eal_init(9, eal) < 0)
		return 2;
	pool = rte_pktmbuf_pool_create("test", 1023, 0,
				       RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), 8),
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!pool)
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("pipeline", NULL, NULL);
	CU_add_test(suite, "parse stage, drop vector, one flush frees", test_parse_stage_and_flush);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return failed ? 1 : 0;
}
