/* SPDX-License-Identifier: MIT */
/*
 * In-memory model of a site: zones, transition points, conduit rules and
 * assertions. It is the one meeting point of the policy code:
 *
 *   site.yaml --(policy/yaml)--> struct tp_site <--(policy/bundle)--> protobuf Site
 *                                      |
 *                                      +--(policy/engine)--> compiled tables
 *                                      +--(policy/engine)--> reference evaluator
 *
 * Plain C, no DPDK. A site owns every array and string it points to; free it
 * with tp_site_free(). Indices (zone, tp) refer to positions in the arrays of
 * the same site, so a site is self-contained and can be copied with
 * tp_site_clone().
 *
 * Semantics of the fields are exactly those of DESIGN.md §7.
 */
#ifndef TP_POLICY_SITE_H
#define TP_POLICY_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/base/keys.h" /* TP_KEY_LEN: an X25519 public key, bytes */

#define TP_NAME_MAX	64 /* zone, TP and site names, bytes incl. NUL */
#define TP_RULE_ID_NONE 0  /* "no rule": the default decision */
#define TP_ZONE_NONE	UINT32_MAX

enum tp_family {
	TP_AF_INET = 4,
	TP_AF_INET6 = 6,
};

/* An address or a prefix. Addresses are stored in network byte order; an
 * IPv4 address uses addr[0..3] and leaves the rest zero. */
struct tp_prefix {
	uint8_t family; /* enum tp_family */
	uint8_t len;	/* prefix length in bits: 0..32 or 0..128 */
	uint8_t addr[16];
};

/* Where a thing was written, for error messages (line/column are 1-based;
 * 0 when the thing did not come from a file, e.g. from a bundle). */
struct tp_srcloc {
	uint32_t line;
	uint32_t col;
};

struct tp_port_range {
	uint16_t lo; /* inclusive */
	uint16_t hi; /* inclusive, lo <= hi */
};

/* One ICMP type, with one code or any code. */
struct tp_icmp_match {
	uint8_t type;
	int16_t code; /* 0..255, or -1 for any code */
};

enum tp_action {
	TP_ACTION_ALLOW = 1,
	TP_ACTION_DENY = 2,
};

enum tp_profile_kind {
	TP_PROFILE_NONE = 0,
	TP_PROFILE_MODBUS = 1,
};

struct tp_u16_range {
	uint16_t lo;
	uint16_t hi;
};

/* Modbus/TCP application profile (OT-FACTS.md). Empty lists mean any. */
struct tp_modbus_profile {
	uint8_t *unit_ids;
	size_t n_unit_ids;
	uint8_t *function_codes;
	size_t n_function_codes;
	struct tp_u16_range *registers; /* data addresses */
	size_t n_registers;
};

struct tp_rule {
	uint32_t id; /* stable, unique in the site, never TP_RULE_ID_NONE */
	char name[TP_NAME_MAX];
	uint32_t from_zone; /* index into site->zones */
	uint32_t to_zone;   /* index into site->zones */
	enum tp_action action;
	uint8_t proto; /* IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6); 0 = any */
	struct tp_port_range *dst_ports; /* empty = any */
	size_t n_dst_ports;
	struct tp_port_range *src_ports; /* empty = any */
	size_t n_src_ports;
	struct tp_icmp_match *icmp; /* empty = any; only with an ICMP proto */
	size_t n_icmp;
	bool stateful; /* stateful by initiator; default true */
	enum tp_profile_kind profile;
	struct tp_modbus_profile modbus;
	uint32_t rate_pps; /* 0 = no rate limit */
	uint32_t rate_burst;
	int64_t not_before; /* Unix seconds UTC; 0 = since forever */
	int64_t not_after;  /* Unix seconds UTC; 0 = until forever */
	bool log;
	struct tp_srcloc loc;
};

struct tp_zone {
	uint32_t id; /* stable id, unique in the site */
	char name[TP_NAME_MAX];
	struct tp_prefix *prefixes;
	size_t n_prefixes;
	uint32_t tp; /* index into site->tps of the hosting transition point */
	struct tp_srcloc loc;
};

struct tp_endpoint {
	struct tp_prefix addr; /* a full-length address */
	uint16_t port;
};

struct tp_tpoint {
	char name[TP_NAME_MAX];
	uint8_t pubkey[TP_KEY_LEN];
	struct tp_endpoint *endpoints;
	size_t n_endpoints;
	struct tp_srcloc loc;
};

/* A flow as assertions and `tpolicy check` describe it. */
struct tp_flow {
	uint8_t proto;
	struct tp_prefix src; /* full-length addresses */
	struct tp_prefix dst;
	uint16_t sport; /* for ICMP: unused */
	uint16_t dport;
	uint8_t icmp_type;
	uint8_t icmp_code;
};

struct tp_assertion {
	bool must_allow; /* false = must be denied */
	char name[TP_NAME_MAX];
	struct tp_flow flow;
	int64_t at; /* evaluate at this time (Unix s); 0 = at compile time */
	struct tp_srcloc loc;
};

struct tp_site {
	char name[TP_NAME_MAX];
	struct tp_zone *zones;
	size_t n_zones;
	struct tp_tpoint *tps;
	size_t n_tps;
	struct tp_rule *rules;
	size_t n_rules;
	struct tp_assertion *assertions;
	size_t n_assertions;
	char *source_file; /* for messages; NULL when not from a file */
};

/* Free everything a site owns, then the site itself. NULL is fine. */
void tp_site_free(struct tp_site *site);

/* Deep copy; NULL on allocation failure. */
struct tp_site *tp_site_clone(const struct tp_site *site);

/* Parse "10.1.0.0/16", "fd00::/64" or a bare address (full length).
 * Host bits beyond len must be zero. Returns false on any error. */
bool tp_prefix_parse(const char *s, struct tp_prefix *out);

/* Format as "a.b.c.d/len" or "x::y/len" (without /len for full-length
 * addresses when bare is true). buf must hold at least 50 bytes. */
const char *tp_prefix_format(const struct tp_prefix *p, bool bare, char *buf, size_t len);

/* Does prefix p contain address (or prefix) a? Families must match. */
bool tp_prefix_contains(const struct tp_prefix *p, const struct tp_prefix *a);

/* Index of the zone whose prefix is the longest match for addr, or
 * TP_ZONE_NONE. Linear, obviously correct: for offline tools and tests. */
uint32_t tp_site_zone_of(const struct tp_site *site, const struct tp_prefix *addr);

/* Index of the zone or TP with that name, or TP_ZONE_NONE / UINT32_MAX. */
uint32_t tp_site_zone_by_name(const struct tp_site *site, const char *name);
uint32_t tp_site_tp_by_name(const struct tp_site *site, const char *name);

#endif /* TP_POLICY_SITE_H */
