// SPDX-License-Identifier: MIT
/*
 * Controller side of the channel (tp/ctrl_server.h).
 *
 * State: the listening socket; conns[0..n_conns) (each with its phase,
 * deadlines and, once identified, the index of its TP); tps[0..n_tps) with
 * up[i] the UP connection of TP i or NULL; the current bundle. Connections
 * are only removed between service rounds (reap()), so the pollfd array
 * built by tp_ctrl_server_pollfds() stays aligned with conns[] while a
 * round runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp/crypto.h"
#include "tp/ctrl_conn.h"
#include "tp/ctrl_msg.h"
#include "tp/ctrl_server.h"

#define MS	     1000000ull
#define ACCEPT_BURST 16

enum phase { AWAIT_1, AWAIT_HELLO, UP };

struct sconn {
	struct tp_ctrl_conn conn;
	enum phase phase;
	struct tp_ctrl_noise hs;
	int tp; /* index in tps, -1 until message 1 named a known key */
	uint8_t peer_key[32];
	uint64_t deadline_ns, last_rx_ns, last_tx_ns;
	uint64_t pushed_version;
	uint64_t ping_id;
	char addr[64];
	bool dead;
};

struct tp_ctrl_server {
	struct tp_ctrl_server_config cfg;
	int lfd;
	uint16_t port;
	struct sconn **conns;
	unsigned n_conns;
	struct tp_ctrl_server_tp *tps;
	struct sconn **up;
	size_t n_tps;
	uint8_t *bundle;
	size_t bundle_len;
	uint64_t version;
	uint64_t export_id;
	struct tp_ctrl_server_stats stats;
	uint8_t refused_key[32]; /* last unknown key logged, and when */
	uint64_t refused_logged_ns;
};

static uint64_t now_ns(const struct tp_ctrl_server *s)
{
	return tp_clock_now(&s->cfg.clock);
}

static void say(struct tp_ctrl_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct tp_ctrl_server *s, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (!s->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.log_arg, msg);
}

static const char *tp_name(const struct tp_ctrl_server *s, const struct sconn *c)
{
	return c->tp >= 0 ? s->tps[c->tp].name : c->addr;
}

/* Mark a connection for removal at the end of the round; an UP one stops
 * being its TP's connection at once. */
const char *tp_ctrl_server_close_name(enum tp_ctrl_server_close r)
{
	static const char *const names[] = {
#define X(n, s) s,
		TP_CTRL_SERVER_CLOSES(X)
#undef X
	};

	return r < TP_CTRL_SERVER_CLOSE__COUNT ? names[r] : "?";
}

static void drop_conn(struct tp_ctrl_server *s, struct sconn *c, enum tp_ctrl_server_close r,
		      const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	s->stats.closes[r]++;
	if (c->tp >= 0 && s->up[c->tp] == c) {
		s->up[c->tp] = NULL;
		s->tps[c->tp].connected = false;
		s->tps[c->tp].since_ns = now_ns(s);
		say(s, "TP %s (%s) disconnected: %s", s->tps[c->tp].name, c->addr, why);
	}
}

static void send_env(struct tp_ctrl_server *s, struct sconn *c, const Tableau__V1__Envelope *e)
{
	int rc = tp_ctrl_conn_send(&c->conn, e);

	if (rc == -ENOBUFS) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_SLOW_PEER, "too slow: output backlog full");
		return;
	}
	if (rc < 0) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_IO_ERROR, strerror(-rc));
		return;
	}
	c->last_tx_ns = now_ns(s);
}

static void push_to(struct tp_ctrl_server *s, struct sconn *c)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__PolicyPush p = TABLEAU__V1__POLICY_PUSH__INIT;

	if (!s->bundle || c->phase != UP || c->dead || c->pushed_version >= s->version ||
	    s->tps[c->tp].running_version >= s->version)
		return;
	p.signed_bundle.data = s->bundle;
	p.signed_bundle.len = s->bundle_len;
	p.version = s->version;
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_PUSH;
	env.push = &p;
	c->pushed_version = s->version;
	s->stats.pushes++;
	send_env(s, c, &env);
	if (!c->dead)
		say(s, "TP %s: pushed version %llu (%zu bytes)", tp_name(s, c),
		    (unsigned long long)s->version, s->bundle_len);
}

static int find_tp(const struct tp_ctrl_server *s, const uint8_t key[32])
{
	for (size_t i = 0; i < s->n_tps; i++)
		if (tp_crypto_equal(s->tps[i].pubkey, key, 32))
			return (int)i;
	return -1;
}

