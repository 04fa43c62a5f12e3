// SPDX-License-Identifier: MIT
/* Located diagnostics (see tp/policy/diag.h). */
#include "tp/policy/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void tp_diag_init(struct tp_diags *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = file;
}

void tp_diag_free(struct tp_diags *d)
{
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

void tp_diag_add(struct tp_diags *d, enum tp_diag_severity sev, struct tp_srcloc loc,
		 const char *fmt, ...)
{
	struct tp_diag *e;
	va_list ap;

	if (sev == TP_DIAG_ERROR)
		d->n_errors++;
	else
		d->n_warnings++;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct tp_diag *v;

		if (d->n >= TP_DIAG_MAX)
			return;
		if (cap > TP_DIAG_MAX)
			cap = TP_DIAG_MAX;
		v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	e = &d->v[d->n++];
	e->severity = sev;
	e->loc = loc;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void tp_diag_sort(struct tp_diags *d)
{
	/* Insertion sort: stable, so messages about one spot keep the order
	 * in which they were found; n is at most TP_DIAG_MAX. */
	for (size_t i = 1; i < d->n; i++) {
		struct tp_diag t = d->v[i];
		size_t j = i;

		while (j > 0 &&
		       (d->v[j - 1].loc.line > t.loc.line ||
			(d->v[j - 1].loc.line == t.loc.line && d->v[j - 1].loc.col > t.loc.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
}

const char *tp_diag_format(const struct tp_diags *d, const struct tp_diag *e, char *buf, size_t len)
{
	const char *file = d->file ? d->file : "<input>";
	const char *sev = e->severity == TP_DIAG_ERROR ? "error" : "warning";

	if (e->loc.line)
		snprintf(buf, len, "%s:%u:%u: %s: %s", file, e->loc.line, e->loc.col, sev, e->msg);
	else
		snprintf(buf, len, "%s: %s: %s", file, sev, e->msg);
	return buf;
}

void tp_diag_print(const struct tp_diags *d, FILE *f)
{
	char buf[TP_DIAG_MSG_MAX + 256];
	size_t total = d->n_errors + d->n_warnings;

	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s\n", tp_diag_format(d, &d->v[i], buf, sizeof(buf)));
	if (total > d->n)
		fprintf(f, "%s: %zu more diagnostics not shown\n", d->file ? d->file : "<input>",
			total - d->n);
}

void tp_site_locs_free(struct tp_site_locs *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_zones; i++)
		free(l->prefix[i]);
	free(l->prefix);
	free(l);
}
