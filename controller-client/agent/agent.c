// SPDX-License-Identifier: MIT
/*
 * tp-ctrl-agent: a light transition point for tests and benchmarks — the
 * controller client, the policy object (acceptance checks, LKG, policy
 * state) and a status socket, without DPDK. It is what tpd's control
 * thread does for the controller, minus the dataplane publish.
 *
 *   tp-ctrl-agent --name tp1 --key tp1.key --controller 127.0.0.1:7443
 *                 --controller-key controller.pub --state DIR
 *                 [--failure-mode fail-closed|fail-static] [--socket PATH]
 *
 * Status socket (tp/base/admin.h JSON lines, default STATE/agent.sock):
 *   {"cmd":"status"} -> name, policy_version, policy_state, reason, source,
 *                       controller {state, sessions, acks, nacks, last_error}
 *   {"cmd":"decide","flow":"tcp 10.1.0.5:40000 -> 10.2.0.7:502"}
 *                    -> the verdict of the running policy ("drop" when the
 *                       policy state drops inter-zone traffic)
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tp/base/admin.h"
#include "tp/ctrl/apply.h"
#include "tp/ctrl/client.h"
#include "tp/policy/engine.h"
#include "tp/policy/eval.h"
#include "tp/policy/flowspec.h"
#include "tp/base/keys.h"

struct agent {
	char name[64];
	struct tp_ctrl_client *client;
	struct tp_ctrl_apply policy;
	struct tp_admin *admin;
	int sig_fd;
};

static uint64_t mono_ns(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(void *arg, const char *msg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld %s: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		arg ? (const char *)arg : "agent", msg);
}

static int cb_apply(void *arg, const uint8_t *b, size_t n, struct tp_ctrl_apply_result *res)
{
	struct agent *a = arg;

	return tp_ctrl_apply_bundle(&a->policy, b, n, (int64_t)time(NULL), "controller", res);
}

static uint64_t cb_version(void *arg)
{
	struct agent *a = arg;

	return a->policy.has_policy ? a->policy.info.version : 0;
}

/* The proof a controller that lost its state asks for. */
static const uint8_t *cb_running_bundle(void *arg, size_t *len)
{
	struct agent *a = arg;

	*len = a->policy.has_policy ? a->policy.bundle_len : 0;
	return a->policy.has_policy ? a->policy.bundle : NULL;
}

static void cb_status(void *arg, struct tp_ctrl_status *st)
{
	static struct tp_ctrl_status_counter ctrs[2];
	struct agent *a = arg;

	/* No dataplane here: the summary is the policy object's own. */
	ctrs[0] = (struct tp_ctrl_status_counter){"policy_applied", a->policy.applied};
	ctrs[1] = (struct tp_ctrl_status_counter){"policy_refused", a->policy.refused};
	st->policy_state = (int)a->policy.fm.state;
	st->policy_expires_at = a->policy.info.expires_at;
	st->counters = ctrs;
	st->n_counters = 2;
}

static void cb_connected(void *arg, bool up)
{
	struct agent *a = arg;

	tp_failmode_set_controller(&a->policy.fm, up, (int64_t)time(NULL));
}

static void cb_log(void *arg, const char *msg)
{
	struct agent *a = arg;

	say(a->name, msg);
}

static json_t *cmd_status(void *arg, json_t *req, char *err, size_t errlen)
{
	struct agent *a = arg;
	struct tp_ctrl_client_stats cs;
	json_t *fails = json_object();

	tp_ctrl_client_stats(a->client, &cs);
	for (int f = 0; f < TP_CTRL_CLIENT_FAIL__COUNT; f++)
		json_object_set_new(fails, tp_ctrl_client_fail_name((enum tp_ctrl_client_fail)f),
				    json_integer((json_int_t)cs.fails[f]));
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:b, s:{s:s, s:I, s:I, s:I, s:s, s:o}}",
			 "name", a->name, "policy_version",
			 (json_int_t)(a->policy.has_policy ? a->policy.info.version : 0),
			 "policy_state", tp_failmode_state_name(a->policy.fm.state), "reason",
			 a->policy.fm.reason, "source", a->policy.source, "policy_expires_at",
			 (json_int_t)a->policy.info.expires_at, "enforcing",
			 tp_failmode_enforcing(&a->policy.fm), "controller", "state",
			 tp_ctrl_client_state_name(tp_ctrl_client_state(a->client)), "sessions",
			 (json_int_t)cs.sessions, "acks", (json_int_t)cs.acks, "nacks",
			 (json_int_t)cs.nacks, "last_error", cs.last_error, "fails", fails);
}

static json_t *cmd_decide(void *arg, json_t *req, char *err, size_t errlen)
{
	struct agent *a = arg;
	const char *spec = json_string_value(json_object_get(req, "flow"));
	struct tp_decision d;
	struct tp_flow f;

	if (!spec || !tp_flowspec_parse(spec, &f, err, errlen)) {
		if (!spec)
			snprintf(err, errlen, "missing \"flow\"");
		return NULL;
	}
	if (!a->policy.engine || !tp_failmode_enforcing(&a->policy.fm))
		return json_pack("{s:s, s:s}", "verdict", "drop", "why",
				 tp_failmode_state_name(a->policy.fm.state));
	tp_engine_decide(a->policy.engine, &f, &d);
	return json_pack("{s:s, s:I}", "verdict", tp_verdict_name(d.verdict), "rule",
			 (json_int_t)d.rule_id);
}

