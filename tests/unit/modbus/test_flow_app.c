// SPDX-License-Identifier: MIT
/*
 * The Modbus profile through the flow table (tp_flow_app_check()), on
 * IPv4/TCP packets parsed by tp_flow_parse(): client payload checked,
 * server payload passed, no mid-stream pickup (loose pickup, eviction,
 * a profile added to a running flow), a broader plain allow, a TCP
 * header whose data offset lies, two overlapping profile rules (the
 * union, whatever their ids and order), and retransmissions after a loss.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/engine.h"
#include "tp/policy/flow.h"

#define CLIENT "10.1.0.5"
#define SERVER "10.2.0.7"
#define CPORT  40000

static uint64_t now_ns;
static struct tp_engine_slot slot;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return now_ns;
}

/* z0 10.1/16 -> z1 10.2/16: rule 10 allows TCP 502 with a profile (unit
 * 1, function 3, registers 0-99); with plain, rule 11 allows all TCP. */
static struct tp_engine *engine(bool profile, bool plain)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	struct tp_engine *e = NULL;
	struct tp_rule *r;
	char err[200];

	s->n_tps = 2;
	s->tps = calloc(2, sizeof(*s->tps));
	s->n_zones = 2;
	s->zones = calloc(2, sizeof(*s->zones));
	for (int z = 0; z < 2; z++) {
		s->zones[z].prefixes = calloc(1, sizeof(struct tp_prefix));
		s->zones[z].n_prefixes = 1;
		s->zones[z].tp = (uint32_t)z;
		CU_ASSERT_TRUE_FATAL(tp_prefix_parse(z ? "10.2.0.0/16" : "10.1.0.0/16",
						     &s->zones[z].prefixes[0]));
	}
	s->n_rules = plain ? 2 : 1;
	s->rules = calloc(2, sizeof(*s->rules));
	for (size_t i = 0; i < s->n_rules; i++) {
		r = &s->rules[i];
		r->id = 10 + (uint32_t)i;
		r->from_zone = 0;
		r->to_zone = 1;
		r->action = TP_ACTION_ALLOW;
		r->proto = 6;
		r->stateful = true;
	}
	r = &s->rules[0];
	r->dst_ports = calloc(1, sizeof(*r->dst_ports));
	r->dst_ports[0] = (struct tp_port_range){502, 502};
	r->n_dst_ports = 1;
	if (profile) {
		r->profile = TP_PROFILE_MODBUS;
		r->modbus.unit_ids = calloc(1, 1);
		r->modbus.unit_ids[0] = 1;
		r->modbus.n_unit_ids = 1;
		r->modbus.function_codes = calloc(1, 1);
		r->modbus.function_codes[0] = 3;
		r->modbus.n_function_codes = 1;
		r->modbus.registers = calloc(1, sizeof(struct tp_u16_range));
		r->modbus.registers[0] = (struct tp_u16_range){0, 99};
		r->modbus.n_registers = 1;
	}
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);
	tp_site_free(s);
	tp_engine_publish(&slot, e);
	return e;
}

/* Two overlapping profile rules z0 -> z1, ids id_a and id_b, listed a
 * first unless b_first: a reads (unit 1, function 3, registers 0-99) on
 * TCP 502, b writes (unit 1, function 6, registers 0-9) on TCP 500-510. */
