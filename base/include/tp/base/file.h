/* SPDX-License-Identifier: MIT */
/*
 * Whole files: the one durable write and a capped whole-file read.
 *
 * The durable write is crash-safe: write PATH.tmp (or PATH.tmp.PID), fsync
 * it, rename it over PATH, fsync PATH's directory. After a crash at any
 * point PATH is either the old contents or the new, never a mix; a
 * leftover temp file is ignored and overwritten by the next write. Every
 * file the project writes for later (last-known-good bundle, rollback
 * floor, compiled bundles, the controller's version counter and the
 * exports it collects) goes through it.
 *
 * Plain C, no allocation on the write path.
 */
#ifndef TP_BASE_FILE_H
#define TP_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>

enum {
	/* Skip the directory fsync: the caller writes another file of the
	 * same directory next and that write's directory fsync makes both
	 * renames durable (one fsync less). */
	TP_FILE_NO_DIR_SYNC = 1u << 0,
	/* Temp file PATH.tmp.PID instead of PATH.tmp: for writers that may
	 * run concurrently on one path (two `tpolicy compile -o` of one file);
	 * the last rename wins and no file is a mix of both. */
	TP_FILE_TMP_PID = 1u << 1,
};

/* PATH <- buf[0..len), file created with mode (before umask). 0 or -errno;
 * on failure the temp file is removed and PATH is untouched (unless the
 * failure is the directory fsync, after the rename). */
int tp_file_write_durable(const char *path, const void *buf, size_t len, unsigned mode,
			  unsigned flags);

/* fsync a directory: the renames done in it are durable after it. */
int tp_file_sync_dir(const char *dir);

/* Read a regular file of at most max bytes. *buf is malloc'd (one spare
 * byte: the caller may NUL-terminate). 0, -EFBIG (above max), -EINVAL
 * (not a regular file), -errno. */
int tp_file_read(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif /* TP_BASE_FILE_H */
