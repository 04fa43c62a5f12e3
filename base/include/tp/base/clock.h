/* SPDX-License-Identifier: MIT */
/*
 * Injected time. Everything that expires, ticks or rekeys asks a clock
 * instead of the system, so tests drive time by hand. Plain C.
 */
#ifndef TP_BASE_CLOCK_H
#define TP_BASE_CLOCK_H

#include <stdint.h>

struct tp_clock {
	uint64_t (*now_ns)(void *arg); /* monotonic nanoseconds */
	void *arg;
};

static inline uint64_t tp_clock_now(const struct tp_clock *c)
{
	return c->now_ns(c->arg);
}

/* CLOCK_MONOTONIC; arg unused. */
uint64_t tp_clock_monotonic_ns(void *arg);

#endif /* TP_BASE_CLOCK_H */
