// SPDX-License-Identifier: MIT
/* The admin socket's commands (protocol in tp/base/admin.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tpd.h"
#include "tpd_export.h"

static json_t *cmd_status(void *arg, json_t *req, char *err, size_t errlen)
{
	return tpd_status_json(arg);
}

static json_t *cmd_counters(void *arg, json_t *req, char *err, size_t errlen)
{
	return tpd_counters_json(arg);
}

static json_t *cmd_peers(void *arg, json_t *req, char *err, size_t errlen)
{
	struct tpd *d = arg;

	return tp_fwd_peers_json(d->fwd);
}

static json_t *cmd_zones(void *arg, json_t *req, char *err, size_t errlen)
{
	struct tpd *d = arg;

	return tp_fwd_zones_json(d->fwd);
}

static json_t *cmd_flows(void *arg, json_t *req, char *err, size_t errlen)
{
	struct tpd *d = arg;
	json_int_t max = json_integer_value(json_object_get(req, "max"));

	return tp_fwd_flows_json(d->fwd, max > 0 ? (unsigned)max : 1000);
}

static json_t *cmd_apply(void *arg, json_t *req, char *err, size_t errlen)
{
	struct tpd *d = arg;
	const char *file = json_string_value(json_object_get(req, "file"));
	char msg[300] = "";

	if (!file) {
		snprintf(err, errlen, "apply: needs \"file\": the path of a .tpb bundle");
		return NULL;
	}
	if (tpd_policy_apply_file(d, file, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "applied", file, "policy", tpd_policy_json(d));
}

const struct tp_admin_cmd tpd_admin_cmds[] = {
	{"status", cmd_status, "identity, mode, ports, policy state"},
	{"counters", cmd_counters, "traffic statistics and drops by reason"},
	{"peers", cmd_peers, "tunnel peers"},
	{"zones", cmd_zones, "zones of the site"},
	{"flows", cmd_flows, "tracked flows"},
	{"apply", cmd_apply, "apply a policy bundle file: {\"file\": PATH}"},
	{"export", tpd_cmd_export, "verification export (canonical JSON, tp/policy/export.h)"},
};

const size_t tpd_admin_n_cmds = sizeof(tpd_admin_cmds) / sizeof(tpd_admin_cmds[0]);

/* The same commands `tpctl metrics` asks for over the socket, so both
 * print the same families. A command that fails is left out. */
char *tpd_metrics_text(void *arg, enum tp_metrics_format fmt, size_t *len)
{
	json_t *in = json_object(), *req = json_object();
	char err[256], *text = NULL;

	if (!in || !req)
		goto out;
	for (size_t i = 0; i < tp_metrics_n_sources; i++) {
		for (size_t k = 0; k < tpd_admin_n_cmds; k++) {
			if (strcmp(tpd_admin_cmds[k].name, tp_metrics_sources[i]))
				continue;
			json_object_set_new(in, tp_metrics_sources[i],
					    tpd_admin_cmds[k].fn(arg, req, err, sizeof(err)));
			break;
		}
	}
	text = tp_metrics_format(in, (int64_t)time(NULL), fmt, len);
out:
	json_decref(req);
	json_decref(in);
	return text;
}
