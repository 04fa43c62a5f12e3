// SPDX-License-Identifier: MIT
/*
 * The views tpctl and the admin socket show (tp/dp/fwd.h): peers, zones,
 * flows, rule hits, tunnel counters. Control thread; they read the
 * workers' counters and snapshots, never their flow tables (a flow dump
 * is asked of each worker and answered by it, worker.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fwd_int.h"

static const char *b64(const uint8_t *key, char *buf, size_t len)
{
	return sodium_bin2base64(buf, len, key, TP_TUNNEL_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

json_t *tp_fwd_peers_json(struct tp_fwd *f)
{
	json_t *list = json_array();
	uint64_t now = tp_clock_now(&f->p.clock);

	for (unsigned i = 0; i < f->pub.n_peers; i++) {
		struct fwd_peer *p = &f->pub.peers[i];
		struct tp_tunnel_peer_stats st;
		struct tp_tunnel_endpoint ep;
		char key[64], addr[INET6_ADDRSTRLEN + 8] = "-";
		const char *state;

		/* last_handshake: the engine stamps both roles (a responder's
		 * at the initiator's first packet) */
		tp_tunnel_peer_stats(p->tun, &st);
		if (tp_tunnel_peer_endpoint(p->tun, &ep)) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(ep.family, ep.addr, a, sizeof(a));
			snprintf(addr, sizeof(addr), ep.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
				 ep.port);
		}
		state = st.has_current_key		? "up"
			: st.handshake_initiations_sent ? "handshaking"
							: "idle";
		json_array_append_new(
			list,
			json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "name", p->name,
				  "public_key", b64(p->pubkey, key, sizeof(key)), "endpoint", addr,
				  "state", state, "last_handshake_s_ago",
				  st.last_handshake_ns
					  ? (json_int_t)((now - st.last_handshake_ns) / 1000000000u)
					  : (json_int_t)-1,
				  "handshakes", (json_int_t)st.handshakes_completed, "rx_bytes",
				  (json_int_t)st.rx_bytes, "tx_bytes", (json_int_t)st.tx_bytes,
				  "staged_total", (json_int_t)atomic_load(&p->staged_total)));
	}
	return json_pack("{s:o}", "peers", list);
}

static const struct fwd_topo *current_topo(struct tp_fwd *f)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);

	return e ? fwd_topo_of(f, e) : NULL;
}

json_t *tp_fwd_zones_json(struct tp_fwd *f)
{
	const struct fwd_topo *t = current_topo(f);
	json_t *list = json_array();

	for (size_t z = 0; t && z < t->site->n_zones; z++) {
		const struct tp_zone *zn = &t->site->zones[z];
		json_t *pfx = json_array();
		char buf[64];

		for (size_t i = 0; i < zn->n_prefixes; i++)
			json_array_append_new(pfx,
					      json_string(tp_prefix_format(&zn->prefixes[i], false,
									   buf, sizeof(buf))));
		json_array_append_new(list,
				      json_pack("{s:s, s:I, s:s, s:b, s:o}", "name", zn->name, "id",
						(json_int_t)zn->id, "tp", t->site->tps[zn->tp].name,
						"local", zn->tp == t->self_tp, "prefixes", pfx));
	}
	return json_pack("{s:o}", "zones", list);
}

json_t *tp_fwd_flows_json(struct tp_fwd *f, unsigned max)
{
	json_t *all = json_array();
	size_t count = 0;

	for (unsigned i = 0; i < f->n_workers; i++) {
		struct fwd_worker *w = &f->w[i];
		unsigned req = atomic_load(&w->dump_req) + 1;

		w->dump_max = max;
		json_decref(w->dump);
		w->dump = NULL;
		atomic_store_explicit(&w->dump_req, req, memory_order_release);
		fwd_wake_worker(f, i);
		/* the worker answers within one loop iteration */
		for (int t = 0;
		     t < 500 && atomic_load_explicit(&w->dump_done, memory_order_acquire) != req;
		     t++)
			usleep(1000);
		if (atomic_load_explicit(&w->dump_done, memory_order_acquire) != req)
			continue;
		if (w->dump)
			json_array_extend(all, w->dump);
		count += w->flow_count;
	}
	return json_pack("{s:o, s:I}", "flows", all, "count", (json_int_t)count);
}

/* obj[key] += n (keys of one rule from several workers add up) */
static void add_count(json_t *obj, const char *key, uint64_t n)
{
	json_t *old = json_object_get(obj, key);

	json_object_set_new(obj, key,
			    json_integer((old ? json_integer_value(old) : 0) + (json_int_t)n));
}

