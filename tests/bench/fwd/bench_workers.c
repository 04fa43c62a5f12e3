// SPDX-License-Identifier: MIT
/*
 * The forwarding path in memory mode with this process's worker count
 * (--workers 1 or 2), each worker a pinned thread running what
 * dataplane/runtime/runtime.c worker_main runs: a burst through its port's
 * stages and exits, then the poll hook (the handoff from the other worker,
 * frames of the control thread). Issue 13 (a): tests/bench/fwd/workers.sh
 * runs it with 1 and 2 workers in turn and prints the ratio.
 *
 * The harness of tests/unit/fwd (ring ports, one tx queue per worker,
 * which the worker that sends on it drains and frees: packets delivered)
 * plus 63 more remote TPs, each its own tunnel engine with its own outer
 * address and a completed handshake: 64 peers.
 *
 * What each worker receives, as RSS would spread it:
 *   egress (zone port): by a hash of the inner ports that is not the owner
 *     hash, so about half of each worker's packets belong to flows the
 *     other worker owns and cross the handoff;
 *   ingress (transit port): by the outer 5-tuple, i.e. by peer. One peer:
 *     every ciphertext on worker 0 (that worker decrypts them all; it
 *     scales only once decryption is spread across workers). 64 peers:
 *     peer k on worker k % workers.
 * Frames are copied into fresh mbufs as a NIC would DMA them. Ingress
 * ciphertexts are sealed by the remotes before each pass (not timed): a
 * replay window accepts each message once.
 *
 * Rows: egress and ingress, one peer (256 flows) and 64 peers (4 flows
 * each), inner packets of 64 and 1420 bytes; a warm-up pass, then timed
 * passes. Each row prints one line
 *   row DIR PEERS SIZE WORKERS MPPS DELIVERED OFFERED DROPS HANDOFF_FULL HANDOFF_OUT
 *       TIMED_S CPU_S
 * MPPS: packets delivered per second of the timed passes. DROPS: in the
 * whole row, for any reason but handoff_full and crypt_queue_full; a drop
 * or a lost packet fails the row (exit status 1). HANDOFF_FULL: dropped
 * because the other worker fell behind (the owner's handoff ring full, or
 * a helper's crypto job held the queue of jobs full: tpd drops them too),
 * counted and tolerated; HANDOFF_OUT: packets handed to their
 * owner; TIMED_S: seconds of the timed passes; CPU_S: CPU seconds the
 * worker threads got in them (polling, they spin: all they were given),
 * which tells how much of its cores another process took.
 *
 *   bench_workers --workers N [--secs S] [--smoke] [--row DIR:PEERS:SIZE]
 * --row: that row alone (an ingress row runs its egress row first, for the
 * flows), e.g. to profile it.
 * --smoke: 0.2 s per row; every packet must come out or be a counted
 * handoff_full drop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include <rte_lcore.h>

#include "../../unit/fwd/fwd_harness.h"

#define BURST	32
#define PEERS	64
#define FLOWS	256   /* egress flows of a row: all to one peer, or 4 per peer */
#define PASS_EG 32768 /* frames per egress pass */
#define PASS_IN 16384 /* ciphertexts per ingress pass, sealed before it */
#define STALL_S 10.0  /* a pass that has not ended this long after its input: lost */

/* The remote TPs: R[0] is the harness's tp2, the others added here. */
struct remote {
	struct tp_tunnel *tun;
	struct tp_tunnel_peer *peer; /* tp1 as this remote sees it */
	uint8_t priv[32], pub[32];
	uint8_t addr[4];   /* its transit endpoint */
	uint8_t sent[256]; /* the last handshake message it sent */
	size_t sent_len;
	bool up; /* tp1's keepalive opened: session confirmed */
};

static struct remote R[PEERS];

/* Frames as the NIC would receive them, back to back. */
struct store {
	uint8_t *buf;
	size_t used, cap;
	uint32_t *off;
	uint16_t *len;
	unsigned n, max;
};

