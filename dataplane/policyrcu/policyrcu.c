// SPDX-License-Identifier: MIT
#include "tp/dp/policyrcu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

/* Called by tp_engine_publish() on the control thread with the engine the
 * swap replaced: note the grace period it must wait for. */
static void retire(struct tp_engine *old, void *arg)
{
	struct tp_policyrcu *r = arg;

	if (r->n_pending == TP_POLICYRCU_PENDING_MAX) {
		/* Publishing faster than workers pass quiescent states: wait
		 * for the oldest rather than grow without bound. */
		rte_rcu_qsbr_check(r->qsbr, r->pending[0].token, true);
		tp_policyrcu_reclaim(r);
	}
	r->pending[r->n_pending].engine = old;
	r->pending[r->n_pending].token = rte_rcu_qsbr_start(r->qsbr);
	r->n_pending++;
}

struct tp_policyrcu *tp_policyrcu_new(unsigned max_workers)
{
	struct tp_policyrcu *r;
	size_t sz;

	if (max_workers == 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	sz = rte_rcu_qsbr_get_memsize(max_workers);
	/* rte_rcu_qsbr wants cache-line alignment and a size it computed */
	r->qsbr = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	if (!r->qsbr || rte_rcu_qsbr_init(r->qsbr, max_workers) != 0)
		goto fail_free;
	tp_engine_slot_init(&r->slot, retire, r);
	return r;
fail_free:
	free(r->qsbr);
	free(r);
	return NULL;
}

unsigned tp_policyrcu_reclaim(struct tp_policyrcu *r)
{
	unsigned k = 0;

	/* tokens grow with time: once one is not reached, later ones are not */
	for (unsigned i = 0; i < r->n_pending; i++) {
		if (k == i && rte_rcu_qsbr_check(r->qsbr, r->pending[i].token, false) == 1) {
			tp_engine_free(r->pending[i].engine);
			k++;
			continue;
		}
		r->pending[i - k] = r->pending[i];
	}
	r->n_pending -= k;
	return r->n_pending;
}

void tp_policyrcu_publish(struct tp_policyrcu *r, struct tp_engine *e)
{
	tp_engine_publish(&r->slot, e);
	tp_policyrcu_reclaim(r);
}

int tp_policyrcu_register(struct tp_policyrcu *r, unsigned worker)
{
	if (rte_rcu_qsbr_thread_register(r->qsbr, worker) != 0)
		return -EINVAL;
	rte_rcu_qsbr_thread_online(r->qsbr, worker);
	return 0;
}

void tp_policyrcu_unregister(struct tp_policyrcu *r, unsigned worker)
{
	rte_rcu_qsbr_thread_offline(r->qsbr, worker);
	rte_rcu_qsbr_thread_unregister(r->qsbr, worker);
}

void tp_policyrcu_free(struct tp_policyrcu *r)
{
	if (!r)
		return;
	tp_engine_slot_fini(&r->slot); /* retires the current engine */
	for (unsigned i = 0; i < r->n_pending; i++) {
		rte_rcu_qsbr_check(r->qsbr, r->pending[i].token, true);
		tp_engine_free(r->pending[i].engine);
	}
	free(r->qsbr);
	free(r);
}
