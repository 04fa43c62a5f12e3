// SPDX-License-Identifier: MIT
/*
 * tpd's running policy and its controller session (controller-client/
 * README.md, "Wiring into tpd").
 *
 * One apply path for every source: tp_ctrl_apply_bundle() checks a bundle
 * (the acceptance checks of tp/policy/bundle.h with the pinned controller key),
 * persists it as last-known-good (fsync + rename) and publishes it through
 * tp_fwd_publish (engine RCU swap, XDP tables, flow re-check). A push is
 * acked only once that returned 0: live and persisted. At start the LKG is
 * verified again, then the config's policy_bundle is applied if newer.
 *
 * State (control thread only): d->policy holds the bundle info, the site
 * (for export and status) and the policy-state machine (tp/ctrl/failmode.h);
 * d->ctrl is the client, NULL without controller_address. Each
 * housekeeping tick moves the state machine on the clock; when it stops
 * enforcing (no policy, fail-closed) the dataplane's engine is withdrawn,
 * and the next successful apply publishes again.
 *
 * The audit trail (tp/dp/audit.h) hears of every apply and refusal at the call
 * sites here (with the source: controller, file, boot), of each policy
 * state change through the state machine's transition log, and of the
 * controller session going up and down. audited_state is the last state
 * it was told (control thread only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "tp/base/file.h"
#include "tp/ctrl/lkg.h"
#include "tpd.h"
#include "tpd_export.h"

_Static_assert((int)TP_FAIL_CLOSED == (int)TP_FAILMODE_EXPIRY_CLOSED &&
		       (int)TP_FAIL_STATIC == (int)TP_FAILMODE_EXPIRY_STATIC,
	       "tpd.conf failure_mode values must be tp_failmode_expiry's");

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

static enum tp_failmode_state audited_state;

/* The state machine logs each transition once (tp/ctrl/failmode.h), and again
 * when only its reason changed: the trail takes the transitions. */
static void audit_state(struct tpd *d)
{
	const struct tp_failmode *fm = &d->policy.fm;

	if (fm->state == audited_state)
		return;
	tp_audit_policy_state(d->audit, tp_failmode_state_name(fm->state),
			      audited_state ? tp_failmode_state_name(audited_state) : NULL,
			      fm->has_policy ? fm->version : 0, fm->reason);
	audited_state = fm->state;
}

static void log_msg(void *arg, const char *msg)
{
	fprintf(stderr, "tpd: %s\n", msg);
	audit_state(arg);
}

/* The version running now, 0 for none. */
static uint64_t running(const struct tpd *d)
{
	return d->policy.has_policy ? d->policy.info.version : 0;
}

static int publish(void *arg, const struct tp_site *site, struct tp_engine *engine)
{
	struct tpd *d = arg;

	return tp_fwd_publish(d->fwd, site, engine);
}

static bool accepts(void *arg, const struct tp_site *site, char *why, size_t whylen)
{
	struct tpd *d = arg;

	return tp_fwd_accepts(d->fwd, site, why, whylen);
}

static int cb_apply(void *arg, const uint8_t *b, size_t n, struct tp_ctrl_apply_result *res)
{
	struct tpd *d = arg;
	int rc = tp_ctrl_apply_bundle(&d->policy, b, n, wall_s(), "controller", res);

	tp_audit_bundle(d->audit, rc == 0, "controller", NULL, res->version, running(d), res->text);
	if (rc == 0) {
		/* the client acks exactly when this returns 0 */
		d->last_acked_version = d->policy.info.version;
		fprintf(stderr, "tpd: policy version %llu from the controller\n",
			(unsigned long long)d->policy.info.version);
	} else {
		fprintf(stderr, "tpd: controller bundle refused: %s\n", res->text);
	}
	return rc;
}

static uint64_t cb_version(void *arg)
{
	struct tpd *d = arg;

	return d->policy.has_policy ? d->policy.info.version : 0;
}

/* The peers view the last Status's names point into: kept until the next
 * Status (the client reads them after the callback) or tpd_policy_stop. */
static json_t *status_view;

/* The tunnel peers for a Status. */
static void peers_status(struct tpd *d, struct tp_ctrl_status *st)
{
	static struct tp_ctrl_status_peer peers[64];
	int64_t now = wall_s();
	json_t *p;
	size_t i, n = 0;

	json_decref(status_view);
	status_view = tp_fwd_peers_json(d->fwd);
	json_array_foreach(json_object_get(status_view, "peers"), i, p)
	{
		json_int_t ago = json_integer_value(json_object_get(p, "last_handshake_s_ago"));
		const char *state = json_string_value(json_object_get(p, "state"));

		if (n == sizeof(peers) / sizeof(peers[0]))
			break;
		peers[n++] = (struct tp_ctrl_status_peer){
			.name = json_string_value(json_object_get(p, "name")),
			.up = state && !strcmp(state, "up"),
			.last_handshake = ago >= 0 ? now - ago : 0,
			.rx_bytes = (uint64_t)json_integer_value(json_object_get(p, "rx_bytes")),
			.tx_bytes = (uint64_t)json_integer_value(json_object_get(p, "tx_bytes")),
		};
	}
	st->peers = peers;
	st->n_peers = n;
}

