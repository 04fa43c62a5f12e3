/* SPDX-License-Identifier: MIT */
/*
 * Internals of dataplane/fwd, shared by its files.
 *
 * The data path, in the order a packet meets it (each a burst stage,
 * tp/dp/pipeline.h; fwd.c lists them per port):
 *   stage_decrypt.c  transit port only: handshakes to the control thread,
 *                    type 4 decrypted per burst, keepalives consumed, the
 *                    inner packet parsed
 *   stage_zone.c     source and destination zones, anti-spoofing
 *   stage_police.c   flow key, flow table and policy, rule hits, rate
 *                    limit and flow log (rules.c), application profile
 *   stage_route.c    this TP or a peer, TTL, MTU (ICMP too-big)
 *   stage_encrypt.c  zone port only: one tunnel burst per peer, staging
 *   stage_l2.c       outer UDP/IP, Ethernet, next-hop lookup
 *   exit.c           the exits and their flush: transmit, control ring,
 *                    staging rings, handoff rings, consumed
 * Beside it:
 *   stage_handoff.c  several workers: a packet to the worker owning its flow
 *   crypt.c    several workers: a long burst's decryption or encryption
 *              spread over them as jobs, finished in arrival order
 *   nexthop.c  the next-hop cache (control writes, workers read)
 *   rules.c    per-rule rate limits and the flow log (workers and drain)
 *   worker.c   the poll hook: frames from the control thread, staged
 *              packets, flow re-check and expiry, flow dumps
 *   fwd.c      creation, the stage lists and hooks, the control tick
 *   control.c  control thread: tunnel callbacks, handshakes, held frames,
 *              peers
 *   policy.c   publication of a policy (tp/ctrl/apply.h decides), XDP maps
 *   export.c   the live state for the verification export
 *   views.c    what tpctl shows
 *
 * State, split by who writes it (struct tp_fwd):
 *  - fixed: set by tp_fwd_create, read by all, never written after.
 *  - pub, [control] writes, [worker] reads, read-mostly and published:
 *    topo[]: per published policy generation, the view of the site the
 *    stages need (which TP is us, which peer serves which TP). Written
 *    into slot gen % TOPO_SLOTS before the engine of that generation is
 *    published (RCU, tp_policyrcu); read via the engine's generation, so
 *    a worker never mixes one policy's engine with another's topology. A
 *    slot is reused only after a full grace period. topo[gen]->rules: the
 *    rules that limit or log and a token bucket per limited rule and
 *    worker, fresh with every generation, freed with its topology; a
 *    bucket is written only by its worker.
 *    peers[]: one per remote TP public key, never moved or reused while
 *    running; .tun is set once, .ready is a flag (control sets, worker
 *    clears), .staged is an MP/MC ring, .staged_total a relaxed counter.
 *    nh[]: next-hop cache, destination address → MAC, a seqlock per entry.
 *  - ctl, [control] only: objects awaiting a grace period, the flow-log
 *    cap, XDP handles, the validity recompile.
 *  - w[i], [worker] i only (the control thread reads counters and
 *    snapshots under their seqlocks, and exchanges dumps by flags): flow
 *    table, rule hits, the burst's pinned policy and exits, the ring of
 *    frames to send (control → worker), the ring of flow-log records
 *    (worker → control), the wake fd.
 */
#ifndef FWD_INT_H
#define FWD_INT_H

#include <stdatomic.h>

#include <sys/socket.h>

#include <rte_ring.h>

/* tp/dp/pkt.h (through tp/dp/pipeline.h) before tp/policy/flow.h: both name the TCP
 * flags, pkt.h as an enum that flow.h's macros would otherwise rewrite */
#include "tp/dp/pipeline.h"

#include "tp/dp/policyrcu.h"
#include "tp/dp/ratelimit.h"
#include "tp/policy/bundle.h"
#include "tp/policy/engine.h"
#include "tp/policy/flow.h"
#include "tp/dp/flowlog.h"
#include "tp/dp/fwd.h"
#include "tp/dp/tunnel.h"
#include "tp/dp/xdp.h"

