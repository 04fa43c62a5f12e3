// SPDX-License-Identifier: MIT
/*
 * Packet parser (see tp/dp/pkt.h for what is accepted and why). A cursor walks
 * the buffer; every read is checked against the end first, so the parser
 * never reads past len whatever the bytes say.
 */
#include "tp/dp/pkt.h"

#include <string.h>

#define ETH_HLEN     14
#define VLAN_HLEN    4
#define ETH_P_IPV4   0x0800
#define ETH_P_IPV6   0x86dd
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88a8
#define IP4_HLEN_MIN 20
#define IP6_HLEN     40
#define TCP_HLEN_MIN 20
#define UDP_HLEN     8
#define ICMP_HLEN    8 /* type, code, checksum, and the 4 bytes (id/seq, mtu, ...) */

/* IPv6 extension headers the walk knows how to skip. */
enum {
	NH_HOPOPTS = 0,
	NH_ROUTING = 43,
	NH_FRAGMENT = 44,
	NH_AH = 51,
	NH_DSTOPTS = 60,
	NH_MOBILITY = 135,
	NH_HIP = 139,
	NH_SHIM6 = 140,
};

static const char *const result_names[] = {"ok",
#define X(name, str, help) str,
					   TP_PKT_DROPS(X)
#undef X
};

static const char *const result_helps[] = {"parsed",
#define X(name, str, help) help,
					   TP_PKT_DROPS(X)
#undef X
};

const char *tp_pkt_result_name(enum tp_pkt_result r)
{
	return (unsigned)r < TP_PKT__COUNT ? result_names[r] : "?";
}

const char *tp_pkt_result_help(enum tp_pkt_result r)
{
	return (unsigned)r < TP_PKT__COUNT ? result_helps[r] : "?";
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ones-complement sum of the IPv4 header; 0xffff when the checksum is right. */
static bool ip4_csum_ok(const uint8_t *h, size_t hlen)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < hlen; i += 2)
		sum += rd16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* The errors that can relate to a flow (DESIGN.md §7.4), the same set as
 * the flow table's parser (tp_flow_icmp_is_error(); the differential fuzz
 * harness holds them together). Parameter problem is not one of them. */
static bool is_icmp4_error(uint8_t type)
{
	return type == 3 /* dest unreachable */ || type == 11 /* time exceeded */;
}

static bool is_icmp6_error(uint8_t type)
{
	return type >= 1 && type <= 3; /* unreachable, too big, time exceeded */
}

/* Echo request/reply, by protocol number (not the packet's family: a
 * quote names its own protocol). */
