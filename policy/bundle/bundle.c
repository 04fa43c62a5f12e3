// SPDX-License-Identifier: MIT
/*
 * Signed bundles (see tp/policy/bundle.h).
 *
 * Refusal order in tp_bundle_check() is chosen so that nothing an attacker
 * controls is interpreted before the signature verified: only the outer
 * SignedBundle framing (two byte strings and the unsigned key id hint) is
 * decoded first. The signature is checked over the exact bundle bytes
 * carried; the Bundle inside is decoded only once it holds, so a forged
 * payload never reaches protobuf-c, the site converter or the compiler.
 */
#include "tp/policy/bundle.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "tableau.pb-c.h"
#include "tp/policy/diag.h"
#include "tp/policy/engine.h"
#include "tp/policy/lint.h"

/* protobuf-c may allocate far more than the input for many tiny repeated
 * elements; cap what one decode may take. */
#define DECODE_BUDGET_PER_BYTE 48
#define DECODE_BUDGET_MIN      (256u << 10)

const char *tp_bundle_status_name(enum tp_bundle_status st)
{
	static const char *const names[] = {
#define X(n, s) [TP_BUNDLE_##n] = s,
		TP_BUNDLE_STATUSES(X)
#undef X
	};

	return (unsigned)st < TP_BUNDLE__COUNT ? names[st] : "?";
}

void tp_bundle_key_id(const uint8_t pk[TP_BUNDLE_PUBKEY_LEN], uint8_t id[TP_BUNDLE_KEY_ID_LEN])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), pk, TP_BUNDLE_PUBKEY_LEN, NULL, 0);
	memcpy(id, h, TP_BUNDLE_KEY_ID_LEN);
}

/* ---- bounded decoding ---- */

/*
 * protobuf-c allocates every message, repeated array and byte string of a
 * decoded tree on its own: tens of thousands of blocks for a large site,
 * and as many frees when the tree is dropped (they cost more than the
 * decoding itself). A decode arena serves the small blocks from chunks by
 * bumping a pointer and drops the whole tree at once, without walking it.
 *
 * The budget caps what one decode may take, in proportion to the input.
 * Every block is charged; freeing a large block (malloc'd on its own) gives
 * its bytes back to the budget and the system, freeing a small one gives
 * nothing back (its memory is only reused when the arena is dropped), so
 * the memory held never exceeds the budget. protobuf-c frees small blocks
 * only for its scratch arrays of a message with more than 16 fields.
 */
#define ARENA_CHUNK	 (64u << 10)
#define ARENA_LARGE	 (ARENA_CHUNK / 4)
#define ARENA_ALIGN	 8u /* protobuf-c's widest members: uint64, double, pointers */
#define ARENA_LARGE_FLAG 1u

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	uint64_t data[]; /* ARENA_CHUNK bytes */
};

/* A large block: links, then its size word, then the caller's bytes. */
struct arena_large {
	struct arena_large *prev, *next;
	size_t word; /* size | ARENA_LARGE_FLAG */
};

struct arena {
	size_t left; /* budget */
	struct arena_chunk *chunks;
	struct arena_large *large;
};

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	struct arena_chunk *c = a->chunks;
	size_t need;
	size_t *word;

	if (size > a->left || size > SIZE_MAX / 2)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size >= ARENA_LARGE) {
		struct arena_large *l = malloc(sizeof(*l) + size);

		if (!l)
			return NULL;
		l->prev = NULL;
		l->next = a->large;
		if (a->large)
			a->large->prev = l;
		a->large = l;
		l->word = size | ARENA_LARGE_FLAG;
		a->left -= size;
		return l + 1;
	}
	need = sizeof(size_t) + size;
	if (!c || ARENA_CHUNK - c->used < need) {
		c = malloc(sizeof(*c) + ARENA_CHUNK);
		if (!c)
			return NULL;
		c->next = a->chunks;
		c->used = 0;
		a->chunks = c;
	}
	word = (size_t *)((uint8_t *)c->data + c->used);
	*word = size;
	c->used += need;
	a->left -= size;
	return word + 1;
}

