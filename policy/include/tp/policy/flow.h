/* SPDX-License-Identifier: MIT */
/*
 * The flow table: which connections the policy admitted, so that their
 * packets in both directions pass without a rule lookup (DESIGN.md §7.4),
 * and so that a policy change can cut what it no longer allows (§7.6).
 *
 * Ownership and threads: a table has exactly one writer, the worker lcore
 * that owns it, and no concurrent reader; every call below must come from
 * that thread (tpctl's flow dump is served by asking the worker). Both
 * directions of a connection must therefore reach the same worker: the
 * dataplane steers with a symmetric hash (tp_flow_pkt_hash()). The compiled
 * engine passed in is read only and protected by the caller's grace period.
 *
 * Entries are keyed canonically — the two (address, port) ends in sorted
 * order — so one lookup finds a connection in either direction; the entry
 * remembers which end initiated. Only ICMP echo makes ICMP flows: an echo
 * request opens one, keyed by the echo identifier (the port of both ends),
 * and the flow admits requests from its initiator and replies from its
 * responder, nothing else; every other ICMP packet is judged on its own
 * and creates no flow. Each entry is stamped with the generation of the
 * engine that admitted it and the deciding rule; a packet that finds an
 * entry of an older generation first re-checks the initiator's packet
 * against the current engine, and the entry is cut (counted as revoked)
 * unless a stateful rule still allows it. tp_flow_recheck() does the same
 * eagerly, a bounded number of entries at a time.
 *
 * Generations are those tp_engine_publish() assigns; an engine that was
 * never published has generation 0, so tables fed by unpublished engines
 * (offline tools, tests) must not mix two of them.
 *
 * Memory: 112 bytes per entry plus 8 per entry of buckets plus 64 per
 * entry of application-profile stream state (a separate array, so that
 * lookups touch only the entries) plus about 32 per entry for the host
 * counters, all allocated at creation (about 210 MiB for 1M entries).
 *
 * Application profiles (Modbus/TCP, tp/policy/modbus.h): a flow admitted by a
 * decision with profile set remembers it; tp_flow_app_check() then feeds
 * every payload-carrying segment from the initiator (the client) to the
 * flow's stream checker, which follows the client's sequence numbers from
 * its SYN. There is no mid-stream pickup for such flows: an entry created
 * from a mid-stream packet (loose pickup, or after its entry was evicted
 * or expired, or a policy update that adds a profile to a running flow)
 * has no stream state, and its payload is refused (no_stream) until the
 * client opens a new connection. Responder payload is not checked.
 *
 * Sharing (§7.5): capacity is fixed at creation, and no host can take the
 * table from others. A new flow is refused (counted, TP_FLOW_DROP_QUOTA_*)
 * when its initiating host already holds quota_host entries or its zone
 * pair quota_zone_pair (or it is a new pair while 65536 others hold
 * flows: the pair counters are preallocated). When the table is full,
 * expired entries go first, then the least recently used (to within
 * relink_ms) entry that has not been answered — half-open or loosely
 * picked-up TCP, closing TCP, UDP, ICMP or other flows that saw no packet
 * from the responder — and only when there is none the least recently
 * used of the others; evictions are counted. A new flow is never let through unevaluated. Idle timeouts
 * are per protocol (TCP established and transitory, UDP, ICMP, other).
 *
 * Nothing is created for a packet that is dropped: tp_flow_decide() only
 * reserves the entry of a new flow, and the caller commits it with
 * tp_flow_commit() once every other check (rate limit, profile, TTL, MTU,
 * a peer) has let the packet through; tp_flow_classify() does both.
 *
 * TCP state is light: a SYN starts a half-open flow (transitory timeout), a
 * packet from the responder establishes it, a FIN from either end makes it
 * transitory again, a RST from either end removes it. A TCP packet of an
 * unknown connection is evaluated as a first packet in its direction (loose
 * pickup, §7.5); its flow stays transitory until the responder is heard. A
 * bare SYN from the responder ends the flow and is judged
 * as a new connection in its own direction; an echo request from the
 * responder with the flow's id is judged on its own and creates no flow.
 *
 * ICMP errors (§7.4) pass as related only when they quote a packet of a
 * flow that the error's destination sent, come from the zone of the flow's
 * other end (a host or router there, or the TP serving it from its
 * zone-port address), and no deny rule matches the error itself.
 *
 * Time comes from the clock callback (nanoseconds, monotonic); nothing in
 * here reads a system clock.
 */
#ifndef TP_POLICY_FLOW_H
#define TP_POLICY_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/engine.h"
#include "tp/policy/eval.h"
#include "tp/policy/modbus.h"
#include "tp/policy/site.h"

#define TP_FLOW_CAPACITY_DEFAULT (1u << 20)

#define TP_TCP_FIN 0x01
#define TP_TCP_SYN 0x02
#define TP_TCP_RST 0x04
#define TP_TCP_ACK 0x10

