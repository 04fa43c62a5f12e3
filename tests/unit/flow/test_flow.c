// SPDX-License-Identifier: MIT
/*
 * The flow table against a naive model on random operations (seeded,
 * TP_FLOW_SEED / TP_FLOW_OPS override), and the cases the brief names:
 * TCP state, revocation on a generation change, eviction, ICMP errors
 * related to a known flow (v4 and v6).
 */
#include <CUnit/Basic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "model.h"
#include "tp/policy/engine.h"
#include "tp/policy/flow.h"

#define S 1000000000ull

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static struct tp_flow_table *table_new_quota(uint32_t cap, uint32_t relink_ms, uint32_t quota_host,
					     uint32_t quota_pair)
{
	struct tp_flow_config cfg;

	tp_flow_config_default(&cfg);
	cfg.capacity = cap;
	cfg.relink_ms = relink_ms;
	cfg.quota_host = quota_host;
	cfg.quota_zone_pair = quota_pair;
	cfg.clock_ns = fake_clock;
	memset(cfg.hash_key, 7, sizeof(cfg.hash_key)); /* reproducible chains */
	return tp_flow_table_new(&cfg);
}

static struct tp_flow_table *table_new_lru(uint32_t cap, uint32_t relink_ms)
{
	return table_new_quota(cap, relink_ms, 0, 0);
}

/* exact LRU: what the hand-made eviction cases expect */
static struct tp_flow_table *table_new(uint32_t cap)
{
	return table_new_lru(cap, 0);
}

/* ---- random operations against the model ---- */

struct pool {
	struct tp_prefix v4[6], v6[6];
	size_t n4, n6;
};

