// SPDX-License-Identifier: MIT
/* Strict JSON reading helpers (see jr.h). */
#include "jr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tp/base/keys.h"
#include "tp/policy/timefmt.h"

bool tp_jr_fail(struct jr *r, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return false;
	r->failed = true;
	n = snprintf(r->err, r->errlen, "%s: ", path);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < r->errlen)
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

bool tp_jr_object(struct jr *r, json_t *j, const char *path, const char *const *keys)
{
	const char *k;
	json_t *v;

	if (!json_is_object(j))
		return tp_jr_fail(r, path, "expected an object");
	json_object_foreach(j, k, v)
	{
		size_t i;

		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], k))
				break;
		if (!keys[i])
			return tp_jr_fail(r, path, "unknown key '%.64s'", k);
	}
	return true;
}

static json_t *member(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		      bool *ok)
{
	json_t *v = json_object_get(o, key);

	*ok = true;
	if (!v && required)
		*ok = tp_jr_fail(r, path, "missing '%s'", key);
	return v;
}

bool tp_jr_str(struct jr *r, json_t *o, const char *key, const char *path, bool required, char *out,
	       size_t outlen)
{
	bool ok;
	json_t *v = member(r, o, key, path, required, &ok);
	size_t n;

	if (!v)
		return ok;
	if (!json_is_string(v))
		return tp_jr_fail(r, path, "'%s' must be a string", key);
	n = json_string_length(v);
	if (n >= outlen || strlen(json_string_value(v)) != n)
		return tp_jr_fail(r, path, "'%s' too long or has a NUL byte", key);
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

bool tp_jr_int(struct jr *r, json_t *o, const char *key, const char *path, bool required,
	       int64_t lo, int64_t hi, int64_t *out)
{
	bool ok;
	json_t *v = member(r, o, key, path, required, &ok);
	json_int_t x;

	if (!v)
		return ok;
	if (!json_is_integer(v))
		return tp_jr_fail(r, path, "'%s' must be an integer", key);
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return tp_jr_fail(r, path, "'%s' out of range [%lld, %lld]", key, (long long)lo,
				  (long long)hi);
	*out = x;
	return true;
}

bool tp_jr_u64(struct jr *r, json_t *o, const char *key, const char *path, bool required,
	       uint64_t *out)
{
	int64_t v = 0;

	if (!tp_jr_int(r, o, key, path, required, 0, INT64_MAX, &v))
		return false;
	if (json_object_get(o, key))
		*out = (uint64_t)v;
	return true;
}

bool tp_jr_bool(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		bool *out)
{
	bool ok;
	json_t *v = member(r, o, key, path, required, &ok);

	if (!v)
		return ok;
	if (!json_is_boolean(v))
		return tp_jr_fail(r, path, "'%s' must be true or false", key);
	*out = json_is_true(v);
	return true;
}

bool tp_jr_time(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		int64_t *out)
{
	char s[32];

	if (!tp_jr_str(r, o, key, path, required, s, sizeof(s)))
		return false;
	if (!json_object_get(o, key))
		return true;
	if (!tp_time_parse(s, out))
		return tp_jr_fail(r, path, "'%s' is not an RFC 3339 UTC time", key);
	return true;
}

bool tp_jr_key(struct jr *r, json_t *o, const char *key, const char *path, bool required,
	       uint8_t out[32])
{
	char s[64];

	if (!tp_jr_str(r, o, key, path, required, s, sizeof(s)))
		return false;
	if (!json_object_get(o, key))
		return true;
	if (tp_key_from_base64(s, out) < 0)
		return tp_jr_fail(r, path, "'%s' is not a base64 32-byte key", key);
	return true;
}

bool tp_jr_array(struct jr *r, json_t *o, const char *key, const char *path, bool required,
		 size_t max, json_t **out)
{
	bool ok;
	json_t *v = member(r, o, key, path, required, &ok);

	*out = NULL;
	if (!v)
		return ok;
	if (!json_is_array(v))
		return tp_jr_fail(r, path, "'%s' must be an array", key);
	if (json_array_size(v) > max)
		return tp_jr_fail(r, path, "'%s' has more than %zu items", key, max);
	*out = v;
	return true;
}
