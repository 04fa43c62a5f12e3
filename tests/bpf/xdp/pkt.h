/* SPDX-License-Identifier: MIT */
/*
 * Test packet builder for the XDP fixtures: Ethernet (+ optional VLAN tag),
 * IPv4 or IPv6 (+ optional extension header), TCP/UDP/ICMP/ICMPv6 header and
 * payload. Checksums are left zero: XDP programs do not verify them.
 */
#ifndef TP_TEST_PKT_H
#define TP_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 1600

struct pkt_spec {
	const char *src; /* IPv4 or IPv6 literal; the family follows from it */
	const char *dst;
	uint8_t proto;	   /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or other */
	uint16_t sport;	   /* TCP/UDP */
	uint16_t dport;	   /* TCP/UDP */
	uint8_t icmp_type; /* ICMP/ICMPv6 */
	const uint8_t *payload;
	size_t payload_len;
	uint16_t vlan;	     /* 0: untagged */
	bool v6_hopopts;     /* IPv6: a hop-by-hop header before L4 */
	bool later_fragment; /* IPv4: fragment offset != 0 */
	bool more_fragments; /* IPv4: MF set */
	uint8_t ihl;	     /* IPv4: 0 means 5 (options are zero padding) */
	bool v6_routing;     /* IPv6: a routing header (segment routing) before L4 */
	uint8_t ttl;	     /* TTL / hop limit; 0: 255 for ND, 1 for MLD, else 64 */
};

/* Builds the frame into buf (PKT_MAX bytes); returns its length. */
size_t pkt_build(uint8_t *buf, const struct pkt_spec *s);

/* An ARP request frame; returns its length. */
size_t pkt_build_arp(uint8_t *buf);

/* A frame of another EtherType (LLDP 0x88cc, a second VLAN tag, ...) with
 * 46 zero bytes of payload; vlan as in pkt_spec. Returns its length. */
size_t pkt_build_ethertype(uint8_t *buf, uint16_t type, uint16_t vlan);

/* WireGuard message of type (1..4) with the given total size, zero body. */
void pkt_wg_msg(uint8_t *msg, uint8_t type, size_t len);

/* xorshift64*: reproducible pseudo-random numbers for test inputs. */
uint64_t pkt_rand(uint64_t *state);

/* A random frame of at least 14 bytes: mostly well-formed IPv4/IPv6 with
 * addresses from the fixtures' zones, WireGuard-like UDP payloads, VLAN tags,
 * fragments and extension headers, then sometimes cut, bit-flipped or padded. */
size_t pkt_random(uint8_t *buf, uint64_t *rng);

#endif /* TP_TEST_PKT_H */