static struct tp_engine *engine_two(uint32_t id_a, uint32_t id_b, bool b_first)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	struct tp_engine *e = NULL;
	char err[200];

	s->n_tps = 2;
	s->tps = calloc(2, sizeof(*s->tps));
	s->n_zones = 2;
	s->zones = calloc(2, sizeof(*s->zones));
	for (int z = 0; z < 2; z++) {
		s->zones[z].prefixes = calloc(1, sizeof(struct tp_prefix));
		s->zones[z].n_prefixes = 1;
		s->zones[z].tp = (uint32_t)z;
		CU_ASSERT_TRUE_FATAL(tp_prefix_parse(z ? "10.2.0.0/16" : "10.1.0.0/16",
						     &s->zones[z].prefixes[0]));
	}
	s->n_rules = 2;
	s->rules = calloc(2, sizeof(*s->rules));
	for (int i = 0; i < 2; i++) {
		bool is_a = (i == 0) != b_first;
		struct tp_rule *r = &s->rules[i];

		r->id = is_a ? id_a : id_b;
		r->from_zone = 0;
		r->to_zone = 1;
		r->action = TP_ACTION_ALLOW;
		r->proto = 6;
		r->stateful = true;
		r->dst_ports = calloc(1, sizeof(*r->dst_ports));
		r->dst_ports[0] =
			is_a ? (struct tp_port_range){502, 502} : (struct tp_port_range){500, 510};
		r->n_dst_ports = 1;
		r->profile = TP_PROFILE_MODBUS;
		r->modbus.unit_ids = calloc(1, 1);
		r->modbus.unit_ids[0] = 1;
		r->modbus.n_unit_ids = 1;
		r->modbus.function_codes = calloc(1, 1);
		r->modbus.function_codes[0] = is_a ? 3 : 6;
		r->modbus.n_function_codes = 1;
		r->modbus.registers = calloc(1, sizeof(struct tp_u16_range));
		r->modbus.registers[0] =
			is_a ? (struct tp_u16_range){0, 99} : (struct tp_u16_range){0, 9};
		r->modbus.n_registers = 1;
	}
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(s, 0, &e, err, sizeof(err)), 0);
	tp_site_free(s);
	tp_engine_publish(&slot, e);
	return e;
}

static struct tp_flow_table *table(uint32_t capacity)
{
	struct tp_flow_config cfg;

	tp_flow_config_default(&cfg);
	cfg.capacity = capacity;
	cfg.clock_ns = fake_clock;
	return tp_flow_table_new(&cfg);
}

/* An IPv4/TCP packet; from_client picks the direction. */
static size_t packet(uint8_t *p, bool from_client, uint16_t cport, uint32_t seq, uint8_t flags,
		     const uint8_t *data, size_t n)
{
	struct tp_prefix c, s;
	size_t len = 40 + n;

	tp_prefix_parse(CLIENT, &c);
	tp_prefix_parse(SERVER, &s);
	memset(p, 0, 40);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, from_client ? c.addr : s.addr, 4);
	memcpy(p + 16, from_client ? s.addr : c.addr, 4);
	p[20] = (uint8_t)((from_client ? cport : 502) >> 8);
	p[21] = (uint8_t)(from_client ? cport : 502);
	p[22] = (uint8_t)((from_client ? 502 : cport) >> 8);
	p[23] = (uint8_t)(from_client ? 502 : cport);
	p[24] = (uint8_t)(seq >> 24);
	p[25] = (uint8_t)(seq >> 16);
	p[26] = (uint8_t)(seq >> 8);
	p[27] = (uint8_t)seq;
	p[32] = 5 << 4;
	p[33] = flags;
	if (n)
		memcpy(p + 40, data, n);
	return len;
}

struct verdict {
	enum tp_flow_result flow;
	enum tp_modbus_result app;
};

static struct verdict send_pkt(struct tp_flow_table *t, const struct tp_engine *e, uint8_t *p,
			       size_t len)
{
	struct tp_flow_pkt fp;
	struct tp_decision d;
	struct verdict v = {TP_FLOW_DROP_POLICY, TP_MODBUS_OK};

	CU_ASSERT_EQUAL_FATAL(tp_flow_parse(p, len, &fp), TP_PARSE_OK);
	v.flow = tp_flow_classify(t, e, &fp, &d);
	if (tp_flow_result_passes(v.flow))
		v.app = tp_flow_app_check(t, e, &fp, &d, p);
	return v;
}

static struct verdict seg(struct tp_flow_table *t, const struct tp_engine *e, bool from_client,
			  uint32_t seq, uint8_t flags, const uint8_t *data, size_t n)
{
	uint8_t p[400];

	return send_pkt(t, e, p, packet(p, from_client, CPORT, seq, flags, data, n));
}

