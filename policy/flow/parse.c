// SPDX-License-Identifier: MIT
/*
 * From packet bytes to struct tp_flow_pkt (tp/policy/flow.h): what the policy and
 * the flow table need of an IPv4 or IPv6 packet, and nothing else.
 *
 * The naive reference model, kept beside the optimised code: the data
 * plane gets the same fields from its one parser (dataplane/pkt), which
 * tests/fuzz/parse_diff and tests/unit/pkt compare with this, field by
 * field. Written for clarity, not speed; change both together.
 *
 * Every length is checked against the buffer before a byte is read: the
 * input is untrusted (it comes from a zone, or out of a tunnel), and the
 * harness in tests/fuzz/flow_parse runs this file under ASan.
 *
 * Decisions:
 *  - Non-first fragments carry no transport header, so no policy can be
 *    applied to them: they are refused (TP_PARSE_FRAGMENT) and counted by
 *    the caller. First fragments are parsed like whole packets.
 *  - IPv6 extension headers hop-by-hop, routing, fragment, AH, destination
 *    options, mobility, HIP and shim6 are walked, at most TP_PARSE_EXT_MAX
 *    of them: the set and lengths dataplane/pkt walks, so that both
 *    parsers name the same protocol and ports (tests/fuzz/parse_diff); the
 *    protocol the rules see is the first other header (ESP included: its
 *    payload is encrypted).
 *  - ICMP errors that relate to a flow: destination unreachable (v4 3, v6
 *    1), time exceeded (v4 11, v6 3), packet too big (v6 2; in IPv4 it is
 *    destination unreachable code 4); parameter problem is not one. The
 *    quoted packet needs its IP header and the first 4 bytes of TCP/UDP
 *    (8 for ICMP echo, the only ICMP that makes flows); a quote too short
 *    to name a flow leaves the error unrelated, not refused.
 */
#include "tp/policy/flow.h"

#include <string.h>

#define IPV4_HDR_MIN	 20u
#define IPV6_HDR_LEN	 40u
#define TCP_HDR_MIN	 20u
#define UDP_HDR_LEN	 8u
#define ICMP_HDR_LEN	 8u
#define TP_PARSE_EXT_MAX 8

enum {
	PROTO_HOPOPT = 0,
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_AH = 51,
	PROTO_ICMPV6 = 58,
	PROTO_DSTOPTS = 60,
	PROTO_MOBILITY = 135,
	PROTO_HIP = 139,
	PROTO_SHIM6 = 140,
	PROTO_SCTP = 132,
	PROTO_UDPLITE = 136,
};

