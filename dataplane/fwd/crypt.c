// SPDX-License-Identifier: MIT
/*
 * One tunnel across cores: a worker's tunnel crypto spread over the other
 * workers, its packets kept in order (Linux WireGuard's ordered queues).
 *
 * A receive queue carries whole peers (RSS hashes the outer flow) and a
 * heavy flow has one owner (stage_handoff.c): left alone, one core would
 * do all the ChaCha20-Poly1305 of a busy tunnel. Instead the decrypt stage
 * (transit port) and the encrypt stage (zone port) of a worker holding at
 * least CRYPT_SPREAD_BYTES of tunnel messages in a burst cut them into
 * jobs and park the jobs, in arrival order, in the worker's ordered queue
 * (w->cq). A burst of small packets stays on its worker: its crypto is a
 * small part of its cost, and a job's hand-over would cost more than it
 * saves (bench_workers: 2 workers / 1 fell from 1.0 to 0.77 for one
 * peer's 64-byte ingress when every burst of 8 was spread).
 *
 *   worker s, stage:  post job i --w[k].cj[s]--> worker k = (s + i) % n,
 *                     poll: claim, run, DONE
 *                     run its own share (k = s) at once
 *   worker s, poll:   the head of cq, while DONE: finish its packets and
 *                     resume them at the stage after the crypto stage
 *
 * so the packets of a flow leave in the order they arrived, whichever
 * worker did their crypto. While jobs are in flight every later burst of
 * the worker goes through the queue too, so nothing overtakes them.
 *
 * A job's state is one 64-bit word, its sequence number and QUEUED,
 * CLAIMED or DONE. A worker claims a job by compare-and-swap, so of the
 * owner and a helper exactly one runs it. The owner takes a job back when
 * it has found it still QUEUED at the head of its queue in CQ_STEAL_POLLS
 * polls: a helper that sleeps or is descheduled delays the tunnel by two
 * of the owner's loop iterations, no more. A reference in a cj ring is
 * the sequence number, so a stale one (the owner took the job back and
 * may have reused its slot) fails the swap and is skipped.
 *
 * Who touches what: the owner decides what to spread, keeps the mbufs,
 * finishes (drops, keepalives, the inner parse; trailer, staging) and
 * runs everything after. A helper touches a job's tunnel packets and the
 * bytes they point to, between its claim and its DONE, and nothing else;
 * the tunnel engine is safe for any worker (tp/dp/tunnel.h: send counters
 * by atomic add, each keypair's replay window under its lock).
 *
 * Counted: crypt_spread_out (packets posted to a helper), crypt_spread_in
 * (packets a worker ran for another), crypt_taken_back (posted, then run
 * by their owner); out = in + taken back once the rings are drained. A
 * full queue (helpers stalled mid-job for CQ_SLOTS of the owner's bursts)
 * drops the burst's tunnel packets as crypt_queue_full.
 */
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_ring.h>

#include "fwd_int.h"

#define ST(seq, s) ((uint64_t)(seq) << 2 | (s))

_Static_assert(CQ_SLOTS <= 64, "fwd_crypt_post keeps a burst's jobs in a 64-bit mask");

static struct fwd_cjob *slot_of(struct fwd_cq *cq, uint64_t seq)
{
	return &cq->slot[seq & (CQ_SLOTS - 1)];
}

static bool claim(struct fwd_cjob *j, uint64_t seq)
{
	uint64_t want = ST(seq, CJ_QUEUED);

	/* acquire: the owner's job (its release store of QUEUED) is seen */
	return atomic_compare_exchange_strong_explicit(&j->state, &want, ST(seq, CJ_CLAIMED),
						       memory_order_acquire, memory_order_relaxed);
}

/* Run a claimed job and publish its results (release). */
static void run(struct tp_fwd *f, struct fwd_cjob *j, uint64_t seq)
{
	if (j->kind == CJOB_DECRYPT)
		j->ok = (uint16_t)tp_tunnel_decrypt_burst(f->tun, j->tp, j->n);
	else
		j->ok = (uint16_t)tp_tunnel_encrypt_burst(f->tun, f->pub.peers[j->peer].tun, j->tp,
							  j->n);
	atomic_store_explicit(&j->state, ST(seq, CJ_DONE), memory_order_release);
}

