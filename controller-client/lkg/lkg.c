// SPDX-License-Identifier: MIT
/* Last-known-good persistence (tp/ctrl/lkg.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/base/file.h"
#include "tp/ctrl/lkg.h"

/* DIR/NAME <- buf (tp/base/file.h); without the directory fsync unless sync_dir. */
static int save_atomic(const char *dir, const char *name, const uint8_t *buf, size_t len,
		       bool sync_dir)
{
	char dst[PATH_MAX];

	if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst) - 4)
		return -ENAMETOOLONG; /* room for the temp file's ".tmp" */
	return tp_file_write_durable(dst, buf, len, 0600, sync_dir ? 0 : TP_FILE_NO_DIR_SYNC);
}

int tp_lkg_save(const char *dir, const uint8_t *buf, size_t len)
{
	return save_atomic(dir, TP_LKG_FILE, buf, len, true);
}

int tp_lkg_load(const char *dir, size_t max, uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];

	*buf = NULL;
	*len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return tp_file_read(path, max, buf, len);
}

/* ---- the rollback floor ---- */

#define FLOOR_MAGIC "tableau-floor/2"

static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The canonical line for f; its length, or 0 if it does not fit. */
static size_t floor_line(const struct tp_lkg_floor *f, char *out, size_t cap)
{
	char hex[2 * TP_LKG_HASH_LEN + 1], prev[2 * TP_LKG_HASH_LEN + 1];
	int n, m;

	for (size_t i = 0; i < TP_LKG_HASH_LEN; i++) {
		snprintf(hex + 2 * i, 3, "%02x", f->hash[i]);
		snprintf(prev + 2 * i, 3, "%02x", f->prev[i]);
	}
	n = snprintf(out, cap, FLOOR_MAGIC " %" PRIu64 " %" PRId64 " %s %s", f->version,
		     f->issued_at, hex, prev);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	m = snprintf(out + n, cap - (size_t)n, " %016" PRIx64 "\n", fnv1a64(out, (size_t)n));
	if (m < 0 || (size_t)m >= cap - (size_t)n)
		return 0;
	return (size_t)n + (size_t)m;
}

static int floor_save(const char *dir, const struct tp_lkg_floor *f, bool sync_dir)
{
	char line[256];
	size_t n = floor_line(f, line, sizeof(line));

	if (!n)
		return -EINVAL;
	return save_atomic(dir, TP_LKG_FLOOR_FILE, (const uint8_t *)line, n, sync_dir);
}

int tp_lkg_floor_save(const char *dir, const struct tp_lkg_floor *f)
{
	return floor_save(dir, f, true);
}

int tp_lkg_floor_stage(const char *dir, const struct tp_lkg_floor *f)
{
	return floor_save(dir, f, false);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decimal digits at *p into *v (no sign, no overflow); advances *p. */
static bool decimal(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return false;
	(*p)++;
	return true;
}

/* 64 lowercase hex digits at *p into h; advances *p. */
static bool hex_hash(const char **p, const char *end, uint8_t h[TP_LKG_HASH_LEN])
{
	const char *s = *p;

	if ((size_t)(end - s) < (size_t)2 * TP_LKG_HASH_LEN)
		return false;
	for (size_t i = 0; i < TP_LKG_HASH_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		h[i] = (uint8_t)(hi << 4 | lo);
	}
	*p = s + 2 * TP_LKG_HASH_LEN;
	return true;
}

/* Parse the floor file's bytes. Strict: the bytes must be exactly the
 * canonical line of the values they hold (so nothing but a checksummed,
 * complete line is ever read as a floor). */
int tp_lkg_floor_parse(const char *buf, size_t len, struct tp_lkg_floor *f)
{
	const size_t magic = sizeof(FLOOR_MAGIC) - 1;
	const char *p = buf, *end = buf + len;
	struct tp_lkg_floor v = {0};
	char canon[256];
	uint64_t ver, iss;
	bool neg;

	memset(f, 0, sizeof(*f));
	if (len < magic || len >= sizeof(canon) || memcmp(buf, FLOOR_MAGIC, magic) != 0)
		return -EBADMSG;
	p += magic;
	if (!expect(&p, end, ' ') || !decimal(&p, end, &ver) || !expect(&p, end, ' '))
		return -EBADMSG;
	neg = expect(&p, end, '-');
	if (!decimal(&p, end, &iss) || iss > (uint64_t)INT64_MAX || !expect(&p, end, ' '))
		return -EBADMSG;
	v.version = ver;
	v.issued_at = neg ? -(int64_t)iss : (int64_t)iss;
	if (!hex_hash(&p, end, v.hash) || !expect(&p, end, ' ') || !hex_hash(&p, end, v.prev))
		return -EBADMSG;
	/* the rest (checksum, newline) and the exact form in one comparison */
	if (floor_line(&v, canon, sizeof(canon)) != len || memcmp(canon, buf, len) != 0)
		return -EBADMSG;
	*f = v;
	return 0;
}

int tp_lkg_floor_load(const char *dir, struct tp_lkg_floor *f)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	if (snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FLOOR_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = tp_file_read(path, 255, &buf, &len);
	if (rc == -EFBIG || rc == -EINVAL)
		rc = -EBADMSG;
	if (rc == 0)
		rc = tp_lkg_floor_parse((const char *)buf, len, f);
	free(buf);
	return rc;
}
