// SPDX-License-Identifier: MIT
/*
 * tpolicy status: ask a running `tpolicy serve` (its status socket,
 * STATE/serve.sock) which TPs are connected and what they run; with
 * --wait VERSION, poll until every TP of the site runs VERSION or newer,
 * or --timeout seconds pass (exit 1).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tp/base/admin.h"
#include "tpolicy.h"

#define DEFAULT_SOCKET "/var/lib/tableau/controller/serve.sock"

static const char *state_name(int st)
{
	static const char *const names[] = {"-",      "no-policy",   "enforcing",
					    "island", "fail-closed", "fail-static"};

	return st >= 0 && st < (int)(sizeof(names) / sizeof(names[0])) ? names[st] : "?";
}

/* A version field: an integer, or a decimal string above 2^63-1
 * (serve.c's json_version). */
static uint64_t version_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	return (uint64_t)json_integer_value(v);
}

static void print_table(json_t *res)
{
	json_t *tps = json_object_get(res, "tps"), *t;
	size_t i;

	printf("controller version %" PRIu64 "  site %s\n", version_of(res, "version"),
	       json_string_value(json_object_get(res, "site")));
	printf("%-16s %-13s %-22s %8s %8s  %-11s %s\n", "TP", "CONNECTION", "PEER", "RUNNING",
	       "ACKED", "STATE", "LAST REFUSAL");
	json_array_foreach(tps, i, t)
	{
		const char *nack = json_string_value(json_object_get(t, "nack_text"));
		char refusal[200] = "-";

		if (version_of(t, "nacked_version"))
			snprintf(refusal, sizeof(refusal), "v%" PRIu64 ": %s",
				 version_of(t, "nacked_version"), nack ? nack : "");
		printf("%-16s %-13s %-22s %8" PRIu64 " %8" PRIu64 "  %-11s %s\n",
		       json_string_value(json_object_get(t, "name")),
		       json_is_true(json_object_get(t, "connected")) ? "connected" : "disconnected",
		       json_string_value(json_object_get(t, "peer"))[0]
			       ? json_string_value(json_object_get(t, "peer"))
			       : "-",
		       version_of(t, "running_version"), version_of(t, "acked_version"),
		       state_name((int)json_integer_value(json_object_get(t, "policy_state"))),
		       refusal);
	}
}

/* Does every TP run at least version? */
static bool all_run(json_t *res, uint64_t version)
{
	json_t *tps = json_object_get(res, "tps"), *t;
	size_t i;

	if (!json_array_size(tps))
		return false;
	json_array_foreach(tps, i, t)
	{
		if (version_of(t, "running_version") < version)
			return false;
	}
	return true;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tpolicy_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 'S'},
		{"socket", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{"wait", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char sock[4096] = DEFAULT_SOCKET, err[256] = "", *end;
	unsigned long long wait_version = 0;
	double timeout = 30, deadline;
	bool as_json = false, waiting = false, ok;
	json_t *res = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			snprintf(sock, sizeof(sock), "%s/serve.sock", optarg);
			break;
		case 'u':
			snprintf(sock, sizeof(sock), "%s", optarg);
			break;
		case 'j':
			as_json = true;
			break;
		case 'w':
			wait_version = strtoull(optarg, &end, 10);
			if (*end || !wait_version) {
				tpolicy_err("bad --wait '%s': a version number", optarg);
				return TPOLICY_USAGE;
			}
			waiting = true;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || timeout < 0) {
				tpolicy_err("bad --timeout '%s': seconds", optarg);
				return TPOLICY_USAGE;
			}
			break;
		default:
			return tpolicy_usage("status");
		}
	}
	if (optind != argc)
		return tpolicy_usage("status");
	deadline = mono_s() + timeout;
	for (;;) {
		json_t *req = json_pack("{s:s}", "cmd", "status");

		json_t *reply = tp_admin_call(sock, req, 2000, err, sizeof(err));

		json_decref(req);
		json_decref(res);
		res = NULL;
		if (reply && json_is_true(json_object_get(reply, "ok")))
			res = json_incref(json_object_get(reply, "result"));
		else if (reply)
			snprintf(err, sizeof(err), "%s",
				 json_string_value(json_object_get(reply, "error"))
					 ? json_string_value(json_object_get(reply, "error"))
					 : "bad reply");
		json_decref(reply);
		ok = res && (!waiting || all_run(res, wait_version));
		if (ok || !waiting || mono_s() >= deadline)
			break;
		usleep(100000);
	}
	if (!res) {
		tpolicy_err("%s: %s (is `tpolicy serve` running?)", sock, err);
		return waiting ? TPOLICY_REFUSED : TPOLICY_USAGE;
	}
	if (as_json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		print_table(res);
	}
	rc = TPOLICY_OK;
	if (waiting && !ok) {
		tpolicy_err("timed out after %.1f s: not every TP runs version %llu", timeout,
			    wait_version);
		rc = TPOLICY_REFUSED;
	}
	json_decref(res);
	return rc;
}
