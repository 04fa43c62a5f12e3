// SPDX-License-Identifier: MIT
/* The running policy and its transitions (tp/ctrl/apply.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "controller.pb-c.h"
#include "tp/ctrl/apply.h"
#include "tp/policy/engine.h"
#include "tp/ctrl/lkg.h"
#include "tp/policy/site.h"

/* NackReason values 1..8 are the bundle statuses in order (controller.proto). */
_Static_assert((int)TP_BUNDLE_UNCOMPILABLE == (int)TABLEAU__V1__NACK_REASON__NACK_UNCOMPILABLE,
	       "NackReason must mirror TP_BUNDLE_STATUSES");
_Static_assert((int)TP_BUNDLE_ROLLBACK == (int)TABLEAU__V1__NACK_REASON__NACK_ROLLBACK,
	       "NackReason must mirror TP_BUNDLE_STATUSES");

static void say(struct tp_ctrl_apply *a, const char *msg)
{
	if (a->fm.log)
		a->fm.log(a->fm.log_arg, msg);
}

void tp_ctrl_apply_init(struct tp_ctrl_apply *a, const uint8_t controller_pk[32],
			const char *state_dir, enum tp_failmode_expiry on_expiry,
			bool controller_configured, void (*log)(void *arg, const char *msg),
			void *log_arg, int64_t now)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->controller_pk, controller_pk, 32);
	snprintf(a->state_dir, sizeof(a->state_dir), "%s", state_dir ? state_dir : "");
	a->max_skew_s = TP_CTRL_APPLY_SKEW_DEFAULT_S;
	tp_failmode_init(&a->fm, on_expiry, controller_configured, log, log_arg, now);
	if (!a->state_dir[0])
		return;
	a->floor_status = tp_lkg_floor_load(a->state_dir, &a->floor);
	if (a->floor_status == 0) {
		tp_failmode_floor(&a->fm, a->floor.issued_at);
		return;
	}
	if (a->floor_status == -ENOENT)
		snprintf(a->floor_note, sizeof(a->floor_note),
			 "no rollback floor %.120s/%s: first start, or it was lost", a->state_dir,
			 TP_LKG_FLOOR_FILE);
	else
		snprintf(a->floor_note, sizeof(a->floor_note),
			 "rollback floor %.80s/%s unreadable (%.40s): not used; versions must be "
			 "above the last-known-good's",
			 a->state_dir, TP_LKG_FLOOR_FILE,
			 a->floor_status == -EBADMSG ? "corrupt or torn"
						     : strerror(-a->floor_status));
	say(a, a->floor_note);
}

/*
 * The clock a newer bundle is judged on: the wall clock, never behind the
 * highest issued_at accepted (persisted in the floor). Not the policy
 * clock's ratchet on the wall clock: that one keeps the running bundle
 * from reviving when the clock steps back, but after a forward glitch it
 * would make every later bundle, however fresh, look expired.
 */
static int64_t trusted_clock(const struct tp_ctrl_apply *a, int64_t now)
{
	int64_t t = now;

	if (a->floor.issued_at > t)
		t = a->floor.issued_at;
	if (a->has_policy && a->info.issued_at > t)
		t = a->info.issued_at;
	return t;
}

static void hash_of(const uint8_t *buf, size_t len, uint8_t out[TP_LKG_HASH_LEN])
{
	crypto_generichash(out, TP_LKG_HASH_LEN, buf, len, NULL, 0);
}

/* The running_version to check a bundle with that hash against. */
static uint64_t floor_for(const struct tp_ctrl_apply *a, const uint8_t hash[TP_LKG_HASH_LEN])
{
	uint64_t v = a->floor.version;

	if (a->has_policy && a->info.version > v)
		v = a->info.version;
	/* The bundle that set the floor may come again when it does not run
	 * (the LKG was lost or its publish failed): it is not a rollback. */
	if (v && v == a->floor.version && !(a->has_policy && a->info.version == v) &&
	    sodium_memcmp(hash, a->floor.hash, TP_LKG_HASH_LEN) == 0)
		return v - 1;
	return v;
}

/* The floor after accepting info (hash: its bundle's). */
static struct tp_lkg_floor floor_after(const struct tp_ctrl_apply *a,
				       const struct tp_bundle_info *info,
				       const uint8_t hash[TP_LKG_HASH_LEN])
{
	struct tp_lkg_floor f = a->floor;

	if (info->version >= f.version) {
		f.version = info->version;
		memcpy(f.hash, hash, TP_LKG_HASH_LEN);
	}
	/* Until the LKG rename is done the LKG on disk is the running bundle
	 * (or, with none running, whatever PREV already said). */
	if (a->has_policy)
		hash_of(a->bundle, a->bundle_len, f.prev);
	if (info->issued_at > f.issued_at)
		f.issued_at = info->issued_at;
	return f;
}

