// SPDX-License-Identifier: MIT
/*
 * The flow key the data plane derives from its one parse (tp_pkt_flow())
 * against the reference parser (tp_flow_parse(), policy/flow) on the same
 * bytes. Every case is a data row: the packet, described layer by layer
 * (and, for ICMP errors, the packet it quotes and how much of it), and
 * what must come out — the parser's result, whether the flow table can
 * key it, whether the error relates to a flow, the TCP payload. For each
 * row the conversion must equal the reference field by field, the parse
 * of the same packet behind Ethernet and a VLAN tag must give the same
 * key, and what the row names must hold.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/owner.h"
#include "tp/dp/pkt.h"

/* tp/dp/pkt.h first: tp/policy/flow.h defines the TCP flag names as macros */
#include "tp/policy/flow.h"

#define EXT_MAX 10

/* One IP packet, outer or quoted. Zero fields take the defaults. */
struct spec {
	uint8_t v;	       /* 4 or 6 */
	uint8_t proto;	       /* of the L4 header, after any extension headers */
	uint8_t src, dst;      /* last address byte: 10.1.0.src / fd00:1::src; default 5, 7 */
	uint16_t frag;	       /* IPv4 flags+offset; IPv6: a fragment header with this field */
	uint8_t ip4_opt_words; /* IPv4 options (NOPs), in 4-byte words */
	uint8_t ext[EXT_MAX];  /* IPv6 extension headers, outermost first (0 ends, */
	uint8_t n_ext;	       /*   so hop-by-hop needs n_ext) */
	bool plen_zero;	       /* IPv6 payload length 0 (in a quote) */
	bool bad_csum;	       /* IPv4 header checksum wrong (in a quote) */
	uint16_t sport, dport; /* TCP, UDP, SCTP, UDP-Lite */
	uint8_t type, code;    /* ICMP */
	uint16_t id;	       /* ICMP echo */
	uint32_t seq;	       /* TCP */
	uint8_t flags;	       /* TCP; default ACK */
	uint8_t doff;	       /* TCP data offset in words; default 5 */
	uint8_t l4_hlen;       /* bytes of L4 header written (default: its size) */
	uint16_t payload;      /* bytes after the L4 header */
};

