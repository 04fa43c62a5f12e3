// SPDX-License-Identifier: MIT
/*
 * What the TP puts on the wire, checked byte by byte against a checksum
 * routine written here from RFC 1071/768/8200 (not DPDK's, not the code
 * under test). Run twice: `test_fwd_wire 4` on an IPv4 transit network,
 * `test_fwd_wire 6` on an IPv6 one (fwd_harness.h, H.v6).
 *
 * Every frame the TP sends during the run passes through check_frame()
 * (H.on_take): the IPv4 header checksum, the UDP checksum (mandatory and
 * never 0 over IPv6; 0 or correct over IPv4), the ICMP/ICMPv6 checksum,
 * and the lengths of every layer against the frame. The tests then make
 * the TP emit each kind of outer packet and assert that each was seen:
 * handshake initiation and keepalive (h_setup), handshake response (the
 * remote initiates), cookie reply (initiations under load), data, and the
 * ICMP errors to zone hosts (fragmentation needed, packet too big).
 */
#include <CUnit/Basic.h>

#include "fwd_harness.h"

enum seen_kind {
	SEEN_INITIATION,
	SEEN_RESPONSE,
	SEEN_COOKIE,
	SEEN_DATA,
	SEEN_KEEPALIVE,
	SEEN_ICMP4_FRAG_NEEDED,
	SEEN_ICMP6_TOO_BIG,
	SEEN_OTHER,
	SEEN_NR,
};

static unsigned seen[SEEN_NR];	   /* good frames of each kind */
static unsigned bad;		   /* frames that failed a check */
static unsigned transit_family[2]; /* outer IPv4, IPv6 frames on transit */

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* RFC 1071: the 16-bit one's complement sum of bytes, folded. */
static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* A transport checksum over the pseudo-header (RFC 768 for IPv4, RFC 8200
 * §8.1 for IPv6) and the segment, checksum field included: a correct
 * segment sums to 0xffff. */
static bool ref_l4_ok(bool v6, const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t len)
{
	uint8_t ph[40] = {0};
	size_t phlen;

	if (v6) {
		memcpy(ph, ip + 8, 32);
		ph[34] = (uint8_t)(len >> 8);
		ph[35] = (uint8_t)len;
		ph[39] = proto;
		phlen = 40;
	} else {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		phlen = 12;
	}
	return ref_sum(l4, len, ref_sum(ph, phlen, 0)) == 0xffff;
}

static enum seen_kind tunnel_kind(const uint8_t *msg, size_t len)
{
	if (len < 4 || msg[1] || msg[2] || msg[3])
		return SEEN_OTHER;
	switch (msg[0]) {
	case 1:
		return len == 148 ? SEEN_INITIATION : SEEN_OTHER;
	case 2:
		return len == 92 ? SEEN_RESPONSE : SEEN_OTHER;
	case 3:
		return len == 64 ? SEEN_COOKIE : SEEN_OTHER;
	case 4:
		return len == 32 ? SEEN_KEEPALIVE : len > 32 ? SEEN_DATA : SEEN_OTHER;
	default:
		return SEEN_OTHER;
	}
}

static bool fail(const char *what, int role)
{
	fprintf(stderr, "frame out of the %s port: %s\n", role == TP_PORT_ZONE ? "zone" : "transit",
		what);
	bad++;
	return false;
}

static bool check_frame(int role, const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t flen = rte_pktmbuf_data_len(m), iplen, hlen;
	const uint8_t *ip = p + 14, *l4;
	uint8_t proto;
	bool v6;

	if (m->nb_segs != 1 || flen < 14 + 20)
		return fail("short or chained", role);
	if (be16(p + 12) == 0x0800) {
		v6 = false;
		if (ip[0] != 0x45)
			return fail("IPv4 header with options or bad version", role);
		hlen = 20;
		iplen = be16(ip + 2);
		if (ref_sum(ip, 20, 0) != 0xffff)
			return fail("bad IPv4 header checksum", role);
		proto = ip[9];
	} else if (be16(p + 12) == 0x86dd) {
		v6 = true;
		if (flen < 14 + 40 || ip[0] >> 4 != 6)
			return fail("bad IPv6 header", role);
		hlen = 40;
		iplen = 40 + be16(ip + 4);
		proto = ip[6];
	} else {
		return fail("not IP", role);
	}
	if (iplen != flen - 14 || iplen < hlen + 8)
		return fail("IP length is not the frame's", role);
	l4 = ip + hlen;
	if (role == TP_PORT_TRANSIT) {
		if (proto != 17)
			return fail("not UDP on transit", role);
		if (be16(l4 + 4) != iplen - hlen)
			return fail("UDP length", role);
		if (v6 && be16(l4 + 6) == 0)
			return fail("UDP over IPv6 without a checksum", role);
		if (be16(l4 + 6) != 0 && !ref_l4_ok(v6, ip, 17, l4, iplen - hlen))
			return fail(v6 ? "bad UDP checksum (IPv6)" : "bad UDP checksum (IPv4)",
				    role);
		transit_family[v6]++;
		seen[tunnel_kind(l4 + 8, iplen - hlen - 8)]++;
		return true;
	}
	if (proto == (v6 ? 58 : 1)) {
		bool ok = v6 ? ref_l4_ok(true, ip, 58, l4, iplen - hlen)
			     : ref_sum(l4, iplen - hlen, 0) == 0xffff;

		if (!ok)
			return fail(v6 ? "bad ICMPv6 checksum" : "bad ICMP checksum", role);
		if (!v6 && l4[0] == 3 && l4[1] == 4)
			seen[SEEN_ICMP4_FRAG_NEEDED]++;
		else if (v6 && l4[0] == 2 && l4[1] == 0)
			seen[SEEN_ICMP6_TOO_BIG]++;
		else
			seen[SEEN_OTHER]++;
		return true;
	}
	/* forwarded zone traffic keeps the host's transport checksum */
	seen[SEEN_OTHER]++;
	return true;
}

