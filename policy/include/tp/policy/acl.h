/* SPDX-License-Identifier: MIT */
/*
 * The stateless part of a policy as RFC 8519 (ietf-access-control-list)
 * JSON, so that existing tools (NETCONF/RESTCONF controllers, firewall
 * translators, auditors) can read what a TP enforces.
 *
 * What "stateless part" means: every conduit valid at `now`, written in its
 * initiator's direction, with source and destination zone prefixes. Replies
 * of stateful conduits are not written (an ACL cannot say "replies of a
 * flow"); a reader must add its own connection tracking. Per TP there is
 * one ACL per address family ("<tp>-ipv4", "<tp>-ipv6"); deny conduits come
 * first (deny wins, §7.3), then allows in id order, then a final drop-all
 * ACE (default deny), so first-match order gives §7's result for the first
 * packet of every flow.
 *
 * Not representable, hence left out and counted in *skipped: conduits with
 * an application profile (the ACL would widen them to plain TCP), port
 * ranges of protocols other than TCP and UDP (RFC 8519 has no SCTP ports),
 * and conduits whose validity window is closed at `now`.
 */
#ifndef TP_POLICY_ACL_H
#define TP_POLICY_ACL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tp/policy/site.h"

/* ACLs of TP tp (index into site->tps), or of every TP with UINT32_MAX.
 * A new reference, NULL on ENOMEM. */
json_t *tp_acl_json(const struct tp_site *site, uint32_t tp, int64_t now, size_t *skipped);

#endif /* TP_POLICY_ACL_H */