/* read holding registers */
static const uint8_t read_ok[] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10};
static const uint8_t read_500[] = {0, 2, 0, 0, 0, 6, 1, 3, 1, 244, 0, 10};
static const uint8_t write_6[] = {0, 3, 0, 0, 0, 6, 1, 6, 0, 5, 0, 1};
static const uint8_t unit_2[] = {0, 4, 0, 0, 0, 6, 2, 3, 0, 0, 0, 10};

static void test_connection(void)
{
	struct tp_engine *e;
	struct tp_flow_table *t = table(64);
	static const uint8_t reply[] = {0, 1, 0, 0, 0, 23, 1, 3, 20, 9, 9, 9};
	struct verdict v;
	uint32_t c = 100, s = 9000;

	tp_engine_slot_init(&slot, NULL, NULL);
	e = engine(true, false);
	v = seg(t, e, true, c, TP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(v.flow, TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(v.app, TP_MODBUS_OK);
	v = seg(t, e, false, s, TP_TCP_SYN | TP_TCP_ACK, NULL, 0);
	CU_ASSERT_EQUAL(v.flow, TP_FLOW_PASS_FLOW);
	c++;
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
	c += 12;
	/* the server's reply is not parsed: any bytes pass */
	CU_ASSERT_EQUAL(seg(t, e, false, s + 1, TP_TCP_ACK, reply, sizeof(reply)).app,
			TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_500, 12).app, TP_MODBUS_REGISTER);
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, write_6, 12).app, TP_MODBUS_FUNCTION);
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, unit_2, 12).app, TP_MODBUS_UNIT);
	/* split over two segments */
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_ok, 5).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c + 5, TP_TCP_ACK, read_ok + 5, 7).app, TP_MODBUS_OK);
	c += 12;
	CU_ASSERT_EQUAL(seg(t, e, true, c + 100, TP_TCP_ACK, read_ok, 12).app,
			TP_MODBUS_OUT_OF_ORDER);
	/* a lying data offset */
	{
		uint8_t p[100];
		size_t len = packet(p, true, CPORT, c, TP_TCP_ACK, read_ok, 12);

		p[32] = 15 << 4;
		CU_ASSERT_EQUAL(send_pkt(t, e, p, len).app, TP_MODBUS_BAD_HEADER);
	}
	/* a client on port 503 is no Modbus flow of rule 10: denied */
	{
		uint8_t p[100];
		size_t len = packet(p, true, CPORT, c, TP_TCP_SYN, NULL, 0);

		p[23] = 247; /* dst port 503 */
		CU_ASSERT_EQUAL(send_pkt(t, e, p, len).flow, TP_FLOW_DROP_POLICY);
	}
	tp_flow_table_free(t);
	tp_engine_slot_fini(&slot);
}