json_t *tp_fwd_rules_json(struct tp_fwd *f)
{
	const struct tp_engine *e = tp_engine_current(&f->rcu->slot);
	json_t *rules = json_object(), *limited = json_object(), *profile = json_object();
	json_t *flows = json_object();
	struct tp_flow_counters sum = {0};

	for (unsigned i = 0; i < f->n_workers; i++) {
		const struct fwd_worker *w = &f->w[i];
		struct tp_flow_counters fc;
		unsigned s1, s2;

		for (unsigned k = 0; k < HITS_SLOTS; k++) {
			uint32_t id = __atomic_load_n(&w->hits[k].id, __ATOMIC_ACQUIRE);
			const struct tp_engine_rule_info *ri;
			char key[TP_NAME_MAX + 16];

			if (!id)
				continue;
			ri = e && id != FWD_RULE_DEFAULT ? tp_engine_rule(e, id) : NULL;
			if (id == FWD_RULE_DEFAULT)
				snprintf(key, sizeof(key), "default");
			else
				snprintf(key, sizeof(key), "%u%s%s", id, ri ? ":" : "",
					 ri ? ri->name : "");
			add_count(rules, key, __atomic_load_n(&w->hits[k].n, __ATOMIC_RELAXED));
			if (__atomic_load_n(&w->hits[k].limited, __ATOMIC_RELAXED))
				add_count(limited, key,
					  __atomic_load_n(&w->hits[k].limited, __ATOMIC_RELAXED));
			if (__atomic_load_n(&w->hits[k].profile, __ATOMIC_RELAXED))
				add_count(profile, key,
					  __atomic_load_n(&w->hits[k].profile, __ATOMIC_RELAXED));
		}
		do {
			s1 = atomic_load_explicit(&w->fc_seq, memory_order_acquire);
			fc = w->fc;
			atomic_thread_fence(memory_order_acquire);
			s2 = atomic_load_explicit(&w->fc_seq, memory_order_relaxed);
		} while ((s1 & 1) || s1 != s2);
#define X(name) sum.name += fc.name;
		TP_FLOW_COUNTERS(X)
#undef X
	}
#define X(name) json_object_set_new(flows, #name, json_integer((json_int_t)sum.name));
	TP_FLOW_COUNTERS(X)
#undef X
	return json_pack("{s:o, s:o, s:o, s:o}", "rule_hits", rules, "rule_rate_limited", limited,
			 "flows", flows, "profile_drops", profile);
}

json_t *tp_fwd_tunnel_json(struct tp_fwd *f)
{
	const uint64_t *c = tp_tunnel_counters(f->tun);
	json_t *o = json_object();

	/* every result, zeros too, like drops and stats: a reader can tell a
	 * result that never happened from a name that does not exist (tpctl
	 * hides zeros itself unless --all) */
	for (int r = 0; r < TP_TUNNEL_RES_COUNT; r++)
		json_object_set_new(o, tp_tunnel_res_name((enum tp_tunnel_res)r),
				    json_integer((json_int_t)c[r]));
	return o;
}

/* Sum one counter of the hit slots over workers, by rule id. */
static size_t rule_counts(const struct tp_fwd *f, bool limited, uint32_t *ids, uint64_t *out,
			  size_t max)
{
	size_t n = 0;

	for (unsigned i = 0; i < f->n_workers; i++) {
		for (unsigned k = 0; k < HITS_SLOTS; k++) {
			const struct fwd_hit *h = &f->w[i].hits[k];
			uint32_t id = __atomic_load_n(&h->id, __ATOMIC_ACQUIRE);
			uint64_t v = limited ? __atomic_load_n(&h->limited, __ATOMIC_RELAXED)
					     : __atomic_load_n(&h->n, __ATOMIC_RELAXED);
			size_t j = 0;

			if (!id || (limited && !v))
				continue;
			while (j < n && ids[j] != id)
				j++;
			if (j == n) {
				if (n == max)
					continue;
				ids[n] = id;
				out[n++] = 0;
			}
			out[j] += v;
		}
	}
	return n;
}

size_t tp_fwd_rule_hits(const struct tp_fwd *f, uint32_t *ids, uint64_t *hits, size_t max)
{
	return rule_counts(f, false, ids, hits, max);
}

size_t tp_fwd_rule_rate_limited(const struct tp_fwd *f, uint32_t *ids, uint64_t *n, size_t max)
{
	return rule_counts(f, true, ids, n, max);
}
