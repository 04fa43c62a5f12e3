/* SPDX-License-Identifier: MIT */
/*
 * Layer-2 output: Ethernet addresses from the kernel, and the first packet
 * to an unresolved next hop kept rather than lost (issue 5, item 3).
 *
 *   worker, tp_stage_l2 (last stage of a port's list): the packet's next
 *   hop (tp_pkt_meta: nh_family, nh, set by whoever routed it) is looked up
 *   in the RCU-published next-hop table (tp/nexthop.h). Hit: destination
 *   MAC = the neighbour's, source MAC = the output port's; the packet goes
 *   on. Miss: it goes up to the control thread (TP_UP_NEIGH).
 *
 *   control thread, tp_l2_take: the packet waits in the neighbour's bounded
 *   hold queue while the kernel resolves (tp/neigh.h). When the kernel
 *   reports the MAC, held packets get their Ethernet addresses and leave
 *   through a worker (tp_runtime_send); on failure or timeout they are
 *   dropped as neigh_failed. Every neighbour change republishes the table,
 *   so the next packet takes the worker's fast path.
 *
 * State: the kernel mirror, the published table (workers read it under the
 * runtime's RCU; only the control thread replaces it), the ports' MACs.
 * Owned by the control thread, except the table pointer and port MACs,
 * which workers read.
 */
#ifndef TP_L2_H
#define TP_L2_H

#include <stdint.h>

#include "tp/clock.h"
#include "tp/counters.h"
#include "tp/pipeline.h"

struct tp_runtime;
struct tp_neigh;
struct tp_l2;

struct tp_l2_params {
	struct tp_runtime *rt; /* ports, RCU, tp_runtime_send */
	int ifindex[2];	       /* kernel interface of each port role */
	unsigned queue_len;    /* packets held per unresolved neighbour */
	uint64_t hold_ns;      /* give up on a held packet after this long */
	struct tp_clock clock;
	struct tp_counters_slot *cnt; /* the control thread's counters */
};

/* Mirror the kernel's neighbours of both interfaces and publish the first
 * table. NULL on failure (errno says why). */
struct tp_l2 *tp_l2_create(const struct tp_l2_params *p);
/* Unpublish (after an RCU grace period), drop held packets, free. */
void tp_l2_destroy(struct tp_l2 *l2);

/* Control thread: the rtnetlink fd to poll, and what to do when it is
 * readable (apply events, release resolved packets, republish). */
int tp_l2_fd(const struct tp_l2 *l2);
void tp_l2_process(struct tp_l2 *l2);

/* Control thread: a packet a worker sent up with TP_UP_NEIGH. Always
 * consumed: held, sent, or dropped with a counted reason. */
void tp_l2_take(struct tp_l2 *l2, struct rte_mbuf *m);

/* Control thread, housekeeping: drop held packets older than hold_ns. */
void tp_l2_expire(struct tp_l2 *l2);

/* The kernel mirror, for status output. */
struct tp_neigh *tp_l2_neigh(struct tp_l2 *l2);

/* Worker stage; ctx->arg is the struct tp_l2. */
uint16_t tp_stage_l2(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		     struct tp_drop_vec *dv);

#endif /* TP_L2_H */
