// SPDX-License-Identifier: MIT
/*
 * The Modbus/TCP stream checker (tp/policy/modbus.h): every reason by hand, every
 * split position of a request across two segments, several ADUs in one
 * segment, retransmissions and reordering, and a differential test against
 * a naive parser of the whole stream (naive.c) on random streams cut at
 * random points. TP_MODBUS_SEED / TP_MODBUS_CASES override seed and count.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naive.h"
#include "tp/policy/modbus.h"

#define SYN 0x02
#define FIN 0x01
#define ACK 0x10
#define ISN 1000u

static struct tp_u16_range ranges_store[4];
static struct tp_modbus_rules rules;
static struct tp_modbus_profile profile;
static const uint8_t key[TP_MODBUS_KEY_BYTES] = {0x6b, 0x65, 0x79};
static struct tp_modbus_check chk; /* rules alone */

/* A check against the profiles r[0..n). */
static struct tp_modbus_check check_of(const struct tp_modbus_rules *const *r, uint32_t n)
{
	struct tp_modbus_check c = {.n = n, .key = key};

	for (uint32_t i = 0; i < n; i++)
		c.rules[i] = r[i];
	return c;
}

/* unit 1 and 7; functions 1 3 5 6 15 16 22 23 8; registers 0-99, 200-299 */
static void rules_setup(void)
{
	static uint8_t units[] = {7, 1};
	static uint8_t fcs[] = {1, 3, 5, 6, 15, 16, 22, 23, 8};
	static struct tp_u16_range regs[] = {{200, 249}, {0, 99}, {250, 299}};
	struct tp_modbus_profile p = {units, 2, fcs, sizeof(fcs), regs, 3};

	profile = p;
	CU_ASSERT_TRUE_FATAL(tp_modbus_rules_build(&p, ranges_store, &rules));
	chk = check_of((const struct tp_modbus_rules *const[]){&rules}, 1);
}

/* An ADU: MBAP with tid 0x1234, unit, then the PDU bytes. */
static size_t adu(uint8_t *out, uint8_t unit, const uint8_t *pdu, size_t n)
{
	out[0] = 0x12;
	out[1] = 0x34;
	out[2] = out[3] = 0;
	out[4] = (uint8_t)((n + 1) >> 8);
	out[5] = (uint8_t)(n + 1);
	out[6] = unit;
	memcpy(out + 7, pdu, n);
	return n + 7;
}

/* fc with a 16-bit address and 16-bit quantity/value */
static size_t req(uint8_t *out, uint8_t unit, uint8_t fc, uint16_t a, uint16_t q)
{
	uint8_t pdu[5] = {fc, (uint8_t)(a >> 8), (uint8_t)a, (uint8_t)(q >> 8), (uint8_t)q};

	return adu(out, unit, pdu, 5);
}

/* write multiple registers: q registers from a */
static size_t write_regs(uint8_t *out, uint8_t unit, uint16_t a, uint16_t q)
{
	uint8_t pdu[260] = {16,		(uint8_t)(a >> 8), (uint8_t)a, (uint8_t)(q >> 8),
			    (uint8_t)q, (uint8_t)(2 * q)};

	for (unsigned i = 0; i < 2u * q; i++)
		pdu[6 + i] = (uint8_t)i;
	return adu(out, unit, pdu, 6 + 2u * q);
}

static void start(struct tp_modbus_stream *s)
{
	tp_modbus_stream_init(s);
	CU_ASSERT_EQUAL(tp_modbus_segment(s, &chk, ISN, SYN, NULL, 0), TP_MODBUS_OK);
}

static enum tp_modbus_result one(const uint8_t *a, size_t n)
{
	struct tp_modbus_stream s;

	start(&s);
	return tp_modbus_segment(&s, &chk, ISN + 1, ACK, a, n);
}

