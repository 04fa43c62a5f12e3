/* SPDX-License-Identifier: MIT */
/* Timer event hooks; only timers.c implements them. See timers.c. */
#ifndef TP_TUNNEL_TIMERS_H
#define TP_TUNNEL_TIMERS_H

#include "device.h"

/* [any thread] */
void wg_timers_data_sent(struct tp_tunnel_peer *peer, uint64_t now_ns);
void wg_timers_data_received(struct tp_tunnel_peer *peer, uint64_t now_ns);
void wg_timers_any_authenticated_packet_sent(struct tp_tunnel_peer *peer, uint64_t now_ns);
void wg_timers_any_authenticated_packet_received(struct tp_tunnel_peer *peer, uint64_t now_ns);
void wg_timers_want_handshake(struct tp_tunnel_peer *peer);

/* [control] */
void wg_timers_init(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);
void wg_timers_handshake_initiated(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				   uint64_t now_ns);
void wg_timers_handshake_complete(struct tp_tunnel_peer *peer, uint64_t now_ns);
void wg_timers_session_derived(struct tp_tunnel_peer *peer, uint64_t now_ns);

#endif /* TP_TUNNEL_TIMERS_H */
