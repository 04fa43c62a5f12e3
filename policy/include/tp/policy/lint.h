/* SPDX-License-Identifier: MIT */
/*
 * Lint: the checks a site must pass before it is compiled and signed, each
 * reported at the line:column of the item at fault (when the site came from
 * a file; a site decoded from a bundle has no locations).
 *
 * Errors:
 *  - structure: an index out of range, a zone without prefixes or TP,
 *    duplicate zone names or ids, duplicate conduit ids, an inverted range,
 *    a validity window that never opens;
 *  - a prefix in two zones (DESIGN.md §7.1);
 *  - a conduit shadowed by a deny conduit (it never allows anything: deny
 *    wins), or made redundant by another conduit of the same action that
 *    matches all its traffic and decides it (smaller id);
 *  - a failed assertion, naming the conduit that breaks it, or "default
 *    deny";
 *  - anything the compiler refuses (through the optional compile hook).
 * Warnings:
 *  - an allow and a deny that both match some traffic (deny wins);
 *  - a conduit inside one zone (never evaluated), an expired conduit, a
 *    prefix listed twice in one zone, a transition point hosting nothing.
 */
#ifndef TP_POLICY_LINT_H
#define TP_POLICY_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/diag.h"
#include "tp/policy/site.h"

/* Pairwise overlap analysis is quadratic per zone pair: above this many
 * conduits between two zones it is skipped (with a warning). */
#define TP_LINT_PAIRWISE_MAX 4000

/* Compile hook: returns 0 when the site compiles, else a negative errno and
 * a one-line reason in err. */
typedef int (*tp_lint_compile_fn)(const struct tp_site *site, int64_t now, char *err,
				  size_t errlen);

/* The compile hook of the real compiler: tp_engine_compile(), result
 * discarded. */
int tp_lint_compile_engine(const struct tp_site *site, int64_t now, char *err, size_t errlen);

struct tp_lint_opts {
	int64_t now;		    /* "now" for expiry and assertions without `at` */
	tp_lint_compile_fn compile; /* NULL: no compile check */
	/* Only the checks a site needs to be compiled safely (structure, a
	 * prefix in two zones): for bundles, whose authoring was linted in
	 * full when they were compiled. */
	bool structure_only;
};

/*
 * Structured findings. Every finding has a kind, a severity fixed by its
 * kind, the location of the item at fault and the ids of the conduits
 * involved; its human message is a rendering of those fields
 * (tp_lint_format), so a program that acts on findings (tpolicy verify)
 * reads the fields, never the text.
 *
 * X(NAME, "label", severity): the label is stable, for machines.
 */
#define TP_LINT_KINDS(X)                                                 \
	X(ZONE_NO_TP, "zone-without-tp", TP_DIAG_ERROR)                  \
	X(ZONE_NO_PREFIX, "zone-without-prefixes", TP_DIAG_ERROR)        \
	X(ZONE_NO_NAME, "zone-without-name", TP_DIAG_ERROR)              \
	X(TP_HOSTS_NOTHING, "tp-hosts-nothing", TP_DIAG_WARNING)         \
	X(DUP_TP, "duplicate-tp", TP_DIAG_ERROR)                         \
	X(DUP_ZONE_NAME, "duplicate-zone-name", TP_DIAG_ERROR)           \
	X(DUP_ZONE_ID, "duplicate-zone-id", TP_DIAG_ERROR)               \
	X(DUP_CONDUIT_ID, "duplicate-conduit-id", TP_DIAG_ERROR)         \
	X(RESERVED_ID, "reserved-conduit-id", TP_DIAG_ERROR)             \
	X(UNKNOWN_ZONE, "unknown-zone", TP_DIAG_ERROR)                   \
	X(NO_ACTION, "no-action", TP_DIAG_ERROR)                         \
	X(INVERTED_RANGE, "inverted-range", TP_DIAG_ERROR)               \
	X(BAD_ICMP_CODE, "bad-icmp-code", TP_DIAG_ERROR)                 \
	X(LIST_MISFIT, "lists-misfit-protocol", TP_DIAG_ERROR)           \
	X(NEVER_VALID, "never-valid", TP_DIAG_ERROR)                     \
	X(EXPIRED, "expired", TP_DIAG_WARNING)                           \
	X(SAME_ZONE, "same-zone", TP_DIAG_WARNING)                       \
	X(PREFIX_TWICE, "prefix-twice", TP_DIAG_WARNING)                 \
	X(PREFIX_TWO_ZONES, "prefix-in-two-zones", TP_DIAG_ERROR)        \
	X(PAIRWISE_SKIPPED, "overlap-analysis-skipped", TP_DIAG_WARNING) \
	X(SHADOWED, "shadowed", TP_DIAG_ERROR)                           \
	X(REDUNDANT, "redundant", TP_DIAG_ERROR)                         \
	X(CONFLICT, "allow-deny-conflict", TP_DIAG_WARNING)              \
	X(PROFILE_BYPASSED, "profile-never-enforced", TP_DIAG_ERROR)     \
	X(PROFILE_PARTIAL, "profile-partly-bypassed", TP_DIAG_WARNING)   \
	X(PROFILES_OVERLAP, "profiles-overlap", TP_DIAG_WARNING)         \
	X(ASSERTION_FAILED, "assertion-failed", TP_DIAG_ERROR)           \
	X(COMPILE_FAILED, "does-not-compile", TP_DIAG_ERROR)

