// SPDX-License-Identifier: MIT
/*
 * The control thread's half of forwarding: the tunnel's callbacks (its
 * handshake packets go out through worker 0's ring, keypairs it retires
 * wait for the workers' quiescent states, a session coming up lets the
 * workers flush what they staged), handshake messages and next-hop misses
 * handed over by workers, and the tunnel peers of the remote TPs.
 *
 * State: f->ctl.retired[] (objects awaiting a grace period, oldest
 * first), control thread only; f->pub.peers[] slots, written here only
 * (workers read peers[].tun once n_peers counts it, and the staging
 * rings).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "fwd_int.h"
#include "tp/dp/audit.h"

static uint64_t ops_now(void *ctx)
{
	struct tp_fwd *f = ctx;

	return tp_clock_now(&f->p.clock);
}

static uint64_t ops_wall(void *ctx)
{
	struct tp_fwd *f = ctx;
	struct timespec ts;

	if (f->p.wall_ns)
		return f->p.wall_ns(ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fwd_wall_ns(struct tp_fwd *f)
{
	return ops_wall(f);
}

int64_t fwd_wall_s(struct tp_fwd *f)
{
	return (int64_t)(ops_wall(f) / 1000000000u);
}

void fwd_wake_worker(struct tp_fwd *f, unsigned worker)
{
	static const uint64_t one = 1;

	if (f->w[worker].wake_fd >= 0 && write(f->w[worker].wake_fd, &one, sizeof(one)) < 0)
		return; /* counter saturated: the worker is awake anyway */
}

/* A complete frame for worker 0 to send (workers own the tx queues). */
static void to_worker(struct tp_fwd *f, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(f->w[0].tx, m) != 0) {
		tp_counters_drop(ctl_slot(f), TP_DROP_CTL_RING, 1);
		rte_pktmbuf_free(m);
		return;
	}
	fwd_wake_worker(f, 0);
}

/* Hold m until the kernel resolves its next hop (tp/dp/neigh.h). */
static void hold(struct tp_fwd *f, struct rte_mbuf *m)
{
	struct tp_pkt_meta *meta = tp_pkt_meta(m);
	uint8_t nexthop[16];
	int oif;

	if (!f->p.neigh ||
	    tp_neigh_route(f->p.neigh, meta->nh_family, meta->nh_addr, &oif, nexthop) != 0 ||
	    tp_neigh_hold(f->p.neigh, oif, meta->nh_family, nexthop, m) != 0) {
		tp_counters_drop(ctl_slot(f), TP_DROP_NEIGH, 1);
		rte_pktmbuf_free(m);
	}
}

void tp_fwd_neigh_release(void *arg, void *pkt, const uint8_t *mac)
{
	struct tp_fwd *f = arg;
	struct rte_mbuf *m = pkt;
	struct tp_pkt_meta *meta = tp_pkt_meta(m);

	if (!mac) {
		tp_counters_drop(ctl_slot(f), TP_DROP_NEIGH, 1);
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), mac, 6);
	fwd_nh_store(f, meta->nh_family, meta->nh_addr, mac);
	to_worker(f, m);
}

static void ops_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		     const uint8_t *msg, size_t len)
{
	struct tp_fwd *f = ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->gen_pool);
	uint8_t *p;

	(void)peer;
	if (!m) {
		tp_counters_drop(ctl_slot(f), TP_DROP_NO_MBUF, 1);
		return;
	}
	/* the message first: fwd_encap's UDP checksum covers it */
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (p)
		memcpy(p, msg, len);
	if (!p || fwd_encap(f, m, dst) != 0) {
		tp_counters_drop(ctl_slot(f), TP_DROP_NO_MBUF, 1);
		rte_pktmbuf_free(m);
		return;
	}
	tp_pkt_meta(m)->out_role = TP_PORT_TRANSIT;
	if (fwd_resolve(f, m, TP_PORT_TRANSIT, dst->family == AF_INET6 ? 6 : 4, dst->addr))
		to_worker(f, m);
	else
		hold(f, m);
}