static void cb_status(void *arg, struct tp_ctrl_status *st)
{
	/* static: borrowed by the client for the duration of the callback */
	static struct tp_ctrl_status_counter ctrs[4];
	struct tpd *d = arg;
	struct tp_counters_totals t;
	uint64_t drops = 0;

	tp_counters_sum(d->counters, &t);
	for (int r = 1; r < TP_DROP__COUNT; r++)
		drops += t.drop[r];
	ctrs[0] = (struct tp_ctrl_status_counter){"policy_applied", d->policy.applied};
	ctrs[1] = (struct tp_ctrl_status_counter){"policy_refused", d->policy.refused};
	ctrs[2] = (struct tp_ctrl_status_counter){"drops_total", drops};
	ctrs[3] = (struct tp_ctrl_status_counter){"policy_deny", t.drop[TP_DROP_POLICY]};
	st->policy_state = (int)d->policy.fm.state;
	st->policy_expires_at = d->policy.info.expires_at;
	st->counters = ctrs;
	st->n_counters = 4;
	peers_status(d, st);
}

static void cb_connected(void *arg, bool up)
{
	struct tpd *d = arg;
	struct tp_ctrl_client_stats cs = {0};

	if (!up && d->ctrl)
		tp_ctrl_client_stats(d->ctrl, &cs);
	tp_audit_controller(d->audit, up, d->cfg.controller_address,
			    cs.last_error[0] ? cs.last_error : NULL);
	tp_failmode_set_controller(&d->policy.fm, up, wall_s());
}

static char *cb_export(void *arg, size_t *len, char *err, size_t errlen)
{
	return tpd_export_bytes(arg, len, err, errlen);
}

/* The proof a controller that lost its state asks for. */
static const uint8_t *cb_running_bundle(void *arg, size_t *len)
{
	struct tpd *d = arg;

	*len = d->policy.has_policy ? d->policy.bundle_len : 0;
	return d->policy.has_policy ? d->policy.bundle : NULL;
}

static void cb_log(void *arg, const char *msg)
{
	fprintf(stderr, "tpd: controller: %s\n", msg);
}

static void boot_file(struct tpd *d)
{
	struct tp_ctrl_apply_result res = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = tp_file_read(d->cfg.policy_bundle, TP_BUNDLE_MAX_BYTES, &buf, &len);
	if (rc) {
		fprintf(stderr, "tpd: %s: %s\n", d->cfg.policy_bundle, strerror(-rc));
		tp_audit_bundle(d->audit, false, "boot", d->cfg.policy_bundle, 0, running(d),
				strerror(-rc));
		return;
	}
	rc = tp_ctrl_apply_bundle(&d->policy, buf, len, wall_s(), "config", &res);
	free(buf);
	tp_audit_bundle(d->audit, rc == 0, "boot", d->cfg.policy_bundle, res.version, running(d),
			res.text);
	if (rc == 0)
		fprintf(stderr, "tpd: policy version %llu from %s\n",
			(unsigned long long)d->policy.info.version, d->cfg.policy_bundle);
	else if (res.reason == TP_BUNDLE_ROLLBACK)
		fprintf(stderr, "tpd: %s not newer than the running policy: kept version %llu\n",
			d->cfg.policy_bundle, (unsigned long long)d->policy.info.version);
	else
		fprintf(stderr, "tpd: %s: bundle refused: %s\n", d->cfg.policy_bundle, res.text);
}

/* A save the process did not live to finish leaves STATE_DIR/lkg.tpb.tmp
 * (written, maybe in part, never renamed): never read, overwritten by the
 * next save. Say so at boot, so the operator knows why the TP runs the
 * bundle before it. */
static void note_unfinished_save(struct tpd *d)
{
	char tmp[TP_CONFIG_PATH_MAX + 16];
	struct stat st;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", d->cfg.state_dir, TP_LKG_FILE);
	if (stat(tmp, &st) == 0)
		fprintf(stderr,
			"tpd: %s (%lld bytes) is a last-known-good save that did not finish "
			"(the process stopped before its rename): ignored\n",
			tmp, (long long)st.st_size);
}

