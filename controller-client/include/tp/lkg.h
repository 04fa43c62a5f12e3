/* SPDX-License-Identifier: MIT */
/*
 * Last-known-good bundle on disk: STATE_DIR/lkg.tpb, the exact signed bytes
 * of the running policy. The one implementation: tpd, tp-ctrl-agent and
 * the tests all persist through it (tp/ctrl_apply.h).
 *
 * Save is crash-safe: write STATE_DIR/lkg.tpb.tmp, fsync it, rename it over
 * lkg.tpb, fsync the directory. After a crash at any point the file is
 * either the old bundle or the new one, never a mix; a leftover .tmp is
 * ignored and overwritten. Load only reads: the caller verifies the bytes
 * again (tp_bundle_check) before running them — the disk is not trusted
 * more than the network.
 */
#ifndef TP_LKG_H
#define TP_LKG_H

#include <stddef.h>
#include <stdint.h>

#define TP_LKG_FILE "lkg.tpb"

/* 0 or -errno (the old file, if any, is untouched on failure). dir must
 * exist (tpd creates its state_dir at start). */
int tp_lkg_save(const char *dir, const uint8_t *buf, size_t len);

/* *buf malloc'd. 0, -ENOENT (none saved), -EFBIG (above max), -errno. */
int tp_lkg_load(const char *dir, size_t max, uint8_t **buf, size_t *len);

/* Read any regular file (a bundle named in tpd.conf or given to `tpctl
 * apply`), same contract as tp_lkg_load. */
int tp_lkg_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif /* TP_LKG_H */
