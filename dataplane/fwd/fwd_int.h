/* SPDX-License-Identifier: MIT */
/*
 * Internals of dataplane/fwd, shared by its files:
 *   fwd.c      creation, hooks, worker poll, rings, views
 *   policy.c   publication of a policy (tp/ctrl/apply.h decides), XDP maps
 *   egress.c   the zone-port stage
 *   ingress.c  the transit-port stage
 *   xmit.c     headers (Ethernet, IPv4/IPv6, UDP), next-hop cache, ICMP too-big
 *   control.c  control thread: handshakes, tunnel ops, neighbours, peers
 *   export.c   the live state for the verification export
 *   rules.c    per-rule rate limits and the flow log (workers and drain)
 *   app.c      application-profile checks (Modbus/TCP) after the policy
 *
 * State and who writes it:
 *  - topo[]: per published policy generation, the view of the site the
 *    stages need (which TP is us, which peer serves which TP). Written by
 *    the control thread into slot gen % TOPO_SLOTS before the engine of
 *    that generation is published; read by workers via the engine's
 *    generation, so a worker never mixes one policy's engine with another's
 *    topology. A slot is reused only after a full grace period.
 *  - peers[]: one per remote TP public key, never moved or reused while
 *    running; .tun is set once (control), .ready is a flag (control sets,
 *    worker clears), .staged is an MP/MC ring.
 *  - nh[]: next-hop cache, destination address → MAC, a seqlock per entry;
 *    written by the control thread only.
 *  - per-worker: flow table, rule hits, ring of frames to send, wake fd,
 *    ring of flow-log records (worker → control thread).
 *  - topo[gen]->rules: the rules that limit or log, and one token bucket
 *    per limited rule and worker, made fresh (full) with every published
 *    generation and freed with its topology after a grace period; a
 *    bucket is written only by its worker.
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
#include "tp/policy/bundle.h"
#include "tp/policy/engine.h"
#include "tp/policy/flow.h"
#include "tp/dp/flowlog.h"
#include "tp/dp/fwd.h"
#include "tp/dp/tunnel.h"
#include "tp/dp/xdp.h"

#define TOPO_SLOTS	 8
#define NH_SLOTS	 256 /* next-hop cache entries (power of two) */
#define HITS_SLOTS	 1024
#define CTL_RING_SIZE	 1024
#define WRK_RING_SIZE	 1024
#define LOG_RING_SIZE	 1024 /* flow-log records per worker */
#define LOG_LINES_PER_S	 100  /* flow-log output cap */
#define RETIRE_MAX	 256
#define PEERS_MAX	 256
#define FWD_RULE_DEFAULT UINT32_MAX /* hits of the default decision */
#define ETH_HLEN	 14
#define UDP_HLEN	 8
#define IP4_HLEN	 20
#define IP6_HLEN	 40
/* Room in front of an inner packet for everything the tunnel puts there. */
#define OUTER_MAX	 (ETH_HLEN + IP6_HLEN + UDP_HLEN + TP_TUNNEL_HEADER_LEN)

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

struct fwd_worker {
	struct tp_flow_table *flows;
	struct rte_ring *tx;  /* frames from the control thread (meta->out_role) */
	struct rte_ring *log; /* struct tp_flowlog_rec, SP (this worker) / SC (control) */
	int wake_fd;
	uint64_t seen_gen; /* last generation whose re-check pass is done */
	uint64_t recheck_gen;
	uint32_t recheck_left; /* entries of the pass still to visit */
	uint64_t iter;
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

struct tp_fwd {
	struct tp_fwd_params p;
	const struct tp_config *cfg;
	struct tp_tunnel *tun;
	struct tp_policyrcu *rcu;
	struct tp_runtime_hooks hooks;
	struct fwd_topo *topo[TOPO_SLOTS];

	struct fwd_peer peers[PEERS_MAX];
	unsigned n_peers;

	struct fwd_nh nh[NH_SLOTS];
	uint64_t next_nh_refresh_ns;

	struct rte_ring *to_ctl; /* workers → control thread */
	int ctl_fd;		 /* eventfd: to_ctl has something */
	unsigned n_workers;
	struct fwd_worker w[TP_CONFIG_WORKERS_MAX];
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

	struct tp_flowlog_cap log_cap; /* control thread */

	struct retired retired[RETIRE_MAX];
	unsigned n_retired;

	/* policy publication (control thread) */
	struct tp_xdp *xdp_zone, *xdp_transit;
	int xdp_err;
	bool withdrawn; /* no engine published: inter-zone traffic dropped */

