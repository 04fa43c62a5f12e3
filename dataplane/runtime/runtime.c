// SPDX-License-Identifier: MIT
/*
 * The DPDK runtime (see tp/runtime.h for the life cycle and who owns what).
 *
 * Workers: each runs worker_main() on its lcore until rt->stop is set. One
 * iteration first transmits what the control thread queued on its down
 * rings, then polls rx queue `queue` of the zone port and of the transit
 * port; each non-empty burst runs the stage list of its port, the
 * survivors are sent out of the other port, and the burst's drops are
 * counted and freed in one place (tp_pipeline_flush). Between iterations
 * the idle back-off (tp/idle.h) decides whether to wait, and how.
 */
#include "tp/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
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
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "tp/idle.h"
#include "tp/pipeline.h"

/* The default stages of both ports: parse, then drop everything as
 * no_policy (fail closed) until tpd hands in the real lists. */
static const struct tp_stage default_stages[] = {{tp_stage_parse, NULL},
						 {tp_stage_no_policy, NULL}};

/* Counters of each port role. */
static const struct {
	enum tp_stat rx_pkts, rx_bytes, tx_pkts, tx_bytes;
} roles[TP_PORT__COUNT] = {
	[TP_PORT_ZONE] = {TP_STAT_ZONE_RX_PKTS, TP_STAT_ZONE_RX_BYTES, TP_STAT_ZONE_TX_PKTS,
			  TP_STAT_ZONE_TX_BYTES},
	[TP_PORT_TRANSIT] = {TP_STAT_TRANSIT_RX_PKTS, TP_STAT_TRANSIT_RX_BYTES,
			     TP_STAT_TRANSIT_TX_PKTS, TP_STAT_TRANSIT_TX_BYTES},
};

static uint64_t burst_bytes(struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t b = 0;

	for (uint16_t i = 0; i < n; i++)
		b += rte_pktmbuf_pkt_len(pkts[i]);
	return b;
}

/* Send survivors out of port `out`; what the queue does not take is a drop. */
static void send_burst(struct tp_runtime *rt, enum tp_port_role out, uint16_t queue,
		       struct rte_mbuf **pkts, uint16_t n, struct tp_drop_vec *dv,
		       struct tp_counters_slot *cnt)
{
	uint64_t bytes;
	uint16_t sent;

	if (!n)
		return;
	bytes = burst_bytes(pkts, n);
	sent = rte_eth_tx_burst(rt->port[out], queue, pkts, n);
	if (sent < n)
		bytes -= burst_bytes(pkts + sent, (uint16_t)(n - sent));
	tp_counters_add(cnt, roles[out].tx_pkts, sent);
	tp_counters_add(cnt, roles[out].tx_bytes, bytes);
	for (uint16_t i = sent; i < n; i++)
		tp_drop_vec_push(dv, pkts[i], TP_DROP_TX_FULL);
}

/*
 * Idle: block until the control thread kicks this worker's eventfd, a
 * frame reaches an AF_XDP rx ring (fd mode), or max_us passes. Without
 * AF_XDP sockets this is the back-off sleep, cut short by a kick.
 */
static void idle_wait(struct tp_runtime_worker *w, struct pollfd *pfd, uint32_t max_us)
{
	struct tp_runtime *rt = w->rt;
	struct timespec ts = {.tv_sec = max_us / 1000000,
			      .tv_nsec = (long)(max_us % 1000000) * 1000};
	unsigned n = 0;
	uint64_t v;

	pfd[n++] = (struct pollfd){.fd = w->efd, .events = POLLIN};
	for (unsigned i = 0; i < rt->n_xsk_fds; i++)
		pfd[n++] = (struct pollfd){.fd = rt->xsk_fds[i], .events = POLLIN};
	if (ppoll(pfd, n, &ts, NULL) > 0 && (pfd[0].revents & POLLIN))
		(void)!read(w->efd, &v, sizeof(v));
}

/* Transmit what the control thread queued for this worker. */
static unsigned drain_down(struct tp_runtime_worker *w, struct rte_mbuf **pkts, uint16_t burst,
			   struct tp_drop_vec *dv, struct tp_counters_slot *cnt)
{
	unsigned got = 0;

	for (int role = 0; role < TP_PORT__COUNT; role++) {
		unsigned n = rte_ring_sc_dequeue_burst(w->down[role], (void **)pkts, burst, NULL);

		if (!n)
			continue;
		got += n;
		tp_counters_add(cnt, TP_STAT_FROM_CONTROL, n);
		send_burst(w->rt, (enum tp_port_role)role, w->queue, pkts, (uint16_t)n, dv, cnt);
		tp_pipeline_flush(dv, cnt);
	}
	return got;
}

bool tp_stage_to_control(struct tp_stage_ctx *ctx, struct rte_mbuf *m)
{
	struct tp_runtime_worker *w = ctx->w;
	static const uint64_t one = 1;

	if (rte_ring_sp_enqueue(w->up, m) != 0)
		return false;
	tp_counters_add(ctx->cnt, TP_STAT_TO_CONTROL, 1);
	/* a write per packet: control traffic is handshakes, rare and
	 * rate-limited before it gets here */
	(void)!write(w->rt->control_efd, &one, sizeof(one));
	return true;
}

