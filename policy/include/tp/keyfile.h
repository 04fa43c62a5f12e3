/* SPDX-License-Identifier: MIT */
/*
 * The one reader of key files (implemented in policy/bundle/keys.c, the
 * format in tp/keys.h), with one rule for every secret key file: tpd's
 * identity key, tpolicy's controller signing key, tp-ctrl-agent's key.
 *
 * A secret key file must be a regular file owned by the user reading it
 * (the effective uid) with no group or other permission bits (0600 or
 * 0400); anything else is refused, as ssh does, with an error naming the
 * file and what is wrong. A public key file need only be a regular file.
 * The contents are one key in canonical base64 (44 characters, the
 * spelling `wg genkey` prints) with optional surrounding whitespace.
 *
 * A header of its own (not tp/keys.h) so that dataplane code, which has a
 * tp/keys.h of its own for WireGuard keys, can include it.
 */
#ifndef TP_KEYFILE_H
#define TP_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_KEY_FILE_MAX 128 /* a key file is one line; longer is not a key */

/* The contents of a key file: exactly one canonical base64 key (the
 * spelling tp_key_to_base64 writes), surrounding whitespace ignored.
 * 0 or -EINVAL; key is written only on success. */
int tp_key_parse(const char *buf, size_t len, uint8_t key[32]);

/* Read path. secret: the rule above (-EPERM otherwise). Returns 0;
 * -errno (open, stat, read); -EINVAL (not a regular file, or not a key).
 * err (may be NULL) gets one line naming the file and the problem. */
int tp_key_load(const char *path, uint8_t key[32], bool secret, char *err, size_t errlen);

#endif /* TP_KEYFILE_H */
