/* SPDX-License-Identifier: MIT */
/*
 * struct tp_site <-> protobuf tableau.v1.Site. Internal to tp_bundle.
 *
 * To the wire: the protobuf tree borrows the site's strings and allocates
 * everything else from a pool that the caller frees after packing.
 * From the wire: every field is checked (lengths, ranges, counts, names
 * that resolve) before it becomes part of a site, since the bytes may come
 * from anyone who can reach the TP.
 */
#ifndef TP_BUNDLE_CONVERT_H
#define TP_BUNDLE_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "tableau.pb-c.h"
#include "tp/policy/site.h"

/* Upper bounds on what a decoded site may hold; beyond them a bundle is
 * refused as undecodable rather than handed to the compiler. */
#define TP_SITE_MAX_TPS	       4096
#define TP_SITE_MAX_ZONES      65536
#define TP_SITE_MAX_PREFIXES   65536 /* per zone */
#define TP_SITE_MAX_RULES      (1u << 20)
#define TP_SITE_MAX_LIST       4096 /* ports, ICMP matches, profile lists per rule */
#define TP_SITE_MAX_ASSERTIONS 65536
#define TP_SITE_MAX_ENDPOINTS  64

/* Allocations of one protobuf tree being built; freed together. */
struct tp_pool {
	void **v;
	size_t n, cap;
	bool failed;
};

void *tp_pool_alloc(struct tp_pool *p, size_t n, size_t size);
void tp_pool_free(struct tp_pool *p);

/* Build the protobuf form of s. NULL on allocation failure (pool->failed). */
Tableau__V1__Site *tp_convert_to_pb(const struct tp_site *s, struct tp_pool *pool);

/*
 * Build a site from its protobuf form; NULL with a reason in err when the
 * message is not a valid site. Unknown fields are ignored everywhere except
 * in a Rule and its parts: there a field this reader does not know may
 * narrow what the rule allows (a new application profile, say), and
 * ignoring it would widen the rule. Such a site is refused with
 * *unsupported set, so the TP fails closed rather than enforcing half a
 * rule.
 */
struct tp_site *tp_convert_from_pb(const Tableau__V1__Site *pb, char *err, size_t errlen,
				   bool *unsupported);

#endif /* TP_BUNDLE_CONVERT_H */
