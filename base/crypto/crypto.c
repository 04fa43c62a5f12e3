// SPDX-License-Identifier: MIT
/*
 * Thin wrappers over libb2 (BLAKE2s) and libsodium (X25519, AEADs) giving the
 * exact constructions WireGuard uses. See tp/base/crypto.h.
 */
#include <errno.h>
#include <string.h>

#include <blake2.h>
#include <sodium.h>

#include "tp/base/crypto.h"

enum { HMAC_BLOCK_LEN = 64 };

int tp_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void tp_crypto_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

bool tp_crypto_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void tp_crypto_hash2(uint8_t out[TP_CRYPTO_HASH_LEN], const void *a, size_t alen, const void *b,
		     size_t blen)
{
	blake2s_state s;

	blake2s_init(&s, TP_CRYPTO_HASH_LEN);
	blake2s_update(&s, a, alen);
	if (blen)
		blake2s_update(&s, b, blen);
	blake2s_final(&s, out, TP_CRYPTO_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
}

void tp_crypto_mac(uint8_t out[TP_CRYPTO_MAC_LEN], const uint8_t *key, size_t keylen,
		   const void *in, size_t inlen)
{
	blake2s_state s;

	blake2s_init_key(&s, TP_CRYPTO_MAC_LEN, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out, TP_CRYPTO_MAC_LEN);
	sodium_memzero(&s, sizeof(s));
}

/* HMAC over two input pieces, so KDF needs no concatenation buffer. */
static void hmac2(uint8_t out[TP_CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen, const void *a,
		  size_t alen, const void *b, size_t blen)
{
	uint8_t pad[HMAC_BLOCK_LEN];
	uint8_t inner[TP_CRYPTO_HASH_LEN];
	uint8_t k[HMAC_BLOCK_LEN] = {0};
	blake2s_state s;

	if (keylen > HMAC_BLOCK_LEN)
		tp_crypto_hash2(k, key, keylen, NULL, 0);
	else
		memcpy(k, key, keylen);

	for (size_t i = 0; i < HMAC_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	blake2s_init(&s, TP_CRYPTO_HASH_LEN);
	blake2s_update(&s, pad, HMAC_BLOCK_LEN);
	blake2s_update(&s, a, alen);
	if (blen)
		blake2s_update(&s, b, blen);
	blake2s_final(&s, inner, TP_CRYPTO_HASH_LEN);

	for (size_t i = 0; i < HMAC_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	blake2s_init(&s, TP_CRYPTO_HASH_LEN);
	blake2s_update(&s, pad, HMAC_BLOCK_LEN);
	blake2s_update(&s, inner, TP_CRYPTO_HASH_LEN);
	blake2s_final(&s, out, TP_CRYPTO_HASH_LEN);

	sodium_memzero(&s, sizeof(s));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

void tp_crypto_hmac(uint8_t out[TP_CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen,
		    const void *in, size_t inlen)
{
	hmac2(out, key, keylen, in, inlen, NULL, 0);
}

void tp_crypto_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[TP_CRYPTO_HASH_LEN],
		   const void *in, size_t inlen)
{
	uint8_t t0[TP_CRYPTO_HASH_LEN];
	uint8_t prev[TP_CRYPTO_HASH_LEN];
	uint8_t ctr;

	hmac2(t0, ck, TP_CRYPTO_HASH_LEN, in, inlen, NULL, 0);
	ctr = 1;
	hmac2(prev, t0, sizeof(t0), &ctr, 1, NULL, 0);
	if (t2 || t3) {
		uint8_t next[TP_CRYPTO_HASH_LEN];

		ctr = 2;
		hmac2(next, t0, sizeof(t0), prev, sizeof(prev), &ctr, 1);
		if (t3) {
			ctr = 3;
			hmac2(t3, t0, sizeof(t0), next, sizeof(next), &ctr, 1);
		}
		if (t2)
			memcpy(t2, next, sizeof(next));
		sodium_memzero(next, sizeof(next));
	}
	/* t1 last: it may alias ck, which is no longer read after t0. */
	if (t1)
		memcpy(t1, prev, sizeof(prev));
	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(prev, sizeof(prev));
}

void tp_crypto_mix_hash(uint8_t h[TP_CRYPTO_HASH_LEN], const void *data, size_t len)
{
	tp_crypto_hash2(h, h, TP_CRYPTO_HASH_LEN, data, len);
}

void tp_crypto_mix_key(uint8_t ck[TP_CRYPTO_HASH_LEN], uint8_t *key, const uint8_t *dh,
		       size_t dhlen)
{
	tp_crypto_kdf(ck, key, NULL, ck, dh, dhlen);
}

bool tp_crypto_dh(uint8_t out[TP_CRYPTO_KEY_LEN], const uint8_t priv[TP_CRYPTO_KEY_LEN],
		  const uint8_t pub[TP_CRYPTO_KEY_LEN])
{
	/* libsodium already fails on an all-zero output; check again so the
	 * invariant does not depend on the library version. */
	if (crypto_scalarmult(out, priv, pub) != 0)
		return false;
	return !sodium_is_zero(out, TP_CRYPTO_KEY_LEN);
}

void tp_crypto_clamp(uint8_t priv[TP_CRYPTO_KEY_LEN])
{
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

bool tp_crypto_pubkey(uint8_t pub[TP_CRYPTO_KEY_LEN], const uint8_t priv[TP_CRYPTO_KEY_LEN])
{
	if (crypto_scalarmult_base(pub, priv) != 0)
		return false;
	return !sodium_is_zero(pub, TP_CRYPTO_KEY_LEN);
}

static void nonce_of(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void tp_crypto_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			 const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	nonce_of(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce, key);
}

bool tp_crypto_aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			 const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (len < TP_CRYPTO_TAG_LEN)
		return false;
	nonce_of(nonce, counter);
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen,
							 nonce, key) == 0;
}

void tp_crypto_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t nonce[TP_CRYPTO_XNONCE_LEN],
			  const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen)
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce,
						   key);
}

bool tp_crypto_xaead_open(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t nonce[TP_CRYPTO_XNONCE_LEN],
			  const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen)
{
	if (len < TP_CRYPTO_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen,
							  nonce, key) == 0;
}
