/* SPDX-License-Identifier: MIT */
/*
 * Packet parser: Ethernet (+ up to two VLAN tags), IPv4, IPv6 (bounded
 * extension-header walk), TCP, UDP, SCTP and UDP-Lite ports, ICMP, ICMPv6
 * (and the packet an ICMP error quotes) → a parsed-packet descriptor. Plain
 * C on byte buffers (no DPDK): the runtime's parse stage fills the mbuf
 * metadata with it (runtime/pipeline.c), the transit stage parses each
 * decrypted inner packet with tp_pkt_parse_ip(), and the fuzzers drive it
 * directly.
 *
 * It is the data plane's only IP parser: in the same walk it gathers what
 * the flow table and the application profiles need (TCP sequence number
 * and payload, ICMP echo id, an ICMP error's quoted addresses and ports),
 * and tp_pkt_flow() turns the descriptor into the flow table's key
 * (struct tp_flow_pkt, tp/policy/flow.h) by copying fields, without reading the
 * packet again. policy/flow's tp_flow_parse() is the naive reference that
 * tests/fuzz/parse_diff holds it to.
 *
 * Every way a packet can be malformed is one reason in TP_PKT_DROPS, which
 * becomes both the result enum and the counter names (tp/dp/drop.h).
 *
 * Deliberate choices (a TP is a policy boundary, not a router that must
 * forward everything):
 *  - IP fragments are dropped (ip4_fragment, ip6_fragment). A fragment
 *    after the first carries no ports, so port rules cannot judge it, and
 *    reassembly at the boundary is memory an attacker controls. The TP
 *    announces an inner MTU and answers too-big packets with ICMP so that
 *    PMTUD avoids fragmentation end to end. IPv6 atomic fragments (offset
 *    0, M=0; RFC 6946) are not fragments and are parsed through.
 *  - IPv4 header checksum is verified; L4 checksums are not (endpoints do,
 *    and the tunnel's AEAD protects the path between TPs).
 *  - IPv6: at most TP_PKT_IP6_EXT_MAX extension headers; Hop-by-Hop only
 *    first (RFC 8200); Routing type 0 refused (RFC 5095).
 *  - TCP flag combinations no stack sends (SYN+FIN, SYN+RST, no flags,
 *    FIN without ACK) are dropped; port 0 is dropped for TCP and UDP.
 *  - Loopback / multicast sources and loopback destinations are martians.
 *  - Trailing bytes after the IP total length (Ethernet padding) are
 *    ignored; a UDP length shorter than the IP payload trims the payload.
 */
#ifndef TP_DP_PKT_H
#define TP_DP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_PKT_VLAN_MAX	   2 /* 802.1Q, or 802.1ad + 802.1Q */
#define TP_PKT_IP6_EXT_MAX 8 /* extension headers walked before giving up */

