// SPDX-License-Identifier: MIT
/*
 * Packet parser: one fixture per accepted shape and at least one per drop
 * reason. Fixtures are built from a few valid templates and then broken in
 * exactly one way, so each case shows which byte makes the difference.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "tp/dp/drop.h"
#include "tp/dp/pkt.h"

struct frame {
	uint8_t b[2048];
	size_t len;
	size_t l3; /* offset of the IP header */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void ip4_fix_csum(struct frame *f)
{
	uint8_t *ip = f->b + f->l3;
	unsigned ihl = (ip[0] & 0xf) * 4u;
	uint32_t sum = 0;

	put16(ip + 10, 0);
	for (unsigned i = 0; i < ihl; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
}

/* Ethernet header with n_vlan tags, then ethertype. */
static void eth(struct frame *f, uint16_t type, unsigned n_vlan)
{
	memset(f, 0, sizeof(*f));
	memset(f->b, 0x02, 12);
	f->len = 12;
	for (unsigned i = 0; i < n_vlan; i++) {
		put16(f->b + f->len, i == 0 && n_vlan > 1 ? 0x88a8 : 0x8100);
		put16(f->b + f->len + 2, (uint16_t)(100 + i));
		f->len += 4;
	}
	put16(f->b + f->len, type);
	f->len += 2;
	f->l3 = f->len;
}

/* L4 header of proto at p; returns its length. */
static size_t l4(uint8_t *p, uint8_t proto, size_t payload)
{
	switch (proto) {
	case TP_IPPROTO_TCP:
		put16(p, 40000);
		put16(p + 2, 502);
		p[12] = 5 << 4;
		p[13] = TP_TCP_SYN;
		return 20;
	case TP_IPPROTO_UDP:
		put16(p, 40000);
		put16(p + 2, 47808);
		put16(p + 4, (uint16_t)(8 + payload));
		return 8;
	case TP_IPPROTO_ICMP:
		p[0] = 8; /* echo request */
		put16(p + 4, 0x1234);
		return 8;
	case TP_IPPROTO_ICMPV6:
		p[0] = 128;
		put16(p + 4, 0x1234);
		return 8;
	}
	return 0;
}

static void ip4(struct frame *f, uint8_t proto, size_t payload, unsigned n_vlan)
{
	uint8_t *ip;
	size_t l4len;

	eth(f, 0x0800, n_vlan);
	ip = f->b + f->l3;
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = 10, ip[13] = 1, ip[14] = 0, ip[15] = 5;
	ip[16] = 10, ip[17] = 2, ip[18] = 0, ip[19] = 7;
	l4len = l4(ip + 20, proto, payload);
	put16(ip + 2, (uint16_t)(20 + l4len + payload));
	f->len = f->l3 + 20 + l4len + payload;
	ip4_fix_csum(f);
}

static void ip6(struct frame *f, uint8_t proto, size_t payload)
{
	uint8_t *ip;
	size_t l4len;

	eth(f, 0x86dd, 0);
	ip = f->b + f->l3;
	ip[0] = 0x60;
	ip[6] = proto;
	ip[7] = 64;
	ip[8] = 0xfd, ip[23] = 5;
	ip[24] = 0xfd, ip[39] = 7;
	l4len = l4(ip + 40, proto, payload);
	put16(ip + 4, (uint16_t)(l4len + payload));
	f->len = f->l3 + 40 + l4len + payload;
}

/* Insert an IPv6 extension header (type nh, hlen bytes) right after the
 * fixed header, chaining it in. */
static void ip6_ext(struct frame *f, uint8_t nh, size_t hlen)
{
	uint8_t *ip = f->b + f->l3;
	size_t tail = f->len - f->l3 - 40;

	memmove(ip + 40 + hlen, ip + 40, tail);
	memset(ip + 40, 0, hlen);
	ip[40] = ip[6];
	if (nh == 51)
		ip[41] = (uint8_t)(hlen / 4 - 2);
	else if (nh != 44)
		ip[41] = (uint8_t)(hlen / 8 - 1);
	if (nh == 43)
		ip[42] = 4; /* segment routing, not type 0 */
	ip[6] = nh;
	put16(ip + 4, (uint16_t)(tail + hlen));
	f->len += hlen;
}

static enum tp_pkt_result parse(struct frame *f, struct tp_pkt_info *pi)
{
	return tp_pkt_parse_eth(f->b, f->len, pi);
}

static void test_valid_ip4(void)
{
	struct frame f;
	struct tp_pkt_info pi;

	ip4(&f, TP_IPPROTO_TCP, 10, 0);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.family, 4);
	CU_ASSERT_EQUAL(pi.proto, TP_IPPROTO_TCP);
	CU_ASSERT_EQUAL(pi.l3_off, 14);
	CU_ASSERT_EQUAL(pi.l4_off, 34);
	CU_ASSERT_EQUAL(pi.ip_len, 50);
	CU_ASSERT_EQUAL(pi.l4_len, 30);
	CU_ASSERT_EQUAL(pi.sport, 40000);
	CU_ASSERT_EQUAL(pi.dport, 502);
	CU_ASSERT_EQUAL(pi.tcp_flags, TP_TCP_SYN);
	CU_ASSERT_EQUAL(pi.ttl, 64);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_PORTS);
	CU_ASSERT_EQUAL(pi.src[0], 10);
	CU_ASSERT_EQUAL(pi.src[3], 5);
	CU_ASSERT_EQUAL(pi.dst[1], 2);
	CU_ASSERT_EQUAL(pi.src[4], 0);

	/* Ethernet padding after the IP packet is ignored */
	ip4(&f, TP_IPPROTO_UDP, 2, 0);
	f.len = 60;
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.ip_len, 30);
	CU_ASSERT_EQUAL(pi.l4_len, 10);
	CU_ASSERT_EQUAL(pi.dport, 47808);

	/* a UDP length shorter than the IP payload trims it */
	ip4(&f, TP_IPPROTO_UDP, 20, 0);
	put16(f.b + 34 + 4, 12);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.l4_len, 12);

	/* ICMP echo */
	ip4(&f, TP_IPPROTO_ICMP, 0, 0);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_ICMP_ECHO);
	CU_ASSERT_EQUAL(pi.icmp_type, 8);
	CU_ASSERT_EQUAL(pi.icmp_id, 0x1234);

	/* ICMP error quoting a packet */
	ip4(&f, TP_IPPROTO_ICMP, 28, 0);
	f.b[34] = 3, f.b[35] = 4;
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_ICMP_ERROR);
	CU_ASSERT_FALSE(pi.flags & TP_PKT_F_ICMP_ECHO);
	CU_ASSERT_EQUAL(pi.inner_off, 42);
	/* parameter problem is no error that relates to a flow (as the
	 * flow parser: tests/fuzz/parse_diff) */
	f.b[34] = 12, f.b[35] = 0;
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_FALSE(pi.flags & TP_PKT_F_ICMP_ERROR);

	/* options */
	ip4(&f, TP_IPPROTO_UDP, 0, 0);
	memmove(f.b + 38, f.b + 34, 8);
	memset(f.b + 34, 1, 4); /* four NOPs */
	f.b[14] = 0x46;
	put16(f.b + 16, 32);
	f.len += 4;
	ip4_fix_csum(&f);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_IP_OPTS);
	CU_ASSERT_EQUAL(pi.l4_off, 38);
	CU_ASSERT_EQUAL(pi.dport, 47808);

	/* a protocol without ports */
	ip4(&f, 47 /* GRE */, 4, 0);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.proto, 47);
	CU_ASSERT_FALSE(pi.flags & TP_PKT_F_PORTS);

	/* VLAN and QinQ */
	ip4(&f, TP_IPPROTO_TCP, 0, 1);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.l3_off, 18);
	CU_ASSERT_EQUAL(pi.vlan_tci, 100);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_VLAN);
	ip4(&f, TP_IPPROTO_TCP, 0, 2);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.l3_off, 22);
	CU_ASSERT_EQUAL(pi.dport, 502);

	/* bare IP (a decrypted tunnel payload) */
	ip4(&f, TP_IPPROTO_TCP, 0, 0);
	CU_ASSERT_EQUAL(tp_pkt_parse_ip(f.b + 14, f.len - 14, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.l3_off, 0);
	CU_ASSERT_EQUAL(pi.l4_off, 20);
}

