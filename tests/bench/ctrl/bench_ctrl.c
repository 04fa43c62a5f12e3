// SPDX-License-Identifier: MIT
/*
 * Controller channel benchmarks, all in one process on loopback TCP with
 * the real clock:
 *   1. push -> ack latency for a site of 10 and of 10k rules: from
 *      tp_ctrl_server_publish() until the server has the TP's Ack, which the
 *      TP sends only after the bundle was checked, compiled, written to the
 *      LKG (fsync + rename + fsync dir) and made live. Side by side, the
 *      apply step alone, with and without persistence.
 *   2. fan-out: one server, 50 clients (each its own policy object and LKG
 *      directory): publish -> all 50 acked.
 *   3. where the apply step goes: its parts run alone on the same bundle,
 *      in thread CPU time (what the machine's other load does not change)
 *      and in wall time.
 *
 *   bench_ctrl DEPLOY_EXAMPLES_DIR [STATE_PARENT_DIR]
 * Prints a Markdown report on stdout.
 */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "tp/policy/bundle.h"
#include "tp/base/crypto.h"
#include "tp/ctrl/apply.h"
#include "tp/ctrl/client.h"
#include "tp/ctrl/noise.h"
#include "tp/ctrl/server.h"
#include "tp/policy/engine.h"
#include "tp/policy/lint.h"
#include "tp/ctrl/lkg.h"
#include "tp/policy/yaml.h"

#include "../../lib/tl_site.h"

#define N_FAN 50

static uint8_t ctl_seed[32], ctl_pk[32], ctl_sk[64];
static bool null_apply; /* ack without checking: the channel's own cost */
static const char *parent = ".";

struct tp {
	struct tp_ctrl_client *c;
	struct tp_ctrl_apply a;
	char dir[512];
	uint8_t priv[32], pub[32];
};

