/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window (RFC 6479): a ring of 128 64-bit words; counter is one
 * more than the highest message counter accepted. Owned by the receive path of
 * one keypair: never used by two threads at once (see tp/tunnel.h).
 */
#ifndef TP_TUNNEL_REPLAY_H
#define TP_TUNNEL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

struct replay {
	uint64_t counter;
	uint64_t backtrack[REPLAY_WORDS];
};

enum replay_verdict {
	REPLAY_OK,
	REPLAY_SEEN,	  /* already accepted once */
	REPLAY_TOO_OLD,	  /* behind the window */
	REPLAY_EXHAUSTED, /* at or past REJECT_AFTER_MESSAGES */
};

void wg_replay_init(struct replay *r);
/* Read-only pre-check: can this counter possibly be accepted? */
enum replay_verdict wg_replay_check(const struct replay *r, uint64_t their);
/* Accept-and-record; call only after the AEAD tag verified. */
enum replay_verdict wg_replay_validate(struct replay *r, uint64_t their);

#endif /* TP_TUNNEL_REPLAY_H */
