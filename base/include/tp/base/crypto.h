/* SPDX-License-Identifier: MIT */
/*
 * Noise building blocks shared by the WireGuard tunnel engine and the
 * controller channel (Noise_IK): HASH, MAC, HMAC and HKDF over BLAKE2s (libb2),
 * X25519 and the two AEADs (libsodium). Nothing here is a hand-written
 * primitive; these are thin, constant-size wrappers so callers never pass a
 * wrong length to the libraries.
 *
 * Every function is reentrant and allocation-free. Functions that produce
 * secrets write them only to the caller's buffers; intermediate values on the
 * stack are wiped before returning.
 */
#ifndef TP_BASE_CRYPTO_H
#define TP_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TP_CRYPTO_KEY_LEN = 32,	   /* X25519 keys, symmetric keys, HASH output */
	TP_CRYPTO_HASH_LEN = 32,   /* BLAKE2s-256 */
	TP_CRYPTO_MAC_LEN = 16,	   /* keyed BLAKE2s-128 */
	TP_CRYPTO_TAG_LEN = 16,	   /* Poly1305 */
	TP_CRYPTO_XNONCE_LEN = 24, /* XChaCha20-Poly1305 nonce */
};

/* out = BLAKE2s-256(a || b); b may be NULL when blen is 0. */
void tp_crypto_hash2(uint8_t out[TP_CRYPTO_HASH_LEN], const void *a, size_t alen, const void *b,
		     size_t blen);

/* out = BLAKE2s-128 keyed with key (keylen 1..32) over in. */
void tp_crypto_mac(uint8_t out[TP_CRYPTO_MAC_LEN], const uint8_t *key, size_t keylen,
		   const void *in, size_t inlen);

/* RFC 2104 HMAC over BLAKE2s-256, block size 64. */
void tp_crypto_hmac(uint8_t out[TP_CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen,
		    const void *in, size_t inlen);

/*
 * WireGuard's KDF_n: t0 = HMAC(ck, in); t1 = HMAC(t0, 0x1);
 * t2 = HMAC(t0, t1 || 0x2); t3 = HMAC(t0, t2 || 0x3). Writes t1..tn to the
 * non-NULL outputs (n = index of the last non-NULL one). t1 may alias ck.
 */
void tp_crypto_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[TP_CRYPTO_HASH_LEN],
		   const void *in, size_t inlen);

/* Noise MixHash: h = HASH(h || data). */
void tp_crypto_mix_hash(uint8_t h[TP_CRYPTO_HASH_LEN], const void *data, size_t len);

/* Noise MixKey: (ck, key) = KDF2(ck, dh). key may be NULL (KDF1). */
void tp_crypto_mix_key(uint8_t ck[TP_CRYPTO_HASH_LEN], uint8_t *key, const uint8_t *dh,
		       size_t dhlen);

/* X25519. Returns false if the result is all zero (low-order point). */
bool tp_crypto_dh(uint8_t out[TP_CRYPTO_KEY_LEN], const uint8_t priv[TP_CRYPTO_KEY_LEN],
		  const uint8_t pub[TP_CRYPTO_KEY_LEN]);

/* Clamp a private key the way `wg genkey` does. */
void tp_crypto_clamp(uint8_t priv[TP_CRYPTO_KEY_LEN]);

/* pub = X25519(priv, basepoint). Returns false on an all-zero result. */
bool tp_crypto_pubkey(uint8_t pub[TP_CRYPTO_KEY_LEN], const uint8_t priv[TP_CRYPTO_KEY_LEN]);

/*
 * ChaCha20-Poly1305 IETF with the 96-bit nonce 0^32 || le64(counter).
 * seal writes len + 16 bytes to dst (dst may equal src); open reads len bytes
 * of ciphertext including the tag and writes len - 16 bytes. open returns
 * false on a bad tag (dst contents then undefined, never used).
 */
void tp_crypto_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			 const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen);
bool tp_crypto_aead_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			 const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen);

/* XChaCha20-Poly1305 IETF with an explicit 24-byte nonce. */
void tp_crypto_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t nonce[TP_CRYPTO_XNONCE_LEN],
			  const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen);
bool tp_crypto_xaead_open(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t nonce[TP_CRYPTO_XNONCE_LEN],
			  const uint8_t key[TP_CRYPTO_KEY_LEN], const void *ad, size_t adlen);

/* Constant-time comparison of n bytes. */
bool tp_crypto_equal(const void *a, const void *b, size_t n);

/* Wipe memory the compiler may not optimise away (sodium_memzero). */
void tp_crypto_wipe(void *p, size_t n);

/* Initialise libsodium once; returns 0 or -EIO. Safe to call repeatedly. */
int tp_crypto_init(void);

#endif /* TP_BASE_CRYPTO_H */
