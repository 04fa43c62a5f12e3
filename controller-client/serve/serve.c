// SPDX-License-Identifier: MIT
/*
 * tpolicy-serve: the reference controller (controller-client/README.md),
 * which operators run as `tpolicy serve` (tpolicy's command table execs this
 * program: the controller daemon is controller code, and the policy tools
 * are below the controller in the dependency graph, README.md "Layout").
 * Messages, usage and exit status are tpolicy's: 0 ok, 1 refused (the site
 * does not lint or compile at start), 2 usage or I/O error.
 *
 * One thread, one poll() loop over: the channel server (tp/ctrl/server.h),
 * an inotify watch on the site file's directory (editors replace files by
 * rename, so the directory is watched, not the file), a signalfd (SIGHUP:
 * recompile; SIGUSR1: ask every connected TP for its verification export,
 * written to STATE/exports/<tp>.json as it arrives, a folder `tpolicy
 * verify` reads; SIGINT/SIGTERM: stop) and the status socket (tp/base/admin.h,
 * JSON lines, STATE/serve.sock) that `tpolicy status` asks.
 *
 * Versions only grow, across restarts too: the last version issued is kept
 * in STATE/version and written (temp file, fsync, rename, fsync dir) before
 * a bundle of that version leaves the process. The highest version ever
 * issued is VERSION_LAST (2^64-2; 2^64-1 is never valid): the check comes
 * before anything is written. The counter moves past its own value only
 * on proof: a bundle this key signed, sent back by a TP (tp/ctrl/server.h),
 * never on a version a TP merely reports. Every compile, on start, on
 * SIGHUP, on a change of the site file (debounced) and when half the
 * validity has passed, issues the next version. A site that fails lint is
 * logged and the running bundle stays published.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tp/base/admin.h"
#include "tp/base/file.h"
#include "tp/base/keys.h"
#include "tp/ctrl/noise.h"
#include "tp/ctrl/server.h"
#include "tp/policy/bundle.h"
#include "tp/policy/diag.h"
#include "tp/policy/lint.h"
#include "tp/policy/timefmt.h"
#include "tp/policy/yaml.h"

#define DEFAULT_STATE	 "/var/lib/tableau/controller"
#define DEFAULT_VALIDITY (30 * 86400)
#define DEBOUNCE_MS	 200
#define POLL_MAX	 (1 + 256 + TP_ADMIN_CLIENTS_MAX + 2)
#define VERSION_LAST	 (UINT64_MAX - 1)

#define EXIT_OK	     0
#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define USAGE                                                                                \
	"serve --site SITE.yaml --key KEY --listen ADDR:PORT [--state DIR] [--socket PATH] " \
	"[--valid-for DURATION]"
#define SUMMARY "reference controller: compile, sign, push to every TP"

struct serve {
	const char *site_path;
	char site_dir[PATH_MAX], site_base[NAME_MAX + 1];
	char state[PATH_MAX];
	uint8_t sk[64], pk[32];
	int64_t valid_for;
	struct tp_ctrl_server *srv;
	struct tp_admin *admin;
	int ino_fd, sig_fd;
	uint64_t version;
	int64_t issued_at;
	uint64_t reload_at_ns;	   /* 0: none pending */
	int64_t resign_retry;	   /* after a failed re-sign, not before this */
	uint64_t refused_catch_up; /* a proven version we could not continue from, logged */
};

