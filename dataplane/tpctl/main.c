// SPDX-License-Identifier: MIT
/*
 * tpctl: talk to a running tpd over its admin socket (tp/base/admin.h).
 *
 *   tpctl [--socket PATH | -i NAME] [--json] status|counters [--all]|peers|zones|flows|apply FILE
 *   tpctl [--socket PATH | -i NAME] metrics [openmetrics|text]
 *
 * Exit codes: 0 done, 1 tpd answered with an error, 2 usage, 3 no tpd.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/base/admin.h"
#include "tp/dp/counters.h"
#include "export.h"
#include "instance.h"
#include "metrics.h"

#define EXIT_TPD_ERROR 1
#define EXIT_USAGE     2
#define EXIT_NO_TPD    3

static void usage(FILE *f)
{
	fprintf(f, "usage: tpctl [--socket PATH | -i NAME] [--json] COMMAND\n"
		   "commands:\n"
		   "  status          identity, mode, ports, policy state\n"
		   "  counters [--all] traffic and drops by reason (--all: zero ones too)\n"
		   "  peers           tunnel peers\n"
		   "  zones           zones of the site\n"
		   "  flows           tracked flows\n"
		   "  apply FILE      apply a policy bundle (.tpb)\n"
		   "  export [FILE]   verification export (canonical JSON)\n"
		   "  metrics [text]  Prometheus metrics (OpenMetrics; text: format 0.0.4)\n"
		   "default socket: " TP_ADMIN_DEFAULT_PATH "\n"
		   "-i NAME, --instance NAME: the socket of tpd@NAME (admin_socket of\n"
		   "  " TPCTL_CONFIG_DIR "/NAME.conf; $" TPCTL_CONFIG_DIR_ENV
		   " overrides the folder)\n");
}

/* Commands that only ask, with no argument. */
static bool is_query(const char *cmd)
{
	static const char *const names[] = {"status", "counters", "peers", "zones", "flows"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(cmd, names[i]) == 0)
			return true;
	}
	return false;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

