// SPDX-License-Identifier: MIT
/*
 * Client and server together, in one process, over real loopback TCP,
 * driven by poll() and an injected clock (time only moves when a test
 * moves it; the loops below wait for conditions, never for time):
 * push -> apply -> ack; every refusal reason with the running policy
 * unchanged; a controller with another key; an unknown TP; hostile peers
 * (oversize, garbage, half-open, trickling) while a real TP keeps being
 * served; a client facing a broken controller; the backoff schedule
 * against a closed port, reset by a success; a silent controller; the
 * controller killed mid-push and restarted; boot on the last-known-good.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller.pb-c.h"
#include "tp/policy/bundle.h"
#include "tp/base/crypto.h"
#include "tp/ctrl/apply.h"
#include "tp/ctrl/client.h"
#include "tp/ctrl/frame.h"
#include "tp/ctrl/noise.h"
#include "tp/ctrl/server.h"
#include "tp/policy/engine.h"
#include "tp/ctrl/lkg.h"
#include "tp/policy/yaml.h"

#include "../../lib/tl_site.h"
#include "../../lib/tl_cunit.h"

#define MS 1000000ull

static const char *examples_dir;
static const int64_t T0 = 1795000000; /* wall clock at fake time 0 */
static uint64_t fake_ns;
static uint8_t ctl_seed[32], ctl_pk[32], ctl_sk[64], other_seed[32], other_pk[32], other_sk[64];
static uint8_t tp_priv[3][32], tp_pub[3][32], stranger_priv[32];
static struct tp_site *site;

static uint64_t fake_now(void *arg)
{
	return fake_ns;
}

static int64_t wall(void)
{
	return T0 + (int64_t)(fake_ns / 1000000000ull);
}

static uint32_t zero_random(void *arg)
{
	return 0;
}

/* ---- a light TP: client + policy object ---- */

struct tp {
	struct tp_ctrl_client *c;
	struct tp_ctrl_apply a;
	char dir[64];
	/* A rogue TP: reports claim as its version and answers a
	 * ProofRequest with proof (NULL: "no bundle"). */
	bool lie;
	uint64_t claim;
	const uint8_t *proof;
	size_t proof_len;
};

/* Client settings of the next tp_start (0: the default). */
static struct {
	uint32_t rekey_ms, rekey_frames, max_session_ms;
} client_over;

static int tp_apply(void *arg, const uint8_t *b, size_t n, struct tp_ctrl_apply_result *res)
{
	struct tp *t = arg;

	return tp_ctrl_apply_bundle(&t->a, b, n, wall(), "controller", res);
}

static uint64_t tp_version(void *arg)
{
	struct tp *t = arg;

	if (t->lie)
		return t->claim;
	return t->a.has_policy ? t->a.info.version : 0;
}

static const uint8_t *tp_running_bundle(void *arg, size_t *len)
{
	struct tp *t = arg;

	if (t->lie) {
		*len = t->proof_len;
		return t->proof;
	}
	*len = t->a.has_policy ? t->a.bundle_len : 0;
	return t->a.has_policy ? t->a.bundle : NULL;
}

static void tp_status(void *arg, struct tp_ctrl_status *st)
{
	static struct tp_ctrl_status_peer peers[2] = {{.name = "tp2", .up = true},
						      {.name = "tp3", .up = false}};
	static struct tp_ctrl_status_counter ctr[1];
	struct tp *t = arg;

	ctr[0] = (struct tp_ctrl_status_counter){"policy_applied", t->a.applied};
	st->policy_state = (int)t->a.fm.state;
	st->policy_expires_at = t->a.info.expires_at;
	st->peers = peers;
	st->n_peers = 2;
	st->counters = ctr;
	st->n_counters = 1;
}

/* The TP's export (tpd: the bytes tpctl export writes); NULL: none. */
static const char *export_doc;

static char *tp_export(void *arg, size_t *len, char *err, size_t errlen)
{
	if (!export_doc) {
		snprintf(err, errlen, "no export here");
		return NULL;
	}
	*len = strlen(export_doc);
	return strdup(export_doc);
}

/* What the controller received (on_export). */
static struct {
	unsigned n;
	char tp[64];
	char data[256];
	size_t len;
	char error[160];
} got_export;

static void on_export(void *arg, const char *tp, const uint8_t *data, size_t len, const char *error)
{
	got_export.n++;
	snprintf(got_export.tp, sizeof(got_export.tp), "%s", tp);
	got_export.len = data ? len : 0;
	if (data && len < sizeof(got_export.data))
		memcpy(got_export.data, data, len);
	snprintf(got_export.error, sizeof(got_export.error), "%s", error ? error : "");
}

static unsigned downs; /* connected(false) calls */

static void tp_connected(void *arg, bool up)
{
	struct tp *t = arg;

	downs += !up;
	tp_failmode_set_controller(&t->a.fm, up, wall());
}

static void quiet(void *arg, const char *msg)
{
	if (getenv("TPC_VERBOSE"))
		fprintf(stderr, "    [%s] %s\n", arg ? (const char *)arg : "-", msg);
}

static void tp_log(void *arg, const char *msg)
{
	quiet("tp", msg);
}

static void tp_start(struct tp *t, const uint8_t priv[32], const uint8_t *pinned, uint16_t port)
{
	struct tp_ctrl_client_config cfg = {
		.clock = {fake_now, NULL},
		.random = zero_random,
		.backoff_base_ms = 500,
		.backoff_cap_ms = 4000,
		.rekey_ms = client_over.rekey_ms,
		.rekey_frames = client_over.rekey_frames,
		.max_session_ms = client_over.max_session_ms,
	};
	struct tp_ctrl_client_callbacks cb = {
		.apply = tp_apply,
		.policy_version = tp_version,
		.status = tp_status,
		.connected = tp_connected,
		.export = tp_export,
		.running_bundle = tp_running_bundle,
		.log = tp_log,
		.arg = t,
	};

	if (!t->dir[0]) {
		snprintf(t->dir, sizeof(t->dir), "/tmp/tpc-session-XXXXXX");
		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
		tp_ctrl_apply_init(&t->a, ctl_pk, t->dir, TP_FAILMODE_EXPIRY_CLOSED, true, quiet,
				   NULL, wall());
	}
	snprintf(cfg.address, sizeof(cfg.address), "127.0.0.1:%u", port);
	memcpy(cfg.static_priv, priv, 32);
	memcpy(cfg.controller_pk, pinned, 32);
	snprintf(cfg.tp_name, sizeof(cfg.tp_name), "tp1");
	snprintf(cfg.software_version, sizeof(cfg.software_version), "test");
	t->c = tp_ctrl_client_new(&cfg, &cb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->c);
}

static void tp_stop(struct tp *t, bool remove_state)
{
	char path[128];

	tp_ctrl_client_free(t->c);
	t->c = NULL;
	if (!remove_state)
		return;
	tp_ctrl_apply_fini(&t->a);
	snprintf(path, sizeof(path), "%s/%s", t->dir, TP_LKG_FILE);
	unlink(path);
	rmdir(t->dir);
	t->dir[0] = 0;
}

/* ---- the controller ---- */

/* Server settings of the next server_start (0: the default). */
static struct {
	uint32_t rekey_ms, rekey_frames, max_session_ms;
} server_over;

