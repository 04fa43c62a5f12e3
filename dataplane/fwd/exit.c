// SPDX-License-Identifier: MIT
/*
 * The exits of a burst (enum fwd_exit) and the one place packets leave:
 * fwd_exit_flush, run once after the last stage of a burst (the runtime's
 * tp_runtime_hooks.flush) and by the worker's poll hook. It transmits (one
 * tx burst per port), enqueues to the control thread's ring, to the
 * peers' staging rings and to the workers that own handed-off flows, and
 * frees consumed packets; what a queue or ring
 * refuses is dropped under its reason into the burst's drop vector, which
 * tp_pipeline_flush counts and frees right after. No stage transmits,
 * enqueues or frees on its own.
 *
 * State: the exits live in the worker's struct fwd_worker (x) and are
 * empty between bursts.
 */
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "fwd_int.h"

/* Send frames out of a port on this worker's queue; the rest dropped. */
static void tx(struct tp_fwd *f, struct tp_stage_ctx *ctx, enum tp_port_role out,
	       struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv)
{
	static const enum tp_stat pk[2] = {TP_STAT_ZONE_TX_PKTS, TP_STAT_TRANSIT_TX_PKTS};
	static const enum tp_stat by[2] = {TP_STAT_ZONE_TX_BYTES, TP_STAT_TRANSIT_TX_BYTES};
	uint8_t port[TP_BURST_MAX];
	uint64_t bytes = 0;
	uint16_t sent;
	bool handed;

	if (!n)
		return;
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	tp_fate_take(pkts, n, port);
	sent = tp_runtime_tx(f->p.rt, out, ctx->queue, pkts, n, &handed);
	tp_fate_settle(ctx->cnt, pkts, n, sent, port, TP_FATE_FORWARDED);
	for (uint16_t i = sent; i < n; i++) {
		bytes -= rte_pktmbuf_pkt_len(pkts[i]);
		tp_drop_vec_push(dv, pkts[i], TP_DROP_TX_FULL);
	}
	if (handed) /* counted by the worker of the queue, when they leave */
		return;
	tp_counters_add(ctx->cnt, pk[out], sent);
	tp_counters_add(ctx->cnt, by[out], bytes);
}

static void wake_control(struct tp_fwd *f)
{
	static const uint64_t one = 1;

	if (write(f->ctl_fd, &one, sizeof(one)) < 0)
		return; /* the counter is already non-zero: it is awake anyway */
}

/* Hand frames to the control thread: handshake messages (X25519 never runs
 * on a worker) and frames waiting for their next hop. */
static void to_control(struct tp_fwd *f, struct tp_counters_slot *cnt, struct rte_mbuf **pkts,
		       uint16_t n, struct tp_drop_vec *dv)
{
	uint8_t port[TP_BURST_MAX];
	unsigned k;

	if (!n)
		return;
	tp_fate_take(pkts, n, port);
	k = rte_ring_enqueue_burst(f->to_ctl, (void **)pkts, n, NULL);
	tp_fate_settle(cnt, pkts, n, (uint16_t)k, port, TP_FATE_TO_CONTROL);
	if (k)
		wake_control(f);
	for (uint16_t i = (uint16_t)k; i < n; i++)
		tp_drop_vec_push(dv, pkts[i],
				 tp_pkt_meta(pkts[i])->ctl_kind == CTL_HANDSHAKE
					 ? TP_DROP_HS_RING
					 : TP_DROP_CTL_RING);
}

/* Stage inner packets in their peers' rings until a session is up. */
static void to_staged(struct tp_fwd *f, struct tp_counters_slot *cnt, struct rte_mbuf **pkts,
		      uint16_t n, struct tp_drop_vec *dv)
{
	for (uint16_t i = 0; i < n; i++) {
		struct fwd_peer *peer = &f->pub.peers[tp_pkt_meta(pkts[i])->peer];
		uint8_t port;
		int rc;

		tp_fate_take(&pkts[i], 1, &port);
		rc = rte_ring_enqueue(peer->staged, pkts[i]);
		tp_fate_settle(cnt, &pkts[i], 1, rc == 0, &port, TP_FATE_STAGED);
		if (rc != 0) {
			tp_drop_vec_push(dv, pkts[i], TP_DROP_PEER_QUEUE);
			continue;
		}
		atomic_fetch_add_explicit(&peer->staged_total, 1, memory_order_relaxed);
	}
}

