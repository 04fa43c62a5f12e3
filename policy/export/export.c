// SPDX-License-Identifier: MIT
/*
 * Building an export (see tp/policy/export.h): the intent of one TP derived from a
 * site, and the setters tpd uses to overwrite it with live state.
 *
 * What a TP enforces follows from DESIGN.md §7.7: a TP evaluates every
 * packet whose source or destination zone it hosts, so its rules are the
 * conduits from or to its zones; its peers are all other TPs that host a
 * zone (a full mesh: any zone pair may be allowed later without new
 * tunnels), each with the zones routed to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tp/policy/export.h"

/* Move rules (deep-copied by tp_site_clone) out of a temporary site. */
static struct tp_rule *copy_rules(const struct tp_rule *const *sel, size_t n)
{
	struct tp_site tmp = {0}, *c;
	struct tp_rule *out;

	if (!n)
		return NULL;
	tmp.rules = calloc(n, sizeof(*tmp.rules));
	if (!tmp.rules)
		return NULL;
	for (size_t i = 0; i < n; i++)
		tmp.rules[i] = *sel[i];
	tmp.n_rules = n;
	c = tp_site_clone(&tmp);
	free(tmp.rules);
	if (!c)
		return NULL;
	out = c->rules;
	c->rules = NULL;
	c->n_rules = 0;
	tp_site_free(c);
	return out;
}

static void free_rules(struct tp_rule *rules, size_t n)
{
	struct tp_site *tmp;

	if (!rules)
		return;
	tmp = calloc(1, sizeof(*tmp));
	if (!tmp) {
		/* cannot happen in practice; leaking beats a double free */
		return;
	}
	tmp->rules = rules;
	tmp->n_rules = n;
	tp_site_free(tmp);
}

static void free_peer(struct tp_export_peer *p)
{
	free(p->endpoints);
	free(p->zones);
}

static void clear_state(struct tp_export *x)
{
	tp_site_free(x->site);
	x->site = NULL;
	free(x->local_zones);
	x->local_zones = NULL;
	x->n_local_zones = 0;
	free_rules(x->rules, x->n_rules);
	x->rules = NULL;
	x->n_rules = 0;
	free(x->hits);
	x->hits = NULL;
	free(x->rate_limited);
	x->rate_limited = NULL;
	for (size_t i = 0; i < x->n_peers; i++)
		free_peer(&x->peers[i]);
	free(x->peers);
	x->peers = NULL;
	x->n_peers = 0;
	free(x->xdp_pairs);
	x->xdp_pairs = NULL;
	x->n_xdp_pairs = 0;
	free(x->endpoints);
	x->endpoints = NULL;
	x->n_endpoints = 0;
}

void tp_export_free(struct tp_export *x)
{
	if (!x)
		return;
	clear_state(x);
	free(x->counters);
	free(x);
}

struct tp_export *tp_export_new(const char *tp_name, const uint8_t pubkey[TP_KEY_LEN],
				const char *software_version, const char *failure_mode, int64_t now)
{
	struct tp_export *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->kind = TP_EXPORT_EFFECTIVE;
	x->exported_at = now;
	snprintf(x->tp_name, sizeof(x->tp_name), "%s", tp_name);
	if (pubkey)
		memcpy(x->tp_pubkey, pubkey, TP_KEY_LEN);
	snprintf(x->software_version, sizeof(x->software_version), "%s",
		 software_version ? software_version : "");
	snprintf(x->failure_mode, sizeof(x->failure_mode), "%s", failure_mode ? failure_mode : "");
	return x;
}

void tp_export_bundle_hash(const uint8_t *bundle, size_t len, uint8_t out[TP_EXPORT_HASH_LEN])
{
	crypto_generichash(out, TP_EXPORT_HASH_LEN, bundle, len, NULL, 0);
}

bool tp_export_rule_local(const struct tp_site *s, const struct tp_rule *r, uint32_t tp)
{
	return (r->from_zone < s->n_zones && s->zones[r->from_zone].tp == tp) ||
	       (r->to_zone < s->n_zones && s->zones[r->to_zone].tp == tp);
}

