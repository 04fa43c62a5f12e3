// SPDX-License-Identifier: MIT
/*
 * The DPDK runtime (see tp/dp/runtime.h for the life cycle and who owns what).
 *
 * Workers: each runs worker_main() on its lcore until rt->stop is set. One
 * iteration polls rx queue `queue` of the zone port, then of the transit
 * port; each non-empty burst runs the stage list of its port, then its
 * flush (the hooks', or the survivors sent out of the other port), and
 * the burst's drops are counted and freed in one place
 * (tp_pipeline_flush). Between iterations
 * the idle back-off (tp/dp/idle.h) decides whether to sleep.
 */
#include "tp/dp/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "tp/dp/idle.h"
#include "tp/dp/pipeline.h"

/* The stages of each port's bursts when no forwarding hooks are set
 * (tp_runtime_hooks.stages replaces them): parse, then the fail-closed
 * tp_stage_no_policy, which drops everything as no_policy. */
static const tp_stage_fn zone_stages[] = {tp_stage_parse, tp_stage_no_policy};
static const tp_stage_fn transit_stages[] = {tp_stage_parse, tp_stage_no_policy};

static const struct {
	const tp_stage_fn *stages;
	unsigned n;
	enum tp_stat rx_pkts, rx_bytes, tx_pkts, tx_bytes;
} roles[TP_PORT__COUNT] = {
	[TP_PORT_ZONE] = {zone_stages, RTE_DIM(zone_stages), TP_STAT_ZONE_RX_PKTS,
			  TP_STAT_ZONE_RX_BYTES, TP_STAT_ZONE_TX_PKTS, TP_STAT_ZONE_TX_BYTES},
	[TP_PORT_TRANSIT] = {transit_stages, RTE_DIM(transit_stages), TP_STAT_TRANSIT_RX_PKTS,
			     TP_STAT_TRANSIT_RX_BYTES, TP_STAT_TRANSIT_TX_PKTS,
			     TP_STAT_TRANSIT_TX_BYTES},
};

static uint64_t burst_bytes(struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t b = 0;

	for (uint16_t i = 0; i < n; i++)
		b += rte_pktmbuf_pkt_len(pkts[i]);
	return b;
}

/* More workers than a port's queues: workers past them do not touch the
 * queue (net_af_xdp's rx and tx of one queue share its socket's UMEM
 * rings, so one thread uses a queue, as with one worker); they put their
 * frames in the queue's ring, and the queue's worker sends them. */
static bool queue_shared(const struct tp_runtime *rt, int role)
{
	return rt->n_workers > (rt->n_queues[role] ? rt->n_queues[role] : 1u);
}

void tp_runtime_wake(struct tp_runtime *rt, unsigned i)
{
	const struct tp_runtime_hooks *h = rt->hooks;
	static const uint64_t one = 1;
	int fd;

	atomic_thread_fence(memory_order_seq_cst); /* the enqueue before the flag */
	if (!__atomic_load_n(&rt->workers[i].sleeping, __ATOMIC_SEQ_CST))
		return;
	fd = h && h->wake_fd ? h->wake_fd(h->arg, i) : -1;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: it wakes anyway */
}

uint16_t tp_runtime_tx(struct tp_runtime *rt, int role, uint16_t queue, struct rte_mbuf **pkts,
		       uint16_t n, bool *handed)
{
	uint16_t nq = rt->n_queues[role] ? rt->n_queues[role] : 1, q = (uint16_t)(queue % nq);
	unsigned k;

	*handed = false;
	if (!queue_shared(rt, role) || queue == q)
		return rte_eth_tx_burst(rt->port[role], queue, pkts, n);
	*handed = true;
	k = rte_ring_mp_enqueue_burst(rt->txr[role][q], (void **)pkts, n, NULL);
	if (k)
		tp_runtime_wake(rt, q);
	return (uint16_t)k;
}

/* [worker] The frames other workers left for this worker's queues. */
static unsigned send_others(struct tp_runtime *rt, uint16_t queue, struct tp_drop_vec *dv,
			    struct tp_counters_slot *cnt)
{
	struct rte_mbuf *pkts[64];
	unsigned work = 0;

