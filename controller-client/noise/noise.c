// SPDX-License-Identifier: MIT
/*
 * Noise_IK over tp/base/crypto.h (see tp/ctrl/noise.h). The symmetric state is
 * (h, ck, k, n); in IK every cipher key is used for exactly one
 * EncryptAndHash before the next MixKey replaces it, so n is always 0 here
 * and is not stored.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "tp/base/crypto.h"
#include "tp/ctrl/noise.h"
#include "tp/base/keys.h"

static void encrypt_and_hash(uint8_t h[32], const uint8_t k[32], const void *pt, size_t len,
			     uint8_t *out)
{
	tp_crypto_aead_seal(out, pt, len, 0, k, h, 32);
	tp_crypto_mix_hash(h, out, len + TP_CRYPTO_TAG_LEN);
}

static bool decrypt_and_hash(uint8_t h[32], const uint8_t k[32], const uint8_t *ct, size_t len,
			     uint8_t *out)
{
	if (!tp_crypto_aead_open(out, ct, len, 0, k, h, 32))
		return false;
	tp_crypto_mix_hash(h, ct, len);
	return true;
}

/* MixKey(DH(priv, pub)); false on a low-order point. */
static bool mix_dh(uint8_t ck[32], uint8_t k[32], const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t dh[32];
	bool ok = tp_crypto_dh(dh, priv, pub);

	if (ok)
		tp_crypto_mix_key(ck, k, dh, sizeof(dh));
	tp_crypto_wipe(dh, sizeof(dh));
	return ok;
}

static void split(struct tp_ctrl_noise *hs, struct tp_ctrl_noise_keys *keys)
{
	uint8_t k1[32], k2[32];

	tp_crypto_kdf(k1, k2, NULL, hs->ck, NULL, 0);
	memcpy(keys->send, hs->initiator ? k1 : k2, 32);
	memcpy(keys->recv, hs->initiator ? k2 : k1, 32);
	memcpy(keys->hash, hs->h, 32);
	tp_crypto_wipe(k1, sizeof(k1));
	tp_crypto_wipe(k2, sizeof(k2));
}

static bool make_ephemeral(struct tp_ctrl_noise *hs, const uint8_t *e_priv)
{
	if (e_priv)
		memcpy(hs->e_priv, e_priv, 32);
	else if (tp_key_wg_generate(hs->e_priv, NULL) != 0)
		return false;
	return tp_crypto_pubkey(hs->e_pub, hs->e_priv);
}

void tp_ctrl_noise_wipe(struct tp_ctrl_noise *hs)
{
	tp_crypto_wipe(hs, sizeof(*hs));
}

bool tp_ctrl_noise_init(struct tp_ctrl_noise *hs, bool initiator, const uint8_t s_priv[32],
			const uint8_t *rs)
{
	static const char name[] = TP_CTRL_NOISE_NAME;
	static const char prologue[] = TP_CTRL_NOISE_PROLOGUE;

	tp_ctrl_noise_wipe(hs);
	if (initiator && !rs)
		return false;
	hs->initiator = initiator;
	memcpy(hs->s_priv, s_priv, 32);
	if (!tp_crypto_pubkey(hs->s_pub, hs->s_priv))
		goto bad_key;
	/* The name is longer than HASHLEN, so h = HASH(name). */
	tp_crypto_hash2(hs->h, name, sizeof(name) - 1, NULL, 0);
	memcpy(hs->ck, hs->h, 32);
	tp_crypto_mix_hash(hs->h, prologue, sizeof(prologue) - 1);
	/* Pre-message "<- s": the responder's static key. */
	if (initiator)
		memcpy(hs->rs, rs, 32);
	tp_crypto_mix_hash(hs->h, initiator ? hs->rs : hs->s_pub, 32);
	return true;
bad_key:
	tp_ctrl_noise_wipe(hs);
	return false;
}

int tp_ctrl_noise_write1(struct tp_ctrl_noise *hs, const uint8_t *e_priv, const void *payload,
			 size_t plen, uint8_t *out, size_t outmax)
{
	uint8_t k[32];
	int rc = -EINVAL;

	if (!hs->initiator || hs->state != TP_CTRL_NOISE_ZEROED || plen > TP_CTRL_NOISE_PAYLOAD_MAX)
		goto out;
	rc = -EMSGSIZE;
	if (outmax < TP_CTRL_NOISE_MSG1_OVERHEAD + plen)
		goto out;
	rc = -EINVAL;
	if (!make_ephemeral(hs, e_priv))
		goto out;
	/* -> e */
	memcpy(out, hs->e_pub, 32);
	tp_crypto_mix_hash(hs->h, hs->e_pub, 32);
	/* es */
	if (!mix_dh(hs->ck, k, hs->e_priv, hs->rs))
		goto out;
	/* s */
	encrypt_and_hash(hs->h, k, hs->s_pub, 32, out + 32);
	/* ss */
	if (!mix_dh(hs->ck, k, hs->s_priv, hs->rs))
		goto out;
	encrypt_and_hash(hs->h, k, payload, plen, out + 32 + 48);
	hs->state = TP_CTRL_NOISE_SENT_1;
	rc = (int)(TP_CTRL_NOISE_MSG1_OVERHEAD + plen);
out:
	tp_crypto_wipe(k, sizeof(k));
	return rc;
}

