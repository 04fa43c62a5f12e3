// SPDX-License-Identifier: MIT
/*
 * tp_flow_parse() on hand-built packets: every refusal reason, IPv6
 * extension headers, ICMP echo ids, ICMP errors quoting a flow's packet
 * (v4 and v6), and parse -> flow table end to end.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <string.h>

#include "tp/policy/flow.h"

struct buf {
	uint8_t b[256];
	size_t n;
};

static void put(struct buf *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put16(struct buf *p, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(p, b, 2);
}

/* IPv4 header with total length = 20 + l4len (patched by the caller when
 * testing bad lengths). */
static void ip4(struct buf *p, uint8_t proto, const char *src, const char *dst, size_t l4len)
{
	uint8_t h[20] = {0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto};

	h[2] = (uint8_t)((20 + l4len) >> 8);
	h[3] = (uint8_t)(20 + l4len);
	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
	put(p, h, 20);
}

static void ip6(struct buf *p, uint8_t next, const char *src, const char *dst, size_t payload)
{
	uint8_t h[40] = {0x60, 0, 0, 0, (uint8_t)(payload >> 8), (uint8_t)payload, next, 64};

	inet_pton(AF_INET6, src, h + 8);
	inet_pton(AF_INET6, dst, h + 24);
	put(p, h, 40);
}

static void tcp(struct buf *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint8_t h[20] = {0};

	h[0] = (uint8_t)(sport >> 8);
	h[1] = (uint8_t)sport;
	h[2] = (uint8_t)(dport >> 8);
	h[3] = (uint8_t)dport;
	h[12] = 0x50;
	h[13] = flags;
	put(p, h, 20);
}

static void udp(struct buf *p, uint16_t sport, uint16_t dport)
{
	put16(p, sport);
	put16(p, dport);
	put16(p, 8);
	put16(p, 0);
}

static void icmp(struct buf *p, uint8_t type, uint8_t code, uint16_t id)
{
	uint8_t h[8] = {type, code, 0, 0, (uint8_t)(id >> 8), (uint8_t)id, 0, 1};

	put(p, h, 8);
}

static enum tp_parse_result parse(const struct buf *p, struct tp_flow_pkt *out)
{
	return tp_flow_parse(p->b, p->n, out);
}

static void test_v4_tcp(void)
{
	struct tp_flow_pkt k;
	struct buf p = {.n = 0};

	ip4(&p, 6, "10.9.0.5", "10.1.0.7", 20);
	tcp(&p, 40000, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(k.f.proto, 6);
	CU_ASSERT_EQUAL(k.f.src.family, TP_AF_INET);
	CU_ASSERT_EQUAL(k.f.src.addr[3], 5);
	CU_ASSERT_EQUAL(k.f.dst.addr[3], 7);
	CU_ASSERT_EQUAL(k.f.sport, 40000);
	CU_ASSERT_EQUAL(k.f.dport, 502);
	CU_ASSERT_EQUAL(k.tcp_flags, TP_TCP_SYN);
	CU_ASSERT_FALSE(k.icmp_error);

	/* refusals */
	CU_ASSERT_EQUAL(tp_flow_parse(p.b, p.n - 1, &k), TP_PARSE_TRUNCATED);
	CU_ASSERT_EQUAL(tp_flow_parse(p.b, 0, &k), TP_PARSE_TRUNCATED);
	CU_ASSERT_EQUAL(tp_flow_parse(p.b, 19, &k), TP_PARSE_TRUNCATED);
	p.b[0] = 0x44; /* IHL 16 bytes */
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_BAD_HEADER);
	p.b[0] = 0x55;
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_BAD_VERSION);
	p.b[0] = 0x45;
	p.b[3] = 10; /* total length below the header */
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_BAD_HEADER);
	p.b[3] = 30; /* total length covers 10 bytes of TCP only */
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_TRUNCATED);
	p.b[3] = 40;
	p.b[6] = 0x20; /* more fragments, offset 0: the first fragment */
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_OK);
	p.b[7] = 0x10; /* offset 16 */
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_FRAGMENT);
	CU_ASSERT_STRING_EQUAL(tp_parse_result_name(TP_PARSE_FRAGMENT), "fragment");
}

