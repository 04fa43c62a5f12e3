/* SPDX-License-Identifier: MIT */
/*
 * Reconnect delays: capped exponential backoff with "equal jitter". The
 * n-th consecutive failure waits d/2 + U[0, d/2] with d = min(cap,
 * base * 2^n), so retries of many TPs after a controller restart spread out
 * and never fall to zero. A success resets n. The random source is injected
 * so tests check the schedule exactly.
 */
#ifndef TP_CTRL_BACKOFF_H
#define TP_CTRL_BACKOFF_H

#include <stdint.h>

struct tp_ctrl_backoff {
	uint64_t base_ns, cap_ns;
	unsigned attempt;	       /* consecutive failures so far */
	uint32_t (*random)(void *arg); /* uniform 32-bit; NULL: libsodium */
	void *random_arg;
};

void tp_ctrl_backoff_init(struct tp_ctrl_backoff *b, uint64_t base_ns, uint64_t cap_ns,
			  uint32_t (*random)(void *arg), void *random_arg);

/* Delay before the next attempt; counts one more failure. */
uint64_t tp_ctrl_backoff_next(struct tp_ctrl_backoff *b);

void tp_ctrl_backoff_reset(struct tp_ctrl_backoff *b);

#endif /* TP_CTRL_BACKOFF_H */
