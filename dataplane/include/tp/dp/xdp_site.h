/* SPDX-License-Identifier: MIT */
/*
 * Zone tables of a zone-port XDP program (struct tp_xdp_zones) derived from
 * a site, for tp_xdp_zones_apply() when a policy is applied.
 *
 * Zone ids are zone indices in the site (as the evaluator uses them). The
 * prefixes are those of all zones (the zone of an address is its longest
 * match over all zones, DESIGN.md §7.1). The pairs are the (source zone,
 * destination zone) pairs with a local source for which some allow rule could
 * admit a packet in that direction: (from, to) of every allow rule, and
 * (to, from) as well when the rule is stateful, because replies travel the
 * other way and leave through the responder's zone port. Deny rules and
 * validity windows are left to the dataplane, which is authoritative: the
 * program only removes what no rule could ever allow.
 */
#ifndef TP_DP_XDP_SITE_H
#define TP_DP_XDP_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "tp/policy/site.h"
#include "tp/dp/xdp.h"

/* Tables for transition point tp (index into site->tps), with the TP's own
 * addresses addrs[0..n_addrs) copied in. One allocation: free() it, or
 * tp_xdp_zones_free(). NULL with errno EINVAL (bad tp or zone index) or
 * ENOMEM. */
struct tp_xdp_zones *tp_xdp_zones_from_site(const struct tp_site *site, uint32_t tp,
					    const struct tp_prefix *addrs, size_t n_addrs);
void tp_xdp_zones_free(struct tp_xdp_zones *z);

#endif /* TP_DP_XDP_SITE_H */
