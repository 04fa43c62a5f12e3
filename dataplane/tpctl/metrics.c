// SPDX-License-Identifier: MIT
/*
 * tpctl metrics [openmetrics|text]: ask tpd for the results of the admin
 * commands the formatter reads (tp_metrics_sources) and print them as one
 * exposition: OpenMetrics 1.0.0 by default, the Prometheus text format
 * 0.0.4 with "text" (what promtool check metrics parses). tpd's HTTP
 * endpoint formats the same commands' results with the same code.
 *
 * A command tpd refuses is left out (its families missing), said on
 * stderr, and the exit status is 1; the rest is still printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "tp/base/admin.h"
#include "tp/dp/metrics.h"

#define EXIT_TPD_ERROR 1
#define EXIT_USAGE     2
#define EXIT_NO_TPD    3

int tpctl_metrics(const char *socket_path, int argc, char **argv)
{
	enum tp_metrics_format fmt = TP_METRICS_OPENMETRICS;
	json_t *in = json_object();
	char err[512], *text;
	size_t len;
	int rc = 0;

	if (argc == 2 && !strcmp(argv[1], "text"))
		fmt = TP_METRICS_TEXT;
	else if (argc != 1 && !(argc == 2 && !strcmp(argv[1], "openmetrics"))) {
		fprintf(stderr, "tpctl: usage: tpctl metrics [openmetrics|text]\n");
		json_decref(in);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < tp_metrics_n_sources; i++) {
		json_t *req = json_pack("{s:s}", "cmd", tp_metrics_sources[i]);
		json_t *reply = tp_admin_call(socket_path, req, 5000, err, sizeof(err));

		json_decref(req);
		if (!reply) {
			fprintf(stderr, "tpctl: %s\n", err);
			json_decref(in);
			return EXIT_NO_TPD;
		}
		if (json_is_true(json_object_get(reply, "ok"))) {
			json_object_set(in, tp_metrics_sources[i],
					json_object_get(reply, "result"));
		} else {
			const char *e = json_string_value(json_object_get(reply, "error"));

			fprintf(stderr, "tpctl: %s: %s (its metrics are left out)\n",
				tp_metrics_sources[i], e ? e : "refused");
			rc = EXIT_TPD_ERROR;
		}
		json_decref(reply);
	}
	text = tp_metrics_format(in, (int64_t)time(NULL), fmt, &len);
	json_decref(in);
	if (!text) {
		fprintf(stderr, "tpctl: out of memory\n");
		return EXIT_TPD_ERROR;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return rc;
}
