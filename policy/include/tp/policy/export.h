/* SPDX-License-Identifier: MIT */
/*
 * The verification export (DESIGN.md §1, §6): what one transition point
 * enforces, as canonical JSON, so that `tpolicy verify` can check a whole
 * plant offline.
 *
 * Two kinds of the same document:
 *  - "intent": what a TP should produce for a given policy, made offline by
 *    `tpolicy export` from a site or bundle (tp_export_intent());
 *  - "effective": what a running tpd reports (`tpctl export`), built by tpd
 *    with tp_export_new() and the setters below from its live state.
 *
 * Canonical form: keys sorted, two-space indentation, integers only (no
 * floating point), times as RFC 3339 UTC strings, keys base64, hashes
 * lowercase hex, lists in a defined order (zones and peers by name, rules by
 * id, endpoints as given). Writing the same export twice gives the same
 * bytes. The schema is policy/schema/tp-export.schema.json; its version is
 * TP_EXPORT_SCHEMA. The reader checks the structure itself (no JSON-Schema
 * library) and refuses unknown keys, wrong types, out-of-range values,
 * names that refer to nothing and documents of another schema version.
 *
 * An export never contains a secret: only public keys, endpoints, counters
 * and the policy (which is signed but not confidential to the TPs).
 *
 * Ownership: a struct tp_export owns everything it points to; free it with
 * tp_export_free(). Not thread-safe; tpd builds it on its control thread.
 */
#ifndef TP_POLICY_EXPORT_H
#define TP_POLICY_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tp/policy/bundle.h"
#include "tp/policy/site.h"

#define TP_EXPORT_SCHEMA    "tableau-export/1"
#define TP_EXPORT_MAX_BYTES (64u << 20)
#define TP_EXPORT_HASH_LEN  32 /* BLAKE2b-256 of the SignedBundle bytes */
#define TP_EXPORT_STATE_MAX 32

enum tp_export_kind {
	TP_EXPORT_INTENT = 1,
	TP_EXPORT_EFFECTIVE = 2,
};

/* A tunnel peer as this TP sees it. handshake: "intent" in an intent
 * export; "none", "initiating", "established" or "expired" live. */
struct tp_export_peer {
	char name[TP_NAME_MAX];
	uint8_t pubkey[TP_KEY_LEN];
	struct tp_endpoint *endpoints;
	size_t n_endpoints;
	char (*zones)[TP_NAME_MAX]; /* zones this TP routes to the peer */
	size_t n_zones;
	char handshake[TP_EXPORT_STATE_MAX];
	int64_t last_handshake; /* Unix s; 0 never */
};

/* One counter, by name (drop reasons of tpd and of the XDP programs). */
struct tp_export_counter {
	char name[TP_NAME_MAX];
	uint64_t value;
};

struct tp_export {
	enum tp_export_kind kind;
	int64_t exported_at;
	/* identity */
	char tp_name[TP_NAME_MAX];
	uint8_t tp_pubkey[TP_KEY_LEN];
	char software_version[TP_NAME_MAX];
	char failure_mode[TP_EXPORT_STATE_MAX];
	/* where the TP receives tunnel traffic (empty: unknown); what its
	 * peers must use (check 7) */
	struct tp_endpoint *endpoints;
	size_t n_endpoints;

	/* policy: site is the whole policy the TP runs (NULL: none loaded) */
	struct tp_site *site;
	uint64_t policy_version; /* 0: not from a bundle */
	bool has_bundle_hash;
	uint8_t bundle_hash[TP_EXPORT_HASH_LEN];
	int64_t issued_at, expires_at;

	/* enforced state. local_zones: names of the zones the TP hosts (their
	 * prefixes are those of site). rules: the conduits the TP enforces (from
	 * or to a local zone), zone indices into site->zones. hits[i] counts
	 * rules[i] (has_hits false in an intent export); rate_limited[i] its
	 * packets dropped over its rate_limit (shown with hits, for rules that
	 * have a rate_limit). */
	char (*local_zones)[TP_NAME_MAX];
	size_t n_local_zones;
	struct tp_rule *rules;
	size_t n_rules;
	uint64_t *hits;
	uint64_t *rate_limited;
	bool has_hits;
	struct tp_export_peer *peers;
	size_t n_peers;

	/* flow table summary (has_flows false when unknown) */
	bool has_flows;
	uint64_t flows_active, flows_capacity;

	/* XDP zone-port program: zone pairs it lets through (everything else it
	 * drops). has_xdp false when no program is attached (or intent without
	 * XDP mode knowledge). Pairs are site zone indices. */
	bool has_xdp;
	struct {
		uint32_t from, to;
	} * xdp_pairs;
	size_t n_xdp_pairs;

	struct tp_export_counter *counters;
	size_t n_counters;
};

void tp_export_free(struct tp_export *x);

