// SPDX-License-Identifier: MIT
/*
 * Policy in the dataplane (DESIGN.md §2.4, §2.6): publication only. Which
 * bundle runs is decided by the one apply path, tp/ctrl/apply.h (acceptance
 * checks, last-known-good, policy state), for pushes, files and the LKG at
 * boot alike; it hands the compiled engine here through its publish
 * callback. Publishing is: the site's topology for the stages, the engine
 * (one pointer swap; the old one freed after the workers' grace period,
 * and every flow re-checked by generation), the zone-port XDP tables.
 * Withdrawing (no policy, fail-closed) publishes no engine: inter-zone
 * traffic is dropped.
 *
 * Time: the engine is valid for an interval (rules with validity
 * windows); at its end the site is recompiled and republished, which
 * re-checks every flow. Policy time only moves forward: a wall clock
 * stepped back before the interval keeps the running engine (compiled for
 * the later time, so a conduit whose not_after passed stays off). The
 * bundle's own expiry is the policy state's business (tp/ctrl/failmode.h), not
 * this file's.
 *
 * A recompile that fails at a boundary (out of memory) must not leave the
 * old engine deciding past its interval (an expired conduit would keep
 * admitting: fail-open). The zone pairs with a rule that appeared or
 * disappeared since the last complete engine are failed closed (the site
 * without their rules is compiled and published); if even that fails, the
 * whole engine is withdrawn (that needs no memory). Both are counted and
 * logged; the full site is retried every tick until it compiles.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "fwd_int.h"
#include "tp/policy/site.h"
#include "tp/dp/xdp_site.h"

/* The addresses of one port (link-local ones too), for the XDP programs'
 * "for the TP itself" check (tp/dp/xdp.h): only these reach the kernel, so
 * nothing addressed elsewhere can meet its routing (DESIGN.md §2.7). */
static size_t port_addrs(const char *ifname, struct tp_prefix *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifname) != 0)
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
	size_t n = port_addrs(f->cfg->zone_if, addrs, 64);
	struct tp_xdp_zones *z = NULL, none = {.local_addrs = addrs, .n_local_addrs = n};

	if (!f->ctl.xdp_zone)
		return;
	if (site) {
		z = tp_xdp_zones_from_site(site, self, addrs, n);
		if (!z) {
			f->ctl.xdp_err = -errno;
			return;
		}
	}
	f->ctl.xdp_err = tp_xdp_zones_apply(f->ctl.xdp_zone, z ? z : &none);
	tp_xdp_zones_free(z);
}

static void xdp_configure(struct tp_fwd *f)
{
	struct tp_xdp_settings s;

	if (f->ctl.xdp_zone) {
		tp_xdp_settings_default(&s);
		memcpy(s.mac, f->mac[TP_PORT_ZONE], 6);
		tp_xdp_configure(f->ctl.xdp_zone, &s);
	}
	if (f->ctl.xdp_transit) {
		struct tp_prefix addrs[TP_XDP_MAX_PORT_ADDRS];
		size_t n = port_addrs(f->cfg->transit_if, addrs, TP_XDP_MAX_PORT_ADDRS);
		int rc;

		tp_xdp_settings_default(&s);
		s.tunnel_port = f->cfg->listen_port;
		memcpy(s.mac, f->mac[TP_PORT_TRANSIT], 6);
		tp_xdp_configure(f->ctl.xdp_transit, &s);
		/* on failure the map stays empty: the kernel then gets only
		 * ARP/ND from transit (fail closed), and it shows */
		rc = tp_xdp_port_addrs_set(f->ctl.xdp_transit, addrs, n);
		if (rc)
			f->ctl.xdp_err = rc;
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

/* Make (site, engine) the running policy. Takes the site; the engine too
 * on success. */
static int publish(struct tp_fwd *f, struct tp_site *site, struct tp_engine *engine, uint32_t self,
		   char *err, size_t errlen)
{
	uint64_t gen = f->rcu->slot.last_gen + 1;
	struct fwd_topo *t, *old;
	unsigned k = gen % TOPO_SLOTS;
	int rc;

	t = calloc(1, sizeof(*t) + site->n_tps * sizeof(t->peer_of_tp[0]));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		tp_site_free(site);
		return -ENOMEM; /* the engine is still the caller's */
	}
	t->gen = gen;
	t->self_tp = self;
	t->rules = fwd_rules_new(f, site, self, &rc);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		tp_site_free(site);
		free(t);
		return rc;
	}
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
	old = f->pub.topo[k];
	if (old) {
		rte_rcu_qsbr_synchronize(f->rcu->qsbr, RTE_QSBR_THRID_INVALID);
		fwd_topo_free(old);
	}
	/* the topology first: a worker that sees the new engine finds it */
	__atomic_store_n(&f->pub.topo[k], t, __ATOMIC_RELEASE);
	tp_policyrcu_publish(f->rcu, engine);
	xdp_apply(f, site, self);
	return 0;
}

