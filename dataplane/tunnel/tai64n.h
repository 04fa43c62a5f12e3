/* SPDX-License-Identifier: MIT */
/* TAI64N timestamps for handshake initiations (replay protection). */
#ifndef TP_TUNNEL_TAI64N_H
#define TP_TUNNEL_TAI64N_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

/*
 * 12 bytes big-endian: 2^62 + 10 + Unix seconds, then nanoseconds rounded
 * down to a 2^24 ns grain so the stamp does not reveal a fine clock.
 */
void wg_tai64n_now(uint8_t out[NOISE_TIMESTAMP_LEN], uint64_t wall_ns);
/* Big-endian so byte order is time order. */
bool wg_tai64n_after(const uint8_t a[NOISE_TIMESTAMP_LEN], const uint8_t b[NOISE_TIMESTAMP_LEN]);

#endif /* TP_TUNNEL_TAI64N_H */
