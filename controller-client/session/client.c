// SPDX-License-Identifier: MIT
/*
 * Controller client state machine (tp/ctrl/client.h).
 *
 * State, besides the enum: the connection (fd, buffers, keys) and the
 * handshake, both empty in IDLE; the backoff counter; and five deadlines
 * on the injected clock: next_attempt (IDLE), hs_deadline (CONNECTING,
 * HANDSHAKE), last_rx + dead (ESTABLISHED), last_tx + keepalive,
 * next_status, send_key_ns + rekey and session_start + max_session
 * (ESTABLISHED). peer_features: what the controller's message 2 announced.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp/base/crypto.h"
#include "tp/ctrl/backoff.h"
#include "tp/ctrl/client.h"
#include "tp/ctrl/conn.h"
#include "tp/ctrl/msg.h"

#define MS 1000000ull

struct tp_ctrl_client {
	struct tp_ctrl_client_config cfg;
	struct tp_ctrl_client_callbacks cb;
	struct sockaddr_storage addr;
	unsigned addrlen;
	uint8_t s_pub[32];
	uint8_t ctrl_x25519[32]; /* the pinned key, as Noise uses it */

	enum tp_ctrl_client_state state;
	struct tp_ctrl_conn conn;
	struct tp_ctrl_noise hs;
	struct tp_ctrl_backoff backoff;
	uint64_t next_attempt_ns, hs_deadline_ns;
	uint64_t last_rx_ns, last_tx_ns, next_status_ns;
	uint64_t ping_id;
	uint64_t session_start_ns;
	uint64_t peer_features; /* tableau.v1 Feature bits of this session's controller */
	bool up_reported;	/* cb.connected(true) was the last call */
	struct tp_ctrl_client_stats stats;
};

static uint64_t now_ns(const struct tp_ctrl_client *c)
{
	return tp_clock_now(&c->cfg.clock);
}

static void say(struct tp_ctrl_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct tp_ctrl_client *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!c->cb.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->cb.log(c->cb.arg, msg);
}

const char *tp_ctrl_client_state_name(enum tp_ctrl_client_state st)
{
	switch (st) {
	case TP_CTRL_CLIENT_IDLE:
		return "idle";
	case TP_CTRL_CLIENT_CONNECTING:
		return "connecting";
	case TP_CTRL_CLIENT_HANDSHAKE:
		return "handshake";
	case TP_CTRL_CLIENT_ESTABLISHED:
		return "established";
	}
	return "?";
}

const char *tp_ctrl_client_fail_name(enum tp_ctrl_client_fail f)
{
	static const char *const names[] = {
#define X(n, s) s,
		TP_CTRL_CLIENT_FAILS(X)
#undef X
	};

	return f < TP_CTRL_CLIENT_FAIL__COUNT ? names[f] : "?";
}

/* End the session (if any) and schedule the next attempt. */
static void fail(struct tp_ctrl_client *c, enum tp_ctrl_client_fail f, const char *why)
{
	uint64_t delay = tp_ctrl_backoff_next(&c->backoff);

	tp_ctrl_conn_close(&c->conn);
	tp_ctrl_noise_wipe(&c->hs);
	c->state = TP_CTRL_CLIENT_IDLE;
	c->next_attempt_ns = now_ns(c) + delay;
	c->stats.failures++;
	c->stats.fails[f]++;
	c->stats.next_attempt_ns = c->next_attempt_ns;
	snprintf(c->stats.last_error, sizeof(c->stats.last_error), "%s", why);
	say(c, "controller %s: %s; retry in %llu ms", c->cfg.address, why,
	    (unsigned long long)(delay / MS));
	if (c->up_reported && c->cb.connected)
		c->cb.connected(c->cb.arg, false);
	c->up_reported = false;
}

/* Replace the sending key when it is due and the controller can follow. */
static void maybe_rekey(struct tp_ctrl_client *c)
{
	char why[80];
	int rc;

	if (c->state != TP_CTRL_CLIENT_ESTABLISHED ||
	    !(c->peer_features & TABLEAU__V1__FEATURE__FEATURE_REKEY) ||
	    !tp_ctrl_conn_rekey_due(&c->conn, now_ns(c), c->cfg.rekey_ms * MS, c->cfg.rekey_frames))
		return;
	rc = tp_ctrl_conn_rekey_send(&c->conn, now_ns(c));
	if (rc < 0) {
		snprintf(why, sizeof(why), "cannot rekey: %s", strerror(-rc));
		fail(c, TP_CTRL_CLIENT_FAIL_IO_ERROR, why);
		return;
	}
	c->stats.rekeys_sent++;
}