static int cmp_pair(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Built from the conduits, not from a zone x zone table: linear in the
 * policy whatever the number of zones. */
int tp_export_xdp_intent(const struct tp_site *s, uint32_t tp, uint32_t (**out)[2])
{
	uint32_t(*pairs)[2] = calloc(2 * s->n_rules + 1, sizeof(*pairs));
	size_t n = 0, u = 0;

	*out = NULL;
	if (!pairs)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];

		if (r->action != TP_ACTION_ALLOW || r->from_zone >= s->n_zones ||
		    r->to_zone >= s->n_zones || r->from_zone == r->to_zone)
			continue;
		if (s->zones[r->from_zone].tp == tp) {
			pairs[n][0] = r->from_zone;
			pairs[n++][1] = r->to_zone;
		}
		/* replies of a flow opened from the other side; a stateless
		 * conduit has none (DESIGN.md §7.4), as the dataplane fills
		 * it (dataplane/xdp/xdp_site.c) */
		if (s->zones[r->to_zone].tp == tp && r->stateful) {
			pairs[n][0] = r->to_zone;
			pairs[n++][1] = r->from_zone;
		}
	}
	qsort(pairs, n, sizeof(*pairs), cmp_pair);
	for (size_t i = 0; i < n; i++)
		if (!u || cmp_pair(pairs[u - 1], pairs[i]))
			memcpy(pairs[u++], pairs[i], sizeof(pairs[i]));
	if (u > INT32_MAX) {
		free(pairs);
		return -E2BIG;
	}
	*out = pairs;
	return (int)u;
}

/* Peers of TP tp: every other TP hosting at least one zone. */
static int intent_peers(struct tp_export *x, const struct tp_site *s, uint32_t tp, bool intent)
{
	x->peers = calloc(s->n_tps + 1, sizeof(*x->peers));
	if (!x->peers)
		return -ENOMEM;
	for (uint32_t t = 0; t < s->n_tps; t++) {
		struct tp_export_peer *p = &x->peers[x->n_peers];
		size_t nz = 0;

		if (t == tp)
			continue;
		for (size_t z = 0; z < s->n_zones; z++)
			nz += s->zones[z].tp == t;
		if (!nz)
			continue;
		x->n_peers++;
		snprintf(p->name, sizeof(p->name), "%s", s->tps[t].name);
		memcpy(p->pubkey, s->tps[t].pubkey, TP_KEY_LEN);
		snprintf(p->handshake, sizeof(p->handshake), "%s", intent ? "intent" : "none");
		p->zones = calloc(nz, sizeof(*p->zones));
		if (s->tps[t].n_endpoints)
			p->endpoints = calloc(s->tps[t].n_endpoints, sizeof(*p->endpoints));
		if (!p->zones || (s->tps[t].n_endpoints && !p->endpoints))
			return -ENOMEM;
		if (s->tps[t].n_endpoints)
			memcpy(p->endpoints, s->tps[t].endpoints,
			       s->tps[t].n_endpoints * sizeof(*p->endpoints));
		p->n_endpoints = s->tps[t].n_endpoints;
		for (size_t z = 0; z < s->n_zones; z++)
			if (s->zones[z].tp == t)
				snprintf(p->zones[p->n_zones++], TP_NAME_MAX, "%s",
					 s->zones[z].name);
	}
	return 0;
}

