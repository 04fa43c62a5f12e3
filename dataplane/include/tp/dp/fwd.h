/* SPDX-License-Identifier: MIT */
/*
 * Forwarding: the stages that join the zone port and the transit port
 * through the tunnel and the policy (DESIGN.md §3), and the control-thread
 * half that feeds them (policy publication, tunnel peers and handshakes,
 * next hops).
 *
 * The stages (dataplane/fwd/stage_*.c, in this order; dataplane/README.md
 * draws them), each a burst function of tp/dp/pipeline.h:
 *
 *   zone port:    parse → zone (source hosted here, else "spoof") →
 *                 police (flow table / policy, rate limit, profile) →
 *                 route (TTL; same TP: back out of the zone port; else the
 *                 peer of the TP hosting the destination, MTU with ICMP
 *                 too-big back) → encrypt (burst per peer; no session:
 *                 staged per peer) → l2 (UDP/IP, Ethernet to the next
 *                 hop's MAC from the kernel; unresolved: held by the
 *                 control thread) → transit port
 *   transit port: parse → decrypt (types 1–3 to the control thread; type
 *                 4 decrypted in one burst: index, keypair, replay) → zone
 *                 (inner source hosted by that peer? destination hosted
 *                 here?) → police (authoritative) → route → l2 (Ethernet
 *                 to the host) → zone port
 *
 * Every packet leaves through a named exit (either port, the control
 * thread, a peer's staging ring, consumed) or is dropped with a reason;
 * one flush per burst (dataplane/fwd/exit.c) sends, enqueues and frees.
 *
 * Threads. One control thread calls the tp_fwd_control_* / apply / view
 * functions; workers run the stages and the poll hook (tp_fwd_hooks). A
 * worker owns its flow table and its tx queues; the control thread never
 * touches either: frames it emits (handshakes, packets released by a
 * resolved neighbour) go to a worker through that worker's
 * ring. Policies are published through tp_policyrcu; keypairs and peers the
 * tunnel retires wait for the same workers' quiescent states.
 *
 * Both directions of a connection must reach the same worker (flow tables
 * are per worker): with one worker per tpd that holds trivially; with more,
 * AF_XDP queue steering is not symmetric between the two ports and replies
 * can be judged as new packets (documented limitation; see README).
 */
#ifndef TP_DP_FWD_H
#define TP_DP_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tp/base/clock.h"
#include "tp/dp/config.h"
#include "tp/dp/counters.h"
#include "tp/dp/neigh.h"
#include "tp/dp/runtime.h"

struct tp_fwd;
struct tp_site;
struct tp_engine;
struct tp_export;
struct tp_audit;

struct tp_fwd_params {
	const struct tp_config *cfg;
	const uint8_t *private_key; /* X25519, 32 bytes; copied into the tunnel */
	const uint8_t *public_key;  /* its public key: finds this TP in a site */
	struct tp_runtime *rt;	    /* opened: ports and pools exist */
	struct tp_counters *counters;
	unsigned control_slot; /* counter slot of the control thread */
	struct tp_clock clock;
	struct tp_neigh *neigh;		   /* NULL in memory mode: next hops from static_neigh */
	int zone_ifindex, transit_ifindex; /* 0 in memory mode */
	/* memory mode (tests, benchmarks): fixed addresses and next hop MAC */
	const uint8_t *transit_addr4;	/* 4 bytes, or NULL: from the interface */
	const uint8_t *zone_addr4;	/* 4 bytes, or NULL: from the interface */
	const uint8_t *transit_addr6;	/* 16 bytes, or NULL (with transit_addr4: none) */
	const uint8_t *zone_addr6;	/* 16 bytes, or NULL: from the interface */
	const uint8_t *static_mac;	/* 6 bytes: every next hop */
	uint64_t (*wall_ns)(void *ctx); /* Unix time; NULL: the system's */
	/* flow-log lines (control thread, no newline); NULL: stderr */
	void (*log)(void *arg, const char *line);
	void *log_arg;
	/* peer up/down and handshake failures (control thread); NULL: none */
	struct tp_audit *audit;
};

