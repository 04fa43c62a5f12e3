// SPDX-License-Identifier: MIT
/*
 * The four Noise message computations. Every function works on local copies
 * of the chaining key and hash and commits them to the handshake only once
 * the whole message has been verified, so a bad message never disturbs a
 * handshake in flight. Every local secret is wiped on every return path.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"
#include "tai64n.h"

static uint8_t initial_chaining_key[NOISE_HASH_LEN];
static uint8_t initial_hash[NOISE_HASH_LEN];
static pthread_once_t constants_once = PTHREAD_ONCE_INIT;

static void constants_init(void)
{
	tp_crypto_hash2(initial_chaining_key, NOISE_CONSTRUCTION, strlen(NOISE_CONSTRUCTION), NULL,
			0);
	tp_crypto_hash2(initial_hash, initial_chaining_key, NOISE_HASH_LEN, NOISE_IDENTIFIER,
			strlen(NOISE_IDENTIFIER));
}

/* ck = HASH(construction); h = HASH(HASH(ck || identifier) || responder static). */
static void handshake_start(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			    const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	pthread_once(&constants_once, constants_init);
	memcpy(ck, initial_chaining_key, NOISE_HASH_LEN);
	memcpy(h, initial_hash, NOISE_HASH_LEN);
	tp_crypto_mix_hash(h, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* An ephemeral public key enters both the hash and the chaining key. */
static void mix_ephemeral(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			  const uint8_t e[NOISE_PUBLIC_KEY_LEN])
{
	tp_crypto_mix_hash(h, e, NOISE_PUBLIC_KEY_LEN);
	tp_crypto_mix_key(ck, NULL, e, NOISE_PUBLIC_KEY_LEN);
}

/* (ck, key) = KDF2(ck, DH(priv, pub)); false on an all-zero DH. */
static bool mix_dh(uint8_t ck[NOISE_HASH_LEN], uint8_t *key, const uint8_t *priv,
		   const uint8_t *pub)
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	bool ok = tp_crypto_dh(dh, priv, pub);

	if (ok)
		tp_crypto_mix_key(ck, key, dh, sizeof(dh));
	sodium_memzero(dh, sizeof(dh));
	return ok;
}

/* (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau). */
static void mix_psk(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
		    uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	tp_crypto_kdf(ck, tau, key, ck, psk, NOISE_SYMMETRIC_KEY_LEN);
	tp_crypto_mix_hash(h, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

static void seal_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t key[NOISE_SYMMETRIC_KEY_LEN], uint8_t h[NOISE_HASH_LEN])
{
	tp_crypto_aead_seal(dst, src, len, 0, key, h, NOISE_HASH_LEN);
	tp_crypto_mix_hash(h, dst, len + NOISE_AUTHTAG_LEN);
}

static bool open_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t key[NOISE_SYMMETRIC_KEY_LEN], uint8_t h[NOISE_HASH_LEN])
{
	if (!tp_crypto_aead_open(dst, src, len + NOISE_AUTHTAG_LEN, 0, key, h, NOISE_HASH_LEN))
		return false;
	tp_crypto_mix_hash(h, src, len + NOISE_AUTHTAG_LEN);
	return true;
}

static bool ephemeral_generate(uint8_t priv[NOISE_PUBLIC_KEY_LEN],
			       uint8_t pub[NOISE_PUBLIC_KEY_LEN], random_fn rnd, void *rctx)
{
	rnd(rctx, priv, NOISE_PUBLIC_KEY_LEN);
	tp_crypto_clamp(priv);
	return tp_crypto_pubkey(pub, priv);
}

bool wg_noise_handshake_init(struct noise_handshake *hs, const struct noise_identity *id,
			     const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *psk)
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	return tp_crypto_dh(hs->precomputed_static_static, id->private_key, remote_static);
}

