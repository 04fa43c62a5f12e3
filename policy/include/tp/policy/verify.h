/* SPDX-License-Identifier: MIT */
/*
 * The offline verifier: the ten checks of a plant's exports (DESIGN.md §1;
 * semantics of §7, with the reference evaluator tp/policy/eval.h as the oracle).
 *
 * Input: the exports of the plant's TPs (tp/policy/export.h, intent or effective),
 * optionally a reference site (the intent: `--site`) and the signed bundle
 * the TPs should run. Output: a report with, per check, pass or fail and the
 * findings behind it — each naming the TP, the zone pair, the conduit ids
 * and, where one exists, a counterexample flow — plus the zone x zone x
 * service reachability matrix.
 *
 * A finding is either a failure (the check fails) or a note (shown, but the
 * check still passes: a temporary conduit that is open, a deny that counted
 * hits, a signature that could not be checked because no bundle was given).
 */
#ifndef TP_POLICY_VERIFY_H
#define TP_POLICY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tp/policy/bundle.h"
#include "tp/policy/export.h"
#include "tp/policy/site.h"

/* X(id, "name", "what it checks") */
#define TP_VERIFY_CHECKS(X)                                                                   \
	X(INTEGRITY, "integrity", "schema, bundle hash and signature, one policy version")    \
	X(DRIFT, "drift", "each TP's effective state against the intent")                     \
	X(MATRIX, "reachability", "zone x zone x service matrix: effective against intent")   \
	X(ASSERTIONS, "assertions", "the site's must-allow and must-deny assertions")         \
	X(RULES, "rules", "shadowed, redundant, conflicting and over-broad conduits")         \
	X(STATEFUL, "stateful", "no responder can open a connection")                         \
	X(TUNNELS, "tunnels", "both ends of every tunnel agree on keys, endpoints and zones") \
	X(BLACKHOLES, "black-holes", "no flow that one end allows and the other denies")      \
	X(ENCRYPTION, "encryption", "no inter-zone path without a tunnel")                    \
	X(LIFECYCLE, "lifecycle", "expired and temporary conduits, unused conduits, deny hits")

enum tp_verify_check {
	TP_VERIFY_NONE = 0,
#define X(id, name, what) TP_VERIFY_##id,
	TP_VERIFY_CHECKS(X)
#undef X
		TP_VERIFY__COUNT
};

const char *tp_verify_check_name(enum tp_verify_check c);
const char *tp_verify_check_help(enum tp_verify_check c);

/* Exports taken further apart than this get a note (check 1). */
#define TP_VERIFY_EXPORT_SKEW_S 900

#define TP_VERIFY_MAX_RULES 4
#define TP_VERIFY_MSG_MAX   480

struct tp_verify_finding {
	enum tp_verify_check check;
	bool fail; /* false: a note */
	char tp[TP_NAME_MAX];
	char from[TP_NAME_MAX], to[TP_NAME_MAX]; /* zone pair, "" when none */
	uint32_t rules[TP_VERIFY_MAX_RULES];
	size_t n_rules;
	bool has_flow;
	struct tp_flow flow; /* counterexample */
	char msg[TP_VERIFY_MSG_MAX];
};

struct tp_verify_input {
	struct tp_export *const *exports;
	size_t n_exports;
	/* exports that could not be read, one "file: reason" each (check 1) */
	const char *const *load_errors;
	size_t n_load_errors;
	/* reference intent; NULL: the bundle's site, else the newest export's */
	const struct tp_site *site;
	/* the bundle the plant should run: bytes, and whether its signature was
	 * checked with the controller key (bundle_error says why not) */
	const uint8_t *bundle;
	size_t bundle_len;
	const struct tp_bundle_info *bundle_info;
	const struct tp_site *bundle_site;
	const char *bundle_error;
	int64_t now;
};

/* One cell of the reachability matrix that is allowed by the intent or the
 * effective state (merged over adjacent destination ports). */
struct tp_verify_cell {
	char from[TP_NAME_MAX], to[TP_NAME_MAX];
	char service[96];
	bool intent, effective; /* allowed? */
	uint32_t rule;		/* deciding rule of the intent (or effective) */
};

struct tp_verify_report {
	struct tp_verify_finding *findings;
	size_t n_findings;
	bool failed[TP_VERIFY__COUNT];
	struct tp_verify_cell *matrix;
	size_t n_matrix;
	struct tp_site *site;		  /* the reference used (owned) */
	char site_from[TP_NAME_MAX + 16]; /* "--site", "bundle", "export of <tp>" */
	size_t n_exports;
};

/* Run every check. Returns 0 (the report says pass or fail) or -ENOMEM /
 * -EINVAL (nothing to verify: no export and no site). */
int tp_verify_run(const struct tp_verify_input *in, struct tp_verify_report *out);
void tp_verify_report_free(struct tp_verify_report *r);

/* Did any check fail? */
bool tp_verify_failed(const struct tp_verify_report *r);

void tp_verify_print(const struct tp_verify_report *r, FILE *f);
json_t *tp_verify_json(const struct tp_verify_report *r);

/* Graphviz: zones as nodes (grouped by TP), one edge per zone pair with an
 * allowed service, labelled with the services; what failed is red. */
int tp_verify_dot(const struct tp_verify_report *r, FILE *f);

#endif /* TP_POLICY_VERIFY_H */
