/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON reading helpers shared by the readers of tp_export.
 * Every helper writes the first problem into the reader's err (prefixed by
 * the JSON path of the item) and returns false; later problems are ignored,
 * so the message names the first thing wrong.
 */
#ifndef TP_EXPORT_JR_H
#define TP_EXPORT_JR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct jr {
	char *err;
	size_t errlen;
	bool failed;
};

bool tp_jr_fail(struct jr *r, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Object with only these keys (NULL-terminated list). */
bool tp_jr_object(struct jr *r, json_t *j, const char *path, const char *const *keys);
/* Member key of object o: a string copied into out (at most outlen - 1). */
bool tp_jr_str(struct jr *r, json_t *o, const char *key, const char *path, bool required, char *out,
	       size_t outlen);
/* Member key of object o: an integer in [lo, hi]. *out untouched if absent
 * and not required. */
bool tp_jr_int(struct jr *r, json_t *o, const char *key, const char *path, bool required,
	       int64_t lo, int64_t hi, int64_t *out);
bool tp_jr_u64(struct jr *r, json_t *o, const char *key, const char *path, bool required,
	       uint64_t *out);
bool tp_jr_bool(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		bool *out);
/* RFC 3339 UTC string member. */
bool tp_jr_time(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		int64_t *out);
/* base64 32-byte key member. */
bool tp_jr_key(struct jr *r, json_t *o, const char *key, const char *path, bool required,
	       uint8_t out[32]);
/* Array member with at most max items (absent: empty when not required). */
bool tp_jr_array(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		 size_t max, json_t **out);

/* Limits on what a reader accepts, so hostile input stays bounded. */
#define JR_MAX_ZONES	 65536
#define JR_MAX_PREFIXES	 65536
#define JR_MAX_TPS	 65536
#define JR_MAX_RULES	 1000000
#define JR_MAX_LIST	 4096
#define JR_MAX_COUNTERS	 4096
#define JR_MAX_XDP_PAIRS 1000000

#endif /* TP_EXPORT_JR_H */
