/* SPDX-License-Identifier: MIT */
#include "pkt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t mac_dst[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_src[6] = {0x02, 0, 0, 0, 0, 0x02};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t eth(uint8_t *b, uint16_t vlan, uint16_t type)
{
	size_t n = 12;

	memcpy(b, mac_dst, 6);
	memcpy(b + 6, mac_src, 6);
	if (vlan) {
		put16(b + n, 0x8100);
		put16(b + n + 2, vlan);
		n += 4;
	}
	put16(b + n, type);
	return n + 2;
}

static size_t l4(uint8_t *b, const struct pkt_spec *s)
{
	size_t n = 0;

	switch (s->proto) {
	case IPPROTO_TCP:
		put16(b, s->sport);
		put16(b + 2, s->dport);
		b[12] = 5 << 4; /* data offset */
		b[13] = 0x02;	/* SYN */
		n = 20;
		break;
	case IPPROTO_UDP:
		put16(b, s->sport);
		put16(b + 2, s->dport);
		put16(b + 4, (uint16_t)(8 + s->payload_len));
		n = 8;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		b[0] = s->icmp_type;
		n = 8;
		break;
	default:
		break;
	}
	if (s->payload_len)
		memcpy(b + n, s->payload, s->payload_len);
	return n + s->payload_len;
}

/* What real senders put: ND needs hop limit 255 (RFC 4861), MLD 1. */
static uint8_t ttl_of(const struct pkt_spec *s)
{
	if (s->ttl)
		return s->ttl;
	if (s->proto == IPPROTO_ICMPV6 && s->icmp_type >= 133 && s->icmp_type <= 137)
		return 255;
	if (s->proto == IPPROTO_ICMPV6 &&
	    ((s->icmp_type >= 130 && s->icmp_type <= 132) || s->icmp_type == 143))
		return 1;
	return 64;
}

size_t pkt_build(uint8_t *buf, const struct pkt_spec *s)
{
	uint8_t a4[4], a6[16];
	size_t n, ln;

	memset(buf, 0, PKT_MAX);
	if (inet_pton(AF_INET, s->src, a4) == 1) {
		uint8_t ihl = s->ihl ? s->ihl : 5;
		uint8_t *ip;
		uint16_t frag = 0;

		n = eth(buf, s->vlan, 0x0800);
		ip = buf + n;
		ip[0] = (uint8_t)(0x40 | ihl);
		ip[8] = ttl_of(s);
		ip[9] = s->proto;
		if (s->later_fragment)
			frag |= 100;
		if (s->more_fragments)
			frag |= 0x2000;
		put16(ip + 6, frag);
		memcpy(ip + 12, a4, 4);
		inet_pton(AF_INET, s->dst, ip + 16);
		n += (size_t)ihl * 4;
		ln = s->later_fragment ? 0 : l4(buf + n, s);
		if (s->later_fragment && s->payload_len) {
			memcpy(buf + n, s->payload, s->payload_len);
			ln = s->payload_len;
		}
		put16(ip + 2, (uint16_t)((size_t)ihl * 4 + ln));
		return n + ln;
	}
	inet_pton(AF_INET6, s->src, a6);
	n = eth(buf, s->vlan, 0x86dd);
	{
		uint8_t *ip = buf + n;
		size_t ext = 0;

		ip[0] = 0x60;
		ip[6] = s->v6_hopopts ? 0 : s->v6_routing ? 43 : s->proto;
		ip[7] = ttl_of(s);
		memcpy(ip + 8, a6, 16);
		inet_pton(AF_INET6, s->dst, ip + 24);
		n += 40;
		if (s->v6_hopopts) {
			buf[n] = s->v6_routing ? 43 : s->proto; /* next header */
			buf[n + 1] = 0;				/* 8 bytes */
			buf[n + 2] = 5;				/* router alert option */
			buf[n + 3] = 2;
			ext += 8;
			n += 8;
		}
		if (s->v6_routing) {
			buf[n] = s->proto;
			buf[n + 1] = 0; /* 8 bytes: type 4 (SRH) with no segments */
			buf[n + 2] = 4;
			ext += 8;
			n += 8;
		}
		ln = l4(buf + n, s);
		put16(ip + 4, (uint16_t)(ext + ln));
		return n + ln;
	}
}

