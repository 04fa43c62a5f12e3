// SPDX-License-Identifier: MIT
/*
 * dataplane/fwd with two workers (fwd_harness.h, H.workers = 2): every
 * flow has one owner worker (tp/dp/owner.h), whichever worker receives its
 * packets, in both directions. Single-threaded: the test plays each
 * worker in turn (h_worker), so every case is exact.
 *
 *  - a packet of a flow the other worker owns leaves the receiving worker
 *    by the handoff (handoff_out), and the owner judges and sends it
 *    (handoff_in); replies through the tunnel, received by either worker,
 *    find the flow and pass; a flow the policy opens in one direction only
 *    stays closed in the other, whichever worker sees it
 *  - a full handoff ring: the rest dropped as handoff_full, counted, and
 *    every mbuf back in the pool once the owner has drained its ring
 *  - a rule's rate limit is exact across workers: one flow gets the
 *    rule's whole burst (not burst / workers), and flows on both workers
 *    share one bucket
 *  - a ciphertext accepted by one worker and replayed into the other is
 *    refused (the keypair's replay window is shared, under its lock)
 */
#include <CUnit/Basic.h>

#include "fwd_harness.h"

#define FLOWS 32

static uint64_t count(enum tp_stat s)
{
	struct tp_counters_totals t;

	tp_counters_sum(H.counters, &t);
	return t.stat[s];
}

static unsigned owner[FLOWS]; /* by flow: sport 41000 + i, found by test_handoff */

static struct rte_mbuf *zone_udp(uint16_t sport, uint16_t dport)
{
	uint8_t ip[64];

	h_ip4(ip, sizeof(ip), 17, "10.1.0.10", "10.2.0.10", sport, dport);
	return h_frame(h_mac_tp, ip, sizeof(ip), 0x0800);
}

/* n packets in through worker w's port, then every worker's poll: how many
 * left the TP on port out (freed). */
static unsigned through(unsigned w, int role, struct rte_mbuf **m, unsigned n, int out)
{
	struct rte_mbuf *got[64];
	unsigned k, sent = 0;

	h_worker(w);
	k = h_run(role, m, (uint16_t)n);
	h_flush();
	rte_pktmbuf_free_bulk(m, k);
	sent += k;
	for (unsigned i = 0; i < 2; i++) {
		h_worker(i);
		h_poll();
	}
	while ((k = h_take(out, got, 64)) > 0) {
		sent += k;
		rte_pktmbuf_free_bulk(got, k);
	}
	h_worker(0);
	return sent;
}

