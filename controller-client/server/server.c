// SPDX-License-Identifier: MIT
/*
 * Controller side of the channel (tp/ctrl/server.h).
 *
 * State: the listening socket; conns[0..n_conns) in accept order (each
 * with its phase, deadlines, source address, the Feature bits its message
 * 1 announced, an outstanding ProofRequest and, once identified, the index
 * of its TP); tps[0..n_tps) with
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

#include "tp/policy/bundle.h"
#include "tp/base/crypto.h"
#include "tp/ctrl/conn.h"
#include "tp/ctrl/msg.h"
#include "tp/ctrl/server.h"

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
	uint64_t up_since_ns;
	uint64_t features;    /* tableau.v1 Feature bits of the TP's message 1 */
	uint64_t proof_asked; /* the claim last asked to prove (0: none) */
	bool proof_pending;   /* a ProofRequest is unanswered */
	bool proof_refused;   /* a proof failed: not asked again this session */
	char addr[64];
	uint8_t ip[TP_CTRL_SERVER_ADDR_KEY_LEN]; /* the per-address cap's key: a host */
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

/* Replace the sending key of an UP session when it is due and the TP can
 * follow. */
static void maybe_rekey(struct tp_ctrl_server *s, struct sconn *c)
{
	int rc;

	if (c->phase != UP || c->dead || !(c->features & TABLEAU__V1__FEATURE__FEATURE_REKEY) ||
	    !tp_ctrl_conn_rekey_due(&c->conn, now_ns(s), s->cfg.rekey_ms * MS, s->cfg.rekey_frames))
		return;
	rc = tp_ctrl_conn_rekey_send(&c->conn, now_ns(s));
	if (rc == -ENOBUFS)
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_SLOW_PEER, "too slow: output backlog full");
	else if (rc < 0)
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_IO_ERROR, strerror(-rc));
	else
		s->stats.rekeys_sent++;
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
	maybe_rekey(s, c);
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
	uint8_t payload[TP_CTRL_NOISE_PAYLOAD_MAX];
	uint8_t msg2[TP_CTRL_NOISE_MSG2_OVERHEAD + TP_CTRL_NOISE_PAYLOAD_MAX];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	size_t plen;
	int rc;

	if (!tp_ctrl_noise_init(&c->hs, false, s->cfg.static_priv, NULL) ||
	    (rc = tp_ctrl_noise_read1(&c->hs, f, len, payload, sizeof(payload))) < 0) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_BAD_HANDSHAKE, "bad handshake");
		return;
	}
	c->features = tp_ctrl_msg_features(rc ? payload : NULL, (size_t)rc);
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
	plen = tp_ctrl_msg_pack_features(TABLEAU__V1__FEATURE__FEATURE_REKEY, payload,
					 sizeof(payload));
	rc = tp_ctrl_noise_write2(&c->hs, NULL, payload, plen, msg2, sizeof(msg2), &keys);
	tp_ctrl_noise_wipe(&c->hs);
	if (rc < 0 || tp_ctrl_conn_send_raw(&c->conn, msg2, (size_t)rc) < 0) {
		drop_conn(s, c, TP_CTRL_SERVER_CLOSE_IO_ERROR, "cannot answer the handshake");
		goto out;
	}
	/* Anyone holding a captured message 1 gets this far: frames stay
	 * small until the Hello confirms the key. */
	tp_ctrl_conn_set_keys(&c->conn, &keys, TP_CTRL_FRAME_PREAUTH_MAX);
	c->conn.send_key_ns = now_ns(s);
	c->phase = AWAIT_HELLO;
out:
	tp_crypto_wipe(&keys, sizeof(keys));
}

/* The TP says it runs a version newer than ours: its word moves nothing;
 * ask for the signed bundle, once per claim and session, and never again
 * in a session whose proof failed (each check of a bundle costs us a
 * signature check and a decode of up to 16 MiB). */