/* One worker thread's pass. */
struct wk {
	pthread_t th;
	unsigned index; /* tpd worker index = tx queue */
	int core;
	int role; /* port its frames arrive on */
	const struct store *st;
	unsigned *idx; /* frames of st it receives, in order */
	unsigned n;
	uint64_t delivered, dropped;
	double cpu_s; /* its CPU time in the pass (a polling worker spins: all of it) */
	bool stalled;
};

static atomic_uint g_ready;
static atomic_bool g_go;
static atomic_uint_fast64_t g_done; /* delivered + dropped, every worker */
static uint64_t g_total;
static unsigned g_workers;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Drops so far; with before set, the reasons of those since then on stderr. */
static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t drop_sum(const struct tp_counters_totals *before, struct tp_counters_totals *now)
{
	uint64_t d = 0;

	tp_counters_sum(H.counters, now);
	for (unsigned r = 0; r < TP_DROP__COUNT; r++) {
		d += now->drop[r];
		if (before && now->drop[r] != before->drop[r])
			fprintf(stderr, "bench_workers: %llu dropped as %s\n",
				(unsigned long long)(now->drop[r] - before->drop[r]),
				tp_drop_name((enum tp_drop)r));
	}
	return d;
}

static void remote_send(void *ctx, struct tp_tunnel_peer *peer,
			const struct tp_tunnel_endpoint *dst, const uint8_t *msg, size_t len)
{
	struct remote *r = ctx;

	(void)peer;
	(void)dst;
	if (len <= sizeof(r->sent)) {
		memcpy(r->sent, msg, len);
		r->sent_len = len;
	}
}

static const struct tp_tunnel_ops remote_ops = {
	.now_ns = h_clock,
	.wall_ns = h_wall,
	.send = remote_send,
};

/* Zone prefix of peer k (k = 0: tp2's z2) and an address in it. */
static void peer_net(unsigned k, char *pfx, size_t pl, char *host, size_t hl)
{
	unsigned b = k ? 64 + k : 2;

	if (pfx)
		snprintf(pfx, pl, "10.%u.0.0/16", b);
	if (host)
		snprintf(host, hl, "10.%u.0.10", b);
}

/* h_site_edit: remote TPs 1..63, a zone each, and a rule like rule 10
 * (z1 -> the zone, UDP 5000, stateful allow) for each. */
static void site_peers(struct tp_site *s)
{
	size_t t0 = s->n_tps, z0 = s->n_zones, r0 = s->n_rules;

	s->tps = realloc(s->tps, (t0 + PEERS - 1) * sizeof(*s->tps));
	s->zones = realloc(s->zones, (z0 + PEERS - 1) * sizeof(*s->zones));
	s->rules = realloc(s->rules, (r0 + PEERS - 1) * sizeof(*s->rules));
	for (unsigned k = 1; k < PEERS; k++) {
		struct tp_tpoint *t = &s->tps[t0 + k - 1];
		struct tp_zone *z = &s->zones[z0 + k - 1];
		struct tp_rule *r = &s->rules[r0 + k - 1];
		char pfx[32];

		memset(t, 0, sizeof(*t));
		snprintf(t->name, TP_NAME_MAX, "tp%u", k + 2);
		memcpy(t->pubkey, R[k].pub, 32);
		t->n_endpoints = 1;
		t->endpoints = calloc(1, sizeof(*t->endpoints));
		t->endpoints[0].addr.family = TP_AF_INET;
		t->endpoints[0].addr.len = 32;
		memcpy(t->endpoints[0].addr.addr, R[k].addr, 4);
		t->endpoints[0].port = 51820;
		memset(z, 0, sizeof(*z));
		z->id = 100 + k;
		snprintf(z->name, TP_NAME_MAX, "p%u", k);
		z->tp = (uint32_t)(t0 + k - 1);
		z->n_prefixes = 1;
		z->prefixes = calloc(1, sizeof(struct tp_prefix));
		peer_net(k, pfx, sizeof(pfx), NULL, 0);
		tp_prefix_parse(pfx, &z->prefixes[0]);
		*r = (struct tp_rule){.id = 100 + k,
				      .from_zone = 0,
				      .to_zone = (uint32_t)(z0 + k - 1),
				      .action = TP_ACTION_ALLOW,
				      .proto = 17,
				      .stateful = true};
		snprintf(r->name, TP_NAME_MAX, "r%u", r->id);
		r->n_dst_ports = 1;
		r->dst_ports = calloc(1, sizeof(struct tp_port_range));
		r->dst_ports[0] = (struct tp_port_range){5000, 5000};
	}
	s->n_tps = t0 + PEERS - 1;
	s->n_zones = z0 + PEERS - 1;
	s->n_rules = r0 + PEERS - 1;
}