static int worker_main(void *arg)
{
	struct tp_runtime_worker *w = arg;
	struct tp_runtime *rt = w->rt;
	struct tp_counters_slot *cnt = tp_counters_slot(rt->counters, w->index);
	uint16_t burst = rt->cfg->burst;
	struct rte_mbuf *pkts[TP_BURST_MAX];
	struct tp_drop_vec dv = {.n = 0};
	struct tp_stage_ctx ctx = {.cnt = cnt, .worker = w->index, .w = w};
	struct pollfd pfd[2 * TP_CONFIG_WORKERS_MAX + 1];
	const struct {
		const struct tp_stage *list;
		unsigned n;
	} stages[TP_PORT__COUNT] = {
		{rt->stages.zone, rt->stages.n_zone},
		{rt->stages.transit, rt->stages.n_transit},
	};
	struct tp_idle idle;

	tp_idle_init(&idle, rt->cfg->idle_polls, rt->cfg->idle_sleep_max_us);
	rte_rcu_qsbr_thread_register(rt->qsv, w->index);
	rte_rcu_qsbr_thread_online(rt->qsv, w->index);
	while (!__atomic_load_n(&rt->stop, __ATOMIC_ACQUIRE)) {
		unsigned got = drain_down(w, pkts, burst, &dv, cnt);
		uint32_t sleep_us;

		for (int role = 0; role < TP_PORT__COUNT; role++) {
			uint16_t n = rte_eth_rx_burst(rt->port[role], w->queue, pkts, burst);

			if (!n)
				continue;
			got += n;
			tp_counters_add(cnt, roles[role].rx_pkts, n);
			tp_counters_add(cnt, roles[role].rx_bytes, burst_bytes(pkts, n));
			ctx.in_role = (enum tp_port_role)role;
			ctx.now_ns = tp_clock_now(&rt->clock);
			n = tp_pipeline_run(stages[role].list, stages[role].n, &ctx, pkts, n, &dv);
			send_burst(rt, role == TP_PORT_ZONE ? TP_PORT_TRANSIT : TP_PORT_ZONE,
				   w->queue, pkts, n, &dv, cnt);
			tp_pipeline_flush(&dv, cnt);
		}
		sleep_us = tp_idle_after_poll(&idle, got);
		if (sleep_us) {
			tp_counters_add(cnt, TP_STAT_IDLE_SLEEPS, 1);
			/* offline while blocked: synchronize must not wait on us */
			rte_rcu_qsbr_thread_offline(rt->qsv, w->index);
			idle_wait(w, pfd, rt->n_xsk_fds ? TP_IDLE_BLOCK_MAX_US : sleep_us);
			rte_rcu_qsbr_thread_online(rt->qsv, w->index);
		}
		rte_rcu_qsbr_quiescent(rt->qsv, w->index);
	}
	rte_rcu_qsbr_thread_offline(rt->qsv, w->index);
	rte_rcu_qsbr_thread_unregister(rt->qsv, w->index);
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
	if (info.max_rx_queues < nq || info.max_tx_queues < nq)
		return fail(err, errlen, -EINVAL,
			    "%s port %s has %u rx / %u tx queues, %u workers need one each", what,
			    name, info.max_rx_queues, info.max_tx_queues, nq);
	socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)rte_socket_id();
	/* Room for rx rings, tx rings and each worker's burst in flight. */
	snprintf(pool_name, sizeof(pool_name), "tp_pool_%s", what);
	rt->pool[role] = rte_pktmbuf_pool_create(
		pool_name, cfg->mbufs, RTE_MIN(256u, cfg->mbufs / 8),
		(uint16_t)RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), RTE_MBUF_PRIV_ALIGN),
		RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!rt->pool[role])
		return fail(err, errlen, rte_errno ? -rte_errno : -ENOMEM,
			    "%s: cannot create mbuf pool of %u: %s (raise memory_mb?)", what,
			    cfg->mbufs, rte_strerror(rte_errno));
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

/* Rings and eventfds between the control thread and worker w. */
static int worker_channels(struct tp_runtime *rt, struct tp_runtime_worker *w, char *err,
			   size_t errlen)
{
	char name[RTE_RING_NAMESIZE];

	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		return fail(err, errlen, -errno, "eventfd: %s", strerror(errno));
	snprintf(name, sizeof(name), "tp_up_%u", w->index);
	w->up = rte_ring_create(name, TP_RUNTIME_RING_SIZE, (int)rte_socket_id(),
				RING_F_SP_ENQ | RING_F_SC_DEQ);
	for (int role = 0; role < TP_PORT__COUNT && w->up; role++) {
		snprintf(name, sizeof(name), "tp_down_%u_%d", w->index, role);
		w->down[role] = rte_ring_create(name, TP_RUNTIME_RING_SIZE, (int)rte_socket_id(),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!w->down[role])
			break;
	}
	if (!w->up || !w->down[0] || !w->down[1])
		return fail(err, errlen, rte_errno ? -rte_errno : -ENOMEM,
			    "cannot create worker %u's rings: %s", w->index,
			    rte_strerror(rte_errno));
	return 0;
}

