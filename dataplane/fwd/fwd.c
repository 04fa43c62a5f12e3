// SPDX-License-Identifier: MIT
/*
 * Forwarding context: creation and teardown, the stage lists and hooks
 * the runtime runs on every worker, the policy a burst is pinned to, and
 * the control thread's periodic tick (see fwd_int.h for who owns what).
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
	const struct fwd_topo *t =
		__atomic_load_n(&f->pub.topo[gen % TOPO_SLOTS], __ATOMIC_ACQUIRE);

	return t && t->gen == gen ? t : NULL;
}

void fwd_topo_free(struct fwd_topo *t)
{
	if (!t)
		return;
	fwd_rules_free(t->rules);
	tp_site_free(t->site);
	free(t);
}

void fwd_burst_begin(struct tp_fwd *f, struct fwd_worker *w)
{
	w->e = tp_engine_current(&f->rcu->slot);
	w->topo = w->e ? fwd_topo_of(f, w->e) : NULL;
}

/* The data path, in order (dataplane/README.md draws it). */
static const tp_runtime_stage_fn zone_stages[] = {
	tp_stage_parse,	 fwd_stage_handoff, fwd_stage_zone, fwd_stage_police,
	fwd_stage_route, fwd_stage_encrypt, fwd_stage_l2,
};
static const tp_runtime_stage_fn transit_stages[] = {
	tp_stage_parse,	  fwd_stage_decrypt, fwd_stage_handoff, fwd_stage_zone,
	fwd_stage_police, fwd_stage_route,   fwd_stage_l2,
};

/* The stages after `stage` in a port's list: where a packet handed off
 * by that stage resumes. */
static void stages_after(const tp_runtime_stage_fn *list, unsigned n, tp_runtime_stage_fn stage,
			 const tp_stage_fn **after, unsigned *n_after)
{
	for (unsigned i = 0; i < n; i++) {
		if (list[i] == stage) {
			*after = list + i + 1;
			*n_after = n - i - 1;
		}
	}
}

/* After a burst's last stage (tp_runtime_hooks.flush): its exits. */
static void fwd_flush(void *arg, struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		      struct tp_drop_vec *dv)
{
	fwd_exit_flush(arg, ctx, pkts, n, dv);
}

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
	f->ctl.compile = tp_engine_compile;
	f->ctl_fd = -1;
	f->n_workers = cfg->n_workers;
	randombytes_buf(&f->owner_key, sizeof(f->owner_key));
	stages_after(zone_stages, RTE_DIM(zone_stages), fwd_stage_handoff,
		     &f->after_handoff[TP_PORT_ZONE], &f->n_after_handoff[TP_PORT_ZONE]);
	stages_after(transit_stages, RTE_DIM(transit_stages), fwd_stage_handoff,
		     &f->after_handoff[TP_PORT_TRANSIT], &f->n_after_handoff[TP_PORT_TRANSIT]);
	stages_after(zone_stages, RTE_DIM(zone_stages), fwd_stage_encrypt,
		     &f->after_crypt[TP_PORT_ZONE], &f->n_after_crypt[TP_PORT_ZONE]);
	stages_after(transit_stages, RTE_DIM(transit_stages), fwd_stage_decrypt,
		     &f->after_crypt[TP_PORT_TRANSIT], &f->n_after_crypt[TP_PORT_TRANSIT]);
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
	f->gen_pool = tp_mbuf_pool_create(
		"tp_gen", 1023, 0,
		(uint16_t)RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id(), false);
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
		tp_ratelimit_init(&w->icmp_err, cfg->icmp_errors_per_s, cfg->icmp_errors_burst,
				  p->clock.now_ns(p->clock.arg));
		for (unsigned s = 0; s < f->n_workers; s++) {
			if (s == i)
				continue;
			snprintf(name, sizeof(name), "tp_ho_%u_%u", s, i);
			w->ho[s] = rte_ring_create(name, HO_RING_SIZE, (int)rte_socket_id(),
						   RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!w->ho[s]) {
				snprintf(err, errlen, "worker %u: cannot create its handoff rings",
					 i);
				goto fail;
			}
		}
		if (fwd_crypt_init(f, i) != 0) {
			snprintf(err, errlen, "worker %u: cannot create its crypto job queue", i);
			goto fail;
		}
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
	tp_flowlog_cap_init(&f->ctl.log_cap, LOG_LINES_PER_S, tp_clock_now(&p->clock));
	rc = fwd_control_init(f, err, errlen);
	if (rc)
		goto fail;
	f->hooks = (struct tp_runtime_hooks){
		.stages = {zone_stages, transit_stages},
		.n_stages = {RTE_DIM(zone_stages), RTE_DIM(transit_stages)},
		.arg = f,
		.flush = fwd_flush,
		.poll = fwd_poll,
		.idle = fwd_idle,
		.pending = fwd_pending,
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
		struct tp_xdp **x[2] = {&f->ctl.xdp_zone, &f->ctl.xdp_transit};

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
		for (unsigned s = 0; s < TP_CONFIG_WORKERS_MAX; s++) {
			while (w->ho[s] && rte_ring_dequeue(w->ho[s], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(w->ho[s]);
		}
		fwd_crypt_fini(f, i);
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
		fwd_topo_free(f->pub.topo[i]);
	tp_site_free(f->ctl.undecided);
	tp_xdp_close(f->ctl.xdp_zone);
	tp_xdp_close(f->ctl.xdp_transit);
	rte_mempool_free(f->gen_pool);
	rte_free(f);
}

void tp_fwd_control_tick(struct tp_fwd *f)
{
	uint64_t now = tp_clock_now(&f->p.clock);

	tp_tunnel_tick(f->tun);
	tp_policyrcu_reclaim(f->rcu);
	fwd_retire_reclaim(f, false);
	if (now >= f->ctl.next_nh_refresh_ns) {
		fwd_nh_refresh(f);
		f->ctl.next_nh_refresh_ns = now + 1000000000ull;
	}
	fwd_policy_tick(f);
	fwd_flowlog_drain(f);
}
