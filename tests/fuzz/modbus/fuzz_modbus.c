// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the Modbus/TCP stream checker (tp/modbus.h).
 *
 * Input: a profile, then a client stream and how to cut it:
 *   n_units (% 4), units; n_fcs (% 5), codes (% 127 + 1);
 *   n_ranges (% 4), ranges as 4 bytes (lo, hi; swapped when inverted);
 *   one byte seeding the cuts; the rest is the stream (at most 4 KiB).
 * Invariants: the checker agrees with the naive whole-stream reading of
 * tests/unit/modbus/naive.c (same result; the refused segment holds the
 * deciding byte); an exact retransmission of every accepted segment is
 * accepted and changes nothing; a segment from the future is refused as
 * out of order; the parser's state stays within its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "naive.h"
#include "tp/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct in *in)
{
	uint8_t b = 0;

	if (in->n) {
		b = *in->p++;
		in->n--;
	}
	return b;
}

static void check_bounds(const struct tp_modbus_stream *s)
{
	if (s->cur.have > TP_MODBUS_HDR_MAX || (s->cur.skip && s->cur.have) ||
	    s->cur.skip > TP_MODBUS_ADU_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	uint8_t units[3], fcs[4];
	struct tp_u16_range regs[3], ranges[3];
	struct tp_modbus_profile p = {units, 0, fcs, 0, regs, 0};
	struct tp_modbus_rules r;
	struct tp_modbus_stream s, before;
	struct naive_result want;
	enum tp_modbus_result got = TP_MODBUS_OK;
	uint32_t seq = 1001, cut;
	size_t off = 0, got_at = 0;

	p.n_unit_ids = take(&in) % 4;
	for (size_t i = 0; i < p.n_unit_ids; i++)
		units[i] = take(&in);
	p.n_function_codes = take(&in) % 5;
	for (size_t i = 0; i < p.n_function_codes; i++)
		fcs[i] = (uint8_t)(take(&in) % 127 + 1);
	p.n_registers = take(&in) % 4;
	for (size_t i = 0; i < p.n_registers; i++) {
		uint16_t a = (uint16_t)(take(&in) << 8 | take(&in));
		uint16_t b = (uint16_t)(take(&in) << 8 | take(&in));

		regs[i] = a <= b ? (struct tp_u16_range){a, b} : (struct tp_u16_range){b, a};
	}
	cut = take(&in) | 1u;
	if (in.n > 4096)
		in.n = 4096;
	if (!tp_modbus_rules_build(&p, ranges, &r))
		abort(); /* every profile built above is valid */

	want = naive_check(&p, in.p, in.n);
	tp_modbus_stream_init(&s);
	if (tp_modbus_segment(&s, &r, 1000, 0x02, NULL, 0) != TP_MODBUS_OK)
		abort();
	while (off < in.n) {
		size_t k;

		cut = cut * 1103515245u + 12345u;
		k = 1 + (cut >> 16) % 64;
		if (k > in.n - off)
			k = in.n - off;
		before = s;
		got = tp_modbus_segment(&s, &r, seq, 0x10, in.p + off, k);
		if (got != TP_MODBUS_OK) {
			if (memcmp(&before, &s, sizeof(s)) != 0)
				abort(); /* a refused segment changes nothing */
			got_at = off + k;
			break;
		}
		check_bounds(&s);
		before = s;
		if (tp_modbus_segment(&s, &r, seq, 0x10, in.p + off, k) != TP_MODBUS_OK ||
		    memcmp(&before, &s, sizeof(s)) != 0)
			abort();
		if (tp_modbus_segment(&s, &r, seq + (uint32_t)k + 1, 0x10, in.p + off, 1) !=
		    TP_MODBUS_OUT_OF_ORDER)
			abort();
		seq += (uint32_t)k;
		off += k;
	}
	if (got != want.result)
		abort();
	if (got != TP_MODBUS_OK && !(want.at >= off && want.at < got_at))
		abort();
	return 0;
}
