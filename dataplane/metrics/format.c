// SPDX-License-Identifier: MIT
/*
 * The exposition formatter (tp/dp/metrics.h): admin-command JSON in, text out.
 * Stateless. Every family is written by one call of family() and its
 * samples; names follow Prometheus conventions: tableau_ prefix, the unit
 * in the name, counters end in _total, labels for what varies (reason,
 * rule, peer, port).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ctrl/failmode.h"
#include "tp/dp/metrics.h"

const char *const tp_metrics_sources[] = {"status", "counters", "peers", "export"};
const size_t tp_metrics_n_sources = sizeof(tp_metrics_sources) / sizeof(tp_metrics_sources[0]);

enum type { COUNTER, GAUGE };

struct out {
	FILE *f;
	enum tp_metrics_format fmt;
};

/* One label: key and value (value escaped on output). */
struct label {
	const char *k, *v;
};

/* Label values and HELP text: backslash, double quote (labels only) and
 * newline escaped, as both formats require. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* TYPE and HELP. A counter family is named without _total in
 * OpenMetrics, with it in the text format (its samples have it in both). */
static void family(struct out *o, const char *name, enum type t, const char *help)
{
	const char *suffix = t == COUNTER && o->fmt == TP_METRICS_TEXT ? "_total" : "";

	fprintf(o->f, "# HELP %s%s ", name, suffix);
	put_escaped(o->f, help, false);
	fprintf(o->f, "\n# TYPE %s%s %s\n", name, suffix, t == COUNTER ? "counter" : "gauge");
}

static void sample_name(struct out *o, const char *name, enum type t, const struct label *l,
			size_t n)
{
	fprintf(o->f, "%s%s", name, t == COUNTER ? "_total" : "");
	for (size_t i = 0; i < n; i++) {
		fprintf(o->f, "%s%s=\"", i ? "," : "{", l[i].k);
		put_escaped(o->f, l[i].v, true);
		fputc('"', o->f);
	}
	if (n)
		fputc('}', o->f);
}

/* A counter sample: the unsigned value tpd counts (the JSON carries it as
 * a signed 64-bit integer; the cast restores it, never negative). */
static void counter(struct out *o, const char *name, const struct label *l, size_t n, json_t *v)
{
	if (!json_is_integer(v))
		return;
	sample_name(o, name, COUNTER, l, n);
	fprintf(o->f, " %llu\n", (unsigned long long)(uint64_t)json_integer_value(v));
}

static void gauge(struct out *o, const char *name, const struct label *l, size_t n, long long v)
{
	sample_name(o, name, GAUGE, l, n);
	fprintf(o->f, " %lld\n", v);
}

/* A family of one unlabelled gauge: the integer at obj[key] (0 if absent). */
static void one_gauge(struct out *o, const char *name, const char *help, json_t *obj,
		      const char *key)
{
	family(o, name, GAUGE, help);
	gauge(o, name, NULL, 0, (long long)json_integer_value(json_object_get(obj, key)));
}

/* Every integer of a flat object as one counter family, the key as the
 * value of label key. */
static void counter_family(struct out *o, json_t *obj, const char *name, const char *help,
			   const char *key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return;
	family(o, name, COUNTER, help);
	json_object_foreach(obj, k, v) counter(o, name, &(struct label){key, k}, 1, v);
}

static void status_families(struct out *o, json_t *st)
{
	json_t *ports = json_object_get(st, "ports"), *v;
	const char *k;

	if (!json_is_object(st))
		return;
	family(o, "tableau_build_info", GAUGE, "This tpd: instance name, version, mode, identity");
	gauge(o, "tableau_build_info",
	      (struct label[]){
		      {"name", json_string_value(json_object_get(st, "name")) ?: ""},
		      {"version", json_string_value(json_object_get(st, "version")) ?: ""},
		      {"mode", json_string_value(json_object_get(st, "mode")) ?: ""},
		      {"identity", json_string_value(json_object_get(st, "identity")) ?: ""}},
	      4, 1);
	one_gauge(o, "tableau_uptime_seconds", "Seconds since tpd started", st, "uptime_s");
	family(o, "tableau_port_link_up", GAUGE, "1 if the port's link is up");
	json_object_foreach(ports, k, v)
		gauge(o, "tableau_port_link_up",
		      (struct label[]){{"port", k},
				       {"interface",
					json_string_value(json_object_get(v, "interface")) ?: ""}},
		      2, !strcmp(json_string_value(json_object_get(v, "link")) ?: "", "up"));
}

