// SPDX-License-Identifier: MIT
/*
 * tp_policyrcu: a retired engine waits for every online worker's quiescent
 * state and no longer (deterministic, one thread playing all roles); and
 * two worker threads classifying while the main thread publishes hundreds
 * of engines, which ASan would catch reading freed tables.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/dp/policyrcu.h"

static struct tp_site *site(void)
{
	struct tp_site *s = calloc(1, sizeof(*s));

	s->n_tps = 1;
	s->tps = calloc(1, sizeof(*s->tps));
	s->n_zones = 2;
	s->zones = calloc(2, sizeof(*s->zones));
	for (int z = 0; z < 2; z++) {
		s->zones[z].prefixes = calloc(1, sizeof(struct tp_prefix));
		s->zones[z].n_prefixes = 1;
		CU_ASSERT_TRUE(tp_prefix_parse(z ? "10.2.0.0/16" : "10.1.0.0/16",
					       &s->zones[z].prefixes[0]));
	}
	s->n_rules = 1;
	s->rules = calloc(1, sizeof(*s->rules));
	s->rules[0] = (struct tp_rule){.id = 5,
				       .from_zone = 0,
				       .to_zone = 1,
				       .action = TP_ACTION_ALLOW,
				       .proto = 6,
				       .stateful = true};
	return s;
}

static struct tp_engine *compile(const struct tp_site *s)
{
	struct tp_engine *e = NULL;
	char err[100];

	CU_ASSERT_EQUAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);
	return e;
}

static void test_grace_period(void)
{
	struct tp_site *s = site();
	struct tp_policyrcu *r = tp_policyrcu_new(2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(tp_policyrcu_register(r, 0), 0);
	CU_ASSERT_EQUAL(tp_policyrcu_register(r, 1), 0);
	CU_ASSERT_NOT_EQUAL(tp_policyrcu_register(r, 2), 0); /* beyond max_workers */

	tp_policyrcu_publish(r, compile(s));
	CU_ASSERT_EQUAL(r->n_pending, 0);
	tp_policyrcu_publish(r, compile(s));
	CU_ASSERT_EQUAL(r->n_pending, 1);
	CU_ASSERT_EQUAL(tp_policyrcu_reclaim(r), 1); /* nobody passed a quiescent state */
	tp_policyrcu_quiescent(r, 0);
	CU_ASSERT_EQUAL(tp_policyrcu_reclaim(r), 1); /* worker 1 may still hold it */
	tp_policyrcu_quiescent(r, 1);
	CU_ASSERT_EQUAL(tp_policyrcu_reclaim(r), 0);

	/* an offline (sleeping) worker holds nothing up */
	tp_policyrcu_offline(r, 1);
	tp_policyrcu_publish(r, compile(s));
	CU_ASSERT_EQUAL(r->n_pending, 1);
	tp_policyrcu_quiescent(r, 0);
	CU_ASSERT_EQUAL(tp_policyrcu_reclaim(r), 0);
	tp_policyrcu_online(r, 1);
	CU_ASSERT_EQUAL(tp_engine_generation(tp_engine_current(&r->slot)), 3);

	tp_policyrcu_unregister(r, 0);
	tp_policyrcu_unregister(r, 1);
	tp_policyrcu_free(r);
	tp_site_free(s);
}

struct shared {
	struct tp_policyrcu *r;
	_Atomic bool stop;
	_Atomic uint64_t decisions;
};

struct worker_arg {
	struct shared *sh;
	unsigned id;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct tp_policyrcu *r = a->sh->r;
	struct tp_flow f = {.proto = 6, .sport = 1, .dport = 2};
	uint64_t n = 0;

	tp_prefix_parse("10.1.0.1", &f.src);
	tp_prefix_parse("10.2.0.1", &f.dst);
	tp_policyrcu_register(r, a->id);
	while (!atomic_load(&a->sh->stop)) {
		/* one "burst": everything read from the engine is used
		 * before the quiescent state */
		for (int i = 0; i < 64; i++) {
			const struct tp_engine *e = tp_engine_current(&r->slot);
			struct tp_decision d;

			tp_engine_decide(e, &f, &d);
			n += d.rule_id == 5;
		}
		tp_policyrcu_quiescent(r, a->id);
		if ((n & 0xfff) == 0) {
			/* idle for a moment, as a worker without traffic */
			tp_policyrcu_offline(r, a->id);
			usleep(50);
			tp_policyrcu_online(r, a->id);
		}
	}
	tp_policyrcu_unregister(r, a->id);
	atomic_fetch_add(&a->sh->decisions, n);
	return NULL;
}

static void test_concurrent(void)
{
	struct tp_site *s = site();
	struct shared sh = {.r = tp_policyrcu_new(2)};
	struct worker_arg args[2] = {{&sh, 0}, {&sh, 1}};
	pthread_t th[2];
	unsigned max_pending = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sh.r);
	tp_policyrcu_publish(sh.r, compile(s));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, &args[i]);
	for (int i = 0; i < 300; i++) {
		tp_policyrcu_publish(sh.r, compile(s));
		if (sh.r->n_pending > max_pending)
			max_pending = sh.r->n_pending;
		usleep(200);
	}
	atomic_store(&sh.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("\n  %llu decisions, at most %u engines awaiting a grace period\n",
	       (unsigned long long)atomic_load(&sh.decisions), max_pending);
	CU_ASSERT(atomic_load(&sh.decisions) > 0);
	CU_ASSERT(max_pending <= TP_POLICYRCU_PENDING_MAX);
	CU_ASSERT_EQUAL(tp_engine_generation(tp_engine_current(&sh.r->slot)), 301);
	tp_policyrcu_free(sh.r);
	tp_site_free(s);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("policyrcu", NULL, NULL);
	CU_add_test(suite, "grace period", test_grace_period);
	CU_add_test(suite, "workers classify while the control thread publishes", test_concurrent);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
