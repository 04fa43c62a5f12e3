// SPDX-License-Identifier: MIT
/*
 * Policy benchmarks (BENCHMARKS.md, section "policy"):
 *   1. first-packet classification at 10, 1k, 10k, 100k rules (engine, and
 *      the reference evaluator where it finishes in reasonable time)
 *   2. established-flow lookup per packet (100k and 1M flows)
 *   3. compile + publish time at 10k and 100k rules
 *   4. the longest gap a worker sees between two classifications, with and
 *      without a publisher swapping policies every 20 ms
 *   5. the Modbus/TCP profile: established-flow packets carrying a read,
 *      with and without a profile on the conduit (side by side), and the
 *      stream checker alone on full segments
 *
 * Usage: bench_policy [--quick] [--out FILE] [--record]
 * --record replaces the policy section of BENCHMARKS.md with the results
 * (tests/bench/record.sh). Everything is single-threaded except part 4.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tp/policy/engine.h"
#include "tp/policy/eval.h"
#include "tp/policy/flow.h"

#define N_ZONES 16
#define N_PKTS	(1u << 16)

static FILE *out;
static bool quick;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x5eed;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* Hot zone pairs hold 90% of the rules and get 90% of the packets: the
 * worst case for anything that scans the rules of a pair. */
static const uint32_t hot[4][2] = {{0, 1}, {1, 0}, {2, 3}, {3, 2}};

static void zone_addr(uint32_t z, bool v6, struct tp_prefix *a)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		a->family = TP_AF_INET6;
		a->len = 128;
		a->addr[0] = 0xfd;
		a->addr[5] = (uint8_t)z;
		for (int i = 6; i < 16; i++)
			a->addr[i] = (uint8_t)rnd();
	} else {
		a->family = TP_AF_INET;
		a->len = 32;
		a->addr[0] = 10;
		a->addr[1] = (uint8_t)z;
		a->addr[2] = (uint8_t)rnd();
		a->addr[3] = (uint8_t)rnd();
	}
}

static struct tp_site *make_site(size_t n_rules)
{
	struct tp_site *s = calloc(1, sizeof(*s));

	s->n_tps = 4;
	s->tps = calloc(s->n_tps, sizeof(*s->tps));
	s->n_zones = N_ZONES;
	s->zones = calloc(N_ZONES, sizeof(*s->zones));
	for (uint32_t z = 0; z < N_ZONES; z++) {
		struct tp_zone *zone = &s->zones[z];

		snprintf(zone->name, TP_NAME_MAX, "zone%u", z);
		zone->tp = z % 4;
		zone->prefixes = calloc(3, sizeof(struct tp_prefix));
		zone->n_prefixes = 2;
		zone_addr(z, false, &zone->prefixes[0]);
		zone->prefixes[0].len = 16;
		memset(zone->prefixes[0].addr + 2, 0, 2);
		zone_addr(z, true, &zone->prefixes[1]);
		zone->prefixes[1].len = 48;
		memset(zone->prefixes[1].addr + 6, 0, 10);
	}
	s->n_rules = n_rules;
	s->rules = calloc(n_rules, sizeof(*s->rules));
	for (size_t i = 0; i < n_rules; i++) {
		struct tp_rule *r = &s->rules[i];
		uint32_t kind = below(10);

		r->id = (uint32_t)i + 1;
		if (below(10)) {
			const uint32_t *p = hot[below(4)];
			r->from_zone = p[0];
			r->to_zone = p[1];
		} else {
			r->from_zone = below(N_ZONES);
			r->to_zone = (r->from_zone + 1 + below(N_ZONES - 1)) % N_ZONES;
		}
		r->action = below(10) ? TP_ACTION_ALLOW : TP_ACTION_DENY;
		r->stateful = below(10) != 0;
		if (kind < 9) {
			uint16_t lo = (uint16_t)(1 + below(65535));
			uint32_t hi = below(10) < 7 ? lo : lo + below(100);

			r->proto = kind < 6 ? 6 : 17;
			r->dst_ports = calloc(1, sizeof(*r->dst_ports));
			r->dst_ports[0] =
				(struct tp_port_range){lo, (uint16_t)(hi > 65535 ? 65535 : hi)};
			r->n_dst_ports = 1;
		} else {
			r->proto = below(2) ? 1 : 58;
			r->icmp = calloc(1, sizeof(*r->icmp));
			r->icmp[0] = (struct tp_icmp_match){(uint8_t)below(256),
							    below(2) ? -1 : (int16_t)below(16)};
			r->n_icmp = 1;
		}
	}
	return s;
}