struct row {
	const char *name;
	struct spec pkt;
	struct spec quote; /* the payload of an ICMP error, when quote.v */
	uint16_t cut;	   /* keep this many bytes of the quote (0: all) */
	enum tp_pkt_result want;
	bool keyed;	      /* tp_pkt_flow() and tp_flow_parse() both take it */
	bool related;	      /* icmp_error: the quote names a flow */
	uint16_t payload_off; /* TCP, from the IP header */
	uint16_t payload_len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t ip4_csum(const uint8_t *h, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t l4_size(const struct spec *s)
{
	if (s->l4_hlen)
		return s->l4_hlen;
	switch (s->proto) {
	case TP_IPPROTO_TCP:
		return (s->doff ? s->doff : 5) * 4u;
	case TP_IPPROTO_SCTP:
		return 12;
	case TP_IPPROTO_UDP:
	case TP_IPPROTO_UDPLITE:
	case TP_IPPROTO_ICMP:
	case TP_IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

/* The L4 header of s at p (full size, then cut by l4_hlen), then body. */
static size_t build_l4(uint8_t *p, const struct spec *s, const uint8_t *body, size_t n_body)
{
	uint8_t h[64] = {0};
	size_t hl = l4_size(s);

	switch (s->proto) {
	case TP_IPPROTO_TCP:
		put16(h, s->sport);
		put16(h + 2, s->dport);
		put32(h + 4, s->seq);
		h[12] = (uint8_t)((s->doff ? s->doff : 5) << 4);
		h[13] = s->flags ? s->flags : TP_TCP_ACK;
		for (size_t i = 20; i < sizeof(h); i++)
			h[i] = 1; /* NOP options */
		break;
	case TP_IPPROTO_UDP:
	case TP_IPPROTO_UDPLITE:
	case TP_IPPROTO_SCTP:
		put16(h, s->sport);
		put16(h + 2, s->dport);
		if (s->proto == TP_IPPROTO_UDP)
			put16(h + 4, (uint16_t)(8 + n_body));
		break;
	case TP_IPPROTO_ICMP:
	case TP_IPPROTO_ICMPV6:
		h[0] = s->type;
		h[1] = s->code;
		put16(h + 4, s->id);
		break;
	}
	memcpy(p, h, hl);
	memcpy(p + hl, body, n_body);
	return hl + n_body;
}

/* The whole IP packet of s at p; body follows the L4 header. */
static size_t build(uint8_t *p, const struct spec *s, const uint8_t *body, size_t n_body)
{
	uint8_t tail[2048];
	size_t n_tail, hl;

	memset(tail, 0xab, s->payload);
	if (n_body) /* body may be NULL then */
		memcpy(tail + s->payload, body, n_body);
	if (s->v == 4) {
		hl = 20 + s->ip4_opt_words * 4u;
		memset(p, 0, hl);
		memset(p + 20, 1, hl - 20);
		n_tail = build_l4(p + hl, s, tail, s->payload + n_body);
		p[0] = (uint8_t)(0x40 | hl / 4);
		put16(p + 2, (uint16_t)(hl + n_tail));
		put16(p + 6, s->frag);
		p[8] = 64;
		p[9] = s->proto;
		p[12] = 10, p[13] = 1, p[15] = s->src ? s->src : 5;
		p[16] = 10, p[17] = 2, p[19] = s->dst ? s->dst : 7;
		put16(p + 10, ip4_csum(p, hl));
		if (s->bad_csum)
			p[11] ^= 0x5a;
		return hl + n_tail;
	}
	hl = 40;
	memset(p, 0, hl);
	for (unsigned i = 0; i < s->n_ext; i++) {
		uint8_t *e = p + hl;

		memset(e, 0, 8);
		e[0] = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;
		if (s->ext[i] == 44)
			put16(e + 2, s->frag);
		else if (s->ext[i] == 43)
			e[2] = 4; /* segment routing, not type 0 */
		else if (s->ext[i] == 51)
			e[1] = 0; /* AH: (0 + 2) * 4 = 8 bytes */
		hl += 8;
	}
	n_tail = build_l4(p + hl, s, tail, s->payload + n_body);
	p[0] = 0x60;
	put16(p + 4, s->plen_zero ? 0 : (uint16_t)(hl - 40 + n_tail));
	p[6] = s->n_ext ? s->ext[0] : s->proto;
	p[7] = 64;
	p[8] = 0xfd, p[9] = 0, p[11] = 1, p[23] = s->src ? s->src : 5;
	p[24] = 0xfd, p[25] = 0, p[27] = 2, p[39] = s->dst ? s->dst : 7;
	return hl + n_tail;
}

/* Shorthands for the rows. */
#define V4	    .v = 4
#define V6	    .v = 6
#define TCP(s, d)   .proto = TP_IPPROTO_TCP, .sport = (s), .dport = (d)
#define UDP(s, d)   .proto = TP_IPPROTO_UDP, .sport = (s), .dport = (d)
#define ICMP4(t, c) .proto = TP_IPPROTO_ICMP, .type = (t), .code = (c)
#define ICMP6(t, c) .proto = TP_IPPROTO_ICMPV6, .type = (t), .code = (c)
/* the quote of an error the destination's router sends back: the
 * quoted packet went from the error's destination (7) to a host (9) */
#define BACK	    .src = 7, .dst = 9
#define OK	    .want = TP_PKT_OK, .keyed = true

static const struct row rows[] = {
	/* TCP: sequence number, flags, payload */
	{"v4 TCP SYN, no payload",
	 {V4, TCP(40000, 502), .seq = 0x01020304, .flags = TP_TCP_SYN},
	 .payload_off = 40,
	 OK},
	{"v4 TCP with options and payload, ECE+CWR kept",
	 {V4, TCP(40000, 502), .seq = 0xfffffff0, .flags = 0xc0 | TP_TCP_ACK | TP_TCP_PSH,
	  .doff = 8, .payload = 12},
	 .payload_off = 52,
	 .payload_len = 12,
	 OK},
	{"v4 TCP behind IPv4 options",
	 {V4, TCP(1024, 502), .ip4_opt_words = 2, .seq = 7, .payload = 3},
	 .payload_off = 48,
	 .payload_len = 3,
	 OK},
	{"v6 TCP behind hop-by-hop, destination options, AH",
	 {V6, TCP(40000, 502), .ext = {0, 60, 51}, .n_ext = 3, .seq = 99, .payload = 5},
	 .payload_off = 84,
	 .payload_len = 5,
	 OK},
	{"v6 TCP behind an atomic fragment",
	 {V6, TCP(40000, 80), .ext = {44}, .n_ext = 1},
	 .payload_off = 68,
	 OK},
	{"v4 TCP data offset past the segment: the parser drops it (the reference "
	 "keeps it with tcp_bad_doff)",
	 {V4, TCP(40000, 502), .doff = 6, .l4_hlen = 20},
	 .want = TP_PKT_TCP_DOFF},

	/* ports of other protocols; what the flow table cannot key */
	{"v4 UDP", {V4, UDP(53000, 53), .payload = 4}, OK},
	{"v6 UDP", {V6, UDP(53000, 47808)}, OK},
	{"v4 SCTP", {V4, .proto = TP_IPPROTO_SCTP, .sport = 2905, .dport = 2905}, OK},
	{"v6 UDP-Lite", {V6, .proto = TP_IPPROTO_UDPLITE, .sport = 5000, .dport = 5001}, OK},
	{"v4 GRE: no ports", {V4, .proto = 47, .payload = 4}, OK},
	{"v4 SCTP header cut to 8 bytes: no flow key",
	 {V4, .proto = TP_IPPROTO_SCTP, .sport = 1, .dport = 2, .l4_hlen = 8},
	 .want = TP_PKT_OK},
	{"v6 UDP-Lite header cut to 6 bytes: no flow key",
	 {V6, .proto = TP_IPPROTO_UDPLITE, .sport = 1, .dport = 2, .l4_hlen = 6},
	 .want = TP_PKT_OK},
	{"ICMPv6 in IPv4: no flow key", {V4, ICMP6(128, 0), .id = 1}, .want = TP_PKT_OK},
	{"ICMP in IPv6: no flow key", {V6, ICMP4(8, 0), .id = 1}, .want = TP_PKT_OK},
	{"ICMPv6 error in IPv4 quoting TCP: no flow key",
	 {V4, ICMP6(1, 0)},
	 {V4, BACK, TCP(5000, 80)},
	 .want = TP_PKT_OK},

	/* ICMP echo and other non-errors */
	{"v4 echo request", {V4, ICMP4(8, 0), .id = 0x1234}, OK},
	{"v6 echo reply", {V6, ICMP6(129, 0), .id = 0xbeef, .payload = 16}, OK},
	{"v4 parameter problem quoting TCP: no error that relates",
	 {V4, ICMP4(12, 0)},
	 {V4, BACK, TCP(5000, 80)},
	 OK},

	/* ICMPv4 errors */
	{"v4 unreachable quoting TCP",
	 {V4, ICMP4(3, 3)},
	 {V4, BACK, TCP(5000, 80)},
	 OK,
	 .related = true},
	{"v4 frag needed quoting TCP, cut after 8 bytes of it",
	 {V4, ICMP4(3, 4)},
	 {V4, BACK, TCP(5000, 80), .payload = 100},
	 .cut = 28,
	 OK,
	 .related = true},
	{"v4 time exceeded quoting UDP",
	 {V4, ICMP4(11, 0)},
	 {V4, BACK, UDP(5353, 53)},
	 OK,
	 .related = true},
	{"v4 unreachable quoting echo",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, ICMP4(8, 0), .id = 77},
	 OK,
	 .related = true},
	{"v4 unreachable quoting an unreachable: relates to nothing",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, ICMP4(3, 0)},
	 OK},
	{"v4 unreachable quoting echo cut to 4 bytes of it",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, ICMP4(8, 0), .id = 77},
	 .cut = 24,
	 OK},
	{"v4 unreachable quoting TCP cut to 2 bytes of it",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, TCP(5000, 80)},
	 .cut = 22,
	 OK},
	{"v4 unreachable quoting TCP cut to 4 bytes of it",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, TCP(5000, 80)},
	 .cut = 24,
	 OK,
	 .related = true},
	{"v4 unreachable quoting 19 bytes of IPv4",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, TCP(5000, 80)},
	 .cut = 19,
	 OK},
	{"v4 unreachable quoting a first fragment (MF)",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, UDP(5000, 53), .frag = 0x2000},
	 OK,
	 .related = true},
	{"v4 unreachable quoting a later fragment",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, UDP(5000, 53), .frag = 0x0010},
	 OK},
	{"v4 unreachable quoting IPv4 with options",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, UDP(5000, 53), .ip4_opt_words = 3},
	 OK,
	 .related = true},
	{"v4 unreachable quoting a bad checksum: not judged",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, UDP(5000, 53), .bad_csum = true},
	 OK,
	 .related = true},
	{"v4 unreachable quoting GRE: by protocol alone",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, .proto = 47},
	 OK,
	 .related = true},
	{"v4 unreachable quoting IPv6: another family",
	 {V4, ICMP4(3, 1)},
	 {V6, BACK, TCP(5000, 80)},
	 OK},
	{"v4 unreachable quoting ICMPv6 echo in IPv4 (odd, as the reference)",
	 {V4, ICMP4(3, 1)},
	 {V4, BACK, ICMP6(128, 0), .id = 5},
	 OK,
	 .related = true},
	{"v4 unreachable with nothing quoted", {V4, ICMP4(3, 1)}, OK},

	/* ICMPv6 errors */
	{"v6 packet too big quoting TCP",
	 {V6, ICMP6(2, 0)},
	 {V6, BACK, TCP(5000, 443), .payload = 1200},
	 .cut = 1232,
	 OK,
	 .related = true},
	{"v6 unreachable quoting echo",
	 {V6, ICMP6(1, 4)},
	 {V6, BACK, ICMP6(128, 0), .id = 9},
	 OK,
	 .related = true},
	{"v6 time exceeded quoting UDP behind destination options",
	 {V6, ICMP6(3, 0)},
	 {V6, BACK, UDP(5000, 53), .ext = {60}, .n_ext = 1},
	 OK,
	 .related = true},
	{"v6 unreachable quoting hop-by-hop second (the quote is not judged)",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, UDP(5000, 53), .ext = {60, 0}, .n_ext = 2},
	 OK,
	 .related = true},
	{"v6 unreachable quoting a first fragment (M)",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, UDP(5000, 53), .ext = {44}, .n_ext = 1, .frag = 0x0001},
	 OK,
	 .related = true},
	{"v6 unreachable quoting a later fragment",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, UDP(5000, 53), .ext = {44}, .n_ext = 1, .frag = 0x0008},
	 OK},
	{"v6 unreachable quoting nine extension headers",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, UDP(5000, 53), .ext = {60, 60, 60, 60, 60, 60, 60, 60, 60}, .n_ext = 9},
	 OK},
	{"v6 unreachable quoting a cut extension header",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, UDP(5000, 53), .ext = {60}, .n_ext = 1},
	 .cut = 44,
	 OK},
	{"v6 unreachable quoting GRE with payload length 0",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, .proto = 47, .plen_zero = true},
	 OK,
	 .related = true},
	{"v6 unreachable quoting ICMP echo in IPv6 (odd, as the reference)",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, ICMP4(8, 0), .id = 3},
	 OK,
	 .related = true},
	{"v6 unreachable quoting IPv4: another family",
	 {V6, ICMP6(1, 0)},
	 {V4, BACK, UDP(5000, 53)},
	 OK},
	{"v6 unreachable quoting 39 bytes of IPv6",
	 {V6, ICMP6(1, 0)},
	 {V6, BACK, UDP(5000, 53)},
	 .cut = 39,
	 OK},
	{"v6 parameter problem quoting UDP: no error that relates",
	 {V6, ICMP6(4, 0)},
	 {V6, BACK, UDP(5000, 53)},
	 OK},
};