static void on_msg1(struct tp_ctrl_server *s, struct sconn *c, const uint8_t *f, size_t len)
{
	struct tp_ctrl_noise_keys keys;
	uint8_t payload[TP_CTRL_NOISE_PAYLOAD_MAX], msg2[TP_CTRL_NOISE_MSG2_OVERHEAD];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	int rc;

	if (!tp_ctrl_noise_init(&c->hs, false, s->cfg.static_priv, NULL) ||
	    tp_ctrl_noise_read1(&c->hs, f, len, payload, sizeof(payload)) < 0) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_BAD_HANDSHAKE, "bad handshake");
		return;
	}
	memcpy(c->peer_key, c->hs.rs, 32);
	c->tp = find_tp(s, c->peer_key);
	if (c->tp < 0) {
		/* A misconfigured TP retries for ever: one line per key a
		 * minute is enough (the counter has every refusal). */
		if (!tp_crypto_equal(s->refused_key, c->peer_key, 32) ||
		    now_ns(s) - s->refused_logged_ns >= 60000 * MS) {
			memcpy(s->refused_key, c->peer_key, 32);
			s->refused_logged_ns = now_ns(s);
			sodium_bin2base64(b64, sizeof(b64), c->peer_key, 32,
					  sodium_base64_VARIANT_ORIGINAL);
			say(s, "refused %s: key %s is not a transition point of the site", c->addr,
			    b64);
		}
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_UNKNOWN_KEY, "unknown key");
		return;
	}
	rc = tp_ctrl_noise_write2(&c->hs, NULL, NULL, 0, msg2, sizeof(msg2), &keys);
	tp_ctrl_noise_wipe(&c->hs);
	if (rc < 0 || tp_ctrl_conn_send_raw(&c->conn, msg2, (size_t)rc) < 0) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_IO_ERROR, "cannot answer the handshake");
		goto out;
	}
	tp_ctrl_conn_set_keys(&c->conn, &keys, TP_CTRL_FRAME_MAX);
	c->phase = AWAIT_HELLO;
out:
	tp_crypto_wipe(&keys, sizeof(keys));
}

static void on_hello(struct tp_ctrl_server *s, struct sconn *c, const Tableau__V1__Hello *h)
{
	struct tp_ctrl_server_tp *tp = &s->tps[c->tp];

	if (!tp_crypto_equal(h->public_key.data, c->peer_key, 32)) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_PROTOCOL,
			  "Hello names another key than the handshake");
		return;
	}
	if (s->up[c->tp])
		drop_conn(s, s->up[c->tp], TP_CTRL_SERVER_CLOSE_REPLACED,
			  "replaced by a newer session");
	c->phase = UP;
	s->up[c->tp] = c;
	tp->connected = true;
	tp->since_ns = now_ns(s);
	tp->sessions++;
	tp->running_version = h->policy_version;
	snprintf(tp->peer_addr, sizeof(tp->peer_addr), "%s", c->addr);
	snprintf(tp->software_version, sizeof(tp->software_version), "%s",
		 h->software_version ? h->software_version : "");
	if (h->tp_name && strcmp(h->tp_name, tp->name) != 0)
		say(s, "TP %s calls itself '%s' (the site's name is used)", tp->name, h->tp_name);
	say(s, "TP %s connected from %s (software %s, policy version %llu)", tp->name, c->addr,
	    tp->software_version, (unsigned long long)tp->running_version);
	push_to(s, c);
}

