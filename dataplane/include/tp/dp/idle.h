/* SPDX-License-Identifier: MIT */
/*
 * Idle back-off of a worker lcore. A worker busy-polls while bursts come
 * in. Once it has made spin_polls empty polls in a row AND poll_us have
 * passed since its last packet (idle_polls, idle_poll_us), it starts
 * sleeping between polls: 1 us, then doubling up to max_us; any packet
 * resets it to busy-polling. The time window is for latency: the reply to
 * a request a worker just forwarded usually comes back within a few
 * hundred microseconds, and finds the worker still polling instead of
 * paying a wake-up. So a loaded worker never sleeps and an idle one wakes
 * about 1000 times a second (with the default cap of 1 ms), which is
 * ~0 % CPU.
 *
 * How a worker waits (idle_wait in tpd.conf):
 *  - fd (default; xdp mode): DPDK 22.11's net_af_xdp has no rx-interrupt
 *    operations (rte_eth_dev_rx_intr_* are -ENOTSUP) and does not export
 *    its sockets, so the runtime finds the process's AF_XDP sockets in
 *    /proc/self/fd and an idle worker blocks in ppoll() on them (at most
 *    TP_IDLE_BLOCK_MAX_US, which bounds how late it sees a stop request).
 *    The kernel wakes it when a frame lands in an rx ring: ~0 % CPU idle,
 *    and the first packet pays one thread wake-up.
 *  - sleep (memory mode, or idle_wait = sleep): the doubling sleeps above;
 *    the first packet after an idle period waits until the current sleep
 *    ends: at most max_us plus the kernel's timer slack (50 us).
 * In both, the worker also waits on its wake fd: work another thread
 * leaves it (a handoff, crypto jobs, frames for its queue) ends the block
 * at once through tp_runtime_wake (tp/dp/runtime.h), in either mode.
 *
 * Measured (tests/bench/tpd-runtime.sh, BENCHMARKS.md "dataplane"), on
 * this shared, loaded 2-core VM: the first packet after idle waits p50
 * ~50 us in fd mode (idle CPU 0.03 % of a core) against p50 ~0.5 ms in
 * sleep mode with the 1 ms cap (idle CPU ~1.5 %); p99 in every mode was
 * several ms, set by other jobs competing for the two cores.
 *
 * Plain C, no DPDK; the caller does the sleeping.
 */
#ifndef TP_DP_IDLE_H
#define TP_DP_IDLE_H

#include <stdint.h>

#define TP_IDLE_BLOCK_MAX_US 100000 /* longest block on AF_XDP sockets */

struct tp_idle {
	uint32_t spin_polls; /* empty polls before the first sleep */
	uint32_t max_us;     /* sleep cap */
	uint32_t empty;	     /* empty polls in a row */
	uint32_t sleep_us;   /* the last sleep; 0 while busy-polling */
	uint64_t poll_ns;    /* keep polling this long after the last packet */
	uint64_t busy_ns;    /* time of the last packet */
};

static inline void tp_idle_init(struct tp_idle *s, uint32_t spin_polls, uint32_t max_us,
				uint32_t poll_us)
{
	s->spin_polls = spin_polls;
	s->max_us = max_us ? max_us : 1;
	s->empty = 0;
	s->sleep_us = 0;
	s->poll_ns = (uint64_t)poll_us * 1000u;
	s->busy_ns = 0;
}

/* After a poll at now_ns that received n packets: microseconds to sleep
 * now (0: poll again at once). */
static inline uint32_t tp_idle_after_poll(struct tp_idle *s, unsigned n, uint64_t now_ns)
{
	if (n) {
		s->empty = 0;
		s->sleep_us = 0;
		s->busy_ns = now_ns;
		return 0;
	}
	if (s->empty < s->spin_polls) {
		s->empty++;
		return 0;
	}
	if (!s->sleep_us && now_ns - s->busy_ns < s->poll_ns)
		return 0;
	s->sleep_us = s->sleep_us ? s->sleep_us * 2 : 1;
	if (s->sleep_us > s->max_us)
		s->sleep_us = s->max_us;
	return s->sleep_us;
}

#endif /* TP_DP_IDLE_H */