/* Addresses inside the site's zones (host bits random), a few outside. */
static void pool_fill(struct gen *g, const struct tp_site *site, struct pool *p)
{
	memset(p, 0, sizeof(*p));
	for (int tries = 0; (p->n4 < 6 || p->n6 < 6) && tries < 10000; tries++) {
		const struct tp_zone *z = &site->zones[gen_below(g, (uint32_t)site->n_zones)];
		struct tp_prefix a;
		unsigned bytes;

		if (z->n_prefixes == 0 || gen_below(g, 8) == 0) {
			struct tp_flow f;

			gen_flow(g, &f);
			a = f.src;
		} else {
			a = z->prefixes[gen_below(g, (uint32_t)z->n_prefixes)];
			bytes = a.family == TP_AF_INET ? 4 : 16;
			for (unsigned bit = a.len; bit < bytes * 8; bit++)
				if (gen_below(g, 2))
					a.addr[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			a.len = (uint8_t)(bytes * 8);
		}
		if (a.family == TP_AF_INET && p->n4 < 6)
			p->v4[p->n4++] = a;
		else if (a.family == TP_AF_INET6 && p->n6 < 6)
			p->v6[p->n6++] = a;
	}
}

/* Widen most rules to whole protocols and make most of them allows, so
 * that many packets create flows. */
static void widen(struct gen *g, struct tp_site *s)
{
	for (size_t i = 0; i < s->n_rules; i++) {
		struct tp_rule *r = &s->rules[i];

		if (gen_below(g, 10) < 6) {
			r->n_dst_ports = r->n_src_ports = r->n_icmp = 0;
			r->action = gen_below(g, 20) ? TP_ACTION_ALLOW : TP_ACTION_DENY;
		}
		if (r->action != TP_ACTION_ALLOW)
			r->profile = TP_PROFILE_NONE; /* profiles only narrow allows */
	}
}

static void random_tuple(struct gen *g, const struct pool *pl, struct tp_flow *f, bool v6)
{
	static const uint8_t protos[] = {6, 6, 6, 17, 17, 47, 1, 58};
	static const uint16_t ports[] = {502, 4840, 40000, 40001};
	const struct tp_prefix *a = v6 ? pl->v6 : pl->v4;

	memset(f, 0, sizeof(*f));
	f->src = a[gen_below(g, 6)];
	f->dst = a[gen_below(g, 6)];
	f->proto = protos[gen_below(g, sizeof(protos))];
	if (f->proto == 1 || f->proto == 58) {
		static const uint8_t echo4[] = {8, 0, 13}, echo6[] = {128, 129, 130};

		f->icmp_type = f->proto == 1 ? echo4[gen_below(g, 3)] : echo6[gen_below(g, 3)];
		f->sport = f->dport =
			f->icmp_type == 13 || f->icmp_type == 130 ? 0 : (uint16_t)gen_below(g, 2);
	} else if (f->proto != 47) {
		f->sport = ports[gen_below(g, 4)];
		f->dport = ports[gen_below(g, 4)];
	}
}

/* recently seen tuples: replayed (either way round) to hit flows */
static struct tp_flow recent[256];
static size_t n_recent;

static void reverse(struct tp_flow *f)
{
	struct tp_prefix a = f->src;
	uint16_t port = f->sport;

	f->src = f->dst;
	f->dst = a;
	f->sport = f->dport;
	f->dport = port;
	if (f->icmp_type == 8 || f->icmp_type == 128)
		f->icmp_type = f->icmp_type == 8 ? 0 : 129;
	else if (f->icmp_type == 0 || f->icmp_type == 129)
		f->icmp_type = f->icmp_type == 0 ? 8 : 128;
}

static void random_pkt(struct gen *g, const struct pool *pl, struct tp_flow_pkt *p)
{
	static const uint8_t flags[] = {TP_TCP_SYN, TP_TCP_SYN | TP_TCP_ACK, TP_TCP_ACK, TP_TCP_ACK,
					TP_TCP_ACK, TP_TCP_FIN | TP_TCP_ACK, TP_TCP_RST, 0};
	bool v6 = gen_below(g, 3) == 0;

	memset(p, 0, sizeof(*p));
	if (n_recent && gen_below(g, 2)) {
		p->f = recent[gen_below(g, (uint32_t)n_recent)];
		v6 = p->f.src.family == TP_AF_INET6;
		if (gen_below(g, 2))
			reverse(&p->f);
	} else {
		random_tuple(g, pl, &p->f, v6);
		if (n_recent < 256)
			recent[n_recent++] = p->f;
		else
			recent[gen_below(g, 256)] = p->f;
	}
	p->tcp_flags = flags[gen_below(g, sizeof(flags))];
	if (gen_below(g, 10) == 0) {
		/* an ICMP error quoting a packet, usually one the error's
		 * destination sent */
		struct tp_flow in;

		in = p->f;
		if (in.src.family != (v6 ? TP_AF_INET6 : TP_AF_INET))
			random_tuple(g, pl, &in, v6);
		p->icmp_error = true;
		p->f.proto = v6 ? 58 : 1;
		p->f.icmp_type = v6 ? (uint8_t)(1 + gen_below(g, 3)) : (gen_below(g, 2) ? 3 : 11);
		p->f.sport = p->f.dport = 0;
		if (gen_below(g, 4))
			p->f.dst = in.src;
		/* usually from the quoted packet's destination (the flow's
		 * other end), else from wherever the tuple said */
		if (gen_below(g, 4))
			p->f.src = in.dst;
		p->inner = in;
	}
}

static bool same(const struct tp_decision *a, const struct tp_decision *b)
{
	return a->verdict == b->verdict && a->reason == b->reason && a->rule_id == b->rule_id &&
	       a->from_zone == b->from_zone && a->to_zone == b->to_zone &&
	       a->stateful == b->stateful;
}

/*
 * With exact LRU (relink 0) and a small table, everything must agree:
 * results, decisions, entry counts, counters, eviction choices. With the
 * default coarse LRU and a table too big to fill, every packet must still
 * get the model's answer; only when sweeps reclaim may differ.
 */
static void run_model(uint32_t cap, uint32_t relink_ms, uint32_t quota_host, uint32_t quota_pair,
		      uint64_t ops_default)
{
	bool exact = relink_ms == 0;
	uint64_t seed = env_u64("TP_FLOW_SEED", 0xf10eu);
	uint64_t ops = env_u64("TP_FLOW_OPS", ops_default);
	const struct gen_cfg cfg = {.zones_max = 4,
				    .rules_min = 2,
				    .rules_max = 30,
				    .src_port_pct = 5,
				    .window_pct = 0};
	struct tp_flow_counters got_ctr;
	struct tp_engine_slot slot;
	struct tp_site *sites[2] = {NULL, NULL};
	struct tp_flow_table *t;
	struct model m;
	struct pool pl;
	struct gen g;
	uint64_t bad = 0, results[TP_FLOW_DROP_QUOTA_PAIR + 1] = {0};

	printf("\n  flow model: seed 0x%" PRIx64 ", %" PRIu64
	       " operations, capacity %u, LRU %u ms\n",
	       seed, ops, cap, relink_ms);
	n_recent = 0;
	gen_seed(&g, seed);
	fake_now = 1;
	t = table_new_quota(cap, relink_ms, quota_host, quota_pair);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	model_init(&m, cap, &(struct tp_flow_timeouts){3600, 120, 60, 30, 60}, quota_host,
		   quota_pair);
	tp_engine_slot_init(&slot, NULL, NULL);

	for (uint64_t op = 0; op < ops && bad < 5; op++) {
		uint32_t what = gen_below(&g, 1000);

		fake_now += 1 + gen_below(&g, S / 4);
		if (what < 3 || !sites[0]) {
			/* a new policy: sometimes a fresh site (most flows
			 * revoked), usually the same site again (none are) */
			struct tp_engine *e = NULL;
			char err[200];

			if (!sites[0] || gen_below(&g, 3) == 0) {
				tp_site_free(sites[1]);
				sites[1] = sites[0];
				sites[0] = gen_site(&g, &cfg);
				CU_ASSERT_PTR_NOT_NULL_FATAL(sites[0]);
				widen(&g, sites[0]);
				pool_fill(&g, sites[0], &pl);
				n_recent = 0;
			}
			CU_ASSERT_EQUAL_FATAL(tp_engine_compile(sites[0], 0, &e, err, sizeof(err)),
					      0);
			tp_engine_publish(&slot, e);
			model_publish(&m, sites[0], 0, tp_engine_generation(e));
		} else if (what < 6) {
			fake_now += gen_below(&g, 200) * S;
		} else if (what < 8) {
			tp_flow_expire(t, SIZE_MAX);
			model_expire(&m, fake_now);
		} else if (what < 10) {
			tp_flow_recheck(t, tp_engine_current(&slot), cap);
			model_recheck(&m);
		} else if (what < 60) {
			/* a burst: the same answers as one by one, in order */
			struct tp_flow_pkt bp[40];
			const struct tp_flow_pkt *pp[40];
			struct tp_decision want, got[40];
			enum tp_flow_result rg[40];
			unsigned n = 1 + gen_below(&g, 40);

			for (unsigned j = 0; j < n; j++) {
				random_pkt(&g, &pl, &bp[j]);
				pp[j] = &bp[j];
			}
			tp_flow_classify_burst(t, tp_engine_current(&slot), pp, n, rg, got);
			for (unsigned j = 0; j < n; j++) {
				enum tp_flow_result rw =
					model_classify(&m, &bp[j], fake_now, &want);

				results[rg[j]]++;
				if (rw != rg[j] || !same(&want, &got[j])) {
					printf("  MISMATCH seed 0x%" PRIx64 " op %" PRIu64
					       " burst packet %u: model %s, table %s\n",
					       seed, op, j, tp_flow_result_name(rw),
					       tp_flow_result_name(rg[j]));
					bad++;
				}
			}
		} else {
			struct tp_decision want, got;
			enum tp_flow_result rw, rg;
			struct tp_flow_pkt p;

			random_pkt(&g, &pl, &p);
			rw = model_classify(&m, &p, fake_now, &want);
			rg = tp_flow_classify(t, tp_engine_current(&slot), &p, &got);
			results[rg]++;
			if (rw != rg || !same(&want, &got)) {
				printf("  MISMATCH seed 0x%" PRIx64 " op %" PRIu64
				       ": model %s rule %u, table %s rule %u\n",
				       seed, op, tp_flow_result_name(rw), want.rule_id,
				       tp_flow_result_name(rg), got.rule_id);
				bad++;
			}
		}
		if (exact && tp_flow_count(t) != m.n) {
			printf("  COUNT seed 0x%" PRIx64 " op %" PRIu64 ": model %zu, table %zu\n",
			       seed, op, m.n, tp_flow_count(t));
			bad++;
		}
	}
	tp_flow_counters_get(t, &got_ctr);
#define X(name)                                                                                   \
	if (got_ctr.name != m.ctr.name) {                                                         \
		printf("  counter " #name ": model %" PRIu64 ", table %" PRIu64 "\n", m.ctr.name, \
		       got_ctr.name);                                                             \
		bad++;                                                                            \
	}
	TP_FLOW_COUNTERS(X)
#undef X
	printf("  results:");
	for (int r = 0; r <= TP_FLOW_DROP_QUOTA_PAIR; r++)
		printf(" %s %" PRIu64, tp_flow_result_name((enum tp_flow_result)r), results[r]);
	printf("\n  evicted %" PRIu64 " expired %" PRIu64 " revoked %" PRIu64 " closed %" PRIu64
	       "\n",
	       got_ctr.evicted, got_ctr.expired, got_ctr.revoked, got_ctr.closed);
	CU_ASSERT_EQUAL(bad, 0);
	/* the run must have exercised every path */
	CU_ASSERT((got_ctr.evicted || !exact) && got_ctr.expired && got_ctr.revoked &&
		  got_ctr.rechecked && got_ctr.closed && got_ctr.related && got_ctr.hits);
	if (!exact)
		CU_ASSERT_EQUAL(got_ctr.evicted, 0);
	tp_engine_slot_fini(&slot);
	tp_flow_table_free(t);
	model_fini(&m);
	tp_site_free(sites[0]);
	tp_site_free(sites[1]);
}

static void test_model(void)
{
	run_model(64, 0, 0, 0, 2000000);
}

/* quotas small enough to be hit often, both of them */
static void test_model_quotas(void)
{
	run_model(64, 0, 12, 30, 1000000);
}

static void test_model_coarse_lru(void)
{
	run_model(1u << 16, 1000, 0, 0, 200000);
}

/* ---- hand-made cases ---- */

/* Zones: cell 10.1.0.0/16 + fd00:1::/64 (0), SCADA 10.9.0.0/16 + fd00:9::/64
 * (1). Rule 10: SCADA -> cell TCP 502, stateful. Rule 20: SCADA -> cell
 * ICMP/ICMPv6 echo request. */
static struct tp_site *plant(bool with_modbus)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	static const char *const pfx[2][2] = {{"10.1.0.0/16", "fd00:1::/64"},
					      {"10.9.0.0/16", "fd00:9::/64"}};

	s->n_tps = 1;
	s->tps = calloc(1, sizeof(*s->tps));
	s->n_zones = 2;
	s->zones = calloc(2, sizeof(*s->zones));
	for (int z = 0; z < 2; z++) {
		s->zones[z].prefixes = calloc(2, sizeof(struct tp_prefix));
		s->zones[z].n_prefixes = 2;
		snprintf(s->zones[z].name, TP_NAME_MAX, "z%d", z);
		for (int i = 0; i < 2; i++)
			CU_ASSERT_TRUE(tp_prefix_parse(pfx[z][i], &s->zones[z].prefixes[i]));
	}
	s->rules = calloc(3, sizeof(*s->rules));
	if (with_modbus) {
		struct tp_rule *r = &s->rules[s->n_rules++];

		*r = (struct tp_rule){.id = 10,
				      .from_zone = 1,
				      .to_zone = 0,
				      .action = TP_ACTION_ALLOW,
				      .proto = 6,
				      .stateful = true};
		r->dst_ports = calloc(1, sizeof(*r->dst_ports));
		r->dst_ports[0] = (struct tp_port_range){502, 502};
		r->n_dst_ports = 1;
	}
	for (int v = 0; v < 2; v++) {
		struct tp_rule *r = &s->rules[s->n_rules++];

		*r = (struct tp_rule){.id = 20 + (uint32_t)v,
				      .from_zone = 1,
				      .to_zone = 0,
				      .action = TP_ACTION_ALLOW,
				      .proto = v ? 58 : 1,
				      .stateful = true};
		r->icmp = calloc(1, sizeof(*r->icmp));
		r->icmp[0] = (struct tp_icmp_match){v ? 128 : 8, -1};
		r->n_icmp = 1;
	}
	return s;
}