#define TOPO_SLOTS	   8
#define NH_SLOTS	   256 /* next-hop cache entries (power of two) */
#define HITS_SLOTS	   1024
#define CTL_RING_SIZE	   1024
#define WRK_RING_SIZE	   1024
#define HO_RING_SIZE	   2048 /* handoff ring, per pair of workers */
#define CQ_SLOTS	   64	/* crypto jobs in flight per worker (crypt.c) */
#define CJ_RING_SIZE	   128	/* job references, per pair of workers */
#define CJOB_MAX	   32	/* packets per crypto job */
#define CRYPT_SPREAD_BYTES 8192 /* a burst with this much to encrypt is spread */
#define CQ_STEAL_POLLS	   2	/* a job still queued at the head this many polls: taken back */
#define LOG_RING_SIZE	   1024 /* flow-log records per worker */
#define LOG_LINES_PER_S	   100	/* flow-log output cap */
#define RETIRE_MAX	   256
#define PEERS_MAX	   256
#define FWD_RULE_DEFAULT   UINT32_MAX /* hits of the default decision */
#define ETH_HLEN	   14
#define UDP_HLEN	   8
#define IP4_HLEN	   20
#define IP6_HLEN	   40
/* Room in front of an inner packet for everything the tunnel puts there. */
#define OUTER_MAX	   (ETH_HLEN + IP6_HLEN + UDP_HLEN + TP_TUNNEL_HEADER_LEN)

/* What the control thread does with an mbuf a worker hands it. */
enum ctl_kind {
	CTL_HANDSHAKE = 1, /* transit frame carrying a type 1–3 message */
	CTL_NEIGH = 2,	   /* complete frame but for the destination MAC */
};

struct fwd_rules;

struct fwd_topo {
	uint64_t gen;
	uint32_t self_tp;	 /* index into site->tps */
	struct tp_site *site;	 /* owned */
	struct fwd_rules *rules; /* owned; NULL: no rule limits or logs */
	uint32_t n_tps;
	uint32_t peer_of_tp[]; /* index into f->peers, UINT32_MAX: none (self) */
};

struct fwd_peer {
	struct tp_tunnel_peer *tun; /* NULL: slot unused */
	uint8_t pubkey[TP_TUNNEL_KEY_LEN];
	char name[TP_NAME_MAX];
	struct rte_ring *staged; /* inner packets waiting for a session */
	atomic_bool ready;	 /* a session came up: workers flush staged */
	atomic_uint_fast64_t staged_total;
	bool audited_up; /* the audit trail said "peer-up" last, control thread */
	/* [control] the endpoint the site last configured (family 0: none);
	 * compared with each new site, not with the roamed endpoint, so a
	 * publish changes the endpoint only when the operator did */
	struct tp_tunnel_endpoint cfg_ep;
};

struct fwd_nh {
	atomic_uint seq; /* odd while the control thread writes */
	uint8_t valid;
	uint8_t family;
	uint8_t addr[16];
	uint8_t mac[6];
};

struct fwd_hit {
	uint32_t id;	  /* 0: free */
	uint64_t n;	  /* written by the owner with relaxed stores */
	uint64_t limited; /* packets over the rule's rate limit, the same way */
	uint64_t profile; /* segments its application profile refused, the same way */
};

/*
 * Where a packet leaves a burst other than on to the next stage: every
 * stage hands such a packet to one of these named exits (or drops it with
 * a reason into the burst's tp_drop_vec), and fwd_exit_flush (exit.c),
 * run once after the burst's last stage, is the one place that transmits,
 * enqueues and frees them. The burst's survivors are the exit "transmit on
 * the other port".
 */