/* A frame from remote k to tp1 carrying a tunnel message. */
static struct rte_mbuf *transit_frame(unsigned k, const uint8_t *msg, size_t len)
{
	struct rte_mbuf *m = h_transit_frame(msg, len);
	uint8_t *ip;
	uint16_t c;

	if (!m || !k)
		return m;
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, 14);
	memcpy(ip + 12, R[k].addr, 4);
	ip[10] = ip[11] = 0;
	c = h_csum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	return m;
}

/* The remote a frame tp1 sent is for (by destination address), or -1. */
static int remote_of(struct rte_mbuf *m)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, 14);

	for (unsigned k = 0; k < PEERS; k++)
		if (!memcmp(ip + 16, R[k].addr, 4))
			return (int)k;
	return -1;
}

/* Remotes 1..63 into the site, then their handshakes with tp1 (which
 * initiates when a peer appears; its frames leave through worker 0). */
static int add_peers(void)
{
	struct tp_tunnel_config rc = {.ops = &remote_ops, .mtu = 1440};
	struct tp_tunnel_peer_config pc = {0};
	unsigned up = 1;

	R[0] = (struct remote){.tun = H.remote, .peer = H.remote_peer, .up = true};
	memcpy(R[0].addr, h_addr_tp2, 4);
	memcpy(R[0].pub, H.rpub, 32);
	memcpy(pc.public_key, H.pub, 32);
	pc.endpoint = (struct tp_tunnel_endpoint){.family = AF_INET, .port = 51820};
	memcpy(pc.endpoint.addr, h_addr_tp1, 4);
	for (unsigned k = 1; k < PEERS; k++) {
		randombytes_buf(R[k].priv, 32);
		crypto_scalarmult_curve25519_base(R[k].pub, R[k].priv);
		memcpy(R[k].addr, h_addr_tp2, 4);
		R[k].addr[3] = (uint8_t)(h_addr_tp2[3] + k);
		memcpy(rc.private_key, R[k].priv, 32);
		rc.ctx = &R[k];
		R[k].tun = tp_tunnel_new(&rc);
		R[k].peer = R[k].tun ? tp_tunnel_peer_add(R[k].tun, &pc) : NULL;
		if (!R[k].peer)
			return -1;
	}
	h_site_edit = site_peers;
	if (h_apply(2) != 0)
		return -2;
	for (int round = 0; round < 16 && up < PEERS; round++) {
		struct rte_mbuf *m[64], *resp[PEERS];
		unsigned n, nr = 0;

		tp_fwd_control_run(H.fwd);
		h_worker(0);
		h_poll();
		while ((n = h_take(TP_PORT_TRANSIT, m, 64)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				int k = remote_of(m[i]);
				size_t len;
				const uint8_t *msg = h_msg_of(m[i], &len);
				struct tp_tunnel_endpoint src = {.family = AF_INET, .port = 51820};

				memcpy(src.addr, h_addr_tp1, 4);
				if (k < 0)
					goto next;
				if (tp_tunnel_classify(msg, len) == 1) {
					R[k].sent_len = 0;
					if (tp_tunnel_handshake_receive(R[k].tun, msg, len, &src,
									false) == TP_TUNNEL_OK &&
					    R[k].sent_len)
						resp[nr++] = transit_frame((unsigned)k, R[k].sent,
									   R[k].sent_len);
				} else if (tp_tunnel_classify(msg, len) == 4) {
					struct tp_tunnel_pkt p = {.data = (uint8_t *)msg,
								  .len = (uint32_t)len,
								  .cap = (uint32_t)len};

					if (tp_tunnel_res_ok(tp_tunnel_decrypt(R[k].tun, &p)) &&
					    !R[k].up) {
						R[k].up = true;
						up++;
					}
				}
next:
				rte_pktmbuf_free(m[i]);
			}
		}
		for (unsigned i = 0; i < nr; i += BURST) {
			uint16_t b = (uint16_t)(nr - i < BURST ? nr - i : BURST);

			if (h_run(TP_PORT_TRANSIT, resp + i, b) != 0) /* to the control thread */
				return -3;
			h_flush();
		}
		H.now_ns += 1000000; /* handshake timers: 1 ms a round */
		for (unsigned k = 0; k < PEERS; k++)
			tp_tunnel_tick(R[k].tun);
	}
	h_worker(0);
	return up == PEERS ? 0 : -4;
}

