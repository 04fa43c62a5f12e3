// SPDX-License-Identifier: MIT
/*
 * Checks on the state of the TPs: (1) integrity, (2) drift, (7) tunnel
 * ends, (9) encryption of every inter-zone path, (10) conduit lifecycle.
 */
#include <stdlib.h>
#include <string.h>

#include "tp/base/keys.h"
#include "tp/policy/timefmt.h"
#include "verify_int.h"

static bool hosts_zones(const struct tp_site *s, uint32_t tp)
{
	for (size_t z = 0; z < s->n_zones; z++)
		if (s->zones[z].tp == tp)
			return true;
	return false;
}

static bool same_site(const struct tp_site *a, const struct tp_site *b)
{
	json_t *ja = tp_export_site_json(a), *jb = tp_export_site_json(b);
	bool eq = ja && jb && json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return eq;
}

static void short_hash(const uint8_t *h, char out[17])
{
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 * (size_t)i, "%02x", h[i]);
}

void tp_verify_check_integrity(struct vctx *c)
{
	const struct tp_verify_input *in = c->in;
	const enum tp_verify_check K = TP_VERIFY_INTEGRITY;
	const struct tp_export *newest = NULL;
	uint8_t bh[TP_EXPORT_HASH_LEN];
	char hs[17], hs2[17];

	for (size_t i = 0; i < in->n_load_errors; i++)
		tp_verify_add(c, K, true, NULL, NULL, NULL, NULL, 0, NULL, "unreadable export: %s",
			      in->load_errors[i]);
	if (in->bundle_error)
		tp_verify_add(c, K, true, NULL, NULL, NULL, NULL, 0, NULL, "bundle refused: %s",
			      in->bundle_error);
	if (in->bundle)
		tp_export_bundle_hash(in->bundle, in->bundle_len, bh);
	if (in->site && in->bundle_site && !same_site(in->site, in->bundle_site))
		tp_verify_add(c, K, true, NULL, NULL, NULL, NULL, 0, NULL,
			      "the signed bundle (version %llu) does not hold the reference policy",
			      (unsigned long long)in->bundle_info->version);
	for (size_t i = 0; i < in->n_exports; i++) {
		const struct tp_export *x = in->exports[i];

		for (size_t j = 0; j < i; j++)
			if (!strcmp(in->exports[j]->tp_name, x->tp_name))
				tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					      "two exports claim TP '%s'", x->tp_name);
		if (tp_site_tp_by_name(c->ref, x->tp_name) == UINT32_MAX) {
			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "'%s' is not a transition point of the reference policy",
				      x->tp_name);
			continue;
		}
		if (!x->site) {
			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "runs no policy (inter-zone traffic is dropped)");
			continue;
		}
		if (!newest || x->policy_version > newest->policy_version)
			newest = x;
		if (x->expires_at && x->expires_at <= in->now) {
			char t[32];

			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "runs policy version %llu that expired at %s",
				      (unsigned long long)x->policy_version,
				      tp_time_format(x->expires_at, t, sizeof(t)));
		}
		if (in->bundle && in->bundle_site) {
			if (!x->has_bundle_hash || memcmp(x->bundle_hash, bh, sizeof(bh)) != 0) {
				short_hash(bh, hs);
				if (x->has_bundle_hash)
					short_hash(x->bundle_hash, hs2);
				tp_verify_add(
					c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					"runs bundle %s (version %llu), not the given bundle %s "
					"(version %llu)",
					x->has_bundle_hash ? hs2 : "none",
					(unsigned long long)x->policy_version, hs,
					(unsigned long long)in->bundle_info->version);
			} else if (!same_site(x->site, in->bundle_site)) {
				tp_verify_add(
					c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					"reports the bundle's hash but a different policy than the "
					"signed bundle holds");
			}
		}
	}
	/* every TP on one version, one bundle, one policy */
	for (size_t i = 0; newest && i < in->n_exports; i++) {
		const struct tp_export *x = in->exports[i];

		if (!x->site || tp_site_tp_by_name(c->ref, x->tp_name) == UINT32_MAX)
			continue;
		if (x->policy_version != newest->policy_version)
			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "runs policy version %llu while %s runs version %llu",
				      (unsigned long long)x->policy_version, newest->tp_name,
				      (unsigned long long)newest->policy_version);
		else if (x->has_bundle_hash != newest->has_bundle_hash ||
			 memcmp(x->bundle_hash, newest->bundle_hash, TP_EXPORT_HASH_LEN) != 0)
			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "runs another bundle than %s with the same version %llu",
				      newest->tp_name, (unsigned long long)x->policy_version);
		else if (x != newest && !same_site(x->site, newest->site))
			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "reports the same bundle as %s but a different policy",
				      newest->tp_name);
	}
	/* exports taken far apart describe different moments of the plant */
	for (size_t i = 0; i < in->n_exports; i++) {
		const struct tp_export *x = in->exports[i];
		int64_t latest = 0;

		for (size_t j = 0; j < in->n_exports; j++)
			if (in->exports[j]->exported_at > latest)
				latest = in->exports[j]->exported_at;
		if (x->exported_at && latest - x->exported_at > TP_VERIFY_EXPORT_SKEW_S)
			tp_verify_add(c, K, false, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "exported %lld s before the newest export: its state may "
				      "have changed",
				      (long long)(latest - x->exported_at));
	}
	for (uint32_t t = 0; t < c->ref->n_tps; t++)
		if (!c->by_tp[t] && hosts_zones(c->ref, t))
			tp_verify_add(c, K, true, c->ref->tps[t].name, NULL, NULL, NULL, 0, NULL,
				      "no export from TP '%s', which hosts zones",
				      c->ref->tps[t].name);
	if (!in->bundle && !in->bundle_error)
		tp_verify_add(c, K, false, NULL, NULL, NULL, NULL, 0, NULL,
			      "bundle signature not checked: no bundle given (bundle.tpb in the "
			      "folder or --bundle, with --pub)");
}

