/* SPDX-License-Identifier: MIT */
/*
 * tpd's DPDK runtime: EAL, mempools, the zone and transit ports, and the
 * worker lcores' run-to-completion loops. The control thread (the EAL main
 * lcore) owns the runtime; workers only read it, and write their own
 * counter slot.
 *
 * Life cycle (each step undone by tp_runtime_close, whatever was reached):
 *   tp_runtime_eal_args   build argv for rte_eal_init from the config
 *   tp_runtime_open       rte_eal_init, pools, ports configured and started
 *   tp_runtime_start      launch one worker per worker lcore
 *   tp_runtime_stop       ask workers to stop, wait for them, stop ports
 *   tp_runtime_close      close ports, free pools, rte_eal_cleanup
 *
 * Ports and queues: worker i owns rx and tx queue i of both ports, so no
 * queue is shared and no lock is taken on the fast path.
 */
#ifndef TP_DP_RUNTIME_H
#define TP_DP_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "tp/base/clock.h"
#include "tp/dp/config.h"
#include "tp/dp/counters.h"

#define TP_EAL_ARGS_MAX 32

struct rte_mempool;
struct rte_mbuf;
struct tp_stage_ctx;
struct tp_drop_vec;

/*
 * What the forwarding code plugs into the workers (set before
 * tp_runtime_start; all optional). stages[role]: the stage list of bursts
 * from that port (default: parse, no_policy). flush: after the last
 * stage of every burst, where its packets leave: the survivors (pkts, n)
 * out of the other port and whatever the stages handed to the hooks' own
 * exits (default: the runtime sends the survivors); drops it adds to dv
 * are counted and freed by tp_pipeline_flush right after. poll: once per
 * loop iteration, after the ports (e.g. RCU quiescent state, frames handed
 * over by the control thread); returns packets handled, which keeps the
 * worker busy-polling. idle(sleeping): around a back-off sleep. wake_fd: an
 * extra fd an idle worker also waits on (-1: none).
 */
typedef uint16_t (*tp_runtime_stage_fn)(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts,
					uint16_t n, struct tp_drop_vec *dv);
struct tp_runtime_hooks {
	const tp_runtime_stage_fn *stages[2];
	unsigned n_stages[2];
	void *arg; /* passed as tp_stage_ctx.user */
	void (*flush)(void *arg, struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		      struct tp_drop_vec *dv);
	unsigned (*poll)(void *arg, struct tp_stage_ctx *ctx, struct tp_drop_vec *dv);
	/* around a worker's block: true before it (after the poll found
	 * nothing), false after */
	void (*idle)(void *arg, unsigned worker, bool sleeping);
	/* Work another thread left this worker for its poll hook (a handoff,
	 * crypto jobs, frames to send)? Asked after the worker's sleeping
	 * flag is up and before it blocks; whoever leaves such work enqueues
	 * it, then calls tp_runtime_wake(). */
	bool (*pending)(void *arg, unsigned worker);
	/* the fd a blocked worker also waits on; tp_runtime_wake writes it */
	int (*wake_fd)(void *arg, unsigned worker);
};

struct tp_eal_args {
	int argc;
	char *argv[TP_EAL_ARGS_MAX + 1]; /* NULL-terminated; point into buf */
	char buf[4096];
	size_t used;
};

struct tp_runtime_worker {
	struct tp_runtime *rt;
	unsigned index; /* 0-based */
	unsigned lcore; /* EAL lcore id */
	uint16_t queue; /* rx/tx queue on both ports (see n_queues) */
	bool sleeping;	/* blocks now: wake it for frames in its queue rings */
} __attribute__((aligned(64)));