/* One packet as the parse stage sees it. For ICMP echo request/reply,
 * f.sport and f.dport both hold the echo identifier; for other ICMP they
 * are 0. An ICMP error (destination unreachable, time exceeded, packet too
 * big; v4 and v6) carries the packet it quotes in inner, addresses and
 * ports as the quoted header says (its source is the error's destination). */
struct tp_flow_pkt {
	struct tp_flow f;
	uint8_t tcp_flags; /* TP_TCP_* */
	bool icmp_error;
	struct tp_flow inner; /* valid when icmp_error */
	/* TCP only, for application profiles: */
	bool tcp_bad_doff;    /* data offset below 20 or past the segment */
	uint32_t tcp_seq;     /* sequence number */
	uint16_t payload_off; /* payload, from the start of the IP header */
	uint16_t payload_len;
};

struct tp_flow_timeouts {
	uint32_t tcp_established_s;
	uint32_t tcp_transitory_s; /* handshake, closing */
	uint32_t udp_s;
	uint32_t icmp_s;
	uint32_t other_s;
};

struct tp_flow_config {
	uint32_t capacity; /* entries; 0 means TP_FLOW_CAPACITY_DEFAULT */
	struct tp_flow_timeouts timeouts;
	uint32_t relink_ms;		 /* LRU precision: 0 = exact, default 1000 */
	uint64_t (*clock_ns)(void *arg); /* monotonic nanoseconds */
	void *clock_arg;
	uint8_t hash_key[16]; /* SipHash key: random per table against flooding */
	/* Entries one initiating host, and one (from, to) zone pair, may
	 * hold; 0 means the default: capacity / 16 and capacity / 2, but
	 * not below 64. */
	uint32_t quota_host;
	uint32_t quota_zone_pair;
};

/* Defaults: capacity 1M, TCP 3600 s established / 120 s transitory, UDP
 * 60 s, ICMP 30 s, other 60 s, LRU precision 1 s, a random hash key,
 * quotas from the capacity (above). The caller sets the clock. */
void tp_flow_config_default(struct tp_flow_config *cfg);

/* What happened to a packet. */
#define TP_FLOW_RESULTS(X)                                                                         \
	X(PASS_FLOW, "flow")	   /* belongs to an admitted flow */                               \
	X(PASS_RELATED, "related") /* ICMP error quoting a packet of an admitted flow */           \
	X(PASS_NEW, "new")	   /* first packet: a stateful rule admitted it, flow created */   \
	X(PASS_STATELESS, "stateless")	 /* admitted without a flow (stateless rule, same zone) */ \
	X(DROP_POLICY, "policy")	 /* denied: the decision says why */                       \
	X(DROP_NO_POLICY, "no-policy")	 /* no compiled policy published: fail closed */           \
	X(DROP_QUOTA_HOST, "quota-host") /* new flow: its host holds quota_host entries */         \
	X(DROP_QUOTA_PAIR, "quota-zone-pair") /* new flow: its zone pair holds its quota */

enum tp_flow_result {
#define X(name, str) TP_FLOW_##name,
	TP_FLOW_RESULTS(X)
#undef X
};

static inline bool tp_flow_result_passes(enum tp_flow_result r)
{
	return r <= TP_FLOW_PASS_STATELESS;
}

const char *tp_flow_result_name(enum tp_flow_result r);

/* Per-table event counters (summed over tables by the reader). */
#define TP_FLOW_COUNTERS(X)                                                          \
	X(created)    /* flows admitted */                                           \
	X(hits)	      /* packets of existing flows */                                \
	X(related)    /* ICMP errors admitted as related */                          \
	X(stateless)  /* packets admitted without a flow */                          \
	X(denied)     /* packets denied by the policy */                             \
	X(no_policy)  /* packets dropped for want of a policy */                     \
	X(rechecked)  /* entries re-checked after a generation change and kept */    \
	X(revoked)    /* entries cut because the new policy no longer allows them */ \
	X(evicted)    /* entries evicted to make room (table full) */                \
	X(expired)    /* entries removed after their idle timeout */                 \
	X(closed)     /* TCP flows removed by a RST */                               \
	X(quota_host) /* new flows refused: the host's quota is used up */           \
	X(quota_pair) /* new flows refused: the zone pair's quota is used up */

struct tp_flow_counters {
#define X(name) uint64_t name;
	TP_FLOW_COUNTERS(X)
#undef X
};

struct tp_flow_table;

/* NULL on allocation failure or a bad configuration (no clock). */
struct tp_flow_table *tp_flow_table_new(const struct tp_flow_config *cfg);
void tp_flow_table_free(struct tp_flow_table *t);

/*
 * Classify one packet against the flow table and, when it belongs to no
 * flow, against engine (which may be NULL: no policy). out receives the
 * deciding decision: for a flow hit, the admitting rule and the zones in
 * the packet's direction; for a related ICMP error, the admitting rule and
 * the zones of the error's own addresses. Creates, refreshes, re-checks and removes
 * entries as described above.
 */
enum tp_flow_result tp_flow_classify(struct tp_flow_table *t, const struct tp_engine *engine,
				     const struct tp_flow_pkt *pkt, struct tp_decision *out);