/* An empty effective export for a TP (no policy yet). NULL on ENOMEM. */
struct tp_export *tp_export_new(const char *tp_name, const uint8_t pubkey[TP_KEY_LEN],
				const char *software_version, const char *failure_mode,
				int64_t now);

/*
 * Give the export the policy the TP runs: a copy of site, the bundle's
 * envelope (info may be NULL for a YAML site) and the bundle bytes (hashed;
 * may be NULL). Fills local zones, rules (hits 0), peers (handshake "none"
 * in an effective export) and the XDP pairs the policy implies, exactly as
 * an intent export does; the live setters below then overwrite them.
 * -ENOENT when the site has no TP named like the export, -ENOMEM.
 */
int tp_export_set_policy(struct tp_export *x, const struct tp_site *site,
			 const struct tp_bundle_info *info, const uint8_t *bundle,
			 size_t bundle_len);

/* Live state: the endpoints the TP listens on (copied). */
int tp_export_set_endpoints(struct tp_export *x, const struct tp_endpoint *e, size_t n);

/* Live state: add or replace (by name) a peer (copied). */
int tp_export_add_peer(struct tp_export *x, const struct tp_export_peer *p);

/* Live state: hit counters by rule id (ids not enforced here: -ENOENT). */
int tp_export_set_counters(struct tp_export *x, const uint32_t *rule_ids, const uint64_t *hits,
			   size_t n);

/* Live state: packets dropped over each rule's rate limit, by rule id
 * (ids not enforced here: -ENOENT). */
int tp_export_set_rate_limited(struct tp_export *x, const uint32_t *rule_ids, const uint64_t *n,
			       size_t count);

void tp_export_set_flows(struct tp_export *x, uint64_t active, uint64_t capacity);

/* Live state: the zone pairs the XDP program passes, by site zone index. */
int tp_export_set_xdp(struct tp_export *x, const uint32_t (*pairs)[2], size_t n);

/* Live state: add a named counter (e.g. a drop reason). */
int tp_export_add_counter(struct tp_export *x, const char *name, uint64_t value);

/* The intent export of TP tp (index into site->tps). NULL on ENOMEM or a bad
 * index. bundle may be NULL (export of a YAML site). */
struct tp_export *tp_export_intent(const struct tp_site *site, uint32_t tp,
				   const struct tp_bundle_info *info, const uint8_t *bundle,
				   size_t bundle_len, int64_t now);

/* The zone pairs an XDP zone program of TP tp should pass for site: pairs
 * (from local zone, to other zone) with an allow conduit in that direction,
 * or a stateful allow conduit in the other (replies of a flow opened from
 * the other side cross it too; a `stateful: false` conduit admits no reply,
 * DESIGN.md §7.4). The same pairs as dataplane/xdp/xdp_site.c fills. *out
 * is malloc'd. Returns the count or -ENOMEM. */
int tp_export_xdp_intent(const struct tp_site *site, uint32_t tp, uint32_t (**out)[2]);

/* Does rule r concern TP tp (from or to a zone it hosts)? */
bool tp_export_rule_local(const struct tp_site *site, const struct tp_rule *r, uint32_t tp);

/* Canonical JSON (a new reference), and its bytes (malloc'd, with a final
 * newline). */
json_t *tp_export_json(const struct tp_export *x);
char *tp_export_dumps(const struct tp_export *x);
int tp_export_write(const struct tp_export *x, FILE *f);
int tp_export_write_file(const struct tp_export *x, const char *path);

/* A site as the canonical JSON object exports embed, and back. The reader
 * returns NULL with a reason in err (path of the offending item). */
json_t *tp_export_site_json(const struct tp_site *site);
struct tp_site *tp_export_site_from_json(json_t *j, char *err, size_t errlen);

/* One conduit as canonical JSON, zones by name from s (without "hits"). */
json_t *tp_export_rule_json(const struct tp_site *s, const struct tp_rule *r);

/* Read and validate an export. NULL with a one-line reason in err. */
struct tp_export *tp_export_read(const char *buf, size_t len, char *err, size_t errlen);
struct tp_export *tp_export_read_file(const char *path, char *err, size_t errlen);

/* The site as this TP enforces it: a copy of x->site whose rules are the
 * export's rules. NULL without a policy or on ENOMEM. */
struct tp_site *tp_export_effective_site(const struct tp_export *x);

/* BLAKE2b-256 of a bundle file's bytes. */
void tp_export_bundle_hash(const uint8_t *bundle, size_t len, uint8_t out[TP_EXPORT_HASH_LEN]);

const char *tp_export_kind_name(enum tp_export_kind k);

/* "192.0.2.1:51820" / "[fd00::1]:51820" (buf >= 64), and back. */
const char *tp_export_endpoint_format(const struct tp_endpoint *e, char *buf, size_t len);
bool tp_export_endpoint_parse(const char *s, struct tp_endpoint *out);

#endif /* TP_POLICY_EXPORT_H */