static void test_no_pickup(void)
{
	struct tp_engine *e;
	struct tp_flow_table *t = table(2);
	uint8_t p[100];
	struct verdict v;

	tp_engine_slot_init(&slot, NULL, NULL);
	e = engine(true, false);
	/* loose pickup creates the flow, but its payload has no stream */
	v = seg(t, e, true, 5000, TP_TCP_ACK, read_ok, 12);
	CU_ASSERT_EQUAL(v.flow, TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(v.app, TP_MODBUS_NO_STREAM);
	CU_ASSERT_EQUAL(seg(t, e, true, 5000, TP_TCP_ACK, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, 5000, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_NO_STREAM);

	/* a flow opened properly, then evicted by two others (capacity 2) */
	now_ns += 1000000000ull;
	send_pkt(t, e, p, packet(p, true, 41000, 10, TP_TCP_SYN, NULL, 0));
	CU_ASSERT_EQUAL(send_pkt(t, e, p, packet(p, true, 41000, 11, TP_TCP_ACK, read_ok, 12)).app,
			TP_MODBUS_OK);
	now_ns += 1000000000ull;
	send_pkt(t, e, p, packet(p, true, 41001, 10, TP_TCP_SYN, NULL, 0));
	now_ns += 1000000000ull;
	send_pkt(t, e, p, packet(p, true, 41002, 10, TP_TCP_SYN, NULL, 0));
	v = send_pkt(t, e, p, packet(p, true, 41000, 23, TP_TCP_ACK, read_ok, 12));
	CU_ASSERT_EQUAL(v.flow, TP_FLOW_PASS_NEW);
	CU_ASSERT_EQUAL(v.app, TP_MODBUS_NO_STREAM);

	/* a new policy that adds the profile to a running flow */
	tp_flow_table_free(t);
	t = table(16);
	e = engine(false, false);
	seg(t, e, true, 700, TP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(seg(t, e, true, 701, TP_TCP_ACK, write_6, 12).app, TP_MODBUS_OK);
	e = engine(true, false);
	v = seg(t, e, true, 713, TP_TCP_ACK, read_ok, 12);
	CU_ASSERT_EQUAL(v.flow, TP_FLOW_PASS_FLOW);
	CU_ASSERT_EQUAL(v.app, TP_MODBUS_NO_STREAM);
	tp_flow_table_free(t);
	tp_engine_slot_fini(&slot);
}

/* A broader allow without a profile admits the payload unchecked. */
static void test_plain_allow_wins(void)
{
	struct tp_engine *e;
	struct tp_flow_table *t = table(16);

	tp_engine_slot_init(&slot, NULL, NULL);
	e = engine(true, true);
	seg(t, e, true, 1, TP_TCP_SYN, NULL, 0);
	CU_ASSERT_EQUAL(seg(t, e, true, 2, TP_TCP_ACK, write_6, 12).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, 99, TP_TCP_ACK, unit_2, 12).app, TP_MODBUS_OK);
	tp_flow_table_free(t);
	tp_engine_slot_fini(&slot);
}

/* DESIGN.md §7.3: a request passes if any matching allow's profile
 * admits it, so neither the ids nor the order of the rules matter. */
static void test_overlapping_profiles(void)
{
	static const struct {
		uint32_t a, b;
		bool b_first;
	} variants[] = {{10, 20, false}, {20, 10, false}, {10, 20, true}, {20, 10, true}};
	/* unit 1, function 6, register 50: a allows no write, b not 50 */
	static const uint8_t write_50[] = {0, 5, 0, 0, 0, 6, 1, 6, 0, 50, 0, 1};

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct tp_flow_table *t = table(16);
		struct tp_engine *e;
		struct tp_decision d;
		uint32_t c = 100;

		tp_engine_slot_init(&slot, NULL, NULL);
		e = engine_two(variants[i].a, variants[i].b, variants[i].b_first);
		CU_ASSERT_EQUAL(seg(t, e, true, c++, TP_TCP_SYN, NULL, 0).app, TP_MODBUS_OK);
		/* a's read and b's write both pass, in one stream */
		CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
		c += 12;
		CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, write_6, 12).app, TP_MODBUS_OK);
		c += 12;
		/* what neither admits whole is refused */
		CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, write_50, 12).app,
				TP_MODBUS_REGISTER);
		CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_500, 12).app,
				TP_MODBUS_REGISTER);
		CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, unit_2, 12).app, TP_MODBUS_UNIT);
		CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
		/* the decision still names the smaller id */
		{
			struct tp_flow f = {.proto = 6, .sport = CPORT, .dport = 502};

			tp_prefix_parse(CLIENT, &f.src);
			tp_prefix_parse(SERVER, &f.dst);
			tp_engine_decide(e, &f, &d);
			CU_ASSERT_EQUAL(d.rule_id, 10);
			CU_ASSERT_TRUE(d.profile);
		}
		tp_flow_table_free(t);
		tp_engine_slot_fini(&slot);
	}
}

/* Two requests pass the TP, the first is lost behind it: the client
 * resends both as one segment (Linux coalesces), and the session goes
 * on; a resend with other bytes in what was checked is refused. */
