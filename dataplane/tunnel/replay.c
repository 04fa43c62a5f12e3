// SPDX-License-Identifier: MIT
/*
 * The WireGuard replay window: 8192 bits in 64-bit words, of which one word is
 * redundant so that advancing clears whole words without losing any counter
 * still inside the usable window (8128). Words in front of the new top are
 * zeroed as the top moves; a counter is accepted if it is in the window and
 * its bit was clear.
 */
#include <string.h>

#include "replay.h"

void wg_replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

enum replay_verdict wg_replay_check(const struct replay *r, uint64_t their)
{
	if (r->counter >= REJECT_AFTER_MESSAGES + 1 || their >= REJECT_AFTER_MESSAGES)
		return REPLAY_EXHAUSTED;
	their++;
	if (REPLAY_WINDOW_SIZE + their < r->counter)
		return REPLAY_TOO_OLD;
	if (their <= r->counter) {
		uint64_t word = r->backtrack[(their / REPLAY_WORD_BITS) & (REPLAY_WORDS - 1)];

		if (word & (1ULL << (their & (REPLAY_WORD_BITS - 1))))
			return REPLAY_SEEN;
	}
	return REPLAY_OK;
}

enum replay_verdict wg_replay_validate(struct replay *r, uint64_t their)
{
	uint64_t index, bit;
	enum replay_verdict v = wg_replay_check(r, their);

	if (v != REPLAY_OK)
		return v;
	their++;
	index = their / REPLAY_WORD_BITS;
	if (their > r->counter) {
		uint64_t cur = r->counter / REPLAY_WORD_BITS;
		uint64_t top = index - cur;

		if (top > REPLAY_WORDS)
			top = REPLAY_WORDS;
		for (uint64_t i = 1; i <= top; i++)
			r->backtrack[(i + cur) & (REPLAY_WORDS - 1)] = 0;
		r->counter = their;
	}
	bit = 1ULL << (their & (REPLAY_WORD_BITS - 1));
	r->backtrack[index & (REPLAY_WORDS - 1)] |= bit;
	return REPLAY_OK;
}
