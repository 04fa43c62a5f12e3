// SPDX-License-Identifier: MIT
/*
 * The WireGuard replay window: 8192 bits in 64-bit words, of which one word is
 * redundant so that advancing clears whole words without losing any counter
 * still inside the usable window (8128). Words in front of the new top are
 * zeroed as the top moves; a counter is accepted if it is in the window and
 * its bit was clear. Writers hold the window's spin lock (held for a few
 * dozen instructions, never across anything that can block); readers of the
 * pre-check take no lock. Every access is a relaxed atomic so the lock-free
 * reads are well defined; the lock's acquire/release orders the writers.
 */
#include "replay.h"

void wg_replay_init(struct replay *r)
{
	atomic_flag_clear_explicit(&r->lock, memory_order_relaxed);
	atomic_store_explicit(&r->counter, 0, memory_order_relaxed);
	for (unsigned i = 0; i < REPLAY_WORDS; i++)
		atomic_store_explicit(&r->backtrack[i], 0, memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed);
}

enum replay_verdict wg_replay_check(const struct replay *r, uint64_t their)
{
	uint64_t top = load(&r->counter);

	if (top >= REJECT_AFTER_MESSAGES + 1 || their >= REJECT_AFTER_MESSAGES)
		return REPLAY_EXHAUSTED;
	their++;
	if (REPLAY_WINDOW_SIZE + their < top)
		return REPLAY_TOO_OLD;
	if (their <= top) {
		uint64_t word =
			load(&r->backtrack[(their / REPLAY_WORD_BITS) & (REPLAY_WORDS - 1)]);

		if (word & (1ULL << (their & (REPLAY_WORD_BITS - 1))))
			return REPLAY_SEEN;
	}
	return REPLAY_OK;
}

static void lock(struct replay *r)
{
	while (atomic_flag_test_and_set_explicit(&r->lock, memory_order_acquire))
		;
}

static void unlock(struct replay *r)
{
	atomic_flag_clear_explicit(&r->lock, memory_order_release);
}

enum replay_verdict wg_replay_validate(struct replay *r, uint64_t their)
{
	uint64_t index, bit, top, word;
	enum replay_verdict v;

	lock(r);
	v = wg_replay_check(r, their); /* again: under the lock it is exact */
	if (v != REPLAY_OK)
		goto out_unlock;
	their++;
	index = their / REPLAY_WORD_BITS;
	top = load(&r->counter);
	if (their > top) {
		uint64_t cur = top / REPLAY_WORD_BITS;
		uint64_t n = index - cur;

		if (n > REPLAY_WORDS)
			n = REPLAY_WORDS;
		for (uint64_t i = 1; i <= n; i++)
			atomic_store_explicit(&r->backtrack[(i + cur) & (REPLAY_WORDS - 1)], 0,
					      memory_order_relaxed);
		atomic_store_explicit(&r->counter, their, memory_order_relaxed);
	}
	bit = 1ULL << (their & (REPLAY_WORD_BITS - 1));
	word = load(&r->backtrack[index & (REPLAY_WORDS - 1)]);
	atomic_store_explicit(&r->backtrack[index & (REPLAY_WORDS - 1)], word | bit,
			      memory_order_relaxed);
out_unlock:
	unlock(r);
	return v;
}