static struct tp_ctrl_server *server_start(uint16_t port, const uint8_t seed[32])
{
	struct tp_ctrl_server_config cfg = {.clock = {fake_now, NULL},
					    .log = quiet,
					    .log_arg = "server",
					    .on_export = on_export,
					    .rekey_ms = server_over.rekey_ms,
					    .rekey_frames = server_over.rekey_frames,
					    .max_session_ms = server_over.max_session_ms};
	struct tp_ctrl_server_tp_spec spec[3];
	struct tp_ctrl_server *s;
	char err[200];

	snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:%u", port);
	CU_ASSERT_FATAL(tp_ctrl_noise_priv_from_ed25519(cfg.static_priv, seed));
	crypto_sign_seed_keypair(cfg.bundle_pk, (uint8_t[64]){0}, seed);
	s = tp_ctrl_server_new(&cfg, err, sizeof(err));
	if (!s)
		fprintf(stderr, "server: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(spec, 0, sizeof(spec));
	for (int i = 0; i < 3; i++) {
		snprintf(spec[i].name, sizeof(spec[i].name), "tp%d", i + 1);
		memcpy(spec[i].pubkey, tp_pub[i], 32);
	}
	CU_ASSERT_EQUAL(tp_ctrl_server_set_tps(s, spec, 3), 0);
	return s;
}

/* A controller on a free port and TP 1, with its own key, dialing it. */
static struct tp_ctrl_server *server_and_tp1(struct tp *t)
{
	struct tp_ctrl_server *s = server_start(0, ctl_seed);

	tp_start(t, tp_priv[0], ctl_pk, tp_ctrl_server_port(s));
	return s;
}

/* Bundle bytes for version v, valid [nb, exp) (wall seconds), signed by sk. */
static uint8_t *bundle(uint64_t v, int64_t nb, int64_t exp, const uint8_t *sk, size_t *len)
{
	struct tp_bundle_info info = {
		.version = v, .issued_at = wall(), .expires_at = exp, .not_before = nb};
	uint8_t *out = NULL;

	CU_ASSERT_EQUAL_FATAL(tp_bundle_build(site, &info, sk, &out, len), 0);
	return out;
}

static void publish(struct tp_ctrl_server *s, uint64_t server_version, uint8_t *b, size_t n)
{
	CU_ASSERT_EQUAL(tp_ctrl_server_publish(s, server_version, b, n), 0);
	free(b);
}

/* ---- the loop ---- */

/* One poll round over the server and every client given. */
static void round_once(struct tp_ctrl_server *s, struct tp **tps, int n_tps)
{
	struct pollfd pfd[64];
	unsigned ns = s ? tp_ctrl_server_pollfds(s, pfd, 48) : 0, n = ns;
	int ci[8];

	for (int i = 0; i < n_tps; i++) {
		ci[i] = -1;
		if (tps[i]->c && tp_ctrl_client_fd(tps[i]->c) >= 0) {
			ci[i] = (int)n;
			pfd[n++] = (struct pollfd){.fd = tp_ctrl_client_fd(tps[i]->c),
						   .events = tp_ctrl_client_events(tps[i]->c)};
		}
	}
	poll(pfd, n, 2);
	if (s)
		tp_ctrl_server_service(s, pfd, ns);
	for (int i = 0; i < n_tps; i++) {
		if (ci[i] >= 0 && pfd[ci[i]].revents & (POLLIN | POLLHUP | POLLERR))
			tp_ctrl_client_on_readable(tps[i]->c);
		if (ci[i] >= 0 && pfd[ci[i]].revents & POLLOUT)
			tp_ctrl_client_on_writable(tps[i]->c);
		if (tps[i]->c)
			tp_ctrl_client_tick(tps[i]->c);
	}
	if (s)
		tp_ctrl_server_tick(s);
}

typedef bool (*cond_fn)(void *arg);

/* Run rounds until cond holds (true) or 3000 rounds passed (false). */
static bool pump(struct tp_ctrl_server *s, struct tp **tps, int n, cond_fn cond, void *arg)
{
	for (int i = 0; i < 3000; i++) {
		if (cond && cond(arg))
			return true;
		round_once(s, tps, n);
	}
	return cond ? cond(arg) : true;
}

struct want_ack {
	struct tp_ctrl_server *s;
	size_t tp;
	uint64_t version;
};

static bool acked(void *arg)
{
	struct want_ack *w = arg;

	return tp_ctrl_server_tp(w->s, w->tp)->acked_version == w->version;
}

static bool nacked(void *arg)
{
	struct want_ack *w = arg;

	return tp_ctrl_server_tp(w->s, w->tp)->nacked_version == w->version;
}

static bool status_seen(void *arg)
{
	return tp_ctrl_server_tp(arg, 0)->n_counters == 1;
}

static bool established(void *arg)
{
	return tp_ctrl_client_state(((struct tp *)arg)->c) == TP_CTRL_CLIENT_ESTABLISHED;
}

static bool idle(void *arg)
{
	return tp_ctrl_client_state(((struct tp *)arg)->c) == TP_CTRL_CLIENT_IDLE;
}

struct want_attempts {
	struct tp *t;
	uint64_t n;
};

/* The n-th attempt has failed. */
static bool failed_attempt(void *arg)
{
	struct want_attempts *w = arg;
	struct tp_ctrl_client_stats cs;

	tp_ctrl_client_stats(w->t->c, &cs);
	return cs.attempts == w->n && cs.failures == w->n && idle(w->t);
}

static bool accepted_at_least(void *arg)
{
	struct tp_ctrl_server_stats st;
	struct tp_ctrl_server *s = ((void **)arg)[0];

	tp_ctrl_server_stats(s, &st);
	return st.accepted >= (uintptr_t)((void **)arg)[1];
}

static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- tests ---- */

static bool server_sees_up(void *arg)
{
	return tp_ctrl_server_tp(arg, 0)->connected;
}

static bool export_answered(void *arg)
{
	return got_export.n >= *(unsigned *)arg;
}

/* An ExportRequest is answered with exactly the bytes the TP's export
 * callback gives (tpd: tpctl export's document), or with its error. */
static void test_export_request(void)
{
	static const char doc[] = "{\n  \"schema\": \"tableau-export/1\"\n}\n";
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	unsigned want = 1;

	fake_ns = 0;
	memset(&got_export, 0, sizeof(got_export));
	s = server_and_tp1(&t);
	CU_ASSERT_TRUE(pump(s, tps, 1, server_sees_up, s)); /* after the Hello */
	export_doc = doc;
	tp_ctrl_server_request_export(s);
	CU_ASSERT_TRUE(pump(s, tps, 1, export_answered, &want));
	CU_ASSERT_STRING_EQUAL(got_export.tp, "tp1");
	CU_ASSERT_EQUAL(got_export.len, strlen(doc));
	CU_ASSERT_EQUAL(memcmp(got_export.data, doc, strlen(doc)), 0);
	CU_ASSERT_STRING_EQUAL(got_export.error, "");
	export_doc = NULL;
	want = 2;
	tp_ctrl_server_request_export(s);
	CU_ASSERT_TRUE(pump(s, tps, 1, export_answered, &want));
	CU_ASSERT_EQUAL(got_export.len, 0);
	CU_ASSERT_STRING_EQUAL(got_export.error, "no export here");
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

static void test_push_ack(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct want_ack w;
	struct stat st;
	char path[128];
	size_t n;
	uint8_t *b;

	fake_ns = 0;
	s = server_and_tp1(&t);
	CU_ASSERT_TRUE(pump(s, tps, 1, established, &t));
	CU_ASSERT_EQUAL(t.a.fm.state, TP_FAILMODE_NO_POLICY);
	b = bundle(1, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 1, b, n);
	w = (struct want_ack){s, 0, 1};
	CU_ASSERT_TRUE(pump(s, tps, 1, acked, &w));
	CU_ASSERT_EQUAL(t.a.info.version, 1);
	CU_ASSERT_EQUAL(t.a.fm.state, TP_FAILMODE_ENFORCING);
	CU_ASSERT_TRUE(tp_ctrl_server_tp(s, 0)->connected);
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->running_version, 1);
	snprintf(path, sizeof(path), "%s/%s", t.dir, TP_LKG_FILE);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL((size_t)st.st_size, n);
	/* A second push replaces it. */
	b = bundle(2, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 2, b, n);
	w.version = 2;
	CU_ASSERT_TRUE(pump(s, tps, 1, acked, &w));
	CU_ASSERT_EQUAL(t.a.info.version, 2);
	/* The status after each ack reaches the server. */
	CU_ASSERT_TRUE(pump(s, tps, 1, status_seen, s));
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->policy_state, TP_FAILMODE_ENFORCING);
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->peers, 2);
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->peers_up, 1);
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->n_counters, 1);
	CU_ASSERT_STRING_EQUAL(tp_ctrl_server_tp(s, 0)->counters[0].name, "policy_applied");
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