/* X(NAME, "counter_name", "what it means") */
#define TP_PKT_DROPS(X)                                                                           \
	X(ETH_TRUNC, "eth_truncated", "frame shorter than its Ethernet/VLAN headers")             \
	X(VLAN_DEPTH, "vlan_too_deep", "more than two VLAN tags")                                 \
	X(NOT_IP, "not_ip", "EtherType is neither IPv4 nor IPv6 (ARP/ND belong to the kernel)")   \
	X(IP4_TRUNC, "ip4_truncated", "shorter than an IPv4 header")                              \
	X(IP4_VERSION, "ip4_bad_version", "IPv4 EtherType but version is not 4")                  \
	X(IP4_IHL, "ip4_bad_ihl", "IHL below 5 or beyond the packet")                             \
	X(IP4_CSUM, "ip4_bad_checksum", "IPv4 header checksum wrong")                             \
	X(IP4_TOTLEN, "ip4_bad_total_length", "total length below IHL or beyond the frame")       \
	X(IP4_FRAGMENT, "ip4_fragment", "IPv4 fragment (not reassembled at a boundary)")          \
	X(IP4_MARTIAN, "ip4_martian",                                                             \
	  "loopback/multicast/broadcast source or loopback destination")                          \
	X(IP6_TRUNC, "ip6_truncated", "shorter than an IPv6 header")                              \
	X(IP6_VERSION, "ip6_bad_version", "IPv6 EtherType but version is not 6")                  \
	X(IP6_PAYLEN, "ip6_bad_payload_length",                                                   \
	  "payload length zero (jumbogram) or beyond the frame")                                  \
	X(IP6_EXT_TRUNC, "ip6_ext_truncated", "extension header runs past the payload")           \
	X(IP6_EXT_DEPTH, "ip6_ext_too_many", "more extension headers than the walk allows")       \
	X(IP6_HBH_ORDER, "ip6_hbh_not_first", "Hop-by-Hop options not directly after the header") \
	X(IP6_RH0, "ip6_routing_type0", "deprecated Routing Header type 0")                       \
	X(IP6_FRAGMENT, "ip6_fragment", "IPv6 fragment (not reassembled at a boundary)")          \
	X(IP6_MARTIAN, "ip6_martian",                                                             \
	  "loopback/multicast/unspecified source or loopback destination")                        \
	X(L4_TRUNC, "l4_truncated", "TCP/UDP/ICMP header runs past the payload")                  \
	X(TCP_DOFF, "tcp_bad_data_offset", "TCP data offset below 5 or beyond the payload")       \
	X(TCP_FLAGS, "tcp_bad_flags",                                                             \
	  "TCP flags no stack sends (SYN+FIN, SYN+RST, none, FIN w/o ACK)")                       \
	X(UDP_LEN, "udp_bad_length", "UDP length below 8 or beyond the payload")                  \
	X(PORT_ZERO, "l4_port_zero", "TCP or UDP port 0")

enum tp_pkt_result {
	TP_PKT_OK = 0,
#define X(name, str, help) TP_PKT_##name,
	TP_PKT_DROPS(X)
#undef X
		TP_PKT__COUNT
};

enum tp_pkt_flags {
	TP_PKT_F_VLAN = 1u << 0,       /* at least one VLAN tag */
	TP_PKT_F_IP_OPTS = 1u << 1,    /* IPv4 options or IPv6 extension headers present */
	TP_PKT_F_PORTS = 1u << 2,      /* sport/dport are valid (TCP, UDP, SCTP, UDP-Lite) */
	TP_PKT_F_ICMP = 1u << 3,       /* icmp_* are valid (ICMP or ICMPv6) */
	TP_PKT_F_ICMP_ERROR = 1u << 4, /* an ICMP error quoting a packet at inner_off */
	TP_PKT_F_ICMP_ECHO = 1u << 5,  /* echo request/reply: icmp_id is valid */
	TP_PKT_F_QUOTE = 1u << 6,      /* ICMP error whose quote names a flow: quote is valid */
	/* Passed, but the flow table cannot key it (tp_pkt_flow() refuses):
	 * ICMP of the other family (1 in IPv6, 58 in IPv4), an SCTP or
	 * UDP-Lite header too short for its ports. Inside one zone such a
	 * packet is forwarded unjudged; between zones it is dropped. */
	TP_PKT_F_NO_FLOW = 1u << 7,
};

/* IANA protocol numbers the parser and its users name. */
enum {
	TP_IPPROTO_ICMP = 1,
	TP_IPPROTO_TCP = 6,
	TP_IPPROTO_UDP = 17,
	TP_IPPROTO_ICMPV6 = 58,
	TP_IPPROTO_SCTP = 132,
	TP_IPPROTO_UDPLITE = 136,
};

/* TCP flag bits (byte 13 of the header). */
enum {
	TP_TCP_FIN = 0x01,
	TP_TCP_SYN = 0x02,
	TP_TCP_RST = 0x04,
	TP_TCP_PSH = 0x08,
	TP_TCP_ACK = 0x10,
	TP_TCP_URG = 0x20,
};