static struct tp_engine *compile(struct tp_site *s)
{
	struct tp_engine *e = NULL;
	char err[200];

	CU_ASSERT_EQUAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);
	return e;
}

static void tcp_pkt(struct tp_flow_pkt *p, const char *src, uint16_t sport, const char *dst,
		    uint16_t dport, uint8_t flags)
{
	memset(p, 0, sizeof(*p));
	p->f.proto = 6;
	CU_ASSERT_TRUE(tp_prefix_parse(src, &p->f.src));
	CU_ASSERT_TRUE(tp_prefix_parse(dst, &p->f.dst));
	p->f.sport = sport;
	p->f.dport = dport;
	p->tcp_flags = flags;
}

#define SCADA "10.9.0.5"
#define PLC   "10.1.0.7"

static enum tp_flow_result run(struct tp_flow_table *t, const struct tp_engine *e,
			       const struct tp_flow_pkt *p)
{
	struct tp_decision d;

	return tp_flow_classify(t, e, p, &d);
}

static void test_tcp_states(void)
{
	struct tp_site *s = plant(true);
	struct tp_engine_slot slot;
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt p;
	struct tp_decision d;

	tp_engine_slot_init(&slot, NULL, NULL);
	tp_engine_publish(&slot, compile(s));
	fake_now = 1000 * S;

	/* the responder can open nothing */
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	tcp_pkt(&p, SCADA, 40000, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(tp_flow_classify(t, tp_engine_current(&slot), &p, &d), TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(d.rule_id, 10);
	/* half-open: transitory timeout (120 s) */
	fake_now += 100 * S;
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(tp_flow_classify(t, tp_engine_current(&slot), &p, &d), TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(d.from_zone, 0); /* zones in the reply's direction */
	CU_ASSERT_EQUAL(d.to_zone, 1);
	/* established: 3600 s */
	fake_now += 3000 * S;
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_FLOW);
	/* FIN from both ends: transitory again */
	tcp_pkt(&p, SCADA, 40000, PLC, 502, TP_TCP_FIN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_FLOW);
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_FIN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_FLOW);
	fake_now += 121 * S;
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	CU_ASSERT_EQUAL(tp_flow_count(t), 0);

	/* a bare SYN from the responder does not ride on the flow */
	tcp_pkt(&p, SCADA, 40002, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_NEW);
	tcp_pkt(&p, PLC, 502, SCADA, 40002, TP_TCP_SYN);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	tcp_pkt(&p, SCADA, 40002, PLC, 502, TP_TCP_ACK); /* the initiator: picked up again */
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_NEW);
	tcp_pkt(&p, PLC, 502, SCADA, 40002, TP_TCP_RST);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_FLOW);

	/* RST ends a flow at once */
	tcp_pkt(&p, SCADA, 40001, PLC, 502, TP_TCP_ACK); /* loose pickup */
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_NEW);
	tcp_pkt(&p, PLC, 502, SCADA, 40001, TP_TCP_RST);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(tp_flow_count(t), 0);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);

	tp_engine_slot_fini(&slot);
	tp_flow_table_free(t);
	tp_site_free(s);
}

