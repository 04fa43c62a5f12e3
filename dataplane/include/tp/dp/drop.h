/* SPDX-License-Identifier: MIT */
/*
 * Every reason tpd drops a packet, as one X-macro: X(NAME, "counter_name",
 * "what it means"). It yields enum tp_drop (TP_DROP_<NAME>) and the counter
 * names tpctl, the admin socket and DPDK telemetry show. A module that adds
 * drops adds its own list here (as the parser does with TP_PKT_DROPS), so
 * the names stay stable and documented in one place.
 *
 * Plain C, no DPDK.
 */
#ifndef TP_DP_DROP_H
#define TP_DP_DROP_H

#include "tp/dp/pkt.h"

/* Runtime and pipeline reasons that are not the parser's. */
#define TP_RUNTIME_DROPS(X)                                                           \
	X(NO_POLICY, "no_policy",                                                     \
	  "no valid policy loaded: inter-zone traffic dropped (fail closed)")         \
	X(MULTI_SEG, "multi_segment", "chained mbuf (frames larger than one buffer)") \
	X(TX_FULL, "tx_full", "transmit queue full")                                  \
	X(SHUTDOWN, "shutdown", "in flight while the worker stopped")

/* Forwarding: zones, policy, tunnel, next hops (dataplane/fwd). */
#define TP_FWD_DROPS(X)                                                                       \
	X(SPOOF, "spoof", "zone port: source is not in a zone hosted by this TP")             \
	X(NO_ZONE, "no_zone", "destination address is in no zone")                            \
	X(POLICY, "policy_deny", "denied by the policy (a deny rule or default deny)")        \
	X(RATE_LIMITED, "rate_limited", "over the deciding rule's rate_limit (pps, burst)")   \
	X(NOT_LOCAL, "not_local", "transit: destination zone is not hosted by this TP")       \
	X(NO_PEER, "no_peer", "no tunnel peer for the TP hosting the destination zone")       \
	X(PEER_QUEUE, "peer_queue_full", "queue of a peer waiting for its handshake is full") \
	X(HS_GAVE_UP, "handshake_gave_up", "staged for a peer whose handshake gave up")       \
	X(MTU, "mtu_exceeded",                                                                \
	  "inner packet above the tunnel MTU (ICMP too-big sent back, rate-limited)")         \
	X(TTL, "ttl_exceeded", "TTL / hop limit would reach zero")                            \
	X(NOT_TUNNEL, "not_tunnel", "transit: not UDP to the tunnel port")                    \
	X(TUN_MSG, "tunnel_bad_message", "transit: not a WireGuard message")                  \
	X(TUN_DECRYPT, "tunnel_decrypt", "type 4: unknown index, bad tag or expired key")     \
	X(TUN_REPLAY, "tunnel_replay", "type 4: counter replayed or behind the window")       \
	X(TUN_ENCRYPT, "tunnel_encrypt", "encryption failed (key exhausted, no room)")        \
	X(TUN_SPOOF, "tunnel_spoof",                                                          \
	  "decrypted source is not in a zone hosted by the peer that sent it")                \
	X(TUN_INNER, "tunnel_bad_inner", "decrypted packet is not a sane IP packet")          \
	X(HS_RING, "handshake_ring_full", "handshake messages queued faster than handled")    \
	X(CTL_RING, "control_ring_full", "packet for the control thread: its ring is full")   \
	X(NEIGH, "neighbour_unresolved", "next hop did not resolve, or its queue was full")   \
	X(NO_MBUF, "no_mbuf", "no buffer for a generated packet (ICMP, handshake)")           \
	X(FLOW_PARSE, "flow_parse",                                                           \
	  "parsed, but no flow key for the policy (e.g. ICMPv6 in IPv4, SCTP cut short)")     \
	X(NO_ROOM, "no_room", "no head- or tailroom in the buffer for the headers to add")    \
	X(NO_SRC_ADDR, "no_transit_address",                                                  \
	  "no transit address of the family of the peer's endpoint")                          \
	X(FLOW_QUOTA_HOST, "flow_quota_host",                                                 \
	  "new flow refused: its host already holds flow_quota_host flows")                   \
	X(FLOW_QUOTA_PAIR, "flow_quota_zone_pair",                                            \
	  "new flow refused: its zone pair already holds flow_quota_zone_pair flows")         \
	X(MTU_NO_DF, "mtu_exceeded_no_df",                                                    \
	  "IPv4 inner packet above the tunnel MTU without DF: not fragmented, no ICMP")       \
	X(HANDOFF, "handoff_full",                                                            \
	  "another worker owns the packet's flow and its handoff ring is full")               \
	X(CRYPT_FULL, "crypt_queue_full",                                                     \
	  "the worker's queue of crypto jobs in flight is full (its helpers are stalled)")

/* Application profiles (Modbus/TCP, tp/policy/modbus.h), checked by the flow
 * table after the policy admitted a packet: the whole segment is dropped.
 * In the order of enum tp_modbus_result (tp_drop_from_modbus()). */
#define TP_APP_DROPS(X)                                                                     \
	X(MODBUS_BAD_HEADER, "modbus_bad_header",                                           \
	  "Modbus: MBAP protocol id or length, or a request's fixed fields, malformed")     \
	X(MODBUS_UNIT, "modbus_unit", "Modbus: unit id not allowed by the rule's profile")  \
	X(MODBUS_FUNCTION, "modbus_function",                                               \
	  "Modbus: function code not allowed by the rule's profile")                        \
	X(MODBUS_REGISTER, "modbus_register",                                               \
	  "Modbus: addressed registers/coils outside the profile's ranges")                 \
	X(MODBUS_OUT_OF_ORDER, "modbus_out_of_order",                                       \
	  "Modbus: client segment after a gap, or a retransmission cut where it cannot be " \
	  "compared")                                                                       \
	X(MODBUS_NO_STREAM, "modbus_no_stream",                                             \
	  "Modbus: payload on a connection whose start the TP did not see (fail closed)")   \
	X(MODBUS_RETRANSMIT_DIFFERS, "modbus_retransmit_differs",                           \
	  "Modbus: a retransmission whose already-checked bytes differ from those checked")

#define TP_DROP_REASONS(X)  \
	TP_PKT_DROPS(X)     \
	TP_RUNTIME_DROPS(X) \
	TP_FWD_DROPS(X)     \
	TP_APP_DROPS(X)

enum tp_drop {
	TP_DROP_NONE = 0, /* not a drop; keeps parser results and drops aligned */
#define X(name, str, help) TP_DROP_##name,
	TP_DROP_REASONS(X)
#undef X
		TP_DROP__COUNT
};

/* Parser results map one to one onto the first drop reasons. */
_Static_assert((int)TP_DROP_PORT_ZERO == (int)TP_PKT_PORT_ZERO, "parser drops first");

static inline enum tp_drop tp_drop_from_pkt(enum tp_pkt_result r)
{
	return (enum tp_drop)r;
}

/* A checker result (enum tp_modbus_result, 1 = bad header ... 7 =
 * retransmit differs; 0 = ok) as a drop reason; TP_DROP_NONE for ok. */
static inline enum tp_drop tp_drop_from_modbus(int r)
{
	return r == 0 ? TP_DROP_NONE : (enum tp_drop)(TP_DROP_MODBUS_BAD_HEADER + r - 1);
}

#endif /* TP_DP_DROP_H */