static void policy_families(struct out *o, json_t *p)
{
	const char *state = json_string_value(json_object_get(p, "state")) ?: "";

	if (!json_is_object(p))
		return;
	family(o, "tableau_policy_loaded", GAUGE,
	       "1 if the dataplane enforces a policy bundle right now");
	gauge(o, "tableau_policy_loaded", NULL, 0, json_is_true(json_object_get(p, "loaded")));
	family(o, "tableau_policy_state", GAUGE,
	       "The policy state (DESIGN.md failure modes): 1 for the current one");
	for (int s = TP_FAILMODE_NO_POLICY; s <= TP_FAILMODE_FAIL_STATIC; s++) {
		const char *name = tp_failmode_state_name((enum tp_failmode_state)s);

		gauge(o, "tableau_policy_state", &(struct label){"state", name}, 1,
		      !strcmp(name, state));
	}
	if (json_is_integer(json_object_get(p, "version"))) {
		one_gauge(o, "tableau_policy_version", "Version of the running policy bundle", p,
			  "version");
		one_gauge(o, "tableau_policy_expiry_timestamp_seconds",
			  "End of the running bundle's validity, seconds since the epoch", p,
			  "expires_at");
	}
	if (json_is_integer(json_object_get(p, "rules"))) {
		one_gauge(o, "tableau_policy_rules", "Rules in the running policy", p, "rules");
	}
	family(o, "tableau_policy_bundles_applied", COUNTER, "Policy bundles applied");
	counter(o, "tableau_policy_bundles_applied", NULL, 0, json_object_get(p, "applied"));
	family(o, "tableau_policy_bundles_refused", COUNTER, "Policy bundles refused");
	counter(o, "tableau_policy_bundles_refused", NULL, 0, json_object_get(p, "refused"));
}

static void controller_families(struct out *o, json_t *c)
{
	static const char *const keys[] = {"attempts", "sessions", "pushes", "acks", "nacks"};
	static const char *const names[] = {
		"tableau_controller_connect_attempts", "tableau_controller_sessions",
		"tableau_controller_pushes", "tableau_controller_acks", "tableau_controller_nacks"};
	static const char *const helps[] = {
		"Connections to the controller tried", "Controller sessions established",
		"Bundles the controller pushed", "Pushes acknowledged (applied)",
		"Pushes refused (not applied)"};

	/* no controller_address: no session, no counters */
	if (!json_is_object(c) || !json_is_object(json_object_get(c, "fails")))
		return;
	family(o, "tableau_controller_state", GAUGE,
	       "The controller session's state: 1 for the current one");
	gauge(o, "tableau_controller_state",
	      &(struct label){"state", json_string_value(json_object_get(c, "state")) ?: ""}, 1, 1);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		family(o, names[i], COUNTER, helps[i]);
		counter(o, names[i], NULL, 0, json_object_get(c, keys[i]));
	}
	counter_family(o, json_object_get(c, "fails"), "tableau_controller_failures",
		       "Controller sessions lost, by reason", "reason");
}

/* "id:name", "id" or "default" (packets no rule allowed) */
static void rule_family(struct out *o, json_t *obj, const char *name, const char *help)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return;
	family(o, name, COUNTER, help);
	json_object_foreach(obj, k, v)
	{
		const char *colon = strchr(k, ':');
		char id[24];

		snprintf(id, sizeof(id), "%.*s", colon ? (int)(colon - k) : (int)strlen(k), k);
		counter(o, name,
			(struct label[]){{"rule", id}, {"rule_name", colon ? colon + 1 : ""}}, 2,
			v);
	}
}