static void test_handoff(void)
{
	unsigned per[2] = {0, 0};
	uint64_t deny = drops(TP_DROP_POLICY);

	for (unsigned i = 0; i < FLOWS; i++) {
		struct rte_mbuf *m = zone_udp((uint16_t)(41000 + i), 5000);
		uint64_t out = count(TP_STAT_HANDOFF_OUT), in = count(TP_STAT_HANDOFF_IN);
		uint16_t k;

		/* worker 0 receives every first packet */
		h_worker(0);
		k = h_run(TP_PORT_ZONE, &m, 1);
		h_flush();
		CU_ASSERT_EQUAL(k + (count(TP_STAT_HANDOFF_OUT) - out), 1);
		owner[i] = k ? 0 : 1;
		per[owner[i]]++;
		if (k) {
			rte_pktmbuf_free(m);
			continue;
		}
		/* worker 1 owns it: nothing leaves until it polls */
		CU_ASSERT_EQUAL(rte_ring_count(H.tx[TP_PORT_TRANSIT]), 0);
		h_worker(1);
		h_poll();
		CU_ASSERT_EQUAL(count(TP_STAT_HANDOFF_IN), in + 1);
		CU_ASSERT_EQUAL_FATAL(h_take(TP_PORT_TRANSIT, &m, 1), 1);
		rte_pktmbuf_free(m);
	}
	/* 32 flows all on one worker: 2^-31 with a working hash */
	CU_ASSERT(per[0] > 0 && per[1] > 0);
	CU_ASSERT_EQUAL(drops(TP_DROP_POLICY), deny);

	/* the replies, each received by both workers in turn: the owner's
	 * flow lets every one through */
	for (unsigned i = 0; i < FLOWS; i++) {
		for (unsigned w = 0; w < 2; w++) {
			uint8_t ip[64];
			struct rte_mbuf *m;

			h_ip4(ip, sizeof(ip), 17, "10.2.0.10", "10.1.0.10", 5000,
			      (uint16_t)(41000 + i));
			m = remote_seal(ip, sizeof(ip));
			CU_ASSERT_PTR_NOT_NULL_FATAL(m);
			CU_ASSERT_EQUAL(through(w, TP_PORT_TRANSIT, &m, 1, TP_PORT_ZONE), 1);
		}
		/* and more of the flow from the zone, through the other worker */
		{
			struct rte_mbuf *m = zone_udp((uint16_t)(41000 + i), 5000);

			CU_ASSERT_EQUAL(through(1, TP_PORT_ZONE, &m, 1, TP_PORT_TRANSIT), 1);
		}
	}
	CU_ASSERT_EQUAL(drops(TP_DROP_POLICY), deny);
	/* z2 -> z1 UDP 5000 opens nothing, whichever worker sees it */
	for (unsigned w = 0; w < 2; w++) {
		uint8_t ip[64];
		struct rte_mbuf *m;

		h_ip4(ip, sizeof(ip), 17, "10.2.0.10", "10.1.0.10", (uint16_t)(43000 + w), 5000);
		m = remote_seal(ip, sizeof(ip));
		CU_ASSERT_EQUAL(through(w, TP_PORT_TRANSIT, &m, 1, TP_PORT_ZONE), 0);
	}
	CU_ASSERT_EQUAL(drops(TP_DROP_POLICY), deny + 2);
	CU_ASSERT_EQUAL(count(TP_STAT_HANDOFF_OUT), count(TP_STAT_HANDOFF_IN));
}

/* A flow of worker 1's, flooded into worker 0 while worker 1 does not
 * poll: its ring takes what fits, the rest is handoff_full; nothing leaks. */
static void test_ring_full(void)
{
	unsigned f = 0, sent = 0, avail;
	uint64_t out = count(TP_STAT_HANDOFF_OUT), full = drops(TP_DROP_HANDOFF);
	struct rte_mbuf *m[32];

	while (f < FLOWS && owner[f] != 1)
		f++;
	CU_ASSERT_FATAL(f < FLOWS);
	h_drain();
	avail = rte_mempool_avail_count(H.pool);
	h_worker(0);
	for (unsigned b = 0; b < 80; b++) { /* 2560 packets, ring of 2048 */
		for (unsigned i = 0; i < 32; i++)
			m[i] = zone_udp((uint16_t)(41000 + f), 5000);
		CU_ASSERT_EQUAL(h_run(TP_PORT_ZONE, m, 32), 0);
		h_flush();
		sent += 32;
	}
	CU_ASSERT(drops(TP_DROP_HANDOFF) > full);
	CU_ASSERT_EQUAL((count(TP_STAT_HANDOFF_OUT) - out) + (drops(TP_DROP_HANDOFF) - full), sent);
	CU_ASSERT(count(TP_STAT_HANDOFF_OUT) - out >= 2047);
	/* the owner drains its ring: everything it took leaves, in order */
	h_worker(1);
	{
		uint64_t in = count(TP_STAT_HANDOFF_IN);
		unsigned left = 1000;

		while (count(TP_STAT_HANDOFF_IN) - in < count(TP_STAT_HANDOFF_OUT) - out &&
		       left--) {
			h_poll();
			h_drain();
		}
		CU_ASSERT_EQUAL(count(TP_STAT_HANDOFF_IN) - in, count(TP_STAT_HANDOFF_OUT) - out);
	}
	h_worker(0);
	h_drain();
	CU_ASSERT_EQUAL(rte_mempool_avail_count(H.pool), avail);
}