static bool is_icmp_echo(uint8_t proto, uint8_t type)
{
	if (proto == TP_IPPROTO_ICMP)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

/*
 * The IPv6 extension-header walk over ip[*off..end): on TP_PKT_OK, *nh is
 * the first header that is no extension and *off where it starts. quoted
 * is the walk over the packet an ICMP error quotes, with the flow table's
 * rules (tp/policy/flow.h): only a later fragment is refused (an error about a
 * first fragment quotes it with M set); Hop-by-Hop order and the routing
 * type are not judged — the quote is not forwarded, it only names a flow.
 * Always inlined with a constant quoted, so the packet's own walk pays
 * nothing for the quote's.
 */
static inline __attribute__((always_inline)) enum tp_pkt_result
ip6_walk(const uint8_t *ip, uint32_t end, bool quoted, uint8_t *nh_io, uint32_t *off_io)
{
	uint8_t nh = *nh_io;
	uint32_t off = *off_io;

	for (unsigned n = 0;; n++) {
		const uint8_t *h = ip + off;
		uint32_t hlen;

		switch (nh) {
		case NH_HOPOPTS:
		case NH_ROUTING:
		case NH_FRAGMENT:
		case NH_AH:
		case NH_DSTOPTS:
		case NH_MOBILITY:
		case NH_HIP:
		case NH_SHIM6:
			break;
		default:
			*nh_io = nh;
			*off_io = off;
			return TP_PKT_OK;
		}
		if (n == TP_PKT_IP6_EXT_MAX)
			return TP_PKT_IP6_EXT_DEPTH;
		if (!quoted && nh == NH_HOPOPTS && n != 0)
			return TP_PKT_IP6_HBH_ORDER;
		if (end - off < 8)
			return TP_PKT_IP6_EXT_TRUNC;
		if (nh == NH_FRAGMENT)
			hlen = 8;
		else if (nh == NH_AH)
			hlen = ((uint32_t)h[1] + 2) * 4;
		else
			hlen = ((uint32_t)h[1] + 1) * 8;
		if (hlen > end - off)
			return TP_PKT_IP6_EXT_TRUNC;
		if (!quoted && nh == NH_ROUTING && h[2] == 0)
			return TP_PKT_IP6_RH0;
		/* offset or M flag: a real fragment; both zero: atomic (RFC 6946) */
		if (nh == NH_FRAGMENT && (rd16(h + 2) & (quoted ? 0xfff8 : 0xfff9)) != 0)
			return TP_PKT_IP6_FRAGMENT;
		nh = h[0];
		off += hlen;
	}
}

/*
 * The packet an ICMP error quotes (q, len bytes: what the error carries),
 * into pkt->quote, setting TP_PKT_F_QUOTE when it names a flow: the
 * error's own family, not a later fragment, and the ports (first 4 bytes
 * of TCP, UDP, SCTP, UDP-Lite) or an echo id (8 bytes of ICMP echo, the
 * only ICMP that makes flows) present. A quote is cut short by design
 * (RFC 792: header + 8 bytes), so its lengths are clamped to what is
 * there; its checksum and addresses are not judged (it is not forwarded).
 * Anything else leaves the error unrelated, never dropped: the policy
 * judges it on its own. Runs for ICMP errors only, so it may clear quote;
 * cold, so that their rare path stays out of the common packet's code.
 */
static __attribute__((cold, noinline)) void parse_quote(const uint8_t *q, uint32_t len,
							struct tp_pkt_info *pkt)
{
	struct tp_pkt_quote *qt = &pkt->quote;
	const uint8_t *l4;
	uint32_t l4len;

	memset(qt, 0, sizeof(*qt));
	if (pkt->family == 4) {
		uint32_t ihl, tot;

		if (len < IP4_HLEN_MIN || q[0] >> 4 != 4)
			return;
		ihl = (uint32_t)(q[0] & 0x0f) * 4;
		tot = rd16(q + 2);
		if (ihl < IP4_HLEN_MIN || ihl > len || tot < ihl)
			return;
		if (rd16(q + 6) & 0x1fff) /* offset: a later fragment, no ports */
			return;
		qt->proto = q[9];
		memcpy(qt->src, q + 12, 4);
		memcpy(qt->dst, q + 16, 4);
		l4 = q + ihl;
		l4len = (tot < len ? tot : len) - ihl;
	} else {
		uint32_t end, off = IP6_HLEN;
		uint8_t nh;

		if (len < IP6_HLEN || q[0] >> 4 != 6)
			return;
		end = IP6_HLEN + (uint32_t)rd16(q + 4);
		if (end > len)
			end = len;
		nh = q[6];
		if (ip6_walk(q, end, true, &nh, &off) != TP_PKT_OK)
			return;
		qt->proto = nh;
		memcpy(qt->src, q + 8, 16);
		memcpy(qt->dst, q + 24, 16);
		l4 = q + off;
		l4len = end - off;
	}
	switch (qt->proto) {
	case TP_IPPROTO_TCP:
	case TP_IPPROTO_UDP:
	case TP_IPPROTO_SCTP:
	case TP_IPPROTO_UDPLITE:
		if (l4len < 4)
			return;
		qt->sport = rd16(l4);
		qt->dport = rd16(l4 + 2);
		break;
	case TP_IPPROTO_ICMP:
	case TP_IPPROTO_ICMPV6:
		/* an error quoting anything but echo (another error
		 * included) relates to nothing */
		if (l4len < ICMP_HLEN || !is_icmp_echo(qt->proto, l4[0]))
			return;
		qt->icmp_type = l4[0];
		qt->icmp_code = l4[1];
		qt->sport = qt->dport = rd16(l4 + 4);
		break;
	default:
		break; /* judged by protocol alone, as the packet itself */
	}
	pkt->flags |= TP_PKT_F_QUOTE;
}

/*
 * L4 of a packet whose IP layer is done: pkt->l4_off and pkt->l4_len set,
 * pkt->proto final. buf + l4_off .. + l4_len is inside the buffer.
 */
static enum tp_pkt_result parse_l4(const uint8_t *buf, struct tp_pkt_info *pkt)
{
	const uint8_t *l4 = buf + pkt->l4_off;
	uint32_t len = pkt->l4_len;

	switch (pkt->proto) {
	case TP_IPPROTO_TCP: {
		uint32_t doff;
		uint8_t fl;

		if (len < TCP_HLEN_MIN)
			return TP_PKT_L4_TRUNC;
		doff = (uint32_t)(l4[12] >> 4) * 4;
		if (doff < TCP_HLEN_MIN || doff > len)
			return TP_PKT_TCP_DOFF;
		pkt->sport = rd16(l4);
		pkt->dport = rd16(l4 + 2);
		pkt->tcp_seq = rd32(l4 + 4);
		pkt->tcp_flags = l4[13];
		pkt->payload_off = (uint16_t)(pkt->l4_off + doff);
		pkt->payload_len = (uint16_t)(len - doff);
		fl = l4[13] & 0x3f; /* ECE and CWR say nothing about validity */
		if ((fl & (TP_TCP_SYN | TP_TCP_FIN)) == (TP_TCP_SYN | TP_TCP_FIN) ||
		    (fl & (TP_TCP_SYN | TP_TCP_RST)) == (TP_TCP_SYN | TP_TCP_RST) || fl == 0 ||
		    ((fl & TP_TCP_FIN) && !(fl & TP_TCP_ACK)))
			return TP_PKT_TCP_FLAGS;
		if (pkt->sport == 0 || pkt->dport == 0)
			return TP_PKT_PORT_ZERO;
		pkt->flags |= TP_PKT_F_PORTS;
		return TP_PKT_OK;
	}
	case TP_IPPROTO_UDP: {
		uint32_t ulen;

		if (len < UDP_HLEN)
			return TP_PKT_L4_TRUNC;
		ulen = rd16(l4 + 4);
		if (ulen < UDP_HLEN || ulen > len)
			return TP_PKT_UDP_LEN;
		pkt->l4_len = ulen;
		pkt->sport = rd16(l4);
		pkt->dport = rd16(l4 + 2);
		if (pkt->sport == 0 || pkt->dport == 0)
			return TP_PKT_PORT_ZERO;
		pkt->flags |= TP_PKT_F_PORTS;
		return TP_PKT_OK;
	}
	case TP_IPPROTO_SCTP:
	case TP_IPPROTO_UDPLITE:
		/* Ports only, for the rules. The flow table wants the whole
		 * common header (SCTP 12 bytes, UDP-Lite 8); shorter is no
		 * flow key, but not malformed enough to drop inside a zone. */
		if (len < (pkt->proto == TP_IPPROTO_SCTP ? 12u : UDP_HLEN)) {
			pkt->flags |= TP_PKT_F_NO_FLOW;
			return TP_PKT_OK;
		}
		pkt->sport = rd16(l4);
		pkt->dport = rd16(l4 + 2);
		pkt->flags |= TP_PKT_F_PORTS;
		return TP_PKT_OK;
	case TP_IPPROTO_ICMP:
	case TP_IPPROTO_ICMPV6: {
		bool v6 = pkt->proto == TP_IPPROTO_ICMPV6;

		if (len < ICMP_HLEN)
			return TP_PKT_L4_TRUNC;
		pkt->icmp_type = l4[0];
		pkt->icmp_code = l4[1];
		pkt->flags |= TP_PKT_F_ICMP;
		if (v6 != (pkt->family == 6))
			pkt->flags |= TP_PKT_F_NO_FLOW; /* ICMP of the other family */
		if (is_icmp_echo(pkt->proto, l4[0])) {
			pkt->icmp_id = rd16(l4 + 4);
			pkt->flags |= TP_PKT_F_ICMP_ECHO;
		} else if (v6 ? is_icmp6_error(l4[0]) : is_icmp4_error(l4[0])) {
			pkt->inner_off = (uint16_t)(pkt->l4_off + ICMP_HLEN);
			pkt->flags |= TP_PKT_F_ICMP_ERROR;
			if (!(pkt->flags & TP_PKT_F_NO_FLOW))
				parse_quote(l4 + ICMP_HLEN, len - ICMP_HLEN, pkt);
		}
		return TP_PKT_OK;
	}
	default:
		/* Other protocols (GRE, ESP, ...) carry no ports the parser
		 * knows; policy judges them by protocol alone. */
		return TP_PKT_OK;
	}
}

static enum tp_pkt_result parse_ip4(const uint8_t *buf, size_t len, struct tp_pkt_info *pkt)
{
	const uint8_t *ip = buf + pkt->l3_off;
	size_t avail = len - pkt->l3_off;
	uint32_t ihl, tot;
	uint16_t frag;

	if (avail < IP4_HLEN_MIN)
		return TP_PKT_IP4_TRUNC;
	if (ip[0] >> 4 != 4)
		return TP_PKT_IP4_VERSION;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < IP4_HLEN_MIN || ihl > avail)
		return TP_PKT_IP4_IHL;
	if (!ip4_csum_ok(ip, ihl))
		return TP_PKT_IP4_CSUM;
	tot = rd16(ip + 2);
	if (tot < ihl || tot > avail)
		return TP_PKT_IP4_TOTLEN;
	frag = rd16(ip + 6);
	if (frag & 0x3fff) /* MF set or offset non-zero */
		return TP_PKT_IP4_FRAGMENT;
	pkt->family = 4;
	pkt->ttl = ip[8];
	pkt->proto = ip[9];
	memcpy(pkt->src, ip + 12, 4);
	memcpy(pkt->dst, ip + 16, 4);
	/* loopback or multicast/broadcast source; loopback destination */
	if (ip[12] == 127 || ip[12] >= 224 || ip[16] == 127)
		return TP_PKT_IP4_MARTIAN;
	if (ihl > IP4_HLEN_MIN)
		pkt->flags |= TP_PKT_F_IP_OPTS;
	pkt->ip_len = tot;
	pkt->l4_off = (uint16_t)(pkt->l3_off + ihl);
	pkt->l4_len = tot - ihl;
	return parse_l4(buf, pkt);
}

