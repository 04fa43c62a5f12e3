// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the export reader (tp/policy/export.h), which reads files
 * from other machines. Properties: no crash, leak or undefined behaviour on
 * any input; a document the reader accepts is written back canonically, and
 * that text is accepted again and written back to the same bytes; the
 * effective site of an accepted export can be built.
 *
 * Seed corpus (corpus/): intent exports of the lab plant's TPs, of a site
 * using every field, and an effective export of a TP without policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_export *x, *y;
	struct tp_site *e;
	char err[256], *a, *b;

	if (size > (1u << 20))
		return 0;
	x = tp_export_read((const char *)data, size, err, sizeof(err));
	if (!x)
		return 0;
	a = tp_export_dumps(x);
	if (!a)
		abort();
	y = tp_export_read(a, strlen(a), err, sizeof(err));
	if (!y)
		abort(); /* the reader refuses what the writer wrote */
	b = tp_export_dumps(y);
	if (!b || strcmp(a, b))
		abort(); /* not canonical */
	e = tp_export_effective_site(y);
	if (y->site && !e)
		abort();
	tp_site_free(e);
	free(a);
	free(b);
	tp_export_free(x);
	tp_export_free(y);
	return 0;
}
