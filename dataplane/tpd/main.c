// SPDX-License-Identifier: MIT
/*
 * tpd: the transition-point daemon.
 *
 * Start-up, in this order so the cheap checks fail first and every failure
 * is one line on stderr and exit code 1:
 *   config → identity key → admin socket (refuses a live one) → listen
 *   port (xdp mode) → the host's forwarding on the ports (hostfwd.h) →
 *   interfaces → EAL, pools, ports → workers → telemetry
 * Then the control thread (the EAL main lcore) loops: admin socket,
 * /metrics (metrics_listen), signals (signalfd; SIGTERM/SIGINT stop),
 * housekeeping every housekeeping_ms on the injected clock.
 * Shutdown undoes it in reverse: workers stop, ports stop and close, the
 * admin socket file is removed, EAL is cleaned up, the key is wiped.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <sodium.h>
#include <xdp/libxdp.h>

#include "hostfwd.h"
#include "tp/dp/xdp.h"
#include "tpd.h"

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("tpd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* libbpf and libxdp (under the af_xdp PMD) narrate at info level; keep
 * their warnings, on one prefixed line each. */
static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fputs("tpd: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBXDP_WARN)
		return 0;
	fputs("tpd: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tpd [--config FILE] [--check] [--version]\n"
		   "  --config FILE  configuration (default " TP_CONFIG_DEFAULT_PATH ")\n"
		   "  --check        validate the configuration and key file, then exit\n");
}

/* Hold the tunnel port so no other process binds it while the AF_XDP
 * socket carries its traffic (one socket for IPv4 and IPv6). */
