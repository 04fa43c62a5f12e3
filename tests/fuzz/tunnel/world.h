/* SPDX-License-Identifier: MIT */
/*
 * A deterministic little world for fuzzing the receive side: engine R (under
 * test) and its peer I, fixed keys, a fixed clock and a seeded random stream,
 * so the same script always yields the same indices and keys. After
 * world_new(): R and I share a session (I initiated), and R has an initiation
 * of its own in flight to I. Messages that I would send next are therefore
 * valid input for R, which is how the seed corpus is made (gen_corpus.c).
 */
#ifndef FUZZ_TUNNEL_WORLD_H
#define FUZZ_TUNNEL_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/dp/tunnel.h"

enum { WORLD_ACCEPTED_MAX = 4096 };

struct world {
	struct tp_tunnel *r, *i;
	struct tp_tunnel_peer *r_peer, *i_peer;
	struct tp_tunnel_endpoint r_ep, i_ep;
	/* last message each side emitted through ops->send */
	uint8_t r_out[256], i_out[256];
	size_t r_out_len, i_out_len;
	/* (receiver index, counter) of every data message R accepted; last,
	 * so that world_new() clears all else and leaves it */
	size_t n_accepted;
	uint64_t accepted[WORLD_ACCEPTED_MAX][2];
};

extern uint64_t world_now_ns;

struct world *world_new(void);
void world_free(struct world *w);
/* Feed one received datagram to R as the dataplane would, 100 ms after the
 * previous one. flags: 1 = from a new source port, 2 = force the handshake
 * path, 4 = handshake queue congested. A data message goes in twice in one
 * burst; abort()s if a replay is ever accepted or a refused message moves
 * the endpoint. */
enum tp_tunnel_res world_feed_r(struct world *w, const uint8_t *msg, size_t len, uint8_t flags);
/* Same for I (used to make seeds). */
void world_deliver_i(struct world *w, const uint8_t *msg, size_t len, bool congested);

#endif
