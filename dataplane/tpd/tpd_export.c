// SPDX-License-Identifier: MIT
/*
 * `tpctl export`: what this TP enforces, as the canonical export document
 * (tp/export.h) that `tpolicy verify` checks offline.
 *
 * Filled today: identity (name, public key — never the private key),
 * software version, failure mode, export time, and every traffic and drop
 * counter. Not yet, because tpd does not hold them yet: the running policy
 * (bundle version, hash, site) — tp_export_set_policy() once bundles are
 * applied; rule hit counters — tp_export_set_counters(); peers with
 * handshake state — tp_export_add_peer() from the tunnel engine; the
 * address:port it listens on — tp_export_set_endpoints(); the flow
 * table summary — tp_export_set_flows(); the XDP zone-pair table —
 * tp_export_set_xdp(). Until then the document says "no policy" (null),
 * which `tpolicy verify` reports as an integrity failure: that is the truth
 * about a TP that drops all inter-zone traffic.
 */
#include <time.h>

#include "tp/export.h"
#include "tpd.h"
#include "tpd_export.h"

json_t *tpd_cmd_export(void *arg, json_t *req, char *err, size_t errlen)
{
	struct tpd *d = arg;
	struct tp_counters_totals t;
	struct tp_export *x;
	char name[TP_NAME_MAX];
	json_t *j = NULL;

	/* wall-clock time: the export is compared with other TPs' and with
	 * validity windows, which are UTC instants */
	x = tp_export_new(d->cfg.name, d->public_key, TP_VERSION,
			  tp_config_failure_mode_name(d->cfg.failure_mode), (int64_t)time(NULL));
	if (!x)
		goto oom;
	tp_counters_sum(d->counters, &t);
	for (int s = 0; s < TP_STAT__COUNT; s++) {
		snprintf(name, sizeof(name), "stat.%s", tp_stat_name(s));
		if (tp_export_add_counter(x, name, t.stat[s]) < 0)
			goto oom;
	}
	for (int r = 1; r < TP_DROP__COUNT; r++) {
		snprintf(name, sizeof(name), "drop.%s", tp_drop_name(r));
		if (tp_export_add_counter(x, name, t.drop[r]) < 0)
			goto oom;
	}
	j = tp_export_json(x);
	if (!j)
		goto oom;
	tp_export_free(x);
	return j;
oom:
	tp_export_free(x);
	snprintf(err, errlen, "export: out of memory");
	return NULL;
}