	for (int role = 0; role < TP_PORT__COUNT; role++) {
		unsigned n;
		uint16_t sent;
		uint64_t bytes;

		if (!rt->txr[role][queue])
			continue;
		n = rte_ring_sc_dequeue_burst(rt->txr[role][queue], (void **)pkts, RTE_DIM(pkts),
					      NULL);
		if (!n)
			continue;
		work += n;
		bytes = burst_bytes(pkts, (uint16_t)n);
		sent = rte_eth_tx_burst(rt->port[role], queue, pkts, (uint16_t)n);
		if (sent < n)
			bytes -= burst_bytes(pkts + sent, (uint16_t)(n - sent));
		/* counted here, where they leave (tp_runtime_tx: handed) */
		tp_counters_add(cnt, roles[role].tx_pkts, sent);
		tp_counters_add(cnt, roles[role].tx_bytes, bytes);
		for (uint16_t i = sent; i < n; i++)
			tp_drop_vec_push(dv, pkts[i], TP_DROP_TX_FULL);
	}
	return work;
}

/* Anything another thread left this worker: frames in its queue rings,
 * or work for its poll hook (hooks->pending)? */
static bool others_waiting(const struct tp_runtime *rt, const struct tp_runtime_worker *w)
{
	const struct tp_runtime_hooks *h = rt->hooks;

	for (int role = 0; role < TP_PORT__COUNT; role++)
		if (rt->txr[role][w->queue] && !rte_ring_empty(rt->txr[role][w->queue]))
			return true;
	return h && h->pending && h->pending(h->arg, w->index);
}

/* Sleep up to max_us, or until tp_runtime_wake writes wake_fd. */
static void wait_sleep(uint32_t max_us, int wake_fd)
{
	struct timespec ts = {.tv_sec = max_us / 1000000,
			      .tv_nsec = (long)(max_us % 1000000) * 1000};
	struct pollfd pfd = {.fd = wake_fd, .events = POLLIN};

	if (wake_fd < 0) {
		rte_delay_us_sleep(max_us);
		return;
	}
	ppoll(&pfd, 1, &ts, NULL);
}

/* Send survivors out of port `out`; what the queue does not take is a drop. */
static void send_burst(struct tp_runtime *rt, enum tp_port_role out, uint16_t queue,
		       struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv,
		       struct tp_counters_slot *cnt)
{
	uint8_t port[TP_BURST_MAX];
	uint64_t bytes;
	uint16_t sent;
	bool handed;

	if (!n)
		return;
	bytes = burst_bytes(pkts, n);
	tp_fate_take(pkts, n, port);
	sent = tp_runtime_tx(rt, out, queue, pkts, n, &handed);
	tp_fate_settle(cnt, pkts, n, sent, port, TP_FATE_FORWARDED);
	if (sent < n)
		bytes -= burst_bytes(pkts + sent, (uint16_t)(n - sent));
	if (!handed) {
		tp_counters_add(cnt, roles[out].tx_pkts, sent);
		tp_counters_add(cnt, roles[out].tx_bytes, bytes);
	}
	for (uint16_t i = sent; i < n; i++)
		tp_drop_vec_push(dv, pkts[i], TP_DROP_TX_FULL);
}

/* Block until a frame reaches this worker's AF_XDP rx rings (all of
 * them when the sockets are not known by queue), or max_us passes. */