static void make_pkts(const struct tp_site *s, struct tp_flow *pk, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tp_flow *f = &pk[i];
		bool v6 = below(4) == 0;
		uint32_t from, to;

		memset(f, 0, sizeof(*f));
		if (below(10)) {
			from = hot[below(4)][0];
			to = hot[below(4)][1];
		} else {
			from = below(N_ZONES);
			to = below(N_ZONES);
		}
		zone_addr(from, v6, &f->src);
		zone_addr(to, v6, &f->dst);
		f->proto = below(10) < 6 ? 6 : below(4) ? 17 : (v6 ? 58 : 1);
		f->sport = (uint16_t)(1024 + below(60000));
		if (below(2) && s->n_rules) {
			const struct tp_rule *r = &s->rules[below((uint32_t)s->n_rules)];
			f->dport = r->n_dst_ports ? r->dst_ports[0].lo : (uint16_t)below(65536);
		} else {
			f->dport = (uint16_t)below(65536);
		}
		f->icmp_type = (uint8_t)below(256);
		f->icmp_code = (uint8_t)below(16);
	}
}

static volatile uint32_t sink;

static double ns_engine(const struct tp_engine *e, const struct tp_flow *pk, unsigned rounds)
{
	uint64_t t0 = now_ns(), acc = 0;

	for (unsigned r = 0; r < rounds; r++)
		for (size_t i = 0; i < N_PKTS; i++) {
			struct tp_decision d;

			tp_engine_decide(e, &pk[i], &d);
			acc += d.rule_id + d.verdict;
		}
	sink = (uint32_t)acc;
	return (double)(now_ns() - t0) / ((double)rounds * N_PKTS);
}

