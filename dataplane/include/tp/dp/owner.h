/* SPDX-License-Identifier: MIT */
/*
 * Which worker owns a packet's flow (several workers per tpd).
 *
 * Every flow's state (flow-table entry, TCP tracking, Modbus stream state)
 * lives in exactly one worker's flow table, whichever queue its packets
 * arrive on and in both directions. The owner is a keyed hash of the flow
 * the flow table would look up for the packet (tp_pkt_flow()), symmetric
 * in its two ends:
 *  - TCP, UDP, SCTP, UDP-Lite: addresses, protocol and ports;
 *  - ICMP echo: addresses, protocol and the echo id (as both ports);
 *  - an ICMP error that quotes a flow (TP_PKT_F_QUOTE): the quoted
 *    flow's, so the error is judged by the worker that holds that flow;
 *  - anything else the flow table keys: addresses and protocol.
 * A packet the flow table cannot key (TP_PKT_F_NO_FLOW) has no owner: it
 * carries no flow state, and stays on the worker that received it.
 *
 * The key is random per tpd, so that a host cannot choose ports that all
 * land on one worker.
 *
 * Plain C, no DPDK.
 */
#ifndef TP_DP_OWNER_H
#define TP_DP_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "tp/dp/pkt.h"

/* The flow's hash, the same for both directions and for the ICMP errors
 * that quote it; false when the packet has no owner (see above). */
bool tp_pkt_owner_hash(const struct tp_pkt_info *pi, uint64_t key, uint32_t *hash);

/* The worker of n that owns hash (multiply-shift: no division). */
static inline unsigned tp_owner_of(uint32_t hash, unsigned n)
{
	return (unsigned)(((uint64_t)hash * n) >> 32);
}

#endif /* TP_DP_OWNER_H */