static bool ip6_is_loopback(const uint8_t *a)
{
	static const uint8_t lo[16] = {[15] = 1};

	return memcmp(a, lo, 16) == 0;
}

static bool ip6_is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static enum tp_pkt_result parse_ip6(const uint8_t *buf, size_t len, struct tp_pkt_info *pkt)
{
	const uint8_t *ip = buf + pkt->l3_off;
	size_t avail = len - pkt->l3_off;
	uint32_t plen, off, end;
	enum tp_pkt_result r;
	uint8_t nh;

	if (avail < IP6_HLEN)
		return TP_PKT_IP6_TRUNC;
	if (ip[0] >> 4 != 6)
		return TP_PKT_IP6_VERSION;
	plen = rd16(ip + 4);
	if (plen == 0 || plen > avail - IP6_HLEN)
		return TP_PKT_IP6_PAYLEN;
	pkt->family = 6;
	pkt->ttl = ip[7];
	memcpy(pkt->src, ip + 8, 16);
	memcpy(pkt->dst, ip + 24, 16);
	/* multicast, loopback or unspecified source; loopback destination */
	if (ip[8] == 0xff || ip6_is_loopback(pkt->src) || ip6_is_unspecified(pkt->src) ||
	    ip6_is_loopback(pkt->dst))
		return TP_PKT_IP6_MARTIAN;
	pkt->ip_len = IP6_HLEN + plen;
	nh = ip[6];
	off = IP6_HLEN; /* relative to ip */
	end = IP6_HLEN + plen;
	r = ip6_walk(ip, end, false, &nh, &off);
	if (r != TP_PKT_OK)
		return r;
	if (off != IP6_HLEN)
		pkt->flags |= TP_PKT_F_IP_OPTS;
	pkt->proto = nh;
	pkt->l4_off = (uint16_t)(pkt->l3_off + off);
	pkt->l4_len = end - off;
	return parse_l4(buf, pkt);
}