static void ask_proof(struct tp_ctrl_server *s, struct sconn *c, uint64_t claimed)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__ProofRequest pr = TABLEAU__V1__PROOF_REQUEST__INIT;
	const struct tp_ctrl_server_tp *tp = &s->tps[c->tp];

	if (c->phase != UP || c->dead || c->proof_pending || c->proof_refused ||
	    claimed <= s->version || claimed <= tp->proven_version || claimed <= c->proof_asked ||
	    now_ns(s) < tp->proof_hold_ns)
		return;
	say(s, "TP %s reports version %llu, newer than ours (%llu): asking for its bundle",
	    tp->name, (unsigned long long)claimed, (unsigned long long)s->version);
	pr.version = claimed;
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_PROOF_REQUEST;
	env.proof_request = &pr;
	c->proof_pending = true;
	c->proof_asked = claimed;
	s->stats.proofs_asked++;
	send_env(s, c, &env);
}

/* The answer: a bundle our own key signed proves its version; anything
 * else proves nothing. Unasked answers are ignored. */
static void on_proof(struct tp_ctrl_server *s, struct sconn *c, const Tableau__V1__ProofResponse *p)
{
	struct tp_ctrl_server_tp *tp = &s->tps[c->tp];
	struct tp_bundle_info info;
	struct tp_site *site = NULL;
	enum tp_bundle_status st;
	char err[160];

	if (!c->proof_pending)
		return;
	c->proof_pending = false;
	if (!p->signed_bundle.len) {
		c->proof_refused = true;
		tp->proof_hold_ns = now_ns(s) + TP_CTRL_SERVER_PROOF_HOLD_MS * MS;
		s->stats.proofs_refused++;
		say(s, "TP %s cannot prove version %llu: %s", tp->name,
		    (unsigned long long)c->proof_asked, p->error ? p->error : "no bundle");
		return;
	}
	st = tp_bundle_open(p->signed_bundle.data, p->signed_bundle.len, s->cfg.bundle_pk, &info,
			    &site, err, sizeof(err));
	tp_site_free(site);
	if (st == TP_BUNDLE_OK && (info.version == 0 || info.version == UINT64_MAX)) {
		st = TP_BUNDLE_UNDECODABLE;
		snprintf(err, sizeof(err), "version %llu is never valid",
			 (unsigned long long)info.version);
	}
	if (st != TP_BUNDLE_OK) {
		c->proof_refused = true;
		tp->proof_hold_ns = now_ns(s) + TP_CTRL_SERVER_PROOF_HOLD_MS * MS;
		s->stats.proofs_refused++;
		say(s, "TP %s: proof of version %llu refused: %s", tp->name,
		    (unsigned long long)c->proof_asked, err);
		return;
	}
	/* Genuine, so it proves its own version whatever was claimed. */
	if (info.version > tp->proven_version)
		tp->proven_version = info.version;
	if (info.version < c->proof_asked) {
		/* Any TP holds a genuine bundle: one that does not back the
		 * claim would otherwise buy a full check per higher claim,
		 * as often as the TP likes. Not asked again this session. */
		c->proof_refused = true;
		tp->proof_hold_ns = now_ns(s) + TP_CTRL_SERVER_PROOF_HOLD_MS * MS;
		s->stats.proofs_refused++;
		say(s, "TP %s: proof of version %llu refused: the bundle is version %llu", tp->name,
		    (unsigned long long)c->proof_asked, (unsigned long long)info.version);
		return;
	}
	s->stats.proofs_verified++;
	say(s, "TP %s proved it runs version %llu (reported %llu)", tp->name,
	    (unsigned long long)info.version, (unsigned long long)c->proof_asked);
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
	c->up_since_ns = now_ns(s);
	c->conn.rx.max = TP_CTRL_FRAME_MAX;
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
	ask_proof(s, c, h->policy_version);
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
		ask_proof(s, c, e->ack->version);
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
		ask_proof(s, c, e->status->policy_version);
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
	case TABLEAU__V1__ENVELOPE__MSG_PROOF_RESPONSE:
		on_proof(s, c, e->proof_response);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_REKEY:
		/* The TP's next frame is under its next key. */
		tp_ctrl_conn_rekey_recv(&c->conn);
		s->stats.rekeys_received++;
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

/* One key per host: an IPv4 address (also as ::ffff:a.b.c.d from a
 * dual-stack listener), or an IPv6 /64 (a host has one and may pick a new
 * source address in it for every connection). */
void tp_ctrl_server_addr_key(const struct sockaddr_storage *ss,
			     uint8_t key[TP_CTRL_SERVER_ADDR_KEY_LEN])
{
	memset(key, 0, TP_CTRL_SERVER_ADDR_KEY_LEN);
	if (ss->ss_family == AF_INET) {
		key[0] = AF_INET;
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = AF_INET;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			key[0] = AF_INET6;
			memcpy(key + 1, a->s6_addr, 8);
		}
	}
}