/* The bytes of a row: a bare IP packet in an exact-size heap buffer (so
 * ASan catches a read past it). */
static uint8_t *packet(const struct row *r, size_t *len)
{
	uint8_t q[2048], p[4096], *out;
	size_t nq = 0, n;

	if (r->quote.v) {
		nq = build(q, &r->quote, NULL, 0);
		if (r->cut && r->cut < nq)
			nq = r->cut;
	}
	n = build(p, &r->pkt, q, nq);
	out = malloc(n);
	if (out)
		memcpy(out, p, n);
	*len = n;
	return out;
}

static void same_prefix(const struct tp_prefix *a, const struct tp_prefix *b)
{
	CU_ASSERT_EQUAL(a->family, b->family);
	CU_ASSERT_EQUAL(a->len, b->len);
	CU_ASSERT_EQUAL(memcmp(a->addr, b->addr, sizeof(a->addr)), 0);
}

static void same_flow(const struct tp_flow *a, const struct tp_flow *b)
{
	CU_ASSERT_EQUAL(a->proto, b->proto);
	same_prefix(&a->src, &b->src);
	same_prefix(&a->dst, &b->dst);
	CU_ASSERT_EQUAL(a->sport, b->sport);
	CU_ASSERT_EQUAL(a->dport, b->dport);
	CU_ASSERT_EQUAL(a->icmp_type, b->icmp_type);
	CU_ASSERT_EQUAL(a->icmp_code, b->icmp_code);
}

