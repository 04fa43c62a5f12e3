// SPDX-License-Identifier: MIT
/*
 * The naive model: the whole stream in one buffer, one ADU after the
 * other at explicit offsets, lists of the profile scanned linearly and
 * every addressed register looked up on its own. A request is decided by
 * the byte that completes the field that condemns it: MBAP (byte 7) for
 * the header and unit, the function code (byte 8), then the function's
 * fixed fields. With several profiles, a request passes if one admits it
 * whole; one that none admits is decided by the profile whose deciding
 * byte comes last (the first listed among equals).
 */
#include "naive.h"

static unsigned u16(const uint8_t *p)
{
	return (unsigned)p[0] * 256 + p[1];
}

static bool in_list(const uint8_t *v, size_t n, unsigned x)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool reg_ok(const struct tp_modbus_profile *p, unsigned a)
{
	if (p->n_registers == 0)
		return true;
	for (size_t i = 0; i < p->n_registers; i++)
		if (p->registers[i].lo <= a && a <= p->registers[i].hi)
			return true;
	return false;
}

/* quantity q from a, 1 <= q <= max, nothing past 65535, all allowed */
static enum tp_modbus_result span(const struct tp_modbus_profile *p, unsigned a, unsigned q,
				  unsigned max)
{
	if (q < 1 || q > max || a + q > 65536)
		return TP_MODBUS_BAD_HEADER;
	for (unsigned x = a; x < a + q; x++)
		if (!reg_ok(p, x))
			return TP_MODBUS_REGISTER;
	return TP_MODBUS_OK;
}

static struct naive_result res(enum tp_modbus_result r, size_t at)
{
	return (struct naive_result){r, at};
}

/* The ADU at s[o..len) against one profile: refused (its result and
 * deciding byte), undecided (the stream ends first: *done false), or
 * admitted (*done true, OK). */
static struct naive_result adu_check(const struct tp_modbus_profile *p, const uint8_t *s,
				     size_t len, size_t o, bool *done)
{
	const uint8_t *a = s + o;
	size_t have = len - o;
	unsigned L, fc, fixed;
	enum tp_modbus_result r = TP_MODBUS_OK;

	*done = false;
	if (have < 7)
		return res(TP_MODBUS_OK, 0);
	L = u16(a + 4);
	if (u16(a + 2) != 0 || L < 2 || L > 254)
		return res(TP_MODBUS_BAD_HEADER, o + 6);
	if (!in_list(p->unit_ids, p->n_unit_ids, a[6]))
		return res(TP_MODBUS_UNIT, o + 6);
	if (have < 8)
		return res(TP_MODBUS_OK, 0);
	fc = a[7];
	if (fc == 0 || fc >= 128 || !in_list(p->function_codes, p->n_function_codes, fc))
		return res(TP_MODBUS_FUNCTION, o + 7);
	switch (fc) {
	case 1:
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		fixed = 4;
		if (L != 6)
			return res(TP_MODBUS_BAD_HEADER, o + 7);
		break;
	case 15:
	case 16:
		fixed = 5;
		if (L < 7)
			return res(TP_MODBUS_BAD_HEADER, o + 7);
		break;
	case 22:
		fixed = 6;
		if (L != 8)
			return res(TP_MODBUS_BAD_HEADER, o + 7);
		break;
	case 23:
		fixed = 9;
		if (L < 11)
			return res(TP_MODBUS_BAD_HEADER, o + 7);
		break;
	default:
		fixed = 0;
		break;
	}
	if (fixed) {
		const uint8_t *d = a + 8;

		if (have < 8 + fixed)
			return res(TP_MODBUS_OK, 0);
		switch (fc) {
		case 1:
		case 2:
			r = span(p, u16(d), u16(d + 2), 2000);
			break;
		case 3:
		case 4:
			r = span(p, u16(d), u16(d + 2), 125);
			break;
		case 5:
			if (u16(d + 2) != 0xff00 && u16(d + 2) != 0)
				r = TP_MODBUS_BAD_HEADER;
			else
				r = span(p, u16(d), 1, 1);
			break;
		case 6:
		case 22:
			r = span(p, u16(d), 1, 1);
			break;
		case 15:
			if (L != 7u + d[4] || d[4] != (u16(d + 2) + 7) / 8)
				r = TP_MODBUS_BAD_HEADER;
			else
				r = span(p, u16(d), u16(d + 2), 1968);
			break;
		case 16:
			if (L != 7u + d[4] || d[4] != 2 * u16(d + 2))
				r = TP_MODBUS_BAD_HEADER;
			else
				r = span(p, u16(d), u16(d + 2), 123);
			break;
		case 23:
			if (L != 11u + d[8] || d[8] != 2 * u16(d + 6))
				r = TP_MODBUS_BAD_HEADER;
			else if ((r = span(p, u16(d), u16(d + 2), 125)) == TP_MODBUS_OK)
				r = span(p, u16(d + 4), u16(d + 6), 121);
			break;
		}
		if (r != TP_MODBUS_OK)
			return res(r, o + 7 + fixed);
	}
	*done = true;
	return res(TP_MODBUS_OK, 0);
}

struct naive_result naive_check_any(const struct tp_modbus_profile *const *p, size_t n,
				    const uint8_t *s, size_t len)
{
	size_t o = 0;

	while (o + 7 <= len) {
		struct naive_result worst = res(TP_MODBUS_OK, 0);
		bool admitted = false, undecided = false, done;

		for (size_t i = 0; i < n; i++) {
			struct naive_result r = adu_check(p[i], s, len, o, &done);

			if (r.result != TP_MODBUS_OK) {
				if (worst.result == TP_MODBUS_OK || r.at > worst.at)
					worst = r;
			} else if (done) {
				admitted = true;
			} else {
				undecided = true;
			}
		}
		if (!admitted && !undecided)
			return worst;
		if (!admitted)
			break; /* the stream ends inside it */
		o += 6 + u16(s + o + 4);
	}
	return res(TP_MODBUS_OK, 0);
}

struct naive_result naive_check(const struct tp_modbus_profile *p, const uint8_t *s, size_t len)
{
	return naive_check_any(&p, 1, s, len);
}