enum fwd_exit {
	FWD_EXIT_TX_ZONE = TP_PORT_ZONE,       /* transmit on the zone port */
	FWD_EXIT_TX_TRANSIT = TP_PORT_TRANSIT, /* transmit on the transit port */
	FWD_EXIT_CONTROL,  /* to the control thread; meta->ctl_kind says what for */
	FWD_EXIT_STAGED,   /* its peer's staging ring (meta->peer) until a session */
	FWD_EXIT_HANDOFF,  /* the worker that owns its flow (meta->to_worker) */
	FWD_EXIT_CONSUMED, /* an authenticated keepalive: nothing to forward */
	FWD_EXIT__COUNT
};

/* The exits of one burst; emptied by every fwd_exit_flush. */
struct fwd_exits {
	uint16_t n[FWD_EXIT__COUNT];
	struct rte_mbuf *pkts[FWD_EXIT__COUNT][TP_BURST_MAX];
};

/* A crypto job (crypt.c): a run of one burst's tunnel packets, decrypted
 * or encrypted by whichever worker claims it. state: seq << 2 | CJ_*. */
enum { CJ_QUEUED = 1, CJ_CLAIMED = 2, CJ_DONE = 3 };
enum fwd_cjob_kind { CJOB_DECRYPT, CJOB_ENCRYPT };

struct fwd_cjob {
	_Atomic uint64_t state;
	uint8_t kind;  /* enum fwd_cjob_kind */
	uint16_t n;    /* packets */
	uint16_t ok;   /* the tunnel burst's successes (tp[0..ok)) */
	uint32_t peer; /* encrypt: index into f->pub.peers */
	struct tp_tunnel_pkt tp[CJOB_MAX];
	struct rte_mbuf *m[CJOB_MAX]; /* by tp[].tag */
} __attribute__((aligned(64)));

/* [worker] A worker's ordered queue of jobs in flight: seq head..tail-1,
 * slot seq % CQ_SLOTS. Only the owner moves head and tail. */
struct fwd_cq {
	uint64_t head, tail;
	uint64_t stall_seq; /* the head job the last polls found not done */
	unsigned stall_polls;
	struct fwd_cjob slot[CQ_SLOTS];
};

struct fwd_worker {
	/* the policy one burst is judged by, pinned by its first forwarding
	 * stage (fwd_burst_begin): every stage of a burst sees one engine
	 * and its topology, whatever the control thread publishes meanwhile */
	const struct tp_engine *e;
	const struct fwd_topo *topo; /* NULL: no policy */
	struct fwd_exits x;
	struct tp_flow_table *flows;
	struct rte_ring *tx;  /* frames from the control thread (meta->out_role) */
	struct rte_ring *log; /* struct tp_flowlog_rec, SP (this worker) / SC (control) */
	int wake_fd;
	/* handoff: ho[s] carries packets worker s received for flows this
	 * worker owns (SP: worker s, SC: this worker) */
	struct rte_ring *ho[TP_CONFIG_WORKERS_MAX];
	/* crypto spread over the workers (crypt.c): cq, this worker's jobs in
	 * flight, in arrival order; cj[s], references to jobs worker s posted
	 * for this one to run (SP: worker s, SC: this worker) */
	struct fwd_cq *cq;
	struct rte_ring *cj[TP_CONFIG_WORKERS_MAX];
	uint64_t seen_gen; /* last generation whose re-check pass is done */
	uint64_t recheck_gen;
	uint32_t recheck_left; /* entries of the pass still to visit */
	uint64_t iter;
	/* the ICMP errors (too-big) this worker may still send: a zone host
	 * that floods DF packets above the MTU gets icmp_errors_per_s answers
	 * a second, not one per packet (RFC 4443 2.4(f) requires a limit,
	 * configurable, for ICMPv6; RFC 1812 4.3.2.8 asks one for ICMPv4),
	 * and the pool of generated frames stays for handshakes */
	struct tp_ratelimit icmp_err;
	struct fwd_hit hits[HITS_SLOTS];
	/* flow dump on request of the control thread */
	atomic_uint dump_req, dump_done;
	json_t *dump;
	unsigned dump_max;
	struct tp_flow_counters fc; /* snapshot, refreshed by the owner */
	atomic_uint fc_seq;
	size_t flow_count;
} __attribute__((aligned(64)));

