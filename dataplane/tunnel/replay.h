/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window (RFC 6479): a ring of 128 64-bit words; counter is one
 * more than the highest message counter accepted.
 *
 * Any number of receive paths may share one window (the kernel's
 * per-keypair counter lock): wg_replay_validate() checks and records under
 * the window's lock, so of several threads fed the same message exactly one
 * is told REPLAY_OK. wg_replay_check() is a lock-free pre-check that lets a
 * replayed flood be refused before the AEAD; it reads the words with
 * relaxed atomic loads and may be stale, which only ever costs an AEAD,
 * never a wrong acceptance.
 */
#ifndef TP_TUNNEL_REPLAY_H
#define TP_TUNNEL_REPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

struct replay {
	atomic_flag lock;			  /* protects every write below */
	_Atomic uint64_t counter;		  /* [lock] for writers */
	_Atomic uint64_t backtrack[REPLAY_WORDS]; /* [lock] for writers */
};

enum replay_verdict {
	REPLAY_OK,
	REPLAY_SEEN,	  /* already accepted once */
	REPLAY_TOO_OLD,	  /* behind the window */
	REPLAY_EXHAUSTED, /* at or past REJECT_AFTER_MESSAGES */
};

void wg_replay_init(struct replay *r);
/* Lock-free read-only pre-check: can this counter possibly be accepted? */
enum replay_verdict wg_replay_check(const struct replay *r, uint64_t their);
/* Accept-and-record under the window's lock; call only after the AEAD tag
 * verified. REPLAY_OK for exactly one caller per counter. */
enum replay_verdict wg_replay_validate(struct replay *r, uint64_t their);

#endif /* TP_TUNNEL_REPLAY_H */
