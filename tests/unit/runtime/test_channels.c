// SPDX-License-Identifier: MIT
/*
 * The runtime end to end in memory mode (EAL, so label root): a worker
 * running a custom zone stage list hands UDP/51820 packets to the control
 * thread (tp_stage_to_control) and drops the rest; the control thread
 * takes them (tp_runtime_from_workers), sends them out of the transit
 * port (tp_runtime_send); the worker transmits them; net_ring loops them
 * back into the transit port, where the default stages drop them as
 * no_policy. Counters account for every packet; no timing is asserted,
 * only bounded waits for events.
 */
#include <CUnit/Basic.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "tp/pipeline.h"
#include "tp/runtime.h"

static struct tp_runtime rt;
static struct tp_counters *counters;

/* UDP to 51820 goes up to the control thread, everything else drops. */
static uint16_t stage_up(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			 struct tp_drop_vec *dv)
{
	for (uint16_t i = 0; i < n; i++) {
		struct tp_pkt_info *pi = &tp_pkt_meta(pkts[i])->info;

		if (pi->proto == TP_IPPROTO_UDP && pi->dport == 51820) {
			if (!tp_stage_to_control(ctx, pkts[i]))
				tp_drop_vec_push(dv, pkts[i], TP_DROP_CONTROL_FULL);
		} else {
			tp_drop_vec_push(dv, pkts[i], TP_DROP_NO_POLICY);
		}
	}
	return 0;
}

/* An RCU-published object the zone stage reads on every burst. */
struct published {
	uint64_t canary;
};
#define CANARY 0x7ab1eau
static struct published *published;
static uint64_t bad_reads; /* written by the worker only */

static uint16_t stage_rcu_reader(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
				 struct tp_drop_vec *dv)
{
	struct published *p = __atomic_load_n(&published, __ATOMIC_ACQUIRE);

	for (uint16_t i = 0; i < n; i++) {
		if (p->canary != CANARY)
			__atomic_store_n(&bad_reads, bad_reads + 1, __ATOMIC_RELAXED);
	}
	return n;
}

static const struct tp_stage zone_stages[] = {
	{tp_stage_parse, NULL}, {stage_rcu_reader, NULL}, {stage_up, NULL}};

static struct rte_mbuf *udp_frame(uint16_t dport)
{
	uint8_t f[42] = {2,    2, 2,  2,  2, 2, 2,    2,    2,	2,  2, 2, 0x08, 0x00,
			 0x45, 0, 0,  28, 0, 1, 0x40, 0,    64, 17, 0, 0, 10,	1,
			 0,    5, 10, 2,  0, 7, 0x9c, 0x40, 0,	0,  0, 8};
	struct rte_mbuf *m = rte_pktmbuf_alloc(rt.pool[0]);
	uint32_t sum = 0;

	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[24] = (uint8_t)(~sum >> 8);
	f[25] = (uint8_t)~sum;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(rte_pktmbuf_append(m, sizeof(f)), f, sizeof(f));
	return m;
}

static struct tp_counters_totals totals(void)
{
	struct tp_counters_totals t;

	tp_counters_sum(counters, &t);
	return t;
}

/* Wait (bounded, 5 s) until cond holds; no timing is asserted. */
#define WAIT_FOR(cond)                                       \
	do {                                                 \
		for (int _i = 0; _i < 5000 && !(cond); _i++) \
			rte_delay_us_sleep(1000);            \
	} while (0)

