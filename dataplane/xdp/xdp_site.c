/* SPDX-License-Identifier: MIT */
#include "tp/dp/xdp_site.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_local(const struct tp_site *site, uint32_t tp, uint32_t zone)
{
	return site->zones[zone].tp == tp;
}

static bool has_pair(const struct tp_xdp_zone_pair *p, size_t n, uint32_t s, uint32_t d)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].src_zone == s && p[i].dst_zone == d)
			return true;
	return false;
}

static void add_pair(const struct tp_site *site, uint32_t tp, struct tp_xdp_zone_pair *p, size_t *n,
		     uint32_t s, uint32_t d)
{
	if (s == d || !is_local(site, tp, s) || has_pair(p, *n, s, d))
		return; /* same zone: never gated; remote source: spoofed anyway */
	p[*n].src_zone = s;
	p[*n].dst_zone = d;
	(*n)++;
}

struct tp_xdp_zones *tp_xdp_zones_from_site(const struct tp_site *site, uint32_t tp,
					    const struct tp_prefix *addrs, size_t n_addrs)
{
	struct tp_xdp_zone_prefix *prefixes;
	struct tp_xdp_zone_pair *pairs;
	struct tp_prefix *own;
	struct tp_xdp_zones *z;
	uint32_t *local;
	size_t n_prefixes = 0, n_local = 0, n_pairs = 0, size;
	int err = EINVAL;

	if (tp >= site->n_tps)
		goto fail;
	for (size_t i = 0; i < site->n_zones; i++)
		n_prefixes += site->zones[i].n_prefixes;
	for (size_t i = 0; i < site->n_rules; i++)
		if (site->rules[i].from_zone >= site->n_zones ||
		    site->rules[i].to_zone >= site->n_zones)
			goto fail;

	/* one block: header, prefixes, pairs (at most 2 per rule), local zones, addresses */
	size = sizeof(*z) + n_prefixes * sizeof(*prefixes) + site->n_zones * sizeof(*local) +
	       2 * site->n_rules * sizeof(*pairs) + n_addrs * sizeof(*own);
	z = calloc(1, size);
	if (!z) {
		err = ENOMEM;
		goto fail;
	}
	prefixes = (struct tp_xdp_zone_prefix *)(z + 1);
	pairs = (struct tp_xdp_zone_pair *)(prefixes + n_prefixes);
	local = (uint32_t *)(pairs + 2 * site->n_rules);
	own = (struct tp_prefix *)(local + site->n_zones); /* alignment 1: last */

	n_prefixes = 0;
	for (uint32_t i = 0; i < site->n_zones; i++) {
		for (size_t j = 0; j < site->zones[i].n_prefixes; j++) {
			prefixes[n_prefixes].prefix = site->zones[i].prefixes[j];
			prefixes[n_prefixes].zone = i;
			n_prefixes++;
		}
		if (is_local(site, tp, i))
			local[n_local++] = i;
	}
	for (size_t i = 0; i < site->n_rules; i++) {
		const struct tp_rule *r = &site->rules[i];

		if (r->action != TP_ACTION_ALLOW)
			continue;
		add_pair(site, tp, pairs, &n_pairs, r->from_zone, r->to_zone);
		if (r->stateful)
			add_pair(site, tp, pairs, &n_pairs, r->to_zone, r->from_zone);
	}
	if (n_addrs)
		memcpy(own, addrs, n_addrs * sizeof(*own));

	z->prefixes = prefixes;
	z->n_prefixes = n_prefixes;
	z->local_zones = local;
	z->n_local_zones = n_local;
	z->pairs = pairs;
	z->n_pairs = n_pairs;
	z->local_addrs = own;
	z->n_local_addrs = n_addrs;
	return z;
fail:
	errno = err;
	return NULL;
}

void tp_xdp_zones_free(struct tp_xdp_zones *z)
{
	free(z);
}
