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
 *  - one tunnel across both workers (crypt.c): a burst received by one
 *    worker is decrypted (or encrypted) half by the other, and each flow's
 *    packets leave in arrival order even when a later job finishes first;
 *    a helper that does not poll has its jobs taken back after two polls,
 *    and its stale references, some to reused slots, run nothing; a full
 *    queue of jobs drops the next burst as crypt_queue_full, nothing leaks
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

/* Both workers poll in turn until neither has work left (crypto jobs in
 * flight finished, handoff rings empty); what left the TP stays in the
 * ports' rings. */
static void settle(void)
{
	unsigned work;

	do {
		work = 0;
		for (unsigned i = 0; i < 2; i++) {
			h_worker(i);
			work += h_poll();
		}
	} while (work);
	h_worker(0);
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
	/* its last bursts' crypto jobs (crypt.c) come back by its next polls */
	settle();
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

/* Inner packets long enough that a burst of 32 is spread (crypt.c:
 * CRYPT_SPREAD_BYTES); a burst of 64-byte packets stays on its worker. */
#define SPREAD_LEN 1024

/* A reply of flow i (z2 -> z1, UDP 5000 -> 41000 + i) sealed by the
 * remote, its sequence number in the payload. */
static struct rte_mbuf *reply_len(unsigned flow, uint32_t seq, size_t len)
{
	uint8_t ip[SPREAD_LEN];

	h_ip4(ip, len, 17, "10.2.0.10", "10.1.0.10", 5000, (uint16_t)(41000 + flow));
	memcpy(ip + 28, &seq, sizeof(seq));
	return remote_seal(ip, len);
}

static struct rte_mbuf *reply_seq(unsigned flow, uint32_t seq)
{
	return reply_len(flow, seq, SPREAD_LEN);
}

/* 32 replies of the flows fl[0] and fl[1] in turn (sequence numbers base
 * + seq[], which advance) into the current worker's transit port: every
 * one parked as a crypto job, nothing survives the stage. */
static void burst_parked(const unsigned *fl, uint32_t *seq, uint32_t base)
{
	struct rte_mbuf *m[32];

	for (unsigned i = 0; i < 32; i++) {
		m[i] = reply_seq(fl[i & 1], base + seq[i & 1]++);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[i]);
	}
	CU_ASSERT_EQUAL(h_run(TP_PORT_TRANSIT, m, 32), 0);
	h_flush();
}

/* The first flow (index into owner[]) that worker w owns. */
static unsigned flow_of(unsigned w)
{
	unsigned f = 0;

	while (f < FLOWS && owner[f] != w)
		f++;
	CU_ASSERT_FATAL(f < FLOWS);
	return f;
}

/* Zone frames m[0..k), freed: each must come after the last one of its
 * flow (its sequence number at least next[flow], which moves past it);
 * *bad counts the others (reordered, duplicated, not ours). A test that
 * also checks the count and the final next[] rules out gaps. */
static void in_order(struct rte_mbuf **m, unsigned k, uint32_t *next, unsigned *bad)
{
	for (unsigned i = 0; i < k; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(m[i], const uint8_t *);
		unsigned flow = (unsigned)(p[14 + 22] << 8 | p[14 + 23]) - 41000;
		uint32_t seq;

		memcpy(&seq, p + 14 + 28, sizeof(seq));
		if (flow >= FLOWS || seq < next[flow])
			(*bad)++;
		else
			next[flow] = seq + 1;
	}
	rte_pktmbuf_free_bulk(m, k);
}

/* The zone frames sent so far, through in_order; returns how many. */
static unsigned zone_in_order(uint32_t *next, unsigned *bad)
{
	struct rte_mbuf *m[64];
	unsigned k, got = 0;

	while ((k = h_take(TP_PORT_ZONE, m, 64)) > 0) {
		in_order(m, k, next, bad);
		got += k;
	}
	return got;
}

/* Bursts of one tunnel received by worker 0 (one queue, as RSS on the
 * outer flow gives): half of each burst's decryption is posted to worker
 * 1, and the packets of each flow leave in the order they arrived, even
 * when a later job is done before an earlier one. */