static uint64_t mono_ns(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int apply_cb(void *arg, const uint8_t *b, size_t n, struct tp_ctrl_apply_result *res)
{
	struct tp *t = arg;

	if (null_apply)
		return 0; /* res->version is the push's */
	return tp_ctrl_apply_bundle(&t->a, b, n, (int64_t)time(NULL), "controller", res);
}

static uint64_t version_cb(void *arg)
{
	struct tp *t = arg;

	return t->a.has_policy ? t->a.info.version : 0;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void tp_init(struct tp *t, uint16_t port)
{
	struct tp_ctrl_client_config cfg = {.clock = {mono_ns, NULL}};
	struct tp_ctrl_client_callbacks cb = {
		.apply = apply_cb, .policy_version = version_cb, .arg = t};

	randombytes_buf(t->priv, 32);
	tp_crypto_clamp(t->priv);
	tp_crypto_pubkey(t->pub, t->priv);
	snprintf(t->dir, sizeof(t->dir), "%s/tpc-bench-XXXXXX", parent);
	if (!mkdtemp(t->dir))
		abort();
	tp_ctrl_apply_init(&t->a, ctl_pk, t->dir, TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL,
			   (int64_t)time(NULL));
	snprintf(cfg.address, sizeof(cfg.address), "127.0.0.1:%u", port);
	memcpy(cfg.static_priv, t->priv, 32);
	memcpy(cfg.controller_pk, ctl_pk, 32);
	snprintf(cfg.tp_name, sizeof(cfg.tp_name), "bench");
	t->c = tp_ctrl_client_new(&cfg, &cb);
	if (!t->c)
		abort();
}

static void tp_fini(struct tp *t)
{
	char p[600];

	tp_ctrl_client_free(t->c);
	tp_ctrl_apply_fini(&t->a);
	snprintf(p, sizeof(p), "%s/%s", t->dir, TP_LKG_FILE);
	unlink(p);
	rmdir(t->dir);
}

static void round_once(struct tp_ctrl_server *s, struct tp *tps, int n)
{
	struct pollfd pfd[N_FAN + 300];
	unsigned ns = tp_ctrl_server_pollfds(s, pfd, 300), k = ns;
	int idx[N_FAN];

	for (int i = 0; i < n; i++) {
		idx[i] = -1;
		if (tp_ctrl_client_fd(tps[i].c) >= 0) {
			idx[i] = (int)k;
			pfd[k++] = (struct pollfd){tp_ctrl_client_fd(tps[i].c),
						   tp_ctrl_client_events(tps[i].c), 0};
		}
	}
	poll(pfd, k, 1);
	tp_ctrl_server_service(s, pfd, ns);
	for (int i = 0; i < n; i++) {
		if (idx[i] >= 0 && (pfd[idx[i]].revents & (POLLIN | POLLHUP | POLLERR)))
			tp_ctrl_client_on_readable(tps[i].c);
		if (idx[i] >= 0 && (pfd[idx[i]].revents & POLLOUT))
			tp_ctrl_client_on_writable(tps[i].c);
		tp_ctrl_client_tick(tps[i].c);
	}
	tp_ctrl_server_tick(s);
}

static bool all_acked(struct tp_ctrl_server *s, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (tp_ctrl_server_tp(s, i)->acked_version != v)
			return false;
	return true;
}

static bool all_up(struct tp_ctrl_server *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!tp_ctrl_server_tp(s, i)->connected)
			return false;
	return true;
}

/*
 * The lab site with its conduits replaced by n allow rules z1 -> z2; with
 * zones > 0, its zones replaced by that many (10.x.y.0/24 each, spread
 * over the lab's TPs) and the rules spread over zone pairs.
 */
static struct tp_site *site_with(const char *examples, size_t n, size_t zones)
{
	struct tp_site *s = tl_example_site(examples, "lab-plant.yaml");

	if (!s)
		abort();
	s->n_assertions = 0; /* kept allocated; freed with the site */
	for (size_t i = 0; i < s->n_rules; i++) {
		free(s->rules[i].dst_ports);
		free(s->rules[i].src_ports);
		free(s->rules[i].icmp);
		free(s->rules[i].modbus.unit_ids);
		free(s->rules[i].modbus.function_codes);
		free(s->rules[i].modbus.registers);
	}
	free(s->rules);
	s->rules = calloc(n, sizeof(*s->rules));
	s->n_rules = n;
	for (size_t i = 0; i < n; i++) {
		struct tp_rule *r = &s->rules[i];

		r->id = (uint32_t)(i + 1);
		snprintf(r->name, sizeof(r->name), "r%zu", i);
		r->from_zone = (uint32_t)(i % 2);
		r->to_zone = (uint32_t)(i % 2 ? 2 : 1);
		r->action = TP_ACTION_ALLOW;
		r->proto = 6;
		r->dst_ports = malloc(sizeof(*r->dst_ports));
		r->dst_ports[0] =
			(struct tp_port_range){(uint16_t)(1000 + i), (uint16_t)(1000 + i)};
		r->n_dst_ports = 1;
		r->stateful = true;
	}
	if (!zones)
		return s;
	for (size_t i = 0; i < s->n_zones; i++)
		free(s->zones[i].prefixes);
	free(s->zones);
	s->zones = calloc(zones, sizeof(*s->zones));
	s->n_zones = zones;
	tl_gen_zones(s->zones, zones, s->n_tps);
	for (size_t i = 0; i < n; i++) {
		s->rules[i].from_zone = (uint32_t)(i % zones);
		s->rules[i].to_zone = (uint32_t)((i * 7 + 1) % zones);
		if (s->rules[i].to_zone == s->rules[i].from_zone)
			s->rules[i].to_zone = (uint32_t)((i + 1) % zones);
	}
	return s;
}

static uint8_t *sign(const struct tp_site *site, uint64_t v, size_t *len)
{
	int64_t now = (int64_t)time(NULL);
	struct tp_bundle_info info = {.version = v, .issued_at = now, .expires_at = now + 86400};
	uint8_t *out = NULL;

	if (tp_bundle_build(site, &info, ctl_sk, &out, len) != 0)
		abort();
	return out;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void stats(uint64_t *v, int n, double *med, double *p90, double *max)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	*med = (double)v[n / 2] / 1e6;
	*p90 = (double)v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1] / 1e6;
	*max = (double)v[n - 1] / 1e6;
}

