// SPDX-License-Identifier: MIT
/* Next-hop snapshots for workers (see tp/nexthop.h). */
#include "tp/nexthop.h"

#include <stdlib.h>
#include <string.h>

/* Order by role, family, then address bytes (IPv4 uses addr[0..3], the
 * rest zero, so one comparison serves both families). */
static int key_cmp(uint8_t role_a, uint8_t fam_a, const uint8_t *addr_a, uint8_t role_b,
		   uint8_t fam_b, const uint8_t *addr_b)
{
	if (role_a != role_b)
		return role_a < role_b ? -1 : 1;
	if (fam_a != fam_b)
		return fam_a < fam_b ? -1 : 1;
	return memcmp(addr_a, addr_b, 16);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct tp_nexthop_entry *x = a, *y = b;

	return key_cmp(x->role, x->family, x->addr, y->role, y->family, y->addr);
}

struct tp_nexthop_table *tp_nexthop_build(const struct tp_neigh *n, const int ifindex_of_role[2])
{
	struct tp_neigh_info ni;
	struct tp_nexthop_table *t;
	unsigned cap = 0;

	while (tp_neigh_get(n, cap, &ni) == 0)
		cap++;
	t = calloc(1, sizeof(*t) + cap * sizeof(t->e[0]));
	if (!t)
		return NULL;
	for (unsigned i = 0; tp_neigh_get(n, i, &ni) == 0; i++) {
		struct tp_nexthop_entry *e = &t->e[t->n];
		int role;

		if (!ni.usable)
			continue;
		if (ni.ifindex == ifindex_of_role[0])
			role = 0;
		else if (ni.ifindex == ifindex_of_role[1])
			role = 1;
		else
			continue;
		e->role = (uint8_t)role;
		e->family = ni.family;
		memcpy(e->addr, ni.addr, sizeof(e->addr));
		memcpy(e->mac, ni.mac, sizeof(e->mac));
		t->n++;
	}
	qsort(t->e, t->n, sizeof(t->e[0]), entry_cmp);
	return t;
}

bool tp_nexthop_lookup(const struct tp_nexthop_table *t, uint8_t role, uint8_t family,
		       const uint8_t *addr, uint8_t mac[TP_NEIGH_MAC_LEN])
{
	uint8_t key[16] = {0};
	unsigned lo = 0, hi;

	if (!t)
		return false;
	memcpy(key, addr, family == 4 ? 4 : 16);
	hi = t->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct tp_nexthop_entry *e = &t->e[mid];
		int c = key_cmp(role, family, key, e->role, e->family, e->addr);

		if (c == 0) {
			memcpy(mac, e->mac, TP_NEIGH_MAC_LEN);
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}