/*
 * `stateful: false` (DESIGN.md §7.4): the conduit admits its own direction
 * and creates no flow, so no reply is admitted by state; and a flow that a
 * stateful conduit opened is cut when a new policy makes it stateless.
 */
static void test_stateless(void)
{
	struct tp_site *s = plant(true), *one_way = plant(true);
	struct tp_engine_slot slot;
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt p;
	struct tp_decision d;

	for (size_t i = 0; i < one_way->n_rules; i++)
		one_way->rules[i].stateful = false;
	tp_engine_slot_init(&slot, NULL, NULL);
	tp_engine_publish(&slot, compile(one_way));
	fake_now = 1 * S;
	tcp_pkt(&p, SCADA, 40000, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(tp_flow_classify(t, tp_engine_current(&slot), &p, &d),
			TP_FLOW_PASS_STATELESS);
	CU_ASSERT_EQUAL(d.rule_id, 10);
	CU_ASSERT_FALSE(d.stateful);
	CU_ASSERT_EQUAL(tp_flow_count(t), 0);
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	CU_ASSERT_EQUAL(tp_flow_count(t), 0);

	/* opened while stateful, cut when the conduit becomes stateless */
	tp_engine_publish(&slot, compile(s));
	tcp_pkt(&p, SCADA, 40001, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(tp_flow_count(t), 1);
	tp_engine_publish(&slot, compile(one_way));
	tcp_pkt(&p, PLC, 502, SCADA, 40001, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	CU_ASSERT_EQUAL(tp_flow_count(t), 0);
	tcp_pkt(&p, SCADA, 40001, PLC, 502, TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_STATELESS);

	tp_engine_slot_fini(&slot);
	tp_flow_table_free(t);
	tp_site_free(s);
	tp_site_free(one_way);
}

static void test_revocation(void)
{
	struct tp_site *with = plant(true), *without = plant(false);
	struct tp_flow_counters c;
	struct tp_engine_slot slot;
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt p, echo;

	tp_engine_slot_init(&slot, NULL, NULL);
	tp_engine_publish(&slot, compile(with));
	fake_now = 1 * S;
	tcp_pkt(&p, SCADA, 40000, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_NEW);
	memset(&echo, 0, sizeof(echo));
	echo.f.proto = 1;
	echo.f.icmp_type = 8;
	echo.f.sport = echo.f.dport = 77; /* echo id */
	CU_ASSERT_TRUE(tp_prefix_parse(SCADA, &echo.f.src));
	CU_ASSERT_TRUE(tp_prefix_parse(PLC, &echo.f.dst));
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &echo), TP_FLOW_PASS_NEW);

	/* same policy again: a new generation, nothing lost */
	tp_engine_publish(&slot, compile(with));
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_PASS_FLOW);
	tp_flow_counters_get(t, &c);
	CU_ASSERT_EQUAL(c.rechecked, 1);
	CU_ASSERT_EQUAL(c.revoked, 0);

	/* Modbus conduit removed: the next packet in either direction finds
	 * the flow cut; the echo flow survives an eager recheck */
	tp_engine_publish(&slot, compile(without));
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &p), TP_FLOW_DROP_POLICY);
	tp_flow_recheck(t, tp_engine_current(&slot), 16);
	tp_flow_counters_get(t, &c);
	CU_ASSERT_EQUAL(c.revoked, 1);
	CU_ASSERT_EQUAL(c.rechecked, 2);
	CU_ASSERT_EQUAL(tp_flow_count(t), 1);
	echo.f.icmp_type = 0; /* the echo reply, from the PLC */
	echo.f.src = p.f.src;
	echo.f.dst = p.f.dst;
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &echo), TP_FLOW_PASS_FLOW);
	echo.f.icmp_type = 8; /* the PLC pinging back with the same id: no rule */
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &echo), TP_FLOW_DROP_POLICY);
	CU_ASSERT_EQUAL(tp_flow_count(t), 1);

	/* no policy at all: fail closed */
	echo.f.icmp_type = 0;
	tp_engine_publish(&slot, NULL);
	CU_ASSERT_EQUAL(run(t, tp_engine_current(&slot), &echo), TP_FLOW_DROP_NO_POLICY);

	tp_engine_slot_fini(&slot);
	tp_flow_table_free(t);
	tp_site_free(with);
	tp_site_free(without);
}

