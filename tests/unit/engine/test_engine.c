// SPDX-License-Identifier: MIT
/*
 * The compiled engine against the reference evaluator (DESIGN.md §7: a
 * difference is a bug), plus the things only the engine has: compile-time
 * refusals, validity intervals, publication.
 *
 * The differential test runs TP_ENGINE_CASES packets (default 4 million)
 * over random sites from seed TP_ENGINE_SEED (default fixed, printed); a
 * failure prints the seed, the site number and the packet.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "tp/policy/engine.h"
#include "tp/policy/eval.h"

#define PKTS_PER_SITE 400

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static int cmp_rule_id(const void *a, const void *b)
{
	const struct tp_rule *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void print_flow(const struct tp_flow *f)
{
	char a[64], b[64];

	printf("  proto %u %s:%u -> %s:%u icmp %u/%u\n", f->proto,
	       tp_prefix_format(&f->src, true, a, sizeof(a)), f->sport,
	       tp_prefix_format(&f->dst, true, b, sizeof(b)), f->dport, f->icmp_type, f->icmp_code);
}

static void print_decision(const char *who, const struct tp_decision *d)
{
	printf("  %s: %s %s rule %u zones %u->%u stateful %d profile %d\n", who,
	       tp_verdict_name(d->verdict), tp_reason_name(d->reason), d->rule_id, d->from_zone,
	       d->to_zone, d->stateful, d->profile);
}

static bool same_decision(const struct tp_decision *a, const struct tp_decision *b)
{
	return a->verdict == b->verdict && a->reason == b->reason && a->rule_id == b->rule_id &&
	       a->from_zone == b->from_zone && a->to_zone == b->to_zone &&
	       a->stateful == b->stateful && a->profile == b->profile;
}

/* The profiles that apply (§7.3: every matching allow's) by both. */
static bool same_profiles(const struct tp_site *s, const struct tp_engine *e,
			  const struct tp_flow *f, int64_t t)
{
	uint32_t want[TP_MODBUS_PROFILES_MAX], got[TP_MODBUS_PROFILES_MAX];
	const struct tp_modbus_rules *rules[TP_MODBUS_PROFILES_MAX];
	size_t n = tp_ref_profiles(s, f, t, want, TP_MODBUS_PROFILES_MAX);
	struct tp_decision d;
	uint32_t m;

	tp_engine_decide(e, f, &d);
	m = tp_engine_profiles(e, &d, f, got, rules);

	if (n != m || memcmp(want, got, m * sizeof(*got)) != 0) {
		printf("  profiles: reference %zu, engine %u\n", n, m);
		return false;
	}
	for (uint32_t i = 0; i < m; i++)
		if (rules[i] != tp_engine_rule(e, got[i])->modbus || !rules[i])
			return false;
	return true;
}

