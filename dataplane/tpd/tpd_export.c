// SPDX-License-Identifier: MIT
/*
 * The verification export (tp/policy/export.h) of this TP: what it enforces now,
 * for `tpctl export` and for the controller's ExportRequest, which get the
 * same canonical document.
 *
 * The policy part is the running bundle as tp/ctrl/apply.h holds it (the
 * whole site, version, BLAKE2b of the signed bytes) — only while the policy
 * state enforces it: under no-policy or fail-closed the TP enforces
 * nothing, and the export says so (no policy). The live part comes from
 * the forwarding plane (tp_fwd_export): peers and their handshake state
 * as the tunnel holds them, the endpoints served, the XDP zone-pair table
 * read back from the kernel map, the flow tables, rule hit counters. Then
 * every counter: tpd's stats and drops, the XDP programs' verdicts. Never
 * a secret: the private key is not reachable from here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp/policy/export.h"
#include "tpd.h"
#include "tpd_export.h"

static int add_json_counters(struct tp_export *x, const char *prefix, json_t *o)
{
	char name[TP_NAME_MAX];
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		if (!json_is_integer(v))
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, k);
		if (tp_export_add_counter(x, name, (uint64_t)json_integer_value(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const char *self_name(const struct tpd *d)
{
	const struct tp_site *site = d->policy.site;

	for (size_t i = 0; site && i < site->n_tps; i++)
		if (memcmp(site->tps[i].pubkey, d->public_key, TP_KEY_LEN) == 0)
			return site->tps[i].name;
	return d->cfg.name;
}

static struct tp_export *build(struct tpd *d, char *err, size_t errlen)
{
	const struct tp_ctrl_apply *a = &d->policy;
	struct tp_counters_totals t;
	struct tp_export *x;
	char name[TP_NAME_MAX];
	json_t *xdp = NULL;
	int rc = -ENOMEM;

	/* The TP's name is the one the site gives this public key (what the
	 * intent of `tpolicy export` says); tpd.conf's name is only the
	 * instance's. The policy clock (tp/ctrl/failmode.h: the wall clock, never
	 * behind a time already seen or an accepted issued_at): the export is
	 * compared with other TPs' and with validity windows, and must judge
	 * them as the running engine does. */
	x = tp_export_new(self_name(d), d->public_key, TP_VERSION,
			  tp_config_failure_mode_name(d->cfg.failure_mode),
			  a->fm.clock > (int64_t)time(NULL) ? a->fm.clock : (int64_t)time(NULL));
	if (!x)
		goto fail;
	if (a->has_policy && a->site && tp_failmode_enforcing(&a->fm)) {
		rc = tp_export_set_policy(x, a->site, &a->info, a->bundle, a->bundle_len);
		if (rc == -ENOENT) {
			snprintf(err, errlen, "export: tp '%s' is not in site '%s'", d->cfg.name,
				 a->site->name);
			goto fail_msg;
		}
		if (rc)
			goto fail;
	}
	rc = tp_fwd_export(d->fwd, x);
	if (rc)
		goto fail;
	rc = -ENOMEM;
	tp_counters_sum(d->counters, &t);
	for (int s = 0; s < TP_STAT__COUNT; s++) {
		snprintf(name, sizeof(name), "stat.%s", tp_stat_name(s));
		if (tp_export_add_counter(x, name, t.stat[s]) < 0)
			goto fail;
	}
	for (int r = 1; r < TP_DROP__COUNT; r++) {
		snprintf(name, sizeof(name), "drop.%s", tp_drop_name(r));
		if (tp_export_add_counter(x, name, t.drop[r]) < 0)
			goto fail;
	}
	xdp = tp_fwd_xdp_json(d->fwd);
	if (!xdp || add_json_counters(x, "xdp.zone.", json_object_get(xdp, "zone")) ||
	    add_json_counters(x, "xdp.transit.", json_object_get(xdp, "transit")))
		goto fail;
	json_decref(xdp);
	return x;
fail:
	snprintf(err, errlen, "export: %s", strerror(-rc));
fail_msg:
	json_decref(xdp);
	tp_export_free(x);
	return NULL;
}

json_t *tpd_cmd_export(void *arg, json_t *req, char *err, size_t errlen)
{
	struct tp_export *x = build(arg, err, errlen);
	json_t *j;

	if (!x)
		return NULL;
	j = tp_export_json(x);
	tp_export_free(x);
	if (!j)
		snprintf(err, errlen, "export: out of memory");
	return j;
}

char *tpd_export_bytes(struct tpd *d, size_t *len, char *err, size_t errlen)
{
	struct tp_export *x = build(d, err, errlen);
	char *s;

	if (!x)
		return NULL;
	s = tp_export_dumps(x);
	tp_export_free(x);
	if (!s) {
		snprintf(err, errlen, "export: out of memory");
		return NULL;
	}
	*len = strlen(s);
	return s;
}
