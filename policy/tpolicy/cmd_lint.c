// SPDX-License-Identifier: MIT
/*
 * tpolicy lint: the YAML reader's and lint's diagnostics, compiler style;
 * with --json, the same findings structured (lint's kind and conduit ids,
 * tp/policy/lint.h), for CI and editors.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "tp/policy/diag.h"
#include "tp/policy/lint.h"
#include "tp/policy/yaml.h"
#include "tpolicy.h"

static bool loc_before(struct tp_srcloc a, struct tp_srcloc b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

static json_t *entry(const char *kind, enum tp_diag_severity sev, struct tp_srcloc loc,
		     const uint32_t *ids, size_t n_ids, const char *msg)
{
	json_t *conduits = json_array();

	for (size_t i = 0; i < n_ids; i++)
		json_array_append_new(conduits, json_integer(ids[i]));
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:s}", "severity",
			 sev == TP_DIAG_ERROR ? "error" : "warning", "kind", kind, "line",
			 (json_int_t)loc.line, "column", (json_int_t)loc.col, "conduits", conduits,
			 "message", msg);
}

/*
 * One JSON document: the reader's diagnostics (kind "syntax") and lint's
 * findings merged in file order, and the counts. Both lists are sorted by
 * location already.
 */
static void print_json(const char *path, const struct tp_site *site, const struct tp_diags *d,
		       const struct tp_lint_result *res, bool ok)
{
	json_t *v = json_array(), *o;
	size_t i = 0, j = 0, shown;
	char msg[TP_DIAG_MSG_MAX];

	while (i < d->n || j < res->n) {
		if (j == res->n || (i < d->n && !loc_before(res->v[j].loc, d->v[i].loc))) {
			json_array_append_new(v, entry("syntax", d->v[i].severity, d->v[i].loc,
						       NULL, 0, d->v[i].msg));
			i++;
		} else {
			const struct tp_lint_finding *f = &res->v[j++];

			json_array_append_new(v, entry(tp_lint_kind_name(f->kind), f->severity,
						       f->loc, f->rules, f->n_rules,
						       tp_lint_format(site, f, msg, sizeof(msg))));
		}
	}
	shown = d->n + res->n;
	o = json_pack(
		"{s:s, s:b, s:I, s:I, s:I, s:o}", "file", path, "ok", ok, "errors",
		(json_int_t)(d->n_errors + res->n_errors + res->oom), "warnings",
		(json_int_t)(d->n_warnings + res->n_warnings), "not_shown",
		(json_int_t)(d->n_errors + d->n_warnings + res->n_errors + res->n_warnings - shown),
		"findings", v);
	if (o) {
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	json_decref(o);
}

int tpolicy_cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"now", required_argument, NULL, 'n'},
		{"werror", no_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct tp_lint_opts lo = {.now = (int64_t)time(NULL), .compile = tp_lint_compile_engine};
	struct tp_site_locs *locs = NULL;
	struct tp_lint_result res;
	struct tp_site *site;
	struct tp_diags d;
	bool werror = false, json = false, ok;
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
		case 'j':
			json = true;
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
	if (json) {
		tp_lint_result_init(&res);
		ok = site && tp_lint_run(site, locs, &lo, &res);
		tp_diag_sort(&d);
		if (werror && (d.n_warnings || res.n_warnings))
			ok = false;
		print_json(path, site, &d, &res, ok);
		tp_lint_result_free(&res);
		goto out;
	}
	ok = site && tp_lint_site(site, locs, &lo, &d);
	tp_diag_sort(&d);
	tp_diag_print(&d, stdout);
	if (werror && d.n_warnings)
		ok = false;
	fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", path, d.n_errors,
		d.n_errors == 1 ? "" : "s", d.n_warnings, d.n_warnings == 1 ? "" : "s");
out:
	tp_diag_free(&d);
	tp_site_locs_free(locs);
	tp_site_free(site);
	return ok ? TPOLICY_OK : TPOLICY_REFUSED;
}