/* At boot: raise the floor to the LKG's (signature verified, whatever
 * else is wrong with it) and rewrite the file when it was missing, corrupt
 * or behind. */
static void floor_from_lkg(struct tp_ctrl_apply *a, const uint8_t *buf, size_t len)
{
	struct tp_bundle_info peek;
	struct tp_lkg_floor f;
	struct tp_site *s = NULL;
	uint8_t hash[TP_LKG_HASH_LEN];
	char err[160], msg[320];
	int rc;

	if (tp_bundle_open(buf, len, a->controller_pk, &peek, &s, err, sizeof(err)) != TP_BUNDLE_OK)
		return; /* not the controller's: says nothing about the floor */
	tp_site_free(s);
	hash_of(buf, len, hash);
	f = floor_after(a, &peek, hash);
	if (sodium_memcmp(hash, f.hash, TP_LKG_HASH_LEN) == 0)
		memset(f.prev, 0, sizeof(f.prev)); /* the LKG rename was done */
	if (a->floor_status == 0 && memcmp(&f, &a->floor, sizeof(f)) == 0)
		return;
	a->floor = f;
	tp_failmode_floor(&a->fm, f.issued_at);
	rc = tp_lkg_floor_save(a->state_dir, &f);
	snprintf(msg, sizeof(msg),
		 "rollback floor %.120s/%s set to version %llu from the last-known-good%s%.60s",
		 a->state_dir, TP_LKG_FLOOR_FILE, (unsigned long long)f.version,
		 rc < 0 ? ": cannot write it: " : "", rc < 0 ? strerror(-rc) : "");
	say(a, msg);
	if (rc == 0)
		a->floor_status = 0;
}

void tp_ctrl_apply_fini(struct tp_ctrl_apply *a)
{
	tp_site_free(a->site);
	tp_engine_free(a->engine);
	free(a->bundle);
	a->site = NULL;
	a->engine = NULL;
	a->bundle = NULL;
}

/* Make site/engine the running policy. 0 or the publish error. */
static int install(struct tp_ctrl_apply *a, const struct tp_bundle_info *info, struct tp_site *site,
		   struct tp_engine *engine, const char *source, int64_t now, const uint8_t *buf,
		   size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	if (a->publish) {
		rc = a->publish(a->publish_arg, site, engine);
		if (rc < 0) {
			free(copy);
			return rc;
		}
		engine = NULL; /* the dataplane owns it now */
	}
	free(a->bundle);
	a->bundle = copy;
	a->bundle_len = len;
	tp_site_free(a->site);
	tp_engine_free(a->engine);
	a->site = site;
	a->engine = engine;
	a->info = *info;
	a->has_policy = true;
	snprintf(a->source, sizeof(a->source), "%s", source);
	a->applied++;
	tp_failmode_rebase(&a->fm, trusted_clock(a, now));
	tp_failmode_set_policy(&a->fm, info->version, info->expires_at, now);
	return 0;
}

enum tp_bundle_status tp_ctrl_apply_boot(struct tp_ctrl_apply *a, int64_t now, bool *found)
{
	struct tp_bundle_accept acc = {.controller_pk = a->controller_pk,
				       .max_skew_s = a->max_skew_s};
	uint8_t hash[TP_LKG_HASH_LEN];
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	struct tp_engine *engine = NULL;
	enum tp_bundle_status st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*found = false;
	if (!a->state_dir[0])
		return TP_BUNDLE_UNDECODABLE;
	rc = tp_lkg_load(a->state_dir, TP_BUNDLE_MAX_BYTES, &buf, &len);
	if (rc < 0) {
		snprintf(a->last_error, sizeof(a->last_error), "no last-known-good bundle: %s",
			 strerror(-rc));
		return TP_BUNDLE_UNDECODABLE;
	}
	*found = true;
	floor_from_lkg(a, buf, len);
	hash_of(buf, len, hash);
	acc.running_version = floor_for(a, hash);
	/* The bundle that ran when the floor was staged, left by an LKG write
	 * that failed or a crash before its rename: below the floor, yet the
	 * policy this TP last enforced, not a rollback (tp/ctrl/lkg.h). */
	a->boot_prev = !sodium_is_zero(a->floor.prev, TP_LKG_HASH_LEN) &&
		       sodium_memcmp(hash, a->floor.prev, TP_LKG_HASH_LEN) == 0;
	if (a->boot_prev)
		acc.running_version = 0;
	acc.now = tp_failmode_clock(&a->fm, now);
	st = tp_bundle_check(buf, len, &acc, &info, &site, &engine, a->last_error,
			     sizeof(a->last_error));
	if (st == TP_BUNDLE_EXPIRED && a->fm.on_expiry == TP_FAILMODE_EXPIRY_STATIC) {
		/* fail-static keeps running an expired bundle; check everything
		 * else as of its last valid second. */
		struct tp_bundle_info peek;
		struct tp_site *s2 = NULL;

		if (tp_bundle_open(buf, len, a->controller_pk, &peek, &s2, a->last_error,
				   sizeof(a->last_error)) == TP_BUNDLE_OK) {
			acc.now = peek.expires_at - 1;
			st = tp_bundle_check(buf, len, &acc, &info, &site, &engine, a->last_error,
					     sizeof(a->last_error));
		}
		tp_site_free(s2);
	}
	if (st != TP_BUNDLE_OK) {
		a->last_refusal = st;
		a->refused++;
		goto out;
	}
	if (a->accept && !a->accept(a->publish_arg, site, a->last_error, sizeof(a->last_error))) {
		tp_site_free(site);
		tp_engine_free(engine);
		st = TP_BUNDLE_UNCOMPILABLE;
		a->refused++;
		goto out;
	}
	if (install(a, &info, site, engine, "lkg", now, buf, len) < 0) {
		snprintf(a->last_error, sizeof(a->last_error), "the dataplane refused the policy");
		tp_site_free(site);
		tp_engine_free(engine);
		st = TP_BUNDLE_UNCOMPILABLE;
	}
out:
	free(buf);
	return st;
}