void fwd_retire_reclaim(struct tp_fwd *f, bool wait)
{
	unsigned k = 0;

	while (k < f->ctl.n_retired &&
	       rte_rcu_qsbr_check(f->rcu->qsbr, f->ctl.retired[k].token, wait && k == 0) == 1) {
		f->ctl.retired[k].free_fn(f->ctl.retired[k].obj);
		k++;
	}
	memmove(f->ctl.retired, f->ctl.retired + k,
		(f->ctl.n_retired - k) * sizeof(f->ctl.retired[0]));
	f->ctl.n_retired -= k;
}

static void ops_retire(void *ctx, void *obj, void (*free_fn)(void *obj))
{
	struct tp_fwd *f = ctx;

	if (f->ctl.n_retired == RETIRE_MAX)
		fwd_retire_reclaim(f, true);
	f->ctl.retired[f->ctl.n_retired].obj = obj;
	f->ctl.retired[f->ctl.n_retired].free_fn = free_fn;
	f->ctl.retired[f->ctl.n_retired].token = rte_rcu_qsbr_start(f->rcu->qsbr);
	f->ctl.n_retired++;
}

/* The audit trail sees a peer go up at its first handshake and down when
 * its keys are wiped (no handshake for REJECT_AFTER_TIME * 3), once each. */
static void audit_peer(struct tp_fwd *f, struct fwd_peer *peer, bool up, const char *why)
{
	if (peer->audited_up == up)
		return;
	peer->audited_up = up;
	tp_audit_peer(f->p.audit, up, peer->name, why);
}

static void ops_event(void *ctx, struct tp_tunnel_peer *tpeer, enum tp_tunnel_event ev)
{
	struct tp_fwd *f = ctx;
	struct fwd_peer *peer = tp_tunnel_peer_user(tpeer);
	struct rte_mbuf *m;

	switch (ev) {
	case TP_TUNNEL_EV_SESSION_READY:
		atomic_store_explicit(&peer->ready, true, memory_order_release);
		audit_peer(f, peer, true, NULL);
		for (unsigned i = 0; i < f->n_workers; i++)
			fwd_wake_worker(f, i);
		break;
	case TP_TUNNEL_EV_HANDSHAKE_GAVE_UP:
		while (rte_ring_dequeue(peer->staged, (void **)&m) == 0) {
			tp_counters_drop(ctl_slot(f), TP_DROP_HS_GAVE_UP, 1);
			rte_pktmbuf_free(m);
		}
		break;
	case TP_TUNNEL_EV_KEYS_ZEROED:
		audit_peer(f, peer, false, "no handshake for 540 s: keys wiped");
		break;
	}
}

static const struct tp_tunnel_ops ops = {
	.now_ns = ops_now,
	.wall_ns = ops_wall,
	.send = ops_send,
	.retire = ops_retire,
	.event = ops_event,
};

int fwd_control_init(struct tp_fwd *f, char *err, size_t errlen)
{
	struct tp_tunnel_config tc = {
		.ops = &ops, .ctx = f, .mtu = f->inner_mtu4, .mtu6 = f->inner_mtu6};

	memcpy(tc.private_key, f->p.private_key, TP_TUNNEL_KEY_LEN);
	f->tun = tp_tunnel_new(&tc);
	memset(tc.private_key, 0, sizeof(tc.private_key));
	if (!f->tun) {
		snprintf(err, errlen, "cannot create the tunnel engine");
		return -ENOMEM;
	}
	return 0;
}