static bool store_init(struct store *s, unsigned max, size_t frame_max)
{
	s->cap = (size_t)max * frame_max;
	s->buf = malloc(s->cap);
	s->off = calloc(max, sizeof(*s->off));
	s->len = calloc(max, sizeof(*s->len));
	s->max = max;
	s->n = 0;
	s->used = 0;
	return s->buf && s->off && s->len;
}

static void store_free(struct store *s)
{
	free(s->buf);
	free(s->off);
	free(s->len);
}

static bool store_add(struct store *s, const uint8_t *frame, size_t len)
{
	if (s->n == s->max || s->used + len > s->cap)
		return false;
	memcpy(s->buf + s->used, frame, len);
	s->off[s->n] = (uint32_t)s->used;
	s->len[s->n++] = (uint16_t)len;
	s->used += len;
	return true;
}

/* Egress flow f of a row: HOST:40000+f -> its peer's zone, port 5000;
 * a host per kind of row (a host's flows are limited: flow_quota_host). */
static unsigned flow_peer(unsigned f, unsigned peers)
{
	return peers == 1 ? 0 : f % PEERS;
}

static const char *flow_host(unsigned peers)
{
	return peers == 1 ? "10.1.0.10" : "10.1.0.11";
}

/* Egress frames of a row's flows, one per flow. */
static bool egress_frames(struct store *s, size_t size, unsigned peers)
{
	for (unsigned f = 0; f < FLOWS; f++) {
		uint8_t frame[1600];
		char dst[32];

		peer_net(flow_peer(f, peers), NULL, 0, dst, sizeof(dst));
		memcpy(frame, h_mac_tp, 6);
		memcpy(frame + 6, h_mac_nh, 6);
		frame[12] = 0x08;
		frame[13] = 0;
		h_ip4(frame + 14, size, 17, flow_host(peers), dst, (uint16_t)(40000 + f), 5000);
		if (!store_add(s, frame, 14 + size))
			return false;
	}
	return true;
}

/* PASS_IN ciphertexts of the replies of the row's flows, each sealed by
 * its flow's peer, in flow order. */
static bool ingress_frames(struct store *s, size_t size, unsigned peers)
{
	s->n = 0;
	s->used = 0;
	for (unsigned j = 0; j < PASS_IN; j++) {
		unsigned f = j % FLOWS, k = flow_peer(f, peers);
		uint8_t buf[2048];
		struct tp_tunnel_pkt p = {.data = buf, .len = (uint32_t)(16 + size), .cap = 2048};
		struct rte_mbuf *m;
		char src[32];
		bool ok;

		peer_net(k, NULL, 0, src, sizeof(src));
		h_ip4(buf + 16, size, 17, src, flow_host(peers), 5000, (uint16_t)(40000 + f));
		if (!tp_tunnel_res_ok(tp_tunnel_encrypt(R[k].tun, R[k].peer, &p)))
			return false;
		m = transit_frame(k, buf, p.len);
		if (!m)
			return false;
		ok = store_add(s, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m));
		rte_pktmbuf_free(m);
		if (!ok)
			return false;
	}
	return true;
}