enum tp_lint_kind {
#define TP_LINT_KIND_ENUM(name, label, sev) TP_LINT_##name,
	TP_LINT_KINDS(TP_LINT_KIND_ENUM)
#undef TP_LINT_KIND_ENUM
		TP_LINT__KIND_COUNT
};

#define TP_LINT_NONE UINT32_MAX

/*
 * What each kind fills, besides kind, severity and loc (the item at fault):
 *  - rules[]: ids of the conduits involved, the one at fault first (for
 *    shadowed: the allow, then the deny; redundant: the dead conduit, then
 *    the one that decides; conflict: the allow, then the deny; a failed
 *    assertion: the deciding conduit, if a conduit decided);
 *  - index/index2: site indexes: the conduit, zone, TP or assertion at
 *    fault, and the earlier or covering item (TP_LINT_NONE: none);
 *  - zones[]: the zone pair involved (TP_LINT_NONE: none);
 *  - other: location of the other item involved (line 0: none);
 *  - value[]: inverted range: lo, hi; bad ICMP code: the code; expired:
 *    not_after; skipped analysis: the number of conduits; failed
 *    assertion: whether the flow is allowed, the tp_reason;
 *  - prefix: for the two prefix kinds; detail: the compiler's reason.
 */
struct tp_lint_finding {
	enum tp_lint_kind kind;
	enum tp_diag_severity severity;
	struct tp_srcloc loc;
	struct tp_srcloc other;
	uint32_t rules[2];
	size_t n_rules;
	uint32_t index, index2;
	uint32_t zones[2];
	int64_t value[2];
	struct tp_prefix prefix;
	char detail[256];
};

/* Bounded like tp_diags (TP_DIAG_MAX stored, the rest counted). */
struct tp_lint_result {
	struct tp_lint_finding *v;
	size_t n, cap;
	size_t n_errors, n_warnings;  /* including findings past TP_DIAG_MAX */
	bool oom;		      /* some check could not run: counts as an error */
	struct tp_lint_finding spill; /* scratch for findings that are not stored */
};

void tp_lint_result_init(struct tp_lint_result *res);
void tp_lint_result_free(struct tp_lint_result *res);

/* Run every check on site into res, findings in file order (line, column,
 * then order found); locs may be NULL. Returns true when no error was
 * found. */
bool tp_lint_run(const struct tp_site *site, const struct tp_site_locs *locs,
		 const struct tp_lint_opts *opts, struct tp_lint_result *res);

/* Stable label of a kind ("shadowed"); "?" out of range. */
const char *tp_lint_kind_name(enum tp_lint_kind k);

/* The human message of finding f about site (no location, no severity).
 * Lives in its own object file: tests replace it to prove that nothing
 * reads the text. */
const char *tp_lint_format(const struct tp_site *site, const struct tp_lint_finding *f, char *buf,
			   size_t len);

/* Run every check on site; locs may be NULL. Returns true when no error was
 * found (warnings do not count). Each finding becomes one diagnostic, its
 * message rendered by tp_lint_format. */
bool tp_lint_site(const struct tp_site *site, const struct tp_site_locs *locs,
		  const struct tp_lint_opts *opts, struct tp_diags *d);

/* Run only the assertions, at their `at` or at now; returns true if all hold. */
bool tp_lint_assertions(const struct tp_site *site, int64_t now, struct tp_diags *d);

#endif /* TP_POLICY_LINT_H */
