/* SPDX-License-Identifier: MIT */
/* Transport data (type 4): the worker half of the engine. Implements the
 * tp_tunnel_encrypt*() and tp_tunnel_decrypt*() functions. */
#ifndef TP_TUNNEL_TRANSPORT_H
#define TP_TUNNEL_TRANSPORT_H

#include "device.h"

/* [control] Encrypt an empty packet and send it to the peer's endpoint. */
void wg_transport_send_keepalive(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);

#endif /* TP_TUNNEL_TRANSPORT_H */