static bool name_in(char (*v)[TP_NAME_MAX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

static bool same_names(char (*a)[TP_NAME_MAX], size_t na, char (*b)[TP_NAME_MAX], size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!name_in(b, nb, a[i]))
			return false;
	return true;
}

static bool same_endpoints(const struct tp_endpoint *a, size_t na, const struct tp_endpoint *b,
			   size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (!memcmp(&a[i], &b[j], sizeof(*a)))
				break;
		if (j == nb)
			return false;
	}
	return true;
}

static const struct tp_rule *rule_in(const struct tp_rule *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* The first top-level key of two conduits' JSON that differs. */
static const char *rule_diff_key(const struct tp_site *sa, const struct tp_rule *a,
				 const struct tp_site *sb, const struct tp_rule *b, char *buf,
				 size_t len)
{
	json_t *ja = tp_export_rule_json(sa, a), *jb = tp_export_rule_json(sb, b);
	const char *k, *found = NULL;
	json_t *v;

	json_object_foreach(ja, k, v)
	{
		if (!json_equal(v, json_object_get(jb, k))) {
			found = k;
			break;
		}
	}
	if (!found)
		json_object_foreach(jb, k, v) if (!json_object_get(ja, k))
		{
			found = k;
			break;
		}
	snprintf(buf, len, "%s", found ? found : "");
	json_decref(ja);
	json_decref(jb);
	return found ? buf : NULL;
}

static void drift_one(struct vctx *c, const struct tp_export *e, const struct tp_export *i)
{
	const enum tp_verify_check K = TP_VERIFY_DRIFT;
	const char *tp = e->tp_name;
	char key[64];

	if (!same_names(e->local_zones, e->n_local_zones, i->local_zones, i->n_local_zones))
		tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL,
			      "hosts other zones than the intent says");
	if (e->n_endpoints &&
	    !same_endpoints(e->endpoints, e->n_endpoints, i->endpoints, i->n_endpoints))
		tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL,
			      "listens on other endpoints than the policy gives it");
	for (size_t k = 0; k < i->n_rules; k++) {
		const struct tp_rule *want = &i->rules[k];
		const struct tp_rule *got = rule_in(e->rules, e->n_rules, want->id);
		struct tp_flow f;
		bool has = tp_verify_witness(c->ref, want, NULL, &f);

		if (!got)
			tp_verify_add(c, K, true, tp, tp_verify_zone(c->ref, want->from_zone),
				      tp_verify_zone(c->ref, want->to_zone), &want->id, 1,
				      has ? &f : NULL,
				      "conduit %u '%s' of the intent is not enforced", want->id,
				      want->name);
		else if (rule_diff_key(c->ref, want, e->site, got, key, sizeof(key)))
			tp_verify_add(c, K, true, tp, tp_verify_zone(c->ref, want->from_zone),
				      tp_verify_zone(c->ref, want->to_zone), &want->id, 1,
				      has ? &f : NULL,
				      "conduit %u '%s' differs from the intent in '%s'", want->id,
				      want->name, key);
	}
	for (size_t k = 0; k < e->n_rules; k++) {
		const struct tp_rule *got = &e->rules[k];
		struct tp_flow f;
		bool has;

		if (rule_in(i->rules, i->n_rules, got->id))
			continue;
		has = tp_verify_witness(e->site, got, NULL, &f);
		tp_verify_add(c, K, true, tp, tp_verify_zone(e->site, got->from_zone),
			      tp_verify_zone(e->site, got->to_zone), &got->id, 1, has ? &f : NULL,
			      "enforces conduit %u '%s' that the intent lacks", got->id, got->name);
	}
	for (size_t k = 0; k < i->n_peers; k++) {
		const struct tp_export_peer *want = &i->peers[k];
		const struct tp_export_peer *got = NULL;

		for (size_t j = 0; j < e->n_peers; j++)
			if (!strcmp(e->peers[j].name, want->name))
				got = &e->peers[j];
		if (!got)
			tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL, "has no peer '%s'",
				      want->name);
		else if (memcmp(got->pubkey, want->pubkey, TP_KEY_LEN) != 0)
			tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL,
				      "peer '%s' has another public key than the intent",
				      want->name);
		else if (!same_endpoints(got->endpoints, got->n_endpoints, want->endpoints,
					 want->n_endpoints))
			tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL,
				      "peer '%s' has other endpoints than the intent", want->name);
		else if (!same_names(got->zones, got->n_zones, want->zones, want->n_zones))
			tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL,
				      "peer '%s' routes other zones than the intent", want->name);
	}
	for (size_t j = 0; j < e->n_peers; j++) {
		bool known = false;

		for (size_t k = 0; k < i->n_peers; k++)
			known |= !strcmp(e->peers[j].name, i->peers[k].name);
		if (!known)
			tp_verify_add(c, K, true, tp, NULL, NULL, NULL, 0, NULL,
				      "has peer '%s' that the intent lacks", e->peers[j].name);
	}
	if (!e->has_xdp) {
		if (e->kind == TP_EXPORT_EFFECTIVE)
			tp_verify_add(
				c, K, false, tp, NULL, NULL, NULL, 0, NULL,
				"no XDP zone tables exported (not in XDP mode, or not wired)");
		return;
	}
	for (size_t k = 0; k < i->n_xdp_pairs; k++) {
		const char *a = tp_verify_zone(c->ref, i->xdp_pairs[k].from);
		const char *b = tp_verify_zone(c->ref, i->xdp_pairs[k].to);
		bool found = false;

		for (size_t j = 0; j < e->n_xdp_pairs && !found; j++)
			found = !strcmp(tp_verify_zone(e->site, e->xdp_pairs[j].from), a) &&
				!strcmp(tp_verify_zone(e->site, e->xdp_pairs[j].to), b);
		if (!found)
			tp_verify_add(c, K, true, tp, a, b, NULL, 0, NULL,
				      "XDP drops zone pair %s -> %s, which the policy allows", a,
				      b);
	}
	for (size_t j = 0; j < e->n_xdp_pairs; j++) {
		const char *a = tp_verify_zone(e->site, e->xdp_pairs[j].from);
		const char *b = tp_verify_zone(e->site, e->xdp_pairs[j].to);
		bool found = false;

		for (size_t k = 0; k < i->n_xdp_pairs && !found; k++)
			found = !strcmp(tp_verify_zone(c->ref, i->xdp_pairs[k].from), a) &&
				!strcmp(tp_verify_zone(c->ref, i->xdp_pairs[k].to), b);
		if (!found)
			tp_verify_add(c, K, true, tp, a, b, NULL, 0, NULL,
				      "XDP passes zone pair %s -> %s, which no conduit allows", a,
				      b);
	}
}