struct tp_runtime {
	const struct tp_config *cfg;
	struct tp_counters *counters;	      /* slot i: worker i; last slot: control */
	const struct tp_runtime_hooks *hooks; /* NULL: the default stages */
	struct tp_clock clock;
	struct rte_mempool *pool[2]; /* one per port: AF_XDP uses it as UMEM */
	uint16_t port[2];	     /* enum tp_port_role → ethdev port id */
	bool eal_up;
	bool port_started[2];
	bool port_configured[2];
	bool workers_running;
	bool stop; /* set by the control thread, read by workers (atomic) */
	uint64_t start_ns;
	unsigned n_workers;
	struct tp_runtime_worker workers[TP_CONFIG_WORKERS_MAX];
	/* Queues per port: one per worker where the port has them. A port
	 * with fewer (a veth under DPDK 22.11's net_af_xdp, which counts
	 * only ethtool "combined" channels: one) is received by workers
	 * 0..n_queues-1 only; the others get their packets through the
	 * handoff (dataplane/fwd/stage_handoff.c) and hand what they send
	 * to the worker of queue worker % n_queues (tp_runtime_tx): one
	 * thread uses a queue, as with one worker. */
	uint16_t n_queues[2];
	struct rte_ring *txr[2][TP_CONFIG_WORKERS_MAX]; /* frames for queue q's worker */
	/* idle_wait = fd in xdp mode: the PMD's AF_XDP sockets, found in
	 * /proc/self/fd (net_af_xdp does not export them). The PMD makes
	 * a queue's socket when the queue is set up, so the socket that
	 * appears then is that queue's: xsk_fd[role][q], and an idle worker
	 * blocks on its own queue's two. If a setup shows no single new
	 * socket, xsk_by_queue is false and every worker blocks on all. */
	unsigned n_xsk_fds;
	int xsk_fds[2 * TP_CONFIG_WORKERS_MAX];
	bool xsk_by_queue;
	int xsk_fd[2][TP_CONFIG_WORKERS_MAX];
};

/* [any thread] Worker i has work from another thread (enqueued before
 * this call): wake it if it blocks. The caller's enqueue is ordered
 * before the read of the worker's sleeping flag, the worker's flag before
 * its last look (its queue rings, hooks->pending): one of the two sees
 * the other, so no work waits for a block's timeout. */
void tp_runtime_wake(struct tp_runtime *rt, unsigned worker);

/* [worker] Transmit on port role from worker queue (tp_runtime_worker.queue).
 * Returns how many frames were taken; the caller drops the rest. On a port
 * with fewer queues than workers, a worker past them hands its frames to
 * the worker of queue (queue % n_queues) through that queue's ring (*handed
 * true): that worker sends them and counts them (transmitted, or tx_full). */
uint16_t tp_runtime_tx(struct tp_runtime *rt, int role, uint16_t queue, struct rte_mbuf **pkts,
		       uint16_t n, bool *handed);

/* An mbuf pool (rte_pktmbuf_pool_create's arguments). umem: the pool of
 * an AF_XDP port, its objects exactly TP_UMEM_FRAME bytes so that the
 * UMEM net_af_xdp registers holds every buffer (pool.c); the data room is
 * then what the frame leaves, at least room. NULL and rte_errno on
 * failure (EINVAL: room does not fit a frame). */
#define TP_UMEM_FRAME 4096u
struct rte_mempool *tp_mbuf_pool_create(const char *name, unsigned n, unsigned cache,
					uint16_t priv_size, uint16_t room, int socket, bool umem);

/* 0 if every buffer of mp lies inside the UMEM net_af_xdp registers for it
 * (populated_size x object size from its first chunk's page); else
 * -ERANGE and a one-line reason in err: the kernel would silently drop
 * such a buffer from the fill ring, and the port would starve. */
int tp_mbuf_pool_check_umem(struct rte_mempool *mp, char *err, size_t errlen);

/* The AF_XDP queues to ask of interface ifname for n workers: n, or what
 * its ethtool "combined" channels allow (the PMD's own limit; 1 when the
 * driver reports none, as veth). */
unsigned tp_runtime_xdp_queues(const char *ifname, unsigned n);

/* Build rte_eal_init's arguments (argv[0] = prog). -ENOSPC if too long. */
int tp_runtime_eal_args(const struct tp_config *cfg, const char *prog, struct tp_eal_args *out);

/* The ethdev name of a role's port (0 zone, 1 transit), as the EAL
 * arguments name it. */
const char *tp_runtime_port_name(const struct tp_config *cfg, int role, char *buf, size_t len);

/* Bring up EAL, pools and ports. On failure, a one-line reason in err
 * (errlen bytes) and -errno; call tp_runtime_close() either way. */
int tp_runtime_open(struct tp_runtime *rt, const struct tp_config *cfg,
		    struct tp_counters *counters, const struct tp_clock *clock, char *err,
		    size_t errlen);

int tp_runtime_start(struct tp_runtime *rt);
void tp_runtime_stop(struct tp_runtime *rt);
void tp_runtime_close(struct tp_runtime *rt);

/* Port facts for status output (control thread). */
struct tp_runtime_port_info {
	char name[64];
	bool link_up;
	uint32_t speed_mbps;
	uint16_t mtu;
};
int tp_runtime_port_info(struct tp_runtime *rt, int role, struct tp_runtime_port_info *out);

#endif /* TP_DP_RUNTIME_H */
