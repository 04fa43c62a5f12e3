// SPDX-License-Identifier: MIT
/* Fuzz the prefix parser (policy files, configs and CLI flows all use it):
 * it must never crash, and whatever it accepts must format and parse back to
 * the same prefix. */
#include <stdlib.h>
#include <string.h>

#include "tp/policy/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], out[64];
	struct tp_prefix p, q;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (!tp_prefix_parse(in, &p))
		return 0;
	tp_prefix_format(&p, false, out, sizeof(out));
	if (!tp_prefix_parse(out, &q) || memcmp(&p, &q, sizeof(p)) != 0)
		abort();
	if (!tp_prefix_contains(&p, &q))
		abort();
	return 0;
}