void tp_verify_check_drift(struct vctx *c)
{
	for (uint32_t t = 0; t < c->ref->n_tps; t++) {
		const struct tp_export *e = c->by_tp[t];
		struct tp_export *i;

		if (!e || !e->site)
			continue;
		i = tp_export_intent(c->ref, t, NULL, NULL, 0, c->in->now);
		if (!i) {
			c->oom = true;
			return;
		}
		if (!same_site(e->site, c->ref))
			tp_verify_add(c, TP_VERIFY_DRIFT, true, e->tp_name, NULL, NULL, NULL, 0,
				      NULL, "runs another policy than the reference (%s)",
				      c->rep->site_from);
		drift_one(c, e, i);
		tp_export_free(i);
	}
}

static const struct tp_export_peer *peer_of(const struct tp_export *x, const char *name)
{
	for (size_t i = 0; x && i < x->n_peers; i++)
		if (!strcmp(x->peers[i].name, name))
			return &x->peers[i];
	return NULL;
}

void tp_verify_check_tunnels(struct vctx *c)
{
	const enum tp_verify_check K = TP_VERIFY_TUNNELS;

	for (uint32_t t = 0; t < c->ref->n_tps; t++) {
		const struct tp_export *x = c->by_tp[t];
		uint32_t ref_t;

		if (!x)
			continue;
		if (memcmp(x->tp_pubkey, c->ref->tps[t].pubkey, TP_KEY_LEN) != 0)
			tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
				      "its own public key is not the one the policy gives it");
		for (size_t k = 0; k < x->n_peers; k++) {
			const struct tp_export_peer *p = &x->peers[k];
			const struct tp_export *y;
			const struct tp_export_peer *back;

			ref_t = tp_site_tp_by_name(c->ref, p->name);
			if (ref_t == UINT32_MAX) {
				tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					      "has a tunnel to '%s', which is no TP of the policy",
					      p->name);
				continue;
			}
			y = c->by_tp[ref_t];
			if (!y)
				continue; /* missing export: check 1 */
			if (memcmp(p->pubkey, y->tp_pubkey, TP_KEY_LEN) != 0)
				tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					      "its key for peer '%s' is not the key '%s' exports",
					      p->name, p->name);
			/* where the peer says it listens (its export's endpoints;
			 * empty when it does not know) */
			if (y->n_endpoints) {
				if (!same_endpoints(p->endpoints, p->n_endpoints, y->endpoints,
						    y->n_endpoints))
					tp_verify_add(
						c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
						"its endpoints for peer '%s' are not those '%s' "
						"listens on",
						p->name, p->name);
			}
			if (!same_names(p->zones, p->n_zones, y->local_zones, y->n_local_zones))
				tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					      "routes other zones to peer '%s' than '%s' hosts",
					      p->name, p->name);
			back = peer_of(y, x->tp_name);
			if (!back && hosts_zones(c->ref, t))
				tp_verify_add(c, K, true, x->tp_name, NULL, NULL, NULL, 0, NULL,
					      "peer '%s' has no tunnel back to '%s'", p->name,
					      x->tp_name);
			if (x->kind == TP_EXPORT_EFFECTIVE &&
			    strcmp(p->handshake, "established") != 0)
				tp_verify_add(c, K, false, x->tp_name, NULL, NULL, NULL, 0, NULL,
					      "tunnel to '%s' is %s", p->name, p->handshake);
		}
	}
}