static void wait_xsk(struct tp_runtime *rt, uint16_t queue, struct pollfd *pfd, uint32_t max_us,
		     int wake_fd)
{
	struct timespec ts = {.tv_sec = max_us / 1000000,
			      .tv_nsec = (long)(max_us % 1000000) * 1000};
	unsigned n = 0;

	if (rt->xsk_by_queue) {
		for (int role = 0; role < TP_PORT__COUNT; role++)
			pfd[n++] = (struct pollfd){.fd = rt->xsk_fd[role][queue], .events = POLLIN};
	} else {
		for (unsigned i = 0; i < rt->n_xsk_fds; i++)
			pfd[n++] = (struct pollfd){.fd = rt->xsk_fds[i], .events = POLLIN};
	}
	/* the control thread hands this worker frames to send (handshakes,
	 * packets released by a resolved neighbour): wake for those too */
	if (wake_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
	ppoll(pfd, n, &ts, NULL);
}

/* The stage list of a port: the forwarding hooks' if set, else the
 * fail-closed default. */
static void role_stages(const struct tp_runtime *rt, int role, const tp_stage_fn **stages,
			unsigned *n)
{
	const struct tp_runtime_hooks *h = rt->hooks;

	*stages = roles[role].stages;
	*n = roles[role].n;
	if (h && h->stages[role]) {
		*stages = h->stages[role];
		*n = h->n_stages[role];
	}
}

static int worker_main(void *arg)
{
	struct tp_runtime_worker *w = arg;
	struct tp_runtime *rt = w->rt;
	struct tp_counters_slot *cnt = tp_counters_slot(rt->counters, w->index);
	uint16_t burst = rt->cfg->burst;
	struct rte_mbuf *pkts[TP_BURST_MAX];
	struct tp_drop_vec dv = {.n = 0};
	const struct tp_runtime_hooks *h = rt->hooks;
	struct tp_stage_ctx ctx = {
		.cnt = cnt, .worker = w->index, .user = h ? h->arg : NULL, .queue = w->queue};
	struct pollfd pfd[2 * TP_CONFIG_WORKERS_MAX + 1];
	int wake_fd = h && h->wake_fd ? h->wake_fd(h->arg, w->index) : -1;
	struct tp_idle idle;

	tp_idle_init(&idle, rt->cfg->idle_polls, rt->cfg->idle_sleep_max_us, rt->cfg->idle_poll_us);
	while (!__atomic_load_n(&rt->stop, __ATOMIC_ACQUIRE)) {
		unsigned got = 0;
		uint32_t sleep_us;

		for (int role = 0; role < TP_PORT__COUNT; role++) {
			const tp_stage_fn *stages;
			unsigned n_stages;
			uint16_t n = 0;

			/* a worker past the port's queues: handoffs only */
			if (w->queue < rt->n_queues[role])
				n = rte_eth_rx_burst(rt->port[role], w->queue, pkts, burst);
			if (!n)
				continue;
			got += n;
			for (uint16_t i = 0; i < n; i++) /* its verdict to come */
				tp_pkt_meta(pkts[i])->rx_port = (uint8_t)(role + 1);
			tp_counters_add(cnt, roles[role].rx_pkts, n);
			tp_counters_add(cnt, roles[role].rx_bytes, burst_bytes(pkts, n));
			ctx.in_role = (enum tp_port_role)role;
			ctx.now_ns = tp_clock_now(&rt->clock);
			role_stages(rt, role, &stages, &n_stages);
			n = tp_pipeline_run(stages, n_stages, &ctx, pkts, n, &dv);
			if (h && h->flush)
				h->flush(h->arg, &ctx, pkts, n, &dv);
			else
				send_burst(rt,
					   role == TP_PORT_ZONE ? TP_PORT_TRANSIT : TP_PORT_ZONE,
					   w->queue, pkts, n, &dv, cnt);
			tp_pipeline_flush(&dv, cnt);
		}
		if (h && h->poll) {
			ctx.now_ns = tp_clock_now(&rt->clock);
			got += h->poll(h->arg, &ctx, &dv);
			tp_pipeline_flush(&dv, cnt);
		}
		got += send_others(rt, w->queue, &dv, cnt);
		tp_pipeline_flush(&dv, cnt);
		sleep_us = tp_idle_after_poll(&idle, got, tp_clock_now(&rt->clock));
		if (sleep_us) {
			tp_counters_add(cnt, TP_STAT_IDLE_SLEEPS, 1);
			if (h && h->idle)
				h->idle(h->arg, w->index, true);
			/* flag, then look once more (tp_runtime_wake: enqueue,
			 * then flag) */
			__atomic_store_n(&w->sleeping, true, __ATOMIC_SEQ_CST);
			atomic_thread_fence(memory_order_seq_cst);
			if (others_waiting(rt, w))
				; /* work from another thread: no sleep */
			else if (rt->n_xsk_fds)
				wait_xsk(rt, w->queue, pfd, TP_IDLE_BLOCK_MAX_US, wake_fd);
			else
				wait_sleep(sleep_us, wake_fd);
			__atomic_store_n(&w->sleeping, false, __ATOMIC_RELAXED);
			if (h && h->idle)
				h->idle(h->arg, w->index, false);
		}
	}
	return 0;
}

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

#ifndef AF_XDP
#define AF_XDP 44
#endif

/* The net_af_xdp PMD keeps its sockets to itself; they are the process's
 * only AF_XDP sockets, so find them by domain. */
static void find_xsk_fds(struct tp_runtime *rt)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;

	rt->n_xsk_fds = 0;
	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL && rt->n_xsk_fds < RTE_DIM(rt->xsk_fds)) {
		int fd = (int)strtol(de->d_name, NULL, 10), domain = 0;
		socklen_t len = sizeof(domain);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(dir))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_XDP)
			rt->xsk_fds[rt->n_xsk_fds++] = fd;
	}
	closedir(dir);
}

