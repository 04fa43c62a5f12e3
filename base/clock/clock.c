// SPDX-License-Identifier: MIT
#include "tp/base/clock.h"

#include <time.h>

uint64_t tp_clock_monotonic_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