int tp_ctrl_apply_bundle(struct tp_ctrl_apply *a, const uint8_t *buf, size_t len, int64_t now,
			 const char *source, struct tp_ctrl_apply_result *res)
{
	struct tp_bundle_accept acc = {
		.controller_pk = a->controller_pk,
		.now = trusted_clock(a, now),
		.max_skew_s = a->max_skew_s,
	};
	struct tp_bundle_info info = {0};
	struct tp_site *site = NULL;
	struct tp_engine *engine = NULL;
	enum tp_bundle_status st;
	uint8_t hash[TP_LKG_HASH_LEN];
	struct tp_lkg_floor floor;
	int rc;

	hash_of(buf, len, hash);
	acc.running_version = floor_for(a, hash);
	st = tp_bundle_check(buf, len, &acc, &info, &site, &engine, res->text, sizeof(res->text));
	if (info.version)
		res->version = info.version;
	if (st == TP_BUNDLE_ROLLBACK && !(a->has_policy && a->info.version >= acc.running_version))
		snprintf(res->text, sizeof(res->text),
			 "version %llu is not above the rollback floor %llu (highest accepted)",
			 (unsigned long long)info.version, (unsigned long long)acc.running_version);
	if (st != TP_BUNDLE_OK) {
		res->reason = (int)st;
		a->last_refusal = st;
		goto refused;
	}
	if (a->accept && !a->accept(a->publish_arg, site, res->text, sizeof(res->text))) {
		res->reason = TABLEAU__V1__NACK_REASON__NACK_APPLY_FAILED;
		goto free_new;
	}
	/* the floor first: on disk it is never behind the LKG */
	floor = floor_after(a, &info, hash);
	if (a->state_dir[0]) {
		rc = tp_lkg_floor_stage(a->state_dir, &floor);
		if (rc < 0) {
			res->reason = TABLEAU__V1__NACK_REASON__NACK_PERSIST_FAILED;
			snprintf(res->text, sizeof(res->text),
				 "cannot persist the rollback floor %.60s/%s: %.40s", a->state_dir,
				 TP_LKG_FLOOR_FILE, strerror(-rc));
			goto free_new;
		}
		a->floor_status = 0;
	}
	a->floor = floor;
	if (a->state_dir[0]) {
		rc = tp_lkg_save(a->state_dir, buf, len);
		if (rc < 0) {
			res->reason = TABLEAU__V1__NACK_REASON__NACK_PERSIST_FAILED;
			snprintf(res->text, sizeof(res->text),
				 "cannot persist the last-known-good bundle: %s", strerror(-rc));
			goto free_new;
		}
		/* The LKG is this bundle now: the previous one may no longer
		 * boot below the floor. Best effort: a floor left with PREV
		 * only lets that one bundle, which ran, boot again. */
		memset(floor.prev, 0, sizeof(floor.prev));
		if (tp_lkg_floor_stage(a->state_dir, &floor) == 0)
			a->floor = floor;
	}
	rc = install(a, &info, site, engine, source, now, buf, len);
	if (rc < 0) {
		res->reason = TABLEAU__V1__NACK_REASON__NACK_APPLY_FAILED;
		snprintf(res->text, sizeof(res->text), "the dataplane refused the policy: %s",
			 strerror(-rc));
		goto free_new;
	}
	res->reason = 0;
	res->text[0] = 0;
	return 0;
free_new:
	tp_site_free(site);
	tp_engine_free(engine);
refused:
	a->refused++;
	snprintf(a->last_error, sizeof(a->last_error), "%s", res->text);
	return -EINVAL;
}