static void test_valid_ip6(void)
{
	struct frame f;
	struct tp_pkt_info pi;

	ip6(&f, TP_IPPROTO_UDP, 4);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.family, 6);
	CU_ASSERT_EQUAL(pi.l4_off, 54);
	CU_ASSERT_EQUAL(pi.ip_len, 52);
	CU_ASSERT_EQUAL(pi.dport, 47808);
	CU_ASSERT_EQUAL(pi.src[0], 0xfd);
	CU_ASSERT_EQUAL(pi.dst[15], 7);

	ip6(&f, TP_IPPROTO_ICMPV6, 0);
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_ICMP_ECHO);
	CU_ASSERT_EQUAL(pi.icmp_type, 128);

	ip6(&f, TP_IPPROTO_ICMPV6, 48);
	f.b[54] = 2; /* packet too big */
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_ICMP_ERROR);
	CU_ASSERT_EQUAL(pi.inner_off, 62);

	/* HBH, destination options, routing (type 4), AH, atomic fragment */
	ip6(&f, TP_IPPROTO_TCP, 0);
	ip6_ext(&f, 44, 8);  /* atomic fragment */
	ip6_ext(&f, 51, 16); /* AH */
	ip6_ext(&f, 43, 24); /* routing type 4 */
	ip6_ext(&f, 60, 8);  /* destination options */
	ip6_ext(&f, 0, 8);   /* hop-by-hop */
	CU_ASSERT_EQUAL_FATAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.proto, TP_IPPROTO_TCP);
	CU_ASSERT_EQUAL(pi.l4_off, 14 + 40 + 64);
	CU_ASSERT_EQUAL(pi.dport, 502);
	CU_ASSERT_TRUE(pi.flags & TP_PKT_F_IP_OPTS);

	/* no next header */
	ip6(&f, 59, 8);
	CU_ASSERT_EQUAL(parse(&f, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.proto, 59);
}