static void send_env(struct tp_ctrl_client *c, const Tableau__V1__Envelope *env)
{
	char why[80];
	int rc = tp_ctrl_conn_send(&c->conn, env);

	if (rc < 0) {
		snprintf(why, sizeof(why), "cannot queue a message: %s", strerror(-rc));
		fail(c, TP_CTRL_CLIENT_FAIL_IO_ERROR, why);
		return;
	}
	c->last_tx_ns = now_ns(c);
	maybe_rekey(c);
}

void tp_ctrl_client_send_status(struct tp_ctrl_client *c)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Status st = TABLEAU__V1__STATUS__INIT;
	struct tp_ctrl_status s = {0};
	Tableau__V1__PeerState *peers = NULL, **pp = NULL;
	Tableau__V1__Counter *ctrs = NULL, **cp = NULL;
	size_t i;

	if (c->state != TP_CTRL_CLIENT_ESTABLISHED)
		return;
	s.policy_version = c->cb.policy_version(c->cb.arg);
	if (c->cb.status)
		c->cb.status(c->cb.arg, &s);
	st.policy_version = s.policy_version;
	st.policy_state = (Tableau__V1__PolicyState)s.policy_state;
	st.policy_expires_at = s.policy_expires_at;
	if (s.n_peers) {
		peers = calloc(s.n_peers, sizeof(*peers));
		pp = calloc(s.n_peers, sizeof(*pp));
		if (!peers || !pp)
			goto out;
		for (i = 0; i < s.n_peers; i++) {
			tableau__v1__peer_state__init(&peers[i]);
			peers[i].name = (char *)s.peers[i].name;
			peers[i].up = s.peers[i].up;
			peers[i].last_handshake = s.peers[i].last_handshake;
			peers[i].rx_bytes = s.peers[i].rx_bytes;
			peers[i].tx_bytes = s.peers[i].tx_bytes;
			pp[i] = &peers[i];
		}
		st.n_peers = s.n_peers;
		st.peers = pp;
	}
	if (s.n_counters) {
		ctrs = calloc(s.n_counters, sizeof(*ctrs));
		cp = calloc(s.n_counters, sizeof(*cp));
		if (!ctrs || !cp)
			goto out;
		for (i = 0; i < s.n_counters; i++) {
			tableau__v1__counter__init(&ctrs[i]);
			ctrs[i].name = (char *)s.counters[i].name;
			ctrs[i].value = s.counters[i].value;
			cp[i] = &ctrs[i];
		}
		st.n_counters = s.n_counters;
		st.counters = cp;
	}
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_STATUS;
	env.status = &st;
	send_env(c, &env);
	c->next_status_ns = now_ns(c) + c->cfg.status_ms * MS;
out:
	free(peers);
	free(pp);
	free(ctrs);
	free(cp);
}

static void send_hello(struct tp_ctrl_client *c)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Hello h = TABLEAU__V1__HELLO__INIT;

	h.tp_name = c->cfg.tp_name;
	h.public_key.data = c->s_pub;
	h.public_key.len = sizeof(c->s_pub);
	h.software_version = c->cfg.software_version;
	h.policy_version = c->cb.policy_version(c->cb.arg);
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	send_env(c, &env);
}

