/* SPDX-License-Identifier: MIT */
/*
 * Signed policy bundles (DESIGN.md §2.4): build, sign, open, and the
 * acceptance check a transition point runs before it replaces its policy.
 *
 * Wire form (policy/proto/tableau.proto): a SignedBundle carries the exact
 * bytes of a Bundle and an Ed25519 signature (libsodium crypto_sign) over
 *
 *     "tableau-bundle-v1" || bundle bytes
 *
 * The domain prefix keeps a bundle signature from ever being valid for
 * another message the same controller key signs. The signature is verified
 * first, over the exact bytes carried; nothing inside them is decoded
 * before it holds. The SignedBundle names the key that signed it (key_id,
 * unsigned: the first 8 bytes of BLAKE2b-256 of the public key; the Bundle
 * carries the same id signed, as signing_key_id) so a refusal can say
 * "signed by another key" rather than "tampered"; the id is a hint, never
 * trusted: a signature that verifies with the pinned key is accepted
 * whatever the hint says, and one that does not is refused whatever it says.
 *
 * Decoding is bounded: inputs above TP_BUNDLE_MAX_BYTES are refused before
 * parsing, protobuf-c allocates through a budget proportional to the input,
 * and a decoded site is refused when it holds more items than the limits in
 * policy/bundle/convert.h. Unknown fields are skipped (forward
 * compatibility), except inside a conduit: there they may restrict what it
 * allows, so such a bundle is refused as uncompilable (fail closed).
 */
#ifndef TP_POLICY_BUNDLE_H
#define TP_POLICY_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/site.h"

#define TP_BUNDLE_DOMAIN     "tableau-bundle-v1"
#define TP_BUNDLE_KEY_ID_LEN 8
#define TP_BUNDLE_PUBKEY_LEN 32 /* Ed25519 public key */
#define TP_BUNDLE_SECKEY_LEN 64 /* libsodium's Ed25519 secret key (seed || pk) */
#define TP_BUNDLE_SIG_LEN    64
#define TP_BUNDLE_MAX_BYTES  (16u << 20)

/* Why a bundle was refused: one value per reason, so counters and logs can
 * tell them apart. X(name, "text") */
#define TP_BUNDLE_STATUSES(X)                                           \
	X(OK, "ok")                                                     \
	X(UNDECODABLE, "undecodable")                                   \
	X(UNSIGNED, "unsigned")                                         \
	X(WRONG_KEY, "signed by another key")                           \
	X(BAD_SIGNATURE, "bad signature")                               \
	X(ROLLBACK, "rollback: version not newer than the running one") \
	X(EXPIRED, "expired")                                           \
	X(NOT_YET_VALID, "not yet valid")                               \
	X(UNCOMPILABLE, "uncompilable")

enum tp_bundle_status {
#define X(n, s) TP_BUNDLE_##n,
	TP_BUNDLE_STATUSES(X)
#undef X
		TP_BUNDLE__COUNT
};

const char *tp_bundle_status_name(enum tp_bundle_status st);

/* The bundle's envelope, everything but the site. Times are Unix seconds
 * UTC. */
struct tp_bundle_info {
	uint64_t version; /* strictly increasing; 0 is never valid */
	int64_t issued_at;
	int64_t expires_at; /* required */
	int64_t not_before; /* 0: valid from issued_at (tableau.proto) */
	uint8_t key_id[TP_BUNDLE_KEY_ID_LEN];
};

/* key id of a controller public key (BLAKE2b-256, first 8 bytes). */
void tp_bundle_key_id(const uint8_t pk[TP_BUNDLE_PUBKEY_LEN], uint8_t id[TP_BUNDLE_KEY_ID_LEN]);

/* Encode site and info into SignedBundle bytes signed with sk (libsodium
 * secret key; info->key_id is filled from it). *out is malloc'd. Returns 0,
 * -EINVAL (site not encodable: it must have passed lint), or -ENOMEM. */
int tp_bundle_build(const struct tp_site *site, struct tp_bundle_info *info,
		    const uint8_t sk[TP_BUNDLE_SECKEY_LEN], uint8_t **out, size_t *out_len);

/* Same, but with an empty signature (tests of the "unsigned" refusal, and
 * hand-signing workflows). */
int tp_bundle_build_unsigned(const struct tp_site *site, struct tp_bundle_info *info,
			     const uint8_t pk[TP_BUNDLE_PUBKEY_LEN], uint8_t **out,
			     size_t *out_len);

/*
 * Verify the signature with pk and decode. Checks signature and form only,
 * not version or times (for `tpolicy show`). On TP_BUNDLE_OK fills *info
 * and *site (owned by the caller); otherwise *site is NULL and err holds a
 * one-line reason.
 */
enum tp_bundle_status tp_bundle_open(const uint8_t *buf, size_t len,
				     const uint8_t pk[TP_BUNDLE_PUBKEY_LEN],
				     struct tp_bundle_info *info, struct tp_site **site, char *err,
				     size_t errlen);

struct tp_engine;

struct tp_bundle_accept {
	const uint8_t *controller_pk; /* pinned controller key, 32 bytes */
	uint64_t running_version;     /* version of the running policy; 0 for none */
	int64_t now;		      /* Unix seconds UTC: the caller's policy clock */
	int64_t max_skew_s;	      /* how far issued_at may be ahead of now (>= 0) */
};

/*
 * Decide whether to run the bundle in buf. Checks, in order: decodable,
 * signed, by the pinned key, version > running_version and below
 * UINT64_MAX (reserved: nothing could follow it), issued_at at most
 * max_skew_s ahead of now; then, with now raised to issued_at (a bundle is
 * valid from its issue time, so one issued within the skew runs as of
 * then): not_before <= now, now < expires_at, the site is well-formed
 * (lint's structural checks), and it compiles (tp_engine_compile() at
 * that now). Reads only *p: the caller
 * changes its running state only when this returns TP_BUNDLE_OK, and then
 * owns *site and, if engine is not NULL, *engine — the compiled policy,
 * ready to publish (tp/policy/engine.h). On refusal *site and *engine are NULL and
 * err says why in one line.
 */
enum tp_bundle_status tp_bundle_check(const uint8_t *buf, size_t len,
				      const struct tp_bundle_accept *p, struct tp_bundle_info *info,
				      struct tp_site **site, struct tp_engine **engine, char *err,
				      size_t errlen);

#endif /* TP_POLICY_BUNDLE_H */
