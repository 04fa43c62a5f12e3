/* SPDX-License-Identifier: MIT */
/*
 * The transition point's side of the controller channel.
 *
 * One client per TP, owned by the control thread, driven by poll(): the
 * owner polls tp_ctrl_client_fd() for tp_ctrl_client_events(), calls
 * tp_ctrl_client_on_readable()/_on_writable() on readiness and
 * tp_ctrl_client_tick() at least as often as its return value asks. No call
 * blocks: the connect is non-blocking, the address is numeric (no DNS),
 * and every wait is a deadline checked in tick. Time comes from the
 * injected clock.
 *
 * States:
 *   IDLE        no socket; the next attempt is due at next_attempt_ns
 *   CONNECTING  TCP connect in progress        (deadline: handshake timeout)
 *   HANDSHAKE   message 1 sent, awaiting 2     (same deadline)
 *   ESTABLISHED Hello sent; pushes are applied, pings keep it alive; no
 *               frame from the controller for dead_ms ends it; after
 *               max_session_ms it ends and a new handshake starts at once
 *               (fresh keys; no backoff, not a failure, and callbacks.connected
 *               hears of it only if that handshake fails)
 * Every failure closes the socket, wipes the session keys and goes to
 * IDLE with the next backoff delay (tp/ctrl/backoff.h); reaching
 * ESTABLISHED resets the backoff.
 *
 * A push is handed to callbacks.apply, synchronously, on the control
 * thread. The client acks only when apply returns 0 (the bundle is live
 * and persisted), and nacks with apply's reason otherwise; either way it
 * then sends a Status.
 *
 * Keys: message 1 announces FEATURE_REKEY; when message 2 does too, the
 * client replaces its sending key every rekey_frames frames or rekey_ms
 * (tp/ctrl/conn.h). A Rekey from the controller is always honoured.
 *
 * Proof: a ProofRequest is answered with the signed bundle the TP runs
 * (callbacks.running_bundle), so a controller that lost its state can
 * verify the version before it continues from there.
 */
#ifndef TP_CTRL_CLIENT_H
#define TP_CTRL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/base/clock.h"

struct tp_ctrl_client;

enum tp_ctrl_client_state {
	TP_CTRL_CLIENT_IDLE = 0,
	TP_CTRL_CLIENT_CONNECTING,
	TP_CTRL_CLIENT_HANDSHAKE,
	TP_CTRL_CLIENT_ESTABLISHED,
};

struct tp_ctrl_client_config {
	char address[128];	   /* numeric "IPv4:port" or "[IPv6]:port" */
	uint8_t static_priv[32];   /* the TP's X25519 key (its tunnel identity) */
	uint8_t controller_pk[32]; /* pinned Ed25519 controller key (tpd.conf) */
	char tp_name[64];
	char software_version[32];
	struct tp_clock clock;
	/* 0 picks the default (in parentheses). */
	uint32_t backoff_base_ms;      /* (500) */
	uint32_t backoff_cap_ms;       /* (30000) */
	uint32_t handshake_timeout_ms; /* (5000) connect + handshake */
	uint32_t keepalive_ms;	       /* (10000) ping when nothing sent for this long */
	uint32_t dead_ms;	       /* (30000) nothing received for this long: reconnect */
	uint32_t status_ms;	       /* (60000) periodic Status */
	uint32_t rekey_ms;	       /* (TP_CTRL_REKEY_AFTER_MS) */
	uint32_t rekey_frames;	       /* (TP_CTRL_REKEY_AFTER_FRAMES) */
	uint32_t max_session_ms;       /* (TP_CTRL_SESSION_MAX_MS) then re-handshake */
	uint32_t (*random)(void *arg); /* backoff jitter; NULL: libsodium */
	void *random_arg;
};

/* What apply says about a bundle. reason: a tableau.v1 NackReason value
 * (1..8 are the TP_BUNDLE_* acceptance reasons, in order). */
struct tp_ctrl_apply_result {
	uint64_t version;
	int reason;
	char text[160];
};

struct tp_ctrl_status_peer {
	const char *name;
	bool up;
	int64_t last_handshake;
	uint64_t rx_bytes, tx_bytes;
};

struct tp_ctrl_status_counter {
	const char *name;
	uint64_t value;
};

/* What the TP reports in a Status. Strings and arrays are borrowed for the
 * duration of the callback. policy_state: a tableau.v1 PolicyState value. */
struct tp_ctrl_status {
	uint64_t policy_version;
	int policy_state;
	int64_t policy_expires_at;
	const struct tp_ctrl_status_peer *peers;
	size_t n_peers;
	const struct tp_ctrl_status_counter *counters;
	size_t n_counters;
};