/* Each refusal is nacked with its reason; the running policy stays. */
static void test_refusals(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct want_ack w;
	struct tp_site *running_site;
	size_t n;
	uint8_t *b;
	struct {
		const char *what;
		int reason;
	} cases[] = {
		{"tampered", TABLEAU__V1__NACK_REASON__NACK_BAD_SIGNATURE},
		{"rollback", TABLEAU__V1__NACK_REASON__NACK_ROLLBACK},
		{"expired", TABLEAU__V1__NACK_REASON__NACK_EXPIRED},
		{"not yet valid", TABLEAU__V1__NACK_REASON__NACK_NOT_YET_VALID},
		{"other key", TABLEAU__V1__NACK_REASON__NACK_WRONG_KEY},
		{"garbage", TABLEAU__V1__NACK_REASON__NACK_UNDECODABLE},
	};

	fake_ns = 0;
	s = server_and_tp1(&t);
	b = bundle(2, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 2, b, n);
	w = (struct want_ack){s, 0, 2};
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, acked, &w));
	running_site = t.a.site;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 10 + i;

		switch (i) {
		case 0:
			b = bundle(v, 0, wall() + 3600, ctl_sk, &n);
			b[n / 2] ^= 0x40; /* inside the signed bytes */
			break;
		case 1:
			b = bundle(1, 0, wall() + 3600, ctl_sk, &n);
			break;
		case 2:
			b = bundle(v, 0, wall() - 1, ctl_sk, &n);
			break;
		case 3:
			b = bundle(v, wall() + 600, wall() + 3600, ctl_sk, &n);
			break;
		case 4:
			b = bundle(v, 0, wall() + 3600, other_sk, &n);
			break;
		default:
			n = 100;
			b = malloc(n);
			memset(b, 0xee, n);
			break;
		}
		publish(s, v, b, n);
		w.version = v;
		/* The nack names the bundle's own version when it could be
		 * read, else the push's. */
		if (i == 1)
			w.version = 1;
		CU_ASSERT_TRUE(pump(s, tps, 1, nacked, &w));
		CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->nack_reason, cases[i].reason);
		if (tp_ctrl_server_tp(s, 0)->nack_reason != cases[i].reason)
			fprintf(stderr, "\n    %s: got reason %d (%s)\n", cases[i].what,
				tp_ctrl_server_tp(s, 0)->nack_reason,
				tp_ctrl_server_tp(s, 0)->nack_text);
		CU_ASSERT_EQUAL(t.a.info.version, 2);
		CU_ASSERT_PTR_EQUAL(t.a.site, running_site);
		CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->acked_version, 2);
		CU_ASSERT_EQUAL(t.a.fm.state, TP_FAILMODE_ENFORCING);
	}
	/* The LKG on disk is still version 2. */
	{
		struct tp_ctrl_apply a2;
		bool found;

		tp_ctrl_apply_init(&a2, ctl_pk, t.dir, TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL,
				   wall());
		CU_ASSERT_EQUAL(tp_ctrl_apply_boot(&a2, wall(), &found), TP_BUNDLE_OK);
		CU_ASSERT_EQUAL(a2.info.version, 2);
		tp_ctrl_apply_fini(&a2);
	}
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

/* The TP refuses a controller that does not hold the pinned key, and the
 * controller refuses a TP the site does not list. */
static void test_wrong_keys(void)
{
	struct tp_ctrl_server *s, *impostor;
	struct tp t = {0}, u = {0}, *tps[] = {&t}, *tpu[] = {&u};
	struct tp_ctrl_server_stats st;
	struct tp_ctrl_client_stats cs;

	fake_ns = 0;
	impostor = server_start(0, other_seed);
	tp_start(&t, tp_priv[0], ctl_pk, tp_ctrl_server_port(impostor));
	for (uint64_t k = 1; k <= 4; k++) {
		struct want_attempts wa = {&t, k};

		CU_ASSERT_TRUE(pump(impostor, tps, 1, failed_attempt, &wa));
		fake_ns += 5000 * MS;
	}
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_EQUAL(cs.sessions, 0);
	CU_ASSERT_TRUE(cs.attempts >= 2);
	/* The impostor cannot read message 1 and hangs up. */
	CU_ASSERT_EQUAL(cs.fails[TP_CTRL_CLIENT_FAIL_CLOSED], cs.failures);
	tp_ctrl_server_stats(impostor, &st);
	CU_ASSERT_TRUE(st.closes[TP_CTRL_SERVER_CLOSE_BAD_HANDSHAKE] >= 2);
	CU_ASSERT_FALSE(tp_ctrl_server_tp(impostor, 0)->connected);
	tp_stop(&t, true);
	tp_ctrl_server_free(impostor);

	s = server_start(0, ctl_seed);
	tp_start(&u, stranger_priv, ctl_pk, tp_ctrl_server_port(s));
	{
		struct want_attempts wa = {&u, 1};

		CU_ASSERT_TRUE(pump(s, tpu, 1, failed_attempt, &wa));
	}
	tp_ctrl_client_stats(u.c, &cs);
	CU_ASSERT_EQUAL(cs.sessions, 0);
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_TRUE(st.closes[TP_CTRL_SERVER_CLOSE_UNKNOWN_KEY] >= 1);
	for (size_t i = 0; i < tp_ctrl_server_n_tps(s); i++)
		CU_ASSERT_FALSE(tp_ctrl_server_tp(s, i)->connected);
	tp_stop(&u, true);
	tp_ctrl_server_free(s);
}