bool tp_fwd_accepts(struct tp_fwd *f, const struct tp_site *site, char *why, size_t whylen)
{
	if (self_tp(f, site) != UINT32_MAX)
		return true;
	snprintf(why, whylen, "this TP's public key is not in site '%s'", site->name);
	return false;
}

int tp_fwd_publish(struct tp_fwd *f, const struct tp_site *site, struct tp_engine *engine)
{
	char err[64];
	struct tp_site *copy;
	uint32_t self = self_tp(f, site);
	int rc;

	if (self == UINT32_MAX)
		return -ENOENT;
	copy = tp_site_clone(site);
	if (!copy)
		return -ENOMEM;
	rc = publish(f, copy, engine, self, err, sizeof(err));
	if (rc == 0) {
		f->ctl.withdrawn = false;
		/* a new policy supersedes whatever was waiting to be decided */
		tp_site_free(f->ctl.undecided);
		f->ctl.undecided = NULL;
	}
	return rc == 0 ? 0 : -ENOMEM;
}

void tp_fwd_withdraw(struct tp_fwd *f)
{
	tp_site_free(f->ctl.undecided);
	f->ctl.undecided = NULL;
	if (f->ctl.withdrawn)
		return;
	/* NDR 5.2: no valid policy is no inter-zone traffic */
	tp_policyrcu_publish(f->rcu, NULL);
	xdp_apply(f, NULL, 0);
	f->ctl.withdrawn = true;
}

void tp_fwd_set_compile(struct tp_fwd *f,
			int (*compile)(const struct tp_site *site, int64_t now,
				       struct tp_engine **out, char *err, size_t errlen))
{
	f->ctl.compile = compile ? compile : tp_engine_compile;
}

void tp_fwd_policy_init(struct tp_fwd *f)
{
	xdp_configure(f);
	xdp_apply(f, NULL, 0);
	f->ctl.withdrawn = true;
}

static bool rule_exists(const struct tp_rule *r, int64_t t)
{
	return (!r->not_before || r->not_before <= t) && (!r->not_after || t < r->not_after);
}

static void say(struct tp_fwd *f, const char *line)
{
	if (f->p.log)
		f->p.log(f->p.log_arg, line);
	else
		fprintf(stderr, "tpd: %s\n", line);
}

static bool pair_changed(const struct tp_site *s, const struct tp_rule *r, int64_t then,
			 int64_t now)
{
	for (size_t j = 0; j < s->n_rules; j++)
		if (s->rules[j].from_zone == r->from_zone && s->rules[j].to_zone == r->to_zone &&
		    rule_exists(&s->rules[j], then) != rule_exists(&s->rules[j], now))
			return true;
	return false;
}

/* A copy of site with the rules of every zone pair where a rule exists at
 * one of the two times and not at the other moved to the end; *kept is
 * how many come before them (order never matters, DESIGN.md §7.3), *pairs
 * how many such pairs there are. NULL when out of memory. */
static struct tp_site *changed_pairs_last(const struct tp_site *site, int64_t then, int64_t now,
					  size_t *kept, size_t *pairs)
{
	struct tp_site *s = tp_site_clone(site);
	size_t k = 0;

	*pairs = 0;
	*kept = 0;
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];
		bool first = rule_exists(r, then) != rule_exists(r, now);

		for (size_t j = 0; j < i && first; j++)
			first = !(s->rules[j].from_zone == r->from_zone &&
				  s->rules[j].to_zone == r->to_zone &&
				  rule_exists(&s->rules[j], then) !=
					  rule_exists(&s->rules[j], now));
		*pairs += first;
	}
	for (size_t i = 0; i < s->n_rules; i++) {
		if (pair_changed(s, &s->rules[i], then, now))
			continue;
		if (i != k) {
			struct tp_rule tmp = s->rules[k];

			s->rules[k] = s->rules[i];
			s->rules[i] = tmp;
		}
		k++;
	}
	*kept = k;
	return s;
}