static void handle_push(struct tp_ctrl_client *c, const Tableau__V1__PolicyPush *p)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Ack ack = TABLEAU__V1__ACK__INIT;
	Tableau__V1__Nack nack = TABLEAU__V1__NACK__INIT;
	struct tp_ctrl_apply_result res = {.version = p->version};
	int rc;

	c->stats.pushes++;
	rc = c->cb.apply(c->cb.arg, p->signed_bundle.data, p->signed_bundle.len, &res);
	if (rc == 0) {
		c->stats.acks++;
		ack.version = res.version;
		env.msg_case = TABLEAU__V1__ENVELOPE__MSG_ACK;
		env.ack = &ack;
		say(c, "policy version %llu from the controller: applied, acked",
		    (unsigned long long)res.version);
	} else {
		c->stats.nacks++;
		nack.version = res.version;
		nack.reason =
			(Tableau__V1__NackReason)(res.reason
							  ? res.reason
							  : TABLEAU__V1__NACK_REASON__NACK_APPLY_FAILED);
		nack.text = res.text;
		env.msg_case = TABLEAU__V1__ENVELOPE__MSG_NACK;
		env.nack = &nack;
		say(c, "policy version %llu from the controller refused: %s",
		    (unsigned long long)res.version, res.text);
	}
	send_env(c, &env);
	tp_ctrl_client_send_status(c);
}

/* The controller asks for the signed bundle behind the version we report
 * (it moves its own counter only on such proof). */
static void send_proof(struct tp_ctrl_client *c)
{
	Tableau__V1__Envelope out = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__ProofResponse pr = TABLEAU__V1__PROOF_RESPONSE__INIT;
	size_t len = 0;
	const uint8_t *b = c->cb.running_bundle ? c->cb.running_bundle(c->cb.arg, &len) : NULL;

	if (b && len) {
		pr.signed_bundle.data = (uint8_t *)b;
		pr.signed_bundle.len = len;
	} else {
		pr.error = "no bundle running";
	}
	out.msg_case = TABLEAU__V1__ENVELOPE__MSG_PROOF_RESPONSE;
	out.proof_response = &pr;
	c->stats.proofs_sent++;
	send_env(c, &out);
}

static void handle_msg(struct tp_ctrl_client *c, const Tableau__V1__Envelope *e)
{
	Tableau__V1__Envelope out = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Pong pong = TABLEAU__V1__PONG__INIT;
	Tableau__V1__ExportResponse xr = TABLEAU__V1__EXPORT_RESPONSE__INIT;

	switch (e->msg_case) {
	case TABLEAU__V1__ENVELOPE__MSG_PUSH:
		handle_push(c, e->push);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_PING:
		pong.id = e->ping->id;
		out.msg_case = TABLEAU__V1__ENVELOPE__MSG_PONG;
		out.pong = &pong;
		send_env(c, &out);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_EXPORT_REQUEST: {
		/* the same bytes `tpctl export` writes; an error rather than
		 * silence, so the controller never waits */
		char why[160] = "export not supported by this transition point";
		size_t len = 0;
		char *data = c->cb.export ? c->cb.export(c->cb.arg, &len, why, sizeof(why)) : NULL;

		xr.id = e->export_request->id;
		if (data) {
			xr.data.data = (uint8_t *)data;
			xr.data.len = len;
		} else {
			xr.error = why;
		}
		out.msg_case = TABLEAU__V1__ENVELOPE__MSG_EXPORT_RESPONSE;
		out.export_response = &xr;
		send_env(c, &out);
		free(data);
		break;
	}
	case TABLEAU__V1__ENVELOPE__MSG_PROOF_REQUEST:
		send_proof(c);
		break;
	case TABLEAU__V1__ENVELOPE__MSG_REKEY:
		/* The controller's next frame is under the next key. */
		tp_ctrl_conn_rekey_recv(&c->conn);
		c->stats.rekeys_received++;
		break;
	default:
		/* Pong, or a message this version does not know: ignored. */
		break;
	}
}

static void on_handshake_frame(struct tp_ctrl_client *c, const uint8_t *f, size_t len)
{
	struct tp_ctrl_noise_keys keys;
	uint8_t payload[TP_CTRL_NOISE_PAYLOAD_MAX];
	int plen = tp_ctrl_noise_read2(&c->hs, f, len, payload, sizeof(payload), &keys);

	if (plen < 0) {
		fail(c, TP_CTRL_CLIENT_FAIL_BAD_HANDSHAKE,
		     "handshake failed: not the pinned controller key");
		return;
	}
	c->peer_features = tp_ctrl_msg_features((size_t)plen ? payload : NULL, (size_t)plen);
	tp_ctrl_conn_set_keys(&c->conn, &keys, TP_CTRL_FRAME_MAX);
	c->conn.send_key_ns = now_ns(c);
	c->session_start_ns = now_ns(c);
	tp_crypto_wipe(&keys, sizeof(keys));
	tp_ctrl_noise_wipe(&c->hs);
	c->state = TP_CTRL_CLIENT_ESTABLISHED;
	c->stats.sessions++;
	tp_ctrl_backoff_reset(&c->backoff);
	c->last_rx_ns = now_ns(c);
	say(c, "controller %s: session established", c->cfg.address);
	if (!c->up_reported && c->cb.connected)
		c->cb.connected(c->cb.arg, true);
	c->up_reported = true;
	send_hello(c);
	tp_ctrl_client_send_status(c);
}