static void arena_free(void *data, void *p)
{
	struct arena *a = data;
	struct arena_large *l;

	if (!p || !(((size_t *)p)[-1] & ARENA_LARGE_FLAG))
		return;
	l = (struct arena_large *)p - 1;
	if (l->prev)
		l->prev->next = l->next;
	else
		a->large = l->next;
	if (l->next)
		l->next->prev = l->prev;
	a->left += l->word & ~(size_t)ARENA_LARGE_FLAG;
	free(l);
}

static ProtobufCAllocator arena_init(struct arena *a, size_t len)
{
	size_t cap = len > (SIZE_MAX / 2 - DECODE_BUDGET_MIN) / DECODE_BUDGET_PER_BYTE
			     ? SIZE_MAX / 2
			     : len * DECODE_BUDGET_PER_BYTE + DECODE_BUDGET_MIN;

	*a = (struct arena){.left = cap};
	return (ProtobufCAllocator){.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
}

/* Drop everything decoded through a: no tree walk, no per-block free. */
static void arena_drop(struct arena *a)
{
	while (a->chunks) {
		struct arena_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
	while (a->large) {
		struct arena_large *l = a->large;

		a->large = l->next;
		free(l);
	}
}

static enum tp_bundle_status __attribute__((format(printf, 4, 5)))
refuse(enum tp_bundle_status st, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* ---- building ---- */

static uint8_t *signed_message(const uint8_t *bundle, size_t len, size_t *mlen)
{
	size_t dl = sizeof(TP_BUNDLE_DOMAIN) - 1;
	uint8_t *m = malloc(dl + len + 1);

	if (!m)
		return NULL;
	memcpy(m, TP_BUNDLE_DOMAIN, dl);
	if (len)
		memcpy(m + dl, bundle, len);
	*mlen = dl + len;
	return m;
}

static bool site_encodable(const struct tp_site *s)
{
	for (size_t i = 0; i < s->n_zones; i++)
		if (s->zones[i].tp >= s->n_tps)
			return false;
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].from_zone >= s->n_zones || s->rules[i].to_zone >= s->n_zones)
			return false;
	return true;
}

static int build(const struct tp_site *site, struct tp_bundle_info *info, const uint8_t *sk,
		 const uint8_t *pk, uint8_t **out, size_t *out_len)
{
	Tableau__V1__Bundle b = TABLEAU__V1__BUNDLE__INIT;
	Tableau__V1__SignedBundle sb = TABLEAU__V1__SIGNED_BUNDLE__INIT;
	struct tp_pool pool = {0};
	uint8_t sig[TP_BUNDLE_SIG_LEN], *bytes = NULL, *msg = NULL;
	size_t blen, mlen;
	int rc = -ENOMEM;

	*out = NULL;
	if (!site_encodable(site) || info->version == 0)
		return -EINVAL;
	tp_bundle_key_id(sk ? sk + 32 : pk, info->key_id); /* libsodium sk = seed || pk */
	b.version = info->version;
	b.issued_at = info->issued_at;
	b.expires_at = info->expires_at;
	b.not_before = info->not_before;
	b.signing_key_id.data = info->key_id;
	b.signing_key_id.len = TP_BUNDLE_KEY_ID_LEN;
	b.site = tp_convert_to_pb(site, &pool);
	if (!b.site)
		goto out;
	blen = tableau__v1__bundle__get_packed_size(&b);
	bytes = malloc(blen ? blen : 1);
	if (!bytes)
		goto out;
	tableau__v1__bundle__pack(&b, bytes);
	sb.bundle.data = bytes;
	sb.bundle.len = blen;
	sb.key_id.data = info->key_id;
	sb.key_id.len = TP_BUNDLE_KEY_ID_LEN;
	if (sk) {
		msg = signed_message(bytes, blen, &mlen);
		if (!msg)
			goto out;
		crypto_sign_detached(sig, NULL, msg, mlen, sk);
		sb.signature.data = sig;
		sb.signature.len = sizeof(sig);
	}
	*out_len = tableau__v1__signed_bundle__get_packed_size(&sb);
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out)
		goto out;
	tableau__v1__signed_bundle__pack(&sb, *out);
	rc = 0;
out:
	free(msg);
	free(bytes);
	tp_pool_free(&pool);
	return rc;
}