	/* Validity recompile (control thread, fwd_policy_tick). When the
	 * recompile at a validity boundary fails, the full site waits here
	 * (owned) and is retried every tick; meanwhile the zone pairs whose
	 * rules changed at the boundary are failed closed (or, if even that
	 * cannot be compiled, the whole engine is withdrawn). NULL: the
	 * running engine is the whole site. decided_at: a time the last
	 * complete engine was valid at. */
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

/* fwd.c */
static inline struct tp_counters_slot *ctl_slot(struct tp_fwd *f)
{
	return tp_counters_slot(f->p.counters, f->p.control_slot);
}
const struct fwd_topo *fwd_topo_of(const struct tp_fwd *f, const struct tp_engine *e);
void fwd_hit(struct fwd_worker *w, uint32_t rule_id);
void fwd_hit_limited(struct fwd_worker *w, uint32_t rule_id);
void fwd_hit_profile(struct fwd_worker *w, uint32_t rule_id);
void fwd_topo_free(struct fwd_topo *t);
void fwd_wake_worker(struct tp_fwd *f, unsigned worker);
int64_t fwd_wall_s(struct tp_fwd *f);
uint64_t fwd_wall_ns(struct tp_fwd *f);

/* xmit.c */
bool fwd_nh_lookup(const struct tp_fwd *f, uint8_t family, const uint8_t *addr, uint8_t mac[6]);
void fwd_nh_store(struct tp_fwd *f, uint8_t family, const uint8_t *addr, const uint8_t mac[6]);
void fwd_nh_refresh(struct tp_fwd *f);
/* Put Ethernet/IP/UDP in front of a tunnel message that starts at the
 * mbuf's data; dst is the peer's endpoint. The message must be final: the
 * UDP checksum (mandatory over IPv6) is computed over it here. */
int fwd_encap(struct tp_fwd *f, struct rte_mbuf *m, const struct tp_tunnel_endpoint *dst);
/* Ethernet header in front of an IP packet at the mbuf's data. */
int fwd_push_eth(struct tp_fwd *f, struct rte_mbuf *m, enum tp_port_role out, uint8_t family);
/* Fill the destination MAC from the cache, or note the next hop in meta
 * and return false (the caller hands it to the control thread). */
bool fwd_resolve(struct tp_fwd *f, struct rte_mbuf *m, enum tp_port_role out, uint8_t family,
		 const uint8_t *nexthop);
/* An ICMP too-big answer to the frame m (as received on the zone port);
 * NULL when none could be built. */
struct rte_mbuf *fwd_icmp_too_big(struct tp_fwd *f, struct rte_mbuf *m, uint16_t mtu);
bool fwd_ttl_dec(struct rte_mbuf *m);

/* egress.c / ingress.c */
uint16_t fwd_stage_egress(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			  struct tp_drop_vec *dv);
uint16_t fwd_stage_ingress(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			   struct tp_drop_vec *dv);
/* Encrypt inner packets (data at the tunnel header room) for one peer and
 * encapsulate; survivors first; the rest are staged or dropped here. */
uint16_t fwd_encrypt_peer(struct tp_fwd *f, struct tp_stage_ctx *ctx, unsigned peer,
			  struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv,
			  bool from_staged);
/* Hand m to the control thread (kind in meta); false: ring full. */
bool fwd_to_control(struct tp_fwd *f, struct rte_mbuf *m, enum ctl_kind kind);
/* Send frames out of a port on this worker's queue; the rest dropped. */
void fwd_tx(struct tp_fwd *f, struct tp_stage_ctx *ctx, enum tp_port_role out,
	    struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv);

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

/* The drop reason of a flow-table result that does not pass. */
static inline enum tp_drop fwd_flow_drop(enum tp_flow_result r)
{
	switch (r) {
	case TP_FLOW_DROP_QUOTA_HOST:
		return TP_DROP_FLOW_QUOTA_HOST;
	case TP_FLOW_DROP_QUOTA_PAIR:
		return TP_DROP_FLOW_QUOTA_PAIR;
	case TP_FLOW_DROP_NO_POLICY:
		return TP_DROP_NO_POLICY;
	default:
		return TP_DROP_POLICY;
	}
}

/* app.c */
/* After the flow table passed a packet (fp parsed from ip): TP_DROP_NONE,
 * or the profile's reason to drop it (counted per rule: fwd_hit_profile). */
enum tp_drop fwd_app_check(struct fwd_worker *w, const struct tp_engine *e,
			   const struct tp_flow_pkt *fp, const struct tp_decision *dec,
			   const uint8_t *ip);

#endif /* FWD_INT_H */