/* After queue q of a port was set up: the one AF_XDP socket that was not
 * there before is that queue's (see xsk_by_queue in tp/dp/runtime.h). */
static void note_xsk_fd(struct tp_runtime *rt, int role, uint16_t q)
{
	int known[2 * TP_CONFIG_WORKERS_MAX] = {0}, n_known = 0, fresh = -1, n_fresh = 0;

	for (int r = 0; r < TP_PORT__COUNT; r++)
		for (unsigned i = 0; i < rt->n_workers; i++)
			if (rt->xsk_fd[r][i] >= 0)
				known[n_known++] = rt->xsk_fd[r][i];
	find_xsk_fds(rt);
	for (unsigned i = 0; i < rt->n_xsk_fds; i++) {
		bool old = false;

		for (int k = 0; k < n_known; k++)
			old = old || known[k] == rt->xsk_fds[i];
		if (!old) {
			fresh = rt->xsk_fds[i];
			n_fresh++;
		}
	}
	if (n_fresh == 1)
		rt->xsk_fd[role][q] = fresh;
	else
		rt->xsk_by_queue = false;
}

static int port_setup(struct tp_runtime *rt, int role, char *err, size_t errlen)
{
	const struct tp_config *cfg = rt->cfg;
	const char *what = role == TP_PORT_ZONE ? "zone" : "transit";
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t nq = (uint16_t)rt->n_workers;
	uint16_t rxd = cfg->rx_desc, txd = cfg->tx_desc;
	char name[64], pool_name[RTE_MEMPOOL_NAMESIZE];
	uint16_t pid;
	int socket, rc;

	tp_runtime_port_name(cfg, role, name, sizeof(name));
	rc = rte_eth_dev_get_port_by_name(name, &pid);
	if (rc)
		return fail(err, errlen, -ENODEV, "%s port %s did not come up", what, name);
	rt->port[role] = pid;
	rc = rte_eth_dev_info_get(pid, &info);
	if (rc)
		return fail(err, errlen, rc, "%s port %s: no device info: %s", what, name,
			    rte_strerror(-rc));
	/* fewer queues than workers: the rest work through the handoff */
	nq = RTE_MIN(nq, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	if (!nq)
		return fail(err, errlen, -EINVAL, "%s port %s has no rx/tx queue", what, name);
	rt->n_queues[role] = nq;
	for (uint16_t q = 0; q < nq && rt->n_workers > nq; q++) {
		char rname[RTE_RING_NAMESIZE];

		snprintf(rname, sizeof(rname), "tp_txr_%d_%u", role, q);
		rt->txr[role][q] = rte_ring_create(rname, 4096, rte_socket_id(), RING_F_SC_DEQ);
		if (!rt->txr[role][q])
			return fail(err, errlen, -ENOMEM, "%s port %s: no ring for queue %u", what,
				    name, q);
	}
	socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)rte_socket_id();
	/* Room for rx rings, tx rings and each worker's burst in flight. */
	snprintf(pool_name, sizeof(pool_name), "tp_pool_%s", what);
	/* an AF_XDP port's pool is its UMEM: one frame per object (pool.c) */
	rt->pool[role] = tp_mbuf_pool_create(
		pool_name, cfg->mbufs, RTE_MIN(256u, cfg->mbufs / 8),
		(uint16_t)RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, socket, cfg->mode == TP_MODE_XDP);
	if (!rt->pool[role])
		return fail(err, errlen, rte_errno ? -rte_errno : -ENOMEM,
			    "%s: cannot create mbuf pool of %u: %s (raise memory_mb?)", what,
			    cfg->mbufs, rte_strerror(rte_errno));
	if (cfg->mode == TP_MODE_XDP) {
		rc = tp_mbuf_pool_check_umem(rt->pool[role], err, errlen);
		if (rc)
			return rc;
	}
	rc = rte_eth_dev_configure(pid, nq, nq, &conf);
	if (rc)
		return fail(err, errlen, rc, "%s port %s: configure failed: %s", what, name,
			    rte_strerror(-rc));
	rt->port_configured[role] = true;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
	if (rc)
		return fail(err, errlen, rc, "%s port %s: descriptors: %s", what, name,
			    rte_strerror(-rc));
	for (uint16_t q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(pid, q, rxd, (unsigned)socket, NULL, rt->pool[role]);
		if (rc)
			return fail(err, errlen, rc, "%s port %s: rx queue %u: %s", what, name, q,
				    rte_strerror(-rc));
		if (cfg->mode == TP_MODE_XDP && cfg->idle_wait == TP_IDLE_WAIT_FD)
			note_xsk_fd(rt, role, q);
		rc = rte_eth_tx_queue_setup(pid, q, txd, (unsigned)socket, NULL);
		if (rc)
			return fail(err, errlen, rc, "%s port %s: tx queue %u: %s", what, name, q,
				    rte_strerror(-rc));
	}
	rc = rte_eth_dev_start(pid);
	if (rc)
		return fail(err, errlen, rc, "%s port %s: start failed: %s", what, name,
			    rte_strerror(-rc));
	rt->port_started[role] = true;
	return 0;
}

