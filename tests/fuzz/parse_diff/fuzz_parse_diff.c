// SPDX-License-Identifier: MIT
/*
 * Differential harness of the data plane's one IP parser against the
 * naive reference model: the packet parser (tp_pkt_parse_ip(),
 * dataplane/pkt) with its flow-key conversion (tp_pkt_flow(): copies, no
 * second read of the packet) on one side, the flow table's reference
 * parser (tp_flow_parse(), policy/flow) on the other. The stages police
 * what the conversion gives, so a field they read differently is a packet
 * the TP handles as one thing and polices as another. Input: a bare IP
 * packet; it is also parsed framed in Ethernet, so offsets from a link
 * header are held too.
 *
 * Invariants, whenever the packet parser accepts (it is stricter:
 * checksums, flags, fragments, martians, TCP data offsets):
 *  - the conversion keys the packet exactly when the reference accepts it
 *    (what it refuses is the stages' flow_parse drop, as the reference's
 *    refusal was);
 *  - then every field of struct tp_flow_pkt is equal: family, prefix
 *    lengths and addresses, protocol, ports, ICMP type and code, echo id,
 *    TCP flags (all eight bits), sequence number, payload offset and
 *    length, tcp_bad_doff, and for ICMP errors whether the quote relates
 *    and every field of the quoted flow;
 *  - the descriptor agrees with it too (ports, ICMP, error and echo flags);
 *  - the Ethernet-framed parse converts to the same key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/pkt.h"

/* tp/dp/pkt.h first: tp/policy/flow.h defines the TCP flag names as macros */
#include "tp/policy/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "parsers disagree: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static void same_prefix(const struct tp_prefix *a, const struct tp_prefix *b)
{
	CHECK(a->family == b->family);
	CHECK(a->len == b->len);
	CHECK(memcmp(a->addr, b->addr, sizeof(a->addr)) == 0);
}

static void same_flow(const struct tp_flow *a, const struct tp_flow *b)
{
	CHECK(a->proto == b->proto);
	same_prefix(&a->src, &b->src);
	same_prefix(&a->dst, &b->dst);
	CHECK(a->sport == b->sport && a->dport == b->dport);
	CHECK(a->icmp_type == b->icmp_type && a->icmp_code == b->icmp_code);
}

/* Every field of the flow table's packet, one by one (not memcmp: a
 * difference names its field). */
static void same_flow_pkt(const struct tp_flow_pkt *a, const struct tp_flow_pkt *b)
{
	same_flow(&a->f, &b->f);
	CHECK(a->tcp_flags == b->tcp_flags);
	CHECK(a->icmp_error == b->icmp_error);
	same_flow(&a->inner, &b->inner);
	CHECK(a->tcp_bad_doff == b->tcp_bad_doff);
	CHECK(a->tcp_seq == b->tcp_seq);
	CHECK(a->payload_off == b->payload_off);
	CHECK(a->payload_len == b->payload_len);
}

/* The descriptor itself against the reference. */
static void compare_info(const uint8_t *buf, const struct tp_pkt_info *pi,
			 const struct tp_flow_pkt *fp)
{
	const struct tp_flow *f = &fp->f;
	unsigned alen = pi->family == 4 ? 4 : 16;

	CHECK(pi->family == f->src.family && f->dst.family == f->src.family);
	CHECK(memcmp(pi->src, f->src.addr, alen) == 0);
	CHECK(memcmp(pi->dst, f->dst.addr, alen) == 0);
	CHECK(pi->proto == f->proto);
	if (pi->flags & TP_PKT_F_PORTS)
		CHECK(pi->sport == f->sport && pi->dport == f->dport);
	if (pi->proto == TP_IPPROTO_TCP) {
		size_t doff = (size_t)(buf[pi->l4_off + 12] >> 4) * 4;

		CHECK(!fp->tcp_bad_doff);
		CHECK(pi->tcp_flags == fp->tcp_flags);
		CHECK(pi->payload_off == pi->l4_off + doff);
		CHECK(fp->payload_off == pi->l4_off + doff);
		CHECK(fp->payload_len == pi->l4_len - doff);
	}
	if (pi->flags & TP_PKT_F_ICMP) {
		bool echo = tp_flow_icmp_is_echo(f->proto, f->icmp_type);

		CHECK(pi->icmp_type == f->icmp_type && pi->icmp_code == f->icmp_code);
		CHECK(!!(pi->flags & TP_PKT_F_ICMP_ECHO) == echo);
		if (echo)
			CHECK(pi->icmp_id == f->sport && pi->icmp_id == f->dport);
		else
			CHECK(f->sport == 0 && f->dport == 0);
		CHECK(!!(pi->flags & TP_PKT_F_ICMP_ERROR) ==
		      tp_flow_icmp_is_error(f->proto, f->icmp_type));
		CHECK(!!(pi->flags & TP_PKT_F_QUOTE) == fp->icmp_error);
		if (fp->icmp_error)
			CHECK(pi->flags & TP_PKT_F_ICMP_ERROR);
	} else {
		CHECK(!fp->icmp_error);
		CHECK(!(pi->flags & TP_PKT_F_QUOTE));
	}
}

/* The same bytes behind an Ethernet header: the same key. */
static void compare_framed(const uint8_t *ip, size_t size, const struct tp_flow_pkt *want)
{
	struct tp_pkt_info pi;
	struct tp_flow_pkt got;
	uint8_t *frame = malloc(14 + size);

	if (!frame)
		return;
	memset(frame, 0x02, 12);
	frame[12] = (ip[0] >> 4) == 6 ? 0x86 : 0x08;
	frame[13] = (ip[0] >> 4) == 6 ? 0xdd : 0x00;
	memcpy(frame + 14, ip, size);
	/* the frame path caps at 64 KiB: a longer packet may be refused */
	if (tp_pkt_parse_eth(frame, 14 + size, &pi) == TP_PKT_OK) {
		CHECK(pi.l3_off == 14);
		CHECK(tp_pkt_flow(&pi, &got));
		same_flow_pkt(&got, want);
	}
	free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_pkt_info pi;
	struct tp_flow_pkt fp, conv;
	uint8_t *buf;
	bool keyed, ref_ok;

	if (size < 1 || size > 65535 + 40)
		return 0;
	/* an exact-size heap copy so ASan catches any read past the end */
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (tp_pkt_parse_ip(buf, size, &pi) == TP_PKT_OK) {
		/* as the stages: the reference gets the IP packet the packet
		 * parser delimited (no L2 padding) */
		keyed = tp_pkt_flow(&pi, &conv);
		ref_ok = tp_flow_parse(buf, pi.ip_len, &fp) == TP_PARSE_OK;
		CHECK(keyed == ref_ok);
		CHECK(keyed == !(pi.flags & TP_PKT_F_NO_FLOW));
		if (keyed) {
			same_flow_pkt(&conv, &fp);
			compare_info(buf, &pi, &fp);
			compare_framed(buf, size, &conv);
		}
	}
	free(buf);
	return 0;
}