static void same_flow_pkt(const struct tp_flow_pkt *a, const struct tp_flow_pkt *b)
{
	same_flow(&a->f, &b->f);
	CU_ASSERT_EQUAL(a->tcp_flags, b->tcp_flags);
	CU_ASSERT_EQUAL(a->icmp_error, b->icmp_error);
	same_flow(&a->inner, &b->inner);
	CU_ASSERT_EQUAL(a->tcp_bad_doff, b->tcp_bad_doff);
	CU_ASSERT_EQUAL(a->tcp_seq, b->tcp_seq);
	CU_ASSERT_EQUAL(a->payload_off, b->payload_off);
	CU_ASSERT_EQUAL(a->payload_len, b->payload_len);
}

/* What the row names, on the reference's answer (equal to ours). */
static void check_named(const struct row *r, const struct tp_flow_pkt *fp)
{
	const struct spec *s = &r->pkt;
	bool echo = tp_flow_icmp_is_echo(s->proto, s->type);

	CU_ASSERT_EQUAL(fp->f.proto, s->proto);
	CU_ASSERT_EQUAL(fp->f.src.family, s->v);
	CU_ASSERT_EQUAL(fp->icmp_error, r->related);
	if (s->proto == TP_IPPROTO_TCP) {
		CU_ASSERT_EQUAL(fp->tcp_seq, s->seq);
		CU_ASSERT_EQUAL(fp->tcp_flags, s->flags ? s->flags : TP_TCP_ACK);
		CU_ASSERT_EQUAL(fp->payload_off, r->payload_off);
		CU_ASSERT_EQUAL(fp->payload_len, r->payload_len);
	}
	if (s->proto == TP_IPPROTO_ICMP || s->proto == TP_IPPROTO_ICMPV6) {
		CU_ASSERT_EQUAL(fp->f.sport, echo ? s->id : 0);
		CU_ASSERT_EQUAL(fp->f.dport, echo ? s->id : 0);
	} else {
		CU_ASSERT_EQUAL(fp->f.sport, s->sport);
		CU_ASSERT_EQUAL(fp->f.dport, s->dport);
	}
	if (r->related) {
		const struct spec *q = &r->quote;
		bool qicmp = q->proto == TP_IPPROTO_ICMP || q->proto == TP_IPPROTO_ICMPV6;

		unsigned last = s->v == 4 ? 3 : 15;

		CU_ASSERT_EQUAL(fp->inner.proto, q->proto);
		CU_ASSERT_EQUAL(fp->inner.src.family, s->v);
		/* as the quoted header says: sent by the error's destination */
		CU_ASSERT_EQUAL(fp->inner.src.addr[last], q->src);
		CU_ASSERT_EQUAL(fp->f.dst.addr[last], q->src);
		CU_ASSERT_EQUAL(fp->inner.dst.addr[last], q->dst);
		CU_ASSERT_EQUAL(fp->inner.sport, qicmp ? q->id : q->sport);
		CU_ASSERT_EQUAL(fp->inner.dport, qicmp ? q->id : q->dport);
		CU_ASSERT_EQUAL(fp->inner.icmp_type, qicmp ? q->type : 0);
	}
}

