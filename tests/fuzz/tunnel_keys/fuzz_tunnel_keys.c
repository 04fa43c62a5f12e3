// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the wg-format key parser (keys come from config
 * files and the admin socket): anything it accepts must print back to the
 * same 44 characters, and a parsed private key must give a public key.
 */
#include <stdlib.h>
#include <string.h>

#include "tp/base/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char out[TP_KEY_B64_LEN + 1];
	uint8_t key[TP_KEY_LEN], again[TP_KEY_LEN], pub[TP_KEY_LEN];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (tp_key_from_base64(s, key) == 0) {
		tp_key_to_base64(key, out);
		if (tp_key_from_base64(out, again) != 0 || memcmp(key, again, sizeof(key)) != 0)
			abort();
		(void)tp_key_wg_public(key, pub);
	}
	free(s);
	return 0;
}
