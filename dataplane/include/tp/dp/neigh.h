/* SPDX-License-Identifier: MIT */
/*
 * Next hops from the kernel (DESIGN.md: "no MAC address is ever configured
 * by hand"). In xdp mode the kernel keeps ARP/ND; this module mirrors its
 * neighbour table for the interfaces tpd uses, over rtnetlink (libmnl):
 *
 *  - tp_neigh_dump() reads the current table (RTM_GETNEIGH dump);
 *  - the socket is subscribed to RTNLGRP_NEIGH, so every change the kernel
 *    makes arrives on tp_neigh_fd(); tp_neigh_process() applies it;
 *  - tp_neigh_route() asks the kernel's FIB for the next hop and output
 *    interface of a destination (RTM_GETROUTE);
 *  - for a next hop the kernel has not resolved, tp_neigh_hold() keeps the
 *    packet in a small bounded per-neighbour queue and asks the kernel to
 *    resolve it (RTM_NEWNEIGH with NTF_USE: the kernel sends ARP/NS as if
 *    it had a packet for it). When the kernel reports the neighbour
 *    reachable, the held packets are handed back in order through the
 *    release callback with the MAC; when it reports failure, or the hold
 *    time passes (tp_neigh_expire on the injected clock), they are handed
 *    back with mac == NULL so the caller drops and counts them. So the
 *    first packet to a new neighbour is not lost.
 *
 * State: up to max_entries neighbours (linear table; a TP has a handful
 * of next hops on its two links), each with its address, MAC, NUD state
 * and its hold queue. Packets are opaque pointers: the module never frees
 * one, it only hands it back exactly once. Owned by one thread (tpd's
 * control thread); workers will read a published copy (not built yet).
 *
 * Plain C with libmnl; no DPDK.
 */
#ifndef TP_DP_NEIGH_H
#define TP_DP_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/base/clock.h"

#define TP_NEIGH_MAC_LEN 6

struct tp_neigh;

/* A held packet is handed back: mac is the neighbour's MAC, or NULL when
 * resolution failed or timed out (the caller drops and counts it). */
typedef void (*tp_neigh_release_fn)(void *arg, void *pkt, const uint8_t *mac);

struct tp_neigh_params {
	const int *ifindex; /* interfaces to follow; others are ignored */
	unsigned n_ifindex;
	unsigned max_entries;
	unsigned queue_len; /* packets held per unresolved neighbour */
	uint64_t hold_ns;   /* give up on a held packet after this long */
	struct tp_clock clock;
	tp_neigh_release_fn release;
	void *release_arg;
	bool no_socket; /* tests: no netlink socket, feed tp_neigh_input() */
};

/* A neighbour as the kernel last reported it. */
struct tp_neigh_info {
	int ifindex;
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint8_t mac[TP_NEIGH_MAC_LEN];
	bool has_mac;
	uint16_t state; /* NUD_* */
};

struct tp_neigh *tp_neigh_create(const struct tp_neigh_params *p);
/* Releases every held packet with mac == NULL, then frees. NULL is fine. */
void tp_neigh_destroy(struct tp_neigh *n);

/* The netlink socket to poll for POLLIN; -1 with no_socket. */
int tp_neigh_fd(const struct tp_neigh *n);

/* Read the kernel's neighbour table for the followed interfaces. */
int tp_neigh_dump(struct tp_neigh *n);

/* Apply every pending netlink notification (non-blocking). */
int tp_neigh_process(struct tp_neigh *n);

/* Apply one buffer of netlink messages (what the socket would deliver). */
int tp_neigh_input(struct tp_neigh *n, const void *buf, size_t len);

/* MAC of a neighbour the kernel considers usable (REACHABLE, STALE, DELAY,
 * PROBE, PERMANENT, NOARP): 0; not usable or unknown: -ENOENT. */
int tp_neigh_lookup(const struct tp_neigh *n, int ifindex, uint8_t family, const uint8_t *addr,
		    uint8_t mac[TP_NEIGH_MAC_LEN]);

/*
 * Hold pkt until the neighbour resolves (and ask the kernel to resolve it
 * if no request is outstanding). 0: held, -ENOSPC: queue full or table
 * full (pkt not taken), or -errno from the resolve request (pkt not taken).
 * If the neighbour is already usable, pkt is released at once.
 */
int tp_neigh_hold(struct tp_neigh *n, int ifindex, uint8_t family, const uint8_t *addr, void *pkt);

/* Release (mac == NULL) every held packet older than hold_ns. Returns how many. */
unsigned tp_neigh_expire(struct tp_neigh *n);

/* Ask the kernel to resolve addr on ifindex (RTM_NEWNEIGH, NTF_USE). */
int tp_neigh_resolve(struct tp_neigh *n, int ifindex, uint8_t family, const uint8_t *addr);

/* The kernel's route to dst: output interface and next hop (the gateway,
 * or dst itself on a connected route). */
int tp_neigh_route(struct tp_neigh *n, uint8_t family, const uint8_t *dst, int *oif,
		   uint8_t nexthop[16]);

/* Copy out entry i (0..); -ENOENT past the end. For status output. */
int tp_neigh_get(const struct tp_neigh *n, unsigned i, struct tp_neigh_info *out);

#endif /* TP_DP_NEIGH_H */
