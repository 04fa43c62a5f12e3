/* SPDX-License-Identifier: MIT */
/*
 * Grace periods for published policies: DPDK's rte_rcu_qsbr behind the
 * engine slot's retire callback (tp/policy/engine.h).
 *
 * Roles:
 *  - the control thread owns the tp_policyrcu and the slot: it publishes
 *    (tp_policyrcu_publish) and reclaims (tp_policyrcu_reclaim, e.g. from
 *    its timer loop);
 *  - each worker registers once with its worker id (0 .. max_workers-1),
 *    and after every burst — when it holds no pointer into the policy —
 *    reports a quiescent state. A worker about to sleep goes offline so it
 *    does not hold up reclamation, and online again before its next
 *    tp_engine_current().
 *
 * A retired engine is freed only once every online worker has reported a
 * quiescent state after the swap. Needs no EAL: rte_rcu_qsbr is plain
 * shared memory and atomics.
 */
#ifndef TP_DP_POLICYRCU_H
#define TP_DP_POLICYRCU_H

#include <rte_rcu_qsbr.h>

#include "tp/policy/engine.h"

#define TP_POLICYRCU_PENDING_MAX 16 /* retired engines awaiting their grace period */

struct tp_policyrcu {
	struct tp_engine_slot slot; /* the published policy; readers use tp_engine_current() */
	struct rte_rcu_qsbr *qsbr;
	struct {
		struct tp_engine *engine;
		uint64_t token;
	} pending[TP_POLICYRCU_PENDING_MAX]; /* control thread only */
	unsigned n_pending;
};

/* NULL on allocation failure or max_workers == 0. */
struct tp_policyrcu *tp_policyrcu_new(unsigned max_workers);

/* Retire the current engine and free everything, waiting for grace
 * periods. Workers must have unregistered or gone offline. */
void tp_policyrcu_free(struct tp_policyrcu *r);

/* Control thread: publish e (ownership passes), then reclaim what can be. */
void tp_policyrcu_publish(struct tp_policyrcu *r, struct tp_engine *e);

/* Control thread: free retired engines whose grace period has ended;
 * returns how many still wait. */
unsigned tp_policyrcu_reclaim(struct tp_policyrcu *r);

/* Worker: register (and go online) / unregister (after going offline). */
int tp_policyrcu_register(struct tp_policyrcu *r, unsigned worker);
void tp_policyrcu_unregister(struct tp_policyrcu *r, unsigned worker);

static inline void tp_policyrcu_quiescent(struct tp_policyrcu *r, unsigned worker)
{
	rte_rcu_qsbr_quiescent(r->qsbr, worker);
}

static inline void tp_policyrcu_offline(struct tp_policyrcu *r, unsigned worker)
{
	rte_rcu_qsbr_thread_offline(r->qsbr, worker);
}

static inline void tp_policyrcu_online(struct tp_policyrcu *r, unsigned worker)
{
	rte_rcu_qsbr_thread_online(r->qsbr, worker);
}

#endif /* TP_DP_POLICYRCU_H */