static int raw_connect(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static bool closed_by_peer(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

struct conns_at_most {
	struct tp_ctrl_server *s;
	unsigned n;
};

static bool conns_at_most(void *arg)
{
	struct conns_at_most *c = arg;

	return tp_ctrl_server_n_conns(c->s) <= c->n;
}

/* Oversize, garbage, half-open and trickling peers cost only themselves. */
static void test_hostile_peers(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_server_stats st;
	struct conns_at_most cm;
	struct want_ack w;
	uint8_t hdr[4], junk[1024];
	int big, garbage, half, slow;
	uint16_t port;
	size_t n;
	uint8_t *b;

	fake_ns = 0;
	s = server_and_tp1(&t);
	port = tp_ctrl_server_port(s);
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, established, &t));

	big = raw_connect(port);
	tp_ctrl_frame_put_len(hdr, 0x7fffffff);
	CU_ASSERT_EQUAL(write(big, hdr, 4), 4);
	garbage = raw_connect(port);
	randombytes_buf(junk, sizeof(junk));
	junk[0] = 0; /* a length below the pre-auth maximum, then noise */
	junk[1] = 0;
	CU_ASSERT_EQUAL(write(garbage, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	half = raw_connect(port);
	slow = raw_connect(port);
	tp_ctrl_frame_put_len(hdr, TP_CTRL_NOISE_MSG1_OVERHEAD);
	CU_ASSERT_EQUAL(write(slow, hdr, 4), 4);

	/* The oversize and garbage peers are dropped at once... */
	void *acc[2] = {s, (void *)(uintptr_t)5};
	CU_ASSERT_TRUE(pump(s, tps, 1, accepted_at_least, acc));
	cm = (struct conns_at_most){s, 3};
	CU_ASSERT_TRUE(pump(s, tps, 1, conns_at_most, &cm));
	CU_ASSERT_TRUE(closed_by_peer(big));
	CU_ASSERT_TRUE(closed_by_peer(garbage));
	/* ...and the real TP is still served while the others linger. */
	b = bundle(1, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 1, b, n);
	w = (struct want_ack){s, 0, 1};
	for (int i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(write(slow, junk + i, 1), 1); /* one byte a round */
		round_once(s, tps, 1);
	}
	CU_ASSERT_TRUE(pump(s, tps, 1, acked, &w));
	CU_ASSERT_EQUAL(tp_ctrl_server_n_conns(s), 3);
	/* The handshake deadline ends the half-open and the slow one. */
	fake_ns += 6000 * MS;
	cm.n = 1;
	CU_ASSERT_TRUE(pump(s, tps, 1, conns_at_most, &cm));
	CU_ASSERT_TRUE(closed_by_peer(half));
	CU_ASSERT_TRUE(closed_by_peer(slow));
	CU_ASSERT_TRUE(tp_ctrl_server_tp(s, 0)->connected);
	CU_ASSERT_EQUAL(tp_ctrl_client_state(t.c), TP_CTRL_CLIENT_ESTABLISHED);
	tp_ctrl_server_stats(s, &st);
	/* The garbage peer's random length lands in one of three bins. */
	CU_ASSERT_TRUE(st.closes[TP_CTRL_SERVER_CLOSE_OVERSIZE] >= 1);
	CU_ASSERT_EQUAL(st.closes[TP_CTRL_SERVER_CLOSE_OVERSIZE] +
				st.closes[TP_CTRL_SERVER_CLOSE_BAD_FRAME] +
				st.closes[TP_CTRL_SERVER_CLOSE_BAD_HANDSHAKE],
			2);
	CU_ASSERT_EQUAL(st.closes[TP_CTRL_SERVER_CLOSE_HANDSHAKE_TIMEOUT], 2);
	CU_ASSERT_EQUAL(st.closes[TP_CTRL_SERVER_CLOSE_SILENT], 0);
	close(big);
	close(garbage);
	close(half);
	close(slow);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

/* A controller that answers garbage, or nothing, makes the client retry. */
static void test_broken_controller(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_client_stats cs;
	uint8_t hdr[4];
	int lfd, fd;

	fake_ns = 0;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	listen(lfd, 4);
	getsockname(lfd, (struct sockaddr *)&a, &l);
	tp_start(&t, tp_priv[0], ctl_pk, ntohs(a.sin_port));
	/* 1: an oversize frame in answer. */
	round_once(NULL, tps, 1);
	fd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	tp_ctrl_frame_put_len(hdr, 1u << 30);
	CU_ASSERT_EQUAL(write(fd, hdr, 4), 4);
	CU_ASSERT_TRUE(pump(NULL, tps, 1, idle, &t));
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_PTR_NOT_NULL(strstr(cs.last_error, "oversize"));
	CU_ASSERT_EQUAL(cs.fails[TP_CTRL_CLIENT_FAIL_OVERSIZE], 1);
	close(fd);
	/* 2: after the backoff, it tries again; this time no answer at all. */
	fake_ns += 250 * MS;
	round_once(NULL, tps, 1);
	fd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	round_once(NULL, tps, 1);
	CU_ASSERT_EQUAL(tp_ctrl_client_state(t.c), TP_CTRL_CLIENT_HANDSHAKE);
	fake_ns += 5000 * MS;
	round_once(NULL, tps, 1);
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_EQUAL(tp_ctrl_client_state(t.c), TP_CTRL_CLIENT_IDLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cs.last_error, "timed out"));
	CU_ASSERT_EQUAL(cs.fails[TP_CTRL_CLIENT_FAIL_HANDSHAKE_TIMEOUT], 1);
	CU_ASSERT_EQUAL(cs.attempts, 2);
	close(fd);
	close(lfd);
	tp_stop(&t, true);
}

/* Attempts against a closed port follow the schedule exactly (jitter 0:
 * half of base * 2^n, capped), and a success resets it. */
static void test_backoff_schedule(void)
{
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_client_stats cs;
	struct tp_ctrl_server *s;
	uint16_t port = free_port();
	const uint64_t want[] = {250, 500, 1000, 2000, 2000, 2000};
	uint64_t attempts;

	fake_ns = 0;
	tp_start(&t, tp_priv[0], ctl_pk, port);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct want_attempts wa = {&t, i + 1};

		CU_ASSERT_TRUE(pump(NULL, tps, 1, failed_attempt, &wa));
		tp_ctrl_client_stats(t.c, &cs);
		CU_ASSERT_EQUAL(cs.attempts, i + 1);
		CU_ASSERT_EQUAL(cs.next_attempt_ns - fake_ns, want[i] * MS);
		/* Just before the deadline nothing happens. */
		fake_ns = cs.next_attempt_ns - 1;
		round_once(NULL, tps, 1);
		tp_ctrl_client_stats(t.c, &cs);
		CU_ASSERT_EQUAL(cs.attempts, i + 1);
		fake_ns = cs.next_attempt_ns;
		round_once(NULL, tps, 1);
	}
	/* The controller comes up on that port: a session resets the
	 * schedule, so the next failure waits the base delay again. */
	struct want_attempts last = {&t, sizeof(want) / sizeof(want[0]) + 1};
	CU_ASSERT_TRUE(pump(NULL, tps, 1, failed_attempt, &last));
	s = server_start(port, ctl_seed);
	fake_ns += 2000 * MS;
	CU_ASSERT_TRUE(pump(s, tps, 1, established, &t));
	tp_ctrl_server_free(s);
	CU_ASSERT_TRUE(pump(NULL, tps, 1, idle, &t));
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_EQUAL(cs.next_attempt_ns - fake_ns, 250 * MS);
	attempts = cs.attempts;
	CU_ASSERT_TRUE(attempts > 6);
	tp_stop(&t, true);
}

/* A controller that stops answering is detected by the keepalive. */
static void test_silent_controller(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_client_stats cs;

	fake_ns = 0;
	s = server_and_tp1(&t);
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, established, &t));
	CU_ASSERT_TRUE(t.a.fm.controller_up);
	/* The server process hangs: its socket stays open, nothing moves. */
	fake_ns += 29000 * MS;
	round_once(NULL, tps, 1);
	CU_ASSERT_EQUAL(tp_ctrl_client_state(t.c), TP_CTRL_CLIENT_ESTABLISHED);
	fake_ns += 1000 * MS;
	round_once(NULL, tps, 1);
	CU_ASSERT_EQUAL(tp_ctrl_client_state(t.c), TP_CTRL_CLIENT_IDLE);
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_PTR_NOT_NULL(strstr(cs.last_error, "silent"));
	CU_ASSERT_EQUAL(cs.fails[TP_CTRL_CLIENT_FAIL_SILENT], 1);
	CU_ASSERT_FALSE(t.a.fm.controller_up);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

