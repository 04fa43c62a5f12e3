/* SPDX-License-Identifier: MIT */
/*
 * The receiver-index table: maps the 32-bit index a peer puts in every
 * response, cookie reply and data message to our handshake or keypair.
 *
 * State: 2^bits slots of atomic pointers. An index is random, and its low
 * bits name its slot, so a lookup is one load and one compare. Only the
 * control thread inserts, replaces and removes (plain atomic stores); workers
 * look up with acquire loads and never lock. An entry removed here stays
 * readable until ops->retire frees its owner. The low bits of an index thus
 * reveal a slot number; the remaining bits stay random.
 */
#ifndef TP_TUNNEL_INDEX_H
#define TP_TUNNEL_INDEX_H

#include <stdatomic.h>
#include <stdint.h>

#include "cookie.h"

struct tp_tunnel_peer;

enum index_kind {
	INDEX_HANDSHAKE = 1 << 0,
	INDEX_KEYPAIR = 1 << 1,
};

struct index_entry {
	uint32_t index;
	uint8_t kind;		     /* enum index_kind, fixed at creation */
	struct tp_tunnel_peer *peer; /* owner, fixed at creation */
};

struct index_table {
	uint32_t mask;
	_Atomic(struct index_entry *) *slots;
};

int wg_index_table_init(struct index_table *t, unsigned bits);
void wg_index_table_destroy(struct index_table *t);
/* Give e a fresh random index and publish it; -ENOSPC if no free slot found. */
int wg_index_insert(struct index_table *t, struct index_entry *e, random_fn rnd, void *rctx);
/* Move old's index to e (a keypair takes over its handshake's index). */
void wg_index_replace(struct index_table *t, struct index_entry *old, struct index_entry *e);
void wg_index_remove(struct index_table *t, struct index_entry *e);

static inline struct index_entry *wg_index_lookup(struct index_table *t, uint32_t index,
						  unsigned kinds)
{
	struct index_entry *e =
		atomic_load_explicit(&t->slots[index & t->mask], memory_order_acquire);

	/* kind first: a worker never reads the index of a handshake entry,
	 * which the control thread rewrites. */
	if (!e || !(e->kind & kinds) || e->index != index)
		return NULL;
	return e;
}

#endif /* TP_TUNNEL_INDEX_H */
