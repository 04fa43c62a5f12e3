/* SPDX-License-Identifier: MIT */
/* The control-thread half of the engine: sending and receiving message types
 * 1-3. Implements tp_tunnel_handshake_receive() and tp_tunnel_connect(). */
#ifndef TP_TUNNEL_HANDSHAKE_H
#define TP_TUNNEL_HANDSHAKE_H

#include "device.h"

/* Send an initiation unless one went out less than REKEY_TIMEOUT ago. A
 * retry keeps the attempt count; a fresh request resets it. 0 when sent,
 * -EAGAIN when rate limited, -EDESTADDRREQ without endpoint, -ENOSPC. */
int wg_handshake_send_initiation(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, bool is_retry);

/* Promote a confirmed responder keypair to current and complete the
 * handshake for it: retransmit timer off, attempts reset, last handshake
 * time set, TP_TUNNEL_EV_SESSION_READY. Nothing if none is confirmed. */
void wg_handshake_rotate_confirmed(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				   uint64_t now_ns);

#endif /* TP_TUNNEL_HANDSHAKE_H */