int tp_ctrl_noise_read1(struct tp_ctrl_noise *hs, const uint8_t *in, size_t len, uint8_t *payload,
			size_t pmax)
{
	uint8_t k[32];
	size_t plen;
	int rc = -EBADMSG;

	if (hs->initiator || hs->state != TP_CTRL_NOISE_ZEROED)
		return -EINVAL;
	if (len < TP_CTRL_NOISE_MSG1_OVERHEAD ||
	    len - TP_CTRL_NOISE_MSG1_OVERHEAD > TP_CTRL_NOISE_PAYLOAD_MAX)
		goto bad;
	plen = len - TP_CTRL_NOISE_MSG1_OVERHEAD;
	if (plen > pmax)
		goto bad;
	memcpy(hs->re, in, 32);
	tp_crypto_mix_hash(hs->h, hs->re, 32);
	if (!mix_dh(hs->ck, k, hs->s_priv, hs->re))
		goto bad;
	if (!decrypt_and_hash(hs->h, k, in + 32, 48, hs->rs))
		goto bad;
	if (!mix_dh(hs->ck, k, hs->s_priv, hs->rs))
		goto bad;
	if (!decrypt_and_hash(hs->h, k, in + 80, plen + 16, payload))
		goto bad;
	hs->state = TP_CTRL_NOISE_READ_1;
	rc = (int)plen;
	goto out;
bad:
	tp_ctrl_noise_wipe(hs);
out:
	tp_crypto_wipe(k, sizeof(k));
	return rc;
}

int tp_ctrl_noise_write2(struct tp_ctrl_noise *hs, const uint8_t *e_priv, const void *payload,
			 size_t plen, uint8_t *out, size_t outmax, struct tp_ctrl_noise_keys *keys)
{
	uint8_t k[32];
	int rc = -EINVAL;

	if (hs->initiator || hs->state != TP_CTRL_NOISE_READ_1 || plen > TP_CTRL_NOISE_PAYLOAD_MAX)
		goto out;
	rc = -EMSGSIZE;
	if (outmax < TP_CTRL_NOISE_MSG2_OVERHEAD + plen)
		goto out;
	rc = -EINVAL;
	if (!make_ephemeral(hs, e_priv))
		goto out;
	/* <- e */
	memcpy(out, hs->e_pub, 32);
	tp_crypto_mix_hash(hs->h, hs->e_pub, 32);
	/* ee, se */
	if (!mix_dh(hs->ck, k, hs->e_priv, hs->re) || !mix_dh(hs->ck, k, hs->e_priv, hs->rs))
		goto out;
	encrypt_and_hash(hs->h, k, payload, plen, out + 32);
	split(hs, keys);
	hs->state = TP_CTRL_NOISE_DONE;
	rc = (int)(TP_CTRL_NOISE_MSG2_OVERHEAD + plen);
out:
	tp_crypto_wipe(k, sizeof(k));
	return rc;
}

int tp_ctrl_noise_read2(struct tp_ctrl_noise *hs, const uint8_t *in, size_t len, uint8_t *payload,
			size_t pmax, struct tp_ctrl_noise_keys *keys)
{
	uint8_t k[32];
	size_t plen;
	int rc = -EBADMSG;

	if (!hs->initiator || hs->state != TP_CTRL_NOISE_SENT_1)
		return -EINVAL;
	if (len < TP_CTRL_NOISE_MSG2_OVERHEAD ||
	    len - TP_CTRL_NOISE_MSG2_OVERHEAD > TP_CTRL_NOISE_PAYLOAD_MAX)
		goto bad;
	plen = len - TP_CTRL_NOISE_MSG2_OVERHEAD;
	if (plen > pmax)
		goto bad;
	memcpy(hs->re, in, 32);
	tp_crypto_mix_hash(hs->h, hs->re, 32);
	/* ee, se (the initiator's s with the responder's e) */
	if (!mix_dh(hs->ck, k, hs->e_priv, hs->re) || !mix_dh(hs->ck, k, hs->s_priv, hs->re))
		goto bad;
	if (!decrypt_and_hash(hs->h, k, in + 32, plen + 16, payload))
		goto bad;
	split(hs, keys);
	hs->state = TP_CTRL_NOISE_DONE;
	rc = (int)plen;
	goto out;
bad:
	tp_ctrl_noise_wipe(hs);
out:
	tp_crypto_wipe(k, sizeof(k));
	return rc;
}

bool tp_ctrl_noise_pub_from_ed25519(uint8_t x_pub[32], const uint8_t ed_pk[32])
{
	uint8_t check[32];

	if (crypto_sign_ed25519_pk_to_curve25519(x_pub, ed_pk) != 0)
		return false;
	/* An all-zero key would make every DH fail; refuse it up front. */
	memset(check, 0, sizeof(check));
	return !tp_crypto_equal(x_pub, check, sizeof(check));
}

bool tp_ctrl_noise_priv_from_ed25519(uint8_t x_priv[32], const uint8_t ed_seed[32])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	bool ok;

	ok = crypto_sign_seed_keypair(pk, sk, ed_seed) == 0 &&
	     crypto_sign_ed25519_sk_to_curve25519(x_priv, sk) == 0;
	tp_crypto_wipe(sk, sizeof(sk));
	return ok;
}
