// SPDX-License-Identifier: MIT
/*
 * The owner hash of a parsed packet (tp/dp/owner.h). Each end of the flow
 * (address and port) is mixed on its own; the two are then ordered, so
 * swapping the ends gives the same hash.
 */
#include <string.h>

#include "tp/dp/owner.h"

/* A 64-bit finaliser (MurmurHash3's fmix64): every input bit moves every
 * output bit. */
static uint64_t fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One end: its address (16 bytes, IPv4 zero-padded) and port. */
static uint64_t end_hash(const uint8_t addr[16], uint16_t port, uint64_t key)
{
	uint64_t h = fmix(rd64(addr) ^ key);

	h = fmix(h ^ rd64(addr + 8));
	return fmix(h ^ port);
}

bool tp_pkt_owner_hash(const struct tp_pkt_info *pi, uint64_t key, uint32_t *hash)
{
	const uint8_t *src = pi->src, *dst = pi->dst;
	uint16_t sport = 0, dport = 0;
	uint8_t proto = pi->proto;
	uint64_t a, b, h;

	if (pi->flags & TP_PKT_F_NO_FLOW)
		return false;
	if (pi->flags & TP_PKT_F_QUOTE) {
		src = pi->quote.src;
		dst = pi->quote.dst;
		proto = pi->quote.proto;
		sport = pi->quote.sport;
		dport = pi->quote.dport;
	} else if (pi->flags & TP_PKT_F_PORTS) {
		sport = pi->sport;
		dport = pi->dport;
	} else if (pi->flags & TP_PKT_F_ICMP_ECHO) {
		sport = dport = pi->icmp_id;
	}
	a = end_hash(src, sport, key);
	b = end_hash(dst, dport, key);
	h = fmix((a < b ? a : b) ^ fmix((a < b ? b : a) ^ key ^ proto));
	*hash = (uint32_t)(h >> 32);
	return true;
}
