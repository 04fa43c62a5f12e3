// SPDX-License-Identifier: MIT
/*
 * tpolicy compile: lint the YAML (refusing on any error), then build the
 * Bundle, sign it with the controller key and write it atomically (a
 * temporary file renamed over the target), so a reader never sees half a
 * bundle.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tp/policy/diag.h"
#include "tp/base/file.h"
#include "tp/base/keys.h"
#include "tp/policy/lint.h"
#include "tp/policy/timefmt.h"
#include "tp/policy/yaml.h"
#include "tpolicy.h"

#define DEFAULT_VALIDITY (30 * 86400) /* a month: long enough for island mode */

int tpolicy_cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"key", required_argument, NULL, 'k'},
		{"version", required_argument, NULL, 'V'},
		{"valid-for", required_argument, NULL, 'f'},
		{"expires", required_argument, NULL, 'e'},
		{"not-before", required_argument, NULL, 'b'},
		{"now", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct tp_lint_opts lo = {.compile = tp_lint_compile_engine};
	struct tp_bundle_info info = {0};
	struct tp_site_locs *locs = NULL;
	struct tp_site *site = NULL;
	const char *out = NULL, *key = NULL, *path;
	int64_t now = (int64_t)time(NULL), valid_for = DEFAULT_VALIDITY, expires = 0;
	uint8_t seed[32], sk[64], pk[32], *bytes = NULL;
	char kerr[320];
	char *end, t1[32], id[2 * TP_BUNDLE_KEY_ID_LEN + 1];
	unsigned long long version = 0;
	struct tp_diags d;
	size_t len = 0;
	int c, rc = TPOLICY_USAGE;

	while ((c = getopt_long(argc, argv, "o:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'V':
			errno = 0;
			version = strtoull(optarg, &end, 10);
			if (errno || *end || !version || optarg[0] == '-') {
				tpolicy_err("bad --version '%s': a positive integer", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'f':
			if (!tp_time_parse_duration(optarg, &valid_for)) {
				tpolicy_err("bad --valid-for '%s': e.g. 30d, 12h, 3600s", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'e':
			if (!tpolicy_parse_time(optarg, &expires)) {
				tpolicy_err("bad --expires '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'b':
			if (!tpolicy_parse_time(optarg, &info.not_before)) {
				tpolicy_err("bad --not-before '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'n':
			if (!tpolicy_parse_time(optarg, &now)) {
				tpolicy_err("bad --now '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'h':
			return tpolicy_help("compile");
		default:
			return tpolicy_usage("compile");
		}
	}
	if (optind + 1 != argc || !out || !key || !version)
		return tpolicy_usage("compile");
	path = argv[optind];
	if (sodium_init() < 0)
		return TPOLICY_USAGE;
	rc = tp_key_load(key, seed, true, kerr, sizeof(kerr));
	if (rc < 0) {
		tpolicy_err("%s", kerr);
		return TPOLICY_USAGE;
	}
	tp_key_controller_expand(seed, sk, pk);
	sodium_memzero(seed, sizeof(seed));

	lo.now = now;
	tp_diag_init(&d, path);
	site = tp_yaml_read_file(path, &d, &locs);
	if (!site || !tp_lint_site(site, locs, &lo, &d)) {
		tp_diag_sort(&d);
		tp_diag_print(&d, stderr);
		tpolicy_err("%s: %zu error%s: not compiled", path, d.n_errors,
			    d.n_errors == 1 ? "" : "s");
		rc = TPOLICY_REFUSED;
		goto out;
	}
	tp_diag_print(&d, stderr); /* warnings */

	info.version = version;
	info.issued_at = now;
	info.expires_at = expires ? expires : now + valid_for;
	if (info.expires_at <= now || (info.not_before && info.not_before >= info.expires_at)) {
		tpolicy_err("the bundle would never be valid: check --expires/--not-before");
		rc = TPOLICY_USAGE;
		goto out;
	}
	rc = tp_bundle_build(site, &info, sk, &bytes, &len);
	if (rc < 0) {
		tpolicy_err("cannot build the bundle: %s", strerror(-rc));
		rc = TPOLICY_REFUSED;
		goto out;
	}
	rc = tp_file_write_durable(out, bytes, len, 0644, TP_FILE_TMP_PID);
	if (rc < 0) {
		tpolicy_err("%s: %s", out, strerror(-rc));
		rc = TPOLICY_USAGE;
		goto out;
	}
	sodium_bin2hex(id, sizeof(id), info.key_id, sizeof(info.key_id));
	printf("%s: version %llu, %zu zones, %zu conduits, %zu bytes, valid until %s, "
	       "signed by key %s\n",
	       out, version, site->n_zones, site->n_rules, len,
	       tp_time_format(info.expires_at, t1, sizeof(t1)), id);
	rc = TPOLICY_OK;
out:
	sodium_memzero(sk, sizeof(sk));
	free(bytes);
	tp_diag_free(&d);
	tp_site_locs_free(locs);
	tp_site_free(site);
	return rc;
}