/* The recompile of f->ctl.undecided at now failed (why): decide what can be. */
static void fail_closed(struct tp_fwd *f, int64_t now, const char *why)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	struct tp_engine *ne = NULL;
	struct tp_site *part;
	size_t pairs = 0, kept = 0;
	char err[200], line[400];

	f->ctl.recompile_failed++;
	/* the partial engine published last time still decides correctly */
	if (e && tp_engine_generation(e) == f->ctl.partial_gen && tp_engine_valid_at(e, now))
		return;
	part = changed_pairs_last(f->ctl.undecided, f->ctl.decided_at, now, &kept, &pairs);
	if (part) {
		size_t all = part->n_rules;
		int rc;

		/* compiled without them; the topology keeps every rule */
		part->n_rules = kept;
		rc = f->ctl.compile(part, now, &ne, err, sizeof(err));
		part->n_rules = all;
		if (rc != 0) {
			tp_site_free(part);
			part = NULL;
		}
	}
	if (part && publish(f, part, ne, f->ctl.undecided_self, err, sizeof(err)) == 0) {
		f->ctl.partial_gen = f->rcu->slot.last_gen;
		f->ctl.pairs_failed_closed += pairs;
		snprintf(line, sizeof(line),
			 "policy recompile at a validity boundary failed (%.150s): %zu zone "
			 "pair(s) whose rules changed fail closed until it succeeds",
			 why, pairs);
		say(f, line);
		return;
	}
	if (part) /* publish took the site, not the engine */
		tp_engine_free(ne);
	/* nothing smaller can be compiled: no engine at all, which needs no
	 * memory and decides every inter-zone packet correctly enough (drop) */
	tp_policyrcu_publish(f->rcu, NULL);
	xdp_apply(f, NULL, 0);
	f->ctl.engine_withdrawn++;
	snprintf(line, sizeof(line),
		 "policy recompile at a validity boundary failed (%.150s): inter-zone traffic "
		 "dropped until it succeeds",
		 why);
	say(f, line);
}

void fwd_policy_tick(struct tp_fwd *f)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *t = e ? fwd_topo_of(f, e) : NULL;
	int64_t now = fwd_wall_s(f);
	struct tp_engine *ne = NULL;
	struct tp_site *site;
	char err[200];

	if (!f->ctl.undecided) {
		/* policy time never goes back: before the interval, keep it */
		if (!e || !t || now < tp_engine_valid_until(e))
			return;
		/* a validity window opened or closed: recompile, which
		 * re-checks flows */
		f->ctl.undecided = tp_site_clone(t->site);
		f->ctl.undecided_self = t->self_tp;
		f->ctl.decided_at = tp_engine_valid_from(e);
		if (!f->ctl.undecided) {
			/* cannot even keep a copy: no engine is all that can
			 * be decided (the next bundle publishes again) */
			f->ctl.recompile_failed++;
			tp_fwd_withdraw(f);
			f->ctl.engine_withdrawn++;
			say(f, "policy recompile at a validity boundary: out of memory, "
			       "inter-zone traffic dropped");
			return;
		}
	}
	site = tp_site_clone(f->ctl.undecided);
	err[0] = '\0';
	if (!site || f->ctl.compile(site, now, &ne, err, sizeof(err)) != 0) {
		tp_site_free(site);
		fail_closed(f, now, site ? err : "out of memory");
		return;
	}
	if (publish(f, site, ne, f->ctl.undecided_self, err, sizeof(err)) != 0) {
		tp_engine_free(ne);
		fail_closed(f, now, err);
		return;
	}
	tp_site_free(f->ctl.undecided);
	f->ctl.undecided = NULL;
}

json_t *tp_fwd_policy_json(struct tp_fwd *f)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *t = e ? fwd_topo_of(f, e) : NULL;
	json_t *o;

	if (!e || !t || f->ctl.withdrawn)
		o = json_pack("{s:b}", "loaded", 0);
	else
		o = json_pack("{s:b, s:s, s:I, s:s, s:I}", "loaded", 1, "site", t->site->name,
			      "generation", (json_int_t)tp_engine_generation(e), "self",
			      t->site->tps[t->self_tp].name, "rules", (json_int_t)t->site->n_rules);
	if (o)
		json_object_set_new(
			o, "recompile",
			json_pack("{s:b, s:I, s:I, s:I}", "degraded", f->ctl.undecided != NULL,
				  "failed", (json_int_t)f->ctl.recompile_failed,
				  "pairs_failed_closed", (json_int_t)f->ctl.pairs_failed_closed,
				  "engine_withdrawn", (json_int_t)f->ctl.engine_withdrawn));
	if (o)
		json_object_set_new(o, "xdp_tables",
				    json_string(!f->ctl.xdp_zone ? "not attached"
						: f->ctl.xdp_err ? strerror(-f->ctl.xdp_err)
								 : "ok"));
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
	return json_pack("{s:o, s:o}", "zone", xdp_counters(f->ctl.xdp_zone, TP_XDP_KIND_ZONE),
			 "transit", xdp_counters(f->ctl.xdp_transit, TP_XDP_KIND_TRANSIT));
}
