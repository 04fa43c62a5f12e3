/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: a list of located messages, printed the way compilers print
 * them ("file:line:col: error: text"), so editors and CI annotate the right
 * line. The YAML reader, lint and the bundle loader all report through one.
 *
 * The list is bounded (TP_DIAG_MAX entries; further ones are counted, not
 * stored) so hostile input cannot make us allocate without limit.
 */
#ifndef TP_POLICY_DIAG_H
#define TP_POLICY_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tp/policy/site.h"

#define TP_DIAG_MAX	1000
#define TP_DIAG_MSG_MAX 512

enum tp_diag_severity {
	TP_DIAG_ERROR,
	TP_DIAG_WARNING,
};

struct tp_diag {
	enum tp_diag_severity severity;
	struct tp_srcloc loc; /* line 0: not from a file (no line:col printed) */
	char msg[TP_DIAG_MSG_MAX];
};

/* Owns its entries; file is borrowed and must outlive the list. */
struct tp_diags {
	const char *file; /* printed before line:col; NULL prints "<input>" */
	struct tp_diag *v;
	size_t n, cap;
	size_t n_errors, n_warnings; /* including entries past TP_DIAG_MAX */
};

void tp_diag_init(struct tp_diags *d, const char *file);
void tp_diag_free(struct tp_diags *d);

/* Where the parts of a site that struct tp_site does not locate itself were
 * written: prefix[z][i] is the location of site->zones[z].prefixes[i]. Made
 * by the YAML reader, used by lint; NULL locs mean "from a bundle". */
struct tp_site_locs {
	struct tp_srcloc **prefix;
	size_t n_zones;
};

void tp_site_locs_free(struct tp_site_locs *l);

/* Record one message. Never fails: an entry that cannot be stored is still
 * counted, so n_errors is always exact. */
void tp_diag_add(struct tp_diags *d, enum tp_diag_severity sev, struct tp_srcloc loc,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Entries in order of line, then column, then insertion (stable). */
void tp_diag_sort(struct tp_diags *d);

/* "file:line:col: error: msg\n" per entry; then a count of the ones that
 * were not stored, if any. */
void tp_diag_print(const struct tp_diags *d, FILE *f);

/* Format one entry into buf (no newline). */
const char *tp_diag_format(const struct tp_diags *d, const struct tp_diag *e, char *buf,
			   size_t len);

#endif /* TP_POLICY_DIAG_H */