static bool all_zero(const uint8_t *k, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= k[i];
	return acc == 0;
}

void tp_verify_check_encryption(struct vctx *c)
{
	const enum tp_verify_check K = TP_VERIFY_ENCRYPTION;
	const struct tp_site *s = c->ref;

	/* every zone pair on different TPs that anything allows (intent or
	 * effective, from the matrix, where the cells of one pair are
	 * consecutive) must have a keyed tunnel both ways */
	for (size_t i = 0; i < c->rep->n_matrix; i++) {
		const struct tp_verify_cell *m = &c->rep->matrix[i];
		uint32_t a = tp_site_zone_by_name(s, m->from), b = tp_site_zone_by_name(s, m->to);
		uint32_t x, y;
		const struct tp_export_peer *px, *py;
		const char *why = NULL;
		char wbuf[160];

		if (a == TP_ZONE_NONE || b == TP_ZONE_NONE ||
		    (i && !strcmp(m->from, m[-1].from) && !strcmp(m->to, m[-1].to)))
			continue;
		x = s->zones[a].tp;
		y = s->zones[b].tp;
		if (x == y)
			continue; /* stays inside one TP */
		px = peer_of(c->by_tp[x], s->tps[y].name);
		py = peer_of(c->by_tp[y], s->tps[x].name);
		if (all_zero(s->tps[y].pubkey, TP_KEY_LEN))
			why = "the receiving TP has no public key in the policy";
		else if (!s->tps[y].n_endpoints)
			why = "the receiving TP has no endpoint in the policy";
		else if (c->by_tp[x] && !px)
			why = "the sending TP has no tunnel to the receiving TP";
		else if (px && !name_in(px->zones, px->n_zones, m->to))
			why = "the sending TP does not route the destination zone into the tunnel";
		else if (px && (all_zero(px->pubkey, TP_KEY_LEN) || !px->n_endpoints))
			why = "the sending TP's tunnel has no key or no endpoint";
		else if (c->by_tp[y] && !py)
			why = "the receiving TP has no tunnel back for replies";
		else if (py && !name_in(py->zones, py->n_zones, m->from))
			why = "the receiving TP does not accept the source zone from that tunnel";
		if (!why)
			continue;
		snprintf(wbuf, sizeof(wbuf), "%s", why);
		tp_verify_add(c, K, true, s->tps[x].name, m->from, m->to, &m->rule, 1, NULL,
			      "%s -> %s (%s) is allowed but %s", m->from, m->to, m->service, wbuf);
	}
}