struct retired {
	void *obj;
	void (*free_fn)(void *);
	uint64_t token;
};

/*
 * [control] Written and read by the control thread only.
 */
struct fwd_ctl {
	struct retired retired[RETIRE_MAX]; /* awaiting a grace period, oldest first */
	unsigned n_retired;
	uint64_t next_nh_refresh_ns;
	struct tp_flowlog_cap log_cap; /* flow-log output cap */

	/* policy publication */
	struct tp_xdp *xdp_zone, *xdp_transit;
	int xdp_err;
	bool withdrawn; /* no engine published: inter-zone traffic dropped */

	/* Validity recompile (fwd_policy_tick). When the recompile at a
	 * validity boundary fails, the full site waits here (owned) and is
	 * retried every tick; meanwhile the zone pairs whose rules changed
	 * at the boundary are failed closed (or, if even that cannot be
	 * compiled, the whole engine is withdrawn). NULL: the running engine
	 * is the whole site. decided_at: a time the last complete engine was
	 * valid at. */
	struct tp_site *undecided;
	uint32_t undecided_self;
	int64_t decided_at;
	uint64_t partial_gen;	   /* generation of the engine without those pairs */
	uint64_t recompile_failed; /* failed recompiles (every attempt) */
	uint64_t pairs_failed_closed;
	uint64_t engine_withdrawn;
	int (*compile)(const struct tp_site *site, int64_t now, struct tp_engine **out, char *err,
		       size_t errlen); /* tp_engine_compile; tests inject failures */
};

/*
 * Read-mostly and published: written by the control thread, read by the
 * workers without a lock, each the way its declaration says — topo[]
 * through the engine's generation and RCU (QSBR) grace periods, peers[]
 * set once per slot before n_peers (release) counts it, nh[] under a
 * seqlock per entry.
 */
struct fwd_pub {
	struct fwd_topo *topo[TOPO_SLOTS];
	struct fwd_peer peers[PEERS_MAX];
	unsigned n_peers;
	struct fwd_nh nh[NH_SLOTS];
};

struct tp_fwd {
	/* fixed: set by tp_fwd_create, read by every thread, never written
	 * after (the objects pointed to have their own rules: the tunnel's
	 * thread model is tp/dp/tunnel.h's, to_ctl is MP/SC) */
	struct tp_fwd_params p;
	const struct tp_config *cfg;
	struct tp_tunnel *tun;
	struct tp_policyrcu *rcu;
	struct tp_runtime_hooks hooks;
	struct rte_ring *to_ctl; /* workers → control thread */
	int ctl_fd;		 /* eventfd: to_ctl has something */
	unsigned n_workers;
	uint64_t owner_key; /* tp/dp/owner.h: random per tpd */
	/* the stages after the handoff, per port: where a handed-off packet
	 * resumes on its owner */
	const tp_stage_fn *after_handoff[TP_PORT__COUNT];
	unsigned n_after_handoff[TP_PORT__COUNT];
	/* and where a packet resumes after its crypto job (crypt.c): the
	 * stages after decrypt (transit) and after encrypt (zone) */
	const tp_stage_fn *after_crypt[TP_PORT__COUNT];
	unsigned n_after_crypt[TP_PORT__COUNT];
	struct rte_mempool *gen_pool; /* generated frames (handshakes, ICMP) */
	uint16_t port[2];
	uint8_t mac[2][6];
	uint8_t addr4[4]; /* transit source addresses */
	uint8_t addr6[16];
	bool has4, has6;
	uint8_t zone_addr4[4]; /* zone port address: source of ICMP errors */
	uint8_t zone_addr6[16];
	bool has_zone4, has_zone6;
	uint16_t transit_mtu;
	uint16_t inner_mtu4, inner_mtu6; /* by the peer's outer family */

