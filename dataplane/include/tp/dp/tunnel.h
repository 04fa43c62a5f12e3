/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard-compatible tunnel engine (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s,
 * message types 1-4, cookies, timers, 8192-bit replay window). DPDK-free:
 * byte buffers in and out, no sockets, no mbufs. The caller moves the bytes.
 *
 * Thread model
 * ------------
 * - ONE control thread calls everything marked [control]: creating and
 *   removing peers, tp_tunnel_handshake_receive() (types 1-3),
 *   tp_tunnel_connect() and tp_tunnel_tick() (timers). Handshakes, cookies,
 *   X25519 and every keypair install/rotation/retirement happen there. Packets
 *   the control thread emits (initiations, responses, cookie replies,
 *   keepalives) leave through ops->send.
 * - Any number of worker threads call the [worker] functions: transport
 *   encryption and decryption (type 4), single or in bursts. They take no lock
 *   shared with the control thread. They read a peer's keypairs through atomic
 *   pointers, take send counters with one atomic fetch-add per burst, and
 *   report timer events (data sent/received, "handshake wanted", "next keypair
 *   confirmed") by atomic stores that the next tp_tunnel_tick() acts on.
 * - Receive replay windows: any thread may decrypt any message. Each
 *   keypair's window is updated under its own short spin lock (the kernel's
 *   counter lock), after a lock-free pre-check, so of two workers fed the
 *   same ciphertext exactly one accepts it. Steering by receiver index
 *   (bytes 4-7 of the message) rather than by outer 5-tuple still avoids
 *   the contention: a roaming peer changes its 5-tuple mid-session.
 * - Lifetime: keypairs and peers that workers may still reference are released
 *   through ops->retire(ctx, obj, free_fn), which must call free_fn(obj) only
 *   after every worker has passed a quiescent state (rte_rcu_qsbr in tpd).
 *   Without ops->retire objects are freed at once, which is only correct when
 *   workers and control are the same thread.
 * - Endpoints (roaming) are a tiny seqlock per peer: workers update them with
 *   a try-lock that never waits (a concurrent writer's value is as fresh);
 *   tp_tunnel_peer_set_endpoint() waits for the lock, so a configured
 *   endpoint is never lost to a roaming worker; readers retry.
 *
 * - The engine queues nothing. A send refused with NO_KEY has already asked
 *   for a handshake; the caller stages the packet and flushes on
 *   TP_TUNNEL_EV_SESSION_READY, or drops its queue on
 *   TP_TUNNEL_EV_HANDSHAKE_GAVE_UP.
 *
 * Time comes from ops->now_ns (monotonic, for timers) and ops->wall_ns (for
 * TAI64N timestamps); randomness from ops->random (default: libsodium).
 */
#ifndef TP_DP_TUNNEL_H
#define TP_DP_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_TUNNEL_KEY_LEN     32
#define TP_TUNNEL_HEADER_LEN  16 /* type 4 header in front of the ciphertext */
#define TP_TUNNEL_TRAILER_MAX 31 /* worst padding (15) + Poly1305 tag (16) */
#define TP_TUNNEL_DEFAULT_MTU 1420

/*
 * Results. TP_TUNNEL_OK and TP_TUNNEL_OK_REKEY mean the packet is good (for
 * OK_REKEY the engine has also asked the control thread for a new handshake);
 * every other value is a drop whose reason names a counter.
 */
#define TP_TUNNEL_DROP_REASONS(X)                                                                  \
	X(SHORT, "short")			/* shorter than its type needs */                  \
	X(OVERSIZE, "oversize")			/* longer than its type allows */                  \
	X(BAD_TYPE, "bad_type")			/* unknown type or non-zero reserved bytes */      \
	X(BAD_MAC1, "bad_mac1")			/* handshake not meant for us */                   \
	X(NEED_COOKIE, "need_cookie")		/* under load, no valid mac2: cookie sent */       \
	X(RATELIMITED, "ratelimited")		/* per-source handshake budget exhausted */        \
	X(BAD_AEAD, "bad_aead")			/* authentication tag did not verify */            \
	X(BAD_DH, "bad_dh")			/* X25519 gave all zeros (low-order point) */      \
	X(UNKNOWN_PEER, "unknown_peer")		/* static key of no configured peer */             \
	X(STALE_TIMESTAMP, "stale_timestamp")	/* TAI64N not newer than the last one */           \
	X(INITIATION_FLOOD, "initiation_flood") /* < 1/50 s after the last initiation */           \
	X(UNKNOWN_INDEX, "unknown_index")	/* receiver index maps to nothing usable */        \
	X(BAD_STATE, "bad_state")		/* response/cookie with no matching handshake */   \
	X(REPLAYED, "replayed")			/* counter already seen */                         \
	X(TOO_OLD, "too_old")			/* counter behind the replay window */             \
	X(KEY_EXPIRED, "key_expired")		/* keypair older than REJECT_AFTER_TIME */         \
	X(KEY_EXHAUSTED, "key_exhausted")	/* counter past REJECT_AFTER_MESSAGES */           \
	X(NO_KEY, "no_key")			/* nothing to encrypt with: handshake requested */ \
	X(BAD_INNER, "bad_inner")		/* decrypted payload is not a sane IP packet */    \
	X(NO_ROOM, "no_room")			/* caller buffer too small / packet above MTU */   \
	X(NO_INDEX, "no_index")			/* index table full */

enum tp_tunnel_res {
	TP_TUNNEL_OK,
	TP_TUNNEL_OK_REKEY,
#define TP_TUNNEL_X_ENUM(name, str) TP_TUNNEL_DROP_##name,
	TP_TUNNEL_DROP_REASONS(TP_TUNNEL_X_ENUM)
#undef TP_TUNNEL_X_ENUM
		TP_TUNNEL_RES_COUNT
};

static inline bool tp_tunnel_res_ok(enum tp_tunnel_res r)
{
	return r == TP_TUNNEL_OK || r == TP_TUNNEL_OK_REKEY;
}

/* Counter name of a result ("ok", "ok_rekey", "bad_mac1", ...). */
const char *tp_tunnel_res_name(enum tp_tunnel_res r);

/* An outer UDP endpoint. family is AF_INET, AF_INET6 or 0 (unknown). */
struct tp_tunnel_endpoint {
	uint8_t family;
	uint16_t port;	  /* host byte order */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
};

struct tp_tunnel;
struct tp_tunnel_peer;

enum tp_tunnel_event {
	TP_TUNNEL_EV_SESSION_READY,	/* a keypair we may send on was installed */
	TP_TUNNEL_EV_HANDSHAKE_GAVE_UP, /* REKEY_ATTEMPT_TIME passed: drop staged data */
	TP_TUNNEL_EV_KEYS_ZEROED,	/* 540 s without a handshake: all keys wiped */
};

struct tp_tunnel_ops {
	uint64_t (*now_ns)(void *ctx);			  /* monotonic */
	uint64_t (*wall_ns)(void *ctx);			  /* Unix time in ns */
	void (*random)(void *ctx, void *buf, size_t len); /* CSPRNG */
	/* [control] a message to put on the wire towards dst; peer is NULL for
	 * a cookie reply to an unauthenticated source. */
	void (*send)(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		     const uint8_t *msg, size_t len);
	void (*retire)(void *ctx, void *obj, void (*free_fn)(void *obj));
	void (*event)(void *ctx, struct tp_tunnel_peer *peer, enum tp_tunnel_event ev);
};

struct tp_tunnel_config {
	uint8_t private_key[TP_TUNNEL_KEY_LEN];
	const struct tp_tunnel_ops *ops; /* NULL members take defaults */
	void *ctx;			 /* passed to every op */
	unsigned index_bits;		 /* log2 of index-table slots (default 14) */
	unsigned ratelimit_entries;	 /* sources tracked under load (default 4096) */
	uint16_t mtu;			 /* inner MTU, bounds padding (default 1420) */
	uint16_t mtu6; /* the same for a peer whose endpoint is IPv6 (default: mtu) */
};

struct tp_tunnel_peer_config {
	uint8_t public_key[TP_TUNNEL_KEY_LEN];
	bool has_psk;
	uint8_t psk[TP_TUNNEL_KEY_LEN];
	struct tp_tunnel_endpoint endpoint; /* family 0 if unknown (responder only) */
	uint16_t persistent_keepalive_s;    /* 0 = off */
	void *user;			    /* caller's cookie, see tp_tunnel_peer_user */
};

struct tp_tunnel_peer_stats {
	uint64_t handshakes_completed; /* sessions derived, either role */
	uint64_t handshake_initiations_sent;
	uint64_t last_handshake_ns; /* monotonic, 0 = never */
	uint64_t rx_bytes, tx_bytes;
	bool has_current_key;
};

/* [control] Construction and teardown. NULL on bad config or no memory. */
struct tp_tunnel *tp_tunnel_new(const struct tp_tunnel_config *cfg);
void tp_tunnel_free(struct tp_tunnel *tun);

/* [control] NULL on a zero/low-order key, a duplicate key or no memory. */
struct tp_tunnel_peer *tp_tunnel_peer_add(struct tp_tunnel *tun,
					  const struct tp_tunnel_peer_config *cfg);
void tp_tunnel_peer_remove(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);
struct tp_tunnel_peer *tp_tunnel_peer_find(struct tp_tunnel *tun,
					   const uint8_t public_key[TP_TUNNEL_KEY_LEN]);
void *tp_tunnel_peer_user(const struct tp_tunnel_peer *peer);
/* [any] The peer's current endpoint; false if none is known yet. */
bool tp_tunnel_peer_endpoint(const struct tp_tunnel_peer *peer, struct tp_tunnel_endpoint *out);
/* [control] Set the endpoint from the configuration; always takes effect. */
void tp_tunnel_peer_set_endpoint(struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *ep);
void tp_tunnel_peer_stats(const struct tp_tunnel_peer *peer, struct tp_tunnel_peer_stats *st);
/* [worker] Whether tp_tunnel_encrypt_burst would find a key for peer now
 * (a keypair for sending, younger than REJECT_AFTER_TIME): the staging
 * rings are drained only then, so their packets are not taken out and
 * put back behind newer ones. */
bool tp_tunnel_peer_can_send(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);

/* [control] Start a handshake now. 0 when an initiation went out, -EAGAIN if
 * one was sent < REKEY_TIMEOUT ago, -EDESTADDRREQ if the peer has no endpoint. */
int tp_tunnel_connect(struct tp_tunnel *tun, struct tp_tunnel_peer *peer);

/*
 * [control] Consume a handshake message (type 1, 2 or 3) from src. congested
 * tells whether the caller's handshake queue is at least 1/8 full; the engine
 * then stays "under load" for one more second. Replies go out via ops->send.
 */
enum tp_tunnel_res tp_tunnel_handshake_receive(struct tp_tunnel *tun, const uint8_t *msg,
					       size_t len, const struct tp_tunnel_endpoint *src,
					       bool congested);

/* [control] Run due timers. Call at least every 100 ms and after handshakes. */
void tp_tunnel_tick(struct tp_tunnel *tun);

/* [control] Counters of the control path, indexed by enum tp_tunnel_res. */
const uint64_t *tp_tunnel_counters(const struct tp_tunnel *tun);

/* [any] Message type (1..4) of a datagram, or 0 if it is none of them. */
int tp_tunnel_classify(const uint8_t *msg, size_t len);

/*
 * A packet for the burst functions. Encrypt: data points at the message
 * start, TP_TUNNEL_HEADER_LEN bytes of room, then len bytes of inner packet;
 * cap counts the bytes usable from data (inner + header + trailer room). On
 * success len becomes the message length. Decrypt: data/len is the received
 * message; on success the inner packet is at data + TP_TUNNEL_HEADER_LEN with
 * inner_len bytes (0 for a keepalive) and peer says who sent it.
 *
 * tag is the caller's and never read or written by the engine: the burst
 * functions reorder pkts[], and tag (an index into the caller's own array
 * of buffers, say) maps each result back to its buffer without a search.
 */
struct tp_tunnel_pkt {
	uint8_t *data;
	uint32_t len;
	uint32_t cap;
	uint32_t inner_len;
	uint8_t res; /* enum tp_tunnel_res */
	struct tp_tunnel_peer *peer;
	struct tp_tunnel_endpoint src; /* decrypt: outer source, for roaming */
	uint32_t tag;		       /* the caller's: moves with the packet */
};

/*
 * [worker] Encrypt n packets for peer in place. Returns how many succeeded;
 * those come first in pkts[] in their original order, the failed ones after
 * (in no particular order), each with its reason in res and its tag. An
 * OK_REKEY result is still a success.
 */
unsigned tp_tunnel_encrypt_burst(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				 struct tp_tunnel_pkt *pkts, unsigned n);

/* [worker] Decrypt n type-4 messages in place; same contract as above. */
unsigned tp_tunnel_decrypt_burst(struct tp_tunnel *tun, struct tp_tunnel_pkt *pkts, unsigned n);

/* [worker] Single-packet forms of the above. */
enum tp_tunnel_res tp_tunnel_encrypt(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				     struct tp_tunnel_pkt *pkt);
enum tp_tunnel_res tp_tunnel_decrypt(struct tp_tunnel *tun, struct tp_tunnel_pkt *pkt);

#endif /* TP_DP_TUNNEL_H */