void tp_ctrl_client_on_readable(struct tp_ctrl_client *c)
{
	uint64_t bytes;
	struct tp_ctrl_msg *m;
	uint8_t *f;
	size_t len;
	int rc;

	if (c->state != TP_CTRL_CLIENT_HANDSHAKE && c->state != TP_CTRL_CLIENT_ESTABLISHED)
		return;
	tp_ctrl_conn_begin(&c->conn);
	bytes = c->conn.rx_bytes;
	while (c->state >= TP_CTRL_CLIENT_HANDSHAKE) {
		rc = tp_ctrl_conn_recv(&c->conn, &f, &len);
		if (rc == 0) {
			/* A large push arriving slowly is progress. */
			if (c->conn.rx_bytes != bytes)
				c->last_rx_ns = now_ns(c);
			break;
		}
		if (rc < 0) {
			if (rc == -ECONNRESET)
				fail(c, TP_CTRL_CLIENT_FAIL_CLOSED,
				     "connection closed by the controller");
			else if (rc == -EMSGSIZE)
				fail(c, TP_CTRL_CLIENT_FAIL_OVERSIZE, "oversize frame");
			else if (rc == -EBADMSG || rc == -EOVERFLOW)
				fail(c, TP_CTRL_CLIENT_FAIL_BAD_FRAME, "bad frame");
			else
				fail(c, TP_CTRL_CLIENT_FAIL_IO_ERROR, strerror(-rc));
			return;
		}
		c->last_rx_ns = now_ns(c);
		if (c->state == TP_CTRL_CLIENT_HANDSHAKE) {
			on_handshake_frame(c, f, len);
			continue;
		}
		m = tp_ctrl_msg_decode(f, len);
		if (!m) {
			fail(c, TP_CTRL_CLIENT_FAIL_UNDECODABLE, "undecodable message");
			return;
		}
		handle_msg(c, m->env);
		tp_ctrl_msg_free(m);
	}
	if (c->state >= TP_CTRL_CLIENT_HANDSHAKE)
		tp_ctrl_client_on_writable(c);
}

static void start_connect(struct tp_ctrl_client *c)
{
	uint8_t msg1[TP_CTRL_NOISE_MSG1_OVERHEAD + TP_CTRL_NOISE_PAYLOAD_MAX];
	uint8_t payload[TP_CTRL_NOISE_PAYLOAD_MAX];
	size_t plen = tp_ctrl_msg_pack_features(TABLEAU__V1__FEATURE__FEATURE_REKEY, payload,
						sizeof(payload));
	char why[80];
	int fd, rc;

	c->stats.attempts++;
	c->hs_deadline_ns = now_ns(c) + c->cfg.handshake_timeout_ms * MS;
	fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		fail(c, TP_CTRL_CLIENT_FAIL_CONNECT, why);
		return;
	}
	tp_ctrl_conn_init(&c->conn, fd, TP_CTRL_FRAME_PREAUTH_MAX, TP_CTRL_FRAME_MAX * 2);
	if (!tp_ctrl_noise_init(&c->hs, true, c->cfg.static_priv, c->ctrl_x25519))
		goto bad_hs;
	rc = tp_ctrl_noise_write1(&c->hs, NULL, payload, plen, msg1, sizeof(msg1));
	if (rc < 0 || tp_ctrl_conn_send_raw(&c->conn, msg1, (size_t)rc) < 0)
		goto bad_hs;
	c->state = TP_CTRL_CLIENT_CONNECTING;
	if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) != 0 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		fail(c, TP_CTRL_CLIENT_FAIL_CONNECT, why);
	}
	return;
bad_hs:
	fail(c, TP_CTRL_CLIENT_FAIL_IO_ERROR, "cannot start a handshake");
}

