// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for everything that consumes a received message: the
 * handshake path (types 1-3, mac1/mac2, cookies, rate limiter, Noise) and
 * the transport path (type 4 bursts, replay window, roaming, timers), in an
 * engine that already has a session and a handshake in flight, so valid
 * seeds reach the deep states.
 *
 * Input: a sequence of records [flags:1][len:2 big-endian][message:len].
 */
#include <stddef.h>
#include <stdint.h>

#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = world_new();

	while (size >= 3) {
		uint8_t flags = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		world_feed_r(w, data, len, flags);
		data += len;
		size -= len;
	}
	world_free(w);
	return 0;
}