bool fwd_crypt_spread(const struct tp_fwd *f, const struct fwd_worker *w,
		      const struct tp_tunnel_pkt *tp, unsigned k)
{
	uint32_t bytes = 0;

	if (f->n_workers < 2)
		return false;
	if (w->cq->head != w->cq->tail)
		return true;
	for (unsigned i = 0; i < k && bytes < CRYPT_SPREAD_BYTES; i++)
		bytes += tp[i].len;
	return bytes >= CRYPT_SPREAD_BYTES;
}

bool fwd_crypt_post(struct tp_fwd *f, struct tp_stage_ctx *ctx, enum fwd_cjob_kind kind,
		    uint32_t peer, const struct tp_tunnel_pkt *tp, struct rte_mbuf **mb, unsigned k)
{
	unsigned self = ctx->worker, nw = f->n_workers;
	struct fwd_cq *cq = f->w[self].cq;
	unsigned per = (k + nw - 1) / nw, jobs;
	uint64_t first = cq->tail, kicked = 0, mine = 0;

	per = RTE_MIN(RTE_MAX(per, 1u), (unsigned)CJOB_MAX);
	jobs = (k + per - 1) / per;
	if (cq->tail - cq->head + jobs > CQ_SLOTS)
		return false;
	for (unsigned i = 0, at = 0; i < jobs; i++, at += per) {
		uint64_t seq = cq->tail++;
		struct fwd_cjob *j = slot_of(cq, seq);
		unsigned to = (self + i) % nw;

		j->kind = (uint8_t)kind;
		j->peer = peer;
		j->n = (uint16_t)RTE_MIN(per, k - at);
		j->ok = 0;
		for (unsigned t = 0; t < j->n; t++) {
			j->tp[t] = tp[at + t];
			j->m[t] = mb[tp[at + t].tag];
			j->tp[t].tag = t;
		}
		atomic_store_explicit(&j->state, ST(seq, CJ_QUEUED), memory_order_release);
		/* job i goes to worker self + i: each worker gets its share */
		if (to == self ||
		    rte_ring_sp_enqueue(f->w[to].cj[self], (void *)(uintptr_t)seq) != 0) {
			mine |= 1ull << i; /* ours, or its ring is full */
			continue;
		}
		tp_counters_add(ctx->cnt, TP_STAT_CRYPT_SPREAD_OUT, j->n);
		if (!(kicked & 1ull << to)) {
			kicked |= 1ull << to;
			tp_runtime_wake(f->p.rt, to);
		}
	}
	/* this worker's share now, once the helpers have theirs; what a helper
	 * has not claimed is taken back at the head (poll) */
	for (unsigned i = 0; i < jobs; i++) {
		struct fwd_cjob *j = slot_of(cq, first + i);

		if ((mine & 1ull << i) && claim(j, first + i))
			run(f, j, first + i);
	}
	return true;
}

/* Run the jobs other workers posted for this one. */
static unsigned help(struct tp_fwd *f, struct tp_stage_ctx *ctx)
{
	struct fwd_worker *w = &f->w[ctx->worker];
	unsigned work = 0;

	for (unsigned s = 0; s < f->n_workers; s++) {
		void *ref[8];
		unsigned n;

		if (s == ctx->worker)
			continue;
		n = rte_ring_sc_dequeue_burst(w->cj[s], ref, RTE_DIM(ref), NULL);
		for (unsigned i = 0; i < n; i++) {
			uint64_t seq = (uintptr_t)ref[i];
			struct fwd_cjob *j = slot_of(f->w[s].cq, seq);
			uint16_t np;

			if (!claim(j, seq))
				continue; /* its owner took it back */
			np = j->n;	  /* read before DONE hands the job back */
			run(f, j, seq);
			tp_counters_add(ctx->cnt, TP_STAT_CRYPT_SPREAD_IN, np);
			work += np;
		}
	}
	return work;
}

/* The packets of a done job, finished and through the rest of their
 * port's stages and exits. */
