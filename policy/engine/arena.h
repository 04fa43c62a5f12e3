/* SPDX-License-Identifier: MIT */
/*
 * A bump allocator for the compiled tables: everything a compiled engine
 * points to lives in one arena and is freed in one call, so a compile that
 * fails half-way has exactly one thing to undo.
 */
#ifndef TP_ENGINE_ARENA_H
#define TP_ENGINE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* newest chunk first */
	size_t bytes;		  /* total allocated from the system */
};

/* Zeroed, 16-byte aligned memory that lives until arena_free(); NULL when
 * out of memory or when n * size overflows. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

void arena_free(struct arena *a);

#endif /* TP_ENGINE_ARENA_H */