static void test_reasons(void)
{
	uint8_t a[300];
	size_t n;

	rules_setup();
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 0, 10)), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(one(a, req(a, 7, 3, 290, 10)), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 200, 100)), TP_MODBUS_OK); /* merged 200-299 */
	CU_ASSERT_EQUAL(one(a, req(a, 1, 1, 0, 100)), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 6, 99, 0xbeef)), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 5, 5, 0xff00)), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(one(a, write_regs(a, 1, 10, 5)), TP_MODBUS_OK);
	/* diagnostics: allowed, nothing addressed */
	n = adu(a, 1, (const uint8_t[]){8, 0, 0, 0xa5, 0x37}, 5);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_OK);

	/* MBAP */
	req(a, 1, 3, 0, 10);
	a[3] = 1;
	CU_ASSERT_EQUAL(one(a, 12), TP_MODBUS_BAD_HEADER);
	req(a, 1, 3, 0, 10);
	a[5] = 1; /* length 1: no function code */
	CU_ASSERT_EQUAL(one(a, 12), TP_MODBUS_BAD_HEADER);
	req(a, 1, 3, 0, 10);
	a[5] = 255; /* ADU of 261 */
	CU_ASSERT_EQUAL(one(a, 12), TP_MODBUS_BAD_HEADER);
	req(a, 1, 3, 0, 10);
	a[4] = 0xff; /* huge */
	a[5] = 0xff;
	CU_ASSERT_EQUAL(one(a, 12), TP_MODBUS_BAD_HEADER);
	req(a, 1, 3, 0, 10);
	a[5] = 7; /* read with a trailing byte */
	CU_ASSERT_EQUAL(one(a, 13), TP_MODBUS_BAD_HEADER);

	/* unit, function, exceptions */
	CU_ASSERT_EQUAL(one(a, req(a, 2, 3, 0, 10)), TP_MODBUS_UNIT);
	CU_ASSERT_EQUAL(one(a, req(a, 0, 3, 0, 10)), TP_MODBUS_UNIT);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 4, 0, 10)), TP_MODBUS_FUNCTION);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 0x83, 0, 10)), TP_MODBUS_FUNCTION);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 43, 0, 10)), TP_MODBUS_FUNCTION);
	/* a bad unit is reported before a bad function */
	CU_ASSERT_EQUAL(one(a, req(a, 2, 4, 0, 10)), TP_MODBUS_UNIT);

	/* addresses and quantities */
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 500, 1)), TP_MODBUS_REGISTER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 95, 10)), TP_MODBUS_REGISTER); /* straddles 99 */
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 100, 1)), TP_MODBUS_REGISTER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 6, 150, 1)), TP_MODBUS_REGISTER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 5, 300, 0)), TP_MODBUS_REGISTER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 0, 0)), TP_MODBUS_BAD_HEADER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 0, 126)), TP_MODBUS_BAD_HEADER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 1, 0, 2001)), TP_MODBUS_BAD_HEADER);
	CU_ASSERT_EQUAL(one(a, req(a, 1, 3, 65535, 2)), TP_MODBUS_BAD_HEADER); /* wraps */
	CU_ASSERT_EQUAL(one(a, req(a, 1, 5, 5, 0x1234)), TP_MODBUS_BAD_HEADER);
	CU_ASSERT_EQUAL(one(a, write_regs(a, 1, 95, 5)), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(one(a, write_regs(a, 1, 96, 5)), TP_MODBUS_REGISTER);
	n = write_regs(a, 1, 10, 5);
	a[12] = 9; /* byte count does not match the quantity */
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_BAD_HEADER);
	/* write multiple coils: 10 coils in 2 bytes */
	n = adu(a, 1, (const uint8_t[]){15, 0, 20, 0, 10, 2, 0xff, 0x03}, 8);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_OK);
	n = adu(a, 1, (const uint8_t[]){15, 0, 95, 0, 10, 2, 0xff, 0x03}, 8);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_REGISTER);
	n = adu(a, 1, (const uint8_t[]){15, 0, 20, 0, 10, 1, 0xff}, 7);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_BAD_HEADER);
	/* mask write */
	n = adu(a, 1, (const uint8_t[]){22, 0, 4, 0, 0xf2, 0, 0x25}, 7);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_OK);
	n = adu(a, 1, (const uint8_t[]){22, 0, 104, 0, 0xf2, 0, 0x25}, 7);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_REGISTER);
	/* read/write multiple: read 3 from 200, write 2 at 10; then each
	 * range outside */
	n = adu(a, 1, (const uint8_t[]){23, 0, 200, 0, 3, 0, 10, 0, 2, 4, 1, 2, 3, 4}, 14);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_OK);
	n = adu(a, 1, (const uint8_t[]){23, 1, 200, 0, 3, 0, 10, 0, 2, 4, 1, 2, 3, 4}, 14);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_REGISTER);
	n = adu(a, 1, (const uint8_t[]){23, 0, 200, 0, 3, 0, 99, 0, 2, 4, 1, 2, 3, 4}, 14);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_REGISTER);
	n = adu(a, 1, (const uint8_t[]){23, 0, 200, 0, 3, 0, 10, 0, 2, 3, 1, 2, 3}, 13);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_BAD_HEADER);
	/* a PDU shorter than its fixed fields */
	n = adu(a, 1, (const uint8_t[]){16, 0, 1}, 3);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_BAD_HEADER);
	n = adu(a, 1, (const uint8_t[]){3}, 1);
	CU_ASSERT_EQUAL(one(a, n), TP_MODBUS_BAD_HEADER);
}