/* RSS on the zone port: a hash of the ports (not the owner hash). */
static unsigned rss_ports(unsigned f, unsigned n)
{
	uint32_t h = ((uint32_t)(40000 + f) << 16 | 5000u) * 2654435761u;

	return (unsigned)(((uint64_t)h * n) >> 32);
}

static void pin(int core)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(core, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		fprintf(stderr, "bench_workers: cannot pin to core %d; running unpinned\n", core);
}

/* Drain this worker's tx queues: the frames it delivered. */
static unsigned drain(unsigned q)
{
	struct rte_mbuf *m[64];
	unsigned got = 0, n;

	for (int r = 0; r < 2; r++) {
		while ((n = rte_ring_sc_dequeue_burst(H.txq[r][q], (void **)m, 64, NULL)) > 0) {
			rte_pktmbuf_free_bulk(m, n);
			got += n;
		}
	}
	return got;
}

/* One worker for one pass: its frames through its port, the poll hook
 * every iteration (as worker_main), until every worker's packets are
 * accounted for. */
static void *worker(void *arg)
{
	struct wk *w = arg;
	const struct tp_runtime_hooks *h = H.hooks;
	struct tp_stage_ctx ctx = {.cnt = tp_counters_slot(H.counters, w->index),
				   .worker = w->index,
				   .user = h->arg,
				   .queue = (uint16_t)w->index,
				   .now_ns = H.now_ns};
	struct tp_drop_vec dv = {.n = 0};
	struct rte_mbuf *pkts[BURST];
	unsigned next = 0, iter = 0, k;
	double idle_since = 0, cpu0;

	pin(w->core);
	/* an lcore id: the mempool's per-lcore cache, as an EAL worker has */
	if (rte_thread_register() != 0)
		fprintf(stderr, "bench_workers: rte_thread_register: %s\n",
			rte_strerror(rte_errno));
	atomic_fetch_add(&g_ready, 1);
	/* yield: worker 0 shares core 0 with the main thread, which starts
	 * the pass and then blocks in pthread_join */
	while (!atomic_load_explicit(&g_go, memory_order_acquire))
		sched_yield();
	cpu0 = thread_cpu_s();
	for (;;) {
		uint64_t out = 0;

		if (next < w->n) {
			uint16_t b = (uint16_t)(w->n - next < BURST ? w->n - next : BURST);

			if (rte_pktmbuf_alloc_bulk(H.pool, pkts, b) == 0) {
				for (uint16_t i = 0; i < b; i++) {
					unsigned f = w->idx[next + i];
					uint16_t len = w->st->len[f];

					memcpy(rte_pktmbuf_append(pkts[i], len),
					       w->st->buf + w->st->off[f], len);
				}
				next += b;
				ctx.in_role = (enum tp_port_role)w->role;
				b = tp_pipeline_run(h->stages[w->role], h->n_stages[w->role], &ctx,
						    pkts, b, &dv);
				h->flush(h->arg, &ctx, pkts, b, &dv);
				w->dropped += dv.n;
				out += dv.n;
				tp_pipeline_flush(&dv, ctx.cnt);
			}
		}
		h->poll(h->arg, &ctx, &dv);
		w->dropped += dv.n;
		out += dv.n;
		tp_pipeline_flush(&dv, ctx.cnt);
		k = drain(w->index);
		w->delivered += k;
		out += k;
		if (out)
			atomic_fetch_add_explicit(&g_done, out, memory_order_relaxed);
		if (next < w->n)
			continue;
		if (atomic_load_explicit(&g_done, memory_order_relaxed) >= g_total)
			break;
		if ((++iter & 1023) == 0) {
			if (!idle_since) {
				idle_since = now_s();
			} else if (now_s() - idle_since > STALL_S) {
				w->stalled = true;
				break;
			}
		}
	}
	w->cpu_s = thread_cpu_s() - cpu0;
	rte_thread_unregister();
	return NULL;
}