static void test_v6_ext(void)
{
	struct tp_flow_pkt k;
	struct buf p = {.n = 0};
	uint8_t hop[8] = {60, 0, 1, 4, 0, 0, 0, 0};   /* -> dstopts */
	uint8_t dst[16] = {17, 1, 1, 12, 0, 0, 0, 0}; /* 16 bytes -> udp */

	ip6(&p, 0, "fd00:9::5", "fd00:1::7", 8 + 16 + 8);
	put(&p, hop, 8);
	put(&p, dst, 16);
	udp(&p, 2222, 2222);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(k.f.proto, 17);
	CU_ASSERT_EQUAL(k.f.src.family, TP_AF_INET6);
	CU_ASSERT_EQUAL(k.f.sport, 2222);
	CU_ASSERT_EQUAL(k.f.dst.addr[15], 7);
	CU_ASSERT_EQUAL(tp_flow_parse(p.b, p.n - 1, &k), TP_PARSE_TRUNCATED);
	CU_ASSERT_EQUAL(tp_flow_parse(p.b, 45, &k), TP_PARSE_TRUNCATED);

	/* a non-first fragment */
	p.n = 0;
	ip6(&p, 44, "fd00:9::5", "fd00:1::7", 8 + 8);
	put(&p, (uint8_t[8]){17, 0, 0x01, 0x00, 0, 0, 0, 9}, 8);
	udp(&p, 1, 2);
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_FRAGMENT);
	p.b[42] = 0; /* offset 0: the first fragment */
	p.b[43] = 1; /* M flag */
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(k.f.dport, 2);

	/* nine extension headers: refused */
	p.n = 0;
	ip6(&p, 60, "fd00:9::5", "fd00:1::7", 9 * 8 + 8);
	for (int i = 0; i < 9; i++)
		put(&p, (uint8_t[8]){i == 8 ? 17 : 60, 0}, 8);
	udp(&p, 1, 2);
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_BAD_HEADER);

	/* ICMP (v4) inside IPv6 */
	p.n = 0;
	ip6(&p, 1, "fd00:9::5", "fd00:1::7", 8);
	icmp(&p, 8, 0, 1);
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_BAD_L4);
}

static void test_icmp(void)
{
	struct tp_flow_pkt k;
	struct buf p = {.n = 0}, q = {.n = 0};

	ip4(&p, 1, "10.9.0.5", "10.1.0.7", 8);
	icmp(&p, 8, 0, 77);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(k.f.icmp_type, 8);
	CU_ASSERT_EQUAL(k.f.sport, 77);
	CU_ASSERT_EQUAL(k.f.dport, 77);
	CU_ASSERT_FALSE(k.icmp_error);

	/* destination unreachable quoting a TCP SYN: IP header + 8 bytes */
	ip4(&q, 6, "10.9.0.5", "10.1.0.7", 20);
	tcp(&q, 40000, 502, TP_TCP_SYN);
	p.n = 0;
	ip4(&p, 1, "10.1.0.1", "10.9.0.5", 8 + 28);
	icmp(&p, 3, 1, 0);
	put(&p, q.b, 28);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_TRUE(k.icmp_error);
	CU_ASSERT_EQUAL(k.inner.proto, 6);
	CU_ASSERT_EQUAL(k.inner.sport, 40000);
	CU_ASSERT_EQUAL(k.inner.dport, 502);
	CU_ASSERT_EQUAL(k.inner.src.addr[3], 5);
	CU_ASSERT_EQUAL(k.f.sport, 0);

	/* a quote too short to name the flow: an unrelated ICMP packet */
	p.n = 0;
	ip4(&p, 1, "10.1.0.1", "10.9.0.5", 8 + 22);
	icmp(&p, 3, 1, 0);
	put(&p, q.b, 22);
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_FALSE(k.icmp_error);

	/* an error quoting an error */
	q.n = 0;
	ip4(&q, 1, "10.9.0.5", "10.1.0.7", 8);
	icmp(&q, 11, 0, 0);
	p.n = 0;
	ip4(&p, 1, "10.1.0.1", "10.9.0.5", 8 + 28);
	icmp(&p, 3, 1, 0);
	put(&p, q.b, 28);
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_FALSE(k.icmp_error);

	/* IPv6 packet too big quoting a UDP datagram, and quoting an echo */
	q.n = 0;
	ip6(&q, 17, "fd00:9::5", "fd00:1::7", 8 + 1400);
	udp(&q, 2222, 2222);
	p.n = 0;
	ip6(&p, 58, "fd00:1::1", "fd00:9::5", 8 + 48);
	icmp(&p, 2, 0, 0);
	put(&p, q.b, 48);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_TRUE(k.icmp_error);
	CU_ASSERT_EQUAL(k.inner.proto, 17);
	CU_ASSERT_EQUAL(k.inner.dport, 2222);
	q.n = 0;
	ip6(&q, 58, "fd00:9::5", "fd00:1::7", 8);
	icmp(&q, 128, 0, 99);
	p.n = 0;
	ip6(&p, 58, "fd00:1::1", "fd00:9::5", 8 + 48);
	icmp(&p, 3, 0, 0);
	put(&p, q.b, 48);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_TRUE(k.icmp_error);
	CU_ASSERT_EQUAL(k.inner.sport, 99);
	CU_ASSERT_EQUAL(k.inner.icmp_type, 128);
}

/* Issue 10: the set dataplane/pkt agrees on (tests/fuzz/parse_diff) —
 * parameter problem relates to nothing, AH is walked to the transport
 * header, and only a quoted echo names an ICMP flow. */
