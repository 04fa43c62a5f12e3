/* SPDX-License-Identifier: MIT */
/*
 * Keypair lifecycle: created from a finished handshake, installed in a peer's
 * previous/current/next slots, rotated on confirmation, retired through
 * ops->retire. Everything here runs on the control thread except
 * wg_keypair_for_sending(), which any thread may call.
 */
#ifndef TP_TUNNEL_KEYPAIR_H
#define TP_TUNNEL_KEYPAIR_H

#include "device.h"

/* Derive a keypair from hs (CREATED_RESPONSE or CONSUMED_RESPONSE), let it
 * take over the handshake's index and install it. 0 or -errno. */
int wg_keypair_begin_session(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, uint64_t now_ns);
/* Responder: promote a confirmed next keypair to current; true if it did. */
bool wg_keypairs_rotate_confirmed(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);
/* Retire every keypair and the handshake in flight. */
void wg_keypairs_zero(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);
/* Age of kp at now_ns. A keypair installed after the caller read its clock
 * has a birth later than now_ns: it is brand new, not 2^64 ns old. */
static inline uint64_t wg_keypair_age(const struct keypair *kp, uint64_t now_ns)
{
	return now_ns > kp->birth_ns ? now_ns - kp->birth_ns : 0;
}

/* The keypair to encrypt with (confirmed next, else current), or NULL. */
struct keypair *wg_keypair_for_sending(struct tp_tunnel_peer *peer);

#endif /* TP_TUNNEL_KEYPAIR_H */
