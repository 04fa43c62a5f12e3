// SPDX-License-Identifier: MIT
/* tpolicy lint: the YAML reader's and lint's diagnostics, compiler style. */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "tp/diag.h"
#include "tp/lint.h"
#include "tp/yaml.h"
#include "tpolicy.h"

int tpolicy_cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"now", required_argument, NULL, 'n'},
		{"werror", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct tp_lint_opts lo = {.now = (int64_t)time(NULL), .compile = tpolicy_compile_check};
	struct tp_site_locs *locs = NULL;
	struct tp_site *site;
	struct tp_diags d;
	bool werror = false, ok;
	const char *path;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!tpolicy_parse_time(optarg, &lo.now)) {
				tpolicy_err("bad --now '%s': expected RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'w':
			werror = true;
			break;
		case 'h':
			return tpolicy_help("lint");
		default:
			return tpolicy_usage("lint");
		}
	}
	if (optind + 1 != argc)
		return tpolicy_usage("lint");
	path = argv[optind];
	tp_diag_init(&d, path);
	site = tp_yaml_read_file(path, &d, &locs);
	ok = site && tp_lint_site(site, locs, &lo, &d);
	tp_diag_sort(&d);
	tp_diag_print(&d, stdout);
	if (werror && d.n_warnings)
		ok = false;
	fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", path, d.n_errors,
		d.n_errors == 1 ? "" : "s", d.n_warnings, d.n_warnings == 1 ? "" : "s");
	tp_diag_free(&d);
	tp_site_locs_free(locs);
	tp_site_free(site);
	return ok ? TPOLICY_OK : TPOLICY_REFUSED;
}
