// SPDX-License-Identifier: MIT
/*
 * Policy in tpd (DESIGN.md §2.4, §2.6): a signed bundle is checked
 * (tp_bundle_check with the controller key pinned in tpd.conf, version
 * above the running one), its compiled engine published (one pointer swap;
 * the old one freed after the workers' grace period), the zone-port XDP
 * tables replaced by generation, and the bundle's bytes saved as
 * last-known-good. At start the last-known-good bundle is verified again
 * like any other; with none, inter-zone traffic is dropped.
 *
 * Time: the engine is valid for an interval (rules with validity
 * windows); at its end the site is recompiled and republished, which
 * re-checks every flow. When the bundle itself expires, fail-closed
 * withdraws the policy; fail-static keeps enforcing it.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "fwd_int.h"
#include "tp/lkg.h"
#include "tp/xdp_site.h"

/* Every address of every interface, for the zone program's "for the TP
 * itself" check (tp/xdp.h). */
static size_t local_addrs(struct tp_prefix *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			out[n] = (struct tp_prefix){.family = TP_AF_INET, .len = 32};
			memcpy(out[n++].addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			out[n] = (struct tp_prefix){.family = TP_AF_INET6, .len = 128};
			memcpy(out[n++].addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
	}
	freeifaddrs(ifa);
	return n;
}

/* Zone-port tables for the site (or only the TP's addresses without one). */
static void xdp_apply(struct tp_fwd *f, const struct tp_site *site, uint32_t self)
{
	struct tp_prefix addrs[64];
	size_t n = local_addrs(addrs, 64);
	struct tp_xdp_zones *z = NULL, none = {.local_addrs = addrs, .n_local_addrs = n};

	if (!f->xdp_zone)
		return;
	if (site) {
		z = tp_xdp_zones_from_site(site, self, addrs, n);
		if (!z) {
			f->xdp_err = -errno;
			return;
		}
	}
	f->xdp_err = tp_xdp_zones_apply(f->xdp_zone, z ? z : &none);
	tp_xdp_zones_free(z);
}

static void xdp_configure(struct tp_fwd *f)
{
	struct tp_xdp_settings s;

	if (f->xdp_zone) {
		tp_xdp_settings_default(&s);
		memcpy(s.mac, f->mac[TP_PORT_ZONE], 6);
		tp_xdp_configure(f->xdp_zone, &s);
	}
	if (f->xdp_transit) {
		tp_xdp_settings_default(&s);
		s.tunnel_port = f->cfg->listen_port;
		memcpy(s.mac, f->mac[TP_PORT_TRANSIT], 6);
		tp_xdp_configure(f->xdp_transit, &s);
	}
}

static uint32_t self_tp(struct tp_fwd *f, const struct tp_site *site)
{
	for (size_t i = 0; i < site->n_tps; i++) {
		if (memcmp(site->tps[i].pubkey, f->p.public_key, 32) == 0)
			return (uint32_t)i;
	}
	return UINT32_MAX;
}

/* Make (site, engine) the running policy. Takes ownership of both. */
static int publish(struct tp_fwd *f, struct tp_site *site, struct tp_engine *engine, uint32_t self,
		   char *err, size_t errlen)
{
	uint64_t gen = f->rcu->slot.last_gen + 1;
	struct fwd_topo *t, *old;
	unsigned k = gen % TOPO_SLOTS;

	t = calloc(1, sizeof(*t) + site->n_tps * sizeof(t->peer_of_tp[0]));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		tp_site_free(site);
		tp_engine_free(engine);
		return -ENOMEM;
	}
	t->gen = gen;
	t->self_tp = self;
	t->site = site;
	t->n_tps = (uint32_t)site->n_tps;
	for (size_t i = 0; i < site->n_tps; i++) {
		t->peer_of_tp[i] = UINT32_MAX;
		if (i != self)
			t->peer_of_tp[i] = fwd_peer_get(f, &site->tps[i]);
	}
	/* The slot last held generation gen - TOPO_SLOTS; a worker can only
	 * read it while holding that generation's engine, long retired:
	 * one grace period makes sure nobody still does. */
	old = f->topo[k];
	if (old) {
		rte_rcu_qsbr_synchronize(f->rcu->qsbr, RTE_QSBR_THRID_INVALID);
		tp_site_free(old->site);
		free(old);
	}
	/* the topology first: a worker that sees the new engine finds it */
	__atomic_store_n(&f->topo[k], t, __ATOMIC_RELEASE);
	tp_policyrcu_publish(f->rcu, engine);
	xdp_apply(f, site, self);
	return 0;
}