int tpd_policy_start(struct tpd *d, char *err, size_t errlen)
{
	static const uint8_t no_key[32];
	bool found = false;
	enum tp_bundle_status st;
	char lkg[TP_CONFIG_PATH_MAX + 16];

	tp_fwd_policy_init(d->fwd);
	/* a fresh install: the state directory (one level; its parent is the
	 * administrator's). A failure shows at the first save, as a nack. */
	if (mkdir(d->cfg.state_dir, 0700) != 0 && errno != EEXIST)
		fprintf(stderr, "tpd: state_dir %s: %s\n", d->cfg.state_dir, strerror(errno));
	/* config.failure_mode values are tp_failmode_expiry's */
	tp_ctrl_apply_init(&d->policy, d->cfg.has_controller_key ? d->cfg.controller_key : no_key,
			   d->cfg.state_dir, (enum tp_failmode_expiry)d->cfg.failure_mode,
			   d->cfg.controller_address[0] != 0, log_msg, d, wall_s());
	d->policy.max_skew_s = d->cfg.max_clock_skew_s;
	d->policy.publish = publish;
	d->policy.accept = accepts;
	d->policy.publish_arg = d;
	if (d->cfg.has_controller_key) {
		st = tp_ctrl_apply_boot(&d->policy, wall_s(), &found);
		snprintf(lkg, sizeof(lkg), "%s/%s", d->cfg.state_dir, TP_LKG_FILE);
		if (found)
			tp_audit_bundle(d->audit, st == TP_BUNDLE_OK, "boot", lkg, running(d),
					running(d), d->policy.last_error);
		note_unfinished_save(d);
		if (st == TP_BUNDLE_OK && d->policy.boot_prev)
			fprintf(stderr,
				"tpd: policy version %llu from last-known-good: the bundle that "
				"ran before version %llu, whose save did not finish\n",
				(unsigned long long)d->policy.info.version,
				(unsigned long long)d->policy.floor.version);
		else if (st == TP_BUNDLE_OK)
			fprintf(stderr, "tpd: policy version %llu from last-known-good\n",
				(unsigned long long)d->policy.info.version);
		else if (found)
			fprintf(stderr, "tpd: last-known-good %s/%s not used: %s\n",
				d->cfg.state_dir, TP_LKG_FILE, d->policy.last_error);
		if (d->cfg.policy_bundle[0])
			boot_file(d);
	} else if (d->cfg.policy_bundle[0]) {
		tp_audit_bundle(d->audit, false, "boot", d->cfg.policy_bundle, 0, 0,
				"no controller_key: bundles cannot be verified");
		fprintf(stderr,
			"tpd: %s not used: no controller_key in the configuration, "
			"bundles cannot be verified\n",
			d->cfg.policy_bundle);
	}
	/* without a policy the state machine has said so (no-policy) */
	if (d->cfg.controller_address[0]) {
		struct tp_ctrl_client_config cc = {.clock = d->clock};
		struct tp_ctrl_client_callbacks cb = {.apply = cb_apply,
						      .running_bundle = cb_running_bundle,
						      .policy_version = cb_version,
						      .status = cb_status,
						      .connected = cb_connected,
						      .export = cb_export,
						      .log = cb_log,
						      .arg = d};

		if (strlen(d->cfg.controller_address) >= sizeof(cc.address)) {
			snprintf(err, errlen, "controller_address: longer than %zu characters",
				 sizeof(cc.address) - 1);
			return -EINVAL;
		}
		memcpy(cc.address, d->cfg.controller_address,
		       strlen(d->cfg.controller_address) + 1);
		memcpy(cc.static_priv, d->private_key, 32);
		memcpy(cc.controller_pk, d->cfg.controller_key, 32);
		snprintf(cc.tp_name, sizeof(cc.tp_name), "%s", d->cfg.name);
		snprintf(cc.software_version, sizeof(cc.software_version), "tpd-%s", TP_VERSION);
		d->ctrl = tp_ctrl_client_new(&cc, &cb);
		sodium_memzero(cc.static_priv, sizeof(cc.static_priv));
		if (!d->ctrl) {
			snprintf(err, errlen,
				 "controller_address '%s': not a numeric IPv4:port or [IPv6]:port",
				 d->cfg.controller_address);
			return -EINVAL;
		}
	}
	return 0;
}

void tpd_policy_stop(struct tpd *d)
{
	tp_ctrl_client_free(d->ctrl);
	d->ctrl = NULL;
	json_decref(status_view);
	status_view = NULL;
	tp_ctrl_apply_fini(&d->policy);
}

void tpd_policy_tick(struct tpd *d)
{
	tp_failmode_tick(&d->policy.fm, wall_s());
	if (!tp_failmode_enforcing(&d->policy.fm))
		tp_fwd_withdraw(d->fwd);
	tp_audit_tick(d->audit);
}