/* The same packet behind Ethernet and a VLAN tag: the same key. */
static void check_framed(const uint8_t *ip, size_t len, const struct tp_flow_pkt *want)
{
	uint8_t *frame = malloc(18 + len);
	struct tp_pkt_info pi;
	struct tp_flow_pkt got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(frame);
	memset(frame, 0x02, 12);
	put16(frame + 12, 0x8100);
	put16(frame + 14, 42);
	put16(frame + 16, ip[0] >> 4 == 6 ? 0x86dd : 0x0800);
	memcpy(frame + 18, ip, len);
	CU_ASSERT_EQUAL(tp_pkt_parse_eth(frame, 18 + len, &pi), TP_PKT_OK);
	CU_ASSERT_EQUAL(pi.l3_off, 18);
	CU_ASSERT_TRUE(tp_pkt_flow(&pi, &got));
	same_flow_pkt(&got, want);
	free(frame);
}

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct tp_flow_pkt conv, ref;
		struct tp_pkt_info pi;
		enum tp_pkt_result got;
		enum tp_parse_result ref_r;
		unsigned failed = CU_get_number_of_failures();
		size_t len;
		uint8_t *b = packet(r, &len);
		bool keyed;

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		got = tp_pkt_parse_ip(b, len, &pi);
		CU_ASSERT_EQUAL(got, r->want);
		ref_r = tp_flow_parse(b, got == TP_PKT_OK ? pi.ip_len : len, &ref);
		if (got != TP_PKT_OK) {
			/* only the stricter parser's drop: the reference keeps
			 * such a segment, for the profile to refuse */
			CU_ASSERT_EQUAL(ref_r, TP_PARSE_OK);
			CU_ASSERT_TRUE(ref.tcp_bad_doff);
			goto next;
		}
		keyed = tp_pkt_flow(&pi, &conv);
		CU_ASSERT_EQUAL(keyed, r->keyed);
		CU_ASSERT_EQUAL(ref_r == TP_PARSE_OK, r->keyed);
		CU_ASSERT_EQUAL(!!(pi.flags & TP_PKT_F_NO_FLOW), !r->keyed);
		if (!keyed || ref_r != TP_PARSE_OK)
			goto next;
		same_flow_pkt(&conv, &ref);
		check_named(r, &ref);
		check_framed(b, len, &ref);