size_t pkt_build_arp(uint8_t *buf)
{
	size_t n;

	memset(buf, 0, PKT_MAX);
	n = eth(buf, 0, 0x0806);
	put16(buf + n, 1);	    /* Ethernet */
	put16(buf + n + 2, 0x0800); /* IPv4 */
	buf[n + 4] = 6;
	buf[n + 5] = 4;
	put16(buf + n + 6, 1); /* request */
	return n + 28;
}

size_t pkt_build_ethertype(uint8_t *buf, uint16_t type, uint16_t vlan)
{
	size_t n;

	memset(buf, 0, PKT_MAX);
	n = eth(buf, vlan, type);
	return n + 46;
}

void pkt_wg_msg(uint8_t *msg, uint8_t type, size_t len)
{
	memset(msg, 0, len);
	msg[0] = type;
}

uint64_t pkt_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#define PICK(rng, arr) ((arr)[pkt_rand(rng) % (sizeof(arr) / sizeof((arr)[0]))])

size_t pkt_random(uint8_t *buf, uint64_t *rng)
{
	static const char *const v4[] = {
		"10.1.0.2",  "10.1.0.1",	"10.1.0.130",  "10.2.0.5",  "10.3.0.5", "10.9.9.9",
		"224.0.0.5", "255.255.255.255", "169.254.1.1", "192.0.2.1", "0.0.0.0"};
	static const uint16_t other_types[] = {0x0806, 0x0806, 0x88cc, 0x8100, 0x86dd};
	static const uint8_t ttls[] = {0, 0, 0, 1, 255, 64};
	static const char *const v6[] = {
		"2001:db8:1::2",  "2001:db8:1::1", "2001:db8:2::5",  "2001:db8:9::1",
		"2001:db8:ff::1", "fe80::1",	   "ff02::1:ff00:1", "::"};
	static const uint8_t protos[] = {6, 17, 17, 17, 1, 58, 47, 0, 44};
	static const uint16_t ports[] = {502, 51820, 51820, 53, 22};
	static const uint8_t icmp[] = {8, 0, 128, 133, 134, 135, 136, 137, 143, 129};
	static const uint16_t wg_len[] = {148, 92, 64, 32, 48, 31, 3, 0};
	static uint8_t payload[256];
	struct pkt_spec s = {0};
	size_t len;

	if (pkt_rand(rng) % 16 == 0) /* ARP, LLDP, a second tag, an IPv6 stub */
		return pkt_build_ethertype(buf, PICK(rng, other_types), pkt_rand(rng) % 2 ? 42 : 0);
	if (pkt_rand(rng) % 2) {
		s.src = PICK(rng, v4);
		s.dst = PICK(rng, v4);
		s.ihl = (uint8_t)(pkt_rand(rng) % 6 == 0 ? 5 + pkt_rand(rng) % 3 : 0);
		s.later_fragment = pkt_rand(rng) % 10 == 0;
		s.more_fragments = pkt_rand(rng) % 10 == 0;
	} else {
		s.src = PICK(rng, v6);
		s.dst = PICK(rng, v6);
		s.v6_hopopts = pkt_rand(rng) % 4 == 0;
		s.v6_routing = pkt_rand(rng) % 6 == 0;
	}
	s.ttl = PICK(rng, ttls);
	s.proto = PICK(rng, protos);
	s.sport = PICK(rng, ports);
	s.dport = PICK(rng, ports);
	s.icmp_type = PICK(rng, icmp);
	s.vlan = pkt_rand(rng) % 4 == 0 ? 42 : 0;
	s.payload_len = PICK(rng, wg_len);
	memset(payload, 0, sizeof(payload));
	payload[0] = (uint8_t)(pkt_rand(rng) % 6);
	if (pkt_rand(rng) % 10 == 0)
		payload[1 + pkt_rand(rng) % 3] = 1;
	s.payload = payload;
	len = pkt_build(buf, &s);

	switch (pkt_rand(rng) % 6) {
	case 0: /* cut anywhere, down to a bare Ethernet header */
		len = 14 + pkt_rand(rng) % (len - 13);
		break;
	case 1: /* flip bytes in the headers */
		for (int i = 0; i < 1 + (int)(pkt_rand(rng) % 3); i++)
			buf[12 + pkt_rand(rng) % (len < 80 ? len - 12 : 68)] ^=
				(uint8_t)(1u << (pkt_rand(rng) % 8));
		break;
	case 2: /* Ethernet padding */
		if (len < 60)
			len = 60;
		break;
	default:
		break;
	}
	return len;
}
