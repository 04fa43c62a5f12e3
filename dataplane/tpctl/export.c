// SPDX-License-Identifier: MIT
/*
 * tpctl export [FILE]: ask tpd for its verification export and write it
 * in canonical form (sorted keys, two-space indent, final newline), to
 * stdout or FILE (a positional argument: tpctl's option parser owns the
 * options) — the form `tpolicy verify DIR` reads. The document is
 * re-read with the export reader first, so a tpd that answers something
 * malformed is caught here rather than by the verifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "tp/base/admin.h"
#include "tp/policy/export.h"

#define EXIT_TPD_ERROR 1
#define EXIT_USAGE     2
#define EXIT_NO_TPD    3

int tpctl_export(const char *socket_path, int argc, char **argv)
{
	const char *out = NULL;
	json_t *req, *reply = NULL;
	struct tp_export *x = NULL;
	char err[512], *text = NULL;
	int rc = EXIT_TPD_ERROR;

	if (argc == 2)
		out = argv[1];
	else if (argc != 1) {
		fprintf(stderr, "tpctl: usage: tpctl export [FILE]\n");
		return EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", "export");
	reply = tp_admin_call(socket_path, req, 5000, err, sizeof(err));
	json_decref(req);
	if (!reply) {
		fprintf(stderr, "tpctl: %s\n", err);
		return EXIT_NO_TPD;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));

		fprintf(stderr, "tpctl: %s\n", e ? e : "export refused");
		goto out;
	}
	text = json_dumps(json_object_get(reply, "result"), JSON_COMPACT);
	if (!text || !(x = tp_export_read(text, strlen(text), err, sizeof(err)))) {
		fprintf(stderr, "tpctl: tpd sent an invalid export: %s\n", text ? err : "empty");
		goto out;
	}
	if (out ? tp_export_write_file(x, out) : tp_export_write(x, stdout)) {
		fprintf(stderr, "tpctl: cannot write %s\n", out ? out : "stdout");
		goto out;
	}
	rc = 0;
out:
	tp_export_free(x);
	free(text);
	json_decref(reply);
	return rc;
}
