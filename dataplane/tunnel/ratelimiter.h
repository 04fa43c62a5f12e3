/* SPDX-License-Identifier: MIT */
/*
 * Per-source token bucket for handshake messages under load: 20 per second,
 * bursts of 5, keyed by IPv4 address or IPv6 /64. [control thread only]
 */
#ifndef TP_TUNNEL_RATELIMITER_H
#define TP_TUNNEL_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "tp/dp/tunnel.h"

struct ratelimiter;

struct ratelimiter *wg_ratelimiter_new(unsigned entries, const uint8_t hash_key[16]);
void wg_ratelimiter_free(struct ratelimiter *rl);
bool wg_ratelimiter_allow(struct ratelimiter *rl, const struct tp_tunnel_endpoint *src,
			  uint64_t now_ns);

#endif /* TP_TUNNEL_RATELIMITER_H */