struct bad_case {
	const char *what;
	enum tp_pkt_result want;
};

static void expect(struct frame *f, enum tp_pkt_result want, const char *what)
{
	struct tp_pkt_info pi;
	enum tp_pkt_result got = parse(f, &pi);

	if (got != want)
		fprintf(stderr, "\n %s: got %s, want %s\n", what, tp_pkt_result_name(got),
			tp_pkt_result_name(want));
	CU_ASSERT_EQUAL(got, want);
}

static void test_every_reason(void)
{
	bool covered[TP_PKT__COUNT] = {false};
	struct frame f;

#define BAD(want, what)                          \
	do {                                     \
		expect(&f, TP_PKT_##want, what); \
		covered[TP_PKT_##want] = true;   \
	} while (0)

	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.len = 13;
	BAD(ETH_TRUNC, "13-byte frame");
	ip4(&f, TP_IPPROTO_TCP, 0, 1), f.len = 16;
	BAD(ETH_TRUNC, "VLAN tag cut");
	eth(&f, 0x8100, 3), f.len += 40;
	BAD(VLAN_DEPTH, "three tags");
	eth(&f, 0x0806, 0), f.len += 28;
	BAD(NOT_IP, "ARP");

	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.len = 14 + 19;
	BAD(IP4_TRUNC, "19-byte IPv4 header");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[14] = 0x55, ip4_fix_csum(&f);
	BAD(IP4_VERSION, "version 5");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[14] = 0x44;
	BAD(IP4_IHL, "IHL 4");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[14] = 0x4f;
	BAD(IP4_IHL, "IHL 15 beyond the frame");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[24] ^= 1;
	BAD(IP4_CSUM, "checksum off by one");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 16, 19), ip4_fix_csum(&f);
	BAD(IP4_TOTLEN, "total length below IHL");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 16, 41), ip4_fix_csum(&f);
	BAD(IP4_TOTLEN, "total length beyond frame");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 20, 0x2000), ip4_fix_csum(&f);
	BAD(IP4_FRAGMENT, "first fragment (MF)");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 20, 0x0010), ip4_fix_csum(&f);
	BAD(IP4_FRAGMENT, "later fragment (offset)");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 20, 0x4000), ip4_fix_csum(&f);
	expect(&f, TP_PKT_OK, "DF alone is not a fragment");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[26] = 127, ip4_fix_csum(&f);
	BAD(IP4_MARTIAN, "loopback source");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[26] = 239, ip4_fix_csum(&f);
	BAD(IP4_MARTIAN, "multicast source");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[30] = 127, ip4_fix_csum(&f);
	BAD(IP4_MARTIAN, "loopback destination");

	ip6(&f, TP_IPPROTO_UDP, 0), f.len = 14 + 39;
	BAD(IP6_TRUNC, "39-byte IPv6 header");
	ip6(&f, TP_IPPROTO_UDP, 0), f.b[14] = 0x70;
	BAD(IP6_VERSION, "version 7");
	ip6(&f, TP_IPPROTO_UDP, 0), put16(f.b + 18, 0);
	BAD(IP6_PAYLEN, "jumbogram payload length 0");
	ip6(&f, TP_IPPROTO_UDP, 0), put16(f.b + 18, 9);
	BAD(IP6_PAYLEN, "payload beyond frame");
	ip6(&f, TP_IPPROTO_UDP, 0), ip6_ext(&f, 60, 8), f.b[14 + 41] = 3;
	BAD(IP6_EXT_TRUNC, "destination options longer than payload");
	ip6(&f, 60, 0), put16(f.b + 18, 4), f.len = 14 + 44;
	BAD(IP6_EXT_TRUNC, "extension header shorter than 8");
	ip6(&f, TP_IPPROTO_UDP, 0);
	for (int i = 0; i < TP_PKT_IP6_EXT_MAX + 1; i++)
		ip6_ext(&f, 60, 8);
	BAD(IP6_EXT_DEPTH, "nine extension headers");
	ip6(&f, TP_IPPROTO_UDP, 0), ip6_ext(&f, 0, 8), ip6_ext(&f, 60, 8);
	BAD(IP6_HBH_ORDER, "hop-by-hop second");
	ip6(&f, TP_IPPROTO_UDP, 0), ip6_ext(&f, 43, 24), f.b[14 + 42] = 0;
	BAD(IP6_RH0, "routing header type 0");
	ip6(&f, TP_IPPROTO_UDP, 0), ip6_ext(&f, 44, 8), f.b[14 + 43] = 1;
	BAD(IP6_FRAGMENT, "first fragment (M)");
	ip6(&f, TP_IPPROTO_UDP, 0), ip6_ext(&f, 44, 8), put16(f.b + 14 + 42, 0x0008);
	BAD(IP6_FRAGMENT, "later fragment (offset)");
	ip6(&f, TP_IPPROTO_UDP, 0), memset(f.b + 22, 0, 16), f.b[37] = 1;
	BAD(IP6_MARTIAN, "loopback source");
	ip6(&f, TP_IPPROTO_UDP, 0), memset(f.b + 22, 0, 16);
	BAD(IP6_MARTIAN, "unspecified source");
	ip6(&f, TP_IPPROTO_UDP, 0), f.b[22] = 0xff;
	BAD(IP6_MARTIAN, "multicast source");
	ip6(&f, TP_IPPROTO_UDP, 0), memset(f.b + 38, 0, 16), f.b[53] = 1;
	BAD(IP6_MARTIAN, "loopback destination");

	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 16, 39), f.len = 53, ip4_fix_csum(&f);
	BAD(L4_TRUNC, "19-byte TCP header");
	ip4(&f, TP_IPPROTO_UDP, 0, 0), put16(f.b + 16, 27), f.len = 41, ip4_fix_csum(&f);
	BAD(L4_TRUNC, "7-byte UDP header");
	ip4(&f, TP_IPPROTO_ICMP, 0, 0), put16(f.b + 16, 27), f.len = 41, ip4_fix_csum(&f);
	BAD(L4_TRUNC, "7-byte ICMP header");
	ip6(&f, TP_IPPROTO_ICMPV6, 0), put16(f.b + 18, 4), f.len = 14 + 44;
	BAD(L4_TRUNC, "4-byte ICMPv6 header");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[46] = 4 << 4;
	BAD(TCP_DOFF, "data offset 4");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[46] = 6 << 4;
	BAD(TCP_DOFF, "data offset beyond payload");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[47] = TP_TCP_SYN | TP_TCP_FIN;
	BAD(TCP_FLAGS, "SYN+FIN");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[47] = TP_TCP_SYN | TP_TCP_RST;
	BAD(TCP_FLAGS, "SYN+RST");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[47] = 0;
	BAD(TCP_FLAGS, "no flags");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[47] = TP_TCP_FIN | TP_TCP_PSH | TP_TCP_URG;
	BAD(TCP_FLAGS, "xmas (FIN without ACK)");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), f.b[47] = TP_TCP_FIN | TP_TCP_ACK;
	expect(&f, TP_PKT_OK, "FIN+ACK is fine");
	ip4(&f, TP_IPPROTO_UDP, 0, 0), put16(f.b + 38, 7);
	BAD(UDP_LEN, "UDP length 7");
	ip4(&f, TP_IPPROTO_UDP, 0, 0), put16(f.b + 38, 9);
	BAD(UDP_LEN, "UDP length beyond payload");
	ip4(&f, TP_IPPROTO_UDP, 0, 0), put16(f.b + 34, 0);
	BAD(PORT_ZERO, "UDP source port 0");
	ip4(&f, TP_IPPROTO_TCP, 0, 0), put16(f.b + 36, 0);
	BAD(PORT_ZERO, "TCP destination port 0");
