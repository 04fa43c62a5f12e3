// SPDX-License-Identifier: MIT
/*
 * tpolicy verify DIR: read every export in DIR (*.json but *.acl.json),
 * the bundle (DIR/bundle.tpb or --bundle, its signature checked with the
 * controller key), the reference intent (--site), run the ten checks
 * (tp/policy/verify.h) and print the report; --svg draws the plant with Graphviz.
 * Exit status: 0 every check passed, 1 a check failed, 2 usage or I/O.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tp/base/file.h"
#include "tp/policy/verify.h"
#include "tpolicy.h"

extern char **environ;

struct loaded {
	struct tp_export **x;
	size_t n;
	char **errors;
	size_t n_errors;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_export_name(const char *n)
{
	size_t l = strlen(n);

	return l > 5 && !strcmp(n + l - 5, ".json") && !(l > 9 && !strcmp(n + l - 9, ".acl.json"));
}

/* Every export file of dir, in name order. */
static int load_dir(const char *dir, struct loaded *ld)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		tpolicy_err("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (!is_export_name(e->d_name))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!v) {
				rc = -1;
				break;
			}
			names = v;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc == 0 && names) {
		qsort(names, n, sizeof(char *), cmp_str);
		ld->x = calloc(n + 1, sizeof(struct tp_export *));
		ld->errors = calloc(n + 1, sizeof(*ld->errors));
		if (!ld->x || !ld->errors)
			rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char path[4096], err[512];
		struct tp_export *x;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		x = tp_export_read_file(path, err, sizeof(err));
		if (x) {
			ld->x[ld->n++] = x;
		} else {
			char *m = malloc(strlen(names[i]) + strlen(err) + 3);

			if (!m) {
				rc = -1;
				break;
			}
			sprintf(m, "%s: %s", names[i], err);
			ld->errors[ld->n_errors++] = m;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc)
		tpolicy_err("out of memory");
	return rc;
}

static void free_loaded(struct loaded *ld)
{
	for (size_t i = 0; i < ld->n; i++)
		tp_export_free(ld->x[i]);
	for (size_t i = 0; i < ld->n_errors; i++)
		free(ld->errors[i]);
	free(ld->x);
	free(ld->errors);
}

/* dot -Tsvg -o svg on a generated .dot next to it. */
static int write_svg(const struct tp_verify_report *r, const char *svg)
{
	char dotpath[4096];
	char *args[] = {"dot", "-Tsvg", "-o", (char *)svg, dotpath, NULL};
	FILE *f;
	pid_t pid;
	int st = 0;

	snprintf(dotpath, sizeof(dotpath), "%s.dot", svg);
	f = fopen(dotpath, "w");
	if (!f) {
		tpolicy_err("%s: %s", dotpath, strerror(errno));
		return -1;
	}
	tp_verify_dot(r, f);
	if (fclose(f) != 0) {
		tpolicy_err("%s: write failed", dotpath);
		return -1;
	}
	if (posix_spawnp(&pid, "dot", NULL, NULL, args, environ) != 0) {
		tpolicy_err("cannot run Graphviz 'dot' (package graphviz); the graph is in %s",
			    dotpath);
		return -1;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		tpolicy_err("dot failed on %s", dotpath);
		return -1;
	}
	return 0;
}