/* The controller dies with a push half sent; a new one on the same port
 * (same key, same version) gets it through after the reconnect. */
static void test_controller_restart_mid_push(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct want_ack w;
	uint16_t port;
	size_t n;
	uint8_t *b, *copy;

	fake_ns = 0;
	s = server_and_tp1(&t);
	port = tp_ctrl_server_port(s);
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, established, &t));
	b = bundle(3, 0, wall() + 3600, ctl_sk, &n);
	copy = malloc(n);
	memcpy(copy, b, n);
	/* Publish queues and starts sending; the client reads at most part
	 * of it before the server is gone. */
	publish(s, 3, b, n);
	tp_ctrl_server_free(s);
	CU_ASSERT_TRUE(pump(NULL, tps, 1, idle, &t));
	CU_ASSERT_FALSE(t.a.has_policy);
	s = server_start(port, ctl_seed);
	publish(s, 3, copy, n);
	fake_ns += 1000 * MS;
	w = (struct want_ack){s, 0, 3};
	CU_ASSERT_TRUE(pump(s, tps, 1, acked, &w));
	CU_ASSERT_EQUAL(t.a.info.version, 3);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

/* A restarted TP runs its LKG before any controller is reachable; an
 * expired LKG is refused under fail-closed and kept under fail-static. */
static void test_boot_on_lkg(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_apply a;
	struct want_ack w;
	bool found;
	size_t n;
	uint8_t *b;

	fake_ns = 0;
	s = server_and_tp1(&t);
	b = bundle(4, 0, wall() + 100, ctl_sk, &n);
	publish(s, 4, b, n);
	w = (struct want_ack){s, 0, 4};
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, acked, &w));
	tp_ctrl_server_free(s); /* the controller is gone for good */

	tp_ctrl_apply_init(&a, ctl_pk, t.dir, TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL, wall());
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_NO_POLICY);
	CU_ASSERT_EQUAL(tp_ctrl_apply_boot(&a, wall(), &found), TP_BUNDLE_OK);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(a.info.version, 4);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_ISLAND);
	CU_ASSERT_TRUE(tp_failmode_enforcing(&a.fm));
	CU_ASSERT_PTR_NOT_NULL(a.engine);
	tp_ctrl_apply_fini(&a);

	/* Restarted after expiry. */
	fake_ns += 200ull * 1000 * MS;
	tp_ctrl_apply_init(&a, ctl_pk, t.dir, TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL, wall());
	CU_ASSERT_EQUAL(tp_ctrl_apply_boot(&a, wall(), &found), TP_BUNDLE_EXPIRED);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_NO_POLICY);
	CU_ASSERT_FALSE(tp_failmode_enforcing(&a.fm));
	tp_ctrl_apply_fini(&a);
	tp_ctrl_apply_init(&a, ctl_pk, t.dir, TP_FAILMODE_EXPIRY_STATIC, true, NULL, NULL, wall());
	CU_ASSERT_EQUAL(tp_ctrl_apply_boot(&a, wall(), &found), TP_BUNDLE_OK);
	CU_ASSERT_EQUAL(a.info.version, 4);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_FAIL_STATIC);
	CU_ASSERT_TRUE(tp_failmode_enforcing(&a.fm));
	tp_ctrl_apply_fini(&a);

	/* A corrupted LKG is refused, never run. */
	{
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", t.dir, TP_LKG_FILE);
		f = fopen(path, "r+b");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fseek(f, 40, SEEK_SET);
		fputc(0x5a, f);
		fclose(f);
		fake_ns = 0;
		tp_ctrl_apply_init(&a, ctl_pk, t.dir, TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL,
				   wall());
		CU_ASSERT_NOT_EQUAL(tp_ctrl_apply_boot(&a, wall(), &found), TP_BUNDLE_OK);
		CU_ASSERT_FALSE(a.has_policy);
		CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_NO_POLICY);
		tp_ctrl_apply_fini(&a);
	}
	tp_stop(&t, true);
}

static int refuse_publish(void *arg, const struct tp_site *s, struct tp_engine *e)
{
	return -EIO;
}

static int take_publish(void *arg, const struct tp_site *s, struct tp_engine *e)
{
	*(struct tp_engine **)arg = e;
	return 0;
}

/* A bundle that passes every check but cannot be persisted, or that the
 * dataplane refuses, is nacked with its own reason and changes nothing; a
 * published engine belongs to the dataplane. */
static void test_apply_failures(void)
{
	struct tp_ctrl_apply a;
	struct tp_ctrl_apply_result res = {0};
	struct tp_engine *live = NULL;
	char dir[] = "/tmp/tpc-apply-XXXXXX", path[64];
	size_t n;
	uint8_t *b;

	fake_ns = 0;
	b = bundle(1, 0, wall() + 3600, ctl_sk, &n);
	tp_ctrl_apply_init(&a, ctl_pk, "/nonexistent-tpc/state", TP_FAILMODE_EXPIRY_CLOSED, true,
			   NULL, NULL, wall());
	CU_ASSERT_NOT_EQUAL(tp_ctrl_apply_bundle(&a, b, n, wall(), "controller", &res), 0);
	CU_ASSERT_EQUAL(res.reason, TABLEAU__V1__NACK_REASON__NACK_PERSIST_FAILED);
	CU_ASSERT_FALSE(a.has_policy);
	CU_ASSERT_EQUAL(a.fm.state, TP_FAILMODE_NO_POLICY);
	tp_ctrl_apply_fini(&a);

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	tp_ctrl_apply_init(&a, ctl_pk, dir, TP_FAILMODE_EXPIRY_CLOSED, true, NULL, NULL, wall());
	a.publish = refuse_publish;
	CU_ASSERT_NOT_EQUAL(tp_ctrl_apply_bundle(&a, b, n, wall(), "controller", &res), 0);
	CU_ASSERT_EQUAL(res.reason, TABLEAU__V1__NACK_REASON__NACK_APPLY_FAILED);
	CU_ASSERT_FALSE(a.has_policy);
	a.publish = take_publish;
	a.publish_arg = &live;
	CU_ASSERT_EQUAL(tp_ctrl_apply_bundle(&a, b, n, wall(), "file", &res), 0);
	CU_ASSERT_PTR_NOT_NULL(live);
	CU_ASSERT_PTR_NULL(a.engine);
	CU_ASSERT_EQUAL(a.info.version, 1);
	CU_ASSERT_STRING_EQUAL(a.source, "file");
	tp_engine_free(live);
	tp_ctrl_apply_fini(&a);
	snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FILE);
	unlink(path);
	rmdir(dir);
	free(b);
}

struct want_proofs {
	struct tp_ctrl_server *s;
	uint64_t verified, refused;
};

static bool proofs_done(void *arg)
{
	struct want_proofs *w = arg;
	struct tp_ctrl_server_stats st;

	tp_ctrl_server_stats(w->s, &st);
	return st.proofs_verified >= w->verified && st.proofs_refused >= w->refused;
}

/* Let ms pass in steps of a second, every session kept alive. */
static void pass_time(struct tp_ctrl_server *s, struct tp **tps, int n, uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 1000) {
		fake_ns += 1000 * MS;
		for (int i = 0; i < 20; i++)
			round_once(s, tps, n);
	}
}

