/* SPDX-License-Identifier: MIT */
/*
 * Packet fixtures for pipeline stages (STYLE.md: pipeline code is tested
 * with packet fixtures): bring up a minimal EAL, turn byte arrays into
 * mbufs, run a stage list on them and get, per input frame, whether it
 * survived or the reason it was dropped. Any module's stage test can link
 * tp_stage_fixture (tests run as root: EAL).
 *
 *   struct rte_mempool *pool = tp_fixture_init("my-test");
 *   enum tp_drop verdict[N];
 *   unsigned left = tp_fixture_run(stages, n_stages, &ctx, pool, frames, N, verdict, out);
 *   ... check verdict[i] == TP_DROP_NONE (survived) or a reason, inspect out[] ...
 *   rte_pktmbuf_free_bulk(out, left);
 *   tp_fixture_fini(pool);
 */
#ifndef TP_STAGE_FIXTURE_H
#define TP_STAGE_FIXTURE_H

#include <stddef.h>

#include <rte_mempool.h>

#include "tp/dp/pipeline.h"

struct tp_fixture_frame {
	const void *bytes;
	size_t len;
};

/* EAL (--no-huge, one lcore, file prefix from name) and a pool whose mbufs
 * have room for struct tp_pkt_meta. NULL on failure. */
struct rte_mempool *tp_fixture_init(const char *name);
void tp_fixture_fini(struct rte_mempool *pool);

/* One single-segment mbuf holding a copy of bytes. */
struct rte_mbuf *tp_fixture_mbuf(struct rte_mempool *pool, const void *bytes, size_t len);

/*
 * Run the stages on frames[0..n) (n <= TP_BURST_MAX). verdict[i] is
 * TP_DROP_NONE when frame i survived, else its drop reason; survivors end
 * in out[] in order (the caller frees them); drops are counted in
 * ctx->cnt and freed. Returns the number of survivors.
 */
unsigned tp_fixture_run(const tp_stage_fn *stages, unsigned n_stages, struct tp_stage_ctx *ctx,
			struct rte_mempool *pool, const struct tp_fixture_frame *frames, unsigned n,
			enum tp_drop *verdict, struct rte_mbuf **out);

#endif /* TP_STAGE_FIXTURE_H */