int tpd_policy_apply_file(struct tpd *d, const char *path, char *err, size_t errlen)
{
	struct tp_ctrl_apply_result res = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!d->cfg.has_controller_key) {
		snprintf(err, errlen,
			 "no controller_key in the configuration: bundles cannot be verified, "
			 "none is accepted");
		tp_audit_bundle(d->audit, false, "file", path, 0, running(d), err);
		return -EPERM;
	}
	rc = tp_file_read(path, TP_BUNDLE_MAX_BYTES, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		tp_audit_bundle(d->audit, false, "file", path, 0, running(d), strerror(-rc));
		return rc;
	}
	rc = tp_ctrl_apply_bundle(&d->policy, buf, len, wall_s(), "file", &res);
	free(buf);
	tp_audit_bundle(d->audit, rc == 0, "file", path, res.version, running(d), res.text);
	if (rc) {
		snprintf(err, errlen, "bundle refused: %s", res.text);
		return rc;
	}
	fprintf(stderr, "tpd: policy version %llu from %s\n",
		(unsigned long long)d->policy.info.version, path);
	/* the controller learns of a local change at once */
	if (d->ctrl)
		tp_ctrl_client_send_status(d->ctrl);
	return 0;
}

json_t *tpd_policy_json(struct tpd *d)
{
	const struct tp_ctrl_apply *a = &d->policy;
	json_t *o = tp_fwd_policy_json(d->fwd);

	if (!o)
		return NULL;
	/* "loaded": a policy is enforced by the dataplane right now */
	json_object_set_new(o, "state", json_string(tp_failmode_state_name(a->fm.state)));
	json_object_set_new(o, "reason", json_string(a->fm.reason));
	json_object_set_new(o, "since", json_integer((json_int_t)a->fm.since));
	json_object_set_new(o, "enforcing", json_boolean(tp_failmode_enforcing(&a->fm)));
	if (a->has_policy) {
		json_object_set_new(o, "version", json_integer((json_int_t)a->info.version));
		json_object_set_new(o, "source", json_string(a->source));
		json_object_set_new(o, "issued_at", json_integer((json_int_t)a->info.issued_at));
		json_object_set_new(o, "expires_at", json_integer((json_int_t)a->info.expires_at));
	}
	/* the clock validity is judged on (tp/ctrl/failmode.h): never behind a
	 * time already seen or the highest issued_at accepted */
	json_object_set_new(o, "clock",
			    json_pack("{s:I, s:I, s:b, s:I, s:I}", "wall", (json_int_t)wall_s(),
				      "policy", (json_int_t)a->fm.clock, "held_back",
				      a->fm.clock > wall_s(), "floor_issued_at",
				      (json_int_t)a->floor.issued_at, "max_skew_s",
				      (json_int_t)a->max_skew_s));
	json_object_set_new(o, "floor_version", json_integer((json_int_t)a->floor.version));
	if (a->floor_note[0] && a->floor_status != 0)
		json_object_set_new(o, "floor_note", json_string(a->floor_note));
	json_object_set_new(o, "applied", json_integer((json_int_t)a->applied));
	json_object_set_new(o, "refused", json_integer((json_int_t)a->refused));
	if (a->last_error[0])
		json_object_set_new(o, "last_refusal", json_string(a->last_error));
	return o;
}

json_t *tpd_controller_json(struct tpd *d)
{
	struct tp_ctrl_client_stats cs;
	json_t *fails;

	if (!d->ctrl)
		return json_pack("{s:s, s:s}", "address", "", "state", "not configured");
	tp_ctrl_client_stats(d->ctrl, &cs);
	fails = json_object();
	for (int f = 0; f < TP_CTRL_CLIENT_FAIL__COUNT; f++)
		json_object_set_new(fails, tp_ctrl_client_fail_name((enum tp_ctrl_client_fail)f),
				    json_integer((json_int_t)cs.fails[f]));
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:I, s:I, s:I}",
			 "address", d->cfg.controller_address, "state",
			 tp_ctrl_client_state_name(tp_ctrl_client_state(d->ctrl)), "attempts",
			 (json_int_t)cs.attempts, "sessions", (json_int_t)cs.sessions, "pushes",
			 (json_int_t)cs.pushes, "acks", (json_int_t)cs.acks, "nacks",
			 (json_int_t)cs.nacks, "last_acked_version",
			 (json_int_t)d->last_acked_version, "last_error", cs.last_error, "fails",
			 fails, "rekeys", (json_int_t)(cs.rekeys_sent + cs.rekeys_received),
			 "rehandshakes", (json_int_t)cs.rehandshakes, "proofs_sent",
			 (json_int_t)cs.proofs_sent);
}