void wg_noise_handshake_clear(struct noise_handshake *hs)
{
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	sodium_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	sodium_memzero(hs->hash, sizeof(hs->hash));
	sodium_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void wg_noise_handshake_wipe(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

/* A message we created is on its way: keep our ephemeral and the transcript
 * (chaining key and hash) for the peer's answer. The caller wipes its copies. */
static void keep_created(struct noise_handshake *hs, const uint8_t eph[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t ck[NOISE_HASH_LEN], const uint8_t h[NOISE_HASH_LEN],
			 enum noise_handshake_state state)
{
	memcpy(hs->ephemeral_private, eph, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->chaining_key, ck, NOISE_HASH_LEN);
	memcpy(hs->hash, h, NOISE_HASH_LEN);
	hs->state = state;
}

enum tp_tunnel_res wg_noise_create_initiation(const struct noise_identity *id,
					      struct noise_handshake *hs,
					      struct message_handshake_initiation *msg,
					      uint32_t local_index, uint64_t wall_ns, random_fn rnd,
					      void *rctx)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t eph[NOISE_PUBLIC_KEY_LEN];
	uint8_t ts[NOISE_TIMESTAMP_LEN];
	enum tp_tunnel_res res = TP_TUNNEL_DROP_BAD_DH;

	wg_noise_handshake_clear(hs);
	handshake_start(ck, h, hs->remote_static);
	message_header_set(&msg->header, MESSAGE_HANDSHAKE_INITIATION);
	put_le32(msg->sender_index, local_index);

	if (!ephemeral_generate(eph, msg->unencrypted_ephemeral, rnd, rctx))
		goto out_wipe;
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);
	if (!mix_dh(ck, key, eph, hs->remote_static))
		goto out_wipe;
	seal_and_hash(msg->encrypted_static, id->public_key, NOISE_PUBLIC_KEY_LEN, key, h);
	tp_crypto_mix_key(ck, key, hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
	wg_tai64n_now(ts, wall_ns);
	seal_and_hash(msg->encrypted_timestamp, ts, NOISE_TIMESTAMP_LEN, key, h);

	keep_created(hs, eph, ck, h, HANDSHAKE_CREATED_INITIATION);
	res = TP_TUNNEL_OK;
out_wipe:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(eph, sizeof(eph));
	return res;
}

enum tp_tunnel_res wg_noise_consume_initiation(const struct noise_identity *id,
					       const struct message_handshake_initiation *msg,
					       noise_lookup_fn lookup, void *lctx, uint64_t now_ns,
					       struct noise_handshake **out)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN];
	uint8_t ts[NOISE_TIMESTAMP_LEN];
	struct noise_handshake *hs;
	enum tp_tunnel_res res;

	*out = NULL;
	handshake_start(ck, h, id->public_key);
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);
	res = TP_TUNNEL_DROP_BAD_DH;
	if (!mix_dh(ck, key, id->private_key, msg->unencrypted_ephemeral))
		goto out_wipe;
	res = TP_TUNNEL_DROP_BAD_AEAD;
	if (!open_and_hash(s, msg->encrypted_static, NOISE_PUBLIC_KEY_LEN, key, h))
		goto out_wipe;
	res = TP_TUNNEL_DROP_UNKNOWN_PEER;
	hs = lookup(lctx, s);
	if (!hs)
		goto out_wipe;
	tp_crypto_mix_key(ck, key, hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
	res = TP_TUNNEL_DROP_BAD_AEAD;
	if (!open_and_hash(ts, msg->encrypted_timestamp, NOISE_TIMESTAMP_LEN, key, h))
		goto out_wipe;
	res = TP_TUNNEL_DROP_STALE_TIMESTAMP;
	if (!wg_tai64n_after(ts, hs->latest_timestamp))
		goto out_wipe;
	res = TP_TUNNEL_DROP_INITIATION_FLOOD;
	if (hs->last_initiation_consumption_ns &&
	    now_ns - hs->last_initiation_consumption_ns < INITIATION_MIN_GAP_NS)
		goto out_wipe;

	/* Verified: overwrite whatever handshake was in flight with this one. */
	wg_noise_handshake_clear(hs);
	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, ts, sizeof(ts));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, h, sizeof(h));
	hs->remote_index = get_le32(msg->sender_index);
	hs->last_initiation_consumption_ns = now_ns ? now_ns : 1;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	*out = hs;
	res = TP_TUNNEL_OK;
out_wipe:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(ts, sizeof(ts));
	return res;
}

enum tp_tunnel_res wg_noise_create_response(const struct noise_identity *id,
					    struct noise_handshake *hs,
					    struct message_handshake_response *msg,
					    uint32_t local_index, random_fn rnd, void *rctx)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t eph[NOISE_PUBLIC_KEY_LEN];
	enum tp_tunnel_res res = TP_TUNNEL_DROP_BAD_STATE;

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return res;
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(h, hs->hash, sizeof(h));
	message_header_set(&msg->header, MESSAGE_HANDSHAKE_RESPONSE);
	put_le32(msg->sender_index, local_index);
	put_le32(msg->receiver_index, hs->remote_index);

	res = TP_TUNNEL_DROP_BAD_DH;
	if (!ephemeral_generate(eph, msg->unencrypted_ephemeral, rnd, rctx))
		goto out_wipe;
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);
	if (!mix_dh(ck, NULL, eph, hs->remote_ephemeral))
		goto out_wipe;
	if (!mix_dh(ck, NULL, eph, hs->remote_static))
		goto out_wipe;
	mix_psk(ck, h, key, hs->preshared_key);
	seal_and_hash(msg->encrypted_nothing, NULL, 0, key, h);

	keep_created(hs, eph, ck, h, HANDSHAKE_CREATED_RESPONSE);
	res = TP_TUNNEL_OK;
out_wipe:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(eph, sizeof(eph));
	return res;
}

enum tp_tunnel_res wg_noise_consume_response(const struct noise_identity *id,
					     struct noise_handshake *hs,
					     const struct message_handshake_response *msg)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	enum tp_tunnel_res res = TP_TUNNEL_DROP_BAD_STATE;

	if (hs->state != HANDSHAKE_CREATED_INITIATION)
		return res;
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(h, hs->hash, sizeof(h));

	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);
	res = TP_TUNNEL_DROP_BAD_DH;
	if (!mix_dh(ck, NULL, hs->ephemeral_private, msg->unencrypted_ephemeral))
		goto out_wipe;
	if (!mix_dh(ck, NULL, id->private_key, msg->unencrypted_ephemeral))
		goto out_wipe;
	mix_psk(ck, h, key, hs->preshared_key);
	res = TP_TUNNEL_DROP_BAD_AEAD;
	if (!open_and_hash(NULL, msg->encrypted_nothing, 0, key, h))
		goto out_wipe;

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, h, sizeof(h));
	hs->remote_index = get_le32(msg->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	res = TP_TUNNEL_OK;
out_wipe:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	return res;
}

bool wg_noise_derive_keys(struct noise_handshake *hs, uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
			  uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], bool *initiator)
{
	uint8_t first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];

	if (hs->state != HANDSHAKE_CREATED_RESPONSE && hs->state != HANDSHAKE_CONSUMED_RESPONSE)
		return false;
	*initiator = hs->state == HANDSHAKE_CONSUMED_RESPONSE;
	tp_crypto_kdf(first, second, NULL, hs->chaining_key, NULL, 0);
	memcpy(send_key, *initiator ? first : second, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(recv_key, *initiator ? second : first, NOISE_SYMMETRIC_KEY_LEN);
	sodium_memzero(first, sizeof(first));
	sodium_memzero(second, sizeof(second));
	wg_noise_handshake_clear(hs);
	return true;
}
