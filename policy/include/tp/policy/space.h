/* SPDX-License-Identifier: MIT */
/*
 * The service space of one zone pair, cut into cells on which every given
 * site decides the same way, so that "which flows does this site allow
 * between these zones" has an exact, finite answer (the verifier's
 * reachability matrix, black holes, `tpolicy diff`).
 *
 * Decisions of the reference evaluator (tp/policy/eval.h) depend, inside one zone
 * pair, only on the protocol, the destination and source port for port
 * protocols, the ICMP type and code, and time. The cells split each of those
 * dimensions at every boundary a conduit of that pair (in any of the sites)
 * draws: each listed protocol, plus one cell per remaining port protocol,
 * ICMP and "any other protocol" when a conduit matches any protocol; port
 * intervals between consecutive range ends; each listed ICMP type and code,
 * plus "other codes" and "other types". One representative flow per cell
 * then stands for all of it. Addresses are not a dimension: zones are
 * whole (every address of a zone decides alike), and the representative
 * address is one that longest-prefix matching really puts in the zone.
 *
 * Only ICMP depends on the address family (ICMP with IPv4, ICMPv6 with IPv6);
 * other cells use IPv4 addresses when both zones have some, else IPv6.
 *
 * Cells come out ordered by protocol, source interval, destination
 * interval, so that neighbours with the same outcome can be merged. A pair
 * without any conduit in any site has no cells (default deny everywhere).
 */
#ifndef TP_POLICY_SPACE_H
#define TP_POLICY_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/eval.h"
#include "tp/policy/site.h"

struct tp_cell {
	uint8_t proto;		     /* representative protocol */
	bool other;		     /* stands for every protocol no conduit names */
	uint16_t dlo, dhi, slo, shi; /* port protocols: the intervals */
	int16_t itype, icode;	     /* ICMP: -1 every one not listed, -2 any */
	uint8_t rep_type, rep_code;  /* ICMP: representative */
};

struct tp_space {
	struct tp_cell *cells;
	size_t n;
};

/* Cells for traffic from zone `from` to zone `to` (names) over sites.
 * Returns 0 or -ENOMEM; out->cells is malloc'd (free with tp_space_free). */
int tp_space_build(const struct tp_site *const *sites, size_t n_sites, const char *from,
		   const char *to, struct tp_space *out);
void tp_space_free(struct tp_space *sp);

/* An address that is in zone z by longest-prefix match, of that family. */
bool tp_space_zone_addr(const struct tp_site *s, uint32_t z, uint8_t family, struct tp_prefix *out);

/* The representative flow of cell c from zone `from` to `to` in site s;
 * false when s lacks either zone or an address of the cell's family. */
bool tp_space_flow(const struct tp_site *s, const char *from, const char *to,
		   const struct tp_cell *c, struct tp_flow *out);

/* Decide cell c in site s at now; a missing zone decides "deny, no zone". */
void tp_space_decide(const struct tp_site *s, const char *from, const char *to,
		     const struct tp_cell *c, int64_t now, struct tp_decision *out);

/* May b be merged into a (same everything, b's destination interval right
 * after a's)? */
bool tp_space_cell_adjacent(const struct tp_cell *a, const struct tp_cell *b);

/* "tcp/502", "tcp/1000-2000 sport 1-1023", "udp/any", "icmp 8/0",
 * "icmp 8", "icmp 8/other codes", "icmp other types", "icmp any",
 * "other protocols". */
const char *tp_space_cell_format(const struct tp_cell *c, char *buf, size_t len);

#endif /* TP_POLICY_SPACE_H */