/* PORT_rx|tx_packets|bytes: the port's traffic */
static bool port_stat(const char *k, char port[16], char dir[4], char unit[16])
{
	return sscanf(k, "%15[a-z]_%3[rtx]_%15[a-z]", port, dir, unit) == 3 &&
	       (!strcmp(dir, "rx") || !strcmp(dir, "tx")) &&
	       (!strcmp(unit, "packets") || !strcmp(unit, "bytes"));
}

/* zone_rx_packets and the like: one family per unit, labels port and
 * direction. Any other statistic: a family of its own. */
static void stats_families(struct out *o, json_t *stats)
{
	static const char *const units[] = {"packets", "bytes"};
	const char *k;
	json_t *v;

	for (size_t u = 0; u < 2; u++) {
		char name[64];

		snprintf(name, sizeof(name), "tableau_port_%s", units[u]);
		family(o, name, COUNTER,
		       u ? "Bytes received and sent on each port"
			 : "Packets received and sent on each port");
		json_object_foreach(stats, k, v)
		{
			char port[16], dir[4], unit[16];

			if (port_stat(k, port, dir, unit) && !strcmp(unit, units[u]))
				counter(o, name,
					(struct label[]){{"port", port}, {"direction", dir}}, 2, v);
		}
	}
	json_object_foreach(stats, k, v)
	{
		char port[16], dir[4], unit[16], name[96], help[128];

		if (port_stat(k, port, dir, unit))
			continue;
		snprintf(name, sizeof(name), "tableau_%s", k);
		for (char *c = name; *c; c++) {
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_'))
				*c = '_';
		}
		snprintf(help, sizeof(help), "tpd statistic %s", k);
		family(o, name, COUNTER, help);
		counter(o, name, NULL, 0, v);
	}
}

/* The flow tables' counters: packets decided, or entries created and
 * removed (policy/include/tp/policy/flow.h TP_FLOW_COUNTERS). */
static void flow_families(struct out *o, json_t *flows)
{
	static const char *const per_packet[] = {"hits", "related", "stateless", "denied",
						 "no_policy"};
	const char *k;
	json_t *v;

	if (!json_is_object(flows))
		return;
	for (int pass = 0; pass < 2; pass++) {
		const char *name = pass ? "tableau_flow_entries" : "tableau_flow_packets";

		family(o, name, COUNTER,
		       pass ? "Flow-table entries by event (created, rechecked, revoked, evicted, "
			      "expired, closed)"
			    : "Packets by flow-table result (hits, related, stateless, denied, "
			      "no_policy)");
		json_object_foreach(flows, k, v)
		{
			bool pkt = false;

			for (size_t i = 0; i < sizeof(per_packet) / sizeof(per_packet[0]); i++)
				pkt = pkt || !strcmp(k, per_packet[i]);
			if (pkt == !pass)
				counter(o, name, &(struct label){pass ? "event" : "result", k}, 1,
					v);
		}
	}
}

static void counters_families(struct out *o, json_t *c)
{
	json_t *xdp = json_object_get(c, "xdp"), *v;
	const char *k;

	if (!json_is_object(c))
		return;
	stats_families(o, json_object_get(c, "stats"));
	counter_family(o, json_object_get(c, "drops"), "tableau_dropped_packets",
		       "Packets tpd dropped, by reason (tpctl counters --all explains each)",
		       "reason");
	rule_family(o, json_object_get(c, "rule_hits"), "tableau_rule_hit_packets",
		    "Packets decided by each policy rule (first packets of flows)");
	rule_family(o, json_object_get(c, "rule_rate_limited"), "tableau_rule_rate_limited_packets",
		    "Packets dropped over each rule's rate limit");
	rule_family(o, json_object_get(c, "profile_drops"), "tableau_profile_dropped_segments",
		    "Segments dropped by each rule's application profile");
	flow_families(o, json_object_get(c, "flows"));
	counter_family(o, json_object_get(c, "tunnel"), "tableau_tunnel_messages",
		       "Tunnel control messages (handshakes, cookies) by result", "result");
	if (!json_is_object(xdp))
		return;
	family(o, "tableau_xdp_packets", COUNTER, "XDP program verdicts and counters, by port");
	json_object_foreach(xdp, k, v)
	{
		const char *r;
		json_t *n;

		json_object_foreach(v, r, n)
			counter(o, "tableau_xdp_packets",
				(struct label[]){{"port", k}, {"counter", r}}, 2, n);
	}
}