/* Make room for one more unauthenticated connection from ip: over a cap,
 * the oldest unauthenticated one (of that address, for the per-address
 * cap) goes. conns[] is in accept order, so the first match is the
 * oldest. Dead ones are reaped at once: this runs between rounds. */
static void make_room(struct tp_ctrl_server *s, const uint8_t ip[TP_CTRL_SERVER_ADDR_KEY_LEN])
{
	struct sconn *oldest = NULL, *oldest_here = NULL;
	unsigned pending = 0, here = 0, live = 0;

	for (unsigned i = 0; i < s->n_conns; i++) {
		struct sconn *c = s->conns[i];

		if (c->dead)
			continue;
		live++;
		if (c->phase == UP)
			continue;
		pending++;
		if (!oldest)
			oldest = c;
		if (memcmp(c->ip, ip, sizeof(c->ip)) == 0 && here++ == 0)
			oldest_here = c;
	}
	if (oldest_here && here >= s->cfg.max_pending_per_addr)
		drop_conn(s, oldest_here, TP_CTRL_SERVER_CLOSE_PER_ADDRESS,
			  "per-address cap of unauthenticated connections");
	else if (oldest && (pending >= s->cfg.max_pending || live >= s->cfg.max_conns))
		drop_conn(s, oldest, TP_CTRL_SERVER_CLOSE_EVICTED,
			  "evicted: oldest unauthenticated connection");
	reap(s);
}

static void accept_some(struct tp_ctrl_server *s)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sconn *c;
		uint8_t ip[TP_CTRL_SERVER_ADDR_KEY_LEN];
		int one = 1;
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		tp_ctrl_server_addr_key(&ss, ip);
		make_room(s, ip);
		if (s->n_conns >= s->cfg.max_conns || !(c = calloc(1, sizeof(*c)))) {
			/* Every slot is a live session: accept and close
			 * rather than leave the backlog full. */
			s->stats.closes[TP_CTRL_SERVER_CLOSE_FULL]++;
			close(fd);
			continue;
		}
		memcpy(c->ip, ip, sizeof(c->ip));
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
		/* The TP handshakes again at max_session_ms; one that does
		 * not (older software) is made to. */
		t = c->up_since_ns +
		    ((uint64_t)s->cfg.max_session_ms + s->cfg.handshake_timeout_ms) * MS;
		if (now >= t) {
			drop_conn(s, c, TP_CTRL_SERVER_CLOSE_LIFETIME, "session lifetime reached");
			continue;
		}
		if (t < next)
			next = t;
		maybe_rekey(s, c);
		if (c->dead)
			continue;
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
	uint8_t *copy;

	if (version == 0 || version == UINT64_MAX)
		return -ERANGE;
	copy = malloc(len ? len : 1);
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

uint64_t tp_ctrl_server_proven_version(const struct tp_ctrl_server *s)
{
	uint64_t v = 0;

	for (size_t i = 0; i < s->n_tps; i++)
		if (s->tps[i].proven_version > v)
			v = s->tps[i].proven_version;
	return v;
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
	if (!s->cfg.max_pending)
		s->cfg.max_pending = 64;
	if (s->cfg.max_pending > s->cfg.max_conns)
		s->cfg.max_pending = s->cfg.max_conns;
	if (!s->cfg.max_pending_per_addr)
		s->cfg.max_pending_per_addr = 8;
	if (!s->cfg.rekey_ms)
		s->cfg.rekey_ms = TP_CTRL_REKEY_AFTER_MS;
	if (!s->cfg.rekey_frames)
		s->cfg.rekey_frames = TP_CTRL_REKEY_AFTER_FRAMES;
	if (!s->cfg.max_session_ms)
		s->cfg.max_session_ms = TP_CTRL_SESSION_MAX_MS;
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
