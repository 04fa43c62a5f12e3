// SPDX-License-Identifier: MIT
/*
 * The forwarding plane's part of the verification export (tp/policy/export.h):
 * what it enforces right now, read from the live objects, never from the
 * policy it was given — peers as the tunnel holds them, the zone pairs the
 * kernel's XDP map holds, the flow tables' fill, the rule hit counters and
 * the endpoints it receives tunnel traffic on. Control thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "fwd_int.h"
#include "tp/policy/export.h"

static void to_endpoint(const struct tp_tunnel_endpoint *te, struct tp_endpoint *e)
{
	/* zeroed: endpoints are compared as bytes */
	memset(e, 0, sizeof(*e));
	e->addr.family = te->family == AF_INET6 ? TP_AF_INET6 : TP_AF_INET;
	e->addr.len = te->family == AF_INET6 ? 128 : 32;
	memcpy(e->addr.addr, te->addr, te->family == AF_INET6 ? 16 : 4);
	e->port = te->port;
}

/* "established": a session key is current; "initiating": handshakes sent,
 * none complete yet; "expired": there was a session, its keys are gone. */
static const char *handshake_state(const struct tp_tunnel_peer_stats *st)
{
	if (st->has_current_key)
		return "established";
	if (st->last_handshake_ns)
		return "expired";
	return st->handshake_initiations_sent ? "initiating" : "none";
}

static int export_peers(struct tp_fwd *f, const struct fwd_topo *t, struct tp_export *x)
{
	const struct tp_site *s = t->site;
	uint64_t mono = tp_clock_now(&f->p.clock);
	int64_t wall = fwd_wall_s(f);

	/* the peers of this policy's topology; a peer of an older policy that
	 * the tunnel still holds routes nothing and is not reported */
	for (uint32_t tp = 0; tp < t->n_tps; tp++) {
		struct tp_export_peer ep = {0};
		struct tp_tunnel_peer_stats st;
		struct tp_tunnel_endpoint te;
		struct tp_endpoint e;
		char(*zones)[TP_NAME_MAX];
		struct fwd_peer *p;
		int rc;

		if (tp == t->self_tp || t->peer_of_tp[tp] == UINT32_MAX)
			continue;
		p = &f->pub.peers[t->peer_of_tp[tp]];
		zones = calloc(s->n_zones + 1, sizeof(*zones));
		if (!zones)
			return -ENOMEM;
		for (size_t z = 0; z < s->n_zones; z++)
			if (s->zones[z].tp == tp)
				snprintf(zones[ep.n_zones++], TP_NAME_MAX, "%s", s->zones[z].name);
		if (!ep.n_zones) { /* routes nothing: not a peer (as in the intent) */
			free(zones);
			continue;
		}
		snprintf(ep.name, sizeof(ep.name), "%s", s->tps[tp].name);
		memcpy(ep.pubkey, p->pubkey, TP_KEY_LEN);
		ep.zones = zones;
		if (tp_tunnel_peer_endpoint(p->tun, &te)) {
			to_endpoint(&te, &e);
			ep.endpoints = &e;
			ep.n_endpoints = 1;
		}
		tp_tunnel_peer_stats(p->tun, &st);
		snprintf(ep.handshake, sizeof(ep.handshake), "%s", handshake_state(&st));
		if (st.last_handshake_ns)
			ep.last_handshake =
				wall - (int64_t)((mono - st.last_handshake_ns) / 1000000000u);
		rc = tp_export_add_peer(x, &ep);
		free(zones);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool on_transit(const struct tp_fwd *f, const struct tp_endpoint *e)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (e->port != f->cfg->listen_port)
		return false;
	if (!f->cfg->transit_if[0]) /* memory mode: the configured address */
		return e->addr.family == TP_AF_INET && f->has4 &&
		       memcmp(e->addr.addr, f->addr4, 4) == 0;
	if (getifaddrs(&ifa) != 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, f->cfg->transit_if) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && e->addr.family == TP_AF_INET)
			found = !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
					e->addr.addr, 4);
		else if (i->ifa_addr->sa_family == AF_INET6 && e->addr.family == TP_AF_INET6)
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
					e->addr.addr, 16);
	}
	freeifaddrs(ifa);
	return found;
}