static void test_agree_with_pkt(void)
{
	struct tp_flow_pkt k;
	struct buf p = {.n = 0}, q = {.n = 0};
	uint8_t ah[24] = {6, 4}; /* 24 bytes: (4 + 2) * 4 -> tcp */

	ip4(&q, 17, "10.9.0.5", "10.1.0.7", 8);
	udp(&q, 2222, 2222);
	ip4(&p, 1, "10.1.0.1", "10.9.0.5", 8 + 28);
	icmp(&p, 12, 0, 0);
	put(&p, q.b, 28);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_FALSE(k.icmp_error);
	CU_ASSERT_FALSE(tp_flow_icmp_is_error(1, 12));
	CU_ASSERT_FALSE(tp_flow_icmp_is_error(58, 4));
	CU_ASSERT_TRUE(tp_flow_icmp_is_error(58, 2));

	p.n = 0;
	ip6(&p, 51, "fd00:9::5", "fd00:1::7", 24 + 20);
	put(&p, ah, 24);
	tcp(&p, 40000, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL_FATAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(k.f.proto, 6);
	CU_ASSERT_EQUAL(k.f.dport, 502);

	/* unreachable quoting a timestamp request: no flow to name */
	q.n = 0;
	ip4(&q, 1, "10.9.0.5", "10.1.0.7", 8);
	icmp(&q, 13, 0, 0);
	p.n = 0;
	ip4(&p, 1, "10.1.0.1", "10.9.0.5", 8 + 28);
	icmp(&p, 3, 1, 0);
	put(&p, q.b, 28);
	CU_ASSERT_EQUAL(parse(&p, &k), TP_PARSE_OK);
	CU_ASSERT_FALSE(k.icmp_error);
}

static uint64_t clock_ns;

static uint64_t test_clock(void *arg)
{
	(void)arg;
	return clock_ns;
}

/* parse -> flow table: a SYN opens a flow, the error quoting it relates */
static void test_end_to_end(void)
{
	struct tp_site site = {0};
	struct tp_zone zones[2] = {0};
	struct tp_prefix pfx[2];
	struct tp_port_range modbus = {502, 502};
	struct tp_rule rule = {.id = 7,
			       .from_zone = 1,
			       .to_zone = 0,
			       .action = TP_ACTION_ALLOW,
			       .proto = 6,
			       .dst_ports = &modbus,
			       .n_dst_ports = 1,
			       .stateful = true};
	struct tp_tpoint tp = {0};
	struct tp_flow_config cfg;
	struct tp_flow_table *t;
	struct tp_engine *e = NULL;
	struct tp_flow_pkt k;
	struct tp_decision d;
	struct buf p = {.n = 0}, q = {.n = 0};
	char err[100];

	CU_ASSERT_TRUE(tp_prefix_parse("10.1.0.0/16", &pfx[0]));
	CU_ASSERT_TRUE(tp_prefix_parse("10.9.0.0/16", &pfx[1]));
	zones[0].prefixes = &pfx[0];
	zones[1].prefixes = &pfx[1];
	zones[0].n_prefixes = zones[1].n_prefixes = 1;
	site.zones = zones;
	site.n_zones = 2;
	site.tps = &tp;
	site.n_tps = 1;
	site.rules = &rule;
	site.n_rules = 1;
	CU_ASSERT_EQUAL_FATAL(tp_engine_compile(&site, 0, &e, err, sizeof(err)), 0);
	tp_flow_config_default(&cfg);
	cfg.capacity = 8;
	cfg.clock_ns = test_clock;
	t = tp_flow_table_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);

	ip4(&q, 6, "10.9.0.5", "10.1.0.7", 20);
	tcp(&q, 40000, 502, TP_TCP_SYN);
	CU_ASSERT_EQUAL(tp_flow_parse(q.b, q.n, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &k, &d), TP_FLOW_PASS_NEW);
	ip4(&p, 1, "10.1.0.1", "10.9.0.5", 8 + 28);
	icmp(&p, 3, 4, 0); /* fragmentation needed: IPv4's packet too big */
	put(&p, q.b, 28);
	CU_ASSERT_EQUAL(tp_flow_parse(p.b, p.n, &k), TP_PARSE_OK);
	CU_ASSERT_EQUAL(tp_flow_classify(t, e, &k, &d), TP_FLOW_PASS_RELATED);
	CU_ASSERT_EQUAL(d.rule_id, 7);
	tp_flow_table_free(t);
	tp_engine_free(e);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("flow_parse", NULL, NULL);
	CU_add_test(suite, "IPv4 TCP and refusals", test_v4_tcp);
	CU_add_test(suite, "IPv6 extension headers", test_v6_ext);
	CU_add_test(suite, "ICMP echo ids and errors", test_icmp);
	CU_add_test(suite, "parse then classify", test_end_to_end);
	CU_add_test(suite, "agrees with dataplane/pkt", test_agree_with_pkt);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
