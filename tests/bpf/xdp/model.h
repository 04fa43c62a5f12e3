/* SPDX-License-Identifier: MIT */
/*
 * A naive reference model of the XDP programs, written from their
 * specification (bpf/README.md) in plain C, to check the programs against on
 * random and fuzzed frames: same frame + same tables -> same counter reason.
 *
 * Scope: no socket in xsks_map (redirects come out as "xsk_miss") and, for
 * the transit program, no handshake rate limit (the model is stateless).
 */
#ifndef TP_TEST_MODEL_H
#define TP_TEST_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tp/dp/xdp.h"

/* Reason (enum tp_xdp_zone_reason) the zone program must count for frame. */
unsigned model_zone(const uint8_t *frame, size_t len, const struct tp_xdp_zones *z, uint32_t flags);

/* Reason (enum tp_xdp_transit_reason) of the transit program whose port
 * has the addresses own[0..n_own). */
unsigned model_transit(const uint8_t *frame, size_t len, uint16_t tunnel_port,
		       const struct tp_prefix *own, size_t n_own);

/* Verdict that goes with a reason when no socket is in xsks_map. */
uint32_t model_zone_verdict(unsigned reason, uint32_t flags);
uint32_t model_transit_verdict(unsigned reason);

#endif /* TP_TEST_MODEL_H */