void tp_verify_check_lifecycle(struct vctx *c)
{
	const enum tp_verify_check K = TP_VERIFY_LIFECYCLE;
	const struct tp_site *s = c->ref;
	int64_t now = c->in->now;
	char t1[32], t2[32];

	for (size_t i = 0; i < s->n_rules; i++) {
		const struct tp_rule *r = &s->rules[i];
		const char *a = tp_verify_zone(s, r->from_zone), *b = tp_verify_zone(s, r->to_zone);
		uint64_t hits = 0;
		bool counted = false;

		if (r->not_after && r->not_after <= now)
			tp_verify_add(c, K, true, NULL, a, b, &r->id, 1, NULL,
				      "conduit %u '%s' expired at %s but is still in the policy",
				      r->id, r->name, tp_time_format(r->not_after, t1, sizeof(t1)));
		else if (r->not_after && (!r->not_before || r->not_before <= now))
			tp_verify_add(c, K, false, NULL, a, b, &r->id, 1, NULL,
				      "temporary conduit %u '%s' is open until %s", r->id, r->name,
				      tp_time_format(r->not_after, t1, sizeof(t1)));
		else if (r->not_before > now)
			tp_verify_add(c, K, false, NULL, a, b, &r->id, 1, NULL,
				      "conduit %u '%s' opens at %s%s%s", r->id, r->name,
				      tp_time_format(r->not_before, t1, sizeof(t1)),
				      r->not_after ? " until " : "",
				      r->not_after ? tp_time_format(r->not_after, t2, sizeof(t2))
						   : "");
		for (uint32_t t = 0; t < s->n_tps; t++) {
			const struct tp_export *x = c->by_tp[t];

			if (!x || !x->has_hits)
				continue;
			for (size_t k = 0; k < x->n_rules; k++) {
				if (x->rules[k].id != r->id)
					continue;
				counted = true;
				hits += x->hits[k];
				if (r->action == TP_ACTION_DENY && x->hits[k])
					tp_verify_add(
						c, K, false, x->tp_name, a, b, &r->id, 1, NULL,
						"deny conduit %u '%s' dropped %llu packets", r->id,
						r->name, (unsigned long long)x->hits[k]);
			}
		}
		if (counted && !hits && r->action == TP_ACTION_ALLOW)
			tp_verify_add(c, K, false, NULL, a, b, &r->id, 1, NULL,
				      "conduit %u '%s' never matched", r->id, r->name);
	}
	for (uint32_t t = 0; t < s->n_tps; t++) {
		const struct tp_export *x = c->by_tp[t];

		for (size_t k = 0; x && k < x->n_rules; k++) {
			const struct tp_rule *r = &x->rules[k];

			if (r->not_after && r->not_after <= now &&
			    !rule_in(s->rules, s->n_rules, r->id))
				tp_verify_add(c, K, true, x->tp_name,
					      tp_verify_zone(x->site, r->from_zone),
					      tp_verify_zone(x->site, r->to_zone), &r->id, 1, NULL,
					      "still enforces conduit %u '%s', expired at %s",
					      r->id, r->name,
					      tp_time_format(r->not_after, t1, sizeof(t1)));
		}
	}
}