struct tp_ctrl_client_callbacks {
	/* Run the bundle (same checks as a file), make it live, persist it.
	 * 0 when all three happened; otherwise a negative value, res says why
	 * and the running policy is unchanged. Required. */
	int (*apply)(void *arg, const uint8_t *bundle, size_t len,
		     struct tp_ctrl_apply_result *res);
	/* Version of the running policy, 0 for none. Required. */
	uint64_t (*policy_version)(void *arg);
	/* Fill a status (optional: without it, only the version is sent). */
	void (*status)(void *arg, struct tp_ctrl_status *st);
	/* The session came up (true) or went down (false). Optional. */
	void (*connected)(void *arg, bool up);
	/* The verification export (tp/policy/export.h) as canonical bytes, malloc'd
	 * (the client frees it), for an ExportRequest; NULL with err set when
	 * there is none. Optional: without it the TP answers "not supported". */
	char *(*export)(void *arg, size_t *len, char *err, size_t errlen);
	/* The signed bytes of the running bundle (borrowed until the next
	 * call), NULL for none: the proof a ProofRequest asks for. Optional:
	 * without it the TP answers "no bundle". */
	const uint8_t *(*running_bundle)(void *arg, size_t *len);
	/* One line per state change, for the log. Optional. */
	void (*log)(void *arg, const char *msg);
	void *arg;
};

/* NULL on a bad configuration (unparsable address, unusable keys, missing
 * callbacks) or no memory. The first connect attempt is due at once. */
struct tp_ctrl_client *tp_ctrl_client_new(const struct tp_ctrl_client_config *cfg,
					  const struct tp_ctrl_client_callbacks *cb);
void tp_ctrl_client_free(struct tp_ctrl_client *c);

/* The socket to poll, or -1 (IDLE), and the events to poll it for. */
int tp_ctrl_client_fd(const struct tp_ctrl_client *c);
short tp_ctrl_client_events(const struct tp_ctrl_client *c);

void tp_ctrl_client_on_readable(struct tp_ctrl_client *c);
void tp_ctrl_client_on_writable(struct tp_ctrl_client *c);

/* Deadlines: connect attempts, handshake timeout, keepalive, dead peer,
 * periodic status. Returns the milliseconds until the next deadline
 * (at most 1000), for poll()'s timeout. */
int tp_ctrl_client_tick(struct tp_ctrl_client *c);

/* Send a Status now (e.g. after a local change), if established. */
void tp_ctrl_client_send_status(struct tp_ctrl_client *c);

/* Drop the session now and retry after the backoff (tests, SIGHUP). */
void tp_ctrl_client_reset(struct tp_ctrl_client *c, const char *why);

enum tp_ctrl_client_state tp_ctrl_client_state(const struct tp_ctrl_client *c);
const char *tp_ctrl_client_state_name(enum tp_ctrl_client_state st);

/* Why a session attempt or session ended: one counter each. */
#define TP_CTRL_CLIENT_FAILS(X)                                                           \
	X(CONNECT, "connect")			  /* socket or connect error */           \
	X(CONNECT_TIMEOUT, "connect_timeout")	  /* no TCP connection in time */         \
	X(HANDSHAKE_TIMEOUT, "handshake_timeout") /* no message 2 in time */              \
	X(BAD_HANDSHAKE, "bad_handshake")	  /* message 2 not from the pinned key */ \
	X(CLOSED, "closed")			  /* end of stream from the controller */ \
	X(OVERSIZE, "oversize")			  /* frame above the maximum */           \
	X(BAD_FRAME, "bad_frame")		  /* bad tag or counter, short frame */   \
	X(UNDECODABLE, "undecodable")		  /* not an Envelope */                   \
	X(SILENT, "silent")			  /* nothing received for dead_ms */      \
	X(IO_ERROR, "io_error")			  /* read, write or queue error */        \
	X(RESET, "reset")			  /* tp_ctrl_client_reset() */

enum tp_ctrl_client_fail {
#define X(n, s) TP_CTRL_CLIENT_FAIL_##n,
	TP_CTRL_CLIENT_FAILS(X)
#undef X
		TP_CTRL_CLIENT_FAIL__COUNT
};

const char *tp_ctrl_client_fail_name(enum tp_ctrl_client_fail f);

struct tp_ctrl_client_stats {
	uint64_t attempts, sessions, pushes, acks, nacks, failures;
	uint64_t rekeys_sent, rekeys_received, rehandshakes, proofs_sent;
	uint64_t fails[TP_CTRL_CLIENT_FAIL__COUNT];
	uint64_t next_attempt_ns; /* meaningful in IDLE */
	char last_error[128];
};
void tp_ctrl_client_stats(const struct tp_ctrl_client *c, struct tp_ctrl_client_stats *st);

#endif /* TP_CTRL_CLIENT_H */