/*
 * The same in two steps, for a caller that may still drop the packet after
 * the policy passed it: tp_flow_decide() answers like tp_flow_classify()
 * but a new flow's entry (TP_FLOW_PASS_NEW) is only reserved; it exists
 * once tp_flow_commit() is called, before the next tp_flow_decide() on the
 * table, which forgets an uncommitted reservation. tp_flow_app_check()
 * works on the reserved entry. tp_flow_commit() does nothing when the last
 * decision reserved nothing.
 */
enum tp_flow_result tp_flow_decide(struct tp_flow_table *t, const struct tp_engine *engine,
				   const struct tp_flow_pkt *pkt, struct tp_decision *out);
void tp_flow_commit(struct tp_flow_table *t);

/*
 * The application-profile check of the packet that the last call of
 * tp_flow_classify() on this table passed, with the same engine and the
 * decision it returned, ip pointing at the packet's IP header (the payload
 * is read at pkt->payload_off). TP_MODBUS_OK when the packet may pass:
 * no profile applies, it comes from the responder, or it carries no
 * payload or acceptable payload (the flow's stream state advances). Any
 * other result is the reason to drop the whole packet; the stream state is
 * then unchanged. Never allocates.
 */
enum tp_modbus_result tp_flow_app_check(struct tp_flow_table *t, const struct tp_engine *engine,
					const struct tp_flow_pkt *pkt, const struct tp_decision *d,
					const uint8_t *ip);

/* The same for a burst, in order, with one clock reading: hashes and
 * prefetches a few packets ahead to overlap their cache misses. */
void tp_flow_classify_burst(struct tp_flow_table *t, const struct tp_engine *engine,
			    const struct tp_flow_pkt *const pkts[], unsigned n,
			    enum tp_flow_result res[], struct tp_decision out[]);

/* Remove up to max expired entries; returns how many were removed. The
 * owner calls it regularly (its idle loop, a timer) with a small budget;
 * an insertion into a full table reclaims at most 64 by itself. */
size_t tp_flow_expire(struct tp_flow_table *t, size_t max);

/* Re-check up to max entries stamped with an older generation than
 * engine's, continuing where the previous call stopped; returns how many
 * were examined. Cuts what engine no longer allows. */
size_t tp_flow_recheck(struct tp_flow_table *t, const struct tp_engine *engine, size_t max);

size_t tp_flow_count(const struct tp_flow_table *t);
void tp_flow_counters_get(const struct tp_flow_table *t, struct tp_flow_counters *out);

/* Visit every entry (owner thread only): the initiator's packet, the
 * admitting rule, the generation and the idle time in ns. Stop when cb
 * returns false. */
typedef bool (*tp_flow_visit_fn)(const struct tp_flow *init, uint32_t rule_id, uint64_t gen,
				 uint64_t idle_ns, void *arg);
void tp_flow_foreach(const struct tp_flow_table *t, tp_flow_visit_fn cb, void *arg);

/* A hash of the packet's connection that is the same in both directions,
 * for steering both directions to one worker. */
uint32_t tp_flow_pkt_hash(const struct tp_flow_pkt *pkt);

/*
 * Packet parsing (parse.c): an IPv4 or IPv6 packet, from its IP header, to
 * the fields above. Untrusted input; every failure has a reason the caller
 * counts as a drop. Non-first fragments are refused: they carry no ports,
 * so no rule can be applied to them.
 *
 * The data plane does not call it: its one parser fills these fields in
 * the same walk that checks the packet (dataplane/pkt, tp_pkt_flow()).
 * This is the naive reference model it is held to, field by field, on
 * every packet both accept (tests/fuzz/parse_diff, tests/unit/pkt), and
 * the parser of tools and tests that start from bytes.
 */
#define TP_PARSE_RESULTS(X)                                                              \
	X(OK, "ok")                                                                      \
	X(TRUNCATED, "truncated")     /* shorter than its headers or its length field */ \
	X(BAD_VERSION, "bad-version") /* neither IPv4 nor IPv6 */                        \
	X(BAD_HEADER, "bad-header")   /* IHL, total length or extension chain invalid */ \
	X(BAD_L4, "bad-l4")	      /* ICMP in IPv6 or ICMPv6 in IPv4 */               \
	X(FRAGMENT, "fragment")	      /* a non-first fragment */

enum tp_parse_result {
#define X(name, str) TP_PARSE_##name,
	TP_PARSE_RESULTS(X)
#undef X
};

const char *tp_parse_result_name(enum tp_parse_result r);

/* Fill out from the packet at pkt (len bytes, starting at the IP header). */
enum tp_parse_result tp_flow_parse(const uint8_t *pkt, size_t len, struct tp_flow_pkt *out);

/* The ICMP types the table treats specially (proto 1 or 58): echo request
 * or reply, and the errors that can relate to a flow (destination
 * unreachable, time exceeded, packet too big; not parameter problem). */
bool tp_flow_icmp_is_echo(uint8_t proto, uint8_t type);
bool tp_flow_icmp_is_error(uint8_t proto, uint8_t type);

#endif /* TP_POLICY_FLOW_H */