static void test_empty_profile(void)
{
	struct tp_modbus_profile p = {0};
	struct tp_modbus_rules any;
	struct tp_modbus_check c;
	struct tp_modbus_stream s;
	struct tp_u16_range none[1];
	uint8_t a[300];
	size_t n;

	CU_ASSERT_TRUE_FATAL(tp_modbus_rules_build(&p, none, &any));
	c = check_of((const struct tp_modbus_rules *const[]){&any}, 1);
	start(&s);
	n = req(a, 255, 3, 65000, 100);
	n += req(a + n, 0, 43, 0, 0);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &c, ISN + 1, ACK, a, n), TP_MODBUS_OK);
	/* requests never carry the exception bit, even with any function */
	n = req(a, 1, 0x90, 0, 1);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &c, ISN + 25, ACK, a, n), TP_MODBUS_FUNCTION);
	n = req(a, 1, 0, 0, 1);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &c, ISN + 25, ACK, a, n), TP_MODBUS_FUNCTION);
	/* and bad profiles do not build */
	p.function_codes = (uint8_t[]){0x81};
	p.n_function_codes = 1;
	CU_ASSERT_FALSE(tp_modbus_rules_build(&p, none, &any));
	p.n_function_codes = 0;
	p.registers = (struct tp_u16_range[]){{5, 4}};
	p.n_registers = 1;
	CU_ASSERT_FALSE(tp_modbus_rules_build(&p, none, &any));
}

/* Every split of a good and of a bad request into two segments. */
static void test_splits(void)
{
	uint8_t good[300], bad[300];
	size_t ng = write_regs(good, 1, 10, 20), nb = write_regs(bad, 1, 90, 20);

	rules_setup();
	for (size_t k = 1; k < ng; k++) {
		struct tp_modbus_stream s;

		start(&s);
		CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, good, k), TP_MODBUS_OK);
		CU_ASSERT_EQUAL(
			tp_modbus_segment(&s, &chk, ISN + 1 + (uint32_t)k, ACK, good + k, ng - k),
			TP_MODBUS_OK);
		/* the next request starts cleanly after it */
		CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1 + (uint32_t)ng, ACK, good, ng),
				TP_MODBUS_OK);
	}
	/* the fixed fields are complete with byte 13 (index 12): the
	 * segment that holds it is refused, whatever came before passed */
	for (size_t k = 1; k < nb; k++) {
		struct tp_modbus_stream s;
		enum tp_modbus_result r1, r2 = TP_MODBUS_OK;

		start(&s);
		r1 = tp_modbus_segment(&s, &chk, ISN + 1, ACK, bad, k);
		if (r1 == TP_MODBUS_OK)
			r2 = tp_modbus_segment(&s, &chk, ISN + 1 + (uint32_t)k, ACK, bad + k,
					       nb - k);
		if (k <= 12) {
			CU_ASSERT_EQUAL(r1, TP_MODBUS_OK);
			CU_ASSERT_EQUAL(r2, TP_MODBUS_REGISTER);
		} else {
			CU_ASSERT_EQUAL(r1, TP_MODBUS_REGISTER);
		}
	}
}

static void test_several_adus(void)
{
	struct tp_modbus_stream s;
	uint8_t a[1000];
	size_t n = 0, n2;

	rules_setup();
	start(&s);
	n += req(a + n, 1, 3, 0, 10);
	n += write_regs(a + n, 7, 250, 3);
	n += req(a + n, 1, 6, 7, 42);
	n2 = n + req(a + n, 1, 3, 100, 1); /* the fourth is bad */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, a, n2), TP_MODBUS_REGISTER);
	/* refused whole: the state did not move, the good three pass */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, a, n), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(s.next_seq, ISN + 1 + n);
	/* 200 reads back to back in one large segment */
	{
		static uint8_t big[200 * 12];

		for (unsigned i = 0; i < 200; i++)
			req(big + 12 * i, 1, 3, (uint16_t)i % 90, 10);
		CU_ASSERT_EQUAL(
			tp_modbus_segment(&s, &chk, ISN + 1 + (uint32_t)n, ACK, big, sizeof(big)),
			TP_MODBUS_OK);
	}
}