static void test_differential(void)
{
	uint64_t seed = env_u64("TP_ENGINE_SEED", 0x7ab1eau);
	uint64_t cases = env_u64("TP_ENGINE_CASES", 4000000);
	/* 49% of the cases on small sites with many zone pairs, 49% on few
	 * pairs with hundreds of overlapping rules each. */
	const struct gen_cfg small = {.zones_max = 8,
				      .rules_min = 0,
				      .rules_max = 48,
				      .src_port_pct = 25,
				      .window_pct = 30};
	const struct gen_cfg dense = {.zones_max = 3,
				      .rules_min = 100,
				      .rules_max = 500,
				      .src_port_pct = 10,
				      .window_pct = 10};
	/* 2% on sites big enough for the direct port maps of large tables */
	const struct gen_cfg huge = {.zones_max = 2,
				     .rules_min = 4000,
				     .rules_max = 8000,
				     .src_port_pct = 2,
				     .window_pct = 5,
				     .random_port_pct = 60};
	uint64_t done = 0, mismatches = 0, allowed = 0, site_no = 0, with_profile = 0;
	struct gen g;

	printf("\n  differential: seed 0x%" PRIx64 ", %" PRIu64 " cases\n", seed, cases);
	gen_seed(&g, seed);
	while (done < cases && mismatches < 5) {
		const struct gen_cfg *cfg = done < cases * 49 / 100   ? &small
					    : done < cases * 98 / 100 ? &dense
								      : &huge;
		struct tp_site *s = gen_site(&g, cfg);
		struct tp_engine *e = NULL;
		char err[256];
		int64_t now = gen_time(&g);
		int ret;

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		/* every other site in id order, as tpolicy writes them: the
		 * compiler skips its sorts by id then (compile.c sort_by) */
		if (site_no % 2)
			qsort(s->rules, s->n_rules, sizeof(*s->rules), cmp_rule_id);
		ret = tp_engine_compile(s, now, &e, err, sizeof(err));
		if (ret) {
			printf("  seed 0x%" PRIx64 " site %" PRIu64 ": compile: %s\n", seed,
			       site_no, err);
			CU_FAIL("random site did not compile");
			tp_site_free(s);
			break;
		}
		CU_ASSERT(tp_engine_valid_from(e) <= now && now < tp_engine_valid_until(e));
		for (int i = 0; i < PKTS_PER_SITE && done < cases; i++, done++) {
			struct tp_decision want, got;
			struct tp_flow f;
			int64_t t = now;

			gen_flow(&g, &f);
			/* any time inside the validity interval must give the
			 * compile-time answer */
			if (i % 2) {
				int64_t lo = tp_engine_valid_from(e), hi = tp_engine_valid_until(e);

				lo = lo < now - 5000 ? now - 5000 : lo;
				hi = hi > now + 5000 ? now + 5000 : hi;
				t = lo + (int64_t)gen_below(&g, (uint32_t)(hi - lo));
			}
			tp_ref_evaluate(s, &f, t, &want);
			tp_engine_decide(e, &f, &got);
			allowed += want.verdict == TP_VERDICT_ALLOW;
			with_profile += want.profile;
			if (!same_decision(&want, &got) || !same_profiles(s, e, &f, t)) {
				printf("  MISMATCH seed 0x%" PRIx64 " site %" PRIu64
				       " packet %d t %" PRId64 "\n",
				       seed, site_no, i, t);
				print_flow(&f);
				print_decision("reference", &want);
				print_decision("engine   ", &got);
				mismatches++;
			}
		}
		tp_engine_free(e);
		tp_site_free(s);
		site_no++;
	}
	printf("  %" PRIu64 " cases over %" PRIu64 " sites, %" PRIu64 " allowed (%" PRIu64
	       " with profiles), %" PRIu64 " mismatches\n",
	       done, site_no, allowed, with_profile, mismatches);
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(done >= cases);
}

/* ---- hand-made sites ---- */

static struct tp_site *site_new(size_t n_zones, size_t n_rules)
{
	struct tp_site *s = calloc(1, sizeof(*s));

	s->n_tps = 2;
	s->tps = calloc(2, sizeof(*s->tps));
	s->n_zones = n_zones;
	s->zones = calloc(n_zones, sizeof(*s->zones));
	s->n_rules = n_rules;
	s->rules = calloc(n_rules ? n_rules : 1, sizeof(*s->rules));
	for (size_t i = 0; i < n_zones; i++)
		snprintf(s->zones[i].name, TP_NAME_MAX, "z%zu", i);
	return s;
}

static void zone_add(struct tp_site *s, size_t z, const char *pfx)
{
	struct tp_zone *zone = &s->zones[z];

	zone->prefixes = realloc(zone->prefixes, (zone->n_prefixes + 1) * sizeof(struct tp_prefix));
	CU_ASSERT_TRUE_FATAL(tp_prefix_parse(pfx, &zone->prefixes[zone->n_prefixes]));
	zone->n_prefixes++;
}

static struct tp_rule *rule_set(struct tp_site *s, size_t i, uint32_t id, uint32_t from,
				uint32_t to, enum tp_action action, uint8_t proto)
{
	struct tp_rule *r = &s->rules[i];

	r->id = id;
	r->from_zone = from;
	r->to_zone = to;
	r->action = action;
	r->proto = proto;
	r->stateful = true;
	return r;
}

static void ports_set(struct tp_rule *r, uint16_t lo, uint16_t hi)
{
	r->dst_ports = calloc(1, sizeof(*r->dst_ports));
	r->dst_ports[0] = (struct tp_port_range){lo, hi};
	r->n_dst_ports = 1;
}

