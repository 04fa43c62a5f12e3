// SPDX-License-Identifier: MIT
/*
 * Differential harness of the two IP parsers every packet crosses: the
 * packet parser (tp_pkt_parse_ip(), dataplane/pkt: drops, offsets, TTL)
 * and the flow table's (tp_flow_parse(), policy/flow: what the policy and
 * the flow table see). The stages call the second on what the first
 * accepted, so a field they read differently is a packet the TP handles
 * as one thing and polices as another. Input: a bare IP packet.
 *
 * Invariant, whenever both accept: family, addresses, protocol; ports of
 * TCP and UDP; ICMP type and code, which types are echo (and the echo id)
 * and which are errors that relate to a flow (an error the flow parser
 * relates is one the packet parser flags); TCP flags and where the TCP
 * payload starts and ends. Acceptance itself may differ (the packet
 * parser is stricter: checksums, flags, fragments, martians); the stages
 * count a packet only the flow parser refuses as flow_parse.
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

static void compare(const uint8_t *buf, const struct tp_pkt_info *pi, const struct tp_flow_pkt *fp)
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
		CHECK(pi->tcp_flags == (fp->tcp_flags & 0x3f));
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
		if (fp->icmp_error)
			CHECK(pi->flags & TP_PKT_F_ICMP_ERROR);
	} else {
		CHECK(!fp->icmp_error);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_pkt_info pi;
	struct tp_flow_pkt fp;
	uint8_t *buf;

	if (size < 1 || size > 65535 + 40)
		return 0;
	/* an exact-size heap copy so ASan catches any read past the end */
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* as the stages: the flow parser gets the IP packet the packet parser
	 * delimited (no L2 padding) */
	if (tp_pkt_parse_ip(buf, size, &pi) == TP_PKT_OK &&
	    tp_flow_parse(buf, pi.ip_len, &fp) == TP_PARSE_OK)
		compare(buf, &pi, &fp);
	free(buf);
	return 0;
}