/* EAL holds a write lock on its runtime config file for the life of the
 * process; a second tpd with the same name would fail deep inside EAL. */
static int name_in_use(const struct tp_config *cfg, char *err, size_t errlen)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[128];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/var/run/dpdk/tpd-%s/config", cfg->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* never ran, or not root: EAL will say */
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		rc = fail(err, errlen, -EADDRINUSE,
			  "name '%s' is in use by process %d (each tpd on a machine needs its own "
			  "name)",
			  cfg->name, (int)fl.l_pid);
	close(fd);
	return rc;
}

/* Fail before EAL with a clear line rather than deep inside it or the PMD. */
static int preflight(const struct tp_config *cfg, char *err, size_t errlen)
{
	int rc = name_in_use(cfg, err, errlen);

	if (rc || cfg->mode != TP_MODE_XDP)
		return rc;
	if (!if_nametoindex(cfg->zone_if))
		return fail(err, errlen, -ENODEV, "zone_interface '%s' does not exist",
			    cfg->zone_if);
	if (!if_nametoindex(cfg->transit_if))
		return fail(err, errlen, -ENODEV, "transit_interface '%s' does not exist",
			    cfg->transit_if);
	return 0;
}

/* The EAL arguments on one line, for the error that names them. */
static const char *eal_line(const struct tp_eal_args *a, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 1; i < a->argc && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %s", a->argv[i]);
	return buf;
}

