// SPDX-License-Identifier: MIT
/* Packet fixtures for pipeline stages (see stage_fixture.h). */
#include "stage_fixture.h"

#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

struct rte_mempool *tp_fixture_init(const char *name)
{
	char prefix[64];
	char *argv[] = {"stage-fixture",
			"--no-huge",
			"-m",
			"64",
			"--no-pci",
			prefix,
			"--log-level=lib.eal:error",
			"-l",
			"0",
			NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=tp-fixture-%s", name);
	if (rte_eal_init(9, argv) < 0)
		return NULL;
	return rte_pktmbuf_pool_create(
		"tp_fixture", 1023, 0,
		RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, 0);
}

void tp_fixture_fini(struct rte_mempool *pool)
{
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

struct rte_mbuf *tp_fixture_mbuf(struct rte_mempool *pool, const void *bytes, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *p;

	if (!m)
		return NULL;
	p = rte_pktmbuf_append(m, (uint16_t)len);
	if (!p) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, bytes, len);
	return m;
}

unsigned tp_fixture_run(const struct tp_stage *stages, unsigned n_stages, struct tp_stage_ctx *ctx,
			struct rte_mempool *pool, const struct tp_fixture_frame *frames, unsigned n,
			enum tp_drop *verdict, struct rte_mbuf **out)
{
	static struct tp_drop_vec dv;
	struct rte_mbuf *orig[TP_BURST_MAX];
	uint16_t left;

	if (n > TP_BURST_MAX)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		orig[i] = out[i] = tp_fixture_mbuf(pool, frames[i].bytes, frames[i].len);
		verdict[i] = TP_DROP_NONE;
	}
	dv.n = 0;
	left = tp_pipeline_run(stages, n_stages, ctx, out, (uint16_t)n, &dv);
	/* mbuf pointers identify the frames: stages may rewrite any byte */
	for (uint16_t d = 0; d < dv.n; d++) {
		for (unsigned i = 0; i < n; i++) {
			if (orig[i] == dv.pkts[d])
				verdict[i] = (enum tp_drop)dv.reason[d];
		}
	}
	tp_pipeline_flush(&dv, ctx->cnt);
	return left;
}
