// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "index.h"

enum { INSERT_TRIES = 64, INDEX_BITS_MAX = 24 };

int wg_index_table_init(struct index_table *t, unsigned bits)
{
	if (bits < 4 || bits > INDEX_BITS_MAX)
		return -EINVAL;
	t->mask = (1U << bits) - 1;
	t->slots = calloc((size_t)t->mask + 1, sizeof(*t->slots));
	return t->slots ? 0 : -ENOMEM;
}

void wg_index_table_destroy(struct index_table *t)
{
	free(t->slots);
	t->slots = NULL;
}

int wg_index_insert(struct index_table *t, struct index_entry *e, random_fn rnd, void *rctx)
{
	for (int i = 0; i < INSERT_TRIES; i++) {
		uint32_t r;

		rnd(rctx, &r, sizeof(r));
		if (atomic_load_explicit(&t->slots[r & t->mask], memory_order_relaxed))
			continue;
		e->index = r;
		atomic_store_explicit(&t->slots[r & t->mask], e, memory_order_release);
		return 0;
	}
	return -ENOSPC;
}

void wg_index_replace(struct index_table *t, struct index_entry *old, struct index_entry *e)
{
	e->index = old->index;
	atomic_store_explicit(&t->slots[e->index & t->mask], e, memory_order_release);
}

void wg_index_remove(struct index_table *t, struct index_entry *e)
{
	_Atomic(struct index_entry *) *slot = &t->slots[e->index & t->mask];

	if (atomic_load_explicit(slot, memory_order_relaxed) == e)
		atomic_store_explicit(slot, NULL, memory_order_release);
}