static int accept_bundle(struct tp_fwd *f, const uint8_t *buf, size_t len, const char *src,
			 char *err, size_t errlen)
{
	struct tp_bundle_accept acc = {
		.controller_pk = f->cfg->controller_key,
		.running_version = f->has_policy ? f->info.version : 0,
		.now = fwd_wall_s(f),
	};
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	struct tp_engine *engine = NULL;
	enum tp_bundle_status st;
	char why[200] = "";
	uint32_t self;
	int rc;

	if (!f->cfg->has_controller_key) {
		snprintf(err, errlen,
			 "no controller_key in the configuration: bundles cannot be "
			 "verified, none is accepted");
		rc = -EPERM;
		goto refused;
	}
	st = tp_bundle_check(buf, len, &acc, &info, &site, &engine, why, sizeof(why));
	if (st != TP_BUNDLE_OK) {
		snprintf(err, errlen, "bundle refused: %s%s%s", tp_bundle_status_name(st),
			 why[0] ? ": " : "", why);
		rc = st == TP_BUNDLE_ROLLBACK ? -ESTALE : -EINVAL;
		goto refused;
	}
	self = self_tp(f, site);
	if (self == UINT32_MAX) {
		snprintf(err, errlen, "bundle refused: this TP's public key is not in site '%s'",
			 site->name);
		tp_site_free(site);
		tp_engine_free(engine);
		rc = -ENOENT;
		goto refused;
	}
	rc = publish(f, site, engine, self, err, errlen);
	if (rc)
		goto refused;
	f->info = info;
	f->has_policy = true;
	f->expired = false;
	f->applied_at = acc.now;
	snprintf(f->policy_src, sizeof(f->policy_src), "%s", src);
	return 0;
refused:
	f->refused++;
	snprintf(f->last_refusal, sizeof(f->last_refusal), "%s", err);
	return rc;
}

int tp_fwd_apply(struct tp_fwd *f, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	int rc = accept_bundle(f, buf, len, "apply", err, errlen);

	if (rc)
		return rc;
	rc = tp_lkg_save(f->cfg->state_dir, buf, len);
	if (rc) {
		/* running, but a restart would come back with the older one */
		snprintf(err, errlen, "applied, but not saved as last-known-good in %s: %s",
			 f->cfg->state_dir, strerror(-rc));
		f->lkg_err = rc;
	}
	return 0;
}

int tp_fwd_apply_file(struct tp_fwd *f, const char *path, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc = tp_lkg_read_file(path, TP_BUNDLE_MAX_BYTES, &buf, &len);

	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	err[0] = '\0';
	rc = tp_fwd_apply(f, buf, len, err, errlen);
	free(buf);
	return rc;
}

void tp_fwd_load_initial(struct tp_fwd *f, void (*log)(const char *line))
{
	char line[1024], err[300];
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	xdp_configure(f);
	xdp_apply(f, NULL, 0);
	rc = tp_lkg_load(f->cfg->state_dir, TP_BUNDLE_MAX_BYTES, &buf, &len);
	if (rc == 0) {
		rc = accept_bundle(f, buf, len, "last-known-good", err, sizeof(err));
		if (rc)
			snprintf(line, sizeof(line), "last-known-good %s/%s not used: %s",
				 f->cfg->state_dir, TP_LKG_FILE, err);
		else
			snprintf(line, sizeof(line), "policy version %llu from last-known-good",
				 (unsigned long long)f->info.version);
		log(line);
	} else if (rc != -ENOENT) {
		snprintf(line, sizeof(line), "last-known-good in %s unreadable: %s",
			 f->cfg->state_dir, strerror(-rc));
		log(line);
	}
	free(buf);
	if (f->cfg->policy_bundle[0]) {
		rc = tp_fwd_apply_file(f, f->cfg->policy_bundle, err, sizeof(err));
		if (rc == -ESTALE)
			snprintf(line, sizeof(line),
				 "%s not newer than the running policy: kept "
				 "version %llu",
				 f->cfg->policy_bundle, (unsigned long long)f->info.version);
		else if (rc)
			snprintf(line, sizeof(line), "%s", err);
		else
			snprintf(line, sizeof(line), "policy version %llu from %s%s%s",
				 (unsigned long long)f->info.version, f->cfg->policy_bundle,
				 err[0] ? "; " : "", err);
		log(line);
	}
	if (!f->has_policy)
		log("no valid policy: inter-zone traffic is dropped until a bundle is applied");
}

