// SPDX-License-Identifier: MIT
#include "lpm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lpm_init(struct lpm *l, unsigned addr_bytes)
{
	memset(l, 0, sizeof(*l));
	l->max_bytes = (uint8_t)addr_bytes;
	l->cap_nodes = 16;
	l->nodes = calloc((size_t)l->cap_nodes * LPM_NODE_SLOTS, sizeof(uint32_t));
	if (!l->nodes)
		return -ENOMEM;
	l->n_nodes = 1;
	return 0;
}

void lpm_fini(struct lpm *l)
{
	free(l->nodes);
	memset(l, 0, sizeof(*l));
}

/* A new node whose every slot inherits value (leaf pushing). */
static int64_t node_new(struct lpm *l, uint32_t value)
{
	uint32_t *slots;

	if (l->n_nodes >= (LPM_CHILD >> 1))
		return -E2BIG;
	if (l->n_nodes == l->cap_nodes) {
		uint32_t cap = l->cap_nodes * 2;
		uint32_t *n = realloc(l->nodes, (size_t)cap * LPM_NODE_SLOTS * sizeof(uint32_t));

		if (!n)
			return -ENOMEM;
		l->nodes = n;
		l->cap_nodes = cap;
	}
	slots = l->nodes + (size_t)l->n_nodes * LPM_NODE_SLOTS;
	for (unsigned i = 0; i < LPM_NODE_SLOTS; i++)
		slots[i] = value;
	return l->n_nodes++;
}

int lpm_add(struct lpm *l, const uint8_t *addr, unsigned len, uint32_t value)
{
	/* The prefix ends in the byte at depth: it paints a run of slots
	 * there; every byte above it descends (creating nodes). */
	unsigned depth = len == 0 ? 0 : (len - 1) / 8;
	uint32_t node = 0;

	if (len > l->max_bytes * 8u || value >= LPM_CHILD)
		return -EINVAL;
	for (unsigned d = 0; d < depth; d++) {
		uint32_t *slot = &l->nodes[(size_t)node * LPM_NODE_SLOTS + addr[d]];

		if (!(*slot & LPM_CHILD)) {
			int64_t child = node_new(l, *slot);

			if (child < 0)
				return (int)child;
			/* node_new may have moved l->nodes */
			slot = &l->nodes[(size_t)node * LPM_NODE_SLOTS + addr[d]];
			*slot = LPM_CHILD | (uint32_t)child;
		}
		node = *slot & ~LPM_CHILD;
	}

	unsigned bits = len - depth * 8; /* 0..8 bits of this byte belong to the prefix */
	unsigned span = 1u << (8 - bits);
	unsigned first = len == 0 ? 0 : (addr[depth] & (0xffu << (8 - bits)) & 0xffu);
	uint32_t *slots = &l->nodes[(size_t)node * LPM_NODE_SLOTS];

	for (unsigned i = first; i < first + span; i++) {
		/* Shortest-first order guarantees no child below a slot we
		 * paint (a child here would come from a longer prefix). */
		if (slots[i] & LPM_CHILD)
			return -EINVAL;
		slots[i] = value;
	}
	return 0;
}