static void test_tcp(void)
{
	struct tp_modbus_stream s;
	uint8_t a[300], b[300];
	size_t n = req(a, 1, 3, 0, 10), m;

	rules_setup();
	/* mid-stream: nothing to follow */
	tp_modbus_stream_init(&s);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 5, ACK, NULL, 0), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 5, ACK, a, n), TP_MODBUS_NO_STREAM);

	start(&s);
	/* ahead, behind: dropped */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 2, ACK, a, n), TP_MODBUS_OUT_OF_ORDER);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN, ACK, a, n), TP_MODBUS_OUT_OF_ORDER);
	/* first half of a request, then its exact retransmission */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, a, 9), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, a, 9), TP_MODBUS_OK);
	/* "retransmissions" with other bytes, whether or not they would
	 * pass on their own: the server may keep either copy */
	memcpy(b, a, n);
	b[0] = 0x99;
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, b, 9),
			TP_MODBUS_RETRANSMIT_DIFFERS);
	b[6] = 2;
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, b, 9),
			TP_MODBUS_RETRANSMIT_DIFFERS);
	/* a longer retransmission: the checked 9 bytes again, then new ones */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1, ACK, a, n), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(s.next_seq, ISN + 1 + n);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 10, ACK, a + 9, n - 9), TP_MODBUS_OK);
	/* a forged SYN mid-stream does not resynchronise the checker */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1 + (uint32_t)n, SYN, NULL, 0),
			TP_MODBUS_OK);
	CU_ASSERT_EQUAL(s.next_seq, ISN + 1 + n);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, ISN + 1 + (uint32_t)n, SYN, a, n),
			TP_MODBUS_OUT_OF_ORDER);
	/* sequence numbers wrap */
	tp_modbus_stream_init(&s);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 0xfffffffa, SYN, NULL, 0), TP_MODBUS_OK);
	m = req(b, 1, 3, 0, 1);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 0xfffffffb, ACK, b, m), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 0xfffffffb + (uint32_t)m, ACK, b, m),
			TP_MODBUS_OK);
	/* FIN consumes a sequence number; data after it is refused; a new
	 * SYN on the 4-tuple restarts */
	CU_ASSERT_EQUAL(
		tp_modbus_segment(&s, &chk, 0xfffffffb + 2 * (uint32_t)m, FIN | ACK, NULL, 0),
		TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 0xfffffffc + 2 * (uint32_t)m, ACK, b, m),
			TP_MODBUS_OUT_OF_ORDER);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 77, SYN, NULL, 0), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 78, ACK, b, m), TP_MODBUS_OK);
	/* data on the SYN itself (fast open) starts after it */
	tp_modbus_stream_init(&s);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, 500, SYN, b, m), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(s.next_seq, 501 + m);
	CU_ASSERT_STRING_EQUAL(tp_modbus_result_name(TP_MODBUS_REGISTER), "modbus_register");
}

/* Several profiles (one per matching allow, DESIGN.md §7.3): a request
 * passes when one of them admits it whole, in whichever order they come. */
static void test_union(void)
{
	static uint8_t u1[] = {1}, u2[] = {2}, f1[] = {3}, f2[] = {6, 16};
	static struct tp_u16_range g1[] = {{0, 99}}, g2[] = {{100, 199}};
	struct tp_modbus_profile p1 = {u1, 1, f1, 1, g1, 1}, p2 = {u2, 1, f2, 2, g2, 1};
	struct tp_u16_range r1[1], r2[1];
	struct tp_modbus_rules m1, m2;

	CU_ASSERT_TRUE_FATAL(tp_modbus_rules_build(&p1, r1, &m1));
	CU_ASSERT_TRUE_FATAL(tp_modbus_rules_build(&p2, r2, &m2));
	for (int order = 0; order < 2; order++) {
		const struct tp_modbus_rules *const both[2] = {order ? &m2 : &m1,
							       order ? &m1 : &m2};
		struct tp_modbus_check c = check_of(both, 2);
		uint8_t buf[10][300];
		const struct {
			size_t n;
			enum tp_modbus_result want;
		} cases[] = {
			/* each profile's own requests */
			{req(buf[0], 1, 3, 10, 5), TP_MODBUS_OK},
			{req(buf[1], 2, 6, 150, 7), TP_MODBUS_OK},
			{write_regs(buf[2], 2, 190, 10), TP_MODBUS_OK},
			/* fields of both: no one profile admits the request */
			{req(buf[3], 1, 6, 150, 7), TP_MODBUS_FUNCTION},
			{req(buf[4], 2, 3, 10, 5), TP_MODBUS_FUNCTION},
			{req(buf[5], 1, 3, 150, 5), TP_MODBUS_REGISTER},
			{req(buf[6], 2, 6, 10, 7), TP_MODBUS_REGISTER},
			{write_regs(buf[7], 2, 95, 10), TP_MODBUS_REGISTER},
			{req(buf[8], 3, 3, 10, 5), TP_MODBUS_UNIT},
			{req(buf[9], 1, 3, 0, 0), TP_MODBUS_BAD_HEADER},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			/* whole, and split in two at every byte */
			for (size_t k = 0; k < cases[i].n; k++) {
				struct tp_modbus_stream s;
				enum tp_modbus_result r = TP_MODBUS_OK;

				tp_modbus_stream_init(&s);
				CU_ASSERT_EQUAL(tp_modbus_segment(&s, &c, ISN, SYN, NULL, 0),
						TP_MODBUS_OK);
				if (k)
					r = tp_modbus_segment(&s, &c, ISN + 1, ACK, buf[i], k);
				if (r == TP_MODBUS_OK)
					r = tp_modbus_segment(&s, &c, ISN + 1 + (uint32_t)k, ACK,
							      buf[i] + k, cases[i].n - k);
				CU_ASSERT_EQUAL(r, cases[i].want);
			}
		}
	}
}

