// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the wg-format key parser (keys come from config
 * files and the admin socket): anything it accepts must print back to the
 * same 44 characters, and a parsed private key must give a public key.
 */
#include <stdlib.h>
#include <string.h>

#include "tp/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char out[TP_KEYS_B64_LEN + 1];
	uint8_t key[TP_KEYS_LEN], again[TP_KEYS_LEN], pub[TP_KEYS_LEN];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (tp_keys_from_base64(key, s)) {
		tp_keys_to_base64(out, key);
		if (!tp_keys_from_base64(again, out) || memcmp(key, again, sizeof(key)) != 0)
			abort();
		(void)tp_keys_public(pub, key);
	}
	free(s);
	return 0;
}
