// SPDX-License-Identifier: MIT
/*
 * tpolicy export: the export every TP of a policy should produce (the
 * intent, tp/policy/export.h), one file per TP in a folder, plus a copy of the
 * bundle so that `tpolicy verify DIR --pub KEY` can check its signature.
 * With --format ietf-acl: the stateless part as RFC 8519 JSON instead.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tp/policy/acl.h"
#include "tp/policy/export.h"
#include "tp/base/file.h"
#include "tpolicy.h"

static int write_bytes(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -errno;
	if (fwrite(b, 1, n, f) != n)
		rc = -EIO;
	if (fclose(f) != 0 && !rc)
		rc = -EIO;
	return rc;
}

static int write_acl(const struct tp_site *site, uint32_t t, int64_t now, const char *path)
{
	size_t skipped = 0;
	json_t *j = tp_acl_json(site, t, now, &skipped);
	int rc;

	if (!j)
		return -ENOMEM;
	rc = json_dump_file(j, path, JSON_SORT_KEYS | JSON_INDENT(2)) ? -EIO : 0;
	json_decref(j);
	if (!rc && skipped)
		fprintf(stderr,
			"tpolicy: %s: %zu conduit(s) not representable in RFC 8519 left out "
			"(application profile, SCTP ports, or closed validity window)\n",
			path, skipped);
	return rc;
}

int tpolicy_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
		{"tp", required_argument, NULL, 't'},  {"now", required_argument, NULL, 'n'},
		{"pub", required_argument, NULL, 'p'}, {"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	const char *out = NULL, *format = "json", *only = NULL, *pub = NULL, *key = NULL, *path;
	int64_t now = (int64_t)time(NULL);
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	uint8_t *bundle = NULL;
	size_t bundle_len = 0, n = 0;
	bool acl;
	char file[4096];
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 't':
			only = optarg;
			break;
		case 'n':
			if (!tpolicy_parse_time(optarg, &now)) {
				tpolicy_err("bad --now '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'p':
			pub = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		default:
			return tpolicy_usage("export");
		}
	}
	if (optind + 1 != argc || !out)
		return tpolicy_usage("export");
	if (strcmp(format, "json") != 0 && strcmp(format, "ietf-acl") != 0) {
		tpolicy_err("--format is json or ietf-acl");
		return TPOLICY_USAGE;
	}
	acl = !strcmp(format, "ietf-acl");
	path = argv[optind];
	if (sodium_init() < 0)
		return TPOLICY_USAGE;
	rc = tpolicy_load_keyed(path, pub, key, now, &site, &info);
	if (rc != TPOLICY_OK)
		return rc;
	if (!tpolicy_is_yaml(path) &&
	    tp_file_read(path, TP_BUNDLE_MAX_BYTES, &bundle, &bundle_len) < 0) {
		tpolicy_err("%s: cannot read again", path);
		rc = TPOLICY_USAGE;
		goto out;
	}
	if (mkdir(out, 0755) != 0 && errno != EEXIST) {
		tpolicy_err("%s: %s", out, strerror(errno));
		rc = TPOLICY_USAGE;
		goto out;
	}
	if (only && tp_site_tp_by_name(site, only) == UINT32_MAX) {
		tpolicy_err("no transition point '%s' in %s", only, path);
		rc = TPOLICY_USAGE;
		goto out;
	}
	for (uint32_t t = 0; t < site->n_tps; t++) {
		struct tp_export *x;

		if (only && strcmp(only, site->tps[t].name) != 0)
			continue;
		if (acl) {
			snprintf(file, sizeof(file), "%s/%s.acl.json", out, site->tps[t].name);
			rc = write_acl(site, t, now, file);
		} else {
			snprintf(file, sizeof(file), "%s/%s.json", out, site->tps[t].name);
			x = tp_export_intent(site, t, bundle ? &info : NULL, bundle, bundle_len,
					     now);
			rc = x ? tp_export_write_file(x, file) : -ENOMEM;
			tp_export_free(x);
		}
		if (rc < 0) {
			tpolicy_err("%s: %s", file, strerror(-rc));
			rc = TPOLICY_USAGE;
			goto out;
		}
		printf("%s\n", file);
		n++;
	}
	if (bundle && !acl) {
		snprintf(file, sizeof(file), "%s/bundle.tpb", out);
		if ((rc = write_bytes(file, bundle, bundle_len)) < 0) {
			tpolicy_err("%s: %s", file, strerror(-rc));
			rc = TPOLICY_USAGE;
			goto out;
		}
		printf("%s\n", file);
	}
	rc = TPOLICY_OK;
out:
	free(bundle);
	tp_site_free(site);
	return rc;
}