static void flow_set(struct tp_flow *f, uint8_t proto, const char *src, uint16_t sport,
		     const char *dst, uint16_t dport)
{
	memset(f, 0, sizeof(*f));
	f->proto = proto;
	CU_ASSERT_TRUE_FATAL(tp_prefix_parse(src, &f->src));
	CU_ASSERT_TRUE_FATAL(tp_prefix_parse(dst, &f->dst));
	f->sport = sport;
	f->dport = dport;
}

static struct tp_site *plant(void)
{
	struct tp_site *s = site_new(4, 3);

	zone_add(s, 0, "10.1.0.0/16"); /* cell */
	zone_add(s, 1, "10.1.5.0/24"); /* PLCs, carved out of the cell */
	zone_add(s, 1, "fd00:1::/64");
	zone_add(s, 2, "10.9.0.0/16"); /* SCADA */
	zone_add(s, 2, "fd00:9::/48");
	zone_add(s, 3, "0.0.0.0/0"); /* outside */
	s->zones[2].tp = 1;
	ports_set(rule_set(s, 0, 10, 2, 1, TP_ACTION_ALLOW, 6), 502, 502);
	ports_set(rule_set(s, 1, 11, 2, 1, TP_ACTION_DENY, 6), 500, 510);
	rule_set(s, 2, 12, 2, 1, TP_ACTION_ALLOW, 0);
	s->rules[1].not_before = 1000;
	s->rules[1].not_after = 2000;
	s->rules[1].log = true;
	s->rules[1].rate_pps = 50;
	snprintf(s->rules[1].name, TP_NAME_MAX, "vendor");
	return s;
}

/*
 * `stateful: false` (DESIGN.md §7.4): the engine and the reference agree
 * that a stateless allow admits its direction without creating a flow
 * (decision.stateful false) and that the reverse direction is default
 * deny; a stateful allow on the same traffic makes the decision stateful.
 */
static void test_stateless(void)
{
	struct tp_site *s = site_new(2, 2);
	struct tp_engine *e = NULL;
	struct tp_decision d, r;
	struct tp_flow f;
	char err[200];

	zone_add(s, 0, "10.1.0.0/16");
	zone_add(s, 1, "10.2.0.0/16");
	s->zones[1].tp = 1;
	ports_set(rule_set(s, 0, 10, 0, 1, TP_ACTION_ALLOW, 17), 514, 514);
	ports_set(rule_set(s, 1, 20, 0, 1, TP_ACTION_ALLOW, 6), 502, 502);
	s->rules[0].stateful = false;
	s->rules[1].stateful = false;
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);

	flow_set(&f, 17, "10.1.0.1", 40000, "10.2.0.1", 514);
	tp_engine_decide(e, &f, &d);
	tp_ref_evaluate(s, &f, 0, &r);
	CU_ASSERT_TRUE(same_decision(&d, &r));
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_ALLOW);
	CU_ASSERT_EQUAL(d.rule_id, 10);
	CU_ASSERT_FALSE(d.stateful);
	/* the reply, as a new packet: nothing allows b -> a */
	flow_set(&f, 17, "10.2.0.1", 514, "10.1.0.1", 40000);
	tp_engine_decide(e, &f, &d);
	tp_ref_evaluate(s, &f, 0, &r);
	CU_ASSERT_TRUE(same_decision(&d, &r));
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_DENY);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_DEFAULT_DENY);
	tp_engine_free(e);

	/* a stateful allow over the same traffic: stateful wins */
	s->rules[1].proto = 17;
	s->rules[1].dst_ports[0] = (struct tp_port_range){500, 600};
	s->rules[1].stateful = true;
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);
	flow_set(&f, 17, "10.1.0.1", 40000, "10.2.0.1", 514);
	tp_engine_decide(e, &f, &d);
	tp_ref_evaluate(s, &f, 0, &r);
	CU_ASSERT_TRUE(same_decision(&d, &r));
	CU_ASSERT_EQUAL(d.rule_id, 10);
	CU_ASSERT_TRUE(d.stateful);
	tp_engine_free(e);
	tp_site_free(s);
}