static void on_msg(struct tp_ctrl_server *s, struct sconn *c, const Tableau__V1__Envelope *e)
{
	Tableau__V1__Envelope out = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Pong pong = TABLEAU__V1__PONG__INIT;
	struct tp_ctrl_server_tp *tp = &s->tps[c->tp];

	if (c->phase == AWAIT_HELLO) {
		if (e->msg_case != TABLEAU__V1__ENVELOPE__MSG_HELLO)
			drop_conn(s, c, TP_CTRL_SERVER_CLOSE_PROTOCOL,
				  "first message is not a Hello");
		else
			on_hello(s, c, e->hello);
		return;
	}
	switch (e->msg_case) {
	case TABLEAU__V1__ENVELOPE__MSG_ACK:
		tp->acked_version = e->ack->version;
		if (e->ack->version > tp->running_version)
			tp->running_version = e->ack->version;
		say(s, "TP %s: acked version %llu", tp->name, (unsigned long long)e->ack->version);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_NACK:
		tp->nacked_version = e->nack->version;
		tp->nack_reason = e->nack->reason;
		snprintf(tp->nack_text, sizeof(tp->nack_text), "%s",
			 e->nack->text ? e->nack->text : "");
		say(s, "TP %s: refused version %llu: %s", tp->name,
		    (unsigned long long)e->nack->version, tp->nack_text);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_STATUS:
		tp->running_version = e->status->policy_version;
		tp->policy_state = e->status->policy_state;
		tp->policy_expires_at = e->status->policy_expires_at;
		tp->peers = (uint32_t)e->status->n_peers;
		tp->peers_up = 0;
		for (size_t i = 0; i < e->status->n_peers; i++)
			tp->peers_up += e->status->peers[i]->up;
		tp->n_counters = 0;
		for (size_t i = 0;
		     i < e->status->n_counters && tp->n_counters < TP_CTRL_SERVER_COUNTERS_MAX;
		     i++) {
			snprintf(tp->counters[tp->n_counters].name, sizeof(tp->counters[0].name),
				 "%s",
				 e->status->counters[i]->name ? e->status->counters[i]->name : "");
			tp->counters[tp->n_counters++].value = e->status->counters[i]->value;
		}
		/* A TP that restarted on an older LKG in the same session
		 * cannot happen; one that fell back still gets the bundle. */
		push_to(s, c);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_PING:
		pong.id = e->ping->id;
		out.msg_case = TABLEAU__V1__ENVELOPE__MSG_PONG;
		out.pong = &pong;
		send_env(s, c, &out);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_EXPORT_RESPONSE: {
		const Tableau__V1__ExportResponse *x = e->export_response;
		bool failed = x->error && x->error[0];

		say(s, "TP %s: export %llu: %s (%zu bytes)", tp->name, (unsigned long long)x->id,
		    failed ? x->error : "received", x->data.len);
		if (s->cfg.on_export)
			s->cfg.on_export(s->cfg.export_arg, tp->name, failed ? NULL : x->data.data,
					 failed ? 0 : x->data.len, failed ? x->error : NULL);
		break;
	}
	case TABLEAU__V1__ENVELOPE__MSG_HELLO:
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_PROTOCOL, "second Hello");
		break;
	default:
		break; /* Pong, or unknown to this version */
	}
}

static void on_readable(struct tp_ctrl_server *s, struct sconn *c)
{
	struct tp_ctrl_msg *m;
	uint64_t bytes = c->conn.rx_bytes;
	uint8_t *f;
	size_t len;
	int rc;

	tp_ctrl_conn_begin(&c->conn);
	while (!c->dead) {
		rc = tp_ctrl_conn_recv(&c->conn, &f, &len);
		if (rc == 0) {
			/* Bytes of a frame still arriving keep an authenticated
			 * peer alive; before that only the handshake deadline
			 * counts. */
			if (c->conn.rx_bytes != bytes)
				c->last_rx_ns = now_ns(s);
			break;
		}
		if (rc < 0) {
			if (rc == -ECONNRESET)
				drop_conn(s, c, TP_CTRL_SERVER_CLOSE_PEER_CLOSED,
					  "connection closed");
			else if (rc == -EMSGSIZE)
				drop_conn(s, c, TP_CTRL_SERVER_CLOSE_OVERSIZE, "oversize frame");
			else if (rc == -EBADMSG || rc == -EOVERFLOW)
				drop_conn(s, c, TP_CTRL_SERVER_CLOSE_BAD_FRAME, "bad frame");
			else
				drop_conn(s, c, TP_CTRL_SERVER_CLOSE_IO_ERROR, strerror(-rc));
			return;
		}
		c->last_rx_ns = now_ns(s);
		if (c->phase == AWAIT_1) {
			on_msg1(s, c, f, len);
			continue;
		}
		m = tp_ctrl_msg_decode(f, len);
		if (!m) {
			drop_conn(s, c, TP_CTRL_SERVER_CLOSE_UNDECODABLE, "undecodable message");
			return;
		}
		on_msg(s, c, m->env);
		tp_ctrl_msg_free(m);
	}
}

static void flush(struct tp_ctrl_server *s, struct sconn *c)
{
	int rc;

	if (c->dead)
		return;
	rc = tp_ctrl_conn_flush(&c->conn);
	if (rc < 0)
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_IO_ERROR, strerror(-rc));
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

