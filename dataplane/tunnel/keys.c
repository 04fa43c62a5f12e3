// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "tp/crypto.h"
#include "tp/keys.h"

bool tp_keys_from_base64(uint8_t key[TP_KEYS_LEN], const char *b64)
{
	uint8_t tmp[TP_KEYS_LEN + 2];
	size_t len, bin_len = 0;
	bool ok = false;

	if (!b64)
		return false;
	while (isspace((unsigned char)*b64))
		b64++;
	len = strlen(b64);
	while (len && isspace((unsigned char)b64[len - 1]))
		len--;
	if (len != TP_KEYS_B64_LEN || b64[len - 1] != '=')
		goto out;
	if (sodium_base642bin(tmp, sizeof(tmp), b64, len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != TP_KEYS_LEN)
		goto out;
	memcpy(key, tmp, TP_KEYS_LEN);
	ok = true;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

void tp_keys_to_base64(char out[TP_KEYS_B64_LEN + 1], const uint8_t key[TP_KEYS_LEN])
{
	sodium_bin2base64(out, TP_KEYS_B64_LEN + 1, key, TP_KEYS_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int tp_keys_generate(uint8_t priv[TP_KEYS_LEN])
{
	if (tp_crypto_init() < 0)
		return -EIO;
	randombytes_buf(priv, TP_KEYS_LEN);
	tp_crypto_clamp(priv);
	return 0;
}

bool tp_keys_public(uint8_t pub[TP_KEYS_LEN], const uint8_t priv[TP_KEYS_LEN])
{
	uint8_t clamped[TP_KEYS_LEN];
	bool ok;

	memcpy(clamped, priv, TP_KEYS_LEN);
	tp_crypto_clamp(clamped);
	ok = tp_crypto_pubkey(pub, clamped);
	sodium_memzero(clamped, sizeof(clamped));
	return ok;
}
