// SPDX-License-Identifier: MIT
/*
 * Forwarding context: creation, the workers' hooks, per-worker state and
 * the views tpctl shows (see fwd_int.h for who owns what).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <sodium.h>

#include "fwd_int.h"

const struct fwd_topo *fwd_topo_of(const struct tp_fwd *f, const struct tp_engine *e)
{
	uint64_t gen = tp_engine_generation(e);
	const struct fwd_topo *t = __atomic_load_n(&f->topo[gen % TOPO_SLOTS], __ATOMIC_ACQUIRE);

	return t && t->gen == gen ? t : NULL;
}

/* The hit slot of a rule, claimed on first use; NULL when the probe
 * window is full (the count is lost, the packet is not). */
static struct fwd_hit *hit_slot(struct fwd_worker *w, uint32_t rule_id)
{
	uint32_t h;

	/* the default decision (no rule matched) is counted as a rule too */
	if (rule_id == TP_RULE_ID_NONE)
		rule_id = FWD_RULE_DEFAULT;
	h = rule_id * 2654435761u;
	for (unsigned k = 0; k < 16; k++) {
		struct fwd_hit *s = &w->hits[(h + k) & (HITS_SLOTS - 1)];

		if (s->id == rule_id || s->id == 0) {
			if (s->id == 0)
				__atomic_store_n(&s->id, rule_id, __ATOMIC_RELEASE);
			return s;
		}
	}
	return NULL;
}

void fwd_hit(struct fwd_worker *w, uint32_t rule_id)
{
	struct fwd_hit *s = hit_slot(w, rule_id);

	if (s)
		__atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELAXED);
}

void fwd_hit_limited(struct fwd_worker *w, uint32_t rule_id)
{
	struct fwd_hit *s = hit_slot(w, rule_id);

	if (s)
		__atomic_store_n(&s->limited, s->limited + 1, __ATOMIC_RELAXED);
}

void fwd_hit_profile(struct fwd_worker *w, uint32_t rule_id)
{
	struct fwd_hit *s = hit_slot(w, rule_id);

	if (s)
		__atomic_store_n(&s->profile, s->profile + 1, __ATOMIC_RELAXED);
}

void fwd_topo_free(struct fwd_topo *t)
{
	if (!t)
		return;
	fwd_rules_free(t->rules);
	tp_site_free(t->site);
	free(t);
}