static void accept_some(struct tp_ctrl_server *s)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sconn *c;
		int one = 1;
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (s->n_conns >= s->cfg.max_conns || !(c = calloc(1, sizeof(*c)))) {
			/* Accept and close rather than leave the backlog full. */
			s->stats.closes[TP_CTRL_SERVER_CLOSE_FULL]++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		tp_ctrl_conn_init(&c->conn, fd, TP_CTRL_FRAME_PREAUTH_MAX,
				  2 * (size_t)TP_CTRL_FRAME_MAX);
		c->phase = AWAIT_1;
		c->tp = -1;
		c->deadline_ns = now_ns(s) + s->cfg.handshake_timeout_ms * MS;
		c->last_rx_ns = c->last_tx_ns = now_ns(s);
		format_addr(&ss, c->addr, sizeof(c->addr));
		s->conns[s->n_conns++] = c;
		s->stats.accepted++;
	}
}

static void free_conn(struct sconn *c)
{
	tp_ctrl_conn_close(&c->conn);
	tp_ctrl_noise_wipe(&c->hs);
	free(c);
}

/* Remove dead connections, keeping the order of the others. */
static void reap(struct tp_ctrl_server *s)
{
	unsigned i, j = 0;

	for (i = 0; i < s->n_conns; i++) {
		if (s->conns[i]->dead)
			free_conn(s->conns[i]);
		else
			s->conns[j++] = s->conns[i];
	}
	s->n_conns = j;
}

unsigned tp_ctrl_server_pollfds(struct tp_ctrl_server *s, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;

	if (!max)
		return 0;
	pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
	for (unsigned i = 0; i < s->n_conns && n < max; i++) {
		struct sconn *c = s->conns[i];

		pfd[n++] = (struct pollfd){
			.fd = c->conn.fd,
			.events = (short)(POLLIN | (tp_ctrl_conn_pending(&c->conn) ? POLLOUT : 0))};
	}
	return n;
}

void tp_ctrl_server_service(struct tp_ctrl_server *s, const struct pollfd *pfd, unsigned n)
{
	unsigned i;

	for (i = 1; i < n && i - 1 < s->n_conns; i++) {
		struct sconn *c = s->conns[i - 1];

		if (pfd[i].fd != c->conn.fd)
			continue;
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			on_readable(s, c);
		flush(s, c);
	}
	/* Pushes queued to connections that were not in this round. */
	for (i = 0; i < s->n_conns; i++)
		if (tp_ctrl_conn_pending(&s->conns[i]->conn))
			flush(s, s->conns[i]);
	reap(s);
	if (n && (pfd[0].revents & POLLIN))
		accept_some(s);
}

int tp_ctrl_server_tick(struct tp_ctrl_server *s)
{
	uint64_t now = now_ns(s), next = now + 1000 * MS;
	unsigned i;

	for (i = 0; i < s->n_conns; i++) {
		struct sconn *c = s->conns[i];
		uint64_t t;

		if (c->phase != UP) {
			if (now >= c->deadline_ns) {
				drop_conn(s, c, TP_CTRL_SERVER_CLOSE_HANDSHAKE_TIMEOUT,
					  "handshake timed out");
			} else if (c->deadline_ns < next) {
				next = c->deadline_ns;
			}
			continue;
		}
		if (now - c->last_rx_ns >= s->cfg.dead_ms * MS) {
			drop_conn(s, c, TP_CTRL_SERVER_CLOSE_SILENT, "silent: presumed dead");
			continue;
		}
		if (now - c->last_tx_ns >= s->cfg.keepalive_ms * MS) {
			Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
			Tableau__V1__Ping ping = TABLEAU__V1__PING__INIT;

			ping.id = ++c->ping_id;
			env.msg_case = TABLEAU__V1__ENVELOPE__MSG_PING;
			env.ping = &ping;
			send_env(s, c, &env);
			flush(s, c);
		}
		t = c->last_rx_ns + s->cfg.dead_ms * MS;
		if (t < next)
			next = t;
		t = c->last_tx_ns + s->cfg.keepalive_ms * MS;
		if (t < next)
			next = t;
	}
	reap(s);
	return next <= now ? 0 : (int)((next - now + MS - 1) / MS);
}