static void test_spread_decrypt(void)
{
	unsigned fl[2] = {flow_of(0), flow_of(1)}, bad = 0, got;
	uint32_t next[FLOWS] = {0}, seq[2] = {0, 0};
	uint64_t out0 = count(TP_STAT_CRYPT_SPREAD_OUT), in0 = count(TP_STAT_CRYPT_SPREAD_IN),
		 back0 = count(TP_STAT_CRYPT_TAKEN_BACK);
	struct rte_mbuf *m[32];

	settle();
	h_drain();
	/* a burst of 32 short messages is not worth a hand-over: decrypted
	 * where it arrived, every packet through at once */
	h_worker(0);
	for (unsigned i = 0; i < 32; i++) {
		m[i] = reply_len(fl[i & 1], seq[i & 1]++, 64);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[i]);
	}
	/* the harness returns the burst's survivors instead of sending them */
	got = h_run(TP_PORT_TRANSIT, m, 32);
	h_flush();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_OUT), out0);
	in_order(m, got, next, &bad);
	settle();
	got += zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 32);
	/* bursts A and B, the two flows interleaved */
	h_worker(0);
	for (unsigned b = 0; b < 2; b++)
		burst_parked(fl, seq, 0);
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_OUT) - out0, 32);
	CU_ASSERT_EQUAL(rte_ring_count(H.tx[TP_PORT_ZONE]), 0);
	/* worker 0 finishes A's first job (its own), but not B's first, also
	 * done: A's second, worker 1's, is not */
	h_poll();
	got = zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 8); /* A0: 16 packets, 8 of worker 0's flow */
	CU_ASSERT_EQUAL(next[fl[0]], 16 + 8);
	CU_ASSERT_EQUAL(next[fl[1]], 16);
	/* worker 1 runs A1 and B1; then every packet leaves, each flow in order */
	h_worker(1);
	h_poll();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_IN) - in0, 32);
	settle();
	got += zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 64);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(next[fl[0]], 16 + 32);
	CU_ASSERT_EQUAL(next[fl[1]], 16 + 32);
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_TAKEN_BACK), back0);
}

/* A burst of 128 tunnel messages is cut into 4 jobs of 32: job i goes to
 * worker i % 2, so the owner runs two at once and posts two, not three
 * (each worker its share of the burst). */
static void test_spread_balanced(void)
{
	unsigned fl[2] = {flow_of(0), flow_of(1)}, bad = 0, got;
	uint32_t next[FLOWS] = {0}, seq[2] = {0, 0}, base = 3000000;
	uint64_t out0 = count(TP_STAT_CRYPT_SPREAD_OUT), in0 = count(TP_STAT_CRYPT_SPREAD_IN),
		 back0 = count(TP_STAT_CRYPT_TAKEN_BACK);
	struct rte_mbuf *m[128];

	settle();
	h_drain();
	next[fl[0]] = next[fl[1]] = base;
	h_worker(0);
	for (unsigned i = 0; i < 128; i++) {
		m[i] = reply_seq(fl[i & 1], base + seq[i & 1]++);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[i]);
	}
	CU_ASSERT_EQUAL(h_run(TP_PORT_TRANSIT, m, 128), 0);
	h_flush();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_OUT) - out0, 64);
	/* job 0 is done and leaves (16 packets of worker 0's flow; the other
	 * 16 are handed to their owner); job 1, worker 1's, holds job 2 back */
	h_poll();
	got = zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 16);
	CU_ASSERT_EQUAL(next[fl[0]], base + 16);
	h_worker(1);
	h_poll();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_IN) - in0, 64);
	settle();
	got += zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 128);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(next[fl[0]], base + 64);
	CU_ASSERT_EQUAL(next[fl[1]], base + 64);
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_TAKEN_BACK), back0);
}

/* A burst of one flow from the zone, on the worker that owns it: half its
 * encryption runs on the other worker, and the messages leave in order
 * (the remote opens every one, their sequence numbers ascending). */