static struct tp_ctrl_server *server(void)
{
	struct tp_ctrl_server_config cfg = {.clock = {mono_ns, NULL}, .listen = "127.0.0.1:0"};
	struct tp_ctrl_server *s;
	char err[200];

	tp_ctrl_noise_priv_from_ed25519(cfg.static_priv, ctl_seed);
	s = tp_ctrl_server_new(&cfg, err, sizeof(err));
	if (!s)
		abort();
	return s;
}

/* Latency of one push to one TP, reps times (versions from *v on). */
static void bench_push(const char *examples, size_t rules, size_t zones, int reps, uint64_t *v)
{
	struct tp_site *site = site_with(examples, rules, zones);
	struct tp_ctrl_server_tp_spec spec;
	struct tp_ctrl_apply direct, direct_nop;
	struct tp_ctrl_apply_result res;
	struct tp_ctrl_server *s;
	struct tp t;
	uint64_t *lat = calloc((size_t)reps, sizeof(*lat)), *ap = calloc((size_t)reps, 8),
		 *apn = calloc((size_t)reps, 8);
	double m, p, x, am, apx, anm, anx, dummy;
	size_t len = 0;
	uint8_t *b;
	char dir[600];

	memset(&t, 0, sizeof(t));
	memset(&spec, 0, sizeof(spec));
	s = server();
	tp_init(&t, tp_ctrl_server_port(s));
	snprintf(spec.name, sizeof(spec.name), "tp");
	memcpy(spec.pubkey, t.pub, 32);
	tp_ctrl_server_set_tps(s, &spec, 1);
	while (!all_up(s, 1))
		round_once(s, &t, 1);
	for (int r = 0; r < reps; r++) {
		uint64_t t0;

		b = sign(site, ++*v, &len);
		t0 = mono_ns(NULL);
		tp_ctrl_server_publish(s, *v, b, len);
		while (!all_acked(s, 1, *v))
			round_once(s, &t, 1);
		lat[r] = mono_ns(NULL) - t0;
		free(b);
	}
	/* The apply step alone, persisted and not. */
	snprintf(dir, sizeof(dir), "%s", t.dir);
	tp_ctrl_apply_init(&direct, ctl_pk, dir, TP_FAILMODE_EXPIRY_CLOSED, false, NULL, NULL,
			   (int64_t)time(NULL));
	tp_ctrl_apply_init(&direct_nop, ctl_pk, "", TP_FAILMODE_EXPIRY_CLOSED, false, NULL, NULL,
			   (int64_t)time(NULL));
	for (int r = 0; r < reps; r++) {
		uint64_t t0;

		b = sign(site, ++*v, &len);
		t0 = mono_ns(NULL);
		if (tp_ctrl_apply_bundle(&direct, b, len, (int64_t)time(NULL), "bench", &res) != 0)
			abort();
		ap[r] = mono_ns(NULL) - t0;
		t0 = mono_ns(NULL);
		if (tp_ctrl_apply_bundle(&direct_nop, b, len, (int64_t)time(NULL), "bench", &res) !=
		    0)
			abort();
		apn[r] = mono_ns(NULL) - t0;
		free(b);
	}
	stats(lat, reps, &m, &p, &x);
	stats(ap, reps, &am, &dummy, &apx);
	stats(apn, reps, &anm, &dummy, &anx);
	printf("| %zu | %zu | %zu | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", rules,
	       site->n_zones, len, reps, m, p, x, am, anm);
	tp_ctrl_apply_fini(&direct);
	tp_ctrl_apply_fini(&direct_nop);
	tp_fini(&t);
	tp_ctrl_server_free(s);
	tp_site_free(site);
	free(lat);
	free(ap);
	free(apn);
}

