// SPDX-License-Identifier: MIT
#include <string.h>

#include "tai64n.h"

#define TAI64_BASE    0x400000000000000aULL
#define WHITENER_MASK ((1U << 24) - 1)

void wg_tai64n_now(uint8_t out[NOISE_TIMESTAMP_LEN], uint64_t wall_ns)
{
	uint64_t secs = TAI64_BASE + wall_ns / NSEC_PER_SEC;
	uint32_t nano = (uint32_t)(wall_ns % NSEC_PER_SEC) & ~WHITENER_MASK;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nano >> (24 - 8 * i));
}

bool wg_tai64n_after(const uint8_t a[NOISE_TIMESTAMP_LEN], const uint8_t b[NOISE_TIMESTAMP_LEN])
{
	return memcmp(a, b, NOISE_TIMESTAMP_LEN) > 0;
}
