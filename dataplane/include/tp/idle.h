/* SPDX-License-Identifier: MIT */
/*
 * Idle back-off of a worker lcore. A worker busy-polls while bursts come
 * in. After spin_polls empty polls in a row it starts sleeping between
 * polls: 1 us, then doubling up to max_us; any packet resets it to
 * busy-polling. So a loaded worker never sleeps and an idle one wakes
 * about 1000 times a second (with the default cap of 1 ms), which is
 * ~0 % CPU.
 *
 * Why sleeping and not waiting on an fd: DPDK 22.11's net_af_xdp PMD has
 * no rx-interrupt operations (rte_eth_dev_rx_intr_* return -ENOTSUP), and
 * net_ring has none either, so there is no fd to block on through ethdev.
 *
 * Cost: the first packet after an idle period waits until the current
 * sleep ends: at most max_us plus the kernel's timer slack (50 us by
 * default for a normal thread). Measured with tests/bench/idle_wakeup
 * (memory mode, cap 1000 us, 200 packets at random idle gaps on this
 * 2-core VM): see the "dataplane" section of BENCHMARKS.md.
 *
 * Plain C, no DPDK; the caller does the sleeping.
 */
#ifndef TP_IDLE_H
#define TP_IDLE_H

#include <stdint.h>

struct tp_idle {
	uint32_t spin_polls; /* empty polls before the first sleep */
	uint32_t max_us;     /* sleep cap */
	uint32_t empty;	     /* empty polls in a row */
	uint32_t sleep_us;   /* the last sleep; 0 while busy-polling */
};

static inline void tp_idle_init(struct tp_idle *s, uint32_t spin_polls, uint32_t max_us)
{
	s->spin_polls = spin_polls;
	s->max_us = max_us ? max_us : 1;
	s->empty = 0;
	s->sleep_us = 0;
}

/* After a poll that received n packets: microseconds to sleep now (0: poll
 * again at once). */
static inline uint32_t tp_idle_after_poll(struct tp_idle *s, unsigned n)
{
	if (n) {
		s->empty = 0;
		s->sleep_us = 0;
		return 0;
	}
	if (s->empty < s->spin_polls) {
		s->empty++;
		return 0;
	}
	s->sleep_us = s->sleep_us ? s->sleep_us * 2 : 1;
	if (s->sleep_us > s->max_us)
		s->sleep_us = s->max_us;
	return s->sleep_us;
}

#endif /* TP_IDLE_H */
