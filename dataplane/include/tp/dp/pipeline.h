/* SPDX-License-Identifier: MIT */
/*
 * The seam every dataplane stage plugs into (DESIGN.md §3).
 *
 * A stage takes a burst (ctx, pkts[], n), keeps the packets that go on at
 * the front of pkts[] in their original order, moves the others to the
 * burst's drop vector with a reason, and returns how many go on. A stage
 * never frees, sends or enqueues a packet. After the last stage the
 * burst's flush (tp_runtime_hooks.flush, or the runtime's own send of the
 * survivors out of the other port) is the one place packets leave; a
 * pipeline whose stages hand packets to other named exits (the forwarding
 * stages: the same port, the control thread, a handshake queue; see
 * dataplane/fwd/fwd_int.h) flushes those there too. tp_pipeline_flush()
 * then counts the drops by reason and frees them, once per burst.
 *
 * Per-packet state travels in the mbuf's private area (struct tp_pkt_meta,
 * tp_pkt_meta()); the parse stage fills meta->info, later stages add to it.
 */
#ifndef TP_DP_PIPELINE_H
#define TP_DP_PIPELINE_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "tp/dp/counters.h"
#include "tp/dp/pkt.h"

#define TP_BURST_MAX 256

enum tp_port_role { TP_PORT_ZONE = 0, TP_PORT_TRANSIT = 1, TP_PORT__COUNT };

/* Lives in each mbuf's private area (the pools are created with room). */
struct tp_pkt_meta {
	struct tp_pkt_info info; /* parse stage */
	uint32_t src_zone;	 /* zone stage (TP_ZONE_NONE until then) */
	uint32_t dst_zone;
	uint32_t peer; /* tunnel: peer that sent / will receive it */
	uint32_t flow; /* flow table entry */
	/* forwarding (dataplane/fwd): the port a packet leaves by (route
	 * stage; also for frames the control thread hands a worker), what the
	 * control thread is to do with one handed to it, and the next hop a
	 * frame held for its neighbour waits for. */
	uint8_t out_role; /* enum tp_port_role */
	uint8_t ctl_kind; /* what the control thread is to do with it */
	/* handoff to the worker that owns the packet's flow (several
	 * workers): the port it came in on and the owner */
	uint8_t in_role;
	uint8_t to_worker;
	uint8_t nh_family;
	uint8_t nh_addr[16];
	/* the port + 1 the runtime received it on, until its verdict is
	 * counted (tp_fate); 0 for a packet the TP made, and for one whose
	 * verdict is counted (a handed-off, staged or returned one) */
	uint8_t rx_port;
};

static inline struct tp_pkt_meta *tp_pkt_meta(struct rte_mbuf *m)
{
	return (struct tp_pkt_meta *)rte_mbuf_to_priv(m);
}

/* Count m's verdict (tp/dp/counters.h) if it is a received packet whose
 * verdict is not counted yet: for a packet this worker still owns (one it
 * frees: drops in tp_pipeline_flush, consumed ones). Exits that hand
 * packets to other threads use tp_fate_take/_settle. */
static inline void tp_fate(struct tp_counters_slot *cnt, struct rte_mbuf *m, enum tp_fate v)
{
	struct tp_pkt_meta *meta = tp_pkt_meta(m);

	if (meta->rx_port) {
		tp_counters_add(cnt, tp_fate_stat(meta->rx_port - 1u, v), 1);
		meta->rx_port = 0;
	}
}

/* Handing packets to a queue another thread takes from (a port's transmit
 * queue, a ring): the packets are not ours to touch once accepted, so
 * tp_fate_take first moves their pending verdicts into port[] (n <=
 * TP_BURST_MAX), and tp_fate_settle then counts v for the first k (the
 * accepted ones) and gives the others theirs back (their drop counts it). */
static inline void tp_fate_take(struct rte_mbuf *const *pkts, uint16_t n, uint8_t *port)
{
	for (uint16_t i = 0; i < n; i++) {
		struct tp_pkt_meta *meta = tp_pkt_meta(pkts[i]);

		port[i] = meta->rx_port;
		meta->rx_port = 0;
	}
}

static inline void tp_fate_settle(struct tp_counters_slot *cnt, struct rte_mbuf *const *pkts,
				  uint16_t n, uint16_t k, const uint8_t *port, enum tp_fate v)
{
	for (uint16_t i = 0; i < n; i++) {
		if (!port[i])
			continue;
		if (i < k)
			tp_counters_add(cnt, tp_fate_stat(port[i] - 1u, v), 1);
		else
			tp_pkt_meta(pkts[i])->rx_port = port[i];
	}
}

/* Dropped packets of one burst, with their reasons. Each packet is dropped
 * at most once per burst, so TP_BURST_MAX entries suffice. */
struct tp_drop_vec {
	uint16_t n;
	uint16_t reason[TP_BURST_MAX];
	struct rte_mbuf *pkts[TP_BURST_MAX];
};

/* What a stage may use; owned by the worker that runs the burst. */
struct tp_stage_ctx {
	struct tp_counters_slot *cnt; /* this worker's counters */
	enum tp_port_role in_role;    /* where the burst came from */
	unsigned worker;	      /* worker index, 0-based */
	uint64_t now_ns;	      /* time of the burst (injected clock) */
	void *user;		      /* the stages' own state (tp_runtime_hooks.arg) */
	uint16_t queue;		      /* this worker's tx queue on both ports */
};

typedef uint16_t (*tp_stage_fn)(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
				struct tp_drop_vec *dv);

static inline void tp_drop_vec_push(struct tp_drop_vec *dv, struct rte_mbuf *m, enum tp_drop r)
{
	dv->reason[dv->n] = (uint16_t)r;
	dv->pkts[dv->n++] = m;
}

/* Count every drop of the burst by reason, free them, empty dv. */
void tp_pipeline_flush(struct tp_drop_vec *dv, struct tp_counters_slot *cnt);

/* Run stages in order on a burst; returns the survivors of the last one. */
uint16_t tp_pipeline_run(const tp_stage_fn *stages, unsigned n_stages, struct tp_stage_ctx *ctx,
			 struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv);

/* Parse stage: Ethernet/IP/L4 into tp_pkt_meta(m)->info (tp/dp/pkt.h). */
uint16_t tp_stage_parse(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			struct tp_drop_vec *dv);

/* The stage after parse when no forwarding hooks are set (the runtime's
 * default list, tp/dp/runtime.h): with no forwarding there is no policy, and
 * without a valid policy inter-zone traffic is dropped (fail closed,
 * DESIGN.md §2.6), so every packet goes to no_policy. */
uint16_t tp_stage_no_policy(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			    struct tp_drop_vec *dv);

#endif /* TP_DP_PIPELINE_H */
