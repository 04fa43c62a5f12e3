// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the Modbus/TCP stream checker (tp/policy/modbus.h).
 *
 * Input: how many profiles (% 3 + 1), each as n_units (% 4), units;
 * n_fcs (% 5), codes (% 127 + 1); n_ranges (% 4), ranges as 4 bytes (lo,
 * hi; swapped when inverted); then one byte seeding the cuts and what the
 * client does between them; the rest is the stream (at most 4 KiB).
 * Invariants: the checker agrees with the naive whole-stream reading of
 * tests/unit/modbus/naive.c under the union of the profiles (same result;
 * the refused segment holds the deciding byte), whatever the resends: an
 * exact retransmission of every accepted segment is accepted and changes
 * nothing; a resend from any remembered stretch, coalesced with new bytes
 * or not, is the same stream to the server and so changes no decision; a
 * resend with one checked byte altered is refused as retransmit_differs
 * and one cut inside a stretch as out_of_order, both changing nothing; a
 * segment from the future is refused as out of order; the parser's state
 * stays within its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "naive.h"
#include "tp/policy/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROFILES 3

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
	uint32_t sum = 0;

	if (s->cur.have > TP_MODBUS_HDR_MAX || (s->cur.skip && s->cur.have) ||
	    s->cur.skip > TP_MODBUS_ADU_MAX || s->n_segs > TP_MODBUS_SEGS)
		abort();
	for (unsigned i = 0; i < s->n_segs; i++)
		sum += s->seg_len[i];
	if (s->seg_seq + sum != s->next_seq)
		abort();
}

/* The checker on one segment; a refusal must leave the state as it was. */
static enum tp_modbus_result send(struct tp_modbus_stream *s, const struct tp_modbus_check *c,
				  uint32_t seq, const uint8_t *p, size_t n)
{
	struct tp_modbus_stream before = *s;
	enum tp_modbus_result r = tp_modbus_segment(s, c, seq, 0x10, p, n);

	if (r != TP_MODBUS_OK && memcmp(&before, s, sizeof(*s)) != 0)
		abort();
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[TP_MODBUS_KEY_BYTES] = {0x42};
	static uint8_t alt[4096];
	struct in in = {data, size};
	uint8_t units[PROFILES][3], fcs[PROFILES][4];
	struct tp_u16_range regs[PROFILES][3], ranges[PROFILES][3];
	struct tp_modbus_profile p[PROFILES];
	const struct tp_modbus_profile *pp[PROFILES];
	struct tp_modbus_rules r[PROFILES];
	struct tp_modbus_check c = {.key = key};
	struct tp_modbus_stream s, before;
	struct naive_result want;
	enum tp_modbus_result got = TP_MODBUS_OK;
	uint32_t cut, n_prof = take(&in) % PROFILES + 1;
	size_t off = 0, got_at = 0, starts[TP_MODBUS_SEGS], n_starts = 0;

	for (uint32_t j = 0; j < n_prof; j++) {
		p[j] = (struct tp_modbus_profile){units[j], 0, fcs[j], 0, regs[j], 0};
		p[j].n_unit_ids = take(&in) % 4;
		for (size_t i = 0; i < p[j].n_unit_ids; i++)
			units[j][i] = take(&in);
		p[j].n_function_codes = take(&in) % 5;
		for (size_t i = 0; i < p[j].n_function_codes; i++)
			fcs[j][i] = (uint8_t)(take(&in) % 127 + 1);
		p[j].n_registers = take(&in) % 4;
		for (size_t i = 0; i < p[j].n_registers; i++) {
			uint16_t a = (uint16_t)(take(&in) << 8 | take(&in));
			uint16_t b = (uint16_t)(take(&in) << 8 | take(&in));

			regs[j][i] =
				a <= b ? (struct tp_u16_range){a, b} : (struct tp_u16_range){b, a};
		}
		if (!tp_modbus_rules_build(&p[j], ranges[j], &r[j]))
			abort(); /* every profile built above is valid */
		pp[j] = &p[j];
		c.rules[j] = &r[j];
	}
	c.n = n_prof;
	cut = take(&in) | 1u;
	if (in.n > sizeof(alt))
		in.n = sizeof(alt);

	want = naive_check_any(pp, n_prof, in.p, in.n);
	tp_modbus_stream_init(&s);
	if (tp_modbus_segment(&s, &c, 1000, 0x02, NULL, 0) != TP_MODBUS_OK)
		abort();
	while (off < in.n) {
		uint32_t seq = 1001 + (uint32_t)off;
		size_t k, from = off;
		unsigned what;

		cut = cut * 1103515245u + 12345u;
		k = 1 + (cut >> 16) % 64;
		what = (cut >> 8) % 8;
		if (k > in.n - off)
			k = in.n - off;
		if (n_starts && what >= 5) {
			/* a resend from a remembered stretch */
			size_t st = starts[(cut >> 24) % n_starts], at;

			at = st + (cut >> 12) % (off - st);
			if (what == 6) {
				/* one checked byte altered: refused */
				memcpy(alt + st, in.p + st, off + k - st);
				alt[at] ^= (uint8_t)(cut >> 4 | 1);
				if (send(&s, &c, 1001 + (uint32_t)st, alt + st, off + k - st) !=
				    TP_MODBUS_RETRANSMIT_DIFFERS)
					abort();
			} else if (what == 7) {
				/* cut inside a stretch: not comparable */
				bool start = false;

				for (size_t i = 0; i < n_starts; i++)
					start = start || starts[i] == at;
				if (!start && send(&s, &c, 1001 + (uint32_t)at, in.p + at,
						   off + k - at) != TP_MODBUS_OUT_OF_ORDER)
					abort();
			}
			from = st; /* then resent whole, maybe with nothing new */
			if (what == 5 && (cut >> 20) % 2)
				k = 0;
		}
		got = send(&s, &c, 1001 + (uint32_t)from, in.p + from, off + k - from);
		if (got != TP_MODBUS_OK) {
			got_at = off + k;
			break;
		}
		check_bounds(&s);
		if (k == 0)
			continue;
		before = s;
		if (tp_modbus_segment(&s, &c, seq, 0x10, in.p + off, k) != TP_MODBUS_OK ||
		    memcmp(&before, &s, sizeof(s)) != 0)
			abort();
		if (send(&s, &c, seq + (uint32_t)k + 1, in.p + off, 1) != TP_MODBUS_OUT_OF_ORDER)
			abort();
		if (n_starts == TP_MODBUS_SEGS)
			memmove(starts, starts + 1, (--n_starts) * sizeof(*starts));
		starts[n_starts++] = off;
		off += k;
	}
	if (got != want.result)
		abort();
	if (got != TP_MODBUS_OK && !(want.at >= off && want.at < got_at))
		abort();
	return 0;
}