next:
		if (CU_get_number_of_failures() != failed)
			fprintf(stderr, "\n row %zu failed: %s\n", i, r->name);
		free(b);
	}
}

/* Every prefix of the rows' packets: where the parser accepts, the key is
 * the reference's (truncated quotes above all). */
static void test_prefixes(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len;
		uint8_t *b = packet(&rows[i], &len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		for (size_t n = 1; n <= len; n++) {
			uint8_t *c = malloc(n);
			struct tp_flow_pkt conv, ref;
			struct tp_pkt_info pi;

			CU_ASSERT_PTR_NOT_NULL_FATAL(c);
			memcpy(c, b, n);
			/* an IPv4 total length that matches the cut, with the
			 * checksum fixed, so the cut is a shorter packet */
			if (n >= 20 && c[0] >> 4 == 4 && (c[0] & 0xf) * 4u <= n) {
				put16(c + 2, (uint16_t)n);
				put16(c + 10, 0);
				put16(c + 10, ip4_csum(c, (c[0] & 0xf) * 4u));
			} else if (n >= 40 && c[0] >> 4 == 6) {
				put16(c + 4, (uint16_t)(n - 40));
			}
			if (tp_pkt_parse_ip(c, n, &pi) == TP_PKT_OK) {
				bool keyed = tp_pkt_flow(&pi, &conv);

				CU_ASSERT_EQUAL(keyed,
						tp_flow_parse(c, pi.ip_len, &ref) == TP_PARSE_OK);
				if (keyed)
					same_flow_pkt(&conv, &ref);
			}
			free(c);
		}
		free(b);
	}
}

