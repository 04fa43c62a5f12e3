/* SPDX-License-Identifier: MIT */
/*
 * A token bucket in integers: the per-rule rate limits of the policy
 * (`rate_limit: { pps, burst }`) and the cap on flow-log lines.
 *
 * State: the tokens held, in units of 1/TP_RATELIMIT_UNIT packet, and the
 * time of the last refill. A bucket refills pps units per nanosecond (so
 * pps packets a second) up to burst packets, and a packet takes one whole
 * packet's worth. A new bucket is full.
 *
 * Arithmetic: no floating point and no division on the packet path. The
 * time to fill an empty bucket (fill_ns = cap / pps) is computed once; an
 * idle period at least that long simply fills it, so the product
 * elapsed × pps is only ever formed for elapsed < fill_ns, where it is at
 * most cap. cap is at most TP_RATELIMIT_BURST_MAX packets (8.6e18 units),
 * so tokens + refill never exceeds 2^64. Any pps up to UINT32_MAX is
 * exact.
 *
 * Ownership: no locking inside; one thread at a time (the dataplane
 * shares a rule's bucket between workers under a spin lock,
 * dataplane/fwd/rules.c). The clock is the caller's (monotonic
 * nanoseconds); a clock that goes backwards refills nothing.
 *
 * Plain C, no DPDK.
 */
#ifndef TP_DP_RATELIMIT_H
#define TP_DP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define TP_RATELIMIT_UNIT      1000000000ull /* units per packet */
#define TP_RATELIMIT_BURST_MAX (1ull << 33)  /* packets; larger bursts are clamped */

struct tp_ratelimit {
	uint64_t tokens;  /* units, <= cap */
	uint64_t cap;	  /* burst × TP_RATELIMIT_UNIT */
	uint64_t fill_ns; /* an idle period this long fills the bucket */
	uint64_t last_ns; /* time of the last refill */
	uint64_t pps;	  /* refill: units per ns; 0 = unlimited */
};

/* A full bucket of burst packets refilled at pps packets per second; burst
 * 0 means pps. pps 0 is a bucket that never refuses. */
void tp_ratelimit_init(struct tp_ratelimit *b, uint32_t pps, uint64_t burst, uint64_t now_ns);

/* Refill up to now_ns, then take one packet: true if it conforms. */
bool tp_ratelimit_take(struct tp_ratelimit *b, uint64_t now_ns);

#endif /* TP_DP_RATELIMIT_H */