static void on_take(int role, const struct rte_mbuf *m)
{
	check_frame(role, m);
}

static void take_all(void)
{
	h_poll();
	h_drain(); /* every frame passes check_frame on its way out */
}

/* The frames h_setup saw: tp1 initiated, then confirmed with a keepalive. */
static void test_setup_frames(void)
{
	CU_ASSERT_EQUAL(seen[SEEN_INITIATION], 1);
	CU_ASSERT_EQUAL(seen[SEEN_KEEPALIVE], 1);
	CU_ASSERT_EQUAL(transit_family[H.v6], 2);
	CU_ASSERT_EQUAL(transit_family[!H.v6], 0);
	CU_ASSERT_EQUAL(bad, 0);
}

/* The remote initiates; tp1 answers from its control thread. */
static void test_response(void)
{
	struct rte_mbuf *m[1];

	H.n_sent = 0;
	tp_tunnel_connect(H.remote, H.remote_peer);
	CU_ASSERT_EQUAL_FATAL(H.n_sent, 1);
	m[0] = h_transit_frame(H.sent[0], H.sent_len[0]);
	H.n_sent = 0;
	CU_ASSERT_EQUAL(h_run(TP_PORT_TRANSIT, m, 1), 0); /* to the control thread */
	h_flush();
	tp_fwd_control_run(H.fwd);
	take_all();
	CU_ASSERT_EQUAL(seen[SEEN_RESPONSE], 1);
	CU_ASSERT_EQUAL(bad, 0);
}

/* Initiations queued beyond an eighth of the control ring: tp1 is under
 * load and answers with cookie replies (WireGuard §5.4.7). */
static void test_cookie_reply(void)
{
	struct rte_mbuf *m[32];
	uint8_t init[148];

	H.n_sent = 0;
	H.now_ns += 6ull * 1000000000u; /* past REKEY_TIMEOUT: the remote may initiate again */
	tp_tunnel_connect(H.remote, H.remote_peer);
	CU_ASSERT_EQUAL_FATAL(H.n_sent, 1);
	CU_ASSERT_EQUAL_FATAL(H.sent_len[0], sizeof(init));
	memcpy(init, H.sent[0], sizeof(init));
	H.n_sent = 0;
	for (int b = 0; b < 8; b++) {
		for (int i = 0; i < 32; i++)
			m[i] = h_transit_frame(init, sizeof(init));
		h_run(TP_PORT_TRANSIT, m, 32);
		h_flush();
	}
	tp_fwd_control_run(H.fwd);
	for (int i = 0; i < 64; i++) /* the control thread hands frames over in bursts */
		take_all();
	CU_ASSERT(seen[SEEN_COOKIE] >= 1);
	CU_ASSERT_EQUAL(bad, 0);
}

/* An inner IPv6 UDP packet of length len (no L2). */
static size_t ip6_udp(uint8_t *p, size_t len, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	memset(p, 0, len);
	p[0] = 0x60;
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = 17;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	p[40] = (uint8_t)(sport >> 8), p[41] = (uint8_t)sport;
	p[42] = (uint8_t)(dport >> 8), p[43] = (uint8_t)dport;
	p[44] = (uint8_t)((len - 40) >> 8), p[45] = (uint8_t)(len - 40);
	return len;
}

/* The stage's survivors are what the runtime transmits: checked here. */
static unsigned send_zone(const uint8_t *ip, size_t len, uint16_t ethertype)
{
	struct rte_mbuf *m[1] = {h_frame(h_mac_tp, ip, len, ethertype)};
	unsigned n = h_run(TP_PORT_ZONE, m, 1);

	h_flush();
	if (n) {
		check_frame(TP_PORT_TRANSIT, m[0]);
		rte_pktmbuf_free(m[0]);
	}
	return n;
}

