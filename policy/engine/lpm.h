/* SPDX-License-Identifier: MIT */
/*
 * Longest-prefix match for zone lookup: a multibit trie with an 8-bit
 * stride and leaf pushing, the same shape for IPv4 (at most 4 steps) and
 * IPv6 (at most 16 steps).
 *
 * Each node is 256 slots of 32 bits. A slot either holds a value (the zone
 * index + 1 of the longest prefix covering it, 0 for none) or, with
 * LPM_CHILD set, the index of the node one byte further down. Leaf pushing
 * means a lookup returns the first value slot it meets: no backtracking,
 * no per-slot prefix lengths at lookup time.
 *
 * Build once, then read only: prefixes must be added shortest first (so a
 * longer prefix always overwrites a shorter one and never finds a child
 * node in the range it paints). Readers need no lock once built.
 */
#ifndef TP_ENGINE_LPM_H
#define TP_ENGINE_LPM_H

#include <stddef.h>
#include <stdint.h>

#define LPM_CHILD      0x80000000u
#define LPM_NODE_SLOTS 256u

struct lpm {
	uint32_t *nodes; /* n_nodes * 256 slots; node 0 is the root */
	uint32_t n_nodes;
	uint32_t cap_nodes;
	uint8_t max_bytes; /* 4 or 16 */
};

int lpm_init(struct lpm *l, unsigned addr_bytes);
void lpm_fini(struct lpm *l);

/* Add addr/len with value (zone + 1). Prefixes must come shortest first. */
int lpm_add(struct lpm *l, const uint8_t *addr, unsigned len, uint32_t value);

/* The value of the longest prefix covering addr, or 0. */
static inline uint32_t lpm_lookup(const struct lpm *l, const uint8_t *addr)
{
	const uint32_t *node = l->nodes;

	for (unsigned i = 0; i < l->max_bytes; i++) {
		uint32_t slot = node[addr[i]];

		if (!(slot & LPM_CHILD))
			return slot;
		node = l->nodes + (size_t)(slot & ~LPM_CHILD) * LPM_NODE_SLOTS;
	}
	return 0; /* unreachable: the last level never has children */
}

#endif /* TP_ENGINE_LPM_H */
