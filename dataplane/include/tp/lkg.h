/* SPDX-License-Identifier: MIT */
/*
 * Last-known-good policy bundle on disk (DESIGN.md §2.6): the bytes of the
 * last bundle tpd accepted, kept in the state directory as
 * STATE_DIR/policy.tpb so that the next start enforces it at once (after
 * verifying it again: the file is never trusted more than a bundle pushed
 * over the wire).
 *
 * Saving is crash-safe: the bytes go to a temporary file in the same
 * directory, which is fsync'ed, renamed over policy.tpb, and the directory
 * is fsync'ed so the rename itself is durable. A crash leaves either the
 * old or the new bundle, never a torn one.
 *
 * Plain C, no DPDK.
 */
#ifndef TP_LKG_H
#define TP_LKG_H

#include <stddef.h>
#include <stdint.h>

#define TP_LKG_FILE "policy.tpb"

/* Write buf as the last-known-good bundle of dir (created 0700 if
 * missing). 0 or -errno; on failure the previous file is untouched. */
int tp_lkg_save(const char *dir, const uint8_t *buf, size_t len);

/* Read the last-known-good bundle of dir into *buf (malloc'd, caller
 * frees). -ENOENT when there is none, -EFBIG above max bytes, -errno. */
int tp_lkg_load(const char *dir, size_t max, uint8_t **buf, size_t *len);

/* Read any file (a bundle named in the config or given to apply), same
 * contract as tp_lkg_load. */
int tp_lkg_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif /* TP_LKG_H */