int tp_bundle_build(const struct tp_site *site, struct tp_bundle_info *info,
		    const uint8_t sk[TP_BUNDLE_SECKEY_LEN], uint8_t **out, size_t *out_len)
{
	return build(site, info, sk, NULL, out, out_len);
}

int tp_bundle_build_unsigned(const struct tp_site *site, struct tp_bundle_info *info,
			     const uint8_t pk[TP_BUNDLE_PUBKEY_LEN], uint8_t **out, size_t *out_len)
{
	return build(site, info, NULL, pk, out, out_len);
}

/* ---- opening ---- */

/*
 * Does the signature over the exact carried bytes verify with pk? Nothing
 * inside sb->bundle is read. On failure the unsigned key id hint of the
 * envelope only chooses the wording: a hint naming another key is "signed
 * by another key", anything else (our id, no hint, a malformed one) is a
 * bad signature.
 */
static enum tp_bundle_status verify(const Tableau__V1__SignedBundle *sb, const uint8_t *pk,
				    char *err, size_t errlen)
{
	uint8_t *msg, my_id[TP_BUNDLE_KEY_ID_LEN];
	size_t mlen;
	bool ok;

	if (sb->signature.len == 0)
		return refuse(TP_BUNDLE_UNSIGNED, err, errlen, "bundle carries no signature");
	msg = signed_message(sb->bundle.data, sb->bundle.len, &mlen);
	if (!msg)
		return refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "out of memory");
	ok = sb->signature.len == TP_BUNDLE_SIG_LEN &&
	     crypto_sign_verify_detached(sb->signature.data, msg, mlen, pk) == 0;
	free(msg);
	if (ok)
		return TP_BUNDLE_OK;
	tp_bundle_key_id(pk, my_id);
	if (sb->key_id.len == TP_BUNDLE_KEY_ID_LEN &&
	    sodium_memcmp(sb->key_id.data, my_id, TP_BUNDLE_KEY_ID_LEN) != 0)
		return refuse(TP_BUNDLE_WRONG_KEY, err, errlen,
			      "signed by a key other than the pinned controller key");
	return refuse(TP_BUNDLE_BAD_SIGNATURE, err, errlen,
		      "signature does not verify with the controller key");
}

/*
 * Verify and decode into info and site. Does everything tp_bundle_open()
 * promises; tp_bundle_check() adds the policy checks on top.
 */
static enum tp_bundle_status open_bundle(const uint8_t *buf, size_t len, const uint8_t *pk,
					 struct tp_bundle_info *info, struct tp_site **site,
					 char *err, size_t errlen)
{
	Tableau__V1__SignedBundle *sb = NULL;
	Tableau__V1__Bundle *b = NULL;
	struct arena ar_sb = {0}, ar_b = {0};
	ProtobufCAllocator a_sb, a_b;
	enum tp_bundle_status st;
	bool unsupported = false;
	char why[160];

	*site = NULL;
	memset(info, 0, sizeof(*info));
	if (!buf || len == 0 || len > TP_BUNDLE_MAX_BYTES) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "bundle of %zu bytes", len);
		goto out;
	}
	a_sb = arena_init(&ar_sb, len);
	sb = tableau__v1__signed_bundle__unpack(&a_sb, len, buf);
	if (!sb) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "not a SignedBundle");
		goto out;
	}
	st = verify(sb, pk, err, errlen);
	if (st != TP_BUNDLE_OK)
		goto out;
	/* Authenticated: the controller's key signed these bytes. */
	a_b = arena_init(&ar_b, sb->bundle.len);
	b = tableau__v1__bundle__unpack(&a_b, sb->bundle.len, sb->bundle.data);
	if (!b) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "signed bytes are not a Bundle");
		goto out;
	}
	info->version = b->version;
	info->issued_at = b->issued_at;
	info->expires_at = b->expires_at;
	info->not_before = b->not_before;
	if (b->signing_key_id.len == TP_BUNDLE_KEY_ID_LEN)
		memcpy(info->key_id, b->signing_key_id.data, TP_BUNDLE_KEY_ID_LEN);
	if (b->version == 0 || b->expires_at <= 0) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen,
			    b->version == 0 ? "bundle version 0" : "bundle has no expiry");
		goto out;
	}
	why[0] = '\0';
	*site = tp_convert_from_pb(b->site, why, sizeof(why), &unsupported);
	if (!*site) {
		st = refuse(unsupported ? TP_BUNDLE_UNCOMPILABLE : TP_BUNDLE_UNDECODABLE, err,
			    errlen, "bad site: %s", why);
		goto out;
	}
	st = TP_BUNDLE_OK;