#undef BAD

	for (int r = 1; r < TP_PKT__COUNT; r++) {
		if (!covered[r])
			fprintf(stderr, "\n no fixture for %s\n", tp_pkt_result_name(r));
		CU_ASSERT_TRUE(covered[r]);
	}
}

/* Any prefix of a valid packet parses or is dropped, never read past. */
static void test_truncations(void)
{
	struct frame f;
	struct tp_pkt_info pi;
	uint8_t copy[2048];

	ip6(&f, TP_IPPROTO_TCP, 0);
	ip6_ext(&f, 60, 16);
	for (size_t n = 0; n < f.len; n++) {
		memcpy(copy, f.b, n);
		CU_ASSERT_NOT_EQUAL(tp_pkt_parse_eth(copy, n, &pi), TP_PKT_OK);
	}
	CU_ASSERT_EQUAL(tp_pkt_parse_ip(copy, 0, &pi), TP_PKT_IP4_TRUNC);
}

static void test_names_and_drops(void)
{
	CU_ASSERT_STRING_EQUAL(tp_pkt_result_name(TP_PKT_OK), "ok");
	CU_ASSERT_STRING_EQUAL(tp_pkt_result_name(TP_PKT_IP4_CSUM), "ip4_bad_checksum");
	CU_ASSERT_STRING_EQUAL(tp_pkt_result_name(TP_PKT__COUNT), "?");
	CU_ASSERT_EQUAL(tp_drop_from_pkt(TP_PKT_ETH_TRUNC), TP_DROP_ETH_TRUNC);
	CU_ASSERT_EQUAL(tp_drop_from_pkt(TP_PKT_PORT_ZERO), TP_DROP_PORT_ZERO);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("pkt", NULL, NULL);
	CU_add_test(suite, "valid IPv4 shapes", test_valid_ip4);
	CU_add_test(suite, "valid IPv6 shapes", test_valid_ip6);
	CU_add_test(suite, "a fixture for every drop reason", test_every_reason);
	CU_add_test(suite, "every truncation is a drop", test_truncations);
	CU_add_test(suite, "names and drop mapping", test_names_and_drops);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