static void resume(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct fwd_cjob *j,
		   struct tp_drop_vec *dv)
{
	struct tp_stage_ctx rctx = *ctx;
	struct rte_mbuf *out[CJOB_MAX];
	int role = j->kind == CJOB_DECRYPT ? TP_PORT_TRANSIT : TP_PORT_ZONE;
	uint16_t n;

	rctx.in_role = (enum tp_port_role)role;
	/* the job's own burst pinned its policy on the stage that posted it;
	 * this is a new burst */
	fwd_burst_begin(f, &f->w[ctx->worker]);
	if (j->kind == CJOB_DECRYPT)
		n = fwd_decrypt_finish(f, &rctx, j->tp, j->m, j->n, j->ok, out, dv);
	else
		n = fwd_encrypt_finish(f, &rctx, j->peer, j->tp, j->m, j->n, j->ok, out, dv, false);
	n = tp_pipeline_run(f->after_crypt[role], f->n_after_crypt[role], &rctx, out, n, dv);
	fwd_exit_flush(f, &rctx, out, n, dv);
	/* a job's drops at a time: dv holds one burst */
	tp_pipeline_flush(dv, ctx->cnt);
}

unsigned fwd_crypt_poll(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv)
{
	struct fwd_cq *cq = f->w[ctx->worker].cq;
	unsigned work = 0;

	if (f->n_workers < 2)
		return 0;
	work += help(f, ctx);
	if (cq->head == cq->tail)
		return work;
	/* a head job nobody has claimed for CQ_STEAL_POLLS polls: take it,
	 * and what queues behind it, back */
	if (cq->stall_seq == cq->head && ++cq->stall_polls >= CQ_STEAL_POLLS) {
		for (uint64_t seq = cq->head; seq != cq->tail; seq++) {
			struct fwd_cjob *j = slot_of(cq, seq);

			if (!claim(j, seq))
				continue; /* done, or a helper is on it */
			run(f, j, seq);
			tp_counters_add(ctx->cnt, TP_STAT_CRYPT_TAKEN_BACK, j->n);
		}
	} else if (cq->stall_seq != cq->head) {
		cq->stall_seq = cq->head;
		cq->stall_polls = 1;
	}
	while (cq->head != cq->tail) {
		struct fwd_cjob *j = slot_of(cq, cq->head);

		if (atomic_load_explicit(&j->state, memory_order_acquire) != ST(cq->head, CJ_DONE))
			break;
		work += j->n;
		resume(f, ctx, j, dv);
		cq->head++;
	}
	/* jobs in flight: no sleeping until they are back */
	return work + (cq->head != cq->tail);
}

int fwd_crypt_init(struct tp_fwd *f, unsigned worker)
{
	struct fwd_worker *w = &f->w[worker];
	char name[RTE_RING_NAMESIZE];

	if (f->n_workers < 2)
		return 0; /* nothing to spread over */
	w->cq = rte_zmalloc("tp_cq", sizeof(*w->cq), RTE_CACHE_LINE_SIZE);
	if (!w->cq)
		return -ENOMEM;
	/* no slot's word names sequence 0 as queued: a stale reference to
	 * it finds nothing to claim */
	for (unsigned i = 0; i < CQ_SLOTS; i++)
		atomic_init(&w->cq->slot[i].state, ST(i, CJ_DONE));
	for (unsigned s = 0; s < f->n_workers; s++) {
		if (s == worker)
			continue;
		snprintf(name, sizeof(name), "tp_cj_%u_%u", s, worker);
		w->cj[s] = rte_ring_create(name, CJ_RING_SIZE, (int)rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!w->cj[s])
			return -ENOMEM;
	}
	return 0;
}

void fwd_crypt_fini(struct tp_fwd *f, unsigned worker)
{
	struct fwd_worker *w = &f->w[worker];

	for (unsigned s = 0; s < TP_CONFIG_WORKERS_MAX; s++) {
		rte_ring_free(w->cj[s]); /* references only */
		w->cj[s] = NULL;
	}
	if (!w->cq)
		return;
	for (uint64_t seq = w->cq->head; seq != w->cq->tail; seq++) {
		struct fwd_cjob *j = slot_of(w->cq, seq);

		rte_pktmbuf_free_bulk(j->m, j->n);
	}
	rte_free(w->cq);
	w->cq = NULL;
}