static void test_spread_encrypt(void)
{
	unsigned fl = flow_of(0), got = 0;
	uint64_t out0 = count(TP_STAT_CRYPT_SPREAD_OUT), in0 = count(TP_STAT_CRYPT_SPREAD_IN);
	struct rte_mbuf *m[32];
	uint32_t want = 0;

	settle();
	h_drain();
	h_worker(0);
	for (uint32_t i = 0; i < 32; i++) {
		uint8_t ip[SPREAD_LEN];

		h_ip4(ip, sizeof(ip), 17, "10.1.0.10", "10.2.0.10", (uint16_t)(41000 + fl), 5000);
		memcpy(ip + 28, &i, sizeof(i));
		m[i] = h_frame(h_mac_tp, ip, sizeof(ip), 0x0800);
	}
	CU_ASSERT_EQUAL(h_run(TP_PORT_ZONE, m, 32), 0);
	h_flush();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_OUT) - out0, 16);
	CU_ASSERT_EQUAL(rte_ring_count(H.tx[TP_PORT_TRANSIT]), 0);
	h_worker(1);
	h_poll();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_IN) - in0, 16);
	settle();
	while (h_take(TP_PORT_TRANSIT, m, 1) == 1) {
		uint32_t len, seq = UINT32_MAX;
		const uint8_t *ip = remote_open(m[0], &len);

		if (ip && len >= 32)
			memcpy(&seq, ip + 28, sizeof(seq));
		CU_ASSERT_EQUAL(seq, want);
		want++;
		got++;
		rte_pktmbuf_free(m[0]);
	}
	CU_ASSERT_EQUAL(got, 32);
}

/* Worker 0 receives burst after burst and neither worker polls (a
 * stalled pair): its queue of jobs fills, and the next burst is dropped
 * as crypt_queue_full; once they poll, every parked packet leaves and
 * nothing leaks. */
static void test_spread_full(void)
{
	unsigned fl[2] = {flow_of(0), flow_of(1)}, bad = 0, got, avail;
	uint32_t next[FLOWS] = {0}, seq[2] = {0, 0};
	uint64_t full = drops(TP_DROP_CRYPT_FULL);
	const unsigned bursts = 33; /* 2 jobs each: 32 fill the queue */

	next[fl[0]] = next[fl[1]] = 2000000;
	settle();
	h_drain();
	avail = rte_mempool_avail_count(H.pool);
	h_worker(0);
	for (unsigned b = 0; b < bursts; b++)
		burst_parked(fl, seq, 2000000);
	CU_ASSERT_EQUAL(drops(TP_DROP_CRYPT_FULL) - full, 32);
	settle();
	got = zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 32 * (bursts - 1));
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(H.pool), avail);
}

/* What the transit network can do to a spread burst: two messages of a
 * burst with a broken tag, then the whole burst replayed. The jobs drop
 * exactly those (tunnel_decrypt, then tunnel_replay for every good one,
 * whichever worker decrypted it first), and the 30 good ones leave once,
 * each flow in order. */