/*
 * The parts of one apply, each alone on the same signed bundle, reps
 * times: verify + decode + convert (tp_bundle_open), lint's structural
 * checks, the compile, the fsynced LKG write, and the whole apply without
 * the LKG write (which adds the version and time checks, the copy of the
 * bundle and freeing the policy it replaces).
 */
enum { P_OPEN, P_LINT, P_COMPILE, P_LKG, P_APPLY, P__N };

static void bench_parts(const char *examples, size_t rules, size_t zones, int reps, uint64_t *v)
{
	static const char *const names[P__N] = {"verify + decode + convert", "lint (structure)",
						"compile", "LKG write (fsync)",
						"whole apply, no LKG"};
	struct tp_site *site = site_with(examples, rules, zones);
	uint64_t *cpu[P__N], *wall[P__N];
	struct tp_ctrl_apply nop;
	struct tp_ctrl_apply_result res;
	char dir[512], path[600], err[256];
	size_t len = 0;
	uint8_t *b;

	snprintf(dir, sizeof(dir), "%s/tpc-parts-XXXXXX", parent);
	if (!mkdtemp(dir))
		abort();
	tp_ctrl_apply_init(&nop, ctl_pk, "", TP_FAILMODE_EXPIRY_CLOSED, false, NULL, NULL,
			   (int64_t)time(NULL));
	for (int k = 0; k < P__N; k++) {
		cpu[k] = calloc((size_t)reps, sizeof(uint64_t));
		wall[k] = calloc((size_t)reps, sizeof(uint64_t));
	}
	for (int r = 0; r < reps; r++) {
		int64_t now = (int64_t)time(NULL);
		struct tp_lint_opts lo = {.now = now, .structure_only = true};
		struct tp_bundle_info info;
		struct tp_site *s = NULL;
		struct tp_engine *e = NULL;
		struct tp_diags d;
		uint64_t c0, w0;

		b = sign(site, ++*v, &len);
		for (int k = 0; k < P__N; k++) {
			c0 = cpu_ns();
			w0 = mono_ns(NULL);
			switch (k) {
			case P_OPEN:
				if (tp_bundle_open(b, len, ctl_pk, &info, &s, err, sizeof(err)) !=
				    TP_BUNDLE_OK)
					abort();
				break;
			case P_LINT:
				tp_diag_init(&d, "bundle");
				if (!tp_lint_site(s, NULL, &lo, &d))
					abort();
				tp_diag_free(&d);
				break;
			case P_COMPILE:
				if (tp_engine_compile(s, now, &e, err, sizeof(err)) < 0)
					abort();
				break;
			case P_LKG:
				if (tp_lkg_save(dir, b, len) < 0)
					abort();
				break;
			default:
				if (tp_ctrl_apply_bundle(&nop, b, len, now, "bench", &res) != 0)
					abort();
				break;
			}
			cpu[k][r] = cpu_ns() - c0;
			wall[k][r] = mono_ns(NULL) - w0;
		}
		tp_engine_free(e);
		tp_site_free(s);
		free(b);
	}
	for (int k = 0; k < P__N; k++) {
		double cm, wm, dummy;

		stats(cpu[k], reps, &cm, &dummy, &dummy);
		stats(wall[k], reps, &wm, &dummy, &dummy);
		printf("| %zu | %zu | %s | %.2f | %.2f |\n", rules, site->n_zones, names[k], cm,
		       wm);
		free(cpu[k]);
		free(wall[k]);
	}
	tp_ctrl_apply_fini(&nop);
	snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FILE);
	unlink(path);
	rmdir(dir);
	tp_site_free(site);
}