/*
 * The owner of a packet's flow (tp/dp/owner.h), on the same rows. The
 * naive model: the owner is a function of the flow the flow table looks up
 * (the quoted one for a related ICMP error), taken without its direction.
 */
#define OWNER_KEY 0x0123456789abcdefull

/* The packet with its two ends swapped: addresses, then ports or the echo
 * type (request <-> reply); an IPv4 header checksum made right again. */
static void mirror(uint8_t *b, const struct tp_pkt_info *pi)
{
	uint8_t t[16];
	size_t a = pi->family == 4 ? 12 : 8, w = pi->family == 4 ? 4 : 16;
	uint8_t *l4 = b + pi->l4_off;

	memcpy(t, b + a, w);
	memmove(b + a, b + a + w, w);
	memcpy(b + a + w, t, w);
	if (pi->flags & TP_PKT_F_PORTS) {
		memcpy(t, l4, 2);
		memmove(l4, l4 + 2, 2);
		memcpy(l4 + 2, t, 2);
	} else if (pi->flags & TP_PKT_F_ICMP_ECHO) {
		l4[0] = pi->family == 4 ? (l4[0] == 8 ? 0 : 8) : (l4[0] == 128 ? 129 : 128);
	}
	if (pi->family == 4) {
		put16(b + 10, 0);
		put16(b + 10, ip4_csum(b, (b[0] & 0xf) * 4u));
	}
}

/* The hash of a bare IP packet; false: not parsed, or no owner. */
static bool owner_of(const uint8_t *b, size_t len, uint32_t *h, struct tp_pkt_info *pi)
{
	return tp_pkt_parse_ip(b, len, pi) == TP_PKT_OK && tp_pkt_owner_hash(pi, OWNER_KEY, h);
}

/* The naive model's key: protocol and the two ends, in a fixed order. */
struct canon {
	uint8_t proto, family;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

static struct canon canon_of(const struct tp_flow_pkt *fp)
{
	const struct tp_flow *f = fp->icmp_error ? &fp->inner : &fp->f;
	struct canon c;
	bool swap = memcmp(f->src.addr, f->dst.addr, 16) > 0 ||
		    (!memcmp(f->src.addr, f->dst.addr, 16) && f->sport > f->dport);