static const struct tp_admin_cmd cmds[] = {
	{"status", cmd_status, "policy state and controller session"},
	{"decide", cmd_decide, "verdict of the running policy for one flow"},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"key", required_argument, NULL, 'k'},
		{"controller", required_argument, NULL, 'c'},
		{"controller-key", required_argument, NULL, 'p'},
		{"state", required_argument, NULL, 's'},
		{"failure-mode", required_argument, NULL, 'f'},
		{"socket", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct tp_ctrl_client_config cfg = {.clock = {mono_ns, NULL}};
	struct tp_ctrl_client_callbacks cb = {.apply = cb_apply,
					      .running_bundle = cb_running_bundle,
					      .policy_version = cb_version,
					      .status = cb_status,
					      .connected = cb_connected,
					      .log = cb_log};
	enum tp_failmode_expiry expiry = TP_FAILMODE_EXPIRY_CLOSED;
	const char *key = NULL, *ckey = NULL, *state = NULL, *sock = NULL;
	char kerr[320];
	static struct agent a = {.sig_fd = -1};
	char sock_buf[512], err[256];
	enum tp_bundle_status st;
	bool found;
	sigset_t set;
	int c, rc = 2;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			snprintf(a.name, sizeof(a.name), "%s", optarg);
			break;
		case 'k':
			key = optarg;
			break;
		case 'c':
			snprintf(cfg.address, sizeof(cfg.address), "%s", optarg);
			break;
		case 'p':
			ckey = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'f':
			expiry = strcmp(optarg, "fail-static") == 0 ? TP_FAILMODE_EXPIRY_STATIC
								    : TP_FAILMODE_EXPIRY_CLOSED;
			break;
		case 'u':
			sock = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!a.name[0] || !key || !cfg.address[0] || !ckey || !state) {
		fprintf(stderr, "usage: tp-ctrl-agent --name N --key TP.key --controller ADDR "
				"--controller-key CTRL.pub --state DIR [--failure-mode M] "
				"[--socket PATH]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 2;
	/* the same reader and rule as tpd's identity key (tp/base/keys.h) */
	if (tp_key_load(key, cfg.static_priv, true, kerr, sizeof(kerr)) != 0 ||
	    tp_key_load(ckey, cfg.controller_pk, false, kerr, sizeof(kerr)) != 0) {
		fprintf(stderr, "tp-ctrl-agent: %s\n", kerr);
		return 2;
	}
	mkdir(state, 0700);
	snprintf(cfg.tp_name, sizeof(cfg.tp_name), "%s", a.name);
	snprintf(cfg.software_version, sizeof(cfg.software_version), "agent-%s", TP_VERSION);

	/* Boot: last-known-good first, before any controller is reachable. */
	tp_ctrl_apply_init(&a.policy, cfg.controller_pk, state, expiry, true, cb_log, &a,
			   (int64_t)time(NULL));
	st = tp_ctrl_apply_boot(&a.policy, (int64_t)time(NULL), &found);
	if (st == TP_BUNDLE_OK)
		say(a.name, "running the last-known-good bundle");
	else if (found)
		say(a.name, a.policy.last_error);

	cb.arg = &a;
	a.client = tp_ctrl_client_new(&cfg, &cb);
	sodium_memzero(cfg.static_priv, sizeof(cfg.static_priv));
	if (!a.client) {
		fprintf(stderr, "tp-ctrl-agent: bad controller configuration\n");
		goto out;
	}
	snprintf(sock_buf, sizeof(sock_buf), "%s/agent.sock", state);
	a.admin = tp_admin_create(sock ? sock : sock_buf, cmds, 2, &a, err, sizeof(err));
	if (!a.admin) {
		fprintf(stderr, "tp-ctrl-agent: %s\n", err);
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	for (;;) {
		struct pollfd pfd[2 + TP_ADMIN_CLIENTS_MAX + 1];
		unsigned na;
		int timeout = tp_ctrl_client_tick(a.client), cfd;

		tp_failmode_tick(&a.policy.fm, (int64_t)time(NULL));
		pfd[0] = (struct pollfd){.fd = a.sig_fd, .events = POLLIN};
		cfd = tp_ctrl_client_fd(a.client);
		pfd[1] = (struct pollfd){.fd = cfd, .events = tp_ctrl_client_events(a.client)};
		na = tp_admin_pollfds(a.admin, pfd + 2, TP_ADMIN_CLIENTS_MAX + 1);
		if (poll(pfd, 2 + na, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
		if (cfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			tp_ctrl_client_on_readable(a.client);
		if (cfd >= 0 && (pfd[1].revents & POLLOUT))
			tp_ctrl_client_on_writable(a.client);
		tp_admin_service(a.admin, pfd + 2, na);
	}
	rc = 0;
out:
	tp_admin_destroy(a.admin);
	tp_ctrl_client_free(a.client);
	tp_ctrl_apply_fini(&a.policy);
	if (a.sig_fd >= 0)
		close(a.sig_fd);
	return rc;
}
