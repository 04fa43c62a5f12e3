// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for tp_metrics_http_parse, the parser of what a
 * /metrics client sends. Invariants checked (ASan checks that nothing is
 * read past the input, which libFuzzer hands over in a buffer of its exact
 * size):
 *   - the answer is 0 (incomplete) or exactly one of 200, 400, 404, 405, 413;
 *   - 0 only when the request is incomplete: no blank line within the first
 *     TP_METRICS_REQUEST_MAX bytes and fewer than that many bytes; any
 *     complete request, or TP_METRICS_REQUEST_MAX bytes, gets a status;
 *   - the answer depends only on the bytes up to the blank line: the
 *     request cut right after it gets the same answer (a body, or a second
 *     request, never changes it);
 *   - every shorter prefix without the blank line is 0;
 *   - a 200 carries a known format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The naive model of "complete": past the first LF that is followed by
 * LF or CR LF, within the limit. */
static size_t blank_line_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int parse_copy(const uint8_t *data, size_t n, struct tp_metrics_http_req *rq)
{
	/* an exact-size copy of the prefix: a read past n is a heap overflow */
	char *b = malloc(n ? n : 1);
	int st;

	if (!b)
		abort();
	memcpy(b, data, n);
	st = tp_metrics_http_parse(b, n, rq);
	free(b);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t lim = size < TP_METRICS_REQUEST_MAX ? size : TP_METRICS_REQUEST_MAX;
	size_t end = blank_line_end(p, lim);
	struct tp_metrics_http_req rq, rq2;
	int st = tp_metrics_http_parse(p, size, &rq);

	if (st != 0 && st != 200 && st != 400 && st != 404 && st != 405 && st != 413)
		abort();
	if ((st == 0) != (!end && size < TP_METRICS_REQUEST_MAX))
		abort();
	if (st == 200 && rq.fmt != TP_METRICS_OPENMETRICS && rq.fmt != TP_METRICS_TEXT)
		abort();
	if (end) {
		int cut = parse_copy(data, end, &rq2);

		if (cut != st)
			abort();
		if (st == 200 && (rq2.head != rq.head || rq2.fmt != rq.fmt))
			abort();
		/* one byte less: the first blank line is not complete yet */
		if (parse_copy(data, end - 1, &rq2) != 0)
			abort();
	}
	return 0;
}