static double ns_ref(const struct tp_site *s, const struct tp_flow *pk, size_t n)
{
	uint64_t t0 = now_ns(), acc = 0;

	for (size_t i = 0; i < n; i++) {
		struct tp_decision d;

		tp_ref_evaluate(s, &pk[i], 0, &d);
		acc += d.rule_id;
	}
	sink = (uint32_t)acc;
	return (double)(now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * 1 and 3: classification per rule count, compile and publish times. The
 * four engines are measured interleaved — round after round, a short run
 * of each — and each gets the median of its rounds, so that load from
 * other processes on this shared machine falls on all of them alike.
 */
#define CLASSIFY_ROUNDS 21

static void bench_classify(void)
{
	static const size_t counts[] = {10, 1000, 10000, 100000};
	struct tp_engine_slot slot[4];
	struct tp_site *site[4];
	struct tp_flow *pk[4];
	double comp[4][5], pub[4][5], runs[4][CLASSIFY_ROUNDS], cold[4][CLASSIFY_ROUNDS], ref[4];
	size_t mem[4];
	char err[200];

	fprintf(out,
		"### First-packet classification\n\n"
		"16 zones; 90%% of the rules and of the packets on 4 hot zone pairs; rules TCP/UDP "
		"with one destination port or range, 10%% ICMP type/code, 10%% deny; %u "
		"packets, 75%% IPv4, half of them aimed at a rule's port. The four sizes are "
		"measured interleaved, %d rounds, median; compile times are the median of 5.\n\n"
		"| rules | engine ns/packet (warm) | engine ns/packet (cold) | reference "
		"ns/packet | compile ms | compile+publish ms | memory MiB |\n"
		"|---:|---:|---:|---:|---:|---:|---:|\n",
		N_PKTS, CLASSIFY_ROUNDS);
	for (size_t c = 0; c < 4; c++) {
		rng_state = 0x5eed + c;
		site[c] = make_site(counts[c]);
		pk[c] = malloc(N_PKTS * sizeof(struct tp_flow));
		make_pkts(site[c], pk[c], N_PKTS);
		tp_engine_slot_init(&slot[c], NULL, NULL);
		for (int k = 0; k < 5; k++) {
			struct tp_engine *e = NULL;
			uint64_t t0 = now_ns(), t1;

			if (tp_engine_compile(site[c], 0, &e, err, sizeof(err))) {
				fprintf(stderr, "compile: %s\n", err);
				exit(1);
			}
			t1 = now_ns();
			tp_engine_publish(&slot[c], e); /* frees the previous one */
			comp[c][k] = (double)(t1 - t0) / 1e6;
			pub[c][k] = (double)(now_ns() - t0) / 1e6;
			mem[c] = tp_engine_memory(e);
		}
		qsort(comp[c], 5, sizeof(double), cmp_double);
		qsort(pub[c], 5, sizeof(double), cmp_double);
		ref[c] = counts[c] <= 10000
				 ? ns_ref(site[c], pk[c], counts[c] <= 1000 ? N_PKTS : 4096)
				 : -1;
	}
	/* per round and engine: one pass right after the other engines ran
	 * (caches hold their tables: "cold"), then passes over the same
	 * packets again ("warm") */
	for (int r = 0; r < CLASSIFY_ROUNDS; r++)
		for (size_t c = 0; c < 4; c++) {
			cold[c][r] = ns_engine(tp_engine_current(&slot[c]), pk[c], 1);
			runs[c][r] = ns_engine(tp_engine_current(&slot[c]), pk[c], quick ? 2 : 6);
		}
	for (size_t c = 0; c < 4; c++) {
		qsort(runs[c], CLASSIFY_ROUNDS, sizeof(double), cmp_double);
		qsort(cold[c], CLASSIFY_ROUNDS, sizeof(double), cmp_double);
		fprintf(out, "| %zu | %.1f | %.1f | %.0f | %.2f | %.2f | %.1f |\n", counts[c],
			runs[c][CLASSIFY_ROUNDS / 2], cold[c][CLASSIFY_ROUNDS / 2], ref[c],
			comp[c][2], pub[c][2], (double)mem[c] / (1 << 20));
	}
	fprintf(out,
		"\nRatio 100k rules / 10 rules: **%.2f** warm (target ≤ 2), %.2f cold. \"Cold\" "
		"is the first pass over the %u packets right after the other three engines ran, "
		"so it counts the cache misses of filling the tables in; \"warm\" repeats the "
		"pass. The reference evaluator is linear in rules; at 100k it was not run.\n\n",
		runs[3][CLASSIFY_ROUNDS / 2] / runs[0][CLASSIFY_ROUNDS / 2],
		cold[3][CLASSIFY_ROUNDS / 2] / cold[0][CLASSIFY_ROUNDS / 2], N_PKTS);
	fflush(out);
	for (size_t c = 0; c < 4; c++) {
		tp_engine_slot_fini(&slot[c]);
		tp_site_free(site[c]);
		free(pk[c]);
	}
}

/* 2: established flows */
static uint64_t bench_clock_ns;

static uint64_t bench_clock(void *arg)
{
	(void)arg;
	return bench_clock_ns;
}

static void flow_pkt(uint32_t idx, bool reply, struct tp_flow_pkt *p)
{
	struct tp_flow *f = &p->f;
	uint8_t a[4] = {10, 0, (uint8_t)(idx >> 8), (uint8_t)idx};
	uint8_t b[4] = {10, 1, (uint8_t)(idx >> 16), 7};

	memset(p, 0, sizeof(*p));
	f->proto = 6;
	f->src.family = f->dst.family = TP_AF_INET;
	f->src.len = f->dst.len = 32;
	memcpy(reply ? f->dst.addr : f->src.addr, a, 4);
	memcpy(reply ? f->src.addr : f->dst.addr, b, 4);
	f->sport = reply ? 502 : (uint16_t)(1024 + (idx % 50000));
	f->dport = reply ? (uint16_t)(1024 + (idx % 50000)) : 502;
	p->tcp_flags = TP_TCP_ACK;
}

/* make_site(10) whose rule 1 is zone0 -> zone1 TCP 502, stateful: the
 * conduit of the established-flow and Modbus benchmarks */
static struct tp_site *make_site_tcp502(void)
{
	struct tp_site *s = make_site(10);

	free(s->rules[0].dst_ports);
	free(s->rules[0].icmp);
	s->rules[0] = (struct tp_rule){.id = 1,
				       .from_zone = 0,
				       .to_zone = 1,
				       .action = TP_ACTION_ALLOW,
				       .proto = 6,
				       .stateful = true};
	s->rules[0].dst_ports = calloc(1, sizeof(struct tp_port_range));
	s->rules[0].dst_ports[0] = (struct tp_port_range){502, 502};
	s->rules[0].n_dst_ports = 1;
	return s;
}

static void bench_flows(void)
{
	static const uint32_t sizes[] = {100000, 1000000};
	struct tp_site *s = make_site_tcp502();
	struct tp_engine_slot slot;
	struct tp_engine *e = NULL;
	char err[200];
	const size_t n_pk = 1u << 18;
	struct tp_flow_pkt *pk = malloc(n_pk * sizeof(*pk));

	tp_engine_slot_init(&slot, NULL, NULL);
	if (tp_engine_compile(s, 0, &e, err, sizeof(err))) {
		fprintf(stderr, "compile: %s\n", err);
		exit(1);
	}
	tp_engine_publish(&slot, e);
	fprintf(out,
		"### Established flows\n\nTable of 1M entries (the default), TCP flows "
		"created by their first packet, then %zu packets of random existing flows in "
		"both directions, in random order; one-by-one and burst runs alternate, median of "
		"5 each.\n\n"
		"| flows | hit, one by one ns/packet | hit, bursts of 32 ns/packet | "
		"first packet (creates the flow) ns/packet |\n"
		"|---:|---:|---:|---:|\n",
		n_pk);
	for (size_t k = 0; k < 2; k++) {
		struct tp_flow_config cfg;
		struct tp_flow_table *t;
		uint64_t t0, acc = 0;
		double create_ns, runs[5], burst[5];

		tp_flow_config_default(&cfg);
		cfg.clock_ns = bench_clock;
		/* one zone pair fills the table here: quotas counted, never hit */
		cfg.quota_host = cfg.quota_zone_pair = cfg.capacity;
		t = tp_flow_table_new(&cfg);
		bench_clock_ns = 1;
		t0 = now_ns();
		for (uint32_t i = 0; i < sizes[k]; i++) {
			struct tp_flow_pkt p;
			struct tp_decision d;

			flow_pkt(i, false, &p);
			acc += tp_flow_classify(t, tp_engine_current(&slot), &p, &d);
		}
		create_ns = (double)(now_ns() - t0) / sizes[k];
		if (tp_flow_count(t) != sizes[k])
			fprintf(stderr, "flows: %zu of %u created\n", tp_flow_count(t), sizes[k]);
		for (size_t i = 0; i < n_pk; i++)
			flow_pkt(below(sizes[k]), below(2), &pk[i]);
		/* one by one and in bursts, alternating, 5 rounds each */
		for (int r = 0; r < 5; r++) {
			t0 = now_ns();
			for (size_t i = 0; i < n_pk; i++) {
				struct tp_decision d;

				acc += tp_flow_classify(t, tp_engine_current(&slot), &pk[i], &d);
			}
			runs[r] = (double)(now_ns() - t0) / n_pk;
			t0 = now_ns();
			for (size_t i = 0; i < n_pk; i += 32) {
				const struct tp_flow_pkt *pp[32];
				enum tp_flow_result res[32];
				struct tp_decision d[32];

				for (int j = 0; j < 32; j++)
					pp[j] = &pk[i + (size_t)j];
				tp_flow_classify_burst(t, tp_engine_current(&slot), pp, 32, res, d);
				acc += res[0] + res[31];
			}
			burst[r] = (double)(now_ns() - t0) / n_pk;
		}
		sink = (uint32_t)acc;
		qsort(runs, 5, sizeof(double), cmp_double);
		qsort(burst, 5, sizeof(double), cmp_double);
		fprintf(out, "| %u | %.1f | %.1f | %.1f |\n", sizes[k], runs[2], burst[2],
			create_ns);
		fflush(out);
		tp_flow_table_free(t);
	}
	fprintf(out, "\n");
	tp_engine_slot_fini(&slot);
	tp_site_free(s);
	free(pk);
}

/* 5: the cost of a Modbus profile per client packet. */
static const uint8_t mb_read[12] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 10, 0, 10};

static struct tp_engine *mb_engine(struct tp_engine_slot *slot, bool profile)
{
	static uint8_t fc3[] = {3}, unit1[] = {1};
	static struct tp_u16_range regs[] = {{0, 999}};
	struct tp_site *s = make_site_tcp502();
	struct tp_engine *e = NULL;
	char err[200];

	if (profile) {
		s->rules[0].profile = TP_PROFILE_MODBUS;
		s->rules[0].modbus.unit_ids = malloc(1);
		s->rules[0].modbus.unit_ids[0] = unit1[0];
		s->rules[0].modbus.n_unit_ids = 1;
		s->rules[0].modbus.function_codes = malloc(1);
		s->rules[0].modbus.function_codes[0] = fc3[0];
		s->rules[0].modbus.n_function_codes = 1;
		s->rules[0].modbus.registers = malloc(sizeof(regs));
		memcpy(s->rules[0].modbus.registers, regs, sizeof(regs));
		s->rules[0].modbus.n_registers = 1;
	}
	if (tp_engine_compile(s, 0, &e, err, sizeof(err))) {
		fprintf(stderr, "compile: %s\n", err);
		exit(1);
	}
	tp_site_free(s);
	tp_engine_publish(slot, e);
	return e;
}

static void bench_modbus(void)
{
	const uint32_t n_flows = 100000;
	const size_t n_pk = 1u << 18;
	uint32_t *order = malloc(n_pk * sizeof(*order));
	uint32_t *next[2] = {malloc(n_flows * 4), malloc(n_flows * 4)};
	struct tp_engine_slot slot[2];
	struct tp_flow_table *t[2];
	const struct tp_engine *e[2];
	double runs[2][5], seg[5];
	uint64_t acc = 0, drops = 0;
	static uint8_t big[116 * 12];

	for (int k = 0; k < 2; k++) {
		struct tp_flow_config cfg;

		tp_engine_slot_init(&slot[k], NULL, NULL);
		e[k] = mb_engine(&slot[k], k == 1);
		tp_flow_config_default(&cfg);
		cfg.capacity = 1u << 18;
		cfg.quota_host = cfg.quota_zone_pair = cfg.capacity; /* counted, never hit */
		cfg.clock_ns = bench_clock;
		t[k] = tp_flow_table_new(&cfg);
		for (uint32_t i = 0; i < n_flows; i++) {
			struct tp_flow_pkt p;
			struct tp_decision d;

			flow_pkt(i, false, &p);
			p.tcp_flags = TP_TCP_SYN;
			p.tcp_seq = 1000;
			tp_flow_classify(t[k], e[k], &p, &d);
			drops += tp_flow_app_check(t[k], e[k], &p, &d, mb_read) != TP_MODBUS_OK;
			next[k][i] = 1001;
		}
	}
	for (size_t i = 0; i < n_pk; i++)
		order[i] = below(n_flows);
	for (int r = 0; r < 5; r++) {
		for (int k = 0; k < 2; k++) {
			uint64_t t0 = now_ns();

			for (size_t i = 0; i < n_pk; i++) {
				struct tp_flow_pkt p;
				struct tp_decision d;
				uint32_t idx = order[i];

				flow_pkt(idx, false, &p);
				p.tcp_seq = next[k][idx];
				p.payload_len = sizeof(mb_read);
				acc += tp_flow_classify(t[k], e[k], &p, &d);
				drops += tp_flow_app_check(t[k], e[k], &p, &d, mb_read) !=
					 TP_MODBUS_OK;
				next[k][idx] += sizeof(mb_read);
			}
			runs[k][r] = (double)(now_ns() - t0) / n_pk;
		}
	}
	/* the checker alone: MTU-sized segments of back-to-back reads */
	for (int i = 0; i < 116; i++)
		memcpy(big + 12 * i, mb_read, 12);
	{
		static const uint8_t key[TP_MODBUS_KEY_BYTES] = {1};
		struct tp_modbus_check mc = {
			.rules = {tp_engine_rule(e[1], 1)->modbus}, .n = 1, .key = key};
		struct tp_modbus_stream s;
		uint32_t seq = 1;
		const int n_seg = quick ? 20000 : 200000;

		tp_modbus_stream_init(&s);
		tp_modbus_segment(&s, &mc, 0, TP_TCP_SYN, NULL, 0);
		for (int r = 0; r < 5; r++) {
			uint64_t t0 = now_ns();

			for (int i = 0; i < n_seg; i++) {
				drops += tp_modbus_segment(&s, &mc, seq, TP_TCP_ACK, big,
							   sizeof(big)) != TP_MODBUS_OK;
				seq += sizeof(big);
			}
			seg[r] = (double)(now_ns() - t0) / n_seg;
		}
	}
	if (drops)
		fprintf(stderr, "modbus: %" PRIu64 " segments refused\n", drops);
	sink = (uint32_t)acc;
	qsort(runs[0], 5, sizeof(double), cmp_double);
	qsort(runs[1], 5, sizeof(double), cmp_double);
	qsort(seg, 5, sizeof(double), cmp_double);
	fprintf(out,
		"### Modbus/TCP profile\n\n%u established TCP 502 flows (table of 256k entries); "
		"%zu client packets of random flows, each carrying a 12-byte read at the "
		"flow's next sequence number, classified then profile-checked "
		"(tp_flow_classify + tp_flow_app_check). The same packets against a conduit "
		"without and with a profile (unit 1, function 3, registers 0-999), "
		"interleaved, median of 5. Then the stream checker alone "
		"(tp_modbus_segment) on 1392-byte segments of 116 reads each.\n\n"
		"| no profile ns/packet | profile ns/packet | ratio | checker ns/segment (116 "
		"ADUs) | checker ns/ADU | checker GB/s |\n"
		"|---:|---:|---:|---:|---:|---:|\n"
		"| %.1f | %.1f | %.2f | %.0f | %.1f | %.2f |\n\n",
		n_flows, n_pk, runs[0][2], runs[1][2], runs[1][2] / runs[0][2], seg[2],
		seg[2] / 116, (double)sizeof(big) / seg[2]);
	fflush(out);
	for (int k = 0; k < 2; k++) {
		tp_flow_table_free(t[k]);
		tp_engine_slot_fini(&slot[k]);
		free(next[k]);
	}
	free(order);
}

/*
 * 4: worker stalls during publication. A worker thread classifies in a loop
 * and records the gap between consecutive iterations, and separately times
 * the first classification on a newly published engine (its tables are
 * cold in cache). The main thread publishes every 20 ms and frees (or recycles)
 * an old engine once the worker has finished the iteration in flight at the
 * swap: a minimal QSBR whose quiescent-state counter is the iteration count.
 * Phases: no publication; swaps of precompiled engines (the cost of
 * publication itself); compile + publish (the compile competes for the
 * 2 shared cores).
 */
struct stall {
	struct tp_engine_slot slot;
	const struct tp_flow *pk;
	_Atomic uint64_t iter;
	_Atomic bool stop;
	_Atomic bool measuring;
	bool recycle; /* retired engines go back to the pool, not freed */
	uint64_t max_gap, max_first, over_10us, over_100us, count, swaps_seen;
};

struct retired {
	struct tp_engine *e;
	uint64_t after;
};

static struct retired pending[64];
static size_t n_pending;
static struct tp_engine *pool[8];
static size_t n_pool;

static void retire_later(struct tp_engine *old, void *arg)
{
	struct stall *st = arg;

	pending[n_pending++] = (struct retired){old, atomic_load(&st->iter)};
}

static void reclaim(struct stall *st)
{
	for (size_t i = 0; i < n_pending;) {
		if (atomic_load(&st->iter) > pending[i].after || atomic_load(&st->stop)) {
			if (st->recycle && n_pool < 8)
				pool[n_pool++] = pending[i].e;
			else
				tp_engine_free(pending[i].e);
			pending[i] = pending[--n_pending];
		} else {
			i++;
		}
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker(void *arg)
{
	struct stall *st = arg;
	const struct tp_engine *prev = NULL;
	uint64_t last, acc = 0;
	size_t i = 0;

	pin(1);
	last = now_ns();
	while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
		const struct tp_engine *e = tp_engine_current(&st->slot);
		struct tp_decision d;
		uint64_t t, gap, t_first = 0;

		/* The first classification on a new engine is timed on its
		 * own: a gap ending in it would also count scheduler pauses
		 * during which the publication happened to fall. */
		if (e != prev)
			t_first = now_ns();
		tp_engine_decide(e, &st->pk[i++ & (N_PKTS - 1)], &d);
		acc += d.rule_id;
		atomic_fetch_add(&st->iter, 1);
		t = now_ns();
		gap = t - last;
		last = t;
		if (atomic_load_explicit(&st->measuring, memory_order_relaxed)) {
			st->count++;
			if (gap > st->max_gap)
				st->max_gap = gap;
			if (e != prev) {
				st->swaps_seen++;
				if (t - t_first > st->max_first)
					st->max_first = t - t_first;
			}
			st->over_10us += gap > 10000;
			st->over_100us += gap > 100000;
		}
		prev = e;
	}
	sink = (uint32_t)acc;
	return NULL;
}

enum phase { PH_NONE, PH_SWAP, PH_COMPILE };

static void stall_phase(struct stall *st, const struct tp_site *s, enum phase ph, unsigned seconds)
{
	static const char *const names[] = {"no publication", "publish precompiled engines",
					    "compile + publish"};
	uint64_t end;
	unsigned n_pub = 0;
	char err[200];

	st->recycle = ph == PH_SWAP;
	st->max_gap = st->max_first = st->over_10us = st->over_100us = st->count = 0;
	st->swaps_seen = 0;
	atomic_store(&st->measuring, true);
	end = now_ns() + seconds * 1000000000ull;
	while (now_ns() < end) {
		struct tp_engine *e = NULL;

		if (ph == PH_SWAP && n_pool)
			e = pool[--n_pool];
		else if (ph == PH_COMPILE && tp_engine_compile(s, 0, &e, err, sizeof(err)))
			exit(1);
		if (e) {
			tp_engine_publish(&st->slot, e);
			n_pub++;
		}
		usleep(20000);
		reclaim(st);
	}
	atomic_store(&st->measuring, false);
	usleep(1000);
	fprintf(out, "| %s | %" PRIu64 " | %u | %.1f | %.1f | %" PRIu64 " | %" PRIu64 " |\n",
		names[ph], st->count, n_pub, st->max_gap / 1e3, st->max_first / 1e3, st->over_10us,
		st->over_100us);
	fflush(out);
}

static void bench_stall(void)
{
	struct stall *st = calloc(1, sizeof(*st));
	struct tp_flow *pk = malloc(N_PKTS * sizeof(*pk));
	struct tp_site *s;
	struct tp_engine *e = NULL;
	pthread_t th;
	char err[200];
	unsigned secs = quick ? 1 : 3;

	rng_state = 0x57a11;
	s = make_site(10000);
	make_pkts(s, pk, N_PKTS);
	st->pk = pk;
	tp_engine_slot_init(&st->slot, retire_later, st);
	for (int k = 0; k < 5; k++) {
		if (tp_engine_compile(s, 0, &e, err, sizeof(err)))
			exit(1);
		if (k == 0)
			tp_engine_publish(&st->slot, e);
		else
			pool[n_pool++] = e;
	}
	pin(0);
	pthread_create(&th, NULL, worker, st);
	usleep(100000);
	fprintf(out,
		"### Worker stall during publication\n\nA worker thread (pinned to CPU 1) "
		"classifies first packets in a loop against a 10k-rule policy and records the "
		"gap between consecutive iterations, and separately times the first "
		"classification on a newly published engine (cold caches). The main thread (CPU 0) "
		"publishes every 20 ms "
		"for %u s per phase; old engines are reclaimed after the worker's next "
		"iteration (QSBR-style). The machine has 2 cores shared with other work: "
		"gaps of milliseconds are the OS scheduler's, present without any "
		"publication too.\n\n"
		"| phase | iterations | publications | max gap µs | max first classification on a "
		"new "
		"engine µs | gaps > 10 µs | gaps > 100 µs |\n"
		"|---|---:|---:|---:|---:|---:|---:|\n",
		secs);
	stall_phase(st, s, PH_NONE, secs);
	stall_phase(st, s, PH_SWAP, secs);
	stall_phase(st, s, PH_COMPILE, secs);
	fprintf(out, "\n");
	atomic_store(&st->stop, true);
	pthread_join(th, NULL);
	st->recycle = false;
	reclaim(st);
	tp_engine_slot_fini(&st->slot);
	reclaim(st);
	while (n_pool)
		tp_engine_free(pool[--n_pool]);
	tp_site_free(s);
	free(pk);
	free(st);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool record = false;
	char cmd[1024];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--record") == 0)
			record = true;
	}
	if (record && !path)
		path = "/tmp/tp-bench-policy.md";
	out = path ? fopen(path, "w") : stdout;
	if (!out)
		return 1;
	{
		char day[32];
		time_t now = time(NULL);

		char load[64] = "?";
		FILE *la = fopen("/proc/loadavg", "r");

		if (la) {
			if (!fgets(load, sizeof(load), la))
				snprintf(load, sizeof(load), "?");
			load[strcspn(load, "\n")] = '\0';
			fclose(la);
		}
		strftime(day, sizeof(day), "%Y-%m-%d %H:%M UTC", gmtime(&now));
		fprintf(out,
			"Measured by `cmake -S . -B build-bench -DTP_BENCH=ON && make -C "
			"build-bench "
			"-j2 bench_policy && build-bench/bench/bench_policy --record%s` "
			"(RelWithDebInfo, gcc), %s; /proc/loadavg at the start: %s (2 cores, "
			"shared).\n\n",
			quick ? " --quick" : "", day, load);
	}
	bench_classify();
	bench_flows();
	bench_modbus();
	bench_stall();
	if (path && out != stdout)
		fclose(out);
	if (path && out != stdout) {
		snprintf(cmd, sizeof(cmd), "cat %s", path);
		if (system(cmd) != 0)
			return 1;
	}
	if (record) {
		snprintf(cmd, sizeof(cmd), "%s/tests/bench/record.sh policy %s", TP_SOURCE_DIR,
			 path);
		return system(cmd) == 0 ? 0 : 1;
	}
	return 0;
}
