// SPDX-License-Identifier: MIT
/*
 * The Modbus profile through the flow table (tp_flow_app_check()), on
 * IPv4/TCP packets parsed by tp_flow_parse(): client payload checked,
 * server payload passed, no mid-stream pickup (loose pickup, eviction,
 * a profile added to a running flow), a broader plain allow, and a TCP
 * header whose data offset lies.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "tp/engine.h"
#include "tp/flow.h"

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
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