int tp_runtime_open(struct tp_runtime *rt, const struct tp_config *cfg,
		    struct tp_counters *counters, const struct tp_clock *clock, char *err,
		    size_t errlen)
{
	struct tp_eal_args args, copy;
	char line[512];
	int rc;

	memset(rt, 0, sizeof(*rt));
	rt->cfg = cfg;
	rt->counters = counters;
	rt->clock = *clock;
	rt->n_workers = cfg->n_workers;
	rt->start_ns = tp_clock_now(clock);
	rc = preflight(cfg, err, errlen);
	if (rc)
		goto out;
	rc = tp_runtime_eal_args(cfg, "tpd", &args);
	if (rc) {
		fail(err, errlen, rc, "EAL arguments too long");
		goto out;
	}
	copy = args;
	for (int i = 0; i < args.argc; i++)
		copy.argv[i] = copy.buf + (args.argv[i] - args.buf);
	if (rte_eal_init(copy.argc, copy.argv) < 0) {
		/* some EAL failures leave rte_errno at 0 */
		rc = rte_errno ? -rte_errno : -EIO;
		fail(err, errlen, rc, "DPDK EAL init failed: %s (EAL arguments:%s)",
		     rte_strerror(rte_errno), eal_line(&args, line, sizeof(line)));
		goto out;
	}
	rt->eal_up = true;
	rt->xsk_by_queue = true;
	memset(rt->xsk_fd, -1, sizeof(rt->xsk_fd));
	for (unsigned i = 0; i < rt->n_workers; i++) {
		rt->workers[i] = (struct tp_runtime_worker){
			.rt = rt, .index = i, .lcore = i + 1 /* eal.c */, .queue = (uint16_t)i};
	}
	for (int role = 0; role < TP_PORT__COUNT; role++) {
		rc = port_setup(rt, role, err, errlen);
		if (rc)
			goto out;
	}
	if (cfg->mode == TP_MODE_XDP && cfg->idle_wait == TP_IDLE_WAIT_FD) {
		find_xsk_fds(rt);
		if (rt->xsk_by_queue &&
		    rt->n_xsk_fds != (unsigned)rt->n_queues[0] + rt->n_queues[1])
			rt->xsk_by_queue = false;
	} else {
		rt->xsk_by_queue = false;
	}
out:
	return rc;
}

int tp_runtime_start(struct tp_runtime *rt)
{
	int rc = 0;

	__atomic_store_n(&rt->stop, false, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < rt->n_workers; i++) {
		rc = rte_eal_remote_launch(worker_main, &rt->workers[i], rt->workers[i].lcore);
		if (rc) {
			tp_runtime_stop(rt);
			goto out;
		}
		rt->workers_running = true;
	}
out:
	return rc;
}

void tp_runtime_stop(struct tp_runtime *rt)
{
	/* 1. workers leave their loops at the next iteration (at most one
	 *    idle sleep away); 2. wait for them, so no one touches a queue;
	 *    3. only then stop the ports. */
	__atomic_store_n(&rt->stop, true, __ATOMIC_RELEASE);
	if (rt->workers_running) {
		rte_eal_mp_wait_lcore();
		rt->workers_running = false;
	}
	for (int role = 0; role < TP_PORT__COUNT; role++) {
		if (rt->port_started[role]) {
			rte_eth_dev_stop(rt->port[role]);
			rt->port_started[role] = false;
		}
	}
}

void tp_runtime_close(struct tp_runtime *rt)
{
	tp_runtime_stop(rt);
	for (int role = 0; role < TP_PORT__COUNT; role++) {
		for (unsigned q = 0; q < TP_CONFIG_WORKERS_MAX; q++) {
			struct rte_mbuf *m;

			/* workers have stopped: frames nobody will send */
			while (rt->txr[role][q] &&
			       rte_ring_dequeue(rt->txr[role][q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(rt->txr[role][q]);
			rt->txr[role][q] = NULL;
		}
		if (rt->port_configured[role]) {
			rte_eth_dev_close(rt->port[role]);
			rt->port_configured[role] = false;
		}
		/* after the port: an AF_XDP UMEM lives in this pool */
		rte_mempool_free(rt->pool[role]);
		rt->pool[role] = NULL;
	}
	if (rt->eal_up) {
		rte_eal_cleanup();
		rt->eal_up = false;
	}
}

int tp_runtime_port_info(struct tp_runtime *rt, int role, struct tp_runtime_port_info *out)
{
	struct rte_eth_link link;
	int rc;

	memset(out, 0, sizeof(*out));
	tp_runtime_port_name(rt->cfg, role, out->name, sizeof(out->name));
	if (!rt->port_configured[role])
		return -ENODEV;
	rc = rte_eth_link_get_nowait(rt->port[role], &link);
	if (rc)
		return rc;
	out->link_up = link.link_status == RTE_ETH_LINK_UP;
	out->speed_mbps = link.link_speed;
	rte_eth_dev_get_mtu(rt->port[role], &out->mtu);
	return 0;
}