/* Everything but the quote, which only an ICMP error writes (and clears):
 * a packet pays for clearing what it may use, nothing more. */
static inline void clear(struct tp_pkt_info *out)
{
	memset(out, 0, offsetof(struct tp_pkt_info, quote));
}

enum tp_pkt_result tp_pkt_parse_ip(const uint8_t *buf, size_t len, struct tp_pkt_info *out)
{
	clear(out);
	if (len > UINT16_MAX + (size_t)IP6_HLEN)
		len = UINT16_MAX + (size_t)IP6_HLEN; /* no IP packet is longer */
	if (len == 0)
		return TP_PKT_IP4_TRUNC;
	return (buf[0] >> 4) == 6 ? parse_ip6(buf, len, out) : parse_ip4(buf, len, out);
}

enum tp_pkt_result tp_pkt_parse_eth(const uint8_t *buf, size_t len, struct tp_pkt_info *out)
{
	uint16_t type;
	size_t off = ETH_HLEN;
	unsigned tags = 0;

	clear(out);
	if (len > UINT16_MAX)
		len = UINT16_MAX; /* keeps offsets in 16 bits; no frame is longer */
	if (len < ETH_HLEN)
		return TP_PKT_ETH_TRUNC;
	type = rd16(buf + 12);
	while (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (tags == TP_PKT_VLAN_MAX)
			return TP_PKT_VLAN_DEPTH;
		if (len - off < VLAN_HLEN)
			return TP_PKT_ETH_TRUNC;
		if (tags == 0)
			out->vlan_tci = rd16(buf + off);
		type = rd16(buf + off + 2);
		off += VLAN_HLEN;
		tags++;
	}
	if (tags)
		out->flags |= TP_PKT_F_VLAN;
	out->l3_off = (uint16_t)off;
	if (type == ETH_P_IPV4)
		return parse_ip4(buf, len, out);
	if (type == ETH_P_IPV6)
		return parse_ip6(buf, len, out);
	return TP_PKT_NOT_IP;
}