/*
 * What an ICMP error quotes, as the quoted header says (the flow table's
 * rules, tp/policy/flow.h): the quoted packet was sent by the error's destination,
 * so its src is that host. Valid only with TP_PKT_F_QUOTE; otherwise
 * unspecified (the parser does not clear it for every packet).
 */
struct tp_pkt_quote {
	uint8_t src[16]; /* the error's family; IPv4 in [0..3], the rest zero */
	uint8_t dst[16];
	uint16_t sport, dport; /* TCP/UDP/SCTP/UDP-Lite ports, or the echo id in both; else 0 */
	uint8_t proto;
	uint8_t icmp_type, icmp_code; /* quoted ICMP (echo only); else 0 */
};

/*
 * The parsed-packet descriptor. Offsets are from the start of the buffer
 * given to the parser; addresses are in network byte order (IPv4 in
 * src[0..3], the rest zero); ports, ids and sequence numbers in host order.
 * The fields every packet needs come first: the parser clears them, and
 * only them (up to quote), per packet.
 */
struct tp_pkt_info {
	uint16_t l3_off;    /* start of the IP header */
	uint16_t l4_off;    /* start of the L4 header (after IPv6 extensions) */
	uint32_t ip_len;    /* IP total length: header + payload, no L2 padding */
	uint32_t l4_len;    /* bytes from l4_off to the end of the IP payload (UDP-trimmed) */
	uint16_t inner_off; /* ICMP error: start of the quoted packet */
	uint16_t vlan_tci;  /* outermost tag, host order; 0 when untagged */
	uint16_t sport, dport;
	uint16_t icmp_id;
	uint8_t icmp_type, icmp_code;
	uint8_t family;	   /* 4 or 6 (as enum tp_family in tp/policy/site.h) */
	uint8_t proto;	   /* final protocol after IPv6 extension headers */
	uint8_t ttl;	   /* TTL / hop limit */
	uint8_t tcp_flags; /* byte 13 of the TCP header, all eight bits */
	uint8_t flags;	   /* enum tp_pkt_flags */
	uint8_t src[16];
	uint8_t dst[16];
	/* TCP, for application profiles: the segment's payload runs from
	 * payload_off to the end of the IP payload */
	uint32_t tcp_seq;
	uint16_t payload_off;
	uint16_t payload_len;
	struct tp_pkt_quote quote; /* TP_PKT_F_QUOTE; not cleared, keep it last */
};

/* Parse an Ethernet frame of len bytes. On TP_PKT_OK, *out is complete;
 * otherwise its content is unspecified. */
enum tp_pkt_result tp_pkt_parse_eth(const uint8_t *buf, size_t len, struct tp_pkt_info *out);

/* Parse a bare IP packet (no L2), e.g. a decrypted tunnel payload: the
 * version nibble selects IPv4 or IPv6. */
enum tp_pkt_result tp_pkt_parse_ip(const uint8_t *buf, size_t len, struct tp_pkt_info *out);

struct tp_flow_pkt; /* tp/policy/flow.h (policy) */

/*
 * The flow table's view of a parsed packet (tp/policy/flow.h): copies fields of
 * pi, reads no packet bytes. false when the flow table cannot key it
 * (TP_PKT_F_NO_FLOW); *out is then unspecified. Gives what
 * tp_flow_parse() gives for the same IP packet (tests/fuzz/parse_diff),
 * with payload_off from the IP header (pi->l3_off). tcp_bad_doff is
 * always false: the parser drops such segments (tcp_bad_data_offset).
 */
bool tp_pkt_flow(const struct tp_pkt_info *pi, struct tp_flow_pkt *out);

/* Counter name and description of a result ("ok" for TP_PKT_OK). */
const char *tp_pkt_result_name(enum tp_pkt_result r);
const char *tp_pkt_result_help(enum tp_pkt_result r);

#endif /* TP_DP_PKT_H */