void tp_ctrl_client_on_writable(struct tp_ctrl_client *c)
{
	char why[80];
	int err = 0, rc;
	socklen_t elen = sizeof(err);

	if (c->state == TP_CTRL_CLIENT_CONNECTING) {
		if (getsockopt(c->conn.fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			return;
		if (err) {
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			fail(c, TP_CTRL_CLIENT_FAIL_CONNECT, why);
			return;
		}
		c->state = TP_CTRL_CLIENT_HANDSHAKE;
	}
	if (c->state == TP_CTRL_CLIENT_IDLE)
		return;
	rc = tp_ctrl_conn_flush(&c->conn);
	if (rc < 0) {
		snprintf(why, sizeof(why), "send: %s", strerror(-rc));
		fail(c, TP_CTRL_CLIENT_FAIL_IO_ERROR, why);
	}
}

/* The session reached its maximum lifetime: end it and handshake again at
 * once, for fresh keys from fresh ephemerals. Not a failure: no backoff,
 * and the owner is not told the controller went away (the policy state
 * stays enforcing) unless the new handshake fails. */
static void rehandshake(struct tp_ctrl_client *c)
{
	tp_ctrl_conn_close(&c->conn);
	tp_ctrl_noise_wipe(&c->hs);
	c->state = TP_CTRL_CLIENT_IDLE;
	c->stats.rehandshakes++;
	say(c, "controller %s: session lifetime reached: new handshake", c->cfg.address);
	start_connect(c);
}

int tp_ctrl_client_tick(struct tp_ctrl_client *c)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Ping ping = TABLEAU__V1__PING__INIT;
	uint64_t now = now_ns(c), next = now + 1000 * MS;

	switch (c->state) {
	case TP_CTRL_CLIENT_IDLE:
		if (now >= c->next_attempt_ns)
			start_connect(c);
		break;
	case TP_CTRL_CLIENT_CONNECTING:
	case TP_CTRL_CLIENT_HANDSHAKE:
		if (now < c->hs_deadline_ns)
			break;
		if (c->state == TP_CTRL_CLIENT_CONNECTING)
			fail(c, TP_CTRL_CLIENT_FAIL_CONNECT_TIMEOUT, "connect timed out");
		else
			fail(c, TP_CTRL_CLIENT_FAIL_HANDSHAKE_TIMEOUT, "handshake timed out");
		break;
	case TP_CTRL_CLIENT_ESTABLISHED:
		if (now - c->last_rx_ns >= c->cfg.dead_ms * MS) {
			fail(c, TP_CTRL_CLIENT_FAIL_SILENT,
			     "controller silent: session presumed dead");
			break;
		}
		if (now - c->session_start_ns >= c->cfg.max_session_ms * MS) {
			rehandshake(c);
			break;
		}
		maybe_rekey(c);
		if (c->state == TP_CTRL_CLIENT_ESTABLISHED &&
		    now - c->last_tx_ns >= c->cfg.keepalive_ms * MS) {
			ping.id = ++c->ping_id;
			env.msg_case = TABLEAU__V1__ENVELOPE__MSG_PING;
			env.ping = &ping;
			send_env(c, &env);
		}
		if (c->state == TP_CTRL_CLIENT_ESTABLISHED && now >= c->next_status_ns)
			tp_ctrl_client_send_status(c);
		if (c->state == TP_CTRL_CLIENT_ESTABLISHED)
			tp_ctrl_client_on_writable(c);
		break;
	}
	/* The earliest deadline of the (possibly new) state. */
	switch (c->state) {
	case TP_CTRL_CLIENT_IDLE:
		if (c->next_attempt_ns < next)
			next = c->next_attempt_ns;
		break;
	case TP_CTRL_CLIENT_CONNECTING:
	case TP_CTRL_CLIENT_HANDSHAKE:
		if (c->hs_deadline_ns < next)
			next = c->hs_deadline_ns;
		break;
	case TP_CTRL_CLIENT_ESTABLISHED:
		if (c->last_tx_ns + c->cfg.keepalive_ms * MS < next)
			next = c->last_tx_ns + c->cfg.keepalive_ms * MS;
		if (c->last_rx_ns + c->cfg.dead_ms * MS < next)
			next = c->last_rx_ns + c->cfg.dead_ms * MS;
		if (c->next_status_ns < next)
			next = c->next_status_ns;
		if (c->session_start_ns + c->cfg.max_session_ms * MS < next)
			next = c->session_start_ns + c->cfg.max_session_ms * MS;
		if (c->peer_features & TABLEAU__V1__FEATURE__FEATURE_REKEY &&
		    c->conn.send_key_ns + c->cfg.rekey_ms * MS < next)
			next = c->conn.send_key_ns + c->cfg.rekey_ms * MS;
		break;
	}
	return next <= now ? 0 : (int)((next - now + MS - 1) / MS);
}

int tp_ctrl_client_fd(const struct tp_ctrl_client *c)
{
	return c->state == TP_CTRL_CLIENT_IDLE ? -1 : c->conn.fd;
}

short tp_ctrl_client_events(const struct tp_ctrl_client *c)
{
	switch (c->state) {
	case TP_CTRL_CLIENT_IDLE:
		return 0;
	case TP_CTRL_CLIENT_CONNECTING:
		return POLLOUT;
	default:
		return (short)(POLLIN | (tp_ctrl_conn_pending(&c->conn) ? POLLOUT : 0));
	}
}

void tp_ctrl_client_reset(struct tp_ctrl_client *c, const char *why)
{
	if (c->state != TP_CTRL_CLIENT_IDLE)
		fail(c, TP_CTRL_CLIENT_FAIL_RESET, why);
}

enum tp_ctrl_client_state tp_ctrl_client_state(const struct tp_ctrl_client *c)
{
	return c->state;
}

void tp_ctrl_client_stats(const struct tp_ctrl_client *c, struct tp_ctrl_client_stats *st)
{
	*st = c->stats;
}

#define DEFAULT(field, v)               \
	do {                            \
		if (!cfg->field)        \
			cfg->field = v; \
	} while (0)

struct tp_ctrl_client *tp_ctrl_client_new(const struct tp_ctrl_client_config *config,
					  const struct tp_ctrl_client_callbacks *cb)
{
	struct tp_ctrl_client *c;
	struct tp_ctrl_client_config *cfg;

	if (!cb || !cb->apply || !cb->policy_version || !config->clock.now_ns)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *config;
	c->cb = *cb;
	cfg = &c->cfg;
	cfg->address[sizeof(cfg->address) - 1] = 0;
	cfg->tp_name[sizeof(cfg->tp_name) - 1] = 0;
	cfg->software_version[sizeof(cfg->software_version) - 1] = 0;
	DEFAULT(backoff_base_ms, 500);
	DEFAULT(backoff_cap_ms, 30000);
	DEFAULT(handshake_timeout_ms, 5000);
	DEFAULT(keepalive_ms, 10000);
	DEFAULT(dead_ms, 30000);
	DEFAULT(status_ms, 60000);
	DEFAULT(rekey_ms, TP_CTRL_REKEY_AFTER_MS);
	DEFAULT(rekey_frames, TP_CTRL_REKEY_AFTER_FRAMES);
	DEFAULT(max_session_ms, TP_CTRL_SESSION_MAX_MS);
	if (tp_ctrl_conn_parse_address(cfg->address, &c->addr, &c->addrlen) != 0)
		goto bad_config;
	if (!tp_crypto_pubkey(c->s_pub, cfg->static_priv))
		goto bad_config;
	if (!tp_ctrl_noise_pub_from_ed25519(c->ctrl_x25519, cfg->controller_pk))
		goto bad_config;
	tp_ctrl_backoff_init(&c->backoff, cfg->backoff_base_ms * MS, cfg->backoff_cap_ms * MS,
			     cfg->random, cfg->random_arg);
	c->conn.fd = -1;
	c->state = TP_CTRL_CLIENT_IDLE;
	c->next_attempt_ns = now_ns(c);
	return c;
bad_config:
	tp_crypto_wipe(c, sizeof(*c));
	free(c);
	return NULL;
}

void tp_ctrl_client_free(struct tp_ctrl_client *c)
{
	if (!c)
		return;
	tp_ctrl_conn_close(&c->conn);
	tp_crypto_wipe(c, sizeof(*c));
	free(c);
}
