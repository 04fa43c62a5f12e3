// SPDX-License-Identifier: MIT
/* Capped exponential backoff with jitter (tp/ctrl/backoff.h). */
#include <sodium.h>

#include "tp/ctrl/backoff.h"

void tp_ctrl_backoff_init(struct tp_ctrl_backoff *b, uint64_t base_ns, uint64_t cap_ns,
			  uint32_t (*random)(void *arg), void *random_arg)
{
	b->base_ns = base_ns ? base_ns : 1;
	b->cap_ns = cap_ns < b->base_ns ? b->base_ns : cap_ns;
	b->attempt = 0;
	b->random = random;
	b->random_arg = random_arg;
}

uint64_t tp_ctrl_backoff_next(struct tp_ctrl_backoff *b)
{
	uint64_t d = b->base_ns, half, r;
	unsigned i;

	for (i = 0; i < b->attempt && d < b->cap_ns; i++)
		d *= 2;
	if (d > b->cap_ns)
		d = b->cap_ns;
	if (b->attempt < 64)
		b->attempt++;
	half = d / 2;
	r = b->random ? b->random(b->random_arg) : randombytes_random();
	/* U[0, half] from 32 random bits, without modulo bias worth caring
	 * about at these magnitudes (r * (half + 1) / 2^32). */
	return d - half + (uint64_t)(((unsigned __int128)r * (half + 1)) >> 32);
}

void tp_ctrl_backoff_reset(struct tp_ctrl_backoff *b)
{
	b->attempt = 0;
}