/* Segments A, B, C of a session; what the client resends after a loss. */
static void test_retransmit(void)
{
	struct tp_modbus_stream s, before;
	uint8_t st[600], alt[600];
	size_t a = req(st, 1, 3, 10, 5), b, c, d, n;
	uint32_t sa = ISN + 1, sb, sc, sd;

	rules_setup();
	b = a + req(st + a, 1, 3, 20, 5);
	c = b + req(st + b, 1, 6, 30, 1);
	d = c + req(st + c, 1, 3, 40, 5);
	sb = sa + (uint32_t)a;
	sc = sa + (uint32_t)b;
	sd = sa + (uint32_t)c;

	/* A and B pass, A is lost behind the TP: Linux resends A and B as
	 * one segment, with C appended or not; the session goes on */
	start(&s);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, st + a, b - a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, b), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, c), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(s.next_seq, sd);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sd, ACK, st + c, d - c), TP_MODBUS_OK);
	/* later ones: B alone, B with C and D, C and D as coalesced then */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, st + a, b - a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, st + a, d - a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sc, ACK, st + b, d - b), TP_MODBUS_OK);

	/* the checked bytes altered: a read turned into a write the profile
	 * allows (fc 6 at 10), alone or inside a coalesced resend */
	start(&s);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, st + a, b - a), TP_MODBUS_OK);
	memcpy(alt, st, d);
	n = req(alt, 1, 6, 10, 5);
	CU_ASSERT_EQUAL(n, a);
	before = s;
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, alt, a), TP_MODBUS_RETRANSMIT_DIFFERS);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, alt, c), TP_MODBUS_RETRANSMIT_DIFFERS);
	alt[a + 9] ^= 1; /* B's address as well, A back as it was */
	memcpy(alt, st, a);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, alt, b), TP_MODBUS_RETRANSMIT_DIFFERS);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, alt + a, c - a),
			TP_MODBUS_RETRANSMIT_DIFFERS);
	/* one differing byte anywhere in the checked part */
	for (size_t i = 0; i < b; i++) {
		memcpy(alt, st, d);
		alt[i] ^= 0x40;
		CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, alt, d),
				TP_MODBUS_RETRANSMIT_DIFFERS);
	}
	CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof(s)), 0);

	/* partial overlaps: cut where the checked bytes cannot be compared */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa + 1, ACK, st + 1, c - 1),
			TP_MODBUS_OUT_OF_ORDER); /* starts inside A */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, a + 3),
			TP_MODBUS_OUT_OF_ORDER); /* ends inside B */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb + 5, ACK, st + a + 5, c - a - 5),
			TP_MODBUS_OUT_OF_ORDER);
	CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof(s)), 0);
	/* new bytes past the checked ones are checked as new */
	memcpy(alt, st, d);
	n = b + req(alt + b, 1, 3, 500, 1);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, alt + a, n - a), TP_MODBUS_REGISTER);
	CU_ASSERT_EQUAL(memcmp(&s, &before, sizeof(s)), 0);
	/* a new stretch starts where the resend's new bytes start */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, c + 4), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sc, ACK, st + b, c - b + 4), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sc + 4, ACK, st + b + 4, d - b - 4),
			TP_MODBUS_OUT_OF_ORDER); /* inside C's stretch */
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sd + 4, ACK, st + c + 4, d - c - 4),
			TP_MODBUS_OK);

	/* only the last TP_MODBUS_SEGS stretches are remembered */
	start(&s);
	for (unsigned i = 0; i <= TP_MODBUS_SEGS; i++)
		CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa + (uint32_t)(i * a), ACK, st, a),
				TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, a), TP_MODBUS_OUT_OF_ORDER);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa + (uint32_t)a, ACK, st, a), TP_MODBUS_OK);

	/* the last segment resent with the FIN, and after it */
	start(&s);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, FIN | ACK, st + a, b - a), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, FIN | ACK, st, b), TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, FIN | ACK, st, a), TP_MODBUS_OUT_OF_ORDER);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sa, ACK, st, c), TP_MODBUS_OUT_OF_ORDER);
	CU_ASSERT_EQUAL(tp_modbus_segment(&s, &chk, sb, ACK, st + a, b - a), TP_MODBUS_OK);
}

