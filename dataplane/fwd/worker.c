// SPDX-License-Identifier: MIT
/*
 * The worker's side outside the stages (tp_runtime_hooks poll, idle,
 * wake_fd): once per loop iteration a worker passes its RCU quiescent
 * state, sends the frames the control thread handed it (handshakes,
 * packets released by a resolved neighbour) and what its peers staged
 * once their sessions are up, runs and finishes crypto jobs (crypt.c),
 * re-checks its flow table against a new
 * policy a slice at a time, expires flows, and answers flow dumps.
 *
 * State: only the worker's own struct fwd_worker (the flow table, the
 * re-check cursor, the dump handshake with the control thread).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <rte_mbuf.h>

#include "fwd_int.h"

static void flow_snapshot(struct fwd_worker *w)
{
	atomic_fetch_add_explicit(&w->fc_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	tp_flow_counters_get(w->flows, &w->fc);
	w->flow_count = tp_flow_count(w->flows);
	atomic_fetch_add_explicit(&w->fc_seq, 1, memory_order_release);
}

struct dump_ctx {
	json_t *list;
	unsigned left;
};

static bool dump_one(const struct tp_flow *init, uint32_t rule_id, uint64_t gen, uint64_t idle_ns,
		     void *arg)
{
	struct dump_ctx *d = arg;
	char s[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
	int af = init->src.family == TP_AF_INET6 ? AF_INET6 : AF_INET;

	if (!d->left)
		return false;
	d->left--;
	inet_ntop(af, init->src.addr, s, sizeof(s));
	inet_ntop(af, init->dst.addr, t, sizeof(t));
	json_array_append_new(
		d->list, json_pack("{s:i, s:s, s:i, s:s, s:i, s:I, s:I, s:I}", "proto", init->proto,
				   "src", s, "sport", init->sport, "dst", t, "dport", init->dport,
				   "rule", (json_int_t)rule_id, "generation", (json_int_t)gen,
				   "idle_ms", (json_int_t)(idle_ns / 1000000u)));
	return true;
}

/* Send what a peer staged once its session is up: encrypt, then L2, then
 * out, a peer at a time (as a zone-port burst whose survivors are the
 * transit frames). */
static unsigned flush_staged(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv)
{
	struct tp_stage_ctx zctx = *ctx;
	struct rte_mbuf *pkts[32];
	unsigned work = 0;

	zctx.in_role = TP_PORT_ZONE;
	for (unsigned p = 0; p < __atomic_load_n(&f->pub.n_peers, __ATOMIC_ACQUIRE); p++) {
		struct fwd_peer *peer = &f->pub.peers[p];
		uint16_t n;

		/* ready stays set when a session expires; the key is checked
		 * before anything is taken out, so what cannot be sent stays
		 * in the ring, in its order */
		if (!atomic_load_explicit(&peer->ready, memory_order_acquire) ||
		    rte_ring_empty(peer->staged) || !tp_tunnel_peer_can_send(f->tun, peer->tun))
			continue;
		n = (uint16_t)rte_ring_dequeue_burst(peer->staged, (void **)pkts, 32, NULL);
		work += n;
		n = fwd_encrypt_peer(f, &zctx, p, pkts, n, dv, true);
		n = fwd_stage_l2(&zctx, pkts, n, dv);
		fwd_exit_flush(f, &zctx, pkts, n, dv);
		/* a peer's drops at a time: dv holds one burst */
		tp_pipeline_flush(dv, ctx->cnt);
	}
	return work;
}

/* worker_priority: SCHED_FIFO for this worker thread, once. */
static void set_priority(struct tp_fwd *f, unsigned worker)
{
	struct sched_param sp = {.sched_priority = (int)f->cfg->worker_priority};
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);

	if (rc)
		fprintf(stderr, "tpd: worker %u: SCHED_FIFO priority %u refused: %s\n", worker,
			f->cfg->worker_priority, strerror(rc));
}

/* Once per loop iteration of a worker (tp_runtime_hooks.poll). */
unsigned fwd_poll(void *arg, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv)
{
	struct tp_fwd *f = arg;
	struct fwd_worker *w = &f->w[ctx->worker];
	struct rte_mbuf *pkts[32];
	const struct tp_engine *e;
	unsigned n, work = 0;

	if (!w->iter && f->cfg->worker_priority)
		set_priority(f, ctx->worker);
	/* no pointer into a policy or keypair is held across iterations */
	tp_policyrcu_quiescent(f->rcu, ctx->worker);
	n = rte_ring_dequeue_burst(w->tx, (void **)pkts, 32, NULL);
	if (n) {
		/* complete frames: out of the port the control thread chose */
		for (unsigned i = 0; i < n; i++)
			fwd_exit(w, pkts[i], (enum fwd_exit)(tp_pkt_meta(pkts[i])->out_role & 1));
		fwd_exit_flush(f, ctx, NULL, 0, dv);
		work += n;
	}
	work += fwd_handoff_take(f, ctx, dv);
	/* crypto jobs: others' to run, this worker's own to finish in order */
	work += fwd_crypt_poll(f, ctx, dv);
	/* one worker drains the staging rings, so a flow's staged packets
	 * leave in the order they were staged */
	if (ctx->worker == 0)
		work += flush_staged(f, ctx, dv);
	e = tp_engine_current(&f->rcu->slot);
	/* a new policy: cut what it no longer allows at once (DESIGN.md §6) */
	if (e && tp_engine_generation(e) != w->seen_gen) {
		/* one pass over the whole table, a slice per iteration */
		if (w->recheck_gen != tp_engine_generation(e)) {
			w->recheck_gen = tp_engine_generation(e);
			w->recheck_left = f->cfg->flow_table_size;
		}
		w->recheck_left -=
			RTE_MIN(w->recheck_left, (uint32_t)tp_flow_recheck(w->flows, e, 4096));
		if (!w->recheck_left)
			w->seen_gen = w->recheck_gen;
		work++;
	}
	if ((++w->iter & 1023) == 0) {
		tp_flow_expire(w->flows, 256);
		flow_snapshot(w);
	}
	if (atomic_load_explicit(&w->dump_req, memory_order_acquire) !=
	    atomic_load_explicit(&w->dump_done, memory_order_relaxed)) {
		struct dump_ctx d = {.list = json_array(), .left = w->dump_max};

		tp_flow_foreach(w->flows, dump_one, &d);
		w->dump = d.list;
		flow_snapshot(w);
		atomic_store_explicit(&w->dump_done, atomic_load(&w->dump_req),
				      memory_order_release);
	}
	return work;
}

void fwd_idle(void *arg, unsigned worker, bool sleeping)
{
	struct tp_fwd *f = arg;
	uint64_t v;

	if (sleeping) {
		tp_policyrcu_offline(f->rcu, worker);
		return;
	}
	tp_policyrcu_online(f->rcu, worker);
	if (f->w[worker].wake_fd >= 0 && read(f->w[worker].wake_fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing was signalled */
}

static bool ring_waiting(const struct rte_ring *r)
{
	return r && !rte_ring_empty(r);
}

bool fwd_pending(void *arg, unsigned worker)
{
	const struct tp_fwd *f = arg;
	const struct fwd_worker *w = &f->w[worker];

	/* handoffs (stage_handoff.c) and crypto jobs (crypt.c) from worker s */
	for (unsigned s = 0; s < f->n_workers; s++)
		if (ring_waiting(w->ho[s]) || ring_waiting(w->cj[s]))
			return true;
	return false;
}

int fwd_wake_fd(void *arg, unsigned worker)
{
	struct tp_fwd *f = arg;

	return f->w[worker].wake_fd;
}
