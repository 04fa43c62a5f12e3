// SPDX-License-Identifier: MIT
/* The admin socket's commands (protocol in tp/admin.h). */
#include <stdio.h>
#include <string.h>

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

/* Peers, zones and flows are empty until the tunnel and policy engines are
 * wired in; the shape of the reply is already the final one. */
static json_t *cmd_peers(void *arg, json_t *req, char *err, size_t errlen)
{
	return json_pack("{s:[]}", "peers");
}

static json_t *cmd_zones(void *arg, json_t *req, char *err, size_t errlen)
{
	return json_pack("{s:[]}", "zones");
}

static json_t *cmd_flows(void *arg, json_t *req, char *err, size_t errlen)
{
	return json_pack("{s:[], s:i}", "flows", "count", 0);
}

static json_t *cmd_apply(void *arg, json_t *req, char *err, size_t errlen)
{
	const char *file = json_string_value(json_object_get(req, "file"));

	if (!file) {
		snprintf(err, errlen, "apply: needs \"file\": the path of a .tpb bundle");
		return NULL;
	}
	snprintf(err, errlen,
		 "apply: not supported yet (policy bundle code not merged); %s not applied", file);
	return NULL;
}

const struct tp_admin_cmd tpd_admin_cmds[] = {
	{"status", cmd_status, "identity, mode, ports, policy state"},
	{"counters", cmd_counters, "traffic statistics and drops by reason"},
	{"peers", cmd_peers, "tunnel peers"},
	{"zones", cmd_zones, "zones of the site"},
	{"flows", cmd_flows, "tracked flows"},
	{"apply", cmd_apply, "apply a policy bundle file: {\"file\": PATH}"},
	{"export", tpd_cmd_export, "verification export (canonical JSON, tp/export.h)"},
};

const size_t tpd_admin_n_cmds = sizeof(tpd_admin_cmds) / sizeof(tpd_admin_cmds[0]);
