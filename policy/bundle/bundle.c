// SPDX-License-Identifier: MIT
/*
 * Signed bundles (see tp/bundle.h).
 *
 * Refusal order in tp_bundle_check() is chosen so that nothing an attacker
 * controls is interpreted before the signature verified, except what is
 * needed to word the refusal: the outer SignedBundle framing, and (only
 * after a failed verification) the inner signing_key_id to tell "another
 * key" from "tampered".
 */
#include "tp/bundle.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "tableau.pb-c.h"
#include "tp/diag.h"
#include "tp/engine.h"
#include "tp/lint.h"

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

struct budget {
	size_t left;
};

/* Each block carries its size in front so free can return it. */
static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	size_t *m;

	if (size > b->left || size > SIZE_MAX - sizeof(size_t))
		return NULL;
	m = malloc(sizeof(size_t) + size);
	if (!m)
		return NULL;
	b->left -= size;
	*m = size;
	return m + 1;
}

static void budget_free(void *data, void *p)
{
	struct budget *b = data;
	size_t *m = p;

	if (!p)
		return;
	b->left += m[-1];
	free(m - 1);
}

static ProtobufCAllocator make_allocator(struct budget *b, size_t len)
{
	size_t cap = len > (SIZE_MAX - DECODE_BUDGET_MIN) / DECODE_BUDGET_PER_BYTE
			     ? SIZE_MAX
			     : len * DECODE_BUDGET_PER_BYTE + DECODE_BUDGET_MIN;

	b->left = cap;
	return (ProtobufCAllocator){
		.alloc = budget_alloc, .free = budget_free, .allocator_data = b};
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
 * Verify and decode into info and site. Does everything tp_bundle_open()
 * promises; tp_bundle_check() adds the policy checks on top.
 */
static enum tp_bundle_status open_bundle(const uint8_t *buf, size_t len, const uint8_t *pk,
					 struct tp_bundle_info *info, struct tp_site **site,
					 char *err, size_t errlen)
{
	Tableau__V1__SignedBundle *sb = NULL;
	Tableau__V1__Bundle *b = NULL;
	struct budget bud_sb, bud_b;
	ProtobufCAllocator a_sb, a_b;
	enum tp_bundle_status st;
	uint8_t *msg = NULL, my_id[TP_BUNDLE_KEY_ID_LEN];
	bool unsupported = false;
	size_t mlen;
	char why[160];

	*site = NULL;
	memset(info, 0, sizeof(*info));
	if (!buf || len == 0 || len > TP_BUNDLE_MAX_BYTES) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "bundle of %zu bytes", len);
		goto out;
	}
	a_sb = make_allocator(&bud_sb, len);
	sb = tableau__v1__signed_bundle__unpack(&a_sb, len, buf);
	if (!sb) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "not a SignedBundle");
		goto out;
	}
	if (sb->signature.len == 0) {
		st = refuse(TP_BUNDLE_UNSIGNED, err, errlen, "bundle carries no signature");
		goto out;
	}
	msg = signed_message(sb->bundle.data, sb->bundle.len, &mlen);
	if (!msg) {
		st = refuse(TP_BUNDLE_UNDECODABLE, err, errlen, "out of memory");
		goto out;
	}
	a_b = make_allocator(&bud_b, sb->bundle.len);
	b = tableau__v1__bundle__unpack(&a_b, sb->bundle.len, sb->bundle.data);
	if (sb->signature.len != TP_BUNDLE_SIG_LEN ||
	    crypto_sign_verify_detached(sb->signature.data, msg, mlen, pk) != 0) {
		tp_bundle_key_id(pk, my_id);
		if (b && b->signing_key_id.len == TP_BUNDLE_KEY_ID_LEN &&
		    sodium_memcmp(b->signing_key_id.data, my_id, TP_BUNDLE_KEY_ID_LEN) != 0)
			st = refuse(TP_BUNDLE_WRONG_KEY, err, errlen,
				    "signed by a key other than the pinned controller key");
		else
			st = refuse(TP_BUNDLE_BAD_SIGNATURE, err, errlen,
				    "signature does not verify with the controller key");
		goto out;
	}
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
	free(msg);
	if (b)
		tableau__v1__bundle__free_unpacked(b, &a_b);
	if (sb)
		tableau__v1__signed_bundle__free_unpacked(sb, &a_sb);
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
