/* SPDX-License-Identifier: MIT */
/*
 * Shared by the C tests and benches that start from an example plant:
 * DIR/NAME read as tpolicy reads it, its diagnostics on stderr so that a
 * test that cannot load its plant says why. NULL when it does not load.
 */
#ifndef TL_SITE_H
#define TL_SITE_H

#include <stdio.h>
#include <stdlib.h>

#include "tp/policy/diag.h"
#include "tp/policy/yaml.h"

static inline struct tp_site *tl_example_site(const char *dir, const char *name)
{
	char path[4096];
	struct tp_diags d;
	struct tp_site *s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tp_diag_init(&d, path);
	s = tp_yaml_read_file(path, &d, NULL);
	tp_diag_print(&d, stderr);
	tp_diag_free(&d);
	return s;
}

/* The n zones of a generated plant: zone i is "zone-i" on TP i mod n_tps,
 * 10.(i >> 8).(i & 255).0/24, so up to 65536 zones never overlap. */
static inline void tl_gen_zones(struct tp_zone *zones, size_t n, size_t n_tps)
{
	for (size_t i = 0; i < n; i++) {
		struct tp_zone *z = &zones[i];

		snprintf(z->name, sizeof(z->name), "zone-%zu", i);
		z->id = (uint32_t)(i + 1);
		z->tp = (uint32_t)(i % n_tps);
		z->prefixes = calloc(1, sizeof(*z->prefixes));
		z->n_prefixes = 1;
		z->prefixes[0] = (struct tp_prefix){.family = TP_AF_INET, .len = 24};
		z->prefixes[0].addr[0] = 10;
		z->prefixes[0].addr[1] = (uint8_t)(i >> 8);
		z->prefixes[0].addr[2] = (uint8_t)i;
	}
}

#endif /* TL_SITE_H */