void tp_runtime_synchronize(struct tp_runtime *rt)
{
	rte_rcu_qsbr_synchronize(rt->qsv, RTE_QSBR_THRID_INVALID);
}

int tp_runtime_control_fd(const struct tp_runtime *rt)
{
	return rt->control_efd;
}

unsigned tp_runtime_from_workers(struct tp_runtime *rt, struct rte_mbuf **pkts, unsigned max)
{
	unsigned got = 0;
	uint64_t v;

	(void)!read(rt->control_efd, &v, sizeof(v));
	for (unsigned i = 0; i < rt->n_workers && got < max; i++)
		got += rte_ring_sc_dequeue_burst(rt->workers[i].up, (void **)(pkts + got),
						 max - got, NULL);
	return got;
}

unsigned tp_runtime_send(struct tp_runtime *rt, int role, struct rte_mbuf **pkts, unsigned n)
{
	struct tp_runtime_worker *w = &rt->workers[rt->next_tx++ % rt->n_workers];
	static const uint64_t one = 1;
	unsigned sent;

	sent = rte_ring_sp_enqueue_burst(w->down[role], (void **)pkts, n, NULL);
	if (sent)
		(void)!write(w->efd, &one, sizeof(one));
	return sent;
}

int tp_runtime_open(struct tp_runtime *rt, const struct tp_config *cfg,
		    struct tp_counters *counters, const struct tp_clock *clock,
		    const struct tp_runtime_stages *stages, char *err, size_t errlen)
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
	rt->control_efd = -1;
	for (unsigned i = 0; i < TP_CONFIG_WORKERS_MAX; i++)
		rt->workers[i].efd = -1;
	rt->stages = (struct tp_runtime_stages){default_stages, RTE_DIM(default_stages),
						default_stages, RTE_DIM(default_stages)};
	if (stages && stages->zone)
		rt->stages.zone = stages->zone, rt->stages.n_zone = stages->n_zone;
	if (stages && stages->transit)
		rt->stages.transit = stages->transit, rt->stages.n_transit = stages->n_transit;
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
	for (unsigned i = 0; i < rt->n_workers; i++) {
		rt->workers[i] = (struct tp_runtime_worker){
			.rt = rt, .index = i, .lcore = cfg->worker_cores[i], .queue = (uint16_t)i};
		rc = worker_channels(rt, &rt->workers[i], err, errlen);
		if (rc)
			goto out;
	}
	rt->control_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rt->control_efd < 0) {
		rc = fail(err, errlen, -errno, "eventfd: %s", strerror(errno));
		goto out;
	}
	rt->qsv = rte_zmalloc("tp_qsbr", rte_rcu_qsbr_get_memsize(rt->n_workers),
			      RTE_CACHE_LINE_SIZE);
	if (!rt->qsv || rte_rcu_qsbr_init(rt->qsv, rt->n_workers) != 0) {
		rc = fail(err, errlen, -ENOMEM, "cannot set up RCU for %u workers", rt->n_workers);
		goto out;
	}
	for (int role = 0; role < TP_PORT__COUNT; role++) {
		rc = port_setup(rt, role, err, errlen);
		if (rc)
			goto out;
	}
	if (cfg->mode == TP_MODE_XDP && cfg->idle_wait == TP_IDLE_WAIT_FD)
		find_xsk_fds(rt);
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
	/* 1. workers leave their loops at the next iteration (kicked out of
	 *    their idle wait); 2. wait for them, so no one touches a queue;
	 *    3. only then stop the ports. */
	__atomic_store_n(&rt->stop, true, __ATOMIC_RELEASE);
	if (rt->workers_running) {
		static const uint64_t one = 1;

		/* wake workers blocked in their idle wait */
		for (unsigned i = 0; i < rt->n_workers; i++)
			(void)!write(rt->workers[i].efd, &one, sizeof(one));
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

/* Free what is left in a ring, then the ring. */
static void ring_free(struct rte_ring *r)
{
	void *m;

	if (!r)
		return;
	while (rte_ring_sc_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void tp_runtime_close(struct tp_runtime *rt)
{
	tp_runtime_stop(rt);
	/* Channels exist only once EAL is up (a runtime that never opened
	 * is all zeroes, and fd 0 is not ours). Their mbufs go back to the
	 * pools before the pools go. */
	for (unsigned i = 0; rt->eal_up && i < rt->n_workers; i++) {
		struct tp_runtime_worker *w = &rt->workers[i];

		ring_free(w->up);
		ring_free(w->down[0]);
		ring_free(w->down[1]);
		w->up = w->down[0] = w->down[1] = NULL;
		if (w->efd >= 0)
			close(w->efd);
		w->efd = -1;
	}
	if (rt->eal_up && rt->control_efd >= 0) {
		close(rt->control_efd);
		rt->control_efd = -1;
	}
	if (rt->eal_up) {
		rte_free(rt->qsv);
		rt->qsv = NULL;
	}
	for (int role = 0; role < TP_PORT__COUNT; role++) {
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