/* Hand packets to the workers that own their flows (stage_handoff.c). */
static void to_owners(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct rte_mbuf **pkts,
		      uint16_t n, struct tp_drop_vec *dv)
{
	struct rte_mbuf *batch[TP_BURST_MAX];
	uint8_t port[TP_BURST_MAX];

	for (unsigned o = 0; o < f->n_workers && n; o++) {
		uint16_t m = 0, rest = 0;
		unsigned k;

		/* this owner's packets, in order; the others stay for later owners */
		for (uint16_t i = 0; i < n; i++) {
			if (tp_pkt_meta(pkts[i])->to_worker == o)
				batch[m++] = pkts[i];
			else
				pkts[rest++] = pkts[i];
		}
		n = rest;
		if (!m)
			continue;
		tp_fate_take(batch, m, port);
		k = rte_ring_sp_enqueue_burst(f->w[o].ho[ctx->worker], (void **)batch, m, NULL);
		tp_fate_settle(ctx->cnt, batch, m, (uint16_t)k, port, TP_FATE_HANDED_OFF);
		tp_counters_add(ctx->cnt, TP_STAT_HANDOFF_OUT, k);
		for (uint16_t i = (uint16_t)k; i < m; i++)
			tp_drop_vec_push(dv, batch[i], TP_DROP_HANDOFF);
		if (k)
			tp_runtime_wake(f->p.rt, o);
	}
}

void fwd_exit_flush(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		    struct tp_drop_vec *dv)
{
	struct fwd_exits *x = &f->w[ctx->worker].x;
	enum tp_port_role other = ctx->in_role == TP_PORT_ZONE ? TP_PORT_TRANSIT : TP_PORT_ZONE;

	/* survivors and the exit of their port in one tx burst when they fit */
	if (n && x->n[other] && n + x->n[other] <= TP_BURST_MAX) {
		memmove(x->pkts[other] + n, x->pkts[other], x->n[other] * sizeof(*pkts));
		memcpy(x->pkts[other], pkts, n * sizeof(*pkts));
		x->n[other] = (uint16_t)(x->n[other] + n);
		n = 0;
	}
	tx(f, ctx, other, pkts, n, dv);
	tx(f, ctx, TP_PORT_ZONE, x->pkts[FWD_EXIT_TX_ZONE], x->n[FWD_EXIT_TX_ZONE], dv);
	tx(f, ctx, TP_PORT_TRANSIT, x->pkts[FWD_EXIT_TX_TRANSIT], x->n[FWD_EXIT_TX_TRANSIT], dv);
	to_control(f, ctx->cnt, x->pkts[FWD_EXIT_CONTROL], x->n[FWD_EXIT_CONTROL], dv);
	to_staged(f, ctx->cnt, x->pkts[FWD_EXIT_STAGED], x->n[FWD_EXIT_STAGED], dv);
	to_owners(f, ctx, x->pkts[FWD_EXIT_HANDOFF], x->n[FWD_EXIT_HANDOFF], dv);
	for (uint16_t i = 0; i < x->n[FWD_EXIT_CONSUMED]; i++)
		tp_fate(ctx->cnt, x->pkts[FWD_EXIT_CONSUMED][i], TP_FATE_CONSUMED);
	if (x->n[FWD_EXIT_CONSUMED])
		rte_pktmbuf_free_bulk(x->pkts[FWD_EXIT_CONSUMED], x->n[FWD_EXIT_CONSUMED]);
	memset(x->n, 0, sizeof(x->n));
}