static void test_nested_zones_and_validity(void)
{
	struct tp_site *s = plant();
	struct tp_engine *e = NULL;
	struct tp_decision d;
	struct tp_flow f;
	char err[200];

	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 500, &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tp_engine_valid_from(e), INT64_MIN);
	CU_ASSERT_EQUAL(tp_engine_valid_until(e), 1000);
	flow_set(&f, 6, "10.9.0.1", 40000, "10.1.5.7", 502);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.from_zone, 2);
	CU_ASSERT_EQUAL(d.to_zone, 1); /* the /24 beats the /16 */
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_ALLOW);
	CU_ASSERT_EQUAL(d.rule_id, 10); /* smallest allow id */
	CU_ASSERT_TRUE(d.stateful);
	flow_set(&f, 6, "10.9.0.1", 40000, "10.1.6.7", 502);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.to_zone, 0);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_DEFAULT_DENY);
	flow_set(&f, 6, "10.1.6.1", 1, "10.1.7.7", 2);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_SAME_ZONE);
	flow_set(&f, 6, "fd00:9::1", 1, "fd00:2::1", 2);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_NO_DST_ZONE);
	flow_set(&f, 17, "fd00:9::1", 1, "fd00:1::1", 2);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.rule_id, 12);
	CU_ASSERT_TRUE(tp_engine_valid_at(e, 999));
	CU_ASSERT_FALSE(tp_engine_valid_at(e, 1000));
	CU_ASSERT_PTR_NULL(tp_engine_rule(e, 13));
	CU_ASSERT_PTR_NOT_NULL_FATAL(tp_engine_rule(e, 11)); /* known, though not in force */
	CU_ASSERT_EQUAL(tp_engine_rule(e, 11)->rate_pps, 50);
	CU_ASSERT_TRUE(tp_engine_rule(e, 11)->log);
	CU_ASSERT_STRING_EQUAL(tp_engine_rule(e, 11)->name, "vendor");
	CU_ASSERT_FALSE(tp_engine_rule(e, 10)->log);
	tp_engine_free(e);

	/* inside the maintenance window the deny exists and wins */
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 1000, &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tp_engine_valid_from(e), 1000);
	CU_ASSERT_EQUAL(tp_engine_valid_until(e), 2000);
	flow_set(&f, 6, "10.9.0.1", 40000, "10.1.5.7", 502);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_DENY);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_RULE_DENY);
	CU_ASSERT_EQUAL(d.rule_id, 11);
	tp_engine_free(e);

	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 2000, &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tp_engine_valid_until(e), TP_ENGINE_FOREVER);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.rule_id, 10);
	tp_engine_free(e);
	tp_site_free(s);
}

static void expect_refused(struct tp_site *s, int want, const char *needle)
{
	struct tp_engine *e = (struct tp_engine *)&e;
	char err[300];

	CU_ASSERT_EQUAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), want);
	CU_ASSERT_PTR_NULL(e);
	if (!strstr(err, needle)) {
		printf("\n  expected '%s' in '%s'\n", needle, err);
		CU_FAIL("wrong refusal message");
	}
	tp_site_free(s);
}

static void test_refusals(void)
{
	struct tp_site *s;

	s = plant();
	zone_add(s, 3, "10.9.0.0/16");
	expect_refused(s, -EINVAL, "prefix 10.9.0.0/16 is in zones 'z2' and 'z3'");

	s = plant();
	s->rules[0].profile = TP_PROFILE_MODBUS;
	s->rules[0].stateful = false;
	expect_refused(s, -EINVAL, "a modbus profile needs a stateful allow rule with proto tcp");

	s = plant();
	s->rules[0].profile = TP_PROFILE_MODBUS;
	s->rules[0].proto = 17;
	expect_refused(s, -EINVAL, "a modbus profile needs a stateful allow rule with proto tcp");

	s = plant();
	s->rules[0].profile = TP_PROFILE_MODBUS;
	s->rules[0].modbus.registers = calloc(1, sizeof(struct tp_u16_range));
	s->rules[0].modbus.registers[0] = (struct tp_u16_range){100, 99};
	s->rules[0].modbus.n_registers = 1;
	expect_refused(s, -EINVAL, "modbus profile has an inverted register range");

	s = plant();
	s->rules[0].dst_ports[0] = (struct tp_port_range){600, 500};
	expect_refused(s, -EINVAL, "inverted destination port range 600-500");

	s = plant();
	s->rules[2].id = 10;
	expect_refused(s, -EINVAL, "rule id 10 is used twice");

	s = plant();
	s->rules[2].id = 0;
	expect_refused(s, -EINVAL, "rule id 0 is reserved");

	s = plant();
	s->rules[2].to_zone = 4;
	expect_refused(s, -EINVAL, "zone index out of range");

	s = plant();
	s->zones[1].tp = 2;
	expect_refused(s, -EINVAL, "hosting TP index out of range");

	s = plant();
	s->rules[1].not_after = 900;
	expect_refused(s, -EINVAL, "not_after is not after not_before");
}