	struct fwd_pub pub;			    /* [control] writes, [worker] reads */
	struct fwd_ctl ctl;			    /* [control] only */
	struct fwd_worker w[TP_CONFIG_WORKERS_MAX]; /* [worker] w[i]: worker i's */
};

/* fwd.c */
static inline struct tp_counters_slot *ctl_slot(struct tp_fwd *f)
{
	return tp_counters_slot(f->p.counters, f->p.control_slot);
}
const struct fwd_topo *fwd_topo_of(const struct tp_fwd *f, const struct tp_engine *e);
/* [worker] Pin the running policy for this burst (w->e, w->topo). */
void fwd_burst_begin(struct tp_fwd *f, struct fwd_worker *w);
void fwd_topo_free(struct fwd_topo *t);
/* [control] Wake worker i whether it blocks or not (its wake fd keeps the
 * signal until it reads it): frames to send, a dump request, a session
 * up. Between workers, on the hot path, tp_runtime_wake instead. */
void fwd_wake_worker(struct tp_fwd *f, unsigned worker);
int64_t fwd_wall_s(struct tp_fwd *f);
uint64_t fwd_wall_ns(struct tp_fwd *f);

/*
 * The stages, each a burst function (tp/dp/pipeline.h): survivors first in
 * their order, the rest handed to a named exit (fwd_exit) or dropped with
 * a reason. In the order they run:
 *   zone port:    tp_stage_parse, zone, police, route, encrypt, l2
 *   transit port: tp_stage_parse, decrypt, zone, police, route, l2
 * then fwd_exit_flush.
 */
/* stage_decrypt.c: handshakes to the control thread, type 4 decrypted in
 * one burst, keepalives consumed, the inner packet parsed and made the
 * mbuf's data (meta->info describes it, meta->peer is its sender). */
uint16_t fwd_stage_decrypt(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv);
/* stage_handoff.c: a packet whose flow another worker owns (tp/dp/owner.h)
 * leaves by the handoff exit; the rest stay. Several workers only. */
uint16_t fwd_stage_handoff(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv);
/* [worker] Packets other workers handed this one: the rest of their
 * port's stages, then their exits. Returns how many it took. */
unsigned fwd_handoff_take(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv);

/* stage_decrypt.c: after the tunnel burst over tp[0..k) (ok successes,
 * mbufs by tag in mb): drops, keepalives, the inner packet parsed;
 * survivors into out in tp[] order (arrival order). Returns their count. */
uint16_t fwd_decrypt_finish(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_tunnel_pkt *tp,
			    struct rte_mbuf **mb, unsigned k, unsigned ok, struct rte_mbuf **out,
			    struct tp_drop_vec *dv);
/* stage_encrypt.c: the same for an encryption burst for one peer:
 * messages trimmed into out, no key: staged (from_staged: see
 * fwd_encrypt_peer), other failures dropped. */
uint16_t fwd_encrypt_finish(struct tp_fwd *f, struct tp_stage_ctx *ctx, unsigned peer,
			    struct tp_tunnel_pkt *tp, struct rte_mbuf **mb, unsigned k, unsigned ok,
			    struct rte_mbuf **out, struct tp_drop_vec *dv, bool from_staged);

/* crypt.c: one tunnel's crypto over several workers, in order */
/* [worker] Should the k tunnel packets tp[0..k) of this worker's burst be
 * spread (several workers, and CRYPT_SPREAD_BYTES of messages, or jobs in
 * flight that they must not overtake)? */
bool fwd_crypt_spread(const struct tp_fwd *f, const struct fwd_worker *w,
		      const struct tp_tunnel_pkt *tp, unsigned k);