static int reserve_udp_port(struct tpd *d)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
				  .sin6_port = htons(d->cfg.listen_port),
				  .sin6_addr = IN6ADDR_ANY_INIT};
	int off = 0;

	d->udp_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->udp_fd < 0)
		return -errno;
	setsockopt(d->udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(d->udp_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	return 0;
}

static int setup_signals(struct tpd *d)
{
	sigset_t set;

	/* Blocked before EAL starts its threads, so they inherit the mask and
	 * only the control thread sees these, through the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -errno;
	sigdelset(&set, SIGPIPE);
	d->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->sig_fd < 0 ? -errno : 0;
}

/* Periodic work of the control thread: neighbours, tunnel timers and
 * validity windows (fwd), the policy state on the clock (expiry). */
static void housekeeping(struct tpd *d, uint64_t now)
{
	tp_counters_add(tpd_control_slot(d), TP_STAT_HOUSEKEEPING, 1);
	if (d->neigh)
		tp_neigh_expire(d->neigh);
	if (d->fwd) {
		tp_fwd_control_tick(d->fwd);
		tpd_policy_tick(d);
	}
	(void)now;
}

/* A packet held for a next hop comes back: forwarding sends it (through a
 * worker) or drops and counts it. Only forwarding holds packets. */
static void neigh_release(void *arg, void *pkt, const uint8_t *mac)
{
	struct tpd *d = arg;

	if (d->fwd)
		tp_fwd_neigh_release(d->fwd, pkt, mac);
}

/* Flow-log lines from fwd's drain (control thread): into the audit trail
 * (tp/dp/audit.h); with audit = off, like every other tpd message, one
 * "tpd: " line on stderr (journald under systemd). */
static void flow_log(void *arg, const char *line)
{
	struct tpd *d = arg;

	if (!tp_audit_flow(d->audit, line))
		say("%s", line);
}

/* The audit trail's sink from tpd.conf `audit`; NULL for off. */
static int audit_open(struct tpd *d)
{
	static const enum tp_audit_sink sinks[] = {
		[TP_AUDIT_CONF_SYSLOG] = TP_AUDIT_SINK_SYSLOG,
		[TP_AUDIT_CONF_STDERR] = TP_AUDIT_SINK_STDERR,
		[TP_AUDIT_CONF_FILE] = TP_AUDIT_SINK_FILE,
	};
	struct tp_audit_params p = {.sink = sinks[d->cfg.audit]};

	if (d->cfg.audit == TP_AUDIT_CONF_OFF)
		return 0;
	p.path = d->cfg.audit == TP_AUDIT_CONF_FILE ? d->cfg.audit_path : NULL;
	p.mono = d->clock;
	d->audit = tp_audit_new(&p);
	return d->audit ? 0 : -errno;
}

static int fwd_start(struct tpd *d, char *err, size_t errlen)
{
	struct tp_fwd_params p = {
		.cfg = &d->cfg,
		.private_key = d->private_key,
		.public_key = d->public_key,
		.rt = &d->rt,
		.counters = d->counters,
		.control_slot = d->cfg.n_workers,
		.clock = d->clock,
		.neigh = d->neigh,
		.log = flow_log,
		.log_arg = d,
		.audit = d->audit,
	};

	if (d->cfg.mode == TP_MODE_XDP) {
		p.zone_ifindex = (int)if_nametoindex(d->cfg.zone_if);
		p.transit_ifindex = (int)if_nametoindex(d->cfg.transit_if);
	}
	d->fwd = tp_fwd_create(&p, err, errlen);
	if (!d->fwd)
		return -ENOMEM;
	d->rt.hooks = tp_fwd_hooks(d->fwd);
	return tpd_policy_start(d, err, errlen);
}

/* The PMD may fall back quietly when libxdp cannot load its program;
 * without a program on the interface the AF_XDP socket sees nothing. */
static int check_xdp_attached(struct tpd *d, char *err, size_t errlen)
{
	const char *ifs[2] = {d->cfg.zone_if, d->cfg.transit_if};

	for (int i = 0; i < 2; i++) {
		__u32 id = 0;
		int rc = bpf_xdp_query_id((int)if_nametoindex(ifs[i]), 0, &id);

		if (rc || !id) {
			snprintf(err, errlen,
				 "no XDP program attached to %s after its port started", ifs[i]);
			return -ENOENT;
		}
	}
	return 0;
}

static void say_line(void *arg, const char *line)
{
	(void)arg;
	say("%s", line);
}

/* A tpd that crashed (SIGKILL, power loss of the process) leaves its XDP
 * programs attached: they drop what they would redirect (no socket: fail
 * closed) but the PMD cannot attach over them. We hold the tunnel port, so
 * no live tpd uses these interfaces: remove programs that are ours. A
 * foreign program is left alone (the PMD then fails and says so). */
static void detach_stale_xdp(struct tpd *d)
{
	static const enum tp_xdp_kind kinds[2] = {TP_XDP_KIND_ZONE, TP_XDP_KIND_TRANSIT};
	const char *ifs[2] = {d->cfg.zone_if, d->cfg.transit_if};

	for (int i = 0; i < 2; i++) {
		int ifindex = (int)if_nametoindex(ifs[i]);
		struct tp_xdp *x = ifindex ? tp_xdp_open(ifindex, kinds[i]) : NULL;

		if (!x)
			continue;
		tp_xdp_close(x);
		if (tp_xdp_detach(ifindex, 0) == 0)
			say("removed the XDP program a previous tpd left on %s", ifs[i]);
	}
}

/* xdp mode: the kernel owns ARP/ND on both interfaces; mirror it. */
static int neigh_start(struct tpd *d, char *err, size_t errlen)
{
	int ifs[2] = {(int)if_nametoindex(d->cfg.zone_if), (int)if_nametoindex(d->cfg.transit_if)};
	int rc;

	d->neigh = tp_neigh_create(&(struct tp_neigh_params){
		.ifindex = ifs,
		.n_ifindex = 2,
		.max_entries = 1024,
		.queue_len = d->cfg.neigh_queue_len,
		.hold_ns = 3000000000ull, /* the kernel's ARP/ND gives up after ~3 s */
		.clock = d->clock,
		.release = neigh_release,
		.release_arg = d,
	});
	if (!d->neigh) {
		snprintf(err, errlen, "cannot open rtnetlink for neighbours: %s", strerror(errno));
		return -EIO;
	}
	rc = tp_neigh_dump(d->neigh);
	if (rc)
		snprintf(err, errlen, "cannot read the neighbour table: %s", strerror(-rc));
	return rc;
}

/* Returns when a stop signal arrives. */
static void control_loop(struct tpd *d)
{
	struct pollfd pfd[TP_ADMIN_CLIENTS_MAX + 5 + TP_METRICS_CLIENTS_MAX + 1];
	uint64_t tick_ns = (uint64_t)d->cfg.housekeeping_ms * 1000000u;

	d->next_tick_ns = tp_clock_now(&d->clock) + tick_ns;
	for (;;) {
		uint64_t now = tp_clock_now(&d->clock);
		unsigned n, n_admin;
		int timeout;

		if (now >= d->next_tick_ns) {
			housekeeping(d, now);
			d->next_tick_ns = now + tick_ns;
		}
		timeout = (int)((d->next_tick_ns - now + 999999) / 1000000);
		pfd[0] = (struct pollfd){.fd = d->sig_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = d->neigh ? tp_neigh_fd(d->neigh) : -1,
					 .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = d->fwd ? tp_fwd_control_fd(d->fwd) : -1,
					 .events = POLLIN};
		/* the controller session: its own deadlines bound the wait */
		pfd[3] = (struct pollfd){.fd = -1};
		if (d->ctrl) {
			int t = tp_ctrl_client_tick(d->ctrl);

			pfd[3].fd = tp_ctrl_client_fd(d->ctrl);
			pfd[3].events = tp_ctrl_client_events(d->ctrl);
			timeout = t < timeout ? t : timeout;
		}
		n_admin = tp_admin_pollfds(d->admin, pfd + 4, TP_ADMIN_CLIENTS_MAX + 1);
		n = 4 + n_admin;
		/* /metrics: its connections' deadlines bound the wait too */
		if (d->metrics) {
			int t = tp_metrics_http_timeout_ms(d->metrics);

			n += tp_metrics_http_pollfds(d->metrics, pfd + n,
						     TP_METRICS_CLIENTS_MAX + 1);
			timeout = t >= 0 && t < timeout ? t : timeout;
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			return;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					say("signal %u, shutting down", si.ssi_signo);
					return;
				}
				/* SIGHUP: reserved for a configuration reload. */
			}
		}
		if (pfd[1].revents & POLLIN)
			tp_neigh_process(d->neigh);
		if (pfd[2].revents & POLLIN)
			tp_fwd_control_run(d->fwd);
		if (pfd[3].fd >= 0 && (pfd[3].revents & (POLLIN | POLLHUP | POLLERR)))
			tp_ctrl_client_on_readable(d->ctrl);
		/* reading may have closed the socket: only write to the one polled */
		if (pfd[3].fd >= 0 && (pfd[3].revents & POLLOUT) &&
		    tp_ctrl_client_fd(d->ctrl) == pfd[3].fd)
			tp_ctrl_client_on_writable(d->ctrl);
		tp_admin_service(d->admin, pfd + 4, n_admin);
		if (d->metrics)
			tp_metrics_http_service(d->metrics, pfd + 4 + n_admin, n - 4 - n_admin);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = TP_CONFIG_DEFAULT_PATH;
	struct tpd *d;
	struct tp_config_err cerr;
	char err[256] = "";
	bool check_only = false;
	int rc, opt, status = 1;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'V':
			printf("tpd (tableau) %s\n", TP_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		say("libsodium failed to initialise");
		return 1;
	}
	libbpf_set_print(bpf_print);
	libxdp_set_print(xdp_print);
	d = calloc(1, sizeof(*d));
	if (!d) {
		say("out of memory");
		return 1;
	}
	d->udp_fd = -1;
	d->sig_fd = -1;
	d->clock = (struct tp_clock){.now_ns = tp_clock_monotonic_ns};
	d->start_ns = tp_clock_now(&d->clock);

	rc = tp_config_load(config_path, &d->cfg, &cerr);
	if (rc) {
		if (cerr.line)
			say("%s:%u: %s", config_path, cerr.line, cerr.msg);
		else
			say("%s: %s", config_path, cerr.msg);
		goto out_free;
	}
	/* A port bound to a DPDK driver is invisible to the kernel, yet tpd
	 * leaves ARP/ND and its own traffic to the kernel and learns next
	 * hops from it: without a TAP exception path (not built yet) such a
	 * TP would never resolve a neighbour. Refuse rather than run dead. */
	if (d->cfg.mode == TP_MODE_DPDK) {
		say("%s: mode dpdk is not supported yet (the kernel exception path for ARP/ND and "
		    "the TP's own traffic is not built): use mode = xdp",
		    config_path);
		goto out_free;
	}
	/* keep the private key out of swap; best effort (RLIMIT_MEMLOCK) */
	(void)sodium_mlock(d->private_key, sizeof(d->private_key));
	rc = tp_config_read_key(d->cfg.identity_key, d->private_key, &cerr);
	if (rc) {
		say("%s", cerr.msg);
		goto out_wipe; /* a failed decode may have written part of it */
	}
	if (crypto_scalarmult_curve25519_base(d->public_key, d->private_key) != 0) {
		say("identity key %s is not a usable X25519 private key", d->cfg.identity_key);
		goto out_wipe;
	}
	if (check_only) {
		printf("%s: ok (mode %s)\n", config_path, tp_config_mode_name(d->cfg.mode));
		status = 0;
		goto out_wipe;
	}
	rc = audit_open(d);
	if (rc) {
		say("audit: %s", strerror(-rc));
		goto out_wipe;
	}
	tp_audit_daemon(d->audit, true, d->cfg.name, TP_VERSION);
	rc = setup_signals(d);
	if (rc) {
		say("signals: %s", strerror(-rc));
		goto out_wipe;
	}
	d->admin = tp_admin_create(d->cfg.admin_socket, tpd_admin_cmds, tpd_admin_n_cmds, d, err,
				   sizeof(err));
	if (!d->admin) {
		say("%s", err);
		goto out_signals;
	}
	if (d->cfg.mode == TP_MODE_XDP) {
		const char *ports[2] = {d->cfg.zone_if, d->cfg.transit_if};

		rc = reserve_udp_port(d);
		if (rc) {
			say("listen_port %u/udp: %s", d->cfg.listen_port, strerror(-rc));
			goto out_admin;
		}
		/* before a stale program goes: refusing must leave the ports
		 * as closed as it found them */
		rc = tpd_hostfwd_lock("/proc/sys", ports, 2, say_line, NULL, err, sizeof(err));
		if (rc) {
			say("%s", err);
			goto out_admin;
		}
		detach_stale_xdp(d);
	}
	if (d->cfg.mode == TP_MODE_XDP) {
		/* AF_XDP UMEMs and BPF maps are charged to RLIMIT_MEMLOCK on
		 * kernels without memcg accounting: take all we may (a
		 * container may forbid raising the hard limit). */
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};

		if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_MEMLOCK, &rl);
		}
	}
	d->counters = tp_counters_create(d->cfg.n_workers + 1);
	if (!d->counters) {
		say("out of memory");
		goto out_admin;
	}
	rc = tp_runtime_open(&d->rt, &d->cfg, d->counters, &d->clock, err, sizeof(err));
	if (rc) {
		say("%s", err);
		goto out_runtime;
	}
	if (d->cfg.mode == TP_MODE_XDP) {
		rc = check_xdp_attached(d, err, sizeof(err));
		rc = rc ?: neigh_start(d, err, sizeof(err));
		if (rc) {
			say("%s", err);
			goto out_runtime;
		}
	}
	rc = fwd_start(d, err, sizeof(err));
	if (rc) {
		say("%s", err);
		goto out_runtime;
	}
	if (d->cfg.metrics_port) {
		struct tp_metrics_http_params mp = {.family = d->cfg.metrics_family,
						    .port = d->cfg.metrics_port,
						    .clock = d->clock,
						    .body = tpd_metrics_text,
						    .arg = d};

		memcpy(mp.addr, d->cfg.metrics_addr, sizeof(mp.addr));
		d->metrics = tp_metrics_http_create(&mp, err, sizeof(err));
		if (!d->metrics) {
			say("%s", err);
			goto out_runtime;
		}
	}
	rc = tpd_telemetry_register(d);
	if (rc)
		say("telemetry commands not registered: %s (continuing)", strerror(-rc));
	rc = tp_runtime_start(&d->rt);
	if (rc) {
		say("cannot launch workers: %s", strerror(-rc));
		goto out_runtime;
	}
	say("%s: running, mode %s, %u worker(s), admin socket %s", d->cfg.name,
	    tp_config_mode_name(d->cfg.mode), d->cfg.n_workers, d->cfg.admin_socket);
	/* a port with fewer queues than workers works, but does not scale
	 * (dataplane/README.md, "Workers") */
	for (int r = 0; r < 2; r++) /* enum tp_port_role: zone, transit */
		if (d->cfg.mode == TP_MODE_XDP && d->rt.n_queues[r] < d->cfg.n_workers)
			say("note: %s port has %u AF_XDP queue(s) for %u workers: the first "
			    "receives and sends for the others (handoff)",
			    r == 0 ? "zone" : "transit", d->rt.n_queues[r], d->cfg.n_workers);
	control_loop(d);
	status = 0;
out_runtime:
	/* workers first (they use fwd), then fwd (its mbufs go back to the
	 * pools), then ports and pools */
	tp_runtime_stop(&d->rt);
	tp_metrics_http_destroy(d->metrics);
	tp_neigh_destroy(d->neigh); /* held packets go back to fwd, freed */
	tpd_policy_stop(d);
	tp_fwd_free(d->fwd);
	tp_runtime_close(&d->rt);
	tp_counters_free(d->counters);
out_admin:
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	tp_admin_destroy(d->admin);
out_signals:
	if (d->sig_fd >= 0)
		close(d->sig_fd);
out_wipe:
	tp_audit_daemon(d->audit, false, d->cfg.name, TP_VERSION);
	tp_audit_free(d->audit);
	sodium_munlock(d->private_key, sizeof(d->private_key)); /* also zeroes it */
out_free:
	free(d);
	if (status == 0 && !check_only)
		say("stopped");
	return status;
}
