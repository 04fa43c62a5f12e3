// SPDX-License-Identifier: MIT
/*
 * The per-rule token bucket (tp/dp/ratelimit.h) on an injected clock, against
 * a naive 128-bit model on random inputs, and the flow-log lines and their
 * output cap (tp/dp/flowlog.h). No test depends on real time.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/flowlog.h"
#include "tp/dp/ratelimit.h"

#define S 1000000000ull

static unsigned passes(struct tp_ratelimit *b, uint64_t t0, uint64_t step, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += tp_ratelimit_take(b, t0 + i * step);
	return ok;
}

static void test_burst_then_refill(void)
{
	struct tp_ratelimit b;

	tp_ratelimit_init(&b, 20, 20, 5 * S);
	/* a new bucket is full: exactly the burst passes at one instant */
	CU_ASSERT_EQUAL(passes(&b, 5 * S, 0, 100), 20);
	/* one packet's worth needs 1/20 s */
	CU_ASSERT_FALSE(tp_ratelimit_take(&b, 5 * S + S / 20 - 1));
	CU_ASSERT_TRUE(tp_ratelimit_take(&b, 5 * S + S / 20));
	CU_ASSERT_FALSE(tp_ratelimit_take(&b, 5 * S + S / 20));
	/* half a second later: 10 more */
	CU_ASSERT_EQUAL(passes(&b, 5 * S + S / 20 + S / 2, 0, 100), 10);
}

static void test_sustained_rate(void)
{
	struct tp_ratelimit b;
	unsigned ok;

	/* a flood at 1000/s for 10 s through 20 pps, burst 20 */
	tp_ratelimit_init(&b, 20, 20, 0);
	ok = passes(&b, 0, S / 1000, 10000);
	CU_ASSERT_TRUE(ok >= 20 + 199 && ok <= 20 + 200);
	/* a separate burst: 50 pps, burst 5 over 2 s at 1000/s */
	tp_ratelimit_init(&b, 50, 5, 0);
	ok = passes(&b, 0, S / 1000, 2000);
	CU_ASSERT_TRUE(ok >= 5 + 99 && ok <= 5 + 100);
}

static void test_defaults_and_unlimited(void)
{
	struct tp_ratelimit b;

	tp_ratelimit_init(&b, 7, 0, 0); /* burst defaults to pps */
	CU_ASSERT_EQUAL(passes(&b, 0, 0, 100), 7);
	tp_ratelimit_init(&b, 0, 0, 0); /* no limit */
	CU_ASSERT_EQUAL(passes(&b, 0, 0, 1000), 1000);
	tp_ratelimit_init(&b, 1, 1, 0);
	CU_ASSERT_TRUE(tp_ratelimit_take(&b, 10 * S));
	/* a clock that goes back refills nothing */
	CU_ASSERT_FALSE(tp_ratelimit_take(&b, 9 * S));
	CU_ASSERT_FALSE(tp_ratelimit_take(&b, 10 * S));
	CU_ASSERT_TRUE(tp_ratelimit_take(&b, 11 * S));
}

static void test_no_overflow(void)
{
	struct tp_ratelimit b;

	/* the largest rate and burst, then the longest idle period */
	tp_ratelimit_init(&b, UINT32_MAX, UINT64_MAX, 0);
	CU_ASSERT_EQUAL(b.cap, TP_RATELIMIT_BURST_MAX * TP_RATELIMIT_UNIT);
	CU_ASSERT_TRUE(tp_ratelimit_take(&b, 0));
	CU_ASSERT_TRUE(tp_ratelimit_take(&b, UINT64_MAX));
	CU_ASSERT_EQUAL(b.tokens, b.cap - TP_RATELIMIT_UNIT);
	/* 1 pps, idle for centuries: still one burst, not a wrapped count */
	tp_ratelimit_init(&b, 1, 3, 0);
	CU_ASSERT_EQUAL(passes(&b, 0, 0, 10), 3);
	CU_ASSERT_EQUAL(passes(&b, UINT64_MAX - 1, 0, 10), 3);
	/* huge rate, idle just below the fill time: the product is formed */
	tp_ratelimit_init(&b, UINT32_MAX, TP_RATELIMIT_BURST_MAX, 0);
	b.tokens = 0;
	CU_ASSERT_TRUE(tp_ratelimit_take(&b, b.fill_ns - 1));
	CU_ASSERT_TRUE(b.tokens <= b.cap);
}