static void flow_snapshot(struct fwd_worker *w)
{
	atomic_fetch_add_explicit(&w->fc_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	tp_flow_counters_get(w->flows, &w->fc);
	w->flow_count = tp_flow_count(w->flows);
	atomic_fetch_add_explicit(&w->fc_seq, 1, memory_order_release);
}

struct dump_ctx {
	json_t *list;
	unsigned left;
};

static bool dump_one(const struct tp_flow *init, uint32_t rule_id, uint64_t gen, uint64_t idle_ns,
		     void *arg)
{
	struct dump_ctx *d = arg;
	char s[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
	int af = init->src.family == TP_AF_INET6 ? AF_INET6 : AF_INET;

	if (!d->left)
		return false;
	d->left--;
	inet_ntop(af, init->src.addr, s, sizeof(s));
	inet_ntop(af, init->dst.addr, t, sizeof(t));
	json_array_append_new(
		d->list, json_pack("{s:i, s:s, s:i, s:s, s:i, s:I, s:I, s:I}", "proto", init->proto,
				   "src", s, "sport", init->sport, "dst", t, "dport", init->dport,
				   "rule", (json_int_t)rule_id, "generation", (json_int_t)gen,
				   "idle_ms", (json_int_t)(idle_ns / 1000000u)));
	return true;
}

static unsigned flush_staged(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv)
{
	struct rte_mbuf *pkts[32];
	unsigned work = 0;

	for (unsigned p = 0; p < __atomic_load_n(&f->n_peers, __ATOMIC_ACQUIRE); p++) {
		struct fwd_peer *peer = &f->peers[p];
		unsigned n;

		if (!atomic_load_explicit(&peer->ready, memory_order_acquire) ||
		    rte_ring_empty(peer->staged))
			continue;
		n = rte_ring_dequeue_burst(peer->staged, (void **)pkts, 32, NULL);
		work += n;
		n = fwd_encrypt_peer(f, ctx, p, pkts, (uint16_t)n, dv, true);
		fwd_tx(f, ctx, TP_PORT_TRANSIT, pkts, (uint16_t)n, dv);
	}
	return work;
}

/* worker_priority: SCHED_FIFO for this worker thread, once. */
static void set_priority(struct tp_fwd *f, unsigned worker)
{
	struct sched_param sp = {.sched_priority = (int)f->cfg->worker_priority};
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);

	if (rc)
		fprintf(stderr, "tpd: worker %u: SCHED_FIFO priority %u refused: %s\n", worker,
			f->cfg->worker_priority, strerror(rc));
}

/* Once per loop iteration of a worker (tp_runtime_hooks.poll). */
static unsigned fwd_poll(void *arg, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv)
{
	struct tp_fwd *f = arg;
	struct fwd_worker *w = &f->w[ctx->worker];
	struct rte_mbuf *pkts[32], *by_role[2][32];
	const struct tp_engine *e;
	unsigned n, work = 0;

	if (!w->iter && f->cfg->worker_priority)
		set_priority(f, ctx->worker);
	/* no pointer into a policy or keypair is held across iterations */
	tp_policyrcu_quiescent(f->rcu, ctx->worker);
	n = rte_ring_dequeue_burst(w->tx, (void **)pkts, 32, NULL);
	if (n) {
		uint16_t k[2] = {0, 0};

		for (unsigned i = 0; i < n; i++) {
			unsigned r = tp_pkt_meta(pkts[i])->out_role & 1;

			by_role[r][k[r]++] = pkts[i];
		}
		fwd_tx(f, ctx, TP_PORT_ZONE, by_role[0], k[0], dv);
		fwd_tx(f, ctx, TP_PORT_TRANSIT, by_role[1], k[1], dv);
		work += n;
	}
	work += flush_staged(f, ctx, dv);
	e = tp_engine_current(&f->rcu->slot);
	/* a new policy: cut what it no longer allows at once (DESIGN.md §6) */
	if (e && tp_engine_generation(e) != w->seen_gen) {
		/* one pass over the whole table, a slice per iteration */
		if (w->recheck_gen != tp_engine_generation(e)) {
			w->recheck_gen = tp_engine_generation(e);
			w->recheck_left = f->cfg->flow_table_size;
		}
		w->recheck_left -=
			RTE_MIN(w->recheck_left, (uint32_t)tp_flow_recheck(w->flows, e, 4096));
		if (!w->recheck_left)
			w->seen_gen = w->recheck_gen;
		work++;
	}
	if ((++w->iter & 1023) == 0) {
		tp_flow_expire(w->flows, 256);
		flow_snapshot(w);
	}
	if (atomic_load_explicit(&w->dump_req, memory_order_acquire) !=
	    atomic_load_explicit(&w->dump_done, memory_order_relaxed)) {
		struct dump_ctx d = {.list = json_array(), .left = w->dump_max};

		tp_flow_foreach(w->flows, dump_one, &d);
		w->dump = d.list;
		flow_snapshot(w);
		atomic_store_explicit(&w->dump_done, atomic_load(&w->dump_req),
				      memory_order_release);
	}
	return work;
}

static void fwd_idle(void *arg, unsigned worker, bool sleeping)
{
	struct tp_fwd *f = arg;
	uint64_t v;

	if (sleeping) {
		tp_policyrcu_offline(f->rcu, worker);
		return;
	}
	tp_policyrcu_online(f->rcu, worker);
	if (f->w[worker].wake_fd >= 0 && read(f->w[worker].wake_fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing was signalled */
}

static int fwd_wake_fd(void *arg, unsigned worker)
{
	struct tp_fwd *f = arg;

	return f->w[worker].wake_fd;
}

static const tp_runtime_stage_fn zone_stages[] = {tp_stage_parse, fwd_stage_egress};
static const tp_runtime_stage_fn transit_stages[] = {tp_stage_parse, fwd_stage_ingress};

const struct tp_runtime_hooks *tp_fwd_hooks(struct tp_fwd *f)
{
	return &f->hooks;
}

/* Addresses of an interface: the first IPv4 and the first global IPv6. */
static void if_addrs(const char *ifname, uint8_t a4[4], bool *has4, uint8_t a6[16], bool *has6)
{
	struct ifaddrs *ifa, *i;

	*has4 = *has6 = false;
	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifname) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !*has4) {
			memcpy(a4, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			*has4 = true;
		} else if (i->ifa_addr->sa_family == AF_INET6 && !*has6) {
			const uint8_t *b = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;

			if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
				continue; /* link-local */
			memcpy(a6, b, 16);
			*has6 = true;
		}
	}
	freeifaddrs(ifa);
}

struct tp_fwd *tp_fwd_create(const struct tp_fwd_params *p, char *err, size_t errlen)
{
	const struct tp_config *cfg = p->cfg;
	struct tp_flow_config fc;
	struct tp_fwd *f;
	char name[RTE_RING_NAMESIZE];
	int rc;

	f = rte_zmalloc("tp_fwd", sizeof(*f), RTE_CACHE_LINE_SIZE);
	if (!f) {
		snprintf(err, errlen, "out of memory for the forwarding state");
		return NULL;
	}
	f->p = *p;
	f->cfg = cfg;
	f->compile = tp_engine_compile;
	f->ctl_fd = -1;
	f->n_workers = cfg->n_workers;
	for (unsigned i = 0; i < TP_CONFIG_WORKERS_MAX; i++)
		f->w[i].wake_fd = -1;
	for (int r = 0; r < 2; r++) {
		struct rte_ether_addr ea;

		f->port[r] = p->rt->port[r];
		if (rte_eth_macaddr_get(f->port[r], &ea) == 0)
			memcpy(f->mac[r], ea.addr_bytes, 6);
	}
	/* Frames the TP makes itself (handshakes, ICMP) come from their own
	 * small pool, not from a port's AF_XDP UMEM: control-thread
	 * allocations then never compete with the rx fill ring. */
	f->gen_pool = rte_pktmbuf_pool_create(
		"tp_gen", 1023, 0,
		(uint16_t)RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!f->gen_pool) {
		snprintf(err, errlen, "cannot create the pool of generated frames (memory_mb?)");
		goto fail;
	}
	f->transit_mtu = 1500;
	rte_eth_dev_get_mtu(f->port[TP_PORT_TRANSIT], &f->transit_mtu);
	if (f->transit_mtu < 1280 + 80)
		f->transit_mtu = 1280 + 80;
	/* outer IPv4 20 + UDP 8 + WireGuard 32 (16 header + 16 tag) = 60; IPv6 80 */
	f->inner_mtu4 = (uint16_t)(f->transit_mtu - 60);
	f->inner_mtu6 = (uint16_t)(f->transit_mtu - 80);
	if (p->transit_addr4 || p->transit_addr6) {
		f->has4 = p->transit_addr4 != NULL;
		f->has6 = p->transit_addr6 != NULL;
		if (f->has4)
			memcpy(f->addr4, p->transit_addr4, 4);
		if (f->has6)
			memcpy(f->addr6, p->transit_addr6, 16);
	} else {
		if_addrs(cfg->transit_if, f->addr4, &f->has4, f->addr6, &f->has6);
	}
	if_addrs(cfg->zone_if, f->zone_addr4, &f->has_zone4, f->zone_addr6, &f->has_zone6);
	if (p->zone_addr4) {
		memcpy(f->zone_addr4, p->zone_addr4, 4);
		f->has_zone4 = true;
	}
	if (p->zone_addr6) {
		memcpy(f->zone_addr6, p->zone_addr6, 16);
		f->has_zone6 = true;
	}

	f->rcu = tp_policyrcu_new(f->n_workers);
	if (!f->rcu) {
		snprintf(err, errlen, "cannot create the policy RCU state");
		goto fail;
	}
	f->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->to_ctl =
		rte_ring_create("tp_to_ctl", CTL_RING_SIZE, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (f->ctl_fd < 0 || !f->to_ctl) {
		snprintf(err, errlen, "cannot create the control ring");
		goto fail;
	}
	tp_flow_config_default(&fc);
	fc.capacity = cfg->flow_table_size;
	fc.quota_host = cfg->flow_quota_host;
	fc.quota_zone_pair = cfg->flow_quota_zone_pair;
	fc.clock_ns = p->clock.now_ns;
	fc.clock_arg = p->clock.arg;
	for (unsigned i = 0; i < f->n_workers; i++) {
		struct fwd_worker *w = &f->w[i];

		snprintf(name, sizeof(name), "tp_wtx_%u", i);
		w->tx = rte_ring_create(name, WRK_RING_SIZE, (int)rte_socket_id(), RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tp_wlog_%u", i);
		w->log = rte_ring_create_elem(name, sizeof(struct tp_flowlog_rec), LOG_RING_SIZE,
					      (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->flows = tp_flow_table_new(&fc);
		if (!w->tx || !w->log || w->wake_fd < 0 || !w->flows) {
			snprintf(err, errlen,
				 "worker %u: cannot create its flow table (%u flows) or "
				 "rings",
				 i, cfg->flow_table_size);
			goto fail;
		}
		rc = tp_policyrcu_register(f->rcu, i);
		if (rc) {
			snprintf(err, errlen, "worker %u: RCU registration failed", i);
			goto fail;
		}
	}
	tp_flowlog_cap_init(&f->log_cap, LOG_LINES_PER_S, tp_clock_now(&p->clock));
	rc = fwd_control_init(f, err, errlen);
	if (rc)
		goto fail;
	f->hooks = (struct tp_runtime_hooks){
		.stages = {zone_stages, transit_stages},
		.n_stages = {RTE_DIM(zone_stages), RTE_DIM(transit_stages)},
		.arg = f,
		.poll = fwd_poll,
		.idle = fwd_idle,
		.wake_fd = fwd_wake_fd,
	};
	if (p->zone_ifindex) {
		/* Without the attached programs' maps the policy never reaches
		 * XDP and nothing is forwarded: refuse to start rather than
		 * report "running". Opening a program and its maps by id needs
		 * CAP_SYS_ADMIN; CAP_BPF and CAP_PERFMON are not enough. A
		 * program that is not ours (EPROTO: the af_xdp PMD's default
		 * one) has no maps to fill and is not an error. */
		static const char *side[2] = {"zone", "transit"};
		const int ifindex[2] = {p->zone_ifindex, p->transit_ifindex};
		struct tp_xdp **x[2] = {&f->xdp_zone, &f->xdp_transit};

		for (int i = 0; i < 2; i++) {
			int e;

			*x[i] = tp_xdp_open(ifindex[i], i ? TP_XDP_KIND_TRANSIT : TP_XDP_KIND_ZONE);
			e = errno;
			if (*x[i] || e == EPROTO)
				continue;
			snprintf(err, errlen,
				 "cannot open the XDP program attached to the %s interface and "
				 "its maps by id: %s%s",
				 side[i], strerror(e),
				 e == EPERM ? " (needs CAP_SYS_ADMIN: CAP_BPF/CAP_PERFMON are not "
					      "enough to open BPF objects by id)"
					    : "");
			goto fail;
		}
	}
	return f;
fail:
	tp_fwd_free(f);
	return NULL;
}

void tp_fwd_free(struct tp_fwd *f)
{
	struct rte_mbuf *m;

	if (!f)
		return;
	for (unsigned i = 0; i < f->n_workers && f->rcu; i++) {
		/* workers have stopped: they hold nothing */
		tp_policyrcu_offline(f->rcu, i);
		tp_policyrcu_unregister(f->rcu, i);
	}
	if (f->tun)
		fwd_control_fini(f);
	for (unsigned i = 0; i < f->n_workers; i++) {
		struct fwd_worker *w = &f->w[i];

		while (w->tx && rte_ring_dequeue(w->tx, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(w->tx);
		rte_ring_free(w->log);
		tp_flow_table_free(w->flows);
		json_decref(w->dump);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
	}
	while (f->to_ctl && rte_ring_dequeue(f->to_ctl, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(f->to_ctl);
	if (f->ctl_fd >= 0)
		close(f->ctl_fd);
	tp_policyrcu_free(f->rcu);
	for (unsigned i = 0; i < TOPO_SLOTS; i++)
		fwd_topo_free(f->topo[i]);
	tp_site_free(f->undecided);
	tp_xdp_close(f->xdp_zone);
	tp_xdp_close(f->xdp_transit);
	rte_mempool_free(f->gen_pool);
	rte_free(f);
}

void tp_fwd_control_tick(struct tp_fwd *f)
{
	uint64_t now = tp_clock_now(&f->p.clock);

	tp_tunnel_tick(f->tun);
	tp_policyrcu_reclaim(f->rcu);
	fwd_retire_reclaim(f, false);
	if (now >= f->next_nh_refresh_ns) {
		fwd_nh_refresh(f);
		f->next_nh_refresh_ns = now + 1000000000ull;
	}
	fwd_policy_tick(f);
	fwd_flowlog_drain(f);
}

/* ---- views ---- */

static const char *b64(const uint8_t *key, char *buf, size_t len)
{
	return sodium_bin2base64(buf, len, key, TP_TUNNEL_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

json_t *tp_fwd_peers_json(struct tp_fwd *f)
{
	json_t *list = json_array();
	uint64_t now = tp_clock_now(&f->p.clock);

	for (unsigned i = 0; i < f->n_peers; i++) {
		struct fwd_peer *p = &f->peers[i];
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