static void test_eviction(void)
{
	struct tp_site *s = plant(true);
	struct tp_engine *e = compile(s);
	/* quotas out of the way: one host fills the table */
	struct tp_flow_table *t = table_new_quota(4, 0, 100, 100);
	struct tp_flow_counters c;
	struct tp_flow_pkt p;

	fake_now = 1 * S;
	for (uint16_t i = 0; i < 5; i++) {
		fake_now += S;
		tcp_pkt(&p, SCADA, (uint16_t)(40000 + i), PLC, 502, TP_TCP_SYN);
		CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_NEW);
	}
	tp_flow_counters_get(t, &c);
	CU_ASSERT_EQUAL(c.evicted, 1);
	CU_ASSERT_EQUAL(tp_flow_count(t), 4);
	/* the oldest went: its reply is now a responder opening a flow */
	tcp_pkt(&p, PLC, 502, SCADA, 40000, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_DROP_POLICY);
	tcp_pkt(&p, PLC, 502, SCADA, 40001, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_FLOW);
	/* a touched flow is recent again: the next eviction takes 40002 */
	tcp_pkt(&p, SCADA, 41000, PLC, 502, TP_TCP_SYN);
	fake_now += S;
	CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_NEW);
	tcp_pkt(&p, PLC, 502, SCADA, 40002, TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_DROP_POLICY);
	tcp_pkt(&p, PLC, 502, SCADA, 40001, TP_TCP_ACK);
	CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_FLOW);
	tp_flow_counters_get(t, &c);
	CU_ASSERT_EQUAL(c.evicted, 2);
	tp_flow_table_free(t);
	tp_engine_free(e);
	tp_site_free(s);
}

static void icmp_error(struct tp_flow_pkt *err, const char *router, const struct tp_flow_pkt *q,
		       bool v6, uint8_t type)
{
	memset(err, 0, sizeof(*err));
	err->icmp_error = true;
	err->f.proto = v6 ? 58 : 1;
	err->f.icmp_type = type;
	CU_ASSERT_TRUE(tp_prefix_parse(router, &err->f.src));
	err->f.dst = q->f.src;
	err->inner = q->f;
}

static void test_icmp_related(void)
{
	static const struct {
		bool v6;
		uint8_t type;
	} errs[] = {{false, 3}, {false, 11}, {true, 1}, {true, 2}, {true, 3}};
	struct tp_site *s = plant(true);
	struct tp_engine *e = compile(s);
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt q, err;
	struct tp_decision d;

	fake_now = S;
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		bool v6 = errs[i].v6;

		tcp_pkt(&q, v6 ? "fd00:9::5" : SCADA, 40000, v6 ? "fd00:1::7" : PLC, 502,
			TP_TCP_SYN);
		CU_ASSERT_EQUAL(run(t, e, &q),
				i == 0 || i == 2 ? TP_FLOW_PASS_NEW : TP_FLOW_PASS_FLOW);
		/* the router in the cell sends the error back to the initiator */
		icmp_error(&err, v6 ? "fd00:1::1" : "10.1.0.1", &q, v6, errs[i].type);
		CU_ASSERT_EQUAL(tp_flow_classify(t, e, &err, &d), TP_FLOW_PASS_RELATED);
		CU_ASSERT_EQUAL(d.rule_id, 10);
		CU_ASSERT_EQUAL(d.from_zone, 0); /* the router's zone */
		CU_ASSERT_EQUAL(d.to_zone, 1);
	}
	/* quoting a packet of no flow: an ordinary ICMP packet, denied */
	tcp_pkt(&q, SCADA, 49999, PLC, 502, TP_TCP_SYN);
	icmp_error(&err, "10.1.0.1", &q, false, 3);
	CU_ASSERT_EQUAL(run(t, e, &err), TP_FLOW_DROP_POLICY);
	/* quoting a known flow but sent towards someone else: not related */
	tcp_pkt(&q, SCADA, 40000, PLC, 502, TP_TCP_SYN);
	icmp_error(&err, "10.1.0.1", &q, false, 3);
	CU_ASSERT_TRUE(tp_prefix_parse("10.9.0.6", &err.f.dst));
	CU_ASSERT_EQUAL(run(t, e, &err), TP_FLOW_DROP_POLICY);
	tp_flow_table_free(t);
	tp_engine_free(e);
	tp_site_free(s);
}