void fwd_control_fini(struct tp_fwd *f)
{
	struct rte_mbuf *m;

	tp_tunnel_free(f->tun); /* retires through ops_retire */
	f->tun = NULL;
	for (unsigned i = 0; i < f->pub.n_peers; i++) {
		while (rte_ring_dequeue(f->pub.peers[i].staged, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(f->pub.peers[i].staged);
	}
	fwd_retire_reclaim(f, true);
	while (f->ctl.n_retired)
		fwd_retire_reclaim(f, true);
}

uint32_t fwd_peer_get(struct tp_fwd *f, const struct tp_tpoint *t)
{
	struct tp_tunnel_peer_config pc = {0};
	struct fwd_peer *peer;
	char name[RTE_RING_NAMESIZE];
	unsigned size = 1;

	if (t->n_endpoints) {
		const struct tp_endpoint *ep = &t->endpoints[0];

		pc.endpoint.family = ep->addr.family == TP_AF_INET6 ? AF_INET6 : AF_INET;
		pc.endpoint.port = ep->port;
		memcpy(pc.endpoint.addr, ep->addr.addr, pc.endpoint.family == AF_INET6 ? 16 : 4);
	}
	for (unsigned i = 0; i < f->pub.n_peers; i++) {
		peer = &f->pub.peers[i];
		if (memcmp(peer->pubkey, t->pubkey, TP_TUNNEL_KEY_LEN) != 0)
			continue;
		/* The operator moved this TP: its next message goes to the new
		 * endpoint rather than waiting for the remote to roam (which a
		 * remote that only answers never does). A site without an
		 * endpoint keeps the one we know. */
		if (pc.endpoint.family &&
		    memcmp(&pc.endpoint, &peer->cfg_ep, sizeof(pc.endpoint)) != 0) {
			tp_tunnel_peer_set_endpoint(peer->tun, &pc.endpoint);
			peer->cfg_ep = pc.endpoint;
		}
		return i;
	}
	if (f->pub.n_peers == PEERS_MAX || f->pub.n_peers >= f->cfg->max_peers)
		return UINT32_MAX;
	peer = &f->pub.peers[f->pub.n_peers];
	memcpy(pc.public_key, t->pubkey, TP_TUNNEL_KEY_LEN);
	pc.user = peer; /* the tunnel hands it back: ingress anti-spoofing, events */
	while (size < f->cfg->peer_queue_len)
		size <<= 1;
	snprintf(name, sizeof(name), "tp_stg_%u", f->pub.n_peers);
	peer->staged = rte_ring_create(name, size, (int)rte_socket_id(), RING_F_EXACT_SZ);
	if (!peer->staged)
		return UINT32_MAX;
	peer->tun = tp_tunnel_peer_add(f->tun, &pc);
	if (!peer->tun) {
		rte_ring_free(peer->staged);
		peer->staged = NULL;
		return UINT32_MAX;
	}
	memcpy(peer->pubkey, t->pubkey, TP_TUNNEL_KEY_LEN);
	peer->cfg_ep = pc.endpoint;
	snprintf(peer->name, sizeof(peer->name), "%s", t->name);
	/* Handshake now rather than at the first packet: the first packets
	 * need not wait, and a peer that kept a session with our previous
	 * life (we restarted) moves to the new keys at once instead of after
	 * its own 15 s without an answer. */
	tp_tunnel_connect(f->tun, peer->tun);
	return __atomic_add_fetch(&f->pub.n_peers, 1, __ATOMIC_RELEASE) - 1;
}

/* A refused handshake message, for the audit trail (rate-limited there per
 * source). A cookie reply under load is the protocol working, not a
 * failure. */
static void audit_handshake(struct tp_fwd *f, const struct tp_tunnel_endpoint *src,
			    enum tp_tunnel_res r)
{
	if (tp_tunnel_res_ok(r) || r == TP_TUNNEL_DROP_NEED_COOKIE)
		return;
	tp_audit_handshake_failed(f->p.audit, src->family, src->addr, src->port,
				  tp_tunnel_res_name(r));
}

int tp_fwd_control_fd(const struct tp_fwd *f)
{
	return f->ctl_fd;
}

void tp_fwd_control_run(struct tp_fwd *f)
{
	struct rte_mbuf *pkts[64];
	uint64_t v;
	unsigned n, hs = 0;
	enum tp_tunnel_res r;

	if (read(f->ctl_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	while ((n = rte_ring_dequeue_burst(f->to_ctl, (void **)pkts, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			struct tp_pkt_meta *meta = tp_pkt_meta(m);
			const struct tp_pkt_info *in = &meta->info;
			struct tp_tunnel_endpoint src = {0};

			if (meta->ctl_kind == CTL_NEIGH) {
				hold(f, m);
				continue;
			}
			src.family = in->family == 6 ? AF_INET6 : AF_INET;
			src.port = in->sport;
			memcpy(src.addr, in->src, in->family == 6 ? 16 : 4);
			r = tp_tunnel_handshake_receive(
				f->tun,
				rte_pktmbuf_mtod_offset(m, uint8_t *, in->l4_off + UDP_HLEN),
				in->l4_len - UDP_HLEN, &src,
				rte_ring_count(f->to_ctl) >= CTL_RING_SIZE / 8);
			audit_handshake(f, &src, r);
			rte_pktmbuf_free(m);
			hs++;
		}
	}
	if (hs)
		tp_tunnel_tick(f->tun);
}