/* NULL with errno on failure (err says why). */
struct tp_fwd *tp_fwd_create(const struct tp_fwd_params *p, char *err, size_t errlen);
/* After the workers stopped. NULL is fine. */
void tp_fwd_free(struct tp_fwd *f);

/* What tp_runtime_set_hooks needs; valid as long as f. */
const struct tp_runtime_hooks *tp_fwd_hooks(struct tp_fwd *f);

/* [control] Zone-port XDP settings and empty tables: no policy yet. */
void tp_fwd_policy_init(struct tp_fwd *f);

/*
 * [control] The publish side of tp/ctrl/apply.h (the one apply path, which
 * has already checked, persisted and will record the bundle):
 * tp_fwd_accepts says whether this TP can run the site (its key is in
 * it); tp_fwd_publish makes engine (compiled from site) the running
 * policy: topology, RCU swap of the engine (flows re-checked by
 * generation), zone-port XDP tables. On 0 the engine is f's; site is
 * copied. A failed XDP table replace does not fail the publish (the
 * engine is the authority; XDP only drops early): it shows as
 * "xdp_tables" in tp_fwd_policy_json, and the export reads the tables
 * back from the kernel, so `tpolicy verify` sees any difference. tp_fwd_withdraw publishes no policy (no-policy, fail-closed):
 * inter-zone traffic is dropped until the next publish.
 */
bool tp_fwd_accepts(struct tp_fwd *f, const struct tp_site *site, char *why, size_t whylen);
int tp_fwd_publish(struct tp_fwd *f, const struct tp_site *site, struct tp_engine *engine);
void tp_fwd_withdraw(struct tp_fwd *f);

/* [control] The compiler used for the recompile at a validity boundary
 * (tp_engine_compile unless set): tests inject allocation failures. */
void tp_fwd_set_compile(struct tp_fwd *f,
			int (*compile)(const struct tp_site *site, int64_t now,
				       struct tp_engine **out, char *err, size_t errlen));

/* [control] fd to poll for POLLIN: workers handed something over. */
int tp_fwd_control_fd(const struct tp_fwd *f);
/* [control] Handle what workers handed over (handshakes, next hops). */
void tp_fwd_control_run(struct tp_fwd *f);
/* [control] Periodic: tunnel timers, reclamation, next-hop refresh,
 * policy validity. Call at least every 100 ms. */
void tp_fwd_control_tick(struct tp_fwd *f);
/* [control] The neighbour module's release callback (arg = f). */
void tp_fwd_neigh_release(void *arg, void *pkt, const uint8_t *mac);

/* [any thread] Packets decided per rule id (first packets of flows, and
 * every denied packet), summed over workers: fills up to max entries,
 * returns how many. Reads only counters, never the policy. */
size_t tp_fwd_rule_hits(const struct tp_fwd *f, uint32_t *ids, uint64_t *hits, size_t max);
/* [any thread] Packets dropped over a rule's rate limit, per rule id, the
 * same way (only rules that dropped something). */
size_t tp_fwd_rule_rate_limited(const struct tp_fwd *f, uint32_t *ids, uint64_t *n, size_t max);

/* [control] The live part of the verification export (tp/policy/export.h),
 * after the caller gave x the running policy (tp_export_set_policy):
 * peers as the tunnel holds them (endpoint, zones routed, handshake
 * state), the endpoints this TP serves, the XDP zone-pair table as the
 * kernel map holds it, the flow tables' fill and the rule hit counters.
 * 0 or -errno. */
int tp_fwd_export(struct tp_fwd *f, struct tp_export *x);

/* [control] Views (new JSON references). */
json_t *tp_fwd_policy_json(struct tp_fwd *f);
json_t *tp_fwd_peers_json(struct tp_fwd *f);
json_t *tp_fwd_zones_json(struct tp_fwd *f);
json_t *tp_fwd_flows_json(struct tp_fwd *f, unsigned max);
json_t *tp_fwd_rules_json(struct tp_fwd *f);  /* hits per rule */
json_t *tp_fwd_tunnel_json(struct tp_fwd *f); /* control-path counters */
json_t *tp_fwd_xdp_json(struct tp_fwd *f);    /* XDP programs: verdicts by reason */

#endif /* TP_DP_FWD_H */