/* ---- differential: the stream checker against naive.c ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t below)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng_state >> 33) % below);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* A request that is usually valid and sometimes wrong in one field. */
static size_t random_adu(uint8_t *out)
{
	static const uint8_t fcs[] = {3, 3, 3,	1,  16, 16, 1, 2,  3,	 4,
				      5, 6, 15, 16, 22, 23, 8, 43, 0x83, 7};
	static const uint16_t addrs[] = {0,   1,   50,	95,  99,  100,	150,
					 199, 200, 250, 299, 300, 65535};
	uint8_t pdu[260];
	static const uint8_t good_fcs[] = {1, 3, 5, 6, 15, 16, 22, 23, 8};
	bool good = rnd(6) != 0; /* mostly requests the profile allows */
	uint8_t fc = good ? good_fcs[rnd(sizeof(good_fcs))] : fcs[rnd(sizeof(fcs))];
	uint8_t unit = good || rnd(3) ? 1 : (uint8_t)rnd(9);
	uint16_t a = good ? (uint16_t)(rnd(2) * 200 + rnd(90)) : addrs[rnd(sizeof(addrs) / 2)];
	uint16_t q = (uint16_t)(good || rnd(10) ? 1 + rnd(8) : rnd(300));
	size_t n = 0;

	pdu[n++] = fc;
	switch (fc) {
	case 15:
	case 16: {
		unsigned bc = fc == 15 ? (q + 7u) / 8 : 2u * q;

		if (bc > 240)
			bc = 240;
		if (!good && !rnd(10))
			bc = rnd(250);
		pdu[n++] = (uint8_t)(a >> 8);
		pdu[n++] = (uint8_t)a;
		pdu[n++] = (uint8_t)(q >> 8);
		pdu[n++] = (uint8_t)q;
		pdu[n++] = (uint8_t)bc;
		for (unsigned i = 0; i < bc; i++)
			pdu[n++] = (uint8_t)rnd(256);
		break;
	}
	case 23: {
		uint16_t w = addrs[rnd(sizeof(addrs) / 2)], wq = (uint16_t)(1 + rnd(6));
		unsigned bc = good || rnd(10) ? 2u * wq : rnd(20);

		pdu[n++] = (uint8_t)(a >> 8);
		pdu[n++] = (uint8_t)a;
		pdu[n++] = (uint8_t)(q >> 8);
		pdu[n++] = (uint8_t)q;
		pdu[n++] = (uint8_t)(w >> 8);
		pdu[n++] = (uint8_t)w;
		pdu[n++] = 0;
		pdu[n++] = (uint8_t)wq;
		pdu[n++] = (uint8_t)bc;
		for (unsigned i = 0; i < bc; i++)
			pdu[n++] = (uint8_t)rnd(256);
		break;
	}
	case 22:
		pdu[n++] = (uint8_t)(a >> 8);
		pdu[n++] = (uint8_t)a;
		for (unsigned i = 0; i < 4; i++)
			pdu[n++] = (uint8_t)rnd(256);
		break;
	case 5:
		q = good || rnd(3) ? (rnd(2) ? 0xff00 : 0) : (uint16_t)rnd(65536);
		/* fall through */
	case 1:
	case 2:
	case 3:
	case 4:
	case 6:
		pdu[n++] = (uint8_t)(a >> 8);
		pdu[n++] = (uint8_t)a;
		pdu[n++] = (uint8_t)(q >> 8);
		pdu[n++] = (uint8_t)q;
		break;
	default:
		for (unsigned i = rnd(8); i > 0; i--)
			pdu[n++] = (uint8_t)rnd(256);
		break;
	}
	if (!good && !rnd(10)) /* truncated or padded PDU */
		n = n > 1 && rnd(2) ? n - 1 - rnd((uint32_t)n - 1) : n + rnd(3);
	n = adu(out, unit, pdu, n);
	if (!good && !rnd(15))
		out[2 + rnd(2)] = (uint8_t)(1 + rnd(255)); /* protocol id */
	if (!good && !rnd(15)) {
		out[4] = (uint8_t)rnd(2); /* length, wrong */
		out[5] = (uint8_t)rnd(256);
	}
	return n;
}

