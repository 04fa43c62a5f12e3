/* SPDX-License-Identifier: MIT */
/*
 * The workers' view of next hops: an immutable snapshot of the usable
 * neighbours of tpd's two links, built by the control thread from the
 * kernel mirror (tp/neigh.h) whenever tp_neigh_generation() moves, and
 * published to workers with one pointer swap under the runtime's RCU
 * (tp_runtime_synchronize before the old table is freed).
 *
 * A TP has a handful of next hops per link (a gateway, the peers on a
 * transit segment, hosts on the zone subnet), so the table is a sorted
 * array searched by bisection: no hashing, no locks, one cache line or a
 * few per lookup.
 *
 * Plain C, no DPDK.
 */
#ifndef TP_NEXTHOP_H
#define TP_NEXTHOP_H

#include <stdbool.h>
#include <stdint.h>

#include "tp/neigh.h"

struct tp_nexthop_entry {
	uint8_t role;	/* port role the neighbour is on (0 zone, 1 transit) */
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint8_t mac[TP_NEIGH_MAC_LEN];
};

struct tp_nexthop_table {
	unsigned n;
	struct tp_nexthop_entry e[]; /* sorted by (role, family, addr) */
};

/* Snapshot the usable neighbours; ifindex_of_role[r] is the interface of
 * port role r. NULL when out of memory. Free with free(). */
struct tp_nexthop_table *tp_nexthop_build(const struct tp_neigh *n, const int ifindex_of_role[2]);

/* MAC of (role, family, addr): true and mac filled, or false. NULL table:
 * false. */
bool tp_nexthop_lookup(const struct tp_nexthop_table *t, uint8_t role, uint8_t family,
		       const uint8_t *addr, uint8_t mac[TP_NEIGH_MAC_LEN]);

#endif /* TP_NEXTHOP_H */