/* Data of every size class, inner IPv4 and IPv6 (odd and even lengths). */
static void test_data(void)
{
	static const size_t sizes[] = {28, 61, 100, 555, 1024, 1400};
	unsigned before = seen[SEEN_DATA], sent = 0;
	uint8_t ip[1500];

	for (size_t i = 0; i < RTE_DIM(sizes); i++) {
		size_t len6 = RTE_MIN(sizes[i] + 20, 1400u);

		h_ip4(ip, sizes[i], 17, "10.1.0.10", "10.2.0.10", 40000, 5000);
		sent += send_zone(ip, sizes[i], 0x0800);
		ip6_udp(ip, len6, "fd00:1::10", "fd00:2::10", 40000, 5000);
		sent += send_zone(ip, len6, 0x86dd);
	}
	CU_ASSERT_EQUAL(sent, 2 * RTE_DIM(sizes));
	CU_ASSERT_EQUAL(seen[SEEN_DATA], before + sent);
	CU_ASSERT_EQUAL(bad, 0);
}

/* Too big for the tunnel: ICMP back to the zone host, from the TP's zone
 * address, in the family of the packet. */
static void test_icmp_errors(void)
{
	static uint8_t ip[1500];
	struct rte_mbuf *m[1];

	h_ip4(ip, sizeof(ip), 17, "10.1.0.10", "10.2.0.10", 40000, 5000);
	m[0] = h_frame(h_mac_tp, ip, sizeof(ip), 0x0800);
	CU_ASSERT_EQUAL(h_run(TP_PORT_ZONE, m, 1), 0);
	h_flush();
	ip6_udp(ip, 1461, "fd00:1::10", "fd00:2::10", 40000, 5000); /* odd length */
	m[0] = h_frame(h_mac_tp, ip, 1461, 0x86dd);
	CU_ASSERT_EQUAL(h_run(TP_PORT_ZONE, m, 1), 0);
	h_flush();
	take_all();
	CU_ASSERT_EQUAL(seen[SEEN_ICMP4_FRAG_NEEDED], 1);
	CU_ASSERT_EQUAL(seen[SEEN_ICMP6_TOO_BIG], 1);
	CU_ASSERT_EQUAL(bad, 0);
}

/* The checker itself: one flipped bit in a good frame is caught. */
static void test_checker_catches(void)
{
	uint8_t ip[100];
	struct rte_mbuf *m[1];
	unsigned before = bad;
	uint8_t *p;
	size_t off;

	h_ip4(ip, sizeof(ip), 17, "10.1.0.10", "10.2.0.10", 40000, 5000);
	m[0] = h_frame(h_mac_tp, ip, sizeof(ip), 0x0800);
	CU_ASSERT_EQUAL_FATAL(h_run(TP_PORT_ZONE, m, 1), 1);
	h_flush();
	p = rte_pktmbuf_mtod(m[0], uint8_t *);
	CU_ASSERT_TRUE(check_frame(TP_PORT_TRANSIT, m[0]));
	off = rte_pktmbuf_data_len(m[0]) - 5; /* a ciphertext byte */
	p[off] ^= 0x10;
	if (H.v6)
		CU_ASSERT_FALSE(check_frame(TP_PORT_TRANSIT, m[0]));
	p[off] ^= 0x10;
	p[14 + (H.v6 ? 24 : 16)] ^= 1; /* destination address */
	CU_ASSERT_FALSE(check_frame(TP_PORT_TRANSIT, m[0]));
	rte_pktmbuf_free(m[0]);
	bad = before;
}

int main(int argc, char **argv)
{
	CU_pSuite suite;
	unsigned failed;
	int rc;

	if (argc != 2 || (strcmp(argv[1], "4") != 0 && strcmp(argv[1], "6") != 0)) {
		fprintf(stderr, "usage: test_fwd_wire 4|6 (the transit family)\n");
		return 2;
	}
	H.v6 = argv[1][0] == '6';
	H.on_take = on_take;
	rc = h_setup(H.v6 ? "test_fwd_wire6" : "test_fwd_wire4");
	if (rc) {
		fprintf(stderr, "harness setup failed at step %d\n", -rc);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(H.v6 ? "wire (IPv6 transit)" : "wire (IPv4 transit)", NULL, NULL);
	CU_add_test(suite, "initiation and keepalive", test_setup_frames);
	CU_add_test(suite, "handshake response", test_response);
	CU_add_test(suite, "cookie reply under load", test_cookie_reply);
	CU_add_test(suite, "data, inner IPv4 and IPv6, odd lengths", test_data);
	CU_add_test(suite, "ICMP errors to zone hosts", test_icmp_errors);
	CU_add_test(suite, "the checker catches a flipped bit", test_checker_catches);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	h_teardown();
	return failed ? 1 : 0;
}