static void test_source_port_budget(void)
{
	struct tp_site *s = site_new(2, 3000);

	zone_add(s, 0, "10.0.0.0/8");
	zone_add(s, 1, "192.168.0.0/16");
	for (size_t i = 0; i < s->n_rules; i++) {
		struct tp_rule *r = rule_set(s, i, (uint32_t)i + 1, 0, 1, TP_ACTION_ALLOW, 6);

		ports_set(r, (uint16_t)(i * 20), (uint16_t)(i * 20 + 5));
		r->src_ports = calloc(1, sizeof(*r->src_ports));
		r->src_ports[0] =
			(struct tp_port_range){(uint16_t)(i * 20), (uint16_t)(i * 20 + 5)};
		r->n_src_ports = 1;
	}
	expect_refused(s, -E2BIG, "too complex");
}

/* No zones, no rules: every packet is from no zone (fail closed). */
static void test_empty_site(void)
{
	struct tp_site s = {0};
	struct tp_engine *e = NULL;
	struct tp_decision d;
	struct tp_flow f;
	char err[100];

	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(&s, 0, &e, err, sizeof(err)), 0);
	flow_set(&f, 6, "10.0.0.1", 1, "10.0.0.2", 2);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_DENY);
	CU_ASSERT_EQUAL(d.reason, TP_REASON_NO_SRC_ZONE);
	CU_ASSERT_EQUAL(tp_engine_valid_until(e), TP_ENGINE_FOREVER);
	CU_ASSERT_PTR_NULL(tp_engine_rule(e, 1));
	CU_ASSERT_EQUAL(tp_engine_zone_tp(e, 0), UINT32_MAX);
	tp_engine_free(e);
	/* err may be NULL with errlen 0 */
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(&s, 0, &e, NULL, 0), 0);
	tp_engine_free(e);
}

static unsigned retired;

static void count_retire(struct tp_engine *old, void *arg)
{
	CU_ASSERT_PTR_EQUAL(arg, &retired);
	retired++;
	tp_engine_free(old);
}

static void test_publish(void)
{
	struct tp_site *s = plant();
	struct tp_engine_slot slot;
	struct tp_engine *a, *b;
	char err[100];

	tp_engine_slot_init(&slot, count_retire, &retired);
	CU_ASSERT_PTR_NULL(tp_engine_current(&slot));
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &b, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tp_engine_generation(a), 0);
	tp_engine_publish(&slot, a);
	CU_ASSERT_PTR_EQUAL(tp_engine_current(&slot), a);
	CU_ASSERT_EQUAL(tp_engine_generation(a), 1);
	CU_ASSERT_EQUAL(retired, 0);
	tp_engine_publish(&slot, b);
	CU_ASSERT_EQUAL(tp_engine_generation(b), 2);
	CU_ASSERT_EQUAL(retired, 1);
	CU_ASSERT_PTR_EQUAL(tp_engine_current(&slot), b);
	tp_engine_slot_fini(&slot);
	CU_ASSERT_EQUAL(retired, 2);
	CU_ASSERT_PTR_NULL(tp_engine_current(&slot));

	/* no callback: freed at once (offline tools); ASan checks it */
	tp_engine_slot_init(&slot, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &a, err, sizeof(err)), 0);
	tp_engine_publish(&slot, a);
	tp_engine_publish(&slot, NULL);
	CU_ASSERT_PTR_NULL(tp_engine_current(&slot));
	tp_engine_slot_fini(&slot);
	tp_site_free(s);
}

