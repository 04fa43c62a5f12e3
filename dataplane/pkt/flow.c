// SPDX-License-Identifier: MIT
/*
 * The parse result as the flow table's key (tp/dp/pkt.h, tp_pkt_flow()). The
 * parser already read every byte the flow table needs; this only copies,
 * so the data plane reads each packet once. The rules it follows are the
 * flow table's (tp/policy/flow.h): ICMP echo puts its id in both ports, an ICMP
 * error carries its quote in inner, and a TCP segment with a bad data
 * offset never gets here (the parser drops it: tcp_bad_doff stays false).
 */
#include <string.h>

/* tp/dp/pkt.h first: tp/policy/flow.h defines the TCP flag names as macros */
#include "tp/dp/pkt.h"

#include "tp/policy/flow.h"

static void prefix(struct tp_prefix *p, uint8_t family, const uint8_t *addr)
{
	p->family = family; /* 4 and 6 are TP_AF_INET and TP_AF_INET6 */
	p->len = family == TP_AF_INET6 ? 128 : 32;
	memcpy(p->addr, addr, sizeof(p->addr)); /* IPv4: the parser zeroed [4..15] */
}

bool tp_pkt_flow(const struct tp_pkt_info *pi, struct tp_flow_pkt *out)
{
	struct tp_flow *f = &out->f;

	if (pi->flags & TP_PKT_F_NO_FLOW)
		return false;
	memset(out, 0, sizeof(*out));
	f->proto = pi->proto;
	prefix(&f->src, pi->family, pi->src);
	prefix(&f->dst, pi->family, pi->dst);
	if (pi->flags & TP_PKT_F_PORTS) {
		f->sport = pi->sport;
		f->dport = pi->dport;
	}
	if (pi->proto == TP_IPPROTO_TCP) {
		out->tcp_flags = pi->tcp_flags;
		out->tcp_seq = pi->tcp_seq;
		out->payload_off = (uint16_t)(pi->payload_off - pi->l3_off);
		out->payload_len = pi->payload_len;
	} else if (pi->flags & TP_PKT_F_ICMP) {
		const struct tp_pkt_quote *q = &pi->quote;

		f->icmp_type = pi->icmp_type;
		f->icmp_code = pi->icmp_code;
		if (pi->flags & TP_PKT_F_ICMP_ECHO)
			f->sport = f->dport = pi->icmp_id;
		if (pi->flags & TP_PKT_F_QUOTE) {
			/* the quote is of the error's own family */
			out->icmp_error = true;
			out->inner.proto = q->proto;
			prefix(&out->inner.src, pi->family, q->src);
			prefix(&out->inner.dst, pi->family, q->dst);
			out->inner.sport = q->sport;
			out->inner.dport = q->dport;
			out->inner.icmp_type = q->icmp_type;
			out->inner.icmp_code = q->icmp_code;
		}
	}
	return true;
}