/* [worker] Park tp[0..k) (mbufs by tag in mb) as jobs in this worker's
 * queue, post the other workers' shares and run its own. False (nothing
 * parked) when the queue has no room: the caller drops them. */
bool fwd_crypt_post(struct tp_fwd *f, struct tp_stage_ctx *ctx, enum fwd_cjob_kind kind,
		    uint32_t peer, const struct tp_tunnel_pkt *tp, struct rte_mbuf **mb,
		    unsigned k);
/* [worker] Poll hook: run the jobs other workers posted for this one,
 * then finish this worker's done jobs in order and resume their packets.
 * Returns the work done (non-zero while jobs are in flight). */
unsigned fwd_crypt_poll(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv);
/* Creation and teardown of a worker's queue and rings (workers stopped:
 * the mbufs in flight are freed). */
int fwd_crypt_init(struct tp_fwd *f, unsigned worker);
void fwd_crypt_fini(struct tp_fwd *f, unsigned worker);

/* stage_zone.c: source and destination zones (meta->src_zone, dst_zone);
 * the source must be hosted by the sender (this TP, or the peer). */
uint16_t fwd_stage_zone(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			struct tp_drop_vec *dv);
/* stage_police.c: flow table and policy, rule hits, rate limits and flow
 * log (rules.c), application profile. */
uint16_t fwd_stage_police(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			  struct tp_drop_vec *dv);
/* stage_route.c: local or a peer (meta->out_role, meta->peer), TTL, MTU
 * (ICMP too-big back); a packet for a peer becomes [header room][inner]. */
uint16_t fwd_stage_route(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			 struct tp_drop_vec *dv);
/* stage_encrypt.c: one tunnel burst per peer; no session: staged. */
uint16_t fwd_stage_encrypt(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv);
/* stage_l2.c: outer UDP/IP for a peer, Ethernet towards the next hop
 * (unresolved: to the control thread); a frame for the port the burst
 * came in on leaves by its transmit exit, the rest survive. */
uint16_t fwd_stage_l2(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		      struct tp_drop_vec *dv);

/* stage_police.c: the rule-hit counters of a worker (its slots). */
void fwd_hit(struct fwd_worker *w, uint32_t rule_id);
void fwd_hit_limited(struct fwd_worker *w, uint32_t rule_id);
void fwd_hit_profile(struct fwd_worker *w, uint32_t rule_id);

/* stage_route.c */
/* The inner MTU towards one peer, looked up once per run of its packets. */
struct fwd_route_mtu {
	uint32_t peer; /* UINT32_MAX: none yet */
	uint16_t mtu;
};
/* [worker] What the route stage will do with m, without doing it: the
 * reason it will drop m, or TP_DROP_NONE (*peer: the peer it leaves by,
 * UINT32_MAX for this TP). The police stage asks before it commits a new
 * flow, so that a packet route drops leaves no flow (tp/policy/flow.h). */
enum tp_drop fwd_route_check(struct tp_fwd *f, const struct fwd_worker *w, enum tp_port_role in,
			     struct fwd_route_mtu *c, struct rte_mbuf *m, uint32_t *peer);
/* An ICMP too-big answer to the frame m (as received on the zone port);
 * NULL when none could be built. */
struct rte_mbuf *fwd_icmp_too_big(struct tp_fwd *f, struct tp_counters_slot *cnt,
				  struct rte_mbuf *m, uint16_t mtu);

/* stage_encrypt.c: encrypt inner packets ([header room][inner]) for one
 * peer; survivors (messages) first; no session: staged (from_staged: the
 * session went away again, the peer is not ready any more). */
uint16_t fwd_encrypt_peer(struct tp_fwd *f, struct tp_stage_ctx *ctx, unsigned peer,
			  struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv,
			  bool from_staged);

