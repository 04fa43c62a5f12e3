/* SPDX-License-Identifier: MIT */
/*
 * Key material on disk and in tools.
 *
 * Every key is 32 bytes written as standard base64 with padding (44
 * characters) and a newline, the form `wg genkey` / `wg pubkey` use:
 *  - controller signing key: the Ed25519 seed; its public key is the Ed25519
 *    public key.
 *  - TP static key: an X25519 private key clamped as WireGuard clamps it; its
 *    public key is X25519(priv, 9).

 *
 * Key files are read by the one reader of tp/keyfile.h.
 */
#ifndef TP_KEYS_H
#define TP_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "tp/keyfile.h"

#define TP_KEY_B64_LEN 44

/* Encode 32 bytes as base64 (buf >= 45 bytes, NUL-terminated). */
void tp_key_to_base64(const uint8_t key[32], char buf[TP_KEY_B64_LEN + 1]);

/* Decode exactly 32 bytes from base64, ignoring surrounding whitespace.
 * Returns 0 or -EINVAL. */
int tp_key_from_base64(const char *s, uint8_t key[32]);

/* New controller signing key: seed and public key. */
void tp_key_controller_generate(uint8_t seed[32], uint8_t pk[32]);

/* libsodium secret key (64 bytes) and public key from a seed. */
void tp_key_controller_expand(const uint8_t seed[32], uint8_t sk[64], uint8_t pk[32]);

/* New WireGuard static key pair (clamped private key, X25519 public key). */
int tp_key_wg_generate(uint8_t priv[32], uint8_t pub[32]);

/* X25519 public key of a private key (clamps a copy first). */
int tp_key_wg_public(const uint8_t priv[32], uint8_t pub[32]);

/* Write a key file: base64 and a newline, created with mode (0600 for
 * secrets), refusing to overwrite an existing file. Returns 0 or -errno. */
int tp_key_write_file(const char *path, const uint8_t key[32], unsigned mode);

/* tp_key_load (tp/keyfile.h) without the message. */
int tp_key_read_file(const char *path, uint8_t key[32], int secret);

#endif /* TP_KEYS_H */