static void test_differential(void)
{
	uint64_t seed = env_u64("TP_MODBUS_SEED", 0x6d6f6462);
	uint64_t cases = env_u64("TP_MODBUS_CASES", 200000);
	static uint8_t stream[8 * 300];
	uint64_t bad = 0, refused = 0, retrans = 0;

	rules_setup();
	rng_state = seed;
	printf("\n  differential: seed 0x%llx, %llu streams\n", (unsigned long long)seed,
	       (unsigned long long)cases);
	for (uint64_t c = 0; c < cases && bad < 5; c++) {
		struct naive_result want;
		struct tp_modbus_stream s;
		size_t len = 0, off = 0;
		uint32_t seq = ISN + 1;
		unsigned nadu = 1 + rnd(6);
		enum tp_modbus_result got = TP_MODBUS_OK;
		size_t got_at = 0;

		for (unsigned i = 0; i < nadu; i++)
			len += random_adu(stream + len);
		len -= rnd(4) == 0 ? rnd((uint32_t)len) : 0; /* the stream may stop mid-ADU */
		want = naive_check(&profile, stream, len);
		start(&s);
		/* random cuts; now and then an exact retransmission or a
		 * segment from the future, which change nothing (coalesced
		 * retransmissions: test_retransmit_differential) */
		while (off < len) {
			size_t k = 1 + rnd(rnd(3) ? 40 : (uint32_t)(len - off));
			enum tp_modbus_result r;

			if (k > len - off)
				k = len - off;
			r = tp_modbus_segment(&s, &chk, seq, ACK, stream + off, k);
			if (r != TP_MODBUS_OK) {
				got = r;
				got_at = off + k;
				break;
			}
			if (!rnd(8)) {
				retrans++;
				if (tp_modbus_segment(&s, &chk, seq, ACK, stream + off, k) !=
				    TP_MODBUS_OK) {
					got = TP_MODBUS__COUNT; /* mismatch marker */
					break;
				}
			}
			if (!rnd(16) &&
			    tp_modbus_segment(&s, &chk, seq + (uint32_t)k + 1, ACK, stream + off,
					      1) != TP_MODBUS_OUT_OF_ORDER) {
				got = TP_MODBUS__COUNT;
				break;
			}
			seq += (uint32_t)k;
			off += k;
		}
		/* the refused segment is the one holding the deciding byte */
		if (got != want.result ||
		    (got != TP_MODBUS_OK && !(want.at < got_at && want.at >= off))) {
			bad++;
			printf("  case %llu: got %s (segment [%zu, %zu)), want %s at byte %zu\n",
			       (unsigned long long)c, tp_modbus_result_name(got), off, got_at,
			       tp_modbus_result_name(want.result), want.at);
		}
		refused += want.result != TP_MODBUS_OK;
	}
	printf("  %llu refused, %llu retransmissions, %llu mismatches\n",
	       (unsigned long long)refused, (unsigned long long)retrans, (unsigned long long)bad);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(refused > cases / 10 && refused < cases * 9 / 10);
}

/*
 * Retransmissions and several profiles against naive.c: random streams
 * under one to three profiles, cut at random, where the client now and
 * then resends from one of the remembered stretches (coalesced, with new
 * bytes appended or not), resends with one checked byte altered, or
 * resends from inside a stretch. The server's stream is the stream: every
 * accepted resend must leave the decision to naive_check_any(); an
 * altered one is retransmit_differs, a cut one out_of_order, and neither
 * changes the state.
 */