static void test_spread_bad_messages(void)
{
	unsigned fl[2] = {flow_of(0), flow_of(1)}, bad = 0, got, avail;
	uint32_t next[FLOWS] = {0}, seq[2] = {0, 0};
	uint64_t dec = drops(TP_DROP_TUN_DECRYPT), rep = drops(TP_DROP_TUN_REPLAY);
	struct rte_mbuf *m[32], *copy[32];

	next[fl[0]] = next[fl[1]] = 3000000;
	settle();
	h_drain();
	avail = rte_mempool_avail_count(H.pool);
	h_worker(0);
	for (unsigned i = 0; i < 32; i++) {
		m[i] = reply_seq(fl[i & 1], 3000000 + seq[i & 1]++);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[i]);
	}
	/* the last byte of the Poly1305 tag of messages 6 and 21 */
	for (unsigned i = 6; i < 32; i += 15)
		rte_pktmbuf_mtod(m[i], uint8_t *)[rte_pktmbuf_data_len(m[i]) - 1] ^= 1;
	for (unsigned i = 0; i < 32; i++) {
		copy[i] = rte_pktmbuf_copy(m[i], H.pool, 0, UINT32_MAX);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy[i]);
	}
	CU_ASSERT_EQUAL(h_run(TP_PORT_TRANSIT, m, 32), 0);
	h_flush();
	h_worker(1);
	h_poll(); /* worker 1 decrypts its job */
	settle();
	/* sequence numbers 3 (flow 0) and 10 (flow 1) are missing, no other */
	got = zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(drops(TP_DROP_TUN_DECRYPT) - dec, 2);
	CU_ASSERT_EQUAL(got, 30);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(next[fl[0]], 3000000 + 16);
	CU_ASSERT_EQUAL(next[fl[1]], 3000000 + 16);
	h_worker(1); /* the replay arrives on the other worker's queue */
	CU_ASSERT_EQUAL(h_run(TP_PORT_TRANSIT, copy, 32), 0);
	h_flush();
	settle();
	CU_ASSERT_EQUAL(zone_in_order(next, &bad), 0);
	CU_ASSERT_EQUAL(drops(TP_DROP_TUN_DECRYPT) - dec, 4);
	CU_ASSERT_EQUAL(drops(TP_DROP_TUN_REPLAY) - rep, 30);
	h_drain();
	CU_ASSERT_EQUAL(rte_mempool_avail_count(H.pool), avail);
}

/* Worker 1 does not poll: worker 0 takes its jobs back after two polls
 * (the tunnel is not held up by a sleeping helper); the references worker
 * 1 finds later, some to slots reused since, run nothing twice; every
 * packet leaves once, in order, and every mbuf is back in the pool. */
static void test_spread_take_back(void)
{
	unsigned fl[2] = {flow_of(0), flow_of(1)}, bad = 0, got = 0, avail;
	uint32_t next[FLOWS] = {0}, seq[2] = {0, 0};
	uint64_t out0 = count(TP_STAT_CRYPT_SPREAD_OUT), in0 = count(TP_STAT_CRYPT_SPREAD_IN),
		 back0 = count(TP_STAT_CRYPT_TAKEN_BACK);
	const unsigned bursts = 48; /* 96 jobs: every slot of the queue reused */

	next[fl[0]] = next[fl[1]] = 1000000;
	settle();
	h_drain();
	avail = rte_mempool_avail_count(H.pool);
	h_worker(0);
	for (unsigned b = 0; b < bursts; b++) {
		burst_parked(fl, seq, 1000000);
		h_poll(); /* its own job */
		h_poll(); /* the helper's, taken back */
		got += zone_in_order(next, &bad);
	}
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_OUT) - out0, 16 * bursts);
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_TAKEN_BACK) - back0, 16 * bursts);
	/* worker 1 wakes up: stale references only, but its handoff ring
	 * holds its flow's packets */
	h_worker(1);
	h_poll();
	CU_ASSERT_EQUAL(count(TP_STAT_CRYPT_SPREAD_IN), in0);
	settle();
	got += zone_in_order(next, &bad);
	CU_ASSERT_EQUAL(got, 32 * bursts);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(next[fl[0]], 1000000 + 16 * bursts);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(H.pool), avail);
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
	CU_add_test(suite, "one tunnel's decryption on both workers, each flow in order",
		    test_spread_decrypt);
	CU_add_test(suite, "a long burst: each worker decrypts its share", test_spread_balanced);
	CU_add_test(suite, "one flow's encryption on both workers, its messages in order",
		    test_spread_encrypt);
	CU_add_test(suite,
		    "broken and replayed messages in spread jobs: counted, the rest in order",
		    test_spread_bad_messages);
	CU_add_test(suite, "crypto jobs of a stalled pair: queue full, counted, nothing leaks",
		    test_spread_full);
	CU_add_test(suite, "a helper that does not poll: jobs taken back, stale references inert",
		    test_spread_take_back);
	CU_add_test(suite, "a ciphertext replayed into the other worker is refused",
		    test_replay_other_worker);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	h_teardown();
	return failed ? 1 : 0;
}