/* ---- issue 10: ICMP, ICMP errors, sharing the table ---- */

static void icmp_pkt(struct tp_flow_pkt *p, const char *src, const char *dst, bool v6, uint8_t type,
		     uint16_t id)
{
	memset(p, 0, sizeof(*p));
	p->f.proto = v6 ? 58 : 1;
	CU_ASSERT_TRUE(tp_prefix_parse(src, &p->f.src));
	CU_ASSERT_TRUE(tp_prefix_parse(dst, &p->f.dst));
	p->f.icmp_type = type;
	/* as tp_flow_parse(): the echo id in both ports, 0 for other types */
	if (type == 8 || type == 0 || type == 128 || type == 129)
		p->f.sport = p->f.dport = id;
}

/*
 * One allowed ping with identifier 0 must not let any other ICMP through
 * (it had the key of every non-echo ICMP packet): only the echo reply
 * back, only echo requests forth.
 */
static void test_icmp_echo_only(void)
{
	struct tp_site *s = plant(true);
	struct tp_engine *e = compile(s);
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt p;

	fake_now = S;
	for (int v6 = 0; v6 < 2; v6++) {
		const char *scada = v6 ? "fd00:9::5" : SCADA, *plc = v6 ? "fd00:1::7" : PLC;
		uint8_t req = v6 ? 128 : 8, rep = v6 ? 129 : 0;
		/* v4: timestamp, redirect, unreachable, info request; v6:
		 * MLD query, router advertisement, redirect, unreachable */
		const uint8_t others[2][4] = {{13, 5, 3, 15}, {130, 134, 137, 1}};

		icmp_pkt(&p, scada, plc, v6, req, 0);
		CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_NEW);
		icmp_pkt(&p, plc, scada, v6, rep, 0);
		CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_FLOW);
		for (int i = 0; i < 4; i++) {
			icmp_pkt(&p, scada, plc, v6, others[v6][i], 0);
			CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_DROP_POLICY);
			icmp_pkt(&p, plc, scada, v6, others[v6][i], 0);
			CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_DROP_POLICY);
		}
		/* the wrong half of the pair, either way */
		icmp_pkt(&p, scada, plc, v6, rep, 0);
		CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_DROP_POLICY);
		icmp_pkt(&p, plc, scada, v6, req, 0);
		CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_DROP_POLICY);
		/* the pair still works */
		icmp_pkt(&p, scada, plc, v6, req, 0);
		CU_ASSERT_EQUAL(run(t, e, &p), TP_FLOW_PASS_FLOW);
	}
	CU_ASSERT_EQUAL(tp_flow_count(t), 2);
	tp_flow_table_free(t);
	tp_engine_free(e);
	tp_site_free(s);
}

/* plant() with a third zone, "other" (10.5.0.0/16, fd00:5::/64), and
 * optionally rule 30: cell -> SCADA ICMP destination unreachable, deny. */
static struct tp_site *plant3(bool deny_unreach)
{
	struct tp_site *s = plant(true);
	struct tp_zone *z;

	s->zones = realloc(s->zones, 3 * sizeof(*s->zones));
	z = &s->zones[2];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, TP_NAME_MAX, "other");
	z->prefixes = calloc(2, sizeof(struct tp_prefix));
	z->n_prefixes = 2;
	CU_ASSERT_TRUE(tp_prefix_parse("10.5.0.0/16", &z->prefixes[0]));
	CU_ASSERT_TRUE(tp_prefix_parse("fd00:5::/64", &z->prefixes[1]));
	s->n_zones = 3;
	if (deny_unreach) {
		struct tp_rule *r;

		s->rules = realloc(s->rules, (s->n_rules + 1) * sizeof(*s->rules));
		r = &s->rules[s->n_rules++];
		*r = (struct tp_rule){.id = 30,
				      .from_zone = 0,
				      .to_zone = 1,
				      .action = TP_ACTION_DENY,
				      .proto = 1};
		r->icmp = calloc(1, sizeof(*r->icmp));
		r->icmp[0] = (struct tp_icmp_match){3, -1};
		r->n_icmp = 1;
	}
	return s;
}

/*
 * An ICMP error is related only when it comes from the zone of the quoted
 * flow's other end, and a deny rule for its own zone pair wins (§7.4).
 */
