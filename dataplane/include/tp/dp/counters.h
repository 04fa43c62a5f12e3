/* SPDX-License-Identifier: MIT */
/*
 * Per-lcore counters, summed on read.
 *
 * State: one cache-line-aligned slot per writer (each worker lcore, and one
 * for the control thread). A slot has exactly one writer, so increments
 * need no atomic read-modify-write: the owner stores load+n with a relaxed
 * atomic store, and readers (admin socket, telemetry, on the control
 * thread) load each word relaxed and add the slots up. A sum is therefore
 * a consistent value per counter, not a snapshot across counters.
 *
 * Plain C, no DPDK.
 */
#ifndef TP_DP_COUNTERS_H
#define TP_DP_COUNTERS_H

#include <stdint.h>

#include "tp/dp/drop.h"

/* Traffic and runtime statistics that are not drops. X(NAME, "name") */
#define TP_STATS(X)                                  \
	X(ZONE_RX_PKTS, "zone_rx_packets")           \
	X(ZONE_RX_BYTES, "zone_rx_bytes")            \
	X(ZONE_TX_PKTS, "zone_tx_packets")           \
	X(ZONE_TX_BYTES, "zone_tx_bytes")            \
	X(TRANSIT_RX_PKTS, "transit_rx_packets")     \
	X(TRANSIT_RX_BYTES, "transit_rx_bytes")      \
	X(TRANSIT_TX_PKTS, "transit_tx_packets")     \
	X(TRANSIT_TX_BYTES, "transit_tx_bytes")      \
	X(PARSED, "parsed_packets")                  \
	X(IDLE_SLEEPS, "idle_sleeps")                \
	X(HOUSEKEEPING, "housekeeping_ticks")        \
	X(LOG_DROPPED, "log_dropped")                \
	X(LOG_SUPPRESSED, "log_suppressed")          \
	X(TUNNEL_KEEPALIVES, "tunnel_keepalives_rx") \
	X(HANDOFF_OUT, "handoff_out")                \
	X(HANDOFF_IN, "handoff_in")                  \
	X(CRYPT_SPREAD_OUT, "crypt_spread_out")      \
	X(CRYPT_SPREAD_IN, "crypt_spread_in")        \
	X(CRYPT_TAKEN_BACK, "crypt_taken_back")      \
	X(ICMP_ERR_LIMITED, "icmp_errors_limited")   \
	TP_FATE_STATS(X)

/*
 * Verdicts: every packet received on a port is counted once, under the
 * port it came in on, when a worker decides its fate (tp_fate in
 * tp/dp/pipeline.h): forwarded (handed to a port's transmit queue), to
 * the control thread (handshake messages, frames waiting for a
 * neighbour), staged (for a peer's handshake), handed off (to the worker
 * that owns its flow, which does not count it again), consumed (a
 * keepalive) or dropped (under a reason of tp/dp/drop.h). Once nothing is
 * in flight, PORT_rx_packets equals the sum of PORT's six verdicts.
 */
#define TP_FATES(X)                 \
	X(FORWARDED, "forwarded")   \
	X(TO_CONTROL, "to_control") \
	X(STAGED, "staged")         \
	X(HANDED_OFF, "handed_off") \
	X(CONSUMED, "consumed")     \
	X(DROPPED, "dropped")

enum tp_fate {
#define X(name, str) TP_FATE_##name,
	TP_FATES(X)
#undef X
		TP_FATE__COUNT
};

/* zone_verdict_NAME, then transit_verdict_NAME, in TP_FATES' order */
#define TP_FATE_STATS(X)                                      \
	X(ZONE_V_FORWARDED, "zone_verdict_forwarded")         \
	X(ZONE_V_TO_CONTROL, "zone_verdict_to_control")       \
	X(ZONE_V_STAGED, "zone_verdict_staged")               \
	X(ZONE_V_HANDED_OFF, "zone_verdict_handed_off")       \
	X(ZONE_V_CONSUMED, "zone_verdict_consumed")           \
	X(ZONE_V_DROPPED, "zone_verdict_dropped")             \
	X(TRANSIT_V_FORWARDED, "transit_verdict_forwarded")   \
	X(TRANSIT_V_TO_CONTROL, "transit_verdict_to_control") \
	X(TRANSIT_V_STAGED, "transit_verdict_staged")         \
	X(TRANSIT_V_HANDED_OFF, "transit_verdict_handed_off") \
	X(TRANSIT_V_CONSUMED, "transit_verdict_consumed")     \
	X(TRANSIT_V_DROPPED, "transit_verdict_dropped")

enum tp_stat {
#define X(name, str) TP_STAT_##name,
	TP_STATS(X)
#undef X
		TP_STAT__COUNT
};

_Static_assert(TP_STAT_TRANSIT_V_FORWARDED == TP_STAT_ZONE_V_FORWARDED + TP_FATE__COUNT &&
		       TP_STAT_ZONE_V_DROPPED == TP_STAT_ZONE_V_FORWARDED + TP_FATE_DROPPED,
	       "verdict stats: per port, in TP_FATES' order");

/* The stat of verdict v of a packet received on port role (enum tp_port_role). */
static inline enum tp_stat tp_fate_stat(unsigned role, enum tp_fate v)
{
	return (enum tp_stat)(TP_STAT_ZONE_V_FORWARDED + role * TP_FATE__COUNT + v);
}

struct tp_counters_slot {
	uint64_t stat[TP_STAT__COUNT];
	uint64_t drop[TP_DROP__COUNT];
} __attribute__((aligned(64)));

/* Owns n_slots slots; create with tp_counters_create, free with _free. */
struct tp_counters {
	unsigned n_slots;
	struct tp_counters_slot *slots;
};

struct tp_counters_totals {
	uint64_t stat[TP_STAT__COUNT];
	uint64_t drop[TP_DROP__COUNT];
};

struct tp_counters *tp_counters_create(unsigned n_slots);
void tp_counters_free(struct tp_counters *c);

static inline struct tp_counters_slot *tp_counters_slot(struct tp_counters *c, unsigned i)
{
	return &c->slots[i];
}

/* Only the slot's owner calls these. */
static inline void tp_counters_add(struct tp_counters_slot *s, enum tp_stat st, uint64_t n)
{
	__atomic_store_n(&s->stat[st], s->stat[st] + n, __ATOMIC_RELAXED);
}

static inline void tp_counters_drop(struct tp_counters_slot *s, enum tp_drop r, uint64_t n)
{
	__atomic_store_n(&s->drop[r], s->drop[r] + n, __ATOMIC_RELAXED);
}

/* Sum every slot into *out; any thread. */
void tp_counters_sum(const struct tp_counters *c, struct tp_counters_totals *out);

const char *tp_drop_name(enum tp_drop r);
const char *tp_drop_help(enum tp_drop r);
const char *tp_stat_name(enum tp_stat s);

#endif /* TP_DP_COUNTERS_H */