static void test_retransmit_differential(void)
{
	static uint8_t u2[] = {1, 2}, f2[] = {3, 4, 6}, f3[] = {3};
	static struct tp_u16_range g2[] = {{100, 199}}, g3[] = {{0, 49}};
	static struct tp_modbus_profile extra[2];
	uint64_t seed = env_u64("TP_MODBUS_SEED", 0x72657472);
	uint64_t cases = env_u64("TP_MODBUS_CASES", 200000) / 2;
	static uint8_t stream[8 * 300], alt[8 * 300];
	struct tp_u16_range r2[1], r3[1];
	struct tp_modbus_rules m[3];
	uint64_t bad = 0, coalesced = 0, altered = 0, refused = 0;

	rules_setup();
	extra[0] = (struct tp_modbus_profile){u2, 2, f2, 3, g2, 1};
	extra[1] = (struct tp_modbus_profile){NULL, 0, f3, 1, g3, 1};
	m[0] = rules;
	CU_ASSERT_TRUE_FATAL(tp_modbus_rules_build(&extra[0], r2, &m[1]));
	CU_ASSERT_TRUE_FATAL(tp_modbus_rules_build(&extra[1], r3, &m[2]));
	rng_state = seed;
	printf("\n  retransmissions: seed 0x%llx, %llu streams\n", (unsigned long long)seed,
	       (unsigned long long)cases);
	for (uint64_t c = 0; c < cases && bad < 5; c++) {
		const struct tp_modbus_profile *ps[3];
		const struct tp_modbus_rules *rs[3];
		struct tp_modbus_check chk3;
		struct naive_result want;
		struct tp_modbus_stream s, before;
		size_t len = 0, off = 0, got_at = 0, starts[TP_MODBUS_SEGS], n_starts = 0;
		uint32_t n = 1 + rnd(3), first = rnd(3);
		enum tp_modbus_result got = TP_MODBUS_OK;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = (first + i) % 3;

			ps[i] = k ? &extra[k - 1] : &profile;
			rs[i] = &m[k];
		}
		chk3 = check_of(rs, n);
		for (unsigned i = 1 + rnd(6); i > 0; i--)
			len += random_adu(stream + len);
		want = naive_check_any(ps, n, stream, len);
		tp_modbus_stream_init(&s);
		tp_modbus_segment(&s, &chk3, ISN, SYN, NULL, 0);
		while (off < len) {
			size_t k = 1 + rnd(rnd(3) ? 40 : (uint32_t)(len - off)), from = off;
			enum tp_modbus_result r;

			if (k > len - off)
				k = len - off;
			if (n_starts && !rnd(3)) {
				/* a resend from a remembered stretch, maybe
				 * with nothing new: k == 0 */
				from = starts[rnd((uint32_t)n_starts)];
				k = rnd(2) ? k : 0;
				coalesced++;
			}
			if (from < off && !rnd(4)) {
				/* the same, altered in what was checked, or cut
				 * inside a stretch: refused, nothing changes */
				size_t at = from + rnd((uint32_t)(off - from));
				bool cut = rnd(2) && at > from;

				for (size_t i = 0; cut && i < n_starts; i++)
					cut = starts[i] != at;
				memcpy(alt, stream, len);
				alt[at] ^= (uint8_t)(1 + rnd(255));
				before = s;
				if (cut)
					r = tp_modbus_segment(&s, &chk3, ISN + 1 + (uint32_t)at,
							      ACK, stream + at, off + k - at);
				else
					r = tp_modbus_segment(&s, &chk3, ISN + 1 + (uint32_t)from,
							      ACK, alt + from, off + k - from);
				altered += !cut;
				if (r != (cut ? TP_MODBUS_OUT_OF_ORDER
					      : TP_MODBUS_RETRANSMIT_DIFFERS) ||
				    memcmp(&before, &s, sizeof(s)) != 0) {
					got = TP_MODBUS__COUNT;
					break;
				}
				continue;
			}
			r = tp_modbus_segment(&s, &chk3, ISN + 1 + (uint32_t)from, ACK,
					      stream + from, off + k - from);
			if (r != TP_MODBUS_OK) {
				got = r;
				got_at = off + k;
				break;
			}
			if (k) {
				if (n_starts == TP_MODBUS_SEGS)
					memmove(starts, starts + 1, (--n_starts) * sizeof(*starts));
				starts[n_starts++] = off;
			}
			off += k;
		}
		if (got != want.result ||
		    (got != TP_MODBUS_OK && !(want.at < got_at && want.at >= off))) {
			bad++;
			printf("  case %llu: got %s (new bytes [%zu, %zu)), want %s at byte %zu\n",
			       (unsigned long long)c, tp_modbus_result_name(got), off, got_at,
			       tp_modbus_result_name(want.result), want.at);
		}
		refused += want.result != TP_MODBUS_OK;
	}
	printf("  %llu refused, %llu resends from a stretch, %llu altered, %llu mismatches\n",
	       (unsigned long long)refused, (unsigned long long)coalesced,
	       (unsigned long long)altered, (unsigned long long)bad);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(altered > cases / 50 && coalesced > cases / 4);
	CU_ASSERT_TRUE(refused > cases / 20 && refused < cases * 9 / 10);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("modbus", NULL, NULL);
	CU_add_test(suite, "every reason", test_reasons);
	CU_add_test(suite, "empty profile is any", test_empty_profile);
	CU_add_test(suite, "every split in two segments", test_splits);
	CU_add_test(suite, "several ADUs in a segment", test_several_adus);
	CU_add_test(suite, "TCP: order, retransmission, SYN, FIN", test_tcp);
	CU_add_test(suite, "stream checker == naive parser", test_differential);
	CU_add_test(suite, "several profiles: one admits the request whole", test_union);
	CU_add_test(suite, "retransmissions: coalesced, altered, partial", test_retransmit);
	CU_add_test(suite, "resends and several profiles == naive parser",
		    test_retransmit_differential);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
