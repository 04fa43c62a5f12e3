/* SPDX-License-Identifier: MIT */
/*
 * Flow log: one line for the first packet of every new flow decided by a
 * rule with `log: true` (allow or deny).
 *
 * A worker never writes a line itself: it fills a small fixed record
 * (struct tp_flowlog_rec, no pointers, no names) and pushes it into its
 * own bounded ring; the control thread drains the rings, resolves the
 * names in the policy generation the record was decided with and writes
 * the line through tpd's logging, at most `lines_per_s` a second
 * (struct tp_flowlog_cap): the rest are counted and summarised as "N flow
 * log lines suppressed", so a flood cannot fill the disk.
 *
 * Line format (one line, fields in this order, tpd adds its "tpd: "):
 *   flow 2026-11-28T08:31:02.123Z rule 30 "telemetry-z2-z4" allow udp
 *     10.2.0.10:40000 -> 10.4.0.10:5000 zones z2 -> z4 (egress)
 * ICMP shows "type T code C" after the addresses instead of ports, IPv6
 * addresses are bracketed when a port follows, other protocols show
 * "proto N" and no ports. A first packet the flow's rule allowed but that
 * was over its rate_limit (and dropped) ends in "(egress, rate-limited)".
 *
 * Plain C, no DPDK.
 */
#ifndef TP_DP_FLOWLOG_H
#define TP_DP_FLOWLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/dp/ratelimit.h"

enum tp_flowlog_side {
	TP_FLOWLOG_EGRESS = 0,	/* decided on the zone port, before encryption */
	TP_FLOWLOG_INGRESS = 1, /* decided after decryption */
};

/* What a worker records; 4-byte multiple for rte_ring's element rings. */
struct tp_flowlog_rec {
	uint64_t mono_ns;  /* the dataplane clock when decided */
	uint64_t gen;	   /* engine generation: names are resolved in it */
	uint32_t rule_id;  /* never TP_RULE_ID_NONE: the default does not log */
	uint32_t src_zone; /* zone indices in generation gen */
	uint32_t dst_zone;
	uint16_t sport, dport; /* 0 for ICMP and portless protocols */
	uint8_t family;	       /* 4 or 6 */
	uint8_t proto;
	uint8_t allow; /* the verdict */
	uint8_t side;  /* enum tp_flowlog_side */
	uint8_t icmp_type, icmp_code;
	uint8_t limited; /* allowed, but this packet was over the rule's rate_limit */
	uint8_t pad;
	uint8_t src[16], dst[16]; /* network order; 4 bytes used for IPv4 */
};

_Static_assert(sizeof(struct tp_flowlog_rec) % 4 == 0, "rte_ring element size");

#define TP_FLOWLOG_LINE_MAX 320

/* Names the control thread resolved for a record (any may be NULL: shown
 * as "?" or the zone's index). */
struct tp_flowlog_names {
	const char *rule;
	const char *src_zone;
	const char *dst_zone;
};

/* Format r as a line (no newline) into buf; wall_ns is the record's time
 * on the wall clock (Unix ns). Returns the length, truncated at len - 1. */
size_t tp_flowlog_format(const struct tp_flowlog_rec *r, const struct tp_flowlog_names *names,
			 uint64_t wall_ns, char *buf, size_t len);

/* The output cap: a bucket of lines_per_s lines a second (burst the
 * same) and the count of lines refused since the last summary. */
struct tp_flowlog_cap {
	struct tp_ratelimit lines;
	uint64_t suppressed;
	uint64_t suppressed_total;
};

void tp_flowlog_cap_init(struct tp_flowlog_cap *c, uint32_t lines_per_s, uint64_t now_ns);

/* May one more line be written now? A refused line is counted. */
bool tp_flowlog_cap_admit(struct tp_flowlog_cap *c, uint64_t now_ns);

/* The summary line due before the next admitted line (or at a quiet
 * moment): returns true and fills buf with "N flow log lines suppressed"
 * when lines were refused since the last summary and the cap has room;
 * the summary takes one line of the cap. */
bool tp_flowlog_cap_summary(struct tp_flowlog_cap *c, uint64_t now_ns, char *buf, size_t len);

#endif /* TP_DP_FLOWLOG_H */
