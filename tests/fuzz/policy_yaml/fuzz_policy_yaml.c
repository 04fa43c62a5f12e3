// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the YAML policy reader and lint: any bytes either
 * give a site that lint can walk, or diagnostics; never a crash, a leak or
 * unbounded work. Also feeds the flow notation parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/flowspec.h"
#include "tp/policy/lint.h"
#include "tp/policy/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_lint_opts o = {.now = 1795000000};
	struct tp_site_locs *locs = NULL;
	struct tp_site *site;
	struct tp_diags d;
	char line[256], buf[160];
	struct tp_flow f;

	tp_diag_init(&d, "fuzz.yaml");
	site = tp_yaml_read((const char *)data, size, &d, &locs);
	if (site) {
		tp_lint_site(site, locs, &o, &d);
		for (size_t i = 0; i < site->n_assertions; i++)
			tp_flowspec_format(&site->assertions[i].flow, buf, sizeof(buf));
	}
	tp_diag_free(&d);
	tp_site_locs_free(locs);
	tp_site_free(site);

	/* the first line, as a --flow argument */
	if (size < sizeof(line)) {
		memcpy(line, data, size);
		line[size] = '\0';
		if (tp_flowspec_parse(line, &f, buf, sizeof(buf)))
			tp_flowspec_format(&f, buf, sizeof(buf));
	}
	return 0;
}