/* The model: the same bucket in 128-bit arithmetic, no shortcuts. */
struct model {
	unsigned __int128 tokens, cap;
	uint64_t last, pps;
};

static bool model_take(struct model *m, uint64_t now)
{
	if (m->pps == 0)
		return true;
	if (now > m->last) {
		m->tokens += (unsigned __int128)(now - m->last) * m->pps;
		if (m->tokens > m->cap)
			m->tokens = m->cap;
		m->last = now;
	}
	if (m->tokens < TP_RATELIMIT_UNIT)
		return false;
	m->tokens -= TP_RATELIMIT_UNIT;
	return true;
}

static uint64_t rnd64(void)
{
	return ((uint64_t)(unsigned)rand() << 42) ^ ((uint64_t)(unsigned)rand() << 21) ^
	       (uint64_t)(unsigned)rand();
}

static void test_against_model(void)
{
	srand(62443);
	for (int round = 0; round < 2000; round++) {
		static const uint64_t scale[] = {1, 1000, 1000000, S, 1000 * S, UINT64_MAX >> 8};
		uint32_t pps = (round % 3 == 0)	  ? (uint32_t)rnd64()
			       : (round % 3 == 1) ? (uint32_t)(rand() % 100 + 1)
						  : (uint32_t)(rand() % 100000 + 1);
		uint64_t burst = (round % 5 == 0) ? rnd64() : (uint64_t)(rand() % 1000);
		uint64_t now = rnd64() >> 4;
		struct tp_ratelimit b;
		struct model m;

		tp_ratelimit_init(&b, pps, burst, now);
		if (burst == 0)
			burst = pps;
		if (burst > TP_RATELIMIT_BURST_MAX)
			burst = TP_RATELIMIT_BURST_MAX;
		m = (struct model){.tokens = (unsigned __int128)burst * TP_RATELIMIT_UNIT,
				   .cap = (unsigned __int128)burst * TP_RATELIMIT_UNIT,
				   .last = now,
				   .pps = pps};
		for (int i = 0; i < 200; i++) {
			uint64_t step = rnd64() % scale[rand() % 6];

			now = now + step < now ? UINT64_MAX : now + step;
			if (tp_ratelimit_take(&b, now) != model_take(&m, now) ||
			    b.tokens != (uint64_t)m.tokens) {
				CU_FAIL("bucket differs from the model");
				return;
			}
		}
	}
}

static struct tp_flowlog_rec rec4(void)
{
	struct tp_flowlog_rec r = {.rule_id = 30,
				   .src_zone = 1,
				   .dst_zone = 3,
				   .sport = 40000,
				   .dport = 5000,
				   .family = 4,
				   .proto = 17,
				   .allow = 1,
				   .side = TP_FLOWLOG_EGRESS,
				   .src = {10, 2, 0, 10},
				   .dst = {10, 4, 0, 10}};
	return r;
}

/* 2026-11-28T08:31:02.123Z */
#define WALL (1795854662ull * S + 123456789ull)

