// SPDX-License-Identifier: MIT
/*
 * DPDK telemetry commands (dpdk-telemetry.py, or the socket in
 * /var/run/dpdk/tpd-<name>/dpdk_telemetry.v2):
 *   /tableau/counters  every statistic and drop reason, flat
 *   /tableau/status    name, mode, version, uptime
 *   /tableau/rule_hits packets decided per policy rule id
 *   /tableau/rule_rate_limited  packets dropped over each rule's rate limit
 * Callbacks run on DPDK's telemetry thread; they only read counters
 * (atomic loads) and fields that are constant after start-up.
 */
#include <stdio.h>

#include <rte_telemetry.h>

#include "tpd.h"

/* The 22.11 telemetry callback takes no user pointer. */
static struct tpd *the_tpd;

static int tel_counters(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tp_counters_totals t;

	tp_counters_sum(the_tpd->counters, &t);
	rte_tel_data_start_dict(d);
	for (int s = 0; s < TP_STAT__COUNT; s++)
		rte_tel_data_add_dict_u64(d, tp_stat_name(s), t.stat[s]);
	for (int r = 1; r < TP_DROP__COUNT; r++)
		rte_tel_data_add_dict_u64(d, tp_drop_name(r), t.drop[r]);
	return 0;
}

/* A per-rule counter of fwd as a dict keyed rule_<id> (or "default"). */
static int rule_dict(size_t (*get)(const struct tp_fwd *, uint32_t *, uint64_t *, size_t),
		     struct rte_tel_data *d)
{
	uint32_t ids[512];
	uint64_t v[512];
	size_t n = the_tpd->fwd ? get(the_tpd->fwd, ids, v, 512) : 0;
	char name[32];

	rte_tel_data_start_dict(d);
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == UINT32_MAX)
			snprintf(name, sizeof(name), "default");
		else
			snprintf(name, sizeof(name), "rule_%u", ids[i]);
		rte_tel_data_add_dict_u64(d, name, v[i]);
	}
	return 0;
}

static int tel_rule_hits(const char *cmd, const char *params, struct rte_tel_data *d)
{
	return rule_dict(tp_fwd_rule_hits, d);
}

static int tel_rule_rate_limited(const char *cmd, const char *params, struct rte_tel_data *d)
{
	return rule_dict(tp_fwd_rule_rate_limited, d);
}

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t now = tp_clock_now(&the_tpd->clock);

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", the_tpd->cfg.name);
	rte_tel_data_add_dict_string(d, "version", TP_VERSION);
	rte_tel_data_add_dict_string(d, "mode", tp_config_mode_name(the_tpd->cfg.mode));
	rte_tel_data_add_dict_u64(d, "uptime_s", (now - the_tpd->start_ns) / 1000000000u);
	return 0;
}

int tpd_telemetry_register(struct tpd *d)
{
	int rc;

	the_tpd = d;
	rc = rte_telemetry_register_cmd("/tableau/counters", tel_counters,
					"Tableau TP statistics and drops by reason. No parameters");
	if (rc)
		return rc;
	rc = rte_telemetry_register_cmd(
		"/tableau/rule_hits", tel_rule_hits,
		"Tableau TP packets decided per policy rule id. No parameters");
	if (rc)
		return rc;
	rc = rte_telemetry_register_cmd(
		"/tableau/rule_rate_limited", tel_rule_rate_limited,
		"Tableau TP packets dropped over each rule's rate limit. No parameters");
	if (rc)
		return rc;
	return rte_telemetry_register_cmd("/tableau/status", tel_status,
					  "Tableau TP name, mode, version, uptime. No parameters");
}