static int fill_policy(struct tp_export *x, const struct tp_site *site, uint32_t tp,
		       const struct tp_bundle_info *info, const uint8_t *bundle, size_t bundle_len)
{
	const struct tp_rule **sel = NULL;
	uint32_t(*pairs)[2] = NULL;
	size_t n = 0;
	int rc = -ENOMEM, np;

	if (tp >= site->n_tps || !site->tps)
		return -EINVAL;
	clear_state(x);
	x->site = tp_site_clone(site);
	if (!x->site)
		goto out;
	free(x->site->source_file); /* where it was read is not part of the policy */
	x->site->source_file = NULL;
	memcpy(x->tp_pubkey, site->tps[tp].pubkey, TP_KEY_LEN);
	x->policy_version = info ? info->version : 0;
	x->issued_at = info ? info->issued_at : 0;
	x->expires_at = info ? info->expires_at : 0;
	x->has_bundle_hash = bundle != NULL;
	if (bundle)
		tp_export_bundle_hash(bundle, bundle_len, x->bundle_hash);

	x->local_zones = calloc(site->n_zones + 1, sizeof(*x->local_zones));
	sel = calloc(site->n_rules + 1, sizeof(const struct tp_rule *));
	if (!x->local_zones || !sel)
		goto out;
	for (size_t z = 0; z < site->n_zones; z++)
		if (site->zones[z].tp == tp)
			snprintf(x->local_zones[x->n_local_zones++], TP_NAME_MAX, "%s",
				 site->zones[z].name);
	for (size_t i = 0; i < site->n_rules; i++)
		if (tp_export_rule_local(site, &site->rules[i], tp))
			sel[n++] = &site->rules[i];
	x->rules = copy_rules(sel, n);
	x->hits = calloc(n + 1, sizeof(*x->hits));
	x->rate_limited = calloc(n + 1, sizeof(*x->rate_limited));
	if ((n && !x->rules) || !x->hits || !x->rate_limited)
		goto out;
	x->n_rules = n;
	if ((rc = intent_peers(x, site, tp, x->kind == TP_EXPORT_INTENT)) < 0 ||
	    (rc = tp_export_set_endpoints(x, site->tps[tp].endpoints, site->tps[tp].n_endpoints)) <
		    0)
		goto out;
	np = tp_export_xdp_intent(site, tp, &pairs);
	if (np < 0) {
		rc = np;
		goto out;
	}
	x->xdp_pairs = (void *)pairs;
	x->n_xdp_pairs = (size_t)np;
	rc = 0;
out:
	free(sel);
	return rc;
}

int tp_export_set_policy(struct tp_export *x, const struct tp_site *site,
			 const struct tp_bundle_info *info, const uint8_t *bundle,
			 size_t bundle_len)
{
	uint32_t tp = tp_site_tp_by_name(site, x->tp_name);

	if (tp == UINT32_MAX)
		return -ENOENT;
	return fill_policy(x, site, tp, info, bundle, bundle_len);
}

struct tp_export *tp_export_intent(const struct tp_site *site, uint32_t tp,
				   const struct tp_bundle_info *info, const uint8_t *bundle,
				   size_t bundle_len, int64_t now)
{
	struct tp_export *x;

	if (tp >= site->n_tps)
		return NULL;
	x = tp_export_new(site->tps[tp].name, site->tps[tp].pubkey, "", "", now);
	if (!x)
		return NULL;
	x->kind = TP_EXPORT_INTENT;
	if (fill_policy(x, site, tp, info, bundle, bundle_len) < 0) {
		tp_export_free(x);
		return NULL;
	}
	/* The XDP program's pairs follow from the policy alone. */
	x->has_xdp = true;
	return x;
}

