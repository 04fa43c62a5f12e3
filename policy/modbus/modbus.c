// SPDX-License-Identifier: MIT
/*
 * The Modbus/TCP stream checker (tp/policy/modbus.h).
 *
 * State of one ADU in struct tp_modbus_parser, in three stages:
 *   have < 7          collecting the MBAP header
 *   have < 8          collecting the function code
 *   have < 8 + fixed  collecting the fixed request fields of a function
 *                     that addresses data (fixed_len())
 * Each stage is checked when its last byte arrives; after the last stage
 * the ADU is decided and skip counts its remaining bytes, which pass
 * unread (register values, file records, ...). Invariant: have <=
 * TP_MODBUS_HDR_MAX, and skip > 0 only when have == 0.
 *
 * Since every stage lies inside the ADU (its length was checked first), an
 * ADU is decided before its last byte is accepted: a refused segment
 * always withholds at least the end of the offending request, so the
 * server never receives it whole.
 *
 * With several profiles, a stage passes when one profile passes it and
 * every earlier stage of the same ADU: hdr still holds those bytes, so
 * the earlier stages are re-run per profile rather than remembered
 * (nothing in the parser depends on the profiles, which a new policy may
 * change mid-connection).
 *
 * Retransmissions (tp/policy/modbus.h): s->seg_* remember the last accepted
 * stretches of the stream; seg_seq + the sum of seg_len == next_seq.
 */
#include "tp/policy/modbus.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02

/* Quantity limits of the Modbus application protocol v1.1b3. */
#define QTY_BITS_READ_MAX  2000
#define QTY_REGS_READ_MAX  125
#define QTY_BITS_WRITE_MAX 1968
#define QTY_REGS_WRITE_MAX 123
#define QTY_RW_WRITE_MAX   121
#define COIL_ON		   0xff00
#define COIL_OFF	   0x0000

/* The per-flow cost that tp/policy/modbus.h and the READMEs state. */
_Static_assert(sizeof(struct tp_modbus_stream) == 64, "stream state is one cache line");

const char *tp_modbus_result_name(enum tp_modbus_result r)
{
	static const char *const names[] = {
#define X(name, str) str,
		TP_MODBUS_RESULTS(X)
#undef X
	};

	return (unsigned)r < TP_MODBUS__COUNT ? names[r] : "?";
}

static void bit_set(uint64_t *map, unsigned i)
{
	map[i / 64] |= 1ull << (i % 64);
}

