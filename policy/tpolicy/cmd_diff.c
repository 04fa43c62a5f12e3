// SPDX-License-Identifier: MIT
/*
 * tpolicy diff OLD NEW: the flows newly allowed and newly denied, by zone
 * pair and service (tp/policy/diff.h). Exit status as diff(1): 0 no difference,
 * 1 differences, 2 trouble.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <time.h>

#include "tp/policy/diff.h"
#include "tpolicy.h"

int tpolicy_cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{"now", required_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'},
		{"pub", required_argument, NULL, 'p'}, {"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	const char *pub = NULL, *key = NULL;
	int64_t now = (int64_t)time(NULL);
	struct tp_site *a = NULL, *b = NULL;
	struct tp_bundle_info info;
	struct tp_diff d;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!tpolicy_parse_time(optarg, &now)) {
				tpolicy_err("bad --now '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		default:
			return tpolicy_usage("diff");
		}
	}
	if (optind + 2 != argc)
		return tpolicy_usage("diff");
	if (sodium_init() < 0)
		return TPOLICY_USAGE;
	if (tpolicy_load_keyed(argv[optind], pub, key, now, &a, &info) != TPOLICY_OK ||
	    tpolicy_load_keyed(argv[optind + 1], pub, key, now, &b, &info) != TPOLICY_OK) {
		rc = TPOLICY_USAGE;
		goto out;
	}
	if (tp_diff_sites(a, b, now, &d) < 0) {
		tpolicy_err("out of memory");
		rc = TPOLICY_USAGE;
		goto out;
	}
	if (json) {
		json_t *j = tp_diff_json(&d);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else {
		tp_diff_print(&d, stdout);
	}
	rc = d.n_flows || d.n_zones ? 1 : 0;
	tp_diff_free(&d);
out:
	tp_site_free(a);
	tp_site_free(b);
	return rc;
}
