// SPDX-License-Identifier: MIT
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

#define CHUNK_BYTES ((size_t)256 * 1024) /* small allocations share chunks this big */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	_Alignas(16) unsigned char mem[];
};

static struct arena_chunk *chunk_new(struct arena *a, size_t size)
{
	struct arena_chunk *c = calloc(1, sizeof(*c) + size);

	if (!c)
		return NULL;
	c->size = size;
	a->bytes += sizeof(*c) + size;
	return c;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	struct arena_chunk *c = a->head;
	size_t want;
	void *p;

	if (size && n > (SIZE_MAX - 15) / size)
		return NULL;
	want = (n * size + 15) & ~(size_t)15;
	if (want == 0)
		want = 16;
	if (want > CHUNK_BYTES / 4) {
		/* Big tables get a chunk of their own, kept behind the head so
		 * the head's free space is not wasted. */
		struct arena_chunk *big = chunk_new(a, want);

		if (!big)
			return NULL;
		big->used = want;
		if (c) {
			big->next = c->next;
			c->next = big;
		} else {
			a->head = big;
		}
		return big->mem;
	}
	if (!c || c->size - c->used < want) {
		c = chunk_new(a, CHUNK_BYTES);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	p = c->mem + c->used;
	c->used += want;
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->bytes = 0;
}
