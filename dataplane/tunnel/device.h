/* SPDX-License-Identifier: MIT */
/*
 * Internal state of a tunnel and its peers, shared by the files of the
 * engine. Ownership and who may touch what are stated field by field:
 *   [c]  control thread only
 *   [w]  written by workers (atomics), read by the control thread
 *   [cw] written by the control thread, read by workers (atomics)
 *   [r]  immutable after creation
 *
 * Functions shared between the engine's files carry a wg_ prefix (as in
 * Linux WireGuard) so they cannot clash with other libraries linked into
 * tpd; only tp_tunnel_* is public.
 */
#ifndef TP_TUNNEL_DEVICE_H
#define TP_TUNNEL_DEVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cookie.h"
#include "index.h"
#include "noise.h"
#include "ratelimiter.h"
#include "replay.h"
#include "tp/dp/tunnel.h"

/*
 * A session. Created by the control thread when a handshake completes, then
 * immutable except for the send counter (any sender, one fetch-add per burst),
 * the replay window (the one receive path of this index) and "confirmed".
 * Freed through ops->retire after being unlinked from the peer and the index.
 */
struct keypair {
	struct index_entry entry; /* [r] our index, kind INDEX_KEYPAIR */
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t birth_ns;	/* [r] */
	uint32_t remote_index;	/* [r] */
	bool initiator;		/* [r] */
	_Atomic bool confirmed; /* [w] responder: the initiator sent on it */
	_Alignas(64) _Atomic uint64_t send_counter;
	_Alignas(64) struct replay replay; /* receive path only */
};

struct tp_tunnel_peer {
	struct tp_tunnel *tun;			  /* [r] */
	void *user;				  /* [r] */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN]; /* [r] */
	uint16_t persistent_keepalive_s;	  /* [r] */

	/* Keypairs: previous, current, next. Next is a responder keypair not
	 * yet confirmed; workers send on it once it is confirmed, before the
	 * control thread rotates it into current. [cw] */
	_Atomic(struct keypair *) kp_prev, kp_cur, kp_next;

	/* Endpoint seqlock: odd seq = write in progress. Writers hold ep_lock:
	 * workers roaming the peer try it once and give up if it is held; the
	 * configuration waits for it (tp_tunnel_peer_set_endpoint). */
	_Atomic uint32_t ep_seq;
	atomic_flag ep_lock;
	_Atomic uint64_t ep_words[3];

	/* Timer events from any thread (see timers.c). */
	_Atomic bool want_handshake;	    /* send an initiation soon */
	_Atomic bool lastminute_sent;	    /* initiator's rekey-on-receive done */
	_Atomic bool need_another_ka;	    /* data arrived while keepalive armed */
	_Atomic uint64_t ka_deadline_ns;    /* 0 = keepalive timer off */
	_Atomic uint64_t nh_deadline_ns;    /* 0 = new-handshake timer off */
	_Atomic uint64_t last_traversal_ns; /* last authenticated packet either way */
	_Atomic uint64_t rx_bytes, tx_bytes;

	/* Control-thread state. */
	struct noise_handshake hs;			 /* [c] */
	struct index_entry hs_entry;			 /* [c] registered iff CREATED_INITIATION */
	struct cookie_maker cookie;			 /* [c] */
	uint64_t last_sent_handshake_ns;		 /* [c] 0 = never */
	uint64_t retransmit_deadline_ns;		 /* [c] 0 = off */
	unsigned handshake_attempts;			 /* [c] */
	uint64_t zero_deadline_ns;			 /* [c] 0 = off */
	uint64_t last_handshake_ns;			 /* [c] */
	uint64_t handshakes_completed, initiations_sent; /* [c] */
	_Atomic uint32_t nh_jitter_ns;			 /* [cw] */
};

struct tp_tunnel {
	struct tp_tunnel_ops ops; /* [r] every member set (defaults filled in) */
	void *ctx;		  /* [r] */
	uint16_t mtu;		  /* [r] */
	uint16_t mtu6;		  /* [r] peer endpoint IPv6: 20 bytes less outer room */
	struct noise_identity id; /* [r] */
	struct index_table index;
	struct cookie_checker cookie;		/* [c] */
	struct ratelimiter *rl;			/* [c] */
	struct tp_tunnel_peer **peers;		/* [c] */
	size_t npeers, peers_cap;		/* [c] */
	uint64_t last_under_load_ns;		/* [c] */
	uint64_t counters[TP_TUNNEL_RES_COUNT]; /* [c] control-path results */
};

static inline uint64_t tun_now(const struct tp_tunnel *tun)
{
	return tun->ops.now_ns(tun->ctx);
}

/* Update the endpoint from an authenticated packet's source (roaming). */
void wg_device_roam(struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *src);

#endif /* TP_TUNNEL_DEVICE_H */