/* Reconnect a client now (the backoff after a reset is 250 ms here). */
static void reconnect(struct tp *t)
{
	tp_ctrl_client_reset(t->c, "test: reconnect");
	fake_ns += 250 * MS;
}

/*
 * Issue 11, defect 1: a TP's reported version moves nothing. A rogue TP
 * says 2^64-2 and 2^64-1 and backs it with nothing, with a bundle of
 * another key, with a bundle the controller signed at 2^64-1 (never
 * valid), and with a real but older bundle: the proven version never
 * exceeds what the controller's key signed, and the honest TP keeps
 * taking every push. A TP that really runs a newer bundle (applied from
 * a file) proves it.
 */
static void test_version_claims(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, r = {0}, *tps[] = {&t, &r};
	struct tp_ctrl_apply_result res;
	struct want_proofs wp;
	struct want_ack w;
	uint8_t *b, *forged, *v3, *vmax;
	size_t n, forged_len, v3_len, vmax_len;

	fake_ns = 0;
	s = server_start(0, ctl_seed);
	b = bundle(5, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 5, b, n);
	tp_start(&t, tp_priv[0], ctl_pk, tp_ctrl_server_port(s));
	w = (struct want_ack){s, 0, 5};
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, acked, &w));

	/* 2^64-2, no proof. */
	r.lie = true;
	r.claim = UINT64_MAX - 1;
	tp_start(&r, tp_priv[1], ctl_pk, tp_ctrl_server_port(s));
	wp = (struct want_proofs){s, 0, 1};
	CU_ASSERT_TRUE(pump(s, tps, 2, proofs_done, &wp));
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 1)->running_version, UINT64_MAX - 1); /* its word */
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 1)->proven_version, 0);
	CU_ASSERT_EQUAL(tp_ctrl_server_proven_version(s), 0);

	/* 2^64-1, with a bundle of another key claiming 2^64-2. */
	forged = bundle(UINT64_MAX - 1, 0, wall() + 3600, other_sk, &forged_len);
	r.claim = UINT64_MAX;
	r.proof = forged;
	r.proof_len = forged_len;
	pass_time(s, tps, 2, TP_CTRL_SERVER_PROOF_HOLD_MS); /* after a refusal */
	reconnect(&r);
	wp.refused = 2;
	CU_ASSERT_TRUE(pump(s, tps, 2, proofs_done, &wp));
	CU_ASSERT_EQUAL(tp_ctrl_server_proven_version(s), 0);

	/* A bundle our key signed at 2^64-1: never a valid version. */
	vmax = bundle(UINT64_MAX, 0, wall() + 3600, ctl_sk, &vmax_len);
	r.proof = vmax;
	r.proof_len = vmax_len;
	pass_time(s, tps, 2, TP_CTRL_SERVER_PROOF_HOLD_MS); /* after a refusal */
	reconnect(&r);
	wp.refused = 3;
	CU_ASSERT_TRUE(pump(s, tps, 2, proofs_done, &wp));
	CU_ASSERT_EQUAL(tp_ctrl_server_proven_version(s), 0);

	/* A real, older bundle proves only its own version: the claim is
	 * refused. */
	v3 = bundle(3, 0, wall() + 3600, ctl_sk, &v3_len);
	r.proof = v3;
	r.proof_len = v3_len;
	pass_time(s, tps, 2, TP_CTRL_SERVER_PROOF_HOLD_MS); /* after a refusal */
	reconnect(&r);
	wp.refused = 4;
	CU_ASSERT_TRUE(pump(s, tps, 2, proofs_done, &wp));
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 1)->proven_version, 3);
	CU_ASSERT_EQUAL(tp_ctrl_server_proven_version(s), 3);
	CU_ASSERT_EQUAL(tp_ctrl_server_version(s), 5);

	/* The honest TP is unaffected: it takes the next push. */
	b = bundle(6, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 6, b, n);
	w.version = 6;
	CU_ASSERT_TRUE(pump(s, tps, 2, acked, &w));
	CU_ASSERT_EQUAL(t.a.info.version, 6);

	/* The honest TP applies version 9 from a file (air-gapped): its
	 * Status reports it, and its bundle proves it. */
	b = bundle(9, 0, wall() + 3600, ctl_sk, &n);
	CU_ASSERT_EQUAL(tp_ctrl_apply_bundle(&t.a, b, n, wall(), "file", &res), 0);
	free(b);
	tp_ctrl_client_send_status(t.c);
	wp.verified = 1;
	CU_ASSERT_TRUE(pump(s, tps, 2, proofs_done, &wp));
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->proven_version, 9);
	CU_ASSERT_EQUAL(tp_ctrl_server_proven_version(s), 9);
	/* Neither 0 nor 2^64-1 can be published. */
	CU_ASSERT_EQUAL(tp_ctrl_server_publish(s, UINT64_MAX, v3, v3_len), -ERANGE);
	CU_ASSERT_EQUAL(tp_ctrl_server_publish(s, 0, v3, v3_len), -ERANGE);
	CU_ASSERT_EQUAL(tp_ctrl_server_version(s), 6);
	free(forged);
	free(vmax);
	free(v3);
	tp_stop(&r, true);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

static bool proof_answered(void *arg)
{
	struct tp_ctrl_server_stats st;

	tp_ctrl_server_stats(arg, &st);
	return st.proofs_verified + st.proofs_refused >= 1;
}

/* The rogue's Status was read and every ProofRequest answered. */
static struct tp_ctrl_server *settle_srv;

static bool claim_settled(void *arg)
{
	const struct tp *r = arg;
	struct tp_ctrl_server_stats st;

	tp_ctrl_server_stats(settle_srv, &st);
	return tp_ctrl_server_tp(settle_srv, 1)->running_version == r->claim &&
	       st.proofs_verified + st.proofs_refused >= st.proofs_asked;
}

/*
 * A proof that does not prove the claim ends the asking for the session.
 * A rogue TP holding any genuine bundle (every TP of the site has one)
 * answers each ProofRequest with it and then claims one more: without
 * this, every claim costs the controller's single thread a signature
 * check and a full decode of up to 16 MiB, as often as the TP likes.
 * The genuine older bundle still proves its own version.
 */
static void test_proof_not_proving_claim(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, r = {0}, *tps[] = {&t, &r};
	struct tp_ctrl_server_stats st;
	struct want_ack w;
	uint8_t *b, *v3;
	size_t n, v3_len;

	fake_ns = 0;
	s = server_start(0, ctl_seed);
	b = bundle(5, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 5, b, n);
	tp_start(&t, tp_priv[0], ctl_pk, tp_ctrl_server_port(s));
	w = (struct want_ack){s, 0, 5};
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, acked, &w));

	settle_srv = s;
	v3 = bundle(3, 0, wall() + 3600, ctl_sk, &v3_len);
	r.lie = true;
	r.claim = 100;
	r.proof = v3;
	r.proof_len = v3_len;
	tp_start(&r, tp_priv[1], ctl_pk, tp_ctrl_server_port(s));
	CU_ASSERT_TRUE(pump(s, tps, 2, proof_answered, s));
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 1)->proven_version, 3);
	/* Claim after claim in the same session: no more ProofRequests. */
	for (int i = 0; i < 5; i++) {
		r.claim++;
		tp_ctrl_client_send_status(r.c);
		CU_ASSERT_TRUE(pump(s, tps, 2, claim_settled, &r));
	}
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_EQUAL(st.proofs_asked, 1);
	CU_ASSERT_EQUAL(st.proofs_verified, 0);
	CU_ASSERT_EQUAL(tp_ctrl_server_proven_version(s), 3);
	/* Nor across sessions: reconnecting at once with a new claim buys no
	 * new check until the hold has passed (injected clock). */
	for (int i = 0; i < 3; i++) {
		reconnect(&r);
		r.claim++;
		CU_ASSERT_TRUE(pump(s, tps, 2, claim_settled, &r));
	}
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_EQUAL(st.proofs_asked, 1);
	pass_time(s, tps, 2, TP_CTRL_SERVER_PROOF_HOLD_MS);
	reconnect(&r);
	r.claim++;
	CU_ASSERT_TRUE(pump(s, tps, 2, claim_settled, &r));
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_EQUAL(st.proofs_asked, 2);
	free(v3);
	tp_stop(&r, true);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