/* stage_l2.c (also the control thread's, for handshake frames) */
/* Put UDP/IP/Ethernet in front of a tunnel message that starts at the
 * mbuf's data; dst is the peer's endpoint. The message must be final: the
 * UDP checksum (mandatory over IPv6) is computed over it here. 0,
 * -EAFNOSUPPORT (no transit address of dst's family) or -ENOSPC. */
int fwd_encap(struct tp_fwd *f, struct rte_mbuf *m, const struct tp_tunnel_endpoint *dst);
/* Ethernet header in front of an IP packet at the mbuf's data. */
int fwd_push_eth(struct tp_fwd *f, struct rte_mbuf *m, enum tp_port_role out, uint8_t family);
/* Fill the destination MAC from the cache, or note the next hop in meta
 * and return false (the caller hands it to the control thread). */
bool fwd_resolve(struct tp_fwd *f, struct rte_mbuf *m, enum tp_port_role out, uint8_t family,
		 const uint8_t *nexthop);

/* nexthop.c: the next-hop cache (workers read, control thread writes) */
bool fwd_nh_lookup(const struct tp_fwd *f, uint8_t family, const uint8_t *addr, uint8_t mac[6]);
void fwd_nh_store(struct tp_fwd *f, uint8_t family, const uint8_t *addr, const uint8_t mac[6]);
void fwd_nh_refresh(struct tp_fwd *f);

/* exit.c */
static inline void fwd_exit(struct fwd_worker *w, struct rte_mbuf *m, enum fwd_exit e)
{
	w->x.pkts[e][w->x.n[e]++] = m;
}
/* [worker] The one place packets leave: the survivors pkts[0..n) out of
 * the port the burst did not come in on, then every exit of the burst
 * (transmit, control ring, staging rings, consumed). What a queue or ring
 * refuses is dropped into dv (tp_pipeline_flush frees the drops). */
void fwd_exit_flush(struct tp_fwd *f, struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		    struct tp_drop_vec *dv);

/* worker.c: the worker hooks of tp_runtime_hooks besides the stages */
unsigned fwd_poll(void *arg, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv);
void fwd_idle(void *arg, unsigned worker, bool sleeping);
/* Handoffs or crypto jobs other workers left this one (the runtime asks
 * before the worker blocks; they call tp_runtime_wake after enqueueing). */
bool fwd_pending(void *arg, unsigned worker);
int fwd_wake_fd(void *arg, unsigned worker);

/* control.c */
int fwd_control_init(struct tp_fwd *f, char *err, size_t errlen);
void fwd_control_fini(struct tp_fwd *f);
/* Peer slot for a remote TP (added to the tunnel when new); UINT32_MAX on
 * failure. */
uint32_t fwd_peer_get(struct tp_fwd *f, const struct tp_tpoint *tp);
void fwd_retire_reclaim(struct tp_fwd *f, bool wait);

/* rules.c */
/* The rules of site that limit or log, with fresh buckets for every
 * worker; NULL with *err == 0 when there are none, NULL with -ENOMEM. */
struct fwd_rules *fwd_rules_new(const struct tp_fwd *f, const struct tp_site *site,
				uint32_t self_tp, int *err);
void fwd_rules_free(struct fwd_rules *r);
/* [worker] After the flow table classified a packet (fp) as r with
 * decision dec: push a flow-log record when a logging rule decided a new
 * flow, and charge the rule's bucket with the packets of its forward
 * direction. False: over the limit (the caller drops it as rate_limited). */
bool fwd_rules_check(struct tp_fwd *f, struct tp_stage_ctx *ctx, const struct fwd_topo *t,
		     enum tp_flow_result r, const struct tp_decision *dec,
		     const struct tp_flow_pkt *fp, enum tp_flowlog_side side);
/* [control] Write the queued flow-log records through the log callback. */
void fwd_flowlog_drain(struct tp_fwd *f);

/* policy.c */
void fwd_policy_tick(struct tp_fwd *f);

#endif /* FWD_INT_H */