	memset(&c, 0, sizeof(c));
	c.proto = f->proto;
	c.family = f->src.family;
	memcpy(c.a, swap ? f->dst.addr : f->src.addr, 16);
	memcpy(c.b, swap ? f->src.addr : f->dst.addr, 16);
	c.pa = swap ? f->dport : f->sport;
	c.pb = swap ? f->sport : f->dport;
	return c;
}

/* Every parsed row, its mirror, and for a related error the packet it
 * quotes (alone, and mirrored): an owner exactly when the flow table
 * keys it, and the same owner for the same flow either way round. */
static void test_owner_symmetric(void)
{
	static struct {
		struct canon c;
		uint32_t h;
	} seen[4 * sizeof(rows) / sizeof(rows[0])];
	unsigned n_seen = 0, n_errors = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		unsigned failed = CU_get_number_of_failures();
		struct tp_pkt_info pi, mi;
		struct tp_flow_pkt fp;
		uint32_t h, hm;
		size_t len;
		uint8_t *b = packet(r, &len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		if (tp_pkt_parse_ip(b, len, &pi) != TP_PKT_OK)
			goto next;
		/* no flow key, no owner: it stays where it arrived */
		CU_ASSERT_EQUAL(tp_pkt_owner_hash(&pi, OWNER_KEY, &h), r->keyed);
		if (!r->keyed)
			goto next;
		CU_ASSERT_TRUE_FATAL(tp_pkt_flow(&pi, &fp));
		seen[n_seen].c = canon_of(&fp);
		seen[n_seen++].h = h;
		mirror(b, &pi);
		CU_ASSERT_TRUE(owner_of(b, len, &hm, &mi));
		CU_ASSERT_EQUAL(hm, h);
		if (r->related) {
			uint8_t q[2048];
			size_t nq = build(q, &r->quote, NULL, 0);
			uint32_t hq, hqm;

			/* steered by the flow it quotes, in both directions (a
			 * quote need not pass as a packet: a wrong checksum,
			 * a zero IPv6 length) */
			if (!owner_of(q, nq, &hq, &mi))
				goto next;
			CU_ASSERT_EQUAL(hq, h);
			mirror(q, &mi);
			CU_ASSERT_TRUE(owner_of(q, nq, &hqm, &mi));
			CU_ASSERT_EQUAL(hqm, h);
			n_errors++;
		}
next:
		if (CU_get_number_of_failures() != failed)
			fprintf(stderr, "\n row %zu failed: %s\n", i, r->name);
		free(b);
	}
	CU_ASSERT(n_errors >= 6); /* the rows do have related errors of every kind */
	/* the model: the same flow (any direction), the same owner */
	for (unsigned i = 0; i < n_seen; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(&seen[i].c, &seen[j].c, sizeof(seen[i].c)))
				CU_ASSERT_EQUAL(seen[i].h, seen[j].h);
}

/* Flows that differ only in a port spread evenly over the workers, and
 * another key spreads them otherwise (a host cannot aim at one worker). */
static void test_owner_spread(void)
{
	const struct row r = {"udp", {V4, UDP(0, 502)}, OK};

	for (unsigned n = 2; n <= 4; n++) {
		unsigned count[4] = {0}, moved = 0;

		for (unsigned i = 0; i < 4096; i++) {
			struct row ri = r;
			struct tp_pkt_info pi;
			uint32_t h, h2;
			size_t len;
			uint8_t *b;

			ri.pkt.sport = (uint16_t)(1024 + i);
			b = packet(&ri, &len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			CU_ASSERT_TRUE_FATAL(owner_of(b, len, &h, &pi));
			CU_ASSERT_TRUE(tp_pkt_owner_hash(&pi, OWNER_KEY ^ 1, &h2));
			count[tp_owner_of(h, n)]++;
			moved += tp_owner_of(h, n) != tp_owner_of(h2, n);
			free(b);
		}
		for (unsigned w = 0; w < n; w++) {
			CU_ASSERT(count[w] * 10 * n >= 4096 * 9);
			CU_ASSERT(count[w] * 10 * n <= 4096 * 11);
		}
		CU_ASSERT(moved > 4096 / (2 * n));
	}
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("pkt_flow", NULL, NULL);
	CU_add_test(suite, "every row: the key is the reference's", test_rows);
	CU_add_test(suite, "every prefix of every row", test_prefixes);
	CU_add_test(suite, "owner: symmetric, errors go by the flow they quote",
		    test_owner_symmetric);
	CU_add_test(suite, "owner: flows spread over the workers, by the key", test_owner_spread);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