static void bench_fanout(const char *examples, size_t rules, int reps, uint64_t *v, bool null)
{
	struct tp_site *site = site_with(examples, rules, 0);
	static struct tp_ctrl_server_tp_spec spec[N_FAN];
	struct tp_ctrl_server *s;
	static struct tp tps[N_FAN];
	uint64_t *lat = calloc((size_t)reps, sizeof(*lat)), t0;
	double m, p, x, up;
	size_t len = 0;
	uint8_t *b;

	null_apply = null;
	s = server();
	for (int i = 0; i < N_FAN; i++) {
		memset(&tps[i], 0, sizeof(tps[i]));
		tp_init(&tps[i], tp_ctrl_server_port(s));
		snprintf(spec[i].name, sizeof(spec[i].name), "tp%d", i);
		memcpy(spec[i].pubkey, tps[i].pub, 32);
	}
	tp_ctrl_server_set_tps(s, spec, N_FAN);
	t0 = mono_ns(NULL);
	while (!all_up(s, N_FAN))
		round_once(s, tps, N_FAN);
	up = (double)(mono_ns(NULL) - t0) / 1e6;
	for (int r = 0; r < reps; r++) {
		b = sign(site, ++*v, &len);
		t0 = mono_ns(NULL);
		tp_ctrl_server_publish(s, *v, b, len);
		while (!all_acked(s, N_FAN, *v))
			round_once(s, tps, N_FAN);
		lat[r] = mono_ns(NULL) - t0;
		free(b);
	}
	stats(lat, reps, &m, &p, &x);
	printf("| %s | %d | %zu | %zu | %.1f | %d | %.1f | %.1f | %.2f |\n",
	       null ? "none (ack at once)" : "check + compile + LKG", N_FAN, rules, len, up, reps,
	       m, x, m / N_FAN);
	for (int i = 0; i < N_FAN; i++)
		tp_fini(&tps[i]);
	tp_ctrl_server_free(s);
	tp_site_free(site);
	free(lat);
}

int main(int argc, char **argv)
{
	struct statfs sf;
	uint64_t v = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_ctrl DEPLOY_EXAMPLES_DIR [STATE_PARENT_DIR]\n");
		return 2;
	}
	if (argc > 2)
		parent = argv[2];
	if (tp_crypto_init() != 0)
		return 1;
	randombytes_buf(ctl_seed, 32);
	crypto_sign_seed_keypair(ctl_pk, ctl_sk, ctl_seed);
	statfs(parent, &sf);
	printf("LKG directories under `%s` (%s). Times in ms.\n\n", parent,
	       sf.f_type == 0x01021994 ? "tmpfs: fsync is free" : "a disk filesystem: real fsync");
	printf("Push to one TP: publish -> Ack (check + compile + LKG write + publish + "
	       "ack), and the apply step alone with and without the LKG write:\n\n");
	printf("| rules | zones | bundle bytes | runs | push->ack median | p90 | max | apply+LKG "
	       "median | apply, no LKG, median |\n|---|---|---|---|---|---|---|---|---|\n");
	bench_push(argv[1], 10, 0, 50, &v);
	bench_push(argv[1], 10000, 0, 10, &v);
	bench_push(argv[1], 10000, 1000, 10, &v);
	printf("\nThe apply step by parts, each alone on the same bundle (medians of 21; thread "
	       "CPU time, which other load on the machine hardly changes, and wall time):\n\n");
	printf("| rules | zones | part | CPU median | wall median |\n|---|---|---|---|---|\n");
	bench_parts(argv[1], 10, 0, 21, &v);
	bench_parts(argv[1], 10000, 0, 21, &v);
	bench_parts(argv[1], 10000, 1000, 21, &v);
	printf("\nFan-out: one server, %d clients in one process (each its own policy object and "
	       "LKG directory); publish -> every client acked:\n\n",
	       N_FAN);
	printf("| apply | clients | rules | bundle bytes | all connected | runs | all acked median "
	       "| max | per client |\n|---|---|---|---|---|---|---|---|---|\n");
	bench_fanout(argv[1], 10, 10, &v, true);
	bench_fanout(argv[1], 10000, 10, &v, true);
	bench_fanout(argv[1], 10, 10, &v, false);
	bench_fanout(argv[1], 10000, 3, &v, false);
	printf("\nThe 50 clients share one thread here, so their applies run one after the "
	       "other: the per-client column is what one TP spends; on real TPs the applies "
	       "run in parallel and the fan-out costs the controller only the first rows.\n");
	return 0;
}
