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
#ifndef TP_DROP_H
#define TP_DROP_H

#include "tp/pkt.h"

/* Runtime and pipeline reasons that are not the parser's. */
#define TP_RUNTIME_DROPS(X)                                                                        \
	X(NO_POLICY, "no_policy",                                                                  \
	  "no valid policy loaded: inter-zone traffic dropped (fail closed)")                      \
	X(MULTI_SEG, "multi_segment", "chained mbuf (frames larger than one buffer)")              \
	X(TX_FULL, "tx_full", "transmit queue full")                                               \
	X(CONTROL_FULL, "control_ring_full", "ring to the control thread full (handshake flood?)") \
	X(NO_NEXTHOP, "no_nexthop", "no next hop chosen for the packet")                           \
	X(NEIGH_QUEUE_FULL, "neigh_queue_full", "next hop unresolved and its hold queue full")     \
	X(NEIGH_FAILED, "neigh_failed", "next hop did not resolve (ARP/ND failed or timed out)")   \
	X(CONTROL_UNHANDLED, "control_unhandled",                                                  \
	  "reached the control thread, nothing handles it yet")                                    \
	X(SHUTDOWN, "shutdown", "in flight while the worker stopped")

#define TP_DROP_REASONS(X) \
	TP_PKT_DROPS(X)    \
	TP_RUNTIME_DROPS(X)

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

#endif /* TP_DROP_H */
