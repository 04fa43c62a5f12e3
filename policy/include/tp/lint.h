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
#ifndef TP_LINT_H
#define TP_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/diag.h"
#include "tp/site.h"

/* Pairwise overlap analysis is quadratic per zone pair: above this many
 * conduits between two zones it is skipped (with a warning). */
#define TP_LINT_PAIRWISE_MAX 4000

/* Compile hook: returns 0 when the site compiles, else a negative errno and
 * a one-line reason in err. */
typedef int (*tp_lint_compile_fn)(const struct tp_site *site, int64_t now, char *err,
				  size_t errlen);

struct tp_lint_opts {
	int64_t now;		    /* "now" for expiry and assertions without `at` */
	tp_lint_compile_fn compile; /* NULL: no compile check */
	/* Only the checks a site needs to be compiled safely (structure, a
	 * prefix in two zones): for bundles, whose authoring was linted in
	 * full when they were compiled. */
	bool structure_only;
};

/* Run every check on site; locs may be NULL. Returns true when no error was
 * found (warnings do not count). */
bool tp_lint_site(const struct tp_site *site, const struct tp_site_locs *locs,
		  const struct tp_lint_opts *opts, struct tp_diags *d);

/* Run only the assertions, at their `at` or at now; returns true if all hold. */
bool tp_lint_assertions(const struct tp_site *site, int64_t now, struct tp_diags *d);

#endif /* TP_LINT_H */
