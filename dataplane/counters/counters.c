// SPDX-License-Identifier: MIT
/* Per-lcore counters (see tp/dp/counters.h for the state and its rules). */
#include "tp/dp/counters.h"

#include <stdlib.h>
#include <string.h>

static const char *const drop_names[] = {"none",
#define X(name, str, help) str,
					 TP_DROP_REASONS(X)
#undef X
};

static const char *const drop_helps[] = {"not a drop",
#define X(name, str, help) help,
					 TP_DROP_REASONS(X)
#undef X
};

static const char *const stat_names[] = {
#define X(name, str) str,
	TP_STATS(X)
#undef X
};

struct tp_counters *tp_counters_create(unsigned n_slots)
{
	struct tp_counters *c;

	if (n_slots == 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->slots = aligned_alloc(64, n_slots * sizeof(*c->slots));
	if (!c->slots)
		goto fail_free;
	memset(c->slots, 0, n_slots * sizeof(*c->slots));
	c->n_slots = n_slots;
	return c;
fail_free:
	free(c);
fail:
	return NULL;
}

void tp_counters_free(struct tp_counters *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c);
}

void tp_counters_sum(const struct tp_counters *c, struct tp_counters_totals *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < c->n_slots; i++) {
		const struct tp_counters_slot *s = &c->slots[i];

		for (unsigned k = 0; k < TP_STAT__COUNT; k++)
			out->stat[k] += __atomic_load_n(&s->stat[k], __ATOMIC_RELAXED);
		for (unsigned k = 0; k < TP_DROP__COUNT; k++)
			out->drop[k] += __atomic_load_n(&s->drop[k], __ATOMIC_RELAXED);
	}
}

const char *tp_drop_name(enum tp_drop r)
{
	return (unsigned)r < TP_DROP__COUNT ? drop_names[r] : "?";
}

const char *tp_drop_help(enum tp_drop r)
{
	return (unsigned)r < TP_DROP__COUNT ? drop_helps[r] : "?";
}

const char *tp_stat_name(enum tp_stat s)
{
	return (unsigned)s < TP_STAT__COUNT ? stat_names[s] : "?";
}