static void test_icmp_error_origin(void)
{
	struct tp_site *s = plant3(false), *sd = plant3(true);
	struct tp_engine *e = compile(s), *ed = compile(sd);
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt q, q6, err;
	struct tp_decision d;

	fake_now = S;
	tcp_pkt(&q, SCADA, 40000, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(run(t, e, &q), TP_FLOW_PASS_NEW);
	tcp_pkt(&q6, "fd00:9::5", 40000, "fd00:1::7", 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(run(t, e, &q6), TP_FLOW_PASS_NEW);
	/* from a third zone: not the flow's business, and no rule */
	icmp_error(&err, "10.5.0.1", &q, false, 3);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &err, &d), TP_FLOW_DROP_POLICY);
	icmp_error(&err, "fd00:5::1", &q6, true, 2);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &err, &d), TP_FLOW_DROP_POLICY);
	icmp_error(&err, "10.5.0.1", &q, false, 11);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &err, &d), TP_FLOW_DROP_POLICY);
	/* from the other end's zone: related */
	icmp_error(&err, "10.1.0.1", &q, false, 3);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &err, &d), TP_FLOW_PASS_RELATED);
	icmp_error(&err, "fd00:1::1", &q6, true, 2);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &err, &d), TP_FLOW_PASS_RELATED);
	/* the same error under a deny for cell -> SCADA unreachables */
	icmp_error(&err, "10.1.0.1", &q, false, 3);
	CU_ASSERT_EQUAL(tp_flow_classify(t, ed, &err, &d), TP_FLOW_DROP_POLICY);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_RULE_DENY);
	CU_ASSERT_EQUAL(d.rule_id, 30);
	/* the deny names type 3 only: time exceeded is still related */
	icmp_error(&err, "10.1.0.1", &q, false, 11);
	CU_ASSERT_EQUAL(tp_flow_classify(t, ed, &err, &d), TP_FLOW_PASS_RELATED);
	tp_flow_table_free(t);
	tp_engine_free(e);
	tp_engine_free(ed);
	tp_site_free(s);
	tp_site_free(sd);
}

/* An IPv4/TCP packet in buf for tp_flow_parse(); its length. */
static size_t tcp_raw(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		      uint32_t seq, uint8_t flags, const uint8_t *data, size_t n)
{
	struct tp_prefix a, z;
	size_t len = 40 + n;

	CU_ASSERT_TRUE(tp_prefix_parse(src, &a));
	CU_ASSERT_TRUE(tp_prefix_parse(dst, &z));
	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, a.addr, 4);
	memcpy(b + 16, z.addr, 4);
	b[20] = (uint8_t)(sport >> 8), b[21] = (uint8_t)sport;
	b[22] = (uint8_t)(dport >> 8), b[23] = (uint8_t)dport;
	b[24] = (uint8_t)(seq >> 24), b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8), b[27] = (uint8_t)seq;
	b[32] = 5 << 4;
	b[33] = flags;
	if (n)
		memcpy(b + 40, data, n);
	return len;
}

/* Classify and, when it passes, the profile check: TP_MODBUS_OK and
 * TP_FLOW_PASS_* when the packet goes through. */
static enum tp_flow_result tcp_send(struct tp_flow_table *t, const struct tp_engine *e,
				    const char *src, uint16_t sport, const char *dst,
				    uint16_t dport, uint32_t seq, uint8_t flags,
				    const uint8_t *data, size_t n, enum tp_modbus_result *app)
{
	uint8_t b[200];
	size_t len = tcp_raw(b, src, sport, dst, dport, seq, flags, data, n);
	struct tp_flow_pkt fp;
	struct tp_decision d;
	enum tp_flow_result r;

	CU_ASSERT_EQUAL_FATAL(tp_flow_parse(b, len, &fp), TP_PARSE_OK);
	r = tp_flow_classify(t, e, &fp, &d);
	*app = tp_flow_result_passes(r) ? tp_flow_app_check(t, e, &fp, &d, b) : TP_MODBUS_OK;
	return r;
}

/*
 * One SCADA host floods the flow table with new flows, 4x what it holds:
 * the established flows of two other hosts, one of them a Modbus session
 * with its stream state, keep passing. With the default quotas the flood
 * is refused past its host's share, even when its flows are answered;
 * with no effective quota its flows nobody answers (SYNs, loose ACKs)
 * are the ones evicted.
 */
