/* SPDX-License-Identifier: MIT */
/*
 * WireGuard keys as operators know them: 32 bytes in standard base64 with
 * padding (44 characters), exactly what `wg genkey`, `wg pubkey` and
 * `wg genpsk` print and `wg setconf` reads.
 */
#ifndef TP_KEYS_H
#define TP_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#define TP_KEYS_LEN	32
#define TP_KEYS_B64_LEN 44 /* without the terminating NUL */

/* Parse 44 base64 characters (surrounding whitespace allowed). */
bool tp_keys_from_base64(uint8_t key[TP_KEYS_LEN], const char *b64);
/* out must hold TP_KEYS_B64_LEN + 1 bytes. */
void tp_keys_to_base64(char out[TP_KEYS_B64_LEN + 1], const uint8_t key[TP_KEYS_LEN]);
/* A fresh clamped private key (wg genkey). 0 or -EIO. */
int tp_keys_generate(uint8_t priv[TP_KEYS_LEN]);
/* The public key of priv (wg pubkey); false for an unusable key. */
bool tp_keys_public(uint8_t pub[TP_KEYS_LEN], const uint8_t priv[TP_KEYS_LEN]);

#endif /* TP_KEYS_H */