static void addr_key6(const char *a, uint8_t key[TP_CTRL_SERVER_ADDR_KEY_LEN])
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	s6->sin6_family = AF_INET6;
	CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	tp_ctrl_server_addr_key(&ss, key);
}

static void addr_key4(const char *a, uint8_t key[TP_CTRL_SERVER_ADDR_KEY_LEN])
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	s4->sin_family = AF_INET;
	CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	tp_ctrl_server_addr_key(&ss, key);
}

/*
 * The per-address cap is per host, and an IPv6 host has a /64: one that
 * picks a new source address in its /64 for every connection must still
 * be one "address", or the cap is void and its half-open sockets evict a
 * reconnecting TP's handshake. An IPv4 peer seen by a dual-stack listener
 * (::ffff:a.b.c.d) is keyed as that IPv4 address, not lumped with every
 * other IPv4 peer in ::ffff:0:0/96.
 */
static void test_addr_key(void)
{
	uint8_t a[TP_CTRL_SERVER_ADDR_KEY_LEN], b[TP_CTRL_SERVER_ADDR_KEY_LEN];

	addr_key6("2001:db8:1:2::1", a);
	addr_key6("2001:db8:1:2:dead:beef:1234:5678", b);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	addr_key6("2001:db8:1:3::1", b);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	addr_key6("::ffff:192.0.2.7", a);
	addr_key4("192.0.2.7", b);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	addr_key6("::ffff:192.0.2.8", b);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	addr_key4("192.0.2.8", a);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
}

/* A TCP connection from src (127.x.y.z) to the server, not waiting. */
static int attacker_connect(uint16_t port, uint32_t src)
{
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(src)};
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0)
		CU_ASSERT_EQUAL(errno, EINPROGRESS);
	return fd;
}

#define HALF_OPEN 320

/*
 * Issue 11, defect 4: hundreds of half-open connections from many
 * addresses (and from the TP's own), renewed while the TP reconnects, and
 * a replayed message 1 followed by a 16 MiB length: the replay is refused
 * from its 4 header bytes, and the TP gets through and takes its bundle.
 */
static void test_half_open_flood(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_server_stats st;
	struct tp_ctrl_noise hs;
	uint8_t ctl_x[32], m1[4 + TP_CTRL_NOISE_MSG1_OVERHEAD], hdr[4], m2[256];
	int fds[HALF_OPEN], replay;
	unsigned opened = 0;
	struct want_ack w;
	bool got = false;
	uint16_t port;
	ssize_t k;
	size_t n;
	uint8_t *b;

	fake_ns = 0;
	s = server_and_tp1(&t);
	port = tp_ctrl_server_port(s);
	b = bundle(1, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 1, b, n);
	w = (struct want_ack){s, 0, 1};
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, acked, &w));

	/* A message 1 of the TP, as captured on the wire, replayed: it
	 * earns a message 2, then announces a 16 MiB frame. */
	CU_ASSERT_FATAL(tp_ctrl_noise_pub_from_ed25519(ctl_x, ctl_pk));
	CU_ASSERT_FATAL(tp_ctrl_noise_init(&hs, true, tp_priv[0], ctl_x));
	CU_ASSERT_EQUAL_FATAL(tp_ctrl_noise_write1(&hs, NULL, NULL, 0, m1 + 4, sizeof(m1) - 4),
			      TP_CTRL_NOISE_MSG1_OVERHEAD);
	tp_ctrl_noise_wipe(&hs);
	tp_ctrl_frame_put_len(m1, TP_CTRL_NOISE_MSG1_OVERHEAD);
	replay = raw_connect(port);
	CU_ASSERT_EQUAL(write(replay, m1, sizeof(m1)), (ssize_t)sizeof(m1));
	for (int i = 0; i < 200 && !got; i++) {
		round_once(s, tps, 1);
		k = recv(replay, m2, sizeof(m2), MSG_DONTWAIT);
		got = k >= 4 + TP_CTRL_NOISE_MSG2_OVERHEAD;
	}
	CU_ASSERT_TRUE(got); /* message 2: the replay passed the handshake */
	tp_ctrl_frame_put_len(hdr, TP_BUNDLE_MAX_BYTES);
	CU_ASSERT_EQUAL(write(replay, hdr, 4), 4);

	/* Hundreds of half-open connections, in batches the listen backlog
	 * holds: the first 32 from the TP's own address (127.0.0.1), the
	 * others from 40 addresses. */
	for (unsigned i = 0; i < HALF_OPEN; i += 32) {
		void *acc[2] = {s, (void *)(uintptr_t)(i + 32 + 2)};

		for (unsigned j = i; j < i + 32; j++)
			fds[j] = attacker_connect(port,
						  i ? 0x7f000001 + (j % 40) * 256 : 0x7f000001);
		CU_ASSERT_TRUE(pump(s, tps, 1, accepted_at_least, acc));
	}
	opened = HALF_OPEN;
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_EQUAL(st.closes[TP_CTRL_SERVER_CLOSE_OVERSIZE], 1);
	CU_ASSERT_TRUE(closed_by_peer(replay));

	/* The TP reconnects while the flood is renewed: every connection
	 * the server closes is opened again at once, so HALF_OPEN stay open
	 * or queued at all times. */
	reconnect(&t);
	b = bundle(2, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 2, b, n);
	w.version = 2;
	for (int i = 0; i < 3000 && !acked(&w); i++) {
		for (unsigned j = 0; j < HALF_OPEN; j++) {
			if (!closed_by_peer(fds[j]))
				continue;
			close(fds[j]);
			fds[j] = attacker_connect(port, 0x7f000001 + (opened % 40) * 256);
			opened++;
		}
		round_once(s, tps, 1);
	}
	CU_ASSERT_TRUE(acked(&w));
	CU_ASSERT_EQUAL(t.a.info.version, 2);
	CU_ASSERT_TRUE(tp_ctrl_server_tp(s, 0)->connected);
	/* Never more than the unauthenticated cap plus the live sessions. */
	CU_ASSERT_TRUE(tp_ctrl_server_n_conns(s) <= 64 + 3);
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_TRUE(st.closes[TP_CTRL_SERVER_CLOSE_EVICTED] > 0);
	CU_ASSERT_TRUE(st.closes[TP_CTRL_SERVER_CLOSE_PER_ADDRESS] > 0);
	CU_ASSERT_EQUAL(st.closes[TP_CTRL_SERVER_CLOSE_FULL], 0);
	for (unsigned i = 0; i < HALF_OPEN; i++)
		close(fds[i]);
	close(replay);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

struct want_rekeys {
	struct tp *t;
	struct tp_ctrl_server *s;
	uint64_t client_sent, server_sent;
};