static void test_lost_then_coalesced(void)
{
	struct tp_flow_table *t = table(16);
	struct tp_engine *e;
	uint8_t two[36];
	uint32_t c = 100;

	tp_engine_slot_init(&slot, NULL, NULL);
	e = engine(true, false);
	memcpy(two, read_ok, 12);
	memcpy(two + 12, read_ok, 12);
	memcpy(two + 24, read_ok, 12);
	CU_ASSERT_EQUAL(seg(t, e, true, c++, TP_TCP_SYN, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, two, 12).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c + 12, TP_TCP_ACK, two + 12, 12).app, TP_MODBUS_OK);
	/* the coalesced resend, with the next request appended */
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, two, 36).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c + 36, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
	/* the read turned into a write (refused by the profile anyway) and
	 * into another allowed read: neither is what was checked */
	memcpy(two + 12, write_6, 12);
	CU_ASSERT_EQUAL(seg(t, e, true, c + 12, TP_TCP_ACK, two + 12, 12).app,
			TP_MODBUS_RETRANSMIT_DIFFERS);
	two[12 + 7] = 3; /* read register 5: allowed on its own */
	CU_ASSERT_EQUAL(seg(t, e, true, c + 12, TP_TCP_ACK, two + 12, 12).app,
			TP_MODBUS_RETRANSMIT_DIFFERS);
	CU_ASSERT_EQUAL(seg(t, e, true, c + 48, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
	tp_flow_table_free(t);
	tp_engine_slot_fini(&slot);
}

/* A SYN inside a connection the server answered does not restart the
 * checked stream: the server ignores it (a challenge ACK), so a stream
 * re-based at the SYN's sequence number would be read by the TP from
 * another offset than by the server. Here the TP would see an allowed
 * read where the server, trimming the 6 bytes it already has, reads a
 * write; the same after a FIN the server may never have received (TTL
 * or checksum). Only a connection both ends closed, or one the server
 * never answered, starts again. */
static void test_syn_does_not_rebase(void)
{
	/* the server's view: write register 5 (transaction 0x0103) */
	static const uint8_t smuggle[18] = {0, 9, 0, 0, 0, 6, 1, 3, 0, 0, 0, 6, 1, 6, 0, 5, 0, 1};
	struct tp_flow_table *t = table(16);
	struct tp_engine *e;
	uint32_t c = 100, s = 9000;

	tp_engine_slot_init(&slot, NULL, NULL);
	e = engine(true, false);
	/* before any data */
	CU_ASSERT_EQUAL(seg(t, e, true, c++, TP_TCP_SYN, NULL, 0).app, TP_MODBUS_OK);
	seg(t, e, false, s++, TP_TCP_SYN | TP_TCP_ACK, NULL, 0);
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c - 7, TP_TCP_SYN, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_NOT_EQUAL(seg(t, e, true, c - 6, TP_TCP_ACK, smuggle, 18).app, TP_MODBUS_OK);
	/* the real stream goes on */
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
	c += 12;
	/* after the client's FIN alone */
	CU_ASSERT_EQUAL(seg(t, e, true, c, TP_TCP_ACK | TP_TCP_FIN, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, c - 7, TP_TCP_SYN, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_NOT_EQUAL(seg(t, e, true, c - 6, TP_TCP_ACK, smuggle, 18).app, TP_MODBUS_OK);
	/* both ends closed: the ports may carry a new connection */
	seg(t, e, false, s, TP_TCP_ACK | TP_TCP_FIN, NULL, 0);
	CU_ASSERT_EQUAL(seg(t, e, true, 5000, TP_TCP_SYN, NULL, 0).app, TP_MODBUS_OK);
	CU_ASSERT_EQUAL(seg(t, e, true, 5001, TP_TCP_ACK, read_ok, 12).app, TP_MODBUS_OK);
	tp_flow_table_free(t);
	tp_engine_slot_fini(&slot);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("flow_app", NULL, NULL);
	CU_add_test(suite, "a connection under a profile", test_connection);
	CU_add_test(suite, "no mid-stream pickup", test_no_pickup);
	CU_add_test(suite, "a plain allow admits unchecked", test_plain_allow_wins);
	CU_add_test(suite, "overlapping profiles: the union, any ids and order",
		    test_overlapping_profiles);
	CU_add_test(suite, "a lost segment, then a coalesced retransmission",
		    test_lost_then_coalesced);
	CU_add_test(suite, "a SYN inside an answered connection does not re-base the stream",
		    test_syn_does_not_rebase);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