/* One pass: the frames listed for each worker; seconds it took. */
static double pass(struct wk *wk, unsigned total)
{
	double t0, el;

	atomic_store(&g_ready, 0);
	atomic_store(&g_go, false);
	atomic_store(&g_done, 0);
	g_total = total;
	for (unsigned i = 0; i < g_workers; i++) {
		wk[i].delivered = wk[i].dropped = 0;
		wk[i].stalled = false;
		if (pthread_create(&wk[i].th, NULL, worker, &wk[i]) != 0)
			return -1;
	}
	while (atomic_load(&g_ready) < g_workers)
		sched_yield();
	t0 = now_s();
	atomic_store_explicit(&g_go, true, memory_order_release);
	for (unsigned i = 0; i < g_workers; i++)
		pthread_join(wk[i].th, NULL);
	el = now_s() - t0;
	return el;
}

struct result {
	double mpps;
	uint64_t pkts;	       /* delivered in the timed passes */
	uint64_t offered;      /* received in the timed passes */
	uint64_t drops;	       /* in the row, any reason but handoff_full: it failed */
	uint64_t handoff_full; /* timed passes: handoff_full + crypt_queue_full */
	uint64_t handoff;      /* timed passes: handed to the owner */
	double timed_s, cpu_s; /* timed passes: wall time, the workers' CPU time */
	bool ok;
};

/* One row: a warm-up pass (it also opens the egress flows the ingress
 * rows' replies need), then passes until secs of them are timed. */
static struct result row(struct wk *wk, int role, unsigned peers, size_t size, double secs)
{
	struct result res = {.ok = true};
	struct store st;
	double timed = 0;
	struct tp_counters_totals t0, tw, t1; /* at the start, after the warm-up, at the end */
	uint64_t d0 = drop_sum(NULL, &t0);
	unsigned npass = role == TP_PORT_ZONE ? PASS_EG : PASS_IN;

