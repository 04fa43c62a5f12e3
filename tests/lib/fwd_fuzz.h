/* SPDX-License-Identifier: MIT */
/*
 * What the forwarding fuzzers (tests/fuzz/fwd_*) share around the harness
 * of tests/unit/fwd: set it up once, and after each input run everything
 * handed to the control thread, collect the frames sent and demand that
 * every mbuf is back in the pool. The mempool is not malloc, so
 * LeakSanitizer would not see a stage that loses a packet; a double free
 * shows as a count above the baseline.
 */
#ifndef TL_FWD_FUZZ_H
#define TL_FWD_FUZZ_H

#include "../unit/fwd/fwd_harness.h"

static unsigned tl_fwd_baseline; /* free mbufs with nothing in flight */

/* LLVMFuzzerInitialize of a forwarding fuzzer named NAME. */
static inline void tl_fwd_fuzz_init(const char *name)
{
	if (h_setup(name) != 0)
		abort();
	h_drain();
	tl_fwd_baseline = rte_mempool_avail_count(H.pool);
	/* libFuzzer ends with exit(): free everything before LeakSanitizer
	 * looks (the state lives in DPDK memory, which it does not scan) */
	atexit(h_teardown);
}

/* The end of every input: nothing may be left in flight or lost. */
static inline void tl_fwd_fuzz_settle(void)
{
	tp_fwd_control_run(H.fwd);
	h_poll();
	h_drain();
	if (rte_mempool_avail_count(H.pool) != tl_fwd_baseline) {
		fprintf(stderr, "mbufs: %u in the pool, %u expected\n",
			rte_mempool_avail_count(H.pool), tl_fwd_baseline);
		abort();
	}
}

#endif /* TL_FWD_FUZZ_H */
