// SPDX-License-Identifier: MIT
/*
 * tpd: the transition-point daemon.
 *
 * Start-up, in this order so the cheap checks fail first and every failure
 * is one line on stderr and exit code 1:
 *   config → identity key → admin socket (refuses a live one) → listen
 *   port (xdp mode) → instance name not running → interfaces → EAL, pools,
 *   ports, worker rings → XDP programs attached and the neighbour table
 *   read (xdp mode) → telemetry → workers
 * Then the control thread (the EAL main lcore) loops on poll(): signals
 * (signalfd; SIGTERM/SIGINT stop), rtnetlink neighbour events, packets
 * handed up by workers, the admin socket, and housekeeping every
 * housekeeping_ms on the injected clock.
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
#include <rte_common.h>
#include <rte_mbuf.h>
#include <sodium.h>
#include <xdp/libxdp.h>

#include "tp/l2.h"
#include "tp/pipeline.h"
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

/* Periodic work of the control thread. Today it only counts ticks; timers,
 * policy expiry and the controller session hook in here. */
static void housekeeping(struct tpd *d, uint64_t now)
{
	tp_counters_add(tpd_control_slot(d), TP_STAT_HOUSEKEEPING, 1);
	if (d->l2)
		tp_l2_expire(d->l2);
	(void)now;
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

/* xdp mode: the kernel owns ARP/ND on both interfaces; mirror it and
 * publish next hops to the workers (tp/l2.h). */
static int l2_start(struct tpd *d, char *err, size_t errlen)
{
	d->l2 = tp_l2_create(&(struct tp_l2_params){
		.rt = &d->rt,
		.ifindex = {(int)if_nametoindex(d->cfg.zone_if),
			    (int)if_nametoindex(d->cfg.transit_if)},
		.queue_len = d->cfg.neigh_queue_len,
		.hold_ns = 3000000000ull, /* the kernel's ARP/ND gives up after ~3 s */
		.clock = d->clock,
		.cnt = tpd_control_slot(d),
	});
	if (!d->l2) {
		snprintf(err, errlen, "cannot mirror the kernel's neighbours: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Packets workers handed up: unresolved next hops go to the L2 half;
 * handshake messages will go to the tunnel's handshake handling. */
static void control_rx(struct tpd *d)
{
	struct rte_mbuf *pkts[64];
	unsigned n;

	while ((n = tp_runtime_from_workers(&d->rt, pkts, RTE_DIM(pkts))) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (tp_pkt_meta(pkts[i])->up_reason == TP_UP_NEIGH && d->l2) {
				tp_l2_take(d->l2, pkts[i]);
				continue;
			}
			tp_counters_drop(tpd_control_slot(d), TP_DROP_CONTROL_UNHANDLED, 1);
			rte_pktmbuf_free(pkts[i]);
		}
	}
}

/* Returns when a stop signal arrives. */
static void control_loop(struct tpd *d)
{
	struct pollfd pfd[TP_ADMIN_CLIENTS_MAX + 4];
	uint64_t tick_ns = (uint64_t)d->cfg.housekeeping_ms * 1000000u;

	d->next_tick_ns = tp_clock_now(&d->clock) + tick_ns;
	for (;;) {
		uint64_t now = tp_clock_now(&d->clock);
		unsigned n;
		int timeout;

		if (now >= d->next_tick_ns) {
			housekeeping(d, now);
			d->next_tick_ns = now + tick_ns;
		}
		timeout = (int)((d->next_tick_ns - now + 999999) / 1000000);
		pfd[0] = (struct pollfd){.fd = d->sig_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = d->l2 ? tp_l2_fd(d->l2) : -1, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = tp_runtime_control_fd(&d->rt), .events = POLLIN};
		n = 3 + tp_admin_pollfds(d->admin, pfd + 3, TP_ADMIN_CLIENTS_MAX + 1);
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
			tp_l2_process(d->l2);
		if (pfd[2].revents & POLLIN)
			control_rx(d);
		tp_admin_service(d->admin, pfd + 3, n - 3);
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
		rc = reserve_udp_port(d);
		if (rc) {
			say("listen_port %u/udp: %s", d->cfg.listen_port, strerror(-rc));
			goto out_admin;
		}
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
	/* NULL stages: parse, then fail closed (no policy engine yet) */
	rc = tp_runtime_open(&d->rt, &d->cfg, d->counters, &d->clock, NULL, err, sizeof(err));
	if (rc) {
		say("%s", err);
		goto out_runtime;
	}
	if (d->cfg.mode == TP_MODE_XDP) {
		rc = check_xdp_attached(d, err, sizeof(err));
		rc = rc ?: l2_start(d, err, sizeof(err));
		if (rc) {
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
	control_loop(d);
	status = 0;
out_runtime:
	/* workers first, then what they read (the next-hop table) and the
	 * held mbufs, then the pools */
	tp_runtime_stop(&d->rt);
	tp_l2_destroy(d->l2);
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
	sodium_munlock(d->private_key, sizeof(d->private_key)); /* also zeroes it */
out_free:
	free(d);
	if (status == 0 && !check_only)
		say("stopped");
	return status;
}