/* A Modbus profile: compiled into the rule info, reported by decisions
 * only when every matching allow carries one; engine and reference agree. */
static void test_profile(void)
{
	static const uint8_t units[] = {1}, fcs[] = {3};
	struct tp_site *s = plant();
	const struct tp_engine_rule_info *ri;
	struct tp_engine *e = NULL;
	struct tp_decision d, want;
	struct tp_modbus_profile *m = &s->rules[0].modbus;
	struct tp_flow f;
	char err[200];

	s->rules[0].profile = TP_PROFILE_MODBUS;
	m->unit_ids = malloc(1);
	m->unit_ids[0] = units[0];
	m->n_unit_ids = 1;
	m->function_codes = malloc(1);
	m->function_codes[0] = fcs[0];
	m->n_function_codes = 1;
	m->registers = calloc(2, sizeof(*m->registers));
	m->registers[0] = (struct tp_u16_range){50, 99};
	m->registers[1] = (struct tp_u16_range){0, 49};
	m->n_registers = 2;
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 500, &e, err, sizeof(err)), 0);
	ri = tp_engine_rule(e, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ri);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ri->modbus);
	CU_ASSERT_EQUAL(ri->modbus->n_ranges, 1); /* 0-49 and 50-99 merged */
	CU_ASSERT_EQUAL(ri->modbus->ranges[0].lo, 0);
	CU_ASSERT_EQUAL(ri->modbus->ranges[0].hi, 99);
	CU_ASSERT_EQUAL(ri->modbus->unit[0], 2u); /* unit 1 only */
	CU_ASSERT_EQUAL(ri->modbus->fc[0], 8u);	  /* function 3 only */
	CU_ASSERT_PTR_NULL(tp_engine_rule(e, 12)->modbus);

	/* rule 12 (any protocol, no profile) also matches: unchecked */
	flow_set(&f, 6, "10.9.0.1", 40000, "10.1.5.7", 502);
	tp_engine_decide(e, &f, &d);
	tp_ref_evaluate(s, &f, 500, &want);
	CU_ASSERT_EQUAL(d.rule_id, 10);
	CU_ASSERT_FALSE(d.profile);
	CU_ASSERT_TRUE(same_decision(&d, &want));
	tp_engine_free(e);

	/* without rule 12 the profile applies to port 502 only */
	s->rules[2].to_zone = 3;
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 500, &e, err, sizeof(err)), 0);
	tp_engine_decide(e, &f, &d);
	tp_ref_evaluate(s, &f, 500, &want);
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_ALLOW);
	CU_ASSERT_EQUAL(d.rule_id, 10);
	CU_ASSERT_TRUE(d.profile);
	CU_ASSERT_TRUE(d.stateful);
	CU_ASSERT_TRUE(same_decision(&d, &want));
	flow_set(&f, 6, "10.9.0.1", 40000, "10.1.5.7", 503);
	tp_engine_decide(e, &f, &d);
	CU_ASSERT_EQUAL(d.verdict, TP_VERDICT_DENY);
	CU_ASSERT_FALSE(d.profile);
	tp_engine_free(e);
	tp_site_free(s);
}

/* Two overlapping profile conduits (§7.3): both apply, whichever has the
 * smaller id and whichever comes first; a plain allow still switches them
 * off; a zone pair with too many profile conduits is refused. */
