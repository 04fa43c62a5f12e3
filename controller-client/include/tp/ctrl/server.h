/* SPDX-License-Identifier: MIT */
/*
 * The controller's side of the channel, used by the reference controller
 * (`tpolicy serve`) and by tests.
 *
 * One server, owned by one thread, driven by poll() like the client: the
 * owner polls what tp_ctrl_server_pollfds() gives it, calls
 * tp_ctrl_server_service() with the result and tp_ctrl_server_tick() as
 * often as it asks. Nothing blocks; a slow or silent peer only ever costs
 * its own connection (bounded buffers, deadlines).
 *
 * Connections: AWAIT_1 (accepted; message 1 due within the handshake
 * timeout, frames at most TP_CTRL_FRAME_PREAUTH_MAX) -> AWAIT_HELLO
 * (message 2 sent; the Hello is the key confirmation and must come within
 * the same timeout; frames still at most TP_CTRL_FRAME_PREAUTH_MAX, since
 * a replayed message 1 gets this far) -> UP (frames up to
 * TP_CTRL_FRAME_MAX). Only an UP connection is "the" connection of its
 * TP: a newer UP connection of the same key replaces an older one, so a
 * replayed message 1 (which nobody can follow with a valid Hello) never
 * displaces a live session. A message 1 whose static key is not in the TP
 * list is refused without an answer.
 *
 * Unauthenticated connections (AWAIT_1, AWAIT_HELLO) have their own caps,
 * apart from the live sessions: at most max_pending in all and
 * max_pending_per_addr from one address (an IPv4 address, or an IPv6 /64:
 * a host may use a new address of its /64 for every connection). A new
 * connection over a cap
 * evicts the oldest unauthenticated one (of its address for the
 * per-address cap), so half-open sockets cannot lock out a TP that
 * reconnects: its connection is the newest, and it only has to finish the
 * handshake before max_pending newer ones arrive. max_conns bounds
 * everything; UP sessions are never evicted for a newcomer.
 *
 * Keys: each UP session that announced FEATURE_REKEY gets its sending key
 * replaced every rekey_frames frames or rekey_ms (tp/ctrl/conn.h); a
 * session older than max_session_ms plus the handshake timeout is closed
 * (the TP handshakes again at max_session_ms).
 *
 * Versions: what a TP reports (Hello, Status, Ack) is only its word, used
 * for display and to skip pushes it does not need. When it reports a
 * version newer than the published one, the server asks for proof
 * (ProofRequest, once per claim and session) and verifies the answer with
 * bundle_pk: only then does proven_version move. A genuine bundle below
 * the claim proves its own version but refuses the claim and ends the
 * asking for the session (no check per higher claim). The reference controller
 * continues its counter from proven versions only.
 *
 * TPs: the list set by tp_ctrl_server_set_tps() (from the site). For each
 * the server records the connection state, the version the TP says it
 * runs (Hello, Status, Ack), and the last ack/nack. A published bundle is
 * pushed to every UP TP that runs an older version, once per connection.
 */
#ifndef TP_CTRL_SERVER_H
#define TP_CTRL_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/base/clock.h"

struct tp_ctrl_server;

struct tp_ctrl_server_config {
	char listen[128];	 /* numeric "IPv4:port" / "[IPv6]:port" */
	uint8_t static_priv[32]; /* controller's X25519 key (tp_ctrl_noise_priv_from_ed25519) */
	struct tp_clock clock;
	unsigned max_conns;	       /* (256) */
	uint32_t handshake_timeout_ms; /* (5000) */
	uint32_t dead_ms;	       /* (30000) no frame from an UP TP: close */
	uint32_t keepalive_ms;	       /* (10000) ping an UP TP when idle this long */
	unsigned max_pending;	       /* (64) unauthenticated connections */
	unsigned max_pending_per_addr; /* (8) of them from one IP address */
	uint32_t rekey_ms;	       /* (TP_CTRL_REKEY_AFTER_MS) */
	uint32_t rekey_frames;	       /* (TP_CTRL_REKEY_AFTER_FRAMES) */
	uint32_t max_session_ms;       /* (TP_CTRL_SESSION_MAX_MS) */
	/* The controller's Ed25519 public key: proofs of version (a TP's
	 * running bundle) are verified with it. All zero: nothing is ever
	 * proven. */
	uint8_t bundle_pk[32];
	void (*log)(void *arg, const char *msg); /* one line per event; optional */
	void *log_arg;
	/* A TP answered an ExportRequest: data (the canonical export, len
	 * bytes) or error (data NULL). Borrowed for the call; optional. */
	void (*on_export)(void *arg, const char *tp, const uint8_t *data, size_t len,
			  const char *error);
	void *export_arg;
};

struct tp_ctrl_server_tp_spec {
	char name[64];
	uint8_t pubkey[32];
};

#define TP_CTRL_SERVER_COUNTERS_MAX 16

/* What the server knows about one TP. */
struct tp_ctrl_server_tp {
	char name[64];
	uint8_t pubkey[32];
	bool connected;	    /* an UP connection exists */
	char peer_addr[64]; /* of the current or last connection */
	char software_version[32];
	uint64_t running_version; /* last reported (Hello, Ack, Status): its word */
	uint64_t proven_version;  /* newest it proved: a bundle bundle_pk signed */
	uint64_t proof_hold_ns;	  /* no ProofRequest before this (after a refused proof) */
	uint64_t acked_version;	  /* last Ack */
	uint64_t nacked_version;  /* last Nack */
	int nack_reason;	  /* tableau.v1 NackReason of the last Nack */
	char nack_text[160];
	int policy_state; /* tableau.v1 PolicyState from the last Status */
	int64_t policy_expires_at;
	uint32_t peers, peers_up; /* tunnel peers in the last Status */
	size_t n_counters;	  /* the last Status's counter summary (first ones) */
	struct {
		char name[32];
		uint64_t value;
	} counters[TP_CTRL_SERVER_COUNTERS_MAX];
	uint64_t sessions; /* UP connections so far */
	uint64_t since_ns; /* last change of connected */
};