const char *tp_parse_result_name(enum tp_parse_result r)
{
	static const char *const names[] = {
#define X(name, str) str,
		TP_PARSE_RESULTS(X)
#undef X
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool tp_flow_icmp_is_echo(uint8_t proto, uint8_t type)
{
	if (proto == PROTO_ICMP)
		return type == 8 || type == 0;
	return proto == PROTO_ICMPV6 && (type == 128 || type == 129);
}

/* Parameter problem (v4 12, v6 4) is left out on purpose: §7.4 relates
 * only the three errors a flow's path produces in normal operation, and
 * dataplane/pkt flags the same set (the differential harness checks it). */
bool tp_flow_icmp_is_error(uint8_t proto, uint8_t type)
{
	if (proto == PROTO_ICMP)
		return type == 3 || type == 11;
	return proto == PROTO_ICMPV6 && (type == 1 || type == 2 || type == 3);
}

/* IPv6 extension headers the walk skips (as dataplane/pkt's). */
static bool is_ext(uint8_t next)
{
	switch (next) {
	case PROTO_HOPOPT:
	case PROTO_ROUTING:
	case PROTO_FRAGMENT:
	case PROTO_AH:
	case PROTO_DSTOPTS:
	case PROTO_MOBILITY:
	case PROTO_HIP:
	case PROTO_SHIM6:
		return true;
	default:
		return false;
	}
}

/* The IP header at p: addresses, protocol, and where the transport header
 * starts. *l4len is what the packet (or buffer, if shorter and quoted)
 * holds after it. */
static enum tp_parse_result parse_ip(const uint8_t *p, size_t len, bool quoted, struct tp_flow *f,
				     const uint8_t **l4, size_t *l4len)
{
	memset(f, 0, sizeof(*f));
	if (len < 1)
		return TP_PARSE_TRUNCATED;
	switch (p[0] >> 4) {
	case 4: {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4, total;

		if (len < IPV4_HDR_MIN)
			return TP_PARSE_TRUNCATED;
		if (ihl < IPV4_HDR_MIN)
			return TP_PARSE_BAD_HEADER;
		total = be16(p + 2);
		if (total < ihl)
			return TP_PARSE_BAD_HEADER;
		if (len < ihl)
			return TP_PARSE_TRUNCATED;
		/* a quote is cut short by design; a packet must be whole */
		if (total > len) {
			if (!quoted)
				return TP_PARSE_TRUNCATED;
			total = len;
		}
		if (be16(p + 6) & 0x1fff)
			return TP_PARSE_FRAGMENT;
		f->proto = p[9];
		f->src.family = f->dst.family = TP_AF_INET;
		f->src.len = f->dst.len = 32;
		memcpy(f->src.addr, p + 12, 4);
		memcpy(f->dst.addr, p + 16, 4);
		*l4 = p + ihl;
		*l4len = total - ihl;
		return TP_PARSE_OK;
	}
	case 6: {
		size_t payload, off = IPV6_HDR_LEN;
		uint8_t next;

		if (len < IPV6_HDR_LEN)
			return TP_PARSE_TRUNCATED;
		payload = be16(p + 4);
		if (IPV6_HDR_LEN + payload > len) {
			if (!quoted)
				return TP_PARSE_TRUNCATED;
			payload = len - IPV6_HDR_LEN;
		}
		len = IPV6_HDR_LEN + payload;
		next = p[6];
		for (int n = 0;; n++) {
			size_t hlen;

			if (!is_ext(next))
				break;
			if (n == TP_PARSE_EXT_MAX)
				return TP_PARSE_BAD_HEADER;
			if (len - off < 8)
				return TP_PARSE_TRUNCATED;
			if (next == PROTO_FRAGMENT) {
				if (be16(p + off + 2) & 0xfff8)
					return TP_PARSE_FRAGMENT;
				hlen = 8;
			} else if (next == PROTO_AH) {
				hlen = ((size_t)p[off + 1] + 2) * 4; /* RFC 4302: 4-byte units */
			} else {
				hlen = ((size_t)p[off + 1] + 1) * 8;
			}
			if (len - off < hlen)
				return TP_PARSE_TRUNCATED;
			next = p[off];
			off += hlen;
		}
		f->proto = next;
		f->src.family = f->dst.family = TP_AF_INET6;
		f->src.len = f->dst.len = 128;
		memcpy(f->src.addr, p + 8, 16);
		memcpy(f->dst.addr, p + 24, 16);
		*l4 = p + off;
		*l4len = len - off;
		return TP_PARSE_OK;
	}
	default:
		return TP_PARSE_BAD_VERSION;
	}
}

/* Ports (or echo id) of a quoted packet; false when the quote is too
 * short to name a flow. */
static bool quoted_ports(struct tp_flow *f, const uint8_t *l4, size_t len)
{
	switch (f->proto) {
	case PROTO_TCP:
	case PROTO_UDP:
	case PROTO_SCTP:
	case PROTO_UDPLITE:
		if (len < 4)
			return false;
		f->sport = be16(l4);
		f->dport = be16(l4 + 2);
		return true;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		if (len < ICMP_HDR_LEN)
			return false;
		f->icmp_type = l4[0];
		f->icmp_code = l4[1];
		/* only echo makes ICMP flows (tp/policy/flow.h): an error quoting
		 * anything else (another error included) relates to nothing */
		if (!tp_flow_icmp_is_echo(f->proto, l4[0]))
			return false;
		f->sport = f->dport = be16(l4 + 4);
		return true;
	default:
		return true;
	}
}

enum tp_parse_result tp_flow_parse(const uint8_t *pkt, size_t len, struct tp_flow_pkt *out)
{
	struct tp_flow *f = &out->f;
	const uint8_t *l4;
	size_t l4len, doff;
	enum tp_parse_result r;

	memset(out, 0, sizeof(*out));
	r = parse_ip(pkt, len, false, f, &l4, &l4len);
	if (r != TP_PARSE_OK)
		return r;
	if ((f->proto == PROTO_ICMP && f->src.family != TP_AF_INET) ||
	    (f->proto == PROTO_ICMPV6 && f->src.family != TP_AF_INET6))
		return TP_PARSE_BAD_L4; /* ICMP of the other family */

	switch (f->proto) {
	case PROTO_TCP:
		if (l4len < TCP_HDR_MIN)
			return TP_PARSE_TRUNCATED;
		f->sport = be16(l4);
		f->dport = be16(l4 + 2);
		out->tcp_flags = l4[13];
		out->tcp_seq = be32(l4 + 4);
		doff = (size_t)(l4[12] >> 4) * 4;
		/* only the payload checks of application profiles need it: a
		 * receiver drops such a segment, a profile refuses it */
		out->tcp_bad_doff = doff < TCP_HDR_MIN || doff > l4len;
		if (!out->tcp_bad_doff) {
			out->payload_off = (uint16_t)(l4 - pkt + doff);
			out->payload_len = (uint16_t)(l4len - doff);
		}
		return TP_PARSE_OK;
	case PROTO_UDP:
	case PROTO_UDPLITE:
		if (l4len < UDP_HDR_LEN)
			return TP_PARSE_TRUNCATED;
		f->sport = be16(l4);
		f->dport = be16(l4 + 2);
		return TP_PARSE_OK;
	case PROTO_SCTP:
		if (l4len < 12)
			return TP_PARSE_TRUNCATED;
		f->sport = be16(l4);
		f->dport = be16(l4 + 2);
		return TP_PARSE_OK;
	case PROTO_ICMP:
	case PROTO_ICMPV6: {
		const uint8_t *q;
		size_t qlen;

		if (l4len < ICMP_HDR_LEN)
			return TP_PARSE_TRUNCATED;
		f->icmp_type = l4[0];
		f->icmp_code = l4[1];
		if (tp_flow_icmp_is_echo(f->proto, l4[0]))
			f->sport = f->dport = be16(l4 + 4);
		if (!tp_flow_icmp_is_error(f->proto, l4[0]))
			return TP_PARSE_OK;
		/* The quote must be of the same family and name a flow;
		 * otherwise the error is an ordinary (unrelated) packet. */
		if (parse_ip(l4 + ICMP_HDR_LEN, l4len - ICMP_HDR_LEN, true, &out->inner, &q,
			     &qlen) != TP_PARSE_OK ||
		    out->inner.src.family != f->src.family || !quoted_ports(&out->inner, q, qlen)) {
			memset(&out->inner, 0, sizeof(out->inner));
			return TP_PARSE_OK;
		}
		out->icmp_error = true;
		return TP_PARSE_OK;
	}
	default:
		return TP_PARSE_OK;
	}
}