/* A ciphertext one worker accepted, replayed into the other (another
 * queue, or a copy the transit network made): refused as a replay. */
static void test_replay_other_worker(void)
{
	uint64_t replay = drops(TP_DROP_TUN_REPLAY);
	uint8_t ip[64];
	struct rte_mbuf *m, *copy;

	h_drain();
	h_ip4(ip, sizeof(ip), 17, "10.2.0.10", "10.1.0.10", 5000, 41000);
	m = remote_seal(ip, sizeof(ip));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	copy = rte_pktmbuf_copy(m, H.pool, 0, UINT32_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	CU_ASSERT_EQUAL(through(0, TP_PORT_TRANSIT, &m, 1, TP_PORT_ZONE), 1);
	CU_ASSERT_EQUAL(through(1, TP_PORT_TRANSIT, &copy, 1, TP_PORT_ZONE), 0);
	CU_ASSERT_EQUAL(drops(TP_DROP_TUN_REPLAY), replay + 1);
}

/* Rule 14: z1 -> z2 UDP 7000, 2 pps, burst 2. */
static void test_rate_exact(void)
{
	uint64_t limited = drops(TP_DROP_RATE_LIMITED);
	unsigned passed = 0, f = 0;
	struct rte_mbuf *m[8];

	/* one flow, five packets at one instant, received by the worker that
	 * does not own it: the rule's whole burst passes, then nothing */
	h_drain();
	for (unsigned i = 0; i < 5; i++)
		m[i] = zone_udp(44000, 7000);
	h_worker(0);
	CU_ASSERT_EQUAL(through(0, TP_PORT_ZONE, m, 5, TP_PORT_TRANSIT), 2);
	CU_ASSERT_EQUAL(drops(TP_DROP_RATE_LIMITED), limited + 3);

	/* refilled; eight flows on both workers share the one bucket */
	H.now_ns += 10ull * 1000000000ull;
	for (unsigned i = 0; i < 8; i++) {
		m[0] = zone_udp((uint16_t)(44100 + i), 7000);
		passed += through(i & 1, TP_PORT_ZONE, m, 1, TP_PORT_TRANSIT);
	}
	CU_ASSERT_EQUAL(passed, 2);
	CU_ASSERT_EQUAL(drops(TP_DROP_RATE_LIMITED), limited + 3 + 6);
	/* and flows of the rule did land on both workers */
	for (unsigned i = 0; i < 8; i++) {
		uint64_t out = count(TP_STAT_HANDOFF_OUT);

		m[0] = zone_udp((uint16_t)(44100 + i), 7000);
		h_worker(0);
		if (h_run(TP_PORT_ZONE, m, 1))
			rte_pktmbuf_free(m[0]);
		h_flush();
		f += count(TP_STAT_HANDOFF_OUT) != out;
		h_worker(1);
		h_poll();
		h_drain();
	}
	h_worker(0);
	CU_ASSERT(f > 0 && f < 8);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	int rc;

	H.workers = 2;
	rc = h_setup("test_fwd_workers");
	if (rc) {
		fprintf(stderr, "harness setup failed at step %d\n", -rc);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("fwd_workers", NULL, NULL);
	CU_add_test(suite, "each flow has one owner, replies found by either worker", test_handoff);
	CU_add_test(suite, "handoff ring full: counted drop, nothing leaks", test_ring_full);
	CU_add_test(suite, "a rule's rate limit is exact across workers", test_rate_exact);
	CU_add_test(suite, "a ciphertext replayed into the other worker is refused",
		    test_replay_other_worker);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	h_teardown();
	return failed ? 1 : 0;
}