/* a non-empty string */
static bool has(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && s[0];
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_port(const char *role, json_t *p)
{
	printf("%-11s%s", role, str(p, "port"));
	if (json_object_get(p, "link"))
		printf(" (%s), link %s, mtu %lld", str(p, "interface"), str(p, "link"),
		       num(p, "mtu"));
	else
		printf(", %s", str(p, "state"));
	putchar('\n');
}

static void print_status(json_t *r)
{
	json_t *cores = json_object_get(r, "cores"), *ports = json_object_get(r, "ports");
	json_t *policy = json_object_get(r, "policy"), *ctl = json_object_get(r, "controller");
	json_t *w;
	size_t i;

	printf("tpd %s (tableau %s), mode %s, up %lld s\n", str(r, "name"), str(r, "version"),
	       str(r, "mode"), num(r, "uptime_s"));
	printf("%-11s%s\n", "identity", str(r, "identity"));
	printf("%-11sudp/%lld\n", "listen", num(r, "listen_port"));
	printf("%-11scontrol %lld, workers", "cores", num(cores, "control"));
	json_array_foreach(json_object_get(cores, "workers"), i, w)
		printf("%s%lld", i ? "," : " ", (long long)json_integer_value(w));
	putchar('\n');
	print_port("zone", json_object_get(ports, "zone"));
	print_port("transit", json_object_get(ports, "transit"));
	if (json_is_true(json_object_get(policy, "loaded")))
		printf("%-11sversion %lld, site %s, this TP %s, %lld rules, from %s\n", "policy",
		       num(policy, "version"), str(policy, "site"), str(policy, "self"),
		       num(policy, "rules"), str(policy, "source"));
	else
		printf("%-11snone: inter-zone traffic is dropped\n", "policy");
	printf("%-11s%s since %lld: %s\n", "state", str(policy, "state"), num(policy, "since"),
	       str(policy, "reason"));
	if (has(policy, "last_refusal"))
		printf("%-11s%s\n", "refused", str(policy, "last_refusal"));
	{
		json_t *c = json_object_get(policy, "clock");

		printf("%-11sfloor version %lld; validity judged at %lld (wall %lld%s), "
		       "max skew %lld s\n",
		       "rollback", num(policy, "floor_version"), num(c, "policy"), num(c, "wall"),
		       json_is_true(json_object_get(c, "held_back"))
			       ? ", behind a time already seen or an issued_at: held"
			       : "",
		       num(c, "max_skew_s"));
	}
	if (has(policy, "floor_note"))
		printf("%-11s%s\n", "", str(policy, "floor_note"));
	printf("%-11s%s\n", "failure", str(r, "failure_mode"));
	json_array_foreach(json_object_get(r, "neighbors"), i, w)
		printf("%-11s%s %s %s\n", i ? "" : "neighbors", str(w, "interface"),
		       str(w, "address"), str(w, "mac")[0] ? str(w, "mac") : "(unresolved)");
	printf("%-11s%s%s%s", "controller", str(ctl, "address"), str(ctl, "address")[0] ? ": " : "",
	       str(ctl, "state"));
	if (has(ctl, "address"))
		printf(", last acked version %lld, %lld acks, %lld nacks%s%s",
		       num(ctl, "last_acked_version"), num(ctl, "acks"), num(ctl, "nacks"),
		       has(ctl, "last_error") ? ", last error: " : "",
		       has(ctl, "last_error") ? str(ctl, "last_error") : "");
	putchar('\n');
}

static const char *drop_help_by_name(const char *name)
{
	for (int r = 1; r < TP_DROP__COUNT; r++) {
		if (!strcmp(tp_drop_name(r), name))
			return tp_drop_help(r);
	}
	return "";
}

/* A flat object of counters; zero ones only with --all. */
static void print_section(json_t *r, const char *key, const char *title, bool all)
{
	json_t *o = json_object_get(r, key), *v;
	const char *k;
	unsigned shown = 0;

	if (!json_is_object(o))
		return;
	printf("%s\n", title);
	json_object_foreach(o, k, v)
	{
		if (!all && json_integer_value(v) == 0)
			continue;
		printf("  %-26s %20lld\n", k, (long long)json_integer_value(v));
		shown++;
	}
	if (!shown)
		printf("  (none)\n");
}

static void print_counters(json_t *r, bool all)
{
	const char *k;
	json_t *v;
	unsigned shown = 0;

	printf("traffic\n");
	json_object_foreach(json_object_get(r, "stats"), k, v)
		printf("  %-26s %20lld\n", k, (long long)json_integer_value(v));
	printf("drops (total %lld)%s\n", num(r, "drops_total"),
	       all ? "" : ", non-zero reasons; --all for every reason");
	json_object_foreach(json_object_get(r, "drops"), k, v)
	{
		if (!all && json_integer_value(v) == 0)
			continue;
		printf("  %-26s %20lld  %s\n", k, (long long)json_integer_value(v),
		       drop_help_by_name(k));
		shown++;
	}
	if (!shown && !all)
		printf("  (none)\n");
	print_section(r, "rule_hits", "rule hits (id:name, first packets decided)", all);
	print_section(r, "rule_rate_limited",
		      "rule rate-limited (id:name, packets over rate_limit)", all);
	print_section(r, "profile_drops", "application-profile drops (id:name, segments)", all);
	print_section(r, "flows", "flow tables", all);
	print_section(r, "tunnel", "tunnel control path (handshakes by result)", all);
	print_section(json_object_get(r, "xdp"), "zone", "XDP zone port (verdicts)", all);
	print_section(json_object_get(r, "xdp"), "transit", "XDP transit port (verdicts)", all);
}

static void print_peers(json_t *r)
{
	json_t *list = json_object_get(r, "peers"), *e;
	size_t i;

	if (json_array_size(list) == 0) {
		printf("no peers (no policy names another TP)\n");
		return;
	}
	printf("%-12s %-24s %-11s %-10s %14s %14s %8s\n", "peer", "endpoint", "state", "handshake",
	       "rx bytes", "tx bytes", "staged");
	json_array_foreach(list, i, e)
	{
		char hs[32] = "never";

		if (num(e, "last_handshake_s_ago") >= 0)
			snprintf(hs, sizeof(hs), "%llds ago", num(e, "last_handshake_s_ago"));
		printf("%-12s %-24s %-11s %-10s %14lld %14lld %8lld\n", str(e, "name"),
		       str(e, "endpoint"), str(e, "state"), hs, num(e, "rx_bytes"),
		       num(e, "tx_bytes"), num(e, "staged_total"));
		printf("  %s\n", str(e, "public_key"));
	}
}

static void print_zones(json_t *r)
{
	json_t *list = json_object_get(r, "zones"), *e, *p;
	size_t i, k;

	if (json_array_size(list) == 0) {
		printf("no zones (no policy)\n");
		return;
	}
	printf("%-12s %5s %-12s %-6s %s\n", "zone", "id", "hosted by", "here", "prefixes");
	json_array_foreach(list, i, e)
	{
		printf("%-12s %5lld %-12s %-6s", str(e, "name"), num(e, "id"), str(e, "tp"),
		       json_is_true(json_object_get(e, "local")) ? "yes" : "");
		json_array_foreach(json_object_get(e, "prefixes"), k, p)
			printf(" %s", json_string_value(p));
		putchar('\n');
	}
}

static void print_flows(json_t *r)
{
	json_t *list = json_object_get(r, "flows"), *e;
	size_t i;

	printf("%lld flows\n", num(r, "count"));
	if (json_array_size(list) == 0)
		return;
	printf("%-5s %-40s %-40s %6s %9s\n", "proto", "initiator", "responder", "rule", "idle ms");
	json_array_foreach(list, i, e)
	{
		char a[64], b[64];

		snprintf(a, sizeof(a), "%s:%lld", str(e, "src"), num(e, "sport"));
		snprintf(b, sizeof(b), "%s:%lld", str(e, "dst"), num(e, "dport"));
		printf("%-5lld %-40s %-40s %6lld %9lld\n", num(e, "proto"), a, b, num(e, "rule"),
		       num(e, "idle_ms"));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"instance", required_argument, NULL, 'i'},
		{"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = TP_ADMIN_DEFAULT_PATH, *cmd, *socket_opt = NULL, *instance = NULL;
	bool as_json = false, all = false;
	char err[512], abs_path[PATH_MAX], inst_path[PATH_MAX];
	json_t *req, *reply, *result;
	int opt, status = EXIT_TPD_ERROR;

	while ((opt = getopt_long(argc, argv, "s:i:jah", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_opt = optarg;
			break;
		case 'i':
			instance = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (socket_opt && instance) {
		fprintf(stderr, "tpctl: --socket and -i name the socket twice: give one\n");
		return EXIT_USAGE;
	}
	if (socket_opt)
		path = socket_opt;
	if (instance) {
		const char *dir = getenv(TPCTL_CONFIG_DIR_ENV);

		int rc = tpctl_instance_socket(dir && dir[0] ? dir : TPCTL_CONFIG_DIR, instance,
					       inst_path, sizeof(inst_path), err, sizeof(err));

		if (rc) {
			fprintf(stderr, "tpctl: %s\n", err);
			return rc == -EINVAL ? EXIT_USAGE : EXIT_NO_TPD;
		}
		path = inst_path;
	}
	cmd = argv[optind++];
	if (!strcmp(cmd, "export"))
		return tpctl_export(path, argc - optind + 1, argv + optind - 1);
	if (!strcmp(cmd, "metrics"))
		return tpctl_metrics(path, argc - optind + 1, argv + optind - 1);
	req = json_pack("{s:s}", "cmd", cmd);
	if (!strcmp(cmd, "apply")) {
		if (optind != argc - 1) {
			fprintf(stderr, "tpctl: apply needs one FILE\n");
			json_decref(req);
			return EXIT_USAGE;
		}
		/* tpd reads the file itself: send a path it can open */
		if (!realpath(argv[optind], abs_path)) {
			fprintf(stderr, "tpctl: %s: %s\n", argv[optind], strerror(errno));
			json_decref(req);
			return EXIT_USAGE;
		}
		json_object_set_new(req, "file", json_string(abs_path));
		optind++;
	} else if (!is_query(cmd)) {
		fprintf(stderr, "tpctl: unknown command '%s'\n", cmd);
		usage(stderr);
		json_decref(req);
		return EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "tpctl: unexpected argument '%s'\n", argv[optind]);
		json_decref(req);
		return EXIT_USAGE;
	}
	reply = tp_admin_call(path, req, 5000, err, sizeof(err));
	json_decref(req);
	if (!reply) {
		fprintf(stderr, "tpctl: %s\n", err);
		return EXIT_NO_TPD;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		if (as_json)
			json_dumpf(reply, stdout, JSON_INDENT(2)), putchar('\n');
		fprintf(stderr, "tpctl: %s\n", str(reply, "error"));
		goto out;
	}
	result = json_object_get(reply, "result");
	status = 0;
	if (as_json) {
		json_dumpf(result, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!strcmp(cmd, "status")) {
		print_status(result);
	} else if (!strcmp(cmd, "counters")) {
		print_counters(result, all);
	} else if (!strcmp(cmd, "peers")) {
		print_peers(result);
	} else if (!strcmp(cmd, "zones")) {
		print_zones(result);
	} else if (!strcmp(cmd, "flows")) {
		print_flows(result);
	} else {
		json_t *pol = json_object_get(result, "policy");

		printf("applied %s: policy version %lld of site %s\n", str(result, "applied"),
		       num(pol, "version"), str(pol, "site"));
		if (str(result, "warning")[0] && strcmp(str(result, "warning"), "-"))
			printf("warning: %s\n", str(result, "warning"));
	}
out:
	json_decref(reply);
	return status;
}