static void flood_case(uint32_t quota_host, bool answered)
{
	static const uint8_t read_ok[] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10};
	static const uint8_t reply[] = {0, 1, 0, 0, 0, 23, 1, 3, 20, 9, 9, 9};
	struct tp_site *s = plant(true);
	struct tp_engine *e;
	struct tp_flow_table *t = table_new_quota(256, 1000, quota_host, quota_host);
	struct tp_flow_counters c;
	enum tp_modbus_result app;
	uint32_t cseq = 1000, sseq = 5000;
	struct tp_rule *r = &s->rules[0];

	r->profile = TP_PROFILE_MODBUS;
	r->modbus.unit_ids = calloc(1, 1);
	r->modbus.unit_ids[0] = 1;
	r->modbus.n_unit_ids = 1;
	r->modbus.function_codes = calloc(1, 1);
	r->modbus.function_codes[0] = 3;
	r->modbus.n_function_codes = 1;
	e = compile(s);
	fake_now = 10 * S;
	/* host .5: a Modbus session, one request answered */
	CU_ASSERT_EQUAL(tcp_send(t, e, SCADA, 40000, PLC, 502, cseq, TP_TCP_SYN, NULL, 0, &app),
			TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(tcp_send(t, e, PLC, 502, SCADA, 40000, sseq, TP_TCP_SYN | TP_TCP_ACK, NULL,
				 0, &app),
			TP_FLOW_PASS_FLOW);
	cseq++;
	CU_ASSERT_EQUAL(tcp_send(t, e, SCADA, 40000, PLC, 502, cseq, TP_TCP_ACK, read_ok, 12, &app),
			TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(app, TP_MODBUS_OK);
	cseq += 12;
	/* host .6: a plain established connection (to port 502 too) */
	CU_ASSERT_EQUAL(tcp_send(t, e, "10.9.0.6", 41000, PLC, 502, 1, TP_TCP_SYN, NULL, 0, &app),
			TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(tcp_send(t, e, PLC, 502, "10.9.0.6", 41000, 1, TP_TCP_SYN | TP_TCP_ACK,
				 NULL, 0, &app),
			TP_FLOW_PASS_FLOW);

	/* host .66 floods: SYNs and mid-stream ACKs, answered or not */
	for (unsigned i = 0; i < 1024; i++) {
		uint16_t port = (uint16_t)(1024 + i);

		fake_now += S / 1000;
		tcp_send(t, e, "10.9.0.66", port, PLC, 502, i, i & 1 ? TP_TCP_ACK : TP_TCP_SYN,
			 NULL, 0, &app);
		if (answered)
			tcp_send(t, e, PLC, 502, "10.9.0.66", port, i, TP_TCP_SYN | TP_TCP_ACK,
				 NULL, 0, &app);
	}
	tp_flow_counters_get(t, &c);
	if (quota_host) {
		CU_ASSERT_EQUAL(c.quota_host, 0);
		CU_ASSERT(c.evicted > 0);
	} else {
		CU_ASSERT_EQUAL(c.quota_host, 1024 - 64);
		CU_ASSERT_EQUAL(c.evicted, 0);
	}

	/* both sessions go on, the Modbus one with its stream state */
	fake_now += S;
	CU_ASSERT_EQUAL(tcp_send(t, e, PLC, 502, SCADA, 40000, sseq + 1, TP_TCP_ACK, reply,
				 sizeof(reply), &app),
			TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(tcp_send(t, e, SCADA, 40000, PLC, 502, cseq, TP_TCP_ACK, read_ok, 12, &app),
			TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(tcp_send(t, e, PLC, 502, "10.9.0.6", 41000, 2, TP_TCP_ACK, NULL, 0, &app),
			TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(tcp_send(t, e, "10.9.0.6", 41000, PLC, 502, 2, TP_TCP_ACK, NULL, 0, &app),
			TP_FLOW_PASS_FLOW);
	tp_flow_table_free(t);
	tp_engine_free(e);
	tp_site_free(s);
}

static void test_flood_keeps_others(void)
{
	flood_case(0, false);	   /* default quotas */
	flood_case(0, true);	   /* the flood's flows answered: the quota holds it */
	flood_case(100000, false); /* no effective quota: eviction order alone */
}

/* Only a committed decision creates an entry: a packet the stages drop
 * after the policy passed it leaves nothing behind. */
static void test_decide_commit(void)
{
	struct tp_site *s = plant(true);
	struct tp_engine *e = compile(s);
	struct tp_flow_table *t = table_new(16);
	struct tp_flow_pkt p;
	struct tp_decision d;

	fake_now = S;
	tcp_pkt(&p, SCADA, 40000, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(tp_flow_decide(t, e, &p, &d), TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(tp_flow_count(t), 0);
	/* not committed: the next decision forgets it */
	CU_ASSERT_EQUAL(tp_flow_decide(t, e, &p, &d), TP_FLOW_PASS_NEW);
	tp_flow_commit(t);
	CU_ASSERT_EQUAL(tp_flow_count(t), 1);
	tp_flow_commit(t); /* nothing reserved any more */
	CU_ASSERT_EQUAL(tp_flow_count(t), 1);
	CU_ASSERT_EQUAL(tp_flow_decide(t, e, &p, &d), TP_FLOW_PASS_FLOW);
	tcp_pkt(&p, SCADA, 40001, PLC, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(tp_flow_decide(t, e, &p, &d), TP_FLOW_PASS_NEW);
	tcp_pkt(&p, PLC, 502, SCADA, 40001, TP_TCP_SYN | TP_TCP_ACK);
	CU_ASSERT_EQUAL(tp_flow_decide(t, e, &p, &d), TP_FLOW_DROP_POLICY);
	tp_flow_commit(t);
	CU_ASSERT_EQUAL(tp_flow_count(t), 1);
	tp_flow_table_free(t);
	tp_engine_free(e);
	tp_site_free(s);
}

/* Steering: both directions of a connection hash alike. */
static void test_symmetric_hash(void)
{
	struct gen g;
	unsigned differ = 0;

	gen_seed(&g, 5);
	for (int i = 0; i < 10000; i++) {
		struct tp_flow_pkt a, b;

		memset(&a, 0, sizeof(a));
		gen_flow(&g, &a.f);
		b = a;
		reverse(&b.f);
		b.f.icmp_type = a.f.icmp_type; /* the hash ignores types */
		CU_ASSERT_EQUAL(tp_flow_pkt_hash(&a), tp_flow_pkt_hash(&b));
		b.f.dport ^= 1;
		differ += tp_flow_pkt_hash(&a) != tp_flow_pkt_hash(&b);
	}
	CU_ASSERT(differ > 9900);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("flow", NULL, NULL);
	CU_add_test(suite, "TCP states and timeouts", test_tcp_states);
	CU_add_test(suite, "revocation on a generation change", test_revocation);
	CU_add_test(suite, "stateless conduits create no flow", test_stateless);
	CU_add_test(suite, "eviction of the oldest", test_eviction);
	CU_add_test(suite, "ICMP errors related to a flow", test_icmp_related);
	CU_add_test(suite, "ICMP: only echo makes flows, a request/reply pair",
		    test_icmp_echo_only);
	CU_add_test(suite, "ICMP errors only from the flow's other end; deny wins",
		    test_icmp_error_origin);
	CU_add_test(suite, "a flooding host leaves others' flows alone", test_flood_keeps_others);
	CU_add_test(suite, "a reserved flow exists once committed", test_decide_commit);
	CU_add_test(suite, "symmetric steering hash", test_symmetric_hash);
	CU_add_test(suite, "table == naive model on random operations", test_model);
	CU_add_test(suite, "same, with small quotas", test_model_quotas);
	CU_add_test(suite, "same, default coarse LRU", test_model_coarse_lru);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
