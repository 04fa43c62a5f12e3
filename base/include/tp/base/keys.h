/* SPDX-License-Identifier: MIT */
/*
 * Keys and key files: one API for every key of the project.
 *
 * Every key is 32 bytes written as standard base64 with padding (44
 * characters) and a newline, the form `wg genkey` / `wg pubkey` /
 * `wg genpsk` print and `wg setconf` reads:
 *  - controller signing key: the Ed25519 seed; its public key is the Ed25519
 *    public key.
 *  - TP static key (and any WireGuard key): an X25519 private key clamped as
 *    WireGuard clamps it; its public key is X25519(priv, 9).
 *
 * The one reader of key files, with one rule for every secret key file:
 * tpd's identity key, tpolicy's controller signing key, tp-ctrl-agent's key.
 * A secret key file must be a regular file owned by the user reading it
 * (the effective uid) with no group or other permission bits (0600 or
 * 0400); anything else is refused, as ssh does, with an error naming the
 * file and what is wrong. A public key file need only be a regular file.
 * The contents are one key in canonical base64 (44 characters, the
 * spelling `wg genkey` prints) with optional surrounding whitespace.
 */
#ifndef TP_BASE_KEYS_H
#define TP_BASE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_KEY_LEN	32
#define TP_KEY_B64_LEN	44  /* without the terminating NUL */
#define TP_KEY_FILE_MAX 128 /* a key file is one line; longer is not a key */

/* Encode 32 bytes as base64 (buf >= 45 bytes, NUL-terminated). */
void tp_key_to_base64(const uint8_t key[TP_KEY_LEN], char buf[TP_KEY_B64_LEN + 1]);

/* Decode exactly 32 bytes from 44 base64 characters, ignoring surrounding
 * whitespace. s may be NULL. Returns 0 or -EINVAL; key is written only on
 * success. */
int tp_key_from_base64(const char *s, uint8_t key[TP_KEY_LEN]);

/* New controller signing key: seed and public key. */
void tp_key_controller_generate(uint8_t seed[32], uint8_t pk[32]);

/* libsodium secret key (64 bytes) and public key from a seed. */
void tp_key_controller_expand(const uint8_t seed[32], uint8_t sk[64], uint8_t pk[32]);

/* New WireGuard static key (wg genkey): a clamped private key and, if pub
 * is not NULL, its X25519 public key. 0, -EIO (no randomness) or -EINVAL. */
int tp_key_wg_generate(uint8_t priv[TP_KEY_LEN], uint8_t *pub);

/* X25519 public key of a private key (clamps a copy first; wg pubkey).
 * 0, or -EINVAL for an unusable key (an all-zero result). */
int tp_key_wg_public(const uint8_t priv[TP_KEY_LEN], uint8_t pub[TP_KEY_LEN]);

/* Write a key file: base64 and a newline, created with mode (0600 for
 * secrets), refusing to overwrite an existing file. Returns 0 or -errno. */
int tp_key_write_file(const char *path, const uint8_t key[TP_KEY_LEN], unsigned mode);

/* The contents of a key file: exactly one canonical base64 key (the
 * spelling tp_key_to_base64 writes), surrounding whitespace ignored.
 * 0 or -EINVAL; key is written only on success. */
int tp_key_parse(const char *buf, size_t len, uint8_t key[TP_KEY_LEN]);

/* Read path. secret: the rule above (-EPERM otherwise). Returns 0;
 * -errno (open, stat, read); -EINVAL (not a regular file, or not a key).
 * err (may be NULL) gets one line naming the file and the problem. */
int tp_key_load(const char *path, uint8_t key[TP_KEY_LEN], bool secret, char *err, size_t errlen);

/* tp_key_load without the message. */
int tp_key_read_file(const char *path, uint8_t key[TP_KEY_LEN], int secret);

#endif /* TP_BASE_KEYS_H */
