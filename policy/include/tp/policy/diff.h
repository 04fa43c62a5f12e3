/* SPDX-License-Identifier: MIT */
/*
 * Policy diff: the flows one site allows and the other does not, by zone
 * pair and service, exactly (tp/policy/space.h), at one instant. Zones are matched
 * by name; a zone whose prefixes changed is reported as such, since its
 * addresses move between zones (the flow lists compare zone to zone).
 */
#ifndef TP_POLICY_DIFF_H
#define TP_POLICY_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tp/policy/site.h"

struct tp_diff_flow {
	char from[TP_NAME_MAX], to[TP_NAME_MAX];
	char service[96];	/* tp_space_cell_format() of the merged cells */
	bool allowed;		/* true: newly allowed; false: newly denied */
	uint32_t old_rule;	/* deciding rule in the old site (0: default/none) */
	uint32_t new_rule;	/* deciding rule in the new site */
	struct tp_flow example; /* a flow of the first cell, in the new site
				 * when it has both zones, else the old one */
};

struct tp_diff_zone {
	char name[TP_NAME_MAX];
	char change[16]; /* "added", "removed", "prefixes", "moved" (other TP) */
};

struct tp_diff {
	struct tp_diff_flow *flows; /* by from, to, then service order */
	size_t n_flows;
	struct tp_diff_zone *zones;
	size_t n_zones;
};

/* Compare at time now. 0 or -ENOMEM. */
int tp_diff_sites(const struct tp_site *old, const struct tp_site *new_, int64_t now,
		  struct tp_diff *out);
void tp_diff_free(struct tp_diff *d);

/* "+ from -> to service (conduit N)" / "- ... (was conduit N)" lines. */
void tp_diff_print(const struct tp_diff *d, FILE *f);
json_t *tp_diff_json(const struct tp_diff *d);

#endif /* TP_POLICY_DIFF_H */