static void test_format(void)
{
	struct tp_flowlog_names nm = {
		.rule = "telemetry-z2-z4", .src_zone = "z2", .dst_zone = "z4"};
	struct tp_flowlog_rec r = rec4();
	char buf[TP_FLOWLOG_LINE_MAX];
	size_t n;

	n = tp_flowlog_format(&r, &nm, WALL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
			       "flow 2026-11-28T08:31:02.123Z rule 30 \"telemetry-z2-z4\" allow "
			       "udp 10.2.0.10:40000 -> 10.4.0.10:5000 zones z2 -> z4 (egress)");
	CU_ASSERT_EQUAL(n, strlen(buf));

	r = rec4();
	r.family = 6;
	r.proto = 6;
	r.allow = 0;
	r.side = TP_FLOWLOG_INGRESS;
	memset(r.src, 0, 16);
	memset(r.dst, 0, 16);
	r.src[0] = r.dst[0] = 0xfd;
	r.src[3] = 2;
	r.dst[3] = 4;
	r.src[15] = r.dst[15] = 0xa;
	tp_flowlog_format(&r, &nm, WALL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
			       "flow 2026-11-28T08:31:02.123Z rule 30 \"telemetry-z2-z4\" deny "
			       "tcp [fd00:2::a]:40000 -> [fd00:4::a]:5000 zones z2 -> z4 "
			       "(ingress)");

	r = rec4();
	r.proto = 1;
	r.icmp_type = 8;
	r.sport = r.dport = 77; /* the echo id is not a port */
	tp_flowlog_format(&r, NULL, WALL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "flow 2026-11-28T08:31:02.123Z rule 30 \"?\" allow icmp "
				    "10.2.0.10 -> 10.4.0.10 type 8 code 0 zones #1 -> #3 (egress)");

	r = rec4();
	r.limited = 1;
	tp_flowlog_format(&r, &nm, WALL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
			       "flow 2026-11-28T08:31:02.123Z rule 30 \"telemetry-z2-z4\" allow "
			       "udp 10.2.0.10:40000 -> 10.4.0.10:5000 zones z2 -> z4 (egress, "
			       "rate-limited)");

	r = rec4();
	r.proto = 47;
	tp_flowlog_format(&r, &nm, WALL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
			       "flow 2026-11-28T08:31:02.123Z rule 30 \"telemetry-z2-z4\" allow "
			       "proto 47 10.2.0.10 -> 10.4.0.10 zones z2 -> z4 (egress)");

	/* truncated, still terminated; the length says what is in buf */
	n = tp_flowlog_format(&r, &nm, WALL, buf, 12);
	CU_ASSERT_EQUAL(n, 11);
	CU_ASSERT_STRING_EQUAL(buf, "flow 2026-1");
	CU_ASSERT_EQUAL(tp_flowlog_format(&r, &nm, WALL, buf, 0), 0);
}

static void test_cap(void)
{
	struct tp_flowlog_cap c;
	char buf[128];
	unsigned ok = 0;

	tp_flowlog_cap_init(&c, 100, 0);
	for (int i = 0; i < 150; i++)
		ok += tp_flowlog_cap_admit(&c, S);
	CU_ASSERT_EQUAL(ok, 100);
	CU_ASSERT_EQUAL(c.suppressed, 50);
	/* no room yet for the summary */
	CU_ASSERT_FALSE(tp_flowlog_cap_summary(&c, S, buf, sizeof(buf)));
	CU_ASSERT_TRUE(tp_flowlog_cap_summary(&c, S + S / 100, buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "50 flow log lines suppressed (more than 100/s)");
	CU_ASSERT_EQUAL(c.suppressed, 0);
	CU_ASSERT_EQUAL(c.suppressed_total, 50);
	/* said once */
	CU_ASSERT_FALSE(tp_flowlog_cap_summary(&c, 3 * S, buf, sizeof(buf)));
	/* a flood of 10 s at 10000/s writes about 100 lines a second */
	ok = 0;
	for (int i = 0; i < 100000; i++)
		ok += tp_flowlog_cap_admit(&c, 3 * S + (uint64_t)i * (S / 10000));
	CU_ASSERT_TRUE(ok >= 1000 && ok <= 1100);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("ratelimit", NULL, NULL);
	CU_add_test(suite, "burst, then refill", test_burst_then_refill);
	CU_add_test(suite, "sustained rate", test_sustained_rate);
	CU_add_test(suite, "defaults, unlimited, clock going back", test_defaults_and_unlimited);
	CU_add_test(suite, "no overflow: long idle, huge pps", test_no_overflow);
	CU_add_test(suite, "against a 128-bit model", test_against_model);
	CU_add_test(suite, "flow-log line format", test_format);
	CU_add_test(suite, "flow-log output cap", test_cap);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
