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
 *
 * Control thread <-> workers (DESIGN.md §3): each worker has a bounded
 * single-producer/single-consumer ring up to the control thread
 * (tp_stage_to_control) and one down ring per port (tp_runtime_send), and
 * an eventfd each way so neither side polls: a worker kicks
 * tp_runtime_control_fd() after putting packets up, the control thread
 * kicks the worker after putting packets down. Workers drain their down
 * rings every iteration and transmit on their own queues, so only workers
 * ever touch a tx queue.
 *
 * RCU (rte_rcu_qsbr): every worker is a reader; it reports a quiescent
 * state after each loop iteration and is offline while it waits idle. So
 * a stage may read an RCU-published pointer (policy tables, next hops) for
 * the length of one burst, and the control thread that swaps such a
 * pointer calls tp_runtime_synchronize() before freeing the old object.
 */
#ifndef TP_RUNTIME_H
#define TP_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "tp/clock.h"
#include "tp/config.h"
#include "tp/counters.h"

#define TP_EAL_ARGS_MAX 32

struct rte_mempool;

struct tp_eal_args {
	int argc;
	char *argv[TP_EAL_ARGS_MAX + 1]; /* NULL-terminated; point into buf */
	char buf[4096];
	size_t used;
};

struct rte_mbuf;
struct rte_rcu_qsbr;
struct tp_stage;
struct rte_ring;

#define TP_RUNTIME_RING_SIZE 1024 /* packets per worker<->control ring */

struct tp_runtime_worker {
	struct tp_runtime *rt;
	unsigned index;		  /* 0-based */
	unsigned lcore;		  /* EAL lcore id */
	uint16_t queue;		  /* rx/tx queue on both ports */
	int efd;		  /* eventfd: control thread -> this worker */
	struct rte_ring *up;	  /* this worker -> control thread */
	struct rte_ring *down[2]; /* control thread -> this worker, per port role */
} __attribute__((aligned(64)));

/* Stage lists of the two ports (struct tp_stage, tp/pipeline.h); NULL
 * means the default { tp_stage_parse, tp_stage_no_policy }: fail closed.
 * Must outlive the runtime. */
struct tp_runtime_stages {
	const struct tp_stage *zone;
	unsigned n_zone;
	const struct tp_stage *transit;
	unsigned n_transit;
};

struct tp_runtime {
	const struct tp_config *cfg;
	struct tp_counters *counters; /* slot i: worker i; last slot: control */
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
	struct tp_runtime_stages stages;
	int control_efd;	  /* eventfd: workers -> control thread */
	struct rte_rcu_qsbr *qsv; /* workers are its readers, thread id = index */
	unsigned next_tx;	  /* round robin of tp_runtime_send over workers */
	/* idle_wait = fd in xdp mode: the PMD's AF_XDP sockets, found in
	 * /proc/self/fd (net_af_xdp does not export them). Idle workers
	 * block on all of them. */
	unsigned n_xsk_fds;
	int xsk_fds[2 * TP_CONFIG_WORKERS_MAX];
};

/* Build rte_eal_init's arguments (argv[0] = prog). -ENOSPC if too long. */
int tp_runtime_eal_args(const struct tp_config *cfg, const char *prog, struct tp_eal_args *out);

/* The ethdev name of a role's port (0 zone, 1 transit), as the EAL
 * arguments name it. */
const char *tp_runtime_port_name(const struct tp_config *cfg, int role, char *buf, size_t len);

/* Bring up EAL, pools and ports. On failure, a one-line reason in err
 * (errlen bytes) and -errno; call tp_runtime_close() either way. */
int tp_runtime_open(struct tp_runtime *rt, const struct tp_config *cfg,
		    struct tp_counters *counters, const struct tp_clock *clock,
		    const struct tp_runtime_stages *stages, char *err, size_t errlen);

/* Control thread: the fd to poll (POLLIN) for packets from workers, and
 * taking them (this also clears the fd). Returns how many were taken; they
 * are the caller's to free. */
int tp_runtime_control_fd(const struct tp_runtime *rt);
unsigned tp_runtime_from_workers(struct tp_runtime *rt, struct rte_mbuf **pkts, unsigned max);

/* Control thread: after publishing a new pointer, wait until no worker can
 * still see the old one (a worker never blocks while online, so this
 * waits at most one loop iteration of each worker). */
void tp_runtime_synchronize(struct tp_runtime *rt);

/* Control thread: transmit pkts out of port `role` (0 zone, 1 transit)
 * through a worker's down ring. Returns how many were taken; the caller
 * still owns (and frees) the rest. */
unsigned tp_runtime_send(struct tp_runtime *rt, int role, struct rte_mbuf **pkts, unsigned n);

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

#endif /* TP_RUNTIME_H */