/*
 * Endpoints: those the policy gives this TP that it really serves (the
 * address is on the transit port and the port is listen_port). With none
 * of them served, the transit port's own addresses, so the verifier sees
 * the mismatch rather than nothing.
 */
static int export_endpoints(struct tp_fwd *f, const struct fwd_topo *t, struct tp_export *x)
{
	const struct tp_tpoint *self = &t->site->tps[t->self_tp];
	struct tp_endpoint *e = calloc(self->n_endpoints + 2, sizeof(*e));
	size_t n = 0;
	int rc;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < self->n_endpoints; i++)
		if (on_transit(f, &self->endpoints[i]))
			e[n++] = self->endpoints[i];
	if (!n && f->has4) {
		struct tp_tunnel_endpoint te = {.family = AF_INET, .port = f->cfg->listen_port};

		memcpy(te.addr, f->addr4, 4);
		to_endpoint(&te, &e[n++]);
	}
	if (!n && f->has6) {
		struct tp_tunnel_endpoint te = {.family = AF_INET6, .port = f->cfg->listen_port};

		memcpy(te.addr, f->addr6, 16);
		to_endpoint(&te, &e[n++]);
	}
	rc = tp_export_set_endpoints(x, e, n);
	free(e);
	return rc;
}

static int export_xdp(struct tp_fwd *f, struct tp_export *x)
{
	struct tp_xdp_zone_pair *zp;
	uint32_t(*pairs)[2];
	int n, rc;

	if (!f->ctl.xdp_zone) {
		/* memory or dpdk mode: no zone program, nothing to claim */
		x->has_xdp = false;
		return 0;
	}
	zp = calloc(TP_XDP_MAX_PAIRS_PER_GEN, sizeof(*zp));
	pairs = calloc(TP_XDP_MAX_PAIRS_PER_GEN, sizeof(*pairs));
	if (!zp || !pairs) {
		rc = -ENOMEM;
		goto out;
	}
	n = tp_xdp_pairs_read(f->ctl.xdp_zone, zp, TP_XDP_MAX_PAIRS_PER_GEN);
	if (n < 0) {
		rc = n;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		pairs[i][0] = zp[i].src_zone;
		pairs[i][1] = zp[i].dst_zone;
	}
	rc = tp_export_set_xdp(x, (const uint32_t(*)[2])pairs, (size_t)n);
out:
	free(zp);
	free(pairs);
	return rc;
}

int tp_fwd_export(struct tp_fwd *f, struct tp_export *x)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	const struct fwd_topo *t = e ? fwd_topo_of(f, e) : NULL;
	uint32_t ids[HITS_SLOTS];
	uint64_t hits[HITS_SLOTS], active = 0;
	size_t n;
	int rc;

	for (unsigned i = 0; i < f->n_workers; i++)
		active += f->w[i].flow_count;
	tp_export_set_flows(x, active, (uint64_t)f->cfg->flow_table_size * f->n_workers);
	if (!t || !x->site) /* no policy enforced: no peers, no zone pairs */
		return 0;
	rc = export_peers(f, t, x);
	rc = rc ?: export_endpoints(f, t, x);
	rc = rc ?: export_xdp(f, x);
	if (rc)
		return rc;
	/* one at a time: ids of rules this TP does not enforce (the default
	 * decision, rules of an older policy) are not conduits of the export */
	n = tp_fwd_rule_hits(f, ids, hits, HITS_SLOTS);
	for (size_t i = 0; i < n; i++)
		tp_export_set_counters(x, &ids[i], &hits[i], 1);
	n = tp_fwd_rule_rate_limited(f, ids, hits, HITS_SLOTS);
	for (size_t i = 0; i < n; i++)
		tp_export_set_rate_limited(x, &ids[i], &hits[i], 1);
	x->has_hits = true;
	return 0;
}