void fwd_policy_tick(struct tp_fwd *f)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *t = e ? fwd_topo_of(f, e) : NULL;
	int64_t now = fwd_wall_s(f);
	struct tp_engine *ne = NULL;
	struct tp_site *site;
	char err[200];

	if (!f->has_policy)
		return;
	if (!f->expired && now >= f->info.expires_at) {
		f->expired = true;
		if (f->cfg->failure_mode == TP_FAIL_CLOSED) {
			/* NDR 5.2: an expired policy is no policy */
			tp_policyrcu_publish(f->rcu, NULL);
			xdp_apply(f, NULL, 0);
			return;
		}
	}
	if (!e || !t || tp_engine_valid_at(e, now))
		return;
	/* a validity window opened or closed: recompile, which re-checks flows */
	site = tp_site_clone(t->site);
	if (!site || tp_engine_compile(site, now, &ne, err, sizeof(err)) != 0) {
		tp_site_free(site);
		return; /* keep the running one; retried at the next tick */
	}
	publish(f, site, ne, t->self_tp, err, sizeof(err));
}

json_t *tp_fwd_policy_json(struct tp_fwd *f)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *t = e ? fwd_topo_of(f, e) : NULL;
	json_t *o;

	if (!f->has_policy || !e)
		o = json_pack("{s:b, s:s}", "loaded", 0, "state",
			      f->expired ? "expired (fail-closed): inter-zone traffic is dropped"
					 : "none: inter-zone traffic is dropped until a valid "
					   "bundle is applied");
	else
		o = json_pack("{s:b, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "loaded", 1,
			      "version", (json_int_t)f->info.version, "site",
			      t ? t->site->name : "?", "source", f->policy_src, "issued_at",
			      (json_int_t)f->info.issued_at, "expires_at",
			      (json_int_t)f->info.expires_at, "generation",
			      (json_int_t)tp_engine_generation(e), "self",
			      t ? t->site->tps[t->self_tp].name : "?", "rules",
			      (json_int_t)(t ? t->site->n_rules : 0));
	if (o) {
		json_object_set_new(o, "refused", json_integer((json_int_t)f->refused));
		if (f->last_refusal[0])
			json_object_set_new(o, "last_refusal", json_string(f->last_refusal));
		json_object_set_new(o, "xdp_tables",
				    json_string(!f->xdp_zone ? "not attached"
						: f->xdp_err ? strerror(-f->xdp_err)
							     : "ok"));
	}
	return o;
}

static json_t *xdp_counters(const struct tp_xdp *x, enum tp_xdp_kind kind)
{
	uint64_t v[64];
	size_t n = RTE_MIN(tp_xdp_counter_count(kind), RTE_DIM(v));
	json_t *o = json_object();

	if (!x || tp_xdp_counters_read(x, v, n) < 0)
		return o;
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, tp_xdp_counter_name(kind, i),
				    json_integer((json_int_t)v[i]));
	return o;
}

json_t *tp_fwd_xdp_json(struct tp_fwd *f)
{
	return json_pack("{s:o, s:o}", "zone", xdp_counters(f->xdp_zone, TP_XDP_KIND_ZONE),
			 "transit", xdp_counters(f->xdp_transit, TP_XDP_KIND_TRANSIT));
}