	if (!store_init(&st, role == TP_PORT_ZONE ? FLOWS : PASS_IN, 14 + 80 + size + 32) ||
	    (role == TP_PORT_ZONE && !egress_frames(&st, size, peers))) {
		res.ok = false;
		goto out;
	}
	for (int p = 0; p == 0 || timed < secs; p++) {
		double el;
		uint64_t got = 0, dropped = 0;
		double cpu = 0;

		if (role == TP_PORT_TRANSIT && !ingress_frames(&st, size, peers)) {
			res.ok = false;
			break;
		}
		for (unsigned i = 0; i < g_workers; i++) {
			wk[i].n = 0;
			wk[i].st = &st;
			wk[i].role = role;
		}
		for (unsigned j = 0; j < npass; j++) {
			unsigned f = j % FLOWS, w = 0;

			if (role == TP_PORT_ZONE)
				w = rss_ports(f, g_workers);
			else if (peers > 1)
				w = flow_peer(f, peers) % g_workers;
			wk[w].idx[wk[w].n++] = role == TP_PORT_ZONE ? f : j;
		}
		el = pass(wk, npass);
		for (unsigned i = 0; i < g_workers; i++) {
			got += wk[i].delivered;
			dropped += wk[i].dropped;
			cpu += wk[i].cpu_s;
			res.ok &= !wk[i].stalled;
		}
		if (el < 0 || got + dropped != npass)
			res.ok = false;
		if (!res.ok)
			break;
		if (p == 0) { /* warm-up */
			tp_counters_sum(H.counters, &tw);
			continue;
		}
		timed += el;
		res.cpu_s += cpu;
		res.pkts += got;
		res.offered += npass;
	}
	res.mpps = timed > 0 ? (double)res.pkts / timed / 1e6 : 0;
	res.timed_s = timed;
out:
	res.drops = drop_sum(&t0, &t1) - d0 -
		    (t1.drop[TP_DROP_HANDOFF] - t0.drop[TP_DROP_HANDOFF]) -
		    (t1.drop[TP_DROP_CRYPT_FULL] - t0.drop[TP_DROP_CRYPT_FULL]);
	res.ok &= res.drops == 0;
	if (res.offered) {
		res.handoff_full = t1.drop[TP_DROP_HANDOFF] - tw.drop[TP_DROP_HANDOFF] +
				   t1.drop[TP_DROP_CRYPT_FULL] - tw.drop[TP_DROP_CRYPT_FULL];
		res.handoff = t1.stat[TP_STAT_HANDOFF_OUT] - tw.stat[TP_STAT_HANDOFF_OUT];
	}
	store_free(&st);
	return res;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {64, 1420};
	static const unsigned peer_counts[] = {1, PEERS};
	static struct wk wk[H_QUEUES_MAX];
	double secs = 2.0;
	unsigned workers = 1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const char *only = NULL; /* "DIR:PEERS:SIZE": that row alone */
	bool failed = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			workers = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--secs") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--smoke"))
			secs = 0.2;
		else if (!strcmp(argv[i], "--row") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: bench_workers --workers N [--secs S] [--smoke] "
					"[--row DIR:PEERS:SIZE]\n");
			return 2;
		}
	}
	if (workers < 1 || workers > H_QUEUES_MAX) {
		fprintf(stderr, "bench_workers: --workers 1..%d\n", H_QUEUES_MAX);
		return 2;
	}
	H.workers = workers;
	H.queues = workers;
	rc = h_setup("bench_workers");
	if (rc) {
		fprintf(stderr, "bench_workers: harness setup failed at step %d\n", -rc);
		return 1;
	}
	rc = add_peers();
	if (rc) {
		fprintf(stderr, "bench_workers: 64 peers: failed at step %d\n", -rc);
		return 1;
	}
	g_workers = workers;
	for (unsigned i = 0; i < workers; i++) {
		wk[i].index = i;
		/* one worker on core 1, two on 0 and 1 */
		wk[i].core = (int)((i + (workers == 1)) % (unsigned)(ncpu > 0 ? ncpu : 1));
		wk[i].idx = calloc(PASS_EG > PASS_IN ? PASS_EG : PASS_IN, sizeof(unsigned));
		if (!wk[i].idx)
			return 1;
	}
	printf("# bench_workers: %u worker(s), %.2f s per row, %ld cores online\n", workers, secs,
	       ncpu);
	for (int role = TP_PORT_ZONE; role <= TP_PORT_TRANSIT; role++) {
		for (size_t p = 0; p < 2; p++) {
			for (size_t s = 0; s < 2; s++) {
				const char *dir = role == TP_PORT_ZONE ? "egress" : "ingress";
				char name[32];
				struct result r;

				snprintf(name, sizeof(name), "%s:%u:%zu", dir, peer_counts[p],
					 sizes[s]);
				/* an ingress row needs its egress row's flows */
				if (only && strcmp(only, name) &&
				    !(role == TP_PORT_ZONE && !strncmp(only, "in", 2) &&
				      !strcmp(only + 2, name + 1)))
					continue;
				r = row(wk, role, peer_counts[p], sizes[s], secs);

				printf("row %s %u %zu %u %.4f %llu %llu %llu %llu %llu %.4f "
				       "%.4f%s\n",
				       dir, peer_counts[p], sizes[s], workers, r.mpps,
				       (unsigned long long)r.pkts, (unsigned long long)r.offered,
				       (unsigned long long)r.drops,
				       (unsigned long long)r.handoff_full,
				       (unsigned long long)r.handoff, r.timed_s, r.cpu_s,
				       r.ok ? "" : " FAILED");
				fflush(stdout);
				failed |= !r.ok;
			}
		}
	}
	for (unsigned i = 0; i < workers; i++)
		free(wk[i].idx);
	h_site_edit = NULL;
	for (unsigned k = 1; k < PEERS; k++)
		tp_tunnel_free(R[k].tun);
	h_teardown();
	return failed ? 1 : 0;
}
