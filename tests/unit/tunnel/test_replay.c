// SPDX-License-Identifier: MIT
/* The replay window against a naive model (a set of every counter seen and
 * the highest one) on random operations, plus its edge cases. */
#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#include "../../lib/tl_cunit.h"

enum { OPS = 1200000, MODEL_SPAN = 1 << 23 };

/* Naive model: accepted iff not seen before and no more than
 * REPLAY_WINDOW_SIZE behind the highest accepted counter. */
struct model {
	uint8_t *seen; /* one byte per counter, counters < MODEL_SPAN */
	uint64_t max_plus_one;
};

static enum replay_verdict model_validate(struct model *m, uint64_t c)
{
	if (c + 1 + REPLAY_WINDOW_SIZE < m->max_plus_one)
		return REPLAY_TOO_OLD;
	if (m->seen[c])
		return REPLAY_SEEN;
	m->seen[c] = 1;
	if (c + 1 > m->max_plus_one)
		m->max_plus_one = c + 1;
	return REPLAY_OK;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_against_model(void)
{
	struct model m = {calloc(MODEL_SPAN, 1), 0};
	struct replay *r = malloc(sizeof(*r));
	uint64_t top = 0, mismatches = 0, accepted = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m.seen);
	wg_replay_init(r);
	for (long i = 0; i < OPS; i++) {
		uint64_t x = rnd(), c;

		/* Mostly near the top (reordering, duplicates), sometimes far
		 * behind, sometimes big jumps ahead. */
		switch (x % 16) {
		case 0:
			c = top + (x >> 8) % 64;
			break;
		case 1:
			c = top > 20000 ? top - (x >> 8) % 20000 : (x >> 8) % 20000;
			break;
		case 2:
			c = top > 8200 ? top - 8120 - (x >> 8) % 16 : 0;
			break;
		default:
			c = top + 3 > (x >> 8) % 200 ? top + 3 - (x >> 8) % 200 : 0;
			break;
		}
		CU_ASSERT_FATAL(c < MODEL_SPAN);
		if (c > top)
			top = c;
		enum replay_verdict want = model_validate(&m, c);
		enum replay_verdict pre = wg_replay_check(r, c);
		enum replay_verdict got = wg_replay_validate(r, c);

		if (got != want || pre != want)
			mismatches++;
		accepted += got == REPLAY_OK;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_TRUE(accepted > OPS / 10);
	free(m.seen);
	free(r);
}

/* A second naive model for any 64-bit counter: an open-addressing set of
 * every counter accepted, the highest one, and the message limit. */
enum { SET_BITS = 21, SET_SIZE = 1 << SET_BITS, WIDE_OPS = 400000 };

struct wide_model {
	uint64_t *slot; /* counter + 1; 0 = empty */
	uint64_t max_plus_one;
};

static bool set_has_or_add(struct wide_model *m, uint64_t c, bool add)
{
	uint64_t h = (c * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS);

	for (;; h = (h + 1) & (SET_SIZE - 1)) {
		if (m->slot[h] == c + 1)
			return true;
		if (!m->slot[h]) {
			if (add)
				m->slot[h] = c + 1;
			return false;
		}
	}
}

static enum replay_verdict wide_validate(struct wide_model *m, uint64_t c)
{
	if (c >= REJECT_AFTER_MESSAGES)
		return REPLAY_EXHAUSTED;
	/* c + 1 + window < max + 1, without overflow */
	if (m->max_plus_one > REPLAY_WINDOW_SIZE + 1 &&
	    c < m->max_plus_one - REPLAY_WINDOW_SIZE - 1)
		return REPLAY_TOO_OLD;
	if (set_has_or_add(m, c, true))
		return REPLAY_SEEN;
	if (c + 1 > m->max_plus_one)
		m->max_plus_one = c + 1;
	return REPLAY_OK;
}

/* Counters near 2^64 (the window walks up to REJECT_AFTER_MESSAGES and
 * beyond), with jumps forward and back of up to the whole window, a few
 * words more or less, and duplicates of recent counters. */
static void test_against_model_near_limit(void)
{
	struct wide_model m = {calloc(SET_SIZE, sizeof(uint64_t)), 0};
	struct replay *r = malloc(sizeof(*r));
	uint64_t top = REJECT_AFTER_MESSAGES - 250000000, recent[64] = {0};
	uint64_t mismatches = 0, accepted = 0, exhausted = 0, too_old = 0;

	if (!m.slot || !r) {
		free(m.slot);
		free(r);
		CU_FAIL_FATAL("out of memory");
		return;
	}
	wg_replay_init(r);
	for (long i = 0; i < WIDE_OPS; i++) {
		uint64_t x = rnd(), span = REPLAY_WINDOW_SIZE + 128, c;

		switch (x % 8) {
		case 0: /* jump ahead by up to the whole window and a bit */
		case 1:
			c = top + (x >> 8) % span;
			break;
		case 2: /* back by up to the whole window and a bit */
		case 3:
			c = top - (x >> 8) % span;
			break;
		case 4: /* exactly at the window's edges */
			c = top - REPLAY_WINDOW_SIZE + (x >> 8) % 3 - 1;
			break;
		case 5: /* a duplicate */
			c = recent[(x >> 8) % 64];
			break;
		case 6: /* around the message limit once the walk is near it; 2^64 */
			c = (x >> 8) % 2 && top + 2 * span >= REJECT_AFTER_MESSAGES
				    ? REJECT_AFTER_MESSAGES - 2 + (x >> 9) % 4
				    : UINT64_MAX - (x >> 9) % 3;
			break;
		default: /* small steps */
			c = top + (x >> 8) % 5;
			break;
		}
		if (c > top && c < REJECT_AFTER_MESSAGES && x % 8 != 6)
			top = c; /* the walk; probes at the limit do not move it */
		recent[i % 64] = c;
		enum replay_verdict want = wide_validate(&m, c);
		enum replay_verdict pre = wg_replay_check(r, c);
		enum replay_verdict got = wg_replay_validate(r, c);

		if (got != want || pre != want)
			mismatches++;
		accepted += got == REPLAY_OK;
		exhausted += got == REPLAY_EXHAUSTED;
		too_old += got == REPLAY_TOO_OLD;
	}
	printf("\n    accepted %llu, too old %llu, exhausted %llu, top reached limit: %s\n",
	       (unsigned long long)accepted, (unsigned long long)too_old,
	       (unsigned long long)exhausted,
	       m.max_plus_one == REJECT_AFTER_MESSAGES ? "yes" : "no");
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(accepted > WIDE_OPS / 10 && too_old > 1000 && exhausted > 1000);
	CU_ASSERT_EQUAL(m.max_plus_one, REJECT_AFTER_MESSAGES); /* walked to the very end */
	free(m.slot);
	free(r);
}

static void test_edges(void)
{
	struct replay r;

	wg_replay_init(&r);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 0), REPLAY_OK);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 0), REPLAY_SEEN);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, REPLAY_WINDOW_SIZE), REPLAY_OK);
	/* 0 is exactly at the edge of the window: still tracked, still seen */
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 0), REPLAY_SEEN);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 1), REPLAY_OK);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, REPLAY_WINDOW_SIZE + 2), REPLAY_OK);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 1), REPLAY_TOO_OLD);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 100000), REPLAY_OK);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 100000 - REPLAY_WINDOW_SIZE), REPLAY_OK);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 100000 - REPLAY_WINDOW_SIZE - 1), REPLAY_TOO_OLD);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, REJECT_AFTER_MESSAGES), REPLAY_EXHAUSTED);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, REJECT_AFTER_MESSAGES - 1), REPLAY_OK);
	CU_ASSERT_EQUAL(wg_replay_validate(&r, 5), REPLAY_TOO_OLD);
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"edges", test_edges},
		{"against naive model, 1.2M random ops", test_against_model},
		{"against naive model near 2^64, window-sized jumps",
		 test_against_model_near_limit},
	};

	return tl_cunit_run("replay", tests, TL_N_TESTS(tests));
}
