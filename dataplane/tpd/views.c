// SPDX-License-Identifier: MIT
/*
 * What tpd tells about itself: status, counters, peers, zones, flows. The
 * admin socket returns these as JSON; telemetry flattens the same data.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tpd.h"

static json_t *port_json(struct tpd *d, int role)
{
	struct tp_runtime_port_info pi;
	const char *iface = role == 0 ? d->cfg.zone_if : d->cfg.transit_if;

	if (tp_runtime_port_info(&d->rt, role, &pi))
		return json_pack("{s:s, s:s}", "port", pi.name, "state", "down");
	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "port", pi.name, "interface",
			 iface[0] ? iface : "-", "link", pi.link_up ? "up" : "down", "speed_mbps",
			 (json_int_t)pi.speed_mbps, "mtu", (json_int_t)pi.mtu);
}

static json_t *neighbors_json(struct tpd *d)
{
	struct tp_neigh_info ni;
	json_t *list = json_array();

	for (unsigned i = 0; d->neigh && tp_neigh_get(d->neigh, i, &ni) == 0; i++) {
		char addr[INET6_ADDRSTRLEN], mac[18] = "", ifname[IF_NAMESIZE] = "?";

		inet_ntop(ni.family == 4 ? AF_INET : AF_INET6, ni.addr, addr, sizeof(addr));
		if (ni.has_mac)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ni.mac[0],
				 ni.mac[1], ni.mac[2], ni.mac[3], ni.mac[4], ni.mac[5]);
		if_indextoname((unsigned)ni.ifindex, ifname);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}", "interface", ifname,
						      "address", addr, "mac", mac, "nud_state",
						      (json_int_t)ni.state));
	}
	return list;
}

/* The audit trail's sink and what it lost to the stderr fallback (SR 2.10). */
static json_t *audit_json(struct tpd *d)
{
	static const char *const sinks[] = {[TP_AUDIT_CONF_SYSLOG] = "syslog",
					    [TP_AUDIT_CONF_STDERR] = "stderr",
					    [TP_AUDIT_CONF_OFF] = "off",
					    [TP_AUDIT_CONF_FILE] = "file"};
	struct tp_audit_stats as;

	tp_audit_stats(d->audit, &as);
	return json_pack("{s:s, s:s, s:I, s:I, s:I}", "sink", sinks[d->cfg.audit], "path",
			 d->cfg.audit_path, "lines", (json_int_t)as.lines, "fallback",
			 (json_int_t)as.fallback, "handshake_failures_suppressed",
			 (json_int_t)as.hs_suppressed);
}

json_t *tpd_status_json(struct tpd *d)
{
	char pub[sodium_base64_ENCODED_LEN(TP_CONFIG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint64_t now = tp_clock_now(&d->clock);
	json_t *workers = json_array(), *st;

	sodium_bin2base64(pub, sizeof(pub), d->public_key, sizeof(d->public_key),
			  sodium_base64_VARIANT_ORIGINAL);
	for (unsigned i = 0; i < d->cfg.n_workers; i++)
		json_array_append_new(workers, json_integer(d->cfg.worker_cores[i]));
	/* json_pack: 'I' takes json_int_t, 'b' an int */
	st = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:{s:I, s:o}, s:{s:o, s:o},"
		       " s:o, s:o}",
		       "name", d->cfg.name, "version", TP_VERSION, "mode",
		       tp_config_mode_name(d->cfg.mode), "identity", pub, "listen_port",
		       (json_int_t)d->cfg.listen_port, "uptime_s",
		       (json_int_t)((now - d->start_ns) / 1000000000u), "failure_mode",
		       tp_config_failure_mode_name(d->cfg.failure_mode), "cores", "control",
		       (json_int_t)d->cfg.control_core, "workers", workers, "ports", "zone",
		       port_json(d, 0), "transit", port_json(d, 1), "policy", tpd_policy_json(d),
		       "controller", tpd_controller_json(d));
	if (st)
		json_object_set_new(st, "neighbors", neighbors_json(d));
	if (st)
		json_object_set_new(st, "audit", audit_json(d));
	return st;
}

json_t *tpd_counters_json(struct tpd *d)
{
	struct tp_counters_totals t;
	json_t *stats = json_object(), *drops = json_object(), *st;
	uint64_t total = 0;

	tp_counters_sum(d->counters, &t);
	for (int s = 0; s < TP_STAT__COUNT; s++)
		json_object_set_new(stats, tp_stat_name(s), json_integer((json_int_t)t.stat[s]));
	for (int r = 1; r < TP_DROP__COUNT; r++) {
		json_object_set_new(drops, tp_drop_name(r), json_integer((json_int_t)t.drop[r]));
		total += t.drop[r];
	}
	st = json_pack("{s:o, s:o, s:I}", "stats", stats, "drops", drops, "drops_total",
		       (json_int_t)total);
	if (st && d->fwd) {
		json_t *r = tp_fwd_rules_json(d->fwd);

		json_object_update(st, r);
		json_decref(r);
		json_object_set_new(st, "tunnel", tp_fwd_tunnel_json(d->fwd));
		json_object_set_new(st, "xdp", tp_fwd_xdp_json(d->fwd));
	}
	return st;
}