out:
	/* the decoded trees (b, sb) live in the arenas */
	arena_drop(&ar_b);
	arena_drop(&ar_sb);
	return st;
}

enum tp_bundle_status tp_bundle_open(const uint8_t *buf, size_t len,
				     const uint8_t pk[TP_BUNDLE_PUBKEY_LEN],
				     struct tp_bundle_info *info, struct tp_site **site, char *err,
				     size_t errlen)
{
	return open_bundle(buf, len, pk, info, site, err, errlen);
}

enum tp_bundle_status tp_bundle_check(const uint8_t *buf, size_t len,
				      const struct tp_bundle_accept *p, struct tp_bundle_info *info,
				      struct tp_site **site, struct tp_engine **engine, char *err,
				      size_t errlen)
{
	struct tp_lint_opts lo = {.structure_only = true};
	struct tp_engine *e = NULL;
	enum tp_bundle_status st;
	struct tp_diags d;
	int64_t now = p->now;
	char why[256];

	if (engine)
		*engine = NULL;
	st = open_bundle(buf, len, p->controller_pk, info, site, err, errlen);
	if (st != TP_BUNDLE_OK)
		return st;
	if (info->version <= p->running_version) {
		st = refuse(TP_BUNDLE_ROLLBACK, err, errlen,
			    "version %llu is not newer than the running %llu",
			    (unsigned long long)info->version,
			    (unsigned long long)p->running_version);
		goto fail;
	}
	if (info->version == UINT64_MAX) {
		/* no version could ever follow it: every later bundle would be
		 * a rollback (issue 11) */
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen,
			    "version %llu is reserved (no version could follow it)",
			    (unsigned long long)info->version);
		goto fail;
	}
	if (info->issued_at > now &&
	    (uint64_t)info->issued_at - (uint64_t)now > (uint64_t)p->max_skew_s) {
		st = refuse(TP_BUNDLE_NOT_YET_VALID, err, errlen,
			    "issued at %lld, %llu s ahead of this TP's clock (%lld); the allowed "
			    "skew is %lld s: check the clock",
			    (long long)info->issued_at,
			    (unsigned long long)((uint64_t)info->issued_at - (uint64_t)now),
			    (long long)now, (long long)p->max_skew_s);
		goto fail;
	}
	/* Valid from issued_at (not_before 0) or not_before: a bundle issued
	 * within the skew ahead of the clock runs as of its issue time. */
	if (now < info->issued_at)
		now = info->issued_at;
	if (info->not_before && now < info->not_before) {
		st = refuse(TP_BUNDLE_NOT_YET_VALID, err, errlen, "valid only from %lld, now %lld",
			    (long long)info->not_before, (long long)now);
		goto fail;
	}
	if (now >= info->expires_at) {
		st = refuse(TP_BUNDLE_EXPIRED, err, errlen, "expired at %lld, now %lld",
			    (long long)info->expires_at, (long long)now);
		goto fail;
	}
	lo.now = now;
	tp_diag_init(&d, "bundle");
	if (!tp_lint_site(*site, NULL, &lo, &d)) {
		const char *first = "site fails lint";

		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].severity == TP_DIAG_ERROR) {
				first = d.v[i].msg;
				break;
			}
		st = refuse(TP_BUNDLE_UNCOMPILABLE, err, errlen, "%s", first);
		tp_diag_free(&d);
		goto fail;
	}
	tp_diag_free(&d);
	why[0] = '\0';
	if (tp_engine_compile(*site, now, &e, why, sizeof(why)) < 0) {
		st = refuse(TP_BUNDLE_UNCOMPILABLE, err, errlen, "%s", why);
		goto fail;
	}
	if (engine)
		*engine = e;
	else
		tp_engine_free(e);
	return TP_BUNDLE_OK;
fail:
	tp_site_free(*site);
	*site = NULL;
	return st;
}