static void test_profile_union(void)
{
	for (int swap = 0; swap < 4; swap++) {
		struct tp_site *s = site_new(2, 3);
		uint32_t id_a = swap & 1 ? 20 : 10, id_b = swap & 1 ? 10 : 20;
		size_t ia = swap & 2 ? 1 : 0, ib = swap & 2 ? 0 : 1;
		struct tp_engine *e = NULL;
		struct tp_decision d, want;
		uint32_t ids[TP_MODBUS_PROFILES_MAX], ref[TP_MODBUS_PROFILES_MAX];
		const struct tp_modbus_rules *rules[TP_MODBUS_PROFILES_MAX];
		struct tp_flow f;
		char err[200];

		zone_add(s, 0, "10.9.0.0/16");
		zone_add(s, 1, "10.1.0.0/16");
		/* a: port 502 only; b: 500-510; c: unrelated UDP */
		ports_set(rule_set(s, ia, id_a, 0, 1, TP_ACTION_ALLOW, 6), 502, 502);
		ports_set(rule_set(s, ib, id_b, 0, 1, TP_ACTION_ALLOW, 6), 500, 510);
		rule_set(s, 2, 30, 0, 1, TP_ACTION_ALLOW, 17);
		s->rules[ia].profile = s->rules[ib].profile = TP_PROFILE_MODBUS;
		CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);

		flow_set(&f, 6, "10.9.0.1", 40000, "10.1.0.7", 502);
		tp_engine_decide(e, &f, &d);
		tp_ref_evaluate(s, &f, 0, &want);
		CU_ASSERT_TRUE(same_decision(&d, &want));
		CU_ASSERT_TRUE(d.profile);
		CU_ASSERT_EQUAL(d.rule_id, 10);
		CU_ASSERT_EQUAL(tp_engine_profiles(e, &d, &f, ids, rules), 2);
		CU_ASSERT_EQUAL(tp_ref_profiles(s, &f, 0, ref, TP_MODBUS_PROFILES_MAX), 2);
		CU_ASSERT_EQUAL(ids[0], 10);
		CU_ASSERT_EQUAL(ids[1], 20);
		CU_ASSERT_EQUAL(memcmp(ids, ref, 2 * sizeof(*ids)), 0);
		CU_ASSERT_PTR_EQUAL(rules[0], tp_engine_rule(e, 10)->modbus);
		CU_ASSERT_PTR_EQUAL(rules[1], tp_engine_rule(e, 20)->modbus);
		/* port 505: b's alone */
		f.dport = 505;
		tp_engine_decide(e, &f, &d);
		CU_ASSERT_EQUAL(tp_engine_profiles(e, &d, &f, ids, NULL), 1);
		CU_ASSERT_EQUAL(ids[0], id_b);
		CU_ASSERT_TRUE(same_profiles(s, e, &f, 0));
		/* none for other protocols, zones or directions */
		f.proto = 17;
		tp_engine_decide(e, &f, &d);
		CU_ASSERT_EQUAL(tp_engine_profiles(e, &d, &f, ids, NULL), 0);
		CU_ASSERT_TRUE(same_profiles(s, e, &f, 0));
		flow_set(&f, 6, "10.1.0.7", 502, "10.9.0.1", 40000);
		tp_engine_decide(e, &f, &d);
		CU_ASSERT_EQUAL(tp_engine_profiles(e, &d, &f, ids, NULL), 0);
		CU_ASSERT_TRUE(same_profiles(s, e, &f, 0));
		tp_engine_free(e);
		tp_site_free(s);
	}
	/* the cap: TP_MODBUS_PROFILES_MAX profile conduits per zone pair */
	{
		struct tp_site *s = site_new(2, TP_MODBUS_PROFILES_MAX + 1);
		struct tp_engine *e = NULL;
		char err[200];

		zone_add(s, 0, "10.9.0.0/16");
		zone_add(s, 1, "10.1.0.0/16");
		for (size_t i = 0; i <= TP_MODBUS_PROFILES_MAX; i++)
			rule_set(s, i, (uint32_t)i + 1, 0, 1, TP_ACTION_ALLOW, 6)->profile =
				TP_PROFILE_MODBUS;
		s->rules[0].profile = TP_PROFILE_NONE;
		CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);
		tp_engine_free(e);
		s->rules[0].profile = TP_PROFILE_MODBUS;
		CU_ASSERT_EQUAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), -E2BIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "conduits with a modbus profile"));
		tp_site_free(s);
	}
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("engine", NULL, NULL);
	CU_add_test(suite, "nested zones and validity", test_nested_zones_and_validity);
	CU_add_test(suite, "stateless allows: engine == reference", test_stateless);
	CU_add_test(suite, "refusals", test_refusals);
	CU_add_test(suite, "modbus profile", test_profile);
	CU_add_test(suite, "overlapping modbus profiles: the union", test_profile_union);
	CU_add_test(suite, "source-port budget", test_source_port_budget);
	CU_add_test(suite, "publish and retire", test_publish);
	CU_add_test(suite, "empty site", test_empty_site);
	CU_add_test(suite, "engine == reference on random sites", test_differential);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
