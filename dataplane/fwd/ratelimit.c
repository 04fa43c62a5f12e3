// SPDX-License-Identifier: MIT
/*
 * Token bucket (tp/dp/ratelimit.h): the arithmetic and why it cannot
 * overflow are described there.
 */
#include "tp/dp/ratelimit.h"

void tp_ratelimit_init(struct tp_ratelimit *b, uint32_t pps, uint64_t burst, uint64_t now_ns)
{
	if (burst == 0)
		burst = pps;
	if (burst > TP_RATELIMIT_BURST_MAX)
		burst = TP_RATELIMIT_BURST_MAX;
	b->pps = pps;
	b->cap = burst * TP_RATELIMIT_UNIT;
	b->tokens = b->cap;
	/* the control thread may divide; the packet path never does */
	b->fill_ns = pps ? b->cap / pps : 0;
	b->last_ns = now_ns;
}

bool tp_ratelimit_take(struct tp_ratelimit *b, uint64_t now_ns)
{
	if (b->pps == 0)
		return true;
	if (now_ns > b->last_ns) {
		uint64_t el = now_ns - b->last_ns;

		/* el < fill_ns: el × pps < cap, and tokens <= cap, so the sum
		 * stays below 2^64 (tp/dp/ratelimit.h) */
		if (el >= b->fill_ns)
			b->tokens = b->cap;
		else
			b->tokens += el * b->pps;
		if (b->tokens > b->cap)
			b->tokens = b->cap;
		b->last_ns = now_ns;
	}
	if (b->tokens < TP_RATELIMIT_UNIT)
		return false;
	b->tokens -= TP_RATELIMIT_UNIT;
	return true;
}
