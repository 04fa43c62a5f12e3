// SPDX-License-Identifier: MIT
/*
 * Differential fuzzing: the bytes describe a small site and some packets;
 * the compiled engine must decide every packet as the reference evaluator
 * does (DESIGN.md §7), and name the same application profiles for it, or
 * refuse the site with -EINVAL/-E2BIG. libFuzzer's
 * coverage feedback steers into corners the seeded random test may miss
 * (boundary ports, nested prefixes, code tables, source-port grids).
 *
 * Layout, all consumed byte by byte (missing bytes read as 0):
 *   zones(1..4) tps(1) then per zone: n_prefixes(0..3), per prefix
 *   family/len byte + 4 or 16 address bytes; rules(0..15), per rule
 *   from, to, action/proto/stateful byte, n_dst, ranges, n_src, ranges,
 *   n_icmp, entries, window byte; then packets until the input ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/engine.h"
#include "tp/policy/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct rd *r)
{
	return (uint16_t)(u8(r) << 8 | u8(r));
}

static void addr(struct rd *r, struct tp_prefix *a, uint8_t family, uint8_t len)
{
	unsigned bytes = family == TP_AF_INET ? 4 : 16;

	memset(a, 0, sizeof(*a));
	a->family = family;
	a->len = len;
	for (unsigned i = 0; i < bytes; i++)
		a->addr[i] = u8(r);
}

static const uint8_t protos[8] = {0, 6, 17, 1, 58, 132, 47, 6};

static void ranges(struct rd *r, struct tp_port_range **out, size_t *n)
{
	*n = u8(r) % 3;
	*out = calloc(*n + 1, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		uint16_t a = u16(r), b = u16(r);

		(*out)[i].lo = a < b ? a : b;
		(*out)[i].hi = a < b ? b : a;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {data, size};
	struct tp_site *s = calloc(1, sizeof(*s));
	struct tp_engine *e = NULL;
	char err[256];
	int ret;

	s->n_tps = 1;
	s->tps = calloc(1, sizeof(*s->tps));
	s->n_zones = 1 + u8(&r) % 4;
	s->zones = calloc(s->n_zones, sizeof(*s->zones));
	for (size_t z = 0; z < s->n_zones; z++) {
		struct tp_zone *zone = &s->zones[z];

		zone->n_prefixes = u8(&r) % 4;
		zone->prefixes = calloc(zone->n_prefixes + 1, sizeof(struct tp_prefix));
		for (size_t i = 0; i < zone->n_prefixes; i++) {
			uint8_t b = u8(&r);
			uint8_t family = b & 0x80 ? TP_AF_INET6 : TP_AF_INET;
			uint8_t len = (uint8_t)((b & 0x7f) % (family == TP_AF_INET ? 33 : 129));

			addr(&r, &zone->prefixes[i], family, len);
		}
	}
	s->n_rules = u8(&r) % 16;
	s->rules = calloc(s->n_rules + 1, sizeof(*s->rules));
	for (size_t i = 0; i < s->n_rules; i++) {
		struct tp_rule *ru = &s->rules[i];
		uint8_t b, w;

		ru->id = (uint32_t)(1 + u8(&r) % 32);
		ru->from_zone = u8(&r) % s->n_zones;
		ru->to_zone = u8(&r) % s->n_zones;
		b = u8(&r);
		ru->action = b & 1 ? TP_ACTION_DENY : TP_ACTION_ALLOW;
		ru->stateful = !(b & 2);
		ru->proto = protos[(b >> 2) & 7];
		if ((b & 0x20) && ru->action == TP_ACTION_ALLOW && ru->stateful && ru->proto == 6)
			ru->profile = TP_PROFILE_MODBUS;
		ranges(&r, &ru->dst_ports, &ru->n_dst_ports);
		ranges(&r, &ru->src_ports, &ru->n_src_ports);
		ru->n_icmp = u8(&r) % 3;
		ru->icmp = calloc(ru->n_icmp + 1, sizeof(*ru->icmp));
		for (size_t k = 0; k < ru->n_icmp; k++) {
			ru->icmp[k].type = u8(&r);
			ru->icmp[k].code = (int16_t)(u8(&r) & 0x80 ? -1 : u8(&r));
		}
		w = u8(&r);
		ru->not_before = w & 1 ? 100 + (w >> 4) : 0;
		ru->not_after = w & 2 ? 101 + (w >> 4) + ((w >> 2) & 3) : 0;
	}

	ret = tp_engine_compile(s, 104, &e, err, sizeof(err));
	if (ret == 0) {
		while (r.n > 0) {
			struct tp_decision want, got;
			struct tp_flow f = {0};
			uint8_t b = u8(&r);
			uint8_t family = b & 1 ? TP_AF_INET6 : TP_AF_INET;

			addr(&r, &f.src, family, family == TP_AF_INET ? 32 : 128);
			addr(&r, &f.dst, family, family == TP_AF_INET ? 32 : 128);
			f.proto = b & 2 ? u8(&r) : protos[(b >> 2) & 7];
			f.sport = u16(&r);
			f.dport = u16(&r);
			f.icmp_type = u8(&r);
			f.icmp_code = u8(&r);
			tp_ref_evaluate(s, &f, 104, &want);
			tp_engine_decide(e, &f, &got);
			if (want.verdict != got.verdict || want.reason != got.reason ||
			    want.rule_id != got.rule_id || want.stateful != got.stateful ||
			    want.profile != got.profile || want.from_zone != got.from_zone ||
			    want.to_zone != got.to_zone)
				abort();
			/* and the profiles a request may pass (§7.3: any of them) */
			{
				uint32_t ids[TP_MODBUS_PROFILES_MAX], ref[TP_MODBUS_PROFILES_MAX];
				uint32_t n = tp_engine_profiles(e, &got, &f, ids, NULL);

				if (tp_ref_profiles(s, &f, 104, ref, TP_MODBUS_PROFILES_MAX) != n ||
				    memcmp(ids, ref, n * sizeof(*ids)) != 0)
					abort();
			}
		}
		tp_engine_free(e);
	} else if (ret != -EINVAL && ret != -E2BIG) {
		abort();
	}
	tp_site_free(s);
	return 0;
}