int tpolicy_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"site", required_argument, NULL, 's'},
		{"bundle", required_argument, NULL, 'b'},
		{"pub", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"now", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"svg", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *site_path = NULL, *bundle_path = NULL, *pub = NULL, *key = NULL;
	const char *svg = NULL, *dir;
	int64_t now = (int64_t)time(NULL);
	struct tp_verify_input in = {0};
	struct tp_verify_report rep;
	struct tp_bundle_info info, binfo;
	struct tp_site *site = NULL, *bsite = NULL;
	struct loaded ld = {0};
	uint8_t *bundle = NULL, pk[32];
	size_t bundle_len = 0;
	bool json = false, have_pk = false;
	char berr[300], bmsg[4500], dflt[4096];
	struct stat st;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			site_path = optarg;
			break;
		case 'b':
			bundle_path = optarg;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'n':
			if (!tpolicy_parse_time(optarg, &now)) {
				tpolicy_err("bad --now '%s': RFC 3339 UTC", optarg);
				return TPOLICY_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'g':
			svg = optarg;
			break;
		default:
			return tpolicy_usage("verify");
		}
	}
	if (optind + 1 != argc)
		return tpolicy_usage("verify");
	dir = argv[optind];
	if (sodium_init() < 0)
		return TPOLICY_USAGE;
	if (pub || key) {
		rc = tpolicy_controller_pub(pub, key, pk);
		if (rc != TPOLICY_OK)
			return rc;
		have_pk = true;
	}
	if (!bundle_path) {
		snprintf(dflt, sizeof(dflt), "%s/bundle.tpb", dir);
		if (stat(dflt, &st) == 0)
			bundle_path = dflt;
	}
	if (site_path) {
		if (!tpolicy_is_yaml(site_path) && !have_pk) {
			tpolicy_err("--site %s is a bundle: give --pub KEY.pub", site_path);
			return TPOLICY_USAGE;
		}
		rc = tpolicy_load(site_path, have_pk ? pk : NULL, now, &site, &info);
		if (rc != TPOLICY_OK)
			return rc;
	}
	if (load_dir(dir, &ld) < 0) {
		rc = TPOLICY_USAGE;
		goto out;
	}
	if (bundle_path) {
		rc = tp_file_read(bundle_path, TP_BUNDLE_MAX_BYTES, &bundle, &bundle_len);
		if (rc < 0) {
			tpolicy_err("%s: %s", bundle_path, strerror(-rc));
			rc = TPOLICY_USAGE;
			goto out;
		}
		if (!have_pk) {
			snprintf(bmsg, sizeof(bmsg),
				 "%s: no controller key to check its signature (--pub KEY.pub)",
				 bundle_path);
			in.bundle_error = bmsg;
		} else {
			enum tp_bundle_status bs = tp_bundle_open(bundle, bundle_len, pk, &binfo,
								  &bsite, berr, sizeof(berr));

			if (bs != TP_BUNDLE_OK) {
				snprintf(bmsg, sizeof(bmsg), "%s: %s: %s", bundle_path,
					 tp_bundle_status_name(bs), berr);
				in.bundle_error = bmsg;
			} else {
				in.bundle = bundle;
				in.bundle_len = bundle_len;
				in.bundle_info = &binfo;
				in.bundle_site = bsite;
			}
		}
	}
	in.exports = ld.x;
	in.n_exports = ld.n;
	in.load_errors = (const char *const *)ld.errors;
	in.n_load_errors = ld.n_errors;
	in.site = site;
	in.now = now;
	rc = tp_verify_run(&in, &rep);
	if (rc == -EINVAL) {
		tpolicy_err("%s: no readable export with a policy, and no --site", dir);
		for (size_t i = 0; i < ld.n_errors; i++)
			tpolicy_err("%s", ld.errors[i]);
		rc = TPOLICY_REFUSED;
		goto out;
	}
	if (rc < 0) {
		tpolicy_err("verify: %s", strerror(-rc));
		rc = TPOLICY_USAGE;
		goto out;
	}
	if (json) {
		json_t *j = tp_verify_json(&rep);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else {
		tp_verify_print(&rep, stdout);
	}
	rc = tp_verify_failed(&rep) ? TPOLICY_REFUSED : TPOLICY_OK;
	if (svg && write_svg(&rep, svg) < 0)
		rc = TPOLICY_USAGE;
	tp_verify_report_free(&rep);
out:
	free_loaded(&ld);
	free(bundle);
	tp_site_free(site);
	tp_site_free(bsite);
	return rc;
}