/* Why the server closed a connection: one counter each. X(name, "text") */
#define TP_CTRL_SERVER_CLOSES(X)                                                            \
	X(UNKNOWN_KEY, "unknown_key")		  /* not a TP of the site */                \
	X(BAD_HANDSHAKE, "bad_handshake")	  /* message 1 did not verify */            \
	X(HANDSHAKE_TIMEOUT, "handshake_timeout") /* no message 1 or Hello in time */       \
	X(SILENT, "silent")			  /* UP, nothing received for dead_ms */    \
	X(OVERSIZE, "oversize")			  /* frame above the maximum */             \
	X(BAD_FRAME, "bad_frame")		  /* bad tag or counter, short frame */     \
	X(UNDECODABLE, "undecodable")		  /* not an Envelope */                     \
	X(PROTOCOL, "protocol")			  /* Hello missing, repeated, mismatched */ \
	X(SLOW_PEER, "slow_peer")		  /* output backlog full */                 \
	X(REPLACED, "replaced")			  /* a newer session of the same TP */      \
	X(REMOVED, "removed")			  /* the TP left the site */                \
	X(PEER_CLOSED, "peer_closed")		  /* end of stream */                       \
	X(IO_ERROR, "io_error")			  /* read or write error */                 \
	X(FULL, "full")				  /* max_conns reached at accept */         \
	X(EVICTED, "evicted")	      /* oldest unauthenticated, max_pending reached */     \
	X(PER_ADDRESS, "per_address") /* oldest of its address, per-address cap */          \
	X(LIFETIME, "lifetime")	      /* session older than max_session_ms */

enum tp_ctrl_server_close {
#define X(n, s) TP_CTRL_SERVER_CLOSE_##n,
	TP_CTRL_SERVER_CLOSES(X)
#undef X
		TP_CTRL_SERVER_CLOSE__COUNT
};

const char *tp_ctrl_server_close_name(enum tp_ctrl_server_close r);

struct tp_ctrl_server_stats {
	uint64_t accepted, pushes;
	uint64_t proofs_asked, proofs_verified, proofs_refused;
	uint64_t rekeys_sent, rekeys_received;
	uint64_t closes[TP_CTRL_SERVER_CLOSE__COUNT];
};

/* Listen and return the server, or NULL with a reason in err. */
struct tp_ctrl_server *tp_ctrl_server_new(const struct tp_ctrl_server_config *cfg, char *err,
					  size_t errlen);
void tp_ctrl_server_free(struct tp_ctrl_server *s);

/* The port actually bound (for ":0" listeners in tests). */
uint16_t tp_ctrl_server_port(const struct tp_ctrl_server *s);

/* Replace the TP list. TPs that stay (same key) keep their state; removed
 * ones are disconnected. 0 or -ENOMEM. */
int tp_ctrl_server_set_tps(struct tp_ctrl_server *s, const struct tp_ctrl_server_tp_spec *tps,
			   size_t n);

/* Publish a bundle (copied): pushed now to every UP TP running an older
 * version, and to every TP that comes up later. 0, -ENOMEM, or -ERANGE
 * for version 0 or 2^64-1 (never valid). */
int tp_ctrl_server_publish(struct tp_ctrl_server *s, uint64_t version, const uint8_t *bundle,
			   size_t len);
uint64_t tp_ctrl_server_version(const struct tp_ctrl_server *s);
/* The newest version any TP of the site proved it runs (0: none). */
/* After a refused proof, that TP is not asked again for this long, across
 * sessions: each check costs a signature check and a decode of up to
 * 16 MiB, and reconnecting costs the TP little. */
#define TP_CTRL_SERVER_PROOF_HOLD_MS (60u * 1000u)

uint64_t tp_ctrl_server_proven_version(const struct tp_ctrl_server *s);

/* The per-address cap's key of a peer address: AF_INET and the IPv4
 * address (also for ::ffff:a.b.c.d), or AF_INET6 and the /64; the rest
 * zero. Exposed for tests. */
#define TP_CTRL_SERVER_ADDR_KEY_LEN 17
struct sockaddr_storage;
void tp_ctrl_server_addr_key(const struct sockaddr_storage *ss,
			     uint8_t key[TP_CTRL_SERVER_ADDR_KEY_LEN]);

/* Ask every UP TP for its verification export; each answer goes to
 * cfg.on_export (and is logged). */
void tp_ctrl_server_request_export(struct tp_ctrl_server *s);

unsigned tp_ctrl_server_pollfds(struct tp_ctrl_server *s, struct pollfd *pfd, unsigned max);
void tp_ctrl_server_service(struct tp_ctrl_server *s, const struct pollfd *pfd, unsigned n);
/* Deadlines; returns milliseconds until the next one (at most 1000). */
int tp_ctrl_server_tick(struct tp_ctrl_server *s);

size_t tp_ctrl_server_n_tps(const struct tp_ctrl_server *s);
const struct tp_ctrl_server_tp *tp_ctrl_server_tp(const struct tp_ctrl_server *s, size_t i);
void tp_ctrl_server_stats(const struct tp_ctrl_server *s, struct tp_ctrl_server_stats *st);
/* Connections open right now, in any state. */
unsigned tp_ctrl_server_n_conns(const struct tp_ctrl_server *s);

#endif /* TP_CTRL_SERVER_H */