static bool rekeyed(void *arg)
{
	struct want_rekeys *w = arg;
	struct tp_ctrl_client_stats cs;
	struct tp_ctrl_server_stats st;

	tp_ctrl_client_stats(w->t->c, &cs);
	tp_ctrl_server_stats(w->s, &st);
	return cs.rekeys_sent >= w->client_sent && st.rekeys_received >= w->client_sent &&
	       st.rekeys_sent >= w->server_sent && cs.rekeys_received >= w->server_sent;
}

/*
 * Issue 11, defect 5: both sides replace their sending keys after a number
 * of frames and after a time, in step (every push still acked); the TP
 * handshakes again after the maximum lifetime; a TP that does not (older
 * software, simulated by a longer client lifetime) is closed by the
 * server. All on the injected clock.
 */
static void test_rekey_and_lifetime(void)
{
	struct tp_ctrl_server *s;
	struct tp t = {0}, *tps[] = {&t};
	struct tp_ctrl_client_stats cs;
	struct tp_ctrl_server_stats st;
	struct want_rekeys wr;
	struct want_ack w;
	uint64_t start;
	size_t n;
	uint8_t *b;

	fake_ns = 0;
	server_over.rekey_frames = client_over.rekey_frames = 3;
	server_over.rekey_ms = client_over.rekey_ms = 3600000;
	s = server_and_tp1(&t);
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, established, &t));
	/* By frames: each push is a push, an ack and a status. */
	w = (struct want_ack){s, 0, 0};
	for (uint64_t v = 1; v <= 4; v++) {
		b = bundle(v, 0, wall() + 3600, ctl_sk, &n);
		publish(s, v, b, n);
		w.version = v;
		CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, acked, &w));
	}
	wr = (struct want_rekeys){&t, s, 1, 1};
	CU_ASSERT_TRUE(pump(s, tps, 1, rekeyed, &wr));
	CU_ASSERT_EQUAL(t.a.info.version, 4);
	tp_stop(&t, true);
	tp_ctrl_server_free(s);

	/* By time: 20 s, with only pings sent (far fewer frames than the
	 * default limit). */
	memset(&server_over, 0, sizeof(server_over));
	memset(&client_over, 0, sizeof(client_over));
	server_over.rekey_ms = client_over.rekey_ms = 20000;
	server_over.max_session_ms = client_over.max_session_ms = 120000;
	s = server_and_tp1(&t);
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, established, &t));
	wr = (struct want_rekeys){&t, s, 1, 1};
	start = fake_ns;
	while (fake_ns - start < 19000 * MS) {
		fake_ns += 1000 * MS;
		round_once(s, tps, 1);
	}
	CU_ASSERT_FALSE(rekeyed(&wr));
	while (fake_ns - start < 21000 * MS) {
		fake_ns += 1000 * MS;
		round_once(s, tps, 1);
	}
	CU_ASSERT_TRUE(pump(s, tps, 1, rekeyed, &wr));
	b = bundle(5, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 5, b, n);
	w = (struct want_ack){s, 0, 5};
	CU_ASSERT_TRUE(pump(s, tps, 1, acked, &w));
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_EQUAL(cs.sessions, 1);
	CU_ASSERT_EQUAL(cs.fails[TP_CTRL_CLIENT_FAIL_BAD_FRAME], 0);

	/* The maximum lifetime: a new handshake, not a failure, and the
	 * policy state never leaves enforcing. */
	downs = 0;
	start = fake_ns;
	while (fake_ns - start < 100000 * MS) {
		fake_ns += 1000 * MS;
		round_once(s, tps, 1);
	}
	CU_ASSERT_TRUE(pump(s, tps, 1, established, &t));
	tp_ctrl_client_stats(t.c, &cs);
	CU_ASSERT_EQUAL(cs.rehandshakes, 1);
	CU_ASSERT_EQUAL(cs.sessions, 2);
	CU_ASSERT_EQUAL(cs.failures, 0);
	CU_ASSERT_EQUAL(downs, 0);
	CU_ASSERT_EQUAL(t.a.fm.state, TP_FAILMODE_ENFORCING);
	CU_ASSERT_TRUE(pump(s, tps, 1, server_sees_up, s));
	CU_ASSERT_EQUAL(tp_ctrl_server_tp(s, 0)->sessions, 2);
	b = bundle(6, 0, wall() + 3600, ctl_sk, &n);
	publish(s, 6, b, n);
	w.version = 6;
	CU_ASSERT_TRUE(pump(s, tps, 1, acked, &w));
	tp_stop(&t, false);

	/* A TP that never handshakes again is closed by the server after
	 * the lifetime plus the handshake timeout. */
	client_over.max_session_ms = 1000000;
	tp_start(&t, tp_priv[0], ctl_pk, tp_ctrl_server_port(s));
	CU_ASSERT_TRUE_FATAL(pump(s, tps, 1, established, &t));
	CU_ASSERT_TRUE(pump(s, tps, 1, server_sees_up, s));
	start = fake_ns;
	while (fake_ns - start < 126000 * MS) {
		fake_ns += 1000 * MS;
		round_once(s, tps, 1);
	}
	tp_ctrl_server_stats(s, &st);
	CU_ASSERT_EQUAL(st.closes[TP_CTRL_SERVER_CLOSE_LIFETIME], 1);
	memset(&server_over, 0, sizeof(server_over));
	memset(&client_over, 0, sizeof(client_over));
	tp_stop(&t, true);
	tp_ctrl_server_free(s);
}

static int setup(void)
{
	randombytes_buf(ctl_seed, 32);
	crypto_sign_seed_keypair(ctl_pk, ctl_sk, ctl_seed);
	randombytes_buf(other_seed, 32);
	crypto_sign_seed_keypair(other_pk, other_sk, other_seed);
	for (int i = 0; i < 3; i++) {
		randombytes_buf(tp_priv[i], 32);
		tp_crypto_clamp(tp_priv[i]);
		tp_crypto_pubkey(tp_pub[i], tp_priv[i]);
	}
	randombytes_buf(stranger_priv, 32);
	tp_crypto_clamp(stranger_priv);
	site = tl_example_site(examples_dir, "lab-plant.yaml");
	if (!site || site->n_tps < 3)
		return 1;
	for (int i = 0; i < 3; i++)
		memcpy(site->tps[i].pubkey, tp_pub[i], 32);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct tl_test tests[] = {
		{"push, apply, ack, persist", test_push_ack},
		{"export request answered with the TP's bytes", test_export_request},
		{"refusals nacked, policy unchanged", test_refusals},
		{"wrong controller key, unknown TP", test_wrong_keys},
		{"hostile peers cost only themselves", test_hostile_peers},
		{"client survives a broken controller", test_broken_controller},
		{"backoff schedule on the clock", test_backoff_schedule},
		{"silent controller detected", test_silent_controller},
		{"controller restarted mid-push", test_controller_restart_mid_push},
		{"boot on the last-known-good", test_boot_on_lkg},
		{"persist and publish failures nacked", test_apply_failures},
		{"reported versions move nothing without proof", test_version_claims},
		{"a proof that does not prove the claim ends the asking",
		 test_proof_not_proving_claim},
		{"per-address key: an IPv6 /64 is one address", test_addr_key},
		{"half-open flood and a replayed message 1", test_half_open_flood},
		{"rekey and session lifetime on the clock", test_rekey_and_lifetime},
	};
	int fails;

	examples_dir = argc > 1 ? argv[1] : "deploy/examples";
	if (tp_crypto_init() != 0 || setup() != 0)
		return 1;
	fails = tl_cunit_run("ctrl_session", tests, TL_N_TESTS(tests));
	tp_site_free(site);
	return fails ? 1 : 0;
}