static void test_up_and_down(void)
{
	struct rte_mbuf *in[3] = {udp_frame(51820), udp_frame(47808), udp_frame(51820)};
	struct rte_mbuf *got[8];
	struct pollfd pfd = {.fd = tp_runtime_control_fd(&rt), .events = POLLIN};
	unsigned n = 0;

	/* net_ring: the zone port's tx queue 0 feeds its rx queue 0 */
	CU_ASSERT_EQUAL_FATAL(rte_eth_tx_burst(rt.port[TP_PORT_ZONE], 0, in, 3), 3);
	for (int i = 0; i < 50 && n < 2; i++) {
		if (poll(&pfd, 1, 100) > 0)
			n += tp_runtime_from_workers(&rt, got + n, 8 - n);
	}
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(tp_pkt_meta(got[0])->info.dport, 51820);
	CU_ASSERT_EQUAL(tp_pkt_meta(got[1])->info.dport, 51820);
	WAIT_FOR(totals().drop[TP_DROP_NO_POLICY] == 1);
	CU_ASSERT_EQUAL(totals().stat[TP_STAT_TO_CONTROL], 2);
	CU_ASSERT_EQUAL(totals().drop[TP_DROP_NO_POLICY], 1);

	/* down again, out of the transit port, back in, dropped there */
	CU_ASSERT_EQUAL_FATAL(tp_runtime_send(&rt, TP_PORT_TRANSIT, got, 2), 2);
	WAIT_FOR(totals().drop[TP_DROP_NO_POLICY] == 3);
	CU_ASSERT_EQUAL(totals().stat[TP_STAT_FROM_CONTROL], 2);
	CU_ASSERT_EQUAL(totals().stat[TP_STAT_TRANSIT_TX_PKTS], 2);
	CU_ASSERT_EQUAL(totals().stat[TP_STAT_TRANSIT_RX_PKTS], 2);
	CU_ASSERT_EQUAL(totals().stat[TP_STAT_ZONE_RX_PKTS], 3);
	CU_ASSERT_EQUAL(totals().drop[TP_DROP_NO_POLICY], 3);
	CU_ASSERT_EQUAL(tp_runtime_from_workers(&rt, got, 8), 0);
}

/* Swap the published object under traffic; free the old one only after
 * tp_runtime_synchronize(). A reader seeing a freed object fails the
 * canary check (and ASan, in a sanitizer build). */
static void test_rcu_swap_under_traffic(void)
{
	uint64_t before = totals().stat[TP_STAT_ZONE_RX_PKTS];
	unsigned injected = 0;

	for (int round = 0; round < 200; round++) {
		struct rte_mbuf *in[4] = {udp_frame(47808), udp_frame(47808), udp_frame(47808),
					  udp_frame(47808)};
		struct published *fresh = malloc(sizeof(*fresh)), *old;

		injected += rte_eth_tx_burst(rt.port[TP_PORT_ZONE], 0, in, 4);
		CU_ASSERT_PTR_NOT_NULL_FATAL(fresh);
		fresh->canary = CANARY;
		old = __atomic_exchange_n(&published, fresh, __ATOMIC_ACQ_REL);
		tp_runtime_synchronize(&rt);
		old->canary = 0xdead;
		free(old);
	}
	WAIT_FOR(totals().stat[TP_STAT_ZONE_RX_PKTS] == before + injected);
	CU_ASSERT_EQUAL(totals().stat[TP_STAT_ZONE_RX_PKTS], before + injected);
	CU_ASSERT_EQUAL(__atomic_load_n(&bad_reads, __ATOMIC_RELAXED), 0);
	/* an idle worker is offline: synchronize does not wait for it */
	rte_delay_us_sleep(200000);
	tp_runtime_synchronize(&rt);
}

int main(void)
{
	static const char conf[] = "name = test-channels\nmode = memory\nmemory_mb = 128\n"
				   "idle_wait = sleep\nidle_sleep_max_us = 100000\n"
				   "admin_socket = /tmp/unused.sock\n";
	struct tp_runtime_stages stages = {.zone = zone_stages, .n_zone = RTE_DIM(zone_stages)};
	struct tp_clock clock = {.now_ns = tp_clock_monotonic_ns};
	struct tp_config cfg;
	struct tp_config_err cerr;
	char err[256] = "";
	CU_pSuite suite;
	unsigned failed;

	if (tp_config_parse(conf, &cfg, &cerr))
		return 2;
	published = malloc(sizeof(*published));
	if (!published)
		return 2;
	published->canary = CANARY;
	counters = tp_counters_create(cfg.n_workers + 1);
	if (!counters || tp_runtime_open(&rt, &cfg, counters, &clock, &stages, err, sizeof(err)) ||
	    tp_runtime_start(&rt)) {
		fprintf(stderr, "runtime: %s\n", err);
		tp_runtime_close(&rt);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("channels", NULL, NULL);
	CU_add_test(suite, "worker -> control -> worker -> port", test_up_and_down);
	CU_add_test(suite, "RCU swap under traffic", test_rcu_swap_under_traffic);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	tp_runtime_close(&rt);
	tp_counters_free(counters);
	free(published);
	return failed ? 1 : 0;
}