static bool bit_test(const uint64_t *map, unsigned i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

static int cmp_range(const void *a, const void *b)
{
	const struct tp_u16_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

bool tp_modbus_rules_build(const struct tp_modbus_profile *p, struct tp_u16_range *ranges,
			   struct tp_modbus_rules *out)
{
	uint32_t n = 0;

	memset(out, 0, sizeof(*out));
	if (p->n_unit_ids == 0)
		memset(out->unit, 0xff, sizeof(out->unit));
	for (size_t i = 0; i < p->n_unit_ids; i++)
		bit_set(out->unit, p->unit_ids[i]);
	for (unsigned fc = 1; p->n_function_codes == 0 && fc < TP_MODBUS_FC_EXCEPTION_BIT; fc++)
		bit_set(out->fc, fc);
	for (size_t i = 0; i < p->n_function_codes; i++) {
		uint8_t fc = p->function_codes[i];

		/* 0 is no function, the high bit marks exception replies:
		 * neither is ever a valid request */
		if (fc == 0 || fc & TP_MODBUS_FC_EXCEPTION_BIT)
			return false;
		bit_set(out->fc, fc);
	}
	for (size_t i = 0; i < p->n_registers; i++)
		if (p->registers[i].lo > p->registers[i].hi)
			return false;
	out->all_registers = p->n_registers == 0;
	if (p->n_registers) {
		memcpy(ranges, p->registers, p->n_registers * sizeof(*ranges));
		qsort(ranges, p->n_registers, sizeof(*ranges), cmp_range);
		/* merge what overlaps or touches: a request inside the union
		 * addresses nothing but allowed registers */
		for (size_t i = 1; i < p->n_registers; i++) {
			if ((uint32_t)ranges[i].lo <= (uint32_t)ranges[n].hi + 1) {
				if (ranges[i].hi > ranges[n].hi)
					ranges[n].hi = ranges[i].hi;
			} else {
				ranges[++n] = ranges[i];
			}
		}
		n++;
	}
	out->n_ranges = n;
	out->ranges = ranges;
	return true;
}

void tp_modbus_stream_init(struct tp_modbus_stream *s)
{
	memset(s, 0, sizeof(*s));
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Bytes of fixed request fields after the function code, for the
 * functions whose addresses the profile restricts; 0 for the others. */
static unsigned fixed_len(uint8_t fc)
{
	switch (fc) {
	case TP_MODBUS_FC_READ_COILS:
	case TP_MODBUS_FC_READ_DISCRETE_INPUTS:
	case TP_MODBUS_FC_READ_HOLDING_REGISTERS:
	case TP_MODBUS_FC_READ_INPUT_REGISTERS:
	case TP_MODBUS_FC_WRITE_SINGLE_COIL:
	case TP_MODBUS_FC_WRITE_SINGLE_REGISTER:
		return 4; /* address, quantity or value */
	case TP_MODBUS_FC_WRITE_MULTIPLE_COILS:
	case TP_MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
		return 5; /* address, quantity, byte count */
	case TP_MODBUS_FC_MASK_WRITE_REGISTER:
		return 6; /* address, AND mask, OR mask */
	case TP_MODBUS_FC_READ_WRITE_MULTIPLE_REGISTERS:
		return 9; /* read address, quantity, write address, quantity, byte count */
	default:
		return 0;
	}
}

/* [start, start + qty - 1] inside one allowed range? qty >= 1 and the end
 * within 65535 are checked by the caller. */
static bool range_allowed(const struct tp_modbus_rules *r, uint32_t start, uint32_t qty)
{
	uint32_t lo = 0, hi = r->n_ranges, end = start + qty - 1;

	if (r->all_registers)
		return true;
	/* the last range with lo <= start: ranges are disjoint and sorted */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->ranges[mid].lo <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && end <= r->ranges[lo - 1].hi;
}

/* One addressed block: quantity limits, then the profile's ranges. */
static enum tp_modbus_result block(const struct tp_modbus_rules *r, uint32_t start, uint32_t qty,
				   uint32_t qty_max)
{
	if (qty == 0 || qty > qty_max || start + qty - 1 > UINT16_MAX)
		return TP_MODBUS_BAD_HEADER;
	return range_allowed(r, start, qty) ? TP_MODBUS_OK : TP_MODBUS_REGISTER;
}

/* MBAP complete (hdr[0..7)). */
static enum tp_modbus_result check_mbap(const struct tp_modbus_parser *p,
					const struct tp_modbus_rules *r)
{
	uint16_t len = be16(p->hdr + 4);

	if (be16(p->hdr + 2) != 0 || len < TP_MODBUS_LENGTH_MIN || len > TP_MODBUS_LENGTH_MAX)
		return TP_MODBUS_BAD_HEADER;
	return bit_test(r->unit, p->hdr[6]) ? TP_MODBUS_OK : TP_MODBUS_UNIT;
}

/* Function code known (hdr[7]): allowed, and does the PDU length fit it? */
static enum tp_modbus_result check_fc(const struct tp_modbus_parser *p,
				      const struct tp_modbus_rules *r)
{
	uint8_t fc = p->hdr[7];
	uint16_t len = be16(p->hdr + 4);

	if (!bit_test(r->fc, fc))
		return TP_MODBUS_FUNCTION;
	switch (fc) {
	case TP_MODBUS_FC_MASK_WRITE_REGISTER:
		return len == 8 ? TP_MODBUS_OK : TP_MODBUS_BAD_HEADER;
	default:
		/* exact for 1-6; at least the fixed fields for 15, 16, 23
		 * whose byte count is checked with them */
		if (fixed_len(fc) == 4)
			return len == 6 ? TP_MODBUS_OK : TP_MODBUS_BAD_HEADER;
		return len >= 2 + fixed_len(fc) ? TP_MODBUS_OK : TP_MODBUS_BAD_HEADER;
	}
}

/* All fixed fields present (hdr[8..8 + fixed_len)). */
static enum tp_modbus_result check_fields(const struct tp_modbus_parser *p,
					  const struct tp_modbus_rules *r)
{
	const uint8_t *d = p->hdr + 8;
	uint16_t len = be16(p->hdr + 4);
	uint16_t a = be16(d), q = be16(d + 2);
	enum tp_modbus_result res;

	switch (p->hdr[7]) {
	case TP_MODBUS_FC_READ_COILS:
	case TP_MODBUS_FC_READ_DISCRETE_INPUTS:
		return block(r, a, q, QTY_BITS_READ_MAX);
	case TP_MODBUS_FC_READ_HOLDING_REGISTERS:
	case TP_MODBUS_FC_READ_INPUT_REGISTERS:
		return block(r, a, q, QTY_REGS_READ_MAX);
	case TP_MODBUS_FC_WRITE_SINGLE_COIL:
		if (q != COIL_ON && q != COIL_OFF)
			return TP_MODBUS_BAD_HEADER;
		return block(r, a, 1, 1);
	case TP_MODBUS_FC_WRITE_SINGLE_REGISTER:
	case TP_MODBUS_FC_MASK_WRITE_REGISTER:
		return block(r, a, 1, 1);
	case TP_MODBUS_FC_WRITE_MULTIPLE_COILS:
		if (len != 7 + d[4] || d[4] != (q + 7) / 8)
			return TP_MODBUS_BAD_HEADER;
		return block(r, a, q, QTY_BITS_WRITE_MAX);
	case TP_MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
		if (len != 7 + d[4] || d[4] != 2 * q)
			return TP_MODBUS_BAD_HEADER;
		return block(r, a, q, QTY_REGS_WRITE_MAX);
	case TP_MODBUS_FC_READ_WRITE_MULTIPLE_REGISTERS:
		if (len != 11 + d[8] || d[8] != 2 * be16(d + 6))
			return TP_MODBUS_BAD_HEADER;
		res = block(r, a, q, QTY_REGS_READ_MAX);
		if (res == TP_MODBUS_OK)
			res = block(r, be16(d + 4), be16(d + 6), QTY_RW_WRITE_MAX);
		return res;
	default:
		return TP_MODBUS_OK; /* not reached: fixed_len() is 0 */
	}
}

/* Stage `stage` (1 MBAP, 2 function code, 3 fixed fields) of the ADU in
 * hdr against one profile, with the stages before it; *at is the stage
 * that refused. */
static enum tp_modbus_result check_upto(const struct tp_modbus_parser *p,
					const struct tp_modbus_rules *r, unsigned stage,
					unsigned *at)
{
	enum tp_modbus_result res = check_mbap(p, r);

	*at = 1;
	if (res != TP_MODBUS_OK || stage < 2)
		return res;
	*at = 2;
	res = check_fc(p, r);
	if (res != TP_MODBUS_OK || stage < 3)
		return res;
	*at = 3;
	return check_fields(p, r);
}

/* Does one profile of c admit the ADU so far? Else the reason of the one
 * that admitted most of it, the first listed among equals. */
static enum tp_modbus_result check_stage(const struct tp_modbus_parser *p,
					 const struct tp_modbus_check *c, unsigned stage)
{
	enum tp_modbus_result res, worst = TP_MODBUS_FUNCTION;
	unsigned at, best_at = 0;

	if (c->n == 1) {
		/* the earlier stages passed for this very profile */
		if (stage == 1)
			return check_mbap(p, c->rules[0]);
		return stage == 2 ? check_fc(p, c->rules[0]) : check_fields(p, c->rules[0]);
	}
	for (uint32_t i = 0; i < c->n; i++) {
		res = check_upto(p, c->rules[i], stage, &at);
		if (res == TP_MODBUS_OK)
			return res;
		if (at > best_at) {
			worst = res;
			best_at = at;
		}
	}
	return worst;
}

enum tp_modbus_result tp_modbus_parse(struct tp_modbus_parser *p, const struct tp_modbus_check *c,
				      const uint8_t *data, size_t len)
{
	enum tp_modbus_result res = TP_MODBUS_OK;

	while (len > 0) {
		unsigned need, n, stage;

		if (p->skip) {
			n = len < p->skip ? (unsigned)len : p->skip;
			p->skip = (uint16_t)(p->skip - n);
			data += n;
			len -= n;
			continue;
		}
		need = p->have < TP_MODBUS_MBAP_LEN ? TP_MODBUS_MBAP_LEN
		       : p->have < TP_MODBUS_MBAP_LEN + 1
			       ? TP_MODBUS_MBAP_LEN + 1
			       : TP_MODBUS_MBAP_LEN + 1 + fixed_len(p->hdr[7]);
		n = need - p->have;
		if (n > len)
			n = (unsigned)len;
		memcpy(p->hdr + p->have, data, n);
		p->have = (uint8_t)(p->have + n);
		data += n;
		len -= n;
		if (p->have < need)
			break;
		stage = need == TP_MODBUS_MBAP_LEN ? 1 : need == TP_MODBUS_MBAP_LEN + 1 ? 2 : 3;
		res = check_stage(p, c, stage);
		if (res != TP_MODBUS_OK)
			break;
		if (stage == 3 || (stage == 2 && fixed_len(p->hdr[7]) == 0)) {
			/* the ADU is 6 + length bytes; check_fc made sure the
			 * fields read lie inside it */
			p->skip = (uint16_t)(6 + be16(p->hdr + 4) - p->have);
			p->have = 0;
		}
	}
	return res;
}

static uint64_t mac(const struct tp_modbus_check *c, const uint8_t *data, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, data, len, c->key);
	memcpy(&v, out, sizeof(v));
	return v;
}

/* Accept [next_seq, next_seq + len) as checked and remember it; the
 * oldest stretch is forgotten when every slot is taken. */
static void remember(struct tp_modbus_stream *s, const struct tp_modbus_check *c,
		     const uint8_t *data, size_t len)
{
	if (s->n_segs == TP_MODBUS_SEGS) {
		s->seg_seq += s->seg_len[0];
		memmove(s->seg_len, s->seg_len + 1, (TP_MODBUS_SEGS - 1) * sizeof(s->seg_len[0]));
		memmove(s->seg_mac, s->seg_mac + 1, (TP_MODBUS_SEGS - 1) * sizeof(s->seg_mac[0]));
		s->n_segs--;
	}
	s->seg_len[s->n_segs] = (uint16_t)len;
	s->seg_mac[s->n_segs] = mac(c, data, len);
	s->n_segs++;
	s->next_seq += (uint32_t)len;
}

/*
 * A segment starting `back` bytes before next_seq (back > 0): compare its
 * bytes with the remembered stretches it covers. TP_MODBUS_OK when they
 * are the checked bytes and the segment ends at a stretch's end (or past
 * next_seq: payload[back, len) is then new); RETRANSMIT_DIFFERS when a
 * stretch differs; OUT_OF_ORDER when it does not start at a remembered
 * stretch or ends inside one (its bytes cannot be compared).
 */
static enum tp_modbus_result verify_old(const struct tp_modbus_stream *s,
					const struct tp_modbus_check *c, uint32_t back,
					const uint8_t *payload, size_t len)
{
	uint32_t span = s->next_seq - s->seg_seq, pos = 0; /* offsets from seg_seq */
	enum tp_modbus_result res = TP_MODBUS_OK;
	unsigned i = 0;
	size_t off = 0;

	if (back > span)
		return TP_MODBUS_OUT_OF_ORDER;
	while (i < s->n_segs && pos < span - back)
		pos += s->seg_len[i++];
	if (pos != span - back)
		return TP_MODBUS_OUT_OF_ORDER;
	/* An altered stretch is reported as such even when the segment also
	 * ends where nothing can be compared. */
	for (; i < s->n_segs && off < len; i++) {
		if (len - off < s->seg_len[i])
			return res == TP_MODBUS_OK ? TP_MODBUS_OUT_OF_ORDER : res;
		if (mac(c, payload + off, s->seg_len[i]) != s->seg_mac[i])
			res = TP_MODBUS_RETRANSMIT_DIFFERS;
		off += s->seg_len[i];
	}
	return res;
}

enum tp_modbus_result tp_modbus_segment(struct tp_modbus_stream *s, const struct tp_modbus_check *c,
					uint32_t seq, uint8_t tcp_flags, const uint8_t *payload,
					size_t len)
{
	struct tp_modbus_parser p;
	enum tp_modbus_result res;
	bool fin = tcp_flags & TCP_FIN;
	uint32_t back;

	if ((tcp_flags & TCP_SYN) && (!s->synced || !s->data || s->fin)) {
		/* a connection (re)starts: its data begins after the SYN */
		memset(s, 0, sizeof(*s));
		s->synced = 1;
		s->next_seq = s->seg_seq = ++seq;
	} else if ((tcp_flags & TCP_SYN) && len) {
		/* a receiver ignores data on a SYN inside a connection */
		goto drop_out_of_order;
	}
	if (len == 0) {
		if (fin && s->synced && seq == s->next_seq)
			s->fin = 1;
		return TP_MODBUS_OK;
	}
	if (!s->synced)
		goto drop_no_stream;
	if (len > UINT16_MAX)
		goto drop_out_of_order; /* more than an IP packet holds */
	back = s->next_seq - seq;
	if (back > (uint32_t)INT32_MAX)
		goto drop_out_of_order; /* starts past the checked stream: a gap */
	if (back) {
		res = verify_old(s, c, back, payload, len);
		if (res != TP_MODBUS_OK)
			return res;
		if (len < back && fin)
			goto drop_out_of_order; /* a FIN inside the stream */
		if (len <= back) {
			/* nothing new: the checked bytes again */
			if (fin)
				s->fin = 1;
			return TP_MODBUS_OK;
		}
	}
	if (s->fin)
		goto drop_out_of_order; /* data after the client's FIN */
	p = s->cur;
	res = tp_modbus_parse(&p, c, payload + back, len - back);
	if (res != TP_MODBUS_OK)
		return res;
	s->cur = p;
	remember(s, c, payload + back, len - back);
	s->data = 1;
	s->fin = fin;
	return TP_MODBUS_OK;
drop_out_of_order:
	return TP_MODBUS_OUT_OF_ORDER;
drop_no_stream:
	return TP_MODBUS_NO_STREAM;
}