static uint64_t mono_ns(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char ts[32];
	va_list ap;

	fprintf(stderr, "%s tpolicy serve: ", tp_time_format((int64_t)time(NULL), ts, sizeof(ts)));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A refusal before the loop runs: one line, as every tpolicy command says it. */
static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
	va_list ap;

	fputs("tpolicy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* On stderr: a usage error (exit 2); on stdout: --help (exit 0). */
static int usage(FILE *f)
{
	fprintf(f, "usage: tpolicy %s\n", USAGE);
	if (f == stdout)
		printf("\n%s.\n", SUMMARY);
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

static void log_line(void *arg, const char *msg)
{
	say("%s", msg);
}

/* STATE/NAME <- buf, atomically and durably (tp/base/file.h). */
static int write_durable(const char *dir, const char *name, const void *buf, size_t len)
{
	char dst[PATH_MAX + 16];

	if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	return tp_file_write_durable(dst, buf, len, 0600, 0);
}

/* STATE/version: 0 and *v = 0 when there is none (a fresh or lost state
 * directory: the TPs' proofs tell where to continue); -EINVAL for anything
 * but a version number up to VERSION_LAST and a newline. */
static int read_version(const char *state, uint64_t *v)
{
	char path[PATH_MAX + 16], buf[32] = "", *end;
	unsigned long long n;
	FILE *f;

	*v = 0;
	snprintf(path, sizeof(path), "%s/version", state);
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(buf, &end, 10);
	if (errno || (*end && strcmp(end, "\n") != 0) || n > VERSION_LAST)
		return -EINVAL;
	*v = n;
	return 0;
}

/* Lint, version, persist the version, sign, publish. */
static int compile_and_publish(struct serve *sv, const char *why)
{
	struct tp_lint_opts lo = {.compile = tp_lint_compile_engine};
	struct tp_bundle_info info = {0};
	struct tp_ctrl_server_tp_spec *spec = NULL;
	struct tp_site_locs *locs = NULL;
	struct tp_site *site;
	struct tp_diags d;
	int64_t now = (int64_t)time(NULL);
	uint8_t *bytes = NULL;
	size_t len = 0, i;
	char vbuf[32], t1[32];
	int rc = -EINVAL;

	lo.now = now;
	tp_diag_init(&d, sv->site_path);
	site = tp_yaml_read_file(sv->site_path, &d, &locs);
	if (!site || !tp_lint_site(site, locs, &lo, &d)) {
		tp_diag_sort(&d);
		tp_diag_print(&d, stderr);
		say("%s: %zu error%s: not published (%s); version %" PRIu64 " stays", sv->site_path,
		    d.n_errors, d.n_errors == 1 ? "" : "s", why, sv->version);
		goto out;
	}
	if (sv->version >= VERSION_LAST) {
		say("version %" PRIu64 " is the last one there can be: nothing more can be "
		    "issued with this key (%s); version %" PRIu64 " stays",
		    sv->version, why, sv->version);
		rc = -ERANGE;
		goto out;
	}
	info.version = sv->version + 1;
	info.issued_at = now;
	info.expires_at = now + sv->valid_for;
	snprintf(vbuf, sizeof(vbuf), "%" PRIu64 "\n", info.version);
	rc = write_durable(sv->state, "version", vbuf, strlen(vbuf));
	if (rc < 0) {
		say("%s/version: %s: not published", sv->state, strerror(-rc));
		goto out;
	}
	rc = tp_bundle_build(site, &info, sv->sk, &bytes, &len);
	if (rc < 0) {
		say("cannot build the bundle: %s", strerror(-rc));
		goto out;
	}
	/* The bundle a TP would get, for air-gapped plants and inspection. */
	rc = write_durable(sv->state, "current.tpb", bytes, len);
	if (rc < 0)
		say("%s/current.tpb: %s (publishing anyway)", sv->state, strerror(-rc));
	spec = calloc(site->n_tps ? site->n_tps : 1, sizeof(*spec));
	if (!spec) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < site->n_tps; i++) {
		snprintf(spec[i].name, sizeof(spec[i].name), "%s", site->tps[i].name);
		memcpy(spec[i].pubkey, site->tps[i].pubkey, 32);
	}
	rc = tp_ctrl_server_set_tps(sv->srv, spec, site->n_tps);
	if (!rc)
		rc = tp_ctrl_server_publish(sv->srv, info.version, bytes, len);
	if (rc < 0) {
		say("cannot publish: %s", strerror(-rc));
		goto out;
	}
	sv->version = info.version;
	sv->issued_at = now;
	say("published version %" PRIu64 " (%s): %zu TPs, %zu zones, %zu conduits, %zu bytes, "
	    "valid until %s",
	    info.version, why, site->n_tps, site->n_zones, site->n_rules, len,
	    tp_time_format(info.expires_at, t1, sizeof(t1)));
out:
	free(spec);
	free(bytes);
	tp_diag_free(&d);
	tp_site_locs_free(locs);
	tp_site_free(site);
	return rc;
}

/* A version in JSON: jansson's integers are signed 64-bit, so one above
 * 2^63-1 is given as a decimal string rather than a negative number. */
static json_t *json_version(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *cmd_status(void *arg, json_t *req, char *err, size_t errlen)
{
	struct serve *sv = arg;
	json_t *tps = json_array(), *closes = json_object(), *res;
	struct tp_ctrl_server_stats st;
	uint64_t now = mono_ns(NULL);
	char key[TP_KEY_B64_LEN + 1];

	for (size_t i = 0; i < tp_ctrl_server_n_tps(sv->srv); i++) {
		const struct tp_ctrl_server_tp *t = tp_ctrl_server_tp(sv->srv, i);
		json_t *ctrs = json_object(), *o;

		tp_key_to_base64(t->pubkey, key);
		for (size_t k = 0; k < t->n_counters; k++)
			json_object_set_new(ctrs, t->counters[k].name,
					    json_integer((json_int_t)t->counters[k].value));
		o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:s, s:i, s:I, "
			      "s:I, s:i, s:i, s:o}",
			      "name", t->name, "public_key", key, "connected", t->connected, "peer",
			      t->peer_addr, "software", t->software_version, "running_version",
			      json_version(t->running_version), "proven_version",
			      json_version(t->proven_version), "acked_version",
			      json_version(t->acked_version), "nacked_version",
			      json_version(t->nacked_version), "nack_reason", t->nack_reason,
			      "nack_text", t->nack_text, "policy_state", t->policy_state,
			      "sessions", (json_int_t)t->sessions, "state_for_s",
			      (json_int_t)(t->since_ns ? (now - t->since_ns) / 1000000000ull : 0),
			      "tunnel_peers", (int)t->peers, "tunnel_peers_up", (int)t->peers_up,
			      "counters", ctrs);
		json_array_append_new(tps, o);
	}
	tp_ctrl_server_stats(sv->srv, &st);
	for (int r = 0; r < TP_CTRL_SERVER_CLOSE__COUNT; r++)
		json_object_set_new(closes, tp_ctrl_server_close_name((enum tp_ctrl_server_close)r),
				    json_integer((json_int_t)st.closes[r]));
	res = json_pack("{s:o, s:s, s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:I}}", "version",
			json_version(sv->version), "site", sv->site_path, "tps", tps, "connections",
			"accepted", (json_int_t)st.accepted, "pushes", (json_int_t)st.pushes,
			"closed", closes, "proofs", "asked", (json_int_t)st.proofs_asked,
			"verified", (json_int_t)st.proofs_verified, "refused",
			(json_int_t)st.proofs_refused);
	if (!res)
		snprintf(err, errlen, "out of memory");
	return res;
}

static const struct tp_admin_cmd admin_cmds[] = {
	{"status", cmd_status, "every TP: connection, running version, last ack/nack"},
};

/* An export a TP sent: STATE/exports/<tp>.json, replaced atomically (a
 * reader never sees half of one). The TP name is the site's, checked by
 * the server against the TP's key; it cannot name another path. */
static void save_export(void *arg, const char *tp, const uint8_t *data, size_t len,
			const char *error)
{
	struct serve *sv = arg;
	char dir[PATH_MAX], path[PATH_MAX];
	int rc;

	if (!data || strchr(tp, '/') || tp[0] == '.')
		return;
	if (snprintf(dir, sizeof(dir), "%s/exports", sv->state) >= (int)sizeof(dir))
		return;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		say("%s: %s", dir, strerror(errno));
		return;
	}
	if (snprintf(path, sizeof(path), "%s/%s.json", dir, tp) >= (int)sizeof(path))
		return;
	rc = tp_file_write_durable(path, data, len, 0644, 0);
	if (rc < 0)
		say("%s: %s", path, strerror(-rc));
	(void)error;
}

static int setup(struct serve *sv, const char *listen, const char *key_path,
		 const char *socket_path)
{
	struct tp_ctrl_server_config cfg = {.clock = {mono_ns, NULL},
					    .log = log_line,
					    .on_export = save_export,
					    .export_arg = sv};
	char sock[PATH_MAX + 16], tmp[PATH_MAX], err[256];
	uint8_t seed[32];
	sigset_t set;
	int rc;

	/* the one reader and rule of every secret key file: its error
	 * names the file and the rule broken (mode, owner, form) */
	rc = tp_key_load(key_path, seed, true, err, sizeof(err));
	if (rc < 0) {
		complain("%s", err);
		return EXIT_USAGE;
	}
	tp_key_controller_expand(seed, sv->sk, sv->pk);
	memcpy(cfg.bundle_pk, sv->pk, sizeof(cfg.bundle_pk));
	snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen);
	if (!tp_ctrl_noise_priv_from_ed25519(cfg.static_priv, seed)) {
		sodium_memzero(seed, sizeof(seed));
		complain("%s: unusable key", key_path);
		return EXIT_USAGE;
	}
	sodium_memzero(seed, sizeof(seed));
	if (mkdir(sv->state, 0700) != 0 && errno != EEXIST) {
		complain("%s: %s", sv->state, strerror(errno));
		return EXIT_USAGE;
	}
	sv->srv = tp_ctrl_server_new(&cfg, err, sizeof(err));
	sodium_memzero(cfg.static_priv, sizeof(cfg.static_priv));
	if (!sv->srv) {
		complain("%s", err);
		return EXIT_USAGE;
	}
	snprintf(sock, sizeof(sock), "%s/serve.sock", sv->state);
	sv->admin = tp_admin_create(socket_path ? socket_path : sock, admin_cmds, 1, sv, err,
				    sizeof(err));
	if (!sv->admin) {
		complain("status socket: %s", err);
		return EXIT_USAGE;
	}
	snprintf(tmp, sizeof(tmp), "%s", sv->site_path);
	snprintf(sv->site_dir, sizeof(sv->site_dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", sv->site_path);
	snprintf(sv->site_base, sizeof(sv->site_base), "%s", basename(tmp));
	sv->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (sv->ino_fd < 0 ||
	    inotify_add_watch(sv->ino_fd, sv->site_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB) < 0)
		say("cannot watch %s (%s): reload with SIGHUP", sv->site_dir, strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	rc = read_version(sv->state, &sv->version);
	if (rc < 0) {
		complain("%s/version: %s", sv->state,
			 rc == -EINVAL ? "not a version number (0 to 18446744073709551614): "
					 "fix it, or remove it to continue from the TPs' "
					 "proven versions"
				       : strerror(-rc));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * A TP that runs a newer version than ours means our state directory was
 * lost or restored from an old backup: those TPs would refuse every bundle
 * we sign (rollback). Jump past the newest version a TP proved it runs (a
 * bundle our key signed; what a TP merely reports moves nothing), as long
 * as a version is left after it.
 */
static void catch_up(struct serve *sv)
{
	uint64_t proven = tp_ctrl_server_proven_version(sv->srv);

	if (proven <= sv->version)
		return;
	if (proven >= VERSION_LAST) {
		if (sv->refused_catch_up != proven)
			say("a TP proved version %" PRIu64 ": no version is left after it; "
			    "staying at %" PRIu64,
			    proven, sv->version);
		sv->refused_catch_up = proven;
		return;
	}
	say("a TP proved it runs version %" PRIu64 ", newer than ours (%" PRIu64 "): "
	    "state lost? continuing from there",
	    proven, sv->version);
	sv->version = proven;
	compile_and_publish(sv, "catching up with the TPs");
}

/* Did the site file change? Drains the inotify queue. */
static bool site_touched(struct serve *sv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(sv->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len && strcmp(ev->name, sv->site_base) == 0)
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return hit;
}

static int loop(struct serve *sv)
{
	struct pollfd pfd[POLL_MAX];

	for (;;) {
		uint64_t now = mono_ns(NULL);
		unsigned ns, na, base;
		int timeout = tp_ctrl_server_tick(sv->srv);

		if (sv->reload_at_ns && now >= sv->reload_at_ns) {
			sv->reload_at_ns = 0;
			compile_and_publish(sv, "site file changed");
		}
		if ((int64_t)time(NULL) >= sv->issued_at + sv->valid_for / 2 &&
		    (int64_t)time(NULL) >= sv->resign_retry &&
		    compile_and_publish(sv, "half the validity passed: re-signed") < 0)
			sv->resign_retry = (int64_t)time(NULL) + 60;
		if (sv->reload_at_ns) {
			int left = (int)((sv->reload_at_ns - now) / 1000000u) + 1;

			if (left < timeout)
				timeout = left;
		}
		pfd[0] = (struct pollfd){.fd = sv->sig_fd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sv->ino_fd, .events = POLLIN};
		base = 2;
		ns = tp_ctrl_server_pollfds(sv->srv, pfd + base, 1 + 256);
		na = tp_admin_pollfds(sv->admin, pfd + base + ns, TP_ADMIN_CLIENTS_MAX + 1);
		if (poll(pfd, base + ns + na, timeout) < 0 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			return EXIT_USAGE;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sv->sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					compile_and_publish(sv, "SIGHUP");
					continue;
				}
				if (si.ssi_signo == SIGUSR1) {
					say("SIGUSR1: asking every connected TP for its export");
					tp_ctrl_server_request_export(sv->srv);
					continue;
				}
				say("signal %u: stopping", si.ssi_signo);
				return EXIT_OK;
			}
		}
		if ((pfd[1].revents & POLLIN) && site_touched(sv))
			sv->reload_at_ns = mono_ns(NULL) + DEBOUNCE_MS * 1000000ull;
		tp_ctrl_server_service(sv->srv, pfd + base, ns);
		tp_admin_service(sv->admin, pfd + base + ns, na);
		catch_up(sv);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"site", required_argument, NULL, 's'},
		{"key", required_argument, NULL, 'k'},
		{"listen", required_argument, NULL, 'l'},
		{"state", required_argument, NULL, 'S'},
		{"socket", required_argument, NULL, 'u'},
		{"valid-for", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct serve sv = {.ino_fd = -1, .sig_fd = -1, .valid_for = DEFAULT_VALIDITY};
	const char *key = NULL, *listen = NULL, *socket_path = NULL;
	int c, rc;

	snprintf(sv.state, sizeof(sv.state), "%s", DEFAULT_STATE);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sv.site_path = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'S':
			snprintf(sv.state, sizeof(sv.state), "%s", optarg);
			break;
		case 'u':
			socket_path = optarg;
			break;
		case 'f':
			if (!tp_time_parse_duration(optarg, &sv.valid_for) || sv.valid_for < 60) {
				complain("bad --valid-for '%s': e.g. 30d, 12h (at least 60s)",
					 optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind != argc || !sv.site_path || !key || !listen)
		return usage(stderr);
	if (sodium_init() < 0)
		return EXIT_USAGE;
	rc = setup(&sv, listen, key, socket_path);
	if (rc != EXIT_OK)
		goto out;
	say("listening on %s (port %u), state in %s, last version %" PRIu64, listen,
	    tp_ctrl_server_port(sv.srv), sv.state, sv.version);
	if (compile_and_publish(&sv, "start") < 0) {
		rc = EXIT_REFUSED;
		goto out;
	}
	rc = loop(&sv);
out:
	tp_admin_destroy(sv.admin);
	tp_ctrl_server_free(sv.srv);
	if (sv.ino_fd >= 0)
		close(sv.ino_fd);
	if (sv.sig_fd >= 0)
		close(sv.sig_fd);
	sodium_memzero(sv.sk, sizeof(sv.sk));
	return rc;
}