int tp_export_set_endpoints(struct tp_export *x, const struct tp_endpoint *e, size_t n)
{
	struct tp_endpoint *v = calloc(n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (n)
		memcpy(v, e, n * sizeof(*v));
	free(x->endpoints);
	x->endpoints = v;
	x->n_endpoints = n;
	return 0;
}

int tp_export_add_peer(struct tp_export *x, const struct tp_export_peer *p)
{
	struct tp_export_peer c = *p;
	size_t at = x->n_peers; /* the peer's index; n_peers: a new one */

	for (size_t i = 0; i < x->n_peers; i++)
		if (!strcmp(x->peers[i].name, p->name))
			at = i;
	c.endpoints = NULL;
	c.zones = NULL;
	if (p->n_endpoints) {
		c.endpoints = calloc(p->n_endpoints, sizeof(*c.endpoints));
		if (!c.endpoints)
			goto fail;
		memcpy(c.endpoints, p->endpoints, p->n_endpoints * sizeof(*c.endpoints));
	}
	if (p->n_zones) {
		c.zones = calloc(p->n_zones, sizeof(*c.zones));
		if (!c.zones)
			goto fail;
		memcpy(c.zones, p->zones, p->n_zones * sizeof(*c.zones));
	}
	if (at == x->n_peers) {
		struct tp_export_peer *np = realloc(x->peers, (x->n_peers + 1) * sizeof(*np));

		if (!np)
			goto fail;
		x->peers = np;
		x->n_peers++;
	} else {
		free_peer(&x->peers[at]);
	}
	x->peers[at] = c;
	return 0;
fail:
	free_peer(&c);
	return -ENOMEM;
}

/* dst[i] = vals[k] for the rule i whose id is ids[k]; -ENOENT if an id is
 * not in the export (the others are still set). */
static int set_per_rule(const struct tp_export *x, uint64_t *dst, const uint32_t *ids,
			const uint64_t *vals, size_t n)
{
	int rc = 0;

	for (size_t k = 0; k < n; k++) {
		size_t i;

		for (i = 0; i < x->n_rules; i++)
			if (x->rules[i].id == ids[k])
				break;
		if (i == x->n_rules)
			rc = -ENOENT;
		else
			dst[i] = vals[k];
	}
	return rc;
}

int tp_export_set_counters(struct tp_export *x, const uint32_t *ids, const uint64_t *hits, size_t n)
{
	x->has_hits = true;
	return set_per_rule(x, x->hits, ids, hits, n);
}

int tp_export_set_rate_limited(struct tp_export *x, const uint32_t *ids, const uint64_t *n,
			       size_t count)
{
	return set_per_rule(x, x->rate_limited, ids, n, count);
}

void tp_export_set_flows(struct tp_export *x, uint64_t active, uint64_t capacity)
{
	x->has_flows = true;
	x->flows_active = active;
	x->flows_capacity = capacity;
}

int tp_export_set_xdp(struct tp_export *x, const uint32_t (*pairs)[2], size_t n)
{
	void *p = calloc(n + 1, sizeof(*x->xdp_pairs));

	if (!p)
		return -ENOMEM;
	free(x->xdp_pairs);
	x->xdp_pairs = p;
	for (size_t i = 0; i < n; i++) {
		x->xdp_pairs[i].from = pairs[i][0];
		x->xdp_pairs[i].to = pairs[i][1];
	}
	x->n_xdp_pairs = n;
	x->has_xdp = true;
	return 0;
}

int tp_export_add_counter(struct tp_export *x, const char *name, uint64_t value)
{
	struct tp_export_counter *c = realloc(x->counters, (x->n_counters + 1) * sizeof(*c));

	if (!c)
		return -ENOMEM;
	x->counters = c;
	snprintf(c[x->n_counters].name, TP_NAME_MAX, "%s", name);
	c[x->n_counters++].value = value;
	return 0;
}

struct tp_site *tp_export_effective_site(const struct tp_export *x)
{
	struct tp_site *c;
	const struct tp_rule **sel;
	struct tp_rule *rules;

	if (!x->site)
		return NULL;
	c = tp_site_clone(x->site);
	sel = calloc(x->n_rules + 1, sizeof(const struct tp_rule *));
	if (!c || !sel)
		goto fail;
	for (size_t i = 0; i < x->n_rules; i++)
		sel[i] = &x->rules[i];
	rules = copy_rules(sel, x->n_rules);
	if (x->n_rules && !rules)
		goto fail;
	free_rules(c->rules, c->n_rules);
	c->rules = rules;
	c->n_rules = x->n_rules;
	free(sel);
	return c;
fail:
	free(sel);
	tp_site_free(c);
	return NULL;
}

const char *tp_export_kind_name(enum tp_export_kind k)
{
	return k == TP_EXPORT_INTENT ? "intent" : "effective";
}