static void peer_families(struct out *o, json_t *peers, int64_t now_s)
{
	static const char *const keys[] = {"rx_bytes", "tx_bytes", "handshakes", "staged_total"};
	static const char *const names[] = {
		"tableau_peer_receive_bytes", "tableau_peer_transmit_bytes",
		"tableau_peer_handshakes", "tableau_peer_staged_packets"};
	static const char *const helps[] = {"Bytes received from each peer through the tunnel",
					    "Bytes sent to each peer through the tunnel",
					    "Handshakes completed with each peer",
					    "Packets held for each peer while a handshake ran"};
	json_t *list = json_object_get(peers, "peers"), *e;
	size_t i;

	if (!json_is_array(list))
		return;
	family(o, "tableau_peer_up", GAUGE, "1 if a session key with the peer is current");
	json_array_foreach(list, i, e) gauge(
		o, "tableau_peer_up",
		(struct label[]){
			{"peer", json_string_value(json_object_get(e, "name")) ?: ""},
			{"public_key", json_string_value(json_object_get(e, "public_key")) ?: ""}},
		2, !strcmp(json_string_value(json_object_get(e, "state")) ?: "", "up"));
	family(o, "tableau_peer_last_handshake_timestamp_seconds", GAUGE,
	       "Last completed handshake with each peer, seconds since the epoch (0: never)");
	json_array_foreach(list, i, e)
	{
		json_int_t ago = json_integer_value(json_object_get(e, "last_handshake_s_ago"));

		gauge(o, "tableau_peer_last_handshake_timestamp_seconds",
		      (struct label[]){
			      {"peer", json_string_value(json_object_get(e, "name")) ?: ""},
			      {"public_key",
			       json_string_value(json_object_get(e, "public_key")) ?: ""}},
		      2, ago < 0 || ago > now_s ? 0 : (long long)(now_s - ago));
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		family(o, names[k], COUNTER, helps[k]);
		json_array_foreach(list, i, e) counter(
			o, names[k],
			(struct label[]){
				{"peer", json_string_value(json_object_get(e, "name")) ?: ""},
				{"public_key",
				 json_string_value(json_object_get(e, "public_key")) ?: ""}},
			2, json_object_get(e, keys[k]));
	}
}

/* Flow-table use, from the verification export (active and capacity over
 * all workers' tables). */
static void export_families(struct out *o, json_t *x)
{
	json_t *flows = json_object_get(x, "flows");

	if (!json_is_object(flows))
		return;
	one_gauge(o, "tableau_flow_table_entries", "Entries in the flow tables", flows, "active");
	one_gauge(o, "tableau_flow_table_capacity_entries",
		  "Entries the flow tables can hold (flow_table_size per worker)", flows,
		  "capacity");
}

char *tp_metrics_format(json_t *in, int64_t now_s, enum tp_metrics_format fmt, size_t *len)
{
	json_t *st = json_object_get(in, "status");
	struct out o = {.fmt = fmt};
	char *text = NULL;
	size_t n = 0;

	o.f = open_memstream(&text, &n);
	if (!o.f)
		return NULL;
	status_families(&o, st);
	policy_families(&o, json_object_get(st, "policy"));
	controller_families(&o, json_object_get(st, "controller"));
	counters_families(&o, json_object_get(in, "counters"));
	peer_families(&o, json_object_get(in, "peers"), now_s);
	export_families(&o, json_object_get(in, "export"));
	if (fmt == TP_METRICS_OPENMETRICS)
		fputs("# EOF\n", o.f);
	if (ferror(o.f)) {
		fclose(o.f);
		free(text);
		return NULL;
	}
	if (fclose(o.f) != 0) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}
