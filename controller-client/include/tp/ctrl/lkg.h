/* SPDX-License-Identifier: MIT */
/*
 * Last-known-good bundle on disk: STATE_DIR/lkg.tpb, the exact signed bytes
 * of the running policy. The one implementation: tpd, tp-ctrl-agent and
 * the tests all persist through it (tp/ctrl/apply.h).
 *
 * Save is crash-safe: write STATE_DIR/lkg.tpb.tmp, fsync it, rename it over
 * lkg.tpb, fsync the directory. After a crash at any point the file is
 * either the old bundle or the new one, never a mix; a leftover .tmp is
 * ignored and overwritten. Load only reads: the caller verifies the bytes
 * again (tp_bundle_check) before running them — the disk is not trusted
 * more than the network.
 */
#ifndef TP_CTRL_LKG_H
#define TP_CTRL_LKG_H

#include <stddef.h>
#include <stdint.h>

#define TP_LKG_FILE "lkg.tpb"

/*
 * The rollback floor: STATE_DIR/floor, its contents fsynced and renamed in
 * place before every LKG rename (both renames made durable by the LKG's
 * directory fsync): once an apply returned it is not behind the LKG, and a
 * crash in between leaves at worst the old floor beside the new LKG
 * (harmless: the floor in force is the higher of the two). It holds
 * the highest version and the highest issued_at ever accepted, and the
 * BLAKE2b-256 of the bundle that set the version (that one bundle, and
 * only it, may be accepted again at that version: the controller re-sends
 * it after the LKG was lost). It survives the loss of the LKG; the LKG
 * survives its loss: the apply path takes the higher of the two
 * (tp/ctrl/apply.h). PREV is the BLAKE2b-256 of the bundle that was
 * running when the floor was staged (all zero: none): until the LKG
 * rename is known to be done (the floor is staged again without PREV
 * after it), the LKG on disk may still be that bundle, and at boot, and
 * only at boot, that one bundle is taken although it is below the floor
 * (an LKG write that failed, or a crash between the two renames, must not
 * leave a TP without the policy it was running). One line of text:
 *
 *   tableau-floor/2 VERSION ISSUED_AT HASH(64 hex) PREV(64 hex) CHECK(16 hex)\n
 *
 * CHECK is FNV-1a 64 of everything before it: a torn or bit-rotted file is
 * refused as corrupt (-EBADMSG), never read as a lower floor.
 */
#define TP_LKG_FLOOR_FILE "floor"
#define TP_LKG_HASH_LEN	  32

struct tp_lkg_floor {
	uint64_t version;  /* highest version accepted; 0 = none */
	int64_t issued_at; /* highest issued_at accepted */
	uint8_t hash[TP_LKG_HASH_LEN];
	uint8_t prev[TP_LKG_HASH_LEN]; /* the bundle the LKG may still be; zero: none */
};

/* 0 or -errno; the old file, if any, is untouched on failure. */
int tp_lkg_floor_save(const char *dir, const struct tp_lkg_floor *f);

/* The same without the directory fsync, before a tp_lkg_save in the same
 * directory, whose directory fsync makes both renames durable (one fsync
 * less per apply). The floor's contents are fsynced before its rename and
 * it is renamed before the LKG is: a crash leaves the old or the new of
 * each, and every such pair is safe, since the floor in force is the
 * higher of the two (tp/ctrl/apply.h). */
int tp_lkg_floor_stage(const char *dir, const struct tp_lkg_floor *f);

/* 0, -ENOENT (none saved), -EBADMSG (corrupt or torn: *f zeroed), -errno. */
int tp_lkg_floor_load(const char *dir, struct tp_lkg_floor *f);

/* The parser of the file's bytes (0 or -EBADMSG), for tests and fuzzing. */
int tp_lkg_floor_parse(const char *buf, size_t len, struct tp_lkg_floor *f);

/* 0 or -errno (the old file, if any, is untouched on failure). dir must
 * exist (tpd creates its state_dir at start). */
int tp_lkg_save(const char *dir, const uint8_t *buf, size_t len);

/* *buf malloc'd. 0, -ENOENT (none saved), -EFBIG (above max), -errno. */
int tp_lkg_load(const char *dir, size_t max, uint8_t **buf, size_t *len);

#endif /* TP_CTRL_LKG_H */