int tp_ctrl_server_set_tps(struct tp_ctrl_server *s, const struct tp_ctrl_server_tp_spec *spec,
			   size_t n)
{
	struct tp_ctrl_server_tp *tps = calloc(n ? n : 1, sizeof(*tps));
	struct sconn **up = calloc(n ? n : 1, sizeof(*up));
	unsigned i;

	if (!tps || !up) {
		free(tps);
		free(up);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		int old = find_tp(s, spec[i].pubkey);

		if (old >= 0) {
			tps[i] = s->tps[old];
			up[i] = s->up[old];
		}
		snprintf(tps[i].name, sizeof(tps[i].name), "%s", spec[i].name);
		memcpy(tps[i].pubkey, spec[i].pubkey, 32);
	}
	/* Re-point every connection at its TP's new index. */
	for (i = 0; i < s->n_conns; i++) {
		struct sconn *c = s->conns[i];
		int was = c->tp;

		if (was < 0)
			continue;
		c->tp = -1;
		for (size_t j = 0; j < n; j++)
			if (tp_crypto_equal(spec[j].pubkey, c->peer_key, 32))
				c->tp = (int)j;
		if (c->tp < 0 && !c->dead) {
			c->dead = true;
			s->stats.closes[TP_CTRL_SERVER_CLOSE_REMOVED]++;
			say(s, "TP %s (%s) disconnected: no longer in the site", s->tps[was].name,
			    c->addr);
		}
	}
	free(s->tps);
	free(s->up);
	s->tps = tps;
	s->up = up;
	s->n_tps = n;
	reap(s);
	return 0;
}

int tp_ctrl_server_publish(struct tp_ctrl_server *s, uint64_t version, const uint8_t *bundle,
			   size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, bundle, len);
	free(s->bundle);
	s->bundle = copy;
	s->bundle_len = len;
	s->version = version;
	for (unsigned i = 0; i < s->n_conns; i++)
		push_to(s, s->conns[i]);
	return 0;
}

void tp_ctrl_server_request_export(struct tp_ctrl_server *s)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__ExportRequest x = TABLEAU__V1__EXPORT_REQUEST__INIT;

	x.id = ++s->export_id;
	x.format = "tableau-export-v1";
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_EXPORT_REQUEST;
	env.export_request = &x;
	for (unsigned i = 0; i < s->n_conns; i++)
		if (s->conns[i]->phase == UP && !s->conns[i]->dead)
			send_env(s, s->conns[i], &env);
}

uint64_t tp_ctrl_server_version(const struct tp_ctrl_server *s)
{
	return s->version;
}

size_t tp_ctrl_server_n_tps(const struct tp_ctrl_server *s)
{
	return s->n_tps;
}

const struct tp_ctrl_server_tp *tp_ctrl_server_tp(const struct tp_ctrl_server *s, size_t i)
{
	return i < s->n_tps ? &s->tps[i] : NULL;
}

void tp_ctrl_server_stats(const struct tp_ctrl_server *s, struct tp_ctrl_server_stats *st)
{
	*st = s->stats;
}

unsigned tp_ctrl_server_n_conns(const struct tp_ctrl_server *s)
{
	return s->n_conns;
}

uint16_t tp_ctrl_server_port(const struct tp_ctrl_server *s)
{
	return s->port;
}

struct tp_ctrl_server *tp_ctrl_server_new(const struct tp_ctrl_server_config *cfg, char *err,
					  size_t errlen)
{
	struct tp_ctrl_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned len;
	int one = 1;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->lfd = -1;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = 256;
	if (!s->cfg.handshake_timeout_ms)
		s->cfg.handshake_timeout_ms = 5000;
	if (!s->cfg.dead_ms)
		s->cfg.dead_ms = 30000;
	if (!s->cfg.keepalive_ms)
		s->cfg.keepalive_ms = 10000;
	if (!s->cfg.clock.now_ns) {
		snprintf(err, errlen, "no clock");
		goto fail;
	}
	if (tp_ctrl_conn_parse_address(cfg->listen, &ss, &len) != 0) {
		snprintf(err, errlen, "bad listen address '%s': IPv4:port or [IPv6]:port",
			 cfg->listen);
		goto fail;
	}
	s->conns = calloc(s->cfg.max_conns, sizeof(*s->conns));
	if (!s->conns) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s->lfd, (struct sockaddr *)&ss, len) != 0 || listen(s->lfd, 128) != 0) {
		snprintf(err, errlen, "listen on %s: %s", cfg->listen, strerror(errno));
		goto fail;
	}
	sl = sizeof(ss);
	if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) == 0)
		s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return s;
fail:
	tp_ctrl_server_free(s);
	return NULL;
}

void tp_ctrl_server_free(struct tp_ctrl_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_conns; i++)
		free_conn(s->conns[i]);
	if (s->lfd >= 0)
		close(s->lfd);
	free(s->conns);
	free(s->tps);
	free(s->up);
	free(s->bundle);
	tp_crypto_wipe(s->cfg.static_priv, sizeof(s->cfg.static_priv));
	free(s);
}
