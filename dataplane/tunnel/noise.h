/* SPDX-License-Identifier: MIT */
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it. Works on one
 * handshake state and byte buffers; it knows nothing of indices, peers'
 * storage or packets, and finds the initiator's handshake through a lookup
 * upcall. [control thread only]
 *
 * State of a handshake (struct noise_handshake), per peer:
 *   ZEROED               no handshake in flight, no ephemeral secret held
 *   CREATED_INITIATION   we sent an initiation; waiting for the response
 *   CONSUMED_INITIATION  we accepted the peer's initiation (transient: the
 *                        response is created immediately)
 *   CREATED_RESPONSE     we answered; keys can be derived (responder side)
 *   CONSUMED_RESPONSE    we accepted the response; keys can be derived
 * Deriving the transport keys returns the state to ZEROED and wipes the
 * ephemeral key, chaining key and hash. The static-static DH, the preshared
 * key and the newest timestamp seen survive until the peer is removed.
 */
#ifndef TP_TUNNEL_NOISE_H
#define TP_TUNNEL_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "cookie.h"
#include "messages.h"
#include "tp/dp/tunnel.h"

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

struct noise_identity {
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
};

struct noise_handshake {
	enum noise_handshake_state state;
	uint32_t remote_index;
	uint64_t last_initiation_consumption_ns; /* 0 = never */
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
};

typedef struct noise_handshake *(*noise_lookup_fn)(
	void *ctx, const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]);

/* false if the static-static DH is all zeros (unusable peer key). */
bool wg_noise_handshake_init(struct noise_handshake *hs, const struct noise_identity *id,
			     const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *psk);
/* Back to ZEROED, wiping the ephemeral part of the state. */
void wg_noise_handshake_clear(struct noise_handshake *hs);
/* Wipe everything (peer removal). */
void wg_noise_handshake_wipe(struct noise_handshake *hs);

enum tp_tunnel_res wg_noise_create_initiation(const struct noise_identity *id,
					      struct noise_handshake *hs,
					      struct message_handshake_initiation *msg,
					      uint32_t local_index, uint64_t wall_ns, random_fn rnd,
					      void *rctx);
enum tp_tunnel_res wg_noise_consume_initiation(const struct noise_identity *id,
					       const struct message_handshake_initiation *msg,
					       noise_lookup_fn lookup, void *lctx, uint64_t now_ns,
					       struct noise_handshake **out);
enum tp_tunnel_res wg_noise_create_response(const struct noise_identity *id,
					    struct noise_handshake *hs,
					    struct message_handshake_response *msg,
					    uint32_t local_index, random_fn rnd, void *rctx);
enum tp_tunnel_res wg_noise_consume_response(const struct noise_identity *id,
					     struct noise_handshake *hs,
					     const struct message_handshake_response *msg);
/* From CREATED_RESPONSE or CONSUMED_RESPONSE: the transport keys; clears hs. */
bool wg_noise_derive_keys(struct noise_handshake *hs, uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
			  uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], bool *initiator);

#endif /* TP_TUNNEL_NOISE_H */
